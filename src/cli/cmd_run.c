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
#include "json.h"
#include "log.h"
#include "timeutil.h"
#include "units.h"

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
        "  --mem-limit MIB  memory limit per worker process, MiB (default 8192: 8 GiB)\n"
        "  --timeout S      time limit per asset, seconds (default 600)\n"
        "  --enqueue-only   plan and queue the jobs; leave them to `tierpress worker`\n"
        "  --max-attempts N attempts of a job queued now before it is parked as dead\n"
        "                   (temporary failures: disk full, I/O, time limit; default 5)\n"
        "  --retry-backoff S  seconds before the first retry, doubling per attempt\n"
        "                   (at most an hour, +-25%% jitter; default 30)\n"
        "  --lease S        lease of a claimed job, renewed while working (default 60)\n"
        "  --prune-stale N  remove the registry rows of workers with no heartbeat for\n"
        "                   N of their leases (default 10; 0: never)\n"
        "  --json           one JSON summary object on stdout\n"
        "  --no-progress    no progress bar, even on a terminal\n"
        "\n"
        "Temporary failures are retried by a later run (or worker) after the backoff;\n"
        "permanent ones (corrupt or unsupported source, no candidate passing the\n"
        "floor) are not.  Both are listed in the summary; `tierpress jobs` shows the\n"
        "queue and `tierpress jobs retry` requeues failed and dead jobs.\n"
        "SIGINT/SIGTERM stop cleanly: running jobs are released (no attempt used),\n"
        "the summary so far is printed, exit status 130/143.  Otherwise the exit\n"
        "status is 1 when a job failed in this run and is still in error at its end\n"
        "(queued for a retry, failed or dead), else 0.\n");
}

static void worker_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress worker [--policy P]... [--jobs N] [--timeout S] [--mem-limit MIB]\n"
        "                        [--lease S] [--retry-backoff S] [--prune-stale N]\n"
        "                        [--wait-catalog S] [--now TIME] [--json]\n"
        "\n"
        "Works on the job queue until SIGTERM or SIGINT: claims jobs (of the given\n"
        "policy files, or of every policy a `run` recorded in the queue), renews\n"
        "their leases while working, logs one line per job, retries temporary\n"
        "failures after a backoff.  It registers itself (host:pid) and heartbeats\n"
        "while it runs (`tierpress jobs --workers`).  Idle, it waits for a\n"
        "notification that work was queued (PostgreSQL LISTEN/NOTIFY) and polls\n"
        "the queue with backoff (0.2-5 s; on SQLite only the poll).\n"
        "On a signal it stops claiming, releases the jobs in progress (their\n"
        "children are killed; no attempt is used), deregisters, prints what it did\n"
        "and exits with 130 (SIGINT) or 143 (SIGTERM).  Several workers, on this\n"
        "or other machines, share one queue: a job is done once; a job whose\n"
        "worker died is taken over when its lease ends.\n"
        "\n"
        "  --policy P       only this policy file's jobs (repeatable; records it)\n"
        "  --jobs N         parallel jobs (default: the number of cores)\n"
        "  --timeout S      time limit per asset, seconds (default 600)\n"
        "  --mem-limit MIB  memory limit per worker process, MiB (default 8192: 8 GiB)\n"
        "  --lease S        lease of a claimed job (default 60)\n"
        "  --retry-backoff S  first retry delay of a temporary failure (default 30)\n"
        "  --prune-stale N  remove the registry rows of workers with no heartbeat for\n"
        "                   N of their leases, at start and every heartbeat (default 10;\n"
        "                   0: never)\n"
        "  --wait-catalog S at start-up, retry a catalog server that cannot be reached\n"
        "                   (not up yet, restarting) for up to S seconds: backoff from\n"
        "                   0.5 s doubling to 15 s, +-25%% jitter, a log line per retry\n"
        "                   (default 300; 0: fail at once)\n"
        "  --now TIME       pin the policy clock (grace periods start from it)\n"
        "  --json           the final summary as one JSON object\n");
}

struct bar {
    int tty;
    double t0;
    int64_t last_done;
    double interval;     /* seconds between log lines without a terminal */
    double last_line;    /* when the last one was written */
    int plan_json;       /* dry run: list the plan's assets as JSON lines (else text) */
};

