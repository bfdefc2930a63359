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

    # The halves of a Live Photo uploaded apart: each ingest stores the
    # file's identifier (content_ids, by owner) and looks for the other half
    # already catalogued.  Still first then clip, clip first then still, in
    # separate ingests; another owner's clip with the same identifier is not
    # its pair; one file at a time through `serve` pairs too.
    CID_E=92B16A7F-4E3D-4C4B-DA49-E8F706152435 CID_F=A3C27B80-5F4E-4D5C-EB5A-F9071726354A
    mkdir -p "$T/apart"
    "$PY" tests/tools/jpeg_apple_cid.py "$T/base.jpg" $CID_E "2008:05:08 09:55:00" "$T/apart/IMG_0201.JPG"
    mov "$T/apart/clip-e.mov" $CID_E 2008-05-09T12:00:00Z
    "$PY" tests/tools/jpeg_apple_cid.py "$T/base.jpg" $CID_F "2008:05:08 09:56:00" "$T/apart/IMG_0202.JPG"
    mov "$T/apart/clip-f.mov" $CID_F 2008-05-08T09:56:00Z
    AH="$T/aparth"
    aq() { sqlite3 "$AH/catalog.db" "$1"; }
    aid() { "$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["asset"])' "$1"; }
    ing() { # ing OUT ARGS...: one ingest --json of one file
        o=$1; shift
        "$TP" --home "$AH" ingest --json "$@" >"$o" 2>"$o.err" || notok "ingest $*" "$(cat "$o.err")"
    }
    ing "$T/a1.json" "$T/apart/IMG_0201.JPG"
    ing "$T/a2.json" --owner bob "$T/apart/clip-e.mov"   # the same identifier, another owner
    ing "$T/a3.json" "$T/apart/clip-e.mov"
    ing "$T/a4.json" "$T/apart/clip-f.mov"
    ing "$T/a5.json" "$T/apart/IMG_0202.JPG"
    e_still=$(aid "$T/a1.json") e_bob=$(aid "$T/a2.json") e_clip=$(aid "$T/a3.json")
    f_clip=$(aid "$T/a4.json") f_still=$(aid "$T/a5.json")
    "$TP" --home "$AH" ls --json >"$T/apartls.json"
    "$PY" - "$T/apartls.json" $e_still $e_bob $e_clip $f_clip $f_still $CID_E $CID_F <<'PYEOF' && ok "separate ingests pair by content identifier (still first, clip first); another owner's clip with it is not the pair" || notok "pairing across ingests" "$(aq "SELECT * FROM pairs") $(aq "SELECT * FROM content_ids")"
import json, sys
a = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
es, eb, ec, fc, fs = map(int, sys.argv[2:7])
cid_e, cid_f = sys.argv[7:9]
assert a[es].get("pair") == ec and a[ec].get("pair") == es, (a[es].get("pair"), a[ec].get("pair"))
assert a[fs].get("pair") == fc and a[fc].get("pair") == fs, (a[fs].get("pair"), a[fc].get("pair"))
assert "pair" not in a[eb] and a[eb]["owner"] == "bob", a[eb]
assert [a[i].get("content_id") for i in (es, eb, ec, fc, fs)] == [cid_e, cid_e, cid_e, cid_f, cid_f]
PYEOF
    "$PY" - "$T/a3.json" "$T/a5.json" "$e_still" "$f_clip" <<'PYEOF' && ok "ingest --json: the later half says its pair and identifier" || notok "ingest json pair" "$(cat "$T/a3.json" "$T/a5.json")"
import json, sys
c, s = (json.loads(open(f).readline()) for f in sys.argv[1:3])
assert c["pair"] == int(sys.argv[3]) and s["pair"] == int(sys.argv[4]), (c.get("pair"), s.get("pair"))
assert c["content_id"] and s["content_id"]
PYEOF
    [ "$(aq "SELECT count(*) FROM pairs WHERE how = 'content_id'")" = 2 ] &&
        [ "$(aq "SELECT owner FROM content_ids WHERE asset_id = $e_bob")" = bob ] &&
        ok "... 2 pairs by content_id; bob's identifier indexed under bob" || notok "apart pairs" "$(aq "SELECT * FROM pairs")"
    # bob's still now: it pairs with bob's clip, never with the local ones
    ing "$T/a6.json" --owner bob "$T/apart/IMG_0201.JPG"
    [ "$(aq "SELECT video_id FROM pairs WHERE image_id = $(aid "$T/a6.json")")" = "$e_bob" ] &&
        ok "another owner's halves pair among themselves" || notok "bob pair" "$(aq "SELECT * FROM pairs")"
    # a half in the trash is not paired with (restore would bring back the other)
    "$PY" tests/tools/jpeg_apple_cid.py "$T/base.jpg" $CID_A "2008:05:08 09:57:00" "$T/apart/trashed.jpg"
    ing "$T/a7.json" "$T/apart/trashed.jpg"
    aq "UPDATE assets SET deleted_at = '2024-01-01T00:00:00Z' WHERE id = $(aid "$T/a7.json")"
    cp "$T/cid/upload/exported-clip.mov" "$T/apart/late.mov"
    ing "$T/a8.json" "$T/apart/late.mov"
    [ "$(aq "SELECT count(*) FROM pairs WHERE video_id = $(aid "$T/a8.json")")" = 0 ] &&
        ok "a still in the trash is not paired with a clip uploaded later" || notok "trash pair" "$(aq "SELECT * FROM pairs")"
    check "fsck after pairing across ingests" "$TP" --home "$AH" fsck
    # a Takeout import links them the same way (and counts the pair),
    # whatever the names: the name rule alone would not pair these
    TK="$T/tk/Takeout/Google Photos/Photos from 2008"
    mkdir -p "$TK" && cp "$T/apart/IMG_0202.JPG" "$TK/IMG_0202.JPG" && cp "$T/apart/clip-f.mov" "$TK/other.MOV"
    "$TP" --home "$T/tkh" import takeout "$T/tk" --json 2>/dev/null | tail -1 >"$T/tk.json"
    [ "$(jget "$T/tk.json" pairs_linked)" = 1 ] && [ "$(sqlite3 "$T/tkh/catalog.db" "SELECT how FROM pairs")" = content_id ] &&
        ok "import takeout: a still and a differently named clip with one identifier are linked and counted" ||
        notok "takeout content id" "$(cut -c1-300 "$T/tk.json")"
    # one file per request through the service
    SH2="$T/serveh"
    "$TP" --home "$SH2" serve --listen 127.0.0.1:0 >"$T/srv2.log" 2>"$T/srv2.err" &
    SPID2=$!
    URL2=""
    for _i in $(seq 1 200); do
        URL2=$(sed -n 's|^listening on \(http://[0-9.:]*\)/$|\1|p' "$T/srv2.log" 2>/dev/null)
        [ -n "$URL2" ] && break
        kill -0 "$SPID2" 2>/dev/null || break
        sleep 0.05
    done
    if [ -n "$URL2" ]; then
        c1=$(curl -s -o "$T/s1.json" -w '%{http_code}' -H "X-File-Name: clip-e.mov" --data-binary @"$T/apart/clip-e.mov" "$URL2/v1/assets")
        c2=$(curl -s -o "$T/s2.json" -w '%{http_code}' -H "X-File-Name: IMG_0201.JPG" --data-binary @"$T/apart/IMG_0201.JPG" "$URL2/v1/assets")
        [ "$c1 $c2" = "201 201" ] && [ "$(jget "$T/s2.json" pair)" = "$(jget "$T/s1.json" id)" ] &&
            [ "$(jget "$T/s2.json" content_id)" = $CID_E ] &&
            ok "serve: a clip and its still uploaded one per request are one Live Photo" ||
            notok "serve pairing" "$c1 $c2 $(cut -c1-300 "$T/s2.json")"
    else
        notok "serve did not start" "$(cat "$T/srv2.err")"
    fi
    kill "$SPID2" 2>/dev/null && wait "$SPID2" 2>/dev/null
fi

# --- components rescan: a home whose inventories are missing -----------------
# (catalogued before inventories existed: simulated by deleting the rows).
# has: matches nothing until `components rescan` probes the originals again
# (here after the default policy recompressed the JPEGs and gc released the
# uploaded bytes: the rescan reads the JPEG rebuilt from the JPEG XL).
CLIP_LEN=$(wc -c <"$T/clip.mp4")
mkdir -p "$T/rs"
printf '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" xmlns:Container="http://ns.google.com/photos/1.0/container/" xmlns:Item="http://ns.google.com/photos/1.0/container/item/" GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1"><Container:Directory><rdf:Seq><rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/></rdf:li><rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="MotionPhoto" Item:Mime="video/mp4" Item:Length="%s"/></rdf:li></rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>' "$CLIP_LEN" >"$T/mp.xmp"
"$PY" tests/tools/jpeg_xmp.py "$T/base.jpg" "$T/mp.xmp" "$T/rs/motion.jpg" && cat "$T/clip.mp4" >>"$T/rs/motion.jpg"
cp "$M/gainmap-paris-403x302-mpf-hdrgm.jpg" "$M/gainmap-seine-400x300-tmap.avif" "$T/base.jpg" "$T/clip.mp4" "$T/rs/"
RH="$T/rh"
rq() { sqlite3 "$RH/catalog.db" "$1"; }
"$TP" --home "$RH" ingest "$T/rs" >/dev/null 2>"$T/rs.err" || notok "rescan: ingest" "$(cat "$T/rs.err")"
"$TP" --home "$RH" run --policy policies/default.yaml --now 2031-06-01 >/dev/null 2>&1
"$TP" --home "$RH" gc --now 2033-01-01 >/dev/null 2>&1
rq "SELECT asset_id, kinds, inventory FROM components ORDER BY asset_id" >"$T/inv.before"
[ "$(rq "SELECT count(*) FROM assets WHERE format = 'jpeg' AND original_blob IS NULL")" -ge 1 ] &&
    ok "rescan fixture: originals released after their JPEG XL recompression" || notok "rescan fixture" "$(rq "SELECT id, format, original_blob IS NULL FROM assets")"
cat >"$T/has.yaml" <<'YEOF'
version: 1
tiers:
  - name: motion
    match: {has: motion}
  - name: parts
    match: {has: gain_map}
  - name: rest
YEOF
matched() { # assets in the tiers motion + parts (the summary is the last line)
    "$TP" --home "$RH" run --policy "$T/has.yaml" --now 2033-01-01 --dry-run --json 2>/dev/null | tail -1 |
        "$PY" -c 'import json,sys; m=json.loads(sys.stdin.readline())["matched"]; print(m.get("motion", 0) + m.get("parts", 0))'
}
m0=$(matched)
rq "DELETE FROM components"
m1=$(matched)
[ "$m0" = 3 ] && [ "$m1" = 0 ] && ok "has: matches 3 assets with an inventory, none once it is deleted" || notok "has: before rescan" "$m0 $m1"
"$TP" --home "$RH" components rescan --json >"$T/rs.json" 2>"$T/rs.err"; st=$?
rq "SELECT asset_id, kinds, inventory FROM components ORDER BY asset_id" >"$T/inv.after"
[ $st = 0 ] && cmp -s "$T/inv.before" "$T/inv.after" && ok "components rescan: the same inventories as ingest made (exit 0)" ||
    notok "rescan inventories" "st=$st $(diff "$T/inv.before" "$T/inv.after" | head -5) $(cat "$T/rs.err")"
"$PY" - "$T/rs.json" <<'PYEOF' && ok "rescan --json: one object per asset (source, components), then the summary" || notok "rescan json" "$(cat "$T/rs.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
items, summary = rows[:-1], rows[-1]
assert summary == {"total": 4, "filled": 4, "with_parts": 3, "failed": 0}, summary
src = {r["source"] for r in items}
assert "reconstructed" in src, items
assert sum("motion" in r["components"] for r in items) == 1, items
assert sum("gain_map" in r["components"] for r in items) == 2, items
PYEOF
[ "$(matched)" = 3 ] && ok "has: matches the 3 again after the rescan" || notok "has: after rescan" "$(matched)"
[ "$(rq "SELECT count(*) FROM audit WHERE action = 'components.rescan'")" = 4 ] && ok "rescan: one audit row per asset" || notok "rescan audit"
"$TP" --home "$RH" components rescan >"$T/rs2.out" 2>&1 && grep -q "0 of 0 assets" "$T/rs2.out" &&
    ok "a second rescan reads nothing" || notok "rescan twice" "$(cat "$T/rs2.out")"
# an unreadable original: named with its reason, exit 1, the others done
rq "DELETE FROM components"
id=$(rq "SELECT id FROM assets WHERE format = 'avif'")
b=$(rq "SELECT current_blob FROM assets WHERE id = $id")
f="$RH/blobs/$(echo "$b" | cut -c1-2)/$(echo "$b" | cut -c3-4)/$b"
chmod u+w "$f" && printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
"$TP" --home "$RH" components rescan >"$T/rs3.out" 2>"$T/rs3.err"; st=$?
[ $st = 1 ] && grep -q "asset $id: .*corrupt" "$T/rs3.err" && grep -q "3 of 4 assets inventoried (2 with parts), 1 unreadable" "$T/rs3.out" &&
    [ "$(rq "SELECT count(*) FROM components")" = 3 ] && ok "rescan: a corrupt original is named, skipped (exit 1), the others inventoried" ||
    notok "rescan corrupt" "st=$st $(cat "$T/rs3.err" "$T/rs3.out")"

# --- get --pair, and neither half deleted alone -------------------------------
if [ -d "$T/cidh" ]; then
    CH="$T/cidh"
    cq() { sqlite3 "$CH/catalog.db" "$1"; }
    still=$(cq "SELECT image_id FROM pairs WHERE how = 'content_id' ORDER BY image_id LIMIT 1")
    clip=$(cq "SELECT video_id FROM pairs WHERE image_id = $still")
    "$TP" --home "$CH" get "$still" -o "$T/gp.jpg" --pair "$T/gp.mov" >/dev/null 2>"$T/gp.err" &&
        cmp -s "$T/gp.jpg" "$T/cid/upload/IMG_0101.JPG" && cmp -s "$T/gp.mov" "$T/cid/upload/exported-clip.mov" &&
        ok "get --pair: the still and its clip, both byte for byte" || notok "get --pair" "$(cat "$T/gp.err")"
    "$TP" --home "$CH" get "$clip" -o "$T/gq.mov" --pair "$T/gq.jpg" >/dev/null 2>&1 && cmp -s "$T/gq.jpg" "$T/gp.jpg" &&
        ok "get --pair from the clip's side gives the still" || notok "get --pair (clip)"
    lone=$(cq "SELECT a.id FROM assets a WHERE a.kind = 'image' AND a.id NOT IN (SELECT image_id FROM pairs) LIMIT 1")
    check_fails "get --pair of an asset in no pair fails" "$TP" --home "$CH" get "$lone" -o "$T/gl.jpg" --pair "$T/gl.mov"
    echo "$out" | grep -q "in no Live Photo / motion photo pair" && [ ! -e "$T/gl.jpg" ] && [ ! -e "$T/gl.mov" ] &&
        ok "... saying so, nothing written" || notok "get --pair lone" "$out"
    # the service's DELETE of one half trashes both; restore brings both back
    SPID=""
    "$TP" --home "$CH" serve --listen 127.0.0.1:0 >"$T/srv.log" 2>"$T/srv.err" &
    SPID=$!
    URL=""
    for _i in $(seq 1 200); do
        URL=$(sed -n 's|^listening on \(http://[0-9.:]*\)/$|\1|p' "$T/srv.log" 2>/dev/null)
        [ -n "$URL" ] && break
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -n "$URL" ]; then
        code=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/assets/$still")
        [ "$code" = 204 ] && [ "$(cq "SELECT count(*) FROM assets WHERE id IN ($still, $clip) AND deleted_at IS NOT NULL")" = 2 ] &&
            ok "serve: DELETE of a Live Photo's still trashes its clip too" || notok "delete pair" "$code $(cq "SELECT id, deleted_at FROM assets")"
        code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/v1/assets/$clip/restore")
        [ "$code" = 200 ] && [ "$(cq "SELECT count(*) FROM assets WHERE id IN ($still, $clip) AND deleted_at IS NULL")" = 2 ] &&
            ok "serve: restoring the clip restores the still" || notok "restore pair" "$code"
    else
        notok "serve did not start" "$(cat "$T/srv.err")"
    fi
    [ -n "$SPID" ] && kill "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
    # one half trashed alone (as before pairs were linked): gc keeps it
    cq "UPDATE assets SET deleted_at = '2020-01-01T00:00:00Z' WHERE id = $still"
    "$TP" --home "$CH" gc --trash-grace 1d >/dev/null 2>&1
    [ "$(cq "SELECT count(*) FROM assets WHERE id = $still")" = 1 ] && ok "gc: one half in the trash alone is not deleted" || notok "gc half"
    cq "UPDATE assets SET deleted_at = '2020-01-01T00:00:00Z' WHERE id = $clip"
    "$TP" --home "$CH" gc --trash-grace 1d >/dev/null 2>&1
    [ "$(cq "SELECT count(*) FROM assets WHERE id IN ($still, $clip)")" = 0 ] && ok "gc: both halves in the trash go together" || notok "gc both"
    check "fsck after the pair's deletion" "$TP" --home "$CH" fsck
