/* checkasm tests for the SSIM kernels (src/dsp/ssim.h): every variant must
 * match the C reference bit for bit (the kernels avoid FMA and keep the C
 * operation order, see ssim.h), must not write outside [0, w) (0x99
 * padding), and must not read past the end of its inputs (guard page). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "dsp/ssim.h"
#include "fileio.h"
#include "ssim.h"
#include "checkasm.h"

#define GUARD 16 /* floats of 0x99 padding on each side of an output */

static const int widths[] = { 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17,
                              18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
                              35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
                              52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 255,
                              1000, 1921 };

static const float plane_coef[3][4] = {
    { 0.299f, 0.587f, 0.114f, -128.0f },
    { -0.168736f, -0.331264f, 0.5f, 0.0f },
    { 0.5f, -0.418688f, -0.081312f, 0.0f },
};

/* An output row: w floats at a random misalignment inside 0x99 padding. */
struct out_row {
    float *base, *p;
    int w;
};

static void out_init(struct out_row *o, int w)
{
    int off = (int)(checkasm_rand() % 8);
    o->base = malloc(sizeof(float) * (size_t)(w + 2 * GUARD + 8));
    memset(o->base, 0x99, sizeof(float) * (size_t)(w + 2 * GUARD + 8));
    o->p = o->base + GUARD + off;
    o->w = w;
}

static int out_padding_ok(const struct out_row *o, const char *what)
{
    const uint8_t *b = (const uint8_t *)o->base;
    size_t pre = (size_t)(o->p - o->base) * sizeof(float);
    size_t post = (size_t)(o->p + o->w - o->base) * sizeof(float);
    size_t end = sizeof(float) * (size_t)(o->w + 2 * GUARD + 8);
    for (size_t i = 0; i < pre; i++)
        if (b[i] != 0x99) {
            checkasm_fail("%s w=%d: wrote before the start", what, o->w);
            return 0;
        }
    for (size_t i = post; i < end; i++)
        if (b[i] != 0x99) {
            checkasm_fail("%s w=%d: wrote past the end", what, o->w);
            return 0;
        }
    return 1;
}

static int same_floats(const float *a, const float *b, int w, const char *what, int mode)
{
    if (!memcmp(a, b, sizeof(float) * (size_t)w))
        return 1;
    for (int x = 0; x < w; x++)
        if (memcmp(&a[x], &b[x], sizeof(float))) {
            checkasm_fail("%s w=%d mode=%d: x=%d C %.9g vs %.9g", what, w, mode, x, (double)a[x],
                          (double)b[x]);
            break;
        }
    return 0;
}

/* ---- conv ------------------------------------------------------------ */

static void check_conv(const struct ssim_dsp *d)
{
    ssim_conv_fn ref = (ssim_conv_fn)check_func(d->conv, "conv");
    if (!ref)
        return;
    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        int w = widths[wi];
        for (int mode = 0; mode < 3; mode++) {
            uint8_t *rgb = checkasm_alloc_guarded((size_t)w * 3);
            for (int i = 0; i < 3 * w; i++)
                rgb[i] = mode == 0 ? (uint8_t)checkasm_rand() : mode == 1 ? 0 : 255;
            for (int pl = 0; pl < 3; pl++) {
                struct out_row r, n;
                out_init(&r, w);
                out_init(&n, w);
                ref(r.p, rgb, w, plane_coef[pl]);
                d->conv(n.p, rgb, w, plane_coef[pl]);
                same_floats(r.p, n.p, w, "conv", mode);
                out_padding_ok(&n, "conv");
                free(r.base);
                free(n.base);
            }
            checkasm_free_guarded(rgb, (size_t)w * 3);
        }
    }
    if (checkasm_bench()) {
        enum { W = 1920, ITER = 4000 };
        uint8_t *rgb = malloc(3 * W);
        float *dst = malloc(sizeof(float) * W);
        for (int i = 0; i < 3 * W; i++)
            rgb[i] = (uint8_t)checkasm_rand();
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            uint64_t t0 = checkasm_time_ns();
            for (int i = 0; i < ITER; i++)
                d->conv(dst, rgb, W, plane_coef[i % 3]);
            double ns = (double)(checkasm_time_ns() - t0) / ((double)W * ITER);
            best = ns < best ? ns : best;
        }
        checkasm_bench_report(best);
        free(rgb);
        free(dst);
    }
    checkasm_report();
}

/* ---- vfilt ----------------------------------------------------------- */

