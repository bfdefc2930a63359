/* The batch runner (see job.h).
 *
 * Per asset: encode (child process) -> the new blob is written to the store
 * -> verify (another child: rehash, independent decode, floors, metadata,
 * or byte-exact reconstruction) -> one transaction: record the blob,
 * compare-and-swap the storage pointer, record the cold rendition, finish
 * the job, audit.  A failure anywhere leaves the asset as it was; the new
 * blob, if written, is an orphan that gc removes.  The encode and the
 * verification themselves are the pipeline's (src/pipeline/transcode.c,
 * verify.c), shared with `simulate`; here they run in sandboxed children. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "catalog.h"
#include "err.h"
#include "facts.h"
#include "fileio.h"
#include "home.h"
#include "job.h"
#include "log.h"
#include "sha256.h"
#include "store.h"
#include "timeutil.h"
#include "transcode.h"
#include "verify.h"

void run_opts_defaults(struct run_opts *o)
{
    memset(o, 0, sizeof(*o));
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->jobs = n > 0 ? (int)(n > 64 ? 64 : n) : 1;
    o->now = time_now();
    sandbox_limits_defaults(&o->limits);
}

/* Test hook: TP_CRASH_AT=<point> kills the runner (as kill -9 would) at a
 * chosen point of the per-asset protocol. */
static void crash_point(const char *name)
{
    const char *at = getenv("TP_CRASH_AT");
    if (at && !strcmp(at, name))
        raise(SIGKILL);
}

/* What a worker process gets: plain bytes, no pointers (sandbox.h). */
struct work {
    struct config cfg;        /* the home's backends: the worker opens the same store */
    struct catalog_asset asset_v;
    struct policy_tier tier_v;
    char source[SHA256_HEX_LEN + 1]; /* blob hash transcoded from */
    int threads;              /* SSIM threads inside the worker */
    struct transcode_outcome oc_v; /* verify: the outcome to check */
    /* set up by the worker from the copies above */
    const struct catalog_asset *asset;
    const struct policy_tier *tier;
    const struct transcode_outcome *oc;
};

static struct work *work_fixup(void *arg)
{
    struct work *w = arg;
    w->asset = &w->asset_v;
    w->tier = &w->tier_v;
    w->oc = &w->oc_v;
    return w;
}

/* Work for the asset in the tier: 0 = only the label changes. */
static int needs_transcode(const struct catalog_asset *a, const struct policy_tier *t)
{
    return transcode_needed(a->kind, &t->act.transcode);
}

/* The encode child: the pipeline's transcode, from the store into itself
 * (src/pipeline/transcode.c). */
static int encode_child(void *arg, struct tp_buf *out)
{
    struct work *w = work_fixup(arg);
    /* test hook: a codec that crashes on a hostile file */
    const char *at = getenv("TP_CRASH_AT");
    if (at && !strcmp(at, "encode_child"))
        raise(SIGSEGV);
    struct store *st = NULL;
    struct transcode_outcome oc;
    int ret;

    if ((ret = store_open(&st, w->cfg.store, &w->cfg)) < 0)
        goto end;
    if ((ret = transcode_asset(st, st, w->asset->id, w->asset->kind, w->source, w->tier,
                               w->threads, &oc)) < 0)
        goto end;
    ret = buf_set(out, &oc, sizeof(oc));
end:
    store_close(&st);
    return ret;
}

/* The verify child: the pipeline's verification (src/pipeline/verify.c). */
static int verify_child(void *arg, struct tp_buf *out)
{
    struct work *w = work_fixup(arg);
    struct store *st = NULL;
    int ret;

    if ((ret = store_open(&st, w->cfg.store, &w->cfg)) < 0)
        goto end;
    if ((ret = verify_transcode(st, w->asset->id, w->asset->kind, w->source, w->tier, w->oc,
                                w->threads)) < 0)
        goto end;
    ret = buf_set(out, "ok", 2);
end:
    store_close(&st);
    return ret;
}

/* ---- the run ------------------------------------------------------------ */

struct run {
    const struct run_opts *o;
    struct policy pol;
    char policy_hash[SHA256_HEX_LEN + 1];
    char owner[96];
    struct run_summary *s;
    atomic_llong taken, transcoded, kept, failed;
    atomic_int active;
    atomic_ullong bytes_before, bytes_after;
    pthread_mutex_t lock;
};

static const struct policy_tier *find_tier(const struct policy *p, const char *name)
{
    for (int i = 0; i < p->ntiers; i++)
        if (!strcmp(p->tiers[i].name, name))
            return &p->tiers[i];
    return NULL;
}

