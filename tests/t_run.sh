# The batch runner: tiers chosen by the policy, verified swaps, resumable,
# crash-safe under kill -9, and two runners on one home do each job once.
. tests/lib.sh

P=tests/policies/run.yaml
NOW=2031-06-01
FILES="photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg photo-iphone4s-180x135-exif-gps.jpg
photo-panasonic-gf1-640x428-exif-orient6.jpg photo-canon-s5is-400x300-exif-gps-422.jpg
photo-500x500-gray8.png frame-150x103-interlaced.gif frame-150x103-cmyk-adobe.jpg"
# shellcheck disable=SC2086
stage "$T/in" $FILES
"$TP" --home "$T/base" ingest "$T/in" >/dev/null 2>&1
n_in=$(ls "$T/in" | wc -l)
[ "$("$TP" --home "$T/base" ls --json | wc -l)" -eq "$n_in" ] && ok "fixture: $n_in assets ingested" || notok "fixture ingest"

# state: what a reader of the catalog sees, by upload hash (ids may differ)
state() {
    sqlite3 "$1/catalog.db" "SELECT a.sha256, coalesce(a.tier,'-'), a.storage_class, a.current_blob,
        coalesce(a.original_blob,'-'), coalesce(a.original_delete_after,'-'),
        coalesce((SELECT group_concat(r.name || ':' || r.blob, ' ') FROM renditions r WHERE r.asset_id = a.id), '')
        FROM assets a ORDER BY a.sha256"
}
# every asset's original is still served, byte for byte
originals_intact() {
    for oi_id in $(sqlite3 "$1/catalog.db" "SELECT id FROM assets"); do
        oi_sha=$(sqlite3 "$1/catalog.db" "SELECT sha256 FROM assets WHERE id = $oi_id")
        "$TP" --home "$1" get "$oi_id" -o "$T/o.bin" >/dev/null 2>&1 || return 1
        [ "$(sha256sum <"$T/o.bin" | cut -c1-64)" = "$oi_sha" ] || return 1
    done
}

# --- the reference: one uninterrupted run ---------------------------------
cp -r "$T/base" "$T/ref"
"$TP" --home "$T/ref" run --policy $P --now $NOW --json --jobs 2 >"$T/run.json" 2>"$T/run.err"
st=$?
[ $st -eq 0 ] && ok "run exits 0" || notok "run exit status $st" "$(tail -3 "$T/run.err")"
"$PY" - "$T/run.json" <<'PYEOF' && ok "summary JSON: tiers as the policy says, bytes after < before" || notok "summary" "$(cat "$T/run.json")"
import json, sys
d = json.loads(open(sys.argv[1]).readline())
m = d["matched"]
assert m["cold-jpeg"] == 5 and m["cold-png"] == 1 and m["archive"] == 1 and m["hot"] == 0, m
assert d["transcoded"] >= 4 and d["failed"] == 0, d
assert d["bytes_after"] < d["bytes_before"], d
for k in ("assets", "matched", "transcoded", "kept", "failed", "bytes_before", "bytes_after", "seconds"):
    assert k in d, k
PYEOF
sqlite3 "$T/ref/catalog.db" "SELECT count(*) FROM assets WHERE tier = 'cold-jpeg' AND current_blob != original_blob" >"$T/n"
[ "$(cat "$T/n")" -ge 4 ] && ok "JPEGs now point at their JPEG XL ($(cat "$T/n"))" || notok "JPEG swaps" "$(cat "$T/n")"
# the CMYK JPEG cannot be recompressed: kept, not failed
sqlite3 "$T/ref/catalog.db" "SELECT j.state FROM jobs j JOIN assets a ON a.id = j.asset_id WHERE a.format = 'jpeg' AND a.width = 150" | grep -q kept &&
    ok "CMYK JPEG kept as is (libjxl cannot recompress it)" || notok "CMYK JPEG kept"
[ "$(sqlite3 "$T/ref/catalog.db" "SELECT storage_class FROM assets WHERE format = 'gif'")" = DEEP_ARCHIVE ] &&
    ok "label-only tier sets the storage class" || notok "label-only tier"
