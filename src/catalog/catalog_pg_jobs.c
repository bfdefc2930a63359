/* The PostgreSQL catalog: the job queue (catalog.h, "the job queue").
 *
 * A claim is one statement: the oldest claimable rows are picked with
 * SELECT ... FOR UPDATE SKIP LOCKED (so concurrent claimers on any number
 * of machines never wait for each other and never take the same job) and
 * updated in place.  Leases and backoff are on the database's clock
 * (clock_timestamp()), the one clock every machine shares; the `now`
 * arguments are ignored, except under the test hook
 * TP_FAULT_PG_CALLER_CLOCK (set when the catalog is opened), which makes
 * the backend compare the callers' times as the SQLite one does, so one
 * contract with injected clocks runs on both.  Holder-only operations
 * match (id, 'running', owner, token): a worker fenced off by a takeover
 * changes nothing. */
#include <stdio.h>
#include <string.h>

#include "catalog_pg_int.h"
#include "err.h"
#include "mem.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c

const char pg_jobs_migration_v2[] =
    "ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;"
    "ALTER TABLE jobs ADD CONSTRAINT jobs_state_check "
    "  CHECK (state IN ('queued', 'running', 'done', 'kept', 'failed', 'dead'));"
    "ALTER TABLE jobs"
    "  ADD COLUMN max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),"
    "  ADD COLUMN token bigint NOT NULL DEFAULT 0,"
    "  ADD COLUMN not_before timestamptz NOT NULL DEFAULT 'epoch',"
    "  ADD COLUMN claimed timestamptz,"
    "  ADD COLUMN last_error text,"
    "  ADD COLUMN error_permanent boolean NOT NULL DEFAULT false;"
    "UPDATE jobs SET token = attempts, error_permanent = (state = 'failed');"
    /* the claim's two index walks: queued in id order, running by lease */
    "CREATE INDEX jobs_queued ON jobs(id) WHERE state = 'queued';"
    "CREATE INDEX jobs_leased ON jobs(lease_until) WHERE state = 'running';"
    "CREATE TABLE policies ("
    "  hash text PRIMARY KEY,"
    "  path text,"
    "  text bytea NOT NULL,"
    "  created timestamptz NOT NULL DEFAULT now()"
    ");";

const char pg_migration_ingest_account[] =
    "DROP INDEX jobs_ingest_blob;"
    "ALTER TABLE jobs ADD COLUMN account text;"
    "UPDATE jobs SET account = 'local' WHERE blob IS NOT NULL;"
    "CREATE UNIQUE INDEX jobs_ingest_blob ON jobs(blob, account) WHERE blob IS NOT NULL;";

/* The queue's clock: the caller's `now` ($n, unix seconds) under the test
 * hook, else NULL and the database's. */
#define NOW(n) "coalesce(to_timestamp($" n "::float8), clock_timestamp())"
#define EPOCH(x) "coalesce(floor(extract(epoch FROM " x "))::bigint, 0)"
#define ISO(col) "coalesce(to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '')"
#define JOB_COLS                                                                              \
    "id, asset_id, policy, tier, state, attempts, max_attempts, token, " EPOCH("not_before")  \
    ", " EPOCH("lease_until") ", " EPOCH("claimed") ", coalesce(owner, ''), "                 \
    "coalesce(last_error, ''), error_permanent::int, " ISO("created") ", " ISO("finished")
/* $1 policies (a text[] literal, NULL for any) */
#define POLICY_FILTER "($1::text[] IS NULL OR policy = ANY($1::text[]))"
/* $1 id, $2 owner, $3 token */
#define HOLDER "id = $1 AND state = 'running' AND owner = $2 AND token = $3"

