#ifndef TP_SRC_RESCAN_H
#define TP_SRC_RESCAN_H

/* `tierpress components rescan`: the component inventory (components.h)
 * of assets catalogued before inventories existed.  Each image asset
 * without one (or every image asset, with all) has its original read as
 * `get` serves it (the uploaded bytes, or the JPEG rebuilt from its JPEG
 * XL recompression; sha256 checked), probed as ingest probes, and its
 * inventory stored (catalog_components_put) with an audit row
 * "components.rescan".  When the original is gone (replaced by a lossy
 * representation and released after its grace), the current
 * representation is what is probed: its inventory says what the asset
 * carries now (source "current").  An asset that cannot be read is
 * reported and skipped; the others are still done. */

#include <stdint.h>

struct home;

struct rescan_item {
    int64_t asset_id;
    int64_t index, total;     /* 1-based position among the assets to scan */
    const char *source;       /* "uploaded", "reconstructed", "current"; NULL on error */
    unsigned kinds;           /* the inventory's kinds (1 << enum comp_kind) */
    int nparts;
    const char *error;        /* borrowed: why the asset was skipped, else NULL */
};

typedef void (*rescan_item_fn)(void *ud, const struct rescan_item *it);

struct rescan_opts {
    int all;                  /* 0: assets without an inventory (default); 1: every image */
    int64_t limit;            /* at most this many assets (0: no limit; default 0) */
    rescan_item_fn on_item;   /* called after each asset, or NULL */
    void *ud;
};

struct rescan_result {
    int64_t scanned;          /* assets read and probed */
    int64_t filled;           /* inventories stored */
    int64_t with_parts;       /* of them, with at least one part */
    int64_t failed;           /* unreadable: reported, skipped */
    int64_t total;            /* assets that wanted a scan */
};

void rescan_defaults(struct rescan_opts *o);

/* Rescans as described above.  Returns 0 (r filled; r->failed counts the
 * assets skipped) or a negative error that stopped the walk (the catalog
 * failed). */
int rescan_components(struct home *h, const struct rescan_opts *o, struct rescan_result *r);

#endif /* TP_SRC_RESCAN_H */
