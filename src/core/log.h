#ifndef TP_SRC_LOG_H
#define TP_SRC_LOG_H

#include <stddef.h>

enum tp_log_level {
    TP_LOG_ERROR = 0,
    TP_LOG_WARN = 1,
    TP_LOG_INFO = 2,
    TP_LOG_DEBUG = 3,
};

/* Messages go to stderr, prefixed "tierpress: ", when level <= the current
 * level (default WARN; TP_LOG=debug|info|warn|error overrides). */
void tp_log(enum tp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_set_level(enum tp_log_level level);
/* Copies src into dst (always NUL-terminated, truncated to len) with what a
 * terminal would act on made visible: control characters, DEL, C1 controls
 * and bytes that are not valid UTF-8 become \xNN.  File names and library
 * text reach stderr only through this (tp_log, cli.c). */
void log_escape(char *dst, size_t len, const char *src);
/* Writes one line (escaped, "\n" added) to the process's real stderr, also
 * while library output is being captured. */
void log_print_line(const char *line);

/* Library output: some libraries (libjxl, libheif's plugins) print traces
 * straight to stderr.  Between log_capture_begin() and log_capture_end(),
 * file descriptor 2 goes to an in-memory file (nested and concurrent calls
 * share one capture, which ends with the last of them); at the end each
 * captured line is logged at debug level, prefixed with `who`.  At debug
 * level (TP_LOG=debug, -v -v) nothing is captured: library output is left
 * as it is, as it happens. */
void log_capture_begin(void);
void log_capture_end(const char *who);
enum tp_log_level log_get_level(void);

#endif /* TP_SRC_LOG_H */