const char *pg_jobs_sql(enum pg_stmt id)
{
    switch (id) {
    case P_POLICY_PUT:
        return "INSERT INTO policies (hash, path, text) VALUES ($1, $2, $3::bytea) "
               "ON CONFLICT (hash) DO NOTHING";
    case P_POLICY_GET:
        return "SELECT text, coalesce(path, '') FROM policies WHERE hash = $1";
    case P_JOB_ENQUEUE:
        return "INSERT INTO jobs (asset_id, policy, tier, max_attempts) VALUES ($1, $2, $3, $4) "
               "ON CONFLICT DO NOTHING";
    case P_JOB_PARK:
        return "SELECT 1"; /* part of P_JOB_CLAIM */
    case P_JOB_CLAIM:
        /* one statement, atomic without a transaction around it: an expired
         * lease on the last attempt is parked dead (not retried), then the
         * oldest claimable jobs are taken */
        return "WITH park AS (UPDATE jobs SET state = 'dead', error_permanent = false, "
               "  last_error = 'lease expired on attempt ' || attempts || ' of ' || max_attempts || "
               "  ' (worker ' || coalesce(owner, '?') || ' died or hung)', owner = NULL, "
               "  lease_until = NULL, finished = now() "
               "  WHERE id IN (SELECT id FROM jobs WHERE state = 'running' AND lease_until < " NOW("2")
               "  AND attempts >= max_attempts AND " POLICY_FILTER " FOR UPDATE SKIP LOCKED)), "
               "q AS (SELECT id FROM jobs WHERE state = 'queued' AND not_before <= " NOW("2")
               "  AND " POLICY_FILTER " ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED), "
               "e AS (SELECT id FROM jobs WHERE state = 'running' AND lease_until < " NOW("2")
               "  AND attempts < max_attempts AND " POLICY_FILTER
               "  ORDER BY lease_until LIMIT $5 FOR UPDATE SKIP LOCKED) "
               "UPDATE jobs SET state = 'running', owner = $3, "
               "  lease_until = " NOW("2") " + make_interval(secs => $4), "
               "  attempts = attempts + 1, token = token + 1, claimed = " NOW("2") " "
               "WHERE id IN (SELECT id FROM (SELECT id FROM q UNION ALL SELECT id FROM e) k "
               "  ORDER BY id LIMIT $5) RETURNING " JOB_COLS;
    case P_JOB_RENEW:
        return "UPDATE jobs SET lease_until = " NOW("4") " + make_interval(secs => $5) "
               "WHERE " HOLDER " AND lease_until >= " NOW("4") " RETURNING " EPOCH("lease_until");
    case P_JOB_FINISH:
        return "UPDATE jobs SET state = $5, result = $6, owner = NULL, lease_until = NULL, "
               "last_error = NULL, error_permanent = false, finished = now() "
               "WHERE " HOLDER " AND lease_until >= " NOW("4");
    case P_JOB_FAIL:
        return "UPDATE jobs SET state = CASE WHEN $5::boolean THEN 'failed' "
               "  WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
               "not_before = CASE WHEN $5::boolean THEN not_before "
               "  ELSE " NOW("4") " + make_interval(secs => $6) END, "
               "finished = CASE WHEN $5::boolean OR attempts >= max_attempts THEN now() END, "
               "last_error = $7, error_permanent = $5::boolean, "
               "result = json_build_object('error', $7::text)::text, owner = NULL, "
               "lease_until = NULL WHERE " HOLDER " RETURNING state";
    case P_JOB_RELEASE:
        return "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0), "
               "owner = NULL, lease_until = NULL WHERE " HOLDER;
    case P_JOB_RETRY:
        return "UPDATE jobs SET state = 'queued', attempts = 0, not_before = 'epoch', "
               "finished = NULL WHERE state IN ('failed', 'dead') "
               "AND ($1::text IS NULL OR policy = $1) "
               "AND ($2::bigint[] IS NULL OR id = ANY($2::bigint[]))";
    case P_JOB_LIST_PAGE:
        return "SELECT " JOB_COLS " FROM jobs WHERE ($1::text IS NULL OR policy = $1) "
               "AND ($2::text IS NULL OR state = $2) AND id > $3 ORDER BY id LIMIT $4";
    case P_JOB_COUNTS:
        return "SELECT state, count(*) FROM jobs WHERE ($1::text IS NULL OR policy = $1) "
               "GROUP BY state";
    case P_JOB_OWNERS:
        return "SELECT DISTINCT owner FROM jobs WHERE state = 'running' AND owner IS NOT NULL "
               "AND ($1::text IS NULL OR policy = $1) LIMIT 64";
    case P_JOB_REQUEUE_OWNER:
        return "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts THEN 'dead' "
               "  ELSE 'queued' END, "
               "last_error = 'runner ' || owner || ' died on attempt ' || attempts, "
               "error_permanent = false, owner = NULL, lease_until = NULL, "
               "finished = CASE WHEN attempts >= max_attempts THEN now() END "
               "WHERE state = 'running' AND owner = $1 AND ($2::text IS NULL OR policy = $2)";
    case P_JOB_HOLDER:
        return "SELECT state, coalesce(owner, ''), token, " EPOCH("lease_until") ", "
               EPOCH(NOW("2")) " FROM jobs WHERE id = $1";
    case P_JOB_ACTIVE:
        return "SELECT count(*) FROM jobs WHERE state = 'running' AND lease_until >= " NOW("1");
    case P_JOB_INGEST_ENQUEUE:
        return "INSERT INTO jobs (asset_id, policy, tier, blob, account, max_attempts, "
               "file_name, external_id, capture_hint) "
               "VALUES (NULL, '" CATALOG_JOB_INGEST "', '" CATALOG_JOB_INGEST "', $1, $2, $3, "
               "$4, $5, $6) ON CONFLICT DO NOTHING RETURNING id";
    case P_JOB_INGEST_REQUEUE:
        /* done, but the account no longer has the content live (deleted
         * and gone, or in the trash): queued again, as a new upload */
        return "UPDATE jobs SET state = 'queued', attempts = 0, max_attempts = $3, "
               "not_before = 'epoch', owner = NULL, lease_until = NULL, claimed = NULL, "
               "result = NULL, finished = NULL, last_error = NULL, error_permanent = false, "
               "created = now(), file_name = $4, external_id = $5, capture_hint = $6 "
               "WHERE blob = $1 AND account = $2 AND state = 'done' AND NOT EXISTS "
               "(SELECT 1 FROM assets a WHERE a.owner = $2 AND a.sha256 = $1 "
               "AND a.deleted_at IS NULL) RETURNING id";
    case P_JOB_INGEST_FIND:
        return "SELECT id FROM jobs WHERE blob = $1 AND account = $2";
    case P_JOB_INGEST_GET:
        /* the asset of a done job is in its result ({"asset":N,...}, job.c) */
        return "SELECT " JOB_COLS ", blob, coalesce(account, 'local'), "
               "CASE WHEN state = 'done' THEN coalesce((result::jsonb->>'asset')::bigint, 0) "
               "  ELSE 0 END, coalesce(file_name, ''), coalesce(external_id, ''), "
               "coalesce(capture_hint, '') FROM jobs WHERE id = $1 AND blob IS NOT NULL";
    case P_JOB_INGEST_BLOBS:
        return "SELECT blob, state FROM jobs WHERE blob IS NOT NULL AND "
               "state IN ('queued', 'running', 'failed', 'dead') ORDER BY id";
    default:
        return "SELECT 'no such statement'";
    }
}

