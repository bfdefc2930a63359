# tierpress migrate: an embedded home (SQLite + files) copied into a real
# PostgreSQL catalog and a real S3 store (servers started by scripts/test),
# killed mid-copy by a fault hook and resumed; every row compared with the
# source (ids, reference counts, grace dates, audit trail, access log), the
# source untouched, and a run on the migrated home doing nothing.  First,
# without servers: SQLite + files into another SQLite + files home.
. tests/lib.sh

# ---- any pair: SQLite + files -> SQLite + files (no server needed)
L=$T/lsrc
"$TP" --home "$L" ingest "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$SAMPLES/photo-500x500-gray8.png" >/dev/null 2>&1
mkdir -p "$T/ldst"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/ldst/tierpress.yaml"
TP_FAULT_MIGRATE_KILL=2 "$TP" --home "$L" migrate --to "$T/ldst/tierpress.yaml" --page-rows 2 >/dev/null 2>"$T/lk.err"
st=$?
grep -q "^migrate: blobs *2 rows, 2 blobs" "$T/lk.err" && ok "a progress line per committed page" ||
    notok "progress line" "$(head -3 "$T/lk.err")"
"$TP" --home "$L" migrate --to "$T/ldst/tierpress.yaml" --page-rows 2 --json >"$T/l.json" 2>"$T/l.err"
"$TP" --home "$L" ls >"$T/l1.txt" 2>&1
"$TP" --home "$T/ldst" ls >"$T/l2.txt" 2>&1
[ $st -eq 137 ] && [ "$(jget "$T/l.json" resumed)" = true ] && cmp -s "$T/l1.txt" "$T/l2.txt" &&
    "$TP" --home "$T/ldst" fsck >/dev/null 2>&1 &&
    ok "sqlite+files -> sqlite+files: killed, resumed, same listing, fsck clean" ||
    notok "sqlite -> sqlite migrate" "kill exit $st: $(cat "$T/l.json" "$T/l.err") $(diff "$T/l1.txt" "$T/l2.txt" | head -3)"

# ---- the id mark moves too: the source's newest asset was deleted (trash,
# then gc), so its id must not be given again in the copy
M=$T/msrc
"$TP" --home "$M" ingest "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$SAMPLES/photo-500x500-gray8.png" >/dev/null 2>&1
sqlite3 "$M/catalog.db" "UPDATE assets SET deleted_at = '2020-01-01T00:00:00Z' WHERE id = 2"
"$TP" --home "$M" gc --trash-grace 0 >/dev/null 2>&1
mkdir -p "$T/mdst"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/mdst/tierpress.yaml"
"$TP" --home "$M" migrate --to "$T/mdst/tierpress.yaml" >/dev/null 2>"$T/m.err"
"$TP" --home "$T/mdst" ingest "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" --json >"$T/m.json" 2>&1
[ "$(sqlite3 "$M/catalog.db" "SELECT count(*) FROM assets")" = 1 ] && [ "$(jget "$T/m.json" asset)" = 3 ] &&
    ok "migrate carries the id mark: a deleted newest asset's id is not given again in the copy" ||
    notok "id mark after migrate" "$(cat "$T/m.err" "$T/m.json")"

# ---- an upload's ingest job moves with its account and the client's file name
E=$T/esrc
stage "$T/ein" photo-iphone4s-180x135-exif-gps.jpg
"$TP" --home "$E" enqueue --ingest "$T/ein/photo-iphone4s-180x135-exif-gps.jpg" --owner bob >/dev/null 2>&1
mkdir -p "$T/edst"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/edst/tierpress.yaml"
"$TP" --home "$E" migrate --to "$T/edst/tierpress.yaml" >/dev/null 2>"$T/e.err"
st=$?
row=$(sqlite3 -separator '|' "$T/edst/catalog.db" "SELECT account, file_name, state FROM jobs WHERE blob IS NOT NULL")
[ $st -eq 0 ] && [ "$row" = "bob|photo-iphone4s-180x135-exif-gps.jpg|queued" ] &&
    ok "an ingest job is copied with its account and the client's file name" ||
    notok "ingest job copied" "exit $st: $row $(tail -2 "$T/e.err")"

