/* The image pipeline's pixel operations: allocation and limits, conversion
 * to 8-bit RGB, orientation, and resampling. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "image.h"
#include "tplimits.h"
#include "mem.h"

void image_limits_defaults(struct image_limits *l)
{
    const struct tp_limits *g = tplimits_get(); /* config file, environment, else built in */
    l->max_pixels = g->max_pixels;
    l->max_file_bytes = g->max_file_bytes;
    l->max_frames = 10000;
    l->max_dimension = 65535;
    /* the pixel limit's worst case (100 MP of RGBA16 = 800 MB) fits the
     * default; a host running many decoders lowers it */
    l->max_decode_bytes = 1ull << 30;
    const char *b = getenv("TP_DECODE_BUDGET_MB");
    if (b && atoll(b) >= 16 && atoll(b) <= 65536)
        l->max_decode_bytes = (uint64_t)atoll(b) << 20;
}

int image_check_dims(const struct image_limits *l, uint64_t w, uint64_t h)
{
    RETURN_ERR_IF(w == 0 || h == 0, TP_ERR_INVALIDDATA, "image has zero width or height");
    RETURN_ERR_IF(w > (uint64_t)l->max_dimension || h > (uint64_t)l->max_dimension, TP_ERR_LIMIT,
                  "%llux%llu exceeds the maximum dimension %d", (unsigned long long)w,
                  (unsigned long long)h, l->max_dimension);
    RETURN_ERR_IF(w * h > l->max_pixels, TP_ERR_LIMIT,
                  "%llux%llu is %llu pixels (%.1f MP), over the limit of %llu (max_pixels, "
                  "TIERPRESS_MAX_PIXELS)", (unsigned long long)w, (unsigned long long)h,
                  (unsigned long long)(w * h), (double)(w * h) / 1e6,
                  (unsigned long long)l->max_pixels);
    /* (zeroed limits from older callers: no budget) */
    RETURN_ERR_IF(l->max_decode_bytes && w * h * 8 > l->max_decode_bytes, TP_ERR_LIMIT,
                  "%llux%llu needs up to %llu MiB to decode, over the decode budget of %llu MiB "
                  "(TP_DECODE_BUDGET_MB)", (unsigned long long)w, (unsigned long long)h,
                  (unsigned long long)((w * h * 8) >> 20),
                  (unsigned long long)(l->max_decode_bytes >> 20));
    return 0;
}

int image_alloc(struct image *img, int w, int h, int channels, int depth)
{
    memset(img, 0, sizeof(*img));
    if (w <= 0 || h <= 0 || channels < 1 || channels > 4 || (depth != 1 && depth != 2))
        return TP_ERR(EINVAL);
    size_t stride = (size_t)w * (size_t)channels * (size_t)depth;
    if ((size_t)h > SIZE_MAX / stride)
        return TP_ERR(ENOMEM);
    img->data = tp_malloc(stride * (size_t)h);
    if (!img->data)
        return TP_ERR(ENOMEM);
    img->width = w;
    img->height = h;
    img->channels = channels;
    img->depth = depth;
    img->bit_depth = depth * 8;
    img->frames = 1;
    img->stride = stride;
    return 0;
}

void image_free(struct image *img)
{
    if (!img)
        return;
    tp_free(img->data);
    memset(img, 0, sizeof(*img));
}

static inline unsigned sample(const struct image *in, const uint8_t *row, int x, int c)
{
    if (in->depth == 1)
        return row[x * in->channels + c];
    const uint16_t *r16 = (const uint16_t *)(const void *)row;
    return (r16[x * in->channels + c] * 255u + 32767u) / 65535u;
}

static int to_rgb8(const struct image *in, int keep_alpha, int bg, struct image *out)
{
    int has_a = image_has_alpha(in);
    int oc = keep_alpha && has_a ? 4 : 3;
    FORWARD_ERR(image_alloc(out, in->width, in->height, oc, 1));
    out->bit_depth = 8;
    out->frames = in->frames;
    int colour = in->channels >= 3;
    for (int y = 0; y < in->height; y++) {
        const uint8_t *s = in->data + (size_t)y * in->stride;
        uint8_t *d = out->data + (size_t)y * out->stride;
        for (int x = 0; x < in->width; x++) {
            unsigned r = sample(in, s, x, 0);
            unsigned g = colour ? sample(in, s, x, 1) : r;
            unsigned b = colour ? sample(in, s, x, 2) : r;
            unsigned a = has_a ? sample(in, s, x, in->channels - 1) : 255;
            if (oc == 4) {
                d[4 * x + 3] = (uint8_t)a;
            } else if (has_a && bg >= 0) {
                r = (r * a + (unsigned)bg * (255 - a) + 127) / 255;
                g = (g * a + (unsigned)bg * (255 - a) + 127) / 255;
                b = (b * a + (unsigned)bg * (255 - a) + 127) / 255;
            }
            d[oc * x + 0] = (uint8_t)r;
            d[oc * x + 1] = (uint8_t)g;
            d[oc * x + 2] = (uint8_t)b;
        }
    }
    return 0;
}

