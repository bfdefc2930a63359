# I/O faults: an LD_PRELOAD shim (tests/tools/faultshim.c) makes the Nth
# write/pwrite/fsync/rename/mkdir of `ingest` fail with ENOSPC, EIO or a
# short write.  At each point: no crash, a clear error when it fails,
# fsck clean afterwards (no partial blob, no row pointing at nothing), and
# the same ingest once the disk is back stores everything.  CI sweeps ~24
# points spread over every call site; TP_STRESS=1 sweeps all of them in all
# three modes.
. tests/lib.sh

SHIM=${TP_SHIM:-}
if [ -z "$SHIM" ]; then
    SHIM=$T/faultshim.so
    ${CC:-cc} -O2 -shared -fPIC -o "$SHIM" "${TP_ROOT:-.}/tests/tools/faultshim.c" -ldl ||
        { notok "fault shim builds"; exit 0; }
fi
# sanitizer builds: the shim comes after the ASan runtime
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

stage "$T/a" photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
stage "$T/in" photo-iphone4s-180x135-exif-gps.jpg photo-500x500-gray8.png
"$TP" --home "$T/base" ingest "$T/a" >/dev/null 2>&1

cp -r "$T/base" "$T/c"
LD_PRELOAD=$SHIM TP_SHIM_COUNT="$T/count" "$TP" --home "$T/c" ingest "$T/in" >/dev/null 2>&1
N=$(awk '{ s = $2 } END { print s + 0 }' "$T/count")
[ "$N" -gt 20 ] && ok "ingest makes $N counted file-system calls" || notok "call count" "$N"

if [ -n "${TP_STRESS:-}" ]; then
    points=$(seq 1 "$N")
    modes="enospc eio short"
else
    step=$(( (N + 23) / 24 ))
    points=$(seq 1 "$step" "$N")
    modes=""
fi
bad=0
runs=0
failed_clean=0
i=0
for n in $points; do
    for m in ${modes:-x}; do
        [ "$m" = x ] && case $((i % 3)) in 0) m=enospc ;; 1) m=eio ;; 2) m=short ;; esac
        i=$((i + 1))
        rm -rf "$T/h"
        cp -r "$T/base" "$T/h"
        LD_PRELOAD=$SHIM TP_SHIM_FAIL_AT=$n TP_SHIM_MODE=$m "$TP" --home "$T/h" ingest "$T/in" >"$T/out" 2>"$T/err"
        st=$?
        runs=$((runs + 1))
        why=""
        if [ $st -ge 128 ]; then why="killed by signal $((st - 128))"
        elif [ $st -ne 0 ]; then
            failed_clean=$((failed_clean + 1))
            grep -q "^tierpress: " "$T/err" || why="no error line"
        fi
        [ -z "$why" ] && ! "$TP" --home "$T/h" fsck >"$T/fsck" 2>&1 && why="fsck: $(tail -2 "$T/fsck" | tr '\n' ' ')"
        if [ -z "$why" ]; then
            "$TP" --home "$T/h" ingest "$T/in" >/dev/null 2>"$T/err2"
            [ "$("$TP" --home "$T/h" ls --json | wc -l)" -eq 3 ] || why="after resuming: $("$TP" --home "$T/h" ls --json | wc -l) assets; $(tail -1 "$T/err2")"
            [ -z "$why" ] && ! "$TP" --home "$T/h" fsck >"$T/fsck" 2>&1 && why="fsck after resuming: $(tail -2 "$T/fsck" | tr '\n' ' ')"
        fi
        if [ -n "$why" ]; then
            bad=$((bad + 1))
            notok "ingest, call $n fails ($m): exit $st" "$why; $(tail -2 "$T/err" | tr '\n' ' ')"
        fi
    done
done
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
[ -n "${TP_STRESS:-}" ] && step=1 || step=$(( (N + 11) / 12 ))
bad=0
runs=0
failed_clean=0
i=0
for n in $(seq 1 "$step" "$N"); do
    case $((i % 3)) in 0) m=enospc ;; 1) m=eio ;; 2) m=short ;; esac
    i=$((i + 1))
    rm -rf "$T/h"
    cp -r "$T/gbase" "$T/h"
    LD_PRELOAD=$SHIM TP_SHIM_FAIL_AT=$n TP_SHIM_MODE=$m "$TP" --home "$T/h" gc --now 2031-09-01 >"$T/out" 2>"$T/err"
    st=$?
    runs=$((runs + 1))
    why=""
    if [ $st -ge 128 ]; then why="killed by signal $((st - 128))"
    elif [ $st -ne 0 ]; then
        failed_clean=$((failed_clean + 1))
        grep -q "^tierpress: " "$T/err" || why="no error line"
    fi
    [ -z "$why" ] && ! "$TP" --home "$T/h" fsck >"$T/fsck" 2>&1 && why="fsck: $(tail -2 "$T/fsck" | tr '\n' ' ')"
    [ -z "$why" ] && ! served "$T/h" && why="an original is no longer served"
    if [ -z "$why" ]; then
        "$TP" --home "$T/h" gc --now 2031-09-01 >/dev/null 2>"$T/err2"
        [ "$(sqlite3 "$T/h/catalog.db" "SELECT count(*) FROM assets WHERE original_blob IS NULL")" = 2 ] ||
            why="gc again did not finish: $(tail -1 "$T/err2")"
        [ -z "$why" ] && ! "$TP" --home "$T/h" fsck >"$T/fsck" 2>&1 && why="fsck after gc again: $(tail -2 "$T/fsck" | tr '\n' ' ')"
        [ -z "$why" ] && ! served "$T/h" && why="an original is not served after gc again"
    fi
    if [ -n "$why" ]; then
        bad=$((bad + 1))
        notok "gc, call $n fails ($m): exit $st" "$why; $(tail -2 "$T/err" | tr '\n' ' ')"
    fi
done
[ $bad -eq 0 ] && ok "gc: $runs injected faults ($failed_clean failed cleanly, the rest recovered): fsck clean, every original served, gc again finishes" ||
    notok "gc faults" "$bad of $runs points broke"
echo "# gc faults: $runs injections, $failed_clean clean failures, $bad broken"
