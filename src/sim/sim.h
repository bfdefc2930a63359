#ifndef TP_SRC_SIM_H
#define TP_SRC_SIM_H

/* The policy dry-run: what a policy would do to the catalog, in bytes and
 * dollars, without writing anything.  Streams the catalog (read-only,
 * constant memory, `jobs` threads over id ranges), evaluates the policy
 * per asset, really transcodes a stratified seeded sample of originals in
 * memory (transcode_asset into the null store: the batch runner's own
 * encode) and extrapolates per stratum with a ratio estimator and a confidence
 * interval.  The model and its assumptions: sim_assumptions[] and
 * `tierpress simulate --help`. */

#include <stdint.h>

#include "policy.h"
#include "prices.h"

struct store;

#define SIM_MAX_TIERS  (POLICY_MAX_TIERS + 1) /* + the "unmatched" row */
#define SIM_MAX_MONTHS 120
#define SIM_MAX_SAMPLE 5000

struct sim_opts {
    const struct policy *policy;  /* borrowed */
    const struct prices *prices;  /* borrowed */
    const char *catalog_uri;      /* opened read-only (catalog_open), once per job */
    struct store *store;          /* borrowed; sampled blobs are read verified from it */
    int64_t now;                  /* evaluation time (unix seconds), required */
    int months;                   /* projection length 0..120 (default 12) */
    int sample;                   /* assets to transcode 0..5000 (default 50); 0 = ratio table */
    uint64_t seed;                /* sampling seed (default 1) */
    int jobs;                     /* scan threads 1..16 (default 2) */
    double budget_cpu;            /* CPU seconds for the sample's transcodes, 0 = no bound:
                                     once spent, the cells not yet sampled use the ratio
                                     table (the exhaustive census is not cut) */
    /* Optional progress report (called from the calling thread or scan
     * thread 0; stage is static text). */
    void (*progress)(void *ud, const char *stage, int64_t done, int64_t total);
    void *progress_ud;
};

void sim_opts_defaults(struct sim_opts *o);

enum sim_method {
    SIM_METHOD_NONE = 0,    /* no tier transcodes: nothing to estimate */
    SIM_METHOD_EXACT = 1,   /* every distinct (blob, tier) was transcoded */
    SIM_METHOD_SAMPLE = 2,  /* stratified sample, ratio estimator */
    SIM_METHOD_TABLE = 3,   /* --sample 0: the ratio table */
};

/* A cheaper way to the same tier, priced beside a flagged tier (issue #15):
 * SIM_ALT_CLASS moves the assets to the tier's class unchanged; SIM_ALT_LOSSLESS
 * also recompresses the JPEGs byte-exactly to JPEG XL (sim_ratio_table[0], the
 * original reconstructible, so not held), other formats keep their bytes. */
enum { SIM_ALT_CLASS = 0, SIM_ALT_LOSSLESS = 1, SIM_NALT = 2 };

struct sim_alt {
    double bytes_after;
    double compute_usd;           /* 0 for class only */
    double one_off_usd;           /* compute + early deletion + requests */
    double month_usd;             /* storage + retrieval after, per month */
    double saving_month;          /* tier's (storage + retrieval) now - month_usd */
    double payback_months;        /* as sim_tier's: < 0 = never */
};
extern const char *const sim_alt_kind[SIM_NALT]; /* "class_only", "lossless" */

/* One tier's row (month 0: right after the run).  Byte figures are bytes;
 * money is USD; "month" figures are per 30 days. */
struct sim_tier {
    char name[POLICY_NAME_MAX];   /* "(unmatched)" for the last row */
    char storage_class[24];       /* the tier's class ("" for unmatched: unchanged) */
    const char *mode;             /* "none", "lossless", "lossy" (static) */
    const char *original;         /* "keep", "delete_after", "never_delete" (static) */
    int grace_days;
    int64_t assets;
    double bytes_before;          /* what the assets point at now */
    double bytes_after;           /* what they point at after the run (estimate) */
    double bytes_after_lo, bytes_after_hi; /* its confidence interval */
    double swapped;               /* expected number of assets replaced */
    double originals_kept_bytes;  /* originals kept for good next to a replacement */
    double grace_bytes;           /* originals held during the grace, then deleted */
    double megapixels;
    double jpeg_bytes;            /* the JPEG originals' bytes among bytes_before */
    double jpeg_megapixels;
    struct sim_alt alt[SIM_NALT]; /* priced for every tier; shown when flagged */
    double cost_before_month;     /* storage now */
    double cost_after_month;      /* storage after (steady state: past the grace) */
    double retrieval_gb_month;    /* 30-day access count x bytes */
    double retrieval_before_month, retrieval_after_month;
    double compute_cpu_hours, compute_usd;
    double early_delete_usd;      /* minimum-duration charges */
    double requests_usd;          /* PUT/transition requests */
    double grace_usd;             /* storing the originals during the grace */
    double one_off_usd;           /* compute + early deletion + requests + grace */
    double saving_month;          /* (storage + retrieval) before - after */
    double payback_months;        /* one_off / saving; < 0 = never (no saving) */
    int payback_flagged;          /* payback above the --max-payback threshold (or never,
                                     with a one-off cost): set by the caller, sim_flag_payback */
    int sampled;                  /* sampled assets in this tier's strata */
    int table_cells;              /* strata estimated from the ratio table */
};

