/* The video cold tier (see video.h): HEVC or AV1 through the shared
 * pipeline (video_pipe.h), with its CRF search against SSIM floors measured
 * on frames sampled across the clip, and the lavfi frame comparison.  Moved
 * out of video_enc.c. */
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

/* --- SSIM through libavfilter ----------------------------------------- */

int video_compare_lavfi(const struct image *a, const struct image *b, double *ssim_out,
                        void *opaque)
{
    AVFilterGraph *g = NULL;
    AVFilterContext *src[2] = { NULL, NULL }, *sink = NULL, *ssim = NULL;
    AVFrame *f = NULL;
    char args[128];
    int ret;
    (void)opaque;

    RETURN_ERR_IF(a->width != b->width || a->height != b->height || a->channels != 1 ||
                      b->channels != 1 || a->depth != 1 || b->depth != 1,
                  TP_ERR(EINVAL), "compare needs two 8-bit grey frames of the same size");
    if (!(g = avfilter_graph_alloc()) || !(f = av_frame_alloc())) {
        ret = AVERROR(ENOMEM);
        goto end;
    }
    g->nb_threads = 1;
    snprintf(args, sizeof(args), "video_size=%dx%d:pix_fmt=gray:time_base=1/25:pixel_aspect=1/1",
             a->width, a->height);
    if ((ret = avfilter_graph_create_filter(&src[0], avfilter_get_by_name("buffer"), "a", args,
                                            NULL, g)) < 0 ||
        (ret = avfilter_graph_create_filter(&src[1], avfilter_get_by_name("buffer"), "b", args,
                                            NULL, g)) < 0 ||
        (ret = avfilter_graph_create_filter(&ssim, avfilter_get_by_name("ssim"), "ssim", NULL,
                                            NULL, g)) < 0 ||
        (ret = avfilter_graph_create_filter(&sink, avfilter_get_by_name("buffersink"), "out",
                                            NULL, NULL, g)) < 0)
        goto end;
    if ((ret = avfilter_link(src[0], 0, ssim, 0)) < 0 || (ret = avfilter_link(src[1], 0, ssim, 1)) < 0 ||
        (ret = avfilter_link(ssim, 0, sink, 0)) < 0 || (ret = avfilter_graph_config(g, NULL)) < 0)
        goto end;
    for (int i = 0; i < 2; i++) {
        const struct image *img = i ? b : a;
        f->width = img->width;
        f->height = img->height;
        f->format = AV_PIX_FMT_GRAY8;
        f->pts = 0;
        if ((ret = av_frame_get_buffer(f, 0)) < 0)
            goto end;
        for (int y = 0; y < img->height; y++)
            memcpy(f->data[0] + (size_t)y * (size_t)f->linesize[0], img->data + y * img->stride,
                   (size_t)img->width);
        if ((ret = av_buffersrc_add_frame_flags(src[i], f, 0)) < 0 ||
            (ret = av_buffersrc_add_frame_flags(src[i], NULL, 0)) < 0)
            goto end;
        av_frame_unref(f);
    }
    if ((ret = av_buffersink_get_frame(sink, f)) < 0)
        goto end;
    const AVDictionaryEntry *e = av_dict_get(f->metadata, "lavfi.ssim.All", NULL, 0);
    if (!e) {
        ret = AVERROR_BUG;
        goto end;
    }
    *ssim_out = strtod(e->value, NULL);
    ret = 0;
end:
    av_frame_free(&f);
    avfilter_graph_free(&g);
    return ret < 0 ? video_averr(ret, "SSIM comparison failed") : 0;
}

/* --- cold tier ------------------------------------------------------- */

void video_cold_defaults(struct video_cold_opts *o, enum video_cold_codec codec)
{
    memset(o, 0, sizeof(*o));
    o->codec = codec;
    o->ssim_floor = 0.95;
    o->tile_floor = 0.90;
    o->min_saving = 0.10;
    o->crf_min = codec == VIDEO_COLD_AV1 ? 24 : 18;
    o->crf_max = codec == VIDEO_COLD_AV1 ? 55 : 40;
    o->max_probes = 4;
    o->samples = 8;
    o->preset = codec == VIDEO_COLD_AV1 ? "8" : "fast";
    video_limits_defaults(&o->limits);
}

