/* Opening a tierpress home: the catalog and the blob store side by side.
 * Only HOME_CREATE makes a home; it is private to its owner. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "mem.h"
#include "store.h"

#define MISSING_HINT "`tierpress ingest` creates one"

/* Makes dir (0700) and an empty catalog file (0600) when they are missing;
 * SQLite gives its -wal and -shm files the catalog's mode. */
static int create_private(const char *dir, const char *catalog)
{
    int ret, fd;
    if ((ret = file_mkdirs(dir, 0700)) < 0) {
        tp_err_set("cannot create the home directory: %s", strerror(-ret));
        return ret;
    }
    fd = open(catalog, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) {
        ret = TP_ERR(errno);
        tp_err_set("cannot create %s: %s", catalog, strerror(errno));
        return ret;
    }
    if (fd >= 0)
        close(fd);
    return 0;
}

int home_reserve_release(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/reserve", dir);
    if (unlink(path) == 0)
        return 1;
    return errno == ENOENT ? 0 : TP_ERR(errno);
}

int home_reserve_make(const char *dir)
{
    char path[4096], tmp[4200];
    int fd, ret;
    snprintf(path, sizeof(path), "%s/reserve", dir);
    if (access(path, F_OK) == 0)
        return 0;
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return TP_ERR(errno);
    /* allocated blocks, not a sparse or compressible file of zeros */
    ret = posix_fallocate(fd, 0, HOME_RESERVE_BYTES);
    if (ret == 0 && fsync(fd) < 0)
        ret = errno;
    close(fd);
    if (ret == 0 && rename(tmp, path) < 0)
        ret = errno;
    if (ret) {
        unlink(tmp);
        tp_err_set("cannot make the disk reserve %s: %s", path, strerror(ret));
        return TP_ERR(ret);
    }
    return 0;
}

int home_open_mode(struct home *h, const char *dir, enum home_mode mode)
{
    char path[4096];
    struct stat st;
    int ret;
    memset(h, 0, sizeof(*h));
    RETURN_ERR_IF(strlen(dir) > 3000, TP_ERR(ENAMETOOLONG), "home path too long");
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || stat(path, &st) < 0) {
        if (mode != HOME_CREATE) {
            tp_err_set("no tierpress home here (%s)", MISSING_HINT);
            return TP_ERR_NOTFOUND;
        }
        if ((ret = create_private(dir, path)) < 0)
            return ret;
        if (home_reserve_make(dir) < 0) /* a full disk: the home still works */
            tp_err_clear();
    }
    if (!(h->dir = tp_strdup(dir)))
        return TP_ERR(ENOMEM);
    h->readonly = mode == HOME_READONLY;
    snprintf(path, sizeof(path), "%s/blobs", dir);
    if ((ret = store_fs_open(&h->store, path)) < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    if (h->readonly)
        ret = catalog_sqlite_open_readonly(&h->cat, path);
    else
        ret = catalog_sqlite_open(&h->cat, path);
    if (ret < 0)
        goto fail;
    return 0;
fail:
    home_close(h);
    return ret;
}

int home_open(struct home *h, const char *dir)
{
    return home_open_mode(h, dir, HOME_OPEN);
}

void home_close(struct home *h)
{
    catalog_close(&h->cat);
    store_close(&h->store);
    tp_freep(&h->dir);
}
