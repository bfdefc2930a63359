/* Unit tests for the price sheet and the simulator's ratio table. */
#include <math.h>
#include <string.h>

#include "err.h"
#include "prices.h"
#include "sim.h"
#include "unit.h"

#define NEAR(a, b) (fabs((a) - (b)) <= 1e-12 * fmax(1, fabs(b)))

TEST(prices_defaults_documented)
{
    struct prices p;
    prices_defaults(&p);
    const struct price_class *st = prices_find(&p, "STANDARD"), *ia = prices_find(&p, "STANDARD_IA"),
                             *gir = prices_find(&p, "GLACIER_IR"), *gl = prices_find(&p, "GLACIER"),
                             *da = prices_find(&p, "DEEP_ARCHIVE"), *oz = prices_find(&p, "ONEZONE_IA");
    REQUIRE(st && ia && gir && gl && da && oz && prices_find(&p, "INTELLIGENT_TIERING"));
    CHECK(st->storage_gb_month == 0.023 && ia->storage_gb_month == 0.0125 &&
          oz->storage_gb_month == 0.01 && gir->storage_gb_month == 0.004 &&
          gl->storage_gb_month == 0.0036 && da->storage_gb_month == 0.00099);
    CHECK(ia->min_storage_days == 30 && oz->min_storage_days == 30 && gir->min_storage_days == 90 &&
          gl->min_storage_days == 90 && da->min_storage_days == 180);
    CHECK(ia->min_billable_kb == 128 && gir->min_billable_kb == 128 && st->min_billable_kb == 0);
    CHECK(gl->overhead_kb + gl->overhead_standard_kb == 40 && da->overhead_kb == 32);
    CHECK(p.compute_vcpu_hour == 0.0425);
    CHECK(!prices_find(&p, "NOPE"));
}

TEST(prices_billable)
{
    struct prices p;
    double std;
    prices_defaults(&p);
    const struct price_class *ia = prices_find(&p, "STANDARD_IA"), *gl = prices_find(&p, "GLACIER");
    /* 1000 bytes in IA bill as 128 KiB; 1 MiB as itself */
    CHECK(prices_billable_bytes(ia, 1000, &std) == 131072 && std == 0);
    CHECK(prices_billable_bytes(ia, 1048576, NULL) == 1048576);
    /* GLACIER: + 32 KiB at its rate, + 8 KiB at STANDARD's */
    CHECK(prices_billable_bytes(gl, 1000, &std) == 1000 + 32768 && std == 8192);
    double want = (1000.0 + 32768) / PRICES_GB * 0.0036 + 8192.0 / PRICES_GB * 0.023;
    CHECK(NEAR(prices_object_month(&p, gl, 1000), want));
    CHECK(NEAR(prices_object_month(&p, ia, 2 * PRICES_GB), 2 * 0.0125));
}

TEST(prices_parse_overrides_and_errors)
{
    struct prices p;
    static const char ok[] = "version: 1\nsource: test\ncompute: {vcpu_hour: 0.5}\n"
                             "classes:\n  STANDARD_IA: {storage_gb_month: 0.02}\n"
                             "  MY_CLASS: {storage_gb_month: 0.001, min_storage_days: 7}\n";
    prices_defaults(&p);
    REQUIRE(prices_parse(&p, "t.yaml", ok, strlen(ok)) == 0);
    CHECK(p.compute_vcpu_hour == 0.5 && !strcmp(p.source, "test"));
    CHECK(prices_find(&p, "STANDARD_IA")->storage_gb_month == 0.02);
    CHECK(prices_find(&p, "STANDARD_IA")->retrieval_gb == 0.01); /* other keys kept */
    REQUIRE(prices_find(&p, "MY_CLASS"));
    CHECK(prices_find(&p, "MY_CLASS")->min_storage_days == 7);

    static const char bad[] = "version: 1\nclasses:\n  GLACIER:\n    retrieval_gb: cheap\n";
    prices_defaults(&p);
    CHECK(prices_parse(&p, "b.yaml", bad, strlen(bad)) == TP_ERR_INVALIDDATA);
    CHECK(strstr(tp_err_detail(), "b.yaml:4:19: 'retrieval_gb' expects a number") != NULL);
    static const char bad2[] = "version: 2\n";
    CHECK(prices_parse(&p, "v.yaml", bad2, strlen(bad2)) == TP_ERR_INVALIDDATA);
    CHECK(strstr(tp_err_detail(), "v.yaml:1:10:") != NULL);
    static const char bad3[] = "classes:\n  lower: {storage_gb_month: 1}\n";
    CHECK(prices_parse(&p, "n.yaml", bad3, strlen(bad3)) == TP_ERR_INVALIDDATA);
    CHECK(strstr(tp_err_detail(), "n.yaml:2:3:") != NULL);
    static const char bad4[] = "classes: [1\n";
    CHECK(prices_parse(&p, "s.yaml", bad4, strlen(bad4)) == TP_ERR_INVALIDDATA);
    CHECK(strstr(tp_err_detail(), "YAML syntax error") != NULL);
}

