/* The HTTP service on libmicrohttpd: routing, uploads streamed to a
 * private temp file while hashed, asset/original/rendition reads with
 * ETag, If-None-Match and Range, problem+json errors, health and metrics.
 * One thread per connection; the catalog/store handles come from a pool
 * (a SQLite or PostgreSQL handle is used by one thread at a time). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "asset_json.h"
#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "ingest.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "pairs.h"
#include "serve.h"
#include "service.h"
#include "sha256.h"
#include "sandbox.h"
#include "status_page.h"
#include "store.h"
#include "timeutil.h"

#define POOL_MAX 1024

struct server {
    const struct config *cfg;
    const struct service_opts *o;
    struct service_auth *auth;
    struct ingest_opts iopts;
    char tmpdir[4096];
    /* home pool */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct home *pool[POOL_MAX];
    int npool;
    /* store handles a streamed response took from its home (a reader
     * borrows its store: an S3 one uses the store's connection) */
    struct store *stores[POOL_MAX];
    int nstores;
    /* decode slots and their wait queue */
    int busy, waiting;
    atomic_int inflight;
    /* Idempotency-Key answers (under lock), kept IDEM_TTL s: the requests
     * in flight (409), and a cache of the answers kept in the catalog */
    struct idem *idem;
    struct sandbox_pool *workers; /* resident decode workers (o->isolate && o->pool) */
};

#define IDEM_MAX 4096
#define IDEM_TTL CATALOG_IDEM_TTL
_Static_assert(SERVICE_IDEM_KEY == CATALOG_IDEM_KEY, "an Idempotency-Key fits the catalog's row");

/* The first answer to (owner, key): an asset (a synchronous upload) or an
 * ingest job (?proxies=async); both 0 while that request is in flight. */
struct idem {
    char owner[CATALOG_TEXT], key[SERVICE_IDEM_KEY];
    char sha[SHA256_HEX_LEN + 1];
    int64_t asset_id, job_id;
    int status, new_job;
    time_t until;               /* 0: a free slot */
};

/* The entry of (owner, key), or a new one (the free or oldest slot) when
 * create; NULL when not found.  Under s->lock. */
static struct idem *idem_find(struct server *s, const char *owner, const char *key, int create)
{
    time_t now = time(NULL);
    struct idem *victim = &s->idem[0];
    for (int i = 0; i < IDEM_MAX; i++) {
        struct idem *e = &s->idem[i];
        if (e->until && e->until < now)
            e->until = 0;
        if (e->until && !strcmp(e->owner, owner) && !strcmp(e->key, key))
            return e;
        /* never an entry whose first request is still in flight */
        if (!e->until || ((e->asset_id || e->job_id) && victim->until && e->until < victim->until))
            victim = e;
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    snprintf(victim->owner, sizeof(victim->owner), "%s", owner);
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->until = now + IDEM_TTL;
    return victim;
}

struct req {
    enum service_route route;
    struct timespec start;
    const char *owner;           /* borrowed from auth, or "local" */
    int status;                  /* answered status, for metrics */
    /* upload */
    int fd;
    char tmp[4200];
    struct sha256 sha;
    uint64_t got;
    int too_big, failed, counted;
};

void service_defaults(struct service_opts *o)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->listen, sizeof(o->listen), "127.0.0.1:8080");
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = n > 0 && n <= 256 ? (int)n : 2;
    o->queue = 16;
    o->queue_wait_s = 30;
    o->connections = 256;
    o->idle_timeout_s = 30;
    o->request_timeout_s = 300;
    o->max_body_bytes = 256ull << 20;
    o->max_pixels = 100000000;
    o->sign_ttl_s = 3600;
    o->isolate = 1;
    o->pool = 1;
}

#define RANGE(field, lo, hi, name)                                                      \
    RETURN_ERR_IF((field) < (lo) || (field) > (hi), TP_ERR_USAGE, "%s: %lld is out of range %lld..%lld", \
                  name, (long long)(field), (long long)(lo), (long long)(hi))

int service_validate(const struct service_opts *o)
{
    RANGE(o->threads, 1, 256, "--threads");
    RANGE(o->queue, 0, 4096, "--queue");
    RANGE(o->queue_wait_s, 1, 3600, "--queue-wait");
    RANGE(o->connections, 1, 10000, "--connections");
    RANGE(o->idle_timeout_s, 1, 3600, "--idle-timeout");
    RANGE(o->request_timeout_s, 1, 86400, "--request-timeout");
    RANGE(o->sign_ttl_s, 1, 86400 * 366, "--sign-ttl");
    RETURN_ERR_IF(o->max_body_bytes < 1024, TP_ERR_USAGE, "--max-body: at least 1 KiB");
    RETURN_ERR_IF(o->max_pixels < 1, TP_ERR_USAGE, "--max-pixels: at least 1");
    return 0;
}

static double elapsed(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---- the home pool ---- */

/* A store handle of the pool, or a new one; NULL (*err set) on failure. */
static struct store *store_take(struct server *s, int *err)
{
    struct store *st = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->nstores)
        st = s->stores[--s->nstores];
    pthread_mutex_unlock(&s->lock);
    if (!st && (*err = store_open(&st, s->cfg->store, s->cfg)) < 0)
        return NULL;
    return st;
}

static void store_give(struct server *s, struct store *st)
{
    if (!st)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->nstores < POOL_MAX) {
        s->stores[s->nstores++] = st;
        st = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    store_close(&st);
}

static struct home *home_take(struct server *s, int *err)
{
    struct home *h = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->npool)
        h = s->pool[--s->npool];
    pthread_mutex_unlock(&s->lock);
    if (h && !h->store && !(h->store = store_take(s, err))) {
        /* a home whose store a stream took: it gets another */
        home_close(h);
        tp_free(h);
        return NULL;
    }
    if (h)
        return h;
    if (!(h = tp_calloc(1, sizeof(*h)))) {
        *err = TP_ERR(ENOMEM);
        return NULL;
    }
    /* every commit durable before the answer that reports it */
    if ((*err = home_open(h, s->cfg)) < 0 || (*err = catalog_durable(h->cat)) < 0) {
        home_close(h);
        tp_free(h);
        return NULL;
    }
    return h;
}

