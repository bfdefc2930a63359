/* Video re-encoding through libavcodec/libavfilter/libavformat: the
 * browse preview (H.264 + AAC, upright, <= 720p, faststart MP4, no
 * location) here, and the cold-tier candidate (HEVC or AV1, audio copied,
 * metadata and display matrix kept) with its CRF search in video_cold.c.
 *
 * Both go through one pipeline (struct pipe): demux from memory, decode,
 * a filter graph (rotation/scale/pixel format), encode, mux into a temp
 * file (faststart rewrites the file, so the muxer needs a seekable file),
 * which is read back into the caller's buffer and removed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "err.h"
#include "fileio.h"
#include "log.h"
#include "video.h"
#include "video_int.h"
#include "video_pipe.h"

struct pipe {
    struct video_in *vi;
    const struct pipe_cfg *cfg;
    AVFormatContext *oc;
    AVCodecContext *vdec, *venc, *adec, *aenc;
    AVFilterGraph *vg, *ag;
    AVFilterContext *vsrc, *vsink, *asrc, *asink;
    AVStream *vost, *aost;
    int aidx;                  /* re-encoded audio stream, -1 if none */
    int *copy_map;             /* input stream -> output stream for copied audio, -1 */
    AVFrame *frame, *filt;
    AVPacket *pkt, *opkt;
    int64_t nframes;           /* filtered video frames so far */
};

/* --- helpers --------------------------------------------------------- */

static int make_tmp(const char *dir, char *path, size_t n)
{
    if (!dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(path, n, "%s/tierpress-video-XXXXXX.mp4", dir);
    int fd = mkstemps(path, 4);
    RETURN_ERR_IF(fd < 0, TP_ERR(errno), "cannot create a temp file in %s", dir);
    close(fd);
    return 0;
}

/* Copies the luma of f into img as 8-bit grey (img allocated here). */
int video_frame_to_luma(const AVFrame *f, struct image *img)
{
    struct SwsContext *sws;
    FORWARD_ERR(image_alloc(img, f->width, f->height, 1, 1));
    img->bit_depth = 8;
    sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_GRAY8,
                         SWS_POINT, NULL, NULL, NULL);
    RETURN_ERR_IF(!sws, TP_ERR_UNSUPPORTED, "cannot take the luma of %s",
                  av_get_pix_fmt_name(f->format));
    uint8_t *dst[4] = { img->data };
    int stride[4] = { (int)img->stride };
    int h = sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    sws_freeContext(sws);
    RETURN_ERR_IF(h != f->height, TP_ERR_EXTERNAL, "luma conversion failed");
    return 0;
}

static int graph_build(AVFilterGraph **g_out, AVFilterContext **src_out, AVFilterContext **sink_out,
                       int audio, const char *src_args, const char *desc)
{
    AVFilterGraph *g = avfilter_graph_alloc();
    AVFilterInOut *in = avfilter_inout_alloc(), *out = avfilter_inout_alloc();
    int ret = AVERROR(ENOMEM);
    *g_out = g;
    if (!g || !in || !out)
        goto end;
    g->nb_threads = 1;
    ret = avfilter_graph_create_filter(src_out, avfilter_get_by_name(audio ? "abuffer" : "buffer"),
                                       "in", src_args, NULL, g);
    if (ret < 0)
        goto end;
    ret = avfilter_graph_create_filter(sink_out,
                                       avfilter_get_by_name(audio ? "abuffersink" : "buffersink"),
                                       "out", NULL, NULL, g);
    if (ret < 0)
        goto end;
    out->name = av_strdup("in");
    out->filter_ctx = *src_out;
    in->name = av_strdup("out");
    in->filter_ctx = *sink_out;
    if ((ret = avfilter_graph_parse_ptr(g, desc, &in, &out, NULL)) < 0)
        goto end;
    ret = avfilter_graph_config(g, NULL);
end:
    avfilter_inout_free(&in);
    avfilter_inout_free(&out);
    return ret < 0 ? video_averr(ret, "cannot set up the filters") : 0;
}

static void pipe_free(struct pipe *p)
{
    avcodec_free_context(&p->vdec);
    avcodec_free_context(&p->venc);
    avcodec_free_context(&p->adec);
    avcodec_free_context(&p->aenc);
    avfilter_graph_free(&p->vg);
    avfilter_graph_free(&p->ag);
    av_frame_free(&p->frame);
    av_frame_free(&p->filt);
    av_packet_free(&p->pkt);
    av_packet_free(&p->opkt);
    if (p->oc) {
        if (p->oc->pb)
            avio_closep(&p->oc->pb);
        avformat_free_context(p->oc);
        p->oc = NULL;
    }
    tp_freep(&p->copy_map);
}

