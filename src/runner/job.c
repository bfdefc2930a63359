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
#include "json.h"
#include "run_priv.h"
#include "log.h"
#include "sha256.h"
#include "store.h"
#include "timeutil.h"
#include "transcode.h"
#include "verify.h"

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
    sandbox_fault_point(w->asset->id); /* test hook: a hijacked decoder */
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

struct own_refs {
    const char *hash;
    int64_t n;
};

static int count_own(void *ud, const struct catalog_rendition *rd)
{
    struct own_refs *o = ud;
    o->n += !strcmp(rd->blob, o->hash);
    return 0;
}

/* A tier move without new bytes gives the asset's current blob the tier's
 * storage class: first in the store (S3: CopyObject onto itself; a label
 * store changes nothing), then in the catalog's blob row, so a failed
 * change leaves the catalog as it was: 1 when the caller must then record
 * it with catalog_blob_set_class (in its transaction), else 0.  Blobs are content-addressed and
 * shared: a blob that another asset also references (its refcount is more
 * than this asset's own references) keeps its class, so one asset's tier
 * never moves another's bytes; the asset row still records the tier's
 * class.  *st is opened on first use from cfg (the caller closes it). */
static int move_class(const struct config *cfg, struct store **st, struct catalog *c,
                      const struct catalog_asset *a, const char *sc)
{
    struct catalog_blob b;
    struct own_refs own = { a->current_blob, 1 };
    if (!sc || !*sc)
        sc = "STANDARD";
    FORWARD_ERR(catalog_blob_get(c, a->current_blob, &b));
    if (!strcmp(b.storage_class, sc))
        return 0;
    own.n += a->original_blob[0] && !strcmp(a->original_blob, a->current_blob);
    FORWARD_ERR(catalog_rendition_iterate(c, a->id, count_own, &own));
    if (b.refcount > own.n) {
        tp_log(TP_LOG_DEBUG, "asset %lld: blob %s is shared (%lld references), keeps class %s",
               (long long)a->id, b.hash, (long long)b.refcount, b.storage_class);
        return 0;
    }
    if (!*st)
        FORWARD_ERR(store_open(st, cfg->store, cfg));
    if ((*st)->caps & STORE_CAP_CLASSES) /* else the class is a catalog label */
        FORWARD_ERR(store_set_class(*st, a->current_blob, sc));
    return 1;
}

/* The label only, or "kept the original": the tier's class, no new bytes;
 * the job is finished first, so a lost lease changes nothing. */
static int finish_kept(struct run *r, struct catalog *c, const struct catalog_job *j,
                       const struct catalog_asset *a, const struct policy_tier *t,
                       const char *result)
{
    struct store *st = NULL;
    int ret, moved = move_class(r->o->cfg, &st, c, a, t->act.storage_class);
    store_close(&st);
    if (moved < 0)
        return moved;
    FORWARD_ERR(catalog_begin(c));
    if ((ret = catalog_job_finish(c, j, run_queue_now(r), CATALOG_JOB_KEPT, result)) < 0 ||
        (moved && (ret = catalog_blob_set_class(c, a->current_blob, t->act.storage_class)) < 0) ||
        (ret = catalog_asset_set_tier(c, j->asset_id, t->name, t->act.storage_class)) < 0) {
        catalog_rollback(c);
        return ret;
    }
    FORWARD_ERR(catalog_commit(c));
    atomic_fetch_add(&r->kept, 1);
    return 0;
}

