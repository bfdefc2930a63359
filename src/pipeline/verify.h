#ifndef TP_SRC_VERIFY_H
#define TP_SRC_VERIFY_H

/* Verification of a new representation before the catalog swaps to it,
 * independent of the encoder that made it: the stored blob is read back
 * and rehashed, then
 *   - a JPEG XL recompression is reconstructed and must equal the source
 *     byte for byte (and hash to the source blob's name);
 *   - every other image must carry every component of its source
 *     (components_compare: gain map, motion video byte-exact, depth,
 *     animation, bit depth, ...);
 *   - a lossless pixel encode must decode to exactly the source's pixels;
 *   - a lossy encode must meet the tier's SSIM floors on re-measure;
 *   - a video must open, keep its duration, displayed size, creation time
 *     and location, and give a poster frame;
 * and EXIF facts (capture time, camera, GPS) and the ICC profile must
 * survive when the tier keeps them.  The source is read verified
 * (transcode_read_source): a corrupt original fails with TP_ERR_CORRUPT. */

#include <stdint.h>

#include "policy.h"
#include "transcode.h"

struct store;

/* Verifies oc (what transcode_asset made from blob `source` of asset
 * asset_id, of kind "image"/"video", in tier t) against the blobs in st.
 * 0 when it may replace the source; TP_ERR_VERIFY (detail says what
 * differs), TP_ERR_CORRUPT or another error otherwise.  threads: SSIM
 * threads (0 = all cores).  Everything is borrowed. */
int verify_transcode(struct store *st, int64_t asset_id, const char *kind, const char *source,
                     const struct policy_tier *t, const struct transcode_outcome *oc,
                     int threads);

#endif /* TP_SRC_VERIFY_H */
