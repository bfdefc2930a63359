#ifndef TP_SRC_SSIM_H
#define TP_SRC_SSIM_H

/* SSIM between a reference image and candidates (docs/ssim.md): Wang et al.
 * 2004 with an 11x11 Gaussian window (sigma 1.5), on the luma and the two
 * full-resolution chroma planes of the images converted to 8-bit sRGB
 * (alpha composited over white), matching scikit-image's
 * structural_similarity(gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False, data_range=255).
 *
 * Usage: build the reference once, compare it against many candidates:
 *     struct ssim_ref *ref;
 *     ssim_ref_new(&ref, &original, orientation);
 *     ssim_compare(ref, &candidate, orientation, NULL, &res);  // any number
 *     ssim_ref_free(&ref);
 * A compare holds no state in ref, so several threads may compare against
 * one ref at the same time. */

#include "image.h"

struct ssim_ref;

struct ssim_result {
    double ssim;      /* mean luma SSIM over the map cropped by 5 pixels */
    double min_tile;  /* lowest mean luma SSIM of a full tile x tile block of
                         the cropped map; = ssim when no full tile fits */
    double ssim_cb;   /* mean SSIM of the Cb plane; NAN when opts.chroma = 0 */
    double ssim_cr;   /* mean SSIM of the Cr plane; NAN when opts.chroma = 0 */
    int width, height; /* compared (displayed) size */
};

struct ssim_opts {
    int threads;    /* worker threads, 0 = online CPUs (default 0); 0..256.
                       The result does not depend on it. */
    int chroma;     /* 1: also Cb and Cr (default); 0: luma only (~3x faster) */
    int tile;       /* tile edge for min_tile, 8..4096 (default 64) */
    float *map_out; /* optional: width*height floats, caller-allocated and
                       owned, receives the luma SSIM map (uncropped, row-major)
                       (default NULL) */
};

void ssim_opts_defaults(struct ssim_opts *o);

/* Builds a reference from img (any channels and depth; converted to 8-bit
 * RGB over white) shown with EXIF orientation (1..8; other values = 1).
 * img is only read during the call.  Caller owns *ref_out; free with
 * ssim_ref_free(). */
int ssim_ref_new(struct ssim_ref **ref_out, const struct image *img, int orientation);
/* As ssim_ref_new, but on success takes ownership of img (its pixels are
 * reused without a copy when already 8-bit RGB and orientation is 1; img
 * is left zeroed either way); on failure img stays with the caller. */
int ssim_ref_new_take(struct ssim_ref **ref_out, struct image *img, int orientation);
/* Accepts NULL and *ref == NULL; clears the pointer. */
void ssim_ref_free(struct ssim_ref **ref);
/* The reference's size after orientation. */
void ssim_ref_size(const struct ssim_ref *ref, int *w_out, int *h_out);

/* Compares img shown with orientation (as for ssim_ref_new) against ref.
 * Pass the same orientation the reference got when both are stored the
 * same way (or 1 to both, which skips the rotation copies).  Sizes must
 * match after orientation: else TP_ERR_INVALIDDATA, detail
 * "A is WxH, B is WxH".  o may be NULL (defaults). */
int ssim_compare(const struct ssim_ref *ref, const struct image *img, int orientation,
                 const struct ssim_opts *o, struct ssim_result *out);

/* One-shot: ssim_ref_new(a) + ssim_compare(b) + ssim_ref_free. */
int ssim_images(const struct image *a, int orientation_a, const struct image *b,
                int orientation_b, const struct ssim_opts *o, struct ssim_result *out);

#endif /* TP_SRC_SSIM_H */
