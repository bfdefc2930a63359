# A fleet: N >= 4 workers, each in its own network namespace ("host"),
# sharing one PostgreSQL catalog and one S3 store that run in another
# namespace, reached over veth links (addresses only on those links, in the
# test's own namespaces).  The default policy over >= 200 assets (samples
# plus distinct copies), compared with a single-worker run on the embedded
# default:
#   1. clean: idle workers wake on NOTIFY (their poll is 10 minutes), every
#      job encoded and swapped exactly once, fsck clean, the same tiers,
#      blobs and bytes saved as the single worker, `jobs --workers`, and a
#      clean stop on SIGTERM (deregistered, nothing left running);
#   2. chaos: a worker paused before its swap (fault hook), SIGSTOPped past
#      its lease and resumed after another worker took the job over: its
#      late swap is refused by the fencing check; kill -9 of random workers
#      (replaced), a link cut for a few seconds, a PostgreSQL restart.
#      At the end: every original served byte for byte, fsck clean (no
#      dangling pointer), no job swapped twice, at most one encode per
#      claim, every job finished (or failed/dead with a reason), the same
#      final state as the uninterrupted run.
# Chaos is placed at progress points and hooks, never on timers: the
# waits below are generous bounds, not speed claims.
# Knobs: TP_FLEET_WORKERS (4), TP_FLEET_ASSETS (200; 80 under TP_QUICK=1),
# TP_FLEET_CHAOS_ASSETS
# (40: the chaos phase runs on the first ones); TP_STRESS=1: 400 assets in
# both phases and five kills.
. tests/lib.sh

N=${TP_FLEET_WORKERS:-4}
NASSETS=${TP_FLEET_ASSETS:-200}
[ "${TP_QUICK:-0}" = 1 ] && NASSETS=${TP_FLEET_ASSETS:-80}
NCHAOS=${TP_FLEET_CHAOS_ASSETS:-40}
KILLS=2
if [ -n "${TP_STRESS:-}" ]; then
    NASSETS=${TP_FLEET_ASSETS:-400}
    NCHAOS=${TP_FLEET_CHAOS_ASSETS:-$NASSETS}
    KILLS=5
fi
[ "$NCHAOS" -le "$NASSETS" ] || NCHAOS=$NASSETS
NOW=2031-06-01
P=policies/default.yaml

# wait_for S CMD...: until CMD succeeds, at most S seconds (a bound, never a speed)
wait_for() {
    _wf=$(($1 * 5))
    shift
    until "$@"; do
        _wf=$((_wf - 1))
        [ $_wf -gt 0 ] || return 1
        sleep 0.2
    done
}

# --- the registry on the embedded default (SQLite; no root needed) ---------
stage "$T/one" photo-iphone4s-180x135-exif-gps.jpg
"$TP" --home "$T/lite" ingest "$T/one" >/dev/null 2>&1
# two workers that died without a clean stop: one silent for 100 s (over 10
# of its 9 s leases: pruned by the next worker), one for 50 s (stale, kept)
now=$(date +%s)
sqlite3 "$T/lite/catalog.db" "INSERT INTO workers VALUES ('gone:1', 'gone', 1, 1, 9, $((now - 200)), $((now - 100)));
    INSERT INTO workers VALUES ('late:2', 'late', 2, 1, 9, $((now - 200)), $((now - 50)))"
"$TP" --home "$T/lite" worker --jobs 2 --lease 9 >"$T/lite.log" 2>&1 &
lp=$!
pruned() { grep -q "removed 1 stale worker(s) from the registry (no heartbeat for over 10 leases)" "$T/lite.log"; }
wait_for 60 pruned && "$TP" --home "$T/lite" jobs --workers >"$T/lw.txt" 2>&1 &&
    ! grep -q "^gone:1" "$T/lw.txt" && grep -A1 "^late:2" "$T/lw.txt" | grep -q "STALE" &&
    ok "sqlite: a worker prunes the registry row silent for over 10 leases, keeps the merely stale one" ||
    notok "sqlite prune" "$(cat "$T/lw.txt"; tail -2 "$T/lite.log")"
