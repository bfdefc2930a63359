/* Fresh databases on the PostgreSQL test server (see pg_fixture.h). */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_fixture.h"

const char *pg_fixture_base(void)
{
    const char *url = getenv("TP_TEST_PG");
    return url && *url ? url : NULL;
}

/* base with its database replaced by db: a URI's path, or a later dbname=
 * keyword of a conninfo (the last one wins). */
static void with_db(const char *base, const char *db, char *out, size_t n)
{
    const char *scheme = strstr(base, "://");
    if (!scheme || (strncmp(base, "postgresql://", 13) && strncmp(base, "postgres://", 11))) {
        snprintf(out, n, "%s dbname=%s", base, db);
        return;
    }
    const char *slash = strchr(scheme + 3, '/');
    const char *query = strchr(scheme + 3, '?');
    size_t host_len = slash ? (size_t)(slash - base) : query ? (size_t)(query - base) : strlen(base);
    snprintf(out, n, "%.*s/%s%s", (int)host_len, base, db, query ? query : "");
}

static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

int pg_fixture_exec(const char *conninfo, const char *sql, int64_t *out)
{
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *r = NULL;
    int ret = -1;
    if (PQstatus(conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(conn, quiet, NULL); /* "does not exist, skipping" */
        r = PQexec(conn, sql);
        if (PQresultStatus(r) == PGRES_COMMAND_OK) {
            ret = 0;
        } else if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) {
            ret = 0;
            if (out)
                *out = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        }
        if (ret < 0)
            printf("# %s: %s", sql, PQerrorMessage(conn));
    } else {
        printf("# connect: %s", PQerrorMessage(conn));
    }
    PQclear(r);
    PQfinish(conn);
    return ret;
}

static void db_name(const char *tag, char *out, size_t n)
{
    snprintf(out, n, "tp_%s_%d", tag, (int)getpid());
}

void pg_fixture_drop(const char *tag)
{
    char db[96], sql[160];
    if (!pg_fixture_base())
        return;
    db_name(tag, db, sizeof(db));
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
    pg_fixture_exec(pg_fixture_base(), sql, NULL);
}

int pg_fixture_create(const char *tag, char *out, size_t n)
{
    char db[96], sql[160];
    if (!pg_fixture_base())
        return -1;
    pg_fixture_drop(tag);
    db_name(tag, db, sizeof(db));
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    if (pg_fixture_exec(pg_fixture_base(), sql, NULL) < 0)
        return -1;
    with_db(pg_fixture_base(), db, out, n);
    return 0;
}
