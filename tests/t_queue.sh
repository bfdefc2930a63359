# The job queue: fencing of a worker whose lease was taken over, temporary
# failures retried on a later run with backoff, permanent ones not, attempts
# capped (dead) and `jobs retry`, a clean stop on SIGTERM/SIGINT, `worker`,
# `run --enqueue-only`, and the migration of an older home's queue.
# Deterministic: fault hooks (TP_FAULT_*) and an injected queue clock
# (TP_FAULT_CLOCK_SKEW), no sleep racing a timeout; the only waits are for
# an event (a file, a row) with a generous bound.
. tests/lib.sh

P=tests/policies/run.yaml
NOW=2031-06-01
FILES="photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-500x500-gray8.png frame-150x103-interlaced.gif"
# shellcheck disable=SC2086
stage "$T/in" $FILES
"$TP" --home "$T/base" ingest "$T/in" >/dev/null 2>&1
[ "$("$TP" --home "$T/base" ls --json | wc -l)" -eq 5 ] && ok "fixture: 5 assets ingested" || notok "fixture ingest"

q() { sqlite3 "$1/catalog.db" "$2"; }
state() {
    q "$1" "SELECT a.sha256, coalesce(a.tier,'-'), a.storage_class, a.current_blob,
        coalesce(a.original_blob,'-'), coalesce(a.original_delete_after,'-') FROM assets a ORDER BY a.sha256"
}
# wait_for DESC CMD...: until CMD succeeds (at most 120 s: an event, not a race)
wait_for() {
    wf_desc=$1
    shift
    wf_i=0
    until "$@" >/dev/null 2>&1; do
        wf_i=$((wf_i + 1))
        [ $wf_i -gt 1200 ] && { echo "# gave up waiting for $wf_desc"; return 1; }
        sleep 0.1
    done
}
# is SQL "$2" on home "$1" equal to "$3"?
is() { [ "$(q "$1" "$2")" = "$3" ]; }
jpeg_id() { q "$1" "SELECT id FROM assets WHERE format = 'jpeg' ORDER BY id LIMIT 1"; }

# the reference: one uninterrupted run
cp -r "$T/base" "$T/ref"
"$TP" --home "$T/ref" run --policy $P --now $NOW --jobs 1 --json >"$T/ref.json" 2>"$T/ref.err" ||
    notok "reference run" "$(tail -2 "$T/ref.err")"
REF=$(state "$T/ref")
NJOBS=$(q "$T/ref" "SELECT count(*) FROM jobs")
[ "$(jget "$T/ref.json" time_limit_s)" = 600 ] && [ "$(jget "$T/ref.json" max_attempts)" = 5 ] &&
    [ "$(jget "$T/ref.json" failed)" = 0 ] && [ "$NJOBS" -ge 3 ] &&
    ok "run --json shows the time limit and the attempts cap ($NJOBS jobs)" || notok "reference summary" "$(cat "$T/ref.json")"

# --- run --enqueue-only, then a worker until SIGTERM ----------------------
cp -r "$T/base" "$T/w"
"$TP" --home "$T/w" run --policy $P --now $NOW --enqueue-only >"$T/enq.out" 2>&1
[ "$(q "$T/w" "SELECT count(*) FROM jobs WHERE state = 'queued'")" = "$NJOBS" ] &&
    [ "$(q "$T/w" "SELECT count(*) FROM assets WHERE current_blob != original_blob")" = 0 ] &&
    [ "$(q "$T/w" "SELECT count(*) FROM policies")" = 1 ] &&
    ok "run --enqueue-only queues the jobs (and records the policy text), transcodes nothing" ||
    notok "enqueue-only" "$(cat "$T/enq.out")"
"$TP" --home "$T/w" jobs --json >"$T/jobs.json"
[ "$(wc -l <"$T/jobs.json")" = "$NJOBS" ] && [ "$(jget "$T/jobs.json" state)" = queued ] &&
    [ "$(jget "$T/jobs.json" max_attempts)" = 5 ] &&
    ok "jobs --json lists the queued jobs with attempts" || notok "jobs --json" "$(head -2 "$T/jobs.json")"
