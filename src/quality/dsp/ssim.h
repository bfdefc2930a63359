#ifndef TP_SRC_DSP_SSIM_H
#define TP_SRC_DSP_SSIM_H

/* SSIM kernels: the per-row building blocks of the Gaussian-window SSIM
 * (docs/ssim.md).  All work on float32 and are bit-exact across ISAs: the
 * SIMD versions do the same IEEE operations in the same order as the C
 * reference (separate multiply and add, no FMA, no reciprocal estimates),
 * so the result of an SSIM computation does not depend on the CPU.
 *
 * Over-read/over-write contract: none.  Every kernel reads and writes
 * exactly the elements stated; tails are handled inside the kernel. */

#include <stdint.h>

#define SSIM_RADIUS 5                   /* int(3.5 * 1.5 + 0.5) */
#define SSIM_TAPS (2 * SSIM_RADIUS + 1) /* 11 */

/* The 11 Gaussian weights (sigma 1.5, normalised to sum 1 in double, then
 * rounded to float); symmetric: ssim_weights[k] == ssim_weights[10 - k]. */
extern const float ssim_weights[SSIM_TAPS];

/* dst[x] = rgb[3x] * coef[0] + rgb[3x+1] * coef[1] + rgb[3x+2] * coef[2]
 * + coef[3], evaluated left to right in float, for 0 <= x < w.
 * Reads rgb[0 .. 3w-1]. */
typedef void (*ssim_conv_fn)(float *dst, const uint8_t *rgb, int w, const float coef[4]);

/* The SSIM map needs four filtered moments of the centred planes a, b
 * (var_a and var_b only appear as a sum):
 *   M0 = G*a, M1 = G*b, M2 = G*(a*a + b*b), M3 = G*(a*b).
 *
 * Vertical 11-tap pass over the 11 rows a[0..10] and b[0..10] around an
 * output row: dst[i][x] = the vertically filtered moment i, 0 <= x < w
 * (products formed per tap). */
typedef void (*ssim_vfilt_fn)(float *const dst[4], const float *const a[SSIM_TAPS],
                              const float *const b[SSIM_TAPS], int w);

/* Horizontal 11-tap pass over the four vertically filtered moments, then
 * the SSIM map.  Reads m[i][-5 .. w+4] (the caller reflect-pads them).
 * With F_i = G*m[i]: mu_a = F0 + offset, mu_b = F1 + offset,
 * var_a + var_b = F2 - (F0^2 + F1^2), cov = F3 - F0 F1;
 * map[x] = (2 mu_a mu_b + C1)(2 cov + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))
 * with C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2 (the exact operation order
 * is ssim_hmap_c's; it makes identical planes give exactly 1). */
typedef void (*ssim_hmap_fn)(float *map, const float *const m[4], float offset, int w);

struct ssim_dsp {
    ssim_conv_fn conv;
    ssim_vfilt_fn vfilt;
    ssim_hmap_fn hmap;
};

/* Fills c with the best kernels for tp_cpu_flags(). */
void ssim_dsp_init(struct ssim_dsp *c);
/* Per-ISA init: each only replaces what its ISA speeds up. */
void ssim_dsp_init_x86(struct ssim_dsp *c, unsigned flags);
void ssim_dsp_init_sse41(struct ssim_dsp *c);
void ssim_dsp_init_avx2(struct ssim_dsp *c);

/* The C reference kernels (also used by the SIMD versions for tails). */
void ssim_conv_c(float *dst, const uint8_t *rgb, int w, const float coef[4]);
void ssim_vfilt_c(float *const dst[4], const float *const a[SSIM_TAPS],
                  const float *const b[SSIM_TAPS], int w);
void ssim_hmap_c(float *map, const float *const m[4], float offset, int w);

#define SSIM_C1 6.5025f   /* (0.01 * 255)^2 */
#define SSIM_C2 58.5225f  /* (0.03 * 255)^2 */

#endif /* TP_SRC_DSP_SSIM_H */
