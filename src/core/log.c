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
    fprintf(stderr, "tierpress: %s: %s\n", names[l], line);
}
