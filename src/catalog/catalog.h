#ifndef TP_SRC_CATALOG_H
#define TP_SRC_CATALOG_H

#include <stdint.h>

#include "sha256.h"

/* The catalog: assets, their renditions, the blobs they point at (with
 * reference counts), access statistics and an audit log.  One backend per
 * file behind struct catalog_ops (catalog_sqlite.c; PostgreSQL later);
 * nothing outside the backend sees SQL or the database library.
 *
 * Times are ISO 8601 text: upload/created/audit/last_access in UTC
 * ("2024-05-01T12:00:00Z"); capture_time as the camera wrote it, without a
 * zone ("2016-03-24T14:49:51"), or "" when unknown.  Empty strings stand
 * for SQL NULL in every text field.
 *
 * Every mutating call is atomic on its own (and may be grouped in
 * catalog_begin/commit), keeps blob reference counts in the same
 * transaction, and writes an audit row. */

#define CATALOG_TEXT 64
#define CATALOG_TIME 32

struct catalog_asset {
    int64_t id;                        /* set by catalog_asset_insert */
    char sha256[SHA256_HEX_LEN + 1];   /* of the uploaded original, unique */
    char kind[8];                      /* "image" | "video" */
    char format[16];                   /* codec name: "jpeg", "heif", ... */
    int width, height;                 /* as stored (before orientation) */
    uint64_t bytes;                    /* size of the original */
    char capture_time[CATALOG_TIME];
    char upload_time[CATALOG_TIME];    /* set by insert when empty */
    char camera_make[CATALOG_TEXT], camera_model[CATALOG_TEXT];
    int has_gps;
    int orientation;                   /* 1..8 */
    double duration;                   /* seconds; 0 for stills */
    char current_blob[SHA256_HEX_LEN + 1];  /* what is served as the original */
    char original_blob[SHA256_HEX_LEN + 1]; /* the uploaded bytes; "" once deleted */
    char storage_class[16];            /* default "STANDARD" */
    char tier[16];                     /* "" (NULL) until a policy assigns one */
    char original_delete_after[CATALOG_TIME]; /* "" unless the original is scheduled */
};

struct catalog_rendition {
    int64_t id, asset_id;
    char name[16];                     /* "thumb", "preview", "poster", "cold", ... */
    char blob[SHA256_HEX_LEN + 1];
    char format[16];
    int width, height;
    uint64_t bytes;
    double ssim;                       /* < 0 when not measured */
    double min_tile;                   /* worst tile SSIM; < 0 when not measured */
    char created[CATALOG_TIME];        /* set by put when empty */
};

struct catalog_blob {
    char hash[SHA256_HEX_LEN + 1];
    uint64_t bytes;
    char storage_class[16];
    int64_t refcount;
    char created[CATALOG_TIME];
    char delete_after[CATALOG_TIME];   /* "" unless scheduled for deletion */
    int64_t expected_refcount;         /* blob_iterate: references counted now, -1 unknown */
};

/* A batch job: one asset, one policy (by the sha256 of its file), one tier. */
struct catalog_job {
    int64_t id, asset_id;
    char tier[32];
    int attempts;
};

struct catalog_job_counts {
    int64_t queued, running, done, kept, failed;
};

typedef int (*catalog_blob_fn)(void *ud, const struct catalog_blob *b);

struct catalog_access {
    int64_t asset_id;
    char last_access[CATALOG_TIME];    /* "" when never accessed */
    int64_t count_30d, count_90d, count_365d, total;
};

struct catalog;

/* One row of catalog_asset_scan(): the asset joined with its access
 * statistics.  Text fields point into the database library's row buffer
 * (borrowed; valid only during the callback); "" stands for NULL. */
