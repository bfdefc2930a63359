/* SSIM of a reference against candidates: plane conversion, reflect
 * padding, the streaming separable filter over row bands, and the
 * deterministic accumulation of the map (docs/ssim.md).  The per-row
 * arithmetic is in the dsp kernels (src/dsp/ssim.c). */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "dsp/ssim.h"
#include "err.h"
#include "log.h"
#include "mem.h"
#include "ssim.h"

#define BAND_ROWS 128  /* cropped map rows per work unit (rounded up to tiles) */
#define MAX_THREADS 256

struct ssim_ref {
    struct image rgb;    /* upright, 8-bit RGB, owned */
    struct ssim_dsp dsp; /* kernels picked once at creation */
};

/* The three planes, centred: value - 128, so that the squares the
 * variances are computed from stay small (|v| <= 128) and float32 keeps
 * ~1e-3 absolute precision on the second moments. */
static const float plane_coef[3][4] = {
    { 0.299f, 0.587f, 0.114f, -128.0f },       /* Y - 128 */
    { -0.168736f, -0.331264f, 0.5f, 0.0f },    /* Cb - 128 */
    { 0.5f, -0.418688f, -0.081312f, 0.0f },    /* Cr - 128 */
};
#define PLANE_OFFSET 128.0f

void ssim_opts_defaults(struct ssim_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->threads = 0;
    o->chroma = 1;
    o->tile = 64;
    o->map_out = NULL;
}

static int opts_validate(const struct ssim_opts *o)
{
    RETURN_ERR_IF(o->threads < 0 || o->threads > MAX_THREADS, TP_ERR(EINVAL),
                  "ssim threads %d out of range 0..%d", o->threads, MAX_THREADS);
    RETURN_ERR_IF(o->tile < 8 || o->tile > 4096, TP_ERR(EINVAL),
                  "ssim tile %d out of range 8..4096", o->tile);
    return 0;
}

/* scipy.ndimage 'reflect' (half-sample symmetric, d c b a | a b c d | d c
 * b a), repeated for any i: period 2n. */
static inline int reflect(int i, int n)
{
    int p = 2 * n;
    int m = i % p;
    if (m < 0)
        m += p;
    return m >= n ? p - 1 - m : m;
}

/* Makes out an upright 8-bit RGB version of in.  If in already is one,
 * *use_out = in and out stays empty (borrowed); else out is new and the
 * caller frees it with image_free(). */
static int to_upright_rgb8(const struct image *in, int orientation, struct image *out,
                           const struct image **use_out)
{
    struct image tmp = { 0 };
    int ret;
    memset(out, 0, sizeof(*out));
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    RETURN_ERR_IF(!in || !in->data || in->width <= 0 || in->height <= 0, TP_ERR(EINVAL),
                  "ssim: empty image");
    if (in->depth == 1 && in->channels == 3 && orientation == 1) {
        *use_out = in;
        return 0;
    }
    if (in->depth == 1 && in->channels == 3) {
        if ((ret = image_orient(in, orientation, out)) < 0)
            return ret;
        *use_out = out;
        return 0;
    }
    /* alpha over white: what a viewer on a white page shows */
    if ((ret = image_to_rgb8_flat(in, 255, &tmp)) < 0)
        return ret;
    if (orientation == 1) {
        *out = tmp;
    } else {
        ret = image_orient(&tmp, orientation, out);
        image_free(&tmp);
        if (ret < 0)
            return ret;
    }
    *use_out = out;
    return 0;
}

int ssim_ref_new(struct ssim_ref **ref_out, const struct image *img, int orientation)
{
    struct ssim_ref *r;
    const struct image *use;
    struct image tmp;
    int ret;

    *ref_out = NULL;
    if (!(r = tp_calloc(1, sizeof(*r))))
        return TP_ERR(ENOMEM);
    if ((ret = to_upright_rgb8(img, orientation, &tmp, &use)) < 0)
        goto fail;
    if (use == img) {
        if ((ret = image_alloc(&r->rgb, img->width, img->height, 3, 1)) < 0)
            goto fail;
        for (int y = 0; y < img->height; y++)
            memcpy(r->rgb.data + (size_t)y * r->rgb.stride, img->data + (size_t)y * img->stride,
                   (size_t)img->width * 3);
    } else {
        r->rgb = tmp;
    }
    ssim_dsp_init(&r->dsp);
    *ref_out = r;
    return 0;
fail:
    tp_free(r);
    return ret;
}

int ssim_ref_new_take(struct ssim_ref **ref_out, struct image *img, int orientation)
{
    struct ssim_ref *r;
    if (img->depth != 1 || img->channels != 3 || (orientation > 1 && orientation <= 8) ||
        img->stride != (size_t)img->width * 3) {
        FORWARD_ERR(ssim_ref_new(ref_out, img, orientation));
        image_free(img);
        return 0;
    }
    *ref_out = NULL;
    if (!(r = tp_calloc(1, sizeof(*r))))
        return TP_ERR(ENOMEM);
    r->rgb = *img;
    memset(img, 0, sizeof(*img));
    ssim_dsp_init(&r->dsp);
    *ref_out = r;
    return 0;
}

