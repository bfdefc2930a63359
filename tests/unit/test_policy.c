/* Policy parser, validator and evaluator on the shipped policies and on
 * hand-made facts; time parsing. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "policy.h"
#include "timeutil.h"
#include "unit.h"

#define DAY TIME_DAY

static int load_text(struct policy *p, const char *text)
{
    policy_defaults(p);
    int ret = policy_parse(p, "test.yaml", text, strlen(text));
    int vret = policy_validate(p);
    tp_err_clear();
    return ret < 0 ? ret : vret;
}

static const struct policy_diag *find_error(const struct policy *p, const char *msg)
{
    for (int i = 0; i < p->ndiags; i++)
        if (!p->diags[i].warning && strstr(p->diags[i].msg, msg))
            return &p->diags[i];
    return NULL;
}

static int tier_index(const struct policy *p, const char *name)
{
    for (int i = 0; i < p->ntiers; i++)
        if (!strcmp(p->tiers[i].name, name))
            return i;
    return -2;
}

TEST(policy_shipped_files_parse)
{
    DIR *d = opendir("policies");
    int n = 0;
    REQUIRE(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        char path[512];
        struct policy p;
        if (l < 6 || strcmp(e->d_name + l - 5, ".yaml"))
            continue;
        snprintf(path, sizeof(path), "policies/%s", e->d_name);
        int ret = policy_load(&p, path);
        if (ret < 0)
            printf("#   %s: %s\n", path, tp_err_detail());
        CHECK(ret == 0);
        CHECK(p.nerrors == 0);
        CHECK(p.ntiers >= 3);
        CHECK(p.version_major == 1);
        policy_free(&p);
        tp_err_clear();
        n++;
    }
    closedir(d);
    CHECK(n >= 3);
}

TEST(policy_default_yaml_contents)
{
    struct policy p;
    REQUIRE(policy_load(&p, "policies/default.yaml") == 0);
    int j = tier_index(&p, "cold-jpeg"), o = tier_index(&p, "cold-other");
    REQUIRE(j >= 0 && o >= 0);
    /* JPEGs: lossless only; everything else at the visually lossless floor */
    CHECK(p.tiers[j].act.transcode.mode == POLICY_MODE_LOSSLESS);
    CHECK(!strcmp(p.tiers[j].act.transcode.codecs[0], "jxl"));
    CHECK(p.tiers[o].act.transcode.mode == POLICY_MODE_LOSSY);
    CHECK(!strcmp(p.tiers[o].act.transcode.codecs[0], "jxl"));
    CHECK(p.tiers[o].act.transcode.ssim >= 0.997);
    CHECK(p.tiers[o].act.transcode.tile_ssim >= 0.995);
    CHECK(p.tiers[o].act.transcode.chroma_ssim > 0);
    /* Butteraugli confirms "looks the same" on the final output (issue 15) */
    CHECK(fabs(p.tiers[o].act.transcode.butteraugli_max - 1.0) < 1e-9);
    CHECK(p.tiers[j].act.transcode.butteraugli_max == 0);
    /* no tier of the default goes below the visually lossless floor */
    for (int i = 0; i < p.ntiers; i++)
        if (p.tiers[i].act.transcode.mode == POLICY_MODE_LOSSY)
            CHECK(p.tiers[i].act.transcode.ssim >= 0.997);
    /* proxies inherited from defaults */
    CHECK(p.tiers[0].act.nproxies == 2);
    CHECK(p.tiers[0].act.proxies[1].max_edge == 2048);
    policy_free(&p);
}

static const char *const ages_policy =
    "version: 1\n"
    "defaults:\n"
    "  transcode: {effort: 5, ssim: 0.99}\n"
    "tiers:\n"
    "  - name: hot\n"
    "    match: {accessed_within_days: 30}\n"
    "  - name: busy\n"
    "    match: {access_count: {window_days: 30, min: 5}}\n"
    "  - name: year\n"
    "    match: {age_days: {min: 365}, access_count: {max: 2}}\n"
    "    transcode: {mode: lossy, codecs: [jxl, avif]}\n"
    "    original: {delete_after_days: 30}\n"
    "    storage_class: GLACIER_IR\n"
    "  - name: big\n"
    "    match: {bytes: {min: 5MB, max: 1GiB}, megapixels: {min: 12}, kind: image}\n"
    "  - name: jpeg-365\n"
    "    match: {format: [jpg, heic], access_count: {window_days: 365, max: 0}}\n";