struct catalog_scan_row {
    int64_t id;
    const char *kind, *format;
    int width, height;
    uint64_t bytes;
    const char *capture_time, *upload_time, *last_access;
    int64_t count_30d, count_90d, count_365d;
    const char *current_blob, *original_blob, *storage_class, *tier, *original_delete_after;
    uint64_t current_bytes;            /* size of current_blob (bytes when unknown) */
};
typedef int (*catalog_scan_fn)(void *ud, const struct catalog_scan_row *r);

/* Callbacks for iteration; a non-zero return stops the walk and is
 * returned.  The record is borrowed for the call. */
typedef int (*catalog_asset_fn)(void *ud, const struct catalog_asset *a);
typedef int (*catalog_rendition_fn)(void *ud, const struct catalog_rendition *r);

struct catalog_ops {
    const char *name;
    void (*close)(struct catalog *c);
    int (*begin)(struct catalog *c);
    int (*commit)(struct catalog *c);
    int (*rollback)(struct catalog *c);
    int (*blob_add)(struct catalog *c, const char *hash, uint64_t bytes, const char *storage_class);
    int (*blob_get)(struct catalog *c, const char *hash, struct catalog_blob *out);
    int (*blob_count)(struct catalog *c, int64_t *n_out);
    int (*asset_insert)(struct catalog *c, struct catalog_asset *a);
    int (*asset_get)(struct catalog *c, int64_t id, struct catalog_asset *out);
    int (*asset_find)(struct catalog *c, const char *sha256, struct catalog_asset *out);
    int (*asset_iterate)(struct catalog *c, catalog_asset_fn fn, void *ud);
    int (*rendition_put)(struct catalog *c, struct catalog_rendition *r);
    int (*rendition_get)(struct catalog *c, int64_t asset_id, const char *name,
                         struct catalog_rendition *out);
    int (*rendition_iterate)(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn,
                             void *ud);
    int (*access_log)(struct catalog *c, int64_t asset_id, int64_t unix_time);
    int (*access_refresh)(struct catalog *c, int64_t now);
    int (*access_get)(struct catalog *c, int64_t asset_id, struct catalog_access *out);
    int (*audit)(struct catalog *c, int64_t asset_id, const char *action, const char *detail);
    int (*job_enqueue)(struct catalog *c, int64_t asset_id, const char *policy, const char *tier);
    int (*job_claim)(struct catalog *c, const char *policy, const char *owner, int64_t now,
                     int64_t lease_until, struct catalog_job *out);
    int (*job_finish)(struct catalog *c, int64_t job_id, const char *state, const char *result);
    int (*job_counts)(struct catalog *c, const char *policy, struct catalog_job_counts *n);
    int (*job_requeue_dead)(struct catalog *c, const char *policy, int (*is_dead)(const char *owner));
    int (*asset_swap)(struct catalog *c, int64_t asset_id, const char *expected,
                      const char *new_blob, const char *tier, const char *storage_class,
                      const char *original_delete_after);
    int (*asset_set_tier)(struct catalog *c, int64_t asset_id, const char *tier,
                          const char *storage_class);
    int (*asset_iterate_due)(struct catalog *c, const char *now_iso, catalog_asset_fn fn, void *ud);
    int (*asset_release_original)(struct catalog *c, int64_t asset_id, const char *original);
    int (*blob_iterate)(struct catalog *c, catalog_blob_fn fn, void *ud);
    int (*blob_remove)(struct catalog *c, const char *hash);
    int (*job_active)(struct catalog *c, int64_t now, int64_t *n_out);
    /* ---- streaming scans and bulk loads (simulate, catalog synth) ---- */
    int (*asset_id_range)(struct catalog *c, int64_t *lo_out, int64_t *hi_out, int64_t *n_out);
    int (*asset_scan)(struct catalog *c, int64_t id_lo, int64_t id_hi, catalog_scan_fn fn,
                      void *ud);
    int (*asset_insert_bulk)(struct catalog *c, struct catalog_asset *a,
                             const struct catalog_access *ac);
    int (*blob_ref_add)(struct catalog *c, const char *hash, int64_t n);
    int (*bulk_mode)(struct catalog *c, int on);
};

