/* TIFF through libvips (see vipsglue.c). */
#include <string.h>

#include "codec.h"
#include "vipsglue.h"

struct codec_priv {
    struct codec_opts o;
};

static int tiff_probe(const uint8_t *b, size_t len)
{
    return len >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4));
}

static int tiff_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return vipsglue_init();
}

static int tiff_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    return vipsglue_decode(&p->o, "tiffload", in, len, out, m);
}

static int tiff_encode(struct codec_priv *p, const struct image *img, const struct meta *m,
                       struct tp_buf *out, unsigned *dropped)
{
    return vipsglue_encode(&p->o, "tiff", img, m, out, dropped);
}

static const char *const tiff_suffixes[] = { ".tif", ".tiff", NULL };

static const char *const tiff_aliases[] = { "tif", NULL };

const struct codec codec_tiff = {
    .name = "tiff",
    .aliases = tiff_aliases,
    .mime = "image/tiff",
    .suffixes = tiff_suffixes,
    .caps = CODEC_CAP_DECODE | CODEC_CAP_ENCODE | CODEC_CAP_LOSSLESS | CODEC_CAP_META_EXIF | CODEC_CAP_META_XMP | CODEC_CAP_META_ICC,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 4,
    .probe = tiff_probe,
    .open = tiff_open,
    .decode = tiff_decode,
    .encode = tiff_encode,
};
