/* Butteraugli through libjxl (see butteraugli.h). */
#include <string.h>
#include <unistd.h>

#if HAVE_JXL
#include <jxl/butteraugli.h>
#include <jxl/thread_parallel_runner.h>
#endif

#include "butteraugli.h"
#include "err.h"

/* 8-bit RGB over white, as displayed. */
static int displayed_rgb8(const struct image *in, int orientation, struct image *out)
{
    struct image flat = { 0 };
    int ret = image_to_rgb8_flat(in, 255, &flat);
    if (ret < 0)
        return ret;
    if (orientation <= 1 || orientation > 8) {
        *out = flat;
        return 0;
    }
    ret = image_orient(&flat, orientation, out);
    image_free(&flat);
    return ret;
}

int butteraugli_images(const struct image *a, int oa, const struct image *b, int ob, int threads,
                       double *max_out)
{
#if HAVE_JXL
    struct image ra = { 0 }, rb = { 0 };
    JxlButteraugliApi *api = NULL;
    JxlButteraugliResult *r = NULL;
    void *runner = NULL;
    int ret;

    *max_out = 0;
    if ((ret = displayed_rgb8(a, oa, &ra)) < 0 || (ret = displayed_rgb8(b, ob, &rb)) < 0)
        goto end;
    if (ra.width != rb.width || ra.height != rb.height) {
        tp_err_set("A is %dx%d, B is %dx%d", ra.width, ra.height, rb.width, rb.height);
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    ret = TP_ERR(ENOMEM);
    if (!(api = JxlButteraugliApiCreate(NULL)))
        goto end;
    if (threads <= 0)
        threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads > 1 && (runner = JxlThreadParallelRunnerCreate(NULL, (size_t)threads)))
        JxlButteraugliApiSetParallelRunner(api, JxlThreadParallelRunner, runner);
    /* stride: libjxl takes packed rows; image_to_rgb8_flat packs them */
    JxlPixelFormat pf = { 3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0 };
    size_t need = (size_t)ra.width * ra.height * 3;
    if (ra.stride != (size_t)ra.width * 3 || rb.stride != (size_t)rb.width * 3) {
        tp_err_set("butteraugli: padded rows");
        ret = TP_ERR_BUG;
        goto end;
    }
    r = JxlButteraugliCompute(api, (uint32_t)ra.width, (uint32_t)ra.height, &pf, ra.data, need, &pf,
                              rb.data, need);
    if (!r) {
        tp_err_set("butteraugli: libjxl could not compare the images");
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    *max_out = JxlButteraugliResultGetMaxDistance(r);
    ret = 0;
end:
    if (r)
        JxlButteraugliResultDestroy(r);
    if (api)
        JxlButteraugliApiDestroy(api);
    if (runner)
        JxlThreadParallelRunnerDestroy(runner);
    image_free(&ra);
    image_free(&rb);
    return ret;
#else
    (void)a; (void)oa; (void)b; (void)ob; (void)threads;
    *max_out = 0;
    RETURN_ERR_IF(1, TP_ERR_UNSUPPORTED, "Butteraugli needs libjxl (this build has none)");
#endif
}