lite_registered() { "$TP" --home "$T/lite" jobs --workers --json 2>/dev/null | grep -q "\"pid\":$lp,\"threads\":2,\"lease_s\":9,"; }
wait_for 60 lite_registered && "$TP" --home "$T/lite" jobs --workers | grep -q ":$lp  *2  .* idle$" &&
    ok "sqlite: a worker registers itself; jobs --workers shows it idle" ||
    notok "sqlite registry" "$("$TP" --home "$T/lite" jobs --workers 2>&1; tail -2 "$T/lite.log")"
kill -INT $lp
wait $lp
st=$?
[ $st = 130 ] && [ "$("$TP" --home "$T/lite" jobs --workers --json 2>&1 | grep -c '"pid":'"$lp")" = 0 ] &&
    grep -q "stopped and deregistered" "$T/lite.log" &&
    ok "sqlite: SIGINT: exit 130, deregistered" || notok "sqlite stop" "status $st; $(tail -2 "$T/lite.log")"

if [ "$(id -u)" != 0 ]; then skip "fleet in network namespaces" "not root"; exit 0; fi
if ! have ip; then skip "fleet in network namespaces" "no ip (iproute2)"; exit 0; fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then skip "fleet" "no PostgreSQL server programs"; exit 0; fi
if ! "$PY" -c 'import swift' 2>/dev/null; then skip "fleet" "no OpenStack Swift (the S3 server)"; exit 0; fi

