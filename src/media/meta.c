/* Metadata blocks and the one place the keep mask is applied. */
#include <string.h>

#include "err.h"
#include "exif.h"
#include "meta.h"

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

/* Removes location from an XMP packet: attributes and elements whose name
 * starts with "exif:GPS" (the XMP mapping of the EXIF GPS IFD). */
static void xmp_strip_gps(struct tp_buf *x)
{
    static const char key[] = "exif:GPS";
    size_t i = 0;
    while (i + sizeof(key) - 1 <= x->len) {
        char *p = memmem(x->data + i, x->len - i, key, sizeof(key) - 1);
        if (!p)
            break;
        size_t s = (size_t)((uint8_t *)p - x->data), e = 0;
        if (s > 0 && x->data[s - 1] == '<') {
            /* element: <exif:GPSx ...>...</exif:GPSx> or <exif:GPSx .../> */
            size_t n = s;
            while (n < x->len && x->data[n] != ' ' && x->data[n] != '>' && x->data[n] != '/')
                n++;
            size_t namelen = n - s;
            char close[80];
            if (namelen + 4 < sizeof(close)) {
                close[0] = '<';
                close[1] = '/';
                memcpy(close + 2, x->data + s, namelen);
                close[namelen + 2] = '>';
                char *c = memmem(x->data + s, x->len - s, close, namelen + 3);
                char *sc = memmem(x->data + s, x->len - s, "/>", 2);
                char *gt = memmem(x->data + s, x->len - s, ">", 1);
                if (sc && gt && sc + 1 == gt)
                    e = (size_t)((uint8_t *)gt - x->data) + 1;
                else if (c)
                    e = (size_t)((uint8_t *)c - x->data) + namelen + 3;
            }
            s--;
        } else {
            /* attribute: exif:GPSx="..." */
            char *eq = memchr(p, '=', x->len - s);
            if (eq && (size_t)((uint8_t *)eq - x->data) + 1 < x->len) {
                char q = eq[1];
                char *end = (q == '"' || q == '\'') ?
                            memchr(eq + 2, q, x->len - (size_t)((uint8_t *)eq + 2 - x->data)) : NULL;
                if (end)
                    e = (size_t)((uint8_t *)end - x->data) + 1;
            }
        }
        if (!e) {
            i = s + sizeof(key) - 1;
            continue;
        }
        memmove(x->data + s, x->data + e, x->len - e);
        x->len -= e - s;
        i = s;
    }
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
    if (m->xmp.len && !(keep & META_KEEP_GPS))
        xmp_strip_gps(&m->xmp);
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
