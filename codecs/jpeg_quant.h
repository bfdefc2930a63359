#ifndef TP_CODECS_JPEG_QUANT_H
#define TP_CODECS_JPEG_QUANT_H

/* What a JPEG's quantisation tables say about its quality
 * (codecs/jpeg_quant.c): read through libjpeg-turbo's jpeg_read_header
 * (quant_tbl_ptrs), no pixels decoded. */

#include <stddef.h>
#include <stdint.h>

/* The IJG quality (1..100, as `cjpeg -quality`) whose scaled standard
 * luminance table is closest to the file's luma table (least absolute
 * difference over the 64 steps): the file's own quality for libjpeg-made
 * files, the equivalent one for a camera's custom tables.  Also the mean
 * luma step (*mean_step, may be NULL).  TP_ERR_INVALIDDATA when buf is not
 * a JPEG whose header libjpeg reads. */
int jpeg_quant_quality(const uint8_t *buf, size_t len, int *quality, double *mean_step);

#endif /* TP_CODECS_JPEG_QUANT_H */
