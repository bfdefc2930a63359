/* The blob store contract, written once against struct store * and run
 * for every backend URI in $TP_STORE_URIS (space-separated; default: a
 * fresh file:// directory).  The S3 settings and credentials come from
 * $TP_STORE_CONFIG (a tierpress.yaml) and the AWS_* environment, as for
 * tierpress itself.  Every run writes content no earlier run wrote (a
 * nonce in the bytes) and deletes what it wrote. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "fileio.h"
#include "store.h"
#include "unit.h"

/* ---- deterministic content -------------------------------------------- */

struct gen {
    uint64_t x;
};

static void gen_init(struct gen *g, uint64_t seed)
{
    g->x = seed * 0x9E3779B97F4A7C15ull + 1;
}

static void gen_fill(struct gen *g, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g->x ^= g->x << 13;
        g->x ^= g->x >> 7;
        g->x ^= g->x << 17;
        p[i] = (uint8_t)(g->x >> 24);
    }
}

static uint64_t nonce;

/* n bytes of content unique to this run and seed; caller frees. */
static uint8_t *make_data(uint64_t seed, size_t n, char hash_out[SHA256_HEX_LEN + 1])
{
    struct gen g;
    uint8_t *p = malloc(n ? n : 1);
    if (!p)
        return NULL;
    gen_init(&g, seed ^ nonce);
    gen_fill(&g, p, n);
    if (n >= 8)
        memcpy(p, &nonce, 8);
    sha256_hex(p, n, hash_out);
    return p;
}

struct seen {
    const char *hash;
    uint64_t bytes;
    int64_t mtime;
    int found;
};

static int find_cb(void *ud, const struct store_entry *e)
{
    struct seen *s = ud;
    if (!strcmp(e->hash, s->hash)) {
        s->found++;
        s->bytes = e->bytes;
        s->mtime = e->mtime;
    }
    return 0;
}

static int listed(struct store *s, const char *hash, uint64_t *bytes, int64_t *mtime)
{
    struct seen sn = { hash, 0, 0, 0 };
    if (store_iterate(s, find_cb, &sn) < 0)
        return -1;
    if (bytes)
        *bytes = sn.bytes;
    if (mtime)
        *mtime = sn.mtime;
    return sn.found;
}

static int absent(struct store *s, const char *hash)
{
    struct store_stat st;
    int ret = store_stat(s, hash, &st);
    tp_err_clear();
    return ret == TP_ERR_NOTFOUND && listed(s, hash, NULL, NULL) == 0;
}

/* 1 when the file at path holds exactly d[0..n). */
static int file_read_ok(const char *path, const uint8_t *d, size_t n)
{
    struct tp_buf b = { 0 };
    int ok = file_read(path, UINT64_MAX, &b) == 0 && b.len == n && !memcmp(b.data, d, n);
    buf_free(&b);
    return ok;
}

/* ---- the cases ---------------------------------------------------------- */

static void c_put_get_stat_list_delete(struct store *s, const struct config *cfg,
                                       int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1], h2[SHA256_HEX_LEN + 1];
    size_t n = 4321;
    uint8_t *d = make_data(1, n, h);
    struct tp_buf b = { 0 };
    struct store_stat st;
    uint64_t lb = 0;
    int64_t lm = 0, now = (int64_t)time(NULL);
    (void)cfg;
    REQUIRE(d);
    CHECK(store_put(s, h, d, n) == 0);
    CHECK(store_put(s, h, d, n) == 1); /* dedup: nothing written */
    CHECK(store_put_data(s, d, n, h2) == 1 && !strcmp(h, h2));
    CHECK(store_stat(s, h, &st) == 0 && st.bytes == n);
    CHECK(st.mtime > now - 3600 && st.mtime < now + 3600);
    CHECK(!strcmp(st.storage_class, "STANDARD"));
    CHECK(store_exists(s, h, &lb) == 1 && lb == n);
    CHECK(store_get(s, h, &b) == 0 && b.len == n && !memcmp(b.data, d, n));
    CHECK(store_verify(s, h) == 0);
    CHECK(listed(s, h, &lb, &lm) == 1 && lb == n && lm > now - 3600 && lm < now + 3600);
    CHECK(store_remove(s, h) == 0);
    CHECK(absent(s, h));
    CHECK(store_exists(s, h, NULL) == 0);
    CHECK(store_remove(s, h) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* an empty blob is a blob too */
    char he[SHA256_HEX_LEN + 1];
    sha256_hex("", 0, he);
    if (store_exists(s, he, NULL) == 0) { /* another run may hold it */
        CHECK(store_put(s, he, (const uint8_t *)"", 0) == 0);
        CHECK(store_get(s, he, &b) == 0 && b.len == 0);
        CHECK(store_remove(s, he) == 0);
    }
    buf_free(&b);
    free(d);
}

