/* The S3 blob store (s3://bucket/prefix): blobs are objects named
 * <prefix>ab/cd/<sha256>, reached through the S3 client (s3_client.h).
 *
 * Writes: the bytes are kept in memory up to the multipart threshold, in an
 * unlinked temp file beyond; store.c checks their sha256 against the content
 * address, and only then finish() uploads them to the final key (one PUT, or
 * a multipart upload completed only when every part is in).  A write that
 * fails or is killed midway leaves nothing at any blob key.
 * Reads: a HEAD for the size, then one GET (streamed by a thread when
 * longer than CHUNK).
 * Classes: x-amz-storage-class on PUT, CopyObject onto itself to change it,
 * when the config says the server has classes (s3.storage_classes). */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fileio.h"
#include "s3_client.h"
#include "store.h"

#define CHUNK (8u << 20) /* bytes per GET of a reader */

struct store_s3 {
    struct store base; /* must be first */
    struct s3_client *c;
    char prefix[CONFIG_URI_MAX]; /* "" or ending in '/' */
    int classes;                 /* s3.storage_classes */
    uint64_t threshold;          /* in memory up to this, then a temp file */
};

static void blob_key(const struct store_s3 *s3, const char *hash, char *out, size_t n)
{
    snprintf(out, n, "%s%.2s/%.2s/%s", s3->prefix, hash, hash + 2, hash);
}

/* --- reading ------------------------------------------------------------- */
/* A range of up to CHUNK bytes is fetched by read() itself. A longer one is
 * streamed by one GET in a thread of its own (its own connection) into a
 * ring of RING bytes, so the network and the caller's hashing overlap and
 * the server sees one request (a ranged GET per chunk costs Swift a
 * manifest lookup each for multipart objects). */
#define RING (4u << 20)

struct s3_reader {
    struct store_reader base; /* must be first */
    struct store_s3 *s3;
    char key[CONFIG_URI_MAX + 80];
    uint64_t pos, end;        /* next object offset to fetch; end of the range */
    struct tp_buf buf;        /* small ranges: fetched, not yet read */
    size_t used;              /* bytes of buf already read */
    /* long ranges: the streaming thread */
    struct s3_client *tc;     /* the thread's client */
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *ring;
    size_t head, fill;        /* ring[head..] holds fill bytes (wrapping) */
    uint64_t received;        /* bytes the thread got */
    int done, cancel, err;
    char detail[512];
};

static int sink_buf(void *ud, const uint8_t *data, size_t len)
{
    return buf_append(ud, data, len);
}

static int sink_ring(void *ud, const uint8_t *data, size_t len)
{
    struct s3_reader *sr = ud;
    pthread_mutex_lock(&sr->mu);
    while (len) {
        while (sr->fill == RING && !sr->cancel)
            pthread_cond_wait(&sr->cv, &sr->mu);
        if (sr->cancel) {
            pthread_mutex_unlock(&sr->mu);
            return 1; /* the reader was closed: stop the transfer */
        }
        size_t tail = (sr->head + sr->fill) % RING;
        size_t n = RING - sr->fill;
        if (n > RING - tail)
            n = RING - tail;
        if (n > len)
            n = len;
        memcpy(sr->ring + tail, data, n);
        sr->fill += n;
        sr->received += n;
        data += n;
        len -= n;
        pthread_cond_broadcast(&sr->cv);
    }
    pthread_mutex_unlock(&sr->mu);
    return 0;
}

static void *stream_thread(void *arg)
{
    struct s3_reader *sr = arg;
    int ret = s3_get(sr->tc, sr->key, sr->pos, sr->end - sr->pos, sink_ring, sr);
    pthread_mutex_lock(&sr->mu);
    if (ret < 0) {
        sr->err = ret;
        snprintf(sr->detail, sizeof(sr->detail), "%s", tp_err_detail());
    }
    sr->done = 1;
    pthread_cond_broadcast(&sr->cv);
    pthread_mutex_unlock(&sr->mu);
    return NULL;
}

