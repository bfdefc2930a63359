/* The SQLite backend's job queue (catalog.h, "the job queue").
 *
 * Claims run in one BEGIN IMMEDIATE transaction, so two processes never
 * take the same job; every holder-only operation matches the row on
 * (id, state 'running', owner, token), so a late worker changes nothing.
 * The queue's statements are prepared per call: a queue operation costs
 * far less than the job it schedules. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"
#include "mem.h"

const char sqj_migration_v3[] =
    /* SQLite cannot change a CHECK constraint in place: a new table */
    "CREATE TABLE jobs_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  asset_id INTEGER NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
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
    "  UNIQUE (asset_id, policy, tier)"
    ");"
    /* a failure recorded before the error classes existed counts as
     * permanent (as it was treated); `jobs retry` requeues it */
    "INSERT INTO jobs_v3 (id, asset_id, policy, tier, state, owner, lease_until, attempts, result,"
    "  created, finished, token, last_error, error_permanent) "
    "SELECT id, asset_id, policy, tier, state, owner, lease_until, attempts, result, created,"
    "  finished, attempts, CASE WHEN state = 'failed' AND json_valid(result)"
    "  THEN json_extract(result, '$.error') END, state = 'failed' FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v3 RENAME TO jobs;"
    "CREATE INDEX jobs_state ON jobs(policy, state, id);"
    /* claims walk the queued (or running) jobs in id order */
    "CREATE INDEX jobs_queue ON jobs(state, id);"
    "CREATE TABLE policies ("
    "  hash TEXT PRIMARY KEY,"
    "  path TEXT,"
    "  text BLOB NOT NULL,"
    "  created TEXT NOT NULL"
    ") WITHOUT ROWID;";

#define NOW_ISO "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
#define JOB_COLS                                                                         \
    "id, asset_id, policy, tier, state, attempts, max_attempts, token, not_before, "      \
    "coalesce(lease_until, 0), coalesce(claimed, 0), coalesce(owner, ''), "               \
    "coalesce(last_error, ''), error_permanent, created, coalesce(finished, '')"

/* A statement for this call; *s is NULL on failure (error set). */
static int prep(struct catalog *c, const char *sql, sqlite3_stmt **s)
{
    int rc = sqlite3_prepare_v2(sq_db(c), sql, -1, s, NULL);
    if (rc != SQLITE_OK) {
        *s = NULL;
        return sq_err(c, rc, "prepare a job queue statement");
    }
    return 0;
}

static void bind_str(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static void col_str(sqlite3_stmt *s, int i, char *out, size_t n)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    snprintf(out, n, "%s", t ? (const char *)t : "");
}

/* Steps a statement to its end; 0, or the error. */
static int step_done(struct catalog *c, sqlite3_stmt *s, const char *what)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    return rc == SQLITE_DONE ? 0 : sq_err(c, rc, what);
}

static int exec(struct catalog *c, const char *sql, const char *what)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, sql, &s));
    int ret = step_done(c, s, what);
    sqlite3_finalize(s);
    return ret;
}

static void job_from_row(sqlite3_stmt *s, struct catalog_job *j)
{
    char state[16];
    memset(j, 0, sizeof(*j));
    j->id = sqlite3_column_int64(s, 0);
    j->asset_id = sqlite3_column_int64(s, 1);
    col_str(s, 2, j->policy, sizeof(j->policy));
    col_str(s, 3, j->tier, sizeof(j->tier));
    col_str(s, 4, state, sizeof(state));
    int st = catalog_job_state_parse(state);
    j->state = st < 0 ? CATALOG_JOB_FAILED : (enum catalog_job_state)st;
    j->attempts = sqlite3_column_int(s, 5);
    j->max_attempts = sqlite3_column_int(s, 6);
    j->token = sqlite3_column_int64(s, 7);
    j->not_before = sqlite3_column_int64(s, 8);
    j->lease_until = sqlite3_column_int64(s, 9);
    j->claimed = sqlite3_column_int64(s, 10);
    col_str(s, 11, j->owner, sizeof(j->owner));
    col_str(s, 12, j->last_error, sizeof(j->last_error));
    j->error_permanent = sqlite3_column_int(s, 13);
    col_str(s, 14, j->created, sizeof(j->created));
    col_str(s, 15, j->finished, sizeof(j->finished));
}