static void c_ranged_reads(struct store *s, const struct config *cfg, int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1];
    size_t n = 300007;
    uint8_t *d = make_data(2, n, h), buf[5000];
    struct store_reader *r = NULL;
    (void)cfg;
    REQUIRE(d);
    REQUIRE(store_put(s, h, d, n) == 0);
    static const struct { uint64_t off, len, want; } cases[] = {
        { 0, 100, 100 }, { 1000, 4000, 4000 }, { 300000, STORE_TO_END, 7 },
        { 299990, 5000, 17 }, { 300007, STORE_TO_END, 0 }, { 12345, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = 0, k;
        REQUIRE(store_open_read(s, h, cases[i].off, cases[i].len, &r) == 0);
        CHECK(r->object_bytes == n && r->length == cases[i].want);
        /* in odd-sized pieces, to the end of the range */
        while ((k = store_read(r, buf + got, 7)) > 0)
            got += k;
        CHECK(k == 0 && (uint64_t)got == cases[i].want);
        CHECK(!memcmp(buf, d + cases[i].off, (size_t)got));
        store_reader_close(&r);
        CHECK(r == NULL);
    }
    CHECK(store_open_read(s, h, n + 1, 10, &r) == TP_ERR(EINVAL) && !r);
    tp_err_clear();
    CHECK(store_remove(s, h) == 0);
    free(d);
}

static void c_large_streaming(struct store *s, const struct config *cfg, int *unit_failed_)
{
    /* larger than the multipart threshold, written in odd-sized pieces */
    uint64_t total = cfg->s3.multipart_threshold + (1u << 20) + 12345;
    const size_t piece = 65537;
    uint8_t *buf = malloc(piece), rb[65536];
    struct store_writer *w = NULL;
    struct store_reader *r = NULL;
    struct sha256 ctx;
    struct gen g;
    uint8_t dg[32];
    char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
    REQUIRE(buf);
    /* the address first (a writer with a known hash), then the same bytes */
    for (int pass = 0; pass < 2; pass++) {
        gen_init(&g, 3 ^ nonce);
        if (pass == 0)
            sha256_init(&ctx);
        else
            REQUIRE(store_open_write(s, want, NULL, &w) == 0);
        for (uint64_t off = 0; off < total; off += piece) {
            size_t k = total - off < piece ? (size_t)(total - off) : piece;
            gen_fill(&g, buf, k);
            if (!off)
                memcpy(buf, &nonce, 8);
            if (pass == 0)
                sha256_update(&ctx, buf, k);
            else
                REQUIRE(store_write(w, buf, k) == 0);
        }
        if (pass == 0) {
            sha256_final(&ctx, dg);
            sha256_to_hex(dg, want);
        }
    }
    CHECK(store_writer_finish(&w, got) == 0 && !w && !strcmp(got, want));
    struct store_stat st;
    CHECK(store_stat(s, want, &st) == 0 && st.bytes == total);
    /* streamed back: same bytes */
    REQUIRE(store_open_read(s, want, 0, STORE_TO_END, &r) == 0);
    CHECK(r->length == total);
    sha256_init(&ctx);
    uint64_t n = 0;
    int k;
    while ((k = store_read(r, rb, sizeof(rb))) > 0) {
        sha256_update(&ctx, rb, (size_t)k);
        n += (uint64_t)k;
    }
    store_reader_close(&r);
    sha256_final(&ctx, dg);
    sha256_to_hex(dg, got);
    CHECK(k == 0 && n == total && !strcmp(got, want));
    CHECK(store_verify(s, want) == 0);
    CHECK(store_remove(s, want) == 0);
    free(buf);
}

