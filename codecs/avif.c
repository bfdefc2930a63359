/* AVIF through libavif: avifDecoder (dav1d picked automatically) for the
 * first frame of stills and sequences, avifEncoder with aom / svt / rav1e.
 * Pixels stay as coded; the irot/imir display transform is mapped to and
 * from an EXIF orientation (see the tables below). */
#include <avif/avif.h>
#include <string.h>

#include "err.h"
#include "exif.h"
#include "log.h"
#include "codec.h"

struct codec_priv {
    struct codec_opts o;
    avifCodecChoice enc_choice; /* resolved in open() so a bad --encoder fails early */
};

/* The one translator: libavif's result code plus its diagnostics line. */
static int avif_err(avifResult r, const avifDiagnostics *diag, int encoding)
{
    const char *detail = diag && diag->error[0] ? diag->error : NULL;
    tp_err_set("AVIF%s: %s%s%s", encoding ? " encode" : "", avifResultToString(r),
               detail ? ": " : "", detail ? detail : "");
    if (r == AVIF_RESULT_OUT_OF_MEMORY)
        return TP_ERR(ENOMEM);
    return encoding ? TP_ERR_EXTERNAL : TP_ERR_INVALIDDATA;
}

/* ftyp box with "avif" (still) or "avis" (sequence) as the major brand or
 * one of the compatible brands. */
