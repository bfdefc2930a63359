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
    /* owners (issue 14): every asset belongs to one; (owner, sha256) is
     * unique, so the same content is one asset per owner sharing blobs */
    char owner[CATALOG_TEXT];          /* insert: "" means CATALOG_DEFAULT_OWNER */
    char file_name[256];               /* the client's file name; "" unknown */
    char external_id[128];             /* the client's id for it; "" none */
    char deleted_at[CATALOG_TIME];     /* in the trash since; "" when not deleted */
};

/* The owner of assets made without one (the CLI's default, and every
 * asset of a catalog made before owners existed). */
#define CATALOG_DEFAULT_OWNER "local"

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

/* A registered worker process (`tierpress worker` or `run`), see "the
 * worker registry" below. */
#define CATALOG_WORKER_JOBS 8
struct catalog_worker {
    char id[96];                       /* the owner string of its claims ("host:pid") */
    char host[64];
    int64_t pid;
    int threads;                       /* jobs it may hold at once */
    int lease_seconds;                 /* its lease; no heartbeat for longer: stale */
    char started[CATALOG_TIME], heartbeat[CATALOG_TIME]; /* ISO, on the queue clock */
    int64_t heartbeat_age;             /* list: seconds since the heartbeat at `now` */
    int njobs;                         /* list: running jobs it holds (all of them) */
    struct {
        int64_t id, asset_id;
        int64_t claimed;               /* unix s */
    } jobs[CATALOG_WORKER_JOBS];       /* list: the first njobs (at most 8), by id */
};
typedef int (*catalog_worker_fn)(void *ud, const struct catalog_worker *w);

/* One label-only move (catalog_asset_relabel_batch); strings borrowed. */
struct catalog_relabel {
    int64_t asset_id;
    const char *tier;
    const char *storage_class; /* "" or NULL: STANDARD */
};

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
    int components_known;              /* the asset has a component inventory */
    unsigned components;               /* its kinds (1 << enum comp_kind) */
    int near_duplicate;                /* in a near-duplicate group, not its keeper */
    /* for the policy condition 'health' */
    const char *camera_make;
    int has_location;                  /* an imported location (asset_meta) */
    double latitude, longitude;
    int time_conflict;                 /* asset_meta.other_capture_time set */
};
typedef int (*catalog_scan_fn)(void *ud, const struct catalog_scan_row *r);

/* ---- table copies (tierpress migrate) ----------------------------------
 *
 * A table is copied as rows of text values in one canonical form that both
 * backends read and write: integers and reals in decimal, instants as ISO
 * 8601 UTC text ("2024-05-01T12:00:00Z"), flags as 0/1, access_log's time
 * as unix seconds; a NULL pointer is SQL NULL.  The specs (catalog_tables[],
 * catalog.c) name each table's columns, the kind of each, and its key: the
 * copy walks a table in key order a page at a time (keyset pagination). */
enum catalog_col_kind {
    CATALOG_COL_PLAIN,   /* text or number */
    CATALOG_COL_INSTANT, /* ISO 8601 UTC text; timestamptz on PostgreSQL */
    CATALOG_COL_FLAG,    /* 0/1; boolean on PostgreSQL */
    CATALOG_COL_UNIX,    /* unix seconds; timestamptz on PostgreSQL */
    CATALOG_COL_BYTES,   /* bytes as hex text; BLOB / bytea */
};

#define CATALOG_TABLE_COLS 32

struct catalog_table {
    const char *name;
    int ncols;
    const char *cols[CATALOG_TABLE_COLS];        /* cols[0] is the key */
    enum catalog_col_kind kinds[CATALOG_TABLE_COLS];
    int key_int;     /* the key is an integer (else text) */
    int key_groups;  /* the key is not unique (access_log): a page holds whole groups */
    const char *seq; /* PostgreSQL: the sequence behind the key, set past it after a load */
    /* NULL, or rewrites an exported row (v[i] may be pointed into scratch,
     * n bytes) before it is imported: the jobs table releases the jobs the
     * source's workers held (catalog_jobs_row_map) */
    void (*row_map)(const char **v, char *scratch, size_t n);
};

