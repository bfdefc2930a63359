/* The PostgreSQL catalog's table copies (tierpress migrate): rows in the
 * canonical text form of catalog.h (instants as ISO 8601 UTC, flags 0/1,
 * access_log's time as unix seconds), the sequences set past imported ids,
 * and the state of a copy into this catalog. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_pg_int.h"
#include "err.h"

#define CP struct catalog_pg *cp = (struct catalog_pg *)c
#define SQL_MAX 2048
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* Appends column i of t as the canonical text form. */
static size_t select_col(char *sql, size_t len, size_t n, const struct catalog_table *t, int i)
{
    const char *col = t->cols[i], *sep = i ? ", " : "";
    switch (t->kinds[i]) {
    case CATALOG_COL_INSTANT:
        return len + (size_t)snprintf(sql + len, n - len, "%s" ISO("%s"), sep, col);
    case CATALOG_COL_FLAG:
        return len + (size_t)snprintf(sql + len, n - len, "%s%s::int", sep, col);
    case CATALOG_COL_UNIX:
        return len + (size_t)snprintf(sql + len, n - len, "%sextract(epoch FROM %s)::bigint", sep,
                                      col);
    case CATALOG_COL_BYTES:
        return len + (size_t)snprintf(sql + len, n - len, "%sencode(%s, 'hex')", sep, col);
    default: return len + (size_t)snprintf(sql + len, n - len, "%s%s", sep, col);
    }
}

const char pg_migration_ingest_jobs[] =
    "ALTER TABLE jobs ALTER COLUMN asset_id DROP NOT NULL, ADD COLUMN blob text;"
    "CREATE UNIQUE INDEX jobs_ingest_blob ON jobs(blob) WHERE blob IS NOT NULL;";

int pg_rows_export(struct catalog *c, const struct catalog_table *t, const char *after, int limit,
                   catalog_rows_fn fn, void *ud)
{
    CP;
    char sql[SQL_MAX] = "SELECT ", key[96];
    const char *v[CATALOG_TABLE_COLS];
    struct pg_params p = { .n = 0 };
    PGresult *r;
    size_t len = strlen(sql);
    int n, ret = 0;
    const char *k = t->cols[0], *cast = t->key_int ? "::bigint" : "";
    for (int i = 0; i < t->ncols && len < sizeof(sql); i++)
        len = select_col(sql, len, sizeof(sql), t, i);
    if (len >= sizeof(sql))
        return TP_ERR_BUG;
    if (t->key_groups)
        snprintf(sql + len, sizeof(sql) - len,
                 " FROM %s WHERE %s > $1%s AND %s <= (SELECT max(g.k) FROM (SELECT DISTINCT %s "
                 "AS k FROM %s WHERE %s > $1%s ORDER BY 1 LIMIT $2) g) ORDER BY %s",
                 t->name, k, cast, k, k, t->name, k, cast, k);
    else
        snprintf(sql + len, sizeof(sql) - len, " FROM %s WHERE %s > $1%s ORDER BY %s LIMIT $2",
                 t->name, k, cast, k);
    snprintf(key, sizeof(key), "%s", *after || !t->key_int ? after : "-9223372036854775808");
    p.v[p.n++] = key;
    pgp_int(&p, limit);
    FORWARD_ERR(n = pgc_exec_params(cp, sql, &p, &r, t->name));
    for (int row = 0; row < n && !ret; row++) {
        for (int i = 0; i < t->ncols; i++)
            v[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
        ret = fn(ud, v);
    }
    PQclear(r);
    return ret ? ret : n;
}

int pg_rows_import(struct catalog *c, const struct catalog_table *t, const char *const *v)
{
    CP;
    char sql[SQL_MAX], what[64];
    struct pg_params p = { .n = 0 };
    size_t len;
    RETURN_ERR_IF(t->ncols > PG_MAX_PARAMS, TP_ERR_BUG, "table %s: too many columns", t->name);
    len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (", t->name);
    for (int i = 0; i < t->ncols && len < sizeof(sql); i++)
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s%s", i ? ", " : "", t->cols[i]);
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, ") VALUES (");
    for (int i = 0; i < t->ncols && len < sizeof(sql); i++) {
        const char *sep = i ? ", " : "";
        if (t->kinds[i] == CATALOG_COL_UNIX)
            len += (size_t)snprintf(sql + len, sizeof(sql) - len,
                                    "%sto_timestamp($%d::double precision)", sep, i + 1);
        else if (t->kinds[i] == CATALOG_COL_BYTES)
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%sdecode($%d, 'hex')", sep,
                                    i + 1);
        else
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s$%d", sep, i + 1);
        p.v[p.n++] = v[i];
    }
    if (len < sizeof(sql))
        snprintf(sql + len, sizeof(sql) - len, ")%s",
                 t->key_groups ? "" : " ON CONFLICT DO NOTHING");
    snprintf(what, sizeof(what), "import into %s", t->name);
    int n = pgc_exec_params(cp, sql, &p, NULL, what);
    return n < 0 ? n : n > 0;
}

