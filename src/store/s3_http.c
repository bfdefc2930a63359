/* The S3 client's request engine: settings, URLs (path-style or
 * virtual-hosted), SigV4 signing by libcurl (CURLOPT_AWS_SIGV4), retries
 * with exponential backoff and full jitter, and the one translation of S3
 * answers into tierpress errors. */
#include <ctype.h>
#include <libxml/parser.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "s3_internal.h"

#define ERRBODY_MAX (64 * 1024) /* an error body longer than this is cut */
#define BACKOFF_CAP_MS 20000

const char s3_empty_sha256[65] =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void s3_settings_defaults(struct s3_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->path_style = 1;
    s->max_retries = 5;
    s->retry_base_ms = 100;
    s->timeout_s = 30;
    s->multipart_threshold = 64ull << 20;
    s->part_size = 16ull << 20;
    s->parallel = 4;
}

int s3_settings_validate(const struct s3_settings *s)
{
    const char *ep = s->endpoint;
    RETURN_ERR_IF(!s->bucket || !*s->bucket || strchr(s->bucket, '/'), TP_ERR(EINVAL),
                  "s3: the bucket name is missing or has a '/'");
    RETURN_ERR_IF(!s->access_key || !*s->access_key || !s->secret_key || !*s->secret_key,
                  TP_ERR(EINVAL),
                  "s3://%s: no credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
                  s->bucket);
    RETURN_ERR_IF(ep && *ep && strncmp(ep, "https://", 8) && strncmp(ep, "http://", 7),
                  TP_ERR(EINVAL), "s3://%s: endpoint '%.200s' is not an http:// or https:// URL",
                  s->bucket, ep);
    RETURN_ERR_IF(s->max_retries < 0 || s->max_retries > 20, TP_ERR(EINVAL),
                  "s3://%s: retries %d is not in 0..20", s->bucket, s->max_retries);
    RETURN_ERR_IF(s->retry_base_ms < 1 || s->retry_base_ms > 60000, TP_ERR(EINVAL),
                  "s3://%s: retry base %d ms is not in 1..60000", s->bucket, s->retry_base_ms);
    RETURN_ERR_IF(s->timeout_s < 1 || s->timeout_s > 3600, TP_ERR(EINVAL),
                  "s3://%s: timeout %d s is not in 1..3600", s->bucket, s->timeout_s);
    RETURN_ERR_IF(s->part_size < (5ull << 20) || s->part_size > (5ull << 30), TP_ERR(EINVAL),
                  "s3://%s: part size %llu is not in 5 MiB..5 GiB", s->bucket,
                  (unsigned long long)s->part_size);
    RETURN_ERR_IF(s->multipart_threshold < 1 || s->multipart_threshold > (5ull << 30),
                  TP_ERR(EINVAL), "s3://%s: multipart threshold %llu is not in 1..5 GiB",
                  s->bucket, (unsigned long long)s->multipart_threshold);
    RETURN_ERR_IF(s->parallel < 1 || s->parallel > 16, TP_ERR(EINVAL),
                  "s3://%s: parallel parts %d is not in 1..16", s->bucket, s->parallel);
    return 0;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
}

CURL *s3_handle_new(void)
{
    pthread_once(&curl_once, curl_init_once);
    return curl_easy_init();
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = tp_strdup(src);
    return *dst ? 0 : TP_ERR(ENOMEM);
}

int s3_client_open(struct s3_client **out, const struct s3_settings *s)
{
    struct s3_client *c = NULL;
    char defep[128];
    int ret;
    *out = NULL;
    FORWARD_ERR(s3_settings_validate(s));
    RETURN_ERR_IF(!(c = tp_calloc(1, sizeof(*c))), TP_ERR(ENOMEM), "s3: out of memory");
    c->set = *s;
    const char *region = s->region && *s->region ? s->region : "us-east-1";
    const char *ep = s->endpoint && *s->endpoint ? s->endpoint : NULL;
    if (!ep) {
        snprintf(defep, sizeof(defep), "https://s3.%s.amazonaws.com", region);
        ep = defep;
    }
    if ((ret = dup_opt(&c->endpoint, ep)) < 0 || (ret = dup_opt(&c->region, region)) < 0 ||
        (ret = dup_opt(&c->bucket, s->bucket)) < 0 ||
        (ret = dup_opt(&c->access_key, s->access_key)) < 0 ||
        (ret = dup_opt(&c->secret_key, s->secret_key)) < 0 ||
        (ret = dup_opt(&c->session_token, s->session_token && *s->session_token
                                              ? s->session_token : NULL)) < 0)
        goto fail;
    size_t n = strlen(c->endpoint); /* "http://host:port/" -> without the slash */
    while (n > 8 && c->endpoint[n - 1] == '/')
        c->endpoint[--n] = '\0';
    c->set.endpoint = c->endpoint;
    c->set.region = c->region;
    c->set.bucket = c->bucket;
    c->set.access_key = c->access_key;
    c->set.secret_key = c->secret_key;
    c->set.session_token = c->session_token;
    snprintf(c->sigv4, sizeof(c->sigv4), "aws:amz:%s:s3", c->region);
    if (!(c->curl = s3_handle_new())) {
        tp_err_set("s3://%s: cannot create a curl handle", c->bucket);
        ret = TP_ERR(ENOMEM);
        goto fail;
    }
    *out = c;
    return 0;
fail:
    s3_client_close(&c);
    return ret;
}