int job_process(struct run *r, struct catalog *c, const struct catalog_job *j,
                const struct policy *pol)
{
    struct catalog_asset a;
    struct tp_buf res = { 0 };
    struct transcode_outcome oc;
    char json[1024], delete_after[CATALOG_TIME] = "";
    int ret, hang = 0;

    if ((ret = catalog_asset_get(c, j->asset_id, &a)) < 0)
        return ret;
    const struct policy_tier *t = find_tier(pol, j->tier);
    RETURN_ERR_IF(!t, TP_ERR_NOTFOUND, "tier '%s' is not in the policy", j->tier);
    const char *sc = t->act.storage_class;
    char source[SHA256_HEX_LEN + 1], expected[SHA256_HEX_LEN + 1];
    snprintf(expected, sizeof(expected), "%s", a.current_blob);
    snprintf(source, sizeof(source), "%s", a.original_blob[0] ? a.original_blob : a.current_blob);

    if (!needs_transcode(&a, t)) {
        if ((ret = finish_kept(r, c, j, &a, t, "{\"reason\":\"label only\"}")) >= 0)
            tp_log(TP_LOG_INFO, "job %lld (asset %lld): tier %s, label only", (long long)j->id,
                   (long long)a.id, t->name);
        return ret;
    }

    FORWARD_ERR(run_fault_before_encode(j, &hang));
    struct work *w = tp_calloc(1, sizeof(*w));
    if (!w)
        return TP_ERR(ENOMEM);
    w->cfg = *r->o->cfg;
    w->asset_v = a;
    w->tier_v = *t;
    memcpy(w->source, source, sizeof(w->source));
    w->threads = r->o->jobs > 1 ? 1 : 0;
    char label[SANDBOX_LABEL];
    snprintf(label, sizeof(label), "asset %lld blob %s", (long long)a.id, source);
    struct sandbox_limits lim = r->o->limits;
    lim.label = label;
    if (!strncmp(r->o->cfg->store, "s3:", 3))
        lim.flags |= SANDBOX_NET; /* the worker reads and writes the bucket itself */
    if (!strcmp(a.kind, "video"))
        lim.flags |= SANDBOX_WRITE; /* FFmpeg reopens its temp output by name */
    if (hang)
        lim.seconds = hang; /* the test hook's child sleeps past this */
    if ((ret = sandbox_run(hang ? "hang" : "encode", w, sizeof(*w), &lim, &res)) < 0)
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
        if ((ret = finish_kept(r, c, j, &a, t, json)) >= 0)
            tp_log(TP_LOG_INFO, "job %lld (asset %lld): tier %s, kept the original (%s)",
                   (long long)j->id, (long long)a.id, t->name, oc.reason);
        goto end;
    }
    w->oc_v = oc;
    buf_free(&res);
    lim = r->o->limits;
    lim.label = label;
    if (!strncmp(r->o->cfg->store, "s3:", 3))
        lim.flags |= SANDBOX_NET;
    if (!strcmp(a.kind, "video"))
        lim.flags |= SANDBOX_WRITE;
    if ((ret = sandbox_run("verify", w, sizeof(*w), &lim, &res)) < 0)
        goto end;
    crash_point("after_verify");
    run_fault_before_swap();
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER)
        time_format(run_policy_now(r) + (int64_t)t->act.delete_after_days * TIME_DAY, delete_after,
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
    /* the fenced finish first: a worker that lost its lease swaps nothing */
    if ((ret = catalog_begin(c)) < 0)
        goto end;
    if ((ret = catalog_job_finish(c, j, run_queue_now(r), CATALOG_JOB_DONE, json)) < 0 ||
        (ret = catalog_blob_add(c, oc.hash, oc.bytes, sc)) < 0 ||
        (ret = catalog_asset_swap(c, a.id, expected, oc.hash, t->name, sc, delete_after)) < 0 ||
        (ret = catalog_rendition_put(c, &rd)) < 0) {
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
    tp_log(TP_LOG_INFO, "job %lld (asset %lld): tier %s, %s%s q%d: %llu -> %llu bytes (%.1f%%)",
           (long long)j->id, (long long)a.id, t->name, oc.codec, oc.lossless ? " lossless" : "", oc.quality,
           (unsigned long long)oc.in_bytes, (unsigned long long)oc.bytes,
           100.0 * (double)oc.bytes / (double)oc.in_bytes);
end:
    tp_free(w);
    buf_free(&res);
    return ret;
}

/* Test hook (TP_FAULT_HANG_ASSET): a child that never answers. */
static int hang_child(void *arg, struct tp_buf *out)
{
    (void)arg;
    (void)out;
    for (;;)
        pause();
    return 0;
}

static const struct sandbox_entry job_entries[] = {
    { "encode", encode_child },
    { "verify", verify_child },
    { "hang", hang_child },
    { NULL, NULL },
};

int job_worker_main(const char *name)
{
    return sandbox_worker_main(name, job_entries);
}

struct plan_ctx {
    struct run *r;
    struct catalog *c;
    struct store *st; /* for label-only class changes; opened on first use */
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
            ((ret = move_class(r->o->cfg, &pc->st, pc->c, a, tier->act.storage_class)) < 0 ||
             (ret && (ret = catalog_blob_set_class(pc->c, a->current_blob,
                                                   tier->act.storage_class)) < 0) ||
             (ret = catalog_asset_set_tier(pc->c, a->id, tier->name, tier->act.storage_class)) < 0))
            return pc->ret = ret;
        s->labelled++;
        return 0;
    }
    if (r->o->dry_run) {
        s->queued++;
        return 0;
    }
    ret = catalog_job_enqueue(pc->c, a->id, r->policy_hash, tier->name, r->o->max_attempts);
    if (ret < 0)
        return pc->ret = ret;
    s->queued += ret;
    return 0;
}

