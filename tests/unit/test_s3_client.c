/* The S3 client against the real S3 server scripts/s3-up started (its
 * TP_S3_ENDPOINT, TP_S3_BUCKET, TP_S3_REGION, TP_S3_ACCESS_KEY and
 * TP_S3_SECRET_KEY in the environment):
 * put/head/get (ranged)/list (paged)/copy/delete, a multipart upload with
 * parts in parallel, and the errors (missing key, wrong secret, refused
 * storage class).  Without a server the tests say so and pass. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "config.h"
#include "s3_client.h"
#include "store.h"
#include "sha256.h"
#include "unit.h"

static int settings_from_env(struct s3_settings *s, char *prefix, size_t n)
{
    s3_settings_defaults(s);
    s->endpoint = getenv("TP_S3_ENDPOINT");
    s->bucket = getenv("TP_S3_BUCKET");
    s->access_key = getenv("TP_S3_ACCESS_KEY");
    s->secret_key = getenv("TP_S3_SECRET_KEY");
    s->region = getenv("TP_S3_REGION");
    s->retry_base_ms = 10;
    if (!s->endpoint || !s->bucket || !s->access_key || !s->secret_key) {
        printf("# skip: no S3 server in the environment (scripts/s3-up)\n");
        return 0;
    }
    snprintf(prefix, n, "unit-%ld-%d/", (long)time(NULL), (int)getpid());
    return 1;
}

static int count_cb(void *ud, const char *key, const struct s3_object *o)
{
    (void)key;
    (void)o;
    ++*(int *)ud;
    return 0;
}

static int sink_buf(void *ud, const uint8_t *data, size_t len)
{
    return buf_append(ud, data, len);
}

TEST(s3_client_objects)
{
    struct s3_settings st;
    struct s3_client *c = NULL;
    struct tp_buf b = { 0 };
    struct s3_object o;
    char prefix[96], k1[160], k2[160];
    if (!settings_from_env(&st, prefix, sizeof(prefix)))
        return;
    REQUIRE(s3_client_open(&c, &st) == 0);
    snprintf(k1, sizeof(k1), "%sa/b/one", prefix);
    snprintf(k2, sizeof(k2), "%sa/b/two", prefix);
    const char *text = "hello, object storage";
    CHECK(s3_head(c, k1, &o) == 0);
    CHECK(s3_put_buf(c, k1, (const uint8_t *)text, strlen(text), NULL, NULL) == 0);
    CHECK(s3_head(c, k1, &o) == 1 && o.bytes == strlen(text) && o.mtime > 1700000000);
    CHECK(s3_get_buf(c, k1, &b) == 0 && b.len == strlen(text) && !memcmp(b.data, text, b.len));
    b.len = 0;
    CHECK(s3_get(c, k1, 7, 6, sink_buf, &b) == 0 && b.len == 6 && !memcmp(b.data, "object", 6));
    /* copy onto another key and onto itself (a class change on AWS) */
    CHECK(s3_copy(c, k1, k2, NULL) == 0);
    CHECK(s3_copy(c, k2, k2, "STANDARD") == 0);
    int n = 0;
    CHECK(s3_list(c, prefix, 1, count_cb, &n) == 0 && n == 2); /* two pages of one */
    /* Swift refuses other classes: a clear, distinct error */
    CHECK(s3_copy(c, k2, k2, "GLACIER") == TP_ERR_UNSUPPORTED);
    CHECK(strstr(tp_err_detail(), "InvalidStorageClass") && strstr(tp_err_detail(), k2));
    CHECK(s3_delete(c, k1) == 0 && s3_delete(c, k2) == 0);
    CHECK(s3_delete(c, k1) == TP_ERR_NOTFOUND);
    CHECK(s3_get_buf(c, k1, &b) == TP_ERR_NOTFOUND);
    CHECK(strstr(tp_err_detail(), "NoSuchKey") && strstr(tp_err_detail(), k1));
    buf_free(&b);
    s3_client_close(&c);
    CHECK(c == NULL);
}

