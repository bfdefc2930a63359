/* tierpress dups [--threshold T] [--verify V] [--json] [--html F] [--backfill] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "codec.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "neardup.h"
#include "serve.h"

static void dups_help(FILE *f)
{
    fprintf(f, "usage: tierpress dups [--threshold T] [--verify V] [--json] [--html FILE]\n"
               "                      [--backfill]\n"
               "\n"
               "Near-duplicates: the same photo stored in other bytes (resized, re-encoded,\n"
               "converted, stripped, rotated, slightly cropped or edited).  Lists each group\n"
               "with its recommended keeper (highest resolution, least compressed, most\n"
               "metadata, the original) and the bytes the others take; exact duplicates\n"
               "(same pixels, other bytes) are marked; different shots of one scene (a\n"
               "burst) are listed as \"similar\", never as duplicates.  Nothing is deleted:\n"
               "the policy condition `near_duplicate: true` moves non-keepers.\n"
               "\n"
               "  --threshold T  64-bit perceptual hash distance, 0..11 (default %d)\n"
               "  --verify V     the local check's limit (how much more some places changed\n"
               "                 than the rest, after crop alignment; x1000; default %d)\n"
               "  --json         one JSON object per group, then a summary object\n"
               "  --html FILE    also write an HTML report with the thumbnails' hashes\n"
               "  --backfill     fingerprint assets ingested before fingerprints existed\n"
               "                 (from their stored thumbnail), then record every group\n",
            NEARDUP_T, NEARDUP_V);
}

/* ---- backfill ---------------------------------------------------------- */

struct missing {
    int64_t *id;
    size_t n, cap;
    struct catalog *cat;
};

static int missing_row(void *ud, const struct catalog_asset *a)
{
    struct missing *m = ud;
    struct catalog_fp f;
    int ret = catalog_fp_get(m->cat, a->id, &f);
    if (ret == 0)
        return 0;
    if (ret != TP_ERR_NOTFOUND)
        return ret;
    tp_err_clear();
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        int64_t *v = realloc(m->id, sizeof(*v) * cap);
        RETURN_ERR_IF(!v, TP_ERR(ENOMEM), "out of memory");
        m->id = v;
        m->cap = cap;
    }
    m->id[m->n++] = a->id;
    return 0;
}

/* The smallest still rendition (the proxy ingest fingerprints). */
struct pick {
    struct catalog_rendition r;
    int found;
};

static int pick_row(void *ud, const struct catalog_rendition *r)
{
    struct pick *p = ud;
    if (!strcmp(r->format, "mp4") || !strcmp(r->name, "cold"))
        return 0;
    if (!p->found || (int64_t)r->width * r->height < (int64_t)p->r.width * p->r.height) {
        p->r = *r;
        p->found = 1;
    }
    return 0;
}

static int backfill_one(struct home *h, int64_t id, int *done)
{
    struct catalog_asset a;
    struct pick p = { .found = 0 };
    struct tp_buf b = { 0 };
    struct image img = { 0 };
    struct meta m;
    struct codec_opts o;
    struct fingerprint fp;
    int ret;

    meta_init(&m);
    FORWARD_ERR(catalog_asset_get(h->cat, id, &a));
    FORWARD_ERR(catalog_rendition_iterate(h->cat, id, pick_row, &p));
    if (!p.found) {
        tp_log(TP_LOG_INFO, "asset %lld: no still proxy to fingerprint", (long long)id);
        return 0;
    }
    if ((ret = serve_blob(h, id, p.r.blob, 0, &b)) < 0)
        goto end;
    codec_opts_defaults(&o);
    if ((ret = codec_decode_any(b.data, b.len, p.r.name, &o, &img, &m, NULL)) < 0)
        goto end;
    if (fingerprint_image(&img, &fp) < 0) {
        tp_err_clear();
        goto end;
    }
    static struct catalog_fp f;
    memset(&f, 0, sizeof(f));
    f.asset_id = id;
    f.phash = fp.phash;
    f.keeper = 1;
    fingerprint_vhex(&fp, f.vhash);
    fingerprint_thumb_hex(&fp, f.thumb);
    if ((ret = catalog_fp_put(h->cat, &f)) < 0)
        goto end;
    (*done)++;
end:
    buf_free(&b);
    image_free(&img);
    meta_free(&m);
    return ret;
}

static int backfill(struct home *h, int *done)
{
    struct missing m = { .cat = h->cat };
    int ret = catalog_asset_iterate(h->cat, missing_row, &m);
    for (size_t i = 0; ret >= 0 && i < m.n; i++) {
        ret = backfill_one(h, m.id[i], done);
        if (ret < 0) {
            char why[256];
            cli_error_line("dups --backfill: asset %lld: %s", (long long)m.id[i],
                           tp_strerror(ret, why, sizeof(why)));
        }
    }
    free(m.id);
    return ret;
}

