#ifndef TP_SRC_SYNTH_H
#define TP_SRC_SYNTH_H

/* Synthetic catalogs for scale tests of the simulator: N assets with
 * realistic distributions, all pointing at real blobs taken from a media
 * directory (stored once).  See synth.c for the distributions. */

#include <stdint.h>

struct home;

struct synth_opts {
    int64_t assets;         /* 1..100000000, required */
    uint64_t seed;          /* default 1 */
    const char *media_dir;  /* default "samples" */
    int64_t now;            /* "now" for the ages (unix seconds), required */
    /* optional progress (done, total) */
    void (*progress)(void *ud, int64_t done, int64_t total);
    void *progress_ud;
};

void synth_opts_defaults(struct synth_opts *o);

struct synth_result {
    int64_t assets;         /* inserted */
    int64_t first_id, last_id;
    int media;              /* distinct blobs used */
    int skipped;            /* media files that could not be read or probed */
    double seconds;
};

/* Adds the synthetic assets to h's catalog in one transaction (all or
 * nothing).  Blob reference counts stay exact: each asset holds two
 * references (current and original) to its shared blob. */
int synth_run(struct home *h, const struct synth_opts *o, struct synth_result *res);

#endif /* TP_SRC_SYNTH_H */
