/* ICC -> sRGB conversion of 8-bit RGB(A) pixels through Little CMS 2. */
#include <lcms2.h>
#include <string.h>

#include "err.h"
#include "icc.h"
#include "log.h"
#include "color.h"

static void color_log(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void)ctx;
    tp_log(TP_LOG_DEBUG, "lcms2 error %u: %s", (unsigned)code, text);
}

int color_icc_is_srgb(const uint8_t *icc, size_t len)
{
    char desc[128];
    if (!icc || !len)
        return 1;
    if (icc_description(icc, len, desc, sizeof(desc)) < 0)
        return 0;
    /* "sRGB IEC61966-2.1", "sRGB built-in", "sRGB v4 ICC preference", ... */
    return !strncmp(desc, "sRGB", 4) || strstr(desc, "sRGB IEC61966") != NULL;
}

int color_to_srgb(struct image *img, const uint8_t *icc, size_t len)
{
    cmsHPROFILE in = NULL, out = NULL;
    cmsHTRANSFORM xf = NULL;
    int ret;

    RETURN_ERR_IF(img->depth != 1 || (img->channels != 3 && img->channels != 4),
                  TP_ERR_UNSUPPORTED, "colour conversion needs 8-bit RGB(A)");
    RETURN_ERR_IF(len > 0xFFFFFFFFu, TP_ERR_LIMIT, "ICC profile too large");
    cmsSetLogErrorHandler(color_log);
    if (!(in = cmsOpenProfileFromMem(icc, (cmsUInt32Number)len))) {
        tp_err_set("the ICC profile cannot be read");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    if (cmsGetColorSpace(in) != cmsSigRgbData) {
        tp_err_set("the ICC profile is not an RGB profile");
        ret = TP_ERR_UNSUPPORTED;
        goto end;
    }
    if (!(out = cmsCreate_sRGBProfile())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    cmsUInt32Number fmt = img->channels == 4 ? TYPE_RGBA_8 : TYPE_RGB_8;
    xf = cmsCreateTransform(in, fmt, out, fmt, INTENT_PERCEPTUAL,
                            img->channels == 4 ? cmsFLAGS_COPY_ALPHA : 0);
    if (!xf) {
        tp_err_set("no transform from this ICC profile to sRGB");
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    for (int y = 0; y < img->height; y++) {
        uint8_t *row = img->data + (size_t)y * img->stride;
        cmsDoTransform(xf, row, row, (cmsUInt32Number)img->width);
    }
    ret = 0;
end:
    if (xf)
        cmsDeleteTransform(xf);
    if (out)
        cmsCloseProfile(out);
    if (in)
        cmsCloseProfile(in);
    return ret;
}
