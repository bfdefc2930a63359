/* tierpress migrate --to CONFIG: copies this home (catalog and blobs) into
 * the backends CONFIG names; resumable, the source only read (migrate.h). */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "migrate.h"
#include "store.h"

static void usage(void)
{
    printf("usage: tierpress [--home SRC] migrate --to CONFIG [--to-home DIR] [--page-rows N] "
           "[--json]\n\n"
           "Copies the home's catalog and blobs into the catalog and store CONFIG names\n"
           "(e.g. SQLite + files -> PostgreSQL + S3).  Every blob's sha256 is checked as it\n"
           "is copied; ids, reference counts, the audit trail and grace dates are kept.\n"
           "The source is only read.  An interrupted copy continues where it stopped when\n"
           "run again; a finished one does nothing.\n\n"
           "  --to CONFIG     the target configuration (catalog:, store:, s3:)\n"
           "  --to-home DIR   the target home, against which CONFIG's relative paths are\n"
           "                  resolved (default: CONFIG's directory)\n"
           "  --page-rows N   rows per committed page (1..100000, default 1000)\n"
           "  --json          one object: rows, blobs, bytes copied; assets, blobs in the\n"
           "                  target; resumed, already_done, seconds\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_migrate(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, NULL, 't' },
        { "to-home", required_argument, NULL, 'H' },
        { "page-rows", required_argument, NULL, 'p' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct migrate_opts mo;
    struct migrate_result res;
    struct config tcfg;
    struct home src = { 0 };
    struct catalog *dcat = NULL;
    struct store *dstore = NULL;
    const char *to = NULL, *to_home = NULL;
    char dir[CONFIG_PATH_MAX], source[2 * CONFIG_URI_MAX + 2], r1[CONFIG_URI_MAX],
        r2[CONFIG_URI_MAX];
    int c, json = 0, ret;
    double t0 = now_s();
    migrate_defaults(&mo);
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 'H': to_home = optarg; break;
        case 'p': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100000)
                return cli_usage_error("migrate", "--page-rows: '%s' is not 1..100000", optarg);
            mo.page_rows = (int)v;
            break;
        }
        case 'j': json = 1; break;
        case 'h': usage(); return 0;
        default: return cli_usage_error("migrate", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("migrate", "unexpected argument '%s'", argv[optind]);
    if (!to)
        return cli_usage_error("migrate", "--to CONFIG is required");
    if (access(to, R_OK) < 0)
        return cli_fail(to, TP_ERR_NOTFOUND);
    if (!to_home) {
        snprintf(dir, sizeof(dir), "%s", to);
        to_home = dirname(dir);
    }
    if ((ret = config_setup(&tcfg, to_home, to)) < 0)
        return cli_fail(to, ret);
    if (!strcmp(tcfg.catalog, cli->cfg->catalog)) {
        cli_error_line("tierpress: %s: the target catalog is this home's own catalog", to);
        return 1;
    }
    if ((ret = home_open_mode(&src, cli->cfg, HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    snprintf(source, sizeof(source), "%s %s", config_uri_redact(cli->cfg->catalog, r1, sizeof(r1)),
             config_uri_redact(cli->cfg->store, r2, sizeof(r2)));
    if ((ret = catalog_open(&dcat, tcfg.catalog, CATALOG_OPEN_CREATE)) < 0 ||
        (ret = store_open(&dstore, tcfg.store, &tcfg)) < 0) {
        cli_fail(to, ret);
        ret = 1;
        goto end;
    }
    if (!json && log_get_level() >= TP_LOG_WARN) { /* not under -q */
        mo.progress = stderr;
        mo.progress_tty = isatty(2);
    }
    if ((ret = migrate_home(src.cat, src.store, dcat, dstore, source, &mo, &res)) < 0) {
        if (mo.progress_tty)
            fputc('\n', stderr);
        cli_fail("migrate", ret);
        ret = 1;
        goto end;
    }
    config_uri_redact(tcfg.catalog, r1, sizeof(r1));
    config_uri_redact(tcfg.store, r2, sizeof(r2));
    if (json) {
        json_t *o = json_object();
        int bad = json_set_text(o, "target_catalog", r1) < 0 ||
                  json_set_text(o, "target_store", r2) < 0 ||
                  json_set_int(o, "rows", (long long)res.rows) < 0 ||
                  json_set_int(o, "blobs", (long long)res.blobs) < 0 ||
                  json_set_int(o, "bytes", (long long)res.bytes) < 0 ||
                  json_set_int(o, "assets", (long long)res.assets) < 0 ||
                  json_set_int(o, "total_blobs", (long long)res.total_blobs) < 0 ||
                  json_set_bool(o, "resumed", res.resumed) < 0 ||
                  json_set_bool(o, "already_done", res.already_done) < 0 ||
                  json_set_real(o, "seconds", now_s() - t0) < 0;
        if (bad) {
            json_decref(o);
            o = NULL;
        }
        if ((ret = json_print(stdout, o)) < 0) {
            cli_fail("migrate", ret);
            ret = 1;
            goto end;
        }
    } else if (res.already_done) {
        printf("already migrated to %s + %s: %lld assets, %lld blobs (verified; nothing copied)\n",
               r1, r2, (long long)res.assets, (long long)res.total_blobs);
    } else {
        printf("migrated to %s + %s%s: %lld rows, %lld blobs (%.1f MiB) copied in %.1f s; "
               "%lld assets, %lld blobs verified\n",
               r1, r2, res.resumed ? " (resumed)" : "", (long long)res.rows,
               (long long)res.blobs, (double)res.bytes / (1024.0 * 1024.0), now_s() - t0,
               (long long)res.assets, (long long)res.total_blobs);
    }
    ret = 0;
end:
    catalog_close(&dcat);
    store_close(&dstore);
    home_close(&src);
    return ret;
}
