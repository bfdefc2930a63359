#ifndef TP_TESTS_CHECKASM_CHECKASM_H
#define TP_TESTS_CHECKASM_CHECKASM_H

/* checkasm: every SIMD kernel against its C reference (dav1d-style).
 * A test function calls check_func() for each kernel pointer of the
 * current dsp table; it returns the C reference's pointer when that
 * kernel has not been tested yet at this CPU level (else NULL), and the
 * test then calls both, compares, optionally benchmarks, and report()s. */

#include <stddef.h>
#include <stdint.h>

/* Registers fn under name for the current CPU level; the reference (C)
 * version or NULL to skip.  The first level is C: there ref == fn. */
void *checkasm_check_func(void *fn, const char *name);
#define check_func(fn, name) checkasm_check_func((void *)(fn), name)
/* Marks the current function failed; prints the reason as a TAP comment. */
void checkasm_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the TAP line for the current function: ok - checkasm/<name>_<isa>. */
void checkasm_report(void);
/* Non-zero when --bench was given. */
int checkasm_bench(void);
/* Records a timing for the current function: ns per unit (pixel). */
void checkasm_bench_report(double ns_per_px);
uint64_t checkasm_time_ns(void);
/* The current ISA suffix: "c", "sse41", "avx2". */
const char *checkasm_isa(void);
/* The cumulative TP_CPU_FLAG_* mask of the current level. */
unsigned checkasm_cpu_mask(void);

/* Deterministic PRNG, reseeded per function from the run's seed. */
uint32_t checkasm_rand(void);
/* Uniform in [lo, hi). */
float checkasm_randf(float lo, float hi);

/* Memory whose end abuts an inaccessible page, so over-reads past
 * p + size fault (and count as a failure).  Free with checkasm_free_guarded. */
void *checkasm_alloc_guarded(size_t size);
void checkasm_free_guarded(void *p, size_t size);

/* Test entry points (tests/checkasm/ssim.c). */
void checkasm_check_ssim(void);
void checkasm_check_ssim_real(void);

#endif /* TP_TESTS_CHECKASM_CHECKASM_H */