int image_to_rgb8(const struct image *in, int keep_alpha, struct image *out)
{
    return to_rgb8(in, keep_alpha, -1, out);
}

int image_to_rgb8_flat(const struct image *in, int background, struct image *out)
{
    return to_rgb8(in, 0, background, out);
}

/* Copies count pixels of px bytes, stepping the source by step bytes. */
static inline void copy_px(uint8_t *restrict d, const uint8_t *restrict s, ptrdiff_t step,
                           int count, size_t px)
{
    switch (px) {
    case 1:
        for (int x = 0; x < count; x++, s += step)
            d[x] = s[0];
        break;
    case 3:
        for (int x = 0; x < count; x++, s += step, d += 3) {
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
        break;
    case 4:
        for (int x = 0; x < count; x++, s += step, d += 4)
            memcpy(d, s, 4);
        break;
    default:
        for (int x = 0; x < count; x++, s += step, d += px)
            memcpy(d, s, px);
        break;
    }
}

int image_orient(const struct image *in, int o, struct image *out)
{
    if (o < 1 || o > 8)
        o = 1;
    int swap = o >= 5;
    int ow = swap ? in->height : in->width, oh = swap ? in->width : in->height;
    FORWARD_ERR(image_alloc(out, ow, oh, in->channels, in->depth));
    out->bit_depth = in->bit_depth;
    out->frames = in->frames;
    size_t px = (size_t)in->channels * (size_t)in->depth;
    ptrdiff_t W = in->width, H = in->height, st = (ptrdiff_t)in->stride, P = (ptrdiff_t)px;
    /* (x, y) in the displayed image -> (sx, sy) in the stored one is
     * affine: source offset = org + x * dx + y * dy (bytes) */
    ptrdiff_t org, dx, dy;
    switch (o) {
    default:
    case 1: org = 0;                     dx = P;   dy = st;  break; /* sx = x, sy = y */
    case 2: org = (W - 1) * P;           dx = -P;  dy = st;  break; /* W-1-x, y */
    case 3: org = (W - 1) * P + (H - 1) * st; dx = -P; dy = -st; break; /* W-1-x, H-1-y */
    case 4: org = (H - 1) * st;          dx = P;   dy = -st; break; /* x, H-1-y */
    case 5: org = 0;                     dx = st;  dy = P;   break; /* y, x */
    case 6: org = (H - 1) * st;          dx = -st; dy = P;   break; /* y, H-1-x */
    case 7: org = (W - 1) * P + (H - 1) * st; dx = -st; dy = -P; break; /* W-1-y, H-1-x */
    case 8: org = (W - 1) * P;           dx = st;  dy = -P;  break; /* W-1-y, x */
    }
    if (!swap) { /* rows stay rows: straight row copies */
        for (int y = 0; y < oh; y++) {
            const uint8_t *s = in->data + org + y * dy;
            uint8_t *d = out->data + (size_t)y * out->stride;
            if (dx == P)
                memcpy(d, s, (size_t)ow * px);
            else
                copy_px(d, s, dx, ow, px);
        }
        return 0;
    }
    /* transposing: 64x64 tiles so the source columns walked stay in cache */
    enum { T = 64 };
    for (int ty = 0; ty < oh; ty += T)
        for (int tx = 0; tx < ow; tx += T) {
            int tw = ow - tx < T ? ow - tx : T, th = oh - ty < T ? oh - ty : T;
            for (int y = ty; y < ty + th; y++)
                copy_px(out->data + (size_t)y * out->stride + (size_t)tx * px,
                        in->data + org + y * dy + tx * dx, dx, tw, px);
        }
    return 0;
}

void image_fit(int w, int h, int max_edge, int *w_out, int *h_out)
{
    if (max_edge <= 0 || (w <= max_edge && h <= max_edge)) {
        *w_out = w;
        *h_out = h;
        return;
    }
    if (w >= h) {
        *w_out = max_edge;
        *h_out = (int)((double)h * max_edge / w + 0.5);
    } else {
        *h_out = max_edge;
        *w_out = (int)((double)w * max_edge / h + 0.5);
    }
    if (*w_out < 1)
        *w_out = 1;
    if (*h_out < 1)
        *h_out = 1;
}

/* Lanczos-3 weights for one output axis, normalised to sum 1. */
struct taps {
    int *start;   /* first input index per output sample */
    int n;        /* taps per output sample */
    float *w;     /* out_len * n weights */
};

static double lanczos3(double x)
{
    x = fabs(x);
    if (x < 1e-9)
        return 1.0;
    if (x >= 3.0)
        return 0.0;
    double px = M_PI * x;
    return 3.0 * sin(px) * sin(px / 3.0) / (px * px);
}

static int make_taps(struct taps *t, int in_len, int out_len)
{
    double scale = (double)in_len / out_len;
    double support = scale > 1.0 ? 3.0 * scale : 3.0;
    double fscale = scale > 1.0 ? scale : 1.0;
    t->n = (int)ceil(support) * 2 + 1;
    t->start = tp_malloc(sizeof(int) * (size_t)out_len);
    t->w = tp_malloc(sizeof(float) * (size_t)out_len * (size_t)t->n);
    if (!t->start || !t->w)
        return TP_ERR(ENOMEM);
    for (int i = 0; i < out_len; i++) {
        double center = (i + 0.5) * scale - 0.5;
        int s = (int)floor(center - support) + 1;
        double sum = 0;
        float *w = t->w + (size_t)i * (size_t)t->n;
        for (int k = 0; k < t->n; k++) {
            int j = s + k;
            double v = 0;
            if (j >= 0 && j < in_len && s + k <= center + support)
                v = lanczos3((j - center) / fscale);
            w[k] = (float)v;
            sum += v;
        }
        if (sum == 0) {
            int j = (int)(center + 0.5);
            j = j < 0 ? 0 : j >= in_len ? in_len - 1 : j;
            w[j - s] = 1.0f;
            sum = 1;
        }
        for (int k = 0; k < t->n; k++)
            w[k] = (float)(w[k] / sum);
        t->start[i] = s;
    }
    return 0;
}

static void free_taps(struct taps *t)
{
    tp_free(t->start);
    tp_free(t->w);
}

/* d[i] += w * s[i]; unrolled so -O2's SLP vectorizer packs it */
static void axpy(float *restrict d, const float *restrict s, float w, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        d[i] += w * s[i];
        d[i + 1] += w * s[i + 1];
        d[i + 2] += w * s[i + 2];
        d[i + 3] += w * s[i + 3];
        d[i + 4] += w * s[i + 4];
        d[i + 5] += w * s[i + 5];
        d[i + 6] += w * s[i + 6];
        d[i + 7] += w * s[i + 7];
    }
    for (; i < n; i++)
        d[i] += w * s[i];
}

