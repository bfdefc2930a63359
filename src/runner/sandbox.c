/* Process isolation for codec work (see sandbox.h).  Wire format on fd 3:
 * a header (status, detail length, payload length), the detail text, the
 * payload. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fileio.h"
#include "tplimits.h"
#include "err.h"
#include "log.h"
#include "sandbox.h"
#include "sandbox_int.h"

#define RESULT_FD 3

/* The workers running now, so that a stopping runner can kill them. */
#define MAX_LIVE 128
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t live[MAX_LIVE];

void sandbox_live_set(pid_t old, pid_t new)
{
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] == old) {
            live[i] = new;
            break;
        }
    pthread_mutex_unlock(&live_lock);
}

int sandbox_kill_all(void)
{
    int n = 0;
    pthread_mutex_lock(&live_lock);
    for (int i = 0; i < MAX_LIVE; i++)
        if (live[i] > 0 && kill(live[i], SIGKILL) == 0)
            n++;
    pthread_mutex_unlock(&live_lock);
    return n;
}

void sandbox_limits_defaults(struct sandbox_limits *l)
{
    const struct tp_limits *g = tplimits_get(); /* config file, environment, else built in */
    l->mem_bytes = g->memory_bytes;
    l->seconds = (int)g->seconds;
    l->flags = 0;
    l->label = NULL;
}

int sandbox_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Reads exactly n bytes: 0, 1 at a clean end of input, -1 on error. */
static int read_exact(int fd, void *buf, size_t n)
{
    uint8_t *b = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r == 0 && got == 0 ? 1 : -1;
        got += (size_t)r;
    }
    return 0;
}

/* Empties and removes a worker's temp directory (it makes no
 * subdirectories: mkdir is not allowed), and closes dfd. */
static void tmpdir_remove(int dfd, const char *path)
{
    int d2 = dup(dfd);
    DIR *d = d2 >= 0 ? fdopendir(d2) : NULL;
    struct dirent *e;
    if (d) {
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dfd, e->d_name, 0);
        closedir(d);
    } else if (d2 >= 0) {
        close(d2);
    }
    close(dfd);
    if (rmdir(path) < 0)
        tp_log(TP_LOG_WARN, "sandbox: cannot remove %s: %s", path, strerror(errno));
}

/* The temp directories of processes that died without removing theirs
 * (kill -9, power loss): tierpress-worker-PID-XXXXXX in base, ours, whose
 * PID runs nothing now.  Directories of live PIDs (a process that reused
 * the PID keeps one it did not make: harmless) and of other users are left
 * alone.  Once per process, before its first worker. */
static const char *tmp_base(void)
{
    const char *base = getenv("TMPDIR");
    return base && *base ? base : "/tmp";
}

static void tmpdir_sweep(void)
{
    const char *base = tmp_base();
    DIR *d = opendir(base);
    struct dirent *e;
    int n = 0;
    if (!d)
        return;
    while ((e = readdir(d))) {
        static const char pre[] = "tierpress-worker-";
        char *end;
        if (strncmp(e->d_name, pre, sizeof(pre) - 1))
            continue;
        long pid = strtol(e->d_name + sizeof(pre) - 1, &end, 10);
        if (end == e->d_name + sizeof(pre) - 1 || *end != '-' || pid <= 0 || pid == (long)getpid() ||
            kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        char path[SANDBOX_TMPDIR_MAX];
        if (fd < 0)
            continue;
        if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
            (size_t)snprintf(path, sizeof(path), "%s/%s", base, e->d_name) >= sizeof(path)) {
            close(fd);
            continue;
        }
        tmpdir_remove(fd, path); /* closes fd */
        n++;
    }
    closedir(d);
    if (n)
        tp_log(TP_LOG_INFO, "sandbox: removed %d temp director%s of workers whose process died",
               n, n == 1 ? "y" : "ies");
}

/* A pooled worker (sandbox_pool.c): the filter once, then requests (a
 * length, the header, the argument) answered one after another until the
 * end of its input. */
