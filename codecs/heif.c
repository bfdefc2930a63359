/* HEIF/HEIC through libheif (HEVC via libde265 for decoding, x265 for
 * encoding).
 *
 * Orientation: libheif applies the irot/imir/clap transforms while
 * decoding (we keep that default), so the decoded pixels are already
 * upright as displayed and m->orientation is 1.  For HEIF sources the
 * container's display transform therefore supersedes the EXIF orientation
 * tag (MIAF says readers must ignore the EXIF tag anyway); the encoder side
 * rewrites the EXIF tag to match m->orientation via meta_apply_keep(), which
 * callers run before encoding.  When encoding, m->orientation is written as
 * irot/imir boxes, so the output displays like the input while the pixels
 * stay as given (and the EXIF tag agrees with irot/imir, as in iPhone
 * files).  libheif 1.15 declares heif_encoding_options.image_orientation
 * but does not act on it, so add_orientation() below edits the boxes. 
 *
 * EXIF in HEIF is an "Exif" item whose payload starts with a 4-byte
 * big-endian offset to the TIFF header; struct meta holds the bare TIFF
 * structure, so it is stripped on decode.  On encode,
 * heif_context_add_exif_metadata() (1.15) searches the TIFF header itself
 * and prepends the offset, so it is given the bare TIFF data. */
#include <limits.h>
#include <string.h>

#include <libheif/heif.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "codec.h"
#include "components.h"

#define HEIF_AT_LEAST(a, b, c) LIBHEIF_HAVE_VERSION(a, b, c)

struct codec_priv {
    struct codec_opts o;
    int inited; /* heif_init() succeeded; heif_deinit() owed */
};

static int heif_err(struct heif_error err)
{
    const char *msg = err.message ? err.message : "libheif error";
    if (err.subcode == heif_suberror_Security_limit_exceeded) {
        /* libheif files these under "memory allocation error"; they are
         * its size limits, and its text names the limit and the value */
        const char *why = strstr(msg, "Security limit exceeded: ");
        tp_err_set("libheif's security limit: %s",
                   why ? why + strlen("Security limit exceeded: ") : msg);
        return TP_ERR_LIMIT;
    }
    tp_err_set("%s", msg);
    switch (err.code) {
    case heif_error_Ok:
        return 0;
    case heif_error_Memory_allocation_error:
        return TP_ERR(ENOMEM);
    case heif_error_Invalid_input:
        return TP_ERR_INVALIDDATA;
    case heif_error_Unsupported_filetype:
    case heif_error_Unsupported_feature:
        return TP_ERR_UNSUPPORTED;
    default:
        return TP_ERR_EXTERNAL;
    }
}

#define HEIF_TRY(expr)                                                         \
    do {                                                                       \
        struct heif_error e_ = (expr);                                         \
        if (e_.code != heif_error_Ok) {                                        \
            ret = heif_err(e_);                                                \
            goto end;                                                          \
        }                                                                      \
    } while (0)

/* The ftyp box: major brand at 8, compatible brands from 16 to its end. */
static int heif_probe(const uint8_t *b, size_t len)
{
    static const char *const brands[] = { "heic", "heix", "heim", "heis", "hevc",
                                          "hevx", "mif1", "msf1" };
    if (len < 16 || memcmp(b + 4, "ftyp", 4))
        return 0;
    size_t box = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    if (box < 16)
        return 0;
    size_t end = box < len ? box : len;
    int match = 0;
    for (size_t i = 8; i + 4 <= end; i += 4) {
        if (i == 12)
            continue; /* minor version */
        /* AVIF files carry mif1 too: leave them to the AVIF adapter */
        if (!memcmp(b + i, "avif", 4) || !memcmp(b + i, "avis", 4))
            return 0;
        for (size_t j = 0; j < TP_ARRAY_SIZE(brands); j++)
            if (!memcmp(b + i, brands[j], 4))
                match = 1;
    }
    return match;
}

static int heif_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    struct heif_error e = heif_init(NULL);
    if (e.code != heif_error_Ok)
        return heif_err(e);
    p->inited = 1;
    return 0;
}

