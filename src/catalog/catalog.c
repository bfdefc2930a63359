/* Backend-independent part of the catalog: the backend table by URI
 * scheme, dispatch and time helpers. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "config.h"
#include "err.h"
#include "fileio.h"
#include "timeutil.h"

/* ---- the backend table -------------------------------------------------- */

/* sqlite:///abs/path.db (config_validate resolved relative paths against
 * the home). */
static int sqlite_open_uri(struct catalog **c_out, const char *uri, unsigned flags)
{
    const char *path = uri + strlen("sqlite://");
    struct stat st;
    RETURN_ERR_IF(path[0] != '/', TP_ERR_INVALIDDATA,
                  "catalog '%s': a sqlite:// catalog needs an absolute path (sqlite:///file.db)",
                  uri);
    if (flags & CATALOG_OPEN_READONLY)
        return catalog_sqlite_open_readonly(c_out, path);
    if (!(flags & CATALOG_OPEN_CREATE) && stat(path, &st) < 0 && errno == ENOENT) {
        tp_err_set("no catalog at %s", path);
        return TP_ERR_NOTFOUND;
    }
    if (flags & CATALOG_OPEN_CREATE) { /* sqlite creates the file, not its directory */
        char dir[CONFIG_URI_MAX];
        int ret;
        snprintf(dir, sizeof(dir), "%s", path);
        *strrchr(dir, '/') = '\0';
        if (dir[0] && (ret = file_mkdirs(dir, 0700)) < 0) {
            tp_err_set("cannot create the catalog directory %s: %s", dir, strerror(-ret));
            return ret;
        }
        /* private: SQLite gives its -wal and -shm files the catalog's mode */
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EEXIST) {
            ret = TP_ERR(errno);
            tp_err_set("cannot create %s: %s", path, strerror(errno));
            return ret;
        }
        if (fd >= 0)
            close(fd);
    }
    return catalog_sqlite_open(c_out, path);
}

static const struct catalog_backend {
    const char *scheme;
    int (*open)(struct catalog **c_out, const char *uri, unsigned flags);
} backends[] = {
    { "sqlite", sqlite_open_uri },
    { "postgresql", catalog_pg_open },
    { "postgres", catalog_pg_open },
};

int catalog_open(struct catalog **c_out, const char *uri, unsigned flags)
{
    int i = config_scheme_find("catalog", uri, backends, TP_ARRAY_SIZE(backends),
                               sizeof(backends[0]));
    *c_out = NULL;
    return i < 0 ? i : backends[i].open(c_out, uri, flags);
}

int catalog_uri_supported(const char *uri)
{
    int i = config_scheme_find("catalog", uri, backends, TP_ARRAY_SIZE(backends),
                               sizeof(backends[0]));
    return i < 0 ? i : 0;
}

/* ---- dispatch ------------------------------------------------------------ */

void catalog_close(struct catalog **pc)
{
    if (!pc || !*pc)
        return;
    (*pc)->ops->close(*pc);
    *pc = NULL;
}

int catalog_begin(struct catalog *c) { return c->ops->begin(c); }
int catalog_commit(struct catalog *c) { return c->ops->commit(c); }
int catalog_rollback(struct catalog *c) { return c->ops->rollback(c); }

int catalog_blob_add(struct catalog *c, const char *hash, uint64_t bytes, const char *sc)
{
    RETURN_ERR_IF(!sha256_hex_valid(hash), TP_ERR(EINVAL), "bad blob hash");
    return c->ops->blob_add(c, hash, bytes, sc && *sc ? sc : "STANDARD");
}

int catalog_blob_get(struct catalog *c, const char *hash, struct catalog_blob *out)
{
    return c->ops->blob_get(c, hash, out);
}

int catalog_blob_count(struct catalog *c, int64_t *n_out) { return c->ops->blob_count(c, n_out); }

int catalog_blob_set_class(struct catalog *c, const char *hash, const char *storage_class)
{
    return c->ops->blob_set_class(c, hash,
                                  storage_class && *storage_class ? storage_class : "STANDARD");
}