void ssim_ref_free(struct ssim_ref **ref)
{
    if (!ref || !*ref)
        return;
    image_free(&(*ref)->rgb);
    tp_freep(ref);
}

void ssim_ref_size(const struct ssim_ref *ref, int *w_out, int *h_out)
{
    *w_out = ref->rgb.width;
    *h_out = ref->rgb.height;
}

/* ---- the computation ------------------------------------------------ */

struct job {
    const struct ssim_dsp *dsp;
    const struct image *a, *b;  /* upright RGB8, same size */
    int w, h;
    int pad;                    /* crop margin: 5, or 0 for images under 11 px */
    int tile, ntx, nty;         /* tile edge; full tiles across / down the crop */
    int band_rows, nbands, nplanes;
    float *map_out;
    double *band_sum;           /* [nbands][3]: sum of the cropped map per plane */
    double *tile_sum;           /* [nty][ntx]: luma */
    atomic_int next_band;
    atomic_int failed;
};

/* Sums n floats in double with four fixed interleaved accumulators: the
 * same order every time, whatever the ISA or thread count. */
static double sum_floats(const float *m, int n)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += m[i];
        s1 += m[i + 1];
        s2 += m[i + 2];
        s3 += m[i + 3];
    }
    for (; i < n; i++)
        s0 += m[i];
    return (s0 + s1) + (s2 + s3);
}

/* Scratch for one worker: the 11-row rings of converted plane rows of A
 * and B, the four vertically filtered moments (padded by 5 on each side
 * for the horizontal pass) and a map row. */
struct scratch {
    float *ra[SSIM_TAPS], *rb[SSIM_TAPS];
    float *mom[4];                /* mom[m] - 5 .. mom[m] + w + 4 */
    float *map;
    float *block;
};

static int scratch_alloc(struct scratch *s, int w)
{
    size_t W = (size_t)w, n = (2 * SSIM_TAPS + 1) * W + 4 * (W + 2 * SSIM_RADIUS);
    float *p = tp_malloc(n * sizeof(float));
    if (!p)
        return TP_ERR(ENOMEM);
    s->block = p;
    for (int k = 0; k < SSIM_TAPS; k++) {
        s->ra[k] = p;
        p += W;
        s->rb[k] = p;
        p += W;
    }
    for (int m = 0; m < 4; m++, p += W + 2 * SSIM_RADIUS)
        s->mom[m] = p + SSIM_RADIUS;
    s->map = p;
    return 0;
}

static void pad_row(float *row, int w)
{
    /* row[-5..-1] and row[w..w+4] from row[0..w-1] */
    for (int k = 1; k <= SSIM_RADIUS; k++) {
        row[-k] = row[reflect(-k, w)];
        row[w - 1 + k] = row[reflect(w - 1 + k, w)];
    }
}

static void run_band(struct job *j, struct scratch *s, int band)
{
    const struct ssim_dsp *d = j->dsp;
    const int w = j->w, h = j->h, p = j->pad, T = j->tile;
    const int hc = h - 2 * p, wc = w - 2 * p;
    int c0 = band * j->band_rows, c1 = c0 + j->band_rows;
    if (c1 > hc)
        c1 = hc;
    int y0 = band == 0 ? 0 : p + c0;
    int y1 = band == j->nbands - 1 ? h : p + c1;

    for (int pl = 0; pl < j->nplanes; pl++) {
        double band_sum = 0;
        for (int i = y0 - SSIM_RADIUS; i < y1 + SSIM_RADIUS; i++) {
            int ri = reflect(i, h);
            int slot = (i - (y0 - SSIM_RADIUS)) % SSIM_TAPS;
            d->conv(s->ra[slot], j->a->data + (size_t)ri * j->a->stride, w, plane_coef[pl]);
            d->conv(s->rb[slot], j->b->data + (size_t)ri * j->b->stride, w, plane_coef[pl]);
            int y = i - SSIM_RADIUS; /* the output row now complete */
            if (y < y0)
                continue;
            const float *ra[SSIM_TAPS], *rb[SSIM_TAPS];
            for (int k = 0; k < SSIM_TAPS; k++) {
                ra[k] = s->ra[(y - y0 + k) % SSIM_TAPS];
                rb[k] = s->rb[(y - y0 + k) % SSIM_TAPS];
            }
            d->vfilt(s->mom, ra, rb, w);
            for (int m = 0; m < 4; m++)
                pad_row(s->mom[m], w);
            float *map = pl == 0 && j->map_out ? j->map_out + (size_t)y * (size_t)w : s->map;
            d->hmap(map, (const float *const *)s->mom, PLANE_OFFSET, w);
            if (y < p || y >= h - p)
                continue;
            /* the cropped part, in tile-wide segments */
            const float *row = map + p;
            int ty = (y - p) / T;
            double row_sum = 0;
            int x = 0;
            for (int tx = 0; x + T <= wc; tx++, x += T) {
                double seg = sum_floats(row + x, T);
                if (pl == 0 && ty < j->nty)
                    j->tile_sum[(size_t)ty * (size_t)j->ntx + (size_t)tx] += seg;
                row_sum += seg;
            }
            row_sum += sum_floats(row + x, wc - x);
            band_sum += row_sum;
        }
        j->band_sum[band * 3 + pl] = band_sum;
    }
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct scratch s;
    if (scratch_alloc(&s, j->w) < 0) {
        atomic_store(&j->failed, 1);
        return NULL;
    }
    for (;;) {
        int band = atomic_fetch_add(&j->next_band, 1);
        if (band >= j->nbands || atomic_load(&j->failed))
            break;
        run_band(j, &s, band);
    }
    tp_free(s.block);
    return NULL;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static int run_job(struct job *j, int threads)
{
    pthread_t tid[MAX_THREADS];
    int started = 0;
    if (threads <= 0)
        threads = online_cpus();
    if (threads > j->nbands)
        threads = j->nbands;
    /* below ~0.25 MP a thread costs more than it saves */
    if ((long long)j->w * j->h < 262144)
        threads = 1;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tid[started], NULL, worker, j) != 0)
            break; /* run with fewer threads */
        started++;
    }
    worker(j);
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    return atomic_load(&j->failed) ? TP_ERR(ENOMEM) : 0;
}