/* ---- output ------------------------------------------------------------ */

/* A member of a group: the asset, its keeper/exact flags (duplicates) and,
 * after the first, its distances to the first. */
static json_t *member_json(const struct neardup_group *g, int i)
{
    const struct neardup_member *m = &g->m[i];
    json_t *o = json_object();
    int bad = json_set_int(o, "id", (long long)m->a.id) < 0 ||
              json_set_text(o, "format", m->a.format) < 0 ||
              json_set_int(o, "width", m->a.width) < 0 || json_set_int(o, "height", m->a.height) < 0 ||
              json_set_int(o, "bytes", (long long)m->a.bytes) < 0 ||
              json_set_text(o, "capture_time", m->a.capture_time) < 0;
    if (!g->similar)
        bad = bad || json_set_bool(o, "keeper", m->keeper) < 0 ||
              json_set_bool(o, "exact", m->exact) < 0;
    if (i)
        bad = bad || json_set_int(o, "distance", m->dist) < 0 ||
              json_set_int(o, "verify_distance", m->vdist) < 0 ||
              json_set_int(o, "local_diff", m->local) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *group_json(const struct neardup_group *g)
{
    json_t *o = json_object(), *ms = json_array();
    int bad = json_set_text(o, "type", g->similar ? "similar" : "duplicate") < 0 ||
              json_set_int(o, "group", (long long)g->id) < 0;
    if (!g->similar)
        bad = bad || json_set_int(o, "keeper", (long long)g->m[0].a.id) < 0 ||
              json_set_int(o, "bytes_others", (long long)g->bytes_others) < 0;
    for (int i = 0; !bad && i < g->n; i++)
        bad = json_array_append_new(ms, member_json(g, i)) < 0;
    bad = bad || json_object_set(o, "members", ms) < 0;
    json_decref(ms);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int print_json(const struct neardup_report *r, const struct neardup_opts *o)
{
    int ndup = 0, nsim = 0, nexact = 0, ret;
    for (int k = 0; k < r->ngroups; k++) {
        const struct neardup_group *g = &r->g[k];
        if ((ret = json_print(stdout, group_json(g))) < 0)
            return ret;
        if (g->similar)
            nsim++;
        else
            ndup++;
        for (int i = 0; i < g->n; i++)
            nexact += g->m[i].exact;
    }
    json_t *s = json_object();
    int bad = json_set_bool(s, "summary", 1) < 0 ||
              json_set_int(s, "fingerprints", (long long)r->fingerprints) < 0 ||
              json_set_int(s, "pairs", (long long)r->pairs) < 0 ||
              json_set_int(s, "duplicate_groups", ndup) < 0 ||
              json_set_int(s, "similar_sets", nsim) < 0 ||
              json_set_int(s, "exact_members", nexact) < 0 ||
              json_set_int(s, "bytes_others", (long long)r->bytes_others) < 0 ||
              json_set_int(s, "threshold", o->t) < 0 || json_set_int(s, "verify", o->v) < 0;
    if (bad) {
        json_decref(s);
        s = NULL;
    }
    return json_print(stdout, s);
}

static void print_text(const struct neardup_report *r)
{
    int ndup = 0;
    for (int k = 0; k < r->ngroups; k++) {
        const struct neardup_group *g = &r->g[k];
        if (g->similar)
            continue;
        ndup++;
        printf("duplicates: group %lld, keep %lld, the others take %llu bytes\n",
               (long long)g->id, (long long)g->m[0].a.id, (unsigned long long)g->bytes_others);
        for (int i = 0; i < g->n; i++) {
            const struct neardup_member *m = &g->m[i];
            printf("  %s %6lld  %-5s %5dx%-5d %10llu", m->keeper ? "keep" : "    ",
                   (long long)m->a.id, m->a.format, m->a.width, m->a.height,
                   (unsigned long long)m->a.bytes);
            if (i)
                printf("  distance %d, local %d%s", m->dist, m->local, m->exact ? "  exact" : "");
            printf("\n");
        }
    }
    /* exact duplicates, listed separately */
    for (int k = 0; k < r->ngroups; k++) {
        const struct neardup_group *g = &r->g[k];
        int n = 0;
        for (int i = 0; !g->similar && i < g->n; i++)
            n += g->m[i].exact;
        if (!n)
            continue;
        printf("exact (same pixels, other bytes):");
        for (int i = 0; i < g->n; i++)
            if (g->m[i].exact)
                printf(" %lld", (long long)g->m[i].a.id);
        printf("\n");
    }
    for (int k = 0; k < r->ngroups; k++) {
        const struct neardup_group *g = &r->g[k];
        if (!g->similar)
            continue;
        printf("similar (different shots, not duplicates):");
        for (int i = 0; i < g->n; i++)
            printf(" %lld", (long long)g->m[i].a.id);
        printf("\n");
    }
    printf("%lld fingerprints, %d duplicate groups, %llu bytes in non-keepers\n",
           (long long)r->fingerprints, ndup, (unsigned long long)r->bytes_others);
}

static void html_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
    }
}

