#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int level = -1;

static void init_level(void)
{
    const char *s = getenv("TP_LOG");
    level = TP_LOG_WARN;
    if (!s)
        return;
    if (!strcmp(s, "debug"))
        level = TP_LOG_DEBUG;
    else if (!strcmp(s, "info"))
        level = TP_LOG_INFO;
    else if (!strcmp(s, "error"))
        level = TP_LOG_ERROR;
}

void log_set_level(enum tp_log_level l)
{
    level = (int)l;
}

enum tp_log_level log_get_level(void)
{
    if (level < 0)
        init_level();
    return (enum tp_log_level)level;
}

/* The length of the valid UTF-8 sequence at s that is not a C1 control
 * (U+0080..U+009F), else 0. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
    if (!n || (n == 3 && s[0] >= 0xf0))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 2 && s[0] == 0xc2 && s[1] < 0xa0)
        return 0; /* C1 control */
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
        (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
        return 0; /* overlong, surrogate, beyond U+10FFFF */
    return n;
}

void log_escape(char *dst, size_t len, const char *src)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0;
    if (!len)
        return;
    while (*s) {
        size_t n = *s >= 0x20 && *s < 0x7f ? 1 : *s >= 0x80 ? utf8_len(s) : 0;
        if (n) {
            if (o + n >= len)
                break;
            memcpy(dst + o, s, n);
            o += n;
            s += n;
        } else {
            if (o + 4 >= len)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[*s >> 4];
            dst[o++] = hex[*s & 15];
            s++;
        }
    }
    dst[o] = '\0';
}

void tp_log(enum tp_log_level l, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    if ((int)l > (int)log_get_level())
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    char esc[2048];
    log_escape(esc, sizeof(esc), line);
    fprintf(stderr, "tierpress: %s: %s\n", names[l], esc);
}