# a worker with no --policy takes the jobs of any policy recorded in the queue
"$TP" --home "$T/w" worker --jobs 2 --now $NOW >"$T/worker.out" 2>"$T/worker.err" &
wpid=$!
wait_for "the worker to finish the queue" \
    is "$T/w" "SELECT count(*) FROM jobs WHERE state IN ('done', 'kept')" "$NJOBS"
kill -TERM $wpid
wait $wpid
st=$?
[ $st = 143 ] && [ "$(state "$T/w")" = "$REF" ] && grep -q "^transcoded" "$T/worker.out" &&
    grep -q "stopped by SIGTERM" "$T/worker.out" &&
    ok "worker: does every job (state equals a run), then SIGTERM: exit 143 with its summary" ||
    notok "worker" "status $st; $(tail -3 "$T/worker.err") $(cat "$T/worker.out")"
[ "$(grep -c "^tierpress: info: job [0-9]* (asset [0-9]*): tier " "$T/worker.err")" = "$NJOBS" ] &&
    ok "worker logs one line per job" || notok "worker log" "$(cat "$T/worker.err")"
# idle worker, SIGINT: exit 130
"$TP" --home "$T/w" worker >"$T/w2.out" 2>&1 &
wpid=$!
wait_for "the idle worker to start" grep -q "worker .*thread" "$T/w2.out"
kill -INT $wpid
wait $wpid
[ $? = 130 ] && ok "idle worker: SIGINT ends it with exit 130" || notok "worker SIGINT" "$(cat "$T/w2.out")"

# --- fencing: a paused worker whose lease was taken over cannot swap -------
cp -r "$T/base" "$T/f"
TP_FAULT_PAUSE_BEFORE_SWAP="$T/go" "$TP" --home "$T/f" run --policy $P --now $NOW --jobs 1 --json \
    >"$T/a.json" 2>"$T/a.err" &
apid=$!
wait_for "worker A to reach the swap" test -e "$T/go.reached"
held=$(q "$T/f" "SELECT id FROM jobs WHERE state = 'running'")
# B's clock is an hour ahead: A's lease has ended for B, which takes the job over
TP_FAULT_CLOCK_SKEW=3600 "$TP" --home "$T/f" run --policy $P --now $NOW --jobs 1 --json >"$T/b.json" 2>"$T/b.err"
b_st=$?
tok=$(q "$T/f" "SELECT state || ' ' || token || ' ' || attempts FROM jobs WHERE id = $held")
touch "$T/go"
wait $apid
a_st=$?
asset=$(q "$T/f" "SELECT asset_id FROM jobs WHERE id = $held")
swaps=$(q "$T/f" "SELECT count(*) FROM audit WHERE action = 'asset.swap' AND asset_id = $asset")
[ $b_st = 0 ] && [ "$tok" = "done 2 2" ] && [ "$(jget "$T/a.json" lost)" = 1 ] && [ "$swaps" = 1 ] &&
    grep -q "no longer ours" "$T/a.err" && [ "$(state "$T/f")" = "$REF" ] &&
    ok "fencing: the takeover gets token 2 and swaps; the paused worker's late finish/swap is refused (one swap)" ||
    notok "fencing" "B $b_st, job $held: '$tok', A $a_st lost $(jget "$T/a.json" lost), swaps $swaps; $(grep -i "ours\|lease" "$T/a.err" | head -2)"
check "fsck clean after the takeover" "$TP" --home "$T/f" fsck

# --- a lease that ran out with no takeover: retried, not failed ------------
# (the chaos of t_fleet found it: a worker slowed past its lease, no one had
# taken the job yet, its swap was refused, and the job was parked failed)
cp -r "$T/base" "$T/l"
TP_FAULT_PAUSE_BEFORE_SWAP="$T/lgo" "$TP" --home "$T/l" run --policy $P --now $NOW --jobs 1 \
    --lease 2 --retry-backoff 1 --json >"$T/l.json" 2>"$T/l.err" &
