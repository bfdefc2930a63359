/* The SQLite catalog backend: WAL, foreign keys, busy timeout, schema
 * versioned with PRAGMA user_version and forward-only migrations, every
 * statement prepared once at open. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"
#include "timeutil.h"
#include "log.h"
#include "mem.h"

#define BUSY_TIMEOUT_MS 10000

/* Forward-only migrations: migrations[i] takes user_version i to i + 1. */
static const char *const migrations[] = {
    /* 0 -> 1: the initial schema */
    "CREATE TABLE blobs ("
    "  hash TEXT PRIMARY KEY,"
    "  bytes INTEGER NOT NULL CHECK (bytes >= 0),"
    "  storage_class TEXT NOT NULL DEFAULT 'STANDARD',"
    "  refcount INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0),"
    "  created TEXT NOT NULL,"
    "  delete_after TEXT"
    ") WITHOUT ROWID;"
    "CREATE TABLE assets ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL UNIQUE,"
    "  kind TEXT NOT NULL CHECK (kind IN ('image', 'video')),"
    "  format TEXT NOT NULL,"
    "  width INTEGER, height INTEGER,"
    "  bytes INTEGER NOT NULL,"
    "  capture_time TEXT,"
    "  upload_time TEXT NOT NULL,"
    "  camera_make TEXT, camera_model TEXT,"
    "  has_gps INTEGER NOT NULL DEFAULT 0,"
    "  orientation INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),"
    "  duration REAL,"
    "  current_blob TEXT NOT NULL REFERENCES blobs(hash),"
    "  storage_class TEXT NOT NULL DEFAULT 'STANDARD',"
    "  tier TEXT DEFAULT NULL,"
    "  original_blob TEXT REFERENCES blobs(hash)"
    ");"
    "CREATE INDEX assets_current_blob ON assets(current_blob);"
    "CREATE INDEX assets_original_blob ON assets(original_blob);"
    "CREATE TABLE renditions ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  blob TEXT NOT NULL REFERENCES blobs(hash),"
    "  format TEXT NOT NULL,"
    "  width INTEGER, height INTEGER,"
    "  bytes INTEGER NOT NULL,"
    "  ssim REAL, min_tile REAL,"
    "  created TEXT NOT NULL,"
    "  UNIQUE (asset_id, name)"
    ");"
    "CREATE INDEX renditions_blob ON renditions(blob);"
    "CREATE TABLE access ("
    "  asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  last_access TEXT,"
    "  count_30d INTEGER NOT NULL DEFAULT 0,"
    "  count_90d INTEGER NOT NULL DEFAULT 0,"
    "  count_365d INTEGER NOT NULL DEFAULT 0,"
    "  total INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE access_log ("
    "  asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  time INTEGER NOT NULL"
    ");"
    "CREATE INDEX access_log_asset ON access_log(asset_id, time);"
    /* asset_id is not a foreign key: the log outlives deleted assets */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time TEXT NOT NULL,"
    "  asset_id INTEGER,"
    "  action TEXT NOT NULL,"
    "  detail TEXT"
    ");"
    "CREATE INDEX audit_asset ON audit(asset_id);",
    /* 1 -> 2: batch jobs, and the grace period of a replaced original */
    "ALTER TABLE assets ADD COLUMN original_delete_after TEXT;"
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  policy TEXT NOT NULL,"
    "  tier TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued', 'running', 'done', 'kept', 'failed')),"
    "  owner TEXT,"
    "  lease_until INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  result TEXT,"
    "  created TEXT NOT NULL,"
    "  finished TEXT,"
    "  UNIQUE (asset_id, policy, tier)"
    ");"
    "CREATE INDEX jobs_state ON jobs(policy, state, id);",
    /* 2 -> 3: the job queue (catalog_sqlite_jobs.c) */
    sqj_migration_v3,
};

#define ASSET_COLS                                                             \
    "id, sha256, kind, format, width, height, bytes, capture_time, upload_time, " \
    "camera_make, camera_model, has_gps, orientation, duration, current_blob, "   \
    "storage_class, tier, original_blob, original_delete_after"
#define REND_COLS                                                              \
    "id, asset_id, name, blob, format, width, height, bytes, ssim, min_tile, created"

