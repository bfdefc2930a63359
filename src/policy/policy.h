#ifndef TP_SRC_POLICY_H
#define TP_SRC_POLICY_H

/* The tiered policy: a YAML file (grammar in policies/README.md) parsed
 * into tiers, each a set of conditions and the actions for assets that
 * meet them.  Tiers are tried in order; the first whose conditions all
 * hold wins; an asset matching none is "unmatched" and left as it is.
 *
 * Use: policy_defaults(&p); policy_parse(&p, ...); policy_validate(&p);
 * (policy_load() does all three from a file), then policy_match() per
 * asset; policy_free(&p) at the end.  Nothing outside src/policy*.c sees
 * libyaml. */

#include <stddef.h>
#include <stdint.h>

#define POLICY_VERSION_MAJOR 1
#define POLICY_MAX_BYTES     (1 << 20) /* a policy file is at most 1 MiB */
#define POLICY_MAX_TIERS     64
#define POLICY_MAX_CODECS    8
#define POLICY_MAX_PROXIES   8
#define POLICY_MAX_FORMATS   16
#define POLICY_NAME_MAX      32        /* tier/proxy names: 1..31 chars [A-Za-z0-9_-] */
#define POLICY_MAX_DIAGS     50        /* errors + warnings kept per file */

/* Where a key or value was written (1-based; 0 = nowhere, e.g. a default). */
struct policy_loc {
    int line, col;
};

/* An error or warning found while parsing or validating. */
struct policy_diag {
    struct policy_loc loc;
    int warning;            /* 0: error, 1: warning (the policy still loads) */
    char msg[240];
};

/* An inclusive integer range; absent bounds are INT64_MIN / INT64_MAX. */
struct policy_range {
    int64_t min, max;
};

/* Bits of struct policy_cond.set: which conditions a tier has. */
enum policy_cond_bit {
    POLICY_COND_AGE = 1 << 0,          /* age_days */
    POLICY_COND_IDLE = 1 << 1,         /* days_since_access / accessed_within_days */
    POLICY_COND_ACCESS_COUNT = 1 << 2, /* access_count */
    POLICY_COND_FORMAT = 1 << 3,
    POLICY_COND_KIND = 1 << 4,
    POLICY_COND_BYTES = 1 << 5,
    POLICY_COND_MEGAPIXELS = 1 << 6,
    POLICY_COND_CAPTURE_KNOWN = 1 << 7, /* capture_time_known */
    POLICY_COND_HAS = 1 << 8,          /* has: component kinds (components.h) */
    POLICY_COND_NEAR_DUP = 1 << 9,     /* near_duplicate */
    POLICY_COND_HEALTH = 1 << 10,      /* health: metadata problems */
};

/* The metadata problems of `tierpress health` that the catalog alone tells
 * (condition 'health'; names in policy_health_names[]). */
enum policy_health {
    POLICY_HEALTH_NO_CAPTURE_TIME = 1 << 0, /* none known */
    POLICY_HEALTH_IMPLAUSIBLE_TIME = 1 << 1, /* 1970-01-01, future, < 1990 on a phone,
                                              * a camera's default date */
    POLICY_HEALTH_GPS_INVALID = 1 << 2,      /* imported location at 0,0 or out of range */
    POLICY_HEALTH_TIME_CONFLICT = 1 << 3,    /* the same content under another time */
};
extern const char *const policy_health_names[]; /* by bit, NULL-terminated */

enum policy_kind {
    POLICY_KIND_IMAGE = 1 << 0,
    POLICY_KIND_VIDEO = 1 << 1,
};

/* A tier's `match:` block.  All conditions present must hold. */
struct policy_cond {
    unsigned set;                      /* POLICY_COND_* present; 0 = matches everything */
    struct policy_range age_days;      /* days since capture (else upload), 0..36500 */
    struct policy_range idle_days;     /* days since last access (else upload), 0..36500 */
    int count_window;                  /* 30, 90 or 365 (default 90) */
    struct policy_range access_count;  /* accesses within count_window, 0..1e9 */
    int nformats;
    char formats[POLICY_MAX_FORMATS][16]; /* canonical names: "jpeg", "heif", ... */
    unsigned kinds;                    /* POLICY_KIND_* */
    struct policy_range bytes;         /* 0..2^50 */
    double mp_min, mp_max;             /* megapixels, 0..10000; absent: 0 / HUGE_VAL */
    int capture_known;                 /* capture_time_known: 1 true, 0 false */
    unsigned has;                      /* has: every kind (1 << enum comp_kind) must be present */
    int near_duplicate;                /* true: a near-duplicate that is not its group's
                                        * keeper (src/pipeline/neardup.h); false: not that */
    unsigned health;                   /* health: any of these POLICY_HEALTH_* problems */
    struct policy_loc loc;             /* the match: mapping (or the tier) */
};

