# JPEG adapter, the image pipeline and the CLI contract, on real photos.
. tests/lib.sh

psnr() { # psnr A.ppm/png B : via numpy on images decoded by libvips (outside reference)
    "$PY" - "$1" "$2" <<'PYEOF'
import sys, subprocess, numpy as np, tempfile, os
from PIL import Image
def load(p):
    # libvips decodes (pixels as stored, no autorotate), PIL reads its PNG
    out = os.path.join(tempfile.mkdtemp(), "x.png")
    subprocess.run(["vips", "copy", p, out], check=True, capture_output=True)
    im = Image.open(out)
    a = np.asarray(im.convert("RGB")).astype(np.float64)
    return a
a, b = load(sys.argv[1]), load(sys.argv[2])
if a.shape != b.shape:
    print("shape", a.shape, b.shape); sys.exit(0)
mse = ((a - b) ** 2).mean()
print("inf" if mse == 0 else "%.2f" % (10 * np.log10(255.0 ** 2 / mse)))
PYEOF
}

J=$SAMPLES/photo-nokia-lumia820-1278x720-exif-gps.jpg
O6=$SAMPLES/photo-iphone6plus-2448x2448-exif-gps-orient6.jpg
P6=$SAMPLES/photo-panasonic-gf1-640x428-exif-orient6.jpg
O3=$SAMPLES/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg
ICC=$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg

# info agrees with exiftool
"$TP" info --json "$O6" >"$T/i.json"
[ "$(jget "$T/i.json" orientation)" = 6 ] && [ "$(jget "$T/i.json" width)" = 2448 ] &&
    [ "$(jget "$T/i.json" camera_model)" = "$(exiftool -s -s -s -Model "$O6")" ] &&
    [ "$(jget "$T/i.json" capture_time)" = "$(exiftool -s -s -s -d '%Y-%m-%dT%H:%M:%S' -DateTimeOriginal "$O6")" ] &&
    [ "$(jget "$T/i.json" gps)" = true ] && ok "info: iPhone fields match exiftool" || notok "info: iPhone fields" "$(cat "$T/i.json")"
"$TP" info --json "$ICC" >"$T/i.json"
[ "$(jget "$T/i.json" icc)" = "$(exiftool -s -s -s -ProfileDescription "$ICC")" ] && ok "info: ICC description matches exiftool" || notok "info: ICC description" "$(cat "$T/i.json")"
"$TP" info --json "$SAMPLES/photo-whatsapp-1024x768-noexif-progressive.jpg" >"$T/i.json"
[ "$(jget "$T/i.json" gps)" = false ] && [ "$(jget "$T/i.json" orientation)" = 1 ] && ok "info: no EXIF -> orientation 1, no GPS" || notok "info: no EXIF"

# JPEG -> JPEG keeps metadata, quality round trip
check "convert jpeg->jpeg" "$TP" convert "$ICC" "$T/a.jpg" --quality 95
for tag in DateTimeOriginal Make Model Orientation ProfileDescription; do
    a=$(exiftool -s -s -s -$tag "$ICC"); b=$(exiftool -s -s -s -$tag "$T/a.jpg")
    [ -n "$a" ] && [ "$a" = "$b" ] && ok "jpeg keeps $tag" || notok "jpeg keeps $tag" "'$a' vs '$b'"
done
x=$(exiftool -s -s -s -XMPToolkit -Creator "$ICC" | head -1); y=$(exiftool -s -s -s -XMPToolkit -Creator "$T/a.jpg" | head -1)
[ "$x" = "$y" ] && ok "jpeg keeps XMP" || notok "jpeg keeps XMP" "'$x' vs '$y'"
p=$(psnr "$ICC" "$T/a.jpg"); awk "BEGIN{exit !($p > 35)}" && ok "jpeg q95 round trip PSNR $p dB" || notok "jpeg q95 PSNR" "$p"

# metadata survives JPEG -> each format -> JPEG (checked by exiftool)
for fmt in webp avif heic jxl; do
    "$TP" convert "$O6" "$T/m.$fmt" --max-edge 400 >/dev/null 2>&1 && "$TP" convert "$T/m.$fmt" "$T/back-$fmt.jpg" >/dev/null 2>&1 ||
        { notok "jpeg -> $fmt -> jpeg" "conversion failed"; continue; }
    bad=""
    for tag in DateTimeOriginal Make Model GPSLatitude GPSLongitude; do
        [ "$(exiftool -s -s -s -$tag "$O6")" = "$(exiftool -s -s -s -$tag "$T/back-$fmt.jpg")" ] || bad="$bad $tag"
    done
    [ -z "$bad" ] && ok "jpeg -> $fmt -> jpeg keeps DateTimeOriginal, Make, Model, GPS" || notok "jpeg -> $fmt -> jpeg" "lost:$bad"
    # displayed the same way (a non-square orientation-6 photo): the tag 6 on
    # the stored 640x428 pixels, or upright 428x640 pixels with tag 1
    "$TP" convert "$P6" "$T/p.$fmt" >/dev/null 2>&1 && "$TP" convert "$T/p.$fmt" "$T/pback-$fmt.jpg" >/dev/null 2>&1
    o=$(exiftool -s -s -s -n -Orientation "$T/pback-$fmt.jpg"); w=$(exiftool -s -s -s -ImageWidth "$T/pback-$fmt.jpg"); h=$(exiftool -s -s -s -ImageHeight "$T/pback-$fmt.jpg")
    { [ "$o" = 6 ] && [ "$w" = 640 ] && [ "$h" = 428 ]; } || { [ "${o:-1}" = 1 ] && [ "$w" = 428 ] && [ "$h" = 640 ]; } &&
        ok "jpeg -> $fmt -> jpeg displays as the original (orientation $o, ${w}x$h)" ||
        notok "jpeg -> $fmt -> jpeg orientation" "tag '$o' on ${w}x$h"
