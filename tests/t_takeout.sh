# Moving a library in (issue 17): a Google-Takeout-shaped export built from
# the samples (tests/tools/takeout_gen.py: both sidecar generations, every
# truncation, clipped names, moved counters, -edited, motion photos, the
# title as last resort, albums and year folders, three parts with a sidecar
# in another part than its photo, a corrupt part, invalid JSON, '../'
# entries) is imported; every capture time and location lands in the
# catalog; a second import adds nothing; an interrupted one continues; the
# unpacked folder imports the same; XMP sidecars of a folder tree.
. tests/lib.sh

GEN="$PY ${TP_ROOT:-.}/tests/tools/takeout_gen.py"
CHK="$PY ${TP_ROOT:-.}/tests/tools/takeout_check.py"
SMALL="$T/small.jpg"
"$TP" convert "$SAMPLES/photo-whatsapp-1024x768-noexif-progressive.jpg" "$SMALL" --max-edge 160 \
    --keep none >/dev/null 2>&1
mkdir -p "$T/x/y"
$GEN test "$T/x" "$SMALL" "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" \
    "$SAMPLES/clip-320x240-h264-aac-1.2s.mp4" || { notok "takeout: generate the export"; exit 0; }
PARTS="$T/x/takeout-001.zip $T/x/takeout-002.tgz $T/x/takeout-003.zip"
q() { "$PY" -c 'import sqlite3,sys; r=sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print(r[0] if r else "")' "$1/catalog.db" "$2"; }
has() { "$PY" -c 'import json,sys; r=json.loads(open(sys.argv[1]).read()); sys.exit(0 if any(sys.argv[3] in s for s in r[sys.argv[2]]) else 1)' "$1" "$2" "$3"; }

# ---- the whole export: three good parts, a corrupt one, one with ../ names
H="$T/home"
(cd "$T/x/y" && "$TP" --home "$H" import takeout $PARTS "$T/x/takeout-004.zip" "$T/x/evil.zip" \
    --json >"$T/r1.json" 2>"$T/r1.err")
st=$?
if [ $st -eq 1 ] && grep -q "takeout-004.zip: corrupt archive part" "$T/r1.err"; then
    ok "takeout: a corrupt part is an error naming it (exit 1)"
else notok "takeout: corrupt part" "exit $st: $(head -c 300 "$T/r1.err")"; fi
[ "$(jget "$T/r1.json" imported)" = 24 ] && [ "$(jget "$T/r1.json" duplicates)" = 2 ] &&
    [ "$(jget "$T/r1.json" failed)" = 0 ] && [ "$(q "$H" "SELECT count(*) FROM assets")" = 24 ] &&
    ok "takeout: the other parts are imported (24 assets, the album copies duplicates)" ||
    notok "takeout: import counts" "$(head -c 400 "$T/r1.json")"
check "takeout: every capture time and location from the sidecars is in the catalog" \
    $CHK "$H/catalog.db" "$T/x/manifest.json"
[ "$(jget "$T/r1.json" sidecars)" = 21 ] && [ "$(jget "$T/r1.json" sidecars_matched)" = 20 ] &&
    has "$T/r1.json" unmatched_sidecars "orphan.jpg.json" &&
    [ "$(jget "$T/r1.json" sidecars_unmatched)" = 1 ] &&
    ok "takeout: sidecars matched 20/21, the orphan listed as unmatched" ||
    notok "takeout: sidecar counts" "$(head -c 400 "$T/r1.json")"
has "$T/r1.json" without_sidecar "IMG_0014.jpg" && [ "$(jget "$T/r1.json" media_without_sidecar)" = 2 ] &&
    ok "takeout: media without a sidecar listed" || notok "takeout: media without sidecar"