static int avif_probe(const uint8_t *b, size_t len)
{
    if (len < 16 || memcmp(b + 4, "ftyp", 4))
        return 0;
    size_t box = (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
    if (box < 16)
        return 0;
    if (box > len)
        box = len;
    for (size_t i = 8; i + 4 <= box; i += 4) {
        if (i == 12)
            continue; /* minor_version */
        if (!memcmp(b + i, "avif", 4) || !memcmp(b + i, "avis", 4))
            return 1;
    }
    return 0;
}

static int avif_open(struct codec_priv *p, const struct codec_opts *o)
{
    static const struct {
        const char *name;
        avifCodecChoice choice;
    } encoders[] = {
        { "aom", AVIF_CODEC_CHOICE_AOM },
        { "svt", AVIF_CODEC_CHOICE_SVT },
        { "rav1e", AVIF_CODEC_CHOICE_RAV1E },
    };
    const char *name = o->encoder && o->encoder[0] ? o->encoder : "aom";
    p->o = *o;
    p->enc_choice = AVIF_CODEC_CHOICE_AUTO;
    for (size_t i = 0; i < TP_ARRAY_SIZE(encoders); i++)
        if (!strcmp(name, encoders[i].name))
            p->enc_choice = encoders[i].choice;
    RETURN_ERR_IF(p->enc_choice == AVIF_CODEC_CHOICE_AUTO, TP_ERR_USAGE,
                  "unknown AVIF encoder '%s' (expected aom, svt or rav1e)", name);
    return 0;
}

/* Display transform <-> EXIF orientation.
 *
 * ISO/IEC 23008-12 irot: rotate anti-clockwise by angle * 90 degrees.
 * imir mode 0: top and bottom exchanged (vertical flip); mode 1: left and
 * right exchanged (horizontal flip).  MIAF (ISO/IEC 23000-22 7.3.6.7) fixes
 * the order clap, irot, imir, so rotation is applied before mirroring.
 * EXIF orientation N names the transform from stored to displayed pixels:
 *   6 = 90 deg clockwise = irot 3;  8 = 90 deg anti-clockwise = irot 1;
 *   3 = irot 2;  2 = imir 1;  4 = imir 0;
 *   5 (transpose) = irot 1 then imir 0;  7 (transverse) = irot 3 then imir 0.
 * A left-right flip equals a 180 degree turn plus a top-bottom flip, so
 * (angle a, imir 1) == (angle a+2, imir 0); that fills the decode table. */
static const uint8_t orient_from_transform[4][3] = {
    /*            no imir  imir 0  imir 1 */
    /* irot 0 */ { 1, 4, 2 },
    /* irot 1 */ { 8, 5, 7 },
    /* irot 2 */ { 3, 2, 4 },
    /* irot 3 */ { 6, 7, 5 },
};

static const struct {
    int8_t angle; /* 0 = no irot box */
    int8_t mode;  /* -1 = no imir box */
} transform_from_orient[9] = {
    [1] = { 0, -1 }, [2] = { 0, 1 }, [3] = { 2, -1 }, [4] = { 0, 0 },
    [5] = { 1, 0 },  [6] = { 3, -1 }, [7] = { 3, 0 },  [8] = { 1, -1 },
};

static int orientation_of(const avifImage *im)
{
    int angle = im->transformFlags & AVIF_TRANSFORM_IROT ? im->irot.angle & 3 : 0;
    int mir = im->transformFlags & AVIF_TRANSFORM_IMIR ? 1 + (im->imir.mode & 1) : 0;
    return orient_from_transform[angle][mir];
}

static void set_transform(avifImage *im, int orientation)
{
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    im->transformFlags &= ~(avifTransformFlags)(AVIF_TRANSFORM_IROT | AVIF_TRANSFORM_IMIR);
    im->irot.angle = 0;
    im->imir.mode = 0;
    if (transform_from_orient[orientation].angle) {
        im->transformFlags |= AVIF_TRANSFORM_IROT;
        im->irot.angle = (uint8_t)transform_from_orient[orientation].angle;
    }
    if (transform_from_orient[orientation].mode >= 0) {
        im->transformFlags |= AVIF_TRANSFORM_IMIR;
        im->imir.mode = (uint8_t)transform_from_orient[orientation].mode;
    }
}

/* Copies the metadata of the parsed image into m. */
static int read_meta(const avifImage *im, struct meta *m)
{
    if (im->exif.size) {
        /* The Exif item starts with a 4-byte big-endian offset to the TIFF
         * header (HEIF Annex A.2.1); libavif may or may not have skipped it. */
        const uint8_t *d = im->exif.data;
        size_t n = im->exif.size;
        int off = -1;
        if (n >= 8 && !(!memcmp(d, "II*\0", 4) || !memcmp(d, "MM\0*", 4))) {
            size_t skip = (size_t)d[0] << 24 | (size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3];
            if (skip <= n - 8) {
                int o = exif_find_tiff(d + 4 + skip, n - 4 - skip);
                if (o == 0)
                    off = (int)(4 + skip);
            }
        }
        if (off < 0)
            off = exif_find_tiff(d, n);
        if (off < 0)
            tp_log(TP_LOG_WARN, "AVIF: Exif item without a TIFF header ignored");
        else
            FORWARD_ERR(buf_set(&m->exif, d + off, n - (size_t)off));
    }
    if (im->xmp.size)
        FORWARD_ERR(buf_set(&m->xmp, im->xmp.data, im->xmp.size));
    if (im->icc.size)
        FORWARD_ERR(buf_set(&m->icc, im->icc.data, im->icc.size));

    m->orientation = 1;
    if (im->transformFlags & (AVIF_TRANSFORM_IROT | AVIF_TRANSFORM_IMIR)) {
        m->orientation = orientation_of(im);
    } else if (m->exif.len) {
        struct exif_info info;
        if (exif_parse(m->exif.data, m->exif.len, &info) == 0 && info.orientation)
            m->orientation = info.orientation;
    }
    return 0;
}

static int avif_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    const struct image_limits *lim = &p->o.limits;
    avifDecoder *dec = avifDecoderCreate();
    avifRGBImage rgb;
    avifResult r;
    int ret;

    if (!dec)
        return TP_ERR(ENOMEM);
    dec->maxThreads = p->o.threads > 0 ? p->o.threads : 2;
    dec->imageSizeLimit = lim->max_pixels < AVIF_DEFAULT_IMAGE_SIZE_LIMIT ?
                          (uint32_t)lim->max_pixels : AVIF_DEFAULT_IMAGE_SIZE_LIMIT;
    dec->imageDimensionLimit = (uint32_t)lim->max_dimension;
    dec->imageCountLimit = lim->max_frames > 0 ? (uint32_t)lim->max_frames : 1;
    if ((r = avifDecoderSetIOMemory(dec, in, len)) == AVIF_RESULT_OK)
        r = avifDecoderParse(dec);
    if (r == AVIF_RESULT_BMFF_PARSE_FAILED && !strncmp(dec->diag.error, "[Strict]", 8)) {
        /* Strict checks first (the default); files that only break one of
         * them (older writers omit pixi) are decoded leniently, as
         * browsers and libheif do. */
        tp_log(TP_LOG_INFO, "AVIF: %s; decoding leniently", dec->diag.error);
        dec->strictFlags = AVIF_STRICT_DISABLED;
        r = avifDecoderParse(dec);
    }
    if (r != AVIF_RESULT_OK) {
        ret = avif_err(r, &dec->diag, 0);
        goto end;
    }
    const avifImage *im = dec->image;
    if ((ret = image_check_dims(lim, im->width, im->height)) < 0)
        goto end;
    if ((ret = read_meta(im, m)) < 0)
        goto end;
    int channels = dec->alphaPresent ? 4 : 3, depth = im->depth > 8 ? 2 : 1;
    int frames = dec->imageCount > 0 ? dec->imageCount : 1;
    if (p->o.header_only) {
        out->width = (int)im->width;
        out->height = (int)im->height;
        out->channels = channels;
        out->depth = depth;
        out->bit_depth = (int)im->depth;
        out->frames = frames;
        ret = 0;
        goto end;
    }
    if ((r = avifDecoderNextImage(dec)) != AVIF_RESULT_OK) {
        ret = avif_err(r, &dec->diag, 0);
        goto end;
    }
    im = dec->image; /* the AV1 payload may disagree with the container */
    if ((ret = image_check_dims(lim, im->width, im->height)) < 0)
        goto end;
    depth = im->depth > 8 ? 2 : 1;
    if ((ret = image_alloc(out, (int)im->width, (int)im->height, channels, depth)) < 0)
        goto end;
    out->bit_depth = (int)im->depth;
    out->frames = frames;
    avifRGBImageSetDefaults(&rgb, im);
    rgb.format = channels == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    rgb.depth = depth == 2 ? 16 : 8; /* 10/12-bit scaled to the full 16-bit range */
    rgb.pixels = out->data;
    rgb.rowBytes = (uint32_t)out->stride;
    if ((r = avifImageYUVToRGB(im, &rgb)) != AVIF_RESULT_OK) {
        ret = avif_err(r, &dec->diag, 0);
        goto end;
    }
    ret = 0;
end:
    avifDecoderDestroy(dec);
    return ret;
}

