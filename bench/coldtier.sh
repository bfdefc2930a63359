#!/bin/sh
# Cold-tier decision cost (issue 15), not a test: CPU-s/MP of the whole
# `convert --ssim S --codecs jxl,avif,heic` decision, bytes and Butteraugli
# (bench/RESULTS.md, "Cold tier at <= 1 CPU-s/MP").
#   make && bench/coldtier.sh                 (from the repo root)
# Photos: bench/quality.sh's 12 (camera JPEGs as is, > 3 MP ones as ~2.5 MP
# q92 JPEGs) plus the full-size (>= 12 MP) phone JPEGs of ../shared/corpus/jpeg,
# used as the camera wrote them; without the corpus those are skipped (said so).
# Environment: TP (default ./tierpress), TP_BEFORE (a build of the branch
# point, for the "before" variant), VARIANTS (default "after"; any of before
# after no-mosaic no-predict no-presets cli), FLOORS (default "0.997 0.99"), FULL_ONLY=1
# (the full-size photos only), NO_FULL=1 (without them), WORK (work dir,
# reused to resume).
set -e
cd "$(dirname "$0")/.."
TP=${TP:-./tierpress}
PY=/usr/bin/python3
CORPUS=${CORPUS:-../shared/corpus/jpeg}
[ -x "$TP" ] || { echo "coldtier.sh: $TP not found: run make first" >&2; exit 1; }
for t in vips vipsheader butteraugli_main djxl cjxl avifenc avifdec heif-enc heif-convert; do
    command -v "$t" >/dev/null 2>&1 || { echo "coldtier.sh: $t missing" >&2; exit 1; }
done
WORK=${WORK:-$(mktemp -d /tmp/tp-coldtier.XXXXXX)}
mkdir -p "$WORK"
list="$WORK/photos.txt"
: >"$list"
if [ -z "$FULL_ONLY" ]; then
    for f in samples/photo-*.jpg "$CORPUS"/photo-*.jpg; do
        [ -f "$f" ] || continue
        case "$f" in *12bit* | *arithmetic*) continue ;; esac
        b=$(basename "$f")
        grep -q "/$b\$" "$list" && continue
        w=$(vipsheader -f width "$f" 2>/dev/null) || continue
        h=$(vipsheader -f height "$f" 2>/dev/null) || continue
        [ "$w" -ge 300 ] && [ "$h" -ge 300 ] || continue
        echo "$f" >>"$list"
    done
    sort -t/ -k2 "$list" | awk -F/ '{n=$NF; if (n ~ /mia3/ && seen++) extra[++e]=$0; else print} END {for (i=1;i<=e;i++) print extra[i]}' |
        head -n 12 >"$list.sel"
else
    : >"$list.sel"
fi
nfull=0
if [ -n "$NO_FULL" ]; then
    :
elif [ -d "$CORPUS" ]; then
    for f in "$CORPUS"/photo-*.jpg; do
        w=$(vipsheader -f width "$f" 2>/dev/null) || continue
        h=$(vipsheader -f height "$f" 2>/dev/null) || continue
        [ $((w * h)) -ge 11900000 ] || continue
        echo "full:$f" >>"$list.sel"
        nfull=$((nfull + 1))
    done
else
    echo "coldtier.sh: $CORPUS not found: the full-size photos are skipped" >&2
fi
echo "coldtier.sh: $(wc -l <"$list.sel") photos ($nfull full-size), work dir $WORK" >&2
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2046
TP=$TP $PY bench/coldtier.py run "$WORK" $(cat "$list.sel") >&2
echo "$(date -u +%Y-%m-%dT%H:%MZ) VARIANTS='${VARIANTS:-after}' FLOORS='${FLOORS:-0.997 0.99}': load average $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end" >>"$WORK/runs.txt"
sed 's/^/- /' "$WORK/runs.txt"
echo
$PY bench/coldtier.py report "$WORK"