/* A value of centred 8-bit sample data for pattern mode (a, b pair). */
static void pair_value(int mode, float *va, float *vb)
{
    switch (mode) {
    case 0: /* random, independent */
        *va = checkasm_randf(-128.f, 128.f);
        *vb = checkasm_randf(-128.f, 128.f);
        break;
    case 1: { /* integers, b = a +- 1 */
        int v = (int)(checkasm_rand() % 256);
        int dv = checkasm_rand() & 1 ? 1 : -1;
        *va = (float)v - 128.f;
        *vb = (float)(v + dv < 0 ? 1 : v + dv > 255 ? 254 : v + dv) - 128.f;
        break;
    }
    case 2: /* all 0 */
        *va = *vb = -128.f;
        break;
    case 3: /* all 255 */
        *va = *vb = 127.f;
        break;
    case 4: /* 0 against 255 */
        *va = -128.f;
        *vb = 127.f;
        break;
    case 5: /* identical random */
        *va = *vb = checkasm_randf(-128.f, 128.f);
        break;
    default: { /* real plane values (Y', Cb') of random RGB */
        float r = (float)(checkasm_rand() & 255), g = (float)(checkasm_rand() & 255),
              bl = (float)(checkasm_rand() & 255);
        *va = ((r * 0.299f + g * 0.587f) + bl * 0.114f) - 128.f;
        *vb = ((r * -0.168736f + g * -0.331264f) + bl * 0.5f);
        break;
    }
    }
}
#define NMODES 7

static void check_vfilt(const struct ssim_dsp *d)
{
    ssim_vfilt_fn ref = (ssim_vfilt_fn)check_func(d->vfilt, "vfilt");
    if (!ref)
        return;
    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        int w = widths[wi];
        for (int mode = 0; mode < NMODES; mode++) {
            float *ra[SSIM_TAPS], *rb[SSIM_TAPS];
            const float *a[SSIM_TAPS], *b[SSIM_TAPS];
            for (int k = 0; k < SSIM_TAPS; k++) {
                a[k] = ra[k] = checkasm_alloc_guarded((size_t)w * sizeof(float));
                b[k] = rb[k] = checkasm_alloc_guarded((size_t)w * sizeof(float));
                for (int x = 0; x < w; x++)
                    pair_value(mode, &ra[k][x], &rb[k][x]);
            }
            struct out_row r[4], o[4];
            float *rp[4], *op[4];
            for (int m = 0; m < 4; m++) {
                out_init(&r[m], w);
                out_init(&o[m], w);
                rp[m] = r[m].p;
                op[m] = o[m].p;
            }
            ref(rp, a, b, w);
            d->vfilt(op, a, b, w);
            for (int m = 0; m < 4; m++) {
                same_floats(rp[m], op[m], w, "vfilt", mode);
                out_padding_ok(&o[m], "vfilt");
                free(r[m].base);
                free(o[m].base);
            }
            for (int k = 0; k < SSIM_TAPS; k++) {
                checkasm_free_guarded(ra[k], (size_t)w * sizeof(float));
                checkasm_free_guarded(rb[k], (size_t)w * sizeof(float));
            }
        }
    }
    if (checkasm_bench()) {
        enum { W = 1920, ITER = 2000 };
        float *buf = malloc(sizeof(float) * W * (2 * SSIM_TAPS + 4));
        const float *a[SSIM_TAPS], *b[SSIM_TAPS];
        float *o[4];
        for (int i = 0; i < W * 2 * SSIM_TAPS; i++)
            buf[i] = checkasm_randf(-128.f, 128.f);
        for (int k = 0; k < SSIM_TAPS; k++) {
            a[k] = buf + k * W;
            b[k] = buf + (SSIM_TAPS + k) * W;
        }
        for (int m = 0; m < 4; m++)
            o[m] = buf + (2 * SSIM_TAPS + m) * W;
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            uint64_t t0 = checkasm_time_ns();
            for (int i = 0; i < ITER; i++)
                d->vfilt(o, a, b, W);
            double ns = (double)(checkasm_time_ns() - t0) / ((double)W * ITER);
            best = ns < best ? ns : best;
        }
        checkasm_bench_report(best);
        free(buf);
    }
    checkasm_report();
}

/* ---- hmap ------------------------------------------------------------ */

/* Four padded moment rows (w + 10) consistent with planes a, b of the
 * given mode: m0, m1 means, m2 = m0^2 + m1^2 + var_a + var_b, m3 = m0 m1 +
 * a covariance within Cauchy-Schwarz; identical planes: m1 = m0 and
 * m2 = 2 m3 exactly (as the vertical pass makes them). */