lpid=$!
wait_for "the worker to reach the swap" test -e "$T/lgo.reached"
kill -STOP $lpid
ljob=$(q "$T/l" "SELECT id FROM jobs WHERE state = 'running'")
ran_out() { [ "$(q "$T/l" "SELECT lease_until < strftime('%s', 'now') FROM jobs WHERE id = ${ljob:-0}")" = 1 ]; }
wait_for "its lease to run out" ran_out
touch "$T/lgo"
kill -CONT $lpid
wait $lpid
l_st=$?
lswaps=$(q "$T/l" "SELECT count(*) FROM audit WHERE action = 'asset.swap' AND asset_id = (SELECT asset_id FROM jobs WHERE id = ${ljob:-0})")
[ -n "$ljob" ] && [ "$(q "$T/l" "SELECT state || ' ' || token FROM jobs WHERE id = $ljob")" = "done 2" ] &&
    grep -q "our lease (token 1) ran out at" "$T/l.err" && [ "$lswaps" = 1 ] && [ "$(state "$T/l")" = "$REF" ] &&
    [ $l_st = 0 ] &&
    ok "a lease that ran out with no takeover: the late swap is refused, the job retried (temporary) and done once; exit 0 (nothing left in error)" ||
    notok "lease ran out" "exit $l_st, job '$ljob': $(q "$T/l" "SELECT state || ' ' || token || ' ' || coalesce(last_error, '') FROM jobs WHERE id = ${ljob:-0}"); swaps $lswaps; $(grep -i "lease\|failed" "$T/l.err" | head -3)"
check "fsck clean after the lapsed lease" "$TP" --home "$T/l" fsck

# --- a temporary failure (ENOSPC once) is retried by a later run ------------
cp -r "$T/base" "$T/t"
TP_FAULT_ENOSPC_ONCE="$T/enospc" "$TP" --home "$T/t" run --policy $P --now $NOW --jobs 1 --json \
    >"$T/t1.json" 2>"$T/t1.err"
st=$?
failed_job=$(q "$T/t" "SELECT id FROM jobs WHERE last_error IS NOT NULL")
"$PY" - "$T/t1.json" <<'PYEOF' && [ $st = 1 ] && ok "ENOSPC: counted and listed as temporary, queued for a retry, exit 1" ||
import json, sys
d = json.loads(open(sys.argv[1]).readline())
f = d["failures"]
assert d["failed"] == 1 and d["retried"] == 1 and d["failed_permanent"] == 0 and d["dead"] == 0, d
assert len(f) == 1 and f[0]["class"] == "temporary" and f[0]["state"] == "queued", f
assert "No space left" in f[0]["error"] and f[0]["attempts"] == 1, f
PYEOF
    notok "ENOSPC summary" "status $st $(cat "$T/t1.json")"
"$TP" --home "$T/t" run --policy $P --now $NOW --jobs 1 >"$T/t2.out" 2>&1
grep -q "1 to retry later\|temporary, attempt 1 of 5: .*No space left" "$T/t2.out" &&
    [ "$(q "$T/t" "SELECT state FROM jobs WHERE id = $failed_job")" = queued ] &&
    ok "the backoff holds: a run at once leaves it queued, and the text summary lists it" ||
    notok "backoff" "$(cat "$T/t2.out")"
"$TP" --home "$T/t" jobs >"$T/t.jobs"
grep -q "retry in [0-9]*s temporary error: .*No space left" "$T/t.jobs" &&
    ok "jobs shows the retry time and the temporary error" || notok "jobs text" "$(cat "$T/t.jobs")"
