#!/bin/sh
# S3 store benchmarks (not a test). Appends to bench/RESULTS.md under
# "## S3 store":
#  1. ingest of samples/ into the embedded file store vs an S3 store on
#     loopback (Swift + s3api, scripts/s3-up): MB/s and assets/s;
#  2. large-object PUT and GET through the store (sha256 verified while
#     streaming, multipart with parts in parallel) vs `curl --aws-sigv4`
#     moving the same bytes, with UNSIGNED-PAYLOAD and with the real payload
#     hash (sha256sum first, as tierpress must).
#   sh bench/s3.sh            (SIZE_MB=256 RUNS=3)
# Uses the server in TP_S3_* (scripts/s3-up --env) when set, else starts
# one with scripts/s3-up and stops it at the end.
set -eu
cd "$(dirname "$0")/.."
make -s tierpress
SIZE_MB=${SIZE_MB:-256}
RUNS=${RUNS:-3}
W=$(mktemp -d /var/tmp/tp-bench-s3.XXXXXX)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
STARTED=""
cleanup() {
    [ -n "$STARTED" ] && TP_S3_DIR=$STARTED ./scripts/s3-down >/dev/null 2>&1
    rm -rf "$W"
}
trap cleanup EXIT
if [ -z "${TP_S3_ENDPOINT:-}" ]; then
    STARTED=$W/server
    export TP_S3_DIR=$STARTED
    eval "$(./scripts/s3-up --env)"
fi
export AWS_ENDPOINT_URL=$TP_S3_ENDPOINT AWS_REGION=$TP_S3_REGION
export AWS_ACCESS_KEY_ID=$TP_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TP_S3_SECRET_KEY
B=$TP_S3_BUCKET
P=bench-$$

# the store driver, linked against the project's objects
OBJS=$(find build/src build/codecs -name '*.o' | grep -v 'build/src/cli/main.o' | sort)
INC="$(for d in src/*/; do printf -- '-I%s ' "${d%/}"; done)-Isrc -Icodecs"
PKGS=$(sed -n '/^PKGS/,/^$/p' Makefile | tr -d '\\' | sed 's/PKGS *=//' | tr '\n' ' ')
# shellcheck disable=SC2086
cc -std=gnu11 -O2 -D_GNU_SOURCE $INC -o "$W/bench_s3" bench/bench_s3.c $OBJS \
    $(pkg-config --libs $PKGS) -lz -lm -pthread

best() { sort -n | head -n 1; }
# secs CMD...: "<wall seconds> <CPU seconds of CMD and its children>"
secs() {
    /usr/bin/python3 -c 'import resource, subprocess, sys, time
t = time.monotonic()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f %.3f" % (time.monotonic() - t, r.ru_utime + r.ru_stime))' "$@"
}
wall() { cut -d' ' -f1; }
cpu() { cut -d' ' -f2; }

