/* Shared command-line helpers: error and usage reporting. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "err.h"

int cli_fail(const char *what, int err)
{
    char msg[768];
    tp_strerror(err, msg, sizeof(msg));
    /* one line: library messages may carry newlines */
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = c[1] ? ';' : '\0';
    fprintf(stderr, "tierpress: %s: %s\n", what, msg);
    tp_err_clear();
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "tierpress %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'tierpress %s --help'.\n", cmd);
    return 2;
}
