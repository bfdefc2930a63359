/* SSIM kernels: C reference and dispatch (see ssim.h for the contracts). */
#include "ssim.h"

#include "cpu.h"
#include "err.h"

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
void ssim_vfilt_c(float *const dst[4], const float *const a[SSIM_TAPS],
                  const float *const b[SSIM_TAPS], int w)
{
    const float *W = ssim_weights;
    for (int x = 0; x < w; x++) {
        float sa = 0, sb = 0, ss = 0, sab = 0;
        for (int k = 0; k < SSIM_RADIUS; k++) {
            float al = a[k][x], ar = a[SSIM_TAPS - 1 - k][x];
            float bl = b[k][x], br = b[SSIM_TAPS - 1 - k][x];
            sa = sa + (al + ar) * W[k];
            sb = sb + (bl + br) * W[k];
            ss = ss + ((al * al + bl * bl) + (ar * ar + br * br)) * W[k];
            sab = sab + (al * bl + ar * br) * W[k];
        }
        float ac = a[SSIM_RADIUS][x], bc = b[SSIM_RADIUS][x], wc = W[SSIM_RADIUS];
        dst[0][x] = sa + ac * wc;
        dst[1][x] = sb + bc * wc;
        dst[2][x] = ss + (ac * ac + bc * bc) * wc;
        dst[3][x] = sab + (ac * bc) * wc;
    }
}

void ssim_hmap_c(float *map, const float *const m[4], float offset, int w)
{
    const float *W = ssim_weights;
    for (int x = 0; x < w; x++) {
        float f[4];
        for (int i = 0; i < 4; i++) {
            const float *r = m[i] + x;
            float s = 0;
            for (int k = 0; k < SSIM_RADIUS; k++)
                s = s + (r[k - SSIM_RADIUS] + r[SSIM_RADIUS - k]) * W[k];
            f[i] = s + r[0] * W[SSIM_RADIUS];
        }
        float ma = f[0] + offset, mb = f[1] + offset;
        float vs = f[2] - (f[0] * f[0] + f[1] * f[1]), cov = f[3] - f[0] * f[1];
        float t = ma * mb;
        float n1 = (t + t) + SSIM_C1;
        float d1 = (ma * ma + mb * mb) + SSIM_C1;
        float n2 = (cov + cov) + SSIM_C2;
        float d2 = vs + SSIM_C2;
        map[x] = (n1 * n2) / (d1 * d2);
    }
}

TP_COLD void ssim_dsp_init(struct ssim_dsp *c)
{
    c->conv = ssim_conv_c;
    c->vfilt = ssim_vfilt_c;
    c->hmap = ssim_hmap_c;
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