struct sim_month {
    double bytes_stored;          /* representations + originals still held */
    double storage_usd, retrieval_usd, one_off_usd;
    double baseline_usd;          /* doing nothing: storage + retrieval as now */
    double cumulative_saving_usd; /* sum over months so far of baseline - cost */
    int64_t assets[SIM_MAX_TIERS];
    double bytes[SIM_MAX_TIERS];
};

struct sim_result {
    int ntiers;                   /* policy tiers + 1: the last row is "(unmatched)" */
    struct sim_tier tiers[SIM_MAX_TIERS];
    struct sim_tier total;        /* sums; payback from the sums */
    int nmonths;                  /* months + 1 rows: month 0 = right after the run */
    struct sim_month *months;     /* owned */
    int64_t assets;               /* a Live Photo (still + clip) counts once */
    int64_t pairs;                /* Live Photo / motion photo pairs: each clip is in its
                                     still's tier, its bytes with the still's */
    enum sim_method method;
    int sampled_assets;           /* assets in the sample */
    int transcoded;               /* distinct (blob, tier) pairs transcoded */
    int transcode_failures;       /* blobs that could not be read/decoded: counted as kept */
    int census_complete;          /* the distinct-blob census fit in memory */
    double ci_level;              /* 0.95 */
    int df;                       /* degrees of freedom of the t quantile */
    double t_quantile;
    double cpu_seconds_sampled;   /* measured encode + verify CPU of the sample */
    int budget_reached;           /* --budget-cpu stopped the sample's transcodes */
    double scan_seconds, transcode_seconds;
    int64_t now;
    uint64_t seed;
    int months_requested, sample_requested;
};

/* Runs the simulation.  res is filled (free with sim_result_free) on
 * success; nothing is written to the catalog or the store. */
int sim_run(const struct sim_opts *o, struct sim_result *res);
void sim_result_free(struct sim_result *res);

/* The stated per-asset ratio (bytes after / bytes before) used with
 * --sample 0 and for strata the sample did not reach. */
struct sim_ratio {
    double ratio, lo, hi;         /* expected, and the range used for the interval */
    double cpu_s_per_mp;          /* encode + verify CPU seconds per megapixel */
    const char *source;           /* where the numbers come from */
};
const struct sim_ratio *sim_ratio_for(const struct policy_transcode *t, const char *kind,
                                      const char *format);
/* The same for an image with parts no pixel encode carries (parts != 0:
 * its inventory has a kind of COMP_BITSTREAM_KINDS), as the pipeline's
 * components rule decides: a JPEG takes the byte-exact JPEG XL
 * recompression when its expected saving meets the tier's min_saving, else
 * (and any other format) it keeps its original. */
const struct sim_ratio *sim_ratio_for_parts(const struct policy_transcode *t, const char *kind,
                                            const char *format, int parts);

/* Sets payback_flagged on the tiers (and the total) whose payback exceeds
 * max_months, or that cost a one-off and never pay it back. */
void sim_flag_payback(struct sim_result *r, double max_months);

/* CPU seconds per megapixel the table predicts for tier settings t (row sr):
 * for lossy rows the bench figure of each codec searched, summed. */
double sim_cpu_s_per_mp(const struct policy_transcode *t, const struct sim_ratio *sr);

/* The model's assumptions, one sentence each; NULL-terminated. */
extern const char *const sim_assumptions[];
extern const struct sim_ratio sim_ratio_table[];
extern const int sim_ratio_table_len;

#endif /* TP_SRC_SIM_H */
