#ifndef TP_CODECS_COLOR_H
#define TP_CODECS_COLOR_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"

/* Colour management for proxies, kept in codecs/ because it wraps a
 * library (Little CMS 2): src/ never sees its header. */

/* 1 when the ICC profile describes sRGB (or is absent), so the pixels can
 * be shown as sRGB without conversion. */
int color_icc_is_srgb(const uint8_t *icc, size_t len);

/* Converts 8-bit RGB or RGBA pixels (alpha untouched) in place from the
 * colour space of the ICC profile to sRGB (perceptual intent).
 * TP_ERR_UNSUPPORTED when the profile is not an RGB profile or the image
 * not 8-bit RGB(A); TP_ERR_INVALIDDATA when the profile is unreadable. */
int color_to_srgb(struct image *img, const uint8_t *icc, size_t len);

#endif /* TP_CODECS_COLOR_H */
