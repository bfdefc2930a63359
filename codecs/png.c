/* PNG through libvips (see vipsglue.c). */
#include <string.h>
#include <zlib.h>

#include "err.h"

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

/* libvips' PNG loader tolerates truncated files and corrupt streams, so the
 * structure is checked here first: every chunk's CRC, IHDR first, IEND
 * present, and the IDAT zlib stream complete (inflated to its end, with
 * the size the header implies for a non-interlaced image). */
static int png_validate(const uint8_t *b, size_t len)
{
    size_t pos = 8;
    int seen_ihdr = 0, seen_iend = 0, ret = 0;
    uint32_t w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    z_stream z;
    uint8_t sink[16384];
    uint64_t inflated = 0;
    int zstate = 0; /* 0 not started, 1 running, 2 ended */

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
            tp_err_set("PNG chunk '%.4s' at offset %zu runs past the end of the file", type, pos);
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        uint32_t crc = (uint32_t)crc32(0, type, clen + 4);
        if (crc != be32(b + pos + 8 + clen)) {
            tp_err_set("PNG chunk '%.4s' at offset %zu has a bad CRC", type, pos);
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        const uint8_t *d = b + pos + 8;
        if (!seen_ihdr && memcmp(type, "IHDR", 4)) {
            tp_err_set("PNG does not start with IHDR");
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        if (!memcmp(type, "IHDR", 4) && clen >= 13) {
            seen_ihdr = 1;
            w = be32(d);
            h = be32(d + 4);
            depth = d[8];
            ctype = d[9];
            interlace = d[12];
        } else if (!memcmp(type, "IDAT", 4) && zstate != 2) {
            z.next_in = (Bytef *)(uintptr_t)d;
            z.avail_in = clen;
            zstate = 1;
            while (z.avail_in) {
                z.next_out = sink;
                z.avail_out = sizeof(sink);
                int r = inflate(&z, Z_NO_FLUSH);
                inflated += sizeof(sink) - z.avail_out;
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
    {
        /* the size of the filtered image data the header implies: one
         * filter byte per row, per Adam7 pass when interlaced */
        static const int chans[7] = { 1, 0, 3, 1, 2, 0, 4 };
        static const int x0[7] = { 0, 4, 0, 2, 0, 1, 0 }, dx[7] = { 8, 8, 4, 4, 2, 2, 1 };
        static const int y0[7] = { 0, 0, 4, 0, 2, 0, 1 }, dy[7] = { 8, 8, 8, 4, 4, 2, 2 };
        int ch = ctype <= 6 ? chans[ctype] : 0;
        uint64_t need = 0;
        for (int pass = 0; pass < (interlace ? 7 : 1); pass++) {
            uint64_t pw = interlace ? (w + (uint64_t)(dx[pass] - x0[pass] - 1)) / (uint64_t)dx[pass] : w;
            uint64_t ph = interlace ? (h + (uint64_t)(dy[pass] - y0[pass] - 1)) / (uint64_t)dy[pass] : h;
            if (pw && ph)
                need += ((pw * (uint64_t)ch * (uint64_t)depth + 7) / 8 + 1) * ph;
        }
        if (ch && inflated < need) {
            tp_err_set("PNG image data is short: %llu of %llu bytes (truncated image)",
                       (unsigned long long)inflated, (unsigned long long)need);
            ret = TP_ERR_INVALIDDATA;
        }
    }
end:
    inflateEnd(&z);
    return ret;
}

static int png_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return vipsglue_init();
}

static int png_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    if (!p->o.header_only)
        FORWARD_ERR(png_validate(in, len));
    return vipsglue_decode(&p->o, "pngload", in, len, out, m);
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
