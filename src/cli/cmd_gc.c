/* tierpress gc: releases replaced originals whose grace has passed, then
 * deletes blobs nothing references.  A blob younger than the orphan grace
 * (by its modification time, which a writer refreshes when it stores or
 * dedupes against it) is never deleted: an ingest or a job may be about to
 * commit a reference to it.  Files go before catalog rows, so a crash in
 * between leaves an unreferenced row without its file, which the next gc
 * removes; and a full disk is relieved before the catalog has to grow. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "store.h"
#include "timeutil.h"
#include "units.h"

#define ORPHAN_GRACE_DEFAULT (24 * 3600)

struct hashes {
    char (*h)[SHA256_HEX_LEN + 1];
    uint64_t *bytes;
    int64_t *mtime;    /* -1: not seen in the store */
    size_t n, cap;
};

static int hashes_add(struct hashes *l, const char *h, uint64_t bytes, int64_t mtime)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        void *a = tp_realloc(l->h, cap * sizeof(*l->h)), *b, *m;
        if (!a)
            return TP_ERR(ENOMEM);
        l->h = a;
        if (!(b = tp_realloc(l->bytes, cap * sizeof(*l->bytes))))
            return TP_ERR(ENOMEM);
        l->bytes = b;
        if (!(m = tp_realloc(l->mtime, cap * sizeof(*l->mtime))))
            return TP_ERR(ENOMEM);
        l->mtime = m;
        l->cap = cap;
    }
    snprintf(l->h[l->n], sizeof(l->h[l->n]), "%s", h);
    l->bytes[l->n] = bytes;
    l->mtime[l->n++] = mtime;
    return 0;
}

static void hashes_free(struct hashes *l)
{
    tp_free(l->h);
    tp_free(l->bytes);
    tp_free(l->mtime);
    memset(l, 0, sizeof(*l));
}

static int cmp_hash(const void *a, const void *b)
{
    return strcmp(a, b);
}

struct gc {
    struct home *h;
    int dry_run;
    int64_t cutoff;          /* blobs modified after this are kept */
    int64_t originals, blobs, orphans, young;
    uint64_t bytes;
    struct hashes dead, orphan;
    /* the originals this gc releases: a dry run does not release them, so a
     * blob counts as unreferenced when all its references are among these */
    struct hashes released;
    /* the blobs of uploads not ingested yet (ingest jobs queued, running,
     * or failed and dead): stored before they are catalogued, never
     * orphans however long they wait */
    struct hashes pending, pending_failed;
    int64_t waiting, failed; /* files kept for them */
    int ret;
};

static int due_original(void *ud, const struct catalog_asset *a)
{
    struct gc *g = ud;
    if (!g->dry_run) {
        int ret = catalog_asset_release_original(g->h->cat, a->id, a->original_blob);
        if (ret < 0)
            return g->ret = ret;
    } else if (hashes_add(&g->released, a->original_blob, a->bytes, -1) < 0) {
        return g->ret = TP_ERR(ENOMEM);
    }
    g->originals++;
    return 0;
}

/* References to hash among the originals a dry run would have released. */
static int64_t released_refs(const struct gc *g, const char *hash)
{
    const char (*d)[SHA256_HEX_LEN + 1] = g->released.n ? bsearch(hash, g->released.h, g->released.n,
                                                                 sizeof(*g->released.h), cmp_hash) : NULL;
    int64_t n = 0;
    if (!d)
        return 0;
    while (d > g->released.h && !strcmp(d[-1], hash))
        d--;
    for (; d < g->released.h + g->released.n && !strcmp(*d, hash); d++)
        n++;
    return n;
}

/* The same decision for gc and gc --dry-run: after the releases (done, or
 * only listed by a dry run), a blob with no reference left is dead. */
static int unreferenced(void *ud, const struct catalog_blob *b)
{
    struct gc *g = ud;
    if (b->refcount - released_refs(g, b->hash) <= 0 &&
        hashes_add(&g->dead, b->hash, b->bytes, -1) < 0)
        return g->ret = TP_ERR(ENOMEM);
    return 0;
}

static int pending_blob(void *ud, const char *const *v)
{
    struct gc *g = ud;
    int failed = !strcmp(v[1], "failed") || !strcmp(v[1], "dead");
    if (hashes_add(failed ? &g->pending_failed : &g->pending, v[0], 0, -1) < 0)
        return g->ret = TP_ERR(ENOMEM);
    return 0;
}

/* The uploads not ingested yet: their blobs, sorted.  A failed or dead
 * ingest job keeps its blob too: `jobs retry` needs it (a permanent
 * failure may be a decoder's, fixed by an upgrade). */
