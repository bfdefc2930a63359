#ifndef TP_SRC_CATALOG_SQLITE_PRIV_H
#define TP_SRC_CATALOG_SQLITE_PRIV_H

/* Private to the SQLite backend: what catalog_sqlite.c (the handle, the
 * schema, transactions, statements, errors, the ops table) shares with
 * catalog_sqlite_assets.c (the asset and blob operations) and
 * catalog_sqlite_jobs.c (the job queue). */
#include <sqlite3.h>

#include "catalog.h"

/* The statements prepared once at open (catalog_sqlite.c's sq_stmt_sql). */
enum stmt_id {
    S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
    S_BLOB_ADD, S_BLOB_GET, S_BLOB_COUNT, S_BLOB_REF, S_BLOB_UNREF,
    S_ASSET_INSERT, S_ASSET_GET, S_ASSET_FIND, S_ASSET_ALL,
    S_ASSET_FIND_OWNER, S_ASSET_TRASH, S_ASSET_UNREF, S_ASSET_DELETE,
    S_ASSET_COMP_DELETE, S_ASSET_PAIR_DELETE,
    S_REND_GET, S_REND_INSERT, S_REND_UPDATE, S_REND_ALL,
    S_ACCESS_LOG, S_ACCESS_REFRESH, S_ACCESS_GET,
    S_AUDIT,
    S_ASSET_SWAP, S_ASSET_SET_TIER, S_ASSET_DUE, S_ASSET_RELEASE_ORIG,
    S_BLOB_ALL, S_BLOB_REMOVE, S_BLOB_CHECK, S_JOB_ACTIVE,
    S_ID_RANGE, S_ACCESS_PUT, S_BLOB_REF_N,
    S_ASSET_LIST, S_ASSET_LIST_OWNER, S_ASSET_PREFIX,
    S_COUNT
};

struct catalog_sqlite {
    struct catalog base; /* must be first */
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
};

/* Each statement's SQL, by id (catalog_sqlite.c); iterations prepare their
 * own copy so callbacks may use the shared ones. */
extern const char *const sq_stmt_sql[S_COUNT];

/* The SQLite handle behind a struct catalog *c. */
#define CS struct catalog_sqlite *cs = (struct catalog_sqlite *)c

/* The one place SQLite codes become ours; logs SQLite's message. */
int sq_sql_err(struct catalog_sqlite *cs, int rc, const char *what);
/* Statement id, reset and unbound (borrowed from the handle). */
sqlite3_stmt *sq_stmt(struct catalog_sqlite *cs, enum stmt_id id);
/* Runs a statement that returns no rows. */
int sq_exec_stmt(struct catalog_sqlite *cs, sqlite3_stmt *s, const char *what);
/* A mutation's savepoint: sq_op_end(cs, ret) releases it, or rolls it back
 * when ret < 0, and returns ret. */
int sq_op_begin(struct catalog_sqlite *cs);
int sq_op_end(struct catalog_sqlite *cs, int ret);

/* The asset and blob operations (catalog_sqlite_assets.c; catalog.h
 * documents them). */
int sq_blob_add(struct catalog *c, const char *hash, uint64_t bytes, const char *sc);
int sq_blob_get(struct catalog *c, const char *hash, struct catalog_blob *b);
int sq_blob_count(struct catalog *c, int64_t *n);
int sq_asset_insert(struct catalog *c, struct catalog_asset *a);
int sq_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out);
int sq_asset_find(struct catalog *c, const char *sha, struct catalog_asset *out);
int sq_asset_find_owner(struct catalog *c, const char *owner, const char *sha,
                        struct catalog_asset *out);
int sq_asset_trash(struct catalog *c, int64_t id, const char *deleted_at);
int sq_asset_delete(struct catalog *c, int64_t id);
int sq_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud);
int sq_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                     struct catalog_rendition *out);
int sq_rendition_put(struct catalog *c, struct catalog_rendition *r);
int sq_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn,
                         void *ud);
int sq_access_log(struct catalog *c, int64_t asset_id, int64_t t);
int sq_access_refresh(struct catalog *c, int64_t now);
int sq_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out);
int sq_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail);
int sq_asset_swap(struct catalog *c, int64_t asset_id, const char *expected,
                  const char *new_blob, const char *tier, const char *storage_class,
                  const char *original_delete_after);
int sq_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                      const char *storage_class);
int sq_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn,
                         void *ud);
int sq_asset_release_original(struct catalog *c, int64_t asset_id, const char *original);
int sq_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud);
int sq_blob_remove(struct catalog *c, const char *hash);
int sq_job_active(struct catalog *c, int64_t now, int64_t *n);
int sq_asset_id_range(struct catalog *c, int64_t *lo, int64_t *hi, int64_t *n);
int sq_asset_scan(struct catalog *c, int64_t lo, int64_t hi, catalog_scan_fn fn, void *ud);
int sq_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                         const struct catalog_access *ac);
int sq_blob_ref_add(struct catalog *c, const char *hash, int64_t n);

/* Table copies (catalog_sqlite_rows.c; catalog.h documents them). */
int sq_rows_export(struct catalog *c, const struct catalog_table *t, const char *after, int limit,
                   catalog_rows_fn fn, void *ud);
int sq_rows_import(struct catalog *c, const struct catalog_table *t, const char *const *v);
int sq_asset_id_mark(struct catalog *c, int64_t *next, int raise);
int sq_migrate_state(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                     int write);
int sq_job_enqueue_ingest(struct catalog *c, const char *blob, const char *account,
                          const struct catalog_ingest_meta *meta,
                          int max_attempts, int64_t *job_id_out);
