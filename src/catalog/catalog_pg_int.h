#ifndef TP_SRC_CATALOG_PG_INT_H
#define TP_SRC_CATALOG_PG_INT_H

/* Shared by the PostgreSQL backend's files (catalog_pg.c: connection,
 * errors, retries, migrations, transactions; catalog_pg_assets.c: blobs,
 * assets, renditions, access, scans, bulk loads; catalog_pg_jobs.c: the
 * job queue).  Nothing outside src/catalog includes it. */

#include <libpq-fe.h>
#include <stdint.h>

#include "catalog.h"
#include "mem.h"

/* Every statement the backend runs, prepared on first use per connection. */
enum pg_stmt {
    P_BEGIN, P_COMMIT, P_ROLLBACK, P_SAVEPOINT, P_RELEASE, P_ROLLBACK_TO,
    P_BLOB_ADD, P_BLOB_GET, P_BLOB_COUNT, P_BLOB_REF_N, P_BLOB_SET_CLASS,
    P_ASSET_INSERT, P_ASSET_GET, P_ASSET_FIND, P_ASSET_PAGE,
    P_REND_GET, P_REND_UPDATE, P_REND_INSERT, P_REND_ALL,
    P_ACCESS_LOG, P_ACCESS_REFRESH, P_ACCESS_GET,
    P_AUDIT,
    P_ASSET_SWAP, P_ASSET_SET_TIER, P_ASSET_RELABEL, P_ASSET_DUE_PAGE, P_ASSET_RELEASE_ORIG,
    P_BLOB_PAGE, P_BLOB_REMOVE,
    P_ID_RANGE, P_SCAN_PAGE, P_ID_RESERVE,
    P_ASSET_LIST, P_ASSET_LIST_OWNER, P_ASSET_PREFIX,
    P_ASSET_FIND_OWNER, P_ASSET_TRASH, P_ASSET_UNREF, P_ASSET_DELETE,
    P_ASSET_COMP_DELETE, P_ASSET_PAIR_DELETE,
    P_COMP_PUT, P_COMP_GET, P_PAIR_PUT, P_PAIR_GET,
    P_CID_PUT, P_CID_GET, P_CID_MATCH,
    /* the job queue's, whose SQL is in catalog_pg_jobs.c (pg_jobs_sql) */
    P_JOB_FIRST,
    P_POLICY_PUT = P_JOB_FIRST, P_POLICY_GET, P_JOB_ENQUEUE, P_JOB_PARK, P_JOB_CLAIM, P_JOB_RENEW,
    P_JOB_FINISH, P_JOB_FAIL, P_JOB_RELEASE, P_JOB_RETRY, P_JOB_LIST_PAGE, P_JOB_COUNTS,
    P_JOB_OWNERS, P_JOB_REQUEUE_OWNER, P_JOB_HOLDER, P_JOB_ACTIVE,
    P_JOB_INGEST_ENQUEUE, P_JOB_INGEST_FIND, P_JOB_INGEST_GET, P_JOB_INGEST_REQUEUE,
    P_JOB_INGEST_BLOBS,
    /* the worker registry's, in catalog_pg_workers.c (pg_workers_sql) */
    P_WORKER_FIRST,
    P_WORKER_REGISTER = P_WORKER_FIRST, P_WORKER_HEARTBEAT, P_WORKER_DEREGISTER, P_WORKER_LIST,
    P_WORKER_PRUNE,
    /* imported metadata, albums, import records: SQL in catalog_pg_import.c */
    P_IMPORT_FIRST,
    P_META_ASSET = P_IMPORT_FIRST, P_META_PUT, P_META_GET, P_ALBUM_ADD, P_ALBUM_ALL,
    P_IMPORT_PUT, P_IMPORT_GET, P_IDEM_EXPIRE, P_IDEM_PUT, P_IDEM_GET,
    /* the fingerprints', whose SQL is in catalog_pg_fp.c (pg_fp_sql) */
    P_FP_FIRST,
    P_FP_PUT = P_FP_FIRST, P_FP_GET, P_FP_NEAR, P_FP_PAGE, P_FP_SET_GROUP, P_FP_GROUP,
    P_COUNT
};

