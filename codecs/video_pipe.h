#ifndef TP_CODECS_VIDEO_PIPE_H
#define TP_CODECS_VIDEO_PIPE_H

/* The re-encoding pipeline of codecs/video_enc.c (demux from memory,
 * decode, filter, encode, mux to a temp file, read back), shared by the
 * preview (video_enc.c) and the cold re-encode (video_cold.c).  FFmpeg
 * types are forward-declared. */
#include <stdint.h>

#include "image.h"
#include "mem.h"
#include "video_int.h"

struct AVFrame;

#define MAX_SAMPLES 64

/* What one run of the pipeline produces. */
struct pipe_cfg {
    const char *encoder;      /* "libx264", "libx265", "libsvtav1" */
    int crf;
    const char *preset;
    const char *vfilter;      /* filter chain between the decoder and the encoder */
    int audio;                /* 0 none, 1 re-encode the main audio to AAC, 2 copy all audio */
    int audio_bit_rate;
    int keep_meta;            /* copy container/stream metadata and the display matrix */
    const char *movflags;
    int threads;
    /* frames (by index in the filtered output) to capture as luma */
    const int64_t *sample_idx;
    int nsamples;
    struct image *samples_out; /* nsamples images, filled when non-NULL */
};

/* Runs cfg over vi into a temp file in tmp_dir and reads it back into out
 * (replaced; the caller owns it).  The temp file is always removed. */
int video_pipe_to_buf(struct video_in *vi, const struct pipe_cfg *cfg, const char *tmp_dir,
                      struct tp_buf *out);
/* Copies the luma of f into img as 8-bit grey (img allocated here; free
 * with image_free). */
int video_frame_to_luma(const struct AVFrame *f, struct image *img);

#endif /* TP_CODECS_VIDEO_PIPE_H */
