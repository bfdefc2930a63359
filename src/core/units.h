#ifndef TP_SRC_UNITS_H
#define TP_SRC_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Byte counts for people, in IEC binary units (one convention for every
 * command, as simulate's report): "512 B", "1.50 KiB", "38.12 MiB",
 * "2.00 GiB".  Machine output (--json) stays in bytes.  Writes into buf
 * (always NUL-terminated) and returns it. */
#define UNITS_LEN 24
const char *units_bytes(uint64_t bytes, char *buf, size_t len);
/* The same for a signed difference: "-1.20 MiB". */
const char *units_bytes_signed(int64_t bytes, char *buf, size_t len);

#endif /* TP_SRC_UNITS_H */
