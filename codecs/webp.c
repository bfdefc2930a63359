/* WebP through libwebp: WebPDecode for still images (lossy, lossless,
 * alpha), WebPAnimDecoder for the first frame of animations, WebPDemux to
 * read the EXIF / XMP / ICCP chunks and WebPMux to write them (VP8X). */
#include <stddef.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "codec.h"

#define WEBP_MAX_DIM 16383 /* 14-bit canvas fields */

struct codec_priv {
    struct codec_opts o;
};

/* Our metadata names mapped to RIFF chunk FourCCs (both directions). */
static const struct {
    char fourcc[5];
    size_t off; /* offset of the struct tp_buf inside struct meta */
} webp_meta[] = {
    { "EXIF", offsetof(struct meta, exif) },
    { "XMP ", offsetof(struct meta, xmp) },
    { "ICCP", offsetof(struct meta, icc) },
};

enum webp_stage { WEBP_DECODE, WEBP_DEMUX, WEBP_ENCODE, WEBP_MUX };

/* The one translator: libwebp's status codes (VP8StatusCode on decode,
 * WebPEncodingError on encode, WebPMuxError for the muxer; the demuxer and
 * animation decoder have none) become a detail message and our code. */
static int webp_err(enum webp_stage stage, int code)
{
    static const char *const dec[] = {
        "ok", "out of memory", "invalid parameter", "bitstream error",
        "unsupported feature", "suspended", "user abort", "not enough data (truncated file)",
    };
    static const char *const enc[] = {
        "ok", "out of memory", "out of memory flushing bits", "NULL parameter",
        "invalid configuration", "bad dimension", "partition 0 overflow (> 512 KiB)",
        "partition overflow (> 16 MiB)", "bad write", "file too big (> 4 GiB)",
        "user abort",
    };
    const char *msg = "unknown error";
    switch (stage) {
    case WEBP_DECODE:
        if (code >= 0 && (size_t)code < TP_ARRAY_SIZE(dec))
            msg = dec[code];
        tp_err_set("WebP: %s", msg);
        return code == VP8_STATUS_OUT_OF_MEMORY ? TP_ERR(ENOMEM) : TP_ERR_INVALIDDATA;
    case WEBP_DEMUX:
        tp_err_set("WebP: %s", code == WEBP_DEMUX_PARSING_HEADER ? "RIFF container truncated"
                               : "malformed RIFF container");
        return TP_ERR_INVALIDDATA;
    case WEBP_ENCODE:
        if (code >= 0 && (size_t)code < TP_ARRAY_SIZE(enc))
            msg = enc[code];
        tp_err_set("WebP encode: %s", msg);
        return code == VP8_ENC_ERROR_OUT_OF_MEMORY ? TP_ERR(ENOMEM) : TP_ERR_EXTERNAL;
    case WEBP_MUX:
        msg = code == WEBP_MUX_MEMORY_ERROR      ? "out of memory"
              : code == WEBP_MUX_INVALID_ARGUMENT ? "invalid argument"
              : code == WEBP_MUX_BAD_DATA         ? "bad data"
              : code == WEBP_MUX_NOT_ENOUGH_DATA  ? "not enough data"
                                                  : "error";
        tp_err_set("WebP mux: %s", msg);
        return code == WEBP_MUX_MEMORY_ERROR ? TP_ERR(ENOMEM) : TP_ERR_EXTERNAL;
    }
    return TP_ERR_BUG;
}

static int webp_probe(const uint8_t *b, size_t len)
{
    return len >= 12 && !memcmp(b, "RIFF", 4) && !memcmp(b + 8, "WEBP", 4);
}

static int webp_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return 0;
}

/* Copies the EXIF / XMP / ICCP chunks into m and sets m->orientation. */
static int read_chunks(const WebPDemuxer *dmux, struct meta *m)
{
    for (size_t i = 0; i < TP_ARRAY_SIZE(webp_meta); i++) {
        WebPChunkIterator it;
        struct tp_buf *b = (struct tp_buf *)(void *)((uint8_t *)m + webp_meta[i].off);
        if (!WebPDemuxGetChunk(dmux, webp_meta[i].fourcc, 1, &it))
            continue;
        const uint8_t *d = it.chunk.bytes;
        size_t n = it.chunk.size;
        int ret = 0;
        if (b == &m->exif) {
            /* raw TIFF per the spec; some writers put "Exif\0\0" first */
            int off = exif_find_tiff(d, n);
            if (off < 0) {
                tp_log(TP_LOG_WARN, "WebP: EXIF chunk without a TIFF header ignored");
                n = 0;
            } else {
                d += off;
                n -= (size_t)off;
            }
        }
        if (n)
            ret = buf_set(b, d, n);
        WebPDemuxReleaseChunkIterator(&it);
        FORWARD_ERR(ret);
    }
    struct exif_info info;
    m->orientation = 1;
    if (m->exif.len && exif_parse(m->exif.data, m->exif.len, &info) == 0 && info.orientation)
        m->orientation = info.orientation;
    return 0;
}

