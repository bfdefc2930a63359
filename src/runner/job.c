/* The batch runner (see job.h).
 *
 * Per asset: encode (child process) -> the new blob is written to the store
 * -> verify (another child: rehash, independent decode, floors, metadata,
 * or byte-exact reconstruction) -> one transaction: record the blob,
 * compare-and-swap the storage pointer, record the cold rendition, finish
 * the job, audit.  A failure anywhere leaves the asset as it was; the new
 * blob, if written, is an orphan that gc removes. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "config.h"
#include "video.h"
#include "catalog.h"
#include "err.h"
#include "exif.h"
#include "facts.h"
#include "fileio.h"
#include "home.h"
#include "icc.h"
#include "job.h"
#include "log.h"
#include "probe.h"
#include "search.h"
#include "sha256.h"
#include "ssim.h"
#include "store.h"
#include "timeutil.h"
#include "video_ssim.h"

void run_opts_defaults(struct run_opts *o)
{
    memset(o, 0, sizeof(*o));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = n > 0 ? (int)(n > 64 ? 64 : n) : 1;
    o->now = time_now();
    sandbox_limits_defaults(&o->limits);
}

/* Test hook: TP_CRASH_AT=<point> kills the runner (as kill -9 would) at a
 * chosen point of the per-asset protocol. */
static void crash_point(const char *name)
{
    const char *at = getenv("TP_CRASH_AT");
    if (at && !strcmp(at, name))
        raise(SIGKILL);
}

/* What the encode child sends back (fixed layout: same binary). */
struct outcome {
    int kept;                 /* nothing met the floor and saved enough */
    int lossless, recompressed;
    char hash[SHA256_HEX_LEN + 1];
    uint64_t bytes, in_bytes;
    char codec[16];
    int quality, subsampling, probes;
    double ssim, min_tile, ssim_cb, ssim_cr;
    double encode_ms, verify_ms;
    int width, height;
    char reason[200];
};

/* What a worker process gets: plain bytes, no pointers (sandbox.h). */
struct work {
    struct config cfg;        /* the home's backends: the worker opens the same store */
    struct catalog_asset asset_v;
    struct policy_tier tier_v;
    char source[SHA256_HEX_LEN + 1]; /* blob hash transcoded from */
    int threads;              /* SSIM threads inside the worker */
    struct outcome oc_v;      /* verify: the outcome to check */
    /* set up by the worker from the copies above */
    const struct catalog_asset *asset;
    const struct policy_tier *tier;
    const struct outcome *oc;
};

static struct work *work_fixup(void *arg)
{
    struct work *w = arg;
    w->asset = &w->asset_v;
    w->tier = &w->tier_v;
    w->oc = &w->oc_v;
    return w;
}

/* The tier's first video re-encoder ("hevc", "av1"), or -1. */
static int tier_video_codec(const struct policy_tier *t)
{
    const struct policy_transcode *tc = &t->act.transcode;
    if (tc->mode != POLICY_MODE_LOSSY)
        return -1;
    for (int i = 0; i < tc->ncodecs; i++) {
        if (!strcmp(tc->codecs[i], "hevc"))
            return VIDEO_COLD_HEVC;
        if (!strcmp(tc->codecs[i], "av1"))
            return VIDEO_COLD_AV1;
    }
    return -1;
}

/* Work for the asset in the tier: 0 = only the label changes. */
static int needs_transcode(const struct catalog_asset *a, const struct policy_tier *t)
{
    if (t->act.transcode.mode == POLICY_MODE_NONE)
        return 0;
    if (!strcmp(a->kind, "video"))
        return tier_video_codec(t) >= 0;
    return 1;
}

/* A video's cold re-encode: the video search measures sampled frames with
 * the SSIM kernel against the tier's floors (mean, worst frame). */
