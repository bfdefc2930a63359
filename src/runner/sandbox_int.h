#ifndef TP_SRC_SANDBOX_INT_H
#define TP_SRC_SANDBOX_INT_H

/* Shared by sandbox.c (one worker per call) and sandbox_pool.c (resident
 * workers); nothing else includes it. */
#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"

/* The answer's frame on fd 3: this header, the detail text, the payload. */
struct sandbox_wire {
    int32_t status;
    uint32_t detail_len;
    uint64_t payload_len;
};

/* What precedes the argument on the worker's standard input. */
struct sandbox_wire_in {
    uint64_t flags, pad; /* (keeps the argument after it 16-byte aligned) */
    char label[SANDBOX_LABEL];
};

/* A pooled worker's name: "ENTRY" SANDBOX_POOL_MARK "FLAGS" (its argv[2]). */
#define SANDBOX_POOL_MARK "@pool:"

/* Starts `tierpress --sandbox-worker arg` with l's limits: its standard
 * input is *in_fd (write end), its fd 3 *res_fd (read end), both
 * close-on-exec here; the pid is registered for sandbox_kill_all(). */
int sandbox_spawn(const char *arg, const struct sandbox_limits *l, pid_t *pid_out, int *in_fd,
                  int *res_fd);
/* The error of a worker's wait status (a signal: ECANCELED, EINTR, a
 * filter violation or a crash, with the detail set); 0 for a normal exit. */
int sandbox_status_error(int status, const char *label);
int sandbox_write_all(int fd, const void *p, size_t n);
/* Replaces pid old by new in the registry of running workers. */
void sandbox_live_set(pid_t old, pid_t new);

#endif /* TP_SRC_SANDBOX_INT_H */
