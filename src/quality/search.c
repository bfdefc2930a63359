/* Quality-targeted encoding.  For each candidate codec the encoder's
 * quality parameter (0..100) is searched for the smallest value whose
 * decoded output meets the floor: bisection between a failing and a
 * passing probe, the next probe placed by interpolating the measured SSIM
 * deficits (regula falsi on 1 - SSIM), bounded by max_probes.  Only a
 * probe that was encoded, decoded independently and measured is ever
 * returned. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "butteraugli.h"
#include "err.h"
#include "jpeg_quant.h"
#include "log.h"
#include "mosaic.h"
#include "probe.h"
#include "search.h"
#include "ssim.h"

void search_floor_derive(struct search_floor *f)
{
    if (f->tile <= 0)
        f->tile = 1.0 - 5.0 / 3.0 * (1.0 - f->ssim);
    if (f->chroma <= 0)
        f->chroma = 1.0 - 5.0 * (1.0 - f->ssim);
}

void search_opts_defaults(struct search_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->floor.ssim = 0.997;
    o->min_saving = 0.10;
    o->max_probes = 10;
    o->keep = META_KEEP_ALL;
    o->mosaic = 1;
    o->predict = 1;
    o->presets = 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double process_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The CPU budget of one search (search_opts.max_cpu_s_per_mp). */
struct budget {
    double limit_s;     /* 0 = none */
    double start_s;
    double per_probe_s; /* test hook: a fixed charge per probe */
    int probes;
    int exhausted;
};

static double budget_spent(const struct budget *b)
{
    return b->per_probe_s > 0 ? b->per_probe_s * b->probes : process_cpu_s() - b->start_s;
}

/* 1 when no further probe may start. */
/* Efforts per floor (visually lossless, saver, below) for candidates that
 * name none: AVIF effort 2 = aom speed 8, HEIF effort 1 = x265 "superfast". */
#define SEARCH_EFFORT_JXL 7, 7, 7
#define SEARCH_EFFORT_AVIF 2, 2, 2
#define SEARCH_EFFORT_HEIF 1, 1, 1

/* A codec is given up when its predicted bytes at the floor's edge are at
 * least the bound times this (the prediction's error margin). */
#define SEARCH_BYTES_TOLERANCE 1.05

/* The first step away from a predicted start, doubling until the edge is
 * bracketed. */
#define PREDICT_STEP 3
/* Mosaic searches: candidates confirmed on the whole image (best estimate
 * first), and whole-image probes per candidate. */
#define SEARCH_CONFIRM_CANDIDATES 2
#define SEARCH_CONFIRM_TRIES 3

static int budget_over(struct budget *b)
{
    if (b->limit_s <= 0)
        return 0;
    if (!b->exhausted && budget_spent(b) >= b->limit_s) {
        b->exhausted = 1;
        tp_log(TP_LOG_INFO, "search: CPU budget of %.2f s spent after %d probes: ending with "
               "the best passing result so far", b->limit_s, b->probes);
    }
    return b->exhausted;
}

/* One measured probe. */
struct probe {
    int q;
    int ok;             /* measured (encode and decode succeeded) */
    int pass;
    struct ssim_result r;
    struct tp_buf out;
};

struct ctx {
    const struct image *img;
    const struct meta *m;
    const struct ssim_ref *ref;
    int ref_orientation;
    const struct search_opts *o;
    struct search_trial *t;
    size_t bound; /* a failing probe this large ends the candidate: every passing
                     quality is above it, so larger (0 = no bound) */
    struct budget *budget;
    int start_q;    /* the first probe's quality */
    int step;       /* first step away from it until the edge is bracketed (doubling);
                       0 = halve the distance to 100 or 0 (no prediction) */
    double scale;   /* > 0: probes encode a mosaic; whole-image bytes ~ len x scale + extra */
    double slope;   /* out: the margin gained per quality step at the edge (0 = unknown) */
    double kbytes;  /* out: log(bytes) gained per quality step there (0 = unknown) */
    size_t extra;   /* metadata bytes the whole image's output carries and the mosaic's not */
};

/* A probe's bytes as the whole image's output would weigh (the mosaic is a
 * stratified sample of the blocks: its bytes per pixel estimate the image's). */
static size_t whole_bytes(const struct ctx *c, size_t len)
{
    return c->scale > 0 ? (size_t)((double)len * c->scale) + c->extra : len;
}

/* Worst margin to the floor: negative when failing. Luma deficits are
 * scaled so a miss of the mean and of the tile weigh alike. */
static double margin(const struct search_floor *f, const struct ssim_result *r)
{
    double m = r->ssim - f->ssim;
    m = fmin(m, r->min_tile - f->tile);
    m = fmin(m, r->ssim_cb - f->chroma);
    m = fmin(m, r->ssim_cr - f->chroma);
    return m;
}

static int passes(const struct search_floor *f, const struct ssim_result *r)
{
    return r->ssim >= f->ssim && r->min_tile >= f->tile && r->ssim_cb >= f->chroma &&
           r->ssim_cr >= f->chroma;
}

static int run_probe(struct ctx *c, const struct search_candidate *cand, int subsampling, int q,
                     struct probe *p)
{
    struct codec_opts eo;
    struct codec_ctx *ectx = NULL;
    struct image dec = { 0 };
    struct meta dm;
    unsigned dropped = 0;
    int ret;

