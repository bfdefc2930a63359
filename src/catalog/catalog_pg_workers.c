/* The PostgreSQL backend's worker registry and wake-ups (catalog.h, "the
 * worker registry and wake-ups").  Heartbeats are on the database's clock;
 * idle workers LISTEN on one channel that a trigger NOTIFYs whenever a
 * statement leaves a job queued (an enqueue, a retry, a release, a
 * failure to be retried), so they wake when work arrives instead of
 * polling the queue. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include "catalog_pg_int.h"
#include "err.h"
#include "log.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c
#define CHANNEL "tierpress_jobs"

const char pg_workers_migration_v3[] =
    "CREATE TABLE workers ("
    "  id text PRIMARY KEY,"
    "  host text NOT NULL,"
    "  pid bigint NOT NULL,"
    "  threads integer NOT NULL,"
    "  lease_seconds integer NOT NULL,"
    "  started timestamptz NOT NULL,"
    "  heartbeat timestamptz NOT NULL"
    ");"
    "CREATE INDEX jobs_owner ON jobs(owner) WHERE state = 'running';"
    /* one notification per statement (and per transaction: NOTIFY folds
     * duplicates), only when the statement left a job queued; transition
     * tables allow one event per trigger */
    "CREATE FUNCTION tierpress_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $f$ "
    "BEGIN "
    "  IF EXISTS (SELECT 1 FROM new_jobs WHERE state = 'queued') THEN "
    "    PERFORM pg_notify('" CHANNEL "', ''); "
    "  END IF; "
    "  RETURN NULL; "
    "END $f$;"
    "CREATE TRIGGER jobs_queued_insert AFTER INSERT ON jobs REFERENCING NEW TABLE AS new_jobs "
    "  FOR EACH STATEMENT EXECUTE FUNCTION tierpress_jobs_notify();"
    "CREATE TRIGGER jobs_queued_update AFTER UPDATE ON jobs REFERENCING NEW TABLE AS new_jobs "
    "  FOR EACH STATEMENT EXECUTE FUNCTION tierpress_jobs_notify();";

/* The queue clock parameter: the caller's time only under the test hook. */
#define NOW(n) "coalesce(to_timestamp($" n "::float8), clock_timestamp())"
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

const char *pg_workers_sql(enum pg_stmt id)
{
    switch (id) {
    case P_WORKER_REGISTER:
        return "INSERT INTO workers (id, host, pid, threads, lease_seconds, started, heartbeat) "
               "VALUES ($1, $2, $3, $4, $5, " NOW("6") ", " NOW("6") ") "
               "ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, pid = EXCLUDED.pid, "
               "threads = EXCLUDED.threads, lease_seconds = EXCLUDED.lease_seconds, "
               "started = EXCLUDED.started, heartbeat = EXCLUDED.heartbeat";
    case P_WORKER_HEARTBEAT:
        return "UPDATE workers SET heartbeat = " NOW("2") " WHERE id = $1";
    case P_WORKER_DEREGISTER:
        return "DELETE FROM workers WHERE id = $1";
    case P_WORKER_LIST:
        return "SELECT w.id, w.host, w.pid, w.threads, w.lease_seconds, " ISO("w.started") ", "
               ISO("w.heartbeat") ", "
               "floor(extract(epoch FROM " NOW("1") " - w.heartbeat))::bigint, "
               "coalesce((SELECT string_agg(j.id || ':' || j.asset_id || ':' || "
               "  coalesce(floor(extract(epoch FROM j.claimed))::bigint, 0), ',' ORDER BY j.id) "
               "  FROM jobs j WHERE j.state = 'running' AND j.owner = w.id), '') "
               "FROM workers w ORDER BY w.id";
    case P_WORKER_PRUNE:
        return "DELETE FROM workers WHERE heartbeat < " NOW("1") " - "
               "make_interval(secs => $2::int * lease_seconds)";
    default:
        return "SELECT 'no such statement'";
    }
}

static void p_now(struct catalog_pg *cp, struct pg_params *p, int64_t now)
{
    if (cp->caller_clock)
        pgp_int(p, now);
    else
        pgp_text(p, NULL);
}

