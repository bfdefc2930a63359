/* One serializer for an asset (ls --json, the HTTP service). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "asset_json.h"
#include "catalog.h"
#include "err.h"
#include "json.h"

json_t *asset_rendition_json(const char *name, const char *format, int width, int height,
                             uint64_t bytes, const char *blob, double ssim)
{
    json_t *o = json_object();
    int bad = json_set_text(o, "name", name) < 0 || json_set_text(o, "format", format) < 0 ||
              json_set_int(o, "width", width) < 0 || json_set_int(o, "height", height) < 0 ||
              json_set_int(o, "bytes", (long long)bytes) < 0 || json_set_text(o, "blob", blob) < 0;
    if (ssim >= 0)
        bad = bad || json_set_new(o, "ssim", json_real(ssim)) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int add_rendition(void *ud, const struct catalog_rendition *r)
{
    json_t *o = asset_rendition_json(r->name, r->format, r->width, r->height, r->bytes, r->blob,
                                     r->ssim);
    return json_array_append_new(ud, o) ? TP_ERR(ENOMEM) : 0;
}

/* Text from the catalog may hold any bytes (a file name, EXIF strings):
 * json_text keeps the output valid UTF-8; empty is null. */
json_t *asset_json(struct catalog *cat, const struct catalog_asset *a, int *err)
{
    struct catalog_access ac;
    json_t *o = json_object(), *r = json_array();
    int ret = TP_ERR(ENOMEM);

    if (!o || !r)
        goto fail;
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "sha256", json_text(a->sha256));
    json_object_set_new(o, "kind", json_text(a->kind));
    json_object_set_new(o, "format", json_text(a->format));
    json_object_set_new(o, "width", json_integer(a->width));
    json_object_set_new(o, "height", json_integer(a->height));
    json_object_set_new(o, "bytes", json_integer((json_int_t)a->bytes));
    json_object_set_new(o, "orientation", json_integer(a->orientation));
    json_object_set_new(o, "capture_time", json_text(a->capture_time));
    json_object_set_new(o, "upload_time", json_text(a->upload_time));
    json_object_set_new(o, "camera_make", json_text(a->camera_make));
    json_object_set_new(o, "camera_model", json_text(a->camera_model));
    json_object_set_new(o, "gps", json_boolean(a->has_gps));
    if (a->duration > 0)
        json_object_set_new(o, "duration", json_real(a->duration));
    json_object_set_new(o, "tier", json_text(a->tier));
    json_object_set_new(o, "storage_class", json_text(a->storage_class));
    json_object_set_new(o, "current_blob", json_text(a->current_blob));
    json_object_set_new(o, "original_blob", json_text(a->original_blob));
    if ((ret = catalog_access_get(cat, a->id, &ac)) < 0)
        goto fail;
    json_object_set_new(o, "last_access", json_text(ac.last_access));
    json_object_set_new(o, "count_30d", json_integer(ac.count_30d));
    json_object_set_new(o, "count_90d", json_integer(ac.count_90d));
    json_object_set_new(o, "count_365d", json_integer(ac.count_365d));
    json_object_set_new(o, "access_total", json_integer(ac.total));
    json_object_set_new(o, "owner", json_text(a->owner));
    json_object_set_new(o, "file_name", json_text(a->file_name));
    json_object_set_new(o, "external_id", json_text(a->external_id));
    json_object_set_new(o, "deleted_at", json_text(a->deleted_at));
    /* the inventory of parts (components.h), stored as JSON; null when never
     * made; a Live Photo's other half and its content identifier */
    {
        unsigned kinds;
        char *inv = NULL;
        int64_t partner;
        if ((ret = catalog_components_get(cat, a->id, &kinds, &inv)) < 0)
            goto fail;
        json_t *c = ret > 0 && inv ? json_loads(inv, 0, NULL) : NULL;
        free(inv);
        json_object_set_new(o, "components", c ? c : json_null());
        if ((ret = catalog_pair_get(cat, a->id, &partner)) < 0)
            goto fail;
        if (ret > 0)
            json_object_set_new(o, "pair", json_integer(partner));
        char cid[CATALOG_TEXT];
        if ((ret = catalog_content_id_get(cat, a->id, cid, sizeof(cid))) < 0)
            goto fail;
        if (ret > 0)
            json_object_set_new(o, "content_id", json_text(cid));
    }
    /* the near-duplicate group (src/pipeline/neardup.h), when fingerprinted */
    {
        struct catalog_fp fp;
        if ((ret = catalog_fp_get(cat, a->id, &fp)) == 0) {
            json_object_set_new(o, "near_duplicate_group",
                                fp.group_id ? json_integer(fp.group_id) : json_null());
            if (fp.group_id)
                json_object_set_new(o, "near_duplicate_keeper", json_boolean(fp.keeper));
        } else if (ret != TP_ERR_NOTFOUND) {
            goto fail;
        }
        tp_err_clear();
    }
    if ((ret = catalog_rendition_iterate(cat, a->id, add_rendition, r)) < 0)
        goto fail;
    json_object_set_new(o, "renditions", r);
    return o;
fail:
    json_decref(r);
    json_decref(o);
    if (err)
        *err = ret;
    return NULL;
}
