/* The system-call filter of a sandbox worker (see sandbox.h): a libseccomp
 * allow-list of what decoding, encoding and reading the store need.
 *
 * Allowed: memory, threads (clone with CLONE_THREAD only), time, signals to
 * itself, reading files, and creating new files only with O_CREAT|O_EXCL
 * (the store's temp file, libvips' temp files): an existing file is never
 * opened for writing.  Internet sockets only when the store is on the
 * network (SANDBOX_NET); AF_UNIX sockets fail with EACCES (glibc's nscd
 * probe), other families are a violation.  A violation (execve, ptrace,
 * fork, a socket, opening a file for writing, anything not listed) stops
 * the worker: the SIGSYS handler sends "sandbox: disallowed system call N"
 * with the file's label back on the result descriptor and exits.
 *
 * Names are never changed: rename, link, symlink, mkdir and rmdir stop the
 * worker, and so do unlink and unlinkat except unlinkat on the worker's
 * private temp directory (SANDBOX_TMP_FD: FFmpeg's muxer output is deleted
 * through it).  The encode worker hands its output to the parent, which
 * stores it.  Landlock (sandbox_confine_fs) adds what a filter cannot see,
 * the paths: an absolute path given to unlinkat, or a file opened for
 * writing, outside the temp directory fails with EACCES. */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "sandbox.h"

/* set before the filter is loaded; read by the SIGSYS handler */
static char trap_label[SANDBOX_LABEL];
static int trap_fd = -1;

static const int allowed[] = {
    /* I/O on descriptors it has */
    SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev), SCMP_SYS(pread64),
    SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev), SCMP_SYS(preadv2),
    SCMP_SYS(pwritev2), SCMP_SYS(lseek), SCMP_SYS(close), SCMP_SYS(close_range), SCMP_SYS(dup),
    SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(fstatfs),
    SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate), SCMP_SYS(fallocate),
    SCMP_SYS(fchmod), SCMP_SYS(fadvise64), SCMP_SYS(flock), SCMP_SYS(sendfile),
    SCMP_SYS(copy_file_range), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
    SCMP_SYS(pselect6), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait), SCMP_SYS(eventfd2), SCMP_SYS(pipe), SCMP_SYS(pipe2),
    /* names, read-only */
    SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(statfs),
    SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
    SCMP_SYS(readlinkat), SCMP_SYS(getdents64), SCMP_SYS(getcwd),
    /* memory */
    SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect),
    SCMP_SYS(madvise), SCMP_SYS(msync), SCMP_SYS(mincore), SCMP_SYS(mlock), SCMP_SYS(munlock),
    SCMP_SYS(membarrier), SCMP_SYS(memfd_create),
    /* NUMA placement of its own memory (x265 binds its thread pool through libnuma) */
    SCMP_SYS(get_mempolicy), SCMP_SYS(set_mempolicy), SCMP_SYS(mbind),
    /* threads, signals to itself, scheduling */
    SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(get_robust_list), SCMP_SYS(rseq),
    SCMP_SYS(set_tid_address), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
    SCMP_SYS(tkill), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
    SCMP_SYS(sched_setaffinity), SCMP_SYS(sched_getparam), SCMP_SYS(sched_getscheduler),
    SCMP_SYS(sched_get_priority_max), SCMP_SYS(sched_get_priority_min), SCMP_SYS(getpriority),
    SCMP_SYS(setpriority), SCMP_SYS(prctl), SCMP_SYS(arch_prctl), SCMP_SYS(exit),
    SCMP_SYS(exit_group), SCMP_SYS(restart_syscall), SCMP_SYS(pause),
    /* identity, limits, time, randomness */
    SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid), SCMP_SYS(geteuid),
    SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getresuid), SCMP_SYS(getresgid),
    SCMP_SYS(getgroups), SCMP_SYS(getpgrp), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
    SCMP_SYS(getrusage), SCMP_SYS(sysinfo), SCMP_SYS(uname), SCMP_SYS(umask),
    SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
    SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(getrandom),
    SCMP_SYS(times),
    /* sockets it already has (internet sockets are gated at socket(2)) */
    SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt), SCMP_SYS(getsockname),
    SCMP_SYS(getpeername), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
    SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
    SCMP_SYS(socketpair), SCMP_SYS(bind),
};

