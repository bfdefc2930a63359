# Operators' figures (issue #16): what the run summary and gc say matches
# what the store holds; access imports are idempotent; ingest of a
# directory skips what is not media; run --dry-run shows its plan; progress
# is logged with timestamps without a terminal.
. tests/lib.sh

P=policies/lossless.yaml
NOW=2027-06-01T00:00:00Z
stage "$T/in" photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d40-1000x665-exif.jpg \
    photo-500x500-gray8.png
printf 'not an image\n' >"$T/in/README"
mkdir -p "$T/in/sub" && printf '\000\001\002' >"$T/in/sub/notes.bin"
H=$T/h

# --- ingest DIR: non-media files are skipped and reported apart, exit 0 -----
"$TP" --home "$H" ingest "$T/in" >"$T/ing.out" 2>"$T/ing.err"
st=$?
if [ $st -eq 0 ] && grep -q "README: skipped: not a media file" "$T/ing.err" &&
    grep -q "notes.bin: skipped: not a media file" "$T/ing.err" &&
    grep -q "3 ingested .*0 failed.*2 not media files skipped" "$T/ing.out"; then
    ok "ingest DIR: README and a binary skipped as not media, counted apart, exit 0"
else
    notok "ingest DIR skips non-media" "status $st: $(cat "$T/ing.out" "$T/ing.err" | tr '\n' ' ')"
fi
# named on the command line, the same file is still an error
"$TP" --home "$H" ingest "$T/in/README" >/dev/null 2>"$T/ing1.err"
st=$?
[ $st -eq 1 ] && grep -q "README: unrecognised file format" "$T/ing1.err" &&
    ok "ingest FILE: a named non-media file is an error (exit 1)" ||
    notok "ingest named non-media" "status $st: $(cat "$T/ing1.err")"
"$TP" --home "$H" ingest --json "$T/in" >"$T/ing.json" 2>/dev/null
"$PY" - "$T/ing.json" <<'EOF' && ok "ingest --json: skipped files are objects with \"skipped\"" || notok "ingest --json skipped" "$(cat "$T/ing.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
sk = [r for r in rows if "skipped" in r]
assert len(sk) == 2 and all(r["skipped"] == "not a media file" for r in sk), rows
assert sum(1 for r in rows if r.get("duplicate")) == 3, rows
EOF

# --- access import: the same log twice counts once ---------------------------
cat >"$T/acc.csv" <<CSV
asset_id,timestamp
1,2026-01-01T00:00:00Z
2,2026-01-02T00:00:00Z
2,2026-01-03T00:00:00Z
CSV
"$TP" --home "$H" access import "$T/acc.csv" >/dev/null 2>&1
"$TP" --home "$H" access import --json "$T/acc.csv" >"$T/acc.json" 2>"$T/acc.err"
st=$?
tot=$(sqlite3 "$H/catalog.db" "SELECT total FROM access WHERE asset_id = 2")
if [ $st -eq 0 ] && [ "$(jget "$T/acc.json" events)" = 3 ] && [ "$(jget "$T/acc.json" new)" = 0 ] &&
    [ "$(jget "$T/acc.json" duplicate)" = 3 ] && [ "$tot" = 2 ]; then
    ok "access import twice: 0 new, 3 duplicates, counts unchanged (--json accepted)"
else
    notok "access import idempotent" "status $st, total $tot: $(cat "$T/acc.json" "$T/acc.err")"
fi
# a catalog from before the migration, with an import already doubled
cp -r "$H" "$T/old"
# (migrations are append-only: the access-log one is index 3 on SQLite; the
# hook re-runs it alone, the later ones are taken as applied)
sqlite3 "$T/old/catalog.db" "DROP INDEX access_log_event; CREATE INDEX access_log_asset ON access_log(asset_id, time);
    INSERT INTO access_log SELECT asset_id, time FROM access_log; PRAGMA user_version = 3;"
before=$(sqlite3 "$T/old/catalog.db" "SELECT count(*) FROM access_log")
TP_FAULT_MIGRATIONS=3 "$TP" --home "$T/old" catalog migrate >/dev/null 2>&1
after=$(sqlite3 "$T/old/catalog.db" "SELECT count(*) FROM access_log")
"$TP" --home "$T/old" access import "$T/acc.csv" >"$T/acc2.out" 2>&1
[ "$before" = 6 ] && [ "$after" = 3 ] && grep -q "0 new, 3 already imported" "$T/acc2.out" &&
    ok "migration: duplicated events of an old catalog removed, then imports dedupe" ||
    notok "access_log migration" "before $before after $after: $(cat "$T/acc2.out")"

