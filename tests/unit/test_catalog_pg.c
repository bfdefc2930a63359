/* What only the PostgreSQL catalog has: a connection that can be lost.
 * The server ends our session (pg_terminate_backend, from another
 * session: deterministic, no timing): outside a transaction the next call
 * reconnects and succeeds; inside the caller's transaction the loss is
 * reported, nothing of the transaction is applied, and the handle works
 * again after the rollback.  Also: errors name host:port/db, never the
 * password; key=value conninfo and PG* variables; a read-only open. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "err.h"
#include "pg_fixture.h"
#include "unit.h"

#define H64(ch) ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch \
                ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch ch

/* Ends every other session on the database of conninfo; how many. */
static int64_t kill_sessions(const char *conninfo)
{
    int64_t n = -1;
    pg_fixture_exec(conninfo,
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()", &n);
    return n;
}

TEST(catalog_pg_lost_connection)
{
    char url[600];
    const char *h1 = H64("1"), *h2 = H64("2");
    struct catalog *c = NULL;
    struct catalog_blob b;
    struct catalog_asset a;
    int64_t n = -1;
    if (!pg_fixture_base()) {
        unit_skip("TP_TEST_PG is not set (scripts/test starts a server)");
        return;
    }
    REQUIRE(pg_fixture_create("lost", url, sizeof(url)) == 0);
    REQUIRE(catalog_open(&c, url, CATALOG_OPEN_CREATE) == 0);
    REQUIRE(catalog_blob_add(c, h1, 10, NULL) == 0);

    /* between calls: the next read and the next write reconnect */
    CHECK(kill_sessions(url) == 1);
    CHECK(catalog_blob_get(c, h1, &b) == 0 && b.bytes == 10);
    CHECK(kill_sessions(url) == 1);
    CHECK(catalog_blob_add(c, h2, 20, NULL) == 0);
    CHECK(catalog_blob_count(c, &n) == 0 && n == 2);

    /* inside a transaction: reported, never half-applied */
    REQUIRE(catalog_begin(c) == 0);
    memset(&a, 0, sizeof(a));
    snprintf(a.sha256, sizeof(a.sha256), "%s", h1);
    snprintf(a.current_blob, sizeof(a.current_blob), "%s", h1);
    snprintf(a.kind, sizeof(a.kind), "image");
    snprintf(a.format, sizeof(a.format), "jpeg");
    CHECK(catalog_asset_insert(c, &a) == 0);
    CHECK(kill_sessions(url) == 1);
    struct catalog_rendition r;
    int ret = catalog_rendition_get(c, a.id, "thumb", &r);
    CHECK(ret == TP_ERR(ECONNRESET));
    CHECK(strstr(tp_err_detail(), "127.0.0.1") != NULL || strstr(tp_err_detail(), "localhost"));
    CHECK(catalog_blob_add(c, H64("3"), 1, NULL) == TP_ERR(ECONNRESET)); /* no silent reconnect */
    CHECK(catalog_commit(c) == TP_ERR(ECONNRESET));
    CHECK(strstr(tp_err_detail(), "nothing of it was applied") != NULL);
    tp_err_clear();
    CHECK(catalog_rollback(c) == 0);
    CHECK(catalog_asset_find(c, h1, &a) == TP_ERR_NOTFOUND);
    CHECK(catalog_blob_get(c, h1, &b) == 0 && b.refcount == 0);
    CHECK(catalog_blob_count(c, &n) == 0 && n == 2);
    tp_err_clear();
    catalog_close(&c);
    pg_fixture_drop("lost");
}

TEST(catalog_pg_conninfo_errors_readonly)
{
    char url[600], kv[700], msg[600];
    struct catalog *c = NULL;
    int64_t n = -1;
    if (!pg_fixture_base()) {
        unit_skip("TP_TEST_PG is not set (scripts/test starts a server)");
        return;
    }
    REQUIRE(pg_fixture_create("conninfo", url, sizeof(url)) == 0);
    /* read-only before any schema: not a catalog yet */
    int ret = catalog_pg_open(&c, url, CATALOG_OPEN_READONLY);
    CHECK(ret == TP_ERR_NOTFOUND);
    if (ret != TP_ERR_NOTFOUND)
        printf("#   %d: %s\n", ret, tp_err_detail());
    tp_err_clear();
    /* a key=value conninfo with the host and port from the environment */
    REQUIRE(pg_fixture_exec(url, "SELECT inet_server_port()", &n) == 0);
    const char *db = strrchr(url, '/') + 1;
    char port[16];
    snprintf(port, sizeof(port), "%lld", (long long)n);
    setenv("PGHOST", "127.0.0.1", 1);
    setenv("PGPORT", port, 1);
    snprintf(kv, sizeof(kv), "user=postgres dbname=%s", db);
    REQUIRE(catalog_pg_open(&c, kv, 0) == 0);
    CHECK(catalog_blob_add(c, H64("a"), 1, NULL) == 0);
    catalog_close(&c);
    unsetenv("PGHOST");
    unsetenv("PGPORT");
    /* read-only: reads work, writes are refused by the server */
    REQUIRE(catalog_open(&c, url, CATALOG_OPEN_READONLY) == 0);
    CHECK(catalog_blob_count(c, &n) == 0 && n == 1);
    CHECK(catalog_blob_add(c, H64("b"), 1, NULL) < 0);
    tp_err_clear();
    catalog_close(&c);
    /* a wrong port: the error names host:port/db, never the password */
    CHECK(catalog_open(&c, "postgresql://postgres:hunter2@127.0.0.1:1/nowhere", 0) ==
          TP_ERR(ECONNREFUSED));
    snprintf(msg, sizeof(msg), "%s", tp_err_detail());
    CHECK(strstr(msg, "127.0.0.1:1/nowhere") != NULL && strstr(msg, "hunter2") == NULL);
    /* a missing database */
    CHECK(catalog_open(&c, "postgresql://postgres@127.0.0.1:1/nowhere", 0) < 0);
    snprintf(kv, sizeof(kv), "%s_missing", url);
    CHECK(catalog_open(&c, kv, 0) == TP_ERR_NOTFOUND);
    tp_err_clear();
    pg_fixture_drop("conninfo");
}