int sq_job_ingest_get(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out);
int sq_job_ingest_blobs(struct catalog *c, catalog_rows_fn fn, void *ud);
int sq_job_enqueue_batch(struct catalog *c, const int64_t *asset_ids, const char *const *tiers,
                         int n, const char *policy, int max_attempts);

/* The database handle of an open SQLite catalog (borrowed). */
sqlite3 *sq_db(struct catalog *c);
int sq_asset_list(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                  void *ud);
int sq_asset_find_prefix(struct catalog *c, const char *prefix, struct catalog_asset *out);
/* Turns a SQLite result code into ours, with "catalog: what: message" as
 * the error detail. */
int sq_err(struct catalog *c, int rc, const char *what);

/* Schema 2 -> 3: the job queue's columns (max_attempts, token, not_before,
 * claimed, last_error, error_permanent, state 'dead') and the policies
 * table. */
extern const char sqj_migration_v3[];
/* Schema 3 -> 4: ingest jobs: jobs.asset_id may be NULL, jobs.blob names
 * the uploaded original (unique among queued ingest jobs). */
extern const char sqj_migration_ingest_jobs[];
/* Schema 3 -> 4: the worker registry (catalog_sqlite_workers.c). */
extern const char sqw_migration_v4[];
int sqw_register(struct catalog *c, const struct catalog_worker *w, int64_t now);
int sqw_heartbeat(struct catalog *c, const char *id, int64_t now);
int sqw_deregister(struct catalog *c, const char *id);
int sqw_list(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud);
int sq_asset_relabel_batch(struct catalog *c, const struct catalog_relabel *v, int n);
int sqw_prune(struct catalog *c, int64_t now, int leases);
int sqw_job_wait(struct catalog *c, int timeout_ms);

/* catalog_blob_set_class (catalog_sqlite_class.c). */
int sqc_blob_set_class(struct catalog *c, const char *hash, const char *storage_class);

/* Perceptual fingerprints (catalog_sqlite_fp.c): the migration that adds
 * their table, and the catalog_fp_* operations. */
extern const char sqf_migration_fingerprints[];
int sqf_fp_put(struct catalog *c, const struct catalog_fp *f);
int sqf_fp_get(struct catalog *c, int64_t asset_id, struct catalog_fp *out);
int sqf_fp_near(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud);
int sqf_fp_scan(struct catalog *c, catalog_fp_fn fn, void *ud);
int sqf_fp_set_group(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper);
int sqf_fp_group(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud);

/* The queue's operations (catalog.h documents them). */
int sqj_policy_put(struct catalog *c, const char *hash, const char *path, const void *text,
                   size_t len);
int sqj_policy_get(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                   size_t path_len);
int sqj_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                int max_attempts);
int sqj_claim(struct catalog *c, const char *const *policies, int npolicies, const char *owner,
              int64_t now, int lease_seconds, struct catalog_job *out, int max);
int sqj_renew(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds);
int sqj_finish(struct catalog *c, const struct catalog_job *j, int64_t now,
               enum catalog_job_state state, const char *result);
int sqj_fail(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
             const char *error, int retry_after_seconds);
int sqj_release(struct catalog *c, const struct catalog_job *j);
int sqj_retry(struct catalog *c, const char *policy, const int64_t *ids, int nids);
int sqj_list(struct catalog *c, const char *policy, int state, catalog_job_fn fn, void *ud);
int sqj_counts(struct catalog *c, const char *policy, struct catalog_job_counts *n);
int sqj_requeue_dead(struct catalog *c, const char *policy, int (*is_dead)(const char *owner));

/* Imported metadata, albums, import records (catalog_sqlite_import.c). */
extern const char sqi_migration_import[];
int sq_meta_put(struct catalog *c, const struct catalog_meta *m);
int sq_meta_get(struct catalog *c, int64_t asset_id, struct catalog_meta *out);
int sq_album_add(struct catalog *c, const char *title, int64_t asset_id);
int sq_album_iterate(struct catalog *c, catalog_album_fn fn, void *ud);
int sq_import_put(struct catalog *c, const char *key, int64_t asset_id);
int sq_import_get(struct catalog *c, const char *key, int64_t *asset_id_out);
/* Idempotency-Key answers (catalog_sqlite_import.c) and their table. */
extern const char sqi_migration_idem[];
int sq_idem_put(struct catalog *c, struct catalog_idem *e, int64_t now);
int sq_idem_get(struct catalog *c, const char *account, const char *key, int64_t now,
                struct catalog_idem *out);
/* An asset's component inventory (catalog_sqlite_components.c). */
int sq_components_put(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json);
int sq_components_get(struct catalog *c, int64_t asset_id, unsigned *kinds_out, char **json_out);
int sq_pair_put(struct catalog *c, int64_t image_id, int64_t video_id, const char *how);
int sq_pair_get(struct catalog *c, int64_t asset_id, int64_t *partner_out);
int sq_content_id_put(struct catalog *c, int64_t asset_id, const char *content_id);
int sq_content_id_get(struct catalog *c, int64_t asset_id, char *out, size_t n);
int sq_content_id_match(struct catalog *c, int64_t asset_id, int64_t *other_out);

#endif /* TP_SRC_CATALOG_SQLITE_PRIV_H */
