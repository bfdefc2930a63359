/* tierpress ssim A B [--json] [--map MAP.png] [--threads N] [--luma-only] */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "ssim.h"

static void ssim_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress ssim A B [--json] [--map MAP.png] [--threads N] [--luma-only]\n"
        "\n"
        "Structural similarity of B against A (Wang et al. 2004, 11x11 Gaussian\n"
        "window, sigma 1.5; the same numbers as scikit-image's structural_similarity\n"
        "with gaussian_weights=True, use_sample_covariance=False, data_range=255).\n"
        "Computed on luma and on full-resolution Cb and Cr of the 8-bit sRGB pixels\n"
        "(alpha composited over white).  The images are compared as displayed: when\n"
        "their EXIF orientations differ, each is turned upright first.  Sizes must\n"
        "match.  Prints the mean luma SSIM (1 = identical).  See docs/ssim.md.\n"
        "\n"
        "  --json        {\"ssim\", \"min_tile\", \"ssim_cb\", \"ssim_cr\", \"width\", \"height\"};\n"
        "                min_tile is the lowest mean luma SSIM of a 64x64 tile\n"
        "  --map FILE    write the local luma SSIM as a grey picture (0 black .. 1\n"
        "                white, negative values black): PNG, or JPEG q95 without PNG\n"
        "  --threads N   worker threads (default: online CPUs); same result for any N\n"
        "  --luma-only   skip Cb and Cr (about 3x faster; ssim_cb/cr become null)\n"
        "  --time        print the time of each stage to stderr\n");
}

struct decode_task {
    const char *path;
    struct tp_buf buf;
    struct image img;
    struct meta meta;
    int ret;
    char detail[512];
};

static void *decode_one(void *arg)
{
    struct decode_task *t = arg;
    struct codec_opts o;
    codec_opts_defaults(&o);
    t->ret = file_read(t->path, o.limits.max_file_bytes, &t->buf);
    if (t->ret >= 0)
        t->ret = codec_decode_any(t->buf.data, t->buf.len, t->path, &o, &t->img, &t->meta, NULL);
    buf_free(&t->buf);
    /* the detail message is per thread: carry it back */
    snprintf(t->detail, sizeof(t->detail), "%s", tp_err_detail());
    tp_err_clear();
    return NULL;
}

static int thread_safe_codec(const char *path)
{
    /* sniff only the start of the file to pick the codec */
    uint8_t head[4096];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1; /* the decode reports the error */
    size_t n = fread(head, 1, sizeof(head), f);
    fclose(f);
    const struct codec *c = codec_find_for_data(head, n, path, CODEC_CAP_DECODE);
    return !c || !(c->caps & CODEC_CAP_INIT_NOT_THREADSAFE);
}

static int write_map(const char *path, const float *map, int w, int h)
{
    struct image g = { 0 };
    struct codec_opts o;
    struct codec_ctx *ctx = NULL;
    struct tp_buf out = { 0 };
    struct meta m;
    unsigned dropped = 0;
    const struct codec *c = codec_find_by_name("png");
    int ret;

    meta_init(&m);
    codec_opts_defaults(&o);
    if (!c || !(c->caps & CODEC_CAP_ENCODE)) {
        c = codec_find_by_name("jpeg");
        o.quality = 95;
    }
    if ((ret = image_alloc(&g, w, h, 1, 1)) < 0)
        goto end;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float v = map[(size_t)y * (size_t)w + (size_t)x];
            v = v < 0 ? 0 : v > 1 ? 1 : v;
            g.data[(size_t)y * g.stride + (size_t)x] = (uint8_t)(v * 255.0f + 0.5f);
        }
    if ((ret = codec_open(&ctx, c, &o)) < 0)
        goto end;
    if ((ret = codec_encode(ctx, &g, &m, &out, &dropped)) < 0)
        goto end;
    ret = file_write_atomic(path, out.data, out.len);
end:
    codec_close(&ctx);
    buf_free(&out);
    meta_free(&m);
    image_free(&g);
    return ret;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_threads(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 256)
        return cli_usage_error("ssim", "--threads expects an integer in 1..256, got '%s'", s);
    *out = (int)v;
    return 0;
}

