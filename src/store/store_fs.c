/* The local-filesystem blob store (file:// URIs): dir/ab/cd/<sha256>,
 * written through a temp file in dir/tmp/, fsync, a no-replace rename into
 * place (after store.c has checked the hash), and an fsync of the
 * directories that changed.  Blobs are read-only and private (0400),
 * directories 0700: originals carry GPS and faces.  Storage classes are
 * labels kept by the catalog: set_class is a no-op here. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "log.h"
#include "store.h"

#define STALE_TMP_SECONDS 3600 /* temp files older than this are a crash's leftovers */

struct store_fs {
    struct store base; /* must be first */
    char *root;
};

static void blob_path(const struct store_fs *fs, const char *hash, char *out, size_t n)
{
    snprintf(out, n, "%s/%.2s/%.2s/%s", fs->root, hash, hash + 2, hash);
}

/* mkdir that reports whether it created the directory (1) or found it (0). */
static int mkdir_once(const char *path)
{
    if (mkdir(path, 0700) == 0)
        return 1;
    if (errno == EEXIST)
        return 0;
    int ret = TP_ERR(errno);
    tp_err_set("cannot create directory %s: %s", path, strerror(errno));
    return ret;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TP_ERR(errno);
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Test hook: TP_CRASH_AT=<point> kills the process (as kill -9 would). */
static void crash_point(const char *name)
{
    const char *at = getenv("TP_CRASH_AT");
    if (at && !strcmp(at, name))
        raise(SIGKILL);
}

/* Moves tmp to dst unless dst exists: 0 moved, TP_ERR(EEXIST) if present. */
static int place_noreplace(const char *tmp, const char *dst)
{
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return TP_ERR(EEXIST);
    if (errno != EINVAL && errno != ENOSYS)
        return TP_ERR(errno);
    /* filesystem without RENAME_NOREPLACE: link() fails on an existing name */
    if (link(tmp, dst) < 0)
        return TP_ERR(errno);
    unlink(tmp);
    return 0;
}

static int fs_stat(struct store *s, const char *hash, struct store_stat *out)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096];
    struct stat st;
    blob_path(fs, hash, path, sizeof(path));
    if (stat(path, &st) < 0) {
        int ret = TP_ERR(errno);
        if (errno == ENOENT) {
            tp_err_set("blob %s is not in the store", hash);
            return TP_ERR_NOTFOUND;
        }
        tp_err_set("%s: %s", path, strerror(errno));
        return ret;
    }
    out->bytes = (uint64_t)st.st_size;
    out->mtime = (int64_t)st.st_mtime;
    snprintf(out->storage_class, sizeof(out->storage_class), "STANDARD");
    return 0;
}

/* Classes are labels in the catalog on a local disk. */
static int fs_set_class(struct store *s, const char *hash, const char *storage_class)
{
    struct store_stat st;
    (void)storage_class;
    return fs_stat(s, hash, &st);
}

/* ---- reading ------------------------------------------------------------ */

struct fs_reader {
    struct store_reader base; /* must be first */
    int fd;
    uint64_t pos, left;
    char hash[SHA256_HEX_LEN + 1];
};

static int fs_read(struct store_reader *r, uint8_t *buf, size_t n)
{
    struct fs_reader *fr = (struct fs_reader *)r;
    if (n > fr->left)
        n = (size_t)fr->left;
    if (!n)
        return 0;
    for (;;) {
        ssize_t got = pread(fr->fd, buf, n, (off_t)fr->pos);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int ret = TP_ERR(errno);
            tp_err_set("reading blob %s: %s", fr->hash, strerror(errno));
            return ret;
        }
        RETURN_ERR_IF(!got, TP_ERR_INVALIDDATA, "blob %s shrank while it was read", fr->hash);
        fr->pos += (uint64_t)got;
        fr->left -= (uint64_t)got;
        return (int)got;
    }
}

static void fs_reader_close(struct store_reader *r)
{
    struct fs_reader *fr = (struct fs_reader *)r;
    close(fr->fd);
    tp_free(fr);
}

static const struct store_reader_ops fs_reader_ops = { fs_read, fs_reader_close };