static int encode_video(struct work *w, const struct tp_buf *src, struct outcome *oc,
                        struct tp_buf *out)
{
    const struct policy_transcode *tc = &w->tier->act.transcode;
    struct video_cold_opts vo;
    struct video_cold_report rep;
    int codec = tier_video_codec(w->tier), threads = w->threads;
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
    snprintf(oc->codec, sizeof(oc->codec), "%s", codec == VIDEO_COLD_AV1 ? "av1" : "hevc");
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

static int encode_child(void *arg, struct tp_buf *out)
{
    struct work *w = work_fixup(arg);
    /* test hook: a codec that crashes on a hostile file */
    const char *at = getenv("TP_CRASH_AT");
    if (at && !strcmp(at, "encode_child"))
        raise(SIGSEGV);
    const struct policy_transcode *tc = &w->tier->act.transcode;
    struct store *st = NULL;
    struct tp_buf src = { 0 };
    struct image img = { 0 };
    struct meta m;
    struct search_result res;
    struct outcome oc;
    int ret;

    memset(&oc, 0, sizeof(oc));
    memset(&res, 0, sizeof(res));
    meta_init(&m);
    if ((ret = store_open(&st, w->cfg.store, &w->cfg)) < 0 ||
        (ret = store_get(st, w->source, &src)) < 0)
        goto end;
    oc.in_bytes = src.len;
    if (!strcmp(w->asset->kind, "video")) {
        if ((ret = encode_video(w, &src, &oc, &res.out)) < 0)
            goto end;
        if (!oc.kept) {
            oc.bytes = res.out.len;
            if ((ret = store_put_data(st, res.out.data, res.out.len, oc.hash)) < 0)
                goto end;
        }
        ret = buf_set(out, &oc, sizeof(oc));
        goto end;
    }
    const struct codec *jpeg = codec_find_by_name("jpeg");
    int is_jpeg = codec_find_for_data(src.data, src.len, NULL, CODEC_CAP_DECODE) == jpeg;
    if (tc->mode == POLICY_MODE_LOSSLESS && is_jpeg) {
        if ((ret = search_lossless(src.data, src.len, tc->min_saving, &res)) < 0)
            goto end;
        oc.lossless = oc.recompressed = 1;
    } else {
        struct codec_opts dopts;
        struct search_candidate cands[POLICY_MAX_CODECS];
        struct search_opts so;
        int n = 0;
        codec_opts_defaults(&dopts);
        if ((ret = codec_decode_any(src.data, src.len, NULL, &dopts, &img, &m, NULL)) < 0)
            goto end;
        search_opts_defaults(&so);
        so.min_saving = tc->min_saving;
        so.keep = keep_mask(tc->keep_meta);
        so.threads = w->threads;
        for (int i = 0; i < tc->ncodecs && n < POLICY_MAX_CODECS; i++) {
            const struct codec *c = codec_find_by_name(tc->codecs[i]);
            if (!c || !(c->caps & CODEC_CAP_ENCODE))
                continue;
            cands[n++] = (struct search_candidate){ c, tc->effort, tc->subsampling, 0, NULL };
        }
        RETURN_ERR_IF(!n, TP_ERR_UNSUPPORTED, "no usable codec in tier '%s'", w->tier->name);
        if (tc->mode == POLICY_MODE_LOSSLESS) {
            /* a lossless pixel encode with the first codec: verified by exact
             * pixel equality */
            struct codec_ctx *ctx;
            struct codec_opts eo;
            struct meta km;
            unsigned dropped;
            codec_opts_defaults(&eo);
            eo.lossless = 1;
            eo.effort = tc->effort;
            if ((ret = meta_copy(&km, &m)) < 0)
                goto end;
            meta_apply_keep(&km, so.keep);
            if ((ret = codec_open(&ctx, cands[0].codec, &eo)) >= 0) {
                ret = codec_encode(ctx, &img, &km, &res.out, &dropped);
                codec_close(&ctx);
            }
            meta_free(&km);
            if (ret < 0)
                goto end;
            res.codec = cands[0].codec;
            res.in_bytes = src.len;
            res.lossless = 1;
            res.ssim = res.min_tile = res.ssim_cb = res.ssim_cr = 1;
            if ((double)res.out.len > (1.0 - tc->min_saving) * (double)src.len) {
                res.kept_original = 1;
                snprintf(res.reason, sizeof(res.reason), "lossless %s saves less than %.0f%%",
                         res.codec->name, 100 * tc->min_saving);
            }
            oc.lossless = 1;
        } else {
            so.floor.ssim = tc->ssim;
            so.floor.tile = tc->tile_ssim;
            so.floor.chroma = tc->chroma_ssim;
            if ((ret = search_run(src.data, src.len, &img, &m, cands, n, &so, &res)) < 0)
                goto end;
            /* the winner may be the lossless JPEG recompression: verified by
             * reconstruction, like the lossless mode */
            oc.lossless = oc.recompressed = res.lossless;
        }
    }
    oc.kept = res.kept_original;
    snprintf(oc.reason, sizeof(oc.reason), "%s", res.reason);
    if (res.codec)
        snprintf(oc.codec, sizeof(oc.codec), "%s", res.codec->name);
    oc.quality = res.quality;
    oc.subsampling = res.subsampling;
    oc.probes = res.probes;
    oc.ssim = res.ssim;
    oc.min_tile = res.min_tile;
    oc.ssim_cb = res.ssim_cb;
    oc.ssim_cr = res.ssim_cr;
    oc.encode_ms = res.encode_ms;
    oc.verify_ms = res.verify_ms;
    oc.width = img.width;
    oc.height = img.height;
    if (!oc.kept) {
        oc.bytes = res.out.len;
        if ((ret = store_put_data(st, res.out.data, res.out.len, oc.hash)) < 0)
            goto end;
    }
    ret = buf_set(out, &oc, sizeof(oc));
end:
    search_result_free(&res);
    image_free(&img);
    meta_free(&m);
    buf_free(&src);
    store_close(&st);
    return ret;
}

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

static int verify_child(void *arg, struct tp_buf *out)
{
    struct work *w = work_fixup(arg);
    const struct outcome *oc = w->oc;
    const struct policy_transcode *tc = &w->tier->act.transcode;
    struct store *st = NULL;
    struct tp_buf src = { 0 }, dst = { 0 }, back = { 0 };
    struct image a = { 0 }, b = { 0 };
    struct meta ma, mb;
    struct codec_opts dopts;
    int ret;
    double t0 = (double)clock();

    meta_init(&ma);
    meta_init(&mb);
    codec_opts_defaults(&dopts);
    if ((ret = store_open(&st, w->cfg.store, &w->cfg)) < 0 || (ret = store_verify(st, oc->hash)) < 0 ||
        (ret = store_get(st, oc->hash, &dst)) < 0 || (ret = store_get(st, w->source, &src)) < 0)
        goto end;
    RETURN_ERR_IF(dst.len != oc->bytes, TP_ERR_VERIFY, "stored %zu bytes, expected %llu", dst.len,
                  (unsigned long long)oc->bytes);
    if (!strcmp(w->asset->kind, "video")) {
        /* the frames were measured by the search on these very bytes; here
         * the stored file must open independently and keep the clip's
         * duration, displayed size and creation time */
        struct media_info ma_i, mb_i;
        struct video_limits vl;
        video_limits_defaults(&vl);
        memset(&ma_i, 0, sizeof(ma_i));
        memset(&mb_i, 0, sizeof(mb_i));
        if ((ret = video_probe_info(src.data, src.len, &vl, &ma_i)) < 0 ||
            (ret = video_probe_info(dst.data, dst.len, &vl, &mb_i)) < 0)
            goto end;
        if (fabs(ma_i.duration - mb_i.duration) > 0.15 ||
            ma_i.display_width != mb_i.display_width || ma_i.display_height != mb_i.display_height ||
            strcmp(ma_i.creation_time, mb_i.creation_time) || ma_i.has_gps != mb_i.has_gps) {
            tp_err_set("re-encoded clip differs: %.2f s %dx%d vs %.2f s %dx%d (or lost its "
                       "creation time/location)", mb_i.duration, mb_i.display_width,
                       mb_i.display_height, ma_i.duration, ma_i.display_width, ma_i.display_height);
            ret = TP_ERR_VERIFY;
            goto end;
        }
        struct image poster = { 0 };
        ret = video_poster(dst.data, dst.len, &vl, &poster, NULL);
        image_free(&poster);
        if (ret >= 0)
            ret = buf_set(out, "ok", 2);
        goto end;
    }
    if (oc->recompressed) {
        const struct codec *jxl = codec_find_by_name("jxl");
        struct codec_ctx *ctx;
        if ((ret = codec_open(&ctx, jxl, NULL)) < 0)
            goto end;
        ret = jxl->reconstruct((struct codec_priv *)ctx->priv_storage, dst.data, dst.len, &back);
        codec_close(&ctx);
        if (ret < 0)
            goto end;
        if (back.len != src.len || memcmp(back.data, src.data, src.len)) {
            tp_err_set("reconstructed JPEG differs from the original");
            ret = TP_ERR_VERIFY;
            goto end;
        }
        /* the source blob is content-addressed: its name is the sha256 the
         * reconstruction must have (for an untouched upload, the upload's) */
        char h[SHA256_HEX_LEN + 1];
        sha256_hex(back.data, back.len, h);
        if (strcmp(h, w->source)) {
            tp_err_set("reconstruction's sha256 %.12s is not the source's %.12s", h, w->source);
            ret = TP_ERR_VERIFY;
            goto end;
        }
        ret = buf_set(out, "ok", 2);
        goto end;
    }
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
        so.threads = w->threads;
        if ((ret = ssim_images(&a, ma.orientation, &b, mb.orientation, &so, &r)) < 0)
            goto end;
        if (r.ssim < tc->ssim || r.min_tile < tc->tile_ssim || r.ssim_cb < tc->chroma_ssim ||
            r.ssim_cr < tc->chroma_ssim) {
            tp_err_set("floor not met on re-measure: ssim %.5f tile %.5f cb %.5f cr %.5f", r.ssim,
                       r.min_tile, r.ssim_cb, r.ssim_cr);
            ret = TP_ERR_VERIFY;
            goto end;
        }
    }
    if (tc->keep_meta & POLICY_META_EXIF && (ret = check_exif(&ma, &mb)) < 0)
        goto end;
    char desc[128] = "";
    if ((tc->keep_meta & POLICY_META_ICC) && ma.icc.len && !mb.icc.len &&
        /* an sRGB profile may come back as the format's own sRGB signal */
        !(icc_description(ma.icc.data, ma.icc.len, desc, sizeof(desc)) == 0 && strstr(desc, "sRGB"))) {
        tp_err_set("the ICC profile was lost");
        ret = TP_ERR_VERIFY;
        goto end;
    }
    (void)t0;
    ret = buf_set(out, "ok", 2);
end:
    image_free(&a);
    image_free(&b);
    meta_free(&ma);
    meta_free(&mb);
    buf_free(&src);
    buf_free(&dst);
    buf_free(&back);
    store_close(&st);
    return ret;
}

