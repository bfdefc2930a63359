/* tierpress gc: releases replaced originals whose grace has passed, then
 * deletes blobs nothing references (catalog row first, then the file, so
 * a crash in between leaves only an orphan file, which the next gc
 * removes), then orphan files left by interrupted jobs. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"
#include "log.h"
#include "mem.h"
#include "store.h"
#include "timeutil.h"

struct hashes {
    char (*h)[SHA256_HEX_LEN + 1];
    uint64_t *bytes;
    size_t n, cap;
};

static int hashes_add(struct hashes *l, const char *h, uint64_t bytes)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *a = tp_realloc(l->h, cap * sizeof(*l->h)), *b;
        if (!a)
            return TP_ERR(ENOMEM);
        l->h = a;
        if (!(b = tp_realloc(l->bytes, cap * sizeof(*l->bytes))))
            return TP_ERR(ENOMEM);
        l->bytes = b;
        l->cap = cap;
    }
    snprintf(l->h[l->n], sizeof(l->h[l->n]), "%s", h);
    l->bytes[l->n++] = bytes;
    return 0;
}

static void hashes_free(struct hashes *l)
{
    tp_free(l->h);
    tp_free(l->bytes);
    memset(l, 0, sizeof(*l));
}

struct gc {
    struct home *h;
    int dry_run;
    int64_t originals, blobs, orphans;
    uint64_t bytes;
    struct hashes dead, orphan;
    int ret;
};

static int due_original(void *ud, const struct catalog_asset *a)
{
    struct gc *g = ud;
    if (!g->dry_run) {
        int ret = catalog_asset_release_original(g->h->cat, a->id, a->original_blob);
        if (ret < 0)
            return g->ret = ret;
    }
    g->originals++;
    return 0;
}

static int unreferenced(void *ud, const struct catalog_blob *b)
{
    struct gc *g = ud;
    if (b->refcount == 0 && hashes_add(&g->dead, b->hash, b->bytes) < 0)
        return g->ret = TP_ERR(ENOMEM);
    return 0;
}

static int orphan_file(void *ud, const struct store_entry *e)
{
    const char *hash = e->hash;
    uint64_t bytes = e->bytes;
    struct gc *g = ud;
    struct catalog_blob b;
    int ret = catalog_blob_get(g->h->cat, hash, &b);
    tp_err_clear();
    if (ret == TP_ERR_NOTFOUND && hashes_add(&g->orphan, hash, bytes) < 0)
        return g->ret = TP_ERR(ENOMEM);
    return 0;
}

int cmd_gc(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "now", required_argument, NULL, 'n' },
        { "dry-run", no_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct home h = { 0 };
    struct gc g;
    int64_t now = time_now(), active = 0;
    int json = 0, c, ret;
    char now_iso[CATALOG_TIME];

    memset(&g, 0, sizeof(g));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (time_parse(optarg, &now) < 0)
                return cli_usage_error("gc", "--now: %s", tp_err_detail());
            break;
        case 'd': g.dry_run = 1; break;
        case 'j': json = 1; break;
        case 'h':
            printf("usage: tierpress gc [--now TIME] [--dry-run] [--json]\n\n"
                   "Deletes replaced originals whose grace period has ended (policy\n"
                   "'original: {delete_after_days: N}'), blobs nothing references, and blob\n"
                   "files an interrupted job left behind (only while no runner is active).\n");
            return 0;
        default: return cli_usage_error("gc", "bad option");
        }
    }
    if ((ret = home_open(&h, cli->cfg)) < 0)
        return cli_fail(cli->home, ret);
    g.h = &h;
    time_format(now, now_iso, sizeof(now_iso));
    if ((ret = catalog_asset_iterate_due(h.cat, now_iso, due_original, &g)) < 0 ||
        (ret = g.ret) < 0)
        goto end;
    if ((ret = catalog_blob_iterate(h.cat, unreferenced, &g)) < 0 || (ret = g.ret) < 0)
        goto end;
    for (size_t i = 0; i < g.dead.n; i++) {
        if (!g.dry_run) {
            if ((ret = catalog_blob_remove(h.cat, g.dead.h[i])) < 0)
                goto end;
            ret = store_remove(h.store, g.dead.h[i]);
            if (ret < 0 && ret != TP_ERR_NOTFOUND)
                goto end;
        }
        g.blobs++;
        g.bytes += g.dead.bytes[i];
    }
    if ((ret = catalog_job_active(h.cat, time_now(), &active)) < 0)
        goto end;
    if (active) {
        tp_log(TP_LOG_INFO, "%lld job(s) running: orphan files are left for a later gc",
               (long long)active);
    } else {
        if ((ret = store_iterate(h.store, orphan_file, &g)) < 0 || (ret = g.ret) < 0)
            goto end;
        for (size_t i = 0; i < g.orphan.n; i++) {
            if (!g.dry_run && (ret = store_remove(h.store, g.orphan.h[i])) < 0 &&
                ret != TP_ERR_NOTFOUND)
                goto end;
            g.orphans++;
            g.bytes += g.orphan.bytes[i];
        }
    }
    ret = 0;
    if (json)
        printf("{\"originals_released\":%lld,\"blobs_deleted\":%lld,\"orphans_deleted\":%lld,"
               "\"bytes_freed\":%llu,\"dry_run\":%s}\n", (long long)g.originals,
               (long long)g.blobs, (long long)g.orphans, (unsigned long long)g.bytes,
               g.dry_run ? "true" : "false");
    else
        printf("%s%lld original(s) past their grace released, %lld unreferenced blob(s) and "
               "%lld orphan file(s) deleted, %.2f MB freed\n", g.dry_run ? "dry run: " : "",
               (long long)g.originals, (long long)g.blobs, (long long)g.orphans,
               (double)g.bytes / 1e6);
end:
    hashes_free(&g.dead);
    hashes_free(&g.orphan);
    home_close(&h);
    return ret < 0 ? cli_fail(cli->home, ret) : 0;
}