static int fs_open_read(struct store *s, const char *hash, uint64_t offset, uint64_t length,
                        struct store_reader **r_out)
{
    struct store_fs *fs = (struct store_fs *)s;
    struct fs_reader *fr;
    char path[4096];
    struct stat st;
    int fd, ret;
    blob_path(fs, hash, path, sizeof(path));
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        ret = TP_ERR(errno);
        if (errno == ENOENT) {
            tp_err_set("blob %s is not in the store", hash);
            return TP_ERR_NOTFOUND;
        }
        tp_err_set("%s: %s", path, strerror(errno));
        return ret;
    }
    if (fstat(fd, &st) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("%s: %s", path, strerror(errno));
        close(fd);
        return ret;
    }
    if (offset > (uint64_t)st.st_size) {
        tp_err_set("blob %s: offset %llu is past its end (%llu bytes)", hash,
                   (unsigned long long)offset, (unsigned long long)st.st_size);
        close(fd);
        return TP_ERR(EINVAL);
    }
    if (!(fr = tp_calloc(1, sizeof(*fr)))) {
        close(fd);
        return TP_ERR(ENOMEM);
    }
    fr->base.ops = &fs_reader_ops;
    fr->base.object_bytes = (uint64_t)st.st_size;
    fr->base.length = (uint64_t)st.st_size - offset;
    if (length < fr->base.length)
        fr->base.length = length;
    fr->fd = fd;
    fr->pos = offset;
    fr->left = fr->base.length;
    memcpy(fr->hash, hash, sizeof(fr->hash));
    *r_out = &fr->base;
    return 0;
}

/* ---- writing ------------------------------------------------------------ */

struct fs_writer {
    struct store_writer base; /* must be first */
    struct store_fs *fs;
    int fd;
    char tmp[4096];
};

static int fs_write(struct store_writer *w, const uint8_t *data, size_t n)
{
    struct fs_writer *fw = (struct fs_writer *)w;
    int ret = write_all(fw->fd, data, n);
    if (ret < 0)
        tp_err_set("writing %s: %s", fw->tmp, strerror(-ret));
    return ret;
}

static void fs_abort(struct store_writer *w)
{
    struct fs_writer *fw = (struct fs_writer *)w;
    if (fw->fd >= 0)
        close(fw->fd);
    fw->fd = -1;
    if (fw->tmp[0])
        unlink(fw->tmp);
    fw->tmp[0] = '\0';
}

static void fs_writer_free(struct store_writer *w)
{
    struct fs_writer *fw = (struct fs_writer *)w;
    if (fw->fd >= 0)
        close(fw->fd);
    tp_free(fw);
}

/* The temp file becomes dir/ab/cd/<hash>: read-only, fsync, no-replace
 * rename, fsync of the directories that changed. */
static int fs_finish(struct store_writer *w, const char *hash)
{
    struct fs_writer *fw = (struct fs_writer *)w;
    struct store_fs *fs = fw->fs;
    char path[4096], d1[4096], d2[4096];
    int ret, made1, made2;

    if (fchmod(fw->fd, 0400) < 0 || fsync(fw->fd) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("writing blob %s: %s", hash, strerror(errno));
        goto fail;
    }
    ret = close(fw->fd);
    fw->fd = -1;
    if (ret < 0) {
        ret = TP_ERR(errno);
        tp_err_set("writing blob %s: %s", hash, strerror(errno));
        goto fail;
    }
    snprintf(d1, sizeof(d1), "%s/%.2s", fs->root, hash);
    snprintf(d2, sizeof(d2), "%s/%.2s/%.2s", fs->root, hash, hash + 2);
    if ((ret = made1 = mkdir_once(d1)) < 0 || (ret = made2 = mkdir_once(d2)) < 0)
        goto fail;
    crash_point("store_fs_before_rename");
    blob_path(fs, hash, path, sizeof(path));
    ret = place_noreplace(fw->tmp, path);
    if (ret == TP_ERR(EEXIST)) { /* there already, or a concurrent writer won the race */
        fs_abort(w);
        /* refresh it, so that gc's grace covers the caller's coming commit */
        if (utimensat(AT_FDCWD, path, NULL, 0) < 0 && errno != ENOENT) {
            ret = TP_ERR(errno);
            tp_err_set("cannot refresh blob %s: %s", hash, strerror(errno));
            return ret;
        }
        return 1;
    }
    if (ret < 0) {
        tp_err_set("cannot move blob %s into place: %s", hash, strerror(-ret));
        goto fail;
    }
    fw->tmp[0] = '\0';
    /* make the new name durable, and the fan-out directories if new */
    if ((ret = file_sync_dir(d2)) < 0 || (made2 && (ret = file_sync_dir(d1)) < 0) ||
        (made1 && (ret = file_sync_dir(fs->root)) < 0)) {
        tp_err_set("fsync of the blob directory failed: %s", strerror(-ret));
        return ret;
    }
    return 0;
fail:
    fs_abort(w);
    return ret;
}

static const struct store_writer_ops fs_writer_ops = { fs_write, fs_finish, fs_abort,
                                                       fs_writer_free };