static int read_ring(struct s3_reader *sr, uint8_t *out, size_t n)
{
    int ret;
    if (!sr->started) {
        if ((ret = s3_client_dup(&sr->tc, sr->s3->c)) < 0)
            return ret;
        RETURN_ERR_IF(!(sr->ring = tp_malloc(RING)), TP_ERR(ENOMEM), "out of memory");
        RETURN_ERR_IF(pthread_create(&sr->th, NULL, stream_thread, sr), TP_ERR(EAGAIN),
                      "s3://%s/%s: cannot start a download thread",
                      s3_client_bucket(sr->s3->c), sr->key);
        sr->started = 1;
    }
    pthread_mutex_lock(&sr->mu);
    while (!sr->fill && !sr->done)
        pthread_cond_wait(&sr->cv, &sr->mu);
    if (sr->fill) {
        size_t k = sr->fill < RING - sr->head ? sr->fill : RING - sr->head;
        if (k > n)
            k = n;
        memcpy(out, sr->ring + sr->head, k);
        sr->head = (sr->head + k) % RING;
        sr->fill -= k;
        pthread_cond_broadcast(&sr->cv);
        pthread_mutex_unlock(&sr->mu);
        return (int)k;
    }
    ret = sr->err;
    if (ret < 0)
        tp_err_set("%s", sr->detail);
    else if (sr->received != sr->end - sr->pos) {
        tp_err_set("s3://%s/%s: the object ended after %llu of %llu bytes (changed underneath?)",
                   s3_client_bucket(sr->s3->c), sr->key, (unsigned long long)sr->received,
                   (unsigned long long)(sr->end - sr->pos));
        ret = TP_ERR(EIO);
    }
    pthread_mutex_unlock(&sr->mu);
    return ret;
}

static int s3r_read(struct store_reader *r, uint8_t *out, size_t n)
{
    struct s3_reader *sr = (struct s3_reader *)r;
    int ret;
    if (n > INT32_MAX)
        n = INT32_MAX;
    if (sr->end - sr->pos > CHUNK || sr->started)
        return read_ring(sr, out, n);
    if (sr->used == sr->buf.len) {
        if (sr->pos >= sr->end)
            return 0;
        uint64_t want = sr->end - sr->pos;
        sr->buf.len = 0;
        sr->used = 0;
        if ((ret = s3_get(sr->s3->c, sr->key, sr->pos, want, sink_buf, &sr->buf)) < 0)
            return ret;
        RETURN_ERR_IF(sr->buf.len != want, TP_ERR(EIO),
                      "s3://%s/%s: asked for %llu bytes at %llu, got %zu (changed underneath?)",
                      s3_client_bucket(sr->s3->c), sr->key, (unsigned long long)want,
                      (unsigned long long)sr->pos, sr->buf.len);
        sr->pos += want;
    }
    size_t left = sr->buf.len - sr->used;
    if (n > left)
        n = left;
    memcpy(out, sr->buf.data + sr->used, n);
    sr->used += n;
    return (int)n;
}

static void s3r_close(struct store_reader *r)
{
    struct s3_reader *sr = (struct s3_reader *)r;
    if (sr->started) {
        pthread_mutex_lock(&sr->mu);
        sr->cancel = 1;
        pthread_cond_broadcast(&sr->cv);
        pthread_mutex_unlock(&sr->mu);
        pthread_join(sr->th, NULL);
    }
    pthread_cond_destroy(&sr->cv);
    pthread_mutex_destroy(&sr->mu);
    s3_client_close(&sr->tc);
    tp_free(sr->ring);
    buf_free(&sr->buf);
    tp_free(sr);
}

static const struct store_reader_ops s3_reader_ops = { s3r_read, s3r_close };

static int s3_open_read(struct store *s, const char *hash, uint64_t offset, uint64_t length,
                        struct store_reader **r_out)
{
    struct store_s3 *s3 = (struct store_s3 *)s;
    struct s3_object o;
    struct s3_reader *sr;
    char key[sizeof(sr->key)];
    int ret;
    blob_key(s3, hash, key, sizeof(key));
    if ((ret = s3_head(s3->c, key, &o)) < 0)
        return ret;
    RETURN_ERR_IF(ret == 0, TP_ERR_NOTFOUND, "blob %s: not in s3://%s/%s", hash,
                  s3_client_bucket(s3->c), key);
    RETURN_ERR_IF(offset > o.bytes, TP_ERR(EINVAL), "blob %s: offset %llu is past its %llu bytes",
                  hash, (unsigned long long)offset, (unsigned long long)o.bytes);
    RETURN_ERR_IF(!(sr = tp_calloc(1, sizeof(*sr))), TP_ERR(ENOMEM), "out of memory");
    sr->base.ops = &s3_reader_ops;
    sr->base.object_bytes = o.bytes;
    sr->base.length = length == STORE_TO_END || length > o.bytes - offset ? o.bytes - offset : length;
    sr->s3 = s3;
    memcpy(sr->key, key, sizeof(key));
    sr->pos = offset;
    sr->end = offset + sr->base.length;
    pthread_mutex_init(&sr->mu, NULL);
    pthread_cond_init(&sr->cv, NULL);
    *r_out = &sr->base;
    return 0;
}

/* --- writing ------------------------------------------------------------- */
struct s3_writer {
    struct store_writer base; /* must be first */
    struct store_s3 *s3;
    struct tp_buf mem;        /* the bytes, while under the threshold */
    int fd;                   /* -1, or the unlinked temp file holding them */
    uint64_t len;
};

