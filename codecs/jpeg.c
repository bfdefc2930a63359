/* JPEG through libjpeg-turbo's TurboJPEG API, with DCT-domain scaled decode.
 * TurboJPEG 2.x does not expose APP markers, so EXIF (APP1 "Exif"), XMP
 * (APP1 Adobe namespace) and ICC (APP2 ICC_PROFILE, chunked) are read and
 * written here by walking the marker segments. */
#include <string.h>
#include <turbojpeg.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "codec.h"

#define APP1 0xE1
#define APP2 0xE2
#define MAX_ICC_CHUNKS 255

static const char xmp_ns[] = "http://ns.adobe.com/xap/1.0/";   /* + NUL */
static const char icc_sig[] = "ICC_PROFILE";                   /* + NUL */

struct codec_priv {
    tjhandle dec, enc;
    struct codec_opts o;
};

static int jpeg_err(tjhandle h, const char *what)
{
    tp_err_set("%s: %s", what, tjGetErrorStr2(h));
    return TP_ERR_INVALIDDATA;
}

static int jpeg_probe(const uint8_t *b, size_t len)
{
    return len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF;
}

static int jpeg_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return 0;
}

/* Walks the segments before SOS: collects EXIF, XMP, ICC (chunks in
 * sequence order) and checks the Adobe marker for CMYK inversion. */
static int read_markers(const uint8_t *d, size_t len, struct meta *m)
{
    const uint8_t *icc_chunk[MAX_ICC_CHUNKS + 1] = { 0 };
    size_t icc_len[MAX_ICC_CHUNKS + 1] = { 0 };
    int icc_total = 0;
    size_t pos = 2;
    while (pos + 4 <= len) {
        if (d[pos] != 0xFF) {
            tp_err_set("marker expected at offset %zu", pos);
            return TP_ERR_INVALIDDATA;
        }
        uint8_t mk = d[pos + 1];
        if (mk == 0xFF) { /* fill byte */
            pos++;
            continue;
        }
        if (mk == 0xDA || mk == 0xD9)
            break;
        if (mk >= 0xD0 && mk <= 0xD7) {
            pos += 2;
            continue;
        }
        size_t seg = (size_t)d[pos + 2] << 8 | d[pos + 3];
        if (seg < 2 || pos + 2 + seg > len) {
            tp_err_set("marker segment 0x%02X at offset %zu runs past the end", mk, pos);
            return TP_ERR_INVALIDDATA;
        }
        const uint8_t *body = d + pos + 4;
        size_t blen = seg - 2;
        if (mk == APP1 && blen >= 6 && !memcmp(body, "Exif\0", 5) && !m->exif.len) {
            if (buf_set(&m->exif, body + 6, blen - 6) < 0)
                return TP_ERR(ENOMEM);
        } else if (mk == APP1 && blen >= sizeof(xmp_ns) && !memcmp(body, xmp_ns, sizeof(xmp_ns)) &&
                   !m->xmp.len) {
            if (buf_set(&m->xmp, body + sizeof(xmp_ns), blen - sizeof(xmp_ns)) < 0)
                return TP_ERR(ENOMEM);
        } else if (mk == APP2 && blen >= sizeof(icc_sig) + 2 &&
                   !memcmp(body, icc_sig, sizeof(icc_sig))) {
            int seq = body[sizeof(icc_sig)], total = body[sizeof(icc_sig) + 1];
            if (seq >= 1 && seq <= total && !icc_chunk[seq]) {
                icc_total = total;
                icc_chunk[seq] = body + sizeof(icc_sig) + 2;
                icc_len[seq] = blen - sizeof(icc_sig) - 2;
            }
        }
        pos += 2 + seg;
    }
    if (icc_total) {
        int complete = 1;
        for (int i = 1; i <= icc_total; i++)
            complete &= icc_chunk[i] != NULL;
        if (!complete) {
            tp_log(TP_LOG_WARN, "JPEG: incomplete ICC profile ignored");
        } else {
            for (int i = 1; i <= icc_total; i++)
                if (buf_append(&m->icc, icc_chunk[i], icc_len[i]) < 0)
                    return TP_ERR(ENOMEM);
        }
    }
    return 0;
}

