/* tierpress fsck: every blob the catalog knows is in the store with the
 * right size and hash, and its reference count equals the pointers to it.
 * Blobs with no catalog row (an interrupted ingest or job, or a catalog that
 * lost its last transactions) are reported as recoverable: `fsck --adopt`
 * catalogs them as assets the way ingest does, largest first, so that an
 * original's proxies (made again, byte for byte) are attached to it instead
 * of becoming assets of their own. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"
#include "ingest.h"
#include "json.h"
#include "mem.h"
#include "sandbox.h"
#include "store.h"

struct orphan {
    char hash[SHA256_HEX_LEN + 1];
    uint64_t bytes, pixels;
    int is_proxy;             /* what ingest makes of another orphan */
};

struct fsck {
    struct home *h;
    int quick, json, adopt;
    int no_isolate; /* --no-isolate: --adopt decodes in this process */
    int64_t blobs, problems, orphans, unreferenced, temps;
    struct orphan *orph;
    size_t norph, cap;
    int ret;
};

/* The JSON objects fsck prints, one serializer each (docs/json.md). */
static json_t *problem_json(const char *hash, const char *what)
{
    json_t *o = json_object();
    if (!o || json_set_text(o, "problem", what) < 0 || json_set_text(o, "blob", hash) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *orphan_json(const char *hash, uint64_t bytes)
{
    json_t *o = json_object();
    if (!o || json_set_text(o, "no_catalog_row", hash) < 0 ||
        json_set_int(o, "bytes", (long long)bytes) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* asset > 0: adopted as that asset; otherwise not adopted, why. */
static json_t *adopt_json(const char *hash, int64_t asset, const char *why)
{
    json_t *o = json_object();
    int ret = o ? 0 : -1;
    if (!ret && asset > 0)
        ret = json_set_text(o, "adopted", hash) < 0 || json_set_int(o, "asset", asset) < 0;
    else if (!ret)
        ret = json_set_text(o, "not_adopted", hash) < 0 || json_set_text(o, "reason", why) < 0;
    if (ret) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *summary_json(const struct fsck *f, int64_t adopted, int64_t attached,
                            int64_t left)
{
    json_t *o = json_object();
    if (!o || json_set_int(o, "blobs", f->blobs) < 0 ||
        json_set_int(o, "problems", f->problems) < 0 ||
        json_set_int(o, "orphans", f->orphans) < 0 ||
        json_set_int(o, "unreferenced", f->unreferenced) < 0 ||
        json_set_int(o, "temp_files", f->temps) < 0 || json_set_int(o, "adopted", adopted) < 0 ||
        json_set_int(o, "attached", attached) < 0 || json_set_int(o, "not_adopted", left) < 0 ||
        json_object_set_new(o, "ok", json_boolean(!f->problems)) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

__attribute__((format(printf, 3, 4)))
static void problem(struct fsck *f, const char *hash, const char *fmt, ...)
{
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    f->problems++;
    if (f->json) {
        json_print(stdout, problem_json(hash, what));
    } else {
        printf("PROBLEM blob %s: %s\n", hash, what);
    }
}

static int check_blob(void *ud, const struct catalog_blob *b)
{
    struct fsck *f = ud;
    struct catalog_asset a;
    uint64_t bytes = 0;
    f->blobs++;
    if (b->refcount == 0)
        f->unreferenced++;
    if (b->expected_refcount >= 0 && b->refcount != b->expected_refcount)
        problem(f, b->hash, "reference count %lld, but %lld pointer(s) refer to it",
                (long long)b->refcount, (long long)b->expected_refcount);
    if (!store_exists(f->h->store, b->hash, &bytes)) {
        if (b->refcount > 0)
            problem(f, b->hash, "missing from the store (%lld reference(s))",
                    (long long)b->refcount);
        return 0;
    }
    if (bytes != b->bytes)
        problem(f, b->hash, "%lld bytes in the store, %lld in the catalog", (long long)bytes,
                (long long)b->bytes);
    else if (!f->quick && store_verify(f->h->store, b->hash) < 0) {
        if (catalog_asset_find(f->h->cat, b->hash, &a) == 0)
            problem(f, b->hash, "content does not match its hash: the stored original of "
                    "asset %lld is corrupt", (long long)a.id);
        else
            problem(f, b->hash, "content does not match its hash");
    }
    tp_err_clear();
    return 0;
}

static int check_file(void *ud, const struct store_entry *e)
{
    struct fsck *f = ud;
    struct catalog_blob b;
    if (catalog_blob_get(f->h->cat, e->hash, &b) == TP_ERR_NOTFOUND) {
        f->orphans++;
        if (f->json)
            json_print(stdout, orphan_json(e->hash, e->bytes));
        else if (!f->adopt)
            printf("orphan  blob %s: %llu bytes in the store, no catalog row (recoverable)\n",
                   e->hash, (unsigned long long)e->bytes);
        if (f->adopt) {
            if (f->norph == f->cap) {
                size_t cap = f->cap ? f->cap * 2 : 64;
                void *p = tp_realloc(f->orph, cap * sizeof(*f->orph));
                if (!p)
                    return f->ret = TP_ERR(ENOMEM);
                f->orph = p;
                f->cap = cap;
            }
            struct orphan *o = &f->orph[f->norph++];
            memset(o, 0, sizeof(*o));
            snprintf(o->hash, sizeof(o->hash), "%s", e->hash);
            o->bytes = e->bytes;
        }
    }
    tp_err_clear();
    return 0;
}

/* Originals before proxies; largest picture first, then most bytes. */
static int cmp_orphan(const void *pa, const void *pb)
{
    const struct orphan *a = pa, *b = pb;
    if (a->is_proxy != b->is_proxy)
        return a->is_proxy - b->is_proxy;
    if (a->pixels != b->pixels)
        return a->pixels < b->pixels ? 1 : -1;
    if (a->bytes != b->bytes)
        return a->bytes < b->bytes ? 1 : -1;
    return strcmp(a->hash, b->hash);
}

static int cmp_hash(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Marks the orphans that are a proxy ingest makes of another orphan: they
 * come back attached to their original, not as assets. */
static int mark_proxies(struct fsck *f, const struct ingest_opts *o)
{
    char (*all)[SHA256_HEX_LEN + 1] = NULL;
    char px[INGEST_MAX_PROXIES][SHA256_HEX_LEN + 1];
    struct tp_buf b = { 0 };
    size_t n = 0;
    int ret = 0, k;

    if (!f->norph)
        return 0;
    if (!(all = tp_calloc(f->norph * INGEST_MAX_PROXIES, sizeof(*all))))
        return TP_ERR(ENOMEM);
    for (size_t i = 0; i < f->norph; i++) {
        /* (the pixels come from the decode: with o->isolate no byte of
         * the blob is parsed in this process) */
        if (store_get(f->h->store, f->orph[i].hash, &b) < 0) {
            tp_err_clear();
            continue;
        }
        if ((k = ingest_proxy_hashes(b.data, b.len, f->orph[i].hash, o, &f->orph[i].pixels,
                                     px)) < 0) {
            tp_err_clear();
            continue;
        }
        for (int j = 0; j < k; j++)
            if (strcmp(px[j], f->orph[i].hash))
                memcpy(all[n++], px[j], sizeof(*all));
    }
    qsort(all, n, sizeof(*all), cmp_hash);
    for (size_t i = 0; i < f->norph; i++)
        f->orph[i].is_proxy = n && bsearch(f->orph[i].hash, all, n, sizeof(*all), cmp_hash);
    buf_free(&b);
    tp_free(all);
    return ret;
}

static void adopt_report(struct fsck *f, const char *hash, int64_t asset, const char *why)
{
    if (f->json) {
        json_print(stdout, adopt_json(hash, asset, why));
    } else if (asset > 0) {
        printf("adopted blob %s as asset %lld\n", hash, (long long)asset);
    } else {
        printf("not adopted blob %s: %s\n", hash, why);
    }
}

/* Catalogs every orphan that decodes, as ingest would; returns how many
 * were adopted (proxies that came back with their original count as
 * attached, not adopted). */
static int adopt_orphans(struct fsck *f, int64_t *adopted, int64_t *attached, int64_t *left)
{
    struct ingest_opts o;
    struct tp_buf b = { 0 };
    struct sandbox_pool *pool = NULL;
    int ret = 0;

    ingest_defaults(&o);
    if (f->norph && !f->no_isolate) {
        /* decoded as ingest decodes: in one resident sandboxed worker */
        signal(SIGPIPE, SIG_IGN); /* a worker may die before reading its request */
        if ((ret = ingest_pool_open(&pool, 1)) < 0)
            return ret;
        sandbox_pool_lazy(pool);
        o.isolate = 1;
        o.pool = pool;
    }
    if ((ret = mark_proxies(f, &o)) < 0)
        goto end;
    qsort(f->orph, f->norph, sizeof(*f->orph), cmp_orphan);
    for (size_t i = 0; i < f->norph; i++) {
        struct orphan *or = &f->orph[i];
        struct catalog_blob cb;
        struct ingest_result res;
        char name[100], why[512];
        if (catalog_blob_get(f->h->cat, or->hash, &cb) == 0) { /* a proxy made again */
            (*attached)++;
            continue;
        }
        tp_err_clear();
        if (or->is_proxy) { /* its original did not come back */
            (*left)++;
            adopt_report(f, or->hash, 0, "a proxy of another orphan blob that was not adopted");
            continue;
        }
        snprintf(name, sizeof(name), "blob %s", or->hash);
        if ((ret = store_get(f->h->store, or->hash, &b)) < 0)
            goto skip;
        sha256_hex(b.data, b.len, res.sha256);
        if (strcmp(res.sha256, or->hash)) {
            tp_err_set("its bytes hash to %s: corrupt, left in place", res.sha256);
            ret = TP_ERR_VERIFY;
            goto skip;
        }
        if ((ret = ingest_data(f->h, b.data, b.len, name, &o, &res)) < 0)
            goto skip;
        (*adopted)++;
        adopt_report(f, or->hash, res.asset_id, "");
        continue;
skip:
        tp_strerror(ret, why, sizeof(why));
        tp_err_clear();
        (*left)++;
        adopt_report(f, or->hash, 0, why);
        if (ret == TP_ERR(ENOMEM) || ret == TP_ERR(ENOSPC) || ret == TP_ERR(EIO))
            break; /* the home, not the blob */
        ret = 0;
    }
end:
    sandbox_pool_close(&pool);
    buf_free(&b);
    return ret < 0 ? ret : 0;
}

int cmd_fsck(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "quick", no_argument, NULL, 'q' },
        { "adopt", no_argument, NULL, 'a' },
        { "json", no_argument, NULL, 'j' },
        { "no-isolate", no_argument, NULL, 'I' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct home h = { 0 };
    struct fsck f;
    int64_t adopted = 0, attached = 0, left = 0;
    int c, ret;

    memset(&f, 0, sizeof(f));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'q': f.quick = 1; break;
        case 'a': f.adopt = 1; break;
        case 'j': f.json = 1; break;
        case 'I': f.no_isolate = 1; break;
        case 'h':
            printf("usage: tierpress fsck [--quick] [--adopt [--no-isolate]] [--json]\n\n"
                   "Checks that every blob the catalog records is in the store with its size\n"
                   "and sha256 (--quick: size only), and that reference counts equal the\n"
                   "pointers to each blob.  Exit 1 on any problem.  Blobs with no catalog\n"
                   "row (an interrupted ingest or job, or a catalog that lost its last\n"
                   "transactions) are listed as recoverable, not problems; gc keeps them\n"
                   "for its orphan grace.  Without --adopt nothing is written.\n\n"
                   "  --adopt   catalog each such blob that decodes as an asset, as ingest\n"
                   "            does (with its proxies; an original's old proxies are\n"
                   "            recognised and attached to it); the rest are listed.\n"
                   "            Blobs are decoded in a sandboxed worker process, as by\n"
                   "            'ingest'\n"
                   "  --no-isolate  with --adopt: decode in this process instead (faster;\n"
                   "            a codec crash then ends the whole fsck)\n");
            return 0;
        default: return cli_usage_error("fsck", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("fsck", "unexpected argument '%s'", argv[optind]);
    if ((ret = home_open_mode(&h, cli->cfg, f.adopt ? HOME_OPEN : HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    f.h = &h;
    if ((ret = catalog_blob_iterate(h.cat, check_blob, &f)) < 0 ||
        (ret = store_iterate(h.store, check_file, &f)) < 0 || (ret = f.ret) < 0)
        goto end;
    if (f.adopt && (ret = adopt_orphans(&f, &adopted, &attached, &left)) < 0)
        goto end;
    if ((ret = store_pending(h.store, &f.temps)) < 0)
        goto end;
    if (f.json) {
        if ((ret = json_print(stdout, summary_json(&f, adopted, attached, left))) < 0)
            goto end;
    } else {
        printf("%s: %lld blob(s) checked%s, %lld problem(s); %lld orphan file(s), %lld "
               "unreferenced blob(s), %lld temp file(s)\n", f.problems ? "FAILED" : "clean",
               (long long)f.blobs, f.quick ? " (sizes only)" : "", (long long)f.problems,
               (long long)f.orphans, (long long)f.unreferenced, (long long)f.temps);
        if (f.adopt)
            printf("adopted %lld blob(s) as assets, %lld proxy blob(s) attached to them, %lld "
                   "not adopted\n", (long long)adopted, (long long)attached, (long long)left);
        else if (f.orphans)
            printf("%lld blobs with no catalog row: `tierpress fsck --adopt` re-catalogs them\n",
                   (long long)f.orphans);
    }
    ret = 0;
end:
    tp_free(f.orph);
    home_close(&h);
    if (ret < 0)
        return cli_fail(cli->home, ret);
    return f.problems ? 1 : 0;
}
