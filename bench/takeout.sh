#!/bin/sh
# Takeout import benchmark (not a test): a synthetic export of N small
# JPEGs (every sidecar naming variant in turn, a tenth of the sidecars in
# another part) in PARTS zip parts (tests/tools/takeout_gen.py), imported
# in place with `tierpress import takeout`, against unpacking the parts
# with unzip and running `tierpress ingest` on the folder.  Prints files/s,
# wall time and peak RSS (GNU time) of both, and the ratios.
#   sh bench/takeout.sh [N] [PARTS]        (default 10000 photos, 4 parts)
set -e
cd "$(dirname "$0")/.."
make -s tierpress
N=${1:-10000}
PARTS=${2:-4}
W=$(mktemp -d /var/tmp/tp-takeout-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
./tierpress convert samples/photo-whatsapp-1024x768-noexif-progressive.jpg "$W/small.jpg" \
    --max-edge 64 --keep none >/dev/null
mkdir -p "$W/x"
python3 tests/tools/takeout_gen.py bench "$W/x" "$W/small.jpg" "$N" "$PARTS"
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# measure NAME CMD...: wall seconds and max RSS (kB) into $W/NAME.time
measure() {
    name=$1
    shift
    /usr/bin/time -f "%e %M" -o "$W/$name.time" "$@" >"$W/$name.out" 2>"$W/$name.err" || true
}
measure import ./tierpress --home "$W/h1" import takeout "$W"/x/takeout-*.zip --json
measure unzip sh -c "for z in '$W'/x/takeout-*.zip; do unzip -q -o \"\$z\" -d '$W/u'; done"
# ingest reports the .json files it cannot read (exit 1); the photos go in
measure ingest ./tierpress --home "$W/h2" ingest "$W/u" --json
read -r ti ri <<EOT
$(tail -n 1 "$W/import.time")
EOT
read -r tu ru <<EOT
$(tail -n 1 "$W/unzip.time")
EOT
read -r tg rg <<EOT
$(tail -n 1 "$W/ingest.time")
EOT
n1=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read())["imported"])' "$W/import.out")
m1=$(python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).read()); print("%d/%d sidecars matched, %d media without one" % (r["sidecars_matched"], r["sidecars"], r["media_without_sidecar"]))' "$W/import.out")
n2=$(grep -c '"asset"' "$W/ingest.out" || true)
python3 - "$N" "$PARTS" "$ti" "$ri" "$tu" "$ru" "$tg" "$rg" "$n1" "$n2" "$LOAD" "$m1" <<'PY'
import sys
n, parts, ti, ri, tu, ru, tg, rg, n1, n2, load = sys.argv[1:12]
ti, ri, tu, ru, tg, rg = map(float, (ti, ri, tu, ru, tg, rg))
tb = tu + tg
print("%s photos in %s zip parts (load at start %s); import: %s" % (n, parts, load, sys.argv[12]))
print("| command | files | wall [s] | files/s | peak RSS [MB] |")
print("|:---|---:|---:|---:|---:|")
print("| `tierpress import takeout takeout-*.zip` (in place, sidecars applied) | %s | %.1f | %.0f | %.1f |" % (n1, ti, int(n1) / ti, ri / 1024))
print("| `unzip` every part | | %.1f | | %.1f |" % (tu, ru / 1024))
print("| `tierpress ingest` the unpacked folder (no sidecars) | %s | %.1f | %.0f | %.1f |" % (n2, tg, int(n2) / tg, rg / 1024))
print("| unzip + ingest | %s | %.1f | %.0f | %.1f |" % (n2, tb, int(n2) / tb, max(ru, rg) / 1024))
print("- import / (unzip + ingest) wall time: %.2fx; files/s ratio %.2fx; peak RSS ratio %.2fx"
      % (ti / tb, (int(n1) / ti) / (int(n2) / tb), ri / max(ru, rg)))
PY
