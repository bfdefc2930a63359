/* One serializer for an asset (ls --json, the HTTP service). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "asset_json.h"
#include "catalog.h"
#include "err.h"
#include "json.h"

/* Catalog text can hold any bytes (EXIF camera names, client file names):
 * json_text keeps the key with U+FFFD where json_string would fail and drop
 * it (found by tests/fuzz/fuzz_catjson.c). */
static json_t *text_or_null(const char *s)
{
    return json_text(s);
}

static json_t *text_or_empty(const char *s)
{
    return s && *s ? json_text(s) : json_string("");
}

static int add_rendition(void *ud, const struct catalog_rendition *r)
{
    json_t *arr = ud, *o = json_object();
    if (!o)
        return TP_ERR(ENOMEM);
    json_object_set_new(o, "name", text_or_empty(r->name));
    json_object_set_new(o, "format", text_or_empty(r->format));
    json_object_set_new(o, "width", json_integer(r->width));
    json_object_set_new(o, "height", json_integer(r->height));
    json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
    json_object_set_new(o, "blob", text_or_empty(r->blob));
    if (r->ssim >= 0)
        json_object_set_new(o, "ssim", json_real(r->ssim));
    return json_array_append_new(arr, o) ? TP_ERR(ENOMEM) : 0;
}

json_t *asset_json(struct catalog *cat, const struct catalog_asset *a, int *err)
{
    struct catalog_access ac;
    json_t *o = json_object(), *r = json_array();
    int ret = TP_ERR(ENOMEM);

    if (!o || !r)
        goto fail;
    json_object_set_new(o, "id", json_integer(a->id));
    json_object_set_new(o, "sha256", text_or_empty(a->sha256));
    json_object_set_new(o, "kind", text_or_empty(a->kind));
    json_object_set_new(o, "format", text_or_empty(a->format));
    json_object_set_new(o, "width", json_integer(a->width));
    json_object_set_new(o, "height", json_integer(a->height));
    json_object_set_new(o, "bytes", json_integer((json_int_t)a->bytes));
    json_object_set_new(o, "orientation", json_integer(a->orientation));
    json_object_set_new(o, "capture_time", text_or_null(a->capture_time));
    json_object_set_new(o, "upload_time", text_or_null(a->upload_time));
    json_object_set_new(o, "camera_make", text_or_null(a->camera_make));
    json_object_set_new(o, "camera_model", text_or_null(a->camera_model));
    json_object_set_new(o, "gps", json_boolean(a->has_gps));
    if (a->duration > 0)
        json_object_set_new(o, "duration", json_real(a->duration));
    json_object_set_new(o, "tier", text_or_null(a->tier));
    json_object_set_new(o, "storage_class", text_or_null(a->storage_class));
    json_object_set_new(o, "current_blob", text_or_null(a->current_blob));
    json_object_set_new(o, "original_blob", text_or_null(a->original_blob));
    if ((ret = catalog_access_get(cat, a->id, &ac)) < 0)
        goto fail;
    json_object_set_new(o, "last_access", text_or_null(ac.last_access));
    json_object_set_new(o, "count_30d", json_integer(ac.count_30d));
    json_object_set_new(o, "count_90d", json_integer(ac.count_90d));
    json_object_set_new(o, "count_365d", json_integer(ac.count_365d));
    json_object_set_new(o, "access_total", json_integer(ac.total));
    json_object_set_new(o, "owner", text_or_null(a->owner));
    json_object_set_new(o, "file_name", text_or_null(a->file_name));
    json_object_set_new(o, "external_id", text_or_null(a->external_id));
    json_object_set_new(o, "deleted_at", text_or_null(a->deleted_at));
    /* the inventory of parts (components.h), stored as JSON; null when never
     * made; and a Live Photo's other half */
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
