#ifndef TP_SRC_SHA256_H
#define TP_SRC_SHA256_H

#include <stddef.h>
#include <stdint.h>

/* SHA-256 (FIPS 180-4) through libcrypto's EVP interface, which picks the
 * CPU's SHA extensions when it has them.  Streaming: sha256_init, then
 * sha256_update any number of times, then sha256_final (which releases the
 * context); a context abandoned before sha256_final is released with
 * sha256_free.  A failure (out of memory, a refusing provider) is sticky:
 * sha256_final then returns it and writes no digest anyone could mistake
 * for a real one. */
struct sha256 {
    void *ctx;          /* EVP_MD_CTX; owned, NULL before init and after final */
    int failed;         /* a negative error code once anything failed */
};

#define SHA256_HEX_LEN 64 /* characters, without the NUL */

int sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* 0 and the digest, or a negative error (digest zeroed).  Releases the context. */
int sha256_final(struct sha256 *s, uint8_t digest_out[32]);
/* Releases a context without a digest; accepts one already final or never initialised
 * if it was zeroed. */
void sha256_free(struct sha256 *s);
/* One call: digest of data as 64 lower-case hex digits + NUL in hex_out.
 * On failure returns a negative error and hex_out is "" (not a valid hash,
 * so it compares unequal to every blob and is refused as an address). */
int sha256_hex(const void *data, size_t len, char hex_out[SHA256_HEX_LEN + 1]);
void sha256_to_hex(const uint8_t digest[32], char hex_out[SHA256_HEX_LEN + 1]);
/* 1 when s is exactly 64 lower-case hex digits. */
int sha256_hex_valid(const char *s);

#endif /* TP_SRC_SHA256_H */