/* A JSON array of the strings (hex hashes: nothing to escape) for
 * json_each(); "" when n is 0.  Caller owns *out. */
static int json_list(const char *const *v, int n, struct tp_buf *out)
{
    for (int i = 0; i < n; i++) {
        RETURN_ERR_IF(strpbrk(v[i], "\"\\"), TP_ERR_USAGE, "bad policy hash '%s'", v[i]);
        FORWARD_ERR(buf_append(out, i ? ",\"" : "[\"", 2));
        FORWARD_ERR(buf_append(out, v[i], strlen(v[i])));
        FORWARD_ERR(buf_append(out, "\"", 1));
    }
    if (n)
        FORWARD_ERR(buf_append(out, "]", 2)); /* with the NUL */
    return 0;
}

/* After a holder-only update changed nothing: why (the error detail). */
static int not_holder(struct catalog *c, const struct catalog_job *j, int64_t now)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, "SELECT state, coalesce(owner, ''), token, coalesce(lease_until, 0) "
                        "FROM jobs WHERE id = ?1", &s));
    sqlite3_bind_int64(s, 1, j->id);
    if (sqlite3_step(s) != SQLITE_ROW)
        tp_err_set("job %lld: no longer in the queue", (long long)j->id);
    else if (!strcmp((const char *)sqlite3_column_text(s, 0), "running") &&
             sqlite3_column_int64(s, 2) == j->token && !strcmp((const char *)sqlite3_column_text(s, 1), j->owner))
        tp_err_set("job %lld: our lease (token %lld) ran out at %lld (now %lld)", (long long)j->id,
                   (long long)j->token, (long long)sqlite3_column_int64(s, 3), (long long)now);
    else
        tp_err_set("job %lld: no longer ours (token %lld of %s); now %s, token %lld, owner '%s'",
                   (long long)j->id, (long long)j->token, j->owner,
                   (const char *)sqlite3_column_text(s, 0), (long long)sqlite3_column_int64(s, 2),
                   (const char *)sqlite3_column_text(s, 1));
    sqlite3_finalize(s);
    return TP_ERR_CONFLICT;
}

int sqj_policy_put(struct catalog *c, const char *hash, const char *path, const void *text,
                   size_t len)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, "INSERT INTO policies (hash, path, text, created) VALUES (?1, ?2, ?3, "
                        NOW_ISO ") ON CONFLICT (hash) DO NOTHING", &s));
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    bind_str(s, 2, path);
    sqlite3_bind_blob64(s, 3, len ? text : "", len, SQLITE_TRANSIENT);
    int ret = step_done(c, s, "record the policy");
    sqlite3_finalize(s);
    return ret;
}

int sqj_policy_get(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                   size_t path_len)
{
    sqlite3_stmt *s;
    int ret, rc;
    FORWARD_ERR(prep(c, "SELECT text, coalesce(path, '') FROM policies WHERE hash = ?1", &s));
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        ret = buf_set(text, sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0));
        if (path)
            col_str(s, 1, path, path_len);
    } else if (rc == SQLITE_DONE) {
        tp_err_set("catalog: no policy with sha256 %.12s is recorded", hash);
        ret = TP_ERR_NOTFOUND;
    } else {
        ret = sq_err(c, rc, "read the policy");
    }
    sqlite3_finalize(s);
    return ret;
}

int sqj_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                int max_attempts)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, "INSERT INTO jobs (asset_id, policy, tier, max_attempts, created) "
                        "VALUES (?1, ?2, ?3, ?4, " NOW_ISO ") ON CONFLICT DO NOTHING", &s));
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, policy, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, tier, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 4, max_attempts);
    int ret = step_done(c, s, "enqueue job");
    sqlite3_finalize(s);
    FORWARD_ERR(ret);
    return sqlite3_changes(sq_db(c)) == 1;
}

#define POLICY_FILTER "(?1 IS NULL OR policy IN (SELECT value FROM json_each(?1)))"

