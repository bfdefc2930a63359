/* The SQLite backend's asset operations (catalog.h): blobs and their
 * reference counts, assets, renditions, access statistics, the audit log,
 * the pointer swap and tiers, blobs for gc and fsck, streaming scans and
 * bulk loads. Every mutation runs inside a savepoint (sq_op_begin). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"
#include "timeutil.h"

/* The streaming scan: one statement over assets joined with access. */
static const char scan_sql[] =
    "SELECT a.id, a.kind, a.format, a.width, a.height, a.bytes, a.capture_time, a.upload_time, "
    "x.last_access, x.count_30d, x.count_90d, x.count_365d, a.current_blob, a.original_blob, "
    "a.storage_class, a.tier, a.original_delete_after, cb.bytes, comp.kinds, "
    "coalesce(f.group_id IS NOT NULL AND f.keeper = 0, 0), "
    "a.camera_make, m.latitude, m.longitude, coalesce(m.other_capture_time <> '', 0) "
    "FROM assets a LEFT JOIN access x ON x.asset_id = a.id "
    "LEFT JOIN blobs cb ON cb.hash = a.current_blob "
    "LEFT JOIN components comp ON comp.asset_id = a.id "
    "LEFT JOIN fingerprints f ON f.asset_id = a.id "
    "LEFT JOIN asset_meta m ON m.asset_id = a.id "
    "WHERE a.id BETWEEN ?1 AND ?2 ORDER BY a.id";

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void bind_real_or_null(sqlite3_stmt *s, int i, double v, int is_null)
{
    if (is_null)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_double(s, i, v);
}

static void col_text(sqlite3_stmt *s, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

static int audit_row(struct catalog_sqlite *cs, int64_t asset_id, const char *action,
                     const char *detail)
{
    sqlite3_stmt *s = sq_stmt(cs, S_AUDIT);
    if (asset_id > 0)
        sqlite3_bind_int64(s, 1, asset_id);
    else
        sqlite3_bind_null(s, 1);
    sqlite3_bind_text(s, 2, action, -1, SQLITE_TRANSIENT);
    bind_text(s, 3, detail);
    return sq_exec_stmt(cs, s, "audit");
}

/* audit_row with a detail from audit.h: taken (freed); NULL is out of memory */
static int audit_take(struct catalog_sqlite *cs, int64_t asset_id, const char *action, char *detail)
{
    int ret = detail ? audit_row(cs, asset_id, action, detail) : TP_ERR(ENOMEM);
    free(detail);
    return ret;
}

static int blob_ref(struct catalog_sqlite *cs, const char *hash, int delta)
{
    sqlite3_stmt *s = sq_stmt(cs, delta > 0 ? S_BLOB_REF : S_BLOB_UNREF);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(sq_exec_stmt(cs, s, "blob reference count"));
    RETURN_ERR_IF(sqlite3_changes(cs->db) != 1, TP_ERR_NOTFOUND,
                  "catalog: blob %s is not recorded", hash);
    return 0;
}

int sq_blob_add(struct catalog *c, const char *hash, uint64_t bytes, const char *sc)
{
    CS;
    char now[CATALOG_TIME];
    int ret;
    sqlite3_stmt *s = sq_stmt(cs, S_BLOB_ADD);
    time_format(time_now(), now, sizeof(now));
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)bytes);
    sqlite3_bind_text(s, 3, sc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, now, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(sq_op_begin(cs));
    ret = sq_exec_stmt(cs, s, "add blob");
    if (ret >= 0 && sqlite3_changes(cs->db) == 1) {
        ret = audit_take(cs, 0, "blob.add", audit_blob_add(hash, bytes));
    }
    return sq_op_end(cs, ret);
}