/* ---- the run ------------------------------------------------------------ */

struct run {
    const struct run_opts *o;
    struct policy pol;
    char policy_hash[SHA256_HEX_LEN + 1];
    char owner[96];
    struct run_summary *s;
    atomic_llong taken, transcoded, kept, failed;
    atomic_int active;
    atomic_ullong bytes_before, bytes_after;
    pthread_mutex_t lock;
};

static const struct policy_tier *find_tier(const struct policy *p, const char *name)
{
    for (int i = 0; i < p->ntiers; i++)
        if (!strcmp(p->tiers[i].name, name))
            return &p->tiers[i];
    return NULL;
}

static void outcome_json(const struct outcome *oc, char *buf, size_t len)
{
    snprintf(buf, len,
             "{\"codec\":\"%s\",\"quality\":%d,\"subsampling\":%d,\"lossless\":%s,\"in_bytes\":%llu,"
             "\"out_bytes\":%llu,\"ssim\":%.6f,\"min_tile\":%.6f,\"ssim_cb\":%.6f,\"ssim_cr\":%.6f,"
             "\"probes\":%d,\"encode_ms\":%.0f,\"kept\":%s,\"reason\":\"%s\"}",
             oc->codec, oc->quality, oc->subsampling, oc->lossless ? "true" : "false",
             (unsigned long long)oc->in_bytes, (unsigned long long)oc->bytes, oc->ssim,
             oc->min_tile, oc->ssim_cb, oc->ssim_cr, oc->probes, oc->encode_ms,
             oc->kept ? "true" : "false", oc->reason);
}