/* The queue clock parameter: the caller's time only under the test hook. */
static void p_now(struct catalog_pg *cp, struct pg_params *p, int64_t now)
{
    if (cp->caller_clock)
        pgp_int(p, now);
    else
        pgp_text(p, NULL);
}

static void p_holder(struct pg_params *p, const struct catalog_job *j)
{
    pgp_int(p, j->id);
    pgp_text(p, j->owner);
    pgp_int(p, j->token);
}

static void job_from_row(const PGresult *r, int i, struct catalog_job *j)
{
    memset(j, 0, sizeof(*j));
    j->id = pg_int(r, i, 0);
    j->asset_id = pg_int(r, i, 1);
    pg_text(r, i, 2, j->policy, sizeof(j->policy));
    pg_text(r, i, 3, j->tier, sizeof(j->tier));
    int st = catalog_job_state_parse(pg_str(r, i, 4));
    j->state = st < 0 ? CATALOG_JOB_FAILED : (enum catalog_job_state)st;
    j->attempts = (int)pg_int(r, i, 5);
    j->max_attempts = (int)pg_int(r, i, 6);
    j->token = pg_int(r, i, 7);
    j->not_before = pg_int(r, i, 8);
    j->lease_until = pg_int(r, i, 9);
    j->claimed = pg_int(r, i, 10);
    pg_text(r, i, 11, j->owner, sizeof(j->owner));
    pg_text(r, i, 12, j->last_error, sizeof(j->last_error));
    j->error_permanent = (int)pg_int(r, i, 13);
    pg_text(r, i, 14, j->created, sizeof(j->created));
    pg_text(r, i, 15, j->finished, sizeof(j->finished));
}

