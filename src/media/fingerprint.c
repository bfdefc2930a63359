/* Perceptual fingerprints: area-averaged luma grid, separable DCT-II,
 * median-thresholded low-frequency coefficients (fingerprint.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fingerprint.h"

/* Luma (BT.601 weights, 0..255) of each cell of a FP_GRID x FP_GRID grid,
 * each the mean of the source pixels whose centre falls in it. */
static void luma_grid(const struct image *img, double *g)
{
    static const int W = FP_GRID;
    double sum[FP_GRID * FP_GRID] = { 0 };
    uint32_t cnt[FP_GRID * FP_GRID] = { 0 };
    int cx[65536 / 4];
    int w = img->width, h = img->height, ch = img->channels, grey = ch < 3;
    int use_map = w <= (int)(sizeof(cx) / sizeof(cx[0]));

    if (use_map)
        for (int x = 0; x < w; x++)
            cx[x] = (int)((int64_t)x * W / w);
    for (int y = 0; y < h; y++) {
        const uint8_t *row = img->data + (size_t)y * img->stride;
        int gy = (int)((int64_t)y * W / h);
        double *srow = sum + gy * W;
        uint32_t *crow = cnt + gy * W;
        for (int x = 0; x < w; x++) {
            int gx = use_map ? cx[x] : (int)((int64_t)x * W / w);
            double l;
            if (img->depth == 2) {
                const uint16_t *p = (const uint16_t *)row + (size_t)x * ch;
                l = grey ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
                l *= 1.0 / 257.0;
            } else {
                const uint8_t *p = row + (size_t)x * ch;
                l = grey ? p[0] : 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
            }
            srow[gx] += l;
            crow[gx]++;
        }
    }
    for (int i = 0; i < W * W; i++)
        g[i] = cnt[i] ? sum[i] / cnt[i] : 0;
    /* a source narrower than the grid leaves empty cells: copy neighbours */
    for (int y = 0; y < W; y++)
        for (int x = 0; x < W; x++)
            if (!cnt[y * W + x]) {
                int sy = (int)((int64_t)y * h / W), sx = (int)((int64_t)x * w / W);
                int ny = (int)((int64_t)sy * W / h), nx = (int)((int64_t)sx * W / w);
                g[y * W + x] = g[ny * W + nx];
            }
}

