#!/bin/sh
# Job queue throughput (not a test): claims + finishes per second on empty
# jobs with 1, 4 and 16 concurrent workers (threads, one connection each),
# on PostgreSQL ($TP_TEST_PG, else a throwaway server from scripts/pg-up)
# and, for comparison, SQLite.  Appends to bench/RESULTS.md under
# "## Job queue".
#   sh bench/queue.sh [N]       N jobs per measurement (default 20000)
set -e
cd "$(dirname "$0")/.."
make -s tierpress
N=${1:-20000}
W=$(mktemp -d)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
own_pg=""
cleanup() {
    [ -n "$own_pg" ] && ./scripts/pg-down "$own_pg"
    rm -rf "$W"
}
trap cleanup EXIT
if [ -z "${TP_TEST_PG:-}" ]; then
    eval "$(./scripts/pg-up)"
    own_pg=$TP_PG_DIR
fi

# the driver, linked against the project's objects
OBJS=$(find build/src build/codecs -name '*.o' | grep -v 'build/src/cli/main.o' | sort)
INC="$(for d in src/*/; do printf -- '-I%s ' "${d%/}"; done)-Isrc -Icodecs"
PKGS=$(awk '/^PKGS/ { on = 1; sub(/^PKGS *= */, "") } on { c = sub(/\\$/, ""); print; if (!c) exit }' Makefile)
# shellcheck disable=SC2086
cc -std=gnu11 -O2 -D_GNU_SOURCE $INC $(pkg-config --cflags $PKGS) -o "$W/bench_queue" \
    bench/bench_queue.c $OBJS $(pkg-config --libs $PKGS) -lz -lm -pthread

base=${TP_TEST_PG%/*}
run() { # BACKEND WORKERS BATCH IN_TXN
    if [ "$1" = postgresql ]; then
        db=tp_bench_queue_$$
        psql -X -q "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
        "$W/bench_queue" "$base/$db" "$N" "$2" "$3" "$4"
        psql -X -q "$TP_TEST_PG" -c "DROP DATABASE $db"
    else
        rm -f "$W/q.db"*
        "$W/bench_queue" "$W/q.db" "$N" "$2" "$3" "$4"
    fi
}
rows=""
# backend workers batch finish-in-transaction
for spec in "postgresql 1 1 1" "postgresql 4 1 1" "postgresql 16 1 1" \
            "postgresql 1 16 0" "postgresql 4 16 0" "postgresql 16 16 0" \
            "sqlite 1 1 1" "sqlite 4 1 1" "sqlite 1 16 0" "sqlite 4 16 0"; do
    # shellcheck disable=SC2086
    set -- $spec
    line=$(run "$@") || line="$line (failed)"
    echo "$1 $line"
    jps=$(echo "$line" | sed -n 's/.*"jobs_per_second":\([0-9]*\).*/\1/p')
    rows="$rows| $1 | $2 | $3 | $([ "$4" = 1 ] && echo "in its own transaction" || echo alone) | ${jps:-failed} |
"
done
{
    echo
    echo "## Job queue"
    echo
    echo "Command: \`sh bench/queue.sh $N\` ($N empty jobs per row; each worker a thread with its own"
    echo "connection, claiming up to B jobs per claim, then finishing each: inside a transaction of"
    echo "its own as the runner's swap transaction does (BEGIN, SAVEPOINT, UPDATE, RELEASE, COMMIT:"
    echo "5 round trips), or alone (one statement)); load average at the start: $LOAD"
    echo "($(nproc) cores, shared)."
    echo
    echo "| backend | workers | batch B | finish | jobs/s (claim + finish) |"
    echo "|---|---|---|---|---|"
    printf '%s' "$rows"
} >>bench/RESULTS.md