static void json_escape_into(char *dst, size_t len, const char *src)
{
    size_t n = 0;
    for (; *src && n + 2 < len; src++) {
        char c = *src;
        if (c == '"' || c == '\\')
            dst[n++] = '\\';
        dst[n++] = (unsigned char)c < 0x20 ? ' ' : c;
    }
    dst[n] = '\0';
}

static void fail_job(struct run *r, struct catalog *c, const struct catalog_job *j, int err)
{
    char msg[512], detail[400], esc[360];
    tp_strerror(err, msg, sizeof(msg));
    json_escape_into(esc, sizeof(esc), msg);
    snprintf(detail, sizeof(detail), "{\"error\":\"%s\"}", esc);
    tp_log(TP_LOG_WARN, "asset %lld (tier %s) failed: %s", (long long)j->asset_id, j->tier, msg);
    if (catalog_job_finish(c, j->id, "failed", detail) >= 0)
        catalog_audit(c, j->asset_id, "job.failed", detail);
    atomic_fetch_add(&r->failed, 1);
    tp_err_clear();
}

static int process(struct run *r, struct catalog *c, const struct catalog_job *j)
{
    struct catalog_asset a;
    struct tp_buf res = { 0 };
    struct outcome oc;
    char json[1024], delete_after[CATALOG_TIME] = "";
    int ret;

    if ((ret = catalog_asset_get(c, j->asset_id, &a)) < 0)
        return ret;
    const struct policy_tier *t = find_tier(&r->pol, j->tier);
    RETURN_ERR_IF(!t, TP_ERR_NOTFOUND, "tier '%s' is not in the policy", j->tier);
    const char *sc = t->act.storage_class;
    char source[SHA256_HEX_LEN + 1], expected[SHA256_HEX_LEN + 1];
    snprintf(expected, sizeof(expected), "%s", a.current_blob);
    snprintf(source, sizeof(source), "%s", a.original_blob[0] ? a.original_blob : a.current_blob);

    if (!needs_transcode(&a, t)) {
        /* the label only */
        FORWARD_ERR(catalog_begin(c));
        if ((ret = catalog_asset_set_tier(c, a.id, t->name, sc)) < 0 ||
            (ret = catalog_job_finish(c, j->id, "kept", "{\"reason\":\"label only\"}")) < 0) {
            catalog_rollback(c);
            return ret;
        }
        FORWARD_ERR(catalog_commit(c));
        atomic_fetch_add(&r->kept, 1);
        return 0;
    }

    struct work *w = tp_calloc(1, sizeof(*w));
    if (!w)
        return TP_ERR(ENOMEM);
    w->cfg = *r->o->cfg;
    w->asset_v = a;
    w->tier_v = *t;
    memcpy(w->source, source, sizeof(w->source));
    w->threads = r->o->jobs > 1 ? 1 : 0;
    if ((ret = sandbox_run("encode", w, sizeof(*w), &r->o->limits, &res)) < 0)
        goto end;
    if (res.len != sizeof(oc)) {
        tp_err_set("worker answered %zu bytes", res.len);
        ret = TP_ERR_BUG;
        goto end;
    }
    memcpy(&oc, res.data, sizeof(oc));
    crash_point("after_encode");
    outcome_json(&oc, json, sizeof(json));
    if (oc.kept) {
        /* the original stays; the asset still moves to the tier's class */
        if ((ret = catalog_begin(c)) < 0)
            goto end;
        if ((ret = catalog_asset_set_tier(c, a.id, t->name, sc)) < 0 ||
            (ret = catalog_job_finish(c, j->id, "kept", json)) < 0) {
            catalog_rollback(c);
            goto end;
        }
        ret = catalog_commit(c);
        atomic_fetch_add(&r->kept, 1);
        tp_log(TP_LOG_INFO, "asset %lld: kept the original (%s)", (long long)a.id, oc.reason);
        goto end;
    }
    w->oc_v = oc;
    buf_free(&res);
    if ((ret = sandbox_run("verify", w, sizeof(*w), &r->o->limits, &res)) < 0)
        goto end;
    crash_point("after_verify");
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER)
        time_format(r->o->now + (int64_t)t->act.delete_after_days * TIME_DAY, delete_after,
                    sizeof(delete_after));
    struct catalog_rendition rd;
    memset(&rd, 0, sizeof(rd));
    rd.asset_id = a.id;
    snprintf(rd.name, sizeof(rd.name), "cold");
    snprintf(rd.blob, sizeof(rd.blob), "%s", oc.hash);
    snprintf(rd.format, sizeof(rd.format), "%s", oc.codec);
    rd.width = a.width;
    rd.height = a.height;
    rd.bytes = oc.bytes;
    rd.ssim = oc.ssim;
    rd.min_tile = oc.min_tile;
    if ((ret = catalog_begin(c)) < 0)
        goto end;
    if ((ret = catalog_blob_add(c, oc.hash, oc.bytes, sc)) < 0 ||
        (ret = catalog_asset_swap(c, a.id, expected, oc.hash, t->name, sc, delete_after)) < 0 ||
        (ret = catalog_rendition_put(c, &rd)) < 0 ||
        (ret = catalog_job_finish(c, j->id, "done", json)) < 0) {
        catalog_rollback(c);
        goto end;
    }
    crash_point("in_swap");
    if ((ret = catalog_commit(c)) < 0) {
        catalog_rollback(c);
        goto end;
    }
    crash_point("after_commit");
    atomic_fetch_add(&r->transcoded, 1);
    atomic_fetch_add(&r->bytes_before, oc.in_bytes);
    atomic_fetch_add(&r->bytes_after, oc.bytes);
    tp_log(TP_LOG_INFO, "asset %lld: %s %s%s q%d: %llu -> %llu bytes (%.1f%%)", (long long)a.id,
           t->name, oc.codec, oc.lossless ? " lossless" : "", oc.quality,
           (unsigned long long)oc.in_bytes, (unsigned long long)oc.bytes,
           100.0 * (double)oc.bytes / (double)oc.in_bytes);
