#ifndef TP_SRC_NEARDUP_H
#define TP_SRC_NEARDUP_H

#include <stdint.h>

#include "catalog.h"
#include "fingerprint.h"

/* Near-duplicates (issue 18): the same photo stored in other bytes
 * (resized, re-encoded, converted, stripped, rotated upright, slightly
 * cropped or brightened, watermarked).  Two pictures are candidates when
 * their 64-bit DCT hashes are within t bits; a candidate pair is a
 * "duplicate" when the local check of their thumbnails
 * (fingerprint_local_diff: what changed somewhere, after crop alignment
 * and brightness normalisation) is at most v and they do not carry two
 * different capture times, otherwise "similar" (a burst: the same scene,
 * another shot).  The 256-bit DCT hash is reported and tells exact
 * copies; measured, it cannot tell a burst from a 5 % crop (README).  Duplicates form groups
 * (connected components); each group has one keeper.  Nothing is ever
 * deleted here: the policy condition `near_duplicate` lets an operator
 * move the others to a colder class. */

struct neardup_opts {
    int t;  /* 64-bit hash distance, 0..11 (FPINDEX_MAX_T); default NEARDUP_T */
    int v;  /* local check (fingerprint_local_diff), 0..10000; default NEARDUP_V */
};

#define NEARDUP_T 8
#define NEARDUP_V 4000
/* members of one group compared with a new asset before it is taken as no
 * duplicate of that group (the keeper first) */
#define NEARDUP_GROUP_CHECKS 4

void neardup_defaults(struct neardup_opts *o);
int neardup_validate(const struct neardup_opts *o);

enum neardup_class { NEARDUP_NONE, NEARDUP_SIMILAR, NEARDUP_DUPLICATE };

/* The class of a pair at hash distance d and local difference `local`. */
enum neardup_class neardup_classify(const struct neardup_opts *o, int d, int local,
                                    const struct catalog_asset *a,
                                    const struct catalog_asset *b);
/* < 0 when a is the better keeper than b, > 0 when b is: the highest
 * resolution, then the least compressed (lossless formats, then bytes per
 * pixel), then the most metadata (capture time, camera, GPS), then the
 * original rather than a derived copy (the one catalogued first). */
int neardup_keeper_cmp(const struct catalog_asset *a, const struct catalog_asset *b);

/* Incremental, at ingest, inside the caller's transaction: records asset
 * a's fingerprint, finds its candidates through the catalog's chunk index,
 * joins (and merges) the duplicate groups it belongs to and re-elects the
 * group's keeper.  *group_out: its group (0 when none). */
int neardup_add(struct catalog *c, const struct neardup_opts *o, const struct catalog_asset *a,
                const struct fingerprint *fp, int64_t *group_out);

/* The whole catalog at once (tierpress dups): every fingerprint in memory
 * (48 bytes each), all candidate pairs through fpindex_pairs(). */
struct neardup_member {
    struct catalog_asset a;
    int keeper;     /* the group's recommended keeper */
    int exact;      /* same pixels as another member (same hashes and size) */
    int dist, vdist, local; /* to the keeper (-1 for the keeper itself) */
};
struct neardup_group {
    int similar;    /* 1: a set of similar shots (never duplicates) */
    int64_t id;     /* smallest asset id */
    int n;
    struct neardup_member *m; /* n members, the keeper first */
    uint64_t bytes_others;    /* bytes of the non-keepers' current blobs */
};
struct neardup_report {
    int64_t fingerprints;     /* assets with a fingerprint */
    int64_t pairs;            /* candidate pairs within t */
    int ngroups;
    struct neardup_group *g;  /* duplicate groups, then similar sets */
    uint64_t bytes_others;    /* sum over duplicate groups */
};
/* Caller owns *out; free with neardup_report_free(). */
int neardup_find(struct catalog *c, const struct neardup_opts *o, struct neardup_report *out);
void neardup_report_free(struct neardup_report *r);
/* Writes r's duplicate groups and keepers to the catalog (one
 * transaction): every fingerprint not in a group is reset to none. */
int neardup_store(struct catalog *c, const struct neardup_report *r);

#endif /* TP_SRC_NEARDUP_H */
