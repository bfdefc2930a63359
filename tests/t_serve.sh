#!/bin/sh
# tierpress serve end to end with curl: uploads agree with `info`,
# renditions decode upright without GPS, dedup (also two at once), broken
# and bomb files get 422/413 while a good upload succeeds, 401, signed URL
# expiry, Range/If-None-Match, 503 on a full decode queue, SIGKILL after
# the blobs were stored -> fsck clean, SIGTERM -> exit 0, the status page
# in headless chromium (screenshot kept under $OUT).
. "${TP_ROOT:-.}/tests/lib.sh"

OUT=${TP_TEST_OUT:-${TP_ROOT:-.}/build/test-out}/t_serve
mkdir -p "$OUT"
H=$T/home
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

# start_server LOG ARGS...: starts tierpress serve on a free port; sets URL, SPID
# pg_home DB DIR: a new PostgreSQL database DB and H=DIR, a home whose
# catalog it is (1 when the database cannot be made)
PSQL="psql -X -q -t -A -v ON_ERROR_STOP=1"
pg_home() {
    $PSQL "$TP_TEST_PG" -c "CREATE DATABASE $1" >/dev/null || return 1
    H=$2
    mkdir -p "$H"
    printf 'catalog: %s/%s\n' "${TP_TEST_PG%/*}" "$1" >"$H/tierpress.yaml"
}

start_server() {
    _log=$1
    shift
    "$TP" --home "$H" serve --listen 127.0.0.1:0 "$@" >"$_log" 2>"$_log.err" &
    SPID=$!
    PIDS="$PIDS $SPID"
    URL=""
    for _i in $(seq 1 200); do
        URL=$(sed -n 's|^listening on \(http://[0-9.:]*\)/$|\1|p' "$_log" 2>/dev/null)
        [ -n "$URL" ] && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.05
    done
    echo "# server did not start: $(cat "$_log.err")"
    return 1
}

# async_keeps LABEL AUTH-HEADER: on the server at $URL over the home $H,
# ?proxies=async keeps what a synchronous upload keeps (file name, external
# id, capture-time hint; the Idempotency-Key), and a re-upload after the
# asset went to the trash (restored) or through gc (a new asset) is
# ingested again by the worker.
async_keeps() {
    _l=$1
    _ah=$2
    _f=photo-500x500-gray8.png
    _g=photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
    _ck=$(curl -s -H "$_ah" -o "$T/ak1.json" -w '%{http_code}' -H "X-File-Name: IMG_0007.PNG" -H "X-External-Id: ext-7" \
        -H "X-Capture-Time: 2019-07-04T10:11:12" -H "Idempotency-Key: ak-1" --data-binary @"$SAMPLES/$_f" "$URL/v1/assets?proxies=async")
    _ck2=$(curl -s -H "$_ah" -o "$T/ak2.json" -w '%{http_code}' -H "Idempotency-Key: ak-1" --data-binary @"$SAMPLES/$_f" "$URL/v1/assets?proxies=async")
    _ck3=$(curl -s -H "$_ah" -o "$T/ak3.json" -w '%{http_code}' -H "Idempotency-Key: ak-1" --data-binary @"$SAMPLES/$_g" "$URL/v1/assets?proxies=async")
    _ck4=$(curl -s -H "$_ah" -o /dev/null -w '%{http_code}' -H "Idempotency-Key;" --data-binary @"$SAMPLES/$_g" "$URL/v1/assets?proxies=async")
    _j=$(jget "$T/ak1.json" id)
    [ "$_ck $_ck2 $_ck3 $_ck4" = "202 202 422 400" ] && [ "$(jget "$T/ak2.json" id)" = "$_j" ] &&
        [ "$(jget "$T/ak2.json" new_job)" = true ] && [ "$(jget "$T/ak3.json" type)" = "$(jget "$T/ik3.json" type)" ] &&
        ok "serve: $_l: an async retry with its Idempotency-Key answers the same job; other bytes -> the sync path's 422; empty key 400" ||
        notok "serve: $_l: async idempotency" "$_ck $_ck2 $_ck3 $_ck4 $(cat "$T/ak1.json" "$T/ak2.json" "$T/ak3.json")"
    "$TP" --home "$H" run --policy "${TP_ROOT:-.}/tests/policies/run.yaml" --now 2020-01-01 >"$T/akrun.out" 2>&1
    curl -s -H "$_ah" -o "$T/akj.json" "$URL/v1/jobs/$_j"
    _a=$(jget "$T/akj.json" asset_id)
    curl -s -H "$_ah" -o "$T/aka.json" "$URL/v1/assets/$_a"
    [ "$(jget "$T/akj.json" state)" = done ] && [ "$(jget "$T/aka.json" file_name)" = IMG_0007.PNG ] &&
        [ "$(jget "$T/aka.json" external_id)" = ext-7 ] && [ "$(jget "$T/aka.json" capture_time)" = 2019-07-04T10:11:12 ] &&
        ok "serve: $_l: the worker gives an async upload's asset its file name, external id and capture-time hint" ||
        notok "serve: $_l: async headers" "$(cat "$T/akj.json" "$T/aka.json") $(tail -n 2 "$T/akrun.out" | tr '\n' ' ')"
    # in the trash: the re-upload queues the job again; its worker restores the asset (as a sync upload does)
    _ck=$(curl -s -H "$_ah" -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/assets/$_a")
    _ck2=$(curl -s -H "$_ah" -o "$T/akt.json" -w '%{http_code}' --data-binary @"$SAMPLES/$_f" "$URL/v1/assets?proxies=async")
    "$TP" --home "$H" run --policy "${TP_ROOT:-.}/tests/policies/run.yaml" --now 2020-01-01 >"$T/akrun2.out" 2>&1
    curl -s -H "$_ah" -o "$T/akj2.json" "$URL/v1/jobs/$_j"
    _ck3=$(curl -s -H "$_ah" -o "$T/akr.json" -w '%{http_code}' "$URL/v1/assets/$_a")
    _n=$(curl -s -H "$_ah" "$URL/v1/assets" | grep -o "\"sha256\":\"$(sha256sum <"$SAMPLES/$_f" | cut -c1-64)\"" | wc -l)
    [ "$_ck $_ck2 $_ck3" = "204 202 200" ] && [ "$(jget "$T/akt.json" id)" = "$_j" ] && [ "$(jget "$T/akt.json" new_job)" = true ] &&
        [ "$(jget "$T/akt.json" state)" = queued ] && [ "$(jget "$T/akj2.json" state)" = done ] &&
        [ "$(jget "$T/akj2.json" asset_id)" = "$_a" ] && [ "$_n" = 1 ] && [ "$(jget "$T/akr.json" file_name)" = IMG_0007.PNG ] &&
        ok "serve: $_l: an async re-upload of an asset in the trash restores it (one asset, as the sync path)" ||
        notok "serve: $_l: async re-upload from the trash" "$_ck $_ck2 $_ck3 n=$_n $(cat "$T/akt.json" "$T/akj2.json")"
    # deleted and gone through gc: the re-upload is ingested again, a new asset
    curl -s -H "$_ah" -o /dev/null -X DELETE "$URL/v1/assets/$_a"
    "$TP" --home "$H" gc --trash-grace 1d --now "$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)" --json >"$T/akgc.json" 2>&1
    _ck=$(curl -s -H "$_ah" -o "$T/akg.json" -w '%{http_code}' -H "X-File-Name: again.png" --data-binary @"$SAMPLES/$_f" "$URL/v1/assets?proxies=async")
    "$TP" --home "$H" run --policy "${TP_ROOT:-.}/tests/policies/run.yaml" --now 2020-01-01 >"$T/akrun3.out" 2>&1
    curl -s -H "$_ah" -o "$T/akj3.json" "$URL/v1/jobs/$_j"
    _b=$(jget "$T/akj3.json" asset_id)
    _ck2=$(curl -s -H "$_ah" -o "$T/akn.json" -w '%{http_code}' "$URL/v1/assets/$_b")
    [ "$(jget "$T/akgc.json" trash_deleted)" = 1 ] && [ "$_ck $_ck2" = "202 200" ] && [ "$(jget "$T/akg.json" new_job)" = true ] &&
        [ "$(jget "$T/akg.json" id)" = "$_j" ] && [ "$(jget "$T/akj3.json" state)" = done ] &&
        [ "$(jget "$T/akn.json" file_name)" = again.png ] && [ "$(jget "$T/akn.json" sha256)" = "$(jget "$T/akg.json" sha256)" ] &&
        ok "serve: $_l: an async re-upload after delete + gc is ingested again (a new asset)" ||
        notok "serve: $_l: async re-upload after gc" "$_ck $_ck2 $(cat "$T/akgc.json" "$T/akg.json" "$T/akj3.json") $(tail -n 2 "$T/akrun3.out" | tr '\n' ' ')"
}

# idem_restart LABEL LOG ARGS...: over the home $H (no asset yet; ARGS
# with --tokens: $AUTH is alice, $BOB bob), the
# answers to Idempotency-Keys survive a restart (SIGTERM, then a new server
# on the same home): a sync upload's retry gets the same asset and its
# first status (201, not the 200 of a duplicate), an async one's the same
# job; the keys with other bytes -> 422; another owner's same key is his
# own (tokens only).  ARGS start the servers.
idem_restart() {
    _l=$1
    _log=$2
    shift 2
    _f=photo-iphone4s-180x135-exif-gps.jpg
    _g=photo-rose-lossy.webp
    start_server "$_log" "$@" || { notok "serve: $_l: start for restart"; return; }
    _c1=$(c -o "$T/rs1.json" -w '%{http_code}' -H "Idempotency-Key: rk-1" --data-binary @"$SAMPLES/$_f" "$URL/v1/assets")
    _c2=$(c -o "$T/rs2.json" -w '%{http_code}' -H "Idempotency-Key: rk-2" --data-binary @"$SAMPLES/$_g" "$URL/v1/assets?proxies=async")
    kill -TERM "$SPID"
    wait "$SPID"
    start_server "$_log.2" "$@" || { notok "serve: $_l: restart"; return; }
    # other bytes first: nothing of the key is in the new server's memory
    _c4=$(c -o "$T/rs4.json" -w '%{http_code}' -H "Idempotency-Key: rk-1" --data-binary @"$SAMPLES/$_g" "$URL/v1/assets")
    _c3=$(c -o "$T/rs3.json" -w '%{http_code}' -H "Idempotency-Key: rk-1" --data-binary @"$SAMPLES/$_f" "$URL/v1/assets")
    _c6=$(c -o "$T/rs6.json" -w '%{http_code}' -H "Idempotency-Key: rk-2" --data-binary @"$SAMPLES/$_f" "$URL/v1/assets?proxies=async")
    _c5=$(c -o "$T/rs5.json" -w '%{http_code}' -H "Idempotency-Key: rk-2" --data-binary @"$SAMPLES/$_g" "$URL/v1/assets?proxies=async")
    [ "$_c1 $_c2 $_c3 $_c4 $_c5 $_c6" = "201 202 201 422 202 422" ] && [ -n "$(jget "$T/rs1.json" id)" ] &&
        [ "$(jget "$T/rs3.json" id)" = "$(jget "$T/rs1.json" id)" ] && [ "$(jget "$T/rs5.json" id)" = "$(jget "$T/rs2.json" id)" ] &&
        [ "$(jget "$T/rs2.json" new_job)" = true ] && [ "$(jget "$T/rs5.json" new_job)" = true ] &&
        [ "$(jget "$T/rs4.json" type)" = "$(jget "$T/rs6.json" type)" ] && grep -q idempotency-key-reused "$T/rs4.json" &&
        ok "serve: $_l: Idempotency-Key answers survive a restart (sync: same asset, 201; async: same job; other bytes 422)" ||
        notok "serve: $_l: idempotency after a restart" "$_c1 $_c2 $_c3 $_c4 $_c5 $_c6 $(cat "$T/rs1.json" "$T/rs3.json" "$T/rs4.json")"
    # keys are per owner: bob's rk-1 is his own (a new upload, 201)
    _c7=$(curl -s -H "$BOB" -o "$T/rs7.json" -w '%{http_code}' -H "Idempotency-Key: rk-1" --data-binary @"$SAMPLES/$_g" "$URL/v1/assets")
    [ "$_c7" = 201 ] && [ "$(jget "$T/rs7.json" owner)" = bob ] &&
        ok "serve: $_l: another owner's same Idempotency-Key is his own" ||
        notok "serve: $_l: idempotency owners" "$_c7 $(cat "$T/rs7.json")"
    kill -TERM "$SPID"
    wait "$SPID"
}

# limits from the home's configuration file
mkdir -p "$H"
printf 'serve:\n  max_body: 4MiB\n  idle_timeout: 20\n' >"$H/tierpress.yaml"
TOK_A=alice-token-0123456789abcdef
TOK_B=bobby-token-0123456789abcdef
printf 'alice %s\n# a comment\nbob %s\n' "$TOK_A" "$TOK_B" >"$T/tokens"
printf 'signing-key-0123456789abcdef\n' >"$T/key"

# without tokens: loopback only, and it says so
"$TP" --home "$H" serve --listen 0.0.0.0:0 >"$T/open.out" 2>&1
st=$?
[ $st -ne 0 ] && grep -q "loopback only" "$T/open.out" && ok "serve: no tokens -> refuses a non-loopback address" ||
    notok "serve: no-auth bind" "status $st: $(cat "$T/open.out")"

# every stored blob is streamed from the store, whatever its size
TP_FAULT_CRASH_PROXIES=crash-me start_server "$T/s1.log" --tokens "$T/tokens" --signing-key "$T/key" || { notok "serve: start"; exit 1; }
AUTH="Authorization: Bearer $TOK_A"
c() { curl -s -H "$AUTH" "$@"; }

code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] && ok "serve: healthz" || notok "serve: healthz" "$code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")
[ "$code" = 200 ] && ok "serve: readyz" || notok "serve: readyz" "$code"

