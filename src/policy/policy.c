/* The policy file: YAML (libyaml document API) -> struct policy, with
 * file:line:column diagnostics that say what was expected. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "codec.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"
#include "policy.h"
#include "search.h"

const char *const policy_storage_classes[] = {
    "STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", NULL,
};

/* Codec and format names, aliases, video encoders: asked of the codec
 * registry (codecs/registry.c), never listed here. */
#define NAMES_MAX 48

#define DAYS_MAX   36500    /* 100 years */
#define COUNT_MAX  1000000000LL
#define BYTES_MAX  (1LL << 50)
#define MP_MAX     10000.0

/* ---- diagnostics -------------------------------------------------------- */

struct pctx {
    struct policy *p;
    yaml_document_t *doc;
};

static struct policy_loc node_loc(const yaml_node_t *n)
{
    struct policy_loc l = { 0, 0 };
    if (n) {
        l.line = (int)n->start_mark.line + 1;
        l.col = (int)n->start_mark.column + 1;
    }
    return l;
}

__attribute__((format(printf, 4, 5)))
static void diag(struct policy *p, struct policy_loc loc, int warning, const char *fmt, ...)
{
    va_list ap;
    if (warning)
        p->nwarnings++;
    else
        p->nerrors++;
    if (!p->diags || p->ndiags >= POLICY_MAX_DIAGS)
        return;
    struct policy_diag *d = &p->diags[p->ndiags++];
    d->loc = loc;
    d->warning = warning;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
    va_end(ap);
}

#define ERR_AT(c, node, ...) diag((c)->p, node_loc(node), 0, __VA_ARGS__)
#define WARN_AT(c, node, ...) diag((c)->p, node_loc(node), 1, __VA_ARGS__)

const char *policy_diag_format(const struct policy *p, int i, char *buf, size_t len)
{
    const struct policy_diag *d = &p->diags[i];
    if (d->loc.line)
        snprintf(buf, len, "%s:%d:%d: %s%s", p->file, d->loc.line, d->loc.col,
                 d->warning ? "warning: " : "", d->msg);
    else
        snprintf(buf, len, "%s: %s%s", p->file, d->warning ? "warning: " : "", d->msg);
    return buf;
}

/* The return value of parse/validate, with the first error as detail. */
static int finish(struct policy *p)
{
    char buf[512];
    for (int i = 0; i < p->ndiags; i++) {
        if (!p->diags[i].warning) {
            tp_err_set("%s", policy_diag_format(p, i, buf, sizeof(buf)));
            return TP_ERR_INVALIDDATA;
        }
    }
    if (p->nerrors) {
        tp_err_set("%s: invalid policy", p->file);
        return TP_ERR_INVALIDDATA;
    }
    return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diagv = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = a[i - 1] == b[j - 1] ? 0 : 1;
            int v = diagv + cost;
            if (row[j] + 1 < v)
                v = row[j] + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diagv = up;
        }
    }
    return row[lb];
}

/* The entry of list closest to s (edit distance <= max(2, len/3)), or NULL. */
static const char *nearest(const char *s, const char *const *list)
{
    const char *best = NULL;
    int bestd = 99, lim = (int)strlen(s) / 3;
    if (lim < 2)
        lim = 2;
    for (int i = 0; list[i]; i++) {
        int d = edit_distance(s, list[i]);
        if (d < bestd) {
            bestd = d;
            best = list[i];
        }
    }
    return bestd <= lim ? best : NULL;
}

static void join(char *buf, size_t len, const char *const *list)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; list[i] && n + 2 < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", list[i]);
}

static int in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

