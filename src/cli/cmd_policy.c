/* tierpress policy check P... [--json]
 * tierpress policy explain P [ASSET] [--facts K=V,...] [--now TIME] [--json] */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "facts.h"
#include "home.h"
#include "log.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "policy.h"
#include "probe.h"
#include "timeutil.h"

static void policy_help(FILE *f)
{
    fprintf(f,
            "usage: tierpress policy check POLICY.yaml... [--json]\n"
            "       tierpress policy explain POLICY.yaml [ASSET] [--facts K=V,...] [--now TIME] [--json]\n"
            "\n"
            "check    parses and validates each policy; prints 'P: ok (N tiers)' or every\n"
            "         error as 'P:line:column: message'.  Exit status 1 on any error.\n"
            "explain  shows which tier an asset falls in and why: every tier's conditions\n"
            "         with the asset's values.  ASSET is a media file (its own metadata,\n"
            "         uploaded = now, never accessed) or an asset id in the catalog.\n"
            "         --facts overrides or supplies the facts, comma-separated:\n"
            "           kind=image|video format=jpeg bytes=123456|5MB width=W height=H\n"
            "           capture=TIME|never upload=TIME access=TIME|never\n"
            "           count_30d=N count_90d=N count_365d=N\n"
            "         TIME is 2027-01-01, 2027-01-01T00:00:00Z, @unixseconds or -Nd (N days\n"
            "         before --now).\n"
            "\n"
            "  --now TIME   evaluate as if it were TIME (default: the current time)\n"
            "  --json       machine-readable output, one object per line\n"
            "\n"
            "The policy grammar is documented in policies/README.md.\n");
}

