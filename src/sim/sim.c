/* The policy dry-run (see sim.h).  Two streaming passes over the catalog:
 *   1. sampling: which (tier, stratum) cells the assets reach during the
 *      projection, a bottom-k sample per cell (the k smallest seeded hash
 *      keys: a simple random sample that does not depend on scan order or
 *      on the number of threads) and a bounded census of distinct blobs;
 *   then the sampled blobs are transcoded in memory, once per (blob, tier);
 *   2. accounting: every asset's bytes and costs now, after the run and
 *      month by month, with the per-cell estimates from the sample.
 * Memory is bounded by the number of cells and the sample size, never by
 * the number of assets. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "catalog.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "search.h"
#include "sim.h"
#include "store.h"
#include "timeutil.h"

#define DAY 86400
#define MONTH_DAYS 30
#define CENSUS_MAX 4096          /* distinct (blob, tier) pairs the census tracks */
#define NFMT 10
#define NSIZE 4
#define NSTRATA (NFMT * NSIZE)
#define MAX_JOBS 16

static const char *const strata_formats[NFMT] = {
    "jpeg", "heif", "png", "tiff", "webp", "avif", "jxl", "gif", "other", "video",
};

/* ---- the stated ratio table -------------------------------------------- */

const struct sim_ratio sim_ratio_table[] = {
    /* 0: lossless JPEG -> JXL */
    { 0.81, 0.62, 0.90, 0.10,
      "lossless JPEG->JXL: median 81% of the bytes (62-90%), docs/quality.md and "
      "../shared/docs/quality-calibration.md (15 photos)" },
    /* 1: kept: the runner's lossless mode only recompresses JPEG; video is not re-encoded */
    { 1.0, 1.0, 1.0, 0.0, "kept as is: lossless mode recompresses only JPEG; videos are not re-encoded" },
    /* 2: lossy at a visually lossless floor (mean SSIM >= 0.995) */
    { 0.73, 0.55, 1.0, 1.5,
      "lossy at a visually lossless floor (SSIM >= 0.995): JXL median 73% (p90 ~100%), docs/quality.md" },
    /* 3: lossy around 0.99 */
    { 0.50, 0.35, 0.75, 1.5, "lossy at SSIM 0.98..0.995: ~50% of the bytes, docs/quality.md" },
    /* 4: lossy below 0.98 */
    { 0.20, 0.10, 0.40, 1.5, "lossy below SSIM 0.98: ~20% of the bytes (visibly different), docs/quality.md" },
};
const int sim_ratio_table_len = (int)TP_ARRAY_SIZE(sim_ratio_table);

const struct sim_ratio *sim_ratio_for(const struct policy_transcode *t, const char *kind,
                                      const char *format)
{
    if (t->mode == POLICY_MODE_LOSSLESS)
        return &sim_ratio_table[strcmp(format, "jpeg") ? 1 : 0];
    if (t->mode != POLICY_MODE_LOSSY || !strcmp(kind, "video"))
        return &sim_ratio_table[1];
    if (t->ssim >= SEARCH_VISUALLY_LOSSLESS)
        return &sim_ratio_table[2];
    return &sim_ratio_table[t->ssim >= 0.98 ? 3 : 4];
}

const char *const sim_assumptions[] = {
    "The run is modelled as the batch runner does it: per asset the first matching tier; "
    "mode none only changes the tier and storage class; lossless recompresses JPEG originals "
    "to JPEG XL (others are kept); lossy keeps the smallest candidate meeting the floors, or "
    "the original when none passes or saves min_saving. Videos are not re-encoded.",
    "Bytes after = what the assets point at after the run. Originals kept for good "
    "(original: keep / never_delete) are stored and billed next to the replacement; with "
    "delete_after_days they are billed for the grace (a one-off) and then deleted.",
    "Prediction: the catalog's own originals are transcoded in memory. Sample: per "
    "(tier, format x size class) stratum, a simple random sample (the smallest seeded "
    "hash keys of the asset ids), sample size allocated in proportion to the stratum's "
    "bytes with at least 2 per stratum; each distinct blob is transcoded once per tier. "
    "When every distinct (blob, tier) fits in the sample, all are transcoded and the "
    "prediction is exact (interval of zero width).",
    "Extrapolation: per stratum the ratio estimator R = sum(after)/sum(before) over the "
    "sample applied to the stratum's unsampled bytes (sampled blobs count exactly). "
    "Interval: 95% two-sided, t quantile with sum(n_h - 1) degrees of freedom on the "
    "ratio estimator's variance N^2 (1 - n/N) s_e^2 / n; strata with fewer than 2 sampled "
    "assets (or only one distinct blob), or none, use the ratio table's range instead and "
    "add it to the interval.",
    "Compute: measured process CPU time of decode + encode + verify per sampled blob, "
    "extrapolated per stratum by megapixels, billed at the vCPU-hour price.",
    "Retrieval: GB read per month = the 30-day access count x the object's bytes, at the "
    "retrieval price of the class it is in (held at today's rate in the projection).",
    "Billing: per object max(bytes, minimum billable size) + per-object overhead; objects "
    "moved or deleted before the class's minimum storage duration are billed for the "
    "remaining days; the time an object has spent in its current class is taken as its "
    "age since upload (the catalog does not record class changes).",
    "Projection: month k re-evaluates the policy at now + 30k days, assuming no new "
    "accesses (last access unchanged; the 30/90/365-day counts shrink as the window slides "
    "past the recorded accesses, assumed spread evenly over their window).",
    "Assets already replaced (current blob != original) are not transcoded again; a tier "
    "reached later in the projection transcodes from the original with that tier's "
    "settings (strata first reached then use the sample if it reached them, else the table).",
    NULL,
};

/* ---- small helpers ----------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t blob_key(const char *hex)
{
    uint64_t k = 0;
    for (int i = 0; i < 16 && hex[i]; i++) {
        char ch = hex[i];
        k = k << 4 | (uint64_t)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
    }
    return k;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int dd(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* "YYYY-MM-DDTHH:MM:SS[Z]" fast, anything else through time_parse; 0 when
 * empty or unparsable (as facts_from_asset leaves it). */
