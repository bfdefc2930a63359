/* tierpress ls [--json] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"
#include "json.h"

static void ls_help(FILE *f)
{
    fprintf(f, "usage: tierpress ls [--json]\n"
               "\n"
               "Lists the catalogued assets: id, format, size, dimensions, tier, storage\n"
               "class and renditions.\n"
               "\n"
               "  --json    one JSON object per asset, one per line\n");
}

struct ls {
    struct catalog *cat;
    int json, n;
};

static int print_rendition_json(void *ud, const struct catalog_rendition *r)
{
    int *first = ud;
    printf("%s{\"name\":\"%s\",\"format\":\"%s\",\"width\":%d,\"height\":%d,\"bytes\":%llu,"
           "\"blob\":\"%s\"",
           *first ? "" : ",", r->name, r->format, r->width, r->height,
           (unsigned long long)r->bytes, r->blob);
    if (r->ssim >= 0) {
        printf(",\"ssim\":");
        json_num(stdout, r->ssim);
    }
    printf("}");
    *first = 0;
    return 0;
}

static int print_rendition_text(void *ud, const struct catalog_rendition *r)
{
    (void)ud;
    printf(" %s:%s:%dx%d", r->name, r->format, r->width, r->height);
    return 0;
}

static void jfield(const char *key, const char *v)
{
    printf(",\"%s\":", key);
    json_str(stdout, v && *v ? v : NULL);
}

static int print_asset(void *ud, const struct catalog_asset *a)
{
    struct ls *l = ud;
    int first = 1, ret;
    l->n++;
    if (!l->json) {
        printf("%6lld  %-5s %-5s %5dx%-5d %10llu  %-8s %-8s %.12s ", (long long)a->id, a->kind,
               a->format, a->width, a->height, (unsigned long long)a->bytes,
               a->tier[0] ? a->tier : "-", a->storage_class, a->sha256);
        ret = catalog_rendition_iterate(l->cat, a->id, print_rendition_text, NULL);
        printf("\n");
        return ret;
    }
    printf("{\"id\":%lld,\"sha256\":\"%s\",\"kind\":\"%s\",\"format\":\"%s\",\"width\":%d,"
           "\"height\":%d,\"bytes\":%llu,\"orientation\":%d",
           (long long)a->id, a->sha256, a->kind, a->format, a->width, a->height,
           (unsigned long long)a->bytes, a->orientation);
    jfield("capture_time", a->capture_time);
    jfield("upload_time", a->upload_time);
    jfield("camera_make", a->camera_make);
    jfield("camera_model", a->camera_model);
    printf(",\"gps\":%s", a->has_gps ? "true" : "false");
    if (a->duration > 0) {
        printf(",\"duration\":");
        json_num(stdout, a->duration);
    }
    jfield("tier", a->tier);
    jfield("storage_class", a->storage_class);
    jfield("current_blob", a->current_blob);
    jfield("original_blob", a->original_blob);
    struct catalog_access ac;
    if ((ret = catalog_access_get(l->cat, a->id, &ac)) < 0)
        return ret;
    jfield("last_access", ac.last_access);
    printf(",\"count_30d\":%lld,\"count_90d\":%lld,\"count_365d\":%lld,\"access_total\":%lld",
           (long long)ac.count_30d, (long long)ac.count_90d, (long long)ac.count_365d,
           (long long)ac.total);
    struct catalog_fp fp;
    if ((ret = catalog_fp_get(l->cat, a->id, &fp)) == 0) {
        printf(",\"near_duplicate_group\":");
        if (fp.group_id)
            printf("%lld,\"near_duplicate_keeper\":%s", (long long)fp.group_id,
                   fp.keeper ? "true" : "false");
        else
            printf("null");
    } else if (ret != TP_ERR_NOTFOUND) {
        return ret;
    }
    tp_err_clear();
    printf(",\"renditions\":[");
    ret = catalog_rendition_iterate(l->cat, a->id, print_rendition_json, &first);
    printf("]}\n");
    return ret;
}

int cmd_ls(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct home home;
    struct ls l = { 0 };
    int c, ret;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': l.json = 1; break;
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
