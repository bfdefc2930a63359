#ifndef TP_SRC_ASSET_JSON_H
#define TP_SRC_ASSET_JSON_H

#include <stdint.h>

#include <jansson.h>

struct catalog;
struct catalog_asset;

/* The one JSON shape of an asset, shared by `ls --json` and the HTTP
 * service: id, sha256, kind, format, width, height, bytes, orientation,
 * capture_time, upload_time, camera_make, camera_model, gps, duration
 * (videos only), tier, storage_class, current_blob, original_blob,
 * last_access, count_30d/90d/365d, access_total, owner, file_name, external_id,
 * deleted_at (in the trash since), components (the inventory, null when
 * none), pair (a Live Photo's other half) and content_id (its identifier)
 * when there is one, and renditions[] (name,
 * format, width, height, bytes, blob, ssim when measured).  Empty text
 * fields are null.  Reads the access statistics and renditions from cat.
 * Caller owns the result; free with json_decref().  NULL on failure with
 * *err set to a TP_ERR code. */
json_t *asset_json(struct catalog *cat, const struct catalog_asset *a, int *err);

/* The one JSON shape of a rendition (a proxy or the cold representation),
 * in an asset's renditions[] and in `ingest --json`'s proxies[]: name,
 * format, width, height, bytes, blob, and ssim when measured (ssim >= 0).
 * Caller owns the result; free with json_decref().  NULL on allocation
 * failure. */
json_t *asset_rendition_json(const char *name, const char *format, int width, int height,
                             uint64_t bytes, const char *blob, double ssim);

#endif /* TP_SRC_ASSET_JSON_H */
