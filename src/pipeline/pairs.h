#ifndef TP_SRC_PAIRS_H
#define TP_SRC_PAIRS_H

/* Live Photos and motion photos as one asset: a still and its video are
 * linked in the catalog (catalog_pair_put):
 *   1. by Apple's content identifier first: the still's (its EXIF Apple
 *      maker note, tag 0x0011) equals the clip's (QuickTime key
 *      com.apple.quicktime.content.identifier), whatever their names and
 *      whenever they arrive: ingest stores each file's identifier with its
 *      asset and looks up the other half among the same owner's assets
 *      (pairs_link_stored), so halves uploaded one at a time (serve,
 *      enqueue) or in separate ingests pair too, never across owners;
 *   2. else, among the files of one ingest, by the same base name in the
 *      same directory ("IMG_0001.HEIC" +
 *      "IMG_0001.MOV", any case) and capture times within 2 s of each
 *      other, unless both carry content identifiers that differ (then
 *      they are two Live Photos, not one).
 * A paired asset's original is never scheduled for deletion by a tier
 * (src/runner/job.c), gc releases neither half alone, `get --pair` serves
 * both, and the simulator prices the pair as one asset. */

#include <stdint.h>

struct home;

struct pair_item {
    const char *path;        /* borrowed: as given to ingest */
    const char *content_id;  /* borrowed: the file's content identifier, "" or NULL if none */
    int64_t asset_id;
};

/* Links asset_id (of kind "image" or "video", its content identifier
 * stored: catalog_content_id_put) with the other half of its Live Photo
 * already catalogued (catalog_content_id_match): 1 with *partner_out when
 * linked, 0 when there is none (or a concurrent upload linked it first),
 * negative on error.  Run it after the asset's transaction commits: of two
 * halves committed concurrently, the later look-up sees the other. */
int pairs_link_stored(struct home *h, int64_t asset_id, const char *kind, int64_t *partner_out);

/* Links the pairs among items[0..n) by name and capture time (rule 2);
 * returns how many were linked, or a negative error.  Assets already in a
 * pair are left as they are. */
int pairs_link(struct home *h, const struct pair_item *items, int n);

/* Moves the asset to the trash at deleted_at (ISO UTC), or out of it when
 * deleted_at is "", and the other half of its pair with it, in one
 * transaction: neither half is deleted (or restored) alone.  *partner_out
 * (may be NULL) is the other half's id, 0 when the asset is in no pair. */
int pairs_trash(struct home *h, int64_t asset_id, const char *deleted_at, int64_t *partner_out);

#endif /* TP_SRC_PAIRS_H */
