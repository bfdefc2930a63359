/* The SQLite catalog backend: WAL, foreign keys, busy timeout, schema
 * versioned with PRAGMA user_version and forward-only migrations, every
 * statement prepared once at open. This file holds the handle (open,
 * read-only and immutable open, migrations), transactions, statement
 * preparation, error translation and the ops table; the asset, blob,
 * rendition, access and audit operations are in catalog_sqlite_assets.c,
 * the job queue in catalog_sqlite_jobs.c. */
#include <sqlite3.h>
#include <stdio.h>
#include <sys/stat.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"
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
    /* 3 -> 4: access events are unique per asset and second: importing a log
     * twice counts each event once (issue #16) */
    "DELETE FROM access_log WHERE rowid NOT IN "
    "  (SELECT min(rowid) FROM access_log GROUP BY asset_id, time);"
    "DROP INDEX IF EXISTS access_log_asset;"
    "CREATE UNIQUE INDEX IF NOT EXISTS access_log_event ON access_log(asset_id, time);",
    /* 4 -> 5: ingest jobs (an uploaded blob, no asset yet; catalog_sqlite_rows.c) */
    sqj_migration_ingest_jobs,
    /* 5 -> 6: the worker registry (catalog_sqlite_workers.c) */
    sqw_migration_v4,
    /* 6 -> 7: imported metadata, albums, import records (catalog_sqlite_import.c) */
    sqi_migration_import,
    /* 7 -> 8: owners, the client's file name and id, the trash (issue 14).
     * sha256 was UNIQUE; now (owner, sha256) is, and SQLite can only drop a
     * constraint by rebuilding the table.  That needs foreign keys off (a
     * DROP TABLE would cascade into renditions, access and jobs), which
     * cannot change inside a transaction: so this commits the (empty)
     * transaction migrate() opened, rebuilds in a transaction of its own
     * that also sets the version, and opens a new one for migrate() to
     * finish.  A column added to assets by an earlier migration must be
     * listed in both column lists below. */
    "COMMIT;"
    "PRAGMA foreign_keys = OFF;"
    "BEGIN IMMEDIATE;"
    "CREATE TABLE assets_v4 ("
    "  id INTEGER PRIMARY KEY,"
    "  sha256 TEXT NOT NULL,"
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
    "  original_blob TEXT REFERENCES blobs(hash),"
    "  original_delete_after TEXT,"
    "  owner TEXT NOT NULL DEFAULT 'local',"
    "  file_name TEXT,"
    "  external_id TEXT,"
    "  deleted_at TEXT,"
    "  UNIQUE (owner, sha256)"
    ");"
    "INSERT INTO assets_v4 (id, sha256, kind, format, width, height, bytes, capture_time,"
    "  upload_time, camera_make, camera_model, has_gps, orientation, duration, current_blob,"
    "  storage_class, tier, original_blob, original_delete_after) "
    "SELECT id, sha256, kind, format, width, height, bytes, capture_time,"
    "  upload_time, camera_make, camera_model, has_gps, orientation, duration, current_blob,"
    "  storage_class, tier, original_blob, original_delete_after FROM assets;"
    "DROP TABLE assets;"
    "ALTER TABLE assets_v4 RENAME TO assets;"
    "CREATE INDEX assets_current_blob ON assets(current_blob);"
    "CREATE INDEX assets_original_blob ON assets(original_blob);"
    "CREATE INDEX assets_sha256 ON assets(sha256);"
    "CREATE INDEX assets_deleted ON assets(deleted_at) WHERE deleted_at IS NOT NULL;"
    /* its own index + 1 (the array is append-only): a crash after this
     * COMMIT leaves the catalog past this migration, never before it */
    "PRAGMA user_version = 8;"
    "COMMIT;"
    "PRAGMA foreign_keys = ON;"
    "BEGIN IMMEDIATE;",
    /* 8 -> 9: components: each asset's inventory of parts (catalog_sqlite_components.c) */
    "CREATE TABLE components ("
    "  asset_id INTEGER PRIMARY KEY,"
    "  kinds INTEGER NOT NULL,"
    "  inventory TEXT NOT NULL"
    ");",
    /* 9 -> 10: pairs: a Live Photo's / motion photo's still and video as one asset */
    "CREATE TABLE pairs ("
    "  image_id INTEGER PRIMARY KEY,"
    "  video_id INTEGER NOT NULL UNIQUE,"
    "  how TEXT NOT NULL"
    ");",
    /* 10 -> 11: perceptual fingerprints and near-duplicate groups (catalog_sqlite_fp.c) */
    sqf_migration_fingerprints,
    /* 11 -> 12: an ingest job records the account its asset will belong
     * to, and is unique per (blob, account): two owners' uploads of the
     * same bytes are two jobs (issue 14) */
    "DROP INDEX jobs_ingest_blob;"
    "ALTER TABLE jobs ADD COLUMN account TEXT;"
    "UPDATE jobs SET account = 'local' WHERE blob IS NOT NULL;"
    "CREATE UNIQUE INDEX jobs_ingest_blob ON jobs(blob, account) WHERE blob IS NOT NULL;",
    /* 12 -> 13: one owner's assets in id order (the service's keyset pages) */
    "CREATE INDEX assets_owner_id ON assets(owner, id);",
    /* 13 -> 14: Live Photo content identifiers, found by (owner, identifier)
     * when the other half of a pair arrives in a later upload
     * (catalog_sqlite_components.c) */
    "CREATE TABLE content_ids ("
    "  asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  owner TEXT NOT NULL,"
    "  content_id TEXT NOT NULL"
    ");"
    "CREATE INDEX content_ids_owner ON content_ids(owner, content_id);",
    /* 14 -> 15: rows of assets that no longer exist, left by deletions before
     * deleting an asset deleted its components and pairs (those tables have
     * no foreign key): an inventory of no asset or of a video (inventories
     * are an image's), a pair whose halves are missing, not a still and a
     * video, or of two owners (a stale row an asset given a deleted one's
     * id inherited); fingerprints of no asset (the foreign key cascades,
     * but a catalog edited without it may hold some) */
    "DELETE FROM components WHERE asset_id NOT IN (SELECT id FROM assets WHERE kind = 'image');"
    "DELETE FROM pairs WHERE image_id NOT IN (SELECT id FROM assets WHERE kind = 'image')"
    "  OR video_id NOT IN (SELECT id FROM assets WHERE kind = 'video')"
    "  OR (SELECT owner FROM assets WHERE id = image_id) <> (SELECT owner FROM assets WHERE id = video_id);"
    "DELETE FROM fingerprints WHERE asset_id NOT IN (SELECT id FROM assets);",
    /* 15 -> 16: an ingest job records what the client said of the upload
     * (file name, external id, capture-time hint) for the asset it makes */
    "ALTER TABLE jobs ADD COLUMN file_name TEXT;"
    "ALTER TABLE jobs ADD COLUMN external_id TEXT;"
    "ALTER TABLE jobs ADD COLUMN capture_hint TEXT;",
    /* 16 -> 17: an asset id is never given out twice.  SQLite's rowid is
     * the largest id + 1, so deleting the newest asset handed its id to
     * the next upload, and a client still holding it read another photo.
     * The largest id ever used is kept here (a trigger raises it on every
     * insert, explicit ids of migrate and synth too) and S_ASSET_INSERT
     * takes the next one.  PostgreSQL's sequence never reuses ids. */
    "CREATE TABLE asset_id_high (n INTEGER NOT NULL);"
    "INSERT INTO asset_id_high SELECT coalesce(max(id), 0) FROM assets;"
    "CREATE TRIGGER assets_id_high AFTER INSERT ON assets "
    "  WHEN NEW.id > (SELECT n FROM asset_id_high) "
    "  BEGIN UPDATE asset_id_high SET n = NEW.id; END;",
    /* 17 -> 18: the first answers to the service's Idempotency-Keys, so a
     * retry after a restart, or on another server, gets them (issue 14;
     * catalog_sqlite_import.c) */
    sqi_migration_idem,
};

