/* The PostgreSQL catalog: the batch-job queue.  A claim is one UPDATE of
 * the row picked with SELECT ... FOR UPDATE SKIP LOCKED, so concurrent
 * claimers never wait for each other and never take the same job. */
#include <stdio.h>
#include <string.h>

#include "catalog_pg_int.h"
#include "err.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c

int pg_job_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, asset_id);
    pgp_text(&p, policy);
    pgp_text(&p, tier);
    /* ON CONFLICT DO NOTHING makes the insert safe to repeat */
    FORWARD_ERR(n = pgc_read(cp, P_JOB_ENQUEUE, &p, NULL, "enqueue job"));
    return n == 1;
}

/* One attempt of a claim; a previous attempt's result is dropped. */
static int claim_body(struct catalog_pg *cp, const struct pg_params *p, PGresult **r)
{
    PQclear(*r);
    *r = NULL;
    return pgc_exec(cp, P_JOB_CLAIM, p, r, "claim job");
}

int pg_job_claim(struct catalog *c, const char *policy, const char *owner, int64_t now,
                 int64_t lease_until, struct catalog_job *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r = NULL;
    int n;
    pgp_text(&p, policy);
    pgp_text(&p, owner);
    pgp_int(&p, now);
    pgp_int(&p, lease_until);
    n = PG_ATOMIC(cp, claim_body(cp, &p, &r));
    if (n <= 0) {
        PQclear(r);
        if (n < 0)
            return n;
        tp_err_set("no job to claim");
        return TP_ERR_NOTFOUND;
    }
    memset(out, 0, sizeof(*out));
    out->id = pg_int(r, 0, 0);
    out->asset_id = pg_int(r, 0, 1);
    pg_text(r, 0, 2, out->tier, sizeof(out->tier));
    out->attempts = (int)pg_int(r, 0, 3);
    PQclear(r);
    return 0;
}

int pg_job_finish(struct catalog *c, int64_t job_id, const char *state, const char *result)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, job_id);
    pgp_text(&p, state);
    pgp_text(&p, result);
    n = PG_ATOMIC(cp, pgc_exec(cp, P_JOB_FINISH, &p, NULL, "finish job"));
    FORWARD_ERR(n);
    RETURN_ERR_IF(n != 1, TP_ERR_CONFLICT, "job %lld is no longer ours", (long long)job_id);
    return 0;
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
        const char *st = pg_str(r, i, 0);
        int64_t k = pg_int(r, i, 1);
        if (!strcmp(st, "queued")) nc->queued = k;
        else if (!strcmp(st, "running")) nc->running = k;
        else if (!strcmp(st, "done")) nc->done = k;
        else if (!strcmp(st, "kept")) nc->kept = k;
        else if (!strcmp(st, "failed")) nc->failed = k;
    }
    PQclear(r);
    return 0;
}

static int requeue_body(struct catalog_pg *cp, int64_t id, const char *owner)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, id);
    pgp_text(&p, owner);
    FORWARD_ERR(n = pgc_exec(cp, P_JOB_REQUEUE, &p, NULL, "requeue job"));
    return n == 1 ? pgc_audit(cp, 0, "job.requeue", NULL) : 0;
}

int pg_job_requeue_dead(struct catalog *c, const char *policy, int (*is_dead)(const char *owner))
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n, ret = 0, requeued = 0;
    pgp_text(&p, policy);
    FORWARD_ERR(n = pgc_read(cp, P_JOB_RUNNING, &p, &r, "list running jobs"));
    for (int i = 0; i < n && ret >= 0; i++) {
        int64_t id = pg_int(r, i, 0);
        const char *owner = pg_str(r, i, 1);
        if (!is_dead(owner))
            continue;
        if ((ret = PG_ATOMIC(cp, requeue_body(cp, id, owner))) >= 0)
            requeued++;
    }
    PQclear(r);
    return ret < 0 ? ret : requeued;
}

int pg_job_active(struct catalog *c, int64_t now, int64_t *n_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    pgp_int(&p, now);
    FORWARD_ERR(pgc_read(cp, P_JOB_ACTIVE, &p, &r, "count active jobs"));
    *n_out = pg_int(r, 0, 0);
    PQclear(r);
    return 0;
}
