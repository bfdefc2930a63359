#ifndef TP_SRC_INGEST_H
#define TP_SRC_INGEST_H

#include <stdint.h>

#include "image.h"
#include "proxy.h"
#include "sha256.h"

struct home;

/* The on-upload path: validate, hash, store once, catalog, make proxies. */

struct ingest_opts {
    struct image_limits limits; /* file size and pixel limits */
    struct proxy_set proxies;   /* default: proxy_set_defaults() */
    int video_preview;          /* 0/1: make the MP4 'preview' of videos (default 1) */
    /* per upload (borrowed): the owner (NULL/"": CATALOG_DEFAULT_OWNER); the
     * same content is deduplicated only within one owner (blobs are shared
     * across owners, catalog rows are not), and the client's file name and
     * external id recorded with the asset (NULL: none) */
    const char *owner, *file_name, *external_id;
    /* the client's capture time ("YYYY-MM-DDTHH:MM:SS"), used when the file
     * has none (NULL: none) */
    const char *capture_time_hint;
    /* 0/1: probe, decode and encode the proxies in a limited child process
     * (sandbox.h; "ingest-proxies"); ingest_data() hands it the bytes in a
     * private temp file (default 0) */
    int isolate;
    /* with isolate: resident workers to run the stills in (borrowed; from
     * ingest_pool_open()); NULL: a fresh worker process per upload.  Videos
     * always get a fresh worker (their filter lets FFmpeg reopen its output) */
    struct sandbox_pool *pool;
};

/* A pool of `size` resident "ingest-proxies" workers with the limits of
 * the isolated upload path, for ingest_opts.pool; close it with
 * sandbox_pool_close(). */
struct sandbox_pool;
int ingest_pool_open(struct sandbox_pool **p, int size);

/* A video gets the still proxies of its poster frame (the set's 'preview'
 * becomes the 'poster' JPEG; without one, a 'poster' JPEG at the largest
 * edge is added) plus the 'preview' MP4. */
#define INGEST_MAX_PROXIES (PROXY_MAX + 1)

/* Defaults; then override; then ingest_validate(). */
void ingest_defaults(struct ingest_opts *o);
int ingest_validate(struct ingest_opts *o);

struct ingest_proxy {
    char name[16], format[16];
    int width, height;
    uint64_t bytes;
    char blob[SHA256_HEX_LEN + 1];
};

struct ingest_result {
    int64_t asset_id;
    int duplicate;                      /* the content was already catalogued */
    int64_t neardup_group;              /* its near-duplicate group (0: none; neardup.h) */
    char sha256[SHA256_HEX_LEN + 1];
    char format[16], kind[8];
    int width, height;
    uint64_t bytes;
    double duration;                    /* video seconds; 0 for stills */
    char content_id[64];                /* Live Photo content identifier, "" if none
                                         * (or not probed: a duplicate) */
    int64_t pair;                       /* the other half linked by content_id at
                                         * this ingest (pairs_link_stored); 0 none */
    struct ingest_proxy proxies[INGEST_MAX_PROXIES];
    int n_proxies;
};

/* Ingests one file.  On failure nothing is catalogued; blobs written
 * before a failed catalog transaction stay behind as unreferenced
 * (gc/fsck report them).  Errors carry a detail message. */
int ingest_file(struct home *h, const char *path, const struct ingest_opts *o,
                struct ingest_result *res);
/* The same for bytes in memory (name is used for messages and suffixes). */
int ingest_data(struct home *h, const uint8_t *data, size_t len, const char *name,
                const struct ingest_opts *o, struct ingest_result *res);

/* The on-upload entry: the upload was already streamed to the private
 * temporary file path (its sha256 computed on the way, given in sha256),
 * so the body is never held in memory by the receiver; the file is mapped
 * for the decode and streamed into the store (its hash checked again on
 * the way).  name is the client's file name, for messages.  The caller
 * removes path afterwards. */
int ingest_upload(struct home *h, const char *path, const char *sha256, const char *name,
                  const struct ingest_opts *o, struct ingest_result *res);

/* The sandbox entry of o->isolate (registered with the runner's
 * entries): arg is the request ingest_upload() sends, out the answer. */
int ingest_proxies_child(void *arg, struct tp_buf *out);

/* The sha256 of each proxy ingest would make of data (nothing stored, no
 * catalog), in the sandboxed worker with o->isolate, and its pixel count
 * (width x height; pixels_out may be NULL): fsck --adopt tells an orphan
 * original's old proxies from assets this way.  Returns how many (<=
 * INGEST_MAX_PROXIES). */
int ingest_proxy_hashes(const uint8_t *data, size_t len, const char *name,
                        const struct ingest_opts *o, uint64_t *pixels_out,
                        char hashes[INGEST_MAX_PROXIES][SHA256_HEX_LEN + 1]);

#endif /* TP_SRC_INGEST_H */