enum stmt_id {
    S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
    S_BLOB_ADD, S_BLOB_GET, S_BLOB_COUNT, S_BLOB_REF, S_BLOB_UNREF,
    S_ASSET_INSERT, S_ASSET_GET, S_ASSET_FIND, S_ASSET_ALL,
    S_REND_GET, S_REND_INSERT, S_REND_UPDATE, S_REND_ALL,
    S_ACCESS_LOG, S_ACCESS_REFRESH, S_ACCESS_GET,
    S_AUDIT,
    S_ASSET_SWAP, S_ASSET_SET_TIER, S_ASSET_DUE, S_ASSET_RELEASE_ORIG,
    S_BLOB_ALL, S_BLOB_REMOVE, S_BLOB_CHECK, S_JOB_ACTIVE,
    S_ID_RANGE, S_ACCESS_PUT, S_BLOB_REF_N,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT tp_op",
    [S_RELEASE] = "RELEASE tp_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO tp_op",
    [S_BLOB_ADD] = "INSERT INTO blobs (hash, bytes, storage_class, refcount, created) "
                   "VALUES (?1, ?2, ?3, 0, ?4) ON CONFLICT (hash) DO NOTHING",
    [S_BLOB_GET] = "SELECT hash, bytes, storage_class, refcount, created, delete_after "
                   "FROM blobs WHERE hash = ?1",
    [S_BLOB_COUNT] = "SELECT count(*) FROM blobs",
    [S_BLOB_REF] = "UPDATE blobs SET refcount = refcount + 1, delete_after = NULL "
                   "WHERE hash = ?1",
    [S_BLOB_UNREF] = "UPDATE blobs SET refcount = refcount - 1 WHERE hash = ?1",
    [S_ASSET_INSERT] = "INSERT INTO assets (sha256, kind, format, width, height, bytes, "
                       "capture_time, upload_time, camera_make, camera_model, has_gps, "
                       "orientation, duration, current_blob, storage_class, tier, original_blob) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
                       "?16, ?17)",
    [S_ASSET_GET] = "SELECT " ASSET_COLS " FROM assets WHERE id = ?1",
    [S_ASSET_FIND] = "SELECT " ASSET_COLS " FROM assets WHERE sha256 = ?1",
    [S_ASSET_ALL] = "SELECT " ASSET_COLS " FROM assets ORDER BY id",
    [S_REND_GET] = "SELECT " REND_COLS " FROM renditions WHERE asset_id = ?1 AND name = ?2",
    [S_REND_INSERT] = "INSERT INTO renditions (asset_id, name, blob, format, width, height, "
                      "bytes, ssim, min_tile, created) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_REND_UPDATE] = "UPDATE renditions SET blob = ?3, format = ?4, width = ?5, height = ?6, "
                      "bytes = ?7, ssim = ?8, min_tile = ?9, created = ?10 "
                      "WHERE asset_id = ?1 AND name = ?2",
    [S_REND_ALL] = "SELECT " REND_COLS " FROM renditions WHERE asset_id = ?1 ORDER BY name",
    [S_ACCESS_LOG] = "INSERT INTO access_log (asset_id, time) VALUES (?1, ?2)",
    [S_ACCESS_REFRESH] =
        "INSERT INTO access (asset_id, last_access, count_30d, count_90d, count_365d, total) "
        "SELECT asset_id, strftime('%Y-%m-%dT%H:%M:%SZ', max(time), 'unixepoch'), "
        "  sum(time > ?1 - 30 * 86400 AND time <= ?1), sum(time > ?1 - 90 * 86400 AND time <= ?1), "
        "  sum(time > ?1 - 365 * 86400 AND time <= ?1), count(*) "
        "FROM access_log WHERE true GROUP BY asset_id "
        "ON CONFLICT (asset_id) DO UPDATE SET last_access = excluded.last_access, "
        "  count_30d = excluded.count_30d, count_90d = excluded.count_90d, "
        "  count_365d = excluded.count_365d, total = excluded.total",
    [S_ACCESS_GET] = "SELECT asset_id, last_access, count_30d, count_90d, count_365d, total "
                     "FROM access WHERE asset_id = ?1",
    [S_AUDIT] = "INSERT INTO audit (time, asset_id, action, detail) "
                "VALUES (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?1, ?2, ?3)",
    [S_ASSET_SWAP] = "UPDATE assets SET current_blob = ?3, tier = ?4, storage_class = ?5, "
                     "original_delete_after = ?6 WHERE id = ?1 AND current_blob = ?2",
    [S_ASSET_SET_TIER] = "UPDATE assets SET tier = ?2, storage_class = ?3 WHERE id = ?1",
    [S_ASSET_DUE] = "SELECT " ASSET_COLS " FROM assets WHERE original_delete_after IS NOT NULL "
                    "AND original_delete_after <= ?1 AND original_blob IS NOT NULL "
                    "AND original_blob != current_blob ORDER BY id",
    [S_ASSET_RELEASE_ORIG] = "UPDATE assets SET original_blob = NULL, original_delete_after = NULL "
                             "WHERE id = ?1 AND original_blob = ?2 AND original_blob != current_blob",
    [S_BLOB_ALL] = "SELECT hash, bytes, storage_class, refcount, created, delete_after FROM blobs "
                   "ORDER BY hash",
    [S_BLOB_REMOVE] = "DELETE FROM blobs WHERE hash = ?1 AND refcount = 0",
    [S_BLOB_CHECK] =
        "SELECT b.hash, b.refcount, "
        "  (SELECT count(*) FROM assets WHERE current_blob = b.hash) + "
        "  (SELECT count(*) FROM assets WHERE original_blob = b.hash) + "
        "  (SELECT count(*) FROM renditions WHERE blob = b.hash) FROM blobs b ORDER BY b.hash",
    [S_JOB_ACTIVE] = "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_until >= ?1",
    [S_ID_RANGE] = "SELECT min(id), max(id), count(*) FROM assets",
    [S_ACCESS_PUT] = "INSERT OR REPLACE INTO access (asset_id, last_access, count_30d, count_90d, "
                     "count_365d, total) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_BLOB_REF_N] = "UPDATE blobs SET refcount = refcount + ?2, delete_after = NULL WHERE hash = ?1",
};