static int pool_worker_main(sandbox_fn fn, unsigned flags)
{
    struct tp_buf arg = { 0 }, out = { 0 };
    uint64_t len;
    int ret;
    /* no temp directory: a pooled worker creates, truncates and deletes
     * no file anywhere (libvips keeps big images in memory) */
    setenv("VIPS_DISC_THRESHOLD", "1024g", 1);
    if (sandbox_confine_fs(NULL) < 0 || sandbox_filter_install(flags, NULL, RESULT_FD) < 0)
        return 3;
    while ((ret = read_exact(0, &len, sizeof(len))) == 0) {
        struct sandbox_wire_in hdr;
        if (len < sizeof(hdr) || len > (64u << 20) || buf_reserve(&arg, (size_t)len) < 0 ||
            read_exact(0, arg.data, (size_t)len) != 0)
            return 3;
        memcpy(&hdr, arg.data, sizeof(hdr));
        hdr.label[SANDBOX_LABEL - 1] = '\0';
        /* a violation names this request's file, not the first one's */
        sandbox_filter_label(hdr.label);
        tp_err_clear();
        out.len = 0;
        ret = fn(arg.data + sizeof(hdr), &out);
        const char *d = tp_err_detail();
        if (sandbox_send_result(RESULT_FD, ret < 0 ? ret : 0, d, strlen(d), out.data,
                                ret < 0 ? 0 : out.len) < 0)
            return 3;
    }
    buf_free(&arg);
    buf_free(&out);
#ifdef __SANITIZE_ADDRESS__
    _exit(ret == 1 ? 0 : 3); /* (as below) */
#endif
    return ret == 1 ? 0 : 3;
}

