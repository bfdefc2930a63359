/* JPEG XL through libjxl 0.7: pixel decode/encode, plus the bit-exact
 * JPEG -> JXL recompression and its inverse (reconstruction of the original
 * JPEG file from the jbrd box).
 *
 * Orientation: the decoder keeps the pixels as coded
 * (JxlDecoderSetKeepOrientation) and reports the codestream's orientation
 * in m->orientation; the encoder writes m->orientation into the codestream
 * header, which every JXL viewer applies.  EXIF lives in an "Exif" box whose
 * payload starts with a 4-byte big-endian offset to the TIFF header; struct
 * meta holds the bare TIFF, so it is stripped on decode and a zero offset is
 * prepended on encode.  XMP is the "xml " box. */
#include <math.h>
#include <string.h>

#include <jxl/decode.h>
#include <jxl/encode.h>
#include <jxl/thread_parallel_runner.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "codec.h"
#include "jxl_icc.h"

#define MAX_META_BOX (64u << 20) /* larger Exif/xml boxes are ignored */

struct codec_priv {
    struct codec_opts o;
    void *runner; /* JxlThreadParallelRunner, created on first use */
};

/* The one translator: enc != NULL reads the encoder's error code; a NULL
 * enc means the decoder refused the input (libjxl 0.7 gives no detail). */
static int jxl_err(const JxlEncoder *enc, const char *what)
{
    if (!enc) {
        tp_err_set("%s: libjxl rejected the data (corrupt or truncated JPEG XL)", what);
        return TP_ERR_INVALIDDATA;
    }
    switch (JxlEncoderGetError((JxlEncoder *)(uintptr_t)enc)) {
    case JXL_ENC_ERR_OOM:
        tp_err_set("%s: libjxl ran out of memory", what);
        return TP_ERR(ENOMEM);
    case JXL_ENC_ERR_JBRD:
        tp_err_set("%s: the JPEG cannot be stored for bit-exact reconstruction", what);
        return TP_ERR_UNSUPPORTED;
    case JXL_ENC_ERR_BAD_INPUT:
        tp_err_set("%s: libjxl rejected the input", what);
        return TP_ERR_INVALIDDATA;
    case JXL_ENC_ERR_NOT_SUPPORTED:
        tp_err_set("%s: not supported by libjxl", what);
        return TP_ERR_UNSUPPORTED;
    case JXL_ENC_ERR_API_USAGE:
        tp_err_set("%s: libjxl API misuse", what);
        return TP_ERR_BUG;
    default:
        tp_err_set("%s: libjxl encoder error", what);
        return TP_ERR_EXTERNAL;
    }
}

static int jxl_probe(const uint8_t *b, size_t len)
{
    static const uint8_t box[12] = { 0, 0, 0, 0x0C, 'J', 'X', 'L', ' ', 0x0D, 0x0A, 0x87, 0x0A };
    if (len >= 2 && b[0] == 0xFF && b[1] == 0x0A)
        return 1;
    return len >= 12 && !memcmp(b, box, 12);
}

static int jxl_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return 0;
}

static void *get_runner(struct codec_priv *p)
{
    if (!p->runner) {
        size_t n = p->o.threads > 0 ? (size_t)p->o.threads
                                    : JxlThreadParallelRunnerDefaultNumWorkerThreads();
        p->runner = JxlThreadParallelRunnerCreate(NULL, n);
    }
    return p->runner;
}

/* ---- decode ---------------------------------------------------------- */

static int is_srgb(const JxlColorEncoding *c)
{
    return (c->color_space == JXL_COLOR_SPACE_RGB || c->color_space == JXL_COLOR_SPACE_GRAY) &&
           c->white_point == JXL_WHITE_POINT_D65 &&
           (c->color_space == JXL_COLOR_SPACE_GRAY || c->primaries == JXL_PRIMARIES_SRGB) &&
           c->transfer_function == JXL_TRANSFER_FUNCTION_SRGB;
}

