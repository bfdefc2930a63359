/* The SQLite catalog's table copies (tierpress migrate): rows exported and
 * imported in the canonical text form of catalog.h, and the state of a copy
 * into this catalog.  SQLite keeps instants as ISO text and access_log's
 * time as unix seconds already, so values pass through as they are. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_sqlite_priv.h"
#include "err.h"
#include "mem.h"

#define SQL_MAX 1024

const char sqj_migration_ingest_jobs[] =
    /* SQLite cannot drop NOT NULL in place: a new table */
    "CREATE TABLE jobs_v4 ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER REFERENCES assets(id) ON DELETE CASCADE,"
    "  policy TEXT NOT NULL,"
    "  tier TEXT NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'queued'"
    "    CHECK (state IN ('queued', 'running', 'done', 'kept', 'failed', 'dead')),"
    "  owner TEXT,"
    "  lease_until INTEGER,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  result TEXT,"
    "  created TEXT NOT NULL,"
    "  finished TEXT,"
    "  max_attempts INTEGER NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),"
    "  token INTEGER NOT NULL DEFAULT 0,"
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    "  claimed INTEGER,"
    "  last_error TEXT,"
    "  error_permanent INTEGER NOT NULL DEFAULT 0,"
    "  blob TEXT,"
    "  UNIQUE (asset_id, policy, tier)"
    ");"
    "INSERT INTO jobs_v4 (id, asset_id, policy, tier, state, owner, lease_until, attempts, result,"
    "  created, finished, max_attempts, token, not_before, claimed, last_error, error_permanent) "
    "SELECT id, asset_id, policy, tier, state, owner, lease_until, attempts, result, created,"
    "  finished, max_attempts, token, not_before, claimed, last_error, error_permanent FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v4 RENAME TO jobs;"
    "CREATE INDEX jobs_state ON jobs(policy, state, id);"
    "CREATE INDEX jobs_queue ON jobs(state, id);"
    "CREATE UNIQUE INDEX jobs_ingest_blob ON jobs(blob) WHERE blob IS NOT NULL;";

/* export: the canonical form (bytes as hex) */
static void cols_list(char *sql, size_t n, const struct catalog_table *t, int export)
{
    size_t len = strlen(sql);
    for (int i = 0; i < t->ncols && len < n; i++)
        len += (size_t)snprintf(sql + len, n - len,
                                export && t->kinds[i] == CATALOG_COL_BYTES ? "%shex(%s)" : "%s%s",
                                i ? ", " : "", t->cols[i]);
}

