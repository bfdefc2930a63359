/* tierpress run --policy P [...] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "job.h"
#include "log.h"
#include "timeutil.h"

static void run_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress run --policy P [--now TIME] [--jobs N] [--limit N] [--dry-run] [--json]\n"
        "\n"
        "Evaluates the policy over every asset in the catalog and moves each into\n"
        "its tier: transcodes (in isolated child processes), verifies every new\n"
        "representation independently, then swaps the storage pointer atomically.\n"
        "Jobs are recorded in the catalog: an interrupted run resumes when run\n"
        "again, and a finished run re-run does nothing.\n"
        "\n"
        "  --policy P       the policy file (see policies/README.md)\n"
        "  --now TIME       pin the clock (ISO 8601 or @unixseconds); default now\n"
        "  --jobs N         parallel workers (default: the number of cores)\n"
        "  --limit N        process at most N jobs, then stop (resume later)\n"
        "  --dry-run        evaluate and report; write nothing\n"
        "  --mem-limit MB   memory limit per worker process (default 8192)\n"
        "  --timeout S      time limit per asset, seconds (default 600)\n"
        "  --json           one JSON summary object on stdout\n"
        "  --no-progress    no progress bar, even on a terminal\n");
}

struct bar {
    int tty;
    double t0;
    int64_t last_done;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(void *ud, const struct run_progress *p)
{
    struct bar *b = ud;
    double el = mono() - b->t0, rate = el > 0 ? (double)p->done / el : 0;
    if (b->tty) {
        int width = 30, fill = p->total ? (int)(width * p->done / p->total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
        fprintf(stderr, "\r[%s] %lld/%lld assets  saved %.1f MB  %.2f/s  ETA %.0fs  failed %lld ",
                bar, (long long)p->done, (long long)p->total, (double)p->bytes_saved / 1e6, rate,
                eta, (long long)p->failed);
    } else if (p->done != b->last_done && (p->done % 10 == 0 || p->done == p->total)) {
        fprintf(stderr, "tierpress: run: %lld/%lld assets, saved %.1f MB, %.2f/s\n",
                (long long)p->done, (long long)p->total, (double)p->bytes_saved / 1e6, rate);
    }
    b->last_done = p->done;
}

int cmd_run(const struct cli *cli, int argc, char **argv)
{
    enum { O_POLICY = 256, O_NOW, O_JOBS, O_LIMIT, O_DRY, O_JSON, O_MEM, O_TIMEOUT, O_NOPROG };
    static const struct option opts[] = {
        { "policy", required_argument, NULL, O_POLICY },
        { "now", required_argument, NULL, O_NOW },
        { "jobs", required_argument, NULL, O_JOBS },
        { "limit", required_argument, NULL, O_LIMIT },
        { "dry-run", no_argument, NULL, O_DRY },
        { "json", no_argument, NULL, O_JSON },
        { "mem-limit", required_argument, NULL, O_MEM },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "no-progress", no_argument, NULL, O_NOPROG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct run_opts o;
    struct run_summary s;
    struct bar bar = { 0 };
    int json = 0, noprog = 0, c;
    char *end;
    long long v;

    run_opts_defaults(&o);
    o.cfg = cli->cfg;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_POLICY: o.policy_path = optarg; break;
        case O_NOW:
            if (time_parse(optarg, &o.now) < 0)
                return cli_usage_error("run", "--now: %s", tp_err_detail());
            break;
        case O_JOBS:
        case O_LIMIT:
        case O_MEM:
        case O_TIMEOUT:
            v = strtoll(optarg, &end, 10);
            if (!*optarg || *end || v < (c == O_LIMIT ? 0 : 1) || v > (c == O_JOBS ? 64 : 1000000000))
                return cli_usage_error("run", "--%s expects a positive integer, got '%s'",
                                       opts[c - O_POLICY].name, optarg);
            if (c == O_JOBS)
                o.jobs = (int)v;
            else if (c == O_LIMIT)
                o.limit = v;
            else if (c == O_MEM)
                o.limits.mem_bytes = (uint64_t)v << 20;
            else
                o.limits.seconds = (int)v;
            break;
        case O_DRY: o.dry_run = 1; break;
        case O_JSON: json = 1; break;
        case O_NOPROG: noprog = 1; break;
        case 'h': run_help(stdout); return 0;
        default: return cli_usage_error("run", "bad option");
        }
    }
    if (!o.policy_path)
        return cli_usage_error("run", "--policy is required");
    if (optind != argc)
        return cli_usage_error("run", "unexpected argument '%s'", argv[optind]);
    bar.tty = isatty(2) && !noprog;
    bar.t0 = mono();
    if (!noprog) {
        o.on_progress = progress;
        o.progress_ud = &bar;
    }
    int ret = run_policy(&o, &s);
    if (bar.tty)
        fputc('\n', stderr);
    if (ret < 0)
        return cli_fail(o.policy_path, ret);
    if (o.dry_run && !json)
        printf("dry run: %lld job(s) would be queued, %lld asset(s) relabelled\n",
               (long long)s.queued, (long long)s.labelled);
    run_summary_print(stdout, &s, json);
    return s.failed ? 1 : 0;
}
