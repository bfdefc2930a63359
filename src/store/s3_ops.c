/* The S3 client's operations: PUT (one request, or multipart with parts in
 * parallel threads, aborted on failure), GET (ranged, resumed on retry),
 * HEAD, DELETE, CopyObject, ListObjectsV2 (paged). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "log.h"
#include "s3_internal.h"

#define MAX_PARTS 10000 /* S3's limit */

static int add_header(struct curl_slist **l, const char *name, const char *value)
{
    char line[1200];
    snprintf(line, sizeof(line), "%s: %s", name, value);
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return TP_ERR(ENOMEM);
    *l = n;
    return 0;
}

int s3_put_buf(struct s3_client *c, const char *key, const uint8_t *data, size_t len,
               const char *sha256_hex, const char *storage_class)
{
    struct s3_req r = { .method = "PUT", .key = key, .body = data, .body_len = len };
    char md5[25], sha[65];
    int ret;
    s3_digests(data, len, md5, sha256_hex ? NULL : sha);
    r.payload_sha256 = sha256_hex ? sha256_hex : sha;
    if ((ret = add_header(&r.headers, "Content-MD5", md5)) < 0 ||
        (storage_class && (ret = add_header(&r.headers, "x-amz-storage-class", storage_class)) < 0)) {
        tp_err_set("s3://%s/%s: out of memory", c->bucket, key);
        goto end;
    }
    ret = s3_request(c, c->curl, &r);
end:
    curl_slist_free_all(r.headers);
    return ret;
}

