/* The PostgreSQL backend's imported metadata, albums and import records
 * (catalog_meta_put, catalog_album_add, catalog_import_put, ...). */
#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>

#include "catalog.h"
#include "catalog_pg_int.h"
#include "err.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c

const char pg_import_migration[] =
    "CREATE TABLE asset_meta ("
    "  asset_id bigint PRIMARY KEY REFERENCES assets(id) ON DELETE CASCADE,"
    "  capture_time text, capture_source text,"
    "  exif_capture_time text, sidecar_capture_time text,"
    "  latitude double precision, longitude double precision, location_source text,"
    "  description text,"
    "  favourite boolean NOT NULL DEFAULT false,"
    "  archived boolean NOT NULL DEFAULT false,"
    "  trashed boolean NOT NULL DEFAULT false,"
    "  sidecar text,"
    "  other_capture_time text,"
    "  source text"
    ");"
    "CREATE TABLE albums ("
    "  id bigserial PRIMARY KEY,"
    "  title text NOT NULL UNIQUE"
    ");"
    "CREATE TABLE album_assets ("
    "  album_id bigint NOT NULL REFERENCES albums(id) ON DELETE CASCADE,"
    "  asset_id bigint NOT NULL REFERENCES assets(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (album_id, asset_id)"
    ");"
    "CREATE TABLE imports ("
    "  key text PRIMARY KEY,"
    "  asset_id bigint,"
    "  time timestamptz NOT NULL DEFAULT now()"
    ");";

const char *pg_import_sql(enum pg_stmt id)
{
    switch (id) {
    case P_META_ASSET:
        return "UPDATE assets SET capture_time = coalesce($2, capture_time), "
               "has_gps = has_gps OR $3::boolean WHERE id = $1";
    case P_META_PUT:
        return "INSERT INTO asset_meta (asset_id, capture_time, capture_source, "
               "exif_capture_time, sidecar_capture_time, latitude, longitude, location_source, "
               "description, favourite, archived, trashed, sidecar, other_capture_time, source) VALUES "
               "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::int::boolean, $11::int::boolean, "
               "$12::int::boolean, $13, $14, $15) "
               "ON CONFLICT (asset_id) DO UPDATE SET capture_time = EXCLUDED.capture_time, "
               "capture_source = EXCLUDED.capture_source, "
               "exif_capture_time = EXCLUDED.exif_capture_time, "
               "sidecar_capture_time = EXCLUDED.sidecar_capture_time, "
               "latitude = EXCLUDED.latitude, longitude = EXCLUDED.longitude, "
               "location_source = EXCLUDED.location_source, description = EXCLUDED.description, "
               "favourite = EXCLUDED.favourite, archived = EXCLUDED.archived, "
               "trashed = EXCLUDED.trashed, sidecar = EXCLUDED.sidecar, "
               "other_capture_time = EXCLUDED.other_capture_time, source = EXCLUDED.source";
    case P_META_GET:
        return "SELECT coalesce(capture_time, ''), coalesce(capture_source, ''), "
               "coalesce(exif_capture_time, ''), coalesce(sidecar_capture_time, ''), "
               "latitude, longitude, coalesce(location_source, ''), coalesce(description, ''), "
               "favourite::int, archived::int, trashed::int, coalesce(sidecar, ''), "
               "(latitude IS NOT NULL)::int, coalesce(other_capture_time, ''), "
               "coalesce(source, '') FROM asset_meta WHERE asset_id = $1";
    case P_ALBUM_ADD:
        return "WITH a AS (INSERT INTO albums (title) VALUES ($1) "
               "ON CONFLICT (title) DO UPDATE SET title = EXCLUDED.title RETURNING id) "
               "INSERT INTO album_assets (album_id, asset_id) SELECT id, $2 FROM a "
               "ON CONFLICT DO NOTHING";
    case P_ALBUM_ALL:
        return "SELECT a.title, m.asset_id FROM albums a JOIN album_assets m "
               "ON m.album_id = a.id ORDER BY a.title COLLATE \"C\", m.asset_id";
    case P_IMPORT_PUT:
        return "INSERT INTO imports (key, asset_id) VALUES ($1, $2) "
               "ON CONFLICT (key) DO UPDATE SET asset_id = EXCLUDED.asset_id, time = now()";
    case P_IMPORT_GET:
        return "SELECT coalesce(asset_id, 0) FROM imports WHERE key = $1";
    /* the caller's clock (unix s), as the SQLite backend: a key's 24 h
     * are counted the same on both */
    case P_IDEM_EXPIRE:
        return "DELETE FROM idempotency WHERE created_at <= to_timestamp($1)";
    case P_IDEM_PUT:
        return "INSERT INTO idempotency (account, key, sha256, asset_id, job_id, status, "
               "new_job, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7::int::boolean, "
               "to_timestamp($8)) ON CONFLICT (account, key) DO NOTHING";
    case P_IDEM_GET:
        return "SELECT sha256, coalesce(asset_id, 0), coalesce(job_id, 0), status, new_job::int, "
               "extract(epoch FROM created_at)::bigint FROM idempotency "
               "WHERE account = $1 AND key = $2 AND created_at > to_timestamp($3)";
    default:
        return NULL;
    }
}

