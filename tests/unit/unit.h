#ifndef TP_TESTS_UNIT_UNIT_H
#define TP_TESTS_UNIT_UNIT_H

/* A tiny self-registering unit-test framework.  TEST(name) { ... } defines
 * a test; CHECK(cond) records a failure and goes on; REQUIRE(cond) returns. */
#include <stdio.h>

struct unit_test {
    const char *name;
    void (*fn)(int *failed);
    struct unit_test *next;
};

void unit_register(struct unit_test *t);
/* Marks the running test as skipped (it still reports "ok"), saying why. */
void unit_skip(const char *why);

#define TEST(name)                                                             \
    static void test_##name(int *unit_failed_);                                \
    static struct unit_test unit_##name = { #name, test_##name, NULL };        \
    __attribute__((constructor)) static void unit_reg_##name(void)             \
    {                                                                          \
        unit_register(&unit_##name);                                           \
    }                                                                          \
    static void test_##name(int *unit_failed_)

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("#   %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond);  \
            *unit_failed_ = 1;                                                 \
        }                                                                      \
    } while (0)

#define REQUIRE(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            printf("#   %s:%d: REQUIRE(%s) failed\n", __FILE__, __LINE__, #cond); \
            *unit_failed_ = 1;                                                 \
            return;                                                            \
        }                                                                      \
    } while (0)

#endif /* TP_TESTS_UNIT_UNIT_H */
