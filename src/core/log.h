#ifndef TP_SRC_LOG_H
#define TP_SRC_LOG_H

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
enum tp_log_level log_get_level(void);

#endif /* TP_SRC_LOG_H */
