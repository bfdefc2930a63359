#ifndef TP_SRC_SHA256_H
#define TP_SRC_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4).  Streaming: sha256_init, sha256_update any number
 * of times, sha256_final.  No allocation; the context lives on the stack. */
struct sha256 {
    uint32_t h[8];
    uint64_t bytes;     /* total length so far */
    uint8_t block[64];
    size_t fill;        /* bytes waiting in block */
};

#define SHA256_HEX_LEN 64 /* characters, without the NUL */

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t digest_out[32]);
/* One call: digest of data as 64 lower-case hex digits + NUL in hex_out. */
void sha256_hex(const void *data, size_t len, char hex_out[SHA256_HEX_LEN + 1]);
void sha256_to_hex(const uint8_t digest[32], char hex_out[SHA256_HEX_LEN + 1]);
/* 1 when s is exactly 64 lower-case hex digits. */
int sha256_hex_valid(const char *s);

#endif /* TP_SRC_SHA256_H */