static int spill(struct s3_writer *w)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tierpress-s3-XXXXXX", dir && *dir ? dir : "/var/tmp");
    int fd = mkostemp(path, O_CLOEXEC);
    RETURN_ERR_IF(fd < 0, TP_ERR(errno), "%s: cannot make a temp file for an upload: %s", path,
                  strerror(errno));
    unlink(path); /* nothing left behind by a crash */
    w->fd = fd;
    int ret = file_write_all(fd, w->mem.data, w->mem.len);
    RETURN_ERR_IF(ret < 0, ret, "%s: %s", path, strerror(-ret));
    buf_free(&w->mem);
    return 0;
}

static int s3w_write(struct store_writer *sw, const uint8_t *data, size_t n)
{
    struct s3_writer *w = (struct s3_writer *)sw;
    if (w->fd < 0 && w->len + n > w->s3->threshold)
        FORWARD_ERR(spill(w));
    if (w->fd < 0) {
        RETURN_ERR_IF(buf_append(&w->mem, data, n) < 0, TP_ERR(ENOMEM), "out of memory");
    } else {
        int ret = file_write_all(w->fd, data, n);
        RETURN_ERR_IF(ret < 0, ret, "upload temp file: %s", strerror(-ret));
    }
    w->len += n;
    return 0;
}

static int s3w_finish(struct store_writer *sw, const char *hash)
{
    struct s3_writer *w = (struct s3_writer *)sw;
    struct store_s3 *s3 = w->s3;
    char key[CONFIG_URI_MAX + 80];
    const char *cls = s3->classes ? sw->storage_class : NULL;
    int ret;
    blob_key(s3, hash, key, sizeof(key));
    /* content-addressed: an object already there has these bytes (store.c
     * compares its size); concurrent writers of one hash write the same */
    if ((ret = s3_head(s3->c, key, NULL)) != 0)
        return ret;
    if (w->fd < 0)
        return s3_put_buf(s3->c, key, w->mem.data ? w->mem.data : (const uint8_t *)"",
                          w->mem.len, hash, cls);
    return s3_put_fd(s3->c, key, w->fd, w->len, cls);
}

static void s3w_abort(struct store_writer *sw)
{
    struct s3_writer *w = (struct s3_writer *)sw;
    buf_free(&w->mem);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
}

static void s3w_free(struct store_writer *sw)
{
    s3w_abort(sw);
    tp_free(sw);
}

static const struct store_writer_ops s3_writer_ops = { s3w_write, s3w_finish, s3w_abort, s3w_free };

static int s3_open_write(struct store *s, const char *hash, const char *storage_class,
                         struct store_writer **w_out)
{
    struct s3_writer *w;
    (void)hash;
    (void)storage_class; /* store.c keeps it in the writer */
    RETURN_ERR_IF(!(w = tp_calloc(1, sizeof(*w))), TP_ERR(ENOMEM), "out of memory");
    w->base.ops = &s3_writer_ops;
    w->s3 = (struct store_s3 *)s;
    w->fd = -1;
    *w_out = &w->base;
    return 0;
}

/* --- objects ------------------------------------------------------------- */
static int s3_stat(struct store *s, const char *hash, struct store_stat *st)
{
    struct store_s3 *s3 = (struct store_s3 *)s;
    struct s3_object o;
    char key[CONFIG_URI_MAX + 80];
    int ret;
    blob_key(s3, hash, key, sizeof(key));
    if ((ret = s3_head(s3->c, key, &o)) < 0)
        return ret;
    RETURN_ERR_IF(ret == 0, TP_ERR_NOTFOUND, "blob %s: not in s3://%s/%s", hash,
                  s3_client_bucket(s3->c), key);
    st->bytes = o.bytes;
    st->mtime = o.mtime;
    snprintf(st->storage_class, sizeof(st->storage_class), "%s",
             s3->classes && o.storage_class[0] ? o.storage_class : "STANDARD");
    return 0;
}

static int s3_set_class(struct store *s, const char *hash, const char *storage_class)
{
    struct store_s3 *s3 = (struct store_s3 *)s;
    struct store_stat st;
    char key[CONFIG_URI_MAX + 80];
    FORWARD_ERR(s3_stat(s, hash, &st));
    if (!s3->classes || !strcmp(st.storage_class, storage_class))
        return 0;
    blob_key(s3, hash, key, sizeof(key));
    return s3_copy(s3->c, key, key, storage_class);
}

static int s3_remove(struct store *s, const char *hash)
{
    struct store_s3 *s3 = (struct store_s3 *)s;
    char key[CONFIG_URI_MAX + 80];
    blob_key(s3, hash, key, sizeof(key));
    return s3_delete(s3->c, key);
}

