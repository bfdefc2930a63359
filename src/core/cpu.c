/* CPU feature detection and the TP_CPU_MASK override. */
#include <pthread.h>
#include <stdlib.h>

#include "cpu.h"
#include "err.h"

static unsigned cpu_mask = ~0u;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;

static void mask_from_env(void)
{
    const char *s = getenv("TP_CPU_MASK");
    if (s && *s) {
        char *end;
        unsigned long v = strtoul(s, &end, 0);
        if (*end == '\0')
            cpu_mask = (unsigned)v;
    }
}

TP_COLD unsigned tp_cpu_detected(void)
{
    unsigned f = 0;
#if (defined(__x86_64__) || defined(__i386__)) && !defined(TP_NO_SIMD)
#if defined(__has_feature)
#if __has_feature(memory_sanitizer)
    return 0; /* MSan cannot see into intrinsics: C only */
#endif
#endif
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.1"))
        f |= TP_CPU_FLAG_SSE41;
    /* libgcc checks OSXSAVE/XCR0 before reporting AVX2 */
    if ((f & TP_CPU_FLAG_SSE41) && __builtin_cpu_supports("avx2"))
        f |= TP_CPU_FLAG_AVX2;
#endif
    return f;
}

TP_COLD unsigned tp_cpu_flags(void)
{
    pthread_once(&env_once, mask_from_env);
    return tp_cpu_detected() & cpu_mask;
}

TP_COLD void tp_cpu_set_mask(unsigned mask)
{
    pthread_once(&env_once, mask_from_env);
    cpu_mask = mask;
}