static void home_give(struct server *s, struct home *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->npool < POOL_MAX) {
        s->pool[s->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (h) {
        home_close(h);
        tp_free(h);
    }
}

/* ---- decode slots: at most o->threads at once, o->queue waiting ---- */

static int slot_take(struct server *s)
{
    struct timespec until;
    int ret = 0;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->o->queue_wait_s;
    pthread_mutex_lock(&s->lock);
    if (s->busy >= s->o->threads) {
        if (s->waiting >= s->o->queue) {
            ret = TP_ERR(EBUSY);
        } else {
            s->waiting++;
            metrics_queue(1);
            while (s->busy >= s->o->threads && ret == 0)
                if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
                    ret = TP_ERR(EBUSY);
            s->waiting--;
            metrics_queue(-1);
        }
    }
    if (!ret)
        s->busy++;
    pthread_mutex_unlock(&s->lock);
    return ret;
}

static void slot_give(struct server *s)
{
    pthread_mutex_lock(&s->lock);
    s->busy--;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* ---- responses ---- */

static enum MHD_Result answer(struct MHD_Connection *c, struct req *r, int status,
                            struct MHD_Response *resp)
{
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    r->status = status;
    ret = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static struct MHD_Response *resp_copy(const void *data, size_t len, const char *type)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)data, MHD_RESPMEM_MUST_COPY);
    if (resp && type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (resp)
        metrics_bytes(0, len);
    return resp;
}

/* RFC 9457 problem details; type is a stable slug under /problems/. */
static enum MHD_Result problem(struct MHD_Connection *c, struct req *r, int status,
                               const char *type, const char *title, const char *detail)
{
    char *body = service_problem_json(status, type, title, detail);
    struct MHD_Response *resp;
    if (!body)
        return MHD_NO;
    resp = resp_copy(body, strlen(body), "application/problem+json");
    free(body);
    if (resp && status == 503)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (resp && status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    return answer(c, r, status, resp);
}

static enum MHD_Result not_found(struct MHD_Connection *c, struct req *r)
{
    return problem(c, r, 404, "not-found", "Not Found", "no such asset");
}

/* The problem for an error code from ingest or a read. */
static enum MHD_Result problem_err(struct MHD_Connection *c, struct req *r, int err,
                                   const char *name)
{
    char msg[700], why[512];
    const char *d = tp_err_detail();
    tp_strerror(err, why, sizeof(why));
    snprintf(msg, sizeof(msg), "%s%s%s", name ? name : "", name ? ": " : "", d && *d ? d : why);
    switch (err) {
    case TP_ERR_LIMIT: return problem(c, r, 413, "too-large", "Payload Too Large", msg);
    case TP_ERR_UNKNOWNFMT:
    case TP_ERR_UNSUPPORTED:
        return problem(c, r, 415, "unsupported-media-type", "Unsupported Media Type", msg);
    case TP_ERR_INVALIDDATA:
    case TP_ERR_EXTERNAL:
        metrics_decode_failure();
        return problem(c, r, 422, "invalid-media", "Unprocessable Content", msg);
    case TP_ERR_NOTFOUND: return not_found(c, r);
    case TP_ERR_VERIFY:
    case TP_ERR_CORRUPT:
        return problem(c, r, 500, "stored-blob-corrupt", "Internal Server Error", msg);
    default: return problem(c, r, 500, "internal", "Internal Server Error", msg);
    }
}

static const char *content_type(const char *format)
{
    static const struct { const char *f, *t; } types[] = {
        { "jpeg", "image/jpeg" }, { "png", "image/png" }, { "webp", "image/webp" },
        { "avif", "image/avif" }, { "heif", "image/heic" }, { "heic", "image/heic" },
        { "jxl", "image/jxl" }, { "tiff", "image/tiff" }, { "gif", "image/gif" },
        { "mp4", "video/mp4" }, { "mov", "video/quicktime" }, { "webm", "video/webm" },
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (!strcmp(types[i].f, format))
            return types[i].t;
    return "application/octet-stream";
}

/* Sends bytes with ETag (the content's sha256), If-None-Match -> 304 and
 * a single Range -> 206 (416 when unsatisfiable).  Takes b's memory. */
static enum MHD_Result send_bytes(struct MHD_Connection *c, struct req *r, struct tp_buf *b,
                                  const char *type, const char *sha)
{
    char etag[80], cr[96];
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    struct MHD_Response *resp;
    uint64_t len = b->len, lo = 0, hi = len ? len - 1 : 0;
    int status = 200, ret;

    snprintf(etag, sizeof(etag), "\"%s\"", sha);
    if (service_etag_matches(inm, etag)) {
        buf_free(b);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        return answer(c, r, 304, resp);
    }
    if ((ret = service_range_parse(range, len, &lo, &hi))) {
        if (ret < 0) {
            buf_free(b);
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)len);
            resp = resp_copy("", 0, NULL);
            if (resp)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
            return answer(c, r, 416, resp);
        }
        status = 206;
    }
    if (status == 206) {
        resp = resp_copy(b->data + lo, (size_t)(hi - lo + 1), type);
        buf_free(b);
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)lo,
                 (unsigned long long)hi, (unsigned long long)len);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    } else {
        resp = MHD_create_response_from_buffer_with_free_callback(b->len, b->data, tp_free);
        if (!resp)
            buf_free(b);
        else
            metrics_bytes(0, b->len);
        memset(b, 0, sizeof(*b));
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    }
    if (resp) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=31536000, immutable");
    }
    return answer(c, r, status, resp);
}

/* ---- streamed blobs ---- */

/* Every stored blob a GET serves is streamed from the store, whatever its
 * size: only an original rebuilt from JPEG XL goes through memory (it is
 * checked against the upload's sha256 before any byte is sent). */

struct stream {
    struct server *s;
    struct store *store;        /* taken from the home, held until the response is freed */
    struct store_reader *rd;
    struct sha256 sha;
    char hash[SHA256_HEX_LEN + 1];
    uint64_t left;
    int verify;                 /* the whole blob: its sha256 checked at the end */
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *st = cls;
    uint8_t d[32];
    char got[SHA256_HEX_LEN + 1];
    int n;
    (void)pos;
    if (!st->left)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (max > st->left)
        max = (size_t)st->left;
    n = store_read(st->rd, (uint8_t *)buf, max);
    if (n <= 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    st->left -= (uint64_t)n;
    if (st->verify) {
        sha256_update(&st->sha, buf, (size_t)n);
        if (!st->left) {
            /* checked before the last bytes go out: on a mismatch the
             * response is cut short (too late for an error status), so a
             * client never receives a whole corrupt blob */
            sha256_final(&st->sha, d);
            sha256_to_hex(d, got);
            if (strcmp(got, st->hash)) {
                tp_log(TP_LOG_ERROR, "blob %s is corrupt (its bytes hash to %s): response cut short",
                       st->hash, got);
                return MHD_CONTENT_READER_END_WITH_ERROR;
            }
        }
    }
    metrics_bytes(0, (uint64_t)n);
    return n;
}

static void stream_free(void *cls)
{
    struct stream *st = cls;
    store_reader_close(&st->rd);
    sha256_free(&st->sha); /* a response cut short or a Range: never finalised */
    store_give(st->s, st->store);
    tp_free(st);
}

/* Sends the blob hash (size bytes) from the store as send_bytes() would,
 * without holding it in memory: the whole blob is checked against its
 * sha256 as it goes out (a mismatch cuts the response short); a Range is
 * served after a verifying read of the whole blob.  Takes h: given back
 * before the body goes out, without its store, which the reader borrows
 * until the response is done (a slow client holds a store handle, never a
 * catalog handle or a PostgreSQL connection). */
static enum MHD_Result send_stream(struct server *s, struct MHD_Connection *c, struct req *r,
                                   struct home *h, const char *hash, uint64_t size,
                                   const char *type)
{
    char etag[80], cr[96];
    const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_IF_NONE_MATCH);
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    struct MHD_Response *resp;
    struct stream *st;
    uint64_t lo = 0, hi = size ? size - 1 : 0;
    int status = 200, ret;

