/* tierpress enqueue --ingest SHA256|FILE: the upload front end's side of
 * ingest jobs.  A FILE is streamed into the store first; a SHA256 must
 * already be there (the front end wrote it).  A worker (`worker`, or `run`)
 * then catalogs the blob and makes its proxies. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "home.h"
#include "json.h"
#include "sha256.h"
#include "store.h"

static void usage(void)
{
    printf("usage: tierpress enqueue --ingest SHA256|FILE [--ingest ...] [--owner NAME] "
           "[--max-attempts N] [--json]\n\n"
           "Queues \"ingest this blob\" jobs: a worker (tierpress worker, or run) reads the\n"
           "blob from the store (its sha256 checked), catalogs it and makes its proxies, as\n"
           "tierpress ingest does.  SHA256: a blob an upload service already put into the\n"
           "home's store; FILE: stored first (streamed, hashed), its name recorded for the\n"
           "asset.  A blob with a job is not queued twice for one owner, unless the job is\n"
           "done and that owner no longer has the asset live (deleted): then it is queued\n"
           "again (a new asset, or the one in the trash restored, as tierpress ingest does).\n\n"
           "  --ingest X         a sha256 (64 hex digits) or a file\n"
           "  --owner NAME       the owner of the assets the jobs make (default 'local')\n"
           "  --max-attempts N   attempts before the job is parked as dead (default %d)\n"
           "  --json             one object per blob: blob, job, stored, queued\n",
           CATALOG_JOB_MAX_ATTEMPTS);
}

static int enqueue_one(struct home *h, const char *arg, const char *owner, int max_attempts,
                       int json)
{
    char hash[SHA256_HEX_LEN + 1];
    struct catalog_ingest_meta meta = { 0 };
    int64_t job = 0;
    struct stat st;
    int ret, stored = 0;
    if (sha256_hex_valid(arg) && stat(arg, &st) < 0) {
        snprintf(hash, sizeof(hash), "%s", arg);
        if ((ret = store_exists(h->store, hash, NULL)) < 0)
            return cli_fail(arg, ret);
        if (!ret) {
            cli_error_line("tierpress: %s: blob %s is not in the store", arg, hash);
            return 1;
        }
    } else {
        if (stat(arg, &st) < 0)
            return cli_fail(arg, TP_ERR(errno));
        if (!S_ISREG(st.st_mode)) {
            cli_error_line("tierpress: %s: not a regular file", arg);
            return 1;
        }
        if ((ret = store_put_file(h->store, arg, NULL, NULL, hash)) < 0)
            return cli_fail(arg, ret);
        stored = ret == 0;
        const char *base = strrchr(arg, '/');
        snprintf(meta.file_name, sizeof(meta.file_name), "%s", base ? base + 1 : arg);
    }
    if ((ret = catalog_job_enqueue_ingest(h->cat, hash, owner, &meta, max_attempts, &job)) < 0)
        return cli_fail(arg, ret);
    if (json) {
        json_t *o = json_pack("{s:s, s:I, s:b, s:b}", "blob", hash, "job", (json_int_t)job,
                              "stored", stored, "queued", ret);
        if (json_print(stdout, o) < 0)
            return cli_fail(arg, TP_ERR(ENOMEM));
    } else {
        printf(ret ? "queued: ingest blob %s (job %lld)\n"
                   : "already queued (or done): ingest blob %s (job %lld)\n",
               hash, (long long)job);
    }
    return 0;
}

int cmd_enqueue(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "ingest", required_argument, NULL, 'i' },
        { "max-attempts", required_argument, NULL, 'm' },
        { "owner", required_argument, NULL, 'o' },
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *items[256], *owner = NULL;
    int n = 0, c, json = 0, max_attempts = 0, ret = 0;
    struct home h;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            if (n == (int)(sizeof(items) / sizeof(items[0])))
                return cli_usage_error("enqueue", "at most 256 --ingest per call");
            items[n++] = optarg;
            break;
        case 'm': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 100)
                return cli_usage_error("enqueue", "--max-attempts: '%s' is not 1..100", optarg);
            max_attempts = (int)v;
            break;
        }
        case 'o':
            if (!*optarg || strlen(optarg) >= CATALOG_TEXT)
                return cli_usage_error("enqueue", "--owner: 1..%d characters", CATALOG_TEXT - 1);
            owner = optarg;
            break;
        case 'j': json = 1; break;
        case 'h': usage(); return 0;
        default: return cli_usage_error("enqueue", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("enqueue", "unexpected argument '%s'", argv[optind]);
    if (!n)
        return cli_usage_error("enqueue", "nothing to enqueue (--ingest SHA256|FILE)");
    if ((ret = home_open_mode(&h, cli->cfg, HOME_CREATE)) < 0)
        return cli_fail(cli->home, ret);
    for (int i = 0; i < n && !ret; i++)
        ret = enqueue_one(&h, items[i], owner, max_attempts, json);
    home_close(&h);
    return ret;
}