    memset(p, 0, sizeof(*p));
    p->q = q;
    codec_opts_defaults(&eo);
    eo.quality = q;
    eo.effort = cand->effort;
    eo.subsampling = subsampling;
    eo.bit_depth = cand->bit_depth;
    eo.encoder = cand->encoder;
    meta_init(&dm);

    double t0 = now_ms();
    if ((ret = codec_open(&ectx, cand->codec, &eo)) < 0)
        goto end;
    ret = codec_encode(ectx, c->img, c->m, &p->out, &dropped);
    codec_close(&ectx);
    double t1 = now_ms();
    c->t->encode_ms += t1 - t0;
    if (ret < 0)
        goto end;
    /* verify: an independent decode of the bytes, found by sniffing */
    struct codec_opts dopts;
    codec_opts_defaults(&dopts);
    ret = codec_decode_any(p->out.data, p->out.len, NULL, &dopts, &dec, &dm, NULL);
    if (ret >= 0) {
        struct ssim_opts so;
        ssim_opts_defaults(&so);
        so.threads = c->o->threads;
        ret = ssim_compare(c->ref, &dec, dm.orientation, &so, &p->r);
    }
    c->t->verify_ms += now_ms() - t1;
    if (ret < 0)
        goto end;
    p->ok = 1;
    p->pass = passes(&c->o->floor, &p->r);
    tp_log(TP_LOG_DEBUG, "probe %s %d q=%d: %zu bytes ssim %.5f tile %.5f cb %.5f cr %.5f %s",
           cand->codec->name, subsampling, q, p->out.len, p->r.ssim, p->r.min_tile, p->r.ssim_cb,
           p->r.ssim_cr, p->pass ? "pass" : "fail");
end:
    c->t->probes++;
    c->budget->probes++;
    image_free(&dec);
    meta_free(&dm);
    if (ret < 0)
        buf_free(&p->out);
    return ret;
}

static int level(const struct codec *cd, int q)
{
    return cd->quality_level ? cd->quality_level(q) : q;
}

/* The quality to probe next: q moved off the levels of lo_q (failed, -1 =
 * none) and hi_q (passed, 101 = none), the lowest quality of its level; -1
 * when no level lies between them (the edge is found). */
static int next_quality(const struct codec *cd, int q, int lo_q, int hi_q)
{
    if (q <= lo_q)
        q = lo_q + 1;
    if (q >= hi_q)
        q = hi_q - 1;
    while (q < hi_q && lo_q >= 0 && level(cd, q) <= level(cd, lo_q))
        q++;
    while (q > lo_q && hi_q <= 100 && level(cd, q) >= level(cd, hi_q))
        q--;
    if (q <= lo_q || q >= hi_q || q < 0 || q > 100 ||
        (lo_q >= 0 && level(cd, q) <= level(cd, lo_q)) ||
        (hi_q <= 100 && level(cd, q) >= level(cd, hi_q)))
        return -1;
    while (q - 1 > lo_q && q - 1 >= 0 && level(cd, q - 1) == level(cd, q))
        q--;
    return q;
}

/* Finds the smallest passing quality for one codec and subsampling.  On
 * success best holds the passing probe (its bytes), and best->q - 1 either
 * failed when probed or is below the range. */
static int search_one(struct ctx *c, const struct search_candidate *cand, int subsampling,
                      struct probe *best, double *top_margin_cb)
{
    struct probe lo = { .q = -1 }, hi = { .q = 101 }, p;
    int have_hi = 0, ret, prev_q = -1;
    double lo_m = 0, hi_m = 0, prev_m = 0, prev_b = 0;

