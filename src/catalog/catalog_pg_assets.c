/* The PostgreSQL catalog: blobs, assets, renditions, access statistics,
 * the audit trail, the pointer swap, keyset-paginated scans and the COPY
 * bulk load.  Semantics as catalog.h and catalog_sqlite.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog_pg_int.h"
#include "err.h"
#include "log.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c

/* Adds delta references to a recorded blob. */
static int blob_ref(struct catalog_pg *cp, const char *hash, int64_t delta)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_text(&p, hash);
    pgp_int(&p, delta);
    FORWARD_ERR(n = pgc_exec(cp, P_BLOB_REF_N, &p, NULL, "blob reference count"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "catalog %s: blob %s is not recorded", cp->where, hash);
    return 0;
}

/* ---- blobs -------------------------------------------------------------- */

static int blob_add_body(struct catalog_pg *cp, const char *hash, uint64_t bytes, const char *sc)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_text(&p, hash);
    pgp_int(&p, (int64_t)bytes);
    pgp_text(&p, sc);
    FORWARD_ERR(n = pgc_exec(cp, P_BLOB_ADD, &p, NULL, "add blob"));
    if (n != 1)
        return 0;
    return pgc_audit_take(cp, 0, "blob.add", audit_blob_add(hash, bytes));
}

int pg_blob_add(struct catalog *c, const char *hash, uint64_t bytes, const char *sc)
{
    CP;
    return PG_ATOMIC(cp, blob_add_body(cp, hash, bytes, sc));
}

static void read_blob(const PGresult *r, int i, struct catalog_blob *b)
{
    memset(b, 0, sizeof(*b));
    pg_text(r, i, 0, b->hash, sizeof(b->hash));
    b->bytes = (uint64_t)pg_int(r, i, 1);
    pg_text(r, i, 2, b->storage_class, sizeof(b->storage_class));
    b->refcount = pg_int(r, i, 3);
    pg_text(r, i, 4, b->created, sizeof(b->created));
    pg_text(r, i, 5, b->delete_after, sizeof(b->delete_after));
    b->expected_refcount = -1;
}

int pg_blob_get(struct catalog *c, const char *hash, struct catalog_blob *b)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_text(&p, hash);
    FORWARD_ERR(n = pgc_read(cp, P_BLOB_GET, &p, &r, "get blob"));
    if (n == 0) {
        PQclear(r);
        tp_err_set("blob %s is not in the catalog", hash);
        return TP_ERR_NOTFOUND;
    }
    read_blob(r, 0, b);
    PQclear(r);
    return 0;
}

int pg_blob_count(struct catalog *c, int64_t *n)
{
    CP;
    PGresult *r;
    FORWARD_ERR(pgc_read(cp, P_BLOB_COUNT, NULL, &r, "count blobs"));
    *n = pg_int(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_blob_set_class(struct catalog *c, const char *hash, const char *sc)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    pgp_text(&p, hash);
    pgp_text(&p, sc);
    FORWARD_ERR(n = pgc_exec(cp, P_BLOB_SET_CLASS, &p, NULL, "set blob class"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "catalog %s: blob %s is not recorded", cp->where, hash);
    return 0;
}

int pg_blob_ref_add(struct catalog *c, const char *hash, int64_t n)
{
    CP;
    return blob_ref(cp, hash, n);
}

static int blob_remove_body(struct catalog_pg *cp, const char *hash)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_text(&p, hash);
    FORWARD_ERR(n = pgc_exec(cp, P_BLOB_REMOVE, &p, NULL, "remove blob"));
    RETURN_ERR_IF(n != 1, TP_ERR_CONFLICT, "blob %.12s is still referenced or unknown", hash);
    return pgc_audit_take(cp, 0, "blob.remove", audit_blob(hash));
}

int pg_blob_remove(struct catalog *c, const char *hash)
{
    CP;
    return PG_ATOMIC(cp, blob_remove_body(cp, hash));
}

/* Every blob in hash order, a page at a time, with the references counted
 * from the pointers. */
int pg_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud)
{
    CP;
    char after[SHA256_HEX_LEN + 1] = "";
    struct catalog_blob b;
    PGresult *r;
    int n, ret = 0;
    do {
        struct pg_params p = { .n = 0 };
        p.v[p.n++] = after; /* "" sorts before every hash */
        pgp_int(&p, PG_PAGE_ROWS);
        FORWARD_ERR(n = pgc_read(cp, P_BLOB_PAGE, &p, &r, "list blobs"));
        for (int i = 0; i < n && !ret; i++) {
            read_blob(r, i, &b);
            b.expected_refcount = pg_int(r, i, 6);
            ret = fn(ud, &b);
        }
        if (n > 0)
            pg_text(r, n - 1, 0, after, sizeof(after));
        PQclear(r);
    } while (!ret && n == PG_PAGE_ROWS);
    return ret;
}