T0=$(date +%s)
NS=tpf$$
SRV=${NS}s
if ! ip netns add "$SRV" 2>/dev/null; then skip "fleet in network namespaces" "cannot create a network namespace"; exit 0; fi
PGD=$(mktemp -d /tmp/tpfleet-pg.XXXXXX)
S3D=$(mktemp -d /var/tmp/tpfleet-s3.XXXXXX)
WPIDS=""
cleanup() {
    for p in $WPIDS; do kill -KILL "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
    [ -f "$PGD/data/postmaster.pid" ] && "${TP_ROOT:-.}/scripts/pg-down" "$PGD" >/dev/null 2>&1
    TP_S3_DIR=$S3D "${TP_ROOT:-.}/scripts/s3-down" >/dev/null 2>&1
    for i in $(seq 1 $((N + 1))); do ip netns del "${NS}w$i" 2>/dev/null; done
    ip netns del "$SRV" 2>/dev/null
    rm -rf "$T" "$PGD" "$S3D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the network: servers in $SRV, worker i in ${NS}w$i over 10.250.i.0/24 ---
ip -n "$SRV" link set lo up
for i in $(seq 1 "$N"); do
    ip netns add "${NS}w$i" &&
        ip link add "${NS}a$i" type veth peer name "${NS}b$i" &&
        ip link set "${NS}a$i" netns "$SRV" && ip link set "${NS}b$i" netns "${NS}w$i" &&
        ip -n "$SRV" addr add "10.250.$i.1/24" dev "${NS}a$i" &&
        ip -n "${NS}w$i" addr add "10.250.$i.2/24" dev "${NS}b$i" &&
        ip -n "$SRV" link set "${NS}a$i" up && ip -n "${NS}w$i" link set "${NS}b$i" up &&
        ip -n "${NS}w$i" link set lo up || { notok "network namespace ${NS}w$i"; exit 0; }
done

out=$(TP_PG_LISTEN='*' ip netns exec "$SRV" "${TP_ROOT:-.}/scripts/pg-up" "$PGD" 2>&1) ||
    { notok "PostgreSQL in $SRV" "$out"; exit 0; }
PGPORT=$(echo "$out" | sed -n 's#.*127\.0\.0\.1:\([0-9]*\)/.*#\1#p' | head -n 1)
out=$(TP_S3_DIR=$S3D TP_S3_BIND=0.0.0.0 ip netns exec "$SRV" "${TP_ROOT:-.}/scripts/s3-up" --env 2>&1 | grep '^export') ||
    { notok "S3 server in $SRV" "$out"; exit 0; }
eval "$out"
S3PORT=${TP_S3_ENDPOINT##*:}
export AWS_ACCESS_KEY_ID="$TP_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$TP_S3_SECRET_KEY"
export AWS_REGION="${TP_S3_REGION:-us-east-1}"
unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION TIERPRESS_CATALOG TIERPRESS_STORE
# reach PORT HOST... from host 1: which addresses answer (its own link only)
reach() {
    ip netns exec "${NS}w1" "$PY" - "$@" <<'EOF'
import socket, sys
for h in sys.argv[2:]:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((h, int(sys.argv[1])))
        print(h)
    except OSError:
        pass
EOF
}
[ "$(reach "$PGPORT" 10.250.1.1 10.250.2.1 127.0.0.1)" = 10.250.1.1 ] &&
    [ "$(reach "$S3PORT" 10.250.1.1 10.250.2.1 127.0.0.1)" = 10.250.1.1 ] &&
    ok "PostgreSQL :$PGPORT and S3 :$S3PORT in $SRV; host 1 reaches them over its link only" ||
    notok "namespace links" "$(reach "$PGPORT" 10.250.1.1 10.250.2.1 127.0.0.1)"

# sql DB QUERY: one value (psql in the servers' namespace)
sql() { ip netns exec "$SRV" "$PGBIN/psql" -X -q -t -A -h 127.0.0.1 -p "$PGPORT" -U postgres -d "$1" -c "$2" 2>/dev/null; }

# --- the assets: the small sample JPEGs plus distinct copies (a COM segment) ---
mkdir -p "$T/in"
"$PY" - "$T/in" "$NASSETS" "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" \
    "$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg" "$SAMPLES/frame-150x103-cmyk-adobe.jpg" <<'EOF'
import os, sys
out, n = sys.argv[1], int(sys.argv[2])
srcs = [open(p, 'rb').read() for p in sys.argv[3:]]
for i in range(n):
    b = srcs[i % len(srcs)]
    com = b'tierpress fleet copy %d' % i
    open(os.path.join(out, 'c%04d.jpg' % i), 'wb').write(b[:2] + b'\xff\xfe' + (len(com) + 2).to_bytes(2, 'big') + com + b[2:])
EOF

# the reference: one worker on the embedded default (in the background)
( "$TP" --home "$T/ref" ingest "$T/in" >/dev/null 2>&1 &&
    "$TP" --home "$T/ref" run --policy $P --now $NOW --jobs 1 --json >"$T/ref.json" 2>"$T/ref.err" ) &
REFPID=$!

# fleet_homes DB PREFIX: worker i's home $T/DB-i (its own view of the servers)
fleet_homes() {
    sql postgres "CREATE DATABASE $1" >/dev/null
    for i in $(seq 1 "$N"); do
        mkdir -p "$T/$1-$i"
        cat >"$T/$1-$i/tierpress.yaml" <<EOF
catalog: postgresql://postgres@10.250.$i.1:$PGPORT/$1
store: s3://$TP_S3_BUCKET/fleet-$$/$2
s3:
  endpoint_url: http://10.250.$i.1:$S3PORT
  storage_classes: false
  max_retries: 8
EOF
    done
}
# on I DB CMD...: tierpress on host I
on() {
    _i=$1 _db=$2
    shift 2
    ip netns exec "${NS}w$_i" "$TP" --home "$T/$_db-$_i" "$@"
}
# start_worker I DB LOG [ENV...] -- ARGS: a worker on host I (pid in $wpid)
start_worker() {
    _i=$1 _db=$2 _log=$3
    shift 3
    _env=""
    while [ $# -gt 0 ] && [ "$1" != -- ]; do _env="$_env $1"; shift; done
    shift
    # shellcheck disable=SC2086
    ip netns exec "${NS}w$_i" env TP_DEBUG_ENCODE_LOG="$T/$_db.enc" $_env \
        "$TP" --home "$T/$_db-$_i" worker --jobs 1 --now $NOW "$@" >>"$_log" 2>&1 &
    wpid=$!
    WPIDS="$WPIDS $wpid"
}
pending() { [ "$(sql "$1" "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")" = 0 ]; }
ndone() { sql "$1" "SELECT count(*) FROM jobs WHERE state IN ('done', 'kept')"; }
# state DB: per asset (by sha256) its tier and current blob
pg_state() { sql "$1" "SELECT sha256 || '|' || coalesce(tier, '') || '|' || current_blob FROM assets ORDER BY sha256"; }
saved_pg() { sql "$1" "SELECT sum(a.bytes) - sum(b.bytes) FROM assets a JOIN blobs b ON b.hash = a.current_blob"; }

# ============================ 1. a clean fleet ============================
fleet_homes fleet1 clean
on 1 fleet1 ingest "$T/in" >"$T/ing1.out" 2>&1 &&
    [ "$(sql fleet1 "SELECT count(*) FROM assets")" = "$NASSETS" ] &&
    ok "ingest $NASSETS assets from host 1 into PostgreSQL + S3" || notok "ingest" "$(tail -3 "$T/ing1.out")"
W1=""
for i in $(seq 1 "$N"); do
    start_worker "$i" fleet1 "$T/c$i.log" TP_IDLE_POLL_MS=600000 -- --lease 30
    W1="$W1 $wpid"
done
listening() { [ "$(cat "$T"/c*.log 2>/dev/null | grep -c "idle, listening for queued jobs")" -ge "$N" ]; }
wait_for 120 listening && [ "$(sql fleet1 "SELECT count(*) FROM workers")" = "$N" ] &&
    ok "$N idle workers registered and listening (their poll: 10 minutes)" ||
    notok "workers idle" "$(tail -n 3 "$T"/c*.log)"
on 1 fleet1 jobs --workers >"$T/workers1.txt" 2>&1
on 2 fleet1 jobs --workers --json >"$T/workers1.json" 2>&1
[ "$(grep -c ' idle$' "$T/workers1.txt")" = "$N" ] && [ "$(wc -l <"$T/workers1.json")" = "$N" ] &&
    "$PY" - "$T/workers1.json" $W1 <<'EOF' && ok "jobs --workers: every worker, its pid, heartbeat age, idle, not stale" || notok "jobs --workers" "$(cat "$T/workers1.txt" "$T/workers1.json")"
import json, sys
ws = [json.loads(l) for l in open(sys.argv[1])]
pids = sorted(int(p) for p in sys.argv[2:])
assert sorted(w["pid"] for w in ws) == pids, ws
assert all(w["id"].endswith(":%d" % w["pid"]) and w["threads"] == 1 and w["lease_s"] == 30 for w in ws), ws
assert all(0 <= w["heartbeat_age_s"] <= 30 and not w["stale"] and w["njobs"] == 0 for w in ws), ws
EOF
# the plan: every worker is woken by the queued jobs' notification
on 1 fleet1 run --policy $P --now $NOW --enqueue-only --json >"$T/plan1.json" 2>"$T/plan1.err"
NJOBS=$(jget "$T/plan1.json" queued)
[ "$NJOBS" = "$NASSETS" ] && ok "run --enqueue-only queued $NJOBS jobs" || notok "plan" "$(cat "$T/plan1.json" "$T/plan1.err")"
busy() { [ "$(sql fleet1 "SELECT count(DISTINCT owner) FROM jobs WHERE state = 'running'")" -ge 1 ]; }
wait_for 300 pending fleet1 && ok "the idle fleet woke up and finished the queue (bound 300 s < the 600 s poll)" ||
    notok "fleet did not finish" "$(sql fleet1 "SELECT state, count(*) FROM jobs GROUP BY state")"
# a clean stop: SIGTERM, exit 143, deregistered, nothing left running
for p in $W1; do kill -TERM "$p"; done
st=0
for p in $W1; do wait "$p" || [ $? = 143 ] || st=1; done
[ $st = 0 ] && [ "$(sql fleet1 "SELECT count(*) FROM workers")" = 0 ] &&
    [ "$(sql fleet1 "SELECT count(*) FROM jobs WHERE state = 'running'")" = 0 ] &&
    [ "$(cat "$T"/c*.log | grep -c "stopped and deregistered")" = "$N" ] &&
    ok "SIGTERM: every worker exits 143, deregistered, no job left running" || notok "clean stop" "$(tail -n 2 "$T"/c*.log)"
# woken by notifications only: no poll ever timed out
woken=$(cat "$T"/c*.log | sed -n 's/.*idle waits: \([0-9]*\) woken by a notification, \([0-9]*\) poll timeouts.*/\1 \2/p')
echo "$woken" | awk -v n="$N" '$1 < 1 || $2 != 0 { bad = 1 } END { exit bad || NR != n }' &&
    ok "each worker was woken by NOTIFY ($(echo "$woken" | awk '{ s += $1 } END { print s }') wake-ups), no poll timed out" ||
    notok "wake-ups" "$woken"
# exactly once: one encode per job, one swap per transcoded asset
sort "$T/fleet1.enc" | awk '{ print $2 }' | sort | uniq -d >"$T/twice1"
swaps=$(sql fleet1 "SELECT count(*) FROM audit WHERE action = 'asset.swap'")
swapped_twice=$(sql fleet1 "SELECT count(*) FROM (SELECT asset_id FROM audit WHERE action = 'asset.swap' GROUP BY asset_id HAVING count(*) > 1) x")
ndone_t=$(sql fleet1 "SELECT count(*) FROM jobs WHERE state = 'done'")
[ ! -s "$T/twice1" ] && [ "$(wc -l <"$T/fleet1.enc")" -ge "$ndone_t" ] && [ "$swaps" = "$ndone_t" ] &&
    [ "$swapped_twice" = 0 ] && [ "$(ndone fleet1)" = "$NJOBS" ] &&
    ok "every job done exactly once: $(wc -l <"$T/fleet1.enc") encodes of $NJOBS jobs, none twice; $swaps swaps, one per transcoded asset" ||
    notok "exactly once" "twice: $(cat "$T/twice1"); swaps $swaps, done $ndone_t, twice $swapped_twice"
owners=$(sort "$T/fleet1.enc" | awk '{ print $8 }' | sort -u | wc -l)
[ "$owners" -ge 2 ] && ok "the work was shared ($owners workers encoded)" || notok "one worker did everything"
check "fsck clean (host 3)" on 3 fleet1 fsck
wait "$REFPID"
sqlite3 "$T/ref/catalog.db" "SELECT sha256 || '|' || coalesce(tier, '') || '|' || current_blob FROM assets ORDER BY sha256" >"$T/ref.state"
ref_saved=$(jget "$T/ref.json" bytes_saved)
pg_state fleet1 >"$T/fleet1.state"
[ -s "$T/ref.state" ] && cmp -s "$T/ref.state" "$T/fleet1.state" && [ "$(saved_pg fleet1)" = "$ref_saved" ] &&
    ok "same tiers and blobs as one worker; bytes saved equal ($ref_saved)" ||
    notok "fleet vs one worker" "saved $(saved_pg fleet1) vs $ref_saved; $(diff "$T/ref.state" "$T/fleet1.state" | head -3)"

echo "# servers and clean phase: $(($(date +%s) - T0)) s"
T1=$(date +%s)
# ============================== 2. chaos ==================================
fleet_homes fleet2 chaos
mkdir -p "$T/in2"
for f in $(ls "$T/in" | head -n "$NCHAOS"); do
    cp "$T/in/$f" "$T/in2/"
    sha256sum <"$T/in/$f" | cut -c1-64
done >"$T/in2.sha"
grep -F -f "$T/in2.sha" "$T/ref.state" >"$T/ref2.state"
ref2_saved=$(sqlite3 "$T/ref/catalog.db" "SELECT sum(a.bytes) - sum(b.bytes) FROM assets a JOIN blobs b ON b.hash = a.current_blob WHERE a.sha256 IN ($(sed "s/.*/'&'/" "$T/in2.sha" | paste -sd,))")
on 1 fleet2 ingest "$T/in2" >"$T/ing2.out" 2>&1 || notok "ingest (chaos)" "$(tail -3 "$T/ing2.out")"
LEASE=4
alive=""
# host 2's worker pauses before its first swap (fault hook) until $T/go exists
start_worker 2 fleet2 "$T/x2.log" TP_FAULT_PAUSE_BEFORE_SWAP="$T/go" -- --lease $LEASE --retry-backoff 1
PAUSED=$wpid
for i in $(seq 1 "$N"); do
    [ "$i" = 2 ] && continue
    start_worker "$i" fleet2 "$T/x$i.log" -- --lease $LEASE --retry-backoff 1
    alive="$alive $i:$wpid"
done
on 1 fleet2 run --policy $P --now $NOW --enqueue-only --json >"$T/plan2.json" 2>"$T/plan2.err"
NJOBS2=$(jget "$T/plan2.json" queued)

# (a) SIGSTOP the paused worker past its lease; SIGCONT once the job is taken over
wait_for 120 test -e "$T/go.reached" || notok "pause hook" "$(tail -3 "$T/x2.log")"
kill -STOP "$PAUSED"
PJOB=$(sql fleet2 "SELECT id FROM jobs WHERE state = 'running' AND owner LIKE '%:$PAUSED'")
PTOK=$(sql fleet2 "SELECT token FROM jobs WHERE id = ${PJOB:-0}")
taken() { [ "$(sql fleet2 "SELECT token > $PTOK OR state <> 'running' FROM jobs WHERE id = $PJOB")" = t ]; }
[ -n "$PJOB" ] && wait_for 120 taken &&
    ok "job $PJOB of the stopped worker taken over after its lease ($LEASE s)" || notok "takeover" "job '$PJOB'"
kill -CONT "$PAUSED"
touch "$T/go"
refused() { grep -q "job $PJOB (asset [0-9]*): swap refused (token $PTOK of .*no longer ours" "$T/x2.log"; }
wait_for 120 refused &&
    [ "$(sql fleet2 "SELECT count(*) FROM audit WHERE action = 'job.fenced' AND detail::json->>'job' = '$PJOB' AND detail::json->>'token' = '$PTOK'")" = 1 ] &&
    ok "its late swap was refused by the fencing check (token $PTOK; logged and audited)" ||
    notok "fencing" "$(grep "job $PJOB " "$T/x2.log" | tail -3)"
alive="$alive 2:$PAUSED"

# (b) kill -9 random workers at progress points, each replaced on its host
seed=$$
killed=""
k=0
while [ $k -lt $KILLS ]; do
    k=$((k + 1))
    at=$((NJOBS2 * k / (KILLS + 3)))
    progress() { [ "$(ndone fleet2)" -ge "$1" ] || pending fleet2; }
    wait_for 300 progress "$at"
    victim=$(echo "$alive" | tr ' ' '\n' | grep . | awk -v s=$((seed + k)) 'BEGIN { srand(s) } { v[NR] = $0 } END { print v[int(rand() * NR) + 1] }')
    vh=${victim%%:*} vp=${victim#*:}
    kill -KILL "$vp" && wait "$vp" 2>/dev/null
    killed="$killed $vp"
    alive=$(echo "$alive" | tr ' ' '\n' | grep -v "^$victim\$" | tr '\n' ' ')
    start_worker "$vh" fleet2 "$T/x$vh.log" -- --lease $LEASE --retry-backoff 1
    alive="$alive $vh:$wpid"
    # (registered before the link cut below, so the cut hits a running worker)
    registered() { [ "$(sql fleet2 "SELECT count(*) FROM workers WHERE id LIKE '%:$1'")" = 1 ]; }
    wait_for 120 registered "$wpid" || notok "replacement worker $wpid" "$(tail -2 "$T/x$vh.log")"
    echo "# kill -9 worker $vp on host $vh at $(ndone fleet2) done (seed $((seed + k)))"
    if [ $k = 1 ]; then
        # (c) cut host 3's link for a few seconds
        ip -n "${NS}w3" link set "${NS}b3" down
        sleep 3
        ip -n "${NS}w3" link set "${NS}b3" up
        echo "# link of host 3 down 3 s at $(ndone fleet2) done"
    fi
    if [ $k = 2 ]; then
        # (d) restart PostgreSQL (in its namespace, as its user)
        ip netns exec "$SRV" runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w -t 60 restart \
            -l "$PGD/postgres.log" >/dev/null 2>&1 && echo "# PostgreSQL restarted at $(ndone fleet2) done" ||
            notok "PostgreSQL restart"
    fi
done
ok "chaos: $KILLS worker(s) killed with -9 and replaced, host 3's link cut, PostgreSQL restarted"
wait_for 600 pending fleet2 && ok "the queue drained" ||
    notok "queue not drained" "$(sql fleet2 "SELECT state, count(*) FROM jobs GROUP BY state")"
st=""
for a in $alive; do kill -TERM "${a#*:}" || st="$st ${a#*:}:gone"; done
for a in $alive; do
    wait "${a#*:}"
    rc=$?
    [ $rc = 143 ] || st="$st ${a#*:}:$rc"
done
[ -z "$st" ] && [ "$(sql fleet2 "SELECT count(*) FROM jobs WHERE state = 'running'")" = 0 ] &&
    ok "SIGTERM after chaos: every live worker exits 143, none left running" ||
    notok "stop after chaos" "$st; $(tail -n 2 "$T"/x*.log)"
on 4 fleet2 jobs --workers --json >"$T/workers2.json" 2>&1
"$PY" - "$T/workers2.json" $killed <<'EOF' && ok "jobs --workers: only killed workers remain registered (those silent past 10 leases pruned)" || notok "registry after chaos" "$(cat "$T/workers2.json")"
import json, sys
ws = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert set(w["pid"] for w in ws) <= set(int(p) for p in sys.argv[2:]), ws
EOF
sql fleet2 "SELECT '# ' || state || ' job ' || id || ': ' || last_error FROM jobs WHERE state NOT IN ('done', 'kept')"
bad=$(sql fleet2 "SELECT count(*) FROM jobs WHERE state NOT IN ('done', 'kept') AND coalesce(last_error, '') = ''")
[ "$bad" = 0 ] && ok "every job finished, or failed/dead with a reason ($(sql fleet2 "SELECT string_agg(state || ' ' || n, ', ') FROM (SELECT state, count(*) n FROM jobs GROUP BY state) x"))" ||
    notok "jobs without an outcome" "$bad"
swapped_twice=$(sql fleet2 "SELECT count(*) FROM (SELECT asset_id FROM audit WHERE action = 'asset.swap' GROUP BY asset_id HAVING count(*) > 1) x")
swaps=$(sql fleet2 "SELECT count(*) FROM audit WHERE action = 'asset.swap'")
ndone_t=$(sql fleet2 "SELECT count(*) FROM jobs WHERE state = 'done'")
# at most one encode per claim: a job's encodes never outnumber its tokens
sql fleet2 "SELECT id || ' ' || token FROM jobs" >"$T/tokens2"
awk 'NR == FNR { tok[$1] = $2; next } { n[$2]++ } END { for (j in n) if (n[j] > tok[j]) { print j; bad = 1 } exit bad }' \
    "$T/tokens2" "$T/fleet2.enc" >"$T/over2" &&
    [ "$swapped_twice" = 0 ] && [ "$swaps" = "$ndone_t" ] &&
    ok "no job done twice: $swaps swaps for $ndone_t done jobs, $(wc -l <"$T/fleet2.enc") encodes, none beyond one per claim" ||
    notok "done twice" "swaps $swaps done $ndone_t twice $swapped_twice over: $(cat "$T/over2")"
check "fsck clean after chaos (every blob present and hashed, no dangling pointer)" on 1 fleet2 fsck
pg_state fleet2 >"$T/fleet2.state"
cmp -s "$T/ref2.state" "$T/fleet2.state" && [ "$(saved_pg fleet2)" = "$ref2_saved" ] &&
    ok "final state equal to the uninterrupted run ($NCHAOS assets, bytes saved $ref2_saved)" ||
    notok "state after chaos" "saved $(saved_pg fleet2) vs $ref2_saved; $(diff "$T/ref2.state" "$T/fleet2.state" | head -3)"
# no lost original: each one served byte for byte (host 4)
lost=0
for f in "$T"/in2/*.jpg; do
    id=$(sql fleet2 "SELECT id FROM assets WHERE sha256 = '$(sha256sum <"$f" | cut -c1-64)'")
    on 4 fleet2 get "$id" -o "$T/o.jpg" >/dev/null 2>&1 && cmp -s "$f" "$T/o.jpg" || lost=$((lost + 1))
done
[ $lost = 0 ] && ok "no lost original: all $NCHAOS served byte for byte" || notok "originals" "$lost differ or are missing"
echo "# chaos phase: $(($(date +%s) - T1)) s; all: $(($(date +%s) - T0)) s"
