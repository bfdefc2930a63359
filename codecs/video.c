/* Video originals (MP4/MOV/3GP, WebM/Matroska) through libavformat and
 * libavcodec: sniffing, header metadata for `info` and the catalog, and the
 * poster frame as the adapter's decode().  The clip is always read from
 * memory through a custom AVIOContext; nested opens (external data
 * references, playlists) are refused, and only the demuxers in
 * FORMAT_WHITELIST run. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "err.h"
#include "log.h"
#include "probe.h"
#include "codec.h"
#include "video.h"
#include "video_int.h"

#define FORMAT_WHITELIST "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm"
#define IO_BUFFER_SIZE 65536
#define MAX_PROBE_PACKETS 2048   /* packets read looking for the first video packet */
#define POSTER_TRIES 6           /* keyframes tried when the first is black */
#define POSTER_SPAN 4.0          /* ... within this many seconds after the target */

struct codec_priv {
    struct codec_opts o;
};

/* --- logging: FFmpeg's messages go to tp_log at debug level; the last
 * error is kept per thread for the detail message of a failure. */
static __thread char last_av_error[256];
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void av_log_to_tp(void *avcl, int level, const char *fmt, va_list vl)
{
    static __thread int print_prefix = 1;
    char line[512];
    if (level > AV_LOG_VERBOSE)
        return;
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof(line), &print_prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (!n)
        return;
    if (level <= AV_LOG_ERROR)
        snprintf(last_av_error, sizeof(last_av_error), "%.*s", (int)sizeof(last_av_error) - 1,
                 line); /* the error's start; longer lines are cut */
    tp_log(TP_LOG_DEBUG, "ffmpeg: %s", line);
}

static void log_init(void)
{
    av_log_set_callback(av_log_to_tp);
}

