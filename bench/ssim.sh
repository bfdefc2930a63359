#!/bin/sh
# SSIM benchmark (not a test; takes ~1 min).  Prints a markdown section for
# bench/RESULTS.md ("## SSIM") with the exact commands and the numbers.
#   make && make tests/checkasm/checkasm && bench/ssim.sh
# Pair: the 12 MP Xiaomi photo from samples/ against its vips q80 re-encode.
set -e
cd "$(dirname "$0")/.."
TP=${TP:-./tierpress}
PY=/usr/bin/python3
A=samples/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cp "$A" "$T/a.jpg"
vips copy "$A" "$T/b.jpg[Q=80]"
vips copy "$T/a.jpg" "$T/a.png"
vips copy "$T/b.jpg" "$T/b.png"

# best of N: the compare stage only (decode excluded), from --time
compare_ms() {
    for i in 1 2 3 4 5; do "$TP" ssim --time "$@" "$T/a.jpg" "$T/b.jpg" 2>&1 >/dev/null; done |
        sed 's/.*compare \([0-9.]*\) ms.*/\1/' | sort -n | head -n 1
}

echo "## SSIM"
echo
echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs (shared with other jobs),"
echo "$(uname -sr), gcc $(gcc -dumpversion).  Date: $(date -u +%Y-%m-%d)."
echo "Pair: \`$A\` (4000x3000) against \`vips copy a.jpg b.jpg[Q=80]\`;"
echo "result: \`$("$TP" ssim --json "$T/a.jpg" "$T/b.jpg")\`."
echo
echo "### Kernels (\`tests/checkasm/checkasm --bench\`, ns per pixel, one thread)"
echo
echo '```'
./tests/checkasm/checkasm --bench --test=ssim | grep '^# bench' | sed 's/^# bench //'
./tests/checkasm/checkasm --bench --test=ssim_real | grep '^# bench' | sed 's/^# bench //'
echo '```'
echo "(ssim_real = the whole compare, luma + Cb + Cr, on the 1000x665 sample.)"
echo
echo "### Compare stage on 12 MP (\`tierpress ssim --time ...\`, best of 5, decode excluded)"
echo
n=$(nproc)
for args in "--threads 1 --luma-only" "--threads 1" "--threads $n --luma-only" "--threads $n"; do
    # shellcheck disable=SC2086
    ms=$(compare_ms $args)
    echo "- \`tierpress ssim --time $args a.jpg b.jpg\`: $ms ms = $(echo "$ms" | awk '{printf "%.1f", 12000/$1}') MP/s"
done
echo
echo "### skimage on the same pair (decoded planes in memory, SSIM call only)"
echo
"$PY" - "$T/a.png" "$T/b.png" <<'PYEOF'
import sys, time
import numpy as np
from skimage.io import imread
from skimage.metrics import structural_similarity as ssim
a = imread(sys.argv[1]).astype(np.float64); b = imread(sys.argv[2]).astype(np.float64)
def y(x): return 0.299 * x[..., 0] + 0.587 * x[..., 1] + 0.114 * x[..., 2]
def cb(x): return 128 - 0.168736 * x[..., 0] - 0.331264 * x[..., 1] + 0.5 * x[..., 2]
def cr(x): return 128 + 0.5 * x[..., 0] - 0.418688 * x[..., 1] - 0.081312 * x[..., 2]
kw = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
t = time.perf_counter(); m = ssim(y(a), y(b), **kw); tl = time.perf_counter() - t
t = time.perf_counter(); mc = [ssim(f(a), f(b), **kw) for f in (cb, cr)]; tc = time.perf_counter() - t
print("- skimage 0.19.3 `structural_similarity(Y_a, Y_b, %s)`: %.0f ms (luma %.6f)" % (
    ", ".join("%s=%s" % kv for kv in kw.items()), tl * 1e3, m))
print("- skimage, luma + Cb + Cr: %.0f ms" % ((tl + tc) * 1e3))
PYEOF
echo
echo "### Whole process: decode both JPEGs + SSIM (\`hyperfine -w 2 -r 10\`)"
echo
hyperfine -N -w 2 -r 10 --export-markdown "$T/h.md" \
    "$TP ssim $T/a.jpg $T/b.jpg" \
    "$TP ssim --luma-only $T/a.jpg $T/b.jpg" \
    "ffmpeg -nostdin -loglevel error -i $T/a.jpg -i $T/b.jpg -lavfi ssim -f null -" >/dev/null
sed "s|$T/||g" "$T/h.md"
echo
echo "(ffmpeg's ssim filter uses 8x8 windows on 4x4 steps over yuvj420p, a"
echo "cheaper and different measure; it is here as a speed yardstick only.)"
