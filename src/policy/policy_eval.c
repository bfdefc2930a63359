/* The evaluator: which tier an asset falls in, and (explain mode) why. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "components.h"
#include "err.h"
#include "policy.h"
#include "probe.h"
#include "timeutil.h"

static int in_range(const struct policy_range *r, int64_t v)
{
    return v >= r->min && v <= r->max;
}

/* "needs >= 365", "needs <= 30", "needs 1..200" */
static void range_text(char *buf, size_t len, const struct policy_range *r)
{
    if (r->min != INT64_MIN && r->max != INT64_MAX)
        snprintf(buf, len, "needs %" PRId64 "..%" PRId64, r->min, r->max);
    else if (r->min != INT64_MIN)
        snprintf(buf, len, "needs >= %" PRId64, r->min);
    else
        snprintf(buf, len, "needs <= %" PRId64, r->max);
}

static void derive(const struct asset_facts *a, int64_t now, struct policy_derived *d)
{
    int64_t born = a->capture_time ? a->capture_time : a->upload_time;
    int64_t seen = a->last_access ? a->last_access : a->upload_time;
    d->age_from_capture = a->capture_time != 0;
    d->age_days = time_days_between(born, now);
    if (d->age_days < 0)
        d->age_days = 0;
    d->never_accessed = a->last_access == 0;
    d->idle_days = time_days_between(seen, now);
    if (d->idle_days < 0)
        d->idle_days = 0;
    d->megapixels = (double)a->width * (double)a->height / 1e6;
    d->capture_known = a->capture_time != 0 && (a->capture_time < 0 || a->capture_time >= 86400) &&
                       a->capture_time <= now + 86400;
    d->health = 0;
    if (!a->capture_time) {
        d->health |= POLICY_HEALTH_NO_CAPTURE_TIME;
    } else {
        /* as src/pipeline/health.c's check_time, on the UTC instant */
        time_t t = (time_t)a->capture_time;
        struct tm tm;
        int dflt = 0, y = 9999;
        if (gmtime_r(&t, &tm)) {
            y = tm.tm_year + 1900;
            dflt = tm.tm_mon == 0 && tm.tm_mday == 1 && tm.tm_hour == 0 && tm.tm_min == 0 &&
                   (y == 1980 || y == 2000 || y == 2001 || y == 2002);
        }
        if (!d->capture_known || (y < 1990 && a->phone) || dflt)
            d->health |= POLICY_HEALTH_IMPLAUSIBLE_TIME;
    }
    if (a->has_location && ((a->latitude == 0 && a->longitude == 0) || a->latitude < -90 ||
                            a->latitude > 90 || a->longitude < -180 || a->longitude > 180))
        d->health |= POLICY_HEALTH_GPS_INVALID;
    if (a->time_conflict)
        d->health |= POLICY_HEALTH_TIME_CONFLICT;
}

static void health_text(char *buf, size_t size, unsigned mask)
{
    size_t n = 0;
    buf[0] = 0;
    for (int k = 0; policy_health_names[k] && n < size; k++)
        if (mask & (1u << k))
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                                  policy_health_names[k]);
}

static int64_t count_in(const struct asset_facts *a, int window)
{
    return window == 30 ? a->count_30d : window == 365 ? a->count_365d : a->count_90d;
}

static unsigned kind_bit(const char *kind)
{
    return !strcmp(kind, "image") ? POLICY_KIND_IMAGE
           : !strcmp(kind, "video") ? POLICY_KIND_VIDEO : 0;
}

/* "gain_map, motion" for a mask of component kinds. */
static void kinds_text(char *buf, size_t size, unsigned mask)
{
    size_t n = 0;
    buf[0] = 0;
    for (int k = 0; k < COMP_NKINDS && n < size; k++)
        if (mask & (1u << k))
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                                  components_kind_name((enum comp_kind)k));
}