    snprintf(etag, sizeof(etag), "\"%s\"", hash);
    if (service_etag_matches(inm, etag)) {
        home_give(s, h);
        resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (resp)
            MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
        return answer(c, r, 304, resp);
    }
    if ((ret = service_range_parse(range, size, &lo, &hi))) {
        if (ret < 0) {
            home_give(s, h);
            snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
            resp = resp_copy("", 0, NULL);
            if (resp)
                MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
            return answer(c, r, 416, resp);
        }
        status = 206;
        tp_err_clear();
        if ((ret = store_verify(h->store, hash)) < 0) {
            home_give(s, h);
            return problem_err(c, r, ret, NULL);
        }
    }
    if (!(st = tp_calloc(1, sizeof(*st)))) {
        home_give(s, h);
        return MHD_NO;
    }
    st->s = s;
    st->left = hi - lo + 1;
    st->verify = status == 200;
    snprintf(st->hash, sizeof(st->hash), "%s", hash);
    sha256_init(&st->sha);
    tp_err_clear();
    if ((ret = store_open_read(h->store, hash, lo, st->left, &st->rd)) < 0) {
        home_give(s, h);
        stream_free(st);
        return problem_err(c, r, ret, NULL);
    }
    st->store = h->store;
    h->store = NULL;
    home_give(s, h);
    resp = MHD_create_response_from_callback(st->left, 64 * 1024, stream_read, st, stream_free);
    if (!resp) {
        stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "private, max-age=31536000, immutable");
    if (status == 206) {
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)lo,
                 (unsigned long long)hi, (unsigned long long)size);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_RANGE, cr);
    }
    return answer(c, r, status, resp);
}

/* ---- assets ---- */

/* The asset JSON the service answers: asset_json() plus the URLs. */
static json_t *service_asset_json(struct server *s, struct home *h, const struct catalog_asset *a,
                                  int *err)
{
    json_t *o = asset_json(h->cat, a, err), *rs, *it;
    char url[256], sig[65];
    size_t i;
    if (!o)
        return NULL;
    snprintf(url, sizeof(url), "/v1/assets/%lld/original", (long long)a->id);
    json_object_set_new(o, "original_url", json_string(url));
    rs = json_object_get(o, "renditions");
    json_array_foreach(rs, i, it) {
        const char *name = json_string_value(json_object_get(it, "name"));
        snprintf(url, sizeof(url), "/v1/assets/%lld/renditions/%s", (long long)a->id, name);
        json_object_set_new(it, "url", json_string(url));
        if (service_auth_can_sign(s->auth)) {
            int64_t exp = time(NULL) + s->o->sign_ttl_s;
            char signed_url[400];
            service_auth_sign(s->auth, url, exp, sig);
            snprintf(signed_url, sizeof(signed_url), "%s?exp=%lld&sig=%s", url, (long long)exp,
                     sig);
            json_object_set_new(it, "signed_url", json_string(signed_url));
        }
    }
    return o;
}

/* Sends o (taken) with a weak ETag; location: a Location header, or NULL. */
static enum MHD_Result send_json_at(struct MHD_Connection *c, struct req *r, int status, json_t *o,
                                    const char *location)
{
    char *body = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
    struct MHD_Response *resp;
    char etag[80], hex[SHA256_HEX_LEN + 1];
    json_decref(o);
    if (!body)
        return MHD_NO;
    sha256_hex(body, strlen(body), hex);
    snprintf(etag, sizeof(etag), "W/\"%.32s\"", hex);
    resp = resp_copy(body, strlen(body), "application/json");
    free(body);
    if (resp)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
    if (resp && location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    return answer(c, r, status, resp);
}

static enum MHD_Result send_json(struct MHD_Connection *c, struct req *r, int status, json_t *o)
{
    return send_json_at(c, r, status, o, NULL);
}

/* The asset id, scoped to the owner: another owner's asset answers exactly
 * as a missing one (TP_ERR_NOTFOUND, the same message), and so does one in
 * the trash unless trashed is set (then only one in the trash is found).
 * owner NULL: a signed URL, which authorises its path whoever owns it. */
static int owned_asset(struct home *h, const char *owner, int64_t id, struct catalog_asset *a,
                       int trashed)
{
    int ret = catalog_asset_get(h->cat, id, a);
    if (ret == TP_ERR_NOTFOUND)
        tp_err_clear();
    if (ret < 0 && ret != TP_ERR_NOTFOUND)
        return ret;
    if (ret == TP_ERR_NOTFOUND || (owner && strcmp(owner, a->owner)) ||
        !a->deleted_at[0] != !trashed) {
        memset(a, 0, sizeof(*a));
        return TP_ERR_NOTFOUND;
    }
    return 0;
}

static void upload_cleanup(struct req *r)
{
    if (r->fd >= 0) {
        close(r->fd);
        r->fd = -1;
    }
    if (r->tmp[0]) {
        unlink(r->tmp);
        r->tmp[0] = '\0';
    }
}

/* The account an Idempotency-Key belongs to in the catalog: an upload
 * without an owner makes the default owner's asset, so its keys are that
 * owner's too. */
static const char *idem_account(const struct req *r)
{
    return r->owner && *r->owner ? r->owner : CATALOG_DEFAULT_OWNER;
}

/* Frees the entry of an Idempotency-Key's first request that failed: the
 * key is free again (nothing was recorded in the catalog). */
static void idem_fail(struct server *s, struct idem *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&s->lock);
    e->until = 0;
    pthread_mutex_unlock(&s->lock);
}

/* Records the answer of an Idempotency-Key's first request -- its asset
 * (status 201/200), or its ingest job (202; new_job: whether this request
 * queued it) -- in the catalog, where a restarted server or another one on
 * the same catalog finds it, then in memory.  The catalog's first writer
 * wins: when another server recorded the key first, *won is its answer
 * (maybe of other bytes: compare won->sha256) and that is what this
 * request answers too, so both agree.  A catalog that cannot record it is
 * logged, and the answer is kept in memory only (this server still
 * replays it until it stops). */
