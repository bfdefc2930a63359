#ifndef TP_SRC_S3_CLIENT_H
#define TP_SRC_S3_CLIENT_H

/* A small S3 client on libcurl (CURLOPT_AWS_SIGV4): the object operations
 * the S3 blob store needs.  s3_http.c (requests, signing, retries, errors),
 * s3_xml.c (response bodies, libxml2), s3_ops.c (put/multipart, get, list,
 * copy).
 *
 * Every request carries x-amz-content-sha256 (the real payload hash), every
 * PUT a Content-MD5; 5xx, 429/SlowDown, RequestTimeout, timeouts and
 * connection resets are retried with exponential backoff and full jitter.
 * A failure sets one detail line naming s3://bucket/key, the HTTP status and
 * the S3 error Code (tp_err_set) and returns: TP_ERR_NOTFOUND (404),
 * TP_ERR(EACCES) (403, bad credentials), TP_ERR_UNSUPPORTED (a storage
 * class the server refuses), TP_ERR_VERIFY (BadDigest: the bytes changed on
 * the way), TP_ERR(EAGAIN) (still failing after the retries),
 * TP_ERR(EINVAL) (bad settings), TP_ERR(EIO) otherwise.
 * Secrets never appear in errors or logs.
 *
 * One client is used by one thread at a time (multipart uploads make their
 * own handles for their worker threads). */

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

struct s3_settings {
    const char *endpoint;      /* "http://127.0.0.1:9000", "https://s3.eu-west-1.amazonaws.com";
                                * NULL/"" = https://s3.<region>.amazonaws.com. Plain HTTP
                                * only when it says http:// */
    const char *region;        /* signing region; NULL = "us-east-1" */
    const char *bucket;        /* required */
    int path_style;            /* 1: endpoint/bucket/key; 0: bucket.endpoint/key (virtual-hosted) */
    const char *access_key;    /* required (may contain ':') */
    const char *secret_key;    /* required */
    const char *session_token; /* NULL or "": none; else sent as x-amz-security-token */
    int max_retries;           /* retries after the first attempt, 0..20; default 5 */
    int retry_base_ms;         /* first backoff cap, 1..60000; default 100 (doubles per retry,
                                * capped at 20 s, full jitter) */
    int timeout_s;             /* a transfer making no progress for this long is
                                * abandoned (and retried), 1..3600; default 30 */
    uint64_t multipart_threshold; /* objects larger than this go multipart; default 64 MiB */
    uint64_t part_size;        /* multipart part size, >= 5 MiB; default 16 MiB */
    int parallel;              /* parts in flight at once, 1..16; default 4 */
};

/* Fills s with the defaults above (endpoint, bucket, keys NULL). */
void s3_settings_defaults(struct s3_settings *s);
/* 0, or TP_ERR(EINVAL) naming the bad field. */
int s3_settings_validate(const struct s3_settings *s);

struct s3_client;

/* Copies the settings (strings included). Caller owns *out; free with
 * s3_client_close(). No request is made. */
int s3_client_open(struct s3_client **out, const struct s3_settings *s);
/* Accepts NULL and a NULL *c; clears the pointer. */
void s3_client_close(struct s3_client **c);
/* Borrowed; valid until close. */
const char *s3_client_bucket(const struct s3_client *c);
/* A second client with the same settings (its own connection), for a
 * thread of its own.  Caller owns *out; free with s3_client_close(). */
int s3_client_dup(struct s3_client **out, const struct s3_client *c);

struct s3_object {
    uint64_t bytes;
    int64_t mtime;          /* unix seconds (Last-Modified / LastModified) */
    char storage_class[32]; /* "" when the server did not say */
};

/* PUT of a buffer in one request. sha256_hex: the data's sha256 when the
 * caller knows it, else NULL (computed here). storage_class NULL = none sent. */
int s3_put_buf(struct s3_client *c, const char *key, const uint8_t *data, size_t len,
               const char *sha256_hex, const char *storage_class);
/* PUT of len bytes of fd from offset 0: one request up to the multipart
 * threshold, else a multipart upload with `parallel` parts in flight,
 * aborted on any failure (nothing appears at key). fd is borrowed and read
 * with pread only. */
int s3_put_fd(struct s3_client *c, const char *key, int fd, uint64_t len,
              const char *storage_class);
/* 1 and *o (may be NULL) when the object exists, 0 when it does not. */
int s3_head(struct s3_client *c, const char *key, struct s3_object *o);
/* Deletes key; TP_ERR_NOTFOUND when absent (checked with a HEAD first,
 * since S3 answers 204 either way). */
int s3_delete(struct s3_client *c, const char *key);
/* Server-side copy src -> dst, the class set when not NULL. dst may be
 * src (a change of storage class): metadata directive REPLACE, since S3
 * refuses a self-copy that changes nothing; else COPY. */
int s3_copy(struct s3_client *c, const char *src, const char *dst, const char *storage_class);

/* Called once per object under the prefix; key and o are borrowed for the
 * call; a non-zero return stops the listing and is returned. */
typedef int (*s3_list_fn)(void *ud, const char *key, const struct s3_object *o);
/* ListObjectsV2, page by page (max_keys per page, 1..1000; 0 = 1000). */
int s3_list(struct s3_client *c, const char *prefix, int max_keys, s3_list_fn fn, void *ud);

/* The number of multipart uploads begun and neither completed nor aborted
 * under prefix (writers killed midway) into *n. */
int s3_pending_uploads(struct s3_client *c, const char *prefix, int64_t *n);

/* Called with each piece of a GET body in order; non-zero stops the
 * transfer and is returned by s3_get. */
typedef int (*s3_sink_fn)(void *ud, const uint8_t *data, size_t len);
/* GET of bytes [off, off+len) of key (len UINT64_MAX: to the end). A retry
 * after a failure midway resumes at the first byte not yet delivered, so
 * fn sees every byte exactly once. */
int s3_get(struct s3_client *c, const char *key, uint64_t off, uint64_t len,
           s3_sink_fn fn, void *ud);
/* s3_get of the whole object into out (replacing its contents). */
int s3_get_buf(struct s3_client *c, const char *key, struct tp_buf *out);

#endif /* TP_SRC_S3_CLIENT_H */