/* Records one check in explain mode. */
__attribute__((format(printf, 4, 5)))
static void note(struct policy_verdict *v, const char *key, int ok, const char *fmt, ...)
{
    va_list ap;
    if (!v || v->nchecks >= POLICY_MAX_CHECKS)
        return;
    struct policy_check *c = &v->checks[v->nchecks++];
    c->key = key;
    c->ok = ok;
    va_start(ap, fmt);
    vsnprintf(c->text, sizeof(c->text), fmt, ap);
    va_end(ap);
}

/* Evaluates a tier's conditions.  Without v, stops at the first failure. */
static int tier_matches(const struct policy_cond *m, const struct asset_facts *a,
                        const struct policy_derived *d, struct policy_verdict *v)
{
    char need[64];
    int all = 1, ok;
    if (v) {
        v->nchecks = 0;
        if (!m->set)
            note(v, "match", 1, "no conditions: matches every asset");
    }
    if (m->set & POLICY_COND_AGE) {
        ok = in_range(&m->age_days, d->age_days);
        if (v)
            range_text(need, sizeof(need), &m->age_days);
        note(v, "age_days", ok, "age_days = %" PRId64 " (since %s), %s", d->age_days,
             d->age_from_capture ? "capture" : "upload", need);
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_IDLE) {
        ok = in_range(&m->idle_days, d->idle_days);
        if (v)
            range_text(need, sizeof(need), &m->idle_days);
        note(v, "days_since_access", ok, "days_since_access = %" PRId64 "%s, %s", d->idle_days,
             d->never_accessed ? " (never accessed: since upload)" : "", need);
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_ACCESS_COUNT) {
        int64_t n = count_in(a, m->count_window);
        ok = in_range(&m->access_count, n);
        if (v)
            range_text(need, sizeof(need), &m->access_count);
        note(v, "access_count", ok, "accesses in the last %d days = %" PRId64 ", %s",
             m->count_window, n, need);
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_FORMAT) {
        char list[160] = "";
        size_t len = 0;
        ok = 0;
        for (int i = 0; i < m->nformats; i++) {
            if (!strcmp(a->format, m->formats[i]))
                ok = 1;
            if (v && len < sizeof(list))
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                                        m->formats[i]);
        }
        note(v, "format", ok, "format = %s, needs one of [%s]", a->format[0] ? a->format : "?",
             list);
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_KIND) {
        ok = (kind_bit(a->kind) & m->kinds) != 0;
        note(v, "kind", ok, "kind = %s, needs %s", a->kind[0] ? a->kind : "?",
             m->kinds == (POLICY_KIND_IMAGE | POLICY_KIND_VIDEO) ? "image or video"
             : m->kinds & POLICY_KIND_IMAGE ? "image" : "video");
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_BYTES) {
        ok = a->bytes <= INT64_MAX && in_range(&m->bytes, (int64_t)a->bytes);
        if (v)
            range_text(need, sizeof(need), &m->bytes);
        note(v, "bytes", ok, "bytes = %" PRIu64 ", %s", a->bytes, need);
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_MEGAPIXELS) {
        ok = d->megapixels >= m->mp_min && d->megapixels <= m->mp_max;
        if (!v)
            ;
        else if (isinf(m->mp_max))
            snprintf(need, sizeof(need), "needs >= %g", m->mp_min);
        else if (m->mp_min > 0)
            snprintf(need, sizeof(need), "needs %g..%g", m->mp_min, m->mp_max);
        else
            snprintf(need, sizeof(need), "needs <= %g", m->mp_max);
        note(v, "megapixels", ok, "megapixels = %.2f (%dx%d), %s", d->megapixels, a->width,
             a->height, need);
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_CAPTURE_KNOWN) {
        ok = d->capture_known == m->capture_known;
        note(v, "capture_time_known", ok, "capture_time_known = %s (%s), needs %s",
             d->capture_known ? "true" : "false",
             !a->capture_time ? "no capture time: age counts from upload"
             : d->capture_known ? "from the catalog" : "untrusted: 1970-01-01 or in the future",
             m->capture_known ? "true" : "false");
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_HAS) {
        ok = a->components_known && (a->components & m->has) == m->has;
        if (v) {
            char have[96], want[96];
            kinds_text(have, sizeof(have), a->components);
            kinds_text(want, sizeof(want), m->has);
            if (a->components_known)
                note(v, "has", ok, "parts = [%s], needs [%s]", have, want);
            else
                note(v, "has", ok, "parts unknown (no inventory), needs [%s]", want);
        }
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_NEAR_DUP) {
        ok = !!a->near_duplicate == m->near_duplicate;
        note(v, "near_duplicate", ok, "near_duplicate = %s (%s), needs %s",
             a->near_duplicate ? "true" : "false",
             a->near_duplicate ? "another copy is the keeper" : "a keeper or in no group",
             m->near_duplicate ? "true" : "false");
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    if (m->set & POLICY_COND_HEALTH) {
        ok = (d->health & m->health) != 0;
        if (v) {
            char have[96], want[96];
            health_text(have, sizeof(have), d->health);
            health_text(want, sizeof(want), m->health);
            note(v, "health", ok, "health = [%s], needs any of [%s]", have, want);
        }
        if (!ok && !v)
            return 0;
        all &= ok;
    }
    return all;
}