int pg_worker_register(struct catalog *c, const struct catalog_worker *w, int64_t now)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, w->id);
    pgp_text(&p, w->host);
    pgp_int(&p, w->pid);
    pgp_int(&p, w->threads);
    pgp_int(&p, w->lease_seconds);
    p_now(cp, &p, now);
    int n = pgc_read(cp, P_WORKER_REGISTER, &p, NULL, "register the worker"); /* idempotent */
    return n < 0 ? n : 0;
}

int pg_worker_heartbeat(struct catalog *c, const char *id, int64_t now)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, id);
    p_now(cp, &p, now);
    int n = pgc_read(cp, P_WORKER_HEARTBEAT, &p, NULL, "heartbeat"); /* idempotent */
    FORWARD_ERR(n);
    RETURN_ERR_IF(n == 0, TP_ERR_NOTFOUND, "worker %s is not registered in %s", id, cp->where);
    return 0;
}

int pg_worker_deregister(struct catalog *c, const char *id)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, id);
    int n = pgc_read(cp, P_WORKER_DEREGISTER, &p, NULL, "deregister the worker");
    return n < 0 ? n : 0;
}

int pg_worker_list(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n, ret = 0;
    p_now(cp, &p, now);
    FORWARD_ERR(n = pgc_read(cp, P_WORKER_LIST, &p, &r, "list the workers"));
    for (int i = 0; i < n && !ret; i++) {
        struct catalog_worker w;
        memset(&w, 0, sizeof(w));
        pg_text(r, i, 0, w.id, sizeof(w.id));
        pg_text(r, i, 1, w.host, sizeof(w.host));
        w.pid = pg_int(r, i, 2);
        w.threads = (int)pg_int(r, i, 3);
        w.lease_seconds = (int)pg_int(r, i, 4);
        pg_text(r, i, 5, w.started, sizeof(w.started));
        pg_text(r, i, 6, w.heartbeat, sizeof(w.heartbeat));
        w.heartbeat_age = pg_int(r, i, 7);
        catalog_worker_jobs_parse(&w, pg_str(r, i, 8));
        ret = fn(ud, &w);
    }
    PQclear(r);
    return ret;
}

int pg_worker_prune(struct catalog *c, int64_t now, int leases)
{
    CP;
    struct pg_params p = { .n = 0 };
    p_now(cp, &p, now);
    pgp_int(&p, leases);
    return pgc_read(cp, P_WORKER_PRUNE, &p, NULL, "prune stale workers"); /* idempotent */
}

/* Takes the notifications libpq has read; 1 when there was one. */
static int drain(struct catalog_pg *cp)
{
    PGnotify *nt;
    int any = 0;
    while ((nt = PQnotifies(cp->conn))) {
        any = 1;
        PQfreemem(nt);
    }
    return any;
}

int pg_job_wait(struct catalog *c, int timeout_ms)
{
    CP;
    struct pollfd pfd;
    RETURN_ERR_IF(cp->txn, TP_ERR_BUG, "job_wait inside a transaction");
    if (!cp->listening) {
        /* (again after a reconnect: a new session listens to nothing) */
        FORWARD_ERR(pgc_exec_sql(cp, "LISTEN " CHANNEL, "listen for queued jobs"));
        cp->listening = 1;
        return 2; /* work queued before we listened would not wake us: look now */
    }
    if (PQconsumeInput(cp->conn) && drain(cp))
        return 1;
    pfd.fd = PQsocket(cp->conn);
    pfd.events = POLLIN;
    pfd.revents = 0;
    if (pfd.fd < 0) {
        /* no connection: sleep as a poll would, the next query reconnects */
        poll(NULL, 0, timeout_ms);
        return 0;
    }
    int k = poll(&pfd, 1, timeout_ms);
    if (k <= 0)
        return 0;
    if (!PQconsumeInput(cp->conn)) {
        /* the server went away: the next query reconnects (and we listen
         * again); a short sleep so a dead socket does not spin */
        tp_log(TP_LOG_DEBUG, "catalog %s: waiting for jobs: %s", cp->where,
               PQerrorMessage(cp->conn));
        cp->listening = 0;
        poll(NULL, 0, timeout_ms);
        return 0;
    }
    return drain(cp);
}
