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

# the CLI's ingest decodes in the same sandboxed workers as serve's uploads
# (one resident worker for the command): a hijacked decoder (the hook's
# ":@NAME" form picks the file) fails that file alone, with the filter's
# message naming it; the others are catalogued, nothing of it is stored
echo "precious" >"$T/precious"
chmod 600 "$T/precious"
VFILE="$T/in/photo-iphone4s-180x135-exif-gps.jpg"
for kv in execve:execve socket:socket write:openat ptrace:ptrace fork:clone; do
    kind=${kv%%:*}
    call=${kv#*:}
    rm -rf "$T/hi"
    TP_FAULT_SANDBOX=$kind:@iphone4s TP_FAULT_SANDBOX_PATH="$T/precious" \
        "$TP" -v --home "$T/hi" ingest "$T/in" >"$T/i-$kind.out" 2>"$T/i-$kind.err"
    st=$?
    [ $st = 1 ] && grep -Eq "^tierpress: $VFILE: .*sandbox: disallowed system call [0-9]+ \($call\)\$" "$T/i-$kind.err" &&
        [ "$(sqlite3 "$T/hi/catalog.db" "SELECT count(*), sum(width = 180) FROM assets")" = "2|0" ] &&
        grep -q "2 ingested" "$T/i-$kind.out" &&
        ok "ingest, $kind: the file is refused with the filter's message, the others catalogued, exit 1" ||
        notok "ingest $kind (exit $st)" "$(tail -3 "$T/i-$kind.err")"
    grep -q "sandbox: escaped" "$T/i-$kind.err" && notok "ingest $kind: escaped the filter"
    # nothing of the refused file is stored: fsck finds no orphan blob; one
    # worker replaced the stopped one (2 started for 3 files, not 3)
    "$TP" --home "$T/hi" fsck >"$T/i-fsck.out" 2>&1 &&
        grep -q " 0 orphan file(s), 0 unreferenced blob(s)" "$T/i-fsck.out" &&
        [ "$(find "$T/hi/blobs" -type f | wc -l)" = 6 ] &&
        grep -q "ingest: 2 sandboxed workers started" "$T/i-$kind.err" &&
        ok "ingest, $kind: fsck clean, no blob of the refused file, its worker replaced once" ||
        notok "ingest $kind: store or pool" "$(head -c 400 "$T/i-fsck.out"); $(grep sandboxed "$T/i-$kind.err")"
done
[ "$(cat "$T/precious")" = precious ] && ok "ingest: the file outside is untouched" || notok "ingest: precious file"
rm -rf "$T/hi"
TP_FAULT_CRASH_PROXIES=iphone4s "$TP" --home "$T/hi" ingest "$T/in" >"$T/i-crash.out" 2>"$T/i-crash.err"
st=$?
# (under ASan the sanitizer turns the SIGSEGV into an exit with a report)
[ $st = 1 ] && grep -Eq "^tierpress: $VFILE: .*(crashed: signal 11|without a complete answer)" "$T/i-crash.err" &&
    [ "$(sqlite3 "$T/hi/catalog.db" "SELECT count(*) FROM assets")" = 2 ] &&
    "$TP" --home "$T/hi" fsck >/dev/null 2>&1 &&
    ok "ingest: a decoder crash fails that file alone, fsck clean, exit 1" ||
    notok "ingest crash (exit $st)" "$(tail -3 "$T/i-crash.err")"
# without a fault: one worker for every still; --no-isolate decodes
# in-process (the hook is the worker's, so all three go in)
rm -rf "$T/hi"
"$TP" -v --home "$T/hi" ingest "$T/in" >/dev/null 2>"$T/i-ok.err" &&
    grep -q "ingest: 1 sandboxed worker started" "$T/i-ok.err" &&
    ok "ingest: one resident worker for the whole command" || notok "ingest pool" "$(tail -2 "$T/i-ok.err")"
rm -rf "$T/hi"
TP_FAULT_SANDBOX=execve:@iphone4s "$TP" -v --home "$T/hi" ingest --no-isolate "$T/in" >/dev/null 2>"$T/i-ni.err" &&
    [ "$(sqlite3 "$T/hi/catalog.db" "SELECT count(*) FROM assets")" = 3 ] &&
    ! grep -q "sandboxed worker" "$T/i-ni.err" &&
    ok "ingest --no-isolate: decoded in-process, no worker" || notok "ingest --no-isolate" "$(tail -2 "$T/i-ni.err")"

# fsck --adopt decodes orphan blobs in the same workers: the base's blobs
# copied into another home are orphans there; a hijacked decoder on one
# original leaves it out (with the filter's message), the others come back
VHASH=$(sqlite3 "$T/base/catalog.db" "SELECT sha256 FROM assets WHERE id = $VICTIM")
rm -rf "$T/ha"
stage "$T/one" frame-150x103-interlaced.gif
"$TP" --home "$T/ha" ingest "$T/one" >/dev/null 2>&1 && cp -r "$T/base/blobs/." "$T/ha/blobs/"
TP_FAULT_SANDBOX=execve:@$VHASH "$TP" --home "$T/ha" fsck --adopt --json >"$T/adopt.json" 2>"$T/adopt.err"
"$PY" - "$T/adopt.json" "$VHASH" <<'PYEOF' && ok "fsck --adopt: a hijacked decoder leaves that blob out with the filter's message, the others adopted" || notok "fsck --adopt in the sandbox" "$(head -c 800 "$T/adopt.json") $(tail -2 "$T/adopt.err")"
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
victim = sys.argv[2]
left = [l for l in lines if l.get("not_adopted") == victim]
assert len(left) == 1 and re.search(r"sandbox: disallowed system call \d+ \(execve\)", left[0]["reason"]), left
assert len([l for l in lines if "adopted" in l]) >= 2, lines
PYEOF
[ "$(sqlite3 "$T/ha/catalog.db" "SELECT count(*) FROM assets WHERE sha256 = '$VHASH'")" = 0 ] &&
    [ "$(sqlite3 "$T/ha/catalog.db" "SELECT count(*) FROM assets WHERE width IN (200, 500)")" = 2 ] &&
    ok "fsck --adopt: the other two originals are assets again" || notok "fsck --adopt assets"

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

# a hijacked worker that goes for the store itself: renaming or deleting a
# blob (another asset's original) is stopped like the rest; the worker no
# longer writes into the store at all (its parent stores what it encodes)
mkdir -p "$T/wtmp"
export TMPDIR="$T/wtmp" # where the workers' private temp directories are made
OTHER=$(sqlite3 "$T/base/catalog.db" "SELECT id FROM assets WHERE id != $VICTIM ORDER BY id LIMIT 1")
OBLOB=$(sqlite3 "$T/base/catalog.db" "SELECT sha256 FROM assets WHERE id = $OTHER")
for kv in rename:rename unlink:unlink; do
    kind=${kv%%:*}
    call=${kv#*:}
    rm -rf "$T/h"
    cp -r "$T/base" "$T/h"
    target="$T/h/blobs/$(echo "$OBLOB" | cut -c1-2)/$(echo "$OBLOB" | cut -c3-4)/$OBLOB"
    [ -f "$target" ] || notok "$kind: fixture" "no blob file $target"
    TP_FAULT_SANDBOX=$kind:$VICTIM TP_FAULT_SANDBOX_PATH="$target" \
        "$TP" --home "$T/h" run --policy $P --now $NOW --json >"$T/$kind.json" 2>"$T/$kind.err"
    st=$?
    blob=$(sqlite3 "$T/h/catalog.db" "SELECT current_blob FROM assets WHERE id = $VICTIM")
    "$PY" - "$T/$kind.json" "$VICTIM" "$call" "$blob" <<'PYEOF' && ok "$kind of a blob in the store: worker stopped and reported (exit $st)" || notok "$kind in the store" "$(head -c 800 "$T/$kind.json") $(tail -2 "$T/$kind.err")"
import json, re, sys
d = json.loads(open(sys.argv[1]).readline())
victim, call, blob = int(sys.argv[2]), sys.argv[3], sys.argv[4]
f = [x for x in d["failures"] if x["asset"] == victim]
assert len(f) == 1 and len(d["failures"]) == 1, d["failures"]
assert re.search(r"sandbox: disallowed system call \d+ \(%s\): asset %d blob %s" % (call, victim, blob), f[0]["error"]), f[0]["error"]
assert d["transcoded"] >= 1, d
PYEOF
    [ -f "$target" ] && [ ! -e "$target.moved" ] && "$TP" --home "$T/h" get "$OTHER" -o "$T/o.bin" >/dev/null 2>&1 &&
        "$TP" --home "$T/h" fsck >/dev/null 2>&1 &&
        ok "$kind: the blob is where it was, served, fsck clean" || notok "$kind: the store was changed"
done

# the one deletion the filter allows (unlinkat on the private temp
# directory's descriptor) with an absolute path into the store: Landlock
# refuses it (EACCES), the worker goes on and the blob stays
if "$PY" -c 'import ctypes,sys; l=ctypes.CDLL(None); sys.exit(0 if l.syscall(444, None, 0, 1) >= 1 else 1)'; then
    rm -rf "$T/h"
    cp -r "$T/base" "$T/h"
    target="$T/h/blobs/$(echo "$OBLOB" | cut -c1-2)/$(echo "$OBLOB" | cut -c3-4)/$OBLOB"
    TP_FAULT_SANDBOX=unlinkat:$VICTIM TP_FAULT_SANDBOX_PATH="$target" \
        "$TP" --home "$T/h" run --policy $P --now $NOW --json >"$T/unlinkat.json" 2>"$T/unlinkat.err"
    [ -f "$target" ] && "$TP" --home "$T/h" fsck >/dev/null 2>&1 &&
        ok "unlinkat by absolute path through the temp directory: refused by Landlock, blob kept" ||
        notok "unlinkat escaped" "$(head -c 600 "$T/unlinkat.json")"
else
    skip "unlinkat through the temp directory" "no Landlock in this kernel"
fi

# every worker's private temp directory is gone, also those of the
# workers the filter stopped
[ -z "$(ls -A "$T/wtmp")" ] && ok "no worker temp directory left behind" ||
    notok "worker temp directories left" "$(ls "$T/wtmp" | head -3)"

# a runner killed with -9 while its worker works leaves the worker's temp
# directory (named by the runner's PID); the next process to start a worker
# removes it.  One named by a live PID (this shell) and one without a PID
# are not touched.
rm -rf "$T/h"
cp -r "$T/base" "$T/h"
TP_FAULT_HANG_ASSET=$VICTIM TP_FAULT_HANG_SECONDS=600 "$TP" --home "$T/h" run --policy $P --now $NOW \
    --jobs 1 >/dev/null 2>&1 &
rpid=$!
left() { ls -d "$T/wtmp/tierpress-worker-$rpid-"* >/dev/null 2>&1; }
i=0
until left || [ $i -gt 1200 ]; do i=$((i + 1)); sleep 0.1; done
kill -9 $rpid
wait $rpid 2>/dev/null
mkdir "$T/wtmp/tierpress-worker-$$-livepid" "$T/wtmp/tierpress-worker-old"
if left; then
    "$TP" -v --home "$T/h" run --policy $P --now $NOW --json >"$T/sweep.json" 2>"$T/sweep.err"
    ! left && [ -d "$T/wtmp/tierpress-worker-$$-livepid" ] && [ -d "$T/wtmp/tierpress-worker-old" ] &&
        grep -q "removed 1 temp directory of workers whose process died" "$T/sweep.err" &&
        ok "the temp directory of a runner killed with -9 is removed by the next run (live PIDs' and old-style names kept)" ||
        notok "temp directory sweep" "$(ls "$T/wtmp"); $(tail -2 "$T/sweep.err")"
else
    notok "temp directory sweep" "the killed runner's worker made no temp directory: $(ls "$T/wtmp")"
fi
rmdir "$T/wtmp/tierpress-worker-$$-livepid" "$T/wtmp/tierpress-worker-old"
