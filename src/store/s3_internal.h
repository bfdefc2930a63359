#ifndef TP_SRC_S3_INTERNAL_H
#define TP_SRC_S3_INTERNAL_H

/* Shared by s3_http.c, s3_xml.c and s3_ops.c only. */

#include <curl/curl.h>
#include <stdint.h>

#include "mem.h"
#include "s3_client.h"

struct s3_client {
    struct s3_settings set; /* strings point into the copies below */
    char *endpoint, *region, *bucket, *access_key, *secret_key, *session_token;
    char sigv4[96];         /* "aws:amz:<region>:s3" */
    CURL *curl;             /* the client's own handle (keeps its connection) */
};

/* One request; zero-initialise, fill the inputs, call s3_request. */
struct s3_req {
    /* inputs */
    const char *method;     /* GET PUT HEAD DELETE POST */
    const char *key;        /* object key, or NULL for the bucket */
    const char *query;      /* canonical (sorted, encoded) query string, or NULL */
    struct curl_slist *headers; /* extra headers (borrowed) */
    const uint8_t *body;    /* request body from memory ... */
    int body_fd;            /* ... or from this fd (when body_len && !body), by pread */
    uint64_t body_off, body_len;
    const char *payload_sha256; /* hex of the body; NULL: computed from body (memory only) */
    uint64_t range_off, range_len; /* GET: range_len 0 = whole object, UINT64_MAX = to the end */
    s3_sink_fn sink;        /* GET bodies go here when set ... */
    void *sink_ud;
    struct tp_buf *resp;    /* ... else a 2xx body goes here (when set) */
    /* outputs */
    long status;
    char code[64];          /* S3 error Code of the last attempt ("" when none) */
    char etag[128];         /* ETag response header, quotes kept */
    char storage_class[32]; /* x-amz-storage-class response header */
    int64_t last_modified;  /* Last-Modified, unix seconds (0 when absent) */
    uint64_t content_length;
    uint64_t delivered;     /* bytes given to sink (across retries) */
};

/* Performs req with c's settings on handle h (c->curl, or a worker's own),
 * retrying transient failures. 0 on a 2xx answer; otherwise the error
 * mapping of s3_client.h, with the detail naming s3://bucket/key. */
int s3_request(struct s3_client *c, CURL *h, struct s3_req *req);
/* Maps a final S3 answer (status + Code) to a tierpress error and sets the
 * detail line; used for errors found in 200 bodies too. */
int s3_fail(const struct s3_client *c, const struct s3_req *req, const char *code,
            const char *message);
/* A new curl handle, or NULL (the caller frees it with curl_easy_cleanup). */
CURL *s3_handle_new(void);

/* md5_b64: base64 of the MD5 (25 bytes with the NUL); sha_hex: 65 bytes. */
void s3_digests(const uint8_t *data, size_t len, char md5_b64[25], char sha_hex[65]);
/* The hex sha256 of the empty payload. */
extern const char s3_empty_sha256[65];
/* Appends s to out, %-encoding all but unreserved characters (and '/'
 * when keep_slash). */
int s3_uri_encode(struct tp_buf *out, const char *s, int keep_slash);

/* --- s3_xml.c: response bodies ----------------------------------------- */
/* Code and Message of an <Error> body: 1 when it is one, 0 when not. */
int s3_xml_error(const uint8_t *xml, size_t len, char *code, size_t code_len,
                 char *msg, size_t msg_len);
/* <UploadId> of InitiateMultipartUploadResult into out: 0, or TP_ERR(EIO). */
int s3_xml_upload_id(const uint8_t *xml, size_t len, char *out, size_t out_len);
/* One ListObjectsV2 page: fn per <Contents>; the next continuation token
 * (allocated; caller frees with tp_free) when IsTruncated, else NULL. */
int s3_xml_list(const uint8_t *xml, size_t len, s3_list_fn fn, void *ud, char **next_token);
/* One ListMultipartUploads page: adds its <Upload> count to *count; the
 * next key and upload-id markers (allocated; tp_free) when truncated. */
int s3_xml_uploads(const uint8_t *xml, size_t len, int64_t *count, char **next_key,
                   char **next_upload);
/* Parses an ISO 8601 / RFC 1123 time ("2026-12-01T06:16:23.000Z",
 * "Tue, 01 Dec 2026 06:16:23 GMT"): unix seconds, or 0. */
int64_t s3_parse_time(const char *s);

#endif /* TP_SRC_S3_INTERNAL_H */
