/* The catalog contract: the invariants every backend keeps, specified once
 * against struct catalog and run once per backend (as checkasm runs every
 * kernel once per CPU flag set): SQLite on a temp file, PostgreSQL on a
 * fresh database of the test server ($TP_TEST_PG, started by
 * scripts/test; skipped only when it is not set).  Each invariant gets an
 * empty catalog of its own.  Only the audit-trail and schema-version peeks
 * are backend-specific (there is no catalog call to read them). */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "err.h"
#include "job_contract.h"
#include "pg_fixture.h"
#include "timeutil.h"
#include "unit.h"

struct backend {
    const char *name;
    char target[600]; /* the SQLite path or the PostgreSQL conninfo of this catalog */
    char dir[64], db[64];
    int (*open)(struct backend *be, struct catalog **c);
    int (*fresh)(struct backend *be, int n); /* a new empty catalog (target) */
    void (*drop)(struct backend *be);
    /* peeks: -1 on failure */
    int64_t (*sql_int)(struct backend *be, const char *sql);
    int (*sql_run)(struct backend *be, const char *sql);
};

/* ---- SQLite ------------------------------------------------------------- */

static int sq_open(struct backend *be, struct catalog **c) { return catalog_sqlite_open(c, be->target); }

static int sq_fresh(struct backend *be, int n)
{
    if (!be->dir[0]) {
        snprintf(be->dir, sizeof(be->dir), "/tmp/tp-contract-XXXXXX");
        if (!mkdtemp(be->dir))
            return -1;
    }
    snprintf(be->target, sizeof(be->target), "%s/catalog-%d.db", be->dir, n);
    return 0;
}

static void sq_drop(struct backend *be)
{
    char cmd[128];
    if (!be->dir[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", be->dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", be->dir);
}

static int64_t sq_sql_int(struct backend *be, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_open(be->target, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static int sq_sql_run(struct backend *be, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(be->target, &db) == SQLITE_OK ? sqlite3_exec(db, sql, NULL, NULL, NULL)
                                                        : SQLITE_ERROR;
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* ---- PostgreSQL ------------------------------------------------------------ */

/* the queue contract injects its clock (see catalog_pg_jobs.c) */
static int pg_open(struct backend *be, struct catalog **c)
{
    setenv("TP_FAULT_PG_CALLER_CLOCK", "1", 1);
    int ret = catalog_pg_open(c, be->target, 0);
    unsetenv("TP_FAULT_PG_CALLER_CLOCK");
    return ret;
}

static void pg_drop(struct backend *be)
{
    if (be->db[0])
        pg_fixture_drop(be->db);
    be->db[0] = '\0';
}

static int pg_fresh(struct backend *be, int n)
{
    pg_drop(be);
    snprintf(be->db, sizeof(be->db), "contract%d", n);
    return pg_fixture_create(be->db, be->target, sizeof(be->target));
}

static int64_t pg_sql_int(struct backend *be, const char *sql)
{
    int64_t v = -1;
    return pg_fixture_exec(be->target, sql, &v) < 0 ? -1 : v;
}

static int pg_sql_run(struct backend *be, const char *sql)
{
    return pg_fixture_exec(be->target, sql, NULL);
}

/* ---- helpers ------------------------------------------------------------- */

#define H(ch) ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch \
              ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch
static const char *const h1 = H("1"), *const h2 = H("2"), *const h3 = H("3"), *const h4 = H("4");

static void fill_asset(struct catalog_asset *a, const char *sha, const char *blob)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->sha256, sizeof(a->sha256), "%s", sha);
    snprintf(a->current_blob, sizeof(a->current_blob), "%s", blob);
    snprintf(a->original_blob, sizeof(a->original_blob), "%s", blob);
    snprintf(a->kind, sizeof(a->kind), "image");
    snprintf(a->format, sizeof(a->format), "jpeg");
    a->width = 4032;
    a->height = 3024;
    a->bytes = 2345678;
    a->orientation = 6;
    a->has_gps = 1;
    snprintf(a->capture_time, sizeof(a->capture_time), "2016-03-24T14:49:51");
    snprintf(a->upload_time, sizeof(a->upload_time), "2020-01-02T03:04:05Z");
    snprintf(a->camera_make, sizeof(a->camera_make), "Apple");
    snprintf(a->camera_model, sizeof(a->camera_model), "iPhone 6s");
}

/* A distinct 64-hex-digit hash for i. */
static void hash_of(int64_t i, char *out)
{
    snprintf(out, SHA256_HEX_LEN + 1, "%064llx", (unsigned long long)i + 0xa000);
}

static int64_t refs(struct catalog *c, const char *hash)
{
    struct catalog_blob b;
    int ret = catalog_blob_get(c, hash, &b);
    tp_err_clear();
    return ret == 0 ? b.refcount : -1;
}

static int64_t audits(struct backend *be, const char *action)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM audit WHERE action = '%s'", action);
    return be->sql_int(be, sql);
}

#define INVARIANT(name) \
    static void inv_##name(struct backend *be __attribute__((unused)), struct catalog *c, \
                           int *unit_failed_)

/* ---- the invariants ------------------------------------------------------ */

/* Blobs are recorded once; an asset needs its blobs; insert counts one
 * reference per pointer; every field round-trips; duplicates and unknown
 * ids change nothing. */