static struct asset_facts facts(int64_t now, int capture_days, int upload_days, int access_days)
{
    struct asset_facts a;
    memset(&a, 0, sizeof(a));
    snprintf(a.kind, sizeof(a.kind), "image");
    snprintf(a.format, sizeof(a.format), "png");
    a.bytes = 1000;
    a.width = a.height = 100;
    a.capture_time = capture_days < 0 ? 0 : now - (int64_t)capture_days * DAY;
    a.upload_time = now - (int64_t)upload_days * DAY;
    a.last_access = access_days < 0 ? 0 : now - (int64_t)access_days * DAY;
    a.count_30d = a.count_90d = a.count_365d = 1;
    return a;
}

TEST(policy_eval_inheritance_and_derived_defaults)
{
    struct policy p;
    REQUIRE(load_text(&p, ages_policy) == 0);
    const struct policy_transcode *t = &p.tiers[2].act.transcode;
    CHECK(t->mode == POLICY_MODE_LOSSY);
    CHECK(t->effort == 5);                       /* from defaults */
    CHECK(fabs(t->ssim - 0.99) < 1e-12);         /* from defaults */
    CHECK(fabs(t->tile_ssim - (1 - 5.0 / 3.0 * 0.01)) < 1e-9); /* derived: 1 - 5/3(1 - ssim) */
    CHECK(fabs(t->chroma_ssim - 0.95) < 1e-9);   /* derived: 1 - 5(1 - ssim) */
    CHECK(t->ncodecs == 2 && !strcmp(t->codecs[1], "avif"));
    CHECK(p.tiers[2].act.original == POLICY_ORIGINAL_DELETE_AFTER);
    CHECK(p.tiers[2].act.delete_after_days == 30);
    CHECK(!strcmp(p.tiers[2].act.storage_class, "GLACIER_IR"));
    CHECK(!strcmp(p.tiers[0].act.storage_class, "STANDARD"));
    CHECK(p.tiers[0].act.transcode.mode == POLICY_MODE_NONE);
    CHECK(p.tiers[3].match.bytes.min == 5000000 && p.tiers[3].match.bytes.max == 1073741824);
    CHECK(!strcmp(p.tiers[4].match.formats[0], "jpeg") && !strcmp(p.tiers[4].match.formats[1], "heif"));
    policy_free(&p);
}

TEST(policy_eval_age_boundaries_and_upload_fallback)
{
    struct policy p;
    int64_t now = 1800000000;
    struct asset_facts a;
    struct policy_match m = { 0 };
    REQUIRE(load_text(&p, ages_policy) == 0);

    a = facts(now, 365, 400, 100);       /* exactly 365 days since capture */
    CHECK(policy_match(&p, &a, now, &m) == 2);
    CHECK(m.d.age_days == 365 && m.d.age_from_capture);
    a.capture_time += 1;                 /* one second short of 365 days */
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    /* no capture time: the age counts from the upload */
    a = facts(now, -1, 365, 100);
    CHECK(policy_match(&p, &a, now, &m) == 2);
    CHECK(m.d.age_days == 365 && !m.d.age_from_capture);
    a = facts(now, -1, 364, 100);
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    /* capture time wins over the upload when both are known */
    a = facts(now, 10, 2000, 100);
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    /* a capture time in the future counts as age 0, not negative */
    a = facts(now, 0, 2000, 100);
    a.capture_time = now + 50 * DAY;
    policy_match(&p, &a, now, &m);
    CHECK(m.d.age_days == 0);
    policy_free(&p);
}

TEST(policy_eval_access_windows_and_never_accessed)
{
    struct policy p;
    int64_t now = 1800000000;
    struct asset_facts a;
    struct policy_match m = { 0 };
    REQUIRE(load_text(&p, ages_policy) == 0);

    a = facts(now, 1000, 1000, 30);      /* accessed exactly 30 days ago: hot */
    CHECK(policy_match(&p, &a, now, NULL) == 0);
    a = facts(now, 1000, 1000, 31);
    CHECK(policy_match(&p, &a, now, NULL) == 2);
    /* never accessed: idle time counts from the upload */
    a = facts(now, 1000, 10, -1);
    CHECK(policy_match(&p, &a, now, &m) == 0);
    CHECK(m.d.never_accessed && m.d.idle_days == 10);
    a = facts(now, 1000, 40, -1);
    CHECK(policy_match(&p, &a, now, NULL) == 2);
    /* busy uses the 30-day count; year the default 90-day window */
    a = facts(now, 1000, 1000, 40);
    a.count_30d = 5;
    a.count_90d = 5;
    CHECK(policy_match(&p, &a, now, NULL) == 1);
    a.count_30d = 4;                     /* not busy; 90-day count 5 > 2: not year */
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    a.count_90d = 2;
    CHECK(policy_match(&p, &a, now, NULL) == 2);
    /* jpeg-365 reads the 365-day count */
    a = facts(now, 10, 10, 40);
    snprintf(a.format, sizeof(a.format), "jpeg");
    a.count_365d = 0;
    CHECK(policy_match(&p, &a, now, NULL) == 4);
    a.count_365d = 1;
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    policy_free(&p);
}

