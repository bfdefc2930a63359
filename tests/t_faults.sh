# I/O faults: an LD_PRELOAD shim (tests/tools/faultshim.c) makes the Nth
# write/pwrite/fsync/rename/mkdir of `ingest` fail with ENOSPC, EIO or a
# short write.  At each point: no crash, a clear error when it fails,
# fsck clean afterwards (no partial blob, no row pointing at nothing), and
# the same ingest once the disk is back stores everything.  CI sweeps ~24
# points spread over every call site; TP_STRESS=1 sweeps all of them in all
# three modes.
. tests/lib.sh

use_shim faultshim "${TP_SHIM:-}"

# sweep NAME N K: faults at K points spread over the N counted calls, each
# point in the next of enospc/eio/short (TP_STRESS=1: every point in every
# mode).  Per point: fault_prep makes a fresh home $T/h, fault_cmd runs the
# command under the shim (failing call $n in mode $m); then the common
# checks (no signal; a `tierpress:` line when it fails) and fault_after,
# which sets $why when the test's own invariants do not hold (fsck, the
# originals, the same command again without the fault finishing the work).
# Leaves runs, failed_clean, retried (fault_after may count) and bad.
sweep() {
    sw_name=$1
    if [ -n "${TP_STRESS:-}" ]; then sw_points=$(seq 1 "$2"); sw_modes="enospc eio short"
    else sw_points=$(seq 1 "$(spread "$2" "$3")" "$2"); sw_modes=x; fi
    bad=0 runs=0 failed_clean=0 retried=0 sw_i=0
    for n in $sw_points; do
        for m in $sw_modes; do
            [ "$m" = x ] && case $((sw_i % 3)) in 0) m=enospc ;; 1) m=eio ;; 2) m=short ;; esac
            sw_i=$((sw_i + 1))
            fault_prep
            fault_cmd >"$T/out" 2>"$T/err"
            st=$?
            runs=$((runs + 1))
            why=""
            if [ $st -ge 128 ]; then why="killed by signal $((st - 128))"
            elif [ $st -ne 0 ]; then
                failed_clean=$((failed_clean + 1))
                grep -q "^tierpress: " "$T/err" || why="no error line"
            fi
            [ -z "$why" ] && fault_after
            if [ -n "$why" ]; then
                bad=$((bad + 1))
                notok "$sw_name, call $n fails ($m): exit $st" "$why; $(grep -v ' run: ' "$T/err" | tail -2 | tr '\n' ' ')"
            fi
        done
    done
}
fsck_ok() { # fsck_ok HOME WHEN: sets why when fsck fails
    "$TP" --home "$1" fsck >"$T/fsck" 2>&1 || why="fsck$2: $(tail -2 "$T/fsck" | tr '\n' ' ')"
}

stage "$T/a" photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
stage "$T/in" photo-iphone4s-180x135-exif-gps.jpg photo-500x500-gray8.png
"$TP" --home "$T/base" ingest "$T/a" >/dev/null 2>&1

cp -r "$T/base" "$T/c"
LD_PRELOAD=$SHIM TP_SHIM_COUNT="$T/count" "$TP" --home "$T/c" ingest "$T/in" >/dev/null 2>&1
N=$(awk '{ s = $2 } END { print s + 0 }' "$T/count")
[ "$N" -gt 20 ] && ok "ingest makes $N counted file-system calls" || notok "call count" "$N"

fault_prep() { rm -rf "$T/h"; cp -r "$T/base" "$T/h"; }
fault_cmd() { LD_PRELOAD=$SHIM TP_SHIM_FAIL_AT=$n TP_SHIM_MODE=$m "$TP" --home "$T/h" ingest "$T/in"; }
fault_after() {
    fsck_ok "$T/h"
    [ -n "$why" ] && return
    "$TP" --home "$T/h" ingest "$T/in" >/dev/null 2>"$T/err2"
    [ "$("$TP" --home "$T/h" ls --json | wc -l)" -eq 3 ] || why="after resuming: $("$TP" --home "$T/h" ls --json | wc -l) assets; $(tail -1 "$T/err2")"
    [ -z "$why" ] && fsck_ok "$T/h" " after resuming"
}
sweep ingest "$N" 24
[ $bad -eq 0 ] && ok "ingest: $runs injected faults ($failed_clean failed cleanly, the rest recovered): fsck clean, resumed, 0 lost" ||
    notok "ingest faults" "$bad of $runs points broke"
echo "# faults: $runs injections, $failed_clean clean failures, $bad broken"

# --- gc: releasing originals replaced by their verified JPEG XL ----------------
stage "$T/g" photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
"$TP" --home "$T/gbase" ingest "$T/g" >/dev/null 2>&1
"$TP" --home "$T/gbase" run --policy tests/policies/run.yaml --now 2031-06-01 >/dev/null 2>&1
[ "$(sqlite3 "$T/gbase/catalog.db" "SELECT count(*) FROM assets WHERE original_delete_after IS NOT NULL AND current_blob != original_blob")" = 2 ] &&
    ok "gc fixture: 2 originals scheduled for deletion" || notok "gc fixture"