static int read_icc(JxlDecoder *dec, const JxlBasicInfo *bi, struct meta *m)
{
    JxlColorEncoding data_ce, orig_ce, want;
    int orig_enc = JxlDecoderGetColorAsEncodedProfile(
                       dec, NULL, JXL_COLOR_PROFILE_TARGET_ORIGINAL, &orig_ce) == JXL_DEC_SUCCESS;
    size_t sz = 0;
    if (!bi->uses_original_profile && !orig_enc &&
        JxlDecoderGetICCProfileSize(dec, NULL, JXL_COLOR_PROFILE_TARGET_ORIGINAL, &sz) ==
            JXL_DEC_SUCCESS &&
        sz) {
        /* XYB with an ICC original: see above */
        FORWARD_ERR(buf_reserve(&m->icc, sz));
        if (JxlDecoderGetColorAsICCProfile(dec, NULL, JXL_COLOR_PROFILE_TARGET_ORIGINAL,
                                           m->icc.data, sz) != JXL_DEC_SUCCESS)
            return jxl_err(NULL, "JPEG XL colour profile");
        m->icc.len = sz;
        if (bi->num_color_channels < 3 || jxl_icc_to_encoding(m->icc.data, sz, &want) < 0 ||
            JxlDecoderSetPreferredColorProfile(dec, &want) != JXL_DEC_SUCCESS) {
            tp_log(TP_LOG_WARN, "JPEG XL: ICC profile not expressible without a CMS; "
                                "decoding to sRGB and dropping it");
            m->icc.len = 0;
            JxlColorEncodingSetToSRGB(&want, bi->num_color_channels < 3);
            if (JxlDecoderSetPreferredColorProfile(dec, &want) != JXL_DEC_SUCCESS)
                return jxl_err(NULL, "JPEG XL colour profile");
        }
        return 0;
    }
    int data_enc = JxlDecoderGetColorAsEncodedProfile(dec, NULL, JXL_COLOR_PROFILE_TARGET_DATA,
                                                      &data_ce) == JXL_DEC_SUCCESS;
    if (data_enc && is_srgb(&data_ce))
        return 0;
    JxlColorProfileTarget t = bi->uses_original_profile ? JXL_COLOR_PROFILE_TARGET_ORIGINAL
                                                        : JXL_COLOR_PROFILE_TARGET_DATA;
    if (JxlDecoderGetICCProfileSize(dec, NULL, t, &sz) != JXL_DEC_SUCCESS || !sz)
        return 0;
    FORWARD_ERR(buf_reserve(&m->icc, sz));
    if (JxlDecoderGetColorAsICCProfile(dec, NULL, t, m->icc.data, sz) != JXL_DEC_SUCCESS)
        return jxl_err(NULL, "JPEG XL colour profile");
    m->icc.len = sz;
    return 0;
}

/* Strips the 4-byte TIFF header offset of an Exif box payload in place. */
static void exif_box_to_tiff(struct tp_buf *b)
{
    int off = -1;
    if (b->len >= 12) {
        uint32_t o = (uint32_t)b->data[0] << 24 | (uint32_t)b->data[1] << 16 |
                     (uint32_t)b->data[2] << 8 | b->data[3];
        if ((uint64_t)o + 12 <= b->len && exif_find_tiff(b->data + 4 + o, 4) == 0)
            off = 4 + (int)o;
        else if ((off = exif_find_tiff(b->data + 4, b->len - 4)) >= 0)
            off += 4;
    }
    if (off < 0) {
        tp_log(TP_LOG_WARN, "JPEG XL: Exif box without a TIFF header ignored");
        buf_free(b);
        return;
    }
    memmove(b->data, b->data + off, b->len - (size_t)off);
    b->len -= (size_t)off;
}

