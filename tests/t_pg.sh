# The PostgreSQL catalog end to end: a home whose catalog is on the test
# server ($TP_TEST_PG, started by scripts/test) ingests, runs a policy,
# serves, collects garbage and checks itself exactly as the SQLite home
# does; schema migrations; errors naming the server, never the password.
. tests/lib.sh

if [ -z "${TP_TEST_PG:-}" ]; then
    skip "postgresql catalog" "TP_TEST_PG is not set (scripts/test starts a server)"
    exit 0
fi
PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
DB=tp_t_pg_$$
base=${TP_TEST_PG%/*}
URL=$base/$DB
$PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null || { notok "create database $DB"; exit 0; }
trap '$PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; rm -rf "$T"' EXIT

P=tests/policies/run.yaml
NOW=2031-06-01
FILES="photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-500x500-gray8.png frame-150x103-interlaced.gif"
# shellcheck disable=SC2086
stage "$T/in" $FILES
n_in=$(ls "$T/in" | wc -l)

pg() { TIERPRESS_CATALOG=$URL "$TP" --home "$T/pg" "$@"; }
lite() { "$TP" --home "$T/lite" "$@"; }

check "catalog migrate creates the schema" pg catalog migrate
SV=$($PSQL "$URL" -c "SELECT version FROM schema_version")
case "$SV" in [1-9]|[1-9][0-9]) ok "schema_version is recorded ($SV)" ;; *) notok "schema_version" "'$SV'" ;; esac
check "catalog migrate again is a no-op" pg catalog migrate

pg ingest "$T/in" >/dev/null 2>&1
lite ingest "$T/in" >/dev/null 2>&1
[ "$(pg ls --json | wc -l)" -eq "$n_in" ] && ok "ingest: $n_in assets in PostgreSQL" ||
    notok "ingest" "$(pg ls 2>&1 | tail -2)"
pg ingest "$T/in" --json >"$T/again.json" 2>/dev/null
[ "$(pg ls --json | wc -l)" -eq "$n_in" ] && grep -q duplicate "$T/again.json" &&
    ok "ingest again: duplicates reported, nothing stored twice" || notok "second ingest"
[ "$($PSQL "$URL" -c "SELECT count(*) FROM audit WHERE action = 'asset.insert'")" -eq "$n_in" ] &&
    ok "one audit row per inserted asset" || notok "audit rows"

pg run --policy $P --now $NOW --json >"$T/pg.json" 2>"$T/pg.err"
st=$?
[ $st -eq 0 ] && ok "run on PostgreSQL exits 0" || notok "run exit $st" "$(tail -3 "$T/pg.err")"
lite run --policy $P --now $NOW --json >"$T/lite.json" 2>/dev/null
"$PY" - "$T/pg.json" "$T/lite.json" <<'PYEOF' && ok "run: the same tiers, jobs and bytes as on SQLite" || notok "run differs from SQLite" "$(cat "$T/pg.json" "$T/lite.json")"
import json, sys
a, b = (json.loads(open(f).readline()) for f in sys.argv[1:3])
for d in (a, b):
    for k in list(d):
        if "second" in k or "time" in k or k in ("elapsed", "rate"):
            del d[k]
sys.exit(0 if a == b and a.get("transcoded", 0) > 0 else 1)
PYEOF
check "fsck clean after the run" pg fsck
# the catalog's blob rows record each moved asset's storage class
[ "$($PSQL "$URL" -c "SELECT count(*) FROM assets a JOIN blobs b ON b.hash = a.current_blob
     WHERE a.tier IS NOT NULL AND b.storage_class <> a.storage_class")" = 0 ] &&
    [ "$($PSQL "$URL" -c "SELECT count(*) FROM blobs WHERE storage_class <> 'STANDARD'")" -ge 1 ] &&
    ok "blob rows record the tiers' storage classes" ||
    notok "blob classes" "$($PSQL "$URL" -c "SELECT a.tier, a.storage_class, b.storage_class FROM assets a JOIN blobs b ON b.hash = a.current_blob")"
for id in $(pg ls --json | "$PY" -c 'import json,sys; [print(json.loads(l)["id"]) for l in sys.stdin]'); do
    sha=$(pg ls --json | "$PY" -c "import json,sys; [print(d['sha256']) for d in map(json.loads, sys.stdin) if d['id'] == $id]")
    pg get "$id" -o "$T/o.bin" >/dev/null 2>&1 && [ "$(sha256sum <"$T/o.bin" | cut -c1-64)" = "$sha" ] ||
        { notok "get $id: the original byte for byte"; bad=1; }
done
[ -z "${bad:-}" ] && ok "every original served byte for byte"
pg run --policy $P --now $NOW --json >"$T/again.json" 2>/dev/null
[ "$(jget "$T/again.json" transcoded)" = 0 ] && ok "a second run does nothing" ||
    notok "second run" "$(cat "$T/again.json")"
check "gc after the grace period" pg gc --now 2040-01-01
check "fsck clean after gc" pg fsck
[ "$($PSQL "$URL" -c "SELECT count(*) FROM blobs WHERE refcount < 0")" = 0 ] &&
    ok "no negative reference count" || notok "reference counts"

# a schema newer than this tierpress: refused, naming the versions and the server
$PSQL "$URL" -c "UPDATE schema_version SET version = 99" >/dev/null
out=$(pg ls 2>&1)
st=$?
[ $st -ne 0 ] && echo "$out" | grep -q "schema version 99" && echo "$out" | grep -q "127.0.0.1" &&
    ok "a newer schema is refused" || notok "newer schema" "$out"
$PSQL "$URL" -c "UPDATE schema_version SET version = $SV" >/dev/null

# errors: one line naming host:port/db, never the password; non-zero exit
out=$(TIERPRESS_CATALOG=postgresql://postgres:s3cretpw@127.0.0.1:1/$DB "$TP" --home "$T/x" ls 2>&1)
st=$?
[ $st -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "127.0.0.1:1/$DB" &&
    ! echo "$out" | grep -q s3cretpw && ok "unreachable server: one line, no password" ||
    notok "unreachable server" "$out"
out=$(TIERPRESS_CATALOG=$base/${DB}_missing "$TP" --home "$T/x" ls 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "does not exist" && ok "missing database named" ||
    notok "missing database" "$out"
