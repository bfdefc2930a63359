/* The cost simulator's price sheet: documented defaults and a YAML
 * override file (errors at line:column, like the policy parser). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "err.h"
#include "fileio.h"
#include "mem.h"
#include "prices.h"

/* AWS S3 list prices, us-east-1, as published on https://aws.amazon.com/s3/pricing/
 * (first 50 TB/month tier for storage; standard retrieval for GLACIER and
 * DEEP_ARCHIVE; PUT/COPY/POST/lifecycle-transition requests).  Recorded
 * 2026-11 from the prices in force since 2023-12; not fetched at run time:
 * verify them before quoting a number.  prices/default.yaml repeats them,
 * each with its source. */
static const struct price_class default_classes[] = {
    /* name                storage   retrieval requests min_kb overhead std_overhead min_days */
    { "STANDARD",            0.023,   0.0,      0.005,   0,     0,       0,           0 },
    { "STANDARD_IA",         0.0125,  0.01,     0.01,    128,   0,       0,           30 },
    { "ONEZONE_IA",          0.01,    0.01,     0.01,    128,   0,       0,           30 },
    { "INTELLIGENT_TIERING", 0.023,   0.0,      0.005,   0,     0,       0,           0 },
    { "GLACIER_IR",          0.004,   0.03,     0.02,    128,   0,       0,           90 },
    { "GLACIER",             0.0036,  0.01,     0.03,    0,     32,      8,           90 },
    { "DEEP_ARCHIVE",        0.00099, 0.02,     0.05,    0,     32,      8,           180 },
};

void prices_defaults(struct prices *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->currency, sizeof(p->currency), "USD");
    snprintf(p->source, sizeof(p->source),
             "AWS S3 and EC2 on-demand list prices, us-east-1, recorded 2026-11 "
             "(prices/default.yaml); verify before quoting");
    p->compute_vcpu_hour = 0.0425; /* c6i.large $0.085/h for 2 vCPU */
    p->nclasses = (int)TP_ARRAY_SIZE(default_classes);
    memcpy(p->classes, default_classes, sizeof(default_classes));
}

const struct price_class *prices_find(const struct prices *p, const char *name)
{
    for (int i = 0; i < p->nclasses; i++)
        if (!strcmp(p->classes[i].name, name))
            return &p->classes[i];
    return NULL;
}

double prices_billable_bytes(const struct price_class *pc, double bytes, double *std_out)
{
    double b = bytes, min = pc->min_billable_kb * PRICES_KB;
    if (b < min)
        b = min;
    if (std_out)
        *std_out = pc->overhead_standard_kb * PRICES_KB;
    return b + pc->overhead_kb * PRICES_KB;
}

double prices_object_month(const struct prices *p, const struct price_class *pc, double bytes)
{
    double std_bytes, b = prices_billable_bytes(pc, bytes, &std_bytes);
    double usd = b / PRICES_GB * pc->storage_gb_month;
    if (std_bytes > 0) {
        const struct price_class *st = prices_find(p, "STANDARD");
        usd += std_bytes / PRICES_GB * (st ? st->storage_gb_month : 0);
    }
    return usd;
}

/* ---- the YAML override file ------------------------------------------- */

struct pctx {
    const char *name;
    yaml_document_t *doc;
    int failed;
};

