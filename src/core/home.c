/* Opening a tierpress home: the catalog and the blob store its
 * configuration names, each through its backend table. */
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "mem.h"
#include "store.h"

int home_open(struct home *h, const struct config *cfg)
{
    int ret;
    memset(h, 0, sizeof(*h));
    if ((ret = file_mkdirs(cfg->home, 0755)) < 0) {
        tp_err_set("cannot create the home directory %s: %s", cfg->home, strerror(-ret));
        return ret;
    }
    h->cfg = cfg;
    if (!(h->dir = tp_strdup(cfg->home)))
        return TP_ERR(ENOMEM);
    if ((ret = store_open(&h->store, cfg->store, cfg)) < 0)
        goto fail;
    if ((ret = catalog_open(&h->cat, cfg->catalog, CATALOG_OPEN_CREATE)) < 0)
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
    h->cfg = NULL;
}
