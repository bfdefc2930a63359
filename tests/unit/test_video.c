/* codecs/video*.c: sniffing, rotation mapping, and the cold-tier search
 * calling the caller's compare function on sampled frame pairs. */
#include <math.h>
#include <string.h>

#include "video.h"
#include "fileio.h"
#include "unit.h"

TEST(video_probe_brands)
{
    uint8_t b[16] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p' };
    static const char *yes[] = { "isom", "mp42", "qt  ", "3gp4", "M4V ", "avc1" };
    static const char *no[] = { "avif", "avis", "heic", "heix", "mif1", "msf1", "M4A " };
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        memcpy(b + 8, yes[i], 4);
        CHECK(video_probe(b, sizeof(b)) > 0);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        memcpy(b + 8, no[i], 4);
        CHECK(video_probe(b, sizeof(b)) == 0);
    }
    static const uint8_t ebml[] = { 0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81 };
    static const uint8_t qt[] = { 0, 0, 0, 8, 'w', 'i', 'd', 'e' };
    static const uint8_t jpg[] = { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F' };
    CHECK(video_probe(ebml, sizeof(ebml)) > 0);
    CHECK(video_probe(qt, sizeof(qt)) > 0);
    CHECK(video_probe(jpg, sizeof(jpg)) == 0);
    CHECK(video_probe(ebml, 3) == 0);
}

TEST(video_rotation_orientation)
{
    CHECK(video_rotation_to_orientation(0) == 1);
    CHECK(video_rotation_to_orientation(90) == 6);
    CHECK(video_rotation_to_orientation(180) == 3);
    CHECK(video_rotation_to_orientation(270) == 8);
}

/* Test-only global SSIM on 8x8 blocks (the product's kernel is wired in
 * by the caller). */
struct cmp_log {
    int calls;
    double sum;
};

static int test_ssim(const struct image *a, const struct image *b, double *out, void *opaque)
{
    struct cmp_log *log = opaque;
    const double c1 = 6.5025, c2 = 58.5225;
    double total = 0;
    int n = 0;
    if (a->width != b->width || a->height != b->height || a->channels != 1)
        return -1;
    for (int y = 0; y + 8 <= a->height; y += 8)
        for (int x = 0; x + 8 <= a->width; x += 8, n++) {
            double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
            for (int j = 0; j < 8; j++)
                for (int i = 0; i < 8; i++) {
                    double p = a->data[(size_t)(y + j) * a->stride + (size_t)(x + i)];
                    double q = b->data[(size_t)(y + j) * b->stride + (size_t)(x + i)];
                    sa += p, sb += q, saa += p * p, sbb += q * q, sab += p * q;
                }
            double ma = sa / 64, mb = sb / 64, va = saa / 64 - ma * ma, vb = sbb / 64 - mb * mb,
                   cov = sab / 64 - ma * mb;
            total += (2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
        }
    *out = total / n;
    log->calls++;
    log->sum += *out;
    return 0;
}

TEST(video_cold_calls_compare)
{
    struct tp_buf in = { 0 }, out = { 0 };
    struct video_cold_opts o;
    struct video_cold_report r;
    struct cmp_log log = { 0, 0 };
    REQUIRE(file_read("samples/clip-cockatoo-640x360-av1-aac-3s.mp4", 1 << 24, &in) == 0);
    video_cold_defaults(&o, VIDEO_COLD_AV1);
    o.preset = "12";
    o.max_probes = 1;
    o.crf_min = o.crf_max = 40;
    o.samples = 5;
    o.ssim_floor = 0.5;
    o.tile_floor = 0.5;
    o.min_saving = 0;
    o.compare = test_ssim;
    o.compare_opaque = &log;
    CHECK(video_transcode_cold(in.data, in.len, &o, &out, &r) == 0);
    CHECK(r.probes == 1 && r.samples == 5 && log.calls == 5);
    CHECK(r.crf == 40 && !r.keep_original && out.len > 1000 && r.out_bytes == out.len);
    CHECK(fabs(r.ssim_mean - log.sum / 5) < 1e-9);
    CHECK(r.ssim_mean > 0.8 && r.ssim_min <= r.ssim_mean);
    /* an impossible floor: nothing passes, keep the original */
    o.ssim_floor = 1.0;
    CHECK(video_transcode_cold(in.data, in.len, &o, &out, &r) == 0);
    CHECK(r.keep_original && r.crf == -1 && out.len == 0);
    /* bad options are refused before any work */
    o.crf_min = 50, o.crf_max = 40;
    CHECK(video_transcode_cold(in.data, in.len, &o, &out, &r) < 0);
    buf_free(&in);
    buf_free(&out);
}
