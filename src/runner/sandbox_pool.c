/* Resident sandboxed workers (sandbox.h, "pools"): each is the same fresh
 * exec of this program as sandbox_run() starts, with the same limits and
 * system-call filter, but it serves requests one after another over its
 * pipes instead of one: a request is a length, the header and the
 * argument on its standard input; the answer is the usual frame on fd 3.
 * A worker is given back to the pool only after a clean answer; one that
 * failed, crashed, timed out or has served POOL_MAX_USES requests is
 * killed and reaped, and a fresh one is started when next needed, so a
 * hostile file never leaves state behind for the next request. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "mem.h"
#include "sandbox.h"
#include "sandbox_int.h"

#define POOL_MAX_USES 256

struct pool_worker {
    pid_t pid;
    int in_fd, res_fd;
    int uses;
};

/* Workers are started by the pool's own thread, never by a caller's: a
 * worker dies with the thread that forked it (PR_SET_PDEATHSIG follows the
 * thread), and a server's callers are connection threads that come and
 * go.  The thread starts `size` at once (pre-forked) and replaces each one
 * discarded. */
struct sandbox_pool {
    char name[48];
    struct sandbox_limits lim;
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* a worker became idle (or a start failed) */
    pthread_cond_t refill;    /* missing > 0, or stop */
    pthread_t thread;
    int thread_ok;
    struct pool_worker *idle; /* size entries; the first nidle are idle */
    int size, nidle;
    int missing;              /* workers to start */
    int lazy;                 /* replacements only for a waiting caller (sandbox_pool_lazy) */
    int waiting;              /* callers waiting for an idle worker */
    int stop;
    int start_err;            /* the last start's error (0: it worked) */
    int started;              /* workers ever started (for tests and logs) */
};

static int worker_start(struct sandbox_pool *p, struct pool_worker *w);