static void c_unknown_hash_writer(struct store *s, const struct config *cfg, int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
    size_t n = 70001;
    uint8_t *d = make_data(4, n, h);
    struct store_writer *w = NULL;
    struct tp_buf b = { 0 };
    (void)cfg;
    REQUIRE(d);
    REQUIRE(store_open_write(s, NULL, NULL, &w) == 0);
    CHECK(store_write(w, d, 1000) == 0 && store_write(w, d + 1000, n - 1000) == 0);
    CHECK(store_writer_finish(&w, got) == 0 && !strcmp(got, h));
    CHECK(store_get(s, h, &b) == 0 && b.len == n && !memcmp(b.data, d, n));
    CHECK(store_remove(s, h) == 0);
    buf_free(&b);
    free(d);
}

static void c_abort_and_wrong_hash(struct store *s, const struct config *cfg, int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1], h2[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
    size_t n = 200000;
    uint8_t *d = make_data(5, n, h), *d2 = make_data(6, n, h2);
    struct store_writer *w = NULL;
    int64_t p0 = -1, p1 = -1;
    (void)cfg;
    REQUIRE(d && d2);
    REQUIRE(store_pending(s, &p0) == 0);
    /* aborted midway: nothing visible, nothing pending */
    REQUIRE(store_open_write(s, h, NULL, &w) == 0);
    CHECK(store_write(w, d, n / 2) == 0);
    store_writer_abort(&w);
    CHECK(!w);
    store_writer_abort(&w); /* NULL: no-op */
    CHECK(absent(s, h));
    /* the wrong bytes for the address: refused, nothing visible */
    REQUIRE(store_open_write(s, h, NULL, &w) == 0);
    CHECK(store_write(w, d2, n) == 0);
    CHECK(store_writer_finish(&w, got) == TP_ERR_VERIFY && !w && !strcmp(got, h2));
    CHECK(strstr(tp_err_detail(), h) != NULL);
    tp_err_clear();
    CHECK(absent(s, h) && absent(s, h2));
    /* a truncated write for the address: refused too */
    REQUIRE(store_open_write(s, h, NULL, &w) == 0);
    CHECK(store_write(w, d, n - 1) == 0);
    CHECK(store_writer_finish(&w, NULL) == TP_ERR_VERIFY);
    tp_err_clear();
    CHECK(absent(s, h));
    CHECK(store_put(s, h, d2, n) == TP_ERR_VERIFY);
    tp_err_clear();
    CHECK(absent(s, h));
    REQUIRE(store_pending(s, &p1) == 0);
    CHECK(p1 == p0);
    /* malformed addresses and classes are refused before any I/O */
    CHECK(store_open_write(s, "abc", NULL, &w) == TP_ERR(EINVAL) && !w);
    CHECK(store_open_write(s, h, "glacier!", &w) == TP_ERR(EINVAL) && !w);
    tp_err_clear();
    free(d);
    free(d2);
}

/* A writer killed midway (as by kill -9): nothing looks like a blob. */
static void c_killed_writer(struct store *s, const char *uri, const struct config *cfg,
                            int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1];
    size_t n = 150000;
    uint8_t *d = make_data(7, n, h);
    int status = 0;
    REQUIRE(d);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct store *cs = NULL;
        struct store_writer *w = NULL;
        if (store_open(&cs, uri, cfg) < 0 || store_open_write(cs, h, NULL, &w) < 0 ||
            store_write(w, d, n / 2) < 0)
            _exit(3);
        raise(SIGKILL);
        _exit(4);
    }
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    CHECK(absent(s, h));
    struct tp_buf b = { 0 };
    CHECK(store_get(s, h, &b) == TP_ERR_NOTFOUND);
    tp_err_clear();
    /* and the same address can be written afterwards */
    CHECK(store_put(s, h, d, n) == 0 && store_verify(s, h) == 0);
    CHECK(store_remove(s, h) == 0);
    buf_free(&b);
    free(d);
}

