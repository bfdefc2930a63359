/* The libFuzzer entry point every harness defines; replay.c calls it
 * without libFuzzer (tests/t_fuzz_replay.sh). */
#ifndef TP_TESTS_FUZZ_H
#define TP_TESTS_FUZZ_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
