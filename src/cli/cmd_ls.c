/* tierpress ls [--json] */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "asset_json.h"
#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"

static void ls_help(FILE *f)
{
    fprintf(f, "usage: tierpress ls [--json] [--owner NAME]\n"
               "\n"
               "Lists the catalogued assets: id, format, size, dimensions, tier, storage\n"
               "class and renditions.\n"
               "\n"
               "  --json        one JSON object per asset, one per line\n"
               "  --owner NAME  only that owner's assets (default: every owner's)\n");
}

struct ls {
    struct catalog *cat;
    int json, n;
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
    if (l->owner && strcmp(l->owner, a->owner))
        return 0;
    l->n++;
    if (!l->json) {
        printf("%6lld  %-5s %-5s %5dx%-5d %10llu  %-8s %-8s %.12s ", (long long)a->id, a->kind,
               a->format, a->width, a->height, (unsigned long long)a->bytes,
               a->tier[0] ? a->tier : "-", a->storage_class, a->sha256);
        ret = catalog_rendition_iterate(l->cat, a->id, print_rendition_text, NULL);
        printf("\n");
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
        { "owner", required_argument, NULL, 'o' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct home home;
    struct ls l = { 0 };
    int c, ret;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': l.json = 1; break;
        case 'o': l.owner = optarg; break;
        case 'h': ls_help(stdout); return 0;
        default: return cli_usage_error("ls", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("ls", "unexpected argument '%s'", argv[optind]);
    if ((ret = home_open_mode(&home, cli->cfg, HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    l.cat = home.cat;
    if (!l.json)
        printf("%6s  %-5s %-5s %11s %10s  %-8s %-8s %-12s renditions\n", "id", "kind", "fmt",
               "size", "bytes", "tier", "class", "sha256");
    ret = catalog_asset_iterate(home.cat, print_asset, &l);
    home_close(&home);
    if (ret < 0)
        return cli_fail("ls", ret);
    return 0;
}
