#!/bin/sh
# WebP and AVIF adapters (codecs/webp.c, codecs/avif.c) through
# `tierpress convert` and `tierpress info`, checked against outside tools:
# PIL (libwebp / libjpeg-turbo decodes), webpinfo, exiftool, avifenc,
# avifdec, and heif-convert (libheif, which applies irot/imir itself).
. "$(dirname "$0")/lib.sh"

NIKON=$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
IPHONE=$SAMPLES/photo-iphone6plus-2448x2448-exif-gps-orient6.jpg
AVIF=$SAMPLES/photo-800x533-8bit.avif

for tool in exiftool avifenc avifdec heif-convert webpinfo vips; do
    if ! have $tool; then
        skip "webp/avif suite" "$tool not installed"
        exit 0
    fi
done

# cmp.py A B MODE [ARG]: compares two images read with PIL (first frame).
#   exact        identical pixels (mode and size too)
#   psnr DB      PSNR over RGB >= DB
#   size WxH     A is W x H
cat >"$T/cmp.py" <<'EOF'
import sys
import numpy as np
from PIL import Image
def load(p):
    im = Image.open(p)
    im.seek(0)
    return im
a = load(sys.argv[1])
mode = sys.argv[3]
if mode == "size":
    got = "%dx%d" % a.size
    sys.exit(0 if got == sys.argv[4] else "size %s, expected %s" % (got, sys.argv[4]))
b = load(sys.argv[2])
if a.size != b.size:
    sys.exit("size %s vs %s" % (a.size, b.size))
if mode == "exact":
    if a.mode != b.mode:
        sys.exit("mode %s vs %s" % (a.mode, b.mode))
    x, y = np.asarray(a.convert(a.mode)).astype(int), np.asarray(b.convert(b.mode)).astype(int)
    d = np.abs(x - y)
    sys.exit(0 if d.max() == 0 else "%d samples differ, max %d" % ((d > 0).sum(), d.max()))
x = np.asarray(a.convert("RGB")).astype(float)
y = np.asarray(b.convert("RGB")).astype(float)
mse = ((x - y) ** 2).mean()
psnr = 99.0 if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)
lim = float(sys.argv[4])
sys.exit(0 if psnr >= lim else "PSNR %.2f dB < %.1f" % (psnr, lim))
EOF
cmpimg() { "$PY" "$T/cmp.py" "$@"; }
# info_eq FILE KEY VALUE: tierpress info --json FILE has KEY == VALUE
info_eq() {
    "$TP" info --json "$1" >"$T/info.json" 2>&1 || { echo "info failed: $(cat "$T/info.json")"; return 1; }
    v=$(jget "$T/info.json" "$2")
    [ "$v" = "$3" ] || { echo "$2 is '$v', expected '$3'"; return 1; }
}
# pil FILE EXPR: prints a PIL property of FILE (im is the image)
pil() { "$PY" -c "from PIL import Image; im = Image.open('$1'); print($2)"; }

# --- (a) WebP samples decode ------------------------------------------
for f in photo-rose-lossy photo-rose-lossless photo-rose-lossy-alpha anim-990x1050-8frames; do
    src=$SAMPLES/$f.webp
    # expected from libwebp's own tools/PIL, never from our decoder
    w=$(pil "$src" 'im.size[0]')
    h=$(pil "$src" 'im.size[1]')
    n=$(pil "$src" 'getattr(im, "n_frames", 1)')
    # alpha: the VP8X flag, or the VP8L header bit of a simple lossless file
    if webpinfo "$src" | grep -q 'Alpha: 1'; then a=true; else a=false; fi
    err=""
    for kv in "width $w" "height $h" "frames $n" "alpha $a"; do
        e=$(info_eq "$src" $kv) || err="$err $e"
    done
    if [ -z "$err" ]; then ok "webp info $f (${w}x$h, alpha $a, $n frames)"; else notok "webp info $f" "$err"; fi
    # full decode, re-encoded losslessly, equals libwebp's decode via PIL
    check "webp decode $f equals libwebp (lossless re-encode)" sh -c \
        "'$TP' convert --lossless '$src' '$T/$f.ll.webp' >/dev/null && '$PY' '$T/cmp.py' '$T/$f.ll.webp' '$src' exact"
