#!/bin/sh
# Ingest: the samples into a fresh home; catalog metadata against `info`;
# proxies decode, are upright, sized right and carry no GPS; a second
# ingest stores nothing; originals come back bit-exact; a broken file in a
# batch fails alone; access import; clean errors from get.
. "${TP_ROOT:-.}/tests/lib.sh"

H=$T/home
mkdir -p "$T/proxies"
# blob files under a home, not counting its blobs/tmp/
count_blobs() { find "$1/blobs" -path "$1/blobs/tmp" -prune -o -type f -print | wc -l; }

# Which samples this build can read (`info` says kind image or video):
# those must ingest; every other media file (formats without an adapter in
# this build) must fail alone.
: >"$T/images"
: >"$T/videos"
: >"$T/others"
for f in "$SAMPLES"/*; do
    case $f in *.md) continue ;; esac
    if "$TP" info --json "$f" >"$T/i.json" 2>/dev/null; then
        case $(jget "$T/i.json" kind) in
        image) echo "$f" >>"$T/images" ;;
        video) echo "$f" >>"$T/videos" ;;
        *) echo "$f" >>"$T/others" ;;
        esac
    else
        echo "$f" >>"$T/others"
    fi
done
n_img=$(wc -l <"$T/images")
n_vid=$(wc -l <"$T/videos")
n_oth=$(wc -l <"$T/others")
[ "$n_img" -ge 5 ] && ok "ingest: $n_img image samples readable in this build" ||
    notok "ingest: image samples" "only $n_img readable"
[ "$n_vid" -ge 5 ] && ok "ingest: $n_vid video samples readable in this build" ||
    notok "ingest: video samples" "only $n_vid readable"
n_all=$((n_img + n_vid))

# shellcheck disable=SC2046
"$TP" --home "$H" ingest --json $(cat "$T/images" "$T/videos" "$T/others") >"$T/ing1.json" 2>"$T/ing1.err"
st=$?
want=0
[ "$n_oth" -gt 0 ] && want=1
[ $st -eq $want ] && ok "ingest: exit status $st with $n_oth unreadable files" ||
    notok "ingest: exit status" "got $st, want $want: $(tail -n 3 "$T/ing1.err" | tr '\n' ' ')"
nerr=$(grep -v '^tierpress: warning:' "$T/ing1.err" | grep -c '^tierpress: .*: ')
[ "$nerr" -eq "$n_oth" ] && ok "ingest: one error line per unreadable file ($nerr)" ||
    notok "ingest: error lines" "$nerr for $n_oth files: $(head -n 3 "$T/ing1.err" | tr '\n' ' ')"
"$TP" --home "$H" ls --json >"$T/ls1.json"
n_ls=$(grep -c '"id":' "$T/ls1.json")
[ "$n_ls" -eq "$n_all" ] && ok "ingest: $n_ls assets in the catalog ($n_img images, $n_vid videos)" ||
    notok "ingest: asset count" "$n_ls assets for $n_img images and $n_vid videos"
blobs1=$(count_blobs "$H")
tmp1=$(find "$H/blobs/tmp" -type f | wc -l)
[ "$blobs1" -ge $((n_img * 2 + n_vid * 3)) ] && ok "ingest: $blobs1 blobs stored (originals + proxies)" || notok "ingest: blobs" "$blobs1"
[ "$tmp1" -eq 0 ] && ok "ingest: no temp files left" || notok "ingest: temp files" "$tmp1 left"

# Catalog vs info, proxies, originals: one python pass collects the work.
if "$PY" - "$TP" "$H" "$T" "$T/ing1.json" "$T/ls1.json" <<'PYEOF' >"$T/check.out" 2>&1
import json, subprocess, sys, hashlib, os
tp, home, tdir, ing, ls = sys.argv[1:6]
run = lambda *a: subprocess.run([tp, "--home", home, *a], capture_output=True, text=True)
info = lambda p: json.loads(subprocess.run([tp, "info", "--json", p], capture_output=True,
                                           text=True, check=True).stdout)
results = [json.loads(l) for l in open(ing)]
assets = {a["id"]: a for a in map(json.loads, open(ls))}
bad = 0
def fail(msg):
    global bad
    bad += 1
    print("FAIL", msg)
proxies = []
videos = []
for r in results:
    if "error" in r:
        continue
    f, a = r["file"], assets.get(r["asset"])
    if a is None or r["duplicate"]:
        fail(f"{f}: asset {r.get('asset')} missing or a duplicate on first ingest"); continue
    i = info(f)
    want_ct = i["capture_time"].replace(":", "-", 2).replace(" ", "T") if i["capture_time"] else None
    for k, got, want in (("width", a["width"], i["width"]), ("height", a["height"], i["height"]),
                         ("format", a["format"], i["format"]), ("capture_time", a["capture_time"], want_ct),
                         ("orientation", a["orientation"], i["orientation"]), ("gps", a["gps"], i["gps"]),
                         ("bytes", a["bytes"], os.path.getsize(f))):
        if got != want:
            fail(f"{f}: catalog {k}={got!r}, info says {want!r}")
    sha = hashlib.sha256(open(f, "rb").read()).hexdigest()
    if a["sha256"] != sha or r["sha256"] != sha:
        fail(f"{f}: sha256 {a['sha256']} != {sha}")
    out = os.path.join(tdir, "proxies", f"{a['id']}.orig")
    g = run("get", str(a["id"]), "-o", out)
    if g.returncode or hashlib.sha256(open(out, "rb").read()).hexdigest() != sha:
        fail(f"{f}: get of the original does not return the uploaded bytes {g.stderr}")
    video = i["kind"] == "video"
    if a["kind"] != i["kind"] or r["kind"] != i["kind"]:
        fail(f"{f}: kind {a['kind']}/{r['kind']}, info says {i['kind']}")
    if video and (abs(a.get("duration", 0) - i["duration"]) > 1e-3 or abs(r.get("duration", 0) - i["duration"]) > 1e-3):
        fail(f"{f}: duration {a.get('duration')}/{r.get('duration')}, info says {i['duration']}")
    names = sorted(x["name"] for x in a["renditions"])
    if names != (["poster", "preview", "thumb"] if video else ["preview", "thumb"]):
        fail(f"{f}: renditions {names}")
    dw, dh = i["display_width"], i["display_height"]
    for rd in a["renditions"]:
        if video and rd["name"] == "preview":
            p = os.path.join(tdir, "proxies", f"{a['id']}.preview.mp4")
            g = run("get", str(a["id"]), "--rendition", "preview", "-o", p)
            if g.returncode:
                fail(f"{f}: get preview: {g.stderr}"); continue
            videos.append((f, p, i, rd))
            continue
        edge = {"thumb": 256, "preview": 2048, "poster": 2048}[rd["name"]]
        p = os.path.join(tdir, "proxies", f"{a['id']}.{rd['name']}.{rd['format']}")
        g = run("get", str(a["id"]), "--rendition", rd["name"], "-o", p)
        if g.returncode:
            fail(f"{f}: get {rd['name']}: {g.stderr}"); continue
        try:
            pi = info(p)
        except subprocess.CalledProcessError as e:
            fail(f"{f}: {rd['name']} does not decode: {e.stderr}"); continue
        proxies.append(p)
        w, h = pi["display_width"], pi["display_height"]
        want_long = min(edge, max(dw, dh))
        if max(w, h) != want_long:
            fail(f"{f}: {rd['name']} is {w}x{h}, longer edge should be {want_long}")
        # upright: same aspect as the displayed original, pixels already rotated
        if pi["orientation"] != 1 or (w >= h) != (dw >= dh) or abs(w / h - dw / dh) > 0.02 * dw / dh + 1.0 / min(w, h):
            fail(f"{f}: {rd['name']} {w}x{h} orientation {pi['orientation']} is not upright for {dw}x{dh}")
        if pi["gps"]:
            fail(f"{f}: {rd['name']} has GPS")
        if (rd["width"], rd["height"]) != (pi["width"], pi["height"]) or rd["format"] != pi["format"]:
            fail(f"{f}: catalog says {rd['format']} {rd['width']}x{rd['height']}, file is {pi['format']} {pi['width']}x{pi['height']}")
        if rd["bytes"] != os.path.getsize(p):
            fail(f"{f}: {rd['name']} bytes differ")
# exiftool once over every proxy: no GPS tag of any kind
ex = json.loads(subprocess.run(["exiftool", "-json", "-GPSLatitude", "-GPSLongitude", *proxies],
                               capture_output=True, text=True).stdout or "[]")
for e in ex:
    if "GPSLatitude" in e or "GPSLongitude" in e:
        fail(f"{e['SourceFile']}: exiftool finds GPS")
# video previews: ffprobe reads them, ffmpeg decodes every frame, H.264 +
# AAC, upright (no rotation left, displayed shape kept), <= 720p, duration
# kept, no location tag
for f, p, i, rd in videos:
    pr = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", p],
                        capture_output=True, text=True)
    if pr.returncode:
        fail(f"{f}: ffprobe cannot read the preview: {pr.stderr}"); continue
    j = json.loads(pr.stdout)
    vs = [s for s in j["streams"] if s["codec_type"] == "video"]
    au = [s for s in j["streams"] if s["codec_type"] == "audio"]
    if len(vs) != 1 or vs[0]["codec_name"] != "h264" or (i["acodec"] and [s["codec_name"] for s in au] != ["aac"]):
        fail(f"{f}: preview streams {[s['codec_name'] for s in j['streams']]}"); continue
    v = vs[0]
    w, h = v["width"], v["height"]
    rot = [sd.get("rotation", 0) for sd in v.get("side_data_list", []) if "rotation" in sd]
    if any(rot) or v.get("tags", {}).get("rotate"):
        fail(f"{f}: preview still carries a rotation {rot}")
    if (w >= h) != (i["display_width"] >= i["display_height"]) or min(w, h) > 720 or max(w, h) > 1280:
        fail(f"{f}: preview {w}x{h} for a displayed {i['display_width']}x{i['display_height']}")
    if (rd["width"], rd["height"]) != (w, h) or rd["format"] != "mp4":
        fail(f"{f}: catalog says preview {rd['format']} {rd['width']}x{rd['height']}, file is {w}x{h}")
    tags = {k.lower(): x for k, x in j["format"].get("tags", {}).items()}
    if any("location" in k for k in tags):
        fail(f"{f}: preview has a location tag {tags}")
    if abs(float(j["format"]["duration"]) - i["duration"]) > 0.25:
        fail(f"{f}: preview lasts {j['format']['duration']} s, the clip {i['duration']} s")
    dec = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", p, "-f", "null", "-"],
                         capture_output=True, text=True)
    if dec.returncode or dec.stderr.strip():
        fail(f"{f}: ffmpeg cannot decode the preview: {dec.stderr[:200]}")
print(f"checked {len(results)} results, {len(proxies)} proxies, {len(videos)} video previews, {len(ex)} by exiftool")
sys.exit(1 if bad else 0)
PYEOF
then ok "ingest: catalog matches info; originals bit-exact; proxies upright, sized, no GPS ($(tail -n 1 "$T/check.out"))"
else notok "ingest: catalog/proxy checks" "$(grep FAIL "$T/check.out" | head -n 5 | tr '\n' ' ')$(tail -n 2 "$T/check.out" | tr '\n' ' ')"
fi

# the orientation-6 iPhone photo: its thumb follows the displayed shape
# (square here, so check the orientation-6 Panasonic, stored landscape)
pan=$SAMPLES/photo-panasonic-gf1-640x428-exif-orient6.jpg
id=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["file"].endswith(sys.argv[2]): print(r["asset"])' "$T/ing1.json" "$(basename "$pan")")
if [ -n "$id" ] && "$TP" --home "$H" get "$id" --rendition thumb -o "$T/pan-thumb" &&
    "$TP" info --json "$T/pan-thumb" >"$T/pt.json"; then
    w=$(jget "$T/pt.json" width); h=$(jget "$T/pt.json" height)
    [ "$w" -lt "$h" ] && [ "$h" -eq 256 ] && [ "$(jget "$T/pt.json" orientation)" -eq 1 ] &&
        ok "ingest: orientation-6 thumb is portrait ${w}x${h}" ||
        notok "ingest: orientation-6 thumb" "${w}x${h}, want portrait with height 256"
else
    notok "ingest: orientation-6 thumb" "not found"
fi

# the phone clip stored 1920x1080 with a 90-degree rotation: catalog keeps
# the stored size and orientation 6, the poster is portrait at the
# displayed size, the preview portrait 720x1280
rot=$SAMPLES/clip-phone-1920x1080-h264-aac-gps-rotation90cw-1.6s.mp4
"$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    a=json.loads(l)
    if a["sha256"]==sys.argv[2]: print(a["id"],a["kind"],a["width"],a["height"],a["orientation"],a["gps"],a.get("duration"),a["capture_time"])' \
    "$T/ls1.json" "$(sha256sum "$rot" | cut -d' ' -f1)" >"$T/rot.txt"
read -r rid rkind rw rh ro rgps rdur rct <"$T/rot.txt"
if [ -n "$rid" ] && "$TP" --home "$H" get "$rid" --rendition poster -o "$T/rot-poster" &&
    "$TP" info --json "$T/rot-poster" >"$T/rp.json" &&
    "$TP" --home "$H" get "$rid" --rendition preview -o "$T/rot-prev.mp4"; then
    pv=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height -of csv=p=0 "$T/rot-prev.mp4")
    [ "$rkind $rw $rh $ro $rgps $rct" = "video 1920 1080 6 True 2019-12-20T20:08:34" ] &&
        [ "$(jget "$T/rp.json" width)x$(jget "$T/rp.json" height)" = 1080x1920 ] &&
        [ "$(jget "$T/rp.json" orientation)" -eq 1 ] && [ "$pv" = "720,1280" ] &&
        ok "ingest: rotated phone clip: catalog 1920x1080 orientation 6 gps $rdur s, poster 1080x1920 upright, preview 720x1280" ||
        notok "ingest: rotated phone clip" "catalog: $(cat "$T/rot.txt"); poster $(jget "$T/rp.json" width)x$(jget "$T/rp.json" height) o$(jget "$T/rp.json" orientation); preview $pv"
else
    notok "ingest: rotated phone clip" "not found or get failed: $(cat "$T/rot.txt")"
fi
# the poster frame skips black/flat keyframes
"$PY" -c 'import sys
from skimage import io
a = io.imread(sys.argv[1]).astype(float)
sys.exit(0 if a.mean() > 20 and a.std() > 10 else 1)' "$T/rot-poster" 2>/dev/null &&
    ok "ingest: the rotated clip's poster is not a black or flat frame" ||
    notok "ingest: poster content" "black or flat"

# broken clips in a batch: each its own error, the good clip ingests
H4=$T/home4
head -c 50000 "$rot" >"$T/trunc-clip.mp4"
meta=$BROKEN/meta-pentax-quicktime-metadata-only.mov
small=$SAMPLES/clip-320x240-h264-aac-1.2s.mp4
"$TP" --home "$H4" ingest --json "$T/trunc-clip.mp4" "$small" "$meta" >"$T/bc.json" 2>"$T/bc.err"
st=$?
if [ $st -eq 1 ] && [ "$(grep -c '"error"' "$T/bc.json")" -eq 2 ] &&
    [ "$(grep -c '"kind":"video"' "$T/bc.json")" -eq 1 ] &&
    grep -q "^tierpress: $T/trunc-clip.mp4: " "$T/bc.err" && grep -q "^tierpress: $meta: " "$T/bc.err" &&
    [ "$("$TP" --home "$H4" ls --json | grep -c '"id":')" -eq 1 ]; then
    ok "ingest: truncated and metadata-only clips fail alone ($(grep -c '^tierpress: ' "$T/bc.err") errors)"
else
    notok "ingest: broken clips" "status $st: $(tr '\n' ' ' <"$T/bc.err")"
fi

# proxy pixels against libvips's thumbnailer (outside reference: its own
# JPEG shrink-on-load, Lanczos 3 and auto-rotation): the 2048 preview, the
# 256 thumb (made from a chain of two resizes), and the orientation-6
# iPhone's preview, each > 35 dB although ours went through JPEG/WebP
psnr_vips() { # psnr_vips ORIGINAL EDGE OURS
    vips thumbnail "$1" "$T/vt.png" "$2" --size down >/dev/null 2>&1 || { echo "vips-failed"; return; }
    "$PY" -c 'import sys, numpy as np
from skimage import io
a = io.imread(sys.argv[1])[..., :3].astype(float); b = io.imread(sys.argv[2])[..., :3].astype(float)
if a.shape != b.shape: print("shape", a.shape, b.shape); sys.exit()
m = ((a - b) ** 2).mean(); print("inf" if m == 0 else round(10 * np.log10(255 ** 2 / m), 2))' "$T/vt.png" "$3"
}
asset_of() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l)
    if r["file"].endswith(sys.argv[2]): print(r["asset"])' "$T/ing1.json" "$1"; }
xid=$(asset_of photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg)
iid=$(asset_of photo-iphone6plus-2448x2448-exif-gps-orient6.jpg)
"$TP" --home "$H" get "$xid" --rendition preview -o "$T/x-prev.jpg"
"$TP" --home "$H" get "$xid" --rendition thumb -o "$T/x-thumb.webp"
dwebp -quiet "$T/x-thumb.webp" -o "$T/x-thumb.png"
"$TP" --home "$H" get "$iid" --rendition preview -o "$T/iph-prev.jpg"
p1=$(psnr_vips "$SAMPLES/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg" 2048 "$T/x-prev.jpg")
p2=$(psnr_vips "$SAMPLES/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg" 256 "$T/x-thumb.png")
p3=$(psnr_vips "$SAMPLES/photo-iphone6plus-2448x2448-exif-gps-orient6.jpg" 2048 "$T/iph-prev.jpg")
awk "BEGIN{exit !($p1 > 35 && $p2 > 35 && $p3 > 35)}" 2>/dev/null &&
    ok "ingest: proxies match vips thumbnail (PSNR 2048 orient-3 $p1 dB, 256 $p2 dB, orient-6 $p3 dB)" ||
    notok "ingest: proxies vs vips thumbnail" "PSNR $p1 / $p2 / $p3"

# Again: everything a duplicate, nothing new stored
# shellcheck disable=SC2046
"$TP" --home "$H" ingest --json $(cat "$T/images" "$T/videos") >"$T/ing2.json" 2>"$T/ing2.err"
st=$?
ndup=$(grep -c '"duplicate":true' "$T/ing2.json")
blobs2=$(count_blobs "$H")
n_ls2=$("$TP" --home "$H" ls --json | grep -c '"id":')
[ $st -eq 0 ] && [ "$ndup" -eq "$n_all" ] && [ "$blobs2" -eq "$blobs1" ] && [ "$n_ls2" -eq "$n_all" ] &&
    ok "ingest again: $ndup duplicates, blobs unchanged ($blobs2)" ||
    notok "ingest again" "status $st, $ndup/$n_all duplicates, blobs $blobs1 -> $blobs2, assets $n_ls2"

# A broken file in a batch: its own error, exit 1, the others ingested
H2=$T/home2
good1=$(sed -n 1p "$T/images")
good2=$(sed -n 2p "$T/images")
broken=$BROKEN/truncated-xiaomi-4000x3000-at-1.5MB.jpg
"$TP" --home "$H2" ingest "$good1" "$broken" "$good2" >"$T/b.out" 2>"$T/b.err"
st=$?
n2=$("$TP" --home "$H2" ls --json | grep -c '"id":')
if [ $st -eq 1 ] && [ "$n2" -eq 2 ] && grep -q "^tierpress: $broken: " "$T/b.err" &&
    [ "$(grep -v '^tierpress: warning:' "$T/b.err" | grep -c '^tierpress: ')" -eq 1 ]; then
    ok "ingest: broken file fails alone ($(grep "^tierpress: $broken" "$T/b.err" | sed 's/.*: //'))"
else
    notok "ingest: broken file in a batch" "status $st, $n2 assets: $(cat "$T/b.err" | tr '\n' ' ')"
fi
# nothing of the broken file stored: 2 originals + 2x2 proxies at most
nb=$(count_blobs "$H2")
[ "$nb" -ge 2 ] && [ "$nb" -le 6 ] && ok "ingest: no blobs for the broken file ($nb blobs)" || notok "ingest: blobs" "$nb"

# --policy: the policy's default proxies (128 px AVIF thumb, 512 px JPEG
# small, 1024 px WebP medium) instead of the built-in set, from one
# decode: the 4000x3000 JPEG is decoded once, at 3/8 scale (1500x1125:
# the smallest libjpeg scale m/8 whose longer edge covers 1024)
H5=$T/home5
xi=$SAMPLES/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg
TP_LOG=debug "$TP" --home "$H5" ingest --json --policy "$TP_ROOT/tests/policies/proxies-small.yaml" \
    "$xi" "$pan" "$small" >"$T/pol.json" 2>"$T/pol.err"
st=$?
if "$PY" - "$TP" "$H5" "$T" "$T/pol.json" <<'PYEOF' >"$T/pol.out" 2>&1
import json, subprocess, sys, os
tp, home, tdir, ing = sys.argv[1:5]
want = {"thumb": ("avif", 128), "small": ("jpeg", 512), "medium": ("webp", 1024)}
bad = 0
for r in map(json.loads, open(ing)):
    f = r["file"]
    i = json.loads(subprocess.run([tp, "info", "--json", f], capture_output=True, text=True).stdout)
    names = sorted(p["name"] for p in r["proxies"])
    exp = sorted(want) + (["poster", "preview"] if r["kind"] == "video" else [])
    if names != sorted(exp):
        print("FAIL", f, "proxies", names); bad += 1; continue
    dw, dh = i["display_width"], i["display_height"]
    for p in r["proxies"]:
        if p["name"] not in want:
            continue
        fmt, edge = want[p["name"]]
        out = os.path.join(tdir, f"pol-{r['asset']}-{p['name']}")
        subprocess.run([tp, "--home", home, "get", str(r["asset"]), "--rendition", p["name"], "-o", out], check=True)
        pi = json.loads(subprocess.run([tp, "info", "--json", out], capture_output=True, text=True).stdout)
        w, h = pi["display_width"], pi["display_height"]
        if pi["format"] != fmt or max(w, h) != min(edge, max(dw, dh)) or pi["orientation"] != 1 or \
           (w >= h) != (dw >= dh) or pi["gps"]:
            print("FAIL", f, p["name"], pi["format"], w, h, pi["orientation"], pi["gps"], "for", dw, dh); bad += 1
print("ok")
sys.exit(bad)
PYEOF
then
    ndec=$(grep -c 'decoded at' "$T/pol.err")
    if [ $st -eq 0 ] && [ "$ndec" -eq 3 ] && grep -q "$xi: 4000x3000 decoded at 1500x1125 for proxies" "$T/pol.err"; then
        ok "ingest --policy: thumb avif 128, small jpeg 512, medium webp 1024 (+ poster/preview for the clip), upright, no GPS, one decode at 3/8 scale"
    else
        notok "ingest --policy: decodes" "status $st, $ndec decodes: $(grep 'decoded at' "$T/pol.err" | tr '\n' ' ')"
    fi
else
    notok "ingest --policy" "$(grep FAIL "$T/pol.out" | head -n 4 | tr '\n' ' ') $(tail -n 2 "$T/pol.err" | tr '\n' ' ')"
fi
check_fails "ingest --policy: a broken policy is an error" "$TP" --home "$H5" ingest --policy "$TP_ROOT/tests/policies/bad/missing-version.yaml" "$xi"

# get: clean errors
check_fails "get: unknown asset is an error" "$TP" --home "$H" get 99999 -o "$T/x"
check_fails "get: unknown rendition is an error" "$TP" --home "$H" get 1 --rendition cold -o "$T/x"
check_fails "get: --rendition with --representation is a usage error" "$TP" --home "$H" get 1 --rendition thumb --representation -o "$T/x"
# before any cold-tier swap the representation is the upload itself
f1=$(sed -n 1p "$T/images")
id1=$("$TP" --home "$H" ingest --json "$f1" | sed -n 's/.*"asset":\([0-9]*\).*/\1/p')
"$TP" --home "$H" get "$id1" --representation -o "$T/repr" && cmp -s "$T/repr" "$f1" &&
    ok "get --representation: the stored bytes (= the upload before any swap)" ||
    notok "get --representation" "differs from $f1"
