/* tierpress migrate: a home's catalog and blobs copied into other backends,
 * resumably (see migrate.h). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "err.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "migrate.h"
#include "store.h"
#include "timeutil.h"

#define COPY_CHUNK (1 << 20)

void migrate_defaults(struct migrate_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->page_rows = 1000;
}

/* A page of exported rows, owned: each value a presence byte ('\1' value,
 * '\0' NULL) then the text and its NUL. */
struct page {
    struct tp_buf buf;
    int nrows, ncols;
};

static int page_add(void *ud, const char *const *v)
{
    struct page *pg = ud;
    for (int i = 0; i < pg->ncols; i++) {
        size_t len = v[i] ? strlen(v[i]) : 0;
        uint8_t flag = v[i] != NULL, nul = 0;
        FORWARD_ERR(buf_append(&pg->buf, &flag, 1));
        if (v[i])
            FORWARD_ERR(buf_append(&pg->buf, v[i], len));
        FORWARD_ERR(buf_append(&pg->buf, &nul, 1));
    }
    pg->nrows++;
    return 0;
}

/* The values of the row starting at *pos into v; advances *pos. */
static void page_row(const struct page *pg, size_t *pos, const char **v)
{
    for (int i = 0; i < pg->ncols; i++) {
        const char *p = (const char *)pg->buf.data + *pos;
        v[i] = p[0] ? p + 1 : NULL;
        *pos += 1 + strlen(p + 1) + 1;
    }
}

/* Streams one blob from src to dst under its address; the writer checks
 * the bytes hash to it before the object becomes visible. */
static int copy_blob(struct store *src, struct store *dst, const char *hash, const char *sc,
                     uint64_t expect_bytes, uint8_t *chunk)
{
    struct store_reader *r = NULL;
    struct store_writer *w = NULL;
    uint64_t total = 0;
    int n, ret;
    if ((ret = store_open_read(src, hash, 0, STORE_TO_END, &r)) < 0) {
        if (ret == TP_ERR_NOTFOUND)
            tp_err_set("source blob %s is missing from the store", hash);
        goto end;
    }
    if ((ret = store_open_write(dst, hash, sc, &w)) < 0)
        goto end;
    while ((n = store_read(r, chunk, COPY_CHUNK)) > 0) {
        total += (uint64_t)n;
        if ((ret = store_write(w, chunk, (size_t)n)) < 0)
            goto end;
    }
    if ((ret = n) < 0)
        goto end;
    if (total != expect_bytes) {
        tp_err_set("source blob %s: %llu bytes, the catalog says %llu", hash,
                   (unsigned long long)total, (unsigned long long)expect_bytes);
        ret = TP_ERR_CORRUPT;
        goto end;
    }
    ret = store_writer_finish(&w, NULL);
    if (ret == TP_ERR_VERIFY) {
        tp_err_set("source blob %s is corrupt: its bytes do not hash to its name", hash);
        ret = TP_ERR_CORRUPT;
    } else if (ret == TP_ERR_CONFLICT) {
        tp_err_set("target store: blob %s exists with another size", hash);
    }
end:
    store_writer_abort(&w);
    store_reader_close(&r);
    return ret < 0 ? ret : 0;
}

static void progress(const struct migrate_opts *o, const struct catalog_table *t,
                     const struct catalog_migrate_state *st, int last)
{
    if (!o->progress)
        return;
    fprintf(o->progress, "%smigrate: %-10s %lld rows, %lld blobs (%.1f MiB)%s",
            o->progress_tty ? "\r" : "", t ? t->name : "verified", (long long)st->rows,
            (long long)st->blobs, (double)st->bytes / (1024.0 * 1024.0),
            o->progress_tty && !last ? "" : "\n");
    fflush(o->progress);
}

/* Fault hook for the tests: TP_FAULT_MIGRATE_KILL=N kills the process with
 * SIGKILL at its Nth page, after the page's blobs are stored and its rows
 * imported, before the commit. */
static void fault_kill(int page)
{
    const char *e = getenv("TP_FAULT_MIGRATE_KILL");
    if (e && atoi(e) == page)
        raise(SIGKILL);
}

struct totals {
    int64_t blobs, bad;
    char first_bad[SHA256_HEX_LEN + 1];
    int64_t refcount, expected;
};