static const char *canonical_name(const char *s)
{
    const struct codec *cd = codec_find_by_name(s);
    int v = codec_video_encoder(s);
    return cd ? cd->name : v >= 0 ? codec_video_encoders[v] : s;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* "a mapping", "a list", "'text'" or "nothing", for "got ..." messages. */
static const char *describe(const yaml_node_t *n, char *buf, size_t len)
{
    if (!n)
        return "nothing";
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (!n->data.scalar.length && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        return "nothing";
    snprintf(buf, len, "'%.40s%s'", scalar(n), n->data.scalar.length > 40 ? "..." : "");
    return buf;
}

static void wrong_type(struct pctx *c, const yaml_node_t *n, const char *key, const char *expected)
{
    char b[64];
    ERR_AT(c, n, "'%s' expects %s, got %s", key, expected, describe(n, b, sizeof(b)));
}

/* ---- mappings against a key schema -------------------------------------- */

/* Where each key is valid, so a key in the wrong place gets a pointer to
 * the right one. */
static const char *const root_keys[] = { "version", "description", "defaults", "tiers", NULL };
static const char *const defaults_keys[] = { "proxies", "transcode", "original", "storage_class",
                                             NULL };
static const char *const tier_keys[] = { "name", "description", "match", "proxies", "transcode",
                                         "original", "storage_class", NULL };
static const char *const match_keys[] = { "accessed_within_days", "age_days", "days_since_access",
                                          "access_count", "format", "kind", "bytes", "megapixels",
                                          NULL };
static const char *const transcode_keys[] = { "mode", "codecs", "ssim", "tile_ssim", "chroma_ssim",
                                              "effort", "subsampling", "min_saving",
                                              "keep_metadata", NULL };
static const char *const proxy_keys[] = { "name", "max_edge", "format", "quality", NULL };
static const char *const range_keys[] = { "min", "max", NULL };
static const char *const count_keys[] = { "window_days", "min", "max", NULL };
static const char *const original_keys[] = { "delete_after_days", NULL };

static const struct { const char *const *keys; const char *where; } contexts[] = {
    { tier_keys, "a tier" }, { match_keys, "match" }, { transcode_keys, "transcode" },
    { root_keys, "the top level" },
};

/* Checks every key of mapping n against keys; vals_out[i] gets the value
 * of keys[i] (NULL when absent), keys_out[i] its key node.  Reports
 * unknown and duplicate keys.  Returns 0, or -1 if n is not a mapping. */
static int map_keys(struct pctx *c, yaml_node_t *n, const char *what, const char *const *keys,
                    yaml_node_t **vals_out, yaml_node_t **keys_out)
{
    size_t nk = 0;
    while (keys[nk])
        nk++;
    for (size_t i = 0; i < nk; i++)
        vals_out[i] = keys_out[i] = NULL;
    if (!n || n->type != YAML_MAPPING_NODE) {
        char b[64], exp[300];
        join(exp, sizeof(exp), keys);
        ERR_AT(c, n, "'%s' expects a mapping (keys: %s), got %s", what, exp,
               describe(n, b, sizeof(b)));
        return -1;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        const char *ks = scalar(k);
        size_t i;
        if (!ks) {
            char b[64];
            ERR_AT(c, k, "expected a key name in %s, got %s", what, describe(k, b, sizeof(b)));
            continue;
        }
        for (i = 0; i < nk; i++)
            if (!strcmp(ks, keys[i]))
                break;
        if (i == nk) {
            const char *near = nearest(ks, keys), *elsewhere = NULL;
            char exp[300];
            for (size_t j = 0; j < TP_ARRAY_SIZE(contexts) && !near; j++)
                if (contexts[j].keys != keys && in_list(ks, contexts[j].keys))
                    elsewhere = contexts[j].where;
            if (near)
                ERR_AT(c, k, "unknown key '%s' in %s (did you mean '%s'?)", ks, what, near);
            else if (elsewhere)
                ERR_AT(c, k, "key '%s' does not belong in %s; it goes in %s", ks, what, elsewhere);
            else {
                join(exp, sizeof(exp), keys);
                ERR_AT(c, k, "unknown key '%s' in %s (expected one of: %s)", ks, what, exp);
            }
            continue;
        }
        if (vals_out[i]) {
            ERR_AT(c, k, "duplicate key '%s' in %s (first given at line %d)", ks, what,
                   node_loc(keys_out[i]).line);
            continue;
        }
        vals_out[i] = v;
        keys_out[i] = k;
    }
    return 0;
}

/* ---- scalars ------------------------------------------------------------ */

static int get_int(struct pctx *c, yaml_node_t *n, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    const char *s = scalar(n);
    char *end;
    if (!s || !*s) {
        wrong_type(c, n, key, "an integer");
        return -1;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || isspace((unsigned char)*s)) {
        wrong_type(c, n, key, "an integer");
        return -1;
    }
    if (v < lo || v > hi) {
        ERR_AT(c, n, "'%s' is out of range: %lld (expected %" PRId64 "..%" PRId64 ")", key, v, lo,
               hi);
        return -1;
    }
    *out = v;
    return 0;
}

static int get_num(struct pctx *c, yaml_node_t *n, const char *key, double lo, double hi,
                   double *out)
{
    const char *s = scalar(n);
    char *end;
    if (!s || !*s) {
        wrong_type(c, n, key, "a number");
        return -1;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || isspace((unsigned char)*s) || !strncasecmp(s, "0x", 2)) {
        wrong_type(c, n, key, "a number");
        return -1;
    }
    if (v < lo || v > hi) {
        ERR_AT(c, n, "'%s' is out of range: %s (expected %g..%g)", key, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Sizes: an integer number of bytes, or a number with a unit: B, KB, MB,
 * GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024). */
static int get_size(struct pctx *c, yaml_node_t *n, const char *key, int64_t *out)
{
    static const struct { const char *unit; double mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 }, { "TB", 1e12 },
        { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
        { "TiB", 1099511627776.0 },
    };
    const char *s = scalar(n);
    char *end;
    if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.')) {
        wrong_type(c, n, key, "a size (bytes, or a number with B, KB, MB, GB, KiB, MiB, GiB)");
        return -1;
    }
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < TP_ARRAY_SIZE(units); i++) {
        if (!strcmp(end, units[i].unit)) {
            double b = v * units[i].mul;
            if (errno || !isfinite(b) || b < 0 || b > (double)BYTES_MAX) {
                ERR_AT(c, n, "'%s' is out of range: %s (expected 0..1 PiB)", key, s);
                return -1;
            }
            *out = (int64_t)llround(b);
            return 0;
        }
    }
    ERR_AT(c, n, "'%s': unknown size unit in '%s' (expected B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)",
           key, s);
    return -1;
}

/* One of the allowed words; returns its index or -1. */
static int get_enum(struct pctx *c, yaml_node_t *n, const char *key, const char *const *allowed)
{
    const char *s = scalar(n);
    char exp[200];
    join(exp, sizeof(exp), allowed);
    if (!s || !*s) {
        char what[240];
        snprintf(what, sizeof(what), "one of %s", exp);
        wrong_type(c, n, key, what);
        return -1;
    }
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(s, allowed[i]))
            return i;
    const char *near = nearest(s, allowed);
    if (near)
        ERR_AT(c, n, "'%s': unknown value '%s' (did you mean '%s'?)", key, s, near);
    else
        ERR_AT(c, n, "'%s': unknown value '%s' (expected one of: %s)", key, s, exp);
    return -1;
}

static int get_name(struct pctx *c, yaml_node_t *n, const char *key, char *out, size_t len)
{
    const char *s = scalar(n);
    if (!s || !*s) {
        wrong_type(c, n, key, "a name");
        return -1;
    }
    size_t l = strlen(s);
    int ok = l < len && l < POLICY_NAME_MAX;
    for (size_t i = 0; ok && i < l; i++)
        ok = isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-';
    if (!ok) {
        ERR_AT(c, n, "'%s': bad name '%.40s' (expected 1..%d characters of A-Z a-z 0-9 _ -)", key,
               s, POLICY_NAME_MAX - 1);
        return -1;
    }
    memcpy(out, s, l + 1);
    return 0;
}

static int get_text(struct pctx *c, yaml_node_t *n, const char *key, char *out, size_t len)
{
    const char *s = scalar(n);
    if (!s) {
        wrong_type(c, n, key, "text");
        return -1;
    }
    snprintf(out, len, "%s", s);
    return 0;
}

/* A scalar or a list of scalars: calls fn for each item. */
static int each_item(struct pctx *c, yaml_node_t *n, const char *key, int max,
                     int (*fn)(struct pctx *c, yaml_node_t *item, const char *key, void *arg),
                     void *arg)
{
    if (n && n->type == YAML_SEQUENCE_NODE) {
        int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
        if (count == 0) {
            ERR_AT(c, n, "'%s' is an empty list (expected 1..%d entries)", key, max);
            return -1;
        }
        if (count > max) {
            ERR_AT(c, n, "'%s' has %d entries (expected at most %d)", key, count, max);
            return -1;
        }
        int ret = 0;
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++)
            if (fn(c, yaml_document_get_node(c->doc, *it), key, arg) < 0)
                ret = -1;
        return ret;
    }
    if (n && n->type == YAML_SCALAR_NODE && n->data.scalar.length)
        return fn(c, n, key, arg);
    wrong_type(c, n, key, "a name or a list of names");
    return -1;
}