/* After a holder-only update changed nothing: why (the error detail). */
static int not_holder(struct catalog_pg *cp, const struct catalog_job *j, int64_t now)
{
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, j->id);
    p_now(cp, &p, now);
    FORWARD_ERR(n = pgc_exec(cp, P_JOB_HOLDER, &p, &r, "job holder"));
    if (n == 0)
        tp_err_set("job %lld: no longer in the queue", (long long)j->id);
    else if (!strcmp(pg_str(r, 0, 0), "running") && pg_int(r, 0, 2) == j->token &&
             !strcmp(pg_str(r, 0, 1), j->owner))
        tp_err_set("job %lld: our lease (token %lld) ran out at %lld (now %lld)", (long long)j->id,
                   (long long)j->token, (long long)pg_int(r, 0, 3), (long long)pg_int(r, 0, 4));
    else
        tp_err_set("job %lld: no longer ours (token %lld of %s); now %s, token %lld, owner '%s'",
                   (long long)j->id, (long long)j->token, j->owner, pg_str(r, 0, 0),
                   (long long)pg_int(r, 0, 2), pg_str(r, 0, 1));
    PQclear(r);
    return TP_ERR_CONFLICT;
}

/* ---- policies ------------------------------------------------------------ */

int pg_policy_put(struct catalog *c, const char *hash, const char *path, const void *text,
                  size_t len)
{
    CP;
    struct pg_params p = { .n = 0 };
    static const char hex[] = "0123456789abcdef";
    const unsigned char *t = text;
    char *x = tp_malloc(2 * len + 3);
    int ret;
    if (!x)
        return TP_ERR(ENOMEM);
    /* bytea's hex input format: the text travels as it is, whatever its bytes */
    x[0] = '\\';
    x[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        x[2 + 2 * i] = hex[t[i] >> 4];
        x[3 + 2 * i] = hex[t[i] & 15];
    }
    x[2 + 2 * len] = '\0';
    pgp_text(&p, hash);
    pgp_text(&p, path);
    p.v[p.n++] = x;
    ret = pgc_read(cp, P_POLICY_PUT, &p, NULL, "record the policy"); /* idempotent */
    tp_free(x);
    return ret < 0 ? ret : 0;
}

