/* Multi-index hashing for all pairs within a Hamming distance (fpindex.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fpindex.h"
#include "mem.h"

static const int chunk_shift[FPINDEX_CHUNKS] = { 0, 22, 43 };
static const int chunk_bits[FPINDEX_CHUNKS] = { 22, 21, 21 };

static inline uint32_t chunk(uint64_t h, int k)
{
    return (uint32_t)((h >> chunk_shift[k]) & ((1u << chunk_bits[k]) - 1));
}

struct walk {
    const uint64_t *sorted;  /* hashes in bucket order */
    const uint32_t *idx;     /* their indexes into the caller's array */
    const uint32_t *off;     /* bucket b holds sorted[off[b] .. off[b + 1]) */
    int k, t, r;
    fpindex_pair_fn fn;
    void *ud;
};

/* Reported by an earlier chunk already? */
static inline int seen(const struct walk *w, uint64_t a, uint64_t b)
{
    for (int k = 0; k < w->k; k++)
        if (__builtin_popcount(chunk(a, k) ^ chunk(b, k)) <= w->r)
            return 1;
    return 0;
}

static int report(const struct walk *w, uint32_t x, uint32_t y)
{
    uint64_t a = w->sorted[x], b = w->sorted[y];
    int d = __builtin_popcountll(a ^ b);
    if (d > w->t || seen(w, a, b))
        return 0;
    uint32_t i = w->idx[x], j = w->idx[y];
    return i < j ? w->fn(w->ud, i, j, d) : w->fn(w->ud, j, i, d);
}

/* Pairs between bucket b1 and bucket b2 (b1 < b2), or inside b1 (b1 == b2). */
static int buckets(const struct walk *w, uint32_t b1, uint32_t b2)
{
    uint32_t s1 = w->off[b1], e1 = w->off[b1 + 1], s2 = w->off[b2], e2 = w->off[b2 + 1];
    int ret;
    for (uint32_t x = s1; x < e1; x++) {
        uint64_t a = w->sorted[x];
        for (uint32_t y = b1 == b2 ? x + 1 : s2; y < e2; y++)
            if (__builtin_popcountll(a ^ w->sorted[y]) <= w->t && (ret = report(w, x, y)))
                return ret;
    }
    return 0;
}

/* Buckets at exactly `left` more flipped bits from b, above bit `from`,
 * whose key is larger than b's (each bucket pair once). */
static int neighbours(const struct walk *w, uint32_t b, uint32_t key, int from, int left)
{
    int ret, bits = chunk_bits[w->k];
    for (int i = from; i < bits; i++) {
        uint32_t n = key ^ (1u << i);
        if (left == 1) {
            if (n > b && w->off[n] != w->off[n + 1] && (ret = buckets(w, b, n)))
                return ret;
        } else if ((ret = neighbours(w, b, n, i + 1, left - 1))) {
            return ret;
        }
    }
    return 0;
}

int fpindex_pairs(const uint64_t *h, size_t n, int t, fpindex_pair_fn fn, void *ud)
{
    struct walk w = { .t = t, .r = t / FPINDEX_CHUNKS, .fn = fn, .ud = ud };
    uint64_t *sorted = NULL;
    uint32_t *idx = NULL, *off = NULL;
    int ret = 0;

    RETURN_ERR_IF(t < 0 || t > FPINDEX_MAX_T, TP_ERR(EINVAL), "distance %d (0..%d)", t,
                  FPINDEX_MAX_T);
    RETURN_ERR_IF(n >= UINT32_MAX, TP_ERR_LIMIT, "%zu hashes (at most 2^32 - 1)", n);
    if (n < 2)
        return 0;
    sorted = tp_malloc(n * sizeof(*sorted));
    idx = tp_malloc(n * sizeof(*idx));
    off = tp_malloc(((1u << 22) + 2) * sizeof(*off));
    if (!sorted || !idx || !off) {
        ret = TP_ERR(ENOMEM);
        tp_err_set("out of memory indexing %zu hashes", n);
        goto end;
    }
    w.sorted = sorted;
    w.idx = idx;
    w.off = off;
    for (w.k = 0; w.k < FPINDEX_CHUNKS && !ret; w.k++) {
        uint32_t nb = 1u << chunk_bits[w.k];
        /* counting sort by this chunk: off[b + 1] counts, then prefix sums */
        memset(off, 0, (nb + 2) * sizeof(*off));
        for (size_t i = 0; i < n; i++)
            off[chunk(h[i], w.k) + 2]++;
        for (uint32_t b = 2; b < nb + 2; b++)
            off[b] += off[b - 1];
        for (size_t i = 0; i < n; i++) {
            uint32_t p = off[chunk(h[i], w.k) + 1]++;
            sorted[p] = h[i];
            idx[p] = (uint32_t)i;
        }
        /* now off[b] is bucket b's start and off[b + 1] its end */
        for (uint32_t b = 0; b < nb && !ret; b++) {
            if (off[b] == off[b + 1])
                continue;
            ret = buckets(&w, b, b);
            for (int d = 1; d <= w.r && !ret; d++)
                ret = neighbours(&w, b, b, 0, d);
        }
    }
end:
    tp_free(sorted);
    tp_free(idx);
    tp_free(off);
    return ret;
}

int fpindex_pairs_brute(const uint64_t *h, size_t n, int t, fpindex_pair_fn fn, void *ud)
{
    int ret;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            int d = __builtin_popcountll(h[i] ^ h[j]);
            if (d <= t && (ret = fn(ud, (uint32_t)i, (uint32_t)j, d)))
                return ret;
        }
    return 0;
}