# --- run --dry-run: the plan, per tier, and with -v / --json the assets -------
"$TP" --home "$H" run --policy $P --now $NOW --dry-run >"$T/dry.out" 2>&1
"$TP" --home "$H" -v run --policy $P --now $NOW --dry-run >"$T/dryv.out" 2>&1
"$TP" --home "$H" run --policy $P --now $NOW --dry-run --json >"$T/dry.json" 2>&1
if grep -q "plan: tier jpeg: 2 to transcode (374.14 KiB), 0 to relabel (0 B)" "$T/dry.out" &&
    grep -q "plan: tier raster: 1 to transcode (117.39 KiB)" "$T/dry.out" &&
    ! grep -q "^asset " "$T/dry.out" && [ "$(grep -c "^asset [0-9]*: .*tier .*transcode" "$T/dryv.out")" = 3 ]; then
    ok "run --dry-run: per-tier counts and bytes (IEC), -v lists the 3 assets"
else
    notok "run --dry-run plan" "$(cat "$T/dry.out" "$T/dryv.out" | tr '\n' ' ')"
fi
"$PY" - "$T/dry.json" <<'EOF' && ok "run --dry-run --json: one object per asset, then the plan with bytes" || notok "dry-run json" "$(cat "$T/dry.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assets, summ = rows[:-1], rows[-1]
assert sorted(a["asset"] for a in assets) == [1, 2, 3], assets
assert all(a["action"] == "transcode" for a in assets), assets
p = summ["plan"]
assert p["jpeg"]["transcode"] == 2 and p["jpeg"]["transcode_bytes"] == 27521 + 355595, p
assert p["raster"]["transcode"] == 1 and p["raster"]["transcode_bytes"] == 120209, p
assert summ["store"]["held_bytes"] == 0, summ
EOF
[ "$(sqlite3 "$H/catalog.db" "SELECT count(*) FROM jobs")" = 0 ] && ok "run --dry-run queued nothing" ||
    notok "dry run wrote jobs"

# --- run: the summary says what the store holds, and until when --------------
du_blobs() { find "$1/blobs" -type f -name '[0-9a-f]*' -exec stat -c %s {} + | awk '{s += $1} END {print s + 0}'; }
TIERPRESS_PROGRESS_INTERVAL=0 "$TP" --home "$H" run --policy $P --now $NOW --jobs 1 --json \
    >"$T/run.json" 2>"$T/run.err"
st=$?
disk=$(du_blobs "$H")
"$PY" - "$T/run.json" "$disk" <<'EOF' && ok "run summary: bytes referenced + held for grace (until) = the blob store on disk" || notok "run store figures" "status $st: $(cat "$T/run.json")"
import json, sys
s = json.loads(open(sys.argv[1]).readline())["store"]
disk = int(sys.argv[2])
assert s["bytes"] == disk, (s, disk)
assert s["referenced_bytes"] + s["held_bytes"] + s["unreferenced_bytes"] + s["due_bytes"] == disk, s
assert s["held_originals"] == 3 and s["held_bytes"] == 27521 + 355595 + 120209, s
assert s["held_until"] == "2027-06-15T00:00:00Z" and s["freed_by_next_gc_bytes"] == 0, s
EOF
n=$(grep -c "^tierpress: 20[0-9-]*T[0-9:]*Z run: [0-9]/3 assets, [0-9.]*/[0-9.]* MP, saved .*iB, .* MP/s, ETA " "$T/run.err")
[ "$n" = 3 ] && ok "no terminal: a timestamped progress line per job (interval 0), in megapixels" ||
    notok "progress lines" "$n lines: $(cat "$T/run.err")"
"$TP" --home "$H" run --policy $P --now $NOW >"$T/run2.out" 2>&1
grep -q "store: .* held for grace (3 replaced original(s), until 2027-06-15T00:00:00Z" "$T/run2.out" &&
    ok "run summary (text): held for grace, until when" || notok "run text summary" "$(cat "$T/run2.out")"

