/* The SQLite catalog: schema creation and reopen, assets, renditions,
 * reference counts, duplicates, access statistics, time parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "err.h"
#include "unit.h"

static void fill_asset(struct catalog_asset *a, const char *sha)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->sha256, sizeof(a->sha256), "%s", sha);
    snprintf(a->current_blob, sizeof(a->current_blob), "%s", sha);
    snprintf(a->original_blob, sizeof(a->original_blob), "%s", sha);
    snprintf(a->kind, sizeof(a->kind), "image");
    snprintf(a->format, sizeof(a->format), "jpeg");
    a->width = 640;
    a->height = 480;
    a->bytes = 1234;
    a->orientation = 6;
    snprintf(a->capture_time, sizeof(a->capture_time), "2016-03-24T14:49:51");
}

static int64_t refcount(struct catalog *c, const char *hash)
{
    struct catalog_blob b;
    return catalog_blob_get(c, hash, &b) == 0 ? b.refcount : -1;
}

static int count_rend(void *ud, const struct catalog_rendition *r)
{
    (void)r;
    ++*(int *)ud;
    return 0;
}

TEST(catalog_assets_renditions_refcounts)
{
    char dir[] = "/tmp/tp-cat-XXXXXX", path[64], cmd[96];
    const char *h1 = "1111111111111111111111111111111111111111111111111111111111111111";
    const char *h2 = "2222222222222222222222222222222222222222222222222222222222222222";
    const char *h3 = "3333333333333333333333333333333333333333333333333333333333333333";
    struct catalog *c = NULL;
    struct catalog_asset a, got;
    struct catalog_rendition r, rg;
    int64_t n = 0;
    int nr = 0;

    REQUIRE(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/catalog.db", dir);
    REQUIRE(catalog_sqlite_open(&c, path) == 0);
    fill_asset(&a, h1);
    /* the blob must be recorded first (foreign key) */
    CHECK(catalog_asset_insert(c, &a) < 0);
    tp_err_clear();
    REQUIRE(catalog_begin(c) == 0);
    REQUIRE(catalog_blob_add(c, h1, 1234, NULL) == 0);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(catalog_commit(c) == 0);
    CHECK(a.id > 0);
    CHECK(a.upload_time[0] != '\0');
    CHECK(refcount(c, h1) == 2); /* current_blob + original_blob */
    CHECK(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(!strcmp(got.sha256, h1) && got.width == 640 && got.orientation == 6);
    CHECK(!strcmp(got.capture_time, "2016-03-24T14:49:51"));
    CHECK(!strcmp(got.storage_class, "STANDARD") && got.tier[0] == '\0');
    CHECK(catalog_asset_find(c, h1, &got) == 0 && got.id == a.id);
    CHECK(catalog_asset_find(c, h2, &got) == TP_ERR_NOTFOUND);
    CHECK(catalog_asset_get(c, 999, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* the same content again */
    fill_asset(&got, h1);
    CHECK(catalog_asset_insert(c, &got) == TP_ERR_DUPLICATE);
    tp_err_clear();
    CHECK(refcount(c, h1) == 2); /* the failed insert changed nothing */

    /* renditions: add, then replace, counting references */
    REQUIRE(catalog_blob_add(c, h2, 10, NULL) == 0);
    REQUIRE(catalog_blob_add(c, h3, 20, NULL) == 0);
    memset(&r, 0, sizeof(r));
    r.asset_id = a.id;
    snprintf(r.name, sizeof(r.name), "thumb");
    snprintf(r.blob, sizeof(r.blob), "%s", h2);
    snprintf(r.format, sizeof(r.format), "webp");
    r.width = 256;
    r.height = 192;
    r.bytes = 10;
    r.ssim = r.min_tile = -1;
    CHECK(catalog_rendition_put(c, &r) == 0);
    CHECK(refcount(c, h2) == 1);
    CHECK(catalog_rendition_get(c, a.id, "thumb", &rg) == 0 && !strcmp(rg.blob, h2) &&
          rg.width == 256 && rg.ssim < 0);
    snprintf(r.blob, sizeof(r.blob), "%s", h3);
    r.ssim = 0.987;
    CHECK(catalog_rendition_put(c, &r) == 0);
    CHECK(refcount(c, h2) == 0 && refcount(c, h3) == 1);
    CHECK(catalog_rendition_get(c, a.id, "thumb", &rg) == 0 && !strcmp(rg.blob, h3) &&
          rg.ssim > 0.98);
    CHECK(catalog_rendition_get(c, a.id, "preview", &rg) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_rendition_iterate(c, a.id, count_rend, &nr) == 0 && nr == 1);
    CHECK(catalog_blob_count(c, &n) == 0 && n == 3);

    /* access statistics relative to "now" */
    int64_t now = 1700000000;
    CHECK(catalog_access_log(c, a.id, now - 5 * 86400) == 1);
    CHECK(catalog_access_log(c, a.id, now - 60 * 86400) == 1);
    CHECK(catalog_access_log(c, a.id, now - 200 * 86400) == 1);
    CHECK(catalog_access_log(c, a.id, now - 400 * 86400) == 1);
    CHECK(catalog_access_log(c, 999, now) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_access_refresh(c, now) == 0);
    struct catalog_access ac;
    CHECK(catalog_access_get(c, a.id, &ac) == 0);
    CHECK(ac.count_30d == 1 && ac.count_90d == 2 && ac.count_365d == 3 && ac.total == 4);
    CHECK(!strcmp(ac.last_access, "2023-11-09T22:13:20Z")); /* now - 5 days */
    catalog_close(&c);
    CHECK(c == NULL);

    /* reopening an up-to-date catalog migrates nothing and keeps the data */
    REQUIRE(catalog_sqlite_open(&c, path) == 0);
    CHECK(catalog_asset_get(c, a.id, &got) == 0 && !strcmp(got.sha256, h1));
    catalog_close(&c);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

