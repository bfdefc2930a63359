/* Bearer tokens and signed rendition URLs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "err.h"
#include "fileio.h"
#include "mem.h"
#include "service.h"
#include "sha256.h"

struct token {
    char owner[64];
    uint8_t digest[32]; /* sha256 of the token: compared in constant time */
};

struct service_auth {
    struct token *t;
    int n;
    uint8_t key[256];
    size_t key_len;
};

static int add_line(struct service_auth *a, const char *src, char *line, int lineno)
{
    char owner[64], tok[512];
    struct sha256 s;
    char *p = line;
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return 0;
    if (sscanf(p, "%63s %511s", owner, tok) != 2 || strlen(tok) < 16) {
        tp_err_set("%s:%d: want 'OWNER TOKEN' with a token of at least 16 characters", src,
                   lineno);
        return TP_ERR_USAGE;
    }
    struct token *t = tp_realloc(a->t, sizeof(*t) * (size_t)(a->n + 1));
    if (!t)
        return TP_ERR(ENOMEM);
    a->t = t;
    snprintf(t[a->n].owner, sizeof(t[a->n].owner), "%s", owner);
    sha256_init(&s);
    sha256_update(&s, tok, strlen(tok));
    sha256_final(&s, t[a->n].digest);
    a->n++;
    return 0;
}

static int add_lines(struct service_auth *a, const char *src, char *text, const char *seps)
{
    int ret, lineno = 0;
    char *save = NULL;
    for (char *l = strtok_r(text, seps, &save); l; l = strtok_r(NULL, seps, &save)) {
        char *cr = strchr(l, '\r');
        if (cr)
            *cr = '\0';
        if ((ret = add_line(a, src, l, ++lineno)) < 0)
            return ret;
    }
    return 0;
}

int service_auth_load(struct service_auth **out, const char *tokens_file, const char *key_file)
{
    struct service_auth *a = tp_calloc(1, sizeof(*a));
    struct tp_buf b = { 0 };
    const char *env;
    int ret = 0;

    *out = NULL;
    if (!a)
        return TP_ERR(ENOMEM);
    if (!tokens_file)
        tokens_file = getenv("TIERPRESS_TOKENS_FILE");
    if (tokens_file && *tokens_file) {
        if ((ret = file_read(tokens_file, 1 << 20, &b)) < 0 || (ret = buf_append(&b, "", 1)) < 0)
            goto fail;
        if ((ret = add_lines(a, tokens_file, (char *)b.data, "\n")) < 0)
            goto fail;
        buf_free(&b);
    }
    if ((env = getenv("TIERPRESS_TOKENS")) && *env) {
        char *copy = strdup(env);
        if (!copy) {
            ret = TP_ERR(ENOMEM);
            goto fail;
        }
        ret = add_lines(a, "TIERPRESS_TOKENS", copy, ",\n");
        free(copy);
        if (ret < 0)
            goto fail;
    }
    if (key_file && *key_file) {
        if ((ret = file_read(key_file, sizeof(a->key), &b)) < 0)
            goto fail;
        while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
            b.len--;
        memcpy(a->key, b.data, b.len);
        a->key_len = b.len;
        buf_free(&b);
    } else if ((env = getenv("TIERPRESS_SIGNING_KEY")) && *env) {
        a->key_len = strlen(env) < sizeof(a->key) ? strlen(env) : sizeof(a->key);
        memcpy(a->key, env, a->key_len);
    }
    if (a->key_len && a->key_len < 16) {
        tp_err_set("signing key: at least 16 bytes");
        ret = TP_ERR_USAGE;
        goto fail;
    }
    *out = a;
    return 0;
fail:
    buf_free(&b);
    service_auth_free(&a);
    return ret;
}

void service_auth_free(struct service_auth **a)
{
    if (!a || !*a)
        return;
    OPENSSL_cleanse((*a)->key, sizeof((*a)->key));
    tp_free((*a)->t);
    tp_freep(a);
}

int service_auth_ntokens(const struct service_auth *a)
{
    return a ? a->n : 0;
}

int service_auth_can_sign(const struct service_auth *a)
{
    return a && a->key_len > 0;
}

const char *service_auth_owner(const struct service_auth *a, const char *token)
{
    uint8_t d[32];
    struct sha256 s;
    const char *owner = NULL;
    if (!a || !token)
        return NULL;
    sha256_init(&s);
    sha256_update(&s, token, strlen(token));
    sha256_final(&s, d);
    /* every token is compared, in constant time, whatever matched */
    for (int i = 0; i < a->n; i++)
        if (!CRYPTO_memcmp(d, a->t[i].digest, sizeof(d)))
            owner = a->t[i].owner;
    return owner;
}

void service_auth_sign(const struct service_auth *a, const char *path, int64_t exp, char sig[65])
{
    char msg[2048];
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned mac_len = 0;
    int n = snprintf(msg, sizeof(msg), "%s\n%lld", path, (long long)exp);
    HMAC(EVP_sha256(), a->key, (int)a->key_len, (const uint8_t *)msg,
         (size_t)(n < (int)sizeof(msg) ? n : (int)sizeof(msg) - 1), mac, &mac_len);
    sha256_to_hex(mac, sig);
}

int service_auth_check(const struct service_auth *a, const char *path, const char *exp,
                       const char *sig, int64_t now)
{
    char want[65], *end;
    long long e;
    if (!service_auth_can_sign(a) || !exp || !sig || strlen(sig) != 64)
        return TP_ERR_VERIFY;
    errno = 0;
    e = strtoll(exp, &end, 10);
    if (errno || *end || end == exp)
        return TP_ERR_VERIFY;
    service_auth_sign(a, path, e, want);
    if (CRYPTO_memcmp(want, sig, 64))
        return TP_ERR_VERIFY;
    return e < now ? TP_ERR_LIMIT : 0;
}