# --- gc --dry-run reports exactly what gc then does ---------------------------
for when in 2027-06-10T00:00:00Z 2027-07-01T00:00:00Z; do
    "$TP" --home "$H" gc --dry-run --json --now $when --orphan-grace 0 >"$T/gcd.json" 2>&1
    before=$(du_blobs "$H")
    "$TP" --home "$H" gc --json --now $when --orphan-grace 0 >"$T/gc.json" 2>&1
    freed=$((before - $(du_blobs "$H")))
    "$PY" - "$T/gcd.json" "$T/gc.json" "$freed" <<'EOF' && ok "gc --dry-run --now $when = gc --now $when ($freed bytes freed on disk)" || notok "gc dry-run vs gc at $when" "$(cat "$T/gcd.json" "$T/gc.json") disk $freed"
import json, sys
d, g = (json.loads(open(f).readline()) for f in sys.argv[1:3])
assert d["dry_run"] and not g["dry_run"]
for k in ("originals_released", "blobs_deleted", "orphans_deleted", "bytes_freed"):
    assert d[k] == g[k], k
assert g["bytes_freed"] == int(sys.argv[3])
EOF
done
[ "$freed" -gt 0 ] && ok "gc after the grace freed the originals" || notok "gc freed nothing"
"$TP" --home "$H" gc --dry-run --now 2027-07-01T00:00:00Z >"$T/gc.out" 2>&1
grep -q "dry run: 0 original(s) past their grace would be released.* 0 B freed" "$T/gc.out" &&
    ok "gc text: IEC units, labelled" || notok "gc text" "$(cat "$T/gc.out")"
"$TP" run --help >"$T/runh.out" 2>&1; "$TP" worker --help >>"$T/runh.out" 2>&1
[ "$(grep -c -- '--mem-limit MIB .*MiB (default 8192: 8 GiB)' "$T/runh.out")" = 2 ] && ! grep -q -- '--mem-limit MB' "$T/runh.out" &&
    ok "run/worker --help: --mem-limit in MiB, as it is read (the one unit convention)" || notok "--mem-limit unit" "$(grep -- --mem-limit "$T/runh.out")"

# --- ls: assets by id or prefix, filters, keyset pages, current vs original ----
"$TP" --home "$H" ls >"$T/ls.out" 2>&1
id3=$(sqlite3 "$H/catalog.db" "SELECT sha256 FROM assets WHERE id = 3")
p3=$(echo "$id3" | cut -c1-12)
grep -q "^ *3  image jxl .* jpeg .*$p3 .* orig=jpeg:355595$" "$T/ls.out" &&
    ok "ls after a swap: the served format and bytes (jxl), the original's as orig=jpeg:355595" ||
    notok "ls current vs original" "$(cat "$T/ls.out")"
"$TP" --home "$H" ls "$p3" 1 >"$T/ls1.out" 2>&1
[ "$(sed -n 2p "$T/ls1.out" | awk '{print $1}')" = 3 ] && [ "$(sed -n 3p "$T/ls1.out" | awk '{print $1}')" = 1 ] &&
    [ "$(wc -l <"$T/ls1.out")" = 3 ] && ok "ls ASSET...: by the printed sha256 prefix and by id, in order" ||
    notok "ls ASSET" "$(cat "$T/ls1.out")"
"$TP" --home "$H" ls 424242 >/dev/null 2>"$T/ls2.err"
[ $? = 1 ] && grep -q "424242: not found" "$T/ls2.err" && ok "ls of a missing asset: named, exit 1" ||
    notok "ls missing" "$(cat "$T/ls2.err")"
ids() { "$TP" --home "$H" ls --json "$@" 2>/dev/null | "$PY" -c 'import json,sys; print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin))'; }
a=$(ids --tier jpeg); b=$(ids --format png); c=$(ids --format jxl --tier raster); d=$(ids --tier -)
p1=$(ids --limit 2); p2=$(ids --limit 2 --after 2)
"$TP" --home "$H" ls --limit 2 >/dev/null 2>"$T/lim.err"
if [ "$a" = "2 3" ] && [ "$b" = 1 ] && [ "$c" = 1 ] && [ -z "$d" ] && [ "$p1" = "1 2" ] && [ "$p2" = 3 ] &&
    grep -q "next page: --after 2" "$T/lim.err"; then
    ok "ls --tier/--format (original or current)/--limit/--after: keyset pages"
