#ifndef TP_SRC_FPINDEX_H
#define TP_SRC_FPINDEX_H

#include <stddef.h>
#include <stdint.h>

/* All pairs of 64-bit hashes within a Hamming distance, without comparing
 * every pair: multi-index hashing.  The 64 bits are cut into FPINDEX_CHUNKS
 * chunks (22/21/21 bits); two hashes within distance t have, by the
 * pigeonhole principle, a chunk within r = floor(t / FPINDEX_CHUNKS) bits.
 * For each chunk the hashes are bucketed by it (a counting sort), and only
 * hashes in the same bucket or in buckets r bits apart are compared.  A
 * pair is reported once, by the first chunk that finds it.
 *
 * Memory: 12 bytes per hash plus 16 MiB of bucket offsets, whatever t. */

#define FPINDEX_CHUNKS 3
#define FPINDEX_MAX_T 11 /* r <= 3 */

/* Called for each pair i < j (indexes into h) within distance t; a
 * non-zero return stops the walk and is returned. */
typedef int (*fpindex_pair_fn)(void *ud, uint32_t i, uint32_t j, int dist);

/* h: n hashes (borrowed), n < 2^32; t: 0..FPINDEX_MAX_T.  Returns 0, fn's
 * non-zero return, or a negative error (out of memory, bad t). */
int fpindex_pairs(const uint64_t *h, size_t n, int t, fpindex_pair_fn fn, void *ud);

/* The O(n^2) reference: every pair compared (tests and benchmarks). */
int fpindex_pairs_brute(const uint64_t *h, size_t n, int t, fpindex_pair_fn fn, void *ud);

#endif /* TP_SRC_FPINDEX_H */