int video_averr(int averr, const char *what)
{
    char msg[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(averr, msg, sizeof(msg));
    if (last_av_error[0])
        tp_err_set("%s: %s (%s)", what, msg, last_av_error);
    else
        tp_err_set("%s: %s", what, msg);
    last_av_error[0] = '\0';
    if (averr == AVERROR(ENOMEM))
        return TP_ERR(ENOMEM);
    if (averr == AVERROR_INVALIDDATA || averr == AVERROR_EOF)
        return TP_ERR_INVALIDDATA;
    if (averr == AVERROR_DECODER_NOT_FOUND || averr == AVERROR_DEMUXER_NOT_FOUND ||
        averr == AVERROR_ENCODER_NOT_FOUND || averr == AVERROR_PATCHWELCOME)
        return TP_ERR_UNSUPPORTED;
    return TP_ERR_EXTERNAL;
}

double video_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* --- limits --------------------------------------------------------- */
void video_limits_defaults(struct video_limits *l)
{
    struct image_limits il;
    image_limits_defaults(&il);
    video_limits_from_image(l, &il);
}

void video_limits_from_image(struct video_limits *l, const struct image_limits *il)
{
    memset(l, 0, sizeof(*l));
    l->max_duration = 3 * 3600;
    l->max_pixels = il->max_pixels;
    l->max_dimension = il->max_dimension;
    l->max_streams = 16;
    l->max_seconds = 0;
}

/* --- sniffing -------------------------------------------------------- */
int video_probe(const uint8_t *b, size_t len)
{
    static const char brands[][5] = {
        "isom", "iso2", "iso3", "iso4", "iso5", "iso6", "mp41", "mp42", "qt  ", "3gp4",
        "3gp5", "3gp6", "3gp7", "3g2a", "3g2b", "M4V ", "M4VH", "avc1", "dash", "mmp4",
        "XAVC", "MSNV", "f4v ", "kddi", "nvr1",
    };
    static const char atoms[][5] = { "moov", "mdat", "wide", "free", "skip", "pnot" };
    if (len >= 4 && b[0] == 0x1A && b[1] == 0x45 && b[2] == 0xDF && b[3] == 0xA3)
        return 1;
    if (len >= 12 && !memcmp(b + 4, "ftyp", 4)) {
        for (size_t i = 0; i < TP_ARRAY_SIZE(brands); i++)
            if (!memcmp(b + 8, brands[i], 4))
                return 1;
        return 0; /* avif, heic, mif1, msf1, M4A ...: not a video */
    }
    if (len >= 8) {
        for (size_t i = 0; i < TP_ARRAY_SIZE(atoms); i++)
            if (!memcmp(b + 4, atoms[i], 4))
                return 1;
    }
    return 0;
}

/* --- memory input ---------------------------------------------------- */
static int mem_read(void *opaque, uint8_t *buf, int n)
{
    struct video_mem *m = opaque;
    size_t left = m->len - m->pos;
    if (!left)
        return AVERROR_EOF;
    if ((size_t)n > left)
        n = (int)left;
    memcpy(buf, m->data + m->pos, (size_t)n);
    m->pos += (size_t)n;
    return n;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
    struct video_mem *m = opaque;
    int64_t base;
    whence &= ~AVSEEK_FORCE;
    switch (whence) {
    case AVSEEK_SIZE: return (int64_t)m->len;
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = (int64_t)m->pos; break;
    case SEEK_END: base = (int64_t)m->len; break;
    default: return AVERROR(EINVAL);
    }
    if (off > (int64_t)m->len - base || base + off < 0)
        return AVERROR(EINVAL);
    m->pos = (size_t)(base + off);
    return (int64_t)m->pos;
}

/* Nothing but our buffer is ever opened: no data references, no nested
 * playlists, no protocols. */
static int refuse_io_open(struct AVFormatContext *s, AVIOContext **pb, const char *url, int flags,
                          AVDictionary **options)
{
    (void)s, (void)pb, (void)flags, (void)options;
    tp_log(TP_LOG_WARN, "video: refused to open '%s' referenced by the clip", url);
    return AVERROR(EPERM);
}

int video_in_check_time(const struct video_in *vi)
{
    RETURN_ERR_IF(vi->deadline > 0 && video_now() > vi->deadline, TP_ERR_LIMIT,
                  "time limit for the job exceeded");
    return 0;
}

/* The main video stream: the largest picture among non-cover-art streams
 * whose codec we can decode. */
static int pick_video_stream(AVFormatContext *fmt)
{
    int best = -1;
    int64_t best_area = -1;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        AVCodecParameters *par = st->codecpar;
        if (par->codec_type != AVMEDIA_TYPE_VIDEO || (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (!avcodec_find_decoder(par->codec_id) || par->width <= 0 || par->height <= 0)
            continue;
        if ((int64_t)par->width * par->height > best_area) {
            best_area = (int64_t)par->width * par->height;
            best = (int)i;
        }
    }
    return best;
}

/* For MP4/MOV: every sample's data must lie inside the file; a clip cut
 * short fails here instead of decoding to a half picture. */
static int check_sample_table(struct video_in *vi)
{
    if (strncmp(vi->fmt->iformat->name, "mov", 3))
        return 0;
    for (unsigned i = 0; i < vi->fmt->nb_streams; i++) {
        AVStream *st = vi->fmt->streams[i];
        int n = avformat_index_get_entries_count(st);
        for (int k = 0; k < n; k++) {
            const AVIndexEntry *e = avformat_index_get_entry(st, k);
            RETURN_ERR_IF(e && (uint64_t)e->pos + (uint64_t)e->size > vi->mem.len,
                          TP_ERR_INVALIDDATA,
                          "truncated: stream %u's media data runs to byte %llu, file has %zu", i,
                          (unsigned long long)e->pos + (unsigned long long)e->size, vi->mem.len);
        }
    }
    return 0;
}

int video_in_open(struct video_in *vi, const uint8_t *in, size_t len, const struct video_limits *l)
{
    uint8_t *iobuf = NULL;
    AVPacket *pkt = NULL;
    int ret;

    memset(vi, 0, sizeof(*vi));
    vi->vidx = -1;
    pthread_once(&log_once, log_init);
    last_av_error[0] = '\0';
    if (l->max_seconds > 0)
        vi->deadline = video_now() + l->max_seconds;
    vi->mem.data = in;
    vi->mem.len = len;
    RETURN_ERR_IF(!video_probe(in, len), TP_ERR_UNKNOWNFMT, "not an MP4/MOV/3GP/WebM/MKV file");

    if (!(vi->fmt = avformat_alloc_context()) || !(iobuf = av_malloc(IO_BUFFER_SIZE))) {
        av_free(iobuf);
        return TP_ERR(ENOMEM);
    }
    vi->pb = avio_alloc_context(iobuf, IO_BUFFER_SIZE, 0, &vi->mem, mem_read, NULL, mem_seek);
    if (!vi->pb) {
        av_free(iobuf);
        return TP_ERR(ENOMEM);
    }
    vi->fmt->pb = vi->pb;
    vi->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    vi->fmt->io_open = refuse_io_open;
    vi->fmt->format_whitelist = av_strdup(FORMAT_WHITELIST);
    vi->fmt->protocol_whitelist = av_strdup("none");
    if (!vi->fmt->format_whitelist || !vi->fmt->protocol_whitelist)
        return TP_ERR(ENOMEM);
    ret = avformat_open_input(&vi->fmt, NULL, NULL, NULL);
    if (ret < 0) {
        vi->fmt = NULL; /* freed by avformat_open_input */
        return video_averr(ret, "cannot read the container");
    }
    RETURN_ERR_IF(vi->fmt->nb_streams > (unsigned)l->max_streams, TP_ERR_LIMIT,
                  "%u streams, limit %d", vi->fmt->nb_streams, l->max_streams);
    ret = avformat_find_stream_info(vi->fmt, NULL);
    if (ret < 0)
        return video_averr(ret, "cannot read the stream headers");
    RETURN_ERR_IF(vi->fmt->nb_streams > (unsigned)l->max_streams, TP_ERR_LIMIT,
                  "%u streams, limit %d", vi->fmt->nb_streams, l->max_streams);
    if (vi->fmt->duration != AV_NOPTS_VALUE) {
        double d = vi->fmt->duration / (double)AV_TIME_BASE;
        RETURN_ERR_IF(d > l->max_duration, TP_ERR_LIMIT, "duration %.0f s, limit %.0f s", d,
                      l->max_duration);
    }
    vi->vidx = pick_video_stream(vi->fmt);
    RETURN_ERR_IF(vi->vidx < 0, TP_ERR_INVALIDDATA, "no decodable video stream");
    {
        AVCodecParameters *par = vi->fmt->streams[vi->vidx]->codecpar;
        struct image_limits il;
        image_limits_defaults(&il);
        il.max_pixels = l->max_pixels;
        il.max_dimension = l->max_dimension;
        FORWARD_ERR(image_check_dims(&il, (uint64_t)par->width, (uint64_t)par->height));
    }
    FORWARD_ERR(check_sample_table(vi));

    /* A header without samples (a metadata-only MOV) has nothing to show. */
    if (!(pkt = av_packet_alloc()))
        return TP_ERR(ENOMEM);
    ret = AVERROR_EOF;
    for (int i = 0; i < MAX_PROBE_PACKETS; i++) {
        ret = av_read_frame(vi->fmt, pkt);
        if (ret < 0)
            break;
        int mine = pkt->stream_index == vi->vidx && pkt->size > 0;
        av_packet_unref(pkt);
        if (mine) {
            ret = 1;
            break;
        }
    }
    av_packet_free(&pkt);
    if (ret != 1) {
        last_av_error[0] = '\0';
        tp_err_set("no decodable video stream (no video samples)");
        return TP_ERR_INVALIDDATA;
    }
    return video_in_rewind(vi);
}

int video_in_rewind(struct video_in *vi)
{
    AVStream *st = vi->fmt->streams[vi->vidx];
    int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    int ret = av_seek_frame(vi->fmt, vi->vidx, start, AVSEEK_FLAG_BACKWARD);
    if (ret < 0)
        ret = av_seek_frame(vi->fmt, -1, 0, AVSEEK_FLAG_BYTE | AVSEEK_FLAG_BACKWARD);
    if (ret < 0)
        return video_averr(ret, "cannot seek to the start");
    return 0;
}

void video_in_close(struct video_in *vi)
{
    if (vi->fmt)
        avformat_close_input(&vi->fmt);
    if (vi->pb) {
        av_freep(&vi->pb->buffer);
        avio_context_free(&vi->pb);
    }
}

int video_open_decoder(AVStream *st, int threads, AVCodecContext **dec_out)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *dec;
    int ret;
    *dec_out = NULL;
    RETURN_ERR_IF(!codec, TP_ERR_UNSUPPORTED, "no decoder for %s",
                  avcodec_get_name(st->codecpar->codec_id));
    if (!(dec = avcodec_alloc_context3(codec)))
        return TP_ERR(ENOMEM);
    if ((ret = avcodec_parameters_to_context(dec, st->codecpar)) < 0)
        goto fail;
    dec->pkt_timebase = st->time_base;
    dec->thread_count = threads > 0 ? threads : 2;
    if ((ret = avcodec_open2(dec, codec, NULL)) < 0)
        goto fail;
    *dec_out = dec;
    return 0;
fail:
    avcodec_free_context(&dec);
    return video_averr(ret, "cannot open the decoder");
}

int video_stream_rotation(AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!m)
        return 0;
    double ccw = av_display_rotation_get((const int32_t *)m);
    if (isnan(ccw))
        return 0;
    int cw = (int)lround(-ccw);
    cw = ((cw % 360) + 360) % 360;
    return (cw + 45) / 90 * 90 % 360;
}