static int write_html(const char *path, const struct neardup_report *r)
{
    struct tp_buf b = { 0 };
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    int ret;
    RETURN_ERR_IF(!f, TP_ERR(errno), "%s: cannot build the report", path);
    fprintf(f, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>tierpress "
               "near-duplicates</title>\n<style>body{font-family:sans-serif}table{border-"
               "collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
               ".keep{font-weight:bold}</style></head><body>\n"
               "<h1>Near-duplicates</h1>\n<p>%lld fingerprints; %llu bytes in non-keepers.</p>\n",
            (long long)r->fingerprints, (unsigned long long)r->bytes_others);
    for (int k = 0; k < r->ngroups; k++) {
        const struct neardup_group *g = &r->g[k];
        fprintf(f, "<h2>%s group %lld</h2>\n<table><tr><th>asset</th><th>format</th>"
                   "<th>size</th><th>bytes</th><th>capture</th><th>role</th></tr>\n",
                g->similar ? "Similar" : "Duplicate", (long long)g->id);
        for (int i = 0; i < g->n; i++) {
            const struct neardup_member *m = &g->m[i];
            fprintf(f, "<tr%s><td>%lld</td><td>", m->keeper ? " class=\"keep\"" : "",
                    (long long)m->a.id);
            html_text(f, m->a.format);
            fprintf(f, "</td><td>%dx%d</td><td>%llu</td><td>", m->a.width, m->a.height,
                    (unsigned long long)m->a.bytes);
            html_text(f, m->a.capture_time);
            fprintf(f, "</td><td>%s</td></tr>\n",
                    g->similar ? "similar" : m->keeper ? "keeper" : m->exact ? "exact" : "duplicate");
        }
        fprintf(f, "</table>\n");
    }
    fprintf(f, "</body></html>\n");
    fclose(f);
    b.data = (uint8_t *)mem;
    b.len = len;
    ret = file_write_atomic(path, b.data, b.len);
    free(mem);
    return ret;
}

int cmd_dups(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "threshold", required_argument, NULL, 't' },
        { "verify", required_argument, NULL, 'V' },
        { "json", no_argument, NULL, 'j' },
        { "html", required_argument, NULL, 'H' },
        { "backfill", no_argument, NULL, 'b' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct neardup_opts o;
    struct neardup_report r;
    struct home home;
    const char *html = NULL;
    int c, ret, json = 0, fill = 0, done = 0;
    char *e;

    neardup_defaults(&o);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't':
            o.t = (int)strtol(optarg, &e, 10);
            if (*e || !*optarg)
                return cli_usage_error("dups", "--threshold '%s' is not a number", optarg);
            break;
        case 'V':
            o.v = (int)strtol(optarg, &e, 10);
            if (*e || !*optarg)
                return cli_usage_error("dups", "--verify '%s' is not a number", optarg);
            break;
        case 'j': json = 1; break;
        case 'H': html = optarg; break;
        case 'b': fill = 1; break;
        case 'h': dups_help(stdout); return 0;
        default: return cli_usage_error("dups", "bad option");
        }
    }
    if (optind < argc)
        return cli_usage_error("dups", "unexpected argument '%s'", argv[optind]);
    if ((ret = neardup_validate(&o)) < 0)
        return cli_usage_error("dups", "%s", tp_err_detail());
    if ((ret = home_open_mode(&home, cli->cfg, fill ? HOME_OPEN : HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    if (fill && (ret = backfill(&home, &done)) < 0)
        goto end;
    if ((ret = neardup_find(home.cat, &o, &r)) < 0)
        goto end;
    if (fill) {
        ret = neardup_store(home.cat, &r);
        tp_log(TP_LOG_INFO, "dups --backfill: %d assets fingerprinted, groups recorded", done);
    }
    if (ret >= 0) {
        if (json)
            ret = print_json(&r, &o);
        else
            print_text(&r);
        if (ret >= 0 && html && (ret = write_html(html, &r)) < 0) {
            neardup_report_free(&r);
            home_close(&home);
            return cli_fail(html, ret);
        }
    }
    neardup_report_free(&r);
end:
    home_close(&home);
    if (ret < 0)
        return cli_fail("dups", ret);
    return 0;
}