static int unhex(int ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* Binds hex text as a blob. */
static int bind_hex(sqlite3_stmt *s, int i, const char *hex, const char *col)
{
    size_t n = strlen(hex);
    uint8_t *b;
    RETURN_ERR_IF(n % 2, TP_ERR_INVALIDDATA, "column %s: odd hex length", col);
    if (!(b = sqlite3_malloc64(n / 2 + 1)))
        return TP_ERR(ENOMEM);
    for (size_t k = 0; k < n / 2; k++) {
        int hi = unhex(hex[2 * k]), lo = unhex(hex[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            sqlite3_free(b);
            tp_err_set("column %s: bad hex", col);
            return TP_ERR_INVALIDDATA;
        }
        b[k] = (uint8_t)(hi << 4 | lo);
    }
    return sqlite3_bind_blob64(s, i, b, n / 2, sqlite3_free) == SQLITE_OK ? 0 : TP_ERR_EXTERNAL;
}

static int bind_key(sqlite3_stmt *s, int i, const struct catalog_table *t, const char *after)
{
    if (t->key_int)
        return sqlite3_bind_int64(s, i, *after ? strtoll(after, NULL, 10) : INT64_MIN);
    return sqlite3_bind_text(s, i, after, -1, SQLITE_TRANSIENT);
}

int sq_rows_export(struct catalog *c, const struct catalog_table *t, const char *after, int limit,
                   catalog_rows_fn fn, void *ud)
{
    CS;
    char sql[SQL_MAX] = "SELECT ", num[CATALOG_TABLE_COLS][40];
    const char *v[CATALOG_TABLE_COLS];
    sqlite3_stmt *s = NULL;
    int rc, ret = 0, n = 0;
    size_t len;
    cols_list(sql, sizeof(sql), t, 1);
    len = strlen(sql);
    if (t->key_groups)
        snprintf(sql + len, sizeof(sql) - len,
                 " FROM %s WHERE %s > ?1 AND %s <= (SELECT max(k) FROM (SELECT DISTINCT %s AS k "
                 "FROM %s WHERE %s > ?1 ORDER BY k LIMIT ?2)) ORDER BY %s",
                 t->name, t->cols[0], t->cols[0], t->cols[0], t->name, t->cols[0], t->cols[0]);
    else
        snprintf(sql + len, sizeof(sql) - len, " FROM %s WHERE %s > ?1 ORDER BY %s LIMIT ?2",
                 t->name, t->cols[0], t->cols[0]);
    if ((rc = sqlite3_prepare_v2(cs->db, sql, -1, &s, NULL)) != SQLITE_OK)
        return sq_sql_err(cs, rc, t->name);
    bind_key(s, 1, t, after);
    sqlite3_bind_int(s, 2, limit);
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int i = 0; i < t->ncols; i++) {
            switch (sqlite3_column_type(s, i)) {
            case SQLITE_NULL: v[i] = NULL; break;
            case SQLITE_FLOAT: /* every digit: the value comes back exactly */
                snprintf(num[i], sizeof(num[i]), "%.17g", sqlite3_column_double(s, i));
                v[i] = num[i];
                break;
            default: v[i] = (const char *)sqlite3_column_text(s, i); break;
            }
        }
        n++;
        ret = fn(ud, v);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_sql_err(cs, rc, t->name);
    sqlite3_finalize(s);
    return ret ? ret : n;
}

int sq_rows_import(struct catalog *c, const struct catalog_table *t, const char *const *v)
{
    CS;
    char sql[SQL_MAX] = "", what[64];
    sqlite3_stmt *s = NULL;
    int rc, ret;
    size_t len;
    snprintf(sql, sizeof(sql), "INSERT %sINTO %s (", t->key_groups ? "" : "OR IGNORE ", t->name);
    cols_list(sql, sizeof(sql), t, 0);
    len = strlen(sql);
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, ") VALUES (");
    for (int i = 0; i < t->ncols && len < sizeof(sql); i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%d", i ? ", " : "", i + 1);
    snprintf(sql + len, sizeof(sql) - len, ")");
    snprintf(what, sizeof(what), "import into %s", t->name);
    if ((rc = sqlite3_prepare_v2(cs->db, sql, -1, &s, NULL)) != SQLITE_OK)
        return sq_sql_err(cs, rc, what);
    for (int i = 0; i < t->ncols; i++) {
        if (v[i] && t->kinds[i] == CATALOG_COL_BYTES) {
            if ((ret = bind_hex(s, i + 1, v[i], t->cols[i])) < 0) {
                sqlite3_finalize(s);
                return ret;
            }
        } else if (v[i]) {
            sqlite3_bind_text(s, i + 1, v[i], -1, SQLITE_TRANSIENT);
        }
    }
    if ((ret = sq_exec_stmt(cs, s, what)) >= 0)
        ret = sqlite3_changes(cs->db) > 0;
    sqlite3_finalize(s);
    return ret;
}

int sq_migrate_state(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                     int write)
{
    CS;
    sqlite3_stmt *s = NULL;
    int rc, ret = 0;
    rc = sqlite3_exec(cs->db,
                      "CREATE TABLE IF NOT EXISTS migrate_state (source TEXT PRIMARY KEY, "
                      "step INTEGER NOT NULL, after TEXT NOT NULL, rows INTEGER NOT NULL, "
                      "blobs INTEGER NOT NULL, bytes INTEGER NOT NULL, done INTEGER NOT NULL)",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "migrate state");
    rc = sqlite3_prepare_v2(cs->db,
                            write ? "INSERT OR REPLACE INTO migrate_state (source, step, after, "
                                    "rows, blobs, bytes, done) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                                  : "SELECT step, after, rows, blobs, bytes, done "
                                    "FROM migrate_state WHERE source = ?1",
                            -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "migrate state");
    sqlite3_bind_text(s, 1, source, -1, SQLITE_TRANSIENT);
    if (write) {
        sqlite3_bind_int(s, 2, st->step);
        sqlite3_bind_text(s, 3, st->after, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, st->rows);
        sqlite3_bind_int64(s, 5, st->blobs);
        sqlite3_bind_int64(s, 6, st->bytes);
        sqlite3_bind_int(s, 7, st->done);
        ret = sq_exec_stmt(cs, s, "migrate state");
    } else if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        memset(st, 0, sizeof(*st));
        st->step = sqlite3_column_int(s, 0);
        snprintf(st->after, sizeof(st->after), "%s", (const char *)sqlite3_column_text(s, 1));
        st->rows = sqlite3_column_int64(s, 2);
        st->blobs = sqlite3_column_int64(s, 3);
        st->bytes = sqlite3_column_int64(s, 4);
        st->done = sqlite3_column_int(s, 5);
    } else if (rc == SQLITE_DONE) {
        ret = TP_ERR_NOTFOUND;
    } else {
        ret = sq_sql_err(cs, rc, "migrate state");
    }
    sqlite3_finalize(s);
    return ret;
}