/* Reads exactly len bytes at off. */
static int pread_all(int fd, uint8_t *p, size_t len, uint64_t off)
{
    while (len) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? TP_ERR(errno) : TP_ERR(EIO);
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Test hook: TP_CRASH_AT=s3-after-part kills the process (as kill -9
 * would) once a multipart part is in, leaving an incomplete upload. */
static void crash_point(const char *name)
{
    const char *at = getenv("TP_CRASH_AT");
    if (at && !strcmp(at, name))
        raise(SIGKILL);
}

/* --- multipart ----------------------------------------------------------- */
struct mp {
    struct s3_client *c;
    const char *key;
    struct tp_buf uid_q;    /* "uploadId=<encoded>" */
    int fd;
    uint64_t len, part;
    int nparts, next;
    char (*etags)[128];
    pthread_mutex_t mu;
    int err;                /* the first failure */
    char detail[512];
};

static void mp_fail(struct mp *m, int err)
{
    pthread_mutex_lock(&m->mu);
    if (!m->err) {
        m->err = err;
        snprintf(m->detail, sizeof(m->detail), "%s", tp_err_detail());
    }
    pthread_mutex_unlock(&m->mu);
}

static void *mp_worker(void *arg)
{
    struct mp *m = arg;
    CURL *h = s3_handle_new();
    uint8_t *buf = tp_malloc((size_t)m->part);
    char q[600], md5[25], sha[65];
    if (!h || !buf) {
        tp_err_set("s3://%s/%s: out of memory for a part", m->c->bucket, m->key);
        mp_fail(m, TP_ERR(ENOMEM));
        goto end;
    }
    for (;;) {
        pthread_mutex_lock(&m->mu);
        int n = m->err ? 0 : ++m->next;
        pthread_mutex_unlock(&m->mu);
        if (!n || n > m->nparts)
            break;
        uint64_t off = (uint64_t)(n - 1) * m->part;
        size_t plen = (size_t)(m->len - off < m->part ? m->len - off : m->part);
        int ret = pread_all(m->fd, buf, plen, off);
        if (ret < 0) {
            tp_err_set("s3://%s/%s: reading part %d of the source: %s", m->c->bucket, m->key,
                       n, strerror(-ret));
            mp_fail(m, ret);
            break;
        }
        s3_digests(buf, plen, md5, sha);
        snprintf(q, sizeof(q), "partNumber=%d&%s", n, (char *)m->uid_q.data);
        struct s3_req r = { .method = "PUT", .key = m->key, .query = q, .body = buf,
                            .body_len = plen, .payload_sha256 = sha };
        if ((ret = add_header(&r.headers, "Content-MD5", md5)) == 0)
            ret = s3_request(m->c, h, &r);
        curl_slist_free_all(r.headers);
        if (ret == 0 && !r.etag[0]) {
            tp_err_set("s3://%s/%s: part %d: no ETag in the answer", m->c->bucket, m->key, n);
            ret = TP_ERR(EIO);
        }
        if (ret < 0) {
            mp_fail(m, ret);
            break;
        }
        snprintf(m->etags[n - 1], sizeof(m->etags[0]), "%s", r.etag);
        crash_point("s3-after-part");
    }
end:
    tp_free(buf);
    if (h)
        curl_easy_cleanup(h);
    return NULL;
}

static int mp_complete(struct mp *m)
{
    struct tp_buf body = { 0 }, resp = { 0 };
    char line[256], code[64], msg[256];
    int ret = buf_append(&body, "<CompleteMultipartUpload>", 25);
    for (int i = 0; i < m->nparts && !ret; i++) {
        int n = snprintf(line, sizeof(line), "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                         i + 1, m->etags[i]);
        ret = buf_append(&body, line, (size_t)n);
    }
    if (!ret)
        ret = buf_append(&body, "</CompleteMultipartUpload>", 26);
    if (ret < 0) {
        tp_err_set("s3://%s/%s: out of memory", m->c->bucket, m->key);
        goto end;
    }
    struct s3_req r = { .method = "POST", .key = m->key, .query = (char *)m->uid_q.data,
                        .body = body.data, .body_len = body.len, .resp = &resp };
    if ((ret = s3_request(m->c, m->c->curl, &r)) < 0)
        goto end;
    /* S3 may answer 200 and put the error in the body */
    if (s3_xml_error(resp.data, resp.len, code, sizeof(code), msg, sizeof(msg)))
        ret = s3_fail(m->c, &r, code, msg);
end:
    buf_free(&body);
    buf_free(&resp);
    return ret;
}

static void mp_abort(struct mp *m)
{
    struct s3_req r = { .method = "DELETE", .key = m->key, .query = (char *)m->uid_q.data };
    char keep[512];
    snprintf(keep, sizeof(keep), "%s", tp_err_detail());
    if (s3_request(m->c, m->c->curl, &r) < 0)
        tp_log(TP_LOG_WARN, "%s (an incomplete multipart upload is left for the bucket's "
               "lifecycle rule)", tp_err_detail());
    tp_err_set("%s", keep);
}

static int put_multipart(struct s3_client *c, const char *key, int fd, uint64_t len,
                         const char *storage_class)
{
    struct mp m = { .c = c, .key = key, .fd = fd, .len = len, .part = c->set.part_size };
    struct tp_buf resp = { 0 };
    struct s3_req r = { .method = "POST", .key = key, .query = "uploads=", .resp = &resp };
    pthread_t th[16];
    int nth = 0, ret;
    char uid[512];
    while ((len + m.part - 1) / m.part > MAX_PARTS)
        m.part *= 2;
    m.nparts = (int)((len + m.part - 1) / m.part);
    pthread_mutex_init(&m.mu, NULL);
    if (storage_class && (ret = add_header(&r.headers, "x-amz-storage-class", storage_class)) < 0)
        goto end;
    if ((ret = s3_request(c, c->curl, &r)) < 0)
        goto end;
    if ((ret = s3_xml_upload_id(resp.data, resp.len, uid, sizeof(uid))) < 0) {
        tp_err_set("s3://%s/%s: no UploadId in the answer to CreateMultipartUpload", c->bucket, key);
        goto end;
    }
    if ((ret = buf_append(&m.uid_q, "uploadId=", 9)) < 0 ||
        (ret = s3_uri_encode(&m.uid_q, uid, 0)) < 0 || (ret = buf_append(&m.uid_q, "", 1)) < 0 ||
        !(m.etags = tp_calloc((size_t)m.nparts, sizeof(*m.etags)))) {
        ret = TP_ERR(ENOMEM);
        tp_err_set("s3://%s/%s: out of memory", c->bucket, key);
        if (m.uid_q.len && m.uid_q.data[m.uid_q.len - 1] == '\0')
            mp_abort(&m);
        goto end;
    }
    for (int i = 0; i < c->set.parallel && i < m.nparts; i++) {
        if (pthread_create(&th[nth], NULL, mp_worker, &m))
            break;
        nth++;
    }
    if (!nth) {
        tp_err_set("s3://%s/%s: cannot start an upload thread", c->bucket, key);
        mp_fail(&m, TP_ERR(EAGAIN));
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    if (m.err) {
        ret = m.err;
        tp_err_set("%s", m.detail);
        mp_abort(&m);
        goto end;
    }
    if ((ret = mp_complete(&m)) < 0)
        mp_abort(&m);
end:
    curl_slist_free_all(r.headers);
    pthread_mutex_destroy(&m.mu);
    tp_free(m.etags);
    buf_free(&m.uid_q);
    buf_free(&resp);
    return ret;
}

int s3_put_fd(struct s3_client *c, const char *key, int fd, uint64_t len,
              const char *storage_class)
{
    uint8_t *data = NULL;
    int ret;
    if (len > c->set.multipart_threshold)
        return put_multipart(c, key, fd, len, storage_class);
    if (len && !(data = tp_malloc((size_t)len))) {
        tp_err_set("s3://%s/%s: out of memory for %llu bytes", c->bucket, key,
                   (unsigned long long)len);
        return TP_ERR(ENOMEM);
    }
    if ((ret = pread_all(fd, data, (size_t)len, 0)) < 0) {
        tp_err_set("s3://%s/%s: reading the source: %s", c->bucket, key, strerror(-ret));
        goto end;
    }
    ret = s3_put_buf(c, key, data ? data : (const uint8_t *)"", (size_t)len, NULL, storage_class);
end:
    tp_free(data);
    return ret;
}

int s3_head(struct s3_client *c, const char *key, struct s3_object *o)
{
    struct s3_req r = { .method = "HEAD", .key = key };
    int ret = s3_request(c, c->curl, &r);
    if (ret == TP_ERR_NOTFOUND) {
        tp_err_clear();
        return 0;
    }
    if (ret < 0)
        return ret;
    if (o) {
        o->bytes = r.content_length;
        o->mtime = r.last_modified;
        snprintf(o->storage_class, sizeof(o->storage_class), "%s", r.storage_class);
    }
    return 1;
}

int s3_delete(struct s3_client *c, const char *key)
{
    struct s3_req r = { .method = "DELETE", .key = key };
    int ret = s3_head(c, key, NULL);
    if (ret < 0)
        return ret;
    RETURN_ERR_IF(ret == 0, TP_ERR_NOTFOUND, "s3://%s/%s: no such object", c->bucket, key);
    return s3_request(c, c->curl, &r);
}

int s3_copy(struct s3_client *c, const char *src, const char *dst, const char *storage_class)
{
    struct s3_req r = { .method = "PUT", .key = dst };
    struct tp_buf srcpath = { 0 }, resp = { 0 };
    char code[64], msg[256];
    int ret;
    r.resp = &resp;
    if ((ret = buf_append(&srcpath, "/", 1)) < 0 || (ret = s3_uri_encode(&srcpath, c->bucket, 0)) < 0 ||
        (ret = buf_append(&srcpath, "/", 1)) < 0 || (ret = s3_uri_encode(&srcpath, src, 1)) < 0 ||
        (ret = buf_append(&srcpath, "", 1)) < 0 ||
        (ret = add_header(&r.headers, "x-amz-copy-source", (char *)srcpath.data)) < 0 ||
        /* onto itself S3 wants something changed: REPLACE (blobs carry no
         * user metadata); onto another key the metadata is copied */
        (ret = add_header(&r.headers, "x-amz-metadata-directive",
                          strcmp(src, dst) ? "COPY" : "REPLACE")) < 0 ||
        (storage_class && (ret = add_header(&r.headers, "x-amz-storage-class", storage_class)) < 0)) {
        tp_err_set("s3://%s/%s: out of memory", c->bucket, dst);
        goto end;
    }
    if ((ret = s3_request(c, c->curl, &r)) < 0)
        goto end;
    if (s3_xml_error(resp.data, resp.len, code, sizeof(code), msg, sizeof(msg)))
        ret = s3_fail(c, &r, code, msg);
end:
    curl_slist_free_all(r.headers);
    buf_free(&srcpath);
    buf_free(&resp);
    return ret;
}

int s3_list(struct s3_client *c, const char *prefix, int max_keys, s3_list_fn fn, void *ud)
{
    struct tp_buf q = { 0 }, resp = { 0 };
    char *token = NULL, num[32];
    int ret = 0;
    if (max_keys <= 0 || max_keys > 1000)
        max_keys = 1000;
    snprintf(num, sizeof(num), "%d", max_keys);
    do {
        /* the query is canonical: parameters sorted, values encoded */
        q.len = 0;
        if (token && ((ret = buf_append(&q, "continuation-token=", 19)) < 0 ||
                      (ret = s3_uri_encode(&q, token, 0)) < 0 || (ret = buf_append(&q, "&", 1)) < 0))
            goto nomem;
        if ((ret = buf_append(&q, "list-type=2&max-keys=", 21)) < 0 ||
            (ret = buf_append(&q, num, strlen(num))) < 0 ||
            (ret = buf_append(&q, "&prefix=", 8)) < 0 ||
            (ret = s3_uri_encode(&q, prefix ? prefix : "", 0)) < 0 ||
            (ret = buf_append(&q, "", 1)) < 0)
            goto nomem;
        tp_freep(&token);
        struct s3_req r = { .method = "GET", .query = (char *)q.data, .resp = &resp };
        if ((ret = s3_request(c, c->curl, &r)) < 0)
            goto end;
        if ((ret = s3_xml_list(resp.data, resp.len, fn, ud, &token)) < 0) {
            tp_err_set("s3://%s/%s: the listing's answer is not a ListBucketResult", c->bucket,
                       prefix ? prefix : "");
            goto end;
        }
        if (ret)
            goto end;
    } while (token);
    goto end;
nomem:
    tp_err_set("s3://%s/%s: out of memory", c->bucket, prefix ? prefix : "");
end:
    tp_free(token);
    buf_free(&q);
    buf_free(&resp);
    return ret;
}

int s3_pending_uploads(struct s3_client *c, const char *prefix, int64_t *n)
{
    struct tp_buf q = { 0 }, resp = { 0 };
    char *key = NULL, *uid = NULL;
    int ret = 0;
    *n = 0;
    do {
        /* canonical: parameters sorted, values encoded */
        q.len = 0;
        if (key && ((ret = buf_append(&q, "key-marker=", 11)) < 0 ||
                    (ret = s3_uri_encode(&q, key, 0)) < 0 || (ret = buf_append(&q, "&", 1)) < 0))
            goto nomem;
        if ((ret = buf_append(&q, "prefix=", 7)) < 0 ||
            (ret = s3_uri_encode(&q, prefix ? prefix : "", 0)) < 0)
            goto nomem;
        if (uid && ((ret = buf_append(&q, "&upload-id-marker=", 18)) < 0 ||
                    (ret = s3_uri_encode(&q, uid, 0)) < 0))
            goto nomem;
        if ((ret = buf_append(&q, "&uploads=", 9)) < 0 || (ret = buf_append(&q, "", 1)) < 0)
            goto nomem;
        tp_freep(&key);
        tp_freep(&uid);
        struct s3_req r = { .method = "GET", .query = (char *)q.data, .resp = &resp };
        if ((ret = s3_request(c, c->curl, &r)) < 0)
            goto end;
        if ((ret = s3_xml_uploads(resp.data, resp.len, n, &key, &uid)) < 0) {
            tp_err_set("s3://%s/%s: the answer is not a ListMultipartUploadsResult", c->bucket,
                       prefix ? prefix : "");
            goto end;
        }
    } while (key);
    goto end;
nomem:
    tp_err_set("s3://%s/%s: out of memory", c->bucket, prefix ? prefix : "");
end:
    tp_free(key);
    tp_free(uid);
    buf_free(&q);
    buf_free(&resp);
    return ret;
}

int s3_get(struct s3_client *c, const char *key, uint64_t off, uint64_t len, s3_sink_fn fn,
           void *ud)
{
    if (len == 0)
        return 0;
    struct s3_req r = { .method = "GET", .key = key, .range_off = off, .range_len = len,
                        .sink = fn, .sink_ud = ud };
    return s3_request(c, c->curl, &r);
}

static int sink_buf(void *ud, const uint8_t *data, size_t len)
{
    return buf_append(ud, data, len);
}

int s3_get_buf(struct s3_client *c, const char *key, struct tp_buf *out)
{
    out->len = 0;
    return s3_get(c, key, 0, UINT64_MAX, sink_buf, out);
}
