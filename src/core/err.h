#ifndef TP_SRC_ERR_H
#define TP_SRC_ERR_H

#include <errno.h>
#include <stddef.h>

/* Functions return int: 0 or a count on success, negative on failure.
 * TP_ERR(e) wraps an errno value; the tags below cover everything else. */
#define TP_ERR(e) (-(e))
#define TP_TAG(n) (-(0x10000 + (n)))

#define TP_ERR_INVALIDDATA TP_TAG(1) /* the input is not valid for its format */
#define TP_ERR_EXTERNAL    TP_TAG(2) /* a library refused (its message is logged) */
#define TP_ERR_LIMIT       TP_TAG(3) /* a configured limit was exceeded */
#define TP_ERR_VERIFY      TP_TAG(4) /* verification of an output failed */
#define TP_ERR_BUG         TP_TAG(5) /* internal inconsistency */
#define TP_ERR_UNSUPPORTED TP_TAG(6) /* valid, but not supported */
#define TP_ERR_UNKNOWNFMT  TP_TAG(7) /* no codec recognises the content */
#define TP_ERR_NOTFOUND    TP_TAG(8) /* a catalog/store lookup found nothing */
#define TP_ERR_CONFLICT    TP_TAG(9) /* compare-and-swap lost, or already done */
#define TP_ERR_USAGE       TP_TAG(10) /* bad command line */
#define TP_ERR_DUPLICATE   TP_TAG(11) /* already stored */
#define TP_ERR_CORRUPT     TP_TAG(12) /* a stored original no longer matches its hash */

/* Writes a description of code into buf (always NUL-terminated); returns buf. */
const char *tp_strerror(int code, char *buf, size_t len);

/* Sets the per-thread detail message for the next error (printf-style);
 * tp_err_detail() returns it ("" if none).  tp_err_clear() resets it. */
void tp_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *tp_err_detail(void);
void tp_err_clear(void);

#define RETURN_ERR_IF(cond, err, ...)                                          \
    do {                                                                       \
        if (cond) {                                                            \
            tp_err_set(__VA_ARGS__);                                           \
            return (err);                                                      \
        }                                                                      \
    } while (0)

#define FORWARD_ERR(expr)                                                      \
    do {                                                                       \
        int fwd_err_ = (expr);                                                 \
        if (fwd_err_ < 0)                                                      \
            return fwd_err_;                                                   \
    } while (0)

#define TP_COLD __attribute__((cold))
#define TP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif /* TP_SRC_ERR_H */