TP_FAULT_CLOCK_SKEW=7200 "$TP" --home "$T/t" run --policy $P --now $NOW --json >"$T/t3.json" 2>"$T/t3.err"
[ "$(jget "$T/t3.json" transcoded)" = 1 ] && [ "$(state "$T/t")" = "$REF" ] &&
    [ "$(q "$T/t" "SELECT state || ' ' || attempts FROM jobs WHERE id = $failed_job")" = "done 2" ] &&
    ok "after the backoff the next run retries it (attempt 2) and reaches the reference state" ||
    notok "temporary retry" "$(cat "$T/t3.json")"

# --- a permanent failure is not retried; jobs retry requeues it -------------
cp -r "$T/base" "$T/p"
TP_CRASH_AT=encode_child "$TP" --home "$T/p" run --policy $P --now $NOW --json >"$T/p1.json" 2>"$T/p1.err"
nperm=$(jget "$T/p1.json" failed_permanent)
TP_FAULT_CLOCK_SKEW=99999 "$TP" --home "$T/p" run --policy $P --now $NOW --json >"$T/p2.json" 2>/dev/null
[ "$nperm" -ge 3 ] && [ "$(jget "$T/p1.json" retried)" = 0 ] && [ "$(jget "$T/p2.json" transcoded)" = 0 ] &&
    [ "$(q "$T/p" "SELECT count(*) FROM jobs WHERE state = 'failed' AND error_permanent = 1")" = "$nperm" ] &&
    ok "a codec crash is permanent: $nperm failed, not retried by a later run" ||
    notok "permanent" "$(cat "$T/p1.json") / $(cat "$T/p2.json")"
"$TP" --home "$T/p" jobs --state failed --json >"$T/pf.json"
[ "$(jget "$T/pf.json" error_class)" = permanent ] && ok "jobs --state failed: class permanent" ||
    notok "jobs --state failed" "$(head -1 "$T/pf.json")"
"$TP" --home "$T/p" jobs retry --policy $P >"$T/pr.out" &&
    "$TP" --home "$T/p" run --policy $P --now $NOW >/dev/null 2>&1
[ "$(state "$T/p")" = "$REF" ] && grep -q "requeued $nperm job" "$T/pr.out" &&
    ok "jobs retry --policy requeues them; the next run finishes the work" || notok "retry permanent" "$(cat "$T/pr.out")"

# --- attempts cap: a job over its time limit every time ends dead ------------
cp -r "$T/base" "$T/d"
hang=$(jpeg_id "$T/d")
TP_FAULT_HANG_ASSET=$hang "$TP" --home "$T/d" run --policy $P --now $NOW --max-attempts 2 --json \
    >"$T/d1.json" 2>"$T/d1.err"
TP_FAULT_HANG_ASSET=$hang TP_FAULT_CLOCK_SKEW=7200 "$TP" --home "$T/d" run --policy $P --now $NOW --json \
    >"$T/d2.json" 2>"$T/d2.err"
TP_FAULT_HANG_ASSET=$hang TP_FAULT_CLOCK_SKEW=999999 "$TP" --home "$T/d" run --policy $P --now $NOW --json \
    >"$T/d3.json" 2>"$T/d3.err"
"$TP" --home "$T/d" jobs --state dead --json >"$T/dead.json"
[ "$(jget "$T/d1.json" retried)" = 1 ] && [ "$(jget "$T/d2.json" dead)" = 1 ] &&
    [ "$(jget "$T/d3.json" failed)" = 0 ] && [ "$(jget "$T/d3.json" transcoded)" = 0 ] &&
    [ "$(wc -l <"$T/dead.json")" = 1 ] && [ "$(jget "$T/dead.json" attempts)" = 2 ] &&
    [ "$(jget "$T/dead.json" max_attempts)" = 2 ] && grep -q "timed out after 1 s" "$T/dead.json" &&
    ok "over its time limit twice with --max-attempts 2: dead with its reason, not tried again" ||
    notok "attempts cap" "$(cat "$T/d1.json" "$T/d2.json" "$T/d3.json" "$T/dead.json")"
dead_id=$(jget "$T/dead.json" id)
"$TP" --home "$T/d" jobs retry "$dead_id" >/dev/null &&
    TP_FAULT_CLOCK_SKEW=999999 "$TP" --home "$T/d" run --policy $P --now $NOW >/dev/null 2>&1
