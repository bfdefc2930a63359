/* The JPEG quality behind a file's quantisation tables (jpeg_quant.h). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>

#include "err.h"
#include "jpeg_quant.h"

/* ITU-T T.81 Annex K table K.1 (luminance), natural order, as libjpeg's
 * quantval[] is stored. */
static const unsigned k1_luma[DCTSIZE2] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
};

struct quiet_err {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void quiet_exit(j_common_ptr c)
{
    longjmp(((struct quiet_err *)c->err)->jump, 1);
}

static void quiet_message(j_common_ptr c)
{
    (void)c;
}

/* The step IJG's jpeg_set_quality (baseline-limited) gives entry i. */
static unsigned ijg_step(int quality, int i)
{
    long scale = quality < 50 ? 5000 / quality : 200 - quality * 2;
    long v = ((long)k1_luma[i] * scale + 50) / 100;
    return v < 1 ? 1 : v > 255 ? 255 : (unsigned)v;
}

int jpeg_quant_quality(const uint8_t *buf, size_t len, int *quality, double *mean_step)
{
    struct jpeg_decompress_struct d;
    struct quiet_err e;
    unsigned q[DCTSIZE2];

    memset(&d, 0, sizeof(d));
    d.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = quiet_exit;
    e.pub.output_message = quiet_message;
    if (setjmp(e.jump)) {
        jpeg_destroy_decompress(&d);
        tp_err_set("JPEG header: not readable for its quantisation tables");
        return TP_ERR_INVALIDDATA;
    }
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, buf, (unsigned long)len);
    jpeg_read_header(&d, TRUE);
    int no = d.num_components > 0 ? d.comp_info[0].quant_tbl_no : 0;
    const JQUANT_TBL *t = no >= 0 && no < NUM_QUANT_TBLS ? d.quant_tbl_ptrs[no] : NULL;
    if (!t) {
        jpeg_destroy_decompress(&d);
        tp_err_set("JPEG header: no luma quantisation table");
        return TP_ERR_INVALIDDATA;
    }
    double sum = 0;
    for (int i = 0; i < DCTSIZE2; i++) {
        q[i] = t->quantval[i];
        sum += q[i];
    }
    jpeg_destroy_decompress(&d);

    int best = 50;
    unsigned long best_d = (unsigned long)-1;
    for (int qual = 1; qual <= 100; qual++) {
        unsigned long dist = 0;
        for (int i = 0; i < DCTSIZE2; i++) {
            unsigned s = ijg_step(qual, i);
            dist += s > q[i] ? s - q[i] : q[i] - s;
        }
        if (dist < best_d) { /* ties: the lower quality (the coarser reading) */
            best_d = dist;
            best = qual;
        }
    }
    *quality = best;
    if (mean_step)
        *mean_step = sum / DCTSIZE2;
    return 0;
}