/* ---- assets ------------------------------------------------------------- */

static void asset_params(struct pg_params *p, const struct catalog_asset *a)
{
    pgp_text(p, a->sha256);
    pgp_text(p, a->kind);
    pgp_text(p, a->format);
    pgp_int(p, a->width);
    pgp_int(p, a->height);
    pgp_int(p, (int64_t)a->bytes);
    pgp_text(p, a->capture_time);
    pgp_text(p, a->upload_time);
    pgp_text(p, a->camera_make);
    pgp_text(p, a->camera_model);
    pgp_int(p, !!a->has_gps);
    pgp_int(p, a->orientation >= 1 && a->orientation <= 8 ? a->orientation : 1);
    pgp_real(p, a->duration, a->duration <= 0);
    pgp_text(p, a->current_blob);
    pgp_text(p, a->storage_class);
    pgp_text(p, a->tier);
    pgp_text(p, a->original_blob);
    pgp_text(p, a->owner);
    pgp_text(p, a->file_name);
    pgp_text(p, a->external_id);
}

static int asset_insert_body(struct catalog_pg *cp, struct catalog_asset *a)
{
    struct pg_params p = { .n = 0 };
    PGresult *r;
    asset_params(&p, a);
    FORWARD_ERR(pgc_exec(cp, P_ASSET_INSERT, &p, &r, "insert asset"));
    a->id = pg_int(r, 0, 0);
    PQclear(r);
    FORWARD_ERR(blob_ref(cp, a->current_blob, 1));
    if (a->original_blob[0])
        FORWARD_ERR(blob_ref(cp, a->original_blob, 1));
    return pgc_audit_take(cp, a->id, "asset.insert", audit_asset_insert(a));
}

int pg_asset_insert(struct catalog *c, struct catalog_asset *a)
{
    CP;
    return PG_ATOMIC(cp, asset_insert_body(cp, a));
}

static void read_asset(const PGresult *r, int i, struct catalog_asset *a)
{
    memset(a, 0, sizeof(*a));
    a->id = pg_int(r, i, 0);
    pg_text(r, i, 1, a->sha256, sizeof(a->sha256));
    pg_text(r, i, 2, a->kind, sizeof(a->kind));
    pg_text(r, i, 3, a->format, sizeof(a->format));
    a->width = (int)pg_int(r, i, 4);
    a->height = (int)pg_int(r, i, 5);
    a->bytes = (uint64_t)pg_int(r, i, 6);
    pg_text(r, i, 7, a->capture_time, sizeof(a->capture_time));
    pg_text(r, i, 8, a->upload_time, sizeof(a->upload_time));
    pg_text(r, i, 9, a->camera_make, sizeof(a->camera_make));
    pg_text(r, i, 10, a->camera_model, sizeof(a->camera_model));
    a->has_gps = (int)pg_int(r, i, 11);
    a->orientation = (int)pg_int(r, i, 12);
    a->duration = pg_real(r, i, 13, 0);
    pg_text(r, i, 14, a->current_blob, sizeof(a->current_blob));
    pg_text(r, i, 15, a->storage_class, sizeof(a->storage_class));
    pg_text(r, i, 16, a->tier, sizeof(a->tier));
    pg_text(r, i, 17, a->original_blob, sizeof(a->original_blob));
    pg_text(r, i, 18, a->original_delete_after, sizeof(a->original_delete_after));
    pg_text(r, i, 19, a->owner, sizeof(a->owner));
    pg_text(r, i, 20, a->file_name, sizeof(a->file_name));
    pg_text(r, i, 21, a->external_id, sizeof(a->external_id));
    pg_text(r, i, 22, a->deleted_at, sizeof(a->deleted_at));
}

static int one_asset(struct catalog_pg *cp, enum pg_stmt id, struct pg_params *p,
                     struct catalog_asset *out)
{
    PGresult *r;
    int n;
    FORWARD_ERR(n = pgc_read(cp, id, p, &r, "get asset"));
    if (n == 0) {
        PQclear(r);
        tp_err_set("no such asset");
        return TP_ERR_NOTFOUND;
    }
    read_asset(r, 0, out);
    PQclear(r);
    return 0;
}

