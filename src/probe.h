#ifndef TP_SRC_PROBE_H
#define TP_SRC_PROBE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
    char icc_desc[128];
    size_t exif_bytes, xmp_bytes, icc_bytes;
    uint64_t bytes;
    double duration;            /* video seconds, 0 for stills */
};

/* Reads the headers (no full decode where the codec allows) and the
 * metadata. Errors carry a detail message. */
int probe_media(const uint8_t *data, size_t len, const char *path,
                const struct image_limits *limits, struct media_info *out);
void probe_print_json(FILE *f, const struct media_info *mi, const char *path);

#endif /* TP_SRC_PROBE_H */
