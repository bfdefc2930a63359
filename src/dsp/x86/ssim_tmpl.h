/* The SSIM kernels written once over a vector abstraction; included by
 * ssim_sse41.c (4 lanes) and ssim_avx2.c (8 lanes), which define:
 *   V, N, LD(p), ST(p, v), ADD, SUB, MUL, DIV, SET1(f), SFX(name),
 *   and CONV_BODY (the load + widen of N RGB pixels, ISA-specific).
 * Each kernel performs exactly the IEEE operations of its C reference in
 * ssim.c, in the same order, and calls the C reference for the tail, so
 * results are bit-exact.  The including file turns FP contraction off. */

static void SFX(ssim_hfilt)(float *const dst[5], const float *a, const float *b, int w)
{
    const float *W = ssim_weights;
    int x = 0;
    for (; x + N <= w; x += N) {
        V sa = SET1(0.f), sb = SET1(0.f), saa = SET1(0.f), sbb = SET1(0.f), sab = SET1(0.f);
        for (int k = 0; k < SSIM_RADIUS; k++) {
            V wk = SET1(W[k]);
            V al = LD(a + x + k - SSIM_RADIUS), ar = LD(a + x + SSIM_RADIUS - k);
            V bl = LD(b + x + k - SSIM_RADIUS), br = LD(b + x + SSIM_RADIUS - k);
            sa = ADD(sa, MUL(ADD(al, ar), wk));
            sb = ADD(sb, MUL(ADD(bl, br), wk));
            saa = ADD(saa, MUL(ADD(MUL(al, al), MUL(ar, ar)), wk));
            sbb = ADD(sbb, MUL(ADD(MUL(bl, bl), MUL(br, br)), wk));
            sab = ADD(sab, MUL(ADD(MUL(al, bl), MUL(ar, br)), wk));
        }
        V ac = LD(a + x), bc = LD(b + x), wc = SET1(W[SSIM_RADIUS]);
        ST(dst[0] + x, ADD(sa, MUL(ac, wc)));
        ST(dst[1] + x, ADD(sb, MUL(bc, wc)));
        ST(dst[2] + x, ADD(saa, MUL(MUL(ac, ac), wc)));
        ST(dst[3] + x, ADD(sbb, MUL(MUL(bc, bc), wc)));
        ST(dst[4] + x, ADD(sab, MUL(MUL(ac, bc), wc)));
    }
    if (x < w) {
        float *const d[5] = { dst[0] + x, dst[1] + x, dst[2] + x, dst[3] + x, dst[4] + x };
        ssim_hfilt_c(d, a + x, b + x, w - x);
    }
}

static void SFX(ssim_vfilt)(float *dst, const float *const src[SSIM_TAPS], int w)
{
    const float *W = ssim_weights;
    int x = 0;
    for (; x + N <= w; x += N) {
        V s = SET1(0.f);
        for (int k = 0; k < SSIM_RADIUS; k++)
            s = ADD(s, MUL(ADD(LD(src[k] + x), LD(src[SSIM_TAPS - 1 - k] + x)), SET1(W[k])));
        ST(dst + x, ADD(s, MUL(LD(src[SSIM_RADIUS] + x), SET1(W[SSIM_RADIUS]))));
    }
    if (x < w) {
        const float *s[SSIM_TAPS];
        for (int k = 0; k < SSIM_TAPS; k++)
            s[k] = src[k] + x;
        ssim_vfilt_c(dst + x, s, w - x);
    }
}

static void SFX(ssim_map)(float *map, const float *const m[5], float offset, int w)
{
    const V off = SET1(offset), c1 = SET1(SSIM_C1), c2 = SET1(SSIM_C2);
    int x = 0;
    for (; x + N <= w; x += N) {
        V m0 = LD(m[0] + x), m1 = LD(m[1] + x);
        V ma = ADD(m0, off), mb = ADD(m1, off);
        V va = SUB(LD(m[2] + x), MUL(m0, m0));
        V vb = SUB(LD(m[3] + x), MUL(m1, m1));
        V cov = SUB(LD(m[4] + x), MUL(m0, m1));
        V t = MUL(ma, mb);
        V n1 = ADD(ADD(t, t), c1);
        V d1 = ADD(ADD(MUL(ma, ma), MUL(mb, mb)), c1);
        V n2 = ADD(ADD(cov, cov), c2);
        V d2 = ADD(ADD(va, vb), c2);
        ST(map + x, DIV(MUL(n1, n2), MUL(d1, d2)));
    }
    if (x < w) {
        const float *const mm[5] = { m[0] + x, m[1] + x, m[2] + x, m[3] + x, m[4] + x };
        ssim_map_c(map + x, mm, offset, w - x);
    }
}
