/* The SQLite backend's imported metadata, albums and import records
 * (catalog_meta_put, catalog_album_add, catalog_import_put, ...): small
 * statements prepared per call (an import runs them once per file). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"

const char sqi_migration_import[] =
    "CREATE TABLE asset_meta ("
    "  asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  capture_time TEXT, capture_source TEXT,"
    "  exif_capture_time TEXT, sidecar_capture_time TEXT,"
    "  latitude REAL, longitude REAL, location_source TEXT,"
    "  description TEXT,"
    "  favourite INTEGER NOT NULL DEFAULT 0,"
    "  archived INTEGER NOT NULL DEFAULT 0,"
    "  trashed INTEGER NOT NULL DEFAULT 0,"
    "  sidecar TEXT,"
    "  other_capture_time TEXT,"
    "  source TEXT"
    ");"
    "CREATE TABLE albums ("
    "  id INTEGER PRIMARY KEY,"
    "  title TEXT NOT NULL UNIQUE"
    ");"
    "CREATE TABLE album_assets ("
    "  album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,"
    "  asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (album_id, asset_id)"
    ") WITHOUT ROWID;"
    "CREATE TABLE imports ("
    "  key TEXT PRIMARY KEY,"
    "  asset_id INTEGER,"
    "  time TEXT NOT NULL"
    ") WITHOUT ROWID;";

static void bind_opt(sqlite3_stmt *s, int i, const char *t)
{
    if (t && *t)
        sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void col_text(sqlite3_stmt *s, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

static int prep(struct catalog *c, const char *sql, sqlite3_stmt **s, const char *what)
{
    int rc = sqlite3_prepare_v2(sq_db(c), sql, -1, s, NULL);
    return rc == SQLITE_OK ? 0 : sq_err(c, rc, what);
}

/* Steps s to the end; 0 or an error. */
static int done(struct catalog *c, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_err(c, rc, what);
}