# ---- the service's Idempotency-Key answers move with the home (two
# owners' keys; pages of one account hold all its keys)
I=$T/isrc
"$TP" --home "$I" ingest "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" >/dev/null 2>&1
ih=$(sha256sum <"$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" | cut -c1-64)
sqlite3 "$I/catalog.db" "INSERT INTO idempotency VALUES ('alice', 'k-1', '$ih', 1, NULL, 201, 0, 1700000000),
  ('alice', 'k-2', '$ih', NULL, 5, 202, 1, 1700000001), ('bob', 'k-1', '$ih', 1, NULL, 200, 0, 1700000002)"
mkdir -p "$T/idst"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/idst/tierpress.yaml"
"$TP" --home "$I" migrate --to "$T/idst/tierpress.yaml" --page-rows 1 >/dev/null 2>"$T/i.err"
st=$?
iq="SELECT account, key, sha256 = '$ih', coalesce(asset_id, ''), coalesce(job_id, ''), status, new_job, created_at FROM idempotency ORDER BY account, key"
[ $st -eq 0 ] && [ "$(sqlite3 "$I/catalog.db" "$iq" | wc -l)" = 3 ] &&
    [ "$(sqlite3 "$T/idst/catalog.db" "$iq")" = "$(sqlite3 "$I/catalog.db" "$iq")" ] &&
    ok "the service's Idempotency-Key answers are copied (3 rows, 2 owners)" ||
    notok "idempotency keys copied" "exit $st: $(tail -2 "$T/i.err") $(sqlite3 "$T/idst/catalog.db" "$iq" | tr '\n' ' ')"

# ---- the job queue moves with the home: queued jobs, the job a killed
# worker held (released: queued, no owner, its attempt given back), the
# policy text the workers load, and a worker on the target finishes them
J=$T/jsrc
stage "$T/jin" photo-iphone4s-180x135-exif-gps.jpg photo-500x500-gray8.png photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
"$TP" --home "$J" ingest "$T/jin" >/dev/null 2>&1
"$TP" --home "$J" run --policy tests/policies/run.yaml --now 2031-06-01 --enqueue-only >/dev/null 2>&1
jq_() { sqlite3 -separator '|' "$1/catalog.db" "$2"; }
njobs=$(jq_ "$J" "SELECT count(*) FROM jobs WHERE state = 'queued'")
held=$(jq_ "$J" "SELECT min(id) FROM jobs")
jq_ "$J" "UPDATE jobs SET state = 'running', owner = 'gone:1', lease_until = 1, attempts = 1, token = 1, claimed = 1 WHERE id = $held"
mkdir -p "$T/jdst"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/jdst/tierpress.yaml"
"$TP" --home "$J" migrate --to "$T/jdst/tierpress.yaml" --page-rows 2 >/dev/null 2>"$T/j.err"
st=$?
[ $st -eq 0 ] && [ "$njobs" -ge 2 ] &&
    [ "$(jq_ "$T/jdst" "SELECT count(*) FROM jobs WHERE state = 'queued' AND owner IS NULL AND lease_until IS NULL")" = "$njobs" ] &&
    [ "$(jq_ "$T/jdst" "SELECT attempts || ' ' || token FROM jobs WHERE id = $held")" = "0 1" ] &&
    [ "$(jq_ "$T/jdst" "SELECT hash, hex(text) FROM policies")" = "$(jq_ "$J" "SELECT hash, hex(text) FROM policies")" ] &&
    ok "the queue is copied: $njobs jobs queued (the dead worker's released, its token kept), the policy text byte for byte" ||
    notok "queue copied" "exit $st: $(tail -2 "$T/j.err") $(jq_ "$T/jdst" "SELECT id, state, owner, attempts, token FROM jobs" | tr '\n' ' ')"
"$TP" --home "$T/jdst" worker --now 2031-06-01 >"$T/jw.out" 2>&1 &
wpid=$!
i=0
while [ $i -lt 600 ] && [ "$(jq_ "$T/jdst" "SELECT count(*) FROM jobs WHERE state IN ('done', 'kept')")" != "$njobs" ]; do
    sleep 0.2
    i=$((i + 1))