check "fsck clean after the run" "$TP" --home "$T/ref" fsck
originals_intact "$T/ref" && ok "every original still served byte for byte" || notok "originals after run"
# every served asset decodes and (lossy) meets its floor against the original
for id in $(sqlite3 "$T/ref/catalog.db" "SELECT id FROM assets WHERE tier = 'cold-png'"); do
    sqlite3 "$T/ref/catalog.db" "SELECT current_blob, original_blob FROM assets WHERE id = $id" | tr '|' ' ' >"$T/b"
    read cur orig <"$T/b"
    p1="$T/ref/blobs/$(echo $orig | cut -c1-2)/$(echo $orig | cut -c3-4)/$orig"
    p2="$T/ref/blobs/$(echo $cur | cut -c1-2)/$(echo $cur | cut -c3-4)/$cur"
    djxl "$p2" "$T/c.png" >/dev/null 2>&1 && vips copy "$p1" "$T/o.png" &&
        "$PY" tests/ssim_ref.py "$T/o.png" "$T/c.png" >"$T/s.json" &&
        awk "BEGIN{exit !($(jget "$T/s.json" ssim) >= 0.99 - 1e-4)}" &&
        ok "cold-png asset $id: djxl decode meets ssim 0.99 by skimage" || notok "cold-png asset $id floor"
done
# re-running a finished run does nothing
"$TP" --home "$T/ref" run --policy $P --now $NOW --json >"$T/run2.json" 2>/dev/null
[ "$(jget "$T/run2.json" transcoded)" = 0 ] && [ "$(jget "$T/run2.json" queued)" = 0 ] &&
    [ "$(state "$T/ref")" = "$(state "$T/ref")" ] && ok "re-run of a finished run does nothing" || notok "re-run" "$(cat "$T/run2.json")"
REF=$(state "$T/ref")

# --dry-run writes nothing
cp -r "$T/base" "$T/dry"
before=$(state "$T/dry")
"$TP" --home "$T/dry" run --policy $P --now $NOW --dry-run >/dev/null 2>&1
[ "$before" = "$(state "$T/dry")" ] && [ "$(sqlite3 "$T/dry/catalog.db" 'SELECT count(*) FROM jobs')" = 0 ] &&
    ok "--dry-run changes nothing" || notok "--dry-run"

# --- crash safety: kill -9 at chosen points inside the protocol -----------
for point in after_encode after_verify in_swap after_commit; do
    rm -rf "$T/c"; cp -r "$T/base" "$T/c"
    TP_CRASH_AT=$point "$TP" --home "$T/c" run --policy $P --now $NOW --jobs 1 >/dev/null 2>&1
    st=$?
    [ $st -eq 137 ] || { notok "crash at $point" "runner exited $st, not killed"; continue; }
    "$TP" --home "$T/c" fsck >/dev/null 2>&1 && originals_intact "$T/c" ||
        { notok "crash at $point: consistent right after the kill"; continue; }
    "$TP" --home "$T/c" run --policy $P --now $NOW --jobs 1 >/dev/null 2>&1
    if [ "$(state "$T/c")" = "$REF" ] && "$TP" --home "$T/c" fsck >/dev/null 2>&1; then
        ok "kill -9 $point, then rerun: fsck clean, state equals the uninterrupted run"
    else
        notok "crash at $point" "state differs after resume"
    fi
done

# --- crash safety: kill -9 at random moments, 50 times ---------------------
# Each kill lands somewhere in plan, claim, encode, verify or swap, of a
# `run` (odd attempts) or a `worker` working on the jobs a `run
# --enqueue-only` queued (even ones); after every kill the home must be
# consistent with every original intact, and a run to completion must give
# the uninterrupted run's state.  (A process killed holding a job uses up
# one of the job's attempts; 50 kills could park a job as dead after 5, so
# these runs allow more.)  `make stress` runs it with TP_CRASH_KILLS=1000.
[ "${TP_QUICK:-0}" = 1 ] && want=${TP_CRASH_KILLS:-15} || want=${TP_CRASH_KILLS:-50}
kills=0 bad=0 attempts=0 rounds=0 wkills=0
fresh=1
while [ $kills -lt "$want" ] && [ $attempts -lt $((want * 4)) ]; do
    attempts=$((attempts + 1))
    if [ $fresh = 1 ]; then
        rm -rf "$T/k"; cp -r "$T/base" "$T/k"; fresh=0; rounds=$((rounds + 1))
    fi
    if [ $((attempts % 2)) = 0 ]; then
        "$TP" --home "$T/k" run --policy $P --now $NOW --enqueue-only --max-attempts 1000 --no-progress >/dev/null 2>&1
        "$TP" --home "$T/k" worker --jobs 2 --now $NOW >/dev/null 2>&1 &
        victim=worker
    else
        "$TP" --home "$T/k" run --policy $P --now $NOW --jobs 2 --max-attempts 1000 --no-progress >/dev/null 2>&1 &
        victim=run
    fi
    pid=$!
    sleep "$(awk -v s=$attempts 'BEGIN{srand(s); printf "%.3f", 0.05 + rand() * 0.9}')"
    if kill -9 $pid 2>/dev/null; then
        kills=$((kills + 1))
        [ $victim = worker ] && wkills=$((wkills + 1))
        [ $((kills % 50)) = 0 ] && echo "# $kills kill -9s ($wkills of workers), $bad inconsistent so far"
        wait $pid 2>/dev/null
        if ! "$TP" --home "$T/k" fsck --quick >/dev/null 2>&1 || ! originals_intact "$T/k"; then
            bad=$((bad + 1))
            echo "# inconsistent after kill -9 of a $victim (attempt $attempts)"
        fi
        # a worker left idle with the work done: this home is finished
        [ $victim = worker ] && [ "$(state "$T/k")" = "$REF" ] && fresh=1
    else
        # the run finished before the kill: it must have reached the reference
        wait $pid 2>/dev/null
        [ "$(state "$T/k")" = "$REF" ] && "$TP" --home "$T/k" fsck >/dev/null 2>&1 || bad=$((bad + 1))
        fresh=1
    fi