/* ---- match: --------------------------------------------------------------- */

static int parse_range(struct pctx *c, yaml_node_t *n, const char *key, int64_t lo, int64_t hi,
                       int sizes, struct policy_range *r)
{
    yaml_node_t *v[3], *k[3];
    int64_t x;
    int ret = 0;
    r->min = INT64_MIN;
    r->max = INT64_MAX;
    if (n && n->type == YAML_SCALAR_NODE) {
        char b[64];
        ERR_AT(c, n, "'%s' expects a mapping {min: N, max: N}, got %s", key,
               describe(n, b, sizeof(b)));
        return -1;
    }
    if (map_keys(c, n, key, range_keys, v, k) < 0)
        return -1;
    if (!v[0] && !v[1]) {
        ERR_AT(c, n, "'%s' needs 'min' and/or 'max'", key);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        char kn[64];
        if (!v[i])
            continue;
        snprintf(kn, sizeof(kn), "%s.%s", key, range_keys[i]);
        if ((sizes ? get_size(c, v[i], kn, &x) : get_int(c, v[i], kn, lo, hi, &x)) < 0) {
            ret = -1;
            continue;
        }
        *(i ? &r->max : &r->min) = x;
    }
    if (!ret && v[0] && v[1] && r->min > r->max) {
        ERR_AT(c, n, "impossible condition: '%s' min %" PRId64 " is greater than max %" PRId64, key,
               r->min, r->max);
        ret = -1;
    }
    return ret;
}

static int add_format(struct pctx *c, yaml_node_t *item, const char *key, void *arg)
{
    struct policy_cond *m = arg;
    const char *s = scalar(item);
    if (!s || !*s) {
        wrong_type(c, item, key, "a format name");
        return -1;
    }
    const char *name = canonical_name(s);
    if (!codec_find_by_name(name)) {
        const char *known_formats[NAMES_MAX];
        codec_names(known_formats, NAMES_MAX, CODEC_CAP_DECODE, 0, 0);
        const char *near = nearest(name, known_formats);
        char exp[200];
        join(exp, sizeof(exp), known_formats);
        if (near)
            ERR_AT(c, item, "unknown format '%s' (did you mean '%s'?)", s, near);
        else
            ERR_AT(c, item, "unknown format '%s' (expected one of: %s)", s, exp);
        return -1;
    }
    for (int i = 0; i < m->nformats; i++) {
        if (!strcmp(m->formats[i], name)) {
            ERR_AT(c, item, "format '%s' is listed twice", s);
            return -1;
        }
    }
    snprintf(m->formats[m->nformats++], sizeof(m->formats[0]), "%s", name);
    return 0;
}

static int add_kind(struct pctx *c, yaml_node_t *item, const char *key, void *arg)
{
    static const char *const kinds[] = { "image", "video", NULL };
    struct policy_cond *m = arg;
    int k = get_enum(c, item, key, kinds);
    if (k < 0)
        return -1;
    m->kinds |= 1u << k;
    return 0;
}

