/* The job queue alone: N empty jobs, W workers (threads, each with its own
 * catalog connection) claiming up to B jobs at a time and finishing each
 * in its own transaction (as the runner's swap transaction does), until
 * the queue is empty.  Prints one JSON line: jobs, workers, batch,
 * seconds, jobs_per_second, and how many jobs were done (must equal N:
 * each exactly once).
 * usage: bench_queue CATALOG N W [B [T]]
 *   CATALOG: postgresql://... (an empty database) or a SQLite file path
 *   T: 1 (default) finish inside a transaction of its own, where the runner
 *   also swaps the asset's pointer; 0: finish alone */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "err.h"
#include "timeutil.h"

#define POLICY "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define BLOB "1111111111111111111111111111111111111111111111111111111111111111"

static const char *target;
static int batch = 1, in_txn = 1;

static int open_catalog(struct catalog **c)
{
    if (!strncmp(target, "postgres", 8))
        return catalog_pg_open(c, target, 0);
    return catalog_sqlite_open(c, target);
}

struct worker {
    pthread_t th;
    char owner[32];
    long done, errors;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct catalog *c = NULL;
    struct catalog_job j[64];
    const char *pol[] = { POLICY };
    int n;
    if (open_catalog(&c) < 0) {
        fprintf(stderr, "bench_queue: %s\n", tp_err_detail());
        w->errors++;
        return NULL;
    }
    while ((n = catalog_job_claim(c, pol, 1, w->owner, time_now(), 600, j, batch)) > 0) {
        for (int i = 0; i < n; i++) {
            if ((in_txn && catalog_begin(c) < 0) ||
                catalog_job_finish(c, &j[i], time_now(), CATALOG_JOB_DONE, "{}") < 0 ||
                (in_txn && catalog_commit(c) < 0)) {
                if (in_txn)
                    catalog_rollback(c);
                w->errors++;
            } else {
                w->done++;
            }
        }
    }
    if (n < 0) {
        fprintf(stderr, "bench_queue: claim: %s\n", tp_err_detail());
        w->errors++;
    }
    catalog_close(&c);
    return NULL;
}

/* N assets (bulk) and one job each. */
static int fill(long n)
{
    struct catalog *c = NULL;
    struct catalog_asset a;
    int ret;
    if ((ret = open_catalog(&c)) < 0)
        return ret;
    if ((ret = catalog_begin(c)) < 0 || (ret = catalog_blob_add(c, BLOB, 1, NULL)) < 0)
        goto end;
    for (long i = 0; i < n; i++) {
        memset(&a, 0, sizeof(a));
        snprintf(a.sha256, sizeof(a.sha256), "%064lx", i + 1);
        snprintf(a.current_blob, sizeof(a.current_blob), BLOB);
        snprintf(a.kind, sizeof(a.kind), "image");
        snprintf(a.format, sizeof(a.format), "jpeg");
        snprintf(a.upload_time, sizeof(a.upload_time), "2020-01-01T00:00:00Z");
        snprintf(a.storage_class, sizeof(a.storage_class), "STANDARD");
        a.orientation = 1;
        if ((ret = catalog_asset_insert_bulk(c, &a, NULL)) < 0 ||
            (ret = catalog_job_enqueue(c, a.id, POLICY, "cold", 0)) < 0)
            goto end;
    }
    if ((ret = catalog_blob_ref_add(c, BLOB, n)) < 0 || (ret = catalog_commit(c)) < 0)
        goto end;
end:
    if (ret < 0)
        catalog_rollback(c);
    catalog_close(&c);
    return ret;
}

int main(int argc, char **argv)
{
    struct worker w[256];
    struct timespec t0, t1;
    long n, nw, done = 0, errors = 0;
    if (argc < 4 || (n = atol(argv[2])) < 1 || (nw = atol(argv[3])) < 1 || nw > 256) {
        fprintf(stderr, "usage: bench_queue CATALOG N W [B [T]]\n");
        return 2;
    }
    target = argv[1];
    if (argc > 4 && ((batch = atoi(argv[4])) < 1 || batch > 64)) {
        fprintf(stderr, "bench_queue: B is 1..64\n");
        return 2;
    }
    if (argc > 5)
        in_txn = atoi(argv[5]) != 0;
    if (fill(n) < 0) {
        fprintf(stderr, "bench_queue: %s: %s\n", target, tp_err_detail());
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < nw; i++) {
        memset(&w[i], 0, sizeof(w[i]));
        snprintf(w[i].owner, sizeof(w[i].owner), "bench:%ld", i);
        pthread_create(&w[i].th, NULL, work, &w[i]);
    }
    for (long i = 0; i < nw; i++) {
        pthread_join(w[i].th, NULL);
        done += w[i].done;
        errors += w[i].errors;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("{\"jobs\":%ld,\"workers\":%ld,\"batch\":%d,\"finish_in_txn\":%d,\"seconds\":%.3f,\"jobs_per_second\":%.0f,"
           "\"done\":%ld,\"errors\":%ld}\n", n, nw, batch, in_txn, s, (double)done / s, done, errors);
    return done == n && !errors ? 0 : 1;
}
