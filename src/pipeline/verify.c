/* Verification of a new representation (see verify.h).  Moved from the
 * runner's verify child (src/runner/job.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "butteraugli.h"
#include "codec.h"
#include "components.h"
#include "err.h"
#include "exif.h"
#include "icc.h"
#include "image.h"
#include "mem.h"
#include "probe.h"
#include "sha256.h"
#include "ssim.h"
#include "store.h"
#include "verify.h"
#include "video.h"

/* Same EXIF facts (capture time, camera) in both. */
static int check_exif(const struct meta *a, const struct meta *b)
{
    struct exif_info ea, eb;
    if (!a->exif.len)
        return 0;
    RETURN_ERR_IF(!b->exif.len, TP_ERR_VERIFY, "EXIF was lost");
    int oa = exif_find_tiff(a->exif.data, a->exif.len), ob = exif_find_tiff(b->exif.data, b->exif.len);
    if (oa < 0 || exif_parse(a->exif.data + oa, a->exif.len - (size_t)oa, &ea) < 0)
        return 0; /* an unreadable source EXIF has nothing to compare */
    RETURN_ERR_IF(ob < 0 || exif_parse(b->exif.data + ob, b->exif.len - (size_t)ob, &eb) < 0,
                  TP_ERR_VERIFY, "EXIF of the new representation is unreadable");
    RETURN_ERR_IF(strcmp(ea.datetime_original, eb.datetime_original) || strcmp(ea.make, eb.make) ||
                      strcmp(ea.model, eb.model) || ea.has_gps != eb.has_gps,
                  TP_ERR_VERIFY, "EXIF facts differ (capture time, camera or GPS)");
    return 0;
}

/* Exact pixel equality after normalising both to the source's layout. */
static int same_pixels(const struct image *a, int oa, const struct image *b, int ob)
{
    struct image ua = { 0 }, ub = { 0 };
    int ret = image_orient(a, oa, &ua);
    if (ret >= 0)
        ret = image_orient(b, ob, &ub);
    if (ret >= 0) {
        ret = ua.width == ub.width && ua.height == ub.height && ua.channels == ub.channels &&
                      ua.depth == ub.depth && ua.stride == ub.stride &&
                      !memcmp(ua.data, ub.data, ua.stride * (size_t)ua.height)
                  ? 0
                  : TP_ERR_VERIFY;
        if (ret < 0)
            tp_err_set("lossless output decodes to different pixels");
    }
    image_free(&ua);
    image_free(&ub);
    return ret;
}

/* The frames were measured by the search on these very bytes; here the
 * stored file must open independently and keep the clip's duration,
 * displayed size and creation time. */
static int verify_video(const struct tp_buf *src, const struct tp_buf *dst)
{
    struct media_info ma_i, mb_i;
    struct video_limits vl;
    struct image poster = { 0 };
    int ret;
    video_limits_defaults(&vl);
    memset(&ma_i, 0, sizeof(ma_i));
    memset(&mb_i, 0, sizeof(mb_i));
    FORWARD_ERR(video_probe_info(src->data, src->len, &vl, &ma_i));
    FORWARD_ERR(video_probe_info(dst->data, dst->len, &vl, &mb_i));
    RETURN_ERR_IF(fabs(ma_i.duration - mb_i.duration) > 0.15 ||
                      ma_i.display_width != mb_i.display_width ||
                      ma_i.display_height != mb_i.display_height ||
                      strcmp(ma_i.creation_time, mb_i.creation_time) || ma_i.has_gps != mb_i.has_gps,
                  TP_ERR_VERIFY,
                  "re-encoded clip differs: %.2f s %dx%d vs %.2f s %dx%d (or lost its "
                  "creation time/location)", mb_i.duration, mb_i.display_width,
                  mb_i.display_height, ma_i.duration, ma_i.display_width, ma_i.display_height);
    ret = video_poster(dst->data, dst->len, &vl, &poster, NULL);
    image_free(&poster);
    return ret;
}

/* A JPEG XL recompression must give the source back byte for byte. */
static int verify_reconstruction(const char *source, const struct tp_buf *src,
                                 const struct tp_buf *dst)
{
    const struct codec *cd = codec_find_for_data(dst->data, dst->len, NULL, CODEC_CAP_DECODE);
    struct codec_ctx *ctx;
    struct tp_buf back = { 0 };
    char h[SHA256_HEX_LEN + 1];
    int ret;
    RETURN_ERR_IF(!cd || !cd->reconstruct, TP_ERR_VERIFY,
                  "the recompressed file is in no format that gives the JPEG back");
    FORWARD_ERR(codec_open(&ctx, cd, NULL));
    ret = cd->reconstruct((struct codec_priv *)ctx->priv_storage, dst->data, dst->len, &back);
    codec_close(&ctx);
    if (ret < 0)
        goto end;
    if (back.len != src->len || memcmp(back.data, src->data, src->len)) {
        tp_err_set("reconstructed JPEG differs from the original");
        ret = TP_ERR_VERIFY;
        goto end;
    }
    /* the source blob is content-addressed: its name is the sha256 the
     * reconstruction must have (for an untouched upload, the upload's) */
    sha256_hex(back.data, back.len, h);
    if (strcmp(h, source)) {
        tp_err_set("reconstruction's sha256 %.12s is not the source's %.12s", h, source);
        ret = TP_ERR_VERIFY;
        goto end;
    }
    ret = 0;
end:
    buf_free(&back);
    return ret;
}