INVARIANT(assets_blobs_duplicates)
{
    struct catalog_asset a, got;
    struct catalog_blob b;
    int64_t n = -1;
    fill_asset(&a, h1, h1);
    CHECK(catalog_asset_insert(c, &a) < 0); /* blob unknown */
    tp_err_clear();
    CHECK(catalog_blob_add(c, h1, 2345678, NULL) == 0);
    CHECK(catalog_blob_add(c, h1, 2345678, NULL) == 0); /* a no-op */
    CHECK(catalog_blob_count(c, &n) == 0 && n == 1);
    CHECK(audits(be, "blob.add") == 1);
    REQUIRE(catalog_blob_get(c, h1, &b) == 0);
    CHECK(b.refcount == 0 && b.bytes == 2345678 && !strcmp(b.storage_class, "STANDARD"));
    CHECK(strlen(b.created) == 20 && b.created[19] == 'Z' && b.delete_after[0] == '\0');
    CHECK(catalog_blob_get(c, h2, &b) == TP_ERR_NOTFOUND);
    tp_err_clear();

    a.duration = 0;
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    CHECK(a.id > 0);
    CHECK(refs(c, h1) == 2); /* current + original */
    CHECK(audits(be, "asset.insert") == 1);
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(!strcmp(got.sha256, h1) && !strcmp(got.kind, "image") && !strcmp(got.format, "jpeg"));
    CHECK(got.width == 4032 && got.height == 3024 && got.bytes == 2345678);
    CHECK(got.orientation == 6 && got.has_gps == 1 && got.duration == 0);
    CHECK(!strcmp(got.capture_time, "2016-03-24T14:49:51"));
    CHECK(!strcmp(got.upload_time, "2020-01-02T03:04:05Z"));
    CHECK(!strcmp(got.camera_make, "Apple") && !strcmp(got.camera_model, "iPhone 6s"));
    CHECK(!strcmp(got.current_blob, h1) && !strcmp(got.original_blob, h1));
    CHECK(!strcmp(got.storage_class, "STANDARD") && got.tier[0] == '\0');
    CHECK(got.original_delete_after[0] == '\0');
    CHECK(catalog_asset_find(c, h1, &got) == 0 && got.id == a.id);

    /* a video without capture time, original and camera: NULLs come back as "" */
    CHECK(catalog_blob_add(c, h2, 99, "COLD") == 0);
    fill_asset(&got, h2, h2);
    got.original_blob[0] = got.capture_time[0] = got.camera_make[0] = got.camera_model[0] = '\0';
    got.has_gps = 0;
    got.duration = 12.5;
    snprintf(got.kind, sizeof(got.kind), "video");
    REQUIRE(catalog_asset_insert(c, &got) == 0);
    CHECK(got.id > a.id && refs(c, h2) == 1);
    REQUIRE(catalog_asset_get(c, got.id, &a) == 0);
    CHECK(a.duration == 12.5 && a.has_gps == 0 && !strcmp(a.kind, "video"));
    CHECK(a.original_blob[0] == '\0' && a.capture_time[0] == '\0' && a.camera_make[0] == '\0');

    /* a blob's class is recorded and can be changed (a tier move); the
     * references and the asset row stay as they were */
    REQUIRE(catalog_blob_get(c, h2, &b) == 0);
    CHECK(!strcmp(b.storage_class, "COLD"));
    CHECK(catalog_blob_set_class(c, h2, "GLACIER_IR") == 0);
    REQUIRE(catalog_blob_get(c, h2, &b) == 0);
    CHECK(!strcmp(b.storage_class, "GLACIER_IR") && b.refcount == 1 && b.bytes == 99);
    CHECK(catalog_blob_set_class(c, h2, NULL) == 0); /* NULL: STANDARD */
    CHECK(catalog_blob_get(c, h2, &b) == 0 && !strcmp(b.storage_class, "STANDARD"));
    CHECK(catalog_blob_set_class(c, h4, "GLACIER_IR") == TP_ERR_NOTFOUND);
    tp_err_clear();

    /* the same content again: refused, nothing changed */
    fill_asset(&got, h1, h1);
    CHECK(catalog_asset_insert(c, &got) == TP_ERR_DUPLICATE);
    tp_err_clear();
    CHECK(refs(c, h1) == 2 && audits(be, "asset.insert") == 2);
    CHECK(catalog_asset_get(c, 987654, &got) == TP_ERR_NOTFOUND);
    CHECK(catalog_asset_find(c, h4, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
}

static int count_rend(void *ud, const struct catalog_rendition *r)
{
    char *names = ud;
    strcat(names, r->name);
    strcat(names, ",");
    return 0;
}

/* A rendition holds one reference; replacing it moves the reference and
 * keeps the row's id; listing is in name order. */
INVARIANT(rendition_references)
{
    struct catalog_asset a;
    struct catalog_rendition r, got;
    char names[64] = "";
    REQUIRE(catalog_blob_add(c, h1, 10, NULL) == 0 && catalog_blob_add(c, h2, 20, NULL) == 0 &&
            catalog_blob_add(c, h3, 30, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    memset(&r, 0, sizeof(r));
    r.asset_id = a.id;
    snprintf(r.name, sizeof(r.name), "thumb");
    snprintf(r.blob, sizeof(r.blob), "%s", h2);
    snprintf(r.format, sizeof(r.format), "jpeg");
    r.width = 256;
    r.height = 192;
    r.bytes = 20;
    r.ssim = -1;
    r.min_tile = -1;
    REQUIRE(catalog_rendition_put(c, &r) == 0);
    CHECK(r.id > 0 && refs(c, h2) == 1);
    REQUIRE(catalog_rendition_get(c, a.id, "thumb", &got) == 0);
    CHECK(got.id == r.id && !strcmp(got.blob, h2) && got.width == 256 && got.ssim < 0 &&
          got.min_tile < 0 && !strcmp(got.created, r.created));
    /* replace: h2 loses its reference, h3 gains one, same row */
    int64_t id = r.id;
    snprintf(r.blob, sizeof(r.blob), "%s", h3);
    r.ssim = 0.9975;
    r.min_tile = 0.991;
    r.created[0] = '\0';
    REQUIRE(catalog_rendition_put(c, &r) == 0);
    CHECK(r.id == id && refs(c, h2) == 0 && refs(c, h3) == 1);
    REQUIRE(catalog_rendition_get(c, a.id, "thumb", &got) == 0);
    CHECK(!strcmp(got.blob, h3) && got.ssim > 0.9974 && got.ssim < 0.9976);
    CHECK(audits(be, "rendition.add") == 1 && audits(be, "rendition.replace") == 1);
    snprintf(r.name, sizeof(r.name), "preview");
    REQUIRE(catalog_rendition_put(c, &r) == 0);
    CHECK(refs(c, h3) == 2);
    CHECK(catalog_rendition_iterate(c, a.id, count_rend, names) == 0);
    CHECK(!strcmp(names, "preview,thumb,"));
    CHECK(catalog_rendition_get(c, a.id, "poster", &got) == TP_ERR_NOTFOUND);
    /* an unknown blob is refused and changes nothing */
    snprintf(r.blob, sizeof(r.blob), "%s", h4);
    CHECK(catalog_rendition_put(c, &r) < 0);
    tp_err_clear();
    CHECK(refs(c, h3) == 2);
}

static int count_cb(void *ud, const struct catalog_asset *a)
{
    (void)a;
    ++*(int *)ud;
    return 0;
}

static int check_blob(void *ud, const struct catalog_blob *b)
{
    int *bad = ud;
    if (b->expected_refcount != b->refcount)
        ++*bad;
    return 0;
}

/* The pointer swap is a compare-and-swap that moves one reference; the
 * replaced original is due at its grace date, released once, and a blob
 * row goes only when nothing references it. */
INVARIANT(swap_grace_release)
{
    struct catalog_asset a, got;
    int n = 0, bad = 0;
    REQUIRE(catalog_blob_add(c, h1, 100, NULL) == 0 && catalog_blob_add(c, h2, 60, "COLD") == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    /* a stale expectation loses and changes nothing */
    CHECK(catalog_asset_swap(c, a.id, h2, h2, "cold", "COLD", "") == TP_ERR_CONFLICT);
    tp_err_clear();
    CHECK(refs(c, h1) == 2 && refs(c, h2) == 0 && audits(be, "asset.swap") == 0);
    REQUIRE(catalog_asset_swap(c, a.id, h1, h2, "cold", "COLD", "2024-06-01T00:00:00Z") == 0);
    CHECK(refs(c, h1) == 1 && refs(c, h2) == 1 && audits(be, "asset.swap") == 1);
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(!strcmp(got.current_blob, h2) && !strcmp(got.original_blob, h1));
    CHECK(!strcmp(got.tier, "cold") && !strcmp(got.storage_class, "COLD"));
    CHECK(!strcmp(got.original_delete_after, "2024-06-01T00:00:00Z"));
    /* the second of two racing swaps from h1 loses */
    CHECK(catalog_asset_swap(c, a.id, h1, h2, "cold", "COLD", "") == TP_ERR_CONFLICT);
    tp_err_clear();
    /* a swap onto the same blob moves no reference */
    CHECK(catalog_asset_swap(c, a.id, h2, h2, "cold", "COLD", "2024-06-01T00:00:00Z") == 0);
    CHECK(refs(c, h2) == 1);

    CHECK(catalog_asset_iterate_due(c, "2024-05-31T23:59:59Z", count_cb, &n) == 0 && n == 0);
    CHECK(catalog_asset_iterate_due(c, "2024-06-01T00:00:00Z", count_cb, &n) == 0 && n == 1);
    CHECK(catalog_blob_remove(c, h1) == TP_ERR_CONFLICT); /* still referenced */
    tp_err_clear();
    CHECK(catalog_asset_release_original(c, a.id, h2) == TP_ERR_CONFLICT); /* not the original */
    tp_err_clear();
    REQUIRE(catalog_asset_release_original(c, a.id, h1) == 0);
    CHECK(catalog_asset_release_original(c, a.id, h1) == TP_ERR_CONFLICT); /* only once */
    tp_err_clear();
    CHECK(refs(c, h1) == 0 && audits(be, "asset.release_original") == 1);
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(got.original_blob[0] == '\0' && got.original_delete_after[0] == '\0');
    n = 0;
    CHECK(catalog_asset_iterate_due(c, "2030-01-01T00:00:00Z", count_cb, &n) == 0 && n == 0);
    CHECK(catalog_blob_iterate(c, check_blob, &bad) == 0 && bad == 0);
    CHECK(catalog_blob_remove(c, h1) == 0 && refs(c, h1) == -1 && audits(be, "blob.remove") == 1);
    CHECK(catalog_blob_remove(c, h1) == TP_ERR_CONFLICT);
    tp_err_clear();
    CHECK(catalog_asset_set_tier(c, a.id, "archive", "GLACIER") == 0);
    CHECK(catalog_asset_get(c, a.id, &got) == 0 && !strcmp(got.tier, "archive") &&
          !strcmp(got.storage_class, "GLACIER") && !strcmp(got.current_blob, h2));
    CHECK(catalog_asset_set_tier(c, 987654, "x", "STANDARD") == TP_ERR_NOTFOUND);
    tp_err_clear();
}

/* A plan's label-only moves in one batch: tiers, classes and audit rows as
 * set_tier; a blob only this asset references takes the class, a shared
 * one keeps its own; an unknown asset changes nothing at all. */
INVARIANT(relabel_batch)
{
    struct catalog_asset a, b, got;
    struct catalog_blob bl;
    REQUIRE(catalog_blob_add(c, h1, 100, NULL) == 0 && catalog_blob_add(c, h2, 60, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    fill_asset(&b, h2, h2);
    REQUIRE(catalog_asset_insert(c, &b) == 0);
    REQUIRE(catalog_blob_ref_add(c, h2, 1) == 0); /* h2 is someone else's too */
    struct catalog_relabel bad[2] = { { a.id, "cold", "GLACIER_IR" }, { 987654, "cold", "" } };
    CHECK(catalog_asset_relabel_batch(c, bad, 2) == TP_ERR_NOTFOUND);
    tp_err_clear();
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(got.tier[0] == '\0' && audits(be, "asset.tier") == 0);
    struct catalog_relabel v[2] = { { a.id, "cold", "GLACIER_IR" }, { b.id, "archive", NULL } };
    v[1].storage_class = "DEEP_ARCHIVE";
    CHECK(catalog_asset_relabel_batch(c, v, 2) == 2);
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(!strcmp(got.tier, "cold") && !strcmp(got.storage_class, "GLACIER_IR"));
    REQUIRE(catalog_asset_get(c, b.id, &got) == 0);
    CHECK(!strcmp(got.tier, "archive") && !strcmp(got.storage_class, "DEEP_ARCHIVE"));
    CHECK(catalog_blob_get(c, h1, &bl) == 0 && !strcmp(bl.storage_class, "GLACIER_IR"));
    CHECK(catalog_blob_get(c, h2, &bl) == 0 && !strcmp(bl.storage_class, "STANDARD"));
    CHECK(audits(be, "asset.tier") == 2);
    CHECK(be->sql_int(be, "SELECT count(*) FROM audit WHERE action = 'asset.tier' AND detail = "
                          "'{\"tier\":\"cold\",\"storage_class\":\"GLACIER_IR\"}'") == 1);
    CHECK(catalog_asset_relabel_batch(c, v, 0) == 0);
    struct catalog_relabel q = { a.id, "a\"b", "X" };
    CHECK(catalog_asset_relabel_batch(c, &q, 1) == TP_ERR(EINVAL));
    tp_err_clear();
}

/* Access statistics: events in (now - N days, now]; totals count every
 * event; nothing changes until a refresh. */
INVARIANT(access_windows)
{
    struct catalog_asset a;
    struct catalog_access ac;
    const int64_t now = 1700000000, day = 86400;
    char last[CATALOG_TIME];
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    const int64_t events[] = { now, now - 30 * day + 1, now - 30 * day, now - 100 * day,
                               now - 365 * day, now + day };
    for (size_t i = 0; i < TP_ARRAY_SIZE(events); i++)
        CHECK(catalog_access_log(c, a.id, events[i]) == 1);
    /* the same events again (a log imported twice) are not counted again */
    for (size_t i = 0; i < TP_ARRAY_SIZE(events); i++)
        CHECK(catalog_access_log(c, a.id, events[i]) == 0);
    CHECK(catalog_access_log(c, 987654, now) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_access_get(c, a.id, &ac) == 0 && ac.total == 0 && ac.last_access[0] == '\0');
    REQUIRE(catalog_access_refresh(c, now) == 0);
    REQUIRE(catalog_access_get(c, a.id, &ac) == 0);
    CHECK(ac.count_30d == 2 && ac.count_90d == 3 && ac.count_365d == 4 && ac.total == 6);
    time_format(now + day, last, sizeof(last));
    CHECK(!strcmp(ac.last_access, last));
    CHECK(audits(be, "access.refresh") == 1);
    /* a later refresh moves the windows */
    REQUIRE(catalog_access_refresh(c, now + 60 * day) == 0);
    REQUIRE(catalog_access_get(c, a.id, &ac) == 0);
    CHECK(ac.count_30d == 0 && ac.count_90d == 3 && ac.count_365d == 5 && ac.total == 6);
    CHECK(catalog_access_get(c, 987654, &ac) == 0 && ac.total == 0);
}

struct scan_state {
    int64_t rows, last_id, with_access, bad;
    struct catalog *c;
};

static int scan_cb(void *ud, const struct catalog_scan_row *r)
{
    struct scan_state *s = ud;
    if (r->id <= s->last_id || r->current_bytes != 777 || strcmp(r->format, "jpeg"))
        s->bad++;
    if (r->count_30d == 3 && r->count_365d == 9 && !strcmp(r->last_access, "2023-11-14T22:13:20Z"))
        s->with_access++;
    s->last_id = r->id;
    s->rows++;
    return 0;
}

static int iterate_cb(void *ud, const struct catalog_asset *a)
{
    struct scan_state *s = ud;
    struct catalog_asset again;
    /* callbacks may use the catalog during a walk */
    if (a->id <= s->last_id || catalog_asset_get(s->c, a->id, &again) != 0 || again.id != a->id)
        s->bad++;
    s->last_id = a->id;
    s->rows++;
    return s->rows == 4000 ? 42 : 0;
}

/* A bulk load inside one transaction plus the reference counts added in
 * one go equals the per-asset inserts; scans walk in id order, join the
 * access statistics and the current blob's size, and stop on request. */
INVARIANT(bulk_load_and_scans)
{
    const int N = 4500; /* more than a page of any backend's pagination */
    struct catalog_asset a;
    struct catalog_access ac;
    struct scan_state s = { .c = c };
    int64_t lo, hi, n, first = 0;
    char sha[SHA256_HEX_LEN + 1];
    int bad = 0;
    REQUIRE(catalog_begin(c) == 0);
    REQUIRE(catalog_blob_add(c, h1, 777, NULL) == 0);
    for (int i = 0; i < N; i++) {
        hash_of(i, sha);
        fill_asset(&a, sha, h1);
        memset(&ac, 0, sizeof(ac));
        ac.count_30d = 3;
        ac.count_90d = 8;
        ac.count_365d = 9;
        ac.total = 10;
        snprintf(ac.last_access, sizeof(ac.last_access), "2023-11-14T22:13:20Z");
        REQUIRE(catalog_asset_insert_bulk(c, &a, i % 2 ? NULL : &ac) == 0);
        if (!first)
            first = a.id;
    }
    REQUIRE(catalog_blob_ref_add(c, h1, 2 * (int64_t)N) == 0);
    REQUIRE(catalog_audit(c, 0, "catalog.synth", "{\"assets\":4500}") == 0);
    REQUIRE(catalog_commit(c) == 0);
    CHECK(refs(c, h1) == 2 * N);
    CHECK(catalog_blob_iterate(c, check_blob, &bad) == 0 && bad == 0);
    CHECK(audits(be, "catalog.synth") == 1 && audits(be, "asset.insert") == 0);
    REQUIRE(catalog_asset_id_range(c, &lo, &hi, &n) == 0);
    CHECK(n == N && lo == first && hi >= lo + N - 1);
    CHECK(catalog_asset_scan(c, lo, hi, scan_cb, &s) == 0);
    CHECK(s.rows == N && s.bad == 0 && s.with_access == (N + 1) / 2);
    s = (struct scan_state){ .c = c };
    CHECK(catalog_asset_scan(c, lo + 10, lo + 19, scan_cb, &s) == 0 && s.rows == 10);
    s = (struct scan_state){ .c = c };
    CHECK(catalog_asset_iterate(c, iterate_cb, &s) == 42 && s.rows == 4000 && s.bad == 0);
    /* a duplicate inside a bulk load: the whole load is refused */
    REQUIRE(catalog_begin(c) == 0);
    hash_of(N + 1, sha);
    fill_asset(&a, sha, h1);
    int r1 = catalog_asset_insert_bulk(c, &a, NULL);
    hash_of(0, sha);
    fill_asset(&a, sha, h1);
    int r2 = catalog_asset_insert_bulk(c, &a, NULL);
    int r3 = r1 == 0 && r2 == 0 ? catalog_commit(c) : -1;
    CHECK(r1 < 0 || r2 < 0 || r3 < 0);
    if (r3 < 0)
        catalog_rollback(c);
    tp_err_clear();
    CHECK(catalog_asset_id_range(c, &lo, &hi, &n) == 0 && n == N);
}

/* Inside the caller's transaction a failed operation undoes only itself;
 * a rollback undoes everything since begin. */
INVARIANT(transactions)
{
    struct catalog_asset a, b;
    int64_t n = -1;
    REQUIRE(catalog_begin(c) == 0);
    CHECK(catalog_begin(c) < 0); /* not nested */
    tp_err_clear();
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(catalog_rollback(c) == 0);
    CHECK(catalog_blob_count(c, &n) == 0 && n == 0);
    CHECK(catalog_asset_find(c, h1, &b) == TP_ERR_NOTFOUND);
    tp_err_clear();

    REQUIRE(catalog_begin(c) == 0);
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    fill_asset(&b, h1, h1);
    CHECK(catalog_asset_insert(c, &b) == TP_ERR_DUPLICATE);
    tp_err_clear();
    CHECK(catalog_asset_swap(c, a.id, h2, h1, "", "STANDARD", "") == TP_ERR_CONFLICT);
    tp_err_clear();
    REQUIRE(catalog_commit(c) == 0);
    CHECK(catalog_asset_find(c, h1, &b) == 0 && b.id == a.id && refs(c, h1) == 2);
}

/* The queue (catalog.h, "the job queue"): claims, leases and takeover,
 * fencing, backoff, attempts cap, release, retry, policy texts.  Specified
 * once in test_jobs.c with injected clocks (PostgreSQL compares them under
 * TP_FAULT_PG_CALLER_CLOCK; test_catalog_pg.c checks its own clock). */
INVARIANT(job_queue)
{
    job_contract(c, unit_failed_);
}

#define CONTRACT_POLICY "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

struct claimer {
    struct backend *be;
    int claimed[128];
    int n, err, batch;
    char owner[16];
};

static void *claim_loop(void *arg)
{
    struct claimer *cl = arg;
    struct catalog *c = NULL;
    struct catalog_job j[4];
    const char *pol[] = { CONTRACT_POLICY };
    int n;
    if (cl->be->open(cl->be, &c) < 0) {
        cl->err = 1;
        return NULL;
    }
    while ((n = catalog_job_claim(c, pol, 1, cl->owner, time_now(), 600, j, cl->batch)) > 0) {
        for (int i = 0; i < n; i++) {
            if (cl->n < 128)
                cl->claimed[cl->n++] = (int)j[i].asset_id;
            if (catalog_job_finish(c, &j[i], time_now(), CATALOG_JOB_DONE, NULL) < 0)
                cl->err = 1;
        }
    }
    if (n < 0)
        cl->err = 1;
    catalog_close(&c);
    return NULL;
}

/* Concurrent claimers on their own connections: every job exactly once. */
INVARIANT(concurrent_claims)
{
    enum { JOBS = 120, WORKERS = 4 };
    struct catalog_asset a;
    struct claimer cl[WORKERS];
    pthread_t th[WORKERS];
    char sha[SHA256_HEX_LEN + 1];
    int seen[JOBS + 1] = { 0 }, total = 0, twice = 0;
    int64_t first = 0;
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    for (int i = 0; i < JOBS; i++) {
        hash_of(i, sha);
        fill_asset(&a, sha, h1);
        REQUIRE(catalog_asset_insert(c, &a) == 0);
        if (!first)
            first = a.id;
        REQUIRE(catalog_job_enqueue(c, a.id, CONTRACT_POLICY, "cold", 0) == 1);
    }
    for (int w = 0; w < WORKERS; w++) {
        memset(&cl[w], 0, sizeof(cl[w]));
        cl[w].be = be;
        cl[w].batch = 1 + w % 4; /* single and batched claims side by side */
        snprintf(cl[w].owner, sizeof(cl[w].owner), "w%d", w);
        REQUIRE(pthread_create(&th[w], NULL, claim_loop, &cl[w]) == 0);
    }
    for (int w = 0; w < WORKERS; w++) {
        pthread_join(th[w], NULL);
        CHECK(!cl[w].err);
        for (int i = 0; i < cl[w].n; i++) {
            int k = (int)(cl[w].claimed[i] - first);
            if (k >= 0 && k < JOBS && seen[k]++)
                twice++;
            total++;
        }
    }
    CHECK(total == JOBS && twice == 0);
}

struct worker_seen {
    struct catalog_worker w[4];
    int n;
};

static int worker_cb(void *ud, const struct catalog_worker *w)
{
    struct worker_seen *ws = ud;
    if (ws->n < 4)
        ws->w[ws->n] = *w;
    ws->n++;
    return 0;
}

/* The worker registry: register, heartbeat on the queue clock (injected
 * here), the jobs a worker holds read from the queue, deregister; a job
 * becoming queued wakes a listener on PostgreSQL (a poll timeout on
 * SQLite). */
INVARIANT(worker_registry)
{
    struct catalog_worker w;
    struct catalog_asset a;
    struct catalog_job j[2];
    struct worker_seen ws = { .n = 0 };
    const char *pol[] = { CONTRACT_POLICY };
    struct catalog *c2 = NULL;
    const int64_t t0 = 1700000000;
    int pg = strcmp(be->name, "sqlite") != 0;
    memset(&w, 0, sizeof(w));
    snprintf(w.id, sizeof(w.id), "hostA:42");
    snprintf(w.host, sizeof(w.host), "hostA");
    w.pid = 42;
    w.threads = 2;
    w.lease_seconds = 60;
    REQUIRE(catalog_worker_register(c, &w, t0) == 0);
    snprintf(w.id, sizeof(w.id), "hostB:7");
    snprintf(w.host, sizeof(w.host), "hostB");
    w.pid = 7;
    REQUIRE(catalog_worker_register(c, &w, t0) == 0);
    REQUIRE(catalog_worker_register(c, &w, t0) == 0); /* again: replaced, not doubled */
    CHECK(catalog_worker_heartbeat(c, "nobody:1", t0) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* hostA claims two jobs */
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(catalog_job_enqueue(c, a.id, CONTRACT_POLICY, "cold", 0) == 1);
    REQUIRE(catalog_job_enqueue(c, a.id, CONTRACT_POLICY, "archive", 0) == 1);
    REQUIRE(catalog_job_claim(c, pol, 1, "hostA:42", t0 + 5, 60, j, 2) == 2);
    REQUIRE(catalog_worker_heartbeat(c, "hostA:42", t0 + 10) == 0);
    REQUIRE(catalog_worker_list(c, t0 + 100, worker_cb, &ws) == 0);
    REQUIRE(ws.n == 2);
    CHECK(!strcmp(ws.w[0].id, "hostA:42") && !strcmp(ws.w[0].host, "hostA") && ws.w[0].pid == 42);
    CHECK(ws.w[0].threads == 2 && ws.w[0].lease_seconds == 60);
    CHECK(ws.w[0].heartbeat_age == 90 && ws.w[1].heartbeat_age == 100);
    CHECK(!strcmp(ws.w[0].started, "2023-11-14T22:13:20Z"));
    CHECK(!strcmp(ws.w[0].heartbeat, "2023-11-14T22:13:30Z"));
    CHECK(ws.w[0].njobs == 2 && ws.w[0].jobs[0].id == j[0].id && ws.w[0].jobs[1].id == j[1].id);
    CHECK(ws.w[0].jobs[0].asset_id == a.id && ws.w[0].jobs[0].claimed == t0 + 5);
    CHECK(!strcmp(ws.w[1].id, "hostB:7") && ws.w[1].njobs == 0);
    /* a finished job is no longer held */
    REQUIRE(catalog_job_finish(c, &j[0], t0 + 20, CATALOG_JOB_DONE, NULL) == 0);
    ws.n = 0;
    REQUIRE(catalog_worker_list(c, t0 + 100, worker_cb, &ws) == 0);
    CHECK(ws.n == 2 && ws.w[0].njobs == 1 && ws.w[0].jobs[0].id == j[1].id);
    /* deregister: gone (twice is harmless) */
    REQUIRE(catalog_worker_deregister(c, "hostB:7") == 0);
    REQUIRE(catalog_worker_deregister(c, "hostB:7") == 0);
    ws.n = 0;
    REQUIRE(catalog_worker_list(c, t0 + 100, worker_cb, &ws) == 0);
    CHECK(ws.n == 1 && !strcmp(ws.w[0].id, "hostA:42"));
    /* wake-ups: a second session listens; a job that becomes queued
     * (here: released) wakes it, a claim does not */
    REQUIRE(be->open(be, &c2) == 0);
    CHECK(catalog_job_wait(c2, 10) == 2 * pg); /* the first call listens (PostgreSQL: 2) */
    CHECK(catalog_job_wait(c2, 10) == 0);
    REQUIRE(catalog_job_release(c, &j[1]) == 0);
    CHECK(catalog_job_wait(c2, pg ? 10000 : 10) == pg);
    CHECK(catalog_job_wait(c2, 10) == 0);
    REQUIRE(catalog_job_claim(c, pol, 1, "hostA:42", t0 + 30, 60, j, 1) == 1);
    CHECK(catalog_job_wait(c2, 200) == 0);
    catalog_close(&c2);
    /* prune: only workers silent for more than N of their own leases go
     * (hostA: heartbeat t0 + 10, lease 60; hostD: just registered) */
    snprintf(w.id, sizeof(w.id), "hostD:3");
    w.lease_seconds = 5;
    REQUIRE(catalog_worker_register(c, &w, t0 + 125) == 0);
    CHECK(catalog_worker_prune(c, t0 + 130, 2) == 0); /* hostA 120 s = 2 leases: kept */
    CHECK(catalog_worker_prune(c, t0 + 131, 2) == 1); /* hostA past them: removed */
    ws.n = 0;
    REQUIRE(catalog_worker_list(c, t0 + 131, worker_cb, &ws) == 0);
    CHECK(ws.n == 1 && !strcmp(ws.w[0].id, "hostD:3"));
    CHECK(catalog_worker_heartbeat(c, "hostA:42", t0 + 140) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_worker_prune(c, t0 + 136, 1) == 1); /* hostD: 11 s > 1 lease of 5 */
    CHECK(catalog_worker_prune(c, t0 + 136, 0) == TP_ERR(EINVAL));
    tp_err_clear();
}

/* Reopening keeps everything; a schema newer than the program is refused. */
INVARIANT(schema_versions)
{
    struct catalog *c2 = NULL;
    struct catalog_asset a;
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(be->open(be, &c2) == 0);
    CHECK(catalog_asset_find(c2, h1, &a) == 0);
    catalog_close(&c2);
    REQUIRE(be->sql_run(be, !strcmp(be->name, "sqlite") ? "PRAGMA user_version = 999"
                                                         : "UPDATE schema_version SET version = 999") == 0);
    CHECK(be->open(be, &c2) == TP_ERR_UNSUPPORTED);
    CHECK(strstr(tp_err_detail(), "999") != NULL);
    tp_err_clear();
    catalog_close(&c2);
}

/* the scan row's facts for the policy condition 'health' (asset_meta) */
struct scan_meta {
    int64_t id;
    int seen, has_location, time_conflict;
    double lat, lon;
    char make[16];
};

static int scan_meta_row(void *ud, const struct catalog_scan_row *r)
{
    struct scan_meta *s = ud;
    if (r->id != s->id)
        return 0;
    s->seen++;
    s->has_location = r->has_location;
    s->time_conflict = r->time_conflict;
    s->lat = r->latitude;
    s->lon = r->longitude;
    snprintf(s->make, sizeof(s->make), "%s", r->camera_make ? r->camera_make : "(null)");
    return 0;
}

static int album_row(void *ud, const char *title, int64_t asset_id)
{
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s=%lld;", title, (long long)asset_id);
    return 0;
}

/* Imported metadata round-trips and sets the asset's capture time and GPS;
 * albums hold an asset once; import records are keyed. */
INVARIANT(imported_metadata)
{
    struct catalog_asset a, got;
    struct catalog_meta m, mg;
    char rows[256] = "";
    int64_t id = -1;
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    a.capture_time[0] = '\0';
    a.has_gps = 0;
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    CHECK(catalog_meta_get(c, a.id, &mg) == TP_ERR_NOTFOUND);
    memset(&m, 0, sizeof(m));
    m.asset_id = a.id;
    snprintf(m.capture_time, sizeof(m.capture_time), "2019-07-04T12:34:56Z");
    snprintf(m.capture_source, sizeof(m.capture_source), "sidecar");
    snprintf(m.sidecar_capture_time, sizeof(m.sidecar_capture_time), "2019-07-04T12:34:56Z");
    m.has_location = 1;
    m.latitude = 48.8584;
    m.longitude = -2.2945;
    snprintf(m.location_source, sizeof(m.location_source), "sidecar");
    snprintf(m.description, sizeof(m.description), "Tour Eiffel, \"l'été\"");
    m.favourite = 1;
    m.trashed = 1;
    snprintf(m.sidecar, sizeof(m.sidecar), "Photos from 2019/IMG_1.jpg.json");
    snprintf(m.other_capture_time, sizeof(m.other_capture_time), "2020-01-01T00:00:00Z");
    snprintf(m.source, sizeof(m.source), "Photos from 2019/IMG_1.jpg");
    CHECK(catalog_meta_put(c, &m) == 0);
    CHECK(catalog_meta_put(c, &m) == 0); /* replaces */
    REQUIRE(catalog_meta_get(c, a.id, &mg) == 0);
    CHECK(!strcmp(mg.capture_time, m.capture_time) && !strcmp(mg.capture_source, "sidecar"));
    CHECK(mg.exif_capture_time[0] == '\0' && !strcmp(mg.sidecar_capture_time, m.capture_time));
    CHECK(mg.has_location && mg.latitude == 48.8584 && mg.longitude == -2.2945);
    CHECK(!strcmp(mg.description, m.description) && !strcmp(mg.sidecar, m.sidecar));
    CHECK(mg.favourite == 1 && mg.archived == 0 && mg.trashed == 1);
    CHECK(!strcmp(mg.other_capture_time, "2020-01-01T00:00:00Z"));
    CHECK(!strcmp(mg.source, "Photos from 2019/IMG_1.jpg"));
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(!strcmp(got.capture_time, "2019-07-04T12:34:56Z") && got.has_gps == 1);
    struct scan_meta sm = { .id = a.id };
    CHECK(catalog_asset_scan(c, a.id, a.id, scan_meta_row, &sm) == 0 && sm.seen == 1);
    CHECK(sm.has_location && sm.lat == 48.8584 && sm.lon == -2.2945 && sm.time_conflict == 1);
    CHECK(!strcmp(sm.make, "Apple"));
    m.asset_id = a.id + 1000;
    CHECK(catalog_meta_put(c, &m) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_album_add(c, "Trip", a.id) == 0);
    CHECK(catalog_album_add(c, "Trip", a.id) == 0);
    CHECK(catalog_album_add(c, "Best of", a.id) == 0);
    CHECK(catalog_album_iterate(c, album_row, rows) == 0);
    char want[64];
    snprintf(want, sizeof(want), "Best of=%lld;Trip=%lld;", (long long)a.id, (long long)a.id);
    CHECK(!strcmp(rows, want));
    CHECK(catalog_import_get(c, "a.jpg|10", &id) == TP_ERR_NOTFOUND);
    CHECK(catalog_import_put(c, "a.jpg|10", a.id) == 0);
    CHECK(catalog_import_put(c, "bad.json|3", 0) == 0);
    CHECK(catalog_import_get(c, "a.jpg|10", &id) == 0 && id == a.id);
    CHECK(catalog_import_get(c, "bad.json|3", &id) == 0 && id == 0);
}

/* Idempotency-Key answers (serve, issue 14): put/get round-trip; the
 * first writer wins, also from a second session (a second server), and
 * the loser sees the stored row with its other sha256; keys are per
 * account; a row is live for CATALOG_IDEM_TTL seconds, then ignored by get,
 * replaced by a put of its key, and deleted by any later put. */
static void idem_fill(struct catalog_idem *e, const char *account, const char *key,
                      const char *sha, int64_t asset_id, int64_t job_id, int status, int new_job)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->account, sizeof(e->account), "%s", account);
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->sha256, sizeof(e->sha256), "%s", sha);
    e->asset_id = asset_id;
    e->job_id = job_id;
    e->status = status;
    e->new_job = new_job;
}

INVARIANT(idempotency_keys)
{
    const int64_t t0 = 1700000000, ttl = CATALOG_IDEM_TTL;
    struct catalog_idem e, got;
    struct catalog *c2 = NULL;
    CHECK(catalog_idem_get(c, "alice", "k-1", t0, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
    idem_fill(&e, "alice", "k-1", h1, 7, 0, 201, 0);
    CHECK(catalog_idem_put(c, &e, t0) == 1);
    CHECK(!strcmp(e.sha256, h1) && e.asset_id == 7 && e.job_id == 0 && e.status == 201);
    CHECK(e.created == t0);
    REQUIRE(catalog_idem_get(c, "alice", "k-1", t0 + 10, &got) == 0);
    CHECK(!strcmp(got.account, "alice") && !strcmp(got.key, "k-1") && !strcmp(got.sha256, h1));
    CHECK(got.asset_id == 7 && got.job_id == 0 && got.status == 201 && got.new_job == 0);
    CHECK(got.created == t0);
    /* first writer wins: another session's put of the key (other bytes, an
     * async answer) keeps the stored row and reads it back */
    REQUIRE(be->open(be, &c2) == 0);
    idem_fill(&e, "alice", "k-1", h2, 0, 9, 202, 1);
    CHECK(catalog_idem_put(c2, &e, t0 + 5) == 0);
    CHECK(!strcmp(e.sha256, h1) && e.asset_id == 7 && e.job_id == 0 && e.status == 201);
    CHECK(e.new_job == 0 && e.created == t0);
    idem_fill(&e, "alice", "k-1", h1, 8, 0, 200, 0); /* same bytes, a later answer */
    CHECK(catalog_idem_put(c2, &e, t0 + 6) == 0 && e.asset_id == 7 && e.status == 201);
    catalog_close(&c2);
    /* per account: bob's k-1 is his own, alice's stays */
    CHECK(catalog_idem_get(c, "bob", "k-1", t0 + 10, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
    idem_fill(&e, "bob", "k-1", h2, 0, 9, 202, 1);
    CHECK(catalog_idem_put(c, &e, t0 + 5) == 1);
    REQUIRE(catalog_idem_get(c, "bob", "k-1", t0 + 10, &got) == 0);
    CHECK(!strcmp(got.sha256, h2) && got.asset_id == 0 && got.job_id == 9 && got.status == 202 &&
          got.new_job == 1);
    REQUIRE(catalog_idem_get(c, "alice", "k-1", t0 + 10, &got) == 0);
    CHECK(!strcmp(got.sha256, h1) && got.asset_id == 7);
    CHECK(catalog_idem_get(c, "alice", "k-2", t0 + 10, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* expiry: live until created + ttl (exclusive) */
    CHECK(catalog_idem_get(c, "alice", "k-1", t0 + ttl - 1, &got) == 0 && got.asset_id == 7);
    CHECK(catalog_idem_get(c, "alice", "k-1", t0 + ttl, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(be->sql_int(be, "SELECT count(*) FROM idempotency") == 2);
    /* an expired key is free again: a put of it stores the new answer */
    idem_fill(&e, "alice", "k-1", h3, 11, 0, 201, 0);
    CHECK(catalog_idem_put(c, &e, t0 + ttl + 1) == 1);
    CHECK(!strcmp(e.sha256, h3) && e.asset_id == 11 && e.created == t0 + ttl + 1);
    REQUIRE(catalog_idem_get(c, "alice", "k-1", t0 + ttl + 2, &got) == 0);
    CHECK(!strcmp(got.sha256, h3) && got.asset_id == 11);
    CHECK(be->sql_int(be, "SELECT count(*) FROM idempotency") == 2); /* bob's is live still */
    /* any put deletes the expired rows (bob's, made at t0 + 5) */
    idem_fill(&e, "carol", "k-9", h4, 12, 0, 201, 0);
    CHECK(catalog_idem_put(c, &e, t0 + ttl + 5) == 1);
    CHECK(be->sql_int(be, "SELECT count(*) FROM idempotency") == 2);
    CHECK(be->sql_int(be, "SELECT count(*) FROM idempotency WHERE account = 'bob'") == 0);
}

/* Owners: the same content is one asset per owner (the pair is unique),
 * sharing blobs by reference count; the default owner is "local"; the
 * trash keeps the row; delete drops every reference it held (current,
 * original, each rendition) and the row, leaving the other owner's. */
INVARIANT(owners_trash_delete)
{
    struct catalog_asset a, b, got;
    struct catalog_rendition r;
    REQUIRE(catalog_blob_add(c, h1, 10, NULL) == 0 && catalog_blob_add(c, h2, 20, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(catalog_asset_get(c, a.id, &got) == 0);
    CHECK(!strcmp(got.owner, CATALOG_DEFAULT_OWNER) && got.deleted_at[0] == '\0');
    fill_asset(&b, h1, h1);
    snprintf(b.owner, sizeof(b.owner), "bob");
    snprintf(b.file_name, sizeof(b.file_name), "IMG_0001.JPG");
    snprintf(b.external_id, sizeof(b.external_id), "ext-1");
    REQUIRE(catalog_asset_insert(c, &b) == 0);
    CHECK(b.id != a.id && refs(c, h1) == 4);
    CHECK(catalog_asset_insert(c, &b) == TP_ERR_DUPLICATE);
    tp_err_clear();
    REQUIRE(catalog_asset_find_owner(c, "bob", h1, &got) == 0);
    CHECK(got.id == b.id && !strcmp(got.file_name, "IMG_0001.JPG") && !strcmp(got.external_id, "ext-1"));
    CHECK(catalog_asset_find_owner(c, NULL, h1, &got) == 0 && got.id == a.id);
    CHECK(catalog_asset_find_owner(c, "carol", h1, &got) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_asset_find(c, h1, &got) == 0 && got.id == a.id); /* the lowest id */
    memset(&r, 0, sizeof(r));
    r.asset_id = b.id;
    snprintf(r.name, sizeof(r.name), "thumb");
    snprintf(r.blob, sizeof(r.blob), "%s", h2);
    snprintf(r.format, sizeof(r.format), "webp");
    r.bytes = 20;
    r.ssim = r.min_tile = -1;
    REQUIRE(catalog_rendition_put(c, &r) == 0);
    snprintf(r.name, sizeof(r.name), "preview"); /* an identical proxy: the same blob */
    REQUIRE(catalog_rendition_put(c, &r) == 0);
    CHECK(refs(c, h2) == 2);
    /* trash and restore keep everything */
    CHECK(catalog_asset_trash(c, b.id, "2024-05-01T12:00:00Z") == 0);
    REQUIRE(catalog_asset_get(c, b.id, &got) == 0);
    CHECK(!strcmp(got.deleted_at, "2024-05-01T12:00:00Z") && refs(c, h1) == 4);
    CHECK(catalog_asset_trash(c, b.id, "") == 0);
    REQUIRE(catalog_asset_get(c, b.id, &got) == 0);
    CHECK(got.deleted_at[0] == '\0');
    CHECK(catalog_asset_trash(c, 987654, "") == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(audits(be, "asset.trash") == 1 && audits(be, "asset.restore") == 1);
    /* delete: bob's references go, the local owner's stay */
    CHECK(catalog_asset_delete(c, b.id) == 0);
    CHECK(refs(c, h1) == 2 && refs(c, h2) == 0);
    CHECK(catalog_asset_get(c, b.id, &got) == TP_ERR_NOTFOUND);
    CHECK(catalog_rendition_get(c, b.id, "thumb", &r) == TP_ERR_NOTFOUND);
    CHECK(catalog_asset_delete(c, b.id) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_asset_get(c, a.id, &got) == 0 && audits(be, "asset.delete") == 1);
    /* an id is never given out twice: bob's was the newest, and the next
     * asset gets a new one (a client holding the old id gets a 404, never
     * another photo) */
    struct catalog_asset d;
    fill_asset(&d, h2, h2);
    snprintf(d.owner, sizeof(d.owner), "bob");
    REQUIRE(catalog_asset_insert(c, &d) == 0);
    CHECK(d.id > b.id);
    /* the mark a copy carries (migrate): the next id, past every one given;
     * raised, the next asset gets it; lowering it does nothing */
    int64_t next = 0, low;
    CHECK(catalog_asset_id_mark(c, &next, 0) == 0 && next == d.id + 1);
    next = d.id + 100;
    CHECK(catalog_asset_id_mark(c, &next, 1) == 0);
    low = d.id + 2;
    CHECK(catalog_asset_id_mark(c, &low, 1) == 0);
    next = 0;
    CHECK(catalog_asset_id_mark(c, &next, 0) == 0 && next == d.id + 100);
    struct catalog_asset e;
    fill_asset(&e, h2, h2);
    snprintf(e.owner, sizeof(e.owner), "carol");
    REQUIRE(catalog_asset_insert(c, &e) == 0);
    CHECK(e.id == d.id + 100);
}

sqlite3 *sq_db(struct catalog *c); /* catalog_sqlite_priv.h */

/* catalog_durable: the handle's commits are durable from then on (SQLite:
 * synchronous FULL on this connection, from NORMAL; PostgreSQL already is)
 * and it keeps working. */
INVARIANT(durable)
{
    struct catalog_asset a;
    sqlite3_stmt *st = NULL;
    int sync = -1;
    int is_sq = !strcmp(be->name, "sqlite");
    if (is_sq && sqlite3_prepare_v2(sq_db(c), "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        sync = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    CHECK(!is_sq || sync == 1); /* NORMAL for batch work */
    REQUIRE(catalog_durable(c) == 0);
    st = NULL;
    if (is_sq && sqlite3_prepare_v2(sq_db(c), "PRAGMA synchronous", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        sync = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    CHECK(!is_sq || sync == 2); /* FULL */
    REQUIRE(catalog_blob_add(c, h1, 10, NULL) == 0);
    fill_asset(&a, h1, h1);
    CHECK(catalog_asset_insert(c, &a) == 0 && a.id > 0);
}

struct page {
    int64_t ids[16];
    int n, stop_at;
};

static int page_row(void *ud, const struct catalog_asset *a)
{
    struct page *pg = ud;
    if (pg->n < 16)
        pg->ids[pg->n] = a->id;
    return ++pg->n == pg->stop_at ? 7 : 0;
}

/* The keyset pages of catalog_asset_list: one owner's (index walk), live
 * only or with the trash, in id order, resumed after the last id; a
 * callback's non-zero stops the walk and is returned. */
INVARIANT(asset_pages)
{
    struct catalog_asset a;
    int64_t alice[5], bob[3];
    char hash[65];
    int na = 0, nb = 0;
    for (int i = 0; i < 8; i++) {
        hash_of(100 + i, hash);
        REQUIRE(catalog_blob_add(c, hash, 1, NULL) == 0);
        fill_asset(&a, hash, hash);
        snprintf(a.owner, sizeof(a.owner), "%s", i % 3 == 1 ? "bob" : "alice");
        REQUIRE(catalog_asset_insert(c, &a) == 0);
        if (i % 3 == 1)
            bob[nb++] = a.id;
        else
            alice[na++] = a.id;
    }
    REQUIRE(na == 5 && nb == 3);
    CHECK(catalog_asset_trash(c, alice[1], "2024-05-01T12:00:00Z") == 0);
    struct catalog_asset_query q = { .owner = "alice", .live = 1, .limit = 2 };
    struct page p = { .n = 0 };
    CHECK(catalog_asset_list(c, &q, page_row, &p) == 0 && p.n == 2 && p.ids[0] == alice[0] &&
          p.ids[1] == alice[2]);
    q.after = p.ids[1];
    p.n = 0;
    CHECK(catalog_asset_list(c, &q, page_row, &p) == 0 && p.n == 2 && p.ids[0] == alice[3] &&
          p.ids[1] == alice[4]);
    q.after = p.ids[1];
    p.n = 0;
    CHECK(catalog_asset_list(c, &q, page_row, &p) == 0 && p.n == 0);
    /* with the trash; another owner; every owner; none */
    struct catalog_asset_query all = { .owner = "alice" };
    p.n = 0;
    CHECK(catalog_asset_list(c, &all, page_row, &p) == 0 && p.n == 5 && p.ids[1] == alice[1]);
    all.owner = "bob";
    p.n = 0;
    CHECK(catalog_asset_list(c, &all, page_row, &p) == 0 && p.n == 3 && p.ids[0] == bob[0] &&
          p.ids[2] == bob[2]);
    all.owner = NULL;
    p.n = 0;
    CHECK(catalog_asset_list(c, &all, page_row, &p) == 0 && p.n == 8);
    all.live = 1;
    p.n = 0;
    CHECK(catalog_asset_list(c, &all, page_row, &p) == 0 && p.n == 7);
    all.owner = "carol";
    p.n = 0;
    CHECK(catalog_asset_list(c, &all, page_row, &p) == 0 && p.n == 0);
    /* stopped by the callback, its value returned */
    q.after = 0;
    q.limit = 0;
    p.n = 0;
    p.stop_at = 3;
    CHECK(catalog_asset_list(c, &q, page_row, &p) == 7 && p.n == 3 && p.ids[2] == alice[3]);
}

/* Ingest jobs record the account their asset will belong to: one job per
 * (blob, account), the job's id either way, its state and the asset it
 * made; a catalog from before accounts gets 'local' for its ingest jobs. */
INVARIANT(ingest_jobs)
{
    struct catalog_ingest_job ij;
    struct catalog_job j;
    struct catalog *c2 = NULL;
    int64_t ja = 0, ja2 = 0, jb = 0, jl = 0, v;
    char sql[800], result[160];
    const char *const sq = "sqlite";
    REQUIRE(catalog_job_enqueue_ingest(c, h1, "alice", NULL, 0, &ja) == 1 && ja > 0);
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", NULL, 0, &ja2) == 0 && ja2 == ja);
    CHECK(catalog_job_enqueue_ingest(c, h1, "bob", NULL, 2, &jb) == 1 && jb != ja);
    CHECK(catalog_job_enqueue_ingest(c, h1, NULL, NULL, 0, &jl) == 1 && jl != ja && jl != jb);
    CHECK(catalog_job_enqueue_ingest(c, h1, "", NULL, 0, NULL) == 0); /* "" is the default owner */
    CHECK(catalog_job_enqueue_ingest(c, "xyz", "alice", NULL, 0, NULL) == TP_ERR(EINVAL));
    tp_err_clear();
    memset(sql, 'a', 100);
    sql[100] = '\0';
    CHECK(catalog_job_enqueue_ingest(c, h2, sql, NULL, 0, NULL) == TP_ERR(EINVAL));
    tp_err_clear();
    REQUIRE(catalog_job_ingest_get(c, ja, &ij) == 0);
    CHECK(!strcmp(ij.blob, h1) && !strcmp(ij.account, "alice") && ij.asset_id == 0);
    CHECK(ij.job.id == ja && ij.job.state == CATALOG_JOB_QUEUED && ij.job.attempts == 0 &&
          !strcmp(ij.job.policy, CATALOG_JOB_INGEST));
    CHECK(catalog_job_ingest_get(c, jb, &ij) == 0 && !strcmp(ij.account, "bob") &&
          ij.job.max_attempts == 2);
    CHECK(catalog_job_ingest_get(c, jl, &ij) == 0 && !strcmp(ij.account, CATALOG_DEFAULT_OWNER));
    CHECK(catalog_job_ingest_get(c, 987654, &ij) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* claimed like any job, oldest first; done: the asset it made */
    REQUIRE(catalog_job_claim(c, NULL, 0, "W", 1000, 60, &j, 1) == 1 && j.id == ja);
    CHECK(catalog_job_ingest_get(c, ja, &ij) == 0 && ij.job.state == CATALOG_JOB_RUNNING &&
          ij.job.attempts == 1 && !strcmp(ij.job.owner, "W"));
    snprintf(result, sizeof(result), "{\"asset\":42,\"blob\":\"%s\",\"duplicate\":false}", h1);
    CHECK(catalog_job_finish(c, &j, 1001, CATALOG_JOB_DONE, result) == 0);
    CHECK(catalog_job_ingest_get(c, ja, &ij) == 0 && ij.job.state == CATALOG_JOB_DONE &&
          ij.asset_id == 42 && !strcmp(ij.account, "alice"));
    REQUIRE(catalog_job_claim(c, NULL, 0, "W", 1002, 60, &j, 1) == 1 && j.id == jb);
    CHECK(catalog_job_fail(c, &j, 1003, 1, "h1: not an image", 0) == CATALOG_JOB_FAILED);
    CHECK(catalog_job_ingest_get(c, jb, &ij) == 0 && ij.job.state == CATALOG_JOB_FAILED &&
          ij.asset_id == 0 && !strcmp(ij.job.last_error, "h1: not an image"));
    /* a transcode job is not an ingest job */
    struct catalog_asset a;
    REQUIRE(catalog_blob_add(c, h2, 1, NULL) == 0);
    fill_asset(&a, h2, h2);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(catalog_job_enqueue(c, a.id, CONTRACT_POLICY, "cold", 0) == 1);
    const char *pol[] = { CONTRACT_POLICY };
    REQUIRE(catalog_job_claim(c, pol, 1, "W", 1004, 60, &j, 1) == 1 && j.asset_id == a.id);
    CHECK(catalog_job_ingest_get(c, j.id, &ij) == TP_ERR_NOTFOUND);
    tp_err_clear();

    /* the schema before accounts (SQLite 11, PostgreSQL 10; what later
     * migrations add is taken away too): its ingest jobs become the default
     * owner's */
    v = !strcmp(be->name, sq) ? 12 : 11;
    REQUIRE(be->sql_int(be, !strcmp(be->name, sq) ? "PRAGMA user_version"
                                                   : "SELECT version FROM schema_version") > v);
    snprintf(sql, sizeof(sql),
             "%s"
             "DROP TABLE idempotency;"
             "DROP TABLE content_ids;"
             "DROP INDEX assets_owner_id;"
             "DELETE FROM jobs WHERE blob IS NOT NULL;"
             "DROP INDEX jobs_ingest_blob;"
             "ALTER TABLE jobs DROP COLUMN account;"
             "ALTER TABLE jobs DROP COLUMN file_name;"
             "ALTER TABLE jobs DROP COLUMN external_id;"
             "ALTER TABLE jobs DROP COLUMN capture_hint;"
             "CREATE UNIQUE INDEX jobs_ingest_blob ON jobs(blob) WHERE blob IS NOT NULL;"
             "INSERT INTO jobs (policy, tier, blob, created) VALUES ('ingest', 'ingest', '%s', "
             "'2024-01-01T00:00:00Z');"
             "%s %lld",
             !strcmp(be->name, sq) ? "DROP TRIGGER assets_id_high; DROP TABLE asset_id_high;" : "",
             h3, !strcmp(be->name, sq) ? "PRAGMA user_version =" : "UPDATE schema_version SET version =",
             (long long)v - 1);
    REQUIRE(be->sql_run(be, sql) == 0);
    REQUIRE(be->open(be, &c2) == 0);
    REQUIRE(catalog_job_enqueue_ingest(c2, h3, "carol", NULL, 0, &jb) == 1);
    REQUIRE(catalog_job_enqueue_ingest(c2, h3, NULL, NULL, 0, &jl) == 0);
    CHECK(catalog_job_ingest_get(c2, jl, &ij) == 0 && !strcmp(ij.account, CATALOG_DEFAULT_OWNER) &&
          !strcmp(ij.blob, h3) && jl != jb);
    catalog_close(&c2);
}

/* An ingest job keeps what the client said of the upload (file name,
 * external id, capture-time hint): the first upload's, a repeat's ignored.
 * A done job is queued again (with the new upload's) once its account no
 * longer has the content live, in the trash or deleted; not while the
 * asset is live, and a queued, running or failed job is never. */
INVARIANT(ingest_job_requeue)
{
    struct catalog_ingest_meta m1 = { "IMG_0001.HEIC", "ext-1", "2020-01-02T03:04:05" };
    struct catalog_ingest_meta m2 = { "again.heic", "ext-2", "" };
    struct catalog_ingest_job ij;
    struct catalog_asset a;
    struct catalog_job j;
    int64_t ja = 0, jb = 0, id = 0;
    char result[160];
    REQUIRE(catalog_job_enqueue_ingest(c, h1, "alice", &m1, 0, &ja) == 1);
    REQUIRE(catalog_job_ingest_get(c, ja, &ij) == 0);
    CHECK(!strcmp(ij.meta.file_name, "IMG_0001.HEIC") && !strcmp(ij.meta.external_id, "ext-1") &&
          !strcmp(ij.meta.capture_hint, "2020-01-02T03:04:05"));
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", &m2, 0, &id) == 0 && id == ja);
    CHECK(catalog_job_ingest_get(c, ja, &ij) == 0 && !strcmp(ij.meta.file_name, "IMG_0001.HEIC") &&
          !strcmp(ij.meta.external_id, "ext-1"));
    REQUIRE(catalog_job_enqueue_ingest(c, h2, "bob", NULL, 0, &jb) == 1);
    CHECK(catalog_job_ingest_get(c, jb, &ij) == 0 && !ij.meta.file_name[0] &&
          !ij.meta.external_id[0] && !ij.meta.capture_hint[0]);

    /* failed: not queued again by an upload (`jobs retry` does that) */
    REQUIRE(catalog_job_claim(c, NULL, 0, "W", 999, 60, &j, 1) == 1 && j.id == ja);
    REQUIRE(catalog_job_claim(c, NULL, 0, "W", 999, 60, &j, 1) == 1 && j.id == jb);
    CHECK(catalog_job_fail(c, &j, 1000, 1, "h2: not an image", 0) == CATALOG_JOB_FAILED);
    CHECK(catalog_job_enqueue_ingest(c, h2, "bob", &m1, 0, &id) == 0 && id == jb);
    CHECK(catalog_job_ingest_get(c, jb, &ij) == 0 && ij.job.state == CATALOG_JOB_FAILED &&
          !ij.meta.file_name[0]);
    /* running: a repeat is the same job, not queued again */
    REQUIRE(catalog_job_ingest_get(c, ja, &ij) == 0 && ij.job.state == CATALOG_JOB_RUNNING);
    j = ij.job;
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", &m2, 0, &id) == 0 && id == ja);
    /* done, its asset live: the same job, done */
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    snprintf(a.owner, sizeof(a.owner), "alice");
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    snprintf(result, sizeof(result), "{\"asset\":%lld,\"blob\":\"%s\",\"duplicate\":false}",
             (long long)a.id, h1);
    REQUIRE(catalog_job_finish(c, &j, 1001, CATALOG_JOB_DONE, result) == 0);
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", &m2, 0, &id) == 0 && id == ja);
    CHECK(catalog_job_ingest_get(c, ja, &ij) == 0 && ij.job.state == CATALOG_JOB_DONE &&
          ij.asset_id == a.id);
    /* another owner's live copy of the bytes does not count for alice */
    CHECK(catalog_job_enqueue_ingest(c, h1, "carol", NULL, 0, &id) == 1 && id != ja);
    /* in the trash: queued again with the new upload's meta (its worker
     * restores the asset, as a synchronous upload does) */
    REQUIRE(catalog_asset_trash(c, a.id, "2024-05-01T00:00:00Z") == 0);
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", &m2, 3, &id) == 1 && id == ja);
    REQUIRE(catalog_job_ingest_get(c, ja, &ij) == 0);
    CHECK(ij.job.state == CATALOG_JOB_QUEUED && ij.job.attempts == 0 && ij.job.max_attempts == 3 &&
          ij.asset_id == 0 && !ij.job.owner[0] && !ij.job.finished[0] && !ij.job.last_error[0]);
    CHECK(!strcmp(ij.meta.file_name, "again.heic") && !strcmp(ij.meta.external_id, "ext-2") &&
          !ij.meta.capture_hint[0] && !strcmp(ij.account, "alice"));
    /* queued again: a repeat is the same job, not re-queued */
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", &m1, 0, &id) == 0 && id == ja);
    CHECK(catalog_job_ingest_get(c, ja, &ij) == 0 && !strcmp(ij.meta.file_name, "again.heic"));
    /* claimed and done again, the asset restored: not queued */
    REQUIRE(catalog_job_claim(c, NULL, 0, "W2", 1002, 60, &j, 1) == 1 && j.id == ja &&
            j.attempts == 1);
    REQUIRE(catalog_asset_trash(c, a.id, "") == 0);
    REQUIRE(catalog_job_finish(c, &j, 1003, CATALOG_JOB_DONE, result) == 0);
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", NULL, 0, &id) == 0 && id == ja);
    /* deleted (gc): queued again */
    REQUIRE(catalog_asset_delete(c, a.id) == 0);
    CHECK(catalog_job_enqueue_ingest(c, h1, "alice", NULL, 0, &id) == 1 && id == ja);
    CHECK(catalog_job_ingest_get(c, ja, &ij) == 0 && ij.job.state == CATALOG_JOB_QUEUED &&
          !ij.meta.file_name[0]);
}

/* An asset's component inventory round-trips and is replaced by put; an
 * asset without one reads as unknown (0). */
INVARIANT(components)
{
    struct catalog_asset a;
    unsigned kinds = 99;
    char *json = NULL;
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    CHECK(catalog_components_get(c, a.id, &kinds, &json) == 0 && kinds == 0 && !json);
    CHECK(catalog_components_put(c, a.id, 1u << 6 | 1u << 8, "[{\"kind\":\"motion\"}]") == 0);
    CHECK(catalog_components_get(c, a.id, &kinds, &json) == 1 && kinds == (1u << 6 | 1u << 8));
    CHECK(json && !strcmp(json, "[{\"kind\":\"motion\"}]"));
    free(json);
    json = NULL;
    CHECK(catalog_components_put(c, a.id, 1, "[]") == 0);
    CHECK(catalog_components_get(c, a.id, &kinds, NULL) == 1 && kinds == 1);

    /* a Live Photo: still and video linked once, seen from both sides */
    struct catalog_asset v;
    int64_t partner = -1;
    REQUIRE(catalog_blob_add(c, h2, 1, NULL) == 0);
    fill_asset(&v, h2, h2);
    REQUIRE(catalog_asset_insert(c, &v) == 0);
    CHECK(catalog_pair_get(c, a.id, &partner) == 0 && partner == 0);
    CHECK(catalog_pair_put(c, a.id, v.id, "name+time") == 0);
    CHECK(catalog_pair_get(c, a.id, &partner) == 1 && partner == v.id);
    CHECK(catalog_pair_get(c, v.id, &partner) == 1 && partner == a.id);
    CHECK(catalog_pair_put(c, v.id, 12345, "name+time") == TP_ERR_DUPLICATE);

    /* deleting an asset takes its inventory and its pair with it: nothing
     * left for a later asset given the same id (SQLite reuses the largest) */
    CHECK(catalog_asset_delete(c, v.id) == 0);
    CHECK(catalog_pair_get(c, a.id, &partner) == 0);
    CHECK(catalog_asset_delete(c, a.id) == 0);
    CHECK(catalog_components_get(c, a.id, &kinds, NULL) == 0 && kinds == 0);
}

/* Live Photo content identifiers (issue 13): stored per asset with its
 * owner, read back, and matched only with the same owner's asset of the
 * other kind that is not in the trash and in no pair, first by id; a row
 * for no asset is refused; deleting the asset deletes its row. */
static int64_t cid_asset(struct catalog *c, int i, const char *kind, const char *owner)
{
    struct catalog_asset a;
    char h[SHA256_HEX_LEN + 1];
    hash_of(300 + i, h);
    fill_asset(&a, h, h);
    snprintf(a.kind, sizeof(a.kind), "%s", kind);
    snprintf(a.owner, sizeof(a.owner), "%s", owner);
    return catalog_blob_add(c, h, 10, NULL) == 0 && catalog_asset_insert(c, &a) == 0 ? a.id : 0;
}

INVARIANT(content_ids)
{
    const char *cid = "5E1D2C3B-0A09-4807-9605-A4B3C2D1E0F1", *cid2 = "6F2E3D4C-1B0A-4918-A716";
    char got[64];
    int64_t other = -1;
    int64_t still = cid_asset(c, 0, "image", "alice");
    int64_t bob_clip = cid_asset(c, 1, "video", "bob");
    int64_t clip_a = cid_asset(c, 2, "video", "alice");
    int64_t clip_b = cid_asset(c, 3, "video", "alice");
    int64_t still2 = cid_asset(c, 4, "image", "alice");
    REQUIRE(still && bob_clip && clip_a && clip_b && still2);

    CHECK(catalog_content_id_get(c, still, got, sizeof(got)) == 0 && !got[0]);
    CHECK(catalog_content_id_match(c, still, &other) == 0 && other == 0);
    CHECK(catalog_content_id_put(c, still, cid) == 0);
    CHECK(catalog_content_id_get(c, still, got, sizeof(got)) == 1 && !strcmp(got, cid));
    /* another owner's clip with the same identifier is never the match */
    CHECK(catalog_content_id_put(c, bob_clip, cid) == 0);
    CHECK(catalog_content_id_match(c, still, &other) == 0 && other == 0);
    CHECK(catalog_content_id_match(c, bob_clip, &other) == 0);
    /* the same owner's clips: the first by id; a clip in the trash is not one */
    CHECK(catalog_content_id_put(c, clip_b, cid) == 0);
    CHECK(catalog_content_id_put(c, clip_a, "placeholder") == 0);
    CHECK(catalog_content_id_put(c, clip_a, cid) == 0); /* put replaces */
    CHECK(catalog_content_id_get(c, clip_a, got, sizeof(got)) == 1 && !strcmp(got, cid));
    CHECK(catalog_content_id_match(c, still, &other) == 1 && other == clip_a);
    CHECK(catalog_content_id_match(c, clip_b, &other) == 1 && other == still);
    CHECK(catalog_asset_trash(c, clip_a, "2024-01-01T00:00:00Z") == 0);
    CHECK(catalog_content_id_match(c, still, &other) == 1 && other == clip_b);
    /* an asset in a pair is taken; two of the same kind never match */
    CHECK(catalog_pair_put(c, still, clip_b, "content_id") == 0);
    CHECK(catalog_content_id_put(c, still2, cid) == 0);
    CHECK(catalog_content_id_match(c, still2, &other) == 0 && other == 0);
    CHECK(catalog_asset_trash(c, clip_a, "") == 0);
    CHECK(catalog_content_id_match(c, still2, &other) == 1 && other == clip_a);
    CHECK(catalog_content_id_put(c, still2, cid2) == 0);
    CHECK(catalog_content_id_match(c, still2, &other) == 0);
    /* refused: no such asset, an empty identifier */
    CHECK(catalog_content_id_put(c, 987654, cid) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(catalog_content_id_put(c, still, "") == TP_ERR(EINVAL));
    tp_err_clear();
    /* deleting the asset deletes its identifier (no row left for an asset
     * given the same id later) */
    CHECK(catalog_asset_delete(c, clip_a) == 0);
    CHECK(catalog_content_id_get(c, clip_a, got, sizeof(got)) == 0);
    CHECK(be->sql_int(be, "SELECT count(*) FROM content_ids") == 4);
}

/* Perceptual fingerprints (issue 18): put/get round trip (the 64-bit hash
 * keeps its sign bit), the chunk index finds rows a chunk within the
 * radius and no others, groups and keepers, scans without thumbnails, a
 * row for no asset is refused, and the asset scan reports non-keepers. */
static int fp_count(void *ud, const struct catalog_fp *f)
{
    (void)f;
    (*(int *)ud)++;
    return 0;
}

/* counts near rows; a row with a thumbnail (the contract says none) or
 * without its verification hash counts 1000 */
static int fp_count_near(void *ud, const struct catalog_fp *f)
{
    (*(int *)ud) += f->thumb[0] || strlen(f->vhash) != 64 ? 1000 : 1;
    return 0;
}

static int fp_scan_row(void *ud, const struct catalog_fp *f)
{
    int *st = ud;
    st[0]++;
    st[1] += f->thumb[0] != '\0';
    return 0;
}

static int scan_nd(void *ud, const struct catalog_scan_row *r)
{
    int64_t *st = ud;
    if (r->near_duplicate)
        st[0] = st[0] * 1000 + r->id;
    return 0;
}

static void fp_fill(struct catalog_fp *f, int64_t id, uint64_t ph)
{
    memset(f, 0, sizeof(*f));
    f->asset_id = id;
    f->phash = ph;
    f->keeper = 1;
    for (int i = 0; i < 64; i++)
        f->vhash[i] = "0123456789abcdef"[(i * 7 + (int)id) & 15];
    for (int i = 0; i < CATALOG_FP_THUMB_HEX; i++)
        f->thumb[i] = "0123456789abcdef"[(i + (int)id) & 15];
}

static void inv_fingerprints(struct backend *be, struct catalog *c, int *unit_failed_)
{
    static struct catalog_fp f, g;
    struct catalog_asset a[3];
    char h[3][SHA256_HEX_LEN + 1];
    const uint64_t base = 0x8123456789abcdefull; /* sign bit set: stored as a negative int64 */
    int n = 0, st[2] = { 0, 0 };
    (void)be;
    for (int i = 0; i < 3; i++) {
        hash_of(100 + i, h[i]);
        REQUIRE(catalog_blob_add(c, h[i], 10, NULL) == 0);
        fill_asset(&a[i], h[i], h[i]);
        REQUIRE(catalog_asset_insert(c, &a[i]) == 0);
    }
    CHECK(catalog_fp_get(c, a[0].id, &g) == TP_ERR_NOTFOUND);
    tp_err_clear();
    fp_fill(&f, a[0].id, base);
    CHECK(catalog_fp_put(c, &f) == 0);
    CHECK(catalog_fp_get(c, a[0].id, &g) == 0 && g.phash == base && !strcmp(g.vhash, f.vhash) &&
          !strcmp(g.thumb, f.thumb) && g.group_id == 0 && g.keeper == 1);
    /* one bit off in chunks 0-2 (and two in chunk 3): found at radius 1, not 0 */
    fp_fill(&f, a[1].id, base ^ 0x8001000100010000ull ^ 1ull);
    CHECK(catalog_fp_put(c, &f) == 0);
    /* two bits off in every chunk: found by none at radius 1 */
    fp_fill(&f, a[2].id, base ^ 0x0003000300030003ull);
    CHECK(catalog_fp_put(c, &f) == 0);
    CHECK(catalog_fp_near(c, base, 0, fp_count_near, &n) == 0 && n == 1);
    n = 0;
    CHECK(catalog_fp_near(c, base, 1, fp_count_near, &n) == 0 && n == 2);
    n = 0;
    CHECK(catalog_fp_near(c, base, 2, fp_count_near, &n) == 0 && n == 3);
    CHECK(catalog_fp_near(c, base, 3, fp_count_near, &n) == TP_ERR(EINVAL));
    tp_err_clear();
    /* a group of two; the first is the keeper */
    CHECK(catalog_fp_set_group(c, a[0].id, a[0].id, 1) == 0);
    CHECK(catalog_fp_set_group(c, a[1].id, a[0].id, 0) == 0);
    CHECK(catalog_fp_set_group(c, 987654, a[0].id, 0) == TP_ERR_NOTFOUND);
    tp_err_clear();
    n = 0;
    CHECK(catalog_fp_group(c, a[0].id, fp_count, &n) == 0 && n == 2);
    CHECK(catalog_fp_get(c, a[1].id, &g) == 0 && g.group_id == a[0].id && g.keeper == 0);
    CHECK(catalog_fp_scan(c, fp_scan_row, st) == 0 && st[0] == 3 && st[1] == 0);
    int64_t nd[1] = { 0 };
    CHECK(catalog_asset_scan(c, 0, INT64_MAX, scan_nd, nd) == 0 && nd[0] == a[1].id);
    /* replace keeps one row; a fingerprint of no asset is refused */
    fp_fill(&f, a[1].id, base);
    CHECK(catalog_fp_put(c, &f) == 0);
    CHECK(catalog_fp_get(c, a[1].id, &g) == 0 && g.phash == base && g.group_id == 0);
    fp_fill(&f, 987654, base);
    CHECK(catalog_fp_put(c, &f) < 0);
    tp_err_clear();
    f.thumb[3] = 'x';
    f.asset_id = a[0].id;
    CHECK(catalog_fp_put(c, &f) == TP_ERR(EINVAL));
    tp_err_clear();
}

/* Orphan rows (issue 13): deleting an asset deletes its fingerprint (the
 * foreign key's cascade, on SQLite too), and the cleanup migration (SQLite
 * 14 -> 15, PostgreSQL 13 -> 14) deletes the components and pairs rows
 * deletions before eee6a2d left behind: of missing assets, an inventory of
 * a video, a pair of the wrong kinds or of two owners; valid rows stay. */
INVARIANT(orphan_cleanup)
{
    static struct catalog_fp f;
    struct catalog *c2 = NULL;
    struct catalog_fp g;
    int is_sq = !strcmp(be->name, "sqlite");
    int64_t still = cid_asset(c, 10, "image", "alice"), clip = cid_asset(c, 11, "video", "alice");
    int64_t still_b = cid_asset(c, 12, "image", "alice"), clip_bob = cid_asset(c, 13, "video", "bob");
    int64_t still_c = cid_asset(c, 14, "image", "alice"), clip_x = cid_asset(c, 15, "video", "alice");
    int64_t still_x = cid_asset(c, 16, "image", "alice"), gone = cid_asset(c, 17, "image", "alice");
    char sql[1024];
    REQUIRE(still && clip && still_b && clip_bob && still_c && clip_x && still_x && gone);

    fp_fill(&f, gone, 0x1234);
    REQUIRE(catalog_fp_put(c, &f) == 0);
    CHECK(catalog_asset_delete(c, gone) == 0);
    CHECK(catalog_fp_get(c, gone, &g) == TP_ERR_NOTFOUND);
    tp_err_clear();
    CHECK(be->sql_int(be, "SELECT count(*) FROM fingerprints") == 0);

    REQUIRE(catalog_components_put(c, still, 1, "[]") == 0);
    REQUIRE(catalog_pair_put(c, still, clip, "content_id") == 0);
    /* what old deletions left: rows of missing ids (900001..), a video's
     * inventory, pairs with a missing half, of the wrong kinds, across
     * owners (and on SQLite a fingerprint of no asset, written without
     * the foreign key as the sqlite3 shell does) */
    snprintf(sql, sizeof(sql),
             "INSERT INTO components (asset_id, kinds, inventory) VALUES (900001, 1, '[]'), "
             "(%lld, 1, '[]');"
             "INSERT INTO pairs (image_id, video_id, how) VALUES (900002, 900003, 'name'), "
             "(%lld, 900004, 'name'), (%lld, %lld, 'name'), (%lld, %lld, 'name');"
             "%s",
             (long long)clip, (long long)still_c, (long long)clip_x, (long long)still_x,
             (long long)still_b, (long long)clip_bob,
             is_sq ? "INSERT INTO fingerprints (asset_id, phash, vhash, thumb, c0, c1, c2, c3) "
                     "VALUES (900005, 1, 'x', 'x', 0, 0, 0, 0);" : "");
    REQUIRE(be->sql_run(be, sql) == 0);
    CHECK(be->sql_int(be, "SELECT count(*) FROM components") == 3);
    CHECK(be->sql_int(be, "SELECT count(*) FROM pairs") == 5);

    /* the catalog as it was before the cleanup: only that migration runs */
    int v = is_sq ? 14 : 13;
    REQUIRE(be->sql_int(be, is_sq ? "PRAGMA user_version" : "SELECT version FROM schema_version") > v);
    snprintf(sql, sizeof(sql), "%s %d", is_sq ? "PRAGMA user_version =" : "UPDATE schema_version SET version =", v);
    REQUIRE(be->sql_run(be, sql) == 0);
    snprintf(sql, sizeof(sql), "%d", v);
    setenv("TP_FAULT_MIGRATIONS", sql, 1);
    int opened = be->open(be, &c2);
    unsetenv("TP_FAULT_MIGRATIONS");
    REQUIRE(opened == 0);
    int64_t partner = 0;
    unsigned kinds = 0;
    CHECK(be->sql_int(be, "SELECT count(*) FROM components") == 1);
    CHECK(catalog_components_get(c2, still, &kinds, NULL) == 1 && kinds == 1);
    CHECK(be->sql_int(be, "SELECT count(*) FROM pairs") == 1);
    CHECK(catalog_pair_get(c2, still, &partner) == 1 && partner == clip);
    CHECK(catalog_pair_get(c2, still_b, &partner) == 0 && catalog_pair_get(c2, clip_x, &partner) == 0);
    CHECK(be->sql_int(be, "SELECT count(*) FROM fingerprints") == 0);
    catalog_close(&c2);
}

static const struct {
    const char *name;
    void (*fn)(struct backend *be, struct catalog *c, int *unit_failed_);
} invariants[] = {
    { "assets_blobs_duplicates", inv_assets_blobs_duplicates },
    { "rendition_references", inv_rendition_references },
    { "swap_grace_release", inv_swap_grace_release },
    { "relabel_batch", inv_relabel_batch },
    { "access_windows", inv_access_windows },
    { "bulk_load_and_scans", inv_bulk_load_and_scans },
    { "transactions", inv_transactions },
    { "job_queue", inv_job_queue },
    { "concurrent_claims", inv_concurrent_claims },
    { "schema_versions", inv_schema_versions },
    { "durable", inv_durable },
    { "worker_registry", inv_worker_registry },
    { "imported_metadata", inv_imported_metadata },
    { "owners_trash_delete", inv_owners_trash_delete },
    { "ingest_jobs", inv_ingest_jobs },
    { "ingest_job_requeue", inv_ingest_job_requeue },
    { "asset_pages", inv_asset_pages },
    { "components", inv_components },
    { "content_ids", inv_content_ids },
    { "fingerprints", inv_fingerprints },
    { "orphan_cleanup", inv_orphan_cleanup },
    { "idempotency_keys", inv_idempotency_keys },
};

static void run_contract(struct backend *be, int *unit_failed_)
{
    for (size_t i = 0; i < TP_ARRAY_SIZE(invariants); i++) {
        struct catalog *c = NULL;
        int before = *unit_failed_;
        *unit_failed_ = 0;
        if (be->fresh(be, (int)i) < 0 || be->open(be, &c) < 0) {
            printf("#   %s: cannot open a fresh catalog: %s\n", be->name, tp_err_detail());
            *unit_failed_ = 1;
        } else {
            invariants[i].fn(be, c, unit_failed_);
        }
        catalog_close(&c);
        printf("#   contract %s/%s: %s\n", be->name, invariants[i].name,
               *unit_failed_ ? "FAILED" : "ok");
        *unit_failed_ |= before;
        tp_err_clear();
    }
    be->drop(be);
}

TEST(catalog_contract_sqlite)
{
    struct backend be = { .name = "sqlite", .open = sq_open, .fresh = sq_fresh, .drop = sq_drop,
                          .sql_int = sq_sql_int, .sql_run = sq_sql_run };
    run_contract(&be, unit_failed_);
}

TEST(catalog_contract_postgresql)
{
    struct backend be = { .name = "postgresql", .open = pg_open, .fresh = pg_fresh,
                          .drop = pg_drop, .sql_int = pg_sql_int, .sql_run = pg_sql_run };
    if (!pg_fixture_base()) {
        unit_skip("TP_TEST_PG is not set (scripts/test starts a server)");
        return;
    }
    run_contract(&be, unit_failed_);
}

/* PostgreSQL's own clock: leases and backoff are on the database's clock,
 * whatever `now` the callers pass (here absurd ones).  The takeover sleeps
 * past a one-second lease: a real clock must pass, never a race. */
TEST(catalog_pg_queue_database_clock)
{
    struct backend be = { .name = "postgresql", .fresh = pg_fresh, .drop = pg_drop };
    const char *pol[] = { CONTRACT_POLICY };
    struct catalog *c = NULL;
    struct catalog_asset a;
    struct catalog_job j1, j2, j3;
    if (!pg_fixture_base()) {
        unit_skip("TP_TEST_PG is not set (scripts/test starts a server)");
        return;
    }
    REQUIRE(be.fresh(&be, 99) == 0);
    REQUIRE(catalog_pg_open(&c, be.target, 0) == 0);
    REQUIRE(catalog_blob_add(c, h1, 1, NULL) == 0);
    fill_asset(&a, h1, h1);
    REQUIRE(catalog_asset_insert(c, &a) == 0);
    REQUIRE(catalog_job_enqueue(c, a.id, CONTRACT_POLICY, "cold", 0) == 1);
    REQUIRE(catalog_job_enqueue(c, a.id, CONTRACT_POLICY, "archive", 0) == 1);
    int64_t t0 = time_now();
    REQUIRE(catalog_job_claim(c, pol, 1, "A", 1, 3600, &j1, 1) == 1);
    CHECK(j1.lease_until >= t0 + 3590 && j1.lease_until <= time_now() + 3610);
    CHECK(j1.claimed >= t0 - 10 && j1.claimed <= time_now() + 10);
    /* a caller whose clock is far ahead cannot take a leased job */
    REQUIRE(catalog_job_claim(c, pol, 1, "B", 9999999999, 1, &j2, 1) == 1);
    CHECK(j2.id != j1.id);
    CHECK(catalog_job_claim(c, pol, 1, "C", 9999999999, 60, &j3, 1) == 0);
    CHECK(catalog_job_renew(c, &j1, 1, 7200) == 0 && j1.lease_until >= t0 + 7190);
    /* B's one-second lease ends on the database's clock: C takes over, B is fenced */
    sleep(2);
    REQUIRE(catalog_job_claim(c, pol, 1, "C", 1, 60, &j3, 1) == 1);
    CHECK(j3.id == j2.id && j3.token == j2.token + 1 && !strcmp(j3.owner, "C"));
    CHECK(catalog_job_finish(c, &j2, 9999999999, CATALOG_JOB_DONE, NULL) == TP_ERR_CONFLICT);
    tp_err_clear();
    /* backoff on the database's clock too */
    CHECK(catalog_job_fail(c, &j3, 1, 0, "EIO", 3600) == CATALOG_JOB_QUEUED);
    CHECK(catalog_job_claim(c, pol, 1, "D", 9999999999, 60, &j3, 1) == 0);
    CHECK(catalog_job_finish(c, &j1, 1, CATALOG_JOB_DONE, "{}") == 0);
    catalog_close(&c);
    be.drop(&be);
}
