/* The audit trail's details (see audit.h): jansson packs them, so a tier
 * or rendition name with a quote in it cannot break the JSON. */
#include "audit.h"
#include "json.h"

char *audit_blob(const char *hash)
{
    return json_pack_text("{s:s}", "blob", hash);
}

char *audit_blob_add(const char *hash, uint64_t bytes)
{
    return json_pack_text("{s:s, s:I}", "blob", hash, "bytes", (json_int_t)bytes);
}

char *audit_asset_insert(const struct catalog_asset *a)
{
    return json_pack_text("{s:s, s:s, s:I, s:s}", "sha256", a->sha256, "format", a->format,
                          "bytes", (json_int_t)a->bytes, "current_blob", a->current_blob);
}

char *audit_rendition(const struct catalog_rendition *r, const char *replaced)
{
    return json_pack_text("{s:s, s:s, s:s, s:i, s:i, s:I, s:s*}", "name", r->name, "blob", r->blob,
                          "format", r->format, "width", r->width, "height", r->height, "bytes",
                          (json_int_t)r->bytes, "replaced", replaced && *replaced ? replaced : NULL);
}

char *audit_swap(const char *from, const char *to, const char *tier, const char *storage_class)
{
    return json_pack_text("{s:s, s:s, s:s, s:s}", "from", from, "to", to, "tier", tier ? tier : "",
                          "storage_class", storage_class);
}

char *audit_tier(const char *tier, const char *storage_class)
{
    return json_pack_text("{s:s, s:s}", "tier", tier ? tier : "", "storage_class", storage_class);
}

char *audit_now(int64_t now)
{
    return json_pack_text("{s:I}", "now", (json_int_t)now);
}
