/* The JPEG XL adapter's colour glue (see jxl_icc.h): ICC matrix/TRC
 * profiles read into a JxlColorEncoding.  Moved out of jxl.c. */
#include <math.h>
#include <string.h>

#include "jxl_icc.h"

/* ---- ICC -> JxlColorEncoding ----------------------------------------
 * libjxl 0.7's decoder has no colour management: an XYB (lossy) image whose
 * original space is an ICC profile comes out as linear sRGB, which would
 * both lose the profile and band in 8 bits.  For the common matrix/TRC RGB
 * profiles (Adobe RGB, Display P3, ProPhoto, sRGB) the space is exactly
 * primaries + white point + a curve, which JxlColorEncoding can express, so
 * the decoder is asked to output in that space and the original ICC bytes
 * describe the pixels.  Other profiles fall back to sRGB output. */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double s15f16(const uint8_t *p)
{
    return (double)(int32_t)be32(p) / 65536.0;
}

/* The tag's data, or NULL. */
static const uint8_t *icc_tag(const uint8_t *icc, size_t len, const char *sig, uint32_t *size)
{
    if (len < 132)
        return NULL;
    uint32_t n = be32(icc + 128);
    if (n > (len - 132) / 12)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *t = icc + 132 + 12 * (size_t)i;
        uint32_t off = be32(t + 4), sz = be32(t + 8);
        if (!memcmp(t, sig, 4) && off <= len && sz <= len - off && sz >= 12) {
            *size = sz;
            return icc + off;
        }
    }
    return NULL;
}

static int icc_xyz(const uint8_t *icc, size_t len, const char *sig, double v[3])
{
    uint32_t sz;
    const uint8_t *d = icc_tag(icc, len, sig, &sz);
    if (!d || sz < 20 || memcmp(d, "XYZ ", 4))
        return -1;
    for (int i = 0; i < 3; i++)
        v[i] = s15f16(d + 8 + 4 * i);
    return 0;
}

static double srgb_eotf(double x)
{
    return x <= 0.04045 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4);
}

/* The TRC as sRGB (1), a pure gamma (2, *g = exponent), linear (3), else 0. */
static int icc_trc(const uint8_t *icc, size_t len, const char *sig, double *g)
{
    uint32_t sz;
    const uint8_t *d = icc_tag(icc, len, sig, &sz);
    if (!d)
        return 0;
    if (!memcmp(d, "curv", 4)) {
        uint32_t n = be32(d + 8);
        if (n > (sz - 12) / 2)
            return 0;
        if (n == 0)
            return 3;
        if (n == 1) {
            *g = (double)(d[12] << 8 | d[13]) / 256.0;
            return *g == 1.0 ? 3 : 2;
        }
        /* a table: sRGB's curve, or a pure power law, within 0.5 % */
        double gm = log((double)(d[12 + 2 * (n / 2)] << 8 | d[13 + 2 * (n / 2)]) / 65535.0) /
                    log((double)(n / 2) / (double)(n - 1));
        int srgb = 1, pw = isfinite(gm) && gm > 0.2 && gm < 5;
        for (uint32_t i = 0; i < n; i++) {
            double x = (double)i / (double)(n - 1);
            double y = (double)(d[12 + 2 * i] << 8 | d[13 + 2 * i]) / 65535.0;
            srgb &= fabs(y - srgb_eotf(x)) < 0.005;
            pw &= pw && fabs(y - pow(x, gm)) < 0.005;
        }
        *g = gm;
        return srgb ? 1 : pw ? 2 : 0;
    }
    if (!memcmp(d, "para", 4) && sz >= 16) {
        unsigned type = (unsigned)(d[8] << 8 | d[9]);
        static const uint32_t nparams[5] = { 1, 3, 4, 5, 7 };
        if (type > 4 || sz < 12 + 4 * nparams[type])
            return 0;
        double p[7] = { 0 };
        for (uint32_t i = 0; i < nparams[type]; i++)
            p[i] = s15f16(d + 12 + 4 * i);
        *g = p[0];
        if (type == 0)
            return p[0] == 1.0 ? 3 : 2;
        if (type == 3 && fabs(p[0] - 2.4) < 0.01 && fabs(p[1] - 1 / 1.055) < 0.001 &&
            fabs(p[3] - 1 / 12.92) < 0.001 && fabs(p[4] - 0.04045) < 0.001)
            return 1;
    }
    return 0;
}

