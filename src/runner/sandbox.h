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

struct sandbox_limits {
    uint64_t mem_bytes; /* address-space limit of the worker; 0 = none (default 8 GiB) */
    int seconds;        /* wall-clock limit; 0 = none (default 600) */
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
 * detail message), TP_ERR(ETIMEDOUT) when it ran out of time ("timed out
 * after N s"), TP_ERR(EINTR) when it was killed by SIGKILL (the OOM killer,
 * sandbox_kill_all) or TP_ERR_EXTERNAL when it died otherwise ("crashed:
 * signal N").  Safe to
 * call from several threads.  The caller's process must ignore SIGPIPE
 * (a worker may die before reading its argument). */
int sandbox_run(const char *name, const void *arg, size_t len, const struct sandbox_limits *l,
                struct tp_buf *out);

/* Kills (SIGKILL) every worker running now, from any thread; their
 * sandbox_run calls return TP_ERR(EINTR).  Returns how many. */
int sandbox_kill_all(void);

/* The worker side, for main(): runs entries[name] and exits. */
int sandbox_worker_main(const char *name, const struct sandbox_entry *entries);

#endif /* TP_SRC_SANDBOX_H */
