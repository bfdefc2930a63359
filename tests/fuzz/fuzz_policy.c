/* The policy parser and validator on arbitrary YAML. */
#include <string.h>

#include "fuzz.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct policy p;
    policy_defaults(&p);
    if (policy_parse(&p, "fuzz.yaml", (const char *)data, size) == 0)
        policy_validate(&p);
    char buf[512];
    for (int i = 0; i < p.ndiags; i++)
        policy_diag_format(&p, i, buf, sizeof(buf));
    policy_free(&p);
    return 0;
}
