/* Backend-independent part of the blob store: argument checks, hashing,
 * verification. */
#include <string.h>

#include "err.h"
#include "store.h"

#define CHECK_HASH(h)                                                          \
    RETURN_ERR_IF(!sha256_hex_valid(h), TP_ERR(EINVAL),                        \
                  "'%.80s' is not a sha256 hex digest", (h) ? (h) : "(null)")

void store_close(struct store **ps)
{
    if (!ps || !*ps)
        return;
    (*ps)->ops->close(*ps);
    *ps = NULL;
}

int store_put(struct store *s, const char *hash, const uint8_t *data, size_t len)
{
    CHECK_HASH(hash);
    return s->ops->put(s, hash, data, len);
}

int store_put_data(struct store *s, const uint8_t *data, size_t len,
                   char hash_out[SHA256_HEX_LEN + 1])
{
    sha256_hex(data, len, hash_out);
    return s->ops->put(s, hash_out, data, len);
}

int store_get(struct store *s, const char *hash, struct tp_buf *out)
{
    CHECK_HASH(hash);
    return s->ops->get(s, hash, out);
}

int store_exists(struct store *s, const char *hash, uint64_t *bytes_out)
{
    CHECK_HASH(hash);
    return s->ops->exists(s, hash, bytes_out);
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

int store_verify(struct store *s, const char *hash)
{
    struct tp_buf b = { 0 };
    char got[SHA256_HEX_LEN + 1];
    int ret;
    CHECK_HASH(hash);
    if ((ret = s->ops->get(s, hash, &b)) < 0)
        goto end;
    sha256_hex(b.data, b.len, got);
    if (strcmp(got, hash)) {
        tp_err_set("blob %s is corrupt: its bytes hash to %s", hash, got);
        ret = TP_ERR_VERIFY;
        goto end;
    }
    ret = 0;
end:
    buf_free(&b);
    return ret;
}
