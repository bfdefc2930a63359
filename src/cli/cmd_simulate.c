/* tierpress simulate --policy P [...]: the policy dry-run for cost analysts. */
#include <getopt.h>
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
        "                 '!' in the table, payback_flagged in JSON, marked in HTML\n"
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

static void print_payback(FILE *f, double v)
{
    if (v < 0)
        fprintf(f, "null");
    else
        json_num(f, v);
}

static void json_tier(FILE *f, const struct sim_tier *t)
{
    fprintf(f, "{\"name\":");
    json_str(f, t->name);
    fprintf(f, ",\"storage_class\":");
    json_str(f, t->storage_class[0] ? t->storage_class : NULL);
    fprintf(f, ",\"mode\":");
    json_str(f, t->mode);
    fprintf(f, ",\"original\":");
    json_str(f, t->original);
    fprintf(f, ",\"grace_days\":%d,\"assets\":%" PRId64, t->grace_days, t->assets);
#define NUM(k, v) do { fprintf(f, ",\"" k "\":"); json_num(f, v); } while (0)
    NUM("bytes_before", t->bytes_before);
    NUM("bytes_after", t->bytes_after);
    fprintf(f, ",\"bytes_after_ci\":[");
    json_num(f, t->bytes_after_lo);
    fprintf(f, ",");
    json_num(f, t->bytes_after_hi);
    fprintf(f, "]");
    NUM("bytes_saved", t->bytes_before - t->bytes_after);
    NUM("swapped", t->swapped);
    NUM("originals_kept_bytes", t->originals_kept_bytes);
    NUM("grace_bytes", t->grace_bytes);
    NUM("megapixels", t->megapixels);
    NUM("cost_before_month", t->cost_before_month);
    NUM("cost_after_month", t->cost_after_month);
    NUM("retrieval_gb_month", t->retrieval_gb_month);
    NUM("retrieval_usd_month_before", t->retrieval_before_month);
    NUM("retrieval_usd_month", t->retrieval_after_month);
    NUM("compute_cpu_hours", t->compute_cpu_hours);
    NUM("compute_usd", t->compute_usd);
    NUM("early_delete_usd", t->early_delete_usd);
    NUM("requests_usd", t->requests_usd);
    NUM("grace_usd", t->grace_usd);
    NUM("one_off_usd", t->one_off_usd);
    NUM("saving_month", t->saving_month);
#undef NUM
    fprintf(f, ",\"payback_months\":");
    print_payback(f, t->payback_months);
    fprintf(f, ",\"storage_saved_usd_year\":");
    json_num(f, 12 * (t->cost_before_month - t->cost_after_month));
    fprintf(f, ",\"payback_flagged\":%s", t->payback_flagged ? "true" : "false");
    fprintf(f, ",\"sampled\":%d,\"table_strata\":%d}", t->sampled, t->table_cells);
}