/* The tables tierpress migrate copies, in copy order (blobs before the
 * assets and renditions that reference them); NULL-terminated. */
extern const struct catalog_table *const catalog_tables[];
/* The jobs table's row_map (exported for the contract tests). */
void catalog_jobs_row_map(const char **v, char *scratch, size_t n);

/* One exported row: v[i] is column t->cols[i] (borrowed for the call). */
typedef int (*catalog_rows_fn)(void *ud, const char *const *v);

/* Where a copy into this catalog stands (the destination's migrate_state
 * table, created on first use). */
struct catalog_migrate_state {
    int step;                   /* index into catalog_tables; past the end: all copied */
    char after[80];             /* key of the last row copied of that table ("" none) */
    int64_t rows, blobs, bytes; /* copied so far */
    int done;                   /* 1 once the copy finished and was verified */
};

/* Callbacks for iteration; a non-zero return stops the walk and is
 * returned.  The record is borrowed for the call. */
typedef int (*catalog_asset_fn)(void *ud, const struct catalog_asset *a);
typedef int (*catalog_rendition_fn)(void *ud, const struct catalog_rendition *r);

/* A page of assets for ls: id order, after `after`, at most `limit` (0: all);
 * tier NULL: any, "-": none yet; format NULL: any, else the original's or
 * the current representation's format. */
struct catalog_asset_query {
    int64_t after;
    int64_t limit;
    const char *tier;
    const char *format;
    const char *owner;                 /* NULL: every owner's; else an index walk of its own */
    int live;                          /* 1: not those in the trash */
};

/* Metadata imported with an asset (Takeout JSON or XMP sidecars): what
 * the file lacked, and both sides when the file's own EXIF and the sidecar
 * disagree.  capture_time is the one used (also the asset's capture_time,
 * which policies age by); capture_source names where it came from. */
#define CATALOG_DESC 512
struct catalog_meta {
    int64_t asset_id;
    char capture_time[CATALOG_TIME];         /* "" when neither side has one */
    char capture_source[16];                 /* "exif" | "sidecar" | "" */
    char exif_capture_time[CATALOG_TIME];    /* the file's own, "" when absent */
    char sidecar_capture_time[CATALOG_TIME]; /* the sidecar's (UTC, "...Z"), "" when absent */
    int has_location;                        /* latitude/longitude valid */
    double latitude, longitude;
    char location_source[16];                /* "exif" | "sidecar" | "" */
    char description[CATALOG_DESC];
    int favourite, archived, trashed;        /* 0/1 */
    char sidecar[256];                       /* the sidecar's name in the export, "" none */
    char other_capture_time[CATALOG_TIME];   /* another copy of the same content came with
                                              * this different time ("" none) */
    char source[256];                        /* the media file's path in the export */
};

/* One album membership (catalog_album_iterate); borrowed for the call. */
typedef int (*catalog_album_fn)(void *ud, const char *title, int64_t asset_id);
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

/* The first answer to an Idempotency-Key (tierpress serve, issue 14): per
 * (account, key), kept CATALOG_IDEM_TTL seconds from created. */
#define CATALOG_IDEM_KEY 128           /* key: 1..127 characters */
#define CATALOG_IDEM_TTL (24 * 3600)
struct catalog_idem {
    char account[CATALOG_TEXT];
    char key[CATALOG_IDEM_KEY];
    char sha256[SHA256_HEX_LEN + 1];   /* of the first request's bytes */
    int64_t asset_id;                  /* a synchronous upload's asset, else 0 */
    int64_t job_id;                    /* an async upload's ingest job, else 0 */
    int status;                        /* the first answer's: 201/200, 202 */
    int new_job;                       /* async: whether the first request queued the job */
    int64_t created;                   /* unix s (the caller's clock) */
};

