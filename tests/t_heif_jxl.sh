#!/bin/sh
# HEIF and JPEG XL adapters: decode of real camera files, metadata and
# orientation carried through conversion (checked with exiftool, heif-convert
# and djxl as outside references), bit-exact JPEG -> JXL -> JPEG, lossy
# quality, and clean failures on truncated/hostile files.
. "${TP_ROOT:-.}/tests/lib.sh"
# under `make asan`: x265 leaks inside x265_encoder_open (see the file)

S=$SAMPLES
IPHONE_HEIC=$S/photo-iphonexr-4032x3024-exif-icc-p3.heic
CANON_HIF=$S/photo-canon-eosr5-2400x1600-exif-10bit.hif
MULTI_HEIC=$S/photo-1280x854-multi-image-thumbnails-noexif.heic
IP6=$S/photo-iphone6plus-2448x2448-exif-gps-orient6.jpg
NIKON=$S/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
PANA=$S/photo-panasonic-gf1-640x428-exif-orient6.jpg
XIAOMI=$S/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg

if ! [ -x "$TP" ] || ! [ -x "$PY" ]; then
    skip "heif/jxl" "tierpress or $PY unavailable"
    exit 0
fi

# psnr A B: PSNR in dB of two images (read with PIL as 8-bit RGB, alpha
# dropped), or -1 when the sizes differ.  With a third argument "rot180"
# B is rotated by 180 degrees first.
psnr() {
    "$PY" - "$@" <<'EOF'
import sys, numpy as np
from PIL import Image
rd = lambda p: np.asarray(Image.open(p).convert("RGB"), dtype=np.float64)
a, b = rd(sys.argv[1]), rd(sys.argv[2])
if len(sys.argv) > 3: b = b[::-1, ::-1]
if a.shape != b.shape: print(-1); sys.exit(0)
m = ((a - b) ** 2).mean()
print("%.2f" % (99.0 if m == 0 else 10 * np.log10(255.0 ** 2 / m)))
EOF
}
gt() { "$PY" -c 'import sys; sys.exit(0 if float(sys.argv[1]) > float(sys.argv[2]) else 1)' "$1" "$2"; }
ex() { exiftool -s3 -n "-$2" "$1" 2>/dev/null | head -n 1; }
info() { "$TP" info --json "$1" >"$T/info.json" 2>/dev/null && jget "$T/info.json" "$2"; }

# --- (a) decoding real HEIF files -------------------------------------
check_eq() { # NAME GOT WANT (WANT must not be empty)
    if [ "$2" = "$3" ] && [ -n "$3" ]; then ok "$1"; else notok "$1" "got '$2', want '$3'"; fi
}
check_same() { # NAME GOT WANT (both may be empty: "absent stays absent")
    if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "got '$2', want '$3'"; fi
}
check_eq "heif: iPhone XR size" "$(info "$IPHONE_HEIC" width)x$(info "$IPHONE_HEIC" height)" 4032x3024
check_eq "heif: iPhone XR ICC is Display P3" "$(info "$IPHONE_HEIC" icc)" "$(ex "$IPHONE_HEIC" ProfileDescription)"
check_eq "heif: iPhone XR ICC desc literal" "$(info "$IPHONE_HEIC" icc)" "Display P3"
for f in "$IPHONE_HEIC" "$CANON_HIF"; do
    b=$(basename "$f")
    check_eq "heif: $b make" "$(info "$f" camera_make)" "$(ex "$f" Make)"
    check_eq "heif: $b model" "$(info "$f" camera_model)" "$(ex "$f" Model)"
    check_eq "heif: $b capture time" "$(info "$f" capture_time)" "$(ex "$f" DateTimeOriginal | sed 's/^\(....\):\(..\):\(..\) /\1-\2-\3T/')"
done
check_eq "heif: Canon R5 size" "$(info "$CANON_HIF" width)x$(info "$CANON_HIF" height)" 2400x1600
check_eq "heif: Canon R5 is 10-bit" "$(info "$CANON_HIF" bit_depth)" 10
check_eq "heif: multi-image size" "$(info "$MULTI_HEIC" width)x$(info "$MULTI_HEIC" height)" 1280x854
check_eq "heif: multi-image counts top-level images" "$(info "$MULTI_HEIC" frames)" \
    "$(heif-info "$MULTI_HEIC" 2>/dev/null | grep -c '^image:')"