int pg_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_int(&p, id);
    return one_asset(cp, P_ASSET_GET, &p, out);
}

int pg_asset_find(struct catalog *c, const char *sha, struct catalog_asset *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, sha);
    return one_asset(cp, P_ASSET_FIND, &p, out);
}

int pg_asset_find_owner(struct catalog *c, const char *owner, const char *sha,
                        struct catalog_asset *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, owner);
    pgp_text(&p, sha);
    return one_asset(cp, P_ASSET_FIND_OWNER, &p, out);
}

static int trash_body(struct catalog_pg *cp, int64_t id, const char *deleted_at)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, id);
    pgp_text(&p, deleted_at);
    FORWARD_ERR(n = pgc_exec(cp, P_ASSET_TRASH, &p, NULL, "trash asset"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "no asset %lld", (long long)id);
    return pgc_audit(cp, id, deleted_at && *deleted_at ? "asset.trash" : "asset.restore", NULL);
}

int pg_asset_trash(struct catalog *c, int64_t id, const char *deleted_at)
{
    CP;
    return PG_ATOMIC(cp, trash_body(cp, id, deleted_at));
}

static int delete_body(struct catalog_pg *cp, int64_t id)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, id);
    FORWARD_ERR(pgc_exec(cp, P_ASSET_UNREF, &p, NULL, "release the asset's blobs"));
    FORWARD_ERR(n = pgc_exec(cp, P_ASSET_DELETE, &p, NULL, "delete asset"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "no asset %lld", (long long)id);
    FORWARD_ERR(pgc_exec(cp, P_ASSET_COMP_DELETE, &p, NULL, "delete the asset's components"));
    FORWARD_ERR(pgc_exec(cp, P_ASSET_PAIR_DELETE, &p, NULL, "delete the asset's pair"));
    return pgc_audit(cp, id, "asset.delete", NULL);
}

int pg_asset_delete(struct catalog *c, int64_t id)
{
    CP;
    return PG_ATOMIC(cp, delete_body(cp, id));
}

/* Pages of assets in id order (id > the last one seen): each page is its
 * own statement, so callbacks may use the catalog and nothing is held
 * open across the walk.  extra is the due time for P_ASSET_DUE_PAGE. */
static int asset_pages(struct catalog_pg *cp, enum pg_stmt id, const char *extra,
                       catalog_asset_fn fn, void *ud, const char *what)
{
    struct catalog_asset a;
    int64_t after = 0;
    PGresult *r;
    int n, ret = 0;
    do {
        struct pg_params p = { .n = 0 };
        if (extra)
            pgp_text(&p, extra);
        pgp_int(&p, after);
        pgp_int(&p, PG_PAGE_ROWS);
        FORWARD_ERR(n = pgc_read(cp, id, &p, &r, what));
        for (int i = 0; i < n && !ret; i++) {
            read_asset(r, i, &a);
            after = a.id;
            ret = fn(ud, &a);
        }
        PQclear(r);
    } while (!ret && n == PG_PAGE_ROWS);
    return ret;
}

int pg_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud)
{
    CP;
    return asset_pages(cp, P_ASSET_PAGE, NULL, fn, ud, "list assets");
}

int pg_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn, void *ud)
{
    CP;
    return asset_pages(cp, P_ASSET_DUE_PAGE, now_iso, fn, ud, "due originals");
}

int pg_asset_list(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                  void *ud)
{
    CP;
    struct catalog_asset a;
    int64_t after = q->after, left = q->limit > 0 ? q->limit : INT64_MAX;
    PGresult *r;
    int n, page, ret = 0;
    do {
        struct pg_params p = { .n = 0 };
        page = left < PG_PAGE_ROWS ? (int)left : PG_PAGE_ROWS;
        pgp_int(&p, after);
        pgp_text(&p, q->tier);
        pgp_text(&p, q->format);
        pgp_int(&p, page);
        pgp_text(&p, q->owner);
        pgp_int(&p, q->live ? 1 : 0);
        FORWARD_ERR(n = pgc_read(cp, q->owner ? P_ASSET_LIST_OWNER : P_ASSET_LIST, &p, &r,
                                 "list assets"));
        for (int i = 0; i < n && !ret; i++) {
            read_asset(r, i, &a);
            after = a.id;
            ret = fn(ud, &a);
        }
        PQclear(r);
        left -= n;
    } while (!ret && n == page && left > 0);
    return ret;
}