int catalog_asset_insert(struct catalog *c, struct catalog_asset *a)
{
    RETURN_ERR_IF(!sha256_hex_valid(a->sha256) || !sha256_hex_valid(a->current_blob) ||
                      (a->original_blob[0] && !sha256_hex_valid(a->original_blob)),
                  TP_ERR(EINVAL), "asset with a malformed hash");
    if (!a->upload_time[0])
        time_format(time_now(), a->upload_time, sizeof(a->upload_time));
    if (!a->storage_class[0])
        snprintf(a->storage_class, sizeof(a->storage_class), "STANDARD");
    return c->ops->asset_insert(c, a);
}

int catalog_asset_get(struct catalog *c, int64_t id, struct catalog_asset *out)
{
    return c->ops->asset_get(c, id, out);
}

int catalog_asset_find(struct catalog *c, const char *sha256, struct catalog_asset *out)
{
    return c->ops->asset_find(c, sha256, out);
}

int catalog_asset_iterate(struct catalog *c, catalog_asset_fn fn, void *ud)
{
    return c->ops->asset_iterate(c, fn, ud);
}

int catalog_rendition_put(struct catalog *c, struct catalog_rendition *r)
{
    RETURN_ERR_IF(!sha256_hex_valid(r->blob) || !r->name[0], TP_ERR(EINVAL),
                  "rendition without a name or with a malformed blob hash");
    if (!r->created[0])
        time_format(time_now(), r->created, sizeof(r->created));
    return c->ops->rendition_put(c, r);
}

int catalog_rendition_get(struct catalog *c, int64_t asset_id, const char *name,
                          struct catalog_rendition *out)
{
    return c->ops->rendition_get(c, asset_id, name, out);
}

int catalog_rendition_iterate(struct catalog *c, int64_t asset_id, catalog_rendition_fn fn,
                              void *ud)
{
    return c->ops->rendition_iterate(c, asset_id, fn, ud);
}

int catalog_access_log(struct catalog *c, int64_t asset_id, int64_t t)
{
    return c->ops->access_log(c, asset_id, t);
}

int catalog_access_refresh(struct catalog *c, int64_t now) { return c->ops->access_refresh(c, now); }

int catalog_access_get(struct catalog *c, int64_t asset_id, struct catalog_access *out)
{
    return c->ops->access_get(c, asset_id, out);
}

int catalog_audit(struct catalog *c, int64_t asset_id, const char *action, const char *detail)
{
    return c->ops->audit(c, asset_id, action, detail);
}

static const char *const job_state_names[CATALOG_JOB_NSTATES] = {
    [CATALOG_JOB_QUEUED] = "queued", [CATALOG_JOB_RUNNING] = "running",
    [CATALOG_JOB_DONE] = "done",     [CATALOG_JOB_KEPT] = "kept",
    [CATALOG_JOB_FAILED] = "failed", [CATALOG_JOB_DEAD] = "dead",
};

const char *catalog_job_state_name(enum catalog_job_state s)
{
    return (unsigned)s < CATALOG_JOB_NSTATES ? job_state_names[s] : NULL;
}

int catalog_job_state_parse(const char *s)
{
    for (int i = 0; s && i < CATALOG_JOB_NSTATES; i++)
        if (!strcmp(s, job_state_names[i]))
            return i;
    return -1;
}

int catalog_policy_put(struct catalog *c, const char *hash, const char *path, const void *text,
                       size_t len)
{
    return c->ops->policy_put(c, hash, path, text, len);
}

int catalog_policy_get(struct catalog *c, const char *hash, struct tp_buf *text, char *path,
                       size_t path_len)
{
    return c->ops->policy_get(c, hash, text, path, path_len);
}

int catalog_job_enqueue(struct catalog *c, int64_t asset_id, const char *policy, const char *tier,
                        int max_attempts)
{
    return c->ops->job_enqueue(c, asset_id, policy, tier,
                               max_attempts > 0 ? max_attempts : CATALOG_JOB_MAX_ATTEMPTS);
}