cp -r "$T/gbase" "$T/gc"
rm -f "$T/count"
LD_PRELOAD=$SHIM TP_SHIM_COUNT="$T/count" "$TP" --home "$T/gc" gc --now 2031-09-01 >/dev/null 2>&1
N=$(awk '{ s = $2 } END { print s + 0 }' "$T/count")
[ "$N" -gt 5 ] && ok "gc makes $N counted file-system calls" || notok "gc call count" "$N"
# every original still served byte for byte (from its JPEG XL once released)
served() {
    for sv_id in $(sqlite3 "$1/catalog.db" "SELECT id FROM assets"); do
        sv_sha=$(sqlite3 "$1/catalog.db" "SELECT sha256 FROM assets WHERE id = $sv_id")
        "$TP" --home "$1" get "$sv_id" -o "$T/sv.bin" >/dev/null 2>&1 || return 1
        [ "$(sha256sum <"$T/sv.bin" | cut -c1-64)" = "$sv_sha" ] || return 1
    done
}
fault_prep() { rm -rf "$T/h"; cp -r "$T/gbase" "$T/h"; }
fault_cmd() { LD_PRELOAD=$SHIM TP_SHIM_FAIL_AT=$n TP_SHIM_MODE=$m "$TP" --home "$T/h" gc --now 2031-09-01; }
fault_after() {
    fsck_ok "$T/h"
    [ -z "$why" ] && ! served "$T/h" && why="an original is no longer served"
    [ -n "$why" ] && return
    "$TP" --home "$T/h" gc --now 2031-09-01 >/dev/null 2>"$T/err2"
    [ "$(sqlite3 "$T/h/catalog.db" "SELECT count(*) FROM assets WHERE original_blob IS NULL")" = 2 ] ||
        why="gc again did not finish: $(tail -1 "$T/err2")"
    [ -z "$why" ] && fsck_ok "$T/h" " after gc again"
    [ -z "$why" ] && ! served "$T/h" && why="an original is not served after gc again"
}
sweep gc "$N" 12
[ $bad -eq 0 ] && ok "gc: $runs injected faults ($failed_clean failed cleanly, the rest recovered): fsck clean, every original served, gc again finishes" ||
    notok "gc faults" "$bad of $runs points broke"
echo "# gc faults: $runs injections, $failed_clean clean failures, $bad broken"

# --- run: every step of the plan, the encode/verify workers and the swap ----
# The parent's calls (plan, claim, store writes of the verified blob, the
# swap transaction, finish) are swept.  The sandboxed encode and verify
# workers' are counted apart (TP_SHIM_SCOPE=children): they hand their
# output back and the runner stores it, so they must make none (with
# TP_SHIM_ONCE a worker's fault would be one transient fault, retried by
# the same run).  At each point:
# no signal, a `tierpress:` line when it fails, fsck clean, every original
# served byte for byte; then the same run without the fault (after `jobs
# retry` for jobs it parked as failed or dead) swaps both JPEGs to JPEG XL,
# fsck clean.
stage "$T/r" photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
"$TP" --home "$T/rbase" ingest "$T/r" >/dev/null 2>&1
RUN="run --policy tests/policies/run.yaml --now 2031-06-01 --jobs 1 --retry-backoff 0"
swapped() { sqlite3 "$1/catalog.db" "SELECT count(*) FROM assets WHERE current_blob != original_blob"; }
fault_prep() { rm -rf "$T/h"; cp -r "$T/rbase" "$T/h"; rm -f "$T/once"; }
fault_cmd() {
    # shellcheck disable=SC2086
    LD_PRELOAD=$SHIM TP_SHIM_FAIL_AT=$n TP_SHIM_MODE=$m TP_SHIM_SCOPE=$scope TP_SHIM_ONCE="$T/once" \
        "$TP" --home "$T/h" $RUN
}
fault_after() {
    fsck_ok "$T/h"
    [ -z "$why" ] && ! served "$T/h" && why="an original is no longer served"
    [ -n "$why" ] && return
    # shellcheck disable=SC2086
    "$TP" --home "$T/h" $RUN >/dev/null 2>"$T/err2"
    if [ "$(swapped "$T/h")" != 2 ] && [ -n "$(sqlite3 "$T/h/catalog.db" "SELECT id FROM jobs WHERE state IN ('failed', 'dead')")" ]; then
        retried=$((retried + 1))
        "$TP" --home "$T/h" jobs retry >/dev/null 2>&1
        # shellcheck disable=SC2086
        "$TP" --home "$T/h" $RUN >/dev/null 2>"$T/err2"
    fi
    [ "$(swapped "$T/h")" = 2 ] || why="run again did not finish: $(swapped "$T/h") swapped; $(tail -1 "$T/err2")"
    [ -z "$why" ] && fsck_ok "$T/h" " after run again"
    [ -z "$why" ] && ! served "$T/h" && why="an original is not served after run again"
}
for scope in parent children; do
    cp -r "$T/rbase" "$T/rc"
    rm -f "$T/count"
    # shellcheck disable=SC2086
    LD_PRELOAD=$SHIM TP_SHIM_COUNT="$T/count" TP_SHIM_SCOPE=$scope "$TP" --home "$T/rc" $RUN >/dev/null 2>&1
    if [ $scope = parent ]; then N=$(awk '$3 == "armed" { print $2 }' "$T/count")
    else N=$(awk '$3 == "armed" && $2 > m { m = $2 } END { print m + 0 }' "$T/count"); fi
    rm -rf "$T/rc"
    if [ $scope = children ]; then
        # the sandboxed workers hand their output back; the runner stores
        # it: nothing to inject in them (a write would be a sandbox escape)
        [ "$N" = 0 ] && ok "run (children): the sandboxed workers make no file writes, fsyncs, renames or mkdirs" ||
            notok "run children call count" "$N (the workers write files)"
        continue
    fi
    [ "$N" -gt 3 ] && ok "run ($scope): $N counted file-system calls" || notok "run $scope call count" "$N"
    sweep "run ($scope)" "$N" 14
    [ $bad -eq 0 ] && ok "run ($scope): $runs injected faults ($failed_clean failed cleanly, $retried needed jobs retry, the rest recovered): fsck clean, every original served, run again swaps both" ||
        notok "run ($scope) faults" "$bad of $runs points broke"
    echo "# run ($scope) faults: $runs injections, $failed_clean clean failures, $retried needed jobs retry, $bad broken"
