# Every command's --json is valid JSON Lines in valid UTF-8 (RFC 8259), also
# when a file or directory name holds bytes that are not UTF-8 (ED A0 80, a
# UTF-16 surrogate encoded as UTF-8): the name is printed with U+FFFD in
# their place, every other key kept (docs/json.md).
. tests/lib.sh

bad=$(printf 'x\355\240\200y')
FFFD3=$(printf 'x\357\277\275\357\277\275\357\277\275y')   # what JSON must say instead
H="$T/h$bad"
mkdir -p "$T/in$bad"
cp "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/in$bad/a$bad.jpg"
cp "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" "$T/in$bad/b.jpg"
echo "not media" >"$T/in$bad/readme$bad.txt"
head -c 3000 "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" >"$T/in$bad/cut$bad.jpg"

# valid FILE KEYS...: every line of FILE is strict UTF-8 and a JSON object;
# each KEY (a dotted path, [n] for an array index, * for any element) holding
# a string somewhere in FILE contains x<U+FFFD x3>y.
valid() {
    "$PY" - "$FFFD3" "$@" <<'EOF'
import json, sys
want, f, keys = sys.argv[1], sys.argv[2], sys.argv[3:]
raw = open(f, "rb").read()
raw.decode("utf-8")                     # strict: raises on invalid UTF-8
rows = [json.loads(l) for l in raw.splitlines() if l.strip()]
assert rows and all(isinstance(r, dict) for r in rows), rows
def get(v, path):
    if not path:
        yield v
        return
    k, rest = path[0], path[1:]
    if k == "*" and isinstance(v, list):
        for x in v:
            yield from get(x, rest)
    elif isinstance(v, dict) and k in v:
        yield from get(v[k], rest)
for k in keys:
    found = [s for r in rows for s in get(r, k.split(".")) if isinstance(s, str)]
    assert any(want in s for s in found), (k, found, rows)
EOF
}

# check_json NAME FILE KEYS...
check_json() {
    name=$1
    f=$2
    shift 2
    if out=$(valid "$f" "$@" 2>&1); then ok "$name"; else notok "$name" "$(echo "$out" | tail -n 2 | tr '\n' ' ') $(head -c 400 "$f")"; fi
}

"$TP" --home "$H" ingest --json "$T/in$bad" >"$T/ingest.json" 2>/dev/null
check_json "ingest --json: file (ingested, skipped, failed)" "$T/ingest.json" file
"$PY" - "$T/ingest.json" <<'EOF' && ok "ingest --json: one object per file, proxies as renditions (name, format, width, height, bytes, blob)" || notok "ingest --json shape" "$(cat "$T/ingest.json")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
assert len(rows) == 4, rows
done = [r for r in rows if "asset" in r]
assert len(done) == 2 and sum("skipped" in r for r in rows) == 1 and sum("error" in r for r in rows) == 1, rows
for r in done:
    for k in ("file", "asset", "duplicate", "sha256", "kind", "format", "width", "height", "bytes", "proxies"):
        assert k in r, (k, r)
    assert {p["name"] for p in r["proxies"]} == {"preview", "thumb"}, r
    for p in r["proxies"]:
        assert set(p) == {"name", "format", "width", "height", "bytes", "blob"} and len(p["blob"]) == 64, p
EOF

"$TP" --home "$H" ls --json >"$T/ls.json" 2>&1
check_json "ls --json: file_name" "$T/ls.json" file_name
"$TP" --home "$H" config --json --check >"$T/config.json" 2>&1
check_json "config --json: home, catalog, store" "$T/config.json" home catalog store
"$TP" --home "$H" health --json >"$T/health.json" 2>&1
check_json "health --json" "$T/health.json"
"$TP" --home "$H" dups --json >"$T/dups.json" 2>&1
check_json "dups --json" "$T/dups.json"
"$TP" ssim --json "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/in$bad/a$bad.jpg" >"$T/ssim.json" 2>&1
check_json "ssim --json" "$T/ssim.json"
"$TP" info --json "$T/in$bad/a$bad.jpg" >"$T/info.json" 2>&1
check_json "info --json: file" "$T/info.json" file
"$TP" convert --json "$T/in$bad/a$bad.jpg" "$T/out$bad.jxl" --lossless >"$T/convert.json" 2>&1
check_json "convert --json: in, out" "$T/convert.json" in out
"$TP" --home "$H" run --policy tests/policies/run.yaml --now 2031-06-01 --dry-run --json >"$T/plan.json" 2>&1
check_json "run --dry-run --json: the plan's lines and the summary" "$T/plan.json"

mkdir -p "$T/to$bad"
printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$T/to$bad/tierpress.yaml"
"$TP" --home "$H" migrate --to "$T/to$bad/tierpress.yaml" --json >"$T/migrate.json" 2>&1
check_json "migrate --json: target_catalog, target_store" "$T/migrate.json" target_catalog target_store

mkdir -p "$T/dir$bad/sub"
cp "$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg" "$T/dir$bad/sub/c$bad.jpg"
printf '<x:xmpmeta xmlns:x="adobe:ns:meta/"/>\n' >"$T/dir$bad/sub/lonely$bad.xmp"
head -c 2000 "$SAMPLES/photo-nikon-d40-1000x665-exif.jpg" >"$T/dir$bad/sub/cut$bad.jpg"
"$TP" --home "$H" import dir --json "$T/dir$bad" >"$T/import.json" 2>/dev/null
check_json "import dir --json: unmatched_sidecars, without_sidecar, errors" "$T/import.json" \
    unmatched_sidecars.\* without_sidecar.\* errors.\*

if "$TP" info "$SAMPLES/clip-320x240-h264-aac-1.2s.mp4" >/dev/null 2>&1; then
    cp "$SAMPLES/clip-320x240-h264-aac-1.2s.mp4" "$T/v$bad.mp4"
    "$TP" video preview "$T/v$bad.mp4" "$T/p$bad.mp4" --json >"$T/video.json" 2>&1
    check_json "video preview --json: in, out" "$T/video.json" in out
else
    skip "video preview --json" "built without video"
fi
