#ifndef TP_SRC_MOSAIC_H
#define TP_SRC_MOSAIC_H

/* A mosaic of representative blocks of a large image, for the quality search
 * (docs/quality.md, "The mosaic"): probes encode and measure the mosaic, a
 * fraction of the pixels, and only the final quality is confirmed on the
 * whole image. */

#include "image.h"

#define MOSAIC_COLS 4

struct mosaic {
    struct image img;  /* MOSAIC_COLS x rows blocks, the source's channels and depth */
    int blocks;        /* blocks taken */
    int block;         /* their edge in pixels */
    int grid;          /* whole blocks in the source */
    double scale;      /* source pixels / mosaic pixels */
};

/* Builds the mosaic of img (stored pixels; orientation does not matter) when
 * it has at least min_grid whole block x block blocks (block: a multiple of
 * 16; 256 and 128 are multiples of every codec's block grid: JPEG XL groups
 * are 256, AV1 superblocks 128, HEVC CTUs 64): up to max_blocks of
 * them (a multiple of MOSAIC_COLS, at most a quarter of the grid), taken at evenly spaced ranks of a cheap
 * activity measure (mean absolute gradient of the green or grey channel),
 * so the flattest and the busiest block are both in.  Returns 1 when built,
 * 0 when the image is too small (m zeroed), negative on error. */
int mosaic_build(const struct image *img, int block, int min_grid, int max_blocks,
                 struct mosaic *m);
void mosaic_free(struct mosaic *m);

/* The image's mean activity over a sparse grid (the same measure), 0..255. */
double mosaic_activity(const struct image *img);

#endif /* TP_SRC_MOSAIC_H */