static int exif_orientation(const struct meta *m);

/* A progressive JPEG cut short and closed with an EOI decodes without any
 * libjpeg warning, as a blurry picture.  Catch it: every coefficient of
 * every component must have been refined down to bit 0 by some scan. */
static int check_progressive_complete(const uint8_t *d, size_t len)
{
    uint8_t level[4][64], ids[4];
    int ncomp = 0, progressive = 0;
    size_t pos = 2;
    memset(level, 0xff, sizeof(level));
    while (pos + 4 <= len) {
        if (d[pos] != 0xFF) {
            pos++;
            continue;
        }
        uint8_t mk = d[pos + 1];
        if (mk == 0xFF || mk == 0x00 || (mk >= 0xD0 && mk <= 0xD7)) {
            pos++;
            continue;
        }
        if (mk == 0xD9)
            break;
        size_t seg = (size_t)d[pos + 2] << 8 | d[pos + 3];
        if (pos + 2 + seg > len)
            break;
        const uint8_t *b = d + pos + 4;
        if ((mk == 0xC2 || mk == 0xC6 || mk == 0xCA || mk == 0xCE) && seg >= 8) {
            progressive = 1;
            ncomp = b[5] > 4 ? 4 : b[5];
            for (int i = 0; i < ncomp && 6 + 3 * (size_t)i < seg - 2; i++)
                ids[i] = b[6 + 3 * i];
        } else if (mk == 0xDA && progressive && seg >= 6) {
            int ns = b[0];
            if ((size_t)(1 + 2 * ns + 3) > seg - 2)
                return 0;
            int ss = b[1 + 2 * ns], se = b[2 + 2 * ns], al = b[3 + 2 * ns] & 15;
            for (int i = 0; i < ns; i++)
                for (int c = 0; c < ncomp; c++)
                    if (ids[c] == b[1 + 2 * i])
                        for (int k = ss; k <= se && k < 64; k++)
                            level[c][k] = (uint8_t)al;
            pos += 2 + seg;
            continue; /* entropy-coded data follows: the loop skips it */
        }
        pos += 2 + seg;
    }
    if (!progressive)
        return 0;
    for (int c = 0; c < ncomp; c++)
        for (int k = 0; k < 64; k++)
            if (level[c][k]) {
                tp_err_set("progressive JPEG is incomplete (component %d coefficient %d %s): "
                           "truncated file", c, k, level[c][k] == 0xff ? "never coded" : "not fully refined");
                return TP_ERR_INVALIDDATA;
            }
    return 0;
}