/* First frame of an animation, composited on the canvas, as RGBA. */
static int decode_anim(const uint8_t *in, size_t len, int keep_alpha, struct image *out)
{
    WebPAnimDecoderOptions ao;
    WebPAnimDecoder *ad = NULL;
    WebPAnimInfo info;
    WebPData data = { in, len };
    uint8_t *rgba;
    int ts, ret;

    if (!WebPAnimDecoderOptionsInit(&ao))
        return TP_ERR_BUG;
    ao.color_mode = MODE_RGBA;
    ao.use_threads = 0;
    if (!(ad = WebPAnimDecoderNew(&data, &ao)))
        return webp_err(WEBP_DEMUX, WEBP_DEMUX_PARSE_ERROR);
    if (!WebPAnimDecoderGetInfo(ad, &info) || !WebPAnimDecoderGetNext(ad, &rgba, &ts)) {
        ret = webp_err(WEBP_DECODE, VP8_STATUS_BITSTREAM_ERROR);
        goto end;
    }
    if ((ret = image_alloc(out, (int)info.canvas_width, (int)info.canvas_height,
                           keep_alpha ? 4 : 3, 1)) < 0)
        goto end;
    size_t npx = (size_t)out->width * (size_t)out->height;
    if (keep_alpha) {
        memcpy(out->data, rgba, npx * 4);
    } else {
        for (size_t i = 0; i < npx; i++)
            memcpy(out->data + 3 * i, rgba + 4 * i, 3);
    }
    ret = 0;
end:
    WebPAnimDecoderDelete(ad); /* frees rgba too */
    return ret;
}

static int webp_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    WebPBitstreamFeatures f;
    WebPDecoderConfig cfg;
    WebPDemuxState state;
    WebPData data = { in, len };
    WebPDemuxer *dmux = NULL;
    VP8StatusCode st;
    int ret, frames;

    if ((st = WebPGetFeatures(in, len, &f)) != VP8_STATUS_OK)
        return webp_err(WEBP_DECODE, st);
    FORWARD_ERR(image_check_dims(&p->o.limits, (uint64_t)f.width, (uint64_t)f.height));
    /* the demuxer wants the whole file: a truncated one is refused here */
    dmux = WebPDemuxPartial(&data, &state);
    if (!dmux || state != WEBP_DEMUX_DONE) {
        ret = webp_err(WEBP_DEMUX, dmux ? WEBP_DEMUX_PARSING_HEADER : WEBP_DEMUX_PARSE_ERROR);
        goto end;
    }
    frames = (int)WebPDemuxGetI(dmux, WEBP_FF_FRAME_COUNT);
    if (frames > p->o.limits.max_frames) {
        tp_err_set("%d frames, limit %d", frames, p->o.limits.max_frames);
        ret = TP_ERR_LIMIT;
        goto end;
    }
    if ((ret = read_chunks(dmux, m)) < 0)
        goto end;
    if (p->o.header_only) {
        out->width = f.width;
        out->height = f.height;
        out->channels = f.has_alpha ? 4 : 3;
        out->depth = 1;
        out->bit_depth = 8;
        out->frames = frames > 0 ? frames : 1;
        ret = 0;
        goto end;
    }
    if (f.has_animation) {
        ret = decode_anim(in, len, f.has_alpha, out);
    } else {
        if (!WebPInitDecoderConfig(&cfg)) {
            ret = TP_ERR_BUG;
            goto end;
        }
        if ((ret = image_alloc(out, f.width, f.height, f.has_alpha ? 4 : 3, 1)) < 0)
            goto end;
        cfg.output.colorspace = f.has_alpha ? MODE_RGBA : MODE_RGB;
        cfg.output.is_external_memory = 1;
        cfg.output.u.RGBA.rgba = out->data;
        cfg.output.u.RGBA.stride = (int)out->stride;
        cfg.output.u.RGBA.size = out->stride * (size_t)out->height;
        st = WebPDecode(in, len, &cfg);
        WebPFreeDecBuffer(&cfg.output);
        ret = st == VP8_STATUS_OK ? 0 : webp_err(WEBP_DECODE, st);
        if (ret < 0)
            image_free(out); /* a corrupt bitstream: nothing for the caller (found by fuzz_decode) */
    }
    if (ret >= 0)
        out->frames = frames > 0 ? frames : 1;
end:
    WebPDemuxDelete(dmux);
    return ret;
}

