#!/bin/sh
# tierpress ssim against scikit-image (the outside reference, via
# tests/ssim_ref.py) on real photos re-encoded by outside tools, plus the
# command's contract: identical -> exactly 1, size mismatch -> clean error,
# thread count and ISA do not change the result, --map, --luma-only.
. "$(dirname "$0")/lib.sh"

if ! "$PY" -c 'import skimage, numpy' >/dev/null 2>&1 || ! have vips; then
    skip "ssim/skimage" "needs /usr/bin/python3 with skimage and vips"
    exit 0
fi
REF="$PY ${TP_ROOT:-.}/tests/ssim_ref.py"
PHOTOS="photo-nikon-d40-1000x665-exif.jpg photo-nokia-lumia820-1278x720-exif-gps.jpg
photo-whatsapp-1024x768-noexif-progressive.jpg"

# Does this build decode PNG?  (The PNG adapter is optional.)
vips copy "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/probe.png"
if "$TP" ssim "$T/probe.png" "$T/probe.png" >/dev/null 2>&1; then PNG_OK=1; else PNG_OK=0; fi

# feed DECODED.png: prints the file tierpress is given for those pixels:
# the PNG, or without a PNG decoder a JPEG q100 4:4:4 of it (whose decode
# the reference then reads, so both sides see the same pixels).
feed() {
    if [ $PNG_OK = 1 ]; then echo "$1"; return; fi
    vips copy "$1" "${1%.png}.wrap.jpg[Q=100,subsample-mode=off]" && echo "${1%.png}.wrap.jpg"
}
# pix FILE: a PNG of FILE's pixels as stored (no autorotation)
pix() {
    case "$1" in
    *.png) echo "$1" ;;
    *) o="$T/pix.$(basename "$1").png"; vips copy "$1" "$o" && echo "$o" ;;
    esac
}

cases="$T/cases"
: >"$cases"
add() { # NAME TP_A TP_B [PY_A PY_B]
    [ -f "$2" ] && [ -f "$3" ] || { notok "ssim/make-$1" "could not make the test pair"; return; }
    echo "$1 $2 $3 ${4:-$(pix "$2")} ${5:-$(pix "$3")}" >>"$cases"
}
for p in $PHOTOS; do
    a="$SAMPLES/$p"
    n=$(echo "$p" | cut -d- -f2)
    vips copy "$a" "$T/$n.q40.jpg[Q=40]"
    add "$n-vips-q40" "$a" "$T/$n.q40.jpg"
    if have cwebp && have dwebp; then
        cwebp -quiet -q 50 "$a" -o "$T/$n.webp" && dwebp -quiet "$T/$n.webp" -o "$T/$n.webp.png"
        add "$n-cwebp-q50" "$a" "$(feed "$T/$n.webp.png")"
    fi
    if have avifenc && have avifdec; then
        avifenc -s 8 --min 30 --max 30 "$a" "$T/$n.avif" >/dev/null &&
            avifdec "$T/$n.avif" "$T/$n.avif.png" >/dev/null
        add "$n-avifenc-q30" "$a" "$(feed "$T/$n.avif.png")"
    fi
done
# orientation 6 (a 734x500 crop keeping the EXIF tag) against an upright
# re-encode (pixels rotated, tag 1): compared as displayed, 500x734
vips resize "$SAMPLES/photo-iphone6plus-2448x2448-exif-gps-orient6.jpg" "$T/o6.v" 0.3
vips extract_area "$T/o6.v" "$T/o6.jpg[Q=90]" 0 0 734 500
vips autorot "$T/o6.jpg" "$T/up.jpg[Q=40]"
vips autorot "$T/o6.jpg" "$T/o6up.png"
add "orient6-vs-upright" "$T/o6.jpg" "$T/up.jpg" "$T/o6up.png" "$(pix "$T/up.jpg")"

# the reference, one python run for all pairs
# shellcheck disable=SC2046
$REF $(awk '{print $4, $5}' "$cases") >"$T/ref.jsonl" 2>"$T/ref.err" ||
    notok "ssim/skimage-reference" "$(tail -n 2 "$T/ref.err")"
: >"$T/tp.jsonl"
: >"$T/tpc.jsonl"
while read -r name a b pa pb; do
    "$TP" ssim --json "$a" "$b" >>"$T/tp.jsonl" 2>"$T/err" || echo '{"error":1}' >>"$T/tp.jsonl"
    TP_CPU_MASK=0 "$TP" ssim --json "$a" "$b" >>"$T/tpc.jsonl" 2>>"$T/err" ||
        echo '{"error":1}' >>"$T/tpc.jsonl"
