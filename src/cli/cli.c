/* Shared command-line helpers: error and usage reporting. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "err.h"
#include "log.h"

void cli_error_line(const char *fmt, ...)
{
    char line[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_print_line(line);
}

int cli_fail(const char *what, int err)
{
    char msg[768];
    tp_strerror(err, msg, sizeof(msg));
    /* one line: library messages may carry newlines (a file name's are
     * escaped by cli_error_line) */
    for (char *c = msg; *c; c++)
        if (*c == '\n' || *c == '\r')
            *c = c[1] ? ';' : '\0';
    cli_error_line("tierpress: %s: %s", what, msg);
    tp_err_clear();
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cli_error_line("tierpress %s: %s", cmd, msg);
    cli_error_line("Try 'tierpress %s --help'.", cmd);
    return 2;
}
