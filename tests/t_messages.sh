# Error messages (issue 19 #14): each bad case reproduced, and the one line
# on stderr checked for what it must say.
. tests/lib.sh

# one_line NAME OUT: stderr+stdout of a failing command is exactly one line
one_line() {
    if [ "$(printf '%s\n' "$2" | grep -c .)" -eq 1 ]; then ok "$1: one line"
    else notok "$1: one line" "$(printf '%s' "$2" | head -n 5 | tr '\n' '|' | cut -c1-300)"; fi
}

# 1. PNG errors never end in a bare "load:" (libvips only warned the reason)
err=$("$TP" info "$BROKEN/png-invalid-crc32.png" 2>&1)
if echo "$err" | grep -q "load: *$"; then notok "png: reason given" "$err"
elif echo "$err" | grep -q "^tierpress: $BROKEN/png-invalid-crc32.png: .*PNG chunk 'IHDR' at offset 8 has a bad CRC$"; then ok "png: reason given ($(echo "$err" | sed 's/.*: invalid/invalid/'))"
else notok "png: reason given" "$err"; fi
one_line "png info" "$err"

# 2. chunk-type bytes from the file are not printed raw
"$PY" - "$T/badchunk.png" "$SAMPLES/photo-500x500-gray8.png" <<'PY'
import sys, struct, zlib
d = open(sys.argv[2], 'rb').read()
# a chunk whose type is ESC [ 2 J (clear screen), with a wrong CRC after IHDR
bad = struct.pack('>I', 0) + b'\x1b[2J' + b'\0\0\0\0'
open(sys.argv[1], 'wb').write(d[:33] + bad + d[33:])
PY
err=$("$TP" convert "$T/badchunk.png" "$T/o.png" 2>&1)
if printf '%s' "$err" | grep -q "$(printf '\033')"; then notok "png chunk type: no raw escape" "$(printf '%s' "$err" | od -c | head -n 3)"
elif echo "$err" | grep -q "PNG chunk 0x1b5b324a at offset 33 has a bad CRC"; then ok "png chunk type printed as hex"
else notok "png chunk type printed as hex" "$err"; fi

# 3. terminal escapes in file names are escaped in every error line
evil="$T/$(printf 'a\033[31mred\033]0;title\007\233b-\303\274.jpg')"
printf 'not an image' >"$evil"
for cmd in info convert ingest; do
    case $cmd in
    info) err=$("$TP" info "$evil" 2>&1) ;;
    convert) err=$("$TP" convert "$evil" "$T/o.jpg" 2>&1) ;;
    ingest) err=$("$TP" --home "$T/home" ingest "$T" 2>&1 >/dev/null | grep 'red') ;;
    esac
    if printf '%s' "$err" | LC_ALL=C grep -q "$(printf '[\001-\011\013-\037\177\233]')"; then
        notok "$cmd: file name escaped" "$(printf '%s' "$err" | od -c | head -n 3)"
    elif printf '%s' "$err" | grep -q 'a\\x1b\[31mred\\x1b\]0;title\\x07\\x9bb-ü\.jpg: '; then
        ok "$cmd: file name escaped, UTF-8 kept"
    else notok "$cmd: file name escaped" "$err"; fi
done
rm -f "$evil"