enum policy_mode {
    POLICY_MODE_NONE = 0,     /* leave the original's bytes as they are */
    POLICY_MODE_LOSSLESS = 1, /* bit-exact: JPEG->JXL recompression, else a lossless encode */
    POLICY_MODE_LOSSY = 2,    /* the smallest candidate meeting the SSIM floors */
};

enum policy_original {
    POLICY_ORIGINAL_KEEP = 0,         /* keep the original next to the replacement */
    POLICY_ORIGINAL_DELETE_AFTER = 1, /* delete delete_after_days after a verified swap */
    POLICY_ORIGINAL_NEVER_DELETE = 2, /* keep, and pin: no later policy may delete it */
};

/* Bits of policy_transcode.set: which keys were written (defaults: or tier). */
enum policy_tc_bit {
    POLICY_TC_MODE = 1 << 0, POLICY_TC_CODECS = 1 << 1, POLICY_TC_SSIM = 1 << 2,
    POLICY_TC_TILE = 1 << 3, POLICY_TC_CHROMA = 1 << 4, POLICY_TC_EFFORT = 1 << 5,
    POLICY_TC_SUBSAMPLING = 1 << 6, POLICY_TC_MIN_SAVING = 1 << 7, POLICY_TC_META = 1 << 8,
    POLICY_TC_BUTTERAUGLI = 1 << 9, POLICY_TC_CPU = 1 << 10,
};

/* Keep-mask for metadata in a transcode (matches META_KEEP_* semantics). */
enum policy_meta {
    POLICY_META_EXIF = 1 << 0,
    POLICY_META_XMP = 1 << 1,
    POLICY_META_ICC = 1 << 2,
    POLICY_META_ALL = 7,
};

struct policy_transcode {
    unsigned set;             /* POLICY_TC_* written explicitly */
    enum policy_mode mode;    /* default none */
    int ncodecs;              /* lossy: 1..8 required; lossless: default {jxl} */
    char codecs[POLICY_MAX_CODECS][16]; /* candidates, in preference order */
    double ssim;              /* mean luma SSIM floor, 0.9..1.0 (default 0.997) */
    double tile_ssim;         /* min over 64x64 tiles, 0.5..ssim (default 1-5/3(1-ssim)) */
    double chroma_ssim;       /* mean Cb/Cr SSIM floor, 0.5..1.0 (default 1-5(1-ssim)) */
    int effort;               /* encoder effort 0..9 (default 7) */
    int subsampling;          /* 0 = auto (default), 420, 422, 444 */
    double min_saving;        /* 0..0.9 fraction of the original's bytes (default 0.05) */
    unsigned keep_meta;       /* POLICY_META_* (default all) */
    double butteraugli_max;   /* lossy: ceiling on the final output's Butteraugli max-norm
                                 distance, 0.1..10; 0 = not checked (default) */
    double max_cpu_s_per_mp;  /* lossy: the search's CPU budget per megapixel, 0.01..1000;
                                 0 = none (default) */
    struct policy_loc loc;    /* the transcode: mapping */
};

struct policy_proxy {
    char name[POLICY_NAME_MAX];
    int max_edge;             /* 16..16384 pixels, required */
    char format[16];          /* a codec that can encode, required */
    int quality;              /* 1..100 (default 80) */
    struct policy_loc loc;
};

/* What happens to assets in a tier. */
struct policy_actions {
    int nproxies;             /* default none; a tier's list replaces the defaults' */
    struct policy_proxy proxies[POLICY_MAX_PROXIES];
    struct policy_transcode transcode; /* merged key by key over defaults: */
    enum policy_original original;     /* default keep */
    int delete_after_days;             /* 0..36500, when original = DELETE_AFTER */
    char storage_class[24];            /* default "STANDARD" */
    struct policy_loc loc_original, loc_storage;
};

struct policy_tier {
    char name[POLICY_NAME_MAX];
    char description[160];
    struct policy_cond match;
    struct policy_actions act;
    struct policy_loc loc;    /* the tier's list item */
};

struct policy {
    char file[256];           /* the name used in messages */
    char description[240];
    int version_major, version_minor;
    struct policy_actions defaults;
    int ntiers;
    struct policy_tier *tiers;  /* owned; POLICY_MAX_TIERS entries */
    int ndiags, nerrors, nwarnings;
    struct policy_diag *diags;  /* owned; POLICY_MAX_DIAGS entries */
};

/* Sets p to an empty policy (no tiers) with the documented defaults. */
void policy_defaults(struct policy *p);
/* Parses YAML text (len bytes) into p.  name is used in messages (the file
 * path).  Every problem is recorded in p->diags; returns 0, or
 * TP_ERR_INVALIDDATA when there was at least one error (tp_err_detail()
 * then holds the first, as "name:line:col: message"), or TP_ERR(ENOMEM). */
