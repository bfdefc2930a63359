/* PNG: decoded with libpng (one pass, see png_read_file), encoded through
 * libvips (see vipsglue.c). */
#include <stdio.h>
#include <string.h>
#include <png.h>
#include <setjmp.h>
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

/* One pass over the file: every chunk's framing and CRC are checked here
 * (IHDR first, its size within the limits, IEND present), and each chunk is
 * handed to libpng's progressive reader, which inflates the image data once,
 * straight into the rows of the image.  Its IDAT checks are errors here:
 * the zlib Adler-32, a stream that ends early, and data past the last row.
 * libpng stops at the first byte inflated past the last row, and IDAT data
 * goes in 64 KiB pieces, so a zlib bomb costs no more than an honest image
 * of the same dimensions. */
#define PNG_FEED 65536

struct png_read {
    const struct codec_opts *o;
    struct image *img;
    struct meta *m;
    uint64_t need;          /* filtered image data the header allows */
    uint32_t w, h;
    size_t idat_fed, idat_total; /* compressed bytes given to libpng, in the file */
    int in_idat;            /* a warning now is about the image data */
    int header_seen;        /* the info callback ran */
    int interlaced;
    char why[200];          /* libpng's message */
    char err[400];          /* ours, when a callback refuses */
    int err_code;
};

static void png_rd_error(png_structp png, png_const_charp msg)
{
    struct png_read *r = png_get_error_ptr(png);
    while (!strncmp(msg, "IDAT: ", 6)) /* the chunk, named once in our message */
        msg += 6;
    if (!r->why[0])
        snprintf(r->why, sizeof(r->why), "%s", msg);
    png_longjmp(png, 1);
}

static void png_rd_warning(png_structp png, png_const_charp msg)
{
    struct png_read *r = png_get_error_ptr(png);
    /* the Adler-32, a short or overlong stream: refused, not repaired */
    if (r->in_idat)
        png_rd_error(png, msg);
    tp_log(TP_LOG_DEBUG, "libpng: %s", msg);
}

static void png_rd_refuse(png_structp png, struct png_read *r, int code)
{
    r->err_code = code;
    snprintf(r->err, sizeof(r->err), "%s", tp_err_detail());
    png_longjmp(png, 1);
}

static void png_rd_info(png_structp png, png_infop info)
{
    struct png_read *r = png_get_progressive_ptr(png);
    png_uint_32 w, h;
    int depth, ctype, ilace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &ilace, NULL, NULL);
    int alpha = (ctype & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    int grey = !(ctype & PNG_COLOR_MASK_COLOR);
    /* 8- or 16-bit grey/RGB with optional alpha, native byte order */
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (grey && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16) {
        uint16_t one = 1;
        if (*(uint8_t *)&one)
            png_set_swap(png);
    }
    r->interlaced = ilace != PNG_INTERLACE_NONE;
    if (r->interlaced)
        png_set_interlace_handling(png);
    png_read_update_info(png, info);

    struct image *img = r->img;
    struct meta *m = r->m;
    img->width = (int)w;
    img->height = (int)h;
    img->channels = (grey ? 1 : 3) + (alpha ? 1 : 0);
    img->depth = depth == 16 ? 2 : 1;
    img->bit_depth = depth == 16 ? 16 : 8;
    img->frames = 1; /* APNG: the default image */
    if (m) {
        png_charp name;
        int comp;
        png_bytep prof;
        png_uint_32 plen;
        png_textp text;
        int ntext;
        int ret = 0;
        if (png_get_iCCP(png, info, &name, &comp, &prof, &plen) && plen)
            ret = buf_set(&m->icc, prof, plen);
        if (!ret && png_get_text(png, info, &text, &ntext) > 0)
            for (int i = 0; i < ntext && !ret; i++)
                if (!strcmp(text[i].key, "XML:com.adobe.xmp") && text[i].text)
                    ret = buf_set(&m->xmp, text[i].text, strlen(text[i].text));
        if (ret < 0)
            png_rd_refuse(png, r, ret);
    }
    r->header_seen = 1;
    if (r->o->header_only)
        png_longjmp(png, 2);
    int ret = image_alloc(img, img->width, img->height, img->channels, img->depth);
    if (ret < 0)
        png_rd_refuse(png, r, ret);
    img->frames = 1;
    img->bit_depth = depth == 16 ? 16 : 8;
    if (png_get_rowbytes(png, info) != img->stride) {
        tp_err_set("libpng gives %zu bytes a row, expected %zu",
                   (size_t)png_get_rowbytes(png, info), img->stride);
        png_rd_refuse(png, r, TP_ERR_BUG);
    }
    r->in_idat = 1;
}

static void png_rd_row(png_structp png, png_bytep row, png_uint_32 y, int pass)
{
    struct png_read *r = png_get_progressive_ptr(png);
    (void)pass;
    if (row && y < (png_uint_32)r->img->height)
        png_progressive_combine_row(png, r->img->data + (size_t)y * r->img->stride, row);
}

