/* libvips glue: loading anything libvips knows into struct image, and
 * saving through its buffer savers. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <vips/vips.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "vipsglue.h"

#define STRIP_ROWS 64 /* rows a decode asks libvips for at a time */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_ret;

/* Loaders that must never see untrusted uploads: they run external
 * programs, parse documents or scripts, or are not image formats. */
static const char *const denied_loaders[] = {
    "svgload", "pdfload", "magickload", "matload", "fitsload", "openslideload", "csvload",
    "matrixload", "vipsload", "rawload", "analyzeload", "niftiload", NULL,
};

/* libvips and GLib warnings go to our log (debug level: the error that
 * matters comes back through vips_error_buffer()). */
/* The last libvips warning: loaders such as pngload report the reason as
 * a warning (possibly from a libvips worker thread) and leave the error
 * buffer empty. */
static pthread_mutex_t warning_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_warning[256];

static void warning_set(const char *msg)
{
    pthread_mutex_lock(&warning_lock);
    snprintf(last_warning, sizeof(last_warning), "%s", msg);
    pthread_mutex_unlock(&warning_lock);
}

static void glib_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)data;
    if (msg)
        warning_set(msg);
    tp_log(level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL) ? TP_LOG_WARN : TP_LOG_DEBUG,
           "%s: %s", domain ? domain : "glib", msg);
}

static void do_init(void)
{
    init_ret = VIPS_INIT("tierpress") ? TP_ERR_EXTERNAL : 0;
    g_log_set_handler("VIPS", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                      glib_log, NULL);
    g_log_set_handler("GLib-GObject", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL, glib_log, NULL);
    if (!init_ret) {
        vips_concurrency_set(1);
        vips_cache_set_max(0);
    }
}

int vipsglue_init(void)
{
    pthread_once(&once, do_init);
    return init_ret;
}

static int vips_err(const char *what)
{
    const char *msg = vips_error_buffer();
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n'))
        n--;
    char warning[sizeof(last_warning)];
    pthread_mutex_lock(&warning_lock);
    snprintf(warning, sizeof(warning), "%s", last_warning);
    last_warning[0] = '\0';
    pthread_mutex_unlock(&warning_lock);
    if (!n) {
        msg = warning[0] ? warning : "libvips gave no reason";
        n = strlen(msg);
    }
    tp_err_set("%s: %.*s", what, (int)(n > 400 ? 400 : n), msg);
    vips_error_clear();
    return TP_ERR_INVALIDDATA;
}

const char *vipsglue_loader(const uint8_t *buf, size_t len)
{
    if (vipsglue_init() < 0)
        return NULL;
    const char *cls = vips_foreign_find_load_buffer(buf, len);
    vips_error_clear();
    if (!cls)
        return NULL;
    /* the class name ("VipsForeignLoadPngBuffer") -> nickname ("pngload_buffer") */
    const char *l = vips_nickname_find(g_type_from_name(cls));
    if (!l)
        return NULL;
    for (int i = 0; denied_loaders[i]; i++)
        if (!strncmp(l, denied_loaders[i], strlen(denied_loaders[i])))
            return NULL;
    return l;
}

static int copy_blob(VipsImage *im, const char *name, struct tp_buf *out)
{
    const void *data;
    size_t len;
    if (!vips_image_get_typeof(im, name))
        return 0;
    if (vips_image_get_blob(im, name, &data, &len))
        return 0;
    return buf_set(out, data, len);
}