struct catalog_ingest_job;
struct catalog_ingest_meta;

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
    int (*durable)(struct catalog *c); /* optional: NULL when commits are durable already */
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
    int (*asset_relabel_batch)(struct catalog *c, const struct catalog_relabel *v, int n);
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
    /* ---- ls and get (issue #16) ---- */
    int (*asset_list)(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                      void *ud);
    int (*asset_find_prefix)(struct catalog *c, const char *prefix, struct catalog_asset *out);
    /* ---- table copies (tierpress migrate) ---- */
    int (*rows_export)(struct catalog *c, const struct catalog_table *t, const char *after,
                       int limit, catalog_rows_fn fn, void *ud);
    int (*rows_import)(struct catalog *c, const struct catalog_table *t, const char *const *v);
    int (*rows_finish)(struct catalog *c);
    int (*asset_id_mark)(struct catalog *c, int64_t *next, int raise);
    int (*migrate_state)(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                         int write);
    int (*job_enqueue_batch)(struct catalog *c, const int64_t *asset_ids,
                             const char *const *tiers, int n, const char *policy,
                             int max_attempts);
    int (*job_enqueue_ingest)(struct catalog *c, const char *blob, const char *account,
                              const struct catalog_ingest_meta *meta,
                              int max_attempts, int64_t *job_id_out);
    int (*job_ingest_get)(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out);
    int (*job_ingest_blobs)(struct catalog *c, catalog_rows_fn fn, void *ud);
    /* ---- the worker registry and wake-ups (fleet) ---- */
    int (*worker_register)(struct catalog *c, const struct catalog_worker *w, int64_t now);
    int (*worker_heartbeat)(struct catalog *c, const char *id, int64_t now);
    int (*worker_deregister)(struct catalog *c, const char *id);
    int (*worker_list)(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud);
    int (*worker_prune)(struct catalog *c, int64_t now, int leases);
    int (*job_wait)(struct catalog *c, int timeout_ms);
    /* ---- imported metadata, albums, import records (catalog_*_import.c) ---- */
    int (*meta_put)(struct catalog *c, const struct catalog_meta *m);
    int (*meta_get)(struct catalog *c, int64_t asset_id, struct catalog_meta *out);
    int (*album_add)(struct catalog *c, const char *title, int64_t asset_id);
    int (*album_iterate)(struct catalog *c, catalog_album_fn fn, void *ud);
    int (*import_put)(struct catalog *c, const char *key, int64_t asset_id);
    int (*import_get)(struct catalog *c, const char *key, int64_t *asset_id_out);
    /* ---- owners and the trash (issue 14) ---- */
    int (*asset_find_owner)(struct catalog *c, const char *owner, const char *sha256,
                            struct catalog_asset *out);
    int (*asset_trash)(struct catalog *c, int64_t id, const char *deleted_at);
    int (*asset_delete)(struct catalog *c, int64_t id);
    /* ---- an asset's components (issue 13) ---- */
    int (*components_put)(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json);
    int (*components_get)(struct catalog *c, int64_t asset_id, unsigned *kinds_out,
                          char **json_out);
    int (*pair_put)(struct catalog *c, int64_t image_id, int64_t video_id, const char *how);
    int (*pair_get)(struct catalog *c, int64_t asset_id, int64_t *partner_out);
    int (*content_id_put)(struct catalog *c, int64_t asset_id, const char *content_id);
    int (*content_id_get)(struct catalog *c, int64_t asset_id, char *out, size_t n);
    int (*content_id_match)(struct catalog *c, int64_t asset_id, int64_t *other_out);
    int (*fp_put)(struct catalog *c, const struct catalog_fp *f);
    int (*fp_get)(struct catalog *c, int64_t asset_id, struct catalog_fp *out);
    int (*fp_near)(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud);
    int (*fp_scan)(struct catalog *c, catalog_fp_fn fn, void *ud);
    int (*fp_set_group)(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper);
    int (*fp_group)(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud);
    /* ---- Idempotency-Key answers (serve, issue 14) ---- */
    int (*idem_put)(struct catalog *c, struct catalog_idem *e, int64_t now);
    int (*idem_get)(struct catalog *c, const char *account, const char *key, int64_t now,
                    struct catalog_idem *out);
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
/* Test hook for migration tests: with TP_FAULT_MIGRATIONS=I[,J...] set, a
 * migration brings the version number to the newest but runs only the
 * migrations with those indexes (the others are taken as applied), so a test
 * can rewind one table to an old shape and check its migration alone.
 * Returns 1 when migration `index` should run. */
