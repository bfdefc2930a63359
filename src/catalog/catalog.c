/* Backend-independent part of the catalog: the backend table by URI
 * scheme, dispatch and time helpers. */
#include <errno.h>
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

int catalog_migration_wanted(int index)
{
    const char *e = getenv("TP_FAULT_MIGRATIONS");
    if (!e || !*e)
        return 1;
    for (const char *p = e; *p;) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        if (v == index)
            return 1;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
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

int catalog_asset_find_owner(struct catalog *c, const char *owner, const char *sha256,
                             struct catalog_asset *out)
{
    return c->ops->asset_find_owner(c, owner && *owner ? owner : CATALOG_DEFAULT_OWNER, sha256,
                                    out);
}

int catalog_asset_trash(struct catalog *c, int64_t id, const char *deleted_at)
{
    return c->ops->asset_trash(c, id, deleted_at);
}

int catalog_asset_delete(struct catalog *c, int64_t id)
{
    return c->ops->asset_delete(c, id);
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

int catalog_durable(struct catalog *c)
{
    return c->ops->durable ? c->ops->durable(c) : 0;
}

int catalog_components_put(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json)
{
    RETURN_ERR_IF(!c->ops->components_put, TP_ERR_UNSUPPORTED,
                  "the %s catalog stores no component inventories", c->ops->name);
    return c->ops->components_put(c, asset_id, kinds, json);
}

int catalog_components_get(struct catalog *c, int64_t asset_id, unsigned *kinds_out,
                           char **json_out)
{
    *kinds_out = 0;
    if (json_out)
        *json_out = NULL;
    return c->ops->components_get ? c->ops->components_get(c, asset_id, kinds_out, json_out) : 0;
}

int catalog_pair_put(struct catalog *c, int64_t image_id, int64_t video_id, const char *how)
{
    RETURN_ERR_IF(!c->ops->pair_put, TP_ERR_UNSUPPORTED, "the %s catalog stores no pairs",
                  c->ops->name);
    return c->ops->pair_put(c, image_id, video_id, how);
}

int catalog_pair_get(struct catalog *c, int64_t asset_id, int64_t *partner_out)
{
    *partner_out = 0;
    return c->ops->pair_get ? c->ops->pair_get(c, asset_id, partner_out) : 0;
}

int catalog_content_id_put(struct catalog *c, int64_t asset_id, const char *content_id)
{
    RETURN_ERR_IF(!content_id || !*content_id, TP_ERR(EINVAL), "an empty content identifier");
    RETURN_ERR_IF(!c->ops->content_id_put, TP_ERR_UNSUPPORTED,
                  "the %s catalog stores no content identifiers", c->ops->name);
    return c->ops->content_id_put(c, asset_id, content_id);
}

int catalog_content_id_get(struct catalog *c, int64_t asset_id, char *out, size_t n)
{
    if (n)
        out[0] = '\0';
    return c->ops->content_id_get && n ? c->ops->content_id_get(c, asset_id, out, n) : 0;
}

int catalog_content_id_match(struct catalog *c, int64_t asset_id, int64_t *other_out)
{
    *other_out = 0;
    return c->ops->content_id_match ? c->ops->content_id_match(c, asset_id, other_out) : 0;
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

int catalog_asset_relabel_batch(struct catalog *c, const struct catalog_relabel *v, int n)
{
    if (n <= 0)
        return 0;
    for (int i = 0; i < n; i++)
        RETURN_ERR_IF(!v[i].tier || !*v[i].tier || strpbrk(v[i].tier, "\"\\") ||
                      (v[i].storage_class && strpbrk(v[i].storage_class, "\"\\")),
                      TP_ERR(EINVAL), "relabel: bad tier or class for asset %lld",
                      (long long)v[i].asset_id);
    return c->ops->asset_relabel_batch(c, v, n);
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

int catalog_asset_list(struct catalog *c, const struct catalog_asset_query *q, catalog_asset_fn fn,
                       void *ud)
{
    struct catalog_asset_query q2 = *q;
    if (q2.owner && !*q2.owner)
        q2.owner = CATALOG_DEFAULT_OWNER; /* as an insert's "" */
    return c->ops->asset_list(c, &q2, fn, ud);
}

int catalog_asset_find_prefix(struct catalog *c, const char *prefix, struct catalog_asset *out)
{
    size_t n = strspn(prefix, "0123456789abcdef");
    RETURN_ERR_IF(prefix[n] || n < CATALOG_PREFIX_MIN || n > SHA256_HEX_LEN, TP_ERR(EINVAL),
                  "'%.80s' is not an asset id or a sha256 prefix (%d to 64 lower-case hex digits)",
                  prefix, CATALOG_PREFIX_MIN);
    return c->ops->asset_find_prefix(c, prefix, out);
}

int catalog_asset_resolve(struct catalog *c, const char *arg, struct catalog_asset *out)
{
    size_t digits = strspn(arg, "0123456789");
    if (digits && !arg[digits] && digits < 12) {
        long long id = strtoll(arg, NULL, 10);
        RETURN_ERR_IF(id <= 0, TP_ERR(EINVAL), "'%s' is not an asset id", arg);
        return c->ops->asset_get(c, id, out);
    }
    return catalog_asset_find_prefix(c, arg, out);
}

static int footprint_blob(void *ud, const struct catalog_blob *b)
{
    struct catalog_footprint *f = ud;
    f->blobs++;
    f->bytes += b->bytes;
    if (b->refcount <= 0) {
        f->unreferenced++;
        f->unreferenced_bytes += b->bytes;
    }
    return 0;
}

struct footprint_ctx {
    struct catalog_footprint *f;
    const char *now_iso;
};

static int footprint_original(void *ud, const struct catalog_asset *a)
{
    struct footprint_ctx *x = ud;
    struct catalog_footprint *f = x->f;
    if (!a->original_blob[0] || !strcmp(a->original_blob, a->current_blob))
        return 0;
    if (strcmp(a->original_delete_after, x->now_iso) <= 0) {
        f->due++;
        f->due_bytes += a->bytes;
    } else {
        f->held++;
        f->held_bytes += a->bytes;
        if (strcmp(a->original_delete_after, f->held_until) > 0)
            snprintf(f->held_until, sizeof(f->held_until), "%s", a->original_delete_after);
    }
    return 0;
}

int catalog_footprint(struct catalog *c, const char *now_iso, struct catalog_footprint *out)
{
    struct footprint_ctx x = { out, now_iso };
    uint64_t other;
    memset(out, 0, sizeof(*out));
    FORWARD_ERR(c->ops->blob_iterate(c, footprint_blob, out));
    /* every held original: those due by now_iso and the others */
    FORWARD_ERR(c->ops->asset_iterate_due(c, "9999-12-31T23:59:59Z", footprint_original, &x));
    other = out->unreferenced_bytes + out->due_bytes + out->held_bytes;
    out->referenced_bytes = out->bytes > other ? out->bytes - other : 0;
    return 0;
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

/* ---- table copies (tierpress migrate) ---------------------------------- */

#define P CATALOG_COL_PLAIN
#define I CATALOG_COL_INSTANT

static const struct catalog_table t_blobs = {
    "blobs", 6, { "hash", "bytes", "storage_class", "refcount", "created", "delete_after" },
    { P, P, P, P, I, I }, 0, 0, NULL,
};
static const struct catalog_table t_assets = {
    "assets", 23,
    { "id", "sha256", "kind", "format", "width", "height", "bytes", "capture_time", "upload_time",
      "camera_make", "camera_model", "has_gps", "orientation", "duration", "current_blob",
      "storage_class", "tier", "original_blob", "original_delete_after", "owner", "file_name",
      "external_id", "deleted_at" },
    { P, P, P, P, P, P, P, P, I, P, P, CATALOG_COL_FLAG, P, P, P, P, P, P, I, P, P, P, I },
    1, 0, "assets_id_seq",
};
static const struct catalog_table t_renditions = {
    "renditions", 11,
    { "id", "asset_id", "name", "blob", "format", "width", "height", "bytes", "ssim", "min_tile",
      "created" },
    { P, P, P, P, P, P, P, P, P, P, I }, 1, 0, "renditions_id_seq",
};
static const struct catalog_table t_access = {
    "access", 6, { "asset_id", "last_access", "count_30d", "count_90d", "count_365d", "total" },
    { P, I, P, P, P, P }, 1, 0, NULL,
};
static const struct catalog_table t_access_log = {
    "access_log", 2, { "asset_id", "time" }, { P, CATALOG_COL_UNIX }, 1, 1, NULL,
};
static const struct catalog_table t_audit = {
    "audit", 5, { "id", "time", "asset_id", "action", "detail" }, { P, I, P, P, P },
    1, 0, "audit_id_seq",
};
/* imported metadata, albums, import records (tierpress import) */
static const struct catalog_table t_asset_meta = {
    "asset_meta", 15,
    { "asset_id", "capture_time", "capture_source", "exif_capture_time", "sidecar_capture_time",
      "latitude", "longitude", "location_source", "description", "favourite", "archived",
      "trashed", "sidecar", "other_capture_time", "source" },
    { P, P, P, P, P, P, P, P, P, CATALOG_COL_FLAG, CATALOG_COL_FLAG, CATALOG_COL_FLAG, P, P, P },
    1, 0, NULL,
};
static const struct catalog_table t_albums = {
    "albums", 2, { "id", "title" }, { P, P }, 1, 0, "albums_id_seq",
};
static const struct catalog_table t_album_assets = {
    "album_assets", 2, { "album_id", "asset_id" }, { P, P }, 1, 1, NULL,
};
static const struct catalog_table t_imports = {
    "imports", 3, { "key", "asset_id", "time" }, { P, P, I }, 0, 0, NULL,
};

static const struct catalog_table t_components = {
    "components", 3, { "asset_id", "kinds", "inventory" }, { P, P, P }, 1, 0, NULL,
};
static const struct catalog_table t_fingerprints = {
    "fingerprints", 10,
    { "asset_id", "phash", "vhash", "thumb", "c0", "c1", "c2", "c3", "group_id", "keeper" },
    { P, P, P, P, P, P, P, P, P, CATALOG_COL_FLAG }, 1, 0, NULL,
};
static const struct catalog_table t_pairs = {
    "pairs", 3, { "image_id", "video_id", "how" }, { P, P, P }, 1, 0, NULL,
};
static const struct catalog_table t_content_ids = {
    "content_ids", 3, { "asset_id", "owner", "content_id" }, { P, P, P }, 1, 0, NULL,
};

/* the job queue: the policies its jobs name, then the jobs */
static const struct catalog_table t_policies = {
    "policies", 4, { "hash", "path", "text", "created" }, { P, P, CATALOG_COL_BYTES, I },
    0, 0, NULL,
};

/* A job the source's worker held (running) is copied released, as its
 * lease running out would leave it: queued, no owner, no lease, the
 * attempt it was using given back (that worker works on the source, not
 * here, and can never finish it in this catalog).  Every other state is
 * copied as it is: done/kept stay final, failed keeps its backoff, dead
 * its last error. */
void catalog_jobs_row_map(const char **v, char *scratch, size_t n)
{
    enum { STATE = 4, OWNER = 5, LEASE = 6, ATTEMPTS = 7 };
    if (!v[STATE] || strcmp(v[STATE], "running"))
        return;
    long long a = v[ATTEMPTS] ? strtoll(v[ATTEMPTS], NULL, 10) : 0;
    snprintf(scratch, n, "%lld", a > 0 ? a - 1 : 0);
    v[STATE] = "queued";
    v[OWNER] = NULL;
    v[LEASE] = NULL;
    v[ATTEMPTS] = scratch;
}

static const struct catalog_table t_jobs = {
    "jobs", 22,
    { "id", "asset_id", "policy", "tier", "state", "owner", "lease_until", "attempts", "result",
      "created", "finished", "max_attempts", "token", "not_before", "claimed", "last_error",
      "error_permanent", "blob", "account", "file_name", "external_id", "capture_hint" },
    { P, P, P, P, P, P, CATALOG_COL_UNIX, P, P, I, I, P, P, CATALOG_COL_UNIX, CATALOG_COL_UNIX, P,
      CATALOG_COL_FLAG, P, P, P, P, P },
    1, 0, "jobs_id_seq", catalog_jobs_row_map,
};
/* The service's Idempotency-Key answers (issue 14), so a client retrying
 * against the migrated home still gets its first answer (the asset and job
 * ids are kept).  Keyed by (account, key): copied in whole accounts, the
 * account being the key column (a page holds whole groups). */
static const struct catalog_table t_idempotency = {
    "idempotency", 8,
    { "account", "key", "sha256", "asset_id", "job_id", "status", "new_job", "created_at" },
    { P, P, P, P, P, P, CATALOG_COL_FLAG, CATALOG_COL_UNIX },
    0, 1, NULL,
};

#undef P
#undef I

const struct catalog_table *const catalog_tables[] = {
    &t_blobs, &t_assets, &t_renditions, &t_access, &t_access_log, &t_audit,
    &t_asset_meta, &t_albums, &t_album_assets, &t_imports, &t_components, &t_pairs, &t_fingerprints,
    &t_content_ids, &t_policies, &t_jobs, &t_idempotency, NULL,
};

int catalog_rows_export(struct catalog *c, const struct catalog_table *t, const char *after,
                        int limit, catalog_rows_fn fn, void *ud)
{
    RETURN_ERR_IF(!c->ops->rows_export, TP_ERR_UNSUPPORTED, "catalog %s: no table copies",
                  c->ops->name);
    return c->ops->rows_export(c, t, after ? after : "", limit, fn, ud);
}

int catalog_rows_import(struct catalog *c, const struct catalog_table *t, const char *const *v)
{
    RETURN_ERR_IF(!c->ops->rows_import, TP_ERR_UNSUPPORTED, "catalog %s: no table copies",
                  c->ops->name);
    return c->ops->rows_import(c, t, v);
}

int catalog_rows_finish(struct catalog *c)
{
    return c->ops->rows_finish ? c->ops->rows_finish(c) : 0;
}

int catalog_asset_id_mark(struct catalog *c, int64_t *next, int raise)
{
    RETURN_ERR_IF(!c->ops->asset_id_mark, TP_ERR_UNSUPPORTED, "catalog %s: no asset id mark",
                  c->ops->name);
    return c->ops->asset_id_mark(c, next, raise);
}

int catalog_migrate_state(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                          int write)
{
    RETURN_ERR_IF(!c->ops->migrate_state, TP_ERR_UNSUPPORTED, "catalog %s: no table copies",
                  c->ops->name);
    return c->ops->migrate_state(c, source, st, write);
}

int catalog_job_enqueue_batch(struct catalog *c, const int64_t *asset_ids,
                              const char *const *tiers, int n, const char *policy,
                              int max_attempts)
{
    int queued = 0, ret;
    if (n <= 0)
        return 0;
    if (max_attempts <= 0)
        max_attempts = CATALOG_JOB_MAX_ATTEMPTS;
    for (int i = 0; i < n; i++)
        RETURN_ERR_IF(strpbrk(tiers[i], "\"\\") || strlen(tiers[i]) >= 32, TP_ERR(EINVAL),
                      "bad tier name '%s'", tiers[i]);
    if (c->ops->job_enqueue_batch)
        return c->ops->job_enqueue_batch(c, asset_ids, tiers, n, policy, max_attempts);
    for (int i = 0; i < n; i++) {
        if ((ret = catalog_job_enqueue(c, asset_ids[i], policy, tiers[i], max_attempts)) < 0)
            return ret;
        queued += ret;
    }
    return queued;
}

int catalog_job_enqueue_ingest(struct catalog *c, const char *blob, const char *account,
                               const struct catalog_ingest_meta *meta, int max_attempts,
                               int64_t *job_id_out)
{
    static const struct catalog_ingest_meta none;
    int64_t id = 0;
    int ret;
    RETURN_ERR_IF(!sha256_hex_valid(blob), TP_ERR(EINVAL), "'%s' is not a sha256", blob);
    RETURN_ERR_IF(account && strlen(account) >= CATALOG_TEXT, TP_ERR(EINVAL),
                  "account '%.20s...': longer than %d bytes", account, CATALOG_TEXT - 1);
    RETURN_ERR_IF(!c->ops->job_enqueue_ingest, TP_ERR_UNSUPPORTED, "catalog %s: no ingest jobs",
                  c->ops->name);
    ret = c->ops->job_enqueue_ingest(c, blob, account && *account ? account : CATALOG_DEFAULT_OWNER,
                                     meta ? meta : &none, max_attempts > 0 ? max_attempts : CATALOG_JOB_MAX_ATTEMPTS,
                                     &id);
    if (ret >= 0 && job_id_out)
        *job_id_out = id;
    return ret;
}

int catalog_job_ingest_get(struct catalog *c, int64_t job_id, struct catalog_ingest_job *out)
{
    RETURN_ERR_IF(!c->ops->job_ingest_get, TP_ERR_UNSUPPORTED, "catalog %s: no ingest jobs",
                  c->ops->name);
    memset(out, 0, sizeof(*out));
    return c->ops->job_ingest_get(c, job_id, out);
}

int catalog_job_ingest_blobs(struct catalog *c, catalog_rows_fn fn, void *ud)
{
    RETURN_ERR_IF(!c->ops->job_ingest_blobs, TP_ERR_UNSUPPORTED, "catalog %s: no ingest jobs",
                  c->ops->name);
    return c->ops->job_ingest_blobs(c, fn, ud);
}

/* ---- the worker registry and wake-ups ---------------------------------- */

int catalog_worker_register(struct catalog *c, const struct catalog_worker *w, int64_t now)
{
    RETURN_ERR_IF(!w->id[0] || w->threads < 1 || w->lease_seconds < 1, TP_ERR(EINVAL),
                  "bad worker registration");
    return c->ops->worker_register(c, w, now);
}

int catalog_worker_heartbeat(struct catalog *c, const char *id, int64_t now)
{
    return c->ops->worker_heartbeat(c, id, now);
}

int catalog_worker_deregister(struct catalog *c, const char *id)
{
    return c->ops->worker_deregister(c, id);
}

int catalog_worker_list(struct catalog *c, int64_t now, catalog_worker_fn fn, void *ud)
{
    return c->ops->worker_list(c, now, fn, ud);
}

int catalog_worker_prune(struct catalog *c, int64_t now, int leases)
{
    RETURN_ERR_IF(leases < 1, TP_ERR(EINVAL), "worker prune: %d leases (1 or more)", leases);
    return c->ops->worker_prune(c, now, leases);
}

int catalog_job_wait(struct catalog *c, int timeout_ms)
{
    return c->ops->job_wait(c, timeout_ms < 0 ? 0 : timeout_ms);
}

void catalog_worker_jobs_parse(struct catalog_worker *w, const char *s)
{
    w->njobs = 0;
    while (s && *s) {
        long long id, asset, claimed;
        int used = 0;
        if (sscanf(s, "%lld:%lld:%lld%n", &id, &asset, &claimed, &used) != 3 || used <= 0)
            break;
        if (w->njobs < CATALOG_WORKER_JOBS) {
            w->jobs[w->njobs].id = id;
            w->jobs[w->njobs].asset_id = asset;
            w->jobs[w->njobs].claimed = claimed;
        }
        w->njobs++;
        s += used;
        if (*s == ',')
            s++;
    }
}

int catalog_meta_put(struct catalog *c, const struct catalog_meta *m)
{
    return c->ops->meta_put(c, m);
}

int catalog_meta_get(struct catalog *c, int64_t asset_id, struct catalog_meta *out)
{
    return c->ops->meta_get(c, asset_id, out);
}

int catalog_album_add(struct catalog *c, const char *title, int64_t asset_id)
{
    return c->ops->album_add(c, title, asset_id);
}

int catalog_album_iterate(struct catalog *c, catalog_album_fn fn, void *ud)
{
    return c->ops->album_iterate(c, fn, ud);
}

int catalog_import_put(struct catalog *c, const char *key, int64_t asset_id)
{
    return c->ops->import_put(c, key, asset_id);
}

int catalog_idem_put(struct catalog *c, struct catalog_idem *e, int64_t now)
{
    RETURN_ERR_IF(!c->ops->idem_put, TP_ERR_UNSUPPORTED, "the %s catalog keeps no idempotency keys",
                  c->ops->name);
    RETURN_ERR_IF(!e->key[0] || !e->sha256[0], TP_ERR(EINVAL), "idempotency key: empty");
    return c->ops->idem_put(c, e, now);
}

int catalog_idem_get(struct catalog *c, const char *account, const char *key, int64_t now,
                     struct catalog_idem *out)
{
    RETURN_ERR_IF(!c->ops->idem_get, TP_ERR_UNSUPPORTED, "the %s catalog keeps no idempotency keys",
                  c->ops->name);
    return c->ops->idem_get(c, account ? account : "", key, now, out);
}

int catalog_import_get(struct catalog *c, const char *key, int64_t *asset_id_out)
{
    return c->ops->import_get(c, key, asset_id_out);
}
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
