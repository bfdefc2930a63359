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
#define FP_THUMB 32 /* the luma thumbnail kept for the local check */

struct fingerprint {
    uint64_t phash;
    uint64_t vhash[FP_VBITS / 64];
    uint8_t thumb[FP_THUMB * FP_THUMB]; /* 32 x 32 area-averaged luma, 0..255 */
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

/* How local the difference between two thumbnails is, after the best of
 * a few crop alignments (up to 10 % off, centred or at an edge, either
 * picture the cropped one) with brightness and contrast normalised: over
 * 16 x 16 cells, the mean of the 8 largest differences divided by the
 * median difference (+ 0.05), in thousandths; 9999 at least when those 8
 * differ by more than a standard deviation.  A re-encoded, resized,
 * converted, brightened or slightly cropped copy differs a little
 * everywhere (measured <= 3.2 for crops up to 5 %); another shot of the
 * same scene (a burst: something moved) differs in a few places (>= 4.5). */
int fingerprint_local_diff(const struct fingerprint *a, const struct fingerprint *b);

/* thumb as 2 * FP_THUMB^2 hex digits (out: 2049 bytes) and back. */
#define FP_THUMB_HEX (2 * FP_THUMB * FP_THUMB)
void fingerprint_thumb_hex(const struct fingerprint *f, char out[FP_THUMB_HEX + 1]);
int fingerprint_thumb_parse(const char *hex, struct fingerprint *f);

/* vhash as 64 lowercase hex digits (out: 65 bytes) and back (0, or
 * TP_ERR_INVALIDDATA for anything but 64 hex digits). */
void fingerprint_vhex(const struct fingerprint *f, char out[FP_VBITS / 4 + 1]);
int fingerprint_vparse(const char *hex, struct fingerprint *f);

#endif /* TP_SRC_FINGERPRINT_H */