int catalog_migration_wanted(int index);
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
/* The asset of owner with this content (TP_ERR_NOTFOUND when none);
 * catalog_asset_find() gives the lowest id of any owner. */
int catalog_asset_find_owner(struct catalog *c, const char *owner, const char *sha256,
                             struct catalog_asset *out);
/* Moves the asset to the trash at deleted_at (ISO UTC), or out of it when
 * deleted_at is "" (restore).  TP_ERR_NOTFOUND when there is no such asset. */
int catalog_asset_trash(struct catalog *c, int64_t id, const char *deleted_at);
/* Removes the asset row with its renditions, access rows and jobs, and
 * drops the references it held on its blobs (current, original,
 * renditions) in the same transaction: blobs another asset still uses keep
 * their count; gc deletes those left at zero.  TP_ERR_NOTFOUND when absent. */
int catalog_asset_delete(struct catalog *c, int64_t id);
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
 * asset.  Events are unique per asset and second: returns 1 when recorded,
 * 0 when that event was already there (an import repeated).  Statistics
 * change only on catalog_access_refresh(). */
int catalog_access_log(struct catalog *c, int64_t asset_id, int64_t unix_time);
/* Recomputes every asset's last_access, total and 30/90/365-day counts
 * (events in (now - N days, now]) from the event log. */
int catalog_access_refresh(struct catalog *c, int64_t now);
/* Zero counts and "" last_access when the asset has no events. */
int catalog_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out);

/* Appends an audit row; asset_id 0 for catalog-wide events; detail is a
 * JSON text or NULL. */
int catalog_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail);
/* From now on every commit of this handle is durable when it returns, also
 * across a power loss: for the service, which acknowledges uploads.  (SQLite
 * in WAL mode with synchronous=NORMAL, the default for batch work, may lose
 * the last commits to a power loss, never consistency: this sets FULL.
 * PostgreSQL's commits are durable already.)  0 or an error. */
int catalog_durable(struct catalog *c);

/* An asset's component inventory (src/media/components.h), stored at
 * ingest: kinds is the mask (1 << enum comp_kind) of the kinds present,
 * json the inventory as a JSON array (components_to_json).  put replaces. */
int catalog_components_put(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json);
/* 1 with *kinds_out (and *json_out when json_out is not NULL: caller owns
 * it, free with free()) when the asset has an inventory; 0 when it has none
 * (ingested before inventories existed: unknown), *kinds_out 0. */
int catalog_components_get(struct catalog *c, int64_t asset_id, unsigned *kinds_out,
                           char **json_out);

/* Live Photos / motion photos as one asset: links a still to its video
 * (how: "content_id", "name+time", "name").  Each asset is in at most one pair: a
 * second link of either is TP_ERR_DUPLICATE.  pair_get: 1 with
 * *partner_out when asset_id is in a pair, else 0. */
int catalog_pair_put(struct catalog *c, int64_t image_id, int64_t video_id, const char *how);
int catalog_pair_get(struct catalog *c, int64_t asset_id, int64_t *partner_out);

/* A Live Photo's content identifier (Apple's ContentIdentifier: the still's
 * maker note, the clip's QuickTime key), stored at ingest so that halves
 * uploaded apart find each other, indexed by (owner, identifier).  put
 * records it for the asset (the owner is the asset's; replaces; "" is
 * refused) and is TP_ERR_NOTFOUND when there is no such asset.  get: 1 with
 * out when the asset has one, else 0 (out "").  match: 1 with *other_out
 * the other half asset_id pairs with: the first asset by id of the same
 * owner (never another's), with the same identifier and of the other kind
 * (image <-> video), not in the trash and in no pair; 0 when there is none
 * (or asset_id has no identifier). */
