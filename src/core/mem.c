/* Allocation: every allocation in tierpress goes through here, so tests can
 * inject failures (TP_FAIL_ALLOC=N fails the Nth allocation). */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mem.h"

static long fail_at = -2;
static long alloc_count;

static int should_fail(void)
{
    if (fail_at == -2) {
        const char *s = getenv("TP_FAIL_ALLOC");
        fail_at = s ? atol(s) : -1;
    }
    if (fail_at < 0)
        return 0;
    return __atomic_add_fetch(&alloc_count, 1, __ATOMIC_RELAXED) == fail_at;
}

void *tp_malloc(size_t n)
{
    if (should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *tp_calloc(size_t n, size_t size)
{
    if (should_fail())
        return NULL;
    return calloc(n ? n : 1, size ? size : 1);
}

void *tp_realloc(void *p, size_t n)
{
    if (should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

void tp_free(void *p)
{
    free(p);
}

void tp_freep(void *pp)
{
    void **p = pp;
    free(*p);
    *p = NULL;
}

char *tp_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tp_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

int buf_reserve(struct tp_buf *b, size_t n)
{
    if (n <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n) {
        if (cap > SIZE_MAX / 2)
            return TP_ERR(ENOMEM);
        cap *= 2;
    }
    uint8_t *d = tp_realloc(b->data, cap);
    if (!d)
        return TP_ERR(ENOMEM);
    b->data = d;
    b->cap = cap;
    return 0;
}

int buf_append(struct tp_buf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX - b->len)
        return TP_ERR(ENOMEM);
    int ret = buf_reserve(b, b->len + n);
    if (ret < 0)
        return ret;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

int buf_set(struct tp_buf *b, const void *data, size_t n)
{
    b->len = 0;
    return buf_append(b, data, n);
}

void buf_free(struct tp_buf *b)
{
    if (!b)
        return;
    tp_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
