/* The PostgreSQL backend's perceptual fingerprints (catalog_fp_*): the
 * same table as the SQLite one, chunks looked up with = ANY(int[]) on
 * four indexes (multi-index hashing; catalog.h), scans paged by key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "catalog_pg_int.h"
#include "err.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c

const char pg_fp_migration[] =
    "CREATE TABLE fingerprints ("
    "  asset_id bigint PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  phash bigint NOT NULL,"
    "  vhash text NOT NULL,"
    "  thumb text NOT NULL,"
    "  c0 integer NOT NULL, c1 integer NOT NULL, c2 integer NOT NULL, c3 integer NOT NULL,"
    "  group_id bigint,"
    "  keeper boolean NOT NULL DEFAULT true"
    ");"
    "CREATE INDEX fingerprints_c0 ON fingerprints(c0);"
    "CREATE INDEX fingerprints_c1 ON fingerprints(c1);"
    "CREATE INDEX fingerprints_c2 ON fingerprints(c2);"
    "CREATE INDEX fingerprints_c3 ON fingerprints(c3);"
    "CREATE INDEX fingerprints_group ON fingerprints(group_id);";

#define FP_COLS "asset_id, phash, vhash, coalesce(group_id, 0), keeper::int, thumb"
#define FP_COLS_NO_THUMB "asset_id, phash, vhash, coalesce(group_id, 0), keeper::int, ''"

const char *pg_fp_sql(enum pg_stmt id)
{
    switch (id) {
    case P_FP_PUT:
        return "INSERT INTO fingerprints (asset_id, phash, vhash, c0, c1, c2, c3, group_id, "
               "keeper, thumb) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::int::boolean, $10) "
               "ON CONFLICT (asset_id) DO UPDATE SET phash = EXCLUDED.phash, "
               "vhash = EXCLUDED.vhash, c0 = EXCLUDED.c0, c1 = EXCLUDED.c1, c2 = EXCLUDED.c2, "
               "c3 = EXCLUDED.c3, group_id = EXCLUDED.group_id, keeper = EXCLUDED.keeper, "
               "thumb = EXCLUDED.thumb";
    case P_FP_GET:
        return "SELECT " FP_COLS " FROM fingerprints WHERE asset_id = $1";
    case P_FP_NEAR:
        return "SELECT " FP_COLS_NO_THUMB " FROM fingerprints WHERE c0 = ANY($1::int[]) OR "
               "c1 = ANY($2::int[]) OR c2 = ANY($3::int[]) OR c3 = ANY($4::int[]) "
               "ORDER BY asset_id";
    case P_FP_PAGE:
        return "SELECT " FP_COLS_NO_THUMB " FROM fingerprints WHERE asset_id > $1 "
               "ORDER BY asset_id "
               "LIMIT $2";
    case P_FP_SET_GROUP:
        return "UPDATE fingerprints SET group_id = $2, keeper = $3::int::boolean "
               "WHERE asset_id = $1";
    case P_FP_GROUP:
        return "SELECT " FP_COLS " FROM fingerprints WHERE group_id = $1 ORDER BY asset_id";
    default:
        return "";
    }
}

static void row(const PGresult *r, int i, struct catalog_fp *f)
{
    memset(f, 0, sizeof(*f));
    f->asset_id = pg_int(r, i, 0);
    f->phash = (uint64_t)pg_int(r, i, 1);
    pg_text(r, i, 2, f->vhash, sizeof(f->vhash));
    f->group_id = pg_int(r, i, 3);
    f->keeper = (int)pg_int(r, i, 4);
    pg_text(r, i, 5, f->thumb, sizeof(f->thumb));
}

static int walk(PGresult *r, int n, catalog_fp_fn fn, void *ud, int64_t *last)
{
    struct catalog_fp f;
    int ret = 0;
    for (int i = 0; i < n && !ret; i++) {
        row(r, i, &f);
        if (last)
            *last = f.asset_id;
        ret = fn(ud, &f);
    }
    return ret;
}

int pgf_fp_put(struct catalog *c, const struct catalog_fp *f)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_int(&p, f->asset_id);
    pgp_int(&p, (int64_t)f->phash);
    pgp_text(&p, f->vhash);
    for (int i = 0; i < CATALOG_FP_CHUNKS; i++)
        pgp_int(&p, catalog_fp_chunk(f->phash, i));
    if (f->group_id)
        pgp_int(&p, f->group_id);
    else
        pgp_text(&p, NULL);
    pgp_int(&p, !!f->keeper);
    pgp_text(&p, f->thumb);
    int n = pgc_single(cp, P_FP_PUT, &p, NULL, "put fingerprint");
    return n < 0 ? n : 0;
}

int pgf_fp_get(struct catalog *c, int64_t asset_id, struct catalog_fp *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_FP_GET, &p, &r, "get fingerprint"));
    if (n == 1)
        row(r, 0, out);
    PQclear(r);
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "catalog %s: asset %lld has no fingerprint",
                  cp->where, (long long)asset_id);
    return 0;
}

/* As the SQLite backend: rows a chunk within radius, without thumbnails,
 * kept when within Hamming distance 4 * radius + 3 (fn runs once the
 * result is read: it may query the catalog). */