static int parse_match(struct pctx *c, yaml_node_t *n, struct policy_cond *m)
{
    yaml_node_t *v[8], *k[8];
    int64_t x;
    int ret = 0;
    m->loc = node_loc(n);
    if (map_keys(c, n, "match", match_keys, v, k) < 0)
        return -1;
    if (v[0] && v[2]) {
        ERR_AT(c, k[2], "'accessed_within_days' and 'days_since_access' test the same thing; "
                        "use one of them");
        ret = -1;
    }
    if (v[0]) { /* accessed_within_days: N  ==  days_since_access: {max: N} */
        if (get_int(c, v[0], "accessed_within_days", 0, DAYS_MAX, &x) < 0) {
            ret = -1;
        } else {
            m->idle_days.min = INT64_MIN;
            m->idle_days.max = x;
            m->set |= POLICY_COND_IDLE;
        }
    }
    if (v[1]) {
        if (parse_range(c, v[1], "age_days", 0, DAYS_MAX, 0, &m->age_days) < 0)
            ret = -1;
        m->set |= POLICY_COND_AGE;
    }
    if (v[2]) {
        if (parse_range(c, v[2], "days_since_access", 0, DAYS_MAX, 0, &m->idle_days) < 0)
            ret = -1;
        m->set |= POLICY_COND_IDLE;
    }
    if (v[3]) {
        yaml_node_t *cv[3], *ck[3];
        m->set |= POLICY_COND_ACCESS_COUNT;
        m->count_window = 90;
        m->access_count.min = INT64_MIN;
        m->access_count.max = INT64_MAX;
        if (map_keys(c, v[3], "access_count", count_keys, cv, ck) < 0) {
            ret = -1;
        } else {
            if (cv[0]) {
                if (get_int(c, cv[0], "access_count.window_days", 0, 365, &x) < 0) {
                    ret = -1;
                } else if (x != 30 && x != 90 && x != 365) {
                    ERR_AT(c, cv[0], "'access_count.window_days' must be 30, 90 or 365, got %" PRId64,
                           x);
                    ret = -1;
                } else {
                    m->count_window = (int)x;
                }
            }
            if (!cv[1] && !cv[2]) {
                ERR_AT(c, v[3], "'access_count' needs 'min' and/or 'max'");
                ret = -1;
            }
            if (cv[1] && get_int(c, cv[1], "access_count.min", 0, COUNT_MAX, &m->access_count.min) < 0)
                ret = -1;
            if (cv[2] && get_int(c, cv[2], "access_count.max", 0, COUNT_MAX, &m->access_count.max) < 0)
                ret = -1;
            if (!ret && cv[1] && cv[2] && m->access_count.min > m->access_count.max) {
                ERR_AT(c, v[3], "impossible condition: 'access_count' min %" PRId64
                                " is greater than max %" PRId64, m->access_count.min,
                       m->access_count.max);
                ret = -1;
            }
        }
    }
    if (v[4]) {
        m->set |= POLICY_COND_FORMAT;
        if (each_item(c, v[4], "format", POLICY_MAX_FORMATS, add_format, m) < 0)
            ret = -1;
    }
    if (v[5]) {
        m->set |= POLICY_COND_KIND;
        if (each_item(c, v[5], "kind", 2, add_kind, m) < 0)
            ret = -1;
    }
    if (v[6]) {
        m->set |= POLICY_COND_BYTES;
        if (parse_range(c, v[6], "bytes", 0, BYTES_MAX, 1, &m->bytes) < 0)
            ret = -1;
    }
    if (v[7]) {
        yaml_node_t *rv[3], *rk[3];
        m->set |= POLICY_COND_MEGAPIXELS;
        if (v[7]->type == YAML_SCALAR_NODE) {
            wrong_type(c, v[7], "megapixels", "a mapping {min: N, max: N}");
            ret = -1;
        } else if (map_keys(c, v[7], "megapixels", range_keys, rv, rk) < 0) {
            ret = -1;
        } else if (!rv[0] && !rv[1]) {
            ERR_AT(c, v[7], "'megapixels' needs 'min' and/or 'max'");
            ret = -1;
        } else {
            if (rv[0] && get_num(c, rv[0], "megapixels.min", 0, MP_MAX, &m->mp_min) < 0)
                ret = -1;
            if (rv[1] && get_num(c, rv[1], "megapixels.max", 0, MP_MAX, &m->mp_max) < 0)
                ret = -1;
            if (!ret && rv[0] && rv[1] && m->mp_min > m->mp_max) {
                ERR_AT(c, v[7], "impossible condition: 'megapixels' min %g is greater than max %g",
                       m->mp_min, m->mp_max);
                ret = -1;
            }
        }
    }
    return ret;
}

/* ---- actions ------------------------------------------------------------ */

/* Checks an encoder name; writes the canonical name.  need: CODEC_CAP_*
 * bits beyond ENCODE that the use requires (0 or LOSSLESS). */