static int count_blob(void *ud, const struct catalog_blob *b)
{
    struct totals *t = ud;
    t->blobs++;
    if (b->expected_refcount >= 0 && b->expected_refcount != b->refcount) {
        if (!t->bad++) {
            snprintf(t->first_bad, sizeof(t->first_bad), "%s", b->hash);
            t->refcount = b->refcount;
            t->expected = b->expected_refcount;
        }
    }
    return 0;
}

static int verify(struct catalog *src, struct catalog *dst, struct migrate_result *res)
{
    struct totals ts = { 0 }, td = { 0 };
    int64_t lo, hi, na_src, na_dst;
    FORWARD_ERR(catalog_asset_id_range(src, &lo, &hi, &na_src));
    FORWARD_ERR(catalog_asset_id_range(dst, &lo, &hi, &na_dst));
    FORWARD_ERR(catalog_blob_iterate(src, count_blob, &ts));
    FORWARD_ERR(catalog_blob_iterate(dst, count_blob, &td));
    res->assets = na_dst;
    res->total_blobs = td.blobs;
    RETURN_ERR_IF(na_src != na_dst || ts.blobs != td.blobs, TP_ERR_CORRUPT,
                  "migrate: the target has %lld assets and %lld blobs, the source %lld and %lld",
                  (long long)na_dst, (long long)td.blobs, (long long)na_src, (long long)ts.blobs);
    RETURN_ERR_IF(td.bad, TP_ERR_CORRUPT,
                  "migrate: %lld target blobs have a wrong reference count (blob %s: %lld, its "
                  "pointers count %lld)%s",
                  (long long)td.bad, td.first_bad, (long long)td.refcount, (long long)td.expected,
                  ts.bad ? "; the source has the same fault: run tierpress fsck on it" : "");
    return 0;
}

/* Copies one page of table t; returns its number of rows (0: the table is done). */
static int copy_page(struct catalog *src_cat, struct store *src_store, struct catalog *dst_cat,
                     struct store *dst_store, const char *source, const struct catalog_table *t,
                     struct catalog_migrate_state *st, const struct migrate_opts *o,
                     struct migrate_result *res, uint8_t *chunk, int page_no)
{
    struct page pg = { .ncols = t->ncols };
    struct catalog_migrate_state next = *st;
    const char *v[CATALOG_TABLE_COLS];
    int is_blobs = !strcmp(t->name, "blobs"), ret, in_txn = 0;
    int64_t blobs = 0, bytes = 0;
    size_t pos = 0;
    if ((ret = catalog_rows_export(src_cat, t, st->after, o->page_rows, page_add, &pg)) < 0)
        goto end;
    if (pg.nrows == 0) { /* the next table */
        next.step++;
        next.after[0] = 0;
    }
    /* the page's blobs first: a row never names a blob the target lacks */
    for (int i = 0; is_blobs && i < pg.nrows; i++) {
        page_row(&pg, &pos, v);
        uint64_t n = strtoull(v[1], NULL, 10);
        if ((ret = copy_blob(src_store, dst_store, v[0], v[2], n, chunk)) < 0)
            goto end;
        blobs++;
        bytes += (int64_t)n;
    }
    if ((ret = catalog_begin(dst_cat)) < 0)
        goto end;
    in_txn = 1;
    pos = 0;
    for (int i = 0; i < pg.nrows; i++) {
        char scratch[64];
        page_row(&pg, &pos, v);
        snprintf(next.after, sizeof(next.after), "%s", v[0]);
        if (t->row_map)
            t->row_map(v, scratch, sizeof(scratch));
        if ((ret = catalog_rows_import(dst_cat, t, v)) < 0)
            goto end;
    }
    /* a keyset walk that does not advance would copy the same page forever */
    if (pg.nrows && !strcmp(next.after, st->after)) {
        tp_err_set("migrate: table %s: the page after key '%s' did not advance", t->name,
                   st->after);
        ret = TP_ERR_BUG;
        goto end;
    }
    next.rows += pg.nrows;
    next.blobs += blobs;
    next.bytes += bytes;
    if ((ret = catalog_migrate_state(dst_cat, source, &next, 1)) < 0)
        goto end;
    fault_kill(page_no);
    in_txn = 0;
    if ((ret = catalog_commit(dst_cat)) < 0)
        goto end;
    res->rows += pg.nrows;
    res->blobs += blobs;
    res->bytes += bytes;
    *st = next;
    ret = pg.nrows;
end:
    if (in_txn)
        catalog_rollback(dst_cat);
    buf_free(&pg.buf);
    return ret;
}