static void idem_done(struct server *s, struct home *h, struct idem *e, const struct req *r,
                      int64_t asset_id, int64_t job_id, int status, int new_job,
                      struct catalog_idem *won)
{
    int ret;
    memset(won, 0, sizeof(*won));
    won->asset_id = asset_id;
    won->job_id = job_id;
    won->status = status;
    won->new_job = new_job;
    if (!e)
        return;
    /* key and sha are set when the entry is made and kept while it is in
     * flight (idem_find never reuses such an entry) */
    snprintf(won->account, sizeof(won->account), "%s", idem_account(r));
    snprintf(won->key, sizeof(won->key), "%s", e->key);
    memcpy(won->sha256, e->sha, sizeof(won->sha256));
    tp_err_clear();
    if ((ret = catalog_idem_put(h->cat, won, (int64_t)time(NULL))) < 0) {
        char msg[256];
        tp_strerror(ret, msg, sizeof(msg));
        tp_log(TP_LOG_WARN, "Idempotency-Key %s: not recorded in the catalog (%s): only this "
               "server replays its answer", e->key, msg);
        memcpy(won->sha256, e->sha, sizeof(won->sha256));
        won->asset_id = asset_id;
        won->job_id = job_id;
        won->status = status;
        won->new_job = new_job;
        tp_err_clear();
    }
    pthread_mutex_lock(&s->lock);
    memcpy(e->sha, won->sha256, sizeof(e->sha));
    e->asset_id = won->asset_id;
    e->job_id = won->job_id;
    e->status = won->status;
    e->new_job = won->new_job;
    pthread_mutex_unlock(&s->lock);
}

/* The 202 of an async upload: job's state now, new_job, Location. */
static enum MHD_Result send_job(struct server *s, struct MHD_Connection *c, struct req *r,
                                int64_t job, int new_job, const char *name)
{
    struct catalog_ingest_job ij;
    struct home *h;
    char url[64];
    json_t *o = NULL;
    int ret;
    if (!(h = home_take(s, &ret)))
        return problem_err(c, r, ret, NULL);
    tp_err_clear();
    if ((ret = catalog_job_ingest_get(h->cat, job, &ij)) >= 0 &&
        (!(o = service_job_json(&ij)) || json_set_bool(o, "new_job", new_job) < 0))
        ret = TP_ERR(ENOMEM);
    home_give(s, h);
    if (ret < 0) {
        json_decref(o);
        return problem_err(c, r, ret, name);
    }
    snprintf(url, sizeof(url), "/v1/jobs/%lld", (long long)job);
    return send_json_at(c, r, 202, o, url);
}

/* 422: the Idempotency-Key was first used with other bytes. */
static enum MHD_Result idem_reused(struct MHD_Connection *c, struct req *r)
{
    return problem(c, r, 422, "idempotency-key-reused", "Unprocessable Content",
                   "this Idempotency-Key was used with other bytes");
}

/* A retry gets the first answer (ans), whichever path made it: the ingest
 * job's state now with the first new_job, or the asset with the first
 * status (not found once it is in the trash or gone). */
static enum MHD_Result idem_replay(struct server *s, struct MHD_Connection *c, struct req *r,
                                   const struct catalog_idem *ans, const char *name)
{
    struct catalog_asset a;
    struct home *h;
    json_t *o;
    int ret;
    if (ans->job_id)
        return send_job(s, c, r, ans->job_id, ans->new_job, name);
    if (!(h = home_take(s, &ret)))
        return problem_err(c, r, ret, NULL);
    if ((ret = owned_asset(h, r->owner, ans->asset_id, &a, 0)) < 0 ||
        !(o = service_asset_json(s, h, &a, &ret))) {
        home_give(s, h);
        return ret == TP_ERR_NOTFOUND ? not_found(c, r) : problem_err(c, r, ret, name);
    }
    home_give(s, h);
    return send_json(c, r, ans->status, o);
}

/* POST /v1/assets?proxies=async: the spooled upload goes into the store and
 * an ingest job is queued for the batch workers (`worker`, `run`), which
 * catalog it for the caller's account and make its proxies later; the
 * answer is 202 with the job's id and status URL (GET /v1/jobs/{id}).
 * Nothing is decoded here: a file tierpress cannot read fails its job
 * (permanently, with the reason in the job's status).  The job is one per
 * (content, account): another account's job for the same bytes is not
 * looked at, so the answer reveals nothing about other owners. */
static enum MHD_Result upload_async(struct server *s, struct MHD_Connection *c, struct req *r,
                                    const char *hex, const char *name,
                                    const struct catalog_ingest_meta *meta, struct idem *ie)
{
    char stored[SHA256_HEX_LEN + 1];
    struct catalog_idem won;
    struct home *h;
    int64_t job = 0;
    int ret;
    if (!(h = home_take(s, &ret))) {
        upload_cleanup(r);
        idem_fail(s, ie);
        return problem_err(c, r, ret, NULL);
    }
    tp_err_clear();
    /* the spool file must still hash to what was received */
    if ((ret = store_put_file(h->store, r->tmp, hex, NULL, stored)) >= 0)
        ret = catalog_job_enqueue_ingest(h->cat, hex, r->owner, meta, 0, &job);
    upload_cleanup(r);
    if (ret < 0) {
        home_give(s, h);
        idem_fail(s, ie);
        return problem_err(c, r, ret, name);
    }
    idem_done(s, h, ie, r, 0, job, 202, ret, &won);
    home_give(s, h);
    if (ie && strcmp(won.sha256, hex))
        return idem_reused(c, r);
    /* its state now: a repeat finds the job as it is (maybe done); the
     * answer another server recorded first when it raced us on the key */
    return idem_replay(s, c, r, &won, name);
}

/* GET /v1/jobs/ID: an async upload's job, only to the account that queued
 * it (another's, or a transcode job, answers exactly as a missing one). */
static enum MHD_Result get_job(struct server *s, struct MHD_Connection *c, struct req *r,
                               int64_t id)
{
    struct catalog_ingest_job ij;
    struct home *h;
    json_t *o;
    int ret;
    if (!(h = home_take(s, &ret)))
        return problem_err(c, r, ret, NULL);
    ret = catalog_job_ingest_get(h->cat, id, &ij);
    home_give(s, h);
    if (ret == TP_ERR_NOTFOUND || (ret >= 0 && (!r->owner || strcmp(r->owner, ij.account)))) {
        tp_err_clear();
        return problem(c, r, 404, "not-found", "Not Found", "no such job");
    }
    if (ret < 0)
        return problem_err(c, r, ret, NULL);
    if (!(o = service_job_json(&ij)))
        return MHD_NO;
    return send_json(c, r, 200, o);
}

