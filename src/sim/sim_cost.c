/* The simulator's accounting (see sim_int.h): pass 2 over the catalog,
 * every asset's bytes and costs now, after the run and month by month,
 * with the per-cell estimates of the sample. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "components.h"
#include "err.h"
#include "prices.h"
#include "sim_int.h"

/* ---- pass 2: accounting ------------------------------------------------ */

/* The expected representation of an asset transcoded in tier t: bytes
 * after, probability it was replaced, CPU seconds; *exact when measured. */
static void predict(const struct ctx *c, int t, int s, const struct catalog_scan_row *r,
                    double *after, double *p, double *cpu, int *exact)
{
    const struct result_ent *re = sim_result_find(c, source_blob(r), t);
    double b = (double)r->bytes, mp = (double)r->width * r->height / 1e6;
    if (re) {
        *after = re->after;
        *p = re->swapped;
        *cpu = re->cpu;
        *exact = 1;
        return;
    }
    const struct cell_est *ce = &c->est[t * NSTRATA + s];
    *exact = 0;
    if (ce->from_table || ce->n == 0) {
        const struct sim_ratio *sr = sim_ratio_for_parts(&c->p->tiers[t].act.transcode, r->kind,
                                                         r->format, !!(r->components & COMP_BITSTREAM_KINDS));
        *after = sr->ratio * b;
        *p = sr->ratio < 1 ? 1 : 0;
        *cpu = sim_cpu_s_per_mp(&c->p->tiers[t].act.transcode, sr) * mp;
    } else {
        *after = ce->ratio * b;
        *p = ce->swap_frac;
        *cpu = ce->cpu_per_mp * mp;
    }
}

static const struct price_class *class_or_standard(const struct prices *pr, const char *name)
{
    const struct price_class *pc = prices_find(pr, name);
    return pc ? pc : prices_find(pr, "STANDARD");
}

/* prices_object_month() without the STANDARD lookup per call. */
static double month_cost(const struct ctx *c, const struct price_class *pc, double bytes)
{
    if (!pc)
        return 0;
    double min = pc->min_billable_kb * PRICES_KB, b = bytes < min ? min : bytes;
    return (b + pc->overhead_kb * PRICES_KB) / PRICES_GB * pc->storage_gb_month +
           pc->overhead_standard_kb * PRICES_KB / PRICES_GB * c->std_gb_month;
}

/* Charge for leaving class pc after `days` in it (pro-rated remainder). */
static double early_charge(const struct ctx *c, const struct price_class *pc, double bytes,
                           double days)
{
    if (!pc || days >= pc->min_storage_days)
        return 0;
    return month_cost(c, pc, bytes) * (pc->min_storage_days - days) / MONTH_DAYS;
}

/* The two cheaper alternatives (sim.h struct sim_alt) for this asset in
 * tier t, at month 0: the same move to the tier's class, no lossy encode. */
static void price_alternatives(const struct ctx *c, struct sim_tier *st, int t,
                               const struct catalog_scan_row *r, const struct price_class *pc0,
                               double age_days, int replaced)
{
    const struct prices *pr = c->o->prices;
    const struct price_class *npc = t == c->unmatched || !c->tier_pc[t] ? pc0 : c->tier_pc[t];
    double b0 = (double)r->current_bytes, borig = (double)r->bytes;
    double mp = (double)r->width * r->height / 1e6, c30 = (double)r->count_30d;
    int jpeg = !replaced && !strcmp(r->kind, "image") && !strcmp(r->format, "jpeg");
    const struct sim_ratio *ll = &sim_ratio_table[0];

    if (jpeg) {
        st->jpeg_bytes += borig;
        st->jpeg_megapixels += mp;
    }
    for (int a = 0; a < SIM_NALT; a++) {
        struct sim_alt *al = &st->alt[a];
        int recode = a == SIM_ALT_LOSSLESS && jpeg;
        double after = recode ? ll->ratio * borig : b0;
        double compute = recode ? ll->cpu_s_per_mp * mp / 3600 * pr->compute_vcpu_hour : 0;
        /* the object leaves its class when it moves or is replaced */
        int leaves = npc != pc0 || recode;
        double early = leaves ? early_charge(c, pc0, b0, age_days) : 0;
        double req = leaves && npc ? npc->requests_per_1000 / 1000 : 0;
        al->bytes_after += after;
        al->compute_usd += compute;
        al->one_off_usd += compute + early + req;
        al->month_usd += month_cost(c, npc, after) +
                         c30 * after / PRICES_GB * (npc ? npc->retrieval_gb : 0);
    }
}

