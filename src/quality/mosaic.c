/* Mosaic of representative blocks (mosaic.h). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"
#include "mosaic.h"

/* The green (or grey) sample at (x, y), 8 bits. */
static inline unsigned green(const struct image *img, int x, int y)
{
    int c = img->channels >= 3 ? 1 : 0;
    const uint8_t *row = img->data + (size_t)y * img->stride;
    if (img->depth == 2)
        return ((const uint16_t *)(const void *)row)[(size_t)x * img->channels + c] >> 8;
    return row[(size_t)x * img->channels + c];
}

/* Mean |horizontal| + |vertical| difference over every step-th pixel of the
 * w x h area at (x0, y0). */
static double activity(const struct image *img, int x0, int y0, int w, int h, int step)
{
    double sum = 0;
    long n = 0;
    for (int y = y0; y + 1 < y0 + h; y += step)
        for (int x = x0; x + 1 < x0 + w; x += step) {
            int p = (int)green(img, x, y);
            sum += abs((int)green(img, x + 1, y) - p) + abs((int)green(img, x, y + 1) - p);
            n++;
        }
    return n ? sum / (double)n : 0;
}

double mosaic_activity(const struct image *img)
{
    int step = 1;
    while ((long)(img->width / step) * (img->height / step) > 250000)
        step++;
    return activity(img, 0, 0, img->width, img->height, step);
}

struct ranked {
    double act;
    int idx;
};

static int by_activity(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->act != y->act)
        return x->act < y->act ? -1 : 1;
    return x->idx - y->idx;
}

int mosaic_build(const struct image *img, int block, int min_grid, int max_blocks,
                 struct mosaic *m)
{
    memset(m, 0, sizeof(*m));
    if (block < 16 || block % 16)
        return TP_ERR(EINVAL);
    int nx = img->width / block, ny = img->height / block, n = nx * ny;
    if (n < min_grid || max_blocks < MOSAIC_COLS)
        return 0;
    int k = max_blocks / MOSAIC_COLS * MOSAIC_COLS;
    while (k > MOSAIC_COLS && k * 4 > n) /* at most a quarter of the image */
        k -= MOSAIC_COLS;
    if (k * 4 > n)
        return 0;
    struct ranked *r = tp_malloc(sizeof(*r) * (size_t)n);
    if (!r)
        return TP_ERR(ENOMEM);
    /* blocks centred in the image: the margins left over are split */
    int ox = (img->width - nx * block) / 2, oy = (img->height - ny * block) / 2;
    for (int i = 0; i < n; i++) {
        r[i].idx = i;
        r[i].act = activity(img, ox + i % nx * block, oy + i / nx * block,
                            block, block, 2);
    }
    qsort(r, (size_t)n, sizeof(*r), by_activity);
    int rows = k / MOSAIC_COLS, ret;
    if ((ret = image_alloc(&m->img, MOSAIC_COLS * block, rows * block,
                           img->channels, img->depth)) < 0) {
        tp_free(r);
        return ret;
    }
    m->img.bit_depth = img->bit_depth;
    size_t px = (size_t)img->channels * (size_t)img->depth;
    for (int j = 0; j < k; j++) {
        /* evenly spaced ranks, both ends included */
        int i = r[(int)((double)j * (n - 1) / (k - 1) + 0.5)].idx;
        int sx = ox + i % nx * block, sy = oy + i / nx * block;
        int dx = j % MOSAIC_COLS * block, dy = j / MOSAIC_COLS * block;
        for (int y = 0; y < block; y++)
            memcpy(m->img.data + (size_t)(dy + y) * m->img.stride + (size_t)dx * px,
                   img->data + (size_t)(sy + y) * img->stride + (size_t)sx * px,
                   block * px);
    }
    tp_free(r);
    m->blocks = k;
    m->block = block;
    m->grid = n;
    m->scale = (double)img->width * img->height / ((double)m->img.width * m->img.height);
    return 1;
}

void mosaic_free(struct mosaic *m)
{
    if (m) {
        image_free(&m->img);
        memset(m, 0, sizeof(*m));
    }
}