done

# --- migrate: SQLite + files into SQLite + files ---------------------------
# The copy fails at each point: no blob file half-written under its name
# in the target (every file named as a blob hashes to its name; a target
# mid-copy is not a home yet: its blob rows' references arrive with the
# assets' pages); the source untouched; migrate again finishes with the
# same listing, fsck clean, every original served.
"$TP" --home "$T/rbase" $RUN >/dev/null 2>&1
snapm() { (cd "$1" && sha256sum catalog.db && find blobs -type f | sort | xargs sha256sum); }
snapm "$T/rbase" >"$T/msrc.before"
"$TP" --home "$T/rbase" ls >"$T/mls.src" 2>&1
mtarget() { rm -rf "$1"; mkdir -p "$1"; printf 'catalog: sqlite://catalog.db\nstore: file://blobs\n' >"$1/tierpress.yaml"; }
mtarget "$T/mc"
rm -f "$T/count"
LD_PRELOAD=$SHIM TP_SHIM_COUNT="$T/count" "$TP" --home "$T/rbase" migrate --to "$T/mc/tierpress.yaml" --page-rows 4 >/dev/null 2>&1
N=$(awk '{ s = $2 } END { print s + 0 }' "$T/count")
[ "$N" -gt 20 ] && ok "migrate makes $N counted file-system calls" || notok "migrate call count" "$N"
fault_prep() { mtarget "$T/h"; }
fault_cmd() {
    LD_PRELOAD=$SHIM TP_SHIM_FAIL_AT=$n TP_SHIM_MODE=$m "$TP" --home "$T/rbase" migrate --to "$T/h/tierpress.yaml" --page-rows 4
}
fault_after() {
    # no partial blob visible under its name
    if [ -d "$T/h/blobs" ]; then
        for f in $(find "$T/h/blobs" -type f -name '????????????????????????????????????????????????????????????????'); do
            [ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "$f")" ] || why="partial blob visible: $f"
        done
    fi
    [ -n "$why" ] && return
    "$TP" --home "$T/rbase" migrate --to "$T/h/tierpress.yaml" --page-rows 4 >/dev/null 2>"$T/err2" ||
        why="migrate again failed: $(tail -1 "$T/err2")"
    [ -z "$why" ] && "$TP" --home "$T/h" ls >"$T/mls.dst" 2>&1 && ! cmp -s "$T/mls.src" "$T/mls.dst" && why="listing differs after migrate again"
    [ -z "$why" ] && fsck_ok "$T/h" " after migrate again"
    [ -z "$why" ] && ! served "$T/h" && why="an original is not served from the target"
}
sweep migrate "$N" 20
snapm "$T/rbase" >"$T/msrc.after"
cmp -s "$T/msrc.before" "$T/msrc.after" || { bad=$((bad + 1)); notok "migrate faults: the source changed"; }
[ $bad -eq 0 ] && ok "migrate: $runs injected faults ($failed_clean failed cleanly): no partial blob visible, source untouched, migrate again finishes with the same listing, fsck clean" ||
    notok "migrate faults" "$bad of $runs points broke"
echo "# migrate faults: $runs injections, $failed_clean clean failures, $bad broken"