int video_rotation_to_orientation(int rotation_cw)
{
    switch (rotation_cw) {
    case 90: return 6;
    case 180: return 3;
    case 270: return 8;
    default: return 1;
    }
}

/* --- metadata -------------------------------------------------------- */

/* ISO 6709 "+27.5916+086.5640+8850/" (QuickTime ©xyz, Apple location). */
static int parse_iso6709(const char *s, double *lat, double *lon)
{
    char *end;
    if (*s != '+' && *s != '-')
        return -1;
    *lat = strtod(s, &end);
    if (end == s || (*end != '+' && *end != '-'))
        return -1;
    s = end;
    *lon = strtod(s, &end);
    if (end == s || fabs(*lat) > 90 || fabs(*lon) > 180)
        return -1;
    return 0;
}

static const char *meta_get(AVFormatContext *fmt, AVStream *st, const char *key)
{
    const AVDictionaryEntry *e = av_dict_get(fmt->metadata, key, NULL, 0);
    if (!e && st)
        e = av_dict_get(st->metadata, key, NULL, 0);
    return e ? e->value : NULL;
}

static void fill_container(struct video_in *vi, struct media_info *mi)
{
    const char *name = vi->fmt->iformat->name, *c = "mp4";
    if (!strncmp(name, "matroska", 8)) {
        size_t n = vi->mem.len < 64 ? vi->mem.len : 64;
        c = memmem(vi->mem.data, n, "webm", 4) ? "webm" : "matroska";
    } else {
        const char *brand = meta_get(vi->fmt, NULL, "major_brand");
        if (!brand && vi->mem.len >= 8 && memcmp(vi->mem.data + 4, "ftyp", 4))
            c = "mov"; /* plain QuickTime, no ftyp */
        else if (brand && !strncmp(brand, "qt", 2))
            c = "mov";
        else if (brand && !strncmp(brand, "3g", 2))
            c = "3gp";
    }
    snprintf(mi->container, sizeof(mi->container), "%s", c);
}

