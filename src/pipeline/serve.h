#ifndef TP_SRC_SERVE_H
#define TP_SRC_SERVE_H

#include "mem.h"

struct home;
struct catalog_asset;

/* Where serve_original() found the bytes (its non-negative return). */
enum serve_source {
    SERVE_UPLOADED = 0,      /* the uploaded original, still held (original_blob) */
    SERVE_RECONSTRUCTED = 1, /* rebuilt from a losslessly recompressed current blob */
    SERVE_CURRENT = 2,       /* the current representation as stored */
};

/* The bytes a server sends for the asset's original:
 *  - original_blob when set: the uploaded bytes;
 *  - else, when the current blob is a JPEG XL carrying JPEG reconstruction
 *    data, the reconstructed JPEG, whose sha256 must equal a->sha256
 *    (TP_ERR_VERIFY with a detail message naming both hashes otherwise:
 *    never serves a wrong "original");
 *  - else the current representation's bytes.
 * out is replaced; the caller owns it (buf_free()).  Returns the
 * enum serve_source used, or a negative TP_ERR code. */
int serve_original(struct home *h, const struct catalog_asset *a, struct tp_buf *out);

/* The current representation exactly as stored (a->current_blob). */
int serve_current(struct home *h, const struct catalog_asset *a, struct tp_buf *out);

/* Writes what serve_original() serves to path atomically ("-": standard
 * output).  Uploaded originals are streamed from the store in constant
 * memory with their sha256 checked on the way (TP_ERR_VERIFY and, for a
 * path, nothing written when the stored bytes are corrupt); only a
 * reconstruction goes through memory.  Returns the enum serve_source. */
int serve_original_write(struct home *h, const struct catalog_asset *a, const char *path);
/* Streams the blob as stored to path atomically ("-": standard output),
 * sha256 checked as above. */
int serve_blob_write(struct home *h, const char *blob, const char *path);

#endif /* TP_SRC_SERVE_H */