/* ---- 8-bit RGB: one pixel per 4-float vector, a ring of filtered rows --
 * The hot path of proxy making.  Each pixel is one 4-lane float vector
 * (R, G, B, 0), so a tap is one vector multiply-add whatever the channel
 * count, and the compiler emits SSE/NEON for it without intrinsics.  Only
 * the ty.n horizontally filtered rows the current output row needs are
 * kept (a ring indexed by input row mod ty.n): no full-size intermediate,
 * so no large allocation to page in. */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef uint8_t v4u8 __attribute__((vector_size(4)));

/* Shared by the bands of one resize (read-only once built). */
struct rgb8_plan {
    const struct image *in;
    struct image *out;
    const struct taps *ty;
    int n;              /* horizontal taps per output pixel, even */
    const int *idx;     /* n clamped input pixel indices per output x */
    const v4f *wx;      /* n weights per output x, each broadcast to 4 lanes */
};

/* One band of output rows [y0, y1) with its own buffers. */
struct rgb8_band {
    const struct rgb8_plan *p;
    int y0, y1;
    int ret;
};

/* Horizontal pass of input row j into dst (ow vectors); row is scratch. */
static void rgb8_hrow(const struct rgb8_plan *p, int j, v4f *restrict row, v4f *restrict dst)
{
    const uint8_t *s = p->in->data + (size_t)j * p->in->stride;
    const int n = p->n, iw = p->in->width, ow = p->out->width;
    int x;
    /* 4 bytes per pixel read (R, G, B, next R), the 4th lane zeroed; the
     * last pixel is read alone so nothing past the row is touched */
    for (x = 0; x + 1 < iw; x++) {
        v4u8 b;
        memcpy(&b, s + 3 * x, 4);
        b[3] = 0;
        row[x] = __builtin_convertvector(__builtin_convertvector(b, v4i), v4f);
    }
    row[x] = (v4f){ s[3 * x], s[3 * x + 1], s[3 * x + 2], 0.0f };
    /* two output pixels and two accumulators each: four independent
     * multiply-add chains instead of one latency-bound chain */
    for (x = 0; x + 1 < ow; x += 2) {
        const v4f *w0 = p->wx + (size_t)x * (size_t)n, *w1 = w0 + n;
        const int *i0 = p->idx + (size_t)x * (size_t)n, *i1 = i0 + n;
        v4f a0 = { 0, 0, 0, 0 }, b0 = a0, a1 = a0, b1 = a0;
        for (int k = 0; k < n; k += 2) {
            a0 += w0[k] * row[i0[k]];
            b0 += w0[k + 1] * row[i0[k + 1]];
            a1 += w1[k] * row[i1[k]];
            b1 += w1[k + 1] * row[i1[k + 1]];
        }
        dst[x] = a0 + b0;
        dst[x + 1] = a1 + b1;
    }
    for (; x < ow; x++) {
        const v4f *w0 = p->wx + (size_t)x * (size_t)n;
        const int *i0 = p->idx + (size_t)x * (size_t)n;
        v4f a0 = { 0, 0, 0, 0 };
        for (int k = 0; k < n; k++)
            a0 += w0[k] * row[i0[k]];
        dst[x] = a0;
    }
}

