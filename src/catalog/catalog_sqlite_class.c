/* The SQLite backend's blob storage class (catalog_blob_set_class): one
 * UPDATE, prepared per call (it runs once per tier move of an asset). */
#include <sqlite3.h>

#include "catalog.h"
#include "catalog_sqlite_priv.h"
#include "err.h"

int sqc_blob_set_class(struct catalog *c, const char *hash, const char *storage_class)
{
    sqlite3_stmt *s = NULL;
    int ret = 0, rc;
    rc = sqlite3_prepare_v2(sq_db(c), "UPDATE blobs SET storage_class = ?2 WHERE hash = ?1", -1,
                            &s, NULL);
    if (rc != SQLITE_OK) {
        ret = sq_err(c, rc, "prepare set blob class");
        goto end;
    }
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, storage_class, -1, SQLITE_TRANSIENT);
    if ((rc = sqlite3_step(s)) != SQLITE_DONE) {
        ret = sq_err(c, rc, "set blob class");
        goto end;
    }
    if (sqlite3_changes(sq_db(c)) != 1) {
        tp_err_set("catalog: blob %s is not recorded", hash);
        ret = TP_ERR_NOTFOUND;
    }
end:
    sqlite3_finalize(s);
    return ret;
}