/* The SQL of a job-queue statement (id >= P_JOB_FIRST). */
const char *pg_jobs_sql(enum pg_stmt id);
/* The SQL of a fingerprint statement (id >= P_FP_FIRST), the migration
 * that adds their table, and the catalog_fp_* operations (catalog_pg_fp.c). */
const char *pg_fp_sql(enum pg_stmt id);
extern const char pg_fp_migration[];
int pgf_fp_put(struct catalog *c, const struct catalog_fp *f);
int pgf_fp_get(struct catalog *c, int64_t asset_id, struct catalog_fp *out);
int pgf_fp_near(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud);
int pgf_fp_scan(struct catalog *c, catalog_fp_fn fn, void *ud);
int pgf_fp_set_group(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper);
int pgf_fp_group(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud);
/* Schema 1 -> 2: the job queue's columns and the policies table. */
extern const char pg_jobs_migration_v2[];
/* Schema 2 -> 3: ingest jobs (jobs.asset_id NULL, jobs.blob). */
extern const char pg_migration_ingest_jobs[];
/* Schema 10 -> 11: ingest jobs record their account (jobs.account). */
extern const char pg_migration_ingest_account[];
/* The SQL of a worker-registry statement (id >= P_WORKER_FIRST). */
const char *pg_workers_sql(enum pg_stmt id);
/* Schema 2 -> 3: the worker registry and the queued-job notification. */
extern const char pg_workers_migration_v3[];
/* The SQL of an import statement (id >= P_IMPORT_FIRST), and the schema's
 * import tables (catalog_pg_import.c). */
const char *pg_import_sql(enum pg_stmt id);
extern const char pg_import_migration[];
int pg_meta_put(struct catalog *c, const struct catalog_meta *m);
int pg_meta_get(struct catalog *c, int64_t asset_id, struct catalog_meta *out);
int pg_album_add(struct catalog *c, const char *title, int64_t asset_id);
int pg_album_iterate(struct catalog *c, catalog_album_fn fn, void *ud);
int pg_import_put(struct catalog *c, const char *key, int64_t asset_id);
int pg_import_get(struct catalog *c, const char *key, int64_t *asset_id_out);
/* Idempotency-Key answers (catalog_pg_import.c) and their table. */
extern const char pg_idem_migration[];
int pg_idem_put(struct catalog *c, struct catalog_idem *e, int64_t now);
int pg_idem_get(struct catalog *c, const char *account, const char *key, int64_t now,
                struct catalog_idem *out);

/* Rows per page of a keyset-paginated walk: bounded memory, and no
 * transaction held across the catalog. */
#define PG_PAGE_ROWS 2000

struct catalog_pg {
    struct catalog base; /* must be first */
    PGconn *conn;
    char where[160];     /* "host:port/dbname" for messages; never the password */
    int txn;             /* inside the caller's catalog_begin .. commit/rollback */
    int op_depth;        /* an atomic operation's own BEGIN or SAVEPOINT is open */
    int lost_in_txn;     /* the connection dropped inside the caller's transaction */
    uint8_t prepared[P_COUNT];
    /* bulk load (catalog_asset_insert_bulk): rows buffered for COPY */
    struct tp_buf copy_assets, copy_access;
    int64_t ids[PG_PAGE_ROWS];
    int ids_next, ids_n;
    int caller_clock;    /* TP_FAULT_PG_CALLER_CLOCK: leases on the callers' `now` */
    int listening;       /* this session has run LISTEN (catalog_job_wait) */
};

/* Text parameters for one statement; "" and NULL pointers are SQL NULL. */
#define PG_MAX_PARAMS 32
struct pg_params {
    const char *v[PG_MAX_PARAMS];
    char num[PG_MAX_PARAMS][32];
    int n;
};

void pgp_text(struct pg_params *p, const char *s);
void pgp_int(struct pg_params *p, int64_t v);
/* SQL NULL when is_null. */
void pgp_real(struct pg_params *p, double v, int is_null);

/* Runs statement id with params p (NULL for none).  On success returns the
 * number of rows affected or returned, and *res (when res is not NULL)
 * holds the result: caller owns it; free with PQclear().  Flushes a
 * pending bulk load first.  Errors go through the one translator. */
int pgc_exec(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p, PGresult **res,
             const char *what);
