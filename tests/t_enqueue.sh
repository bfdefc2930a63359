# Ingest jobs: an upload front end puts an original into the store (or lets
# `tierpress enqueue --ingest FILE` do it) and queues "ingest this blob";
# `worker` and `run` claim those jobs and catalog the blob with its proxies,
# as `ingest` does.  Duplicates are not queued twice, a blob missing from
# the store is refused, an undecodable upload fails permanently.  On SQLite,
# and on PostgreSQL when TP_TEST_PG is set.
. tests/lib.sh

PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
DB=tp_t_enqueue_$$
WPID=""
cleanup() {
    [ -n "$WPID" ] && kill "$WPID" 2>/dev/null
    [ -n "${TP_TEST_PG:-}" ] && $PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
JPG=$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg
PNG=$SAMPLES/photo-500x500-gray8.png
GIF=$SAMPLES/frame-150x103-interlaced.gif
BAD=${TP_ROOT:-.}/tests/media/broken/empty-0-bytes.webp
cp "${TP_ROOT:-.}/tests/media/broken/cve-2017-2862.jpg" "$T/bad.jpg" 2>/dev/null || printf 'not an image at all' >"$T/bad.jpg"
printf 'definitely not an image, just text\n' >"$T/bad.bin"
sha() { sha256sum <"$1" | cut -c1-64; }
# njobs H STATE: jobs of the ingest policy in STATE
njobs() { "$TP" --home "$1" jobs --state "$2" --json 2>/dev/null | grep -c '"policy_sha256":"ingest"'; }

scenario() {
    be=$1 H=$2
    "$TP" --home "$H" enqueue --ingest "$JPG" --json >"$T/e1.json" 2>"$T/e1.err"
    [ "$(jget "$T/e1.json" queued)" = true ] && [ "$(jget "$T/e1.json" stored)" = true ] &&
        [ "$(jget "$T/e1.json" blob)" = "$(sha "$JPG")" ] &&
        ok "$be: enqueue --ingest FILE stores the file and queues a job" ||
        notok "$be: enqueue FILE" "$(cat "$T/e1.json" "$T/e1.err")"
    "$TP" --home "$H" enqueue --ingest "$(sha "$JPG")" --json >"$T/e2.json" 2>&1
    [ "$(jget "$T/e2.json" queued)" = false ] && ok "$be: the same blob again is not queued twice" ||
        notok "$be: duplicate enqueue" "$(cat "$T/e2.json")"
    # the front end's own write into the store (the fs layout: ab/cd/<sha256>)
    h=$(sha "$PNG")
    d=$H/blobs/$(echo "$h" | cut -c1-2)/$(echo "$h" | cut -c3-4)
    mkdir -p "$d" && cp "$PNG" "$d/$h" && chmod 0400 "$d/$h"
    check "$be: enqueue --ingest SHA256 of a blob the front end stored" \
        "$TP" --home "$H" enqueue --ingest "$h"
    missing=$(printf 'never uploaded' | sha256sum | cut -c1-64)
    "$TP" --home "$H" enqueue --ingest "$missing" >/dev/null 2>"$T/miss.err"
    st=$?
    [ $st -ne 0 ] && grep -q "$missing" "$T/miss.err" && grep -q "not in the store" "$T/miss.err" &&
        ok "$be: a sha256 that is not in the store is refused, naming it" ||
        notok "$be: missing blob" "exit $st: $(cat "$T/miss.err")"
    check "$be: enqueue --ingest of an undecodable upload is queued" \
        "$TP" --home "$H" enqueue --ingest "$T/bad.bin"
    q=$(njobs "$H" queued)
    [ "$q" -eq 3 ] && ok "$be: 3 ingest jobs queued" || notok "$be: queued ingest jobs" "$q"

    # a worker claims and runs them, then stops cleanly on SIGTERM
    "$TP" --home "$H" worker --jobs 2 >"$T/w.out" 2>"$T/w.err" &
    WPID=$!
    i=0
    while [ $((  $(njobs "$H" queued) + $(njobs "$H" running) )) -gt 0 ] && [ $i -lt 600 ]; do
        sleep 0.2; i=$((i + 1))
    done
    kill -TERM "$WPID"
    wait "$WPID"
    st=$?
    WPID=""
    [ $st -eq 143 ] && ok "$be: worker ran the ingest jobs and stopped on SIGTERM" ||
        notok "$be: worker" "exit $st: $(tail -3 "$T/w.err")"
    grep -q "ingested blob" "$T/w.err" && ok "$be: worker logs a line per ingest job" ||
        notok "$be: worker log" "$(tail -3 "$T/w.err")"
    "$TP" --home "$H" ls --json >"$T/ls.json" 2>/dev/null
    n=$(wc -l <"$T/ls.json")
    nr=$(grep -o '"name":"\(thumb\|preview\)"' "$T/ls.json" | wc -l)
    [ "$n" -eq 2 ] && [ "$nr" -eq 4 ] && grep -q "$(sha "$JPG")" "$T/ls.json" && grep -q "$h" "$T/ls.json" &&
        ok "$be: both uploads are catalogued with their thumb and preview" ||
        notok "$be: assets after the worker" "$n assets, $nr proxies"
    # the done job's result (the jobs row): the asset it made, as JSON
    if [ "$be" = sqlite ]; then
        res=$(sqlite3 "$H/catalog.db" "SELECT result FROM jobs WHERE blob = '$(sha "$JPG")'")
    else
        res=$($PSQL "$TIERPRESS_CATALOG" -c "SELECT result FROM jobs WHERE blob = '$(sha "$JPG")'")
    fi
    rj=$(printf '%s' "$res" | "$PY" -c 'import json,sys
r = json.load(sys.stdin); a = [json.loads(l) for l in open(sys.argv[1])]; a = [x for x in a if x["sha256"] == sys.argv[2]][0]
print(r["asset"] == a["id"], r["blob"] == sys.argv[2], r["duplicate"], r["proxies"], a["file_name"])' "$T/ls.json" "$(sha "$JPG")" 2>&1)
    [ "$rj" = "True True False 2 $(basename "$JPG")" ] &&
        ok "$be: a done ingest job's result names its asset (JSON); enqueue FILE gave the asset the file's name" ||
        notok "$be: ingest job result" "$rj: $res"
    d=$(njobs "$H" done)
    f=$(njobs "$H" failed)
    [ "$d" -eq 2 ] && [ "$f" -eq 1 ] && ok "$be: 2 ingest jobs done, the undecodable one failed" ||
        notok "$be: job states" "done $d failed $f"
    "$TP" --home "$H" jobs --state failed >"$T/failed.txt" 2>&1
    grep -qi "permanent" "$T/failed.txt" && ok "$be: the failure is permanent, with its error" ||
        notok "$be: failed job" "$(cat "$T/failed.txt")"
    check "$be: fsck clean after the ingest jobs" "$TP" --home "$H" fsck

    # gc keeps a waiting upload's blob however old (it has no catalog row
    # yet: an orphan by the store's listing), then run drains it
    "$TP" --home "$H" enqueue --ingest "$GIF" >/dev/null 2>&1
    "$TP" --home "$H" gc --orphan-grace 0 --json >"$T/gc.json" 2>"$T/gc.err"
    [ "$(jget "$T/gc.json" uploads_waiting)" = 1 ] &&
        ok "$be: gc keeps the blob of an upload waiting to be ingested (uploads_waiting 1)" ||
        notok "$be: gc and a waiting upload" "$(cat "$T/gc.json" "$T/gc.err")"
    # nor the blob of the failed (undecodable) upload: `jobs retry` needs it
    # (before, gc deleted it after the orphan grace); enqueue refuses a blob
    # the store does not have, so this fails if it is gone
    [ "$(jget "$T/gc.json" uploads_failed)" = 1 ] &&
        "$TP" --home "$H" enqueue --ingest "$(sha "$T/bad.bin")" --owner dave >/dev/null 2>"$T/gcbad.err" &&
        ok "$be: gc keeps the blob of a failed ingest job (uploads_failed 1, still in the store)" ||
        notok "$be: gc and a failed upload" "$(cat "$T/gc.json" "$T/gc.err" "$T/gcbad.err")"
    "$TP" --home "$H" run --policy tests/policies/run.yaml --now 2020-01-01 >/dev/null 2>"$T/run.err"
    [ "$("$TP" --home "$H" ls --json 2>/dev/null | wc -l)" -eq 3 ] && [ "$(njobs "$H" queued)" -eq 0 ] &&
        ok "$be: run also works the ingest jobs waiting in the queue" ||
        notok "$be: run and ingest jobs" "$(tail -3 "$T/run.err")"

    # another owner's job for the same blob: its own job and its own asset
    "$TP" --home "$H" enqueue --ingest "$(sha "$JPG")" --owner carol --json >"$T/e3.json" 2>&1
    "$TP" --home "$H" run --policy tests/policies/run.yaml --now 2020-01-01 >/dev/null 2>"$T/run3.err"
    "$TP" --home "$H" ls --owner carol --json >"$T/carol.json" 2>/dev/null
    [ "$(jget "$T/e3.json" queued)" = true ] && [ "$(jget "$T/e3.json" job)" != "$(jget "$T/e1.json" job)" ] &&
        [ "$(wc -l <"$T/carol.json")" -eq 1 ] && [ "$(jget "$T/carol.json" sha256)" = "$(sha "$JPG")" ] &&
        [ "$(jget "$T/carol.json" owner)" = carol ] && [ "$("$TP" --home "$H" ls --json 2>/dev/null | wc -l)" -eq 4 ] &&
        ok "$be: enqueue --owner: the same blob for another owner is a job of its own, catalogued for that owner" ||
        notok "$be: enqueue --owner" "$(cat "$T/e3.json" "$T/carol.json") $(tail -2 "$T/run3.err")"
}

# worker_policy H FILE: a worker given a policy also takes ingest jobs
worker_policy() {
    "$TP" --home "$1" enqueue --ingest "$2" >/dev/null 2>&1
    "$TP" --home "$1" worker --policy tests/policies/run.yaml >/dev/null 2>"$T/wp.err" &
    WPID=$!
    i=0
    while [ "$(njobs "$1" queued)" -gt 0 ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
    while [ "$(njobs "$1" running)" -gt 0 ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i + 1)); done
    kill -TERM "$WPID"
    wait "$WPID"
    WPID=""
    [ "$("$TP" --home "$1" ls --json 2>/dev/null | grep -c "$(sha "$2")")" -eq 1 ] &&
        ok "$be: a worker given --policy also ingests uploads" || notok "$be: worker --policy and ingest" "$(tail -2 "$T/wp.err")"
}

scenario sqlite "$T/lite"
worker_policy "$T/lite" "$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg"
if [ -n "${TP_TEST_PG:-}" ]; then
    if $PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null; then
        TIERPRESS_CATALOG=${TP_TEST_PG%/*}/$DB
        export TIERPRESS_CATALOG
        scenario postgresql "$T/pg"
        worker_policy "$T/pg" "$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg"
        unset TIERPRESS_CATALOG
    else
        notok "create database $DB"
    fi
else
    skip "postgresql ingest jobs" "TP_TEST_PG is not set"
fi