static void *refill_main(void *arg)
{
    struct sandbox_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        /* a lazy pool starts its first workers, then only what a caller
         * waits for */
        while (!p->stop && (!p->missing || (p->lazy && p->started && !p->waiting)))
            pthread_cond_wait(&p->refill, &p->lock);
        if (p->stop)
            break;
        p->missing--;
        pthread_mutex_unlock(&p->lock);
        struct pool_worker w = { .pid = 0 };
        int ret = worker_start(p, &w);
        pthread_mutex_lock(&p->lock);
        p->start_err = ret < 0 ? ret : 0;
        if (ret >= 0) {
            p->idle[p->nidle++] = w;
            p->started++;
        } else {
            p->missing++;
        }
        pthread_cond_broadcast(&p->cond);
        if (ret < 0) { /* (fork failing: out of processes or memory) */
            pthread_mutex_unlock(&p->lock);
            usleep(100000);
            pthread_mutex_lock(&p->lock);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int sandbox_pool_open(struct sandbox_pool **p_out, const char *name, int size,
                      const struct sandbox_limits *l)
{
    struct sandbox_pool *p;
    *p_out = NULL;
    RETURN_ERR_IF(size < 1 || size > 1024 || strlen(name) >= sizeof(p->name) - 16,
                  TP_ERR(EINVAL), "sandbox pool %s: size %d", name, size);
    if (!(p = tp_calloc(1, sizeof(*p))) || !(p->idle = tp_calloc((size_t)size, sizeof(*p->idle)))) {
        tp_free(p);
        return TP_ERR(ENOMEM);
    }
    snprintf(p->name, sizeof(p->name), "%s", name);
    if (l)
        p->lim = *l;
    else
        sandbox_limits_defaults(&p->lim);
    p->lim.label = NULL;
    p->size = size;
    p->missing = size;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    pthread_cond_init(&p->refill, NULL);
    if (pthread_create(&p->thread, NULL, refill_main, p)) {
        sandbox_pool_close(&p);
        return TP_ERR(EAGAIN);
    }
    p->thread_ok = 1;
    *p_out = p;
    return 0;
}

/* Closes a worker's pipes and reaps it (killed first when kill_it);
 * returns its wait status. */
static int worker_reap(struct pool_worker *w, int kill_it)
{
    int status = 0;
    if (kill_it)
        kill(w->pid, SIGKILL);
    close(w->in_fd);
    close(w->res_fd);
    sandbox_live_set(w->pid, 0); /* before the reap: a reaped pid may be reused */
    while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
        ;
    w->pid = 0;
    return status;
}

static void worker_discard(struct pool_worker *w)
{
    if (w->pid > 0)
        worker_reap(w, 1);
}

void sandbox_pool_close(struct sandbox_pool **pp)
{
    struct sandbox_pool *p = pp ? *pp : NULL;
    if (!p)
        return;
    if (p->thread_ok) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_signal(&p->refill);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    for (int i = 0; i < p->nidle; i++) {
        struct pool_worker *w = &p->idle[i];
        int status;
        /* end of input: the worker exits on its own */
        close(w->in_fd);
        close(w->res_fd);
        sandbox_live_set(w->pid, 0);
        while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    pthread_cond_destroy(&p->refill);
    tp_free(p->idle);
    tp_free(p);
    *pp = NULL;
}

void sandbox_pool_lazy(struct sandbox_pool *p)
{
    pthread_mutex_lock(&p->lock);
    p->lazy = 1;
    pthread_mutex_unlock(&p->lock);
}

int sandbox_pool_started(const struct sandbox_pool *p)
{
    return p ? p->started : 0;
}

static int worker_start(struct sandbox_pool *p, struct pool_worker *w)
{
    char arg[80];
    snprintf(arg, sizeof(arg), "%s" SANDBOX_POOL_MARK "%u", p->name, p->lim.flags);
    FORWARD_ERR(sandbox_spawn(arg, &p->lim, -1, &w->pid, &w->in_fd, &w->res_fd));
    w->uses = 0;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads exactly n bytes from fd before deadline (0: none): 0, 1 at end of
 * file, TP_ERR(ETIME) when out of time, another error. */
static int read_full(int fd, void *buf, size_t n, double deadline)
{
    uint8_t *b = buf;
    while (n) {
        struct pollfd pf = { fd, POLLIN, 0 };
        int wait_ms = -1;
        if (deadline) {
            double left = deadline - now_s();
            if (left <= 0)
                return TP_ERR(ETIME);
            wait_ms = (int)(left * 1000) + 1;
        }
        int r = poll(&pf, 1, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return TP_ERR(errno);
        if (r == 0)
            continue;
        ssize_t got = read(fd, b, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return TP_ERR(errno);
        if (got == 0)
            return 1;
        b += got;
        n -= (size_t)got;
    }
    return 0;
}

/* One request on worker w: 0 and the answer in out, or an error.  *keep is
 * set when the worker may serve again. */
static int worker_call(struct sandbox_pool *p, struct pool_worker *w, const void *arg, size_t len,
                       const char *label, struct tp_buf *out, int *keep)
{
    struct sandbox_wire_in hdr;
    struct sandbox_wire wire;
    uint64_t total = sizeof(hdr) + len;
    double deadline = p->lim.seconds ? now_s() + p->lim.seconds : 0;
    struct tp_buf rx = { 0 };
    int ret, status = 0;

    *keep = 0;
    memset(&hdr, 0, sizeof(hdr));
    hdr.flags = p->lim.flags;
    snprintf(hdr.label, sizeof(hdr.label), "%s", label ? label : "");
    if (sandbox_write_all(w->in_fd, &total, sizeof(total)) < 0 ||
        sandbox_write_all(w->in_fd, &hdr, sizeof(hdr)) < 0 ||
        sandbox_write_all(w->in_fd, arg, len) < 0) {
        ret = TP_ERR(EPIPE); /* it died before (or while) reading: see below */
        goto died;
    }
    ret = read_full(w->res_fd, &wire, sizeof(wire), deadline);
    if (ret == 0 && (ret = buf_reserve(&rx, (size_t)wire.detail_len + wire.payload_len)) >= 0)
        ret = read_full(w->res_fd, rx.data, (size_t)wire.detail_len + wire.payload_len, deadline);
    if (ret == TP_ERR(ETIME)) {
        worker_discard(w);
        tp_err_set("timed out after %d s", p->lim.seconds);
        goto end;
    }
    if (ret != 0)
        goto died;
    if (wire.detail_len)
        tp_err_set("%.*s", (int)wire.detail_len, (const char *)rx.data);
    else
        tp_err_clear();
    ret = wire.status;
    if (ret >= 0)
        ret = buf_set(out, rx.data + wire.detail_len, (size_t)wire.payload_len);
    /* a failure may have left anything behind in the worker: never reused */
    *keep = ret >= 0 && ++w->uses < POOL_MAX_USES;
    if (!*keep)
        worker_discard(w);
    goto end;
died:
    /* the worker is gone or going (end of its answer's pipe, or of its
     * input's): its exit status says why; anything else: stopped here */
    status = worker_reap(w, ret != 1 && ret != TP_ERR(EPIPE));
    ret = sandbox_status_error(status, label);
    if (ret == 0) {
        tp_err_set("pooled worker exited with status %d without a complete answer",
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        ret = TP_ERR_EXTERNAL;
    }
end:
    buf_free(&rx);
    return ret;
}

int sandbox_pool_run(struct sandbox_pool *p, const void *arg, size_t len, const char *label,
                     struct tp_buf *out)
{
    struct pool_worker w = { .pid = 0 };
    struct timespec until;
    int ret = 0, keep = 0;

    /* an idle worker; no worker for as long as a request may take: the
     * pool cannot start any (the error of the last try) */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += p->lim.seconds ? p->lim.seconds : 600;
    pthread_mutex_lock(&p->lock);
    p->waiting++;
    if (!p->nidle)
        pthread_cond_signal(&p->refill); /* (a lazy pool's replacement) */
    while (!p->nidle && ret == 0)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT)
            ret = p->start_err ? p->start_err : TP_ERR(EAGAIN);
    p->waiting--;
    if (p->nidle) {
        w = p->idle[--p->nidle];
        ret = 0;
    }
    pthread_mutex_unlock(&p->lock);
    if (!w.pid) {
        tp_err_set("sandbox pool %s: no worker could be started", p->name);
        return ret;
    }
    ret = worker_call(p, &w, arg, len, label, out, &keep);
    pthread_mutex_lock(&p->lock);
    if (keep) {
        p->idle[p->nidle++] = w;
        pthread_cond_signal(&p->cond);
    } else {
        p->missing++; /* the pool's thread starts its replacement */
        pthread_cond_signal(&p->refill);
    }
    pthread_mutex_unlock(&p->lock);
    return ret;
}