/* pgc_exec for a read outside any transaction: a lost connection is
 * re-established and the read repeated. */
int pgc_read(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p, PGresult **res,
             const char *what);
/* A one-statement mutation: atomic on its own outside the caller's
 * transaction (no BEGIN/COMMIT round trips; repeated only after a
 * serialization failure or deadlock, which applied nothing; a lost
 * connection is reported, the outcome unknown), in a savepoint inside it.
 * Returns as pgc_exec. */
int pgc_single(struct catalog_pg *cp, enum pg_stmt id, const struct pg_params *p, PGresult **res,
               const char *what);
/* pgc_exec for SQL built at run time (not prepared). */
int pgc_exec_params(struct catalog_pg *cp, const char *sql, const struct pg_params *p,
                    PGresult **res, const char *what);
/* Runs a text query without parameters (migrations, session settings). */
int pgc_exec_sql(struct catalog_pg *cp, const char *sql, const char *what);

/* An atomic operation: its own transaction, or a savepoint inside the
 * caller's.  op_end commits (or releases) when ret >= 0, rolls back
 * otherwise, and returns ret or the commit's error. */
int pgc_op_begin(struct catalog_pg *cp);
int pgc_op_end(struct catalog_pg *cp, int ret);
/* After a failed atomic operation: 1 when it may run again from the start
 * (a serialization failure, a deadlock or a connection lost before COMMIT,
 * outside the caller's transaction, fewer than the attempt cap); waits
 * with backoff and reconnects first. */
int pgc_op_retry(struct catalog_pg *cp, int ret, int attempt);

/* Runs body (an int expression) as one atomic operation, retried whole
 * when that is safe. */
#define PG_ATOMIC(cp, body)                                                    \
    ({                                                                         \
        int pga_ret_, pga_try_ = 0;                                            \
        do {                                                                   \
            pga_ret_ = pgc_op_begin(cp);                                       \
            if (pga_ret_ >= 0)                                                 \
                pga_ret_ = pgc_op_end(cp, (body));                             \
        } while (pgc_op_retry(cp, pga_ret_, pga_try_++));                      \
        pga_ret_;                                                              \
    })

/* Column text ("" for NULL; borrowed from res) and numbers. */
const char *pg_str(const PGresult *r, int row, int col);
void pg_text(const PGresult *r, int row, int col, char *out, size_t n);
int64_t pg_int(const PGresult *r, int row, int col);
double pg_real(const PGresult *r, int row, int col, double if_null);

/* Appends an audit row (asset_id 0 = catalog-wide). */
int pgc_audit(struct catalog_pg *cp, int64_t asset_id, const char *action, const char *detail);
/* pgc_audit with a detail from audit.h: taken (freed); NULL is out of memory */
int pgc_audit_take(struct catalog_pg *cp, int64_t asset_id, const char *action, char *detail);
/* Writes the buffered bulk-load rows with COPY (no-op when none). */
int pgc_bulk_flush(struct catalog_pg *cp);

/* The ops of catalog_pg_assets.c and catalog_pg_jobs.c, put in the table
 * by catalog_pg.c. */
int pg_blob_add(struct catalog *c, const char *hash, uint64_t bytes, const char *sc);
int pg_blob_get(struct catalog *c, const char *hash, struct catalog_blob *out);
int pg_blob_count(struct catalog *c, int64_t *n);
int pg_blob_set_class(struct catalog *c, const char *hash, const char *sc);
int pg_asset_insert(struct catalog *c, struct catalog_asset *a);
int pg_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out);
int pg_asset_find(struct catalog *c, const char *sha, struct catalog_asset *out);
int pg_asset_find_owner(struct catalog *c, const char *owner, const char *sha,
                        struct catalog_asset *out);
