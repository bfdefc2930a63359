/* The inventory of a photo's components (see components.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "components.h"
#include "err.h"
#include "json.h"
#include "sha256.h"
#if HAVE_VIDEO
#include "probe.h"
#include "video.h"
#endif

static const char *const kind_names[COMP_NKINDS] = {
    [COMP_GAIN_MAP] = "gain_map", [COMP_DEPTH] = "depth",         [COMP_MATTE] = "matte",
    [COMP_ALPHA] = "alpha",       [COMP_AUX] = "aux",             [COMP_MPF_IMAGE] = "mpf_image",
    [COMP_MOTION] = "motion",     [COMP_ANIMATION] = "animation", [COMP_TRAILING] = "trailing",
    [COMP_THUMBNAIL] = "thumbnail",
};

const char *components_kind_name(enum comp_kind k)
{
    return (unsigned)k < COMP_NKINDS ? kind_names[k] : "?";
}

int components_kind_from_name(const char *name)
{
    for (int k = 0; k < COMP_NKINDS; k++)
        if (!strcmp(name, kind_names[k]))
            return k;
    return -1;
}

struct comp_part *components_add(struct components *c, enum comp_kind k, const char *detail)
{
    if (c->nparts >= COMP_MAX_PARTS)
        return NULL;
    struct comp_part *p = &c->parts[c->nparts++];
    memset(p, 0, sizeof(*p));
    p->kind = k;
    snprintf(p->detail, sizeof(p->detail), "%s", detail ? detail : "");
    return p;
}

int components_count(const struct components *c, enum comp_kind k)
{
    int n = 0;
    for (int i = 0; i < c->nparts; i++)
        n += c->parts[i].kind == k;
    return n;
}

unsigned components_kinds(const struct components *c)
{
    unsigned m = 0;
    for (int i = 0; i < c->nparts; i++)
        m |= 1u << c->parts[i].kind;
    return m;
}

static unsigned be16(const uint8_t *p) { return (unsigned)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]
              : be32(p);
}
static unsigned rd16(const uint8_t *p, int le) { return le ? (unsigned)p[1] << 8 | p[0] : be16(p); }

static const uint8_t *mem_find(const uint8_t *h, size_t hl, const char *n)
{
    return memmem(h, hl, n, strlen(n));
}

/* The number after `name` in XMP text, as an attribute (name="123") or an
 * element (<ns:name>123<); -1 when absent. */
static long long xmp_number(const uint8_t *x, size_t len, const char *name)
{
    const uint8_t *p = mem_find(x, len, name), *end = x + len;
    if (!p)
        return -1;
    p += strlen(name);
    while (p < end && (*p == ' ' || *p == '=' || *p == '"' || *p == '\'' || *p == '>'))
        p++;
    if (p >= end || *p < '0' || *p > '9')
        return -1;
    long long v = 0;
    while (p < end && *p >= '0' && *p <= '9' && v < (1LL << 50))
        v = v * 10 + (*p++ - '0');
    return v;
}

/* ------------------------------------------------------------------ JPEG */

struct jpeg_walk {
    size_t eoi_end;          /* just past the EOI, 0 when not found */
    int sof_w, sof_h, sof_bits;
    const uint8_t *xmp;      /* the primary XMP packet (borrowed) */
    size_t xmp_len;
    int iso_gainmap;         /* an ISO 21496-1 APP2 segment */
    int icc;
    size_t mpf_base;         /* file offset of the MPF TIFF header, 0 when none */
    size_t mpf_at, mpf_len;  /* the MPF segment's TIFF data */
};

