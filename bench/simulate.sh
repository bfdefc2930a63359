#!/bin/sh
# bench/simulate.sh [N...]: the policy dry-run at scale.  For each N (default
# 1000000), synthesises a catalog of N assets sharing the samples/ blobs
# (`catalog synth`, timed), then times `simulate` over it with 2 scan jobs:
# evaluation + aggregation only (--sample 0) without and with a 12-month
# projection, then with the default 50-asset sample on top (real transcodes).
# Reports wall time, CPU time and peak RSS (GNU time).  Homes go to
# $BENCH_DIR (default /tmp); 10 M assets take ~5.6 GB of disk.
# Example: bench/simulate.sh 1000000 10000000
set -e
cd "$(dirname "$0")/.."
TP=${TP:-./tierpress}
DIR=${BENCH_DIR:-/tmp}
POLICY=${POLICY:-policies/default.yaml}
NOW=2026-06-01
[ $# -gt 0 ] || set -- 1000000
[ -x "$TP" ] || make -j2 >/dev/null
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for n in "$@"; do
    H="$DIR/tp-bench-sim-$n"
    if [ ! -f "$H/catalog.db" ] || [ "$(sqlite3 "$H/catalog.db" 'SELECT count(*) FROM assets')" != "$n" ]; then
        rm -rf "$H"
        /usr/bin/time -f "synth $n: %e s wall, %U s user, %M KB peak RSS" \
            "$TP" --home "$H" catalog synth --assets "$n" --seed 1 --now $NOW 2>&1 | grep -v '^tierpress: catalog synth: [0-9]'
    fi
    echo "catalog: $(du -h "$H/catalog.db" | cut -f1)"
    for args in "--sample 0 --months 0" "--sample 0 --months 12" "--sample 50 --months 12"; do
        /usr/bin/time -f "simulate $n $args: %e s wall, %U s user, %S s sys, %M KB peak RSS" \
            "$TP" --home "$H" simulate --policy "$POLICY" --now $NOW --jobs 2 $args --format json \
            2>&1 >"$DIR/tp-bench-sim.json" | grep -v '^tierpress: simulate:'
        "${PY:-/usr/bin/python3}" -c 'import json,sys; o=json.load(open(sys.argv[1])); print("  method %s, assets %d, saved %.1f%%, sample %.1f s, scans %.1f s" % (o["method"], o["assets"], 100*o["bytes_saved"]/max(1,o["totals"]["bytes_before"]), o["timing"]["sample_seconds"], o["timing"]["scan_seconds"]))' "$DIR/tp-bench-sim.json"
    done
done