/* Every backend's handle starts with this. */
struct catalog {
    const struct catalog_ops *ops;
};

/* catalog_open() flags */
#define CATALOG_OPEN_READONLY 1u /* no migration, no writes (simulate, read-only tools) */
#define CATALOG_OPEN_CREATE 2u   /* create (and migrate) the catalog when absent */

/* Opens the catalog named by uri through the backend table in catalog.c
 * (by scheme, like the codec registry):
 *   sqlite:///abs/path.db        (catalog_sqlite.c)
 *   postgresql://user@host/db    (when built)
 * Without CATALOG_OPEN_CREATE an absent catalog is TP_ERR_NOTFOUND.  An
 * unknown scheme is TP_ERR_UNSUPPORTED naming it and the known ones.
 * Caller owns *c_out; free with catalog_close(). */
int catalog_open(struct catalog **c_out, const char *uri, unsigned flags);

/* Backends' own openers, for the table in catalog.c (and backend tests):
 * use catalog_open().  catalog_sqlite_open opens (creating and migrating
 * if needed) the SQLite catalog at path. */
int catalog_sqlite_open(struct catalog **c_out, const char *path);
/* In catalog_pg*.c (when built): uri is postgresql://... */
int catalog_pg_open(struct catalog **c_out, const char *uri, unsigned flags);
/* Accepts NULL and a NULL *c; clears the pointer. */
void catalog_close(struct catalog **c);

/* Transactions (not nested).  begin takes the write lock up front. */
int catalog_begin(struct catalog *c);
int catalog_commit(struct catalog *c);
int catalog_rollback(struct catalog *c);

/* Records a blob with refcount 0 (no-op when known).  Call it before the
 * asset or rendition that references it. */
int catalog_blob_add(struct catalog *c, const char *hash, uint64_t bytes,
                     const char *storage_class);
/* TP_ERR_NOTFOUND when unknown. */
int catalog_blob_get(struct catalog *c, const char *hash, struct catalog_blob *out);
int catalog_blob_count(struct catalog *c, int64_t *n_out);

/* Inserts a; sets a->id (and upload_time when empty).  Adds one reference
 * to current_blob and one to original_blob (both must be known blobs).
 * TP_ERR_DUPLICATE when an asset with this sha256 exists. */
int catalog_asset_insert(struct catalog *c, struct catalog_asset *a);
/* TP_ERR_NOTFOUND when absent. */
int catalog_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out);
int catalog_asset_find(struct catalog *c, const char *sha256, struct catalog_asset *out);
/* In id order. */
int catalog_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud);

/* Inserts or replaces the rendition (asset_id, name): the new blob gains a
 * reference, a replaced blob loses one.  Sets r->id and r->created. */
int catalog_rendition_put(struct catalog *c, struct catalog_rendition *r);
int catalog_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                          struct catalog_rendition *out);
/* In name order. */
int catalog_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn,
                              void *ud);

/* Records one access event (unix seconds); TP_ERR_NOTFOUND for an unknown
 * asset.  Statistics change only on catalog_access_refresh(). */
int catalog_access_log(struct catalog *c, int64_t asset_id, int64_t unix_time);
/* Recomputes every asset's last_access, total and 30/90/365-day counts
 * (events in (now - N days, now]) from the event log. */
int catalog_access_refresh(struct catalog *c, int64_t now);
/* Zero counts and "" last_access when the asset has no events. */
int catalog_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out);

/* Appends an audit row; asset_id 0 for catalog-wide events; detail is a
 * JSON text or NULL. */
int catalog_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail);

/* ---- batch jobs (the runner) ------------------------------------------ */

/* Queues a job for (asset, policy, tier) unless one exists (in any state):
 * 1 when queued now, 0 when it existed. */
int catalog_job_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier);
/* Atomically takes the oldest queued job of the policy (or a running one
 * whose lease ended before now) for owner until lease_until (unix
 * seconds).  TP_ERR_NOTFOUND when there is none. */