static void fill_moments(float *const m[4], int n, int mode)
{
    for (int x = 0; x < n; x++) {
        float m0, m1, va = checkasm_randf(0.f, 5000.f), vb = checkasm_randf(0.f, 5000.f);
        float rho = checkasm_randf(-1.f, 1.f);
        pair_value(mode, &m0, &m1);
        if (mode == 2 || mode == 3 || mode == 4)
            va = vb = 0.f; /* flat */
        m[0][x] = m0;
        m[1][x] = m1;
        if (mode == 5) {
            m[3][x] = m0 * m0 + va;
            m[2][x] = 2.f * m[3][x];
        } else {
            m[2][x] = (m0 * m0 + va) + (m1 * m1 + vb);
            m[3][x] = m0 * m1 + rho * sqrtf(va * vb);
        }
    }
}

static void check_hmap(const struct ssim_dsp *d)
{
    ssim_hmap_fn ref = (ssim_hmap_fn)check_func(d->hmap, "hmap");
    if (!ref)
        return;
    for (size_t wi = 0; wi < sizeof(widths) / sizeof(widths[0]); wi++) {
        int w = widths[wi];
        size_t n = (size_t)w + 2 * SSIM_RADIUS;
        for (int mode = 0; mode < NMODES; mode++) {
            float *rows[4];
            const float *m[4];
            for (int k = 0; k < 4; k++)
                rows[k] = checkasm_alloc_guarded(n * sizeof(float));
            fill_moments(rows, (int)n, mode);
            for (int k = 0; k < 4; k++)
                m[k] = rows[k] + SSIM_RADIUS;
            struct out_row r, o;
            out_init(&r, w);
            out_init(&o, w);
            ref(r.p, m, 128.f, w);
            d->hmap(o.p, m, 128.f, w);
            same_floats(r.p, o.p, w, "hmap", mode);
            out_padding_ok(&o, "hmap");
            for (int x = 0; x < w; x++) {
                /* identical planes give exactly 1; any input stays in [-1, 1] */
                if ((mode == 2 || mode == 3 || mode == 5) && o.p[x] != 1.0f) {
                    checkasm_fail("hmap w=%d mode=%d: x=%d identical gives %.9g", w, mode, x,
                                  (double)o.p[x]);
                    break;
                }
                if (!(o.p[x] >= -1.0001f && o.p[x] <= 1.0001f)) {
                    checkasm_fail("hmap w=%d mode=%d: x=%d out of range %.9g", w, mode, x,
                                  (double)o.p[x]);
                    break;
                }
            }
            free(r.base);
            free(o.base);
            for (int k = 0; k < 4; k++)
                checkasm_free_guarded(rows[k], n * sizeof(float));
        }
    }
    if (checkasm_bench()) {
        enum { W = 1920, ITER = 2000 };
        float *buf = malloc(sizeof(float) * (W + 10) * 5);
        float *rows[4];
        const float *m[4];
        for (int k = 0; k < 4; k++)
            rows[k] = buf + k * (W + 10);
        fill_moments(rows, W + 10, 0);
        for (int k = 0; k < 4; k++)
            m[k] = rows[k] + SSIM_RADIUS;
        double best = 1e30;
        for (int rep = 0; rep < 5; rep++) {
            uint64_t t0 = checkasm_time_ns();
            for (int i = 0; i < ITER; i++)
                d->hmap(buf + 4 * (W + 10), m, 128.f, W);
            double ns = (double)(checkasm_time_ns() - t0) / ((double)W * ITER);
            best = ns < best ? ns : best;
        }
        checkasm_bench_report(best);
        free(buf);
    }
    checkasm_report();
}

void checkasm_check_ssim(void)
{
    struct ssim_dsp d;
    ssim_dsp_init(&d);
    check_conv(&d);
    check_vfilt(&d);
    check_hmap(&d);
}

/* ---- the whole pipeline on a real pair -------------------------------- */

/* A real photo and its JPEG q30 re-encode, decoded once. */
static struct image real_a, real_b;
static int real_state; /* 0 not tried, 1 loaded, -1 unavailable */

static int decode_file(const char *path, struct image *out)
{
    struct tp_buf b = { 0 };
    struct codec_opts o;
    struct meta m;
    int ret;
    codec_opts_defaults(&o);
    meta_init(&m);
    ret = file_read(path, o.limits.max_file_bytes, &b);
    if (ret >= 0)
        ret = codec_decode_any(b.data, b.len, path, &o, out, &m, NULL);
    buf_free(&b);
    meta_free(&m);
    return ret;
}

