/* The catch-all: anything else a libvips loader accepts (BMP, PNM, JPEG 2000,
 * HDR, ...), decode only.  Loaders that run external programs or parse
 * documents are refused (see vipsglue.c). */
#include "codec.h"
#include "vipsglue.h"

struct codec_priv {
    struct codec_opts o;
};

static int vips_probe(const uint8_t *b, size_t len)
{
    return vipsglue_loader(b, len) != NULL;
}

static int vips_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return vipsglue_init();
}

static int vips_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    return vipsglue_decode(&p->o, NULL, in, len, out, m);
}

const struct codec codec_vips = {
    .name = "vips",
    .mime = "application/octet-stream",
    .caps = CODEC_CAP_DECODE | CODEC_CAP_INIT_NOT_THREADSAFE,
    .priority = 1, /* only when no dedicated adapter claims the data */
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 4096,
    .probe = vips_probe,
    .open = vips_open,
    .decode = vips_decode,
};