int catalog_content_id_put(struct catalog *c, int64_t asset_id, const char *content_id);
int catalog_content_id_get(struct catalog *c, int64_t asset_id, char *out, size_t n);
int catalog_content_id_match(struct catalog *c, int64_t asset_id, int64_t *other_out);

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
/* Ingest jobs: an upload front end that has put an original into the
 * store asks a worker to catalog it and make its proxies (as `tierpress
 * ingest` would).  Such a job has policy and tier CATALOG_JOB_INGEST, no
 * asset (asset_id 0) and the blob's sha256; it is claimed, leased, fenced,
 * retried and listed like any other (claims of every policy include it). */
#define CATALOG_JOB_INGEST "ingest"
/* An ingest job with what only ingest jobs have. */
/* What the client said of an upload, recorded with its ingest job and
 * given to the asset the job makes (as a synchronous upload gives it);
 * "" none.  Longer values are cut to these sizes, as the asset's are. */
struct catalog_ingest_meta {
    char file_name[256];               /* the client's file name */
    char external_id[128];             /* the client's id for it */
    char capture_hint[64];             /* a capture time used when the file has none */
};
struct catalog_ingest_job {
    struct catalog_job job;
    char blob[SHA256_HEX_LEN + 1];     /* the uploaded original */
    char account[CATALOG_TEXT];        /* the owner its asset belongs to */
    struct catalog_ingest_meta meta;   /* the client's, of the upload that queued it */
    int64_t asset_id;                  /* the asset it made once done, else 0 */
};
/* Queues an ingest job for blob (64 hex) of account (the owner the asset
 * will belong to; NULL or "": CATALOG_DEFAULT_OWNER) with the client's meta
 * (NULL: none) unless one exists for (blob, account): 1 queued now, 0 when
 * it existed (its meta is kept: the first upload's, as a duplicate
 * synchronous upload keeps the asset's).  A done job whose content the
 * account no longer has as a live asset (deleted and gone through gc, or
 * in the trash) is queued again with this meta and counts as queued now:
 * its worker makes a new asset, or restores the one in the trash, as a
 * synchronous upload would.  The same blob uploaded by two accounts is two
 * jobs (and two assets sharing the blob).  *job_id_out (NULL: not wanted)
 * is the job's id either way. */
int catalog_job_enqueue_ingest(struct catalog *c, const char *blob, const char *account,
                               const struct catalog_ingest_meta *meta, int max_attempts,
                               int64_t *job_id_out);
/* The ingest job job_id; TP_ERR_NOTFOUND when there is none or it is a
 * transcode job. */
int catalog_job_ingest_get(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out);
/* Calls fn with { blob, state } of every ingest job that has not made its
 * asset (queued, running, failed, dead), in one query: the uploads whose
 * blob no catalog row references yet (gc keeps them). */
int catalog_job_ingest_blobs(struct catalog *c, catalog_rows_fn fn, void *ud);
/* catalog_job_enqueue for n (asset, tier) pairs of one policy, in one
 * statement: returns how many were queued now (the others existed). */
int catalog_job_enqueue_batch(struct catalog *c, const int64_t *asset_ids,
                              const char *const *tiers, int n, const char *policy,
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
/* A plan's label-only moves, n at once (one statement on PostgreSQL): each
 * asset's tier and storage class as catalog_asset_set_tier (audited), and
 * its current blob's class set to it too when that blob is the asset's
 * alone (a refcount no more than the asset's own references: current,
 * original, renditions) -- for stores whose classes are catalog labels; a
 * store with real classes moves the bytes first, asset by asset.  Returns
 * the number of assets changed (TP_ERR_NOTFOUND when one is missing:
 * nothing changed). */
int catalog_asset_relabel_batch(struct catalog *c, const struct catalog_relabel *v, int n);
/* Assets whose replaced original's grace ended at or before now_iso. */
int catalog_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn,
                              void *ud);
/* Drops the asset's reference to its replaced original (which must still
 * be `original` and differ from the current blob). */
int catalog_asset_release_original(struct catalog *c, int64_t asset_id, const char *original);
/* Every blob row, with the reference count recomputed from the pointers
 * (expected_refcount) for fsck. */
