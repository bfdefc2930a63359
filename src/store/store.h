#ifndef TP_SRC_STORE_H
#define TP_SRC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "sha256.h"

/* The content-addressed blob store.  A blob is named by the sha256 (64
 * lower-case hex digits) of its bytes; identical bytes are stored once and
 * a stored blob is never overwritten.
 *
 * Objects, not buffers (libvips VipsSource/VipsTarget style): a blob is
 * read through a reader (store_open_read: whole or a byte range) and
 * written through a writer (store_open_write ... store_writer_finish or
 * store_writer_abort).  store.c hashes every byte written and compares the
 * digest with the content address before the backend makes the object
 * visible, so a write that fails, is aborted or is killed midway leaves
 * nothing that looks like a blob.  Buffer get/put are helpers on top.
 *
 * Backends are opened by URI scheme from a table in store.c (store_open):
 * file:// (store_fs.c), s3:// (store_s3*.c, when built).  Each backend is
 * one file behind struct store_ops; nothing else knows its layout.
 *
 * Reference counts live in the catalog, not here: the store only knows
 * which blobs exist. */

struct config;
struct store;
struct store_reader;
struct store_writer;

/* One stored blob as a listing sees it. */
struct store_entry {
    const char *hash;  /* borrowed for the callback */
    uint64_t bytes;
    int64_t mtime;     /* unix seconds the object was last written (file mtime,
                        * S3 LastModified): gc keeps blobs younger than its grace */
};

#define STORE_CLASS_MAX 32 /* bytes of a storage class name, with the NUL */

/* What store_stat() reports. */
struct store_stat {
    uint64_t bytes;
    int64_t mtime;                       /* as in struct store_entry */
    char storage_class[STORE_CLASS_MAX]; /* "STANDARD" when the store has no classes */
};

/* Called once per stored blob by iterate(); a non-zero return stops the
 * walk and is returned by iterate(). e is borrowed for the call. */
typedef int (*store_iter_fn)(void *ud, const struct store_entry *e);

/* store->caps */
#define STORE_CAP_CLASSES 1u /* classes are real: stat reports what set_class set */

/* open_read's length: up to the end of the object. */
#define STORE_TO_END UINT64_MAX

/* ---- the backend interface ------------------------------------------- */

struct store_ops {
    const char *name; /* "fs", "s3" */
    /* A reader over bytes [offset, offset + length) of the blob, clipped to
     * its end (length STORE_TO_END: to the end); offset == size gives an
     * empty reader, offset > size TP_ERR(EINVAL).  Sets (*r_out)->object_bytes
     * and ->length.  TP_ERR_NOTFOUND (message naming the hash) when absent. */
    int (*open_read)(struct store *s, const char *hash, uint64_t offset, uint64_t length,
                     struct store_reader **r_out);
    /* A writer for a new object.  hash is the expected content address, or
     * NULL when it is known only at the end (the backend then learns it in
     * finish()).  storage_class is never NULL ("STANDARD" by default).
     * store.c fills in the writer's common fields after this returns. */
    int (*open_write)(struct store *s, const char *hash, const char *storage_class,
                      struct store_writer **w_out);
    /* Fills st; TP_ERR_NOTFOUND when absent. */
    int (*stat)(struct store *s, const char *hash, struct store_stat *st);
    /* Changes the blob's storage class (S3: CopyObject onto itself with
     * x-amz-storage-class); a no-op returning 0 when the store has no
     * classes (fs, S3 with storage_classes: false).  TP_ERR_NOTFOUND when
     * absent. */
    int (*set_class)(struct store *s, const char *hash, const char *storage_class);
    /* Deletes the blob; TP_ERR_NOTFOUND when absent. The caller (gc) must
     * know its reference count is 0. */
    int (*remove)(struct store *s, const char *hash);
    /* Calls fn for every blob, in no particular order. */
    int (*iterate)(struct store *s, store_iter_fn fn, void *ud);
    /* Writes left unfinished by crashed writers (fs: temp files; S3:
     * incomplete multipart uploads) into *n_out.  May be NULL (none). */
    int (*pending)(struct store *s, int64_t *n_out);
    /* Optional.  Sets an existing blob's modification time to now, so that
     * gc's orphan grace covers a blob a writer is about to reference:
     * 0, or TP_ERR_NOTFOUND when it is gone (write it again).  NULL: the
     * backend cannot (gc then goes by the time the blob was written). */
    int (*touch)(struct store *s, const char *hash);
    /* Optional.  Deletes the blob only if its modification time is at or
     * before cutoff (unix seconds), atomically with respect to touch():
     * 0 deleted, 1 kept (written or refreshed since), TP_ERR_NOTFOUND when
     * absent.  NULL: store_remove_older() removes after the caller checked
     * the listing's mtime. */
    int (*remove_older)(struct store *s, const char *hash, int64_t cutoff);
    void (*close)(struct store *s);
};

