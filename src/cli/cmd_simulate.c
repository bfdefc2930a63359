/* tierpress simulate --policy P [...]: the policy dry-run for cost analysts. */
#include <getopt.h>
#include <math.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "catalog.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "health.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "prices.h"
#include "report_html.h"
#include "sim.h"
#include "store.h"
#include "timeutil.h"

static void simulate_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress simulate --policy P [--now TIME] [--months N] [--sample N]\n"
        "                          [--seed S] [--prices PRICES.yaml] [--format table|json|csv]\n"
        "                          [--html REPORT.html [--health]] [--jobs N]\n"
        "\n"
        "What the policy would do to this home's catalog, in bytes and dollars, without\n"
        "touching anything: the catalog is opened read-only and blobs are only read.\n"
        "\n"
        "  --policy P     the tier policy (YAML, as for 'policy check'); up to 8 times:\n"
        "                 each is simulated in turn, then the totals side by side (JSON:\n"
        "                 one line per policy)\n"
        "  --now TIME     evaluate as if it were TIME (default: now)\n"
        "  --months N     month-by-month projection length, 0..120 (default 12)\n"
        "  --sample N     originals to transcode for the prediction, 0..5000 (default 50);\n"
        "                 0 = no transcodes, the stated ratio table (quick what-ifs)\n"
        "  --seed S       sampling seed (default 1): the same seed, the same sample\n"
        "  --prices F     price sheet overriding the defaults key by key\n"
        "                 (defaults: prices/default.yaml, AWS us-east-1 list prices)\n"
        "  --format F     table (default), json (one line), csv (one row per tier)\n"
        "  --max-payback M  flag tiers whose payback exceeds M months (default 12):\n"
        "                 '!' in the table, payback_flagged in JSON, marked in HTML;\n"
        "                 a flagged tier's cheaper alternatives (class only; lossless:\n"
        "                 JPEGs byte-exact to JPEG XL) are priced beside it\n"
        "  --html F       also write a self-contained HTML report (charts + tables)\n"
        "  --health       with --html: add the catalog's metadata health (as\n"
        "                 'tierpress health --catalog-only'; one pass over the assets)\n"
        "  --jobs N       catalog scan threads, 1..16 (default 2)\n"
        "  --budget-cpu S CPU seconds the sample's transcodes may use; once spent,\n"
        "                 the strata not yet sampled use the ratio table (wider intervals)\n"
        "\n"
        "Per tier: assets, bytes now and after (with a 95%% interval), storage class,\n"
        "storage $/month before and after, one-off compute (CPU-hours measured on the\n"
        "sample, extrapolated by megapixels), retrieval $/month from the 30-day access\n"
        "counts, early-deletion and request charges, and the payback time.\n"
        "\n"
        "The model (also in the JSON's \"assumptions\"):\n");
    for (int i = 0; sim_assumptions[i]; i++)
        fprintf(f, "  - %s\n", sim_assumptions[i]);
    fprintf(f, "\nThe ratio table (--sample 0, and strata the sample missed):\n");
    for (int i = 0; i < sim_ratio_table_len; i++)
        fprintf(f, "  %.2f (%.2f-%.2f), %.1f CPU-s/MP: %s\n", sim_ratio_table[i].ratio,
                sim_ratio_table[i].lo, sim_ratio_table[i].hi, sim_ratio_table[i].cpu_s_per_mp,
                sim_ratio_table[i].source);
}

static int parse_long(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return cli_usage_error("simulate", "%s expects an integer in %lld..%lld, got '%s'", opt,
                               lo, hi, s);
    *out = v;
    return 0;
}

static const char *human(double b, char *buf, size_t len)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    int i = 0;
    while (b >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    snprintf(buf, len, i ? "%.2f %s" : "%.0f %s", b, u[i]);
    return buf;
}

static const char *method_name(enum sim_method m)
{
    switch (m) {
    case SIM_METHOD_EXACT: return "exact";
    case SIM_METHOD_SAMPLE: return "sample";
    case SIM_METHOD_TABLE: return "table";
    default: return "none";
    }
}