static void mat3_inv(const double m[9], double o[9])
{
    double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                 m[2] * (m[3] * m[7] - m[4] * m[6]);
    o[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    o[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    o[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    o[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    o[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    o[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    o[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    o[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    o[8] = (m[0] * m[4] - m[1] * m[3]) / det;
}

static void mat3_mul_vec(const double m[9], const double v[3], double o[3])
{
    for (int i = 0; i < 3; i++)
        o[i] = m[3 * i] * v[0] + m[3 * i + 1] * v[1] + m[3 * i + 2] * v[2];
}

/* (see jxl_icc.h) */
int jxl_icc_to_encoding(const uint8_t *icc, size_t len, JxlColorEncoding *ce)
{
    double r[3], g[3], b[3], w[3], gr, gg, gb, adapt[9];
    uint32_t sz;
    if (len < 132 || memcmp(icc + 16, "RGB ", 4) || icc_xyz(icc, len, "rXYZ", r) ||
        icc_xyz(icc, len, "gXYZ", g) || icc_xyz(icc, len, "bXYZ", b) ||
        icc_xyz(icc, len, "wtpt", w))
        return -1;
    int tr = icc_trc(icc, len, "rTRC", &gr), tg = icc_trc(icc, len, "gTRC", &gg),
        tb = icc_trc(icc, len, "bTRC", &gb);
    if (!tr || tr != tg || tr != tb || (tr == 2 && (fabs(gr - gg) > 1e-3 || fabs(gr - gb) > 1e-3)))
        return -1;
    /* colorants are adapted to the D50 PCS: undo it with chad, or (v2
     * profiles without chad) a Bradford adaptation from the media white */
    const uint8_t *c = icc_tag(icc, len, "chad", &sz);
    if (c && sz >= 8 + 36 && !memcmp(c, "sf32", 4)) {
        double m[9];
        for (int i = 0; i < 9; i++)
            m[i] = s15f16(c + 8 + 4 * i);
        mat3_inv(m, adapt);
        static const double d50[3] = { 0.9642, 1.0, 0.8249 };
        mat3_mul_vec(adapt, d50, w);
    } else {
        static const double brad[9] = { 0.8951, 0.2664, -0.1614, -0.7502, 1.7135,
                                        0.0367, 0.0389,  -0.0685, 1.0296 };
        static const double d50[3] = { 0.9642, 1.0, 0.8249 };
        double bi[9], cw[3], cd[3], t[9], s[9];
        mat3_inv(brad, bi);
        mat3_mul_vec(brad, w, cw);
        mat3_mul_vec(brad, d50, cd);
        /* adapt = brad^-1 * diag(cw/cd) * brad  (D50 -> white) */
        for (int i = 0; i < 9; i++)
            s[i] = brad[i] * cw[i / 3] / cd[i / 3];
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                t[3 * i + j] = bi[3 * i] * s[j] + bi[3 * i + 1] * s[3 + j] + bi[3 * i + 2] * s[6 + j];
        memcpy(adapt, t, sizeof(t));
    }
    double *prim[3] = { r, g, b }, xy[3][2];
    for (int i = 0; i < 3; i++) {
        double a[3];
        mat3_mul_vec(adapt, prim[i], a);
        double sum = a[0] + a[1] + a[2];
        if (!(sum > 1e-6))
            return -1;
        xy[i][0] = a[0] / sum;
        xy[i][1] = a[1] / sum;
    }
    double ws = w[0] + w[1] + w[2];
    if (!(ws > 1e-6))
        return -1;
    memset(ce, 0, sizeof(*ce));
    ce->color_space = JXL_COLOR_SPACE_RGB;
    ce->white_point = JXL_WHITE_POINT_CUSTOM;
    ce->white_point_xy[0] = w[0] / ws;
    ce->white_point_xy[1] = w[1] / ws;
    ce->primaries = JXL_PRIMARIES_CUSTOM;
    memcpy(ce->primaries_red_xy, xy[0], sizeof(xy[0]));
    memcpy(ce->primaries_green_xy, xy[1], sizeof(xy[1]));
    memcpy(ce->primaries_blue_xy, xy[2], sizeof(xy[2]));
    ce->transfer_function = tr == 1   ? JXL_TRANSFER_FUNCTION_SRGB
                            : tr == 3 ? JXL_TRANSFER_FUNCTION_LINEAR
                                      : JXL_TRANSFER_FUNCTION_GAMMA;
    ce->gamma = tr == 2 ? 1.0 / gr : 0;
    unsigned intent = be32(icc + 64);
    ce->rendering_intent = intent <= 3 ? (JxlRenderingIntent)intent : JXL_RENDERING_INTENT_RELATIVE;
    return 0;
}

/* Picks the output space at JXL_DEC_COLOR_ENCODING and fills m->icc with
 * the ICC of the pixels (empty when they are plain sRGB).  When the pixels
 * are in the original space, the original profile's exact bytes are kept. */