has "$T/r1.json" skipped "IMG_0013.jpg: sidecar IMG_0013.jpg.json ignored: invalid JSON" &&
    [ -n "$(q "$H" "SELECT i.asset_id FROM imports i WHERE key LIKE '%/IMG_0013.jpg|%'")" ] &&
    ok "takeout: invalid JSON sidecar reported, the photo still imported" ||
    notok "takeout: invalid JSON"
n=0
for e in "../../escape.jpg: refused" "tp-takeout-abs-escape.jpg: refused" "escape2.jpg.json: refused"; do
    has "$T/r1.json" skipped "$e" && n=$((n + 1))
done
if [ $n = 3 ] && [ ! -e "$T/escape.jpg" ] && [ ! -e "$T/x/escape.jpg" ] &&
   [ ! -e /tmp/tp-takeout-abs-escape.jpg ] && [ ! -e "$T/escape2.jpg.json" ]; then
    ok "takeout: '../' and absolute entry names refused, nothing written outside the home"
else notok "takeout: unsafe names" "$n refused"; fi
# albums: the year-folder photo and its album copy are one asset in the album
a1=$(q "$H" "SELECT asset_id FROM imports WHERE key LIKE '%Photos from 2019/IMG_0001.jpg|%'")
[ "$(q "$H" "SELECT count(*) FROM album_assets m JOIN albums a ON a.id = m.album_id WHERE a.title = 'Trip to Paris'")" = 2 ] &&
    [ "$(q "$H" "SELECT count(*) FROM album_assets WHERE asset_id = $a1")" = 1 ] &&
    [ "$(q "$H" "SELECT group_concat(title, '|') FROM (SELECT title FROM albums ORDER BY title)")" = "Summer 2019|Trip to Paris" ] &&
    ok "takeout: album folders (also one named like a year) vs year folders; the same photo in both is one asset in the album" ||
    notok "takeout: albums"
# motion photos: the still and its .MP / .MP4 (same name, the still's sidecar) are one pair
pq() { q "$H" "SELECT count(*) FROM pairs p JOIN imports s ON s.asset_id = p.image_id JOIN imports v ON v.asset_id = p.video_id WHERE s.key LIKE '%/$1|%' AND v.key LIKE '%/$2|%'"; }
[ "$(jget "$T/r1.json" pairs_linked)" = 2 ] && [ "$(q "$H" "SELECT count(*) FROM pairs")" = 2 ] &&
    [ "$(pq PXL_0011.jpg PXL_0011.MP)" = 1 ] && [ "$(pq IMG_0012.jpg IMG_0012.MP4)" = 1 ] &&
    ok "takeout: motion photos (.MP, .MP4 with the still's sidecar) linked as pairs" ||
    notok "takeout: motion photo pairs" "$(q "$H" "SELECT group_concat(image_id || '+' || video_id || ':' || how) FROM pairs")"
# the sidecar of IMG_0001 sits in the third part
[ "$(q "$H" "SELECT sidecar FROM asset_meta WHERE asset_id = $a1")" = \
  "Takeout/Google Photos/Photos from 2019/IMG_0001.jpg.supplemental-metadata.json" ] &&
    ok "takeout: a sidecar in another part than its photo is matched" || notok "takeout: cross-part sidecar"
# the originals went through ingest: proxies, bytes unchanged
"$TP" --home "$H" get "$a1" -o "$T/a1.jpg" >/dev/null 2>&1 &&
    "$PY" -c 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); sys.exit(0 if z.read("Takeout/Google Photos/Photos from 2019/IMG_0001.jpg")==open(sys.argv[2],"rb").read() else 1)' \
        "$T/x/takeout-001.zip" "$T/a1.jpg" &&
    [ "$(q "$H" "SELECT count(*) FROM renditions WHERE asset_id = $a1")" -ge 2 ] &&
    ok "takeout: originals stored byte for byte, with proxies" || notok "takeout: originals"