static int meta_put_body(struct catalog_pg *cp, const struct catalog_meta *m)
{
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, m->asset_id);
    pgp_text(&p, m->capture_time);
    pgp_text(&p, m->has_location ? "true" : "false");
    FORWARD_ERR(n = pgc_exec(cp, P_META_ASSET, &p, NULL, "import metadata"));
    RETURN_ERR_IF(n != 1, TP_ERR_NOTFOUND, "catalog %s: no asset %lld", cp->where,
                  (long long)m->asset_id);
    p.n = 0;
    pgp_int(&p, m->asset_id);
    pgp_text(&p, m->capture_time);
    pgp_text(&p, m->capture_source);
    pgp_text(&p, m->exif_capture_time);
    pgp_text(&p, m->sidecar_capture_time);
    pgp_real(&p, m->latitude, !m->has_location);
    pgp_real(&p, m->longitude, !m->has_location);
    pgp_text(&p, m->location_source);
    pgp_text(&p, m->description);
    pgp_int(&p, !!m->favourite);
    pgp_int(&p, !!m->archived);
    pgp_int(&p, !!m->trashed);
    pgp_text(&p, m->sidecar);
    pgp_text(&p, m->other_capture_time);
    pgp_text(&p, m->source);
    FORWARD_ERR(pgc_exec(cp, P_META_PUT, &p, NULL, "import metadata"));
    return 0;
}

int pg_meta_put(struct catalog *c, const struct catalog_meta *m)
{
    CP;
    return PG_ATOMIC(cp, meta_put_body(cp, m));
}

int pg_meta_get(struct catalog *c, int64_t asset_id, struct catalog_meta *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    memset(out, 0, sizeof(*out));
    pgp_int(&p, asset_id);
    FORWARD_ERR(n = pgc_read(cp, P_META_GET, &p, &r, "get imported metadata"));
    if (n != 1) {
        PQclear(r);
        tp_err_set("catalog %s: nothing imported for asset %lld", cp->where, (long long)asset_id);
        return TP_ERR_NOTFOUND;
    }
    out->asset_id = asset_id;
    pg_text(r, 0, 0, out->capture_time, sizeof(out->capture_time));
    pg_text(r, 0, 1, out->capture_source, sizeof(out->capture_source));
    pg_text(r, 0, 2, out->exif_capture_time, sizeof(out->exif_capture_time));
    pg_text(r, 0, 3, out->sidecar_capture_time, sizeof(out->sidecar_capture_time));
    out->latitude = pg_real(r, 0, 4, 0);
    out->longitude = pg_real(r, 0, 5, 0);
    pg_text(r, 0, 6, out->location_source, sizeof(out->location_source));
    pg_text(r, 0, 7, out->description, sizeof(out->description));
    out->favourite = (int)pg_int(r, 0, 8);
    out->archived = (int)pg_int(r, 0, 9);
    out->trashed = (int)pg_int(r, 0, 10);
    pg_text(r, 0, 11, out->sidecar, sizeof(out->sidecar));
    out->has_location = (int)pg_int(r, 0, 12);
    pg_text(r, 0, 13, out->other_capture_time, sizeof(out->other_capture_time));
    pg_text(r, 0, 14, out->source, sizeof(out->source));
    PQclear(r);
    return 0;
}

int pg_album_add(struct catalog *c, const char *title, int64_t asset_id)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, title);
    pgp_int(&p, asset_id);
    int ret = pgc_single(cp, P_ALBUM_ADD, &p, NULL, "add to album");
    return ret < 0 ? ret : 0;
}

