/* Header and metadata probing shared by `info` and ingest. */
#include <string.h>

#include "codec.h"
#include "err.h"
#include "exif.h"
#include "icc.h"
#include "json.h"
#include "meta.h"
#include "probe.h"
#if HAVE_VIDEO
#include "video.h"
#include "xmp.h"
#endif

int probe_media(const uint8_t *data, size_t len, const char *path,
                const struct image_limits *limits, struct media_info *mi)
{
    struct codec_opts o;
    struct image img = { 0 };
    struct meta m;
    const struct codec *c;
    int ret;

    memset(mi, 0, sizeof(*mi));
    codec_opts_defaults(&o);
    if (limits)
        o.limits = *limits;
    o.header_only = 1;
    meta_init(&m);
#if HAVE_VIDEO
    c = codec_find_for_data(data, len, path, CODEC_CAP_DECODE);
    if (len && c && (c->caps & CODEC_CAP_VIDEO)) {
        struct video_limits vl;
        video_limits_from_image(&vl, &o.limits);
        if ((ret = video_probe_info(data, len, &vl, mi)) < 0)
            goto end;
        mi->codec = c;
        snprintf(mi->format, sizeof(mi->format), "%s", c->name);
        mi->bytes = len;
        goto end;
    }
#endif
    ret = codec_decode_any(data, len, path, &o, &img, &m, &c);
    if (ret < 0)
        goto end;
    mi->codec = c;
    snprintf(mi->format, sizeof(mi->format), "%s", c->name);
    snprintf(mi->kind, sizeof(mi->kind), "%s", c->caps & CODEC_CAP_VIDEO ? "video" : "image");
    mi->width = img.width;
    mi->height = img.height;
    mi->bit_depth = img.bit_depth;
    mi->channels = img.channels;
    mi->alpha = image_has_alpha(&img);
    mi->frames = img.frames ? img.frames : 1;
    mi->orientation = m.orientation >= 1 && m.orientation <= 8 ? m.orientation : 1;
    int swap = mi->orientation >= 5;
    mi->display_width = swap ? img.height : img.width;
    mi->display_height = swap ? img.width : img.height;
    mi->bytes = len;
    mi->exif_bytes = m.exif.len;
    mi->xmp_bytes = m.xmp.len;
    mi->icc_bytes = m.icc.len;
    if (m.exif.len) {
        struct exif_info ei;
        int off = exif_find_tiff(m.exif.data, m.exif.len);
        if (off >= 0 && exif_parse(m.exif.data + off, m.exif.len - (size_t)off, &ei) == 0) {
            memcpy(mi->capture_time, ei.datetime_original, sizeof(mi->capture_time));
            memcpy(mi->make, ei.make, sizeof(mi->make));
            memcpy(mi->model, ei.model, sizeof(mi->model));
            mi->has_gps = ei.has_gps;
            mi->has_gps_coords = ei.has_gps_coords;
            mi->gps_lat = ei.gps_lat;
            mi->gps_lon = ei.gps_lon;
            memcpy(mi->offset_time, ei.offset_time_original, sizeof(mi->offset_time));
            mi->exif_orientation = ei.orientation;
        }
    }
    if (!mi->has_gps && m.xmp.len && xmp_count_location(m.xmp.data, m.xmp.len, XMP_LOC_GPS) > 0)
        mi->has_gps = 1;
    tp_err_clear();
    if (m.icc.len)
        icc_description(m.icc.data, m.icc.len, mi->icc_desc, sizeof(mi->icc_desc));
    ret = 0;
end:
    image_free(&img);
    meta_free(&m);
    return ret;
}

void probe_print_json(FILE *f, const struct media_info *mi, const char *path)
{
    fprintf(f, "{\"file\":");
    json_str(f, path);
    fprintf(f, ",\"format\":\"%s\",\"kind\":\"%s\",\"width\":%d,\"height\":%d,"
               "\"display_width\":%d,\"display_height\":%d,\"bit_depth\":%d,\"channels\":%d,"
               "\"alpha\":%s,\"frames\":%d,\"orientation\":%d,\"capture_time\":",
            mi->format, mi->kind, mi->width, mi->height, mi->display_width, mi->display_height,
            mi->bit_depth, mi->channels, mi->alpha ? "true" : "false", mi->frames,
            mi->orientation);
    json_str(f, mi->capture_time[0] ? mi->capture_time : NULL);
    fprintf(f, ",\"make\":");
    json_str(f, mi->make[0] ? mi->make : NULL);
    fprintf(f, ",\"model\":");
    json_str(f, mi->model[0] ? mi->model : NULL);
    fprintf(f, ",\"gps\":%s", mi->has_gps ? "true" : "false");
    if (mi->has_gps_coords) {
        fprintf(f, ",\"gps_lat\":");
        json_num(f, mi->gps_lat);
        fprintf(f, ",\"gps_lon\":");
        json_num(f, mi->gps_lon);
    }
    fprintf(f, ",\"icc\":");
    json_str(f, mi->icc_desc[0] ? mi->icc_desc : (mi->icc_bytes ? "" : NULL));
    fprintf(f, ",\"exif_bytes\":%zu,\"xmp_bytes\":%zu,\"icc_bytes\":%zu,\"bytes\":%llu",
            mi->exif_bytes, mi->xmp_bytes, mi->icc_bytes, (unsigned long long)mi->bytes);
    if (mi->duration > 0) {
        fprintf(f, ",\"duration\":");
        json_num(f, mi->duration);
    }
    if (!strcmp(mi->kind, "video")) {
        fprintf(f, ",\"container\":\"%s\",\"vcodec\":\"%s\",\"acodec\":", mi->container,
                mi->vcodec);
        json_str(f, mi->acodec[0] ? mi->acodec : NULL);
        fprintf(f, ",\"fps\":");
        json_num(f, mi->fps);
        fprintf(f, ",\"bit_rate\":%lld,\"rotation\":%d,\"creation_time\":",
                (long long)mi->bit_rate, mi->rotation);
        json_str(f, mi->creation_time[0] ? mi->creation_time : NULL);
        fprintf(f, ",\"transfer\":");
        json_str(f, mi->transfer[0] ? mi->transfer : NULL);
        fprintf(f, ",\"hdr\":%s", mi->hdr ? "true" : "false");
    }
    fprintf(f, "}\n");
}