# policy explain ages by the imported capture time
"$TP" --home "$H" policy explain "${TP_ROOT:-.}/policies/default.yaml" "$a1" --now 2021-01-01 >"$T/explain" 2>&1
grep -q "since capture 2019-07-04T12:34:56Z" "$T/explain" && grep -q "age_days = 546 (since capture)" "$T/explain" &&
    ok "takeout: policy explain uses the imported capture time" ||
    notok "takeout: policy explain" "$(head -3 "$T/explain" | tr '\n' ' ')"
cat >"$T/dated.yaml" <<'EOF'
version: 1
tiers:
  - name: needs-a-date
    match: { capture_time_known: false }
    transcode: { mode: none }
  - name: old
    match: { age_days: { min: 365 }, capture_time_known: true }
    transcode: { mode: none }
EOF
a14=$(q "$H" "SELECT asset_id FROM imports WHERE key LIKE '%/IMG_0014.jpg|%'")
"$TP" --home "$H" policy explain "$T/dated.yaml" "$a14" --now 2030-01-01 >"$T/ex14" 2>&1
"$TP" --home "$H" policy explain "$T/dated.yaml" "$a1" --now 2030-01-01 >"$T/ex1" 2>&1
grep -q "tier 'needs-a-date'" "$T/ex14" && grep -q "capture_time_known = false (no capture time" "$T/ex14" &&
    grep -q "tier 'old'" "$T/ex1" &&
    ok "takeout: capture_time_known keeps an asset without a capture time out of the age tier" ||
    notok "takeout: capture_time_known" "$(tail -4 "$T/ex14" | tr '\n' ' ')"

# ---- a second import adds nothing
"$TP" --home "$H" import takeout $PARTS --json >"$T/r2.json" 2>/dev/null
[ "$(jget "$T/r2.json" imported)" = 0 ] && [ "$(jget "$T/r2.json" already_imported)" = 25 ] &&
    [ "$(q "$H" "SELECT count(*) FROM assets")" = 24 ] &&
    [ "$(q "$H" "SELECT count(*) FROM album_assets")" = 3 ] &&
    [ "$(jget "$T/r2.json" pairs_linked)" = 0 ] && [ "$(q "$H" "SELECT count(*) FROM pairs")" = 2 ] &&
    ok "takeout: a second import adds nothing" || notok "takeout: second import" "$(head -c 300 "$T/r2.json")"

# ---- an interrupted import continues (killed after the 3rd stored file)
H2="$T/home2"
TP_CRASH_AT=ingest_stored:3 "$TP" --home "$H2" import takeout $PARTS >/dev/null 2>&1
st=$?
"$TP" --home "$H2" import takeout $PARTS --json >"$T/r3.json" 2>/dev/null
if [ $st -gt 128 ] && [ "$(jget "$T/r3.json" already_imported)" = 2 ] &&
   [ "$(q "$H2" "SELECT count(*) FROM assets")" = 23 ] &&
   $CHK "$H2/catalog.db" "$T/x/manifest.json" >/dev/null; then
    ok "takeout: an interrupted import continues where it stopped"
else notok "takeout: resume" "first exit $st; $(head -c 300 "$T/r3.json")"; fi

# ---- the unpacked export gives the same catalog
mkdir -p "$T/unpacked"
"$PY" -c '
import sys, tarfile, zipfile
d = sys.argv[1]
zipfile.ZipFile(sys.argv[2]).extractall(d)
tarfile.open(sys.argv[3]).extractall(d)
zipfile.ZipFile(sys.argv[4]).extractall(d)' "$T/unpacked" $PARTS
"$TP" --home "$T/home3" import takeout "$T/unpacked" --json >"$T/r4.json" 2>/dev/null
[ "$(jget "$T/r4.json" imported)" = 23 ] && [ "$(jget "$T/r4.json" sidecars_matched)" = 20 ] &&
    $CHK "$T/home3/catalog.db" "$T/x/manifest.json" >/dev/null &&
    ok "takeout: an unpacked export folder imports the same" ||
    notok "takeout: unpacked folder" "$(head -c 300 "$T/r4.json")"