int pg_album_iterate(struct catalog *c, catalog_album_fn fn, void *ud)
{
    CP;
    PGresult *r;
    int n, ret = 0;
    FORWARD_ERR(n = pgc_read(cp, P_ALBUM_ALL, NULL, &r, "list albums"));
    for (int i = 0; i < n && !ret; i++)
        ret = fn(ud, pg_str(r, i, 0), pg_int(r, i, 1));
    PQclear(r);
    return ret;
}

int pg_import_put(struct catalog *c, const char *key, int64_t asset_id)
{
    CP;
    struct pg_params p = { .n = 0 };
    pgp_text(&p, key);
    if (asset_id > 0)
        pgp_int(&p, asset_id);
    else
        pgp_text(&p, NULL);
    int ret = pgc_single(cp, P_IMPORT_PUT, &p, NULL, "record import");
    return ret < 0 ? ret : 0;
}

int pg_import_get(struct catalog *c, const char *key, int64_t *asset_id_out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_text(&p, key);
    FORWARD_ERR(n = pgc_read(cp, P_IMPORT_GET, &p, &r, "look up import"));
    if (n == 1)
        *asset_id_out = pg_int(r, 0, 0);
    PQclear(r);
    return n == 1 ? 0 : TP_ERR_NOTFOUND;
}

/* ---- Idempotency-Key answers (catalog.h, catalog_idem_put) ---- */

const char pg_idem_migration[] =
    "CREATE TABLE idempotency ("
    "  account text NOT NULL,"
    "  key text NOT NULL,"
    "  sha256 text NOT NULL,"
    "  asset_id bigint,"
    "  job_id bigint,"
    "  status integer NOT NULL,"
    "  new_job boolean NOT NULL DEFAULT false,"
    "  created_at timestamptz NOT NULL,"
    "  PRIMARY KEY (account, key)"
    ");"
    "CREATE INDEX idempotency_created ON idempotency(created_at);";

int pg_idem_get(struct catalog *c, const char *account, const char *key, int64_t now,
                struct catalog_idem *out)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    pgp_text(&p, account);
    pgp_text(&p, key);
    pgp_int(&p, now - CATALOG_IDEM_TTL);
    FORWARD_ERR(n = pgc_read(cp, P_IDEM_GET, &p, &r, "look up idempotency key"));
    if (n == 1) {
        memset(out, 0, sizeof(*out));
        snprintf(out->account, sizeof(out->account), "%s", account);
        snprintf(out->key, sizeof(out->key), "%s", key);
        pg_text(r, 0, 0, out->sha256, sizeof(out->sha256));
        out->asset_id = pg_int(r, 0, 1);
        out->job_id = pg_int(r, 0, 2);
        out->status = (int)pg_int(r, 0, 3);
        out->new_job = (int)pg_int(r, 0, 4);
        out->created = pg_int(r, 0, 5);
    }
    PQclear(r);
    return n == 1 ? 0 : TP_ERR_NOTFOUND;
}

/* Three statements, each atomic on its own: the expired rows go (this
 * key's too, so it is free again), the insert keeps a live row that is
 * there (ON CONFLICT waits for a racing server's insert to commit and then
 * does nothing), and what is stored is read back by a later statement, so
 * with a snapshot that sees the winner's row. */
int pg_idem_put(struct catalog *c, struct catalog_idem *e, int64_t now)
{
    CP;
    struct pg_params p = { .n = 0 };
    int n;
    pgp_int(&p, now - CATALOG_IDEM_TTL);
    FORWARD_ERR(pgc_single(cp, P_IDEM_EXPIRE, &p, NULL, "expire idempotency keys"));
    p.n = 0;
    pgp_text(&p, e->account);
    pgp_text(&p, e->key);
    pgp_text(&p, e->sha256);
    if (e->asset_id > 0)
        pgp_int(&p, e->asset_id);
    else
        pgp_text(&p, NULL);
    if (e->job_id > 0)
        pgp_int(&p, e->job_id);
    else
        pgp_text(&p, NULL);
    pgp_int(&p, e->status);
    pgp_int(&p, e->new_job ? 1 : 0);
    pgp_int(&p, now);
    FORWARD_ERR(n = pgc_single(cp, P_IDEM_PUT, &p, NULL, "record idempotency key"));
    FORWARD_ERR(pg_idem_get(c, e->account, e->key, now, e));
    return n == 1;
}
