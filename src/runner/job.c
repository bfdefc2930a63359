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
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
#include "ingest.h"
#include "job.h"
#include "json.h"
#include "run_priv.h"
#include "log.h"
#include "sha256.h"
#include "store.h"
#include "timeutil.h"
#include "transcode.h"
#include "units.h"
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
/* The work an asset's job stands for: its pixels (at least 1, so a video
 * or a file without dimensions still counts). */
static int64_t asset_pixels(const struct catalog_asset *a)
{
    int64_t px = (int64_t)a->width * a->height;
    return px > 0 ? px : 1;
}

static int needs_transcode(const struct catalog_asset *a, const struct policy_tier *t)
{
    return transcode_needed(a->kind, &t->act.transcode);
}

/* The encode child: the pipeline's transcode (src/pipeline/transcode.c)
 * from the store opened read-only.  It answers the outcome followed by the
 * new representation's bytes: the parent stores them (the worker's filter
 * allows no rename, link or mkdir, and unlink only in its private temp
 * directory). */
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
    struct tp_buf bytes = { 0 };
    int ret;

    if ((ret = store_open_flags(&st, w->cfg.store, &w->cfg, STORE_OPEN_READONLY)) < 0)
        goto end;
    if ((ret = transcode_asset_buf(st, w->asset->id, w->asset->kind, w->source, w->tier,
                                   w->threads, &oc, &bytes)) < 0)
        goto end;
    if ((ret = buf_set(out, &oc, sizeof(oc))) < 0 ||
        (bytes.len && (ret = buf_append(out, bytes.data, bytes.len)) < 0))
        goto end;
end:
    buf_free(&bytes);
    store_close(&st);
    return ret;
}

