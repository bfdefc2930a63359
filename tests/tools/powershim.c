/* powershim: an LD_PRELOAD library that records what a process tree made
 * durable and "loses power" at a chosen point, for tests/t_powerloss.sh.
 *
 * Every write/pwrite (regular files), fsync, fdatasync, rename(at/at2),
 * link(at), unlink(at), rmdir, mkdir(at) of every process that loads it
 * takes the next number of one counter shared by the whole tree (a file
 * mapped at start, before the runner's workers install their sandbox).
 *
 *   TP_PL_DIR=DIR      the journal: DIR/counter (16 zero bytes, made by the
 *                      test), DIR/data/, DIR/dirs/
 *   TP_PL_CRASH_AT=N   the Nth event does not happen: the power is lost
 *                      just before it (0: record and count only)
 *
 * What survives a power loss is what was made durable (the model of
 * SQLite's crash tests and ALICE, pessimistic): a file's data as of its
 * last fsync/fdatasync, a directory's entries as of its last fsync.  So at
 * every fsync of a file the shim copies its content to
 * DIR/data/DEV-INO.SEQ, at every fsync of a directory its entries to
 * DIR/dirs/DEV-INO.SEQ (lines "type ino mode name"), SEQ the event number.
 * At the crash the event number is marked in the counter; the process
 * exits 137 (as if killed), and every other process of the tree exits 137
 * at its next event, before it happens, recording nothing more.
 * tests/tools/powerloss_rebuild.py builds the disk as it would be after the
 * reboot from the home's image before the run plus that journal. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static _Atomic int64_t *shared; /* [0] events so far, [1] the crash's event (0: none) */
static long crash_at;
static char dir[1024];