static int cold_validate(const struct video_cold_opts *o)
{
    int top = o->codec == VIDEO_COLD_AV1 ? 63 : 51;
    RETURN_ERR_IF(o->codec != VIDEO_COLD_HEVC && o->codec != VIDEO_COLD_AV1, TP_ERR(EINVAL),
                  "codec: hevc or av1");
    RETURN_ERR_IF(!(o->ssim_floor > 0 && o->ssim_floor <= 1), TP_ERR(EINVAL),
                  "ssim_floor must be in (0, 1], got %g", o->ssim_floor);
    RETURN_ERR_IF(!(o->tile_floor > 0 && o->tile_floor <= 1), TP_ERR(EINVAL),
                  "tile_floor must be in (0, 1], got %g", o->tile_floor);
    RETURN_ERR_IF(!(o->min_saving >= 0 && o->min_saving < 1), TP_ERR(EINVAL),
                  "min_saving must be in [0, 1), got %g", o->min_saving);
    RETURN_ERR_IF(o->crf_min < 0 || o->crf_max > top || o->crf_min > o->crf_max, TP_ERR(EINVAL),
                  "crf range %d..%d outside 0..%d", o->crf_min, o->crf_max, top);
    RETURN_ERR_IF(o->max_probes < 1 || o->max_probes > 16, TP_ERR(EINVAL),
                  "max_probes must be in 1..16, got %d", o->max_probes);
    RETURN_ERR_IF(o->samples < 1 || o->samples > MAX_SAMPLES, TP_ERR(EINVAL),
                  "samples must be in 1..%d, got %d", MAX_SAMPLES, o->samples);
    return 0;
}