/* The verify child: the pipeline's verification (src/pipeline/verify.c). */
static int verify_child(void *arg, struct tp_buf *out)
{
    struct work *w = work_fixup(arg);
    struct store *st = NULL;
    int ret;

    if ((ret = store_open_flags(&st, w->cfg.store, &w->cfg, STORE_OPEN_READONLY)) < 0)
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

/* The outcome recorded with a finished job (the audit trail's detail): free
 * text (reason, refused) too, so through jansson. */
static void outcome_json(const struct transcode_outcome *oc, char *buf, size_t len)
{
    json_t *o = json_object();
    int bad = json_set_text(o, "codec", oc->codec) < 0 ||
              json_set_int(o, "quality", oc->quality) < 0 ||
              json_set_int(o, "subsampling", oc->subsampling) < 0 ||
              json_set_bool(o, "lossless", oc->lossless) < 0 ||
              json_set_int(o, "in_bytes", (long long)oc->in_bytes) < 0 ||
              json_set_int(o, "out_bytes", (long long)oc->bytes) < 0 ||
              json_set_fixed(o, "ssim", oc->ssim, 6) < 0 ||
              json_set_fixed(o, "min_tile", oc->min_tile, 6) < 0 ||
              json_set_fixed(o, "ssim_cb", oc->ssim_cb, 6) < 0 ||
              json_set_fixed(o, "ssim_cr", oc->ssim_cr, 6) < 0 ||
              json_set_int(o, "probes", oc->probes) < 0 ||
              json_set_int(o, "encode_ms", llround(oc->encode_ms)) < 0 ||
              json_set_bool(o, "kept", oc->kept) < 0 || json_set_text(o, "reason", oc->reason) < 0 ||
              json_set_text(o, "refused", oc->refused) < 0;
    char *txt = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    /* a detail too long for buf is cut by the catalog's own limit anyway;
     * out of memory records none */
    snprintf(buf, len, "%s", txt && strlen(txt) < len ? txt : "{}");
    free(txt);
    json_decref(o);
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

/* A swap the fencing check (or the pointer's compare-and-swap) refused:
 * logged and audited, so a late worker's refusal can be seen; the error
 * stays set for the caller. */
static void fenced(struct catalog *c, const struct catalog_job *j)
{
    char msg[CATALOG_JOB_ERROR];
    snprintf(msg, sizeof(msg), "%s", tp_err_detail());
    tp_log(TP_LOG_WARN, "job %lld (asset %lld): swap refused (token %lld of %s): %s",
           (long long)j->id, (long long)j->asset_id, (long long)j->token, j->owner, msg);
    char *detail = json_pack_text("{s:I, s:I, s:o}", "job", (json_int_t)j->id, "token",
                                  (json_int_t)j->token, "owner", json_text(j->owner));
    int ret = detail ? catalog_audit(c, j->asset_id, "job.fenced", detail) : TP_ERR(ENOMEM);
    free(detail);
    if (ret < 0)
        tp_log(TP_LOG_WARN, "job %lld: cannot audit the refusal: %s", (long long)j->id,
               tp_err_detail());
    tp_err_set("%s", msg);
}

static int process(struct run *r, struct catalog *c, const struct catalog_job *j,
                   const struct policy *pol, int64_t *px_out);

/* Progress counts work in pixels: an asset's job adds its pixels when it ends. */
int job_process(struct run *r, struct catalog *c, const struct catalog_job *j,
                const struct policy *pol)
{
    int64_t px = 0;
    int ret = process(r, c, j, pol, &px);
    atomic_fetch_add(&r->px_done, px);
    return ret;
}

static int process(struct run *r, struct catalog *c, const struct catalog_job *j,
                   const struct policy *pol, int64_t *px_out)
{
    struct catalog_asset a;
    struct tp_buf res = { 0 };
    struct transcode_outcome oc;
    char json[1024], delete_after[CATALOG_TIME] = "";
    int ret, hang = 0;

    if ((ret = catalog_asset_get(c, j->asset_id, &a)) < 0)
        return ret;
    *px_out = asset_pixels(&a);
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
    if (res.len < sizeof(oc)) {
        tp_err_set("worker answered %zu bytes", res.len);
        ret = TP_ERR_BUG;
        goto end;
    }
    memcpy(&oc, res.data, sizeof(oc));
    oc.hash[sizeof(oc.hash) - 1] = '\0';
    if (!oc.kept) {
        /* the worker's bytes go into the store here, under the address
         * computed here (the worker is not trusted with naming it) */
        struct store *st = NULL;
        sha256_hex(res.data + sizeof(oc), res.len - sizeof(oc), oc.hash);
        oc.bytes = res.len - sizeof(oc);
        if ((ret = store_open(&st, r->o->cfg->store, r->o->cfg)) >= 0)
            ret = store_put_class(st, oc.hash, res.data + sizeof(oc), res.len - sizeof(oc),
                                  t->act.storage_class);
        store_close(&st);
        if (ret < 0)
            goto end;
    } else if (res.len != sizeof(oc)) {
        tp_err_set("worker answered %zu bytes for a kept original", res.len);
        ret = TP_ERR_BUG;
        goto end;
    }
    run_debug_encoded(r, j);
    crash_point("after_encode");
    outcome_json(&oc, json, sizeof(json));
    /* the components rule refused a candidate: say what it would have lost */
    if (oc.refused[0]) {
        char *d = json_pack_text("{s:o}", "lost", json_text(oc.refused));
        ret = d ? catalog_audit(c, a.id, "components.refused", d) : TP_ERR(ENOMEM);
        free(d);
        if (ret < 0)
            goto end;
    }
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
    int64_t partner = 0;
    if ((ret = catalog_pair_get(c, a.id, &partner)) < 0)
        goto end;
    /* one half of a Live Photo never goes alone: its original stays */
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER && !partner)
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
        if (ret == TP_ERR_CONFLICT)
            fenced(c, j);
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
    { "ingest-proxies", ingest_proxies_child }, /* serve's uploads (ingest.c) */
    { NULL, NULL },
};

int job_worker_main(const char *name)
{
    return sandbox_worker_main(name, job_entries);
}

/* The result recorded with a done ingest job (catalog_job_ingest_get reads
 * its "asset"): a string to free(), NULL when out of memory. */
static char *ingest_result_json(const struct ingest_result *res, const char *blob)
{
    json_t *o = json_object();
    int bad = json_set_int(o, "asset", res->asset_id) < 0 || json_set_text(o, "blob", blob) < 0 ||
              json_set_bool(o, "duplicate", res->duplicate) < 0 ||
              json_set_int(o, "proxies", res->n_proxies) < 0;
    char *txt = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return txt;
}

int job_ingest(struct run *r, struct catalog *c, const struct catalog_job *j)
{
    const struct config *cfg = r->o->cfg;
    char name[256], *json = NULL;
    struct catalog_ingest_job ij;
    const char *blob = ij.blob;
    struct store *st = NULL;
    struct tp_buf data = { 0 };
    struct ingest_opts io;
    struct ingest_result res;
    struct home h = { 0 };
    int ret;
    if ((ret = catalog_job_ingest_get(c, j->id, &ij)) < 0 ||
        (ret = store_open(&st, cfg->store, cfg)) < 0)
        goto end;
    if ((ret = store_get_verified(st, blob, &data)) < 0) {
        char why[300];
        snprintf(why, sizeof(why), "%s", tp_err_detail());
        tp_err_set("ingest job %lld: blob %s: %s", (long long)j->id, blob,
                   ret == TP_ERR_NOTFOUND ? "not in the store" : why);
        goto end;
    }
    ingest_defaults(&io);
    if ((ret = ingest_validate(&io)) < 0)
        goto end;
    io.owner = ij.account; /* the uploader's account, never the default */
    /* what the client said of the upload, as a synchronous upload uses it */
    io.file_name = ij.meta.file_name[0] ? ij.meta.file_name : NULL;
    io.external_id = ij.meta.external_id[0] ? ij.meta.external_id : NULL;
    io.capture_time_hint = ij.meta.capture_hint[0] ? ij.meta.capture_hint : NULL;
    h.dir = (char *)cfg->home; /* borrowed: never home_close()d */
    h.cfg = cfg;
    h.cat = c;
    h.store = st;
    if (io.file_name)
        snprintf(name, sizeof(name), "%s", io.file_name);
    else
        snprintf(name, sizeof(name), "blob-%.16s", blob);
    if ((ret = ingest_data(&h, data.data, data.len, name, &io, &res)) < 0)
        goto end;
    if (!(json = ingest_result_json(&res, blob))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    /* the fenced finish: a worker that lost its lease records nothing (the
     * asset it made is the one the new holder finds as a duplicate) */
    if ((ret = catalog_begin(c)) < 0)
        goto end;
    if ((ret = catalog_job_finish(c, j, run_queue_now(r), CATALOG_JOB_DONE, json)) < 0) {
        catalog_rollback(c);
        goto end;
    }
    if ((ret = catalog_commit(c)) < 0)
        goto end;
    atomic_fetch_add(&r->ingested, 1);
    tp_log(TP_LOG_INFO, "job %lld: ingested blob %.12s as asset %lld (%s, %s %dx%d, %d proxies)%s",
           (long long)j->id, blob, (long long)res.asset_id, res.kind, res.format, res.width,
           res.height, res.n_proxies, res.duplicate ? " (already catalogued)" : "");
end:
    free(json);
    buf_free(&data);
    store_close(&st);
    return ret;
}

/* The plan pages through the catalog (catalog_asset_scan, keyset by id):
 * a page of PLAN_PAGE assets is read, then planned in its own short
 * transaction, so memory stays bounded, no transaction spans the catalog,
 * and another runner's plan or claims interleave with this one's pages. */
#define PLAN_PAGE 1000

struct plan_ent {
    struct catalog_asset a; /* the fields plan_one reads */
    struct asset_facts f;
    uint64_t current_bytes; /* what the asset serves now: its original until a swap */
};

struct plan_ctx {
    struct run *r;
    struct catalog *c;
    struct store *st; /* for label-only class changes; opened on first use */
    struct plan_ent *page;
    int n, cap;
    int64_t *q_ids;      /* the page's jobs, enqueued in one statement */
    const char **q_tiers;
    int nq;
    struct catalog_relabel *labels; /* the page's label-only moves, one statement */
    int nl;
    int64_t next_id;  /* the id after the page's last */
    int ret;
};

static int plan_one(struct plan_ctx *pc, const struct plan_ent *e)
{
    const struct catalog_asset *a = &e->a;
    struct asset_facts lead = e->f;
    const struct asset_facts *f = &lead;
    struct run *r = pc->r;
    struct run_summary *s = r->s;
    int ret;
    /* a Live Photo's clip follows its still into the still's tier */
    if ((ret = facts_pair_lead(pc->c, a->id, a->kind, &lead)) < 0)
        return ret;
    s->assets++;
    int t = policy_match(&r->pol, f, r->o->now, NULL);
    if (t < 0) {
        s->unmatched++;
        if (r->o->on_plan)
            r->o->on_plan(r->o->progress_ud, a, NULL, "none");
        return 0;
    }
    s->matched[t]++;
    const struct policy_tier *tier = &r->pol.tiers[t];
    if (!strcmp(a->tier, tier->name)) {
        s->already++;
        if (r->o->on_plan)
            r->o->on_plan(r->o->progress_ud, a, tier->name, "already");
        return 0;
    }
    int transcode = needs_transcode(a, tier);
    if (t < RUN_MAX_TIERS) {
        uint64_t cur = e->current_bytes;
        if (transcode) {
            r->px_total += asset_pixels(a);
            s->plan_jobs[t]++;
            s->plan_job_bytes[t] += cur;
        } else {
            s->plan_labels[t]++;
            s->plan_label_bytes[t] += cur;
        }
    }
    if (r->o->on_plan)
        r->o->on_plan(r->o->progress_ud, a, tier->name, transcode ? "transcode" : "label");
    if (!transcode && !r->o->dry_run && !pc->st &&
        (ret = store_open(&pc->st, r->o->cfg->store, r->o->cfg)) < 0)
        return ret;
    if (!transcode && !r->o->dry_run && !(pc->st->caps & STORE_CAP_CLASSES)) {
        /* classes are catalog labels: the page's moves go in one batch */
        pc->labels[pc->nl++] = (struct catalog_relabel){ a->id, tier->name,
                                                         tier->act.storage_class };
        s->labelled++;
        return 0;
    }
    if (!transcode) {
        /* a label: no codec work, no job needed; the store moves the bytes
         * to the class first, asset by asset */
        if (!r->o->dry_run &&
            ((ret = move_class(r->o->cfg, &pc->st, pc->c, a, tier->act.storage_class)) < 0 ||
             (ret && (ret = catalog_blob_set_class(pc->c, a->current_blob,
                                                   tier->act.storage_class)) < 0) ||
             (ret = catalog_asset_set_tier(pc->c, a->id, tier->name, tier->act.storage_class)) < 0))
            return ret;
        s->labelled++;
        return 0;
    }
    if (r->o->dry_run) {
        s->queued++;
        return 0;
    }
    pc->q_ids[pc->nq] = a->id;
    pc->q_tiers[pc->nq++] = tier->name;
    return 0;
}

/* catalog_asset_scan callback: copies up to cap rows into the page. */
static int page_row(void *ud, const struct catalog_scan_row *r)
{
    struct plan_ctx *pc = ud;
    if (pc->n == pc->cap)
        return 1; /* the page is full: stop the scan */
    struct plan_ent *e = &pc->page[pc->n++];
    memset(&e->a, 0, sizeof(e->a));
    e->a.id = r->id;
    snprintf(e->a.kind, sizeof(e->a.kind), "%s", r->kind);
    snprintf(e->a.format, sizeof(e->a.format), "%s", r->format);
    e->a.width = r->width;
    e->a.height = r->height;
    e->a.bytes = r->bytes;
    snprintf(e->a.capture_time, sizeof(e->a.capture_time), "%s", r->capture_time);
    snprintf(e->a.upload_time, sizeof(e->a.upload_time), "%s", r->upload_time);
    snprintf(e->a.current_blob, sizeof(e->a.current_blob), "%s", r->current_blob);
    snprintf(e->a.original_blob, sizeof(e->a.original_blob), "%s", r->original_blob);
    snprintf(e->a.storage_class, sizeof(e->a.storage_class), "%s", r->storage_class);
    snprintf(e->a.tier, sizeof(e->a.tier), "%s", r->tier);
    snprintf(e->a.original_delete_after, sizeof(e->a.original_delete_after), "%s",
             r->original_delete_after);
    e->current_bytes = r->current_bytes;
    facts_from_scan(r, &e->f);
    pc->next_id = r->id + 1;
    return 0;
}

/* Test hook (deterministic, no timing): TP_FAULT_PLAN_PAUSE=N:FILE makes
 * the plan, after committing its Nth page, create FILE.paused and wait
 * until FILE exists.  TP_FAULT_PLAN_PAGE_ROWS overrides PLAN_PAGE. */
static void plan_pause(int page)
{
    const char *e = getenv("TP_FAULT_PLAN_PAUSE");
    char marker[4200];
    const char *colon = e ? strchr(e, ':') : NULL;
    if (!colon || atoi(e) != page)
        return;
    snprintf(marker, sizeof(marker), "%s.paused", colon + 1);
    int fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    while (access(colon + 1, F_OK) < 0) {
        struct timespec ts = { 0, 20 * 1000000L };
        nanosleep(&ts, NULL);
    }
}

int job_plan(struct run *r, struct catalog *c, const void *policy_text, size_t len)
{
    struct plan_ctx pc = { .r = r, .c = c };
    const char *rows = getenv("TP_FAULT_PLAN_PAGE_ROWS");
    int64_t lo, hi, n;
    int ret = 0, page = 0;
    pc.cap = rows && atoi(rows) > 0 ? atoi(rows) : PLAN_PAGE;
    if (!r->o->dry_run)
        FORWARD_ERR(catalog_policy_put(c, r->policy_hash, r->o->policy_path, policy_text, len));
    FORWARD_ERR(catalog_asset_id_range(c, &lo, &hi, &n));
    if (n == 0)
        return 0;
    pc.page = tp_malloc((size_t)pc.cap * sizeof(*pc.page));
    pc.q_ids = tp_malloc((size_t)pc.cap * sizeof(*pc.q_ids));
    pc.q_tiers = tp_malloc((size_t)pc.cap * sizeof(*pc.q_tiers));
    pc.labels = tp_malloc((size_t)pc.cap * sizeof(*pc.labels));
    if (!pc.page || !pc.q_ids || !pc.q_tiers || !pc.labels) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    pc.next_id = lo;
    while (pc.next_id <= hi) {
        pc.n = 0;
        if ((ret = catalog_asset_scan(c, pc.next_id, hi, page_row, &pc)) < 0)
            break;
        ret = 0;
        if (pc.n == 0)
            break;
        if (!r->o->dry_run && (ret = catalog_begin(c)) < 0)
            break;
        pc.nq = 0;
        pc.nl = 0;
        for (int i = 0; i < pc.n && ret >= 0; i++)
            ret = plan_one(&pc, &pc.page[i]);
        if (ret >= 0 && pc.nl)
            ret = catalog_asset_relabel_batch(c, pc.labels, pc.nl);
        if (ret >= 0 && pc.nq) {
            ret = catalog_job_enqueue_batch(c, pc.q_ids, pc.q_tiers, pc.nq, r->policy_hash,
                                            r->o->max_attempts);
            if (ret > 0)
                r->s->queued += ret;
        }
        if (!r->o->dry_run)
            ret = ret < 0 ? (catalog_rollback(c), ret) : catalog_commit(c);
        if (ret < 0)
            break;
        plan_pause(++page);
    }
end:
    store_close(&pc.st);
    tp_free(pc.page);
    tp_free(pc.q_ids);
    tp_free(pc.q_tiers);
    tp_free(pc.labels);
    return ret < 0 ? ret : 0;
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "";
}

/* The one JSON form of a run's summary (run --json, worker --json; keys in
 * docs/json.md).  Caller owns the result; NULL on out of memory. */
static json_t *run_summary_json(const struct run_summary *s)
{
    json_t *o = json_object(), *matched = json_object(), *plan = json_object(), *fails = json_array();
    int bad = !o || !matched || !plan || !fails;
    for (int i = 0; !bad && i < s->ntiers && i < RUN_MAX_TIERS; i++) {
        bad |= json_object_set_new(matched, s->tier_names[i], json_integer(s->matched[i])) < 0;
        bad |= json_object_set_new(plan, s->tier_names[i],
                                   json_pack("{s:I,s:I,s:I,s:I,s:I}", "assets",
                                             (json_int_t)s->matched[i], "transcode",
                                             (json_int_t)s->plan_jobs[i], "transcode_bytes",
                                             (json_int_t)s->plan_job_bytes[i], "relabel",
                                             (json_int_t)s->plan_labels[i], "relabel_bytes",
                                             (json_int_t)s->plan_label_bytes[i])) < 0;
    }
    for (int64_t i = 0; !bad && i < s->nfailures && i < RUN_MAX_FAILURES; i++) {
        const struct run_failure *x = &s->failures[i];
        json_t *e = json_pack("{s:I,s:I,s:s,s:s,s:i,s:i}", "job", (json_int_t)x->job, "asset",
                              (json_int_t)x->asset, "state", x->state, "class",
                              x->permanent ? "permanent" : "temporary", "attempts", x->attempts,
                              "max_attempts", x->max_attempts);
        bad |= !e || json_set_text(e, "error", x->error) < 0 || json_array_append_new(fails, e) < 0;
    }
    if (bad) {
        json_decref(o);
        json_decref(matched);
        json_decref(plan);
        json_decref(fails);
        return NULL;
    }
    bad |= json_set_int(o, "assets", s->assets);
    bad |= json_object_set_new(o, "matched", matched);
    bad |= json_set_int(o, "unmatched", s->unmatched);
    bad |= json_set_int(o, "already", s->already);
    bad |= json_set_int(o, "queued", s->queued);
    bad |= json_set_int(o, "labelled", s->labelled);
    bad |= json_set_int(o, "transcoded", s->transcoded);
    bad |= json_set_int(o, "kept", s->kept);
    bad |= json_set_int(o, "failed", s->failed);
    bad |= json_set_int(o, "bytes_before", (long long)s->bytes_before);
    bad |= json_set_int(o, "bytes_after", (long long)s->bytes_after);
    bad |= json_set_int(o, "bytes_saved", (long long)s->bytes_before - (long long)s->bytes_after);
    bad |= json_set_real(o, "seconds", round(s->seconds * 100) / 100);
    bad |= json_set_text(o, "policy_sha256", s->policy_sha256);
    bad |= json_set_int(o, "retried", s->retried);
    bad |= json_set_int(o, "failed_permanent", s->failed_permanent);
    bad |= json_set_int(o, "dead", s->dead);
    bad |= json_set_int(o, "released", s->released);
    bad |= json_set_int(o, "lost", s->lost);
    bad |= json_set_int(o, "time_limit_s", s->time_limit);
    bad |= json_set_int(o, "max_attempts", s->max_attempts);
    bad |= json_set_text(o, "stopped_by", s->stop_signal ? signal_name(s->stop_signal) : NULL);
    bad |= json_set_int(o, "jobs_with_errors", s->nfailures);
    bad |= json_object_set_new(o, "plan", plan);
    if (s->has_store) {
        const struct catalog_footprint *fp = &s->store;
        json_t *st = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "as_of", s->store_now, "blobs",
                               (json_int_t)fp->blobs, "bytes", (json_int_t)fp->bytes,
                               "referenced_bytes", (json_int_t)fp->referenced_bytes, "held_bytes",
                               (json_int_t)fp->held_bytes, "held_originals", (json_int_t)fp->held);
        bad |= !st || json_set_text(st, "held_until", fp->held_until) < 0 ||
               json_set_int(st, "unreferenced_bytes", (long long)fp->unreferenced_bytes) < 0 ||
               json_set_int(st, "due_bytes", (long long)fp->due_bytes) < 0 ||
               json_set_int(st, "freed_by_next_gc_bytes",
                            (long long)(fp->unreferenced_bytes + fp->due_bytes)) < 0 ||
               json_object_set_new(o, "store", st) < 0;
    }
    bad |= json_object_set_new(o, "failures", fails);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void run_summary_print(FILE *f, const struct run_summary *s, int json)
{
    if (json) {
        if (json_print(f, run_summary_json(s)) < 0)
            tp_log(TP_LOG_ERROR, "run: out of memory writing the JSON summary");
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
    if (!s->dry_run) /* a dry run did none of these: its plan follows */
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
    char b1[UNITS_LEN], b2[UNITS_LEN], b3[UNITS_LEN];
    if (s->dry_run || s->queued) {
        for (int i = 0; i < s->ntiers && i < RUN_MAX_TIERS; i++)
            if (s->plan_jobs[i] || s->plan_labels[i])
                fprintf(f, "%s tier %s: %lld to transcode (%s), %lld to relabel (%s)\n",
                        s->dry_run ? "plan:" : "planned:", s->tier_names[i],
                        (long long)s->plan_jobs[i], units_bytes(s->plan_job_bytes[i], b1, sizeof(b1)),
                        (long long)s->plan_labels[i],
                        units_bytes(s->plan_label_bytes[i], b2, sizeof(b2)));
    }
    if (s->bytes_before)
        fprintf(f, "transcoded assets: %s -> %s (%.1f%%, %s saved) in %.1f s\n",
                units_bytes(s->bytes_before, b1, sizeof(b1)), units_bytes(s->bytes_after, b2, sizeof(b2)),
                100.0 * (double)s->bytes_after / (double)s->bytes_before,
                units_bytes_signed((int64_t)s->bytes_before - (int64_t)s->bytes_after, b3, sizeof(b3)),
                s->seconds);
    else
        fprintf(f, "in %.1f s\n", s->seconds);
    if (s->has_store) {
        const struct catalog_footprint *fp = &s->store;
        fprintf(f, "store: %s in %lld blob(s): %s referenced", units_bytes(fp->bytes, b1, sizeof(b1)),
                (long long)fp->blobs, units_bytes(fp->referenced_bytes, b2, sizeof(b2)));
        if (fp->held)
            fprintf(f, ", %s held for grace (%lld replaced original(s), until %s: freed by "
                       "`gc` after then)", units_bytes(fp->held_bytes, b1, sizeof(b1)),
                    (long long)fp->held, fp->held_until);
        fprintf(f, "; freed by the next `gc`: %s (%s unreferenced, %s of originals past "
                   "their grace as of %s)\n",
                units_bytes(fp->unreferenced_bytes + fp->due_bytes, b1, sizeof(b1)),
                units_bytes(fp->unreferenced_bytes, b2, sizeof(b2)),
                units_bytes(fp->due_bytes, b3, sizeof(b3)), s->store_now);
    }
}