# wrong or missing token: 401 problem+json
code=$(curl -s -o "$T/401.json" -w '%{http_code} %{content_type}' -H "Authorization: Bearer wrong-token-0123456789" \
    --data-binary @"$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$URL/v1/assets")
[ "$code" = "401 application/problem+json" ] && grep -q '"status":401' "$T/401.json" && ok "serve: wrong token -> 401 problem+json" ||
    notok "serve: wrong token" "$code $(cat "$T/401.json")"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/assets/1")
[ "$code" = 401 ] && ok "serve: no token -> 401" || notok "serve: no token" "$code"

# uploads of samples: JSON agrees with info --json
SAMPLE_LIST="photo-iphone4s-180x135-exif-gps.jpg photo-panasonic-gf1-640x428-exif-orient6.jpg
photo-nokia-lumia820-1278x720-exif-gps.jpg photo-500x500-rgba-alpha.png photo-rose-lossy.webp
photo-800x533-8bit.avif frame-150x103-interlaced.gif frame-150x103-rgb16.tiff
photo-1280x854-multi-image-thumbnails-noexif.heic clip-320x240-h264-aac-1.2s.mp4"
nup=0
bad=""
for f in $SAMPLE_LIST; do
    [ -f "$SAMPLES/$f" ] || continue
    "$TP" info --json "$SAMPLES/$f" >"$T/$f.info" 2>/dev/null || continue
    code=$(c -o "$T/$f.json" -w '%{http_code}' -H "X-File-Name: $f" --data-binary @"$SAMPLES/$f" "$URL/v1/assets")
    [ "$code" = 201 ] || { bad="$bad $f:$code"; continue; }
    nup=$((nup + 1))
    echo "$f" >>"$T/uploaded"
done
[ -z "$bad" ] && [ "$nup" -ge 8 ] && ok "serve: $nup samples uploaded (201)" || notok "serve: uploads" "$nup ok;$bad"

"$PY" - "$T" <<'PYEOF' >"$T/agree.out" 2>&1
import json, sys, os, hashlib
T = sys.argv[1]
bad = []
for f in open(os.path.join(T, "uploaded")).read().split():
    a = json.load(open(os.path.join(T, f + ".json")))
    i = json.loads(open(os.path.join(T, f + ".info")).readline())
    want = {"format": i["format"], "kind": i["kind"], "width": i["width"], "height": i["height"],
            "gps": i["gps"], "bytes": i["bytes"]}
    if i.get("orientation"):
        want["orientation"] = i["orientation"]
    ct = i.get("capture_time")
    if ct:
        want["capture_time"] = ct[:10].replace(":", "-") + "T" + ct[11:19]
    if i.get("make"):
        want["camera_make"] = i["make"]
    sha = hashlib.sha256(open(os.path.join(os.environ.get("SAMPLES", "samples"), f), "rb").read()).hexdigest()
    want["sha256"] = sha
    for k, v in want.items():
        if a.get(k) != v:
            bad.append("%s: %s=%r, info says %r" % (f, k, a.get(k), v))
    if not a.get("renditions") or not all("url" in r and "signed_url" in r for r in a["renditions"]):
        bad.append("%s: renditions without urls" % f)
print("\n".join(bad) if bad else "agree")
PYEOF
[ "$(cat "$T/agree.out")" = agree ] && ok "serve: asset JSON agrees with info --json" ||
    notok "serve: JSON vs info" "$(head -n 4 "$T/agree.out" | tr '\n' ' ')"

