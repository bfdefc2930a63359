/* The policy dry-run (see sim.h; its parts: sim_int.h).  Two streaming passes over the catalog:
 *   1. sampling: which (tier, stratum) cells the assets reach during the
 *      projection, a bottom-k sample per cell (the k smallest seeded hash
 *      keys: a simple random sample that does not depend on scan order or
 *      on the number of threads) and a bounded census of distinct blobs;
 *   then the sampled blobs are transcoded in memory, once per (blob, tier);
 *   2. accounting: every asset's bytes and costs now, after the run and
 *      month by month, with the per-cell estimates from the sample.
 * Memory is bounded by the number of cells and the sample size, never by
 * the number of assets. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "sim_int.h"
#include "store.h"

/* ---- threads ----------------------------------------------------------- */

static void *job_main(void *arg)
{
    struct job *j = arg;
    struct catalog *cat = NULL;
    int ret = catalog_open(&cat, j->c->o->catalog_uri, CATALOG_OPEN_READONLY);
    j->cat = cat;
    if (ret >= 0)
        ret = catalog_asset_scan(cat, j->lo, j->hi, j->pass == 1 ? sim_pass1_row : sim_pass2_row, j);
    j->cat = NULL;
    if (ret < 0)
        snprintf(j->err, sizeof(j->err), "%s", tp_err_detail());
    j->ret = ret;
    catalog_close(&cat);
    return NULL;
}

static int run_pass(struct ctx *c, struct job *jobs, int njobs, int pass, int64_t lo, int64_t hi)
{
    pthread_t th[MAX_JOBS];
    int started = 0, ret = 0;
    int64_t span = hi - lo + 1, step = span / njobs + 1;
    for (int i = 0; i < njobs; i++) {
        jobs[i].c = c;
        jobs[i].idx = i;
        jobs[i].pass = pass;
        jobs[i].lo = lo + step * i;
        jobs[i].hi = i == njobs - 1 ? hi : lo + step * (i + 1) - 1;
        jobs[i].rows = 0;
        jobs[i].pairs = 0;
        jobs[i].ret = 0;
    }
    for (int i = 1; i < njobs; i++) {
        if (pthread_create(&th[i], NULL, job_main, &jobs[i]) != 0) {
            jobs[i].ret = TP_ERR(EAGAIN);
            snprintf(jobs[i].err, sizeof(jobs[i].err), "cannot start a scan thread");
            break;
        }
        started = i;
    }
    job_main(&jobs[0]);
    for (int i = 1; i <= started; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < njobs; i++) {
        if (jobs[i].ret < 0 && !ret) {
            ret = jobs[i].ret;
            tp_err_set("%s", jobs[i].err);
        }
    }
    return ret;
}

/* ---- the run ----------------------------------------------------------- */

void sim_opts_defaults(struct sim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->months = 12;
    o->sample = 50;
    o->seed = 1;
    o->jobs = 2;
}

void sim_result_free(struct sim_result *res)
{
    if (res)
        tp_freep(&res->months);
}

static void free_jobs(struct ctx *c, struct job *jobs, int njobs)
{
    for (int i = 0; i < njobs; i++) {
        if (jobs[i].cells)
            for (int k = 0; k < c->ntiers * NSTRATA; k++)
                tp_free(jobs[i].cells[k].heap);
        tp_freep(&jobs[i].cells);
        tp_freep(&jobs[i].census);
        tp_freep(&jobs[i].months);
        tp_freep(&jobs[i].cell_n0);
        tp_freep(&jobs[i].cell_best);
    }
}