    memset(best, 0, sizeof(*best));
    *top_margin_cb = 0;
    /* Start at the predicted quality (or at 90: high enough to pass
     * "visually lossless" floors on most photos, so the first bisection
     * halves the range toward small files). */
    int q = c->start_q, step = c->step;
    c->t->start_quality = q;
    for (int n = 0; n < c->o->max_probes; n++) {
        if (budget_over(c->budget))
            break;
        if ((q = next_quality(cand->codec, q, lo.q, have_hi ? hi.q : 101)) < 0)
            break; /* no untried level between the failing and the passing probe */
        if (n == 0)
            c->t->start_quality = q;
        if ((ret = run_probe(c, cand, subsampling, q, &p)) < 0) {
            /* a quality the encoder refuses ends the search, not the
             * candidate: what passed so far still stands */
            if (!have_hi)
                goto fail;
            tp_log(TP_LOG_DEBUG, "probe %s q=%d failed: %s", cand->codec->name, q, tp_err_detail());
            tp_err_clear();
            break;
        }
        double mg = margin(&c->o->floor, &p.r);
        if (p.pass) {
            if (have_hi) { /* the previous pass, for the extrapolation below */
                prev_q = hi.q;
                prev_m = hi_m;
                prev_b = (double)whole_bytes(c, hi.out.len);
            }
            buf_free(&hi.out);
            hi = p;
            hi_m = mg;
            have_hi = 1;
        } else {
            buf_free(&lo.out);
            lo = p;
            lo_m = mg;
            /* a mosaic's bytes are an estimate: past the bound by the
             * tolerance there */
            double tol = c->scale > 0 ? SEARCH_BYTES_TOLERANCE : 1.0;
            if (c->bound && (double)whole_bytes(c, lo.out.len) >= (double)c->bound * tol) {
                /* bytes grow with quality: whatever passes is larger still
                 * than the best passing output (or the saving's limit) */
                tp_log(TP_LOG_DEBUG, "%s: abandoned at q=%d: a failing probe of %zu bytes is "
                       "not below the bound %zu", cand->codec->name, q,
                       whole_bytes(c, lo.out.len), c->bound);
                c->t->abandoned = 1;
                break;
            }
        }
        if (!have_hi) {
            if (lo.q >= 100) { /* even the top quality fails */
                *top_margin_cb = fmin(lo.r.ssim_cb, lo.r.ssim_cr) - c->o->floor.chroma;
                break;
            }
            /* go up: by the step (doubling) from a prediction, else
             * halfway to 100 */
            if (step > 0) {
                q = lo.q + step;
                step *= 2;
            } else {
                int half = (100 - lo.q + 1) / 2;
                q = lo.q + (half < 1 ? 1 : half);
            }
            if (q > 100)
                q = 100;
            continue;
        }
        double hi_b = (double)whole_bytes(c, hi.out.len);
        if (lo.q < 0 && step > 0 && hi.q > 0) {
            /* only passes so far: down by the step (doubling); with two
             * passes above the bound, extrapolate both the floor's edge (on
             * the margin) and the quality whose bytes fit the bound (bytes
             * ~ exp(k q)): when the edge lies above that quality the codec
             * cannot win (within the tolerance), else probe there */
            q = hi.q - step;
            step *= 2;
            if (c->bound && hi_b >= (double)c->bound && prev_q > hi.q && prev_b > hi_b &&
                prev_m > hi_m) {
                double k = log(prev_b / hi_b) / (prev_q - hi.q);
                double q_fit = hi.q - log(hi_b / ((double)c->bound * SEARCH_BYTES_TOLERANCE)) / k;
                double q_edge = hi.q - hi_m * (prev_q - hi.q) / (prev_m - hi_m);
                if (q_edge > q_fit + 1) {
                    tp_log(TP_LOG_DEBUG, "%s: abandoned at q=%d: the floor's edge (~q%.1f) lies "
                           "above the quality whose bytes fit the bound %zu (~q%.1f)",
                           cand->codec->name, hi.q, q_edge, c->bound, q_fit);
                    c->t->abandoned = 1;
                    break;
                }
                /* at least the step: the extrapolation must not creep */
                q = (int)fmin(q, floor(fmax(q_edge, q_fit)));
            }
            if (q < 0)
                q = 0;
            continue;
        }
        if (c->bound && lo.q >= 0 && hi_b >= (double)c->bound && hi_m - lo_m > 1e-9) {
            /* the edge by regula falsi, its bytes interpolated (log-linear)
             * between the failing and the passing probe: past the bound by
             * more than the tolerance, the codec cannot win */
            double t = -lo_m / (hi_m - lo_m);
            double lb = log((double)whole_bytes(c, lo.out.len)), hb = log(hi_b);
            double edge_b = exp(lb + t * (hb - lb));
            if (edge_b >= (double)c->bound * SEARCH_BYTES_TOLERANCE) {
                tp_log(TP_LOG_DEBUG, "%s: abandoned at q=%d..%d: the edge's bytes (~%.0f) are past "
                       "the bound %zu", cand->codec->name, lo.q, hi.q, edge_b, c->bound);
                c->t->abandoned = 1;
                break;
            }
        }
        if (hi.q - lo.q <= 1)
            break; /* the edge, within one step */
        /* regula falsi on the margin between lo (negative) and hi
         * (non-negative), kept inside the bracket and away from its ends */
        int nq;
        if (lo.q >= 0 && hi_m - lo_m > 1e-9) {
            double t = -lo_m / (hi_m - lo_m);
            nq = lo.q + (int)lround(t * (hi.q - lo.q));
        } else {
            nq = (lo.q + hi.q) / 2;
        }
        int mid = (lo.q + hi.q) / 2;
        /* alternate interpolation with bisection so the bracket always at
         * least halves every two probes */
        if (n & 1)
            nq = mid;
        if (nq <= lo.q)
            nq = lo.q + 1;
        if (nq >= hi.q)
            nq = hi.q - 1;
        q = nq;
    }
    if (have_hi && lo.q >= 0 && hi.q > lo.q && lo.out.len && hi.out.len) {
        c->slope = (hi_m - lo_m) / (hi.q - lo.q);
        c->kbytes = log((double)hi.out.len / (double)lo.out.len) / (hi.q - lo.q);
    }
    buf_free(&lo.out);
    if (!have_hi)
        return 0;
    *best = hi;
    return 1;
fail:
    buf_free(&lo.out);
    buf_free(&hi.out);
    return ret;
}

/* 1 when out (what cd made) lost a component of src: noted in res->lost. */
static int refuse(const struct components *src, const struct codec *cd, const struct tp_buf *out,
                  struct search_result *res)
{
    struct media_info *mi = tp_malloc(sizeof(*mi));
    char what[160];
    int lost;
    if (!mi)
        return 1;
    if (probe_media(out->data, out->len, NULL, NULL, mi) < 0) {
        snprintf(what, sizeof(what), "its output does not probe: %s", tp_err_detail());
        lost = 1;
    } else
        lost = components_compare(src, &mi->comp, what, sizeof(what)) < 0;
    tp_err_clear();
    tp_free(mi);
    if (lost) {
        size_t n = strlen(res->lost);
        snprintf(res->lost + n, sizeof(res->lost) - n, "%s%s would lose %s", n ? "; " : "",
                 cd->name, what);
        tp_log(TP_LOG_INFO, "search: %s refused: it would lose %s", cd->name, what);
    }
    return lost;
}

