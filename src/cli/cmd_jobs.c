/* tierpress jobs [--policy P] [--state S] [--json]
 * tierpress jobs --workers [--json]
 * tierpress jobs retry [--policy P] [ID...] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "json.h"
#include "policy.h"
#include "sha256.h"
#include "timeutil.h"

static void jobs_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress jobs [--policy P] [--state S] [--json]\n"
        "       tierpress jobs --workers [--json]\n"
        "       tierpress jobs retry [--policy P] [ID...]\n"
        "\n"
        "Lists the job queue: by default the queued, running, failed and dead jobs,\n"
        "with attempts (used/maximum), the last error and its class (temporary:\n"
        "retried after a backoff; permanent: not retried), the owner holding a\n"
        "running job and how long ago it claimed it, and when a queued job may be\n"
        "retried.  `failed` is a permanent failure; `dead` a job whose temporary\n"
        "failures used up its attempts.\n"
        "\n"
        "`jobs retry` requeues failed and dead jobs (attempts start again): the\n"
        "jobs ID..., or every failed/dead job (of the policy, with --policy).\n"
        "\n"
        "  --policy P   only the jobs of this policy file (or its sha256)\n"
        "  --state S    queued, running, done, kept, failed, dead, or all\n"
        "  --workers    the registered workers instead: id (host:pid), threads,\n"
        "               started, heartbeat age (database clock), the jobs each holds\n"
        "               and since when; STALE when no heartbeat for longer than its\n"
        "               lease (killed, hung or cut off: its jobs are being taken over);\n"
        "               running workers remove the rows silent for 10 leases\n"
        "               (worker/run --prune-stale N)\n"
        "  --json       one JSON object per job (or worker)\n");
}

/* The sha256 naming policy P: the hash of the file's text, or P itself
 * when it is 64 hex digits and no such file exists. */
static int policy_hash(const char *p, char out[SHA256_HEX_LEN + 1])
{
    struct tp_buf b = { 0 };
    int ret = file_read(p, POLICY_MAX_BYTES, &b);
    if (ret >= 0) {
        sha256_hex(b.data, b.len, out);
        buf_free(&b);
        return 0;
    }
    if (strlen(p) == SHA256_HEX_LEN && strspn(p, "0123456789abcdef") == SHA256_HEX_LEN) {
        memcpy(out, p, SHA256_HEX_LEN + 1);
        tp_err_clear();
        return 0;
    }
    return ret;
}

struct list_ctx {
    int json, all;
    int64_t now, n;
};

/* The JSON objects jobs prints, one serializer each (docs/json.md).
 * lease_age < 0: the job holds no lease (both lease keys null). */