struct store_reader_ops {
    /* Up to n bytes into buf: the count (> 0), 0 at the end of the range,
     * negative on error (message naming the hash). */
    int (*read)(struct store_reader *r, uint8_t *buf, size_t n);
    void (*close)(struct store_reader *r);
};

struct store_writer_ops {
    /* Appends n bytes (the backend may buffer or upload them). */
    int (*write)(struct store_writer *w, const uint8_t *data, size_t n);
    /* Makes the object visible under hash, the verified sha256 of every
     * byte written (store.c has checked it against the expected address).
     * 0 when stored, 1 when a blob with that name was already there
     * (nothing replaced: the loser of concurrent writers of the same hash),
     * negative on failure (nothing visible).  Must not free w. */
    int (*finish)(struct store_writer *w, const char *hash);
    /* Discards everything written (nothing visible).  Must not free w. */
    void (*abort)(struct store_writer *w);
    /* Frees w (after finish or abort). */
    void (*free)(struct store_writer *w);
};

/* Every backend's handle starts with this. */
struct store {
    const struct store_ops *ops;
    unsigned caps; /* STORE_CAP_*, set by the backend's open */
};

/* Every backend's reader starts with this (backend-filled). */
struct store_reader {
    const struct store_reader_ops *ops;
    uint64_t object_bytes; /* the whole blob's size */
    uint64_t length;       /* bytes this reader delivers (the clipped range) */
};

/* Every backend's writer starts with this; the fields after ops belong to
 * store.c (hashing and the expected address). */
struct store_writer {
    const struct store_writer_ops *ops;
    struct store *s;
    struct sha256 ctx;
    uint64_t bytes;                       /* written so far */
    char expect[SHA256_HEX_LEN + 1];      /* "" when not known in advance */
    char storage_class[STORE_CLASS_MAX];
    int failed;                           /* a write failed: finish refuses */
};

/* ---- opening ---------------------------------------------------------- */

/* Opens the store named by uri through the backend table (by scheme):
 *   file:///abs/dir   (a local directory; created on first use)
 *   s3://bucket/prefix (cfg->s3: endpoint, region, addressing, classes,
 *                       multipart sizes, retries, credentials)
 * cfg is borrowed for the call (backends copy what they keep).  Unknown
 * scheme: TP_ERR_UNSUPPORTED naming the scheme and the known ones.  Caller
 * owns *s_out; free with store_close(). */
int store_open(struct store **s_out, const char *uri, const struct config *cfg);
/* STORE_OPEN_READONLY: for reading only (a sandboxed worker, which may not
 * create, rename or delete anything): the file backend neither makes its
 * directories nor clears stale temp files; writes are not for this handle. */
#define STORE_OPEN_READONLY 1u
int store_open_flags(struct store **s_out, const char *uri, const struct config *cfg,
                     unsigned flags);
/* 0 when a backend of this build opens uri's scheme, else as store_open
 * (nothing is opened or created). */
int store_uri_supported(const char *uri);
/* Accepts NULL and a NULL *s; clears the pointer. */
void store_close(struct store **s);
/* The backend's name ("fs", "s3"). */
const char *store_backend_name(const struct store *s);

/* Backends' own openers, for the table in store.c (and backend tests):
 * use store_open().  store_fs_open: blobs go to dir/ab/cd/<hash>, temp
 * files to dir/tmp/ (stale ones left by a crash are removed here). */
int store_fs_open(struct store **s_out, const char *dir);
int store_fs_open_flags(struct store **s_out, const char *dir, unsigned flags);
/* In store_s3*.c (built when present: HAVE_S3). */
int store_s3_open(struct store **s_out, const char *uri, const struct config *cfg);

/* ---- streaming -------------------------------------------------------- */

/* See store_ops.open_read.  Caller owns *r_out; free with store_reader_close(). */
int store_open_read(struct store *s, const char *hash, uint64_t offset, uint64_t length,
                    struct store_reader **r_out);
/* Up to n bytes: the count, 0 at the end, negative on error. */
int store_read(struct store_reader *r, uint8_t *buf, size_t n);
/* Reads exactly n bytes (TP_ERR_INVALIDDATA "blob ended early" otherwise). */
int store_read_full(struct store_reader *r, uint8_t *buf, size_t n);
/* Accepts NULL and a NULL *r; clears the pointer. */
void store_reader_close(struct store_reader **r);