/* run --dry-run with -v or --json: the plan, asset by asset. */
static void plan_asset(void *ud, const struct catalog_asset *a, const char *tier, const char *action)
{
    const struct bar *b = ud;
    if (b->plan_json) {
        json_t *o = json_object();
        int bad = json_set_int(o, "asset", (long long)a->id) < 0 ||
                  json_set_text(o, "format", a->format) < 0 ||
                  json_set_int(o, "bytes", (long long)a->bytes) < 0 ||
                  json_set_text(o, "tier", tier) < 0 || json_set_text(o, "current_tier", a->tier) < 0 ||
                  json_set_text(o, "action", action) < 0;
        if (bad) {
            json_decref(o);
            o = NULL;
        }
        if (json_print(stdout, o) < 0)
            tp_log(TP_LOG_ERROR, "run: out of memory writing the plan of asset %lld",
                   (long long)a->id);
    } else {
        char sz[UNITS_LEN];
        printf("asset %lld: %s, %s: %s%s%s\n", (long long)a->id, a->format,
               units_bytes(a->bytes, sz, sizeof(sz)), tier ? "tier " : "no tier matches",
               tier ? tier : "", !strcmp(action, "transcode") ? ", transcode"
                                 : !strcmp(action, "label") ? ", relabel" : !strcmp(action, "already") ? ", already there" : "");
    }
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Progress counts work in megapixels (a 48 MP HEIC is not a 1 MP JPEG); the
 * ETA is the megapixels left at the rate so far.  On a terminal a bar; else a
 * timestamped log line every `interval` seconds (TIERPRESS_PROGRESS_INTERVAL,
 * default 10; 0: at every finished job) and at the end. */
static void progress(void *ud, const struct run_progress *p)
{
    struct bar *b = ud;
    double now = mono(), el = now - b->t0;
    double mp_done = (double)p->px_done / 1e6, mp_total = (double)p->px_total / 1e6;
    if (mp_total < mp_done)
        mp_total = mp_done;
    double rate = el > 0 ? mp_done / el : 0;
    double eta = rate > 0 ? (mp_total - mp_done) / rate : -1;
    char saved[UNITS_LEN], etas[32];
    units_bytes_signed(p->bytes_saved, saved, sizeof(saved));
    if (eta >= 0)
        snprintf(etas, sizeof(etas), "%.0f s", eta);
    else
        snprintf(etas, sizeof(etas), "unknown");
    if (b->tty) {
        int width = 30, fill = mp_total > 0 ? (int)(width * mp_done / mp_total) : 0;
        char bar[64];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld assets, %.1f/%.1f MP  saved %s  %.2f MP/s  ETA %s  "
                "failed %lld ", bar, (long long)p->done, (long long)p->total, mp_done, mp_total,
                saved, rate, etas, (long long)p->failed);
    } else if (p->done != b->last_done &&
               (now - b->last_line >= b->interval || p->done == p->total)) {
        char iso[40];
        time_format(time_now(), iso, sizeof(iso));
        fprintf(stderr, "tierpress: %s run: %lld/%lld assets, %.1f/%.1f MP, saved %s, "
                "%.2f MP/s, ETA %s, failed %lld\n", iso, (long long)p->done, (long long)p->total,
                mp_done, mp_total, saved, rate, etas, (long long)p->failed);
        b->last_line = now;
    } else {
        return;
    }
    b->last_done = p->done;
}

enum {
    O_POLICY = 256, O_NOW, O_JOBS, O_LIMIT, O_MEM, O_TIMEOUT, O_MAXATT, O_LEASE, O_BACKOFF,
    O_DRY, O_JSON, O_NOPROG, O_ENQ, O_PRUNE, O_WAITCAT,
};

/* A numeric option of run/worker into o; 0, or the usage error's status. */
static int number_option(const char *cmd, int c, const char *name, struct run_opts *o)
{
    char *end;
    long long v = strtoll(optarg, &end, 10);
    long long lo = c == O_LIMIT || c == O_BACKOFF || c == O_PRUNE || c == O_WAITCAT ? 0 : 1;
    long long hi = c == O_JOBS ? 64 : c == O_MAXATT || c == O_PRUNE ? 1000 : 1000000000;
    if (!*optarg || *end || v < lo || v > hi)
        return cli_usage_error(cmd, "--%s expects an integer from %lld to %lld, got '%s'", name, lo,
                               hi, optarg);
    switch (c) {
    case O_JOBS: o->jobs = (int)v; break;
    case O_LIMIT: o->limit = v; break;
    case O_MEM: o->limits.mem_bytes = (uint64_t)v << 20; break;
    case O_TIMEOUT: o->limits.seconds = (int)v; break;
    case O_MAXATT: o->max_attempts = (int)v; break;
    case O_LEASE: o->lease_seconds = (int)v; break;
    case O_BACKOFF: o->retry_backoff = (int)v; break;
    case O_PRUNE: o->prune_stale = (int)v; break;
    case O_WAITCAT: o->wait_catalog = (int)v; break;
    default: break;
    }
    return 0;
}

static const struct option run_opts_table[] = {
    { "policy", required_argument, NULL, O_POLICY },
    { "now", required_argument, NULL, O_NOW },
    { "jobs", required_argument, NULL, O_JOBS },
    { "limit", required_argument, NULL, O_LIMIT },
    { "mem-limit", required_argument, NULL, O_MEM },
    { "timeout", required_argument, NULL, O_TIMEOUT },
    { "max-attempts", required_argument, NULL, O_MAXATT },
    { "lease", required_argument, NULL, O_LEASE },
    { "retry-backoff", required_argument, NULL, O_BACKOFF },
    { "dry-run", no_argument, NULL, O_DRY },
    { "json", no_argument, NULL, O_JSON },
    { "no-progress", no_argument, NULL, O_NOPROG },
    { "enqueue-only", no_argument, NULL, O_ENQ },
    { "prune-stale", required_argument, NULL, O_PRUNE },
    { "wait-catalog", required_argument, NULL, O_WAITCAT },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
};

