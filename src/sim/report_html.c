/* The simulator's HTML report: inline CSS + SVG generated here. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fileio.h"
#include "health.h"
#include "report_html.h"
#include "timeutil.h"

#define W 760
#define H 300
#define ML 70 /* left margin for the axis labels */
#define MB 60
#define MT 30

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static const char *human(double b, char *buf, size_t len)
{
    const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    int i = 0;
    while (fabs(b) >= 1024 && i < 5) {
        b /= 1024;
        i++;
    }
    /* three significant digits, the same for every figure: 1.25 MiB, 12.5 MiB, 125 MiB */
    snprintf(buf, len, !i ? "%.0f %s" : fabs(b) >= 100 ? "%.0f %s" : fabs(b) >= 10 ? "%.1f %s"
                                                                                   : "%.2f %s",
             b, u[i]);
    return buf;
}

static const char *currency = "USD"; /* the price sheet's (write_report sets it) */

/* "-$25.00" (never "$-25.00"); another currency as "-25.00 EUR". */
static const char *money(double v, char *buf, size_t len)
{
    double a = fabs(v);
    const char *sign = v < 0 && a >= 0.00005 ? "-" : "";
    int prec = a >= 100 ? 0 : a >= 1 ? 2 : 4;
    if (!strcmp(currency, "USD"))
        snprintf(buf, len, "%s$%.*f", sign, prec, a);
    else
        snprintf(buf, len, "%s%.*f %s", sign, prec, a, currency);
    return buf;
}

/* A "nice" axis maximum >= v. */
static double nice_max(double v)
{
    if (v <= 0)
        return 1;
    double e = pow(10, floor(log10(v))), m = v / e;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * e;
}

typedef const char *(*fmt_fn)(double v, char *buf, size_t len);
static const char *fmt_bytes(double v, char *buf, size_t len);

/* An axis maximum whose quarters read well: for bytes in the IEC unit of
 * the value (500 KiB -> ticks 125/250/375/500 KiB, not 122.07 KiB steps). */
static double axis_max(double v, fmt_fn fmt)
{
    double unit = 1;
    if (fmt == fmt_bytes)
        while (v / unit >= 1024 && unit < 1125899906842624.0)
            unit *= 1024;
    double m = nice_max(v / unit) * unit;
    return m;
}

/* An SVG chart's frame and its title (also as the accessible name). */
static void chart_open(FILE *f, const char *title)
{
    fprintf(f, "<figure><svg width=\"%d\" height=\"%d\" "
               "viewBox=\"0 0 %d %d\" role=\"img\"><title>", W, H, W, H);
    esc(f, title);
    fprintf(f, "</title>\n<text x=\"%d\" y=\"18\" class=\"t\">", ML);
    esc(f, title);
    fprintf(f, "</text>\n");
}

/* Grouped bars: for each label, a (before) and b (after). */
static void bars(FILE *f, const char *title, const char *const *labels, const double *a,
                 const double *b, int n, fmt_fn fmt)
{
    double mx = 0;
    char buf[40];
    for (int i = 0; i < n; i++)
        mx = fmax(mx, fmax(a[i], b[i]));
    mx = axis_max(mx, fmt);
    chart_open(f, title);
    for (int g = 0; g <= 4; g++) {
        double y = MT + (H - MT - MB) * (1 - g / 4.0);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"g\"/>"
                   "<text x=\"%d\" y=\"%.1f\" class=\"a\" text-anchor=\"end\">%s</text>\n",
                ML, W - 10, y, y, ML - 4, y + 4, fmt(mx * g / 4, buf, sizeof(buf)));
    }
    double gw = n ? (double)(W - ML - 10) / n : 0, bw = gw * 0.35;
    for (int i = 0; i < n; i++) {
        double x = ML + gw * i + gw * 0.12;
        double ha = (H - MT - MB) * a[i] / mx, hb = (H - MT - MB) * b[i] / mx;
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"b0\">"
                   "<title>before: %s</title></rect>\n",
                x, H - MB - ha, bw, ha, fmt(a[i], buf, sizeof(buf)));
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"b1\">"
                   "<title>after: %s</title></rect>\n",
                x + bw, H - MB - hb, bw, hb, fmt(b[i], buf, sizeof(buf)));
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"a\" text-anchor=\"middle\">", x + bw, H - MB + 16);
        esc(f, labels[i]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" class=\"b0\"/><text x=\"%d\" "
               "y=\"%d\" class=\"a\">before</text><rect x=\"%d\" y=\"%d\" width=\"12\" "
               "height=\"12\" class=\"b1\"/><text x=\"%d\" y=\"%d\" class=\"a\">after</text>\n",
            ML, H - 24, ML + 16, H - 14, ML + 80, H - 24, ML + 96, H - 14);
    fprintf(f, "</svg></figure>\n");
}