/* The streaming scan: one statement over assets joined with access. */
static const char scan_sql[] =
    "SELECT a.id, a.kind, a.format, a.width, a.height, a.bytes, a.capture_time, a.upload_time, "
    "x.last_access, x.count_30d, x.count_90d, x.count_365d, a.current_blob, a.original_blob, "
    "a.storage_class, a.tier, a.original_delete_after, cb.bytes "
    "FROM assets a LEFT JOIN access x ON x.asset_id = a.id "
    "LEFT JOIN blobs cb ON cb.hash = a.current_blob "
    "WHERE a.id BETWEEN ?1 AND ?2 ORDER BY a.id";

struct catalog_sqlite {
    struct catalog base; /* must be first */
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
};

/* The one place SQLite codes become ours; logs SQLite's message. */
static int sql_err(struct catalog_sqlite *cs, int rc, const char *what)
{
    int ext = cs->db ? sqlite3_extended_errcode(cs->db) : rc;
    const char *msg = cs->db ? sqlite3_errmsg(cs->db) : sqlite3_errstr(rc);
    tp_err_set("catalog: %s: %s", what, msg);
    tp_log(TP_LOG_DEBUG, "sqlite error %d (%d) in %s: %s", rc, ext, what, msg);
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
        return ext == SQLITE_CONSTRAINT_UNIQUE ? TP_ERR_DUPLICATE : TP_ERR_CONFLICT;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return TP_ERR(EBUSY);
    case SQLITE_NOMEM: return TP_ERR(ENOMEM);
    case SQLITE_FULL: return TP_ERR(ENOSPC);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return TP_ERR(EACCES);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return TP_ERR_INVALIDDATA;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR: return TP_ERR(EIO);
    default: return TP_ERR_EXTERNAL;
    }
}

