/* Metadata blocks and the one place the keep mask is applied. */
#include <string.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "meta.h"
#include "xmp.h"

void meta_init(struct meta *m)
{
    memset(m, 0, sizeof(*m));
    m->orientation = 1;
}

void meta_free(struct meta *m)
{
    if (!m)
        return;
    buf_free(&m->exif);
    buf_free(&m->xmp);
    buf_free(&m->icc);
    m->orientation = 1;
}

int meta_copy(struct meta *dst, const struct meta *src)
{
    meta_init(dst);
    dst->orientation = src->orientation;
    if (buf_set(&dst->exif, src->exif.data, src->exif.len) < 0 ||
        buf_set(&dst->xmp, src->xmp.data, src->xmp.len) < 0 ||
        buf_set(&dst->icc, src->icc.data, src->icc.len) < 0) {
        meta_free(dst);
        return TP_ERR(ENOMEM);
    }
    return 0;
}

unsigned meta_present(const struct meta *m)
{
    return (m->exif.len ? META_HAS_EXIF : 0) | (m->xmp.len ? META_HAS_XMP : 0) |
           (m->icc.len ? META_HAS_ICC : 0);
}

int meta_apply_keep(struct meta *m, unsigned keep)
{
    if (!(keep & META_KEEP_EXIF))
        buf_free(&m->exif);
    if (!(keep & META_KEEP_XMP))
        buf_free(&m->xmp);
    if (!(keep & META_KEEP_ICC))
        buf_free(&m->icc);
    if (m->exif.len) {
        int off = exif_find_tiff(m->exif.data, m->exif.len);
        if (off < 0) {
            buf_free(&m->exif); /* unreadable EXIF cannot be edited safely */
        } else {
            if (off > 0) {
                memmove(m->exif.data, m->exif.data + off, m->exif.len - (size_t)off);
                m->exif.len -= (size_t)off;
            }
            if (!(keep & META_KEEP_GPS) && exif_strip_gps(m->exif.data, m->exif.len) < 0)
                buf_free(&m->exif);
            else if (exif_set_orientation(m->exif.data, m->exif.len, m->orientation) < 0)
                buf_free(&m->exif);
        }
    }
    /* Formats that carry orientation only in EXIF (JPEG, WebP, PNG) would
     * lose it when the source kept it elsewhere (AVIF/HEIF irot, JXL
     * codestream): give them a minimal EXIF holding just the tag. */
    if (!m->exif.len && m->orientation != 1 && (keep & META_KEEP_EXIF)) {
        uint8_t e[EXIF_MINIMAL_SIZE];
        exif_write_minimal(e, m->orientation);
        if (buf_set(&m->exif, e, sizeof(e)) < 0)
            return TP_ERR(ENOMEM);
    }
    if (m->xmp.len && !(keep & META_KEEP_GPS)) {
        size_t len = m->xmp.len;
        int r = xmp_strip_location(&m->xmp, XMP_LOC_ALL);
        if (r == TP_ERR(ENOMEM))
            return r;
        if (r < 0) {
            /* fail safe: what cannot be parsed cannot be shown location-free */
            tp_log(TP_LOG_WARN, "XMP packet (%zu bytes) dropped: %s, so its location could "
                                "not be removed", len, tp_err_detail());
            tp_err_clear();
            buf_free(&m->xmp);
        }
    }
    return 0;
}

int meta_parse_keep(const char *s, unsigned *keep_out)
{
    if (!strcmp(s, "all"))
        *keep_out = META_KEEP_ALL;
    else if (!strcmp(s, "nogps"))
        *keep_out = META_KEEP_NOGPS;
    else if (!strcmp(s, "none"))
        *keep_out = META_KEEP_NONE;
    else {
        unsigned k = 0;
        const char *p = s;
        while (*p) {
            size_t n = strcspn(p, ",");
            if (n == 4 && !strncmp(p, "exif", 4))
                k |= META_KEEP_EXIF;
            else if (n == 3 && !strncmp(p, "xmp", 3))
                k |= META_KEEP_XMP;
            else if (n == 3 && !strncmp(p, "icc", 3))
                k |= META_KEEP_ICC;
            else if (n == 3 && !strncmp(p, "gps", 3))
                k |= META_KEEP_GPS;
            else
                RETURN_ERR_IF(1, TP_ERR_USAGE, "--keep: expected all, nogps, none or a list of exif,xmp,icc,gps; got '%s'", s);
            p += n;
            if (*p == ',')
                p++;
        }
        *keep_out = k;
    }
    return 0;
}