/* Lines over months 0..n-1; up to 3 series. */
static void lines(FILE *f, const char *title, const char *const *names, const double *const *ys,
                  int nseries, int n, fmt_fn fmt)
{
    double mx = 0, mn = 0;
    char buf[40];
    static const char *const cls[] = { "l0", "l1", "l2" };
    for (int s = 0; s < nseries; s++)
        for (int i = 0; i < n; i++) {
            mx = fmax(mx, ys[s][i]);
            mn = fmin(mn, ys[s][i]);
        }
    mx = axis_max(mx, fmt);
    mn = mn < 0 ? -axis_max(-mn, fmt) : 0;
    chart_open(f, title);
    for (int g = 0; g <= 4; g++) {
        double v = mn + (mx - mn) * g / 4, y = MT + (H - MT - MB) * (1 - g / 4.0);
        fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"g\"/>"
                   "<text x=\"%d\" y=\"%.1f\" class=\"a\" text-anchor=\"end\">%s</text>\n",
                ML, W - 10, y, y, ML - 4, y + 4, fmt(v, buf, sizeof(buf)));
    }
    double dx = n > 1 ? (double)(W - ML - 20) / (n - 1) : 0;
    for (int i = 0; i < n; i += n > 24 ? 6 : 1)
        fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"a\" text-anchor=\"middle\">%d</text>\n",
                ML + dx * i, H - MB + 16, i);
    fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"a\">month</text>\n", W - 60, H - MB + 32);
    for (int s = 0; s < nseries; s++) {
        fprintf(f, "<polyline class=\"%s\" points=\"", cls[s % 3]);
        for (int i = 0; i < n; i++)
            fprintf(f, "%.1f,%.1f ", ML + dx * i,
                    MT + (H - MT - MB) * (1 - (ys[s][i] - mn) / (mx - mn)));
        fprintf(f, "\"/>\n<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"4\" class=\"k%d\"/>"
                   "<text x=\"%d\" y=\"%d\" class=\"a\">",
                ML + 180 * s, H - 20, s % 3, ML + 180 * s + 16, H - 14);
        esc(f, names[s]);
        fprintf(f, "</text>\n");
    }
    fprintf(f, "</svg></figure>\n");
}

static const char *fmt_bytes(double v, char *buf, size_t len) { return human(v, buf, len); }
static const char *fmt_money(double v, char *buf, size_t len) { return money(v, buf, len); }

