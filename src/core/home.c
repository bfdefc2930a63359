/* Opening a tierpress home: the catalog and the blob store side by side.
 * Only HOME_CREATE makes a home; it is private to its owner. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
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
