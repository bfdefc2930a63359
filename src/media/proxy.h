#ifndef TP_SRC_PROXY_H
#define TP_SRC_PROXY_H

#include <stdint.h>

#include "fingerprint.h"
#include "image.h"
#include "mem.h"
#include "meta.h"

/* Browse proxies (thumbnails, previews) made from one decode: the largest
 * proxy is resized from the decoded pixels, each smaller one from the next
 * larger proxy.  All are upright (orientation applied, tag 1), sRGB (a
 * non-sRGB RGB ICC profile is converted; no ICC is embedded) and carry
 * only the metadata their keep mask allows, never GPS. */

#define PROXY_MAX 8

/* A proxy of format "mp4" is the preview of a motion photo's embedded video
 * (its H.264 720p clip preview, no poster): made only for images whose
 * inventory has a motion part, skipped for every other file. */
#define PROXY_FORMAT_MOTION "mp4"

struct proxy_spec {
    char name[16];      /* rendition name: "thumb", "preview", ... */
    char format[16];    /* codec name: "webp", "jpeg", ...; or PROXY_FORMAT_MOTION */
    int max_edge;       /* longer edge in pixels, 16..16384; never upscaled */
    int quality;        /* 0..100 */
    unsigned keep;      /* META_KEEP_* mask; META_KEEP_NOGPS by default */
};

struct proxy_set {
    struct proxy_spec spec[PROXY_MAX];
    int n;
};

/* Default set: preview 2048 px JPEG q85, thumb 256 px WebP q80. */
void proxy_set_defaults(struct proxy_set *s);
/* Parses "NAME:FORMAT:EDGE[:QUALITY]" (e.g. "thumb:webp:256:80") and adds
 * or replaces the proxy of that name. TP_ERR_USAGE with a detail message. */
int proxy_set_parse(struct proxy_set *s, const char *spec);
/* Sets the edge of the named proxy (error if absent). */
int proxy_set_edge(struct proxy_set *s, const char *name, int edge);
/* Range checks; sorts by decreasing edge (the order they are made in). */
int proxy_set_validate(struct proxy_set *s);

/* The decode size that covers every proxy: writes the minimum stored
 * (pre-orientation) width and height a scaled decode may return, for an
 * image of w x h stored pixels displayed with orientation. */
void proxy_decode_min(const struct proxy_set *s, int w, int h, int orientation, int *min_w_out,
                      int *min_h_out);

struct proxy_out {
    char name[16];
    char format[16];    /* the codec actually used (JPEG if the asked one is missing) */
    int width, height;
    struct tp_buf data; /* the encoded file; owned, free with proxy_out_free() */
};

/* Makes every proxy of s from img (pixels as decoded, any depth/channels)
 * and its meta m (orientation and blobs of the source; not modified).
 * out[] receives s->n results in s's order.  On failure out[] is freed. */
int proxy_make(const struct proxy_set *s, const struct image *img, const struct meta *m,
               struct proxy_out out[PROXY_MAX]);
/* proxy_make, and when fp is not NULL the picture's perceptual fingerprint
 * from the smallest proxy's pixels (upright, sRGB; no decode of its own):
 * *fp_ok_out is 1 when *fp was made (0 for a picture too small). */
int proxy_make_fp(const struct proxy_set *s, const struct image *img, const struct meta *m,
                  struct proxy_out out[PROXY_MAX], struct fingerprint *fp, int *fp_ok_out);
void proxy_out_free(struct proxy_out out[PROXY_MAX], int n);

#endif /* TP_SRC_PROXY_H */
