#ifndef TP_SRC_CPU_H
#define TP_SRC_CPU_H

/* Run-time CPU feature detection for the SIMD kernels (src/dsp/).
 * The flags the dispatchers see are detected & mask.  The mask starts as
 * all-ones, or as the value of the environment variable TP_CPU_MASK
 * (strtoul base 0: "0" forces the C kernels, "0x1" allows SSE4.1 only). */
enum tp_cpu_flags {
    TP_CPU_FLAG_SSE41 = 1 << 0,
    TP_CPU_FLAG_AVX2 = 1 << 1,  /* AVX2 with OS support for the YMM state */
};

/* The usable flags: detected & mask.  Thread-safe after the first call. */
unsigned tp_cpu_flags(void);
/* What the CPU supports, ignoring the mask. */
unsigned tp_cpu_detected(void);
/* Replaces the mask (tests and checkasm); not thread-safe with kernels
 * being initialised concurrently. */
void tp_cpu_set_mask(unsigned mask);

#endif /* TP_SRC_CPU_H */
