/* The SQLite backend's worker registry (catalog.h, "the worker registry
 * and wake-ups").  Times are the callers' clock (unix seconds), as the
 * queue's leases; there is no server to notify idle workers, so
 * job_wait only sleeps and the caller polls with backoff. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"

/* (IF NOT EXISTS: a home rebuilt from an older schema's dump may have them) */
const char sqw_migration_v4[] =
    "CREATE TABLE IF NOT EXISTS workers ("
    "  id TEXT PRIMARY KEY,"
    "  host TEXT NOT NULL,"
    "  pid INTEGER NOT NULL,"
    "  threads INTEGER NOT NULL,"
    "  lease_seconds INTEGER NOT NULL,"
    "  started INTEGER NOT NULL,"
    "  heartbeat INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* what a worker holds: its running jobs */
    "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs(owner) WHERE state = 'running';";

#define ISO_OF(col) "strftime('%Y-%m-%dT%H:%M:%SZ', " col ", 'unixepoch')"

static int run1(struct catalog *c, const char *sql, sqlite3_stmt **out, const char *what)
{
    int rc = sqlite3_prepare_v2(sq_db(c), sql, -1, out, NULL);
    if (rc != SQLITE_OK) {
        *out = NULL;
        return sq_err(c, rc, what);
    }
    return 0;
}

static int step_end(struct catalog *c, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_err(c, rc, what);
    if (ret >= 0)
        ret = sqlite3_changes(sq_db(c));
    sqlite3_finalize(s);
    return ret;
}

int sqw_register(struct catalog *c, const struct catalog_worker *w, int64_t now)
{
    sqlite3_stmt *s;
    FORWARD_ERR(run1(c, "INSERT OR REPLACE INTO workers (id, host, pid, threads, lease_seconds, "
                        "started, heartbeat) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)", &s,
                     "register the worker"));
    sqlite3_bind_text(s, 1, w->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, w->host, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, w->pid);
    sqlite3_bind_int(s, 4, w->threads);
    sqlite3_bind_int(s, 5, w->lease_seconds);
    sqlite3_bind_int64(s, 6, now);
    int ret = step_end(c, s, "register the worker");
    return ret < 0 ? ret : 0;
}

int sqw_heartbeat(struct catalog *c, const char *id, int64_t now)
{
    sqlite3_stmt *s;
    FORWARD_ERR(run1(c, "UPDATE workers SET heartbeat = ?2 WHERE id = ?1", &s, "heartbeat"));
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 2, now);
    int n = step_end(c, s, "heartbeat");
    FORWARD_ERR(n);
    RETURN_ERR_IF(n == 0, TP_ERR_NOTFOUND, "worker %s is not registered", id);
    return 0;
}

int sqw_deregister(struct catalog *c, const char *id)
{
    sqlite3_stmt *s;
    FORWARD_ERR(run1(c, "DELETE FROM workers WHERE id = ?1", &s, "deregister the worker"));
    sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT);
    int ret = step_end(c, s, "deregister the worker");
    return ret < 0 ? ret : 0;
}

int sqw_list(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud)
{
    sqlite3_stmt *s;
    int rc, ret = 0;
    FORWARD_ERR(run1(c, "SELECT w.id, w.host, w.pid, w.threads, w.lease_seconds, "
                        ISO_OF("w.started") ", " ISO_OF("w.heartbeat") ", ?1 - w.heartbeat, "
                        "coalesce((SELECT group_concat(id || ':' || asset_id || ':' || "
                        "  coalesce(claimed, 0), ',') FROM (SELECT id, asset_id, claimed FROM jobs "
                        "  WHERE state = 'running' AND owner = w.id ORDER BY id)), '') "
                        "FROM workers w ORDER BY w.id", &s, "list the workers"));
    sqlite3_bind_int64(s, 1, now);
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct catalog_worker w;
        memset(&w, 0, sizeof(w));
        snprintf(w.id, sizeof(w.id), "%s", (const char *)sqlite3_column_text(s, 0));
        snprintf(w.host, sizeof(w.host), "%s", (const char *)sqlite3_column_text(s, 1));
        w.pid = sqlite3_column_int64(s, 2);
        w.threads = sqlite3_column_int(s, 3);
        w.lease_seconds = sqlite3_column_int(s, 4);
        snprintf(w.started, sizeof(w.started), "%s", (const char *)sqlite3_column_text(s, 5));
        snprintf(w.heartbeat, sizeof(w.heartbeat), "%s", (const char *)sqlite3_column_text(s, 6));
        w.heartbeat_age = sqlite3_column_int64(s, 7);
        catalog_worker_jobs_parse(&w, (const char *)sqlite3_column_text(s, 8));
        ret = fn(ud, &w);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_err(c, rc, "list the workers");
    sqlite3_finalize(s);
    return ret;
}

int sqw_prune(struct catalog *c, int64_t now, int leases)
{
    sqlite3_stmt *s;
    FORWARD_ERR(run1(c, "DELETE FROM workers WHERE ?1 - heartbeat > ?2 * lease_seconds", &s,
                     "prune stale workers"));
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, leases);
    return step_end(c, s, "prune stale workers");
}

int sqw_job_wait(struct catalog *c, int timeout_ms)
{
    (void)c;
    struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    return 0;
}
