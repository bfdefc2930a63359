/* The simulator's sample (see sim_int.h): pass 1 over the catalog (a
 * bottom-k sample per (tier, stratum) cell and a bounded census of distinct
 * blobs) and the transcodes of the sample, by the runner's own pipeline
 * into the null store. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "facts.h"
#include "log.h"
#include "mem.h"
#include "sim_int.h"
#include "store.h"
#include "timeutil.h"
#include "transcode.h"

/* The facts k months from now with no new accesses: the windows slide past
 * the recorded events (assumed spread evenly over their window). */
static void age_facts(const struct asset_facts *f0, int k, struct asset_facts *f)
{
    int64_t dt = (int64_t)k * MONTH_DAYS;
    *f = *f0;
    if (k == 0)
        return;
    f->count_30d = dt >= 30 ? 0 : f0->count_30d * (30 - dt) / 30;
    f->count_90d = dt >= 90 ? 0 : f0->count_90d * (90 - dt) / 90;
    f->count_365d = dt >= 365 ? 0 : f0->count_365d * (365 - dt) / 365;
}

int sim_match_at(const struct ctx *c, const struct asset_facts *f0, int k)
{
    struct asset_facts f;
    int t;
    age_facts(f0, k, &f);
    t = policy_match(c->p, &f, c->o->now + (int64_t)k * MONTH_DAYS * DAY, NULL);
    return t < 0 ? c->unmatched : t;
}

/* ---- pass 1: sampling -------------------------------------------------- */

static void heap_push(struct cell1 *cl, int cap, const struct sample_ent *e)
{
    struct sample_ent *h = cl->heap;
    int i;
    if (cl->nheap < cap) {
        i = cl->nheap++;
        while (i > 0 && h[(i - 1) / 2].key < e->key) {
            h[i] = h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        h[i] = *e;
        return;
    }
    if (e->key >= h[0].key)
        return;
    /* replace the largest and sift down */
    i = 0;
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        uint64_t mk = e->key;
        if (l < cap && h[l].key > mk) {
            m = l;
            mk = h[l].key;
        }
        if (r < cap && h[r].key > mk)
            m = r;
        if (m == i)
            break;
        h[i] = h[m];
        i = m;
    }
    h[i] = *e;
}

void sim_census_add(struct job *j, const struct sample_ent *e, int tier, int stratum)
{
    uint64_t key = (blob_key(e->blob) ^ mix64((uint64_t)tier + 1)) | 1;
    size_t cap = CENSUS_MAX * 2, i = key & (cap - 1);
    if (j->census_over)
        return;
    for (;; i = (i + 1) & (cap - 1)) {
        struct census_ent *ce = &j->census[i];
        if (!ce->key) {
            if (j->ncensus >= CENSUS_MAX) {
                j->census_over = 1;
                return;
            }
            ce->key = key;
            ce->tier = tier;
            ce->stratum = stratum;
            memcpy(ce->blob, e->blob, sizeof(ce->blob));
            memcpy(ce->format, e->format, sizeof(ce->format));
            memcpy(ce->kind, e->kind, sizeof(ce->kind));
            ce->bytes = e->bytes;
            ce->mp = e->mp;
            ce->count = 1;
            j->ncensus++;
            return;
        }
        if (ce->key == key && ce->tier == tier && !strcmp(ce->blob, e->blob)) {
            ce->count++;
            return;
        }
    }
}