if have heif-convert; then
    # the 10-bit path on a small 10-bit HEIC of our own (a full 2400x1600
    # decode by heif-convert takes seconds)
    "$TP" convert "$CANON_HIF" "$T/c10.heic" --max-edge 400 >/dev/null 2>&1
    for f in "$T/c10.heic" "$MULTI_HEIC"; do
        b=$(basename "$f")
        rm -f "$T"/ref*.png
        heif-convert "$f" "$T/ref.png" >/dev/null 2>&1
        # several top-level images are written as ref-1.png, ...; the
        # primary comes first
        [ -e "$T/ref.png" ] || mv "$T/ref-1.png" "$T/ref.png" 2>/dev/null
        "$TP" convert "$f" "$T/dec.jpg" --quality 100 >/dev/null 2>&1
        p=$(psnr "$T/dec.jpg" "$T/ref.png")
        if gt "$p" 35; then ok "heif: $b pixels match heif-convert ($p dB)"
        else notok "heif: $b pixels match heif-convert" "PSNR $p"; fi
    done
else
    skip "heif: pixels vs heif-convert" "heif-convert missing"
fi

# --- (b) metadata through JPEG -> HEIC / JXL --------------------------
if have exiftool; then
    for fmt in heic jxl; do
        for src in "$IP6" "$NIKON"; do
            b=$(basename "$src" .jpg)
            out=$T/$b.$fmt
            if ! "$TP" convert "$src" "$out" --max-edge 600 >/dev/null 2>&1; then
                notok "$fmt: convert $b" "$("$TP" convert "$src" "$out" --max-edge 600 2>&1 | tail -n 1)"
                continue
            fi
            for tag in DateTimeOriginal Make Model GPSLatitude GPSLongitude Orientation; do
                check_same "$fmt: $b keeps $tag (exiftool)" "$(ex "$out" $tag)" "$(ex "$src" $tag)"
            done
            check_eq "$fmt: $b capture time (info)" "$(info "$out" capture_time)" "$(info "$src" capture_time)"
            check_eq "$fmt: $b camera (info)" "$(info "$out" camera_make)/$(info "$out" camera_model)" \
                "$(info "$src" camera_make)/$(info "$src" camera_model)"
            check_same "$fmt: $b gps (info)" "$(info "$out" gps)" "$(info "$src" gps)"
            check_eq "$fmt: $b displayed size (info)" \
                "$(info "$out" display_width)x$(info "$out" display_height)" \
                "$("$PY" -c 'import sys; w,h,o=map(int,sys.argv[1:]); s=600/max(w,h); print("%dx%d" % ((round(h*s),round(w*s)) if o>=5 else (round(w*s),round(h*s))) if s<1 else ("%dx%d" % ((h,w) if o>=5 else (w,h))))' \
                    "$(info "$src" width)" "$(info "$src" height)" "$(info "$src" orientation)")"
        done
        check_eq "$fmt: Adobe RGB ICC kept (info)" "$(info "$T/photo-nikon-d1x-200x130-exif-icc-adobergb-444.$fmt" icc)" \
            "$(ex "$NIKON" ProfileDescription)"
    done
    check_eq "heic: Adobe RGB ICC kept (exiftool)" \
        "$(ex "$T/photo-nikon-d1x-200x130-exif-icc-adobergb-444.heic" ProfileDescription)" "Adobe RGB (1998)"
    if have jxlinfo; then
        if jxlinfo "$T/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jxl" 2>/dev/null | grep -q "ICC profile"; then
            ok "jxl: Adobe RGB ICC stored verbatim (jxlinfo)"
        else notok "jxl: Adobe RGB ICC stored verbatim (jxlinfo)"; fi
    fi
    # lossy XYB + ICC: our decode must give the pixels in the ICC's space
    "$TP" convert "$T/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jxl" "$T/n_back.jpg" --quality 100 >/dev/null 2>&1
    p=$(psnr "$T/n_back.jpg" "$NIKON")
    if gt "$p" 32; then ok "jxl: Adobe RGB pixels survive the XYB round trip ($p dB)"
    else notok "jxl: Adobe RGB pixels survive the XYB round trip" "PSNR $p"; fi
else
    skip "heic/jxl metadata" "exiftool missing"
