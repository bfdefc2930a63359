/* The null store (see store.h): the sink of a dry run.  Puts succeed and
 * keep nothing, so a transcode into it does all the work of a real one
 * and leaves no trace. */
#include "err.h"
#include "store.h"

static int null_put(struct store *s, const char *hash, const uint8_t *data, size_t len)
{
    (void)s, (void)hash, (void)data, (void)len;
    return 0;
}

static int null_get(struct store *s, const char *hash, struct tp_buf *out)
{
    (void)s, (void)out;
    RETURN_ERR_IF(1, TP_ERR_NOTFOUND, "blob %s: the null store keeps nothing", hash);
}

static int null_exists(struct store *s, const char *hash, uint64_t *bytes_out)
{
    (void)s, (void)hash;
    if (bytes_out)
        *bytes_out = 0;
    return 0;
}

static int null_remove(struct store *s, const char *hash)
{
    (void)s;
    RETURN_ERR_IF(1, TP_ERR_NOTFOUND, "blob %s: the null store keeps nothing", hash);
}

static int null_iterate(struct store *s, store_iter_fn fn, void *ud)
{
    (void)s, (void)fn, (void)ud;
    return 0;
}

static void null_close(struct store *s)
{
    tp_free(s);
}

static const struct store_ops store_null_ops = {
    .name = "null",
    .put = null_put,
    .get = null_get,
    .exists = null_exists,
    .remove = null_remove,
    .iterate = null_iterate,
    .close = null_close,
};

int store_null_open(struct store **s_out)
{
    struct store *s;
    *s_out = NULL;
    if (!(s = tp_calloc(1, sizeof(*s))))
        return TP_ERR(ENOMEM);
    s->ops = &store_null_ops;
    *s_out = s;
    return 0;
}
