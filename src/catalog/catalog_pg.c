/* The PostgreSQL catalog backend (libpq): the connection (a postgresql://
 * URI or key=value conninfo, PG* environment variables as libpq reads
 * them), the one error translator, retries, versioned schema migrations,
 * transactions and the statement table.  The operations are in
 * catalog_pg_assets.c and catalog_pg_jobs.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog_pg_int.h"
#include "err.h"
#include "log.h"
#include "mem.h"

/* Instants are timestamptz and come back as ISO 8601 UTC text. */
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Forward-only migrations: migrations[i] takes schema_version i to i + 1.
 * capture_time stays text: a camera's wall-clock time without a zone, as
 * written (not an instant two machines compare). */
static const char *const migrations[] = {
    /* 0 -> 1: the schema of SQLite's version 2, with instants as timestamptz */
    "CREATE TABLE blobs ("
    "  hash text PRIMARY KEY,"
    "  bytes bigint NOT NULL CHECK (bytes >= 0),"
    "  storage_class text NOT NULL DEFAULT 'STANDARD',"
    "  refcount bigint NOT NULL DEFAULT 0 CHECK (refcount >= 0),"
    "  created timestamptz NOT NULL DEFAULT now(),"
    "  delete_after timestamptz"
    ");"
    "CREATE TABLE assets ("
    "  id bigserial PRIMARY KEY,"
    "  sha256 text NOT NULL UNIQUE,"
    "  kind text NOT NULL CHECK (kind IN ('image', 'video')),"
    "  format text NOT NULL,"
    "  width integer, height integer,"
    "  bytes bigint NOT NULL,"
    "  capture_time text,"
    "  upload_time timestamptz NOT NULL,"
    "  camera_make text, camera_model text,"
    "  has_gps boolean NOT NULL DEFAULT false,"
    "  orientation smallint NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),"
    "  duration double precision,"
    "  current_blob text NOT NULL REFERENCES blobs(hash),"
    "  storage_class text NOT NULL DEFAULT 'STANDARD',"
    "  tier text,"
    "  original_blob text REFERENCES blobs(hash),"
    "  original_delete_after timestamptz"
    ");"
    "CREATE INDEX assets_current_blob ON assets(current_blob);"
    "CREATE INDEX assets_original_blob ON assets(original_blob);"
    "CREATE INDEX assets_due ON assets(original_delete_after) "
    "  WHERE original_delete_after IS NOT NULL;"
    "CREATE TABLE renditions ("
    "  id bigserial PRIMARY KEY,"
    "  asset_id bigint NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  name text NOT NULL,"
    "  blob text NOT NULL REFERENCES blobs(hash),"
    "  format text NOT NULL,"
    "  width integer, height integer,"
    "  bytes bigint NOT NULL,"
    "  ssim double precision, min_tile double precision,"
    "  created timestamptz NOT NULL DEFAULT now(),"
    "  UNIQUE (asset_id, name)"
    ");"
    "CREATE INDEX renditions_blob ON renditions(blob);"
    "CREATE TABLE access ("
    "  asset_id bigint PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  last_access timestamptz,"
    "  count_30d bigint NOT NULL DEFAULT 0,"
    "  count_90d bigint NOT NULL DEFAULT 0,"
    "  count_365d bigint NOT NULL DEFAULT 0,"
    "  total bigint NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE access_log ("
    "  asset_id bigint NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  time timestamptz NOT NULL"
    ");"
    "CREATE INDEX access_log_asset ON access_log(asset_id, time);"
    /* asset_id is not a foreign key: the log outlives deleted assets */
    "CREATE TABLE audit ("
    "  id bigserial PRIMARY KEY,"
    "  time timestamptz NOT NULL DEFAULT now(),"
    "  asset_id bigint,"
    "  action text NOT NULL,"
    "  detail text"
    ");"
    "CREATE INDEX audit_asset ON audit(asset_id);"
    "CREATE TABLE jobs ("
    "  id bigserial PRIMARY KEY,"
    "  asset_id bigint NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  policy text NOT NULL,"
    "  tier text NOT NULL,"
    "  state text NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued', 'running', 'done', 'kept', 'failed')),"
    "  owner text,"
    "  lease_until timestamptz,"
    "  attempts integer NOT NULL DEFAULT 0,"
    "  result text,"
    "  created timestamptz NOT NULL DEFAULT now(),"
    "  finished timestamptz,"
    "  UNIQUE (asset_id, policy, tier)"
    ");"
    "CREATE INDEX jobs_state ON jobs(policy, state, id);",
    /* 1 -> 2: the job queue (catalog_pg_jobs.c) */
    pg_jobs_migration_v2,
    /* 2 -> 3: access events are unique per asset and second: importing a log
     * twice counts each event once (issue #16) */
    "DELETE FROM access_log a USING access_log b "
    "  WHERE a.ctid > b.ctid AND a.asset_id = b.asset_id AND a.time = b.time;"
    "DROP INDEX IF EXISTS access_log_asset;"
    "CREATE UNIQUE INDEX IF NOT EXISTS access_log_event ON access_log(asset_id, time);",
    /* 3 -> 4: ingest jobs (an uploaded blob, no asset yet; catalog_pg_rows.c) */
    pg_migration_ingest_jobs,
    /* 4 -> 5: the worker registry, queued-job notifications (catalog_pg_workers.c) */
    pg_workers_migration_v3,
    /* 5 -> 6: imported metadata, albums, import records (catalog_pg_import.c) */
    pg_import_migration,
    /* 6 -> 7: owners, the client's file name and id, the trash (issue 14):
     * (owner, sha256) is unique instead of sha256 */
    "ALTER TABLE assets ADD COLUMN owner text NOT NULL DEFAULT 'local',"
    "  ADD COLUMN file_name text, ADD COLUMN external_id text,"
    "  ADD COLUMN deleted_at timestamptz;"
    "ALTER TABLE assets DROP CONSTRAINT assets_sha256_key;"
    "ALTER TABLE assets ADD CONSTRAINT assets_owner_sha256_key UNIQUE (owner, sha256);"
    "CREATE INDEX assets_sha256 ON assets(sha256);"
    "CREATE INDEX assets_deleted ON assets(deleted_at) WHERE deleted_at IS NOT NULL;",
    /* 7 -> 8: components: each asset's inventory of parts (catalog_pg_assets.c) */
    "CREATE TABLE components ("
    "  asset_id bigint PRIMARY KEY,"
    "  kinds integer NOT NULL,"
    "  inventory text NOT NULL"
    ");",
    /* 8 -> 9: pairs: a Live Photo's / motion photo's still and video as one asset */
    "CREATE TABLE pairs ("
    "  image_id bigint PRIMARY KEY,"
    "  video_id bigint NOT NULL UNIQUE,"
    "  how text NOT NULL"
    ");",
    /* 9 -> 10: perceptual fingerprints and near-duplicate groups (catalog_pg_fp.c) */
    pg_fp_migration,
    /* 10 -> 11: ingest jobs record their account, unique per (blob, account)
     * (catalog_pg_jobs.c) */
    pg_migration_ingest_account,
    /* 11 -> 12: one owner's assets in id order (the service's keyset pages) */
    "CREATE INDEX assets_owner_id ON assets(owner, id);",
    /* 12 -> 13: Live Photo content identifiers, found by (owner, identifier)
     * when the other half of a pair arrives in a later upload */
    "CREATE TABLE content_ids ("
    "  asset_id bigint PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  owner text NOT NULL,"
    "  content_id text NOT NULL"
    ");"
    "CREATE INDEX content_ids_owner ON content_ids(owner, content_id);",
    /* 13 -> 14: rows of assets that no longer exist, left by deletions before
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
    /* 14 -> 15: an ingest job records what the client said of the upload
     * (file name, external id, capture-time hint) for the asset it makes */
    "ALTER TABLE jobs ADD COLUMN file_name text, ADD COLUMN external_id text,"
    "  ADD COLUMN capture_hint text;",
    /* 15 -> 16: the first answers to the service's Idempotency-Keys, so a
     * retry after a restart, or on another server of the fleet, gets them
     * (issue 14; catalog_pg_import.c) */
    pg_idem_migration,
};