static sqlite3_stmt *stmt(struct catalog_sqlite *cs, enum stmt_id id)
{
    sqlite3_stmt *s = cs->st[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

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

/* Runs a statement that returns no rows. */
static int exec_stmt(struct catalog_sqlite *cs, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sql_err(cs, rc, what);
    sqlite3_reset(s);
    return ret;
}

static int run(struct catalog_sqlite *cs, enum stmt_id id, const char *what)
{
    return exec_stmt(cs, stmt(cs, id), what);
}

/* Each mutation runs inside a savepoint, so it is atomic whether or not
 * the caller opened a transaction. */
static int op_begin(struct catalog_sqlite *cs)
{
    return run(cs, S_SAVEPOINT, "savepoint");
}

static int op_end(struct catalog_sqlite *cs, int ret)
{
    if (ret < 0) {
        run(cs, S_ROLLBACK_TO, "rollback to savepoint");
        run(cs, S_RELEASE, "release savepoint");
        return ret;
    }
    return run(cs, S_RELEASE, "release savepoint");
}

static int audit_row(struct catalog_sqlite *cs, int64_t asset_id, const char *action,
                     const char *detail)
{
    sqlite3_stmt *s = stmt(cs, S_AUDIT);
    if (asset_id > 0)
        sqlite3_bind_int64(s, 1, asset_id);
    else
        sqlite3_bind_null(s, 1);
    sqlite3_bind_text(s, 2, action, -1, SQLITE_TRANSIENT);
    bind_text(s, 3, detail);
    return exec_stmt(cs, s, "audit");
}

static int blob_ref(struct catalog_sqlite *cs, const char *hash, int delta)
{
    sqlite3_stmt *s = stmt(cs, delta > 0 ? S_BLOB_REF : S_BLOB_UNREF);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(exec_stmt(cs, s, "blob reference count"));
    RETURN_ERR_IF(sqlite3_changes(cs->db) != 1, TP_ERR_NOTFOUND,
                  "catalog: blob %s is not recorded", hash);
    return 0;
}

#define CS struct catalog_sqlite *cs = (struct catalog_sqlite *)c

sqlite3 *sq_db(struct catalog *c)
{
    CS;
    return cs->db;
}

int sq_err(struct catalog *c, int rc, const char *what)
{
    CS;
    return sql_err(cs, rc, what);
}

static int sq_begin(struct catalog *c) { CS; return run(cs, S_BEGIN, "begin"); }
static int sq_commit(struct catalog *c) { CS; return run(cs, S_COMMIT, "commit"); }
/* A rollback follows an error: it must not replace that error's message.
 * After a failed COMMIT (SQLITE_FULL, IOERR) SQLite may already have rolled
 * back, and then there is nothing left to do. */
static int sq_rollback(struct catalog *c)
{
    CS;
    char first[512];
    if (sqlite3_get_autocommit(cs->db))
        return 0;
    snprintf(first, sizeof(first), "%s", tp_err_detail());
    int ret = run(cs, S_ROLLBACK, "rollback");
    if (ret < 0 && first[0])
        tp_err_set("%s", first);
    return ret;
}

static int sq_blob_add(struct catalog *c, const char *hash, uint64_t bytes, const char *sc)
{
    CS;
    char now[CATALOG_TIME];
    int ret;
    sqlite3_stmt *s = stmt(cs, S_BLOB_ADD);
    time_format(time_now(), now, sizeof(now));
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)bytes);
    sqlite3_bind_text(s, 3, sc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, now, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(op_begin(cs));
    ret = exec_stmt(cs, s, "add blob");
    if (ret >= 0 && sqlite3_changes(cs->db) == 1) {
        char detail[160];
        snprintf(detail, sizeof(detail), "{\"blob\":\"%s\",\"bytes\":%llu}", hash,
                 (unsigned long long)bytes);
        ret = audit_row(cs, 0, "blob.add", detail);
    }
    return op_end(cs, ret);
}

static int sq_blob_get(struct catalog *c, const char *hash, struct catalog_blob *b)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_BLOB_GET);
    int rc;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(s);
        tp_err_set("blob %s is not in the catalog", hash);
        return TP_ERR_NOTFOUND;
    }
    if (rc != SQLITE_ROW)
        return sql_err(cs, rc, "get blob");
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

static int sq_blob_count(struct catalog *c, int64_t *n)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_BLOB_COUNT);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sql_err(cs, rc, "count blobs");
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
}

static int sq_asset_insert(struct catalog *c, struct catalog_asset *a)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_INSERT);
    char detail[512];
    int ret;
    bind_asset(s, a);
    FORWARD_ERR(op_begin(cs));
    if ((ret = exec_stmt(cs, s, "insert asset")) < 0)
        goto end;
    a->id = sqlite3_last_insert_rowid(cs->db);
    if ((ret = blob_ref(cs, a->current_blob, 1)) < 0 ||
        (a->original_blob[0] && (ret = blob_ref(cs, a->original_blob, 1)) < 0))
        goto end;
    snprintf(detail, sizeof(detail),
             "{\"sha256\":\"%s\",\"format\":\"%s\",\"bytes\":%llu,\"current_blob\":\"%s\"}",
             a->sha256, a->format, (unsigned long long)a->bytes, a->current_blob);
    ret = audit_row(cs, a->id, "asset.insert", detail);
end:
    return op_end(cs, ret);
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
        return sql_err(cs, rc, "get asset");
    read_asset(s, out);
    sqlite3_reset(s);
    return 0;
}

static int sq_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_GET);
    sqlite3_bind_int64(s, 1, id);
    return one_asset(cs, s, out);
}

static int sq_asset_find(struct catalog *c, const char *sha, struct catalog_asset *out)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_FIND);
    sqlite3_bind_text(s, 1, sha, -1, SQLITE_TRANSIENT);
    return one_asset(cs, s, out);
}

/* Iterations use their own statement so callbacks may call other catalog
 * functions (which reset the cached statements). */
static int sq_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_asset a;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, stmt_sql[S_ASSET_ALL], -1, &s, NULL)) != SQLITE_OK)
        return sql_err(cs, rc, "list assets");
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_asset(s, &a);
        ret = fn(ud, &a);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sql_err(cs, rc, "list assets");
    sqlite3_finalize(s);
    return ret;
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

static int sq_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                            struct catalog_rendition *out)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_REND_GET);
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
        return sql_err(cs, rc, "get rendition");
    read_rendition(s, out);
    sqlite3_reset(s);
    return 0;
}

