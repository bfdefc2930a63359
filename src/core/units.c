/* IEC binary units for human-readable byte counts. */
#include <stdio.h>

#include "units.h"

const char *units_bytes(uint64_t bytes, char *buf, size_t len)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    double v = (double)bytes;
    int u = -1;
    if (bytes < 1024) {
        snprintf(buf, len, "%llu B", (unsigned long long)bytes);
        return buf;
    }
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    /* 1023.996 KiB would print as "1024.00 KiB" */
    if (v >= 1023.995 && u < 5) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.2f %s", v, unit[u]);
    return buf;
}

const char *units_bytes_signed(int64_t bytes, char *buf, size_t len)
{
    if (bytes >= 0)
        return units_bytes((uint64_t)bytes, buf, len);
    buf[0] = '-';
    units_bytes((uint64_t)0 - (uint64_t)bytes, buf + 1, len - 1);
    return buf;
}