/* The "Metadata health" section (tierpress health, catalog only). */
static void write_health(FILE *f, const struct health_report *h)
{
    fprintf(f, "<h2>Metadata health</h2>\n<p class=\"note\">%lld assets; from the catalog alone "
               "(<code>tierpress health</code> also reads the originals).</p>\n<table><tr>"
               "<th>problem</th><th>assets</th><th>examples</th><th>fix</th></tr>\n",
            (long long)h->assets);
    for (int i = 0; i < HEALTH_NPROBLEMS; i++) {
        const struct health_item *it = &h->item[i];
        fprintf(f, "<tr><td>");
        esc(f, it->title);
        fprintf(f, "</td><td>%lld</td><td>", (long long)it->count);
        for (int j = 0; j < it->nexamples; j++) {
            fprintf(f, "%sasset %lld: ", j ? "<br>" : "", (long long)it->ex[j].asset_id);
            esc(f, it->ex[j].detail);
        }
        fprintf(f, "</td><td>");
        esc(f, it->count ? it->fix : "");
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
}

static void write_report(FILE *f, const struct sim_result *r, const char *policy_path,
                         const struct prices *pr, const struct health_report *health)
{
    char now[32], b1[40], b2[40], b3[40], b4[40], b5[40], b6[40];
    const char *labels[SIM_MAX_TIERS] = { 0 };
    double a[SIM_MAX_TIERS] = { 0 }, b[SIM_MAX_TIERS] = { 0 };
    int n = 0, idx[SIM_MAX_TIERS] = { 0 };

    const char *slash = strrchr(policy_path, '/');
    const char *policy_name = slash ? slash + 1 : policy_path; /* never an absolute path */
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>tierpress "
               "simulate: ");
    esc(f, policy_name);
    fprintf(f, "</title>\n<style>\n"
               "body{font:14px/1.4 system-ui,sans-serif;margin:2em auto;padding:0 1em;color:#222;"
               "max-width:1180px}\n"
               /* wide tables wrap their headers, never their cells, and fit the page */
               "table{border-collapse:collapse;margin:1em 0;width:100%%;font-size:11px}"
               "td,th{border:1px solid #ccc;padding:2px 3px;text-align:right}"
               "td{white-space:nowrap}td.iv{white-space:normal;text-align:center}"
               "th{background:#f3f3f3;vertical-align:bottom;font-weight:600;font-size:11px}"
               "td:first-child,th:first-child{text-align:left}\n"
               ".headline{font-size:22px;margin:.3em 0}\n"
               "svg{width:100%%;height:auto;box-sizing:border-box}\n"
               "@media print{body{margin:0;padding:0;max-width:none;font-size:11px}"
               "table{font-size:8px;table-layout:fixed}td,th{padding:1px 2px;overflow-wrap:anywhere}"
               "td{white-space:normal}"
               "figure,table{break-inside:avoid}}\n"
               "tr.total td{font-weight:bold}\n"
               "svg{background:#fff;border:1px solid #ddd;margin:.5em 0}.t{font-weight:bold;font-size:14px}"
               ".a{font-size:11px;fill:#444}.g{stroke:#e5e5e5}.b0{fill:#9aa9c7}.b1{fill:#2f7d4f}"
               ".l0,.l1,.l2{fill:none;stroke-width:2}.l0{stroke:#2f7d4f}.l1{stroke:#9aa9c7}"
               ".l2{stroke:#c26a2f}.k0{fill:#2f7d4f}.k1{fill:#9aa9c7}.k2{fill:#c26a2f}\n"
               "figure{margin:0}.note{color:#555;font-size:13px}\n</style></head><body>\n");
    fprintf(f, "<h1>Policy dry-run: ");
    esc(f, policy_name);
    {
        /* the headline: what a year of the policy saves, and what it costs once */
        double month = (r->total.cost_before_month + r->total.retrieval_before_month) -
                       (r->total.cost_after_month + r->total.retrieval_after_month);
        fprintf(f, "</h1>\n<p class=\"headline\"><b>%s %s a year</b> in storage and retrieval "
                   "(%s a month), for a one-off %s.</p>\n", month >= 0 ? "Saves" : "Costs",
                money(fabs(12 * month), b6, sizeof(b6)), money(fabs(month), b1, sizeof(b1)),
                money(r->total.one_off_usd, b2, sizeof(b2)));
    }
    fprintf(f, "<p>Evaluated at %s over %" PRId64 " assets; prediction method <b>%s</b>",
            time_format(r->now, now, sizeof(now)), r->assets,
            r->method == SIM_METHOD_EXACT ? "exact (every distinct blob transcoded)"
            : r->method == SIM_METHOD_SAMPLE ? "stratified sample, ratio estimator, 95% interval"
            : r->method == SIM_METHOD_TABLE ? "ratio table (no transcodes)"
                                            : "none needed (no tier transcodes)");
    if (r->method == SIM_METHOD_SAMPLE || r->method == SIM_METHOD_EXACT)
        fprintf(f, " (%d sampled assets, %d distinct blobs transcoded, seed %" PRIu64 ")",
                r->sampled_assets, r->transcoded, r->seed);
    fprintf(f, ". Nothing was written to the catalog or the store.</p>\n");
    fprintf(f, "<p><b>Saved: %s of %s</b>; storage %s/month now, %s/month after; one-off %s; ",
            human(r->total.bytes_before - r->total.bytes_after, b1, sizeof(b1)),
            human(r->total.bytes_before, b2, sizeof(b2)),
            money(r->total.cost_before_month + r->total.retrieval_before_month, b3, sizeof(b3)),
            money(r->total.cost_after_month + r->total.retrieval_after_month, b4, sizeof(b4)),
            money(r->total.one_off_usd, b5, sizeof(b5)));
    if (r->total.payback_months >= 0)
        fprintf(f, "payback %.1f months.</p>\n", r->total.payback_months);
    else
        fprintf(f, "no payback (the policy does not lower the monthly cost).</p>\n");

    /* the risks, in plain words */
    fprintf(f, "<h2>What could turn out differently</h2>\n<ul>\n");
    if (r->method == SIM_METHOD_SAMPLE)
        fprintf(f, "<li>The sizes after the run are predicted from %d transcoded samples: with "
                   "95%% confidence these assets will take between %s and %s (predicted %s).</li>\n",
                r->transcoded, human(r->total.bytes_after_lo, b1, sizeof(b1)),
                human(r->total.bytes_after_hi, b2, sizeof(b2)),
                human(r->total.bytes_after, b3, sizeof(b3)));
    else if (r->method == SIM_METHOD_TABLE)
        fprintf(f, "<li>No file was transcoded: the sizes come from a table of typical ratios, "
                   "so your photos may shrink more or less (between %s and %s after the run is "
                   "the table's range).</li>\n", human(r->total.bytes_after_lo, b1, sizeof(b1)),
                human(r->total.bytes_after_hi, b2, sizeof(b2)));
    else if (r->method == SIM_METHOD_EXACT)
        fprintf(f, "<li>Every distinct file was transcoded: the sizes are measured, not "
                   "predicted.</li>\n");
    if (r->transcode_failures)
        fprintf(f, "<li>%d sample transcode(s) failed; those originals would stay as they "
                   "are.</li>\n", r->transcode_failures);
    if (r->total.early_delete_usd > 0)
        fprintf(f, "<li>Objects leaving a storage class before its minimum duration are billed "
                   "for the rest of it: %s of early-deletion charges are in the one-off "
                   "cost.</li>\n", money(r->total.early_delete_usd, b1, sizeof(b1)));
    fprintf(f, "<li>Reading from colder classes costs money: retrieval is estimated from the "
               "last 30 days of access at %s a month after the run (%s now). A sudden "
               "interest in old photos would cost more.</li>\n",
            money(r->total.retrieval_after_month, b1, sizeof(b1)),
            money(r->total.retrieval_before_month, b2, sizeof(b2)));
    fprintf(f, "<li>Prices are list prices from the price sheet (%s): check them against "
               "your contract.</li>\n</ul>\n", pr->currency);

    for (int i = 0; i < r->ntiers; i++)
        if (r->tiers[i].assets)
            idx[n++] = i;
    for (int i = 0; i < n; i++) {
        labels[i] = r->tiers[idx[i]].name;
        a[i] = r->tiers[idx[i]].bytes_before;
        b[i] = r->tiers[idx[i]].bytes_after;
    }
    bars(f, "Bytes by tier, now and after the run", labels, a, b, n, fmt_bytes);
    for (int i = 0; i < n; i++) {
        const struct sim_tier *t = &r->tiers[idx[i]];
        a[i] = t->cost_before_month + t->retrieval_before_month;
        b[i] = t->cost_after_month + t->retrieval_after_month;
    }
    bars(f, "Monthly cost by tier (storage + retrieval), now and after", labels, a, b, n, fmt_money);

    if (r->nmonths > 1) {
        double *ys = calloc((size_t)r->nmonths * 4, sizeof(double));
        if (ys) {
            for (int k = 0; k < r->nmonths; k++) {
                ys[k] = r->months[k].bytes_stored;
                ys[r->nmonths + k] = r->months[k].storage_usd + r->months[k].retrieval_usd;
                ys[2 * r->nmonths + k] = r->months[k].baseline_usd;
                ys[3 * r->nmonths + k] = r->months[k].cumulative_saving_usd;
            }
            const double *s1[] = { ys };
            const char *n1[] = { "bytes stored" };
            lines(f, "Projection: bytes stored", n1, s1, 1, r->nmonths, fmt_bytes);
            const double *s2[] = { ys + r->nmonths, ys + 2 * r->nmonths, ys + 3 * r->nmonths };
            const char *n2[] = { "monthly cost with the policy", "monthly cost doing nothing",
                                 "cumulative saving" };
            lines(f, "Projection: monthly cost and cumulative saving", n2, s2, 3, r->nmonths,
                  fmt_money);
            fprintf(f, "<p class=\"note\">Month 0 is right after the run: the replaced "
                       "originals are still stored, held for their grace period (the policy's "
                       "<code>original: {delete_after_days: N}</code>), so storage briefly rises "
                       "before it falls once gc deletes them.</p>\n");
            free(ys);
        }
    }

    {
        /* the same figures by storage class: what the bill is made of */
        const char *cls[SIM_MAX_TIERS];
        double cb[SIM_MAX_TIERS] = { 0 }, cc[SIM_MAX_TIERS] = { 0 }, cr[SIM_MAX_TIERS] = { 0 };
        int64_t cn[SIM_MAX_TIERS] = { 0 };
        int nc = 0;
        for (int i = 0; i < r->ntiers; i++) {
            const struct sim_tier *t = &r->tiers[i];
            const char *name = t->storage_class[0] ? t->storage_class : "unchanged";
            int k = 0;
            if (!t->assets)
                continue;
            while (k < nc && strcmp(cls[k], name))
                k++;
            if (k == nc)
                cls[nc++] = name;
            cn[k] += t->assets;
            cb[k] += t->bytes_after;
            cc[k] += t->cost_after_month;
            cr[k] += t->retrieval_after_month;
        }
        fprintf(f, "<h2>By storage class (after the run)</h2>\n<table><tr><th>storage class</th>"
                   "<th>assets</th><th>bytes</th><th>storage a month</th><th>retrieval a month</th>"
                   "<th>storage a year</th></tr>\n");
        for (int k = 0; k < nc; k++) {
            fprintf(f, "<tr><td>");
            esc(f, cls[k]);
            fprintf(f, "</td><td>%" PRId64 "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                    cn[k], human(cb[k], b1, sizeof(b1)), money(cc[k], b2, sizeof(b2)),
                    money(cr[k], b3, sizeof(b3)), money(12 * cc[k], b4, sizeof(b4)));
        }
        fprintf(f, "</table>\n");
    }
    fprintf(f, "<h2>Tiers (right after the run)</h2>\n<table><tr><th>tier</th><th>class</th>"
               "<th>mode</th><th>original</th><th>assets</th><th>bytes now</th><th>bytes after</th>"
               "<th>95%% interval</th><th>storage $/mo now</th><th>storage $/mo after</th>"
               "<th>retrieval $/mo now</th><th>retrieval $/mo after</th><th>CPU-hours</th>"
               "<th>compute $</th><th>early deletion $</th><th>requests $</th><th>grace $</th>"
               "<th>payback</th></tr>\n");
    for (int i = 0; i <= r->ntiers; i++) {
        const struct sim_tier *t = i < r->ntiers ? &r->tiers[i] : &r->total;
        char pb[80];
        if (i < r->ntiers && !t->assets)
            continue;
        if (t->payback_months >= 0)
            snprintf(pb, sizeof(pb), "%.1f mo", t->payback_months);
        else
            snprintf(pb, sizeof(pb), "never");
        if (t->payback_flagged)
            snprintf(pb + strlen(pb), sizeof(pb) - strlen(pb), "<br>over the threshold");
        fprintf(f, "<tr%s><td>", i == r->ntiers ? " class=\"total\"" : "");
        esc(f, t->name);
        fprintf(f, "</td><td>");
        esc(f, t->storage_class[0] ? t->storage_class : "-");
        fprintf(f, "</td><td>%s</td><td>%s", t->mode, t->original);
        if (t->grace_days)
            fprintf(f, " %d d", t->grace_days);
        fprintf(f, "</td><td>%" PRId64 "</td><td>%s</td><td>%s</td><td class=\"iv\">%s&nbsp;..<br>%s</td><td>%s</td>"
                   "<td>%s</td>",
                t->assets, human(t->bytes_before, b1, sizeof(b1)),
                human(t->bytes_after, b2, sizeof(b2)), human(t->bytes_after_lo, b3, sizeof(b3)),
                human(t->bytes_after_hi, b4, sizeof(b4)),
                money(t->cost_before_month, b5, sizeof(b5)),
                money(t->cost_after_month, b6, sizeof(b6)));
        fprintf(f, "<td>%s</td>", money(t->retrieval_before_month, b1, sizeof(b1)));
        fprintf(f, "<td>%s</td><td>%.3f</td>", money(t->retrieval_after_month, b1, sizeof(b1)),
                t->compute_cpu_hours);
        fprintf(f, "<td>%s</td>", money(t->compute_usd, b1, sizeof(b1)));
        fprintf(f, "<td>%s</td>", money(t->early_delete_usd, b1, sizeof(b1)));
        fprintf(f, "<td>%s</td>", money(t->requests_usd, b1, sizeof(b1)));
        fprintf(f, "<td>%s</td><td class=\"iv\">%s", money(t->grace_usd, b1, sizeof(b1)), pb);
        /* the cheaper alternatives beside the flag: same class, no lossy encode */
        for (int k = 0; t->payback_flagged && k < SIM_NALT; k++) {
            const struct sim_alt *al = &t->alt[k];
            fprintf(f, "<br><span class=\"alt\" data-kind=\"%s\">%s: %s after, one-off %s, saves %s/mo, payback ",
                    sim_alt_kind[k], k == SIM_ALT_CLASS ? "class only" : "lossless",
                    human(al->bytes_after, b2, sizeof(b2)), money(al->one_off_usd, b1, sizeof(b1)),
                    money(al->saving_month, b3, sizeof(b3)));
            if (al->payback_months < 0)
                fprintf(f, "never</span>");
            else
                fprintf(f, "%.1f mo</span>", al->payback_months);
        }
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");

    if (r->nmonths > 1) {
        fprintf(f, "<h2>Projection</h2>\n<table><tr><th>month</th><th>bytes stored</th>"
                   "<th>storage $</th><th>retrieval $</th><th>one-off $</th><th>doing nothing $</th>"
                   "<th>cumulative saving $</th>");
        for (int i = 0; i < n; i++) {
            fprintf(f, "<th>");
            esc(f, labels[i]);
            fprintf(f, " (assets)</th>");
        }
        fprintf(f, "</tr>\n");
        for (int k = 0; k < r->nmonths; k++) {
            const struct sim_month *m = &r->months[k];
            fprintf(f, "<tr><td>%d</td><td>%s</td>", k, human(m->bytes_stored, b1, sizeof(b1)));
            fprintf(f, "<td>%s</td>", money(m->storage_usd, b1, sizeof(b1)));
            fprintf(f, "<td>%s</td>", money(m->retrieval_usd, b1, sizeof(b1)));
            fprintf(f, "<td>%s</td>", money(m->one_off_usd, b1, sizeof(b1)));
            fprintf(f, "<td>%s</td>", money(m->baseline_usd, b1, sizeof(b1)));
            fprintf(f, "<td>%s</td>", money(m->cumulative_saving_usd, b1, sizeof(b1)));
            for (int i = 0; i < n; i++)
                fprintf(f, "<td>%" PRId64 "</td>", m->assets[idx[i]]);
            fprintf(f, "</tr>\n");
        }
        fprintf(f, "</table>\n");
    }

    fprintf(f, "<h2>Prices</h2>\n<p class=\"note\">");
    esc(f, pr->source);
    if (pr->file[0]) {
        fprintf(f, "; overrides from ");
        esc(f, pr->file);
    }
    fprintf(f, ". Compute: $%.4f per vCPU-hour.</p>\n<table><tr><th>class</th><th>$/GB-month</th>"
               "<th>retrieval $/GB</th><th>$/1000 requests</th><th>min billable KB</th>"
               "<th>overhead KB</th><th>min days</th></tr>\n", pr->compute_vcpu_hour);
    for (int i = 0; i < pr->nclasses; i++) {
        const struct price_class *c = &pr->classes[i];
        fprintf(f, "<tr><td>");
        esc(f, c->name);
        fprintf(f, "</td><td>%g</td><td>%g</td><td>%g</td><td>%g</td><td>%g + %g at STANDARD</td>"
                   "<td>%d</td></tr>\n", c->storage_gb_month, c->retrieval_gb, c->requests_per_1000,
                c->min_billable_kb, c->overhead_kb, c->overhead_standard_kb, c->min_storage_days);
    }
    fprintf(f, "</table>\n<h2>What is modelled</h2>\n<ul class=\"note\">\n");
    for (int i = 0; sim_assumptions[i]; i++) {
        fprintf(f, "<li>");
        esc(f, sim_assumptions[i]);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n<p class=\"note\">Ratio table (used with --sample 0 and for strata the "
               "sample did not reach):</p>\n<ul class=\"note\">\n");
    for (int i = 0; i < sim_ratio_table_len; i++) {
        fprintf(f, "<li>%.2f (%.2f&ndash;%.2f): ", sim_ratio_table[i].ratio, sim_ratio_table[i].lo,
                sim_ratio_table[i].hi);
        esc(f, sim_ratio_table[i].source);
        fprintf(f, "</li>\n");
    }
    fprintf(f, "</ul>\n");
    if (health)
        write_health(f, health);
    fprintf(f, "</body></html>\n");
}

int report_html_write(const char *path, const struct sim_result *r, const char *policy_path,
                      const struct prices *pr)
{
    return report_html_write_health(path, r, policy_path, pr, NULL);
}

int report_html_write_health(const char *path, const struct sim_result *r,
                             const char *policy_path, const struct prices *pr,
                             const struct health_report *health)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int ret;
    if (!f)
        return TP_ERR(ENOMEM);
    currency = pr->currency;
    write_report(f, r, policy_path, pr, health);
    if (fclose(f) != 0) {
        free(text);
        return TP_ERR(ENOMEM);
    }
    ret = file_write_atomic(path, text, len);
    free(text);
    return ret;
}
