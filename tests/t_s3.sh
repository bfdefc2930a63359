# The S3 blob store against a real S3 server (Swift + s3api, started by
# scripts/s3-up; ./scripts/test exports its TP_S3_* variables, mapped onto
# AWS_* here): the end-to-end run on sqlite + s3 as on the embedded
# default, objects checked with curl --aws-sigv4, wrong credentials, and
# faults injected by tests/s3proxy.py (503s, resets, stalls, a dead PUT path),
# and a policy's storage classes made real through its fake-class mode.
. tests/lib.sh

if [ -z "${TP_S3_ENDPOINT:-}" ] || [ -z "${TP_S3_BUCKET:-}" ] || [ -z "${TP_S3_ACCESS_KEY:-}" ]; then
    skip "S3 store tests" "no S3 server in the environment (./scripts/test starts one: scripts/s3-up)"
    exit 0
fi
export AWS_ACCESS_KEY_ID="$TP_S3_ACCESS_KEY" AWS_SECRET_ACCESS_KEY="$TP_S3_SECRET_KEY"
export AWS_REGION="${TP_S3_REGION:-us-east-1}"
unset AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_DEFAULT_REGION

PROXIES=""
stop_proxies() { for p in $PROXIES; do kill "$p" 2>/dev/null; done; }
trap 'stop_proxies; rm -rf "$T"' EXIT
# start_proxy NAME ARGS...: a fault proxy in front of the server; its URL in $PX
start_proxy() {
    name=$1
    shift
    rm -f "$T/$name.port"
    "$PY" tests/s3proxy.py --upstream "$TP_S3_ENDPOINT" --port-file "$T/$name.port" "$@" \
        >"$T/$name.log" 2>&1 &
    PROXIES="$PROXIES $!"
    i=0
    while [ ! -s "$T/$name.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
    PX=http://127.0.0.1:$(cat "$T/$name.port")
}
# home DIR PREFIX [ENDPOINT] [CLASSES]: a home whose blobs are s3://bucket/PREFIX
RUNID=t_s3-$$-$(date +%s)
home() {
    mkdir -p "$1"
    cat >"$1/tierpress.yaml" <<EOF
store: s3://$TP_S3_BUCKET/$RUNID/$2
s3:
  endpoint_url: ${3:-$TP_S3_ENDPOINT}
  storage_classes: ${4:-false}
  max_retries: 6
EOF
}
# s3curl PATH...: the object/listing straight from the server (independent client)
s3curl() {
    printf 'machine 127.0.0.1 login %s password %s\n' "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >"$T/netrc"
    curl -sS -f --aws-sigv4 "aws:amz:${AWS_REGION:-us-east-1}:s3" --netrc-file "$T/netrc" \
        -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}
# (the query is signed as written: '/' in the prefix encoded, as SigV4 wants)
listing() { s3curl "$TP_S3_ENDPOINT/$TP_S3_BUCKET?list-type=2&prefix=$(echo "$RUNID/$1/" | sed 's#/#%2F#g')"; }
# every original is served byte for byte (the catalog's upload hash)
originals_intact() {
    "$TP" --home "$1" ls --json >"$T/ls.json" 2>/dev/null || return 1
    "$PY" -c 'import json,sys
for l in open(sys.argv[1]): a = json.loads(l); print(a["id"], a["sha256"])' "$T/ls.json" >"$T/ids" || return 1
    [ -s "$T/ids" ] || return 1
    while read -r id sha; do
        "$TP" --home "$1" get "$id" -o "$T/o.bin" >/dev/null 2>&1 || return 1
        [ "$(sha256sum <"$T/o.bin" | cut -c1-64)" = "$sha" ] || return 1
    done <"$T/ids"
}
export TP_S3_RETRY_BASE_MS=10   # quick backoff: the tests count requests, not seconds

# A slice of samples/ that covers the default policy's tiers (the whole
# directory takes minutes on this 2-core machine): JPEGs for lossless JPEG XL,
# a PNG for the lossy floor, a GIF, a CMYK JPEG that stays as it is, a video.
FILES="photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-500x500-gray8.png frame-150x103-interlaced.gif
frame-150x103-cmyk-adobe.jpg clip-320x240-h264-aac-1.2s.mp4"
# shellcheck disable=SC2086
stage "$T/in" $FILES
n_in=$(ls "$T/in" | wc -l)
# the fault runs use three of them (one lossless JPEG XL, one lossy, one kept)
mkdir -p "$T/in3"
for f in photo-iphone4s-180x135-exif-gps.jpg photo-500x500-gray8.png frame-150x103-cmyk-adobe.jpg; do
    cp "$T/in/$f" "$T/in3/"
done
NOW=$(date -u -d '+400 days' +%Y-%m-%d)

# --- end to end: ingest, run the default policy, get, fsck, gc --------------
home "$T/s3" e2e
mkdir -p "$T/fs"
"$TP" --home "$T/s3" ingest "$T/in" >"$T/ing.out" 2>&1 && ok "ingest into s3://…/e2e" || notok "ingest into S3" "$(tail -3 "$T/ing.out")"
"$TP" --home "$T/fs" ingest "$T/in" >/dev/null 2>&1
[ "$("$TP" --home "$T/s3" ls --json 2>/dev/null | wc -l)" -eq "$n_in" ] && ok "$n_in assets catalogued" || notok "asset count"
listing e2e >"$T/list.xml" 2>&1
nobj=$(grep -o '<Key>' "$T/list.xml" | wc -l)
[ -z "$(find "$T/s3" -path '*blobs*' -type f)" ] && [ "$nobj" -ge "$n_in" ] &&
    ok "blobs are objects in the bucket ($nobj), none in the home" || notok "blobs in the bucket" "$nobj objects"
# an independent client finds the original at <prefix>ab/cd/<sha256>, byte for byte
f=$T/in/photo-iphone4s-180x135-exif-gps.jpg
h=$(sha256sum <"$f" | cut -c1-64)
s3curl -o "$T/direct.bin" "$TP_S3_ENDPOINT/$TP_S3_BUCKET/$RUNID/e2e/$(echo "$h" | cut -c1-2)/$(echo "$h" | cut -c3-4)/$h" &&
    cmp -s "$f" "$T/direct.bin" && ok "curl --aws-sigv4 reads the original at ab/cd/<sha256>" || notok "object layout"

"$TP" --home "$T/s3" run --policy policies/default.yaml --now "$NOW" --json --jobs 2 >"$T/run.json" 2>"$T/run.err" &&
    ok "run policies/default.yaml 400 days ahead on sqlite + s3" || notok "run on S3" "$(tail -3 "$T/run.err")"
"$TP" --home "$T/fs" run --policy policies/default.yaml --now "$NOW" --json --jobs 2 >"$T/runfs.json" 2>/dev/null
"$PY" - "$T/run.json" "$T/runfs.json" <<'EOF' && ok "same tiers, transcodes and bytes as on the embedded default" || notok "s3 vs embedded" "$(cat "$T/run.json")"
import json, sys
a, b = (json.loads(open(p).readline()) for p in sys.argv[1:3])
for k in ("matched", "transcoded", "kept", "failed", "bytes_before", "bytes_after"):
    assert a[k] == b[k], (k, a[k], b[k])
assert a["transcoded"] >= 2 and a["failed"] == 0, a
EOF
check "fsck clean on s3" "$TP" --home "$T/s3" fsck
originals_intact "$T/s3" && ok "every original served byte for byte from S3" || notok "originals from S3"
"$TP" --home "$T/s3" gc --now "$(date -u -d '+800 days' +%Y-%m-%d)" >"$T/gc.out" 2>&1 &&
    "$TP" --home "$T/s3" fsck >/dev/null 2>&1 && originals_intact "$T/s3" &&
    ok "gc past the grace, then fsck clean and originals intact ($(tail -1 "$T/gc.out" | cut -c1-60))" || notok "gc on S3" "$(tail -2 "$T/gc.out")"

# --- wrong credentials: a clear error, nothing written ----------------------
home "$T/bad" bad
out=$(AWS_SECRET_ACCESS_KEY=Zq9-not-the-secret-77 "$TP" --home "$T/bad" ingest "$f" 2>&1)
st=$?
echo "$out" | grep -q "s3://$TP_S3_BUCKET/.*403" && [ $st -ne 0 ] && [ $st -lt 128 ] &&
    ok "wrong secret: exit $st, one line naming s3://bucket/key and HTTP 403" || notok "wrong secret" "$st $out"
echo "$out" | grep -q Zq9-not-the-secret && notok "the secret appears in the error" || ok "the secret is not in the error"
listing bad >"$T/bad.xml" && grep -q '<ListBucketResult' "$T/bad.xml" && ! grep -q '<Key>' "$T/bad.xml" && ok "wrong secret: nothing in the bucket" || notok "wrong secret wrote objects"
out=$(AWS_ACCESS_KEY_ID=nobody:nouser "$TP" --home "$T/bad" ingest "$f" 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "s3://$TP_S3_BUCKET/" && ok "unknown access key: a clear error" || notok "unknown key" "$out"

# --- faults through the proxy -----------------------------------------------
# fault_run NAME PROXY-ARGS...: ingest + run through a faulty endpoint; must
# complete (retries) with fsck clean and every original intact
fault_run() {
    name=$1
    shift
    start_proxy "$name" "$@"
    home "$T/$name" "$name" "$PX"
    "$TP" --home "$T/$name" ingest "$T/in3" >"$T/$name.ing" 2>&1 &&
        "$TP" --home "$T/$name" run --policy policies/default.yaml --now "$NOW" --json --jobs 1 >"$T/$name.json" 2>"$T/$name.err"
    st=$?
    n=$(grep -c '^fault ' "$T/$name.log")
    [ $st -eq 0 ] && [ "$(jget "$T/$name.json" failed)" = 0 ] &&
        [ "$(jget "$T/$name.json" transcoded)" = "$(jget "$T/ref3.json" transcoded)" ] &&
        [ "$(jget "$T/$name.json" kept)" = "$(jget "$T/ref3.json" kept)" ] &&
        [ "$n" -ge 2 ] && ok "$name: ingest + run complete with retries over $n injected faults" || notok "$name: run" "$st faults=$n $(tail -n 2 "$T/$name.ing" "$T/$name.err" | tr '\n' ' ')"
    "$TP" --home "$T/$name" fsck >/dev/null 2>&1 && originals_intact "$T/$name" &&
        ok "$name: fsck clean, every original intact" || notok "$name: fsck/originals"
}
# the reference: the same three on the embedded default
"$TP" --home "$T/ref3" ingest "$T/in3" >/dev/null 2>&1
"$TP" --home "$T/ref3" run --policy policies/default.yaml --now "$NOW" --json >"$T/ref3.json" 2>/dev/null
fault_run s503 --fail-every 3 --status 503
fault_run s500 --fail-every 4 --status 500
fault_run reset --reset-every 5
fault_run midget --reset-mid-every 2 --methods GET
TP_S3_TIMEOUT=2 fault_run stall --stall-first 2 --stall-every 40 --stall-seconds 30

# every PUT refused (retries exhausted): the run records the failures, the
# originals stay where they were and the home stays consistent
home "$T/deadput" deadput
"$TP" --home "$T/deadput" ingest "$T/in3" >/dev/null 2>&1
start_proxy deadput --fail-every 1 --status 503 --methods PUT,POST
sed -i "s#endpoint_url: .*#endpoint_url: $PX#; s#max_retries: .*#max_retries: 1#" "$T/deadput/tierpress.yaml"
"$TP" --home "$T/deadput" run --policy policies/default.yaml --now "$NOW" --json --jobs 1 >"$T/dp.json" 2>"$T/dp.err"
st=$?
[ $st -lt 128 ] && [ "$(jget "$T/dp.json" failed 2>/dev/null || echo 0)" -ge 1 ] &&
    ok "every PUT refused: the run records the assets as failed (exit $st)" || notok "dead PUT run" "$st $(cat "$T/dp.json") $(tail -2 "$T/dp.err")"
grep -q "s3://$TP_S3_BUCKET/.*503" "$T/dp.err" && ok "the failure names s3://bucket/key and HTTP 503" || notok "dead PUT message" "$(tail -2 "$T/dp.err")"
sed -i "s#endpoint_url: .*#endpoint_url: $TP_S3_ENDPOINT#" "$T/deadput/tierpress.yaml"
"$TP" --home "$T/deadput" fsck >/dev/null 2>&1 && originals_intact "$T/deadput" &&
    ok "after the refused PUTs: fsck clean, no dangling pointer, originals intact" || notok "dead PUT consistency"
"$TP" --home "$T/deadput" run --policy policies/default.yaml --now "$NOW" --json --jobs 2 >"$T/dp2.json" 2>/dev/null &&
    "$TP" --home "$T/deadput" fsck >/dev/null 2>&1 &&
    ok "a later run with the server healthy finishes the work" || notok "rerun after dead PUT" "$(cat "$T/dp2.json")"

# --- the store contract suite (tests/unit/test_store_contract.c) on S3 ---------
UNIT=${UNIT:-build/tests/unit/run}
# contract NAME ENDPOINT CLASSES: the whole contract on s3://bucket/RUNID/NAME
contract() {
    printf 's3:\n  endpoint_url: %s\n  storage_classes: %s\n' "$2" "$3" >"$T/$1.yaml"
    TP_STORE_CONFIG="$T/$1.yaml" TP_STORE_URIS="s3://$TP_S3_BUCKET/$RUNID/$1" "$UNIT" store_contract >"$T/$1.out" 2>&1
    grep -q '^ok - unit/store_contract' "$T/$1.out" && grep -q "store contract on s3://.*passed" "$T/$1.out"
}
if [ -x "$UNIT" ]; then
    contract contract "$TP_S3_ENDPOINT" false && ok "store contract suite on s3 (Swift)" ||
        notok "store contract on s3" "$(grep '^#' "$T/contract.out" | tail -n 5 | tr '\n' ' ')"
    # virtual-hosted addressing: <bucket>.localhost (s3-up sets storage_domain)
    printf 's3:\n  endpoint_url: http://localhost:%s\n  addressing: virtual\n  storage_classes: false\n' \
        "${TP_S3_ENDPOINT##*:}" >"$T/virtual.yaml"
    TP_STORE_CONFIG="$T/virtual.yaml" TP_STORE_URIS="s3://$TP_S3_BUCKET/$RUNID/virtual" "$UNIT" store_contract >"$T/virtual.out" 2>&1 &&
        grep -q "store contract on s3://.*passed" "$T/virtual.out" &&
        ok "store contract suite on s3 with virtual-hosted addressing ($TP_S3_BUCKET.localhost)" ||
        notok "store contract, virtual-hosted" "$(grep '^#' "$T/virtual.out" | tail -n 5 | tr '\n' ' ')"
    start_proxy c503 --fail-every 3 --status 503
    contract contract503 "$PX" false && [ "$(grep -c '^fault ' "$T/c503.log")" -ge 5 ] &&
        ok "store contract suite on s3 with every third request answered 503 ($(grep -c '^fault ' "$T/c503.log") faults)" ||
        notok "store contract through 503s" "$(grep '^#' "$T/contract503.out" | tail -n 5 | tr '\n' ' ')"
else
    skip "store contract suite on s3" "no unit test binary ($UNIT)"
fi

# --- storage classes through the recording proxy -----------------------------
# Swift only knows STANDARD: the proxy's fake mode records the header, strips
# it and re-signs; the unit test drives put-with-class, stat and set_class.
start_proxy classes --fake-classes --record "$T/classes.rec"
if [ -x "$UNIT" ]; then
    contract contractcls "$PX" true && ok "store contract suite on s3 with storage classes on (fake-class proxy)" ||
        notok "store contract with classes" "$(grep '^#' "$T/contractcls.out" | tail -n 5 | tr '\n' ' ')"
    AWS_SESSION_TOKEN=tok-t-s3-session TP_S3_CLASSES_ENDPOINT=$PX TP_S3_PREFIX="$RUNID/classes" \
        "$UNIT" s3_store_classes >"$T/cls.out" 2>&1
    grep -q '^ok' "$T/cls.out" && ! grep -q '^not ok' "$T/cls.out" &&
        ok "put with a class, stat, set_class through the proxy (unit/s3_store_classes)" || notok "classes unit" "$(cat "$T/cls.out")"
    "$PY" - "$T/classes.rec" <<'EOF' && ok "recorded: PUT with x-amz-storage-class GLACIER_IR, CopyObject onto itself with STANDARD_IA" || notok "recorded class requests" "$(cut -c1-300 "$T/classes.rec")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
put = [r for r in reqs if r["method"] == "PUT" and "x-amz-copy-source" not in r["headers"]]
cp = [r for r in reqs if r["method"] == "PUT" and "x-amz-copy-source" in r["headers"]]
assert any(r["headers"].get("x-amz-storage-class") == "GLACIER_IR" for r in put), put
c = [r for r in cp if r["headers"].get("x-amz-storage-class") == "STANDARD_IA"]
assert c and c[0]["headers"]["x-amz-copy-source"].endswith(c[0]["path"].split("/", 2)[2]), cp
assert c[0]["headers"]["x-amz-metadata-directive"] == "REPLACE", c
EOF
    "$PY" - "$T/classes.rec" <<'EOF' && ok "a session token goes as x-amz-security-token on every request" || notok "session token header"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
tok = [r for r in reqs if r["headers"].get("x-amz-security-token") == "tok-t-s3-session"]
assert len(tok) >= 6, len(tok)
assert all(r["headers"].get("x-amz-content-sha256") for r in reqs)
assert all("content-md5" in r["headers"] for r in reqs if r["method"] == "PUT" and "x-amz-copy-source" not in r["headers"])
EOF
else
    skip "storage classes through the proxy" "no unit test binary (UNIT)"
fi

# --- the policy's storage_class on a run (sqlite + s3, fake-class proxy) ------
# glacier: lossless JPEG -> JPEG XL, the new blob is PUT as GLACIER_IR (the
# CMYK JPEG cannot be recompressed: kept, its blob moves by CopyObject);
# ia: GIFs, no codec work, the blob moves to STANDARD_IA by CopyObject.
cat >"$T/classes.yaml" <<'EOF'
version: 1
description: t_s3 storage classes
defaults:
  proxies:
    - {name: thumb, max_edge: 64, format: webp, quality: 80}
  original: keep
  storage_class: STANDARD
tiers:
  - name: glacier
    match: {format: jpeg}
    transcode: {mode: lossless, codecs: [jxl], min_saving: 0.01}
    storage_class: GLACIER_IR
  - name: ia
    match: {format: gif}
    storage_class: STANDARD_IA
EOF
mkdir -p "$T/incls"
for f in photo-iphone4s-180x135-exif-gps.jpg frame-150x103-cmyk-adobe.jpg frame-150x103-interlaced.gif; do
    cp "$T/in/$f" "$T/incls/"
done
# current blob and its recorded class per file: "NAME BLOB CLASS ASSETCLASS TIER"
blob_classes() {
    "$PY" - "$1/catalog.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
q = ("SELECT a.format, a.current_blob, b.storage_class, a.storage_class, coalesce(a.tier, '-'), "
     "a.original_blob = a.current_blob FROM assets a JOIN blobs b ON b.hash = a.current_blob ORDER BY a.id")
for r in db.execute(q):
    print(*r)
EOF
}
start_proxy tiers --fake-classes --record "$T/tiers.rec"
home "$T/cls" cls "$PX" true
"$TP" --home "$T/cls" ingest "$T/incls" >"$T/cls.ing" 2>&1 && : >"$T/tiers.rec" &&
    "$TP" --home "$T/cls" run --policy "$T/classes.yaml" --json --jobs 1 >"$T/cls.json" 2>"$T/cls.err" &&
    ok "run a policy with GLACIER_IR and STANDARD_IA tiers on sqlite + s3 (classes on)" ||
    notok "classes run" "$(tail -n 3 "$T/cls.ing" "$T/cls.err" | tr '\n' ' ')"
blob_classes "$T/cls" >"$T/cls.cat"
"$PY" - "$T/tiers.rec" "$T/cls.cat" <<'EOF' && ok "the transcoded blob's PUT carried x-amz-storage-class GLACIER_IR" || notok "PUT with the tier's class" "$(cat "$T/cls.cat")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
rows = [l.split() for l in open(sys.argv[2])]
new = [r[1] for r in rows if r[0] == "jxl" or (r[4] == "glacier" and r[5] == "0")]
assert len(new) == 1, rows
put = [r for r in reqs if r["method"] == "PUT" and "x-amz-copy-source" not in r["headers"]
       and r["path"].endswith("/" + new[0])]
assert put and all(r["headers"].get("x-amz-storage-class") == "GLACIER_IR" for r in put), put
EOF
"$PY" - "$T/tiers.rec" "$T/cls.cat" <<'EOF' && ok "label-only and kept moves: CopyObject onto the same key with the tier's class" || notok "CopyObject with the tier's class" "$(cut -c1-400 "$T/tiers.rec")"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
rows = [l.split() for l in open(sys.argv[2])]
cp = [r for r in reqs if r["method"] == "PUT" and "x-amz-copy-source" in r["headers"]]
want = {r[1]: ("STANDARD_IA" if r[4] == "ia" else "GLACIER_IR") for r in rows if r[5] == "1"}
assert len(want) == 2 and "STANDARD_IA" in want.values(), rows  # the GIF and the kept CMYK JPEG
for blob, cls in want.items():
    c = [r for r in cp if r["path"].endswith("/" + blob)]
    assert len(c) == 1, (blob, cp)
    h = c[0]["headers"]
    assert h.get("x-amz-storage-class") == cls, h
    assert h["x-amz-copy-source"].endswith(c[0]["path"].split("/", 2)[2]), h
assert len(cp) == 2, cp
EOF
"$PY" - "$T/cls.cat" <<'EOF' && ok "the catalog's blob rows record the class (GLACIER_IR x2, STANDARD_IA)" || notok "catalog blob classes" "$(cat "$T/cls.cat")"
import sys
rows = sorted((r[4], r[2], r[3]) for r in (l.split() for l in open(sys.argv[1])))
assert rows == [("glacier", "GLACIER_IR", "GLACIER_IR")] * 2 + [("ia", "STANDARD_IA", "STANDARD_IA")], rows
EOF
check "fsck clean after the class moves" "$TP" --home "$T/cls" fsck
originals_intact "$T/cls" && ok "every original intact after the class moves" || notok "originals after class moves"

# a class change the server refuses: the run names bucket/key, the catalog is unchanged
home "$T/clsbad" clsbad
"$TP" --home "$T/clsbad" ingest "$T/in/frame-150x103-interlaced.gif" >/dev/null 2>&1
start_proxy clsbad --fail-every 1 --status 500 --methods PUT
sed -i "s#endpoint_url: .*#endpoint_url: $PX#; s#storage_classes: .*#storage_classes: true#; s#max_retries: .*#max_retries: 1#" "$T/clsbad/tierpress.yaml"
"$TP" --home "$T/clsbad" run --policy "$T/classes.yaml" --json >"$T/clsbad.json" 2>"$T/clsbad.err"
st=$?
[ $st -ne 0 ] && [ $st -lt 128 ] && grep -q "s3://$TP_S3_BUCKET/$RUNID/clsbad/.*500" "$T/clsbad.err" &&
    ok "refused CopyObject: exit $st, the error names s3://bucket/key and HTTP 500" || notok "refused CopyObject" "$st $(tail -n 2 "$T/clsbad.err")"
[ "$(blob_classes "$T/clsbad")" = "$(blob_classes "$T/clsbad" | awk '$3 == "STANDARD" && $4 == "STANDARD" && $5 == "-"')" ] &&
    [ -n "$(blob_classes "$T/clsbad")" ] && ok "refused CopyObject: the catalog is unchanged (no tier, STANDARD)" || notok "catalog after refused CopyObject" "$(blob_classes "$T/clsbad")"

# the embedded default: the same policy only labels
"$TP" --home "$T/clsfs" ingest "$T/incls" >/dev/null 2>&1
"$TP" --home "$T/clsfs" run --policy "$T/classes.yaml" --json --jobs 1 >"$T/clsfs.json" 2>"$T/clsfs.err" &&
    [ "$(blob_classes "$T/clsfs" | awk '{print $5, $3, $4}' | sort | tr '\n' ' ')" = "glacier GLACIER_IR GLACIER_IR glacier GLACIER_IR GLACIER_IR ia STANDARD_IA STANDARD_IA " ] &&
    "$TP" --home "$T/clsfs" fsck >/dev/null 2>&1 &&
    ok "embedded default: the same policy records the classes as labels, fsck clean" || notok "classes on the embedded default" "$(tail -n 2 "$T/clsfs.err") $(blob_classes "$T/clsfs")"