TEST(policy_eval_first_match_unmatched_and_explain)
{
    struct policy p;
    int64_t now = 1800000000;
    struct asset_facts a;
    struct policy_verdict v[8];
    struct policy_match m = { .verdicts = v };
    REQUIRE(load_text(&p, ages_policy) == 0);

    /* old, rarely accessed, big: both 'year' and 'big' match; 'year' is first */
    a = facts(now, 800, 800, 200);
    a.bytes = 6000000;
    a.width = 4000;
    a.height = 3000;
    CHECK(policy_match(&p, &a, now, &m) == 2);
    CHECK(v[2].matched && !v[2].shadowed);
    CHECK(v[3].matched && v[3].shadowed);
    CHECK(!v[0].matched && v[0].nchecks == 1 && !v[0].checks[0].ok);
    CHECK(strstr(v[0].checks[0].text, "days_since_access = 200") != NULL);
    /* same without explain: same answer */
    CHECK(policy_match(&p, &a, now, NULL) == 2);
    /* big: bytes boundaries inclusive */
    a = facts(now, 10, 10, 200);
    a.width = 4000;
    a.height = 3000;
    a.bytes = 5000000;
    CHECK(policy_match(&p, &a, now, NULL) == 3);
    a.bytes = 4999999;
    CHECK(policy_match(&p, &a, now, &m) == -1);
    CHECK(m.tier == -1);
    a.bytes = 5000000;
    a.height = 2999;                     /* 11.996 MP < 12 */
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    a.height = 3000;
    snprintf(a.kind, sizeof(a.kind), "video");
    CHECK(policy_match(&p, &a, now, NULL) == -1);
    policy_free(&p);
}

TEST(policy_errors_are_collected_with_positions)
{
    struct policy p;
    const char *text = "version: 1\n"
                       "tiers:\n"
                       "  - name: a\n"
                       "    match: {age_days: {min: -1}}\n"
                       "    transcode: {mode: lossy, codecs: [jxl], ssim: 2, effort: 10}\n";
    CHECK(load_text(&p, text) == TP_ERR_INVALIDDATA);
    CHECK(p.nerrors == 3);
    const struct policy_diag *d = find_error(&p, "'age_days.min' is out of range: -1 (expected 0..36500)");
    CHECK(d && d->loc.line == 4 && d->loc.col == 29);
    d = find_error(&p, "'ssim' is out of range: 2 (expected 0.9..1)");
    CHECK(d && d->loc.line == 5 && d->loc.col == 51);
    d = find_error(&p, "'effort' is out of range: 10 (expected 0..9)");
    CHECK(d && d->loc.line == 5 && d->loc.col == 62);
    policy_free(&p);

    /* a later tier after a catch-all can never match; the catch-all last is fine */
    CHECK(load_text(&p, "version: 1.3\ntiers:\n  - name: a\n    match: {kind: image}\n"
                        "  - name: rest\n") == 0);
    CHECK(p.version_major == 1 && p.version_minor == 3);
    policy_free(&p);
    CHECK(load_text(&p, "version: 1\ntiers:\n  - name: rest\n  - name: a\n"
                        "    match: {kind: image}\n") == TP_ERR_INVALIDDATA);
    policy_free(&p);
    /* a second YAML document is refused rather than ignored */
    CHECK(load_text(&p, "version: 1\ntiers:\n  - name: a\n---\nversion: 2\n") == TP_ERR_INVALIDDATA);
    policy_free(&p);
    /* garbage never crashes */
    CHECK(load_text(&p, "\x01\x02\xff\xfe{[") == TP_ERR_INVALIDDATA);
    policy_free(&p);
    CHECK(load_text(&p, "&a [*a]") == TP_ERR_INVALIDDATA);
    policy_free(&p);
}

TEST(policy_facts_spec)
{
    struct asset_facts a;
    int64_t now = 1800000000;
    memset(&a, 0, sizeof(a));
    CHECK(asset_facts_parse(&a, "kind=image,format=jpg,bytes=5MiB,width=10,height=20,"
                                "capture=2020-01-01,upload=-3d,access=never,count_90d=4",
                            now) == 0);
    CHECK(!strcmp(a.format, "jpeg") && a.bytes == 5242880 && a.width == 10 && a.height == 20);
    CHECK(a.capture_time == 1577836800 && a.upload_time == now - 3 * DAY && a.last_access == 0);
    CHECK(a.count_90d == 4);
    CHECK(asset_facts_parse(&a, "bytes=lots", now) == TP_ERR_USAGE);
    CHECK(asset_facts_parse(&a, "upload=never", now) == TP_ERR_USAGE);
    CHECK(asset_facts_parse(&a, "nokey", now) == TP_ERR_USAGE);
    tp_err_clear();
}

