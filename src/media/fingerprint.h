#ifndef TP_SRC_FINGERPRINT_H
#define TP_SRC_FINGERPRINT_H

#include <stdint.h>

#include "image.h"

/* Perceptual fingerprints of a picture (issue 18), made from pixels the
 * proxies already decoded (no decode of their own).  The picture is seen
 * upright and in sRGB, as a 64 x 64 area-averaged luma grid; its 2-D DCT
 * gives two hashes, each bit "this coefficient is above the median of the
 * chosen ones":
 *   phash: the 64 lowest-frequency AC coefficients of the 32 x 32 grid's
 *          DCT (zig-zag order): robust to resize, recompression, format,
 *          small crops, brightness; the key the index searches.
 *   vhash: the 256 lowest AC coefficients of the 64 x 64 grid's DCT
 *          (four times the detail): the verification hash that tells a
 *          re-encoded copy from another shot of the same scene (a burst
 *          frame). */

#define FP_GRID 64
#define FP_VBITS 256

struct fingerprint {
    uint64_t phash;
    uint64_t vhash[FP_VBITS / 64];
};

/* Fingerprint of img (any channels and depth; alpha ignored), which must
 * be upright (orientation applied) and at least 8 x 8 pixels; smaller
 * pictures are refused with TP_ERR_INVALIDDATA. */
int fingerprint_image(const struct image *img, struct fingerprint *out);

static inline int fingerprint_dist64(uint64_t a, uint64_t b)
{
    return __builtin_popcountll(a ^ b);
}
int fingerprint_vdist(const struct fingerprint *a, const struct fingerprint *b);

/* vhash as 64 lowercase hex digits (out: 65 bytes) and back (0, or
 * TP_ERR_INVALIDDATA for anything but 64 hex digits). */
void fingerprint_vhex(const struct fingerprint *f, char out[FP_VBITS / 4 + 1]);
int fingerprint_vparse(const char *hex, struct fingerprint *f);

#endif /* TP_SRC_FINGERPRINT_H */
