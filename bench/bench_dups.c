/* Near-duplicates (issue 18), not a test:
 *   bench_dups fp FILE...     per image: proxies made (ms, median of 5) and
 *                             the fingerprint added to them (ms, median of
 *                             50, from the smallest proxy's pixels as
 *                             ingest does), and the local check per pair
 *   bench_dups group N T      N synthetic 64-bit fingerprints (a tenth are
 *                             near-copies of others, 0..T bits off): all
 *                             pairs within T by multi-index hashing (time,
 *                             peak RSS), and brute force on a subset,
 *                             extrapolated by (N / subset)^2
 * One JSON line per measurement; times are CPU seconds of the one thread
 * doing the work (proxy_make's second encode thread is not counted, so
 * the fraction is an upper bound). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "codec.h"
#include "err.h"
#include "fileio.h"
#include "fingerprint.h"
#include "fpindex.h"
#include "proxy.h"

/* CPU time of this thread: the machine is shared (and busy), so wall time
 * measures the neighbours; every stage here is single-threaded. */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmpd);
    return v[n / 2];
}

static int bench_fp(int argc, char **argv)
{
    struct proxy_set ps;
    proxy_set_defaults(&ps);
    proxy_set_validate(&ps);
    for (int f = 0; f < argc; f++) {
        struct tp_buf b = { 0 };
        struct image img = { 0 }, small = { 0 }, up = { 0 };
        struct meta m;
        struct codec_opts o;
        struct proxy_out out[PROXY_MAX];
        struct fingerprint fp, fp2;
        double tp[5], tf[50];
        meta_init(&m);
        codec_opts_defaults(&o);
        if (file_read(argv[f], 1u << 30, &b) < 0 ||
            codec_decode_any(b.data, b.len, argv[f], &o, &img, &m, NULL) < 0) {
            fprintf(stderr, "%s: cannot decode: %s\n", argv[f], tp_err_detail());
            return 1;
        }
        for (int i = 0; i < 5; i++) {
            double t0 = now_ms();
            if (proxy_make(&ps, &img, &m, out) < 0)
                return 1;
            tp[i] = now_ms() - t0;
            proxy_out_free(out, ps.n);
        }
        /* the smallest proxy's pixels, as proxy_make_fp sees them */
        int w, h;
        if (image_orient(&img, m.orientation > 1 ? m.orientation : 1, &up) < 0)
            return 1;
        image_fit(up.width, up.height, ps.spec[ps.n - 1].max_edge, &w, &h);
        if (image_resize(&up, w, h, &small) < 0)
            return 1;
        for (int i = 0; i < 50; i++) {
            double t0 = now_ms();
            fingerprint_image(&small, &fp);
            tf[i] = now_ms() - t0;
        }
        fp2 = fp;
        fp2.thumb[100] ^= 0x40;
        double t0 = now_ms();
        int reps = 200, acc = 0;
        for (int i = 0; i < reps; i++)
            acc += fingerprint_local_diff(&fp, &fp2);
        double tl = (now_ms() - t0) / reps;
        double mp = median(tp, 5), mf = median(tf, 50);
        printf("{\"file\":\"%s\",\"width\":%d,\"height\":%d,\"decoded\":\"%dx%d\",\"proxies_ms\":%.2f,"
               "\"fingerprint_ms\":%.3f,\"fraction\":%.4f,\"local_check_ms\":%.3f,\"x\":%d}\n",
               argv[f], img.width, img.height, img.width, img.height, mp, mf, mf / mp, tl,
               acc & 1);
        fflush(stdout);
        image_free(&img);
        image_free(&up);
        image_free(&small);
        meta_free(&m);
        buf_free(&b);
    }
    return 0;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int count(void *ud, uint32_t i, uint32_t j, int d)
{
    (void)i, (void)j, (void)d;
    (*(uint64_t *)ud)++;
    return 0;
}

static long rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024;
}

static int bench_group(size_t n, int t, size_t sub)
{
    uint64_t *h = malloc(n * sizeof(*h)), s = 88172645463325252ull, pairs = 0, pb = 0, ps = 0;
    if (!h)
        return 1;
    for (size_t i = 0; i < n; i++) {
        if (i >= 10 && i % 10 == 0) {
            uint64_t v = h[rnd(&s) % i];
            int k = (int)(rnd(&s) % (uint64_t)(t + 1));
            for (int b = 0; b < k; b++)
                v ^= 1ull << (rnd(&s) % 64);
            h[i] = v;
        } else {
            h[i] = rnd(&s);
        }
    }
    long rss0 = rss_mb();
    double t0 = now_ms();
    if (fpindex_pairs(h, n, t, count, &pairs) < 0)
        return 1;
    double ti = now_ms() - t0;
    long rss1 = rss_mb();
    if (sub > n)
        sub = n;
    t0 = now_ms();
    fpindex_pairs_brute(h, sub, t, count, &pb);
    double tb = now_ms() - t0;
    t0 = now_ms();
    fpindex_pairs(h, sub, t, count, &ps);
    double tis = now_ms() - t0;
    double tb_full = tb * ((double)n / sub) * ((double)n / sub);
    printf("{\"n\":%zu,\"t\":%d,\"pairs\":%llu,\"index_s\":%.2f,\"rss_mb_before\":%ld,"
           "\"rss_mb_peak\":%ld,\"brute_subset\":%zu,\"brute_subset_s\":%.2f,"
           "\"index_subset_s\":%.3f,\"subset_pairs_equal\":%s,\"brute_extrapolated_s\":%.0f,"
           "\"ratio\":%.0f}\n",
           n, t, (unsigned long long)pairs, ti / 1e3, rss0, rss1, sub, tb / 1e3, tis / 1e3,
           pb == ps ? "true" : "false", tb_full / 1e3, tb_full / ti);
    free(h);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "fp"))
        return bench_fp(argc - 2, argv + 2);
    if (argc >= 4 && !strcmp(argv[1], "group"))
        return bench_group((size_t)strtoull(argv[2], NULL, 10), atoi(argv[3]),
                           argc > 4 ? (size_t)strtoull(argv[4], NULL, 10) : 50000);
    fprintf(stderr, "usage: bench_dups fp FILE... | group N T [SUBSET]\n");
    return 2;
}