static int64_t parse_time(const char *s)
{
    int64_t t;
    if (!s[0])
        return 0;
    if (strlen(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
        s[13] == ':' && s[16] == ':' && (s[19] == '\0' || (s[19] == 'Z' && s[20] == '\0'))) {
        int y = dd(s) * 100 + dd(s + 2), mo = dd(s + 5), d = dd(s + 8);
        if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31)
            return days_from_civil(y, mo, d) * DAY + dd(s + 11) * 3600 + dd(s + 14) * 60 +
                   dd(s + 17);
    }
    if (time_parse(s, &t) == 0)
        return t;
    tp_err_clear();
    return 0;
}

static int stratum_of(const char *kind, const char *format, double bytes)
{
    int f = 8, sz;
    if (!strcmp(kind, "video")) {
        f = 9;
    } else {
        for (int i = 0; i < 8; i++)
            if (!strcmp(format, strata_formats[i]))
                f = i;
    }
    sz = bytes < 128 * 1024.0 ? 0 : bytes < 1048576.0 ? 1 : bytes < 8388608.0 ? 2 : 3;
    return f * NSIZE + sz;
}

/* Two-sided 95% t quantiles for df = 1..30; 1.96 beyond. */
static double t95(int df)
{
    static const double t[] = { 0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042 };
    if (df < 1)
        return 0;
    if (df <= 30)
        return t[df];
    return df <= 60 ? 2.000 : df <= 120 ? 1.980 : 1.960;
}

/* ---- sampling structures ----------------------------------------------- */

struct sample_ent {
    uint64_t key;
    int64_t id;
    char blob[SHA256_HEX_LEN + 1];
    char format[16], kind[8];
    double bytes, mp;
};

/* Per (tier, stratum) during pass 1: counts and a bottom-k max-heap. */
struct cell1 {
    int64_t n;
    double bytes;
    struct sample_ent *heap;  /* owned; cap entries */
    int nheap;
};

struct census_ent {
    uint64_t key;             /* blob_key ^ tier; 0 = empty slot */
    int tier, stratum;
    char blob[SHA256_HEX_LEN + 1];
    char format[16], kind[8];
    double bytes, mp;
    int64_t count;
};

/* A transcode result, per distinct (blob, tier). */
struct result_ent {
    uint64_t key;
    int tier, used;
    char blob[SHA256_HEX_LEN + 1];
    double before, after, cpu;
    int swapped, failed;
};

/* Per-cell estimates after the transcodes. */
struct cell_est {
    int n;                    /* sampled assets */
    double sum_a, sum_b, sum_e2, swapped_b, cpu, mp;
    double ratio, swap_frac, cpu_per_mp, lo, hi;
    int from_table;
    int distinct;             /* 2: the sample holds at least two different blobs */
    int64_t big_n;            /* population reached (pass 1) */
};

struct ctx {
    const struct sim_opts *o;
    const struct policy *p;
    int ntiers, unmatched, months, k;
    int transcodes;           /* some tier transcodes */
    /* prices per tier and per catalog class */
    const struct price_class *tier_pc[SIM_MAX_TIERS];
    double std_gb_month;      /* STANDARD's price, for per-object overheads */
    /* pass 2 inputs */
    struct cell_est *est;     /* ntiers * NSTRATA */
    struct result_ent *res;   /* open addressing, res_cap slots */
    size_t res_cap;
    atomic_llong progress;
    int64_t total_assets;
};

/* Per-thread state. */
struct job {
    struct ctx *c;
    int idx;
    int64_t lo, hi;
    int pass;
    int ret;
    char err[300];
    /* pass 1 */
    struct cell1 *cells;      /* ntiers * NSTRATA */
    struct census_ent *census; /* CENSUS_MAX * 2 slots */
    int ncensus, census_over;
    /* pass 2 */
    struct sim_tier tiers[SIM_MAX_TIERS];
    struct sim_month *months;
    double *cell_n0, *cell_best; /* month-0 assets and estimated (non-exact) bytes per cell */
    int64_t rows;
};

static int tier_transcodes(const struct policy *p, int t)
{
    return t >= 0 && t < p->ntiers && p->tiers[t].act.transcode.mode != POLICY_MODE_NONE;
}

/* Facts from a scan row, as facts_from_asset() makes them. */
static void row_facts(const struct catalog_scan_row *r, struct asset_facts *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->kind, sizeof(f->kind), "%s", r->kind);
    snprintf(f->format, sizeof(f->format), "%s", r->format);
    f->bytes = r->bytes;
    f->width = r->width;
    f->height = r->height;
    f->capture_time = parse_time(r->capture_time);
    f->upload_time = parse_time(r->upload_time);
    f->last_access = parse_time(r->last_access);
    f->count_30d = r->count_30d;
    f->count_90d = r->count_90d;
    f->count_365d = r->count_365d;
}

/* The facts k months from now with no new accesses: the windows slide past
 * the recorded events (assumed spread evenly over their window). */
static void age_facts(const struct asset_facts *f0, int k, struct asset_facts *f)
{
    int64_t dt = (int64_t)k * MONTH_DAYS;
    *f = *f0;
    if (k == 0)
        return;
    f->count_30d = dt >= 30 ? 0 : f0->count_30d * (30 - dt) / 30;
    f->count_90d = dt >= 90 ? 0 : f0->count_90d * (90 - dt) / 90;
    f->count_365d = dt >= 365 ? 0 : f0->count_365d * (365 - dt) / 365;
}

static int match_at(const struct ctx *c, const struct asset_facts *f0, int k)
{
    struct asset_facts f;
    int t;
    age_facts(f0, k, &f);
    t = policy_match(c->p, &f, c->o->now + (int64_t)k * MONTH_DAYS * DAY, NULL);
    return t < 0 ? c->unmatched : t;
}

static int already_replaced(const struct catalog_scan_row *r)
{
    return r->original_blob[0] && strcmp(r->original_blob, r->current_blob);
}

static const char *source_blob(const struct catalog_scan_row *r)
{
    return r->original_blob[0] ? r->original_blob : r->current_blob;
}

