#ifndef TP_SRC_JOB_H
#define TP_SRC_JOB_H

/* The batch runner: evaluates a policy over the catalog, transcodes what a
 * tier asks for in isolated child processes, verifies every new
 * representation independently, and swaps the storage pointer in one
 * transaction.  Jobs live in the catalog, so an interrupted run resumes
 * and a finished run re-run does nothing. */
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "policy.h"
#include "sandbox.h"

/* Progress, reported about five times a second while workers run. */
struct config;

struct run_progress {
    int64_t done, total;      /* jobs finished this invocation / to do */
    int64_t bytes_saved;      /* by the swaps so far */
    int64_t failed;
    /* the work: pixels of the assets whose job ended / planned for a
     * transcode (the ETA follows these, not the asset count) */
    int64_t px_done, px_total;
};

struct run_opts {
    const struct config *cfg; /* the home's backends (borrowed; copied to workers) */
    const char *policy_path; /* run: the policy to plan; worker: NULL */
    int64_t now;            /* policy clock (--now); 0 (worker): the real time per job */
    int jobs;               /* parallel workers, 1..64 (default: online CPUs) */
    int64_t limit;          /* at most this many jobs this invocation (0 = all) */
    int dry_run;            /* evaluate and report; write nothing */
    int enqueue_only;       /* run: plan (enqueue), do no job */
    int max_attempts;       /* for jobs queued by this plan (default CATALOG_JOB_MAX_ATTEMPTS) */
    int lease_seconds;      /* lease of a claimed job, renewed every third of it (default 60) */
    int retry_backoff;      /* seconds before the first retry of a temporary failure,
                               doubling per attempt up to an hour, +-25% jitter (default 30) */
    int prune_stale;        /* remove registry rows of workers silent for this many of their
                               leases, at start and every heartbeat; 0: never (default 10) */
    int wait_catalog;       /* worker: at start-up, retry reaching a catalog server that is
                               not up (yet) for up to this many seconds, capped exponential
                               backoff with jitter; 0: fail at once (default 300) */
    /* worker_run: the policy files (sha256) whose jobs to take; none: any */
    const char *const *policy_paths;
    int npolicies;
    void (*on_progress)(void *ud, const struct run_progress *p); /* may be NULL */
    /* run's plan, asset by asset (dry runs too): action is "transcode",
     * "label" or "already"; tier NULL when no tier matches; may be NULL */
    void (*on_plan)(void *ud, const struct catalog_asset *a, const char *tier, const char *action);
    void *progress_ud;
    struct sandbox_limits limits; /* per child: memory and seconds */
};

void run_opts_defaults(struct run_opts *o);

#define RUN_MAX_TIERS POLICY_MAX_TIERS
#define RUN_MAX_FAILURES 32

struct run_summary {
    int64_t assets;                 /* assets in the catalog */
    int ntiers;
    char tier_names[RUN_MAX_TIERS][32];
    int64_t matched[RUN_MAX_TIERS]; /* assets matching each tier now */
    int64_t unmatched;
    /* the plan per tier: jobs (transcodes) and relabels, with the bytes of the
     * assets concerned (their current representation) */
    int64_t plan_jobs[RUN_MAX_TIERS], plan_labels[RUN_MAX_TIERS];
    uint64_t plan_job_bytes[RUN_MAX_TIERS], plan_label_bytes[RUN_MAX_TIERS];
    int dry_run;
    /* the blob store after the run (has_store): referenced, held for the
     * originals' grace, and what gc frees (see catalog_footprint) */
    int has_store;
    char store_now[CATALOG_TIME];
    struct catalog_footprint store;
    int64_t already;                /* already in their tier: nothing to do */
    int64_t queued;                 /* jobs queued by this run's plan */
    int64_t transcoded, kept, failed, labelled;
    uint64_t bytes_before, bytes_after; /* of the assets processed this run */
    double seconds;
    char policy_sha256[65];
    /* the queue: failed = retried + failed_permanent + dead this run */
    int64_t retried;                /* temporary failures requeued (with backoff) */
    int64_t failed_permanent;       /* parked as failed: not retried */
    int64_t dead;                   /* temporary failures on the last attempt */
    int64_t released;               /* given back by a clean stop */
    int64_t lost;                   /* taken over by another worker: nothing written */
    int time_limit;                 /* seconds per child process */
    int max_attempts;
    int stop_signal;                /* SIGINT/SIGTERM that stopped the run, else 0 */
    /* the policy's jobs with an error now (queued for a retry, failed or
     * dead), the first RUN_MAX_FAILURES, and how many in all */
    int64_t nfailures;
    struct run_failure {
        int64_t job, asset;
        char state[8];
        int attempts, max_attempts, permanent;
        char error[160];
    } failures[RUN_MAX_FAILURES];
};

/* Runs (or with dry_run, plans) the policy: plans (enqueues), then unless
 * enqueue_only works on the policy's jobs until none is left.  Returns 0
 * when the run went through (individual asset failures are counted in
 * s->failed), negative when it could not run at all.  SIGINT/SIGTERM stop
 * it cleanly: no new claim, running children killed and their jobs
 * released (no attempt consumed); s->stop_signal says which. */
int run_policy(const struct run_opts *o, struct run_summary *s);
/* `tierpress worker`: claims jobs of o->policy_paths (or of any policy
 * recorded in the queue) with o->jobs threads until SIGINT/SIGTERM, polling
 * with backoff when idle, one log line per job.  s counts what it did
 * (policy fields empty). */
int worker_run(const struct run_opts *o, struct run_summary *s);
void run_summary_print(FILE *f, const struct run_summary *s, int json);
/* The worker side of the runner's isolated processes: main() calls this for
 * `tierpress --sandbox-worker NAME` (see sandbox.h). */
int job_worker_main(const char *name);

#endif /* TP_SRC_JOB_H */
