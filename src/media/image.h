#ifndef TP_SRC_IMAGE_H
#define TP_SRC_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* Decoded pixels, interleaved, top row first, as coded in the file: the
 * display orientation lives in struct meta, never applied implicitly.
 * depth 1: uint8_t samples 0..255; depth 2: native-endian uint16_t samples
 * scaled to the full 0..65535 range whatever the source bit depth. */
struct image {
    int width, height;
    int channels;       /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    int depth;          /* bytes per sample: 1 or 2 */
    int bit_depth;      /* significant bits in the source: 8, 10, 12, 16 */
    int frames;         /* frames in the source (only the first is decoded) */
    size_t stride;      /* bytes per row */
    uint8_t *data;      /* owned; free with image_free() */
};

/* Limits checked before any large allocation (dimensions read from a file
 * are untrusted). */
struct image_limits {
    uint64_t max_pixels;     /* default 100 000 000 */
    uint64_t max_file_bytes; /* default 1 GiB */
    int max_frames;          /* default 10 000 */
    int max_dimension;       /* default 65535 */
    uint64_t max_decode_bytes; /* pre-decode memory budget: w x h x 8 (RGBA, 16 bits) must fit;
                                * default 1 GiB, env TP_DECODE_BUDGET_MB (16..65536) */
};

void image_limits_defaults(struct image_limits *l);
/* TP_ERR_LIMIT (with a detail message) when w x h breaks the limits. */
int image_check_dims(const struct image_limits *l, uint64_t w, uint64_t h);

/* Allocates pixels for w x h x channels x depth.  On failure img is left
 * zeroed.  Caller owns img->data; free with image_free(). */
int image_alloc(struct image *img, int w, int h, int channels, int depth);
void image_free(struct image *img);
static inline int image_has_alpha(const struct image *img)
{
    return img->channels == 2 || img->channels == 4;
}

/* Converts to 8-bit RGB (channels 3) or RGBA (4) in place-out: out is a new
 * image.  Grey is expanded, 16-bit is rounded to 8. alpha: keep it (RGBA)
 * when the source has it, else RGB. */
int image_to_rgb8(const struct image *in, int keep_alpha, struct image *out);
/* Converts to 8-bit RGB with alpha composited over the given grey level. */
int image_to_rgb8_flat(const struct image *in, int background, struct image *out);

/* Applies an EXIF orientation (1..8) to the pixels: out shows what a viewer
 * honouring the tag shows.  out is a new image. */
int image_orient(const struct image *in, int orientation, struct image *out);

/* Resizes (area-averaging box/triangle filter, good for downscaling) so the
 * result is w x h.  Works on any channels/depth; out is new. */
int image_resize(const struct image *in, int w, int h, struct image *out);

/* Fits (w, h) inside a max_edge x max_edge box keeping the aspect ratio;
 * never upscales.  Writes at least 1 x 1. */
void image_fit(int w, int h, int max_edge, int *w_out, int *h_out);

#endif /* TP_SRC_IMAGE_H */
