/* checkasm driver: runs every test at each CPU level (C, then one more
 * flag at a time), compares each new kernel with the C reference, prints
 * TAP lines "ok - checkasm/<fn>_<isa>", and with --bench times them.
 *
 *   checkasm [--test=NAME] [--function=PREFIX] [--bench] [--list-functions]
 *            [--list-tests] [--seed=N | N]
 *
 * A signal inside a kernel counts as that kernel's failure; any failure
 * makes the exit status 1. */
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cpu.h"
#include "checkasm.h"

static const struct {
    const char *name;
    void (*fn)(void);
} tests[] = {
    { "ssim", checkasm_check_ssim },
    { "ssim_real", checkasm_check_ssim_real },
};

static const struct {
    const char *name;   /* shown */
    const char *suffix; /* of the function names */
    unsigned flag;
} cpus[] = {
    { "C", "c", 0 },
    { "SSE4.1", "sse41", TP_CPU_FLAG_SSE41 },
    { "AVX2", "avx2", TP_CPU_FLAG_AVX2 },
};

#define MAX_FUNCS 64
#define MAX_LEVELS 8

struct func {
    char name[64];
    void *ptr[MAX_LEVELS]; /* the pointer tested at each level, NULL if skipped */
    double c_ns;           /* bench: the C version's ns/px */
};

static struct {
    struct func funcs[MAX_FUNCS];
    int nfuncs;
    struct func *cur;      /* the function being tested */
    int cur_failed;
    int level;
    unsigned mask;
    const char *test_filter, *func_filter;
    int bench, list_functions;
    unsigned seed;
    uint64_t rng;
    int ok, failed;
    volatile sig_atomic_t catch_signals;
    sigjmp_buf jmp;
} state;

uint64_t checkasm_time_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint32_t checkasm_rand(void)
{
    /* xorshift64* */
    state.rng ^= state.rng >> 12;
    state.rng ^= state.rng << 25;
    state.rng ^= state.rng >> 27;
    return (uint32_t)((state.rng * 2685821657736338717ull) >> 32);
}

float checkasm_randf(float lo, float hi)
{
    return lo + (hi - lo) * (float)(checkasm_rand() >> 8) * (1.0f / 16777216.0f);
}

static void reseed(const char *name)
{
    uint64_t h = 1469598103934665603ull ^ state.seed;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    state.rng = h ? h : 1;
}

int checkasm_bench(void)
{
    return state.bench;
}

const char *checkasm_isa(void)
{
    return cpus[state.level].suffix;
}

unsigned checkasm_cpu_mask(void)
{
    return state.mask;
}

void *checkasm_check_func(void *fn, const char *name)
{
    struct func *f = NULL;
    if (state.func_filter && strncmp(name, state.func_filter, strlen(state.func_filter)))
        return NULL;
    for (int i = 0; i < state.nfuncs; i++)
        if (!strcmp(state.funcs[i].name, name))
            f = &state.funcs[i];
    if (!f) {
        if (state.nfuncs == MAX_FUNCS)
            return NULL;
        f = &state.funcs[state.nfuncs++];
        snprintf(f->name, sizeof(f->name), "%s", name);
    }
    for (int l = 0; l < state.level; l++)
        if (f->ptr[l] == fn)
            return NULL; /* this level did not replace it */
    if (state.list_functions) {
        printf("%s_%s\n", name, checkasm_isa());
        f->ptr[state.level] = fn;
        return NULL;
    }
    f->ptr[state.level] = fn;
    state.cur = f;
    state.cur_failed = 0;
    reseed(name);
    return f->ptr[0] ? f->ptr[0] : fn;
}

