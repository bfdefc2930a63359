/* The null store (see store.h): the sink of a dry run.  Writes are hashed
 * by store.c like any other and then forgotten, so a transcode into it does
 * all the work of a real one and leaves no trace. */
#include "err.h"
#include "store.h"

static int null_open_read(struct store *s, const char *hash, uint64_t offset, uint64_t length,
                          struct store_reader **r_out)
{
    (void)s, (void)offset, (void)length, (void)r_out;
    RETURN_ERR_IF(1, TP_ERR_NOTFOUND, "blob %s: the null store keeps nothing", hash);
}

static int null_write(struct store_writer *w, const uint8_t *data, size_t n)
{
    (void)w, (void)data, (void)n;
    return 0;
}

static int null_finish(struct store_writer *w, const char *hash)
{
    (void)w, (void)hash;
    return 0;
}

static void null_abort(struct store_writer *w)
{
    (void)w;
}

static void null_writer_free(struct store_writer *w)
{
    tp_free(w);
}

static const struct store_writer_ops null_writer_ops = { null_write, null_finish, null_abort,
                                                         null_writer_free };

static int null_open_write(struct store *s, const char *hash, const char *storage_class,
                           struct store_writer **w_out)
{
    struct store_writer *w;
    (void)s, (void)hash, (void)storage_class;
    if (!(w = tp_calloc(1, sizeof(*w))))
        return TP_ERR(ENOMEM);
    w->ops = &null_writer_ops;
    *w_out = w;
    return 0;
}

static int null_stat(struct store *s, const char *hash, struct store_stat *st)
{
    (void)s, (void)st;
    RETURN_ERR_IF(1, TP_ERR_NOTFOUND, "blob %s: the null store keeps nothing", hash);
}

static int null_set_class(struct store *s, const char *hash, const char *storage_class)
{
    (void)s, (void)hash, (void)storage_class;
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
    .open_read = null_open_read,
    .open_write = null_open_write,
    .stat = null_stat,
    .set_class = null_set_class,
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
