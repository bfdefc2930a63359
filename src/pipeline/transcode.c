/* The transcode decision and encode (see transcode.h).  Moved from the
 * runner's encode child (src/runner/job.c), which the simulator's own copy
 * (src/sim/sim.c transcode_one) had drifted from. */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "components.h"
#include "err.h"
#include "mem.h"
#include "probe.h"
#include "search.h"
#include "sha256.h"
#include "store.h"
#include "transcode.h"
#include "video.h"
#include "video_ssim.h"

int transcode_video_codec(const struct policy_transcode *tc)
{
    if (tc->mode != POLICY_MODE_LOSSY)
        return -1;
    for (int i = 0; i < tc->ncodecs; i++) {
        int v = codec_video_encoder(tc->codecs[i]); /* index = enum video_cold_codec */
        if (v >= 0)
            return v;
    }
    return -1;
}

int transcode_needed(const char *kind, const struct policy_transcode *tc)
{
    if (tc->mode == POLICY_MODE_NONE)
        return 0;
    if (!strcmp(kind, "video"))
        return transcode_video_codec(tc) >= 0;
    return 1;
}

int transcode_read_source(struct store *st, int64_t asset_id, const char *source,
                          struct tp_buf *out)
{
    int ret = store_get_verified(st, source, out);
    if (ret == TP_ERR_CORRUPT) { /* the tag's text is "stored original is corrupt" */
        char why[SHA256_HEX_LEN + 1];
        const char *p = strstr(tp_err_detail(), "hash to ");
        snprintf(why, sizeof(why), "%s", p ? p + 8 : "?");
        if (asset_id >= 0)
            tp_err_set("asset %lld, blob %s (its bytes hash to %s)", (long long)asset_id, source,
                       why);
        else
            tp_err_set("blob %s (its bytes hash to %s)", source, why);
    }
    return ret;
}

/* A video's cold re-encode: the video search measures sampled frames with
 * the SSIM kernel against the tier's floors (mean, worst frame). */
static int encode_video(const struct policy_tier *t, int threads, const struct tp_buf *src,
                        struct transcode_outcome *oc, struct tp_buf *out)
{
    const struct policy_transcode *tc = &t->act.transcode;
    struct video_cold_opts vo;
    struct video_cold_report rep;
    int codec = transcode_video_codec(tc);
    video_cold_defaults(&vo, (enum video_cold_codec)codec);
    vo.ssim_floor = tc->ssim;
    vo.tile_floor = tc->tile_ssim;
    vo.min_saving = tc->min_saving;
    vo.compare = video_ssim_compare;
    vo.compare_opaque = &threads;
    memset(&rep, 0, sizeof(rep));
    FORWARD_ERR(video_transcode_cold(src->data, src->len, &vo, out, &rep));
    oc->kept = rep.keep_original;
    if (oc->kept)
        snprintf(oc->reason, sizeof(oc->reason), "no CRF met the floor and saved %.0f%%",
                 100 * tc->min_saving);
    snprintf(oc->codec, sizeof(oc->codec), "%s", codec_video_encoders[codec]);
    oc->quality = rep.crf;
    oc->probes = rep.probes;
    oc->ssim = rep.ssim_mean;
    oc->min_tile = rep.ssim_min;
    oc->ssim_cb = oc->ssim_cr = -1;
    oc->encode_ms = rep.encode_seconds * 1e3;
    return 0;
}

static unsigned keep_mask(unsigned policy_meta)
{
    /* originals keep their location: GPS stays unless EXIF itself is dropped */
    return (policy_meta & POLICY_META_EXIF ? META_KEEP_EXIF | META_KEEP_GPS : 0) |
           (policy_meta & POLICY_META_XMP ? META_KEEP_XMP : 0) |
           (policy_meta & POLICY_META_ICC ? META_KEEP_ICC : 0);
}

/* A lossless pixel encode with the first candidate: verified later by
 * exact pixel equality. */
