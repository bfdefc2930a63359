#ifndef TP_SRC_EXIF_H
#define TP_SRC_EXIF_H

#include <stddef.h>
#include <stdint.h>

/* A minimal, bounds-checked EXIF (TIFF) reader and editor.  Input is the
 * TIFF structure (starting "II*\0" or "MM\0*"); all offsets are checked. */

struct exif_info {
    int orientation;            /* 1..8, 0 when absent */
    char datetime_original[20]; /* "YYYY:MM:DD HH:MM:SS" or "" */
    char make[64];
    char model[64];
    int has_gps;                /* a GPS IFD with at least one entry */
    double gps_lat, gps_lon;    /* valid when has_gps_coords */
    int has_gps_coords;
    char offset_time_original[8]; /* "+02:00" (OffsetTimeOriginal) or "" */
    char content_id[64];        /* Apple Live Photo ContentIdentifier (the Apple iOS
                                 * maker note's tag 0x0011) or "" */
};

/* Fills *info; TP_ERR_INVALIDDATA if the structure is unreadable. */
int exif_parse(const uint8_t *data, size_t len, struct exif_info *info);
/* Rewrites the orientation tag in place (if present); returns 1 if changed,
 * 0 if the tag is absent, negative on malformed data. */
int exif_set_orientation(uint8_t *data, size_t len, int orientation);
/* Removes the GPS IFD pointer from IFD0 and zeroes the GPS IFD entries in
 * place; returns 1 if GPS was present and removed, 0 if absent. */
int exif_strip_gps(uint8_t *data, size_t len);
/* Strips a leading "Exif\0\0" (and any bytes before the TIFF header, up to
 * 16) and returns the offset of the TIFF header, or negative. */
int exif_find_tiff(const uint8_t *data, size_t len);

/* Writes a minimal little-endian EXIF holding only the Orientation tag
 * (26 bytes) into out, which must hold EXIF_MINIMAL_SIZE bytes. */
#define EXIF_MINIMAL_SIZE 26
void exif_write_minimal(uint8_t *out, int orientation);

#endif /* TP_SRC_EXIF_H */
