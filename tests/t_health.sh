# tierpress health (issue 17): on a catalog seeded with each problem it
# reports each one (the seeded asset among the examples), and on the clean
# samples it reports nothing that is not really there (checked against
# exiftool when it is installed).
. tests/lib.sh

H="$T/home"
q() { "$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$H/catalog.db" "$1"; }
sql() { "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()' "$H/catalog.db" "$1"; }
# count KEY: the problem's count; ex KEY ID: ID is among its examples
count() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print([p["count"] for p in r["problems"] if p["key"]==sys.argv[2]][0])' "$T/h.json" "$1"; }
ex() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); p=[p for p in r["problems"] if p["key"]==sys.argv[2]][0]; sys.exit(0 if any(e["asset"]==int(sys.argv[3]) and sys.argv[4] in e["detail"] for e in p["examples"]) else 1)' "$T/h.json" "$1" "$2" "${3:-}"; }
id_of() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["file"].endswith("/" + sys.argv[2]): print(r["asset"])' "$T/ingest.json" "$1"; }

# ---- the clean samples
CLEAN="photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-whatsapp-1024x768-noexif-progressive.jpg
photo-rose-lossy.webp photo-astronaut-512x512-rgb8.png clip-320x240-h264-aac-1.2s.mp4"
stage "$T/clean" $CLEAN
"$TP" --home "$H" ingest "$T/clean" --json >"$T/ingest.json" 2>/dev/null
"$TP" --home "$H" health --json --now 2026-01-01 >"$T/h.json" 2>"$T/h.err" ||
    notok "health: runs on the clean samples" "$(cat "$T/h.err")"
n=0
for k in implausible_capture_time gps_invalid orientation_conflict capture_time_conflict original_unreadable proxies_missing; do
    [ "$(count $k)" = 0 ] || { n=$((n + 1)); echo "# clean samples: $k = $(count $k)"; }
done
[ $n = 0 ] && ok "health: the clean samples have no implausible time, bad GPS, conflict, unreadable original or missing proxy" ||
    notok "health: false problems on the clean samples"
if have exiftool; then
    # no capture time / time zone missing exactly where exiftool finds no
    # DateTimeOriginal / OffsetTimeOriginal (stills; the clip has its container date)
    want_nt=0 want_tz=0 bad=""
    for f in $CLEAN; do
        case $f in clip-*) continue ;; esac
        id=$(id_of "$f")
        if [ -z "$(exiftool -s3 -EXIF:DateTimeOriginal "$T/clean/$f")" ]; then
            want_nt=$((want_nt + 1)); ex no_capture_time "$id" || bad="$bad $f:no-time"
        elif [ -z "$(exiftool -s3 -EXIF:OffsetTimeOriginal "$T/clean/$f")" ]; then
            want_tz=$((want_tz + 1)); ex time_zone_missing "$id" || bad="$bad $f:tz"
        fi
    done
    [ -z "$bad" ] && [ "$(count no_capture_time)" = $want_nt ] && [ "$(count time_zone_missing)" = $want_tz ] &&
        ok "health: no capture time ($want_nt) and time zone missing ($want_tz) agree with exiftool" ||
        notok "health: clean samples vs exiftool" "$bad; $(count no_capture_time)/$want_nt $(count time_zone_missing)/$want_tz"
else
    skip "health: clean samples vs exiftool" "exiftool missing"
fi

# ---- seeded problems
mkdir -p "$T/seed"
cp "$SAMPLES/photo-whatsapp-1024x768-noexif-progressive.jpg" "$T/seed/in.jpg"
"$TP" convert "$T/seed/in.jpg" "$T/seed/IMG_20190704_123456.jpg" --max-edge 120 --keep none >/dev/null 2>&1
"$TP" --home "$H" import dir "$T/seed" >/dev/null 2>&1
named=$(q "SELECT asset_id FROM imports WHERE key LIKE 'IMG_20190704_123456.jpg|%'")
if have exiftool; then
    base="$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg"
    mkdir -p "$T/ex"
    exiftool -q -o "$T/ex/zero.jpg" -GPSLatitude=0 -GPSLongitude=0 -GPSLatitudeRef=N -GPSLongitudeRef=E "$base"
    exiftool -q -o "$T/ex/tz.jpg" -OffsetTimeOriginal=+02:00 "$base"
    exiftool -q -o "$T/ex/epoch.jpg" "-DateTimeOriginal=1970:01:01 00:00:00" "$base"
    # a HEIF whose irot agrees with its EXIF Orientation 6 (as convert writes
    # it), and a copy whose EXIF says 1
    "$TP" convert "$SAMPLES/photo-panasonic-gf1-640x428-exif-orient6.jpg" "$T/ex/o6.heic" --max-edge 96 >/dev/null 2>&1
    exiftool -q -o "$T/ex/o6-exif1.heic" -Orientation#=1 "$T/ex/o6.heic"
    "$TP" --home "$H" ingest "$T/ex" --json >"$T/ingest.json" 2>/dev/null
    zero=$(id_of zero.jpg) tz=$(id_of tz.jpg) epoch=$(id_of epoch.jpg)
    o6=$(id_of o6.heic) o6c=$(id_of o6-exif1.heic)