static int sq_rendition_put(struct catalog *c, struct catalog_rendition *r)
{
    CS;
    struct catalog_rendition old;
    char detail[512];
    int ret, replacing;
    sqlite3_stmt *s;

    FORWARD_ERR(op_begin(cs));
    ret = sq_rendition_get(c, r->asset_id, r->name, &old);
    if (ret < 0 && ret != TP_ERR_NOTFOUND)
        goto end;
    tp_err_clear();
    replacing = ret == 0;
    s = stmt(cs, replacing ? S_REND_UPDATE : S_REND_INSERT);
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
    if ((ret = exec_stmt(cs, s, "store rendition")) < 0)
        goto end;
    r->id = replacing ? old.id : sqlite3_last_insert_rowid(cs->db);
    if ((ret = blob_ref(cs, r->blob, 1)) < 0 || (replacing && (ret = blob_ref(cs, old.blob, -1)) < 0))
        goto end;
    snprintf(detail, sizeof(detail),
             "{\"name\":\"%s\",\"blob\":\"%s\",\"format\":\"%s\",\"width\":%d,\"height\":%d,"
             "\"bytes\":%llu%s%s%s}",
             r->name, r->blob, r->format, r->width, r->height, (unsigned long long)r->bytes,
             replacing ? ",\"replaced\":\"" : "", replacing ? old.blob : "", replacing ? "\"" : "");
    ret = audit_row(cs, r->asset_id, replacing ? "rendition.replace" : "rendition.add", detail);
end:
    return op_end(cs, ret);
}

static int sq_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn,
                                void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_rendition r;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, stmt_sql[S_REND_ALL], -1, &s, NULL)) != SQLITE_OK)
        return sql_err(cs, rc, "list renditions");
    sqlite3_bind_int64(s, 1, asset_id);
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_rendition(s, &r);
        ret = fn(ud, &r);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sql_err(cs, rc, "list renditions");
    sqlite3_finalize(s);
    return ret;
}

static int sq_access_log(struct catalog *c, int64_t asset_id, int64_t t)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ACCESS_LOG);
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_int64(s, 2, t);
    int ret = exec_stmt(cs, s, "log access");
    if (ret == TP_ERR_CONFLICT) { /* foreign key */
        tp_err_set("no asset %lld", (long long)asset_id);
        return TP_ERR_NOTFOUND;
    }
    return ret;
}

static int sq_access_refresh(struct catalog *c, int64_t now)
{
    CS;
    char detail[64];
    int ret;
    sqlite3_stmt *s = stmt(cs, S_ACCESS_REFRESH);
    sqlite3_bind_int64(s, 1, now);
    FORWARD_ERR(op_begin(cs));
    if ((ret = exec_stmt(cs, s, "refresh access statistics")) >= 0) {
        snprintf(detail, sizeof(detail), "{\"now\":%lld}", (long long)now);
        ret = audit_row(cs, 0, "access.refresh", detail);
    }
    return op_end(cs, ret);
}

static int sq_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ACCESS_GET);
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
        return sql_err(cs, rc, "get access statistics");
    }
    sqlite3_reset(s);
    return 0;
}

static int sq_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail)
{
    CS;
    return audit_row(cs, asset_id, action, detail);
}

/* ---- pointer swap, tiers, originals ------------------------------------ */

static int sq_asset_swap(struct catalog *c, int64_t asset_id, const char *expected,
                         const char *new_blob, const char *tier, const char *storage_class,
                         const char *original_delete_after)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_SWAP);
    char detail[400];
    int ret;
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, expected, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, new_blob, -1, SQLITE_TRANSIENT);
    bind_text(s, 4, tier);
    sqlite3_bind_text(s, 5, storage_class, -1, SQLITE_TRANSIENT);
    bind_text(s, 6, original_delete_after);
    FORWARD_ERR(op_begin(cs));
    if ((ret = exec_stmt(cs, s, "swap pointer")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("asset %lld no longer points at %.12s", (long long)asset_id, expected);
        ret = TP_ERR_CONFLICT;
        goto end;
    }
    if (strcmp(expected, new_blob) &&
        ((ret = blob_ref(cs, new_blob, 1)) < 0 || (ret = blob_ref(cs, expected, -1)) < 0))
        goto end;
    snprintf(detail, sizeof(detail),
             "{\"from\":\"%s\",\"to\":\"%s\",\"tier\":\"%s\",\"storage_class\":\"%s\"}", expected,
             new_blob, tier ? tier : "", storage_class);
    ret = audit_row(cs, asset_id, "asset.swap", detail);
end:
    return op_end(cs, ret);
}

