/* The filesystem blob store: put/get, dedup, no overwrite, temp cleanup,
 * iteration and verification, in a fresh temp directory. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fileio.h"
#include "store.h"
#include "unit.h"

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int count_cb(void *ud, const struct store_entry *e)
{
    (void)e;
    ++*(int *)ud;
    return 0;
}

static void rm_rf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        printf("#   could not remove %s\n", dir);
}

TEST(store_put_get_dedup)
{
    char root[] = "/tmp/tp-store-XXXXXX", hash[SHA256_HEX_LEN + 1], hash2[SHA256_HEX_LEN + 1];
    char tmpdir[64], path[256];
    struct store *s = NULL;
    struct tp_buf b = { 0 };
    const char *data = "hello, content-addressed world";
    uint64_t sz = 0;
    int n = 0;
    struct stat st;

    REQUIRE(mkdtemp(root));
    REQUIRE(store_fs_open(&s, root) == 0);
    CHECK(store_put_data(s, (const uint8_t *)data, strlen(data), hash) == 0);
    /* fan-out layout */
    snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s", root, hash, hash + 2, hash);
    CHECK(stat(path, &st) == 0 && (size_t)st.st_size == strlen(data));
    CHECK(store_exists(s, hash, &sz) == 1 && sz == strlen(data));
    CHECK(store_get(s, hash, &b) == 0 && b.len == strlen(data) && !memcmp(b.data, data, b.len));
    CHECK(store_verify(s, hash) == 0);
    /* the same bytes again: "already there", nothing new written */
    CHECK(store_put_data(s, (const uint8_t *)data, strlen(data), hash2) == 1);
    CHECK(!strcmp(hash, hash2));
    CHECK(store_iterate(s, count_cb, &n) == 0 && n == 1);
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);
    CHECK(count_entries(tmpdir) == 0);
    /* unknown and malformed names */
    CHECK(store_get(s, "0000000000000000000000000000000000000000000000000000000000000000", &b) ==
          TP_ERR_NOTFOUND);
    CHECK(store_exists(s, "0000000000000000000000000000000000000000000000000000000000000000",
                       NULL) == 0);
    CHECK(store_get(s, "../../etc/passwd", &b) == TP_ERR(EINVAL));
    CHECK(store_remove(s, hash) == 0);
    CHECK(store_exists(s, hash, NULL) == 0);
    CHECK(store_remove(s, hash) == TP_ERR_NOTFOUND);
    buf_free(&b);
    store_close(&s);
    CHECK(s == NULL);
    rm_rf(root);
}

TEST(store_never_overwrites)
{
    char root[] = "/tmp/tp-store-XXXXXX", hash[SHA256_HEX_LEN + 1], path[256];
    struct store *s = NULL;
    struct tp_buf b = { 0 };
    const char *good = "original bytes";

    REQUIRE(mkdtemp(root));
    REQUIRE(store_fs_open(&s, root) == 0);
    REQUIRE(store_put_data(s, (const uint8_t *)good, strlen(good), hash) == 0);
    /* different bytes under the same name (a caller bug or corruption):
     * refused, the existing blob stays */
    CHECK(store_put(s, hash, (const uint8_t *)"other", 5) == TP_ERR_CONFLICT);
    /* same size, different bytes: "already there", still not overwritten */
    CHECK(store_put(s, hash, (const uint8_t *)"ORIGINAL BYTES", 14) == 1);
    CHECK(store_get(s, hash, &b) == 0 && b.len == strlen(good) && !memcmp(b.data, good, b.len));
    /* corrupt the blob behind the store's back: verify notices */
    snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s", root, hash, hash + 2, hash);
    chmod(path, 0644);
    CHECK(file_write_atomic(path, "originaL bytes", 14) == 0);
    CHECK(store_verify(s, hash) == TP_ERR_VERIFY);
    tp_err_clear();
    buf_free(&b);
    store_close(&s);
    rm_rf(root);
}

TEST(store_failed_put_leaves_no_temp)
{
    char root[] = "/tmp/tp-store-XXXXXX", hash[SHA256_HEX_LEN + 1], path[256], tmpdir[64];
    struct store *s = NULL;
    const char *data = "bytes that cannot be placed";
    int fd, n = 0;

    REQUIRE(mkdtemp(root));
    REQUIRE(store_fs_open(&s, root) == 0);
    sha256_hex(data, strlen(data), hash);
    /* a regular file where the fan-out directory should be: the put fails */
    snprintf(path, sizeof(path), "%s/%.2s", root, hash);
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    REQUIRE(fd >= 0);
    close(fd);
    CHECK(store_put(s, hash, (const uint8_t *)data, strlen(data)) < 0);
    tp_err_clear();
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);
    CHECK(count_entries(tmpdir) == 0);
    CHECK(store_exists(s, hash, NULL) <= 0);
    tp_err_clear();
    unlink(path);
    /* and works once the obstacle is gone */
    CHECK(store_put(s, hash, (const uint8_t *)data, strlen(data)) == 0);
    CHECK(store_iterate(s, count_cb, &n) == 0 && n == 1);
    CHECK(count_entries(tmpdir) == 0);
    store_close(&s);
    store_close(&s); /* NULL-safe */
    rm_rf(root);
}