else
    notok "ls filters" "tier jpeg '$a', png '$b', jxl+raster '$c', none '$d', pages '$p1' '$p2' $(cat "$T/lim.err")"
fi
"$TP" --home "$H" get "$p3" -o "$T/g3.jpg" >/dev/null 2>"$T/g3.err"
cmp -s "$T/g3.jpg" "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" && ok "get by the prefix ls prints: the original, byte for byte" ||
    notok "get by prefix" "$(cat "$T/g3.err")"
"$TP" --home "$H" get 0 -o "$T/g0" >/dev/null 2>"$T/g0.err"; st0=$?
"$TP" --home "$H" get abc -o "$T/g0" >/dev/null 2>"$T/g1.err"; st1=$?
[ $st0 = 2 ] && [ $st1 = 2 ] && [ ! -e "$T/g0" ] && ok "get 0 / get abc: usage errors, nothing written" ||
    notok "get bad ids" "$st0 $st1 $(cat "$T/g0.err" "$T/g1.err")"

# --- policy check: S3's minimum storage durations and refusals (warnings) -----
cat >"$T/classes.yaml" <<'YAML'
version: 1
tiers:
  - name: fresh-to-glacier
    match: {age_days: {max: 5}}
    original: {delete_after_days: 0}
    storage_class: GLACIER
  - name: small-ia
    match: {bytes: {max: 100000}}
    storage_class: STANDARD_IA
  - name: idle
    match: {days_since_access: {min: 400}}
    storage_class: STANDARD_IA
YAML
"$TP" policy check "$T/classes.yaml" >"$T/pc.out" 2>&1
st=$?
if [ $st -eq 0 ] && grep -q "classes.yaml: ok (3 tiers)" "$T/pc.out" &&
    grep -q "classes.yaml:[0-9]*:[0-9]*: warning: tier 'fresh-to-glacier': S3 bills GLACIER objects for at least 90 days, but assets leave this tier within 6 days" "$T/pc.out" &&
    grep -q "warning: tier 'fresh-to-glacier': originals moved to GLACIER are billed for at least 90 days; 'delete_after_days: 0'" "$T/pc.out" &&
    grep -q "warning: tier 'fresh-to-glacier': GLACIER objects cannot be read until restored" "$T/pc.out" &&
    grep -q "warning: tier 'small-ia': S3 bills each STANDARD_IA object as at least 128 KiB" "$T/pc.out" &&
    ! grep -q "tier 'idle'" "$T/pc.out"; then
    ok "policy check: warns on S3 minimum durations, minimum sizes and archived classes (exit 0)"
else
    notok "policy check storage-class warnings" "status $st: $(cat "$T/pc.out")"
fi

# --- convert --codecs: the name matches the content --------------------------
J=$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg
"$TP" convert "$J" "$T/c.avif" --ssim 0.95 --codecs jxl --min-saving 0 --json >"$T/c.json" 2>"$T/c.err"
st=$?
if [ $st -eq 0 ] && [ ! -e "$T/c.avif" ] && [ "$(head -c 12 "$T/c.jxl" | od -An -tx1 | tr -d ' \n')" = 0000000c4a584c200d0a870a ] &&
    [ "$(jget "$T/c.json" out)" = "$T/c.jxl" ] && grep -q "writing $T/c.jxl instead of $T/c.avif" "$T/c.err"; then
    ok "convert OUT.avif --codecs jxl: JPEG XL written as OUT.jxl, path reported"
else
    notok "convert extension" "status $st: $(ls "$T"/c.* | tr '\n' ' ') $(cat "$T/c.json" "$T/c.err")"
fi
"$TP" convert "$J" "$T/d.avif" --to avif --ssim 0.95 --codecs jxl --min-saving 0 >/dev/null 2>"$T/d.err"
st=$?
[ $st -eq 1 ] && [ ! -e "$T/d.avif" ] && [ ! -e "$T/d.jxl" ] && grep -q "d.avif: refused: .* is jxl, not avif (--to avif)" "$T/d.err" &&
    ok "convert --to avif when jxl wins: refused, nothing written" || notok "convert --to refusal" "status $st: $(cat "$T/d.err")"