int catalog_job_claim(struct catalog *c, const char *const *policies, int npolicies,
                      const char *owner, int64_t now, int lease_seconds, struct catalog_job *out,
                      int max)
{
    RETURN_ERR_IF(max < 1 || lease_seconds < 1 || npolicies < 0, TP_ERR_BUG,
                  "job claim: bad arguments");
    return c->ops->job_claim(c, policies, npolicies, owner, now, lease_seconds, out, max);
}

int catalog_job_renew(struct catalog *c, struct catalog_job *j, int64_t now, int lease_seconds)
{
    return c->ops->job_renew(c, j, now, lease_seconds);
}

int catalog_job_finish(struct catalog *c, const struct catalog_job *j, int64_t now,
                       enum catalog_job_state state, const char *result)
{
    RETURN_ERR_IF(state != CATALOG_JOB_DONE && state != CATALOG_JOB_KEPT, TP_ERR_BUG,
                  "job finish: state %d is not done or kept", (int)state);
    return c->ops->job_finish(c, j, now, state, result);
}

int catalog_job_fail(struct catalog *c, const struct catalog_job *j, int64_t now, int permanent,
                     const char *error, int retry_after_seconds)
{
    return c->ops->job_fail(c, j, now, permanent, error,
                            retry_after_seconds > 0 ? retry_after_seconds : 0);
}

int catalog_job_release(struct catalog *c, const struct catalog_job *j)
{
    return c->ops->job_release(c, j);
}

int catalog_job_retry(struct catalog *c, const char *policy, const int64_t *ids, int nids)
{
    return c->ops->job_retry(c, policy, ids, nids);
}

int catalog_job_list(struct catalog *c, const char *policy, int state, catalog_job_fn fn,
                     void *ud)
{
    return c->ops->job_list(c, policy, state, fn, ud);
}

int catalog_job_counts(struct catalog *c, const char *policy, struct catalog_job_counts *n)
{
    return c->ops->job_counts(c, policy, n);
}

int catalog_job_requeue_dead(struct catalog *c, const char *policy,
                             int (*is_dead)(const char *owner))
{
    return c->ops->job_requeue_dead(c, policy, is_dead);
}

int catalog_asset_swap(struct catalog *c, int64_t asset_id, const char *expected,
                       const char *new_blob, const char *tier, const char *storage_class,
                       const char *original_delete_after)
{
    RETURN_ERR_IF(!sha256_hex_valid(expected) || !sha256_hex_valid(new_blob), TP_ERR(EINVAL),
                  "swap with a malformed blob hash");
    return c->ops->asset_swap(c, asset_id, expected, new_blob, tier,
                              storage_class && *storage_class ? storage_class : "STANDARD",
                              original_delete_after);
}

int catalog_asset_set_tier(struct catalog *c, int64_t asset_id, const char *tier,
                           const char *storage_class)
{
    return c->ops->asset_set_tier(c, asset_id, tier,
                                  storage_class && *storage_class ? storage_class : "STANDARD");
}

int catalog_asset_iterate_due(struct catalog *c, const char *now_iso, catalog_asset_fn fn, void *ud)
{
    return c->ops->asset_iterate_due(c, now_iso, fn, ud);
}

int catalog_asset_release_original(struct catalog *c, int64_t asset_id, const char *original)
{
    return c->ops->asset_release_original(c, asset_id, original);
}

int catalog_blob_iterate(struct catalog *c, catalog_blob_fn fn, void *ud)
{
    return c->ops->blob_iterate(c, fn, ud);
}

int catalog_blob_remove(struct catalog *c, const char *hash)
{
    return c->ops->blob_remove(c, hash);
}

int catalog_job_active(struct catalog *c, int64_t now, int64_t *n_out)
{
    return c->ops->job_active(c, now, n_out);
}
/* ---- streaming scans and bulk loads ----------------------------------- */