static int meta_put_body(struct catalog *c, const struct catalog_meta *m)
{
    sqlite3_stmt *s = NULL;
    int ret;
    if ((ret = prep(c, "UPDATE assets SET capture_time = coalesce(?2, capture_time), "
                       "has_gps = max(has_gps, ?3) WHERE id = ?1",
                    &s, "import metadata")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, m->asset_id);
    bind_opt(s, 2, m->capture_time);
    sqlite3_bind_int(s, 3, m->has_location ? 1 : 0);
    if ((ret = done(c, s, "import metadata")) < 0)
        goto end;
    if (sqlite3_changes(sq_db(c)) != 1) {
        tp_err_set("catalog: no asset %lld", (long long)m->asset_id);
        ret = TP_ERR_NOTFOUND;
        goto end;
    }
    sqlite3_finalize(s);
    s = NULL;
    if ((ret = prep(c, "INSERT OR REPLACE INTO asset_meta (asset_id, capture_time, "
                       "capture_source, exif_capture_time, sidecar_capture_time, latitude, "
                       "longitude, location_source, description, favourite, archived, trashed, "
                       "sidecar, other_capture_time, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, "
                       "?10, ?11, ?12, ?13, ?14, ?15)",
                    &s, "import metadata")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, m->asset_id);
    bind_opt(s, 2, m->capture_time);
    bind_opt(s, 3, m->capture_source);
    bind_opt(s, 4, m->exif_capture_time);
    bind_opt(s, 5, m->sidecar_capture_time);
    if (m->has_location) {
        sqlite3_bind_double(s, 6, m->latitude);
        sqlite3_bind_double(s, 7, m->longitude);
    }
    bind_opt(s, 8, m->location_source);
    bind_opt(s, 9, m->description);
    sqlite3_bind_int(s, 10, !!m->favourite);
    sqlite3_bind_int(s, 11, !!m->archived);
    sqlite3_bind_int(s, 12, !!m->trashed);
    bind_opt(s, 13, m->sidecar);
    bind_opt(s, 14, m->other_capture_time);
    bind_opt(s, 15, m->source);
    ret = done(c, s, "import metadata");
end:
    sqlite3_finalize(s);
    return ret;
}

int sq_meta_put(struct catalog *c, const struct catalog_meta *m)
{
    CS;
    int ret;
    FORWARD_ERR(sq_op_begin(cs));
    ret = meta_put_body(c, m);
    return sq_op_end(cs, ret);
}

int sq_meta_get(struct catalog *c, int64_t asset_id, struct catalog_meta *out)
{
    sqlite3_stmt *s = NULL;
    int ret, rc;
    memset(out, 0, sizeof(*out));
    if ((ret = prep(c, "SELECT capture_time, capture_source, exif_capture_time, "
                       "sidecar_capture_time, latitude, longitude, location_source, "
                       "description, favourite, archived, trashed, sidecar, "
                       "latitude IS NOT NULL, other_capture_time, source FROM asset_meta "
                       "WHERE asset_id = ?1",
                    &s, "get imported metadata")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        tp_err_set("catalog: nothing imported for asset %lld", (long long)asset_id);
        ret = TP_ERR_NOTFOUND;
    } else if (rc != SQLITE_ROW) {
        ret = sq_err(c, rc, "get imported metadata");
    } else {
        out->asset_id = asset_id;
        col_text(s, 0, out->capture_time, sizeof(out->capture_time));
        col_text(s, 1, out->capture_source, sizeof(out->capture_source));
        col_text(s, 2, out->exif_capture_time, sizeof(out->exif_capture_time));
        col_text(s, 3, out->sidecar_capture_time, sizeof(out->sidecar_capture_time));
        out->latitude = sqlite3_column_double(s, 4);
        out->longitude = sqlite3_column_double(s, 5);
        col_text(s, 6, out->location_source, sizeof(out->location_source));
        col_text(s, 7, out->description, sizeof(out->description));
        out->favourite = sqlite3_column_int(s, 8);
        out->archived = sqlite3_column_int(s, 9);
        out->trashed = sqlite3_column_int(s, 10);
        col_text(s, 11, out->sidecar, sizeof(out->sidecar));
        out->has_location = sqlite3_column_int(s, 12);
        col_text(s, 13, out->other_capture_time, sizeof(out->other_capture_time));
        col_text(s, 14, out->source, sizeof(out->source));
    }
    sqlite3_finalize(s);
    return ret;
}

static int album_add_body(struct catalog *c, const char *title, int64_t asset_id)
{
    sqlite3_stmt *s = NULL;
    int ret;
    if ((ret = prep(c, "INSERT OR IGNORE INTO albums (title) VALUES (?1)", &s, "add album")) < 0)
        return ret;
    sqlite3_bind_text(s, 1, title, -1, SQLITE_TRANSIENT);
    ret = done(c, s, "add album");
    sqlite3_finalize(s);
    s = NULL;
    FORWARD_ERR(ret);
    if ((ret = prep(c, "INSERT OR IGNORE INTO album_assets (album_id, asset_id) "
                       "SELECT id, ?2 FROM albums WHERE title = ?1",
                    &s, "add to album")) < 0)
        return ret;
    sqlite3_bind_text(s, 1, title, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, asset_id);
    ret = done(c, s, "add to album");
    sqlite3_finalize(s);
    return ret;
}

int sq_album_add(struct catalog *c, const char *title, int64_t asset_id)
{
    CS;
    int ret;
    FORWARD_ERR(sq_op_begin(cs));
    ret = album_add_body(c, title, asset_id);
    return sq_op_end(cs, ret);
}

int sq_album_iterate(struct catalog *c, catalog_album_fn fn, void *ud)
{
    sqlite3_stmt *s = NULL;
    int ret, rc = SQLITE_DONE;
    if ((ret = prep(c, "SELECT a.title, m.asset_id FROM albums a JOIN album_assets m "
                       "ON m.album_id = a.id ORDER BY a.title, m.asset_id",
                    &s, "list albums")) < 0)
        return ret;
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW)
        ret = fn(ud, (const char *)sqlite3_column_text(s, 0), sqlite3_column_int64(s, 1));
    if (!ret && rc != SQLITE_DONE)
        ret = sq_err(c, rc, "list albums");
    sqlite3_finalize(s);
    return ret;
}

int sq_import_put(struct catalog *c, const char *key, int64_t asset_id)
{
    sqlite3_stmt *s = NULL;
    int ret;
    if ((ret = prep(c, "INSERT OR REPLACE INTO imports (key, asset_id, time) "
                       "VALUES (?1, ?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                    &s, "record import")) < 0)
        return ret;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    if (asset_id > 0)
        sqlite3_bind_int64(s, 2, asset_id);
    ret = done(c, s, "record import");
    sqlite3_finalize(s);
    return ret;
}

int sq_import_get(struct catalog *c, const char *key, int64_t *asset_id_out)
{
    sqlite3_stmt *s = NULL;
    int ret, rc;
    if ((ret = prep(c, "SELECT coalesce(asset_id, 0) FROM imports WHERE key = ?1", &s,
                    "look up import")) < 0)
        return ret;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *asset_id_out = sqlite3_column_int64(s, 0);
    else if (rc == SQLITE_DONE)
        ret = TP_ERR_NOTFOUND;
    else
        ret = sq_err(c, rc, "look up import");
    sqlite3_finalize(s);
    return ret;
}

/* ---- Idempotency-Key answers (catalog.h, catalog_idem_put) ---- */

const char sqi_migration_idem[] =
    "CREATE TABLE idempotency ("
    "  account TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  asset_id INTEGER,"
    "  job_id INTEGER,"
    "  status INTEGER NOT NULL,"
    "  new_job INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"   /* unix s */
    "  PRIMARY KEY (account, key)"
    ") WITHOUT ROWID;"
    "CREATE INDEX idempotency_created ON idempotency(created_at);";

int sq_idem_get(struct catalog *c, const char *account, const char *key, int64_t now,
                struct catalog_idem *out)
{
    sqlite3_stmt *s = NULL;
    int ret, rc;
    if ((ret = prep(c, "SELECT sha256, coalesce(asset_id, 0), coalesce(job_id, 0), status, "
                       "new_job, created_at FROM idempotency "
                       "WHERE account = ?1 AND key = ?2 AND created_at > ?3",
                    &s, "look up idempotency key")) < 0)
        return ret;
    sqlite3_bind_text(s, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, now - CATALOG_IDEM_TTL);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        snprintf(out->account, sizeof(out->account), "%s", account);
        snprintf(out->key, sizeof(out->key), "%s", key);
        col_text(s, 0, out->sha256, sizeof(out->sha256));
        out->asset_id = sqlite3_column_int64(s, 1);
        out->job_id = sqlite3_column_int64(s, 2);
        out->status = sqlite3_column_int(s, 3);
        out->new_job = sqlite3_column_int(s, 4);
        out->created = sqlite3_column_int64(s, 5);
    } else if (rc == SQLITE_DONE) {
        ret = TP_ERR_NOTFOUND;
    } else {
        ret = sq_err(c, rc, "look up idempotency key");
    }
    sqlite3_finalize(s);
    return ret;
}

/* Three statements, each atomic: the expired rows go (this key's too, so
 * it is free again), the insert keeps a live row that is there (another
 * server's, racing), and what is stored is read back. */
int sq_idem_put(struct catalog *c, struct catalog_idem *e, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int ret, stored;
    if ((ret = prep(c, "DELETE FROM idempotency WHERE created_at <= ?1", &s,
                    "expire idempotency keys")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, now - CATALOG_IDEM_TTL);
    ret = done(c, s, "expire idempotency keys");
    sqlite3_finalize(s);
    s = NULL;
    if (ret < 0)
        return ret;
    if ((ret = prep(c, "INSERT INTO idempotency (account, key, sha256, asset_id, job_id, status, "
                       "new_job, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                       "ON CONFLICT (account, key) DO NOTHING",
                    &s, "record idempotency key")) < 0)
        return ret;
    sqlite3_bind_text(s, 1, e->account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, e->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, e->sha256, -1, SQLITE_TRANSIENT);
    if (e->asset_id > 0)
        sqlite3_bind_int64(s, 4, e->asset_id);
    if (e->job_id > 0)
        sqlite3_bind_int64(s, 5, e->job_id);
    sqlite3_bind_int(s, 6, e->status);
    sqlite3_bind_int(s, 7, e->new_job ? 1 : 0);
    sqlite3_bind_int64(s, 8, now);
    ret = done(c, s, "record idempotency key");
    stored = ret >= 0 && sqlite3_changes(sq_db(c)) == 1;
    sqlite3_finalize(s);
    if (ret < 0)
        return ret;
    FORWARD_ERR(sq_idem_get(c, e->account, e->key, now, e));
    return stored;
}
