#!/bin/sh
# Near-duplicates (issue 18): a labelled set built from the samples
# (tests/tools/dups_set.py: each photo resized, re-encoded, converted,
# stripped, stored sideways with an EXIF orientation, cropped, brightened,
# watermarked; burst frames from two clips) is ingested; `dups --json`
# must find the variants (recall per kind, printed with precision), never
# group two different photos, and report burst frames as similar only.
# Then: the keeper and the bytes of the others, exact copies, ls --json,
# the policy condition, --backfill on a catalog without fingerprints, and
# the errors.
. "$(dirname "$0")/lib.sh"
cd "${TP_ROOT:-.}" || exit 2
H=$T/home

"$PY" tests/tools/dups_set.py samples "$T/set" || { notok "build the labelled set"; exit 0; }
"$TP" --home "$H" ingest "$T/set" --json >"$T/ingest.json" 2>"$T/ingest.err"
n=$(grep -c '"asset"' "$T/ingest.json")
want=$(wc -l <"$T/set/labels.tsv")
if [ "$n" -eq "$want" ]; then ok "ingest the labelled set ($n files)"
else notok "ingest the labelled set" "$n of $want: $(tail -n 2 "$T/ingest.err")"; fi

check "dups --json" sh -c "'$TP' --home '$H' dups --json >'$T/dups.json'"
"$PY" tests/tools/dups_eval.py "$T/set/labels.tsv" "$T/ingest.json" "$T/dups.json"

# the incremental path (ingest) recorded the same groups as the whole pass
"$PY" - "$T/ingest.json" "$T/dups.json" "$H/catalog.db" >"$T/inc.out" 2>&1 <<'PYEOF'
import json, sqlite3, sys
dups = {}
for l in open(sys.argv[2]):
    j = json.loads(l)
    if j.get("type") == "duplicate":
        for m in j["members"]:
            dups[m["id"]] = (j["group"], m["keeper"])
db = sqlite3.connect(sys.argv[3])
rows = {a: (g, k) for a, g, k in db.execute("SELECT asset_id, group_id, keeper FROM fingerprints")}
bad = [(a, rows[a], dups.get(a)) for a in rows if (rows[a][0] or None) != (dups.get(a, (None,))[0])
       or (rows[a][0] and bool(rows[a][1]) != dups[a][1])]
print("mismatch", bad[:5]) if bad else print("same")
PYEOF
if grep -qx same "$T/inc.out"; then ok "ingest's incremental groups equal the whole pass"
else notok "ingest's incremental groups equal the whole pass" "$(cat "$T/inc.out")"; fi