#define ASSET_COLS                                                             \
    "id, sha256, kind, format, width, height, bytes, capture_time, upload_time, " \
    "camera_make, camera_model, has_gps, orientation, duration, current_blob, "   \
    "storage_class, tier, original_blob, original_delete_after, owner, file_name, "  \
    "external_id, deleted_at"
#define REND_COLS                                                              \
    "id, asset_id, name, blob, format, width, height, bytes, ssim, min_tile, created"

const char *const sq_stmt_sql[S_COUNT] = {
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
    /* (the next id past every id ever used: see migration 16 -> 17) */
    [S_ASSET_INSERT] = "INSERT INTO assets (id, sha256, kind, format, width, height, bytes, "
                       "capture_time, upload_time, camera_make, camera_model, has_gps, "
                       "orientation, duration, current_blob, storage_class, tier, original_blob, "
                       "owner, file_name, external_id) "
                       "VALUES ((SELECT max(n, coalesce((SELECT max(id) FROM assets), 0)) + 1 "
                       "FROM asset_id_high), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                       "?13, ?14, ?15, ?16, ?17, coalesce(?18, 'local'), ?19, ?20)",
    [S_ASSET_GET] = "SELECT " ASSET_COLS " FROM assets WHERE id = ?1",
    [S_ASSET_FIND] = "SELECT " ASSET_COLS " FROM assets WHERE sha256 = ?1 ORDER BY id LIMIT 1",
    [S_ASSET_FIND_OWNER] = "SELECT " ASSET_COLS " FROM assets WHERE owner = ?1 AND sha256 = ?2",
    [S_ASSET_TRASH] = "UPDATE assets SET deleted_at = ?2 WHERE id = ?1",
    /* every reference the asset holds, counted (current and original may
     * be one blob; identical proxies share one) */
    [S_ASSET_UNREF] = "WITH refs(h) AS (SELECT current_blob FROM assets WHERE id = ?1 "
                      "  UNION ALL SELECT original_blob FROM assets WHERE id = ?1 "
                      "    AND original_blob IS NOT NULL "
                      "  UNION ALL SELECT blob FROM renditions WHERE asset_id = ?1) "
                      "UPDATE blobs SET refcount = refcount - "
                      "  (SELECT count(*) FROM refs WHERE h = blobs.hash) "
                      "WHERE hash IN (SELECT h FROM refs)",
    [S_ASSET_DELETE] = "DELETE FROM assets WHERE id = ?1",
    /* components and pairs have no foreign key (their migrations): removed
     * with the asset, or a later asset given the same id would inherit them */
    [S_ASSET_COMP_DELETE] = "DELETE FROM components WHERE asset_id = ?1",
    [S_ASSET_PAIR_DELETE] = "DELETE FROM pairs WHERE image_id = ?1 OR video_id = ?1",
    [S_ASSET_ALL] = "SELECT " ASSET_COLS " FROM assets ORDER BY id",
    [S_REND_GET] = "SELECT " REND_COLS " FROM renditions WHERE asset_id = ?1 AND name = ?2",
    [S_REND_INSERT] = "INSERT INTO renditions (asset_id, name, blob, format, width, height, "
                      "bytes, ssim, min_tile, created) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [S_REND_UPDATE] = "UPDATE renditions SET blob = ?3, format = ?4, width = ?5, height = ?6, "
                      "bytes = ?7, ssim = ?8, min_tile = ?9, created = ?10 "
                      "WHERE asset_id = ?1 AND name = ?2",
    [S_REND_ALL] = "SELECT " REND_COLS " FROM renditions WHERE asset_id = ?1 ORDER BY name",
    [S_ACCESS_LOG] = "INSERT INTO access_log (asset_id, time) VALUES (?1, ?2) "
                     "ON CONFLICT (asset_id, time) DO NOTHING",
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
    [S_ASSET_LIST] = "SELECT " ASSET_COLS " FROM assets WHERE id > ?1 "
                     "AND (?2 IS NULL OR coalesce(tier, '-') = ?2) "
                     "AND (?3 IS NULL OR format = ?3 OR EXISTS (SELECT 1 FROM renditions r "
                     "  WHERE r.asset_id = assets.id AND r.blob = assets.current_blob AND r.format = ?3)) "
                     "AND (?6 = 0 OR deleted_at IS NULL) ORDER BY id LIMIT ?4",
    /* one owner's: a walk of assets_owner_id, never of other owners' rows */
    [S_ASSET_LIST_OWNER] = "SELECT " ASSET_COLS " FROM assets WHERE owner = ?5 AND id > ?1 "
                           "AND (?2 IS NULL OR coalesce(tier, '-') = ?2) "
                           "AND (?3 IS NULL OR format = ?3 OR EXISTS (SELECT 1 FROM renditions r "
                           "  WHERE r.asset_id = assets.id AND r.blob = assets.current_blob "
                           "  AND r.format = ?3)) "
                           "AND (?6 = 0 OR deleted_at IS NULL) ORDER BY id LIMIT ?4",
    [S_ASSET_PREFIX] = "SELECT " ASSET_COLS " FROM assets WHERE sha256 >= ?1 AND sha256 < ?2 "
                       "ORDER BY sha256 LIMIT 2",
};