static enum MHD_Result upload_finish(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct ingest_result res;
    struct catalog_asset a;
    struct home *h = NULL;
    char hex[SHA256_HEX_LEN + 1], name[256];
    uint8_t d[32];
    const char *fname = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-File-Name");
    enum MHD_Result mr;
    json_t *o;
    int ret;

    snprintf(name, sizeof(name), "%s", fname && *fname ? fname : "upload");
    if (r->too_big) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%s: over the %llu-byte upload limit", name,
                 (unsigned long long)s->o->max_body_bytes);
        return problem(c, r, 413, "too-large", "Payload Too Large", msg);
    }
    if (r->failed)
        return problem(c, r, 500, "internal", "Internal Server Error", "cannot spool the upload");
    if (!r->got)
        return problem(c, r, 400, "empty-body", "Bad Request", "the request body is empty");
    sha256_final(&r->sha, d);
    sha256_to_hex(d, hex);
    if (close(r->fd) < 0) {
        r->fd = -1;
        return problem(c, r, 500, "internal", "Internal Server Error", "cannot spool the upload");
    }
    r->fd = -1;

    const char *px = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "proxies");
    /* Idempotency-Key: a retry gets the first answer; the key with other
     * bytes is refused; one still in flight is a conflict */
    const char *ikey = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    int async;
    ret = service_upload_params(NULL, 0, px, ikey, &async);
    if (ret == SERVICE_BAD_PROXIES)
        return problem(c, r, 400, "bad-parameter", "Bad Request",
                       "proxies: 'sync' (the default) or 'async'");
    if (ret == SERVICE_BAD_IDEM_KEY)
        return problem(c, r, 400, "bad-idempotency-key", "Bad Request",
                       "Idempotency-Key: 1..127 characters");
    struct idem *ie = NULL;
    struct catalog_idem ans;
    int known = 0, fresh = 0;
    if (ikey) {
        pthread_mutex_lock(&s->lock);
        ie = idem_find(s, r->owner ? r->owner : "", ikey, 0);
        if (ie && strcmp(ie->sha, hex)) {
            pthread_mutex_unlock(&s->lock);
            upload_cleanup(r);
            return idem_reused(c, r);
        }
        if (ie && !ie->asset_id && !ie->job_id) {
            pthread_mutex_unlock(&s->lock);
            return problem(c, r, 409, "idempotency-key-in-flight", "Conflict",
                           "a request with this Idempotency-Key is still being processed");
        }
        if (ie) {
            known = 1;
        } else {
            /* in flight from here: a second request with the key waits
             * (409) while the catalog is asked */
            ie = idem_find(s, r->owner ? r->owner : "", ikey, 1);
            memcpy(ie->sha, hex, sizeof(ie->sha));
            fresh = 1;
        }
        pthread_mutex_unlock(&s->lock);
    }
    /* not in memory: the catalog has the answers of this server before a
     * restart and of the fleet's other servers */
    if (fresh) {
        if (!(h = home_take(s, &ret))) {
            upload_cleanup(r);
            idem_fail(s, ie);
            return problem_err(c, r, ret, NULL);
        }
        tp_err_clear();
        ret = catalog_idem_get(h->cat, idem_account(r), ikey, (int64_t)time(NULL), &ans);
        home_give(s, h);
        h = NULL;
        if (ret == TP_ERR_NOTFOUND) {
            tp_err_clear();
        } else if (ret < 0) {
            upload_cleanup(r);
            idem_fail(s, ie);
            return problem_err(c, r, ret, name);
        } else {
            pthread_mutex_lock(&s->lock);
            memcpy(ie->sha, ans.sha256, sizeof(ie->sha));
            ie->asset_id = ans.asset_id;
            ie->job_id = ans.job_id;
            ie->status = ans.status;
            ie->new_job = ans.new_job;
            ie->until = (time_t)(ans.created + CATALOG_IDEM_TTL);
            pthread_mutex_unlock(&s->lock);
            known = 1;
        }
    }
    if (known) {
        pthread_mutex_lock(&s->lock);
        memset(&ans, 0, sizeof(ans));
        memcpy(ans.sha256, ie->sha, sizeof(ans.sha256));
        ans.asset_id = ie->asset_id;
        ans.job_id = ie->job_id;
        ans.status = ie->status;
        ans.new_job = ie->new_job;
        pthread_mutex_unlock(&s->lock);
        upload_cleanup(r);
        if (strcmp(ans.sha256, hex))
            return idem_reused(c, r);
        /* a retry gets the first answer, whichever path made it */
        return idem_replay(s, c, r, &ans, name);
    }
    if (async) {
        struct catalog_ingest_meta meta;
        const char *xid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-External-Id");
        const char *xct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Capture-Time");
        snprintf(meta.file_name, sizeof(meta.file_name), "%s", fname ? fname : "");
        snprintf(meta.external_id, sizeof(meta.external_id), "%s", xid ? xid : "");
        snprintf(meta.capture_hint, sizeof(meta.capture_hint), "%s", xct ? xct : "");
        return upload_async(s, c, r, hex, name, &meta, ie);
    }

    if ((ret = slot_take(s)) < 0) {
        idem_fail(s, ie);
        return problem(c, r, 503, "overloaded", "Service Unavailable",
                       "every decode slot is busy and the wait queue is full");
    }
    if (!(h = home_take(s, &ret))) {
        slot_give(s);
        idem_fail(s, ie);
        return problem_err(c, r, ret, NULL);
    }
    tp_err_clear();
    struct ingest_opts io = s->iopts;
    io.owner = r->owner;
    io.file_name = fname && *fname ? fname : NULL;
    io.external_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-External-Id");
    io.capture_time_hint = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Capture-Time");
    ret = ingest_upload(h, r->tmp, hex, name, &io, &res);
    slot_give(s);
    upload_cleanup(r);
    if (ret < 0) {
        idem_fail(s, ie);
        mr = problem_err(c, r, ret, name);
        home_give(s, h);
        return mr;
    }
    if ((ret = owned_asset(h, r->owner, res.asset_id, &a, 0)) < 0 ||
        !(o = service_asset_json(s, h, &a, &ret))) {
        idem_fail(s, ie);
        mr = problem_err(c, r, ret, name);
        home_give(s, h);
        return mr;
    }
    idem_done(s, h, ie, r, res.asset_id, 0, res.duplicate ? 200 : 201, 0, &ans);
    home_give(s, h);
    if (ie && strcmp(ans.sha256, hex)) {
        json_decref(o);
        return idem_reused(c, r);
    }
    /* another server recorded the key first (racing us): its answer */
    if (ans.asset_id != res.asset_id || ans.job_id || ans.status != (res.duplicate ? 200 : 201)) {
        json_decref(o);
        return idem_replay(s, c, r, &ans, name);
    }
    return send_json(c, r, ans.status, o);
}