/* One statement for the batch: the pairs go in as a JSON array. */
int sq_job_enqueue_batch(struct catalog *c, const int64_t *asset_ids, const char *const *tiers,
                         int n, const char *policy, int max_attempts)
{
    CS;
    struct tp_buf js = { 0 };
    sqlite3_stmt *s = NULL;
    char item[96];
    int rc, ret = 0;
    for (int i = 0; i < n && ret >= 0; i++) {
        snprintf(item, sizeof(item), "%s[%lld,\"%s\"]", i ? "," : "[", (long long)asset_ids[i],
                 tiers[i]);
        ret = buf_append(&js, item, strlen(item));
    }
    if (ret < 0 || (ret = buf_append(&js, "]", 2)) < 0)
        goto end;
    rc = sqlite3_prepare_v2(cs->db,
                            "INSERT INTO jobs (asset_id, policy, tier, max_attempts, created) "
                            "SELECT json_extract(value, '$[0]'), ?1, json_extract(value, '$[1]'), "
                            "?2, strftime('%Y-%m-%dT%H:%M:%SZ', 'now') FROM json_each(?3) "
                            "WHERE true ON CONFLICT DO NOTHING",
                            -1, &s, NULL);
    if (rc != SQLITE_OK) {
        ret = sq_sql_err(cs, rc, "enqueue jobs");
        goto end;
    }
    sqlite3_bind_text(s, 1, policy, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 2, max_attempts);
    sqlite3_bind_text(s, 3, (const char *)js.data, -1, SQLITE_STATIC);
    if ((ret = sq_exec_stmt(cs, s, "enqueue jobs")) >= 0)
        ret = sqlite3_changes(cs->db);
end:
    sqlite3_finalize(s);
    buf_free(&js);
    return ret;
}

/* asset_id_high (migration 16->17) holds the largest id ever given. */
int sq_asset_id_mark(struct catalog *c, int64_t *next, int raise)
{
    CS;
    sqlite3_stmt *s = NULL;
    int rc;
    const char *sql = raise ? "UPDATE asset_id_high SET n = max(n, ?1 - 1)"
                            : "SELECT n + 1 FROM asset_id_high";
    if ((rc = sqlite3_prepare_v2(cs->db, sql, -1, &s, NULL)) != SQLITE_OK)
        return sq_sql_err(cs, rc, "asset id mark");
    if (raise)
        sqlite3_bind_int64(s, 1, *next);
    rc = sqlite3_step(s);
    if (!raise && rc == SQLITE_ROW)
        *next = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc != (raise ? SQLITE_DONE : SQLITE_ROW))
        return rc == SQLITE_DONE ? TP_ERR_CORRUPT : sq_sql_err(cs, rc, "asset id mark");
    return 0;
}
