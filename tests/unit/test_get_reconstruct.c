/* serve_original(): what `get` returns for an asset's original through the
 * states the runner moves it through: uploaded bytes; swapped to a lossless
 * JPEG XL with the original still held; original released (reconstructed
 * JPEG, sha256 checked); a JXL that reconstructs to other bytes (refused);
 * a JXL without reconstruction data (served as stored).  The states are
 * built with the public catalog/store API in a fresh home. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "serve.h"
#include "store.h"
#include "unit.h"

#define JPEG1 "samples/photo-nikon-d40-1000x665-exif.jpg"
#define JPEG2 "samples/photo-iphone4s-180x135-exif-gps.jpg"
#define PNG1 "samples/photo-astronaut-512x512-rgb8.png"

static void rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("#   could not remove %s\n", dir);
}

/* Stores bytes and records the blob; hash_out gets its name. */
static int put_blob(struct home *h, const struct tp_buf *b, char hash_out[SHA256_HEX_LEN + 1])
{
    int ret = store_put_data(h->store, b->data, b->len, hash_out);
    if (ret < 0)
        return ret;
    return catalog_blob_add(h->cat, hash_out, b->len, NULL);
}

/* An ingested-like asset: original = current = the file's bytes. */
static int add_asset(struct home *h, const struct tp_buf *b, const char *fmt, int64_t *id_out)
{
    struct catalog_asset a;
    memset(&a, 0, sizeof(a));
    int ret = put_blob(h, b, a.sha256);
    if (ret < 0)
        return ret;
    memcpy(a.current_blob, a.sha256, sizeof(a.sha256));
    memcpy(a.original_blob, a.sha256, sizeof(a.sha256));
    snprintf(a.kind, sizeof(a.kind), "image");
    snprintf(a.format, sizeof(a.format), "%s", fmt);
    a.width = a.height = 1;
    a.bytes = b->len;
    a.orientation = 1;
    if ((ret = catalog_asset_insert(h->cat, &a)) < 0)
        return ret;
    *id_out = a.id;
    return 0;
}

/* JPEG -> JXL with the jxl codec's lossless recompression. */
static int recompress(const struct tp_buf *jpg, struct tp_buf *out)
{
    const struct codec *c = codec_find_by_name("jxl");
    struct codec_ctx *ctx = NULL;
    struct codec_opts o;
    int ret;
    if (!c || !c->recompress)
        return TP_ERR_UNSUPPORTED;
    codec_opts_defaults(&o);
    if ((ret = codec_open(&ctx, c, &o)) < 0)
        return ret;
    ret = c->recompress((struct codec_priv *)ctx->priv_storage, jpg->data, jpg->len, out);
    codec_close(&ctx);
    return ret;
}

/* PNG -> lossless JXL from pixels: no JPEG reconstruction data. */
static int pixels_to_jxl(const struct tp_buf *png, struct tp_buf *out)
{
    struct codec_ctx *ctx = NULL;
    struct codec_opts o;
    struct image img = { 0 };
    struct meta m;
    int ret;
    meta_init(&m);
    codec_opts_defaults(&o);
    o.lossless = 1;
    o.effort = 1;
    if ((ret = codec_decode_any(png->data, png->len, NULL, &o, &img, &m, NULL)) >= 0 &&
        (ret = codec_open(&ctx, codec_find_by_name("jxl"), &o)) >= 0)
        ret = codec_encode(ctx, &img, &m, out, NULL);
    codec_close(&ctx);
    image_free(&img);
    meta_free(&m);
    return ret;
}

/* The runner's moves: swap current to blob, then release the original. */
static int swap_and_release(struct home *h, int64_t id, const char *blob, int release)
{
    struct catalog_asset a;
    int ret = catalog_asset_get(h->cat, id, &a);
    if (ret < 0)
        return ret;
    if ((ret = catalog_asset_swap(h->cat, id, a.current_blob, blob, "cold", "STANDARD",
                                  "2000-01-01T00:00:00Z")) < 0)
        return ret;
    return release ? catalog_asset_release_original(h->cat, id, a.original_blob) : 0;
}

static int served(struct home *h, int64_t id, struct tp_buf *out)
{
    struct catalog_asset a;
    int ret = catalog_asset_get(h->cat, id, &a);
    return ret < 0 ? ret : serve_original(h, &a, out);
}