static void outcome_json(const struct transcode_outcome *oc, char *buf, size_t len)
{
    snprintf(buf, len,
             "{\"codec\":\"%s\",\"quality\":%d,\"subsampling\":%d,\"lossless\":%s,\"in_bytes\":%llu,"
             "\"out_bytes\":%llu,\"ssim\":%.6f,\"min_tile\":%.6f,\"ssim_cb\":%.6f,\"ssim_cr\":%.6f,"
             "\"probes\":%d,\"encode_ms\":%.0f,\"kept\":%s,\"reason\":\"%s\"}",
             oc->codec, oc->quality, oc->subsampling, oc->lossless ? "true" : "false",
             (unsigned long long)oc->in_bytes, (unsigned long long)oc->bytes, oc->ssim,
             oc->min_tile, oc->ssim_cb, oc->ssim_cr, oc->probes, oc->encode_ms,
             oc->kept ? "true" : "false", oc->reason);
}

static void json_escape_into(char *dst, size_t len, const char *src)
{
    size_t n = 0;
    for (; *src && n + 2 < len; src++) {
        char c = *src;
        if (c == '"' || c == '\\')
            dst[n++] = '\\';
        dst[n++] = (unsigned char)c < 0x20 ? ' ' : c;
    }
    dst[n] = '\0';
}

static void fail_job(struct run *r, struct catalog *c, const struct catalog_job *j, int err)
{
    char msg[512], detail[400], esc[360];
    tp_strerror(err, msg, sizeof(msg));
    json_escape_into(esc, sizeof(esc), msg);
    snprintf(detail, sizeof(detail), "{\"error\":\"%s\"}", esc);
    tp_log(TP_LOG_WARN, "asset %lld (tier %s) failed: %s", (long long)j->asset_id, j->tier, msg);
    if (catalog_job_finish(c, j->id, "failed", detail) >= 0)
        catalog_audit(c, j->asset_id, "job.failed", detail);
    int64_t k = atomic_fetch_add(&r->failed, 1); /* slot k is this thread's alone */
    if (k < RUN_MAX_FAILURES) {
        struct run_failure *rf = &r->s->failures[k];
        rf->asset_id = j->asset_id;
        snprintf(rf->tier, sizeof(rf->tier), "%s", j->tier);
        snprintf(rf->error, sizeof(rf->error), "%.299s", msg);
    }
    tp_err_clear();
}

