#!/bin/sh
# tierpress simulate / catalog synth: hand-computed costs on a tiny catalog,
# nothing written to the catalog or the store, reproducible sampling, the
# exact prediction when every distinct blob is transcoded, the ratio table,
# and parseable JSON / CSV / self-contained HTML.
. "$(dirname "$0")/lib.sh"
cd "${TP_ROOT:-.}" || exit 2

GB=1073741824
NOW=$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)
H="$T/h"
J1=$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg        # 27521 bytes: below 128 KiB
J2=$SAMPLES/photo-panasonic-gf1-640x428-exif-orient6.jpg # 191853
J3=$SAMPLES/photo-nikon-d40-1000x665-exif.jpg           # 355595

# approx A B [REL]: |A - B| <= REL * max(|B|, 1e-12)  (default 1e-9)
approx() {
    "$PY" -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); r = float(sys.argv[3])
sys.exit(0 if abs(a - b) <= r * max(abs(b), 1e-12) else 1)' "$1" "$2" "${3:-1e-9}"
}
# tj FILE TIER KEY: a tier's value from simulate's JSON
tj() {
    "$PY" -c 'import json, sys
o = json.loads(open(sys.argv[1]).readline())
t = [t for t in o["tiers"] if t["name"] == sys.argv[2]][0] if sys.argv[2] != "totals" else o["totals"]
v = t[sys.argv[3]]
print("null" if v is None else v)' "$1" "$2" "$3"
}
# snapshot HOME: the catalog file's hash and its SQL dump, an empty or absent WAL
# (a read-only reader may leave an empty -wal and a -shm index behind: no data),
# and the hash of every file under blobs/.
snapshot() {
    (cd "$1" && sha256sum catalog.db && find blobs -type f | sort | xargs sha256sum &&
     if [ -s catalog.db-wal ]; then echo "non-empty WAL"; fi &&
     sqlite3 catalog.db .dump | sha256sum)
}

"$TP" --home "$H" ingest "$J1" "$J2" "$J3" >"$T/ingest.out" 2>&1 || notok "ingest 3 samples" "$(tail -n 2 "$T/ingest.out")"
# asset 1 read twice, asset 2 once in the last 30 days
printf '1,%s\n1,%s\n2,%s\n' "$(date -u -d '-2 days' +%s)" "$(date -u -d '-3 days' +%s)" \
    "$(date -u -d '-5 days' +%s)" >"$T/acc.csv"
"$TP" --home "$H" access import "$T/acc.csv" --now "$NOW" >/dev/null 2>&1 || notok "access import"

# --- case 1: mode none into STANDARD_IA: min billable size, retrieval, requests ---------
printf 'version: 1\ntiers:\n  - name: all\n    storage_class: STANDARD_IA\n' >"$T/p1.yaml"
cat >"$T/prices1.yaml" <<'EOF'
version: 1
compute: {vcpu_hour: 1}
classes:
  STANDARD: {storage_gb_month: 1, retrieval_gb: 0, requests_per_1000: 0}
  STANDARD_IA: {storage_gb_month: 0.5, retrieval_gb: 2, requests_per_1000: 1, min_billable_kb: 128, min_storage_days: 30}
EOF
snapshot "$H" >"$T/snap0"
"$TP" --home "$H" simulate --policy "$T/p1.yaml" --prices "$T/prices1.yaml" --now "$NOW" \
    --months 2 --format json >"$T/c1.json" 2>"$T/c1.err"
st=$?
# On paper (GB = 2^30):
#   before     = (27521 + 191853 + 355595) / GB * $1            (STANDARD, no minimum)
#   after      = (131072 + 191853 + 355595) / GB * $0.5         (27521 bills as 128 KiB)
#   retrieval  = (2 * 27521 + 1 * 191853) / GB * $2/GB          (30-day counts 2 and 1)
#   requests   = 3 transitions * $1/1000 = 0.003; early deletion 0 (STANDARD has no minimum)
#   saving     = before - after - retrieval < 0  -> payback never (null)
if [ $st -eq 0 ] &&
   approx "$(tj "$T/c1.json" all cost_before_month)" "$("$PY" -c "print(574969 / $GB)")" &&
   approx "$(tj "$T/c1.json" all cost_after_month)" "$("$PY" -c "print(678520 / $GB * 0.5)")" &&
   approx "$(tj "$T/c1.json" all retrieval_usd_month)" "$("$PY" -c "print(246895 / $GB * 2)")" &&
   approx "$(tj "$T/c1.json" all retrieval_usd_month_before)" 0 &&
   approx "$(tj "$T/c1.json" all requests_usd)" 0.003 &&
   approx "$(tj "$T/c1.json" all early_delete_usd)" 0 &&
   [ "$(tj "$T/c1.json" all assets)" = 3 ] &&
   [ "$(tj "$T/c1.json" all payback_months)" = null ] &&
   approx "$(tj "$T/c1.json" all bytes_after)" 574969; then ok "hand-computed: min billable size, retrieval, requests, no payback"
