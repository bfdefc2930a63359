/* Proxy generation alone, the way vipsthumbnail works: read FILE, one
 * DCT-scaled decode, every proxy from the next larger one, write each to
 * OUTDIR/NAME.FORMAT (no store, no catalog, no fsync).
 * usage: bench_proxy FILE OUTDIR [NAME:FORMAT:EDGE[:Q]]...  (default: the
 * ingest proxies) */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "fileio.h"
#include "probe.h"
#include "proxy.h"

int main(int argc, char **argv)
{
    struct proxy_set ps;
    struct tp_buf in = { 0 };
    struct media_info mi;
    struct codec_opts o;
    struct codec_ctx *ctx = NULL;
    struct image img = { 0 };
    struct meta m;
    struct proxy_out out[PROXY_MAX];
    char msg[512];
    int ret;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_proxy FILE OUTDIR [NAME:FORMAT:EDGE[:Q]]...\n");
        return 2;
    }
    proxy_set_defaults(&ps);
    if (argc > 3)
        ps.n = 0;
    for (int i = 3; i < argc; i++)
        if (proxy_set_parse(&ps, argv[i]) < 0) {
            fprintf(stderr, "bench_proxy: %s\n", tp_err_detail());
            return 2;
        }
    if (proxy_set_validate(&ps) < 0) {
        fprintf(stderr, "bench_proxy: %s\n", tp_err_detail());
        return 2;
    }
    meta_init(&m);
    codec_opts_defaults(&o);
    if ((ret = file_read(argv[1], o.limits.max_file_bytes, &in)) < 0 ||
        (ret = probe_media(in.data, in.len, argv[1], &o.limits, &mi)) < 0)
        goto end;
    proxy_decode_min(&ps, mi.width, mi.height, mi.orientation, &o.min_width, &o.min_height);
    if ((ret = codec_open(&ctx, mi.codec, &o)) < 0 ||
        (ret = codec_decode(ctx, in.data, in.len, &img, &m)) < 0)
        goto end;
    m.orientation = mi.orientation;
    if ((ret = proxy_make(&ps, &img, &m, out)) < 0)
        goto end;
    for (int i = 0; i < ps.n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.%s", argv[2], out[i].name, out[i].format);
        FILE *f = fopen(path, "wb");
        if (!f || fwrite(out[i].data.data, 1, out[i].data.len, f) != out[i].data.len) {
            ret = TP_ERR(EIO);
        }
        if (f)
            fclose(f);
    }
    proxy_out_free(out, ps.n);
end:
    codec_close(&ctx);
    image_free(&img);
    meta_free(&m);
    buf_free(&in);
    if (ret < 0) {
        fprintf(stderr, "bench_proxy: %s: %s\n", argv[1], tp_strerror(ret, msg, sizeof(msg)));
        return 1;
    }
    return 0;
}