[ "$(state "$T/d")" = "$REF" ] && ok "jobs retry ID requeues the dead job; the next run does it" ||
    notok "retry dead" "$("$TP" --home "$T/d" jobs --state all)"
check_fails "jobs retry of a job that is not failed or dead" "$TP" --home "$T/d" jobs retry "$dead_id"

# --- SIGTERM mid-run: exit 143, summary, no job left running ----------------
cp -r "$T/base" "$T/s"
hang=$(jpeg_id "$T/s")
TP_FAULT_HANG_ASSET=$hang TP_FAULT_HANG_SECONDS=120 "$TP" --home "$T/s" run --policy $P --now $NOW \
    --jobs 2 --json >"$T/s.json" 2>"$T/s.err" &
rpid=$!
wait_for "the hanging job to be running" is "$T/s" "SELECT state FROM jobs WHERE asset_id = $hang" running
kill -TERM $rpid
wait $rpid
st=$?
running=$(q "$T/s" "SELECT count(*) FROM jobs WHERE state = 'running'")
att=$(q "$T/s" "SELECT state || ' ' || attempts FROM jobs WHERE asset_id = $hang")
[ $st = 143 ] && [ "$running" = 0 ] && [ "$(jget "$T/s.json" stopped_by)" = SIGTERM ] &&
    [ "$(jget "$T/s.json" released)" -ge 1 ] && [ "$att" = "queued 0" ] &&
    ok "SIGTERM mid-run: exit 143, summary printed, jobs released (no attempt used), none left running" ||
    notok "SIGTERM" "status $st, running $running, job '$att': $(cat "$T/s.json") $(tail -2 "$T/s.err")"
check "fsck clean after the stop" "$TP" --home "$T/s" fsck
"$TP" --home "$T/s" run --policy $P --now $NOW >/dev/null 2>&1
[ "$(state "$T/s")" = "$REF" ] && ok "the next run finishes the work" || notok "resume after SIGTERM"

# ^C: SIGINT to the whole process group, children included: exit 130, the
# job released, not failed
cp -r "$T/base" "$T/i"
hang=$(jpeg_id "$T/i")
TP_FAULT_HANG_ASSET=$hang TP_FAULT_HANG_SECONDS=120 setsid "$TP" --home "$T/i" run --policy $P --now $NOW \
    --jobs 1 --json >"$T/i.json" 2>"$T/i.err" &
rpid=$!
wait_for "the hanging job to be running" is "$T/i" "SELECT state FROM jobs WHERE asset_id = $hang" running
wait_for "its child to start" pgrep -g $rpid -f sandbox-worker
"$PY" -c "import os, signal, sys; os.killpg(int(sys.argv[1]), signal.SIGINT)" $rpid
wait $rpid
st=$?
[ $st = 130 ] && [ "$(jget "$T/i.json" stopped_by)" = SIGINT ] && [ "$(jget "$T/i.json" failed)" = 0 ] &&
    is "$T/i" "SELECT state || ' ' || attempts || ' ' || coalesce(last_error, '-') FROM jobs WHERE asset_id = $hang" "queued 0 -" &&
    ok "^C (SIGINT to the process group): exit 130, the job released, not failed" ||
    notok "SIGINT" "status $st: $(cat "$T/i.json") $(tail -2 "$T/i.err")"

# A child stopped by SIGTERM alone, the runner not signalled at all (the
# race above, made deterministic: the child is reaped before any stop
# reaches the runner's handler): the job is released, not failed, and the
# runner goes on (it takes the job again: a second child).
cp -r "$T/base" "$T/c"
hang=$(jpeg_id "$T/c")
TP_FAULT_HANG_ASSET=$hang TP_FAULT_HANG_SECONDS=120 "$TP" --home "$T/c" run --policy $P --now $NOW \
    --jobs 1 --json >"$T/c.json" 2>"$T/c.err" &