int sq_blob_get(struct catalog *c, const char *hash, struct catalog_blob *b)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_BLOB_GET);
    int rc;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        tp_err_set("blob %s is not in the catalog", hash);
        return TP_ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW)
        return sq_sql_err(cs, rc, "get blob");
    memset(b, 0, sizeof(*b));
    col_text(s, 0, b->hash, sizeof(b->hash));
    b->bytes = (uint64_t)sqlite3_column_int64(s, 1);
    col_text(s, 2, b->storage_class, sizeof(b->storage_class));
    b->refcount = sqlite3_column_int64(s, 3);
    col_text(s, 4, b->created, sizeof(b->created));
    col_text(s, 5, b->delete_after, sizeof(b->delete_after));
    sqlite3_reset(s);
    return 0;
}

int sq_blob_count(struct catalog *c, int64_t *n)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_BLOB_COUNT);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sq_sql_err(cs, rc, "count blobs");
    *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

/* The columns of S_ASSET_INSERT, shared by the single and bulk inserts. */
static void bind_asset(sqlite3_stmt *s, const struct catalog_asset *a)
{
    bind_text(s, 1, a->sha256);
    bind_text(s, 2, a->kind);
    bind_text(s, 3, a->format);
    sqlite3_bind_int(s, 4, a->width);
    sqlite3_bind_int(s, 5, a->height);
    sqlite3_bind_int64(s, 6, (sqlite3_int64)a->bytes);
    bind_text(s, 7, a->capture_time);
    bind_text(s, 8, a->upload_time);
    bind_text(s, 9, a->camera_make);
    bind_text(s, 10, a->camera_model);
    sqlite3_bind_int(s, 11, !!a->has_gps);
    sqlite3_bind_int(s, 12, a->orientation >= 1 && a->orientation <= 8 ? a->orientation : 1);
    bind_real_or_null(s, 13, a->duration, a->duration <= 0);
    bind_text(s, 14, a->current_blob);
    bind_text(s, 15, a->storage_class);
    bind_text(s, 16, a->tier);
    bind_text(s, 17, a->original_blob);
    bind_text(s, 18, a->owner);
    bind_text(s, 19, a->file_name);
    bind_text(s, 20, a->external_id);
}

int sq_asset_insert(struct catalog *c, struct catalog_asset *a)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_INSERT);
    int ret;
    bind_asset(s, a);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "insert asset")) < 0)
        goto end;
    a->id = sqlite3_last_insert_rowid(cs->db);
    if ((ret = blob_ref(cs, a->current_blob, 1)) < 0 ||
        (a->original_blob[0] && (ret = blob_ref(cs, a->original_blob, 1)) < 0))
        goto end;
    ret = audit_take(cs, a->id, "asset.insert", audit_asset_insert(a));
end:
    return sq_op_end(cs, ret);
}

static void read_asset(sqlite3_stmt *s, struct catalog_asset *a)
{
    memset(a, 0, sizeof(*a));
    a->id = sqlite3_column_int64(s, 0);
    col_text(s, 1, a->sha256, sizeof(a->sha256));
    col_text(s, 2, a->kind, sizeof(a->kind));
    col_text(s, 3, a->format, sizeof(a->format));
    a->width = sqlite3_column_int(s, 4);
    a->height = sqlite3_column_int(s, 5);
    a->bytes = (uint64_t)sqlite3_column_int64(s, 6);
    col_text(s, 7, a->capture_time, sizeof(a->capture_time));
    col_text(s, 8, a->upload_time, sizeof(a->upload_time));
    col_text(s, 9, a->camera_make, sizeof(a->camera_make));
    col_text(s, 10, a->camera_model, sizeof(a->camera_model));
    a->has_gps = sqlite3_column_int(s, 11);
    a->orientation = sqlite3_column_int(s, 12);
    a->duration = sqlite3_column_double(s, 13);
    col_text(s, 14, a->current_blob, sizeof(a->current_blob));
    col_text(s, 15, a->storage_class, sizeof(a->storage_class));
    col_text(s, 16, a->tier, sizeof(a->tier));
    col_text(s, 17, a->original_blob, sizeof(a->original_blob));
    col_text(s, 18, a->original_delete_after, sizeof(a->original_delete_after));
    col_text(s, 19, a->owner, sizeof(a->owner));
    col_text(s, 20, a->file_name, sizeof(a->file_name));
    col_text(s, 21, a->external_id, sizeof(a->external_id));
    col_text(s, 22, a->deleted_at, sizeof(a->deleted_at));
}

