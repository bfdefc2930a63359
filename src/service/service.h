#ifndef TP_SRC_SERVICE_H
#define TP_SRC_SERVICE_H

#include <stdint.h>

#include <jansson.h>

struct config;

/* `tierpress serve`: the on-upload HTTP service (libmicrohttpd).  One
 * connection per thread; decodes and encodes are bounded by a slot count
 * with a bounded wait queue (503 with Retry-After beyond it). */
struct service_opts {
    char listen[128];          /* ADDR:PORT; default 127.0.0.1:8080 */
    int threads;               /* concurrent decodes/encodes 1..256; default: cores */
    int queue;                 /* uploads waiting for a slot 0..4096; default 16 */
    int queue_wait_s;          /* seconds one waits before 503, 1..3600; default 30 */
    int connections;           /* open connections 1..10000; default 256 */
    int idle_timeout_s;        /* idle connection timeout 1..3600; default 30 */
    int request_timeout_s;     /* whole upload, 1..86400; default 300 */
    uint64_t max_body_bytes;   /* upload size limit; default 256 MiB */
    uint64_t max_pixels;       /* pixel limit of an upload; default 100 MP */
    const char *tokens_file;   /* OWNER TOKEN lines; NULL: $TIERPRESS_TOKENS_FILE */
    const char *signing_key_file; /* HMAC key for signed rendition URLs */
    int sign_ttl_s;            /* lifetime of the signed URLs in answers; default 3600 */
    int isolate;               /* 0/1: decode/encode uploads in sandboxed children; default 1 */
    int pool;                  /* 0/1: with isolate, resident children (one per decode
                                * slot) rather than one started per upload; default 1 */
    /* called once listening, with the base URL ("http://127.0.0.1:8080") */
    void (*ready)(const char *url);
};

void service_defaults(struct service_opts *o);
/* Range checks; TP_ERR_USAGE naming the option. */
int service_validate(const struct service_opts *o);

/* Runs the server on the home cfg names until SIGTERM/SIGINT: then stops
 * accepting, lets in-flight requests finish (at most 30 s) and returns 0. */
int service_run(const struct config *cfg, const struct service_opts *o);

/* ---- auth.c ---- */
struct service_auth;
/* Loads the tokens (file lines "OWNER TOKEN", '#' comments; the
 * environment's TIERPRESS_TOKENS holds the same lines separated by ',' or
 * newlines) and the signing key (file, else $TIERPRESS_SIGNING_KEY).
 * *a is NULL-safe to free with service_auth_free(). */
int service_auth_load(struct service_auth **a, const char *tokens_file, const char *key_file);
void service_auth_free(struct service_auth **a);
/* Number of tokens configured. */
int service_auth_ntokens(const struct service_auth *a);
int service_auth_can_sign(const struct service_auth *a);
/* The owner of the bearer token (constant-time over every token), or NULL. */
const char *service_auth_owner(const struct service_auth *a, const char *token);
/* HMAC-SHA256(key, path "\n" exp) as hex into sig (65 bytes). */
void service_auth_sign(const struct service_auth *a, const char *path, int64_t exp, char sig[65]);
/* 0: valid and unexpired; TP_ERR_VERIFY bad signature; TP_ERR_LIMIT expired. */
int service_auth_check(const struct service_auth *a, const char *path, const char *exp,
                       const char *sig, int64_t now);

/* ---- job_status.c ---- */
struct catalog_ingest_job;
/* The one JSON shape of an upload's ingest job (the 202 answer of an async
 * upload and GET /v1/jobs/ID): id, status_url, sha256, state, attempts,
 * max_attempts, error and error_permanent (null/false when none), created,
 * finished, asset_id and asset_url (null until done).  Caller owns the
 * result; free with json_decref().  NULL when out of memory. */
json_t *service_job_json(const struct catalog_ingest_job *ij);

/* ---- request.c: what a request asks for, from its method, path, headers
 * and query arguments (libmicrohttpd parses the HTTP; these never see a
 * connection, so tests/fuzz/fuzz_http.c drives them directly) ---- */
enum service_route {
    ROUTE_UPLOAD, ROUTE_ASSET, ROUTE_ORIGINAL, ROUTE_RENDITION, ROUTE_DELETE, ROUTE_RESTORE,
    ROUTE_LIST, ROUTE_HEALTHZ, ROUTE_READYZ, ROUTE_METRICS, ROUTE_STATUS, ROUTE_JOB, ROUTE_OTHER,
    ROUTE_N
};
struct service_request {
    enum service_route route;
    int get;                /* GET or HEAD */
    int64_t id;             /* /v1/assets/ID...: ID, else 0 */
    const char *rendition;  /* /v1/assets/ID/renditions/NAME: NAME (into url), else NULL */
};
/* Classifies method + path (MHD's, without the query). */
void service_route_parse(const char *method, const char *url, struct service_request *rq);
/* The Range header (or NULL) of a body of len bytes: 0 and the whole body
 * when there is no single "bytes=" range; 1 and [*lo, *hi] inside the body
 * (206); -1 when it cannot be satisfied (416). */
int service_range_parse(const char *range, uint64_t len, uint64_t *lo, uint64_t *hi);
/* 1 when If-None-Match (or NULL) names etag (quoted) or is "*". */
int service_etag_matches(const char *if_none_match, const char *etag);
/* The owner of a request (*owner: the token's, "local" without tokens,
 * NULL for a valid signed URL, which authorises its path whoever owns it):
 * 0; -1 no valid bearer token; -2 signed URL expired; -3 bad signature
 * (exp/sig are only looked at on a rendition). */
int service_authenticate(const struct service_auth *a, const struct service_request *rq,
                         const char *url, const char *authorization, const char *exp,
                         const char *sig, int64_t now, const char **owner);
#define SERVICE_IDEM_KEY 128    /* Idempotency-Key: 1..127 characters */
#define SERVICE_BAD_LENGTH 1    /* Content-Length over the limit (413) */
#define SERVICE_BAD_PROXIES 2   /* ?proxies= neither sync nor async (400) */
#define SERVICE_BAD_IDEM_KEY 3  /* Idempotency-Key empty or too long (400) */
/* An upload's parameters (any may be NULL): 0 and *async, or SERVICE_BAD_*. */
int service_upload_params(const char *content_length, uint64_t max_body, const char *proxies,
                          const char *idempotency_key, int *async);
/* An RFC 9457 problem body (detail may be NULL, and any bytes: it can quote
 * what the client sent); caller frees it with free(); NULL: out of memory. */
char *service_problem_json(int status, const char *type, const char *title, const char *detail);

/* ---- metrics.c ---- */
void metrics_request(enum service_route r, int status, double seconds);
void metrics_bytes(uint64_t in, uint64_t out);
void metrics_decode_failure(void);
void metrics_inflight(int delta);
void metrics_queue(int delta);
/* The Prometheus text exposition; caller owns the string (free()). */
char *metrics_text(void);

#endif /* TP_SRC_SERVICE_H */