static int pending_uploads(struct gc *g)
{
    int ret;
    if ((ret = catalog_job_ingest_blobs(g->h->cat, pending_blob, g)) < 0 || (ret = g->ret) < 0)
        return ret;
    if (g->pending.n)
        qsort(g->pending.h, g->pending.n, sizeof(*g->pending.h), cmp_hash);
    if (g->pending_failed.n)
        qsort(g->pending_failed.h, g->pending_failed.n, sizeof(*g->pending_failed.h), cmp_hash);
    return 0;
}

/* Every stored blob: a dead row's file gets its mtime; a file without a
 * row is an orphan, unless an upload waiting to be ingested stored it. */
static int stored_blob(void *ud, const struct store_entry *e)
{
    struct gc *g = ud;
    struct catalog_blob b;
    char (*d)[SHA256_HEX_LEN + 1] = g->dead.n ? bsearch(e->hash, g->dead.h, g->dead.n,
                                                       sizeof(*g->dead.h), cmp_hash) : NULL;
    if (d) {
        g->dead.mtime[d - g->dead.h] = e->mtime;
        return 0;
    }
    int ret = catalog_blob_get(g->h->cat, e->hash, &b);
    tp_err_clear();
    if (ret != TP_ERR_NOTFOUND)
        return 0;
    if (g->pending.n &&
        bsearch(e->hash, g->pending.h, g->pending.n, sizeof(*g->pending.h), cmp_hash)) {
        g->waiting++;
        return 0;
    }
    if (g->pending_failed.n && bsearch(e->hash, g->pending_failed.h, g->pending_failed.n,
                                       sizeof(*g->pending_failed.h), cmp_hash)) {
        g->failed++;
        return 0;
    }
    if (hashes_add(&g->orphan, e->hash, e->bytes, e->mtime) < 0)
        return g->ret = TP_ERR(ENOMEM);
    return 0;
}

/* Deletes the file of an unreferenced blob unless it is young: 1 deleted
 * (or would be), 0 kept, negative on error. */
static int delete_file(struct gc *g, const char *hash, int64_t mtime)
{
    int ret;
    if (mtime > g->cutoff) {
        g->young++;
        return 0;
    }
    if (g->dry_run)
        return 1;
    ret = store_remove_older(g->h->store, hash, g->cutoff);
    if (ret == 1) /* a writer refreshed it meanwhile */
        g->young++;
    if (ret == TP_ERR_NOTFOUND) {
        tp_err_clear();
        ret = 1;
    }
    return ret == 0 ? 1 : ret;
}

/* Assets in the trash since before the cutoff (collected first: they are
 * deleted after the walk). */
struct trash {
    struct catalog *cat;
    char cutoff[CATALOG_TIME];
    int64_t *ids;
    size_t n, cap;
};

static int trashed(void *ud, const struct catalog_asset *a)
{
    struct trash *t = ud;
    struct catalog_asset p;
    int64_t partner;
    int ret;
    if (!a->deleted_at[0] || strcmp(a->deleted_at, t->cutoff) > 0)
        return 0;
    /* one half of a Live Photo is never deleted alone: both halves in the
     * trash past its grace, or neither goes */
    if ((ret = catalog_pair_get(t->cat, a->id, &partner)) < 0)
        return ret;
    if (ret > 0) {
        if ((ret = catalog_asset_get(t->cat, partner, &p)) < 0 && ret != TP_ERR_NOTFOUND)
            return ret;
        tp_err_clear();
        if (ret >= 0 && (!p.deleted_at[0] || strcmp(p.deleted_at, t->cutoff) > 0)) {
            tp_log(TP_LOG_INFO, "asset %lld stays in the trash: the other half of its pair "
                   "(asset %lld) is not deleted", (long long)a->id, (long long)partner);
            return 0;
        }
    }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        int64_t *ids = tp_realloc(t->ids, cap * sizeof(*ids));
        if (!ids)
            return TP_ERR(ENOMEM);
        t->ids = ids;
        t->cap = cap;
    }
    t->ids[t->n++] = a->id;
    return 0;
}