# the same shape as ls --json (one serializer)
"$TP" --home "$H" ls --json >"$T/ls.json" 2>/dev/null
"$PY" - "$T/ls.json" "$T/photo-iphone4s-180x135-exif-gps.jpg.json" <<'PYEOF' >"$T/shape.out" 2>&1
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
a = json.load(open(sys.argv[2]))
row = [r for r in ls if r["id"] == a["id"]][0]
extra = set(a) - set(row) - {"original_url"}
missing = set(row) - set(a)
print("same" if not extra and not missing else "extra %s missing %s" % (extra, missing))
PYEOF
[ "$(cat "$T/shape.out")" = same ] && ok "serve: asset JSON has the ls --json keys" || notok "serve: shape" "$(cat "$T/shape.out")"

# renditions: decode (ffmpeg), upright (orientation 1, displayed aspect kept), no GPS
"$PY" - "$T" "$TP" "$URL" "$TOK_A" <<'PYEOF' >"$T/rend.out" 2>&1
import json, sys, os, subprocess, urllib.request
T, TP, URL, TOK = sys.argv[1:5]
bad = []
n = 0
for f in open(os.path.join(T, "uploaded")).read().split():
    a = json.load(open(os.path.join(T, f + ".json")))
    i = json.loads(open(os.path.join(T, f + ".info")).readline())
    dw, dh = i.get("display_width", i["width"]), i.get("display_height", i["height"])
    for r in a["renditions"]:
        req = urllib.request.Request(URL + r["url"], headers={"Authorization": "Bearer " + TOK})
        data = urllib.request.urlopen(req).read()
        p = os.path.join(T, "r-%d-%s.%s" % (a["id"], r["name"], r["format"]))
        open(p, "wb").write(data)
        n += 1
        if subprocess.run(["ffmpeg", "-v", "error", "-xerror", "-i", p, "-f", "null", "-"],
                          capture_output=True).returncode:
            bad.append("%s %s: does not decode" % (f, r["name"]))
        if r["format"] == "mp4":
            continue
        ri = json.loads(subprocess.run([TP, "info", "--json", p], capture_output=True, text=True).stdout)
        if ri["gps"]:
            bad.append("%s %s: GPS" % (f, r["name"]))
        if ri.get("orientation", 1) != 1:
            bad.append("%s %s: orientation %s" % (f, r["name"], ri.get("orientation")))
        if abs(ri["width"] / ri["height"] - dw / dh) > 0.05:
            bad.append("%s %s: %dx%d not upright for %dx%d" % (f, r["name"], ri["width"], ri["height"], dw, dh))
print("\n".join(bad) if bad else "renditions ok %d" % n)
PYEOF
grep -q "^renditions ok" "$T/rend.out" && ok "serve: $(cat "$T/rend.out"): decode, upright, no GPS" ||
    notok "serve: renditions" "$(head -n 4 "$T/rend.out" | tr '\n' ' ')"

# dedup: the same bytes again -> 200 with the same id
F=photo-iphone4s-180x135-exif-gps.jpg
id1=$(jget "$T/$F.json" id)
code=$(c -o "$T/dup.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets")
[ "$code" = 200 ] && [ "$(jget "$T/dup.json" id)" = "$id1" ] && ok "serve: duplicate upload -> 200, same id" ||
    notok "serve: duplicate" "$code $(head -c 200 "$T/dup.json")"

# Idempotency-Key: a retry replays the first answer (201, same id); the key with other bytes -> 422
F3=photo-nokia-lumia820-1278x720-exif-gps.jpg
code=$(c -o "$T/ik1.json" -w '%{http_code}' -H "Idempotency-Key: up-1" --data-binary @"$SAMPLES/photo-rose-lossy-alpha.webp" "$URL/v1/assets")
code2=$(c -o "$T/ik2.json" -w '%{http_code}' -H "Idempotency-Key: up-1" --data-binary @"$SAMPLES/photo-rose-lossy-alpha.webp" "$URL/v1/assets")
code3=$(c -o "$T/ik3.json" -w '%{http_code}' -H "Idempotency-Key: up-1" --data-binary @"$SAMPLES/$F3" "$URL/v1/assets")
[ "$code $code2 $code3" = "201 201 422" ] && [ "$(jget "$T/ik1.json" id)" = "$(jget "$T/ik2.json" id)" ] &&
    ok "serve: Idempotency-Key replays the first answer; reused with other bytes -> 422" || notok "serve: idempotency" "$code $code2 $code3"

# two concurrent uploads of the same new file -> one asset
F2=photo-nikon-d40-1000x665-exif.jpg
c -o "$T/cc1.json" -w '%{http_code}\n' --data-binary @"$SAMPLES/$F2" "$URL/v1/assets" >"$T/cc1.code" &
p1=$!
c -o "$T/cc2.json" -w '%{http_code}\n' --data-binary @"$SAMPLES/$F2" "$URL/v1/assets" >"$T/cc2.code" &
p2=$!
wait $p1 $p2
codes=$(cat "$T/cc1.code" "$T/cc2.code" | sort | tr '\n' ' ')
n=$("$TP" --home "$H" ls --json | grep -c "$(sha256sum "$SAMPLES/$F2" | cut -c1-64)")
[ "$(jget "$T/cc1.json" id)" = "$(jget "$T/cc2.json" id)" ] && [ "$n" = 1 ] &&
    { [ "$codes" = "200 201 " ] || [ "$codes" = "201 201 " ]; } &&
    ok "serve: two concurrent identical uploads -> one asset ($codes)" || notok "serve: concurrent dedup" "$codes n=$n"

# hostile files get 413/422/415 quickly while a good upload in parallel succeeds
c -o "$T/good.json" -w '%{http_code}\n' -H "X-File-Name: good.jpg" --data-binary @"$SAMPLES/photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg" \
    "$URL/v1/assets" >"$T/good.code" &
pg=$!
hbad=""
for f in bomb-jpeg-64250x64250-1kb.jpg:413 png-invalid-crc32.png:422 truncated-progressive.jpg:422 \
    gif-hang-114.gif:422 cve-2017-2862.jpg:422 png-invalid-zlib.png:422; do
    name=${f%%:*}
    want=${f##*:}
    got=$(c -o "$T/h.json" -w '%{http_code} %{content_type} %{time_total}' -H "X-File-Name: $name" \
        --data-binary @"$BROKEN/$name" "$URL/v1/assets")
    set -- $got
    if [ "$1" != "$want" ] || [ "$2" != application/problem+json ] || ! grep -q "$name" "$T/h.json"; then
        hbad="$hbad $name:$got"
    fi
done
wait $pg
[ -z "$hbad" ] && ok "serve: broken and bomb files -> 413/422 problem+json naming the file" || notok "serve: hostile" "$hbad"
[ "$(cat "$T/good.code")" = 201 ] && ok "serve: a good upload alongside them succeeds" || notok "serve: good upload" "$(cat "$T/good.code")"
# decodes run in resident sandboxed workers, one per decode slot (--threads, default: cores):
# new uploads reuse them (no process per upload)
poolpids() { pgrep -P "$SPID" -f 'ingest-proxies@pool:' | sort | tr '\n' ' '; }
# (the hostile uploads above had their workers replaced: the pool refills on its own)
for i in $(seq 1 200); do [ "$(poolpids | wc -w)" = "$(nproc)" ] && break; sleep 0.05; done
pool1=$(poolpids)
for i in 1 2 3; do
    { cat "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg"; printf 'pool-trailer-%s' "$i"; } >"$T/pool$i.jpg"
    c -o /dev/null -w '%{http_code} ' --data-binary @"$T/pool$i.jpg" "$URL/v1/assets"
done >"$T/pool.codes"
pool2=$(poolpids)
[ "$(cat "$T/pool.codes")" = "201 201 201 " ] && [ -n "$pool1" ] && [ "$pool1" = "$pool2" ] &&
    [ "$(echo $pool1 | wc -w)" = "$(nproc)" ] &&
    ok "serve: uploads are decoded by the same resident sandboxed workers ($(echo $pool1 | wc -w), pids unchanged)" ||
    notok "serve: worker pool" "$(cat "$T/pool.codes") before '$pool1' after '$pool2'"
# a codec crash (test hook: SIGSEGV in the decode child) is that upload's 422; the server carries on
code=$(c -o "$T/crash.json" -w '%{http_code}' -H "X-File-Name: crash-me.jpg" --data-binary @"$SAMPLES/photo-astronaut-512x512-rgb8.png" "$URL/v1/assets")
code2=$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")
[ "$code" = 422 ] && [ "$code2" = 200 ] && grep -q "crash-me.jpg" "$T/crash.json" && ok "serve: a crashing decode (sandboxed child) -> 422, the server carries on" ||
    notok "serve: isolation" "$code $code2 $(cat "$T/crash.json")"
# ... and the crashed worker is replaced (the pool is full again, one pid new)
for i in $(seq 1 200); do [ "$(poolpids | wc -w)" = "$(nproc)" ] && break; sleep 0.05; done
pool3=$(poolpids)
{ cat "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg"; printf 'pool-trailer-4'; } >"$T/pool4.jpg"
code=$(c -o /dev/null -w '%{http_code}' --data-binary @"$T/pool4.jpg" "$URL/v1/assets")
kept=0
for p in $pool3; do case " $pool2 " in *" $p "*) kept=$((kept + 1)) ;; esac; done
[ "$code" = 201 ] && [ "$(echo $pool3 | wc -w)" = "$(nproc)" ] && [ "$kept" = $(($(nproc) - 1)) ] &&
    ok "serve: the crashed worker is replaced, the others kept; the next upload succeeds" ||
    notok "serve: pool after a crash" "$code '$pool2' -> '$pool3'"
