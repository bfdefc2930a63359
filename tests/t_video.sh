# Video: info vs ffprobe, poster, preview proxy, cold-tier re-encode, broken clips.
. tests/lib.sh

# ASan builds: ignore leaks inside libx265 itself (see the file)
if ! have ffprobe || ! have ffmpeg; then skip "video tests" "ffmpeg/ffprobe not installed"; exit 0; fi
ROT=$SAMPLES/clip-phone-1920x1080-h264-aac-gps-rotation90cw-1.6s.mp4
COCK=$SAMPLES/clip-cockatoo-640x360-vp9-opus-3s.webm

# 1. info --json agrees with ffprobe on every sample clip
for f in "$SAMPLES"/clip-*.mp4 "$SAMPLES"/clip-*.mov "$SAMPLES"/clip-*.webm; do
    n=$(basename "$f")
    if ! "$TP" info --json "$f" >"$T/i.json" 2>"$T/err"; then notok "info $n" "$(cat "$T/err")"; continue; fi
    ffprobe -v error -print_format json -show_format -show_streams "$f" >"$T/p.json"
    r=$("$PY" - "$T/i.json" "$T/p.json" <<'PYEOF'
import json, sys
i = json.load(open(sys.argv[1])); p = json.load(open(sys.argv[2]))
v = [s for s in p["streams"] if s["codec_type"] == "video"][0]
a = [s for s in p["streams"] if s["codec_type"] == "audio"]
rot = 0
for sd in v.get("side_data_list", []):
    if "rotation" in sd: rot = (-int(sd["rotation"])) % 360
errs = []
def eq(k, want):
    if i.get(k) != want: errs.append("%s: %r != ffprobe %r" % (k, i.get(k), want))
eq("width", v["width"]); eq("height", v["height"]); eq("vcodec", v["codec_name"])
eq("acodec", a[0]["codec_name"] if a else None); eq("rotation", rot)
if abs(i["duration"] - float(p["format"]["duration"])) > 0.05: errs.append("duration %s vs %s" % (i["duration"], p["format"]["duration"]))
if i["container"] not in p["format"]["format_name"].split(","): errs.append("container %s not in %s" % (i["container"], p["format"]["format_name"]))
tags = p["format"].get("tags", {})
ct = tags.get("creation_time")
eq("creation_time", ct and (ct.split(".")[0].rstrip("Z") + "Z"))  # ISO 8601, whole seconds
eq("gps", any(k.startswith("location") for k in tags))
if rot in (90, 270) and (i["display_width"], i["display_height"]) != (v["height"], v["width"]): errs.append("display dims")
print("; ".join(errs) or "ok")
PYEOF
)
    [ "$r" = ok ] && ok "info $n matches ffprobe" || notok "info $n matches ffprobe" "$r"
done
"$TP" info --json "$ROT" >"$T/i.json"
[ "$(jget "$T/i.json" gps)" = true ] && [ "$(jget "$T/i.json" gps_lat)" = -15.8355 ] && [ "$(jget "$T/i.json" orientation)" = 6 ] &&
    ok "info: GPS location and rotation 90 (orientation 6) of the phone clip" || notok "info: GPS/rotation" "$(cat "$T/i.json")"
"$TP" info "$ROT" | grep -q "rotation 90" && ok "info text shows the rotation" || notok "info text rotation"

# 2. poster: upright, right dims, not black, same picture as ffmpeg's autorotated first keyframe
lum() { "$PY" -c 'import sys,numpy as np; from PIL import Image; a=np.asarray(Image.open(sys.argv[1]).convert("L"),float); print(round(a.mean(),1), round(a.std(),1))' "$1"; }
for f in "$ROT" "$COCK" "$SAMPLES/clip-560x320-h264-aac-5.6s.mov"; do
    n=$(basename "$f")
    if ! "$TP" convert "$f" "$T/poster.png" --upright >/dev/null 2>"$T/err"; then notok "poster $n" "$(cat "$T/err")"; continue; fi
    "$TP" info --json "$T/poster.png" >"$T/pi.json"
    "$TP" info --json "$f" >"$T/vi.json"
    [ "$(jget "$T/pi.json" width)" = "$(jget "$T/vi.json" display_width)" ] && [ "$(jget "$T/pi.json" height)" = "$(jget "$T/vi.json" display_height)" ] &&
        ok "poster $n has the display dims $(jget "$T/pi.json" width)x$(jget "$T/pi.json" height)" || notok "poster $n dims" "$(cat "$T/pi.json")"
    set -- $(lum "$T/poster.png")
    awk "BEGIN{exit !($1 >= 16 && $2 >= 6)}" && ok "poster $n is not black or flat (mean $1, sd $2)" || notok "poster $n black" "mean $1 sd $2"