int sim_pass1_row(void *ud, const struct catalog_scan_row *r)
{
    struct job *j = ud;
    struct ctx *c = j->c;
    struct asset_facts f;
    uint64_t seen = 0;
    struct sample_ent e;
    int filled = 0;

    j->rows++;
    if (already_replaced(r))
        return 0;
    facts_from_scan(r, &f);
    int ret = facts_pair_lead(j->cat, r->id, r->kind, &f); /* a clip goes with its still */
    if (ret < 0)
        return ret;
    for (int k = 0; k <= c->months; k++) {
        int t = sim_match_at(c, &f, k);
        if (!tier_transcodes(c->p, t) || (seen >> t & 1))
            continue;
        seen |= 1ull << t;
        if (!filled) {
            memset(&e, 0, sizeof(e));
            e.id = r->id;
            snprintf(e.blob, sizeof(e.blob), "%s", source_blob(r));
            snprintf(e.format, sizeof(e.format), "%s", r->format);
            snprintf(e.kind, sizeof(e.kind), "%s", r->kind);
            e.bytes = (double)r->bytes;
            e.mp = (double)r->width * r->height / 1e6;
            filled = 1;
        }
        int s = sim_stratum_of(r->kind, r->format, e.bytes, r->components);
        struct cell1 *cl = &j->cells[t * NSTRATA + s];
        cl->n++;
        cl->bytes += e.bytes;
        if (!cl->heap && !(cl->heap = tp_calloc((size_t)c->k, sizeof(*cl->heap)))) {
            tp_err_set("out of memory for the sample");
            return TP_ERR(ENOMEM);
        }
        e.key = mix64(c->o->seed * 0x9e3779b97f4a7c15ull ^ mix64((uint64_t)r->id) ^ (uint64_t)t);
        heap_push(cl, c->k, &e);
        sim_census_add(j, &e, t, s);
    }
    if (j->idx == 0 && c->o->progress && (j->rows & 0xfffff) == 0)
        c->o->progress(c->o->progress_ud, "sampling scan", j->rows * (int64_t)c->o->jobs,
                       c->total_assets);
    return 0;
}

/* ---- transcoding the sample ------------------------------------------- */

/* Transcodes one blob with tier t's settings exactly as the runner's encode
 * child does (transcode_asset, src/pipeline/transcode.c), into the null
 * store; fills re.  bytes: the catalog's size of the blob, used when the
 * tier has no codec work for this kind (nothing is read then). */
int sim_transcode_one(struct ctx *c, int t, const char *kind, double bytes,
                         struct result_ent *re)
{
    struct transcode_outcome oc;
    double t0 = cpu_s();
    int ret = transcode_asset(c->o->store, c->sink, -1, kind, re->blob, &c->p->tiers[t], 0, &oc);
    re->cpu = cpu_s() - t0;
    re->before = re->after = bytes;
    if (ret < 0) {
        /* the runner would fail the job and leave the asset as it is */
        char msg[512];
        tp_log(TP_LOG_WARN, "simulate: transcoding blob %.12s failed (counted as kept): %s",
               re->blob, tp_strerror(ret, msg, sizeof(msg)));
        re->failed = 1;
        tp_err_clear();
        return 0;
    }
    if (oc.in_bytes)
        re->before = re->after = (double)oc.in_bytes;
    if (!oc.kept) {
        re->after = (double)oc.bytes;
        re->swapped = 1;
    }
    return 0;
}

struct result_ent *sim_result_slot(struct ctx *c, const char *blob, int tier)
{
    uint64_t key = (blob_key(blob) ^ mix64((uint64_t)tier + 1)) | 1;
    for (size_t i = key & (c->res_cap - 1);; i = (i + 1) & (c->res_cap - 1)) {
        struct result_ent *re = &c->res[i];
        if (!re->key || (re->key == key && re->tier == tier && !strcmp(re->blob, blob))) {
            re->key = key;
            re->tier = tier;
            memcpy(re->blob, blob, sizeof(re->blob));
            return re;
        }
    }
}

int sim_cmp_key(const void *a, const void *b)
{
    const struct sample_ent *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* ---- results ---------------------------------------------------------- */

const struct result_ent *sim_result_find(const struct ctx *c, const char *blob, int tier)
{
    if (!c->res_cap)
        return NULL;
    uint64_t key = (blob_key(blob) ^ mix64((uint64_t)tier + 1)) | 1;
    for (size_t i = key & (c->res_cap - 1);; i = (i + 1) & (c->res_cap - 1)) {
        const struct result_ent *re = &c->res[i];
        if (!re->key)
            return NULL;
        if (re->key == key && re->tier == tier && !strcmp(re->blob, blob))
            return re->used ? re : NULL;
    }
}