static int parse_args(int argc, char **argv, struct gc *g, int64_t *now, int64_t *grace,
                      int *json, int64_t *trash_grace)
{
    static const struct option opts[] = {
        { "now", required_argument, NULL, 'n' },
        { "orphan-grace", required_argument, NULL, 'g' },
        { "trash-grace", required_argument, NULL, 't' },
        { "dry-run", no_argument, NULL, 'd' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (time_parse(optarg, now) < 0)
                return cli_usage_error("gc", "--now: %s", tp_err_detail());
            break;
        case 'g':
            if (time_parse_duration(optarg, grace) < 0)
                return cli_usage_error("gc", "--orphan-grace: %s", tp_err_detail());
            break;
        case 't':
            if (time_parse_duration(optarg, trash_grace) < 0)
                return cli_usage_error("gc", "--trash-grace: %s", tp_err_detail());
            break;
        case 'd': g->dry_run = 1; break;
        case 'j': *json = 1; break;
        case 'h':
            printf("usage: tierpress gc [--now TIME] [--orphan-grace DURATION] "
                   "[--trash-grace DURATION] [--dry-run] [--json]\n\n"
                   "Removes assets deleted (to the trash, `serve` DELETE) longer than the\n"
                   "trash grace ago (default 30d), keeping blobs other assets share.\n"
                   "Deletes replaced originals whose grace period has ended (policy\n"
                   "'original: {delete_after_days: N}'; --now moves that clock), then blobs\n"
                   "nothing references: catalogued ones with no reference left, and files\n"
                   "with no catalog row (an interrupted ingest or job, or a lost catalog:\n"
                   "`tierpress fsck` names them, `fsck --adopt` re-catalogs them).\n"
                   "An unreferenced blob modified less than the orphan grace ago (by the\n"
                   "real clock, not --now) is kept: an ingest or a job may be about to\n"
                   "reference it.  On a full disk gc uses the home's 1 MiB reserve to\n"
                   "write the catalog (and makes it again after); when the catalog still\n"
                   "cannot be written (no reserve, a read-only home), only files are deleted.\n\n"
                   "  --orphan-grace D  N, Ns, Nm, Nh or Nd (default 24h)\n"
                   "  --trash-grace D   the same (default 30d)\n"
                   "  --dry-run         count, delete nothing\n"
                   "  --json            one object: originals_released, blobs_deleted,\n"
                   "                    orphans_deleted, young_kept, bytes_freed,\n"
                   "                    orphan_grace_s, files_only, dry_run,\n"
                   "                    trash_deleted, uploads_waiting, uploads_failed\n\n"
                   "The blob of an upload waiting to be ingested (a queued or running\n"
                   "ingest job) is never an orphan, however long it waits; nor is that of\n"
                   "an ingest job that failed or is dead (`tierpress jobs retry` needs it).\n");
            return -1;
        default: return cli_usage_error("gc", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("gc", "unexpected argument '%s'", argv[optind]);
    return 0;
}

int cmd_gc(const struct cli *cli, int argc, char **argv)
{
    struct home h = { 0 };
    struct gc g;
    int64_t now = time_now(), grace = ORPHAN_GRACE_DEFAULT, trash_grace = 30 * 86400;
    int json = 0, ret, files_only = 0;
    char now_iso[CATALOG_TIME];
    struct trash trash = { 0 };
    int64_t trash_deleted = 0;

    memset(&g, 0, sizeof(g));
    if ((ret = parse_args(argc, argv, &g, &now, &grace, &json, &trash_grace)) != 0)
        return ret < 0 ? 0 : ret;
    ret = home_open(&h, cli->cfg);
    /* a full disk: the home's reserve gives the catalog room to shrink */
    if (ret < 0 && ret != TP_ERR_NOTFOUND && !g.dry_run && home_reserve_release(cli->home) == 1) {
        tp_log(TP_LOG_WARN, "%s: the catalog cannot be written (%s): using the disk reserve",
               cli->home, tp_err_detail());
        tp_err_clear();
        ret = home_open(&h, cli->cfg);
    }
    if (ret < 0) {
        char why[300];
        if (ret == TP_ERR_NOTFOUND)
            return cli_fail(cli->home, ret);
        snprintf(why, sizeof(why), "%s", tp_err_detail());
        tp_err_clear();
        if ((ret = home_open_mode(&h, cli->cfg, HOME_READONLY)) < 0)
            return cli_fail(cli->home, ret);
        tp_log(TP_LOG_WARN, "%s: the catalog cannot be written (%s): deleting unreferenced "
               "files only", cli->home, why);
        files_only = 1;
    }
    g.h = &h;
    trash.cat = h.cat;
    g.cutoff = time_now() - grace;
    time_format(now, now_iso, sizeof(now_iso));
    /* the trash past its grace first: the blobs it releases go below */
    time_format(now - trash_grace, trash.cutoff, sizeof(trash.cutoff));
    if (!files_only && (ret = catalog_asset_iterate(h.cat, trashed, &trash)) < 0)
        goto end;
    for (size_t i = 0; i < trash.n; i++, trash_deleted++)
        if (!g.dry_run && (ret = catalog_asset_delete(h.cat, trash.ids[i])) < 0)
            goto end;
    if (!files_only && ((ret = catalog_asset_iterate_due(h.cat, now_iso, due_original, &g)) < 0 ||
                        (ret = g.ret) < 0))
        goto end;
    if (g.released.n)
        qsort(g.released.h, g.released.n, sizeof(*g.released.h), cmp_hash);
    /* catalog order is hash order: the store listing finds dead rows by bsearch */
    if ((ret = catalog_blob_iterate(h.cat, unreferenced, &g)) < 0 || (ret = g.ret) < 0)
        goto end;
    for (size_t i = 1; i < g.dead.n; i++) {
        if (strcmp(g.dead.h[i - 1], g.dead.h[i]) >= 0) {
            tp_err_set("catalog blobs not listed in hash order");
            ret = TP_ERR_BUG;
            goto end;
        }
    }
    if ((ret = pending_uploads(&g)) < 0 ||
        (ret = store_iterate(h.store, stored_blob, &g)) < 0 || (ret = g.ret) < 0)
        goto end;
    /* files first: this frees space before the catalog must grow */
    for (size_t i = 0; i < g.orphan.n; i++) {
        if ((ret = delete_file(&g, g.orphan.h[i], g.orphan.mtime[i])) < 0)
            goto end;
        if (ret) {
            g.orphans++;
            g.bytes += g.orphan.bytes[i];
        }
    }
    for (size_t i = 0; i < g.dead.n; i++) {
        if (g.dead.mtime[i] >= 0 && (ret = delete_file(&g, g.dead.h[i], g.dead.mtime[i])) <= 0) {
            if (ret < 0)
                goto end;
            continue; /* young: row and file stay */
        }
        if (!files_only && !g.dry_run) {
            ret = catalog_blob_remove(h.cat, g.dead.h[i]);
            if (ret == TP_ERR_CONFLICT) { /* referenced again meanwhile (and stored again) */
                tp_err_clear();
                continue;
            }
            if (ret < 0)
                goto end;
        }
        g.blobs++;
        g.bytes += g.dead.mtime[i] >= 0 ? g.dead.bytes[i] : 0;
    }
    ret = 0;
    if (json)
        ret = json_print(stdout, json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b,s:I,s:I,s:I}",
                                           "originals_released", (json_int_t)g.originals,
                                           "blobs_deleted", (json_int_t)g.blobs,
                                           "orphans_deleted", (json_int_t)g.orphans,
                                           "young_kept", (json_int_t)g.young,
                                           "bytes_freed", (json_int_t)g.bytes,
                                           "orphan_grace_s", (json_int_t)grace,
                                           "files_only", files_only, "dry_run", g.dry_run,
                                           "trash_deleted", (json_int_t)trash_deleted,
                                           "uploads_waiting", (json_int_t)g.waiting,
                                           "uploads_failed", (json_int_t)g.failed));
    else
        {
        char fb[UNITS_LEN];
        printf("%s%lld original(s) past their grace %s, %lld unreferenced blob(s) and "
               "%lld orphan file(s) %s, %s freed; %lld younger than the orphan "
               "grace (%llds) kept\n", g.dry_run ? "dry run: " : "",
               (long long)g.originals, g.dry_run ? "would be released" : "released",
               (long long)g.blobs, (long long)g.orphans,
               g.dry_run ? "would be deleted" : "deleted", units_bytes(g.bytes, fb, sizeof(fb)),
               (long long)g.young, (long long)grace);
    }
    if (!json && g.waiting)
        printf("%lld stored upload(s) waiting to be ingested kept\n", (long long)g.waiting);
    if (!json && g.failed)
        printf("%lld stored upload(s) whose ingest job failed kept (tierpress jobs retry)\n",
               (long long)g.failed);
    if (!json && trash_deleted)
        printf("%s%lld asset(s) deleted from the trash (older than %llds)\n",
               g.dry_run ? "dry run: " : "", (long long)trash_deleted, (long long)trash_grace);
end:
    tp_free(trash.ids);
    hashes_free(&g.dead);
    hashes_free(&g.orphan);
    hashes_free(&g.released);
    hashes_free(&g.pending);
    hashes_free(&g.pending_failed);
    home_close(&h);
    if (!g.dry_run && home_reserve_make(cli->home) < 0) { /* the space freed refills it */
        tp_log(TP_LOG_WARN, "%s", tp_err_detail());
        tp_err_clear();
    }
    return ret < 0 ? cli_fail(cli->home, ret) : 0;
}