static int one_asset(struct catalog_sqlite *cs, sqlite3_stmt *s, struct catalog_asset *out)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        tp_err_set("no such asset");
        return TP_ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW)
        return sq_sql_err(cs, rc, "get asset");
    read_asset(s, out);
    sqlite3_reset(s);
    return 0;
}

int sq_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_GET);
    sqlite3_bind_int64(s, 1, id);
    return one_asset(cs, s, out);
}

int sq_asset_find(struct catalog *c, const char *sha, struct catalog_asset *out)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_FIND);
    sqlite3_bind_text(s, 1, sha, -1, SQLITE_TRANSIENT);
    return one_asset(cs, s, out);
}

int sq_asset_find_owner(struct catalog *c, const char *owner, const char *sha,
                        struct catalog_asset *out)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_FIND_OWNER);
    sqlite3_bind_text(s, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, sha, -1, SQLITE_TRANSIENT);
    return one_asset(cs, s, out);
}

int sq_asset_trash(struct catalog *c, int64_t id, const char *deleted_at)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_TRASH);
    int ret;
    sqlite3_bind_int64(s, 1, id);
    bind_text(s, 2, deleted_at);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "trash asset")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("no asset %lld", (long long)id);
        ret = TP_ERR_NOTFOUND;
        goto end;
    }
    ret = audit_row(cs, id, deleted_at && *deleted_at ? "asset.trash" : "asset.restore", NULL);
end:
    return sq_op_end(cs, ret);
}

int sq_asset_delete(struct catalog *c, int64_t id)
{
    CS;
    sqlite3_stmt *s;
    int ret;
    FORWARD_ERR(sq_op_begin(cs));
    s = sq_stmt(cs, S_ASSET_UNREF);
    sqlite3_bind_int64(s, 1, id);
    if ((ret = sq_exec_stmt(cs, s, "release the asset's blobs")) < 0)
        goto end;
    s = sq_stmt(cs, S_ASSET_DELETE);
    sqlite3_bind_int64(s, 1, id);
    if ((ret = sq_exec_stmt(cs, s, "delete asset")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("no asset %lld", (long long)id);
        ret = TP_ERR_NOTFOUND;
        goto end;
    }
    s = sq_stmt(cs, S_ASSET_COMP_DELETE);
    sqlite3_bind_int64(s, 1, id);
    if ((ret = sq_exec_stmt(cs, s, "delete the asset's components")) < 0)
        goto end;
    s = sq_stmt(cs, S_ASSET_PAIR_DELETE);
    sqlite3_bind_int64(s, 1, id);
    if ((ret = sq_exec_stmt(cs, s, "delete the asset's pair")) < 0)
        goto end;
    ret = audit_row(cs, id, "asset.delete", NULL);
end:
    return sq_op_end(cs, ret);
}

/* Iterations use their own statement so callbacks may call other catalog
 * functions (which reset the cached statements). */
int sq_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_asset a;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, sq_stmt_sql[S_ASSET_ALL], -1, &s, NULL)) != SQLITE_OK)
        return sq_sql_err(cs, rc, "list assets");
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_asset(s, &a);
        ret = fn(ud, &a);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "list assets");
    sqlite3_finalize(s);
    return ret;
}

int sq_asset_list(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                  void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_asset a;
    int rc, ret = 0;
    rc = sqlite3_prepare_v2(cs->db, sq_stmt_sql[q->owner ? S_ASSET_LIST_OWNER : S_ASSET_LIST], -1,
                            &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "list assets");
    sqlite3_bind_int64(s, 1, q->after);
    if (q->tier)
        sqlite3_bind_text(s, 2, q->tier, -1, SQLITE_TRANSIENT);
    if (q->format)
        sqlite3_bind_text(s, 3, q->format, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, q->limit > 0 ? q->limit : -1);
    if (q->owner)
        sqlite3_bind_text(s, 5, q->owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 6, q->live);
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_asset(s, &a);
        ret = fn(ud, &a);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "list assets");
    sqlite3_finalize(s);
    return ret;
}