/* Sends f (NULL: flush) to enc and writes what comes out. */
static int encode_write(struct pipe *p, AVCodecContext *enc, AVStream *ost, AVFrame *f)
{
    int ret = avcodec_send_frame(enc, f);
    if (ret < 0)
        return video_averr(ret, "cannot encode");
    for (;;) {
        ret = avcodec_receive_packet(enc, p->opkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return video_averr(ret, "cannot encode");
        av_packet_rescale_ts(p->opkt, enc->time_base, ost->time_base);
        p->opkt->stream_index = ost->index;
        ret = av_interleaved_write_frame(p->oc, p->opkt);
        if (ret < 0)
            return video_averr(ret, "cannot write the output");
    }
}

static int filter_drain(struct pipe *p, int audio)
{
    AVFilterContext *sink = audio ? p->asink : p->vsink;
    AVCodecContext *enc = audio ? p->aenc : p->venc;
    AVStream *ost = audio ? p->aost : p->vost;
    for (;;) {
        int ret = av_buffersink_get_frame(sink, p->filt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            return 0;
        if (ret < 0)
            return video_averr(ret, "filtering failed");
        if (!audio) {
            const struct pipe_cfg *c = p->cfg;
            for (int k = 0; c->samples_out && k < c->nsamples; k++)
                if (c->sample_idx[k] == p->nframes && !c->samples_out[k].data &&
                    (ret = video_frame_to_luma(p->filt, &c->samples_out[k])) < 0) {
                    av_frame_unref(p->filt);
                    return ret;
                }
            p->nframes++;
            p->filt->pict_type = AV_PICTURE_TYPE_NONE;
        }
        ret = encode_write(p, enc, ost, p->filt);
        av_frame_unref(p->filt);
        FORWARD_ERR(ret);
    }
}

/* Sends pkt (NULL: flush) to the decoder and pushes the frames through. */
static int decode_feed(struct pipe *p, int audio, AVPacket *pkt)
{
    AVCodecContext *dec = audio ? p->adec : p->vdec;
    AVFilterContext *src = audio ? p->asrc : p->vsrc;
    int ret = avcodec_send_packet(dec, pkt);
    if (ret < 0 && ret != AVERROR_EOF) {
        if (audio) { /* a bad audio packet costs a gap, not the preview */
            tp_log(TP_LOG_DEBUG, "video: audio packet dropped");
            return 0;
        }
        return video_averr(ret, "cannot decode the video");
    }
    for (;;) {
        ret = avcodec_receive_frame(dec, p->frame);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
            break;
        if (ret < 0)
            return video_averr(ret, audio ? "cannot decode the audio" : "cannot decode the video");
        p->frame->pts = p->frame->best_effort_timestamp;
        if (audio && p->frame->pts != AV_NOPTS_VALUE) /* the abuffer counts in samples */
            p->frame->pts = av_rescale_q(p->frame->pts, p->vi->fmt->streams[p->aidx]->time_base,
                                         (AVRational){ 1, dec->sample_rate });
        ret = av_buffersrc_add_frame_flags(src, p->frame, 0);
        av_frame_unref(p->frame);
        if (ret < 0)
            return video_averr(ret, "filtering failed");
        FORWARD_ERR(filter_drain(p, audio));
    }
    if (!pkt) {
        if ((ret = av_buffersrc_add_frame_flags(src, NULL, 0)) < 0)
            return video_averr(ret, "filtering failed");
        FORWARD_ERR(filter_drain(p, audio));
        FORWARD_ERR(encode_write(p, audio ? p->aenc : p->venc, audio ? p->aost : p->vost, NULL));
    }
    return 0;
}

/* --- set-up ---------------------------------------------------------- */

static int setup_video(struct pipe *p)
{
    const struct pipe_cfg *c = p->cfg;
    AVStream *st = p->vi->fmt->streams[p->vi->vidx];
    const AVCodec *codec = avcodec_find_encoder_by_name(c->encoder);
    char args[256];
    int ret;

    RETURN_ERR_IF(!codec, TP_ERR_UNSUPPORTED, "encoder %s is not available", c->encoder);
    FORWARD_ERR(video_open_decoder(st, c->threads, &p->vdec));
    RETURN_ERR_IF(p->vdec->pix_fmt == AV_PIX_FMT_NONE, TP_ERR_INVALIDDATA,
                  "unknown pixel format in the video stream");
    AVRational sar = p->vdec->sample_aspect_ratio.num > 0 ? p->vdec->sample_aspect_ratio
                                                          : (AVRational){ 1, 1 };
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=%d/%d",
             p->vdec->width, p->vdec->height, p->vdec->pix_fmt, st->time_base.num,
             st->time_base.den, sar.num, sar.den);
    FORWARD_ERR(graph_build(&p->vg, &p->vsrc, &p->vsink, 0, args, c->vfilter));

    if (!(p->venc = avcodec_alloc_context3(codec)))
        return TP_ERR(ENOMEM);
    AVCodecContext *e = p->venc;
    e->width = av_buffersink_get_w(p->vsink);
    e->height = av_buffersink_get_h(p->vsink);
    e->pix_fmt = av_buffersink_get_format(p->vsink);
    e->sample_aspect_ratio = av_buffersink_get_sample_aspect_ratio(p->vsink);
    e->time_base = av_buffersink_get_time_base(p->vsink);
    e->framerate = av_guess_frame_rate(p->vi->fmt, st, NULL);
    e->color_primaries = st->codecpar->color_primaries;
    e->color_trc = st->codecpar->color_trc;
    e->colorspace = st->codecpar->color_space;
    e->color_range = st->codecpar->color_range == AVCOL_RANGE_JPEG ? AVCOL_RANGE_JPEG
                                                                    : AVCOL_RANGE_MPEG;
    e->thread_count = c->threads;
    if (p->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set_int(e->priv_data, "crf", c->crf, 0);
    if (c->preset)
        av_opt_set(e->priv_data, "preset", c->preset, 0);
    if (!strcmp(c->encoder, "libx265"))
        av_opt_set(e->priv_data, "x265-params", "log-level=error", 0);
    if (!strcmp(c->encoder, "libsvtav1"))
        setenv("SVT_LOG", "1", 0); /* SVT-AV1 prints its banner to stderr unless told; errors only */
    if ((ret = avcodec_open2(e, codec, NULL)) < 0)
        return video_averr(ret, "cannot open the video encoder");

    if (!(p->vost = avformat_new_stream(p->oc, NULL)))
        return TP_ERR(ENOMEM);
    if ((ret = avcodec_parameters_from_context(p->vost->codecpar, e)) < 0)
        return video_averr(ret, "cannot set up the video stream");
    p->vost->time_base = e->time_base;
    p->vost->avg_frame_rate = e->framerate;
    if (!strcmp(c->encoder, "libx265"))
        p->vost->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1'); /* Apple plays hvc1 only */
    if (c->keep_meta) {
        size_t n;
        const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &n);
        if (m) {
            uint8_t *d = av_stream_new_side_data(p->vost, AV_PKT_DATA_DISPLAYMATRIX, n);
            if (!d)
                return TP_ERR(ENOMEM);
            memcpy(d, m, n);
        }
        av_dict_copy(&p->vost->metadata, st->metadata, 0);
    }
    return 0;
}

static int setup_audio_aac(struct pipe *p)
{
    AVFormatContext *fmt = p->vi->fmt;
    const AVCodec *aac = avcodec_find_encoder_by_name("aac");
    char layout[64], args[256];
    int ret;

    p->aidx = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, p->vi->vidx, NULL, 0);
    if (p->aidx < 0)
        return 0;
    AVStream *st = fmt->streams[p->aidx];
    if (video_open_decoder(st, 1, &p->adec) < 0 || !aac) {
        tp_log(TP_LOG_WARN, "video: the audio (%s) cannot be decoded; preview without sound",
               avcodec_get_name(st->codecpar->codec_id));
        tp_err_clear();
        avcodec_free_context(&p->adec);
        p->aidx = -1;
        return 0;
    }
    AVChannelLayout cl;
    if (p->adec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || !p->adec->ch_layout.nb_channels)
        av_channel_layout_default(&cl, p->adec->ch_layout.nb_channels ? p->adec->ch_layout.nb_channels : 2);
    else if (av_channel_layout_copy(&cl, &p->adec->ch_layout) < 0)
        return TP_ERR(ENOMEM);
    av_channel_layout_describe(&cl, layout, sizeof(layout));
    av_channel_layout_uninit(&cl);
    snprintf(args, sizeof(args), "time_base=1/%d:sample_rate=%d:sample_fmt=%s:channel_layout=%s",
             p->adec->sample_rate, p->adec->sample_rate,
             av_get_sample_fmt_name(p->adec->sample_fmt), layout);
    FORWARD_ERR(graph_build(&p->ag, &p->asrc, &p->asink, 1, args,
                            "aresample=async=1000,aformat=sample_fmts=fltp:channel_layouts=stereo|mono:"
                            "sample_rates=48000|44100|32000|24000|22050|16000"));
    if (!(p->aenc = avcodec_alloc_context3(aac)))
        return TP_ERR(ENOMEM);
    AVCodecContext *e = p->aenc;
    e->sample_fmt = AV_SAMPLE_FMT_FLTP;
    e->sample_rate = av_buffersink_get_sample_rate(p->asink);
    if ((ret = av_buffersink_get_ch_layout(p->asink, &e->ch_layout)) < 0)
        return video_averr(ret, "cannot set up the audio");
    e->bit_rate = p->cfg->audio_bit_rate;
    e->time_base = (AVRational){ 1, e->sample_rate };
    if (p->oc->oformat->flags & AVFMT_GLOBALHEADER)
        e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((ret = avcodec_open2(e, aac, NULL)) < 0)
        return video_averr(ret, "cannot open the AAC encoder");
    av_buffersink_set_frame_size(p->asink, (unsigned)e->frame_size);
    if (!(p->aost = avformat_new_stream(p->oc, NULL)))
        return TP_ERR(ENOMEM);
    if ((ret = avcodec_parameters_from_context(p->aost->codecpar, e)) < 0)
        return video_averr(ret, "cannot set up the audio stream");
    p->aost->time_base = e->time_base;
    return 0;
}