static int jpeg_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    int w, h, subsamp, cs, ret;
    unsigned char *cmyk = NULL;
    tjhandle t;

    FORWARD_ERR(read_markers(in, len, m));
    m->orientation = exif_orientation(m);
    if (!p->dec && !(p->dec = tjInitDecompress()))
        return TP_ERR(ENOMEM);
    t = p->dec;
    if (tjDecompressHeader3(t, in, (unsigned long)len, &w, &h, &subsamp, &cs) < 0)
        return jpeg_err(t, "JPEG header");
    FORWARD_ERR(image_check_dims(&p->o.limits, (uint64_t)w, (uint64_t)h));

    /* DCT-domain scaling: the smallest factor that still covers the wanted
     * size (factors are N/8; libjpeg-turbo scales in the IDCT). */
    int nsf, sw = w, sh = h;
    tjscalingfactor *sf = tjGetScalingFactors(&nsf);
    if ((p->o.min_width > 0 || p->o.min_height > 0) && sf) {
        for (int i = 0; i < nsf; i++) {
            if (sf[i].num > sf[i].denom)
                continue;
            int tw = TJSCALED(w, sf[i]), th = TJSCALED(h, sf[i]);
            if (tw >= p->o.min_width && th >= p->o.min_height && tw * (int64_t)th < sw * (int64_t)sh) {
                sw = tw;
                sh = th;
            }
        }
    }
    int gray = cs == TJCS_GRAY, is_cmyk = cs == TJCS_CMYK || cs == TJCS_YCCK;
    if (p->o.header_only) {
        out->width = w;
        out->height = h;
        out->channels = gray ? 1 : 3;
        out->depth = 1;
        out->bit_depth = 8;
        out->frames = 1;
        return 0;
    }
    FORWARD_ERR(check_progressive_complete(in, len));
    int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS;
    if (is_cmyk) {
        cmyk = tp_malloc((size_t)sw * (size_t)sh * 4);
        if (!cmyk)
            return TP_ERR(ENOMEM);
        if (tjDecompress2(t, in, (unsigned long)len, cmyk, sw, 0, sh, TJPF_CMYK, flags) < 0) {
            ret = jpeg_err(t, "JPEG");
            goto end;
        }
        if ((ret = image_alloc(out, sw, sh, 3, 1)) < 0)
            goto end;
        /* TurboJPEG returns Adobe-style (inverted) CMYK as stored; a naive
         * conversion is the best we can do without a CMYK profile. */
        for (size_t i = 0; i < (size_t)sw * (size_t)sh; i++) {
            unsigned k = cmyk[4 * i + 3];
            for (int c = 0; c < 3; c++)
                out->data[3 * i + c] = (uint8_t)((cmyk[4 * i + c] * k + 127) / 255);
        }
        ret = 0;
        goto end;
    }
    if ((ret = image_alloc(out, sw, sh, gray ? 1 : 3, 1)) < 0)
        return ret;
    if (tjDecompress2(t, in, (unsigned long)len, out->data, sw, (int)out->stride, sh,
                      gray ? TJPF_GRAY : TJPF_RGB, flags) < 0) {
        ret = jpeg_err(t, "JPEG");
        image_free(out); /* nothing for the caller (a leak found by fuzz_decode) */
        return ret;
    }
    ret = 0;
end:
    tp_free(cmyk);
    return ret;
}

static int exif_orientation(const struct meta *m)
{
    struct exif_info info;
    if (m->exif.len && exif_parse(m->exif.data, m->exif.len, &info) == 0 && info.orientation)
        return info.orientation;
    return 1;
}

static int put_segment(struct tp_buf *o, uint8_t marker, const void *hdr, size_t hlen,
                       const uint8_t *body, size_t blen)
{
    uint8_t mk[4];
    size_t seg = 2 + hlen + blen;
    if (seg > 0xFFFF)
        return TP_ERR_LIMIT;
    mk[0] = 0xFF;
    mk[1] = marker;
    mk[2] = (uint8_t)(seg >> 8);
    mk[3] = (uint8_t)seg;
    FORWARD_ERR(buf_append(o, mk, 4));
    FORWARD_ERR(buf_append(o, hdr, hlen));
    return buf_append(o, body, blen);
}

