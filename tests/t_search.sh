# Quality-targeted encoding (convert --ssim): the output meets the floor
# when decoded by the codec's own outside tool and measured by scikit-image;
# one quality step smaller does not; keep-original when nothing saves enough.
. tests/lib.sh

# outside decoder -> PNG, pixels as displayed (the originals here are upright)
dec() {
    case "$1" in
    *.jxl) djxl "$1" "$2" >/dev/null 2>&1 ;;
    *.avif) avifdec "$1" "$2" >/dev/null 2>&1 ;;
    *.heic) heif-convert "$1" "$2" >/dev/null 2>&1 ;;
    esac
}
# ref A.png B.png FIELD -> skimage value
ref() { "$PY" tests/ssim_ref.py "$1" "$2" | "$PY" -c "import json,sys; print(json.load(sys.stdin)['$3'])"; }
ge() { awk "BEGIN{exit !($1 >= $2 - 1e-4)}"; }  # skimage vs ours agree to 1e-4

S=0.99
for src in photo-nikon-d40-1000x665-exif.jpg photo-nokia-lumia820-1278x720-exif-gps.jpg; do
    vips copy "$SAMPLES/$src" "$T/ref.png"
    for codec in jxl avif heic; do
        out="$T/$src.$codec"
        # --no-mosaic: the edge check below needs the whole image's own edge
        if ! "$TP" convert "$SAMPLES/$src" "$out" --ssim $S --min-saving 0 --no-mosaic --json >"$T/r.json" 2>"$T/err"; then
            notok "$src -> $codec search" "$(cat "$T/err")"; continue
        fi
        if [ "$(jget "$T/r.json" kept_original)" = true ]; then
            # nothing smaller than the original met the floor: a valid answer
            [ ! -e "$out" ] && ok "$src -> $codec: keeps the original ($(jget "$T/r.json" reason))" ||
                notok "$src -> $codec: kept but wrote a file"
            continue
        fi
        q=$(jget "$T/r.json" quality); tile=$(jget "$T/r.json" floor | tr -d "{}' " | sed 's/.*tile:\([0-9.]*\).*/\1/')
        chroma=$(jget "$T/r.json" floor | tr -d "{}' " | sed 's/.*chroma:\([0-9.]*\).*/\1/')
        sub=$(jget "$T/r.json" subsampling)
        dec "$out" "$T/o.png" || { notok "$src -> $codec: outside decoder failed"; continue; }
        "$PY" tests/ssim_ref.py "$T/ref.png" "$T/o.png" >"$T/s.json"
        m=$(jget "$T/s.json" ssim); t=$(jget "$T/s.json" min_tile); cb=$(jget "$T/s.json" ssim_cb); cr=$(jget "$T/s.json" ssim_cr)
        if ge "$m" $S && ge "$t" "$tile" && ge "$cb" "$chroma" && ge "$cr" "$chroma"; then
            ok "$src -> $codec q$q: skimage on the $codec tool's decode meets the floor (ssim $m tile $t cb $cb cr $cr)"
        else
            notok "$src -> $codec q$q" "floor $S/$tile/$chroma not met: ssim $m tile $t cb $cb cr $cr"
        fi
        # one quality step smaller must fail (the search found the edge)
        if [ "$q" -gt 0 ]; then
            "$TP" convert "$SAMPLES/$src" "$T/below.$codec" --quality $((q - 1)) --subsampling "$sub" >/dev/null 2>&1 ||
                "$TP" convert "$SAMPLES/$src" "$T/below.$codec" --quality $((q - 1)) >/dev/null
            dec "$T/below.$codec" "$T/b.png"
            "$PY" tests/ssim_ref.py "$T/ref.png" "$T/b.png" >"$T/s.json"
            m=$(jget "$T/s.json" ssim); t=$(jget "$T/s.json" min_tile); cb=$(jget "$T/s.json" ssim_cb); cr=$(jget "$T/s.json" ssim_cr)
            if awk "BEGIN{exit !($m < $S || $t < $tile || $cb < $chroma || $cr < $chroma)}"; then
                ok "$src -> $codec: q$((q - 1)) misses the floor (edge found within one step)"
            else
                notok "$src -> $codec: q$((q - 1)) also passes" "ssim $m tile $t cb $cb cr $cr"
            fi
        fi
        # metadata of the original is kept (a lossless JPEG recompression keeps
        # it inside the reconstruction data, which exiftool 12.57 cannot read
        # in a .jxl: check the JPEG djxl rebuilds instead)
        meta_src="$out"
        if [ "$q" = -1 ]; then
            djxl "$out" "$T/rebuilt.jpg" >/dev/null 2>&1 && meta_src="$T/rebuilt.jpg"
            cmp -s "$T/rebuilt.jpg" "$SAMPLES/$src" && ok "$src -> $codec: lossless recompression won; djxl rebuilds the original byte for byte" ||
                notok "$src -> $codec: lossless winner does not rebuild the original"
        fi
        [ "$(exiftool -s -s -s -DateTimeOriginal "$meta_src")" = "$(exiftool -s -s -s -DateTimeOriginal "$SAMPLES/$src")" ] &&
            ok "$src -> $codec keeps DateTimeOriginal" || notok "$src -> $codec keeps DateTimeOriginal"
    done