static int process(struct run *r, struct catalog *c, const struct catalog_job *j)
{
    struct catalog_asset a;
    struct tp_buf res = { 0 };
    struct transcode_outcome oc;
    char json[1024], delete_after[CATALOG_TIME] = "";
    int ret;

    if ((ret = catalog_asset_get(c, j->asset_id, &a)) < 0)
        return ret;
    const struct policy_tier *t = find_tier(&r->pol, j->tier);
    RETURN_ERR_IF(!t, TP_ERR_NOTFOUND, "tier '%s' is not in the policy", j->tier);
    const char *sc = t->act.storage_class;
    char source[SHA256_HEX_LEN + 1], expected[SHA256_HEX_LEN + 1];
    snprintf(expected, sizeof(expected), "%s", a.current_blob);
    snprintf(source, sizeof(source), "%s", a.original_blob[0] ? a.original_blob : a.current_blob);

    if (!needs_transcode(&a, t)) {
        /* the label only */
        FORWARD_ERR(catalog_begin(c));
        if ((ret = catalog_asset_set_tier(c, a.id, t->name, sc)) < 0 ||
            (ret = catalog_job_finish(c, j->id, "kept", "{\"reason\":\"label only\"}")) < 0) {
            catalog_rollback(c);
            return ret;
        }
        FORWARD_ERR(catalog_commit(c));
        atomic_fetch_add(&r->kept, 1);
        return 0;
    }

    struct work *w = tp_calloc(1, sizeof(*w));
    if (!w)
        return TP_ERR(ENOMEM);
    w->cfg = *r->o->cfg;
    w->asset_v = a;
    w->tier_v = *t;
    memcpy(w->source, source, sizeof(w->source));
    w->threads = r->o->jobs > 1 ? 1 : 0;
    if ((ret = sandbox_run("encode", w, sizeof(*w), &r->o->limits, &res)) < 0)
        goto end;
    if (res.len != sizeof(oc)) {
        tp_err_set("worker answered %zu bytes", res.len);
        ret = TP_ERR_BUG;
        goto end;
    }
    memcpy(&oc, res.data, sizeof(oc));
    crash_point("after_encode");
    outcome_json(&oc, json, sizeof(json));
    if (oc.kept) {
        /* the original stays; the asset still moves to the tier's class */
        if ((ret = catalog_begin(c)) < 0)
            goto end;
        if ((ret = catalog_asset_set_tier(c, a.id, t->name, sc)) < 0 ||
            (ret = catalog_job_finish(c, j->id, "kept", json)) < 0) {
            catalog_rollback(c);
            goto end;
        }
        ret = catalog_commit(c);
        atomic_fetch_add(&r->kept, 1);
        tp_log(TP_LOG_INFO, "asset %lld: kept the original (%s)", (long long)a.id, oc.reason);
        goto end;
    }
    w->oc_v = oc;
    buf_free(&res);
    if ((ret = sandbox_run("verify", w, sizeof(*w), &r->o->limits, &res)) < 0)
        goto end;
    crash_point("after_verify");
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER)
        time_format(r->o->now + (int64_t)t->act.delete_after_days * TIME_DAY, delete_after,
                    sizeof(delete_after));
    struct catalog_rendition rd;
    memset(&rd, 0, sizeof(rd));
    rd.asset_id = a.id;
    snprintf(rd.name, sizeof(rd.name), "cold");
    snprintf(rd.blob, sizeof(rd.blob), "%s", oc.hash);
    snprintf(rd.format, sizeof(rd.format), "%s", oc.codec);
    rd.width = a.width;
    rd.height = a.height;
    rd.bytes = oc.bytes;
    rd.ssim = oc.ssim;
    rd.min_tile = oc.min_tile;
    if ((ret = catalog_begin(c)) < 0)
        goto end;
    if ((ret = catalog_blob_add(c, oc.hash, oc.bytes, sc)) < 0 ||
        (ret = catalog_asset_swap(c, a.id, expected, oc.hash, t->name, sc, delete_after)) < 0 ||
        (ret = catalog_rendition_put(c, &rd)) < 0 ||
        (ret = catalog_job_finish(c, j->id, "done", json)) < 0) {
        catalog_rollback(c);
        goto end;
    }
    crash_point("in_swap");
    if ((ret = catalog_commit(c)) < 0) {
        catalog_rollback(c);
        goto end;
    }
    crash_point("after_commit");
    atomic_fetch_add(&r->transcoded, 1);
    atomic_fetch_add(&r->bytes_before, oc.in_bytes);
    atomic_fetch_add(&r->bytes_after, oc.bytes);
    tp_log(TP_LOG_INFO, "asset %lld: %s %s%s q%d: %llu -> %llu bytes (%.1f%%)", (long long)a.id,
           t->name, oc.codec, oc.lossless ? " lossless" : "", oc.quality,
           (unsigned long long)oc.in_bytes, (unsigned long long)oc.bytes,
           100.0 * (double)oc.bytes / (double)oc.in_bytes);
end:
    tp_free(w);
    buf_free(&res);
    return ret;
}

static const struct sandbox_entry job_entries[] = {
    { "encode", encode_child },
    { "verify", verify_child },
    { NULL, NULL },
};

int job_worker_main(const char *name)
{
    return sandbox_worker_main(name, job_entries);
}

static void *worker(void *arg)
{
    struct run *r = arg;
    struct catalog *c = NULL;
    if (catalog_open(&c, r->o->cfg->catalog, 0) < 0) {
        tp_log(TP_LOG_ERROR, "worker cannot open the catalog: %s", tp_err_detail());
        return NULL;
    }
    for (;;) {
        struct catalog_job j;
        if (r->o->limit && atomic_fetch_add(&r->taken, 1) >= r->o->limit)
            break;
        int64_t wall = time_now();
        int64_t lease = wall + 2 * (r->o->limits.seconds ? r->o->limits.seconds : 3600) + 60;
        int ret = catalog_job_claim(c, r->policy_hash, r->owner, wall, lease, &j);
        if (ret == TP_ERR_NOTFOUND)
            break;
        if (ret < 0) {
            tp_log(TP_LOG_ERROR, "cannot claim a job: %s", tp_err_detail());
            break;
        }
        if ((ret = process(r, c, &j)) < 0)
            fail_job(r, c, &j, ret);
    }
    catalog_close(&c);
    atomic_fetch_sub(&r->active, 1);
    return NULL;
}

/* Owners are "host:pid"; a job whose owner on this host is gone is ours
 * to take back. */
