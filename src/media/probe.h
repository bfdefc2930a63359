#ifndef TP_SRC_PROBE_H
#define TP_SRC_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "components.h"
#include "json.h"

#include "image.h"

struct codec;

/* What `tierpress info` shows and ingest stores in the catalog. */
struct media_info {
    const struct codec *codec;  /* borrowed, static */
    char format[16];            /* codec name: "jpeg", "heif", ... */
    char kind[8];               /* "image" or "video" */
    int width, height;          /* as stored */
    int display_width, display_height; /* after orientation */
    int bit_depth, channels, alpha, frames;
    int orientation;            /* 1..8 */
    char capture_time[20];      /* "YYYY:MM:DD HH:MM:SS" or "" */
    char make[64], model[64];
    int has_gps;
    int has_gps_coords;
    double gps_lat, gps_lon;
    char offset_time[8];        /* EXIF OffsetTimeOriginal ("+02:00") or "" */
    int exif_orientation;       /* the EXIF Orientation tag, 0 when absent */
    char icc_desc[128];
    size_t exif_bytes, xmp_bytes, icc_bytes;
    uint64_t bytes;
    double duration;            /* video seconds, 0 for stills */
    /* video only (kind "video"; see codecs/video.h) */
    char container[16];         /* "mp4", "mov", "3gp", "webm", "matroska" */
    char vcodec[16], acodec[16]; /* FFmpeg codec names ("h264", "aac"); acodec "" if none */
    double fps;                 /* average frame rate */
    int64_t bit_rate;           /* bit/s of the whole file */
    int rotation;               /* clockwise display rotation 0/90/180/270 */
    char creation_time[40];     /* as stored, e.g. "2019-12-20T20:08:34.000000Z" */
    char content_id[64];        /* Apple Live Photo ContentIdentifier, "" if none: a still's
                                 * from its EXIF maker note, a clip's from its QuickTime
                                 * key com.apple.quicktime.content.identifier */
    char transfer[24];          /* colour transfer name ("bt709", "smpte2084"), "" if unset */
    int hdr;                    /* transfer is PQ or HLG */
    struct components comp;     /* images: the inventory of parts (components.h) */
};

/* Reads the headers (no full decode where the codec allows) and the
 * metadata. Errors carry a detail message. */
int probe_media(const uint8_t *data, size_t len, const char *path,
                const struct image_limits *limits, struct media_info *out);
/* The one JSON form of a probed file (info --json; keys in docs/json.md:
 * the catalog's names, camera_make/camera_model, ISO 8601 times).  Caller
 * owns the result (json_decref); NULL on out of memory. */
json_t *probe_to_json(const struct media_info *mi, const char *path);
void probe_print_json(FILE *f, const struct media_info *mi, const char *path);

#endif /* TP_SRC_PROBE_H */
