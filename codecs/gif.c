/* GIF through libvips (see vipsglue.c). */
#include <string.h>

#include "codec.h"
#include "vipsglue.h"

struct codec_priv {
    struct codec_opts o;
};

static int gif_probe(const uint8_t *b, size_t len)
{
    return len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6));
}

static int gif_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return vipsglue_init();
}

static int gif_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    return vipsglue_decode(&p->o, "gifload", in, len, out, m);
}

static const char *const gif_suffixes[] = { ".gif", NULL };

const struct codec codec_gif = {
    .name = "gif",
    .mime = "image/gif",
    .suffixes = gif_suffixes,
    .caps = CODEC_CAP_DECODE | CODEC_CAP_ANIM,
    .priority = 100,
    .priv_size = sizeof(struct codec_priv),
    .probe_size = 6,
    .probe = gif_probe,
    .open = gif_open,
    .decode = gif_decode,
};
