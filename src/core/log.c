#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
/* sanitizer reports must not vanish into a capture */
#define REPORT_FD(fd) __sanitizer_set_report_fd((void *)(intptr_t)(fd))
#else
#define REPORT_FD(fd) ((void)(fd))
#endif

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

/* The capture of fd 2 (see log_capture_begin): while depth > 0, fd 2 is
 * cap_fd and the real stderr is cap_saved. */
static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static int cap_depth, cap_fd = -1, cap_saved = -1;

void log_print_line(const char *line)
{
    char esc[4096];
    log_escape(esc, sizeof(esc) - 1, line);
    size_t n = strlen(esc);
    esc[n++] = '\n';
    pthread_mutex_lock(&cap_lock);
    int fd = cap_saved >= 0 ? cap_saved : STDERR_FILENO;
    fflush(stderr);
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, esc + off, n - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    pthread_mutex_unlock(&cap_lock);
}

void tp_log(enum tp_log_level l, const char *fmt, ...)
{
    static const char *const names[] = { "error", "warning", "info", "debug" };
    if ((int)l > (int)log_get_level())
        return;
    char line[1024], full[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "tierpress: %s: %s", names[l], line);
    log_print_line(full);
}

void log_capture_begin(void)
{
    if (log_get_level() >= TP_LOG_DEBUG)
        return;
    pthread_mutex_lock(&cap_lock);
    if (cap_depth++ == 0) {
        fflush(stderr);
        cap_fd = memfd_create("tierpress-library-output", MFD_CLOEXEC);
        cap_saved = cap_fd >= 0 ? fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3) : -1;
        if (cap_saved < 0 || dup2(cap_fd, STDERR_FILENO) < 0) {
            if (cap_saved >= 0)
                close(cap_saved);
            if (cap_fd >= 0)
                close(cap_fd);
            cap_saved = cap_fd = -1; /* no capture: output passes through */
        } else {
            REPORT_FD(cap_saved);
        }
    }
    pthread_mutex_unlock(&cap_lock);
}

void log_capture_end(const char *who)
{
    static char text[16384];
    static pthread_mutex_t text_lock = PTHREAD_MUTEX_INITIALIZER;
    ssize_t n = 0;

    if (log_get_level() >= TP_LOG_DEBUG && cap_depth == 0)
        return;
    pthread_mutex_lock(&text_lock);
    pthread_mutex_lock(&cap_lock);
    if (cap_depth > 0 && --cap_depth == 0 && cap_saved >= 0) {
        fflush(stderr);
        dup2(cap_saved, STDERR_FILENO);
        REPORT_FD(STDERR_FILENO);
        close(cap_saved);
        cap_saved = -1;
        /* the first 16 KB is plenty for a trace; the rest is dropped */
        n = pread(cap_fd, text, sizeof(text) - 1, 0);
        close(cap_fd);
        cap_fd = -1;
    }
    pthread_mutex_unlock(&cap_lock);
    if (n > 0) {
        text[n] = '\0';
        for (char *line = text, *next; line && *line; line = next) {
            next = strchr(line, '\n');
            if (next)
                *next++ = '\0';
            if (*line)
                tp_log(TP_LOG_DEBUG, "%s: %s", who, line);
        }
    }
    pthread_mutex_unlock(&text_lock);
}
