/* Pairing a Live Photo's / motion photo's still with its video (pairs.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "err.h"
#include "home.h"
#include "log.h"
#include "pairs.h"
#include "timeutil.h"

#define PAIR_MAX_SECONDS 2

/* Length of path without its extension (the dot of the last component). */
static size_t stem_len(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
        return strlen(path);
    return (size_t)(dot - path);
}

static int has_cid(const struct pair_item *it) { return it->content_id && it->content_id[0]; }

/* The asset of it when it is of kind (and has a readable capture time when
 * t_out is given); 0 otherwise. */
static int item_asset(struct home *h, const struct pair_item *it, const char *kind,
                      struct catalog_asset *a, int64_t *t_out)
{
    if (catalog_asset_get(h->cat, it->asset_id, a) < 0 || strcmp(a->kind, kind) ||
        (t_out && (!a->capture_time[0] || time_parse(a->capture_time, t_out) < 0))) {
        tp_err_clear();
        return 0;
    }
    return 1;
}

/* Links a and b unless either is already in a pair: 1 linked, 0 not,
 * negative on error. */
static int link_two(struct home *h, const struct pair_item *ia, const struct pair_item *ib,
                    const char *how)
{
    int64_t partner;
    int ret;
    if ((ret = catalog_pair_get(h->cat, ia->asset_id, &partner)) != 0 ||
        (ret = catalog_pair_get(h->cat, ib->asset_id, &partner)) != 0)
        return ret < 0 ? ret : 0;
    if ((ret = catalog_pair_put(h->cat, ia->asset_id, ib->asset_id, how)) < 0)
        return ret;
    tp_log(TP_LOG_INFO, "%s and %s: one Live Photo (assets %lld + %lld, by %s)", ia->path,
           ib->path, (long long)ia->asset_id, (long long)ib->asset_id, how);
    return 1;
}

int pairs_link_stored(struct home *h, int64_t asset_id, const char *kind, int64_t *partner_out)
{
    int64_t other;
    int ret;
    *partner_out = 0;
    if ((ret = catalog_content_id_match(h->cat, asset_id, &other)) <= 0)
        return ret;
    int still = !strcmp(kind, "image");
    ret = catalog_pair_put(h->cat, still ? asset_id : other, still ? other : asset_id, "content_id");
    if (ret == TP_ERR_DUPLICATE) { /* a concurrent upload linked one of them first */
        tp_err_clear();
        return 0;
    }
    if (ret < 0)
        return ret;
    tp_log(TP_LOG_INFO, "assets %lld and %lld: one Live Photo (by content_id)",
           (long long)asset_id, (long long)other);
    *partner_out = other;
    return 1;
}

int pairs_link(struct home *h, const struct pair_item *items, int n)
{
    int linked = 0, ret;
    struct catalog_asset a, b;
    int64_t ta, tb;
    /* the same base name and capture times within 2 s (the content
     * identifier linked its pairs as each file was catalogued:
     * pairs_link_stored) */
    for (int i = 0; i < n; i++) {
        if (!item_asset(h, &items[i], "image", &a, &ta))
            continue;
        size_t sl = stem_len(items[i].path);
        for (int j = 0; j < n; j++) {
            if (j == i || stem_len(items[j].path) != sl ||
                strncasecmp(items[i].path, items[j].path, sl))
                continue;
            if (has_cid(&items[i]) && has_cid(&items[j]) &&
                strcmp(items[i].content_id, items[j].content_id))
                continue; /* two Live Photos that happen to share a name */
            if (!item_asset(h, &items[j], "video", &b, &tb) || llabs(ta - tb) > PAIR_MAX_SECONDS)
                continue;
            if ((ret = link_two(h, &items[i], &items[j], "name+time")) < 0)
                return ret;
            if (ret > 0) {
                linked++;
                break;
            }
        }
    }
    return linked;
}

int pairs_trash(struct home *h, int64_t asset_id, const char *deleted_at, int64_t *partner_out)
{
    int64_t partner = 0;
    int ret;
    if (partner_out)
        *partner_out = 0;
    FORWARD_ERR(catalog_begin(h->cat));
    if ((ret = catalog_asset_trash(h->cat, asset_id, deleted_at)) < 0 ||
        (ret = catalog_pair_get(h->cat, asset_id, &partner)) < 0 ||
        (ret > 0 && (ret = catalog_asset_trash(h->cat, partner, deleted_at)) < 0) ||
        (ret = catalog_commit(h->cat)) < 0) {
        catalog_rollback(h->cat);
        return ret;
    }
    if (partner_out)
        *partner_out = partner;
    return 0;
}