static enum MHD_Result upload(struct server *s, struct MHD_Connection *c, struct req *r,
                              const char *data, size_t *size)
{
    if (*size) {
        if (elapsed(&r->start) > s->o->request_timeout_s)
            return MHD_NO; /* too slow: drop the connection */
        metrics_bytes(*size, 0);
        if (!r->too_big && !r->failed) {
            if (r->got + *size > s->o->max_body_bytes) {
                r->too_big = 1;
                upload_cleanup(r);
            } else {
                sha256_update(&r->sha, data, *size);
                if (file_write_all(r->fd, data, *size) < 0) {
                    r->failed = 1;
                    upload_cleanup(r);
                }
                r->got += *size;
            }
        }
        *size = 0;
        return MHD_YES;
    }
    return upload_finish(s, c, r);
}

static enum MHD_Result upload_begin(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    int async;
    if (service_upload_params(cl, s->o->max_body_bytes, NULL, NULL, &async) == SERVICE_BAD_LENGTH) {
        char msg[200];
        snprintf(msg, sizeof(msg), "Content-Length %s is over the %llu-byte upload limit", cl,
                 (unsigned long long)s->o->max_body_bytes);
        return problem(c, r, 413, "too-large", "Payload Too Large", msg);
    }
    snprintf(r->tmp, sizeof(r->tmp), "%s/upload-XXXXXX", s->tmpdir);
    if ((r->fd = mkostemp(r->tmp, O_CLOEXEC)) < 0) {
        r->tmp[0] = '\0';
        return problem(c, r, 500, "internal", "Internal Server Error", "cannot spool the upload");
    }
    sha256_init(&r->sha);
    metrics_inflight(1);
    r->counted = 1;
    return MHD_YES;
}

/* The rendition whose blob is the asset's current one (a swap's). */
struct blob_current {
    const char *blob;
    struct catalog_rendition *r;
    int found;
};

static int find_current(void *ud, const struct catalog_rendition *rd)
{
    struct blob_current *bc = ud;
    if (!strcmp(rd->blob, bc->blob)) {
        *bc->r = *rd;
        bc->found = 1;
    }
    return 0;
}

static enum MHD_Result get_asset(struct server *s, struct MHD_Connection *c, struct req *r,
                                 int64_t id, const char *what, const char *rend)
{
    struct catalog_asset a;
    struct home *h;
    struct tp_buf b = { 0 };
    int ret;

    if (!(h = home_take(s, &ret)))
        return problem_err(c, r, ret, NULL);
    if ((ret = owned_asset(h, r->owner, id, &a, what && !strcmp(what, "restore"))) < 0) {
        home_give(s, h);
        return ret == TP_ERR_NOTFOUND ? not_found(c, r) : problem_err(c, r, ret, NULL);
    }
    if (what && (!strcmp(what, "delete") || !strcmp(what, "restore"))) {
        char now[CATALOG_TIME] = "";
        if (!strcmp(what, "delete"))
            time_format(time(NULL), now, sizeof(now));
        ret = pairs_trash(h, a.id, now, NULL); /* a Live Photo: both halves */
        if (ret >= 0 && !strcmp(what, "restore") && (ret = owned_asset(h, r->owner, id, &a, 0)) >= 0) {
            json_t *o = service_asset_json(s, h, &a, &ret);
            home_give(s, h);
            return o ? send_json(c, r, 200, o) : problem_err(c, r, ret, NULL);
        }
        home_give(s, h);
        if (ret < 0)
            return problem_err(c, r, ret, NULL);
        return answer(c, r, 204, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
    }
    if (!what) {
        json_t *o = service_asset_json(s, h, &a, &ret);
        home_give(s, h);
        return o ? send_json(c, r, 200, o) : problem_err(c, r, ret, NULL);
    }
    if (!strcmp(what, "original") && (a.original_blob[0] || !strcmp(a.current_blob, a.sha256)))
        /* the uploaded bytes, as stored */
        return send_stream(s, c, r, h, a.original_blob[0] ? a.original_blob : a.current_blob,
                           a.bytes, content_type(a.format));
    if (!strcmp(what, "original")) {
        /* the original was released after a swap: the current
         * representation decides.  A JPEG XL may rebuild the uploaded
         * JPEG (in memory, checked); any other format is served as stored,
         * once only a lossy representation is left (its format and size
         * are its rendition's, e.g. 'cold') */
        struct catalog_rendition cur = { .bytes = 0 };
        struct blob_current bc = { .blob = a.current_blob, .r = &cur };
        catalog_rendition_iterate(h->cat, a.id, find_current, &bc);
        tp_err_clear();
        if (bc.found && strcmp(cur.format, "jxl"))
            return send_stream(s, c, r, h, a.current_blob, cur.bytes, content_type(cur.format));
        ret = serve_original(h, &a, 0, &b);
        home_give(s, h);
        if (ret < 0)
            return problem_err(c, r, ret, NULL);
        if (ret == SERVE_CURRENT)
            return send_bytes(c, r, &b, content_type(bc.found ? cur.format : a.format),
                              a.current_blob);
        return send_bytes(c, r, &b, content_type(a.format), a.sha256);
    }
    struct catalog_rendition rd;
    if ((ret = catalog_rendition_get(h->cat, a.id, rend, &rd)) < 0) {
        home_give(s, h);
        if (ret == TP_ERR_NOTFOUND)
            return problem(c, r, 404, "not-found", "Not Found", "no such rendition");
        return problem_err(c, r, ret, NULL);
    }
    return send_stream(s, c, r, h, rd.blob, rd.bytes, content_type(rd.format));
}

/* GET /v1/assets pages: ?limit= (default LIST_DEFAULT, at most LIST_MAX). */
#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define LIST_MORE 1 /* list_one: the row past the page was seen */

struct listing {
    struct server *s;
    struct home *h;
    json_t *arr;
    int64_t limit, n, last_id;
    int ret;
};

static int list_one(void *ud, const struct catalog_asset *a)
{
    struct listing *l = ud;
    json_t *o;
    if (l->n == l->limit)
        return LIST_MORE; /* one row past the page: there is a next one */
    if (!(o = service_asset_json(l->s, l->h, a, &l->ret)))
        return l->ret < 0 ? l->ret : TP_ERR(ENOMEM);
    if (json_array_append_new(l->arr, o))
        return TP_ERR(ENOMEM);
    l->n++;
    l->last_id = a->id;
    return 0;
}

/* A decimal query argument in lo..hi (absent: def); -1 when malformed. */
static int64_t query_int(struct MHD_Connection *c, const char *key, int64_t def, int64_t lo,
                         int64_t hi)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    char *end;
    long long n;
    if (!v)
        return def;
    errno = 0;
    n = strtoll(v, &end, 10);
    if (!*v || *end || errno || n < lo || n > hi)
        return -1;
    return n;
}

/* GET /v1/assets?limit=N&after=ID: one page of the owner's assets (not
 * those in the trash) in id order, a keyset walk of the owner's index:
 * the memory and the time of a page are bounded by its size, whatever the
 * catalog holds.  "next" is the URL of the following page (null on the
 * last one). */
