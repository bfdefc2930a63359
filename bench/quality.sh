#!/bin/sh
# Quality-targeted encoding benchmark (not a test): ~1450 CPU s with 12 photos,
# 41 min wall on 2 cores under load average 6-8 (bench/RESULTS.md).
# Prints the "## Quality-targeted encoding" section for bench/RESULTS.md.
#   make && bench/quality.sh            (from the repo root)
# Photos: the real camera JPEGs photo-*.jpg in samples/ and, when present,
# ../shared/corpus/jpeg (deduplicated by name), minus those under 300 px on a
# side and the 12-bit/arithmetic ones.  Photos > 3 MP become "q92 originals"
# (vips resize to ~2.5 MP, saved as q92 JPEG without metadata); the others
# are used as the camera wrote them.  Everything else is in bench/quality.py.
# Environment: TP (tierpress binary), JOBS (photos in parallel, default 2),
# MAX_PHOTOS (default 12), WORK (work dir; reused to resume, default a
# fresh temp dir that is kept so the rows can be inspected).
set -e
cd "$(dirname "$0")/.."
TP=${TP:-./tierpress}
JOBS=${JOBS:-2}
MAX_PHOTOS=${MAX_PHOTOS:-12}
PY=/usr/bin/python3
[ -x "$TP" ] || { echo "quality.sh: $TP not found: run make first" >&2; exit 1; }
for t in vips vipsheader butteraugli_main djxl cjxl avifenc avifdec heif-enc heif-convert cwebp dwebp; do
    command -v "$t" >/dev/null 2>&1 || {
        echo "quality.sh: $t missing (butteraugli_main: apt-get install libjxl-devtools)" >&2
        exit 1
    }
done
WORK=${WORK:-$(mktemp -d /tmp/tp-quality.XXXXXX)}
mkdir -p "$WORK"

# the photo list: name-deduplicated, samples/ first
list="$WORK/photos.txt"
: >"$list"
for f in samples/photo-*.jpg ../shared/corpus/jpeg/photo-*.jpg; do
    [ -f "$f" ] || continue
    case "$f" in *12bit* | *arithmetic*) continue ;; esac
    b=$(basename "$f")
    grep -q "/$b\$" "$list" && continue
    w=$(vipsheader -f width "$f" 2>/dev/null) || continue
    h=$(vipsheader -f height "$f" 2>/dev/null) || continue
    [ "$w" -ge 300 ] && [ "$h" -ge 300 ] || continue
    echo "$f" >>"$list"
done
# at most MAX_PHOTOS, preferring one photo per camera (the two Xiaomi Mi A3
# photos are the same phone): sort by name, drop a second "-mia3-" last
sort -t/ -k2 "$list" | awk -F/ '{n=$NF; if (n ~ /mia3/ && seen++) extra[++e]=$0; else print} END {for (i=1;i<=e;i++) print extra[i]}' |
    head -n "$MAX_PHOTOS" >"$list.sel"
n=$(wc -l <"$list.sel")
echo "quality.sh: $n photos, work dir $WORK" >&2

t0=$(date +%s)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# shellcheck disable=SC2046
TP=$TP JOBS=$JOBS $PY bench/quality.py run "$WORK" $(cat "$list.sel") >&2
t1=$(date +%s)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
# one line per invocation (a rerun with the same WORK only runs missing rows)
echo "$(date -u +%Y-%m-%dT%H:%MZ): $((t1 - t0)) s wall, JOBS=$JOBS, load average $load0 at the start, $load1 at the end" >>"$WORK/runs.txt"

{
    echo "## Quality-targeted encoding"
    echo
    echo "$(date -u +%Y-%m-%d), $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores shared with other jobs, $(uname -sr)."
    echo "Command: \`bench/quality.sh\` (JOBS photos in parallel); invocations on this work dir:"
    echo
    sed 's/^/- /' "$WORK/runs.txt"
    echo
    echo "Versions:"
    echo "tierpress $(git rev-parse --short HEAD 2>/dev/null || echo '?'), libjxl 0.7 / libavif 0.11 (aom) / libheif 1.15 (x265) at tierpress's default efforts."
    echo
    echo "Photos ($n):"
    $PY - "$WORK/photos.json" <<'EOF'
import json, sys
for p in json.load(open(sys.argv[1])):
    how = "camera JPEG as is" if p["kind"] == "native" else "q92 JPEG at ~2.5 MP from `%s`" % p["src"].split("/")[-1]
    print("- %s: %dx%d, %d bytes, %s%s" % (p["name"], p["w"], p["h"], p["bytes"], how,
          ", orientation %d" % p["orientation"] if p["orientation"] != 1 else ""))
EOF
    echo
    echo "Commands per photo (ORIG = the original JPEG, REF = \`vips copy ORIG REF.png[strip]\`):"
    echo
    echo "- search: \`/usr/bin/time -f %U+%S tierpress convert ORIG OUT --ssim S --tile-ssim T --codecs C --min-saving 0 --json\`"
    echo "  for (S, T) = (0.997, 0.995) \"visually lossless\", (0.99, 0.98) \"saver\", (0.95, derived 0.9167),"
    echo "  C = jxl, avif, heic, and jxl,avif,heic (best-of); chroma floor derived (1 - 3 (1 - S))."
    echo "- fixed quality, fed REF.png: \`avifenc REF.png o.avif\`, \`heif-enc REF.png -o o.heic\`,"
    echo "  \`cjxl REF.png o.jxl\` (d 1.0), \`cwebp REF.png -o o.webp\` (q75), under the same /usr/bin/time."
    echo "- lossless: \`cjxl ORIG o.jxl\` (JPEG recompression, the default for JPEG input)."
    echo "- judge: \`butteraugli_main REF.png DEC.png\` (max-norm), DEC decoded by djxl / avifdec / heif-convert / dwebp;"
    echo "  against \`vips autorot ORIG\` when the decoder applies the EXIF/container orientation (djxl, heif-convert)."
    echo
    echo "CPU s/MP = user+sys seconds of the whole process from /usr/bin/time (for a search: decoding the original, every"
    echo "probe's encode, decode and SSIM) divided by the original's megapixels; \"encode wall s/MP\" is the JSON's encode_ms"
    echo "(wall clock of the probes' encodes only).  \"kept original\" (no candidate met the floor, or the best was not"
    echo "smaller than the original) counts as 100 % of bytes and Butteraugli 0.  Medians (p90) over the photos."
    echo
    $PY bench/quality.py report "$WORK"
} | tee "$WORK/section.md"