int pg_policy_get(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                  size_t path_len)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    size_t len = 0;
    int n, ret;
    pgp_text(&p, hash);
    FORWARD_ERR(n = pgc_read(cp, P_POLICY_GET, &p, &r, "read the policy"));
    if (n == 0) {
        PQclear(r);
        tp_err_set("catalog %s: no policy with sha256 %.12s is recorded", cp->where, hash);
        return TP_ERR_NOTFOUND;
    }
    unsigned char *raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &len);
    ret = raw ? buf_set(text, raw, len) : TP_ERR(ENOMEM);
    PQfreemem(raw);
    if (path)
        pg_text(r, 0, 1, path, path_len);
    PQclear(r);
    return ret;
}

/* ---- the queue ------------------------------------------------------------ */

int pg_job_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                   int max_attempts)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, asset_id);
    pgp_text(&p, policy);
    pgp_text(&p, tier);
    pgp_int(&p, max_attempts);
    /* ON CONFLICT DO NOTHING makes the insert safe to repeat */
    FORWARD_ERR(n = pgc_read(cp, P_JOB_ENQUEUE, &p, NULL, "enqueue job"));
    return n == 1;
}

int pg_job_claim(struct catalog *c, const char *const *policies, int npolicies, const char *owner,
                 int64_t now, int lease_seconds, struct catalog_job *out, int max)
{
    CP;
    struct pg_params p = { .n = 0 };
    struct tp_buf list = { 0 };
    PGresult *r = NULL;
    int n, ret = 0;
    /* a text[] literal of the hashes (hex: nothing to quote) */
    for (int i = 0; i < npolicies && ret >= 0; i++) {
        RETURN_ERR_IF(strpbrk(policies[i], "\",{}\\ "), TP_ERR_USAGE, "bad policy hash '%s'",
                      policies[i]);
        if ((ret = buf_append(&list, i ? "," : "{", 1)) >= 0)
            ret = buf_append(&list, policies[i], strlen(policies[i]));
    }
    if (ret >= 0 && npolicies)
        ret = buf_append(&list, "}", 2); /* with the NUL */
    if (ret < 0)
        goto end;
    pgp_text(&p, npolicies ? (const char *)list.data : NULL);
    p_now(cp, &p, now);
    pgp_text(&p, owner);
    pgp_int(&p, lease_seconds);
    pgp_int(&p, max);
    /* a claim lost with the connection is safe to repeat: jobs it may have
     * taken come back when their leases end */
    for (int attempt = 0; attempt < 3; attempt++) {
        PQclear(r);
        n = pgc_single(cp, P_JOB_CLAIM, &p, &r, "claim jobs");
        if (n != TP_ERR(EIO) || cp->txn)
            break;
    }
    if ((ret = n) < 0)
        goto end;
    for (int i = 0; i < n && i < max; i++)
        job_from_row(r, i, &out[i]);
    ret = n < max ? n : max;
end:
    PQclear(r);
    buf_free(&list);
    return ret;
}

int pg_job_renew(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    p_holder(&p, j);
    p_now(cp, &p, now);
    pgp_int(&p, lease_seconds);
    FORWARD_ERR(n = pgc_read(cp, P_JOB_RENEW, &p, &r, "renew the lease"));
    if (n != 1) {
        PQclear(r);
        return not_holder(cp, j, now);
    }
    j->lease_until = pg_int(r, 0, 0);
    PQclear(r);
    return 0;
}

int pg_job_finish(struct catalog *c, const struct catalog_job *j, int64_t now,
                  enum catalog_job_state state, const char *result)
{
    CP;
    struct pg_params p = { .n = 0 };
    p_holder(&p, j);
    p_now(cp, &p, now);
    pgp_text(&p, catalog_job_state_name(state));
    pgp_text(&p, result);
    int n = pgc_single(cp, P_JOB_FINISH, &p, NULL, "finish job");
    FORWARD_ERR(n);
    return n == 1 ? 0 : not_holder(cp, j, now);
}

