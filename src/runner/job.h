#ifndef TP_SRC_JOB_H
#define TP_SRC_JOB_H

/* The batch runner: evaluates a policy over the catalog, transcodes what a
 * tier asks for in isolated child processes, verifies every new
 * representation independently, and swaps the storage pointer in one
 * transaction.  Jobs live in the catalog, so an interrupted run resumes
 * and a finished run re-run does nothing. */
#include <stdint.h>
#include <stdio.h>

#include "policy.h"
#include "sandbox.h"

/* Progress, reported about five times a second while workers run. */
struct config;

struct run_progress {
    int64_t done, total;      /* jobs finished this invocation / to do */
    int64_t bytes_saved;      /* by the swaps so far */
    int64_t failed;
};

struct run_opts {
    const struct config *cfg; /* the home's backends (borrowed; copied to workers) */
    const char *policy_path;
    int64_t now;            /* policy clock (--now); default: the real time */
    int jobs;               /* parallel workers, 1..64 (default: online CPUs) */
    int64_t limit;          /* at most this many jobs this invocation (0 = all) */
    int dry_run;            /* evaluate and report; write nothing */
    void (*on_progress)(void *ud, const struct run_progress *p); /* may be NULL */
    void *progress_ud;
    struct sandbox_limits limits; /* per child: memory and seconds */
};

void run_opts_defaults(struct run_opts *o);

#define RUN_MAX_TIERS POLICY_MAX_TIERS

struct run_summary {
    int64_t assets;                 /* assets in the catalog */
    int ntiers;
    char tier_names[RUN_MAX_TIERS][32];
    int64_t matched[RUN_MAX_TIERS]; /* assets matching each tier now */
    int64_t unmatched;
    int64_t already;                /* already in their tier: nothing to do */
    int64_t queued;                 /* jobs queued by this run's plan */
    int64_t transcoded, kept, failed, labelled;
    uint64_t bytes_before, bytes_after; /* of the assets processed this run */
    double seconds;
    char policy_sha256[65];
};

/* Runs (or with dry_run, plans) the policy.  Returns 0 when the run went
 * through (individual asset failures are counted in s->failed), negative
 * when it could not run at all. */
int run_policy(const struct run_opts *o, struct run_summary *s);
void run_summary_print(FILE *f, const struct run_summary *s, int json);
/* The worker side of the runner's isolated processes: main() calls this for
 * `tierpress --sandbox-worker NAME` (see sandbox.h). */
int job_worker_main(const char *name);

#endif /* TP_SRC_JOB_H */