else notok "hand-computed: min billable size, retrieval, requests, no payback" "status $st: $(head -c 600 "$T/c1.json") $(cat "$T/c1.err")"; fi

# Same with cheap retrieval ($0.001/GB): the saving is positive, payback = requests / saving.
sed 's/retrieval_gb: 2,/retrieval_gb: 0.001,/' "$T/prices1.yaml" >"$T/prices1b.yaml"
"$TP" --home "$H" simulate --policy "$T/p1.yaml" --prices "$T/prices1b.yaml" --now "$NOW" \
    --months 0 --format json >"$T/c1b.json" 2>&1
want=$("$PY" -c "s = 574969 / $GB - 678520 / $GB * 0.5 - 246895 / $GB * 0.001; print(0.003 / s)")
if approx "$(tj "$T/c1b.json" all payback_months)" "$want" 1e-6; then ok "hand-computed payback ($want months)"
else notok "hand-computed payback" "want $want, got $(tj "$T/c1b.json" all payback_months 2>&1)"; fi

# --- case 2: lossless JPEG -> JXL into GLACIER_IR, 10 days of grace ----------------------
cat >"$T/p2.yaml" <<'EOF'
version: 1
tiers:
  - name: cold
    match: {format: jpeg, bytes: {min: 150000}}
    transcode: {mode: lossless, codecs: [jxl], min_saving: 0.05}
    original: {delete_after_days: 10}
    storage_class: GLACIER_IR
EOF
cat >"$T/prices2.yaml" <<'EOF'
version: 1
compute: {vcpu_hour: 1}
classes:
  STANDARD: {storage_gb_month: 1, retrieval_gb: 0, requests_per_1000: 0}
  GLACIER_IR: {storage_gb_month: 0.25, retrieval_gb: 0, requests_per_1000: 0, min_billable_kb: 0, min_storage_days: 90}
EOF
"$TP" --home "$H" simulate --policy "$T/p2.yaml" --prices "$T/prices2.yaml" --now "$NOW" \
    --format json >"$T/c2.json" 2>"$T/c2.err"
st=$?
A=$(tj "$T/c2.json" cold bytes_after 2>/dev/null)
CPU=$(tj "$T/c2.json" cold compute_cpu_hours 2>/dev/null)
# The two JPEGs >= 150000 bytes (191853 + 355595 = 547448) are recompressed; A is
# what they become (measured: the prediction is exact, every blob was transcoded).
#   before = 547448 / GB * $1; after = A / GB * $0.25 (the originals go after the grace)
#   grace  = 547448 / GB * $0.25 * 10/30 (originals held 10 days in GLACIER_IR)
#   early  = 547448 / GB * $0.25 * (90 - 10)/30 (deleted 80 days before the 90-day minimum)
#   payback = (compute + grace + early) / (before - after)
if [ $st -eq 0 ] && [ "$(jget "$T/c2.json" method)" = exact ] &&
   [ "$(tj "$T/c2.json" cold assets)" = 2 ] &&
   approx "$(tj "$T/c2.json" cold cost_before_month)" "$("$PY" -c "print(547448 / $GB)")" &&
   approx "$(tj "$T/c2.json" cold cost_after_month)" "$("$PY" -c "print($A / $GB * 0.25)")" &&
   approx "$(tj "$T/c2.json" cold grace_usd)" "$("$PY" -c "print(547448 / $GB * 0.25 * 10 / 30)")" &&
   approx "$(tj "$T/c2.json" cold early_delete_usd)" "$("$PY" -c "print(547448 / $GB * 0.25 * 80 / 30)")" &&
   approx "$(tj "$T/c2.json" cold grace_bytes)" 547448 &&
   approx "$(tj "$T/c2.json" cold payback_months)" \
       "$("$PY" -c "b=547448/$GB; print(($CPU + b*0.25*10/30 + b*0.25*80/30) / (b - $A/$GB*0.25))")" 1e-6
