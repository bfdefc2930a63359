#!/bin/sh
# Scaling on PostgreSQL (not a test; prints results, edits nothing):
#  1. queue: claims + finishes per second on empty jobs with 1, 4, 16
#     workers (bench/bench_queue.c; batch 16 with bare finishes, and batch 1
#     with the finish inside its own transaction as the runner's swap does);
#  2. transcode throughput: `run --jobs W` (W = 1, 2, 4) over the sample
#     JPEGs and PNGs with tests/policies/run.yaml (lossless JPEG -> JXL, PNG
#     -> JXL at SSIM 0.99), wall time and CPU (user + sys, children included);
#  3. the plan over a synthetic catalog: `sh bench/scale.sh plan DB` times
#     `run --dry-run` and `run --enqueue-only` with peak RSS on an existing
#     catalog made by `catalog synth` (TIERPRESS_CATALOG=.../DB).
#   sh bench/scale.sh [N]     N empty jobs per queue row (default 4000)
set -e
cd "$(dirname "$0")/.."
make -s tierpress
N=${1:-4000}
W=$(mktemp -d)
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
base=${TP_TEST_PG%/*}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"

if [ "$1" = plan ]; then
    export TIERPRESS_CATALOG=$base/$2
    mkdir -p "$W/h"
    for mode in --dry-run --enqueue-only; do
        /usr/bin/time -f "plan $mode: %e s wall, %M KB peak RSS" ./tierpress --home "$W/h" run \
            --policy policies/default.yaml --now 2026-01-01 $mode --json | head -c 200
        echo
    done
    exit 0
fi

OBJS=$(find build/src build/codecs -name '*.o' | grep -v 'build/src/cli/main.o' | sort)
INC="$(for d in src/*/; do printf -- '-I%s ' "${d%/}"; done)-Isrc -Icodecs"
PKGS=$(awk '/^PKGS/ { on = 1; sub(/^PKGS *= */, "") } on { c = sub(/\\$/, ""); print; if (!c) exit }' Makefile)
# shellcheck disable=SC2086
cc -std=gnu11 -O2 -D_GNU_SOURCE $INC $(pkg-config --cflags $PKGS) -o "$W/bench_queue" \
    bench/bench_queue.c $OBJS $(pkg-config --libs $PKGS) -lz -lm -pthread
for spec in "1 16 0" "4 16 0" "16 16 0" "1 1 1" "4 1 1" "16 1 1"; do
    # shellcheck disable=SC2086
    set -- $spec
    db=tp_bench_scale_$$
    psql -X -q "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    echo "queue workers=$1 batch=$2 finish_in_txn=$3: $("$W/bench_queue" "$base/$db" "$N" "$1" "$2" "$3")"
    psql -X -q "$TP_TEST_PG" -c "DROP DATABASE $db"
done

mkdir -p "$W/in"
cp samples/*.jpg samples/*.png "$W/in/"
for w in 1 2 4; do
    db=tp_bench_scale_t$$
    psql -X -q "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    rm -rf "$W/h"
    TIERPRESS_CATALOG=$base/$db ./tierpress --home "$W/h" ingest "$W/in" >/dev/null 2>&1
    TIERPRESS_CATALOG=$base/$db /usr/bin/time -f "%e %U %S" -o "$W/time" ./tierpress --home "$W/h" \
        run --policy tests/policies/run.yaml --now 2031-06-01 --jobs "$w" --json >"$W/run.json" 2>/dev/null
    read -r wall user sys <"$W/time"
    "$PY" - "$W/run.json" "$w" "$wall" "$user" "$sys" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).readline())
w, wall, user, sys_ = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
jobs = r["transcoded"] + r["kept"] + r["failed"]
print(f"transcode workers={w}: {jobs} jobs in {wall:.1f} s = {jobs / wall:.2f} jobs/s, "
      f"CPU {user + sys_:.1f} s = {(user + sys_) / max(jobs, 1):.2f} s/job")
EOF
    psql -X -q "$TP_TEST_PG" -c "DROP DATABASE $db"
done
