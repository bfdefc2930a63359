#ifndef TP_SRC_RUN_PRIV_H
#define TP_SRC_RUN_PRIV_H

/* Private to the runner: what job.c (plan, one job's protocol) shares
 * with runloop.c (the claim loop, leases, retries, signals). */
#include <pthread.h>
#include <stdatomic.h>

#include "catalog.h"
#include "job.h"
#include "policy.h"

#define RUN_MAX_THREADS 64
#define RUN_MAX_POLICIES 16

struct run {
    const struct run_opts *o;
    struct policy pol;              /* run: the planned policy (also in pols[0]) */
    char policy_hash[SHA256_HEX_LEN + 1];
    char owner[96];                 /* "host:pid" */
    char catalog_name[1100];       /* the catalog URI for messages (redacted) */
    struct run_summary *s;
    int forever;                    /* worker: poll when idle, until a signal */
    int64_t skew;                   /* TP_FAULT_CLOCK_SKEW: added to the queue clock */
    atomic_llong taken, transcoded, kept, failed, retried, failed_perm, dead, released, lost;
    atomic_llong px_done;           /* pixels of the assets whose job ended (any outcome) */
    int64_t px_total;               /* pixels of the assets the plan sends to a transcode */
    atomic_llong ingested; /* ingest jobs done */
    atomic_int active, stopping;
    atomic_ullong bytes_before, bytes_after;
    pthread_mutex_t lock;           /* pols, held */
    struct run_pol {                /* policies by sha256, loaded from the queue on first use */
        char hash[SHA256_HEX_LEN + 1];
        struct policy pol;
        int ok;
    } pols[RUN_MAX_POLICIES];
    int npols;
    struct run_held {               /* the job each thread holds, for lease renewal */
        struct catalog_job job;
        int busy, lost;
    } held[RUN_MAX_THREADS];
};

/* The queue's clock: the real time (plus the test skew). */
int64_t run_queue_now(const struct run *r);
/* The policy clock for a job: --now when pinned, else the real time. */
int64_t run_policy_now(const struct run *r);

/* One claimed job: encode, verify, then one transaction that first
 * finishes the job (fenced: TP_ERR_CONFLICT when the lease was lost) and
 * swaps the pointer.  Negative on failure; the job is then still held and
 * the caller records the failure. */
int job_process(struct run *r, struct catalog *c, const struct catalog_job *j,
                const struct policy *pol);
/* One claimed ingest job (CATALOG_JOB_INGEST): the blob read from the
 * store with its hash checked, catalogued with its proxies as `tierpress
 * ingest` does (a blob already catalogued is a duplicate, not an error),
 * then the fenced finish.  Negative on failure, as job_process. */
int job_ingest(struct run *r, struct catalog *c, const struct catalog_job *j);
/* The plan of r->pol over the catalog c in one transaction: labels,
 * enqueues (with r->o->max_attempts), the policy's text recorded. */
int job_plan(struct run *r, struct catalog *c, const void *policy_text, size_t len);

/* Test hooks (environment variables; see runloop.c).  *hang_seconds: 0,
 * or the time limit of a child that will never answer. */
int run_fault_before_encode(const struct catalog_job *j, int *hang_seconds);
void run_fault_before_swap(void);

#endif /* TP_SRC_RUN_PRIV_H */
