/* tierpress convert IN OUT [options] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../codecs/codec.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "log.h"

static void convert_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress convert IN OUT [options]\n"
        "\n"
        "Decodes IN (format found from its content) and writes OUT, carrying EXIF,\n"
        "XMP and ICC across.  OUT is written to a temp file and renamed into place,\n"
        "so a failed conversion never leaves a partial OUT.\n"
        "\n"
        "  --to FMT          jpeg, webp, avif, heic, jxl, png (default: OUT's extension)\n"
        "  --quality Q       0..100 (default: the codec's own, e.g. jpeg 90)\n"
        "  --lossless        lossless encode; JPEG -> jxl is a bit-exact recompression\n"
        "                    whose reconstruction equals the original file\n"
        "  --effort N        0..9 encoder effort (slower, smaller); default per codec\n"
        "  --subsampling S   420 or 444 chroma (lossy jpeg/avif/heic/webp)\n"
        "  --encoder E       AVIF encoder: aom (default), svt, rav1e\n"
        "  --max-edge N      downscale so the longer edge is at most N pixels\n"
        "  --upright         rotate pixels to the display orientation (tag reset to 1);\n"
        "                    default keeps pixels and the orientation as the input has it\n"
        "  --keep K          metadata to keep: all (default), nogps, none, or a list\n"
        "                    of exif,xmp,icc,gps\n"
        "  --json            print one JSON object instead of a line\n");
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_int(const char *cmd, const char *opt, const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < lo || v > hi)
        return cli_usage_error(cmd, "%s expects an integer in %d..%d, got '%s'", opt, lo, hi, s);
    *out = (int)v;
    return 0;
}

int cmd_convert(const struct cli *cli, int argc, char **argv)
{
    enum { O_TO = 256, O_Q, O_LOSSLESS, O_EFFORT, O_SUB, O_ENC, O_EDGE, O_UPRIGHT, O_KEEP, O_JSON };
    static const struct option opts[] = {
        { "to", required_argument, NULL, O_TO },
        { "quality", required_argument, NULL, O_Q },
        { "lossless", no_argument, NULL, O_LOSSLESS },
        { "effort", required_argument, NULL, O_EFFORT },
        { "subsampling", required_argument, NULL, O_SUB },
        { "encoder", required_argument, NULL, O_ENC },
        { "max-edge", required_argument, NULL, O_EDGE },
        { "upright", no_argument, NULL, O_UPRIGHT },
        { "keep", required_argument, NULL, O_KEEP },
        { "json", no_argument, NULL, O_JSON },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct codec_opts eo, dopts;
    const char *to = NULL;
    int max_edge = 0, upright = 0, json = 0, c, ret;
    unsigned keep = META_KEEP_ALL;
    (void)cli;

    codec_opts_defaults(&eo);
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_TO: to = optarg; break;
        case O_Q:
            if (parse_int("convert", "--quality", optarg, 0, 100, &eo.quality))
                return 2;
            break;
        case O_LOSSLESS: eo.lossless = 1; break;
        case O_EFFORT:
            if (parse_int("convert", "--effort", optarg, 0, 9, &eo.effort))
                return 2;
            break;
        case O_SUB:
            if (parse_int("convert", "--subsampling", optarg, 420, 444, &eo.subsampling))
                return 2;
            if (eo.subsampling != 420 && eo.subsampling != 422 && eo.subsampling != 444)
                return cli_usage_error("convert", "--subsampling expects 420, 422 or 444");
            break;
        case O_ENC: eo.encoder = optarg; break;
        case O_EDGE:
            if (parse_int("convert", "--max-edge", optarg, 1, 65535, &max_edge))
                return 2;
            break;
        case O_UPRIGHT: upright = 1; break;
        case O_KEEP:
            if (meta_parse_keep(optarg, &keep) < 0) {
                cli_usage_error("convert", "%s", tp_err_detail());
                return 2;
            }
            break;
        case O_JSON: json = 1; break;
        case 'h': convert_help(stdout); return 0;
        default: return cli_usage_error("convert", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "expected IN and OUT");
    const char *in_path = argv[optind], *out_path = argv[optind + 1];

    const struct codec *oc = to ? codec_find_by_name(to) : codec_find_by_suffix(out_path, 0);
    if (!oc) {
        if (to)
            return cli_usage_error("convert", "unknown format '%s' for --to", to);
        return cli_usage_error("convert", "cannot tell the output format from '%s'; use --to",
                               out_path);
    }
    if (!(oc->caps & CODEC_CAP_ENCODE)) {
        fprintf(stderr, "tierpress: %s: format %s cannot be written\n", out_path, oc->name);
        return 1;
    }

    struct tp_buf in = { 0 }, out = { 0 };
    struct image img = { 0 }, tmp = { 0 };
    struct meta m;
    struct codec_ctx *ectx = NULL;
    const struct codec *ic = NULL;
    unsigned dropped = 0;
    int how_lossless = 0;
    double t0 = now_ms();
    const char *failed_on = in_path;

    meta_init(&m);
    codec_opts_defaults(&dopts);
    if ((ret = file_read(in_path, dopts.limits.max_file_bytes, &in)) < 0)
        goto end;
    ic = codec_find_for_data(in.data, in.len, in_path, CODEC_CAP_DECODE);
    if (!in.len) {
        tp_err_set("empty file");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    if (!ic) {
        tp_err_set("no decoder recognises the content");
        ret = TP_ERR_UNKNOWNFMT;
        goto end;
    }
    if ((ret = codec_open(&ectx, oc, &eo)) < 0) {
        failed_on = out_path;
        goto end;
    }

    /* Bitstream-level lossless paths first: JPEG -> JXL recompression, and
     * its inverse. */
    if (eo.lossless && !max_edge && !upright && keep == META_KEEP_ALL && oc->recompress &&
        ic != oc) {
        ret = oc->recompress((struct codec_priv *)ectx->priv_storage, in.data, in.len, &out);
        if (ret >= 0) {
            how_lossless = 1;
            goto write;
        }
        if (ret != TP_ERR_UNSUPPORTED)
            goto end;
        tp_err_clear();
    }
    if (ic->reconstruct && oc != ic && !max_edge && !upright && keep == META_KEEP_ALL) {
        struct codec_ctx *ictx;
        if ((ret = codec_open(&ictx, ic, &dopts)) < 0)
            goto end;
        ret = ic->reconstruct((struct codec_priv *)ictx->priv_storage, in.data, in.len, &out);
        codec_close(&ictx);
        if (ret >= 0 && codec_find_for_data(out.data, out.len, NULL, 0) == oc) {
            how_lossless = 2;
            goto write;
        }
        out.len = 0;
        tp_err_clear();
    }

    if (max_edge) {
        /* allow a DCT-scaled decode no smaller than needed */
        dopts.min_width = dopts.min_height = max_edge;
    }
    {
        struct codec_ctx *ictx;
        if ((ret = codec_open(&ictx, ic, &dopts)) < 0)
            goto end;
        ret = codec_decode(ictx, in.data, in.len, &img, &m);
        codec_close(&ictx);
        if (ret < 0)
            goto end;
    }
    if (upright && m.orientation != 1) {
        if ((ret = image_orient(&img, m.orientation, &tmp)) < 0)
            goto end;
        image_free(&img);
        img = tmp;
        memset(&tmp, 0, sizeof(tmp));
        m.orientation = 1;
    }
    if (max_edge) {
        int w, h;
        image_fit(img.width, img.height, max_edge, &w, &h);
        if (w != img.width || h != img.height) {
            if ((ret = image_resize(&img, w, h, &tmp)) < 0)
                goto end;
            image_free(&img);
            img = tmp;
            memset(&tmp, 0, sizeof(tmp));
        }
    }
    meta_apply_keep(&m, keep);
    failed_on = out_path;
    if ((ret = codec_encode(ectx, &img, &m, &out, &dropped)) < 0)
        goto end;

