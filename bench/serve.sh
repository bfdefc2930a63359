#!/bin/sh
# tierpress serve under load (not a test): uploads of a 12 MP phone JPEG at
# concurrency 1, 4, 16, 64 (bench/serve.py, a bounded http.client pool; every
# upload is new content; also at concurrency = cores), the server's RSS over many uploads, a hostile
# upload mixed in 1 in 20, and the per-upload time against `tierpress
# ingest` as a process per file and vipsthumbnail making the same proxies.
#   sh bench/serve.sh [JPEG]        (RSS_UPLOADS=2000 by default)
#   sh bench/serve.sh --pool-compare [JPEG]
#       a worker started per upload (--no-pool) against the resident pool:
#       uploads/s, p50/p99 at concurrency 1, 8, 64 and the CPU seconds
#       (user+sys) of the server and every worker it started
set -e
cd "$(dirname "$0")/.."
make -s tierpress
if [ "${1:-}" = --pool-compare ]; then
    IMG=${2:-samples/photo-nikon-d40-1000x665-exif.jpg}
    W=$(mktemp -d /var/tmp/tpserve.XXXX)
    TOK=bench-token-0123456789abcdef
    echo "bench $TOK" >"$W/tokens"
    echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); image $IMG"
    for mode in no-pool pool; do
        # (time(1) reports the server with the workers it reaped: all of them by its exit)
        nice /usr/bin/time -f "{\"mode\": \"$mode\", \"cpu_user_s\": %U, \"cpu_sys_s\": %S}" -o "$W/$mode.cpu" \
            ./tierpress --home "$W/home-$mode" serve --listen 127.0.0.1:0 --tokens "$W/tokens" --queue 128 \
            --queue-wait 600 $([ $mode = no-pool ] && echo --no-pool) >"$W/serve.out" 2>"$W/serve.err" &
        TPID=$!
        for i in $(seq 1 100); do grep -q listening "$W/serve.out" && break; sleep 0.1; done
        URL=$(sed -n 's|^listening on \(http://[0-9.:]*\)/$|\1|p' "$W/serve.out")
        SPID=$(pgrep -P $TPID)
        for c in 1 8 64; do
            n=$((c == 1 ? 24 : c == 8 ? 48 : 128))
            nice /usr/bin/python3 bench/serve.py "$URL" "$TOK" "$IMG" $c $n --pid "$SPID" --salt "$mode$c" |
                sed "s/^{/{\"mode\": \"$mode\", /"
        done
        kill -TERM "$SPID"
        wait $TPID || true
        SPID=""
        cat "$W/$mode.cpu"
    done
    rm -rf "$W"
    exit 0
fi
IMG=${1:-samples/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg}
W=$(mktemp -d /var/tmp/tpserve.XXXX)
PY=/usr/bin/python3
TOK=bench-token-0123456789abcdef
SPID=""
trap '[ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$W"' EXIT
echo "bench $TOK" >"$W/tokens"
echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); image $IMG"

./tierpress --home "$W/home" serve --listen 127.0.0.1:0 --tokens "$W/tokens" --queue 128 \
    >"$W/serve.out" 2>"$W/serve.err" &
SPID=$!
for i in $(seq 1 100); do grep -q listening "$W/serve.out" && break; sleep 0.1; done
URL=$(sed -n 's|^listening on \(http://[0-9.:]*\)/$|\1|p' "$W/serve.out")

for c in $(printf "%s\n" 1 "$(nproc)" 4 16 64 | sort -nu); do
    n=$((c * 3 < 12 ? 12 : c * 3))
    $PY bench/serve.py "$URL" "$TOK" "$IMG" $c $n --pid $SPID --salt "c$c"
done
# hostile mix: 1 in 20 from tests/media/broken, concurrency = cores
$PY bench/serve.py "$URL" "$TOK" "$IMG" "$(nproc)" 60 --hostile tests/media/broken --every 20 --pid $SPID --salt hostile
# RSS over many uploads of a smaller photo (disk: one original each)
SMALL=samples/photo-nikon-d40-1000x665-exif.jpg
for k in 1 2 3 4; do
    $PY bench/serve.py "$URL" "$TOK" "$SMALL" "$(nproc)" "$(( ${RSS_UPLOADS:-2000} / 4 ))" --pid $SPID --salt "rss$k"
done
kill -TERM $SPID
wait $SPID || true
SPID=""

# the same work as processes: `tierpress ingest` (fresh content each run)
# and vipsthumbnail making the same two proxies
i=0
hyperfine -N --warmup 1 --runs 10 --export-json "$W/hf.json" \
    --prepare "sh -c 'cp $IMG $W/in.jpg; printf \"tp-bench-\$(date +%s%N)\" >>$W/in.jpg'" \
    "./tierpress --home $W/home2 -q ingest $W/in.jpg" \
    "sh -c 'vipsthumbnail $IMG -s 256 -o $W/t.webp[Q=80] && vipsthumbnail $IMG -s 2048 -o $W/p.jpg[Q=85]'" >/dev/null
$PY -c '
import json,sys
r = json.load(open(sys.argv[1]))["results"]
for x in r: print(json.dumps({"command": x["command"].split()[0] if "tierpress" in x["command"] else "vipsthumbnail x2", "mean_ms": round(x["mean"]*1000), "stddev_ms": round(x["stddev"]*1000)}))
' "$W/hf.json"