# 4. libjxl's traces do not reach stderr: one line only (they are debug logs)
"$TP" convert "$SAMPLES/photo-astronaut-512x512-rgb8.png" "$T/a.jxl" >/dev/null 2>&1
"$PY" -c 'import sys
d = bytearray(open(sys.argv[1], "rb").read())
for i in range(len(d) // 3, len(d) // 3 + 40): d[i] ^= 0x5a
open(sys.argv[2], "wb").write(d)' "$T/a.jxl" "$T/flip.jxl"
err=$("$TP" convert "$T/flip.jxl" "$T/o.png" 2>&1)
one_line "corrupt jxl" "$err"
echo "$err" | grep -q "^tierpress: $T/flip.jxl: " && ok "corrupt jxl: names the file" || notok "corrupt jxl: names the file" "$err"
dbg=$(TP_LOG=debug "$TP" convert "$T/flip.jxl" "$T/o.png" 2>&1)
echo "$dbg" | grep -q "JXL_FAILURE" && ok "corrupt jxl: libjxl's trace still shown at debug level" ||
    notok "corrupt jxl: libjxl's trace at debug level" "$(echo "$dbg" | head -n 3)"
head -c 2000 "$T/a.jxl" >"$T/trunc.jxl"
err=$("$TP" convert "$T/trunc.jxl" "$T/o.png" 2>&1)
one_line "truncated jxl" "$err"
# the same through the libheif adapter: a cut HEIC
head -c 3000 "$SAMPLES/photo-1280x854-multi-image-thumbnails-noexif.heic" >"$T/trunc.heic"
err=$("$TP" convert "$T/trunc.heic" "$T/o.png" 2>&1)
one_line "truncated heic" "$err"

# 5. a HEIC over libheif's size limit says which limit and the value
"$PY" - "$SAMPLES/photo-1280x854-multi-image-thumbnails-noexif.heic" "$T/big.heic" <<'PY'
import sys, struct
d = bytearray(open(sys.argv[1], 'rb').read())
j = 0
while True:                      # every ispe box claims 40000 x 40000
    j = d.find(b'ispe', j)
    if j < 0: break
    d[j + 8:j + 16] = struct.pack('>II', 40000, 40000); j += 4
open(sys.argv[2], 'wb').write(d)
PY
err=$("$TP" info "$T/big.heic" 2>&1)
if echo "$err" | grep -q "Cannot allocate memory"; then notok "heic over the limit: not ENOMEM" "$err"
elif echo "$err" | grep -q "^tierpress: $T/big.heic: limit exceeded: .*40000x40000.*32768x32768"; then ok "heic over the limit: limit and value named"
else notok "heic over the limit: limit and value named" "$err"; fi
one_line "heic over the limit" "$err"

# 6. a 20,000-frame GIF is counted exactly (libvips stops at 4,097)
"$PY" tests/tools/gif_frames.py "$T/g9000.gif" 9000
"$TP" info "$T/g9000.gif" --json >"$T/g.json" 2>&1
[ "$(jget "$T/g.json" frames)" = 9000 ] && ok "gif: 9000 frames counted" || notok "gif: 9000 frames counted" "$(cat "$T/g.json")"
"$PY" tests/tools/gif_frames.py "$T/g20000.gif" 20000
err=$("$TP" info "$T/g20000.gif" 2>&1)
if echo "$err" | grep -q "^tierpress: $T/g20000.gif: limit exceeded: 20000 frames, limit 10000$"; then ok "gif: 20000 frames counted and refused"
else notok "gif: 20000 frames counted" "$err"; fi

# 7. a catalog open failure in `run` names the home, not the policy file
mkdir -p "$T/badhome/catalog.db"    # a directory where the catalog should be
err=$("$TP" --home "$T/badhome" run --policy "${TP_ROOT:-.}/policies/default.yaml" 2>&1)
if echo "$err" | grep -q "^tierpress: $T/badhome: .*catalog"; then ok "run: catalog open failure names the home"
else notok "run: catalog open failure names the home" "$err"; fi
# while a bad policy is still named as such
err=$("$TP" --home "$T/badhome" run --policy "$T/none.yaml" 2>&1)
echo "$err" | grep -q "^tierpress: $T/none.yaml: " && ok "run: a missing policy names the policy" ||
    notok "run: a missing policy names the policy" "$err"

# 8. SQLITE_FULL at commit is reported as such, not as the failed rollback
# after it (needs a small file system: a tmpfs, when mounting is allowed)
mkdir -p "$T/full"
if mount -t tmpfs -o size=3m tmpfs "$T/full" 2>/dev/null; then
    "$TP" --home "$T/full/h" ingest "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" >/dev/null 2>&1
    "$TP" --home "$T/full/h" ls >/dev/null 2>&1     # checkpoint: the WAL is back to empty
    avail=$(df -k --output=avail "$T/full" | tail -n 1)
    fallocate -l $((avail * 1024 - 200000)) "$T/full/fill"
    "$PY" -c '
for i in range(50000): print("1,2026-0%d-%02dT%02d:%02d:%02dZ" % (1 + i % 9, 1 + i % 28, i % 24, i % 60, (i // 60) % 60))' >"$T/events.csv"
    err=$("$TP" --home "$T/full/h" access import "$T/events.csv" 2>&1)
    st=$?
    if [ $st -eq 0 ]; then notok "disk full at commit: import fails" "it succeeded"
    elif echo "$err" | grep -q "cannot rollback"; then notok "disk full at commit: first error reported" "$err"
    elif echo "$err" | grep -q "^tierpress: $T/events.csv: No space left on device: catalog: .*database or disk is full$"; then
        ok "disk full at commit: $(echo "$err" | sed 's/.*: No space/No space/')"
    else notok "disk full at commit: first error reported" "$err"; fi
    one_line "disk full at commit" "$err"
    rm -f "$T/full/fill"
    n=$("$TP" --home "$T/full/h" ls --json 2>/dev/null | grep -c '"access_total":0')
    [ "$n" = 1 ] && ok "disk full at commit: catalog intact, no partial import" ||
        notok "disk full at commit: catalog intact" "$("$TP" --home "$T/full/h" ls --json 2>&1)"
    umount "$T/full"
else
    skip "disk full at commit" "cannot mount a tmpfs here"
fi