static int walk_jpeg(const uint8_t *d, size_t len, size_t start, struct jpeg_walk *w)
{
    static const char xmp_sig[] = "http://ns.adobe.com/xap/1.0/";
    static const char iso_sig[] = "urn:iso:std:iso:ts:21496:-1";
    size_t pos = start + 2;
    memset(w, 0, sizeof(*w));
    if (len < start + 4 || d[start] != 0xFF || d[start + 1] != 0xD8)
        return -1;
    while (pos + 2 <= len) {
        if (d[pos] != 0xFF)
            return -1;
        unsigned m = d[pos + 1];
        if (m == 0xFF) {
            pos++;
            continue;
        }
        if (m == 0xD9) {
            w->eoi_end = pos + 2;
            return 0;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {
            pos += 2;
            continue;
        }
        if (pos + 4 > len)
            return -1;
        size_t seg = be16(d + pos + 2);
        if (seg < 2 || pos + 2 + seg > len)
            return -1;
        const uint8_t *s = d + pos + 4;
        size_t sl = seg - 2;
        if (m == 0xE1 && sl > sizeof(xmp_sig) && !memcmp(s, xmp_sig, sizeof(xmp_sig)) && !w->xmp) {
            w->xmp = s + sizeof(xmp_sig);
            w->xmp_len = sl - sizeof(xmp_sig);
        } else if (m == 0xE2 && sl >= sizeof(iso_sig) && !memcmp(s, iso_sig, sizeof(iso_sig))) {
            w->iso_gainmap = 1;
        } else if (m == 0xE2 && sl > 12 && !memcmp(s, "ICC_PROFILE", 12)) {
            w->icc = 1;
        } else if (m == 0xE2 && sl > 12 && !memcmp(s, "MPF", 4) && !w->mpf_base) {
            w->mpf_base = pos + 8;
            w->mpf_at = pos + 8;
            w->mpf_len = sl - 4;
        } else if ((m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC && sl >= 6 &&
                   !w->sof_w) {
            w->sof_bits = s[0];
            w->sof_h = (int)be16(s + 1);
            w->sof_w = (int)be16(s + 3);
        }
        pos += 2 + seg;
        if (m != 0xDA)
            continue;
        /* entropy-coded data up to the next marker that is not a stuffed
         * byte or a restart */
        while (pos + 1 < len) {
            if (d[pos] == 0xFF && d[pos + 1] != 0x00 && d[pos + 1] != 0xFF &&
                !(d[pos + 1] >= 0xD0 && d[pos + 1] <= 0xD7))
                break;
            pos++;
        }
    }
    return -1;
}

/* A gain-map flavour found in a (secondary) JPEG's own metadata, or NULL. */
static const char *gainmap_flavour(const uint8_t *d, size_t len, const struct jpeg_walk *w)
{
    (void)d;
    (void)len;
    if (w->iso_gainmap)
        return "iso21496-1";
    if (w->xmp && mem_find(w->xmp, w->xmp_len, "http://ns.adobe.com/hdr-gain-map/1.0/"))
        return "hdrgm";
    if (w->xmp && (mem_find(w->xmp, w->xmp_len, "http://ns.apple.com/HDRGainMap/1.0/") ||
                   mem_find(w->xmp, w->xmp_len, "urn:com:apple:photo:2020:aux:hdrgainmap")))
        return "apple";
    return NULL;
}

struct range {
    uint64_t at, len;
};

static void add_video(const uint8_t *d, size_t len, uint64_t at, uint64_t vlen, const char *how,
                      struct components *c, struct range *cover, int *ncover)
{
    struct comp_part *p;
    if (!vlen || at + vlen > len || !(p = components_add(c, COMP_MOTION, how)))
        return;
    p->offset = at;
    p->length = vlen;
    sha256_hex(d + at, (size_t)vlen, p->sha256);
#if HAVE_VIDEO
    {
        struct video_limits vl;
        struct media_info *vi = calloc(1, sizeof(*vi));
        video_limits_defaults(&vl);
        if (vi && video_probe_info(d + at, (size_t)vlen, &vl, vi) == 0) {
            snprintf(p->detail, sizeof(p->detail), "%s (%s)", vi->vcodec, how);
            p->duration = vi->duration;
            p->width = vi->width;
            p->height = vi->height;
        }
        free(vi);
        tp_err_clear();
    }
#endif
    cover[(*ncover)++] = (struct range){ at, vlen };
}

static void probe_jpeg(const uint8_t *d, size_t len, struct components *c)
{
    struct jpeg_walk w;
    struct range cover[COMP_MAX_PARTS + 2];
    int ncover = 0;
    if (walk_jpeg(d, len, 0, &w) < 0 || !w.eoi_end)
        return;
    c->icc |= w.icc;

    /* MPF: the index IFD lists every image; entry 0 is the primary */
    if (w.mpf_len >= 8) {
        const uint8_t *t = d + w.mpf_at;
        size_t tl = w.mpf_len;
        int le = t[0] == 'I';
        uint32_t ifd = rd32(t + 4, le);
        if (ifd + 2 <= tl) {
            unsigned n = rd16(t + ifd, le);
            uint32_t count = 0, ent_off = 0, ent_len = 0;
            for (unsigned i = 0; i < n && ifd + 2 + 12 * (i + 1) <= tl; i++) {
                const uint8_t *e = t + ifd + 2 + 12 * i;
                unsigned tag = rd16(e, le);
                if (tag == 0xB001)
                    count = rd32(e + 8, le);
                else if (tag == 0xB002) {
                    ent_len = rd32(e + 4, le);
                    ent_off = rd32(e + 8, le);
                }
            }
            for (uint32_t i = 1; i < count && ent_off + 16 * (i + 1) <= tl && ent_len >= 16 * count;
                 i++) {
                const uint8_t *e = t + ent_off + 16 * i;
                uint32_t size = rd32(e + 4, le), off = rd32(e + 8, le);
                uint64_t at = (uint64_t)w.mpf_base + off;
                struct jpeg_walk sw;
                if (!off || !size || at + size > len)
                    continue;
                const char *fl = NULL;
                if (walk_jpeg(d, at + size, (size_t)at, &sw) == 0)
                    fl = gainmap_flavour(d, len, &sw);
                else
                    memset(&sw, 0, sizeof(sw));
                /* a secondary without its own metadata is still the gain
                 * map when the primary's XMP names one (hdrgm / Container) */
                if (!fl && w.xmp && mem_find(w.xmp, w.xmp_len, "GainMap"))
                    fl = mem_find(w.xmp, w.xmp_len, "hdr-gain-map") ? "hdrgm" : "apple";
                struct comp_part *p = components_add(c, fl ? COMP_GAIN_MAP : COMP_MPF_IMAGE, fl);
                if (!p)
                    break;
                p->offset = at;
                p->length = size;
                p->width = sw.sof_w;
                p->height = sw.sof_h;
                p->bit_depth = sw.sof_bits;
                if (ncover < COMP_MAX_PARTS)
                    cover[ncover++] = (struct range){ at, size };
            }
        }
    }

    /* the motion-photo video: GCamera MicroVideo (offset from the end),
     * MotionPhoto with a Container:Directory item (its length at the end),
     * else an MP4 found in the trailer */
    if (w.xmp && len > w.eoi_end) {
        long long mvo = xmp_number(w.xmp, w.xmp_len, "MicroVideoOffset");
        const uint8_t *sem = mem_find(w.xmp, w.xmp_len, "Semantic=\"MotionPhoto\"");
        if (mvo > 0 && (uint64_t)mvo <= len - w.eoi_end) {
            add_video(d, len, len - (uint64_t)mvo, (uint64_t)mvo, "MicroVideo", c, cover, &ncover);
        } else if (sem) {
            /* the item's Length follows its Semantic in the same element */
            const uint8_t *xe = w.xmp + w.xmp_len;
            long long l = xmp_number(sem, (size_t)(xe - sem), "Length");
            long long pad = xmp_number(sem, (size_t)(xe - sem), "Padding");
            if (l > 0 && (uint64_t)l <= len - w.eoi_end) {
                uint64_t at = len - (uint64_t)l;
                if (pad > 0 && (uint64_t)pad < (uint64_t)l)
                    at += (uint64_t)pad;
                add_video(d, len, at, len - at, "MotionPhoto", c, cover, &ncover);
            }
        }
    }
    if (len > w.eoi_end && !components_count(c, COMP_MOTION)) {
        const uint8_t *f = mem_find(d + w.eoi_end, len - w.eoi_end, "ftyp");
        if (f && f - 4 >= d + w.eoi_end) {
            uint64_t at = (uint64_t)(f - 4 - d);
            int inside = 0;
            for (int i = 0; i < ncover; i++)
                inside |= at >= cover[i].at && at < cover[i].at + cover[i].len;
            if (!inside)
                add_video(d, len, at, len - at, "MP4 after the image", c, cover, &ncover);
        }
    }

    /* trailing bytes: recognised when the parts above explain every
     * non-zero byte after the primary's EOI */
    if (len > w.eoi_end) {
        int known = 1;
        for (size_t i = w.eoi_end; i < len && known;) {
            int in = 0;
            for (int k = 0; k < ncover; k++)
                if (i >= cover[k].at && i < cover[k].at + cover[k].len) {
                    i = (size_t)(cover[k].at + cover[k].len);
                    in = 1;
                    break;
                }
            if (in)
                continue;
            if (d[i])
                known = 0;
            i++;
        }
        struct comp_part *p =
            components_add(c, COMP_TRAILING, known ? "recognised" : "unrecognised");
        if (p) {
            p->offset = w.eoi_end;
            p->length = len - w.eoi_end;
            sha256_hex(d + w.eoi_end, len - w.eoi_end, p->sha256);
        }
    }
}

/* --------------------------------------------------------------- ISOBMFF */

/* The first box of `type` among the boxes in [pos, end): 1 with its body
 * in [*body, *body_end), else 0. */
static size_t box_find(const uint8_t *d, size_t pos, size_t end, const char *type, size_t *body,
                       size_t *body_end)
{
    while (pos + 8 <= end) {
        uint64_t sz = be32(d + pos);
        size_t hdr = 8;
        if (sz == 1 && pos + 16 <= end) {
            sz = (uint64_t)be32(d + pos + 8) << 32 | be32(d + pos + 12);
            hdr = 16;
        } else if (sz == 0)
            sz = end - pos;
        if (sz < hdr || sz > end - pos)
            return 0;
        if (!memcmp(d + pos + 4, type, 4)) {
            *body = pos + hdr;
            *body_end = pos + (size_t)sz;
            return 1;
        }
        pos += (size_t)sz;
    }
    return 0;
}

static void classify_aux(struct components *c, const char *urn, int want_alpha)
{
    if (strstr(urn, "alpha")) {
        if (want_alpha && !components_count(c, COMP_ALPHA))
            components_add(c, COMP_ALPHA, NULL);
    } else if (strstr(urn, "hdrgainmap"))
        components_add(c, COMP_GAIN_MAP, "apple");
    else if (strstr(urn, "depth") || strstr(urn, "disparity"))
        components_add(c, COMP_DEPTH, urn);
    else if (strstr(urn, "matte"))
        components_add(c, COMP_MATTE, urn);
    else
        components_add(c, COMP_AUX, urn);
}

static void probe_isobmff(const uint8_t *d, size_t len, int with_aux, struct components *c)
{
    size_t mb, me, b, e, pb, pe;
    if (!box_find(d, 0, len, "meta", &mb, &me) || mb + 4 > me)
        return;
    mb += 4; /* full box */
    if (box_find(d, mb, me, "iinf", &b, &e) && b + 6 <= e) {
        int v = d[b];
        size_t pos = b + 4 + (v ? 4 : 2);
        size_t ib, ie;
        while (pos < e && box_find(d, pos, e, "infe", &ib, &ie)) {
            int iv = d[ib];
            size_t t = ib + 4 + (iv >= 3 ? 4 : 2) + 2;
            if (iv >= 2 && t + 4 <= ie && !memcmp(d + t, "tmap", 4))
                components_add(c, COMP_GAIN_MAP, "iso21496-1");
            pos = ie;
        }
    }
    if (box_find(d, mb, me, "iprp", &b, &e) && box_find(d, b, e, "ipco", &pb, &pe)) {
        size_t pos = pb, cb, ce;
        /* the first colr of each kind describes the primary (good enough
         * for an inventory; libheif gives the exact association) */
        while (pos < pe && box_find(d, pos, pe, "colr", &cb, &ce)) {
            if (cb + 10 <= ce && !memcmp(d + cb, "nclx", 4) && c->cicp[0] < 0) {
                c->cicp[0] = (int)be16(d + cb + 4);
                c->cicp[1] = (int)be16(d + cb + 6);
                c->cicp[2] = (int)be16(d + cb + 8);
            } else if (cb + 4 <= ce && (!memcmp(d + cb, "prof", 4) || !memcmp(d + cb, "rICC", 4)))
                c->icc = 1;
            pos = ce;
        }
        pos = pb;
        while (with_aux && pos < pe && box_find(d, pos, pe, "auxC", &cb, &ce)) {
            char urn[64];
            size_t n = 0;
            for (size_t i = cb + 4; i < ce && d[i] && n + 1 < sizeof(urn); i++)
                urn[n++] = (char)d[i];
            urn[n] = 0;
            classify_aux(c, urn, 0);
            pos = ce;
        }
    }
}

/* HEIF: the codec adapter's components() callback (libheif). */
static void probe_codec_callback(const uint8_t *d, size_t len, const char *format,
                                 struct components *c)
{
    const struct codec *cd = codec_find_by_name(format);
    struct codec_ctx *ctx;
    if (!cd || !cd->components || codec_open(&ctx, cd, NULL) < 0)
        return;
    cd->components((struct codec_priv *)ctx->priv_storage, d, len, c);
    codec_close(&ctx);
    tp_err_clear();
}

void components_probe(const uint8_t *data, size_t len, const char *format, int width,
                      int height, int bit_depth, int frames, int alpha, int icc,
                      struct components *c)
{
    memset(c, 0, sizeof(*c));
    c->width = width;
    c->height = height;
    c->bit_depth = bit_depth;
    c->frames = frames > 0 ? frames : 1;
    c->icc = icc;
    c->cicp[0] = c->cicp[1] = c->cicp[2] = -1;
    if (alpha)
        components_add(c, COMP_ALPHA, NULL);
    if (frames > 1 && !strcmp(format, "heif"))
        c->frames = 1; /* HEIF's "frames" are its top-level images, not a sequence */
    else if (frames > 1) {
        struct comp_part *p = components_add(c, COMP_ANIMATION, NULL);
        if (p)
            p->frames = frames;
    }
    if (!strcmp(format, "jpeg"))
        probe_jpeg(data, len, c);
    else if (!strcmp(format, "avif"))
        probe_isobmff(data, len, 1, c);
    else if (!strcmp(format, "heif")) {
        probe_isobmff(data, len, 0, c); /* colour only; the parts from libheif */
        probe_codec_callback(data, len, format, c);
    }
    if (c->cicp[1] == 16)
        snprintf(c->transfer, sizeof(c->transfer), "pq");
    else if (c->cicp[1] == 18)
        snprintf(c->transfer, sizeof(c->transfer), "hlg");
}

int components_need_bitstream(const struct components *c)
{
    return !!(components_kinds(c) & COMP_BITSTREAM_KINDS);
}

static int has_hash(const struct components *c, enum comp_kind k, const char *h)
{
    for (int i = 0; i < c->nparts; i++)
        if (c->parts[i].kind == k && !strcmp(c->parts[i].sha256, h))
            return 1;
    return 0;
}

static int flavoured(const struct components *c, enum comp_kind k)
{
    int n = 0;
    for (int i = 0; i < c->nparts; i++)
        n += c->parts[i].kind == k && c->parts[i].detail[0];
    return n;
}

/* Appends "what" to out ("a, b"). */
static void add_lost(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_lost(char *out, size_t size, const char *fmt, ...)
{
    size_t n = strlen(out);
    va_list ap;
    if (n + 3 >= size)
        return;
    if (n)
        n += (size_t)snprintf(out + n, size - n, ", ");
    va_start(ap, fmt);
    vsnprintf(out + n, size - n, fmt, ap);
    va_end(ap);
}

/* The colour primaries c's pixels are in, as a CICP code (H.273 table 2),
 * when no ICC profile describes them: its nclx declaration, else 1 (BT.709
 * = sRGB's), what every decoder assumes of an undeclared file (JPEG, PNG,
 * WebP, JPEG XL in sRGB: the JPEG XL decoder hands any other colour
 * encoding over as an ICC profile); 2 (unspecified) and the reserved 0
 * and 3 read as undeclared,
 * 7 (SMPTE 240M) as 6, the same primaries.  -1 when an ICC profile
 * describes them (it travels with the metadata; not compared here). */
static int primaries_of(const struct components *c)
{
    if (c->icc)
        return -1;
    int p = c->cicp[0];
    if (p <= 0 || p == 2 || p == 3) /* unset, reserved, unspecified */
        return 1;
    return p == 7 ? 6 : p;
}

static int lost_mask(const struct components *s, const struct components *d, char *out,
                     size_t size, unsigned *mask)
{
    *mask = 0;
    if (out && size)
        out[0] = 0;
    char tmp[2];
    if (!out || !size) {
        out = tmp;
        size = sizeof(tmp);
        tmp[0] = 0;
    }
    for (int i = 0; i < s->nparts; i++) {
        const struct comp_part *p = &s->parts[i];
        switch (p->kind) {
        case COMP_MOTION:
            if (!has_hash(d, COMP_MOTION, p->sha256)) {
                *mask |= 1u << COMP_MOTION;
                add_lost(out, size, "motion video (%llu bytes)", (unsigned long long)p->length);
            }
            break;
        case COMP_TRAILING:
            if (strcmp(p->detail, "recognised") && !has_hash(d, COMP_TRAILING, p->sha256)) {
                *mask |= 1u << COMP_TRAILING;
                add_lost(out, size, "%llu trailing bytes", (unsigned long long)p->length);
            }
            break;
        default:
            break;
        }
    }
    for (int k = 0; k < COMP_NKINDS; k++) {
        if (k == COMP_MOTION || k == COMP_TRAILING || k == COMP_THUMBNAIL)
            continue;
        int ns = components_count(s, (enum comp_kind)k), nd = components_count(d, (enum comp_kind)k);
        if (k == COMP_ANIMATION) {
            if (s->frames > 1 && d->frames != s->frames) {
                *mask |= 1u << k;
                add_lost(out, size, "animation (%d frames, %d left)", s->frames, d->frames);
            }
            continue;
        }
        if (nd < ns) {
            *mask |= 1u << k;
            add_lost(out, size, "%s%s", components_kind_name((enum comp_kind)k),
                     ns > 1 ? " images" : "");
        } else if (k == COMP_GAIN_MAP && flavoured(d, COMP_GAIN_MAP) < flavoured(s, COMP_GAIN_MAP)) {
            *mask |= 1u << k;
            add_lost(out, size, "gain map metadata");
        }
    }
    int need = s->bit_depth > 10 ? 10 : s->bit_depth;
    if (need > 8 && d->bit_depth < need)
        add_lost(out, size, "bit depth (%d-bit source, %d-bit result)", s->bit_depth,
                 d->bit_depth);
    if (s->transfer[0] && strcmp(s->transfer, d->transfer))
        add_lost(out, size, "%s transfer", s->transfer);
    /* the primaries, where neither side has an ICC profile: the same pixel
     * values under other primaries are other colours (a Display P3 AVIF
     * written as sRGB fades).  The matrix is not compared: it says how each
     * file's own YUV was made from RGB, and a decoder undoes it */
    int sp = primaries_of(s), dp = primaries_of(d);
    if (sp >= 0 && dp >= 0 && sp != dp)
        add_lost(out, size, "colour primaries (cicp %d, result %d)", sp, dp);
    return out[0] ? TP_ERR_VERIFY : 0;
}

int components_compare(const struct components *src, const struct components *dst, char *lost,
                       size_t lost_size)
{
    char buf[256];
    unsigned mask;
    int ret = lost_mask(src, dst, buf, sizeof(buf), &mask);
    if (lost && lost_size)
        snprintf(lost, lost_size, "%s", buf);
    if (ret < 0)
        tp_err_set("the result would lose %s", buf);
    return ret;
}

unsigned components_lost_kinds(const struct components *src, const struct components *dst)
{
    unsigned mask;
    char buf[256];
    lost_mask(src, dst, buf, sizeof(buf), &mask);
    return mask;
}

int components_kinds_append(json_t *arr, unsigned mask)
{
    for (int k = 0; k < COMP_NKINDS; k++)
        if ((mask & (1u << k)) &&
            json_array_append_new(arr, json_string(components_kind_name((enum comp_kind)k))) < 0)
            return TP_ERR(ENOMEM);
    return 0;
}

/* One part of the inventory: kind, and what is known of it. */
static json_t *part_json(const struct comp_part *p)
{
    json_t *o = json_object();
    int bad = json_set_text(o, "kind", components_kind_name(p->kind)) < 0;
    if (p->detail[0])
        bad |= json_set_text(o, "detail", p->detail) < 0;
    if (p->length)
        bad |= json_set_int(o, "offset", (long long)p->offset) < 0 ||
               json_set_int(o, "length", (long long)p->length) < 0;
    if (p->width)
        bad |= json_set_int(o, "width", p->width) < 0 || json_set_int(o, "height", p->height) < 0;
    if (p->bit_depth)
        bad |= json_set_int(o, "bit_depth", p->bit_depth) < 0;
    if (p->frames)
        bad |= json_set_int(o, "frames", p->frames) < 0;
    if (p->duration > 0)
        bad |= json_set_real(o, "duration", p->duration) < 0;
    if (p->sha256[0])
        bad |= json_set_text(o, "sha256", p->sha256) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *components_json(const struct components *c)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (int i = 0; i < c->nparts; i++)
        if (json_array_append_new(arr, part_json(&c->parts[i])) < 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

json_t *components_primary_json(const struct components *c)
{
    json_t *o = json_object();
    int bad = json_set_int(o, "width", c->width) < 0 || json_set_int(o, "height", c->height) < 0 ||
              json_set_int(o, "bit_depth", c->bit_depth) < 0 || json_set_bool(o, "icc", c->icc) < 0;
    if (c->cicp[0] >= 0)
        bad |= json_set_new(o, "cicp", json_pack("[iii]", c->cicp[0], c->cicp[1], c->cicp[2])) < 0;
    bad |= json_set_text(o, "transfer", c->transfer) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void components_print_text(FILE *f, const struct components *c)
{
    if (c->cicp[0] >= 0 || c->transfer[0])
        fprintf(f, "  colour:   cicp %d/%d/%d%s%s\n", c->cicp[0], c->cicp[1], c->cicp[2],
                c->transfer[0] ? ", " : "", c->transfer);
    for (int i = 0; i < c->nparts; i++) {
        const struct comp_part *p = &c->parts[i];
        fprintf(f, "  part:     %s", components_kind_name(p->kind));
        if (p->detail[0])
            fprintf(f, " %s", p->detail);
        if (p->width)
            fprintf(f, " %dx%d", p->width, p->height);
        if (p->frames)
            fprintf(f, " %d frames", p->frames);
        if (p->duration > 0)
            fprintf(f, " %.2f s", p->duration);
        if (p->length)
            fprintf(f, " at %llu, %llu bytes", (unsigned long long)p->offset,
                    (unsigned long long)p->length);
        fputc('\n', f);
    }
}

char *components_to_json(const struct components *c)
{
    json_t *arr = components_json(c);
    char *s = arr ? json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))
                  : NULL;
    json_decref(arr);
    return s;
}