done
"$TP" --home "$T/k" run --policy $P --now $NOW --jobs 2 >/dev/null 2>&1
[ "$(state "$T/k")" = "$REF" ] && "$TP" --home "$T/k" fsck >/dev/null 2>&1 || bad=$((bad + 1))
[ $kills -ge "$want" ] && [ $bad -eq 0 ] &&
    ok "$kills random kill -9s ($wkills of workers, $rounds fresh homes): always consistent, originals intact, resumed state equals the uninterrupted run" ||
    notok "random kills" "$bad inconsistent state(s) after $kills kills in $attempts runs"
"$TP" --home "$T/k" gc --orphan-grace 0 >/dev/null && "$TP" --home "$T/k" fsck --json >"$T/f.json" &&
    [ "$(jget "$T/f.json" orphans)" = 0 ] && ok "gc removes what interrupted jobs left" || notok "gc after kills"

# --- two runners on the same home at once do each job once ----------------
rm -rf "$T/two"; cp -r "$T/base" "$T/two"
"$TP" --home "$T/two" run --policy $P --now $NOW --jobs 1 >/dev/null 2>&1 &
a=$!
"$TP" --home "$T/two" run --policy $P --now $NOW --jobs 1 >/dev/null 2>&1 &
b=$!
wait $a; wait $b
dup=$(sqlite3 "$T/two/catalog.db" "SELECT count(*) FROM jobs WHERE attempts != 1 OR state NOT IN ('done','kept')")
swaps=$(sqlite3 "$T/two/catalog.db" "SELECT max(n) FROM (SELECT count(*) AS n FROM audit WHERE action = 'asset.swap' GROUP BY asset_id)")
[ "$dup" = 0 ] && [ "$swaps" = 1 ] && [ "$(state "$T/two")" = "$REF" ] &&
    ok "two concurrent runners: every job done once, one swap per asset, same final state" ||
    notok "two runners" "jobs not once: $dup, max swaps per asset: $swaps"

# --- gc honours the grace period; get still returns the original ----------
"$TP" --home "$T/ref" gc --now 2031-06-15 --json >"$T/gc.json"
[ "$(jget "$T/gc.json" originals_released)" = 0 ] && ok "gc before the 30-day grace keeps originals" || notok "gc grace" "$(cat "$T/gc.json")"
"$TP" --home "$T/ref" gc --now 2031-07-15 --json >"$T/gc.json"
[ "$(jget "$T/gc.json" originals_released)" -ge 4 ] && ok "gc after the grace releases the replaced JPEG originals" || notok "gc after grace" "$(cat "$T/gc.json")"
check "fsck clean after gc" "$TP" --home "$T/ref" fsck
# fsck finds damage: corrupt one blob
blob=$(sqlite3 "$T/ref/catalog.db" "SELECT current_blob FROM assets LIMIT 1")
f="$T/ref/blobs/$(echo $blob | cut -c1-2)/$(echo $blob | cut -c3-4)/$blob"
chmod u+w "$f"; printf 'X' | dd of="$f" bs=1 seek=100 conv=notrunc 2>/dev/null
check_fails "fsck reports a corrupted blob" "$TP" --home "$T/ref" fsck

