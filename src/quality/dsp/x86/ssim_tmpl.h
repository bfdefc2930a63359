/* The SSIM kernels written once over a vector abstraction; included by
 * ssim_sse41.c (4 lanes) and ssim_avx2.c (8 lanes), which define:
 *   V, N, LD(p), ST(p, v), ADD, SUB, MUL, DIV, SET1(f), SFX(name).
 * Each kernel performs exactly the IEEE operations of its C reference in
 * ssim.c, in the same order, and calls the C reference for the tail, so
 * results are bit-exact.  The including file turns FP contraction off. */

static void SFX(ssim_vfilt)(float *const dst[4], const float *const a[SSIM_TAPS],
                            const float *const b[SSIM_TAPS], int w)
{
    const float *W = ssim_weights;
    int x = 0;
    for (; x + N <= w; x += N) {
        V sa = SET1(0.f), sb = SET1(0.f), ss = SET1(0.f), sab = SET1(0.f);
        _Pragma("GCC unroll 5")
        for (int k = 0; k < SSIM_RADIUS; k++) {
            V wk = SET1(W[k]);
            V al = LD(a[k] + x), ar = LD(a[SSIM_TAPS - 1 - k] + x);
            V bl = LD(b[k] + x), br = LD(b[SSIM_TAPS - 1 - k] + x);
            sa = ADD(sa, MUL(ADD(al, ar), wk));
            sb = ADD(sb, MUL(ADD(bl, br), wk));
            ss = ADD(ss, MUL(ADD(ADD(MUL(al, al), MUL(bl, bl)), ADD(MUL(ar, ar), MUL(br, br))), wk));
            sab = ADD(sab, MUL(ADD(MUL(al, bl), MUL(ar, br)), wk));
        }
        V ac = LD(a[SSIM_RADIUS] + x), bc = LD(b[SSIM_RADIUS] + x), wc = SET1(W[SSIM_RADIUS]);
        ST(dst[0] + x, ADD(sa, MUL(ac, wc)));
        ST(dst[1] + x, ADD(sb, MUL(bc, wc)));
        ST(dst[2] + x, ADD(ss, MUL(ADD(MUL(ac, ac), MUL(bc, bc)), wc)));
        ST(dst[3] + x, ADD(sab, MUL(MUL(ac, bc), wc)));
    }
    if (x < w) {
        float *const d[4] = { dst[0] + x, dst[1] + x, dst[2] + x, dst[3] + x };
        const float *aa[SSIM_TAPS], *bb[SSIM_TAPS];
        for (int k = 0; k < SSIM_TAPS; k++) {
            aa[k] = a[k] + x;
            bb[k] = b[k] + x;
        }
        ssim_vfilt_c(d, aa, bb, w - x);
    }
}

static inline V SFX(hpass)(const float *r)
{
    const float *W = ssim_weights;
    V s = SET1(0.f);
    _Pragma("GCC unroll 5")
    for (int k = 0; k < SSIM_RADIUS; k++)
        s = ADD(s, MUL(ADD(LD(r + k - SSIM_RADIUS), LD(r + SSIM_RADIUS - k)), SET1(W[k])));
    return ADD(s, MUL(LD(r), SET1(W[SSIM_RADIUS])));
}

static void SFX(ssim_hmap)(float *map, const float *const m[4], float offset, int w)
{
    const V off = SET1(offset), c1 = SET1(SSIM_C1), c2 = SET1(SSIM_C2);
    int x = 0;
    for (; x + N <= w; x += N) {
        V f0 = SFX(hpass)(m[0] + x), f1 = SFX(hpass)(m[1] + x);
        V f2 = SFX(hpass)(m[2] + x), f3 = SFX(hpass)(m[3] + x);
        V ma = ADD(f0, off), mb = ADD(f1, off);
        V vs = SUB(f2, ADD(MUL(f0, f0), MUL(f1, f1)));
        V cov = SUB(f3, MUL(f0, f1));
        V t = MUL(ma, mb);
        V n1 = ADD(ADD(t, t), c1);
        V d1 = ADD(ADD(MUL(ma, ma), MUL(mb, mb)), c1);
        V n2 = ADD(ADD(cov, cov), c2);
        V d2 = ADD(vs, c2);
        ST(map + x, DIV(MUL(n1, n2), MUL(d1, d2)));
    }
    if (x < w) {
        const float *const mm[4] = { m[0] + x, m[1] + x, m[2] + x, m[3] + x };
        ssim_hmap_c(map + x, mm, offset, w - x);
    }
}