int sq_asset_find_prefix(struct catalog *c, const char *prefix, struct catalog_asset *out)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_PREFIX);
    char hi[SHA256_HEX_LEN + 2];
    int rc, n = 0, ret = 0;
    snprintf(hi, sizeof(hi), "%sg", prefix); /* every hex digit sorts before 'g' */
    sqlite3_bind_text(s, 1, prefix, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, hi, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (n++ == 0)
            read_asset(s, out);
    if (rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "find asset by prefix");
    sqlite3_reset(s);
    if (ret < 0)
        return ret;
    RETURN_ERR_IF(n == 0, TP_ERR_NOTFOUND, "no asset whose sha256 starts with %s", prefix);
    RETURN_ERR_IF(n > 1, TP_ERR_CONFLICT, "several assets' sha256 start with %s: give more digits",
                  prefix);
    return 0;
}

static void read_rendition(sqlite3_stmt *s, struct catalog_rendition *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(s, 0);
    r->asset_id = sqlite3_column_int64(s, 1);
    col_text(s, 2, r->name, sizeof(r->name));
    col_text(s, 3, r->blob, sizeof(r->blob));
    col_text(s, 4, r->format, sizeof(r->format));
    r->width = sqlite3_column_int(s, 5);
    r->height = sqlite3_column_int(s, 6);
    r->bytes = (uint64_t)sqlite3_column_int64(s, 7);
    r->ssim = sqlite3_column_type(s, 8) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 8);
    r->min_tile = sqlite3_column_type(s, 9) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 9);
    col_text(s, 10, r->created, sizeof(r->created));
}

int sq_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                     struct catalog_rendition *out)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_REND_GET);
    int rc;
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        tp_err_set("asset %lld has no rendition '%s'", (long long)asset_id, name);
        return TP_ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW)
        return sq_sql_err(cs, rc, "get rendition");
    read_rendition(s, out);
    sqlite3_reset(s);
    return 0;
}

int sq_rendition_put(struct catalog *c, struct catalog_rendition *r)
{
    CS;
    struct catalog_rendition old;
    int ret, replacing;
    sqlite3_stmt *s;

    FORWARD_ERR(sq_op_begin(cs));
    ret = sq_rendition_get(c, r->asset_id, r->name, &old);
    if (ret < 0 && ret != TP_ERR_NOTFOUND)
        goto end;
    tp_err_clear();
    replacing = ret == 0;
    s = sq_stmt(cs, replacing ? S_REND_UPDATE : S_REND_INSERT);
    sqlite3_bind_int64(s, 1, r->asset_id);
    bind_text(s, 2, r->name);
    bind_text(s, 3, r->blob);
    bind_text(s, 4, r->format);
    sqlite3_bind_int(s, 5, r->width);
    sqlite3_bind_int(s, 6, r->height);
    sqlite3_bind_int64(s, 7, (sqlite3_int64)r->bytes);
    bind_real_or_null(s, 8, r->ssim, r->ssim < 0);
    bind_real_or_null(s, 9, r->min_tile, r->min_tile < 0);
    bind_text(s, 10, r->created);
    if ((ret = sq_exec_stmt(cs, s, "store rendition")) < 0)
        goto end;
    r->id = replacing ? old.id : sqlite3_last_insert_rowid(cs->db);
    if ((ret = blob_ref(cs, r->blob, 1)) < 0 || (replacing && (ret = blob_ref(cs, old.blob, -1)) < 0))
        goto end;
    ret = audit_take(cs, r->asset_id, replacing ? "rendition.replace" : "rendition.add",
                     audit_rendition(r, replacing ? old.blob : NULL));
end:
    return sq_op_end(cs, ret);
}

int sq_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn,
                         void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_rendition r;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, sq_stmt_sql[S_REND_ALL], -1, &s, NULL)) != SQLITE_OK)
        return sq_sql_err(cs, rc, "list renditions");
    sqlite3_bind_int64(s, 1, asset_id);
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_rendition(s, &r);
        ret = fn(ud, &r);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "list renditions");
    sqlite3_finalize(s);
    return ret;
}