static int count_tables(void)
{
    int n = 0;
    while (catalog_tables[n])
        n++;
    return n;
}

int migrate_home(struct catalog *src_cat, struct store *src_store, struct catalog *dst_cat,
                 struct store *dst_store, const char *source, const struct migrate_opts *o,
                 struct migrate_result *res)
{
    struct catalog_migrate_state st;
    int64_t active;
    const int ntables = count_tables();
    uint8_t *chunk = NULL;
    int ret, page_no = 0;
    memset(res, 0, sizeof(*res));
    RETURN_ERR_IF(o->page_rows < 1 || o->page_rows > 100000, TP_ERR(EINVAL),
                  "migrate: page_rows %d is out of range (1..100000)", o->page_rows);
    ret = catalog_migrate_state(dst_cat, source, &st, 0);
    if (ret == TP_ERR_NOTFOUND) {
        int64_t lo, hi, nassets, nblobs;
        FORWARD_ERR(catalog_asset_id_range(dst_cat, &lo, &hi, &nassets));
        FORWARD_ERR(catalog_blob_count(dst_cat, &nblobs));
        RETURN_ERR_IF(nassets || nblobs, TP_ERR_CONFLICT,
                      "migrate: the target catalog is not empty (%lld assets, %lld blobs) and "
                      "holds no unfinished copy of this home",
                      (long long)nassets, (long long)nblobs);
        memset(&st, 0, sizeof(st));
    } else if (ret < 0) {
        return ret;
    } else if (st.done) {
        res->already_done = 1;
        return verify(src_cat, dst_cat, res);
    } else {
        res->resumed = 1;
    }
    /* the queue is copied (jobs a dead worker held, released); a job a
     * worker holds right now would be done twice, here and there */
    FORWARD_ERR(catalog_job_active(src_cat, time_now(), &active));
    RETURN_ERR_IF(active, TP_ERR_CONFLICT,
                  "migrate: a worker holds %lld jobs of the source right now: let them finish "
                  "or stop the workers (tierpress jobs --workers) first",
                  (long long)active);
    if (!(chunk = tp_malloc(COPY_CHUNK)))
        return TP_ERR(ENOMEM);
    while (st.step < ntables) {
        const struct catalog_table *t = catalog_tables[st.step];
        if ((ret = copy_page(src_cat, src_store, dst_cat, dst_store, source, t, &st, o, res,
                             chunk, ++page_no)) < 0)
            goto end;
        if (ret > 0)
            progress(o, t, &st, 0);
    }
    /* the target never gives an id the source gave (a deleted asset's too) */
    int64_t next;
    if ((ret = catalog_rows_finish(dst_cat)) < 0 ||
        (ret = catalog_asset_id_mark(src_cat, &next, 0)) < 0 ||
        (ret = catalog_asset_id_mark(dst_cat, &next, 1)) < 0 ||
        (ret = verify(src_cat, dst_cat, res)) < 0)
        goto end;
    progress(o, NULL, &st, 1);
    {
        char *detail = json_pack_text("{s:I, s:I, s:I}", "rows", (json_int_t)st.rows, "blobs",
                                      (json_int_t)st.blobs, "bytes", (json_int_t)st.bytes);
        st.done = 1;
        if (!detail || (ret = catalog_begin(dst_cat)) < 0) {
            ret = detail ? ret : TP_ERR(ENOMEM);
            free(detail);
            goto end;
        }
        if ((ret = catalog_audit(dst_cat, 0, "catalog.migrate", detail)) < 0 ||
            (ret = catalog_migrate_state(dst_cat, source, &st, 1)) < 0) {
            free(detail);
            catalog_rollback(dst_cat);
            goto end;
        }
        free(detail);
        ret = catalog_commit(dst_cat);
    }
end:
    tp_free(chunk);
    return ret < 0 ? ret : 0;
}