# libjxl's own trace lines (a CMYK JPEG it cannot recompress) stay out of stderr
"$TP" convert "$SAMPLES/frame-150x103-cmyk-adobe.jpg" "$T/k.jxl" --lossless >/dev/null 2>"$T/k.err"
st=$?
TP_LOG=debug "$TP" convert "$SAMPLES/frame-150x103-cmyk-adobe.jpg" "$T/k2.jxl" --lossless >/dev/null 2>"$T/k2.err"
[ $st -eq 0 ] && ! grep -q "JXL_FAILURE\|\.cc:" "$T/k.err" && grep -q "JXL_FAILURE" "$T/k2.err" &&
    ok "libjxl's stderr lines: hidden by default, shown at debug level" ||
    notok "libjxl stderr" "status $st: $(cat "$T/k.err") / $(head -c 300 "$T/k2.err")"

# --- JSON: valid UTF-8 for any file name, one vocabulary for info and ls -----
bad=$(printf 'x\355\240\200y')   # a UTF-16 surrogate encoded in UTF-8: not valid UTF-8
mkdir -p "$T/u" && cp "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/u/$bad.jpg"
"$TP" info --json "$T/u/$bad.jpg" >"$T/u.json" 2>&1
"$TP" --home "$T/uh" ingest --json "$T/u" >"$T/ui.json" 2>&1
"$TP" --home "$T/uh" ls --json >"$T/ul.json" 2>&1
"$PY" - "$T/u.json" "$T/ui.json" "$T/ul.json" <<'EOF' && ok "info/ingest --json of a file named with ED A0 80: valid UTF-8 (U+FFFD); info and ls share keys and ISO 8601 times" || notok "json utf-8 / vocabulary" "$(cat "$T/u.json" "$T/ui.json")"
import json, sys
objs = []
for f in sys.argv[1:]:
    raw = open(f, "rb").read()
    raw.decode("utf-8")                  # strict: raises on invalid UTF-8
    objs.append(json.loads(raw.splitlines()[0]))
info, ing, ls = objs
assert info["file"].endswith("x\ufffd\ufffd\ufffdy.jpg"), info["file"]
assert ing["file"] == info["file"], ing
for k in ("capture_time", "camera_make", "camera_model", "gps", "format", "width", "height", "orientation"):
    assert info[k] == ls[k], (k, info[k], ls[k])
assert info["capture_time"] == "2013-02-06T16:00:03" and "make" not in info, info
EOF

# --- --version names the libraries as linked ---------------------------------
"$TP" --version >"$T/ver.out" 2>&1
miss=""
for pc in libjxl:libjxl vips:libvips libavif:libavif sqlite3:SQLite jansson:jansson libheif:libheif; do
    v=$(pkg-config --modversion "${pc%%:*}" 2>/dev/null) || continue
    grep -q "${pc#*:} $v" "$T/ver.out" || miss="$miss ${pc#*:}=$v"
done
head -n 1 "$T/ver.out" | grep -q "^tierpress [0-9]" && [ -z "$miss" ] &&
    ok "--version: tierpress and each library's version, as pkg-config says" ||
    notok "--version" "missing:$miss in $(cat "$T/ver.out")"

