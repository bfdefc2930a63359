/* The job queue's contract (catalog.h, "the job queue"), on the SQLite
 * backend: claims, leases and takeover, fencing of renew/finish/fail/
 * release, backoff, attempts cap (dead), permanent failures, release,
 * retry, policy filter, recorded policy texts.  job_contract() uses only
 * catalog.h, so another backend can run the same checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "err.h"
#include "job_contract.h"
#include "unit.h"

#define P1 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define P2 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

static int64_t add_asset(struct catalog *c, const char *sha)
{
    struct catalog_asset a;
    memset(&a, 0, sizeof(a));
    snprintf(a.sha256, sizeof(a.sha256), "%s", sha);
    snprintf(a.current_blob, sizeof(a.current_blob), "%s", sha);
    snprintf(a.original_blob, sizeof(a.original_blob), "%s", sha);
    snprintf(a.kind, sizeof(a.kind), "image");
    snprintf(a.format, sizeof(a.format), "jpeg");
    a.width = a.height = 8;
    a.bytes = 100;
    a.orientation = 1;
    if (catalog_blob_add(c, sha, 100, NULL) < 0 || catalog_asset_insert(c, &a) < 0)
        return -1;
    return a.id;
}

struct find_ctx {
    int64_t id;
    struct catalog_job *out;
    int found;
};

static int find_one(void *ud, const struct catalog_job *j)
{
    struct find_ctx *x = ud;
    if (j->id == x->id) {
        *x->out = *j;
        x->found = 1;
    }
    return 0;
}

/* The job with this id as listed (0), or -1. */
static int find_state(struct catalog *c, int64_t id, struct catalog_job *out)
{
    struct find_ctx x = { id, out, 0 };
    return catalog_job_list(c, NULL, -1, find_one, &x) < 0 || !x.found ? -1 : 0;
}

