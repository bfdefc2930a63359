/* tierpress ls [ASSET...] [--tier T] [--format F] [--limit N] [--after ID] [--owner O] [--json] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asset_json.h"
#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"

static void ls_help(FILE *f)
{
    fprintf(f, "usage: tierpress ls [ASSET...] [--tier T] [--format F] [--limit N] [--after ID] "
               "[--owner NAME] [--json]\n"
               "\n"
               "Lists the catalogued assets in id order: id, kind, the format and bytes\n"
               "served now (after a swap, the original's follow as orig=FORMAT:BYTES),\n"
               "dimensions, tier, storage class, the sha256 prefix and renditions.\n"
               "ASSET is an id or a sha256 prefix (6+ hex digits, as listed).\n"
               "\n"
               "  --tier T      only assets in tier T ('-': in none yet)\n"
               "  --format F    only assets whose original or current format is F\n"
               "  --limit N     at most N assets; with more left, the next page's\n"
               "                --after ID is printed on stderr\n"
               "  --after ID    only assets with a larger id (the next page)\n"
               "  --owner NAME  only that owner's assets (default: every owner's)\n"
               "  --json        one JSON object per asset, one per line\n");
}

struct ls {
    struct catalog *cat;
    int json, n;
    int64_t last_id;
    const char *owner;
};

static int print_rendition_text(void *ud, const struct catalog_rendition *r)
{
    (void)ud;
    printf(" %s:%s:%dx%d", r->name, r->format, r->width, r->height);
    return 0;
}

static int print_asset(void *ud, const struct catalog_asset *a)
{
    struct ls *l = ud;
    int ret;
    l->last_id = a->id; /* the next page starts after it */
    if (l->owner && strcmp(l->owner, a->owner))
        return 0;
    l->n++;
    if (!l->json) {
        char fmt[16], orig[48] = "";
        uint64_t bytes = a->bytes;
        snprintf(fmt, sizeof(fmt), "%s", a->format);
        if (a->current_blob[0] && strcmp(a->current_blob, a->sha256)) {
            /* swapped: what is served now is the tier's representation */
            struct catalog_rendition r;
            struct catalog_blob b;
            if (catalog_rendition_get(l->cat, a->id, "cold", &r) >= 0 &&
                !strcmp(r.blob, a->current_blob)) {
                snprintf(fmt, sizeof(fmt), "%s", r.format);
                bytes = r.bytes;
            } else if (catalog_blob_get(l->cat, a->current_blob, &b) >= 0) {
                snprintf(fmt, sizeof(fmt), "?");
                bytes = b.bytes;
            }
            tp_err_clear();
            snprintf(orig, sizeof(orig), " orig=%s:%llu", a->format, (unsigned long long)a->bytes);
        }
        printf("%6lld  %-5s %-5s %5dx%-5d %10llu  %-8s %-8s %.12s ", (long long)a->id, a->kind,
               fmt, a->width, a->height, (unsigned long long)bytes,
               a->tier[0] ? a->tier : "-", a->storage_class, a->sha256);
        ret = catalog_rendition_iterate(l->cat, a->id, print_rendition_text, NULL);
        printf("%s\n", orig);
        return ret;
    }
    json_t *o = asset_json(l->cat, a, &ret);
    if (!o)
        return ret;
    ret = json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(10)) < 0 ? TP_ERR(EIO) : 0;
    printf("\n");
    json_decref(o);
    return ret;
}

int cmd_ls(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "tier", required_argument, NULL, 't' },
        { "format", required_argument, NULL, 'f' },
        { "limit", required_argument, NULL, 'l' },
        { "after", required_argument, NULL, 'a' },
        { "owner", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct home home;
    struct ls l = { 0 };
    struct catalog_asset_query q = { 0 };
    int c, ret = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'j': l.json = 1; break;
        case 't': q.tier = optarg; break;
        case 'f': q.format = optarg; break;
        case 'l':
        case 'a': {
            long long v = strtoll(optarg, &end, 10);
            if (!*optarg || *end || v < (c == 'l' ? 1 : 0))
                return cli_usage_error("ls", "--%s expects %s, got '%s'", c == 'l' ? "limit" : "after",
                                       c == 'l' ? "a positive count" : "an asset id", optarg);
            if (c == 'l')
                q.limit = v;
            else
                q.after = v;
            break;
        }
        case 'o': l.owner = q.owner = optarg; break;
        case 'h': ls_help(stdout); return 0;
        default: return cli_usage_error("ls", "bad option");
        }
    }
    if (optind < argc && (q.tier || q.format || q.limit || q.after))
        return cli_usage_error("ls", "ASSET... lists those assets: no --tier, --format, --limit "
                               "or --after with them");
    if ((ret = home_open_mode(&home, cli->cfg, HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    l.cat = home.cat;
    if (!l.json)
        printf("%6s  %-5s %-5s %11s %10s  %-8s %-8s %-12s renditions\n", "id", "kind", "fmt",
               "size", "bytes", "tier", "class", "sha256");
    if (optind < argc) {
        /* the named assets, in the order given; a missing one is an error
         * after the others are listed */
        int failed = 0;
        for (int i = optind; i < argc; i++) {
            struct catalog_asset a;
            if ((ret = catalog_asset_resolve(home.cat, argv[i], &a)) >= 0)
                ret = print_asset(&l, &a);
            if (ret < 0) {
                if (ret == TP_ERR_NOTFOUND)
                    tp_err_set("no such asset in %s", cli->home);
                cli_fail(argv[i], ret);
                failed = 1;
            }
        }
        home_close(&home);
        return failed;
    }
    ret = catalog_asset_list(home.cat, &q, print_asset, &l);
    home_close(&home);
    if (ret < 0)
        return cli_fail("ls", ret);
    if (q.limit && l.n == q.limit)
        fprintf(stderr, "tierpress: ls: %d shown; the next page: --after %lld\n", l.n,
                (long long)l.last_id);
    return 0;
}