TEST(sim_ratio_table)
{
    struct policy_transcode t;
    memset(&t, 0, sizeof(t));
    t.mode = POLICY_MODE_LOSSLESS;
    CHECK(sim_ratio_for(&t, "image", "jpeg")->ratio == 0.81);
    CHECK(sim_ratio_for(&t, "image", "png") == &sim_ratio_table[5]); /* encoded, as the runner does */
    CHECK(sim_ratio_for(&t, "video", "video")->ratio == 1.0);       /* no lossless video work */
    t.mode = POLICY_MODE_LOSSY;
    t.ssim = 0.997;
    CHECK(sim_ratio_for(&t, "image", "png")->ratio == 0.73);
    CHECK(sim_ratio_for(&t, "video", "video")->ratio == 1.0); /* no video codec in the tier */
    t.ncodecs = 1;
    snprintf(t.codecs[0], sizeof(t.codecs[0]), "hevc");
    CHECK(sim_ratio_for(&t, "video", "video") == &sim_ratio_table[6]);
    t.ncodecs = 0;
    t.ssim = 0.99;
    CHECK(sim_ratio_for(&t, "image", "heif")->ratio == 0.50);
    /* parts no pixel encode carries (the components rule): a JPEG takes
     * the byte-exact JPEG XL path when its saving meets min_saving, else
     * (and every other format) keeps its original; no parts: as before */
    t.min_saving = 0.10;
    CHECK(sim_ratio_for_parts(&t, "image", "jpeg", 1) == &sim_ratio_table[0]);
    CHECK(sim_ratio_for_parts(&t, "image", "heif", 1)->ratio == 1.0);
    CHECK(sim_ratio_for_parts(&t, "image", "heif", 0)->ratio == 0.50);
    t.min_saving = 0.25; /* saver: the lossless JPEG XL saves too little */
    CHECK(sim_ratio_for_parts(&t, "image", "jpeg", 1)->ratio == 1.0);
    CHECK(sim_ratio_for_parts(&t, "image", "jpeg", 0)->ratio == 0.50);
    t.mode = POLICY_MODE_LOSSLESS;
    t.min_saving = 0.05;
    CHECK(sim_ratio_for_parts(&t, "image", "jpeg", 1) == &sim_ratio_table[0]);
    CHECK(sim_ratio_for_parts(&t, "image", "avif", 1)->ratio == 1.0); /* no pixel encode */
    CHECK(sim_ratio_for_parts(&t, "image", "avif", 0) == &sim_ratio_table[5]);
    for (int i = 0; i < sim_ratio_table_len; i++)
        CHECK(sim_ratio_table[i].lo <= sim_ratio_table[i].ratio &&
              sim_ratio_table[i].ratio <= sim_ratio_table[i].hi && sim_ratio_table[i].source);
    CHECK(sim_assumptions[0] != NULL);
}