int catalog_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud);
/* Assets matching q in id order (keyset: q->after), one statement per page
 * (memory bounded by the page, whatever the catalog's size).  fn returning
 * non-zero stops the walk; that value is returned. */
int catalog_asset_list(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                       void *ud);
/* The asset whose upload sha256 starts with prefix (1..64 lower-case hex
 * digits, at least 6): TP_ERR_NOTFOUND, or TP_ERR_CONFLICT when several do. */
#define CATALOG_PREFIX_MIN 6
int catalog_asset_find_prefix(struct catalog *c, const char *prefix, struct catalog_asset *out);
/* An asset named on the command line: a decimal id (up to 11 digits), or a
 * sha256 or its prefix (6..64 hex digits; ls prints 12).  TP_ERR(EINVAL)
 * for anything else, TP_ERR_NOTFOUND, TP_ERR_CONFLICT (ambiguous prefix). */
int catalog_asset_resolve(struct catalog *c, const char *arg, struct catalog_asset *out);

/* What the blob store holds, by what will become of it (the run summary
 * and gc): every blob row; those with no reference (gc deletes them once
 * older than its orphan grace); replaced originals whose grace ended at or
 * before now_iso (gc --now releases and deletes them); originals still in
 * their grace, with the latest end; the rest is referenced. */
struct catalog_footprint {
    int64_t blobs, unreferenced, due, held;
    uint64_t bytes, unreferenced_bytes, due_bytes, held_bytes, referenced_bytes;
    char held_until[CATALOG_TIME];     /* "" when nothing is held */
};
int catalog_footprint(struct catalog *c, const char *now_iso, struct catalog_footprint *out);
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

/* ---- table copies (tierpress migrate) -------------------------------- */

/* Calls fn for up to limit rows of t whose key is greater than after
 * ("" from the start), in key order (for a key_groups table: every row of
 * up to limit keys).  Returns the number of rows, or fn's non-zero return. */
int catalog_rows_export(struct catalog *c, const struct catalog_table *t, const char *after,
                        int limit, catalog_rows_fn fn, void *ud);
/* Inserts one row of t as exported, keeping its key and every value (no
 * reference counts moved, no audit row): 1 inserted, 0 when a row with its
 * key was there (left alone). */
int catalog_rows_import(struct catalog *c, const struct catalog_table *t, const char *const *v);
/* After an import: ids the catalog hands out next come after the imported
 * ones (PostgreSQL's sequences; nothing to do on SQLite). */
int catalog_rows_finish(struct catalog *c);
/* raise = 0: *next = the id the next new asset gets (ids are never reused:
 * past every id ever given, deleted ones too); 1: makes it at least *next
 * (a copy of a catalog keeps its source's mark). */
int catalog_asset_id_mark(struct catalog *c, int64_t *next, int raise);
/* write = 0: reads the state of the copy from source (TP_ERR_NOTFOUND when
 * none); 1: records it (call it inside the transaction that imported the
 * rows it counts). */
int catalog_migrate_state(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                          int write);
/* ---- the worker registry and wake-ups ---------------------------------
 *
 * Every process that works on the queue registers itself (id = the owner
 * string of its claims), heartbeats while it runs and deregisters on a
 * clean stop.  Heartbeats are on the queue's clock (the database's on
 * PostgreSQL; `now` on SQLite, as leases).  A worker killed without a
 * clean stop stays registered, its heartbeat ageing: `jobs --workers`
 * marks it stale once the age passes its lease (its jobs are then being
 * taken over).  What a worker holds is read from the queue itself (its
 * running jobs), never stored twice. */

/* Registers w (id, host, pid, threads, lease_seconds; started and
 * heartbeat set to now), replacing a row with the same id. */
int catalog_worker_register(struct catalog *c, const struct catalog_worker *w, int64_t now);
/* Sets the worker's heartbeat to now; TP_ERR_NOTFOUND when it is not
 * registered (register again). */