static int read_block(const struct heif_image_handle *h, heif_item_id id, struct tp_buf *b)
{
    size_t n = heif_image_handle_get_metadata_size(h, id);
    b->len = 0;
    if (!n)
        return 0;
    FORWARD_ERR(buf_reserve(b, n));
    struct heif_error e = heif_image_handle_get_metadata(h, id, b->data);
    if (e.code != heif_error_Ok)
        return heif_err(e);
    b->len = n;
    return 0;
}

/* EXIF (bare TIFF), XMP and ICC of the image behind h. */
static int read_meta(const struct heif_image_handle *h, struct meta *m)
{
    heif_item_id ids[64];
    int n = heif_image_handle_get_list_of_metadata_block_IDs(h, "Exif", ids, 64);
    for (int i = 0; i < n && !m->exif.len; i++) {
        FORWARD_ERR(read_block(h, ids[i], &m->exif));
        int off = -1;
        if (m->exif.len >= 8) {
            /* 4-byte big-endian offset from the end of this field to the
             * TIFF header; trust it only when it lands on a TIFF header */
            uint32_t o = (uint32_t)m->exif.data[0] << 24 | (uint32_t)m->exif.data[1] << 16 |
                         (uint32_t)m->exif.data[2] << 8 | m->exif.data[3];
            if ((uint64_t)o + 8 <= m->exif.len &&
                exif_find_tiff(m->exif.data + 4 + o, 4) == 0)
                off = 4 + (int)o;
            else if ((off = exif_find_tiff(m->exif.data + 4, m->exif.len - 4)) >= 0)
                off += 4;
        }
        if (off < 0) {
            tp_log(TP_LOG_WARN, "HEIF: Exif block without a TIFF header ignored");
            m->exif.len = 0;
            continue;
        }
        memmove(m->exif.data, m->exif.data + off, m->exif.len - (size_t)off);
        m->exif.len -= (size_t)off;
    }
    if (!m->exif.len)
        buf_free(&m->exif);

    n = heif_image_handle_get_list_of_metadata_block_IDs(h, "mime", ids, 64);
    for (int i = 0; i < n && !m->xmp.len; i++) {
        const char *ct = heif_image_handle_get_metadata_content_type(h, ids[i]);
        if (ct && !strcmp(ct, "application/rdf+xml"))
            FORWARD_ERR(read_block(h, ids[i], &m->xmp));
    }
    if (!m->xmp.len)
        buf_free(&m->xmp);

    enum heif_color_profile_type t = heif_image_handle_get_color_profile_type(h);
    if (t == heif_color_profile_type_prof || t == heif_color_profile_type_rICC) {
        size_t sz = heif_image_handle_get_raw_color_profile_size(h);
        if (sz) {
            FORWARD_ERR(buf_reserve(&m->icc, sz));
            struct heif_error e = heif_image_handle_get_raw_color_profile(h, m->icc.data);
            if (e.code != heif_error_Ok)
                return heif_err(e);
            m->icc.len = sz;
        }
    }
    return 0;
}