/* The one place SQLite codes become ours; logs SQLite's message. */
int sq_sql_err(struct catalog_sqlite *cs, int rc, const char *what)
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

sqlite3_stmt *sq_stmt(struct catalog_sqlite *cs, enum stmt_id id)
{
    sqlite3_stmt *s = cs->st[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Runs a statement that returns no rows. */
int sq_exec_stmt(struct catalog_sqlite *cs, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_sql_err(cs, rc, what);
    sqlite3_reset(s);
    return ret;
}

static int run(struct catalog_sqlite *cs, enum stmt_id id, const char *what)
{
    return sq_exec_stmt(cs, sq_stmt(cs, id), what);
}

/* Each mutation runs inside a savepoint, so it is atomic whether or not
 * the caller opened a transaction. */
int sq_op_begin(struct catalog_sqlite *cs)
{
    return run(cs, S_SAVEPOINT, "savepoint");
}

int sq_op_end(struct catalog_sqlite *cs, int ret)
{
    if (ret < 0) {
        run(cs, S_ROLLBACK_TO, "rollback to savepoint");
        run(cs, S_RELEASE, "release savepoint");
        return ret;
    }
    return run(cs, S_RELEASE, "release savepoint");
}

sqlite3 *sq_db(struct catalog *c)
{
    CS;
    return cs->db;
}

int sq_err(struct catalog *c, int rc, const char *what)
{
    CS;
    return sq_sql_err(cs, rc, what);
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

static int exec_sql(struct catalog_sqlite *cs, const char *sql);

/* synchronous=FULL: the WAL is synced at every commit (catalog_durable) */
static int sq_durable(struct catalog *c)
{
    CS;
    return exec_sql(cs, "PRAGMA synchronous = FULL;");
}

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
    .asset_find_owner = sq_asset_find_owner,
    .asset_trash = sq_asset_trash,
    .asset_delete = sq_asset_delete,
    .asset_iterate = sq_asset_iterate,
    .rendition_put = sq_rendition_put,
    .rendition_get = sq_rendition_get,
    .rendition_iterate = sq_rendition_iterate,
    .access_log = sq_access_log,
    .access_refresh = sq_access_refresh,
    .access_get = sq_access_get,
    .audit = sq_audit,
    .durable = sq_durable,
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
    .asset_list = sq_asset_list,
    .asset_find_prefix = sq_asset_find_prefix,
    .asset_release_original = sq_asset_release_original,
    .blob_iterate = sq_blob_iterate,
    .blob_remove = sq_blob_remove,
    .job_active = sq_job_active,
    .asset_id_range = sq_asset_id_range,
    .asset_scan = sq_asset_scan,
    .asset_insert_bulk = sq_asset_insert_bulk,
    .blob_ref_add = sq_blob_ref_add,
    .bulk_mode = sq_bulk_mode,
    .rows_export = sq_rows_export,
    .rows_import = sq_rows_import,
    .asset_id_mark = sq_asset_id_mark,
    .migrate_state = sq_migrate_state,
    .job_enqueue_batch = sq_job_enqueue_batch,
    .job_enqueue_ingest = sq_job_enqueue_ingest,
    .job_ingest_get = sq_job_ingest_get,
    .job_ingest_blobs = sq_job_ingest_blobs,
    .worker_register = sqw_register,
    .worker_heartbeat = sqw_heartbeat,
    .worker_deregister = sqw_deregister,
    .worker_list = sqw_list,
    .worker_prune = sqw_prune,
    .asset_relabel_batch = sq_asset_relabel_batch,
    .job_wait = sqw_job_wait,
    .meta_put = sq_meta_put,
    .meta_get = sq_meta_get,
    .album_add = sq_album_add,
    .album_iterate = sq_album_iterate,
    .import_put = sq_import_put,
    .import_get = sq_import_get,
    .components_put = sq_components_put,
    .components_get = sq_components_get,
    .pair_put = sq_pair_put,
    .pair_get = sq_pair_get,
    .content_id_put = sq_content_id_put,
    .content_id_get = sq_content_id_get,
    .content_id_match = sq_content_id_match,
    .fp_put = sqf_fp_put,
    .fp_get = sqf_fp_get,
    .fp_near = sqf_fp_near,
    .fp_scan = sqf_fp_scan,
    .fp_set_group = sqf_fp_set_group,
    .fp_group = sqf_fp_group,
    .idem_put = sq_idem_put,
    .idem_get = sq_idem_get,
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
    return rc == SQLITE_OK ? 0 : sq_sql_err(cs, rc, sql);
}

static int exec_sql(struct catalog_sqlite *cs, const char *sql)
{
    char *msg = NULL;
    int rc = sqlite3_exec(cs->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        tp_err_set("catalog: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return sq_sql_err(cs, rc, "exec");
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
        if ((catalog_migration_wanted(v) && (ret = exec_sql(cs, migrations[v])) < 0) ||
            (ret = exec_sql(cs, bump)) < 0)
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
        ret = sq_sql_err(cs, rc, path);
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
        int rc = sqlite3_prepare_v3(cs->db, sq_stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &cs->st[i], NULL);
        if (rc != SQLITE_OK)
            return sq_sql_err(cs, rc, sq_stmt_sql[i]);
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