static int setup_audio_copy(struct pipe *p)
{
    AVFormatContext *fmt = p->vi->fmt;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i], *ost;
        if (st->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
            continue;
        if (avformat_query_codec(p->oc->oformat, st->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1)
            p->oc->strict_std_compliance = FF_COMPLIANCE_EXPERIMENTAL; /* Opus, Vorbis in MP4 */
        if (!(ost = avformat_new_stream(p->oc, NULL)))
            return TP_ERR(ENOMEM);
        int ret = avcodec_parameters_copy(ost->codecpar, st->codecpar);
        if (ret < 0)
            return video_averr(ret, "cannot copy the audio stream");
        ost->codecpar->codec_tag = 0;
        ost->time_base = st->time_base;
        av_dict_copy(&ost->metadata, st->metadata, 0);
        p->copy_map[i] = ost->index;
    }
    return 0;
}

/* Runs the whole pipeline on vi into out_path. */
static int pipe_run(struct video_in *vi, const struct pipe_cfg *cfg, const char *out_path)
{
    struct pipe p = { .vi = vi, .cfg = cfg, .aidx = -1 };
    AVFormatContext *fmt = vi->fmt;
    AVDictionary *mux_opts = NULL;
    int ret, header = 0;

    if ((ret = video_in_rewind(vi)) < 0)
        goto end;
    if (!(p.copy_map = tp_malloc(fmt->nb_streams * sizeof(int)))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        p.copy_map[i] = -1;
    if (!(p.frame = av_frame_alloc()) || !(p.filt = av_frame_alloc()) ||
        !(p.pkt = av_packet_alloc()) || !(p.opkt = av_packet_alloc())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    if ((ret = avformat_alloc_output_context2(&p.oc, NULL, "mp4", out_path)) < 0) {
        ret = video_averr(ret, "cannot set up the MP4 muxer");
        goto end;
    }
    if ((ret = setup_video(&p)) < 0)
        goto end;
    if (cfg->audio == 1)
        ret = setup_audio_aac(&p);
    else if (cfg->audio == 2)
        ret = setup_audio_copy(&p);
    if (ret < 0)
        goto end;

    const AVDictionaryEntry *ct = av_dict_get(fmt->metadata, "creation_time", NULL, 0);
    if (cfg->keep_meta)
        av_dict_copy(&p.oc->metadata, fmt->metadata, 0);
    else if (ct)
        av_dict_set(&p.oc->metadata, "creation_time", ct->value, 0);
    if ((ret = avio_open(&p.oc->pb, out_path, AVIO_FLAG_WRITE)) < 0) {
        ret = video_averr(ret, "cannot open the temp file");
        goto end;
    }
    if (cfg->movflags)
        av_dict_set(&mux_opts, "movflags", cfg->movflags, 0);
    ret = avformat_write_header(p.oc, &mux_opts);
    av_dict_free(&mux_opts);
    if (ret < 0) {
        ret = video_averr(ret, "cannot write the MP4 header");
        goto end;
    }
    header = 1;

    for (;;) {
        if ((ret = video_in_check_time(vi)) < 0)
            goto end;
        ret = av_read_frame(fmt, p.pkt);
        if (ret == AVERROR_EOF)
            break;
        if (ret < 0) {
            ret = video_averr(ret, "cannot read the clip");
            goto end;
        }
        int si = p.pkt->stream_index;
        if (si == vi->vidx) {
            ret = decode_feed(&p, 0, p.pkt);
        } else if (si == p.aidx) {
            ret = decode_feed(&p, 1, p.pkt);
        } else if (p.copy_map[si] >= 0) {
            AVStream *ost = p.oc->streams[p.copy_map[si]];
            av_packet_rescale_ts(p.pkt, fmt->streams[si]->time_base, ost->time_base);
            p.pkt->stream_index = ost->index;
            p.pkt->pos = -1;
            ret = av_interleaved_write_frame(p.oc, p.pkt);
            if (ret < 0)
                ret = video_averr(ret, "cannot write the audio");
        }
        av_packet_unref(p.pkt);
        if (ret < 0)
            goto end;
    }
    if ((ret = decode_feed(&p, 0, NULL)) < 0)
        goto end;
    if (p.aidx >= 0 && (ret = decode_feed(&p, 1, NULL)) < 0)
        goto end;
    if (!p.nframes) {
        tp_err_set("no video frame could be decoded");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    if ((ret = av_write_trailer(p.oc)) < 0) {
        ret = video_averr(ret, "cannot finish the MP4");
        goto end;
    }
    header = 0;
    ret = 0;
end:
    if (header)
        av_write_trailer(p.oc);
    pipe_free(&p);
    return ret;
}

/* Runs cfg into a temp file and reads it back into out. */
int video_pipe_to_buf(struct video_in *vi, const struct pipe_cfg *cfg, const char *tmp_dir,
                             struct tp_buf *out)
{
    char path[4096];
    FORWARD_ERR(make_tmp(tmp_dir, path, sizeof(path)));
    int ret = pipe_run(vi, cfg, path);
    if (ret >= 0)
        ret = file_read(path, UINT64_MAX, out);
    file_unlink_tmp(path); /* (through the sandbox's temp directory descriptor) */
    return ret;
}

/* --- preview --------------------------------------------------------- */

void video_preview_defaults(struct video_preview_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_short_edge = 720;
    o->max_long_edge = 1280;
    o->crf = 26;
    o->preset = "veryfast";
    o->audio_bit_rate = 128000;
    video_limits_defaults(&o->limits);
}

static int even(double v)
{
    int i = (int)lround(v / 2) * 2;
    return i < 2 ? 2 : i;
}

int video_make_preview(const uint8_t *in, size_t len, const struct video_preview_opts *o,
                       struct tp_buf *out)
{
    struct video_in vi;
    char vf[256];
    int ret;

    RETURN_ERR_IF(o->max_short_edge < 16 || o->max_long_edge < o->max_short_edge ||
                      o->crf < 0 || o->crf > 51,
                  TP_ERR(EINVAL), "bad preview options");
    if ((ret = video_in_open(&vi, in, len, &o->limits)) < 0)
        goto end;
    AVStream *st = vi.fmt->streams[vi.vidx];
    int rot = video_stream_rotation(st);
    int w = st->codecpar->width, h = st->codecpar->height;
    AVRational sar = st->codecpar->sample_aspect_ratio;
    if (sar.num > 0 && sar.den > 0 && sar.num != sar.den)
        w = (int)lround(w * av_q2d(sar)); /* square pixels in the preview */
    if (rot == 90 || rot == 270) {
        int t = w;
        w = h;
        h = t;
    }
    double s = 1.0;
    s = fmin(s, (double)o->max_short_edge / (w < h ? w : h));
    s = fmin(s, (double)o->max_long_edge / (w > h ? w : h));
    snprintf(vf, sizeof(vf), "%sscale=%d:%d:flags=bicubic,setsar=1,format=yuv420p",
             rot == 90 ? "transpose=clock," : rot == 270 ? "transpose=cclock,"
             : rot == 180                   ? "hflip,vflip,"
                                            : "",
             even(w * s), even(h * s));
    struct pipe_cfg cfg = {
        .encoder = "libx264",
        .crf = o->crf,
        .preset = o->preset,
        .vfilter = vf,
        .audio = 1,
        .audio_bit_rate = o->audio_bit_rate,
        .movflags = "+faststart",
        .threads = o->threads,
    };
    ret = video_pipe_to_buf(&vi, &cfg, o->tmp_dir, out);
end:
    video_in_close(&vi);
    return ret;
}