TEST(s3_client_multipart)
{
    struct s3_settings st;
    struct s3_client *c = NULL;
    struct tp_buf b = { 0 };
    struct s3_object o;
    char prefix[96], key[160], path[] = "/tmp/tp-s3mp-XXXXXX";
    if (!settings_from_env(&st, prefix, sizeof(prefix)))
        return;
    st.multipart_threshold = 5u << 20;
    st.part_size = 5u << 20;
    st.parallel = 3;
    REQUIRE(s3_client_open(&c, &st) == 0);
    size_t len = (13u << 20) + 12345; /* three parts, the last short */
    uint8_t *data = malloc(len);
    REQUIRE(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 2654435761u >> 13);
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    REQUIRE(write(fd, data, len) == (ssize_t)len);
    snprintf(key, sizeof(key), "%sbig", prefix);
    CHECK(s3_put_fd(c, key, fd, len, NULL) == 0);
    CHECK(s3_head(c, key, &o) == 1 && o.bytes == len);
    CHECK(s3_get_buf(c, key, &b) == 0 && b.len == len && !memcmp(b.data, data, len));
    b.len = 0;
    CHECK(s3_get(c, key, len - 100, UINT64_MAX, sink_buf, &b) == 0 && b.len == 100 &&
          !memcmp(b.data, data + len - 100, 100));
    CHECK(s3_delete(c, key) == 0);
    /* a writer killed after its first part: nothing at the key, one upload pending */
    int64_t before = -1, after = -1;
    CHECK(s3_pending_uploads(c, prefix, &before) == 0 && before == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct s3_client *cc = NULL;
        setenv("TP_CRASH_AT", "s3-after-part", 1);
        if (s3_client_open(&cc, &st) == 0)
            s3_put_fd(cc, key, fd, len, NULL);
        _exit(3);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(s3_head(c, key, &o) == 0);
    CHECK(s3_pending_uploads(c, prefix, &after) == 0 && after == 1);
    close(fd);
    free(data);
    buf_free(&b);
    s3_client_close(&c);
}

TEST(s3_client_wrong_secret)
{
    struct s3_settings st;
    struct s3_client *c = NULL;
    struct s3_object o;
    char prefix[96], key[160];
    if (!settings_from_env(&st, prefix, sizeof(prefix)))
        return;
    const char *real = st.secret_key;
    st.secret_key = "not-the-secret";
    REQUIRE(s3_client_open(&c, &st) == 0);
    snprintf(key, sizeof(key), "%swrong", prefix);
    CHECK(s3_put_buf(c, key, (const uint8_t *)"x", 1, NULL, NULL) == TP_ERR(EACCES));
    CHECK(strstr(tp_err_detail(), "HTTP 403") && strstr(tp_err_detail(), key));
    CHECK(!strstr(tp_err_detail(), "not-the-secret"));
    s3_client_close(&c);
    st.secret_key = real;
    REQUIRE(s3_client_open(&c, &st) == 0);
    CHECK(s3_head(c, key, &o) == 0); /* nothing written */
    s3_client_close(&c);
}

/* The S3 blob store's classes through tests/s3proxy.py --fake-classes
 * (t_s3.sh starts it and checks what it recorded): TP_S3_CLASSES_ENDPOINT
 * is the proxy, TP_S3_PREFIX where to write. */
TEST(s3_store_classes)
{
    const char *ep = getenv("TP_S3_CLASSES_ENDPOINT"), *prefix = getenv("TP_S3_PREFIX");
    struct config cfg;
    struct store *s = NULL;
    struct store_stat st;
    char uri[600], hash[SHA256_HEX_LEN + 1];
    const char *data = "a blob that goes to a colder class";
    if (!ep || !prefix || !getenv("TP_S3_BUCKET")) {
        printf("# skip: run by tests/t_s3.sh with its recording proxy\n");
        return;
    }
    REQUIRE(config_defaults(&cfg, "/nonexistent-home") == 0);
    REQUIRE(config_apply_env(&cfg) == 0);
    snprintf(cfg.s3.endpoint_url, sizeof(cfg.s3.endpoint_url), "%s", ep);
    cfg.s3.storage_classes = 1;
    snprintf(uri, sizeof(uri), "s3://%s/%s", getenv("TP_S3_BUCKET"), prefix);
    REQUIRE(store_open(&s, uri, &cfg) == 0);
    CHECK(s->caps & STORE_CAP_CLASSES);
    sha256_hex(data, strlen(data), hash);
    CHECK(store_put_class(s, hash, (const uint8_t *)data, strlen(data), "GLACIER_IR") == 0);
    CHECK(store_stat(s, hash, &st) == 0 && !strcmp(st.storage_class, "GLACIER_IR"));
    CHECK(store_set_class(s, hash, "STANDARD_IA") == 0);
    CHECK(store_stat(s, hash, &st) == 0 && !strcmp(st.storage_class, "STANDARD_IA") &&
          st.bytes == strlen(data));
    CHECK(store_set_class(s, hash, "STANDARD_IA") == 0); /* already: no copy */
    CHECK(store_verify(s, hash) == 0);
    CHECK(store_remove(s, hash) == 0);
    CHECK(store_set_class(s, hash, "STANDARD") == TP_ERR_NOTFOUND);
    store_close(&s);
}