int pg_job_fail(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
                const char *error, int retry_after_seconds)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r = NULL;
    int n, ret;
    p_holder(&p, j);
    p_now(cp, &p, now);
    pgp_text(&p, permanent ? "true" : "false");
    pgp_int(&p, retry_after_seconds);
    pgp_text(&p, error && *error ? error : "unknown error");
    n = pgc_single(cp, P_JOB_FAIL, &p, &r, "record a job failure");
    if (n < 0)
        ret = n;
    else if (n == 0)
        ret = not_holder(cp, j, now);
    else
        ret = catalog_job_state_parse(pg_str(r, 0, 0));
    PQclear(r);
    return ret;
}

int pg_job_release(struct catalog *c, const struct catalog_job *j)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    p_holder(&p, j);
    FORWARD_ERR(n = pgc_single(cp, P_JOB_RELEASE, &p, NULL, "release job"));
    return n == 1 ? 0 : not_holder(cp, j, 0);
}

int pg_job_retry(struct catalog *c, const char *policy, const int64_t *ids, int nids)
{
    CP;
    struct pg_params p = { .n = 0 };
    struct tp_buf list = { 0 };
    char num[32];
    int ret = 0;
    for (int i = 0; i < nids && ret >= 0; i++) {
        int k = snprintf(num, sizeof(num), "%s%lld", i ? "," : "{", (long long)ids[i]);
        ret = buf_append(&list, num, (size_t)k);
    }
    if (ret >= 0 && nids)
        ret = buf_append(&list, "}", 2);
    if (ret >= 0) {
        pgp_text(&p, policy);
        pgp_text(&p, nids ? (const char *)list.data : NULL);
        ret = pgc_single(cp, P_JOB_RETRY, &p, NULL, "retry jobs");
    }
    buf_free(&list);
    return ret;
}

int pg_job_list(struct catalog *c, const char *policy, int state, catalog_job_fn fn, void *ud)
{
    CP;
    struct catalog_job j;
    int64_t after = 0;
    PGresult *r;
    int n, ret = 0;
    do {
        struct pg_params p = { .n = 0 };
        pgp_text(&p, policy);
        pgp_text(&p, state >= 0 ? catalog_job_state_name((enum catalog_job_state)state) : NULL);
        pgp_int(&p, after);
        pgp_int(&p, PG_PAGE_ROWS);
        FORWARD_ERR(n = pgc_read(cp, P_JOB_LIST_PAGE, &p, &r, "list jobs"));
        for (int i = 0; i < n && !ret; i++) {
            job_from_row(r, i, &j);
            after = j.id;
            ret = fn(ud, &j);
        }
        PQclear(r);
    } while (!ret && n == PG_PAGE_ROWS);
    return ret;
}

int pg_job_counts(struct catalog *c, const char *policy, struct catalog_job_counts *nc)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    memset(nc, 0, sizeof(*nc));
    pgp_text(&p, policy);
    FORWARD_ERR(n = pgc_read(cp, P_JOB_COUNTS, &p, &r, "count jobs"));
    for (int i = 0; i < n; i++) {
        int64_t k = pg_int(r, i, 1);
        switch (catalog_job_state_parse(pg_str(r, i, 0))) {
        case CATALOG_JOB_QUEUED: nc->queued = k; break;
        case CATALOG_JOB_RUNNING: nc->running = k; break;
        case CATALOG_JOB_DONE: nc->done = k; break;
        case CATALOG_JOB_KEPT: nc->kept = k; break;
        case CATALOG_JOB_FAILED: nc->failed = k; break;
        case CATALOG_JOB_DEAD: nc->dead = k; break;
        default: break;
        }
    }
    PQclear(r);
    return 0;
}

