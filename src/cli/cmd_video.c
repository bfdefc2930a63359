/* tierpress video preview|cold IN OUT.mp4 [options] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "video.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "json.h"
#include "video_ssim.h"

static void video_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress video preview IN OUT.mp4 [--max-edge N] [--json]\n"
        "       tierpress video cold IN OUT.mp4 [--codec hevc|av1] [--ssim S] [--min-ssim T]\n"
        "                                       [--crf-min A] [--crf-max B] [--probes N]\n"
        "                                       [--samples N] [--preset P] [--min-saving F]\n"
        "                                       [--compare ssim|lavfi] [--json]\n"
        "\n"
        "preview: H.264 + AAC in a faststart MP4, upright (rotation applied), the\n"
        "  shorter edge at most 720 (--max-edge) and the longer at most 1280, no\n"
        "  metadata but the creation time (no location).\n"
        "cold: re-encodes the video to HEVC (x265, default) or AV1 (SVT-AV1) at the\n"
        "  highest CRF whose SSIM on frames sampled across the clip has a mean of at\n"
        "  least S (default 0.95) and a worst frame of at least T (default 0.90);\n"
        "  audio is copied, creation time, location and rotation are kept.  When no\n"
        "  candidate saves --min-saving (default 0.10) of the size, OUT is not\n"
        "  written and the original should be kept.  Frames are compared with\n"
        "  tierpress's Gaussian SSIM on the luma (--compare ssim, default) or\n"
        "  libavfilter's ssim filter (--compare lavfi).\n");
}

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || !(v >= lo && v <= hi))
        return cli_usage_error("video", "%s expects a number in %g..%g, got '%s'", opt, lo, hi, s);
    *out = v;
    return 0;
}

int cmd_video(const struct cli *cli, int argc, char **argv)
{
    enum { O_EDGE = 256, O_CODEC, O_SSIM, O_MIN, O_CMIN, O_CMAX, O_PROBES, O_SAMPLES, O_PRESET,
           O_SAVING, O_JSON, O_COMPARE };
    static const struct option opts[] = {
        { "max-edge", required_argument, NULL, O_EDGE },
        { "codec", required_argument, NULL, O_CODEC },
        { "ssim", required_argument, NULL, O_SSIM },
        { "min-ssim", required_argument, NULL, O_MIN },
        { "crf-min", required_argument, NULL, O_CMIN },
        { "crf-max", required_argument, NULL, O_CMAX },
        { "probes", required_argument, NULL, O_PROBES },
        { "samples", required_argument, NULL, O_SAMPLES },
        { "preset", required_argument, NULL, O_PRESET },
        { "min-saving", required_argument, NULL, O_SAVING },
        { "json", no_argument, NULL, O_JSON },
        { "compare", required_argument, NULL, O_COMPARE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct video_preview_opts po;
    struct video_cold_opts co, set;
    double v = 0;
    int json = 0, c, ret, mask = 0, lavfi = 0;
    (void)cli;

    video_preview_defaults(&po);
    memset(&set, 0, sizeof(set));
    set.codec = VIDEO_COLD_HEVC;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h' && c != '?' && c != O_JSON && c != O_CODEC && c != O_PRESET &&
            c != O_COMPARE &&
            parse_num(opts[c - O_EDGE].name, optarg, 0, 1e6, &v))
            return 2;
        switch (c) {
        case O_EDGE: po.max_short_edge = (int)v; break;
        case O_CODEC:
            if (!strcmp(optarg, "hevc") || !strcmp(optarg, "h265"))
                set.codec = VIDEO_COLD_HEVC;
            else if (!strcmp(optarg, "av1"))
                set.codec = VIDEO_COLD_AV1;
            else
                return cli_usage_error("video", "--codec expects hevc or av1, got '%s'", optarg);
            break;
        case O_SSIM: set.ssim_floor = v; break;
        case O_MIN: set.tile_floor = v; break;
        case O_CMIN: set.crf_min = (int)v; break;
        case O_CMAX: set.crf_max = (int)v; break;
        case O_PROBES: set.max_probes = (int)v; break;
        case O_SAMPLES: set.samples = (int)v; break;
        case O_PRESET: set.preset = optarg; break;
        case O_SAVING: set.min_saving = v; break;
        case O_JSON: json = 1; break;
        case O_COMPARE:
            if (!strcmp(optarg, "lavfi"))
                lavfi = 1;
            else if (strcmp(optarg, "ssim"))
                return cli_usage_error("video", "--compare expects ssim or lavfi, got '%s'", optarg);
            break;
        case 'h': video_help(stdout); return 0;
        default: return cli_usage_error("video", "bad option");
        }
        if (c >= O_SSIM && c <= O_SAVING)
            mask |= 1 << (c - O_SSIM);
    }
    if (argc - optind != 3 || (strcmp(argv[optind], "preview") && strcmp(argv[optind], "cold")))
        return cli_usage_error("video", "expected preview|cold IN OUT");
    int cold = !strcmp(argv[optind], "cold");
    const char *in_path = argv[optind + 1], *out_path = argv[optind + 2];

    video_cold_defaults(&co, set.codec);
    if (mask & 1 << (O_SSIM - O_SSIM)) co.ssim_floor = set.ssim_floor;
    if (mask & 1 << (O_MIN - O_SSIM)) co.tile_floor = set.tile_floor;
    if (mask & 1 << (O_CMIN - O_SSIM)) co.crf_min = set.crf_min;
    if (mask & 1 << (O_CMAX - O_SSIM)) co.crf_max = set.crf_max;
    if (mask & 1 << (O_PROBES - O_SSIM)) co.max_probes = set.max_probes;
    if (mask & 1 << (O_SAMPLES - O_SSIM)) co.samples = set.samples;
    if (mask & 1 << (O_PRESET - O_SSIM)) co.preset = set.preset;
    if (mask & 1 << (O_SAVING - O_SSIM)) co.min_saving = set.min_saving;
    co.compare = lavfi ? video_compare_lavfi : video_ssim_compare;

    struct tp_buf in = { 0 }, out = { 0 };
    struct video_cold_report rep;
    const char *failed_on = in_path;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(&rep, 0, sizeof(rep));
    if ((ret = file_read(in_path, 1ull << 34, &in)) < 0)
        goto end;
    if (cold)
        ret = video_transcode_cold(in.data, in.len, &co, &out, &rep);
    else
        ret = video_make_preview(in.data, in.len, &po, &out);
    if (ret < 0)
        goto end;
    failed_on = out_path;
    if (out.len && (ret = file_write_atomic(out_path, out.data, out.len)) < 0)
        goto end;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (json) {
        json_t *o = json_object();
        int bad = json_set_text(o, "in", in_path) < 0 ||
                  json_set_text(o, "out", out.len ? out_path : NULL) < 0 ||
                  json_set_text(o, "mode", argv[optind]) < 0 ||
                  json_set_int(o, "in_bytes", (long long)in.len) < 0 ||
                  json_set_int(o, "out_bytes", (long long)(cold ? rep.out_bytes : out.len)) < 0 ||
                  json_set_fixed(o, "seconds", secs, 3) < 0;
        if (cold)
            bad = bad || json_set_text(o, "codec", co.codec == VIDEO_COLD_AV1 ? "av1" : "hevc") < 0 ||
                  json_set_bool(o, "keep_original", rep.keep_original) < 0 ||
                  json_set_int(o, "crf", rep.crf) < 0 || json_set_int(o, "probes", rep.probes) < 0 ||
                  json_set_int(o, "samples", rep.samples) < 0 ||
                  json_set_fixed(o, "ssim_mean", rep.ssim_mean, 5) < 0 ||
                  json_set_fixed(o, "ssim_min", rep.ssim_min, 5) < 0 ||
                  json_set_fixed(o, "duration", rep.duration, 3) < 0 ||
                  json_set_fixed(o, "encode_seconds", rep.encode_seconds, 3) < 0 ||
                  json_set_text(o, "compare", lavfi ? "lavfi" : "ssim") < 0;
        if (bad) {
            json_decref(o);
            o = NULL;
        }
        if ((ret = json_print(stdout, o)) < 0)
            goto end;
    } else if (cold && rep.keep_original) {
        printf("%s: keep the original (no candidate met SSIM %.3f/%.3f and saved %.0f%%; %d probes)\n",
               in_path, co.ssim_floor, co.tile_floor, co.min_saving * 100, rep.probes);
    } else if (cold) {
        printf("%s (%zu bytes) -> %s (%zu bytes, %.1f%%) crf %d, ssim mean %.4f min %.4f, %d probes, %.1f s\n",
               in_path, in.len, out_path, out.len, 100.0 * out.len / in.len, rep.crf, rep.ssim_mean,
               rep.ssim_min, rep.probes, secs);
    } else {
        printf("%s (%zu bytes) -> %s (%zu bytes) in %.1f s\n", in_path, in.len, out_path, out.len,
               secs);
    }
    ret = 0;
end:
    if (ret < 0)
        cli_fail(failed_on, ret);
    buf_free(&in);
    buf_free(&out);
    return ret < 0 ? 1 : 0;
}