# ---- import dir: a folder tree with XMP sidecars
mkdir -p "$T/dt/2018"
cp "$SMALL" "$T/dt/2018/IMG_1234.jpg"
cp "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/dt/2018/IMG_5678.jpg"
cat >"$T/dt/2018/IMG_1234.xmp" <<'XMP'
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
   xmlns:dc="http://purl.org/dc/elements/1.1/"
   exif:DateTimeOriginal="2018-05-06T07:08:09" exif:GPSLatitude="48,51.504N" exif:GPSLongitude="2,17.67E" xmp:Rating="5">
  <dc:description><rdf:Alt><rdf:li xml:lang="x-default">Seine at dawn</rdf:li></rdf:Alt></dc:description>
 </rdf:Description></rdf:RDF></x:xmpmeta>
XMP
cat >"$T/dt/2018/IMG_5678.jpg.xmp" <<'XMP'
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreateDate="2001-01-01T00:00:00"/>
</rdf:RDF></x:xmpmeta>
XMP
"$TP" --home "$T/home4" import dir "$T/dt" --json >"$T/r5.json" 2>/dev/null
H4="$T/home4"
id1=$(q "$H4" "SELECT asset_id FROM imports WHERE key LIKE '2018/IMG_1234.jpg|%'")
id2=$(q "$H4" "SELECT asset_id FROM imports WHERE key LIKE '2018/IMG_5678.jpg|%'")
[ "$(jget "$T/r5.json" sidecars_matched)" = 2 ] &&
    [ "$(q "$H4" "SELECT capture_time || ' ' || capture_source || ' ' || round(latitude, 4) || ' ' || round(longitude, 4) || ' ' || favourite || ' ' || description FROM asset_meta WHERE asset_id = $id1")" = \
      "2018-05-06T07:08:09 sidecar 48.8584 2.2945 1 Seine at dawn" ] &&
    [ "$(q "$H4" "SELECT capture_source || ' ' || sidecar_capture_time FROM asset_meta WHERE asset_id = $id2")" = \
      "exif 2001-01-01T00:00:00" ] &&
    ok "import dir: XMP sidecars (NAME.xmp, NAME.EXT.xmp) fill time, GPS, rating, description" ||
    notok "import dir: XMP" "$(head -c 300 "$T/r5.json")"
check_fails "import: an unknown source is a usage error" "$TP" --home "$H" import flickr "$T"
"$TP" --home "$T/nohome" import takeout "$T/x/missing.zip" 2>"$T/miss.err"
st=$?
[ $st = 1 ] && grep -q "missing.zip: No such file" "$T/miss.err" && [ ! -e "$T/nohome" ] &&
    ok "import: a missing part is an error naming it, and nothing is created" ||
    notok "import: missing part" "exit $st"