done
"$TP" convert "$ROT" "$T/poster.png" --upright >/dev/null
ffmpeg -v error -y -i "$ROT" -frames:v 1 "$T/ff.png"
p=$("$PY" -c 'import sys,numpy as np; from PIL import Image
a,b=[np.asarray(Image.open(x).convert("RGB"),float) for x in sys.argv[1:]]
print("shape" if a.shape!=b.shape else round(10*np.log10(255**2/max(((a-b)**2).mean(),1e-9)),1))' "$T/poster.png" "$T/ff.png")
[ "$p" != shape ] && awk "BEGIN{exit !($p > 30)}" && ok "upright poster matches ffmpeg's autorotated frame (PSNR $p)" || notok "poster vs ffmpeg autorotate" "$p"

# 3. preview: h264+aac, <= 720p, upright, faststart, same duration, no location
check "video preview (rotated phone clip)" "$TP" video preview "$ROT" "$T/prev.mp4"
ffprobe -v error -print_format json -show_format -show_streams "$T/prev.mp4" >"$T/pp.json" 2>&1
ffprobe -v error -print_format json -show_format "$ROT" >"$T/sp.json"
r=$("$PY" - "$T/pp.json" "$T/sp.json" "$T/prev.mp4" <<'PYEOF'
import json, sys
p = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
v = [x for x in p["streams"] if x["codec_type"] == "video"]; a = [x for x in p["streams"] if x["codec_type"] == "audio"]
e = []
if not v or v[0]["codec_name"] != "h264": e.append("video not h264")
if not a or a[0]["codec_name"] != "aac": e.append("audio not aac")
w, h = v[0]["width"], v[0]["height"]
if min(w, h) > 720 or max(w, h) > 1280 or w % 2 or h % 2: e.append("dims %dx%d" % (w, h))
if not h > w: e.append("not upright: %dx%d" % (w, h))
if abs(w / h - 1080 / 1920) > 0.01: e.append("aspect %dx%d" % (w, h))
if any("rotation" in sd for sd in v[0].get("side_data_list", [])): e.append("has rotation side data")
if abs(float(p["format"]["duration"]) - float(s["format"]["duration"])) > 0.1: e.append("duration %s vs %s" % (p["format"]["duration"], s["format"]["duration"]))
tags = p["format"].get("tags", {})
if any("location" in k.lower() for k in tags): e.append("location kept")
if tags.get("creation_time") != s["format"]["tags"]["creation_time"]: e.append("creation_time lost")
d = open(sys.argv[3], "rb").read(4096)
if d.find(b"moov") < 0 or (d.find(b"mdat") >= 0 and d.find(b"mdat") < d.find(b"moov")): e.append("not faststart")
print("; ".join(e) or "ok")
PYEOF
)
[ "$r" = ok ] && ok "preview: h264+aac, upright $(grep -o '"width": [0-9]*' "$T/pp.json" | head -1), faststart, no location, duration kept" || notok "preview properties" "$r"
exiftool -s -s -s -GPSPosition -Location "$T/prev.mp4" | grep -q . && notok "preview: exiftool finds a location" || ok "preview: exiftool finds no location"
"$TP" video preview "$SAMPLES/clip-560x320-vp8-vorbis-5.6s.webm" "$T/prev2.mp4" >/dev/null 2>&1 &&
    [ "$(ffprobe -v error -select_streams a -show_entries stream=codec_name -of csv=p=0 "$T/prev2.mp4")" = aac ] &&
    ok "preview: VP8/Vorbis webm -> h264/aac" || notok "preview of VP8/Vorbis"

# 4. cold tier: floors met (ffmpeg's ssim filter as outside judge), metadata kept
if "$TP" video cold "$ROT" "$T/cold.mp4" --codec hevc --ssim 0.93 --min-ssim 0.90 --crf-min 26 --crf-max 36 --probes 2 \
        --samples 6 --preset ultrafast --json >"$T/c.json" 2>"$T/err"; then
    ok "video cold hevc ($(jget "$T/c.json" out_bytes) of $(jget "$T/c.json" in_bytes) bytes, crf $(jget "$T/c.json" crf))"
    awk "BEGIN{exit !($(jget "$T/c.json" ssim_mean) >= 0.93 && $(jget "$T/c.json" ssim_min) >= 0.90)}" &&
        ok "cold: reported sampled SSIM meets the floors" || notok "cold floors" "$(cat "$T/c.json")"
    [ "$(jget "$T/c.json" compare)" = ssim ] && ok "cold: frames compared with tierpress's SSIM kernel by default" ||
        notok "cold: default compare" "$(jget "$T/c.json" compare)"
    y=$(ffmpeg -nostats -i "$ROT" -i "$T/cold.mp4" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 | sed -n 's/.*SSIM Y:\([0-9.]*\).*/\1/p')
    awk "BEGIN{exit !($y >= 0.925)}" && ok "cold: ffmpeg ssim filter over all frames agrees (Y $y)" || notok "cold: ffmpeg ssim" "Y=$y"
    ffprobe -v error -print_format json -show_format -show_streams "$T/cold.mp4" >"$T/cp.json"
    ffprobe -v error -print_format json -show_format -show_streams "$ROT" >"$T/sp.json"
    r=$("$PY" - "$T/cp.json" "$T/sp.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
e = []
cv = [x for x in c["streams"] if x["codec_type"] == "video"][0]
ca = [x for x in c["streams"] if x["codec_type"] == "audio"]; sa = [x for x in s["streams"] if x["codec_type"] == "audio"]
if cv["codec_name"] != "hevc" or cv["codec_tag_string"] != "hvc1": e.append("video %s/%s" % (cv["codec_name"], cv["codec_tag_string"]))
rot = [sd.get("rotation") for sd in cv.get("side_data_list", []) if "rotation" in sd]
if rot != [-90]: e.append("rotation %r" % rot)
if not ca or ca[0]["codec_name"] != sa[0]["codec_name"] or ca[0].get("nb_frames") != sa[0].get("nb_frames"): e.append("audio not copied")
for k in ("creation_time", "location"):
    if c["format"].get("tags", {}).get(k) != s["format"]["tags"][k]: e.append(k + " lost")
sv = [x for x in s["streams"] if x["codec_type"] == "video"][0]
if cv["nb_frames"] != sv["nb_frames"]: e.append("frames %s vs %s" % (cv["nb_frames"], sv["nb_frames"]))
print("; ".join(e) or "ok")
PYEOF
)
    [ "$r" = ok ] && ok "cold: hvc1, rotation, creation_time, location, audio copy, frame count kept" || notok "cold metadata" "$r"
else
    notok "video cold hevc" "$(cat "$T/err")"
fi
if "$TP" video cold "$COCK" "$T/cold2.mp4" --codec av1 --ssim 0.94 --min-ssim 0.90 --crf-min 30 --crf-max 55 --probes 3 --preset 12 --json >"$T/c2.json" 2>"$T/err"; then
    y=$(ffmpeg -nostats -i "$COCK" -i "$T/cold2.mp4" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 | sed -n 's/.*SSIM Y:\([0-9.]*\).*/\1/p')
    [ "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$T/cold2.mp4" | tr '\n' ,)" = "av1,opus," ] &&
        awk "BEGIN{exit !($y >= 0.935 && $(jget "$T/c2.json" ssim_mean) >= 0.94)}" &&
        ok "cold av1 from VP9/Opus webm: av1 + copied opus, ffmpeg SSIM Y $y" || notok "cold av1" "Y=$y $(cat "$T/c2.json")"
else
    notok "video cold av1" "$(cat "$T/err")"
fi
"$TP" video cold "$COCK" "$T/keep.mp4" --codec av1 --min-saving 0.95 --probes 1 --preset 12 --compare lavfi --json >"$T/c3.json" 2>/dev/null
[ "$(jget "$T/c3.json" keep_original)" = true ] && [ ! -e "$T/keep.mp4" ] && [ "$(jget "$T/c3.json" compare)" = lavfi ] &&
    ok "cold: keep the original when the saving is too small (--compare lavfi)" || notok "cold keep original" "$(cat "$T/c3.json")"
check_fails "cold: --compare with an unknown name is a usage error" "$TP" video cold "$COCK" "$T/x.mp4" --compare psnr

# 5. broken clips: clean one-line errors naming the file
head -c 50000 "$ROT" >"$T/trunc.mp4"
# a faststart clip cut in half: the header reads, the samples are missing
[ -s "$T/prev.mp4" ] && head -c $(($(wc -c <"$T/prev.mp4") / 2)) "$T/prev.mp4" >"$T/trunc-faststart.mp4"
for f in "$T/trunc.mp4" "$T/trunc-faststart.mp4" "$BROKEN/meta-pentax-quicktime-metadata-only.mov"; do
    n=$(basename "$f")
    for cmd in "info" "convert @ $T/x.jpg" "video preview @ $T/x.mp4" "video cold @ $T/x.mp4"; do
        set -- $(echo "$cmd" | sed "s|@|$f|")
        case $cmd in info) set -- info "$f";; esac
        "$TP" "$@" >/dev/null 2>"$T/err"; st=$?
        if [ $st -ne 0 ] && [ $st -lt 128 ] && [ "$(wc -l <"$T/err")" -eq 1 ] && grep -q "$n" "$T/err"; then
            ok "$n: ${cmd%% @*} fails cleanly: $(sed 's/.*: \([^:]*: [^:]*\)$/\1/' "$T/err" | cut -c1-80)"
        else
            notok "$n: ${cmd%% @*}" "status $st: $(cat "$T/err")"
        fi
    done
done
grep -q "no decodable video stream" "$T/err" && ok "metadata-only MOV: 'no decodable video stream'" || notok "metadata-only MOV message" "$(cat "$T/err")"
check_fails "video cold --codec bogus is a usage error" "$TP" video cold "$ROT" "$T/x.mp4" --codec bogus
check_fails "video preview of a JPEG fails" "$TP" video preview "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" "$T/x.mp4"