then ok "hand-computed: grace storage, early deletion before the 90-day minimum, payback"
else notok "hand-computed: grace storage, early deletion, payback" "status $st: $(head -c 800 "$T/c2.json") $(cat "$T/c2.err")"; fi

# Exact: the prediction equals the JPEG XL recompression of each original.
s2=0
for f in "$J2" "$J3"; do
    "$TP" convert --lossless "$f" "$T/x.jxl" >/dev/null 2>&1
    s2=$((s2 + $(stat -c %s "$T/x.jxl")))
done
if approx "$A" "$s2"; then ok "exact prediction = sum of the real recompressions ($s2 bytes)"
else notok "exact prediction = sum of the real recompressions" "predicted $A, real $s2"; fi

# --- the catalog and the store are untouched ------------------------------------------
"$TP" --home "$H" simulate --policy "$T/p2.yaml" --now "$NOW" --html "$T/r.html" >/dev/null 2>&1
snapshot "$H" >"$T/snap1"
if cmp -s "$T/snap0" "$T/snap1"; then ok "catalog and blob store byte-identical after simulations"
else notok "catalog and blob store byte-identical" "$(diff "$T/snap0" "$T/snap1" | head -n 5 | tr '\n' ' ')"; fi

# --- a synthetic catalog sharing a few small real blobs --------------------------------
mkdir -p "$T/media"
cp "$J1" "$J2" "$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg" \
   "$SAMPLES/photo-500x500-gray8.png" "$SAMPLES/frame-150x103-rgb16.tiff" \
   "$SAMPLES/pattern-32x32-rgba16.png" "$T/media/"
S="$T/s"
out=$("$TP" --home "$S" catalog synth --assets 1500 --seed 7 --media "$T/media" --now 2026-06-01 2>&1)
st=$?
ref=$(sqlite3 "$S/catalog.db" "SELECT sum(b.refcount = 2 * (SELECT count(*) FROM assets a WHERE a.current_blob = b.hash)), count(*), (SELECT count(*) FROM assets), (SELECT count(DISTINCT sha256) FROM assets) FROM blobs b" 2>&1)
if [ $st -eq 0 ] && [ "$ref" = "6|6|1500|1500" ]; then ok "catalog synth: 1500 assets, 6 shared blobs, exact reference counts"
else notok "catalog synth" "status $st: $out / $ref"; fi
# the same seed gives the same catalog
"$TP" --home "$T/s2" catalog synth --assets 1500 --seed 7 --media "$T/media" --now 2026-06-01 >/dev/null 2>&1
q="SELECT group_concat(format || upload_time || coalesce(capture_time, '') || current_blob, ',') FROM assets"
if [ "$(sqlite3 "$S/catalog.db" "$q" | sha256sum)" = "$(sqlite3 "$T/s2/catalog.db" "$q" | sha256sum)" ]; then
    ok "catalog synth: same seed, same catalog"