int pg_asset_find_prefix(struct catalog *c, const char *prefix, struct catalog_asset *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_text(&p, prefix);
    FORWARD_ERR(n = pgc_read(cp, P_ASSET_PREFIX, &p, &r, "find asset by prefix"));
    if (n == 1)
        read_asset(r, 0, out);
    PQclear(r);
    RETURN_ERR_IF(n == 0, TP_ERR_NOTFOUND, "no asset whose sha256 starts with %s", prefix);
    RETURN_ERR_IF(n > 1, TP_ERR_CONFLICT, "several assets' sha256 start with %s: give more digits",
                  prefix);
    return 0;
}

/* ---- renditions --------------------------------------------------------- */

static void read_rendition(const PGresult *r, int i, struct catalog_rendition *o)
{
    memset(o, 0, sizeof(*o));
    o->id = pg_int(r, i, 0);
    o->asset_id = pg_int(r, i, 1);
    pg_text(r, i, 2, o->name, sizeof(o->name));
    pg_text(r, i, 3, o->blob, sizeof(o->blob));
    pg_text(r, i, 4, o->format, sizeof(o->format));
    o->width = (int)pg_int(r, i, 5);
    o->height = (int)pg_int(r, i, 6);
    o->bytes = (uint64_t)pg_int(r, i, 7);
    o->ssim = pg_real(r, i, 8, -1);
    o->min_tile = pg_real(r, i, 9, -1);
    pg_text(r, i, 10, o->created, sizeof(o->created));
}

int pg_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                     struct catalog_rendition *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, asset_id);
    pgp_text(&p, name);
    FORWARD_ERR(n = pgc_read(cp, P_REND_GET, &p, &r, "get rendition"));
    if (n == 0) {
        PQclear(r);
        tp_err_set("asset %lld has no rendition '%s'", (long long)asset_id, name);
        return TP_ERR_NOTFOUND;
    }
    read_rendition(r, 0, out);
    PQclear(r);
    return 0;
}

static int rendition_put_body(struct catalog_pg *cp, struct catalog_rendition *o)
{
    struct pg_params p = { .n = 0 };
    char old[SHA256_HEX_LEN + 1];
    PGresult *r;
    int n, replacing;
    pgp_int(&p, o->asset_id);
    pgp_text(&p, o->name);
    pgp_text(&p, o->blob);
    pgp_text(&p, o->format);
    pgp_int(&p, o->width);
    pgp_int(&p, o->height);
    pgp_int(&p, (int64_t)o->bytes);
    pgp_real(&p, o->ssim, o->ssim < 0);
    pgp_real(&p, o->min_tile, o->min_tile < 0);
    pgp_text(&p, o->created);
    FORWARD_ERR(n = pgc_exec(cp, P_REND_UPDATE, &p, &r, "store rendition"));
    if (n == 0) {
        PQclear(r);
        FORWARD_ERR(pgc_exec(cp, P_REND_INSERT, &p, &r, "store rendition"));
    }
    o->id = pg_int(r, 0, 0);
    pg_text(r, 0, 1, old, sizeof(old));
    PQclear(r);
    replacing = old[0] != '\0';
    FORWARD_ERR(blob_ref(cp, o->blob, 1));
    if (replacing)
        FORWARD_ERR(blob_ref(cp, old, -1));
    return pgc_audit_take(cp, o->asset_id, replacing ? "rendition.replace" : "rendition.add",
                          audit_rendition(o, replacing ? old : NULL));
}

int pg_rendition_put(struct catalog *c, struct catalog_rendition *o)
{
    CP;
    return PG_ATOMIC(cp, rendition_put_body(cp, o));
}

int pg_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn, void *ud)
{
    CP;
    struct pg_params p = { .n = 0 };
    struct catalog_rendition o;
    PGresult *r;
    int n, ret = 0;
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_REND_ALL, &p, &r, "list renditions"));
    for (int i = 0; i < n && !ret; i++) {
        read_rendition(r, i, &o);
        ret = fn(ud, &o);
    }
    PQclear(r);
    return ret;
}

/* ---- access statistics and the audit trail ------------------------------ */

int pg_access_log(struct catalog *c, int64_t asset_id, int64_t t)
{
    CP;
    struct pg_params p = { .n = 0 };
    int ret;
    pgp_int(&p, asset_id);
    pgp_int(&p, t);
    ret = PG_ATOMIC(cp, pgc_exec(cp, P_ACCESS_LOG, &p, NULL, "log access"));
    if (ret == TP_ERR_CONFLICT) { /* foreign key */
        tp_err_set("no asset %lld", (long long)asset_id);
        return TP_ERR_NOTFOUND;
    }
    return ret < 0 ? ret : ret > 0; /* rows inserted: 0 for an event already logged */
}