static int encode_lossless_pixels(const struct policy_transcode *tc, const struct codec *cd,
                                  const struct image *img, const struct meta *m, unsigned keep,
                                  size_t in_len, struct search_result *res)
{
    struct codec_ctx *ctx;
    struct codec_opts eo;
    struct meta km;
    unsigned dropped;
    int ret;
    codec_opts_defaults(&eo);
    eo.lossless = 1;
    eo.effort = tc->effort;
    FORWARD_ERR(meta_copy(&km, m));
    meta_apply_keep(&km, keep);
    if ((ret = codec_open(&ctx, cd, &eo)) >= 0) {
        ret = codec_encode(ctx, img, &km, &res->out, &dropped);
        codec_close(&ctx);
    }
    meta_free(&km);
    FORWARD_ERR(ret);
    res->codec = cd;
    res->in_bytes = in_len;
    res->lossless = 1;
    res->ssim = res->min_tile = res->ssim_cb = res->ssim_cr = 1;
    if ((double)res->out.len > (1.0 - tc->min_saving) * (double)in_len) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason), "lossless %s saves less than %.0f%%",
                 cd->name, 100 * tc->min_saving);
    }
    return 0;
}

/* The components rule on a finished encode: 0 when res->out carries every
 * part of src, else TP_ERR_VERIFY with res->lost saying what it lost. */
static int carries(const struct components *src, struct search_result *res)
{
    struct media_info *mi = tp_malloc(sizeof(*mi));
    char what[160];
    int ret;
    if (!mi)
        return TP_ERR(ENOMEM);
    ret = probe_media(res->out.data, res->out.len, NULL, NULL, mi);
    if (ret >= 0)
        ret = components_compare(src, &mi->comp, what, sizeof(what));
    else
        snprintf(what, sizeof(what), "everything (the output does not probe)");
    if (ret < 0)
        snprintf(res->lost, sizeof(res->lost), "%s would lose %s",
                 res->codec ? res->codec->name : "the encode", what);
    tp_err_clear();
    tp_free(mi);
    return ret < 0 ? TP_ERR_VERIFY : 0;
}

/* An image: recompression, lossless pixels or the quality search. */
static int encode_image(const struct policy_tier *t, int threads, const struct tp_buf *src,
                        struct transcode_outcome *oc, struct search_result *res)
{
    const struct policy_transcode *tc = &t->act.transcode;
    const struct codec *jpeg = codec_find_by_name("jpeg");
    struct image img = { 0 };
    struct meta m;
    int ret;

    struct media_info *mi = tp_malloc(sizeof(*mi));
    meta_init(&m);
    if (!mi)
        return TP_ERR(ENOMEM);
    if ((ret = probe_media(src->data, src->len, NULL, NULL, mi)) < 0)
        goto end;
    int is_jpeg = codec_find_for_data(src->data, src->len, NULL, CODEC_CAP_DECODE) == jpeg;
    if (tc->mode == POLICY_MODE_LOSSLESS && is_jpeg) {
        if ((ret = search_lossless(src->data, src->len, tc->min_saving, res)) < 0)
            goto end;
        oc->lossless = oc->recompressed = 1;
    } else {
        struct codec_opts dopts;
        struct search_candidate cands[POLICY_MAX_CODECS];
        struct search_opts so;
        int n = 0;
        codec_opts_defaults(&dopts);
        if ((ret = codec_decode_any(src->data, src->len, NULL, &dopts, &img, &m, NULL)) < 0)
            goto end;
        search_opts_defaults(&so);
        so.min_saving = tc->min_saving;
        so.keep = keep_mask(tc->keep_meta);
        so.threads = threads;
        so.carry = &mi->comp;
        for (int i = 0; i < tc->ncodecs && n < POLICY_MAX_CODECS; i++) {
            const struct codec *c = codec_find_by_name(tc->codecs[i]);
            if (!c || !(c->caps & CODEC_CAP_ENCODE))
                continue;
            cands[n++] = (struct search_candidate){ c, tc->effort, tc->subsampling, 0, NULL };
        }
        if (!n) {
            tp_err_set("no usable codec in tier '%s'", t->name);
            ret = TP_ERR_UNSUPPORTED;
            goto end;
        }
        if (tc->mode == POLICY_MODE_LOSSLESS) {
            if (components_need_bitstream(&mi->comp)) {
                struct components none = mi->comp;
                none.nparts = 0;
                none.frames = 1;
                components_compare(&mi->comp, &none, res->lost, sizeof(res->lost));
                tp_err_clear();
                res->kept_original = 1;
                snprintf(res->reason, sizeof(res->reason),
                         "a lossless %s encode would lose %.120s", cands[0].codec->name, res->lost);
            } else {
                if ((ret = encode_lossless_pixels(tc, cands[0].codec, &img, &m, so.keep,
                                                  src->len, res)) < 0)
                    goto end;
                oc->lossless = 1;
                if (!res->kept_original && carries(&mi->comp, res) < 0) {
                    res->kept_original = 1;
                    oc->lossless = 0;
                    buf_free(&res->out);
                    snprintf(res->reason, sizeof(res->reason), "%.150s", res->lost);
                }
            }
        } else {
            so.floor.ssim = tc->ssim;
            so.floor.tile = tc->tile_ssim;
            so.floor.chroma = tc->chroma_ssim;
            so.floor.butteraugli = tc->butteraugli_max;
            so.max_cpu_s_per_mp = tc->max_cpu_s_per_mp;
            if ((ret = search_run(src->data, src->len, &img, &m, cands, n, &so, res)) < 0)
                goto end;
            /* the winner may be the lossless JPEG recompression: verified by
             * reconstruction, like the lossless mode */
            oc->lossless = oc->recompressed = res->lossless;
        }
        if (res->kept_original && res->lost[0] && is_jpeg) {
            /* every re-encode lost a part: the byte-exact recompression
             * keeps them all (the bytes after the EOI included) */
            struct search_result ll;
            if ((ret = search_lossless(src->data, src->len, tc->min_saving, &ll)) < 0)
                goto end;
            snprintf(ll.lost, sizeof(ll.lost), "%s", res->lost);
            search_result_free(res);
            *res = ll;
            oc->lossless = oc->recompressed = !res->kept_original;
        }
    }
    snprintf(oc->refused, sizeof(oc->refused), "%s", res->lost);
    oc->kept = res->kept_original;
    snprintf(oc->reason, sizeof(oc->reason), "%s", res->reason);
    if (res->codec)
        snprintf(oc->codec, sizeof(oc->codec), "%s", res->codec->name);
    oc->quality = res->quality;
    oc->subsampling = res->subsampling;
    oc->probes = res->probes;
    oc->ssim = res->ssim;
    oc->min_tile = res->min_tile;
    oc->ssim_cb = res->ssim_cb;
    oc->ssim_cr = res->ssim_cr;
    oc->encode_ms = res->encode_ms;
    oc->verify_ms = res->verify_ms;
    oc->width = img.width;
    oc->height = img.height;
    ret = 0;
end:
    image_free(&img);
    meta_free(&m);
    tp_free(mi);
    return ret;
}