else notok "catalog synth: same seed, same catalog"; fi
"$PY" -c '
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, never = db.execute("SELECT count(*), sum(x.count_90d IS NULL OR x.count_90d = 0) FROM assets a LEFT JOIN access x ON x.asset_id = a.id WHERE a.upload_time < \"2026-03-01\"").fetchone()
mx = db.execute("SELECT max(count_365d) FROM access").fetchone()[0]
ages = [r[0] for r in db.execute("SELECT julianday(\"2026-06-01\") - julianday(upload_time) FROM assets")]
assert never / n > 0.7, (never, n)      # most old assets not accessed lately
assert mx >= 20, mx                      # heavy tail
ages.sort(); med = ages[len(ages) // 2]
assert 300 < med < 1500 and ages[-1] <= 3651, med   # 10 years, skewed recent
' "$S/catalog.db" 2>"$T/dist.err" && ok "catalog synth: recent-skewed ages, heavy-tailed accesses" ||
    notok "catalog synth distributions" "$(tail -n 1 "$T/dist.err")"

cat >"$T/p3.yaml" <<'EOF'
version: 1
tiers:
  - name: hot
    match: {accessed_within_days: 90}
    storage_class: STANDARD
  - name: cold-jpeg
    match: {format: jpeg, age_days: {min: 180}}
    transcode: {mode: lossless, codecs: [jxl], min_saving: 0.05}
    original: {delete_after_days: 30}
    storage_class: STANDARD_IA
  - name: cold-other
    match: {kind: image, format: [png, tiff], age_days: {min: 180}}
    transcode: {mode: lossy, codecs: [jxl], ssim: 0.99, effort: 3, min_saving: 0.1}
    storage_class: GLACIER_IR
EOF
snapshot "$S" >"$T/snap2"
sim() { "$TP" --home "$S" simulate --policy "$T/p3.yaml" --now 2026-06-01 "$@"; }
sim --sample 3 --seed 11 --months 6 --format json >"$T/a.json" 2>"$T/a.err"
sim --sample 3 --seed 11 --months 6 --format json >"$T/b.json" 2>/dev/null
# estimates (not the measured CPU time, which varies) must repeat exactly
est() {
    "$PY" -c 'import json, sys
o = json.loads(open(sys.argv[1]).readline())
print(o["method"], o["bytes_saved"], [(t["name"], t["assets"], t["bytes_after"], t["bytes_after_ci"], t["sampled"]) for t in o["tiers"]],
      [m["bytes_stored"] for m in o["projection"]])' "$1"
}
if [ "$(jget "$T/a.json" method)" = sample ] && [ -n "$(est "$T/a.json")" ] &&
   [ "$(est "$T/a.json")" = "$(est "$T/b.json")" ]; then ok "--seed: the same sample and estimates twice"
else notok "--seed reproducible" "$(est "$T/a.json" 2>&1 | head -c 300) vs $(est "$T/b.json" 2>&1 | head -c 300) $(cat "$T/a.err")"; fi
distinct=$(for s in 1 2 3 4; do sim --sample 3 --seed $s --months 0 --format json 2>/dev/null | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["bytes_saved"])'; done | sort -u | wc -l)
if [ "$distinct" -ge 2 ]; then ok "different seeds draw different samples ($distinct distinct estimates of 4)"
else notok "different seeds differ" "$distinct"; fi
"$PY" -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
for t in o["tiers"] + [o["totals"]]:
    lo, hi = t["bytes_after_ci"]
    assert lo <= t["bytes_after"] <= hi, t
    assert t["bytes_after"] <= t["bytes_before"] + 1e-6, t
    for k in ("assets", "bytes_before", "bytes_after", "storage_class", "cost_before_month", "cost_after_month",
              "compute_cpu_hours", "compute_usd", "retrieval_usd_month", "payback_months"):
        assert k in t, k
lossy = [t for t in o["tiers"] if t["name"] == "cold-other"][0]
assert lossy["bytes_after_ci"][1] > lossy["bytes_after_ci"][0], lossy   # a real interval
assert sum(t["assets"] for t in o["tiers"]) == o["assets"] == 1500
assert len(o["projection"]) == 7 and o["assumptions"] and "bytes_saved" in o
' "$T/a.json" 2>"$T/ci.err" && ok "JSON: per-tier fields, lo <= estimate <= hi, tiers add up" ||
    notok "JSON per-tier fields and interval" "$(tail -n 2 "$T/ci.err")"

# Every distinct (blob, tier) fits in the sample: exact (zero-width interval), and equal
# to the real recompressions of the shared JPEG blobs times their asset counts.
printf 'version: 1\ntiers:\n  - name: jx\n    match: {format: jpeg}\n    transcode: {mode: lossless, codecs: [jxl]}\n    storage_class: STANDARD_IA\n' >"$T/p4.yaml"
"$TP" --home "$S" simulate --policy "$T/p4.yaml" --now 2026-06-01 --sample 50 --months 0 --format json >"$T/e.json" 2>/dev/null
"$PY" - "$T/e.json" "$S" "$TP" "$T" <<'EOF' 2>"$T/ex.err" && ok "sample >= distinct blobs: exact, = the real recompressions" || notok "exact with a full sample" "$(tail -n 2 "$T/ex.err")"
import json, sqlite3, subprocess, sys, os
o = json.loads(open(sys.argv[1]).readline())
assert o["method"] == "exact", o["method"]
t = [t for t in o["tiers"] if t["name"] == "jx"][0]
assert t["bytes_after_ci"][0] == t["bytes_after_ci"][1] == t["bytes_after"], t
db = sqlite3.connect(sys.argv[2] + "/catalog.db")
want = 0
for h, n in db.execute("SELECT current_blob, count(*) FROM assets WHERE format = 'jpeg' GROUP BY 1"):
    src = sys.argv[2] + "/blobs/%s/%s/%s" % (h[:2], h[2:4], h)
    out = sys.argv[4] + "/e.jxl"
    subprocess.run([sys.argv[3], "convert", "--lossless", src, out], check=True, capture_output=True)
    want += n * min(os.path.getsize(out), os.path.getsize(src))
assert t["bytes_after"] == want, (t["bytes_after"], want)
assert o["bytes_saved"] == t["bytes_before"] - want
EOF

sim --sample 0 --months 0 --format json >"$T/z.json" 2>/dev/null
if [ "$(jget "$T/z.json" method)" = table ] &&
   approx "$(tj "$T/z.json" cold-jpeg bytes_after)" "$("$PY" -c "print(0.81 * $(tj "$T/z.json" cold-jpeg bytes_before))")" 1e-9 &&
   approx "$(tj "$T/z.json" cold-other bytes_after)" "$("$PY" -c "print(0.50 * $(tj "$T/z.json" cold-other bytes_before))")" 1e-9
then ok "--sample 0: the ratio table (lossless JPEG 0.81, lossy at 0.99 0.50)"
else notok "--sample 0 ratio table" "$(head -c 400 "$T/z.json")"; fi

sim --sample 3 --months 3 --format csv >"$T/c.csv" 2>/dev/null
"$PY" -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert [r["tier"] for r in rows] == ["hot", "cold-jpeg", "cold-other", "(unmatched)", "total"], rows
assert sum(int(r["assets"]) for r in rows[:-1]) == int(rows[-1]["assets"]) == 1500
float(rows[-1]["bytes_after"]); float(rows[-1]["cost_after_month_usd"])
' "$T/c.csv" 2>"$T/csv.err" && ok "CSV parses, one row per tier + total" || notok "CSV" "$(tail -n 2 "$T/csv.err")"

sim --sample 3 --months 12 --html "$T/r.html" >"$T/table.out" 2>&1
if [ -s "$T/r.html" ] && grep -q '<svg' "$T/r.html" && grep -q '<polyline' "$T/r.html" &&
   ! grep -qiE 'https?://' "$T/r.html" && ! grep -qi '<script' "$T/r.html" &&
   "$PY" -c 'import html.parser, sys; html.parser.HTMLParser().feed(open(sys.argv[1]).read())' "$T/r.html" &&
   grep -q 'cold-other' "$T/table.out"; then ok "HTML report: self-contained, inline SVG charts"
else notok "HTML report" "$(head -c 300 "$T/r.html")"; fi

snapshot "$S" >"$T/snap3"
if cmp -s "$T/snap2" "$T/snap3"; then ok "synthetic catalog and store unchanged by simulations"
else notok "synthetic catalog unchanged" "$(diff "$T/snap2" "$T/snap3" | head -n 5 | tr '\n' ' ')"; fi

# --- a flagged lossy tier: the cheaper alternatives priced beside it (issue #15) ------
# assets 1 and 2 are below 300 kB (hot, STANDARD, nothing to do: not flagged); asset 3
# (J3, a JPEG) goes lossy into STANDARD_IA at $1000 per vCPU-hour: payback over 12 months.
printf 'version: 1\ntiers:\n  - name: hot\n    match: {bytes: {max: 300000}}\n    storage_class: STANDARD\n  - name: lossy\n    transcode: {mode: lossy, codecs: [jxl], ssim: 0.99, min_saving: 0.1}\n    storage_class: STANDARD_IA\n' >"$T/p5.yaml"
printf 'version: 1\ncompute: {vcpu_hour: 1000}\nclasses:\n  STANDARD: {storage_gb_month: 1, retrieval_gb: 0, requests_per_1000: 0}\n  STANDARD_IA: {storage_gb_month: 0.5, retrieval_gb: 0, requests_per_1000: 1}\n' >"$T/prices5.yaml"
"$TP" --home "$H" simulate --policy "$T/p5.yaml" --prices "$T/prices5.yaml" --now "$NOW" \
    --sample 0 --months 0 --format json >"$T/c5.json" 2>"$T/c5.err"
cat >"$T/c5.py" <<'PYEOF'
import json, os, sys
o = json.loads(open(sys.argv[1]).readline())
t = {t["name"]: t for t in o["tiers"]}
hot, lossy = t["hot"], t["lossy"]
assert not hot["payback_flagged"] and "alternatives" not in hot, hot
assert lossy["payback_flagged"] and lossy["assets"] == 1, lossy
b = os.path.getsize(sys.argv[2])
assert lossy["bytes_before"] == b and lossy["jpeg_bytes"] == b, lossy
alt = {a["kind"]: a for a in lossy["alternatives"]}
assert sorted(alt) == ["class_only", "lossless"], alt
c, l = alt["class_only"], alt["lossless"]
for a in (c, l):
    assert set(a) >= {"kind", "one_off_usd", "saving_month_usd", "payback_months", "bytes_after"}, a
# class only: no compute, the bytes unchanged, one transition request, STANDARD -> STANDARD_IA
assert c["compute_usd"] == 0 and c["bytes_after"] == b, c
assert abs(c["one_off_usd"] - 0.001) < 1e-12, c
assert abs(c["saving_month_usd"] - b * 0.5 / 2**30) < 1e-12, c
assert abs(c["payback_months"] - 0.001 / (b * 0.5 / 2**30)) < 1e-6 * c["payback_months"], c
# lossless: the JPEG recompressed byte-exactly (ratio table row 0: 0.81, 0.1 CPU-s/MP)
assert abs(l["bytes_after"] - 0.81 * b) < 1e-6 * b, l
mp = 1000 * 665 / 1e6
assert abs(l["compute_usd"] - 0.1 * mp / 3600 * 1000) < 1e-9, l
assert l["bytes_after"] < lossy["bytes_before"] and l["one_off_usd"] < lossy["one_off_usd"], (l, lossy)
assert l["saving_month_usd"] > c["saving_month_usd"], (l, c)
PYEOF
if "$PY" "$T/c5.py" "$T/c5.json" "$J3"
then ok "flagged lossy tier: class-only and lossless alternatives priced in --json"
else notok "alternatives in --json" "$(cat "$T/c5.err") $(head -c 600 "$T/c5.json")"; fi
"$TP" --home "$H" simulate --policy "$T/p5.yaml" --prices "$T/prices5.yaml" --now "$NOW" \
    --sample 0 --months 0 >"$T/c5.out" 2>&1
"$TP" --home "$H" simulate --policy "$T/p5.yaml" --prices "$T/prices5.yaml" --now "$NOW" \
    --sample 0 --months 0 --html "$T/c5.html" >/dev/null 2>&1
# two under the lossy tier, two under the total (flagged too)
if [ "$(grep -c '^  instead, ' "$T/c5.out")" -eq 4 ] && grep -q '^  instead, class only ' "$T/c5.out" &&
   grep -q '^  instead, lossless ' "$T/c5.out" &&
   [ "$(grep -o 'class="alt" data-kind="[a-z_]*"' "$T/c5.html" | wc -l)" -eq 4 ]
then ok "alternatives under the flagged tier in the table and beside the flag in HTML"
else notok "alternatives in table / HTML" "$(cat "$T/c5.out")"; fi

# --- errors --------------------------------------------------------------------------
printf 'version: 1\nclasses:\n  STANDARD_IA:\n    storage_gb_mnth: 1\n' >"$T/bad.yaml"
out=$("$TP" --home "$H" simulate --policy "$T/p1.yaml" --prices "$T/bad.yaml" 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -qF "bad.yaml:4:5: unknown key 'storage_gb_mnth'"; then ok "bad price sheet: line:column"
else notok "bad price sheet: line:column" "status $st: $out"; fi
printf 'version: 1\nclasses:\n  GLACIER: {min_storage_days: -3}\n' >"$T/bad2.yaml"
out=$("$TP" --home "$H" simulate --policy "$T/p1.yaml" --prices "$T/bad2.yaml" 2>&1)
if echo "$out" | grep -qF "bad2.yaml:3:31: 'min_storage_days' is out of range"; then ok "bad price: out of range at line:column"
else notok "bad price: out of range" "$out"; fi
check_fails "simulate without a catalog" "$TP" --home "$T/none" simulate --policy "$T/p1.yaml"
if [ ! -e "$T/none/catalog.db" ]; then ok "simulate does not create a catalog"; else notok "simulate created a catalog"; fi
check_fails "simulate without --policy" "$TP" --home "$H" simulate
