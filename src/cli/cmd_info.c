/* tierpress info FILE... [--json] */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "probe.h"

static void info_help(FILE *f)
{
    fprintf(f, "usage: tierpress info FILE... [--json]\n"
               "\n"
               "Shows format, dimensions (stored and as displayed), bit depth, alpha,\n"
               "frames, orientation, capture time, camera, whether GPS is present, the\n"
               "ICC profile's description and the size.  The format is found from the\n"
               "content, never from the file name.\n"
               "\n"
               "  --json    one JSON object per file, one per line\n");
}

int cmd_info(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "json", no_argument, NULL, 'j' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int json = 0, c, status = 0;
    struct image_limits lim;
    (void)cli;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': info_help(stdout); return 0;
        default: return cli_usage_error("info", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("info", "no FILE given");
    image_limits_defaults(&lim);
    for (int i = optind; i < argc; i++) {
        struct tp_buf b = { 0 };
        struct media_info mi;
        int ret = file_read(argv[i], lim.max_file_bytes, &b);
        if (ret >= 0)
            ret = probe_media(b.data, b.len, argv[i], &lim, &mi);
        buf_free(&b);
        if (ret < 0) {
            status = cli_fail(argv[i], ret);
            continue;
        }
        if (json) {
            probe_print_json(stdout, &mi, argv[i]);
            continue;
        }
        printf("%s: %s %s %dx%d", argv[i], mi.kind, mi.format, mi.width, mi.height);
        if (mi.orientation != 1)
            printf(" (displayed %dx%d, orientation %d)", mi.display_width, mi.display_height,
                   mi.orientation);
        printf(", %d-bit%s", mi.bit_depth, mi.alpha ? ", alpha" : "");
        if (mi.frames > 1)
            printf(", %d frames", mi.frames);
        if (mi.duration > 0)
            printf(", %.2f s", mi.duration);
        printf(", %llu bytes\n", (unsigned long long)mi.bytes);
        if (!strcmp(mi.kind, "video")) {
            printf("  video:    %s, %s%s%s, %.3f fps, %lld bit/s, rotation %d\n", mi.container,
                   mi.vcodec, mi.acodec[0] ? " + " : "", mi.acodec, mi.fps,
                   (long long)mi.bit_rate, mi.rotation);
            if (mi.creation_time[0])
                printf("  created:  %s\n", mi.creation_time);
            if (mi.transfer[0])
                printf("  transfer: %s%s\n", mi.transfer, mi.hdr ? " (HDR)" : "");
        }
        if (mi.content_id[0])
            printf("  live:     content identifier %s\n", mi.content_id);
        if (mi.capture_time[0])
            printf("  captured: %s\n", mi.capture_time);
        if (mi.make[0] || mi.model[0])
            printf("  camera:   %s %s\n", mi.make, mi.model);
        printf("  gps:      %s\n", mi.has_gps ? "present" : "none");
        if (mi.icc_bytes)
            printf("  icc:      %s (%zu bytes)\n", mi.icc_desc[0] ? mi.icc_desc : "?", mi.icc_bytes);
        if (!strcmp(mi.kind, "image"))
            components_print_text(stdout, &mi.comp);
        printf("  metadata: exif %zu, xmp %zu, icc %zu bytes\n", mi.exif_bytes, mi.xmp_bytes,
               mi.icc_bytes);
    }
    return status;
}