int sqj_claim(struct catalog *c, const char *const *policies, int npolicies, const char *owner,
              int64_t now, int lease_seconds, struct catalog_job *out, int max)
{
    struct tp_buf pl = { 0 };
    sqlite3_stmt *s = NULL;
    int ret, rc, n = 0;

    if ((ret = json_list(policies, npolicies, &pl)) < 0)
        goto end;
    if ((ret = exec(c, "BEGIN IMMEDIATE", "begin")) < 0)
        goto end;
    /* an expired lease on the last attempt: the job is parked, not retried */
    if ((ret = prep(c, "UPDATE jobs SET state = 'dead', error_permanent = 0, "
                       "last_error = 'lease expired on attempt ' || attempts || ' of ' || "
                       "max_attempts || ' (worker ' || coalesce(owner, '?') || ' died or hung)', "
                       "owner = NULL, lease_until = NULL, finished = " NOW_ISO " "
                       "WHERE state = 'running' AND lease_until < ?2 AND attempts >= max_attempts "
                       "AND " POLICY_FILTER, &s)) < 0)
        goto fail;
    bind_str(s, 1, pl.len ? (const char *)pl.data : NULL);
    sqlite3_bind_int64(s, 2, now);
    if ((ret = step_done(c, s, "park expired jobs")) < 0)
        goto fail;
    sqlite3_finalize(s);
    /* expired leases first (few rows: the running ones), then queued jobs
     * past their backoff, each walked in id order on jobs_queue */
    for (int pass = 0; pass < 2 && n < max; pass++) {
        if ((ret = prep(c, pass == 0
                               ? "UPDATE jobs SET state = 'running', owner = ?3, lease_until = ?2 + ?4, "
                                 "attempts = attempts + 1, token = token + 1, claimed = ?2 "
                                 "WHERE id IN (SELECT id FROM jobs WHERE state = 'running' "
                                 "AND lease_until < ?2 AND " POLICY_FILTER " ORDER BY id LIMIT ?5) "
                                 "RETURNING " JOB_COLS
                               : "UPDATE jobs SET state = 'running', owner = ?3, lease_until = ?2 + ?4, "
                                 "attempts = attempts + 1, token = token + 1, claimed = ?2 "
                                 "WHERE id IN (SELECT id FROM jobs WHERE state = 'queued' "
                                 "AND not_before <= ?2 AND " POLICY_FILTER " ORDER BY id LIMIT ?5) "
                                 "RETURNING " JOB_COLS,
                        &s)) < 0)
            goto fail;
        bind_str(s, 1, pl.len ? (const char *)pl.data : NULL);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_text(s, 3, owner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(s, 4, lease_seconds);
        sqlite3_bind_int(s, 5, max - n);
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            if (n < max)
                job_from_row(s, &out[n++]);
        if (rc != SQLITE_DONE) {
            ret = sq_err(c, rc, "claim jobs");
            goto fail;
        }
        sqlite3_finalize(s);
        s = NULL;
    }
    if ((ret = exec(c, "COMMIT", "commit")) < 0)
        goto fail;
    ret = n;
    goto end;
fail:
    sqlite3_finalize(s);
    s = NULL;
    exec(c, "ROLLBACK", "rollback");
end:
    buf_free(&pl);
    return ret;
}

/* Binds the holder (?1 id, ?2 owner, ?3 token). */
static void bind_holder(sqlite3_stmt *s, const struct catalog_job *j)
{
    sqlite3_bind_int64(s, 1, j->id);
    sqlite3_bind_text(s, 2, j->owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 3, j->token);
}

#define HOLDER "id = ?1 AND state = 'running' AND owner = ?2 AND token = ?3"

int sqj_renew(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, "UPDATE jobs SET lease_until = ?4 + ?5 WHERE " HOLDER
                        " AND lease_until >= ?4", &s));
    bind_holder(s, j);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int(s, 5, lease_seconds);
    int ret = step_done(c, s, "renew the lease");
    sqlite3_finalize(s);
    FORWARD_ERR(ret);
    if (sqlite3_changes(sq_db(c)) != 1)
        return not_holder(c, j, now);
    j->lease_until = now + lease_seconds;
    return 0;
}

int sqj_finish(struct catalog *c, const struct catalog_job *j, int64_t now,
               enum catalog_job_state state, const char *result)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, "UPDATE jobs SET state = ?5, result = ?6, owner = NULL, lease_until = NULL, "
                        "last_error = NULL, error_permanent = 0, finished = " NOW_ISO " WHERE " HOLDER
                        " AND lease_until >= ?4", &s));
    bind_holder(s, j);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_text(s, 5, catalog_job_state_name(state), -1, SQLITE_STATIC);
    bind_str(s, 6, result);
    int ret = step_done(c, s, "finish job");
    sqlite3_finalize(s);
    FORWARD_ERR(ret);
    return sqlite3_changes(sq_db(c)) == 1 ? 0 : not_holder(c, j, now);
}

