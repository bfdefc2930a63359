/* Component inventories for assets catalogued before they existed (rescan.h). */
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "components.h"
#include "err.h"
#include "home.h"
#include "image.h"
#include "probe.h"
#include "rescan.h"
#include "serve.h"

struct wanted {
    struct catalog *cat;
    int all;
    int64_t *id;
    size_t n, cap;
};

static int want_row(void *ud, const struct catalog_asset *a)
{
    struct wanted *w = ud;
    unsigned kinds;
    int ret;
    if (strcmp(a->kind, "image") || a->deleted_at[0])
        return 0;
    if (!w->all && (ret = catalog_components_get(w->cat, a->id, &kinds, NULL)) != 0)
        return ret < 0 ? ret : 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 256;
        int64_t *v = realloc(w->id, sizeof(*v) * cap);
        RETURN_ERR_IF(!v, TP_ERR(ENOMEM), "out of memory");
        w->id = v;
        w->cap = cap;
    }
    w->id[w->n++] = a->id;
    return 0;
}

static const char *source_name(int s)
{
    return s == SERVE_UPLOADED ? "uploaded" : s == SERVE_RECONSTRUCTED ? "reconstructed" : "current";
}

/* One asset: 1 stored, 0 skipped (it->error says why), negative when the
 * catalog failed. */
static int rescan_one(struct home *h, int64_t id, struct rescan_item *it, char *why,
                      size_t why_size)
{
    struct catalog_asset a;
    struct tp_buf b = { 0 };
    struct media_info mi;
    struct image_limits lim;
    char *inv = NULL, name[32];
    int ret, src;

    if ((ret = catalog_asset_get(h->cat, id, &a)) < 0)
        return ret;
    if ((src = serve_original(h, &a, 0, &b)) < 0) {
        tp_strerror(src, why, why_size);
        ret = 0;
        goto skip;
    }
    image_limits_defaults(&lim);
    snprintf(name, sizeof(name), "asset %lld", (long long)id);
    memset(&mi, 0, sizeof(mi));
    if ((ret = probe_media(b.data, b.len, name, &lim, &mi)) < 0 || strcmp(mi.kind, "image")) {
        if (ret < 0)
            tp_strerror(ret, why, why_size);
        else
            snprintf(why, why_size, "its %s bytes are not an image (%s)", source_name(src),
                     mi.format);
        ret = 0;
        goto skip;
    }
    if (!(inv = components_to_json(&mi.comp))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    it->source = source_name(src);
    it->kinds = components_kinds(&mi.comp);
    it->nparts = mi.comp.nparts;
    if ((ret = catalog_begin(h->cat)) < 0)
        goto end;
    if ((ret = catalog_components_put(h->cat, id, it->kinds, inv)) < 0 ||
        (ret = catalog_audit(h->cat, id, "components.rescan", inv)) < 0 ||
        (ret = catalog_commit(h->cat)) < 0) {
        catalog_rollback(h->cat);
        goto end;
    }
    ret = 1;
    goto end;
skip:
    tp_err_clear();
    it->error = why;
end:
    free(inv);
    buf_free(&b);
    return ret;
}

void rescan_defaults(struct rescan_opts *o)
{
    memset(o, 0, sizeof(*o));
}

int rescan_components(struct home *h, const struct rescan_opts *o, struct rescan_result *r)
{
    struct wanted w = { .cat = h->cat, .all = o->all };
    int ret;
    memset(r, 0, sizeof(*r));
    if ((ret = catalog_asset_iterate(h->cat, want_row, &w)) < 0)
        goto end;
    r->total = (int64_t)w.n;
    if (o->limit > 0 && r->total > o->limit)
        r->total = o->limit;
    for (int64_t i = 0; i < r->total; i++) {
        struct rescan_item it = { .asset_id = w.id[i], .index = i + 1, .total = r->total };
        char why[512];
        if ((ret = rescan_one(h, w.id[i], &it, why, sizeof(why))) < 0)
            goto end;
        if (ret > 0) {
            r->scanned++;
            r->filled++;
            r->with_parts += it.nparts > 0;
        } else {
            r->failed++;
        }
        if (o->on_item)
            o->on_item(o->ud, &it);
    }
    ret = 0;
end:
    free(w.id);
    return ret;
}
