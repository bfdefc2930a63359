/* faultshim: an LD_PRELOAD library that makes the Nth file-system call of a
 * process fail, for tests/t_faults.sh.  Counted calls: write/pwrite (on
 * regular files only), fsync, fdatasync, rename, renameat, renameat2,
 * mkdir, mkdirat.
 *
 *   TP_SHIM_FAIL_AT=N   the Nth counted call fails (0: none, just count)
 *   TP_SHIM_MODE=enospc|eio|short   the failure: errno ENOSPC, EIO, or a
 *                       short write (half the bytes; other calls get EIO)
 *   TP_SHIM_COUNT=FILE  appends "pid count" at exit
 *   TP_SHIM_STICKY=1    every call from the Nth on fails (a full disk)
 *   TP_SHIM_SCOPE=all|parent|children   which processes fail: every one
 *                       (default), only the first that loaded the shim, or
 *                       only its descendants (the runner's encode and
 *                       verify workers; each counts its own calls)
 *   TP_SHIM_ONCE=FILE   only the first process to reach its Nth call fails
 *                       (it creates FILE): one transient fault, where the
 *                       others would each fail at their Nth call
 *
 * Every process counts its own calls from its start (a child exec'ed by
 * the runner starts from 0). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_long calls;
static long fail_at = -1;
static int mode; /* 0 enospc, 1 eio, 2 short */
static int sticky;
static int armed = 1; /* this process may fail (TP_SHIM_SCOPE) */
static int count_fd = -1; /* TP_SHIM_COUNT, opened at start: a sandboxed
                             worker may not open a file for writing later */

__attribute__((constructor)) static void shim_init(void)
{
    const char *s = getenv("TP_SHIM_FAIL_AT"), *m = getenv("TP_SHIM_MODE");
    fail_at = s ? atol(s) : 0;
    mode = m && !strcmp(m, "eio") ? 1 : m && !strcmp(m, "short") ? 2 : 0;
    sticky = getenv("TP_SHIM_STICKY") != NULL;
    /* the first process records itself; its descendants inherit the mark */
    const char *scope = getenv("TP_SHIM_SCOPE"), *root = getenv("TP_SHIM_ROOT");
    char me[32];
    snprintf(me, sizeof(me), "%ld", (long)getpid());
    if (!root) {
        setenv("TP_SHIM_ROOT", me, 1);
        root = me;
    }
    int is_root = !strcmp(root, me);
    if (scope && !strcmp(scope, "parent"))
        armed = is_root;
    else if (scope && !strcmp(scope, "children"))
        armed = !is_root;
    const char *f = getenv("TP_SHIM_COUNT");
    if (f)
        count_fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

__attribute__((destructor)) static void shim_fini(void)
{
    int fd = count_fd;
    if (fd < 0)
        return;
    char b[64];
    int n = snprintf(b, sizeof(b), "%ld %ld %s\n", (long)getpid(), (long)atomic_load(&calls),
                     armed ? "armed" : "-");
    ssize_t (*real)(int, const void *, size_t) = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (real)
        real(fd, b, (size_t)n);
    close(fd);
}

/* 1 when this call is to fail */
static int hit(void)
{
    long n = atomic_fetch_add(&calls, 1) + 1;
    if (!armed || fail_at <= 0 || !(n == fail_at || (sticky && n > fail_at)))
        return 0;
    const char *once = getenv("TP_SHIM_ONCE");
    if (once && n == fail_at) {
        int fd = open(once, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            armed = 0; /* another process had the fault */
            return 0;
        }
        close(fd);
    }
    return 1;
}

static int is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

#define REAL(ret, name, ...)                                                   \
    static ret (*real)(__VA_ARGS__);                                          \
    if (!real)                                                                 \
        real = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void *b, size_t n)
{
    REAL(ssize_t, "write", int, const void *, size_t);
    if (n && is_regular(fd) && hit()) {
        if (mode == 2 && n > 1)
            return real(fd, b, n / 2);
        errno = mode == 1 ? EIO : ENOSPC;
        return -1;
    }
    return real(fd, b, n);
}

static ssize_t do_pwrite(ssize_t (*real)(int, const void *, size_t, off_t), int fd, const void *b,
                         size_t n, off_t off)
{
    if (n && is_regular(fd) && hit()) {
        if (mode == 2 && n > 1)
            return real(fd, b, n / 2, off);
        errno = mode == 1 ? EIO : ENOSPC;
        return -1;
    }
    return real(fd, b, n, off);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
    REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
    return do_pwrite(real, fd, b, n, off);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
{
    REAL(ssize_t, "pwrite64", int, const void *, size_t, off_t);
    return do_pwrite(real, fd, b, n, off);
}

#define FAILABLE(ret, name, call, ...)                                        \
    REAL(ret, name, __VA_ARGS__);                                              \
    if (hit()) {                                                               \
        errno = mode == 0 ? ENOSPC : EIO;                                      \
        return -1;                                                             \
    }                                                                          \
    return real call

int fsync(int fd) { FAILABLE(int, "fsync", (fd), int); }
int fdatasync(int fd) { FAILABLE(int, "fdatasync", (fd), int); }
int rename(const char *a, const char *b) { FAILABLE(int, "rename", (a, b), const char *, const char *); }
int renameat(int da, const char *a, int db, const char *b)
{
    FAILABLE(int, "renameat", (da, a, db, b), int, const char *, int, const char *);
}
int renameat2(int da, const char *a, int db, const char *b, unsigned f)
{
    FAILABLE(int, "renameat2", (da, a, db, b, f), int, const char *, int, const char *, unsigned);
}
int mkdir(const char *p, mode_t m) { FAILABLE(int, "mkdir", (p, m), const char *, mode_t); }
int mkdirat(int d, const char *p, mode_t m) { FAILABLE(int, "mkdirat", (d, p, m), int, const char *, mode_t); }