static int sq_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                             const char *storage_class)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_SET_TIER);
    char detail[160];
    int ret;
    sqlite3_bind_int64(s, 1, asset_id);
    bind_text(s, 2, tier);
    sqlite3_bind_text(s, 3, storage_class, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(op_begin(cs));
    if ((ret = exec_stmt(cs, s, "set tier")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("no asset %lld", (long long)asset_id);
        ret = TP_ERR_NOTFOUND;
        goto end;
    }
    snprintf(detail, sizeof(detail), "{\"tier\":\"%s\",\"storage_class\":\"%s\"}",
             tier ? tier : "", storage_class);
    ret = audit_row(cs, asset_id, "asset.tier", detail);
end:
    return op_end(cs, ret);
}

static int sq_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn,
                                void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_asset a;
    int rc, ret = 0;
    rc = sqlite3_prepare_v2(cs->db, stmt_sql[S_ASSET_DUE], -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sql_err(cs, rc, "due originals");
    sqlite3_bind_text(s, 1, now_iso, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        read_asset(s, &a);
        if ((ret = fn(ud, &a)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sql_err(cs, rc, "due originals");
    sqlite3_finalize(s);
    return ret;
}

static int sq_asset_release_original(struct catalog *c, int64_t asset_id, const char *original)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_RELEASE_ORIG);
    char detail[128];
    int ret;
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, original, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(op_begin(cs));
    if ((ret = exec_stmt(cs, s, "release original")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("asset %lld: original %.12s is not releasable", (long long)asset_id, original);
        ret = TP_ERR_CONFLICT;
        goto end;
    }
    if ((ret = blob_ref(cs, original, -1)) < 0)
        goto end;
    snprintf(detail, sizeof(detail), "{\"blob\":\"%s\"}", original);
    ret = audit_row(cs, asset_id, "asset.release_original", detail);
end:
    return op_end(cs, ret);
}

/* ---- blobs for gc and fsck --------------------------------------------- */

static int sq_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud)
{
    CS;
    sqlite3_stmt *s = NULL, *chk = NULL;
    struct catalog_blob b;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, stmt_sql[S_BLOB_ALL], -1, &s, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(cs->db, stmt_sql[S_BLOB_CHECK], -1, &chk, NULL)) != SQLITE_OK) {
        ret = sql_err(cs, rc, "list blobs");
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
        ret = sql_err(cs, rc, "list blobs");
end:
    sqlite3_finalize(s);
    sqlite3_finalize(chk);
    return ret;
}

static int sq_blob_remove(struct catalog *c, const char *hash)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_BLOB_REMOVE);
    char detail[100];
    int ret;
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    FORWARD_ERR(op_begin(cs));
    if ((ret = exec_stmt(cs, s, "remove blob")) < 0)
        goto end;
    if (sqlite3_changes(cs->db) != 1) {
        tp_err_set("blob %.12s is still referenced or unknown", hash);
        ret = TP_ERR_CONFLICT;
        goto end;
    }
    snprintf(detail, sizeof(detail), "{\"blob\":\"%s\"}", hash);
    ret = audit_row(cs, 0, "blob.remove", detail);
end:
    return op_end(cs, ret);
}

static int sq_job_active(struct catalog *c, int64_t now, int64_t *n)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_JOB_ACTIVE);
    sqlite3_bind_int64(s, 1, now);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sql_err(cs, rc, "count active jobs");
    *n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

/* ---- streaming scans and bulk loads ----------------------------------- */

static int sq_asset_id_range(struct catalog *c, int64_t *lo, int64_t *hi, int64_t *n)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ID_RANGE);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return sql_err(cs, rc, "asset id range");
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

static int sq_asset_scan(struct catalog *c, int64_t lo, int64_t hi, catalog_scan_fn fn, void *ud)
{
    CS;
    sqlite3_stmt *s = NULL;
    struct catalog_scan_row r;
    int rc, ret = 0;
    if ((rc = sqlite3_prepare_v2(cs->db, scan_sql, -1, &s, NULL)) != SQLITE_OK)
        return sql_err(cs, rc, "scan assets");
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
        ret = fn(ud, &r);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sql_err(cs, rc, "scan assets");
    sqlite3_finalize(s);
    return ret;
}

static int sq_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                                const struct catalog_access *ac)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_ASSET_INSERT);
    bind_asset(s, a);
    FORWARD_ERR(exec_stmt(cs, s, "insert asset"));
    a->id = sqlite3_last_insert_rowid(cs->db);
    if (!ac)
        return 0;
    s = stmt(cs, S_ACCESS_PUT);
    sqlite3_bind_int64(s, 1, a->id);
    bind_text(s, 2, ac->last_access);
    sqlite3_bind_int64(s, 3, ac->count_30d);
    sqlite3_bind_int64(s, 4, ac->count_90d);
    sqlite3_bind_int64(s, 5, ac->count_365d);
    sqlite3_bind_int64(s, 6, ac->total);
    return exec_stmt(cs, s, "insert access statistics");
}

static int sq_blob_ref_add(struct catalog *c, const char *hash, int64_t n)
{
    CS;
    sqlite3_stmt *s = stmt(cs, S_BLOB_REF_N);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, n);
    FORWARD_ERR(exec_stmt(cs, s, "blob reference count"));
    RETURN_ERR_IF(sqlite3_changes(cs->db) != 1, TP_ERR_NOTFOUND,
                  "catalog: blob %s is not recorded", hash);
    return 0;
}