done

# --- (b) JPEG -> WebP: lossless is exact, lossy is close ---------------
check "jpeg -> webp --lossless is pixel-exact" sh -c \
    "'$TP' convert --lossless '$NIKON' '$T/n.ll.webp' >/dev/null && '$PY' '$T/cmp.py' '$T/n.ll.webp' '$NIKON' exact"
check "jpeg -> webp lossy PSNR > 30 dB" sh -c \
    "'$TP' convert '$NIKON' '$T/n.webp' >/dev/null && '$PY' '$T/cmp.py' '$T/n.webp' '$NIKON' psnr 30"
check "webp lossless at effort 5 smaller than effort 0" sh -c \
    "'$TP' convert --lossless --effort 0 '$NIKON' '$T/e0.webp' >/dev/null &&
     '$TP' convert --lossless --effort 5 '$NIKON' '$T/e9.webp' >/dev/null &&
     [ \$(stat -c %s '$T/e9.webp') -lt \$(stat -c %s '$T/e0.webp') ]"
check "webp quality 30 smaller than quality 90" sh -c \
    "'$TP' convert --quality 30 '$NIKON' '$T/q30.webp' >/dev/null &&
     '$TP' convert --quality 90 '$NIKON' '$T/q90.webp' >/dev/null &&
     [ \$(stat -c %s '$T/q30.webp') -lt \$(stat -c %s '$T/q90.webp') ]"
