#ifndef TP_SRC_TPLIMITS_H
#define TP_SRC_TPLIMITS_H

#include <stdint.h>

/* The process-wide resource limits every command starts from (a command's
 * own options, such as run --timeout, still override them).  Defaults are
 * today's built-in values; the home's config file (`limits:`) and the
 * environment change them:
 *
 *   limits:                      environment
 *     max_pixels: 100000000      TIERPRESS_MAX_PIXELS     per image, 1..2^40
 *     max_file_size: 1GiB        TIERPRESS_MAX_FILE_SIZE  per input file (B, KiB, MiB, GiB)
 *     time_limit: 600            TIERPRESS_TIME_LIMIT     seconds per job's child, 0 = none
 *     memory_limit: 8GiB         TIERPRESS_MEMORY_LIMIT   address space per job's child, 0 = none
 *
 * As for the backends, the environment fills in what the file leaves unset
 * (commands that need no home, info/convert/ssim/video, read the environment
 * only). */
struct tp_limits {
    uint64_t max_pixels;
    uint64_t max_file_bytes;
    int64_t seconds;
    uint64_t memory_bytes;
};

#define LIMITS_SET_PIXELS (1u << 0)
#define LIMITS_SET_FILE (1u << 1)
#define LIMITS_SET_TIME (1u << 2)
#define LIMITS_SET_MEMORY (1u << 3)

void tplimits_defaults(struct tp_limits *l);
/* Parses one value for key (a limits: key or its TIERPRESS_* variable name,
 * used in the message) into l; 0, or TP_ERR_INVALIDDATA naming key. */
int tplimits_parse(struct tp_limits *l, const char *key, const char *value);
/* Fills from TIERPRESS_* what `set` (LIMITS_SET_*) does not have. */
int tplimits_apply_env(struct tp_limits *l, unsigned set);
/* The process's limits: set once by main before a command runs; until
 * then (unit tests) the defaults. */
void tplimits_set(const struct tp_limits *l);
const struct tp_limits *tplimits_get(void);

#endif /* TP_SRC_TPLIMITS_H */
