#ifndef TP_SRC_XMP_H
#define TP_SRC_XMP_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/* XMP packets parsed as XML (libxml2).  Location is found by namespace URI
 * and property name, whatever the prefix and whether the property is
 * written as an attribute of rdf:Description or as an element:
 *   exif (http://ns.adobe.com/exif/1.0/) and exifEX (http://cipa.jp/exif/1.0/)
 *     GPS*;
 *   drone-dji (http://www.dji.com/drone-dji/1.0/) Gps*;
 *   Iptc4xmpCore Location, CountryCode; photoshop City, State, Country;
 *   Iptc4xmpExt LocationCreated, LocationShown.
 * The first three are the GPS coordinates (XMP_LOC_GPS), the others place
 * names (XMP_LOC_PLACE). */
enum xmp_loc {
    XMP_LOC_GPS = 1 << 0,
    XMP_LOC_PLACE = 1 << 1,
    XMP_LOC_ALL = XMP_LOC_GPS | XMP_LOC_PLACE,
};

/* Removes the location properties of the kinds in `which` from the packet
 * in x, in place, keeping everything else.  Returns the number of
 * properties removed (x untouched when 0), or TP_ERR_INVALIDDATA when the
 * packet is not well-formed XML or has a DTD (x untouched; the caller
 * decides). */
int xmp_strip_location(struct tp_buf *x, unsigned which);

/* The number of location properties of the kinds in `which` in the packet
 * (borrowed), or TP_ERR_INVALIDDATA when it does not parse. */
int xmp_count_location(const uint8_t *data, size_t len, unsigned which);

#endif /* TP_SRC_XMP_H */