code=$(c -o /dev/null -w '%{http_code}' --data-binary @"$SAMPLES/SOURCES.md" "$URL/v1/assets")
[ "$code" = 415 ] && ok "serve: not media -> 415" || notok "serve: 415" "$code"
# over the configured body limit: 413 before reading (Content-Length) and while streaming (chunked)
head -c 5000000 /dev/urandom >"$T/big.bin"
code=$(c -o "$T/big1.json" -w '%{http_code}' --data-binary @"$T/big.bin" "$URL/v1/assets")
code2=$(c -o "$T/big2.json" -w '%{http_code}' -H "Transfer-Encoding: chunked" -H "X-File-Name: big.bin" --data-binary @"$T/big.bin" "$URL/v1/assets")
[ "$code" = 413 ] && [ "$code2" = 413 ] && grep -q 4194304 "$T/big1.json" && grep -q "big.bin: over the 4194304-byte" "$T/big2.json" &&
    ok "serve: body over the config file's max_body -> 413 (declared and streamed)" || notok "serve: body limit" "$code $code2 $(cat "$T/big2.json")"
code=$(c -o /dev/null -w '%{http_code}' -X POST "$URL/v1/assets")
[ "$code" = 400 ] && ok "serve: empty body -> 400" || notok "serve: 400" "$code"

# original: bytes as uploaded; ETag -> 304; Range -> 206
F=photo-panasonic-gf1-640x428-exif-orient6.jpg
id=$(jget "$T/$F.json" id)
sha=$(jget "$T/$F.json" sha256)
c -o "$T/orig" -D "$T/orig.h" "$URL/v1/assets/$id/original"
cmp -s "$T/orig" "$SAMPLES/$F" && grep -qi "^etag: \"$sha\"" "$T/orig.h" && grep -qi '^content-type: image/jpeg' "$T/orig.h" &&
    ok "serve: original bit-exact with ETag and Content-Type" || notok "serve: original" "$(tr '\r\n' '  ' <"$T/orig.h")"
code=$(c -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$sha\"" "$URL/v1/assets/$id/original")
[ "$code" = 304 ] && ok "serve: If-None-Match -> 304" || notok "serve: 304" "$code"
code=$(c -o "$T/part" -w '%{http_code}' -D "$T/part.h" -r 100-1099 "$URL/v1/assets/$id/original")
dd if="$SAMPLES/$F" of="$T/part.want" bs=1 skip=100 count=1000 2>/dev/null
[ "$code" = 206 ] && cmp -s "$T/part" "$T/part.want" && grep -qi "^content-range: bytes 100-1099/$(wc -c <"$SAMPLES/$F")" "$T/part.h" &&
    ok "serve: Range -> 206 with the right bytes" || notok "serve: range" "$code $(tr '\r\n' '  ' <"$T/part.h")"
code=$(c -o /dev/null -w '%{http_code}' -r 99999999- "$URL/v1/assets/$id/original")
[ "$code" = 416 ] && ok "serve: unsatisfiable Range -> 416" || notok "serve: 416" "$code"
# a (small, streamed) rendition: Content-Length, ETag, 304, Range, suffix Range, HEAD
rblob=$("$PY" -c 'import json,sys; r=[r for r in json.load(open(sys.argv[1]))["renditions"] if r["name"] == "thumb"][0]; print(r["blob"], r["bytes"])' "$T/$F.json")
set -- $rblob
c -o "$T/thumb" -D "$T/thumb.h" "$URL/v1/assets/$id/renditions/thumb"
rlen=$(tr -d '\r' <"$T/thumb.h" | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
code=$(c -o /dev/null -w '%{http_code}' -H "If-None-Match: \"$1\"" "$URL/v1/assets/$id/renditions/thumb")
code2=$(c -o "$T/tpart" -w '%{http_code}' -D "$T/tpart.h" -r 10-29 "$URL/v1/assets/$id/renditions/thumb")
code3=$(c -o "$T/tsuf" -w '%{http_code}' -r -16 "$URL/v1/assets/$id/renditions/thumb")
hlen=$(c -I "$URL/v1/assets/$id/renditions/thumb" | tr -d '\r' | sed -n 's/^[Cc]ontent-[Ll]ength: //p')
dd if="$T/thumb" of="$T/tpart.want" bs=1 skip=10 count=20 2>/dev/null
tail -c 16 "$T/thumb" >"$T/tsuf.want"
[ "$(sha256sum <"$T/thumb" | cut -c1-64)" = "$1" ] && [ "$rlen" = "$2" ] && [ "$hlen" = "$2" ] && grep -qi "^etag: \"$1\"" "$T/thumb.h" &&
    [ "$code $code2 $code3" = "304 206 206" ] && cmp -s "$T/tpart" "$T/tpart.want" && cmp -s "$T/tsuf" "$T/tsuf.want" &&
    grep -qi "^content-range: bytes 10-29/$2" "$T/tpart.h" &&
    ok "serve: a small rendition streamed: its bytes, Content-Length (GET and HEAD), ETag, 304, Range and suffix Range -> 206" ||
    notok "serve: rendition stream" "len $rlen/$hlen want $2; $code $code2 $code3 $(tr '\r\n' '  ' <"$T/tpart.h")"
code=$(c -o /dev/null -w '%{http_code}' "$URL/v1/assets/999999")
[ "$code" = 404 ] && ok "serve: missing asset -> 404" || notok "serve: 404" "$code"

# signed rendition URLs: no token needed; tampered or expired -> 403
surl=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["renditions"][0]["signed_url"])' "$T/$F.json")
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL$surl")
[ "$code" = 200 ] && ok "serve: signed rendition URL works without a token" || notok "serve: signed URL" "$code $surl"
tampered=$("$PY" -c 'import sys; u=sys.argv[1]; i=u.index("sig=")+4; print(u[:i] + ("1" if u[i] == "0" else "0") + u[i+1:])' "$surl")
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL$tampered")
# the signature of one rendition's path does not open another
other=$("$PY" -c 'import sys; u=sys.argv[1]; print(u.replace("/renditions/preview?", "/renditions/thumb?") if "/renditions/preview?" in u else u.replace("/renditions/thumb?", "/renditions/preview?"))' "$surl")
code2=$(curl -s -o /dev/null -w '%{http_code}' "$URL$other")
expired=$("$PY" -c '
import hmac, hashlib, sys, time
path = sys.argv[1].split("?")[0]
exp = int(time.time()) - 5
sig = hmac.new(b"signing-key-0123456789abcdef", ("%s\n%d" % (path, exp)).encode(), hashlib.sha256).hexdigest()
print("%s?exp=%d&sig=%s" % (path, exp, sig))' "$surl")
code3=$(curl -s -o "$T/exp.json" -w '%{http_code}' "$URL$expired")
[ "$code" = 403 ] && [ "$code2" = 403 ] && [ "$code3" = 403 ] && grep -q url-expired "$T/exp.json" && ok "serve: tampered, other-path and expired signed URLs -> 403" ||
    notok "serve: signed URL checks" "tampered $code expired $code3 ($code2)"

# the capture-time hint fills in a file without one; /report serves the newest HOME/reports/*.html
code=$(c -o "$T/hint.json" -w '%{http_code}' -H "X-Capture-Time: 2019-07-04T10:11:12" --data-binary @"$SAMPLES/photo-500x500-gray8.png" "$URL/v1/assets")
[ "$code" = 201 ] && [ "$(jget "$T/hint.json" capture_time)" = 2019-07-04T10:11:12 ] && ok "serve: X-Capture-Time fills in a missing capture time" ||
    notok "serve: capture hint" "$code $(head -c 300 "$T/hint.json")"
mkdir -p "$H/reports"
echo '<html><body>old report</body></html>' >"$H/reports/a.html"
touch -d '2020-01-01' "$H/reports/a.html"
echo '<html><body>simulate report 42</body></html>' >"$H/reports/b.html"
curl -s "$URL/report" | grep -q "simulate report 42" && ok "serve: /report serves the newest simulate report" || notok "serve: /report"

# metrics: Prometheus text with the routes and statuses seen
curl -s "$URL/metrics" >"$T/metrics"
grep -q 'tierpress_http_requests_total{route="upload",code="201"}' "$T/metrics" &&
    grep -q 'tierpress_http_requests_total{route="upload",code="422"}' "$T/metrics" &&
    grep -q 'tierpress_http_request_duration_seconds_bucket{route="upload",le="+Inf"}' "$T/metrics" &&
    grep -q '^tierpress_decode_failures_total [1-9]' "$T/metrics" &&
    ok "serve: /metrics counts requests by route and status, latency, decode failures" || notok "serve: metrics" "$(head -n 5 "$T/metrics" | tr '\n' ' ')"

# the status page in headless chromium: loads, shows the catalog's numbers, screenshot kept
nassets=$("$TP" --home "$H" ls --json | grep -c '"id":')
curl -s "$URL/" >"$T/status.html"
grep -q "<b id=\"assets\">$nassets</b>" "$T/status.html" && ok "serve: status page shows $nassets assets (as ls)" ||
    notok "serve: status numbers" "$(grep -o '<b id="assets">[0-9]*' "$T/status.html")"
if have chromium; then
    rm -f "$OUT/status.png"
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d "$T/chr.XXXX")" --window-size=1000,800 \
        --screenshot="$OUT/status.png" "$URL/" >"$T/chromium.log" 2>&1
    if [ -s "$OUT/status.png" ] && [ "$(head -c 4 "$OUT/status.png" | od -An -c | tr -d ' ')" = "211PNG" ]; then
        ok "serve: status page rendered by headless chromium ($OUT/status.png)"
    else
        notok "serve: chromium screenshot" "$(tail -n 3 "$T/chromium.log" | tr '\n' ' ')"
    fi
