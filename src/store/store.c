/* Backend-independent part of the blob store: the backend table by URI
 * scheme, argument checks, hashing of every write before it becomes
 * visible, and the buffer/file helpers on top of the streams. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fileio.h"
#include "store.h"

#define CHECK_HASH(h)                                                          \
    RETURN_ERR_IF(!sha256_hex_valid(h), TP_ERR(EINVAL),                        \
                  "'%.80s' is not a sha256 hex digest", (h) ? (h) : "(null)")

#define CHUNK (1u << 20) /* streaming copies move 1 MiB at a time */

/* ---- the backend table -------------------------------------------------- */

/* file://: the path after the scheme, absolute (config_validate resolved
 * relative ones against the home). */
static int fs_open_uri(struct store **s_out, const char *uri, const struct config *cfg,
                       unsigned flags)
{
    (void)cfg;
    const char *path = uri + strlen("file://");
    RETURN_ERR_IF(path[0] != '/', TP_ERR_INVALIDDATA,
                  "store '%s': a file:// store needs an absolute path (file:///dir)", uri);
    return store_fs_open_flags(s_out, path, flags);
}

#if HAVE_S3
/* (an S3 handle creates nothing on open) */
static int s3_open_uri(struct store **s_out, const char *uri, const struct config *cfg,
                       unsigned flags)
{
    (void)flags;
    return store_s3_open(s_out, uri, cfg);
}
#endif

static const struct store_backend {
    const char *scheme;
    int (*open)(struct store **s_out, const char *uri, const struct config *cfg, unsigned flags);
} backends[] = {
    { "file", fs_open_uri },
#if HAVE_S3
    { "s3", s3_open_uri },
#endif
};

/* The backend for uri: its index in backends[], or the error. */
static int find_backend(const char *uri)
{
#if !HAVE_S3
    char scheme[32], red[CONFIG_URI_MAX];
    if (uri && !strcmp(config_uri_scheme(uri, scheme, sizeof(scheme)), "s3")) {
        config_uri_redact(uri, red, sizeof(red));
        tp_err_set("store '%s': this build has no S3 backend", red);
        return TP_ERR_UNSUPPORTED;
    }
#endif
    return config_scheme_find("store", uri, backends, TP_ARRAY_SIZE(backends),
                              sizeof(backends[0]));
}

int store_open_flags(struct store **s_out, const char *uri, const struct config *cfg,
                     unsigned flags)
{
    int i = find_backend(uri);
    *s_out = NULL;
    return i < 0 ? i : backends[i].open(s_out, uri, cfg, flags);
}

int store_open(struct store **s_out, const char *uri, const struct config *cfg)
{
    return store_open_flags(s_out, uri, cfg, 0);
}

int store_uri_supported(const char *uri)
{
    int i = find_backend(uri);
    return i < 0 ? i : 0;
}



void store_close(struct store **ps)
{
    if (!ps || !*ps)
        return;
    (*ps)->ops->close(*ps);
    *ps = NULL;
}

const char *store_backend_name(const struct store *s)
{
    return s->ops->name;
}

/* ---- streams ------------------------------------------------------------ */

int store_open_read(struct store *s, const char *hash, uint64_t offset, uint64_t length,
                    struct store_reader **r_out)
{
    *r_out = NULL;
    CHECK_HASH(hash);
    return s->ops->open_read(s, hash, offset, length, r_out);
}

int store_read(struct store_reader *r, uint8_t *buf, size_t n)
{
    if (n > (1u << 30))
        n = 1u << 30;
    return n ? r->ops->read(r, buf, n) : 0;
}

int store_read_full(struct store_reader *r, uint8_t *buf, size_t n)
{
    while (n) {
        int got = store_read(r, buf, n);
        if (got < 0)
            return got;
        RETURN_ERR_IF(!got, TP_ERR_INVALIDDATA, "blob ended %zu bytes early", n);
        buf += got;
        n -= (size_t)got;
    }
    return 0;
}

void store_reader_close(struct store_reader **pr)
{
    if (!pr || !*pr)
        return;
    (*pr)->ops->close(*pr);
    *pr = NULL;
}