/* ---- pass 1: sampling -------------------------------------------------- */

static void heap_push(struct cell1 *cl, int cap, const struct sample_ent *e)
{
    struct sample_ent *h = cl->heap;
    int i;
    if (cl->nheap < cap) {
        i = cl->nheap++;
        while (i > 0 && h[(i - 1) / 2].key < e->key) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = *e;
        return;
    }
    if (e->key >= h[0].key)
        return;
    /* replace the largest and sift down */
    i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        uint64_t mk = e->key;
        if (l < cap && h[l].key > mk) {
            m = l;
            mk = h[l].key;
        }
        if (r < cap && h[r].key > mk)
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = *e;
}

static void census_add(struct job *j, const struct sample_ent *e, int tier, int stratum)
{
    uint64_t key = (blob_key(e->blob) ^ mix64((uint64_t)tier + 1)) | 1;
    size_t cap = CENSUS_MAX * 2, i = key & (cap - 1);
    if (j->census_over)
        return;
    for (;; i = (i + 1) & (cap - 1)) {
        struct census_ent *ce = &j->census[i];
        if (!ce->key) {
            if (j->ncensus >= CENSUS_MAX) {
                j->census_over = 1;
                return;
            }
            ce->key = key;
            ce->tier = tier;
            ce->stratum = stratum;
            memcpy(ce->blob, e->blob, sizeof(ce->blob));
            memcpy(ce->format, e->format, sizeof(ce->format));
            memcpy(ce->kind, e->kind, sizeof(ce->kind));
            ce->bytes = e->bytes;
            ce->mp = e->mp;
            ce->count = 1;
            j->ncensus++;
            return;
        }
        if (ce->key == key && ce->tier == tier && !strcmp(ce->blob, e->blob)) {
            ce->count++;
            return;
        }
    }
}

static int pass1_row(void *ud, const struct catalog_scan_row *r)
{
    struct job *j = ud;
    struct ctx *c = j->c;
    struct asset_facts f;
    uint64_t seen = 0;
    struct sample_ent e;
    int filled = 0;

    j->rows++;
    if (already_replaced(r))
        return 0;
    row_facts(r, &f);
    for (int k = 0; k <= c->months; k++) {
        int t = match_at(c, &f, k);
        if (!tier_transcodes(c->p, t) || (seen >> t & 1))
            continue;
        seen |= 1ull << t;
        if (!filled) {
            memset(&e, 0, sizeof(e));
            e.id = r->id;
            snprintf(e.blob, sizeof(e.blob), "%s", source_blob(r));
            snprintf(e.format, sizeof(e.format), "%s", r->format);
            snprintf(e.kind, sizeof(e.kind), "%s", r->kind);
            e.bytes = (double)r->bytes;
            e.mp = (double)r->width * r->height / 1e6;
            filled = 1;
        }
        int s = stratum_of(r->kind, r->format, e.bytes);
        struct cell1 *cl = &j->cells[t * NSTRATA + s];
        cl->n++;
        cl->bytes += e.bytes;
        if (!cl->heap && !(cl->heap = tp_calloc((size_t)c->k, sizeof(*cl->heap)))) {
            tp_err_set("out of memory for the sample");
            return TP_ERR(ENOMEM);
        }
        e.key = mix64(c->o->seed * 0x9e3779b97f4a7c15ull ^ mix64((uint64_t)r->id) ^ (uint64_t)t);
        heap_push(cl, c->k, &e);
        census_add(j, &e, t, s);
    }
    if (j->idx == 0 && c->o->progress && (j->rows & 0xfffff) == 0)
        c->o->progress(c->o->progress_ud, "sampling scan", j->rows * (int64_t)c->o->jobs,
                       c->total_assets);
    return 0;
}

/* ---- pass 2: accounting ------------------------------------------------ */

static const struct result_ent *result_find(const struct ctx *c, const char *blob, int tier)
{
    if (!c->res_cap)
        return NULL;
    uint64_t key = (blob_key(blob) ^ mix64((uint64_t)tier + 1)) | 1;
    for (size_t i = key & (c->res_cap - 1);; i = (i + 1) & (c->res_cap - 1)) {
        const struct result_ent *re = &c->res[i];
        if (!re->key)
            return NULL;
        if (re->key == key && re->tier == tier && !strcmp(re->blob, blob))
            return re->used ? re : NULL;
    }
}

/* The expected representation of an asset transcoded in tier t: bytes
 * after, probability it was replaced, CPU seconds; *exact when measured. */
static void predict(const struct ctx *c, int t, int s, const struct catalog_scan_row *r,
                    double *after, double *p, double *cpu, int *exact)
{
    const struct result_ent *re = result_find(c, source_blob(r), t);
    double b = (double)r->bytes, mp = (double)r->width * r->height / 1e6;
    if (re) {
        *after = re->after;
        *p = re->swapped;
        *cpu = re->cpu;
        *exact = 1;
        return;
    }
    const struct cell_est *ce = &c->est[t * NSTRATA + s];
    *exact = 0;
    if (ce->from_table || ce->n == 0) {
        const struct sim_ratio *sr = sim_ratio_for(&c->p->tiers[t].act.transcode, r->kind, r->format);
        *after = sr->ratio * b;
        *p = sr->ratio < 1 ? 1 : 0;
        *cpu = sr->cpu_s_per_mp * mp;
    } else {
        *after = ce->ratio * b;
        *p = ce->swap_frac;
        *cpu = ce->cpu_per_mp * mp;
    }
}

static const struct price_class *class_or_standard(const struct prices *pr, const char *name)
{
    const struct price_class *pc = prices_find(pr, name);
    return pc ? pc : prices_find(pr, "STANDARD");
}

/* prices_object_month() without the STANDARD lookup per call. */
static double month_cost(const struct ctx *c, const struct price_class *pc, double bytes)
{
    if (!pc)
        return 0;
    double min = pc->min_billable_kb * PRICES_KB, b = bytes < min ? min : bytes;
    return (b + pc->overhead_kb * PRICES_KB) / PRICES_GB * pc->storage_gb_month +
           pc->overhead_standard_kb * PRICES_KB / PRICES_GB * c->std_gb_month;
}

