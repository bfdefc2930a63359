/* The SQLite backend's perceptual fingerprints (catalog_fp_*): one table,
 * the 64-bit hash also as four indexed 16-bit chunks, looked up with
 * json_each() lists (multi-index hashing; catalog.h). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"

const char sqf_migration_fingerprints[] =
    "CREATE TABLE fingerprints ("
    "  asset_id INTEGER PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  phash INTEGER NOT NULL,"
    "  vhash TEXT NOT NULL,"
    "  thumb TEXT NOT NULL,"
    "  c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL,"
    "  group_id INTEGER,"
    "  keeper INTEGER NOT NULL DEFAULT 1"
    ");"
    "CREATE INDEX fingerprints_c0 ON fingerprints(c0);"
    "CREATE INDEX fingerprints_c1 ON fingerprints(c1);"
    "CREATE INDEX fingerprints_c2 ON fingerprints(c2);"
    "CREATE INDEX fingerprints_c3 ON fingerprints(c3);"
    "CREATE INDEX fingerprints_group ON fingerprints(group_id);";

#define FP_COLS "asset_id, phash, vhash, coalesce(group_id, 0), keeper, thumb"
#define FP_COLS_NO_THUMB "asset_id, phash, vhash, coalesce(group_id, 0), keeper, ''"

static int prepare(struct catalog *c, const char *sql, sqlite3_stmt **s, const char *what)
{
    int rc = sqlite3_prepare_v2(sq_db(c), sql, -1, s, NULL);
    return rc == SQLITE_OK ? 0 : sq_err(c, rc, what);
}

static void row(sqlite3_stmt *s, struct catalog_fp *f)
{
    const unsigned char *v = sqlite3_column_text(s, 2);
    memset(f, 0, sizeof(*f));
    f->asset_id = sqlite3_column_int64(s, 0);
    f->phash = (uint64_t)sqlite3_column_int64(s, 1);
    snprintf(f->vhash, sizeof(f->vhash), "%s", v ? (const char *)v : "");
    f->group_id = sqlite3_column_int64(s, 3);
    f->keeper = sqlite3_column_int(s, 4);
    v = sqlite3_column_text(s, 5);
    snprintf(f->thumb, sizeof(f->thumb), "%s", v ? (const char *)v : "");
}

/* Steps s to the end, calling fn for each row. */
static int walk(struct catalog *c, sqlite3_stmt *s, catalog_fp_fn fn, void *ud, const char *what)
{
    struct catalog_fp f;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        row(s, &f);
        if ((ret = fn(ud, &f)) != 0)
            return ret;
    }
    return rc == SQLITE_DONE ? 0 : sq_err(c, rc, what);
}