static json_t *job_json(const struct catalog_job *j, int64_t lease_age, int64_t lease_left,
                        int64_t retry_in, const char *cls)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_int(o, "id", j->id) < 0 || json_set_int(o, "asset", j->asset_id) < 0;
    bad = bad || json_set_text(o, "policy_sha256", j->policy) < 0;
    bad = bad || json_set_text(o, "tier", j->tier) < 0;
    bad = bad || json_set_text(o, "state", catalog_job_state_name(j->state)) < 0;
    bad = bad || json_set_int(o, "attempts", j->attempts) < 0;
    bad = bad || json_set_int(o, "max_attempts", j->max_attempts) < 0;
    bad = bad || json_set_int(o, "token", j->token) < 0;
    bad = bad || json_set_text(o, "owner", j->owner) < 0;
    if (lease_age >= 0) {
        bad = bad || json_set_int(o, "lease_age_s", lease_age) < 0;
        bad = bad || json_set_int(o, "lease_left_s", lease_left) < 0;
    } else {
        bad = bad || json_object_set_new(o, "lease_age_s", json_null()) < 0;
        bad = bad || json_object_set_new(o, "lease_left_s", json_null()) < 0;
    }
    bad = bad || json_set_int(o, "retry_in_s", retry_in) < 0;
    bad = bad || json_set_text(o, "error_class", cls) < 0;
    bad = bad || json_set_text(o, "last_error", j->last_error) < 0;
    bad = bad || json_set_text(o, "created", j->created) < 0;
    bad = bad || json_set_text(o, "finished", j->finished) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *worker_json(const struct catalog_worker *w, int stale, int64_t now)
{
    json_t *o = json_object(), *jobs = json_array();
    int bad = !o || !jobs;
    bad = bad || json_set_text(o, "id", w->id) < 0 || json_set_text(o, "host", w->host) < 0;
    bad = bad || json_set_int(o, "pid", w->pid) < 0;
    bad = bad || json_set_int(o, "threads", w->threads) < 0;
    bad = bad || json_set_int(o, "lease_s", w->lease_seconds) < 0;
    bad = bad || json_set_text(o, "started", w->started) < 0;
    bad = bad || json_set_text(o, "heartbeat", w->heartbeat) < 0;
    bad = bad || json_set_int(o, "heartbeat_age_s", w->heartbeat_age) < 0;
    bad = bad || json_object_set_new(o, "stale", json_boolean(stale)) < 0;
    bad = bad || json_set_int(o, "njobs", w->njobs) < 0;
    for (int i = 0; !bad && i < w->njobs && i < CATALOG_WORKER_JOBS; i++) {
        json_t *jo = json_object();
        bad = !jo || json_array_append_new(jobs, jo) < 0;
        bad = bad || json_set_int(jo, "id", w->jobs[i].id) < 0;
        bad = bad || json_set_int(jo, "asset", w->jobs[i].asset_id) < 0;
        bad = bad || json_set_int(jo, "since_s", now - w->jobs[i].claimed) < 0;
    }
    bad = bad || json_object_set(o, "jobs", jobs) < 0;
    json_decref(jobs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int print_job(void *ud, const struct catalog_job *j)
{
    struct list_ctx *l = ud;
    if (!l->all && (j->state == CATALOG_JOB_DONE || j->state == CATALOG_JOB_KEPT))
        return 0;
    int64_t lease_age = j->state == CATALOG_JOB_RUNNING && j->claimed ? l->now - j->claimed : -1;
    int64_t lease_left = j->state == CATALOG_JOB_RUNNING ? j->lease_until - l->now : 0;
    int64_t retry_in = j->state == CATALOG_JOB_QUEUED && j->not_before > l->now
                           ? j->not_before - l->now : 0;
    const char *cls = !j->last_error[0] ? "" : j->error_permanent ? "permanent" : "temporary";
    l->n++;
    if (l->json)
        return json_print(stdout, job_json(j, lease_age, lease_left, retry_in, cls));
    if (l->n == 1)
        printf("%-6s %-6s %-12s %-12s %-8s %-8s %s\n", "job", "asset", "policy", "tier", "state",
               "attempts", "details");
    printf("%-6lld %-6lld %-12.12s %-12s %-8s %3d/%-4d", (long long)j->id, (long long)j->asset_id,
           j->policy, j->tier, catalog_job_state_name(j->state), j->attempts, j->max_attempts);
    if (lease_age >= 0)
        printf(" owner %s, claimed %llds ago, lease %llds left", j->owner, (long long)lease_age,
               (long long)lease_left);
    if (retry_in)
        printf(" retry in %llds", (long long)retry_in);
    if (j->last_error[0])
        printf(" %s error: %s", cls, j->last_error);
    printf("\n");
    return 0;
}

static int print_worker(void *ud, const struct catalog_worker *w)
{
    struct list_ctx *l = ud;
    int stale = w->heartbeat_age > w->lease_seconds;
    l->n++;
    if (l->json)
        return json_print(stdout, worker_json(w, stale, l->now));
    if (l->n == 1)
        printf("%-24s %-7s %-20s %-10s %s\n", "worker", "threads", "started", "heartbeat",
               "jobs");
    printf("%-24s %-7d %-20s %4llds ago ", w->id, w->threads, w->started,
           (long long)w->heartbeat_age);
    if (!w->njobs)
        printf(" idle");
    for (int i = 0; i < w->njobs && i < CATALOG_WORKER_JOBS; i++)
        printf("%s job %lld (asset %lld) since %llds", i ? "," : "", (long long)w->jobs[i].id,
               (long long)w->jobs[i].asset_id, (long long)(l->now - w->jobs[i].claimed));
    if (w->njobs > CATALOG_WORKER_JOBS)
        printf(", +%d more", w->njobs - CATALOG_WORKER_JOBS);
    if (stale)
        printf("  STALE: no heartbeat for %llds (lease %ds)", (long long)w->heartbeat_age,
               w->lease_seconds);
    printf("\n");
    return 0;
}

static int jobs_retry(const struct cli *cli, const char *policy, char **ids_txt, int nids)
{
    struct home h;
    int64_t ids[256];
    RETURN_ERR_IF(nids > (int)TP_ARRAY_SIZE(ids), TP_ERR_USAGE, "at most %d job ids",
                  (int)TP_ARRAY_SIZE(ids));
    for (int i = 0; i < nids; i++) {
        char *end;
        ids[i] = strtoll(ids_txt[i], &end, 10);
        if (!*ids_txt[i] || *end || ids[i] < 1)
            return cli_usage_error("jobs", "retry: '%s' is not a job id", ids_txt[i]);
    }
    int ret = home_open(&h, cli->cfg);
    if (ret < 0)
        return cli_fail(cli->home, ret);
    ret = catalog_job_retry(h.cat, policy, ids, nids);
    home_close(&h);
    if (ret < 0)
        return cli_fail(cli->home, ret);
    printf("requeued %d job(s)\n", ret);
    return nids && ret < nids ? 1 : 0;
}

int cmd_jobs(const struct cli *cli, int argc, char **argv)
{
    enum { O_POLICY = 256, O_STATE, O_JSON, O_WORKERS };
    static const struct option opts[] = {
        { "policy", required_argument, NULL, O_POLICY },
        { "state", required_argument, NULL, O_STATE },
        { "json", no_argument, NULL, O_JSON },
        { "workers", no_argument, NULL, O_WORKERS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char hash[SHA256_HEX_LEN + 1];
    const char *policy = NULL, *policy_arg = NULL;
    struct list_ctx l = { 0 };
    int c, state = -1, ret, workers = 0;

    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case O_POLICY: policy_arg = optarg; break;
        case O_STATE:
            if (!strcmp(optarg, "all"))
                l.all = 1;
            else if ((state = catalog_job_state_parse(optarg)) < 0)
                return cli_usage_error("jobs", "--state: unknown state '%s'", optarg);
            else
                l.all = 1;
            break;
        case O_JSON: l.json = 1; break;
        case O_WORKERS: workers = 1; break;
        case 'h': jobs_help(stdout); return 0;
        default: return cli_usage_error("jobs", "bad option (see tierpress jobs --help)");
        }
    }
    int retry = optind < argc && !strcmp(argv[optind], "retry");
    if (retry) {
        /* options may also follow the subcommand */
        argc -= optind;
        argv += optind;
        optind = 1;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
            if (c == O_POLICY)
                policy_arg = optarg;
            else if (c == 'h') {
                jobs_help(stdout);
                return 0;
            } else
                return cli_usage_error("jobs", "retry takes --policy P and job ids");
        }
    } else if (optind != argc) {
        return cli_usage_error("jobs", "unexpected argument '%s'", argv[optind]);
    }
    if (policy_arg) {
        if ((ret = policy_hash(policy_arg, hash)) < 0)
            return cli_fail(policy_arg, ret);
        policy = hash;
    }
    if (retry)
        return jobs_retry(cli, policy, argv + optind, argc - optind);

    struct home h;
    if ((ret = home_open(&h, cli->cfg)) < 0)
        return cli_fail(cli->home, ret);
    l.now = time_now();
    if (workers) {
        ret = catalog_worker_list(h.cat, l.now, print_worker, &l);
        home_close(&h);
        if (ret < 0)
            return cli_fail(cli->home, ret);
        if (!l.json && !l.n)
            printf("no workers registered\n");
        return 0;
    }
    ret = catalog_job_list(h.cat, policy, state, print_job, &l);
    home_close(&h);
    if (ret < 0)
        return cli_fail(cli->home, ret);
    if (!l.json && !l.n)
        printf("no jobs%s\n", l.all ? "" : " queued, running, failed or dead");
    return 0;
}
