#ifndef TP_SRC_POLICY_INT_H
#define TP_SRC_POLICY_INT_H

/* Inside the policy reader (see policy.h), shared by its parts:
 *   policy.c          parsing: match, actions, tiers; the entry points
 *   policy_grammar.c  the grammar tables: keys per context, storage classes
 *   policy_yaml.c     diagnostics, key schemas, scalar readers over libyaml
 *   policy_validate.c checks across the whole policy (floors, codecs, tiers)
 * Codec and format names are the codec registry's (codecs/registry.c). */

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "policy.h"

/* Codec and format names, aliases, video encoders: asked of the codec
 * registry (codecs/registry.c), never listed here. */
#define NAMES_MAX 48

#define DAYS_MAX   36500    /* 100 years */
#define COUNT_MAX  1000000000LL
#define BYTES_MAX  (1LL << 50)
#define MP_MAX     10000.0

struct pctx {
    struct policy *p;
    yaml_document_t *doc;
};

/* ---- policy_grammar.c: where each key is valid ---------------------------- */

extern const char *const policy_root_keys[], *const policy_defaults_keys[],
    *const policy_tier_keys[], *const policy_match_keys[], *const policy_health_costly[], *const policy_transcode_keys[],
    *const policy_proxy_keys[], *const policy_range_keys[], *const policy_count_keys[],
    *const policy_original_keys[];
struct policy_key_context {
    const char *const *keys;
    const char *where;
};
/* So a key in the wrong place gets a pointer to the right one. */
extern const struct policy_key_context policy_key_contexts[];
extern const size_t policy_key_contexts_len;

/* ---- policy_yaml.c -------------------------------------------------------- */

struct policy_loc policy_node_loc(const yaml_node_t *n);
/* Records an error (warning = 0) or a warning at loc. */
void policy_diag(struct policy *p, struct policy_loc loc, int warning, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define ERR_AT(c, node, ...) policy_diag((c)->p, policy_node_loc(node), 0, __VA_ARGS__)
#define WARN_AT(c, node, ...) policy_diag((c)->p, policy_node_loc(node), 1, __VA_ARGS__)
/* The return value of parse/validate, with the first error as detail. */
int policy_finish(struct policy *p);
/* The entry of list closest to s (edit distance <= max(2, len/3)), or NULL. */
const char *policy_nearest(const char *s, const char *const *list);
void policy_join(char *buf, size_t len, const char *const *list);
int policy_in_list(const char *s, const char *const *list);
/* A codec/format name or alias as the registry spells it (else s). */
const char *policy_canonical_name(const char *s);
const char *policy_scalar(const yaml_node_t *n);
const char *policy_describe(const yaml_node_t *n, char *buf, size_t len);
void policy_wrong_type(struct pctx *c, const yaml_node_t *n, const char *key, const char *expected);
int policy_map_keys(struct pctx *c, yaml_node_t *n, const char *what, const char *const *keys,
                    yaml_node_t **vals_out, yaml_node_t **keys_out);
int policy_get_int(struct pctx *c, yaml_node_t *n, const char *key, int64_t lo, int64_t hi,
                   int64_t *out);
int policy_get_num(struct pctx *c, yaml_node_t *n, const char *key, double lo, double hi,
                   double *out);
int policy_get_size(struct pctx *c, yaml_node_t *n, const char *key, int64_t *out);
int policy_get_enum(struct pctx *c, yaml_node_t *n, const char *key, const char *const *allowed);
int policy_get_name(struct pctx *c, yaml_node_t *n, const char *key, char *out, size_t len);
int policy_get_text(struct pctx *c, yaml_node_t *n, const char *key, char *out, size_t len);
/* Calls fn for each item of list n (a scalar counts as a one-item list),
 * at most max items. */
int policy_each_item(struct pctx *c, yaml_node_t *n, const char *key, int max,
                     int (*fn)(struct pctx *, yaml_node_t *, const char *, void *), void *arg);

/* ---- policy.c ------------------------------------------------------------- */

/* Allocates p's diagnostics and tiers when not yet done. */
int policy_ensure_storage(struct policy *p);

#endif /* TP_SRC_POLICY_INT_H */
