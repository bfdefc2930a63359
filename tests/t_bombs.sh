# Decompression bombs: files of a few KiB declaring gigapixel images, 100,000
# frames, a 512 MB 16-bit PNG of zeros, looping and 3000-deep EXIF IFD chains
# (tests/tools/bombs.py), a HEIC grid of 4096 tiles (tests/tools/heif_grid.py).  Each is refused (or, for EXIF, read) from its
# declared numbers before the decoder allocates: the child's peak RSS
# (getrusage) stays within 64 MiB of the program's own baseline and its CPU
# time under 1 s (generous bounds, CPU not wall time: not speed-dependent).
# `ingest` decodes in a sandboxed worker, a second start of the program:
# its bound is 1 s beyond what a whole ingest of a small JPEG costs (two
# program starts, noisier than one, and twice that under ASan), so it
# still catches a decode that runs away (the 16-bit PNG without the budget
# takes 2.3 s CPU in the decoder alone).
# The worst figures are printed; docs/reliability.md records them.
. tests/lib.sh

"$PY" tests/tools/bombs.py "$T/b" "$SAMPLES" || notok "bombs generated"
# HEIC grid of 64 x 64 tiles of 64 px (4096 HEVC decodes, 8 KiB); the same
# generator's 8 x 6 grid is a valid picture that decodes
"$PY" tests/tools/heif_grid.py "$T/b/heic-grid-4096-tiles.heic" 64 64 &&
    "$PY" tests/tools/heif_grid.py "$T/grid48.heic" 8 6 || notok "HEIC grids generated"
"$TP" convert "$T/grid48.heic" "$T/grid48.png" >/dev/null 2>&1 &&
    "$PY" -c 'import sys; from PIL import Image; im = Image.open(sys.argv[1]); sys.exit(im.size != (512, 384))' "$T/grid48.png" &&
    ok "a HEIC grid of 48 tiles decodes (512x384)" || notok "HEIC grid of 48 tiles"
cp "$SAMPLES/photo-iphone4s-180x135-exif-gps.jpg" "$T/small.jpg"
# measure OUT CMD...: runs CMD, writes "status cpu_ms rss_kib" then stderr to OUT
cat >"$T/m.py" <<'PYEOF'
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = p.stderr.read().decode(errors="replace")
_, st, ru = os.wait4(p.pid, 0)
code = os.waitstatus_to_exitcode(st)
open(sys.argv[1], "w").write("%d %d %d\n%s" % (code, (ru.ru_utime + ru.ru_stime) * 1000, ru.ru_maxrss, err))
PYEOF
measure() { "$PY" "$T/m.py" "$@"; }
measure "$T/base" "$TP" convert "$T/small.jpg" "$T/small.webp"
read _ base_ms base_kib <"$T/base"
echo "# baseline: convert of a 180x135 JPEG: ${base_ms} ms CPU, $((base_kib / 1024)) MiB RSS"
rm -rf "$T/h"
measure "$T/ibase" "$TP" --home "$T/h" ingest "$T/small.jpg"
read _ ibase_ms _ <"$T/ibase"
worker_ms=$((ibase_ms > base_ms ? ibase_ms - base_ms : 0))
echo "# baseline: ingest of it: ${ibase_ms} ms CPU (the sandboxed worker's start: ${worker_ms} ms)"

worst_ms=0
worst_kib=0
worst=""
for f in "$T"/b/*; do
    name=$(basename "$f")
    for cmd in convert ingest; do
        if [ $cmd = convert ]; then
            TP_DECODE_BUDGET_MB=64 measure "$T/r" "$TP" convert "$f" "$T/out.jpg"
        else
            rm -rf "$T/h"
            TP_DECODE_BUDGET_MB=64 measure "$T/r" "$TP" --home "$T/h" ingest "$f"
        fi
        read st ms kib <"$T/r"
        msg=$(sed -n 2p "$T/r")
        [ "$ms" -gt "$worst_ms" ] && worst_ms=$ms
        [ "$kib" -gt "$worst_kib" ] && worst_kib=$kib && worst="$name ($cmd)"
        case $name in
        exif-*)
            # a valid picture with a hostile EXIF block: read, loops cut
            [ "$st" -eq 0 ] && res=1 || res=0 ;;
        *)
            [ "$st" -gt 0 ] && [ "$st" -lt 128 ] && echo "$msg" | grep -q "^tierpress: .*$name: .*\(limit exceeded\|invalid or corrupt\)" &&
                [ ! -e "$T/out.jpg" ] && res=1 || res=0
            if [ $cmd = ingest ] && [ -d "$T/h" ] && [ -n "$(ls "$T/h/blobs" 2>/dev/null | grep -v tmp)" ]; then res=0; msg="a blob was stored: $msg"; fi ;;
        esac
        cpu_max=1000
        [ $cmd = ingest ] && cpu_max=$((1000 + ibase_ms))
        if [ $res = 1 ] && [ "$ms" -lt $cpu_max ] && [ "$kib" -lt $((base_kib + 65536)) ]; then
            ok "$name $cmd: $([ "$st" = 0 ] && echo read || echo refused) in ${ms} ms CPU, $((kib / 1024)) MiB RSS"
        else
            notok "$name $cmd" "status $st, ${ms} ms CPU, $((kib / 1024)) MiB: $msg"
        fi
        rm -f "$T/out.jpg"
    done
done
echo "# worst: ${worst_ms} ms CPU; $((worst_kib / 1024)) MiB RSS ($worst), baseline $((base_kib / 1024)) MiB"
