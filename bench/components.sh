#!/bin/sh
# bench/components.sh [BEFORE_BIN]: what policies/default.yaml and
# policies/saver.yaml save on a mix where 30 % of the photos carry parts
# (2 motion photos, built from a sample JPEG + clip, and 1 Ultra HDR JPEG),
# with this tierpress and with BEFORE_BIN (a build without the components
# rule).  Bytes "saved" by a representation that lost a part (the video,
# the gain map) are not savings: the "honest" column counts such assets as
# saving nothing.  Whether a representation kept every part is judged by
# this build: a JPEG XL recompression must give the original back byte for
# byte; any other swap of a photo with parts lost them.
set -e
TP=${TP:-./tierpress}
BEFORE=${1:-}
PY=${PY:-/usr/bin/python3}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/mix"
# small photos (<= 480 px) so that saver's search over three codecs stays
# minutes, not hours, on this shared 2-core box: three samples and four
# 480x320 crops of a 1000x665 one (vips, Q 90)
for f in photo-iphone4s-180x135-exif-gps.jpg photo-nikon-d1x-200x130-exif-icc-adobergb-444.jpg; do
    cp "samples/$f" "$T/mix/"
done
for xy in "0 0" "500 0" "0 340" "500 340"; do
    set -- $xy
    vips crop samples/photo-nikon-d40-1000x665-exif.jpg "$T/mix/crop-$1-$2.jpg[Q=90]" "$1" "$2" 480 320
done
cp tests/media/photo-canon-s5is-400x300-exif-gps-422.jpg "$T/mix/"
cp tests/media/gainmap-paris-403x302-mpf-hdrgm.jpg "$T/mix/"
CLIP=samples/clip-320x240-h264-aac-1.2s.mp4
L=$(wc -c <"$CLIP")
for base in photo-iphone4s-180x135-exif-gps photo-nikon-d1x-200x130-exif-icc-adobergb-444; do
    printf '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" GCamera:MicroVideo="1" GCamera:MicroVideoVersion="1" GCamera:MicroVideoOffset="%s"/></rdf:RDF></x:xmpmeta>' "$L" >"$T/x.xmp"
    "$PY" tests/tools/jpeg_xmp.py "samples/$base.jpg" "$T/x.xmp" "$T/mix/motion-$base.jpg"
    cat "$CLIP" >>"$T/mix/motion-$base.jpg"
done
echo "mix: $(ls "$T/mix" | wc -l) photos, $(cat "$T/mix"/* | wc -c) bytes (3 with parts)"
printf '%-8s %-8s %12s %12s %9s %12s %9s %6s\n' build policy bytes_before bytes_after saved honest_after honest lost
for build in ${BEFORE:+before} after; do
    bin=$TP
    [ $build = before ] && bin=$BEFORE
    for pol in default saver; do
        h="$T/h-$build-$pol"
        "$bin" --home "$h" ingest "$T/mix" >/dev/null 2>&1
        s0=$(date +%s)
        "$bin" --home "$h" run --policy "policies/$pol.yaml" --now 2031-06-01 --jobs 2 >/dev/null 2>&1
        s1=$(date +%s)
        lost=0 before_b=0 after_b=0 honest_b=0
        for row in $(sqlite3 "$h/catalog.db" "SELECT sha256 || ':' || current_blob || ':' || bytes FROM assets"); do
            sha=${row%%:*}; rest=${row#*:}; cur=${rest%%:*}; bytes=${rest#*:}
            b="$h/blobs/$(echo "$cur" | cut -c1-2)/$(echo "$cur" | cut -c3-4)/$cur"
            cb=$(wc -c <"$b")
            before_b=$((before_b + bytes)); after_b=$((after_b + cb))
            o="$h/blobs/$(echo "$sha" | cut -c1-2)/$(echo "$sha" | cut -c3-4)/$sha"
            parts=$("$TP" info --json "$o" | "$PY" -c 'import json,sys; d=json.loads(sys.stdin.readline()); print(len([p for p in d.get("components",[]) if p["kind"]!="thumbnail"]))')
            kept=1
            if [ "$cur" != "$sha" ] && [ "$parts" -gt 0 ]; then
                rm -f "$T/back.jpg"
                if ! "$TP" convert "$b" "$T/back.jpg" >/dev/null 2>&1 || ! cmp -s "$T/back.jpg" "$o"; then kept=0; fi
            fi
            if [ $kept = 1 ]; then honest_b=$((honest_b + cb)); else honest_b=$((honest_b + bytes)); lost=$((lost + 1)); fi
        done
        printf '%-8s %-8s %12d %12d %8.1f%% %12d %8.1f%% %6d  (%ds)\n' $build $pol $before_b $after_b \
            "$(echo "100 * (1 - $after_b / $before_b)" | bc -l)" $honest_b \
            "$(echo "100 * (1 - $honest_b / $before_b)" | bc -l)" $lost $((s1 - s0))
    done
done
