#ifndef TP_SRC_SANDBOX_H
#define TP_SRC_SANDBOX_H

/* Runs codec work in a child process with memory and time limits, so a
 * codec crash, hang or memory blow-up on one hostile file takes down only
 * that child: the caller gets an error and goes on. */
#include <stdint.h>

#include "mem.h"

struct sandbox_limits {
    uint64_t mem_bytes; /* address-space limit of the child; 0 = none (default 8 GiB) */
    int seconds;        /* wall-clock limit; 0 = none (default 600) */
};

void sandbox_limits_defaults(struct sandbox_limits *l);

/* The child's work: fills out (sent back to the parent) and returns 0, or
 * a negative error code (also sent back, with tp_err_detail()). */
typedef int (*sandbox_fn)(void *arg, struct tp_buf *out);

/* Forks, runs fn(arg, out) in the child, and returns its result: 0 with
 * out filled, fn's error (with its detail message), TP_ERR_LIMIT when the
 * child ran out of time ("timed out after N s") or TP_ERR_EXTERNAL when it
 * died ("crashed: signal N").  Safe to call from several threads. */
int sandbox_run(sandbox_fn fn, void *arg, const struct sandbox_limits *l, struct tp_buf *out);

#endif /* TP_SRC_SANDBOX_H */