/* Butteraugli of bytes out (decoded independently) against the source. */
static int measure_butteraugli(const struct image *img, int orientation, const struct tp_buf *out,
                               int threads, double *d)
{
    struct image dec = { 0 };
    struct meta dm;
    struct codec_opts dopts;
    int ret;
    meta_init(&dm);
    codec_opts_defaults(&dopts);
    ret = codec_decode_any(out->data, out->len, NULL, &dopts, &dec, &dm, NULL);
    if (ret >= 0)
        ret = butteraugli_images(img, orientation, &dec, dm.orientation, threads, d);
    image_free(&dec);
    meta_free(&dm);
    return ret;
}

/* The second judge, on the final lossy candidate only: when it fails, the
 * winner's codec is probed upward (halving the distance to 100, at most 3
 * times); if none passes, the lossy result is dropped. */
static int confirm_butteraugli(struct ctx *c, const struct search_candidate *cand,
                               struct search_result *res)
{
    const struct search_opts *o = c->o;
    double d = 0;
    int ret;
    for (int tries = 0;; tries++) {
        if ((ret = measure_butteraugli(c->img, c->ref_orientation, &res->out, o->threads, &d)) < 0)
            return ret;
        res->butteraugli = c->t->butteraugli = d;
        tp_log(TP_LOG_DEBUG, "butteraugli %s q=%d: max %.3f (ceiling %.3g)", cand->codec->name,
               res->quality, d, o->floor.butteraugli);
        if (d <= o->floor.butteraugli)
            return 1;
        if (tries == 3 || res->quality >= 100 || budget_over(c->budget))
            break;
        int step = (100 - res->quality + 1) / 2;
        struct probe p;
        int q = res->quality + (step < 2 ? 2 : step);
        if (q > 100)
            q = 100;
        int before = c->t->probes;
        ret = run_probe(c, cand, res->subsampling, q, &p);
        res->butteraugli_probes += c->t->probes - before;
        res->probes += c->t->probes - before;
        if (ret < 0 || !p.pass) {
            buf_free(&p.out);
            tp_err_clear();
            break;
        }
        buf_free(&res->out);
        res->out = p.out;
        res->quality = c->t->quality = q;
        c->t->bytes = p.out.len;
        res->ssim = c->t->ssim = p.r.ssim;
        res->min_tile = c->t->min_tile = p.r.min_tile;
        res->ssim_cb = c->t->ssim_cb = p.r.ssim_cb;
        res->ssim_cr = c->t->ssim_cr = p.r.ssim_cr;
    }
    return 0;
}

/* What the search knows of the source before any probe. */
struct source {
    int quality;        /* a JPEG's quality from its quantisation tables, -1 = not a JPEG */
    double bpp;         /* the original's bits per pixel */
    double activity;    /* mosaic_activity(): mean absolute gradient, 0..255 */
};

static void source_facts(const uint8_t *orig, size_t len, const struct image *img,
                         struct source *s)
{
    s->quality = -1;
    s->bpp = 8.0 * (double)len / ((double)img->width * img->height);
    s->activity = mosaic_activity(img);
    if (orig && codec_find_for_data(orig, len, NULL, CODEC_CAP_DECODE) == codec_find_by_name("jpeg") &&
        jpeg_quant_quality(orig, len, &s->quality, NULL) < 0) {
        s->quality = -1;
        tp_err_clear();
    }
    tp_log(TP_LOG_DEBUG, "search: source quality %d, %.2f bits/pixel, activity %.2f", s->quality,
           s->bpp, s->activity);
}

/* Per codec: the qualities where the floors' edges lay on the benchmark's
 * photos (bench/RESULTS.md, "Cold tier at <= 1 CPU-s/MP"), one below the
 * median edge so the first probe usually fails: a failing probe at least as
 * large as the bound ends the codec at once.  rank: the cost order (CPU per
 * probe), cheapest searched first so the bound exists before the dear ones
 * start. */
static const struct {
    const char *codec;
    int rank;
    int q[3];      /* mean floor >= 0.995, >= 0.98, below */
    int effort[3]; /* the encoder effort a search uses when the candidate names
                      none (-1: the codec's default): the most bytes saved per
                      CPU-second measured at each floor (bench/RESULTS.md) */
} predict_table[] = {
    { "jxl", 0, { 96, 88, 70 }, { SEARCH_EFFORT_JXL } },
    { "avif", 1, { 95, 84, 55 }, { SEARCH_EFFORT_AVIF } },
    { "webp", 1, { 95, 85, 60 }, { -1, -1, -1 } },
    { "jpeg", 1, { 95, 88, 70 }, { -1, -1, -1 } },
    { "heif", 2, { 76, 68, 50 }, { SEARCH_EFFORT_HEIF } },
};

static int floor_col(const struct search_floor *f)
{
    return f->ssim >= SEARCH_VISUALLY_LOSSLESS ? 0 : f->ssim >= 0.98 ? 1 : 2;
}