int video_probe_info(const uint8_t *in, size_t len, const struct video_limits *l,
                     struct media_info *mi)
{
    struct video_in vi;
    int ret = video_in_open(&vi, in, len, l);
    if (ret < 0)
        goto end;
    AVStream *st = vi.fmt->streams[vi.vidx];
    AVCodecParameters *par = st->codecpar;
    const AVPixFmtDescriptor *pd = av_pix_fmt_desc_get(par->format);

    fill_container(&vi, mi);
    snprintf(mi->kind, sizeof(mi->kind), "video");
    snprintf(mi->vcodec, sizeof(mi->vcodec), "%s", avcodec_get_name(par->codec_id));
    int aidx = av_find_best_stream(vi.fmt, AVMEDIA_TYPE_AUDIO, -1, vi.vidx, NULL, 0);
    if (aidx >= 0)
        snprintf(mi->acodec, sizeof(mi->acodec), "%s",
                 avcodec_get_name(vi.fmt->streams[aidx]->codecpar->codec_id));
    mi->width = par->width;
    mi->height = par->height;
    mi->bit_depth = pd ? pd->comp[0].depth : 8;
    mi->channels = 3;
    mi->rotation = video_stream_rotation(st);
    mi->orientation = video_rotation_to_orientation(mi->rotation);
    int swap = mi->rotation == 90 || mi->rotation == 270;
    mi->display_width = swap ? par->height : par->width;
    mi->display_height = swap ? par->width : par->height;
    AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
    mi->fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : 0;
    if (vi.fmt->duration != AV_NOPTS_VALUE)
        mi->duration = vi.fmt->duration / (double)AV_TIME_BASE;
    else if (st->duration != AV_NOPTS_VALUE)
        mi->duration = st->duration * av_q2d(st->time_base);
    mi->frames = st->nb_frames > 0 ? (int)(st->nb_frames > INT32_MAX ? INT32_MAX : st->nb_frames)
                                   : (int)lround(mi->duration * mi->fps);
    mi->bit_rate = vi.fmt->bit_rate > 0 ? vi.fmt->bit_rate
                   : mi->duration > 0  ? (int64_t)(len * 8 / mi->duration)
                                       : 0;
    if (par->color_trc != AVCOL_TRC_UNSPECIFIED) {
        const char *t = av_color_transfer_name(par->color_trc);
        snprintf(mi->transfer, sizeof(mi->transfer), "%s", t ? t : "");
    }
    mi->hdr = par->color_trc == AVCOL_TRC_SMPTE2084 || par->color_trc == AVCOL_TRC_ARIB_STD_B67;