fi
# catalog-side seeds on the clean assets
"$TP" --home "$H" ingest "$T/clean" --json >"$T/ingest.json" 2>/dev/null
a_future=$(id_of photo-panasonic-gf1-640x428-exif-orient6.jpg)
a_phone=$(id_of photo-iphone4s-180x135-exif-gps.jpg)
a_default=$(id_of photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg)
a_range=$(id_of photo-astronaut-512x512-rgb8.png)
a_trunc=$(id_of photo-rose-lossy.webp)
a_noproxy=$(id_of clip-320x240-h264-aac-1.2s.mp4)
a_lostproxy=$(id_of photo-whatsapp-1024x768-noexif-progressive.jpg)
sql "UPDATE assets SET capture_time = '2099-05-01T10:00:00' WHERE id = $a_future"
sql "UPDATE assets SET capture_time = '1985-06-01T12:00:00' WHERE id = $a_phone"
sql "UPDATE assets SET capture_time = '2000-01-01T00:00:00' WHERE id = $a_default"
sql "INSERT INTO asset_meta (asset_id, latitude, longitude, location_source) VALUES ($a_range, 95.5, 10, 'sidecar')"
# the same content exported twice under different capture times
mkdir -p "$T/tk/Takeout/Google Photos/Photos from 2018" "$T/tk/Takeout/Google Photos/Holiday"
"$TP" convert "$T/seed/in.jpg" "$T/tk/Takeout/Google Photos/Photos from 2018/IMG_1.jpg" --max-edge 100 --keep none >/dev/null 2>&1
cp "$T/tk/Takeout/Google Photos/Photos from 2018/IMG_1.jpg" "$T/tk/Takeout/Google Photos/Holiday/IMG_1.jpg"
echo '{"title":"IMG_1.jpg","photoTakenTime":{"timestamp":"1530000000"}}' >"$T/tk/Takeout/Google Photos/Photos from 2018/IMG_1.jpg.json"
echo '{"title":"IMG_1.jpg","photoTakenTime":{"timestamp":"1540000000"}}' >"$T/tk/Takeout/Google Photos/Holiday/IMG_1.jpg.json"
echo '{"title":"Holiday"}' >"$T/tk/Takeout/Google Photos/Holiday/metadata.json"
"$TP" --home "$H" import takeout "$T/tk" >/dev/null 2>&1
twice=$(q "SELECT asset_id FROM imports WHERE key LIKE '%Photos from 2018/IMG_1.jpg|%'")
# a truncated original, a deleted proxy blob, an asset without proxies
blob() { find "$H/blobs" -name "$1" | head -n 1; }
f=$(blob "$(q "SELECT sha256 FROM assets WHERE id = $a_trunc")")
chmod u+w "$f" && truncate -s 100 "$f"
f=$(blob "$(q "SELECT blob FROM renditions WHERE asset_id = $a_lostproxy AND name = 'thumb'")")
rm -f "$f"
sql "DELETE FROM renditions WHERE asset_id = $a_noproxy"

"$TP" --home "$H" health --json --now 2026-01-01 >"$T/h.json" 2>"$T/h.err"
ex no_capture_time "$named" "the file name gives 2019-07-04T12:34:56" &&
    ok "health: no capture time, with the time the file name gives" || notok "health: no capture time + file name"
ex implausible_capture_time "$a_future" "in the future" && ex implausible_capture_time "$a_phone" "before 1990 on a phone" &&
    ex implausible_capture_time "$a_default" "default date" &&
    ok "health: implausible capture times (future, before 1990 on a phone, camera default)" ||
    notok "health: implausible times" "$(head -c 300 "$T/h.json")"
if have exiftool; then
    ex implausible_capture_time "$epoch" "1970-01-01" && ok "health: 1970-01-01 from EXIF" || notok "health: 1970-01-01"
    ex gps_invalid "$zero" "0,0" && ok "health: EXIF GPS at 0,0" || notok "health: GPS 0,0"
    ex orientation_conflict "$o6c" "EXIF Orientation 1, the container's irot/imir 6" &&
        ! ex orientation_conflict "$o6" && [ "$(count orientation_conflict)" = 1 ] &&
        ok "health: orientation conflict between EXIF and the HEIF container (and none where they agree)" ||
        notok "health: orientation conflict"
    ! ex time_zone_missing "$tz" && ex time_zone_missing "$epoch" &&
        ok "health: time zone missing only where OffsetTimeOriginal is absent" || notok "health: time zone"
else
    skip "health: EXIF seeds" "exiftool missing"
fi
ex gps_invalid "$a_range" "out of range" && ok "health: GPS out of range" || notok "health: GPS out of range"
ex capture_time_conflict "$twice" "2018-06-26T08:00:00Z" && ex capture_time_conflict "$twice" "2018-10-20T01:46:40Z" &&
    ok "health: the same content imported under different capture times" || notok "health: time conflict"