TEST(timeutil_parse_and_format)
{
    int64_t t;
    char buf[32];
    CHECK(time_parse("2027-01-01", &t) == 0 && t == 1798761600);
    CHECK(time_parse("2027-01-01T00:00:00Z", &t) == 0 && t == 1798761600);
    CHECK(time_parse("2027-01-01T02:00:00+02:00", &t) == 0 && t == 1798761600);
    CHECK(time_parse("2027-01-01 00:00", &t) == 0 && t == 1798761600);
    CHECK(time_parse("2026:12:31 23:59:59", &t) == 0 && t == 1798761599);
    CHECK(time_parse("@1798761600", &t) == 0 && t == 1798761600);
    CHECK(time_parse("@-86400", &t) == 0 && t == -86400);
    CHECK(time_parse("2024-02-29", &t) == 0);
    CHECK(time_parse("2023-02-29", &t) == TP_ERR_INVALIDDATA);
    CHECK(time_parse("2027-13-01", &t) == TP_ERR_INVALIDDATA);
    CHECK(time_parse("2027-01-01T25:00", &t) == TP_ERR_INVALIDDATA);
    CHECK(time_parse("yesterday", &t) == TP_ERR_INVALIDDATA);
    CHECK(time_parse("2027-01-01x", &t) == TP_ERR_INVALIDDATA);
    CHECK(time_parse("", &t) == TP_ERR_INVALIDDATA);
    CHECK(!strcmp(time_format(1798761599, buf, sizeof(buf)), "2026-12-31T23:59:59Z"));
    CHECK(!strcmp(time_format(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z"));
    CHECK(!strcmp(time_format(951782400, buf, sizeof(buf)), "2000-02-29T00:00:00Z"));
    CHECK(time_days_between(0, 86399) == 0 && time_days_between(0, 86400) == 1);
    CHECK(time_days_between(86400, 0) == -1 && time_days_between(1, 0) == -1);
    tp_err_clear();
}

TEST(timeutil_parse_duration)
{
    int64_t d;
    CHECK(time_parse_duration("0", &d) == 0 && d == 0);
    CHECK(time_parse_duration("90", &d) == 0 && d == 90);
    CHECK(time_parse_duration("90s", &d) == 0 && d == 90);
    CHECK(time_parse_duration("15m", &d) == 0 && d == 900);
    CHECK(time_parse_duration("24h", &d) == 0 && d == 86400);
    CHECK(time_parse_duration("7d", &d) == 0 && d == 7 * 86400);
    CHECK(time_parse_duration("-1h", &d) == TP_ERR_INVALIDDATA);
    CHECK(time_parse_duration("h", &d) == TP_ERR_INVALIDDATA);
    CHECK(time_parse_duration("1w", &d) == TP_ERR_INVALIDDATA);
    CHECK(time_parse_duration("1hh", &d) == TP_ERR_INVALIDDATA);
    CHECK(time_parse_duration("", &d) == TP_ERR_INVALIDDATA);
    CHECK(time_parse_duration("99999999999999999999d", &d) == TP_ERR_INVALIDDATA);
    tp_err_clear();
}

TEST(policy_butteraugli_max_range_and_inheritance)
{
    struct policy p;
    /* from defaults: every tier inherits it; a tier may override it */
    REQUIRE(load_text(&p, "version: 1\n"
                          "defaults:\n  transcode: {mode: lossy, codecs: [jxl], butteraugli_max: 1.5}\n"
                          "tiers:\n"
                          "  - {name: a, match: {age_days: {min: 10}}}\n"
                          "  - {name: b, transcode: {butteraugli_max: 0.8}}\n") == 0);
    CHECK(fabs(p.tiers[0].act.transcode.butteraugli_max - 1.5) < 1e-9);
    CHECK(fabs(p.tiers[1].act.transcode.butteraugli_max - 0.8) < 1e-9);
    policy_free(&p);
    /* out of range: an error naming the key and the range */
    CHECK(load_text(&p, "version: 1\ntiers:\n"
                        "  - {name: a, transcode: {mode: lossy, codecs: [jxl], butteraugli_max: 0}}\n") < 0);
    CHECK(find_error(&p, "'butteraugli_max' is out of range") != NULL);
    policy_free(&p);
    /* on a lossless tier: a warning, not an error */
    REQUIRE(load_text(&p, "version: 1\ntiers:\n"
                          "  - {name: a, transcode: {mode: lossless, butteraugli_max: 1}}\n") == 0);
    int warned = 0;
    for (int i = 0; i < p.ndiags; i++)
        warned |= p.diags[i].warning && strstr(p.diags[i].msg, "'butteraugli_max' has no effect");
    CHECK(warned);
    policy_free(&p);
}