void s3_client_close(struct s3_client **pc)
{
    struct s3_client *c = pc ? *pc : NULL;
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    if (c->secret_key)
        memset(c->secret_key, 0, strlen(c->secret_key));
    tp_free(c->endpoint);
    tp_free(c->region);
    tp_free(c->bucket);
    tp_free(c->access_key);
    tp_free(c->secret_key);
    tp_free(c->session_token);
    tp_free(c);
    *pc = NULL;
}

const char *s3_client_bucket(const struct s3_client *c)
{
    return c->bucket;
}

int s3_client_dup(struct s3_client **out, const struct s3_client *c)
{
    return s3_client_open(out, &c->set);
}

void s3_digests(const uint8_t *data, size_t len, char md5_b64[25], char sha_hex[65])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (md5_b64) {
        EVP_Digest(data, len, d, &n, EVP_md5(), NULL);
        EVP_EncodeBlock((unsigned char *)md5_b64, d, (int)n);
    }
    if (sha_hex) {
        EVP_Digest(data, len, d, &n, EVP_sha256(), NULL);
        for (unsigned i = 0; i < n; i++)
            snprintf(sha_hex + 2 * i, 3, "%02x", d[i]);
    }
}

int s3_uri_encode(struct tp_buf *out, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~' ||
            (keep_slash && ch == '/')) {
            FORWARD_ERR(buf_append(out, s, 1));
        } else {
            char e[3] = { '%', hex[ch >> 4], hex[ch & 15] };
            FORWARD_ERR(buf_append(out, e, 3));
        }
    }
    return 0;
}

/* scheme://[bucket.]host[/base]/[bucket/]key[?query] */
static int build_url(const struct s3_client *c, const struct s3_req *r, struct tp_buf *u)
{
    const char *ep = c->endpoint;
    const char *host = strstr(ep, "://") + 3;
    const char *path = strchr(host, '/');
    size_t hostlen = path ? (size_t)(path - host) : strlen(host);
    u->len = 0;
    FORWARD_ERR(buf_append(u, ep, (size_t)(host - ep)));
    if (!c->set.path_style) {
        FORWARD_ERR(buf_append(u, c->bucket, strlen(c->bucket)));
        FORWARD_ERR(buf_append(u, ".", 1));
    }
    FORWARD_ERR(buf_append(u, host, hostlen));
    if (path)
        FORWARD_ERR(buf_append(u, path, strlen(path)));
    FORWARD_ERR(buf_append(u, "/", 1));
    if (c->set.path_style) {
        FORWARD_ERR(s3_uri_encode(u, c->bucket, 0));
        if (r->key)
            FORWARD_ERR(buf_append(u, "/", 1));
    }
    if (r->key)
        FORWARD_ERR(s3_uri_encode(u, r->key, 1));
    if (r->query) {
        FORWARD_ERR(buf_append(u, "?", 1));
        FORWARD_ERR(buf_append(u, r->query, strlen(r->query)));
    }
    return buf_append(u, "", 1);
}

/* --- per-attempt transfer state ------------------------------------------ */
struct xfer {
    struct s3_req *r;
    CURL *h;
    uint64_t sent;         /* request body bytes handed to curl */
    struct tp_buf err;     /* a non-2xx body */
    int sink_ret;          /* the sink's non-zero return */
};

static size_t on_read(char *buf, size_t size, size_t nitems, void *ud)
{
    struct xfer *x = ud;
    struct s3_req *r = x->r;
    uint64_t left = r->body_len - x->sent;
    size_t n = size * nitems;
    if (n > left)
        n = (size_t)left;
    if (!n)
        return 0;
    if (r->body) {
        memcpy(buf, r->body + x->sent, n);
    } else {
        ssize_t got = pread(r->body_fd, buf, n, (off_t)(r->body_off + x->sent));
        if (got <= 0)
            return CURL_READFUNC_ABORT;
        n = (size_t)got;
    }
    x->sent += n;
    return n;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    struct s3_req *r = x->r;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code >= 300) {
        size_t room = x->err.len < ERRBODY_MAX ? ERRBODY_MAX - x->err.len : 0;
        if (buf_append(&x->err, data, n < room ? n : room) < 0)
            return 0;
        return n;
    }
    if (r->sink) {
        int ret = r->sink(r->sink_ud, (const uint8_t *)data, n);
        if (ret) {
            x->sink_ret = ret;
            return 0;
        }
        r->delivered += n;
        return n;
    }
    if (r->resp && buf_append(r->resp, data, n) < 0)
        return 0;
    return n;
}

