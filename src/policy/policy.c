/* The policy file: YAML (libyaml document API) -> struct policy, with
 * file:line:column diagnostics that say what was expected.  This file
 * parses the sections and holds the entry points; the grammar tables, the
 * YAML readers and the whole-policy checks are its siblings (policy_int.h). */
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
#include "components.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"
#include "policy_int.h"
#include "proxy.h"
#include "search.h"

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
               policy_describe(n, b, sizeof(b)));
        return -1;
    }
    if (policy_map_keys(c, n, key, policy_range_keys, v, k) < 0)
        return -1;
    if (!v[0] && !v[1]) {
        ERR_AT(c, n, "'%s' needs 'min' and/or 'max'", key);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        char kn[64];
        if (!v[i])
            continue;
        snprintf(kn, sizeof(kn), "%s.%s", key, policy_range_keys[i]);
        if ((sizes ? policy_get_size(c, v[i], kn, &x) : policy_get_int(c, v[i], kn, lo, hi, &x)) < 0) {
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
    const char *s = policy_scalar(item);
    if (!s || !*s) {
        policy_wrong_type(c, item, key, "a format name");
        return -1;
    }
    const char *name = policy_canonical_name(s);
    if (!codec_find_by_name(name)) {
        const char *known_formats[NAMES_MAX];
        codec_names(known_formats, NAMES_MAX, CODEC_CAP_DECODE, 0, 0);
        const char *near = policy_nearest(name, known_formats);
        char exp[200];
        policy_join(exp, sizeof(exp), known_formats);
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
    int k = policy_get_enum(c, item, key, kinds);
    if (k < 0)
        return -1;
    m->kinds |= 1u << k;
    return 0;
}

static int add_has(struct pctx *c, yaml_node_t *item, const char *key, void *arg)
{
    static const char *names[COMP_NKINDS + 1];
    struct policy_cond *m = arg;
    for (int i = 0; i < COMP_NKINDS; i++)
        names[i] = components_kind_name((enum comp_kind)i);
    int k = policy_get_enum(c, item, key, names);
    if (k < 0)
        return -1;
    m->has |= 1u << k;
    return 0;
}

static int add_health(struct pctx *c, yaml_node_t *item, const char *key, void *arg)
{
    struct policy_cond *m = arg;
    const char *s = policy_scalar(item);
    for (int i = 0; s && policy_health_costly[i]; i++)
        if (!strcmp(s, policy_health_costly[i])) {
            char exp[200];
            policy_join(exp, sizeof(exp), policy_health_names);
            ERR_AT(c, item, "'%s': '%s' needs the originals read (tierpress health); a policy "
                            "can match on %s", key, s, exp);
            return -1;
        }
    int k = policy_get_enum(c, item, key, policy_health_names);
    if (k < 0)
        return -1;
    m->health |= 1u << k;
    return 0;
}

static int parse_match(struct pctx *c, yaml_node_t *n, struct policy_cond *m)
{
    yaml_node_t *v[16], *k[16]; /* one per policy_match_keys entry */
    int64_t x;
    int ret = 0;
    m->loc = policy_node_loc(n);
    if (policy_map_keys(c, n, "match", policy_match_keys, v, k) < 0)
        return -1;
    if (v[0] && v[2]) {
        ERR_AT(c, k[2], "'accessed_within_days' and 'days_since_access' test the same thing; "
                        "use one of them");
        ret = -1;
    }
    if (v[0]) { /* accessed_within_days: N  ==  days_since_access: {max: N} */
        if (policy_get_int(c, v[0], "accessed_within_days", 0, DAYS_MAX, &x) < 0) {
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
        if (policy_map_keys(c, v[3], "access_count", policy_count_keys, cv, ck) < 0) {
            ret = -1;
        } else {
            if (cv[0]) {
                if (policy_get_int(c, cv[0], "access_count.window_days", 0, 365, &x) < 0) {
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
            if (cv[1] && policy_get_int(c, cv[1], "access_count.min", 0, COUNT_MAX, &m->access_count.min) < 0)
                ret = -1;
            if (cv[2] && policy_get_int(c, cv[2], "access_count.max", 0, COUNT_MAX, &m->access_count.max) < 0)
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
        if (policy_each_item(c, v[4], "format", POLICY_MAX_FORMATS, add_format, m) < 0)
            ret = -1;
    }
    if (v[5]) {
        m->set |= POLICY_COND_KIND;
        if (policy_each_item(c, v[5], "kind", 2, add_kind, m) < 0)
            ret = -1;
    }
    if (v[6]) {
        m->set |= POLICY_COND_BYTES;
        if (parse_range(c, v[6], "bytes", 0, BYTES_MAX, 1, &m->bytes) < 0)
            ret = -1;
    }
    if (v[8]) {
        const char *b = v[8]->type == YAML_SCALAR_NODE ? (const char *)v[8]->data.scalar.value : "";
        m->set |= POLICY_COND_CAPTURE_KNOWN;
        if (!strcmp(b, "true")) {
            m->capture_known = 1;
        } else if (!strcmp(b, "false")) {
            m->capture_known = 0;
        } else {
            policy_wrong_type(c, v[8], "capture_time_known", "true or false");
            ret = -1;
        }
    }
    if (v[7]) {
        yaml_node_t *rv[3], *rk[3];
        m->set |= POLICY_COND_MEGAPIXELS;
        if (v[7]->type == YAML_SCALAR_NODE) {
            policy_wrong_type(c, v[7], "megapixels", "a mapping {min: N, max: N}");
            ret = -1;
        } else if (policy_map_keys(c, v[7], "megapixels", policy_range_keys, rv, rk) < 0) {
            ret = -1;
        } else if (!rv[0] && !rv[1]) {
            ERR_AT(c, v[7], "'megapixels' needs 'min' and/or 'max'");
            ret = -1;
        } else {
            if (rv[0] && policy_get_num(c, rv[0], "megapixels.min", 0, MP_MAX, &m->mp_min) < 0)
                ret = -1;
            if (rv[1] && policy_get_num(c, rv[1], "megapixels.max", 0, MP_MAX, &m->mp_max) < 0)
                ret = -1;
            if (!ret && rv[0] && rv[1] && m->mp_min > m->mp_max) {
                ERR_AT(c, v[7], "impossible condition: 'megapixels' min %g is greater than max %g",
                       m->mp_min, m->mp_max);
                ret = -1;
            }
        }
    }
    if (v[9]) {
        m->set |= POLICY_COND_HAS;
        if (policy_each_item(c, v[9], "has", COMP_NKINDS, add_has, m) < 0)
            ret = -1;
    }
    if (v[10]) {
        static const char *const bools[] = { "true", "false", NULL };
        int b = policy_get_enum(c, v[10], "near_duplicate", bools);
        if (b < 0)
            ret = -1;
        m->near_duplicate = b == 0;
        m->set |= POLICY_COND_NEAR_DUP;
    }
    if (v[11]) {
        m->set |= POLICY_COND_HEALTH;
        if (policy_each_item(c, v[11], "health", 4, add_health, m) < 0)
            ret = -1;
    }
    return ret;
}

/* ---- actions ------------------------------------------------------------ */

/* Checks an encoder name; writes the canonical name.  need: CODEC_CAP_*
 * bits beyond ENCODE that the use requires (0 or LOSSLESS). */
static int check_codec(struct pctx *c, yaml_node_t *n, const char *key, int lossless, char *out,
                       size_t len)
{
    const char *s = policy_scalar(n);
    if (!s || !*s) {
        policy_wrong_type(c, n, key, "a codec name");
        return -1;
    }
    const char *name = policy_canonical_name(s);
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
        const char *near = policy_nearest(name, known_codecs);
        char exp[200];
        policy_join(exp, sizeof(exp), known_codecs);
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
    int k = policy_get_enum(c, item, key, names);
    if (k < 0)
        return -1;
    *mask |= k == 3 ? POLICY_META_ALL : k == 4 ? 0 : 1u << k;
    return 0;
}

/* Parses a transcode: mapping over t (which holds the inherited values). */
static int parse_transcode(struct pctx *c, yaml_node_t *n, struct policy_transcode *t)
{
    static const char *const modes[] = { "none", "lossless", "lossy", NULL };
    yaml_node_t *v[11], *k[11];
    int64_t x;
    int ret = 0;
    t->loc = policy_node_loc(n);
    if (policy_map_keys(c, n, "transcode", policy_transcode_keys, v, k) < 0)
        return -1;
    if (v[0]) {
        int m = policy_get_enum(c, v[0], "mode", modes);
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
        if (policy_each_item(c, v[1], "codecs", POLICY_MAX_CODECS, add_codec, &a) < 0)
            ret = -1;
    }
    if (v[2]) {
        if (policy_get_num(c, v[2], "ssim", 0.9, 1.0, &t->ssim) < 0)
            ret = -1;
        t->set |= POLICY_TC_SSIM;
    }
    if (v[3]) {
        if (policy_get_num(c, v[3], "tile_ssim", 0.5, 1.0, &t->tile_ssim) < 0)
            ret = -1;
        t->set |= POLICY_TC_TILE;
    }
    if (v[4]) {
        if (policy_get_num(c, v[4], "chroma_ssim", 0.5, 1.0, &t->chroma_ssim) < 0)
            ret = -1;
        t->set |= POLICY_TC_CHROMA;
    }
    if (v[5]) {
        if (policy_get_int(c, v[5], "effort", 0, 9, &x) < 0)
            ret = -1;
        else
            t->effort = (int)x;
        t->set |= POLICY_TC_EFFORT;
    }
    if (v[6]) {
        const char *s = policy_scalar(v[6]);
        if (s && !strcmp(s, "auto"))
            t->subsampling = 0;
        else if (s && (!strcmp(s, "420") || !strcmp(s, "422") || !strcmp(s, "444")))
            t->subsampling = atoi(s);
        else {
            policy_wrong_type(c, v[6], "subsampling", "auto, 420, 422 or 444");
            ret = -1;
        }
        t->set |= POLICY_TC_SUBSAMPLING;
    }
    if (v[7]) {
        const char *s = policy_scalar(v[7]);
        size_t l = s ? strlen(s) : 0;
        if (l > 1 && s[l - 1] == '%') { /* "10%" */
            char num[32];
            double pct;
            char *end;
            snprintf(num, sizeof(num), "%.*s", (int)(l - 1), s);
            pct = strtod(num, &end);
            if (*end || end == num) {
                policy_wrong_type(c, v[7], "min_saving", "a fraction 0..0.9 or a percentage");
                ret = -1;
            } else if (pct < 0 || pct > 90) {
                ERR_AT(c, v[7], "'min_saving' is out of range: %s (expected 0..90%%)", s);
                ret = -1;
            } else {
                t->min_saving = pct / 100;
            }
        } else if (policy_get_num(c, v[7], "min_saving", 0, 0.9, &t->min_saving) < 0) {
            ret = -1;
        }
        t->set |= POLICY_TC_MIN_SAVING;
    }
    if (v[8]) {
        t->keep_meta = 0;
        t->set |= POLICY_TC_META;
        if (policy_each_item(c, v[8], "keep_metadata", 5, add_meta, &t->keep_meta) < 0)
            ret = -1;
    }
    if (v[9]) {
        if (policy_get_num(c, v[9], "butteraugli_max", 0.1, 10.0, &t->butteraugli_max) < 0)
            ret = -1;
        t->set |= POLICY_TC_BUTTERAUGLI;
    }
    if (v[10]) {
        if (policy_get_num(c, v[10], "max_cpu_s_per_mp", 0.01, 1000, &t->max_cpu_s_per_mp) < 0)
            ret = -1;
        t->set |= POLICY_TC_CPU;
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
    px->loc = policy_node_loc(n);
    if (policy_map_keys(c, n, "a proxy", policy_proxy_keys, v, k) < 0)
        return -1;
    for (int i = 0; i < 3; i++) {
        if (!v[i]) {
            ERR_AT(c, n, "proxy is missing required key '%s'", policy_proxy_keys[i]);
            ret = -1;
        }
    }
    if (v[0] && policy_get_name(c, v[0], "name", px->name, sizeof(px->name)) < 0)
        ret = -1;
    if (v[1]) {
        if (policy_get_int(c, v[1], "max_edge", 16, 16384, &x) < 0)
            ret = -1;
        else
            px->max_edge = (int)x;
    }
    if (v[2] && v[2]->type == YAML_SCALAR_NODE &&
        !strcmp((const char *)v[2]->data.scalar.value, PROXY_FORMAT_MOTION))
        snprintf(px->format, sizeof(px->format), "%s", PROXY_FORMAT_MOTION);
    else if (v[2] && check_codec(c, v[2], "format", 0, px->format, sizeof(px->format)) < 0)
        ret = -1;
    if (v[3]) {
        if (policy_get_int(c, v[3], "quality", 1, 100, &x) < 0)
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
        policy_wrong_type(c, n, "proxies", "a list of {name, max_edge, format, quality}");
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
    a->loc_original = policy_node_loc(n);
    if (n && n->type == YAML_MAPPING_NODE) {
        yaml_node_t *v[1], *k[1];
        int64_t x;
        if (policy_map_keys(c, n, "original", policy_original_keys, v, k) < 0)
            return -1;
        if (!v[0]) {
            ERR_AT(c, n, "'original' mapping needs 'delete_after_days'");
            return -1;
        }
        if (policy_get_int(c, v[0], "delete_after_days", 0, DAYS_MAX, &x) < 0)
            return -1;
        a->original = POLICY_ORIGINAL_DELETE_AFTER;
        a->delete_after_days = (int)x;
        return 0;
    }
    if (!policy_scalar(n)) {
        policy_wrong_type(c, n, "original", "keep, never_delete or {delete_after_days: N}");
        return -1;
    }
    int w = policy_get_enum(c, n, "original", words);
    if (w < 0)
        return -1;
    a->original = w ? POLICY_ORIGINAL_NEVER_DELETE : POLICY_ORIGINAL_KEEP;
    return 0;
}

/* Parses the action keys of a defaults: or tier mapping (their values
 * given in v[] in policy_defaults_keys order) over a. */
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
        int sc = policy_get_enum(c, v[3], "storage_class", policy_storage_classes);
        a->loc_storage = policy_node_loc(v[3]);
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
    t->loc = policy_node_loc(n);
    t->act = c->p->defaults;
    t->match.loc = t->loc;
    t->match.age_days.min = t->match.idle_days.min = t->match.bytes.min = INT64_MIN;
    t->match.age_days.max = t->match.idle_days.max = t->match.bytes.max = INT64_MAX;
    t->match.mp_max = HUGE_VAL;
    if (policy_map_keys(c, n, "a tier", policy_tier_keys, v, k) < 0)
        return -1;
    if (!v[0]) {
        ERR_AT(c, n, "tier is missing required key 'name'");
        ret = -1;
    } else if (policy_get_name(c, v[0], "name", t->name, sizeof(t->name)) < 0) {
        ret = -1;
    }
    if (v[1] && policy_get_text(c, v[1], "description", t->description, sizeof(t->description)) < 0)
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
    const char *s = policy_scalar(n);
    char *end;
    long major, minor = 0;
    if (!s || !isdigit((unsigned char)*s)) {
        policy_wrong_type(c, n, "version", "a version number such as 1");
        return;
    }
    errno = 0;
    major = strtol(s, &end, 10);
    if (*end == '.' && isdigit((unsigned char)end[1]))
        minor = strtol(end + 1, &end, 10);
    if (*end || errno) {
        policy_wrong_type(c, n, "version", "a version number such as 1");
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

int policy_ensure_storage(struct policy *p)
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
        policy_diag(p, loc, 0, "YAML syntax error: %s, %s at line %d%s",
             yp->problem ? yp->problem : "?", yp->context, (int)yp->context_mark.line + 1, hint);
    else
        policy_diag(p, loc, 0, "YAML syntax error: %s%s", yp->problem ? yp->problem : "?", hint);
}

/* Nesting deeper than this is refused before the document is built:
 * libyaml's scanner is quadratic in the depth of flow collections. */
#define POLICY_MAX_DEPTH 64

/* Walks the events only as far as the first collection nested deeper than
 * POLICY_MAX_DEPTH and reports it there; syntax errors are left to the
 * loader.  Returns 1 when too deep, 0 otherwise. */
static int too_deep(struct policy *p, const char *text, size_t len)
{
    yaml_parser_t yp;
    yaml_event_t ev;
    int depth = 0, deep = 0;

    if (!yaml_parser_initialize(&yp))
        return 0; /* the loader reports the allocation failure */
    yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
    while (yaml_parser_parse(&yp, &ev)) {
        yaml_event_type_t t = ev.type;
        struct policy_loc loc = { (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1 };
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
        if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
            if (++depth > POLICY_MAX_DEPTH) {
                policy_diag(p, loc, 0, "nesting deeper than %d levels", POLICY_MAX_DEPTH);
                deep = 1;
                break;
            }
        } else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT) {
            depth--;
        }
    }
    yaml_parser_delete(&yp);
    return deep;
}

int policy_parse(struct policy *p, const char *name, const char *text, size_t len)
{
    yaml_parser_t yp;
    yaml_document_t doc, doc2;
    int have_doc = 0, ret;
    struct pctx c = { p, &doc };

    if (name)
        snprintf(p->file, sizeof(p->file), "%s", name);
    FORWARD_ERR(policy_ensure_storage(p));
    if (len > POLICY_MAX_BYTES) {
        policy_diag(p, (struct policy_loc){ 0, 0 }, 0, "policy file is %zu bytes (at most %d)", len,
             POLICY_MAX_BYTES);
        return policy_finish(p);
    }
    if (too_deep(p, text, len))
        return policy_finish(p);
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
        policy_diag(p, (struct policy_loc){ 1, 1 }, 0,
             "empty policy (expected a mapping with 'version' and 'tiers')");
        goto end;
    }
    /* A second document would be silently ignored: refuse it. */
    if (!yaml_parser_load(&yp, &doc2)) {
        syntax_error(p, &yp, text, len);
    } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
        if (r2)
            policy_diag(p, policy_node_loc(r2), 0, "a second YAML document ('---'); a policy is one document");
        yaml_document_delete(&doc2);
    }

    yaml_node_t *v[4], *k[4];
    if (policy_map_keys(&c, root, "the policy", policy_root_keys, v, k) < 0)
        goto end;
    if (!v[0])
        ERR_AT(&c, root, "missing required key 'version' (add 'version: %d' at the top)",
               POLICY_VERSION_MAJOR);
    else
        parse_version(&c, v[0]);
    if (v[1])
        policy_get_text(&c, v[1], "description", p->description, sizeof(p->description));
    if (v[2]) {
        yaml_node_t *dv[4], *dk[4];
        if (policy_map_keys(&c, v[2], "defaults", policy_defaults_keys, dv, dk) == 0)
            parse_actions(&c, dv, &p->defaults);
    }
    if (!v[3]) {
        ERR_AT(&c, root, "missing required key 'tiers' (a list of tiers)");
    } else if (v[3]->type != YAML_SEQUENCE_NODE) {
        policy_wrong_type(&c, v[3], "tiers", "a list of tiers");
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
    ret = policy_finish(p);
    return ret;
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
    return ret < 0 ? policy_finish(p) : vret;
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