/* The JSON objects policy check prints (docs/json.md). */
static json_t *diag_json(int line, int col, const char *msg)
{
    json_t *o = json_object();
    if (!o || json_set_int(o, "line", line) < 0 || json_set_int(o, "column", col) < 0 ||
        json_set_text(o, "message", msg) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A file that could not be read at all: one error at line 0. */
static json_t *unreadable_json(const char *path, const char *why)
{
    json_t *o = json_object(), *errs = json_array();
    int bad = !o || !errs;
    bad = bad || json_set_text(o, "file", path) < 0;
    bad = bad || json_object_set_new(o, "ok", json_false()) < 0;
    bad = bad || json_array_append_new(errs, diag_json(0, 0, why)) < 0;
    bad = bad || json_object_set(o, "errors", errs) < 0;
    bad = bad || json_object_set_new(o, "warnings", json_array()) < 0;
    json_decref(errs);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *check_json(const char *path, const struct policy *p, int ok)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_text(o, "file", path) < 0;
    bad = bad || json_object_set_new(o, "ok", json_boolean(ok)) < 0;
    bad = bad || json_set_int(o, "tiers", p->ntiers) < 0;
    for (int w = 0; !bad && w < 2; w++) {
        json_t *list = json_array();
        bad = !list;
        for (int i = 0; !bad && i < p->ndiags; i++)
            if (p->diags[i].warning == w)
                bad = json_array_append_new(list, diag_json(p->diags[i].loc.line,
                                                            p->diags[i].loc.col,
                                                            p->diags[i].msg)) < 0;
        bad = bad || json_object_set(o, w ? "warnings" : "errors", list) < 0;
        json_decref(list);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int check_one(const char *path, int json)
{
    struct policy p;
    char buf[600];
    int ret = policy_load(&p, path);
    if (ret < 0 && !p.ndiags) { /* could not even read it */
        if (json) {
            tp_strerror(ret, buf, sizeof(buf));
            json_print(stdout, unreadable_json(path, buf));
            tp_err_clear();
            policy_free(&p);
            return 1;
        }
        policy_free(&p);
        return cli_fail(path, ret);
    }
    tp_err_clear();
    if (json) {
        json_print(stdout, check_json(path, &p, ret >= 0));
    } else {
        for (int i = 0; i < p.ndiags; i++)
            cli_error_line("%s",
                    policy_diag_format(&p, i, buf, sizeof(buf)));
        if (p.nerrors > p.ndiags - p.nwarnings)
            cli_error_line("%s: ... and more errors", path);
        if (ret < 0)
            cli_error_line("%s: %d error%s", path, p.nerrors, p.nerrors == 1 ? "" : "s");
        else
            printf("%s: ok (%d tier%s)\n", path, p.ntiers, p.ntiers == 1 ? "" : "s");
    }
    policy_free(&p);
    return ret < 0 ? 1 : 0;
}

/* Looks an asset up in the catalog.  The catalog is not part of this build
 * yet: the integrator fills a from the asset's row here (kind, format,
 * bytes, width, height, capture/upload/last-access times, access counts). */
/* ASSET is an asset id or an original's sha256 in the home's catalog. */
static int facts_from_catalog(const struct cli *cli, const char *id, struct asset_facts *a)
{
    struct home h = { 0 };
    struct catalog_asset as;
    char *end;
    int ret;
    long long n = strtoll(id, &end, 10);

    if ((ret = home_open_mode(&h, cli->cfg, HOME_READONLY)) < 0)
        return ret;
    if (*id && !*end && n > 0)
        ret = catalog_asset_get(h.cat, n, &as);
    else
        ret = catalog_asset_find(h.cat, id, &as);
    if (ret == TP_ERR_NOTFOUND)
        tp_err_set("no such file, and no asset '%s' in the catalog at %s", id, cli->home);
    if (ret >= 0)
        ret = facts_from_asset(h.cat, &as, a);
    if (ret >= 0 && (ret = facts_pair_lead(h.cat, as.id, as.kind, a)) > 0) {
        tp_log(TP_LOG_INFO, "asset %lld is a Live Photo's clip: it goes where its still goes "
               "(the still's facts below)", (long long)as.id);
        ret = 0;
    }
    home_close(&h);
    return ret;
}

static int facts_from_file(const char *path, int64_t now, struct asset_facts *a)
{
    struct tp_buf b = { 0 };
    struct image_limits lim;
    struct media_info mi;
    image_limits_defaults(&lim);
    int ret = file_read(path, lim.max_file_bytes, &b);
    if (ret >= 0)
        ret = probe_media(b.data, b.len, path, &lim, &mi);
    buf_free(&b);
    if (ret >= 0)
        asset_facts_from_media(a, &mi, now);
    return ret;
}

static void print_transcode_text(const struct policy_actions *act)
{
    const struct policy_transcode *t = &act->transcode;
    printf("  transcode: %s", policy_mode_name(t->mode));
    if (t->mode != POLICY_MODE_NONE) {
        printf(" [");
        for (int i = 0; i < t->ncodecs; i++)
            printf("%s%s", i ? ", " : "", t->codecs[i]);
        printf("]");
    }
    if (t->mode == POLICY_MODE_LOSSY)
        printf(", floors: mean SSIM %g, tile %g, chroma %g", t->ssim, t->tile_ssim,
               t->chroma_ssim);
    if (t->mode == POLICY_MODE_LOSSY && t->butteraugli_max > 0)
        printf(", Butteraugli max <= %g", t->butteraugli_max);
    if (t->mode == POLICY_MODE_LOSSY && t->max_cpu_s_per_mp > 0)
        printf(", CPU budget %g s/MP", t->max_cpu_s_per_mp);
    if (t->mode != POLICY_MODE_NONE)
        printf(", min saving %g%%", t->min_saving * 100);
    printf("\n  original:  %s", policy_original_name(act->original));
    if (act->original == POLICY_ORIGINAL_DELETE_AFTER)
        printf(" %d (days after a verified replacement)", act->delete_after_days);
    printf("\n  storage:   %s\n", act->storage_class);
    if (act->nproxies) {
        printf("  proxies:  ");
        for (int i = 0; i < act->nproxies; i++)
            printf(" %s (%s, %d px, q%d)", act->proxies[i].name, act->proxies[i].format,
                   act->proxies[i].max_edge, act->proxies[i].quality);
        printf("\n");
    }
}

/* The JSON objects policy prints, one serializer each (docs/json.md). */
static json_t *facts_json(const struct asset_facts *a)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_text(o, "kind", a->kind) < 0;
    bad = bad || json_set_text(o, "format", a->format) < 0;
    bad = bad || json_set_int(o, "bytes", (long long)a->bytes) < 0;
    bad = bad || json_set_int(o, "width", a->width) < 0;
    bad = bad || json_set_int(o, "height", a->height) < 0;
    bad = bad || json_set_int(o, "capture_time", a->capture_time) < 0;
    bad = bad || json_set_int(o, "upload_time", a->upload_time) < 0;
    bad = bad || json_set_int(o, "last_access", a->last_access) < 0;
    bad = bad || json_set_int(o, "count_30d", a->count_30d) < 0;
    bad = bad || json_set_int(o, "count_90d", a->count_90d) < 0;
    bad = bad || json_set_int(o, "count_365d", a->count_365d) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *verdict_json(const struct policy_tier *t, const struct policy_verdict *v)
{
    json_t *o = json_object(), *checks = json_array();
    int bad = !o || !checks;
    bad = bad || json_set_text(o, "name", t->name) < 0;
    bad = bad || json_object_set_new(o, "matched", json_boolean(v->matched)) < 0;
    bad = bad || json_object_set_new(o, "shadowed", json_boolean(v->shadowed)) < 0;
    for (int j = 0; !bad && j < v->nchecks; j++) {
        json_t *c = json_object();
        bad = !c || json_array_append_new(checks, c) < 0;
        bad = bad || json_set_text(c, "key", v->checks[j].key) < 0;
        bad = bad || json_object_set_new(c, "ok", json_boolean(v->checks[j].ok)) < 0;
        bad = bad || json_set_text(c, "text", v->checks[j].text) < 0;
    }
    bad = bad || json_object_set(o, "checks", checks) < 0;
    json_decref(checks);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *explain_json(const struct policy *p, const char *asset,
                            const struct asset_facts *a, int64_t now,
                            const struct policy_match *m)
{
    char tb[32];
    json_t *o = json_object(), *tiers = json_array();
    int bad = !o || !tiers;
    bad = bad || json_set_text(o, "policy", p->file) < 0;
    bad = bad || json_set_text(o, "asset", asset) < 0;
    bad = bad || json_set_text(o, "now", time_format(now, tb, sizeof(tb))) < 0;
    bad = bad || json_object_set_new(o, "facts", facts_json(a)) < 0;
    bad = bad || json_set_int(o, "age_days", m->d.age_days) < 0;
    bad = bad || json_set_text(o, "age_from", m->d.age_from_capture ? "capture" : "upload") < 0;
    bad = bad || json_set_int(o, "days_since_access", m->d.idle_days) < 0;
    bad = bad || json_set_real(o, "megapixels", m->d.megapixels) < 0;
    bad = bad || json_set_text(o, "tier", m->tier >= 0 ? p->tiers[m->tier].name : NULL) < 0;
    bad = bad || json_set_int(o, "tier_index", m->tier) < 0;
    if (!bad && m->tier >= 0) {
        const struct policy_actions *act = &p->tiers[m->tier].act;
        json_t *codecs = json_array();
        bad = !codecs;
        for (int i = 0; !bad && act->transcode.mode != POLICY_MODE_NONE &&
                        i < act->transcode.ncodecs; i++)
            bad = json_array_append_new(codecs, json_text(act->transcode.codecs[i])) < 0;
        bad = bad || json_set_text(o, "transcode", policy_mode_name(act->transcode.mode)) < 0;
        bad = bad || json_object_set(o, "codecs", codecs) < 0;
        json_decref(codecs);
        bad = bad || json_set_text(o, "storage_class", act->storage_class) < 0;
        bad = bad || json_set_text(o, "original", policy_original_name(act->original)) < 0;
    }
    for (int i = 0; !bad && i < p->ntiers; i++)
        bad = json_array_append_new(tiers, verdict_json(&p->tiers[i], &m->verdicts[i])) < 0;
    bad = bad || json_object_set(o, "tiers", tiers) < 0;
    json_decref(tiers);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void print_explain_text(const struct policy *p, const char *asset,
                               const struct asset_facts *a, int64_t now,
                               const struct policy_match *m)
{
    char tb[32], tb2[32];
    printf("asset:  %s\n", asset);
    printf("facts:  %s %s, %" PRIu64 " bytes, %dx%d (%.2f MP)\n", a->kind[0] ? a->kind : "?",
           a->format[0] ? a->format : "?", a->bytes, a->width, a->height, m->d.megapixels);
    printf("        age %" PRId64 " days (since %s %s); ", m->d.age_days,
           m->d.age_from_capture ? "capture" : "upload",
           time_format(m->d.age_from_capture ? a->capture_time : a->upload_time, tb, sizeof(tb)));
    if (m->d.never_accessed)
        printf("never accessed (%" PRId64 " days since upload)\n", m->d.idle_days);
    else
        printf("last access %" PRId64 " days ago (%s)\n", m->d.idle_days,
               time_format(a->last_access, tb2, sizeof(tb2)));
    printf("        accesses in the last 30/90/365 days: %" PRId64 "/%" PRId64 "/%" PRId64 "\n",
           a->count_30d, a->count_90d, a->count_365d);
    printf("now:    %s\n\n", time_format(now, tb, sizeof(tb)));
    for (int i = 0; i < p->ntiers; i++) {
        const struct policy_verdict *v = &m->verdicts[i];
        printf("tier %d '%s': %s\n", i + 1, p->tiers[i].name,
               v->shadowed ? "matches too, but an earlier tier wins"
               : v->matched ? "MATCH" : "no");
        for (int j = 0; j < v->nchecks; j++)
            printf("    %s %s\n", v->checks[j].ok ? "yes" : "NO ", v->checks[j].text);
    }
    printf("\n");
    if (m->tier < 0) {
        printf("-> unmatched: no tier's conditions hold; the asset stays as it is\n");
        return;
    }
    const struct policy_tier *t = &p->tiers[m->tier];
    printf("-> tier '%s' (%d of %d)%s%s\n", t->name, m->tier + 1, p->ntiers,
           t->description[0] ? ": " : "", t->description);
    print_transcode_text(&t->act);
}

static int explain(const struct cli *cli, const char *policy_path, const char *asset,
                   const char *facts, int64_t now, int json)
{
    struct policy p;
    struct asset_facts a;
    struct policy_match m = { 0 };
    struct stat st;
    int status = 1, ret;

    memset(&a, 0, sizeof(a));
    a.upload_time = now;
    ret = policy_load(&p, policy_path);
    if (ret < 0) {
        char buf[600];
        for (int i = 0; i < p.ndiags; i++)
            cli_error_line("%s", policy_diag_format(&p, i, buf, sizeof(buf)));
        if (!p.ndiags)
            cli_fail(policy_path, ret);
        tp_err_clear();
        goto end;
    }
    tp_err_clear();
    if (asset) {
        if (stat(asset, &st) == 0)
            ret = facts_from_file(asset, now, &a);
        else
            ret = facts_from_catalog(cli, asset, &a);
        if (ret < 0) {
            cli_fail(asset, ret);
            goto end;
        }
    }
    if (facts && (ret = asset_facts_parse(&a, facts, now)) < 0) {
        cli_fail("--facts", ret);
        goto end;
    }
    if (!(m.verdicts = tp_calloc((size_t)p.ntiers + 1, sizeof(*m.verdicts)))) {
        cli_fail(policy_path, TP_ERR(ENOMEM));
        goto end;
    }
    policy_match(&p, &a, now, &m);
    if (json)
        json_print(stdout, explain_json(&p, asset ? asset : "--facts", &a, now, &m));
    else
        print_explain_text(&p, asset ? asset : "--facts", &a, now, &m);
    status = 0;
end:
    tp_free(m.verdicts);
    policy_free(&p);
    return status;
}

int cmd_policy(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "now", required_argument, NULL, 'n' },
        { "facts", required_argument, NULL, 'f' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int json = 0, c, status = 0;
    int64_t now = time_now();
    const char *facts = NULL;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'n':
            if (time_parse(optarg, &now) < 0) {
                char why[300];
                snprintf(why, sizeof(why), "%s", tp_err_detail());
                tp_err_clear();
                return cli_usage_error("policy", "--now: %s", why);
            }
            break;
        case 'f': facts = optarg; break;
        case 'h': policy_help(stdout); return 0;
        default: return cli_usage_error("policy", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("policy", "expected 'check' or 'explain'");
    const char *sub = argv[optind++];
    if (!strcmp(sub, "check")) {
        if (optind >= argc)
            return cli_usage_error("policy", "check: no POLICY file given");
        for (int i = optind; i < argc; i++)
            status |= check_one(argv[i], json);
        return status;
    }
    if (!strcmp(sub, "explain")) {
        if (optind >= argc)
            return cli_usage_error("policy", "explain: no POLICY file given");
        const char *pol = argv[optind++];
        const char *asset = optind < argc ? argv[optind++] : NULL;
        if (optind < argc)
            return cli_usage_error("policy", "explain: unexpected argument '%s'", argv[optind]);
        if (!asset && !facts)
            return cli_usage_error("policy", "explain: give an ASSET, --facts, or both");
        return explain(cli, pol, asset, facts, now, json);
    }
    return cli_usage_error("policy", "unknown subcommand '%s' (expected check or explain)", sub);
}