done
kill -TERM $wpid 2>/dev/null
wait $wpid
[ "$(jq_ "$T/jdst" "SELECT count(*) FROM jobs WHERE state IN ('done', 'kept')")" = "$njobs" ] &&
    [ "$(jq_ "$J" "SELECT count(*) FROM jobs WHERE state = 'queued'")" = $((njobs - 1)) ] &&
    "$TP" --home "$T/jdst" fsck >/dev/null 2>&1 &&
    ok "a worker on the target finishes the copied jobs (the source's queue untouched), fsck clean" ||
    notok "worker after migrate" "$(jq_ "$T/jdst" "SELECT id, state, last_error FROM jobs" | tr '\n' ' ') $(tail -3 "$T/jw.out")"
# a job a live worker holds would be done twice: refused, nothing copied
jq_ "$J" "UPDATE jobs SET state = 'running', owner = 'alive:1', lease_until = strftime('%s','now') + 3600 WHERE id = $held"
mkdir -p "$T/jdst2"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/jdst2/tierpress.yaml"
"$TP" --home "$J" migrate --to "$T/jdst2/tierpress.yaml" >/dev/null 2>"$T/j2.err"
st=$?
[ $st -ne 0 ] && grep -q "holds 1 jobs" "$T/j2.err" && [ ! -e "$T/jdst2/catalog.db" -o "$(jq_ "$T/jdst2" "SELECT count(*) FROM assets" 2>/dev/null)" = 0 ] &&
    ok "a job held under a live lease refuses the copy" || notok "live lease" "exit $st: $(cat "$T/j2.err")"

if [ -z "${TP_TEST_PG:-}" ] || [ -z "${TP_S3_ENDPOINT:-}" ] || [ -z "${TP_S3_BUCKET:-}" ]; then
    skip "migrate to PostgreSQL + S3" "TP_TEST_PG or TP_S3_* not set (scripts/test starts both)"
    exit 0
fi
export AWS_ACCESS_KEY_ID="$TP_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$TP_S3_SECRET_KEY"
export AWS_REGION="${TP_S3_REGION:-us-east-1}"
unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION TIERPRESS_CATALOG TIERPRESS_STORE

PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
DB=tp_t_migrate_$$
DB2=tp_t_migrate2_$$
base=${TP_TEST_PG%/*}
RUNID=t_migrate-$$-$(date +%s)
$PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null &&
    $PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB2" >/dev/null || { notok "create databases"; exit 0; }
trap '$PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1;
      $PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB2 WITH (FORCE)" >/dev/null 2>&1; rm -rf "$T"' EXIT

# target DIR DB PREFIX: a home config naming PostgreSQL database DB and s3://bucket/RUNID/PREFIX
target() {
    mkdir -p "$1"
    cat >"$1/tierpress.yaml" <<EOF
catalog: $base/$2
store: s3://$TP_S3_BUCKET/$RUNID/$3
s3:
  endpoint_url: $TP_S3_ENDPOINT
  storage_classes: false
  max_retries: 6
EOF
}

# ---- the source: ingested, accessed, run (a replaced original in its grace)
S=$T/src
FILES="photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-500x500-gray8.png frame-150x103-interlaced.gif"
# shellcheck disable=SC2086
stage "$T/in" $FILES
"$TP" --home "$S" ingest "$T/in" >/dev/null 2>&1
printf 'asset_id,timestamp\n1,2031-05-20T10:00:00Z\n1,2031-05-21T10:00:00Z\n3,2020-01-02T00:00:00Z\n' >"$T/access.csv"
"$TP" --home "$S" access import "$T/access.csv" >/dev/null 2>&1
sqlite3 "$S/catalog.db" "INSERT INTO idempotency VALUES ('alice', 'k-1', '$(printf '%064d' 1)', 1, NULL, 201, 0, 1700000000),
  ('alice', 'k-2', '$(printf '%064d' 2)', NULL, 5, 202, 1, 1700000001), ('bob', 'k-1', '$(printf '%064d' 1)', 2, NULL, 200, 0, 1700000002)"
"$TP" --home "$S" run --policy tests/policies/run.yaml --now 2031-06-01 >/dev/null 2>&1
n_assets=$(sqlite3 "$S/catalog.db" "SELECT count(*) FROM assets")
n_grace=$(sqlite3 "$S/catalog.db" "SELECT count(*) FROM assets WHERE original_delete_after IS NOT NULL")
[ "$n_assets" -eq 5 ] && [ "$n_grace" -ge 1 ] && ok "source: $n_assets assets, $n_grace original(s) in their grace" ||
    notok "source home" "$n_assets assets, $n_grace in grace"
snap() { (cd "$S" && sha256sum catalog.db && find blobs -type f | sort | xargs sha256sum); }
snap >"$T/before"

# ---- killed mid-copy, then resumed
target "$T/dst" "$DB" dst
TP_FAULT_MIGRATE_KILL=4 "$TP" --home "$S" migrate --to "$T/dst/tierpress.yaml" --page-rows 3 \
    >"$T/kill.out" 2>&1
st=$?
[ $st -eq 137 ] && ok "migrate killed at its 4th page by the fault hook" || notok "kill" "exit $st"
state=$($PSQL "$base/$DB" -c "SELECT step, done, after <> '' FROM migrate_state")
[ "$state" = "0|0|t" ] && ok "the target's migrate_state records the unfinished copy ($state)" ||
    notok "migrate_state after the kill" "'$state'"
"$TP" --home "$S" migrate --to "$T/dst/tierpress.yaml" --page-rows 3 --json >"$T/m1.json" 2>"$T/m1.err"
st=$?
[ $st -eq 0 ] && [ "$(jget "$T/m1.json" resumed)" = true ] &&
    [ "$(jget "$T/m1.json" assets)" -eq "$n_assets" ] &&
    ok "migrate again resumes and finishes ($(jget "$T/m1.json" rows) more rows)" ||
    notok "resume" "exit $st: $(tail -2 "$T/m1.err") $(cat "$T/m1.json")"
"$TP" --home "$S" migrate --to "$T/dst/tierpress.yaml" --json >"$T/m2.json" 2>&1
[ "$(jget "$T/m2.json" already_done)" = true ] && [ "$(jget "$T/m2.json" rows)" -eq 0 ] &&
    [ "$(jget "$T/m2.json" blobs)" -eq 0 ] && ok "a third migrate copies nothing (already done, verified)" ||
    notok "idempotent" "$(cat "$T/m2.json")"
snap >"$T/after"
cmp -s "$T/before" "$T/after" && ok "the source catalog and blob files are untouched" ||
    notok "source changed" "$(diff "$T/before" "$T/after" | head -3)"

# ---- row by row: the target holds the source's rows
lite_q() { sqlite3 -separator '|' "$S/catalog.db" "$1"; }
pg_q() { $PSQL -F '|' "$base/$DB" -c "$1"; }
same() { # NAME SQLITE-QUERY PG-QUERY
    lite_q "$2" >"$T/l.txt"
    pg_q "$3" >"$T/p.txt"
    if [ -s "$T/l.txt" ] && cmp -s "$T/l.txt" "$T/p.txt"; then ok "$1 ($(wc -l <"$T/l.txt") rows)"
    else notok "$1" "$(diff "$T/l.txt" "$T/p.txt" | head -4 | tr '\n' ' ')"; fi
}
same "assets keep ids, pointers, tiers and grace dates" \
    "SELECT id, sha256, kind, format, width, height, bytes, coalesce(capture_time,''), upload_time, has_gps, orientation, current_blob, storage_class, coalesce(tier,''), coalesce(original_blob,''), coalesce(original_delete_after,'') FROM assets ORDER BY id" \
    "SELECT id, sha256, kind, format, width, height, bytes, coalesce(capture_time,''), to_char(upload_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), has_gps::int, orientation, current_blob, storage_class, coalesce(tier,''), coalesce(original_blob,''), coalesce(to_char(original_delete_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),'') FROM assets ORDER BY id"
same "blobs keep reference counts, classes and deletion dates" \
    "SELECT hash, bytes, storage_class, refcount, created, coalesce(delete_after,'') FROM blobs ORDER BY hash" \
    "SELECT hash, bytes, storage_class, refcount, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(delete_after AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),'') FROM blobs ORDER BY hash COLLATE \"C\""
same "renditions keep ids, blobs and SSIM" \
    "SELECT id, asset_id, name, blob, format, width, height, bytes, CASE WHEN ssim IS NULL THEN '' ELSE printf('%.6f', ssim) END, created FROM renditions ORDER BY id" \
    "SELECT id, asset_id, name, blob, format, width, height, bytes, coalesce(round(ssim::numeric, 6)::text,''), to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM renditions ORDER BY id"
same "the audit trail keeps ids, times and details" \
    "SELECT id, time, coalesce(asset_id,''), action, coalesce(detail,'') FROM audit ORDER BY id" \
    "SELECT id, to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(asset_id::text,''), action, coalesce(detail,'') FROM audit WHERE action != 'catalog.migrate' ORDER BY id"
same "access statistics and the access log" \
    "SELECT a.asset_id, a.last_access, a.count_30d, a.total, (SELECT group_concat(time, ',') FROM (SELECT time FROM access_log l WHERE l.asset_id = a.asset_id ORDER BY time)) FROM access a ORDER BY a.asset_id" \
    "SELECT a.asset_id, to_char(a.last_access AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), a.count_30d, a.total, (SELECT string_agg(extract(epoch FROM time)::bigint::text, ',' ORDER BY time) FROM access_log l WHERE l.asset_id = a.asset_id) FROM access a ORDER BY a.asset_id"
same "the job queue keeps ids, states, tokens, errors and the policy text" \
    "SELECT id, coalesce(asset_id,''), policy, tier, state, attempts, max_attempts, token, not_before, coalesce(claimed,''), created, coalesce(finished,''), error_permanent, coalesce(last_error,''), coalesce(blob,''), (SELECT hex(text) FROM policies p WHERE p.hash = j.policy) FROM jobs j ORDER BY id" \
    "SELECT id, coalesce(asset_id::text,''), policy, tier, state, attempts, max_attempts, token, extract(epoch FROM not_before)::bigint, coalesce(extract(epoch FROM claimed)::bigint::text,''), to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), coalesce(to_char(finished AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),''), error_permanent::int, coalesce(last_error,''), coalesce(blob,''), (SELECT upper(encode(text, 'hex')) FROM policies p WHERE p.hash = j.policy) FROM jobs j ORDER BY id"
same "the service's Idempotency-Key answers" \
    "SELECT account, key, sha256, coalesce(asset_id,''), coalesce(job_id,''), status, new_job, created_at FROM idempotency ORDER BY account, key" \
    "SELECT account, key, sha256, coalesce(asset_id::text,''), coalesce(job_id::text,''), status, new_job::int, extract(epoch FROM created_at)::bigint FROM idempotency ORDER BY account COLLATE \"C\", key COLLATE \"C\""

# ---- the migrated home works
D() { "$TP" --home "$T/dst" "$@"; }
check "fsck on the migrated home (PostgreSQL + S3) is clean" D fsck
ok_get=1
for id in $(sqlite3 "$S/catalog.db" "SELECT id FROM assets ORDER BY id"); do
    sha=$(sqlite3 "$S/catalog.db" "SELECT sha256 FROM assets WHERE id = $id")
    D get "$id" -o "$T/o.bin" >/dev/null 2>&1 && [ "$(sha256sum <"$T/o.bin" | cut -c1-64)" = "$sha" ] || ok_get=0
done
[ $ok_get = 1 ] && ok "every original is served byte for byte from the migrated home" || notok "get after migrate"
D run --policy tests/policies/run.yaml --now 2031-06-01 --json >"$T/run.json" 2>"$T/run.err"
[ "$(jget "$T/run.json" queued)" = 0 ] && [ "$(jget "$T/run.json" transcoded)" = 0 ] &&
    [ "$(jget "$T/run.json" labelled)" = 0 ] && ok "run on the migrated home does nothing" ||
    notok "run after migrate" "$(head -c 300 "$T/run.json") $(tail -2 "$T/run.err")"
cp "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" "$T/new.jpg"
D ingest "$T/new.jpg" --json >"$T/new.json" 2>&1
[ "$(jget "$T/new.json" asset)" = $((n_assets + 1)) ] &&
    ok "a new ingest gets the next id after the copied ones" || notok "ingest after migrate" "$(cat "$T/new.json")"

# ---- and back: PostgreSQL + S3 -> SQLite + files (the PostgreSQL export path)
mkdir -p "$T/back"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/back/tierpress.yaml"
"$TP" --home "$T/dst" migrate --to "$T/back/tierpress.yaml" --page-rows 3 --json >"$T/back.json" 2>"$T/back.err"
st=$?
D ls >"$T/ls1.txt" 2>&1
"$TP" --home "$T/back" ls >"$T/ls2.txt" 2>&1
[ $st -eq 0 ] && [ "$(jget "$T/back.json" assets)" -eq $((n_assets + 1)) ] && cmp -s "$T/ls1.txt" "$T/ls2.txt" &&
    "$TP" --home "$T/back" fsck >/dev/null 2>&1 &&
    ok "back from PostgreSQL + S3 into SQLite + files: same listing, fsck clean" ||
    notok "migrate back" "exit $st: $(cat "$T/back.err") $(diff "$T/ls1.txt" "$T/ls2.txt" | head -3)"
jobs_q="SELECT j.id, j.asset_id, j.policy, j.tier, j.state, j.attempts, j.token, j.created, coalesce(j.finished,''), hex(p.text) FROM jobs j JOIN policies p ON p.hash = j.policy ORDER BY j.id"
[ "$(sqlite3 "$S/catalog.db" "$jobs_q")" = "$(sqlite3 "$T/back/catalog.db" "$jobs_q")" ] &&
    [ -n "$(sqlite3 "$T/back/catalog.db" "$jobs_q")" ] &&
    ok "SQLite -> PostgreSQL -> SQLite: the same jobs and policy texts" ||
    notok "jobs round trip" "$(sqlite3 "$T/back/catalog.db" "$jobs_q" | head -3 | tr '\n' ' ')"

# ---- refusals: nothing changes
check_fails "--to a missing file is an error" "$TP" --home "$S" migrate --to "$T/nope.yaml"
"$TP" --home "$S" migrate --to "$T/nope.yaml" 2>&1 | grep -q "nope.yaml" &&
    ok "the error names the missing config" || notok "missing config message"
S2=$T/src2
"$TP" --home "$S2" ingest "$SAMPLES/photo-500x500-gray8.png" >/dev/null 2>&1
before=$(pg_q "SELECT count(*) FROM assets")
"$TP" --home "$S2" migrate --to "$T/dst/tierpress.yaml" >/dev/null 2>"$T/ne.err"
st=$?
[ $st -ne 0 ] && grep -q "not empty" "$T/ne.err" && [ "$(pg_q "SELECT count(*) FROM assets")" = "$before" ] &&
    ok "another home into a non-empty target is refused, nothing copied" ||
    notok "non-empty target" "exit $st: $(cat "$T/ne.err")"

# a corrupt source blob stops the copy, naming it; the target never gets it
cp -a "$S" "$T/bad"
victim=$(sqlite3 "$T/bad/catalog.db" "SELECT current_blob FROM assets WHERE id = 2")
f=$(find "$T/bad/blobs" -name "$victim")
chmod u+w "$f" && printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
target "$T/dst2" "$DB2" dst2
"$TP" --home "$T/bad" migrate --to "$T/dst2/tierpress.yaml" >/dev/null 2>"$T/bad.err"
st=$?
[ $st -ne 0 ] && grep -q "$victim" "$T/bad.err" && grep -qi corrupt "$T/bad.err" &&
    ok "a corrupt source blob stops the copy with an error naming it" ||
    notok "corrupt source" "exit $st: $(cat "$T/bad.err")"
[ "$($PSQL "$base/$DB2" -c "SELECT count(*) FROM blobs WHERE hash = '$victim'")" = 0 ] &&
    ! TIERPRESS_STORE= "$TP" --home "$T/dst2" get 2 -o "$T/x.bin" >/dev/null 2>&1 &&
    ok "the corrupt blob is neither catalogued nor stored in the target" || notok "corrupt blob reached the target"