    const char *ct = meta_get(vi.fmt, st, "com.apple.quicktime.creationdate");
    if (!ct)
        ct = meta_get(vi.fmt, st, "creation_time");
    if (ct) {
        snprintf(mi->creation_time, sizeof(mi->creation_time), "%s", ct);
        unsigned y, mo, d, h, mi_, s;
        if (sscanf(ct, "%4u-%2u-%2uT%2u:%2u:%2u", &y, &mo, &d, &h, &mi_, &s) == 6)
            snprintf(mi->capture_time, sizeof(mi->capture_time), "%04u:%02u:%02u %02u:%02u:%02u",
                     y % 10000, mo % 100, d % 100, h % 100, mi_ % 100, s % 100);
    }
    const char *cid = meta_get(vi.fmt, st, "com.apple.quicktime.content.identifier");
    if (cid)
        snprintf(mi->content_id, sizeof(mi->content_id), "%s", cid);
    static const char *const loc_keys[] = { "com.apple.quicktime.location.ISO6709", "location",
                                            "location-eng" };
    for (size_t i = 0; i < TP_ARRAY_SIZE(loc_keys); i++) {
        const char *loc = meta_get(vi.fmt, NULL, loc_keys[i]);
        if (!loc)
            continue;
        mi->has_gps = 1;
        if (parse_iso6709(loc, &mi->gps_lat, &mi->gps_lon) == 0) {
            mi->has_gps_coords = 1;
            break;
        }
    }
    const char *make = meta_get(vi.fmt, NULL, "com.apple.quicktime.make");
    const char *model = meta_get(vi.fmt, NULL, "com.apple.quicktime.model");
    if (make)
        snprintf(mi->make, sizeof(mi->make), "%s", make);
    if (model)
        snprintf(mi->model, sizeof(mi->model), "%s", model);
    ret = 0;
end:
    video_in_close(&vi);
    return ret;
}