fi

# --- (c) orientation: the output displays as the JPEG does ------------
# Reference: the JPEG made upright by tierpress.  HEIC is displayed by
# heif-convert (applies irot/imir), JXL by djxl (applies the header's
# orientation).  Mirrored orientations come from tag-edited copies.
orient_case() { # NAME SRC EDGE
    name=$1 src=$2 edge=$3
    set -- ${edge:+--max-edge $edge}
    "$TP" convert "$src" "$T/up.jpg" --upright --quality 100 "$@" >/dev/null 2>&1 || {
        notok "orientation $name: upright reference"; return; }
    for fmt in heic jxl; do
        rm -f "$T/disp.png"
        "$TP" convert "$src" "$T/o.$fmt" "$@" >/dev/null 2>&1
        if [ $fmt = heic ]; then
            have heif-convert || { skip "orientation $name heic" "no heif-convert"; continue; }
            heif-convert "$T/o.heic" "$T/disp.png" >/dev/null 2>&1
        else
            have djxl || { skip "orientation $name jxl" "no djxl"; continue; }
            djxl "$T/o.jxl" "$T/disp.png" >/dev/null 2>&1
        fi
        good=$(psnr "$T/disp.png" "$T/up.jpg")
        bad=$(psnr "$T/disp.png" "$T/up.jpg" rot180)
        if gt "$good" 25 && gt "$good" "$(echo "$bad" | awk '{print $1 + 8}')"; then
            ok "orientation $name: $fmt displays like the JPEG ($good dB vs $bad dB rotated)"
        else
            notok "orientation $name: $fmt displays like the JPEG" "PSNR $good (rotated alternative $bad)"
        fi
    done
}
orient_case "6 (Panasonic, SLONG tag)" "$PANA" ""
orient_case "3 (Xiaomi)" "$XIAOMI" 500
if have exiftool; then
    # (no ICC here: djxl 0.7 would output an ICC source as linear sRGB)
    for o in 2 4 5 7 8; do
        cp "$S/photo-iphone4s-180x135-exif-gps.jpg" "$T/o$o.jpg"
        exiftool -q -overwrite_original -n -Orientation=$o "$T/o$o.jpg" >/dev/null 2>&1
        orient_case "$o (edited tag)" "$T/o$o.jpg" ""
    done
fi
# HEIC decode applies the transforms: upright pixels, orientation 1
"$TP" convert "$PANA" "$T/p.heic" >/dev/null 2>&1
check_eq "heif: decode applies irot (stored size)" "$(info "$T/p.heic" width)x$(info "$T/p.heic" height)/$(info "$T/p.heic" orientation)" "428x640/1"
"$TP" convert "$PANA" "$T/p.jxl" >/dev/null 2>&1
check_eq "jxl: decode keeps pixels as coded" "$(info "$T/p.jxl" width)x$(info "$T/p.jxl" height)/$(info "$T/p.jxl" orientation)" "640x428/6"

# --- (d) bit-exact JPEG -> JXL -> JPEG --------------------------------
for src in "$S/photo-whatsapp-1024x768-noexif-progressive.jpg" "$PANA" "$NIKON" \
    "$S/photo-iphone4s-180x135-exif-gps.jpg"; do
    b=$(basename "$src" .jpg)
    rm -f "$T/r.jxl" "$T/back.jpg" "$T/djxl.jpg"
    "$TP" convert "$src" "$T/r.jxl" --lossless --json >"$T/c.json" 2>/dev/null
    check_eq "jxl: $b recompressed" "$(jget "$T/c.json" mode 2>/dev/null)" recompress
    "$TP" convert "$T/r.jxl" "$T/back.jpg" --json >"$T/c.json" 2>/dev/null
    check_eq "jxl: $b reconstructed by tierpress" "$(sha256sum <"$T/back.jpg" 2>/dev/null)" "$(sha256sum <"$src")"
    if have djxl; then
        djxl "$T/r.jxl" "$T/djxl.jpg" >/dev/null 2>&1
        check_eq "jxl: $b reconstructed by djxl" "$(sha256sum <"$T/djxl.jpg" 2>/dev/null)" "$(sha256sum <"$src")"
    fi
    s_in=$(wc -c <"$src")
    s_out=$(wc -c <"$T/r.jxl")
    if [ "$s_out" -lt "$s_in" ]; then ok "jxl: $b recompression is smaller ($s_in -> $s_out)"
    else notok "jxl: $b recompression is smaller" "$s_in -> $s_out"; fi