static void print_json(FILE *f, const struct sim_result *r, const char *policy_path,
                       const struct prices *pr)
{
    char now[32];
    fprintf(f, "{\"policy\":");
    json_str(f, policy_path);
    fprintf(f, ",\"now\":\"%s\",\"months\":%d,\"sample\":%d,\"seed\":%" PRIu64
               ",\"method\":\"%s\",\"assets\":%" PRId64 ",\"sampled_assets\":%d,\"transcoded\":%d,"
               "\"transcode_failures\":%d,\"census_complete\":%s,\"budget_cpu_reached\":%s,",
            time_format(r->now, now, sizeof(now)), r->months_requested, r->sample_requested,
            r->seed, method_name(r->method), r->assets, r->sampled_assets, r->transcoded,
            r->transcode_failures, r->census_complete ? "true" : "false",
            r->budget_reached ? "true" : "false");
    fprintf(f, "\"ci\":{\"level\":0.95,\"df\":%d,\"t\":", r->df);
    json_num(f, r->t_quantile);
    fprintf(f, "},\"bytes_saved\":");
    json_num(f, r->total.bytes_before - r->total.bytes_after);
    fprintf(f, ",\"bytes_saved_ci\":[");
    json_num(f, r->total.bytes_before - r->total.bytes_after_hi);
    fprintf(f, ",");
    json_num(f, r->total.bytes_before - r->total.bytes_after_lo);
    fprintf(f, "],\"tiers\":[");
    for (int i = 0; i < r->ntiers; i++) {
        if (i)
            fputc(',', f);
        json_tier(f, &r->tiers[i]);
    }
    fprintf(f, "],\"totals\":");
    json_tier(f, &r->total);
    fprintf(f, ",\"projection\":[");
    for (int k = 0; k < r->nmonths; k++) {
        const struct sim_month *m = &r->months[k];
        fprintf(f, "%s{\"month\":%d,\"bytes_stored\":", k ? "," : "", k);
        json_num(f, m->bytes_stored);
        fprintf(f, ",\"storage_usd\":");
        json_num(f, m->storage_usd);
        fprintf(f, ",\"retrieval_usd\":");
        json_num(f, m->retrieval_usd);
        fprintf(f, ",\"one_off_usd\":");
        json_num(f, m->one_off_usd);
        fprintf(f, ",\"baseline_usd\":");
        json_num(f, m->baseline_usd);
        fprintf(f, ",\"cumulative_saving_usd\":");
        json_num(f, m->cumulative_saving_usd);
        fprintf(f, ",\"tiers\":{");
        for (int i = 0; i < r->ntiers; i++) {
            json_str(f, r->tiers[i].name);
            fprintf(f, ":{\"assets\":%" PRId64 ",\"bytes\":", m->assets[i]);
            json_num(f, m->bytes[i]);
            fprintf(f, "}%s", i + 1 < r->ntiers ? "," : "");
        }
        fprintf(f, "}}");
    }
    fprintf(f, "],\"prices\":{\"file\":");
    json_str(f, pr->file[0] ? pr->file : NULL);
    fprintf(f, ",\"currency\":");
    json_str(f, pr->currency);
    fprintf(f, ",\"source\":");
    json_str(f, pr->source);
    fprintf(f, ",\"compute_vcpu_hour\":");
    json_num(f, pr->compute_vcpu_hour);
    fprintf(f, ",\"classes\":{");
    for (int i = 0; i < pr->nclasses; i++) {
        const struct price_class *c = &pr->classes[i];
        fprintf(f, "%s\"%s\":{\"storage_gb_month\":", i ? "," : "", c->name);
        json_num(f, c->storage_gb_month);
        fprintf(f, ",\"retrieval_gb\":");
        json_num(f, c->retrieval_gb);
        fprintf(f, ",\"requests_per_1000\":");
        json_num(f, c->requests_per_1000);
        fprintf(f, ",\"min_billable_kb\":");
        json_num(f, c->min_billable_kb);
        fprintf(f, ",\"overhead_kb\":");
        json_num(f, c->overhead_kb);
        fprintf(f, ",\"overhead_standard_kb\":");
        json_num(f, c->overhead_standard_kb);
        fprintf(f, ",\"min_storage_days\":%d}", c->min_storage_days);
    }
    fprintf(f, "}},\"cpu_seconds_sampled\":");
    json_num(f, r->cpu_seconds_sampled);
    fprintf(f, ",\"timing\":{\"sample_seconds\":");
    json_num(f, r->transcode_seconds);
    fprintf(f, ",\"scan_seconds\":");
    json_num(f, r->scan_seconds);
    fprintf(f, "},\"ratio_table\":[");
    for (int i = 0; i < sim_ratio_table_len; i++) {
        fprintf(f, "%s{\"ratio\":", i ? "," : "");
        json_num(f, sim_ratio_table[i].ratio);
        fprintf(f, ",\"lo\":");
        json_num(f, sim_ratio_table[i].lo);
        fprintf(f, ",\"hi\":");
        json_num(f, sim_ratio_table[i].hi);
        fprintf(f, ",\"cpu_s_per_mp\":");
        json_num(f, sim_ratio_table[i].cpu_s_per_mp);
        fprintf(f, ",\"source\":");
        json_str(f, sim_ratio_table[i].source);
        fprintf(f, "}");
    }
    fprintf(f, "],\"assumptions\":[");
    for (int i = 0; sim_assumptions[i]; i++) {
        if (i)
            fputc(',', f);
        json_str(f, sim_assumptions[i]);
    }
    fprintf(f, "]}\n");
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
            print_json(stdout, &res, policy_path, &pr);
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