/* Charge for leaving class pc after `days` in it (pro-rated remainder). */
static double early_charge(const struct ctx *c, const struct price_class *pc, double bytes,
                           double days)
{
    if (!pc || days >= pc->min_storage_days)
        return 0;
    return month_cost(c, pc, bytes) * (pc->min_storage_days - days) / MONTH_DAYS;
}

static int pass2_row(void *ud, const struct catalog_scan_row *r)
{
    struct job *j = ud;
    struct ctx *c = j->c;
    const struct prices *pr = c->o->prices;
    struct asset_facts f;
    const struct price_class *pc0 = class_or_standard(pr, r->storage_class), *pc;
    double b0 = (double)r->current_bytes, borig = (double)r->bytes;
    double mp = (double)r->width * r->height / 1e6, c30 = (double)r->count_30d;
    double base_month, age_days;
    /* the projection's state */
    double rep = b0, held = 0;     /* representation bytes; expected original bytes held */
    double held_until = 1e18;      /* day the held original goes (1e18: never) */
    double class_since;            /* day the object entered its class */
    int replaced = already_replaced(r), tprev = -1, ttc = -1, dirty = 1;
    double storage = 0, retrieval = 0;

    j->rows++;
    row_facts(r, &f);
    age_days = f.upload_time ? (double)(c->o->now - f.upload_time) / DAY : 0;
    if (age_days < 0)
        age_days = 0;
    class_since = -age_days;
    pc = pc0;
    base_month = month_cost(c, pc0, b0) + c30 * b0 / PRICES_GB * (pc0 ? pc0->retrieval_gb : 0);

    for (int k = 0; k <= c->months; k++) {
        int t = match_at(c, &f, k);
        double day = (double)k * MONTH_DAYS, one_off = 0;
        struct sim_month *m = &j->months[k];
        if (t != tprev) {
            const struct price_class *npc = t == c->unmatched ? pc : c->tier_pc[t];
            double after = rep, p = 0, cpu = 0, moved;
            int exact = 1, s = stratum_of(r->kind, r->format, borig);
            const struct policy_actions *act = t == c->unmatched ? NULL : &c->p->tiers[t].act;
            if (tier_transcodes(c->p, t) && !replaced && t != ttc) {
                predict(c, t, s, r, &after, &p, &cpu, &exact);
                ttc = t;
            }
            if (!npc)
                npc = pc;
            /* the object leaves its class when it moves or is replaced */
            moved = npc != pc ? 1.0 : p;
            double early = moved * early_charge(c, pc, rep, day - class_since);
            double req = moved * (npc ? npc->requests_per_1000 / 1000 : 0);
            double compute = cpu / 3600 * pr->compute_vcpu_hour;
            double grace_cost = 0, orig_early = 0;
            if (p > 0) {
                /* the replaced original: kept for good, or for the grace */
                held = p * borig;
                if (act->original == POLICY_ORIGINAL_DELETE_AFTER) {
                    held_until = day + act->delete_after_days;
                    grace_cost = p * month_cost(c, npc, borig) * act->delete_after_days / MONTH_DAYS;
                    orig_early = p * early_charge(c, npc, borig, act->delete_after_days);
                } else {
                    held_until = 1e18;
                }
            }
            if (npc != pc || p > 0)
                class_since = day;
            one_off = early + req + compute + orig_early;
            if (k == 0) {
                struct sim_tier *st = &j->tiers[t];
                st->compute_cpu_hours += cpu / 3600;
                st->compute_usd += compute;
                st->early_delete_usd += early + orig_early;
                st->requests_usd += req;
                st->grace_usd += grace_cost;
                st->swapped += p;
                if (p > 0 && act->original == POLICY_ORIGINAL_DELETE_AFTER)
                    st->grace_bytes += p * borig;
                else
                    st->originals_kept_bytes += p * borig;
                if (!exact && tier_transcodes(c->p, t)) {
                    j->cell_n0[t * NSTRATA + s] += 1;
                    j->cell_best[t * NSTRATA + s] += borig;
                }
            }
            /* expected representation: replaced with probability p */
            rep = after; /* expected bytes: the estimate already weighs in the keeps */
            pc = npc;
            tprev = t;
            dirty = 1;
        }
        if (held > 0 && day >= held_until) {
            held = 0;
            dirty = 1;
        }
        if (dirty) {
            storage = month_cost(c, pc, rep) + (held > 0 ? held / borig * month_cost(c, pc, borig) : 0);
            retrieval = c30 * rep / PRICES_GB * (pc ? pc->retrieval_gb : 0);
            dirty = 0;
        }
        m->bytes_stored += rep + held;
        m->storage_usd += storage;
        m->retrieval_usd += retrieval;
        m->one_off_usd += one_off;
        m->baseline_usd += base_month;
        m->assets[t]++;
        m->bytes[t] += rep + held;
        if (k == 0) {
            struct sim_tier *st = &j->tiers[t];
            double steady = month_cost(c, pc, rep) +
                            (held > 0 && held_until >= 1e17 ? held / borig * month_cost(c, pc, borig) : 0);
            st->assets++;
            st->bytes_before += b0;
            st->bytes_after += rep;
            st->megapixels += mp;
            st->cost_before_month += month_cost(c, pc0, b0);
            st->cost_after_month += steady;
            st->retrieval_gb_month += c30 * b0 / PRICES_GB;
            st->retrieval_before_month += c30 * b0 / PRICES_GB * (pc0 ? pc0->retrieval_gb : 0);
            st->retrieval_after_month += retrieval;
        }
    }
    if (j->idx == 0 && c->o->progress && (j->rows & 0xfffff) == 0)
        c->o->progress(c->o->progress_ud, "accounting scan", j->rows * (int64_t)c->o->jobs,
                       c->total_assets);
    return 0;
}

