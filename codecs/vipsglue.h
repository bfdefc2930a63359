#ifndef TP_CODECS_VIPSGLUE_H
#define TP_CODECS_VIPSGLUE_H

/* Shared libvips glue for the adapters that load through libvips (png.c,
 * tiff.c, gif.c, vips.c).  Not a codec itself. */
#include "codec.h"

/* Initialises libvips once (thread-safe). */
int vipsglue_init(void);
/* Decodes buf with whichever libvips loader claims it; when want_loader is
 * non-NULL the loader's name must start with it ("png" matches
 * "VipsForeignLoadPngBuffer"...).  Fills img and m like codec decode(). */
int vipsglue_decode(const struct codec_opts *o, const char *want_loader, const uint8_t *buf,
                    size_t len, struct image *img, struct meta *m);
/* The name of the libvips loader for buf ("pngload_buffer"), or NULL. */
const char *vipsglue_loader(const uint8_t *buf, size_t len);
/* Encodes with vips_<saver>_buffer (saver "png", "tiff", "gif"); metadata
 * is attached as libvips image fields. */
int vipsglue_encode(const struct codec_opts *o, const char *saver, const struct image *img,
                    const struct meta *m, struct tp_buf *out, unsigned *dropped);

#endif /* TP_CODECS_VIPSGLUE_H */
