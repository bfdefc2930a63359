/* The catalog's stored JSON read back: an asset whose text fields, component
 * inventory (stored JSON text), rendition and Live Photo pair come from the
 * input is written into a SQLite catalog and turned into the asset JSON
 * (ls --json, serve) by asset_json(); the workers' stored job list is parsed
 * too.  Fields are separated by NUL bytes: inventory, camera make, camera
 * model, file name, capture time, owner, external id, rendition name,
 * rendition format, worker jobs ("id:asset:claimed,...").  Everything runs
 * in a transaction rolled back at the end, so every input starts from the
 * same catalog.  Besides not crashing: the answer is an object with every
 * key of the documented shape (a field of bytes that are not UTF-8 must not
 * silently drop its key), and a stored inventory that is JSON comes back
 * equal. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "asset_json.h"
#include "catalog.h"
#include "err.h"
#include "fuzz.h"

#define NF 10
#define FAIL() (fprintf(stderr, "fuzz_catjson.c:%d: check failed\n", __LINE__), abort())

static struct catalog *cat(void)
{
    static struct catalog *c;
    if (!c) {
        char dir[] = "/tmp/fuzz-catjson-XXXXXX", path[64];
        if (!mkdtemp(dir))
            FAIL();
        snprintf(path, sizeof(path), "%s/catalog.db", dir);
        if (catalog_sqlite_open(&c, path) < 0) {
            fprintf(stderr, "%s: %s\n", path, tp_err_detail());
            FAIL();
        }
        unlink(path); /* the process keeps it open; nothing is left behind */
        char wal[80];
        snprintf(wal, sizeof(wal), "%s-wal", path);
        unlink(wal);
        snprintf(wal, sizeof(wal), "%s-shm", path);
        unlink(wal);
        rmdir(dir);
    }
    return c;
}

static const char *const keys[] = {
    "id", "sha256", "kind", "format", "width", "height", "bytes", "orientation",
    "capture_time", "upload_time", "camera_make", "camera_model", "gps", "tier",
    "storage_class", "current_blob", "original_blob", "last_access", "count_30d",
    "count_90d", "count_365d", "access_total", "owner", "file_name", "external_id",
    "deleted_at", "components", "renditions", NULL,
};

static void fill(struct catalog_asset *a, const char *hash, const char *kind)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->sha256, sizeof(a->sha256), "%s", hash);
    snprintf(a->current_blob, sizeof(a->current_blob), "%s", hash);
    snprintf(a->original_blob, sizeof(a->original_blob), "%s", hash);
    snprintf(a->kind, sizeof(a->kind), "%s", kind);
    snprintf(a->format, sizeof(a->format), "%s", !strcmp(kind, "video") ? "h264" : "jpeg");
    a->width = 4032;
    a->height = 3024;
    a->bytes = 1000;
    a->orientation = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *f[NF];
    char *in = malloc(size + 1);
    struct catalog *c = cat();
    struct catalog_asset a, v;
    struct catalog_rendition rd;
    struct catalog_worker w;
    int err = 0;
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    for (int i = 0, at = 0; i < NF; i++) {
        f[i] = at <= (int)size ? in + at : "";
        at += (int)strlen(f[i]) + 1;
    }

    const char *h1 = "00000000000000000000000000000000000000000000000000000000000000a1";
    const char *h2 = "00000000000000000000000000000000000000000000000000000000000000a2";
    if (catalog_begin(c) < 0 || catalog_blob_add(c, h1, 1000, NULL) < 0 ||
        catalog_blob_add(c, h2, 1000, NULL) < 0)
        FAIL();
    fill(&a, h1, "image");
    snprintf(a.camera_make, sizeof(a.camera_make), "%s", f[1]);
    snprintf(a.camera_model, sizeof(a.camera_model), "%s", f[2]);
    snprintf(a.file_name, sizeof(a.file_name), "%s", f[3]);
    snprintf(a.capture_time, sizeof(a.capture_time), "%s", f[4]);
    snprintf(a.owner, sizeof(a.owner), "%s", f[5]);
    snprintf(a.external_id, sizeof(a.external_id), "%s", f[6]);
    fill(&v, h2, "video");
    if (catalog_asset_insert(c, &a) < 0 || catalog_asset_insert(c, &v) < 0 ||
        catalog_pair_put(c, a.id, v.id, "content-id") < 0)
        FAIL();
    if (catalog_components_put(c, a.id, (unsigned)(size & 0xff), f[0]) < 0)
        FAIL();
    memset(&rd, 0, sizeof(rd));
    rd.asset_id = a.id;
    snprintf(rd.name, sizeof(rd.name), "%s", f[7][0] ? f[7] : "thumb");
    snprintf(rd.format, sizeof(rd.format), "%s", f[8][0] ? f[8] : "jpeg");
    snprintf(rd.blob, sizeof(rd.blob), "%s", h2);
    rd.ssim = -1;
    rd.min_tile = -1;
    if (catalog_rendition_put(c, &rd) < 0)
        FAIL();
    tp_err_clear();

    struct catalog_asset got;
    if (catalog_asset_get(c, a.id, &got) < 0)
        FAIL();
    json_t *o = asset_json(c, &got, &err);
    if (!o)
        FAIL();
    for (int i = 0; keys[i]; i++)
        if (!json_object_get(o, keys[i]))
            FAIL(); /* a key silently dropped (json_string of bytes that are not UTF-8) */
    if (json_integer_value(json_object_get(o, "pair")) != v.id)
        FAIL();
    json_t *stored = json_loads(f[0], 0, NULL), *back = json_object_get(o, "components");
    if (stored && !json_equal(stored, back))
        FAIL(); /* the inventory did not come back as stored */
    json_decref(stored);
    char *s = json_dumps(o, JSON_COMPACT);
    if (!s)
        FAIL();
    free(s);
    json_decref(o);

    memset(&w, 0, sizeof(w));
    catalog_worker_jobs_parse(&w, f[9]);
    if (w.njobs < 0)
        FAIL();

    if (catalog_rollback(c) < 0)
        FAIL();
    tp_err_clear();
    free(in);
    return 0;
}
