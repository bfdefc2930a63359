/* Backend-independent part of the blob store: argument checks, hashing,
 * verification. */
#include <stdio.h>
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

int store_get_verified(struct store *s, const char *hash, struct tp_buf *out)
{
    char got[SHA256_HEX_LEN + 1];
    CHECK_HASH(hash);
    FORWARD_ERR(s->ops->get(s, hash, out));
    sha256_hex(out->data, out->len, got);
    if (strcmp(got, hash)) {
        buf_free(out);
        tp_err_set("blob %s: its bytes hash to %s", hash, got);
        return TP_ERR_CORRUPT;
    }
    return 0;
}

int store_verify(struct store *s, const char *hash)
{
    struct tp_buf b = { 0 };
    int ret = store_get_verified(s, hash, &b);
    buf_free(&b);
    if (ret == TP_ERR_CORRUPT) {
        char why[SHA256_HEX_LEN + 1];
        const char *p = strstr(tp_err_detail(), "hash to ");
        snprintf(why, sizeof(why), "%s", p ? p + 8 : "?");
        tp_err_set("blob %s is corrupt: its bytes hash to %s", hash, why);
        ret = TP_ERR_VERIFY;
    }
    return ret;
}