done
# CMYK: libjxl refuses; convert must fall back to a pixel encode cleanly
rm -f "$T/cmyk.jxl"
"$TP" convert "$S/frame-150x103-cmyk-adobe.jpg" "$T/cmyk.jxl" --lossless --json >"$T/c.json" 2>/dev/null
st=$?
if [ $st -eq 0 ] && [ "$(jget "$T/c.json" mode)" = pixels ] && "$TP" info "$T/cmyk.jxl" >/dev/null 2>&1; then
    ok "jxl: CMYK JPEG falls back to a lossless pixel encode"
elif [ $st -ne 0 ] && [ $st -lt 128 ] && [ ! -e "$T/cmyk.jxl" ]; then
    ok "jxl: CMYK JPEG refused cleanly"
else
    notok "jxl: CMYK JPEG" "status $st"
fi
# a pixel-coded JXL has nothing to reconstruct: convert decodes instead
"$TP" convert "$T/cmyk.jxl" "$T/cmyk_back.jpg" --json >"$T/c.json" 2>/dev/null
check_eq "jxl: no reconstruction data -> pixel decode" "$(jget "$T/c.json" mode 2>/dev/null)" pixels

# --- (e) lossy quality against outside decoders ------------------------
D40=$S/photo-nikon-d40-1000x665-exif.jpg
for fmt in heic jxl; do
    "$TP" convert "$D40" "$T/q.$fmt" >/dev/null 2>&1
    rm -f "$T/q.png"
    if [ $fmt = heic ]; then heif-convert "$T/q.heic" "$T/q.png" >/dev/null 2>&1
    else djxl "$T/q.jxl" "$T/q.png" >/dev/null 2>&1; fi
    p=$(psnr "$T/q.png" "$D40")
    if gt "$p" 30; then ok "$fmt: default-quality round trip $p dB"
    else notok "$fmt: default-quality round trip" "PSNR $p"; fi
done
# lossless HEIC is exact, with and without an ICC profile (the identity
# matrix must be signalled next to the ICC)
for src in "$S/photo-iphone4s-180x135-exif-gps.jpg" "$NIKON"; do
    rm -f "$T/l.png"
    "$TP" convert "$src" "$T/l.heic" --lossless >/dev/null 2>&1
    heif-convert "$T/l.heic" "$T/l.png" >/dev/null 2>&1
    check_eq "heic: lossless is exact ($(basename "$src"))" "$(psnr "$T/l.png" "$src")" 99.00
done
# 10-bit source stays 10-bit
for fmt in heic jxl; do
    "$TP" convert "$CANON_HIF" "$T/c10.$fmt" --max-edge 400 >/dev/null 2>&1
    check_eq "$fmt: 10-bit source stays 10-bit" "$(info "$T/c10.$fmt" bit_depth)" 10
done

# --- (f) truncated and hostile files -----------------------------------
head -c 3000 "$IPHONE_HEIC" >"$T/cut1.heic"
head -c 600000 "$IPHONE_HEIC" >"$T/cut2.heic"
head -c 2000 "$T/q.jxl" >"$T/cut1.jxl"
head -c 20 "$T/q.jxl" >"$T/cut2.jxl"
head -c 3000 "$T/r.jxl" >"$T/cut3.jxl"
for f in "$T"/cut*.heic "$T"/cut*.jxl "$BROKEN"/*.heic; do
    b=$(basename "$f")
    rm -f "$T/out.jpg"
    out=$("$TP" convert "$f" "$T/out.jpg" 2>&1)
    st=$?
    if [ $st -ne 0 ] && [ $st -lt 128 ] && [ ! -e "$T/out.jpg" ] && echo "$out" | grep -q "$b"; then
        ok "broken: $b fails cleanly"
    else
        notok "broken: $b fails cleanly" "status $st, output $(ls "$T/out.jpg" 2>/dev/null): $out"
    fi
    "$TP" info "$f" >/dev/null 2>&1
    st=$?
    if [ $st -lt 128 ]; then ok "broken: info $b does not crash"; else notok "broken: info $b" "signal"; fi
done