int sq_access_log(struct catalog *c, int64_t asset_id, int64_t t)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ACCESS_LOG);
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_int64(s, 2, t);
    int ret = sq_exec_stmt(cs, s, "log access");
    if (ret == TP_ERR_CONFLICT) { /* foreign key */
        tp_err_set("no asset %lld", (long long)asset_id);
        return TP_ERR_NOTFOUND;
    }
    return ret < 0 ? ret : sqlite3_changes(cs->db) > 0; /* 0: already logged */
}

int sq_access_refresh(struct catalog *c, int64_t now)
{
    CS;
    int ret;
    sqlite3_stmt *s = sq_stmt(cs, S_ACCESS_REFRESH);
    sqlite3_bind_int64(s, 1, now);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "refresh access statistics")) >= 0) {
        ret = audit_take(cs, 0, "access.refresh", audit_now(now));
    }
    return sq_op_end(cs, ret);
}

int sq_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ACCESS_GET);
    int rc;
    memset(out, 0, sizeof(*out));
    out->asset_id = asset_id;
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        col_text(s, 1, out->last_access, sizeof(out->last_access));
        out->count_30d = sqlite3_column_int64(s, 2);
        out->count_90d = sqlite3_column_int64(s, 3);
        out->count_365d = sqlite3_column_int64(s, 4);
        out->total = sqlite3_column_int64(s, 5);
    } else if (rc != SQLITE_DONE) {
        return sq_sql_err(cs, rc, "get access statistics");
    }
    sqlite3_reset(s);
    return 0;
}

int sq_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail)
{
    CS;
    return audit_row(cs, asset_id, action, detail);
}

/* ---- pointer swap, tiers, originals ------------------------------------ */

int sq_asset_swap(struct catalog *c, int64_t asset_id, const char *expected,
                  const char *new_blob, const char *tier, const char *storage_class,
                  const char *original_delete_after)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_SWAP);
    int ret;
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, expected, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, new_blob, -1, SQLITE_TRANSIENT);
    bind_text(s, 4, tier);
    sqlite3_bind_text(s, 5, storage_class, -1, SQLITE_TRANSIENT);
    bind_text(s, 6, original_delete_after);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "swap pointer")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("asset %lld no longer points at %.12s", (long long)asset_id, expected);
        ret = TP_ERR_CONFLICT;
        goto end;
    }
    if (strcmp(expected, new_blob) &&
        ((ret = blob_ref(cs, new_blob, 1)) < 0 || (ret = blob_ref(cs, expected, -1)) < 0))
        goto end;
    ret = audit_take(cs, asset_id, "asset.swap", audit_swap(expected, new_blob, tier, storage_class));
end:
    return sq_op_end(cs, ret);
}

int sq_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                      const char *storage_class)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_SET_TIER);
    int ret;
    sqlite3_bind_int64(s, 1, asset_id);
    bind_text(s, 2, tier);
    sqlite3_bind_text(s, 3, storage_class, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "set tier")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("no asset %lld", (long long)asset_id);
        ret = TP_ERR_NOTFOUND;
        goto end;
    }
    ret = audit_take(cs, asset_id, "asset.tier", audit_tier(tier, storage_class));
end:
    return sq_op_end(cs, ret);
}

/* (no round trips to save on SQLite: the statements, asset by asset, in one
 * atomic operation) */
