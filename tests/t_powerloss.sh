# Power loss: an LD_PRELOAD shim (tests/tools/powershim.c) numbers every
# write, fsync, rename, link, unlink and mkdir of `ingest`, `run` (the
# runner and its sandboxed encode/verify workers, one numbering: every step
# of the swap) and `gc`, records what each fsync made durable, and cuts the
# power just before event N.  tests/tools/powerloss_rebuild.py then builds
# the disk as a reboot would find it: file data as of its last fsync,
# directory entries as of the directory's last fsync, everything else as
# before the run.  On that disk: fsck clean (no dangling pointer, no
# corrupt blob), every original that was catalogued before is served byte
# for byte (none lost), and the same command run again finishes the work.
# CI: 8 points spread over each command (4 under TP_QUICK=1); TP_STRESS=1:
# every point.
. tests/lib.sh

use_shim powershim "${TP_PL_SHIM:-}"
REBUILD="$PY ${TP_ROOT:-.}/tests/tools/powerloss_rebuild.py"
POLICY="--policy tests/policies/run.yaml --now 2031-06-01 --jobs 1 --retry-backoff 0"

# every catalogued asset's original, byte for byte
served() {
    for sv_id in $(sqlite3 "$1/catalog.db" "SELECT id FROM assets"); do
        sv_sha=$(sqlite3 "$1/catalog.db" "SELECT sha256 FROM assets WHERE id = $sv_id")
        "$TP" --home "$1" get "$sv_id" -o "$T/sv.bin" >/dev/null 2>&1 || return 1
        [ "$(sha256sum <"$T/sv.bin" | cut -c1-64)" = "$sv_sha" ] || return 1
    done
}
shas() { sqlite3 "$1/catalog.db" "SELECT sha256 FROM assets ORDER BY sha256"; }

# crash BASE N CMD...: runs CMD on a copy of BASE ($T/h) with the power cut
# before event N (0: none), then rebuilds the disk into $T/r
crash() {
    cr_base=$1 cr_n=$2
    shift 2
    rm -rf "$T/h" "$T/pre" "$T/j" "$T/r"
    cp -a "$cr_base" "$T/h"
    find "$T/h" -printf '%i %P\n' >"$T/pre.map"
    cp -a "$T/h" "$T/pre"
    mkdir -p "$T/j/data" "$T/j/dirs"
    head -c 16 /dev/zero >"$T/j/counter"
    LD_PRELOAD=$SHIM TP_PL_DIR="$T/j" TP_PL_CRASH_AT=$cr_n "$TP" --home "$T/h" "$@" >"$T/out" 2>"$T/err"
    cr_st=$?
    cr_events=$(od -An -tu8 -N8 "$T/j/counter" | tr -d ' ')
    $REBUILD "$T/pre" "$T/pre.map" "$T/j" "$(printf '%x' "$(stat -c %i "$T/h")")" "$T/r" >"$T/rebuild.out" 2>&1
}

# sweep NAME BASE DONE-CHECK CMD...: every point (or every 6th) of CMD
sweep() {
    sw_name=$1 sw_base=$2 sw_done=$3
    shift 3
    crash "$sw_base" 0 "$@"
    sw_total=$cr_events
    if [ "$cr_st" -ne 0 ] || ! $sw_done "$T/r"; then
        notok "$sw_name without a power loss" "exit $cr_st: $(tail -2 "$T/err" | tr '\n' ' ') $(cat "$T/rebuild.out")"
        return
    fi
    [ "$sw_total" -gt 10 ] && ok "$sw_name: $sw_total events; uncut, the rebuilt disk holds the finished work" ||
        notok "$sw_name events" "$sw_total"
    sw_step=$(spread "$sw_total" 8)
    sw_bad=0 sw_runs=0 sw_lost_work=0
    for n in $(seq 1 "$sw_step" "$sw_total"); do
        crash "$sw_base" "$n" "$@"
        sw_runs=$((sw_runs + 1))
        why=""
        [ "$cr_st" = 137 ] || why="the power cut did not stop it (exit $cr_st)"
        [ -z "$why" ] && grep -q "^Traceback" "$T/rebuild.out" && why="rebuild: $(tail -1 "$T/rebuild.out")"
        [ -z "$why" ] && ! "$TP" --home "$T/r" fsck >"$T/fsck" 2>&1 && why="fsck: $(grep -v '^clean' "$T/fsck" | head -3 | tr '\n' ' ')"
        [ -z "$why" ] && ! served "$T/r" && why="an original is not served"
        # nothing catalogued before the run is lost
        [ -z "$why" ] && shas "$T/r" >"$T/shas.r" && [ -n "$(comm -23 "$T/shas.base" "$T/shas.r")" ] &&
            why="lost: $(comm -23 "$T/shas.base" "$T/shas.r" | head -1)"
        if [ -z "$why" ] && ! $sw_done "$T/r"; then sw_lost_work=$((sw_lost_work + 1)); fi
        if [ -z "$why" ]; then
            "$TP" --home "$T/r" "$@" >/dev/null 2>"$T/err2"
            $sw_done "$T/r" || why="$* again did not finish: $(tail -1 "$T/err2")"
            [ -z "$why" ] && ! "$TP" --home "$T/r" fsck >"$T/fsck" 2>&1 && why="fsck after resuming: $(grep -v '^clean' "$T/fsck" | head -3 | tr '\n' ' ')"
            [ -z "$why" ] && ! served "$T/r" && why="an original is not served after resuming"
        fi
        if [ -n "$why" ]; then
            sw_bad=$((sw_bad + 1))
            notok "$sw_name, power lost before event $n of $sw_total" "$why"
        fi
    done
    [ $sw_bad -eq 0 ] && ok "$sw_name: power lost at $sw_runs points ($sw_lost_work lost unfinished work, redone by the next run): fsck clean, 0 lost, 0 dangling" ||
        notok "$sw_name power loss" "$sw_bad of $sw_runs points broke"
    echo "# power loss, $sw_name: $sw_runs points of $sw_total, $sw_lost_work lost unfinished work, $sw_bad broken"
}

# ingest 2 photos into a home that holds one
stage "$T/a" photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
stage "$T/in" photo-iphone4s-180x135-exif-gps.jpg photo-500x500-gray8.png
"$TP" --home "$T/ibase" ingest "$T/a" >/dev/null 2>&1
shas "$T/ibase" >"$T/shas.base"
ingest_done() { [ "$("$TP" --home "$1" ls --json 2>/dev/null | wc -l)" = 3 ]; }
sweep ingest "$T/ibase" ingest_done ingest "$T/in"

# run: both JPEGs to JPEG XL (plan, claim, encode, verify, store, swap)
stage "$T/g" photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg
"$TP" --home "$T/rbase" ingest "$T/g" >/dev/null 2>&1
shas "$T/rbase" >"$T/shas.base"
run_done() {
    [ "$(sqlite3 "$1/catalog.db" "SELECT count(*) FROM assets WHERE current_blob != original_blob")" = 2 ]
}
# shellcheck disable=SC2086
sweep run "$T/rbase" run_done run $POLICY

# gc: the two originals past their grace released
cp -a "$T/rbase" "$T/gbase"
# shellcheck disable=SC2086
"$TP" --home "$T/gbase" run $POLICY >/dev/null 2>&1
gc_done() {
    [ "$(sqlite3 "$1/catalog.db" "SELECT count(*) FROM assets WHERE original_blob IS NULL")" = 2 ]
}
sweep gc "$T/gbase" gc_done gc --now 2031-09-01