static void finish_tier(struct sim_tier *st)
{
    st->one_off_usd = st->compute_usd + st->early_delete_usd + st->requests_usd + st->grace_usd;
    st->saving_month = st->cost_before_month + st->retrieval_before_month - st->cost_after_month -
                       st->retrieval_after_month;
    if (st->saving_month > 1e-12)
        st->payback_months = st->one_off_usd / st->saving_month;
    else /* no saving: never (nothing to pay back when nothing changes: 0) */
        st->payback_months = st->one_off_usd > 0 || st->saving_month < -1e-12 ? -1 : 0;
    for (int a = 0; a < SIM_NALT; a++) {
        struct sim_alt *al = &st->alt[a];
        al->saving_month = st->cost_before_month + st->retrieval_before_month - al->month_usd;
        if (al->saving_month > 1e-12)
            al->payback_months = al->one_off_usd / al->saving_month;
        else
            al->payback_months = al->one_off_usd > 0 || al->saving_month < -1e-12 ? -1 : 0;
    }
}

static void add_tier(struct sim_tier *d, const struct sim_tier *s)
{
    d->assets += s->assets;
    d->bytes_before += s->bytes_before;
    d->bytes_after += s->bytes_after;
    d->swapped += s->swapped;
    d->originals_kept_bytes += s->originals_kept_bytes;
    d->grace_bytes += s->grace_bytes;
    d->megapixels += s->megapixels;
    d->cost_before_month += s->cost_before_month;
    d->cost_after_month += s->cost_after_month;
    d->retrieval_gb_month += s->retrieval_gb_month;
    d->retrieval_before_month += s->retrieval_before_month;
    d->retrieval_after_month += s->retrieval_after_month;
    d->compute_cpu_hours += s->compute_cpu_hours;
    d->compute_usd += s->compute_usd;
    d->early_delete_usd += s->early_delete_usd;
    d->requests_usd += s->requests_usd;
    d->grace_usd += s->grace_usd;
    d->jpeg_bytes += s->jpeg_bytes;
    d->jpeg_megapixels += s->jpeg_megapixels;
    for (int a = 0; a < SIM_NALT; a++) {
        d->alt[a].bytes_after += s->alt[a].bytes_after;
        d->alt[a].compute_usd += s->alt[a].compute_usd;
        d->alt[a].one_off_usd += s->alt[a].one_off_usd;
        d->alt[a].month_usd += s->alt[a].month_usd;
    }
}