static int access_refresh_body(struct catalog_pg *cp, int64_t now)
{
    struct pg_params p = { .n = 0 };
    pgp_int(&p, now);
    FORWARD_ERR(pgc_exec(cp, P_ACCESS_REFRESH, &p, NULL, "refresh access statistics"));
    return pgc_audit_take(cp, 0, "access.refresh", audit_now(now));
}

int pg_access_refresh(struct catalog *c, int64_t now)
{
    CP;
    return PG_ATOMIC(cp, access_refresh_body(cp, now));
}

int pg_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    memset(out, 0, sizeof(*out));
    out->asset_id = asset_id;
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_ACCESS_GET, &p, &r, "get access statistics"));
    if (n > 0) {
        pg_text(r, 0, 1, out->last_access, sizeof(out->last_access));
        out->count_30d = pg_int(r, 0, 2);
        out->count_90d = pg_int(r, 0, 3);
        out->count_365d = pg_int(r, 0, 4);
        out->total = pg_int(r, 0, 5);
    }
    PQclear(r);
    return 0;
}

int pg_components_put(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_int(&p, asset_id);
    pgp_int(&p, kinds);
    pgp_text(&p, json ? json : "[]");
    int ret = pgc_single(cp, P_COMP_PUT, &p, NULL, "store an asset's components");
    return ret < 0 ? ret : 0;
}

int pg_components_get(struct catalog *c, int64_t asset_id, unsigned *kinds_out, char **json_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_COMP_GET, &p, &r, "get an asset's components"));
    if (n > 0) {
        *kinds_out = (unsigned)pg_int(r, 0, 0);
        if (json_out && !(*json_out = strdup(pg_str(r, 0, 1)))) {
            PQclear(r);
            return TP_ERR(ENOMEM);
        }
    }
    PQclear(r);
    return n > 0;
}

int pg_pair_put(struct catalog *c, int64_t image_id, int64_t video_id, const char *how)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_int(&p, image_id);
    pgp_int(&p, video_id);
    pgp_text(&p, how);
    int n = pgc_single(cp, P_PAIR_PUT, &p, NULL, "link a pair");
    if (n < 0)
        return n;
    RETURN_ERR_IF(n != 1, TP_ERR_DUPLICATE, "asset %lld or %lld is already in a pair",
                  (long long)image_id, (long long)video_id);
    return 0;
}

int pg_pair_get(struct catalog *c, int64_t asset_id, int64_t *partner_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_PAIR_GET, &p, &r, "get a pair"));
    if (n > 0)
        *partner_out = pg_int(r, 0, 0);
    PQclear(r);
    return n > 0;
}

int pg_content_id_put(struct catalog *c, int64_t asset_id, const char *content_id)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_int(&p, asset_id);
    pgp_text(&p, content_id);
    int n = pgc_single(cp, P_CID_PUT, &p, NULL, "store a content identifier");
    if (n < 0)
        return n;
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "no asset %lld", (long long)asset_id);
    return 0;
}

int pg_content_id_get(struct catalog *c, int64_t asset_id, char *out, size_t n)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int rows;
    pgp_int(&p, asset_id);
    FORWARD_ERR(rows = pgc_read(cp, P_CID_GET, &p, &r, "get a content identifier"));
    if (rows > 0)
        pg_text(r, 0, 0, out, n);
    PQclear(r);
    return rows > 0;
}

int pg_content_id_match(struct catalog *c, int64_t asset_id, int64_t *other_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_CID_MATCH, &p, &r, "find the other half of a Live Photo"));
    if (n > 0)
        *other_out = pg_int(r, 0, 0);
    PQclear(r);
    return n > 0;
}

int pg_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail)
{
    CP;
    int ret = PG_ATOMIC(cp, pgc_audit(cp, asset_id, action, detail));
    return ret < 0 ? ret : 0;
}

/* ---- pointer swap, tiers, originals ------------------------------------- */

static int swap_body(struct catalog_pg *cp, int64_t asset_id, const char *expected,
                     const char *new_blob, const char *tier, const char *storage_class,
                     const char *original_delete_after)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, asset_id);
    pgp_text(&p, expected);
    pgp_text(&p, new_blob);
    pgp_text(&p, tier);
    pgp_text(&p, storage_class);
    pgp_text(&p, original_delete_after);
    FORWARD_ERR(n = pgc_exec(cp, P_ASSET_SWAP, &p, NULL, "swap pointer"));
    RETURN_ERR_IF(n != 1, TP_ERR_CONFLICT, "asset %lld no longer points at %.12s",
                  (long long)asset_id, expected);
    if (strcmp(expected, new_blob)) {
        FORWARD_ERR(blob_ref(cp, new_blob, 1));
        FORWARD_ERR(blob_ref(cp, expected, -1));
    }
    return pgc_audit_take(cp, asset_id, "asset.swap", audit_swap(expected, new_blob, tier, storage_class));
}