void job_contract(struct catalog *c, int *unit_failed_)
{
    struct catalog_job a, b, j, got;
    struct catalog_job_counts n;
    const char *p1[] = { P1 }, *p2[] = { P2 };
    int64_t asset = add_asset(c, H1), asset2 = add_asset(c, H2);
    REQUIRE(asset > 0 && asset2 > 0);

    /* policy texts travel with the queue */
    struct tp_buf text = { 0 };
    char path[64];
    CHECK(catalog_policy_put(c, P1, "p1.yaml", "version: 1\n", 11) == 0);
    CHECK(catalog_policy_put(c, P1, "other.yaml", "x", 1) == 0); /* known: no-op */
    CHECK(catalog_policy_get(c, P1, &text, path, sizeof(path)) == 0);
    CHECK(text.len == 11 && !memcmp(text.data, "version: 1\n", 11) && !strcmp(path, "p1.yaml"));
    buf_free(&text);
    CHECK(catalog_policy_get(c, P2, &text, NULL, 0) == TP_ERR_NOTFOUND);
    tp_err_clear();

    CHECK(catalog_job_enqueue(c, asset, P1, "cold", 3) == 1);
    CHECK(catalog_job_enqueue(c, asset, P1, "cold", 3) == 0);
    CHECK(catalog_job_enqueue(c, asset2, P2, "cold", 0) == 1);

    /* the policy filter: P2's job only for P2 (or any) */
    CHECK(catalog_job_claim(c, p1, 1, "A", 1000, 10, &a, 1) == 1);
    CHECK(a.asset_id == asset && !strcmp(a.policy, P1) && !strcmp(a.tier, "cold"));
    CHECK(a.state == CATALOG_JOB_RUNNING && a.attempts == 1 && a.max_attempts == 3);
    CHECK(a.token == 1 && a.lease_until == 1010 && a.claimed == 1000 && !strcmp(a.owner, "A"));
    CHECK(catalog_job_claim(c, p1, 1, "B", 1005, 10, &b, 1) == 0); /* leased */
    CHECK(catalog_job_claim(c, NULL, 0, "C", 1005, 10, &j, 4) == 1 && j.asset_id == asset2 &&
          j.max_attempts == CATALOG_JOB_MAX_ATTEMPTS);
    CHECK(catalog_job_release(c, &j) == 0);
    CHECK(find_state(c, j.id, &got) == 0 && got.state == CATALOG_JOB_QUEUED && got.attempts == 0 &&
          got.token == 1 && !got.owner[0]);
    CHECK(catalog_job_claim(c, p2, 1, "C", 1005, 10, &j, 1) == 1 && j.token == 2 && j.attempts == 1);

    /* renew: only the holder, only before the lease ends */
    CHECK(catalog_job_renew(c, &a, 1008, 10) == 0 && a.lease_until == 1018);
    struct catalog_job stale = a;
    stale.token = 7;
    CHECK(catalog_job_renew(c, &stale, 1009, 10) == TP_ERR_CONFLICT);
    tp_err_clear();

    /* takeover after the lease: a new token; the old holder is fenced */
    CHECK(catalog_job_claim(c, p1, 1, "B", 1018, 10, &b, 1) == 0); /* not ended at 1018 */
    CHECK(catalog_job_claim(c, p1, 1, "B", 1019, 10, &b, 1) == 1);
    CHECK(b.id == a.id && b.token == 2 && b.attempts == 2 && !strcmp(b.owner, "B"));
    CHECK(catalog_job_renew(c, &a, 1019, 10) == TP_ERR_CONFLICT);
    tp_err_clear();
    /* the fenced finish inside the swap transaction: refused, rolled back */
    REQUIRE(catalog_begin(c) == 0);
    CHECK(catalog_job_finish(c, &a, 1019, CATALOG_JOB_DONE, "{}") == TP_ERR_CONFLICT);
    CHECK(strstr(tp_err_detail(), "no longer ours") != NULL);
    tp_err_clear();
    CHECK(catalog_rollback(c) == 0);
    CHECK(catalog_job_fail(c, &a, 1019, 0, "late", 5) == TP_ERR_CONFLICT);
    CHECK(catalog_job_release(c, &a) == TP_ERR_CONFLICT);
    tp_err_clear();

    /* a temporary failure: queued with backoff; claimable only after it */
    CHECK(catalog_job_fail(c, &b, 1020, 0, "No space left on device", 100) == CATALOG_JOB_QUEUED);
    CHECK(find_state(c, b.id, &got) == 0 && got.not_before == 1120 && !got.error_permanent &&
          !strcmp(got.last_error, "No space left on device") && got.attempts == 2);
    CHECK(catalog_job_claim(c, p1, 1, "B", 1119, 10, &b, 1) == 0);
    CHECK(catalog_job_claim(c, p1, 1, "B", 1120, 10, &b, 1) == 1 && b.attempts == 3 && b.token == 3);
    /* the last attempt fails: dead, not retried */
    CHECK(catalog_job_fail(c, &b, 1121, 0, "timed out after 1 s", 100) == CATALOG_JOB_DEAD);
    CHECK(catalog_job_claim(c, p1, 1, "B", 999999, 10, &b, 1) == 0);
    CHECK(catalog_job_counts(c, P1, &n) == 0 && n.dead == 1 && n.queued == 0 && n.running == 0);
    CHECK(find_state(c, b.id, &got) == 0 && got.finished[0] && got.state == CATALOG_JOB_DEAD);

    /* retry: attempts start again */
    CHECK(catalog_job_retry(c, P2, NULL, 0) == 0); /* another policy's: none */
    CHECK(catalog_job_retry(c, NULL, &b.id, 1) == 1);
    CHECK(catalog_job_claim(c, p1, 1, "D", 2000, 10, &b, 1) == 1 && b.attempts == 1 && b.token == 4);

    /* a finish after the lease ended, even with nobody else: refused */
    CHECK(catalog_job_finish(c, &b, 2011, CATALOG_JOB_DONE, "{}") == TP_ERR_CONFLICT);
    tp_err_clear();
    /* permanent: failed, never claimed again */
    CHECK(catalog_job_fail(c, &b, 2011, 1, "stored original is corrupt", 100) == CATALOG_JOB_FAILED);
    CHECK(catalog_job_claim(c, NULL, 0, "D", 999999, 10, &b, 1) == 1 && b.asset_id == asset2);
    CHECK(find_state(c, a.id, &got) == 0 && got.state == CATALOG_JOB_FAILED && got.error_permanent);

    /* an expired lease on the last attempt is parked dead, not claimed */
    CHECK(catalog_job_retry(c, P1, NULL, 0) == 1);
    CHECK(catalog_job_claim(c, p1, 1, "E", 3000, 10, &a, 1) == 1);
    CHECK(catalog_job_fail(c, &a, 3000, 0, "EIO", 0) == CATALOG_JOB_QUEUED);
    CHECK(catalog_job_claim(c, p1, 1, "E", 3000, 10, &a, 1) == 1);
    CHECK(catalog_job_fail(c, &a, 3000, 0, "EIO", 0) == CATALOG_JOB_QUEUED);
    CHECK(catalog_job_claim(c, p1, 1, "E", 3000, 10, &a, 1) == 1 && a.attempts == 3);
    CHECK(catalog_job_claim(c, p1, 1, "F", 3011, 10, &b, 1) == 0);
    CHECK(find_state(c, a.id, &got) == 0 && got.state == CATALOG_JOB_DEAD &&
          strstr(got.last_error, "lease expired") != NULL);

    /* the holder finishes: done, listed only under "done" */
    CHECK(catalog_job_claim(c, p2, 1, "G", 999999, 10, &j, 1) == 0); /* D holds it */
    CHECK(catalog_job_claim(c, NULL, 0, "G", 9999999, 10, &j, 1) == 1 && j.asset_id == asset2);
    CHECK(catalog_job_finish(c, &j, 9999999, CATALOG_JOB_DONE, "{\"ok\":1}") == 0);
    CHECK(catalog_job_counts(c, NULL, &n) == 0 && n.done == 1 && n.dead == 1 && n.running == 0);
    CHECK(catalog_job_state_parse("dead") == CATALOG_JOB_DEAD && catalog_job_state_parse("x") < 0);
}

TEST(job_queue_contract_sqlite)
{
    char dir[] = "/tmp/tp-jobs-XXXXXX", path[64], cmd[96];
    struct catalog *c = NULL;
    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    REQUIRE(catalog_sqlite_open(&c, path) == 0);
    job_contract(c, unit_failed_);
    catalog_close(&c);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
}