int policy_parse(struct policy *p, const char *name, const char *text, size_t len);
/* Cross-checks p after parsing: impossible ranges, codecs that do not
 * exist or cannot encode, unreachable tiers, ...  Same return convention. */
int policy_validate(struct policy *p);
/* policy_defaults + file_read + policy_parse + policy_validate.  On error
 * p still holds the diagnostics; free with policy_free() in every case. */
int policy_load(struct policy *p, const char *path);
/* Releases what p owns; p is left empty.  Accepts a zeroed p. */
void policy_free(struct policy *p);

/* Formats diagnostic i as "file:line:col: [warning: ]message" into buf. */
const char *policy_diag_format(const struct policy *p, int i, char *buf, size_t len);

/* Known S3 storage classes, NULL-terminated. */
extern const char *const policy_storage_classes[];
const char *policy_mode_name(enum policy_mode m);
const char *policy_original_name(enum policy_original o);

/* ---- evaluation (policy_eval.c) ---------------------------------------- */

/* What the evaluator knows about one asset.  The catalog fills this from an
 * asset row; `policy explain` also from a file (asset_facts_from_media) or
 * a --facts string.  Times are unix seconds. */
struct asset_facts {
    char kind[8];             /* "image" or "video" */
    char format[16];          /* codec name as probe_media reports it: "jpeg", "heif", ... */
    uint64_t bytes;           /* the original's size */
    int width, height;        /* pixels as stored */
    int64_t capture_time;     /* 0 = unknown: age falls back to upload_time */
    int64_t upload_time;      /* when it entered the catalog */
    int64_t last_access;      /* 0 = never: idle time counts from upload_time */
    int64_t count_30d, count_90d, count_365d; /* accesses in the last 30/90/365 days */
    unsigned components;      /* kinds of parts present (1 << enum comp_kind, components.h) */
    int components_known;     /* 0: no inventory (ingested before inventories existed) */
    int near_duplicate;       /* 1: in a near-duplicate group, not its keeper */
    /* for the condition 'health' (catalog metadata, as `tierpress health`) */
    int phone;                /* the camera make is a phone maker's */
    int has_location;         /* an imported location (asset_meta) */
    double latitude, longitude;
    int time_conflict;        /* the same content came with another capture time */
};

#define POLICY_MAX_CHECKS 12

/* One condition as evaluated for explain. */
struct policy_check {
    const char *key;          /* "age_days", "format", ... (static) */
    int ok;
    char text[112];           /* "age_days = 400 (since capture), needs >= 365" */
};

struct policy_verdict {
    int matched;              /* every condition held */
    int shadowed;             /* matched, but an earlier tier won */
    int nchecks;
    struct policy_check checks[POLICY_MAX_CHECKS];
};

/* Values derived from the facts at time `now`. */
struct policy_derived {
    int64_t age_days;         /* >= 0 (times in the future count as 0) */
    int age_from_capture;     /* 1: capture_time, 0: upload_time */
    int64_t idle_days;        /* days since last access (or upload if never) */
    int never_accessed;
    double megapixels;
    /* a trustworthy capture time: known, not 1970-01-01 (a clock never
     * set), not more than a day after now */
    int capture_known;
    unsigned health;          /* POLICY_HEALTH_* problems of the asset */
};

struct policy_match {
    int tier;                     /* index of the winning tier, or -1 */
    struct policy_derived d;
    /* Explain mode: when not NULL, an array of p->ntiers the evaluator fills
     * with every tier's verdict (all conditions evaluated, no short cut).
     * Borrowed from the caller. */
    struct policy_verdict *verdicts;
};

/* Returns the index of the first tier whose conditions hold for a at time
 * now, or -1 (unmatched).  out may be NULL; out->verdicts as above.
 * Thread-safe; p is not modified. */
int policy_match(const struct policy *p, const struct asset_facts *a, int64_t now,
                 struct policy_match *out);

struct media_info;
/* Fills a from probe_media()'s result, with upload_time = last access
 * unknown (0), counts 0, and capture_time from the EXIF date (0 if none). */
void asset_facts_from_media(struct asset_facts *a, const struct media_info *mi,
                            int64_t upload_time);
/* Parses "key=value,key=value" overrides into a (keys: kind, format,
 * bytes, width, height, capture, upload, access, count_30d, count_90d,
 * count_365d).  Times accept time_parse() forms, "-Nd" (N days before now)
 * and, for access and capture, "never"/"none".  Errors name the key. */
int asset_facts_parse(struct asset_facts *a, const char *spec, int64_t now);

#endif /* TP_SRC_POLICY_H */