/* dst carries every component of src (components_compare). */
static int verify_components(const struct tp_buf *src, const struct tp_buf *dst)
{
    struct media_info *ms = tp_malloc(sizeof(*ms)), *md = tp_malloc(sizeof(*md));
    int ret = TP_ERR(ENOMEM);
    if (ms && md && (ret = probe_media(src->data, src->len, NULL, NULL, ms)) >= 0 &&
        (ret = probe_media(dst->data, dst->len, NULL, NULL, md)) >= 0)
        ret = components_compare(&ms->comp, &md->comp, NULL, 0);
    tp_free(ms);
    tp_free(md);
    return ret;
}

int verify_transcode(struct store *st, int64_t asset_id, const char *kind, const char *source,
                     const struct policy_tier *t, const struct transcode_outcome *oc,
                     int threads)
{
    const struct policy_transcode *tc = &t->act.transcode;
    struct tp_buf src = { 0 }, dst = { 0 };
    struct image a = { 0 }, b = { 0 };
    struct meta ma, mb;
    struct codec_opts dopts;
    char desc[128] = "";
    int ret;

    meta_init(&ma);
    meta_init(&mb);
    codec_opts_defaults(&dopts);
    if ((ret = store_get_verified(st, oc->hash, &dst)) < 0) {
        if (ret == TP_ERR_CORRUPT)
            ret = TP_ERR_VERIFY; /* the new blob was damaged on its way to the store */
        goto end;
    }
    if ((ret = transcode_read_source(st, asset_id, source, &src)) < 0)
        goto end;
    if (dst.len != oc->bytes) {
        tp_err_set("stored %zu bytes, expected %llu", dst.len, (unsigned long long)oc->bytes);
        ret = TP_ERR_VERIFY;
        goto end;
    }
    if (!strcmp(kind, "video")) {
        ret = verify_video(&src, &dst);
        goto end;
    }
    if (oc->recompressed) {
        ret = verify_reconstruction(source, &src, &dst);
        goto end;
    }
    /* the components rule, independently of the search that applied it */
    if ((ret = verify_components(&src, &dst)) < 0)
        goto end;
    if ((ret = codec_decode_any(src.data, src.len, NULL, &dopts, &a, &ma, NULL)) < 0 ||
        (ret = codec_decode_any(dst.data, dst.len, NULL, &dopts, &b, &mb, NULL)) < 0)
        goto end;
    if (oc->lossless) {
        if ((ret = same_pixels(&a, ma.orientation, &b, mb.orientation)) < 0)
            goto end;
    } else {
        struct ssim_opts so;
        struct ssim_result r;
        ssim_opts_defaults(&so);
        so.threads = threads;
        if ((ret = ssim_images(&a, ma.orientation, &b, mb.orientation, &so, &r)) < 0)
            goto end;
        if (r.ssim < tc->ssim || r.min_tile < tc->tile_ssim || r.ssim_cb < tc->chroma_ssim ||
            r.ssim_cr < tc->chroma_ssim) {
            tp_err_set("floor not met on re-measure: ssim %.5f tile %.5f cb %.5f cr %.5f", r.ssim,
                       r.min_tile, r.ssim_cb, r.ssim_cr);
            ret = TP_ERR_VERIFY;
            goto end;
        }
        double d;
        if (tc->butteraugli_max > 0 &&
            (ret = butteraugli_images(&a, ma.orientation, &b, mb.orientation, threads, &d)) < 0)
            goto end;
        if (tc->butteraugli_max > 0 && d > tc->butteraugli_max) {
            tp_err_set("Butteraugli max %.3f is above the ceiling %g on re-measure", d,
                       tc->butteraugli_max);
            ret = TP_ERR_VERIFY;
            goto end;
        }
    }
    if (tc->keep_meta & POLICY_META_EXIF && (ret = check_exif(&ma, &mb)) < 0)
        goto end;
    if ((tc->keep_meta & POLICY_META_ICC) && ma.icc.len && !mb.icc.len &&
        /* an sRGB profile may come back as the format's own sRGB signal */
        !(icc_description(ma.icc.data, ma.icc.len, desc, sizeof(desc)) == 0 && strstr(desc, "sRGB"))) {
        tp_err_set("the ICC profile was lost");
        ret = TP_ERR_VERIFY;
        goto end;
    }
    ret = 0;
end:
    image_free(&a);
    image_free(&b);
    meta_free(&ma);
    meta_free(&mb);
    buf_free(&src);
    buf_free(&dst);
    return ret;
}
