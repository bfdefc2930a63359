# The runner's encode/verify workers run under a seccomp allow-list
# (src/runner/sandbox_filter.c).  A hostile-behaviour fault point
# (TP_FAULT_SANDBOX=KIND:ASSET) makes one worker act like a hijacked decoder:
# each attempt is stopped, reported as "sandbox: disallowed system call N"
# naming the asset and blob, and the run carries on with the other assets.
. tests/lib.sh

P=tests/policies/run.yaml
NOW=2031-06-01
stage "$T/in" photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg \
    photo-500x500-gray8.png
"$TP" --home "$T/base" ingest "$T/in" >/dev/null 2>&1
VICTIM=$(sqlite3 "$T/base/catalog.db" "SELECT id FROM assets WHERE width = 180")
[ -n "$VICTIM" ] && ok "fixture: 3 assets" || notok "fixture"

# the filter does not get in the way of real work
cp -r "$T/base" "$T/ref"
"$TP" --home "$T/ref" run --policy $P --now $NOW --json >"$T/ref.json" 2>"$T/ref.err"
[ "$(jget "$T/ref.json" failed)" = 0 ] && [ "$(jget "$T/ref.json" transcoded)" -ge 2 ] &&
    ok "sandboxed run transcodes with no failure" || notok "sandboxed run" "$(head -c 600 "$T/ref.json")"

# one hostile worker per kind: (kind, system call it must be stopped at)
echo "precious" >"$T/precious"
chmod 600 "$T/precious"
for kv in execve:execve socket:socket write:openat ptrace:ptrace fork:clone; do
    kind=${kv%%:*}
    call=${kv#*:}
    rm -rf "$T/h"
    cp -r "$T/base" "$T/h"
    TP_FAULT_SANDBOX=$kind:$VICTIM TP_FAULT_SANDBOX_PATH="$T/precious" \
        "$TP" --home "$T/h" run --policy $P --now $NOW --json >"$T/$kind.json" 2>"$T/$kind.err"
    st=$?
    blob=$(sqlite3 "$T/h/catalog.db" "SELECT current_blob FROM assets WHERE id = $VICTIM")
    "$PY" - "$T/$kind.json" "$VICTIM" "$call" "$blob" <<'PYEOF' && ok "$kind: worker stopped and reported, run carried on (exit $st)" || notok "$kind" "$(head -c 800 "$T/$kind.json") $(tail -2 "$T/$kind.err")"
import json, re, sys
d = json.loads(open(sys.argv[1]).readline())
victim, call, blob = int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = [x for x in d["failures"] if x["asset"] == victim]
assert len(f) == 1 and len(d["failures"]) == 1, d["failures"]
e = f[0]["error"]
assert re.search(r"sandbox: disallowed system call \d+ \(%s\): asset %d blob %s" % (call, victim, blob), e), e
assert d["transcoded"] >= 1, d
PYEOF
    grep -q "sandbox: escaped" "$T/$kind.err" && notok "$kind: escaped the filter"
    [ "$(cat "$T/precious")" = precious ] || notok "$kind: the file outside the output was written"
    # the asset is as it was: same blob, and it is served
    [ "$(sqlite3 "$T/h/catalog.db" "SELECT current_blob = sha256 FROM assets WHERE id = $VICTIM")" = 1 ] &&
        "$TP" --home "$T/h" get "$VICTIM" -o "$T/o.bin" >/dev/null 2>&1 && "$TP" --home "$T/h" fsck >/dev/null 2>&1 &&
        ok "$kind: asset unchanged, fsck clean" || notok "$kind: asset or fsck after the violation"
done
[ "$(cat "$T/precious")" = precious ] && ok "the file outside the output is untouched" || notok "precious file"

# the next run (no fault) finishes the work the violation stopped
TP_FAULT_SANDBOX= "$TP" --home "$T/h" jobs retry >/dev/null 2>&1
"$TP" --home "$T/h" run --policy $P --now $NOW --json >"$T/again.json" 2>"$T/again.err"
[ "$(sqlite3 "$T/h/catalog.db" "SELECT tier FROM assets WHERE id = $VICTIM")" = cold-jpeg ] &&
    [ "$(sqlite3 "$T/h/catalog.db" "SELECT current_blob != sha256 FROM assets WHERE id = $VICTIM")" = 1 ] &&
    ok "after the retry the asset is transcoded" || notok "retry" "$(head -c 600 "$T/again.json")"
