/* SSE4.1 SSIM kernels (4 lanes); see ssim_tmpl.h. */
#include "../ssim.h"

#if defined(__x86_64__) || defined(__i386__)
#include <smmintrin.h>

/* Bit-exactness with the C reference needs separate multiply and add. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

#define V __m128
#define N 4
#define LD(p) _mm_loadu_ps(p)
#define ST(p, v) _mm_storeu_ps(p, v)
#define ADD _mm_add_ps
#define SUB _mm_sub_ps
#define MUL _mm_mul_ps
#define DIV _mm_div_ps
#define SET1 _mm_set1_ps
#define SFX(name) name##_sse41

#include "ssim_tmpl.h"

static void ssim_conv_sse41(float *dst, const uint8_t *rgb, int w, const float coef[4])
{
    const __m128i shr = _mm_setr_epi8(0, -1, -1, -1, 3, -1, -1, -1, 6, -1, -1, -1, 9, -1, -1, -1);
    const __m128i shg = _mm_setr_epi8(1, -1, -1, -1, 4, -1, -1, -1, 7, -1, -1, -1, 10, -1, -1, -1);
    const __m128i shb = _mm_setr_epi8(2, -1, -1, -1, 5, -1, -1, -1, 8, -1, -1, -1, 11, -1, -1, -1);
    const V c0 = SET1(coef[0]), c1 = SET1(coef[1]), c2 = SET1(coef[2]), c3 = SET1(coef[3]);
    int x = 0;
    /* 4 pixels are 12 bytes; the 16-byte load stays inside rgb[0 .. 3w-1]
     * while 3x + 16 <= 3w, i.e. x + 6 <= w */
    for (; x + 6 <= w; x += 4) {
        __m128i p = _mm_loadu_si128((const __m128i *)(const void *)(rgb + 3 * x));
        V r = _mm_cvtepi32_ps(_mm_shuffle_epi8(p, shr));
        V g = _mm_cvtepi32_ps(_mm_shuffle_epi8(p, shg));
        V b = _mm_cvtepi32_ps(_mm_shuffle_epi8(p, shb));
        ST(dst + x, ADD(ADD(ADD(MUL(r, c0), MUL(g, c1)), MUL(b, c2)), c3));
    }
    if (x < w)
        ssim_conv_c(dst + x, rgb + 3 * x, w - x, coef);
}

void ssim_dsp_init_sse41(struct ssim_dsp *c)
{
    c->conv = ssim_conv_sse41;
    c->vfilt = ssim_vfilt_sse41;
    c->hmap = ssim_hmap_sse41;
}

#else
void ssim_dsp_init_sse41(struct ssim_dsp *c)
{
    (void)c;
}
#endif