int vipsglue_decode(const struct codec_opts *o, const char *want_loader, const uint8_t *buf,
                    size_t len, struct image *img, struct meta *m)
{
    VipsImage *im = NULL, *t = NULL;
    VipsRegion *reg = NULL;
    int ret, allocated = 0;

    FORWARD_ERR(vipsglue_init());
    const char *loader = vipsglue_loader(buf, len);
    RETURN_ERR_IF(!loader, TP_ERR_UNKNOWNFMT, "no libvips loader accepts the content");
    RETURN_ERR_IF(want_loader && strncmp(loader, want_loader, strlen(want_loader)),
                  TP_ERR_UNKNOWNFMT, "content is not %s", want_loader);
    /* fail_on=error: a truncated or corrupt file is an error, not a
     * half-grey picture. */
    warning_set("");
    im = vips_image_new_from_buffer(buf, len, "", "fail_on", VIPS_FAIL_ON_ERROR, "access",
                                    VIPS_ACCESS_SEQUENTIAL, NULL);
    if (!im)
        return vips_err("load");
    int w = vips_image_get_width(im), h = vips_image_get_height(im);
    int pages = vips_image_get_n_pages(im);
    if ((ret = image_check_dims(&o->limits, (uint64_t)w, (uint64_t)h)) < 0)
        goto end;
    if (pages > o->limits.max_frames) {
        tp_err_set("%d frames, limit %d", pages, o->limits.max_frames);
        ret = TP_ERR_LIMIT;
        goto end;
    }
    if ((ret = copy_blob(im, VIPS_META_EXIF_NAME, &m->exif)) < 0 ||
        (ret = copy_blob(im, VIPS_META_XMP_NAME, &m->xmp)) < 0 ||
        (ret = copy_blob(im, VIPS_META_ICC_NAME, &m->icc)) < 0)
        goto end;
    if (m->exif.len) {
        int off = exif_find_tiff(m->exif.data, m->exif.len);
        if (off < 0) {
            buf_free(&m->exif);
        } else if (off > 0) {
            memmove(m->exif.data, m->exif.data + off, m->exif.len - (size_t)off);
            m->exif.len -= (size_t)off;
        }
    }
    int orient = vips_image_get_orientation(im);
    m->orientation = orient >= 1 && orient <= 8 ? orient : 1;

    /* Normalise to 8- or 16-bit grey/RGB with optional alpha. */
    VipsInterpretation interp = vips_image_get_interpretation(im);
    VipsBandFormat fmt = vips_image_get_format(im);
    int bands = vips_image_get_bands(im);
    int is16 = fmt == VIPS_FORMAT_USHORT && (interp == VIPS_INTERPRETATION_RGB16 ||
                                             interp == VIPS_INTERPRETATION_GREY16);
    int grey = interp == VIPS_INTERPRETATION_B_W || interp == VIPS_INTERPRETATION_GREY16;
    int has_alpha = vips_image_hasalpha(im);
    int channels = (grey ? 1 : 3) + (has_alpha ? 1 : 0);
    img->width = w;
    img->height = h;
    img->channels = channels;
    img->depth = is16 ? 2 : 1;
    img->bit_depth = is16 ? 16 : 8;
    img->frames = pages > 0 ? pages : 1;
    if (o->header_only) {
        ret = 0;
        goto end;
    }
    if (pages > 1) { /* first frame only */
        VipsImage *f;
        if (vips_crop(im, &f, 0, 0, w, vips_image_get_page_height(im), NULL)) {
            ret = vips_err("frame");
            goto end;
        }
        g_object_unref(im);
        im = f;
        h = vips_image_get_height(im);
        img->height = h;
    }
    if (!(grey ? (bands == channels) : (bands == channels)) ||
        (fmt != VIPS_FORMAT_UCHAR && !is16) ||
        (!grey && interp != VIPS_INTERPRETATION_sRGB && interp != VIPS_INTERPRETATION_RGB16)) {
        /* CMYK, Lab, float, multiband, ...: convert to sRGB 8-bit. */
        if (vips_colourspace(im, &t, grey ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB,
                             NULL)) {
            ret = vips_err("colour conversion");
            goto end;
        }
        g_object_unref(im);
        im = t;
        t = NULL;
        if (vips_image_get_format(im) != VIPS_FORMAT_UCHAR) {
            if (vips_cast_uchar(im, &t, NULL)) {
                ret = vips_err("cast");
                goto end;
            }
            g_object_unref(im);
            im = t;
            t = NULL;
        }
        int nb = vips_image_get_bands(im);
        if (nb > channels) {
            if (vips_extract_band(im, &t, 0, "n", channels, NULL)) {
                ret = vips_err("bands");
                goto end;
            }
            g_object_unref(im);
            im = t;
            t = NULL;
        }
        img->depth = 1;
        img->bit_depth = 8;
        img->channels = vips_image_get_bands(im);
        if (img->channels < 1 || img->channels > 4) {
            tp_err_set("%d bands", img->channels);
            ret = TP_ERR_UNSUPPORTED;
            goto end;
        }
    }
    /* The pixels go straight into img, strip by strip, on this thread: no
     * second copy of the image (vips_image_write_to_memory's buffer), no
     * worker threads. */
    int ch = img->channels, dp = img->depth, fr = img->frames, bd = img->bit_depth;
    if ((ret = image_alloc(img, w, h, ch, dp)) < 0)
        goto end;
    allocated = 1;
    img->frames = fr;
    img->bit_depth = bd;
    if ((size_t)VIPS_IMAGE_SIZEOF_LINE(im) != img->stride) {
        tp_err_set("libvips gives %zu bytes a row, expected %zu",
                   (size_t)VIPS_IMAGE_SIZEOF_LINE(im), img->stride);
        ret = TP_ERR_BUG;
        goto end;
    }
    if (!(reg = vips_region_new(im))) {
        ret = vips_err("decode");
        goto end;
    }
    for (int y = 0; y < h; y += STRIP_ROWS) {
        VipsRect r = { .left = 0, .top = y, .width = w, .height = h - y < STRIP_ROWS ? h - y : STRIP_ROWS };
        if (vips_region_prepare(reg, &r)) {
            ret = vips_err("decode");
            goto end;
        }
        for (int k = 0; k < r.height; k++)
            memcpy(img->data + (size_t)(y + k) * img->stride, VIPS_REGION_ADDR(reg, 0, y + k),
                   img->stride);
    }
    ret = 0;
end:
    if (ret < 0 && allocated)
        image_free(img);
    if (reg)
        g_object_unref(reg);
    if (t)
        g_object_unref(t);
    if (im)
        g_object_unref(im);
    vips_error_clear();
    return ret;
}