int catalog_job_claim(struct catalog *c, const char *policy, const char *owner, int64_t now,
                      int64_t lease_until, struct catalog_job *out);
/* Marks a running job "done", "kept" or "failed" with a JSON result.
 * TP_ERR_CONFLICT when the job is no longer running (another runner
 * reclaimed it). */
int catalog_job_finish(struct catalog *c, int64_t job_id, const char *state, const char *result);
int catalog_job_counts(struct catalog *c, const char *policy, struct catalog_job_counts *n);
/* Requeues running jobs whose owner is_dead() says has died (a crashed
 * runner on this host); returns how many. */
int catalog_job_requeue_dead(struct catalog *c, const char *policy,
                             int (*is_dead)(const char *owner));

/* The verified pointer swap: only if the asset still points at expected,
 * points it at new_blob (a recorded blob) and sets its tier, storage class
 * and the original's deletion time ("" = never), moving one reference
 * from expected to new_blob.  TP_ERR_CONFLICT when the asset moved on. */
int catalog_asset_swap(struct catalog *c, int64_t asset_id, const char *expected,
                       const char *new_blob, const char *tier, const char *storage_class,
                       const char *original_delete_after);
/* Sets tier and storage class without touching the bytes. */
int catalog_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                           const char *storage_class);
/* Assets whose replaced original's grace ended at or before now_iso. */
int catalog_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn,
                              void *ud);
/* Drops the asset's reference to its replaced original (which must still
 * be `original` and differ from the current blob). */
int catalog_asset_release_original(struct catalog *c, int64_t asset_id, const char *original);
/* Every blob row, with the reference count recomputed from the pointers
 * (expected_refcount) for fsck. */
int catalog_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud);
/* Deletes a blob row whose reference count is 0; TP_ERR_CONFLICT otherwise. */
int catalog_blob_remove(struct catalog *c, const char *hash);
/* Jobs of any policy running under a lease that has not ended at now. */
int catalog_job_active(struct catalog *c, int64_t now, int64_t *n_out);

/* ---- streaming scans and bulk loads (simulate, catalog synth) -------- */

/* Opens an existing SQLite catalog read-only (SQLITE_OPEN_READONLY): no
 * migration, no writes; TP_ERR_NOTFOUND when there is no catalog at path,
 * TP_ERR_UNSUPPORTED when its schema is not the current one.  Caller owns
 * *c_out; free with catalog_close(). */
int catalog_sqlite_open_readonly(struct catalog **c_out, const char *path);
/* The smallest and largest asset id and the number of assets (0, 0, 0 when
 * empty). */
int catalog_asset_id_range(struct catalog *c, int64_t *lo_out, int64_t *hi_out, int64_t *n_out);
/* Calls fn for every asset with id_lo <= id <= id_hi, in id order, joined
 * with its access statistics (zero counts when none): one statement, no
 * per-asset queries, constant memory.  A non-zero return of fn stops the
 * walk and is returned. */
int catalog_asset_scan(struct catalog *c, int64_t id_lo, int64_t id_hi, catalog_scan_fn fn,
                       void *ud);
/* Bulk load: inserts a (sets a->id) and, when ac is not NULL, its access
 * statistics row, WITHOUT touching blob reference counts and without an
 * audit row: the caller adds the references with catalog_blob_ref_add()
 * and writes one audit row for the whole load, inside the same
 * transaction (catalog_begin .. catalog_commit). */
int catalog_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                              const struct catalog_access *ac);
/* Adds n references to a recorded blob (TP_ERR_NOTFOUND when unknown). */
int catalog_blob_ref_add(struct catalog *c, const char *hash, int64_t n);
/* on = 1: a large page cache for a bulk load; 0: back to the default. */
int catalog_bulk_mode(struct catalog *c, int on);

#endif /* TP_SRC_CATALOG_H */
