# Location is removed from XMP by namespace URI and property name, not by
# prefix text (issue 19 #5): every form of crafted XMP, inserted byte for
# byte into a real JPEG, leaves no location in any proxy or in a
# `convert --keep nogps` output, as read by exiftool; other XMP survives.
. tests/lib.sh

have exiftool || { skip "xmp location" "exiftool missing"; exit 0; }
SRC="$SAMPLES/photo-nikon-d40-1000x665-exif.jpg"   # EXIF, no GPS, no XMP

# xmp NAME NSDECLS ATTRS BODY: writes $T/NAME.xmp, a packet with one
# rdf:Description carrying dc:title and xmp:Rating besides the given parts.
xmp() {
    cat >"$T/$1.xmp" <<XMP
<?xpacket begin="﻿" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    $2
    xmp:Rating="4" $3>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">Tierpress XMP test</rdf:li></rdf:Alt></dc:title>
   $4
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
XMP
}
EXIF='xmlns:exif="http://ns.adobe.com/exif/1.0/"'
xmp attr "$EXIF" 'exif:GPSLatitude="52,30.5N" exif:GPSLongitude="13,24.0E" exif:GPSAltitude="34/1"' ''
xmp element "$EXIF" '' '<exif:GPSLatitude>52,30.5N</exif:GPSLatitude>
   <exif:GPSLongitude>13,24.0E</exif:GPSLongitude><exif:GPSAltitude>34/1</exif:GPSAltitude>'
xmp prefix 'xmlns:ex="http://ns.adobe.com/exif/1.0/"' 'ex:GPSLatitude="52,30.5N"' \
    '<ex:GPSLongitude>13,24.0E</ex:GPSLongitude>'
xmp spaces "$EXIF" 'exif:GPSLatitude = "52,30.5N"   exif:GPSLongitude
      =
      '"'"'13,24.0E'"'"'' ''
xmp dji 'xmlns:drone-dji="http://www.dji.com/drone-dji/1.0/"' \
    'drone-dji:GpsLatitude="52.508" drone-dji:GpsLongitude="13.400" drone-dji:GpsLongtitude="13.400" drone-dji:AbsoluteAltitude="+34.0"' \
    '<drone-dji:GpsAltitude>34.0</drone-dji:GpsAltitude>'
xmp places 'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"' \
    'photoshop:City="Berlin" photoshop:State="Berlin" photoshop:Country="Germany" Iptc4xmpCore:Location="Museumsinsel" Iptc4xmpCore:CountryCode="DE"' \
    '<Iptc4xmpExt:LocationCreated><rdf:Bag><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:City>Berlin</Iptc4xmpExt:City><Iptc4xmpExt:Sublocation>Bode-Museum</Iptc4xmpExt:Sublocation></rdf:li></rdf:Bag></Iptc4xmpExt:LocationCreated>
   <Iptc4xmpExt:LocationShown><rdf:Bag><rdf:li rdf:parseType="Resource"><Iptc4xmpExt:CountryName>Germany</Iptc4xmpExt:CountryName></rdf:li></rdf:Bag></Iptc4xmpExt:LocationShown>'
# not well-formed (unclosed element): dropped whole when location is removed
xmp broken "$EXIF" 'exif:GPSLatitude="52,30.5N"' '<exif:GPSLongitude>13,24.0E'

# a DTD whose entity carries a GPS element: dropped whole too
cat >"$T/dtd.xmp" <<'XMP'
<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>
<!DOCTYPE x:xmpmeta [<!ENTITY g "<exif:GPSLatitude>52,30.5N</exif:GPSLatitude>">]>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
 <rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/">&g;</rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>
XMP

LOC='gps|location|city|state|country|sublocation'
forms="attr element prefix spaces dji places broken dtd"
mkdir -p "$T/in"
for f in $forms; do
    "$PY" tests/tools/jpeg_xmp.py "$SRC" "$T/$f.xmp" "$T/in/$f.jpg"
    # the test's premise: exiftool reads the location in the source
    n=$(exiftool -ee -a -G1 -XMP:all "$T/in/$f.jpg" | grep -Eic "$LOC")
    if [ $f = broken ] || [ $f = dtd ] || [ "$n" -gt 0 ]; then ok "$f: source carries location ($n exiftool lines)"
    else notok "$f: source carries location" "exiftool finds none"; fi
done

