#ifndef TP_SRC_FILEIO_H
#define TP_SRC_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

/* Opens path for reading without blocking on a FIFO (O_NONBLOCK), and
 * refuses anything but a regular file (a FIFO, device, directory, socket)
 * with TP_ERR(EINVAL) and a detail naming its type.  Returns the
 * descriptor (blocking again; caller owns it: close()) and its size in
 * *size_out (may be NULL). */
int file_open_regular(const char *path, int64_t *size_out);
/* "a FIFO", "a directory", ... for a st_mode. */
const char *file_type_name(unsigned mode);
/* The process's umask (read once). */
unsigned file_umask(void);
/* Reads a whole regular file into out (replacing its contents).  Refuses
 * files larger than max_bytes with TP_ERR_LIMIT. */
int file_read(const char *path, uint64_t max_bytes, struct tp_buf *out);
/* Writes data to path atomically: a temp file in the same directory,
 * fsync, rename over path, fsync of the directory.  The file gets mode
 * 0666 & ~umask, as a file created with open() would.  On failure nothing is
 * left behind and path is untouched. */
int file_write_atomic(const char *path, const void *data, size_t len);
/* Writes all of data to fd (again after EINTR and short writes): 0, or
 * TP_ERR(errno) (EIO for a write of nothing) with no detail set. */
int file_write_all(int fd, const void *data, size_t len);
/* mkdir -p; 0 if it exists. */
int file_mkdirs(const char *path, unsigned mode);
/* fsyncs the directory containing path (or path itself if a directory). */
int file_sync_dir(const char *dir);

/* A sandboxed worker's private temp directory (src/runner/sandbox.c): a
 * descriptor of it and its path (also $TMPDIR).  file_unlink_tmp() deletes
 * a temp file in it through that descriptor (the worker's system-call
 * filter allows unlinkat on that descriptor only), anything else with
 * unlink().  0 or a negative error code. */
void file_private_tmp_set(int dirfd, const char *dir);
int file_unlink_tmp(const char *path);

#endif /* TP_SRC_FILEIO_H */