done
"$TP" convert "$ICC" "$T/i.avif" >/dev/null && "$TP" convert "$T/i.avif" "$T/i.jpg" >/dev/null
[ "$(exiftool -s -s -s -ProfileDescription "$T/i.jpg")" = "Adobe RGB (1998)" ] && ok "ICC survives jpeg -> avif -> jpeg" || notok "ICC back from avif"

# --keep nogps removes GPS; --keep none removes everything
"$TP" convert "$J" "$T/g.jpg" --keep nogps >/dev/null
[ -z "$(exiftool -s -s -s -GPSLatitude "$T/g.jpg")" ] && [ -n "$(exiftool -s -s -s -Make "$T/g.jpg")" ] &&
    ok "--keep nogps drops GPS, keeps camera" || notok "--keep nogps"
"$TP" convert "$J" "$T/n.jpg" --keep none >/dev/null
[ -z "$(exiftool -s -s -s -Make "$T/n.jpg")" ] && ok "--keep none drops EXIF" || notok "--keep none"

# PNG is lossless: JPEG -> PNG -> PNG identical pixels
"$TP" convert "$J" "$T/a.png" >/dev/null && "$TP" convert "$T/a.png" "$T/b.png" >/dev/null
p=$(psnr "$T/a.png" "$T/b.png"); [ "$p" = inf ] && ok "png round trip is exact" || notok "png round trip" "$p"
"$TP" convert "$SAMPLES/pattern-32x32-rgba16.png" "$T/c.png" >/dev/null && "$TP" info --json "$T/c.png" >"$T/i.json"
[ "$(jget "$T/i.json" bit_depth)" = 16 ] && [ "$(jget "$T/i.json" alpha)" = true ] && ok "png keeps 16-bit + alpha" || notok "png 16-bit alpha"

# orientation: default keeps pixels + tag; --upright rotates and resets
"$TP" convert "$P6" "$T/k.jpg" >/dev/null
[ "$(exiftool -s -s -s -n -Orientation "$T/k.jpg")" = 6 ] && [ "$(exiftool -s -s -s -ImageWidth "$T/k.jpg")" = 640 ] &&
    ok "orientation 6 kept as tag, pixels untouched" || notok "orientation kept"
"$TP" convert "$P6" "$T/u.png" --upright >/dev/null
"$TP" info --json "$T/u.png" >"$T/i.json"
[ "$(jget "$T/i.json" width)" = 428 ] && [ "$(jget "$T/i.json" height)" = 640 ] && [ "$(jget "$T/i.json" orientation)" = 1 ] &&
    ok "--upright rotates orientation 6 (640x428 -> 428x640)" || notok "--upright" "$(cat "$T/i.json")"
# compare with libvips' own autorotate as the outside reference
vips autorot "$P6" "$T/ref.png" 2>/dev/null
p=$(psnr "$T/ref.png" "$T/u.png"); { [ "$p" = inf ] || awk "BEGIN{exit !($p > 40)}"; } && ok "--upright matches vips autorot (PSNR $p)" || notok "--upright vs vips autorot" "$p"
"$TP" convert "$O3" "$T/u3.jpg" --upright --max-edge 800 --quality 95 >/dev/null
vips thumbnail "$O3" "$T/ref3.png" 800 2>/dev/null
p=$(psnr "$T/ref3.png" "$T/u3.jpg"); awk "BEGIN{exit !($p > 30)}" && ok "orientation 3 upright + resize matches vips thumbnail (PSNR $p)" || notok "orientation 3" "$p"

# scaled decode + resize: longer edge as asked, never upscaled
"$TP" convert "$O3" "$T/s.jpg" --max-edge 500 --json >"$T/c.json"
[ "$(jget "$T/c.json" width)" = 500 ] && [ "$(jget "$T/c.json" height)" = 375 ] && ok "--max-edge 500 on 4000x3000" || notok "--max-edge" "$(cat "$T/c.json")"
"$TP" convert "$ICC" "$T/s2.jpg" --max-edge 5000 --json >"$T/c.json"
[ "$(jget "$T/c.json" width)" = 200 ] && ok "--max-edge never upscales" || notok "--max-edge upscaled"

# CLI contract
check_fails "unknown output format is refused" "$TP" convert "$J" "$T/x.unknownext"
[ ! -e "$T/x.unknownext" ] && ok "no output file on refusal" || notok "no output file on refusal"
check_fails "missing input file" "$TP" convert "$T/nope.jpg" "$T/y.jpg"
err=$("$TP" convert "$T/nope.jpg" "$T/y.jpg" 2>&1); echo "$err" | grep -q "$T/nope.jpg" && ok "error names the file" || notok "error names the file" "$err"
check_fails "--quality out of range" "$TP" convert "$J" "$T/y.jpg" --quality 101
for c in info convert; do
    "$TP" $c --help | grep -q "usage: tierpress $c" && ok "$c --help" || notok "$c --help"
done
"$TP" --help | grep -q "Commands:" && ok "tierpress --help" || notok "tierpress --help"
