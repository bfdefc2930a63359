/* tierpress fsck: every blob the catalog knows is in the store with the
 * right size and hash, and its reference count equals the pointers to it.
 * Orphan files and temp files left by an interrupted job are reported but
 * are not problems (gc removes them). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"
#include "json.h"
#include "store.h"

struct fsck {
    struct home *h;
    int quick, json;
    int64_t blobs, problems, orphans, unreferenced, temps;
};

__attribute__((format(printf, 3, 4)))
static void problem(struct fsck *f, const char *hash, const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    f->problems++;
    if (f->json) {
        printf("{\"problem\":");
        json_str(stdout, what);
        printf(",\"blob\":\"%s\"}\n", hash);
    } else {
        printf("PROBLEM blob %s: %s\n", hash, what);
    }
}

static int check_blob(void *ud, const struct catalog_blob *b)
{
    struct fsck *f = ud;
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
    else if (!f->quick && store_verify(f->h->store, b->hash) < 0)
        problem(f, b->hash, "content does not match its hash");
    tp_err_clear();
    return 0;
}

static int check_file(void *ud, const struct store_entry *e)
{
    const char *hash = e->hash;
    struct fsck *f = ud;
    struct catalog_blob b;
    if (catalog_blob_get(f->h->cat, hash, &b) == TP_ERR_NOTFOUND) {
        f->orphans++;
        if (!f->json)
            printf("orphan  blob %s: in the store, not in the catalog (gc removes it)\n", hash);
    }
    tp_err_clear();
    return 0;
}

int cmd_fsck(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "quick", no_argument, NULL, 'q' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct home h = { 0 };
    struct fsck f;
    int c, ret;

    memset(&f, 0, sizeof(f));
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'q': f.quick = 1; break;
        case 'j': f.json = 1; break;
        case 'h':
            printf("usage: tierpress fsck [--quick] [--json]\n\n"
                   "Checks that every blob the catalog records is in the store with its size\n"
                   "and sha256 (--quick: size only), and that reference counts equal the\n"
                   "pointers to each blob.  Exit 1 on any problem.  Orphan and temp files\n"
                   "from interrupted jobs are reported, not problems.\n");
            return 0;
        default: return cli_usage_error("fsck", "bad option");
        }
    }
    if ((ret = home_open(&h, cli->cfg)) < 0)
        return cli_fail(cli->home, ret);
    f.h = &h;
    if ((ret = catalog_blob_iterate(h.cat, check_blob, &f)) < 0 ||
        (ret = store_iterate(h.store, check_file, &f)) < 0) {
        home_close(&h);
        return cli_fail(cli->home, ret);
    }
    if ((ret = store_pending(h.store, &f.temps)) < 0) {
        home_close(&h);
        return cli_fail(cli->home, ret);
    }
    home_close(&h);
    if (f.json)
        printf("{\"blobs\":%lld,\"problems\":%lld,\"orphans\":%lld,\"unreferenced\":%lld,"
               "\"temp_files\":%lld,\"ok\":%s}\n", (long long)f.blobs, (long long)f.problems,
               (long long)f.orphans, (long long)f.unreferenced, (long long)f.temps,
               f.problems ? "false" : "true");
    else
        printf("%s: %lld blob(s) checked%s, %lld problem(s); %lld orphan file(s), %lld "
               "unreferenced blob(s), %lld temp file(s)\n", f.problems ? "FAILED" : "clean",
               (long long)f.blobs, f.quick ? " (sizes only)" : "", (long long)f.problems,
               (long long)f.orphans, (long long)f.unreferenced, (long long)f.temps);
    return f.problems ? 1 : 0;
}
