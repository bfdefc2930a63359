/* tierpress convert IN OUT [options] */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "probe.h"
#include "search.h"

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
        "                    of exif,xmp,icc,gps; none also drops the parts (below)\n"
        "  --drop-parts      allow the output to lack parts of the input (gain map,\n"
        "                    motion video, depth, ...); without it such an output is\n"
        "                    refused, naming what it would lose; --json lists the\n"
        "                    dropped kinds in \"dropped\"\n"
        "  --json            print one JSON object instead of a line\n"
        "\n"
        "Quality-targeted mode (the smallest output that still looks the same):\n"
        "  --ssim S          floor on the mean luma SSIM (0.5..1); see docs/quality.md:\n"
        "                    0.997 = visually lossless, 0.99 = slight difference at 1:1\n"
        "  --tile-ssim T     floor on the worst 64x64 tile (default 1 - 5/3 (1 - S))\n"
        "  --chroma-ssim C   floor on Cb and Cr SSIM (default 1 - 5 (1 - S))\n"
        "  --butteraugli-max B  ceiling on the final output's Butteraugli max-norm\n"
        "                    distance (e.g. 1.0); checked once on the winner, which is\n"
        "                    raised in quality (or dropped) when it fails\n"
        "  --max-cpu-s-per-mp C  CPU budget of the search per megapixel: past it, the\n"
        "                    best passing result so far (or the lossless path) wins\n"
        "  --codecs LIST     candidates, e.g. jxl,avif,heic (default: OUT's format);\n"
        "                    the smallest passing output wins and is written to OUT,\n"
        "                    its extension replaced by the winner's (OUT.avif -> OUT.jxl,\n"
        "                    the path reported); with --to FMT another winner is refused\n"
        "  --min-saving F    keep the original unless the output saves this fraction\n"
        "                    of its bytes (default 0.10); then OUT is not written\n"
        "  --max-probes N    encodes per candidate (default 10)\n"
        "  --no-mosaic       probe the whole image, not a mosaic of representative\n"
        "                    256-pixel blocks (used from ~2 MP; the result is always\n"
        "                    confirmed on the whole image)\n"
        "  --no-predict      first probe at quality 90, not at the one predicted from\n"
        "                    the floor, the codec and the source (for benchmarks)\n"
        "  --no-presets      without --effort, search at each codec's default effort,\n"
        "                    not the one the search picks per floor (docs/quality.md)\n");
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

/* Parses "avif,heic,jxl" into candidates (each must encode). */
static int parse_codecs(const char *list, struct search_candidate *c, int max, const struct codec_opts *eo)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        char name[32];
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof(name))
            return cli_usage_error("convert", "--codecs: bad list '%s'", list), -1;
        memcpy(name, p, len);
        name[len] = '\0';
        const struct codec *cd = codec_find_by_name(name);
        if (!cd || !(cd->caps & CODEC_CAP_ENCODE))
            return cli_usage_error("convert", "--codecs: '%s' is not a format tierpress can write", name), -1;
        if (n == max)
            return cli_usage_error("convert", "--codecs: at most %d candidates", max), -1;
        c[n].codec = cd;
        c[n].effort = eo->effort;
        c[n].subsampling = eo->subsampling;
        c[n].bit_depth = eo->bit_depth;
        c[n].encoder = eo->encoder;
        n++;
        p += len;
        if (*p == ',')
            p++;
    }
    if (!n)
        return cli_usage_error("convert", "--codecs: empty list"), -1;
    return n;
}

/* The component kinds out lost of src (components_lost_kinds) into *mask. */
static int dropped_parts(const struct components *src, const struct tp_buf *out, unsigned *mask)
{
    struct media_info *mo = tp_malloc(sizeof(*mo));
    int ret;
    *mask = 0;
    if (!mo)
        return TP_ERR(ENOMEM);
    if ((ret = probe_media(out->data, out->len, NULL, NULL, mo)) >= 0)
        *mask = components_lost_kinds(src, &mo->comp);
    tp_free(mo);
    return ret;
}

/* The JSON objects convert prints, one serializer each (docs/json.md).
 * Rounded as the text always printed them (ratio 4 decimals, SSIM 6, ms 1),
 * and always reals (json_set_fixed). */