"$TP" --home "$H" get 99999 -o "$T/x" 2>"$T/g.err"
grep -q "99999" "$T/g.err" && [ ! -e "$T/x" ] && ok "get: error names the asset, no file written" ||
    notok "get: error message" "$(cat "$T/g.err")"

# access import: counts relative to the newest timestamp, bad lines by number
cat >"$T/acc.csv" <<CSV
asset_id,timestamp
1,2024-06-30T12:00:00Z
1,2024-06-20T00:00:00Z
1,2024-05-01T00:00:00Z
1,2023-09-01T00:00:00Z
1,$(date -u -d 2022-01-01 +%s)
2,not-a-time
99999,2024-06-01T00:00:00Z
garbage
CSV
"$TP" --home "$H" access import "$T/acc.csv" >"$T/a.out" 2>"$T/a.err"
st=$?
"$TP" --home "$H" ls --json | head -n 1 >"$T/a1.json"
if [ $st -eq 1 ] && grep -q "acc.csv:7:" "$T/a.err" && grep -q "acc.csv:8:" "$T/a.err" &&
    grep -q "acc.csv:9:" "$T/a.err" && [ "$(jget "$T/a1.json" count_30d)" -eq 2 ] &&
    [ "$(jget "$T/a1.json" count_90d)" -eq 3 ] && [ "$(jget "$T/a1.json" count_365d)" -eq 4 ] &&
    [ "$(jget "$T/a1.json" access_total)" -eq 5 ] &&
    [ "$(jget "$T/a1.json" last_access)" = "2024-06-30T12:00:00Z" ]; then
    ok "access import: 30/90/365-day counts, bad lines 7-9 reported"
else
    notok "access import" "status $st: $(tr '\n' ' ' <"$T/a.err") $(cat "$T/a1.json")"
fi
"$TP" --home "$H" access import --now 2025-06-30T12:00:00Z "$T/acc.csv" >/dev/null 2>&1
"$TP" --home "$H" ls --json | head -n 1 >"$T/a2.json"
[ "$(jget "$T/a2.json" count_365d)" -eq 0 ] && [ "$(jget "$T/a2.json" access_total)" -eq 5 ] &&
    ok "access import --now: windows move; the same log again counts nothing twice" ||
    notok "access import --now" "$(cat "$T/a2.json")"