check "webp alpha kept (lossy-alpha -> webp has alpha, RGBA)" sh -c \
    "'$TP' convert '$SAMPLES/photo-rose-lossy-alpha.webp' '$T/ra.webp' >/dev/null &&
     [ \"\$('$PY' -c \"from PIL import Image; print(Image.open('$T/ra.webp').mode)\")\" = RGBA ]"

# --- (c) metadata JPEG -> WebP / AVIF ------------------------------------
"$TP" convert --max-edge 400 "$IPHONE" "$T/iphone.webp" >/dev/null 2>&1
"$TP" convert --max-edge 400 "$IPHONE" "$T/iphone.avif" >/dev/null 2>&1
"$TP" convert "$NIKON" "$T/nikon.webp" >/dev/null 2>&1
"$TP" convert "$NIKON" "$T/nikon.avif" >/dev/null 2>&1
TAGS="-DateTimeOriginal -Make -Model -GPSLatitude -GPSLongitude -Orientation -ProfileDescription"
for pair in "iphone:$IPHONE" "nikon:$NIKON"; do
    name=${pair%%:*}
    src=${pair#*:}
    want=$(exiftool -s -s -s $TAGS "$src")
    "$TP" info --json "$src" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print([d[k] for k in ("capture_time","camera_make","camera_model","gps","orientation","icc")])' >"$T/want.info"
    for ext in webp avif; do
        out=$T/$name.$ext
        if [ ! -s "$out" ]; then
            notok "$name -> $ext metadata" "conversion failed"
            continue
        fi
        got=$(exiftool -s -s -s $TAGS "$out")
        if [ -n "$want" ] && [ "$got" = "$want" ]; then
            ok "$name -> $ext keeps EXIF/GPS/Orientation/ICC (exiftool: $(echo "$want" | wc -l) tags)"
        else
            notok "$name -> $ext keeps EXIF/GPS/Orientation/ICC (exiftool)" "got [$got] want [$want]"
        fi
        "$TP" info --json "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print([d[k] for k in ("capture_time","camera_make","camera_model","gps","orientation","icc")])' >"$T/got.info"
        if cmp -s "$T/want.info" "$T/got.info"; then
            ok "$name -> $ext keeps metadata (tierpress info: $(cat "$T/got.info"))"
        else
            notok "$name -> $ext keeps metadata (tierpress info)" "got $(cat "$T/got.info") want $(cat "$T/want.info")"
        fi
    done
done
# WebP writes EXIF as raw TIFF (no Exif\0\0 prefix) in a VP8X file
check "webp EXIF/ICCP/XMP chunks in VP8X" sh -c \
    "webpinfo '$T/nikon.webp' | grep -q 'Chunk EXIF' && webpinfo '$T/nikon.webp' | grep -q 'Chunk ICCP' &&
     webpinfo '$T/nikon.webp' | grep -q 'Chunk XMP' && webpinfo '$T/nikon.webp' | grep -q 'No error detected'"
# orientation 6 in AVIF is irot 3 (270 deg anti-clockwise); exiftool reads irot as Rotation
check "iphone orientation 6 -> avif irot (exiftool Rotation 270)" sh -c \
    "[ \"\$(exiftool -s -s -s -Rotation '$T/iphone.avif')\" = 270 ]"
check "iphone orientation 6 -> avif: tierpress orientation 6" info_eq "$T/iphone.avif" orientation 6
check "--keep nogps: no GPS in the avif" sh -c \
    "'$TP' convert --keep nogps --max-edge 200 '$IPHONE' '$T/nogps.avif' >/dev/null &&
     [ -z \"\$(exiftool -s -s -s -GPSLatitude '$T/nogps.avif')\" ] &&
     [ -n \"\$(exiftool -s -s -s -Make '$T/nogps.avif')\" ]"

# --- (d) AVIF --------------------------------------------------------------
avif_sample_info() {
    info_eq "$AVIF" width 800 && info_eq "$AVIF" height 533 && info_eq "$AVIF" bit_depth 8 &&
        info_eq "$AVIF" alpha false && [ "$(exiftool -s -s -s -ImageSize "$AVIF")" = 800x533 ]
}
check "avif sample info 800x533 8-bit, no alpha (exiftool agrees)" avif_sample_info
# the sample lacks the pixi box libavif's strict mode wants: avifdec needs
# --no-strict, we decode leniently after the strict attempt
avifdec --no-strict "$AVIF" "$T/a.avifdec.png" >/dev/null 2>&1
heif-convert "$AVIF" "$T/a.heif.png" >/dev/null 2>&1
"$TP" convert --lossless "$AVIF" "$T/a.webp" >/dev/null 2>&1
check "avif sample decode equals avifdec's" cmpimg "$T/a.webp" "$T/a.avifdec.png" exact
# libheif upsamples chroma differently: close, not equal
check "avif sample decode close to libheif's (PSNR > 33 dB)" cmpimg "$T/a.webp" "$T/a.heif.png" psnr 33

for ss in 420 422 444; do
    case $ss in 420) fmt=YUV420 ;; 422) fmt=YUV422 ;; 444) fmt=YUV444 ;; esac
    check "jpeg -> avif --subsampling $ss: avifdec decodes $fmt 200x130, PSNR > 30 dB" sh -c \
        "'$TP' convert --subsampling $ss '$NIKON' '$T/s$ss.avif' >/dev/null &&
         avifdec '$T/s$ss.avif' '$T/s$ss.png' | grep -q 'Format *: $fmt' &&
         '$PY' '$T/cmp.py' '$T/s$ss.png' - size 200x130 && '$PY' '$T/cmp.py' '$T/s$ss.png' '$NIKON' psnr 30"
done
for enc in aom svt rav1e; do
    check "jpeg -> avif --encoder $enc: avifdec decodes 200x130, PSNR > 30 dB" sh -c \
        "'$TP' convert --encoder $enc --effort 2 '$NIKON' '$T/e$enc.avif' >/dev/null 2>&1 &&
         avifdec '$T/e$enc.avif' '$T/e$enc.png' >/dev/null &&
         '$PY' '$T/cmp.py' '$T/e$enc.png' - size 200x130 && '$PY' '$T/cmp.py' '$T/e$enc.png' '$NIKON' psnr 30"
done
check_fails "--encoder bogus is refused" "$TP" convert --encoder bogus "$NIKON" "$T/bogus.avif"
check "--encoder bogus: usage error, no file" sh -c \
    "! '$TP' convert --encoder bogus '$NIKON' '$T/bogus.avif' 2>'$T/bogus.err' && grep -q \"unknown AVIF encoder 'bogus'\" '$T/bogus.err' && [ ! -e '$T/bogus.avif' ]"
check "avif quality 20 smaller than quality 90" sh -c \
    "'$TP' convert --quality 20 '$NIKON' '$T/q20.avif' >/dev/null && '$TP' convert --quality 90 '$NIKON' '$T/q90.avif' >/dev/null &&
     [ \$(stat -c %s '$T/q20.avif') -lt \$(stat -c %s '$T/q90.avif') ]"
check "jpeg -> avif --lossless is pixel-exact (identity matrix, 4:4:4)" sh -c \
    "'$TP' convert --lossless '$NIKON' '$T/ll.avif' >/dev/null &&
     avifdec '$T/ll.avif' '$T/ll.png' | grep -q 'Matrix Coeffs. : 0' &&
     '$TP' convert --lossless '$T/ll.avif' '$T/ll.webp' >/dev/null && '$PY' '$T/cmp.py' '$T/ll.webp' '$NIKON' exact"
check "avif without ICC signals sRGB nclx (1/13/6)" sh -c \
    "'$TP' convert --keep exif '$NIKON' '$T/nclx.avif' >/dev/null && avifdec '$T/nclx.avif' '$T/nclx.png' >'$T/nclx.txt' &&
     grep -q 'Color Primaries: 1' '$T/nclx.txt' && grep -q 'Transfer Char. : 13' '$T/nclx.txt' &&
     grep -q 'Matrix Coeffs. : 6' '$T/nclx.txt'"
check "alpha survives webp -> avif (avifdec RGBA)" sh -c \
    "'$TP' convert '$SAMPLES/photo-rose-lossy-alpha.webp' '$T/alpha.avif' >/dev/null &&
     avifdec '$T/alpha.avif' '$T/alpha.png' >/dev/null && '$PY' '$T/cmp.py' '$T/alpha.png' - size 400x301 &&
     [ \"\$('$PY' -c \"from PIL import Image; print(Image.open('$T/alpha.png').mode)\")\" = RGBA ] &&
     '$PY' '$T/cmp.py' '$T/alpha.png' '$SAMPLES/photo-rose-lossy-alpha.webp' psnr 30"

# a small, asymmetric, profile-free test picture for the orientation and
# bit-depth checks
vips crop "$SAMPLES/photo-astronaut-512x512-rgb8.png" "$T/src.png[strip]" 100 50 96 64

# decode: every irot/imir combination avifenc can write must give the
# orientation whose upright pixels equal what libheif displays
for a in 0 1 2 3; do
    for mm in n 0 1; do
        f=$T/r${a}m$mm
        args=""
        [ $a != 0 ] && args="--irot $a"
        [ $mm != n ] && args="$args --imir $mm"
        if ! avifenc -s 9 --min 0 --max 0 -y 444 $args "$T/src.png" "$f.avif" >/dev/null 2>&1 ||
            ! heif-convert "$f.avif" "$f.heif.png" >/dev/null 2>&1; then
            notok "avif irot $a imir $mm" "avifenc/heif-convert failed"
            continue
        fi
        o=$("$TP" info --json "$f.avif" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["orientation"])')
        check "avif irot $a imir $mm -> orientation $o displays like libheif" sh -c \
            "'$TP' convert --upright --lossless '$f.avif' '$f.up.webp' >/dev/null && '$PY' '$T/cmp.py' '$f.up.webp' '$f.heif.png' psnr 45"
    done
done

orient_enc() {
    "$TP" convert "$T/o$1.jpg" "$T/o$1.avif" >/dev/null &&
        heif-convert "$T/o$1.avif" "$T/o$1.heif.png" >/dev/null 2>&1 &&
        "$TP" convert --upright --lossless "$T/o$1.jpg" "$T/o$1.up.webp" >/dev/null &&
        cmpimg "$T/o$1.heif.png" "$T/o$1.up.webp" psnr 30 && info_eq "$T/o$1.avif" orientation "$1"
}
# WebP has only EXIF for orientation: an irot-only AVIF gets a minimal one
check "avif irot 3 (no EXIF) -> webp: EXIF Orientation 6 written" sh -c \
    "'$TP' convert '$T/r3mn.avif' '$T/r3.webp' >/dev/null &&
     [ \"\$(exiftool -s -s -s -n -Orientation '$T/r3.webp')\" = 6 ] && webpinfo '$T/r3.webp' | grep -q 'No error detected'"
check "avif irot 3 -> webp -> avif round trip keeps orientation 6" sh -c \
    "'$TP' convert '$T/r3.webp' '$T/r3b.avif' >/dev/null && [ \"\$(exiftool -s -s -s -Rotation '$T/r3b.avif')\" = 270 ]"

# grey JPEG (made with vips) -> WebP / AVIF: expanded to RGB, same grey
vips colourspace "$NIKON" "$T/grey.jpg" b-w
for ext in webp avif; do
    check "grey jpeg -> $ext decodes to the same grey (PSNR > 30 dB)" sh -c \
        "'$TP' convert '$T/grey.jpg' '$T/grey.$ext' >/dev/null && '$TP' convert --lossless '$T/grey.$ext' '$T/grey.$ext.webp' >/dev/null &&
         '$PY' '$T/cmp.py' '$T/grey.$ext.webp' '$T/grey.jpg' psnr 30"
done

# encode: JPEG with each EXIF orientation -> AVIF; libheif's display of the
# AVIF must equal the upright JPEG
for o in 1 2 3 4 5 6 7 8; do
    j=$T/o$o.jpg
    cp "$NIKON" "$j"
    exiftool -q -n -overwrite_original -Orientation=$o "$j"
    check "jpeg orientation $o -> avif: irot/imir display like the upright jpeg" orient_enc $o
done

# 10-bit AVIF from avifenc: bit_depth 10, decoded to the full range
if avifenc -d 10 -s 9 --min 4 --max 4 "$T/src.png" "$T/ten.avif" >/dev/null 2>&1; then
    check "10-bit avif: info bit_depth 10" info_eq "$T/ten.avif" bit_depth 10
    check "10-bit avif decode within 35 dB of the source PNG" sh -c \
        "'$TP' convert --lossless '$T/ten.avif' '$T/ten.webp' >/dev/null && '$PY' '$T/cmp.py' '$T/ten.webp' '$T/src.png' psnr 35"
    check "10-bit avif -> avif stays 10-bit (avifdec Bit Depth 10)" sh -c \
        "'$TP' convert '$T/ten.avif' '$T/ten2.avif' >/dev/null && avifdec '$T/ten2.avif' '$T/ten2.png' | grep -q 'Bit Depth *: 10' &&
         '$PY' '$T/cmp.py' '$T/ten2.png' '$T/src.png' psnr 35"
else
    notok "10-bit avif" "avifenc -d 10 failed"
fi

# --- (e) broken files ------------------------------------------------------
head -c 5000 "$SAMPLES/photo-rose-lossy.webp" >"$T/trunc.webp"
head -c 3000 "$SAMPLES/anim-990x1050-8frames.webp" >"$T/trunc-anim.webp"
{ head -c 20 "$SAMPLES/photo-rose-lossless.webp"; head -c 3000 /dev/urandom; } >"$T/garbage.webp"
head -c 20000 "$AVIF" >"$T/trunc.avif"
{ head -c 40 "$AVIF"; head -c 3000 /dev/urandom; } >"$T/garbage.avif"
"$PY" -c "
import random
d = bytearray(open('$AVIF', 'rb').read())
random.seed(7)
for i in range(len(d) - 60000, len(d)):
    d[i] = random.randrange(256)
open('$T/corrupt-payload.avif', 'wb').write(d)"
for f in trunc.webp trunc-anim.webp garbage.webp trunc.avif garbage.avif corrupt-payload.avif; do
    mkdir -p "$T/out-$f"
    "$TP" convert "$T/$f" "$T/out-$f/x.jpg" >/dev/null 2>"$T/err"
    st=$?
    lines=$(wc -l <"$T/err")
    if [ $st -eq 1 ] && [ "$lines" -eq 1 ] && grep -q "$f" "$T/err" && [ -z "$(ls -A "$T/out-$f")" ]; then
        ok "broken $f: exit 1, one line naming the file, no output ($(cut -c1-90 "$T/err"))"
    else
        notok "broken $f" "status $st, $lines lines: $(cat "$T/err"); left: $(ls -A "$T/out-$f")"
    fi
done
check_fails "empty webp refused by info" "$TP" info "$BROKEN/empty-0-bytes.webp"