rpid=$!
wait_for "the hanging job to be running" is "$T/c" "SELECT state FROM jobs WHERE asset_id = $hang" running
wait_for "its child to start" pgrep -P $rpid -f sandbox-worker
c1=$(pgrep -P $rpid -f sandbox-worker | head -1)
kill -TERM $c1
wait_for "the job taken again by a new child" sh -c "pgrep -P $rpid -f sandbox-worker | grep -vx $c1"
r1=$(q "$T/c" "SELECT state || ' ' || attempts || ' ' || coalesce(last_error, '-') FROM jobs WHERE asset_id = $hang")
f1=$(q "$T/c" "SELECT count(*) FROM audit WHERE action = 'job.failed'")
kill -TERM $rpid
wait $rpid
st=$?
[ $st = 143 ] && [ "$r1" = "running 1 -" ] && [ "$f1" = 0 ] && [ "$(jget "$T/c.json" failed)" = 0 ] &&
    [ "$(jget "$T/c.json" released)" = 2 ] &&
    ok "a child stopped by SIGTERM alone: its job released (no attempt used, no failure), taken again" ||
    notok "child SIGTERM" "status $st, job '$r1', failures $f1: $(cat "$T/c.json") $(tail -3 "$T/c.err")"

# --- an older home's queue is migrated ------------------------------------
cp -r "$T/ref" "$T/old"
q "$T/old" "BEGIN; CREATE TABLE j2 (id INTEGER PRIMARY KEY, asset_id INTEGER NOT NULL REFERENCES assets(id)
  ON DELETE CASCADE, policy TEXT NOT NULL, tier TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued'
  CHECK (state IN ('queued', 'running', 'done', 'kept', 'failed')), owner TEXT, lease_until INTEGER,
  attempts INTEGER NOT NULL DEFAULT 0, result TEXT, created TEXT NOT NULL, finished TEXT,
  UNIQUE (asset_id, policy, tier));
  INSERT INTO j2 SELECT id, asset_id, policy, tier, state, owner, lease_until, attempts, result, created, finished FROM jobs;
  UPDATE j2 SET state = 'failed', result = '{\"error\":\"No space left on device\"}' WHERE id = (SELECT min(id) FROM j2);
  DROP TABLE jobs; ALTER TABLE j2 RENAME TO jobs; CREATE INDEX jobs_state ON jobs(policy, state, id);
  DROP TABLE policies; PRAGMA user_version = 2; COMMIT;"
# only the migrations of the jobs table run again (index 2: the queue; 4: ingest
# jobs); the other tables are already current
TP_FAULT_MIGRATIONS=2,4 "$TP" --home "$T/old" jobs --json >"$T/old.json" 2>"$T/old.err"
[ "$(q "$T/old" "PRAGMA user_version")" -ge 3 ] && [ "$(q "$T/old" "SELECT count(*) FROM jobs")" = "$NJOBS" ] &&
    [ "$(jget "$T/old.json" state)" = failed ] && grep -q '"last_error":"No space left on device"' "$T/old.json" &&
    ok "a schema-2 home's jobs are migrated (states, attempts, the old failure's reason kept)" ||
    notok "migration" "$(cat "$T/old.err" "$T/old.json")"
"$TP" --home "$T/old" run --policy $P --now $NOW --json >"$T/old2.json" 2>/dev/null
[ "$(state "$T/old")" = "$REF" ] && [ "$(jget "$T/old2.json" queued)" = 0 ] &&
    [ "$(jget "$T/old2.json" transcoded)" = 0 ] && ok "a run on the migrated home has nothing to do" ||
    notok "migrated run" "$(cat "$T/old2.json")"

# usage
check "jobs --help" "$TP" jobs --help
check "worker --help" "$TP" worker --help
check_fails "jobs --state nonsense" "$TP" --home "$T/ref" jobs --state nonsense
check_fails "run --max-attempts 0" "$TP" --home "$T/ref" run --policy $P --max-attempts 0
