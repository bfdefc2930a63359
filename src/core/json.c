/* JSON output helpers: valid UTF-8 always, objects through jansson. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "mem.h"

size_t json_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* U+D800..U+DFFF: surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

json_t *json_text(const char *s)
{
    if (!s || !*s)
        return json_null();
    size_t n = strlen(s), o = 0;
    /* at worst every byte becomes the 3-byte U+FFFD */
    char *buf = tp_malloc(3 * n + 1);
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = json_utf8_seq((const unsigned char *)s + i, n - i);
        if (!k) {
            memcpy(buf + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(buf + o, s + i, k);
        o += k;
        i += k;
    }
    buf[o] = '\0';
    json_t *j = json_stringn(buf, o);
    tp_free(buf);
    return j;
}

int json_set_new(json_t *obj, const char *key, json_t *v)
{
    /* json_object_set_new drops v also when it fails */
    if (!v || json_object_set_new(obj, key, v) < 0)
        return TP_ERR(ENOMEM);
    return 0;
}

int json_set_text(json_t *obj, const char *key, const char *s)
{
    return json_set_new(obj, key, json_text(s));
}

int json_set_int(json_t *obj, const char *key, long long v)
{
    return json_set_new(obj, key, json_integer(v));
}

int json_set_real(json_t *obj, const char *key, double v)
{
    if (!isfinite(v))
        return json_set_new(obj, key, json_null());
    if (v == (double)(int64_t)v && fabs(v) < 1e15)
        return json_set_new(obj, key, json_integer((json_int_t)v));
    return json_set_new(obj, key, json_real(v));
}

int json_set_bool(json_t *obj, const char *key, int v)
{
    return json_set_new(obj, key, json_boolean(v));
}

int json_set_fixed(json_t *obj, const char *key, double v, int decimals)
{
    double f = pow(10.0, decimals);
    if (!isfinite(v))
        return json_set_new(obj, key, json_null());
    return json_set_new(obj, key, json_real(round(v * f) / f));
}

int json_print(FILE *f, json_t *obj)
{
    if (!obj)
        return TP_ERR(ENOMEM);
    int ret = json_dumpf(obj, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) < 0 ? TP_ERR(EIO) : 0;
    fputc('\n', f);
    json_decref(obj);
    return ret;
}

char *json_pack_text(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_t *o = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return t;
}
