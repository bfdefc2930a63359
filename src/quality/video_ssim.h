#ifndef TP_SRC_VIDEO_SSIM_H
#define TP_SRC_VIDEO_SSIM_H

#include "image.h"

/* The video cold tier's frame comparison (a video_compare_fn, see
 * codecs/video.h) on the project's SSIM kernel (src/ssim.h): Gaussian
 * 11x11 SSIM of two 8-bit grey luma frames of the same size, luma only,
 * the mean over the map cropped by 5 pixels.  opaque: NULL, or an int *
 * giving the kernel's thread count (0 = online CPUs). */
int video_ssim_compare(const struct image *a, const struct image *b, double *ssim_out,
                       void *opaque);

#endif /* TP_SRC_VIDEO_SSIM_H */
