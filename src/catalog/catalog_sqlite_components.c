/* SQLite: an asset's component inventory (catalog.h,
 * catalog_components_put/get; the table is the last migration). */
#include <stdlib.h>
#include <string.h>

#include "catalog_sqlite_priv.h"
#include "err.h"

int sq_components_put(struct catalog *c, int64_t asset_id, unsigned kinds, const char *json)
{
    CS;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(cs->db,
                                "INSERT INTO components (asset_id, kinds, inventory) "
                                "VALUES (?1, ?2, ?3) ON CONFLICT (asset_id) DO UPDATE SET "
                                "kinds = excluded.kinds, inventory = excluded.inventory",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "store an asset's components");
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_int64(s, 2, kinds);
    sqlite3_bind_text(s, 3, json ? json : "[]", -1, SQLITE_TRANSIENT);
    int ret = sq_exec_stmt(cs, s, "store an asset's components");
    sqlite3_finalize(s);
    return ret < 0 ? ret : 0;
}

int sq_components_get(struct catalog *c, int64_t asset_id, unsigned *kinds_out, char **json_out)
{
    CS;
    sqlite3_stmt *s = NULL;
    int ret = 0;
    int rc = sqlite3_prepare_v2(cs->db, "SELECT kinds, inventory FROM components WHERE asset_id = ?1",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "get an asset's components");
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 1);
        *kinds_out = (unsigned)sqlite3_column_int64(s, 0);
        ret = 1;
        if (json_out && !(*json_out = strdup(t ? (const char *)t : "[]")))
            ret = TP_ERR(ENOMEM);
    } else if (rc != SQLITE_DONE) {
        ret = sq_sql_err(cs, rc, "get an asset's components");
    }
    sqlite3_finalize(s);
    return ret;
}