int vipsglue_encode(const struct codec_opts *o, const char *saver, const struct image *img,
                    const struct meta *m, struct tp_buf *out, unsigned *dropped)
{
    VipsImage *im;
    void *buf = NULL;
    size_t len = 0;
    int ret, r;
    (void)dropped;

    FORWARD_ERR(vipsglue_init());
    im = vips_image_new_from_memory(img->data, img->stride * (size_t)img->height, img->width,
                                    img->height, img->channels,
                                    img->depth == 2 ? VIPS_FORMAT_USHORT : VIPS_FORMAT_UCHAR);
    if (!im)
        return vips_err("wrap");
    im->Type = img->channels <= 2 ? (img->depth == 2 ? VIPS_INTERPRETATION_GREY16
                                                     : VIPS_INTERPRETATION_B_W)
                                  : (img->depth == 2 ? VIPS_INTERPRETATION_RGB16
                                                     : VIPS_INTERPRETATION_sRGB);
    if (m->exif.len) {
        /* libvips keeps EXIF with the JPEG APP1 "Exif\0\0" prefix */
        uint8_t *e = g_malloc(m->exif.len + 6);
        memcpy(e, "Exif\0\0", 6);
        memcpy(e + 6, m->exif.data, m->exif.len);
        vips_image_set_blob_copy(im, VIPS_META_EXIF_NAME, e, m->exif.len + 6);
        g_free(e);
    }
    if (m->xmp.len)
        vips_image_set_blob_copy(im, VIPS_META_XMP_NAME, m->xmp.data, m->xmp.len);
    if (m->icc.len)
        vips_image_set_blob_copy(im, VIPS_META_ICC_NAME, m->icc.data, m->icc.len);
    vips_image_set_int(im, VIPS_META_ORIENTATION, m->orientation);
    int effort = o->effort >= 0 ? o->effort : 6;
    if (!strcmp(saver, "png"))
        r = vips_pngsave_buffer(im, &buf, &len, "compression", effort > 9 ? 9 : effort, NULL);
    else if (!strcmp(saver, "tiff"))
        r = vips_tiffsave_buffer(im, &buf, &len, "compression", VIPS_FOREIGN_TIFF_COMPRESSION_DEFLATE,
                                 NULL);
    else if (!strcmp(saver, "gif"))
        r = vips_gifsave_buffer(im, &buf, &len, NULL);
    else
        r = -1;
    if (r) {
        vips_err(saver);
        ret = TP_ERR_EXTERNAL;
        goto end;
    }
    out->len = 0;
    ret = buf_append(out, buf, len);
end:
    g_free(buf);
    g_object_unref(im);
    vips_error_clear();
    return ret;
}