done

# best-of: the winner is the smallest passing candidate
"$TP" convert "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" "$T/best" --ssim $S --codecs jxl,avif --min-saving 0 --json >"$T/r.json"
"$PY" - "$T/r.json" <<'PYEOF' && ok "best-of picks the smallest passing candidate" || notok "best-of"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
# estimated: a mosaic's figure for a candidate never encoded whole (it could
# not win on its estimate), not an output
passing = [c for c in d["candidates"] if c["passed"] and not c["estimated"]]
assert passing and d["out_bytes"] == min(c["bytes"] for c in passing), d
assert d["codec"] == min(passing, key=lambda c: c["bytes"])["codec"].replace("heif", "heif")
PYEOF
[ "$(wc -c <"$T/best")" = "$(jget "$T/r.json" out_bytes)" ] && ok "best-of writes the winner's bytes" || notok "best-of bytes"

# the mosaic: on a ~2.4 MP photo the probes encode representative blocks,
# and the output, confirmed on the whole image, meets the whole floor as
# scikit-image measures it on djxl's decode (the worst tile may lie outside
# the mosaic)
vips resize "$SAMPLES/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg" "$T/mos.jpg[Q=92,strip]" 0.45
vips copy "$T/mos.jpg" "$T/mos.png"
if "$TP" convert "$T/mos.jpg" "$T/mos.jxl" --ssim 0.99 --codecs jxl --min-saving 0 --json >"$T/r.json" 2>"$T/err" &&
    [ "$(jget "$T/r.json" mosaic_blocks)" -gt 0 ] && [ "$(jget "$T/r.json" lossless)" = false ] &&
    [ "$(jget "$T/r.json" confirm_probes)" -ge 1 ] && djxl "$T/mos.jxl" "$T/mos-o.png" >/dev/null 2>&1; then
    "$PY" tests/ssim_ref.py "$T/mos.png" "$T/mos-o.png" >"$T/s.json"
    m=$(jget "$T/s.json" ssim); t=$(jget "$T/s.json" min_tile); cb=$(jget "$T/s.json" ssim_cb); cr=$(jget "$T/s.json" ssim_cr)
    tile=$(jget "$T/r.json" floor | tr -d "{}' " | sed 's/.*tile:\([0-9.]*\).*/\1/')
    chroma=$(jget "$T/r.json" floor | tr -d "{}' " | sed 's/.*chroma:\([0-9.]*\).*/\1/')
    ge "$m" 0.99 && ge "$t" "$tile" && ge "$cb" "$chroma" && ge "$cr" "$chroma" &&
        ok "mosaic search ($(jget "$T/r.json" mosaic_blocks) blocks, $(jget "$T/r.json" probes) probes, jxl q$(jget "$T/r.json" quality)): the whole image meets the floor (ssim $m tile $t cb $cb cr $cr)" ||
        notok "mosaic search" "floor 0.99/$tile/$chroma not met on the whole image: ssim $m tile $t cb $cb cr $cr"
else
    notok "mosaic search on a 2.4 MP photo" "$(cut -c1-400 "$T/r.json") $(cat "$T/err")"
fi

# keep the original: a heavily compressed WhatsApp JPEG at the visually
# lossless floor: no AVIF/HEIC encode that meets the floor is smaller
W=$SAMPLES/photo-whatsapp-1024x768-noexif-progressive.jpg
"$TP" convert "$W" "$T/w.jxl" --ssim 0.997 --codecs avif,heic --json >"$T/r.json"
[ "$(jget "$T/r.json" kept_original)" = true ] && [ ! -e "$T/w.jxl" ] &&
    ok "keep-original on an already small JPEG (no file written): $(jget "$T/r.json" reason)" || notok "keep-original" "$(cat "$T/r.json")"

# usage errors
# ... while with JPEG XL among the candidates the lossless recompression wins
"$TP" convert "$W" "$T/w2.jxl" --ssim 0.997 --codecs jxl,avif --json >"$T/r.json"
[ "$(jget "$T/r.json" lossless)" = true ] && [ "$(jget "$T/r.json" ssim)" = 1.0 ] && djxl "$T/w2.jxl" "$T/w2.jpg" >/dev/null 2>&1 &&
    cmp -s "$T/w2.jpg" "$W" && ok "best-of includes lossless JPEG recompression when it is smallest ($(jget "$T/r.json" ratio))" ||
    notok "lossless candidate" "$(cat "$T/r.json" | cut -c1-300)"

check_fails "--ssim out of range" "$TP" convert "$W" "$T/x.jxl" --ssim 1.5
check_fails "--codecs with an unknown codec" "$TP" convert "$W" "$T/x.jxl" --ssim 0.99 --codecs jxl,bogus
check_fails "--codecs without --ssim" "$TP" convert "$W" "$T/x.jxl" --codecs jxl