static const struct { int nr; const char *name; } known[] = {
    { SCMP_SYS(execve), "execve" }, { SCMP_SYS(execveat), "execveat" },
    { SCMP_SYS(socket), "socket" },  { SCMP_SYS(ptrace), "ptrace" },
    { SCMP_SYS(fork), "fork" },      { SCMP_SYS(vfork), "vfork" },
    { SCMP_SYS(clone), "clone" },    { SCMP_SYS(open), "open" },
    { SCMP_SYS(openat), "openat" },  { SCMP_SYS(creat), "creat" },
    { SCMP_SYS(kill), "kill" },      { SCMP_SYS(truncate), "truncate" },
    { SCMP_SYS(chmod), "chmod" },    { SCMP_SYS(ioctl), "ioctl" },
    { SCMP_SYS(rename), "rename" },  { SCMP_SYS(renameat), "renameat" },
    { SCMP_SYS(renameat2), "renameat2" }, { SCMP_SYS(unlink), "unlink" },
    { SCMP_SYS(unlinkat), "unlinkat" }, { SCMP_SYS(link), "link" },
    { SCMP_SYS(linkat), "linkat" },  { SCMP_SYS(symlink), "symlink" },
    { SCMP_SYS(symlinkat), "symlinkat" }, { SCMP_SYS(mkdir), "mkdir" },
    { SCMP_SYS(mkdirat), "mkdirat" }, { SCMP_SYS(rmdir), "rmdir" },
    { SCMP_SYS(utimensat), "utimensat" },
};

/* async-signal-safe: no stdio, no malloc */
static size_t put_str(char *b, size_t at, size_t cap, const char *s)
{
    while (*s && at + 1 < cap)
        b[at++] = *s++;
    b[at] = '\0';
    return at;
}

static size_t put_num(char *b, size_t at, size_t cap, long v)
{
    char t[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do
        t[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < 23);
    if (v < 0 && at + 1 < cap)
        b[at++] = '-';
    while (n && at + 1 < cap)
        b[at++] = t[--n];
    b[at] = '\0';
    return at;
}

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    char msg[SANDBOX_LABEL + 128];
    size_t n = put_str(msg, 0, sizeof(msg), "sandbox: disallowed system call ");
    n = put_num(msg, n, sizeof(msg), si->si_syscall);
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].nr == si->si_syscall) {
            n = put_str(msg, n, sizeof(msg), " (");
            n = put_str(msg, n, sizeof(msg), known[i].name);
            n = put_str(msg, n, sizeof(msg), ")");
        }
    if (trap_label[0]) {
        n = put_str(msg, n, sizeof(msg), ": ");
        n = put_str(msg, n, sizeof(msg), trap_label);
    }
    sandbox_send_result(trap_fd, TP_ERR_EXTERNAL, msg, n, NULL, 0);
    _exit(SANDBOX_EXIT_VIOLATION);
}

/* Opens allowed: read-only, or creating a new file (O_CREAT|O_EXCL, which
 * also refuses to follow a symlink); the default action traps the rest.
 * arg = which argument holds the flags (open: 1, openat: 2). */
static int add_open_rules(scmp_filter_ctx f, int nr, unsigned arg, unsigned flags)
{
    static const unsigned ok[] = {
        O_RDONLY, O_RDONLY | O_CREAT, O_RDONLY | O_EXCL, O_RDONLY | O_CREAT | O_EXCL,
        O_WRONLY | O_CREAT | O_EXCL, O_RDWR | O_CREAT | O_EXCL,
    };
    const scmp_datum_t mask = O_ACCMODE | O_CREAT | O_EXCL;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1, SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, ok[i]));
        if (r < 0)
            return r;
    }
    /* SANDBOX_WRITE: FFmpeg's muxer reopens its temp file by name
     * (O_WRONLY|O_CREAT|O_TRUNC); still never without O_CREAT */
    if (flags & SANDBOX_WRITE)
        for (unsigned acc = O_WRONLY; acc <= O_RDWR; acc++) {
            int r = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1,
                                     SCMP_CMP(arg, SCMP_CMP_MASKED_EQ, mask, acc | O_CREAT));
            if (r < 0)
                return r;
        }
    return 0;
}

