/* tierpress health [--json] [--catalog-only] [--now T] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "health.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "timeutil.h"

static void health_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress health [--json] [--catalog-only] [--now T]\n"
        "\n"
        "A catalog-wide report of metadata problems, each with a count, examples\n"
        "and what would fix it: no capture time (and where one could come from:\n"
        "the file name, the container's date), implausible capture times (1970-01-01,\n"
        "in the future, before 1990 on a phone, a camera's default date), EXIF times\n"
        "without a time zone (OffsetTimeOriginal), GPS at 0,0 or out of range, an\n"
        "EXIF Orientation that disagrees with a HEIF/AVIF container's irot/imir, the\n"
        "same content imported under different capture times, originals that are\n"
        "missing, truncated or no longer match their hash, and missing proxies.\n"
        "Every original is read and hashed (as fsck does) unless --catalog-only.\n"
        "Writes nothing.  Exit 0 whether or not problems are found.\n"
        "\n"
        "  --json          one JSON object\n"
        "  --catalog-only  the catalog alone: no original is read\n"
        "  --now T         the time 'in the future' is judged against (default: now)\n");
}

/* One problem: key, title, count, fix and examples (asset, detail). */
static json_t *item_json(const struct health_item *it)
{
    json_t *o = json_object(), *ex = json_array();
    int bad = json_set_text(o, "key", it->key) < 0 || json_set_text(o, "title", it->title) < 0 ||
              json_set_int(o, "count", (long long)it->count) < 0 ||
              json_set_text(o, "fix", it->fix) < 0;
    for (int j = 0; !bad && j < it->nexamples; j++) {
        json_t *e = json_object();
        bad = json_set_int(e, "asset", (long long)it->ex[j].asset_id) < 0 ||
              json_set_text(e, "detail", it->ex[j].detail) < 0;
        bad |= json_array_append_new(ex, e) < 0;
    }
    bad = bad || json_object_set(o, "examples", ex) < 0;
    json_decref(ex);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int print_json(const struct health_report *r)
{
    json_t *o = json_object(), *pr = json_array();
    int bad = json_set_int(o, "assets", (long long)r->assets) < 0 ||
              json_set_int(o, "originals_read", (long long)r->originals_read) < 0;
    for (int i = 0; !bad && i < HEALTH_NPROBLEMS; i++)
        bad = json_array_append_new(pr, item_json(&r->item[i])) < 0;
    bad = bad || json_object_set(o, "problems", pr) < 0;
    json_decref(pr);
    if (bad) {
        json_decref(o);
        o = NULL;
    }
    return json_print(stdout, o);
}

static void print_table(const struct health_report *r)
{
    int64_t total = 0;
    printf("%lld assets checked, %lld originals read\n\n", (long long)r->assets,
           (long long)r->originals_read);
    printf("%-44s %8s\n", "problem", "assets");
    for (int i = 0; i < HEALTH_NPROBLEMS; i++) {
        printf("%-44s %8lld\n", r->item[i].title, (long long)r->item[i].count);
        total += r->item[i].count;
    }
    for (int i = 0; i < HEALTH_NPROBLEMS; i++) {
        const struct health_item *it = &r->item[i];
        if (!it->count)
            continue;
        printf("\n%s (%lld)\n", it->title, (long long)it->count);
        for (int j = 0; j < it->nexamples; j++) {
            char esc[512];
            log_escape(esc, sizeof(esc), it->ex[j].detail);
            printf("  asset %lld: %s\n", (long long)it->ex[j].asset_id, esc);
        }
        if (it->count > it->nexamples)
            printf("  ... and %lld more\n", (long long)(it->count - it->nexamples));
        printf("  fix: %s\n", it->fix);
    }
    if (!total)
        printf("\nno problems found\n");
}

int cmd_health(const struct cli *cli, int argc, char **argv)
{
    enum { O_JSON = 256, O_CATALOG_ONLY, O_NOW };
    static const struct option opts[] = {
        { "json", no_argument, NULL, O_JSON },
        { "catalog-only", no_argument, NULL, O_CATALOG_ONLY },
        { "now", required_argument, NULL, O_NOW },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct health_report r;
    struct home home;
    int64_t now = time_now();
    int c, json = 0, read_originals = 1, ret;

    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_CATALOG_ONLY: read_originals = 0; break;
        case O_NOW:
            if (time_parse(optarg, &now) < 0)
                return cli_usage_error("health", "--now: %s", tp_err_detail());
            break;
        case 'h': health_help(stdout); return 0;
        default: return cli_usage_error("health", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("health", "unexpected argument '%s'", argv[optind]);
    if ((ret = home_open_mode(&home, cli->cfg, HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    if ((ret = health_check(&home, now, read_originals, &r)) < 0) {
        home_close(&home);
        return cli_fail(cli->home, ret);
    }
    if (json)
        ret = print_json(&r);
    else
        print_table(&r);
    home_close(&home);
    return ret < 0 ? cli_fail("health", ret) : 0;
}