TEST(store_open_removes_stale_temp_files)
{
    char root[] = "/tmp/tp-store-XXXXXX", tmpdir[64], stale[128], fresh[128];
    struct store *s = NULL;
    struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    REQUIRE(mkdtemp(root));
    snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", root);
    REQUIRE(file_mkdirs(tmpdir, 0755) == 0);
    snprintf(stale, sizeof(stale), "%s/abc.stale", tmpdir);
    snprintf(fresh, sizeof(fresh), "%s/abc.fresh", tmpdir);
    REQUIRE(file_write_atomic(stale, "x", 1) == 0);
    REQUIRE(file_write_atomic(fresh, "y", 1) == 0);
    REQUIRE(utimensat(AT_FDCWD, stale, old, 0) == 0);
    REQUIRE(store_fs_open(&s, root) == 0);
    CHECK(access(stale, F_OK) != 0); /* a crash's leftover: removed */
    CHECK(access(fresh, F_OK) == 0); /* may belong to a live writer: kept */
    store_close(&s);
    rm_rf(root);
}

/* gc's delete against a writer: put() of a present blob refreshes its
 * mtime, and remove_older() keeps what was refreshed after the cutoff. */
TEST(store_remove_older_keeps_refreshed_blobs)
{
    char root[] = "/tmp/tp-store-XXXXXX", hash[SHA256_HEX_LEN + 1], path[256];
    struct store *s = NULL;
    struct timespec old[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    const char *data = "an original an ingest dedupes against";
    struct stat st;

    REQUIRE(mkdtemp(root));
    REQUIRE(store_fs_open(&s, root) == 0);
    REQUIRE(store_put_data(s, (const uint8_t *)data, strlen(data), hash) == 0);
    snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s", root, hash, hash + 2, hash);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0400);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);
    /* old: a cutoff after its mtime deletes it */
    CHECK(store_remove_older(s, hash, 1000000001) == 0);
    CHECK(store_exists(s, hash, NULL) == 0);
    CHECK(store_remove_older(s, hash, 1000000001) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* stored again, made old, then deduped against (put returns 1): the
     * refresh makes it young, so the same cutoff keeps it */
    REQUIRE(store_put_data(s, (const uint8_t *)data, strlen(data), hash) == 0);
    REQUIRE(utimensat(AT_FDCWD, path, old, 0) == 0);
    CHECK(store_put_data(s, (const uint8_t *)data, strlen(data), hash) == 1);
    CHECK(stat(path, &st) == 0 && st.st_mtime > 1000000000);
    CHECK(store_remove_older(s, hash, 1000000001) == 1);
    CHECK(store_exists(s, hash, NULL) == 1);
    snprintf(path, sizeof(path), "%s/tmp", root);
    CHECK(count_entries(path) == 0);
    store_close(&s);
    rm_rf(root);
}

/* A gc killed between moving a blob aside and deleting it: the next open
 * puts the blob back (it may have been referenced meanwhile). */
TEST(store_open_restores_blob_moved_aside)
{
    char root[] = "/tmp/tp-store-XXXXXX", hash[SHA256_HEX_LEN + 1], path[256], aside[256];
    struct store *s = NULL;
    const char *data = "a blob gc was deleting when it died";

    REQUIRE(mkdtemp(root));
    REQUIRE(store_fs_open(&s, root) == 0);
    REQUIRE(store_put_data(s, (const uint8_t *)data, strlen(data), hash) == 0);
    store_close(&s);
    snprintf(path, sizeof(path), "%s/%.2s/%.2s/%s", root, hash, hash + 2, hash);
    /* pid 999999999 cannot be running */
    snprintf(aside, sizeof(aside), "%s/tmp/%s.gc.999999999", root, hash);
    REQUIRE(rename(path, aside) == 0);
    REQUIRE(store_fs_open(&s, root) == 0);
    CHECK(store_exists(s, hash, NULL) == 1 && store_verify(s, hash) == 0);
    CHECK(access(aside, F_OK) != 0);
    store_close(&s);
    rm_rf(root);
}