int store_open_write(struct store *s, const char *hash, const char *storage_class,
                     struct store_writer **w_out)
{
    struct store_writer *w = NULL;
    const char *sc = storage_class && *storage_class ? storage_class : "STANDARD";
    *w_out = NULL;
    if (hash)
        CHECK_HASH(hash);
    RETURN_ERR_IF(strlen(sc) >= STORE_CLASS_MAX || strspn(sc, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
                      strlen(sc), TP_ERR(EINVAL),
                  "storage class '%.40s' is not an upper-case name", sc);
    FORWARD_ERR(s->ops->open_write(s, hash, sc, &w));
    w->s = s;
    if (sha256_init(&w->ctx) < 0) {
        int ret = w->ctx.failed;
        w->ops->abort(w);
        sha256_free(&w->ctx);
        w->ops->free(w);
        return ret;
    }
    w->bytes = 0;
    w->failed = 0;
    snprintf(w->expect, sizeof(w->expect), "%s", hash ? hash : "");
    snprintf(w->storage_class, sizeof(w->storage_class), "%s", sc);
    *w_out = w;
    return 0;
}

int store_write(struct store_writer *w, const uint8_t *data, size_t n)
{
    int ret;
    RETURN_ERR_IF(w->failed, TP_ERR(EIO), "write to a failed blob writer");
    if (!n)
        return 0;
    if ((ret = w->ops->write(w, data, n)) < 0) {
        w->failed = 1;
        return ret;
    }
    sha256_update(&w->ctx, data, n);
    w->bytes += n;
    return 0;
}

static void writer_free(struct store_writer **pw)
{
    sha256_free(&(*pw)->ctx);
    (*pw)->ops->free(*pw);
    *pw = NULL;
}

int store_writer_finish(struct store_writer **pw, char hash_out[SHA256_HEX_LEN + 1])
{
    struct store_writer *w = *pw;
    struct store_stat st;
    uint8_t d[32];
    char got[SHA256_HEX_LEN + 1];
    int ret;

    if (w->failed) {
        w->ops->abort(w);
        writer_free(pw);
        tp_err_set("blob write failed midway; nothing stored");
        return TP_ERR(EIO);
    }
    if ((ret = sha256_final(&w->ctx, d)) < 0) {
        w->ops->abort(w);
        writer_free(pw);
        return ret;
    }
    sha256_to_hex(d, got);
    if (hash_out)
        memcpy(hash_out, got, sizeof(got));
    if (w->expect[0] && strcmp(got, w->expect)) {
        w->ops->abort(w);
        tp_err_set("the %llu bytes written as blob %s hash to %s: refused, nothing stored",
                   (unsigned long long)w->bytes, w->expect, got);
        writer_free(pw);
        return TP_ERR_VERIFY;
    }
    ret = w->ops->finish(w, got);
    if (ret == 1 && (ret = w->s->ops->stat(w->s, got, &st)) >= 0) {
        if (st.bytes != w->bytes) {
            tp_err_set("blob %s exists with %llu bytes, not %llu: the store is corrupt (run fsck)",
                       got, (unsigned long long)st.bytes, (unsigned long long)w->bytes);
            ret = TP_ERR_CONFLICT;
        } else {
            ret = 1;
        }
    }
    writer_free(pw);
    return ret;
}

void store_writer_abort(struct store_writer **pw)
{
    if (!pw || !*pw)
        return;
    (*pw)->ops->abort(*pw);
    writer_free(pw);
}

/* ---- objects ------------------------------------------------------------ */

int store_stat(struct store *s, const char *hash, struct store_stat *st)
{
    CHECK_HASH(hash);
    memset(st, 0, sizeof(*st));
    return s->ops->stat(s, hash, st);
}

int store_exists(struct store *s, const char *hash, uint64_t *bytes_out)
{
    struct store_stat st;
    int ret = store_stat(s, hash, &st);
    if (ret == TP_ERR_NOTFOUND) {
        tp_err_clear();
        return 0;
    }
    if (ret < 0)
        return ret;
    if (bytes_out)
        *bytes_out = st.bytes;
    return 1;
}

int store_set_class(struct store *s, const char *hash, const char *storage_class)
{
    const char *sc = storage_class && *storage_class ? storage_class : "STANDARD";
    CHECK_HASH(hash);
    RETURN_ERR_IF(strlen(sc) >= STORE_CLASS_MAX, TP_ERR(EINVAL), "storage class too long");
    return s->ops->set_class(s, hash, sc);
}

int store_remove(struct store *s, const char *hash)
{
    CHECK_HASH(hash);
    return s->ops->remove(s, hash);
}

int store_iterate(struct store *s, store_iter_fn fn, void *ud)
{
    return s->ops->iterate(s, fn, ud);
}

int store_remove_older(struct store *s, const char *hash, int64_t cutoff)
{
    CHECK_HASH(hash);
    if (s->ops->remove_older)
        return s->ops->remove_older(s, hash, cutoff);
    (void)cutoff; /* the caller checked the listing's mtime */
    return s->ops->remove(s, hash);
}

/* A blob already stored: refresh its time for gc's grace.  1 when it is
 * there (refreshed), 0 when gc took it meanwhile (write it again). */
static int refresh(struct store *s, const char *hash)
{
    int ret;
    if (!s->ops->touch)
        return 1;
    ret = s->ops->touch(s, hash);
    if (ret == TP_ERR_NOTFOUND) {
        tp_err_clear();
        return 0;
    }
    return ret < 0 ? ret : 1;
}

int store_pending(struct store *s, int64_t *n_out)
{
    *n_out = 0;
    return s->ops->pending ? s->ops->pending(s, n_out) : 0;
}

/* ---- helpers ------------------------------------------------------------ */

int store_put_class(struct store *s, const char *hash, const uint8_t *data, size_t len,
                    const char *storage_class)
{
    struct store_writer *w = NULL;
    uint64_t have;
    int ret;
    CHECK_HASH(hash);
    /* already there: nothing to send */
    if ((ret = store_exists(s, hash, &have)) < 0)
        return ret;
    if (ret == 1) {
        RETURN_ERR_IF(have != (uint64_t)len, TP_ERR_CONFLICT,
                      "blob %s exists with %llu bytes, not %zu: the store is corrupt (run fsck)",
                      hash, (unsigned long long)have, len);
        if ((ret = refresh(s, hash)) != 0)
            return ret;
    }
    FORWARD_ERR(store_open_write(s, hash, storage_class, &w));
    for (size_t off = 0; off < len; off += CHUNK) {
        size_t n = len - off < CHUNK ? len - off : CHUNK;
        if ((ret = store_write(w, data + off, n)) < 0) {
            store_writer_abort(&w);
            return ret;
        }
    }
    return store_writer_finish(&w, NULL);
}

int store_put(struct store *s, const char *hash, const uint8_t *data, size_t len)
{
    return store_put_class(s, hash, data, len, NULL);
}

int store_put_data(struct store *s, const uint8_t *data, size_t len,
                   char hash_out[SHA256_HEX_LEN + 1])
{
    FORWARD_ERR(sha256_hex(data, len, hash_out));
    return store_put_class(s, hash_out, data, len, NULL);
}

int store_put_file(struct store *s, const char *path, const char *expect,
                   const char *storage_class, char hash_out[SHA256_HEX_LEN + 1])
{
    struct store_writer *w = NULL;
    uint8_t *buf = NULL;
    int fd, ret;

    if (expect) {
        CHECK_HASH(expect);
        uint64_t have;
        struct stat st;
        /* known content already stored: not even read again */
        if ((ret = store_exists(s, expect, &have)) < 0)
            return ret;
        if (ret == 1 && stat(path, &st) == 0 && (uint64_t)st.st_size == have &&
            (ret = refresh(s, expect)) != 0) {
            memcpy(hash_out, expect, SHA256_HEX_LEN + 1);
            return ret;
        }
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("%s: %s", path, strerror(errno));
        return ret;
    }
    if (!(buf = tp_malloc(CHUNK))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if ((ret = store_open_write(s, expect, storage_class, &w)) < 0)
        goto end;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ret = TP_ERR(errno);
            tp_err_set("%s: %s", path, strerror(errno));
            goto end;
        }
        if (!n)
            break;
        if ((ret = store_write(w, buf, (size_t)n)) < 0)
            goto end;
    }
    ret = store_writer_finish(&w, hash_out);
    if (ret == TP_ERR_VERIFY)
        tp_err_set("%s changed while it was stored (its bytes no longer hash to %s); nothing "
                   "stored", path, expect);
end:
    store_writer_abort(&w);
    tp_free(buf);
    close(fd);
    return ret;
}

