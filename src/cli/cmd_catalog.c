/* tierpress catalog synth --assets N [--seed S] [--media DIR] [--now TIME] */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "home.h"
#include "synth.h"
#include "timeutil.h"

static void catalog_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress catalog synth --assets N [--seed S] [--media DIR] [--now TIME]\n"
        "\n"
        "Adds N synthetic assets to the home's catalog, for testing the simulator at\n"
        "scale.  The files in DIR (default samples/) are stored once as blobs and every\n"
        "synthetic asset points at one of them (chosen uniformly, so formats and sizes\n"
        "follow the media set); each asset has its own unique sha256 string.\n"
        "Distributions: upload ages over 10 years skewed recent (age = 10 y x u^2),\n"
        "capture times for 80%%, heavy-tailed (Pareto) access counts with most assets\n"
        "never opened after their first 90 days.  One transaction: all or nothing.\n"
        "\n"
        "  --assets N   1..100000000 (required)\n"
        "  --seed S     random seed (default 1): the same seed, the same catalog\n"
        "  --media DIR  the real files to share (default samples)\n"
        "  --now TIME   the ages are relative to TIME (default: now)\n");
}

static void on_progress(void *ud, int64_t done, int64_t total)
{
    (void)ud;
    fprintf(stderr, "tierpress: catalog synth: %" PRId64 "/%" PRId64 "\n", done, total);
}

int cmd_catalog(const struct cli *cli, int argc, char **argv)
{
    enum { O_ASSETS = 256, O_SEED, O_MEDIA, O_NOW };
    static const struct option opts[] = {
        { "assets", required_argument, NULL, O_ASSETS },
        { "seed", required_argument, NULL, O_SEED },
        { "media", required_argument, NULL, O_MEDIA },
        { "now", required_argument, NULL, O_NOW },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct synth_opts so;
    struct synth_result res;
    struct home h;
    char *end;
    int c, ret;

    synth_opts_defaults(&so);
    so.now = time_now();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_ASSETS:
            so.assets = strtoll(optarg, &end, 10);
            if (!*optarg || *end || so.assets < 1 || so.assets > 100000000)
                return cli_usage_error("catalog", "--assets expects 1..100000000, got '%s'", optarg);
            break;
        case O_SEED:
            so.seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || optarg[0] == '-')
                return cli_usage_error("catalog", "--seed expects a non-negative integer, got '%s'",
                                       optarg);
            break;
        case O_MEDIA: so.media_dir = optarg; break;
        case O_NOW:
            if (time_parse(optarg, &so.now) < 0) {
                char why[300];
                snprintf(why, sizeof(why), "%s", tp_err_detail());
                return cli_usage_error("catalog", "--now: %s", why);
            }
            break;
        case 'h': catalog_help(stdout); return 0;
        default: return cli_usage_error("catalog", "bad option (see --help)");
        }
    }
    if (optind >= argc || strcmp(argv[optind], "synth"))
        return cli_usage_error("catalog", "expected 'synth' (see --help)");
    if (optind + 1 < argc)
        return cli_usage_error("catalog", "unexpected argument '%s'", argv[optind + 1]);
    if (!so.assets)
        return cli_usage_error("catalog", "synth: --assets is required");
    if (so.assets >= 1000000)
        so.progress = on_progress;
    if ((ret = home_open(&h, cli->cfg)) < 0)
        return cli_fail(cli->home, ret);
    ret = synth_run(&h, &so, &res);
    home_close(&h);
    if (ret < 0)
        return cli_fail("catalog synth", ret);
    printf("catalog synth: %" PRId64 " assets (ids %" PRId64 "..%" PRId64 ") sharing %d blobs "
           "from %s in %.1f s%s\n", res.assets, res.first_id, res.last_id, res.media, so.media_dir,
           res.seconds, res.skipped ? " (some media files skipped: -v says why)" : "");
    return 0;
}
