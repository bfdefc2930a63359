/* The codec table: one entry per adapter, in preference order. */
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"
#include "codec.h"

extern const struct codec codec_jpeg;
extern const struct codec codec_webp;
extern const struct codec codec_avif;
extern const struct codec codec_heif;
extern const struct codec codec_jxl;
extern const struct codec codec_png;
extern const struct codec codec_tiff;
extern const struct codec codec_gif;
extern const struct codec codec_vips;
extern const struct codec codec_video;

/* Order is preference order when several probes match at the same
 * priority: native adapters (direct library calls, metadata-exact) before
 * the generic libvips adapter, which loads anything else libvips knows
 * (PNG, TIFF, GIF, ...).  Video comes last: its probe is the broadest. */
const struct codec *const codec_list[] = {
    &codec_jpeg,
#if HAVE_WEBP
    &codec_webp,
#endif
#if HAVE_AVIF
    &codec_avif,
#endif
#if HAVE_HEIF
    &codec_heif,
#endif
#if HAVE_JXL
    &codec_jxl,
#endif
#if HAVE_VIPS
    &codec_png,
    &codec_tiff,
    &codec_gif,
    &codec_vips,
#endif
#if HAVE_VIDEO
    &codec_video,
#endif
    NULL,
};

void codec_opts_defaults(struct codec_opts *o)
{
    memset(o, 0, sizeof(*o));
    image_limits_defaults(&o->limits);
    o->quality = -1;
    o->effort = -1;
}

_Static_assert(TP_ARRAY_SIZE(codec_list) <= CODEC_MAX + 1, "raise CODEC_MAX");

/* Order is enum video_cold_codec's (codecs/video.h). */
const char *const codec_video_encoders[] = { "hevc", "av1", NULL };

const struct codec *codec_find_by_name(const char *name)
{
    for (int i = 0; codec_list[i]; i++) {
        const struct codec *c = codec_list[i];
        if (!strcasecmp(c->name, name))
            return c;
        for (int j = 0; c->aliases && c->aliases[j]; j++)
            if (!strcasecmp(c->aliases[j], name))
                return c;
    }
    return NULL;
}

int codec_index(const struct codec *c)
{
    for (int i = 0; codec_list[i]; i++)
        if (codec_list[i] == c)
            return i;
    return -1;
}

int codec_video_encoder(const char *name)
{
    for (int i = 0; codec_video_encoders[i]; i++)
        if (!strcasecmp(codec_video_encoders[i], name))
            return i;
    return -1;
}

int codec_names(const char **names, int max, unsigned need_caps, int with_aliases, int with_video)
{
    int n = 0;
    if (max < 1)
        return 0;
    for (int i = 0; codec_list[i]; i++) {
        const struct codec *c = codec_list[i];
        if ((c->caps & need_caps) != need_caps)
            continue;
        if (n < max - 1)
            names[n++] = c->name;
        for (int j = 0; with_aliases && c->aliases && c->aliases[j]; j++)
            if (n < max - 1)
                names[n++] = c->aliases[j];
    }
    for (int i = 0; with_video && codec_video_encoders[i]; i++)
        if (n < max - 1)
            names[n++] = codec_video_encoders[i];
    names[n] = NULL;
    return n;
}

const struct codec *codec_find_by_suffix(const char *path, unsigned need_caps)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (!dot || strchr(dot, '/'))
        return NULL;
    for (int i = 0; codec_list[i]; i++) {
        const struct codec *c = codec_list[i];
        if ((c->caps & need_caps) != need_caps || !c->suffixes)
            continue;
        for (int j = 0; c->suffixes[j]; j++)
            if (!strcasecmp(dot, c->suffixes[j]))
                return c;
    }
    return NULL;
}

