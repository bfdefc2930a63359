/* SQLite: an asset's component inventory, Live Photo pairs and content
 * identifiers (catalog.h, catalog_components_put/get, catalog_pair_put/get,
 * catalog_content_id_put/get/match; the tables are the migrations 8 -> 9,
 * 9 -> 10 and 13 -> 14). */
#include <stdio.h>
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

int sq_pair_put(struct catalog *c, int64_t image_id, int64_t video_id, const char *how)
{
    CS;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(cs->db,
                                "INSERT INTO pairs (image_id, video_id, how) SELECT ?1, ?2, ?3 "
                                "WHERE NOT EXISTS (SELECT 1 FROM pairs WHERE image_id IN (?1, ?2) "
                                "OR video_id IN (?1, ?2))",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "link a pair");
    sqlite3_bind_int64(s, 1, image_id);
    sqlite3_bind_int64(s, 2, video_id);
    sqlite3_bind_text(s, 3, how, -1, SQLITE_TRANSIENT);
    int ret = sq_exec_stmt(cs, s, "link a pair");
    sqlite3_finalize(s);
    if (ret >= 0 && sqlite3_changes(cs->db) != 1) {
        tp_err_set("asset %lld or %lld is already in a pair", (long long)image_id,
                   (long long)video_id);
        ret = TP_ERR_DUPLICATE;
    }
    return ret < 0 ? ret : 0;
}

int sq_pair_get(struct catalog *c, int64_t asset_id, int64_t *partner_out)
{
    CS;
    sqlite3_stmt *s = NULL;
    int ret = 0;
    int rc = sqlite3_prepare_v2(cs->db,
                                "SELECT CASE WHEN image_id = ?1 THEN video_id ELSE image_id END "
                                "FROM pairs WHERE image_id = ?1 OR video_id = ?1",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "get a pair");
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *partner_out = sqlite3_column_int64(s, 0);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = sq_sql_err(cs, rc, "get a pair");
    }
    sqlite3_finalize(s);
    return ret;
}

int sq_content_id_put(struct catalog *c, int64_t asset_id, const char *content_id)
{
    CS;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(cs->db,
                                "INSERT INTO content_ids (asset_id, owner, content_id) "
                                "SELECT id, owner, ?2 FROM assets WHERE id = ?1 "
                                "ON CONFLICT (asset_id) DO UPDATE SET content_id = excluded.content_id",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "store a content identifier");
    sqlite3_bind_int64(s, 1, asset_id);
    sqlite3_bind_text(s, 2, content_id, -1, SQLITE_TRANSIENT);
    int ret = sq_exec_stmt(cs, s, "store a content identifier");
    sqlite3_finalize(s);
    if (ret >= 0 && sqlite3_changes(cs->db) != 1) {
        tp_err_set("no asset %lld", (long long)asset_id);
        ret = TP_ERR_NOTFOUND;
    }
    return ret < 0 ? ret : 0;
}

int sq_content_id_get(struct catalog *c, int64_t asset_id, char *out, size_t n)
{
    CS;
    sqlite3_stmt *s = NULL;
    int ret = 0;
    int rc = sqlite3_prepare_v2(cs->db, "SELECT content_id FROM content_ids WHERE asset_id = ?1",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "get a content identifier");
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(out, n, "%s", t ? (const char *)t : "");
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = sq_sql_err(cs, rc, "get a content identifier");
    }
    sqlite3_finalize(s);
    return ret;
}

int sq_content_id_match(struct catalog *c, int64_t asset_id, int64_t *other_out)
{
    CS;
    sqlite3_stmt *s = NULL;
    int ret = 0;
    /* the owner's index (content_ids_owner); pairs by either key */
    int rc = sqlite3_prepare_v2(cs->db,
                                "SELECT o.asset_id FROM content_ids me "
                                "JOIN content_ids o ON o.owner = me.owner "
                                "  AND o.content_id = me.content_id AND o.asset_id <> me.asset_id "
                                "JOIN assets x ON x.id = me.asset_id "
                                "JOIN assets a ON a.id = o.asset_id "
                                "WHERE me.asset_id = ?1 AND a.kind <> x.kind AND a.deleted_at IS NULL "
                                "  AND NOT EXISTS (SELECT 1 FROM pairs WHERE image_id = o.asset_id) "
                                "  AND NOT EXISTS (SELECT 1 FROM pairs WHERE video_id = o.asset_id) "
                                "ORDER BY o.asset_id LIMIT 1",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return sq_sql_err(cs, rc, "find the other half of a Live Photo");
    sqlite3_bind_int64(s, 1, asset_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *other_out = sqlite3_column_int64(s, 0);
        ret = 1;
    } else if (rc != SQLITE_DONE) {
        ret = sq_sql_err(cs, rc, "find the other half of a Live Photo");
    }
    sqlite3_finalize(s);
    return ret;
}
