# The simulator's prediction against what the runner then really does, on
# the same catalog and policy: tier counts equal, bytes saved within 5 %.
. tests/lib.sh

NOW=2031-06-01
mkdir -p "$T/in"
for f in photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg \
         photo-panasonic-gf1-640x428-exif-orient6.jpg photo-500x500-gray8.png frame-150x103-interlaced.gif \
         photo-nikon-d40-1000x665-exif.jpg; do
    cp "$SAMPLES/$f" "$T/in/"
done

compare() { # home label [policy]
    P=${3:-tests/policies/run.yaml}
    "$TP" --home "$1" simulate --policy $P --now $NOW --sample 1000 --format json >"$T/sim.json" 2>"$T/sim.err" ||
        { notok "$2: simulate" "$(tail -2 "$T/sim.err")"; return; }
    "$TP" --home "$1" run --policy $P --now $NOW --json >"$T/run.json" 2>"$T/run.err" ||
        { notok "$2: run" "$(tail -2 "$T/run.err")"; return; }
    "$PY" - "$T/sim.json" "$T/run.json" "$2" <<'PYEOF'
import json, sys
sim = json.load(open(sys.argv[1]))
run = json.loads(open(sys.argv[2]).readline())
label = sys.argv[3]
tiers = {t["name"]: t["assets"] for t in sim["tiers"] if t["name"] != "(unmatched)"}
ok = True
if tiers != run["matched"]:
    print("not ok - %s: tier counts differ: simulate %s, run %s" % (label, tiers, run["matched"])); ok = False
else:
    print("ok - %s: simulate's tier counts equal the run's %s" % (label, tiers))
pred, real = sim["bytes_saved"], run["bytes_saved"]
err = abs(pred - real) / max(real, 1)
lo, hi = sim["bytes_saved_ci"]
if real <= 0:
    print("not ok - %s: the run saved no bytes (%d): nothing to compare" % (label, real))
elif err <= 0.05 and lo <= pred <= hi:
    print("ok - %s: predicted %d bytes saved, run saved %d (%.2f %% off)" % (label, pred, real, 100 * err))
else:
    print("not ok - %s: predicted %d bytes saved (CI %d..%d), run saved %d (%.2f %% off)" % (label, pred, lo, hi, real, 100 * err))
PYEOF
}

"$TP" --home "$T/a" ingest "$T/in" >/dev/null 2>&1
compare "$T/a" "ingested samples"

# a synthetic catalog: 40 assets sharing the same real blobs
"$TP" --home "$T/b" catalog synth --assets 40 --seed 7 --media "$T/in" --now $NOW >/dev/null 2>&1 ||
    notok "catalog synth"
compare "$T/b" "synthetic catalog (40 assets)"
check "fsck clean after the run on the synthetic catalog" "$TP" --home "$T/b" fsck

# the tiers the simulator once counted as "kept as is" while the runner
# re-encoded them: a lossless tier over PNG and TIFF (a lossless JPEG XL
# pixel encode, not a JPEG recompression) and a video cold tier (HEVC)
mkdir -p "$T/in2" "$T/in3"
cp "$SAMPLES/photo-500x500-gray8.png" "$SAMPLES/photo-astronaut-512x512-rgb8.png" \
   "$SAMPLES/frame-150x103-rgb16.tiff" "$T/in2/"
cp "$SAMPLES/clip-320x240-h264-aac-1.2s.mp4" "$T/in3/"
"$TP" --home "$T/c" ingest "$T/in2" >/dev/null 2>&1 || notok "ingest the PNG/TIFF samples"
compare "$T/c" "lossless tier over PNG and TIFF" tests/policies/sim-run-all.yaml
check "fsck clean after the lossless run" "$TP" --home "$T/c" fsck
"$TP" --home "$T/d" ingest "$T/in3" >/dev/null 2>&1 || notok "ingest the clip"
compare "$T/d" "video cold tier" tests/policies/sim-run-all.yaml
check "fsck clean after the video run" "$TP" --home "$T/d" fsck
