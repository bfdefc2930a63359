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

/* Horizontal 11-tap pass over two rows a and b giving the five moments:
 * dst[0] = G*a, dst[1] = G*b, dst[2] = G*(a*a), dst[3] = G*(b*b),
 * dst[4] = G*(a*b), for 0 <= x < w.  Reads a[-5 .. w+4] and b[-5 .. w+4]
 * (the caller fills the padding). */
typedef void (*ssim_hfilt_fn)(float *const dst[5], const float *a, const float *b, int w);

/* Vertical 11-tap pass: dst[x] = sum_k w_k * src[k][x], 0 <= x < w. */
typedef void (*ssim_vfilt_fn)(float *dst, const float *const src[SSIM_TAPS], int w);

/* The SSIM map from the filtered moments of centred planes (a - offset):
 * mu_a = m[0] + offset, mu_b = m[1] + offset, var_a = m[2] - m[0]^2,
 * var_b = m[3] - m[1]^2, cov = m[4] - m[0] m[1];
 * map[x] = (2 mu_a mu_b + C1)(2 cov + C2) / ((mu_a^2 + mu_b^2 + C1)(var_a + var_b + C2))
 * with C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2 (the exact operation order
 * is ssim_map_c's). */
typedef void (*ssim_map_fn)(float *map, const float *const m[5], float offset, int w);

struct ssim_dsp {
    ssim_conv_fn conv;
    ssim_hfilt_fn hfilt;
    ssim_vfilt_fn vfilt;
    ssim_map_fn map;
};

/* Fills c with the best kernels for tp_cpu_flags(). */
void ssim_dsp_init(struct ssim_dsp *c);
/* Per-ISA init: each only replaces what its ISA speeds up. */
void ssim_dsp_init_x86(struct ssim_dsp *c, unsigned flags);
void ssim_dsp_init_sse41(struct ssim_dsp *c);
void ssim_dsp_init_avx2(struct ssim_dsp *c);

/* The C reference kernels (also used by the SIMD versions for tails). */
void ssim_conv_c(float *dst, const uint8_t *rgb, int w, const float coef[4]);
void ssim_hfilt_c(float *const dst[5], const float *a, const float *b, int w);
void ssim_vfilt_c(float *dst, const float *const src[SSIM_TAPS], int w);
void ssim_map_c(float *map, const float *const m[5], float offset, int w);

#define SSIM_C1 6.5025f   /* (0.01 * 255)^2 */
#define SSIM_C2 58.5225f  /* (0.03 * 255)^2 */

#endif /* TP_SRC_DSP_SSIM_H */
