/* tierpress components rescan [--all] [--limit N] [--json] */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "components.h"
#include "err.h"
#include "home.h"
#include "json.h"
#include "rescan.h"

static void components_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress components rescan [--all] [--limit N] [--json] [--no-progress]\n"
        "\n"
        "rescan: makes the component inventory (gain maps, motion video, depth and\n"
        "auxiliary images, animation, ...; see 'tierpress info') of image assets\n"
        "catalogued before inventories existed, so that policies' 'has:' matches them\n"
        "and the simulator prices them.  Each original is read as 'get' serves it\n"
        "(sha256 checked; a JPEG rebuilt from its JPEG XL recompression) and probed as\n"
        "ingest probes; the inventory is stored with an audit row 'components.rescan'.\n"
        "An asset whose original is gone is probed on its current representation\n"
        "(source 'current'). An unreadable asset is reported and skipped (exit 1 at\n"
        "the end); the others are still done.  Run again: only what is missing is read.\n"
        "\n"
        "  --all          every image asset, also those with an inventory\n"
        "  --limit N      at most N assets this time (1..10^12; default all)\n"
        "  --json         one object per asset (asset, source, components or error),\n"
        "                 then one summary (total, filled, with_parts, failed)\n"
        "  --no-progress  no progress line on a terminal\n");
}

struct out {
    int json, tty;
};

static void on_item(void *ud, const struct rescan_item *it)
{
    const struct out *o = ud;
    if (it->error)
        cli_error_line("tierpress: components rescan: asset %" PRId64 ": %s", it->asset_id,
                       it->error);
    if (o->json) {
        json_t *j = json_object(), *k = json_array();
        int ret = !j || !k;
        for (int i = 0; !ret && i < COMP_NKINDS; i++)
            if (it->kinds & 1u << i)
                ret |= json_array_append_new(k, json_string(components_kind_name(i)));
        ret |= json_set_int(j, "asset", it->asset_id);
        if (it->error) {
            ret |= json_set_text(j, "error", it->error);
            json_decref(k);
        } else {
            ret |= json_set_text(j, "source", it->source);
            ret |= json_object_set_new(j, "components", k);
        }
        if (!ret)
            json_print(stdout, j); /* takes j */
        else
            json_decref(j);
    } else if (o->tty) {
        fprintf(stderr, "\rcomponents rescan: %" PRId64 "/%" PRId64 "%s", it->index, it->total,
                it->index == it->total ? "\n" : "");
    }
}

int cmd_components(const struct cli *cli, int argc, char **argv)
{
    enum { O_ALL = 256, O_LIMIT, O_JSON, O_NOPROG };
    static const struct option opts[] = {
        { "all", no_argument, NULL, O_ALL },
        { "limit", required_argument, NULL, O_LIMIT },
        { "json", no_argument, NULL, O_JSON },
        { "no-progress", no_argument, NULL, O_NOPROG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct rescan_opts ro;
    struct rescan_result r;
    struct out o = { 0 };
    struct home h;
    char *end;
    int c, ret, noprog = 0;

    rescan_defaults(&ro);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_ALL: ro.all = 1; break;
        case O_LIMIT:
            ro.limit = strtoll(optarg, &end, 10);
            if (!*optarg || *end || ro.limit < 1 || ro.limit > 1000000000000LL)
                return cli_usage_error("components", "--limit expects 1..10^12, got '%s'", optarg);
            break;
        case O_JSON: o.json = 1; break;
        case O_NOPROG: noprog = 1; break;
        case 'h': components_help(stdout); return 0;
        default: return cli_usage_error("components", "bad option (see --help)");
        }
    }
    if (optind >= argc || strcmp(argv[optind], "rescan"))
        return cli_usage_error("components", "expected 'rescan' (see --help)");
    if (optind + 1 < argc)
        return cli_usage_error("components", "unexpected argument '%s'", argv[optind + 1]);
    o.tty = !noprog && isatty(2);
    ro.on_item = on_item;
    ro.ud = &o;
    if ((ret = home_open_mode(&h, cli->cfg, HOME_OPEN)) < 0)
        return cli_fail(cli->home, ret);
    ret = rescan_components(&h, &ro, &r);
    home_close(&h);
    if (ret < 0)
        return cli_fail("components rescan", ret);
    if (o.json) {
        json_t *j = json_object();
        if (j && !(json_set_int(j, "total", r.total) | json_set_int(j, "filled", r.filled) |
                   json_set_int(j, "with_parts", r.with_parts) | json_set_int(j, "failed", r.failed)))
            json_print(stdout, j); /* takes j */
        else
            json_decref(j);
    } else {
        printf("components rescan: %" PRId64 " of %" PRId64 " assets inventoried (%" PRId64
               " with parts), %" PRId64 " unreadable\n", r.filled, r.total, r.with_parts, r.failed);
    }
    return r.failed ? 1 : 0;
}
