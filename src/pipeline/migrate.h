#ifndef TP_SRC_MIGRATE_H
#define TP_SRC_MIGRATE_H

#include <stdint.h>
#include <stdio.h>

struct catalog;
struct store;

/* tierpress migrate: copies a home (its catalog and its blobs) into the
 * backends another configuration names: any catalog into any catalog,
 * any store into any store (typically SQLite + files -> PostgreSQL + S3).
 *
 * - The source is only read (open it read-only).
 * - Every blob is streamed from the source store into the target store
 *   under its content address: the writer hashes the bytes and publishes
 *   them only when they hash to the address (a corrupt source blob stops
 *   the copy, naming it).
 * - Catalog rows keep their ids, reference counts, audit trail and grace
 *   dates (catalog_tables[], keyset pages).  A page's rows and the state
 *   of the copy (the target's migrate_state table) commit in one
 *   transaction, after the page's blobs are stored: a copy killed at any
 *   point resumes where it stopped, and a finished one does nothing.
 * - At the end the target's id sequences are set past the copied ids and
 *   the copy is verified: assets and blobs counted on both sides, every
 *   target blob's reference count recounted from its pointers. */

struct migrate_opts {
    int page_rows;      /* rows per page, 1..100000 (default 1000) */
    FILE *progress;     /* a progress line per page; NULL: none */
    int progress_tty;   /* progress overwrites one line (\r) */
};

void migrate_defaults(struct migrate_opts *o);

struct migrate_result {
    int64_t rows, blobs, bytes;  /* copied by this call */
    int64_t assets;              /* assets in the target at the end */
    int64_t total_blobs;         /* blobs in the target at the end */
    int resumed;                 /* an interrupted copy was continued */
    int already_done;            /* the copy had finished before: nothing copied */
};

/* Copies (src_cat, src_store) into (dst_cat, dst_store).  source names the
 * source in the target's state (its catalog and store URIs).  A target
 * that holds anything but an unfinished copy of this source is refused
 * (TP_ERR_CONFLICT), as is a source with queued or running jobs. */
int migrate_home(struct catalog *src_cat, struct store *src_store, struct catalog *dst_cat,
                 struct store *dst_store, const char *source, const struct migrate_opts *o,
                 struct migrate_result *res);

#endif /* TP_SRC_MIGRATE_H */