int sandbox_worker_main(const char *name, const struct sandbox_entry *entries)
{
    struct tp_buf arg = { 0 }, out = { 0 };
    sandbox_fn fn = NULL;
    const char *mark = strstr(name, SANDBOX_POOL_MARK);
    size_t nlen = mark ? (size_t)(mark - name) : strlen(name);
    for (int i = 0; entries[i].name; i++)
        if (strlen(entries[i].name) == nlen && !strncmp(entries[i].name, name, nlen))
            fn = entries[i].fn;
    if (!fn)
        return 2;
    if (mark)
        return pool_worker_main(fn, (unsigned)strtoul(mark + strlen(SANDBOX_POOL_MARK), NULL, 10));
    for (;;) {
        if (buf_reserve(&arg, arg.len + 65536) < 0)
            return 3;
        ssize_t n = read(0, arg.data + arg.len, arg.cap - arg.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 3;
        if (n == 0)
            break;
        arg.len += (size_t)n;
    }
    struct sandbox_wire_in hdr;
    if (arg.len < sizeof(hdr))
        return 3;
    memcpy(&hdr, arg.data, sizeof(hdr));
    hdr.label[SANDBOX_LABEL - 1] = '\0';
    hdr.tmpdir[SANDBOX_TMPDIR_MAX - 1] = '\0';
    tp_err_clear();
    /* temp files (FFmpeg's muxer output) go to the private directory and
     * are deleted through its descriptor; libvips keeps big images in
     * memory rather than in temp files it would unlink by name (the
     * address-space limit still bounds it) */
    if (hdr.tmpdir[0]) {
        setenv("TMPDIR", hdr.tmpdir, 1);
        file_private_tmp_set(SANDBOX_TMP_FD, hdr.tmpdir);
    }
    setenv("VIPS_DISC_THRESHOLD", "1024g", 1);
    int ret = sandbox_confine_fs(hdr.tmpdir[0] ? hdr.tmpdir : NULL);
    if (ret == 0)
        ret = sandbox_filter_install(hdr.flags, hdr.label, RESULT_FD);
    if (ret == 0)
        ret = fn(arg.data + sizeof(hdr), &out);
    const char *d = tp_err_detail();
    if (sandbox_send_result(RESULT_FD, ret < 0 ? ret : 0, d, strlen(d), out.data,
                            ret < 0 ? 0 : out.len) < 0)
        return 3;
#ifdef __SANITIZE_ADDRESS__
    /* LeakSanitizer's exit check needs ptrace and a new process, which the
     * filter forbids: workers end here in sanitizer builds */
    _exit(0);
#endif
    return 0;
}

int sandbox_send_result(int fd, int status, const char *detail, size_t detail_len,
                        const void *payload, size_t payload_len)
{
    struct sandbox_wire w;
    w.status = status;
    w.detail_len = (uint32_t)detail_len;
    w.payload_len = payload_len;
    if (sandbox_write_all(fd, &w, sizeof(w)) < 0 || sandbox_write_all(fd, detail, detail_len) < 0 ||
        (payload_len && sandbox_write_all(fd, payload, payload_len) < 0))
        return -1;
    return 0;
}

int sandbox_spawn(const char *arg, const struct sandbox_limits *l, int tmp_fd, pid_t *pid_out,
                  int *in_fd, int *res_fd)
{
    int in[2], res[2], ret;
    int quiet = log_get_level() < TP_LOG_DEBUG;
    pid_t pid, parent = getpid();

    (void)l; /* (only the memory limit reads it, not in sanitizer builds) */
    if (pipe2(in, O_CLOEXEC) < 0)
        return TP_ERR(errno);
    if (pipe2(res, O_CLOEXEC) < 0) {
        ret = TP_ERR(errno);
        close(in[0]);
        close(in[1]);
        return ret;
    }
    int null = quiet ? open("/dev/null", O_WRONLY | O_CLOEXEC) : -1;
    pid = fork();
    if (pid == 0) {
        /* async-signal-safe calls only until exec */
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with a runner killed by -9 */
        if (getppid() != parent)
            _exit(4);
#ifndef __SANITIZE_ADDRESS__
        /* (AddressSanitizer reserves terabytes of address space for its
         * shadow memory, so sanitizer builds run without this limit.) */
        if (l->mem_bytes) {
            struct rlimit r = { l->mem_bytes, l->mem_bytes };
            setrlimit(RLIMIT_AS, &r);
        }
#endif
        struct rlimit core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &core);
        if (dup2(in[0], 0) < 0 || dup2(res[1], RESULT_FD) < 0 ||
            (tmp_fd >= 0 && dup2(tmp_fd, SANDBOX_TMP_FD) < 0))
            _exit(5);
        /* Codec libraries print their own diagnostics to stderr (libjxl,
         * x265); errors come back on fd 3 instead.  Kept with TP_LOG=debug. */
        if (null >= 0)
            dup2(null, 2);
        char *const argv[] = { (char *)"tierpress", (char *)"--sandbox-worker", (char *)arg, NULL };
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    if (pid > 0)
        sandbox_live_set(0, pid);
    if (null >= 0)
        close(null);
    close(in[0]);
    close(res[1]);
    if (pid < 0) {
        ret = TP_ERR(errno);
        close(in[1]);
        close(res[0]);
        return ret;
    }
    *pid_out = pid;
    *in_fd = in[1];
    *res_fd = res[0];
    return 0;
}

int sandbox_status_error(int status, const char *label)
{
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM)) {
        /* a stop asked from outside (^C to the process group, a service
         * manager's SIGTERM): never the job's fault, whether or not our own
         * handler has run yet (the child may die first) */
        tp_err_set("stopped: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        return TP_ERR(ECANCELED);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
        /* killed from outside (the OOM killer, sandbox_kill_all), not a crash */
        tp_err_set("killed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        return TP_ERR(EINTR);
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
        tp_err_set("sandbox: disallowed system call%s%s", label ? ": " : "", label ? label : "");
        return TP_ERR_EXTERNAL;
    }
    if (WIFSIGNALED(status)) {
        tp_err_set("crashed: signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
        return TP_ERR_EXTERNAL;
    }
    return 0;
}

int sandbox_run(const char *name, const void *arg, size_t len, const struct sandbox_limits *l,
                struct tp_buf *out)
{
    struct sandbox_limits def;
    struct tp_buf rx = { 0 };
    int in_fd, res_fd, ret = 0, status = 0, timed_out = 0;
    pid_t pid;

    if (!l) {
        sandbox_limits_defaults(&def);
        l = &def;
    }
    /* the worker's private temp directory: the only place it may create,
     * truncate or delete files; removed with whatever it left */
    char tmpdir[SANDBOX_TMPDIR_MAX];
    const char *base = tmp_base();
    static pthread_once_t swept = PTHREAD_ONCE_INIT;
    pthread_once(&swept, tmpdir_sweep);
    /* (named by our PID: a later process sweeps it if we die holding it) */
    RETURN_ERR_IF((size_t)snprintf(tmpdir, sizeof(tmpdir), "%s/tierpress-worker-%ld-XXXXXX", base,
                                   (long)getpid()) >= sizeof(tmpdir),
                  TP_ERR(ENAMETOOLONG), "sandbox: TMPDIR %s is too long", base);
    RETURN_ERR_IF(!mkdtemp(tmpdir), TP_ERR(errno), "sandbox: cannot make a temp directory in %s: %s",
                  base, strerror(errno));
    int tfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (tfd >= 0 && tfd <= SANDBOX_TMP_FD) { /* above the worker's fixed descriptors */
        int hi = fcntl(tfd, F_DUPFD_CLOEXEC, 10);
        close(tfd);
        tfd = hi;
    }
    if (tfd < 0) {
        ret = TP_ERR(errno);
        rmdir(tmpdir);
        return ret;
    }
    if ((ret = sandbox_spawn(name, l, tfd, &pid, &in_fd, &res_fd)) < 0) {
        tmpdir_remove(tfd, tmpdir);
        return ret;
    }
    /* the argument is small (a few KiB): it fits the pipe.  (A worker
     * that died early makes this fail with EPIPE: callers ignore SIGPIPE,
     * see sandbox.h.) */
    struct sandbox_wire_in hdr;
    memset(&hdr, 0, sizeof(hdr));
    hdr.flags = l->flags;
    snprintf(hdr.label, sizeof(hdr.label), "%s", l->label ? l->label : "");
    snprintf(hdr.tmpdir, sizeof(hdr.tmpdir), "%s", tmpdir);
    int wr = sandbox_write_all(in_fd, &hdr, sizeof(hdr));
    if (wr == 0)
        wr = sandbox_write_all(in_fd, arg, len);
    close(in_fd);
    double deadline = l->seconds ? now_s() + l->seconds : 0;
    for (;;) {
        struct pollfd p = { res_fd, POLLIN, 0 };
        int wait_ms = -1;
        if (deadline) {
            double left = deadline - now_s();
            if (left <= 0) {
                timed_out = 1;
                kill(pid, SIGKILL);
                break;
            }
            wait_ms = (int)(left * 1000) + 1;
        }
        int r = poll(&p, 1, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            continue;
        if (r < 0) {
            ret = TP_ERR(errno);
            kill(pid, SIGKILL);
            break;
        }
        if (buf_reserve(&rx, rx.len + 65536) < 0) {
            ret = TP_ERR(ENOMEM);
            kill(pid, SIGKILL);
            break;
        }
        ssize_t n = read(res_fd, rx.data + rx.len, rx.cap - rx.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        rx.len += (size_t)n;
    }
    close(res_fd);
    sandbox_live_set(pid, 0); /* before the reap: a reaped pid may be reused */
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    tmpdir_remove(tfd, tmpdir);
    if (ret < 0)
        goto end;
    if (timed_out) {
        tp_err_set("timed out after %d s", l->seconds);
        ret = TP_ERR(ETIME);
        goto end;
    }
    if ((ret = sandbox_status_error(status, l->label)) < 0)
        goto end;
    struct sandbox_wire w;
    if (wr < 0 || rx.len < sizeof(w) ||
        (memcpy(&w, rx.data, sizeof(w)), rx.len != sizeof(w) + w.detail_len + w.payload_len)) {
        tp_err_set("worker exited with status %d without a complete answer",
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    if (w.detail_len)
        tp_err_set("%.*s", (int)w.detail_len, (const char *)rx.data + sizeof(w));
    else
        tp_err_clear();
    ret = w.status;
    if (ret >= 0)
        ret = buf_set(out, rx.data + sizeof(w) + w.detail_len, (size_t)w.payload_len);
end:
    buf_free(&rx);
    return ret;
}