static void c_concurrent_writers(struct store *s, const char *uri, const struct config *cfg,
                                 int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1];
    size_t n = 250000;
    uint8_t *d = make_data(8, n, h);
    struct store_writer *w1 = NULL, *w2 = NULL;
    REQUIRE(d);
    /* interleaved in one process: the first to finish stores, the second
     * finds it there */
    REQUIRE(store_open_write(s, h, NULL, &w1) == 0);
    REQUIRE(store_open_write(s, h, NULL, &w2) == 0);
    CHECK(store_write(w1, d, n / 3) == 0 && store_write(w2, d, n / 2) == 0);
    CHECK(store_write(w1, d + n / 3, n - n / 3) == 0 && store_write(w2, d + n / 2, n - n / 2) == 0);
    CHECK(store_writer_finish(&w1, NULL) == 0);
    CHECK(store_writer_finish(&w2, NULL) == 1);
    CHECK(store_verify(s, h) == 0 && listed(s, h, NULL, NULL) == 1);
    CHECK(store_remove(s, h) == 0);
    /* four processes at once: every one succeeds (stored or found), one blob */
    pid_t pids[4];
    fflush(stdout);
    for (int i = 0; i < 4; i++) {
        pids[i] = fork();
        REQUIRE(pids[i] >= 0);
        if (pids[i] == 0) {
            struct store *cs = NULL;
            struct store_writer *w = NULL;
            int ret = store_open(&cs, uri, cfg);
            if (ret >= 0)
                ret = store_open_write(cs, h, NULL, &w);
            for (size_t off = 0; ret >= 0 && off < n; off += 10007)
                ret = store_write(w, d + off, n - off < 10007 ? n - off : 10007);
            if (ret >= 0)
                ret = store_writer_finish(&w, NULL);
            else
                store_writer_abort(&w);
            store_close(&cs);
            _exit(ret == 0 ? 0 : ret == 1 ? 1 : 2);
        }
    }
    int stored = 0, found = 0;
    for (int i = 0; i < 4; i++) {
        int status = 0;
        REQUIRE(waitpid(pids[i], &status, 0) == pids[i]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) <= 1);
        stored += WIFEXITED(status) && WEXITSTATUS(status) == 0;
        found += WIFEXITED(status) && WEXITSTATUS(status) == 1;
    }
    CHECK(stored >= 1 && stored + found == 4);
    CHECK(store_verify(s, h) == 0 && listed(s, h, NULL, NULL) == 1);
    CHECK(store_remove(s, h) == 0);
    free(d);
}

static void c_storage_class(struct store *s, const struct config *cfg, int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1], m[SHA256_HEX_LEN + 1];
    size_t n = 5000;
    uint8_t *d = make_data(9, n, h);
    struct store_stat st;
    struct tp_buf b = { 0 };
    int classes = !!(s->caps & STORE_CAP_CLASSES);
    (void)cfg;
    REQUIRE(d);
    REQUIRE(store_put_class(s, h, d, n, "STANDARD_IA") == 0);
    CHECK(store_stat(s, h, &st) == 0 &&
          !strcmp(st.storage_class, classes ? "STANDARD_IA" : "STANDARD"));
    CHECK(store_set_class(s, h, "STANDARD") == 0);
    CHECK(store_stat(s, h, &st) == 0 && !strcmp(st.storage_class, "STANDARD"));
    CHECK(store_set_class(s, h, "ONEZONE_IA") == 0);
    CHECK(store_stat(s, h, &st) == 0 && st.bytes == n &&
          !strcmp(st.storage_class, classes ? "ONEZONE_IA" : "STANDARD"));
    /* the bytes survive a class change */
    CHECK(store_get(s, h, &b) == 0 && b.len == n && !memcmp(b.data, d, n));
    CHECK(store_verify(s, h) == 0);
    CHECK(store_remove(s, h) == 0);
    /* a missing blob has no class to change */
    free(make_data(10, 10, m));
    CHECK(store_set_class(s, m, "STANDARD_IA") == TP_ERR_NOTFOUND);
    tp_err_clear();
    buf_free(&b);
    free(d);
}

static void c_missing(struct store *s, const struct config *cfg, int *unit_failed_)
{
    char h[SHA256_HEX_LEN + 1];
    uint8_t *d = make_data(11, 64, h);
    struct store_reader *r = NULL;
    struct store_stat st;
    struct tp_buf b = { 0 };
    (void)cfg;
    REQUIRE(d);
    CHECK(store_open_read(s, h, 0, STORE_TO_END, &r) == TP_ERR_NOTFOUND && !r);
    CHECK(strstr(tp_err_detail(), h) != NULL);
    tp_err_clear();
    CHECK(store_stat(s, h, &st) == TP_ERR_NOTFOUND);
    CHECK(store_get(s, h, &b) == TP_ERR_NOTFOUND);
    CHECK(store_verify(s, h) == TP_ERR_NOTFOUND);
    CHECK(store_remove(s, h) == TP_ERR_NOTFOUND);
    CHECK(store_exists(s, h, NULL) == 0);
    CHECK(store_stat(s, "not-a-hash", &st) == TP_ERR(EINVAL));
    tp_err_clear();
    buf_free(&b);
    free(d);
}