static enum MHD_Result list_assets(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct listing l = { .s = s };
    struct catalog_asset_query q = { .owner = r->owner, .live = 1 };
    char next[128];
    json_t *o;
    int ret;
    l.limit = query_int(c, "limit", LIST_DEFAULT, 1, LIST_MAX);
    q.after = query_int(c, "after", 0, 0, INT64_MAX);
    if (l.limit < 0 || q.after < 0) {
        snprintf(next, sizeof(next), "limit: 1..%d (default %d); after: an asset id", LIST_MAX,
                 LIST_DEFAULT);
        return problem(c, r, 400, "bad-parameter", "Bad Request", next);
    }
    q.limit = l.limit + 1;
    if (!r->owner)
        return not_found(c, r);
    if (!(l.h = home_take(s, &ret)))
        return problem_err(c, r, ret, NULL);
    if (!(l.arr = json_array())) {
        home_give(s, l.h);
        return MHD_NO;
    }
    ret = catalog_asset_list(l.h->cat, &q, list_one, &l);
    home_give(s, l.h);
    if (ret < 0) {
        json_decref(l.arr);
        return problem_err(c, r, ret, NULL);
    }
    snprintf(next, sizeof(next), "/v1/assets?limit=%lld&after=%lld", (long long)l.limit,
             (long long)l.last_id);
    o = json_pack("{s:o, s:s?}", "assets", l.arr, "next", ret == LIST_MORE ? next : NULL);
    if (!o)
        return MHD_NO;
    return send_json(c, r, 200, o);
}

static enum MHD_Result readyz(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct home *h;
    int64_t n = 0;
    int ret;
    static const char zero[SHA256_HEX_LEN + 1] =
        "0000000000000000000000000000000000000000000000000000000000000000";
    if (!(h = home_take(s, &ret)))
        return problem(c, r, 503, "not-ready", "Service Unavailable", "the home cannot be opened");
    ret = catalog_blob_count(h->cat, &n);
    if (ret >= 0) {
        ret = store_exists(h->store, zero, NULL);
        ret = ret < 0 && ret != TP_ERR_NOTFOUND ? ret : 0;
    }
    home_give(s, h);
    if (ret < 0)
        return problem(c, r, 503, "not-ready", "Service Unavailable", "catalog or store unreachable");
    return answer(c, r, 200, resp_copy("ready\n", 6, "text/plain"));
}

/* ---- routing ---- */

/* The owner of the request (r->owner): the bearer token's, or a valid
 * signed URL (renditions only); "local" when no tokens are configured. */
static int authenticate(struct server *s, struct MHD_Connection *c, struct req *r,
                        const struct service_request *rq, const char *url)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *exp = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "exp");
    const char *sig = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sig");
    return service_authenticate(s->auth, rq, url, h, exp, sig, time(NULL), &r->owner);
}

/* GET /report: the newest .html file in HOME/reports (simulate --html writes
 * there when asked to), for the status page's link. */
static enum MHD_Result latest_report(struct server *s, struct MHD_Connection *c, struct req *r)
{
    char dir[4200], best[4500] = "", p[4500];
    struct dirent *e;
    struct stat st;
    time_t newest = 0;
    struct tp_buf b = { 0 };
    DIR *dp;
    snprintf(dir, sizeof(dir), "%s/reports", s->cfg->home);
    if ((dp = opendir(dir))) {
        while ((e = readdir(dp))) {
            size_t n = strlen(e->d_name);
            if (n < 6 || strcmp(e->d_name + n - 5, ".html"))
                continue;
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_mtime >= newest) {
                newest = st.st_mtime;
                snprintf(best, sizeof(best), "%s", p);
            }
        }
        closedir(dp);
    }
    if (!best[0] || file_read(best, 64 << 20, &b) < 0) {
        tp_err_clear();
        return problem(c, r, 404, "not-found", "Not Found",
                       "no simulate report in HOME/reports/ (simulate --html HOME/reports/NAME.html)");
    }
    struct MHD_Response *resp = resp_copy(b.data, b.len, "text/html; charset=utf-8");
    buf_free(&b);
    return answer(c, r, 200, resp);
}

static int from_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr_in *sin;
    if (!ci || !ci->client_addr || ci->client_addr->sa_family != AF_INET)
        return 0;
    sin = (const struct sockaddr_in *)(const void *)ci->client_addr;
    return ntohl(sin->sin_addr.s_addr) >> 24 == 127;
}