static void copy_value(char *dst, size_t dlen, const char *v, size_t vlen)
{
    while (vlen && isspace((unsigned char)v[vlen - 1]))
        vlen--;
    while (vlen && isspace((unsigned char)*v)) {
        v++;
        vlen--;
    }
    if (vlen >= dlen)
        vlen = dlen - 1;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    struct s3_req *r = ((struct xfer *)ud)->r;
    size_t n = size * nitems;
    char tmp[128];
    const char *colon = memchr(line, ':', n);
    if (n >= 5 && !memcmp(line, "HTTP/", 5)) { /* a new response (after 100 Continue too) */
        r->etag[0] = r->storage_class[0] = '\0';
        r->last_modified = 0;
        r->content_length = 0;
        return n;
    }
    if (!colon)
        return n;
    size_t nl = (size_t)(colon - line), vl = n - nl - 1;
    const char *v = colon + 1;
    if (nl == 4 && !strncasecmp(line, "etag", 4)) {
        copy_value(r->etag, sizeof(r->etag), v, vl);
    } else if (nl == 19 && !strncasecmp(line, "x-amz-storage-class", 19)) {
        copy_value(r->storage_class, sizeof(r->storage_class), v, vl);
    } else if (nl == 13 && !strncasecmp(line, "last-modified", 13)) {
        copy_value(tmp, sizeof(tmp), v, vl);
        r->last_modified = s3_parse_time(tmp);
    } else if (nl == 14 && !strncasecmp(line, "content-length", 14)) {
        copy_value(tmp, sizeof(tmp), v, vl);
        r->content_length = strtoull(tmp, NULL, 10);
    }
    return n;
}

/* Should this failure be tried again? */
static int transient(CURLcode cc, long status, const char *code)
{
    switch (cc) {
    case CURLE_OK:
        break;
    case CURLE_COULDNT_CONNECT: case CURLE_OPERATION_TIMEDOUT: case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR: case CURLE_GOT_NOTHING: case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR: case CURLE_HTTP2: case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
    if (status >= 500 || status == 429)
        return 1;
    return !strcmp(code, "SlowDown") || !strcmp(code, "RequestTimeout") ||
           !strcmp(code, "InternalError") || !strcmp(code, "ServiceUnavailable");
}

static void backoff(const struct s3_client *c, int attempt, unsigned *seed)
{
    uint64_t cap = (uint64_t)c->set.retry_base_ms << (attempt < 20 ? attempt : 20);
    if (cap > BACKOFF_CAP_MS)
        cap = BACKOFF_CAP_MS;
    uint64_t ms = (uint64_t)rand_r(seed) % (cap + 1); /* full jitter */
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static const char *target(const struct s3_req *r)
{
    return r->key ? r->key : "";
}

int s3_fail(const struct s3_client *c, const struct s3_req *r, const char *code,
            const char *message)
{
    long st = r->status;
    int ret = TP_ERR(EIO);
    if (st == 404 || !strcmp(code, "NoSuchKey"))
        ret = TP_ERR_NOTFOUND;
    else if (st == 403 || !strcmp(code, "AccessDenied") || !strcmp(code, "InvalidAccessKeyId") ||
             !strcmp(code, "SignatureDoesNotMatch"))
        ret = TP_ERR(EACCES);
    else if (!strcmp(code, "InvalidStorageClass"))
        ret = TP_ERR_UNSUPPORTED;
    else if (!strcmp(code, "BadDigest") || !strcmp(code, "InvalidDigest") ||
             !strcmp(code, "XAmzContentSHA256Mismatch"))
        ret = TP_ERR_VERIFY;
    else if (transient(CURLE_OK, st, code))
        ret = TP_ERR(EAGAIN);
    tp_err_set("s3://%s/%s: %s: HTTP %ld %s%s%.200s%s", c->bucket, target(r), r->method, st,
               *code ? code : "(no error code)", *message ? " (" : "", message,
               *message ? ")" : "");
    return ret;
}

static int attempt_once(struct s3_client *c, CURL *h, struct s3_req *r, struct xfer *x,
                        struct tp_buf *url, CURLcode *cc_out)
{
    struct curl_slist *hdrs = NULL, *l;
    char line[256];
    int ret = 0;
    x->sent = 0;
    x->err.len = 0;
    x->sink_ret = 0;
    r->code[0] = '\0';
    r->status = 0;
    curl_easy_reset(h);
    for (l = r->headers; l; l = l->next)
        if (!(hdrs = curl_slist_append(hdrs, l->data)))
            goto nomem;
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", r->payload_sha256);
    if (!(hdrs = curl_slist_append(hdrs, line)))
        goto nomem;
    if (c->session_token) {
        struct tp_buf t = { 0 };
        int e = buf_append(&t, "x-amz-security-token: ", 22);
        if (!e)
            e = buf_append(&t, c->session_token, strlen(c->session_token) + 1);
        l = e ? NULL : curl_slist_append(hdrs, (char *)t.data);
        buf_free(&t);
        if (!l)
            goto nomem;
        hdrs = l;
    }
    /* a retry resumes after the bytes already delivered */
    if (r->sink && r->range_len &&
        (r->range_off + r->delivered > 0 || r->range_len != UINT64_MAX)) {
        uint64_t from = r->range_off + r->delivered;
        if (r->range_len == UINT64_MAX)
            snprintf(line, sizeof(line), "Range: bytes=%llu-", (unsigned long long)from);
        else
            snprintf(line, sizeof(line), "Range: bytes=%llu-%llu", (unsigned long long)from,
                     (unsigned long long)(r->range_off + r->range_len - 1));
        if (!(hdrs = curl_slist_append(hdrs, line)))
            goto nomem;
    }
    curl_easy_setopt(h, CURLOPT_URL, (char *)url->data);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, c->sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, c->access_key); /* may contain ':' */
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)c->set.timeout_s);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (!strcmp(r->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        if (strcmp(r->method, "PUT"))
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET")) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    *cc_out = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->status && (r->status < 200 || r->status >= 300)) {
        char msg[256] = "";
        s3_xml_error(x->err.data, x->err.len, r->code, sizeof(r->code), msg, sizeof(msg));
        if (!r->code[0] && r->status == 404)
            snprintf(r->code, sizeof(r->code), "NotFound");
    }
    goto end;
nomem:
    ret = TP_ERR(ENOMEM);
    tp_err_set("s3://%s/%s: out of memory", c->bucket, target(r));
end:
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(hdrs);
    return ret;
}