static int transcode_to(struct store *from, struct store *to, int64_t asset_id,
                        const char *kind, const char *source, const struct policy_tier *t,
                        int threads, struct transcode_outcome *oc, struct tp_buf *bytes_out)
{
    struct tp_buf src = { 0 };
    struct search_result res;
    int ret = 0;

    memset(oc, 0, sizeof(*oc));
    memset(&res, 0, sizeof(res));
    if (!transcode_needed(kind, &t->act.transcode)) { /* in_bytes stays 0: nothing was read */
        oc->kept = 1;
        snprintf(oc->reason, sizeof(oc->reason), "tier '%s' has no %s codec work", t->name, kind);
        goto end;
    }
    if ((ret = transcode_read_source(from, asset_id, source, &src)) < 0)
        goto end;
    oc->in_bytes = src.len;
    if (!strcmp(kind, "video"))
        ret = encode_video(t, threads, &src, oc, &res.out);
    else
        ret = encode_image(t, threads, &src, oc, &res);
    if (ret < 0)
        goto end;
    if (!oc->kept) {
        oc->bytes = res.out.len;
        /* the new representation is written in the tier's storage class */
        sha256_hex(res.out.data, res.out.len, oc->hash);
        if (to) {
            ret = store_put_class(to, oc->hash, res.out.data, res.out.len, t->act.storage_class);
        } else {
            *bytes_out = res.out; /* moved */
            memset(&res.out, 0, sizeof(res.out));
        }
    }
end:
    search_result_free(&res);
    buf_free(&src);
    return ret < 0 ? ret : 0;
}

int transcode_asset(struct store *from, struct store *to, int64_t asset_id, const char *kind,
                    const char *source, const struct policy_tier *t, int threads,
                    struct transcode_outcome *oc)
{
    return transcode_to(from, to, asset_id, kind, source, t, threads, oc, NULL);
}

int transcode_asset_buf(struct store *from, int64_t asset_id, const char *kind,
                        const char *source, const struct policy_tier *t, int threads,
                        struct transcode_outcome *oc, struct tp_buf *bytes_out)
{
    return transcode_to(from, NULL, asset_id, kind, source, t, threads, oc, bytes_out);
}