end:
    tp_free(w);
    buf_free(&res);
    return ret;
}

static const struct sandbox_entry job_entries[] = {
    { "encode", encode_child },
    { "verify", verify_child },
    { NULL, NULL },
};

int job_worker_main(const char *name)
{
    return sandbox_worker_main(name, job_entries);
}

static void *worker(void *arg)
{
    struct run *r = arg;
    struct catalog *c = NULL;
    if (catalog_open(&c, r->o->cfg->catalog, 0) < 0) {
        tp_log(TP_LOG_ERROR, "worker cannot open the catalog: %s", tp_err_detail());
        return NULL;
    }
    for (;;) {
        struct catalog_job j;
        if (r->o->limit && atomic_fetch_add(&r->taken, 1) >= r->o->limit)
            break;
        int64_t wall = time_now();
        int64_t lease = wall + 2 * (r->o->limits.seconds ? r->o->limits.seconds : 3600) + 60;
        int ret = catalog_job_claim(c, r->policy_hash, r->owner, wall, lease, &j);
        if (ret == TP_ERR_NOTFOUND)
            break;
        if (ret < 0) {
            tp_log(TP_LOG_ERROR, "cannot claim a job: %s", tp_err_detail());
            break;
        }
        if ((ret = process(r, c, &j)) < 0)
            fail_job(r, c, &j, ret);
    }
    catalog_close(&c);
    atomic_fetch_sub(&r->active, 1);
    return NULL;
}

