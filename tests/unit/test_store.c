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