/* ---- threads ----------------------------------------------------------- */

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct catalog *cat = NULL;
    int ret = catalog_open(&cat, j->c->o->catalog_uri, CATALOG_OPEN_READONLY);
    if (ret >= 0)
        ret = catalog_asset_scan(cat, j->lo, j->hi, j->pass == 1 ? pass1_row : pass2_row, j);
    if (ret < 0)
        snprintf(j->err, sizeof(j->err), "%s", tp_err_detail());
    j->ret = ret;
    catalog_close(&cat);
    return NULL;
}

static int run_pass(struct ctx *c, struct job *jobs, int njobs, int pass, int64_t lo, int64_t hi)
{
    pthread_t th[MAX_JOBS];
    int started = 0, ret = 0;
    int64_t span = hi - lo + 1, step = span / njobs + 1;
    for (int i = 0; i < njobs; i++) {
        jobs[i].c = c;
        jobs[i].idx = i;
        jobs[i].pass = pass;
        jobs[i].lo = lo + step * i;
        jobs[i].hi = i == njobs - 1 ? hi : lo + step * (i + 1) - 1;
        jobs[i].rows = 0;
        jobs[i].ret = 0;
    }
    for (int i = 1; i < njobs; i++) {
        if (pthread_create(&th[i], NULL, job_main, &jobs[i]) != 0) {
            jobs[i].ret = TP_ERR(EAGAIN);
            snprintf(jobs[i].err, sizeof(jobs[i].err), "cannot start a scan thread");
            break;
        }
        started = i;
    }
    job_main(&jobs[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < njobs; i++) {
        if (jobs[i].ret < 0 && !ret) {
            ret = jobs[i].ret;
            tp_err_set("%s", jobs[i].err);
        }
    }
    return ret;
}

/* ---- transcoding the sample ------------------------------------------- */

static unsigned keep_mask(unsigned pm)
{
    unsigned k = 0;
    if (pm & POLICY_META_EXIF)
        k |= META_KEEP_EXIF | META_KEEP_GPS;
    if (pm & POLICY_META_XMP)
        k |= META_KEEP_XMP;
    if (pm & POLICY_META_ICC)
        k |= META_KEEP_ICC;
    return k;
}

/* Transcodes one blob with tier t's settings in memory; fills re. */
static int transcode_one(struct ctx *c, int t, const char *kind, const char *format,
                         struct result_ent *re)
{
    const struct policy_transcode *tc = &c->p->tiers[t].act.transcode;
    struct tp_buf in = { 0 };
    struct image img = { 0 };
    struct meta m;
    struct search_result res;
    struct codec_opts dopts;
    double t0;
    int ret;

    memset(&res, 0, sizeof(res));
    meta_init(&m);
    ret = store_get(c->o->store, re->blob, &in);
    if (ret < 0) {
        tp_log(TP_LOG_WARN, "simulate: cannot read blob %.12s: %s", re->blob, tp_err_detail());
        re->failed = 1;
        goto end;
    }
    re->before = (double)in.len;
    re->after = re->before;
    t0 = cpu_s();
    if (tc->mode == POLICY_MODE_LOSSLESS) {
        if (strcmp(format, "jpeg"))
            goto end; /* kept: the runner recompresses only JPEG */
        ret = search_lossless(in.data, in.len, tc->min_saving, &res);
    } else {
        struct search_candidate cands[POLICY_MAX_CODECS];
        struct search_opts so;
        int n = 0;
        if (!strcmp(kind, "video"))
            goto end; /* videos are not re-encoded by the runner */
        for (int i = 0; i < tc->ncodecs; i++) {
            const struct codec *cd = codec_find_by_name(tc->codecs[i]);
            if (cd)
                cands[n++] = (struct search_candidate){ cd, tc->effort, tc->subsampling, 0, NULL };
        }
        search_opts_defaults(&so);
        so.floor.ssim = tc->ssim;
        so.floor.tile = tc->tile_ssim;
        so.floor.chroma = tc->chroma_ssim;
        search_floor_derive(&so.floor);
        so.min_saving = tc->min_saving;
        so.keep = keep_mask(tc->keep_meta);
        codec_opts_defaults(&dopts);
        ret = codec_decode_any(in.data, in.len, NULL, &dopts, &img, &m, NULL);
        if (ret >= 0 && n > 0)
            ret = search_run(in.data, in.len, &img, &m, cands, n, &so, &res);
        else if (n == 0)
            res.kept_original = 1;
    }
    re->cpu = cpu_s() - t0;
    if (ret < 0) {
        tp_log(TP_LOG_WARN, "simulate: transcoding blob %.12s failed (counted as kept): %s",
               re->blob, tp_err_detail());
        re->failed = 1;
        ret = 0;
        goto end;
    }
    if (!res.kept_original && res.out.len > 0 && res.out.len < in.len) {
        re->after = (double)res.out.len;
        re->swapped = 1;
    }
end:
    search_result_free(&res);
    image_free(&img);
    meta_free(&m);
    buf_free(&in);
    return ret < 0 ? ret : 0;
}

static struct result_ent *result_slot(struct ctx *c, const char *blob, int tier)
{
    uint64_t key = (blob_key(blob) ^ mix64((uint64_t)tier + 1)) | 1;
    for (size_t i = key & (c->res_cap - 1);; i = (i + 1) & (c->res_cap - 1)) {
        struct result_ent *re = &c->res[i];
        if (!re->key || (re->key == key && re->tier == tier && !strcmp(re->blob, blob))) {
            re->key = key;
            re->tier = tier;
            memcpy(re->blob, blob, sizeof(re->blob));
            return re;
        }
    }
}

static int cmp_key(const void *a, const void *b)
{
    const struct sample_ent *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* ---- the run ----------------------------------------------------------- */

void sim_opts_defaults(struct sim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->months = 12;
    o->sample = 50;
    o->seed = 1;
    o->jobs = 2;
}

void sim_result_free(struct sim_result *res)
{
    if (res)
        tp_freep(&res->months);
}

static void free_jobs(struct ctx *c, struct job *jobs, int njobs)
{
    for (int i = 0; i < njobs; i++) {
        if (jobs[i].cells)
            for (int k = 0; k < c->ntiers * NSTRATA; k++)
                tp_free(jobs[i].cells[k].heap);
        tp_freep(&jobs[i].cells);
        tp_freep(&jobs[i].census);
        tp_freep(&jobs[i].months);
        tp_freep(&jobs[i].cell_n0);
        tp_freep(&jobs[i].cell_best);
    }
}

static void finish_tier(struct sim_tier *st)
{
    st->one_off_usd = st->compute_usd + st->early_delete_usd + st->requests_usd + st->grace_usd;
    st->saving_month = st->cost_before_month + st->retrieval_before_month - st->cost_after_month -
                       st->retrieval_after_month;
    if (st->saving_month > 1e-12)
        st->payback_months = st->one_off_usd / st->saving_month;
    else /* no saving: never (nothing to pay back when nothing changes: 0) */
        st->payback_months = st->one_off_usd > 0 || st->saving_month < -1e-12 ? -1 : 0;
}

static void add_tier(struct sim_tier *d, const struct sim_tier *s)
{
    d->assets += s->assets;
    d->bytes_before += s->bytes_before;
    d->bytes_after += s->bytes_after;
    d->swapped += s->swapped;
    d->originals_kept_bytes += s->originals_kept_bytes;
    d->grace_bytes += s->grace_bytes;
    d->megapixels += s->megapixels;
    d->cost_before_month += s->cost_before_month;
    d->cost_after_month += s->cost_after_month;
    d->retrieval_gb_month += s->retrieval_gb_month;
    d->retrieval_before_month += s->retrieval_before_month;
    d->retrieval_after_month += s->retrieval_after_month;
    d->compute_cpu_hours += s->compute_cpu_hours;
    d->compute_usd += s->compute_usd;
    d->early_delete_usd += s->early_delete_usd;
    d->requests_usd += s->requests_usd;
    d->grace_usd += s->grace_usd;
}

int sim_run(const struct sim_opts *o, struct sim_result *res)
{
    struct ctx c;
    struct job jobs[MAX_JOBS];
    int njobs = o->jobs < 1 ? 1 : o->jobs > MAX_JOBS ? MAX_JOBS : o->jobs;
    int64_t lo, hi, n;
    struct catalog *cat = NULL;
    struct sample_ent *pool = NULL;
    int ret, ncell;
    double t0 = now_s();

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    memset(jobs, 0, sizeof(jobs));
    RETURN_ERR_IF(!o->policy || !o->prices || !o->catalog_uri || !o->store, TP_ERR(EINVAL),
                  "simulate: missing policy, prices, catalog or store");
    RETURN_ERR_IF(o->months < 0 || o->months > SIM_MAX_MONTHS, TP_ERR(EINVAL),
                  "simulate: months must be 0..%d", SIM_MAX_MONTHS);
    RETURN_ERR_IF(o->sample < 0 || o->sample > SIM_MAX_SAMPLE, TP_ERR(EINVAL),
                  "simulate: sample must be 0..%d", SIM_MAX_SAMPLE);
    c.o = o;
    c.p = o->policy;
    c.ntiers = o->policy->ntiers + 1;
    c.unmatched = o->policy->ntiers;
    c.months = o->months;
    c.k = o->sample > 0 ? o->sample : 1;
    ncell = c.ntiers * NSTRATA;
    for (int t = 0; t < o->policy->ntiers; t++) {
        const struct policy_tier *pt = &o->policy->tiers[t];
        c.tier_pc[t] = prices_find(o->prices, pt->act.storage_class);
        RETURN_ERR_IF(!c.tier_pc[t], TP_ERR_INVALIDDATA,
                      "simulate: tier '%s' uses storage class %s, which the price sheet lacks",
                      pt->name, pt->act.storage_class);
        if (tier_transcodes(o->policy, t))
            c.transcodes = 1;
    }
    RETURN_ERR_IF(!prices_find(o->prices, "STANDARD"), TP_ERR_INVALIDDATA,
                  "simulate: the price sheet has no STANDARD class");
    c.std_gb_month = prices_find(o->prices, "STANDARD")->storage_gb_month;

    if ((ret = catalog_open(&cat, o->catalog_uri, CATALOG_OPEN_READONLY)) < 0)
        return ret;
    ret = catalog_asset_id_range(cat, &lo, &hi, &n);
    catalog_close(&cat);
    if (ret < 0)
        return ret;
    c.total_assets = n;

    res->ntiers = c.ntiers;
    res->nmonths = o->months + 1;
    res->now = o->now;
    res->seed = o->seed;
    res->ci_level = 0.95;
    res->months_requested = o->months;
    res->sample_requested = o->sample;
    res->method = !c.transcodes ? SIM_METHOD_NONE : o->sample == 0 ? SIM_METHOD_TABLE : SIM_METHOD_SAMPLE;
    if (!(res->months = tp_calloc((size_t)res->nmonths, sizeof(*res->months))) ||
        !(c.est = tp_calloc((size_t)ncell, sizeof(*c.est)))) {
        ret = TP_ERR(ENOMEM);
        goto fail;
    }
    for (int i = 0; i < ncell; i++)
        c.est[i].from_table = 1;

    /* ---- pass 1 and the transcodes ---- */
    if (n > 0 && c.transcodes && o->sample > 0) {
        int ncensus_total = 0, over = 0, npool = 0, want_total = 0;
        for (int i = 0; i < njobs; i++) {
            if (!(jobs[i].cells = tp_calloc((size_t)ncell, sizeof(*jobs[i].cells))) ||
                !(jobs[i].census = tp_calloc(CENSUS_MAX * 2, sizeof(*jobs[i].census)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
        }
        if ((ret = run_pass(&c, jobs, njobs, 1, lo, hi)) < 0)
            goto fail;
        /* merge the census: distinct (blob, tier) over all threads */
        struct census_ent *census = jobs[0].census;
        over = jobs[0].census_over;
        for (int i = 1; i < njobs && !over; i++) {
            over |= jobs[i].census_over;
            for (size_t s = 0; s < CENSUS_MAX * 2 && !over; s++) {
                struct census_ent *ce = &jobs[i].census[s];
                if (!ce->key)
                    continue;
                struct sample_ent e;
                memset(&e, 0, sizeof(e));
                memcpy(e.blob, ce->blob, sizeof(e.blob));
                memcpy(e.format, ce->format, sizeof(e.format));
                memcpy(e.kind, ce->kind, sizeof(e.kind));
                e.bytes = ce->bytes;
                e.mp = ce->mp;
                int64_t cnt = ce->count;
                census_add(&jobs[0], &e, ce->tier, ce->stratum);
                /* census_add counted one; add the rest */
                uint64_t key = (blob_key(e.blob) ^ mix64((uint64_t)ce->tier + 1)) | 1;
                for (size_t q = key & (CENSUS_MAX * 2 - 1);; q = (q + 1) & (CENSUS_MAX * 2 - 1)) {
                    if (!census[q].key)
                        break;
                    if (census[q].key == key && census[q].tier == ce->tier &&
                        !strcmp(census[q].blob, e.blob)) {
                        census[q].count += cnt - 1;
                        break;
                    }
                }
                over |= jobs[0].census_over;
            }
        }
        ncensus_total = jobs[0].ncensus;
        res->census_complete = !over;
        /* merge the cells */
        for (int h = 0; h < ncell; h++) {
            struct cell_est *ce = &c.est[h];
            for (int i = 0; i < njobs; i++) {
                ce->big_n += jobs[i].cells[h].n;
                ce->sum_b += jobs[i].cells[h].bytes; /* population bytes for now */
            }
        }
        if (!over && ncensus_total <= o->sample) {
            /* exhaustive: every distinct (blob, tier) gets transcoded */
            res->method = SIM_METHOD_EXACT;
            c.res_cap = 16;
            while (c.res_cap < (size_t)ncensus_total * 2 + 2)
                c.res_cap *= 2;
            if (!(c.res = tp_calloc(c.res_cap, sizeof(*c.res)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
            int done = 0;
            for (size_t s = 0; s < CENSUS_MAX * 2; s++) {
                struct census_ent *ce = &census[s];
                if (!ce->key)
                    continue;
                struct result_ent *re = result_slot(&c, ce->blob, ce->tier);
                if (o->progress)
                    o->progress(o->progress_ud, "transcoding", done, ncensus_total);
                if ((ret = transcode_one(&c, ce->tier, ce->kind, ce->format, re)) < 0)
                    goto fail;
                re->used = 1;
                res->transcode_failures += re->failed;
                res->cpu_seconds_sampled += re->cpu;
                res->sampled_assets += (int)ce->count;
                res->tiers[ce->tier].sampled += (int)ce->count;
                done++;
            }
            res->transcoded = done;
        } else {
            /* allocation in proportion to bytes, at least 2 per cell */
            double tot_b = 0;
            int want[SIM_MAX_TIERS * NSTRATA];
            for (int h = 0; h < ncell; h++)
                tot_b += c.est[h].sum_b;
            for (int h = 0; h < ncell; h++) {
                int64_t N = c.est[h].big_n;
                int w = tot_b > 0 ? (int)llround(o->sample * c.est[h].sum_b / tot_b) : 0;
                if (w < 2)
                    w = 2;
                if (w > o->sample)
                    w = o->sample;
                if (w > N)
                    w = (int)N;
                want[h] = w;
                want_total += w;
            }
            if (!(pool = tp_calloc((size_t)njobs * (size_t)c.k, sizeof(*pool)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
            c.res_cap = 16;
            while (c.res_cap < (size_t)want_total * 2 + 2)
                c.res_cap *= 2;
            if (!(c.res = tp_calloc(c.res_cap, sizeof(*c.res)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
            int done = 0;
            for (int h = 0; h < ncell; h++) {
                struct cell_est *ce = &c.est[h];
                int t = h / NSTRATA;
                if (!want[h])
                    continue;
                npool = 0;
                for (int i = 0; i < njobs; i++)
                    for (int q = 0; q < jobs[i].cells[h].nheap; q++)
                        pool[npool++] = jobs[i].cells[h].heap[q];
                qsort(pool, (size_t)npool, sizeof(*pool), cmp_key);
                if (npool > want[h])
                    npool = want[h];
                ce->sum_b = 0;
                for (int q = 0; q < npool; q++) {
                    struct result_ent *re = result_slot(&c, pool[q].blob, t);
                    if (!re->used) {
                        if (o->progress)
                            o->progress(o->progress_ud, "transcoding", done, want_total);
                        if ((ret = transcode_one(&c, t, pool[q].kind, pool[q].format, re)) < 0)
                            goto fail;
                        re->used = 1;
                        res->transcode_failures += re->failed;
                        res->cpu_seconds_sampled += re->cpu;
                        res->transcoded++;
                    }
                    done++;
                    ce->n++;
                    ce->sum_a += re->after;
                    ce->sum_b += pool[q].bytes;
                    ce->swapped_b += re->swapped * pool[q].bytes;
                    ce->cpu += re->cpu;
                    ce->mp += pool[q].mp;
                }
                res->sampled_assets += npool;
                /* the variance needs two different blobs: the same blob twice
                 * says nothing about the spread */
                int distinct = 0;
                for (int q = 0; q < npool && distinct < 2; q++)
                    distinct = q > 0 && strcmp(pool[q].blob, pool[0].blob) ? 2 : 1;
                ce->distinct = distinct;
                if (ce->n > 0 && ce->sum_b > 0) {
                    ce->from_table = 0;
                    ce->ratio = ce->sum_a / ce->sum_b;
                    ce->swap_frac = ce->swapped_b / ce->sum_b;
                    ce->cpu_per_mp = ce->mp > 0 ? ce->cpu / ce->mp : 0;
                    /* residuals for the variance */
                    for (int q = 0; q < npool; q++) {
                        const struct result_ent *re = result_find(&c, pool[q].blob, t);
                        double e = re->after - ce->ratio * pool[q].bytes;
                        ce->sum_e2 += e * e;
                    }
                }
            }
        }
    }
    res->transcode_seconds = now_s() - t0;

    /* ---- pass 2 ---- */
    t0 = now_s();
    for (int i = 0; i < njobs; i++) {
        if (!(jobs[i].months = tp_calloc((size_t)res->nmonths, sizeof(*jobs[i].months))) ||
            !(jobs[i].cell_n0 = tp_calloc((size_t)ncell, sizeof(double))) ||
            !(jobs[i].cell_best = tp_calloc((size_t)ncell, sizeof(double)))) {
            ret = TP_ERR(ENOMEM);
            goto fail;
        }
    }
    if (n > 0 && (ret = run_pass(&c, jobs, njobs, 2, lo, hi)) < 0)
        goto fail;
    res->scan_seconds = now_s() - t0;

    /* ---- merge and estimate ---- */
    for (int t = 0; t < c.ntiers; t++) {
        struct sim_tier *st = &res->tiers[t];
        for (int i = 0; i < njobs; i++)
            add_tier(st, &jobs[i].tiers[t]);
        if (t < c.unmatched) {
            const struct policy_actions *act = &o->policy->tiers[t].act;
            snprintf(st->name, sizeof(st->name), "%s", o->policy->tiers[t].name);
            snprintf(st->storage_class, sizeof(st->storage_class), "%s", act->storage_class);
            st->mode = policy_mode_name(act->transcode.mode);
            st->original = policy_original_name(act->original);
            st->grace_days = act->original == POLICY_ORIGINAL_DELETE_AFTER ? act->delete_after_days : 0;
        } else {
            snprintf(st->name, sizeof(st->name), "(unmatched)");
            st->mode = "none";
            st->original = "keep";
        }
    }
    {
        double var_total = 0, rlo_total = 0, rhi_total = 0, var_t[SIM_MAX_TIERS];
        int df = 0;
        for (int t = 0; t < c.ntiers; t++) {
            struct sim_tier *st = &res->tiers[t];
            double var = 0, rlo = 0, rhi = 0;
            for (int s = 0; s < NSTRATA; s++) {
                int h = t * NSTRATA + s;
                struct cell_est *ce = &c.est[h];
                double n0 = 0, best = 0;
                for (int i = 0; i < njobs; i++) {
                    n0 += jobs[i].cell_n0[h];
                    best += jobs[i].cell_best[h];
                }
                if (n0 <= 0)
                    continue;
                if (!ce->from_table && ce->n >= 2 && ce->distinct >= 2) {
                    double N = (double)(ce->big_n > 0 ? ce->big_n : 1), nn = ce->n;
                    double fpc = 1 - nn / N;
                    if (fpc < 0)
                        fpc = 0;
                    var += n0 * n0 * fpc / nn * (ce->sum_e2 / (nn - 1));
                    df += ce->n - 1;
                    st->sampled += ce->n;
                } else {
                    /* one sampled asset or none: the table's range */
                    const struct sim_ratio *sr =
                        sim_ratio_for(&o->policy->tiers[t].act.transcode,
                                      s / NSIZE == 9 ? "video" : "image", strata_formats[s / NSIZE]);
                    double r = ce->from_table ? sr->ratio : ce->ratio;
                    rlo += best * (r - (sr->lo < r ? sr->lo : r));
                    rhi += best * ((sr->hi > r ? sr->hi : r) - r);
                    st->table_cells++;
                    st->sampled += ce->n;
                }
            }
            var_total += var;
            rlo_total += rlo;
            rhi_total += rhi;
            /* the t half-width is added below, once df is known */
            st->bytes_after_lo = st->bytes_after - rlo;
            st->bytes_after_hi = st->bytes_after + rhi;
            var_t[t] = var;
        }
        res->df = df;
        res->t_quantile = t95(df);
        for (int t = 0; t < c.ntiers; t++) {
            struct sim_tier *st = &res->tiers[t];
            double hw = res->t_quantile * sqrt(var_t[t]);
            st->bytes_after_lo -= hw;
            st->bytes_after_hi += hw;
            if (st->bytes_after_lo < 0)
                st->bytes_after_lo = 0;
            if (st->bytes_after_hi > st->bytes_before)
                st->bytes_after_hi = st->bytes_before > st->bytes_after ? st->bytes_before : st->bytes_after;
            if (st->bytes_after_lo > st->bytes_after)
                st->bytes_after_lo = st->bytes_after;
            finish_tier(st);
            add_tier(&res->total, st);
            res->assets += st->assets;
        }
        snprintf(res->total.name, sizeof(res->total.name), "total");
        res->total.mode = "";
        res->total.original = "";
        double hw = res->t_quantile * sqrt(var_total);
        res->total.bytes_after_lo = res->total.bytes_after - rlo_total - hw;
        res->total.bytes_after_hi = res->total.bytes_after + rhi_total + hw;
        if (res->total.bytes_after_lo < 0)
            res->total.bytes_after_lo = 0;
        if (res->total.bytes_after_lo > res->total.bytes_after)
            res->total.bytes_after_lo = res->total.bytes_after;
        if (res->total.bytes_after_hi < res->total.bytes_after)
            res->total.bytes_after_hi = res->total.bytes_after;
        finish_tier(&res->total);
    }
    {
        double cum = 0;
        for (int k = 0; k < res->nmonths; k++) {
            struct sim_month *m = &res->months[k];
            for (int i = 0; i < njobs; i++) {
                const struct sim_month *jm = &jobs[i].months[k];
                m->bytes_stored += jm->bytes_stored;
                m->storage_usd += jm->storage_usd;
                m->retrieval_usd += jm->retrieval_usd;
                m->one_off_usd += jm->one_off_usd;
                m->baseline_usd += jm->baseline_usd;
                for (int t = 0; t < c.ntiers; t++) {
                    m->assets[t] += jm->assets[t];
                    m->bytes[t] += jm->bytes[t];
                }
            }
            cum += m->baseline_usd - m->storage_usd - m->retrieval_usd - m->one_off_usd;
            m->cumulative_saving_usd = cum;
        }
    }
    ret = 0;
fail:
    free_jobs(&c, jobs, njobs);
    tp_free(pool);
    tp_free(c.res);
    tp_free(c.est);
    if (ret < 0)
        sim_result_free(res);
    return ret;
}