static void c_files(struct store *s, const struct config *cfg, int *unit_failed_)
{
    char dir[] = "/tmp/tp-contract-XXXXXX", in[256], out[256], h[SHA256_HEX_LEN + 1];
    char got[SHA256_HEX_LEN + 1], wrong[SHA256_HEX_LEN + 1];
    size_t n = 1500000;
    uint8_t *d = make_data(12, n, h);
    struct tp_buf b = { 0 };
    FILE *f;
    (void)cfg;
    REQUIRE(d && mkdtemp(dir));
    snprintf(in, sizeof(in), "%s/in", dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    REQUIRE((f = fopen(in, "wb")) && fwrite(d, 1, n, f) == n && fclose(f) == 0);
    /* a file that does not hash to the address given is refused */
    free(make_data(13, 10, wrong));
    CHECK(store_put_file(s, in, wrong, NULL, got) == TP_ERR_VERIFY && absent(s, wrong));
    tp_err_clear();
    CHECK(store_put_file(s, in, h, NULL, got) == 0 && !strcmp(got, h));
    CHECK(store_put_file(s, in, NULL, NULL, got) == 1 && !strcmp(got, h));
    CHECK(store_get_file(s, h, out) == 0);
    CHECK(file_read_ok(out, d, n));
    CHECK(store_remove(s, h) == 0);
    /* a missing blob leaves the destination as it was */
    CHECK(store_get_file(s, h, out) == TP_ERR_NOTFOUND && file_read_ok(out, d, n));
    tp_err_clear();
    unlink(in);
    unlink(out);
    rmdir(dir);
    buf_free(&b);
    free(d);
}

/* ---- the runner --------------------------------------------------------- */

TEST(store_contract)
{
    static struct config cfg;
    char home[] = "/tmp/tp-contract-home-XXXXXX", def[128], list[4096];
    const char *env = getenv("TP_STORE_URIS");
    REQUIRE(mkdtemp(home));
    nonce = ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid() ^ ((uint64_t)clock() << 40);
    snprintf(def, sizeof(def), "file://%s/blobs", home);
    snprintf(list, sizeof(list), "%s", env && *env ? env : def);
    REQUIRE(config_setup(&cfg, home, getenv("TP_STORE_CONFIG")) == 0);
    for (char *save = NULL, *uri = strtok_r(list, " \t\n", &save); uri;
         uri = strtok_r(NULL, " \t\n", &save)) {
        struct store *s = NULL;
        int before = *unit_failed_;
        int ret = store_open(&s, uri, &cfg);
        if (ret < 0)
            printf("#   store_open(%s): %s\n", uri, tp_err_detail());
        REQUIRE(ret == 0);
        *unit_failed_ = 0;
#define RUN(name, ...)                                                         \
        do {                                                                   \
            int f_ = 0;                                                        \
            name(s, __VA_ARGS__, &f_);                                         \
            if (f_)                                                            \
                printf("#   %s: %s failed\n", uri, #name);                     \
            *unit_failed_ |= f_;                                               \
        } while (0)
        RUN(c_put_get_stat_list_delete, &cfg);
        RUN(c_ranged_reads, &cfg);
        RUN(c_large_streaming, &cfg);
        RUN(c_unknown_hash_writer, &cfg);
        RUN(c_abort_and_wrong_hash, &cfg);
        RUN(c_killed_writer, uri, &cfg);
        RUN(c_concurrent_writers, uri, &cfg);
        RUN(c_storage_class, &cfg);
        RUN(c_missing, &cfg);
        RUN(c_files, &cfg);
#undef RUN
        printf("# store contract on %s (%s): %s\n", uri, store_backend_name(s),
               *unit_failed_ ? "FAILED" : "passed");
        *unit_failed_ |= before;
        store_close(&s);
    }
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    if (system(cmd) != 0)
        printf("#   could not remove %s\n", home);
}