static int png_read_file(struct png_read *r, const uint8_t *b, size_t len)
{
    const struct image_limits *lim = &r->o->limits;
    volatile size_t pos = 8;
    volatile int seen_ihdr = 0;
    volatile int seen_iend = 0;
    volatile int ret = 0;
    int st;
    char cn[12];
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, r, png_rd_error,
                                             png_rd_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return TP_ERR(ENOMEM);
    }
    if ((st = setjmp(png_jmpbuf(png)))) {
        if (st == 2 && r->header_seen) {
            ret = 0;
        } else if (r->err_code) {
            tp_err_set("%s", r->err);
            ret = r->err_code;
        } else if (!r->header_seen) {
            tp_err_set("PNG header is invalid (libpng: %s)", r->why);
            ret = TP_ERR_INVALIDDATA;
        } else if (strstr(r->why, "Extra compressed data")) {
            tp_err_set("PNG image data inflates beyond the %llu bytes its %ux%u header allows "
                       "(stopped within the first %zu of %zu compressed bytes)",
                       (unsigned long long)r->need, r->w, r->h, r->idat_fed, r->idat_total);
            ret = TP_ERR_INVALIDDATA;
        } else {
            tp_err_set("PNG image data is corrupt (libpng: %s)", r->why);
            ret = TP_ERR_INVALIDDATA;
        }
        goto end;
    }
    /* the chunks are checked here, once */
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
    png_set_user_limits(png, (png_uint_32)lim->max_dimension, (png_uint_32)lim->max_dimension);
    png_set_chunk_malloc_max(png, 50u << 20); /* text and ICC chunks, as libvips allows */
    png_set_option(png, PNG_SKIP_sRGB_CHECK_PROFILE, PNG_OPTION_ON);
    png_set_progressive_read_fn(png, r, png_rd_info, png_rd_row, NULL);
    png_process_data(png, info, (png_bytep)(uintptr_t)b, 8);
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
            r->w = be32(d);
            r->h = be32(d + 4);
            if ((ret = image_check_dims(lim, r->w, r->h)) < 0)
                goto end;
            r->need = png_data_size(r->w, r->h, d[8], d[9], d[12]);
            if (!r->need) {
                tp_err_set("PNG header is invalid (%ux%u, bit depth %d, colour type %d, "
                           "interlace %d)", r->w, r->h, d[8], d[9], d[12]);
                ret = TP_ERR_INVALIDDATA;
                goto end;
            }
        }
        if (!memcmp(type, "IEND", 4))
            seen_iend = 1;
        if (!memcmp(type, "IDAT", 4)) {
            /* the header, then the data in pieces (how far a bomb got) */
            r->idat_total += clen;
            png_process_data(png, info, (png_bytep)(uintptr_t)(b + pos), 8);
            for (size_t k = 0; k < clen; k += PNG_FEED) {
                size_t n = clen - k < PNG_FEED ? clen - k : PNG_FEED;
                r->idat_fed += n;
                png_process_data(png, info, (png_bytep)(uintptr_t)(d + k), n);
            }
            png_process_data(png, info, (png_bytep)(uintptr_t)(d + clen), 4);
        } else {
            if (r->in_idat) {
                /* the image data is over: libpng's own checks of its end */
                png_process_data(png, info, (png_bytep)(uintptr_t)(b + pos), 8);
                r->in_idat = 0;
                png_process_data(png, info, (png_bytep)(uintptr_t)(d), clen + 4);
            } else {
                png_process_data(png, info, (png_bytep)(uintptr_t)(b + pos), 12 + clen);
            }
        }
        pos += 12 + (size_t)clen;
    }
    if (!r->header_seen) {
        tp_err_set("PNG has no image data (no IDAT chunk)");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    /* every row of every pass arrived */
    int done = r->interlaced ? png_get_current_pass_number(png) >= 7
                             : png_get_current_row_number(png) >= r->h;
    if (!done) {
        tp_err_set("PNG image data is short: the zlib stream ends before the last row "
                   "(truncated image)");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    tp_log(TP_LOG_DEBUG, "PNG: inflated %llu bytes (the header allows %llu)",
           (unsigned long long)r->need, (unsigned long long)r->need);
end:
    png_destroy_read_struct(&png, &info, NULL);
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

/* EXIF: an eXIf chunk (libpng's progressive reader does not keep it),
 * before or after the image data (darktable writes it after), else a
 * "Raw profile type exif" text chunk (ImageMagick, exiftool).  Bounds are
 * checked; the CRCs were checked by png_read_file. */
static int png_exif_chunks(const uint8_t *b, size_t len, struct meta *m)
{
    static const char key[] = "Raw profile type exif";
    size_t pos = 8;
    int seen_idat = 0;
    while (pos + 12 <= len && !m->exif.len) {
        uint32_t clen = be32(b + pos);
        if (clen > len - pos - 12)
            break;
        const uint8_t *t = b + pos + 4, *d = b + pos + 8;
        if (!memcmp(t, "eXIf", 4) && clen >= 8 && exif_find_tiff(d, clen) == 0) {
            FORWARD_ERR(buf_set(&m->exif, d, clen));
            /* the display orientation, from an eXIf before the image data
             * (as libvips reads it); one after it is metadata only */
            struct exif_info ei;
            memset(&ei, 0, sizeof(ei));
            if (!seen_idat && exif_parse(d, clen, &ei) >= 0 && ei.orientation >= 1 &&
                ei.orientation <= 8)
                m->orientation = ei.orientation;
            return 0;
        }
        seen_idat |= !memcmp(t, "IDAT", 4);
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
    struct png_read r = { .o = &p->o, .img = out, .m = m };
    int ret = png_read_file(&r, in, len);
    if (ret >= 0 && m)
        ret = png_exif_chunks(in, len, m);
    if (ret < 0)
        image_free(out); /* nothing for the caller (a leak found by the ASan replay) */
    return ret;
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