void checkasm_fail(const char *fmt, ...)
{
    va_list ap;
    if (state.cur_failed++ >= 3)
        return; /* enough detail */
    printf("#   %s_%s: ", state.cur ? state.cur->name : "?", checkasm_isa());
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

void checkasm_report(void)
{
    if (!state.cur)
        return;
    if (state.cur_failed) {
        printf("not ok - checkasm/%s_%s: differs from C (seed %u)\n", state.cur->name,
               checkasm_isa(), state.seed);
        state.failed++;
    } else {
        printf("ok - checkasm/%s_%s\n", state.cur->name, checkasm_isa());
        state.ok++;
    }
    fflush(stdout);
    state.cur = NULL;
}

void checkasm_bench_report(double ns)
{
    if (!state.cur)
        return;
    if (state.level == 0)
        state.cur->c_ns = ns;
    printf("# bench %-14s %-6s %8.3f ns/px", state.cur->name, checkasm_isa(), ns);
    if (state.level > 0 && state.cur->c_ns > 0)
        printf("  %5.2fx vs C", state.cur->c_ns / ns);
    printf("\n");
}

void *checkasm_alloc_guarded(size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t n = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    uint8_t *m = mmap(NULL, n + (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (m == MAP_FAILED) {
        perror("checkasm: mmap");
        exit(2);
    }
    mprotect(m + n, (size_t)page, PROT_NONE);
    return m + n - size;
}

void checkasm_free_guarded(void *p, size_t size)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t n = (size + (size_t)page - 1) / (size_t)page * (size_t)page;
    munmap((uint8_t *)p + size - n, n + (size_t)page);
}

static void on_signal(int sig)
{
    if (!state.catch_signals)
        _exit(128 + sig);
    state.catch_signals = 0;
    siglongjmp(state.jmp, sig);
}

/* Runs one test; a signal ends it and fails the function being tested. */
static void run_test(size_t t)
{
    int sig = sigsetjmp(state.jmp, 1);
    if (sig) {
        printf("not ok - checkasm/%s_%s: signal %d (seed %u)\n",
               state.cur ? state.cur->name : tests[t].name, checkasm_isa(), sig, state.seed);
        state.failed++;
        state.cur = NULL;
        return;
    }
    state.catch_signals = 1;
    tests[t].fn();
    state.catch_signals = 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: checkasm [--test=NAME] [--function=PREFIX] [--bench] [--list-functions]\n"
               "                [--list-tests] [--seed=N | N]\n");
}

int main(int argc, char **argv)
{
    state.seed = (unsigned)(checkasm_time_ns() ^ (uint64_t)getpid());
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "--test=", 7)) {
            state.test_filter = a + 7;
        } else if (!strncmp(a, "--function=", 11)) {
            state.func_filter = a + 11;
        } else if (!strcmp(a, "--bench")) {
            state.bench = 1;
        } else if (!strcmp(a, "--list-functions")) {
            state.list_functions = 1;
        } else if (!strcmp(a, "--list-tests")) {
            for (size_t t = 0; t < sizeof(tests) / sizeof(tests[0]); t++)
                printf("%s\n", tests[t].name);
            return 0;
        } else if (!strncmp(a, "--seed=", 7) || (a[0] >= '0' && a[0] <= '9')) {
            state.seed = (unsigned)strtoul(a[0] == '-' ? a + 7 : a, NULL, 10);
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
    sigaction(SIGILL, &sa, NULL);
    sigaction(SIGFPE, &sa, NULL);

    unsigned detected = tp_cpu_detected();
    if (!state.list_functions)
        printf("# checkasm: seed %u, cpu flags 0x%x\n", state.seed, detected);
    for (size_t l = 0; l < sizeof(cpus) / sizeof(cpus[0]) && l < MAX_LEVELS; l++) {
        if (cpus[l].flag && !(detected & cpus[l].flag)) {
            if (!state.list_functions)
                printf("# checkasm: %s not supported here, skipped\n", cpus[l].name);
            continue;
        }
        state.level = (int)l;
        state.mask |= cpus[l].flag;
        tp_cpu_set_mask(state.mask);
        for (size_t t = 0; t < sizeof(tests) / sizeof(tests[0]); t++) {
            if (state.test_filter && strcmp(state.test_filter, tests[t].name))
                continue;
            run_test(t);
        }
    }
    if (!state.list_functions)
        printf("# checkasm: %d passed, %d failed (seed %u)\n", state.ok, state.failed, state.seed);
    return state.failed ? 1 : 0;
}
