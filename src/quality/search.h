#ifndef TP_SRC_SEARCH_H
#define TP_SRC_SEARCH_H

/* Quality-targeted encoding: per photo, the smallest encoding whose measured
 * quality meets a floor, across candidate codecs (see docs/quality.md). */

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "components.h"
#include "image.h"
#include "meta.h"

/* A floor: every number must be met by the decoded output. */
struct search_floor {
    double ssim;    /* mean luma SSIM, 0.5..1 */
    double tile;    /* worst 64x64 tile's mean luma SSIM; default derived from ssim */
    double chroma;  /* mean SSIM of Cb and of Cr; default derived from ssim */
    double butteraugli; /* ceiling on the Butteraugli max-norm distance, checked on
                           the final candidate only (SSIM steers the search); 0 = none */
};

/* The documented defaults: tile = 1 - 5/3 (1 - ssim) (0.997 -> 0.995,
 * 0.99 -> 0.983); chroma = 1 - 5 (1 - ssim) (0.997 -> 0.985): a guard against gross
 * colour loss; 4:2:0 is excluded structurally at visually lossless floors. */
void search_floor_derive(struct search_floor *f);

/* From this mean floor up, "auto" chroma subsampling means 4:4:4 only. */
#define SEARCH_VISUALLY_LOSSLESS 0.995

struct search_candidate {
    const struct codec *codec;
    int effort;       /* -1: codec default */
    int subsampling;  /* 0 = auto: 4:4:4 at floors >= SEARCH_VISUALLY_LOSSLESS,
                         else 4:2:0 first, then 4:4:4 if chroma fails */
    int bit_depth;    /* 0 = follow the source */
    const char *encoder; /* AVIF encoder name or NULL */
};

struct search_opts {
    struct search_floor floor;
    double min_saving;  /* fraction of the original's bytes to save, default 0.10 */
    int max_probes;     /* per candidate and subsampling, default 10 */
    int threads;        /* SSIM threads; 0 = all cores */
    unsigned keep;      /* metadata keep mask, default META_KEEP_ALL */
    /* The source's components (components.h), borrowed, or NULL (default):
     * a candidate whose output does not carry all of them is refused
     * (components_compare), and when the source has parts no pixel encode
     * carries (components_need_bitstream) only the byte-exact JPEG XL
     * recompression competes. */
    const struct components *carry;
    double max_cpu_s_per_mp; /* CPU budget (user + sys of the process, all threads) per
                                megapixel; past it no new probe starts, and the search ends
                                with the best passing result or the lossless path; 0 = none.
                                Test hook: TP_FAULT_SEARCH_CPU_PER_PROBE=S charges S CPU-s
                                per probe instead of measuring */
    int mosaic;         /* 1 (default): on an image of >= SEARCH_MOSAIC_MIN_GRID whole
                           256- (else 128-) pixel blocks, probes encode a mosaic of
                           representative blocks and only the result is confirmed on
                           the whole image */
    int predict;        /* 1 (default): the first probe is at a quality predicted from the
                           floor, the codec and the source (JPEG quantisation tables,
                           bytes per pixel); 0: at 90, then halving toward the edge */
    int presets;        /* 1 (default): a candidate with no effort of its own gets the
                           effort measured best per CPU-second at the floor (search.c) */
};

/* The mosaic is used from this many whole 256x256 blocks (~2.1 MP), else of
 * 128x128 blocks (~0.5 MP), and takes at most SEARCH_MOSAIC_BLOCKS of them
 * (and at most a quarter of the image). */
#define SEARCH_MOSAIC_MIN_GRID 32
#define SEARCH_MOSAIC_BLOCKS 16

void search_opts_defaults(struct search_opts *o);

/* What one candidate reached (for the report). */
struct search_trial {
    const char *codec;
    int subsampling;
    int passed;         /* a passing quality was found */
    int quality;        /* smallest passing quality (or -1) */
    size_t bytes;
    double ssim, min_tile, ssim_cb, ssim_cr;
    int probes;
    double encode_ms, verify_ms;
    double butteraugli; /* measured on this trial's result, -1 = not measured */
    int abandoned;      /* a failing probe was already larger than the bound */
    int start_quality;  /* the first probe's quality */
    int effort;         /* the encoder effort the probes used, -1 = the codec's default */
    int estimated;      /* bytes/quality are the mosaic's, scaled to the whole image,
                           not confirmed (another candidate won first) */
    int confirm_probes; /* whole-image probes (mosaic searches only) */
};

#define SEARCH_MAX_TRIALS 16

struct search_result {
    int kept_original;      /* nothing passed and saved min_saving */
    const struct codec *codec;  /* the winner (NULL when kept) */
    int quality, subsampling, lossless;
    struct tp_buf out;      /* the winner's bytes: measured and passed */
    size_t in_bytes;
    double ssim, min_tile, ssim_cb, ssim_cr;
    int probes;             /* all candidates together */
    double encode_ms, verify_ms;
    double butteraugli;     /* the winner's, -1 = not measured (0 for lossless) */
    int butteraugli_probes; /* probes spent raising quality to pass it */
    int budget_exhausted;   /* the search stopped at max_cpu_s_per_mp */
    double cpu_s;           /* CPU seconds the search spent (or was charged) */
    int mosaic_blocks;      /* blocks in the mosaic the probes encoded, 0 = none */
    int mosaic_block;       /* their edge: 256 or 128 pixels */
    double mosaic_fraction; /* the mosaic's share of the image's pixels */
    int confirm_probes;     /* whole-image probes after the mosaic search */
    int source_quality;     /* the JPEG source's quality from its tables, -1 = not a JPEG */
    struct search_trial trials[SEARCH_MAX_TRIALS];
    int ntrials;
    char reason[160];       /* why the original was kept */
    char lost[200];         /* candidates refused for what they lost ("avif: motion
                               video (96822 bytes)"), "" if none */
};

/* Runs the search for the original file (bytes orig/len, already decoded
 * into img with metadata m).  res->out receives the winner; the caller
 * owns it (search_result_free). */
int search_run(const uint8_t *orig, size_t len, const struct image *img, const struct meta *m,
               const struct search_candidate *cands, int ncands, const struct search_opts *o,
               struct search_result *res);

/* Lossless mode: JPEG -> JPEG XL recompression, verified by reconstructing
 * the JPEG and comparing it with the original byte for byte.  Keeps the
 * original (kept_original = 1 with a reason) when libjxl cannot recompress
 * it, the reconstruction differs, or it does not save min_saving. */
int search_lossless(const uint8_t *orig, size_t len, double min_saving, struct search_result *res);

void search_result_free(struct search_result *res);

#endif /* TP_SRC_SEARCH_H */