else
    skip "serve: chromium screenshot" "no chromium"
fi

# a corrupt stored blob is never served whole: streamed, the response is cut short
F=photo-nokia-lumia820-1278x720-exif-gps.jpg
cid=$(jget "$T/$F.json" id)
cblob=$("$PY" -c 'import json,sys; print([r["blob"] for r in json.load(open(sys.argv[1]))["renditions"] if r["name"] == "preview"][0])' "$T/$F.json")
cpath=$(find "$H/blobs" -name "$cblob" | head -n 1)
cp "$cpath" "$T/cblob.bak"
chmod u+w "$cpath" && printf 'X' | dd of="$cpath" bs=1 seek=100 conv=notrunc 2>/dev/null
c -o "$T/corrupt.jpg" "$URL/v1/assets/$cid/renditions/preview"
st=$?
[ $st -ne 0 ] && ok "serve: a corrupt blob's streamed response is cut short (curl status $st)" || notok "serve: corrupt blob served" "curl status 0"
cat "$T/cblob.bak" >"$cpath" && chmod 0400 "$cpath"

# SIGTERM: stops, exits 0
kill -TERM "$SPID"
wait "$SPID"
st=$?
[ $st -eq 0 ] && ok "serve: SIGTERM -> exit 0" || notok "serve: SIGTERM" "status $st"

# a full decode queue -> 503 with Retry-After; SIGKILL after the blobs were
# stored and before the catalog commit -> fsck clean
mkdir -p "$T/hold"
TP_INGEST_HOLD=$T/hold start_server "$T/s2.log" --threads 1 --queue 0 || { notok "serve: start 2"; exit 1; }
curl -s -o /dev/null --data-binary @"$SAMPLES/photo-nikon-d300-64x64-16bit-rec2020-linear.png" "$URL/v1/assets" &
ph=$!
for i in $(seq 1 400); do [ -f "$T/hold/stored" ] && break; sleep 0.05; done
code=$(curl -s -o /dev/null -D "$T/503.h" -w '%{http_code}' --data-binary @"$SAMPLES/photo-astronaut-512x512-rgb8.png" "$URL/v1/assets")
[ "$code" = 503 ] && grep -qi '^retry-after:' "$T/503.h" && ok "serve: decode slots and queue full -> 503 with Retry-After" ||
    notok "serve: 503" "$code"
# ... and one upload still streaming its body when the server is killed
head -c 2000000 /dev/urandom >"$T/slow.bin"
curl -s -o /dev/null --limit-rate 100k --data-binary @"$T/slow.bin" "$URL/v1/assets" &
ps=$!
for i in $(seq 1 400); do
    [ -n "$(find "$H/uploads" -name 'upload-*' -size +10k 2>/dev/null)" ] && break
    sleep 0.05
done
nspool=$(find "$H/uploads" -name 'upload-*' | wc -l)
kill -9 "$SPID"
wait "$SPID" 2>/dev/null
wait $ph $ps 2>/dev/null
"$TP" --home "$H" fsck >"$T/fsck.out" 2>&1
st=$?
[ $st -eq 0 ] && ok "serve: SIGKILL between store and catalog -> fsck clean" || notok "serve: fsck after SIGKILL" "$(tail -n 3 "$T/fsck.out" | tr '\n' ' ')"
n2=$("$TP" --home "$H" ls --json | grep -c '"id":')
[ "$n2" = "$nassets" ] && ok "serve: the killed uploads left no catalog row" || notok "serve: rows after kill" "$n2 vs $nassets"

# ---- an original recompressed to JPEG XL and released: rebuilt bit-exact, checked ----
HJ=$T/jxlhome
F=photo-nikon-d40-1000x665-exif.jpg
"$TP" --home "$HJ" ingest "$SAMPLES/$F" >/dev/null 2>&1
"$TP" --home "$HJ" run --policy "${TP_ROOT:-.}/policies/lossless.yaml" --now 2040-01-01 >"$T/run.out" 2>&1
"$TP" --home "$HJ" gc --now 2041-01-01 --orphan-grace 0s >/dev/null 2>&1
ob=$("$TP" --home "$HJ" ls --json | "$PY" -c 'import json,sys; a=json.loads(sys.stdin.readline()); print(a["original_blob"], a["current_blob"] != a["sha256"])')
H0=$H
H=$HJ
start_server "$T/sj.log" || notok "serve: start (jxl home)"
code=$(curl -s -o "$T/rebuilt.jpg" -D "$T/rebuilt.h" -w '%{http_code}' "$URL/v1/assets/1/original")
kill -TERM "$SPID"
wait "$SPID"
H=$H0
[ "$ob" = "None True" ] && [ "$code" = 200 ] && cmp -s "$T/rebuilt.jpg" "$SAMPLES/$F" && grep -qi '^content-type: image/jpeg' "$T/rebuilt.h" &&
    grep -qi "^etag: \"$(sha256sum "$SAMPLES/$F" | cut -c1-64)\"" "$T/rebuilt.h" &&
    ok "serve: an original released after JPEG XL recompression is rebuilt bit-exact (ETag = its sha256)" ||
    notok "serve: rebuilt original" "ob=$ob code=$code $(tail -n 2 "$T/run.out")"

# ---- only a lossy representation left (the original released): served as stored, streamed ----
HL=$T/lossyhome
F=photo-500x500-gray8.png
"$TP" --home "$HL" ingest "$SAMPLES/$F" >/dev/null 2>&1
printf 'version: 1\ntiers:\n  - name: cold\n    match: {age_days: {min: 365}}\n    transcode: {mode: lossy, codecs: [avif], ssim: 0.9, min_saving: 0.05}\n    original: {delete_after_days: 0}\n' >"$T/lossy.yaml"
"$TP" --home "$HL" run --policy "$T/lossy.yaml" --now 2040-01-01 >"$T/lrun.out" 2>&1
"$TP" --home "$HL" gc --now 2041-01-01 --orphan-grace 0s >/dev/null 2>&1
cur=$("$TP" --home "$HL" ls --json | "$PY" -c 'import json,sys; a=json.loads(sys.stdin.readline()); r=[r for r in a["renditions"] if r["blob"] == a["current_blob"]]; print(a["original_blob"], a["current_blob"], r[0]["bytes"] if r else "-")')
set -- $cur
H0=$H
H=$HL
start_server "$T/sl.log" || notok "serve: start (lossy home)"
code=$(curl -s -o "$T/lossy.avif" -D "$T/lossy.h" -w '%{http_code}' "$URL/v1/assets/1/original")
code2=$(curl -s -o /dev/null -w '%{http_code}' -r 0-99 "$URL/v1/assets/1/original")
kill -TERM "$SPID"
wait "$SPID"
H=$H0
[ "$1" = None ] && [ "$code $code2" = "200 206" ] && [ "$(sha256sum <"$T/lossy.avif" | cut -c1-64)" = "$2" ] &&
    [ "$(wc -c <"$T/lossy.avif")" = "$3" ] && grep -qi '^content-type: image/avif' "$T/lossy.h" && grep -qi "^etag: \"$2\"" "$T/lossy.h" &&
    ok "serve: an original released after a lossy AVIF swap serves the AVIF as stored (its ETag, type, Range)" ||
    notok "serve: lossy current" "cur=$cur code=$code $code2 $(tail -n 2 "$T/lrun.out" | tr '\n' ' ')"