/* Wraps the bare bitstream in a VP8X container with the metadata chunks. */
static int add_chunks(const uint8_t *bits, size_t len, const struct meta *m, struct tp_buf *out)
{
    uint8_t tiff[EXIF_MINIMAL_SIZE];
    WebPData img = { bits, len }, assembled = { NULL, 0 };
    WebPMuxError e;
    WebPMux *mux = WebPMuxNew();
    int ret;

    if (!mux)
        return TP_ERR(ENOMEM);
    if ((e = WebPMuxSetImage(mux, &img, 0)) != WEBP_MUX_OK) {
        ret = webp_err(WEBP_MUX, e);
        goto end;
    }
    for (size_t i = 0; i < TP_ARRAY_SIZE(webp_meta); i++) {
        const struct tp_buf *b = (const struct tp_buf *)(const void *)((const uint8_t *)m +
                                                                       webp_meta[i].off);
        WebPData chunk = { b->data, b->len };
        /* WebP has no orientation field of its own: keep the display
         * transform even when no EXIF came along (meta_apply_keep does the
         * same for callers that run it) */
        if (b == &m->exif && !b->len && m->orientation > 1 && m->orientation <= 8) {
            exif_write_minimal(tiff, m->orientation);
            chunk.bytes = tiff;
            chunk.size = sizeof(tiff);
        }
        if (!chunk.size)
            continue;
        if ((e = WebPMuxSetChunk(mux, webp_meta[i].fourcc, &chunk, 0)) != WEBP_MUX_OK) {
            ret = webp_err(WEBP_MUX, e);
            goto end;
        }
    }
    if ((e = WebPMuxAssemble(mux, &assembled)) != WEBP_MUX_OK) {
        ret = webp_err(WEBP_MUX, e);
        goto end;
    }
    ret = buf_set(out, assembled.bytes, assembled.size);
end:
    WebPDataClear(&assembled);
    WebPMuxDelete(mux);
    return ret;
}

static int webp_encode(struct codec_priv *p, const struct image *img, const struct meta *m,
                       struct tp_buf *out, unsigned *dropped)
{
    struct image tmp = { 0 };
    const struct image *src = img;
    WebPConfig cfg;
    WebPPicture pic;
    WebPMemoryWriter wr;
    const struct codec_opts *o = &p->o;
    int ret, pic_init = 0;

    (void)dropped; /* WebP holds EXIF, XMP and ICC */
    WebPMemoryWriterInit(&wr);
    RETURN_ERR_IF(img->width > WEBP_MAX_DIM || img->height > WEBP_MAX_DIM, TP_ERR_LIMIT,
                  "%dx%d: WebP images are at most %dx%d", img->width, img->height, WEBP_MAX_DIM,
                  WEBP_MAX_DIM);
    if (img->depth != 1 || img->channels < 3) {
        FORWARD_ERR(image_to_rgb8(img, 1, &tmp));
        src = &tmp;
    }
    if (!WebPConfigInit(&cfg) || !WebPPictureInit(&pic)) {
        ret = TP_ERR_BUG;
        goto end;
    }
    pic_init = 1;
    if (o->lossless) {
        /* level 0..9 trades speed for size exactly like our effort */
        if (!WebPConfigLosslessPreset(&cfg, o->effort >= 0 ? o->effort : 6)) {
            ret = TP_ERR_BUG;
            goto end;
        }
        cfg.exact = 1; /* keep RGB under fully transparent pixels */
    } else {
        cfg.quality = (float)(o->quality >= 0 ? o->quality : 82);
        cfg.method = o->effort >= 0 ? (o->effort * 6 + 4) / 9 : 4; /* effort 0..9 -> 0..6 */
    }
    cfg.thread_level = o->threads != 1;
    if (!WebPValidateConfig(&cfg)) {
        ret = webp_err(WEBP_ENCODE, VP8_ENC_ERROR_INVALID_CONFIGURATION);
        goto end;
    }
    pic.use_argb = o->lossless;
    pic.width = src->width;
    pic.height = src->height;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &wr;
    int ok = src->channels == 4 ? WebPPictureImportRGBA(&pic, src->data, (int)src->stride)
                                : WebPPictureImportRGB(&pic, src->data, (int)src->stride);
    if (!ok) {
        ret = webp_err(WEBP_ENCODE, pic.error_code);
        goto end;
    }
    if (!WebPEncode(&cfg, &pic)) {
        ret = webp_err(WEBP_ENCODE, pic.error_code);
        goto end;
    }
    out->len = 0;
    if (meta_present(m) || m->orientation > 1)
        ret = add_chunks(wr.mem, wr.size, m, out);
    else
        ret = buf_set(out, wr.mem, wr.size);
end:
    if (pic_init)
        WebPPictureFree(&pic);
    WebPMemoryWriterClear(&wr);
    image_free(&tmp);
    return ret;
}

static void webp_close(struct codec_priv *p)
{
    (void)p;
}

static const char *const webp_suffixes[] = { ".webp", NULL };

const struct codec codec_webp = {
    .name = "webp",
    .mime = "image/webp",
    .suffixes = webp_suffixes,
    .caps = CODEC_CAP_SUBSAMPLING | CODEC_CAP_DECODE | CODEC_CAP_ENCODE | CODEC_CAP_LOSSLESS |
            CODEC_CAP_META_EXIF | CODEC_CAP_META_XMP | CODEC_CAP_META_ICC,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 12,
    .probe = webp_probe,
    .open = webp_open,
    .decode = webp_decode,
    .encode = webp_encode,
    .close = webp_close,
};
