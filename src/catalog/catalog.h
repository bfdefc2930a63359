#ifndef TP_SRC_CATALOG_H
#define TP_SRC_CATALOG_H

#include <stdint.h>

#include <stddef.h>

#include "mem.h"
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

/* A job of the queue (see "the job queue" below for the states and the
 * fencing rules). */
enum catalog_job_state {
    CATALOG_JOB_QUEUED,
    CATALOG_JOB_RUNNING,
    CATALOG_JOB_DONE,
    CATALOG_JOB_KEPT,
    CATALOG_JOB_FAILED, /* permanent error */
    CATALOG_JOB_DEAD,   /* temporary errors until max_attempts */
    CATALOG_JOB_NSTATES
};

#define CATALOG_JOB_MAX_ATTEMPTS 5 /* default of max_attempts */
#define CATALOG_JOB_ERROR 256      /* size of last_error */

struct catalog_job {
    int64_t id, asset_id;
    char policy[SHA256_HEX_LEN + 1];   /* sha256 of the policy file's text */
    char tier[32];
    enum catalog_job_state state;
    int attempts;                      /* attempts consumed, the running one included */
    int max_attempts;
    int64_t token;                     /* fencing token of the current/last claim */
    int64_t not_before;                /* unix s; not claimable before (0: any time) */
    int64_t lease_until;               /* unix s; 0 unless running */
    int64_t claimed;                   /* unix s of the last claim; 0 never claimed */
    char owner[96];                    /* "" unless running */
    char last_error[CATALOG_JOB_ERROR]; /* "" when none */
    int error_permanent;               /* last_error's class: 1 permanent, 0 temporary */
    char created[CATALOG_TIME], finished[CATALOG_TIME]; /* ISO; finished "" unless final */
};

struct catalog_job_counts {
    int64_t queued, running, done, kept, failed, dead;
};

typedef int (*catalog_job_fn)(void *ud, const struct catalog_job *j);

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
    int near_duplicate;                /* in a near-duplicate group, not its keeper */
};
typedef int (*catalog_scan_fn)(void *ud, const struct catalog_scan_row *r);

/* Callbacks for iteration; a non-zero return stops the walk and is
 * returned.  The record is borrowed for the call. */
typedef int (*catalog_asset_fn)(void *ud, const struct catalog_asset *a);
typedef int (*catalog_rendition_fn)(void *ud, const struct catalog_rendition *r);

#define CATALOG_FP_THUMB_HEX 2048
/* A picture's perceptual fingerprint and its near-duplicate group (issue
 * 18; src/media/fingerprint.h says what the hashes are). */
struct catalog_fp {
    int64_t asset_id;
    uint64_t phash;                    /* 64-bit DCT hash: the indexed key */
    char vhash[65];                    /* 256-bit verification hash, hex */
    char thumb[CATALOG_FP_THUMB_HEX + 1]; /* 32x32 luma, hex; "" from catalog_fp_scan */
    int64_t group_id;                  /* 0: in no group; else the group's smallest asset id */
    int keeper;                        /* 1: keep (no group, or the group's keeper) */
};
typedef int (*catalog_fp_fn)(void *ud, const struct catalog_fp *f);

