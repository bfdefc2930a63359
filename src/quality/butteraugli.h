#ifndef TP_SRC_BUTTERAUGLI_H
#define TP_SRC_BUTTERAUGLI_H

/* Butteraugli (libjxl's public API, jxl/butteraugli.h): a second perceptual
 * judge beside SSIM.  The max-norm distance at the library's default
 * intensity target: < 1.0 is "no visible difference" on a good screen at
 * 1:1, 1-2 slight, > 2 visible (docs/quality.md has the figures). */

#include "image.h"

/* Distance between a (shown with EXIF orientation oa) and b (ob), both
 * converted to 8-bit sRGB with alpha composited over white.  Sizes must
 * match after orientation (TP_ERR_INVALIDDATA otherwise); threads 0 = online
 * CPUs.  TP_ERR_UNSUPPORTED in a build without libjxl. */
int butteraugli_images(const struct image *a, int oa, const struct image *b, int ob, int threads,
                       double *max_out);

#endif /* TP_SRC_BUTTERAUGLI_H */