static inline uint8_t clamp8(float v)
{
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

static void *rgb8_band_run(void *arg)
{
    struct rgb8_band *b = arg;
    const struct rgb8_plan *p = b->p;
    const struct taps *ty = p->ty;
    const int ow = p->out->width, ih = p->in->height, n = ty->n;
    /* only the ty.n filtered rows the current output row needs are kept:
     * a ring indexed by input row mod ty.n */
    v4f *row = tp_malloc(sizeof(v4f) * (size_t)p->in->width);
    v4f *ring = tp_malloc(sizeof(v4f) * (size_t)ow * (size_t)n);
    v4f *wy = tp_malloc(sizeof(v4f) * (size_t)n);
    const v4f **src = tp_malloc(sizeof(*src) * (size_t)n);
    int *held = tp_malloc(sizeof(int) * (size_t)n);

    b->ret = TP_ERR(ENOMEM);
    if (!row || !ring || !wy || !src || !held)
        goto end;
    for (int k = 0; k < n; k++)
        held[k] = -1;
    for (int y = b->y0; y < b->y1; y++) {
        const float *w = ty->w + (size_t)y * (size_t)n;
        int m = 0, x;
        for (int k = 0; k < n; k++) {
            int j = ty->start[y] + k;
            if (j < 0 || j >= ih || w[k] == 0.0f)
                continue;
            v4f *slot = ring + (size_t)(j % n) * (size_t)ow;
            if (held[j % n] != j) {
                rgb8_hrow(p, j, row, slot);
                held[j % n] = j;
            }
            src[m] = slot;
            wy[m++] = (v4f){ w[k], w[k], w[k], w[k] };
        }
        uint8_t *d = p->out->data + (size_t)y * p->out->stride;
        for (x = 0; x + 1 < ow; x += 2) {
            v4f a0 = { 0, 0, 0, 0 }, a1 = a0;
            for (int k = 0; k < m; k++) {
                a0 += wy[k] * src[k][x];
                a1 += wy[k] * src[k][x + 1];
            }
            d[3 * x] = clamp8(a0[0]);
            d[3 * x + 1] = clamp8(a0[1]);
            d[3 * x + 2] = clamp8(a0[2]);
            d[3 * x + 3] = clamp8(a1[0]);
            d[3 * x + 4] = clamp8(a1[1]);
            d[3 * x + 5] = clamp8(a1[2]);
        }
        for (; x < ow; x++) {
            v4f a0 = { 0, 0, 0, 0 };
            for (int k = 0; k < m; k++)
                a0 += wy[k] * src[k][x];
            d[3 * x] = clamp8(a0[0]);
            d[3 * x + 1] = clamp8(a0[1]);
            d[3 * x + 2] = clamp8(a0[2]);
        }
    }
    b->ret = 0;
end:
    tp_free(row);
    tp_free(ring);
    tp_free(wy);
    tp_free(src);
    tp_free(held);
    return NULL;
}

/* Output pixels per band below which a second thread does not pay off. */
#define RESIZE_BAND_MIN_PIXELS (512 * 1024)

static int resize_rgb8(const struct image *in, const struct taps *tx, const struct taps *ty,
                       struct image *out)
{
    struct rgb8_plan p = { .in = in, .out = out, .ty = ty, .n = (tx->n + 1) & ~1 };
    const int ow = out->width, oh = out->height, iw = in->width;
    int *idx = tp_malloc(sizeof(int) * (size_t)ow * (size_t)p.n);
    v4f *wx = tp_malloc(sizeof(v4f) * (size_t)ow * (size_t)p.n);
    struct rgb8_band band[2];
    pthread_t tid;
    int ret = TP_ERR(ENOMEM), nb = 1, threaded = 0;

    if (!idx || !wx)
        goto end;
    /* taps outside the row have zero weight: clamping their index removes
     * every branch from the inner loop (so does a zero tap padding n to
     * an even count) */
    for (int x = 0; x < ow; x++)
        for (int k = 0; k < p.n; k++) {
            int j = tx->start[x] + k;
            float w = k < tx->n ? tx->w[(size_t)x * (size_t)tx->n + (size_t)k] : 0.0f;
            idx[(size_t)x * (size_t)p.n + (size_t)k] = j < 0 ? 0 : j >= iw ? iw - 1 : j;
            wx[(size_t)x * (size_t)p.n + (size_t)k] = (v4f){ w, w, w, w };
        }
    p.idx = idx;
    p.wx = wx;
    /* two bands of output rows on two threads when there is work enough
     * (the rows filtered twice at the seam cost ty.n rows) */
    if ((uint64_t)ow * (uint64_t)oh >= 2 * RESIZE_BAND_MIN_PIXELS && sysconf(_SC_NPROCESSORS_ONLN) > 1)
        nb = 2;
    for (int i = 0; i < nb; i++)
        band[i] = (struct rgb8_band){ .p = &p, .y0 = oh * i / nb, .y1 = oh * (i + 1) / nb };
    if (nb == 2)
        threaded = pthread_create(&tid, NULL, rgb8_band_run, &band[1]) == 0;
    rgb8_band_run(&band[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else if (nb == 2)
        rgb8_band_run(&band[1]);
    ret = band[0].ret < 0 ? band[0].ret : nb == 2 ? band[1].ret : 0;
end:
    tp_free(idx);
    tp_free(wx);
    return ret;
}

int image_resize(const struct image *in, int ow, int oh, struct image *out)
{
    struct taps tx = { 0 }, ty = { 0 };
    float *tmp = NULL, *col = NULL;
    int ret;
    int ch = in->channels, alpha = image_has_alpha(in);
    float maxv = in->depth == 1 ? 255.0f : 65535.0f;

    memset(out, 0, sizeof(*out));
    if ((ret = make_taps(&tx, in->width, ow)) < 0 || (ret = make_taps(&ty, in->height, oh)) < 0)
        goto end;
    if ((ret = image_alloc(out, ow, oh, ch, in->depth)) < 0)
        goto end;
    out->bit_depth = in->bit_depth;
    out->frames = in->frames;
    if (in->depth == 1 && ch == 3) {
        ret = resize_rgb8(in, &tx, &ty, out);
        goto end;
    }
    tmp = tp_malloc(sizeof(float) * (size_t)ow * (size_t)ch * (size_t)in->height);
    col = tp_malloc(sizeof(float) * (size_t)ow * (size_t)ch);
    ret = TP_ERR(ENOMEM);
    if (!tmp || !col)
        goto end;

    /* horizontal pass, premultiplying alpha so transparent pixels do not
     * bleed their colour into the result */
    if (in->depth == 1 && !alpha) {
        /* fast path for 8-bit opaque pixels: taps outside the row have zero
         * weight, so clamping their index removes every branch */
        int *idx = tp_malloc(sizeof(int) * (size_t)ow * (size_t)tx.n);
        ret = TP_ERR(ENOMEM);
        if (!idx)
            goto end;
        for (int x = 0; x < ow; x++)
            for (int k = 0; k < tx.n; k++) {
                int j = tx.start[x] + k;
                idx[(size_t)x * (size_t)tx.n + (size_t)k] =
                    (j < 0 ? 0 : j >= in->width ? in->width - 1 : j) * ch;
            }
        float *row = tp_malloc(sizeof(float) * (size_t)in->width * (size_t)ch);
        if (!row) {
            tp_free(idx);
            goto end;
        }
        for (int y = 0; y < in->height; y++) {
            const uint8_t *s8 = in->data + (size_t)y * in->stride;
            float *d = tmp + (size_t)y * (size_t)ow * (size_t)ch;
            /* one int->float conversion per sample, not one per tap */
            for (size_t i = 0; i < (size_t)in->width * (size_t)ch; i++)
                row[i] = s8[i];
            if (ch == 3) {
                for (int x = 0; x < ow; x++) {
                    const float *w = tx.w + (size_t)x * (size_t)tx.n;
                    const int *ix = idx + (size_t)x * (size_t)tx.n;
                    float r = 0, g = 0, b = 0;
                    for (int k = 0; k < tx.n; k++) {
                        const float *p = row + ix[k];
                        r += w[k] * p[0];
                        g += w[k] * p[1];
                        b += w[k] * p[2];
                    }
                    d[3 * x] = r;
                    d[3 * x + 1] = g;
                    d[3 * x + 2] = b;
                }
            } else {
                for (int x = 0; x < ow; x++) {
                    const float *w = tx.w + (size_t)x * (size_t)tx.n;
                    const int *ix = idx + (size_t)x * (size_t)tx.n;
                    for (int c = 0; c < ch; c++) {
                        float acc = 0;
                        for (int k = 0; k < tx.n; k++)
                            acc += w[k] * row[ix[k] + c];
                        d[(size_t)x * (size_t)ch + (size_t)c] = acc;
                    }
                }
            }
        }
        tp_free(row);
        tp_free(idx);
    } else
    for (int y = 0; y < in->height; y++) {
        const uint8_t *s8 = in->data + (size_t)y * in->stride;
        const uint16_t *s16 = (const uint16_t *)(const void *)s8;
        float *d = tmp + (size_t)y * (size_t)ow * (size_t)ch;
        for (int x = 0; x < ow; x++) {
            float acc[4] = { 0, 0, 0, 0 };
            const float *w = tx.w + (size_t)x * (size_t)tx.n;
            int s = tx.start[x];
            for (int k = 0; k < tx.n; k++) {
                int j = s + k;
                if (j < 0 || j >= in->width || w[k] == 0.0f)
                    continue;
                size_t idx = (size_t)j * (size_t)ch;
                float a = 1.0f;
                if (alpha)
                    a = (in->depth == 1 ? s8[idx + ch - 1] : s16[idx + ch - 1]) / maxv;
                for (int c = 0; c < ch; c++) {
                    float v = in->depth == 1 ? s8[idx + c] : s16[idx + c];
                    if (alpha && c != ch - 1)
                        v *= a;
                    acc[c] += w[k] * v;
                }
            }
            for (int c = 0; c < ch; c++)
                d[(size_t)x * (size_t)ch + (size_t)c] = acc[c];
        }
    }
    /* vertical pass */
    for (int y = 0; y < oh; y++) {
        const float *w = ty.w + (size_t)y * (size_t)ty.n;
        int s = ty.start[y];
        memset(col, 0, sizeof(float) * (size_t)ow * (size_t)ch);
        for (int k = 0; k < ty.n; k++) {
            int j = s + k;
            if (j < 0 || j >= in->height || w[k] == 0.0f)
                continue;
            axpy(col, tmp + (size_t)j * (size_t)ow * (size_t)ch, w[k], (size_t)ow * (size_t)ch);
        }
        uint8_t *d8 = out->data + (size_t)y * out->stride;
        uint16_t *d16 = (uint16_t *)(void *)d8;
        for (int x = 0; x < ow; x++) {
            float *p = col + (size_t)x * (size_t)ch;
            float a = alpha ? p[ch - 1] / maxv : 1.0f;
            for (int c = 0; c < ch; c++) {
                float v = p[c];
                if (alpha && c != ch - 1)
                    v = a > 1e-6f ? v / a : 0.0f;
                v = v < 0 ? 0 : v > maxv ? maxv : v;
                if (in->depth == 1)
                    d8[x * ch + c] = (uint8_t)(v + 0.5f);
                else
                    d16[x * ch + c] = (uint16_t)(v + 0.5f);
            }
        }
    }
    ret = 0;
end:
    if (ret < 0)
        image_free(out);
    free_taps(&tx);
    free_taps(&ty);
    tp_free(tmp);
    tp_free(col);
    return ret;
}