static int load_real(void)
{
    static const char *const paths[] = {
        "samples/photo-nikon-d40-1000x665-exif.jpg",
        "../../samples/photo-nikon-d40-1000x665-exif.jpg",
    };
    struct codec_ctx *ctx = NULL;
    struct codec_opts o;
    struct tp_buf enc = { 0 };
    struct meta m;
    unsigned dropped;
    int ret = -1;
    if (real_state)
        return real_state;
    real_state = -1;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]) && ret < 0; i++)
        ret = decode_file(paths[i], &real_a);
    if (ret < 0)
        return real_state;
    codec_opts_defaults(&o);
    o.quality = 30;
    meta_init(&m);
    if (codec_open(&ctx, codec_find_by_name("jpeg"), &o) >= 0 &&
        codec_encode(ctx, &real_a, &m, &enc, &dropped) >= 0) {
        codec_opts_defaults(&o);
        if (codec_decode_any(enc.data, enc.len, NULL, &o, &real_b, &m, NULL) >= 0)
            real_state = 1;
    }
    codec_close(&ctx);
    buf_free(&enc);
    meta_free(&m);
    return real_state;
}

/* An odd crop sharing the pixels (stride stays the parent's). */
static struct image crop(const struct image *in, int x0, int y0, int w, int h)
{
    struct image c = *in;
    c.data = in->data + (size_t)y0 * in->stride + (size_t)x0 * (size_t)in->channels;
    c.width = w;
    c.height = h;
    return c;
}

void checkasm_check_ssim_real(void)
{
    static struct ssim_result c_res;
    static float *c_map;
    enum { X0 = 37, Y0 = 11, W = 333, H = 217 };
    /* the pipeline is re-run at each level: a distinct id per level */
    if (!check_func((void *)(uintptr_t)(checkasm_cpu_mask() + 1), "ssim_real"))
        return;
    if (load_real() < 0) {
        printf("ok - checkasm/ssim_real_%s # skip samples/ not found\n", checkasm_isa());
        return;
    }
    struct image a = crop(&real_a, X0, Y0, W, H), b = crop(&real_b, X0, Y0, W, H);
    struct ssim_opts o;
    struct ssim_result res, res1;
    float *map = malloc(sizeof(float) * W * H);
    ssim_opts_defaults(&o);
    o.map_out = map;
    o.threads = 3;
    o.tile = 16; /* several tiles in the crop */
    if (ssim_images(&a, 1, &b, 1, &o, &res) < 0) {
        checkasm_fail("ssim_images failed");
        goto end;
    }
    o.threads = 1;
    o.map_out = NULL;
    if (ssim_images(&a, 1, &b, 1, &o, &res1) < 0 || memcmp(&res, &res1, sizeof(res))) {
        checkasm_fail("threads=1 gives %.12f, threads=3 %.12f", res1.ssim, res.ssim);
        goto end;
    }
    if (!(res.ssim > 0.3 && res.ssim < 0.99 && res.min_tile <= res.ssim && res.ssim_cb > 0.3)) {
        checkasm_fail("implausible q30 SSIM %.6f (min tile %.6f)", res.ssim, res.min_tile);
        goto end;
    }
    if (!strcmp(checkasm_isa(), "c")) {
        c_res = res;
        free(c_map);
        c_map = map;
        map = NULL;
    } else if (!c_map) {
        checkasm_fail("no C result to compare with");
    } else {
        if (memcmp(&res, &c_res, sizeof(res)))
            checkasm_fail("ssim %.12f cb %.12f cr %.12f min %.12f vs C %.12f %.12f %.12f %.12f",
                          res.ssim, res.ssim_cb, res.ssim_cr, res.min_tile, c_res.ssim,
                          c_res.ssim_cb, c_res.ssim_cr, c_res.min_tile);
        same_floats(c_map, map, W * H, "ssim_real map", 0);
    }
    if (checkasm_bench()) {
        /* the whole single-thread pipeline, luma + chroma, on the full image */
        struct ssim_ref *ref;
        double best = 1e30;
        ssim_opts_defaults(&o);
        o.threads = 1;
        if (ssim_ref_new(&ref, &real_a, 1) >= 0) {
            for (int rep = 0; rep < 5; rep++) {
                uint64_t t0 = checkasm_time_ns();
                ssim_compare(ref, &real_b, 1, &o, &res);
                double ns = (double)(checkasm_time_ns() - t0) /
                            ((double)real_a.width * real_a.height);
                best = ns < best ? ns : best;
            }
            ssim_ref_free(&ref);
            checkasm_bench_report(best);
        }
    }
end:
    free(map);
    checkasm_report();
}
