#ifndef TP_SRC_META_H
#define TP_SRC_META_H

#include <stdint.h>

#include "mem.h"

/* Metadata carried unparsed from decoder to encoder.
 * exif: a TIFF structure starting "II*\0" or "MM\0*" (no "Exif\0\0" prefix:
 *       each adapter adds or strips its container's framing).
 * xmp:  the XMP packet (UTF-8 XML).
 * icc:  the ICC profile.
 * orientation: display orientation 1..8 (EXIF semantics) of the pixels as
 *       decoded.  Encoders must make the output display the same way (see
 *       README "Orientation"); when it disagrees with the EXIF tag, the EXIF
 *       tag is rewritten. */
struct meta {
    struct tp_buf exif;
    struct tp_buf xmp;
    struct tp_buf icc;
    int orientation;
};

enum meta_keep {
    META_KEEP_EXIF = 1 << 0,
    META_KEEP_XMP = 1 << 1,
    META_KEEP_ICC = 1 << 2,
    META_KEEP_GPS = 1 << 3, /* location inside EXIF and XMP */
    META_KEEP_ALL = META_KEEP_EXIF | META_KEEP_XMP | META_KEEP_ICC | META_KEEP_GPS,
    META_KEEP_NOGPS = META_KEEP_EXIF | META_KEEP_XMP | META_KEEP_ICC,
    META_KEEP_NONE = 0,
};

/* Set by encoders in *dropped_out for blocks the format cannot hold. */
enum meta_flags {
    META_HAS_EXIF = 1 << 0,
    META_HAS_XMP = 1 << 1,
    META_HAS_ICC = 1 << 2,
};

void meta_init(struct meta *m);
void meta_free(struct meta *m);
int meta_copy(struct meta *dst, const struct meta *src);
/* Which of META_HAS_* are present. */
unsigned meta_present(const struct meta *m);

/* The one place the keep mask is applied: drops blocks not in keep; without
 * META_KEEP_GPS removes GPS from EXIF and location properties from XMP.
 * Also rewrites the EXIF orientation tag to m->orientation. */
int meta_apply_keep(struct meta *m, unsigned keep);
/* Parses "all", "nogps", "none" (also "exif,xmp,icc,gps" lists). */
int meta_parse_keep(const char *s, unsigned *keep_out);

#endif /* TP_SRC_META_H */
