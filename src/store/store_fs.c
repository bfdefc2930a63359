/* The local-filesystem blob store: dir/ab/cd/<sha256>, written through a
 * temp file in dir/tmp/, fsync, a no-replace rename into place, and an
 * fsync of the directories that changed.  Blobs are read-only and private
 * (0400), directories 0700: originals carry GPS and faces. */
#include <dirent.h>
#include <signal.h>
#include <fcntl.h>
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

static int fs_exists(struct store *s, const char *hash, uint64_t *bytes_out)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096];
    struct stat st;
    blob_path(fs, hash, path, sizeof(path));
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        int ret = TP_ERR(errno);
        tp_err_set("%s: %s", path, strerror(errno));
        return ret;
    }
    if (bytes_out)
        *bytes_out = (uint64_t)st.st_size;
    return 1;
}

static int fs_put(struct store *s, const char *hash, const uint8_t *data, size_t len)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096], tmp[4096], d1[4096], d2[4096];
    uint64_t have = 0;
    int fd = -1, ret, made1, made2;

    blob_path(fs, hash, path, sizeof(path));
    ret = fs_exists(s, hash, &have);
    if (ret < 0)
        return ret;
    /* present: refresh its mtime so gc's grace keeps it until the caller's
     * catalog commit; ENOENT means gc took it meanwhile: write it again */
    if (ret == 1 && utimensat(AT_FDCWD, path, NULL, 0) == 0)
        goto already;
    if (ret == 1 && errno != ENOENT) {
        ret = TP_ERR(errno);
        tp_err_set("cannot refresh blob %s: %s", hash, strerror(errno));
        return ret;
    }
    snprintf(d1, sizeof(d1), "%s/%.2s", fs->root, hash);
    snprintf(d2, sizeof(d2), "%s/%.2s/%.2s", fs->root, hash, hash + 2);
    if ((made1 = mkdir_once(d1)) < 0)
        return made1;
    if ((made2 = mkdir_once(d2)) < 0)
        return made2;
    snprintf(tmp, sizeof(tmp), "%s/tmp/%s.XXXXXX", fs->root, hash);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot create a temp file in %s/tmp: %s", fs->root, strerror(errno));
        return ret;
    }
    if ((ret = write_all(fd, data, len)) < 0 || (fchmod(fd, 0400) < 0 && (ret = TP_ERR(errno))) ||
        (fsync(fd) < 0 && (ret = TP_ERR(errno)))) {
        tp_err_set("writing blob %s: %s", hash, strerror(-ret));
        goto fail;
    }
    if (close(fd) < 0) {
        fd = -1;
        ret = TP_ERR(errno);
        goto fail;
    }
    fd = -1;
    ret = place_noreplace(tmp, path);
    if (ret == TP_ERR(EEXIST)) { /* a concurrent writer won the race */
        unlink(tmp);
        if ((ret = fs_exists(s, hash, &have)) < 0)
            return ret;
        goto already;
    }
    if (ret < 0) {
        tp_err_set("cannot move blob %s into place: %s", hash, strerror(-ret));
        goto fail;
    }
    /* make the new name durable, and the fan-out directories if new */
    if ((ret = file_sync_dir(d2)) < 0 || (made2 && (ret = file_sync_dir(d1)) < 0) ||
        (made1 && (ret = file_sync_dir(fs->root)) < 0)) {
        tp_err_set("fsync of the blob directory failed: %s", strerror(-ret));
        return ret;
    }
    return 0;
already:
    if (have != (uint64_t)len) {
        tp_err_set("blob %s exists with %llu bytes, not %zu: the store is corrupt "
                   "(run store verification)", hash, (unsigned long long)have, len);
        return TP_ERR_CONFLICT;
    }
    return 1;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return ret;
}

static int fs_get(struct store *s, const char *hash, struct tp_buf *out)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096];
    struct stat st;
    blob_path(fs, hash, path, sizeof(path));
    if (stat(path, &st) < 0 && errno == ENOENT) {
        tp_err_set("blob %s is not in the store", hash);
        return TP_ERR_NOTFOUND;
    }
    return file_read(path, UINT64_MAX, out);
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

/* gc's delete: the blob is renamed aside first, then its mtime is read
 * from the moved file.  A put() that refreshed it before the rename left a
 * new mtime (kept: moved back); one after the rename finds no file and
 * writes a fresh copy. */
static int fs_remove_older(struct store *s, const char *hash, int64_t cutoff)
{
    struct store_fs *fs = (struct store_fs *)s;
    char path[4096], aside[4096], dir[4096];
    struct stat st;
    int ret;
    blob_path(fs, hash, path, sizeof(path));
    snprintf(aside, sizeof(aside), "%s/tmp/%s.gc.%ld", fs->root, hash, (long)getpid());
    if (renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) < 0 &&
        rename(path, aside) < 0) {
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

static void fs_close(struct store *s)
{
    struct store_fs *fs = (struct store_fs *)s;
    tp_free(fs->root);
    tp_free(fs);
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

static const struct store_ops store_fs_ops = {
    .name = "fs",
    .put = fs_put,
    .get = fs_get,
    .exists = fs_exists,
    .remove = fs_remove,
    .iterate = fs_iterate,
    .remove_older = fs_remove_older,
    .close = fs_close,
};

int store_fs_open(struct store **s_out, const char *dir)
{
    struct store_fs *fs;
    char tmpdir[4096];
    int ret;
    *s_out = NULL;
    RETURN_ERR_IF(strlen(dir) > 3900, TP_ERR(ENAMETOOLONG), "store path too long");
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", dir);
    if ((ret = file_mkdirs(tmpdir, 0700)) < 0) {
        tp_err_set("cannot create the blob store in %s: %s", dir, strerror(-ret));
        return ret;
    }
    if (!(fs = tp_calloc(1, sizeof(*fs))))
        return TP_ERR(ENOMEM);
    if (!(fs->root = tp_strdup(dir))) {
        tp_free(fs);
        return TP_ERR(ENOMEM);
    }
    clean_stale_tmp(fs, tmpdir);
    fs->base.ops = &store_fs_ops;
    *s_out = &fs->base;
    return 0;
}