# --- 1. ingest samples/ ------------------------------------------------------
BYTES=$(cat samples/* 2>/dev/null | wc -c)
for r in $(seq 1 "$RUNS"); do
    rm -rf "$W/fs"
    secs sh -c "./tierpress -q --home $W/fs ingest samples/ >/dev/null 2>&1 || true" >>"$W/ing.fs"
    rm -rf "$W/s3" && mkdir -p "$W/s3"
    printf 'store: s3://%s/%s/ingest-%s\ns3:\n  storage_classes: false\n' "$B" "$P" "$r" >"$W/s3/tierpress.yaml"
    secs sh -c "./tierpress -q --home $W/s3 ingest samples/ >/dev/null 2>&1 || true" >>"$W/ing.s3"
done
NA=$(./tierpress --home "$W/s3" ls --json | wc -l)
NB=$(./tierpress --home "$W/s3" ls --json | /usr/bin/python3 -c 'import json,sys; print(sum(json.loads(l)["bytes"] for l in sys.stdin))')
FS=$(best <"$W/ing.fs" | wall)
S3=$(best <"$W/ing.s3" | wall)

# --- 2. large objects ----------------------------------------------------------
head -c $((SIZE_MB << 20)) /dev/urandom >"$W/big"
printf 'machine 127.0.0.1 login %s password %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$W/netrc"
chmod 600 "$W/netrc"
SIG="aws:amz:${AWS_REGION:-us-east-1}:s3"
URL=$TP_S3_ENDPOINT/$B/$P/curl-big
H=$(sha256sum <"$W/big" | cut -c1-64)
for r in $(seq 1 "$RUNS"); do
    secs "$W/bench_s3" put "$W/big" "s3://$B/$P/tp" >>"$W/tp.put"
    secs "$W/bench_s3" get "$H" "s3://$B/$P/tp" >>"$W/tp.get"
    TPURL=$TP_S3_ENDPOINT/$B/$P/tp/$(echo "$H" | cut -c1-2)/$(echo "$H" | cut -c3-4)/$H
    secs curl -sS -f -o /dev/null --aws-sigv4 "$SIG" --netrc-file "$W/netrc" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$TPURL" >>"$W/curlmp.get"
    "$W/bench_s3" rm "$H" "s3://$B/$P/tp"
    rm -rf "$W/fsstore"
    secs "$W/bench_s3" put "$W/big" "file://$W/fsstore" >>"$W/fs.put"
    secs "$W/bench_s3" get "$H" "file://$W/fsstore" >>"$W/fs.get"
    secs curl -sS -f -o /dev/null --aws-sigv4 "$SIG" --netrc-file "$W/netrc" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T "$W/big" "$URL" >>"$W/curl.put"
    secs sh -c "h=\$(sha256sum <'$W/big' | cut -c1-64); curl -sS -f -o /dev/null --aws-sigv4 '$SIG' \
        --netrc-file '$W/netrc' -H \"x-amz-content-sha256: \$h\" -T '$W/big' '$URL'" >>"$W/curlh.put"
    secs curl -sS -f -o /dev/null --aws-sigv4 "$SIG" --netrc-file "$W/netrc" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$URL" >>"$W/curl.get"
    secs sh -c "curl -sS -f --aws-sigv4 '$SIG' --netrc-file '$W/netrc' \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' '$URL' | sha256sum >/dev/null" >>"$W/curlh.get"
done
# best FILE: the fastest run's "wall cpu"
TPP=$(best <"$W/tp.put") TPG=$(best <"$W/tp.get") FSP=$(best <"$W/fs.put") FSG=$(best <"$W/fs.get")
CMG=$(best <"$W/curlmp.get") CP=$(best <"$W/curl.put") CPH=$(best <"$W/curlh.put") CG=$(best <"$W/curl.get") CGH=$(best <"$W/curlh.get")

mbs() { awk -v b="$1" -v s="$2" 'BEGIN{printf "%.1f", b / 1048576 / s}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a / b}'; }
{
    echo
    echo "## S3 store"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores, shared machine (load average at the start: $LOAD)."
    echo "Server: OpenStack Swift $(/usr/bin/python3 -c 'import swift; print(swift.__version__)') + s3api on loopback"
    echo "(\`scripts/s3-up\`, one proxy process, one object server). Command: \`sh bench/s3.sh\`"
    echo "(SIZE_MB=$SIZE_MB RUNS=$RUNS; best of $RUNS; tierpress defaults: multipart above 16 MiB, 16 MiB parts, 4 in flight)."
    echo
    echo "### Ingest of samples/ ($NA assets, $NB bytes stored as originals; proxies made too)"
    echo
    echo "| store | seconds | MB/s (originals) | assets/s |"
    echo "|:---|---:|---:|---:|"
    echo "| file (embedded default) | $FS | $(mbs "$NB" "$FS") | $(awk -v n="$NA" -v s="$FS" 'BEGIN{printf "%.2f", n/s}') |"
    echo "| s3 (Swift on loopback) | $S3 | $(mbs "$NB" "$S3") | $(awk -v n="$NA" -v s="$S3" 'BEGIN{printf "%.2f", n/s}') |"
    echo
    echo "s3 / file time: $(ratio "$S3" "$FS")."
    echo
    echo "### One ${SIZE_MB} MiB object (random bytes)"
    echo
    echo "| transfer | seconds | CPU s | MiB/s | tierpress / this (time) |"
    echo "|:---|---:|---:|---:|---:|"
    row() { echo "| $1 | $(echo "$2" | wall) | $(echo "$2" | cpu) | $(mbs $((SIZE_MB << 20)) "$(echo "$2" | wall)") | ${3:+$(ratio "$(echo "$3" | wall)" "$(echo "$2" | wall)")} |"; }
    row "tierpress PUT to S3 (\`bench_s3 put\`: sha256 while streaming to a temp file, then multipart, MD5 + sha256 per part)" "$TPP"
    row "curl --aws-sigv4 -T, UNSIGNED-PAYLOAD, one request" "$CP" "$TPP"
    row "sha256sum, then curl -T with that x-amz-content-sha256" "$CPH" "$TPP"
    row "tierpress PUT to a file:// store (the local part: hash, temp file, fsync, rename)" "$FSP"
    row "tierpress GET from S3 (\`bench_s3 get\`: HEAD, one GET streamed by a thread, sha256 checked)" "$TPG"
    row "curl --aws-sigv4 GET of the same multipart object, to /dev/null" "$CMG" "$TPG"
    row "curl --aws-sigv4 GET of curl's single-PUT object, to /dev/null" "$CG" "$TPG"
    row "curl GET piped to sha256sum" "$CGH" "$TPG"
    row "tierpress GET from a file:// store (sha256 checked)" "$FSG"
} | tee -a bench/RESULTS.md
