/* The codec libraries' versions, as linked (run time where the library
 * says, else the headers built against): for `tierpress --version`. */
#include <stdio.h>
#include <string.h>

#include <jconfig.h>
#if HAVE_WEBP
#include <webp/encode.h>
#endif
#if HAVE_AVIF
#include <avif/avif.h>
#endif
#if HAVE_HEIF
#include <libheif/heif.h>
#endif
#if HAVE_JXL
#include <jxl/encode.h>
#endif
#if HAVE_VIPS
#include <vips/vips.h>
#endif
#if HAVE_VIDEO
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#endif

#include "codec.h"

static void add(char *buf, size_t len, const char *name, const char *v)
{
    size_t n = strlen(buf);
    if (n < len)
        snprintf(buf + n, len - n, "%s%s %s", n ? ", " : "", name, v);
}

static const char *ver3(char *b, size_t n, unsigned v, unsigned scale)
{
    snprintf(b, n, "%u.%u.%u", v / (scale * scale), v / scale % scale, v % scale);
    return b;
}

void codec_versions(char *buf, size_t len)
{
    char v[64];
    buf[0] = '\0';
#ifdef LIBJPEG_TURBO_VERSION
#define TP_STR2(x) #x
#define TP_STR(x) TP_STR2(x)
    add(buf, len, "libjpeg-turbo", TP_STR(LIBJPEG_TURBO_VERSION));
#endif
#if HAVE_WEBP
    add(buf, len, "libwebp", ver3(v, sizeof(v), (unsigned)WebPGetEncoderVersion(), 256));
#endif
#if HAVE_AVIF
    add(buf, len, "libavif", avifVersion());
#endif
#if HAVE_HEIF
    add(buf, len, "libheif", heif_get_version());
#endif
#if HAVE_JXL
    add(buf, len, "libjxl", ver3(v, sizeof(v), JxlEncoderVersion(), 1000));
#endif
#if HAVE_VIPS
    add(buf, len, "libvips", vips_version_string());
#endif
#if HAVE_VIDEO
    add(buf, len, "FFmpeg", av_version_info());
    add(buf, len, "libavcodec", ver3(v, sizeof(v), avcodec_version(), 256));
    add(buf, len, "libavformat", ver3(v, sizeof(v), avformat_version(), 256));
#endif
}
