/* The status page at / (no framework: one HTML document, inline CSS). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "home.h"
#include "status_page.h"

#define MAX_GROUPS 64

struct group {
    char tier[16], cls[16];
    int64_t n;
    uint64_t bytes, current_bytes;
};

struct tally {
    struct group g[MAX_GROUPS];
    int n;
    int64_t assets;
    uint64_t bytes, current_bytes;
};

static int count_row(void *ud, const struct catalog_scan_row *r)
{
    struct tally *t = ud;
    const char *tier = r->tier && *r->tier ? r->tier : "(none)";
    const char *cls = r->storage_class && *r->storage_class ? r->storage_class : "STANDARD";
    int i;
    t->assets++;
    t->bytes += r->bytes;
    t->current_bytes += r->current_bytes;
    for (i = 0; i < t->n; i++)
        if (!strcmp(t->g[i].tier, tier) && !strcmp(t->g[i].cls, cls))
            break;
    if (i == t->n) {
        if (t->n == MAX_GROUPS)
            return 0;
        snprintf(t->g[i].tier, sizeof(t->g[i].tier), "%s", tier);
        snprintf(t->g[i].cls, sizeof(t->g[i].cls), "%s", cls);
        t->n++;
    }
    t->g[i].n++;
    t->g[i].bytes += r->bytes;
    t->g[i].current_bytes += r->current_bytes;
    return 0;
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

struct failures {
    FILE *f;
    int n;
};

static int print_worker(void *ud, const struct catalog_job *j)
{
    struct failures *fl = ud;
    if (fl->n++ >= 50)
        return 0;
    fprintf(fl->f, "<tr><td>%lld</td><td>%lld</td><td>running</td><td>", (long long)j->id,
            (long long)j->asset_id);
    html_text(fl->f, j->tier);
    fputs("</td><td>", fl->f);
    html_text(fl->f, j->owner);
    fprintf(fl->f, " (lease until %lld)</td></tr>\n", (long long)j->lease_until);
    return 0;
}

static int print_failure(void *ud, const struct catalog_job *j)
{
    struct failures *fl = ud;
    if (fl->n++ >= 20)
        return 0;
    fprintf(fl->f, "<tr><td>%lld</td><td>%lld</td><td>%s</td><td>", (long long)j->id,
            (long long)j->asset_id, catalog_job_state_name(j->state));
    html_text(fl->f, j->tier);
    fputs("</td><td>", fl->f);
    html_text(fl->f, j->last_error);
    fputs("</td></tr>\n", fl->f);
    return 0;
}

char *status_page_html(struct home *h)
{
    struct tally t;
    struct catalog_job_counts jc;
    struct failures fl = { 0 };
    int64_t lo = 0, hi = 0, n = 0;
    char *out = NULL;
    size_t len = 0;
    FILE *f;

    memset(&t, 0, sizeof(t));
    memset(&jc, 0, sizeof(jc));
    if (catalog_asset_id_range(h->cat, &lo, &hi, &n) >= 0 && n > 0)
        catalog_asset_scan(h->cat, lo, hi + 1, count_row, &t);
    catalog_job_counts(h->cat, NULL, &jc);
    if (!(f = open_memstream(&out, &len)))
        return NULL;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<title>tierpress status</title><style>body{font:14px sans-serif;margin:2em}"
          "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;"
          "padding:4px 8px;text-align:right}th{background:#eee}</style></head><body>\n"
          "<h1>tierpress status</h1>\n", f);
    fprintf(f, "<p>Assets: <b id=\"assets\">%lld</b>; original bytes: <b id=\"bytes\">%llu</b>; "
               "stored bytes: <b id=\"current-bytes\">%llu</b>; bytes saved: "
               "<b id=\"saved\">%lld</b></p>\n",
            (long long)t.assets, (unsigned long long)t.bytes,
            (unsigned long long)t.current_bytes, (long long)t.bytes - (long long)t.current_bytes);
    fputs("<h2>By tier and storage class</h2>\n<table id=\"tiers\"><tr><th>tier</th>"
          "<th>storage class</th><th>assets</th><th>original bytes</th><th>stored bytes</th></tr>\n", f);
    for (int i = 0; i < t.n; i++) {
        fputs("<tr><td>", f);
        html_text(f, t.g[i].tier);
        fputs("</td><td>", f);
        html_text(f, t.g[i].cls);
        fprintf(f, "</td><td>%lld</td><td>%llu</td><td>%llu</td></tr>\n", (long long)t.g[i].n,
                (unsigned long long)t.g[i].bytes, (unsigned long long)t.g[i].current_bytes);
    }
    fputs("</table>\n<h2>Job queue</h2>\n<table id=\"jobs\"><tr><th>queued</th><th>running</th>"
          "<th>done</th><th>kept</th><th>failed</th><th>dead</th></tr>\n", f);
    fprintf(f, "<tr><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld</td><td>%lld"
               "</td></tr></table>\n",
            (long long)jc.queued, (long long)jc.running, (long long)jc.done, (long long)jc.kept,
            (long long)jc.failed, (long long)jc.dead);
    fputs("<h2>Workers</h2>\n<table id=\"workers\"><tr><th>job</th><th>asset</th><th>state</th>"
          "<th>tier</th><th>worker</th></tr>\n", f);
    fl.f = f;
    catalog_job_list(h->cat, NULL, CATALOG_JOB_RUNNING, print_worker, &fl);
    fl.n = 0;
    fputs("</table>\n<h2>Recent failures</h2>\n<table id=\"failures\"><tr><th>job</th>"
          "<th>asset</th><th>state</th><th>tier</th><th>reason</th></tr>\n", f);
    catalog_job_list(h->cat, NULL, CATALOG_JOB_FAILED, print_failure, &fl);
    catalog_job_list(h->cat, NULL, CATALOG_JOB_DEAD, print_failure, &fl);
    fputs("</table>\n<p><a href=\"/report\">latest simulate report</a> (the newest "
          "<code>HOME/reports/*.html</code>: <code>tierpress simulate --html "
          "HOME/reports/NAME.html</code>)</p>\n</body></html>\n", f);
    fclose(f);
    return out;
}