int catalog_asset_id_range(struct catalog *c, int64_t *lo_out, int64_t *hi_out, int64_t *n_out)
{
    return c->ops->asset_id_range(c, lo_out, hi_out, n_out);
}

int catalog_asset_scan(struct catalog *c, int64_t id_lo, int64_t id_hi, catalog_scan_fn fn,
                       void *ud)
{
    return c->ops->asset_scan(c, id_lo, id_hi, fn, ud);
}

int catalog_asset_insert_bulk(struct catalog *c, struct catalog_asset *a,
                              const struct catalog_access *ac)
{
    RETURN_ERR_IF(!sha256_hex_valid(a->sha256) || !sha256_hex_valid(a->current_blob) ||
                      (a->original_blob[0] && !sha256_hex_valid(a->original_blob)),
                  TP_ERR(EINVAL), "asset with a malformed hash");
    RETURN_ERR_IF(!a->upload_time[0], TP_ERR(EINVAL), "bulk insert needs an upload time");
    if (!a->storage_class[0])
        snprintf(a->storage_class, sizeof(a->storage_class), "STANDARD");
    return c->ops->asset_insert_bulk(c, a, ac);
}

int catalog_blob_ref_add(struct catalog *c, const char *hash, int64_t n)
{
    RETURN_ERR_IF(!sha256_hex_valid(hash) || n < 0, TP_ERR(EINVAL), "bad blob reference");
    return c->ops->blob_ref_add(c, hash, n);
}

int catalog_bulk_mode(struct catalog *c, int on) { return c->ops->bulk_mode(c, on); }

/* ---- perceptual fingerprints ------------------------------------------ */

static int fp_valid(const struct catalog_fp *f)
{
    if (f->asset_id <= 0 || strlen(f->vhash) != 64 || strlen(f->thumb) != CATALOG_FP_THUMB_HEX)
        return 0;
    for (int i = 0; i < CATALOG_FP_THUMB_HEX; i++)
        if (!strchr("0123456789abcdef", f->thumb[i]))
            return 0;
    for (int i = 0; i < 64; i++)
        if (!strchr("0123456789abcdef", f->vhash[i]))
            return 0;
    return 1;
}

int catalog_fp_put(struct catalog *c, const struct catalog_fp *f)
{
    RETURN_ERR_IF(!fp_valid(f), TP_ERR(EINVAL), "malformed fingerprint of asset %lld",
                  (long long)f->asset_id);
    return c->ops->fp_put(c, f);
}

int catalog_fp_get(struct catalog *c, int64_t asset_id, struct catalog_fp *out)
{
    return c->ops->fp_get(c, asset_id, out);
}

int catalog_fp_near(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud)
{
    RETURN_ERR_IF(radius < 0 || radius > 2, TP_ERR(EINVAL), "chunk radius %d (0..2)", radius);
    return c->ops->fp_near(c, phash, radius, fn, ud);
}

int catalog_fp_scan(struct catalog *c, catalog_fp_fn fn, void *ud)
{
    return c->ops->fp_scan(c, fn, ud);
}

int catalog_fp_set_group(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper)
{
    return c->ops->fp_set_group(c, asset_id, group_id, keeper);
}

int catalog_fp_group(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud)
{
    RETURN_ERR_IF(group_id <= 0, TP_ERR(EINVAL), "group %lld", (long long)group_id);
    return c->ops->fp_group(c, group_id, fn, ud);
}

void catalog_fp_chunk_list(uint64_t phash, int i, int radius, char *out, size_t n)
{
    int v = catalog_fp_chunk(phash, i), len = 0;
    len += snprintf(out + len, n - (size_t)len, "%d", v);
    for (int a = 0; radius >= 1 && a < 16; a++) {
        len += snprintf(out + len, n - (size_t)len, ",%d", v ^ (1 << a));
        for (int b = a + 1; radius >= 2 && b < 16; b++)
            len += snprintf(out + len, n - (size_t)len, ",%d", v ^ (1 << a) ^ (1 << b));
    }
}