/* Inserts the metadata segments after SOI and any JFIF APP0 of jpg. */
static int insert_meta(const uint8_t *jpg, size_t len, const struct meta *m, struct tp_buf *out,
                       unsigned *dropped)
{
    size_t head = 2;
    if (len >= 6 && jpg[2] == 0xFF && jpg[3] == 0xE0)
        head = 4 + ((size_t)jpg[4] << 8 | jpg[5]);
    FORWARD_ERR(buf_append(out, jpg, head));
    if (m->exif.len) {
        if (put_segment(out, APP1, "Exif\0", 6, m->exif.data, m->exif.len) == TP_ERR_LIMIT) {
            tp_log(TP_LOG_WARN, "JPEG: EXIF block of %zu bytes does not fit in APP1", m->exif.len);
            *dropped |= META_HAS_EXIF;
        }
    }
    if (m->xmp.len) {
        if (put_segment(out, APP1, xmp_ns, sizeof(xmp_ns), m->xmp.data, m->xmp.len) == TP_ERR_LIMIT) {
            tp_log(TP_LOG_WARN, "JPEG: XMP packet of %zu bytes needs extended XMP; dropped", m->xmp.len);
            *dropped |= META_HAS_XMP;
        }
    }
    if (m->icc.len) {
        const size_t chunk = 65519; /* 65535 - length - "ICC_PROFILE\0" - seq - count */
        size_t n = (m->icc.len + chunk - 1) / chunk;
        if (n > MAX_ICC_CHUNKS) {
            *dropped |= META_HAS_ICC;
        } else {
            for (size_t i = 0; i < n; i++) {
                uint8_t hdr[sizeof(icc_sig) + 2];
                memcpy(hdr, icc_sig, sizeof(icc_sig));
                hdr[sizeof(icc_sig)] = (uint8_t)(i + 1);
                hdr[sizeof(icc_sig) + 1] = (uint8_t)n;
                size_t off = i * chunk, l = m->icc.len - off < chunk ? m->icc.len - off : chunk;
                FORWARD_ERR(put_segment(out, APP2, hdr, sizeof(hdr), m->icc.data + off, l));
            }
        }
    }
    return buf_append(out, jpg + head, len - head);
}

static int jpeg_encode(struct codec_priv *p, const struct image *img, const struct meta *m,
                       struct tp_buf *out, unsigned *dropped)
{
    struct image tmp = { 0 };
    const struct image *src = img;
    unsigned char *jpg = NULL;
    unsigned long jlen = 0;
    int ret;

    if (image_has_alpha(img) || img->depth != 1 || img->channels == 2) {
        /* JPEG has no alpha: composite on white, as viewers show it */
        FORWARD_ERR(image_to_rgb8_flat(img, 255, &tmp));
        src = &tmp;
    }
    if (!p->enc && !(p->enc = tjInitCompress())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    int q = p->o.quality >= 0 ? p->o.quality : 90;
    q = q < 1 ? 1 : q > 100 ? 100 : q;
    int ss = src->channels == 1 ? TJSAMP_GRAY
             : p->o.subsampling == 444 ? TJSAMP_444
             : p->o.subsampling == 422 ? TJSAMP_422
             : p->o.subsampling == 0 && q >= 95 ? TJSAMP_444 : TJSAMP_420;
    if (tjCompress2(p->enc, src->data, src->width, (int)src->stride, src->height,
                    src->channels == 1 ? TJPF_GRAY : TJPF_RGB, &jpg, &jlen, ss, q,
                    TJFLAG_ACCURATEDCT | (p->o.effort >= 5 ? TJFLAG_PROGRESSIVE : 0)) < 0) {
        jpeg_err(p->enc, "JPEG encode");
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    out->len = 0;
    ret = insert_meta(jpg, jlen, m, out, dropped);
end:
    if (jpg)
        tjFree(jpg);
    image_free(&tmp);
    return ret;
}

static void jpeg_close(struct codec_priv *p)
{
    if (p->dec)
        tjDestroy(p->dec);
    if (p->enc)
        tjDestroy(p->enc);
    p->dec = p->enc = NULL;
}

static const char *const jpeg_suffixes[] = { ".jpg", ".jpeg", ".jpe", ".jfif", NULL };

static const char *const jpeg_aliases[] = { "jpg", NULL };

const struct codec codec_jpeg = {
    .name = "jpeg",
    .aliases = jpeg_aliases,
    .mime = "image/jpeg",
    .suffixes = jpeg_suffixes,
    .caps = CODEC_CAP_SUBSAMPLING | CODEC_CAP_DECODE | CODEC_CAP_ENCODE |
            CODEC_CAP_META_EXIF | CODEC_CAP_META_XMP |
            CODEC_CAP_META_ICC,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 3,
    .probe = jpeg_probe,
    .open = jpeg_open,
    .decode = jpeg_decode,
    .encode = jpeg_encode,
    .close = jpeg_close,
};