__attribute__((constructor)) static void shim_init(void)
{
    const char *d = getenv("TP_PL_DIR"), *c = getenv("TP_PL_CRASH_AT");
    char p[1100];
    if (!d)
        return;
    snprintf(dir, sizeof(dir), "%s", d);
    crash_at = c ? atol(c) : 0;
    snprintf(p, sizeof(p), "%s/counter", dir);
    int fd = open(p, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    void *m = mmap(NULL, 16, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m != MAP_FAILED)
        shared = m;
}

static ssize_t raw_write(int fd, const void *b, size_t n)
{
    return syscall(SYS_write, fd, b, n);
}

/* Every counted event starts here: dies when the power is (or goes) out. */
static int64_t event(void)
{
    if (!shared)
        return 0;
    if (atomic_load(&shared[1]))
        _exit(137);
    int64_t n = atomic_fetch_add(&shared[0], 1) + 1;
    if (crash_at > 0 && n == crash_at) {
        atomic_store(&shared[1], n);
        _exit(137);
    }
    return n;
}

static int is_regular(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* A new journal file DIR/SUB/DEV-INO.SEQ (O_EXCL: the sandbox allows it). */
static int journal_open(const char *sub, const struct stat *st, int64_t seq)
{
    char p[1200];
    snprintf(p, sizeof(p), "%s/%s/%llx-%llx.%lld", dir, sub, (unsigned long long)st->st_dev,
             (unsigned long long)st->st_ino, (long long)seq);
    return open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
}

static void record_file(int fd, const struct stat *st, int64_t seq)
{
    char p[64], buf[65536];
    snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
    int in = open(p, O_RDONLY | O_CLOEXEC); /* fd may be write-only */
    if (in < 0)
        return;
    int out = journal_open("data", st, seq);
    if (out >= 0) {
        ssize_t k;
        off_t off = 0;
        while ((k = pread(in, buf, sizeof(buf), off)) > 0) {
            raw_write(out, buf, (size_t)k);
            off += k;
        }
        close(out);
    }
    close(in);
}

static void record_dir(int fd, const struct stat *st, int64_t seq)
{
    int d = dup(fd);
    DIR *dp = d >= 0 ? fdopendir(d) : NULL;
    struct dirent *e;
    char line[600];
    if (!dp) {
        if (d >= 0)
            close(d);
        return;
    }
    rewinddir(dp);
    int out = journal_open("dirs", st, seq);
    while (out >= 0 && (e = readdir(dp))) {
        struct stat es;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
            fstatat(fd, e->d_name, &es, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        char t = S_ISDIR(es.st_mode) ? 'd' : S_ISREG(es.st_mode) ? 'f' : 'o';
        int n = snprintf(line, sizeof(line), "%c %llx %o %s\n", t, (unsigned long long)es.st_ino,
                         (unsigned)(es.st_mode & 07777), e->d_name);
        raw_write(out, line, (size_t)n);
    }
    if (out >= 0)
        close(out);
    closedir(dp);
}

#define REAL(ret, name, ...)                                                   \
    static ret (*real)(__VA_ARGS__);                                          \
    if (!real)                                                                 \
        real = (ret(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name)

static int synced(int (*real)(int), int fd)
{
    int64_t seq = event();
    int r = real(fd);
    struct stat st;
    if (r == 0 && seq && !atomic_load(&shared[1]) && fstat(fd, &st) == 0) {
        if (S_ISREG(st.st_mode))
            record_file(fd, &st, seq);
        else if (S_ISDIR(st.st_mode))
            record_dir(fd, &st, seq);
    }
    return r;
}

int fsync(int fd)
{
    REAL(int, "fsync", int);
    return synced(real, fd);
}

int fdatasync(int fd)
{
    REAL(int, "fdatasync", int);
    return synced(real, fd);
}

ssize_t write(int fd, const void *b, size_t n)
{
    REAL(ssize_t, "write", int, const void *, size_t);
    if (n && shared && is_regular(fd))
        event();
    return real(fd, b, n);
}

ssize_t pwrite(int fd, const void *b, size_t n, off_t off)
{
    REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
    if (n && shared && is_regular(fd))
        event();
    return real(fd, b, n, off);
}

ssize_t pwrite64(int fd, const void *b, size_t n, off_t off)
{
    REAL(ssize_t, "pwrite64", int, const void *, size_t, off_t);
    if (n && shared && is_regular(fd))
        event();
    return real(fd, b, n, off);
}

ssize_t writev(int fd, const struct iovec *v, int n)
{
    REAL(ssize_t, "writev", int, const struct iovec *, int);
    if (n && shared && is_regular(fd))
        event();
    return real(fd, v, n);
}

#define EVENT(ret, name, call, ...)                                           \
    REAL(ret, name, __VA_ARGS__);                                              \
    event();                                                                   \
    return real call

int rename(const char *a, const char *b) { EVENT(int, "rename", (a, b), const char *, const char *); }
int renameat(int da, const char *a, int db, const char *b)
{
    EVENT(int, "renameat", (da, a, db, b), int, const char *, int, const char *);
}
int renameat2(int da, const char *a, int db, const char *b, unsigned f)
{
    EVENT(int, "renameat2", (da, a, db, b, f), int, const char *, int, const char *, unsigned);
}
int link(const char *a, const char *b) { EVENT(int, "link", (a, b), const char *, const char *); }
int linkat(int da, const char *a, int db, const char *b, int f)
{
    EVENT(int, "linkat", (da, a, db, b, f), int, const char *, int, const char *, int);
}
int unlink(const char *p) { EVENT(int, "unlink", (p), const char *); }
int unlinkat(int d, const char *p, int f) { EVENT(int, "unlinkat", (d, p, f), int, const char *, int); }
int rmdir(const char *p) { EVENT(int, "rmdir", (p), const char *); }
int mkdir(const char *p, mode_t m) { EVENT(int, "mkdir", (p, m), const char *, mode_t); }
int mkdirat(int d, const char *p, mode_t m) { EVENT(int, "mkdirat", (d, p, m), int, const char *, mode_t); }
