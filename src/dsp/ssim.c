/* SSIM kernels: C reference and dispatch (see ssim.h for the contracts). */
#include "ssim.h"

#include "../cpu.h"
#include "../err.h"

/* exp(-x^2 / (2 * 1.5^2)) for x = -5..5, normalised in double (as
 * scipy.ndimage's _gaussian_kernel1d), rounded to float. */
const float ssim_weights[SSIM_TAPS] = {
    0.00102838012f, 0.00759875821f, 0.0360007733f, 0.109360687f, 0.213005543f, 0.266011715f,
    0.213005543f,   0.109360687f,   0.0360007733f, 0.00759875821f, 0.00102838012f,
};

void ssim_conv_c(float *dst, const uint8_t *rgb, int w, const float coef[4])
{
    const float c0 = coef[0], c1 = coef[1], c2 = coef[2], c3 = coef[3];
    for (int x = 0; x < w; x++) {
        float r = rgb[3 * x], g = rgb[3 * x + 1], b = rgb[3 * x + 2];
        dst[x] = ((r * c0 + g * c1) + b * c2) + c3;
    }
}

/* Sums the outermost (smallest-weight) pair first. */
void ssim_hfilt_c(float *const dst[5], const float *a, const float *b, int w)
{
    const float *W = ssim_weights;
    for (int x = 0; x < w; x++) {
        float sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        for (int k = 0; k < SSIM_RADIUS; k++) {
            float al = a[x + k - SSIM_RADIUS], ar = a[x + SSIM_RADIUS - k];
            float bl = b[x + k - SSIM_RADIUS], br = b[x + SSIM_RADIUS - k];
            sa = sa + (al + ar) * W[k];
            sb = sb + (bl + br) * W[k];
            saa = saa + (al * al + ar * ar) * W[k];
            sbb = sbb + (bl * bl + br * br) * W[k];
            sab = sab + (al * bl + ar * br) * W[k];
        }
        float ac = a[x], bc = b[x], wc = W[SSIM_RADIUS];
        dst[0][x] = sa + ac * wc;
        dst[1][x] = sb + bc * wc;
        dst[2][x] = saa + (ac * ac) * wc;
        dst[3][x] = sbb + (bc * bc) * wc;
        dst[4][x] = sab + (ac * bc) * wc;
    }
}

void ssim_vfilt_c(float *dst, const float *const src[SSIM_TAPS], int w)
{
    const float *W = ssim_weights;
    for (int x = 0; x < w; x++) {
        float s = 0;
        for (int k = 0; k < SSIM_RADIUS; k++)
            s = s + (src[k][x] + src[SSIM_TAPS - 1 - k][x]) * W[k];
        dst[x] = s + src[SSIM_RADIUS][x] * W[SSIM_RADIUS];
    }
}

void ssim_map_c(float *map, const float *const m[5], float offset, int w)
{
    for (int x = 0; x < w; x++) {
        float m0 = m[0][x], m1 = m[1][x];
        float ma = m0 + offset, mb = m1 + offset;
        float va = m[2][x] - m0 * m0, vb = m[3][x] - m1 * m1, cov = m[4][x] - m0 * m1;
        float t = ma * mb;
        float n1 = (t + t) + SSIM_C1;
        float d1 = (ma * ma + mb * mb) + SSIM_C1;
        float n2 = (cov + cov) + SSIM_C2;
        float d2 = (va + vb) + SSIM_C2;
        map[x] = (n1 * n2) / (d1 * d2);
    }
}

TP_COLD void ssim_dsp_init(struct ssim_dsp *c)
{
    c->conv = ssim_conv_c;
    c->hfilt = ssim_hfilt_c;
    c->vfilt = ssim_vfilt_c;
    c->map = ssim_map_c;
    ssim_dsp_init_x86(c, tp_cpu_flags());
}

TP_COLD void ssim_dsp_init_x86(struct ssim_dsp *c, unsigned flags)
{
    if (!(flags & TP_CPU_FLAG_SSE41))
        return;
    ssim_dsp_init_sse41(c);
    if (!(flags & TP_CPU_FLAG_AVX2))
        return;
    ssim_dsp_init_avx2(c);
}
