#ifndef TP_SRC_STORE_H
#define TP_SRC_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "sha256.h"

/* The content-addressed blob store.  A blob is named by the sha256 (64
 * lower-case hex digits) of its bytes; identical bytes are stored once and
 * a stored blob is never overwritten.  One backend per file behind
 * struct store_ops: store_fs.c (local directory); S3 comes later.
 *
 * Reference counts live in the catalog, not here: the store only knows
 * which blobs exist. */

struct store;

/* One stored blob as a listing sees it. */
struct store_entry {
    const char *hash;  /* borrowed for the callback */
    uint64_t bytes;
    int64_t mtime;     /* unix seconds the object was last written (file mtime,
                        * S3 LastModified): gc keeps blobs younger than its grace */
};

/* Called once per stored blob by iterate(); a non-zero return stops the
 * walk and is returned by iterate(). e is borrowed for the call. */
typedef int (*store_iter_fn)(void *ud, const struct store_entry *e);

struct store_ops {
    const char *name; /* "fs" */
    /* Stores data under hash (the caller computed it; store_put_data does
     * it for you).  0 when written, 1 when a blob of the same size was
     * already there (nothing written), TP_ERR_CONFLICT when one of another
     * size is there (the existing blob is left alone). */
    int (*put)(struct store *s, const char *hash, const uint8_t *data, size_t len);
    /* Reads the blob into out (replacing its contents); TP_ERR_NOTFOUND
     * when absent.  No hash check (see store_verify). */
    int (*get)(struct store *s, const char *hash, struct tp_buf *out);
    /* 1 (and *bytes_out, may be NULL) when present, 0 when absent. */
    int (*exists)(struct store *s, const char *hash, uint64_t *bytes_out);
    /* Deletes the blob; TP_ERR_NOTFOUND when absent. The caller (gc) must
     * know its reference count is 0. */
    int (*remove)(struct store *s, const char *hash);
    /* Calls fn for every blob, in no particular order. */
    int (*iterate)(struct store *s, store_iter_fn fn, void *ud);
    void (*close)(struct store *s);
};

/* Every backend's handle starts with this. */
struct store {
    const struct store_ops *ops;
};

/* Opens (creating if needed) a filesystem store rooted at dir: blobs go to
 * dir/ab/cd/<hash>, temp files to dir/tmp/ (stale ones left by a crash
 * are removed here).  Caller owns *s_out; free with store_close(). */
int store_fs_open(struct store **s_out, const char *dir);
/* Accepts NULL and a NULL *s; clears the pointer. */
void store_close(struct store **s);

/* Wrappers that check the hash's syntax, then call the backend. */
int store_put(struct store *s, const char *hash, const uint8_t *data, size_t len);
/* Hashes data into hash_out, then store_put(). */
int store_put_data(struct store *s, const uint8_t *data, size_t len,
                   char hash_out[SHA256_HEX_LEN + 1]);
int store_get(struct store *s, const char *hash, struct tp_buf *out);
int store_exists(struct store *s, const char *hash, uint64_t *bytes_out);
int store_remove(struct store *s, const char *hash);
int store_iterate(struct store *s, store_iter_fn fn, void *ud);
/* Reads the blob and recomputes its hash: 0 when it matches,
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
