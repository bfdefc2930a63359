#ifndef TP_SRC_SANDBOX_H
#define TP_SRC_SANDBOX_H

/* Runs codec work in a separate process with memory and time limits, so a
 * codec crash, hang or memory blow-up on one hostile file takes down only
 * that process: the caller gets an error and goes on.
 *
 * The worker is a fresh execution of this program (/proc/self/exe
 * --sandbox-worker NAME), not a bare fork: the runner is multi-threaded,
 * and a forked child of a threaded process may inherit locks held by other
 * threads.  The argument travels as plain bytes (no pointers) on the
 * worker's standard input; the answer comes back on its fd 3. */
#include <stddef.h>
#include <stdint.h>

#include "mem.h"

#define SANDBOX_LABEL 256
#define SANDBOX_NET 1u            /* the worker may open internet sockets (a network store) */
#define SANDBOX_WRITE 2u          /* may open with O_CREAT without O_EXCL (video: FFmpeg muxer) */
#define SANDBOX_EXIT_VIOLATION 86 /* exit status of a worker stopped by the filter */
#define SANDBOX_TMP_FD 4          /* the worker's private temp directory (also $TMPDIR) */

struct sandbox_limits {
    uint64_t mem_bytes; /* address-space limit of the worker; 0 = none (default 8 GiB) */
    int seconds;        /* wall-clock limit; 0 = none (default 600) */
    unsigned flags;     /* SANDBOX_NET; default 0 */
    const char *label;  /* the file worked on, for errors ("asset 3 blob ab12..."); borrowed */
};

void sandbox_limits_defaults(struct sandbox_limits *l);

/* The worker's job: arg is a copy of the bytes given to sandbox_run; fills
 * out (sent back) and returns 0, or a negative error code (sent back with
 * tp_err_detail()). */
typedef int (*sandbox_fn)(void *arg, struct tp_buf *out);

struct sandbox_entry {
    const char *name;
    sandbox_fn fn;
};

/* Runs the entry `name` in a worker process on a copy of arg (len bytes)
 * and returns its result: 0 with out filled, the entry's error (with its
 * detail message), TP_ERR(ETIME) when it ran out of time ("timed out
 * after N s"), TP_ERR(EINTR) when it was killed by SIGKILL (the OOM
 * killer, sandbox_kill_all), TP_ERR(ECANCELED) when SIGINT or SIGTERM
 * stopped it (^C to the process group, a service manager's stop: the
 * caller is being stopped too) or TP_ERR_EXTERNAL when it
 * died otherwise ("crashed: signal N").  Safe to
 * call from several threads.  The caller's process must ignore SIGPIPE
 * (a worker may die before reading its argument). */
int sandbox_run(const char *name, const void *arg, size_t len, const struct sandbox_limits *l,
                struct tp_buf *out);

/* A pool of resident workers for one entry (a server's decodes): the
 * same exec, limits and filter as sandbox_run(), but each worker serves
 * request after request, so no process starts per call.  A worker that
 * answers an error, crashes, times out (l->seconds per request) or has
 * served a few hundred requests is killed and replaced when next needed;
 * at most size run at once (more callers wait).  l->flags are the pool's
 * for its whole life (its filter is installed once).  *p is NULL-safe to
 * close; sandbox_pool_close() ends idle workers (their input closed) and
 * must not race with sandbox_pool_run(). */
struct sandbox_pool;
int sandbox_pool_open(struct sandbox_pool **p, const char *name, int size,
                      const struct sandbox_limits *l);
/* As sandbox_run(), on a worker of the pool; label names the file in
 * messages (borrowed).  Safe to call from several threads. */
int sandbox_pool_run(struct sandbox_pool *p, const void *arg, size_t len, const char *label,
                     struct tp_buf *out);
void sandbox_pool_close(struct sandbox_pool **p);
/* Makes p start a replacement only when a caller waits for a worker, not
 * as soon as one is discarded (a command working through files one at a
 * time: no worker started for nothing after its last file failed). */
void sandbox_pool_lazy(struct sandbox_pool *p);
/* Workers the pool has started so far. */
int sandbox_pool_started(const struct sandbox_pool *p);

/* Kills (SIGKILL) every worker running now, from any thread; their
 * sandbox_run calls return TP_ERR(EINTR).  Returns how many. */
int sandbox_kill_all(void);

/* The worker side, for main(): reads its argument, installs the system-call
 * filter (sandbox_filter.c), runs entries[name] and exits. */
int sandbox_worker_main(const char *name, const struct sandbox_entry *entries);

/* sandbox_filter.c: installs the seccomp allow-list in this process (a
 * worker, after it has read its argument): no execve, no new processes,
 * no ptrace, no internet socket unless SANDBOX_NET, no existing file opened
 * for writing.  A violation sends "sandbox: disallowed system call N
 * (name): label" on result_fd and exits with SANDBOX_EXIT_VIOLATION.
 * TP_SANDBOX_FILTER=0 leaves it off (to measure its cost). */
int sandbox_filter_install(unsigned flags, const char *label, int result_fd);
/* The label of the next violation report (a pooled worker's request);
 * NULL or "": none. */
void sandbox_filter_label(const char *label);

/* sandbox_filter.c: confines this process's file-system changes (creating,
 * writing, truncating, deleting, renaming files and directories) to
 * beneath dir with Landlock, when the kernel has it (else 0 and nothing:
 * the system-call filter alone).  dir NULL: no changes anywhere. */
int sandbox_confine_fs(const char *dir);

/* Sends one answer on fd (async-signal-safe): 0 or -1. */
int sandbox_send_result(int fd, int status, const char *detail, size_t detail_len,
                        const void *payload, size_t payload_len);

/* Test hook (TP_FAULT_SANDBOX=execve|socket|write|ptrace|fork|rename|unlink|
 * unlinkat[:ID]): the worker of asset ID (or every worker) behaves like a
 * hijacked decoder. */
void sandbox_fault_point(long long id);
/* The same for an ingest worker (TP_FAULT_SANDBOX=KIND:@S): the file
 * whose name contains S (or every file, without ":..."). */
void sandbox_fault_point_name(const char *name);

#endif /* TP_SRC_SANDBOX_H */
