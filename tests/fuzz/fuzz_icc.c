/* ICC profile description parsing. */
#include "fuzz.h"
#include "icc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char out[256];
    icc_description(data, size, out, sizeof(out));
    return 0;
}
