#ifndef TP_CODECS_CODEC_H
#define TP_CODECS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "mem.h"
#include "meta.h"

enum codec_caps {
    CODEC_CAP_DECODE = 1 << 0,
    CODEC_CAP_ENCODE = 1 << 1,
    CODEC_CAP_ANIM = 1 << 2,
    CODEC_CAP_META_EXIF = 1 << 3,  /* the encoder can store EXIF */
    CODEC_CAP_META_XMP = 1 << 4,
    CODEC_CAP_META_ICC = 1 << 5,
    CODEC_CAP_LOSSLESS = 1 << 6,   /* the encoder has a lossless mode */
    CODEC_CAP_INIT_NOT_THREADSAFE = 1 << 7,
    CODEC_CAP_VIDEO = 1 << 8,
    CODEC_CAP_SUBSAMPLING = 1 << 9, /* the encoder can subsample chroma (4:2:0): searches try it */
};

/* Options for one codec instance.  codec_opts_defaults() first, then the
 * caller's overrides. */
struct codec_opts {
    struct image_limits limits;
    /* decode */
    int header_only;   /* fill width/height/depth/frames and meta, no pixels (default 0) */
    int min_width;     /* scaled decode allowed while the result stays >= this (0: full size) */
    int min_height;
    /* encode */
    int quality;       /* 0..100; -1 = the codec's default (default -1) */
    int lossless;      /* 0/1 (default 0) */
    int effort;        /* 0..9, higher = slower and smaller; -1 = codec default */
    int subsampling;   /* 420, 422, 444; 0 = codec default */
    int bit_depth;     /* 8, 10, 12; 0 = follow the input (capped by the codec) */
    const char *encoder; /* AVIF: "aom" (default), "svt", "rav1e" */
    int threads;       /* 0 = library default */
};

void codec_opts_defaults(struct codec_opts *o);

struct codec_priv; /* opaque; each adapter completes it */
struct components;

struct codec {
    const char *name;              /* "webp": the name policies and --to use, and the
                                    * format the catalog records for its files */
    const char *const *aliases;    /* {"jpg", NULL}: other names accepted for it, or NULL */
    const char *mime;              /* "image/webp" */
    const char *const *suffixes;   /* {".webp", NULL}: used only if probe() cannot decide */
    unsigned caps;
    int priority;                  /* the highest wins when several probe() calls match */
    size_t priv_size, probe_size;
    /* > 0 when buf (len bytes, at most probe_size) looks like this format */
    int (*probe)(const uint8_t *buf, size_t len);
    int (*open)(struct codec_priv *p, const struct codec_opts *o);
    /* Decodes the first frame.  out and m are initialised by the caller
     * (zeroed image, meta_init).  On failure they may hold partial data the
     * caller frees. */
    int (*decode)(struct codec_priv *p, const uint8_t *in, size_t len, struct image *out,
                  struct meta *m);
    /* Encodes img with metadata m (already filtered by the keep mask).
     * Sets *dropped_out to the META_HAS_* blocks the format could not hold. */
    int (*encode)(struct codec_priv *p, const struct image *img, const struct meta *m,
                  struct tp_buf *out, unsigned *dropped_out);
    /* Optional: lossless bitstream recompression of another format's file
     * (JPEG -> JPEG XL).  TP_ERR_UNSUPPORTED when in cannot be recompressed.
     * Its presence is what "recompresses JPEG" means (codec_recompresses_jpeg). */
    int (*recompress)(struct codec_priv *p, const uint8_t *in, size_t len, struct tp_buf *out);
    /* Optional: the original bitstream back from a recompressed file. */
    int (*reconstruct)(struct codec_priv *p, const uint8_t *in, size_t len, struct tp_buf *out);
    void (*close)(struct codec_priv *p);  /* safe after a failed or partial open() */
    /* Optional: the encoder setting quality q (0..100) becomes, higher = finer;
     * qualities with the same level encode alike (AVIF's 64 quantizers), so a
     * search never probes two of them.  NULL: every quality is its own level. */
    int (*quality_level)(int q);
    /* Optional: adds the file's parts the library knows (auxiliary, depth
     * and thumbnail images) to c (see components.h); errors are ignored. */
    int (*components)(struct codec_priv *p, const uint8_t *in, size_t len,
                      struct components *c);
};

/* An open instance: the codec plus its private state. */
struct codec_ctx {
    const struct codec *codec;
    struct codec_opts opts;
    long long priv_storage[]; /* priv_size bytes, suitably aligned */
};

/* NULL-terminated, in preference order (see registry.c). */
extern const struct codec *const codec_list[];
/* "libjpeg-turbo 2.1.5, libwebp 1.2.4, ...": the codec libraries as linked
 * (codecs/versions.c), into buf (always NUL-terminated). */
void codec_versions(char *buf, size_t len);
#define CODEC_MAX 16 /* entries codec_list may hold */

/* The codec with this name or one of its aliases (any case), or NULL. */
const struct codec *codec_find_by_name(const char *name);
/* Index of c in codec_list (0..CODEC_MAX-1), or -1. */
int codec_index(const struct codec *c);

/* Video re-encoders (codecs/video_enc.c), not struct codecs: a policy names
 * them for kind video.  NULL-terminated; the index is enum video_cold_codec. */
extern const char *const codec_video_encoders[];
/* codec_video_encoders' index of name (any case), or -1. */
int codec_video_encoder(const char *name);

/* What policy, search and simulate ask of the registry. */
static inline int codec_subsamples_chroma(const struct codec *c)
{
    return !!(c->caps & CODEC_CAP_SUBSAMPLING);
}
static inline int codec_recompresses_jpeg(const struct codec *c)
{
    return c->recompress != NULL;
}
/* The registered names with all of need_caps (aliases too when
 * with_aliases), then the video encoders when with_video: at most max - 1
 * of them into names[], NULL-terminated; returns the count.  The strings
 * are static. */
int codec_names(const char **names, int max, unsigned need_caps, int with_aliases, int with_video);
/* The codec whose probe() matches the content (highest priority), else by
 * the path's suffix, else NULL. path may be NULL. need_caps filters. */
const struct codec *codec_find_for_data(const uint8_t *buf, size_t len, const char *path,
                                        unsigned need_caps);
/* The codec for an output path's suffix, or NULL. */
const struct codec *codec_find_by_suffix(const char *path, unsigned need_caps);

/* Opens an instance; caller owns *ctx_out, free with codec_close(). */
int codec_open(struct codec_ctx **ctx_out, const struct codec *c, const struct codec_opts *o);
void codec_close(struct codec_ctx **ctx);

int codec_decode(struct codec_ctx *ctx, const uint8_t *in, size_t len, struct image *out,
                 struct meta *m);
int codec_encode(struct codec_ctx *ctx, const struct image *img, const struct meta *m,
                 struct tp_buf *out, unsigned *dropped_out);

/* Sniffs, opens, decodes: one call for the common case.  *codec_out (may
 * be NULL) gets the codec used. */
int codec_decode_any(const uint8_t *in, size_t len, const char *path, const struct codec_opts *o,
                     struct image *out, struct meta *m, const struct codec **codec_out);

#endif /* TP_CODECS_CODEC_H */