int ssim_compare(const struct ssim_ref *ref, const struct image *img, int orientation,
                 const struct ssim_opts *o, struct ssim_result *out)
{
    struct ssim_opts def;
    struct image tmp = { 0 };
    const struct image *b = NULL;
    struct job j;
    int ret;

    if (!o) {
        ssim_opts_defaults(&def);
        o = &def;
    }
    FORWARD_ERR(opts_validate(o));
    memset(&j, 0, sizeof(j));
    memset(out, 0, sizeof(*out));
    if ((ret = to_upright_rgb8(img, orientation, &tmp, &b)) < 0)
        return ret;
    const int w = ref->rgb.width, h = ref->rgb.height;
    if (b->width != w || b->height != h) {
        tp_err_set("A is %dx%d, B is %dx%d", w, h, b->width, b->height);
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    j.dsp = &ref->dsp;
    j.a = &ref->rgb;
    j.b = b;
    j.w = w;
    j.h = h;
    /* skimage needs >= 11x11 (and then crops 5); smaller images average
     * the whole (reflect-padded) map instead of failing */
    j.pad = w >= SSIM_TAPS && h >= SSIM_TAPS ? SSIM_RADIUS : 0;
    j.tile = o->tile;
    j.ntx = (w - 2 * j.pad) / o->tile;
    j.nty = (h - 2 * j.pad) / o->tile;
    j.band_rows = (BAND_ROWS + o->tile - 1) / o->tile * o->tile;
    j.nbands = (h - 2 * j.pad + j.band_rows - 1) / j.band_rows;
    j.nplanes = o->chroma ? 3 : 1;
    j.map_out = o->map_out;
    atomic_init(&j.next_band, 0);
    atomic_init(&j.failed, 0);
    j.band_sum = tp_calloc((size_t)j.nbands * 3, sizeof(double));
    j.tile_sum = tp_calloc((size_t)j.ntx * (size_t)j.nty + 1, sizeof(double));
    if (!j.band_sum || !j.tile_sum) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if ((ret = run_job(&j, o->threads)) < 0)
        goto end;

    double n = (double)(w - 2 * j.pad) * (double)(h - 2 * j.pad), sum[3] = { 0, 0, 0 };
    for (int band = 0; band < j.nbands; band++)
        for (int pl = 0; pl < 3; pl++)
            sum[pl] += j.band_sum[band * 3 + pl];
    out->ssim = sum[0] / n;
    out->ssim_cb = o->chroma ? sum[1] / n : NAN;
    out->ssim_cr = o->chroma ? sum[2] / n : NAN;
    out->min_tile = out->ssim;
    if (j.ntx > 0 && j.nty > 0) {
        double tmin = INFINITY, area = (double)o->tile * (double)o->tile;
        for (size_t t = 0; t < (size_t)j.ntx * (size_t)j.nty; t++)
            if (j.tile_sum[t] / area < tmin)
                tmin = j.tile_sum[t] / area;
        out->min_tile = tmin;
    }
    out->width = w;
    out->height = h;
    ret = 0;
end:
    tp_free(j.band_sum);
    tp_free(j.tile_sum);
    image_free(&tmp);
    return ret;
}

int ssim_images(const struct image *a, int orientation_a, const struct image *b,
                int orientation_b, const struct ssim_opts *o, struct ssim_result *out)
{
    struct ssim_ref *ref;
    FORWARD_ERR(ssim_ref_new(&ref, a, orientation_a));
    int ret = ssim_compare(ref, b, orientation_b, o, out);
    ssim_ref_free(&ref);
    return ret;
}