static int check_codec(struct pctx *c, yaml_node_t *n, const char *key, int lossless, char *out,
                       size_t len)
{
    const char *s = scalar(n);
    if (!s || !*s) {
        wrong_type(c, n, key, "a codec name");
        return -1;
    }
    const char *name = canonical_name(s);
    if (codec_video_encoder(name) >= 0) {
        if (lossless) {
            ERR_AT(c, n, "codec '%s' re-encodes video lossily; it has no lossless mode", name);
            return -1;
        }
        snprintf(out, len, "%s", name);
        return 0;
    }
    const struct codec *cd = codec_find_by_name(name);
    if (!cd) {
        const char *known_codecs[NAMES_MAX];
        codec_names(known_codecs, NAMES_MAX, CODEC_CAP_ENCODE, 0, 1);
        const char *near = nearest(name, known_codecs);
        char exp[200];
        join(exp, sizeof(exp), known_codecs);
        if (near)
            ERR_AT(c, n, "unknown codec '%s' in '%s' (did you mean '%s'?)", s, key, near);
        else
            ERR_AT(c, n, "unknown codec '%s' in '%s' (expected one of: %s)", s, key, exp);
        return -1;
    }
    if (!(cd->caps & CODEC_CAP_ENCODE) || !cd->encode) {
        ERR_AT(c, n, "codec '%s' cannot encode", name);
        return -1;
    } else if (lossless && !(cd->caps & CODEC_CAP_LOSSLESS) && !codec_recompresses_jpeg(cd)) {
        ERR_AT(c, n, "codec '%s' has no lossless mode", name);
        return -1;
    }
    snprintf(out, len, "%s", cd->name);
    return 0;
}

struct codec_list_arg {
    struct policy_transcode *t;
    int lossless;
};

static int add_codec(struct pctx *c, yaml_node_t *item, const char *key, void *arg)
{
    struct codec_list_arg *a = arg;
    char name[16];
    if (check_codec(c, item, key, a->lossless, name, sizeof(name)) < 0)
        return -1;
    for (int i = 0; i < a->t->ncodecs; i++) {
        if (!strcmp(a->t->codecs[i], name)) {
            ERR_AT(c, item, "codec '%s' is listed twice in '%s'", name, key);
            return -1;
        }
    }
    snprintf(a->t->codecs[a->t->ncodecs++], sizeof(a->t->codecs[0]), "%s", name);
    return 0;
}

static int add_meta(struct pctx *c, yaml_node_t *item, const char *key, void *arg)
{
    static const char *const names[] = { "exif", "xmp", "icc", "all", "none", NULL };
    unsigned *mask = arg;
    int k = get_enum(c, item, key, names);
    if (k < 0)
        return -1;
    *mask |= k == 3 ? POLICY_META_ALL : k == 4 ? 0 : 1u << k;
    return 0;
}

/* Parses a transcode: mapping over t (which holds the inherited values). */
static int parse_transcode(struct pctx *c, yaml_node_t *n, struct policy_transcode *t)
{
    static const char *const modes[] = { "none", "lossless", "lossy", NULL };
    yaml_node_t *v[9], *k[9];
    int64_t x;
    int ret = 0;
    t->loc = node_loc(n);
    if (map_keys(c, n, "transcode", transcode_keys, v, k) < 0)
        return -1;
    if (v[0]) {
        int m = get_enum(c, v[0], "mode", modes);
        if (m < 0)
            ret = -1;
        else
            t->mode = (enum policy_mode)m;
        t->set |= POLICY_TC_MODE;
    }
    if (v[1]) {
        struct codec_list_arg a = { t, t->mode == POLICY_MODE_LOSSLESS };
        t->ncodecs = 0;
        t->set |= POLICY_TC_CODECS;
        if (each_item(c, v[1], "codecs", POLICY_MAX_CODECS, add_codec, &a) < 0)
            ret = -1;
    }
    if (v[2]) {
        if (get_num(c, v[2], "ssim", 0.9, 1.0, &t->ssim) < 0)
            ret = -1;
        t->set |= POLICY_TC_SSIM;
    }
    if (v[3]) {
        if (get_num(c, v[3], "tile_ssim", 0.5, 1.0, &t->tile_ssim) < 0)
            ret = -1;
        t->set |= POLICY_TC_TILE;
    }
    if (v[4]) {
        if (get_num(c, v[4], "chroma_ssim", 0.5, 1.0, &t->chroma_ssim) < 0)
            ret = -1;
        t->set |= POLICY_TC_CHROMA;
    }
    if (v[5]) {
        if (get_int(c, v[5], "effort", 0, 9, &x) < 0)
            ret = -1;
        else
            t->effort = (int)x;
        t->set |= POLICY_TC_EFFORT;
    }
    if (v[6]) {
        const char *s = scalar(v[6]);
        if (s && !strcmp(s, "auto"))
            t->subsampling = 0;
        else if (s && (!strcmp(s, "420") || !strcmp(s, "422") || !strcmp(s, "444")))
            t->subsampling = atoi(s);
        else {
            wrong_type(c, v[6], "subsampling", "auto, 420, 422 or 444");
            ret = -1;
        }
        t->set |= POLICY_TC_SUBSAMPLING;
    }
    if (v[7]) {
        const char *s = scalar(v[7]);
        size_t l = s ? strlen(s) : 0;
        if (l > 1 && s[l - 1] == '%') { /* "10%" */
            char num[32];
            double pct;
            char *end;
            snprintf(num, sizeof(num), "%.*s", (int)(l - 1), s);
            pct = strtod(num, &end);
            if (*end || end == num) {
                wrong_type(c, v[7], "min_saving", "a fraction 0..0.9 or a percentage");
                ret = -1;
            } else if (pct < 0 || pct > 90) {
                ERR_AT(c, v[7], "'min_saving' is out of range: %s (expected 0..90%%)", s);
                ret = -1;
            } else {
                t->min_saving = pct / 100;
            }
        } else if (get_num(c, v[7], "min_saving", 0, 0.9, &t->min_saving) < 0) {
            ret = -1;
        }
        t->set |= POLICY_TC_MIN_SAVING;
    }
    if (v[8]) {
        t->keep_meta = 0;
        t->set |= POLICY_TC_META;
        if (each_item(c, v[8], "keep_metadata", 5, add_meta, &t->keep_meta) < 0)
            ret = -1;
    }
    return ret;
}