int sqj_fail(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
             const char *error, int retry_after_seconds)
{
    sqlite3_stmt *s;
    int rc, ret;
    FORWARD_ERR(prep(c, "UPDATE jobs SET state = CASE WHEN ?5 THEN 'failed' "
                        "WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, "
                        "not_before = CASE WHEN ?5 THEN not_before ELSE ?4 + ?6 END, "
                        "finished = CASE WHEN ?5 OR attempts >= max_attempts THEN " NOW_ISO " END, "
                        "last_error = ?7, error_permanent = ?5, result = json_object('error', ?7), "
                        "owner = NULL, lease_until = NULL WHERE " HOLDER " RETURNING state", &s));
    bind_holder(s, j);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int(s, 5, permanent ? 1 : 0);
    sqlite3_bind_int(s, 6, retry_after_seconds);
    sqlite3_bind_text(s, 7, error && *error ? error : "unknown error", -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        ret = catalog_job_state_parse((const char *)sqlite3_column_text(s, 0));
        rc = sqlite3_step(s);
    } else {
        ret = TP_ERR_CONFLICT;
    }
    if (rc != SQLITE_DONE)
        ret = sq_err(c, rc, "record a job failure");
    sqlite3_finalize(s);
    return ret == TP_ERR_CONFLICT ? not_holder(c, j, now) : ret;
}

int sqj_release(struct catalog *c, const struct catalog_job *j)
{
    sqlite3_stmt *s;
    FORWARD_ERR(prep(c, "UPDATE jobs SET state = 'queued', attempts = max(attempts - 1, 0), "
                        "owner = NULL, lease_until = NULL WHERE " HOLDER, &s));
    bind_holder(s, j);
    int ret = step_done(c, s, "release job");
    sqlite3_finalize(s);
    FORWARD_ERR(ret);
    return sqlite3_changes(sq_db(c)) == 1 ? 0 : not_holder(c, j, 0);
}

int sqj_retry(struct catalog *c, const char *policy, const int64_t *ids, int nids)
{
    struct tp_buf il = { 0 };
    sqlite3_stmt *s = NULL;
    char num[32];
    int ret = 0;
    for (int i = 0; i < nids && ret >= 0; i++) {
        int k = snprintf(num, sizeof(num), "%s%lld", i ? "," : "[", (long long)ids[i]);
        ret = buf_append(&il, num, (size_t)k);
    }
    if (ret >= 0 && nids)
        ret = buf_append(&il, "]", 2);
    if (ret >= 0)
        ret = prep(c, "UPDATE jobs SET state = 'queued', attempts = 0, not_before = 0, "
                      "finished = NULL WHERE state IN ('failed', 'dead') "
                      "AND (?1 IS NULL OR policy = ?1) "
                      "AND (?2 IS NULL OR id IN (SELECT value FROM json_each(?2)))", &s);
    if (ret >= 0) {
        bind_str(s, 1, policy);
        bind_str(s, 2, il.len ? (const char *)il.data : NULL);
        if ((ret = step_done(c, s, "retry jobs")) >= 0)
            ret = sqlite3_changes(sq_db(c));
    }
    sqlite3_finalize(s);
    buf_free(&il);
    return ret;
}

