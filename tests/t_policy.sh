#!/bin/sh
# tierpress policy check / explain: the example policies load, every broken
# policy in tests/policies/bad/ gets its error at the exact line:column
# (recorded on the file's first line as "# expect: L:C: message"), and
# explain picks the expected tier and says why.
. "$(dirname "$0")/lib.sh"
cd "${TP_ROOT:-.}" || exit 2

# --- the shipped policies -------------------------------------------------
for p in policies/*.yaml; do
    out=$("$TP" policy check "$p" 2>&1)
    st=$?
    n=$(grep -c '^  - name:' "$p")
    if [ $st -eq 0 ] && echo "$out" | grep -qxF "$p: ok ($n tiers)"; then ok "check $p"
    else notok "check $p" "status $st: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; fi
done

# --- broken policies: exact position and message, status 1 ----------------
nbad=0
for f in tests/policies/bad/*.yaml; do
    nbad=$((nbad + 1))
    expect=$(sed -n '1s/^# expect: //p' "$f")
    if [ -z "$expect" ]; then notok "bad $f" "no '# expect:' line"; continue; fi
    out=$("$TP" policy check "$f" 2>&1)
    st=$?
    if [ $st -ne 1 ]; then notok "bad $f" "status $st (want 1): $out"
    elif ! echo "$out" | grep -qF "$f:$expect"; then notok "bad $f" "want '$f:$expect', got: $(echo "$out" | head -n 3 | tr '\n' ' ')"
    elif echo "$out" | grep -q ': ok ('; then notok "bad $f" "also said ok"
    else ok "bad $f -> $expect"; fi
done
if [ $nbad -ge 12 ]; then ok "at least 12 broken policies ($nbad)"; else notok "at least 12 broken policies" "$nbad"; fi

# JSON carries the same position.
"$TP" policy check --json tests/policies/bad/unknown-key.yaml >"$T/bad.json" 2>&1
st=$?
if [ $st -eq 1 ] && "$PY" -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
e = o["errors"][0]
assert o["ok"] is False and e["line"] == 10 and e["column"] == 7, o
assert "did you mean '"'"'ssim'"'"'" in e["message"], e
' "$T/bad.json" 2>"$T/err"; then ok "check --json reports line/column"
else notok "check --json reports line/column" "status $st: $(cat "$T/bad.json" "$T/err" | head -c 300)"; fi

# One bad file among good ones: exit 1, the good one still reported ok.
out=$("$TP" policy check policies/default.yaml tests/policies/bad/version.yaml 2>&1)
st=$?
if [ $st -eq 1 ] && echo "$out" | grep -qF "policies/default.yaml: ok (" &&
   echo "$out" | grep -qF "bad/version.yaml:2:10:"; then ok "check several files"
else notok "check several files" "status $st: $out"; fi

check_fails "check a missing file" "$TP" policy check "$T/nope.yaml"

# --- explain: the tier picked, and why --------------------------------------
NOW=2027-06-01
# tier POLICY FACTS WANT: explain --json must pick tier WANT ("null" = unmatched)
tier() {
    "$TP" policy explain "$1" --now $NOW --facts "$2" --json >"$T/ex.json" 2>"$T/ex.err"
    st=$?
    got=$(jget "$T/ex.json" tier 2>/dev/null)
    [ "$got" = "None" ] && got=null
    if [ $st -eq 0 ] && [ "$got" = "$3" ]; then ok "explain $(basename "$1") -> $3 ($2)"
    else notok "explain $(basename "$1") $2" "want $3, got '$got' (status $st) $(head -c 200 "$T/ex.err")"; fi
}
OLDJPEG=kind=image,format=jpeg,bytes=3MB,width=4000,height=3000,capture=2024-05-01,upload=2024-06-01
tier policies/default.yaml "$OLDJPEG,access=-10d" hot
tier policies/default.yaml "$OLDJPEG,access=never,upload=-20d" hot           # new upload of an old photo
tier policies/default.yaml "kind=image,format=jpeg,capture=-100d,upload=-90d" young
tier policies/default.yaml "$OLDJPEG,access=-200d,count_365d=1" cold-jpeg
tier policies/default.yaml "$OLDJPEG,access=-200d,count_365d=9" null         # viewed too often
tier policies/default.yaml "$OLDJPEG,format=png,access=-400d" cold-other
tier policies/default.yaml "$OLDJPEG,format=gif,access=-400d" null           # gif: no tier
tier policies/default.yaml "kind=video,format=video,upload=-900d,access=-300d" cold-video
tier policies/default.yaml "kind=image,format=jpeg,capture=never,upload=-400d,access=-200d" cold-jpeg
tier policies/saver.yaml "$OLDJPEG,access=-800d" deep
tier policies/saver.yaml "$OLDJPEG,access=-100d,count_90d=2" cold
tier policies/lossless.yaml "$OLDJPEG,format=tiff,access=-100d" raster
tier policies/archive.yaml "$OLDJPEG,capture=2020-01-01,access=2023-01-01" deep
tier policies/archive.yaml "$OLDJPEG,access=-10d" active
tier policies/archive.yaml "$OLDJPEG,access=-100d" warm

# The text output names the failing condition with the asset's values.
out=$("$TP" policy explain policies/default.yaml --now $NOW --facts "$OLDJPEG,access=-200d,count_365d=9" 2>&1)
if echo "$out" | grep -qF "NO  accesses in the last 365 days = 9, needs <= 3" &&
   echo "$out" | grep -qF "NO  days_since_access = 200, needs <= 60" &&
   echo "$out" | grep -qF -- "-> unmatched"; then ok "explain says why (text)"
else notok "explain says why (text)" "$(echo "$out" | head -n 20 | tr '\n' '|')"; fi

# A real file: its own EXIF capture date and size; uploaded now, so hot.
f=$SAMPLES/photo-nikon-d40-1000x665-exif.jpg
"$TP" policy explain policies/default.yaml "$f" --now 2030-01-01 --json >"$T/f.json" 2>&1
if [ "$(jget "$T/f.json" tier)" = hot ] && [ "$(jget "$T/f.json" age_from)" = capture ] &&
   "$PY" -c 'import json,sys,os; o=json.loads(open(sys.argv[1]).readline()); f=o["facts"]
assert f["bytes"] == os.path.getsize(sys.argv[2]) and (f["width"], f["height"]) == (1000, 665), f
assert f["format"] == "jpeg" and f["kind"] == "image" and o["age_days"] > 365, o' "$T/f.json" "$f"
then ok "explain a file uses its own metadata"
else notok "explain a file uses its own metadata" "$(head -c 300 "$T/f.json")"; fi
"$TP" policy explain policies/default.yaml "$f" --now 2030-01-01 --facts upload=-2000d --json >"$T/f2.json" 2>&1
if [ "$(jget "$T/f2.json" tier)" = cold-jpeg ]; then ok "explain a file with --facts overrides"
else notok "explain a file with --facts overrides" "$(head -c 300 "$T/f2.json")"; fi

# Bad arguments are usage errors, not crashes.
"$TP" policy explain policies/default.yaml --now yesterday --facts kind=image >/dev/null 2>&1
st=$?; [ $st -eq 2 ] && ok "bad --now is a usage error" || notok "bad --now is a usage error" "status $st"
out=$("$TP" policy explain policies/default.yaml --facts kind=image,colour=red 2>&1)
st=$?; if [ $st -eq 1 ] && echo "$out" | grep -q "unknown key 'colour'"; then ok "bad --facts key named"
else notok "bad --facts key named" "status $st: $out"; fi
check_fails "explain with a broken policy" "$TP" policy explain tests/policies/bad/unknown-codec.yaml --facts kind=image
check_fails "explain an unknown asset id" "$TP" policy explain policies/default.yaml no-such-asset-42

# JSON is valid UTF-8 whatever the bytes of a file name (ED A0 80: a UTF-16
# surrogate, invalid in UTF-8): check and explain print U+FFFD for them.
bad=$(printf '%s/p\355\240\200.yaml' "$T")
cp policies/default.yaml "$bad"
"$TP" policy check "$bad" --json >"$T/u1.json" 2>&1
"$TP" policy explain "$bad" --facts kind=image,format=jpeg --json >"$T/u2.json" 2>&1
if $PY -c '
import json, sys
for p, key in ((sys.argv[1], "file"), (sys.argv[2], "policy")):
    o = json.loads(open(p, "rb").read().decode("utf-8"))
    assert o[key].endswith("p\ufffd\ufffd\ufffd.yaml"), o[key]
' "$T/u1.json" "$T/u2.json"; then ok "policy check/explain --json: a file name with invalid UTF-8 gives valid UTF-8"
else notok "policy check/explain --json: invalid UTF-8 file name" "$(head -c 200 "$T/u1.json") $(head -c 200 "$T/u2.json")"; fi
