/* The runner's life (job.h): worker threads claiming jobs from the queue,
 * leases renewed while they work, temporary failures retried with backoff
 * and permanent ones parked, a clean stop on SIGINT/SIGTERM.
 *
 * Threads: each worker thread has its own catalog handle and holds at most
 * one job; the main thread renews the held leases, reports progress and
 * watches for signals.  On a stop it kills the running children (their
 * jobs are then released without consuming an attempt) and waits for the
 * threads: a swap already under way completes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "job.h"
#include "json.h"
#include "log.h"
#include "run_priv.h"
#include "sha256.h"
#include "timeutil.h"

#define DEFAULT_LEASE 60
#define DEFAULT_BACKOFF 30
#define DEFAULT_PRUNE_LEASES 10
#define DEFAULT_WAIT_CATALOG 300
#define CONNECT_BACKOFF_FIRST 0.5 /* seconds, doubling per attempt */
#define CONNECT_BACKOFF_MAX 15.0
#define MAX_BACKOFF 3600
#define IDLE_POLL_MIN_MS 200
#define IDLE_POLL_MAX_MS 5000

void run_opts_defaults(struct run_opts *o)
{
    memset(o, 0, sizeof(*o));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = n > 0 ? (int)(n > RUN_MAX_THREADS ? RUN_MAX_THREADS : n) : 1;
    o->now = time_now();
    o->max_attempts = CATALOG_JOB_MAX_ATTEMPTS;
    o->lease_seconds = DEFAULT_LEASE;
    o->retry_backoff = DEFAULT_BACKOFF;
    o->prune_stale = DEFAULT_PRUNE_LEASES;
    o->wait_catalog = DEFAULT_WAIT_CATALOG;
    sandbox_limits_defaults(&o->limits);
}

int64_t run_queue_now(const struct run *r)
{
    return time_now() + r->skew;
}

int64_t run_policy_now(const struct run *r)
{
    return r->o->now ? r->o->now : time_now();
}

/* ---- test hooks ---------------------------------------------------------
 * TP_FAULT_ENOSPC_ONCE=PATH   the first encode while PATH does not exist
 *                             creates it and fails with ENOSPC
 * TP_FAULT_HANG_ASSET=ID      the encode child of asset ID sleeps past its
 *                             limit: TP_FAULT_HANG_SECONDS (default 1); the
 *                             others keep theirs
 * TP_FAULT_PAUSE_BEFORE_SWAP=PATH  before the swap transaction: creates
 *                             PATH.reached, then waits until PATH exists
 * TP_FAULT_CLOCK_SKEW=S       adds S seconds to the queue clock
 * TP_DEBUG_ENCODE_LOG=FILE    one line per finished encode (run_priv.h) */

void run_debug_encoded(const struct run *r, const struct catalog_job *j)
{
    const char *p = getenv("TP_DEBUG_ENCODE_LOG");
    char line[256];
    if (!p || !*p)
        return;
    int n = snprintf(line, sizeof(line), "job %lld token %lld asset %lld owner %s\n",
                     (long long)j->id, (long long)j->token, (long long)j->asset_id, r->owner);
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    /* one write(2) with O_APPEND: lines of concurrent workers never mix */
    if (write(fd, line, (size_t)n) != n)
        tp_log(TP_LOG_WARN, "%s: cannot log an encode", p);
    close(fd);
}

int run_fault_before_encode(const struct catalog_job *j, int *hang)
{
    const char *p = getenv("TP_FAULT_ENOSPC_ONCE"), *h = getenv("TP_FAULT_HANG_ASSET");
    const char *hs = getenv("TP_FAULT_HANG_SECONDS");
    *hang = h && atoll(h) == j->asset_id ? (hs && atoi(hs) > 0 ? atoi(hs) : 1) : 0;
    if (p && *p) {
        int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd >= 0) {
            close(fd);
            RETURN_ERR_IF(1, TP_ERR(ENOSPC), "asset %lld: injected fault before the encode",
                          (long long)j->asset_id);
        }
    }
    return 0;
}