# ---- ?proxies=async: stored and queued (202), catalogued by a batch run later ----
HA=$T/asynchome
F=photo-panasonic-gf1-640x428-exif-orient6.jpg
fsha=$(sha256sum "$SAMPLES/$F" | cut -c1-64)
H0=$H
H=$HA
start_server "$T/sa.log" || notok "serve: start (async home)"
code=$(curl -s -o "$T/async.json" -w '%{http_code}' -H "X-File-Name: $F" --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async")
code2=$(curl -s -o "$T/async2.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async")
code3=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=later")
nl=$(curl -s "$URL/v1/assets" | grep -c '"id":')
[ "$code" = 202 ] && [ "$(jget "$T/async.json" sha256)" = "$fsha" ] && [ "$(jget "$T/async.json" new_job)" = true ] &&
    [ "$code2" = 202 ] && [ "$(jget "$T/async2.json" new_job)" = false ] && [ "$code3" = 400 ] && [ "$nl" = 0 ] &&
    ok "serve: ?proxies=async -> 202 with the sha256, one ingest job, nothing catalogued yet" ||
    notok "serve: async upload" "$code $code2 $code3 list=$nl $(cat "$T/async.json")"
q=$("$TP" --home "$HA" jobs --state queued --json 2>/dev/null | grep -c '"policy_sha256":"ingest"')
[ "$q" = 1 ] && [ -f "$HA/blobs/$(echo "$fsha" | cut -c1-2)/$(echo "$fsha" | cut -c3-4)/$fsha" ] &&
    ok "serve: the async upload is in the store with one queued ingest job" || notok "serve: async job" "queued $q"
"$TP" --home "$HA" run --policy "${TP_ROOT:-.}/tests/policies/run.yaml" --now 2020-01-01 >"$T/arun.out" 2>&1
code=$(curl -s -o "$T/aget.json" -w '%{http_code}' "$URL/v1/assets/1")
nr=$(grep -o '"name":"\(thumb\|preview\)"' "$T/aget.json" | wc -l)
[ "$code" = 200 ] && [ "$(jget "$T/aget.json" sha256)" = "$fsha" ] && [ "$nr" = 2 ] &&
    [ "$("$TP" --home "$HA" jobs --state queued --json 2>/dev/null | grep -c '"policy_sha256":"ingest"')" = 0 ] &&
    ok "serve: after a run drained the queue, GET serves the asset with its thumb and preview" ||
    notok "serve: asset after the run" "$code $nr $(tail -n 3 "$T/arun.out" | tr '\n' ' ')"
kill -TERM "$SPID"
wait "$SPID"

# ---- ?proxies=async for every account: the job records the uploader's account ----
H=$T/asynchome2
mkdir -p "$H"
start_server "$T/sa2.log" --tokens "$T/tokens" || notok "serve: start (async home, tokens)"
BOB="Authorization: Bearer $TOK_B"
code=$(c -o "$T/aa.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async")
code2=$(curl -s -H "$BOB" -o "$T/ab.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async")
code3=$(c -o "$T/aa2.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async")
[ "$code $code2 $code3" = "202 202 202" ] && [ "$(jget "$T/aa.json" new_job)" = true ] &&
    [ "$(jget "$T/ab.json" new_job)" = true ] && [ "$(jget "$T/aa2.json" new_job)" = false ] &&
    ok "serve: async uploads of the same bytes by two accounts -> one job each (a repeat queues none)" ||
    notok "serve: async per account" "$code $code2 $code3 $(cat "$T/aa.json" "$T/ab.json")"
ja=$(jget "$T/aa.json" id)
jb=$(jget "$T/ab.json" id)
loc=$(c -D - -o /dev/null --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
[ "$(jget "$T/aa.json" status_url)" = "/v1/jobs/$ja" ] && [ "$(jget "$T/aa2.json" id)" = "$ja" ] && [ "$jb" != "$ja" ] &&
    [ "$loc" = "/v1/jobs/$ja" ] && [ "$(jget "$T/aa.json" state)" = queued ] && [ "$(jget "$T/aa.json" asset_url)" = None ] &&
    ok "serve: the 202 carries the job id and its status URL (also as Location); a repeat names the same job" ||
    notok "serve: 202 job id" "$ja $jb loc=$loc $(cat "$T/aa.json")"
code=$(c -o "$T/ja.json" -w '%{http_code}' "$URL/v1/jobs/$ja")
code2=$(curl -s -H "$BOB" -o "$T/jab.json" -w '%{http_code}' "$URL/v1/jobs/$ja")
code3=$(curl -s -H "$BOB" -o "$T/jmiss.json" -w '%{http_code}' "$URL/v1/jobs/999999")
code4=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/jobs/$ja")
[ "$code $code2 $code3 $code4" = "200 404 404 401" ] && [ "$(jget "$T/ja.json" state)" = queued ] &&
    [ "$(jget "$T/ja.json" attempts)" = 0 ] && [ "$(jget "$T/ja.json" sha256)" = "$fsha" ] && cmp -s "$T/jab.json" "$T/jmiss.json" &&
    ok "serve: GET /v1/jobs/ID: queued, 0 attempts; another account's job answers exactly like a missing one" ||
    notok "serve: job status" "$code $code2 $code3 $code4 $(cat "$T/ja.json")"
# a file tierpress cannot read: its job fails permanently, with the reason
head -c 3000 /dev/urandom >"$T/noise.bin"
jn=$(c --data-binary @"$T/noise.bin" "$URL/v1/assets?proxies=async" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$TP" --home "$H" run --policy "${TP_ROOT:-.}/tests/policies/run.yaml" --now 2020-01-01 >"$T/arun2.out" 2>&1
c -o "$T/ja2.json" "$URL/v1/jobs/$ja"
c -o "$T/jn.json" "$URL/v1/jobs/$jn"
aid=$(jget "$T/ja2.json" asset_id)
code=$(c -o "$T/jasset.json" -w '%{http_code}' "$URL$(jget "$T/ja2.json" asset_url)")
[ "$(jget "$T/ja2.json" state)" = done ] && [ "$(jget "$T/ja2.json" attempts)" = 1 ] && [ "$code" = 200 ] &&
    [ "$(jget "$T/jasset.json" id)" = "$aid" ] && [ "$(jget "$T/jasset.json" owner)" = alice ] &&
    ok "serve: once a worker ran it, the job is done and links the asset it made (alice's)" ||
    notok "serve: job done" "$code $(cat "$T/ja2.json") $(tail -n 3 "$T/arun2.out" | tr '\n' ' ')"
[ "$(jget "$T/jn.json" state)" = failed ] && [ "$(jget "$T/jn.json" error_permanent)" = true ] &&
    [ "$(jget "$T/jn.json" asset_url)" = None ] && [ -n "$(jget "$T/jn.json" error)" ] &&
    ok "serve: an unreadable async upload: its job failed (permanent) with the reason" ||
    notok "serve: failed job" "$(cat "$T/jn.json")"
c "$URL/v1/assets" >"$T/alist.json"
curl -s -H "$BOB" "$URL/v1/assets" >"$T/blist.json"
owners=$("$PY" -c 'import json,sys
a, b = (json.load(open(f))["assets"] for f in sys.argv[1:3])
print(len(a), len(b), a[0]["owner"], b[0]["owner"], a[0]["id"] != b[0]["id"], a[0]["sha256"] == b[0]["sha256"] == sys.argv[3],
      len(a[0]["renditions"]) >= 2)' "$T/alist.json" "$T/blist.json" "$fsha" 2>&1)
[ "$owners" = "1 1 alice bob True True True" ] &&
    ok "serve: the worker catalogs each async upload for its uploader's account (alice's and bob's assets)" ||
    notok "serve: async owners" "$owners $(tail -n 3 "$T/arun2.out" | tr '\n' ' ')"
async_keeps "async" "$AUTH"
kill -TERM "$SPID"
wait "$SPID"
H=$H0

# ---- owners, trash and restore (a third server, tokens again) ----
start_server "$T/s3.log" --tokens "$T/tokens" --signing-key "$T/key" || { notok "serve: start 3"; exit 1; }
left=$(find "$H/uploads" -name 'upload-*' | wc -l)
[ "$nspool" -ge 1 ] && [ "$left" = 0 ] && ok "serve: a spool of a killed mid-body upload is removed at the next start" ||
    notok "serve: spool cleanup" "$nspool spooled, $left left"
F=photo-panasonic-gf1-640x428-exif-orient6.jpg
ida=$(jget "$T/$F.json" id)
code=$(curl -s -H "$BOB" -o "$T/b404.json" -w '%{http_code}' "$URL/v1/assets/$ida")
code2=$(curl -s -H "$BOB" -o "$T/m404.json" -w '%{http_code}' "$URL/v1/assets/999999")
[ "$code" = 404 ] && [ "$code2" = 404 ] && cmp -s "$T/b404.json" "$T/m404.json" &&
    ok "serve: another owner's asset answers exactly like a missing one (404)" || notok "serve: owner isolation" "$code $code2"
code=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' "$URL/v1/assets/$ida/original")
code2=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/assets/$ida")
[ "$code" = 404 ] && [ "$code2" = 404 ] && ok "serve: another owner cannot read or delete it" || notok "serve: owner read/delete" "$code $code2"
# bob uploads alice's bytes: a new asset for bob (201, like new content), blobs shared
nblobs=$(find "$H/blobs" -path "$H/blobs/tmp" -prune -o -type f -print | wc -l)
code=$(curl -s -H "$BOB" -o "$T/bob.json" -w '%{http_code}' -H "X-File-Name: mine.jpg" -H "X-External-Id: b-42" \
    --data-binary @"$SAMPLES/$F" "$URL/v1/assets")
idb=$(jget "$T/bob.json" id)
nblobs2=$(find "$H/blobs" -path "$H/blobs/tmp" -prune -o -type f -print | wc -l)
[ "$code" = 201 ] && [ "$idb" != "$ida" ] && [ "$(jget "$T/bob.json" owner)" = bob ] &&
    [ "$(jget "$T/bob.json" file_name)" = mine.jpg ] && [ "$(jget "$T/bob.json" external_id)" = b-42 ] &&
    ok "serve: same bytes from another owner -> 201, a new asset (no dedup side channel)" || notok "serve: cross-owner upload" "$code $idb $ida"
[ "$nblobs2" = "$nblobs" ] && ok "serve: ... and its blobs are stored once ($nblobs files)" || notok "serve: blobs shared" "$nblobs -> $nblobs2"
nlist=$(curl -s -H "$BOB" "$URL/v1/assets" | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["assets"]))')
[ "$nlist" = 1 ] && ok "serve: bob's listing holds only his asset" || notok "serve: list scoped" "$nlist"
# keyset pages: walked by "next", they hold the whole listing once, in id order
cat >"$T/pages.py" <<'PYEOF'
import json, subprocess, sys
url, auth, limit = sys.argv[1], sys.argv[2], sys.argv[3]
get = lambda u: json.loads(subprocess.run(["curl", "-s", "-H", auth, url + u], capture_output=True).stdout)
whole = [a["id"] for a in get("/v1/assets?limit=1000")["assets"]]
ids, nxt, pages, sizes = [], "/v1/assets?limit=" + limit, 0, set()
while nxt and pages < 1000:
    p = get(nxt)
    ids += [a["id"] for a in p["assets"]]
    sizes.add(len(p["assets"]))
    nxt, pages = p["next"], pages + 1
ok = ids == whole and ids == sorted(set(ids)) and max(sizes) <= int(limit) and len(whole) > int(limit)
print("pages" if ok else "bad: %d pages %s vs %s" % (pages, ids, whole))
PYEOF
pg=$("$PY" "$T/pages.py" "$URL" "$AUTH" 3 2>&1)
bad1=$(c -o /dev/null -w '%{http_code}' "$URL/v1/assets?limit=0")
bad2=$(c -o /dev/null -w '%{http_code}' "$URL/v1/assets?limit=1001")
bad3=$(c -o /dev/null -w '%{http_code}' "$URL/v1/assets?after=x")
[ "$pg" = pages ] && [ "$bad1 $bad2 $bad3" = "400 400 400" ] &&
    ok "serve: GET /v1/assets?limit=3 pages (keyset, next link) hold the whole listing once, in order; bad limits -> 400" ||
    notok "serve: list pages" "$pg $bad1 $bad2 $bad3"
# trash: bob deletes his; alice's copy and the shared blobs stay; restore brings it back
code=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/assets/$idb")
code2=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' "$URL/v1/assets/$idb")
code3=$(c -o /dev/null -w '%{http_code}' "$URL/v1/assets/$ida/original")
[ "$code" = 204 ] && [ "$code2" = 404 ] && [ "$code3" = 200 ] && ok "serve: DELETE -> 204, then 404; the other owner's copy stays" ||
    notok "serve: delete" "$code $code2 $code3"
code=$(curl -s -H "$BOB" -o "$T/rest.json" -w '%{http_code}' -X POST "$URL/v1/assets/$idb/restore")
code2=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' "$URL/v1/assets/$idb/original")
[ "$code" = 200 ] && [ "$code2" = 200 ] && ok "serve: restore from the trash -> 200, readable again" || notok "serve: restore" "$code $code2"
curl -s -H "$BOB" -o /dev/null -X DELETE "$URL/v1/assets/$idb"
kill -TERM "$SPID"
wait "$SPID"
st=$?
[ $st -eq 0 ] && ! grep -q "AddressSanitizer\|runtime error\|LeakSanitizer" "$T/s1.log.err" "$T/s3.log.err" &&
    ok "serve: servers exit 0 on SIGTERM, no sanitizer reports" || notok "serve: exit" "status $st $(grep -h Sanitizer "$T"/s*.log.err | head -n 2)"
# gc after the trash grace removes bob's asset; alice's blobs stay, fsck clean
"$TP" --home "$H" gc --trash-grace 1d --orphan-grace 0s --json >"$T/gc0.json"
"$TP" --home "$H" gc --trash-grace 1d --orphan-grace 0s --now "$(date -u -d '+2 days' +%Y-%m-%dT%H:%M:%SZ)" --json >"$T/gc.json"
gone=$("$TP" --home "$H" ls --json --owner bob | grep -c '"id":')
"$TP" --home "$H" fsck >"$T/fsck2.out" 2>&1
st=$?
[ "$(jget "$T/gc0.json" trash_deleted)" = 0 ] && [ "$(jget "$T/gc.json" trash_deleted)" = 1 ] && [ "$gone" = 0 ] && [ $st -eq 0 ] &&
    cmp -s "$SAMPLES/$F" "$T/orig" && "$TP" --home "$H" get "$ida" -o "$T/orig2" && cmp -s "$T/orig2" "$SAMPLES/$F" &&
    ok "serve: gc removes the trash after its grace, keeps the shared blobs, fsck clean" ||
    notok "serve: gc trash" "$(cat "$T/gc0.json" "$T/gc.json") gone=$gone fsck=$st $(tail -n 2 "$T/fsck2.out")"

# ---- the same service over a PostgreSQL catalog (when a server is given) ----
if [ -n "${TP_TEST_PG:-}" ] && have psql; then
    DB=tp_serve_$$
    if pg_home "$DB" "$T/pghome"; then
        if start_server "$T/pg.log" --tokens "$T/tokens"; then
            F=photo-iphone4s-180x135-exif-gps.jpg
            code=$(c -o "$T/pa.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets")
            code2=$(curl -s -H "$BOB" -o "$T/pb.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets")
            code3=$(c -o /dev/null -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets")
            pa=$(jget "$T/pa.json" id)
            pb=$(jget "$T/pb.json" id)
            code4=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' "$URL/v1/assets/$pa")
            code5=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' -X DELETE "$URL/v1/assets/$pb")
            code6=$(curl -s -H "$BOB" -o /dev/null -w '%{http_code}' -X POST "$URL/v1/assets/$pb/restore")
            code7=$(c -o "$T/po" -w '%{http_code}' "$URL/v1/assets/$pa/original")
            [ "$code $code2 $code3 $code4 $code5 $code6 $code7" = "201 201 200 404 204 200 200" ] && [ "$pa" != "$pb" ] &&
                cmp -s "$T/po" "$SAMPLES/$F" &&
                ok "serve: on PostgreSQL: uploads, per-owner dedup, isolation, trash/restore, original" ||
                notok "serve: on PostgreSQL" "$code $code2 $code3 $code4 $code5 $code6 $code7 ($pa $pb)"
            c -o /dev/null --data-binary @"$SAMPLES/photo-rose-lossy.webp" "$URL/v1/assets"
            pg=$("$PY" "$T/pages.py" "$URL" "$AUTH" 1 2>&1)
            [ "$pg" = pages ] && ok "serve: on PostgreSQL: keyset pages of the owner's assets" || notok "serve: pg pages" "$pg"
            kill -TERM "$SPID"
            wait "$SPID"
        else
            notok "serve: start on PostgreSQL"
        fi
        "$TP" --home "$H" fsck >"$T/pgfsck" 2>&1 && ok "serve: on PostgreSQL: fsck clean" || notok "serve: pg fsck" "$(tail -n 2 "$T/pgfsck")"
        # ?proxies=async over PostgreSQL (no tokens: the default owner), drained by a run
        if start_server "$T/pga.log"; then
            F=photo-rose-lossy.webp
            code=$(curl -s -o "$T/pga.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets?proxies=async")
            "$TP" --home "$H" run --policy "${TP_ROOT:-.}/tests/policies/run.yaml" --now 2020-01-01 >"$T/pgarun.out" 2>&1
            curl -s "$URL/v1/assets" >"$T/pgalist.json"
            kill -TERM "$SPID"
            wait "$SPID"
            [ "$code" = 202 ] && grep -q "\"sha256\":\"$(sha256sum "$SAMPLES/$F" | cut -c1-64)\"" "$T/pgalist.json" &&
                ok "serve: on PostgreSQL: an async upload is catalogued by the next run" ||
                notok "serve: pg async" "$code $(tail -n 2 "$T/pgarun.out" | tr '\n' ' ')"
            if start_server "$T/pga2.log"; then
                async_keeps "on PostgreSQL" "X-Trace: none"
                # a streamed GET that the client stops reading holds a store
                # handle, not a catalog handle: the next request reuses the
                # pooled home (no further PostgreSQL connection)
                { cat "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg"; head -c 33554432 /dev/urandom; } >"$T/huge.jpg"
                code=$(curl -s -o "$T/huge.json" -w '%{http_code}' --data-binary @"$T/huge.jpg" "$URL/v1/assets")
                hid=$(jget "$T/huge.json" id)
                curl -s -o /dev/null "$URL/v1/assets/$hid"
                n1=$($PSQL "$TP_TEST_PG" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'")
                rm -f "$T/stall.ready" "$T/stall.done"
                "$PY" - "$URL" "/v1/assets/$hid/original" "$T/stall" <<'PYEOF' &
import socket, sys, time, urllib.parse
u = urllib.parse.urlparse(sys.argv[1])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((u.hostname, u.port))
s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2]).encode())
got = b""
while b"\r\n\r\n" not in got:
    got += s.recv(1024)
open(sys.argv[3] + ".ready", "w").write(got.split(b"\r\n")[0].decode())
while True:  # stop reading until told to go
    try:
        open(sys.argv[3] + ".done").close()
        break
    except OSError:
        time.sleep(0.05)
s.close()
PYEOF
                STALL=$!
                i=0
                while [ ! -s "$T/stall.ready" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
                code2=$(curl -s -o "$T/hj.json" -w '%{http_code}' "$URL/v1/assets/$hid")
                n2=$($PSQL "$TP_TEST_PG" -c "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB' AND backend_type = 'client backend'")
                act=$($PSQL "$TP_TEST_PG" -c "SELECT pid, backend_type, state, left(query, 60) FROM pg_stat_activity WHERE datname = '$DB'" | tr '\n' ' ')
                touch "$T/stall.done"
                wait "$STALL"
                [ "$code $code2" = "201 200" ] && grep -q "^HTTP/1.1 200" "$T/stall.ready" && [ "$n1" -ge 1 ] && [ "$n2" = "$n1" ] &&
                    ok "serve: on PostgreSQL: a stalled streamed GET holds no catalog connection ($n1 before, $n2 during)" ||
                    notok "serve: pg stalled stream" "$code $code2 $(cat "$T/stall.ready" 2>/dev/null) connections $n1 -> $n2: $act"
                kill -TERM "$SPID"
                wait "$SPID"
            else
                notok "serve: restart on PostgreSQL (no tokens)"
            fi
        else
            notok "serve: start on PostgreSQL (no tokens)"
        fi
        $PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    else
        notok "serve: create database $DB"
    fi
else
    skip "serve: on PostgreSQL" "TP_TEST_PG is not set"
fi

# ---- Idempotency-Key answers across a restart, and across two servers on
# one PostgreSQL catalog (kept in the catalog, issue 14) ----
H=$T/idemhome
mkdir -p "$H"
idem_restart "SQLite" "$T/ir.log" --tokens "$T/tokens"
if [ -n "${TP_TEST_PG:-}" ] && have psql; then
    DB=tp_serve_idem_$$
    if pg_home "$DB" "$T/pgidem"; then
        idem_restart "on PostgreSQL" "$T/pgi.log" --tokens "$T/tokens"
        # two servers of a fleet on the one catalog: a key used on A, retried on B
        if start_server "$T/pgA.log" --tokens "$T/tokens"; then
            UA=$URL
            PA=$SPID
            if start_server "$T/pgB.log" --tokens "$T/tokens"; then
                UB=$URL
                F=photo-500x500-gray8.png
                G=photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
                k1=$(c -o "$T/fa1.json" -w '%{http_code}' -H "Idempotency-Key: fk-1" --data-binary @"$SAMPLES/$F" "$UA/v1/assets")
                k3=$(c -o "$T/fb2.json" -w '%{http_code}' -H "Idempotency-Key: fk-1" --data-binary @"$SAMPLES/$G" "$UB/v1/assets")
                k2=$(c -o "$T/fb1.json" -w '%{http_code}' -H "Idempotency-Key: fk-1" --data-binary @"$SAMPLES/$F" "$UB/v1/assets")
                k4=$(c -o "$T/fa3.json" -w '%{http_code}' -H "Idempotency-Key: fk-2" --data-binary @"$SAMPLES/$G" "$UA/v1/assets?proxies=async")
                k5=$(c -o "$T/fb3.json" -w '%{http_code}' -H "Idempotency-Key: fk-2" --data-binary @"$SAMPLES/$G" "$UB/v1/assets?proxies=async")
                [ "$k1 $k2 $k3 $k4 $k5" = "201 201 422 202 202" ] && [ -n "$(jget "$T/fa1.json" id)" ] &&
                    [ "$(jget "$T/fb1.json" id)" = "$(jget "$T/fa1.json" id)" ] &&
                    [ "$(jget "$T/fb3.json" id)" = "$(jget "$T/fa3.json" id)" ] && [ "$(jget "$T/fb3.json" new_job)" = true ] &&
                    ok "serve: on PostgreSQL: an Idempotency-Key used on one server gets its answer from another (201 same asset; 422; same job)" ||
                    notok "serve: on PostgreSQL: idempotency across servers" "$k1 $k2 $k3 $k4 $k5 $(cat "$T/fa1.json" "$T/fb1.json")"
                kill -TERM "$SPID"
                wait "$SPID"
            else
                notok "serve: on PostgreSQL: start a second server"
            fi
            kill -TERM "$PA"
            wait "$PA"
        else
            notok "serve: on PostgreSQL: start for two servers"
        fi
        $PSQL "$TP_TEST_PG" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    else
        notok "serve: create database $DB"
    fi
fi

# ---- the same service over an S3 store (when scripts/s3-up's server is given) ----
if [ -n "${TP_S3_ENDPOINT:-}" ] && [ -n "${TP_S3_BUCKET:-}" ] && [ -n "${TP_S3_ACCESS_KEY:-}" ]; then
    H=$T/s3home
    mkdir -p "$H"
    printf 'store: s3://%s/t_serve-%s-%s\ns3:\n  endpoint_url: %s\n  storage_classes: false\n' \
        "$TP_S3_BUCKET" "$$" "$(date +%s)" "$TP_S3_ENDPOINT" >"$H/tierpress.yaml"
    if AWS_ACCESS_KEY_ID=$TP_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$TP_S3_SECRET_KEY AWS_REGION=${TP_S3_REGION:-us-east-1} \
        start_server "$T/s3s.log" --tokens "$T/tokens"; then
        F=photo-panasonic-gf1-640x428-exif-orient6.jpg
        code=$(c -o "$T/sa.json" -w '%{http_code}' --data-binary @"$SAMPLES/$F" "$URL/v1/assets")
        sid=$(jget "$T/sa.json" id)
        code2=$(c -o "$T/so" -w '%{http_code}' "$URL/v1/assets/$sid/original")
        code3=$(c -o "$T/st.webp" -w '%{http_code}' "$URL/v1/assets/$sid/renditions/thumb")
        code4=$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")
        [ "$code $code2 $code3 $code4" = "201 200 200 200" ] && cmp -s "$T/so" "$SAMPLES/$F" && [ -s "$T/st.webp" ] &&
            ok "serve: on an S3 store: upload, original bit-exact, rendition, readyz" ||
            notok "serve: on S3" "$code $code2 $code3 $code4 $(tail -n 2 "$T/s3s.log.err")"
        kill -TERM "$SPID"
        wait "$SPID"
    else
        notok "serve: start on S3"
    fi
else
    skip "serve: on an S3 store" "TP_S3_ENDPOINT is not set (scripts/s3-up)"
fi