fi

# --- simulate: parts no lossy encode carries are predicted on their lossless
# path (or kept), in sampled strata and in the ratio table's alike ----------
mkdir -p "$T/sp"
cp "$T/rs/motion.jpg" "$M/gainmap-paris-403x302-mpf-hdrgm.jpg" "$M/gainmap-seine-400x300-tmap.avif" "$T/sp/"
SH="$T/sh"
"$TP" --home "$SH" ingest "$T/sp" >/dev/null 2>&1
simsaved() { # simsaved POLICY SAMPLE: the predicted bytes saved
    "$TP" --home "$SH" simulate --policy "$1" --now 2031-06-01 --sample "$2" --format json 2>/dev/null |
        "$PY" -c 'import json,sys; print(round(json.loads(sys.stdin.readline())["bytes_saved"]))'
}
runsaved() { # runsaved POLICY: what run saved on a copy of the home
    rm -rf "$T/shr" && cp -r "$SH" "$T/shr"
    "$TP" --home "$T/shr" run --policy "$1" --now 2031-06-01 --json 2>/dev/null | tail -1 |
        "$PY" -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(d["bytes_before"] - d["bytes_after"])'
}
s0=$(simsaved policies/saver.yaml 0); s50=$(simsaved policies/saver.yaml 50); r=$(runsaved policies/saver.yaml)
[ "$s0" = 0 ] && [ "$s50" = "$r" ] && ok "simulate saver on parts photos: the ratio table predicts them kept (0 saved), the sample what run does ($r)" ||
    notok "simulate saver parts" "table $s0, sample $s50, run $r"
