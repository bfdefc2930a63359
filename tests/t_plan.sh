# The plan pages through the catalog: one short transaction per page, so a
# second runner never waits for the first one's plan.  Runner A's plan is
# paused by a fault hook (TP_FAULT_PLAN_PAUSE, deterministic: it waits for a
# file) after its first page; runner B then plans, claims and works every
# job to the end while A is still paused; A, released, finds nothing left.
# On SQLite, and on PostgreSQL when TP_TEST_PG is set.
. tests/lib.sh

P=tests/policies/run.yaml
NOW=2031-06-01
FILES="photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-500x500-gray8.png frame-150x103-interlaced.gif"
# shellcheck disable=SC2086
stage "$T/in" $FILES
PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
DB=tp_t_plan_$$
APID=""
cleanup() {
    [ -n "$APID" ] && kill "$APID" 2>/dev/null
    [ -n "${TP_TEST_PG:-}" ] && $PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT

# wait_for FILE: the paused marker (a bound against a hang, not a timing assertion)
wait_for() {
    i=0
    while [ ! -e "$1" ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e "$1" ]
}

# scenario NAME HOME: runs the scenario on HOME (TIERPRESS_CATALOG chooses the backend)
scenario() {
    be=$1 H=$2
    "$TP" --home "$H" ingest "$T/in" >/dev/null 2>&1
    n=$("$TP" --home "$H" ls --json 2>/dev/null | wc -l)
    [ "$n" -eq 5 ] || { notok "$be: ingest" "$n assets"; return; }
    rm -f "$T/go.$be" "$T/go.$be.paused"
    TP_FAULT_PLAN_PAGE_ROWS=1 TP_FAULT_PLAN_PAUSE="1:$T/go.$be" \
        "$TP" --home "$H" run --policy "$P" --now "$NOW" --json >"$T/a.$be.json" 2>"$T/a.$be.err" &
    APID=$!
    if ! wait_for "$T/go.$be.paused"; then
        notok "$be: runner A's plan pauses after its first page" "$(tail -2 "$T/a.$be.err")"
        return
    fi
    ok "$be: runner A's plan is paused after its first page"
    timeout 300 "$TP" --home "$H" run --policy "$P" --now "$NOW" --json >"$T/b.$be.json" 2>"$T/b.$be.err"
    st=$?
    if [ $st -eq 0 ] && kill -0 "$APID" 2>/dev/null && [ ! -e "$T/go.$be" ]; then
        ok "$be: runner B plans, claims and finishes while A's plan is paused"
    else
        notok "$be: runner B while A is paused" "exit $st: $(tail -2 "$T/b.$be.err")"
    fi
    bq=$(jget "$T/b.$be.json" queued)
    bt=$(jget "$T/b.$be.json" transcoded)
    bk=$(jget "$T/b.$be.json" kept)
    [ "$bq" -ge 2 ] && [ $((bt + bk)) -eq "$bq" ] && ok "$be: B worked the $bq jobs it queued" ||
        notok "$be: B's jobs" "queued $bq transcoded $bt kept $bk"
    touch "$T/go.$be"
    wait "$APID"
    st=$?
    APID=""
    at=$(jget "$T/a.$be.json" transcoded)
    aa=$(jget "$T/a.$be.json" assets)
    [ $st -eq 0 ] && [ "$aa" -eq 5 ] && [ "$at" -eq 0 ] &&
        ok "$be: A resumes, plans every asset and finds nothing left to do (no job twice)" ||
        notok "$be: runner A after release" "exit $st assets $aa transcoded $at: $(tail -2 "$T/a.$be.err")"
    "$TP" --home "$H" jobs --state done --json >"$T/jobs.$be" 2>/dev/null
    dup=$("$PY" -c 'import json,sys,collections
c=collections.Counter(json.loads(l)["asset"] for l in open(sys.argv[1]) if l.strip().startswith("{") and "asset" in json.loads(l))
print(sum(1 for v in c.values() if v > 1))' "$T/jobs.$be" 2>/dev/null)
    [ "${dup:-x}" = 0 ] && ok "$be: one job per asset in the queue" || notok "$be: duplicate jobs" "$dup"
    check "$be: fsck clean after both runners" "$TP" --home "$H" fsck
}

scenario sqlite "$T/lite"

if [ -n "${TP_TEST_PG:-}" ]; then
    if $PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null; then
        TIERPRESS_CATALOG=${TP_TEST_PG%/*}/$DB
        export TIERPRESS_CATALOG
        scenario postgresql "$T/pg"
        unset TIERPRESS_CATALOG
    else
        notok "create database $DB"
    fi
else
    skip "postgresql plan scenario" "TP_TEST_PG is not set"
fi
