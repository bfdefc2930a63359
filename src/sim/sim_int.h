#ifndef TP_SRC_SIM_INT_H
#define TP_SRC_SIM_INT_H

/* Inside the simulator (see sim.h), shared by its parts:
 *   sim.c           the run: threads over id ranges, the two passes, totals
 *   sim_sample.c    pass 1 (the stratified sample, the census) and the
 *                   transcodes of the sample (the pipeline's transcode)
 *   sim_estimate.c  strata, the stated ratio table, the t quantiles
 *   sim_cost.c      pass 2: bytes and costs per asset and month */

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "codec.h"
#include "facts.h"
#include "sim.h"

#define DAY 86400
#define MONTH_DAYS 30
#define CENSUS_MAX 4096          /* distinct (blob, tier) pairs the census tracks */
#define NFMT (CODEC_MAX + 1)   /* strata by format: the registry's codecs, then "other" */
#define NSIZE 4
#define NPARTS 2                 /* strata apart for images with parts (components.h) */
#define NSTRATA (NFMT * NSIZE * NPARTS)
#define MAX_JOBS 16

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
    struct store *sink;       /* owned: the null store the sample is encoded into */
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
    int64_t pairs;            /* pass 2: Live Photo clips counted with their stills */
    struct catalog *cat;      /* the scan's catalog (borrowed): pair look-ups */
};

/* ---- small helpers ----------------------------------------------------- */

static inline uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static inline uint64_t blob_key(const char *hex)
{
    uint64_t k = 0;
    for (int i = 0; i < 16 && hex[i]; i++) {
        char ch = hex[i];
        k = k << 4 | (uint64_t)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
    }
    return k;
}

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int tier_transcodes(const struct policy *p, int t)
{
    return t >= 0 && t < p->ntiers && p->tiers[t].act.transcode.mode != POLICY_MODE_NONE;
}

static inline int already_replaced(const struct catalog_scan_row *r)
{
    return r->original_blob[0] && strcmp(r->original_blob, r->current_blob);
}

static inline const char *source_blob(const struct catalog_scan_row *r)
{
    return r->original_blob[0] ? r->original_blob : r->current_blob;
}

/* ---- sim_estimate.c ---------------------------------------------------- */

/* The stratum (format x size class x parts) of an asset; kinds is its
 * inventory's mask (0 when unknown). */
int sim_stratum_of(const char *kind, const char *format, double bytes, unsigned kinds);
/* The kind and format a stratum stands for (static strings), and whether
 * it holds images with parts. */
void sim_stratum_format(int s, const char **kind, const char **format, int *parts);
/* Two-sided 95% t quantile for df degrees of freedom. */
double sim_t95(int df);

/* ---- sim_sample.c ------------------------------------------------------ */

/* The tier (or c->unmatched) of facts f0 k months from now. */
int sim_match_at(const struct ctx *c, const struct asset_facts *f0, int k);
/* Counts e in the census of distinct (blob, tier). */
void sim_census_add(struct job *j, const struct sample_ent *e, int tier, int stratum);
/* catalog_asset_scan callback of pass 1 (ud: struct job). */
int sim_pass1_row(void *ud, const struct catalog_scan_row *r);
/* The result slot of (blob, tier) (found or claimed); c->res has room. */
struct result_ent *sim_result_slot(struct ctx *c, const char *blob, int tier);
/* The transcoded result of (blob, tier), or NULL. */
const struct result_ent *sim_result_find(const struct ctx *c, const char *blob, int tier);
/* Transcodes one blob as the runner would (into c->sink); fills re. */
int sim_transcode_one(struct ctx *c, int t, const char *kind, double bytes, struct result_ent *re);
/* qsort order of sample entries by key. */
int sim_cmp_key(const void *a, const void *b);

/* ---- sim_cost.c -------------------------------------------------------- */

/* catalog_asset_scan callback of pass 2 (ud: struct job). */
int sim_pass2_row(void *ud, const struct catalog_scan_row *r);

#endif /* TP_SRC_SIM_INT_H */