/* Decodes the candidate and captures the luma of frames idx[0..n). */
static int sample_candidate(const struct tp_buf *cand, const struct video_limits *l,
                            const int64_t *idx, int n, struct image *out)
{
    struct video_in vi;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = NULL;
    AVFrame *f = NULL;
    int64_t count = 0;
    int ret, draining = 0;

    if ((ret = video_in_open(&vi, cand->data, cand->len, l)) < 0)
        goto end;
    if ((ret = video_open_decoder(vi.fmt->streams[vi.vidx], 0, &dec)) < 0)
        goto end;
    if (!(pkt = av_packet_alloc()) || !(f = av_frame_alloc())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    while (count <= idx[n - 1]) {
        ret = avcodec_receive_frame(dec, f);
        if (ret == 0) {
            for (int k = 0; k < n; k++)
                if (idx[k] == count && !out[k].data && (ret = video_frame_to_luma(f, &out[k])) < 0)
                    goto end;
            count++;
            av_frame_unref(f);
            continue;
        }
        if (ret == AVERROR_EOF || (ret == AVERROR(EAGAIN) && draining))
            break;
        if (ret != AVERROR(EAGAIN)) {
            ret = video_averr(ret, "cannot decode the candidate");
            goto end;
        }
        ret = av_read_frame(vi.fmt, pkt);
        if (ret == AVERROR_EOF) {
            draining = 1;
            avcodec_send_packet(dec, NULL);
            continue;
        }
        if (ret < 0) {
            ret = video_averr(ret, "cannot read the candidate");
            goto end;
        }
        if (pkt->stream_index == vi.vidx)
            avcodec_send_packet(dec, pkt);
        av_packet_unref(pkt);
    }
    ret = 0;
end:
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    video_in_close(&vi);
    return ret;
}

/* One probe: encode at crf, sample, compare.  *pass_out set when both
 * floors are met. */
static int cold_probe(struct video_in *vi, const struct video_cold_opts *o, int crf,
                      const int64_t *idx, int n, struct image *src, struct tp_buf *cand,
                      double *mean_out, double *min_out, double *secs_out)
{
    char vf[64];
    struct image got[MAX_SAMPLES];
    AVStream *st = vi->fmt->streams[vi->vidx];
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(st->codecpar->format);
    int deep = pd && pd->comp[0].depth > 8;
    int ret, used = 0;
    double sum = 0, worst = 1;

    memset(got, 0, sizeof(got));
    snprintf(vf, sizeof(vf), "format=%s", deep ? "yuv420p10le" : "yuv420p");
    struct pipe_cfg cfg = {
        .encoder = o->codec == VIDEO_COLD_AV1 ? "libsvtav1" : "libx265",
        .crf = crf,
        .preset = o->preset,
        .vfilter = vf,
        .audio = 2,
        .keep_meta = 1,
        .movflags = "+faststart+use_metadata_tags",
        .threads = o->threads,
        .sample_idx = idx,
        .nsamples = n,
        .samples_out = src,
    };
    double t0 = video_now();
    buf_free(cand);
    ret = video_pipe_to_buf(vi, &cfg, o->tmp_dir, cand);
    *secs_out += video_now() - t0;
    if (ret < 0)
        goto end;
    if ((ret = sample_candidate(cand, &o->limits, idx, n, got)) < 0)
        goto end;
    video_compare_fn cmp = o->compare ? o->compare : video_compare_lavfi;
    for (int k = 0; k < n; k++) {
        double s;
        if (!src[k].data)
            continue; /* the clip had fewer frames than estimated */
        if (!got[k].data) {
            tp_err_set("candidate lacks frame %lld", (long long)idx[k]);
            ret = TP_ERR_VERIFY;
            goto end;
        }
        if ((ret = cmp(&src[k], &got[k], &s, o->compare_opaque)) < 0)
            goto end;
        sum += s;
        worst = s < worst ? s : worst;
        used++;
    }
    if (!used) {
        tp_err_set("no frame could be sampled");
        ret = TP_ERR_VERIFY;
        goto end;
    }
    *mean_out = sum / used;
    *min_out = worst;
    tp_log(TP_LOG_INFO, "video cold: crf %d -> %zu bytes, ssim mean %.4f min %.4f (%d frames)",
           crf, cand->len, *mean_out, *min_out, used);
    ret = used;
end:
    for (int k = 0; k < n; k++)
        image_free(&got[k]);
    return ret;
}

int video_transcode_cold(const uint8_t *in, size_t len, const struct video_cold_opts *o,
                         struct tp_buf *out, struct video_cold_report *r)
{
    struct video_in vi;
    struct image src[MAX_SAMPLES];
    int64_t idx[MAX_SAMPLES];
    struct tp_buf cand = { 0 };
    int ret, n;

    memset(r, 0, sizeof(*r));
    memset(src, 0, sizeof(src));
    r->crf = -1;
    r->in_bytes = len;
    FORWARD_ERR(cold_validate(o));
    if ((ret = video_in_open(&vi, in, len, &o->limits)) < 0)
        goto end;
    AVStream *st = vi.fmt->streams[vi.vidx];
    r->duration = vi.fmt->duration != AV_NOPTS_VALUE ? vi.fmt->duration / (double)AV_TIME_BASE : 0;
    double fps = av_q2d(av_guess_frame_rate(vi.fmt, st, NULL));
    int64_t frames = st->nb_frames > 0 ? st->nb_frames : (int64_t)(r->duration * fps);
    if (frames < 1)
        frames = 1;
    n = o->samples < frames ? o->samples : (int)frames;
    for (int k = 0; k < n; k++)
        idx[k] = (int64_t)((k + 0.5) * (double)frames / n);
    r->samples = n;

    /* Largest CRF meeting the floors: pass(crf) is taken to be monotone;
     * lo is the highest known pass, hi the lowest known fail. */
    int lo = o->crf_min - 1, hi = o->crf_max + 1;
    while (hi - lo > 1 && r->probes < o->max_probes) {
        int crf = (lo + hi) / 2;
        double mean = 0, worst = 0;
        ret = cold_probe(&vi, o, crf, idx, n, src, &cand, &mean, &worst, &r->encode_seconds);
        r->probes++;
        if (ret < 0)
            goto end;
        if (mean >= o->ssim_floor && worst >= o->tile_floor) {
            lo = crf;
            if (!out->len || cand.len < out->len) {
                buf_free(out);
                *out = cand;
                memset(&cand, 0, sizeof(cand));
                r->crf = crf;
                r->ssim_mean = mean;
                r->ssim_min = worst;
            }
        } else {
            hi = crf;
        }
    }
    if (r->crf < 0 || (double)out->len > (double)len * (1.0 - o->min_saving)) {
        r->keep_original = 1;
        r->out_bytes = out->len;
        buf_free(out);
    } else {
        r->out_bytes = out->len;
    }
    ret = 0;
end:
    if (ret < 0)
        buf_free(out);
    buf_free(&cand);
    for (int k = 0; k < MAX_SAMPLES; k++)
        image_free(&src[k]);
    video_in_close(&vi);
    return ret;
}