int job_plan(struct run *r, struct catalog *c, const void *policy_text, size_t len)
{
    struct plan_ctx pc = { r, c, NULL, 0 };
    int ret;
    if (r->o->dry_run) {
        ret = catalog_asset_iterate(c, plan_one, &pc);
        return ret < 0 ? ret : pc.ret;
    }
    FORWARD_ERR(catalog_begin(c));
    if ((ret = catalog_policy_put(c, r->policy_hash, r->o->policy_path, policy_text, len)) >= 0 &&
        (ret = catalog_asset_iterate(c, plan_one, &pc)) >= 0)
        ret = pc.ret;
    store_close(&pc.st);
    if (ret < 0) {
        catalog_rollback(c);
        return ret;
    }
    return catalog_commit(c);
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "";
}

static void failures_json(FILE *f, const struct run_summary *s)
{
    fprintf(f, "\"failures\":[");
    for (int64_t i = 0; i < s->nfailures && i < RUN_MAX_FAILURES; i++) {
        const struct run_failure *x = &s->failures[i];
        fprintf(f, "%s{\"job\":%lld,\"asset\":%lld,\"state\":\"%s\",\"class\":\"%s\","
                   "\"attempts\":%d,\"max_attempts\":%d,\"error\":",
                i ? "," : "", (long long)x->job, (long long)x->asset, x->state,
                x->permanent ? "permanent" : "temporary", x->attempts, x->max_attempts);
        json_str(f, x->error);
        fputc('}', f);
    }
    fprintf(f, "]");
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
                   "\"retried\":%lld,\"failed_permanent\":%lld,\"dead\":%lld,\"released\":%lld,"
                   "\"lost\":%lld,\"time_limit_s\":%d,\"max_attempts\":%d,\"stopped_by\":%s%s%s,"
                   "\"jobs_with_errors\":%lld,",
                (long long)s->unmatched, (long long)s->already, (long long)s->queued,
                (long long)s->labelled, (long long)s->transcoded, (long long)s->kept,
                (long long)s->failed, (unsigned long long)s->bytes_before,
                (unsigned long long)s->bytes_after,
                (long long)s->bytes_before - (long long)s->bytes_after, s->seconds,
                s->policy_sha256, (long long)s->retried, (long long)s->failed_permanent,
                (long long)s->dead, (long long)s->released, (long long)s->lost, s->time_limit,
                s->max_attempts, s->stop_signal ? "\"" : "null",
                s->stop_signal ? signal_name(s->stop_signal) : "", s->stop_signal ? "\"" : "",
                (long long)s->nfailures);
        failures_json(f, s);
        fprintf(f, "}\n");
        return;
    }
    if (s->stop_signal)
        fprintf(f, "stopped by %s: jobs in progress were released\n", signal_name(s->stop_signal));
    if (s->ntiers) {
        fprintf(f, "%lld assets:", (long long)s->assets);
        for (int i = 0; i < s->ntiers; i++)
            fprintf(f, " %s %lld,", s->tier_names[i], (long long)s->matched[i]);
        fprintf(f, " unmatched %lld\n", (long long)s->unmatched);
    }
    fprintf(f, "transcoded %lld, kept %lld, failed %lld, labelled %lld, already done %lld\n",
            (long long)s->transcoded, (long long)s->kept, (long long)s->failed,
            (long long)s->labelled, (long long)s->already);
    if (s->failed || s->released || s->lost)
        fprintf(f, "failures: %lld to retry later, %lld permanent, %lld dead (attempts used up, "
                   "max %d, %d s per child); released %lld, lost to another worker %lld\n",
                (long long)s->retried, (long long)s->failed_permanent, (long long)s->dead,
                s->max_attempts, s->time_limit, (long long)s->released, (long long)s->lost);
    for (int64_t i = 0; i < s->nfailures && i < RUN_MAX_FAILURES; i++) {
        const struct run_failure *x = &s->failures[i];
        fprintf(f, "  job %lld (asset %lld): %s, %s, attempt %d of %d: %s\n", (long long)x->job,
                (long long)x->asset, x->state, x->permanent ? "permanent" : "temporary",
                x->attempts, x->max_attempts, x->error);
    }
    if (s->nfailures > RUN_MAX_FAILURES)
        fprintf(f, "  ... and %lld more (tierpress jobs)\n",
                (long long)(s->nfailures - RUN_MAX_FAILURES));
    if (s->bytes_before)
        fprintf(f, "bytes: %llu -> %llu (%.1f%%, saved %.2f MB) in %.1f s\n",
                (unsigned long long)s->bytes_before, (unsigned long long)s->bytes_after,
                100.0 * (double)s->bytes_after / (double)s->bytes_before,
                ((double)s->bytes_before - (double)s->bytes_after) / 1e6, s->seconds);
    else
        fprintf(f, "in %.1f s\n", s->seconds);
}