/* 2-D DCT-II of an n x n block (row-major), first k x k outputs only. */
static void dct2(const double *in, int n, int k, double *out)
{
    double c[FP_GRID * FP_GRID], tmp[FP_GRID * FP_GRID];
    for (int u = 0; u < k; u++)
        for (int x = 0; x < n; x++)
            c[u * n + x] = cos(M_PI * (2 * x + 1) * u / (2.0 * n));
    for (int y = 0; y < n; y++) /* rows */
        for (int u = 0; u < k; u++) {
            double s = 0;
            for (int x = 0; x < n; x++)
                s += in[y * n + x] * c[u * n + x];
            tmp[y * k + u] = s;
        }
    for (int v = 0; v < k; v++) /* columns */
        for (int u = 0; u < k; u++) {
            double s = 0;
            for (int y = 0; y < n; y++)
                s += tmp[y * k + u] * c[v * n + y];
            out[v * k + u] = s;
        }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Bits of the coefficients of a k x k DCT block taken in zig-zag order
 * (by u + v, then v), skipping the first `skip` (DC and the lower band),
 * nbits of them: bit i set when coefficient i is above their median. */
static void band_bits(const double *d, int k, int skip, int nbits, uint64_t *bits)
{
    double sel[FP_VBITS], sorted[FP_VBITS];
    int n = 0, i = 0;
    for (int s = 0; s <= 2 * (k - 1) && n < nbits; s++)
        for (int v = 0; v <= s && n < nbits; v++) {
            int u = s - v;
            if (u >= k || v >= k)
                continue;
            if (i++ < skip)
                continue;
            sel[n++] = d[v * k + u];
        }
    memcpy(sorted, sel, sizeof(double) * (size_t)n);
    qsort(sorted, (size_t)n, sizeof(double), cmp_double);
    double med = (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    memset(bits, 0, sizeof(uint64_t) * (size_t)(nbits / 64));
    for (i = 0; i < n; i++)
        if (sel[i] > med)
            bits[i / 64] |= 1ull << (i % 64);
}

int fingerprint_image(const struct image *img, struct fingerprint *out)
{
    double g[FP_GRID * FP_GRID], g32[32 * 32], d[32 * 32];
    RETURN_ERR_IF(!img->data || img->width < 8 || img->height < 8 ||
                  (img->depth != 1 && img->depth != 2) || img->channels < 1 ||
                  img->channels > 4, TP_ERR_INVALIDDATA,
                  "a %dx%d picture is too small to fingerprint", img->width, img->height);
    luma_grid(img, g);
    for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
            g32[y * 32 + x] = (g[2 * y * FP_GRID + 2 * x] + g[2 * y * FP_GRID + 2 * x + 1] +
                               g[(2 * y + 1) * FP_GRID + 2 * x] +
                               g[(2 * y + 1) * FP_GRID + 2 * x + 1]) / 4;
    for (int i = 0; i < 32 * 32; i++)
        out->thumb[i] = (uint8_t)(g32[i] + 0.5 > 255 ? 255 : g32[i] + 0.5);
    dct2(g32, 32, 12, d);
    band_bits(d, 12, 1, 64, &out->phash);
    double *dv = malloc(sizeof(double) * 32 * 32);
    RETURN_ERR_IF(!dv, TP_ERR(ENOMEM), "out of memory");
    dct2(g, FP_GRID, 32, dv);
    band_bits(dv, 32, 1, FP_VBITS, out->vhash);
    free(dv);
    return 0;
}

int fingerprint_vdist(const struct fingerprint *a, const struct fingerprint *b)
{
    int d = 0;
    for (int i = 0; i < FP_VBITS / 64; i++)
        d += __builtin_popcountll(a->vhash[i] ^ b->vhash[i]);
    return d;
}

void fingerprint_vhex(const struct fingerprint *f, char out[FP_VBITS / 4 + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < FP_VBITS / 4; i++)
        out[i] = hx[(f->vhash[i / 16] >> (60 - 4 * (i % 16))) & 15];
    out[FP_VBITS / 4] = '\0';
}

int fingerprint_vparse(const char *hex, struct fingerprint *f)
{
    uint64_t v[FP_VBITS / 64] = { 0 };
    if (!hex || strlen(hex) != FP_VBITS / 4)
        return TP_ERR_INVALIDDATA;
    for (int i = 0; i < FP_VBITS / 4; i++) {
        int c = hex[i], n;
        if (c >= '0' && c <= '9')
            n = c - '0';
        else if (c >= 'a' && c <= 'f')
            n = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            n = c - 'A' + 10;
        else
            return TP_ERR_INVALIDDATA;
        v[i / 16] |= (uint64_t)n << (60 - 4 * (i % 16));
    }
    memcpy(f->vhash, v, sizeof(v));
    return 0;
}

/* ---- local check ------------------------------------------------------- */

#define CELLS 16

/* Bilinear sample of a FP_THUMB grid at (x, y) in cell units. */
static double sample(const uint8_t *t, double x, double y)
{
    const int n = FP_THUMB;
    x -= 0.5;
    y -= 0.5;
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    if (x > n - 1)
        x = n - 1;
    if (y > n - 1)
        y = n - 1;
    int x0 = (int)x, y0 = (int)y, x1 = x0 + 1 < n ? x0 + 1 : x0, y1 = y0 + 1 < n ? y0 + 1 : y0;
    double fx = x - x0, fy = y - y0;
    return (t[y0 * n + x0] * (1 - fx) + t[y0 * n + x1] * fx) * (1 - fy) +
           (t[y1 * n + x0] * (1 - fx) + t[y1 * n + x1] * fx) * fy;
}

/* CELLS x CELLS means of the window (x0, y0, w, h) of t (cell units),
 * normalised to mean 0 and standard deviation 1. */
static void window(const uint8_t *t, double x0, double y0, double w, double h, double *out)
{
    double sum = 0, sq = 0;
    for (int y = 0; y < CELLS; y++)
        for (int x = 0; x < CELLS; x++) {
            double v = 0;
            for (int sy = 0; sy < 2; sy++)
                for (int sx = 0; sx < 2; sx++)
                    v += sample(t, x0 + (x + (sx + 0.5) / 2) * w / CELLS,
                                y0 + (y + (sy + 0.5) / 2) * h / CELLS);
            out[y * CELLS + x] = v / 4;
            sum += v / 4;
        }
    double mean = sum / (CELLS * CELLS);
    for (int i = 0; i < CELLS * CELLS; i++)
        sq += (out[i] - mean) * (out[i] - mean);
    double sd = sqrt(sq / (CELLS * CELLS));
    if (sd < 1)
        sd = 1; /* flat pictures: differences in grey levels */
    for (int i = 0; i < CELLS * CELLS; i++)
        out[i] = (out[i] - mean) / sd;
}

/* Of the cell differences |a - b|: the mean of the 8 largest (*top) and
 * that over the median plus 0.05 (*ratio: high when the change is local). */
static void diff_stats(const double *a, const double *b, double *top, double *ratio)
{
    double d[CELLS * CELLS], t = 0;
    for (int i = 0; i < CELLS * CELLS; i++)
        d[i] = fabs(a[i] - b[i]);
    qsort(d, CELLS * CELLS, sizeof(d[0]), cmp_double);
    for (int k = 0; k < 8; k++)
        t += d[CELLS * CELLS - 1 - k];
    *top = t / 8;
    *ratio = *top / ((d[CELLS * CELLS / 2 - 1] + d[CELLS * CELLS / 2]) / 2 + 0.05);
}

int fingerprint_local_diff(const struct fingerprint *a, const struct fingerprint *b)
{
    static const double scales[] = { 1.0, 0.98, 0.96, 0.95, 0.94, 0.92, 0.90 };
    static const double offs[] = { 0.5, 0.0, 1.0 };
    double wa[CELLS * CELLS], wb[CELLS * CELLS], full_a[CELLS * CELLS], full_b[CELLS * CELLS];
    double best_top = 1e9, best_ratio = 1e9, top, ratio;
    const double n = FP_THUMB;

    window(a->thumb, 0, 0, n, n, full_a);
    window(b->thumb, 0, 0, n, n, full_b);
    for (size_t si = 0; si < sizeof(scales) / sizeof(scales[0]); si++) {
        double s = scales[si], w = s * n, m = n - w;
        for (int oy = 0; oy < (si ? 3 : 1); oy++)
            for (int ox = 0; ox < (si ? 3 : 1); ox++)
                for (int dir = 0; dir < (si ? 2 : 1); dir++) {
                    /* b is a crop of a, then a is a crop of b */
                    if (!dir) {
                        window(a->thumb, offs[ox] * m, offs[oy] * m, w, w, wa);
                        diff_stats(wa, full_b, &top, &ratio);
                    } else {
                        window(b->thumb, offs[ox] * m, offs[oy] * m, w, w, wb);
                        diff_stats(full_a, wb, &top, &ratio);
                    }
                    if (top < best_top)
                        best_top = top;
                    if (ratio < best_ratio)
                        best_ratio = ratio;
                }
    }
    /* more than a standard deviation in several cells: a change, wherever */
    if (best_top > 1.0 && best_ratio < 9.999)
        best_ratio = 9.999;
    return (int)(best_ratio * 1000 + 0.5);
}

void fingerprint_thumb_hex(const struct fingerprint *f, char out[FP_THUMB_HEX + 1])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < FP_THUMB * FP_THUMB; i++) {
        out[2 * i] = hx[f->thumb[i] >> 4];
        out[2 * i + 1] = hx[f->thumb[i] & 15];
    }
    out[FP_THUMB_HEX] = '\0';
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int fingerprint_thumb_parse(const char *hex, struct fingerprint *f)
{
    if (!hex || strlen(hex) != FP_THUMB_HEX)
        return TP_ERR_INVALIDDATA;
    for (int i = 0; i < FP_THUMB * FP_THUMB; i++) {
        int h = hexval(hex[2 * i]), l = hexval(hex[2 * i + 1]);
        if (h < 0 || l < 0)
            return TP_ERR_INVALIDDATA;
        f->thumb[i] = (uint8_t)(h << 4 | l);
    }
    return 0;
}