int pg_asset_swap(struct catalog *c, int64_t asset_id, const char *expected, const char *new_blob,
                  const char *tier, const char *storage_class, const char *original_delete_after)
{
    CP;
    return PG_ATOMIC(cp, swap_body(cp, asset_id, expected, new_blob, tier, storage_class,
                                   original_delete_after));
}

static int set_tier_body(struct catalog_pg *cp, int64_t asset_id, const char *tier,
                         const char *storage_class)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, asset_id);
    pgp_text(&p, tier);
    pgp_text(&p, storage_class);
    FORWARD_ERR(n = pgc_exec(cp, P_ASSET_SET_TIER, &p, NULL, "set tier"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "no asset %lld", (long long)asset_id);
    return pgc_audit_take(cp, asset_id, "asset.tier", audit_tier(tier, storage_class));
}

int pg_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                      const char *storage_class)
{
    CP;
    return PG_ATOMIC(cp, set_tier_body(cp, asset_id, tier, storage_class));
}

static int relabel_body(struct catalog_pg *cp, const struct catalog_relabel *v, int n)
{
    struct tp_buf ids = { 0 }, tiers = { 0 }, scs = { 0 };
    struct pg_params p = { .n = 0 };
    PGresult *r = NULL;
    char item[96];
    int ret = 0;
    for (int i = 0; i < n && ret >= 0; i++) {
        const char *sc = v[i].storage_class && *v[i].storage_class ? v[i].storage_class
                                                                    : "STANDARD";
        snprintf(item, sizeof(item), "%s%lld", i ? "," : "{", (long long)v[i].asset_id);
        if ((ret = buf_append(&ids, item, strlen(item))) < 0)
            break;
        snprintf(item, sizeof(item), "%s\"%s\"", i ? "," : "{", v[i].tier);
        if ((ret = buf_append(&tiers, item, strlen(item))) < 0)
            break;
        snprintf(item, sizeof(item), "%s\"%s\"", i ? "," : "{", sc);
        ret = buf_append(&scs, item, strlen(item));
    }
    if (ret < 0 || (ret = buf_append(&ids, "}", 2)) < 0 || (ret = buf_append(&tiers, "}", 2)) < 0 ||
        (ret = buf_append(&scs, "}", 2)) < 0)
        goto end;
    p.v[p.n++] = (const char *)ids.data;
    p.v[p.n++] = (const char *)tiers.data;
    p.v[p.n++] = (const char *)scs.data;
    if ((ret = pgc_exec(cp, P_ASSET_RELABEL, &p, &r, "relabel assets")) < 0)
        goto end;
    ret = (int)pg_int(r, 0, 0);
    if (ret != n) {
        tp_err_set("relabel: %d of %d assets found", ret, n);
        ret = TP_ERR_NOTFOUND; /* the caller's transaction is rolled back */
    }
end:
    PQclear(r);
    buf_free(&ids);
    buf_free(&tiers);
    buf_free(&scs);
    return ret;
}

int pg_asset_relabel_batch(struct catalog *c, const struct catalog_relabel *v, int n)
{
    CP;
    return PG_ATOMIC(cp, relabel_body(cp, v, n));
}

static int release_body(struct catalog_pg *cp, int64_t asset_id, const char *original)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, asset_id);
    pgp_text(&p, original);
    FORWARD_ERR(n = pgc_exec(cp, P_ASSET_RELEASE_ORIG, &p, NULL, "release original"));
    RETURN_ERR_IF(n != 1, TP_ERR_CONFLICT, "asset %lld: original %.12s is not releasable",
                  (long long)asset_id, original);
    FORWARD_ERR(blob_ref(cp, original, -1));
    return pgc_audit_take(cp, asset_id, "asset.release_original", audit_blob(original));
}

int pg_asset_release_original(struct catalog *c, int64_t asset_id, const char *original)
{
    CP;
    return PG_ATOMIC(cp, release_body(cp, asset_id, original));
}

/* ---- streaming scans ---------------------------------------------------- */