static json_t *trial_json(const struct search_trial *t)
{
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_text(o, "codec", t->codec) < 0;
    bad = bad || json_set_int(o, "subsampling", t->subsampling) < 0;
    bad = bad || json_object_set_new(o, "passed", json_boolean(t->passed)) < 0;
    bad = bad || json_set_int(o, "quality", t->quality) < 0;
    bad = bad || json_set_int(o, "bytes", (long long)t->bytes) < 0;
    bad = bad || json_set_fixed(o, "ssim", t->ssim, 6) < 0;
    bad = bad || json_set_fixed(o, "min_tile", t->min_tile, 6) < 0;
    bad = bad || json_set_fixed(o, "ssim_cb", t->ssim_cb, 6) < 0;
    bad = bad || json_set_fixed(o, "ssim_cr", t->ssim_cr, 6) < 0;
    bad = bad || json_set_int(o, "probes", t->probes) < 0;
    bad = bad || json_set_fixed(o, "encode_ms", t->encode_ms, 1) < 0;
    bad = bad || json_set_fixed(o, "verify_ms", t->verify_ms, 1) < 0;
    bad = bad || json_set_fixed(o, "butteraugli", t->butteraugli, 4) < 0;
    bad = bad || json_object_set_new(o, "abandoned", json_boolean(t->abandoned)) < 0;
    bad = bad || json_set_int(o, "start_quality", t->start_quality) < 0;
    bad = bad || json_set_int(o, "effort", t->effort) < 0;
    bad = bad || json_object_set_new(o, "estimated", json_boolean(t->estimated)) < 0;
    bad = bad || json_set_int(o, "confirm_probes", t->confirm_probes) < 0;
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *search_json(const char *in_path, const char *out_path,
                           const struct search_result *r, const struct search_opts *so,
                           unsigned dropped)
{
    json_t *o = json_object(), *floor = json_object(), *drop = json_array(),
           *cands = json_array();
    int bad = !o || !floor || !drop || !cands;
    bad = bad || json_set_text(o, "in", in_path) < 0;
    bad = bad || json_set_text(o, "out", r->kept_original ? NULL : out_path) < 0;
    bad = bad || json_object_set_new(o, "kept_original", json_boolean(r->kept_original)) < 0;
    bad = bad || json_set_text(o, "codec", r->codec ? r->codec->name : NULL) < 0;
    bad = bad || json_set_text(o, "extension",
                               r->codec && r->codec->suffixes ? r->codec->suffixes[0] : NULL) < 0;
    bad = bad || json_set_int(o, "quality", r->quality) < 0;
    bad = bad || json_set_int(o, "subsampling", r->subsampling) < 0;
    bad = bad || json_object_set_new(o, "lossless", json_boolean(r->lossless)) < 0;
    bad = bad || json_set_int(o, "in_bytes", (long long)r->in_bytes) < 0;
    bad = bad || json_set_int(o, "out_bytes", r->codec ? (long long)r->out.len : 0) < 0;
    bad = bad || json_set_fixed(o, "ratio", r->codec ? (double)r->out.len / (double)r->in_bytes
                                                : 1.0, 4) < 0;
    bad = bad || json_set_fixed(o, "ssim", r->ssim, 6) < 0;
    bad = bad || json_set_fixed(o, "min_tile", r->min_tile, 6) < 0;
    bad = bad || json_set_fixed(o, "ssim_cb", r->ssim_cb, 6) < 0;
    bad = bad || json_set_fixed(o, "ssim_cr", r->ssim_cr, 6) < 0;
    bad = bad || json_set_real(floor, "ssim", so->floor.ssim) < 0;
    bad = bad || json_set_real(floor, "tile", so->floor.tile) < 0;
    bad = bad || json_set_real(floor, "chroma", so->floor.chroma) < 0;
    bad = bad || json_set_real(floor, "butteraugli", so->floor.butteraugli) < 0;
    bad = bad || json_object_set(o, "floor", floor) < 0;
    bad = bad || json_set_real(o, "min_saving", so->min_saving) < 0;
    bad = bad || json_set_int(o, "probes", r->probes) < 0;
    bad = bad || json_set_fixed(o, "encode_ms", r->encode_ms, 1) < 0;
    bad = bad || json_set_fixed(o, "verify_ms", r->verify_ms, 1) < 0;
    bad = bad || json_set_fixed(o, "butteraugli", r->butteraugli, 4) < 0;
    bad = bad || json_set_int(o, "butteraugli_probes", r->butteraugli_probes) < 0;
    bad = bad || json_object_set_new(o, "budget_exhausted",
                                     json_boolean(r->budget_exhausted)) < 0;
    bad = bad || json_set_int(o, "source_quality", r->source_quality) < 0;
    bad = bad || json_set_int(o, "mosaic_blocks", r->mosaic_blocks) < 0;
    bad = bad || json_set_int(o, "mosaic_block", r->mosaic_block) < 0;
    bad = bad || json_set_fixed(o, "mosaic_fraction", r->mosaic_fraction, 4) < 0;
    bad = bad || json_set_int(o, "confirm_probes", r->confirm_probes) < 0;
    bad = bad || json_set_text(o, "reason", r->reason) < 0;
    bad = bad || json_set_text(o, "refused", r->lost) < 0;
    bad = bad || components_kinds_append(drop, dropped) < 0;
    bad = bad || json_object_set(o, "dropped", drop) < 0;
    for (int i = 0; !bad && i < r->ntrials; i++)
        bad = json_array_append_new(cands, trial_json(&r->trials[i])) < 0;
    bad = bad || json_object_set(o, "candidates", cands) < 0;
    json_decref(floor);
    json_decref(drop);
    json_decref(cands);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* The result of a conversion to an asked-for format. */
static json_t *convert_json(const char *in_path, const char *out_path, const char *in_format,
                            const char *format, size_t in_bytes, size_t out_bytes, int width,
                            int height, int lossless, const char *mode, unsigned dropped,
                            unsigned parts, double ms)
{
    json_t *o = json_object(), *drop = json_array();
    int bad = !o || !drop;
    bad = bad || json_set_text(o, "in", in_path) < 0;
    bad = bad || json_set_text(o, "out", out_path) < 0;
    bad = bad || json_set_text(o, "in_format", in_format) < 0;
    bad = bad || json_set_text(o, "format", format) < 0;
    bad = bad || json_set_int(o, "in_bytes", (long long)in_bytes) < 0;
    bad = bad || json_set_int(o, "out_bytes", (long long)out_bytes) < 0;
    bad = bad || json_set_fixed(o, "ratio", (double)out_bytes / (double)in_bytes, 4) < 0;
    bad = bad || json_set_int(o, "width", width) < 0;
    bad = bad || json_set_int(o, "height", height) < 0;
    bad = bad || json_object_set_new(o, "lossless", json_boolean(lossless)) < 0;
    bad = bad || json_set_text(o, "mode", mode) < 0;
    if (!bad && (dropped & META_HAS_EXIF))
        bad = json_array_append_new(drop, json_string("exif")) < 0;
    if (!bad && (dropped & META_HAS_XMP))
        bad = json_array_append_new(drop, json_string("xmp")) < 0;
    if (!bad && (dropped & META_HAS_ICC))
        bad = json_array_append_new(drop, json_string("icc")) < 0;
    bad = bad || components_kinds_append(drop, parts) < 0;
    bad = bad || json_object_set(o, "dropped", drop) < 0;
    bad = bad || json_set_fixed(o, "ms", ms, 1) < 0;
    json_decref(drop);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int convert_search(const char *in_path, const char *out_path, const char *to,
                          const char *codecs, const struct codec_opts *eo, struct search_opts *so,
                          int max_edge, unsigned keep, int drop_parts, int json)
{
    struct search_candidate cands[8];
    struct media_info *mi = NULL;
    unsigned dropped = 0;
    struct codec_opts dopts;
    struct tp_buf in = { 0 };
    struct image img = { 0 };
    struct meta m;
    struct search_result res;
    char renamed[4096];
    int n, ret;

    memset(&res, 0, sizeof(res));
    if (max_edge)
        return cli_usage_error("convert", "--max-edge cannot be combined with --ssim: the floor "
                                          "compares against the original's pixels");
    if (so->floor.ssim <= 0)
        return cli_usage_error("convert", "--codecs needs --ssim (the floor to meet)");
    if (codecs) {
        if ((n = parse_codecs(codecs, cands, 8, eo)) < 0)
            return 2;
    } else {
        const struct codec *oc = to ? codec_find_by_name(to) : codec_find_by_suffix(out_path, 0);
        if (!oc || !(oc->caps & CODEC_CAP_ENCODE))
            return cli_usage_error("convert", "cannot tell the output format: use --to or --codecs");
        cands[0] = (struct search_candidate){ oc, eo->effort, eo->subsampling, eo->bit_depth, eo->encoder };
        n = 1;
    }
    search_floor_derive(&so->floor);
    so->keep = keep;
    meta_init(&m);
    codec_opts_defaults(&dopts);
    if ((ret = file_read(in_path, dopts.limits.max_file_bytes, &in)) < 0 ||
        (ret = codec_decode_any(in.data, in.len, in_path, &dopts, &img, &m, NULL)) < 0) {
        cli_fail(in_path, ret);
        goto end;
    }
    if (!(mi = tp_malloc(sizeof(*mi))) ||
        (ret = probe_media(in.data, in.len, in_path, &dopts.limits, mi)) < 0) {
        cli_fail(in_path, mi ? ret : TP_ERR(ENOMEM));
        ret = -1;
        goto end;
    }
    so->carry = drop_parts ? NULL : &mi->comp; /* the components rule (components.h) */
    if ((ret = search_run(in.data, in.len, &img, &m, cands, n, so, &res)) < 0) {
        cli_fail(in_path, ret);
        goto end;
    }
    /* the name says what the content is: another codec won, so OUT.avif
     * becomes OUT.jxl (reported); with --to the user fixed the format: refused */
    if (!res.kept_original && codecs) {
        const struct codec *named = to ? codec_find_by_name(to) : codec_find_by_suffix(out_path, 0);
        const char *suffix = res.codec->suffixes ? res.codec->suffixes[0] : NULL;
        if (named && named != res.codec && to) {
            cli_error_line("tierpress: %s: refused: the smallest output meeting the floor is %s, "
                           "not %s (--to %s); nothing written", out_path, res.codec->name,
                           named->name, to);
            ret = TP_ERR_USAGE;
            goto end;
        }
        if (named && named != res.codec && suffix) {
            const char *dot = strrchr(out_path, '.'), *slash = strrchr(out_path, '/');
            size_t stem = dot && (!slash || dot > slash) ? (size_t)(dot - out_path) : strlen(out_path);
            if (snprintf(renamed, sizeof(renamed), "%.*s%s", (int)stem, out_path, suffix) >=
                (int)sizeof(renamed)) {
                cli_error_line("tierpress: %s: name too long", out_path);
                ret = TP_ERR(ENAMETOOLONG);
                goto end;
            }
            tp_log(TP_LOG_WARN, "%s won, not %s: writing %s instead of %s", res.codec->name,
                   named->name, renamed, out_path);
            out_path = renamed;
        }
    }
    if (drop_parts && !res.kept_original && !res.lossless &&
        (ret = dropped_parts(&mi->comp, &res.out, &dropped)) < 0) {
        cli_fail(out_path, ret);
        goto end;
    }
    if (!res.kept_original && (ret = file_write_atomic(out_path, res.out.data, res.out.len)) < 0) {
        cli_fail(out_path, ret);
        goto end;
    }
    if (json) {
        json_print(stdout, search_json(in_path, out_path, &res, so, dropped));
    } else if (res.kept_original) {
        printf("%s: keep the original (%s); %s not written\n", in_path, res.reason, out_path);
    } else {
        printf("%s (%zu bytes) -> %s (%s q%d %s, %zu bytes, %.1f%%): ssim %.5f, tile %.5f, "
               "cb %.5f, cr %.5f, %d probes\n", in_path, res.in_bytes, out_path, res.codec->name,
               res.quality, res.subsampling == 444 ? "4:4:4" : res.subsampling == 420 ? "4:2:0" : "",
               res.out.len, 100.0 * res.out.len / res.in_bytes, res.ssim, res.min_tile, res.ssim_cb,
               res.ssim_cr, res.probes);
    }
    ret = 0;
end:
    tp_free(mi);
    search_result_free(&res);
    image_free(&img);
    meta_free(&m);
    buf_free(&in);
    return ret < 0 ? 1 : 0;
}

int cmd_convert(const struct cli *cli, int argc, char **argv)
{
    enum { O_TO = 256, O_Q, O_LOSSLESS, O_EFFORT, O_SUB, O_ENC, O_EDGE, O_UPRIGHT, O_KEEP, O_JSON,
           O_SSIM, O_TILE, O_CHROMA, O_CODECS, O_SAVING, O_PROBES, O_DROP, O_BA, O_CPU,
           O_NO_MOSAIC, O_NO_PREDICT, O_NO_PRESETS };
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
        { "ssim", required_argument, NULL, O_SSIM },
        { "tile-ssim", required_argument, NULL, O_TILE },
        { "chroma-ssim", required_argument, NULL, O_CHROMA },
        { "codecs", required_argument, NULL, O_CODECS },
        { "min-saving", required_argument, NULL, O_SAVING },
        { "max-probes", required_argument, NULL, O_PROBES },
        { "drop-parts", no_argument, NULL, O_DROP },
        { "butteraugli-max", required_argument, NULL, O_BA },
        { "max-cpu-s-per-mp", required_argument, NULL, O_CPU },
        { "no-mosaic", no_argument, NULL, O_NO_MOSAIC },
        { "no-predict", no_argument, NULL, O_NO_PREDICT },
        { "no-presets", no_argument, NULL, O_NO_PRESETS },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct codec_opts eo, dopts;
    const char *to = NULL;
    int max_edge = 0, upright = 0, json = 0, drop_parts = 0, c, ret;
    unsigned keep = META_KEEP_ALL;
    struct search_opts so;
    const char *codecs = NULL;
    (void)cli;

    codec_opts_defaults(&eo);
    search_opts_defaults(&so);
    so.floor.ssim = 0;
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
        case O_DROP: drop_parts = 1; break;
        case O_SSIM:
        case O_TILE:
        case O_CHROMA:
        case O_SAVING: {
            char *end;
            double v = strtod(optarg, &end);
            double lo = c == O_SAVING ? 0.0 : 0.5;
            if (*optarg == '\0' || *end != '\0' || !(v >= lo && v <= 1.0))
                return cli_usage_error("convert", "%s expects a number in %g..1, got '%s'",
                                       opts[c - O_TO].name, lo, optarg);
            if (c == O_SSIM)
                so.floor.ssim = v;
            else if (c == O_TILE)
                so.floor.tile = v;
            else if (c == O_CHROMA)
                so.floor.chroma = v;
            else
                so.min_saving = v;
            break;
        }
        case O_CODECS: codecs = optarg; break;
        case O_PROBES:
            if (parse_int("convert", "--max-probes", optarg, 2, 50, &so.max_probes))
                return 2;
            break;
        case O_BA: {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(v >= 0.1 && v <= 10))
                return cli_usage_error("convert", "--butteraugli-max expects a number in 0.1..10, "
                                       "got '%s'", optarg);
            so.floor.butteraugli = v;
            break;
        }
        case O_CPU: {
            char *end;
            double v = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || !(v >= 0.01 && v <= 1000))
                return cli_usage_error("convert", "--max-cpu-s-per-mp expects a number in "
                                       "0.01..1000, got '%s'", optarg);
            so.max_cpu_s_per_mp = v;
            break;
        }
        case O_NO_MOSAIC: so.mosaic = 0; break;
        case O_NO_PREDICT: so.predict = 0; break;
        case O_NO_PRESETS: so.presets = 0; break;
        case 'h': convert_help(stdout); return 0;
        default: return cli_usage_error("convert", "bad option");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("convert", "expected IN and OUT");
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    if (keep == 0) /* --keep none: nothing but the pixels, deliberately */
        drop_parts = 1;
    if (so.floor.ssim > 0 || codecs)
        return convert_search(in_path, out_path, to, codecs, &eo, &so, max_edge, keep,
                              drop_parts, json);

    const struct codec *oc = to ? codec_find_by_name(to) : codec_find_by_suffix(out_path, 0);
    if (!oc) {
        if (to)
            return cli_usage_error("convert", "unknown format '%s' for --to", to);
        return cli_usage_error("convert", "cannot tell the output format from '%s'; use --to",
                               out_path);
    }
    if (!(oc->caps & CODEC_CAP_ENCODE)) {
        cli_error_line("tierpress: %s: format %s cannot be written", out_path, oc->name);
        return 1;
    }

    struct tp_buf in = { 0 }, out = { 0 };
    struct image img = { 0 }, tmp = { 0 };
    struct meta m;
    struct codec_ctx *ectx = NULL;
    const struct codec *ic = NULL;
    unsigned dropped = 0;
    int how_lossless = 0;
    unsigned parts = 0;
    struct media_info *mi = NULL;
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
    /* the components rule: a pixel re-encode that loses a part of the
     * source is refused unless the parts are dropped deliberately */
    if (!(mi = tp_malloc(sizeof(*mi)))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if ((ret = probe_media(in.data, in.len, in_path, &dopts.limits, mi)) < 0) {
        failed_on = in_path;
        goto end;
    }
    if (drop_parts) {
        if ((ret = dropped_parts(&mi->comp, &out, &parts)) < 0)
            goto end;
    } else {
        struct media_info *mo = tp_malloc(sizeof(*mo));
        char lost[200];
        ret = mo ? probe_media(out.data, out.len, NULL, NULL, mo) : TP_ERR(ENOMEM);
        if (ret >= 0) {
            /* a conversion the user asked for: the frames, the bit depth, the
             * transfer, the colour primaries and unexplained trailing bytes
             * it cannot keep are written with a warning (those with a kind
             * listed in "dropped"; run refuses them all); the parts (gain
             * map, video, aux images) are refused */
            parts = components_lost_kinds(&mi->comp, &mo->comp);
            char soft[200];
            struct components hard = mi->comp;
            hard.nparts = 0;
            for (int i = 0; i < mi->comp.nparts; i++) {
                const struct comp_part *cp = &mi->comp.parts[i];
                if (cp->kind != COMP_ANIMATION &&
                    !(cp->kind == COMP_TRAILING && strcmp(cp->detail, "recognised")))
                    hard.parts[hard.nparts++] = *cp;
            }
            hard.frames = 1;
            hard.bit_depth = 8;
            hard.transfer[0] = 0;
            hard.icc = 1; /* primaries described elsewhere: not compared */
            struct components only_soft = mi->comp;
            only_soft.nparts = 0;
            for (int i = 0; i < mi->comp.nparts; i++)
                if (mi->comp.parts[i].kind == COMP_ANIMATION ||
                    mi->comp.parts[i].kind == COMP_TRAILING)
                    only_soft.parts[only_soft.nparts++] = mi->comp.parts[i];
            if (components_compare(&only_soft, &mo->comp, soft, sizeof(soft)) < 0)
                tp_log(TP_LOG_WARN, "%s: %s lost %s", out_path, oc->name, soft);
            tp_err_clear();
            *mi = (struct media_info){ .comp = hard };
        }
        if (ret >= 0 && components_compare(&mi->comp, &mo->comp, lost, sizeof(lost)) < 0) {
            tp_err_set("%s would lose %s; write a format that carries it (a JPEG's parts: "
                       "lossless .jxl), or --drop-parts to drop it deliberately", oc->name, lost);
            ret = TP_ERR_VERIFY;
        }
        tp_free(mo);
        if (ret < 0) {
            failed_on = in_path;
            goto end;
        }
    }

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
        json_print(stdout, convert_json(in_path, out_path, ic->name, oc->name, in.len, out.len,
                                        ow, oh, eo.lossless || how_lossless,
                                        how_lossless == 1   ? "recompress"
                                        : how_lossless == 2 ? "reconstruct"
                                                            : "pixels",
                                        dropped, parts, ms));
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
    tp_free(mi);
    codec_close(&ectx);
    image_free(&img);
    image_free(&tmp);
    meta_free(&m);
    buf_free(&in);
    buf_free(&out);
    return ret < 0 ? 1 : 0;
}