# --- man page and bash completion, generated from the --help texts ------------
R=${TP_ROOT:-.}
"$R/scripts/gen-man" "$TP" >"$T/tp.1" 2>"$T/man.err" && "$R/scripts/gen-completion" "$TP" >"$T/tp.bash" 2>>"$T/man.err"
nc=$("$TP" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF > 1' | wc -l)
ns=$(grep -c '^\.SS ' "$T/tp.1")
if [ "$ns" = "$nc" ] && grep -q -- '--limit N' "$T/tp.1" && grep -q '^\.TH TIERPRESS 1' "$T/tp.1" &&
    { ! have man || MANWIDTH=80 man -l "$T/tp.1" 2>/dev/null | grep -q "access import FILE.csv"; }; then
    ok "man page: a section per command ($nc), from their --help"
else
    notok "man page" "$ns of $nc sections: $(cat "$T/man.err")"
fi
comp=$(bash -c '. "$1"; COMP_WORDS=(tierpress --home x ls --li); COMP_CWORD=4; _tierpress; echo "${COMPREPLY[*]}";
    COMP_WORDS=(tierpress acc); COMP_CWORD=1; _tierpress; echo "${COMPREPLY[*]}"' sh "$T/tp.bash" 2>&1)
[ "$comp" = "$(printf -- '--limit\naccess')" ] && ok "bash completion: commands and each command's options" ||
    notok "bash completion" "$comp"

# --- limits: the home's config file and TIERPRESS_*, today's values by default --
J=$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg
TIERPRESS_MAX_PIXELS=20000 "$TP" info "$J" >/dev/null 2>"$T/l1.err"; s1=$?
TIERPRESS_MAX_PIXELS=24300 "$TP" info "$J" >/dev/null 2>&1; s2=$?
TIERPRESS_MAX_FILE_SIZE=10KiB "$TP" info "$J" >/dev/null 2>"$T/l3.err"; s3=$?
TIERPRESS_MAX_PIXELS=lots "$TP" info "$J" >/dev/null 2>"$T/l4.err"; s4=$?
if [ $s1 = 1 ] && grep -q "180x135 is 24300 pixels .*over the limit of 20000" "$T/l1.err" && [ $s2 = 0 ] &&
    [ $s3 = 1 ] && grep -q "27521 bytes, over the 10240-byte limit" "$T/l3.err" && [ $s4 = 1 ] &&
    grep -q "TIERPRESS_MAX_PIXELS: expected a whole number, got 'lots'" "$T/l4.err"; then
    ok "limits from TIERPRESS_MAX_PIXELS / _MAX_FILE_SIZE (exact bound; bad values named)"
else
    notok "limits env" "$s1 $s2 $s3 $s4: $(cat "$T/l1.err" "$T/l3.err" "$T/l4.err")"
fi
mkdir -p "$T/lh" && printf 'limits:\n  max_pixels: 20000\n' >"$T/lh/tierpress.yaml"
TIERPRESS_MAX_PIXELS=100000 "$TP" --home "$T/lh" ingest "$J" >/dev/null 2>"$T/l5.err"; s5=$?
printf 'limits:\n  max_pixels: 20000\n  memory_limit: 12 parsecs\n' >"$T/lh/tierpress.yaml"
"$TP" --home "$T/lh" ingest "$J" >/dev/null 2>"$T/l6.err"; s6=$?
[ $s5 = 1 ] && grep -q "over the limit of 20000" "$T/l5.err" && [ $s6 = 1 ] &&
    grep -q "tierpress.yaml:3:17: memory_limit: '12 parsecs': unknown unit" "$T/l6.err" &&
    ok "limits in the home's config file (the file wins over the environment; errors at file:line:col)" ||
    notok "limits config" "$s5 $s6: $(cat "$T/l5.err" "$T/l6.err")"

# --- simulate: CSV columns name the currency; a non-USD price sheet is a label --
printf 'version: 1\ncurrency: EUR\n' >"$T/eur.yaml"
"$TP" --home "$H" simulate --policy $P --now $NOW --sample 0 --prices "$T/eur.yaml" --format csv >"$T/eur.csv" 2>"$T/eur.err"; se=$?
"$TP" --home "$H" simulate --policy $P --now $NOW --sample 0 --format csv >"$T/usd.csv" 2>/dev/null
printf 'version: 1\ncurrency: euros\n' >"$T/bad.yaml"
"$TP" --home "$H" simulate --policy $P --now $NOW --sample 0 --prices "$T/bad.yaml" >/dev/null 2>"$T/badp.err"; sb=$?
"$PY" - "$T/eur.csv" "$T/usd.csv" <<'EOF' && [ $se = 0 ] && [ $sb != 0 ] && grep -q "bad.yaml:2:11: 'currency' expects an ISO 4217 code" "$T/badp.err" && ok "simulate CSV: money columns named _eur/_usd; the same figures (a label, not converted); a bad code refused at file:line:col" || notok "simulate currency" "$se $sb $(cat "$T/eur.err" "$T/badp.err")"
import csv, sys
e = list(csv.DictReader(open(sys.argv[1]))); u = list(csv.DictReader(open(sys.argv[2])))
money = [k for k in e[0] if k.endswith("_eur")]
assert {"cost_before_month_eur", "compute_eur", "one_off_eur", "saving_month_eur"} <= set(money), e[0].keys()
assert not any(k.endswith("_usd") for k in e[0]) and "cost_after_month_usd" in u[0]
for re_, ru in zip(e, u):
    for k in money:
        assert re_[k] == ru[k[:-4] + "_usd"], k
EOF

# --- simulate --budget-cpu bounds the sample's transcodes ----------------------
stage "$T/si" photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg \
    photo-panasonic-gf1-640x428-exif-orient6.jpg frame-150x103-cmyk-adobe.jpg \
    photo-canon-s5is-400x300-exif-gps-422.jpg photo-nokia-lumia820-1278x720-exif-gps.jpg
"$TP" --home "$T/sih" ingest "$T/si" >/dev/null 2>&1
sims() { "$TP" --home "$T/sih" simulate --policy $P --now 2030-01-01T00:00:00Z --sample 2 --format json "$@"; }
sims >"$T/sb0.json" 2>/dev/null
sims --budget-cpu 0.000001 >"$T/sb1.json" 2>"$T/sb1.err"   # any transcode spends more than 1 us
"$PY" - "$T/sb0.json" "$T/sb1.json" <<'EOF' && grep -q "budget-cpu 1e-06 s spent after 1 sample transcode" "$T/sb1.err" && ok "simulate --budget-cpu: the sample stops once the CPU budget is spent (1 transcode, flagged, warned)" || notok "simulate --budget-cpu" "$(cat "$T/sb0.json" "$T/sb1.err" | cut -c1-300)"
import json, sys
a, b = (json.loads(open(f).readline()) for f in sys.argv[1:3])
assert a["method"] == "sample" and a["transcoded"] >= 2 and not a["budget_cpu_reached"], a
assert b["transcoded"] == 1 and b["budget_cpu_reached"] is True, b
EOF

# --- simulate --html in a real browser: fits 1280 px and print width -----------
"$TP" --home "$H" simulate --policy "$PWD/$P" --now 2030-01-01T00:00:00Z --sample 0 --months 12 \
    --html "$T/rep.html" >/dev/null 2>"$T/rep.err"
CH=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CH" ]; then
    skip "simulate report in chromium" "no chromium"
else
    "$PY" "$R/tests/tools/report_overflow.py" "$T/rep.html" "$T/wrap.html"
    A=${TP_ARTIFACTS:-$R/build/artifacts}
    mkdir -p "$A"
    # one browser start: the overflow check (--dump-dom) and the screenshot kept as an artifact
    timeout 120 "$CH" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$T/chrome" --window-size=1280,2400 --virtual-time-budget=3000 \
        --screenshot="$A/simulate-report.png" --dump-dom "file://$T/wrap.html" >"$T/dom.html" 2>"$T/chrome.err"
    res=$(grep -o 'screen width=[^<]*' "$T/dom.html")
    case "$res" in
    *"over=[]; print width="*"over=[]") ok "simulate report: no overflow at 1280 px nor at print width ($res); screenshot $A/simulate-report.png" ;;
    *) notok "simulate report overflow" "${res:-no result: $(tail -n 3 "$T/chrome.err")}" ;;
    esac
