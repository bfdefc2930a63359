#ifndef TP_CODECS_JXL_ICC_H
#define TP_CODECS_JXL_ICC_H

/* The JPEG XL adapter's colour glue (codecs/jxl_icc.c): an ICC profile as a
 * JxlColorEncoding.  libjxl 0.7's decoder has no colour management, so for
 * the common matrix/TRC RGB profiles (Adobe RGB, Display P3, ProPhoto,
 * sRGB) the adapter asks for output in the profile's own space, expressed
 * as primaries + white point + a curve. */

#include <stddef.h>
#include <stdint.h>

#include <jxl/color_encoding.h>

/* Fills ce from a matrix/TRC RGB profile (icc, len bytes); -1 when it is
 * not one (the caller falls back to sRGB).  Pure: no library calls. */
int jxl_icc_to_encoding(const uint8_t *icc, size_t len, JxlColorEncoding *ce);

#endif /* TP_CODECS_JXL_ICC_H */