static int predict_row(const struct codec *cd)
{
    for (size_t i = 0; i < TP_ARRAY_SIZE(predict_table); i++)
        if (!strcmp(cd->name, predict_table[i].codec))
            return (int)i;
    return -1;
}

static int cost_rank(const struct codec *cd)
{
    int r = predict_row(cd);
    return r < 0 ? 1 : predict_table[r].rank;
}

/* The first probe's quality for a codec at a floor, from the source: the
 * table's edge, lowered for a JPEG source coarser than the quality the table
 * was measured on (q92 and camera JPEGs): its own blocking is part of the
 * reference the output must match, which takes less quality to keep. */
static int predict_quality(const struct search_floor *f, const struct codec *cd,
                           const struct source *s)
{
    int r = predict_row(cd), col = floor_col(f);
    int q = r < 0 ? 90 : predict_table[r].q[col];
    if (s->quality > 0 && s->quality < 85)
        q -= (85 - s->quality) / 5;
    return q < 1 ? 1 : q > 100 ? 100 : q;
}

int search_run(const uint8_t *orig, size_t len, const struct image *img, const struct meta *m,
               const struct search_candidate *cands, int ncands, const struct search_opts *o,
               struct search_result *res)
{
    struct ssim_ref *ref = NULL, *mref = NULL;
    struct meta keep_m, mos_m;
    struct mosaic mos = { 0 };
    int ret;

    meta_init(&mos_m);
    memset(res, 0, sizeof(*res));
    res->in_bytes = len;
    res->quality = -1;
    res->butteraugli = -1;
    int win_cand = -1, ll_tried = 0, ll_ok = 0;
    struct search_result ll;
    memset(&ll, 0, sizeof(ll));
    /* the most a useful output may weigh: less than the saving's limit,
     * then less than the best passing output so far */
    size_t bound = (size_t)((1.0 - o->min_saving) * (double)len);
    struct budget budget = { 0 };
    const char *hook = getenv("TP_FAULT_SEARCH_CPU_PER_PROBE");
    if (o->max_cpu_s_per_mp > 0) {
        budget.limit_s = o->max_cpu_s_per_mp * (double)img->width * (double)img->height / 1e6;
        budget.start_s = process_cpu_s();
        if (hook)
            budget.per_probe_s = atof(hook);
    }
    struct search_trial *win_trial = NULL;
    if ((ret = meta_copy(&keep_m, m)) < 0)
        return ret;
    meta_apply_keep(&keep_m, o->keep);
    if ((ret = ssim_ref_new(&ref, img, m->orientation)) < 0)
        goto end;

