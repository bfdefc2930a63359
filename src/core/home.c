/* Opening a tierpress home: the catalog and the blob store its
 * configuration names, each through its backend table.  Only HOME_CREATE
 * makes a home; it is private to its owner. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "mem.h"
#include "store.h"

#define MISSING_HINT "`tierpress ingest` creates one"

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

int home_open_mode(struct home *h, const struct config *cfg, enum home_mode mode)
{
    static const unsigned cat_flags[] = {
        [HOME_OPEN] = 0, [HOME_CREATE] = CATALOG_OPEN_CREATE, [HOME_READONLY] = CATALOG_OPEN_READONLY,
    };
    struct stat st;
    int ret;
    memset(h, 0, sizeof(*h));
    /* a configuration that names no backend is the first thing to say */
    FORWARD_ERR(catalog_uri_supported(cfg->catalog));
    FORWARD_ERR(store_uri_supported(cfg->store));
    /* a missing directory is made only by HOME_CREATE; otherwise the
     * catalog decides (a sqlite:// one is then absent: "no home here") */
    if ((stat(cfg->home, &st) < 0 || !S_ISDIR(st.st_mode)) && mode == HOME_CREATE) {
        if ((ret = file_mkdirs(cfg->home, 0700)) < 0) {
            tp_err_set("cannot create the home directory %s: %s", cfg->home, strerror(-ret));
            return ret;
        }
        if (home_reserve_make(cfg->home) < 0) /* a full disk: the home still works */
            tp_err_clear();
    }
    h->cfg = cfg;
    h->readonly = mode == HOME_READONLY;
    if (!(h->dir = tp_strdup(cfg->home)))
        return TP_ERR(ENOMEM);
    /* the catalog first: a directory that is no home gets no blob store */
    ret = catalog_open(&h->cat, cfg->catalog, cat_flags[mode]);
    if (ret == TP_ERR_NOTFOUND && mode != HOME_CREATE) {
        char why[512];
        snprintf(why, sizeof(why), "%s", tp_err_detail());
        tp_err_set("no tierpress home here (%s): %s", MISSING_HINT, why);
        goto fail;
    }
    if (ret < 0 || (ret = store_open(&h->store, cfg->store, cfg)) < 0)
        goto fail;
    return 0;
fail:
    home_close(h);
    return ret;
}

int home_open(struct home *h, const struct config *cfg)
{
    return home_open_mode(h, cfg, HOME_OPEN);
}

void home_close(struct home *h)
{
    catalog_close(&h->cat);
    store_close(&h->store);
    tp_freep(&h->dir);
    h->cfg = NULL;
}