static int build(scmp_filter_ctx f, unsigned flags)
{
    int r;
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, allowed[i], 0)) < 0)
            return r;
    if ((r = add_open_rules(f, SCMP_SYS(open), 1, flags)) < 0 ||
        (r = add_open_rules(f, SCMP_SYS(openat), 2, flags)) < 0)
        return r;
    /* openat2 hides its flags in a struct: glibc falls back to openat */
    if ((r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0)) < 0)
        return r;
    /* threads only: clone3 passes flags in a struct (glibc falls back to clone) */
    if ((r = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0 ||
        (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD))) < 0)
        return r;
    /* deleting a temp file: only through the private temp directory */
    if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 1,
                              SCMP_A0(SCMP_CMP_EQ, SANDBOX_TMP_FD))) < 0)
        return r;
    /* ioctl: everything a library asks of its descriptors, but never
     * pushing input into a terminal */
    if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
                              SCMP_A1(SCMP_CMP_NE, TIOCSTI))) < 0)
        return r;
    /* sockets */
    if ((r = seccomp_rule_add(f, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1,
                              SCMP_A0(SCMP_CMP_EQ, AF_UNIX))) < 0)
        return r;
    if (flags & SANDBOX_NET)
        if ((r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, AF_INET))) < 0 ||
            (r = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
                                  SCMP_A0(SCMP_CMP_EQ, AF_INET6))) < 0)
            return r;
    return 0;
}

/* (Landlock ABI 3's right, missing from older kernel headers) */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif

int sandbox_confine_fs(const char *dir)
{
    const char *off = getenv("TP_SANDBOX_FILTER");
    if (off && !strcmp(off, "0"))
        return 0;
    long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 1) {
        tp_log(TP_LOG_DEBUG, "sandbox: no Landlock in this kernel (%s)", strerror(errno));
        return 0;
    }
    const uint64_t file_rights = LANDLOCK_ACCESS_FS_WRITE_FILE |
                                 (abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0);
    struct landlock_ruleset_attr ra = {
        .handled_access_fs = file_rights | LANDLOCK_ACCESS_FS_REMOVE_DIR |
                             LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |
                             LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |
                             LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |
                             LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM |
                             (abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0),
    };
    int rs = (int)syscall(SYS_landlock_create_ruleset, &ra, sizeof(ra), 0);
    RETURN_ERR_IF(rs < 0, TP_ERR(errno), "sandbox: landlock: %s", strerror(errno));
    int ret = 0;
    /* beneath the temp directory: anything; /dev/null: writing */
    const char *paths[] = { dir, "/dev/null" };
    for (int i = 0; i < 2 && ret == 0; i++) {
        if (!paths[i])
            continue;
        struct landlock_path_beneath_attr pb = {
            .allowed_access = i == 0 ? ra.handled_access_fs : file_rights,
            .parent_fd = open(paths[i], O_PATH | O_CLOEXEC),
        };
        if (pb.parent_fd < 0 ||
            syscall(SYS_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
            tp_err_set("sandbox: landlock rule for %s: %s", paths[i], strerror(errno));
            ret = TP_ERR_EXTERNAL;
        }
        if (pb.parent_fd >= 0)
            close(pb.parent_fd);
    }
    if (ret == 0 && (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                     syscall(SYS_landlock_restrict_self, rs, 0) < 0)) {
        tp_err_set("sandbox: landlock: %s", strerror(errno));
        ret = TP_ERR_EXTERNAL;
    }
    close(rs);
    return ret;
}

void sandbox_filter_label(const char *label)
{
    /* written between requests, never while the handler can run */
    snprintf(trap_label, sizeof(trap_label), "%s", label ? label : "");
}

int sandbox_filter_install(unsigned flags, const char *label, int result_fd)
{
    const char *off = getenv("TP_SANDBOX_FILTER");
    if (off && !strcmp(off, "0"))
        return 0; /* measurement knob: the cost of the filter (docs/reliability.md) */
    snprintf(trap_label, sizeof(trap_label), "%s", label ? label : "");
    trap_fd = result_fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) < 0)
        return TP_ERR(errno);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    scmp_filter_ctx f = seccomp_init(SCMP_ACT_TRAP);
    RETURN_ERR_IF(!f, TP_ERR(ENOMEM), "sandbox: cannot create the filter");
    int r = build(f, flags);
    if (r >= 0)
        r = seccomp_load(f);
    seccomp_release(f);
    RETURN_ERR_IF(r < 0, TP_ERR_EXTERNAL, "sandbox: cannot install the filter: %s", strerror(-r));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    tp_log(TP_LOG_DEBUG, "sandbox: filter installed in %.0f us",
           (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3);
    return 0;
}