jpeg_bytes=$(cat "$T/sp/motion.jpg" "$T/sp/gainmap-paris-403x302-mpf-hdrgm.jpg" | wc -c)
d0=$(simsaved policies/default.yaml 0)
[ "$d0" -gt 0 ] && [ "$d0" -lt $((jpeg_bytes / 4)) ] &&
    ok "simulate default (table): the two JPEGs on the lossless JPEG XL path only ($d0 of $jpeg_bytes bytes)" || notok "simulate default parts" "$d0 of $jpeg_bytes"

# --- tiers and the simulator treat a pair as one asset -----------------------
# The clip of a Live Photo goes where its still goes (the default policy puts
# the 2008 JPEG stills in cold-jpeg: their clips follow, relabelled, not in
# cold-video as an unpaired clip is); simulate counts each pair once, with
# both halves' bytes in the still's tier.
if [ -d "$T/cid/upload" ]; then
    PH="$T/ph"
    pq() { sqlite3 "$PH/catalog.db" "$1"; }
    "$TP" --home "$PH" ingest "$T/cid/upload" >/dev/null 2>&1
    "$TP" --home "$PH" simulate --policy policies/default.yaml --now 2031-06-01 --sample 0 --format json >"$T/psim.json" 2>/dev/null
    still=$(pq "SELECT image_id FROM pairs p JOIN assets a ON a.id = p.image_id WHERE a.format = 'jpeg'")
    clip=$(pq "SELECT video_id FROM pairs WHERE image_id = $still")
    lone=$(pq "SELECT id FROM assets WHERE kind = 'video' AND id NOT IN (SELECT video_id FROM pairs)")
    pair_bytes=$(pq "SELECT sum(bytes) FROM assets WHERE id IN ($still, $clip)")
    jpeg_bytes=$(pq "SELECT sum(bytes) FROM assets WHERE format = 'jpeg'")
    "$PY" - "$T/psim.json" "$((jpeg_bytes + pair_bytes - $(pq "SELECT bytes FROM assets WHERE id = $still")))" <<'PYEOF' && ok "simulate: 6 assets in 2 pairs count as 4; the clip's bytes in its still's tier" || notok "simulate pairs" "$(head -c 600 "$T/psim.json")"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