#define ASSET_COLS                                                             \
    "id, sha256, kind, format, width, height, bytes, capture_time, " ISO("upload_time") ", " \
    "camera_make, camera_model, has_gps::int, orientation, duration, current_blob, "        \
    "storage_class, tier, original_blob, " ISO("original_delete_after") ", owner, "     \
    "file_name, external_id, " ISO("deleted_at")
#define REND_COLS                                                              \
    "id, asset_id, name, blob, format, width, height, bytes, ssim, min_tile, " ISO("created")
#define BLOB_COLS                                                              \
    "hash, bytes, storage_class, refcount, " ISO("created") ", " ISO("delete_after")

static const char *const stmt_sql[P_COUNT] = {
    [P_BEGIN] = "BEGIN",
    [P_COMMIT] = "COMMIT",
    [P_ROLLBACK] = "ROLLBACK",
    [P_SAVEPOINT] = "SAVEPOINT tp_op",
    [P_RELEASE] = "RELEASE SAVEPOINT tp_op",
    [P_ROLLBACK_TO] = "ROLLBACK TO SAVEPOINT tp_op",
    [P_BLOB_ADD] = "INSERT INTO blobs (hash, bytes, storage_class) VALUES ($1, $2, $3) "
                   "ON CONFLICT (hash) DO NOTHING",
    [P_BLOB_GET] = "SELECT " BLOB_COLS " FROM blobs WHERE hash = $1",
    [P_BLOB_COUNT] = "SELECT count(*) FROM blobs",
    [P_BLOB_SET_CLASS] = "UPDATE blobs SET storage_class = $2 WHERE hash = $1",
    [P_BLOB_REF_N] = "UPDATE blobs SET refcount = refcount + $2, "
                     "delete_after = CASE WHEN $2 > 0 THEN NULL ELSE delete_after END "
                     "WHERE hash = $1",
    [P_ASSET_INSERT] = "INSERT INTO assets (sha256, kind, format, width, height, bytes, "
                       "capture_time, upload_time, camera_make, camera_model, has_gps, "
                       "orientation, duration, current_blob, storage_class, tier, original_blob, "
                       "owner, file_name, external_id) "
                       "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::int::boolean, $12, "
                       "$13, $14, $15, $16, $17, coalesce($18, 'local'), $19, $20) RETURNING id",
    [P_ASSET_GET] = "SELECT " ASSET_COLS " FROM assets WHERE id = $1",
    [P_ASSET_FIND] = "SELECT " ASSET_COLS " FROM assets WHERE sha256 = $1 ORDER BY id LIMIT 1",
    [P_ASSET_FIND_OWNER] = "SELECT " ASSET_COLS " FROM assets WHERE owner = $1 AND sha256 = $2",
    [P_ASSET_TRASH] = "UPDATE assets SET deleted_at = $2::timestamptz WHERE id = $1",
    /* every reference the asset holds, counted (current and original may
     * be one blob; identical proxies share one) */
    [P_ASSET_UNREF] = "WITH refs(h) AS (SELECT current_blob FROM assets WHERE id = $1 "
                      "  UNION ALL SELECT original_blob FROM assets WHERE id = $1 "
                      "    AND original_blob IS NOT NULL "
                      "  UNION ALL SELECT blob FROM renditions WHERE asset_id = $1) "
                      "UPDATE blobs SET refcount = refcount - "
                      "  (SELECT count(*) FROM refs WHERE h = blobs.hash) "
                      "WHERE hash IN (SELECT h FROM refs)",
    [P_ASSET_DELETE] = "DELETE FROM assets WHERE id = $1",
    /* components and pairs have no foreign key (their migrations) */
    [P_ASSET_COMP_DELETE] = "DELETE FROM components WHERE asset_id = $1",
    [P_ASSET_PAIR_DELETE] = "DELETE FROM pairs WHERE image_id = $1 OR video_id = $1",
    [P_ASSET_PAGE] = "SELECT " ASSET_COLS " FROM assets WHERE id > $1 ORDER BY id LIMIT $2",
    [P_ASSET_LIST] = "SELECT " ASSET_COLS " FROM assets WHERE id > $1 "
                     "AND ($2::text IS NULL OR coalesce(tier, '-') = $2::text) "
                     "AND ($3::text IS NULL OR format = $3::text OR EXISTS (SELECT 1 FROM renditions r "
                     "  WHERE r.asset_id = assets.id AND r.blob = assets.current_blob AND r.format = $3::text)) "
                     "AND ($5::text IS NULL OR owner = $5::text) "
                     "AND (NOT $6::boolean OR deleted_at IS NULL) ORDER BY id LIMIT $4",
    /* one owner's: a walk of assets_owner_id, never of other owners' rows */
    [P_ASSET_LIST_OWNER] = "SELECT " ASSET_COLS " FROM assets WHERE owner = $5 AND id > $1 "
                           "AND ($2::text IS NULL OR coalesce(tier, '-') = $2::text) "
                           "AND ($3::text IS NULL OR format = $3::text OR EXISTS (SELECT 1 "
                           "  FROM renditions r WHERE r.asset_id = assets.id "
                           "  AND r.blob = assets.current_blob AND r.format = $3::text)) "
                           "AND (NOT $6::boolean OR deleted_at IS NULL) ORDER BY id LIMIT $4",
    /* left(): the same under any collation (no index: a scan, for get by prefix) */
    [P_ASSET_PREFIX] = "SELECT " ASSET_COLS " FROM assets WHERE left(sha256, length($1)) = $1 LIMIT 2",
    [P_REND_GET] = "SELECT " REND_COLS " FROM renditions WHERE asset_id = $1 AND name = $2",
    /* the old blob from the locked row as it was before this update */
    [P_REND_UPDATE] =
        "UPDATE renditions r SET blob = $3, format = $4, width = $5, height = $6, bytes = $7, "
        "  ssim = $8, min_tile = $9, created = $10 "
        "FROM (SELECT id, blob FROM renditions WHERE asset_id = $1 AND name = $2 FOR UPDATE) old "
        "WHERE r.id = old.id RETURNING r.id, old.blob",
    [P_REND_INSERT] =
        "INSERT INTO renditions (asset_id, name, blob, format, width, height, bytes, ssim, "
        "  min_tile, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, ''",
    [P_REND_ALL] = "SELECT " REND_COLS " FROM renditions WHERE asset_id = $1 ORDER BY name",
    [P_ACCESS_LOG] = "INSERT INTO access_log (asset_id, time) VALUES ($1, to_timestamp($2)) "
                     "ON CONFLICT (asset_id, time) DO NOTHING",
    [P_ACCESS_REFRESH] =
        "INSERT INTO access (asset_id, last_access, count_30d, count_90d, count_365d, total) "
        "SELECT asset_id, max(time), "
        "  count(*) FILTER (WHERE time > to_timestamp($1 - 30 * 86400) AND time <= to_timestamp($1)), "
        "  count(*) FILTER (WHERE time > to_timestamp($1 - 90 * 86400) AND time <= to_timestamp($1)), "
        "  count(*) FILTER (WHERE time > to_timestamp($1 - 365 * 86400) AND time <= to_timestamp($1)), "
        "  count(*) FROM access_log GROUP BY asset_id "
        "ON CONFLICT (asset_id) DO UPDATE SET last_access = excluded.last_access, "
        "  count_30d = excluded.count_30d, count_90d = excluded.count_90d, "
        "  count_365d = excluded.count_365d, total = excluded.total",
    [P_ACCESS_GET] = "SELECT asset_id, " ISO("last_access") ", count_30d, count_90d, count_365d, "
                     "total FROM access WHERE asset_id = $1",
    [P_AUDIT] = "INSERT INTO audit (asset_id, action, detail) VALUES ($1, $2, $3)",
    [P_ASSET_SWAP] = "UPDATE assets SET current_blob = $3, tier = $4, storage_class = $5, "
                     "original_delete_after = $6 WHERE id = $1 AND current_blob = $2",
    [P_ASSET_SET_TIER] = "UPDATE assets SET tier = $2, storage_class = $3 WHERE id = $1",
    /* a plan's label-only moves: $1 ids, $2 tiers, $3 classes (arrays); the
     * blob's class too when only this asset references it */
    [P_ASSET_RELABEL] =
        "WITH u AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, tier, sc)), "
        "a AS (UPDATE assets SET tier = u.tier, storage_class = u.sc FROM u WHERE assets.id = u.id "
        "  RETURNING assets.id, assets.current_blob, assets.original_blob, u.tier, u.sc), "
        "b AS (UPDATE blobs SET storage_class = a.sc FROM a WHERE blobs.hash = a.current_blob "
        "  AND blobs.storage_class <> a.sc AND blobs.refcount <= 1 + "
        "  (a.original_blob IS NOT DISTINCT FROM a.current_blob)::int + (SELECT count(*) FROM "
        "  renditions r WHERE r.asset_id = a.id AND r.blob = a.current_blob) RETURNING 1), "
        "au AS (INSERT INTO audit (asset_id, action, detail) SELECT a.id, 'asset.tier', "
        "  '{\"tier\":\"' || a.tier || '\",\"storage_class\":\"' || a.sc || '\"}' FROM a "
        "  RETURNING 1) "
        "SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b), (SELECT count(*) FROM au)",
    [P_ASSET_DUE_PAGE] = "SELECT " ASSET_COLS " FROM assets WHERE original_delete_after <= $1 "
                         "AND original_blob IS NOT NULL AND original_blob <> current_blob "
                         "AND id > $2 ORDER BY id LIMIT $3",
    [P_ASSET_RELEASE_ORIG] = "UPDATE assets SET original_blob = NULL, original_delete_after = NULL "
                             "WHERE id = $1 AND original_blob = $2 AND original_blob <> current_blob",
    [P_BLOB_PAGE] =
        "SELECT " BLOB_COLS ", "
        "  (SELECT count(*) FROM assets WHERE current_blob = b.hash) + "
        "  (SELECT count(*) FROM assets WHERE original_blob = b.hash) + "
        "  (SELECT count(*) FROM renditions WHERE blob = b.hash) "
        "FROM blobs b WHERE hash > $1 ORDER BY hash LIMIT $2",
    [P_BLOB_REMOVE] = "DELETE FROM blobs WHERE hash = $1 AND refcount = 0",
    [P_ID_RANGE] = "SELECT coalesce(min(id), 0), coalesce(max(id), 0), count(*) FROM assets",
    [P_SCAN_PAGE] =
        "SELECT a.id, a.kind, a.format, a.width, a.height, a.bytes, a.capture_time, "
        ISO("a.upload_time") ", " ISO("x.last_access") ", x.count_30d, x.count_90d, "
        "x.count_365d, a.current_blob, a.original_blob, a.storage_class, a.tier, "
        ISO("a.original_delete_after") ", cb.bytes, comp.kinds, "
        "coalesce(f.group_id IS NOT NULL AND NOT f.keeper, false)::int, "
        "coalesce(a.camera_make, ''), m.latitude, m.longitude, "
        "coalesce(m.other_capture_time <> '', false)::int "
        /* the range on access too: else a merge join walks its index from
         * the start on every page (quadratic over the catalog) */
        "FROM assets a LEFT JOIN access x ON x.asset_id = a.id "
        "  AND x.asset_id >= $1 AND x.asset_id <= $2 "
        "LEFT JOIN blobs cb ON cb.hash = a.current_blob "
        "LEFT JOIN components comp ON comp.asset_id = a.id "
        "  AND comp.asset_id >= $1 AND comp.asset_id <= $2 "
        "LEFT JOIN fingerprints f ON f.asset_id = a.id "
        "LEFT JOIN asset_meta m ON m.asset_id = a.id "
        "  AND m.asset_id >= $1 AND m.asset_id <= $2 "
        "WHERE a.id >= $1 AND a.id <= $2 ORDER BY a.id LIMIT $3",
    [P_COMP_PUT] = "INSERT INTO components (asset_id, kinds, inventory) VALUES ($1, $2, $3) "
                   "ON CONFLICT (asset_id) DO UPDATE SET kinds = excluded.kinds, "
                   "inventory = excluded.inventory",
    [P_COMP_GET] = "SELECT kinds, inventory FROM components WHERE asset_id = $1",
    [P_PAIR_PUT] = "INSERT INTO pairs (image_id, video_id, how) SELECT $1, $2, $3 "
                   "WHERE NOT EXISTS (SELECT 1 FROM pairs WHERE image_id IN ($1, $2) "
                   "OR video_id IN ($1, $2)) ON CONFLICT DO NOTHING",
    [P_PAIR_GET] = "SELECT CASE WHEN image_id = $1 THEN video_id ELSE image_id END "
                   "FROM pairs WHERE image_id = $1 OR video_id = $1",
    [P_CID_PUT] = "INSERT INTO content_ids (asset_id, owner, content_id) "
                  "SELECT id, owner, $2 FROM assets WHERE id = $1 "
                  "ON CONFLICT (asset_id) DO UPDATE SET content_id = excluded.content_id",
    [P_CID_GET] = "SELECT content_id FROM content_ids WHERE asset_id = $1",
    /* the owner's index (content_ids_owner); pairs by either key */
    [P_CID_MATCH] = "SELECT o.asset_id FROM content_ids me "
                    "JOIN content_ids o ON o.owner = me.owner "
                    "  AND o.content_id = me.content_id AND o.asset_id <> me.asset_id "
                    "JOIN assets x ON x.id = me.asset_id "
                    "JOIN assets a ON a.id = o.asset_id "
                    "WHERE me.asset_id = $1 AND a.kind <> x.kind AND a.deleted_at IS NULL "
                    "  AND NOT EXISTS (SELECT 1 FROM pairs WHERE image_id = o.asset_id) "
                    "  AND NOT EXISTS (SELECT 1 FROM pairs WHERE video_id = o.asset_id) "
                    "ORDER BY o.asset_id LIMIT 1",
    [P_ID_RESERVE] = "SELECT nextval(pg_get_serial_sequence('assets', 'id')) "
                     "FROM generate_series(1, $1)",
};