fi
if grep -q "<title>tierpress simulate: lossless.yaml</title>" "$T/rep.html" && ! grep -q "<title>[^<]*/" "$T/rep.html" &&
    grep -q 'class="headline"><b>Saves .* a year</b>' "$T/rep.html" && ! grep -q '\$-' "$T/rep.html" &&
    grep -q "Month 0 is right after the run" "$T/rep.html" && grep -q "<h2>By storage class" "$T/rep.html" && grep -q "<h2>What could turn out differently" "$T/rep.html"; then
    ok "simulate report: annual headline, title without the path, no \$-N, month 0 explained, storage classes, risks in plain words"
else
    notok "simulate report content" "$(grep -o '<title>[^<]*\|headline[^/]*' "$T/rep.html" | head -3)"
fi

# --- PNG EXIF that libvips does not hand over: eXIf after IDAT, text chunks ----
D3=$SAMPLES/photo-nikon-d300-64x64-16bit-rec2020-linear.png      # darktable: eXIf after the image data
mkdir -p "$T/px" && cp "$SAMPLES/pattern-32x32-rgba16.png" "$T/px/e.png"
if have exiftool; then
    exiftool -q -overwrite_original -Make=TestMake -Model="Test Model" -DateTimeOriginal="2021:03:04 05:06:07" "$T/px/e.png"
    "$PY" "$R/tests/tools/png_exif_text.py" "$T/px/e.png" "$T/px/z.png"   # the same EXIF as a zTXt raw profile
    rm "$T/px/e.png"
    cp "$D3" "$T/px/"
    "$TP" info --json "$D3" >"$T/d3.json" 2>&1
    "$TP" info --json "$T/px/z.png" >"$T/z.json" 2>&1
    "$TP" --home "$T/pxh" ingest "$T/px" >/dev/null 2>&1
    "$TP" --home "$T/pxh" ls --json >"$T/px.json" 2>&1
    "$PY" - "$T/d3.json" "$T/z.json" "$T/px.json" "$(exiftool -s3 -d '%Y-%m-%dT%H:%M:%S' -DateTimeOriginal "$D3")" "$(exiftool -s3 -Model "$D3")" <<'EOF' && ok "PNG EXIF from an eXIf after IDAT (Nikon D300 sample) and a zTXt raw profile: info and ingest read it (= exiftool)" || notok "PNG EXIF" "$(cat "$T/d3.json" "$T/z.json")"
