/* Process-wide resource limits: defaults, config file values, environment. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tplimits.h"

static struct tp_limits current;
static int current_set;

void tplimits_defaults(struct tp_limits *l)
{
    l->max_pixels = 100000000;
    l->max_file_bytes = 1ull << 30;
    l->seconds = 600;
    l->memory_bytes = 8ull << 30;
}

static int parse_u64(const char *key, const char *s, int sized, uint64_t lo, uint64_t hi,
                     uint64_t *out)
{
    static const struct { const char *unit; uint64_t mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KiB", 1ull << 10 }, { "MiB", 1ull << 20 }, { "GiB", 1ull << 30 },
        { "TiB", 1ull << 40 }, { "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
    };
    char *end;
    RETURN_ERR_IF(!s || !isdigit((unsigned char)*s), TP_ERR_INVALIDDATA,
                  "%s: expected %s, got '%.40s'", key, sized ? "a size (bytes, or KiB/MiB/GiB)"
                                                             : "a whole number", s ? s : "");
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < (sized ? TP_ARRAY_SIZE(units) : 1); i++) {
        if (strcmp(end, units[i].unit))
            continue;
        RETURN_ERR_IF(errno || v > hi / units[i].mul || v * units[i].mul < lo, TP_ERR_INVALIDDATA,
                      "%s: '%.40s' is out of range (%llu..%llu)", key, s,
                      (unsigned long long)lo, (unsigned long long)hi);
        *out = v * units[i].mul;
        return 0;
    }
    RETURN_ERR_IF(1, TP_ERR_INVALIDDATA, "%s: '%.40s': %s", key, s,
                  sized ? "unknown unit (expected B, KiB, MiB, GiB)" : "expected a whole number");
}

static int key_is(const char *key, const char *yaml, const char *env)
{
    return !strcmp(key, yaml) || !strcmp(key, env);
}

int tplimits_parse(struct tp_limits *l, const char *key, const char *value)
{
    uint64_t v;
    if (key_is(key, "max_pixels", "TIERPRESS_MAX_PIXELS")) {
        FORWARD_ERR(parse_u64(key, value, 0, 1, 1ull << 40, &v));
        l->max_pixels = v;
    } else if (key_is(key, "max_file_size", "TIERPRESS_MAX_FILE_SIZE")) {
        FORWARD_ERR(parse_u64(key, value, 1, 1, 1ull << 40, &v));
        l->max_file_bytes = v;
    } else if (key_is(key, "time_limit", "TIERPRESS_TIME_LIMIT")) {
        FORWARD_ERR(parse_u64(key, value, 0, 0, 7 * 86400, &v));
        l->seconds = (int64_t)v;
    } else if (key_is(key, "memory_limit", "TIERPRESS_MEMORY_LIMIT")) {
        FORWARD_ERR(parse_u64(key, value, 1, 0, 1ull << 44, &v));
        RETURN_ERR_IF(v && v < (64ull << 20), TP_ERR_INVALIDDATA,
                      "%s: '%.40s' is below 64 MiB (0 = no limit)", key, value);
        l->memory_bytes = v;
    } else {
        RETURN_ERR_IF(1, TP_ERR_INVALIDDATA, "unknown key '%s' in limits (expected one of: "
                      "max_pixels, max_file_size, time_limit, memory_limit)", key);
    }
    return 0;
}

int tplimits_apply_env(struct tp_limits *l, unsigned set)
{
    static const struct { const char *var; unsigned bit; } vars[] = {
        { "TIERPRESS_MAX_PIXELS", LIMITS_SET_PIXELS },
        { "TIERPRESS_MAX_FILE_SIZE", LIMITS_SET_FILE },
        { "TIERPRESS_TIME_LIMIT", LIMITS_SET_TIME },
        { "TIERPRESS_MEMORY_LIMIT", LIMITS_SET_MEMORY },
    };
    for (size_t i = 0; i < TP_ARRAY_SIZE(vars); i++) {
        const char *v = getenv(vars[i].var);
        if (v && *v && !(set & vars[i].bit))
            FORWARD_ERR(tplimits_parse(l, vars[i].var, v));
    }
    return 0;
}

void tplimits_set(const struct tp_limits *l)
{
    current = *l;
    current_set = 1;
}

const struct tp_limits *tplimits_get(void)
{
    if (!current_set) {
        tplimits_defaults(&current);
        current_set = 1;
    }
    return &current;
}
