# PNG decode (libpng, one inflate; issue 16) against an outside reference:
# every PNG layout decodes to the pixels the vips CLI reads (palette with and
# without tRNS, grey 1/2/8/16 bits, grey/RGB tRNS, 16-bit RGB(A), Adam7 at
# odd sizes), and image data that ends before the last row is refused.
. tests/lib.sh

have vips || { skip "PNG decode vs vips" "vips CLI missing"; exit 0; }
S=$SAMPLES/photo-astronaut-512x512-rgb8.png
cd "$T" || exit 1
vips colourspace "$S" g.v b-w && vips colourspace "$S" s16.v rgb16 &&
    vips colourspace "$S" g16.v grey16 && vips bandjoin_const "$S" rgba.v 128 &&
    vips bandjoin_const s16.v rgba16.v 30000 || { notok "PNG variants" "vips failed"; exit 0; }
vips copy "$S" pal8.png[palette]
vips copy "$S" pal4.png[palette,bitdepth=4]
vips copy rgba.v pal_trns.png[palette]
vips copy g.v grey1.png[bitdepth=1]
vips copy g.v grey2.png[bitdepth=2]
vips copy g.v grey8_adam7.png[interlace]
vips copy g16.v grey16.png
vips copy s16.v rgb16_adam7.png[interlace]
vips copy rgba16.v rgba16.png
vips copy rgba.v rgba_adam7.png[interlace]
vips crop "$S" adam7_3x1.png[interlace] 0 0 3 1
vips crop "$S" adam7_1x5.png[interlace] 0 0 1 5
"$PY" - <<'PY'
import random, struct, zlib
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
w, h = 37, 23
random.seed(1)
def png(name, ctype, depth, rowbytes, trns=None, plte=None, rows=h):
    raw = b''.join(b'\0' + bytes(random.randrange(256) for _ in range(rowbytes)) for _ in range(rows))
    c = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, ctype, 0, 0, 0))
    if plte: c += chunk(b'PLTE', plte)
    if trns: c += chunk(b'tRNS', trns)
    open(name, 'wb').write(c + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
png('grey_trns.png', 0, 8, w, trns=b'\x00\x40')
png('rgb_trns.png', 2, 8, 3 * w, trns=b'\x00\x40\x00\x40\x00\x40')
png('grey16_trns.png', 0, 16, 2 * w, trns=b'\x40\x40')
png('pal2_trns.png', 3, 2, (w * 2 + 7) // 8, trns=b'\x00\x80', plte=bytes(range(12)))
png('ga16.png', 4, 16, 4 * w)
# a complete zlib stream holding 22 of the 23 rows the header announces
png('short.png', 2, 8, 3 * w, rows=h - 1)
PY

for f in pal8 pal4 pal_trns grey1 grey2 grey8_adam7 grey16 rgb16_adam7 rgba16 rgba_adam7 \
         adam7_3x1 adam7_1x5 grey_trns rgb_trns grey16_trns pal2_trns ga16; do
    if ! err=$("$TP" convert $f.png out_$f.png 2>&1); then
        notok "PNG $f decodes" "$err"; continue
    fi
    # the same bands, format and pixels as the vips CLI's reading of the file
    a=$(vipsheader -f bands $f.png)/$(vipsheader -f format $f.png)
    b=$(vipsheader -f bands out_$f.png)/$(vipsheader -f format out_$f.png)
    d=$(vips subtract $f.png out_$f.png d.v && vips abs d.v a.v && vips max a.v) || d=-1
    if [ "$a" = "$b" ] && awk "BEGIN { exit !($d == 0) }"; then ok "PNG $f: the pixels vips reads ($a)"
    else notok "PNG $f: the pixels vips reads" "bands/format $a vs $b, max difference $d"; fi
done

err=$("$TP" convert short.png out_short.png 2>&1)
st=$?
if [ $st -ne 0 ] && [ $st -lt 128 ] && echo "$err" | grep -q "short.png: .*zlib stream ends before the last row" &&
    [ ! -e out_short.png ]; then
    ok "PNG whose image data ends before the last row: refused ($(echo "$err" | cut -c1-50)...)"
else notok "PNG short image data refused" "status $st: $err"; fi

# EXIF in an eXIf chunk before the image data sets the display orientation
# (as libvips read it); libpng's progressive reader does not keep eXIf.
X=$SAMPLES/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg
if [ -f "$X" ] && vips resize "$X" orient3.png 0.05 2>/dev/null; then
    "$TP" info --json orient3.png >orient3.json 2>&1
    if [ "$(jget orient3.json orientation)" = 3 ] && [ "$(jget orient3.json camera_make)" = Xiaomi ]; then
        ok "PNG eXIf before IDAT: orientation 3, camera Xiaomi"
    else notok "PNG eXIf orientation" "$(cat orient3.json)"; fi
else skip "PNG eXIf orientation" "sample or vips missing"; fi