static int parse_proxy(struct pctx *c, yaml_node_t *n, struct policy_proxy *px)
{
    yaml_node_t *v[4], *k[4];
    int64_t x;
    int ret = 0;
    memset(px, 0, sizeof(*px));
    px->quality = 80;
    px->loc = node_loc(n);
    if (map_keys(c, n, "a proxy", proxy_keys, v, k) < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (!v[i]) {
            ERR_AT(c, n, "proxy is missing required key '%s'", proxy_keys[i]);
            ret = -1;
        }
    }
    if (v[0] && get_name(c, v[0], "name", px->name, sizeof(px->name)) < 0)
        ret = -1;
    if (v[1]) {
        if (get_int(c, v[1], "max_edge", 16, 16384, &x) < 0)
            ret = -1;
        else
            px->max_edge = (int)x;
    }
    if (v[2] && check_codec(c, v[2], "format", 0, px->format, sizeof(px->format)) < 0)
        ret = -1;
    if (v[3]) {
        if (get_int(c, v[3], "quality", 1, 100, &x) < 0)
            ret = -1;
        else
            px->quality = (int)x;
    }
    return ret;
}

static int parse_proxies(struct pctx *c, yaml_node_t *n, struct policy_actions *a)
{
    int ret = 0;
    a->nproxies = 0;
    if (!n || n->type != YAML_SEQUENCE_NODE) {
        wrong_type(c, n, "proxies", "a list of {name, max_edge, format, quality}");
        return -1;
    }
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(c->doc, *it);
        if (a->nproxies >= POLICY_MAX_PROXIES) {
            ERR_AT(c, item, "too many proxies (at most %d)", POLICY_MAX_PROXIES);
            return -1;
        }
        struct policy_proxy *px = &a->proxies[a->nproxies];
        if (parse_proxy(c, item, px) < 0) {
            ret = -1;
            continue;
        }
        for (int i = 0; i < a->nproxies; i++) {
            if (!strcmp(a->proxies[i].name, px->name)) {
                ERR_AT(c, item, "duplicate proxy name '%s' (first at line %d)", px->name,
                       a->proxies[i].loc.line);
                ret = -1;
            }
        }
        a->nproxies++;
    }
    return ret;
}

static int parse_original(struct pctx *c, yaml_node_t *n, struct policy_actions *a)
{
    static const char *const words[] = { "keep", "never_delete", NULL };
    a->loc_original = node_loc(n);
    if (n && n->type == YAML_MAPPING_NODE) {
        yaml_node_t *v[1], *k[1];
        int64_t x;
        if (map_keys(c, n, "original", original_keys, v, k) < 0)
            return -1;
        if (!v[0]) {
            ERR_AT(c, n, "'original' mapping needs 'delete_after_days'");
            return -1;
        }
        if (get_int(c, v[0], "delete_after_days", 0, DAYS_MAX, &x) < 0)
            return -1;
        a->original = POLICY_ORIGINAL_DELETE_AFTER;
        a->delete_after_days = (int)x;
        return 0;
    }
    if (!scalar(n)) {
        wrong_type(c, n, "original", "keep, never_delete or {delete_after_days: N}");
        return -1;
    }
    int w = get_enum(c, n, "original", words);
    if (w < 0)
        return -1;
    a->original = w ? POLICY_ORIGINAL_NEVER_DELETE : POLICY_ORIGINAL_KEEP;
    return 0;
}

/* Parses the action keys of a defaults: or tier mapping (their values
 * given in v[] in defaults_keys order) over a. */
static int parse_actions(struct pctx *c, yaml_node_t *const v[4], struct policy_actions *a)
{
    int ret = 0;
    if (v[0] && parse_proxies(c, v[0], a) < 0)
        ret = -1;
    if (v[1] && parse_transcode(c, v[1], &a->transcode) < 0)
        ret = -1;
    if (v[2] && parse_original(c, v[2], a) < 0)
        ret = -1;
    if (v[3]) {
        int sc = get_enum(c, v[3], "storage_class", policy_storage_classes);
        a->loc_storage = node_loc(v[3]);
        if (sc < 0)
            ret = -1;
        else
            snprintf(a->storage_class, sizeof(a->storage_class), "%s", policy_storage_classes[sc]);
    }
    return ret;
}

static int parse_tier(struct pctx *c, yaml_node_t *n, struct policy_tier *t)
{
    yaml_node_t *v[7], *k[7];
    int ret = 0;
    t->loc = node_loc(n);
    t->act = c->p->defaults;
    t->match.loc = t->loc;
    t->match.age_days.min = t->match.idle_days.min = t->match.bytes.min = INT64_MIN;
    t->match.age_days.max = t->match.idle_days.max = t->match.bytes.max = INT64_MAX;
    t->match.mp_max = HUGE_VAL;
    if (map_keys(c, n, "a tier", tier_keys, v, k) < 0)
        return -1;
    if (!v[0]) {
        ERR_AT(c, n, "tier is missing required key 'name'");
        ret = -1;
    } else if (get_name(c, v[0], "name", t->name, sizeof(t->name)) < 0) {
        ret = -1;
    }
    if (v[1] && get_text(c, v[1], "description", t->description, sizeof(t->description)) < 0)
        ret = -1;
    if (v[2] && parse_match(c, v[2], &t->match) < 0)
        ret = -1;
    yaml_node_t *acts[4] = { v[3], v[4], v[5], v[6] };
    if (parse_actions(c, acts, &t->act) < 0)
        ret = -1;
    if (v[4] && !(t->act.transcode.set & POLICY_TC_MODE)) {
        ERR_AT(c, v[4], "transcode needs 'mode' (none, lossless or lossy)");
        ret = -1;
    }
    return ret;
}