int sim_pass2_row(void *ud, const struct catalog_scan_row *r)
{
    struct job *j = ud;
    struct ctx *c = j->c;
    const struct prices *pr = c->o->prices;
    struct asset_facts f;
    const struct price_class *pc0 = class_or_standard(pr, r->storage_class), *pc;
    double b0 = (double)r->current_bytes, borig = (double)r->bytes;
    double mp = (double)r->width * r->height / 1e6, c30 = (double)r->count_30d;
    double base_month, age_days;
    /* the projection's state */
    double rep = b0, held = 0;     /* representation bytes; expected original bytes held */
    double held_until = 1e18;      /* day the held original goes (1e18: never) */
    double class_since;            /* day the object entered its class */
    int replaced = already_replaced(r), tprev = -1, ttc = -1, dirty = 1;
    double storage = 0, retrieval = 0;

    j->rows++;
    facts_from_scan(r, &f);
    /* a Live Photo's clip: in its still's tier, counted as one asset with it */
    int clip = facts_pair_lead(j->cat, r->id, r->kind, &f);
    if (clip < 0)
        return clip;
    j->pairs += clip;
    age_days = f.upload_time ? (double)(c->o->now - f.upload_time) / DAY : 0;
    if (age_days < 0)
        age_days = 0;
    class_since = -age_days;
    pc = pc0;
    base_month = month_cost(c, pc0, b0) + c30 * b0 / PRICES_GB * (pc0 ? pc0->retrieval_gb : 0);

    for (int k = 0; k <= c->months; k++) {
        int t = sim_match_at(c, &f, k);
        double day = (double)k * MONTH_DAYS, one_off = 0;
        struct sim_month *m = &j->months[k];
        if (t != tprev) {
            const struct price_class *npc = t == c->unmatched ? pc : c->tier_pc[t];
            double after = rep, p = 0, cpu = 0, moved;
            int exact = 1, s = sim_stratum_of(r->kind, r->format, borig, r->components);
            const struct policy_actions *act = t == c->unmatched ? NULL : &c->p->tiers[t].act;
            if (tier_transcodes(c->p, t) && !replaced && t != ttc) {
                predict(c, t, s, r, &after, &p, &cpu, &exact);
                ttc = t;
            }
            if (!npc)
                npc = pc;
            /* the object leaves its class when it moves or is replaced */
            moved = npc != pc ? 1.0 : p;
            double early = moved * early_charge(c, pc, rep, day - class_since);
            double req = moved * (npc ? npc->requests_per_1000 / 1000 : 0);
            double compute = cpu / 3600 * pr->compute_vcpu_hour;
            double grace_cost = 0, orig_early = 0;
            if (p > 0) {
                /* the replaced original: kept for good, or for the grace */
                held = p * borig;
                if (act->original == POLICY_ORIGINAL_DELETE_AFTER) {
                    held_until = day + act->delete_after_days;
                    grace_cost = p * month_cost(c, npc, borig) * act->delete_after_days / MONTH_DAYS;
                    orig_early = p * early_charge(c, npc, borig, act->delete_after_days);
                } else {
                    held_until = 1e18;
                }
            }
            if (npc != pc || p > 0)
                class_since = day;
            one_off = early + req + compute + orig_early;
            if (k == 0) {
                struct sim_tier *st = &j->tiers[t];
                st->compute_cpu_hours += cpu / 3600;
                st->compute_usd += compute;
                st->early_delete_usd += early + orig_early;
                st->requests_usd += req;
                st->grace_usd += grace_cost;
                st->swapped += p;
                if (p > 0 && act->original == POLICY_ORIGINAL_DELETE_AFTER)
                    st->grace_bytes += p * borig;
                else
                    st->originals_kept_bytes += p * borig;
                if (!exact && tier_transcodes(c->p, t)) {
                    j->cell_n0[t * NSTRATA + s] += 1;
                    j->cell_best[t * NSTRATA + s] += borig;
                }
            }
            /* expected representation: replaced with probability p */
            rep = after; /* expected bytes: the estimate already weighs in the keeps */
            pc = npc;
            tprev = t;
            dirty = 1;
        }
        if (held > 0 && day >= held_until) {
            held = 0;
            dirty = 1;
        }
        if (dirty) {
            storage = month_cost(c, pc, rep) + (held > 0 ? held / borig * month_cost(c, pc, borig) : 0);
            retrieval = c30 * rep / PRICES_GB * (pc ? pc->retrieval_gb : 0);
            dirty = 0;
        }
        m->bytes_stored += rep + held;
        m->storage_usd += storage;
        m->retrieval_usd += retrieval;
        m->one_off_usd += one_off;
        m->baseline_usd += base_month;
        m->assets[t] += !clip;
        m->bytes[t] += rep + held;
        if (k == 0) {
            struct sim_tier *st = &j->tiers[t];
            double steady = month_cost(c, pc, rep) +
                            (held > 0 && held_until >= 1e17 ? held / borig * month_cost(c, pc, borig) : 0);
            st->assets += !clip;
            st->bytes_before += b0;
            st->bytes_after += rep;
            st->megapixels += mp;
            st->cost_before_month += month_cost(c, pc0, b0);
            st->cost_after_month += steady;
            st->retrieval_gb_month += c30 * b0 / PRICES_GB;
            st->retrieval_before_month += c30 * b0 / PRICES_GB * (pc0 ? pc0->retrieval_gb : 0);
            st->retrieval_after_month += retrieval;
            price_alternatives(c, st, t, r, pc0, age_days, replaced);
        }
    }
    if (j->idx == 0 && c->o->progress && (j->rows & 0xfffff) == 0)
        c->o->progress(c->o->progress_ud, "accounting scan", j->rows * (int64_t)c->o->jobs,
                       c->total_assets);
    return 0;
}
