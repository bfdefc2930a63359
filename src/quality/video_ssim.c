/* Sampled-frame SSIM for the video cold tier on the project's kernel
 * instead of libavfilter's ssim filter (which uses 8x8 windows on a 4x4
 * grid): the same Gaussian SSIM the still-image floors are defined with. */
#include "err.h"
#include "ssim.h"
#include "video_ssim.h"

int video_ssim_compare(const struct image *a, const struct image *b, double *ssim_out,
                       void *opaque)
{
    struct ssim_ref *ref = NULL;
    struct ssim_opts o;
    struct ssim_result res;
    int ret;

    RETURN_ERR_IF(a->width != b->width || a->height != b->height || a->channels != 1 ||
                      b->channels != 1 || a->depth != 1 || b->depth != 1,
                  TP_ERR(EINVAL), "compare needs two 8-bit grey frames of the same size");
    ssim_opts_defaults(&o);
    o.chroma = 0;
    if (opaque)
        o.threads = *(const int *)opaque;
    if ((ret = ssim_ref_new(&ref, a, 1)) < 0)
        return ret;
    ret = ssim_compare(ref, b, 1, &o, &res);
    ssim_ref_free(&ref);
    if (ret < 0)
        return ret;
    *ssim_out = res.ssim;
    return 0;
}