TEST(get_reconstructs_released_jpeg)
{
    char root[] = "/tmp/tp-serve-XXXXXX", jxl_hash[SHA256_HEX_LEN + 1], sha[SHA256_HEX_LEN + 1];
    char png_jxl_hash[SHA256_HEX_LEN + 1];
    static struct config cfg;
    struct home h = { 0 };
    struct tp_buf jpg = { 0 }, jpg2 = { 0 }, png = { 0 }, jxl = { 0 }, pjxl = { 0 }, got = { 0 };
    struct catalog_asset a;
    int64_t id = 0, id2 = 0, id3 = 0;

    REQUIRE(mkdtemp(root));
    REQUIRE(config_setup(&cfg, root, NULL) == 0);
    REQUIRE(home_open(&h, &cfg) == 0);
    REQUIRE(file_read(JPEG1, 1 << 26, &jpg) == 0);
    REQUIRE(file_read(JPEG2, 1 << 26, &jpg2) == 0);
    REQUIRE(file_read(PNG1, 1 << 26, &png) == 0);
    sha256_hex(jpg.data, jpg.len, sha);
    REQUIRE(add_asset(&h, &jpg, "jpeg", &id) == 0);
    REQUIRE(add_asset(&h, &jpg2, "jpeg", &id2) == 0);
    REQUIRE(add_asset(&h, &png, "png", &id3) == 0);

    /* fresh upload: the uploaded bytes */
    CHECK(served(&h, id, &got) == SERVE_UPLOADED);
    CHECK(got.len == jpg.len && !memcmp(got.data, jpg.data, jpg.len));

    REQUIRE(recompress(&jpg, &jxl) == 0);
    CHECK(jxl.len < jpg.len);
    REQUIRE(put_blob(&h, &jxl, jxl_hash) == 0);

    /* swapped, original still held (grace period): still the upload */
    REQUIRE(swap_and_release(&h, id, jxl_hash, 0) == 0);
    REQUIRE(catalog_asset_get(h.cat, id, &a) == 0);
    CHECK(!strcmp(a.current_blob, jxl_hash) && !strcmp(a.original_blob, sha));
    CHECK(served(&h, id, &got) == SERVE_UPLOADED);
    CHECK(got.len == jpg.len && !memcmp(got.data, jpg.data, jpg.len));

    /* original released: rebuilt from the JXL, bit-exact */
    REQUIRE(catalog_asset_release_original(h.cat, id, sha) == 0);
    REQUIRE(catalog_asset_get(h.cat, id, &a) == 0);
    CHECK(a.original_blob[0] == '\0');
    CHECK(served(&h, id, &got) == SERVE_RECONSTRUCTED);
    CHECK(got.len == jpg.len && !memcmp(got.data, jpg.data, jpg.len));
    /* the representation as stored is the JXL */
    CHECK(serve_current(&h, &a, &got) == 0);
    CHECK(got.len == jxl.len && !memcmp(got.data, jxl.data, jxl.len));

    /* another asset pointed (wrongly) at that JXL: its reconstruction is
     * not its upload, so it is refused loudly, nothing served */
    REQUIRE(swap_and_release(&h, id2, jxl_hash, 1) == 0);
    tp_err_clear();
    CHECK(served(&h, id2, &got) == TP_ERR_VERIFY);
    CHECK(strstr(tp_err_detail(), "not the uploaded") != NULL);
    CHECK(got.len == 0);

    /* a lossless pixel JXL has no JPEG inside: served as stored */
    REQUIRE(pixels_to_jxl(&png, &pjxl) == 0);
    REQUIRE(put_blob(&h, &pjxl, png_jxl_hash) == 0);
    REQUIRE(swap_and_release(&h, id3, png_jxl_hash, 1) == 0);
    CHECK(served(&h, id3, &got) == SERVE_CURRENT);
    CHECK(got.len == pjxl.len && !memcmp(got.data, pjxl.data, pjxl.len));

    buf_free(&jpg);
    buf_free(&jpg2);
    buf_free(&png);
    buf_free(&jxl);
    buf_free(&pjxl);
    buf_free(&got);
    home_close(&h);
    rm_rf(root);
}
