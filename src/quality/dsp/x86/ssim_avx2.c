/* AVX2 SSIM kernels (8 lanes); see ssim_tmpl.h.  Built with -mavx2 -mfma,
 * but FMA is deliberately not used: see ssim.h on bit-exactness. */
#include "../ssim.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define V __m256
#define N 8
#define LD(p) _mm256_loadu_ps(p)
#define ST(p, v) _mm256_storeu_ps(p, v)
#define ADD _mm256_add_ps
#define SUB _mm256_sub_ps
#define MUL _mm256_mul_ps
#define DIV _mm256_div_ps
#define SET1 _mm256_set1_ps
#define SFX(name) name##_avx2

#include "ssim_tmpl.h"

static void ssim_conv_avx2(float *dst, const uint8_t *rgb, int w, const float coef[4])
{
    const __m256i shr = _mm256_setr_epi8(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1,
                                         0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1);
    const __m256i shg = _mm256_setr_epi8(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1,
                                         1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1);
    const __m256i shb = _mm256_setr_epi8(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1,
                                         2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1);
    const V c0 = SET1(coef[0]), c1 = SET1(coef[1]), c2 = SET1(coef[2]), c3 = SET1(coef[3]);
    int x = 0;
    /* pixels x..x+3 from bytes 3x.., x+4..x+7 from bytes 3x+12..; the
     * second 16-byte load ends at 3x + 28 <= 3w, i.e. x + 10 <= w */
    for (; x + 10 <= w; x += 8) {
        __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)(rgb + 3 * x));
        __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(rgb + 3 * x + 12));
        __m256i p = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);
        V r = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(p, shr));
        V g = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(p, shg));
        V b = _mm256_cvtepi32_ps(_mm256_shuffle_epi8(p, shb));
        ST(dst + x, ADD(ADD(ADD(MUL(r, c0), MUL(g, c1)), MUL(b, c2)), c3));
    }
    if (x < w)
        ssim_conv_c(dst + x, rgb + 3 * x, w - x, coef);
}

void ssim_dsp_init_avx2(struct ssim_dsp *c)
{
    c->conv = ssim_conv_avx2;
    c->vfilt = ssim_vfilt_avx2;
    c->hmap = ssim_hmap_avx2;
}

#else
void ssim_dsp_init_avx2(struct ssim_dsp *c)
{
    (void)c;
}
#endif