/* Owners are "host:pid"; a job whose owner on this host is gone is ours
 * to take back. */
static int owner_is_dead(const char *owner)
{
    char host[64];
    const char *colon = strrchr(owner, ':');
    if (!colon || gethostname(host, sizeof(host)) < 0)
        return 0;
    if ((size_t)(colon - owner) != strlen(host) || strncmp(owner, host, strlen(host)))
        return 0;
    long pid = atol(colon + 1);
    return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

struct plan_ctx {
    struct run *r;
    struct catalog *c;
    int ret;
};

static int plan_one(void *ud, const struct catalog_asset *a)
{
    struct plan_ctx *pc = ud;
    struct run *r = pc->r;
    struct run_summary *s = r->s;
    struct asset_facts f;
    int ret;
    s->assets++;
    if ((ret = facts_from_asset(pc->c, a, &f)) < 0)
        return pc->ret = ret;
    int t = policy_match(&r->pol, &f, r->o->now, NULL);
    if (t < 0) {
        s->unmatched++;
        return 0;
    }
    s->matched[t]++;
    const struct policy_tier *tier = &r->pol.tiers[t];
    if (!strcmp(a->tier, tier->name)) {
        s->already++;
        return 0;
    }
    if (!needs_transcode(a, tier)) {
        /* a label: no codec work, no job needed */
        if (!r->o->dry_run &&
            (ret = catalog_asset_set_tier(pc->c, a->id, tier->name, tier->act.storage_class)) < 0)
            return pc->ret = ret;
        s->labelled++;
        return 0;
    }
    if (r->o->dry_run) {
        s->queued++;
        return 0;
    }
    ret = catalog_job_enqueue(pc->c, a->id, r->policy_hash, tier->name);
    if (ret < 0)
        return pc->ret = ret;
    s->queued += ret;
    return 0;
}

static void report_progress(struct run *r, int64_t total)
{
    if (!r->o->on_progress)
        return;
    struct run_progress p = {
        atomic_load(&r->transcoded) + atomic_load(&r->kept) + atomic_load(&r->failed), total,
        (int64_t)atomic_load(&r->bytes_before) - (int64_t)atomic_load(&r->bytes_after),
        atomic_load(&r->failed),
    };
    r->o->on_progress(r->o->progress_ud, &p);
}

int run_policy(const struct run_opts *o, struct run_summary *s)
{
    struct run r;
    struct home h = { 0 };
    struct tp_buf pb = { 0 };
    pthread_t th[64];
    int nth = 0, ret;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN); /* sandbox_run: a dead worker is an error, not a signal */
    memset(s, 0, sizeof(*s));
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.s = s;
    policy_defaults(&r.pol);
    if ((ret = policy_load(&r.pol, o->policy_path)) < 0)
        goto end;
    if ((ret = file_read(o->policy_path, POLICY_MAX_BYTES, &pb)) < 0)
        goto end;
    sha256_hex(pb.data, pb.len, r.policy_hash);
    memcpy(s->policy_sha256, r.policy_hash, sizeof(s->policy_sha256));
    s->ntiers = r.pol.ntiers;
    for (int i = 0; i < r.pol.ntiers && i < RUN_MAX_TIERS; i++)
        snprintf(s->tier_names[i], sizeof(s->tier_names[i]), "%s", r.pol.tiers[i].name);
    char host[64] = "localhost";
    gethostname(host, sizeof(host));
    snprintf(r.owner, sizeof(r.owner), "%s:%ld", host, (long)getpid());
    if ((ret = home_open(&h, o->cfg)) < 0)
        goto end;

    /* plan: one transaction for all the enqueues and labels */
    struct plan_ctx pc = { &r, h.cat, 0 };
    if (!o->dry_run && (ret = catalog_begin(h.cat)) < 0)
        goto end;
    ret = catalog_asset_iterate(h.cat, plan_one, &pc);
    if (ret >= 0 && pc.ret < 0)
        ret = pc.ret;
    if (!o->dry_run) {
        if (ret < 0) {
            catalog_rollback(h.cat);
            goto end;
        }
        if ((ret = catalog_commit(h.cat)) < 0)
            goto end;
        /* a runner killed mid-job left it "running": take it back */
        int n = catalog_job_requeue_dead(h.cat, r.policy_hash, owner_is_dead);
        if (n > 0)
            tp_log(TP_LOG_INFO, "resuming %d job(s) of an interrupted run", n);
    }
    if (o->dry_run) {
        ret = 0;
        goto end;
    }
    struct catalog_job_counts jc;
    if ((ret = catalog_job_counts(h.cat, r.policy_hash, &jc)) < 0)
        goto end;
    int64_t total = jc.queued + jc.running;
    if (o->limit && total > o->limit)
        total = o->limit;
    home_close(&h);

    atomic_init(&r.taken, 0);
    atomic_init(&r.active, 0);
    for (nth = 0; nth < o->jobs && nth < 64; nth++) {
        atomic_fetch_add(&r.active, 1);
        if (pthread_create(&th[nth], NULL, worker, &r) != 0) {
            atomic_fetch_sub(&r.active, 1);
            break;
        }
    }
    while (atomic_load(&r.active) > 0) {
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        report_progress(&r, total);
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    report_progress(&r, total);
    s->transcoded = atomic_load(&r.transcoded);
    s->kept = atomic_load(&r.kept);
    s->failed = atomic_load(&r.failed);
    s->bytes_before = atomic_load(&r.bytes_before);
    s->bytes_after = atomic_load(&r.bytes_after);
    ret = 0;
end:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ret < 0 && r.pol.ndiags && !tp_err_detail()[0]) {
        char b[400];
        tp_err_set("%s", policy_diag_format(&r.pol, 0, b, sizeof(b)));
    }
    home_close(&h);
    buf_free(&pb);
    policy_free(&r.pol);
    return ret;
}

