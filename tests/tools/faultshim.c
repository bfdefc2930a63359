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
 *
 * Only the process that first loads it with TP_SHIM_FAIL_AT counts; child
 * processes (the runner's workers) count on their own. */
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

__attribute__((constructor)) static void shim_init(void)
{
    const char *s = getenv("TP_SHIM_FAIL_AT"), *m = getenv("TP_SHIM_MODE");
    fail_at = s ? atol(s) : 0;
    mode = m && !strcmp(m, "eio") ? 1 : m && !strcmp(m, "short") ? 2 : 0;
    sticky = getenv("TP_SHIM_STICKY") != NULL;
}

__attribute__((destructor)) static void shim_fini(void)
{
    const char *f = getenv("TP_SHIM_COUNT");
    if (!f)
        return;
    int fd = open(f, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    char b[64];
    int n = snprintf(b, sizeof(b), "%ld %ld\n", (long)getpid(), (long)atomic_load(&calls));
    ssize_t (*real)(int, const void *, size_t) = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    if (real)
        real(fd, b, (size_t)n);
    close(fd);
}

/* 1 when this call is to fail */
static int hit(void)
{
    long n = atomic_fetch_add(&calls, 1) + 1;
    return fail_at > 0 && (n == fail_at || (sticky && n > fail_at));
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
