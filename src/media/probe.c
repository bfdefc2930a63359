/* Header and metadata probing shared by `info` and ingest. */
#include <string.h>

#include "codec.h"
#include "components.h"
#include "err.h"
#include "exif.h"
#include "icc.h"
#include "json.h"
#include "timeutil.h"
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
            memcpy(mi->content_id, ei.content_id, sizeof(mi->content_id));
        }
    }
    if (!mi->has_gps && m.xmp.len && xmp_count_location(m.xmp.data, m.xmp.len, XMP_LOC_GPS) > 0)
        mi->has_gps = 1;
    tp_err_clear();
    if (m.icc.len)
        icc_description(m.icc.data, m.icc.len, mi->icc_desc, sizeof(mi->icc_desc));
    components_probe(data, len, c->name, img.width, img.height, img.bit_depth, mi->frames,
                     mi->alpha, m.icc.len > 0, &mi->comp);
    if (mi->comp.transfer[0] && !mi->transfer[0]) {
        snprintf(mi->transfer, sizeof(mi->transfer), "%s",
                 !strcmp(mi->comp.transfer, "pq") ? "smpte2084" : "arib-std-b67");
        mi->hdr = 1;
    }
    ret = 0;
end:
    image_free(&img);
    meta_free(&m);
    return ret;
}

json_t *probe_to_json(const struct media_info *mi, const char *path)
{
    char t[48];
    json_t *o = json_object();
    int ret = 0;
    if (!o)
        return NULL;
    ret |= json_set_text(o, "file", path);
    ret |= json_set_text(o, "format", mi->format);
    ret |= json_set_text(o, "kind", mi->kind);
    ret |= json_set_int(o, "width", mi->width);
    ret |= json_set_int(o, "height", mi->height);
    ret |= json_set_int(o, "display_width", mi->display_width);
    ret |= json_set_int(o, "display_height", mi->display_height);
    ret |= json_set_int(o, "bit_depth", mi->bit_depth);
    ret |= json_set_int(o, "channels", mi->channels);
    ret |= json_object_set_new(o, "alpha", json_boolean(mi->alpha));
    ret |= json_set_int(o, "frames", mi->frames);
    ret |= json_set_int(o, "orientation", mi->orientation);
    ret |= json_set_text(o, "capture_time", time_exif_to_iso(mi->capture_time, t, sizeof(t)));
    ret |= json_set_text(o, "camera_make", mi->make);
    ret |= json_set_text(o, "camera_model", mi->model);
    ret |= json_object_set_new(o, "gps", json_boolean(mi->has_gps));
    if (mi->has_gps_coords) {
        ret |= json_set_real(o, "gps_lat", mi->gps_lat);
        ret |= json_set_real(o, "gps_lon", mi->gps_lon);
    }
    if (mi->icc_desc[0] || mi->icc_bytes)
        ret |= json_object_set_new(o, "icc", json_text(mi->icc_desc[0] ? mi->icc_desc : "?"));
    else
        ret |= json_object_set_new(o, "icc", json_null());
    ret |= json_set_int(o, "exif_bytes", (long long)mi->exif_bytes);
    ret |= json_set_int(o, "xmp_bytes", (long long)mi->xmp_bytes);
    ret |= json_set_int(o, "icc_bytes", (long long)mi->icc_bytes);
    ret |= json_set_int(o, "bytes", (long long)mi->bytes);
    if (mi->duration > 0)
        ret |= json_set_real(o, "duration", mi->duration);
    if (!strcmp(mi->kind, "image")) {
        /* the inventory of parts (components.h) */
        const struct components *c = &mi->comp;
        ret |= json_set_new(o, "primary", components_primary_json(c));
        ret |= json_set_new(o, "components", components_json(c));
    }
    if (!strcmp(mi->kind, "video")) {
        ret |= json_set_text(o, "container", mi->container);
        ret |= json_set_text(o, "vcodec", mi->vcodec);
        ret |= json_set_text(o, "acodec", mi->acodec);
        ret |= json_set_real(o, "fps", mi->fps);
        ret |= json_set_int(o, "bit_rate", (long long)mi->bit_rate);
        ret |= json_set_int(o, "rotation", mi->rotation);
        ret |= json_set_text(o, "creation_time", time_exif_to_iso(mi->creation_time, t, sizeof(t)));
        ret |= json_set_text(o, "transfer", mi->transfer);
        ret |= json_object_set_new(o, "hdr", json_boolean(mi->hdr));
    }
    if (mi->content_id[0] || !strcmp(mi->kind, "video"))
        ret |= json_set_text(o, "content_id", mi->content_id);
    if (ret) {
        json_decref(o);
        return NULL;
    }
    return o;
}

void probe_print_json(FILE *f, const struct media_info *mi, const char *path)
{
    json_print(f, probe_to_json(mi, path));
}