/* The JSON objects simulate prints, one serializer each (docs/json.md). */
static int set_payback(json_t *o, const char *key, double v)
{
    return v < 0 ? json_object_set_new(o, key, json_null()) : json_set_real(o, key, v);
}

static int set_pair(json_t *o, const char *key, double a, double b)
{
    json_t *p = json_array();
    int bad = !p || json_array_append_new(p, json_real(a)) < 0 ||
              json_array_append_new(p, json_real(b)) < 0;
    /* whole numbers as integers, as json_set_real prints them */
    for (size_t i = 0; !bad && i < 2; i++) {
        double v = i ? b : a;
        if (isfinite(v) && v == (double)(int64_t)v && fabs(v) < 1e15)
            bad = json_array_set_new(p, i, json_integer((json_int_t)v)) < 0;
        else if (!isfinite(v))
            bad = json_array_set_new(p, i, json_null()) < 0;
    }
    bad = bad || json_object_set(o, key, p) < 0;
    json_decref(p);
    return bad ? -1 : 0;
}

static json_t *alt_json(int kind, const struct sim_alt *a)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_text(o, "kind", sim_alt_kind[kind]) < 0;
    bad = bad || json_set_real(o, "bytes_after", a->bytes_after) < 0;
    bad = bad || json_set_real(o, "compute_usd", a->compute_usd) < 0;
    bad = bad || json_set_real(o, "one_off_usd", a->one_off_usd) < 0;
    bad = bad || json_set_real(o, "saving_month_usd", a->saving_month) < 0;
    bad = bad || set_payback(o, "payback_months", a->payback_months) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *tier_json(const struct sim_tier *t)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_text(o, "name", t->name) < 0;
    bad = bad || json_set_text(o, "storage_class", t->storage_class) < 0;
    bad = bad || json_set_text(o, "mode", t->mode) < 0;
    bad = bad || json_set_text(o, "original", t->original) < 0;
    bad = bad || json_set_int(o, "grace_days", t->grace_days) < 0;
    bad = bad || json_set_int(o, "assets", t->assets) < 0;
    bad = bad || json_set_real(o, "bytes_before", t->bytes_before) < 0;
    bad = bad || json_set_real(o, "bytes_after", t->bytes_after) < 0;
    bad = bad || set_pair(o, "bytes_after_ci", t->bytes_after_lo, t->bytes_after_hi) < 0;
    bad = bad || json_set_real(o, "bytes_saved", t->bytes_before - t->bytes_after) < 0;
    bad = bad || json_set_real(o, "swapped", t->swapped) < 0;
    bad = bad || json_set_real(o, "originals_kept_bytes", t->originals_kept_bytes) < 0;
    bad = bad || json_set_real(o, "grace_bytes", t->grace_bytes) < 0;
    bad = bad || json_set_real(o, "megapixels", t->megapixels) < 0;
    bad = bad || json_set_real(o, "cost_before_month", t->cost_before_month) < 0;
    bad = bad || json_set_real(o, "cost_after_month", t->cost_after_month) < 0;
    bad = bad || json_set_real(o, "retrieval_gb_month", t->retrieval_gb_month) < 0;
    bad = bad || json_set_real(o, "retrieval_usd_month_before", t->retrieval_before_month) < 0;
    bad = bad || json_set_real(o, "retrieval_usd_month", t->retrieval_after_month) < 0;
    bad = bad || json_set_real(o, "compute_cpu_hours", t->compute_cpu_hours) < 0;
    bad = bad || json_set_real(o, "compute_usd", t->compute_usd) < 0;
    bad = bad || json_set_real(o, "early_delete_usd", t->early_delete_usd) < 0;
    bad = bad || json_set_real(o, "requests_usd", t->requests_usd) < 0;
    bad = bad || json_set_real(o, "grace_usd", t->grace_usd) < 0;
    bad = bad || json_set_real(o, "one_off_usd", t->one_off_usd) < 0;
    bad = bad || json_set_real(o, "saving_month", t->saving_month) < 0;
    bad = bad || set_payback(o, "payback_months", t->payback_months) < 0;
    bad = bad || json_set_real(o, "storage_saved_usd_year",
                               12 * (t->cost_before_month - t->cost_after_month)) < 0;
    bad = bad || json_object_set_new(o, "payback_flagged", json_boolean(t->payback_flagged)) < 0;
    bad = bad || json_set_int(o, "sampled", t->sampled) < 0;
    bad = bad || json_set_int(o, "table_strata", t->table_cells) < 0;
    bad = bad || json_set_real(o, "jpeg_bytes", t->jpeg_bytes) < 0;
    if (!bad && t->payback_flagged) {
        json_t *alts = json_array();
        bad = !alts || json_object_set_new(o, "alternatives", alts) < 0;
        for (int a = 0; !bad && a < SIM_NALT; a++) {
            json_t *aj = alt_json(a, &t->alt[a]);
            bad = !aj || json_array_append_new(alts, aj) < 0;
        }
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *month_json(const struct sim_result *r, int k)
{
    const struct sim_month *m = &r->months[k];
    json_t *o = json_object(), *tiers = json_object();
    int bad = !o || !tiers;
    bad = bad || json_set_int(o, "month", k) < 0;
    bad = bad || json_set_real(o, "bytes_stored", m->bytes_stored) < 0;
    bad = bad || json_set_real(o, "storage_usd", m->storage_usd) < 0;
    bad = bad || json_set_real(o, "retrieval_usd", m->retrieval_usd) < 0;
    bad = bad || json_set_real(o, "one_off_usd", m->one_off_usd) < 0;
    bad = bad || json_set_real(o, "baseline_usd", m->baseline_usd) < 0;
    bad = bad || json_set_real(o, "cumulative_saving_usd", m->cumulative_saving_usd) < 0;
    for (int i = 0; !bad && i < r->ntiers; i++) {
        json_t *name = json_text(r->tiers[i].name), *t = json_object();
        bad = !name || !json_is_string(name) || !t;
        bad = bad || json_set_int(t, "assets", m->assets[i]) < 0;
        bad = bad || json_set_real(t, "bytes", m->bytes[i]) < 0;
        if (!bad)
            bad = json_object_set_new(tiers, json_string_value(name), t) < 0;
        else
            json_decref(t);
        json_decref(name);
    }
    bad = bad || json_object_set(o, "tiers", tiers) < 0;
    json_decref(tiers);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *prices_json(const struct prices *pr)
{
    json_t *o = json_object(), *classes = json_object();
    int bad = !o || !classes;
    bad = bad || json_set_text(o, "file", pr->file) < 0;
    bad = bad || json_set_text(o, "currency", pr->currency) < 0;
    bad = bad || json_set_text(o, "source", pr->source) < 0;
    bad = bad || json_set_real(o, "compute_vcpu_hour", pr->compute_vcpu_hour) < 0;
    for (int i = 0; !bad && i < pr->nclasses; i++) {
        const struct price_class *c = &pr->classes[i];
        json_t *co = json_object();
        bad = !co;
        bad = bad || json_set_real(co, "storage_gb_month", c->storage_gb_month) < 0;
        bad = bad || json_set_real(co, "retrieval_gb", c->retrieval_gb) < 0;
        bad = bad || json_set_real(co, "requests_per_1000", c->requests_per_1000) < 0;
        bad = bad || json_set_real(co, "min_billable_kb", c->min_billable_kb) < 0;
        bad = bad || json_set_real(co, "overhead_kb", c->overhead_kb) < 0;
        bad = bad || json_set_real(co, "overhead_standard_kb", c->overhead_standard_kb) < 0;
        bad = bad || json_set_int(co, "min_storage_days", c->min_storage_days) < 0;
        if (!bad)
            bad = json_object_set_new(classes, c->name, co) < 0;
        else
            json_decref(co);
    }
    bad = bad || json_object_set(o, "classes", classes) < 0;
    json_decref(classes);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *ratio_row_json(int i)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_real(o, "ratio", sim_ratio_table[i].ratio) < 0;
    bad = bad || json_set_real(o, "lo", sim_ratio_table[i].lo) < 0;
    bad = bad || json_set_real(o, "hi", sim_ratio_table[i].hi) < 0;
    bad = bad || json_set_real(o, "cpu_s_per_mp", sim_ratio_table[i].cpu_s_per_mp) < 0;
    bad = bad || json_set_text(o, "source", sim_ratio_table[i].source) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *result_json(const struct sim_result *r, const char *policy_path,
                           const struct prices *pr)
{
    char now[32];
    json_t *o = json_object(), *ci = json_object(), *tiers = json_array(),
           *proj = json_array(), *timing = json_object(), *table = json_array(),
           *assume = json_array();
    int bad = !o || !ci || !tiers || !proj || !timing || !table || !assume;
    bad = bad || json_set_text(o, "policy", policy_path) < 0;
    bad = bad || json_set_text(o, "now", time_format(r->now, now, sizeof(now))) < 0;
    bad = bad || json_set_int(o, "months", r->months_requested) < 0;
    bad = bad || json_set_int(o, "sample", r->sample_requested) < 0;
    bad = bad || json_set_int(o, "seed", (long long)r->seed) < 0;
    bad = bad || json_set_text(o, "method", method_name(r->method)) < 0;
    bad = bad || json_set_int(o, "assets", r->assets) < 0;
    bad = bad || json_set_int(o, "pairs", r->pairs) < 0;
    bad = bad || json_set_int(o, "sampled_assets", r->sampled_assets) < 0;
    bad = bad || json_set_int(o, "transcoded", r->transcoded) < 0;
    bad = bad || json_set_int(o, "transcode_failures", r->transcode_failures) < 0;
    bad = bad || json_object_set_new(o, "census_complete", json_boolean(r->census_complete)) < 0;
    bad = bad || json_object_set_new(o, "budget_cpu_reached", json_boolean(r->budget_reached)) < 0;
    bad = bad || json_set_real(ci, "level", 0.95) < 0;
    bad = bad || json_set_int(ci, "df", r->df) < 0;
    bad = bad || json_set_real(ci, "t", r->t_quantile) < 0;
    bad = bad || json_object_set(o, "ci", ci) < 0;
    bad = bad || json_set_real(o, "bytes_saved", r->total.bytes_before - r->total.bytes_after) < 0;
    bad = bad || set_pair(o, "bytes_saved_ci", r->total.bytes_before - r->total.bytes_after_hi,
                          r->total.bytes_before - r->total.bytes_after_lo) < 0;
    for (int i = 0; !bad && i < r->ntiers; i++)
        bad = json_array_append_new(tiers, tier_json(&r->tiers[i])) < 0;
    bad = bad || json_object_set(o, "tiers", tiers) < 0;
    bad = bad || json_object_set_new(o, "totals", tier_json(&r->total)) < 0;
    for (int k = 0; !bad && k < r->nmonths; k++)
        bad = json_array_append_new(proj, month_json(r, k)) < 0;
    bad = bad || json_object_set(o, "projection", proj) < 0;
    bad = bad || json_object_set_new(o, "prices", prices_json(pr)) < 0;
    bad = bad || json_set_real(o, "cpu_seconds_sampled", r->cpu_seconds_sampled) < 0;
    bad = bad || json_set_real(timing, "sample_seconds", r->transcode_seconds) < 0;
    bad = bad || json_set_real(timing, "scan_seconds", r->scan_seconds) < 0;
    bad = bad || json_object_set(o, "timing", timing) < 0;
    for (int i = 0; !bad && i < sim_ratio_table_len; i++)
        bad = json_array_append_new(table, ratio_row_json(i)) < 0;
    bad = bad || json_object_set(o, "ratio_table", table) < 0;
    for (int i = 0; !bad && sim_assumptions[i]; i++)
        bad = json_array_append_new(assume, json_text(sim_assumptions[i])) < 0;
    bad = bad || json_object_set(o, "assumptions", assume) < 0;
    json_decref(ci);
    json_decref(tiers);
    json_decref(proj);
    json_decref(timing);
    json_decref(table);
    json_decref(assume);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void csv_field(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void print_csv(FILE *f, const struct sim_result *r, const char *currency)
{
    /* every money column names its currency: cost_before_month_usd, ... */
    char c[8];
    for (int i = 0; i < 4; i++)
        c[i] = (char)(currency[i] >= 'A' && currency[i] <= 'Z' ? currency[i] + 32 : currency[i]);
    c[4] = '\0';
    fprintf(f, "tier,storage_class,mode,assets,bytes_before,bytes_after,bytes_after_lo,"
               "bytes_after_hi,cost_before_month_%s,cost_after_month_%s,retrieval_month_before_%s,"
               "retrieval_month_%s,compute_cpu_hours,compute_%s,early_delete_%s,requests_%s,"
               "grace_%s,one_off_%s,saving_month_%s,payback_months\n", c, c, c, c, c, c, c, c, c, c);
    for (int i = 0; i <= r->ntiers; i++) {
        const struct sim_tier *t = i < r->ntiers ? &r->tiers[i] : &r->total;
        csv_field(f, t->name);
        fputc(',', f);
        csv_field(f, t->storage_class);
        fputc(',', f);
        csv_field(f, t->mode);
        fprintf(f, ",%" PRId64 ",%.0f,%.0f,%.0f,%.0f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,"
                   "%.6f,%.6f,",
                t->assets, t->bytes_before, t->bytes_after, t->bytes_after_lo, t->bytes_after_hi,
                t->cost_before_month, t->cost_after_month, t->retrieval_before_month,
                t->retrieval_after_month, t->compute_cpu_hours, t->compute_usd,
                t->early_delete_usd, t->requests_usd, t->grace_usd, t->one_off_usd,
                t->saving_month);
        if (t->payback_months >= 0)
            fprintf(f, "%.3f\n", t->payback_months);
        else
            fprintf(f, "never\n");
    }
}

static void print_table(FILE *f, const struct sim_result *r, const char *policy_path)
{
    char now[32], b1[32], b2[32], b3[32], b4[32];
    fprintf(f, "simulate %s at %s: %" PRId64 " assets, method %s", policy_path,
            time_format(r->now, now, sizeof(now)), r->assets, method_name(r->method));
    if (r->method == SIM_METHOD_SAMPLE || r->method == SIM_METHOD_EXACT)
        fprintf(f, " (%d sampled assets, %d distinct blobs transcoded, seed %" PRIu64 ")",
                r->sampled_assets, r->transcoded, r->seed);
    fprintf(f, "\n\n%-14s %-12s %-8s %9s %11s %11s %25s %10s %10s %9s %9s %9s %8s\n", "tier",
            "class", "mode", "assets", "bytes now", "bytes after", "95% interval", "$/mo now",
            "$/mo after", "retr $/mo", "compute $", "one-off $", "payback");
    for (int i = 0; i <= r->ntiers; i++) {
        const struct sim_tier *t = i < r->ntiers ? &r->tiers[i] : &r->total;
        char iv[64], pb[24];
        if (i < r->ntiers && !t->assets)
            continue;
        if (i == r->ntiers)
            fprintf(f, "\n");
        snprintf(iv, sizeof(iv), "%s..%s", human(t->bytes_after_lo, b3, sizeof(b3)),
                 human(t->bytes_after_hi, b4, sizeof(b4)));
        if (t->payback_months == 0 && t->one_off_usd == 0 && t->saving_month == 0)
            snprintf(pb, sizeof(pb), "-");
        else if (t->payback_months < 0)
            snprintf(pb, sizeof(pb), "never");
        else
            snprintf(pb, sizeof(pb), "%.1f mo", t->payback_months);
        if (t->payback_flagged)
            snprintf(pb + strlen(pb), sizeof(pb) - strlen(pb), " !");
        fprintf(f, "%-14.14s %-12.12s %-8s %9" PRId64 " %11s %11s %25s %10.4f %10.4f %9.4f %9.4f %9.4f %8s\n",
                t->name, t->storage_class[0] ? t->storage_class : "-", t->mode, t->assets,
                human(t->bytes_before, b1, sizeof(b1)), human(t->bytes_after, b2, sizeof(b2)), iv,
                t->cost_before_month, t->cost_after_month, t->retrieval_after_month,
                t->compute_usd, t->one_off_usd, pb);
        for (int a = 0; t->payback_flagged && a < SIM_NALT; a++) {
            const struct sim_alt *al = &t->alt[a];
            if (al->payback_months < 0)
                snprintf(pb, sizeof(pb), "never");
            else
                snprintf(pb, sizeof(pb), "%.1f mo", al->payback_months);
            fprintf(f, "  instead, %-10s %s after, one-off $%.4f (compute $%.4f), saves $%.4f/mo, payback %s\n",
                    a == SIM_ALT_CLASS ? "class only" : "lossless", human(al->bytes_after, b2, sizeof(b2)),
                    al->one_off_usd, al->compute_usd, al->saving_month, pb);
        }
    }
    fprintf(f, "\nsaved: %s of %s (%.1f%%); compute %.2f CPU-hours; originals kept for good %s, "
               "held during grace %s\n",
            human(r->total.bytes_before - r->total.bytes_after, b1, sizeof(b1)),
            human(r->total.bytes_before, b2, sizeof(b2)),
            r->total.bytes_before > 0
                ? 100.0 * (r->total.bytes_before - r->total.bytes_after) / r->total.bytes_before
                : 0.0,
            r->total.compute_cpu_hours, human(r->total.originals_kept_bytes, b3, sizeof(b3)),
            human(r->total.grace_bytes, b4, sizeof(b4)));
    if (r->nmonths > 1) {
        fprintf(f, "\n%5s %12s %12s %12s %12s %14s\n", "month", "stored", "$ storage",
                "$ retrieval", "$ baseline", "$ cum. saving");
        for (int k = 0; k < r->nmonths; k++) {
            const struct sim_month *m = &r->months[k];
            fprintf(f, "%5d %12s %12.4f %12.4f %12.4f %14.4f\n", k,
                    human(m->bytes_stored, b1, sizeof(b1)), m->storage_usd, m->retrieval_usd,
                    m->baseline_usd, m->cumulative_saving_usd);
        }
    }
    fprintf(f, "\n(list prices; the model's assumptions: 'tierpress simulate --help')\n");
}

struct progress {
    double start, last;
    double stage_start;  /* when the current stage began (its ETA's rate) */
    const char *stage;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_progress(void *ud, const char *stage, int64_t done, int64_t total)
{
    struct progress *p = ud;
    double t = mono();
    char iso[40], eta[48] = "";
    if (p->stage != stage) { /* static strings: a new stage */
        p->stage = stage;
        p->stage_start = t;
    }
    if (t - p->start < 2 || t - p->last < 1)
        return;
    p->last = t;
    if (done > 0 && total > done)
        snprintf(eta, sizeof(eta), ", ETA %.0f s",
                 (t - p->stage_start) / (double)done * (double)(total - done));
    fprintf(stderr, "tierpress: %s simulate: %s %" PRId64 "/%" PRId64 " (%.0f s%s)\n",
            time_format(time_now(), iso, sizeof(iso)), stage, done, total, t - p->start, eta);
}

int cmd_simulate(const struct cli *cli, int argc, char **argv)
{
    enum { O_POLICY = 256, O_NOW, O_MONTHS, O_SAMPLE, O_SEED, O_PRICES, O_FORMAT, O_HTML, O_JOBS,
           O_HEALTH, O_BUDGET, O_PAYBACK };
    static const struct option opts[] = {
        { "policy", required_argument, NULL, O_POLICY },
        { "now", required_argument, NULL, O_NOW },
        { "months", required_argument, NULL, O_MONTHS },
        { "sample", required_argument, NULL, O_SAMPLE },
        { "seed", required_argument, NULL, O_SEED },
        { "prices", required_argument, NULL, O_PRICES },
        { "format", required_argument, NULL, O_FORMAT },
        { "html", required_argument, NULL, O_HTML },
        { "jobs", required_argument, NULL, O_JOBS },
        { "health", no_argument, NULL, O_HEALTH },
        { "budget-cpu", required_argument, NULL, O_BUDGET },
        { "max-payback", required_argument, NULL, O_PAYBACK },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct sim_opts so;
    struct sim_result res;
    struct policy pol;
    struct prices pr;
    struct store *store = NULL;
    struct progress prog = { mono(), 0 };
    const char *policy_path = NULL, *prices_path = NULL, *format = "table", *html = NULL;
    const char *policies[8];
    int npol = 0;
    struct { const char *path; struct sim_tier total; int flagged; } cmp[8];
    long long v;
    int c, ret, status = 1, health = 0;
    double max_payback = 12;

    sim_opts_defaults(&so);
    so.now = time_now();
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_POLICY:
            if (npol == (int)TP_ARRAY_SIZE(policies))
                return cli_usage_error("simulate", "at most %d --policy", npol);
            policies[npol++] = policy_path = optarg;
            break;
        case O_PAYBACK: {
            char *end;
            max_payback = strtod(optarg, &end);
            if (!*optarg || *end || !(max_payback >= 0 && max_payback <= 1200))
                return cli_usage_error("simulate", "--max-payback expects months 0..1200, got '%s'",
                                       optarg);
            break;
        }
        case O_NOW:
            if (time_parse(optarg, &so.now) < 0) {
                char why[300];
                snprintf(why, sizeof(why), "%s", tp_err_detail());
                return cli_usage_error("simulate", "--now: %s", why);
            }
            break;
        case O_MONTHS:
            if (parse_long("--months", optarg, 0, SIM_MAX_MONTHS, &v))
                return 2;
            so.months = (int)v;
            break;
        case O_SAMPLE:
            if (parse_long("--sample", optarg, 0, SIM_MAX_SAMPLE, &v))
                return 2;
            so.sample = (int)v;
            break;
        case O_SEED:
            if (parse_long("--seed", optarg, 0, INT64_MAX, &v))
                return 2;
            so.seed = (uint64_t)v;
            break;
        case O_PRICES: prices_path = optarg; break;
        case O_FORMAT:
            if (strcmp(optarg, "table") && strcmp(optarg, "json") && strcmp(optarg, "csv"))
                return cli_usage_error("simulate", "--format expects table, json or csv, got '%s'",
                                       optarg);
            format = optarg;
            break;
        case O_HTML: html = optarg; break;
        case O_HEALTH: health = 1; break;
        case O_BUDGET: {
            char *end;
            double b = strtod(optarg, &end);
            if (!*optarg || *end || !(b > 0) || b > 1e7)
                return cli_usage_error("simulate", "--budget-cpu expects CPU seconds > 0, got '%s'",
                                       optarg);
            so.budget_cpu = b;
            break;
        }
        case O_JOBS:
            if (parse_long("--jobs", optarg, 1, 16, &v))
                return 2;
            so.jobs = (int)v;
            break;
        case 'h': simulate_help(stdout); return 0;
        default: return cli_usage_error("simulate", "bad option (see --help)");
        }
    }
    if (optind < argc)
        return cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
    if (!policy_path)
        return cli_usage_error("simulate", "--policy is required");
    if (npol > 1 && html)
        return cli_usage_error("simulate", "--html takes one --policy (compare policies in the "
                               "table or JSON)");

    memset(&res, 0, sizeof(res));
    memset(&pol, 0, sizeof(pol));
    prices_defaults(&pr);
    if (prices_path && (ret = prices_load(&pr, prices_path)) < 0) {
        cli_error_line("tierpress: %s", tp_err_detail());
        return 1;
    }
    for (int pi = 0; pi < npol; pi++) {
        policy_path = policies[pi];
        if ((ret = policy_load(&pol, policy_path)) < 0) {
            char d[300];
            for (int i = 0; i < pol.ndiags; i++)
                if (!pol.diags[i].warning)
                    cli_error_line("tierpress: %s", policy_diag_format(&pol, i, d, sizeof(d)));
            if (!pol.nerrors)
                cli_fail(policy_path, ret);
            goto end; /* frees pol, res and the store */
        }
        {
            /* a readable catalog first, for a clear message when there is none */
            struct catalog *probe = NULL;
            char red[CONFIG_URI_MAX];
            config_uri_redact(cli->cfg->catalog, red, sizeof(red));
            if ((ret = catalog_open(&probe, cli->cfg->catalog, CATALOG_OPEN_READONLY)) < 0) {
                if (ret == TP_ERR_NOTFOUND)
                    cli_error_line("tierpress: simulate: no catalog at %s (ingest or 'catalog synth' "
                                   "first)", red);
                else
                    cli_fail(red, ret);
                goto end;
            }
            catalog_close(&probe);
        }
        so.catalog_uri = cli->cfg->catalog;
        if (!store && (ret = store_open(&store, cli->cfg->store, cli->cfg)) < 0) {
            char red[CONFIG_URI_MAX];
            cli_fail(config_uri_redact(cli->cfg->store, red, sizeof(red)), ret);
            goto end;
        }
        so.store = store;
        so.policy = &pol;
        so.prices = &pr;
        so.progress = on_progress;
        so.progress_ud = &prog;
        if ((ret = sim_run(&so, &res)) >= 0)
            sim_flag_payback(&res, max_payback);
        if (ret < 0) {
            cli_fail("simulate", ret);
            goto end;
        }
        if (res.budget_reached)
            tp_log(TP_LOG_WARN, "simulate: --budget-cpu %.6g s spent after %d sample transcode(s) "
                   "(%.2f CPU s); the strata not sampled use the ratio table", so.budget_cpu,
                   res.transcoded, res.cpu_seconds_sampled);
        if (!strcmp(format, "json"))
            json_print(stdout, result_json(&res, policy_path, &pr));
        else if (!strcmp(format, "csv"))
            print_csv(stdout, &res, pr.currency);
        else
            print_table(stdout, &res, policy_path);
        if (html && health) {
            /* the catalog-only health checks (tierpress health), read-only */
            static struct health_report hr;
            struct home home;
            if ((ret = home_open_mode(&home, cli->cfg, HOME_READONLY)) < 0 ||
                (ret = health_check(&home, so.now, 0, &hr)) < 0) {
                home_close(&home);
                cli_fail("simulate --health", ret);
                goto end;
            }
            home_close(&home);
            ret = report_html_write_health(html, &res, policy_path, &pr, &hr);
        } else if (html) {
            ret = report_html_write(html, &res, policy_path, &pr);
        }
        if (html && ret < 0) {
            cli_fail(html, ret);
            goto end;
        }
        cmp[pi].path = policy_path;
        cmp[pi].total = res.total;
        cmp[pi].flagged = 0;
        for (int i = 0; i < res.ntiers; i++)
            cmp[pi].flagged += res.tiers[i].assets && res.tiers[i].payback_flagged;
        sim_result_free(&res);
        memset(&res, 0, sizeof(res));
        policy_free(&pol);
    }
    if (npol > 1 && strcmp(format, "json") && strcmp(format, "csv")) {
        /* side by side: the totals of each policy */
        char b1[32], b2[32];
        printf("\npolicies side by side (payback flagged above %g months):\n%-32s %11s %11s %10s "
               "%10s %9s %10s %8s %7s\n", max_payback, "policy", "bytes now", "bytes after",
               "$/mo now", "$/mo after", "compute $", "$/yr saved", "payback", "flagged");
        for (int pi = 0; pi < npol; pi++) {
            const struct sim_tier *t = &cmp[pi].total;
            char pb[24];
            if (t->payback_months < 0)
                snprintf(pb, sizeof(pb), "never");
            else
                snprintf(pb, sizeof(pb), "%.1f mo", t->payback_months);
            printf("%-32.32s %11s %11s %10.4f %10.4f %9.4f %10.4f %8s %7d\n", cmp[pi].path,
                   human(t->bytes_before, b1, sizeof(b1)), human(t->bytes_after, b2, sizeof(b2)),
                   t->cost_before_month, t->cost_after_month, t->compute_usd,
                   12 * (t->cost_before_month - t->cost_after_month), pb, cmp[pi].flagged);
        }
    }
    status = 0;
end:
    sim_result_free(&res);
    store_close(&store);
    policy_free(&pol);
    return status;
}