int sqf_fp_put(struct catalog *c, const struct catalog_fp *f)
{
    sqlite3_stmt *s = NULL;
    int ret, rc;
    if ((ret = prepare(c, "INSERT OR REPLACE INTO fingerprints (asset_id, phash, vhash, c0, c1, "
                          "c2, c3, group_id, keeper, thumb) "
                          "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                       &s, "prepare put fingerprint")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, f->asset_id);
    sqlite3_bind_int64(s, 2, (int64_t)f->phash);
    sqlite3_bind_text(s, 3, f->vhash, -1, SQLITE_TRANSIENT);
    for (int i = 0; i < CATALOG_FP_CHUNKS; i++)
        sqlite3_bind_int(s, 4 + i, catalog_fp_chunk(f->phash, i));
    if (f->group_id)
        sqlite3_bind_int64(s, 8, f->group_id);
    else
        sqlite3_bind_null(s, 8);
    sqlite3_bind_int(s, 9, !!f->keeper);
    sqlite3_bind_text(s, 10, f->thumb, -1, SQLITE_TRANSIENT);
    if ((rc = sqlite3_step(s)) != SQLITE_DONE)
        ret = sq_err(c, rc, rc == SQLITE_CONSTRAINT ? "put fingerprint (no such asset)"
                                                   : "put fingerprint");
    sqlite3_finalize(s);
    return ret;
}

int sqf_fp_get(struct catalog *c, int64_t asset_id, struct catalog_fp *out)
{
    sqlite3_stmt *s = NULL;
    int ret, rc;
    if ((ret = prepare(c, "SELECT " FP_COLS " FROM fingerprints WHERE asset_id = ?1", &s,
                       "prepare get fingerprint")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        row(s, out);
    } else if (rc == SQLITE_DONE) {
        tp_err_set("catalog: asset %lld has no fingerprint", (long long)asset_id);
        ret = TP_ERR_NOTFOUND;
    } else {
        ret = sq_err(c, rc, "get fingerprint");
    }
    sqlite3_finalize(s);
    return ret;
}

/* Rows a chunk within radius, without their thumbnails, kept when within
 * Hamming distance 4 * radius + 3; fn runs after the statement is done
 * (it may query the catalog). */
struct near_row {
    int64_t id, group_id;
    uint64_t phash;
    char vhash[65];
    int keeper;
};

struct near_sel {
    struct near_row *v;
    size_t n, cap;
    uint64_t phash;
    int maxd;
};

static int near_pick(void *ud, const struct catalog_fp *f)
{
    struct near_sel *s = ud;
    if (__builtin_popcountll(f->phash ^ s->phash) > s->maxd)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        struct near_row *v = realloc(s->v, cap * sizeof(*v));
        RETURN_ERR_IF(!v, TP_ERR(ENOMEM), "out of memory");
        s->v = v;
        s->cap = cap;
    }
    struct near_row *r = &s->v[s->n++];
    r->id = f->asset_id;
    r->group_id = f->group_id;
    r->phash = f->phash;
    r->keeper = f->keeper;
    memcpy(r->vhash, f->vhash, sizeof(r->vhash));
    return 0;
}

int sqf_fp_near(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud)
{
    char lists[CATALOG_FP_CHUNKS][1100];
    struct near_sel sel = { .phash = phash, .maxd = 4 * radius + 3 };
    static __thread struct catalog_fp f;
    sqlite3_stmt *s = NULL;
    int ret;
    if ((ret = prepare(c, "SELECT " FP_COLS_NO_THUMB " FROM fingerprints WHERE "
                          "c0 IN (SELECT value FROM json_each(?1)) OR "
                          "c1 IN (SELECT value FROM json_each(?2)) OR "
                          "c2 IN (SELECT value FROM json_each(?3)) OR "
                          "c3 IN (SELECT value FROM json_each(?4)) ORDER BY asset_id",
                       &s, "prepare near fingerprints")) < 0)
        return ret;
    for (int i = 0; i < CATALOG_FP_CHUNKS; i++) {
        lists[i][0] = '[';
        catalog_fp_chunk_list(phash, i, radius, lists[i] + 1, sizeof(lists[i]) - 2);
        strcat(lists[i], "]");
        sqlite3_bind_text(s, 1 + i, lists[i], -1, SQLITE_STATIC);
    }
    ret = walk(c, s, near_pick, &sel, "near fingerprints");
    sqlite3_finalize(s);
    memset(&f, 0, sizeof(f));
    for (size_t i = 0; ret == 0 && i < sel.n; i++) {
        f.asset_id = sel.v[i].id;
        f.group_id = sel.v[i].group_id;
        f.phash = sel.v[i].phash;
        f.keeper = sel.v[i].keeper;
        memcpy(f.vhash, sel.v[i].vhash, sizeof(f.vhash));
        ret = fn(ud, &f);
    }
    free(sel.v);
    return ret;
}

int sqf_fp_scan(struct catalog *c, catalog_fp_fn fn, void *ud)
{
    sqlite3_stmt *s = NULL;
    int ret;
    if ((ret = prepare(c, "SELECT " FP_COLS_NO_THUMB " FROM fingerprints ORDER BY asset_id", &s,
                       "prepare scan fingerprints")) < 0)
        return ret;
    ret = walk(c, s, fn, ud, "scan fingerprints");
    sqlite3_finalize(s);
    return ret;
}

int sqf_fp_set_group(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper)
{
    sqlite3_stmt *s = NULL;
    int ret, rc;
    if ((ret = prepare(c, "UPDATE fingerprints SET group_id = ?2, keeper = ?3 WHERE asset_id = ?1",
                       &s, "prepare set fingerprint group")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, asset_id);
    if (group_id)
        sqlite3_bind_int64(s, 2, group_id);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int(s, 3, !!keeper);
    if ((rc = sqlite3_step(s)) != SQLITE_DONE) {
        ret = sq_err(c, rc, "set fingerprint group");
    } else if (sqlite3_changes(sq_db(c)) != 1) {
        tp_err_set("catalog: asset %lld has no fingerprint", (long long)asset_id);
        ret = TP_ERR_NOTFOUND;
    }
    sqlite3_finalize(s);
    return ret;
}

int sqf_fp_group(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud)
{
    sqlite3_stmt *s = NULL;
    int ret;
    if ((ret = prepare(c, "SELECT " FP_COLS " FROM fingerprints WHERE group_id = ?1 "
                          "ORDER BY asset_id", &s, "prepare fingerprint group")) < 0)
        return ret;
    sqlite3_bind_int64(s, 1, group_id);
    ret = walk(c, s, fn, ud, "fingerprint group");
    sqlite3_finalize(s);
    return ret;
}