/* Streams the blob to fn; with check, compares its sha256 with hash. */
static int copy_out(struct store *s, const char *hash, int check,
                    int (*fn)(void *ud, const uint8_t *p, size_t n), void *ud)
{
    struct store_reader *r = NULL;
    struct sha256 ctx;
    uint8_t *buf = NULL, d[32];
    char got[SHA256_HEX_LEN + 1];
    int ret;

    if ((ret = sha256_init(&ctx)) < 0 ||
        (ret = store_open_read(s, hash, 0, STORE_TO_END, &r)) < 0) {
        sha256_free(&ctx);
        return ret;
    }
    if (!(buf = tp_malloc(CHUNK))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    for (;;) {
        int n = store_read(r, buf, CHUNK);
        if ((ret = n) <= 0)
            break;
        sha256_update(&ctx, buf, (size_t)n);
        if (fn && (ret = fn(ud, buf, (size_t)n)) < 0)
            goto end;
    }
    if (ret < 0)
        goto end;
    if (check) {
        if ((ret = sha256_final(&ctx, d)) < 0)
            goto end;
        sha256_to_hex(d, got);
        if (strcmp(got, hash)) {
            tp_err_set("blob %s is corrupt: its bytes hash to %s", hash, got);
            ret = TP_ERR_VERIFY;
            goto end;
        }
    }
    ret = 0;
end:
    sha256_free(&ctx);
    tp_free(buf);
    store_reader_close(&r);
    return ret;
}

int store_get(struct store *s, const char *hash, struct tp_buf *out)
{
    struct store_reader *r = NULL;
    int ret;
    out->len = 0;
    /* one allocation of the known size, then read into it */
    if ((ret = store_open_read(s, hash, 0, STORE_TO_END, &r)) < 0)
        return ret;
    if (r->length > SIZE_MAX / 2) {
        store_reader_close(&r);
        tp_err_set("blob %s is too large to read into memory", hash);
        return TP_ERR_LIMIT;
    }
    if ((ret = buf_reserve(out, (size_t)r->length)) < 0 ||
        (ret = store_read_full(r, out->data, (size_t)r->length)) < 0) {
        store_reader_close(&r);
        return ret;
    }
    out->len = (size_t)r->length;
    store_reader_close(&r);
    return 0;
}

static int write_fd(void *ud, const uint8_t *p, size_t n)
{
    int fd = *(int *)ud;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int ret = TP_ERR(errno);
            tp_err_set("write failed: %s", strerror(errno));
            return ret;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int store_get_fd(struct store *s, const char *hash, int fd)
{
    return copy_out(s, hash, 1, write_fd, &fd);
}

int store_get_file(struct store *s, const char *hash, const char *path)
{
    char tmp[4200], dir[4200];
    int fd, ret;
    RETURN_ERR_IF(strlen(path) > 4000, TP_ERR(ENAMETOOLONG), "%.80s...: path too long", path);
    snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("%s: cannot create a temp file: %s", path, strerror(errno));
        return ret;
    }
    if ((ret = store_get_fd(s, hash, fd)) < 0)
        goto fail;
    /* a file for the user: 0666 minus the umask, as open(2) would make it */
    if (fchmod(fd, 0666 & ~file_umask()) < 0 || fsync(fd) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("%s: %s", path, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = TP_ERR(errno);
        tp_err_set("%s: %s", path, strerror(errno));
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("%s: %s", path, strerror(errno));
        goto fail;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    else
        snprintf(dir, sizeof(dir), ".");
    file_sync_dir(dir);
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ret;
}

int store_verify(struct store *s, const char *hash)
{
    CHECK_HASH(hash);
    return copy_out(s, hash, 1, NULL, NULL);
}

int store_get_verified(struct store *s, const char *hash, struct tp_buf *out)
{
    char got[SHA256_HEX_LEN + 1];
    CHECK_HASH(hash);
    FORWARD_ERR(store_get(s, hash, out));
    sha256_hex(out->data, out->len, got);
    if (strcmp(got, hash)) {
        buf_free(out);
        tp_err_set("blob %s: its bytes hash to %s", hash, got);
        return TP_ERR_CORRUPT;
    }
    return 0;
}
