# Live Photos as one asset (issue 13): pairing a still and its clip by
# Apple's content identifier first (the still's EXIF maker note, the clip's
# QuickTime key), then by name and capture time; `get --pair`; the
# simulator's pair; `components rescan` for homes catalogued before
# inventories existed.
. tests/lib.sh

M=${TP_ROOT:-.}/tests/media
cp "$M/photo-canon-s5is-400x300-exif-gps-422.jpg" "$T/base.jpg"
cp "$SAMPLES/clip-320x240-h264-aac-1.2s.mp4" "$T/clip.mp4"
# --- Live Photos by content identifier ---------------------------------------
# The still's identifier is in its EXIF Apple maker note (tag 0x0011, written
# by tests/tools/jpeg_apple_cid.py; exiftool reads it as MediaGroupUUID), the
# clip's in its QuickTime key.  An identifier pairs whatever the names and
# times; two files with the same base name but different identifiers are two
# Live Photos, never one.  A HEIC still (made by convert, which carries the
# EXIF) pairs the same way.
CID_A=5E1D2C3B-0A09-4807-9605-A4B3C2D1E0F1 CID_B=6F2E3D4C-1B0A-4918-A716-B5C4D3E2F102
CID_C=708F4E5D-2C1B-4A29-B827-C6D5E4F30213 CID_D=81A05F6E-3D2C-4B3A-C938-D7E6F5041324
if have ffmpeg; then
    mkdir -p "$T/cid/upload"
    mov() { # mov OUT CID CREATION_TIME
        ffmpeg -v error -i "$T/clip.mp4" -c copy -movflags use_metadata_tags -metadata creation_time="$3" \
            -metadata com.apple.quicktime.content.identifier="$2" "$1"
    }
    "$PY" tests/tools/jpeg_apple_cid.py "$T/base.jpg" $CID_A "2008:05:08 09:54:28" "$T/cid/upload/IMG_0101.JPG"
    mov "$T/cid/upload/exported-clip.mov" $CID_A 2008-05-08T10:30:00Z # another name, 35 min apart
    "$PY" tests/tools/jpeg_apple_cid.py "$T/base.jpg" $CID_B "2008:05:08 09:54:30" "$T/cid/upload/IMG_0102.JPG"
    mov "$T/cid/upload/IMG_0102.MOV" $CID_C 2008-05-08T09:54:31Z # same name, 1 s, other identifier
    "$PY" tests/tools/jpeg_apple_cid.py "$T/base.jpg" $CID_D "2008:05:08 09:54:32" "$T/cid/still.jpg"
    "$TP" convert "$T/cid/still.jpg" "$T/cid/upload/IMG_0103.HEIC" >/dev/null 2>&1
    mov "$T/cid/upload/IMG_0103-live.mov" $CID_D 2008-05-08T09:54:32Z
    "$TP" info "$T/cid/upload/IMG_0101.JPG" | grep -q "live:     content identifier $CID_A" &&
        "$TP" info --json "$T/cid/upload/IMG_0103.HEIC" | grep -q "\"content_id\":\"$CID_D\"" &&
        ok "info: a still's content identifier from its Apple maker note (JPEG and HEIC)" || notok "still content id"
    if have exiftool; then # the outside reference reads the same identifier
        [ "$(exiftool -s3 -MediaGroupUUID "$T/cid/upload/IMG_0101.JPG")" = $CID_A ] &&
            ok "exiftool reads the test's maker note as Apple:MediaGroupUUID" || notok "exiftool maker note"
    fi
    "$TP" --home "$T/cidh" ingest --json "$T/cid/upload" >"$T/cid.json" 2>"$T/cid.err" || notok "ingest cid" "$(cat "$T/cid.err")"
    "$TP" --home "$T/cidh" ls --json >"$T/cidls.json"
    "$PY" - "$T/cid.json" "$T/cidls.json" <<'PYEOF' && ok "ingest pairs by content identifier first (any name, any time); same name + different identifiers: not paired" || notok "content id pairing" "$(cat "$T/cidls.json" | cut -c1-300)"
import json, os, sys
ids = {os.path.basename(r["file"]): r["asset"] for r in map(json.loads, open(sys.argv[1]))}
pair = {r["id"]: r.get("pair") for r in map(json.loads, open(sys.argv[2]))}
assert pair[ids["IMG_0101.JPG"]] == ids["exported-clip.mov"], pair
assert pair[ids["exported-clip.mov"]] == ids["IMG_0101.JPG"], pair
assert pair[ids["IMG_0102.JPG"]] is None and pair[ids["IMG_0102.MOV"]] is None, pair
assert pair[ids["IMG_0103.HEIC"]] == ids["IMG_0103-live.mov"], pair
PYEOF
    [ "$(sqlite3 "$T/cidh/catalog.db" "SELECT count(*) FROM pairs WHERE how = 'content_id'")" = 2 ] &&
        ok "... recorded as paired by content_id" || notok "pair how" "$(sqlite3 "$T/cidh/catalog.db" "SELECT * FROM pairs")"
fi
