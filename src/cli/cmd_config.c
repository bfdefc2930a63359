/* tierpress config [--json] [--check]: the home's effective configuration,
 * secrets redacted. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "home.h"
#include "json.h"

static void config_help(FILE *f)
{
    fprintf(f, "usage: tierpress config [--json] [--check]\n"
               "\n"
               "Shows the effective configuration of the home: the catalog and store URIs\n"
               "and the S3 settings, after the config file (--config FILE, else\n"
               "HOME/tierpress.yaml), the environment (TIERPRESS_CATALOG, TIERPRESS_STORE,\n"
               "AWS_*) and the defaults.  Passwords and credentials are never shown: a\n"
               "credential reads \"set\" or \"unset\".\n"
               "\n"
               "  --json    one JSON object\n"
               "  --check   also open the catalog and the store (exit 1 when one fails)\n");
}

static const char *where(const struct config *c, unsigned bit)
{
    return c->env & bit ? "environment" : c->set & bit ? "file" : "default";
}

int cmd_config(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "check", no_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const struct config *c = cli->cfg;
    const struct config_s3 *s3 = &c->s3;
    char cat[CONFIG_URI_MAX], st[CONFIG_URI_MAX];
    int o, json = 0, check = 0, ret;

    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'j': json = 1; break;
        case 'c': check = 1; break;
        case 'h': config_help(stdout); return 0;
        default: return cli_usage_error("config", "bad option (see --help)");
        }
    }
    if (optind < argc)
        return cli_usage_error("config", "unexpected argument '%s'", argv[optind]);
    if (check) {
        struct home h;
        if ((ret = home_open(&h, c)) < 0)
            return cli_fail(c->file[0] ? c->file : c->home, ret);
        home_close(&h);
    }
    config_uri_redact(c->catalog, cat, sizeof(cat));
    config_uri_redact(c->store, st, sizeof(st));
    const char *addr = s3->addressing == CONFIG_S3_PATH ? "path" : "virtual";
    const char *key = s3->access_key_id[0] ? "set" : "unset";
    const char *secret = s3->secret_access_key[0] ? "set" : "unset";
    const char *token = s3->session_token[0] ? "set" : "unset";
    if (json) {
        json_t *j = json_object(), *s = json_object();
        int bad = json_set_text(j, "home", c->home) < 0 || json_set_text(j, "file", c->file) < 0 ||
                  json_set_text(j, "catalog", cat) < 0 ||
                  json_set_text(j, "catalog_from", where(c, CONFIG_SET_CATALOG)) < 0 ||
                  json_set_text(j, "store", st) < 0 ||
                  json_set_text(j, "store_from", where(c, CONFIG_SET_STORE)) < 0;
        bad = bad || json_set_text(s, "endpoint_url", s3->endpoint_url) < 0 ||
              json_set_text(s, "region", s3->region) < 0 ||
              json_set_text(s, "addressing", addr) < 0 ||
              json_set_bool(s, "storage_classes", s3->storage_classes) < 0 ||
              json_set_int(s, "multipart_threshold", (long long)s3->multipart_threshold) < 0 ||
              json_set_int(s, "part_size", (long long)s3->part_size) < 0 ||
              json_set_int(s, "max_retries", s3->max_retries) < 0 ||
              json_set_text(s, "access_key_id", key) < 0 ||
              json_set_text(s, "secret_access_key", secret) < 0 ||
              json_set_text(s, "session_token", token) < 0;
        bad = bad || json_object_set(j, "s3", s) < 0 || (check && json_set_text(j, "check", "ok") < 0);
        json_decref(s);
        if (bad) {
            json_decref(j);
            j = NULL;
        }
        if ((ret = json_print(stdout, j)) < 0)
            return cli_fail("config", ret);
        return 0;
    }
    printf("home     %s\n", c->home);
    printf("file     %s\n", c->file[0] ? c->file : "(none: defaults and environment)");
    printf("catalog  %s  (%s)\n", cat, where(c, CONFIG_SET_CATALOG));
    printf("store    %s  (%s)\n", st, where(c, CONFIG_SET_STORE));
    printf("s3       endpoint_url %s, region %s, addressing %s, storage_classes %s,\n"
           "         multipart_threshold %llu, part_size %llu, max_retries %d\n",
           s3->endpoint_url[0] ? s3->endpoint_url : "(AWS)", s3->region, addr,
           s3->storage_classes ? "true" : "false", (unsigned long long)s3->multipart_threshold,
           (unsigned long long)s3->part_size, s3->max_retries);
    printf("         credentials: AWS_ACCESS_KEY_ID %s, AWS_SECRET_ACCESS_KEY %s, "
           "AWS_SESSION_TOKEN %s\n", key, secret, token);
    if (check)
        printf("check    catalog and store open\n");
    return 0;
}
