#ifndef TP_CODECS_VIDEO_H
#define TP_CODECS_VIDEO_H

/* Video originals through the FFmpeg libraries: plain-C entry points for
 * src/ (no FFmpeg header leaks out of codecs/video*.c).  Every function
 * reads the clip from memory through a custom AVIOContext, so nothing but
 * the caller's buffer is ever opened (no protocols, no external
 * references), and only the mov/mp4/3gp and matroska/webm demuxers run. */
#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "mem.h"

struct media_info;

/* Limits on an input clip, checked from the headers before decoding. */
struct video_limits {
    double max_duration;   /* seconds, default 3 h */
    uint64_t max_pixels;   /* per frame, default image_limits' max_pixels */
    int max_dimension;     /* default 65535 */
    int max_streams;       /* default 16 */
    double max_seconds;    /* wall-clock time limit per job, 0 = none (default 0) */
};

void video_limits_defaults(struct video_limits *l);
/* Takes max_pixels/max_dimension from image limits, the rest defaults. */
void video_limits_from_image(struct video_limits *l, const struct image_limits *il);

/* > 0 when buf looks like an MP4/MOV/3GP (not HEIF/AVIF stills) or an
 * EBML (WebM/Matroska) file. */
int video_probe(const uint8_t *buf, size_t len);

/* Fills the video fields of mi (container, vcodec, acodec, fps, bit_rate,
 * rotation, creation_time, gps, hdr transfer, duration, dims) from the
 * headers.  Errors carry a detail message. */
int video_probe_info(const uint8_t *in, size_t len, const struct video_limits *l,
                     struct media_info *mi);

/* Decodes the poster frame: a keyframe near 1 s (10% into clips shorter
 * than 10 s), skipping black or nearly uniform keyframes for a few
 * seconds.  out gets 8-bit RGB as coded; *rotation_out (may be NULL) the
 * clockwise display rotation 0/90/180/270.  Caller owns out->data; free
 * with image_free(). */
int video_poster(const uint8_t *in, size_t len, const struct video_limits *l, struct image *out,
                 int *rotation_out);

/* The EXIF orientation (1, 6, 3, 8) for a clockwise rotation in degrees. */
int video_rotation_to_orientation(int rotation_cw);

/* --- preview proxy (video_enc.c) ------------------------------------- */
struct video_preview_opts {
    int max_short_edge;    /* 16..4320, default 720: shorter edge of the upright frame */
    int max_long_edge;     /* default 1280 */
    int crf;               /* x264 CRF 0..51, default 26 */
    const char *preset;    /* x264 preset, default "veryfast" */
    int audio_bit_rate;    /* AAC bit/s, default 128000 */
    int threads;           /* 0 = libraries' default */
    const char *tmp_dir;   /* for the faststart temp file; NULL: $TMPDIR, else /tmp */
    struct video_limits limits;
};

void video_preview_defaults(struct video_preview_opts *o);
/* H.264 + AAC in MP4 with faststart, upright (rotation applied to the
 * pixels, no display matrix), no metadata but creation_time.  out is
 * replaced with the file's bytes; the caller owns it (buf_free()). */
int video_make_preview(const uint8_t *in, size_t len, const struct video_preview_opts *o,
                       struct tp_buf *out);

/* --- cold tier (video_enc.c) ----------------------------------------- */

/* Compares two frames of the same size (channels 1: 8-bit luma) and
 * writes their SSIM (1 = identical) to *ssim_out.  a is the source.
 * Returns 0 or a negative TP_ERR code. */
typedef int (*video_compare_fn)(const struct image *a, const struct image *b, double *ssim_out,
                                void *opaque);

/* The default comparison: libavfilter's ssim filter on the luma planes.
 * opaque is unused. */
int video_compare_lavfi(const struct image *a, const struct image *b, double *ssim_out,
                        void *opaque);

enum video_cold_codec { VIDEO_COLD_HEVC = 0, VIDEO_COLD_AV1 = 1 };

struct video_cold_opts {
    enum video_cold_codec codec; /* default HEVC (libx265, hvc1 tag) */
    double ssim_floor;     /* mean sampled SSIM must reach this, 0..1, default 0.95 */
    double tile_floor;     /* the worst sampled frame must reach this, default 0.90 */
    double min_saving;     /* 0..1: keep the original unless this fraction is saved, default 0.10 */
    int crf_min, crf_max;  /* search range; default 18..40 (hevc), 24..55 (av1) */
    int max_probes;        /* encodes tried by the bisection, 1..16, default 4 */
    int samples;           /* frames sampled across the clip, 1..64, default 8 */
    const char *preset;    /* encoder preset; default "fast" (x265) / "8" (svt) */
    int threads;           /* 0 = libraries' default */
    const char *tmp_dir;   /* NULL: $TMPDIR, else /tmp */
    video_compare_fn compare; /* NULL: video_compare_lavfi */
    void *compare_opaque;
    struct video_limits limits;
};

struct video_cold_report {
    int keep_original;     /* 1: no candidate saved min_saving while passing the floors */
    int crf;               /* the chosen CRF (-1 if none passed) */
    int probes;            /* encodes done */
    int samples;           /* frames compared per probe */
    double ssim_mean, ssim_min; /* of the chosen candidate */
    size_t in_bytes, out_bytes;
    double duration;       /* seconds of video */
    double encode_seconds; /* wall-clock time spent in encodes (all probes) */
};

void video_cold_defaults(struct video_cold_opts *o, enum video_cold_codec codec);
/* Re-encodes the video stream (HEVC or AV1), copies the audio streams,
 * keeps creation_time, location and the display matrix, and searches the
 * CRF for the smallest output meeting both SSIM floors.  On success out
 * holds the chosen MP4 (empty when report->keep_original).  The caller owns
 * out (buf_free()). */
int video_transcode_cold(const uint8_t *in, size_t len, const struct video_cold_opts *o,
                         struct tp_buf *out, struct video_cold_report *report);

#endif /* TP_CODECS_VIDEO_H */