struct catalog_ops {
    const char *name;
    void (*close)(struct catalog *c);
    int (*begin)(struct catalog *c);
    int (*commit)(struct catalog *c);
    int (*rollback)(struct catalog *c);
    int (*blob_add)(struct catalog *c, const char *hash, uint64_t bytes, const char *storage_class);
    int (*blob_get)(struct catalog *c, const char *hash, struct catalog_blob *out);
    int (*blob_count)(struct catalog *c, int64_t *n_out);
    int (*blob_set_class)(struct catalog *c, const char *hash, const char *storage_class);
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
    int (*policy_put)(struct catalog *c, const char *hash, const char *path, const void *text,
                      size_t len);
    int (*policy_get)(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                      size_t path_len);
    int (*job_enqueue)(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                       int max_attempts);
    int (*job_claim)(struct catalog *c, const char *const *policies, int npolicies,
                     const char *owner, int64_t now, int lease_seconds, struct catalog_job *out,
                     int max);
    int (*job_renew)(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds);
    int (*job_finish)(struct catalog *c, const struct catalog_job *j, int64_t now,
                      enum catalog_job_state state, const char *result);
    int (*job_fail)(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
                    const char *error, int retry_after_seconds);
    int (*job_release)(struct catalog *c, const struct catalog_job *j);
    int (*job_retry)(struct catalog *c, const char *policy, const int64_t *ids, int nids);
    int (*job_list)(struct catalog *c, const char *policy, int state, catalog_job_fn fn, void *ud);
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
    int (*fp_put)(struct catalog *c, const struct catalog_fp *f);
    int (*fp_get)(struct catalog *c, int64_t asset_id, struct catalog_fp *out);
    int (*fp_near)(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud);
    int (*fp_scan)(struct catalog *c, catalog_fp_fn fn, void *ud);
    int (*fp_set_group)(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper);
    int (*fp_group)(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud);
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
/* 0 when a backend of this build opens uri's scheme, else as catalog_open
 * (nothing is opened or created). */
int catalog_uri_supported(const char *uri);

/* Backends' own openers, for the table in catalog.c (and backend tests):
 * use catalog_open().  catalog_sqlite_open opens (creating and migrating
 * if needed) the SQLite catalog at path. */
int catalog_sqlite_open(struct catalog **c_out, const char *path);
/* Opens the PostgreSQL catalog (catalog_pg*.c) named by a postgresql://
 * URI or a key=value conninfo (what it leaves out comes from the PG*
 * environment variables, as libpq reads them; NULL or "" for those alone).
 * The schema is brought to the newest version on open, except with
 * CATALOG_OPEN_READONLY (read-only session; TP_ERR_UNSUPPORTED unless the
 * schema is current); a schema newer than this program is refused
 * (TP_ERR_UNSUPPORTED); a missing database is TP_ERR_NOTFOUND.  Caller
 * owns *c_out; free with catalog_close(). */
int catalog_pg_open(struct catalog **c_out, const char *uri_or_conninfo, unsigned flags);
/* Migrates the PostgreSQL catalog's schema only (`tierpress catalog
 * migrate`); *version_out: its schema version afterwards. */
int catalog_pg_migrate(const char *uri_or_conninfo, int *version_out);
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
/* Records the blob's storage class (after store_set_class changed it, or
 * as a label on a store without classes).  TP_ERR_NOTFOUND when unknown. */
int catalog_blob_set_class(struct catalog *c, const char *hash, const char *storage_class);

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

/* ---- the job queue ------------------------------------------------------
 *
 * A job transcodes one asset into one tier of one policy file.  The policy
 * is named by the sha256 of its text, and its text is recorded in the
 * catalog (catalog_policy_put) so that any worker, on any machine, can load
 * it from the queue alone.
 *
 * States (CATALOG_JOB_*):
 *   queued  -> running   catalog_job_claim: under a lease, for one owner
 *   running -> done|kept catalog_job_finish (inside the swap transaction)
 *   running -> failed    catalog_job_fail, permanent error (corrupt source,
 *                        no passing candidate, ...): never retried
 *   running -> queued    catalog_job_fail, temporary error with attempts
 *                        left: not claimable before not_before (backoff)
 *   running -> dead      catalog_job_fail, temporary error on the last
 *                        attempt; or a lease that expired on the last one
 *   running -> queued    catalog_job_release (clean stop): the attempt is
 *                        given back
 *   running (lease ended) -> running for a new owner: catalog_job_claim
 *                        takes it over; the expired attempt stays consumed
 *   failed|dead -> queued catalog_job_retry (attempts back to 0)
 *
 * Fencing.  Every claim gives the job a new token (strictly increasing per
 * job, never reused, also across releases).  The holder is (owner, token);
 * renew, finish, fail and release succeed only for the holder, and renew
 * and finish only while its lease has not ended at `now`; otherwise they
 * change nothing and return TP_ERR_CONFLICT.  A worker that was paused past
 * its lease and taken over therefore cannot finish, and since finish is
 * called inside the swap transaction, cannot swap either.
 *
 * Clock.  `now` is unix seconds on the caller's clock, and lease_until /
 * not_before are computed from it; the SQLite backend compares the values
 * it is given (so tests can inject a clock).  A backend with a shared
 * server clock (PostgreSQL) should use the database's clock for leases and
 * backoff and may ignore `now`.
 *
 * Owners are opaque strings (< 96 bytes); the runner uses "host:pid".
 * Leases alone decide liveness; catalog_job_requeue_dead is only a fast
 * path for a runner on the same host. */

/* "queued", "running", ...; NULL for an out-of-range value. */
const char *catalog_job_state_name(enum catalog_job_state s);
/* The state named s, or -1. */
int catalog_job_state_parse(const char *s);

/* Records a policy file's text under its sha256 (hash, 64 hex) with the
 * path it was read from (informative); a no-op when the hash is known. */
int catalog_policy_put(struct catalog *c, const char *hash, const char *path, const void *text,
                       size_t len);
/* The recorded text into *text (caller owns; buf_free) and, when path is
 * not NULL, its path.  TP_ERR_NOTFOUND when unknown. */
int catalog_policy_get(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                       size_t path_len);

/* Queues a job for (asset, policy, tier) unless one exists (in any state),
 * with max_attempts (<= 0: CATALOG_JOB_MAX_ATTEMPTS): 1 when queued now, 0
 * when it existed. */
int catalog_job_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                        int max_attempts);
/* Atomically claims up to max jobs for owner, oldest first: queued ones
 * whose not_before <= now, and running ones whose lease_until < now
 * (taken over).  Only jobs of the npolicies policy hashes given, or of any
 * policy when npolicies is 0.  Each claimed job: state running, attempts
 * + 1, a new token, lease_until = now + lease_seconds, claimed = now; out[i]
 * holds it as claimed.  An expired running job already on its last attempt
 * is not claimed but parked as dead ("lease expired ...").  Returns the
 * number claimed (0 when there is nothing to do). */