int pg_job_requeue_dead(struct catalog *c, const char *policy, int (*is_dead)(const char *owner))
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n, ret = 0, done = 0;
    pgp_text(&p, policy);
    FORWARD_ERR(n = pgc_read(cp, P_JOB_OWNERS, &p, &r, "list running jobs"));
    for (int i = 0; i < n && ret >= 0; i++) {
        struct pg_params q = { .n = 0 };
        if (!is_dead(pg_str(r, i, 0)))
            continue;
        pgp_text(&q, pg_str(r, i, 0));
        pgp_text(&q, policy);
        ret = pgc_single(cp, P_JOB_REQUEUE_OWNER, &q, NULL, "requeue jobs of a dead runner");
        if (ret > 0)
            done += ret;
    }
    PQclear(r);
    if (ret >= 0 && done > 0)
        ret = catalog_audit(c, 0, "job.requeue", NULL);
    return ret < 0 ? ret : done;
}

int pg_job_active(struct catalog *c, int64_t now, int64_t *n_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    p_now(cp, &p, now);
    FORWARD_ERR(pgc_read(cp, P_JOB_ACTIVE, &p, &r, "count active jobs"));
    *n_out = pg_int(r, 0, 0);
    PQclear(r);
    return 0;
}

/* ---- ingest jobs (an uploaded blob, no asset yet) ---- */

int pg_job_enqueue_ingest(struct catalog *c, const char *blob, const char *account,
                          const struct catalog_ingest_meta *meta, int max_attempts,
                          int64_t *job_id_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    p.v[p.n++] = blob;
    p.v[p.n++] = account;
    pgp_int(&p, max_attempts);
    pgp_text(&p, meta->file_name);
    pgp_text(&p, meta->external_id);
    pgp_text(&p, meta->capture_hint);
    /* idempotent: repeated whole after a lost connection (a requeue
     * repeated so finds the job queued and answers it as existing) */
    FORWARD_ERR(n = pgc_read(cp, P_JOB_INGEST_ENQUEUE, &p, &r, "enqueue ingest job"));
    if (n == 1) {
        *job_id_out = pg_int(r, 0, 0);
        PQclear(r);
        return 1;
    }
    PQclear(r);
    FORWARD_ERR(n = pgc_read(cp, P_JOB_INGEST_REQUEUE, &p, &r, "requeue ingest job"));
    if (n == 1) {
        *job_id_out = pg_int(r, 0, 0);
        PQclear(r);
        return 1;
    }
    PQclear(r);
    p.n = 2;
    FORWARD_ERR(n = pgc_read(cp, P_JOB_INGEST_FIND, &p, &r, "enqueue ingest job"));
    if (n == 1)
        *job_id_out = pg_int(r, 0, 0);
    PQclear(r);
    RETURN_ERR_IF(n != 1, TP_ERR_BUG, "ingest job of blob %s (%s): neither queued nor found", blob,
                  account);
    return 0;
}

int pg_job_ingest_get(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, job_id);
    FORWARD_ERR(n = pgc_read(cp, P_JOB_INGEST_GET, &p, &r, "ingest job"));
    if (n == 1) {
        job_from_row(r, 0, &out->job);
        pg_text(r, 0, 16, out->blob, sizeof(out->blob));
        pg_text(r, 0, 17, out->account, sizeof(out->account));
        out->asset_id = pg_int(r, 0, 18);
        pg_text(r, 0, 19, out->meta.file_name, sizeof(out->meta.file_name));
        pg_text(r, 0, 20, out->meta.external_id, sizeof(out->meta.external_id));
        pg_text(r, 0, 21, out->meta.capture_hint, sizeof(out->meta.capture_hint));
    }
    PQclear(r);
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "job %lld is not an ingest job in the queue",
                  (long long)job_id);
    return 0;
}

int pg_job_ingest_blobs(struct catalog *c, catalog_rows_fn fn, void *ud)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n, ret = 0;
    FORWARD_ERR(n = pgc_read(cp, P_JOB_INGEST_BLOBS, &p, &r, "ingest jobs' blobs"));
    for (int i = 0; ret == 0 && i < n; i++) {
        const char *v[2] = { PQgetvalue(r, i, 0), PQgetvalue(r, i, 1) };
        ret = fn(ud, v);
    }
    PQclear(r);
    return ret;
}