/* ---- the hostile-behaviour fault point ----------------------------------
 * TP_FAULT_SANDBOX=KIND[:ID]   the worker (of asset ID, or every one) tries
 * TP_FAULT_SANDBOX=KIND:@S     the ingest worker of a file whose name
 *                              contains S (the CLI's ingest, serve) tries
 *   execve  run /bin/sh
 *   socket  open an internet socket
 *   write   open TP_FAULT_SANDBOX_PATH (an existing file) for writing
 *   ptrace  attach to its parent
 *   fork    start a process
 *   rename  rename TP_FAULT_SANDBOX_PATH (a blob in the store)
 *   unlink  delete it
 *   unlinkat  delete it by absolute path through the temp directory's
 *           descriptor (allowed by the filter, refused by Landlock)
 * Each must be stopped by the filter; if it is not, the worker reports
 * "sandbox: escaped" so the test fails. */
static void fault_act(const char *f, size_t kl)
{
    int escaped = 0;
    if (kl == 6 && !strncmp(f, "execve", 6)) {
        char *const argv[] = { (char *)"sh", (char *)"-c", (char *)"exit 0", NULL };
        execv("/bin/sh", argv);
        escaped = 1;
    } else if (kl == 6 && !strncmp(f, "socket", 6)) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        escaped = s >= 0;
    } else if (kl == 5 && !strncmp(f, "write", 5)) {
        const char *p = getenv("TP_FAULT_SANDBOX_PATH");
        int fd = open(p ? p : "/dev/null", O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0)
            escaped = write(fd, "escaped\n", 8) == 8;
    } else if (kl == 6 && !strncmp(f, "ptrace", 6)) {
        escaped = syscall(SCMP_SYS(ptrace), 16 /* PTRACE_ATTACH */, getppid(), 0, 0) == 0;
    } else if (kl == 6 && !strncmp(f, "rename", 6)) {
        const char *p = getenv("TP_FAULT_SANDBOX_PATH");
        char to[4200];
        snprintf(to, sizeof(to), "%s.moved", p ? p : "/tmp/x");
        escaped = rename(p ? p : "/tmp/x", to) == 0;
    } else if (kl == 6 && !strncmp(f, "unlink", 6)) {
        const char *p = getenv("TP_FAULT_SANDBOX_PATH");
        escaped = unlink(p ? p : "/tmp/x") == 0;
    } else if (kl == 8 && !strncmp(f, "unlinkat", 8)) {
        /* through the one descriptor the filter lets unlinkat use, with
         * an absolute path (which ignores it): Landlock's part */
        const char *p = getenv("TP_FAULT_SANDBOX_PATH");
        escaped = unlinkat(SANDBOX_TMP_FD, p ? p : "/tmp/x", 0) == 0;
        if (!escaped)
            tp_log(TP_LOG_ERROR, "sandbox: unlinkat refused: %s", strerror(errno));
    } else if (kl == 4 && !strncmp(f, "fork", 4)) {
        pid_t p = fork();
        if (p == 0)
            _exit(0);
        escaped = p > 0;
    }
    if (escaped)
        tp_log(TP_LOG_ERROR, "sandbox: escaped (%.*s)", (int)kl, f);
}

void sandbox_fault_point(long long id)
{
    const char *f = getenv("TP_FAULT_SANDBOX");
    if (!f || !*f)
        return;
    const char *colon = strchr(f, ':');
    if (colon && (colon[1] == '@' || atoll(colon + 1) != id))
        return;
    fault_act(f, colon ? (size_t)(colon - f) : strlen(f));
}

void sandbox_fault_point_name(const char *name)
{
    const char *f = getenv("TP_FAULT_SANDBOX");
    if (!f || !*f)
        return;
    const char *colon = strchr(f, ':');
    if (colon && (colon[1] != '@' || !colon[2] || !strstr(name, colon + 2)))
        return;
    fault_act(f, colon ? (size_t)(colon - f) : strlen(f));
}