int sim_run(const struct sim_opts *o, struct sim_result *res)
{
    struct ctx c;
    struct job jobs[MAX_JOBS];
    int njobs = o->jobs < 1 ? 1 : o->jobs > MAX_JOBS ? MAX_JOBS : o->jobs;
    int64_t lo, hi, n;
    struct catalog *cat = NULL;
    struct sample_ent *pool = NULL;
    int ret, ncell;
    double t0 = now_s();

    memset(res, 0, sizeof(*res));
    memset(&c, 0, sizeof(c));
    memset(jobs, 0, sizeof(jobs));
    RETURN_ERR_IF(!o->policy || !o->prices || !o->catalog_uri || !o->store, TP_ERR(EINVAL),
                  "simulate: missing policy, prices, catalog or store");
    RETURN_ERR_IF(o->months < 0 || o->months > SIM_MAX_MONTHS, TP_ERR(EINVAL),
                  "simulate: months must be 0..%d", SIM_MAX_MONTHS);
    RETURN_ERR_IF(o->sample < 0 || o->sample > SIM_MAX_SAMPLE, TP_ERR(EINVAL),
                  "simulate: sample must be 0..%d", SIM_MAX_SAMPLE);
    c.o = o;
    c.p = o->policy;
    c.ntiers = o->policy->ntiers + 1;
    c.unmatched = o->policy->ntiers;
    c.months = o->months;
    c.k = o->sample > 0 ? o->sample : 1;
    ncell = c.ntiers * NSTRATA;
    for (int t = 0; t < o->policy->ntiers; t++) {
        const struct policy_tier *pt = &o->policy->tiers[t];
        c.tier_pc[t] = prices_find(o->prices, pt->act.storage_class);
        RETURN_ERR_IF(!c.tier_pc[t], TP_ERR_INVALIDDATA,
                      "simulate: tier '%s' uses storage class %s, which the price sheet lacks",
                      pt->name, pt->act.storage_class);
        if (tier_transcodes(o->policy, t))
            c.transcodes = 1;
    }
    RETURN_ERR_IF(!prices_find(o->prices, "STANDARD"), TP_ERR_INVALIDDATA,
                  "simulate: the price sheet has no STANDARD class");
    c.std_gb_month = prices_find(o->prices, "STANDARD")->storage_gb_month;

    if ((ret = catalog_open(&cat, o->catalog_uri, CATALOG_OPEN_READONLY)) < 0)
        return ret;
    ret = catalog_asset_id_range(cat, &lo, &hi, &n);
    catalog_close(&cat);
    if (ret < 0)
        return ret;
    c.total_assets = n;

    res->ntiers = c.ntiers;
    res->nmonths = o->months + 1;
    res->now = o->now;
    res->seed = o->seed;
    res->ci_level = 0.95;
    res->months_requested = o->months;
    res->sample_requested = o->sample;
    res->method = !c.transcodes ? SIM_METHOD_NONE : o->sample == 0 ? SIM_METHOD_TABLE : SIM_METHOD_SAMPLE;
    if (!(res->months = tp_calloc((size_t)res->nmonths, sizeof(*res->months))) ||
        !(c.est = tp_calloc((size_t)ncell, sizeof(*c.est)))) {
        ret = TP_ERR(ENOMEM);
        goto fail;
    }
    for (int i = 0; i < ncell; i++)
        c.est[i].from_table = 1;

    /* ---- pass 1 and the transcodes ---- */
    if (n > 0 && c.transcodes && o->sample > 0) {
        if ((ret = store_null_open(&c.sink)) < 0)
            goto fail;
        int ncensus_total = 0, over = 0, npool = 0, want_total = 0;
        for (int i = 0; i < njobs; i++) {
            if (!(jobs[i].cells = tp_calloc((size_t)ncell, sizeof(*jobs[i].cells))) ||
                !(jobs[i].census = tp_calloc(CENSUS_MAX * 2, sizeof(*jobs[i].census)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
        }
        if ((ret = run_pass(&c, jobs, njobs, 1, lo, hi)) < 0)
            goto fail;
        /* merge the census: distinct (blob, tier) over all threads */
        struct census_ent *census = jobs[0].census;
        over = jobs[0].census_over;
        for (int i = 1; i < njobs && !over; i++) {
            over |= jobs[i].census_over;
            for (size_t s = 0; s < CENSUS_MAX * 2 && !over; s++) {
                struct census_ent *ce = &jobs[i].census[s];
                if (!ce->key)
                    continue;
                struct sample_ent e;
                memset(&e, 0, sizeof(e));
                memcpy(e.blob, ce->blob, sizeof(e.blob));
                memcpy(e.format, ce->format, sizeof(e.format));
                memcpy(e.kind, ce->kind, sizeof(e.kind));
                e.bytes = ce->bytes;
                e.mp = ce->mp;
                int64_t cnt = ce->count;
                sim_census_add(&jobs[0], &e, ce->tier, ce->stratum);
                /* sim_census_add counted one; add the rest */
                uint64_t key = (blob_key(e.blob) ^ mix64((uint64_t)ce->tier + 1)) | 1;
                for (size_t q = key & (CENSUS_MAX * 2 - 1);; q = (q + 1) & (CENSUS_MAX * 2 - 1)) {
                    if (!census[q].key)
                        break;
                    if (census[q].key == key && census[q].tier == ce->tier &&
                        !strcmp(census[q].blob, e.blob)) {
                        census[q].count += cnt - 1;
                        break;
                    }
                }
                over |= jobs[0].census_over;
            }
        }
        ncensus_total = jobs[0].ncensus;
        res->census_complete = !over;
        /* merge the cells */
        for (int h = 0; h < ncell; h++) {
            struct cell_est *ce = &c.est[h];
            for (int i = 0; i < njobs; i++) {
                ce->big_n += jobs[i].cells[h].n;
                ce->sum_b += jobs[i].cells[h].bytes; /* population bytes for now */
            }
        }
        if (!over && ncensus_total <= o->sample) {
            /* exhaustive: every distinct (blob, tier) gets transcoded */
            res->method = SIM_METHOD_EXACT;
            c.res_cap = 16;
            while (c.res_cap < (size_t)ncensus_total * 2 + 2)
                c.res_cap *= 2;
            if (!(c.res = tp_calloc(c.res_cap, sizeof(*c.res)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
            int done = 0;
            for (size_t s = 0; s < CENSUS_MAX * 2; s++) {
                struct census_ent *ce = &census[s];
                if (!ce->key)
                    continue;
                struct result_ent *re = sim_result_slot(&c, ce->blob, ce->tier);
                if (o->progress)
                    o->progress(o->progress_ud, "transcoding", done, ncensus_total);
                if ((ret = sim_transcode_one(&c, ce->tier, ce->kind, ce->bytes, re)) < 0)
                    goto fail;
                re->used = 1;
                res->transcode_failures += re->failed;
                res->cpu_seconds_sampled += re->cpu;
                res->sampled_assets += (int)ce->count;
                res->tiers[ce->tier].sampled += (int)ce->count;
                done++;
            }
            res->transcoded = done;
        } else {
            /* allocation in proportion to bytes, at least 2 per cell */
            double tot_b = 0;
            int want[SIM_MAX_TIERS * NSTRATA];
            for (int h = 0; h < ncell; h++)
                tot_b += c.est[h].sum_b;
            for (int h = 0; h < ncell; h++) {
                int64_t N = c.est[h].big_n;
                int w = tot_b > 0 ? (int)llround(o->sample * c.est[h].sum_b / tot_b) : 0;
                if (w < 2)
                    w = 2;
                if (w > o->sample)
                    w = o->sample;
                if (w > N)
                    w = (int)N;
                want[h] = w;
                want_total += w;
            }
            if (!(pool = tp_calloc((size_t)njobs * (size_t)c.k, sizeof(*pool)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
            c.res_cap = 16;
            while (c.res_cap < (size_t)want_total * 2 + 2)
                c.res_cap *= 2;
            if (!(c.res = tp_calloc(c.res_cap, sizeof(*c.res)))) {
                ret = TP_ERR(ENOMEM);
                goto fail;
            }
            int done = 0;
            for (int h = 0; h < ncell; h++) {
                struct cell_est *ce = &c.est[h];
                int t = h / NSTRATA;
                if (!want[h])
                    continue;
                npool = 0;
                for (int i = 0; i < njobs; i++)
                    for (int q = 0; q < jobs[i].cells[h].nheap; q++)
                        pool[npool++] = jobs[i].cells[h].heap[q];
                qsort(pool, (size_t)npool, sizeof(*pool), sim_cmp_key);
                if (npool > want[h])
                    npool = want[h];
                ce->sum_b = 0;
                for (int q = 0; q < npool; q++) {
                    struct result_ent *re = sim_result_slot(&c, pool[q].blob, t);
                    if (!re->used && o->budget_cpu > 0 && res->cpu_seconds_sampled >= o->budget_cpu) {
                        res->budget_reached = 1; /* the rest of this cell and the next: table */
                        npool = q;
                        break;
                    }
                    if (!re->used) {
                        if (o->progress)
                            o->progress(o->progress_ud, "transcoding", done, want_total);
                        if ((ret = sim_transcode_one(&c, t, pool[q].kind, pool[q].bytes, re)) < 0)
                            goto fail;
                        re->used = 1;
                        res->transcode_failures += re->failed;
                        res->cpu_seconds_sampled += re->cpu;
                        res->transcoded++;
                    }
                    done++;
                    ce->n++;
                    ce->sum_a += re->after;
                    ce->sum_b += pool[q].bytes;
                    ce->swapped_b += re->swapped * pool[q].bytes;
                    ce->cpu += re->cpu;
                    ce->mp += pool[q].mp;
                }
                res->sampled_assets += npool;
                /* the variance needs two different blobs: the same blob twice
                 * says nothing about the spread */
                int distinct = 0;
                for (int q = 0; q < npool && distinct < 2; q++)
                    distinct = q > 0 && strcmp(pool[q].blob, pool[0].blob) ? 2 : 1;
                ce->distinct = distinct;
                if (ce->n > 0 && ce->sum_b > 0) {
                    ce->from_table = 0;
                    ce->ratio = ce->sum_a / ce->sum_b;
                    ce->swap_frac = ce->swapped_b / ce->sum_b;
                    ce->cpu_per_mp = ce->mp > 0 ? ce->cpu / ce->mp : 0;
                    /* residuals for the variance */
                    for (int q = 0; q < npool; q++) {
                        const struct result_ent *re = sim_result_find(&c, pool[q].blob, t);
                        double e = re->after - ce->ratio * pool[q].bytes;
                        ce->sum_e2 += e * e;
                    }
                }
            }
        }
    }
    res->transcode_seconds = now_s() - t0;

    /* ---- pass 2 ---- */
    t0 = now_s();
    for (int i = 0; i < njobs; i++) {
        if (!(jobs[i].months = tp_calloc((size_t)res->nmonths, sizeof(*jobs[i].months))) ||
            !(jobs[i].cell_n0 = tp_calloc((size_t)ncell, sizeof(double))) ||
            !(jobs[i].cell_best = tp_calloc((size_t)ncell, sizeof(double)))) {
            ret = TP_ERR(ENOMEM);
            goto fail;
        }
    }
    if (n > 0 && (ret = run_pass(&c, jobs, njobs, 2, lo, hi)) < 0)
        goto fail;
    res->scan_seconds = now_s() - t0;
    for (int i = 0; i < njobs; i++)
        res->pairs += jobs[i].pairs;

    /* ---- merge and estimate ---- */
    for (int t = 0; t < c.ntiers; t++) {
        struct sim_tier *st = &res->tiers[t];
        for (int i = 0; i < njobs; i++)
            add_tier(st, &jobs[i].tiers[t]);
        if (t < c.unmatched) {
            const struct policy_actions *act = &o->policy->tiers[t].act;
            snprintf(st->name, sizeof(st->name), "%s", o->policy->tiers[t].name);
            snprintf(st->storage_class, sizeof(st->storage_class), "%s", act->storage_class);
            st->mode = policy_mode_name(act->transcode.mode);
            st->original = policy_original_name(act->original);
            st->grace_days = act->original == POLICY_ORIGINAL_DELETE_AFTER ? act->delete_after_days : 0;
        } else {
            snprintf(st->name, sizeof(st->name), "(unmatched)");
            st->mode = "none";
            st->original = "keep";
        }
    }
    {
        double var_total = 0, rlo_total = 0, rhi_total = 0, var_t[SIM_MAX_TIERS];
        int df = 0;
        for (int t = 0; t < c.ntiers; t++) {
            struct sim_tier *st = &res->tiers[t];
            double var = 0, rlo = 0, rhi = 0;
            for (int s = 0; s < NSTRATA; s++) {
                int h = t * NSTRATA + s;
                struct cell_est *ce = &c.est[h];
                double n0 = 0, best = 0;
                for (int i = 0; i < njobs; i++) {
                    n0 += jobs[i].cell_n0[h];
                    best += jobs[i].cell_best[h];
                }
                if (n0 <= 0)
                    continue;
                if (!ce->from_table && ce->n >= 2 && ce->distinct >= 2) {
                    double N = (double)(ce->big_n > 0 ? ce->big_n : 1), nn = ce->n;
                    double fpc = 1 - nn / N;
                    if (fpc < 0)
                        fpc = 0;
                    var += n0 * n0 * fpc / nn * (ce->sum_e2 / (nn - 1));
                    df += ce->n - 1;
                    st->sampled += ce->n;
                } else {
                    /* one sampled asset or none: the table's range */
                    const char *skind, *sformat;
                    int sparts;
                    sim_stratum_format(s, &skind, &sformat, &sparts);
                    const struct sim_ratio *sr = sim_ratio_for_parts(
                        &o->policy->tiers[t].act.transcode, skind, sformat, sparts);
                    double r = ce->from_table ? sr->ratio : ce->ratio;
                    rlo += best * (r - (sr->lo < r ? sr->lo : r));
                    rhi += best * ((sr->hi > r ? sr->hi : r) - r);
                    st->table_cells++;
                    st->sampled += ce->n;
                }
            }
            var_total += var;
            rlo_total += rlo;
            rhi_total += rhi;
            /* the t half-width is added below, once df is known */
            st->bytes_after_lo = st->bytes_after - rlo;
            st->bytes_after_hi = st->bytes_after + rhi;
            var_t[t] = var;
        }
        res->df = df;
        res->t_quantile = sim_t95(df);
        for (int t = 0; t < c.ntiers; t++) {
            struct sim_tier *st = &res->tiers[t];
            double hw = res->t_quantile * sqrt(var_t[t]);
            st->bytes_after_lo -= hw;
            st->bytes_after_hi += hw;
            if (st->bytes_after_lo < 0)
                st->bytes_after_lo = 0;
            if (st->bytes_after_hi > st->bytes_before)
                st->bytes_after_hi = st->bytes_before > st->bytes_after ? st->bytes_before : st->bytes_after;
            if (st->bytes_after_lo > st->bytes_after)
                st->bytes_after_lo = st->bytes_after;
            finish_tier(st);
            add_tier(&res->total, st);
            res->assets += st->assets;
        }
        snprintf(res->total.name, sizeof(res->total.name), "total");
        res->total.mode = "";
        res->total.original = "";
        double hw = res->t_quantile * sqrt(var_total);
        res->total.bytes_after_lo = res->total.bytes_after - rlo_total - hw;
        res->total.bytes_after_hi = res->total.bytes_after + rhi_total + hw;
        if (res->total.bytes_after_lo < 0)
            res->total.bytes_after_lo = 0;
        if (res->total.bytes_after_lo > res->total.bytes_after)
            res->total.bytes_after_lo = res->total.bytes_after;
        if (res->total.bytes_after_hi < res->total.bytes_after)
            res->total.bytes_after_hi = res->total.bytes_after;
        finish_tier(&res->total);
    }
    {
        double cum = 0;
        for (int k = 0; k < res->nmonths; k++) {
            struct sim_month *m = &res->months[k];
            for (int i = 0; i < njobs; i++) {
                const struct sim_month *jm = &jobs[i].months[k];
                m->bytes_stored += jm->bytes_stored;
                m->storage_usd += jm->storage_usd;
                m->retrieval_usd += jm->retrieval_usd;
                m->one_off_usd += jm->one_off_usd;
                m->baseline_usd += jm->baseline_usd;
                for (int t = 0; t < c.ntiers; t++) {
                    m->assets[t] += jm->assets[t];
                    m->bytes[t] += jm->bytes[t];
                }
            }
            cum += m->baseline_usd - m->storage_usd - m->retrieval_usd - m->one_off_usd;
            m->cumulative_saving_usd = cum;
        }
    }
    ret = 0;
fail:
    store_close(&c.sink);
    free_jobs(&c, jobs, njobs);
    tp_free(pool);
    tp_free(c.res);
    tp_free(c.est);
    if (ret < 0)
        sim_result_free(res);
    return ret;
}
