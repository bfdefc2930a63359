/* File I/O with the durability rules of the project: whole-file reads with a
 * size cap, atomic replace-by-rename writes. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"

static unsigned cached_umask;

/* umask() can only be read by setting it: done once, before any thread
 * can create a file. */
static void read_umask(void)
{
    mode_t m = umask(077);
    umask(m);
    cached_umask = (unsigned)m;
}

const char *file_type_name(unsigned mode)
{
    switch (mode & S_IFMT) {
    case S_IFREG: return "a regular file";
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO";
    case S_IFSOCK: return "a socket";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFLNK: return "a symbolic link";
    default: return "not a regular file";
    }
}

int file_open_regular(const char *path, int64_t *size_out)
{
    struct stat st;
    int fd, ret;
    /* O_NONBLOCK: opening a FIFO with no writer must not wait for one */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot open: %s", strerror(errno));
        return ret;
    }
    if (fstat(fd, &st) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot stat: %s", strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        tp_err_set("%s, not a regular file: refused", file_type_name(st.st_mode));
        ret = TP_ERR(EINVAL);
        goto fail;
    }
    /* a regular file: back to ordinary blocking reads */
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        ret = TP_ERR(errno);
        goto fail;
    }
    if (size_out)
        *size_out = (int64_t)st.st_size;
    return fd;
fail:
    close(fd);
    return ret;
}

int file_read(const char *path, uint64_t max_bytes, struct tp_buf *out)
{
    int64_t size = 0;
    int fd = file_open_regular(path, &size);
    int ret = 0;
    if (fd < 0)
        return fd;
    if ((uint64_t)size > max_bytes) {
        tp_err_set("file is %lld bytes, over the %llu-byte limit", (long long)size,
                   (unsigned long long)max_bytes);
        ret = TP_ERR_LIMIT;
        goto end;
    }
    out->len = 0;
    if ((ret = buf_reserve(out, (size_t)size + 1)) < 0)
        goto end;
    for (;;) {
        if (out->len == out->cap && (ret = buf_reserve(out, out->cap * 2)) < 0)
            goto end;
        ssize_t n = read(fd, out->data + out->len, out->cap - out->len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = TP_ERR(errno);
            goto end;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        if (out->len > max_bytes) {
            ret = TP_ERR_LIMIT;
            goto end;
        }
    }
    ret = 0;
end:
    close(fd);
    return ret;
}

unsigned file_umask(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_umask);
    return cached_umask;
}

int file_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return TP_ERR(errno);
    int ret = fsync(fd) < 0 && errno != EINVAL ? TP_ERR(errno) : 0;
    close(fd);
    return ret;
}

int file_write_atomic(const char *path, const void *data, size_t len)
{
    char tmp[4096], dirbuf[4096];
    int ret, fd;
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path) >= (int)sizeof(tmp))
        return TP_ERR(ENAMETOOLONG);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot create a temp file next to %s: %s", path, strerror(errno));
        return ret;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            ret = TP_ERR(errno);
            tp_err_set("write failed: %s", strerror(errno));
            goto fail;
        }
        p += n;
        left -= (size_t)n;
    }
    /* as open(O_CREAT, 0666) would make it: the umask decides who reads it */
    if (fchmod(fd, 0666 & ~file_umask()) < 0 || fsync(fd) < 0) {
        ret = TP_ERR(errno);
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = TP_ERR(errno);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot rename into place: %s", strerror(errno));
        goto fail;
    }
    snprintf(dirbuf, sizeof(dirbuf), "%s", path);
    file_sync_dir(dirname(dirbuf));
    return 0;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ret;
}

int file_mkdirs(const char *path, unsigned mode)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n >= sizeof(buf))
        return TP_ERR(ENAMETOOLONG);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return TP_ERR(errno);
            buf[i] = c;
        }
    }
    return 0;
}

static int private_tmp_fd = -1;
static char private_tmp_dir[4096];

void file_private_tmp_set(int dirfd, const char *dir)
{
    private_tmp_fd = dirfd;
    snprintf(private_tmp_dir, sizeof(private_tmp_dir), "%s", dir ? dir : "");
}

int file_unlink_tmp(const char *path)
{
    size_t n = strlen(private_tmp_dir);
    if (private_tmp_fd >= 0 && n && !strncmp(path, private_tmp_dir, n) && path[n] == '/' &&
        !strchr(path + n + 1, '/'))
        return unlinkat(private_tmp_fd, path + n + 1, 0) < 0 ? TP_ERR(errno) : 0;
    return unlink(path) < 0 ? TP_ERR(errno) : 0;
}

int file_write_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return TP_ERR(n < 0 ? errno : EIO);
        off += (size_t)n;
    }
    return 0;
}