int sq_asset_relabel_batch(struct catalog *c, const struct catalog_relabel *v, int n)
{
    CS;
    sqlite3_stmt *b = NULL;
    int ret, rc;
    FORWARD_ERR(sq_op_begin(cs));
    rc = sqlite3_prepare_v2(cs->db,
                            "UPDATE blobs SET storage_class = ?2 WHERE hash = (SELECT current_blob "
                            "FROM assets WHERE id = ?1) AND storage_class != ?2 AND refcount <= 1 + "
                            "(SELECT coalesce(original_blob = current_blob, 0) FROM assets WHERE id = ?1) + "
                            "(SELECT count(*) FROM renditions r, assets a WHERE a.id = ?1 AND "
                            "r.asset_id = a.id AND r.blob = a.current_blob)",
                            -1, &b, NULL);
    ret = rc == SQLITE_OK ? 0 : sq_sql_err(cs, rc, "relabel assets");
    for (int i = 0; i < n && ret >= 0; i++) {
        const char *sc = v[i].storage_class && *v[i].storage_class ? v[i].storage_class
                                                                    : "STANDARD";
        sqlite3_reset(b);
        sqlite3_bind_int64(b, 1, v[i].asset_id);
        sqlite3_bind_text(b, 2, sc, -1, SQLITE_TRANSIENT);
        if ((ret = sq_exec_stmt(cs, b, "relabel assets")) >= 0)
            ret = sq_asset_set_tier(c, v[i].asset_id, v[i].tier, sc);
    }
    sqlite3_finalize(b);
    ret = sq_op_end(cs, ret);
    return ret < 0 ? ret : n;
}

int sq_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn,
                         void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_asset a;
    int rc, ret = 0;
    rc = sqlite3_prepare_v2(cs->db, sq_stmt_sql[S_ASSET_DUE], -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "due originals");
    sqlite3_bind_text(s, 1, now_iso, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_asset(s, &a);
        if ((ret = fn(ud, &a)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "due originals");
    sqlite3_finalize(s);
    return ret;
}

int sq_asset_release_original(struct catalog *c, int64_t asset_id, const char *original)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_RELEASE_ORIG);
    int ret;
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, original, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "release original")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("asset %lld: original %.12s is not releasable", (long long)asset_id, original);
        ret = TP_ERR_CONFLICT;
        goto end;
    }
    if ((ret = blob_ref(cs, original, -1)) < 0)
        goto end;
    ret = audit_take(cs, asset_id, "asset.release_original", audit_blob(original));
end:
    return sq_op_end(cs, ret);
}

/* ---- blobs for gc and fsck --------------------------------------------- */

int sq_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud)
{
    CS;
    sqlite3_stmt *s = NULL, *chk = NULL;
    struct catalog_blob b;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, sq_stmt_sql[S_BLOB_ALL], -1, &s, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(cs->db, sq_stmt_sql[S_BLOB_CHECK], -1, &chk, NULL)) != SQLITE_OK) {
        ret = sq_sql_err(cs, rc, "list blobs");
        goto end;
    }
    /* both are ordered by hash: walk them together for the expected counts */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        memset(&b, 0, sizeof(b));
        col_text(s, 0, b.hash, sizeof(b.hash));
        b.bytes = (uint64_t)sqlite3_column_int64(s, 1);
        col_text(s, 2, b.storage_class, sizeof(b.storage_class));
        b.refcount = sqlite3_column_int64(s, 3);
        col_text(s, 4, b.created, sizeof(b.created));
        col_text(s, 5, b.delete_after, sizeof(b.delete_after));
        b.expected_refcount = -1;
        if (sqlite3_step(chk) == SQLITE_ROW &&
            !strcmp((const char *)sqlite3_column_text(chk, 0), b.hash))
            b.expected_refcount = sqlite3_column_int64(chk, 2);
        if ((ret = fn(ud, &b)) != 0)
            goto end;
    }
    if (rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "list blobs");
end:
    sqlite3_finalize(s);
    sqlite3_finalize(chk);
    return ret;
}

int sq_blob_remove(struct catalog *c, const char *hash)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_BLOB_REMOVE);
    int ret;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(sq_op_begin(cs));
    if ((ret = sq_exec_stmt(cs, s, "remove blob")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("blob %.12s is still referenced or unknown", hash);
        ret = TP_ERR_CONFLICT;
        goto end;
    }
    ret = audit_take(cs, 0, "blob.remove", audit_blob(hash));
end:
    return sq_op_end(cs, ret);
}

