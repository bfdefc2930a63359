/* The one place error codes become text. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static _Thread_local char detail[512];

void tp_err_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
}

const char *tp_err_detail(void)
{
    return detail;
}

void tp_err_clear(void)
{
    detail[0] = '\0';
}

static const char *tag_text(int code)
{
    switch (code) {
    case TP_ERR_INVALIDDATA: return "invalid or corrupt data";
    case TP_ERR_EXTERNAL:    return "codec library error";
    case TP_ERR_LIMIT:       return "limit exceeded";
    case TP_ERR_VERIFY:      return "verification failed";
    case TP_ERR_BUG:         return "internal error";
    case TP_ERR_UNSUPPORTED: return "unsupported";
    case TP_ERR_UNKNOWNFMT:  return "unrecognised file format";
    case TP_ERR_NOTFOUND:    return "not found";
    case TP_ERR_CONFLICT:    return "conflict";
    case TP_ERR_USAGE:       return "usage error";
    case TP_ERR_DUPLICATE:   return "duplicate";
    case TP_ERR_CORRUPT:     return "stored original is corrupt";
    default:                 return NULL;
    }
}

const char *tp_strerror(int code, char *buf, size_t len)
{
    const char *t = tag_text(code);
    if (!len)
        return buf;
    if (t)
        snprintf(buf, len, "%s", t);
    else if (code < 0 && code > -4096)
        snprintf(buf, len, "%s", strerror(-code));
    else
        snprintf(buf, len, "error %d", code);
    if (detail[0]) {
        size_t n = strlen(buf);
        if (n + 3 < len)
            snprintf(buf + n, len - n, ": %s", detail);
    }
    return buf;
}
