/* PNG through libvips (see vipsglue.c). */
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "err.h"
#include "exif.h"
#include "log.h"

#include "codec.h"
#include "vipsglue.h"

struct codec_priv {
    struct codec_opts o;
};

static int png_probe(const uint8_t *b, size_t len)
{
    return len >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A chunk type for a message: its four letters, or hex when the bytes are
 * not letters (they come from the file and must not reach a terminal). */
static const char *chunk_name(const uint8_t *t, char buf[12])
{
    int letters = 1;
    for (int i = 0; i < 4; i++)
        if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z')))
            letters = 0;
    if (letters)
        snprintf(buf, 12, "'%.4s'", (const char *)t);
    else
        snprintf(buf, 12, "0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
    return buf;
}

/* The size of the filtered image data an IHDR allows: rows x (stride + one
 * filter byte), per Adam7 pass when interlaced; 0 for an invalid header. */
static uint64_t png_data_size(uint32_t w, uint32_t h, int depth, int ctype, int interlace)
{
    static const int chans[7] = { 1, 0, 3, 1, 2, 0, 4 };
    static const int x0[7] = { 0, 4, 0, 2, 0, 1, 0 }, dx[7] = { 8, 8, 4, 4, 2, 2, 1 };
    static const int y0[7] = { 0, 0, 4, 0, 2, 0, 1 }, dy[7] = { 8, 8, 8, 4, 4, 2, 2 };
    int ch = ctype >= 0 && ctype <= 6 ? chans[ctype] : 0;
    if (!ch || (depth != 1 && depth != 2 && depth != 4 && depth != 8 && depth != 16) ||
        interlace > 1)
        return 0;
    uint64_t need = 0;
    for (int pass = 0; pass < (interlace ? 7 : 1); pass++) {
        uint64_t pw = interlace ? (w + (uint64_t)(dx[pass] - x0[pass] - 1)) / (uint64_t)dx[pass] : w;
        uint64_t ph = interlace ? (h + (uint64_t)(dy[pass] - y0[pass] - 1)) / (uint64_t)dy[pass] : h;
        if (pw && ph)
            need += ((pw * (uint64_t)ch * (uint64_t)depth + 7) / 8 + 1) * ph;
    }
    return need;
}

/* libvips' PNG loader tolerates truncated files and corrupt streams, so the
 * structure is checked here first: every chunk's CRC, IHDR first (its size
 * within the limits), IEND present, and the IDAT zlib stream complete,
 * inflating exactly the size the header implies.  Inflation stops at the
 * first byte beyond that size, so a zlib bomb costs no more than an honest
 * image of the same dimensions. */
static int png_validate(const struct image_limits *lim, const uint8_t *b, size_t len)
{
    size_t pos = 8;
    int seen_ihdr = 0, seen_iend = 0, ret = 0;
    uint32_t w = 0, h = 0;
    z_stream z;
    uint8_t sink[16384];
    uint64_t inflated = 0, need = 0;
    int zstate = 0; /* 0 not started, 1 running, 2 ended */
    char cn[12];

    memset(&z, 0, sizeof(z));
    if (inflateInit(&z) != Z_OK)
        return TP_ERR(ENOMEM);
    while (!seen_iend) {
        if (len - pos < 12) {
            tp_err_set("PNG truncated at offset %zu (no IEND chunk)", pos);
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        uint32_t clen = be32(b + pos);
        const uint8_t *type = b + pos + 4;
        if (clen > 0x7fffffff || clen > len - pos - 12) {
            tp_err_set("PNG chunk %s at offset %zu runs past the end of the file",
                       chunk_name(type, cn), pos);
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        uint32_t crc = (uint32_t)crc32(0, type, clen + 4);
        if (crc != be32(b + pos + 8 + clen)) {
            tp_err_set("PNG chunk %s at offset %zu has a bad CRC", chunk_name(type, cn), pos);
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        const uint8_t *d = b + pos + 8;
        if (!seen_ihdr && (memcmp(type, "IHDR", 4) || clen < 13)) {
            tp_err_set("PNG does not start with an IHDR chunk (found %s)", chunk_name(type, cn));
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        if (!seen_ihdr) {
            seen_ihdr = 1;
            w = be32(d);
            h = be32(d + 4);
            if ((ret = image_check_dims(lim, w, h)) < 0)
                goto end;
            need = png_data_size(w, h, d[8], d[9], d[12]);
            if (!need) {
                tp_err_set("PNG header is invalid (%ux%u, bit depth %d, colour type %d, "
                           "interlace %d)", w, h, d[8], d[9], d[12]);
                ret = TP_ERR_INVALIDDATA;
                goto end;
            }
        } else if (!memcmp(type, "IDAT", 4) && zstate != 2) {
            z.next_in = (Bytef *)(uintptr_t)d;
            z.avail_in = clen;
            zstate = 1;
            while (z.avail_in) {
                /* room for at most one byte past the allowed size */
                uint64_t room = need + 1 - inflated;
                z.next_out = sink;
                z.avail_out = room < sizeof(sink) ? (uInt)room : (uInt)sizeof(sink);
                int r = inflate(&z, Z_NO_FLUSH);
                inflated += (z.next_out - sink);
                if (inflated > need) {
                    tp_err_set("PNG image data inflates beyond the %llu bytes its %ux%u header "
                               "allows (stopped after %llu bytes)", (unsigned long long)need, w,
                               h, (unsigned long long)inflated);
                    ret = TP_ERR_INVALIDDATA;
                    goto end;
                }
                if (r == Z_STREAM_END) {
                    zstate = 2;
                    break;
                }
                if (r != Z_OK) {
                    tp_err_set("PNG image data is corrupt (zlib: %s)", z.msg ? z.msg : "error");
                    ret = TP_ERR_INVALIDDATA;
                    goto end;
                }
            }
        } else if (!memcmp(type, "IEND", 4)) {
            seen_iend = 1;
        }
        pos += 12 + (size_t)clen;
    }
    if (zstate != 2) {
        tp_err_set("PNG image data ends early (incomplete zlib stream)");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    if (inflated < need) {
        tp_err_set("PNG image data is short: %llu of %llu bytes (truncated image)",
                   (unsigned long long)inflated, (unsigned long long)need);
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    tp_log(TP_LOG_DEBUG, "PNG: inflated %llu bytes (the header allows %llu)",
           (unsigned long long)inflated, (unsigned long long)need);
end:
    inflateEnd(&z);
    return ret;
}

static int png_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return vipsglue_init();
}

#define PNG_TEXT_EXIF_MAX (1u << 20) /* inflated "Raw profile type exif" text, at most */

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* ImageMagick's and exiftool's text form: "\nexif\n   LEN\nHEX..." (in a
 * tEXt, or deflated in a zTXt), the hex being the EXIF (maybe "Exif\0\0" first). */
static int png_text_exif(const uint8_t *d, size_t n, int deflated, struct meta *m)
{
    struct tp_buf text = { 0 }, bin = { 0 };
    int ret = 0;
    if (deflated) {
        z_stream z;
        uint8_t chunk[16384];
        memset(&z, 0, sizeof(z));
        if (n < 1 || d[0] != 0 || inflateInit(&z) != Z_OK) /* compression method 0 */
            return 0;
        z.next_in = (Bytef *)(uintptr_t)(d + 1);
        z.avail_in = (uInt)(n - 1);
        int zr = Z_OK;
        while (zr == Z_OK && text.len < PNG_TEXT_EXIF_MAX) {
            z.next_out = chunk;
            z.avail_out = sizeof(chunk);
            zr = inflate(&z, Z_NO_FLUSH);
            if ((ret = buf_append(&text, chunk, sizeof(chunk) - z.avail_out)) < 0)
                break;
        }
        inflateEnd(&z);
        if (ret < 0 || zr != Z_STREAM_END)
            goto end;
    } else if ((ret = buf_set(&text, d, n)) < 0) {
        goto end;
    }
    /* skip "\nexif\n", the decimal length and its newline */
    size_t i = 0, lines = 0;
    while (i < text.len && lines < 3)
        lines += text.data[i++] == '\n';
    for (; i < text.len; i++) {
        int hi = hexval(text.data[i]), lo;
        if (hi < 0)
            continue; /* newlines between the rows of hex */
        if (i + 1 >= text.len || (lo = hexval(text.data[i + 1])) < 0)
            break;
        uint8_t byte = (uint8_t)(hi << 4 | lo);
        if ((ret = buf_append(&bin, &byte, 1)) < 0)
            goto end;
        i++;
    }
    int off = bin.len >= 8 ? exif_find_tiff(bin.data, bin.len) : -1;
    if (off >= 0)
        ret = buf_set(&m->exif, bin.data + off, bin.len - (size_t)off);
end:
    buf_free(&text);
    buf_free(&bin);
    return ret < 0 ? ret : 0;
}

/* EXIF libvips does not hand over: an eXIf chunk after the image data
 * (darktable writes it there; libvips reads the chunks before IDAT), or a
 * "Raw profile type exif" text chunk (ImageMagick, exiftool).  Used when
 * the decode found none.  Bounds are checked; the CRCs were checked by
 * png_validate on a full decode. */
static int png_exif_chunks(const uint8_t *b, size_t len, struct meta *m)
{
    static const char key[] = "Raw profile type exif";
    size_t pos = 8;
    while (pos + 12 <= len && !m->exif.len) {
        uint32_t clen = be32(b + pos);
        if (clen > len - pos - 12)
            break;
        const uint8_t *t = b + pos + 4, *d = b + pos + 8;
        if (!memcmp(t, "eXIf", 4) && clen >= 8 && exif_find_tiff(d, clen) == 0)
            return buf_set(&m->exif, d, clen);
        if ((!memcmp(t, "tEXt", 4) || !memcmp(t, "zTXt", 4)) && clen > sizeof(key) &&
            !memcmp(d, key, sizeof(key))) /* the keyword and its NUL */
            FORWARD_ERR(png_text_exif(d + sizeof(key), clen - sizeof(key), t[0] == 'z', m));
        if (!memcmp(t, "IEND", 4))
            break;
        pos += 12 + (size_t)clen;
    }
    return 0;
}

static int png_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    if (!p->o.header_only)
        FORWARD_ERR(png_validate(&p->o.limits, in, len));
    FORWARD_ERR(vipsglue_decode(&p->o, "pngload", in, len, out, m));
    if (m && !m->exif.len)
        return png_exif_chunks(in, len, m);
    return 0;
}

static int png_encode(struct codec_priv *p, const struct image *img, const struct meta *m,
                       struct tp_buf *out, unsigned *dropped)
{
    return vipsglue_encode(&p->o, "png", img, m, out, dropped);
}

static const char *const png_suffixes[] = { ".png", NULL };

const struct codec codec_png = {
    .name = "png",
    .mime = "image/png",
    .suffixes = png_suffixes,
    .caps = CODEC_CAP_DECODE | CODEC_CAP_ENCODE | CODEC_CAP_LOSSLESS | CODEC_CAP_META_EXIF | CODEC_CAP_META_XMP | CODEC_CAP_META_ICC,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 8,
    .probe = png_probe,
    .open = png_open,
    .decode = png_decode,
    .encode = png_encode,
};