static int exec_sql(struct catalog_sqlite *cs, const char *sql);

static int sq_bulk_mode(struct catalog *c, int on)
{
    CS;
    /* 1 GiB of page cache keeps the sha256 index's pages in memory */
    return exec_sql(cs, on ? "PRAGMA cache_size = -1048576" : "PRAGMA cache_size = -2000");
}

static void sq_close(struct catalog *c)
{
    CS;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(cs->st[i]);
    if (cs->db)
        sqlite3_close(cs->db);
    tp_free(cs);
}

static const struct catalog_ops catalog_sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .blob_add = sq_blob_add,
    .blob_get = sq_blob_get,
    .blob_count = sq_blob_count,
    .blob_set_class = sqc_blob_set_class,
    .asset_insert = sq_asset_insert,
    .asset_get = sq_asset_get,
    .asset_find = sq_asset_find,
    .asset_iterate = sq_asset_iterate,
    .rendition_put = sq_rendition_put,
    .rendition_get = sq_rendition_get,
    .rendition_iterate = sq_rendition_iterate,
    .access_log = sq_access_log,
    .access_refresh = sq_access_refresh,
    .access_get = sq_access_get,
    .audit = sq_audit,
    .policy_put = sqj_policy_put,
    .policy_get = sqj_policy_get,
    .job_enqueue = sqj_enqueue,
    .job_claim = sqj_claim,
    .job_renew = sqj_renew,
    .job_finish = sqj_finish,
    .job_fail = sqj_fail,
    .job_release = sqj_release,
    .job_retry = sqj_retry,
    .job_list = sqj_list,
    .job_counts = sqj_counts,
    .job_requeue_dead = sqj_requeue_dead,
    .asset_swap = sq_asset_swap,
    .asset_set_tier = sq_asset_set_tier,
    .asset_iterate_due = sq_asset_iterate_due,
    .asset_release_original = sq_asset_release_original,
    .blob_iterate = sq_blob_iterate,
    .blob_remove = sq_blob_remove,
    .job_active = sq_job_active,
    .asset_id_range = sq_asset_id_range,
    .asset_scan = sq_asset_scan,
    .asset_insert_bulk = sq_asset_insert_bulk,
    .blob_ref_add = sq_blob_ref_add,
    .bulk_mode = sq_bulk_mode,
};

