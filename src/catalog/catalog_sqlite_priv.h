#ifndef TP_SRC_CATALOG_SQLITE_PRIV_H
#define TP_SRC_CATALOG_SQLITE_PRIV_H

/* Private to the SQLite backend: what catalog_sqlite.c (the handle, the
 * schema, the asset and blob operations) shares with
 * catalog_sqlite_jobs.c (the job queue). */
#include <sqlite3.h>

#include "catalog.h"

/* The database handle of an open SQLite catalog (borrowed). */
sqlite3 *sq_db(struct catalog *c);
/* Turns a SQLite result code into ours, with "catalog: what: message" as
 * the error detail. */
int sq_err(struct catalog *c, int rc, const char *what);

/* Schema 2 -> 3: the job queue's columns (max_attempts, token, not_before,
 * claimed, last_error, error_permanent, state 'dead') and the policies
 * table. */
extern const char sqj_migration_v3[];

/* catalog_blob_set_class (catalog_sqlite_class.c). */
int sqc_blob_set_class(struct catalog *c, const char *hash, const char *storage_class);

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

#endif /* TP_SRC_CATALOG_SQLITE_PRIV_H */
