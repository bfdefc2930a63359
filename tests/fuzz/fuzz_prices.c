/* The price sheet parser on arbitrary YAML. */
#include "fuzz.h"
#include "prices.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct prices p;
    prices_defaults(&p);
    prices_parse(&p, "fuzz.yaml", (const char *)data, size);
    return 0;
}