static int owner_is_dead(const char *owner)
{
    char host[64];
    const char *colon = strrchr(owner, ':');
    if (!colon || gethostname(host, sizeof(host)) < 0)
        return 0;
    if ((size_t)(colon - owner) != strlen(host) || strncmp(owner, host, strlen(host)))
        return 0;
    long pid = atol(colon + 1);
    return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

struct plan_ctx {
    struct run *r;
    struct catalog *c;
    int ret;
};

static int plan_one(void *ud, const struct catalog_asset *a)
{
    struct plan_ctx *pc = ud;
    struct run *r = pc->r;
    struct run_summary *s = r->s;
    struct asset_facts f;
    int ret;
    s->assets++;
    if ((ret = facts_from_asset(pc->c, a, &f)) < 0)
        return pc->ret = ret;
    int t = policy_match(&r->pol, &f, r->o->now, NULL);
    if (t < 0) {
        s->unmatched++;
        return 0;
    }
    s->matched[t]++;
    const struct policy_tier *tier = &r->pol.tiers[t];
    if (!strcmp(a->tier, tier->name)) {
        s->already++;
        return 0;
    }
    if (!needs_transcode(a, tier)) {
        /* a label: no codec work, no job needed */
        if (!r->o->dry_run &&
            (ret = catalog_asset_set_tier(pc->c, a->id, tier->name, tier->act.storage_class)) < 0)
            return pc->ret = ret;
        s->labelled++;
        return 0;
    }
    if (r->o->dry_run) {
        s->queued++;
        return 0;
    }
    ret = catalog_job_enqueue(pc->c, a->id, r->policy_hash, tier->name);
    if (ret < 0)
        return pc->ret = ret;
    s->queued += ret;
    return 0;
}

static void report_progress(struct run *r, int64_t total)
{
    if (!r->o->on_progress)
        return;
    struct run_progress p = {
        atomic_load(&r->transcoded) + atomic_load(&r->kept) + atomic_load(&r->failed), total,
        (int64_t)atomic_load(&r->bytes_before) - (int64_t)atomic_load(&r->bytes_after),
        atomic_load(&r->failed),
    };
    r->o->on_progress(r->o->progress_ud, &p);
}

int run_policy(const struct run_opts *o, struct run_summary *s)
{
    struct run r;
    struct home h = { 0 };
    struct tp_buf pb = { 0 };
    pthread_t th[64];
    int nth = 0, ret;
    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    signal(SIGPIPE, SIG_IGN); /* sandbox_run: a dead worker is an error, not a signal */
    memset(s, 0, sizeof(*s));
    memset(&r, 0, sizeof(r));
    r.o = o;
    r.s = s;
    policy_defaults(&r.pol);
    if ((ret = policy_load(&r.pol, o->policy_path)) < 0)
        goto end;
    if ((ret = file_read(o->policy_path, POLICY_MAX_BYTES, &pb)) < 0)
        goto end;
    sha256_hex(pb.data, pb.len, r.policy_hash);
    memcpy(s->policy_sha256, r.policy_hash, sizeof(s->policy_sha256));
    s->ntiers = r.pol.ntiers;
    for (int i = 0; i < r.pol.ntiers && i < RUN_MAX_TIERS; i++)
        snprintf(s->tier_names[i], sizeof(s->tier_names[i]), "%s", r.pol.tiers[i].name);
    char host[64] = "localhost";
    gethostname(host, sizeof(host));
    snprintf(r.owner, sizeof(r.owner), "%s:%ld", host, (long)getpid());
    if ((ret = home_open(&h, o->cfg)) < 0)
        goto end;

    /* plan: one transaction for all the enqueues and labels */
    struct plan_ctx pc = { &r, h.cat, 0 };
    if (!o->dry_run && (ret = catalog_begin(h.cat)) < 0)
        goto end;
    ret = catalog_asset_iterate(h.cat, plan_one, &pc);
    if (ret >= 0 && pc.ret < 0)
        ret = pc.ret;
    if (!o->dry_run) {
        if (ret < 0) {
            catalog_rollback(h.cat);
            goto end;
        }
        if ((ret = catalog_commit(h.cat)) < 0)
            goto end;
        /* a runner killed mid-job left it "running": take it back */
        int n = catalog_job_requeue_dead(h.cat, r.policy_hash, owner_is_dead);
        if (n > 0)
            tp_log(TP_LOG_INFO, "resuming %d job(s) of an interrupted run", n);
    }
    if (o->dry_run) {
        ret = 0;
        goto end;
    }
    struct catalog_job_counts jc;
    if ((ret = catalog_job_counts(h.cat, r.policy_hash, &jc)) < 0)
        goto end;
    int64_t total = jc.queued + jc.running;
    if (o->limit && total > o->limit)
        total = o->limit;
    home_close(&h);

    atomic_init(&r.taken, 0);
    atomic_init(&r.active, 0);
    for (nth = 0; nth < o->jobs && nth < 64; nth++) {
        atomic_fetch_add(&r.active, 1);
        if (pthread_create(&th[nth], NULL, worker, &r) != 0) {
            atomic_fetch_sub(&r.active, 1);
            break;
        }
    }
    while (atomic_load(&r.active) > 0) {
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        report_progress(&r, total);
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    report_progress(&r, total);
    s->transcoded = atomic_load(&r.transcoded);
    s->kept = atomic_load(&r.kept);
    s->failed = atomic_load(&r.failed);
    s->bytes_before = atomic_load(&r.bytes_before);
    s->bytes_after = atomic_load(&r.bytes_after);
    ret = 0;
end:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (ret < 0 && r.pol.ndiags && !tp_err_detail()[0]) {
        char b[400];
        tp_err_set("%s", policy_diag_format(&r.pol, 0, b, sizeof(b)));
    }
    home_close(&h);
    buf_free(&pb);
    policy_free(&r.pol);
    return ret;
}

void run_summary_print(FILE *f, const struct run_summary *s, int json)
{
    if (json) {
        fprintf(f, "{\"assets\":%lld,\"matched\":{", (long long)s->assets);
        for (int i = 0; i < s->ntiers; i++)
            fprintf(f, "%s\"%s\":%lld", i ? "," : "", s->tier_names[i], (long long)s->matched[i]);
        fprintf(f, "},\"unmatched\":%lld,\"already\":%lld,\"queued\":%lld,\"labelled\":%lld,"
                   "\"transcoded\":%lld,\"kept\":%lld,\"failed\":%lld,\"bytes_before\":%llu,"
                   "\"bytes_after\":%llu,\"bytes_saved\":%lld,\"seconds\":%.2f,\"policy_sha256\":\"%s\","
                   "\"failures\":[",
                (long long)s->unmatched, (long long)s->already, (long long)s->queued,
                (long long)s->labelled, (long long)s->transcoded, (long long)s->kept,
                (long long)s->failed, (unsigned long long)s->bytes_before,
                (unsigned long long)s->bytes_after,
                (long long)s->bytes_before - (long long)s->bytes_after, s->seconds,
                s->policy_sha256);
        for (int64_t i = 0; i < s->failed && i < RUN_MAX_FAILURES; i++) {
            char esc[sizeof(s->failures[i].error) * 2];
            json_escape_into(esc, sizeof(esc), s->failures[i].error);
            fprintf(f, "%s{\"asset\":%lld,\"tier\":\"%s\",\"error\":\"%s\"}", i ? "," : "",
                    (long long)s->failures[i].asset_id, s->failures[i].tier, esc);
        }
        fprintf(f, "]}\n");
        return;
    }
    fprintf(f, "%lld assets:", (long long)s->assets);
    for (int i = 0; i < s->ntiers; i++)
        fprintf(f, " %s %lld,", s->tier_names[i], (long long)s->matched[i]);
    fprintf(f, " unmatched %lld\n", (long long)s->unmatched);
    fprintf(f, "transcoded %lld, kept %lld, failed %lld, labelled %lld, already done %lld\n",
            (long long)s->transcoded, (long long)s->kept, (long long)s->failed,
            (long long)s->labelled, (long long)s->already);
    if (s->bytes_before)
        fprintf(f, "bytes: %llu -> %llu (%.1f%%, saved %.2f MB) in %.1f s\n",
                (unsigned long long)s->bytes_before, (unsigned long long)s->bytes_after,
                100.0 * (double)s->bytes_after / (double)s->bytes_before,
                ((double)s->bytes_before - (double)s->bytes_after) / 1e6, s->seconds);
    else
        fprintf(f, "in %.1f s\n", s->seconds);
    for (int64_t i = 0; i < s->failed && i < RUN_MAX_FAILURES; i++)
        fprintf(f, "failed: asset %lld (tier %s): %s\n", (long long)s->failures[i].asset_id,
                s->failures[i].tier, s->failures[i].error);
    if (s->failed > RUN_MAX_FAILURES)
        fprintf(f, "... and %lld more failed (see the log)\n",
                (long long)(s->failed - RUN_MAX_FAILURES));
}