int pg_asset_id_range(struct catalog *c, int64_t *lo, int64_t *hi, int64_t *n)
{
    CP;
    PGresult *r;
    FORWARD_ERR(pgc_read(cp, P_ID_RANGE, NULL, &r, "asset id range"));
    *lo = pg_int(r, 0, 0);
    *hi = pg_int(r, 0, 1);
    *n = pg_int(r, 0, 2);
    PQclear(r);
    return 0;
}

int pg_asset_scan(struct catalog *c, int64_t lo, int64_t hi, catalog_scan_fn fn, void *ud)
{
    CP;
    struct catalog_scan_row s;
    PGresult *r;
    int n, ret = 0;
    do {
        struct pg_params p = { .n = 0 };
        pgp_int(&p, lo);
        pgp_int(&p, hi);
        pgp_int(&p, PG_PAGE_ROWS);
        FORWARD_ERR(n = pgc_read(cp, P_SCAN_PAGE, &p, &r, "scan assets"));
        for (int i = 0; i < n && !ret; i++) {
            s.id = pg_int(r, i, 0);
            s.kind = pg_str(r, i, 1);
            s.format = pg_str(r, i, 2);
            s.width = (int)pg_int(r, i, 3);
            s.height = (int)pg_int(r, i, 4);
            s.bytes = (uint64_t)pg_int(r, i, 5);
            s.capture_time = pg_str(r, i, 6);
            s.upload_time = pg_str(r, i, 7);
            s.last_access = pg_str(r, i, 8);
            s.count_30d = pg_int(r, i, 9);
            s.count_90d = pg_int(r, i, 10);
            s.count_365d = pg_int(r, i, 11);
            s.current_blob = pg_str(r, i, 12);
            s.original_blob = pg_str(r, i, 13);
            s.storage_class = pg_str(r, i, 14);
            s.tier = pg_str(r, i, 15);
            s.original_delete_after = pg_str(r, i, 16);
            s.current_bytes = PQgetisnull(r, i, 17) ? s.bytes : (uint64_t)pg_int(r, i, 17);
            s.components_known = !PQgetisnull(r, i, 18);
            s.components = (unsigned)pg_int(r, i, 18);
            s.near_duplicate = (int)pg_int(r, i, 19);
            s.camera_make = pg_str(r, i, 20);
            s.has_location = !PQgetisnull(r, i, 21) && !PQgetisnull(r, i, 22);
            s.latitude = s.has_location ? strtod(PQgetvalue(r, i, 21), NULL) : 0;
            s.longitude = s.has_location ? strtod(PQgetvalue(r, i, 22), NULL) : 0;
            s.time_conflict = (int)pg_int(r, i, 23);
            lo = s.id + 1;
            ret = fn(ud, &s);
        }
        PQclear(r);
    } while (!ret && n == PG_PAGE_ROWS);
    return ret;
}

/* ---- bulk load: rows buffered, written with COPY ------------------------ */

#define BULK_FLUSH_BYTES (8u << 20)

/* Appends a COPY text field (\N for NULL/""), escaping what COPY would
 * misread, then sep. */
static int copy_field(struct tp_buf *b, const char *v, char sep)
{
    if (!v || !*v)
        FORWARD_ERR(buf_append(b, "\\N", 2));
    for (; v && *v; v++) {
        char esc[2] = { '\\', *v };
        if (*v == '\\' || *v == '\t' || *v == '\n' || *v == '\r')
            FORWARD_ERR(buf_append(b, esc, 2));
        else
            FORWARD_ERR(buf_append(b, v, 1));
    }
    return buf_append(b, &sep, 1);
}

static int copy_int(struct tp_buf *b, int64_t v, char sep)
{
    char t[32];
    snprintf(t, sizeof(t), "%lld", (long long)v);
    return copy_field(b, t, sep);
}

static int copy_out(struct catalog_pg *cp, struct tp_buf *b, const char *sql, const char *what)
{
    PGresult *r = PQexec(cp->conn, sql);
    int ret = 0;
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        ret = TP_ERR_EXTERNAL;
        tp_err_set("catalog %s: %s: %s", cp->where, what, PQerrorMessage(cp->conn));
    }
    PQclear(r);
    if (ret < 0)
        return ret;
    if (PQputCopyData(cp->conn, (const char *)b->data, (int)b->len) != 1)
        PQputCopyEnd(cp->conn, "tierpress could not send the rows");
    else
        PQputCopyEnd(cp->conn, NULL);
    while ((r = PQgetResult(cp->conn))) {
        if (PQresultStatus(r) != PGRES_COMMAND_OK && ret >= 0) {
            ret = TP_ERR_EXTERNAL;
            const char *st = PQresultErrorField(r, PG_DIAG_SQLSTATE);
            if (st && !strcmp(st, "23505"))
                ret = TP_ERR_DUPLICATE;
            else if (st && !strncmp(st, "23", 2))
                ret = TP_ERR_CONFLICT;
            tp_err_set("catalog %s: %s: %s", cp->where, what,
                       PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
        }
        PQclear(r);
    }
    b->len = 0;
    return ret;
}