/* A writer for a new blob: hash is the content address the bytes must
 * have, or NULL to learn it at the end; storage_class NULL or "" means
 * "STANDARD".  Caller owns *w_out and must end it with exactly one of
 * store_writer_finish() or store_writer_abort(). */
int store_open_write(struct store *s, const char *hash, const char *storage_class,
                     struct store_writer **w_out);
int store_write(struct store_writer *w, const uint8_t *data, size_t n);
/* Verifies and publishes: the sha256 of the bytes written goes to
 * hash_out (may be NULL); when they do not hash to the expected address
 * TP_ERR_VERIFY and nothing is visible.  0 when stored, 1 when the blob
 * was already there with the same size, TP_ERR_CONFLICT when one of
 * another size is there (left alone).  Always frees *w and clears it. */
int store_writer_finish(struct store_writer **w, char hash_out[SHA256_HEX_LEN + 1]);
/* Discards the write (nothing visible), frees *w and clears it.  Accepts
 * NULL and a NULL *w, so cleanup labels can call it unconditionally. */
void store_writer_abort(struct store_writer **w);

/* ---- objects ---------------------------------------------------------- */

/* TP_ERR_NOTFOUND when absent. */
int store_stat(struct store *s, const char *hash, struct store_stat *st);
/* 1 (and *bytes_out, may be NULL) when present, 0 when absent. */
int store_exists(struct store *s, const char *hash, uint64_t *bytes_out);
/* See store_ops.set_class. */
int store_set_class(struct store *s, const char *hash, const char *storage_class);
int store_remove(struct store *s, const char *hash);
int store_iterate(struct store *s, store_iter_fn fn, void *ud);
/* Unfinished writes left by crashes (see store_ops.pending). */
int store_pending(struct store *s, int64_t *n_out);
/* gc's delete: see store_ops.remove_older. */
int store_remove_older(struct store *s, const char *hash, int64_t cutoff);

/* ---- helpers on top of the streams ------------------------------------ */

/* Stores data under hash (the caller computed it).  0 when written, 1
 * when a blob of the same size was already there (nothing written),
 * TP_ERR_CONFLICT when one of another size is there (left alone). */
int store_put(struct store *s, const char *hash, const uint8_t *data, size_t len);
/* The same with a storage class (NULL or "": STANDARD). */
int store_put_class(struct store *s, const char *hash, const uint8_t *data, size_t len,
                    const char *storage_class);
/* Hashes data into hash_out, then store_put(). */
int store_put_data(struct store *s, const uint8_t *data, size_t len,
                   char hash_out[SHA256_HEX_LEN + 1]);
/* Streams the file at path into the store (constant memory); its sha256
 * goes to hash_out.  When expect is not NULL the file must hash to it
 * (TP_ERR_VERIFY otherwise: it changed since it was read).  Returns as
 * store_put. */
int store_put_file(struct store *s, const char *path, const char *expect,
                   const char *storage_class, char hash_out[SHA256_HEX_LEN + 1]);
/* Reads the whole blob into out (replacing its contents); TP_ERR_NOTFOUND
 * when absent.  No hash check (see store_verify). */
int store_get(struct store *s, const char *hash, struct tp_buf *out);
/* Streams the blob to the open file descriptor fd (constant memory),
 * checking its sha256 on the way: TP_ERR_VERIFY when the stored bytes do
 * not hash to their name (what was written to fd must then be discarded). */
int store_get_fd(struct store *s, const char *hash, int fd);
/* Streams the blob to path atomically (temp file in the same directory,
 * fsync, rename): on any failure, including a hash mismatch, path is
 * untouched. */
int store_get_file(struct store *s, const char *hash, const char *path);
/* Reads the blob (streaming) and recomputes its hash: 0 when it matches,
 * TP_ERR_VERIFY (with a detail message) when the bytes are corrupt. */
int store_verify(struct store *s, const char *hash);
/* store_get() that hashes what it read: 0 with out holding the blob when
 * its sha256 is `hash`; TP_ERR_CORRUPT (detail: "blob H: its bytes hash
 * to X") when not, and out is emptied, so corrupt bytes never
 * reach a caller.  Every read of a source for a transcode, a proxy or a
 * sample goes through this.  out is replaced; the caller owns it. */
int store_get_verified(struct store *s, const char *hash, struct tp_buf *out);

/* Opens the null store: put hashes nothing it is not given, keeps nothing
 * and answers 0 ("written"); get/remove answer TP_ERR_NOTFOUND, exists 0,
 * iterate nothing.  The sink of a dry run (simulate): the transcode
 * pipeline runs exactly as for a real store, and nothing is written.
 * Caller owns *s_out; free with store_close(). */
int store_null_open(struct store **s_out);

#endif /* TP_SRC_STORE_H */