int sq_job_active(struct catalog *c, int64_t now, int64_t *n)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_JOB_ACTIVE);
    sqlite3_bind_int64(s, 1, now);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sq_sql_err(cs, rc, "count active jobs");
    *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

/* ---- streaming scans and bulk loads ----------------------------------- */

int sq_asset_id_range(struct catalog *c, int64_t *lo, int64_t *hi, int64_t *n)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ID_RANGE);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sq_sql_err(cs, rc, "asset id range");
    *lo = sqlite3_column_int64(s, 0);
    *hi = sqlite3_column_int64(s, 1);
    *n = sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    return 0;
}

static const char *col_str(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? (const char *)t : "";
}

int sq_asset_scan(struct catalog *c, int64_t lo, int64_t hi, catalog_scan_fn fn, void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_scan_row r;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, scan_sql, -1, &s, NULL)) != SQLITE_OK)
        return sq_sql_err(cs, rc, "scan assets");
    sqlite3_bind_int64(s, 1, lo);
    sqlite3_bind_int64(s, 2, hi);
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        r.id = sqlite3_column_int64(s, 0);
        r.kind = col_str(s, 1);
        r.format = col_str(s, 2);
        r.width = sqlite3_column_int(s, 3);
        r.height = sqlite3_column_int(s, 4);
        r.bytes = (uint64_t)sqlite3_column_int64(s, 5);
        r.capture_time = col_str(s, 6);
        r.upload_time = col_str(s, 7);
        r.last_access = col_str(s, 8);
        r.count_30d = sqlite3_column_int64(s, 9);
        r.count_90d = sqlite3_column_int64(s, 10);
        r.count_365d = sqlite3_column_int64(s, 11);
        r.current_blob = col_str(s, 12);
        r.original_blob = col_str(s, 13);
        r.storage_class = col_str(s, 14);
        r.tier = col_str(s, 15);
        r.original_delete_after = col_str(s, 16);
        r.current_bytes = sqlite3_column_type(s, 17) == SQLITE_NULL
                              ? r.bytes : (uint64_t)sqlite3_column_int64(s, 17);
        r.components_known = sqlite3_column_type(s, 18) != SQLITE_NULL;
        r.components = (unsigned)sqlite3_column_int64(s, 18);
        r.near_duplicate = sqlite3_column_int(s, 19);
        r.camera_make = col_str(s, 20);
        r.has_location = sqlite3_column_type(s, 21) != SQLITE_NULL &&
                         sqlite3_column_type(s, 22) != SQLITE_NULL;
        r.latitude = sqlite3_column_double(s, 21);
        r.longitude = sqlite3_column_double(s, 22);
        r.time_conflict = sqlite3_column_int(s, 23);
        ret = fn(ud, &r);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, "scan assets");
    sqlite3_finalize(s);
    return ret;
}

int sq_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                         const struct catalog_access *ac)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_ASSET_INSERT);
    bind_asset(s, a);
    FORWARD_ERR(sq_exec_stmt(cs, s, "insert asset"));
    a->id = sqlite3_last_insert_rowid(cs->db);
    if (!ac)
        return 0;
    s = sq_stmt(cs, S_ACCESS_PUT);
    sqlite3_bind_int64(s, 1, a->id);
    bind_text(s, 2, ac->last_access);
    sqlite3_bind_int64(s, 3, ac->count_30d);
    sqlite3_bind_int64(s, 4, ac->count_90d);
    sqlite3_bind_int64(s, 5, ac->count_365d);
    sqlite3_bind_int64(s, 6, ac->total);
    return sq_exec_stmt(cs, s, "insert access statistics");
}

int sq_blob_ref_add(struct catalog *c, const char *hash, int64_t n)
{
    CS;
    sqlite3_stmt *s = sq_stmt(cs, S_BLOB_REF_N);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, n);
    FORWARD_ERR(sq_exec_stmt(cs, s, "blob reference count"));
    RETURN_ERR_IF(sqlite3_changes(cs->db) != 1, TP_ERR_NOTFOUND,
                  "catalog: blob %s is not recorded", hash);
    return 0;
}