# the keeper has the highest resolution; the stripped copy is exact
id_of() { "$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    j=json.loads(l)
    if j.get("file","").endswith("/"+sys.argv[2]): print(j["asset"])' "$T/ingest.json" "$1"; }
orig=$(id_of nokia__orig.jpg)
strip=$(id_of nokia__strip.jpg)
small=$(id_of nokia__resize_512.jpg)
"$PY" - "$T/dups.json" "$orig" "$strip" "$small" >"$T/keep.out" <<'PYEOF'
import json, sys
o, s, r = (int(x) for x in sys.argv[2:5])
for l in open(sys.argv[1]):
    j = json.loads(l)
    ids = [m["id"] for m in j.get("members", [])]
    if j.get("type") == "duplicate" and o in ids:
        m = {x["id"]: x for x in j["members"]}
        others = sum(x["bytes"] for x in j["members"] if not x["keeper"])
        res = lambda x: x["width"] * x["height"]
        print("keeper", j["keeper"], "max_res", res(m[j["keeper"]]) == max(map(res, j["members"])))
        print("bytes_ok", others == j["bytes_others"])
        print("exact", m[o]["exact"], m[s]["exact"], m[r]["exact"])
PYEOF
if grep -q "^keeper [0-9]* max_res True" "$T/keep.out"; then ok "the keeper has the highest resolution"
else notok "the keeper has the highest resolution" "$(cat "$T/keep.out")"; fi
if grep -qx "bytes_ok True" "$T/keep.out"; then ok "bytes_others is the non-keepers' bytes"
else notok "bytes_others" "$(cat "$T/keep.out")"; fi
if grep -qx "exact True True False" "$T/keep.out"; then ok "the stripped copy and its original are exact duplicates"
else notok "exact duplicates" "$(cat "$T/keep.out")"; fi
"$TP" --home "$H" dups >"$T/dups.txt"
if grep -q "^exact (same pixels, other bytes):.* $strip" "$T/dups.txt" && grep -q '^similar' "$T/dups.txt"
then ok "text output lists exact duplicates and similar shots separately"
else notok "text output" "$(tail -n 5 "$T/dups.txt" | tr '\n' ' ')"; fi
check "dups --html" sh -c "'$TP' --home '$H' dups --html '$T/d.html' >/dev/null && grep -q 'Duplicate group' '$T/d.html'"

# ls --json shows the group
"$TP" --home "$H" ls --json >"$T/ls.json"
"$PY" - "$T/ls.json" "$small" "$orig" >"$T/ls.out" <<'PYEOF'
import json, sys
for l in open(sys.argv[1]):
    j = json.loads(l)
    if j["id"] in (int(sys.argv[2]), int(sys.argv[3])):
        print(j["id"], j.get("near_duplicate_group"), j.get("near_duplicate_keeper"))
PYEOF
g=$(awk -v a="$small" '$1 == a { print $2 }' "$T/ls.out")
if [ -n "$g" ] && [ "$g" != None ] && grep -q "^$small $g False" "$T/ls.out"; then ok "ls --json shows the group (non-keeper)"
else notok "ls --json shows the group" "$(cat "$T/ls.out")"; fi

# policy: near_duplicate: true sends non-keepers to a colder class, deletes
# nothing; simulate prices it
cat >"$T/nd.yaml" <<'YEOF'
version: 1
tiers:
  - name: dupes
    match:
      near_duplicate: true
    storage_class: GLACIER_IR
  - name: rest
    storage_class: STANDARD
YEOF
check "policy check near_duplicate" "$TP" policy check "$T/nd.yaml"
out=$("$TP" --home "$H" policy explain "$T/nd.yaml" "$small" 2>&1)
if echo "$out" | grep -q "^-> tier 'dupes'" && echo "$out" | grep -q "yes near_duplicate = true"; then ok "explain: a non-keeper falls in the near_duplicate tier"
else notok "explain non-keeper" "$out"; fi
keeper=$(sed -n 's/^keeper \([0-9]*\) .*/\1/p' "$T/keep.out")
out=$("$TP" --home "$H" policy explain "$T/nd.yaml" "$keeper" 2>&1)
if echo "$out" | grep -q "^-> tier 'rest'" && echo "$out" | grep -q "NO  near_duplicate = false"; then ok "explain: the keeper does not"
else notok "explain keeper" "$out"; fi
nond=$("$PY" -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("near_duplicate_keeper") is False))' "$T/ls.json")
"$TP" --home "$H" simulate --policy "$T/nd.yaml" --format json --sample 0 >"$T/sim.json" 2>"$T/sim.err"
simd=$("$PY" -c 'import json,sys
j=json.load(open(sys.argv[1]))
t=[x for x in j["tiers"] if x["name"]=="dupes"][0]
print(t["assets"], t["cost_after_month"] < t["cost_before_month"])' "$T/sim.json" 2>&1)
if [ "$simd" = "$nond True" ]; then ok "simulate prices the near_duplicate tier ($nond non-keepers, cheaper)"
else notok "simulate near_duplicate" "$(head -c 300 "$T/sim.json") $(tail -n 2 "$T/sim.err")"; fi

nassets=$("$TP" --home "$H" ls --json | wc -l)
"$TP" --home "$H" run --policy "$T/nd.yaml" --json >"$T/run.json" 2>&1
after=$("$TP" --home "$H" ls --json | wc -l)
cold=$("$TP" --home "$H" ls --json | grep -c '"storage_class":"GLACIER_IR"')
if [ "$after" -eq "$nassets" ] && [ "$cold" -eq "$nond" ] && [ "$cold" -gt 0 ]; then ok "run: $cold non-keepers moved to GLACIER_IR, nothing deleted"
else notok "run near_duplicate" "assets $nassets -> $after, cold $cold, non-keepers $nond: $(tail -n 2 "$T/run.json")"; fi

# many copies of one picture (other bytes, same pixels): each new copy
# joins the group after a bounded number of local checks (the keeper
# first), not one per member; a larger copy arriving later takes the keeper
H3=$T/home3
mkdir -p "$T/copies"
for i in $(seq 1 24); do
    { cat "$T/set/d40__resize_1024.jpg"; printf 'copy-%d' "$i"; } >"$T/copies/c$i.jpg"
done
"$TP" --home "$H3" -v -v ingest "$T/copies" >/dev/null 2>"$T/copies.log"
"$TP" --home "$H3" -v -v ingest "$T/set/d40__orig.jpg" >/dev/null 2>>"$T/copies.log"
big=$("$TP" --home "$H3" ls --json | "$PY" -c 'import json,sys
print(max((json.loads(l) for l in sys.stdin), key=lambda j: j["width"])["id"])')
res=$("$PY" - "$H3/catalog.db" "$T/copies.log" "$big" <<'PYEOF'
import collections, re, sqlite3, sys
rows = list(sqlite3.connect(sys.argv[1]).execute("SELECT asset_id, group_id, keeper FROM fingerprints"))
checks = collections.Counter(m.group(1) for m in re.finditer(r"asset (\d+): local check against", open(sys.argv[2]).read()))
groups = {g for _, g, _ in rows}
keepers = [a for a, _, k in rows if k]
print(len(rows), groups == {min(a for a, _, _ in rows)}, keepers == [int(sys.argv[3])],
      max(checks.values()) if checks else 0, sum(checks.values()))
PYEOF
)
set -- $res
if [ "${1:-}" = 25 ] && [ "$2" = True ] && [ "$3" = True ] && [ "$4" -ge 1 ] && [ "$4" -le 4 ]
then ok "25 copies: one group, the larger copy keeper, at most $4 local checks per copy ($5 in all)"
else notok "copies of one picture join one group with bounded checks" "$res"; fi

# --backfill: a catalog whose fingerprints were lost (ingested before them)
H2=$T/home2
"$TP" --home "$H2" ingest "$T/set/d40__orig.jpg" "$T/set/d40__resize_1024.jpg" "$T/set/astro__orig.jpg" >/dev/null 2>&1
"$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("DELETE FROM fingerprints"); c.commit()' "$H2/catalog.db"
"$TP" --home "$H2" dups --json >"$T/b0.json"
if [ "$(jget "$T/b0.json" fingerprints)" = 0 ]; then ok "no fingerprints: dups finds nothing"
else notok "no fingerprints" "$(cat "$T/b0.json")"; fi
"$TP" --home "$H2" dups --backfill --json >"$T/b1.json" 2>"$T/b1.err"
if grep -q '"type":"duplicate".*"members":\[{"id":1,.*{"id":2,' "$T/b1.json" && grep -q '"fingerprints":3' "$T/b1.json"
then ok "dups --backfill fingerprints old assets and groups them"
else notok "dups --backfill" "$(cat "$T/b1.json" "$T/b1.err" | tr '\n' ' ')"; fi

# errors
check_fails "--threshold out of range" "$TP" --home "$H" dups --threshold 12
check_fails "--threshold not a number" "$TP" --home "$H" dups --threshold x
check_fails "dups on a missing home" "$TP" --home "$T/nohome" dups
out=$("$TP" --home "$H" dups --html "$T/nodir/x.html" 2>&1)
if [ $? -ne 0 ] && echo "$out" | grep -q "nodir/x.html"; then ok "--html to a missing directory: error names the file"
else notok "--html error" "$out"; fi
