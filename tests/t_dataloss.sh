#!/bin/sh
# Data loss and exposure (issue 19 items 1, 3, 4, 6, 7, 12; issue 16 "only
# ingest creates a home"): gc during ingest keeps the new originals; get
# never serves corrupt bytes; blobs a lost catalog transaction orphaned are
# kept, named and adopted back; homes are private and outputs follow the
# umask; FIFOs are refused, not waited on; a read-only home and a full disk
# can still be read, checked and collected.
. "${TP_ROOT:-.}/tests/lib.sh"

IMGS="photo-nikon-d40-1000x665-exif.jpg photo-rose-lossy.webp photo-500x500-gray8.png
photo-iphone4s-180x135-exif-gps.jpg photo-panasonic-gf1-640x428-exif-orient6.jpg
frame-150x103-rgb16.tiff"
mkdir -p "$T/in"
for f in $IMGS; do cp "$SAMPLES/$f" "$T/in/"; done
n_in=$(echo $IMGS | wc -w)
blobpath() { echo "$1/blobs/$(echo "$2" | cut -c1-2)/$(echo "$2" | cut -c3-4)/$2"; }
# every file of directory $2 is an asset of home $1 whose `get` is byte-exact
all_back() {
    for f in "$2"/*; do
        sha=$(sha256sum "$f" | cut -d' ' -f1)
        "$TP" --home "$1" get "$sha" -o "$T/back" 2>/dev/null && cmp -s "$f" "$T/back" || return 1
    done
}

# --- issue 16: only ingest creates a home ----------------------------------
bad=0
for cmd in "ls" "fsck" "gc" "get 1 -o $T/x" "policy explain policies/default.yaml 1" \
           "run --policy policies/default.yaml"; do
    # shellcheck disable=SC2086
    if "$TP" --home "$T/typo/home" $cmd >/dev/null 2>"$T/err"; then bad=$((bad + 1)); fi
    grep -q "no tierpress home" "$T/err" || bad=$((bad + 1))
done
[ $bad -eq 0 ] && [ ! -e "$T/typo" ] && ok "a missing home is refused by ls, fsck, gc, get, policy explain, run, and not created" ||
    notok "missing home" "$bad failures; $(cat "$T/err")"

# --- item 6: a new home is private; outputs follow the umask ---------------
(umask 077 && "$TP" --home "$T/p" ingest "$T/in" >/dev/null 2>&1)
modes=$(find "$T/p" -path "$T/p/blobs/tmp" -prune -o -type d -printf '%m\n' | sort -u | tr '\n' ' ')
fmodes=$(find "$T/p/blobs" -type f -printf '%m\n' | sort -u | tr '\n' ' ')
cmode=$(stat -c %a "$T/p/catalog.db")
[ "$modes" = "700 " ] && [ "$fmodes" = "400 " ] && [ "$cmode" = 600 ] &&
    ok "new home: directories 0700, blobs 0400, catalog 0600" ||
    notok "home permissions" "dirs '$modes' blobs '$fmodes' catalog $cmode"
rm -rf "$T/p22"
(umask 022 && "$TP" --home "$T/p22" ingest "$T/in/photo-rose-lossy.webp" >/dev/null 2>&1)
[ "$(stat -c %a "$T/p22")" = 700 ] && [ "$(stat -c %a "$T/p22/catalog.db")" = 600 ] &&
    ok "new home is private under umask 022 too" || notok "home under 022" "$(stat -c %a "$T/p22" "$T/p22/catalog.db")"
sha=$(sha256sum "$T/in/photo-rose-lossy.webp" | cut -d' ' -f1)
m77=$(umask 077 && "$TP" --home "$T/p" get "$sha" -o "$T/g77" && stat -c %a "$T/g77")
m22=$(umask 022 && "$TP" --home "$T/p" get "$sha" -o "$T/g22" && stat -c %a "$T/g22")
c77=$(umask 077 && "$TP" convert "$T/in/photo-rose-lossy.webp" "$T/c77.jpg" >/dev/null && stat -c %a "$T/c77.jpg")
c22=$(umask 022 && "$TP" convert "$T/in/photo-rose-lossy.webp" "$T/c22.jpg" >/dev/null && stat -c %a "$T/c22.jpg")
[ "$m77" = 600 ] && [ "$m22" = 644 ] && [ "$c77" = 600 ] && [ "$c22" = 644 ] &&
    ok "get -o and convert outputs: 0600 under umask 077, 0644 under 022" ||
    notok "output modes" "get $m77/$m22 convert $c77/$c22"

# --- item 7: FIFOs are refused at once, never waited on --------------------
mkfifo "$T/fifo.jpg"
timeout 20 "$TP" info "$T/fifo.jpg" >/dev/null 2>"$T/err"; st=$?
[ $st -ne 0 ] && [ $st -ne 124 ] && grep -q "FIFO" "$T/err" && grep -q "fifo.jpg" "$T/err" &&
    ok "info on a FIFO: a clear error naming it, no hang" || notok "info FIFO" "status $st: $(cat "$T/err")"
timeout 20 "$TP" convert "$T/fifo.jpg" "$T/out.webp" >/dev/null 2>"$T/err"; st=$?
[ $st -ne 0 ] && [ $st -ne 124 ] && grep -q "FIFO" "$T/err" && [ ! -e "$T/out.webp" ] &&
    ok "convert from a FIFO: refused, no hang, no output" || notok "convert FIFO" "status $st: $(cat "$T/err")"
mkfifo "$T/events.csv"
timeout 20 "$TP" --home "$T/f0" access import "$T/events.csv" >/dev/null 2>"$T/err"; st=$?
[ $st -ne 0 ] && [ $st -ne 124 ] && grep -q "FIFO" "$T/err" && grep -q "events.csv" "$T/err" &&
    ok "access import of a FIFO: refused at once, named" || notok "access FIFO" "status $st: $(cat "$T/err")"
mkdir -p "$T/withfifo"; cp "$T/in/photo-rose-lossy.webp" "$T/withfifo/"; mkfifo "$T/withfifo/x.jpg"
timeout 20 "$TP" --home "$T/f" ingest "$T/withfifo" >"$T/out" 2>"$T/err"; st=$?
[ $st -eq 0 ] && grep -q "x.jpg: skipped: a FIFO" "$T/err" && grep -q "^1 ingested" "$T/out" &&
    ok "ingest of a directory holding a FIFO skips it with a message" ||
    notok "ingest FIFO" "status $st: $(cat "$T/err" "$T/out")"

# --- item 1: gc while an ingest holds stored but uncommitted blobs ---------
# TP_INGEST_HOLD stops each ingest between storing its blobs and committing
# them, so the gc runs in that window every time (no timing involved).
bad=0 trials=0
for f in $(echo $IMGS | cut -d' ' -f1-5); do
    trials=$((trials + 1))
    rm -rf "$T/race" "$T/hold"; mkdir -p "$T/hold"
    "$TP" --home "$T/race" ingest "$T/in/photo-iphone4s-180x135-exif-gps.jpg" >/dev/null 2>&1
    TP_INGEST_HOLD="$T/hold" "$TP" --home "$T/race" ingest "$T/in/$f" >/dev/null 2>&1 &
    pid=$!
    i=0; while [ ! -e "$T/hold/stored" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
    "$TP" --home "$T/race" gc >/dev/null 2>&1 || bad=$((bad + 1))
    touch "$T/hold/go"; wait $pid || bad=$((bad + 1))
    sha=$(sha256sum "$T/in/$f" | cut -d' ' -f1)
    "$TP" --home "$T/race" fsck >/dev/null 2>&1 && "$TP" --home "$T/race" get "$sha" -o "$T/back" 2>/dev/null &&
        cmp -s "$T/in/$f" "$T/back" || bad=$((bad + 1))
done
# control: the same window with no grace loses the held blobs, so the hook
# really holds the ingest where an unguarded gc deletes them
rm -rf "$T/race" "$T/hold"; mkdir -p "$T/hold"
"$TP" --home "$T/race" ingest "$T/in/photo-iphone4s-180x135-exif-gps.jpg" >/dev/null 2>&1
TP_INGEST_HOLD="$T/hold" "$TP" --home "$T/race" ingest "$T/in/photo-rose-lossy.webp" >/dev/null 2>&1 &
pid=$!
i=0; while [ ! -e "$T/hold/stored" ] && [ $i -lt 2000 ]; do sleep 0.01; i=$((i + 1)); done
"$TP" --home "$T/race" gc --orphan-grace 0 --json >"$T/gc0.json" 2>&1
touch "$T/hold/go"; wait $pid
deleted0=$(jget "$T/gc0.json" orphans_deleted 2>/dev/null)
"$TP" --home "$T/race" fsck >/dev/null 2>&1 && control=clean || control=broken
[ $bad -eq 0 ] && [ "$control" = broken ] && [ "${deleted0:-0}" -ge 1 ] &&
    ok "gc inside the store-to-commit window of $trials ingests: fsck clean, every original byte-exact (with --orphan-grace 0 the same gc deletes $deleted0 held blobs)" ||
    notok "gc in the ingest window" "$bad failures in $trials trials; control: $control, $(cat "$T/gc0.json")"
# and a plain loop of gc during whole ingests, 5 trials
bad=0
for trial in 1 2 3 4 5; do
    rm -rf "$T/loop"
    "$TP" --home "$T/loop" ingest "$T/in/photo-iphone4s-180x135-exif-gps.jpg" >/dev/null 2>&1
    (while [ ! -e "$T/loop.stop" ]; do "$TP" --home "$T/loop" gc >/dev/null 2>&1; done) &
    gcpid=$!
    "$TP" --home "$T/loop" ingest "$T/in" >/dev/null 2>&1 || bad=$((bad + 1))
    touch "$T/loop.stop"; wait $gcpid; rm -f "$T/loop.stop"
    "$TP" --home "$T/loop" fsck >/dev/null 2>&1 && all_back "$T/loop" "$T/in" || bad=$((bad + 1))
done
[ $bad -eq 0 ] && ok "a gc loop during 5 ingests of $n_in files: fsck clean, every file's asset byte-exact" ||
    notok "gc loop during ingest" "$bad bad trials"
# the grace is by age: an old orphan goes, --orphan-grace is reported
"$TP" --home "$T/loop" gc --json >"$T/gc.json"
[ "$(jget "$T/gc.json" orphan_grace_s)" = 86400 ] && ok "gc --json reports the 24 h orphan grace" || notok "gc json" "$(cat "$T/gc.json")"
"$TP" gc --help | grep -q -- "--orphan-grace" && ok "gc --help shows --orphan-grace" || notok "gc help"

# --- item 3: get verifies by default ---------------------------------------
cp -r "$T/loop" "$T/bad"
n=0 bad=0
for f in "$T"/in/*; do
    n=$((n + 1)); [ $n -gt 4 ] && break
    sha=$(sha256sum "$f" | cut -d' ' -f1); p=$(blobpath "$T/bad" "$sha")
    chmod u+w "$p"; printf 'XXXX' | dd of="$p" bs=1 seek=60 conv=notrunc 2>/dev/null
    rm -f "$T/out.bin"
    "$TP" --home "$T/bad" get "$sha" -o "$T/out.bin" 2>"$T/err"; st=$?
    [ $st -ne 0 ] && [ ! -e "$T/out.bin" ] && grep -q "stored blob $sha is corrupt" "$T/err" &&
        grep -q "asset" "$T/err" || bad=$((bad + 1))
    "$TP" --home "$T/bad" get "$sha" -o - >/dev/null 2>&1 && bad=$((bad + 1))
    "$TP" --home "$T/bad" get --no-verify "$sha" -o "$T/out.bin" 2>/dev/null && cmp -s "$p" "$T/out.bin" ||
        bad=$((bad + 1))
done
[ $bad -eq 0 ] && ok "get refuses 4 of 4 corrupted blobs (error names asset and blob, no output file); --no-verify serves them" ||
    notok "get verify" "$bad failures; $(cat "$T/err")"
"$TP" --home "$T/bad" fsck >"$T/fsck.out" 2>&1; st=$?
[ $st -eq 1 ] && [ "$(grep -c 'stored original of asset' "$T/fsck.out")" -eq 4 ] &&
    ok "fsck names the 4 assets whose stored original no longer matches its hash" ||
    notok "fsck corrupt originals" "status $st: $(head -n 5 "$T/fsck.out")"

# --- item 4: a lost WAL: orphans kept by gc, named by fsck, adopted back ---
rm -rf "$T/wal"
"$TP" --home "$T/wal" ingest "$T/in/photo-iphone4s-180x135-exif-gps.jpg" >/dev/null 2>&1
TP_CRASH_AT=ingest_stored:$((n_in - 1)) "$TP" --home "$T/wal" ingest "$T/in" >/dev/null 2>&1
rm -f "$T/wal/catalog.db-wal" "$T/wal/catalog.db-shm"
"$TP" --home "$T/wal" fsck >"$T/fsck.out" 2>&1; st=$?
norph=$(grep -c '^orphan' "$T/fsck.out")
[ $st -eq 0 ] && [ "$norph" -ge $(( (n_in - 1) * 2 )) ] &&
    grep -q "^$norph blobs with no catalog row: \`tierpress fsck --adopt\` re-catalogs them" "$T/fsck.out" &&
    ok "after kill -9 and a deleted WAL, fsck names $norph recoverable blobs" ||
    notok "fsck orphans" "status $st, $norph: $(tail -n 3 "$T/fsck.out")"
"$TP" --home "$T/wal" gc --json >"$T/gc.json" 2>&1
[ "$(jget "$T/gc.json" orphans_deleted)" = 0 ] && [ "$(jget "$T/gc.json" young_kept)" -ge "$norph" ] &&
    ok "gc within the grace keeps all $norph of them" || notok "gc keeps orphans" "$(cat "$T/gc.json")"
nbefore=$("$TP" --home "$T/wal" ls --json | grep -c '"id":')
"$TP" --home "$T/wal" fsck --adopt --json >"$T/adopt.json" 2>&1
"$TP" --home "$T/wal" fsck --json >"$T/f.json" 2>&1; st=$?
nas=$("$TP" --home "$T/wal" ls --json | grep -c '"id":')
[ "$nbefore" -lt "$n_in" ] && [ $st -eq 0 ] && [ "$(tail -n 1 "$T/f.json" | grep -c '"orphans":0,')" = 1 ] && [ "$nas" -eq "$n_in" ] &&
    all_back "$T/wal" "$T/in" &&
    ok "fsck --adopt brings the $((n_in - 1)) lost assets back (proxies attached, no orphans, originals byte-exact)" ||
    notok "adopt" "$nbefore assets before, status $st, $nas after: $(tail -n 2 "$T/adopt.json" "$T/f.json")"

# --- item 12: a read-only home; a full disk ---------------------------------
if mkdir -p "$T/ro" && mount --bind "$T/loop" "$T/ro" 2>/dev/null && mount -o remount,ro,bind "$T/ro" 2>/dev/null; then
    sha=$(sha256sum "$T/in/photo-rose-lossy.webp" | cut -d' ' -f1)
    bad=""
    "$TP" --home "$T/ro" ls >/dev/null 2>"$T/err" || bad="$bad ls"
    "$TP" --home "$T/ro" get "$sha" -o "$T/ro.webp" 2>>"$T/err" && cmp -s "$T/ro.webp" "$T/in/photo-rose-lossy.webp" || bad="$bad get"
    "$TP" --home "$T/ro" fsck >/dev/null 2>>"$T/err" || bad="$bad fsck"
    "$TP" --home "$T/ro" policy explain policies/default.yaml 1 >/dev/null 2>>"$T/err" || bad="$bad explain"
    "$TP" --home "$T/ro" simulate --policy policies/default.yaml >/dev/null 2>>"$T/err" || bad="$bad simulate"
    [ -z "$bad" ] && ok "a read-only home: ls, get, fsck, policy explain, simulate work" ||
        notok "read-only home" "failed:$bad: $(head -n 3 "$T/err")"
    umount "$T/ro"
else
    skip "read-only home" "bind mounts are not allowed here"
fi
if mkdir -p "$T/full" && mount -t tmpfs -o size=24m tmpfs "$T/full" 2>/dev/null; then
    "$TP" --home "$T/full/h" ingest "$T/in" >/dev/null 2>&1
    # garbage for gc: JPEG originals replaced by JPEG XL, past their 30-day
    # grace at --now 2031-07-15, and an unreferenced blob
    "$TP" --home "$T/full/h" run --policy tests/policies/run.yaml --now 2031-06-01 --no-progress >/dev/null 2>&1
    printf 'junk' >"$T/junk"; jsha=$(sha256sum "$T/junk" | cut -d' ' -f1); jp=$(blobpath "$T/full/h" "$jsha")
    mkdir -p "$(dirname "$jp")"; cp "$T/junk" "$jp"
    # uploaded and transcoded days ago: past the orphan grace once released
    find "$T/full/h/blobs" -type f -exec touch -d '3 days ago' {} +
    [ -f "$T/full/h/reserve" ] && ok "a new home keeps a disk reserve for gc" || notok "reserve" "no $T/full/h/reserve"
    dd if=/dev/zero of="$T/full/filler" bs=64k 2>/dev/null
    sha=$(sha256sum "$T/in/photo-nikon-d40-1000x665-exif.jpg" | cut -d' ' -f1)
    bad=""
    "$TP" --home "$T/full/h" ls >/dev/null 2>"$T/err" || bad="$bad ls"
    "$TP" --home "$T/full/h" get "$sha" -o "$T/full.jpg" 2>>"$T/err" && cmp -s "$T/full.jpg" "$T/in/photo-nikon-d40-1000x665-exif.jpg" || bad="$bad get"
    "$TP" --home "$T/full/h" fsck >/dev/null 2>>"$T/err" || bad="$bad fsck"
    [ -z "$bad" ] && ok "a full disk: ls, get, fsck work" || notok "full disk reads" "failed:$bad: $(head -n 3 "$T/err")"
    "$TP" --home "$T/full/h" gc --now 2031-07-15 --json >"$T/gc.json" 2>"$T/err"; st=$?
    [ $st -eq 0 ] && [ "$(jget "$T/gc.json" orphans_deleted)" = 1 ] && [ ! -e "$jp" ] &&
        [ "$(jget "$T/gc.json" originals_released)" -ge 1 ] && [ "$(jget "$T/gc.json" blobs_deleted)" -ge 1 ] &&
        "$TP" --home "$T/full/h" fsck >/dev/null 2>&1 &&
        "$TP" --home "$T/full/h" get "$sha" -o "$T/full2.jpg" 2>/dev/null && cmp -s "$T/full2.jpg" "$T/in/photo-nikon-d40-1000x665-exif.jpg" &&
        [ -f "$T/full/h/reserve" ] &&
        ok "a full disk: gc releases the originals past their grace and deletes their blobs and the old orphan; fsck clean; get still byte-exact; reserve made again" ||
        notok "full disk gc" "status $st: $(cat "$T/gc.json" "$T/err")"
    umount "$T/full"
else
    skip "full disk" "tmpfs mounts are not allowed here"
fi