# ---- the same import on a PostgreSQL catalog
if [ -n "${TP_TEST_PG:-}" ]; then
    PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
    DB=tp_takeout_$$
    $PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null
    trap '$PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; rm -rf "$T"' EXIT
    PGURI="${TP_TEST_PG%/*}/$DB"
    TIERPRESS_CATALOG="$PGURI" "$TP" --home "$T/pg" import takeout $PARTS --json >"$T/p1.json" 2>/dev/null
    TIERPRESS_CATALOG="$PGURI" "$TP" --home "$T/pg" import takeout $PARTS --json >"$T/p2.json" 2>/dev/null
    [ "$(jget "$T/p1.json" imported)" = 23 ] && [ "$(jget "$T/p2.json" already_imported)" = 25 ] &&
        [ "$($PSQL "$PGURI" -c "SELECT count(*) || ' ' || count(capture_time) || ' ' || count(latitude) FROM asset_meta")" = "23 21 8" ] &&
        [ "$($PSQL "$PGURI" -c "SELECT count(*) FROM album_assets")" = 3 ] &&
        [ "$(jget "$T/p1.json" pairs_linked)" = 2 ] && [ "$($PSQL "$PGURI" -c "SELECT count(*) FROM pairs")" = 2 ] &&
        ok "takeout: the same import on a PostgreSQL catalog (times, locations, albums, motion photo pairs; twice)" ||
        notok "takeout: PostgreSQL" "$(head -c 200 "$T/p1.json")"
    # the policy condition 'health' from PostgreSQL's catalog scan = SQLite's
    printf 'version: 1\ntiers:\n  - name: fix\n    match: { health: [no_capture_time, implausible_capture_time, gps_invalid, capture_time_conflict] }\n  - name: rest\n    match: {}\n' >"$T/hp.yaml"
    TIERPRESS_CATALOG="$PGURI" "$TP" --home "$T/pg" run --policy "$T/hp.yaml" --dry-run --json --now 2026-01-01 2>/dev/null | tail -n 1 >"$T/hpg.json"
    "$TP" --home "$T/home3" run --policy "$T/hp.yaml" --dry-run --json --now 2026-01-01 2>/dev/null | tail -n 1 >"$T/hsq.json"
    m() { "$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["matched"]; print(r["fix"], r["rest"])' "$1"; }
    [ -n "$(m "$T/hsq.json")" ] && [ "$(m "$T/hpg.json")" = "$(m "$T/hsq.json")" ] && [ "$(m "$T/hsq.json" | cut -d' ' -f1)" -ge 2 ] &&
        ok "takeout: policy 'health' matches the same assets on PostgreSQL as on SQLite ($(m "$T/hsq.json"))" ||
        notok "takeout: health on PostgreSQL" "pg $(m "$T/hpg.json") sqlite $(m "$T/hsq.json")"
    # imported metadata, albums and import records move with `tierpress migrate`
    if [ -n "${TP_S3_ENDPOINT:-}" ] && [ -n "${TP_S3_BUCKET:-}" ]; then
        DB2=tp_takeout_m_$$
        $PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB2" >/dev/null
        trap '$PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; $PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" >/dev/null 2>&1; rm -rf "$T"' EXIT
        mkdir -p "$T/dst"
        printf 'catalog: %s\nstore: s3://%s/takeout-%s/\ns3:\n  endpoint_url: %s\n  storage_classes: false\n' \
            "${TP_TEST_PG%/*}/$DB2" "$TP_S3_BUCKET" "$$" "$TP_S3_ENDPOINT" >"$T/dst/tierpress.yaml"
        AWS_ACCESS_KEY_ID="$TP_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$TP_S3_SECRET_KEY" \
            AWS_REGION="${TP_S3_REGION:-us-east-1}" "$TP" --home "$H" migrate --to "$T/dst/tierpress.yaml" \
            >/dev/null 2>"$T/mig.err"
        want=$("$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(" ".join(str(c.execute(q).fetchone()[0]) for q in ("SELECT count(*) FROM asset_meta", "SELECT count(latitude) FROM asset_meta", "SELECT sum(favourite) FROM asset_meta", "SELECT count(*) FROM album_assets", "SELECT count(*) FROM imports")))' "$H/catalog.db")
        got=$($PSQL "${TP_TEST_PG%/*}/$DB2" -c "SELECT (SELECT count(*) FROM asset_meta) || ' ' || (SELECT count(latitude) FROM asset_meta) || ' ' || (SELECT count(*) FROM asset_meta WHERE favourite) || ' ' || (SELECT count(*) FROM album_assets) || ' ' || (SELECT count(*) FROM imports)")
        [ -n "$want" ] && [ "$want" = "$got" ] &&
            ok "takeout: imported metadata, albums and import records move with tierpress migrate" ||
            notok "takeout: migrate" "want '$want' got '$got': $(head -c 200 "$T/mig.err")"
    fi
else
    skip "takeout: PostgreSQL catalog" "TP_TEST_PG is not set"
fi