# noloc FILE LABEL [KEEPS]: exiftool finds no location in FILE's XMP; with
# KEEPS=1 the title and rating survived.
noloc() {
    out=$(exiftool -ee -a -G1 -XMP:all "$1" 2>&1 | grep "^\[")
    if echo "$out" | grep -Eiq "$LOC"; then notok "$2: no location" "$(echo "$out" | grep -Ei "$LOC" | head -n 3 | tr '\n' ' ')"
    else ok "$2: no location"; fi
    [ "${3:-1}" = 1 ] || return 0
    if echo "$out" | grep -q "Title *: Tierpress XMP test" && echo "$out" | grep -q "Rating *: 4"; then
        ok "$2: dc:title and xmp:Rating kept"
    else notok "$2: dc:title and xmp:Rating kept" "$(echo "$out" | tr '\n' ' ')"; fi
}

for f in $forms; do
    keeps=1
    case $f in broken | dtd) keeps=0 ;; esac
    for to in jpg webp png; do
        err=$("$TP" convert "$T/in/$f.jpg" "$T/$f-nogps.$to" --keep nogps 2>&1 >/dev/null) ||
            { notok "$f -> $to" "$err"; continue; }
        noloc "$T/$f-nogps.$to" "$f convert --keep nogps -> $to" $keeps
    done
    # --keep all leaves the packet as it was
    "$TP" convert "$T/in/$f.jpg" "$T/$f-all.jpg" --keep all >/dev/null 2>&1
    if [ $f = dtd ]; then :
    elif [ $f != broken ] && exiftool -ee -a -G1 -XMP:all "$T/$f-all.jpg" | grep -Eiq "$LOC"; then
        ok "$f convert --keep all keeps the location"
    elif [ $f != broken ]; then notok "$f convert --keep all keeps the location"; fi
done

# the malformed packet is dropped, and the drop is said
err=$("$TP" convert "$T/in/broken.jpg" "$T/b.jpg" --keep nogps 2>&1 >/dev/null)
if echo "$err" | grep -q "XMP packet ([0-9]* bytes) dropped: XMP packet is not well-formed XML"; then
    ok "malformed XMP: dropped, with a warning"
else notok "malformed XMP: dropped, with a warning" "$err"; fi
[ -z "$(exiftool -XMP:all "$T/b.jpg" | grep "^[A-Z]" | grep -v "^Warning")" ] && ok "malformed XMP: no XMP in the output" ||
    notok "malformed XMP: no XMP in the output" "$(exiftool -XMP:all "$T/b.jpg")"
err=$("$TP" convert "$T/in/dtd.jpg" "$T/d.jpg" --keep nogps 2>&1 >/dev/null)
echo "$err" | grep -q "XMP packet ([0-9]* bytes) dropped: XMP packet has a DTD" && ok "XMP with a DTD: dropped, with a warning" ||
    notok "XMP with a DTD: dropped, with a warning" "$err"
if grep -aq "GPSLatitude" "$T/d.jpg"; then notok "XMP with a DTD: no GPS bytes in the output"
else ok "XMP with a DTD: no GPS bytes in the output"; fi

# ingest: every proxy of every form is location-free
err=$("$TP" --home "$T/home" ingest "$T/in" 2>&1 >/dev/null)
[ $? -eq 0 ] && ok "ingest of the crafted JPEGs" || notok "ingest of the crafted JPEGs" "$err"
"$TP" --home "$T/home" ls --json >"$T/ls.json"
"$PY" -c '
import json, sys
for l in open(sys.argv[1]):
    a = json.loads(l)
    for r in a["renditions"]:
        print(a["id"], r["name"])' "$T/ls.json" >"$T/rend.txt"
nrend=$(grep -c . "$T/rend.txt")
[ "$nrend" -ge 16 ] && ok "ingest made $nrend proxies" || notok "ingest made proxies" "$nrend"
while read -r id name; do
    "$TP" --home "$T/home" get "$id" --rendition "$name" -o "$T/proxy-$id-$name" &&
        noloc "$T/proxy-$id-$name" "asset $id $name proxy" 0
done <"$T/rend.txt"
# the title survives in the proxies of well-formed packets
"$TP" --home "$T/home" get 1 --rendition preview -o "$T/p1" &&
    exiftool -XMP-dc:Title "$T/p1" | grep -q "Tierpress XMP test" && ok "proxy keeps dc:title" ||
    notok "proxy keeps dc:title" "$(exiftool -XMP:all "$T/p1")"

# info sees GPS in XMP by namespace too (other prefix, DJI)
for f in prefix dji; do
    "$TP" info "$T/in/$f.jpg" --json >"$T/info-$f.json"
    [ "$(jget "$T/info-$f.json" gps)" = true ] && ok "info: $f XMP location -> gps true" ||
        notok "info: $f XMP location -> gps true" "$(cat "$T/info-$f.json")"
done
