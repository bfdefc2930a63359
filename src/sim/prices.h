#ifndef TP_SRC_PRICES_H
#define TP_SRC_PRICES_H

/* The price sheet the cost simulator uses: per storage class, the price
 * of a GB-month, of a GB retrieved, of 1000 requests, and the billing
 * rules (minimum billable object size, per-object overhead, minimum
 * storage duration); plus the compute price of a vCPU-hour.
 *
 * Use: prices_defaults(&p) (documented list prices, see prices/default.yaml),
 * then prices_load(&p, path) to override key by key.  Nothing outside
 * src/prices.c sees libyaml.
 *
 * Units: GB = 2^30 bytes, KB = 2^10 bytes (as AWS bills storage);
 * a month = 30 days for the pro-rated minimum-duration charges. */

#include <stddef.h>
#include <stdint.h>

#define PRICES_MAX_CLASSES 16
#define PRICES_MAX_BYTES   (1 << 20)
#define PRICES_GB          1073741824.0
#define PRICES_KB          1024.0

struct price_class {
    char name[24];                /* "STANDARD_IA" ([A-Z0-9_], 1..23 chars) */
    double storage_gb_month;      /* USD per GB-month, 0..1000 */
    double retrieval_gb;          /* USD per GB read back, 0..1000 */
    double requests_per_1000;     /* USD per 1000 PUT/COPY/lifecycle transitions, 0..1000 */
    double min_billable_kb;       /* objects smaller than this bill as this size, 0..1e6 */
    double overhead_kb;           /* per-object metadata billed at this class's rate, 0..1e6 */
    double overhead_standard_kb;  /* per-object metadata billed at STANDARD's rate, 0..1e6 */
    int min_storage_days;         /* deleting or moving earlier bills the rest, 0..3650 */
};

struct prices {
    char file[256];               /* where the overrides came from ("" = defaults only) */
    char source[240];             /* free text: where the numbers come from */
    char currency[8];             /* ISO 4217 code, default "USD": a label, never converted */
    double compute_vcpu_hour;     /* USD per vCPU-hour, 0..1000 */
    int nclasses;
    struct price_class classes[PRICES_MAX_CLASSES];
};

/* The documented defaults (AWS S3 list prices, us-east-1; see
 * prices/default.yaml for each number's source and date). */
void prices_defaults(struct prices *p);
/* Applies the YAML text's keys over p.  Errors: TP_ERR_INVALIDDATA with
 * tp_err_detail() = "name:line:col: message" (the first problem);
 * unknown keys, non-numbers, out-of-range values and unknown top-level
 * structure are all errors. */
int prices_parse(struct prices *p, const char *name, const char *text, size_t len);
/* Reads path (at most PRICES_MAX_BYTES) and prices_parse()s it. */
int prices_load(struct prices *p, const char *path);

/* The class named name, or NULL. Borrowed from p. */
const struct price_class *prices_find(const struct prices *p, const char *name);

/* Bytes billed for one stored object of `bytes` in class pc: max(bytes,
 * min_billable) + overhead_kb (at the class rate).  The STANDARD-rate
 * overhead is returned separately in *std_out (may be NULL). */
double prices_billable_bytes(const struct price_class *pc, double bytes, double *std_out);
/* USD per month to store one object of `bytes` in class pc (including the
 * STANDARD-rate overhead at std's price; std may be NULL). */
double prices_object_month(const struct prices *p, const struct price_class *pc, double bytes);

#endif /* TP_SRC_PRICES_H */