/* Grey (+alpha) 16-bit to RGB(A) 16-bit: avifRGBImage has no grey format. */
static int grey16_to_rgb16(const struct image *in, struct image *out)
{
    int a = in->channels == 2, oc = a ? 4 : 3;
    FORWARD_ERR(image_alloc(out, in->width, in->height, oc, 2));
    out->bit_depth = in->bit_depth;
    for (int y = 0; y < in->height; y++) {
        const uint16_t *s = (const uint16_t *)(const void *)(in->data + (size_t)y * in->stride);
        uint16_t *d = (uint16_t *)(void *)(out->data + (size_t)y * out->stride);
        for (int x = 0; x < in->width; x++) {
            d[oc * x] = d[oc * x + 1] = d[oc * x + 2] = s[in->channels * x];
            if (a)
                d[oc * x + 3] = s[2 * x + 1];
        }
    }
    return 0;
}

/* Quality 0..100 -> AV1 quantizer 0..63 (lower is better), applied as both
 * min and max so the result is predictable (constant quantizer):
 *   quantizer = round(63 * (100 - quality) / 100)
 * q 100 -> 0 (near-lossless; true lossless needs --lossless), q 75 (our
 * default) -> 16, q 50 -> 32, q 0 -> 63. */
static int quality_to_quantizer(int q)
{
    q = q < 0 ? 75 : q > 100 ? 100 : q;
    return (63 * (100 - q) + 50) / 100;
}

static int avif_quality_level(int q)
{
    return 63 - quality_to_quantizer(q);
}

static int avif_encode(struct codec_priv *p, const struct image *img, const struct meta *m,
                       struct tp_buf *out, unsigned *dropped)
{
    const struct codec_opts *o = &p->o;
    struct image tmp = { 0 };
    const struct image *src = img;
    avifImage *im = NULL;
    avifEncoder *enc = NULL;
    avifRWData data = AVIF_DATA_EMPTY;
    avifRGBImage rgb;
    avifResult r;
    int ret;

