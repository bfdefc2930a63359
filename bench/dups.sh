#!/bin/sh
# Near-duplicates (issue 18), not a test: the fingerprint's cost at ingest
# per image (added ms and the fraction of the proxies' time) and grouping
# 1 M and 10 M synthetic fingerprints (time, peak memory) against brute
# force.  Prints JSON lines (times in CPU seconds: the machine is shared);
# bench/RESULTS.md "## Near-duplicates" has them.
#   sh bench/dups.sh [T]        T: the distance (default 8, as dups)
set -e
cd "$(dirname "$0")/.."
make -s tierpress
T=${1:-8}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
OBJS=$(find build/src build/codecs -name '*.o' | grep -v 'build/src/cli/main.o' | sort)
INC="$(for d in src/*/; do printf -- '-I%s ' "${d%/}"; done)-Isrc -Icodecs"
PKGS=$(awk '/^PKGS/ { on = 1; sub(/^PKGS *= */, "") } on { c = sub(/\\$/, ""); print; if (!c) exit }' Makefile)
# shellcheck disable=SC2086
cc -std=gnu11 -O2 -D_GNU_SOURCE $INC $(pkg-config --cflags $PKGS) -o "$W/bench_dups" \
    bench/bench_dups.c $OBJS $(pkg-config --libs $PKGS) -lz -lm -pthread
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$W/bench_dups" fp samples/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg \
    samples/photo-nikon-d40-1000x665-exif.jpg samples/photo-iphonexr-4032x3024-exif-icc-p3.heic
/usr/bin/time -f '# %e s wall, %U s user, %M KB max RSS' "$W/bench_dups" group 1000000 "$T"
/usr/bin/time -f '# %e s wall, %U s user, %M KB max RSS' "$W/bench_dups" group 10000000 "$T"