# --- isolation: a crashing or hanging codec fails that asset only ---------
rm -rf "$T/iso"; cp -r "$T/base" "$T/iso"; before=$(state "$T/iso")
TP_CRASH_AT=encode_child "$TP" --home "$T/iso" run --policy $P --now $NOW --json >"$T/iso.json" 2>"$T/iso.err"
st=$?
[ $st -eq 1 ] && [ "$(jget "$T/iso.json" failed)" -ge 5 ] &&
    grep -q "crashed: signal 11\|without a complete answer" "$T/iso.err" && [ "$(sqlite3 "$T/iso/catalog.db" "SELECT count(*) FROM assets WHERE current_blob != original_blob")" = 0 ] &&
    ok "a codec crash (SIGSEGV in the worker) fails those assets only; the run finishes, exit 1" ||
    notok "worker crash isolation" "status $st $(tail -2 "$T/iso.err")"
# (under ASan the sanitizer turns the SIGSEGV into an exit with a report)
sqlite3 "$T/iso/catalog.db" "SELECT result FROM jobs WHERE state = 'failed' LIMIT 1" | grep -q "crashed\|complete answer" &&
    ok "the failure reason is recorded in the job" || notok "failure reason recorded"
check "fsck clean after worker crashes" "$TP" --home "$T/iso" fsck
rm -rf "$T/slow"; cp -r "$T/base" "$T/slow"
# deterministic, whatever the machine's speed: the hook makes one asset's
# child sleep past a 1-second limit; the others keep the default limit
hang=$(sqlite3 "$T/slow/catalog.db" "SELECT id FROM assets WHERE format = 'png' LIMIT 1")
TP_FAULT_HANG_ASSET=$hang "$TP" --home "$T/slow" run --policy $P --now $NOW --json >"$T/slow.json" 2>"$T/slow.err"
grep -q "timed out after 1 s" "$T/slow.err" && [ "$(jget "$T/slow.json" transcoded)" -ge 4 ] &&
    [ "$(jget "$T/slow.json" retried)" = 1 ] &&
    [ "$(sqlite3 "$T/slow/catalog.db" "SELECT state || ' ' || error_permanent FROM jobs WHERE asset_id = $hang")" = "queued 0" ] &&
    ok "a worker over its time limit is killed and recorded (temporary: queued for a retry); the others go on" ||
    notok "timeout isolation" "$(cat "$T/slow.json") $(tail -2 "$T/slow.err")"

# bad input
check_fails "run without --policy" "$TP" --home "$T/ref" run
check_fails "run with a broken policy" "$TP" --home "$T/ref" run --policy tests/policies/bad/$(ls tests/policies/bad | head -1)

# --- videos: the cold tier re-encodes to HEVC, verified, swapped ----------
rm -rf "$T/v"
"$TP" --home "$T/v" ingest "$SAMPLES/clip-320x240-h264-aac-1.2s.mp4" "$SAMPLES/clip-cockatoo-640x360-vp9-opus-3s.webm" >/dev/null 2>&1
"$TP" --home "$T/v" run --policy tests/policies/video.yaml --now $NOW --json >"$T/v.json" 2>"$T/v.err"
[ "$(jget "$T/v.json" transcoded)" = 2 ] && ok "video cold tier: both clips re-encoded and swapped" ||
    notok "video cold tier" "$(cat "$T/v.json") $(tail -2 "$T/v.err")"
for id in $(sqlite3 "$T/v/catalog.db" "SELECT id FROM assets"); do
    sqlite3 "$T/v/catalog.db" "SELECT current_blob, original_blob FROM assets WHERE id = $id" | tr '|' ' ' >"$T/b"
    read cur orig <"$T/b"
    pc="$T/v/blobs/$(echo $cur | cut -c1-2)/$(echo $cur | cut -c3-4)/$cur"
    po="$T/v/blobs/$(echo $orig | cut -c1-2)/$(echo $orig | cut -c3-4)/$orig"
    vc=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "$pc")
    ct1=$(ffprobe -v error -show_entries format_tags=creation_time -of csv=p=0 "$po")
    ct2=$(ffprobe -v error -show_entries format_tags=creation_time -of csv=p=0 "$pc")
    y=$(ffmpeg -nostdin -v info -i "$po" -i "$pc" -lavfi "[0:v][1:v]ssim" -f null - 2>&1 | sed -n 's/.*SSIM Y:\([0-9.]*\).*/\1/p' | tail -1)
    [ "$vc" = hevc ] && [ "$ct1" = "$ct2" ] && awk "BEGIN{exit !($y > 0.93)}" &&
        ok "video asset $id: HEVC, creation time kept, ffmpeg ssim Y $y over all frames" ||
        notok "video asset $id" "codec $vc, creation '$ct1' vs '$ct2', ssim Y $y"
done
check "fsck clean after video swaps" "$TP" --home "$T/v" fsck