ex original_unreadable "$a_trunc" "" && ok "health: a truncated original" || notok "health: truncated original"
ex proxies_missing "$a_noproxy" "no proxies" && ex proxies_missing "$a_lostproxy" "missing (thumb)" &&
    ok "health: missing proxies (none, and a lost blob)" || notok "health: missing proxies"
"$TP" --home "$H" health --now 2026-01-01 >"$T/h.txt" 2>&1
grep -q "^proxies missing  *2$" "$T/h.txt" && grep -q "fix: " "$T/h.txt" &&
    ok "health: table with counts, examples and fixes" || notok "health: table" "$(head -5 "$T/h.txt")"
"$TP" --home "$H" health --catalog-only --json --now 2026-01-01 >"$T/h.json" 2>/dev/null
[ "$(jget "$T/h.json" originals_read)" = 0 ] && [ "$(count original_unreadable)" = 0 ] &&
    ok "health: --catalog-only reads no original" || notok "health: --catalog-only"
# the section of the simulate HTML report
"$TP" --home "$H" simulate --policy "${TP_ROOT:-.}/policies/default.yaml" --sample 0 --now 2026-01-01 \
    --html "$T/r.html" --health >/dev/null 2>&1
grep -q "<h2>Metadata health</h2>" "$T/r.html" &&
    grep -q "<tr><td>proxies missing</td><td>2</td><td>asset $a_noproxy: no proxies at all" "$T/r.html" &&
    grep -q "<tr><td>no capture time</td><td>$(count no_capture_time)</td>" "$T/r.html" &&
    ok "health: a section of the simulate HTML report (--health)" || notok "health: HTML section"

# ---- the policy condition 'health': problem assets kept out of the age tier
cat >"$T/hp.yaml" <<'YAML'
version: 1
tiers:
  - name: fix-metadata
    match: { health: [no_capture_time, implausible_capture_time, gps_invalid, capture_time_conflict] }
    transcode: { mode: none }
  - name: old
    match: { age_days: { min: 0 } }
    transcode: { mode: none }
YAML
tier_of() { "$TP" --home "$H" policy explain "$T/hp.yaml" "$1" --now 2026-01-01 >"$T/hx" 2>&1; sed -n "s/.*tier '\([a-z-]*\)'.*/\1/p" "$T/hx" | head -n 1; }
n=0 bad=""
for p in "$named:no_capture_time" "$a_future:implausible_capture_time" "$a_phone:implausible_capture_time" \
         "$a_default:implausible_capture_time" "$a_range:gps_invalid" "$twice:capture_time_conflict"; do
    id=${p%%:*} k=${p#*:}
    if [ "$(tier_of "$id")" = fix-metadata ] && grep -q "health = \[.*$k.*\], needs any of" "$T/hx"; then
        n=$((n + 1))
    else bad="$bad $id:$k($(grep health "$T/hx" | head -n 1))"; fi
done
[ $n = 6 ] && ok "health policy: each problem asset matches 'health' (explain names the problem)" ||
    notok "health policy: explain" "$bad"
# `run` reads the same facts from its catalog scan (not the per-asset path)
"$TP" --home "$H" run --policy "$T/hp.yaml" --dry-run --json --now 2026-01-01 >"$T/run.json" 2>/dev/null
tier_run() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r.get("asset") == int(sys.argv[2]): print(r["tier"])' "$T/run.json" "$1"; }
n=0
for id in $named $a_future $a_phone $a_default $a_range $twice; do
    [ "$(tier_run "$id")" = fix-metadata ] && n=$((n + 1))
done
clean=0
for id in $(grep -o '"asset":[0-9]*,[^}]*"tier":"old"' "$T/run.json" | sed 's/"asset":\([0-9]*\),.*/\1/'); do
    [ "$(tier_of "$id")" = old ] && clean=$((clean + 1))
done
[ $n = 6 ] && [ $clean -ge 1 ] &&
    ok "health policy: run's catalog scan agrees ($n problem assets kept out of the age tier, $clean without problems in it)" ||
    notok "health policy: run --dry-run" "$n of 6; $clean in 'old'"
printf 'version: 1\ntiers:\n  - name: a\n    match: { health: [no_capture_tme] }\n' >"$T/hbad1.yaml"
printf 'version: 1\ntiers:\n  - name: a\n    match: { health: time_zone_missing }\n' >"$T/hbad2.yaml"
"$TP" policy check "$T/hbad1.yaml" >"$T/hb1" 2>&1; s1=$?
"$TP" policy check "$T/hbad2.yaml" >"$T/hb2" 2>&1; s2=$?
[ $s1 != 0 ] && grep -q "hbad1.yaml:4:.*unknown value 'no_capture_tme' (did you mean 'no_capture_time'?)" "$T/hb1" &&
    [ $s2 != 0 ] && grep -q "hbad2.yaml:4:.*'time_zone_missing' needs the originals read" "$T/hb2" &&
    ok "health policy: an unknown name gets the nearest one; a costly problem is refused with why" ||
    notok "health policy: validation" "$(cat "$T/hb1" "$T/hb2" | tr '\n' ' ')"