static int fs_open_write(struct store *s, const char *hash, const char *storage_class,
                         struct store_writer **w_out)
{
    struct store_fs *fs = (struct store_fs *)s;
    struct fs_writer *fw;
    int ret;
    (void)storage_class;
    if (!(fw = tp_calloc(1, sizeof(*fw))))
        return TP_ERR(ENOMEM);
    fw->base.ops = &fs_writer_ops;
    fw->fs = fs;
    snprintf(fw->tmp, sizeof(fw->tmp), "%s/tmp/%s.XXXXXX", fs->root, hash ? hash : "new");
    if ((fw->fd = mkostemp(fw->tmp, O_CLOEXEC)) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot create a temp file in %s/tmp: %s", fs->root, strerror(errno));
        tp_free(fw);
        return ret;
    }
    *w_out = &fw->base;
    return 0;
}

static int fs_remove(struct store *s, const char *hash)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096], dir[4096];
    blob_path(fs, hash, path, sizeof(path));
    if (unlink(path) < 0) {
        if (errno == ENOENT) {
            tp_err_set("blob %s is not in the store", hash);
            return TP_ERR_NOTFOUND;
        }
        int ret = TP_ERR(errno);
        tp_err_set("cannot remove blob %s: %s", hash, strerror(errno));
        return ret;
    }
    snprintf(dir, sizeof(dir), "%s/%.2s/%.2s", fs->root, hash, hash + 2);
    return file_sync_dir(dir);
}

static int is_hex2(const char *n)
{
    return strlen(n) == 2 && strspn(n, "0123456789abcdef") == 2;
}

/* Opens the subdirectory name of d, or NULL. */
static DIR *subdir(DIR *d, const char *name)
{
    int fd = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *r = fd >= 0 ? fdopendir(fd) : NULL;
    if (fd >= 0 && !r)
        close(fd);
    return r;
}

static int fs_iterate(struct store *s, store_iter_fn fn, void *ud)
{
    struct store_fs *fs = (struct store_fs *)s;
    DIR *a, *b, *c;
    struct dirent *ea, *eb, *ec;
    int ret = 0;

    if (!(a = opendir(fs->root))) {
        ret = TP_ERR(errno);
        tp_err_set("%s: %s", fs->root, strerror(errno));
        return ret;
    }
    while (!ret && (ea = readdir(a))) {
        if (!is_hex2(ea->d_name) || !(b = subdir(a, ea->d_name)))
            continue;
        while (!ret && (eb = readdir(b))) {
            if (!is_hex2(eb->d_name) || !(c = subdir(b, eb->d_name)))
                continue;
            while (!ret && (ec = readdir(c))) {
                struct stat st;
                if (sha256_hex_valid(ec->d_name) &&
                    fstatat(dirfd(c), ec->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISREG(st.st_mode)) {
                    struct store_entry e = { ec->d_name, (uint64_t)st.st_size,
                                             (int64_t)st.st_mtime };
                    ret = fn(ud, &e);
                }
            }
            closedir(c);
        }
        closedir(b);
    }
    closedir(a);
    return ret;
}

/* Refreshes an existing blob's mtime: 0, or TP_ERR_NOTFOUND when gc took
 * it meanwhile (the caller then writes it again). */
static int fs_touch(struct store *s, const char *hash)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096];
    int ret;
    blob_path(fs, hash, path, sizeof(path));
    if (utimensat(AT_FDCWD, path, NULL, 0) == 0)
        return 0;
    if (errno == ENOENT)
        return TP_ERR_NOTFOUND;
    ret = TP_ERR(errno);
    tp_err_set("cannot refresh blob %s: %s", hash, strerror(errno));
    return ret;
}

/* gc's delete: the blob is renamed aside first, then its mtime is read
 * from the moved file.  A writer that refreshed it before the rename left
 * a new mtime (kept: moved back); one after the rename finds no file and
 * writes a fresh copy. */
static int fs_remove_older(struct store *s, const char *hash, int64_t cutoff)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096], aside[4200], dir[4096];
    struct stat st;
    int ret;
    blob_path(fs, hash, path, sizeof(path));
    snprintf(aside, sizeof(aside), "%s/tmp/%s.gc.%ld", fs->root, hash, (long)getpid());
    if (rename(path, aside) < 0) {
        if (errno == ENOENT) {
            tp_err_set("blob %s is not in the store", hash);
            return TP_ERR_NOTFOUND;
        }
        ret = TP_ERR(errno);
        tp_err_set("cannot remove blob %s: %s", hash, strerror(errno));
        return ret;
    }
    if (stat(aside, &st) == 0 && (int64_t)st.st_mtime > cutoff) {
        ret = place_noreplace(aside, path);
        if (ret == TP_ERR(EEXIST)) /* a writer stored it again meanwhile */
            ret = unlink(aside) < 0 ? TP_ERR(errno) : 0;
        if (ret < 0) {
            tp_err_set("cannot put blob %s back from %s: %s", hash, aside, strerror(-ret));
            return ret;
        }
        return 1;
    }
    if (unlink(aside) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot remove blob %s: %s", hash, strerror(errno));
        return ret;
    }
    snprintf(dir, sizeof(dir), "%s/%.2s/%.2s", fs->root, hash, hash + 2);
    return file_sync_dir(dir);
}

