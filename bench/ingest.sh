#!/bin/sh
# Ingest and proxy benchmarks (not a test).  Appends to bench/RESULTS.md
# under "## Ingest and proxies".  Needs hyperfine and vipsthumbnail;
# ImageMagick's convert-im6.q16 is used when installed.
#   sh bench/ingest.sh [12MP-JPEG]
# BEFORE=REV also times bench_proxy built with src/image.c and src/proxy.c
# as of git revision REV (the rest as now), in the same hyperfine run.
set -e
cd "$(dirname "$0")/.."
make -s tierpress
IMG=${1:-samples/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg}
W=$(mktemp -d)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/tp" "$W/vt"

# the proxy-only driver, linked against the project's objects
OBJS=$(find build/src build/codecs -name '*.o' | grep -v 'build/src/cli/main.o' | sort)
INC="$(for d in src/*/; do printf -- '-I%s ' "${d%/}"; done)-Isrc -Icodecs"
# the Makefile's PKGS (the objects include the S3 store: libcurl, libxml2, libcrypto)
PKGS=$(sed -n '/^PKGS/,/^$/p' Makefile | tr -d '\\' | sed 's/PKGS *=//' | tr '\n' ' ')
# shellcheck disable=SC2086
cc -std=gnu11 -O2 -D_GNU_SOURCE $INC -o "$W/bench_proxy" bench/bench_proxy.c $OBJS \
    $(pkg-config --libs $PKGS) -lz -lm -pthread
if [ -n "${BEFORE:-}" ]; then
    mkdir -p "$W/before/src" "$W/tpb"
    for f in image proxy; do
        { git show "$BEFORE:src/media/$f.c" 2>/dev/null || git show "$BEFORE:src/$f.c"; } >"$W/before/src/$f.c"
        # shellcheck disable=SC2046
        cc -std=gnu11 -O2 -g -pthread -D_GNU_SOURCE $INC $(pkg-config --cflags $PKGS) \
            -c "$W/before/src/$f.c" -o "$W/before/$f.o"
    done
    # shellcheck disable=SC2086
    cc -std=gnu11 -O2 -D_GNU_SOURCE $INC -o "$W/bench_proxy_before" bench/bench_proxy.c \
        $(echo $OBJS | tr ' ' '\n' | grep -v 'build/src/media/image.o\|build/src/media/proxy.o') "$W/before/image.o" \
        "$W/before/proxy.o" $(pkg-config --libs $PKGS) -lz -lm -pthread
fi

SPECS="thumb:webp:256:80 medium:jpeg:1024:85 preview:jpeg:2048:85"
IM=
command -v convert-im6.q16 >/dev/null 2>&1 && IM=convert-im6.q16
set -- \
    -n "tierpress proxies (256 webp + 1024 + 2048 jpeg)" "$W/bench_proxy $IMG $W/tp $SPECS" \
    -n "tierpress --help (process start alone)" "./tierpress --help" \
    -n "vipsthumbnail same three" "vipsthumbnail $IMG -s 256 -o $W/vt/t.webp[Q=80] && vipsthumbnail $IMG -s 1024 -o $W/vt/m.jpg[Q=85] && vipsthumbnail $IMG -s 2048 -o $W/vt/p.jpg[Q=85]" \
    -n "vipsthumbnail 2048 jpeg alone" "vipsthumbnail $IMG -s 2048 -o $W/vt/p.jpg[Q=85]" \
    -n "vipsthumbnail 256 jpeg alone" "vipsthumbnail $IMG -s 256 -o $W/vt/t.jpg[Q=85]" \
    -n "tierpress ingest, full path (store+catalog+fsync)" "rm -rf $W/h && ./tierpress --home $W/h ingest --proxy medium:jpeg:1024:85 $IMG"
if [ -n "${BEFORE:-}" ]; then
    set -- "$@" -n "tierpress proxies before ($BEFORE)" "$W/bench_proxy_before $IMG $W/tpb $SPECS"
fi
if [ -n "$IM" ]; then
    set -- "$@" -n "ImageMagick 256 (jpeg:size hint)" "$IM -define jpeg:size=512x512 $IMG -auto-orient -thumbnail 256x256 $W/vt/im.jpg"
fi
hyperfine --warmup 2 --runs ${RUNS:-10} --export-json "$W/proxies.json" "$@" >"$W/hf.txt" 2>&1
cat "$W/hf.txt"

# ingest throughput on samples/: fresh home per run
NS=$(ls samples | grep -vc '\.md$')
hyperfine --warmup 1 --runs 5 -i --export-json "$W/ing.json" \
    -n "ingest samples/ ($NS files)" "rm -rf $W/h2 && ./tierpress -q --home $W/h2 ingest samples/ >/dev/null" >/dev/null 2>&1
MEAN=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["mean"])' "$W/ing.json")
NOK=$(rm -rf "$W/h3"; ./tierpress -q --home "$W/h3" ingest --json samples/ 2>/dev/null | grep -c '"asset"' || true)

{
    echo
    echo "## Ingest and proxies"
    echo
    echo "$(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), shared machine."
    echo "Input: $IMG ($(./tierpress info --json "$IMG" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["width"],"x",d["height"],d["format"])'))."
    echo "Command: \`${BEFORE:+BEFORE=$BEFORE }sh bench/ingest.sh\` (hyperfine; bench_proxy = decode + 3 proxies + write, no store); load average at the start: $LOAD."
    [ -z "$IM" ] && echo "ImageMagick (convert-im6.q16) is not installed: skipped."
    echo
    /usr/bin/python3 - "$W/proxies.json" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
print("| Command | Mean [ms] | Min [ms] | CPU user+sys [ms] |")
print("|:---|---:|---:|---:|")
for r in res:
    print(f"| `{r['command']}` | {r['mean']*1e3:.1f} ± {r['stddev']*1e3:.1f} | {r['min']*1e3:.1f} | "
          f"{(r['user'] + r['system'])*1e3:.1f} |")
print()
tp = res[0]
for r in res[1:]:
    print(f"- {r['command']}: {r['mean']*1e3:.1f} ms (min {r['min']*1e3:.1f}); tierpress proxies take "
          f"{tp['mean'] / r['mean']:.2f}x of its mean, {tp['min'] / r['min']:.2f}x of its min")
PY
    echo "- ingest throughput on samples/: $NOK assets of $NS files in $(printf %.3f "$MEAN") s = $(/usr/bin/python3 -c "print(round($NS/$MEAN,1))") files/s (videos included: each gets poster, thumb and an H.264 preview encode)"
} | tee -a bench/RESULTS.md