int pgf_fp_near(struct catalog *c, uint64_t phash, int radius, catalog_fp_fn fn, void *ud)
{
    CP;
    char lists[CATALOG_FP_CHUNKS][1100];
    struct pg_params p = { .n = 0 };
    static __thread struct catalog_fp f;
    PGresult *r;
    int n, ret = 0;
    for (int i = 0; i < CATALOG_FP_CHUNKS; i++) {
        lists[i][0] = '{';
        catalog_fp_chunk_list(phash, i, radius, lists[i] + 1, sizeof(lists[i]) - 2);
        strcat(lists[i], "}");
        pgp_text(&p, lists[i]);
    }
    FORWARD_ERR(n = pgc_read(cp, P_FP_NEAR, &p, &r, "near fingerprints"));
    for (int i = 0; ret == 0 && i < n; i++)
        if (__builtin_popcountll((uint64_t)pg_int(r, i, 1) ^ phash) <= 4 * radius + 3) {
            row(r, i, &f);
            ret = fn(ud, &f);
        }
    PQclear(r);
    return ret;
}

int pgf_fp_scan(struct catalog *c, catalog_fp_fn fn, void *ud)
{
    CP;
    PGresult *r;
    int64_t last = 0;
    int n, ret = 0;
    do {
        struct pg_params p = { .n = 0 };
        pgp_int(&p, last);
        pgp_int(&p, PG_PAGE_ROWS);
        FORWARD_ERR(n = pgc_read(cp, P_FP_PAGE, &p, &r, "scan fingerprints"));
        ret = walk(r, n, fn, ud, &last);
        PQclear(r);
    } while (!ret && n == PG_PAGE_ROWS);
    return ret;
}

int pgf_fp_set_group(struct catalog *c, int64_t asset_id, int64_t group_id, int keeper)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, asset_id);
    if (group_id)
        pgp_int(&p, group_id);
    else
        pgp_text(&p, NULL);
    pgp_int(&p, !!keeper);
    FORWARD_ERR(n = pgc_single(cp, P_FP_SET_GROUP, &p, NULL, "set fingerprint group"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "catalog %s: asset %lld has no fingerprint",
                  cp->where, (long long)asset_id);
    return 0;
}

int pgf_fp_group(struct catalog *c, int64_t group_id, catalog_fp_fn fn, void *ud)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n, ret;
    pgp_int(&p, group_id);
    FORWARD_ERR(n = pgc_read(cp, P_FP_GROUP, &p, &r, "fingerprint group"));
    ret = walk(r, n, fn, ud, NULL);
    PQclear(r);
    return ret;
}
