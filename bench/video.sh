#!/bin/sh
# Video benchmark: poster + preview of the 1080p phone clip, tierpress vs the
# ffmpeg program doing the same two jobs (hyperfine, same run), then the
# cold tier (HEVC and AV1) at the default floors: bytes as % of the original
# and encode seconds per minute of video.  Appends to bench/RESULTS.md.
# usage: bench/video.sh [CLIP]   (run from the repo root after `make`)
set -e
TP=${TP:-./tierpress}
CLIP=${1:-samples/clip-phone-1920x1080-h264-aac-gps-rotation90cw-1.6s.mp4}
RUNS=${RUNS:-5}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
OUT=bench/RESULTS.md

# The same two jobs: an upright poster near 10% of the clip as JPEG, and an
# upright <=720p H.264 CRF 26 veryfast + AAC 128k faststart MP4 without metadata.
hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$T/h.json" \
    -n tierpress "sh -c '$TP convert $CLIP $T/p.jpg --upright && $TP video preview $CLIP $T/v.mp4'" \
    -n ffmpeg "sh -c 'ffmpeg -v error -y -ss 0.16 -i $CLIP -frames:v 1 -q:v 2 $T/q.jpg && ffmpeg -v error -y -i $CLIP -vf scale=720:-2 -c:v libx264 -preset veryfast -crf 26 -c:a aac -b:a 128k -movflags +faststart -map_metadata -1 $T/w.mp4'" \
    >"$T/hyperfine.txt"
cat "$T/hyperfine.txt"
ratio=$(/usr/bin/python3 -c 'import json,sys; r={x["command"]:x["mean"] for x in json.load(open(sys.argv[1]))["results"]}; print("%.3f %.3f %.2f" % (r["tierpress"], r["ffmpeg"], r["tierpress"]/r["ffmpeg"]))' "$T/h.json")
set -- $ratio
tp_s=$1 ff_s=$2 rel=$3

cold() { # codec preset -> "pct crf ssim_mean ssim_min s_per_min"
    $TP video cold "$CLIP" "$T/c.mp4" --codec "$1" --preset "$2" --min-saving 0 --json >"$T/c.json"
    /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.2f %d %.4f %.4f %.1f %d" % (100.0*j["out_bytes"]/j["in_bytes"], j["crf"], j["ssim_mean"], j["ssim_min"], j["encode_seconds"]/j["duration"]*60, j["probes"]))' "$T/c.json"
}
hevc=$(cold hevc fast)
av1=$(cold av1 8)

{
    echo
    echo "## Video"
    echo
    echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores (shared), clip \`$CLIP\` ($(wc -c <"$CLIP") bytes), \`bench/video.sh\`, $RUNS runs."
    echo
    echo "| job | tierpress | ffmpeg program | ratio |"
    echo "|---|---|---|---|"
    echo "| poster JPEG + 720p preview MP4 | ${tp_s} s | ${ff_s} s | ${rel} |"
    echo
    echo "Cold tier at the default floors (SSIM mean >= 0.95, worst sampled frame >= 0.90, 8 samples, 4 probes):"
    echo
    echo "| codec (preset) | bytes % of original | CRF | SSIM mean | SSIM min | encode s per minute of video | probes |"
    echo "|---|---|---|---|---|---|---|"
    set -- $hevc; echo "| hevc x265 (fast) | $1 | $2 | $3 | $4 | $5 | $6 |"
    set -- $av1; echo "| av1 svt (8) | $1 | $2 | $3 | $4 | $5 | $6 |"
} | tee -a "$OUT"