int catalog_worker_heartbeat(struct catalog *c, const char *id, int64_t now);
/* Removes the worker's row (a no-op when absent). */
int catalog_worker_deregister(struct catalog *c, const char *id);
/* Calls fn for every registered worker, in id order, with its heartbeat
 * age at now and the running jobs it holds.  The record is borrowed. */
int catalog_worker_list(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud);
/* Removes the rows of workers gone for good: no heartbeat for more than
 * `leases` times their own lease at now (a worker killed without a clean
 * stop; its running jobs were taken over long since, their leases having
 * run out).  Returns how many were removed.  A pruned worker that was only
 * paused registers again at its next heartbeat (TP_ERR_NOTFOUND). */
int catalog_worker_prune(struct catalog *c, int64_t now, int leases);
/* Waits up to timeout_ms for work to be queued: 1 when woken by the
 * database (PostgreSQL: LISTEN/NOTIFY, fired when a job becomes queued),
 * 2 at once when this call started listening (the first one, and the
 * first after a reconnect: work queued before could not wake us, look
 * now), 0 after the timeout (SQLite: always; the caller polls with
 * backoff).  Never inside a transaction. */
int catalog_job_wait(struct catalog *c, int timeout_ms);
/* For backends: fills w->njobs and w->jobs from "id:asset:claimed,..."
 * (the running jobs of the worker, in id order; "" for none). */
void catalog_worker_jobs_parse(struct catalog_worker *w, const char *s);
/* ---- imported metadata, albums, import records ------------------------ */

/* Records m for m->asset_id (replacing an earlier record) and sets the
 * asset's capture_time to m->capture_time when that is not "" and its
 * has_gps when m->has_location.  TP_ERR_NOTFOUND for an unknown asset. */
int catalog_meta_put(struct catalog *c, const struct catalog_meta *m);
/* TP_ERR_NOTFOUND when nothing was imported for the asset. */
int catalog_meta_get(struct catalog *c, int64_t asset_id, struct catalog_meta *out);
/* Adds the asset to the album titled title (created when new); a no-op
 * when it is a member already. */
int catalog_album_add(struct catalog *c, const char *title, int64_t asset_id);
/* Every membership in (title, asset id) order. */
int catalog_album_iterate(struct catalog *c, catalog_album_fn fn, void *ud);
/* The import record: key (an export's entry, e.g. "name|size") was
 * imported as asset_id (0: seen, nothing to catalog).  import_get:
 * TP_ERR_NOTFOUND when the key is not recorded. */
int catalog_import_put(struct catalog *c, const char *key, int64_t asset_id);
int catalog_import_get(struct catalog *c, const char *key, int64_t *asset_id_out);
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
 * asset id order, without the thumbnails (thumb ""; catalog_fp_get reads
 * one whole).  fn may query the catalog. */
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
/* ---- Idempotency-Key answers (tierpress serve, issue 14) --------------
 * A completed upload's answer is kept in the catalog so that a restarted
 * server, or another server of a fleet on the same catalog, answers a
 * retry exactly as the first time.  A row is live for CATALOG_IDEM_TTL
 * seconds after its created time; older rows are never returned and are
 * deleted by the next catalog_idem_put (of any key), so the table holds
 * about one day of keys.  Keys are per account: nothing of one account's
 * row is visible through another's. */

/* First writer wins: records e (created = now) unless a live row of
 * (e->account, e->key) exists, then fills e with the row stored (the
 * caller's own or an earlier writer's; compare e->sha256 to see whether it
 * was made with the same bytes).  Returns 1 when e was stored, 0 when an
 * earlier row was kept. */
int catalog_idem_put(struct catalog *c, struct catalog_idem *e, int64_t now);
/* The live row of (account, key) at now; TP_ERR_NOTFOUND when none. */
int catalog_idem_get(struct catalog *c, const char *account, const char *key, int64_t now,
                     struct catalog_idem *out);
static inline int catalog_fp_chunk(uint64_t phash, int i)
{
    return (int)((phash >> (16 * i)) & 0xffff);
}

#endif /* TP_SRC_CATALOG_H */