__attribute__((format(printf, 3, 4)))
static void err_at(struct pctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[300];
    va_list ap;
    if (c->failed++) /* the first problem is the one reported */
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tp_err_set("%s:%d:%d: %s", c->name, n ? (int)n->start_mark.line + 1 : 1,
               n ? (int)n->start_mark.column + 1 : 1, msg);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_num(struct pctx *c, yaml_node_t *n, const char *key, double lo, double hi,
                   double *out)
{
    const char *s = scalar(n);
    char *end;
    double v;
    if (!s || !*s || isspace((unsigned char)*s)) {
        err_at(c, n, "'%s' expects a number", key);
        return -1;
    }
    errno = 0;
    v = strtod(s, &end);
    if (*end || errno || !isfinite(v) || !strncasecmp(s, "0x", 2)) {
        err_at(c, n, "'%s' expects a number, got '%.40s'", key, s);
        return -1;
    }
    if (v < lo || v > hi) {
        err_at(c, n, "'%s' is out of range: %s (expected %g..%g)", key, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

/* Calls fn for each key/value of mapping n; reports a non-mapping. */
static int each_pair(struct pctx *c, yaml_node_t *n, const char *what,
                     int (*fn)(struct pctx *c, yaml_node_t *k, yaml_node_t *v, void *arg), void *arg)
{
    if (!n || n->type != YAML_MAPPING_NODE) {
        err_at(c, n, "'%s' expects a mapping", what);
        return -1;
    }
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, pr->value);
        if (!scalar(k)) {
            err_at(c, k, "expected a key name in %s", what);
            return -1;
        }
        if (fn(c, k, v, arg) < 0)
            return -1;
    }
    return 0;
}

static int class_key(struct pctx *c, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct price_class *pc = arg;
    const char *ks = scalar(k);
    double d;
    if (!strcmp(ks, "storage_gb_month"))
        return get_num(c, v, ks, 0, 1000, &pc->storage_gb_month);
    if (!strcmp(ks, "retrieval_gb"))
        return get_num(c, v, ks, 0, 1000, &pc->retrieval_gb);
    if (!strcmp(ks, "requests_per_1000"))
        return get_num(c, v, ks, 0, 1000, &pc->requests_per_1000);
    if (!strcmp(ks, "min_billable_kb"))
        return get_num(c, v, ks, 0, 1e6, &pc->min_billable_kb);
    if (!strcmp(ks, "overhead_kb"))
        return get_num(c, v, ks, 0, 1e6, &pc->overhead_kb);
    if (!strcmp(ks, "overhead_standard_kb"))
        return get_num(c, v, ks, 0, 1e6, &pc->overhead_standard_kb);
    if (!strcmp(ks, "min_storage_days")) {
        if (get_num(c, v, ks, 0, 3650, &d) < 0)
            return -1;
        if (d != floor(d)) {
            err_at(c, v, "'min_storage_days' expects a whole number of days");
            return -1;
        }
        pc->min_storage_days = (int)d;
        return 0;
    }
    err_at(c, k, "unknown key '%s' in a storage class (expected one of: storage_gb_month, "
                 "retrieval_gb, requests_per_1000, min_billable_kb, overhead_kb, "
                 "overhead_standard_kb, min_storage_days)", ks);
    return -1;
}

static int class_entry(struct pctx *c, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct prices *p = arg;
    const char *name = scalar(k);
    size_t len = strlen(name);
    struct price_class *pc = NULL;
    if (len == 0 || len >= sizeof(pc->name) || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != len) {
        err_at(c, k, "storage class name '%.40s' must be 1..23 characters of A-Z, 0-9, _", name);
        return -1;
    }
    for (int i = 0; i < p->nclasses; i++)
        if (!strcmp(p->classes[i].name, name))
            pc = &p->classes[i];
    if (!pc) {
        if (p->nclasses == PRICES_MAX_CLASSES) {
            err_at(c, k, "too many storage classes (at most %d)", PRICES_MAX_CLASSES);
            return -1;
        }
        pc = &p->classes[p->nclasses++];
        memset(pc, 0, sizeof(*pc));
        snprintf(pc->name, sizeof(pc->name), "%s", name);
    }
    return each_pair(c, v, name, class_key, pc);
}

static int compute_key(struct pctx *c, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct prices *p = arg;
    if (!strcmp(scalar(k), "vcpu_hour"))
        return get_num(c, v, "vcpu_hour", 0, 1000, &p->compute_vcpu_hour);
    err_at(c, k, "unknown key '%s' in compute (expected: vcpu_hour)", scalar(k));
    return -1;
}

static int root_key(struct pctx *c, yaml_node_t *k, yaml_node_t *v, void *arg)
{
    struct prices *p = arg;
    const char *ks = scalar(k);
    if (!strcmp(ks, "version")) {
        if (!scalar(v) || strcmp(scalar(v), "1")) {
            err_at(c, v, "unsupported price sheet version (this tierpress reads version 1)");
            return -1;
        }
        return 0;
    }
    if (!strcmp(ks, "currency")) {
        const char *cv = scalar(v);
        if (!cv || strlen(cv) != 3 || strspn(cv, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3) {
            err_at(c, v, "'currency' expects an ISO 4217 code such as USD or EUR (a label for "
                   "the figures: nothing is converted)");
            return -1;
        }
        snprintf(p->currency, sizeof(p->currency), "%s", cv);
        return 0;
    }
    if (!strcmp(ks, "source")) {
        if (!scalar(v)) {
            err_at(c, v, "'source' expects text");
            return -1;
        }
        snprintf(p->source, sizeof(p->source), "%s", scalar(v));
        return 0;
    }
    if (!strcmp(ks, "compute"))
        return each_pair(c, v, "compute", compute_key, p);
    if (!strcmp(ks, "classes"))
        return each_pair(c, v, "classes", class_entry, p);
    err_at(c, k, "unknown key '%s' at the top level (expected one of: version, currency, source, "
                 "compute, classes)", ks);
    return -1;
}

int prices_parse(struct prices *p, const char *name, const char *text, size_t len)
{
    yaml_parser_t yp;
    yaml_document_t doc;
    struct pctx c = { name ? name : "prices", &doc, 0 };
    yaml_node_t *root;
    int ret = 0;

    RETURN_ERR_IF(len > PRICES_MAX_BYTES, TP_ERR_LIMIT, "%s: price sheet larger than %d bytes",
                  c.name, PRICES_MAX_BYTES);
    if (name)
        snprintf(p->file, sizeof(p->file), "%s", name);
    if (!yaml_parser_initialize(&yp))
        return TP_ERR(ENOMEM);
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    if (!yaml_parser_load(&yp, &doc)) {
        tp_err_set("%s:%d:%d: YAML syntax error: %s", c.name, (int)yp.problem_mark.line + 1,
                   (int)yp.problem_mark.column + 1, yp.problem ? yp.problem : "?");
        yaml_parser_delete(&yp);
        return TP_ERR_INVALIDDATA;
    }
    root = yaml_document_get_root_node(&doc);
    if (root) /* an empty file overrides nothing */
        each_pair(&c, root, "the price sheet", root_key, p);
    if (c.failed)
        ret = TP_ERR_INVALIDDATA;
    yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    return ret;
}

int prices_load(struct prices *p, const char *path)
{
    struct tp_buf b = { 0 };
    int ret = file_read(path, PRICES_MAX_BYTES, &b);
    if (ret < 0) {
        char e[128];
        tp_err_set("%s: %s", path, tp_strerror(ret, e, sizeof(e)));
        return ret;
    }
    ret = prices_parse(p, path, (const char *)b.data, b.len);
    buf_free(&b);
    return ret;
}