int pgc_bulk_flush(struct catalog_pg *cp)
{
    int ret = 0;
    if (cp->copy_assets.len)
        ret = copy_out(cp, &cp->copy_assets,
                       "COPY assets (id, sha256, kind, format, width, height, bytes, capture_time, "
                       "upload_time, camera_make, camera_model, has_gps, orientation, duration, "
                       "current_blob, storage_class, tier, original_blob) FROM STDIN",
                       "bulk load assets");
    if (ret >= 0 && cp->copy_access.len)
        ret = copy_out(cp, &cp->copy_access,
                       "COPY access (asset_id, last_access, count_30d, count_90d, count_365d, "
                       "total) FROM STDIN", "bulk load access statistics");
    cp->copy_assets.len = cp->copy_access.len = 0;
    return ret;
}

int pg_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                         const struct catalog_access *ac)
{
    CP;
    struct tp_buf *b = &cp->copy_assets;
    char dur[40] = "";
    RETURN_ERR_IF(!cp->txn, TP_ERR(EINVAL), "catalog %s: a bulk load needs a transaction",
                  cp->where);
    if (cp->ids_next == cp->ids_n) {
        /* ids reserved a page at a time, so rows can go out with COPY */
        struct pg_params p = { .n = 0 };
        PGresult *r;
        int n;
        pgp_int(&p, PG_PAGE_ROWS);
        FORWARD_ERR(n = pgc_exec(cp, P_ID_RESERVE, &p, &r, "reserve asset ids"));
        for (int i = 0; i < n; i++)
            cp->ids[i] = pg_int(r, i, 0);
        PQclear(r);
        cp->ids_n = n;
        cp->ids_next = 0;
    }
    a->id = cp->ids[cp->ids_next++];
    if (a->duration > 0)
        snprintf(dur, sizeof(dur), "%.17g", a->duration);
    FORWARD_ERR(copy_int(b, a->id, '\t'));
    FORWARD_ERR(copy_field(b, a->sha256, '\t'));
    FORWARD_ERR(copy_field(b, a->kind, '\t'));
    FORWARD_ERR(copy_field(b, a->format, '\t'));
    FORWARD_ERR(copy_int(b, a->width, '\t'));
    FORWARD_ERR(copy_int(b, a->height, '\t'));
    FORWARD_ERR(copy_int(b, (int64_t)a->bytes, '\t'));
    FORWARD_ERR(copy_field(b, a->capture_time, '\t'));
    FORWARD_ERR(copy_field(b, a->upload_time, '\t'));
    FORWARD_ERR(copy_field(b, a->camera_make, '\t'));
    FORWARD_ERR(copy_field(b, a->camera_model, '\t'));
    FORWARD_ERR(copy_field(b, a->has_gps ? "t" : "f", '\t'));
    FORWARD_ERR(copy_int(b, a->orientation >= 1 && a->orientation <= 8 ? a->orientation : 1,
                         '\t'));
    FORWARD_ERR(copy_field(b, dur, '\t'));
    FORWARD_ERR(copy_field(b, a->current_blob, '\t'));
    FORWARD_ERR(copy_field(b, a->storage_class[0] ? a->storage_class : "STANDARD", '\t'));
    FORWARD_ERR(copy_field(b, a->tier, '\t'));
    FORWARD_ERR(copy_field(b, a->original_blob, '\n'));
    if (ac) {
        b = &cp->copy_access;
        FORWARD_ERR(copy_int(b, a->id, '\t'));
        FORWARD_ERR(copy_field(b, ac->last_access, '\t'));
        FORWARD_ERR(copy_int(b, ac->count_30d, '\t'));
        FORWARD_ERR(copy_int(b, ac->count_90d, '\t'));
        FORWARD_ERR(copy_int(b, ac->count_365d, '\t'));
        FORWARD_ERR(copy_int(b, ac->total, '\n'));
    }
    if (cp->copy_assets.len + cp->copy_access.len > BULK_FLUSH_BYTES)
        return pgc_bulk_flush(cp);
    return 0;
}