static void parse_version(struct pctx *c, yaml_node_t *n)
{
    const char *s = scalar(n);
    char *end;
    long major, minor = 0;
    if (!s || !isdigit((unsigned char)*s)) {
        wrong_type(c, n, "version", "a version number such as 1");
        return;
    }
    errno = 0;
    major = strtol(s, &end, 10);
    if (*end == '.' && isdigit((unsigned char)end[1]))
        minor = strtol(end + 1, &end, 10);
    if (*end || errno) {
        wrong_type(c, n, "version", "a version number such as 1");
        return;
    }
    if (major != POLICY_VERSION_MAJOR) {
        ERR_AT(c, n, "unsupported policy version %s (this tierpress reads version %d)", s,
               POLICY_VERSION_MAJOR);
        return;
    }
    c->p->version_major = (int)major;
    c->p->version_minor = (int)minor;
}

/* ---- entry points ------------------------------------------------------- */

static void actions_defaults(struct policy_actions *a)
{
    memset(a, 0, sizeof(*a));
    a->transcode.mode = POLICY_MODE_NONE;
    a->transcode.ssim = 0.997;
    a->transcode.effort = 7;
    a->transcode.subsampling = 0;
    a->transcode.min_saving = 0.05;
    a->transcode.keep_meta = POLICY_META_ALL;
    a->original = POLICY_ORIGINAL_KEEP;
    snprintf(a->storage_class, sizeof(a->storage_class), "STANDARD");
}

void policy_defaults(struct policy *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->file, sizeof(p->file), "<policy>");
    actions_defaults(&p->defaults);
}

void policy_free(struct policy *p)
{
    tp_freep(&p->tiers);
    tp_freep(&p->diags);
    p->ntiers = p->ndiags = 0;
}

static int ensure_storage(struct policy *p)
{
    if (!p->diags && !(p->diags = tp_calloc(POLICY_MAX_DIAGS, sizeof(*p->diags))))
        return TP_ERR(ENOMEM);
    if (!p->tiers && !(p->tiers = tp_calloc(POLICY_MAX_TIERS, sizeof(*p->tiers))))
        return TP_ERR(ENOMEM);
    return 0;
}

static void syntax_error(struct policy *p, const yaml_parser_t *yp, const char *text, size_t len)
{
    struct policy_loc loc = { (int)yp->problem_mark.line + 1, (int)yp->problem_mark.column + 1 };
    size_t off = yp->problem_mark.index;
    const char *hint = "";
    if ((off < len && text[off] == '\t') || (yp->problem && strstr(yp->problem, "tab")))
        hint = " (a tab: YAML indentation must use spaces)";
    if (yp->context)
        diag(p, loc, 0, "YAML syntax error: %s, %s at line %d%s",
             yp->problem ? yp->problem : "?", yp->context, (int)yp->context_mark.line + 1, hint);
    else
        diag(p, loc, 0, "YAML syntax error: %s%s", yp->problem ? yp->problem : "?", hint);
}

int policy_parse(struct policy *p, const char *name, const char *text, size_t len)
{
    yaml_parser_t yp;
    yaml_document_t doc, doc2;
    int have_doc = 0, ret;
    struct pctx c = { p, &doc };

    if (name)
        snprintf(p->file, sizeof(p->file), "%s", name);
    FORWARD_ERR(ensure_storage(p));
    if (len > POLICY_MAX_BYTES) {
        diag(p, (struct policy_loc){ 0, 0 }, 0, "policy file is %zu bytes (at most %d)", len,
             POLICY_MAX_BYTES);
        return finish(p);
    }
    if (!yaml_parser_initialize(&yp))
        return TP_ERR(ENOMEM);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        syntax_error(p, &yp, text, len);
        goto end;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        diag(p, (struct policy_loc){ 1, 1 }, 0,
             "empty policy (expected a mapping with 'version' and 'tiers')");
        goto end;
    }
    /* A second document would be silently ignored: refuse it. */
    if (!yaml_parser_load(&yp, &doc2)) {
        syntax_error(p, &yp, text, len);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
        if (r2)
            diag(p, node_loc(r2), 0, "a second YAML document ('---'); a policy is one document");
        yaml_document_delete(&doc2);
    }

    yaml_node_t *v[4], *k[4];
    if (map_keys(&c, root, "the policy", root_keys, v, k) < 0)
        goto end;
    if (!v[0])
        ERR_AT(&c, root, "missing required key 'version' (add 'version: %d' at the top)",
               POLICY_VERSION_MAJOR);
    else
        parse_version(&c, v[0]);
    if (v[1])
        get_text(&c, v[1], "description", p->description, sizeof(p->description));
    if (v[2]) {
        yaml_node_t *dv[4], *dk[4];
        if (map_keys(&c, v[2], "defaults", defaults_keys, dv, dk) == 0)
            parse_actions(&c, dv, &p->defaults);
    }
    if (!v[3]) {
        ERR_AT(&c, root, "missing required key 'tiers' (a list of tiers)");
    } else if (v[3]->type != YAML_SEQUENCE_NODE) {
        wrong_type(&c, v[3], "tiers", "a list of tiers");
    } else {
        yaml_node_t *tiers = v[3];
        if (tiers->data.sequence.items.top == tiers->data.sequence.items.start)
            ERR_AT(&c, tiers, "'tiers' is empty (expected at least one tier)");
        for (yaml_node_item_t *it = tiers->data.sequence.items.start;
             it < tiers->data.sequence.items.top; it++) {
            yaml_node_t *tn = yaml_document_get_node(&doc, *it);
            if (p->ntiers >= POLICY_MAX_TIERS) {
                ERR_AT(&c, tn, "too many tiers (at most %d)", POLICY_MAX_TIERS);
                break;
            }
            struct policy_tier *t = &p->tiers[p->ntiers++];
            memset(t, 0, sizeof(*t));
            parse_tier(&c, tn, t);
        }
    }
end:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    ret = finish(p);
    return ret;
}

static int cond_matches_all(const struct policy_cond *m)
{
    return m->set == 0;
}

static void validate_actions(struct policy *p, struct policy_tier *t)
{
    struct policy_transcode *tc = &t->act.transcode;
    struct policy_loc loc = tc->loc.line ? tc->loc : t->loc;
    struct search_floor f = { tc->ssim, 0, 0 };
    search_floor_derive(&f); /* the one definition of the derived floors */
    if (!(tc->set & POLICY_TC_TILE))
        tc->tile_ssim = fmax(0.5, f.tile);
    if (!(tc->set & POLICY_TC_CHROMA))
        tc->chroma_ssim = fmax(0.5, f.chroma);
    if (tc->mode == POLICY_MODE_LOSSLESS && !tc->ncodecs) {
        /* the default: the registry's JPEG recompressor (JPEG XL) */
        const char *name = "jxl";
        for (int i = 0; codec_list[i]; i++)
            if (codec_recompresses_jpeg(codec_list[i])) {
                name = codec_list[i]->name;
                break;
            }
        tc->ncodecs = 1;
        snprintf(tc->codecs[0], sizeof(tc->codecs[0]), "%s", name);
    }
    if (tc->mode == POLICY_MODE_LOSSY && !tc->ncodecs)
        diag(p, loc, 0, "tier '%s': a lossy transcode needs 'codecs' (candidates such as "
                        "[jxl, avif, heif])", t->name);
    if (tc->mode == POLICY_MODE_LOSSY && tc->tile_ssim > tc->ssim)
        diag(p, loc, 0, "tier '%s': impossible floors: tile_ssim %g is above ssim %g (the "
                        "worst tile cannot beat the mean)", t->name, tc->tile_ssim, tc->ssim);
    if (tc->mode == POLICY_MODE_LOSSLESS) {
        for (int i = 0; i < tc->ncodecs; i++) {
            const struct codec *cd = codec_find_by_name(tc->codecs[i]);
            if (cd && !(cd->caps & CODEC_CAP_LOSSLESS) && !codec_recompresses_jpeg(cd))
                diag(p, loc, 0, "tier '%s': codec '%s' has no lossless mode", t->name,
                     tc->codecs[i]);
        }
    }
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER && tc->mode == POLICY_MODE_NONE)
        diag(p, t->act.loc_original.line ? t->act.loc_original : t->loc, 1,
             "tier '%s': 'original: delete_after_days' has no effect without a transcode "
             "(the original is the only copy and is never deleted)", t->name);
}

int policy_validate(struct policy *p)
{
    FORWARD_ERR(ensure_storage(p));
    if (!p->version_major && !p->nerrors)
        diag(p, (struct policy_loc){ 0, 0 }, 0, "no version");
    for (int i = 0; i < p->ntiers; i++) {
        struct policy_tier *t = &p->tiers[i];
        validate_actions(p, t);
        for (int j = 0; j < i; j++) {
            if (t->name[0] && !strcmp(p->tiers[j].name, t->name))
                diag(p, t->loc, 0, "duplicate tier name '%s' (first at line %d)", t->name,
                     p->tiers[j].loc.line);
        }
        for (int j = 0; j < i; j++) {
            if (cond_matches_all(&p->tiers[j].match)) {
                diag(p, t->loc, 0, "tier '%s' can never match: tier '%s' (line %d) comes first "
                                   "and has no conditions, so it matches every asset",
                     t->name, p->tiers[j].name, p->tiers[j].loc.line);
                break;
            }
        }
    }
    return finish(p);
}

int policy_load(struct policy *p, const char *path)
{
    struct tp_buf b = { 0 };
    policy_defaults(p);
    snprintf(p->file, sizeof(p->file), "%s", path);
    int ret = file_read(path, POLICY_MAX_BYTES, &b);
    if (ret < 0)
        return ret;
    ret = policy_parse(p, path, b.len ? (const char *)b.data : "", b.len);
    buf_free(&b);
    if (ret == TP_ERR(ENOMEM))
        return ret;
    int vret = policy_validate(p);
    return ret < 0 ? finish(p) : vret;
}

const char *policy_mode_name(enum policy_mode m)
{
    return m == POLICY_MODE_LOSSY ? "lossy" : m == POLICY_MODE_LOSSLESS ? "lossless" : "none";
}

const char *policy_original_name(enum policy_original o)
{
    return o == POLICY_ORIGINAL_DELETE_AFTER ? "delete_after_days"
           : o == POLICY_ORIGINAL_NEVER_DELETE ? "never_delete" : "keep";
}
