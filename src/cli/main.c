/* tierpress: the command-line entry point and the command table. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <lcms2.h>
#include <libpq-fe.h>
#include <libxml/parser.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <yaml.h>

#include "cli.h"
#include "codec.h"
#include "config.h"
#include "err.h"
#include "job.h"
#include "tplimits.h"
#include "log.h"

#ifndef TP_VERSION
#define TP_VERSION "0.1.0"
#endif

/* --version: ours, then every library's as linked (run time where the
 * library has a call for it), so a bug report says what ran. */
static void print_version(void)
{
    char buf[1024];
    printf("tierpress %s\n", TP_VERSION);
    codec_versions(buf, sizeof(buf));
    printf("codecs: %s\n", buf);
    int xv = atoi(xmlParserVersion);
    printf("libraries: SQLite %s, libpq %d.%d, libcurl %s, %s, jansson %s, libyaml %s, "
           "lcms2 %d.%d, libxml2 %d.%d.%d, libmicrohttpd %s, %s\n",
           sqlite3_libversion(), PQlibVersion() / 10000, PQlibVersion() % 10000,
           curl_version_info(CURLVERSION_NOW)->version, OpenSSL_version(OPENSSL_VERSION),
           jansson_version_str(), yaml_get_version_string(), cmsGetEncodedCMMversion() / 1000,
           cmsGetEncodedCMMversion() / 10 % 100, xv / 10000, xv / 100 % 100, xv % 100,
           MHD_get_version(), archive_version_string());
}

static const struct command commands[] = {
    { "info", "show a file's format, size, orientation and metadata", cmd_info, CLI_NO_HOME },
    { "convert", "convert an image to another format, keeping metadata", cmd_convert, CLI_NO_HOME },
    { "ingest", "store files once, catalog them and make their proxies", cmd_ingest },
    { "ls", "list the catalogued assets with tier, bytes and renditions", cmd_ls },
    { "get", "write an asset's original or a rendition to a file", cmd_get },
    { "access", "import access events (access import FILE.csv)", cmd_access },
    { "run", "move every asset into its policy tier: transcode, verify, swap", cmd_run },
    { "worker", "work on the job queue until stopped (SIGTERM/SIGINT)", cmd_worker },
    { "jobs", "list the job queue (queued, running, failed, dead); jobs retry", cmd_jobs },
    { "gc", "delete blobs nothing references and originals past their grace", cmd_gc },
    { "fsck", "check pointers, hashes and reference counts of the home", cmd_fsck },
    { "policy", "check a tier policy file, or explain which tier an asset falls in", cmd_policy },
    { "ssim", "structural similarity of two images (as skimage, Gaussian window)", cmd_ssim, CLI_NO_HOME },
    { "video", "make a video's preview proxy or its cold-tier re-encode", cmd_video, CLI_NO_HOME },
    { "simulate", "dry-run a policy: bytes and dollars saved, nothing touched", cmd_simulate },
    { "catalog", "catalog tools (catalog synth: a synthetic catalog for scale tests)", cmd_catalog },
    { "enqueue", "queue ingest jobs for uploaded blobs (enqueue --ingest SHA256|FILE)", cmd_enqueue },
    { "migrate", "copy the home into other backends (--to CONFIG: PostgreSQL, S3), resumably", cmd_migrate },
    { "config", "show the home's effective configuration (backends; secrets redacted)", cmd_config },
    { "import", "move a library in: Google Takeout export, or a folder with XMP sidecars", cmd_import },
    { "health", "catalog-wide metadata problems: counts, examples and fixes", cmd_health },
    { "serve", "the on-upload HTTP service: store, catalog and make proxies per request", cmd_serve },
    { "dups", "near-duplicate groups, their keepers and the bytes the others take", cmd_dups },
    { "components", "inventories of parts for assets catalogued before them (rescan)", cmd_components },
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tierpress [--home DIR] [--config FILE] [-v|-q] COMMAND [ARGS...]\n"
            "\n"
            "Stores photo and video originals once, makes browse proxies, and moves\n"
            "originals into smaller verified cold-tier formats by policy.\n"
            "\n"
            "Commands:\n");
    for (size_t i = 0; i < TP_ARRAY_SIZE(commands); i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\n"
            "Global options:\n"
            "  --home DIR   the tierpress home (catalog + blob store); default\n"
            "               $TIERPRESS_HOME, else ./tierpress-home\n"
            "  --config FILE  the backends (catalog, store, s3); default\n"
            "               DIR/tierpress.yaml when it exists, else SQLite +\n"
            "               files in the home ($TIERPRESS_CATALOG, $TIERPRESS_STORE)\n"
            "  -v, -q       more / less logging (also TP_LOG=debug|info|warn|error)\n"
            "  --version    print the version\n"
            "\n"
            "'tierpress COMMAND --help' describes each command.\n");
}

int main(int argc, char **argv)
{
    static struct config cfg; /* large: not on the stack */
    struct cli cli = { .home = NULL, .prog = "tierpress" };
    /* SVT-AV1 logs to stderr on every encode; errors only unless the user
     * asked for more.  Done first, while single-threaded. */
    setenv("SVT_LOG", "1", 0);
    int i = 1;
    /* a worker process of the batch runner (src/sandbox.c) */
    if (argc == 3 && !strcmp(argv[1], "--sandbox-worker"))
        return job_worker_main(argv[2]);
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--home") && i + 1 < argc) {
            cli.home = argv[++i];
        } else if (!strncmp(a, "--home=", 7)) {
            cli.home = a + 7;
        } else if (!strcmp(a, "--config") && i + 1 < argc) {
            cli.config_file = argv[++i];
        } else if (!strncmp(a, "--config=", 9)) {
            cli.config_file = a + 9;
        } else if (!strcmp(a, "-v")) {
            log_set_level(log_get_level() < TP_LOG_DEBUG ? log_get_level() + 1 : TP_LOG_DEBUG);
        } else if (!strcmp(a, "-q")) {
            log_set_level(TP_LOG_ERROR);
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--version")) {
            print_version();
            return 0;
        } else {
            cli_error_line("tierpress: unknown global option '%s'", a);
            usage(stderr);
            return 2;
        }
    }
    if (!cli.home)
        cli.home = getenv("TIERPRESS_HOME");
    if (!cli.home || !*cli.home)
        cli.home = "./tierpress-home";
    if (i >= argc) {
        usage(stderr);
        return 2;
    }
    for (size_t c = 0; c < TP_ARRAY_SIZE(commands); c++) {
        if (!strcmp(argv[i], commands[c].name)) {
            optind = 1;
            if (!(commands[c].flags & CLI_NO_HOME)) {
                int ret = config_setup(&cfg, cli.home, cli.config_file);
                if (ret == TP_ERR_INVALIDDATA) { /* the message names file:line:column */
                    fprintf(stderr, "tierpress: %s\n", tp_err_detail());
                    return 1;
                }
                if (ret < 0)
                    return cli_fail(cli.config_file ? cli.config_file : cli.home, ret);
                cli.cfg = &cfg;
                tplimits_set(&cfg.limits);
            } else {
                /* no home: the built-in limits and the environment */
                struct tp_limits l;
                tplimits_defaults(&l);
                if (tplimits_apply_env(&l, 0) < 0) {
                    fprintf(stderr, "tierpress: %s\n", tp_err_detail());
                    return 1;
                }
                tplimits_set(&l);
            }
            return commands[c].run(&cli, argc - i, argv + i);
        }
    }
    cli_error_line("tierpress: unknown command '%s'", argv[i]);
    usage(stderr);
    return 2;
}
