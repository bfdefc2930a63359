/* Opening a tierpress home: the catalog and the blob store side by side. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "mem.h"
#include "store.h"

int home_open(struct home *h, const char *dir)
{
    char path[4096];
    int ret;
    memset(h, 0, sizeof(*h));
    RETURN_ERR_IF(strlen(dir) > 3000, TP_ERR(ENAMETOOLONG), "home path too long");
    if ((ret = file_mkdirs(dir, 0755)) < 0) {
        tp_err_set("cannot create the home directory %s: %s", dir, strerror(-ret));
        return ret;
    }
    if (!(h->dir = tp_strdup(dir)))
        return TP_ERR(ENOMEM);
    snprintf(path, sizeof(path), "%s/blobs", dir);
    if ((ret = store_fs_open(&h->store, path)) < 0)
        goto fail;
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    if ((ret = catalog_sqlite_open(&h->cat, path)) < 0)
        goto fail;
    return 0;
fail:
    home_close(h);
    return ret;
}

void home_close(struct home *h)
{
    catalog_close(&h->cat);
    store_close(&h->store);
    tp_freep(&h->dir);
}