void run_fault_before_swap(void)
{
    const char *p = getenv("TP_FAULT_PAUSE_BEFORE_SWAP");
    char reached[4200];
    if (!p || !*p)
        return;
    snprintf(reached, sizeof(reached), "%s.reached", p);
    int fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    /* bounded: a forgotten test never hangs for more than 10 minutes */
    for (int i = 0; i < 30000 && access(p, F_OK) != 0; i++) {
        struct timespec ts = { 0, 20 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

struct saved_signals {
    struct sigaction intr, term;
};

static void signals_catch(struct saved_signals *sv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &sv->intr);
    sigaction(SIGTERM, &sa, &sv->term);
}

static void signals_restore(const struct saved_signals *sv)
{
    sigaction(SIGINT, &sv->intr, NULL);
    sigaction(SIGTERM, &sv->term, NULL);
}

/* ---- failures ----------------------------------------------------------- */

/* Worth another attempt later: resources, time, a killed worker, a busy
 * catalog.  Everything else (invalid or corrupt data, a failed
 * verification, no codec, a codec crash) fails the same way again. */
static int error_is_temporary(int err)
{
    switch (err) {
    case TP_ERR(ENOSPC):
    case TP_ERR(EDQUOT):
    case TP_ERR(EIO):
    case TP_ERR(EAGAIN):
    case TP_ERR(EBUSY):
    case TP_ERR(ENOMEM):
    case TP_ERR(EMFILE):
    case TP_ERR(ENFILE):
    case TP_ERR(ETIME):
    case TP_ERR(ETIMEDOUT):
    case TP_ERR(EINTR):
    case TP_ERR(ECANCELED):
    /* the network or the catalog's server went away (a restart, a cut
     * link): the next attempt reconnects */
    case TP_ERR(ECONNRESET):
    case TP_ERR(ECONNREFUSED):
    case TP_ERR(ECONNABORTED):
    case TP_ERR(ENOTCONN):
    case TP_ERR(EPIPE):
    case TP_ERR(ENETDOWN):
    case TP_ERR(ENETUNREACH):
    case TP_ERR(EHOSTDOWN):
    case TP_ERR(EHOSTUNREACH):
    /* our lease ran out before the swap (a slow or paused worker, a
     * heartbeat lost to a restart) and no one has taken the job yet, or
     * the asset changed under us: the job is not at fault, the next
     * attempt starts from the catalog as it is then */
    case TP_ERR_CONFLICT:
        return 1;
    default:
        return 0;
    }
}

/* Seconds before the next attempt: base * 2^(attempts - 1), at most an
 * hour, +-25 % jitter so that failed jobs do not come back together. */
static int backoff_seconds(const struct run *r, const struct catalog_job *j)
{
    double d = r->o->retry_backoff;
    for (int i = 1; i < j->attempts && d < MAX_BACKOFF; i++)
        d *= 2;
    if (d > MAX_BACKOFF)
        d = MAX_BACKOFF;
    unsigned seed = (unsigned)(j->id * 2654435761u) ^ (unsigned)time_now();
    d *= 0.75 + 0.5 * (double)rand_r(&seed) / RAND_MAX;
    return (int)(d + 0.5);
}

/* A held job's failure: released on a stop, else retried or parked. */
static void settle_failure(struct run *r, struct catalog *c, const struct catalog_job *j, int err)
{
    char msg[CATALOG_JOB_ERROR];
    tp_strerror(err, msg, sizeof(msg));
    /* (the flag too: on ^C the children die of SIGINT before the main
     * thread has turned it into r->stopping; and a child stopped by
     * SIGINT/SIGTERM (ECANCELED) may be reaped before our own handler has
     * run at all: the stop is on its way, the job is not at fault) */
    if ((stop_signal || atomic_load(&r->stopping) || err == TP_ERR(ECANCELED)) &&
        catalog_job_release(c, j) >= 0) {
        atomic_fetch_add(&r->released, 1);
        tp_log(TP_LOG_INFO, "job %lld (asset %lld): released (stopping)", (long long)j->id,
               (long long)j->asset_id);
        tp_err_clear();
        return;
    }
    int temporary = error_is_temporary(err);
    int st = catalog_job_fail(c, j, run_queue_now(r), !temporary, msg, backoff_seconds(r, j));
    if (st < 0) {
        /* another worker holds it now (our lease ended): nothing of ours
         * was written */
        atomic_fetch_add(&r->lost, 1);
        tp_log(TP_LOG_WARN, "job %lld (asset %lld): %s (after: %s)", (long long)j->id,
               (long long)j->asset_id, tp_err_detail(), msg);
        tp_err_clear();
        return;
    }
    atomic_fetch_add(&r->failed, 1);
    atomic_fetch_add(st == CATALOG_JOB_QUEUED ? &r->retried
                     : st == CATALOG_JOB_DEAD ? &r->dead : &r->failed_perm, 1);
    tp_log(TP_LOG_WARN, "job %lld (asset %lld): tier %s failed%s, attempt %d of %d: %s",
           (long long)j->id, (long long)j->asset_id, j->tier, st == CATALOG_JOB_QUEUED ? " (temporary: will retry)"
                    : st == CATALOG_JOB_DEAD ? " (temporary; attempts used up: dead)"
                                             : " (permanent)",
           j->attempts, j->max_attempts, msg);
    char *detail = json_pack_text("{s:s}", "state", catalog_job_state_name(st));
    if (!detail || catalog_audit(c, j->asset_id, "job.failed", detail) < 0)
        tp_log(TP_LOG_WARN, "job %lld: cannot audit the failure", (long long)j->id);
    free(detail);
    tp_err_clear();
}

/* ---- policies by hash --------------------------------------------------- */

/* The policy of a job, loaded from the queue on first use (borrowed until
 * the run ends); NULL with the error set when it cannot be loaded. */
static const struct policy *policy_for(struct run *r, struct catalog *c, const char *hash)
{
    const struct policy *p = NULL;
    struct tp_buf text = { 0 };
    char path[256] = "";
    pthread_mutex_lock(&r->lock);
    for (int i = 0; i < r->npols; i++)
        if (!strcmp(r->pols[i].hash, hash)) {
            p = r->pols[i].ok ? &r->pols[i].pol : NULL;
            if (!p)
                tp_err_set("policy %.12s does not load", hash);
            goto end;
        }
    if (r->npols == RUN_MAX_POLICIES) {
        tp_err_set("more than %d policies in the queue", RUN_MAX_POLICIES);
        goto end;
    }
    struct run_pol *rp = &r->pols[r->npols++];
    snprintf(rp->hash, sizeof(rp->hash), "%s", hash);
    policy_defaults(&rp->pol);
    if (catalog_policy_get(c, hash, &text, path, sizeof(path)) >= 0 &&
        policy_parse(&rp->pol, path[0] ? path : hash, (const char *)text.data, text.len) >= 0 &&
        policy_validate(&rp->pol) >= 0) {
        rp->ok = 1;
        p = &rp->pol;
    }
end:
    pthread_mutex_unlock(&r->lock);
    buf_free(&text);
    return p;
}

/* ---- worker threads ----------------------------------------------------- */

struct thread_arg {
    struct run *r;
    int slot;
    const char *const *policies;
    int npolicies;
};

static void held_set(struct run *r, int slot, const struct catalog_job *j)
{
    pthread_mutex_lock(&r->lock);
    r->held[slot].busy = j != NULL;
    r->held[slot].lost = 0;
    if (j)
        r->held[slot].job = *j;
    pthread_mutex_unlock(&r->lock);
}

/* An idle worker waits for work: woken by the catalog (PostgreSQL's
 * NOTIFY when a job is queued), else after ms (a poll with backoff, the
 * fallback for leases that end and for SQLite).  Checks for a stop every
 * 100 ms.  1 when woken by a notification. */
static int idle_wait(struct run *r, struct catalog *c, int ms)
{
    int t;
    for (t = 0; t < ms && !atomic_load(&r->stopping) && !stop_signal; t += 100) {
        int k = catalog_job_wait(c, ms - t < 100 ? ms - t : 100);
        if (k == 2) { /* listening from now on: look at the queue again */
            tp_log(TP_LOG_INFO, "worker %s: idle, listening for queued jobs", r->owner);
            return 1;
        }
        if (k > 0) {
            atomic_fetch_add(&r->wakeups, 1);
            return 1;
        }
        if (k < 0) {
            tp_err_clear(); /* (no notifications: the poll goes on) */
            struct timespec ts = { 0, 100 * 1000 * 1000 };
            nanosleep(&ts, NULL);
        }
    }
    if (t >= ms) /* (not a stop) */
        atomic_fetch_add(&r->polls, 1);
    return 0;
}

static void *worker_thread(void *arg)
{
    struct thread_arg *ta = arg;
    struct run *r = ta->r;
    struct catalog *c = NULL;
    int idle_ms = r->idle_min_ms;
    if (catalog_open(&c, r->o->cfg->catalog, 0) < 0) {
        tp_log(TP_LOG_ERROR, "%s: worker cannot open the catalog: %s", r->catalog_name,
               tp_err_detail());
        goto end;
    }
    while (!atomic_load(&r->stopping) && !stop_signal) {
        struct catalog_job j;
        if (r->o->limit && atomic_fetch_add(&r->taken, 1) >= r->o->limit)
            break;
        int n = catalog_job_claim(c, ta->policies, ta->npolicies, r->owner, run_queue_now(r),
                                  r->o->lease_seconds, &j, 1);
        if (n < 0) {
            tp_log(TP_LOG_ERROR, "%s: cannot claim a job: %s", r->catalog_name, tp_err_detail());
            if (!r->forever)
                break;
        }
        if (n <= 0) {
            if (!r->forever)
                break;
            if (idle_wait(r, c, idle_ms)) /* woken: work was queued */
                idle_ms = r->idle_min_ms;
            else /* an idle worker polls with backoff */
                idle_ms = idle_ms * 2 > r->idle_max_ms ? r->idle_max_ms : idle_ms * 2;
            continue;
        }
        idle_ms = r->idle_min_ms;
        held_set(r, ta->slot, &j);
        int ret;
        if (!strcmp(j.policy, CATALOG_JOB_INGEST)) {
            ret = job_ingest(r, c, &j);
        } else {
            const struct policy *pol = policy_for(r, c, j.policy);
            ret = pol ? job_process(r, c, &j, pol) : TP_ERR_NOTFOUND;
        }
        held_set(r, ta->slot, NULL);
        if (ret < 0)
            settle_failure(r, c, &j, ret); /* (job_process logged a success) */
    }
end:
    catalog_close(&c);
    atomic_fetch_sub(&r->active, 1);
    return NULL;
}

/* Renews every held lease (main thread). */
static void renew_leases(struct run *r, struct catalog *c)
{
    for (int i = 0; i < r->o->jobs && i < RUN_MAX_THREADS; i++) {
        struct catalog_job j;
        pthread_mutex_lock(&r->lock);
        int busy = r->held[i].busy && !r->held[i].lost;
        j = r->held[i].job;
        pthread_mutex_unlock(&r->lock);
        if (!busy)
            continue;
        int ret = catalog_job_renew(c, &j, run_queue_now(r), r->o->lease_seconds);
        if (ret < 0) {
            /* lost for good on a conflict; a busy catalog is tried again */
            tp_log(TP_LOG_WARN, "job %lld: lease not renewed: %s", (long long)j.id, tp_err_detail());
            pthread_mutex_lock(&r->lock);
            if (ret == TP_ERR_CONFLICT && r->held[i].busy && r->held[i].job.id == j.id)
                r->held[i].lost = 1;
            pthread_mutex_unlock(&r->lock);
            tp_err_clear();
        }
    }
}

/* Owners are "host:pid"; a job whose owner on this host is gone is taken
 * back at once (leases would free it later anyway). */
static int owner_is_dead(const char *owner)
{
    char host[64];
    const char *colon = strrchr(owner, ':');
    if (!colon || gethostname(host, sizeof(host)) < 0)
        return 0;
    if ((size_t)(colon - owner) != strlen(host) || strncmp(owner, host, strlen(host)))
        return 0;
    long pid = atol(colon + 1);
    return pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

static void report_progress(struct run *r, int64_t total)
{
    if (!r->o->on_progress)
        return;
    struct run_progress p = {
        atomic_load(&r->transcoded) + atomic_load(&r->kept) + atomic_load(&r->failed), total,
        (int64_t)atomic_load(&r->bytes_before) - (int64_t)atomic_load(&r->bytes_after),
        atomic_load(&r->failed), atomic_load(&r->px_done), r->px_total,
    };
    r->o->on_progress(r->o->progress_ud, &p);
}

/* The worker registry: this process, its heartbeat on the main thread.  A
 * registry that cannot be written is logged, never fatal: leases alone
 * keep the queue safe. */
static void registry_join(struct run *r, struct catalog *c)
{
    struct catalog_worker w;
    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "%s", r->owner);
    gethostname(w.host, sizeof(w.host) - 1);
    w.pid = (int64_t)getpid();
    w.threads = r->o->jobs < RUN_MAX_THREADS ? r->o->jobs : RUN_MAX_THREADS;
    w.lease_seconds = r->o->lease_seconds;
    if (catalog_worker_register(c, &w, run_queue_now(r)) < 0) {
        tp_log(TP_LOG_WARN, "worker %s: cannot register: %s", r->owner, tp_err_detail());
        tp_err_clear();
    }
}

/* Workers gone for good (killed, their machine lost) leave their rows:
 * removed once silent for prune_stale of their leases. */
static void registry_prune(struct run *r, struct catalog *c)
{
    int n;
    if (r->o->prune_stale <= 0)
        return;
    if ((n = catalog_worker_prune(c, run_queue_now(r), r->o->prune_stale)) < 0) {
        tp_log(TP_LOG_WARN, "worker %s: pruning stale workers: %s", r->owner, tp_err_detail());
        tp_err_clear();
    } else if (n > 0) {
        tp_log(TP_LOG_INFO, "worker %s: removed %d stale worker(s) from the registry (no "
               "heartbeat for over %d leases)", r->owner, n, r->o->prune_stale);
    }
}

static void heartbeat(struct run *r, struct catalog *c)
{
    int ret = catalog_worker_heartbeat(c, r->owner, run_queue_now(r));
    if (ret == TP_ERR_NOTFOUND) { /* removed by hand: register again */
        tp_err_clear();
        registry_join(r, c);
    } else if (ret < 0) {
        tp_log(TP_LOG_WARN, "worker %s: heartbeat: %s", r->owner, tp_err_detail());
        tp_err_clear();
    }
    registry_prune(r, c);
}

/* Runs the worker threads until they are done (run) or a signal (worker);
 * the main thread renews leases, reports progress, handles the stop. */
static int work(struct run *r, const char *const *policies, int npolicies, int64_t total)
{
    pthread_t th[RUN_MAX_THREADS];
    struct thread_arg ta[RUN_MAX_THREADS];
    struct catalog *c = NULL;
    int nth = 0, ticks = 0, renew_ticks = r->o->lease_seconds * 5 / 3;

    FORWARD_ERR(catalog_open(&c, r->o->cfg->catalog, 0));
    registry_join(r, c);
    registry_prune(r, c);
    for (nth = 0; nth < r->o->jobs && nth < RUN_MAX_THREADS && !stop_signal; nth++) {
        ta[nth] = (struct thread_arg){ r, nth, policies, npolicies };
        atomic_fetch_add(&r->active, 1);
        if (pthread_create(&th[nth], NULL, worker_thread, &ta[nth]) != 0) {
            atomic_fetch_sub(&r->active, 1);
            break;
        }
    }
    while (atomic_load(&r->active) > 0) {
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        if (stop_signal && !atomic_load(&r->stopping)) {
            tp_log(TP_LOG_INFO, "stopping (%s): no new jobs; releasing the running ones",
                   stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
            atomic_store(&r->stopping, 1);
        }
        if (atomic_load(&r->stopping))
            sandbox_kill_all(); /* again each tick: a child may have just started */
        if (++ticks >= (renew_ticks > 1 ? renew_ticks : 1)) {
            renew_leases(r, c);
            heartbeat(r, c);
            ticks = 0;
        }
        report_progress(r, total);
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    report_progress(r, total);
    /* (every job was finished, failed or released: nothing left running) */
    if (catalog_worker_deregister(c, r->owner) < 0) {
        tp_log(TP_LOG_WARN, "worker %s: cannot deregister: %s", r->owner, tp_err_detail());
        tp_err_clear();
    }
    catalog_close(&c);
    return 0;
}

static void summary_from_run(struct run *r, struct run_summary *s)
{
    s->transcoded = atomic_load(&r->transcoded);
    s->kept = atomic_load(&r->kept);
    s->failed = atomic_load(&r->failed);
    s->retried = atomic_load(&r->retried);
    s->failed_permanent = atomic_load(&r->failed_perm);
    s->dead = atomic_load(&r->dead);
    s->released = atomic_load(&r->released);
    s->lost = atomic_load(&r->lost);
    s->bytes_before = atomic_load(&r->bytes_before);
    s->bytes_after = atomic_load(&r->bytes_after);
    s->stop_signal = stop_signal;
}

/* The policy's jobs with an error (queued for a retry, failed, dead). */
static int failure_one(void *ud, const struct catalog_job *j)
{
    struct run_summary *s = ud;
    if (!j->last_error[0] || j->state == CATALOG_JOB_RUNNING || j->state == CATALOG_JOB_DONE ||
        j->state == CATALOG_JOB_KEPT)
        return 0;
    if (s->nfailures < RUN_MAX_FAILURES) {
        struct run_failure *x = &s->failures[s->nfailures];
        x->job = j->id;
        x->asset = j->asset_id;
        snprintf(x->state, sizeof(x->state), "%s", catalog_job_state_name(j->state));
        x->attempts = j->attempts;
        x->max_attempts = j->max_attempts;
        x->permanent = j->error_permanent;
        snprintf(x->error, sizeof(x->error), "%.*s", (int)sizeof(x->error) - 1, j->last_error);
    }
    s->nfailures++;
    return 0;
}

static struct run *run_new(const struct run_opts *o, struct run_summary *s)
{
    struct run *r = tp_calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->o = o;
    r->s = s;
    pthread_mutex_init(&r->lock, NULL);
    policy_defaults(&r->pol);
    const char *skew = getenv("TP_FAULT_CLOCK_SKEW");
    r->skew = skew ? atoll(skew) : 0;
    /* TP_IDLE_POLL_MS=MIN[,MAX]: the idle poll's backoff (tests set it long
     * to show that a notification, not the poll, woke the worker) */
    const char *ip = getenv("TP_IDLE_POLL_MS");
    r->idle_min_ms = IDLE_POLL_MIN_MS;
    r->idle_max_ms = IDLE_POLL_MAX_MS;
    if (ip && atoi(ip) > 0) {
        const char *comma = strchr(ip, ',');
        r->idle_min_ms = atoi(ip);
        r->idle_max_ms = comma && atoi(comma + 1) >= r->idle_min_ms ? atoi(comma + 1) : r->idle_min_ms;
    }
    char host[64] = "localhost";
    gethostname(host, sizeof(host));
    snprintf(r->owner, sizeof(r->owner), "%s:%ld", host, (long)getpid());
    config_uri_redact(o->cfg->catalog, r->catalog_name, sizeof(r->catalog_name));
    s->time_limit = o->limits.seconds;
    s->max_attempts = o->max_attempts;
    return r;
}

static void run_free(struct run *r)
{
    if (!r)
        return;
    policy_free(&r->pol);
    for (int i = 0; i < r->npols; i++)
        policy_free(&r->pols[i].pol);
    pthread_mutex_destroy(&r->lock);
    tp_free(r);
}

/* The blob store's footprint as of the policy clock, for the summary. */
static int run_store_footprint(struct catalog *c, int64_t now, struct run_summary *s)
{
    time_format(now ? now : time_now(), s->store_now, sizeof(s->store_now));
    FORWARD_ERR(catalog_footprint(c, s->store_now, &s->store));
    s->has_store = 1;
    return 0;
}

int run_policy(const struct run_opts *o, struct run_summary *s)
{
    struct run *r = NULL;
    struct home h = { 0 };
    struct tp_buf pb = { 0 };
    struct saved_signals sv;
    int ret;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN); /* sandbox_run: a dead worker is an error, not a signal */
    memset(s, 0, sizeof(*s));
    if (!(r = run_new(o, s)))
        return TP_ERR(ENOMEM);
    if (!o->dry_run)
        signals_catch(&sv);
    if ((ret = policy_load(&r->pol, o->policy_path)) < 0)
        goto end;
    if ((ret = file_read(o->policy_path, POLICY_MAX_BYTES, &pb)) < 0)
        goto end;
    sha256_hex(pb.data, pb.len, r->policy_hash);
    memcpy(s->policy_sha256, r->policy_hash, sizeof(s->policy_sha256));
    s->ntiers = r->pol.ntiers;
    for (int i = 0; i < r->pol.ntiers && i < RUN_MAX_TIERS; i++)
        snprintf(s->tier_names[i], sizeof(s->tier_names[i]), "%s", r->pol.tiers[i].name);
    if ((ret = home_open(&h, o->cfg)) < 0)
        goto end;
    s->dry_run = o->dry_run;
    if ((ret = job_plan(r, h.cat, pb.data, pb.len)) < 0)
        goto end;
    if (o->dry_run) {
        ret = run_store_footprint(h.cat, o->now, s);
        goto end;
    }
    /* a runner killed mid-job on this host left it "running": take it back */
    int n = catalog_job_requeue_dead(h.cat, r->policy_hash, owner_is_dead);
    if (n > 0)
        tp_log(TP_LOG_INFO, "resuming %d job(s) of an interrupted run", n);
    struct catalog_job_counts jc;
    if ((ret = catalog_job_counts(h.cat, r->policy_hash, &jc)) < 0)
        goto end;
    int64_t total = jc.queued + jc.running;
    if (o->limit && total > o->limit)
        total = o->limit;
    if (!o->enqueue_only) {
        /* this run's jobs, and uploads waiting to be ingested */
        const char *pols[2] = { r->policy_hash, CATALOG_JOB_INGEST };
        if ((ret = work(r, pols, 2, total)) < 0)
            goto end;
    }
    summary_from_run(r, s);
    ret = catalog_job_list(h.cat, r->policy_hash, -1, failure_one, s);
    if (ret >= 0)
        ret = run_store_footprint(h.cat, o->now, s);
end:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ret < 0 && r->pol.ndiags && !tp_err_detail()[0]) {
        char b[400];
        tp_err_set("%s", policy_diag_format(&r->pol, 0, b, sizeof(b)));
    }
    if (!o->dry_run) {
        s->stop_signal = stop_signal;
        signals_restore(&sv);
    }
    home_close(&h);
    buf_free(&pb);
    run_free(r);
    return ret;
}

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Opens the home, retrying while its catalog server cannot be reached (a
 * fleet booting before its database, a database restarting): capped
 * exponential backoff with +-25 % jitter (workers started together do not
 * knock together), a log line per attempt, for up to o->wait_catalog
 * seconds.  Anything else (a bad config, a missing database, refused
 * credentials) fails at once; so does a stop signal. */
static int open_home_waiting(struct home *h, const struct run_opts *o)
{
    const double t0 = mono_now();
    double delay = CONNECT_BACKOFF_FIRST;
    unsigned seed = (unsigned)getpid() * 2654435761u ^ (unsigned)time_now();
    for (int attempt = 1;; attempt++) {
        int ret = home_open(h, o->cfg);
        double left = o->wait_catalog - (mono_now() - t0);
        if (ret >= 0) {
            if (attempt > 1)
                tp_log(TP_LOG_INFO, "worker: catalog reached after %d attempts (%.1f s)",
                       attempt, mono_now() - t0);
            return ret;
        }
        if ((ret != TP_ERR(ECONNREFUSED) && ret != TP_ERR(ECONNRESET) && ret != TP_ERR(EAGAIN)) ||
            stop_signal)
            return ret;
        if (left <= 0) {
            if (o->wait_catalog > 0) {
                char why[400];
                snprintf(why, sizeof(why), "%s", tp_err_detail());
                tp_err_set("%s (gave up after %d attempts in %d s, --wait-catalog)", why, attempt,
                           o->wait_catalog);
            }
            return ret;
        }
        double d = delay * (0.75 + 0.5 * (double)rand_r(&seed) / RAND_MAX);
        if (d > left)
            d = left;
        tp_log(TP_LOG_WARN, "worker: cannot reach the catalog (%s); retry %d in %.1f s "
               "(giving up in %.0f s)", tp_err_detail(), attempt, d, left);
        tp_err_clear();
        struct timespec ts = { (time_t)d, (long)((d - (double)(time_t)d) * 1e9) };
        nanosleep(&ts, NULL); /* a stop signal cuts it short */
        delay = delay * 2 > CONNECT_BACKOFF_MAX ? CONNECT_BACKOFF_MAX : delay * 2;
    }
}

int worker_run(const struct run_opts *o, struct run_summary *s)
{
    struct run *r = NULL;
    struct home h = { 0 };
    struct saved_signals sv;
    char hashes[RUN_MAX_POLICIES][SHA256_HEX_LEN + 1];
    const char *pols[RUN_MAX_POLICIES + 1];
    int ret = 0;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN);
    memset(s, 0, sizeof(*s));
    RETURN_ERR_IF(o->npolicies > RUN_MAX_POLICIES, TP_ERR_USAGE, "at most %d policies",
                  RUN_MAX_POLICIES);
    if (!(r = run_new(o, s)))
        return TP_ERR(ENOMEM);
    r->forever = 1;
    signals_catch(&sv);
    if ((ret = open_home_waiting(&h, o)) < 0)
        goto end;
    /* the given policies are recorded, so their jobs can be loaded */
    for (int i = 0; i < o->npolicies; i++) {
        struct policy p;
        struct tp_buf pb = { 0 };
        policy_defaults(&p);
        if ((ret = policy_load(&p, o->policy_paths[i])) >= 0 &&
            (ret = file_read(o->policy_paths[i], POLICY_MAX_BYTES, &pb)) >= 0) {
            sha256_hex(pb.data, pb.len, hashes[i]);
            pols[i] = hashes[i];
            ret = catalog_policy_put(h.cat, hashes[i], o->policy_paths[i], pb.data, pb.len);
        }
        if (ret < 0 && p.ndiags && !tp_err_detail()[0]) {
            char b[400];
            tp_err_set("%s", policy_diag_format(&p, 0, b, sizeof(b)));
        }
        policy_free(&p);
        buf_free(&pb);
        if (ret < 0)
            goto end;
    }
    int n = catalog_job_requeue_dead(h.cat, NULL, owner_is_dead);
    if (n > 0)
        tp_log(TP_LOG_INFO, "resuming %d job(s) of an interrupted runner", n);
    tp_log(TP_LOG_INFO, "worker %s: %d thread(s), %s, lease %d s", r->owner, o->jobs,
           o->npolicies ? "the given policies" : "every policy in the queue", o->lease_seconds);
    /* given policies: their jobs, and uploads waiting to be ingested */
    if (o->npolicies)
        pols[o->npolicies] = CATALOG_JOB_INGEST;
    if ((ret = work(r, pols, o->npolicies ? o->npolicies + 1 : 0, 0)) < 0)
        goto end;
    summary_from_run(r, s);
    tp_log(TP_LOG_INFO, "worker %s: stopped and deregistered; idle waits: %lld woken by a "
           "notification, %lld poll timeouts", r->owner, (long long)atomic_load(&r->wakeups),
           (long long)atomic_load(&r->polls));
end:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    s->stop_signal = stop_signal;
    signals_restore(&sv);
    home_close(&h);
    run_free(r);
    return ret;
}