write:
    failed_on = out_path;
    if ((ret = file_write_atomic(out_path, out.data, out.len)) < 0)
        goto end;
    {
        static const char *const names[] = { "EXIF", "XMP", "ICC" };
        for (int i = 0; i < 3; i++)
            if (dropped & (1u << i))
                tp_log(TP_LOG_WARN, "%s: format %s cannot hold the %s block; it was not written",
                       out_path, oc->name, names[i]);
    }
    double ms = now_ms() - t0;
    int ow = img.data ? img.width : 0, oh = img.data ? img.height : 0;
    if (json) {
        printf("{\"in\":");
        json_str(stdout, in_path);
        printf(",\"out\":");
        json_str(stdout, out_path);
        printf(",\"in_format\":\"%s\",\"format\":\"%s\",\"in_bytes\":%zu,\"out_bytes\":%zu,"
               "\"ratio\":%.4f,\"width\":%d,\"height\":%d,\"lossless\":%s,\"mode\":\"%s\","
               "\"dropped\":[%s%s%s],\"ms\":%.1f}\n",
               ic->name, oc->name, in.len, out.len, (double)out.len / (double)in.len, ow, oh,
               eo.lossless || how_lossless ? "true" : "false",
               how_lossless == 1 ? "recompress" : how_lossless == 2 ? "reconstruct" : "pixels",
               dropped & META_HAS_EXIF ? "\"exif\"" : "",
               (dropped & META_HAS_EXIF) && (dropped & (META_HAS_XMP | META_HAS_ICC)) ? "," : "",
               dropped & META_HAS_XMP ? ((dropped & META_HAS_ICC) ? "\"xmp\",\"icc\"" : "\"xmp\"")
                                      : dropped & META_HAS_ICC ? "\"icc\"" : "",
               ms);
    } else {
        printf("%s (%s, %zu bytes) -> %s (%s, %zu bytes, %.1f%%)%s%s in %.0f ms\n", in_path,
               ic->name, in.len, out_path, oc->name, out.len, 100.0 * out.len / in.len,
               how_lossless == 1 ? " lossless recompression" : "",
               how_lossless == 2 ? " reconstructed original" : "", ms);
    }
    ret = 0;
end:
    if (ret < 0)
        cli_fail(failed_on, ret);
    codec_close(&ectx);
    image_free(&img);
    image_free(&tmp);
    meta_free(&m);
    buf_free(&in);
    buf_free(&out);
    return ret < 0 ? 1 : 0;
}