    (void)dropped; /* AVIF holds EXIF, XMP and ICC */
    FORWARD_ERR(image_check_dims(&o->limits, (uint64_t)img->width, (uint64_t)img->height));
    RETURN_ERR_IF(!avifCodecName(p->enc_choice, AVIF_CODEC_FLAG_CAN_ENCODE), TP_ERR_UNSUPPORTED,
                  "AVIF encoder '%s' is not built into this libavif",
                  o->encoder ? o->encoder : "aom");
    if (img->channels < 3) {
        ret = img->depth == 2 ? grey16_to_rgb16(img, &tmp) : image_to_rgb8(img, 1, &tmp);
        if (ret < 0)
            return ret;
        src = &tmp;
    }
    /* 12-bit AV1 needs the Professional profile, which few decoders
     * support: bit_depth 12 is capped to 10. */
    int depth = o->bit_depth >= 10 || (o->bit_depth == 0 && img->bit_depth > 8) ? 10 : 8;
    avifPixelFormat fmt = o->lossless || o->subsampling == 444 ? AVIF_PIXEL_FORMAT_YUV444
                          : o->subsampling == 422              ? AVIF_PIXEL_FORMAT_YUV422
                                                               : AVIF_PIXEL_FORMAT_YUV420;
    /* SVT-AV1 1.4 refuses these deep inside the encode with a bare
     * "Encoding of color planes failed"; say why up front instead. */
    RETURN_ERR_IF(p->enc_choice == AVIF_CODEC_CHOICE_SVT &&
                  (fmt != AVIF_PIXEL_FORMAT_YUV420 || (src->width | src->height) & 1 ||
                   src->width < 64 || src->height < 64),
                  TP_ERR_UNSUPPORTED,
                  "AVIF encoder svt needs 4:2:0, no lossless, even width and height and at "
                  "least 64x64 (image %dx%d%s); use --encoder aom",
                  src->width, src->height, fmt != AVIF_PIXEL_FORMAT_YUV420 ? ", not 4:2:0" : "");
    if (!(im = avifImageCreate((uint32_t)src->width, (uint32_t)src->height, (uint32_t)depth, fmt))) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    im->yuvRange = AVIF_RANGE_FULL;
    im->matrixCoefficients = o->lossless ? AVIF_MATRIX_COEFFICIENTS_IDENTITY
                                         : AVIF_MATRIX_COEFFICIENTS_BT601;
    if (m->icc.len) {
        /* the ICC profile describes the colours; the CICP only says how YUV
         * was made */
        im->colorPrimaries = AVIF_COLOR_PRIMARIES_UNSPECIFIED;
        im->transferCharacteristics = AVIF_TRANSFER_CHARACTERISTICS_UNSPECIFIED;
        avifImageSetProfileICC(im, m->icc.data, m->icc.len);
    } else {
        im->colorPrimaries = AVIF_COLOR_PRIMARIES_BT709;
        im->transferCharacteristics = AVIF_TRANSFER_CHARACTERISTICS_SRGB;
    }

    avifRGBImageSetDefaults(&rgb, im);
    rgb.format = src->channels == 4 ? AVIF_RGB_FORMAT_RGBA : AVIF_RGB_FORMAT_RGB;
    rgb.depth = src->depth == 2 ? 16 : 8;
    rgb.pixels = src->data;
    rgb.rowBytes = (uint32_t)src->stride;
    if ((r = avifImageRGBToYUV(im, &rgb)) != AVIF_RESULT_OK) {
        ret = avif_err(r, NULL, 1);
        goto end;
    }

    if (m->exif.len)
        avifImageSetMetadataExif(im, m->exif.data, m->exif.len);
    if (m->xmp.len)
        avifImageSetMetadataXMP(im, m->xmp.data, m->xmp.len);
    /* after the EXIF, which sets irot/imir from its own tag: ours wins */
    set_transform(im, m->orientation);

    if (!(enc = avifEncoderCreate())) {
        ret = TP_ERR(ENOMEM);
        goto end;
    }
    enc->codecChoice = p->enc_choice;
    enc->maxThreads = o->threads > 0 ? o->threads : 2;
    enc->speed = o->effort >= 0 ? 10 - (o->effort > 9 ? 9 : o->effort) : 6;
    int qz = o->lossless ? AVIF_QUANTIZER_LOSSLESS : quality_to_quantizer(o->quality);
    enc->minQuantizer = enc->maxQuantizer = qz;
    enc->minQuantizerAlpha = enc->maxQuantizerAlpha = qz;
    if ((r = avifEncoderWrite(enc, im, &data)) != AVIF_RESULT_OK) {
        ret = avif_err(r, &enc->diag, 1);
        goto end;
    }
    out->len = 0;
    ret = buf_set(out, data.data, data.size);
end:
    avifRWDataFree(&data);
    if (enc)
        avifEncoderDestroy(enc);
    if (im)
        avifImageDestroy(im);
    image_free(&tmp);
    return ret;
}

static void avif_close(struct codec_priv *p)
{
    (void)p;
}

static const char *const avif_suffixes[] = { ".avif", ".avifs", NULL };

const struct codec codec_avif = {
    .name = "avif",
    .mime = "image/avif",
    .suffixes = avif_suffixes,
    .caps = CODEC_CAP_SUBSAMPLING | CODEC_CAP_DECODE | CODEC_CAP_ENCODE |
            CODEC_CAP_LOSSLESS | CODEC_CAP_META_EXIF |
            CODEC_CAP_META_XMP | CODEC_CAP_META_ICC,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 64,
    .probe = avif_probe,
    .open = avif_open,
    .decode = avif_decode,
    .encode = avif_encode,
    .close = avif_close,
    .quality_level = avif_quality_level,
};
