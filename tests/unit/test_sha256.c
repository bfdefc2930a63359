/* SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <string.h>

#include "mem.h"
#include "sha256.h"
#include "unit.h"

static int hex_is(const char *msg, size_t len, const char *want)
{
    char hex[SHA256_HEX_LEN + 1];
    sha256_hex(msg, len, hex);
    if (strcmp(hex, want))
        printf("#   got %s\n#  want %s\n", hex, want);
    return !strcmp(hex, want);
}

TEST(sha256_vectors)
{
    CHECK(hex_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(hex_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(strlen(m448) * 8 == 448);
    CHECK(hex_is(m448, strlen(m448),
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    CHECK(hex_is(m896, strlen(m896),
                 "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"));
}

TEST(sha256_million_a_streamed)
{
    /* one million 'a', fed in uneven pieces to exercise the block buffer */
    static char chunk[997];
    struct sha256 s;
    uint8_t d[32];
    char hex[SHA256_HEX_LEN + 1];
    size_t left = 1000000, step = 1;
    memset(chunk, 'a', sizeof(chunk));
    REQUIRE(sha256_init(&s) == 0);
    while (left) {
        size_t n = step < left ? step : left;
        sha256_update(&s, chunk, n);
        left -= n;
        step = step % (sizeof(chunk) - 37) + 37; /* 1..996 bytes */
    }
    CHECK(sha256_final(&s, d) == 0 && !s.ctx);
    sha256_to_hex(d, hex);
    CHECK(!strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    /* and in one call */
    char *big = tp_malloc(1000000);
    REQUIRE(big);
    memset(big, 'a', 1000000);
    CHECK(hex_is(big, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"));
    tp_free(big);
}

TEST(sha256_block_boundaries)
{
    /* lengths around the 55/56/64-byte padding edges, one call vs bytewise */
    char buf[130];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (char)(i * 7 + 1);
    for (size_t len = 50; len <= sizeof(buf); len++) {
        char a[SHA256_HEX_LEN + 1], b[SHA256_HEX_LEN + 1];
        struct sha256 s;
        uint8_t d[32];
        CHECK(sha256_hex(buf, len, a) == 0);
        REQUIRE(sha256_init(&s) == 0);
        for (size_t i = 0; i < len; i++)
            sha256_update(&s, buf + i, 1);
        CHECK(sha256_final(&s, d) == 0);
        sha256_to_hex(d, b);
        CHECK(!strcmp(a, b));
    }
    CHECK(sha256_hex_valid("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!sha256_hex_valid("E3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!sha256_hex_valid("../etc/passwd"));
    CHECK(!sha256_hex_valid(""));
}

TEST(sha256_abandoned_and_independent)
{
    /* two contexts interleaved give their own digests; one abandoned midway
     * is released by sha256_free (ASan's leak check would see it otherwise) */
    struct sha256 a, b, c;
    uint8_t d[32];
    char hex[SHA256_HEX_LEN + 1];
    REQUIRE(sha256_init(&a) == 0 && sha256_init(&b) == 0 && sha256_init(&c) == 0);
    sha256_update(&a, "a", 1);
    sha256_update(&b, "ab", 2);
    sha256_update(&c, "x", 1);
    sha256_update(&a, "bc", 2);
    sha256_free(&c);
    sha256_free(&c);
    CHECK(!c.ctx);
    CHECK(sha256_final(&a, d) == 0);
    sha256_to_hex(d, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    sha256_update(&b, "c", 1);
    CHECK(sha256_final(&b, d) == 0);
    sha256_to_hex(d, hex);
    CHECK(!strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    /* a context used after final reports the misuse instead of a digest */
    CHECK(sha256_final(&b, d) < 0);
    sha256_update(&b, "c", 1);
    CHECK(sha256_final(&b, d) < 0);
}