    /* parts no pixel encode carries: only the recompression below may
     * compete (it gives the file back byte for byte) */
    int bitstream_only = o->carry && components_need_bitstream(o->carry);
    if (bitstream_only) {
        struct components none = *o->carry;
        none.nparts = 0;
        none.frames = 1;
        char what[160];
        components_compare(o->carry, &none, what, sizeof(what));
        tp_err_clear();
        snprintf(res->lost, sizeof(res->lost), "re-encoding would lose %s", what);
    }
    /* A JPEG with JPEG XL among the candidates: the lossless recompression
     * meets any floor (the original's own pixels), so it competes on bytes
     * too, and it is the cheapest candidate (~0.1 CPU-s/MP): run first, its
     * size bounds the lossy probes (a failing probe larger than it ends
     * that codec).  Its trial is reported last. */
    int want_lossless = 0;
    for (int i = 0; i < ncands; i++)
        want_lossless |= cands[i].codec->recompress != NULL;
    if (want_lossless && orig &&
        codec_find_for_data(orig, len, NULL, CODEC_CAP_DECODE) == codec_find_by_name("jpeg")) {
        ll_tried = 1;
        ll_ok = search_lossless(orig, len, 0.0, &ll) >= 0 && ll.codec && !ll.kept_original;
        tp_err_clear();
        if (ll_ok && ll.out.len < bound)
            bound = ll.out.len;
    }
    /* The mosaic: on a large image the probes encode representative blocks
     * (stored pixels, orientation 1, only the ICC profile: it steers the
     * encoders' colour handling), and the chosen quality is confirmed on the
     * whole image below. */
    ret = 0;
    for (int blk = 256; o->mosaic && !bitstream_only && !ret && blk >= 128; blk /= 2)
        ret = mosaic_build(img, blk, SEARCH_MOSAIC_MIN_GRID, SEARCH_MOSAIC_BLOCKS, &mos);
    if (ret != 0) {
        if (ret < 0 || (ret = ssim_ref_new(&mref, &mos.img, 1)) < 0 ||
            (keep_m.icc.len && (ret = buf_set(&mos_m.icc, keep_m.icc.data, keep_m.icc.len)) < 0))
            goto end;
        res->mosaic_blocks = mos.blocks;
        res->mosaic_block = mos.block;
        res->mosaic_fraction = 1.0 / mos.scale;
        tp_log(TP_LOG_DEBUG, "search: mosaic of %d of %d blocks of %d (%.1f%% of the pixels)",
               mos.blocks, mos.grid, mos.block, 100.0 / mos.scale);
    }
    struct source src = { .quality = -1 };
    source_facts(orig, len, img, &src);
    res->source_quality = src.quality;
    /* what each candidate reached on the mosaic, confirmed best first below */
    struct pick {
        int cand, subsampling, q;
        size_t est;
        double slope, kbytes;
        struct search_trial *t;
    } picks[SEARCH_MAX_TRIALS];
    int npicks = 0;
    /* cheapest first (a stable order by cost rank): its result bounds the
     * dearer codecs' probes */
    int order[SEARCH_MAX_TRIALS], nord = 0;
    struct search_candidate tuned[SEARCH_MAX_TRIALS];
    if (ncands > SEARCH_MAX_TRIALS)
        ncands = SEARCH_MAX_TRIALS;
    for (int i = 0; i < ncands; i++) {
        tuned[i] = cands[i];
        int row = predict_row(cands[i].codec);
        if (o->presets && tuned[i].effort < 0 && row >= 0)
            tuned[i].effort = predict_table[row].effort[floor_col(&o->floor)];
    }
    for (int rank = 0; rank <= 2; rank++)
        for (int i = 0; i < ncands && nord < SEARCH_MAX_TRIALS; i++)
            if (cost_rank(cands[i].codec) == rank)
                order[nord++] = i;
    for (int oi = 0; oi < nord && !bitstream_only && !budget_over(&budget); oi++) {
        int i = order[oi];
        const struct search_candidate *cand = &tuned[i];
        int subs[2] = { cand->subsampling, 0 }, nsub = 1;
        int has_chroma_choice = codec_subsamples_chroma(cand->codec); /* the registry says */
        if (cand->subsampling == 0 && has_chroma_choice) {
            /* At visually lossless floors 4:2:0 is not tried: the
             * calibration found AVIF/HEIC at 4:2:0 visibly different on
             * 9 of 15 photos even at luma SSIM >= 0.997, and chroma SSIM
             * does not separate the cases (docs/quality.md). */
            if (o->floor.ssim >= SEARCH_VISUALLY_LOSSLESS) {
                subs[0] = 444;
            } else {
                subs[0] = 420;
                subs[1] = 444;
                nsub = 2;
            }
        }
        for (int s = 0; s < nsub; s++) {
            if (res->ntrials >= SEARCH_MAX_TRIALS)
                break;
            struct search_trial *t = &res->trials[res->ntrials++];
            struct ctx c = { img, &keep_m, ref, m->orientation, o, t, bound, &budget, 90, 0, 0, 0, 0, 0 };
            if (mref) {
                c.img = &mos.img;
                c.m = &mos_m;
                c.ref = mref;
                c.ref_orientation = 1;
                c.scale = mos.scale;
                c.extra = keep_m.exif.len + keep_m.xmp.len;
            }
            if (o->predict) {
                c.start_q = predict_quality(&o->floor, cand->codec, &src);
                c.step = PREDICT_STEP;
            }
            struct probe best;
            double cb_margin;
            memset(t, 0, sizeof(*t));
            t->codec = cand->codec->name;
            t->effort = cand->effort;
            t->subsampling = subs[s];
            t->quality = -1;
            t->butteraugli = -1;
            ret = search_one(&c, cand, subs[s], &best, &cb_margin);
            res->probes += t->probes;
            res->encode_ms += t->encode_ms;
            res->verify_ms += t->verify_ms;
            if (ret < 0) {
                tp_log(TP_LOG_WARN, "%s: candidate failed: %s", cand->codec->name, tp_err_detail());
                tp_err_clear();
                ret = 0;
                break;
            }
            if (ret == 1 && mref) {
                /* confirmed on the whole image below, best estimate first */
                t->passed = 1;
                t->estimated = 1;
                t->quality = best.q;
                t->bytes = whole_bytes(&c, best.out.len);
                t->ssim = best.r.ssim;
                t->min_tile = best.r.min_tile;
                t->ssim_cb = best.r.ssim_cb;
                t->ssim_cr = best.r.ssim_cr;
                buf_free(&best.out);
                picks[npicks++] = (struct pick){ i, subs[s], t->quality, t->bytes, c.slope, c.kbytes, t };
                if (o->floor.butteraugli <= 0 && t->bytes < bound)
                    bound = t->bytes;
                break;
            }
            if (ret == 1 && o->carry && refuse(o->carry, cand->codec, &best.out, res)) {
                buf_free(&best.out);
                t->quality = best.q;
                t->bytes = 0;
                break; /* the other subsampling loses the same */
            }
            if (ret == 1) {
                t->passed = 1;
                t->quality = best.q;
                t->bytes = best.out.len;
                t->ssim = best.r.ssim;
                t->min_tile = best.r.min_tile;
                t->ssim_cb = best.r.ssim_cb;
                t->ssim_cr = best.r.ssim_cr;
                if (!res->codec || best.out.len < res->out.len) {
                    buf_free(&res->out);
                    res->out = best.out;
                    res->codec = cand->codec;
                    res->quality = best.q;
                    res->subsampling = subs[s];
                    res->ssim = best.r.ssim;
                    res->min_tile = best.r.min_tile;
                    res->ssim_cb = best.r.ssim_cb;
                    res->ssim_cr = best.r.ssim_cr;
                    win_cand = i;
                    win_trial = t;
                    if (o->floor.butteraugli <= 0 && res->out.len < bound)
                        bound = res->out.len;
                } else {
                    buf_free(&best.out);
                }
                break; /* 4:2:0 passed: 4:4:4 would only be larger */
            }
            /* 4:2:0 failed at the top: 4:4:4 only helps when chroma was
             * what failed */
            if (s == 0 && nsub == 2 && cb_margin >= 0)
                break;
        }
    }
    /* Confirm on the whole image, smallest estimate first: the mosaic's
     * quality, raised while the whole image misses the floor (its worst tile
     * may lie outside the mosaic).  A candidate whose estimate cannot beat
     * the bound (the lossless recompression, the saving's limit) is not
     * encoded at all. */
    if (mref && npicks) {
        size_t limit = (size_t)((1.0 - o->min_saving) * (double)len);
        if (ll_ok && ll.out.len < limit)
            limit = ll.out.len;
        for (int a = 0; a < npicks; a++)
            for (int b = a + 1; b < npicks; b++)
                if (picks[b].est < picks[a].est) {
                    struct pick tmp = picks[a];
                    picks[a] = picks[b];
                    picks[b] = tmp;
                }
        for (int k = 0; k < npicks && k < SEARCH_CONFIRM_CANDIDATES && !res->codec; k++) {
            struct pick *pk = &picks[k];
            const struct search_candidate *cand = &tuned[pk->cand];
            if (pk->est >= limit) {
                tp_log(TP_LOG_DEBUG, "search: %s's estimate %zu cannot beat %zu: not confirmed",
                       cand->codec->name, pk->est, limit);
                break;
            }
            struct ctx c = { img, &keep_m, ref, m->orientation, o, pk->t, 0, &budget, 90, 0, 0, 0, 0, 0 };
            int q = pk->q, before = pk->t->probes;
            double enc0 = pk->t->encode_ms, ver0 = pk->t->verify_ms;
            for (int tries = 0; tries < SEARCH_CONFIRM_TRIES && q <= 100; tries++) {
                struct probe p;
                if (tries && budget_over(&budget))
                    break;
                if (run_probe(&c, cand, pk->subsampling, q, &p) < 0) {
                    tp_log(TP_LOG_DEBUG, "confirm %s q=%d failed: %s", cand->codec->name, q,
                           tp_err_detail());
                    tp_err_clear();
                    break;
                }
                if (!p.pass) {
                    /* up by the deficit over the mosaic's margin per quality
                     * step (at least 2, at most 8), else 2, then 4 */
                    double mg = margin(&o->floor, &p.r);
                    int up = 2 << tries;
                    if (pk->slope > 1e-9)
                        up = (int)fmin(8, fmax(2, ceil(-mg / pk->slope)));
                    size_t failed_len = p.out.len;
                    buf_free(&p.out);
                    int nq = next_quality(cand->codec, q + up, q, 101);
                    if (nq < 0 && q < 100)
                        nq = 100;
                    if (nq < 0)
                        break;
                    /* the raised quality's bytes, from this whole-image probe
                     * and the mosaic's bytes per quality step */
                    double next_b = (double)failed_len * exp(pk->kbytes * (nq - q));
                    if (next_b >= (double)limit * SEARCH_BYTES_TOLERANCE) {
                        tp_log(TP_LOG_DEBUG, "confirm %s: q=%d would weigh ~%.0f, past %zu: given up",
                               cand->codec->name, nq, next_b, limit);
                        break;
                    }
                    q = nq;
                    continue;
                }
                if (o->carry && refuse(o->carry, cand->codec, &p.out, res)) {
                    buf_free(&p.out);
                    break;
                }
                struct search_trial *t = pk->t;
                t->estimated = 0;
                t->quality = q;
                t->bytes = p.out.len;
                t->ssim = p.r.ssim;
                t->min_tile = p.r.min_tile;
                t->ssim_cb = p.r.ssim_cb;
                t->ssim_cr = p.r.ssim_cr;
                res->out = p.out;
                res->codec = cand->codec;
                res->quality = q;
                res->subsampling = pk->subsampling;
                res->ssim = p.r.ssim;
                res->min_tile = p.r.min_tile;
                res->ssim_cb = p.r.ssim_cb;
                res->ssim_cr = p.r.ssim_cr;
                win_cand = pk->cand;
                win_trial = t;
                break;
            }
            int n = pk->t->probes - before;
            pk->t->confirm_probes = n;
            res->confirm_probes += n;
            res->probes += n;
            res->encode_ms += pk->t->encode_ms - enc0;
            res->verify_ms += pk->t->verify_ms - ver0;
            if (!res->codec) {
                pk->t->passed = 0;
                pk->t->estimated = 0;
            }
        }
    }
    char ba_reason[96] = "";
    if (o->floor.butteraugli > 0 && res->codec && win_trial) {
        struct ctx c = { img, &keep_m, ref, m->orientation, o, win_trial, 0, &budget };
        if ((ret = confirm_butteraugli(&c, &tuned[win_cand], res)) < 0)
            goto end;
        if (!ret) {
            snprintf(ba_reason, sizeof(ba_reason),
                     "%s q%d: Butteraugli max %.2f is above the ceiling %.3g", res->codec->name,
                     res->quality, res->butteraugli, o->floor.butteraugli);
            tp_log(TP_LOG_INFO, "%s", ba_reason);
            win_trial->passed = 0;
            buf_free(&res->out);
            res->codec = NULL;
            res->quality = -1;
        }
    }
    /* the lossless recompression's trial (run before the lossy search) */
    if (ll_tried && res->ntrials < SEARCH_MAX_TRIALS) {
        struct search_trial *t = &res->trials[res->ntrials++];
        memset(t, 0, sizeof(*t));
        if (ll_ok) {
            t->codec = ll.codec->name;
            t->passed = 1;
            t->quality = -1;
            t->bytes = ll.out.len;
            t->ssim = t->min_tile = t->ssim_cb = t->ssim_cr = 1.0;
            t->probes = 1;
            t->encode_ms = ll.encode_ms;
            t->verify_ms = ll.verify_ms;
            res->probes++;
            res->encode_ms += ll.encode_ms;
            res->verify_ms += ll.verify_ms;
            if (!res->codec || ll.out.len < res->out.len) {
                buf_free(&res->out);
                res->out = ll.out;
                memset(&ll.out, 0, sizeof(ll.out));
                res->codec = ll.codec;
                res->quality = -1;
                res->subsampling = 0;
                res->lossless = 1;
                res->ssim = res->min_tile = res->ssim_cb = res->ssim_cr = 1.0;
                res->butteraugli = 0; /* the original's own pixels */
            }
        } else {
            t->codec = "jxl";
            t->quality = -1;
        }
    }
    res->budget_exhausted = budget.exhausted;
    res->cpu_s = budget.limit_s > 0 ? budget_spent(&budget) : 0;
    if (!res->codec && res->lost[0]) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason), "no candidate carries every part: %.120s",
                 res->lost);
    } else if (!res->codec) {
        res->kept_original = 1;
        int abandoned = 0;
        for (int i = 0; i < res->ntrials; i++)
            abandoned += res->trials[i].abandoned;
        if (ba_reason[0])
            snprintf(res->reason, sizeof(res->reason), "%s", ba_reason);
        else if (abandoned && abandoned == res->ntrials)
            snprintf(res->reason, sizeof(res->reason),
                     "cannot save %.1f%%: every candidate's failing probes already weighed more",
                     100.0 * o->min_saving);
        else if (budget.exhausted)
            snprintf(res->reason, sizeof(res->reason),
                     "the CPU budget (%g CPU-s/MP) ran out before a candidate met the floor",
                     o->max_cpu_s_per_mp);
        else
            snprintf(res->reason, sizeof(res->reason), "no candidate met the floor");
    } else if ((double)res->out.len > (1.0 - o->min_saving) * (double)len) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason),
                 "best (%s, %zu bytes) saves %.1f%%, less than the required %.1f%%",
                 res->codec->name, res->out.len, 100.0 * (1.0 - (double)res->out.len / (double)len),
                 100.0 * o->min_saving);
    }
    ret = 0;