int pg_asset_trash(struct catalog *c, int64_t id, const char *deleted_at);
int pg_asset_delete(struct catalog *c, int64_t id);
int pg_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud);
int pg_rendition_put(struct catalog *c, struct catalog_rendition *r);
int pg_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                     struct catalog_rendition *out);
int pg_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn, void *ud);
int pg_access_log(struct catalog *c, int64_t asset_id, int64_t t);
int pg_access_refresh(struct catalog *c, int64_t now);
int pg_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out);
int pg_components_put(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json);
int pg_components_get(struct catalog *c, int64_t asset_id, unsigned *kinds_out, char **json_out);
int pg_pair_put(struct catalog *c, int64_t image_id, int64_t video_id, const char *how);
int pg_pair_get(struct catalog *c, int64_t asset_id, int64_t *partner_out);
int pg_content_id_put(struct catalog *c, int64_t asset_id, const char *content_id);
int pg_content_id_get(struct catalog *c, int64_t asset_id, char *out, size_t n);
int pg_content_id_match(struct catalog *c, int64_t asset_id, int64_t *other_out);
int pg_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail);
int pg_asset_swap(struct catalog *c, int64_t asset_id, const char *expected, const char *new_blob,
                  const char *tier, const char *storage_class, const char *original_delete_after);
int pg_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                      const char *storage_class);
int pg_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn, void *ud);
int pg_asset_list(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                  void *ud);
int pg_asset_find_prefix(struct catalog *c, const char *prefix, struct catalog_asset *out);
int pg_asset_release_original(struct catalog *c, int64_t asset_id, const char *original);
int pg_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud);
int pg_blob_remove(struct catalog *c, const char *hash);
int pg_asset_id_range(struct catalog *c, int64_t *lo, int64_t *hi, int64_t *n);
int pg_asset_scan(struct catalog *c, int64_t lo, int64_t hi, catalog_scan_fn fn, void *ud);
int pg_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                         const struct catalog_access *ac);
int pg_blob_ref_add(struct catalog *c, const char *hash, int64_t n);
int pg_policy_put(struct catalog *c, const char *hash, const char *path, const void *text,
                  size_t len);
int pg_policy_get(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                  size_t path_len);
int pg_job_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                   int max_attempts);
int pg_job_claim(struct catalog *c, const char *const *policies, int npolicies, const char *owner,
                 int64_t now, int lease_seconds, struct catalog_job *out, int max);
int pg_job_renew(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds);
int pg_job_finish(struct catalog *c, const struct catalog_job *j, int64_t now,
                  enum catalog_job_state state, const char *result);
int pg_job_fail(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
                const char *error, int retry_after_seconds);
int pg_job_release(struct catalog *c, const struct catalog_job *j);
int pg_job_retry(struct catalog *c, const char *policy, const int64_t *ids, int nids);
int pg_job_list(struct catalog *c, const char *policy, int state, catalog_job_fn fn, void *ud);
int pg_job_counts(struct catalog *c, const char *policy, struct catalog_job_counts *n);
int pg_job_requeue_dead(struct catalog *c, const char *policy, int (*is_dead)(const char *owner));
int pg_job_active(struct catalog *c, int64_t now, int64_t *n);
/* Table copies (catalog_pg_rows.c). */
int pg_rows_export(struct catalog *c, const struct catalog_table *t, const char *after, int limit,
                   catalog_rows_fn fn, void *ud);
int pg_rows_import(struct catalog *c, const struct catalog_table *t, const char *const *v);
int pg_rows_finish(struct catalog *c);
int pg_migrate_state(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                     int write);
int pg_job_enqueue_ingest(struct catalog *c, const char *blob, const char *account,
                          const struct catalog_ingest_meta *meta,
                          int max_attempts, int64_t *job_id_out);
int pg_job_ingest_get(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out);
int pg_job_ingest_blobs(struct catalog *c, catalog_rows_fn fn, void *ud);
int pg_asset_id_mark(struct catalog *c, int64_t *next, int raise);
int pg_job_enqueue_batch(struct catalog *c, const int64_t *asset_ids, const char *const *tiers,
                         int n, const char *policy, int max_attempts);
int pg_worker_register(struct catalog *c, const struct catalog_worker *w, int64_t now);
int pg_worker_heartbeat(struct catalog *c, const char *id, int64_t now);
int pg_worker_deregister(struct catalog *c, const char *id);
int pg_worker_list(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud);
int pg_asset_relabel_batch(struct catalog *c, const struct catalog_relabel *v, int n);
int pg_worker_prune(struct catalog *c, int64_t now, int leases);
int pg_job_wait(struct catalog *c, int timeout_ms);

#endif /* TP_SRC_CATALOG_PG_INT_H */