int s3_request(struct s3_client *c, CURL *h, struct s3_req *r)
{
    struct xfer x = { .r = r, .h = h };
    struct tp_buf url = { 0 };
    char sha[65];
    unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)r;
    CURLcode cc = CURLE_OK;
    int ret;
    if (!r->payload_sha256) {
        if (r->body_len && r->body)
            s3_digests(r->body, (size_t)r->body_len, NULL, sha);
        else
            memcpy(sha, s3_empty_sha256, sizeof(sha));
        r->payload_sha256 = sha;
    }
    if ((ret = build_url(c, r, &url)) < 0) {
        tp_err_set("s3://%s/%s: out of memory", c->bucket, target(r));
        goto end;
    }
    r->delivered = 0;
    for (int attempt = 0;; attempt++) {
        if (r->resp)
            r->resp->len = 0;
        if ((ret = attempt_once(c, h, r, &x, &url, &cc)) < 0)
            goto end;
        if (x.sink_ret) {
            ret = x.sink_ret;
            goto end;
        }
        if (cc == CURLE_OK && r->status >= 200 && r->status < 300) {
            ret = 0;
            goto end;
        }
        if (!transient(cc, r->status, r->code) || attempt >= c->set.max_retries)
            break;
        tp_log(TP_LOG_INFO, "s3://%s/%s: %s: %s; retry %d of %d", c->bucket, target(r),
               r->method, cc != CURLE_OK ? curl_easy_strerror(cc) : r->code[0] ? r->code : "5xx",
               attempt + 1, c->set.max_retries);
        backoff(c, attempt, &seed);
    }
    if (cc != CURLE_OK) {
        tp_err_set("s3://%s/%s: %s: %s (after %d retries)", c->bucket, target(r), r->method,
                   curl_easy_strerror(cc), c->set.max_retries);
        ret = transient(cc, 0, "") ? TP_ERR(EAGAIN) : TP_ERR(EIO);
        goto end;
    }
    char msg[256] = "";
    char code[64] = "";
    s3_xml_error(x.err.data, x.err.len, code, sizeof(code), msg, sizeof(msg));
    ret = s3_fail(c, r, r->code, msg);
end:
    if (r->payload_sha256 == sha)
        r->payload_sha256 = NULL;
    buf_free(&x.err);
    buf_free(&url);
    return ret;
}