void run_summary_print(FILE *f, const struct run_summary *s, int json)
{
    if (json) {
        fprintf(f, "{\"assets\":%lld,\"matched\":{", (long long)s->assets);
        for (int i = 0; i < s->ntiers; i++)
            fprintf(f, "%s\"%s\":%lld", i ? "," : "", s->tier_names[i], (long long)s->matched[i]);
        fprintf(f, "},\"unmatched\":%lld,\"already\":%lld,\"queued\":%lld,\"labelled\":%lld,"
                   "\"transcoded\":%lld,\"kept\":%lld,\"failed\":%lld,\"bytes_before\":%llu,"
                   "\"bytes_after\":%llu,\"bytes_saved\":%lld,\"seconds\":%.2f,\"policy_sha256\":\"%s\"}\n",
                (long long)s->unmatched, (long long)s->already, (long long)s->queued,
                (long long)s->labelled, (long long)s->transcoded, (long long)s->kept,
                (long long)s->failed, (unsigned long long)s->bytes_before,
                (unsigned long long)s->bytes_after,
                (long long)s->bytes_before - (long long)s->bytes_after, s->seconds,
                s->policy_sha256);
        return;
    }
    fprintf(f, "%lld assets:", (long long)s->assets);
    for (int i = 0; i < s->ntiers; i++)
        fprintf(f, " %s %lld,", s->tier_names[i], (long long)s->matched[i]);
    fprintf(f, " unmatched %lld\n", (long long)s->unmatched);
    fprintf(f, "transcoded %lld, kept %lld, failed %lld, labelled %lld, already done %lld\n",
            (long long)s->transcoded, (long long)s->kept, (long long)s->failed,
            (long long)s->labelled, (long long)s->already);
    if (s->bytes_before)
        fprintf(f, "bytes: %llu -> %llu (%.1f%%, saved %.2f MB) in %.1f s\n",
                (unsigned long long)s->bytes_before, (unsigned long long)s->bytes_after,
                100.0 * (double)s->bytes_after / (double)s->bytes_before,
                ((double)s->bytes_before - (double)s->bytes_after) / 1e6, s->seconds);
    else
        fprintf(f, "in %.1f s\n", s->seconds);
}
