/* Reading YAML against the policy grammar (see policy_int.h): positions
 * and diagnostics, "did you mean", key schemas, typed scalars. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "policy_int.h"

/* ---- diagnostics -------------------------------------------------------- */

struct policy_loc policy_node_loc(const yaml_node_t *n)
{
    struct policy_loc l = { 0, 0 };
    if (n) {
        l.line = (int)n->start_mark.line + 1;
        l.col = (int)n->start_mark.column + 1;
    }
    return l;
}

void policy_diag(struct policy *p, struct policy_loc loc, int warning, const char *fmt, ...)
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
int policy_finish(struct policy *p)
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
const char *policy_nearest(const char *s, const char *const *list)
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

void policy_join(char *buf, size_t len, const char *const *list)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; list[i] && n + 2 < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", list[i]);
}

int policy_in_list(const char *s, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(s, list[i]))
            return 1;
    return 0;
}

const char *policy_canonical_name(const char *s)
{
    const struct codec *cd = codec_find_by_name(s);
    int v = codec_video_encoder(s);
    return cd ? cd->name : v >= 0 ? codec_video_encoders[v] : s;
}

const char *policy_scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* "a mapping", "a list", "'text'" or "nothing", for "got ..." messages. */
const char *policy_describe(const yaml_node_t *n, char *buf, size_t len)
{
    if (!n)
        return "nothing";
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (!n->data.scalar.length && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
        return "nothing";
    snprintf(buf, len, "'%.40s%s'", policy_scalar(n), n->data.scalar.length > 40 ? "..." : "");
    return buf;
}

void policy_wrong_type(struct pctx *c, const yaml_node_t *n, const char *key, const char *expected)
{
    char b[64];
    ERR_AT(c, n, "'%s' expects %s, got %s", key, expected, policy_describe(n, b, sizeof(b)));
}

/* Checks every key of mapping n against keys; vals_out[i] gets the value
 * of keys[i] (NULL when absent), keys_out[i] its key node.  Reports
 * unknown and duplicate keys.  Returns 0, or -1 if n is not a mapping. */
int policy_map_keys(struct pctx *c, yaml_node_t *n, const char *what, const char *const *keys,
                    yaml_node_t **vals_out, yaml_node_t **keys_out)
{
    size_t nk = 0;
    while (keys[nk])
        nk++;
    for (size_t i = 0; i < nk; i++)
        vals_out[i] = keys_out[i] = NULL;
    if (!n || n->type != YAML_MAPPING_NODE) {
        char b[64], exp[300];
        policy_join(exp, sizeof(exp), keys);
        ERR_AT(c, n, "'%s' expects a mapping (keys: %s), got %s", what, exp,
               policy_describe(n, b, sizeof(b)));
        return -1;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        const char *ks = policy_scalar(k);
        size_t i;
        if (!ks) {
            char b[64];
            ERR_AT(c, k, "expected a key name in %s, got %s", what, policy_describe(k, b, sizeof(b)));
            continue;
        }
        for (i = 0; i < nk; i++)
            if (!strcmp(ks, keys[i]))
                break;
        if (i == nk) {
            const char *near = policy_nearest(ks, keys), *elsewhere = NULL;
            char exp[300];
            for (size_t j = 0; j < policy_key_contexts_len && !near; j++)
                if (policy_key_contexts[j].keys != keys && policy_in_list(ks, policy_key_contexts[j].keys))
                    elsewhere = policy_key_contexts[j].where;
            if (near)
                ERR_AT(c, k, "unknown key '%s' in %s (did you mean '%s'?)", ks, what, near);
            else if (elsewhere)
                ERR_AT(c, k, "key '%s' does not belong in %s; it goes in %s", ks, what, elsewhere);
            else {
                policy_join(exp, sizeof(exp), keys);
                ERR_AT(c, k, "unknown key '%s' in %s (expected one of: %s)", ks, what, exp);
            }
            continue;
        }
        if (vals_out[i]) {
            ERR_AT(c, k, "duplicate key '%s' in %s (first given at line %d)", ks, what,
                   policy_node_loc(keys_out[i]).line);
            continue;
        }
        vals_out[i] = v;
        keys_out[i] = k;
    }
    return 0;
}

/* ---- scalars ------------------------------------------------------------ */

int policy_get_int(struct pctx *c, yaml_node_t *n, const char *key, int64_t lo, int64_t hi,
                   int64_t *out)
{
    const char *s = policy_scalar(n);
    char *end;
    if (!s || !*s) {
        policy_wrong_type(c, n, key, "an integer");
        return -1;
    }
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno || isspace((unsigned char)*s)) {
        policy_wrong_type(c, n, key, "an integer");
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

int policy_get_num(struct pctx *c, yaml_node_t *n, const char *key, double lo, double hi,
                   double *out)
{
    const char *s = policy_scalar(n);
    char *end;
    if (!s || !*s) {
        policy_wrong_type(c, n, key, "a number");
        return -1;
    }
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || isspace((unsigned char)*s) || !strncasecmp(s, "0x", 2)) {
        policy_wrong_type(c, n, key, "a number");
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
int policy_get_size(struct pctx *c, yaml_node_t *n, const char *key, int64_t *out)
{
    static const struct { const char *unit; double mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 }, { "TB", 1e12 },
        { "KiB", 1024.0 }, { "MiB", 1048576.0 }, { "GiB", 1073741824.0 },
        { "TiB", 1099511627776.0 },
    };
    const char *s = policy_scalar(n);
    char *end;
    if (!s || !*s || !(isdigit((unsigned char)*s) || *s == '.')) {
        policy_wrong_type(c, n, key, "a size (bytes, or a number with B, KB, MB, GB, KiB, MiB, GiB)");
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
int policy_get_enum(struct pctx *c, yaml_node_t *n, const char *key, const char *const *allowed)
{
    const char *s = policy_scalar(n);
    char exp[200];
    policy_join(exp, sizeof(exp), allowed);
    if (!s || !*s) {
        char what[240];
        snprintf(what, sizeof(what), "one of %s", exp);
        policy_wrong_type(c, n, key, what);
        return -1;
    }
    for (int i = 0; allowed[i]; i++)
        if (!strcmp(s, allowed[i]))
            return i;
    const char *near = policy_nearest(s, allowed);
    if (near)
        ERR_AT(c, n, "'%s': unknown value '%s' (did you mean '%s'?)", key, s, near);
    else
        ERR_AT(c, n, "'%s': unknown value '%s' (expected one of: %s)", key, s, exp);
    return -1;
}

int policy_get_name(struct pctx *c, yaml_node_t *n, const char *key, char *out, size_t len)
{
    const char *s = policy_scalar(n);
    if (!s || !*s) {
        policy_wrong_type(c, n, key, "a name");
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

int policy_get_text(struct pctx *c, yaml_node_t *n, const char *key, char *out, size_t len)
{
    const char *s = policy_scalar(n);
    if (!s) {
        policy_wrong_type(c, n, key, "text");
        return -1;
    }
    snprintf(out, len, "%s", s);
    return 0;
}

/* A scalar or a list of scalars: calls fn for each item. */
int policy_each_item(struct pctx *c, yaml_node_t *n, const char *key, int max,
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
    policy_wrong_type(c, n, key, "a name or a list of names");
    return -1;
}