static int jxl_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                      struct meta *m)
{
    JxlDecoder *dec = JxlDecoderCreate(NULL);
    JxlBasicInfo bi;
    JxlPixelFormat pf = { 0, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0 };
    struct tp_buf *box = NULL; /* the meta block being filled, or NULL */
    size_t box_cap = 0;
    int ret, have_info = 0, frames = 0, header_only = p->o.header_only;

    if (!dec)
        return TP_ERR(ENOMEM);
    int events = JXL_DEC_BASIC_INFO | JXL_DEC_COLOR_ENCODING | JXL_DEC_BOX |
                 (header_only ? 0 : JXL_DEC_FULL_IMAGE);
    if (JxlDecoderSubscribeEvents(dec, events) != JXL_DEC_SUCCESS ||
        JxlDecoderSetKeepOrientation(dec, JXL_TRUE) != JXL_DEC_SUCCESS ||
        JxlDecoderSetDecompressBoxes(dec, JXL_TRUE) != JXL_DEC_SUCCESS ||
        JxlDecoderSetInput(dec, in, len) != JXL_DEC_SUCCESS) {
        ret = jxl_err(NULL, "JPEG XL decoder setup");
        goto end;
    }
    if (!header_only && get_runner(p) &&
        JxlDecoderSetParallelRunner(dec, JxlThreadParallelRunner, p->runner) != JXL_DEC_SUCCESS) {
        ret = jxl_err(NULL, "JPEG XL decoder setup");
        goto end;
    }
    JxlDecoderCloseInput(dec);

    for (;;) {
        JxlDecoderStatus st = JxlDecoderProcessInput(dec);
        if (st == JXL_DEC_ERROR) {
            ret = jxl_err(NULL, "JPEG XL");
            goto end;
        }
        if (st == JXL_DEC_NEED_MORE_INPUT) {
            tp_err_set("JPEG XL: file is truncated");
            ret = TP_ERR_INVALIDDATA;
            goto end;
        }
        if (box && (st == JXL_DEC_BOX || st == JXL_DEC_SUCCESS)) {
            /* the previous box is complete */
            box->len = box_cap - JxlDecoderReleaseBoxBuffer(dec);
            if (box == &m->exif)
                exif_box_to_tiff(box);
            box = NULL;
        }
        if (st == JXL_DEC_SUCCESS)
            break;
        switch (st) {
        case JXL_DEC_BASIC_INFO:
            if (JxlDecoderGetBasicInfo(dec, &bi) != JXL_DEC_SUCCESS) {
                ret = jxl_err(NULL, "JPEG XL basic info");
                goto end;
            }
            if ((ret = image_check_dims(&p->o.limits, bi.xsize, bi.ysize)) < 0)
                goto end;
            have_info = 1;
            m->orientation = bi.orientation >= 1 && bi.orientation <= 8 ? (int)bi.orientation : 1;
            pf.num_channels = (bi.num_color_channels >= 3 ? 3 : 1) + (bi.alpha_bits ? 1 : 0);
            pf.data_type = bi.bits_per_sample > 8 ? JXL_TYPE_UINT16 : JXL_TYPE_UINT8;
            if (header_only) {
                out->width = (int)bi.xsize;
                out->height = (int)bi.ysize;
                out->channels = (int)pf.num_channels;
                out->depth = pf.data_type == JXL_TYPE_UINT16 ? 2 : 1;
                out->bit_depth = (int)bi.bits_per_sample;
                out->frames = 1;
            }
            break;
        case JXL_DEC_COLOR_ENCODING:
            if ((ret = read_icc(dec, &bi, m)) < 0)
                goto end;
            break;
        case JXL_DEC_BOX: {
            JxlBoxType type;
            if (JxlDecoderGetBoxType(dec, type, JXL_TRUE) != JXL_DEC_SUCCESS)
                break;
            struct tp_buf *want = !memcmp(type, "Exif", 4) && !m->exif.len  ? &m->exif
                                  : !memcmp(type, "xml ", 4) && !m->xmp.len ? &m->xmp
                                                                            : NULL;
            if (!want)
                break;
            box_cap = 65536;
            if ((ret = buf_reserve(want, box_cap)) < 0)
                goto end;
            box_cap = want->cap;
            JxlDecoderSetBoxBuffer(dec, want->data, box_cap);
            box = want;
            break;
        }
        case JXL_DEC_BOX_NEED_MORE_OUTPUT: {
            size_t used = box_cap - JxlDecoderReleaseBoxBuffer(dec);
            if (!box || box_cap >= MAX_META_BOX) {
                tp_err_set("JPEG XL: metadata box over %u bytes", MAX_META_BOX);
                ret = TP_ERR_LIMIT;
                goto end;
            }
            if ((ret = buf_reserve(box, box_cap * 2)) < 0)
                goto end;
            box_cap = box->cap;
            JxlDecoderSetBoxBuffer(dec, box->data + used, box_cap - used);
            break;
        }
        case JXL_DEC_NEED_IMAGE_OUT_BUFFER: {
            if (frames > 0) { /* only the first frame is decoded */
                JxlDecoderSkipCurrentFrame(dec);
                frames++;
                break;
            }
            if (!have_info) {
                ret = jxl_err(NULL, "JPEG XL");
                goto end;
            }
            size_t need = 0;
            int depth = pf.data_type == JXL_TYPE_UINT16 ? 2 : 1;
            if ((ret = image_alloc(out, (int)bi.xsize, (int)bi.ysize, (int)pf.num_channels,
                                   depth)) < 0)
                goto end;
            out->bit_depth = (int)bi.bits_per_sample;
            if (JxlDecoderImageOutBufferSize(dec, &pf, &need) != JXL_DEC_SUCCESS ||
                need != out->stride * (size_t)out->height ||
                JxlDecoderSetImageOutBuffer(dec, &pf, out->data, need) != JXL_DEC_SUCCESS) {
                ret = jxl_err(NULL, "JPEG XL output buffer");
                goto end;
            }
            frames++;
            break;
        }
        default:
            break;
        }
    }
    if (!have_info || (!header_only && !frames)) {
        tp_err_set("JPEG XL: no image in the file");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    if (!header_only)
        out->frames = frames;
    else if (bi.have_animation)
        out->frames = 2; /* "more than one"; counting needs a full parse */
    ret = 0;
end:
    JxlDecoderDestroy(dec);
    return ret;
}

/* ---- encode ---------------------------------------------------------- */

/* cjxl's quality -> distance mapping (JxlEncoderDistanceFromQuality arrived
 * after 0.7). */
static float distance_from_quality(int q)
{
    if (q >= 100)
        return 0.0f;
    if (q >= 30)
        return 0.1f + (float)(100 - q) * 0.09f;
    return 6.4f + (float)pow(2.5, (30 - q) / 5.0) / 6.25f;
}

/* Drains the encoder into out. */
static int drain(JxlEncoder *enc, struct tp_buf *out)
{
    out->len = 0;
    FORWARD_ERR(buf_reserve(out, 65536));
    for (;;) {
        uint8_t *next = out->data + out->len;
        size_t avail = out->cap - out->len;
        JxlEncoderStatus st = JxlEncoderProcessOutput(enc, &next, &avail);
        out->len = (size_t)(next - out->data);
        if (st == JXL_ENC_SUCCESS)
            return 0;
        if (st != JXL_ENC_NEED_MORE_OUTPUT)
            return jxl_err(enc, "JPEG XL encode");
        FORWARD_ERR(buf_reserve(out, out->cap * 2));
    }
}

static int set_effort(struct codec_priv *p, JxlEncoderFrameSettings *fs)
{
    int e = p->o.effort < 0 ? 7 : p->o.effort < 1 ? 1 : p->o.effort;
    return JxlEncoderFrameSettingsSetOption(fs, JXL_ENC_FRAME_SETTING_EFFORT, e);
}

/* Whether libjxl stores this ICC profile verbatim (1) or converts it to
 * its own enum description (0); negative if refused.  Found by a 1x1
 * trial encode in the same mode: for XYB, libjxl 0.7 converts matrix/TRC
 * profiles it thinks it can express, and gets Apple's Display P3 (a v4 profile with a D65 'wtpt'
 * and a 'chad') wrong, so the caller uses its own parse then. */
static int icc_kept_verbatim(const struct tp_buf *icc, int lossless)
{
    JxlEncoder *enc = JxlEncoderCreate(NULL);
    JxlDecoder *dec = NULL;
    struct tp_buf b = { 0 };
    static const uint8_t px[3] = { 128, 128, 128 };
    JxlPixelFormat pf = { 3, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0 };
    JxlBasicInfo bi;
    int ret = -1;

    if (!enc)
        return TP_ERR(ENOMEM);
    JxlEncoderInitBasicInfo(&bi);
    bi.xsize = bi.ysize = 1;
    bi.bits_per_sample = 8;
    bi.uses_original_profile = lossless ? JXL_TRUE : JXL_FALSE;
    JxlEncoderFrameSettings *fs = NULL;
    if (JxlEncoderSetBasicInfo(enc, &bi) != JXL_ENC_SUCCESS ||
        JxlEncoderSetICCProfile(enc, icc->data, icc->len) != JXL_ENC_SUCCESS ||
        !(fs = JxlEncoderFrameSettingsCreate(enc, NULL)) ||
        JxlEncoderFrameSettingsSetOption(fs, JXL_ENC_FRAME_SETTING_EFFORT, 1) != JXL_ENC_SUCCESS ||
        JxlEncoderSetFrameLossless(fs, lossless ? JXL_TRUE : JXL_FALSE) != JXL_ENC_SUCCESS ||
        JxlEncoderAddImageFrame(fs, &pf, px, sizeof(px)) != JXL_ENC_SUCCESS)
        goto end;
    JxlEncoderCloseInput(enc);
    if ((ret = drain(enc, &b)) < 0)
        goto end;
    ret = -1;
    if (!(dec = JxlDecoderCreate(NULL)) ||
        JxlDecoderSubscribeEvents(dec, JXL_DEC_COLOR_ENCODING) != JXL_DEC_SUCCESS ||
        JxlDecoderSetInput(dec, b.data, b.len) != JXL_DEC_SUCCESS)
        goto end;
    JxlDecoderCloseInput(dec);
    if (JxlDecoderProcessInput(dec) == JXL_DEC_COLOR_ENCODING) {
        JxlColorEncoding ce;
        ret = JxlDecoderGetColorAsEncodedProfile(dec, NULL, JXL_COLOR_PROFILE_TARGET_ORIGINAL,
                                                 &ce) != JXL_DEC_SUCCESS;
    }
end:
    if (dec)
        JxlDecoderDestroy(dec);
    JxlEncoderDestroy(enc);
    buf_free(&b);
    return ret;
}

static int jxl_encode(struct codec_priv *p, const struct image *img, const struct meta *m,
                      struct tp_buf *out, unsigned *dropped)
{
    const struct codec_opts *o = &p->o;
    JxlEncoder *enc = JxlEncoderCreate(NULL);
    struct tp_buf exif = { 0 };
    struct image tmp = { 0 };
    int ret;

    if (!enc)
        return TP_ERR(ENOMEM);
    if (!img->data || img->width <= 0 || img->height <= 0) {
        tp_err_set("JPEG XL encode: empty image");
        ret = TP_ERR(EINVAL);
        goto end;
    }
    /* 16-bit sources are written as 16-bit unless 8 is asked for */
    const struct image *src = img;
    if (img->depth == 2 && o->bit_depth == 8) {
        if ((ret = image_to_rgb8(img, 1, &tmp)) < 0)
            goto end;
        src = &tmp;
    }
    if (src->stride != (size_t)src->width * (size_t)src->channels * (size_t)src->depth) {
        tp_err_set("JPEG XL encode: padded rows are not supported");
        ret = TP_ERR_BUG;
        goto end;
    }
    int alpha = image_has_alpha(src), colour = src->channels >= 3;
    if (get_runner(p) &&
        JxlEncoderSetParallelRunner(enc, JxlThreadParallelRunner, p->runner) != JXL_ENC_SUCCESS) {
        ret = jxl_err(enc, "JPEG XL encoder setup");
        goto end;
    }

    JxlBasicInfo bi;
    JxlEncoderInitBasicInfo(&bi);
    bi.xsize = (uint32_t)src->width;
    bi.ysize = (uint32_t)src->height;
    bi.bits_per_sample = src->depth == 1 ? 8
                         : src->bit_depth > 8 && src->bit_depth <= 16 ? (uint32_t)src->bit_depth
                                                                      : 16;
    bi.exponent_bits_per_sample = 0;
    bi.num_color_channels = colour ? 3 : 1;
    bi.num_extra_channels = alpha ? 1 : 0;
    bi.alpha_bits = alpha ? bi.bits_per_sample : 0;
    bi.uses_original_profile = o->lossless ? JXL_TRUE : JXL_FALSE;
    bi.orientation = m->orientation >= 1 && m->orientation <= 8 ? (JxlOrientation)m->orientation
                                                                : JXL_ORIENT_IDENTITY;
    if (JxlEncoderSetBasicInfo(enc, &bi) != JXL_ENC_SUCCESS) {
        ret = jxl_err(enc, "JPEG XL basic info");
        goto end;
    }
    int icc_ok = 0;
    if (m->icc.len) {
        JxlColorEncoding ce;
        if (colour && icc_kept_verbatim(&m->icc, o->lossless) == 0 &&
            jxl_icc_to_encoding(m->icc.data, m->icc.len, &ce) == 0)
            icc_ok = JxlEncoderSetColorEncoding(enc, &ce) == JXL_ENC_SUCCESS;
        else
            icc_ok = JxlEncoderSetICCProfile(enc, m->icc.data, m->icc.len) == JXL_ENC_SUCCESS;
        if (!icc_ok) {
            /* e.g. a CMYK profile on RGB pixels: drop it, as STYLE says */
            tp_log(TP_LOG_WARN, "JPEG XL: ICC profile refused by libjxl; written as sRGB");
            *dropped |= META_HAS_ICC;
        }
    }
    if (!icc_ok) {
        JxlColorEncoding ce;
        JxlColorEncodingSetToSRGB(&ce, colour ? JXL_FALSE : JXL_TRUE);
        if (JxlEncoderSetColorEncoding(enc, &ce) != JXL_ENC_SUCCESS) {
            ret = jxl_err(enc, "JPEG XL colour encoding");
            goto end;
        }
    }

    if (m->exif.len || m->xmp.len) {
        if (JxlEncoderUseBoxes(enc) != JXL_ENC_SUCCESS) {
            ret = jxl_err(enc, "JPEG XL boxes");
            goto end;
        }
        int off = m->exif.len ? exif_find_tiff(m->exif.data, m->exif.len) : -1;
        if (m->exif.len && off < 0)
            *dropped |= META_HAS_EXIF;
        if (off >= 0) {
            static const uint8_t zero[4] = { 0 };
            if ((ret = buf_append(&exif, zero, 4)) < 0 ||
                (ret = buf_append(&exif, m->exif.data + off, m->exif.len - (size_t)off)) < 0)
                goto end;
            if (JxlEncoderAddBox(enc, "Exif", exif.data, exif.len, JXL_FALSE) != JXL_ENC_SUCCESS) {
                ret = jxl_err(enc, "JPEG XL Exif box");
                goto end;
            }
        }
        if (m->xmp.len &&
            JxlEncoderAddBox(enc, "xml ", m->xmp.data, m->xmp.len, JXL_FALSE) != JXL_ENC_SUCCESS) {
            ret = jxl_err(enc, "JPEG XL xml box");
            goto end;
        }
        JxlEncoderCloseBoxes(enc);
    }

    JxlEncoderFrameSettings *fs = JxlEncoderFrameSettingsCreate(enc, NULL);
    if (!fs || set_effort(p, fs) != JXL_ENC_SUCCESS) {
        ret = jxl_err(enc, "JPEG XL frame settings");
        goto end;
    }
    if (o->lossless) {
        if (JxlEncoderSetFrameLossless(fs, JXL_TRUE) != JXL_ENC_SUCCESS ||
            JxlEncoderSetFrameDistance(fs, 0.0f) != JXL_ENC_SUCCESS) {
            ret = jxl_err(enc, "JPEG XL lossless");
            goto end;
        }
    } else {
        float d = distance_from_quality(o->quality >= 0 ? o->quality : 90);
        /* libjxl 0.7 accepts distances 0.1..25 */
        d = d < 0.1f ? 0.1f : d > 25.0f ? 25.0f : d;
        if (JxlEncoderSetFrameDistance(fs, d) != JXL_ENC_SUCCESS) {
            ret = jxl_err(enc, "JPEG XL distance");
            goto end;
        }
    }
    JxlPixelFormat pf = { (uint32_t)src->channels,
                          src->depth == 2 ? JXL_TYPE_UINT16 : JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN,
                          0 };
    if (JxlEncoderAddImageFrame(fs, &pf, src->data, src->stride * (size_t)src->height) !=
        JXL_ENC_SUCCESS) {
        ret = jxl_err(enc, "JPEG XL frame");
        goto end;
    }
    JxlEncoderCloseInput(enc);
    ret = drain(enc, out);
end:
    JxlEncoderDestroy(enc);
    buf_free(&exif);
    image_free(&tmp);
    return ret;
}

/* ---- JPEG <-> JXL ---------------------------------------------------- */

static int recompress(struct codec_priv *p, const uint8_t *in, size_t len, struct tp_buf *out)
{
    JxlEncoder *enc = JxlEncoderCreate(NULL);
    int ret;

    if (!enc)
        return TP_ERR(ENOMEM);
    if (len < 3 || in[0] != 0xFF || in[1] != 0xD8) {
        tp_err_set("JPEG XL recompression needs a JPEG file");
        ret = TP_ERR_UNSUPPORTED;
        goto end;
    }
    if ((get_runner(p) &&
         JxlEncoderSetParallelRunner(enc, JxlThreadParallelRunner, p->runner) != JXL_ENC_SUCCESS) ||
        JxlEncoderUseContainer(enc, JXL_TRUE) != JXL_ENC_SUCCESS ||
        JxlEncoderStoreJPEGMetadata(enc, JXL_TRUE) != JXL_ENC_SUCCESS) {
        ret = jxl_err(enc, "JPEG XL encoder setup");
        goto end;
    }
    JxlEncoderFrameSettings *fs = JxlEncoderFrameSettingsCreate(enc, NULL);
    if (!fs || set_effort(p, fs) != JXL_ENC_SUCCESS) {
        ret = jxl_err(enc, "JPEG XL frame settings");
        goto end;
    }
    if (JxlEncoderAddJPEGFrame(fs, in, len) != JXL_ENC_SUCCESS) {
        /* CMYK, arithmetic coding, 12-bit, odd markers...: the caller may
         * fall back to a pixel encode */
        jxl_err(enc, "JPEG -> JPEG XL recompression");
        tp_err_set("libjxl cannot recompress this JPEG bit-exactly (CMYK, arithmetic or "
                   "12-bit coding, or unusual markers)");
        ret = TP_ERR_UNSUPPORTED;
        goto end;
    }
    JxlEncoderCloseInput(enc);
    if ((ret = drain(enc, out)) < 0) {
        if (ret == TP_ERR_INVALIDDATA || ret == TP_ERR_EXTERNAL)
            ret = TP_ERR_UNSUPPORTED; /* refused while coding: same meaning */
        goto end;
    }
end:
    JxlEncoderDestroy(enc);
    return ret;
}

static int reconstruct(struct codec_priv *p, const uint8_t *in, size_t len, struct tp_buf *out)
{
    JxlDecoder *dec = JxlDecoderCreate(NULL);
    size_t cap = 0;
    int ret, got = 0;

    if (!dec)
        return TP_ERR(ENOMEM);
    if (JxlDecoderSubscribeEvents(dec, JXL_DEC_JPEG_RECONSTRUCTION | JXL_DEC_FULL_IMAGE) !=
            JXL_DEC_SUCCESS ||
        JxlDecoderSetInput(dec, in, len) != JXL_DEC_SUCCESS) {
        ret = jxl_err(NULL, "JPEG XL decoder setup");
        goto end;
    }
    JxlDecoderCloseInput(dec);
    out->len = 0;
    for (;;) {
        JxlDecoderStatus st = JxlDecoderProcessInput(dec);
        switch (st) {
        case JXL_DEC_ERROR:
            ret = jxl_err(NULL, "JPEG XL");
            goto end;
        case JXL_DEC_NEED_MORE_INPUT:
            tp_err_set("JPEG XL: file is truncated");
            ret = TP_ERR_INVALIDDATA;
            goto end;
        case JXL_DEC_JPEG_RECONSTRUCTION:
            got = 1;
            if ((ret = buf_reserve(out, len * 2 + 65536)) < 0)
                goto end;
            cap = out->cap;
            JxlDecoderSetJPEGBuffer(dec, out->data, cap);
            break;
        case JXL_DEC_JPEG_NEED_MORE_OUTPUT: {
            size_t used = cap - JxlDecoderReleaseJPEGBuffer(dec);
            if (cap >= p->o.limits.max_file_bytes) {
                tp_err_set("JPEG XL: reconstructed JPEG over the file size limit");
                ret = TP_ERR_LIMIT;
                goto end;
            }
            if ((ret = buf_reserve(out, cap * 2)) < 0)
                goto end;
            cap = out->cap;
            JxlDecoderSetJPEGBuffer(dec, out->data + used, cap - used);
            break;
        }
        case JXL_DEC_NEED_IMAGE_OUT_BUFFER:
            /* only asked for when there is no JPEG to reconstruct */
            tp_err_set("JPEG XL file has no JPEG reconstruction data");
            ret = TP_ERR_UNSUPPORTED;
            goto end;
        case JXL_DEC_FULL_IMAGE:
        case JXL_DEC_SUCCESS:
            if (!got) {
                tp_err_set("JPEG XL file has no JPEG reconstruction data");
                ret = TP_ERR_UNSUPPORTED;
                goto end;
            }
            out->len = cap - JxlDecoderReleaseJPEGBuffer(dec);
            ret = 0;
            goto end; /* the first frame is the JPEG */
        default:
            break;
        }
    }
end:
    JxlDecoderDestroy(dec);
    if (ret < 0)
        out->len = 0;
    return ret;
}

/* Called outside codec_decode/codec_encode, so libjxl's traces are captured
 * here (see log_capture_begin). */
static int jxl_recompress(struct codec_priv *p, const uint8_t *in, size_t len, struct tp_buf *out)
{
    log_capture_begin();
    int ret = recompress(p, in, len, out);
    log_capture_end("jxl");
    return ret;
}

static int jxl_reconstruct(struct codec_priv *p, const uint8_t *in, size_t len, struct tp_buf *out)
{
    log_capture_begin();
    int ret = reconstruct(p, in, len, out);
    log_capture_end("jxl");
    return ret;
}

static void jxl_close(struct codec_priv *p)
{
    if (p->runner)
        JxlThreadParallelRunnerDestroy(p->runner);
    p->runner = NULL;
}

static const char *const jxl_suffixes[] = { ".jxl", NULL };

static const char *const jxl_aliases[] = { "jpegxl", NULL };

const struct codec codec_jxl = {
    .name = "jxl",
    .aliases = jxl_aliases,
    .mime = "image/jxl",
    .suffixes = jxl_suffixes,
    .caps = CODEC_CAP_DECODE | CODEC_CAP_ENCODE | CODEC_CAP_META_EXIF | CODEC_CAP_META_XMP |
            CODEC_CAP_META_ICC | CODEC_CAP_LOSSLESS,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 12,
    .probe = jxl_probe,
    .open = jxl_open,
    .decode = jxl_decode,
    .encode = jxl_encode,
    .recompress = jxl_recompress,
    .reconstruct = jxl_reconstruct,
    .close = jxl_close,
};