assert d["assets"] == 4 and d["pairs"] == 2, (d["assets"], d["pairs"])
t = {x["name"]: x for x in d["tiers"]}
assert t["cold-jpeg"]["assets"] == 2 and t["cold-jpeg"]["bytes_before"] == int(sys.argv[2]), t["cold-jpeg"]
assert t["cold-video"]["assets"] == 1, t["cold-video"]
PYEOF
    "$TP" --home "$PH" run --policy policies/default.yaml --now 2031-06-01 >/dev/null 2>&1
    [ "$(pq "SELECT tier FROM assets WHERE id = $clip")" = cold-jpeg ] && [ "$(pq "SELECT tier FROM assets WHERE id = $still")" = cold-jpeg ] &&
        [ "$(pq "SELECT tier FROM assets WHERE id = $lone")" = cold-video ] &&
        [ "$(pq "SELECT current_blob = sha256 FROM assets WHERE id = $clip")" = 1 ] &&
        ok "run: a Live Photo's clip follows its still's tier (bytes untouched); an unpaired clip its own" ||
        notok "run pair tier" "$(pq "SELECT id, kind, tier FROM assets")"
    "$TP" --home "$PH" -v policy explain policies/default.yaml "$clip" 2>&1 | grep -q "Live Photo's clip: it goes where its still goes" &&
        ok "policy explain of a clip says it follows its still" || notok "explain clip"
