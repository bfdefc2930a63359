# A worker started before its catalog server (a fleet booting, the database
# restarting): it retries with capped backoff and jitter, one log line per
# attempt, and works once the server is up; a server that never comes gives
# a clear error after --wait-catalog; what no retry can mend (a missing
# database) fails at once.  The server is this test's own (scripts/pg-up on
# a port chosen before it exists).  Deterministic: each step waits for the
# log line or the row it needs, never for a fixed time.
. tests/lib.sh

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    skip "worker started before PostgreSQL" "no PostgreSQL server programs (scripts/install-deps)"
    exit 0
fi
ROOT=${TP_ROOT:-.}
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
PGD=""
wpid=""
trap '[ -n "$wpid" ] && kill -KILL $wpid 2>/dev/null; [ -n "$PGD" ] && "$ROOT/scripts/pg-down" "$PGD" >/dev/null 2>&1; rm -rf "$T"' EXIT
H=$T/home
mkdir -p "$H"
printf 'catalog: postgresql://postgres@127.0.0.1:%s/tierpress\nstore: file://blobs\n' "$port" >"$H/tierpress.yaml"
unset TIERPRESS_CATALOG TIERPRESS_STORE PGHOST PGPORT PGDATABASE PGUSER

# waits up to 120 s for a command to succeed (a poll, not a timing assumption)
until_ok() {
    uo_i=0
    while ! "$@" >/dev/null 2>&1; do
        uo_i=$((uo_i + 1))
        [ $uo_i -ge 600 ] && return 1
        sleep 0.2
    done
}
retries() { grep -c "cannot reach the catalog" "$1" 2>/dev/null || true; }

# nothing listens: --wait-catalog 0 fails at once, naming the server
"$TP" --home "$H" worker --wait-catalog 0 --jobs 1 >/dev/null 2>"$T/w0.err"
st=$?
[ $st -ne 0 ] && [ $st -lt 128 ] && grep -q "^tierpress: .*127.0.0.1:$port" "$T/w0.err" && [ "$(retries "$T/w0.err")" = 0 ] &&
    ok "no server, --wait-catalog 0: a clear error at once (exit $st)" || notok "wait 0" "exit $st: $(cat "$T/w0.err")"
"$TP" --home "$H" worker --wait-catalog 1 --jobs 1 >/dev/null 2>"$T/w1.err"
st=$?
[ $st -ne 0 ] && [ $st -lt 128 ] && [ "$(retries "$T/w1.err")" -ge 1 ] && grep -q "gave up after .* attempts in 1 s, --wait-catalog" "$T/w1.err" &&
    ok "no server, --wait-catalog 1: $(retries "$T/w1.err") logged retries, then an error saying it gave up" ||
    notok "wait 1" "exit $st: $(tail -3 "$T/w1.err")"

# started first, the server later
"$TP" --home "$H" worker --wait-catalog 300 --jobs 1 >"$T/w.out" 2>"$T/w.err" &
wpid=$!
until_ok sh -c "[ \$(grep -c 'cannot reach the catalog' '$T/w.err') -ge 2 ]"
n_before=$(retries "$T/w.err")
[ "$n_before" -ge 2 ] && grep -q "retry 2 in [0-9.]* s (giving up in" "$T/w.err" &&
    ok "the worker waits for the server: a log line per retry ($n_before so far)" ||
    notok "retry lines" "$(cat "$T/w.err")"
# the backoff grows (0.5 s doubling, capped at 15 s; +-25 % jitter)
d1=$(grep -o "retry 1 in [0-9.]*" "$T/w.err" | awk '{ print $4 }')
d2=$(grep -o "retry 2 in [0-9.]*" "$T/w.err" | awk '{ print $4 }')
awk -v a="$d1" -v b="$d2" 'BEGIN { exit !(a >= 0.37 && a <= 0.63 && b >= 0.75 && b <= 1.25) }' &&
    ok "backoff with jitter: ${d1} s then ${d2} s" || notok "backoff" "retry 1 in $d1, retry 2 in $d2"
# (pg-up makes its own directory: the server's user must reach it)
TP_PG_PORT=$port "$ROOT/scripts/pg-up" >"$T/pgup.out" 2>&1 || notok "pg-up on port $port" "$(cat "$T/pgup.out")"
PGD=$(sed -n 's/^TP_PG_DIR=\([^;]*\);.*/\1/p' "$T/pgup.out")
if until_ok sh -c "'$TP' --home '$H' jobs --workers --json | grep -q '\"pid\":$wpid'"; then
    ok "once PostgreSQL is up the worker connects, migrates the schema and registers"
else
    notok "worker after the server came up" "$(tail -3 "$T/w.err")"
fi
grep -q "catalog reached after [0-9]* attempts" "$T/w.err" && ok "it logs how many attempts it took" ||
    notok "reached line" "$(tail -3 "$T/w.err")"
# it works: an ingest job queued now is done
cp "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/up.jpg"
"$TP" --home "$H" enqueue --ingest "$T/up.jpg" >/dev/null 2>"$T/enq.err" || notok "enqueue" "$(cat "$T/enq.err")"
until_ok sh -c "'$TP' --home '$H' ls --json | grep -q ."
[ "$("$TP" --home "$H" ls --json | wc -l)" = 1 ] && ok "the worker does the job queued after it connected" ||
    notok "job after connect" "$(tail -3 "$T/w.err")"
kill -TERM $wpid
wait $wpid
st=$?
wpid=""
[ $st -eq 143 ] && [ "$("$TP" --home "$H" jobs --workers --json | wc -l)" = 0 ] &&
    ok "SIGTERM: exit 143, deregistered" || notok "stop" "exit $st"

# a missing database is no outage: no retry
sed "s#/tierpress\$#/nosuchdb#" "$H/tierpress.yaml" >"$T/cfg.yaml"
mkdir -p "$T/h2" && cp "$T/cfg.yaml" "$T/h2/tierpress.yaml"
"$TP" --home "$T/h2" worker --wait-catalog 300 --jobs 1 >/dev/null 2>"$T/nodb.err"
st=$?
[ $st -ne 0 ] && [ $st -lt 128 ] && [ "$(retries "$T/nodb.err")" = 0 ] && grep -q "nosuchdb" "$T/nodb.err" &&
    ok "a missing database fails at once (not retried), naming it" || notok "missing database" "exit $st: $(cat "$T/nodb.err")"