/* ---- parameters and columns -------------------------------------------- */

void pgp_text(struct pg_params *p, const char *s)
{
    p->v[p->n++] = s && *s ? s : NULL;
}

void pgp_int(struct pg_params *p, int64_t v)
{
    snprintf(p->num[p->n], sizeof(p->num[0]), "%lld", (long long)v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

void pgp_real(struct pg_params *p, double v, int is_null)
{
    if (is_null) {
        p->v[p->n++] = NULL;
        return;
    }
    snprintf(p->num[p->n], sizeof(p->num[0]), "%.17g", v);
    p->v[p->n] = p->num[p->n];
    p->n++;
}

const char *pg_str(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

void pg_text(const PGresult *r, int row, int col, char *out, size_t n)
{
    snprintf(out, n, "%s", pg_str(r, row, col));
}

int64_t pg_int(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

double pg_real(const PGresult *r, int row, int col, double if_null)
{
    return PQgetisnull(r, row, col) ? if_null : strtod(PQgetvalue(r, row, col), NULL);
}

/* ---- errors ------------------------------------------------------------- */

#define CP struct catalog_pg *cp = (struct catalog_pg *)c

static int conn_lost(const struct catalog_pg *cp)
{
    return !cp->conn || PQstatus(cp->conn) != CONNECTION_OK;
}

/* The one place PostgreSQL's errors become ours: names the server and the
 * operation, logs libpq's message and SQLSTATE.  A serialization failure
 * or deadlock is TP_ERR(EAGAIN) (retryable); a lost connection is
 * TP_ERR(ECONNRESET). */
static int pg_err(struct catalog_pg *cp, const PGresult *r, const char *what)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[300];
    if (!msg || !*msg) {
        snprintf(line, sizeof(line), "%s", cp->conn ? PQerrorMessage(cp->conn) : "no connection");
        line[strcspn(line, "\n")] = '\0';
        msg = line;
    }
    tp_err_set("catalog %s: %s: %s", cp->where, what, msg);
    tp_log(TP_LOG_DEBUG, "postgresql %s in %s: %s", state ? state : "-", what, msg);
    if (!state || !*state)
        return conn_lost(cp) ? TP_ERR(ECONNRESET) : TP_ERR_EXTERNAL;
    if (!strcmp(state, "23505"))
        return TP_ERR_DUPLICATE;
    if (!strncmp(state, "23", 2)) /* foreign key, check, not null */
        return TP_ERR_CONFLICT;
    if (!strcmp(state, "40001") || !strcmp(state, "40P01"))
        return TP_ERR(EAGAIN);
    if (!strncmp(state, "08", 2) || !strcmp(state, "57P01") || !strcmp(state, "57P02") ||
        !strcmp(state, "57P03"))
        return TP_ERR(ECONNRESET);
    if (!strcmp(state, "53100"))
        return TP_ERR(ENOSPC);
    if (!strcmp(state, "53200"))
        return TP_ERR(ENOMEM);
    if (!strncmp(state, "28", 2) || !strcmp(state, "42501"))
        return TP_ERR(EACCES);
    if (!strcmp(state, "3D000"))
        return TP_ERR_NOTFOUND;
    if (!strncmp(state, "22", 2))
        return TP_ERR(EINVAL);
    return TP_ERR_EXTERNAL;
}

/* ---- the connection ----------------------------------------------------- */

static void notice_to_log(void *arg, const char *message)
{
    (void)arg;
    tp_log(TP_LOG_DEBUG, "postgresql: %.*s", (int)strcspn(message, "\n"), message);
}

/* UTC for every instant libpq formats; our notices go to the debug log. */
static int session_setup(struct catalog_pg *cp)
{
    memset(cp->prepared, 0, sizeof(cp->prepared));
    cp->listening = 0;
    PQsetNoticeProcessor(cp->conn, notice_to_log, NULL);
    return pgc_exec_sql(cp, "SET TimeZone = 'UTC'; SET client_min_messages = warning",
                        "session settings");
}

/* Re-establishes a lost connection; the caller's transaction, if any, is
 * gone with it. */
static int reconnect(struct catalog_pg *cp)
{
    PQreset(cp->conn);
    if (PQstatus(cp->conn) != CONNECTION_OK)
        return pg_err(cp, NULL, "reconnect");
    tp_log(TP_LOG_INFO, "catalog %s: reconnected", cp->where);
    return session_setup(cp);
}

static int check_result(struct catalog_pg *cp, PGresult *r, const char *what)
{
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return 0;
    int ret = pg_err(cp, r, what);
    if (ret == TP_ERR(ECONNRESET) && cp->txn)
        cp->lost_in_txn = 1;
    return ret;
}

int pgc_exec_sql(struct catalog_pg *cp, const char *sql, const char *what)
{
    PGresult *r = PQexec(cp->conn, sql);
    int ret = check_result(cp, r, what);
    PQclear(r);
    return ret;
}

/* A statement's SQL: each file's statements form a range of enum pg_stmt
 * (catalog_pg_int.h), the newest range last. */
static const char *stmt_text(enum pg_stmt id)
{
    if (id >= P_FP_FIRST)
        return pg_fp_sql(id);
    if (id >= P_IMPORT_FIRST)
        return pg_import_sql(id);
    if (id >= P_WORKER_FIRST)
        return pg_workers_sql(id);
    if (id >= P_JOB_FIRST)
        return pg_jobs_sql(id);
    return stmt_sql[id];
}

int pgc_exec(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p, PGresult **res,
             const char *what)
{
    char name[16];
    PGresult *r;
    int ret;
    if (res)
        *res = NULL;
    RETURN_ERR_IF(cp->lost_in_txn, TP_ERR(ECONNRESET),
                  "catalog %s: %s: the connection was lost inside this transaction; roll it back",
                  cp->where, what);
    if (id != P_ROLLBACK && id != P_ROLLBACK_TO && id != P_ID_RESERVE)
        FORWARD_ERR(pgc_bulk_flush(cp));
    snprintf(name, sizeof(name), "tp%d", (int)id);
    if (!cp->prepared[id]) {
        r = PQprepare(cp->conn, name, stmt_text(id), 0, NULL);
        ret = check_result(cp, r, what);
        PQclear(r);
        FORWARD_ERR(ret);
        cp->prepared[id] = 1;
    }
    r = PQexecPrepared(cp->conn, name, p ? p->n : 0, p ? p->v : NULL, NULL, NULL, 0);
    if ((ret = check_result(cp, r, what)) < 0) {
        PQclear(r);
        return ret;
    }
    if (PQresultStatus(r) == PGRES_TUPLES_OK)
        ret = PQntuples(r);
    else
        ret = atoi(PQcmdTuples(r));
    if (res)
        *res = r;
    else
        PQclear(r);
    return ret;
}

int pgc_exec_params(struct catalog_pg *cp, const char *sql, const struct pg_params *p,
                    PGresult **res, const char *what)
{
    PGresult *r;
    int ret;
    if (res)
        *res = NULL;
    RETURN_ERR_IF(cp->lost_in_txn, TP_ERR(ECONNRESET),
                  "catalog %s: %s: the connection was lost inside this transaction; roll it back",
                  cp->where, what);
    FORWARD_ERR(pgc_bulk_flush(cp));
    r = PQexecParams(cp->conn, sql, p ? p->n : 0, NULL, p ? p->v : NULL, NULL, NULL, 0);
    if ((ret = check_result(cp, r, what)) < 0) {
        PQclear(r);
        return ret;
    }
    ret = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : atoi(PQcmdTuples(r));
    if (res)
        *res = r;
    else
        PQclear(r);
    return ret;
}

#define PG_MAX_ATTEMPTS 8

static void backoff(int attempt)
{
    /* 25 ms, 50 ms, ... capped at 2 s: rides out a server restart */
    long ms = 25L << (attempt < 7 ? attempt : 7);
    if (ms > 2000)
        ms = 2000;
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

int pgc_read(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p, PGresult **res,
             const char *what)
{
    int ret;
    for (int attempt = 0;; attempt++) {
        ret = pgc_exec(cp, id, p, res, what);
        if (ret >= 0 || cp->txn || cp->op_depth || attempt + 1 >= PG_MAX_ATTEMPTS ||
            (ret != TP_ERR(ECONNRESET) && ret != TP_ERR(EAGAIN)))
            return ret;
        backoff(attempt);
        if (conn_lost(cp) && reconnect(cp) < 0)
            continue;
    }
}

/* ---- transactions and atomic operations -------------------------------- */

static int single_in_savepoint(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p,
                               PGresult **res, const char *what)
{
    if (res) {
        PQclear(*res);
        *res = NULL;
    }
    return pgc_exec(cp, id, p, res, what);
}

int pgc_single(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p, PGresult **res,
               const char *what)
{
    int ret;
    if (res)
        *res = NULL;
    if (cp->txn)
        return PG_ATOMIC(cp, single_in_savepoint(cp, id, p, res, what));
    for (int attempt = 0;; attempt++) {
        if (conn_lost(cp) && (ret = reconnect(cp)) < 0)
            return ret; /* nothing was sent */
        ret = pgc_exec(cp, id, p, res, what);
        if (ret != TP_ERR(EAGAIN) || attempt + 1 >= PG_MAX_ATTEMPTS)
            break;
        backoff(attempt);
    }
    if (ret == TP_ERR(ECONNRESET)) {
        tp_err_set("catalog %s: %s: the connection was lost; the change may or may not have been "
                   "applied", cp->where, what);
        return TP_ERR(EIO);
    }
    return ret;
}

int pgc_op_begin(struct catalog_pg *cp)
{
    int ret = pgc_exec(cp, cp->txn ? P_SAVEPOINT : P_BEGIN, NULL, NULL,
                       cp->txn ? "savepoint" : "begin");
    if (ret >= 0)
        cp->op_depth = 1;
    return ret;
}

int pgc_op_end(struct catalog_pg *cp, int ret)
{
    int r2;
    if (!cp->op_depth)
        return ret;
    cp->op_depth = 0;
    if (cp->txn) {
        if (ret < 0) {
            if (!cp->lost_in_txn) {
                pgc_exec(cp, P_ROLLBACK_TO, NULL, NULL, "rollback to savepoint");
                pgc_exec(cp, P_RELEASE, NULL, NULL, "release savepoint");
            }
            return ret;
        }
        r2 = pgc_exec(cp, P_RELEASE, NULL, NULL, "release savepoint");
        return r2 < 0 ? r2 : ret;
    }
    if (ret < 0) {
        if (!conn_lost(cp))
            pgc_exec(cp, P_ROLLBACK, NULL, NULL, "rollback");
        return ret;
    }
    r2 = pgc_exec(cp, P_COMMIT, NULL, NULL, "commit");
    if (r2 == TP_ERR(ECONNRESET)) {
        /* the COMMIT may or may not have reached the server: never retried */
        tp_err_set("catalog %s: the connection was lost during COMMIT; the operation may or may "
                   "not have been applied", cp->where);
        return TP_ERR(EIO);
    }
    return r2 < 0 ? r2 : ret;
}

int pgc_op_retry(struct catalog_pg *cp, int ret, int attempt)
{
    if (ret >= 0 || cp->txn || attempt + 1 >= PG_MAX_ATTEMPTS ||
        (ret != TP_ERR(EAGAIN) && ret != TP_ERR(ECONNRESET)))
        return 0;
    /* a statement failed before COMMIT: the server rolled it all back */
    tp_log(TP_LOG_DEBUG, "catalog %s: retrying: %s", cp->where, tp_err_detail());
    backoff(attempt);
    if (conn_lost(cp))
        reconnect(cp); /* a failure shows in the next attempt */
    return 1;
}

static int pg_begin(struct catalog *c)
{
    CP;
    RETURN_ERR_IF(cp->txn, TP_ERR(EINVAL), "catalog %s: transactions do not nest", cp->where);
    if (conn_lost(cp))
        FORWARD_ERR(reconnect(cp));
    FORWARD_ERR(pgc_exec(cp, P_BEGIN, NULL, NULL, "begin"));
    cp->txn = 1;
    return 0;
}

static int pg_commit(struct catalog *c)
{
    CP;
    int lost_before = cp->lost_in_txn;
    int ret = lost_before ? TP_ERR(ECONNRESET) : pgc_exec(cp, P_COMMIT, NULL, NULL, "commit");
    cp->txn = 0;
    cp->lost_in_txn = 0;
    if (ret == TP_ERR(ECONNRESET)) {
        tp_err_set("catalog %s: the connection was lost %s", cp->where,
                   lost_before ? "inside the transaction: nothing of it was applied"
                               : "during COMMIT: the transaction may or may not have been applied");
        return lost_before ? TP_ERR(ECONNRESET) : TP_ERR(EIO);
    }
    return ret < 0 ? ret : 0;
}

static int pg_rollback(struct catalog *c)
{
    CP;
    int ret = 0;
    buf_free(&cp->copy_assets); /* buffered bulk rows belong to the transaction */
    buf_free(&cp->copy_access);
    if (!cp->lost_in_txn && !conn_lost(cp))
        ret = pgc_exec(cp, P_ROLLBACK, NULL, NULL, "rollback");
    cp->txn = 0;
    cp->lost_in_txn = 0;
    return ret < 0 ? ret : 0;
}

int pgc_audit(struct catalog_pg *cp, int64_t asset_id, const char *action, const char *detail)
{
    struct pg_params p = { .n = 0 };
    if (asset_id > 0)
        pgp_int(&p, asset_id);
    else
        pgp_text(&p, NULL);
    pgp_text(&p, action);
    pgp_text(&p, detail);
    int ret = pgc_exec(cp, P_AUDIT, &p, NULL, "audit");
    return ret < 0 ? ret : 0;
}

int pgc_audit_take(struct catalog_pg *cp, int64_t asset_id, const char *action, char *detail)
{
    int ret = detail ? pgc_audit(cp, asset_id, action, detail) : TP_ERR(ENOMEM);
    free(detail);
    return ret;
}

/* ---- migrations --------------------------------------------------------- */

/* Brings the schema to the newest version, every migration in one
 * transaction under an advisory lock, so concurrent openers migrate once.
 * A schema newer than this program is refused.  *version_out: the
 * schema's version afterwards. */
static int migrate(struct catalog_pg *cp, int *version_out)
{
    const int newest = (int)TP_ARRAY_SIZE(migrations);
    PGresult *r = NULL;
    int v, ret;
    FORWARD_ERR(pgc_exec_sql(cp, "BEGIN", "begin migration"));
    if ((ret = pgc_exec_sql(cp, "SELECT pg_advisory_xact_lock(7412000001);"
                                "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL);"
                                "INSERT INTO schema_version SELECT 0 WHERE NOT EXISTS "
                                "(SELECT 1 FROM schema_version)", "schema version")) < 0)
        goto fail;
    r = PQexec(cp->conn, "SELECT max(version) FROM schema_version");
    if ((ret = check_result(cp, r, "schema version")) < 0)
        goto fail;
    v = (int)pg_int(r, 0, 0);
    if (v > newest) {
        tp_err_set("catalog %s: schema version %d is newer than this tierpress understands (%d)",
                   cp->where, v, newest);
        ret = TP_ERR_UNSUPPORTED;
        goto fail;
    }
    for (int from = v; from < newest; from++) {
        char bump[80];
        snprintf(bump, sizeof(bump), "UPDATE schema_version SET version = %d", from + 1);
        if ((catalog_migration_wanted(from) &&
             (ret = pgc_exec_sql(cp, migrations[from], "migration")) < 0) ||
            (ret = pgc_exec_sql(cp, bump, "migration")) < 0)
            goto fail;
        tp_log(TP_LOG_INFO, "catalog %s migrated to schema version %d", cp->where, from + 1);
    }
    if ((ret = pgc_exec_sql(cp, "COMMIT", "commit migration")) < 0)
        goto fail;
    PQclear(r);
    *version_out = v > newest ? v : newest;
    return 0;
fail:
    PQclear(r);
    if (!conn_lost(cp))
        pgc_exec_sql(cp, "ROLLBACK", "rollback migration");
    return ret;
}

/* ---- open and close ----------------------------------------------------- */

static int pg_bulk_mode(struct catalog *c, int on)
{
    CP;
    /* nothing to tune per session beyond COPY: flush what is buffered */
    return on ? 0 : pgc_bulk_flush(cp);
}

static void pg_close(struct catalog *c)
{
    CP;
    if (cp->conn)
        PQfinish(cp->conn);
    buf_free(&cp->copy_assets);
    buf_free(&cp->copy_access);
    tp_free(cp);
}

static const struct catalog_ops catalog_pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .blob_add = pg_blob_add,
    .blob_get = pg_blob_get,
    .blob_count = pg_blob_count,
    .blob_set_class = pg_blob_set_class,
    .asset_insert = pg_asset_insert,
    .asset_get = pg_asset_get,
    .asset_find = pg_asset_find,
    .asset_find_owner = pg_asset_find_owner,
    .asset_trash = pg_asset_trash,
    .asset_delete = pg_asset_delete,
    .asset_iterate = pg_asset_iterate,
    .rendition_put = pg_rendition_put,
    .rendition_get = pg_rendition_get,
    .rendition_iterate = pg_rendition_iterate,
    .access_log = pg_access_log,
    .access_refresh = pg_access_refresh,
    .access_get = pg_access_get,
    .audit = pg_audit,
    .policy_put = pg_policy_put,
    .policy_get = pg_policy_get,
    .job_enqueue = pg_job_enqueue,
    .job_claim = pg_job_claim,
    .job_renew = pg_job_renew,
    .job_finish = pg_job_finish,
    .job_fail = pg_job_fail,
    .job_release = pg_job_release,
    .job_retry = pg_job_retry,
    .job_list = pg_job_list,
    .job_counts = pg_job_counts,
    .job_requeue_dead = pg_job_requeue_dead,
    .asset_swap = pg_asset_swap,
    .asset_set_tier = pg_asset_set_tier,
    .asset_iterate_due = pg_asset_iterate_due,
    .asset_list = pg_asset_list,
    .asset_find_prefix = pg_asset_find_prefix,
    .asset_release_original = pg_asset_release_original,
    .blob_iterate = pg_blob_iterate,
    .blob_remove = pg_blob_remove,
    .job_active = pg_job_active,
    .asset_id_range = pg_asset_id_range,
    .asset_scan = pg_asset_scan,
    .asset_insert_bulk = pg_asset_insert_bulk,
    .blob_ref_add = pg_blob_ref_add,
    .bulk_mode = pg_bulk_mode,
    .rows_export = pg_rows_export,
    .rows_import = pg_rows_import,
    .rows_finish = pg_rows_finish,
    .asset_id_mark = pg_asset_id_mark,
    .migrate_state = pg_migrate_state,
    .job_enqueue_batch = pg_job_enqueue_batch,
    .job_enqueue_ingest = pg_job_enqueue_ingest,
    .job_ingest_get = pg_job_ingest_get,
    .job_ingest_blobs = pg_job_ingest_blobs,
    .worker_register = pg_worker_register,
    .worker_heartbeat = pg_worker_heartbeat,
    .worker_deregister = pg_worker_deregister,
    .worker_list = pg_worker_list,
    .worker_prune = pg_worker_prune,
    .asset_relabel_batch = pg_asset_relabel_batch,
    .job_wait = pg_job_wait,
    .meta_put = pg_meta_put,
    .meta_get = pg_meta_get,
    .album_add = pg_album_add,
    .album_iterate = pg_album_iterate,
    .import_put = pg_import_put,
    .import_get = pg_import_get,
    .components_put = pg_components_put,
    .components_get = pg_components_get,
    .pair_put = pg_pair_put,
    .pair_get = pg_pair_get,
    .content_id_put = pg_content_id_put,
    .content_id_get = pg_content_id_get,
    .content_id_match = pg_content_id_match,
    .fp_put = pgf_fp_put,
    .fp_get = pgf_fp_get,
    .fp_near = pgf_fp_near,
    .fp_scan = pgf_fp_scan,
    .fp_set_group = pgf_fp_set_group,
    .fp_group = pgf_fp_group,
    .idem_put = pg_idem_put,
    .idem_get = pg_idem_get,
};

static int open_conn(struct catalog_pg **out, const char *uri_or_conninfo)
{
    struct catalog_pg *cp = tp_calloc(1, sizeof(*cp));
    *out = NULL;
    if (!cp)
        return TP_ERR(ENOMEM);
    cp->base.ops = &catalog_pg_ops;
    cp->caller_clock = getenv("TP_FAULT_PG_CALLER_CLOCK") != NULL;
    /* a URI or key=value string; what it leaves out comes from PG* variables */
    cp->conn = PQconnectdb(uri_or_conninfo ? uri_or_conninfo : "");
    if (!cp->conn) {
        tp_free(cp);
        return TP_ERR(ENOMEM);
    }
    snprintf(cp->where, sizeof(cp->where), "%s:%s/%s",
             PQhost(cp->conn) && *PQhost(cp->conn) ? PQhost(cp->conn) : "localhost",
             PQport(cp->conn) ? PQport(cp->conn) : "", PQdb(cp->conn) ? PQdb(cp->conn) : "");
    if (PQstatus(cp->conn) != CONNECTION_OK) {
        /* no SQLSTATE before the session exists: the class from libpq */
        int ret = pg_err(cp, NULL, "connect");
        if (PQconnectionNeedsPassword(cp->conn) || PQconnectionUsedPassword(cp->conn))
            ret = TP_ERR(EACCES);
        else if (strstr(PQerrorMessage(cp->conn), "does not exist"))
            ret = TP_ERR_NOTFOUND; /* the database or role (server messages in English) */
        else
            ret = TP_ERR(ECONNREFUSED);
        pg_close(&cp->base);
        return ret;
    }
    *out = cp;
    return session_setup(cp);
}

/* A read-only session on a catalog whose schema is the current one. */
static int check_readonly(struct catalog_pg *cp)
{
    const int newest = (int)TP_ARRAY_SIZE(migrations);
    PGresult *r;
    int v, ret;
    FORWARD_ERR(pgc_exec_sql(cp, "SET default_transaction_read_only = on", "read-only session"));
    r = PQexec(cp->conn, "SELECT to_regclass('schema_version') IS NULL");
    if ((ret = check_result(cp, r, "schema version")) < 0) {
        PQclear(r);
        return ret;
    }
    v = !strcmp(pg_str(r, 0, 0), "t");
    PQclear(r);
    RETURN_ERR_IF(v, TP_ERR_NOTFOUND, "no tierpress catalog in %s", cp->where);
    r = PQexec(cp->conn, "SELECT max(version) FROM schema_version");
    if ((ret = check_result(cp, r, "schema version")) < 0) {
        PQclear(r);
        return ret;
    }
    v = (int)pg_int(r, 0, 0);
    PQclear(r);
    RETURN_ERR_IF(v != newest, TP_ERR_UNSUPPORTED,
                  "catalog %s: schema version %d, this tierpress reads %d (run `tierpress catalog "
                  "migrate`)", cp->where, v, newest);
    return 0;
}

int catalog_pg_open(struct catalog **c_out, const char *uri_or_conninfo, unsigned flags)
{
    struct catalog_pg *cp = NULL;
    int ret, version;
    *c_out = NULL;
    if ((ret = open_conn(&cp, uri_or_conninfo)) < 0)
        goto fail;
    if (flags & CATALOG_OPEN_READONLY)
        ret = check_readonly(cp);
    else
        ret = migrate(cp, &version);
    if (ret < 0)
        goto fail;
    *c_out = &cp->base;
    return 0;
fail:
    if (cp)
        pg_close(&cp->base);
    return ret;
}

int catalog_pg_migrate(const char *uri_or_conninfo, int *version_out)
{
    struct catalog_pg *cp = NULL;
    int ret;
    if ((ret = open_conn(&cp, uri_or_conninfo)) < 0)
        goto end;
    ret = migrate(cp, version_out);
end:
    if (cp)
        pg_close(&cp->base);
    return ret;
}