/* --- poster frame ---------------------------------------------------- */

/* Converts f to 8-bit RGB; out is allocated here. */
static int frame_to_rgb(const AVFrame *f, struct image *out)
{
    struct SwsContext *sws;
    int ret;
    FORWARD_ERR(image_alloc(out, f->width, f->height, 3, 1));
    sws = sws_getContext(f->width, f->height, f->format, f->width, f->height, AV_PIX_FMT_RGB24,
                         SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws) {
        tp_err_set("cannot convert pixel format %s", av_get_pix_fmt_name(f->format));
        return TP_ERR_UNSUPPORTED;
    }
    int cs = f->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : (int)f->colorspace;
    sws_setColorspaceDetails(sws, sws_getCoefficients(cs), f->color_range == AVCOL_RANGE_JPEG,
                             sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    uint8_t *dst[4] = { out->data };
    int dst_stride[4] = { (int)out->stride };
    ret = sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst,
                    dst_stride);
    sws_freeContext(sws);
    if (ret != f->height) {
        tp_err_set("pixel conversion failed");
        return TP_ERR_EXTERNAL;
    }
    return 0;
}

/* 0..255 luma spread: too dark or too flat frames make bad posters. */
static double poster_score(const struct image *img)
{
    double sum = 0, sq = 0;
    long n = 0;
    int step = img->width * img->height > 100000 ? 4 : 1;
    for (int y = 0; y < img->height; y += step) {
        const uint8_t *r = img->data + (size_t)y * img->stride;
        for (int x = 0; x < img->width; x += step, n++) {
            double l = 0.299 * r[3 * x] + 0.587 * r[3 * x + 1] + 0.114 * r[3 * x + 2];
            sum += l;
            sq += l * l;
        }
    }
    double mean = sum / (double)n, sd = sqrt(fmax(0, sq / (double)n - mean * mean));
    if (mean < 16 || sd < 6)
        return -1.0 / (1.0 + sd + mean); /* reject, but prefer the least bad */
    return sd;
}

/* Decodes the first frame from the current position, starting at the
 * next keyframe packet.  1 = got a frame, 0 = end of stream. */
static int decode_next_key(struct video_in *vi, AVCodecContext *dec, AVPacket *pkt, AVFrame *f,
                           double *pts_out)
{
    AVStream *st = vi->fmt->streams[vi->vidx];
    int started = 0, draining = 0, ret;
    avcodec_flush_buffers(dec);
    for (;;) {
        FORWARD_ERR(video_in_check_time(vi));
        ret = avcodec_receive_frame(dec, f);
        if (ret == 0) {
            int64_t ts = f->best_effort_timestamp;
            *pts_out = ts == AV_NOPTS_VALUE ? 0 : ts * av_q2d(st->time_base);
            return 1;
        }
        if (ret == AVERROR_EOF)
            return 0;
        if (ret != AVERROR(EAGAIN))
            return video_averr(ret, "cannot decode the video");
        if (draining)
            return 0;
        ret = av_read_frame(vi->fmt, pkt);
        if (ret == AVERROR_EOF) {
            draining = 1;
            if (started)
                avcodec_send_packet(dec, NULL);
            else
                return 0;
            continue;
        }
        if (ret < 0)
            return video_averr(ret, "cannot read the clip");
        if (pkt->stream_index != vi->vidx || (!started && !(pkt->flags & AV_PKT_FLAG_KEY))) {
            av_packet_unref(pkt);
            continue;
        }
        started = 1;
        ret = avcodec_send_packet(dec, pkt);
        av_packet_unref(pkt);
        if (ret < 0 && ret != AVERROR(EAGAIN))
            return video_averr(ret, "cannot decode the video");
    }
}

