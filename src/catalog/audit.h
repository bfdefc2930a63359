#ifndef TP_SRC_CATALOG_AUDIT_H
#define TP_SRC_CATALOG_AUDIT_H

#include <stdint.h>

#include "catalog.h"

/* The audit trail's detail objects, one builder per action, shared by the
 * backends (the shapes are specified once; docs/json.md).  Each returns
 * compact JSON text to free(), or NULL on out of memory. */
char *audit_blob(const char *hash);                      /* blob.remove, asset.release_original */
char *audit_blob_add(const char *hash, uint64_t bytes);  /* blob.add */
char *audit_asset_insert(const struct catalog_asset *a); /* asset.insert */
/* rendition.add, or rendition.replace when replaced names the old blob */
char *audit_rendition(const struct catalog_rendition *r, const char *replaced);
char *audit_swap(const char *from, const char *to, const char *tier, const char *storage_class);
char *audit_tier(const char *tier, const char *storage_class); /* asset.tier */
char *audit_now(int64_t now);                            /* access.refresh */

#endif