int catalog_job_claim(struct catalog *c, const char *const *policies, int npolicies,
                      const char *owner, int64_t now, int lease_seconds, struct catalog_job *out,
                      int max);
/* Extends the holder's lease to now + lease_seconds (and sets
 * j->lease_until).  TP_ERR_CONFLICT when j (j->owner, j->token) no longer
 * holds the job or its lease ended before now. */
int catalog_job_renew(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds);
/* Marks the held job done or kept (state) with a JSON result.  Call it
 * first inside the transaction that swaps the asset, and roll back on
 * TP_ERR_CONFLICT (not the holder, or lease ended before now). */
int catalog_job_finish(struct catalog *c, const struct catalog_job *j, int64_t now,
                       enum catalog_job_state state, const char *result);
/* Records a failure of the held job: error (one line) and its class.
 * Permanent: failed.  Temporary: queued with not_before = now +
 * retry_after_seconds while attempts < max_attempts, else dead.  Returns
 * the new state, or TP_ERR_CONFLICT when j does not hold the job. */
int catalog_job_fail(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
                     const char *error, int retry_after_seconds);
/* Gives the held job back (a clean stop): queued, attempts - 1, owner and
 * lease cleared; the token stays consumed.  TP_ERR_CONFLICT when j does not
 * hold it. */
int catalog_job_release(struct catalog *c, const struct catalog_job *j);
/* Requeues failed and dead jobs (attempts 0, not_before 0; last_error
 * kept): those of ids[0..nids) when nids > 0, else every one of policy
 * (NULL: any policy).  Returns how many. */
int catalog_job_retry(struct catalog *c, const char *policy, const int64_t *ids, int nids);
/* Calls fn for each job of policy (NULL: any) in state (-1: any), in id
 * order.  The record is borrowed for the call. */
int catalog_job_list(struct catalog *c, const char *policy, int state, catalog_job_fn fn,
                     void *ud);
/* Jobs per state, of policy (NULL: every policy). */
int catalog_job_counts(struct catalog *c, const char *policy, struct catalog_job_counts *n);
/* Fast path for a runner restarted on the same host: running jobs of
 * policy (NULL: any) whose owner is_dead() says has died are requeued at
 * once (their attempt stays consumed; dead when it was the last); returns
 * how many. */
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

/* ---- perceptual fingerprints (near-duplicates, issue 18) ---------------
 * One row per fingerprinted asset.  The 64-bit hash is also kept as four
 * indexed 16-bit chunks (multi-index hashing): two hashes within Hamming
 * distance d have a chunk within floor(d / 4) bits. */
#define CATALOG_FP_CHUNKS 4
/* Inserts or replaces the row of f->asset_id (a known asset). */
int catalog_fp_put(struct catalog *c, const struct catalog_fp *f);
/* TP_ERR_NOTFOUND when the asset has no fingerprint. */
int catalog_fp_get(struct catalog *c, int64_t asset_id, struct catalog_fp *out);
/* Calls fn for every row with at least one chunk within radius (0..2)
 * bits of phash's chunk and within Hamming distance 4 * radius + 3 (all
 * the rows within that distance; the caller applies its own limit), in
 * asset id order, thumbnails included (read only for those rows). */
int catalog_fp_near(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud);
/* Every row in asset id order, paged (bounded memory); without the
 * thumbnails (thumb ""): the whole-catalog pass keeps only the hashes. */
int catalog_fp_scan(struct catalog *c, catalog_fp_fn fn, void *ud);
/* Records an asset's group (0: none) and whether it is the keeper. */
int catalog_fp_set_group(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper);
/* Every row of group group_id (> 0), in asset id order. */
int catalog_fp_group(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud);
/* The chunk values within radius bits of phash's chunk i, as a list
 * "v1,v2,..." (at most 137 values; out: 1024 bytes) for the backends. */
void catalog_fp_chunk_list(uint64_t phash, int i, int radius, char *out, size_t n);
static inline int catalog_fp_chunk(uint64_t phash, int i)
{
    return (int)((phash >> (16 * i)) & 0xffff);
}

#endif /* TP_SRC_CATALOG_H */