static int heif_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *h = NULL;
    struct heif_image *img = NULL;
    int ret;

    if (!ctx)
        return TP_ERR(ENOMEM);
    if (p->o.limits.max_dimension > 0 && p->o.limits.max_dimension < 32768)
        heif_context_set_maximum_image_size_limit(ctx, p->o.limits.max_dimension);
    HEIF_TRY(heif_context_read_from_memory_without_copy(ctx, in, len, NULL));
    HEIF_TRY(heif_context_get_primary_image_handle(ctx, &h));

    /* width/height already include the irot/clap transforms */
    int w = heif_image_handle_get_width(h), hh = heif_image_handle_get_height(h);
    if (w <= 0 || hh <= 0) {
        tp_err_set("HEIF primary image has no valid size (%dx%d)", w, hh);
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    if ((ret = image_check_dims(&p->o.limits, (uint64_t)w, (uint64_t)hh)) < 0)
        goto end;
    int alpha = heif_image_handle_has_alpha_channel(h);
    int bits = heif_image_handle_get_luma_bits_per_pixel(h);
    if (bits <= 0)
        bits = 8;
    int frames = heif_context_get_number_of_top_level_images(ctx);
    m->orientation = 1; /* transforms are applied by libheif: see the top */
    if ((ret = read_meta(h, m)) < 0)
        goto end;

    int deep = bits > 8, ch = alpha ? 4 : 3;
    if (p->o.header_only) {
        out->width = w;
        out->height = hh;
        out->channels = ch;
        out->depth = deep ? 2 : 1;
        out->bit_depth = bits;
        out->frames = frames > 0 ? frames : 1;
        ret = 0;
        goto end;
    }

    enum heif_chroma chroma = deep ? (alpha ? heif_chroma_interleaved_RRGGBBAA_LE
                                            : heif_chroma_interleaved_RRGGBB_LE)
                                   : (alpha ? heif_chroma_interleaved_RGBA
                                            : heif_chroma_interleaved_RGB);
    HEIF_TRY(heif_decode_image(h, &img, heif_colorspace_RGB, chroma, NULL));
    int iw = heif_image_get_width(img, heif_channel_interleaved);
    int ih = heif_image_get_height(img, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    if (!plane || iw <= 0 || ih <= 0 || stride <= 0) {
        tp_err_set("libheif returned no pixels");
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    if ((ret = image_check_dims(&p->o.limits, (uint64_t)iw, (uint64_t)ih)) < 0)
        goto end;
    if ((ret = image_alloc(out, iw, ih, ch, deep ? 2 : 1)) < 0)
        goto end;
    out->frames = frames > 0 ? frames : 1;
    if (!deep) {
        out->bit_depth = 8;
        for (int y = 0; y < ih; y++)
            memcpy(out->data + (size_t)y * out->stride, plane + (size_t)y * (size_t)stride,
                   out->stride);
    } else {
        int range = heif_image_get_bits_per_pixel_range(img, heif_channel_interleaved);
        if (range <= 8 || range > 16)
            range = bits;
        out->bit_depth = range;
        uint32_t maxv = (1u << range) - 1;
        for (int y = 0; y < ih; y++) {
            const uint8_t *s = plane + (size_t)y * (size_t)stride;
            uint16_t *d = (uint16_t *)(void *)(out->data + (size_t)y * out->stride);
            for (size_t i = 0; i < (size_t)iw * (size_t)ch; i++) {
                uint32_t v = (uint32_t)s[2 * i] | (uint32_t)s[2 * i + 1] << 8;
                if (v > maxv)
                    v = maxv;
                d[i] = (uint16_t)((v * 65535u + maxv / 2) / maxv);
            }
        }
    }
    ret = 0;
end:
    if (img)
        heif_image_release(img);
    if (h)
        heif_image_handle_release(h);
    heif_context_free(ctx);
    return ret;
}

static struct heif_error write_cb(struct heif_context *ctx, const void *data, size_t size,
                                  void *userdata)
{
    struct heif_error ok = { heif_error_Ok, heif_suberror_Unspecified, "" };
    struct heif_error oom = { heif_error_Memory_allocation_error, heif_suberror_Unspecified,
                              "out of memory" };
    (void)ctx;
    return buf_append(userdata, data, size) < 0 ? oom : ok;
}

/* Copies img into a new RGB(A) heif_image of the given bit depth (8 or
 * 10); grey is expanded. */
static int make_heif_image(const struct image *in, int bits, struct heif_image **out)
{
    int alpha = image_has_alpha(in), ch = alpha ? 4 : 3, ret;
    enum heif_chroma chroma = bits > 8 ? (alpha ? heif_chroma_interleaved_RRGGBBAA_LE
                                                : heif_chroma_interleaved_RRGGBB_LE)
                                       : (alpha ? heif_chroma_interleaved_RGBA
                                                : heif_chroma_interleaved_RGB);
    struct heif_image *img = NULL;
    HEIF_TRY(heif_image_create(in->width, in->height, heif_colorspace_RGB, chroma, &img));
    HEIF_TRY(heif_image_add_plane(img, heif_channel_interleaved, in->width, in->height, bits));
    int stride;
    uint8_t *plane = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    if (!plane) {
        tp_err_set("libheif did not allocate the image plane");
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    uint32_t maxv = (1u << bits) - 1;
    int colour = in->channels >= 3;
    for (int y = 0; y < in->height; y++) {
        const uint8_t *s = in->data + (size_t)y * in->stride;
        uint8_t *d = plane + (size_t)y * (size_t)stride;
        for (int x = 0; x < in->width; x++) {
            for (int c = 0; c < ch; c++) {
                int sc = c == 3 ? in->channels - 1 : colour ? c : 0;
                size_t si = (size_t)x * (size_t)in->channels + (size_t)sc;
                uint32_t v = in->depth == 1 ? s[si] : ((const uint16_t *)(const void *)s)[si];
                uint32_t smax = in->depth == 1 ? 255u : 65535u;
                if (smax != maxv)
                    v = (v * maxv + smax / 2) / smax;
                size_t di = (size_t)x * (size_t)ch + (size_t)c;
                if (bits > 8) {
                    d[2 * di] = (uint8_t)v;
                    d[2 * di + 1] = (uint8_t)(v >> 8);
                } else {
                    d[di] = (uint8_t)v;
                }
            }
        }
    }
    *out = img;
    img = NULL;
    ret = 0;
end:
    if (img)
        heif_image_release(img);
    return ret;
}

/* ---- irot/imir: libheif 1.15 declares heif_encoding_options.image_orientation
 * but ignores it (the writer arrived in 1.17), so the transform properties
 * are added to the written file here: two boxes appended to ipco, their
 * associations appended to the primary item's ipma entry (after any clap,
 * as MIAF orders them: clap, irot, imir), box sizes fixed and the iloc
 * file offsets behind the meta box shifted by the bytes inserted. */

static uint64_t rd(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static void wr(uint8_t *p, int n, uint64_t v)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Finds the child box of type t in [pos, end); *at = its start, *size = its
 * size.  Only 32-bit box sizes (libheif writes no others inside meta). */
static int find_box(const uint8_t *d, size_t pos, size_t end, const char *t, size_t *at,
                    size_t *size)
{
    while (pos + 8 <= end) {
        size_t sz = (size_t)rd(d + pos, 4);
        if (sz < 8 || sz > end - pos)
            return TP_ERR_INVALIDDATA;
        if (!memcmp(d + pos + 4, t, 4)) {
            *at = pos;
            *size = sz;
            return 0;
        }
        pos += sz;
    }
    return TP_ERR_NOTFOUND;
}

/* Adds (delta) to every construction-method-0 file offset in iloc that
 * points at or beyond from.  d: the iloc box of len bytes. */
static int shift_iloc(uint8_t *d, size_t len, size_t from, size_t delta)
{
    if (len < 16)
        return TP_ERR_INVALIDDATA;
    int ver = d[8];
    size_t p = 12;
    int off_sz = d[p] >> 4, len_sz = d[p] & 15, base_sz = d[p + 1] >> 4;
    int idx_sz = ver >= 1 ? d[p + 1] & 15 : 0;
    p += 2;
    if (ver > 2 || (off_sz != 0 && off_sz != 4 && off_sz != 8) ||
        (base_sz != 0 && base_sz != 4 && base_sz != 8))
        return TP_ERR_UNSUPPORTED;
    int cnt_sz = ver < 2 ? 2 : 4, id_sz = cnt_sz;
    if (p + (size_t)cnt_sz > len)
        return TP_ERR_INVALIDDATA;
    uint64_t items = rd(d + p, cnt_sz);
    p += (size_t)cnt_sz;
    for (uint64_t i = 0; i < items; i++) {
        size_t need = (size_t)id_sz + (ver >= 1 ? 2 : 0) + 2 + (size_t)base_sz + 2;
        if (p + need > len)
            return TP_ERR_INVALIDDATA;
        p += (size_t)id_sz;
        int method = ver >= 1 ? d[p + 1] & 15 : 0;
        p += ver >= 1 ? 2 : 0;
        p += 2; /* data_reference_index */
        size_t base_at = p;
        uint64_t base = rd(d + p, base_sz);
        p += (size_t)base_sz;
        uint64_t extents = rd(d + p, 2);
        p += 2;
        if (method == 0 && base_sz && base >= from)
            wr(d + base_at, base_sz, base + delta);
        for (uint64_t e = 0; e < extents; e++) {
            if (p + (size_t)idx_sz + (size_t)off_sz + (size_t)len_sz > len)
                return TP_ERR_INVALIDDATA;
            p += (size_t)idx_sz;
            uint64_t off = rd(d + p, off_sz);
            if (method == 0 && !base && off_sz && off >= from)
                wr(d + p, off_sz, off + delta);
            else if (method == 0 && !base && !off_sz)
                return TP_ERR_UNSUPPORTED; /* implied offset 0: nothing to shift */
            p += (size_t)off_sz + (size_t)len_sz;
        }
    }
    return 0;
}

static int add_orientation(struct tp_buf *f, int orientation)
{
    /* EXIF orientation -> display = imir(irot(coded)); irot angle is in
     * counter-clockwise quarter turns; imir mode as in ISO/IEC 23008-12:2022
     * (0: top and bottom exchanged, 1: left and right exchanged; the 2017
     * text's "axis" wording reads the other way, but libheif, libavif and
     * Apple follow the 2022 meaning) */
    static const struct { int rot, mir; } map[9] = {
        [1] = { 0, -1 }, [2] = { 0, 1 },  [3] = { 2, -1 }, [4] = { 0, 0 },
        [5] = { 3, 1 },  [6] = { 3, -1 }, [7] = { 3, 0 },  [8] = { 1, -1 },
    };
    struct tp_buf nb = { 0 };
    uint8_t *d = NULL;
    size_t meta, meta_sz, pitm, pitm_sz, iloc, iloc_sz, iprp, iprp_sz, ipco, ipco_sz, ipma,
        ipma_sz;
    int ret;

    if (orientation <= 1 || orientation > 8)
        return 0;
    FORWARD_ERR(find_box(f->data, 0, f->len, "meta", &meta, &meta_sz));
    size_t mc = meta + 12, me = meta + meta_sz; /* meta is a FullBox */
    FORWARD_ERR(find_box(f->data, mc, me, "pitm", &pitm, &pitm_sz));
    FORWARD_ERR(find_box(f->data, mc, me, "iloc", &iloc, &iloc_sz));
    FORWARD_ERR(find_box(f->data, mc, me, "iprp", &iprp, &iprp_sz));
    FORWARD_ERR(find_box(f->data, iprp + 8, iprp + iprp_sz, "ipco", &ipco, &ipco_sz));
    FORWARD_ERR(find_box(f->data, iprp + 8, iprp + iprp_sz, "ipma", &ipma, &ipma_sz));
    if (pitm_sz < 14 || ipma_sz < 16 || ipma < ipco)
        return TP_ERR_UNSUPPORTED;
    uint32_t primary = (uint32_t)(f->data[pitm + 8] ? rd(f->data + pitm + 12, 4)
                                                    : rd(f->data + pitm + 12, 2));

    /* the new properties, numbered after the existing ones (1-based) */
    uint8_t props[18];
    size_t nprops = 0, plen = 0;
    for (size_t q = ipco + 8; q + 8 <= ipco + ipco_sz; q += rd(f->data + q, 4)) {
        if (rd(f->data + q, 4) < 8)
            return TP_ERR_INVALIDDATA;
        nprops++;
    }
    unsigned idx[2];
    int nnew = 0;
    if (map[orientation].rot) {
        wr(props + plen, 4, 9);
        memcpy(props + plen + 4, "irot", 4);
        props[plen + 8] = (uint8_t)map[orientation].rot;
        plen += 9;
        idx[nnew++] = (unsigned)(++nprops);
    }
    if (map[orientation].mir >= 0) {
        wr(props + plen, 4, 9);
        memcpy(props + plen + 4, "imir", 4);
        props[plen + 8] = (uint8_t)map[orientation].mir;
        plen += 9;
        idx[nnew++] = (unsigned)(++nprops);
    }

    /* the primary item's ipma entry */
    const uint8_t *m = f->data + ipma;
    int ver = m[8], wide = m[11] & 1;
    size_t p = ipma + 16, end = ipma + ipma_sz, ins = 0;
    uint32_t entries = (uint32_t)rd(m + 12, 4);
    size_t count_at = 0;
    for (uint32_t i = 0; i < entries; i++) {
        size_t id_sz = ver < 1 ? 2 : 4;
        if (p + id_sz + 1 > end)
            return TP_ERR_INVALIDDATA;
        uint32_t id = (uint32_t)rd(f->data + p, (int)id_sz);
        size_t n = f->data[p + id_sz];
        size_t next = p + id_sz + 1 + n * (wide ? 2 : 1);
        if (next > end)
            return TP_ERR_INVALIDDATA;
        if (id == primary) {
            count_at = p + id_sz;
            ins = next;
        }
        p = next;
    }
    if (!ins || f->data[count_at] + nnew > 255 || nprops > (wide ? 0x7FFFu : 0x7Fu))
        return TP_ERR_UNSUPPORTED;
    uint8_t assoc[4];
    size_t alen = 0;
    for (int i = 0; i < nnew; i++) {
        if (wide) {
            wr(assoc + alen, 2, 0x8000u | idx[i]); /* essential */
            alen += 2;
        } else {
            assoc[alen++] = (uint8_t)(0x80u | idx[i]);
        }
    }
    size_t delta = plen + alen;
    if (meta_sz + delta > UINT32_MAX)
        return TP_ERR_LIMIT;

    /* shift the iloc offsets on a copy, then splice */
    if (!(d = tp_malloc(f->len)))
        return TP_ERR(ENOMEM);
    memcpy(d, f->data, f->len);
    if ((ret = shift_iloc(d + iloc, iloc_sz, me, delta)) < 0)
        goto end;
    size_t ipco_end = ipco + ipco_sz;
    if ((ret = buf_reserve(&nb, f->len + delta)) < 0 || (ret = buf_append(&nb, d, ipco_end)) < 0 ||
        (ret = buf_append(&nb, props, plen)) < 0 ||
        (ret = buf_append(&nb, d + ipco_end, ins - ipco_end)) < 0 ||
        (ret = buf_append(&nb, assoc, alen)) < 0 ||
        (ret = buf_append(&nb, d + ins, f->len - ins)) < 0)
        goto end;
    wr(nb.data + meta, 4, meta_sz + delta);
    wr(nb.data + iprp, 4, iprp_sz + delta);
    wr(nb.data + ipco, 4, ipco_sz + plen);
    wr(nb.data + ipma + plen, 4, ipma_sz + alen);
    nb.data[count_at + plen] = (uint8_t)(nb.data[count_at + plen] + nnew);
    buf_free(f);
    *f = nb;
    nb = (struct tp_buf){ 0 };
    ret = 0;
end:
    tp_free(d);
    buf_free(&nb);
    return ret;
}

/* libheif's x265 plugin turns quality into an integer CRF, (100 - q) / 2:
 * two qualities per level (69 and 70 encode alike; measured). */
static int heif_quality_level(int q)
{
    q = q < 0 ? 0 : q > 100 ? 100 : q;
    return 50 - (100 - q) / 2;
}

static int heif_encode(struct codec_priv *p, const struct image *in, const struct meta *m,
                       struct tp_buf *out, unsigned *dropped)
{
    static const char *const presets[] = { "ultrafast", "superfast", "veryfast", "faster", "fast",
                                           "medium",    "slow",      "slower",   "veryslow",
                                           "veryslow" };
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image *img = NULL;
    struct heif_image_handle *h = NULL;
    struct heif_encoding_options *eo = NULL;
    struct heif_color_profile_nclx *nclx = NULL;
    const struct codec_opts *o = &p->o;
    int ret;
    (void)dropped; /* HEIF holds EXIF, XMP and ICC */

    if (!ctx)
        return TP_ERR(ENOMEM);
    if (in->width <= 0 || in->height <= 0 || !in->data) {
        tp_err_set("HEIF encode: empty image");
        ret = TP_ERR(EINVAL);
        goto end;
    }
    int bits = in->depth == 2 && (o->bit_depth == 0 || o->bit_depth == 10) ? 10 : 8;
    if ((ret = make_heif_image(in, bits, &img)) < 0)
        goto end;

    /* colour: the ICC profile when there is one, else sRGB as nclx; the
     * YCbCr matrix is BT.601 full range, or identity (GBR) for lossless */
    if (!(nclx = heif_nclx_color_profile_alloc())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    nclx->color_primaries = heif_color_primaries_ITU_R_BT_709_5;
    nclx->transfer_characteristics = heif_transfer_characteristic_IEC_61966_2_1;
    nclx->matrix_coefficients = o->lossless ? heif_matrix_coefficients_RGB_GBR
                                            : heif_matrix_coefficients_ITU_R_BT_601_6;
    nclx->full_range_flag = 1;
    if (m->icc.len) {
        if (m->icc.len > INT_MAX) {
            *dropped |= META_HAS_ICC;
        } else {
            HEIF_TRY(heif_image_set_raw_color_profile(img, "prof", m->icc.data, m->icc.len));
            /* lossless needs the identity matrix signalled next to the ICC */
            if (o->lossless)
                HEIF_TRY(heif_image_set_nclx_color_profile(img, nclx));
        }
    } else {
        HEIF_TRY(heif_image_set_nclx_color_profile(img, nclx));
    }

    HEIF_TRY(heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc));
    if (o->lossless) {
        HEIF_TRY(heif_encoder_set_lossless(enc, 1));
        HEIF_TRY(heif_encoder_set_parameter(enc, "chroma", "444"));
    } else {
        HEIF_TRY(heif_encoder_set_lossy_quality(enc, o->quality >= 0 ? o->quality : 50));
        const char *cs = o->subsampling == 444 ? "444" : o->subsampling == 422 ? "422" : "420";
        HEIF_TRY(heif_encoder_set_parameter(enc, "chroma", cs));
    }
    if (o->effort >= 0) {
        struct heif_error e = heif_encoder_set_parameter(
            enc, "preset", presets[o->effort > 9 ? 9 : o->effort]);
        if (e.code != heif_error_Ok)
            tp_log(TP_LOG_WARN, "HEIF: encoder has no preset parameter: %s", e.message);
    }

    if (!(eo = heif_encoding_options_alloc())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    eo->output_nclx_profile = nclx;
    /* lossless relies on the identity matrix: signal it next to the ICC */
    eo->save_two_colr_boxes_when_ICC_and_nclx_available = (uint8_t)(o->lossless && m->icc.len);
#if HEIF_AT_LEAST(1, 17, 0)
    /* written as irot/imir, so the output displays like the input */
    eo->image_orientation = m->orientation >= 1 && m->orientation <= 8
                                ? (enum heif_orientation)m->orientation
                                : heif_orientation_normal;
#endif
    HEIF_TRY(heif_context_encode_image(ctx, img, enc, eo, &h));

    if (m->exif.len) {
        int off = exif_find_tiff(m->exif.data, m->exif.len);
        if (off < 0 || m->exif.len > INT_MAX) {
            *dropped |= META_HAS_EXIF;
        } else {
            /* bare TIFF: libheif prepends the 4-byte header offset itself */
            HEIF_TRY(heif_context_add_exif_metadata(ctx, h, m->exif.data + off,
                                                    (int)(m->exif.len - (size_t)off)));
        }
    }
    if (m->xmp.len) {
        if (m->xmp.len > INT_MAX)
            *dropped |= META_HAS_XMP;
        else
            HEIF_TRY(heif_context_add_XMP_metadata(ctx, h, m->xmp.data, (int)m->xmp.len));
    }

    struct heif_writer writer = { .writer_api_version = 1, .write = write_cb };
    out->len = 0;
    HEIF_TRY(heif_context_write(ctx, &writer, out));
#if !HEIF_AT_LEAST(1, 17, 0)
    if ((ret = add_orientation(out, m->orientation)) < 0) {
        tp_err_set("HEIF: cannot add the irot/imir boxes for orientation %d", m->orientation);
        goto end;
    }
#endif
    ret = 0;
end:
    heif_encoding_options_free(eo);
    if (nclx)
        heif_nclx_color_profile_free(nclx);
    if (h)
        heif_image_handle_release(h);
    if (img)
        heif_image_release(img);
    if (enc)
        heif_encoder_release(enc);
    heif_context_free(ctx);
    return ret;
}

/* The primary image's auxiliary images (alpha, depth, gain map, mattes:
 * classified by their auxC URN), depth images and thumbnails. */
static int heif_components(struct codec_priv *p, const uint8_t *in, size_t len,
                           struct components *c)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *h = NULL;
    heif_item_id ids[COMP_MAX_PARTS];
    int ret;

    if (!ctx)
        return TP_ERR(ENOMEM);
    if (p->o.limits.max_dimension > 0 && p->o.limits.max_dimension < 32768)
        heif_context_set_maximum_image_size_limit(ctx, p->o.limits.max_dimension);
    HEIF_TRY(heif_context_read_from_memory_without_copy(ctx, in, len, NULL));
    HEIF_TRY(heif_context_get_primary_image_handle(ctx, &h));
    /* alpha is listed from the probe; depth comes from its own API below */
    int n = heif_image_handle_get_list_of_auxiliary_image_IDs(
        h, LIBHEIF_AUX_IMAGE_FILTER_OMIT_ALPHA | LIBHEIF_AUX_IMAGE_FILTER_OMIT_DEPTH, ids,
        COMP_MAX_PARTS);
    for (int i = 0; i < n; i++) {
        struct heif_image_handle *ah = NULL;
        const char *type = NULL;
        struct comp_part *cp;
        if (heif_image_handle_get_auxiliary_image_handle(h, ids[i], &ah).code != heif_error_Ok)
            continue;
        if (heif_image_handle_get_auxiliary_type(ah, &type).code == heif_error_Ok && type) {
            enum comp_kind k = strstr(type, "hdrgainmap")                            ? COMP_GAIN_MAP
                               : strstr(type, "depth") || strstr(type, "disparity") ? COMP_DEPTH
                               : strstr(type, "matte")                               ? COMP_MATTE
                                                                                     : COMP_AUX;
            if ((cp = components_add(c, k, k == COMP_GAIN_MAP ? "apple" : type))) {
                cp->width = heif_image_handle_get_width(ah);
                cp->height = heif_image_handle_get_height(ah);
                cp->bit_depth = heif_image_handle_get_luma_bits_per_pixel(ah);
            }
            heif_image_handle_free_auxiliary_types(ah, &type);
        }
        heif_image_handle_release(ah);
    }
    for (int i = 0; i < heif_image_handle_get_number_of_depth_images(h); i++)
        components_add(c, COMP_DEPTH, "depth");
    for (int i = 0; i < heif_image_handle_get_number_of_thumbnails(h); i++)
        components_add(c, COMP_THUMBNAIL, NULL);
    ret = 0;
end:
    if (h)
        heif_image_handle_release(h);
    heif_context_free(ctx);
    return ret;
}

static void heif_close(struct codec_priv *p)
{
    if (p->inited)
        heif_deinit();
    p->inited = 0;
}

static const char *const heif_suffixes[] = { ".heic", ".heif", ".hif", ".avci", NULL };

static const char *const heif_aliases[] = { "heic", "hif", NULL };

const struct codec codec_heif = {
    .name = "heif",
    .aliases = heif_aliases,
    .mime = "image/heif",
    .suffixes = heif_suffixes,
    .caps = CODEC_CAP_SUBSAMPLING | CODEC_CAP_DECODE | CODEC_CAP_ENCODE |
            CODEC_CAP_META_EXIF | CODEC_CAP_META_XMP |
            CODEC_CAP_META_ICC | CODEC_CAP_LOSSLESS | CODEC_CAP_INIT_NOT_THREADSAFE,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 64,
    .probe = heif_probe,
    .open = heif_open,
    .decode = heif_decode,
    .encode = heif_encode,
    .close = heif_close,
    .quality_level = heif_quality_level,
    .components = heif_components,
};