int policy_match(const struct policy *p, const struct asset_facts *a, int64_t now,
                 struct policy_match *out)
{
    struct policy_derived d;
    struct policy_verdict *verdicts = out ? out->verdicts : NULL;
    int winner = -1;
    derive(a, now, &d);
    for (int i = 0; i < p->ntiers; i++) {
        struct policy_verdict *v = verdicts ? &verdicts[i] : NULL;
        int ok = tier_matches(&p->tiers[i].match, a, &d, v);
        if (v) {
            v->matched = ok;
            v->shadowed = ok && winner >= 0;
        }
        if (ok && winner < 0) {
            winner = i;
            if (!verdicts)
                break;
        }
    }
    if (out) {
        out->tier = winner;
        out->d = d;
    }
    return winner;
}

/* "YYYY:MM:DD HH:MM:SS" (EXIF, no zone: taken as UTC) -> unix seconds. */
void asset_facts_from_media(struct asset_facts *a, const struct media_info *mi,
                            int64_t upload_time)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->kind, sizeof(a->kind), "%s", mi->kind);
    snprintf(a->format, sizeof(a->format), "%s", mi->format);
    a->bytes = mi->bytes;
    a->width = mi->width;
    a->height = mi->height;
    a->upload_time = upload_time;
    a->components = components_kinds(&mi->comp);
    a->components_known = 1;
    if (mi->capture_time[0] && time_parse(mi->capture_time, &a->capture_time) < 0) {
        a->capture_time = 0;
        tp_err_clear();
    }
}

static int parse_i64(const char *key, const char *val, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(val, &end, 10);
    RETURN_ERR_IF(!*val || *end || errno, TP_ERR_USAGE, "facts: '%s' expects an integer, got '%s'",
                  key, val);
    RETURN_ERR_IF(v < lo || v > hi, TP_ERR_USAGE,
                  "facts: '%s' = %lld is out of range (expected %" PRId64 "..%" PRId64 ")", key, v,
                  lo, hi);
    *out = v;
    return 0;
}

static int parse_bytes(const char *key, const char *val, uint64_t *out)
{
    static const struct { const char *unit; double mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 },
        { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
    };
    char *end;
    double v = strtod(val, &end);
    if (end != val && isfinite(v) && v >= 0 && v < 1e18) {
        for (size_t i = 0; i < TP_ARRAY_SIZE(units); i++) {
            if (!strcmp(end, units[i].unit)) {
                *out = (uint64_t)llround(v * units[i].mul);
                return 0;
            }
        }
    }
    RETURN_ERR_IF(1, TP_ERR_USAGE, "facts: '%s' expects a size such as 123456 or 5MB, got '%s'",
                  key, val);
}