end:
    search_result_free(&ll);
    ssim_ref_free(&mref);
    ssim_ref_free(&ref);
    mosaic_free(&mos);
    meta_free(&mos_m);
    meta_free(&keep_m);
    return ret;
}

/* The first registered codec that recompresses JPEG (JPEG XL), or NULL. */
static const struct codec *jpeg_recompressor(void)
{
    for (int i = 0; codec_list[i]; i++)
        if (codec_recompresses_jpeg(codec_list[i]) && codec_list[i]->reconstruct)
            return codec_list[i];
    return NULL;
}

int search_lossless(const uint8_t *orig, size_t len, double min_saving, struct search_result *res)
{
    const struct codec *jxl = jpeg_recompressor();
    struct codec_ctx *ctx = NULL;
    struct tp_buf back = { 0 };
    int ret;

    memset(res, 0, sizeof(*res));
    res->in_bytes = len;
    res->lossless = 1;
    res->quality = -1;
    res->ssim = res->min_tile = res->ssim_cb = res->ssim_cr = 1.0;
    RETURN_ERR_IF(!jxl || !jxl->recompress || !jxl->reconstruct, TP_ERR_UNSUPPORTED,
                  "no JPEG XL recompression in this build");
    if (codec_find_for_data(orig, len, NULL, CODEC_CAP_DECODE) != codec_find_by_name("jpeg")) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason), "not a JPEG: lossless recompression applies to JPEG only");
        return 0;
    }
    FORWARD_ERR(codec_open(&ctx, jxl, NULL));
    double t0 = now_ms();
    ret = jxl->recompress((struct codec_priv *)ctx->priv_storage, orig, len, &res->out);
    double t1 = now_ms();
    res->encode_ms = t1 - t0;
    res->probes = 1;
    if (ret == TP_ERR_UNSUPPORTED) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason), "libjxl cannot recompress it: %s", tp_err_detail());
        tp_err_clear();
        ret = 0;
        goto end;
    }
    if (ret < 0)
        goto end;
    ret = jxl->reconstruct((struct codec_priv *)ctx->priv_storage, res->out.data, res->out.len, &back);
    res->verify_ms = now_ms() - t1;
    if (ret < 0 || back.len != len || memcmp(back.data, orig, len)) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason), "reconstruction is not byte-identical");
        tp_err_clear();
        ret = 0;
        goto end;
    }
    res->codec = jxl;
    if ((double)res->out.len > (1.0 - min_saving) * (double)len) {
        res->kept_original = 1;
        snprintf(res->reason, sizeof(res->reason), "saves %.1f%%, less than the required %.1f%%",
                 100.0 * (1.0 - (double)res->out.len / (double)len), 100.0 * min_saving);
    }
    ret = 0;
end:
    if (res->kept_original)
        buf_free(&res->out);
    buf_free(&back);
    codec_close(&ctx);
    return ret;
}

void search_result_free(struct search_result *res)
{
    if (res)
        buf_free(&res->out);
}