int sqj_list(struct catalog *c, const char *policy, int state, catalog_job_fn fn, void *ud)
{
    sqlite3_stmt *s;
    struct catalog_job j;
    int rc, ret = 0;
    FORWARD_ERR(prep(c, "SELECT " JOB_COLS " FROM jobs WHERE (?1 IS NULL OR policy = ?1) "
                        "AND (?2 IS NULL OR state = ?2) ORDER BY id", &s));
    bind_str(s, 1, policy);
    bind_str(s, 2, state >= 0 ? catalog_job_state_name((enum catalog_job_state)state) : NULL);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        job_from_row(s, &j);
        if ((ret = fn(ud, &j)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_err(c, rc, "list jobs");
    sqlite3_finalize(s);
    return ret;
}

int sqj_counts(struct catalog *c, const char *policy, struct catalog_job_counts *n)
{
    sqlite3_stmt *s;
    int rc;
    memset(n, 0, sizeof(*n));
    FORWARD_ERR(prep(c, "SELECT state, count(*) FROM jobs WHERE (?1 IS NULL OR policy = ?1) "
                        "GROUP BY state", &s));
    bind_str(s, 1, policy);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t k = sqlite3_column_int64(s, 1);
        switch (catalog_job_state_parse((const char *)sqlite3_column_text(s, 0))) {
        case CATALOG_JOB_QUEUED: n->queued = k; break;
        case CATALOG_JOB_RUNNING: n->running = k; break;
        case CATALOG_JOB_DONE: n->done = k; break;
        case CATALOG_JOB_KEPT: n->kept = k; break;
        case CATALOG_JOB_FAILED: n->failed = k; break;
        case CATALOG_JOB_DEAD: n->dead = k; break;
        default: break;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : sq_err(c, rc, "count jobs");
}

int sqj_requeue_dead(struct catalog *c, const char *policy, int (*is_dead)(const char *owner))
{
    sqlite3_stmt *s;
    char owners[64][96];
    int rc, n = 0, ret = 0, done = 0;
    /* the distinct owners first: is_dead() may be slow, and the update
     * below must not run while this statement reads the table */
    FORWARD_ERR(prep(c, "SELECT DISTINCT owner FROM jobs WHERE state = 'running' "
                        "AND owner IS NOT NULL AND (?1 IS NULL OR policy = ?1) LIMIT 64", &s));
    bind_str(s, 1, policy);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        col_str(s, 0, owners[n], sizeof(owners[n]));
        if (is_dead(owners[n]))
            n++;
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE)
        return sq_err(c, rc, "list running jobs");
    for (int i = 0; i < n && ret >= 0; i++) {
        if ((ret = prep(c, "UPDATE jobs SET state = CASE WHEN attempts >= max_attempts "
                           "THEN 'dead' ELSE 'queued' END, "
                           "last_error = 'runner ' || owner || ' died on attempt ' || attempts, "
                           "error_permanent = 0, owner = NULL, lease_until = NULL, "
                           "finished = CASE WHEN attempts >= max_attempts THEN " NOW_ISO " END "
                           "WHERE state = 'running' AND owner = ?1 AND (?2 IS NULL OR policy = ?2)",
                        &s)) < 0)
            break;
        sqlite3_bind_text(s, 1, owners[i], -1, SQLITE_TRANSIENT);
        bind_str(s, 2, policy);
        if ((ret = step_done(c, s, "requeue jobs of a dead runner")) >= 0)
            done += sqlite3_changes(sq_db(c));
        sqlite3_finalize(s);
    }
    if (done > 0)
        catalog_audit(c, 0, "job.requeue", NULL);
    return ret < 0 ? ret : done;
}

/* ---- ingest jobs (an uploaded blob, no asset yet) ---- */

/* The client's text for a bind: "" is NULL (none). */
static void bind_meta(sqlite3_stmt *s, int i, const char *v)
{
    if (*v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

/* ?1 blob, ?2 account, ?3 max_attempts, ?4..?6 the client's meta: the
 * parameters of both ingest-job statements (insert, queue again) */
static void bind_ingest(sqlite3_stmt *s, const char *blob, const char *account, int max_attempts,
                        const struct catalog_ingest_meta *meta)
{
    sqlite3_bind_text(s, 1, blob, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, max_attempts);
    bind_meta(s, 4, meta->file_name);
    bind_meta(s, 5, meta->external_id);
    bind_meta(s, 6, meta->capture_hint);
}

int sq_job_enqueue_ingest(struct catalog *c, const char *blob, const char *account,
                          const struct catalog_ingest_meta *meta, int max_attempts,
                          int64_t *job_id_out)
{
    sqlite3_stmt *s;
    int ret, rc;
    FORWARD_ERR(prep(c, "INSERT INTO jobs (asset_id, policy, tier, blob, account, max_attempts, "
                        "created, file_name, external_id, capture_hint) VALUES (NULL, '"
                        CATALOG_JOB_INGEST "', '" CATALOG_JOB_INGEST "', ?1, ?2, ?3, " NOW_ISO
                        ", ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                     &s));
    bind_ingest(s, blob, account, max_attempts, meta);
    ret = step_done(c, s, "enqueue ingest job");
    sqlite3_finalize(s);
    FORWARD_ERR(ret);
    if (sqlite3_changes(sq_db(c)) == 1) {
        *job_id_out = sqlite3_last_insert_rowid(sq_db(c));
        return 1;
    }
    /* done, but the account no longer has the content live (deleted and
     * gone, or in the trash): queued again, as a new upload */
    FORWARD_ERR(prep(c, "UPDATE jobs SET state = 'queued', attempts = 0, max_attempts = ?3, "
                        "not_before = 0, owner = NULL, lease_until = NULL, claimed = NULL, "
                        "result = NULL, finished = NULL, last_error = NULL, error_permanent = 0, "
                        "created = " NOW_ISO ", file_name = ?4, external_id = ?5, "
                        "capture_hint = ?6 "
                        "WHERE blob = ?1 AND account = ?2 AND state = 'done' AND NOT EXISTS "
                        "(SELECT 1 FROM assets WHERE assets.owner = ?2 AND sha256 = ?1 "
                        "AND deleted_at IS NULL) RETURNING id",
                     &s));
    bind_ingest(s, blob, account, max_attempts, meta);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *job_id_out = sqlite3_column_int64(s, 0);
        ret = 1;
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE)
        ret = sq_err(c, rc, "requeue ingest job");
    sqlite3_finalize(s);
    if (ret != 0)
        return ret;
    FORWARD_ERR(prep(c, "SELECT id FROM jobs WHERE blob = ?1 AND account = ?2", &s));
    sqlite3_bind_text(s, 1, blob, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, account, -1, SQLITE_TRANSIENT);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW)
        *job_id_out = sqlite3_column_int64(s, 0);
    else
        ret = rc == SQLITE_DONE ? TP_ERR_BUG : sq_err(c, rc, "enqueue ingest job");
    sqlite3_finalize(s);
    return ret < 0 ? ret : 0;
}

int sq_job_ingest_get(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out)
{
    sqlite3_stmt *s;
    int rc, ret = 0;
    /* the asset of a done job is in its result ({"asset":N,...}, job.c) */
    FORWARD_ERR(prep(c, "SELECT " JOB_COLS ", blob, coalesce(account, 'local'), "
                        "CASE WHEN state = 'done' AND json_valid(result) "
                        "  THEN coalesce(json_extract(result, '$.asset'), 0) ELSE 0 END, "
                        "coalesce(file_name, ''), coalesce(external_id, ''), "
                        "coalesce(capture_hint, '') "
                        "FROM jobs WHERE id = ?1 AND blob IS NOT NULL",
                     &s));
    sqlite3_bind_int64(s, 1, job_id);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        job_from_row(s, &out->job);
        col_str(s, 16, out->blob, sizeof(out->blob));
        col_str(s, 17, out->account, sizeof(out->account));
        out->asset_id = sqlite3_column_int64(s, 18);
        col_str(s, 19, out->meta.file_name, sizeof(out->meta.file_name));
        col_str(s, 20, out->meta.external_id, sizeof(out->meta.external_id));
        col_str(s, 21, out->meta.capture_hint, sizeof(out->meta.capture_hint));
    } else if (rc == SQLITE_DONE) {
        tp_err_set("job %lld is not an ingest job in the queue", (long long)job_id);
        ret = TP_ERR_NOTFOUND;
    } else {
        ret = sq_err(c, rc, "ingest job");
    }
    sqlite3_finalize(s);
    return ret;
}

int sq_job_ingest_blobs(struct catalog *c, catalog_rows_fn fn, void *ud)
{
    sqlite3_stmt *s;
    int rc, ret = 0;
    FORWARD_ERR(prep(c, "SELECT blob, state FROM jobs WHERE blob IS NOT NULL AND "
                        "state IN ('queued', 'running', 'failed', 'dead') ORDER BY id",
                     &s));
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *v[2] = { (const char *)sqlite3_column_text(s, 0),
                             (const char *)sqlite3_column_text(s, 1) };
        ret = fn(ud, v);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = sq_err(c, rc, "ingest jobs' blobs");
    sqlite3_finalize(s);
    return ret;
}