static int pragma_int(struct catalog_sqlite *cs, const char *sql, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(cs->db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : sql_err(cs, rc, sql);
}

static int exec_sql(struct catalog_sqlite *cs, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(cs->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        tp_err_set("catalog: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sql_err(cs, rc, "exec");
    }
    return 0;
}

/* Brings the schema to the newest version, one migration per transaction.
 * A catalog newer than this program is refused. */
static int migrate(struct catalog_sqlite *cs)
{
    const int newest = (int)TP_ARRAY_SIZE(migrations);
    int v, ret;
    FORWARD_ERR(pragma_int(cs, "PRAGMA user_version", &v));
    RETURN_ERR_IF(v > newest, TP_ERR_UNSUPPORTED,
                  "catalog schema version %d is newer than this tierpress understands (%d)", v,
                  newest);
    for (; v < newest; v++) {
        char bump[64];
        FORWARD_ERR(exec_sql(cs, "BEGIN IMMEDIATE"));
        /* re-read under the write lock: another process may have migrated */
        int now;
        if ((ret = pragma_int(cs, "PRAGMA user_version", &now)) < 0)
            goto fail;
        if (now > v) {
            exec_sql(cs, "ROLLBACK");
            v = now - 1;
            continue;
        }
        snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", v + 1);
        if ((ret = exec_sql(cs, migrations[v])) < 0 || (ret = exec_sql(cs, bump)) < 0)
            goto fail;
        if ((ret = exec_sql(cs, "COMMIT")) < 0)
            goto fail;
        tp_log(TP_LOG_INFO, "catalog migrated to schema version %d", v + 1);
    }
    return 0;
fail:
    exec_sql(cs, "ROLLBACK");
    return ret;
}

/* A handle on path with extended codes and the busy timeout; on failure
 * nothing is left open. */
static int open_db(struct catalog_sqlite **cs_out, const char *path, int flags)
{
    struct catalog_sqlite *cs = tp_calloc(1, sizeof(*cs));
    int rc, ret;
    *cs_out = NULL;
    if (!cs)
        return TP_ERR(ENOMEM);
    cs->base.ops = &catalog_sqlite_ops;
    rc = sqlite3_open_v2(path, &cs->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        ret = sql_err(cs, rc, path);
        sq_close(&cs->base);
        return ret;
    }
    sqlite3_extended_result_codes(cs->db, 1);
    sqlite3_busy_timeout(cs->db, BUSY_TIMEOUT_MS);
    *cs_out = cs;
    return 0;
}

/* Every statement, prepared once for the handle's life. */
static int prepare_all(struct catalog_sqlite *cs)
{
    for (int i = 0; i < S_COUNT; i++) {
        int rc = sqlite3_prepare_v3(cs->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &cs->st[i], NULL);
        if (rc != SQLITE_OK)
            return sql_err(cs, rc, stmt_sql[i]);
    }
    return 0;
}

int catalog_sqlite_open(struct catalog **c_out, const char *path)
{
    struct catalog_sqlite *cs;
    int ret, fk = 0;
    *c_out = NULL;
    if ((ret = open_db(&cs, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) < 0)
        return ret;
    if ((ret = exec_sql(cs, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                            "PRAGMA foreign_keys = ON;")) < 0)
        goto fail;
    if ((ret = pragma_int(cs, "PRAGMA foreign_keys", &fk)) < 0)
        goto fail;
    if (!fk) {
        tp_err_set("catalog: this SQLite cannot enforce foreign keys");
        ret = TP_ERR_UNSUPPORTED;
        goto fail;
    }
    if ((ret = migrate(cs)) < 0)
        goto fail;
    if ((ret = prepare_all(cs)) < 0)
        goto fail;
    *c_out = &cs->base;
    return 0;
fail:
    sq_close(&cs->base);
    return ret;
}

/* "file:PATH?immutable=1" with the characters a URI path cannot hold
 * escaped; TP_ERR(ENAMETOOLONG) when it does not fit. */
static int immutable_uri(const char *path, char *out, size_t n)
{
    size_t o = (size_t)snprintf(out, n, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if (o + 4 >= n)
            return TP_ERR(ENAMETOOLONG);
        if (*p == '%' || *p == '?' || *p == '#' || *p < 0x20 || *p >= 0x7f)
            o += (size_t)snprintf(out + o, n - o, "%%%02X", *p);
        else
            out[o++] = (char)*p;
    }
    if (o + 13 >= n)
        return TP_ERR(ENAMETOOLONG);
    snprintf(out + o, n - o, "?immutable=1");
    return 0;
}

/* A read-only handle whose schema is readable; v gets its version. */
static int open_reading(struct catalog_sqlite **cs_out, const char *name, int flags, int *v)
{
    int ret = open_db(cs_out, name, flags);
    if (ret < 0)
        return ret;
    if ((ret = pragma_int(*cs_out, "PRAGMA user_version", v)) < 0) {
        sq_close(&(*cs_out)->base);
        *cs_out = NULL;
    }
    return ret;
}

int catalog_sqlite_open_readonly(struct catalog **c_out, const char *path)
{
    struct catalog_sqlite *cs;
    char uri[8192], wal[4200];
    struct stat st;
    int ret, v = 0;
    FILE *f;
    *c_out = NULL;
    /* SQLite would report "unable to open": say what is missing */
    if (!(f = fopen(path, "rb"))) {
        tp_err_set("no catalog at %s", path);
        return TP_ERR_NOTFOUND;
    }
    fclose(f);
    ret = open_reading(&cs, path, SQLITE_OPEN_READONLY, &v);
    if (ret < 0 && ret != TP_ERR(EBUSY) && ret != TP_ERR_INVALIDDATA) {
        /* WAL mode needs catalog.db-shm, which a read-only directory or a
         * full disk cannot give: read the database file as it is */
        char why[300];
        snprintf(why, sizeof(why), "%s", tp_err_detail());
        tp_err_clear();
        if ((ret = immutable_uri(path, uri, sizeof(uri))) < 0)
            return ret;
        if ((ret = open_reading(&cs, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, &v)) < 0)
            return ret;
        snprintf(wal, sizeof(wal), "%s-wal", path);
        tp_log(TP_LOG_INFO, "%s opened immutable (%s)", path, why);
        if (stat(wal, &st) == 0 && st.st_size > 0)
            tp_log(TP_LOG_WARN, "%s cannot be read without writing (%s): the transactions "
                   "still in %s are not seen", path, why, wal);
    }
    if (ret < 0)
        return ret;
    if (v != (int)TP_ARRAY_SIZE(migrations)) {
        tp_err_set("%s: catalog schema version %d, this tierpress reads %d (run any writing "
                   "command once to migrate)", path, v, (int)TP_ARRAY_SIZE(migrations));
        ret = TP_ERR_UNSUPPORTED;
        goto fail;
    }
    if ((ret = prepare_all(cs)) < 0)
        goto fail;
    *c_out = &cs->base;
    return 0;
fail:
    sq_close(&cs->base);
    return ret;
}
