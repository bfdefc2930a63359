#ifndef TP_SRC_TRANSCODE_H
#define TP_SRC_TRANSCODE_H

/* The one decision "how is this asset transcoded in this tier", and the
 * encode itself, for every caller: the batch runner's sandboxed encode
 * child (into the real store), and `simulate` (into the null store, see
 * store_null_open), so a prediction and the run it predicts cannot take
 * different paths.
 *
 *   tier mode none                 -> no codec work (the label only)
 *   video, lossy with hevc/av1     -> the video cold re-encode at the floors
 *   video, anything else           -> no codec work
 *   JPEG, lossless                 -> JPEG -> JPEG XL recompression
 *   other image, lossless          -> lossless pixel encode, first codec
 *   image, lossy                   -> quality search over the candidates
 *                                     (lossless JPEG XL competing for JPEGs)
 *
 * Every image path obeys the components rule (components.h): a candidate
 * that does not carry every part of its source (gain map, motion video,
 * depth, animation, bit depth, ...) is refused (oc->refused says what it
 * would have lost); a JPEG then falls back to the byte-exact JPEG XL
 * recompression, anything else keeps its original.
 *
 * The source is read with store_get_verified(): a blob whose bytes no
 * longer hash to its name is never encoded (TP_ERR_CORRUPT, "stored
 * original is corrupt"). */

#include <stdint.h>

#include "mem.h"
#include "policy.h"
#include "sha256.h"

struct store;
struct tp_buf;

/* What one transcode produced.  Plain bytes, no pointers: it crosses the
 * sandbox from the encode child to the runner and on to the verify child. */
struct transcode_outcome {
    int kept;                 /* nothing met the floor and saved enough */
    int lossless, recompressed;
    char hash[SHA256_HEX_LEN + 1]; /* the new blob (when not kept) */
    uint64_t bytes, in_bytes;
    char codec[16];
    int quality, subsampling, probes;
    double ssim, min_tile, ssim_cb, ssim_cr;
    double encode_ms, verify_ms;
    int width, height;
    char reason[200];
    char refused[200];        /* what refused candidates would have lost, "" if none */
};

/* The tier's first video re-encoder (VIDEO_COLD_HEVC / _AV1), or -1. */
int transcode_video_codec(const struct policy_transcode *tc);

/* 1 when an asset of this kind ("image", "video") in a tier transcoding
 * with tc needs codec work, 0 when only its tier and storage class
 * change. */
int transcode_needed(const char *kind, const struct policy_transcode *tc);

/* Reads the blob `source` of asset asset_id (< 0: unknown, as in a
 * simulation's per-blob sample) from st, verified: 0 with out holding it;
 * TP_ERR_CORRUPT ("stored original is corrupt", detail "asset N, blob H
 * (its bytes hash to X)") when its bytes do not hash to its name (out is
 * then empty).
 * out is replaced; the caller owns it. */
int transcode_read_source(struct store *st, int64_t asset_id, const char *source,
                          struct tp_buf *out);

/* Transcodes the source blob of an asset of `kind` with tier t's settings:
 * reads it verified from `from`, decides and encodes as above and, unless
 * the original is kept, puts the new representation into `to` in the
 * tier's storage class (the same
 * store for a run; the null store for a simulation).  oc is filled on
 * success (kept = 1 with a reason when the original stays; also when the
 * tier needs no codec work for this kind, and then nothing is read and
 * in_bytes is 0).  threads: SSIM threads (0 =
 * all cores).  from and to are borrowed. */
int transcode_asset(struct store *from, struct store *to, int64_t asset_id, const char *kind,
                    const char *source, const struct policy_tier *t, int threads,
                    struct transcode_outcome *oc);
/* The same, but the new representation (when not kept) is handed to
 * *bytes_out (oc->hash its sha256) instead of being stored: the sandboxed
 * encode worker may not write into the store, its parent stores it. */
int transcode_asset_buf(struct store *from, int64_t asset_id, const char *kind,
                        const char *source, const struct policy_tier *t, int threads,
                        struct transcode_outcome *oc, struct tp_buf *bytes_out);

#endif /* TP_SRC_TRANSCODE_H */