/* A blob that a gc killed between its rename aside and its delete left in
 * tmp/ ("<hash>.gc.<pid>", pid no longer running) goes back into place:
 * it may have been refreshed and referenced meanwhile.  1 when name was
 * such a file (handled), else 0. */
static int restore_aside(struct store_fs *fs, const char *tmpdir, const char *name)
{
    char hash[SHA256_HEX_LEN + 1], from[8400], to[4096];
    long pid;
    int n = 0;
    if (strlen(name) <= SHA256_HEX_LEN + 4 || strncmp(name + SHA256_HEX_LEN, ".gc.", 4))
        return 0;
    snprintf(hash, sizeof(hash), "%.*s", SHA256_HEX_LEN, name);
    if (!sha256_hex_valid(hash) || sscanf(name + SHA256_HEX_LEN + 4, "%ld%n", &pid, &n) != 1 ||
        name[SHA256_HEX_LEN + 4 + n] || pid <= 0)
        return 0;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        return 1; /* its gc is still running */
    snprintf(from, sizeof(from), "%s/%s", tmpdir, name);
    blob_path(fs, hash, to, sizeof(to));
    if (place_noreplace(from, to) == TP_ERR(EEXIST))
        unlink(from);
    tp_log(TP_LOG_INFO, "blob %s put back from %s (an interrupted gc)", hash, from);
    return 1;
}

static void fs_close(struct store *s)
{
    struct store_fs *fs = (struct store_fs *)s;
    tp_free(fs->root);
    tp_free(fs);
}

/* Removes temp files a crashed writer left behind (old enough that no live
 * writer can still own them). */
static void clean_stale_tmp(struct store_fs *fs, const char *tmpdir)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    time_t now = time(NULL);
    if (!d)
        return;
    while ((e = readdir(d))) {
        struct stat st;
        if (e->d_name[0] == '.' || restore_aside(fs, tmpdir, e->d_name))
            continue;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            now - st.st_mtime > STALE_TMP_SECONDS) {
            tp_log(TP_LOG_INFO, "removing stale temp file %s/%s", tmpdir, e->d_name);
            unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
}

static int fs_pending(struct store *s, int64_t *n_out)
{
    struct store_fs *fs = (struct store_fs *)s;
    char tmpdir[4096];
    struct dirent *e;
    DIR *d;
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", fs->root);
    if (!(d = opendir(tmpdir)))
        return 0;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            (*n_out)++;
    closedir(d);
    return 0;
}

static const struct store_ops store_fs_ops = {
    .name = "fs",
    .open_read = fs_open_read,
    .open_write = fs_open_write,
    .stat = fs_stat,
    .set_class = fs_set_class,
    .remove = fs_remove,
    .iterate = fs_iterate,
    .pending = fs_pending,
    .touch = fs_touch,
    .remove_older = fs_remove_older,
    .close = fs_close,
};

int store_fs_open_flags(struct store **s_out, const char *dir, unsigned flags)
{
    struct store_fs *fs;
    char tmpdir[4096];
    int ret;
    *s_out = NULL;
    RETURN_ERR_IF(strlen(dir) > 3900, TP_ERR(ENAMETOOLONG), "store path too long");
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dir);
    if (!(flags & STORE_OPEN_READONLY) && (ret = file_mkdirs(tmpdir, 0700)) < 0) {
        tp_err_set("cannot create the blob store in %s: %s", dir, strerror(-ret));
        return ret;
    }
    if (!(fs = tp_calloc(1, sizeof(*fs))))
        return TP_ERR(ENOMEM);
    if (!(fs->root = tp_strdup(dir))) {
        tp_free(fs);
        return TP_ERR(ENOMEM);
    }
    if (!(flags & STORE_OPEN_READONLY))
        clean_stale_tmp(fs, tmpdir);
    fs->base.ops = &store_fs_ops;
    *s_out = &fs->base;
    return 0;
}

int store_fs_open(struct store **s_out, const char *dir)
{
    return store_fs_open_flags(s_out, dir, 0);
}