int cmd_ssim(const struct cli *cli, int argc, char **argv)
{
    enum { O_JSON = 256, O_MAP, O_THREADS, O_LUMA, O_TIME };
    static const struct option opts[] = {
        { "json", no_argument, NULL, O_JSON },
        { "map", required_argument, NULL, O_MAP },
        { "threads", required_argument, NULL, O_THREADS },
        { "luma-only", no_argument, NULL, O_LUMA },
        { "time", no_argument, NULL, O_TIME },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ssim_opts so;
    const char *map_path = NULL;
    int json = 0, timing = 0, c, status = 1, ret;
    (void)cli;

    ssim_opts_defaults(&so);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: json = 1; break;
        case O_MAP: map_path = optarg; break;
        case O_THREADS:
            if (parse_threads(optarg, &so.threads))
                return 2;
            break;
        case O_LUMA: so.chroma = 0; break;
        case O_TIME: timing = 1; break;
        case 'h': ssim_help(stdout); return 0;
        default: return cli_usage_error("ssim", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("ssim", "expected two files A and B");

    struct decode_task t[2];
    struct ssim_ref *ref = NULL;
    struct ssim_result res;
    float *map = NULL;
    pthread_t tid;
    int threaded = 0;

    double t0 = now_ms(), t1, t2, t3;
    memset(t, 0, sizeof(t));
    for (int i = 0; i < 2; i++) {
        t[i].path = argv[optind + i];
        meta_init(&t[i].meta);
    }
    /* decode A and B at the same time when their codecs allow it */
    if (thread_safe_codec(t[0].path) && thread_safe_codec(t[1].path))
        threaded = pthread_create(&tid, NULL, decode_one, &t[1]) == 0;
    decode_one(&t[0]);
    if (threaded)
        pthread_join(tid, NULL);
    else
        decode_one(&t[1]);
    for (int i = 0; i < 2; i++) {
        if (t[i].ret < 0) {
            if (t[i].detail[0])
                tp_err_set("%s", t[i].detail);
            cli_fail(t[i].path, t[i].ret);
            goto end;
        }
    }

    t1 = now_ms();
    /* as displayed: rotate only when the stored orientations differ */
    int oa = t[0].meta.orientation, ob = t[1].meta.orientation;
    if (oa < 1 || oa > 8)
        oa = 1;
    if (ob < 1 || ob > 8)
        ob = 1;
    if (oa == ob)
        oa = ob = 1;
    if ((ret = ssim_ref_new_take(&ref, &t[0].img, oa)) < 0) {
        cli_fail(t[0].path, ret);
        goto end;
    }
    t2 = now_ms();
    if (map_path) {
        int w, h;
        ssim_ref_size(ref, &w, &h);
        if (!(map = tp_malloc((size_t)w * (size_t)h * sizeof(float)))) {
            cli_fail(map_path, TP_ERR(ENOMEM));
            goto end;
        }
        so.map_out = map;
    }
    if ((ret = ssim_compare(ref, &t[1].img, ob, &so, &res)) < 0) {
        cli_fail(t[1].path, ret);
        goto end;
    }
    t3 = now_ms();
    if (timing)
        fprintf(stderr, "tierpress ssim: decode %.1f ms, reference %.1f ms, compare %.1f ms "
                        "(%.1f MP/s)\n", t1 - t0, t2 - t1, t3 - t2,
                (double)res.width * res.height / 1e3 / (t3 - t2));
    if (map_path && (ret = write_map(map_path, map, res.width, res.height)) < 0) {
        cli_fail(map_path, ret);
        goto end;
    }
    if (json) {
        json_t *o = json_object();
        int bad = json_set_real(o, "ssim", res.ssim) < 0 ||
                  json_set_real(o, "min_tile", res.min_tile) < 0 ||
                  json_set_real(o, "ssim_cb", res.ssim_cb) < 0 ||
                  json_set_real(o, "ssim_cr", res.ssim_cr) < 0 ||
                  json_set_int(o, "width", res.width) < 0 || json_set_int(o, "height", res.height) < 0;
        if (bad) {
            json_decref(o);
            o = NULL;
        }
        if ((ret = json_print(stdout, o)) < 0) {
            cli_fail("ssim", ret);
            goto end;
        }
    } else {
        printf("%.6f\n", res.ssim);
    }
    status = 0;
end:
    tp_free(map);
    ssim_ref_free(&ref);
    for (int i = 0; i < 2; i++) {
        image_free(&t[i].img);
        meta_free(&t[i].meta);
    }
    return status;
}
