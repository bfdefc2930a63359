/* GIF through libvips (see vipsglue.c). */
#include <stdint.h>
#include <string.h>

#include "err.h"

#include "codec.h"
#include "vipsglue.h"

struct codec_priv {
    struct codec_opts o;
};

static int gif_probe(const uint8_t *b, size_t len)
{
    return len >= 6 && (!memcmp(b, "GIF87a", 6) || !memcmp(b, "GIF89a", 6));
}

/* Skips the data sub-blocks at b[pos] (size byte, data, ..., 0); returns
 * the position after them, or len when they run past the end. */
static size_t skip_blocks(const uint8_t *b, size_t len, size_t pos)
{
    while (pos < len && b[pos])
        pos += 1 + (size_t)b[pos];
    return pos < len ? pos + 1 : len;
}

/* The number of frames (image descriptors), counted exactly from the block
 * structure without decoding: libvips' loader stops counting at 4,097.  A
 * structure cut short counts what is there (decoding judges the rest). */
static int64_t gif_count_frames(const uint8_t *b, size_t len)
{
    size_t pos = 13;
    int64_t frames = 0;
    if (len < 13)
        return 0;
    if (b[10] & 0x80)
        pos += 3u << ((b[10] & 7) + 1);
    while (pos < len) {
        if (b[pos] == 0x21) { /* extension: label, sub-blocks */
            pos = skip_blocks(b, len, pos + 2);
        } else if (b[pos] == 0x2c) { /* image: descriptor, colour table, LZW */
            if (len - pos < 11)
                break;
            frames++;
            uint8_t packed = b[pos + 9];
            pos += 10;
            if (packed & 0x80)
                pos += 3u << ((packed & 7) + 1);
            pos = skip_blocks(b, len, pos + 1);
        } else {
            break; /* trailer (0x3b) or garbage */
        }
    }
    return frames;
}

static int gif_open(struct codec_priv *p, const struct codec_opts *o)
{
    p->o = *o;
    return vipsglue_init();
}

static int gif_decode(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                       struct meta *m)
{
    int64_t frames = gif_count_frames(in, len);
    RETURN_ERR_IF(frames > p->o.limits.max_frames, TP_ERR_LIMIT, "%lld frames, limit %d",
                  (long long)frames, p->o.limits.max_frames);
    int ret = vipsglue_decode(&p->o, "gifload", in, len, out, m);
    if (ret == 0 && frames > out->frames)
        out->frames = (int)frames;
    return ret;
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