fi

# --- a motion photo's video gets a clip preview when the proxies ask --------
# (proxy format mp4: made only for images with a motion part, no poster)
mkdir -p "$T/mpx"
cp "$T/rs/motion.jpg" "$T/base.jpg" "$T/clip.mp4" "$T/mpx/"
MH="$T/mh"
"$TP" --home "$MH" ingest --proxy motion:mp4:720 "$T/mpx" >/dev/null 2>"$T/mpx.err" || notok "ingest --proxy motion:mp4" "$(cat "$T/mpx.err")"
mq() { sqlite3 "$MH/catalog.db" "$1"; }
mid=$(mq "SELECT id FROM assets WHERE bytes = $(wc -c <"$T/mpx/motion.jpg")")
"$TP" --home "$MH" get "$mid" --rendition motion -o "$T/motion-preview.mp4" >/dev/null 2>&1 &&
    "$TP" info --json "$T/motion-preview.mp4" >"$T/mpi.json" 2>/dev/null &&
    [ "$(jget "$T/mpi.json" vcodec)" = h264 ] && "$PY" -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); sys.exit(abs(d["duration"] - 1.2) > 0.1)' "$T/mpi.json" &&
    [ "$(mq "SELECT count(*) FROM renditions WHERE name = 'motion'")" = 1 ] &&
    [ "$(mq "SELECT count(*) FROM renditions WHERE asset_id = $mid AND name = 'poster'")" = 0 ] &&
    ok "proxy format mp4: the motion photo's video as an H.264 clip preview (1.2 s, no poster); no other asset gets one" ||
    notok "motion preview" "$(mq "SELECT asset_id, name, format FROM renditions")"
check "fsck with motion previews" "$TP" --home "$MH" fsck
printf 'version: 1\ndefaults:\n  proxies:\n    - {name: thumb, max_edge: 256, format: webp}\n    - {name: motion, max_edge: 720, format: mp4}\ntiers:\n  - name: all\n' >"$T/mpx.yaml"
check "policy check: a proxy of format mp4 (motion-photo preview)" "$TP" policy check "$T/mpx.yaml"
