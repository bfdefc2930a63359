# A PNG zlib bomb is refused once it inflates past what its header allows
# (rows x stride + filter bytes), not after inflating the bomb (issue 19 #8).
# libpng (one inflate, issue 16) stops at the first byte past the last row;
# the image data goes to it in 64 KiB pieces, so the message says how much of
# the compressed data was read: the bound is checked by that count, not by time.
. tests/lib.sh

# 1000x1000 RGB: 1000 rows of 3000 bytes + 1 filter byte = 3,001,000 bytes;
# the IDAT inflates to 1 GiB.
"$PY" tests/tools/png_bomb.py "$T/bomb.png" 1000 1000 1
size=$(stat -c %s "$T/bomb.png")
"$PY" -c 'import sys,zlib,struct
d=open(sys.argv[1],"rb").read(); i=d.index(b"IDAT"); n=struct.unpack(">I",d[i-4:i])[0]
z=zlib.decompressobj(); t=0; data=d[i+4:i+4+n]
for k in range(0,len(data),1<<16): t+=len(z.decompress(data[k:k+(1<<16)]))
sys.exit(0 if t==1<<30 and z.eof else 1)' "$T/bomb.png" &&
    ok "bomb: $size-byte PNG whose IDAT inflates to 1 GiB (python zlib agrees)" ||
    notok "bomb" "the generated file is not the bomb it should be"

for cmd in convert ingest; do
    if [ $cmd = convert ]; then
        err=$("$TP" convert "$T/bomb.png" "$T/out.jpg" 2>&1)
    else
        err=$("$TP" --home "$T/home" ingest "$T/bomb.png" 2>&1)
    fi
    st=$?
    if [ $st -eq 0 ] || [ $st -gt 128 ]; then notok "bomb $cmd refused" "status $st: $err"
    elif ! echo "$err" | grep -q "^tierpress: $T/bomb.png: .*inflates beyond the 3001000 bytes its 1000x1000 header allows (stopped within the first 65536 of $((size - 57)) compressed bytes)"; then
        notok "bomb $cmd refused at the bound" "$err"
    else ok "bomb $cmd refused within its first 64 KiB of compressed data: $(echo "$err" | head -n1 | cut -c1-60)..."; fi
done
[ ! -e "$T/out.jpg" ] && ok "bomb: no output file" || notok "bomb: no output file"
n=$("$TP" --home "$T/home" ls --json 2>/dev/null | grep -c .)
[ "$n" -eq 0 ] && ok "bomb: not stored" || notok "bomb: not stored" "$n assets"

# Honest images still decode, and inflate exactly their header's size
# (the count is logged at debug level).
"$PY" - "$T" <<'PY'
import sys, zlib, struct
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
w, h = 4000, 3000
row = bytes((x * 255 // (w * 3)) for x in range(w * 3))
raw = b''.join(b'\0' + row for _ in range(h))
open(sys.argv[1] + '/big.png', 'wb').write(b'\x89PNG\r\n\x1a\n' +
    chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
    chunk(b'IDAT', zlib.compress(raw, 6)) + chunk(b'IEND', b''))
PY
err=$(TP_LOG=debug "$TP" convert "$T/big.png" "$T/big.jpg" --json 2>&1 >"$T/big.json")
if [ $? -eq 0 ] && echo "$err" | grep -q "PNG: inflated 36003000 bytes (the header allows 36003000)"; then
    ok "honest 4000x3000 PNG decodes (36,003,000 bytes inflated, as its header says)"
else notok "honest 4000x3000 PNG decodes" "$(echo "$err" | tail -n 2)"; fi
[ "$(jget "$T/big.json" width)" = 4000 ] && ok "honest PNG: 4000 px wide out" || notok "honest PNG width" "$(cat "$T/big.json")"

# Interlaced (Adam7): the bound is summed over the seven passes.
if have vips && vips copy "$SAMPLES/photo-astronaut-512x512-rgb8.png" "$T/adam7.png[interlace]" 2>/dev/null; then
    err=$(TP_LOG=debug "$TP" convert "$T/adam7.png" "$T/adam7.jpg" 2>&1)
    if [ $? -eq 0 ] && echo "$err" | grep -q "PNG: inflated \([0-9]*\) bytes (the header allows \1)"; then
        ok "Adam7 PNG decodes within its per-pass bound: $(echo "$err" | grep -o 'inflated [0-9]*')"
    else notok "Adam7 PNG decodes" "$err"; fi
else skip "Adam7 PNG" "vips CLI missing"; fi