int video_poster(const uint8_t *in, size_t len, const struct video_limits *l, struct image *out,
                 int *rotation_out)
{
    struct video_in vi;
    AVCodecContext *dec = NULL;
    AVPacket *pkt = NULL;
    AVFrame *f = NULL;
    struct image cand = { 0 };
    double best_score = -1e9;
    int ret;

    memset(out, 0, sizeof(*out));
    if ((ret = video_in_open(&vi, in, len, l)) < 0)
        goto end;
    AVStream *st = vi.fmt->streams[vi.vidx];
    if (rotation_out)
        *rotation_out = video_stream_rotation(st);
    if ((ret = video_open_decoder(st, 0, &dec)) < 0)
        goto end;
    if (!(pkt = av_packet_alloc()) || !(f = av_frame_alloc())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    double dur = vi.fmt->duration != AV_NOPTS_VALUE ? vi.fmt->duration / (double)AV_TIME_BASE : 0;
    double target = dur > 0 && dur < 10 ? dur * 0.1 : 1.0;
    int64_t ts = (int64_t)(target / av_q2d(st->time_base));
    if (st->start_time != AV_NOPTS_VALUE)
        ts += st->start_time;
    if (av_seek_frame(vi.fmt, vi.vidx, ts, AVSEEK_FLAG_BACKWARD) < 0 &&
        (ret = video_in_rewind(&vi)) < 0)
        goto end;

    for (int tries = 0; tries < POSTER_TRIES; tries++) {
        double pts = 0;
        ret = decode_next_key(&vi, dec, pkt, f, &pts);
        if (ret < 0)
            goto end;
        if (ret == 0)
            break;
        if ((ret = image_check_dims(&(struct image_limits){ .max_pixels = l->max_pixels,
                                                            .max_dimension = l->max_dimension },
                                    (uint64_t)f->width, (uint64_t)f->height)) < 0)
            goto end;
        ret = frame_to_rgb(f, &cand);
        av_frame_unref(f);
        if (ret < 0)
            goto end;
        double score = poster_score(&cand);
        if (!out->data || score > best_score) {
            image_free(out);
            *out = cand;
            memset(&cand, 0, sizeof(cand));
            best_score = score;
        }
        image_free(&cand);
        if (best_score >= 0 || pts > target + POSTER_SPAN)
            break;
        tp_log(TP_LOG_DEBUG, "video: keyframe at %.2f s is dark or flat, trying the next", pts);
    }
    if (!out->data) {
        tp_err_set("no decodable video frame");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    out->bit_depth = 8;
    out->frames = st->nb_frames > 0 && st->nb_frames < INT32_MAX ? (int)st->nb_frames : 1;
    ret = 0;
end:
    if (ret < 0)
        image_free(out);
    image_free(&cand);
    av_frame_free(&f);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    video_in_close(&vi);
    return ret;
}

/* --- the adapter ----------------------------------------------------- */
static int video_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return 0;
}

static int video_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                        struct meta *m)
{
    struct video_limits l;
    int rotation = 0;
    video_limits_from_image(&l, &p->o.limits);
    if (p->o.header_only) {
        struct media_info mi;
        memset(&mi, 0, sizeof(mi));
        FORWARD_ERR(video_probe_info(in, len, &l, &mi));
        out->width = mi.width;
        out->height = mi.height;
        out->channels = 3;
        out->depth = 1;
        out->bit_depth = mi.bit_depth;
        out->frames = mi.frames;
        m->orientation = mi.orientation;
        return 0;
    }
    FORWARD_ERR(video_poster(in, len, &l, out, &rotation));
    m->orientation = video_rotation_to_orientation(rotation);
    return 0;
}

static const char *const video_suffixes[] = { ".mp4", ".mov", ".m4v", ".3gp", ".3g2",
                                              ".webm", ".mkv", NULL };

const struct codec codec_video = {
    .name = "video",
    .mime = "video/mp4",
    .suffixes = video_suffixes,
    .caps = CODEC_CAP_DECODE | CODEC_CAP_VIDEO,
    .priority = 1,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 64,
    .probe = video_probe,
    .open = video_open,
    .decode = video_decode,
};