import json, sys
d3, z = (json.loads(open(f).readline()) for f in sys.argv[1:3])
ls = {a["format"] + str(a["width"]): a for a in map(json.loads, open(sys.argv[3]))}
assert d3["capture_time"] == sys.argv[4] and d3["camera_model"] == sys.argv[5] == "NIKON D300", d3
assert (z["camera_make"], z["camera_model"], z["capture_time"]) == ("TestMake", "Test Model", "2021-03-04T05:06:07"), z
assert ls["png64"]["camera_model"] == "NIKON D300" and ls["png32"]["camera_make"] == "TestMake", ls
EOF
else
    skip "PNG EXIF" "no exiftool"
fi

# --- the same on a PostgreSQL catalog: migration and idempotent imports -------
if [ -z "${TP_TEST_PG:-}" ]; then
    skip "access import on postgresql" "TP_TEST_PG is not set (scripts/test starts a server)"
    exit 0
fi
PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
DB=tp_t_ops_$$
URL=${TP_TEST_PG%/*}/$DB
$PSQL "$TP_TEST_PG" -c "CREATE DATABASE $DB" >/dev/null || { notok "create database $DB"; exit 0; }
trap '$PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1; rm -rf "$T"' EXIT
pg() { TIERPRESS_CATALOG=$URL "$TP" --home "$T/pg" "$@"; }
pg ingest "$T/in" >/dev/null 2>&1
pg access import "$T/acc.csv" >/dev/null 2>&1
# back to the schema before the migration, with the import doubled
# (the access-log migration is index 2 on PostgreSQL; re-run alone)
$PSQL "$URL" -c "DROP INDEX access_log_event; CREATE INDEX access_log_asset ON access_log(asset_id, time);
    INSERT INTO access_log SELECT asset_id, time FROM access_log;
    UPDATE schema_version SET version = 2" >/dev/null
before=$($PSQL "$URL" -c "SELECT count(*) FROM access_log")
TP_FAULT_MIGRATIONS=2 pg catalog migrate >/dev/null 2>&1
after=$($PSQL "$URL" -c "SELECT count(*) FROM access_log")
pg access import --json "$T/acc.csv" >"$T/pgacc.json" 2>&1
tot=$($PSQL "$URL" -c "SELECT total FROM access WHERE asset_id = 2")
[ "$before" = 6 ] && [ "$after" = 3 ] && [ "$(jget "$T/pgacc.json" duplicate)" = 3 ] && [ "$tot" = 2 ] &&
    ok "postgresql: migration removes doubled events; a repeated import counts nothing twice" ||
    notok "postgresql access import" "before $before after $after total $tot: $(cat "$T/pgacc.json")"
pids() { pg ls --json "$@" 2>/dev/null | "$PY" -c 'import json,sys; print(" ".join(str(json.loads(l)["id"]) for l in sys.stdin))'; }
a=$(pids --format jpeg); b=$(pids --tier -); p2=$(pids --limit 1 --after 1)
pfx=$($PSQL "$URL" -c "SELECT left(sha256, 12) FROM assets WHERE format = 'png'")
pg get "$pfx" -o "$T/pg.png" >/dev/null 2>&1
[ "$a" = "2 3" ] && [ "$b" = "1 2 3" ] && [ "$p2" = 2 ] && cmp -s "$T/pg.png" "$SAMPLES/photo-500x500-gray8.png" &&
    ok "postgresql: ls filters and keyset pages, get by prefix" ||
    notok "postgresql ls/get" "jpeg '$a' none '$b' page '$p2' prefix '$pfx'"
