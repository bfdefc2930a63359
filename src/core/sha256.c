/* SHA-256 through libcrypto (EVP).  The digest is fetched once per process;
 * every context is an EVP_MD_CTX of its own, so threads need no lock. */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>

#include "err.h"
#include "sha256.h"

static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static const EVP_MD *md_sha256;

static void md_fetch(void)
{
    /* an explicit fetch avoids the implicit one EVP_sha256() costs per init */
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    md_sha256 = md ? md : EVP_sha256();
}

static const EVP_MD *md_get(void)
{
    pthread_once(&md_once, md_fetch);
    return md_sha256;
}

int sha256_init(struct sha256 *s)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    s->ctx = c;
    s->failed = 0;
    if (!c) {
        s->failed = TP_ERR(ENOMEM);
    } else if (!EVP_DigestInit_ex(c, md_get(), NULL)) {
        s->failed = TP_ERR_EXTERNAL;
    }
    if (s->failed)
        tp_err_set("sha256: libcrypto could not start a digest");
    return s->failed;
}

void sha256_update(struct sha256 *s, const void *data, size_t len)
{
    if (s->failed || !len)
        return;
    if (!s->ctx) {
        s->failed = TP_ERR_BUG; /* after final or free */
        return;
    }
    if (!EVP_DigestUpdate(s->ctx, data, len))
        s->failed = TP_ERR_EXTERNAL;
}

int sha256_final(struct sha256 *s, uint8_t digest[32])
{
    unsigned n = 0;
    int ret = s->failed ? s->failed : !s->ctx ? TP_ERR_BUG : 0;
    if (!ret && (!EVP_DigestFinal_ex(s->ctx, digest, &n) || n != 32))
        ret = TP_ERR_EXTERNAL;
    if (ret) {
        memset(digest, 0, 32);
        tp_err_set("sha256: libcrypto failed to compute a digest");
    }
    sha256_free(s);
    s->failed = ret;
    return ret;
}

void sha256_free(struct sha256 *s)
{
    if (!s)
        return;
    EVP_MD_CTX_free(s->ctx);
    s->ctx = NULL;
}

void sha256_to_hex(const uint8_t digest[32], char hex[SHA256_HEX_LEN + 1])
{
    static const char xd[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = xd[digest[i] >> 4];
        hex[2 * i + 1] = xd[digest[i] & 15];
    }
    hex[SHA256_HEX_LEN] = '\0';
}

int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
    uint8_t d[32];
    unsigned n = 0;
    if (!EVP_Digest(data, len, d, &n, md_get(), NULL) || n != 32) {
        hex[0] = '\0';
        tp_err_set("sha256: libcrypto failed to compute a digest");
        return TP_ERR_EXTERNAL;
    }
    sha256_to_hex(d, hex);
    return 0;
}

int sha256_hex_valid(const char *s)
{
    size_t i = 0;
    if (!s)
        return 0;
    for (; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return i == SHA256_HEX_LEN;
}