/* The exit status after a summary: 128 + the stopping signal, else 1 when
 * a job failed in this run and the policy still has jobs in error at its
 * end (a failure retried to success within the run is not one). */
static int run_status(const struct run_summary *s)
{
    return s->stop_signal ? 128 + s->stop_signal : s->failed && s->nfailures ? 1 : 0;
}

int cmd_run(const struct cli *cli, int argc, char **argv)
{
    struct run_opts o;
    struct run_summary s;
    struct bar bar = { 0 };
    int json = 0, noprog = 0, c, idx, st;

    run_opts_defaults(&o);
    o.cfg = cli->cfg;
    while ((c = getopt_long(argc, argv, "h", run_opts_table, &idx)) != -1) {
        switch (c) {
        case O_POLICY: o.policy_path = optarg; break;
        case O_NOW:
            if (time_parse(optarg, &o.now) < 0)
                return cli_usage_error("run", "--now: %s", tp_err_detail());
            break;
        case O_JOBS: case O_LIMIT: case O_MEM: case O_TIMEOUT: case O_MAXATT: case O_LEASE:
        case O_BACKOFF: case O_PRUNE:
            if ((st = number_option("run", c, run_opts_table[idx].name, &o)) != 0)
                return st;
            break;
        case O_DRY: o.dry_run = 1; break;
        case O_ENQ: o.enqueue_only = 1; break;
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
    bar.interval = 10;
    const char *iv = getenv("TIERPRESS_PROGRESS_INTERVAL");
    if (iv && *iv) {
        char *end;
        double v = strtod(iv, &end);
        if (*end || v < 0 || v > 86400)
            return cli_usage_error("run", "TIERPRESS_PROGRESS_INTERVAL: expected seconds, "
                                   "0..86400, got '%s'", iv);
        bar.interval = v;
    }
    if (!noprog)
        o.on_progress = progress;
    o.progress_ud = &bar;
    if (o.dry_run && (json || log_get_level() >= TP_LOG_INFO)) {
        bar.plan_json = json;
        o.on_plan = plan_asset;
    }
    int ret = run_policy(&o, &s);
    if (bar.tty)
        fputc('\n', stderr);
    if (ret < 0) /* the policy's hash is known once it loaded: later failures are the home's */
        return cli_fail(s.policy_sha256[0] ? cli->home : o.policy_path, ret);
    if (o.dry_run && !json)
        printf("dry run: %lld job(s) would be queued, %lld asset(s) relabelled\n",
               (long long)s.queued, (long long)s.labelled);
    else if (o.enqueue_only && !json)
        printf("queued %lld job(s), %lld asset(s) relabelled\n", (long long)s.queued,
               (long long)s.labelled);
    run_summary_print(stdout, &s, json);
    return run_status(&s);
}

int cmd_worker(const struct cli *cli, int argc, char **argv)
{
    const char *paths[16];
    struct run_opts o;
    struct run_summary s;
    int json = 0, c, idx, st, np = 0;

    run_opts_defaults(&o);
    o.cfg = cli->cfg;
    o.now = 0; /* the policy clock is the real time at each job */
    while ((c = getopt_long(argc, argv, "h", run_opts_table, &idx)) != -1) {
        switch (c) {
        case O_POLICY:
            if (np == (int)TP_ARRAY_SIZE(paths))
                return cli_usage_error("worker", "at most %d --policy", (int)TP_ARRAY_SIZE(paths));
            paths[np++] = optarg;
            break;
        case O_NOW:
            if (time_parse(optarg, &o.now) < 0)
                return cli_usage_error("worker", "--now: %s", tp_err_detail());
            break;
        case O_JOBS: case O_MEM: case O_TIMEOUT: case O_LEASE: case O_BACKOFF: case O_PRUNE:
        case O_WAITCAT:
            if ((st = number_option("worker", c, run_opts_table[idx].name, &o)) != 0)
                return st;
            break;
        case O_JSON: json = 1; break;
        case 'h': worker_help(stdout); return 0;
        default: return cli_usage_error("worker", "bad option (see tierpress worker --help)");
        }
    }
    if (optind != argc)
        return cli_usage_error("worker", "unexpected argument '%s'", argv[optind]);
    o.policy_paths = paths;
    o.npolicies = np;
    if (log_get_level() == TP_LOG_WARN)
        log_set_level(TP_LOG_INFO); /* a line per job, unless -q */
    int ret = worker_run(&o, &s);
    if (ret < 0)
        return cli_fail(np ? paths[0] : cli->home, ret);
    run_summary_print(stdout, &s, json);
    return s.stop_signal ? 128 + s.stop_signal : 0;
}
