/* What `get` serves for an asset's original: the uploaded bytes while the
 * catalog holds them, the bit-exact JPEG rebuilt from a lossless JPEG XL
 * recompression once they are released, else the current representation. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "catalog.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "serve.h"
#include "sha256.h"
#include "store.h"

int serve_current(struct home *h, const struct catalog_asset *a, struct tp_buf *out)
{
    RETURN_ERR_IF(!a->current_blob[0], TP_ERR_NOTFOUND, "asset %lld has no current blob",
                  (long long)a->id);
    return store_get(h->store, a->current_blob, out);
}

/* out (the current blob's bytes) is replaced by the JPEG it reconstructs
 * to: 1 when reconstructed, 0 when it carries no reconstruction data. */
static int reconstruct(const struct catalog_asset *a, struct tp_buf *out)
{
    const struct codec *c = codec_find_for_data(out->data, out->len, NULL, CODEC_CAP_DECODE);
    struct codec_ctx *ctx = NULL;
    struct codec_opts o;
    struct tp_buf jpg = { 0 };
    char got[SHA256_HEX_LEN + 1];
    int ret;

    if (!c || !c->reconstruct)
        return 0;
    codec_opts_defaults(&o);
    if ((ret = codec_open(&ctx, c, &o)) < 0)
        goto end;
    ret = c->reconstruct((struct codec_priv *)ctx->priv_storage, out->data, out->len, &jpg);
    if (ret == TP_ERR_UNSUPPORTED) { /* a JPEG XL, but not a recompressed JPEG */
        tp_err_clear();
        ret = 0;
        goto end;
    }
    if (ret < 0) {
        char why[256];
        snprintf(why, sizeof(why), "%s", tp_err_detail());
        tp_err_set("asset %lld: cannot reconstruct the original from blob %s: %s",
                   (long long)a->id, a->current_blob, why);
        goto end;
    }
    sha256_hex(jpg.data, jpg.len, got);
    if (strcmp(got, a->sha256)) {
        tp_err_set("asset %lld: the JPEG reconstructed from blob %s has sha256 %s, not the "
                   "uploaded %s: refusing to serve it as the original",
                   (long long)a->id, a->current_blob, got, a->sha256);
        ret = TP_ERR_VERIFY;
        goto end;
    }
    buf_free(out);
    *out = jpg;
    memset(&jpg, 0, sizeof(jpg));
    ret = 1;
end:
    buf_free(&jpg);
    codec_close(&ctx);
    return ret;
}

int serve_original(struct home *h, const struct catalog_asset *a, struct tp_buf *out)
{
    int ret;

    if (a->original_blob[0]) {
        FORWARD_ERR(store_get(h->store, a->original_blob, out));
        return SERVE_UPLOADED;
    }
    FORWARD_ERR(serve_current(h, a, out));
    if (!strcmp(a->current_blob, a->sha256))
        return SERVE_UPLOADED; /* never replaced */
    if ((ret = reconstruct(a, out)) < 0) {
        buf_free(out);
        return ret;
    }
    return ret ? SERVE_RECONSTRUCTED : SERVE_CURRENT;
}

int serve_blob_write(struct home *h, const char *blob, const char *path)
{
    if (strcmp(path, "-"))
        return store_get_file(h->store, blob, path);
    return store_get_fd(h->store, blob, STDOUT_FILENO);
}

int serve_original_write(struct home *h, const struct catalog_asset *a, const char *path)
{
    struct tp_buf b = { 0 };
    const char *blob = a->original_blob[0] ? a->original_blob : a->current_blob;
    int ret, src;

    /* the uploaded bytes: streamed */
    if (a->original_blob[0] || !strcmp(a->current_blob, a->sha256)) {
        FORWARD_ERR(serve_blob_write(h, blob, path));
        return SERVE_UPLOADED;
    }
    /* a replaced original: the current representation decides */
    if ((src = ret = serve_original(h, a, &b)) < 0)
        goto end;
    if (strcmp(path, "-")) {
        ret = file_write_atomic(path, b.data, b.len);
    } else {
        ret = fwrite(b.data, 1, b.len, stdout) == b.len && fflush(stdout) == 0 ? 0 : TP_ERR(EIO);
        if (ret < 0)
            tp_err_set("writing to standard output failed");
    }
    if (ret >= 0)
        ret = src;
end:
    buf_free(&b);
    return ret;
}
