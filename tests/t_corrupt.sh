# A stored original whose bytes no longer match their sha256 is never
# transcoded (issue 19, item 2): the job fails with "stored original is
# corrupt" naming the asset and the blob, the asset keeps pointing at its
# original, nothing is swapped, gc past the grace keeps the original, the
# run summary lists the failure, simulate counts it as a failure, and fsck
# reports the corruption.  One stored blob per format: TIFF, PNG, HEIC, JPEG.
. tests/lib.sh

H=$T/h
NOW=2031-06-01
FILES="frame-150x103-rgb16.tiff photo-astronaut-512x512-rgb8.png
photo-1280x854-multi-image-thumbnails-noexif.heic photo-iphone4s-180x135-exif-gps.jpg"
CONTROL=photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
mkdir -p "$T/in"
for f in $FILES $CONTROL; do cp "$SAMPLES/$f" "$T/in/"; done
"$TP" --home "$H" ingest "$T/in" >/dev/null 2>&1 || notok "ingest the samples"
q() { sqlite3 "$H/catalog.db" "$1"; }
blob_path() { echo "$H/blobs/$(echo "$1" | cut -c1-2)/$(echo "$1" | cut -c3-4)/$1"; }
sha_of() { sha256sum <"$1" | cut -c1-64; }

# overwrite a patch of 64 bytes in the middle of each stored original (the
# size stays, so only the hash can tell)
for f in $FILES; do
    h=$(sha_of "$T/in/$f")
    p=$(blob_path "$h")
    chmod u+w "$p"
    "$PY" - "$p" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
mid = len(b) // 2
for i in range(mid, min(mid + 64, len(b))):
    b[i] ^= 0x5A
open(p, "r+b").write(bytes(b))
PYEOF
    [ "$(sha_of "$p")" != "$h" ] || notok "$f: the blob was not corrupted"
done

# simulate reads its samples verified too: each corrupt original is a
# failure (once per tier it reaches in the projection), not an estimate
"$TP" --home "$H" simulate --policy policies/saver.yaml --now $NOW --format json >"$T/sim.json" 2>"$T/sim.err"
[ "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["transcode_failures"])' "$T/sim.json" 2>/dev/null)" -ge 4 ] &&
    ok "simulate: transcode failures counted" || notok "simulate failures" "$(grep -v '^{' "$T/sim.json" | head -3)"
for f in $FILES; do
    h=$(sha_of "$T/in/$f")
    grep -q "stored original is corrupt: blob $h" "$T/sim.err" &&
        ok "$f: simulate names the corrupt original" || notok "$f: simulate message" "$(tail -2 "$T/sim.err")"
done

"$TP" --home "$H" run --policy policies/saver.yaml --now $NOW --jobs 2 >"$T/run.txt" 2>"$T/run.err"
st=$?
[ $st -eq 1 ] && ok "run exits 1 when jobs failed" || notok "run exit status $st" "$(tail -3 "$T/run.err")"
"$TP" --home "$H" run --policy policies/saver.yaml --now $NOW --json >"$T/run.json" 2>/dev/null
[ "$(jget "$T/run.json" failed)" = 0 ] && ok "a failed corrupt job is permanent: not retried by the next run" ||
    notok "corrupt job retried" "$(cat "$T/run.json")"

for f in $FILES; do
    h=$(sha_of "$T/in/$f")
    id=$(q "SELECT id FROM assets WHERE sha256 = '$h'")
    [ -n "$id" ] || { notok "$f: not in the catalog"; continue; }
    grep -q "job [0-9]* (asset $id): failed, permanent, attempt 1 of [0-9]*: stored original is corrupt: asset $id, blob $h" "$T/run.txt" &&
        ok "$f: the run summary lists asset $id: stored original is corrupt (blob named)" ||
        notok "$f: summary line" "$(cat "$T/run.txt")"
    [ "$(q "SELECT state FROM jobs WHERE asset_id = $id")" = failed ] &&
        q "SELECT result FROM jobs WHERE asset_id = $id" | grep -q "stored original is corrupt: asset $id, blob $h" &&
        ok "$f: the job failed with that message" || notok "$f: job state" "$(q "SELECT state, result FROM jobs WHERE asset_id = $id")"
    [ "$(q "SELECT current_blob || ' ' || original_blob || ' ' || coalesce(original_delete_after, '-') FROM assets WHERE id = $id")" = "$h $h -" ] &&
        [ "$(q "SELECT count(*) FROM renditions WHERE asset_id = $id AND name = 'cold'")" = 0 ] &&
        ok "$f: the asset still points at its original; nothing swapped" ||
        notok "$f: asset changed" "$(q "SELECT current_blob, original_blob, original_delete_after FROM assets WHERE id = $id")"
done
ch=$(sha_of "$T/in/$CONTROL")
[ "$(q "SELECT j.state FROM jobs j JOIN assets a ON a.id = j.asset_id WHERE a.sha256 = '$ch'")" != failed ] &&
    ok "an intact original in the same run is not failed" || notok "control asset failed" "$(cat "$T/run.err")"

"$TP" --home "$H" gc --now 2031-12-01 >/dev/null 2>&1 || notok "gc past the grace"
for f in $FILES; do
    h=$(sha_of "$T/in/$f")
    [ -f "$(blob_path "$h")" ] && ok "$f: gc past the grace keeps the (corrupt) original" || notok "$f: gc deleted the original"
done

"$TP" --home "$H" fsck >"$T/fsck.txt" 2>&1
st=$?
[ $st -eq 1 ] && ok "fsck exits 1" || notok "fsck exit status $st"
for f in $FILES; do
    h=$(sha_of "$T/in/$f")
    grep -q "$h.*does not match its hash" "$T/fsck.txt" && ok "$f: fsck names the corrupt blob" ||
        notok "$f: fsck" "$(cat "$T/fsck.txt")"
done