int pg_rows_finish(struct catalog *c)
{
    CP;
    char sql[512];
    for (int i = 0; catalog_tables[i]; i++) {
        const struct catalog_table *t = catalog_tables[i];
        if (!t->seq)
            continue;
        snprintf(sql, sizeof(sql),
                 "SELECT setval('%s', coalesce((SELECT max(%s) FROM %s), 0) + 1, false)", t->seq,
                 t->cols[0], t->name);
        FORWARD_ERR(pgc_exec_params(cp, sql, NULL, NULL, "set the id sequences"));
    }
    return 0;
}

int pg_migrate_state(struct catalog *c, const char *source, struct catalog_migrate_state *st,
                     int write)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    FORWARD_ERR(pgc_exec_params(cp,
                                "CREATE TABLE IF NOT EXISTS migrate_state (source text PRIMARY KEY, "
                                "step integer NOT NULL, after text NOT NULL, rows bigint NOT NULL, "
                                "blobs bigint NOT NULL, bytes bigint NOT NULL, done integer NOT NULL)",
                                NULL, NULL, "migrate state"));
    p.v[p.n++] = source;
    if (write) {
        pgp_int(&p, st->step);
        p.v[p.n++] = st->after;
        pgp_int(&p, st->rows);
        pgp_int(&p, st->blobs);
        pgp_int(&p, st->bytes);
        pgp_int(&p, st->done);
        n = pgc_exec_params(cp,
                            "INSERT INTO migrate_state (source, step, after, rows, blobs, bytes, "
                            "done) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (source) DO "
                            "UPDATE SET step = $2, after = $3, rows = $4, blobs = $5, bytes = $6, "
                            "done = $7",
                            &p, NULL, "migrate state");
        return n < 0 ? n : 0;
    }
    FORWARD_ERR(n = pgc_exec_params(cp,
                                    "SELECT step, after, rows, blobs, bytes, done FROM migrate_state "
                                    "WHERE source = $1",
                                    &p, &r, "migrate state"));
    if (n == 0) {
        PQclear(r);
        return TP_ERR_NOTFOUND;
    }
    memset(st, 0, sizeof(*st));
    st->step = (int)pg_int(r, 0, 0);
    pg_text(r, 0, 1, st->after, sizeof(st->after));
    st->rows = pg_int(r, 0, 2);
    st->blobs = pg_int(r, 0, 3);
    st->bytes = pg_int(r, 0, 4);
    st->done = (int)pg_int(r, 0, 5);
    PQclear(r);
    return 0;
}

/* One statement for the batch: the pairs go in as two arrays. */
int pg_job_enqueue_batch(struct catalog *c, const int64_t *asset_ids, const char *const *tiers,
                         int n, const char *policy, int max_attempts)
{
    CP;
    struct tp_buf ids = { 0 }, ts = { 0 };
    struct pg_params p = { .n = 0 };
    char item[64];
    int ret = 0;
    for (int i = 0; i < n && ret >= 0; i++) {
        snprintf(item, sizeof(item), "%s%lld", i ? "," : "{", (long long)asset_ids[i]);
        if ((ret = buf_append(&ids, item, strlen(item))) < 0)
            break;
        snprintf(item, sizeof(item), "%s\"%s\"", i ? "," : "{", tiers[i]);
        ret = buf_append(&ts, item, strlen(item));
    }
    if (ret < 0 || (ret = buf_append(&ids, "}", 2)) < 0 || (ret = buf_append(&ts, "}", 2)) < 0)
        goto end;
    p.v[p.n++] = (const char *)ids.data;
    p.v[p.n++] = policy;
    p.v[p.n++] = (const char *)ts.data;
    pgp_int(&p, max_attempts);
    ret = pgc_exec_params(cp,
                          "INSERT INTO jobs (asset_id, policy, tier, max_attempts) "
                          "SELECT a, $2, t, $4 FROM unnest($1::bigint[], $3::text[]) AS u(a, t) "
                          "ON CONFLICT DO NOTHING",
                          &p, NULL, "enqueue jobs");
end:
    buf_free(&ids);
    buf_free(&ts);
    return ret;
}

/* The sequence's next value without taking it (read as a relation:
 * last_value was given when is_called, else it is the next). */
#define SEQ_NEXT "CASE WHEN is_called THEN last_value + 1 ELSE last_value END"

int pg_asset_id_mark(struct catalog *c, int64_t *next, int raise)
{
    CP;
    struct pg_params p = { .n = 0 };
    PGresult *r;
    int n;
    if (raise) {
        pgp_int(&p, *next);
        n = pgc_exec_params(cp, "SELECT setval('assets_id_seq', $1::bigint, false) "
                                "FROM assets_id_seq WHERE " SEQ_NEXT " < $1::bigint",
                            &p, NULL, "raise the asset id mark");
        return n < 0 ? n : 0;
    }
    FORWARD_ERR(n = pgc_exec_params(cp, "SELECT " SEQ_NEXT " FROM assets_id_seq", &p, &r,
                                    "read the asset id mark"));
    if (n == 1)
        *next = pg_int(r, 0, 0);
    PQclear(r);
    RETURN_ERR_IF(n != 1, TP_ERR_CORRUPT, "catalog %s: no sequence assets_id_seq", cp->where);
    return 0;
}
