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
