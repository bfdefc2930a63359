#ifndef TP_CODECS_VIDEO_INT_H
#define TP_CODECS_VIDEO_INT_H

/* Shared between codecs/video.c and codecs/video_enc.c only.  FFmpeg types
 * are forward-declared so this header pulls in no FFmpeg header. */
#include <stddef.h>
#include <stdint.h>

#include "video.h"

struct AVFormatContext;
struct AVIOContext;
struct AVCodecContext;
struct AVFrame;
struct AVStream;

/* The clip read from memory. */
struct video_mem {
    const uint8_t *data;
    size_t len, pos;
};

/* An opened input: demuxer over the caller's buffer, limits checked, the
 * main video stream chosen and known to have at least one packet.  Must
 * not move while open (the AVIOContext points at mem). */
struct video_in {
    struct video_mem mem;
    struct AVFormatContext *fmt;
    struct AVIOContext *pb;
    int vidx;              /* index of the main video stream */
    double deadline;       /* monotonic seconds; 0 = none */
};

/* Translates an FFmpeg error (and the last message FFmpeg logged) into a
 * TP_ERR code with a detail message starting with what. */
int video_averr(int averr, const char *what);

/* Opens, probes and checks in against l (in is borrowed and must outlive
 * vi).  Close with video_in_close(), also after a failure. */
int video_in_open(struct video_in *vi, const uint8_t *in, size_t len, const struct video_limits *l);
void video_in_close(struct video_in *vi);
/* Seeks back to the start of the clip. */
int video_in_rewind(struct video_in *vi);
/* TP_ERR_LIMIT once the job's time limit has passed. */
int video_in_check_time(const struct video_in *vi);

/* Opens a decoder for stream st; caller owns *dec_out (avcodec_free_context). */
int video_open_decoder(struct AVStream *st, int threads, struct AVCodecContext **dec_out);
/* Clockwise display rotation of st in degrees: 0, 90, 180 or 270. */
int video_stream_rotation(struct AVStream *st);

double video_now(void);

#endif /* TP_CODECS_VIDEO_INT_H */