struct iter {
    struct store_s3 *s3;
    store_iter_fn fn;
    void *ud;
};

/* Keys that are not <prefix>ab/cd/<hash> (someone else's) are skipped. */
static int iter_cb(void *ud, const char *key, const struct s3_object *o)
{
    struct iter *it = ud;
    size_t pl = strlen(it->s3->prefix);
    if (strncmp(key, it->s3->prefix, pl) || strlen(key) != pl + 6 + SHA256_HEX_LEN)
        return 0;
    const char *k = key + pl, *hash = k + 6;
    if (k[2] != '/' || k[5] != '/' || !sha256_hex_valid(hash) || memcmp(k, hash, 2) ||
        memcmp(k + 3, hash + 2, 2))
        return 0;
    struct store_entry e = { .hash = hash, .bytes = o->bytes, .mtime = o->mtime };
    return it->fn(it->ud, &e);
}

static int s3_iterate(struct store *s, store_iter_fn fn, void *ud)
{
    struct iter it = { (struct store_s3 *)s, fn, ud };
    return s3_list(it.s3->c, it.s3->prefix, 1000, iter_cb, &it);
}

static int s3_pending(struct store *s, int64_t *n_out)
{
    struct store_s3 *s3 = (struct store_s3 *)s;
    return s3_pending_uploads(s3->c, s3->prefix, n_out);
}

static void s3_close(struct store *s)
{
    struct store_s3 *s3 = (struct store_s3 *)s;
    s3_client_close(&s3->c);
    tp_free(s3);
}

static const struct store_ops store_s3_ops = {
    .name = "s3",
    .open_read = s3_open_read,
    .open_write = s3_open_write,
    .stat = s3_stat,
    .set_class = s3_set_class,
    .remove = s3_remove,
    .iterate = s3_iterate,
    .pending = s3_pending,
    .close = s3_close,
};

/* A positive integer from the environment (tuning and test knobs), else def. */
static int env_int(const char *name, int def)
{
    const char *v = getenv(name);
    char *end;
    long n = v && *v ? strtol(v, &end, 10) : 0;
    return v && *v && !*end && n > 0 && n < 100000 ? (int)n : def;
}

int store_s3_open(struct store **s_out, const char *uri, const struct config *cfg)
{
    struct store_s3 *s3 = NULL;
    struct s3_settings st;
    char bucket[256];
    const struct config_s3 *c = &cfg->s3;
    int ret;
    *s_out = NULL;
    RETURN_ERR_IF(strncmp(uri, "s3://", 5), TP_ERR(EINVAL), "store '%.200s' is not s3://", uri);
    const char *b = uri + 5, *slash = strchr(b, '/');
    size_t bl = slash ? (size_t)(slash - b) : strlen(b);
    RETURN_ERR_IF(!bl || bl >= sizeof(bucket), TP_ERR(EINVAL),
                  "store '%.200s': no bucket name (s3://bucket/prefix)", uri);
    memcpy(bucket, b, bl);
    bucket[bl] = '\0';
    RETURN_ERR_IF(!(s3 = tp_calloc(1, sizeof(*s3))), TP_ERR(ENOMEM), "out of memory");
    const char *prefix = slash ? slash + 1 : "";
    size_t pl = strlen(prefix);
    if (pl >= sizeof(s3->prefix) - 1) {
        tp_err_set("store '%.200s': prefix too long", uri);
        ret = TP_ERR(ENAMETOOLONG);
        goto fail;
    }
    snprintf(s3->prefix, sizeof(s3->prefix), "%s%s", prefix, pl && prefix[pl - 1] != '/' ? "/" : "");
    s3_settings_defaults(&st);
    st.endpoint = c->endpoint_url;
    st.region = c->region;
    st.bucket = bucket;
    st.path_style = c->addressing != CONFIG_S3_VIRTUAL;
    st.access_key = c->access_key_id;
    st.secret_key = c->secret_access_key;
    st.session_token = c->session_token;
    st.max_retries = c->max_retries;
    st.multipart_threshold = c->multipart_threshold;
    st.part_size = c->part_size;
    st.timeout_s = env_int("TP_S3_TIMEOUT", st.timeout_s);
    st.retry_base_ms = env_int("TP_S3_RETRY_BASE_MS", st.retry_base_ms);
    st.parallel = env_int("TP_S3_PARALLEL", st.parallel);
    if ((ret = s3_client_open(&s3->c, &st)) < 0)
        goto fail;
    s3->classes = c->storage_classes;
    s3->threshold = c->multipart_threshold;
    s3->base.ops = &store_s3_ops;
    s3->base.caps = s3->classes ? STORE_CAP_CLASSES : 0;
    *s_out = &s3->base;
    return 0;
fail:
    tp_free(s3);
    return ret;
}
