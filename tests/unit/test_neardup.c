/* Perceptual fingerprints and the multi-index pair search (issue 18). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fingerprint.h"
#include "fpindex.h"
#include "image.h"
#include "neardup.h"
#include "unit.h"

/* A smooth synthetic "photo": blobs and a gradient, w x h RGB. */
static void scene(struct image *img, int w, int h, double shift, double bright, int blob_at)
{
    image_alloc(img, w, h, 3, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double u = (x + shift * w) / (double)w, v = y / (double)h;
            double l = 90 + 60 * sin(6 * u) * cos(4 * v) + 40 * u;
            double dx = u - 0.3 - 0.01 * blob_at, dy = v - 0.6;
            if (dx * dx + dy * dy < 0.01)
                l += 80;
            l *= bright;
            uint8_t *p = img->data + (size_t)y * img->stride + (size_t)x * 3;
            p[0] = p[1] = p[2] = (uint8_t)(l < 0 ? 0 : l > 255 ? 255 : l);
        }
}

TEST(fingerprint_robust_and_distinct)
{
    struct image a = { 0 }, b = { 0 }, c = { 0 }, d = { 0 }, e = { 0 };
    struct fingerprint fa, fb, fc, fd, fe;
    scene(&a, 640, 480, 0, 1.0, 0);
    scene(&b, 320, 240, 0, 1.0, 0);   /* resized */
    scene(&c, 640, 480, 0, 1.08, 0);  /* brighter */
    scene(&d, 640, 480, 0.5, 1.0, 0); /* another view */
    scene(&e, 640, 480, 0, 1.0, 12);  /* the blob moved: a burst */
    REQUIRE(fingerprint_image(&a, &fa) == 0 && fingerprint_image(&b, &fb) == 0);
    REQUIRE(fingerprint_image(&c, &fc) == 0 && fingerprint_image(&d, &fd) == 0);
    REQUIRE(fingerprint_image(&e, &fe) == 0);
    /* exactly half the bits are set: distances are even */
    CHECK(__builtin_popcountll(fa.phash) == 32);
    CHECK(fingerprint_dist64(fa.phash, fb.phash) <= 2);
    CHECK(fingerprint_dist64(fa.phash, fc.phash) <= 2);
    CHECK(fingerprint_dist64(fa.phash, fd.phash) > NEARDUP_T);
    CHECK(fingerprint_local_diff(&fa, &fb) < NEARDUP_V);
    CHECK(fingerprint_local_diff(&fa, &fc) < NEARDUP_V);
    CHECK(fingerprint_local_diff(&fa, &fe) > NEARDUP_V);
    /* hex round trips */
    char vh[FP_VBITS / 4 + 1];
    static char th[FP_THUMB_HEX + 1];
    static struct fingerprint g;
    fingerprint_vhex(&fa, vh);
    fingerprint_thumb_hex(&fa, th);
    CHECK(fingerprint_vparse(vh, &g) == 0 && !memcmp(g.vhash, fa.vhash, sizeof(g.vhash)));
    CHECK(fingerprint_thumb_parse(th, &g) == 0 && !memcmp(g.thumb, fa.thumb, sizeof(g.thumb)));
    vh[5] = 'g';
    CHECK(fingerprint_vparse(vh, &g) < 0);
    CHECK(fingerprint_vparse("abc", &g) < 0);
    /* too small */
    image_free(&b);
    scene(&b, 7, 40, 0, 1, 0);
    CHECK(fingerprint_image(&b, &fb) < 0);
    tp_err_clear();
    image_free(&a);
    image_free(&b);
    image_free(&c);
    image_free(&d);
    image_free(&e);
}

struct pairs {
    uint64_t *key; /* i << 32 | j, with the distance checked */
    size_t n, cap;
    const uint64_t *h;
    int bad;
};

static int collect(void *ud, uint32_t i, uint32_t j, int d)
{
    struct pairs *p = ud;
    if (i >= j || __builtin_popcountll(p->h[i] ^ p->h[j]) != d)
        p->bad++;
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 1024;
        p->key = realloc(p->key, p->cap * sizeof(*p->key));
    }
    p->key[p->n++] = (uint64_t)i << 32 | j;
    return 0;
}

static int cmpu64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* fpindex_pairs finds exactly the brute-force pairs, each once, for every
 * distance; planted near-copies at every distance 0..11. */
TEST(fpindex_equals_brute_force)
{
    const size_t n = 6000;
    uint64_t *h = malloc(n * sizeof(*h)), s = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        if (i && i % 4 == 0) { /* a copy of an earlier one, k bits off */
            uint64_t v = h[rnd(&s) % i];
            int k = (int)(rnd(&s) % 12);
            for (int b = 0; b < k; b++)
                v ^= 1ull << (rnd(&s) % 64);
            h[i] = v;
        } else {
            h[i] = rnd(&s);
        }
    }
    for (int t = 0; t <= FPINDEX_MAX_T; t += 1) {
        struct pairs a = { .h = h }, b = { .h = h };
        CHECK(fpindex_pairs(h, n, t, collect, &a) == 0);
        CHECK(fpindex_pairs_brute(h, n, t, collect, &b) == 0);
        qsort(a.key, a.n, sizeof(*a.key), cmpu64);
        qsort(b.key, b.n, sizeof(*b.key), cmpu64);
        CHECK(a.bad == 0 && b.bad == 0);
        CHECK(a.n == b.n && b.n > 0 && !memcmp(a.key, b.key, a.n * sizeof(*a.key)));
        if (a.n != b.n)
            printf("#   t=%d: index %zu pairs, brute force %zu\n", t, a.n, b.n);
        free(a.key);
        free(b.key);
    }
    CHECK(fpindex_pairs(h, n, FPINDEX_MAX_T + 1, collect, NULL) < 0);
    tp_err_clear();
    free(h);
}

TEST(neardup_keeper_order)
{
    struct catalog_asset a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    a.id = 1, b.id = 2;
    a.width = b.width = 1000, a.height = b.height = 800;
    snprintf(a.format, sizeof(a.format), "jpeg");
    snprintf(b.format, sizeof(b.format), "jpeg");
    a.bytes = b.bytes = 1000;
    CHECK(neardup_keeper_cmp(&a, &b) < 0); /* all equal: the first catalogued */
    snprintf(b.capture_time, sizeof(b.capture_time), "2020-01-01T00:00:00");
    CHECK(neardup_keeper_cmp(&a, &b) > 0); /* more metadata */
    a.bytes = 2000;
    CHECK(neardup_keeper_cmp(&a, &b) < 0); /* less compressed */
    snprintf(b.format, sizeof(b.format), "png");
    CHECK(neardup_keeper_cmp(&a, &b) > 0); /* lossless */
    a.width = 2000;
    CHECK(neardup_keeper_cmp(&a, &b) < 0); /* resolution first */
    /* two different capture times: never duplicates */
    struct neardup_opts o;
    neardup_defaults(&o);
    snprintf(a.capture_time, sizeof(a.capture_time), "2020-01-01T00:00:01");
    CHECK(neardup_classify(&o, 0, 0, &a, &b) == NEARDUP_SIMILAR);
    a.capture_time[0] = '\0';
    CHECK(neardup_classify(&o, 0, 0, &a, &b) == NEARDUP_DUPLICATE);
    CHECK(neardup_classify(&o, 0, NEARDUP_V + 1, &a, &b) == NEARDUP_SIMILAR);
    CHECK(neardup_classify(&o, NEARDUP_T + 1, 0, &a, &b) == NEARDUP_NONE);
}