static enum MHD_Result route(struct server *s, struct MHD_Connection *c, struct req *r,
                             const char *url, const char *method, const char *data,
                             size_t *size, int first)
{
    struct service_request rq;
    service_route_parse(method, url, &rq);
    int64_t id = rq.id;
    int get = rq.get;

    if (first) {
        r->route = rq.route;
        if (r->route == ROUTE_OTHER)
            return problem(c, r, 404, "not-found", "Not Found", "no such resource");
        if (r->route == ROUTE_HEALTHZ && get)
            return answer(c, r, 200, resp_copy("ok\n", 3, "text/plain"));
        if (r->route == ROUTE_METRICS && get) {
            char *t = metrics_text();
            struct MHD_Response *resp = t ? resp_copy(t, strlen(t), "text/plain; version=0.0.4") : NULL;
            free(t);
            return answer(c, r, 200, resp);
        }
        if (r->route == ROUTE_READYZ && get)
            return readyz(s, c, r);
        /* the operators' page: from loopback without a token */
        int a = r->route == ROUTE_STATUS && from_loopback(c) ? 0 : authenticate(s, c, r, &rq, url);
        if (a == -2)
            return problem(c, r, 403, "url-expired", "Forbidden", "the signed URL has expired");
        if (a == -3)
            return problem(c, r, 403, "bad-signature", "Forbidden", "the URL's signature is not valid");
        if (a < 0)
            return problem(c, r, 401, "unauthorized", "Unauthorized", "a valid bearer token is required");
        if (r->route == ROUTE_UPLOAD)
            return upload_begin(s, c, r);
    }
    if (r->route == ROUTE_UPLOAD)
        return upload(s, c, r, data, size);
    if (r->route == ROUTE_STATUS && get && !strcmp(url, "/report"))
        return latest_report(s, c, r);
    if (r->route == ROUTE_STATUS && get) {
        struct home *h;
        int ret;
        char *html;
        if (!(h = home_take(s, &ret)))
            return problem_err(c, r, ret, NULL);
        html = status_page_html(h);
        home_give(s, h);
        if (!html)
            return problem(c, r, 500, "internal", "Internal Server Error", "status page");
        struct MHD_Response *resp = resp_copy(html, strlen(html), "text/html; charset=utf-8");
        free(html);
        return answer(c, r, 200, resp);
    }
    if (r->route == ROUTE_ASSET && get)
        return get_asset(s, c, r, id, NULL, NULL);
    if (r->route == ROUTE_ORIGINAL && get)
        return get_asset(s, c, r, id, "original", NULL);
    if (r->route == ROUTE_RENDITION && get)
        return get_asset(s, c, r, id, "rendition", rq.rendition);
    if (r->route == ROUTE_DELETE && r->owner)
        return get_asset(s, c, r, id, "delete", NULL);
    if (r->route == ROUTE_RESTORE && !strcmp(method, "POST") && r->owner)
        return get_asset(s, c, r, id, "restore", NULL);
    if (r->route == ROUTE_LIST && get)
        return list_assets(s, c, r);
    if (r->route == ROUTE_JOB && get)
        return get_job(s, c, r, id);
    return problem(c, r, 405, "method-not-allowed", "Method Not Allowed", method);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
    struct server *s = cls;
    struct req *r = *con_cls;
    (void)version;
    if (!r) {
        if (!(r = tp_calloc(1, sizeof(*r))))
            return MHD_NO;
        r->fd = -1;
        clock_gettime(CLOCK_MONOTONIC, &r->start);
        *con_cls = r;
        atomic_fetch_add(&s->inflight, 1);
        return route(s, c, r, url, method, data, size, 1);
    }
    if (r->status) {
        *size = 0; /* answered already: discard the rest of the body */
        return MHD_YES;
    }
    return route(s, c, r, url, method, data, size, 0);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;
    struct req *r = *con_cls;
    (void)c;
    (void)toe;
    if (!r)
        return;
    metrics_request(r->route, r->status ? r->status : 499, elapsed(&r->start));
    if (r->counted)
        metrics_inflight(-1);
    upload_cleanup(r);
    sha256_free(&r->sha); /* an upload that ended before its digest (413, a dropped client) */
    tp_free(r);
    *con_cls = NULL;
    atomic_fetch_sub(&s->inflight, 1);
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    tp_log(TP_LOG_DEBUG, "microhttpd: %s", line);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    long port;
    char *end;
    RETURN_ERR_IF(!colon || colon == listen || (size_t)(colon - listen) >= sizeof(host),
                  TP_ERR_USAGE, "--listen %s: want ADDR:PORT", listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtol(colon + 1, &end, 10);
    RETURN_ERR_IF(*end || port < 0 || port > 65535, TP_ERR_USAGE, "--listen %s: bad port", listen);
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    if (!strcmp(host, "localhost"))
        snprintf(host, sizeof(host), "127.0.0.1");
    RETURN_ERR_IF(inet_pton(AF_INET, host, &sa->sin_addr) != 1, TP_ERR_USAGE,
                  "--listen %s: not an IPv4 address", listen);
    return 0;
}

/* Spools a killed server left: never referenced by anything. */
static void clean_spools(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char p[4400];
    if (!dp)
        return;
    while ((e = readdir(dp)))
        if (!strncmp(e->d_name, "upload-", 7)) {
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
    closedir(dp);
}

int service_run(const struct config *cfg, const struct service_opts *o)
{
    struct server s;
    struct sockaddr_in sa;
    struct MHD_Daemon *d = NULL;
    struct home *h0 = NULL;
    sigset_t set;
    int ret, sig = 0;

    memset(&s, 0, sizeof(s));
    s.cfg = cfg;
    s.o = o;
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.cond, NULL);
    FORWARD_ERR(service_validate(o));
    FORWARD_ERR(parse_listen(o->listen, &sa));
    if ((ret = service_auth_load(&s.auth, o->tokens_file, o->signing_key_file)) < 0)
        goto end;
    if (!(s.idem = tp_calloc(IDEM_MAX, sizeof(*s.idem)))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if (!service_auth_ntokens(s.auth)) {
        if (ntohl(sa.sin_addr.s_addr) >> 24 != 127) {
            tp_err_set("--listen %s: no bearer tokens are configured (--tokens FILE or "
                       "TIERPRESS_TOKENS): without auth the server binds to loopback only",
                       o->listen);
            ret = TP_ERR_USAGE;
            goto end;
        }
        tp_log(TP_LOG_WARN, "no bearer tokens configured: no authentication, loopback only "
               "(%s), every asset belongs to owner 'local'", o->listen);
    }
    ingest_defaults(&s.iopts);
    s.iopts.limits.max_pixels = o->max_pixels;
    s.iopts.limits.max_file_bytes = o->max_body_bytes;
    s.iopts.isolate = o->isolate;
    if (o->isolate && o->pool) {
        if ((ret = ingest_pool_open(&s.workers, o->threads)) < 0)
            goto end;
        s.iopts.pool = s.workers;
    }
    /* the home is made (like ingest) and its catalog migrated once */
    if (!(h0 = tp_calloc(1, sizeof(*h0)))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if ((ret = home_open_mode(h0, cfg, HOME_CREATE)) < 0 || (ret = catalog_durable(h0->cat)) < 0) {
        home_close(h0);
        tp_free(h0);
        goto end;
    }
    home_give(&s, h0);
    snprintf(s.tmpdir, sizeof(s.tmpdir), "%s/uploads", cfg->home);
    if ((ret = file_mkdirs(s.tmpdir, 0700)) < 0)
        goto end;
    clean_spools(s.tmpdir);

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_ERROR_LOG,
                         0, NULL, NULL, on_request, &s,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->connections,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, &s,
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
                         MHD_OPTION_END);
    if (!d) {
        tp_err_set("cannot listen on %s: %s", o->listen, strerror(errno));
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    {
        const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
        char url[64];
        snprintf(url, sizeof(url), "http://%s:%u", inet_ntoa(sa.sin_addr), info ? info->port : 0);
        tp_log(TP_LOG_INFO, "serving %s on %s/ (%d decode slots%s, queue %d)", cfg->home, url,
               o->threads, !o->isolate ? ", in the server's threads" :
               o->pool ? ", resident sandboxed workers" : ", a sandboxed worker per upload",
               o->queue);
        if (o->ready)
            o->ready(url);
    }
    sigwait(&set, &sig);
    tp_log(TP_LOG_INFO, "signal %d: no longer accepting; draining", sig);
    MHD_quiesce_daemon(d);
    for (int i = 0; i < 3000 && atomic_load(&s.inflight) > 0; i++)
        usleep(10000);
    ret = 0;
end:
    if (d)
        MHD_stop_daemon(d);
    while (s.npool) {
        struct home *h = s.pool[--s.npool];
        home_close(h);
        tp_free(h);
    }
    while (s.nstores)
        store_close(&s.stores[--s.nstores]);
    sandbox_pool_close(&s.workers); /* after the daemon: no upload is running */
    service_auth_free(&s.auth);
    tp_free(s.idem);
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.cond);
    return ret;
}