done <"$cases"
"$PY" - "$cases" "$T/ref.jsonl" "$T/tp.jsonl" "$T/tpc.jsonl" <<'PYEOF'
import json, sys
names = [l.split()[0] for l in open(sys.argv[1])]
ref = [json.loads(l) for l in open(sys.argv[2])]
tp = [json.loads(l) for l in open(sys.argv[3])]
tpc = [json.loads(l) for l in open(sys.argv[4])]
for i, name in enumerate(names):
    r = ref[i] if i < len(ref) else {}
    t = tp[i] if i < len(tp) else {"error": 1}
    if "error" in t or not r:
        print("not ok - ssim/skimage-%s: tierpress or the reference failed" % name)
        continue
    bad = []
    for k, tol in (("ssim", 1e-4), ("ssim_cb", 1e-4), ("ssim_cr", 1e-4), ("min_tile", 1e-3)):
        d = abs(t[k] - r[k])
        if not d <= tol:
            bad.append("%s %.6f vs skimage %.6f" % (k, t[k], r[k]))
    if not (0.3 < t["ssim"] < 0.9999):
        bad.append("implausible ssim %.6f for a lossy re-encode" % t["ssim"])
    if bad:
        print("not ok - ssim/skimage-%s: %s" % (name, "; ".join(bad)))
    else:
        print("ok - ssim/skimage-%s (ssim %.5f, |diff| %.1e)" % (name, t["ssim"], abs(t["ssim"] - r["ssim"])))
    c = tpc[i] if i < len(tpc) else {"error": 1}
    # the kernels are bit-exact across ISAs: C-only must give the same numbers
    if c == t:
        print("ok - ssim/c-equals-simd-%s" % name)
    else:
        print("not ok - ssim/c-equals-simd-%s: C %s vs SIMD %s" % (name, c, t))
PYEOF
grep -q '"width":500,"height":734' "$T/tp.jsonl" && ok "ssim/orient6-compared-upright" ||
    notok "ssim/orient6-compared-upright" "expected the displayed size 500x734"

# identical images: exactly 1
a="$SAMPLES/photo-nikon-d40-1000x665-exif.jpg"
out=$("$TP" ssim "$a" "$a" 2>&1)
[ "$out" = "1.000000" ] && ok "ssim/identical-plain" || notok "ssim/identical-plain" "$out"
out=$("$TP" ssim --json "$a" "$a" 2>&1)
case "$out" in
'{"ssim":1,"min_tile":1,"ssim_cb":1,"ssim_cr":1,"width":1000,"height":665}') ok "ssim/identical-exactly-1" ;;
*) notok "ssim/identical-exactly-1" "$out" ;;
esac

# different sizes: a clean error naming B and both sizes
vips resize "$a" "$T/half.jpg" 0.5
"$TP" ssim "$a" "$T/half.jpg" >"$T/out" 2>"$T/err"
st=$?
if [ $st = 1 ] && grep -q "^tierpress: $T/half.jpg: .*A is 1000x665, B is 500x333" "$T/err"; then
    ok "ssim/size-mismatch-error"
else
    notok "ssim/size-mismatch-error" "status $st: $(cat "$T/err")"
fi
check_fails "ssim/broken-input" "$TP" ssim "$a" "$BROKEN/cve-2017-2862.jpg"
"$TP" ssim "$a" "$T/missing.jpg" 2>"$T/err"
grep -q "missing.jpg" "$T/err" && ok "ssim/missing-file-named" || notok "ssim/missing-file-named" "$(cat "$T/err")"
"$TP" ssim "$a" >/dev/null 2>&1
[ $? = 2 ] && ok "ssim/usage-error" || notok "ssim/usage-error" "expected status 2"

# thread count and --luma-only do not change the luma result
b="$T/nikon.q40.jpg"
t1=$("$TP" ssim --json --threads 1 "$a" "$b")
t2=$("$TP" ssim --json --threads 2 "$a" "$b")
t7=$("$TP" ssim --json --threads 7 "$a" "$b")
[ "$t1" = "$t2" ] && [ "$t1" = "$t7" ] && ok "ssim/threads-deterministic" ||
    notok "ssim/threads-deterministic" "$t1 / $t2 / $t7"
l=$("$TP" ssim --json --luma-only "$a" "$b")
full_y=$(echo "$t1" | sed 's/.*"ssim":\([^,]*\),"min_tile":\([^,]*\),.*/\1 \2/')
luma_y=$(echo "$l" | sed 's/.*"ssim":\([^,]*\),"min_tile":\([^,]*\),.*/\1 \2/')
case "$l" in
*'"ssim_cb":null,"ssim_cr":null'*) [ "$full_y" = "$luma_y" ] && ok "ssim/luma-only" ||
    notok "ssim/luma-only" "luma $luma_y vs full $full_y" ;;
*) notok "ssim/luma-only" "$l" ;;
esac

# --map: a grey picture whose mean is the (uncropped) mean SSIM
if "$TP" ssim --map "$T/map.out" "$a" "$b" >/dev/null 2>"$T/err"; then
    vips copy "$T/map.out" "$T/map.png"
    m=$("$PY" -c 'import sys; from skimage.io import imread; x = imread(sys.argv[1]); print(x.shape[1], x.shape[0], x.ndim, x.mean() / 255)' "$T/map.png")
    y=$(echo "$t1" | sed 's/.*"ssim":\([^,]*\),.*/\1/')
    if echo "$m $y" | awk '{ d = $4 - $5; exit !($1 == 1000 && $2 == 665 && $3 == 2 && d < 0.01 && d > -0.01) }'; then
        ok "ssim/map"
    else
        notok "ssim/map" "map w h ndim mean: $m; ssim $y"
    fi
else
    notok "ssim/map" "$(cat "$T/err")"
fi