static int parse_when(const char *key, const char *val, int64_t now, int allow_never,
                      int64_t *out)
{
    size_t l = strlen(val);
    if (allow_never && (!strcmp(val, "never") || !strcmp(val, "none") || !strcmp(val, "0"))) {
        *out = 0;
        return 0;
    }
    if (l >= 3 && val[0] == '-' && val[l - 1] == 'd') { /* -400d: 400 days before now */
        char num[24];
        int64_t days;
        snprintf(num, sizeof(num), "%.*s", (int)(l - 2), val + 1);
        FORWARD_ERR(parse_i64(key, num, 0, 100000, &days));
        *out = now - days * TIME_DAY;
        return 0;
    }
    int ret = time_parse(val, out);
    if (ret < 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", tp_err_detail());
        RETURN_ERR_IF(1, TP_ERR_USAGE, "facts: '%s': %s (or -Nd for N days ago%s)", key, why,
                      allow_never ? ", or never" : "");
    }
    return 0;
}

int asset_facts_parse(struct asset_facts *a, const char *spec, int64_t now)
{
    static const char *const keys[] = {
        "kind", "format", "bytes", "width", "height", "capture", "upload", "access",
        "count_30d", "count_90d", "count_365d", NULL,
    };
    char item[256];
    const char *p = spec;
    while (*p) {
        size_t n = strcspn(p, ",");
        RETURN_ERR_IF(n >= sizeof(item), TP_ERR_USAGE, "facts: item too long");
        memcpy(item, p, n);
        item[n] = '\0';
        p += n + (p[n] == ',');
        if (!n)
            continue;
        char *eq = strchr(item, '=');
        RETURN_ERR_IF(!eq, TP_ERR_USAGE, "facts: expected key=value, got '%s'", item);
        *eq = '\0';
        const char *k = item, *v = eq + 1;
        int64_t x;
        if (!strcmp(k, "kind")) {
            RETURN_ERR_IF(strcmp(v, "image") && strcmp(v, "video"), TP_ERR_USAGE,
                          "facts: 'kind' is image or video, got '%s'", v);
            snprintf(a->kind, sizeof(a->kind), "%s", v);
        } else if (!strcmp(k, "format")) {
            RETURN_ERR_IF(!*v || strlen(v) >= sizeof(a->format), TP_ERR_USAGE,
                          "facts: bad format '%s'", v);
            const struct codec *cd = codec_find_by_name(v); /* aliases: the registry's */
            snprintf(a->format, sizeof(a->format), "%s", cd ? cd->name : v);
        } else if (!strcmp(k, "bytes")) {
            FORWARD_ERR(parse_bytes(k, v, &a->bytes));
        } else if (!strcmp(k, "width") || !strcmp(k, "height")) {
            FORWARD_ERR(parse_i64(k, v, 0, 1 << 20, &x));
            *(k[0] == 'w' ? &a->width : &a->height) = (int)x;
        } else if (!strcmp(k, "capture")) {
            FORWARD_ERR(parse_when(k, v, now, 1, &a->capture_time));
        } else if (!strcmp(k, "upload")) {
            FORWARD_ERR(parse_when(k, v, now, 0, &a->upload_time));
        } else if (!strcmp(k, "access") || !strcmp(k, "last_access")) {
            FORWARD_ERR(parse_when(k, v, now, 1, &a->last_access));
        } else if (!strcmp(k, "count_30d")) {
            FORWARD_ERR(parse_i64(k, v, 0, INT64_MAX, &a->count_30d));
        } else if (!strcmp(k, "count_90d")) {
            FORWARD_ERR(parse_i64(k, v, 0, INT64_MAX, &a->count_90d));
        } else if (!strcmp(k, "count_365d")) {
            FORWARD_ERR(parse_i64(k, v, 0, INT64_MAX, &a->count_365d));
        } else if (!strcmp(k, "near_duplicate")) {
            FORWARD_ERR(parse_i64(k, v, 0, 1, &x));
            a->near_duplicate = (int)x;
        } else {
            char list[200] = "";
            size_t len = 0;
            for (int i = 0; keys[i]; i++)
                len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "",
                                        keys[i]);
            RETURN_ERR_IF(1, TP_ERR_USAGE, "facts: unknown key '%s' (expected one of: %s)", k,
                          list);
        }
    }
    return 0;
}