const struct codec *codec_find_for_data(const uint8_t *buf, size_t len, const char *path,
                                        unsigned need_caps)
{
    const struct codec *best = NULL;
    int best_prio = 0;
    for (int i = 0; codec_list[i]; i++) {
        const struct codec *c = codec_list[i];
        if ((c->caps & need_caps) != need_caps || !c->probe)
            continue;
        size_t n = len < c->probe_size ? len : c->probe_size;
        if (c->probe(buf, n) > 0 && (!best || c->priority > best_prio)) {
            best = c;
            best_prio = c->priority;
        }
    }
    if (best || !len)
        return best;
    return codec_find_by_suffix(path, need_caps);
}

int codec_open(struct codec_ctx **ctx_out, const struct codec *c, const struct codec_opts *o)
{
    struct codec_ctx *ctx = tp_calloc(1, sizeof(*ctx) + c->priv_size);
    *ctx_out = NULL;
    if (!ctx)
        return TP_ERR(ENOMEM);
    ctx->codec = c;
    if (o)
        ctx->opts = *o;
    else
        codec_opts_defaults(&ctx->opts);
    if (c->open) {
        int ret = c->open((struct codec_priv *)ctx->priv_storage, &ctx->opts);
        if (ret < 0) {
            if (c->close)
                c->close((struct codec_priv *)ctx->priv_storage);
            tp_free(ctx);
            return ret;
        }
    }
    *ctx_out = ctx;
    return 0;
}

void codec_close(struct codec_ctx **pctx)
{
    struct codec_ctx *ctx = *pctx;
    if (!ctx)
        return;
    if (ctx->codec->close)
        ctx->codec->close((struct codec_priv *)ctx->priv_storage);
    tp_free(ctx);
    *pctx = NULL;
}

int codec_decode(struct codec_ctx *ctx, const uint8_t *in, size_t len, struct image *out,
                 struct meta *m)
{
    RETURN_ERR_IF(!(ctx->codec->caps & CODEC_CAP_DECODE) || !ctx->codec->decode,
                  TP_ERR_UNSUPPORTED, "%s: cannot decode", ctx->codec->name);
    RETURN_ERR_IF(len > ctx->opts.limits.max_file_bytes, TP_ERR_LIMIT,
                  "file is %zu bytes, limit %llu", len,
                  (unsigned long long)ctx->opts.limits.max_file_bytes);
    /* libraries that print traces to stderr are logged at debug level */
    log_capture_begin();
    int ret = ctx->codec->decode((struct codec_priv *)ctx->priv_storage, in, len, out, m);
    log_capture_end(ctx->codec->name);
    return ret;
}

int codec_encode(struct codec_ctx *ctx, const struct image *img, const struct meta *m,
                 struct tp_buf *out, unsigned *dropped_out)
{
    unsigned dropped = 0;
    RETURN_ERR_IF(!(ctx->codec->caps & CODEC_CAP_ENCODE) || !ctx->codec->encode,
                  TP_ERR_UNSUPPORTED, "%s: cannot encode", ctx->codec->name);
    log_capture_begin();
    int ret = ctx->codec->encode((struct codec_priv *)ctx->priv_storage, img, m, out, &dropped);
    log_capture_end(ctx->codec->name);
    if (dropped_out)
        *dropped_out = dropped;
    return ret;
}

int codec_decode_any(const uint8_t *in, size_t len, const char *path, const struct codec_opts *o,
                     struct image *out, struct meta *m, const struct codec **codec_out)
{
    const struct codec *c = codec_find_for_data(in, len, path, CODEC_CAP_DECODE);
    struct codec_ctx *ctx;
    if (codec_out)
        *codec_out = c;
    RETURN_ERR_IF(!len, TP_ERR_INVALIDDATA, "empty file");
    RETURN_ERR_IF(!c, TP_ERR_UNKNOWNFMT, "no decoder recognises the content");
    FORWARD_ERR(codec_open(&ctx, c, o));
    int ret = codec_decode(ctx, in, len, out, m);
    codec_close(&ctx);
    return ret;
}
