/* A home's backends by configuration: defaults, the YAML file, the
 * environment, validation (see config.h). */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "err.h"
#include "fileio.h"
#include "mem.h"

#define CONFIG_MAX_BYTES (64 * 1024)
#define MIB ((uint64_t)1024 * 1024)
#define GIB (1024 * MIB)

int config_defaults(struct config *cfg, const char *home)
{
    char cwd[CONFIG_PATH_MAX];
    int n;
    memset(cfg, 0, sizeof(*cfg));
    RETURN_ERR_IF(!home || !*home, TP_ERR(EINVAL), "no home directory given");
    if (home[0] == '/') {
        n = snprintf(cfg->home, sizeof(cfg->home), "%s", home);
    } else {
        RETURN_ERR_IF(!getcwd(cwd, sizeof(cwd)), TP_ERR(errno),
                      "cannot resolve the home %s: the working directory is unknown: %s", home,
                      strerror(errno));
        if (!strncmp(home, "./", 2))
            home += 2;
        n = snprintf(cfg->home, sizeof(cfg->home), "%s%s%s", cwd, strcmp(cwd, "/") ? "/" : "",
                     home);
    }
    RETURN_ERR_IF(n < 0 || (size_t)n >= sizeof(cfg->home) - 64, TP_ERR(ENAMETOOLONG),
                  "home path too long: %.80s...", home);
    /* drop trailing slashes (but keep "/") */
    for (size_t l = strlen(cfg->home); l > 1 && cfg->home[l - 1] == '/'; l--)
        cfg->home[l - 1] = '\0';
    snprintf(cfg->catalog, sizeof(cfg->catalog), "sqlite://%s/catalog.db", cfg->home);
    snprintf(cfg->store, sizeof(cfg->store), "file://%s/blobs", cfg->home);
    snprintf(cfg->s3.region, sizeof(cfg->s3.region), "us-east-1");
    tplimits_defaults(&cfg->limits);
    cfg->s3.storage_classes = 1;
    cfg->s3.multipart_threshold = 16 * MIB;
    cfg->s3.part_size = 16 * MIB;
    cfg->s3.max_retries = 5;
    cfg->serve.queue = -1;
    return 0;
}

/* ---- the YAML file ------------------------------------------------------ */

struct cctx {
    struct config *cfg;
    yaml_document_t *doc;
    const char *path;
};

static int err_at(const struct cctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int err_at(const struct cctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n)
        tp_err_set("%s:%d:%d: %s", c->path, (int)n->start_mark.line + 1,
                   (int)n->start_mark.column + 1, msg);
    else
        tp_err_set("%s: %s", c->path, msg);
    return TP_ERR_INVALIDDATA;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int get_text(const struct cctx *c, const yaml_node_t *n, const char *key, char *out,
                    size_t len)
{
    const char *s = scalar(n);
    if (!s || !*s)
        return err_at(c, n, "'%s' expects a text value", key);
    if (strlen(s) >= len)
        return err_at(c, n, "'%s' is too long (at most %zu characters)", key, len - 1);
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p < 0x20)
            return err_at(c, n, "'%s' contains a control character", key);
    snprintf(out, len, "%s", s);
    return 0;
}

static int get_bool(const struct cctx *c, const yaml_node_t *n, const char *key, int *out)
{
    const char *s = scalar(n);
    if (s && (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1")))
        *out = 1;
    else if (s && (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0")))
        *out = 0;
    else
        return err_at(c, n, "'%s' expects true or false, got '%.40s'", key, s ? s : "a mapping");
    return 0;
}

/* An integer with an optional unit (B, KB, MB, GB, KiB, MiB, GiB) in lo..hi. */
static int get_size(const struct cctx *c, const yaml_node_t *n, const char *key, uint64_t lo,
                    uint64_t hi, uint64_t *out)
{
    static const struct { const char *unit; uint64_t mul; } units[] = {
        { "", 1 }, { "B", 1 }, { "KB", 1000 }, { "MB", 1000000 }, { "GB", 1000000000 },
        { "KiB", 1024 }, { "MiB", MIB }, { "GiB", GIB },
    };
    const char *s = scalar(n);
    char *end;
    if (!s || !isdigit((unsigned char)*s))
        return err_at(c, n, "'%s' expects a size (bytes, or a number with KiB, MiB, GiB)", key);
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < TP_ARRAY_SIZE(units); i++) {
        if (strcmp(end, units[i].unit))
            continue;
        if (errno || v > hi / units[i].mul || v * units[i].mul < lo || v * units[i].mul > hi)
            return err_at(c, n, "'%s' is out of range: %s (expected %" PRIu64 " MiB..%" PRIu64
                          " GiB)", key, s, lo / MIB, hi / GIB);
        *out = v * units[i].mul;
        return 0;
    }
    return err_at(c, n, "'%s': unknown size unit in '%s' (expected B, KB, MB, GB, KiB, MiB, GiB)",
                  key, s);
}

static const char *const credential_keys[] = {
    "access_key_id", "secret_access_key", "session_token", "aws_access_key_id",
    "aws_secret_access_key", "aws_session_token", "access_key", "secret_key", NULL,
};

static int is_credential_key(const char *k)
{
    for (int i = 0; credential_keys[i]; i++)
        if (!strcasecmp(k, credential_keys[i]))
            return 1;
    return 0;
}

static int parse_s3(struct cctx *c, yaml_node_t *n)
{
    struct config_s3 *s3 = &c->cfg->s3;
    if (n->type != YAML_MAPPING_NODE)
        return err_at(c, n, "'s3' expects a mapping (keys: endpoint_url, region, addressing, "
                      "storage_classes, multipart_threshold, part_size, max_retries)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        uint64_t u;
        int ret = 0;
        if (!ks)
            return err_at(c, k, "expected a key name in s3");
        if (!strcmp(ks, "endpoint_url")) {
            ret = get_text(c, v, ks, s3->endpoint_url, sizeof(s3->endpoint_url));
            if (!ret && strncmp(s3->endpoint_url, "https://", 8) &&
                strncmp(s3->endpoint_url, "http://", 7))
                ret = err_at(c, v, "'endpoint_url' must start with https:// or http://");
            c->cfg->set |= CONFIG_SET_ENDPOINT;
        } else if (!strcmp(ks, "region")) {
            ret = get_text(c, v, ks, s3->region, sizeof(s3->region));
            c->cfg->set |= CONFIG_SET_REGION;
        } else if (!strcmp(ks, "addressing")) {
            const char *s = scalar(v);
            if (s && !strcmp(s, "path"))
                s3->addressing = CONFIG_S3_PATH;
            else if (s && !strcmp(s, "virtual"))
                s3->addressing = CONFIG_S3_VIRTUAL;
            else
                ret = err_at(c, v, "'addressing' expects path or virtual, got '%.40s'",
                             s ? s : "a mapping");
            c->cfg->set |= CONFIG_SET_ADDRESSING;
        } else if (!strcmp(ks, "storage_classes")) {
            ret = get_bool(c, v, ks, &s3->storage_classes);
            c->cfg->set |= CONFIG_SET_CLASSES;
        } else if (!strcmp(ks, "multipart_threshold")) {
            if (!(ret = get_size(c, v, ks, 5 * MIB, 5 * GIB, &u)))
                s3->multipart_threshold = u;
            c->cfg->set |= CONFIG_SET_THRESHOLD;
        } else if (!strcmp(ks, "part_size")) {
            if (!(ret = get_size(c, v, ks, 5 * MIB, 5 * GIB, &u)))
                s3->part_size = u;
            c->cfg->set |= CONFIG_SET_PART_SIZE;
        } else if (!strcmp(ks, "max_retries")) {
            const char *s = scalar(v);
            char *end;
            long r = s ? strtol(s, &end, 10) : -1;
            if (!s || !*s || *end || r < 0 || r > 20)
                ret = err_at(c, v, "'max_retries' expects an integer 0..20, got '%.40s'",
                             s ? s : "a mapping");
            else
                s3->max_retries = (int)r;
            c->cfg->set |= CONFIG_SET_RETRIES;
        } else if (is_credential_key(ks)) {
            ret = err_at(c, k, "'%s': credentials are not read from the config file; set "
                         "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) in "
                         "the environment", ks);
        } else {
            ret = err_at(c, k, "unknown key '%s' in s3 (expected one of: endpoint_url, region, "
                         "addressing, storage_classes, multipart_threshold, part_size, "
                         "max_retries)", ks);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int get_int(const struct cctx *c, const yaml_node_t *n, const char *key, long long lo,
                   long long hi, long long *out)
{
    const char *s = scalar(n);
    char *end;
    long long v;
    errno = 0;
    v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || v < lo || v > hi)
        return err_at(c, n, "'%s' expects an integer %lld..%lld, got '%.40s'", key, lo, hi,
                      s ? s : "a mapping");
    *out = v;
    return 0;
}

static int parse_serve(struct cctx *c, yaml_node_t *n)
{
    static const struct { const char *key; long long lo, hi; size_t off; } ints[] = {
        { "threads", 1, 256, offsetof(struct config_serve, threads) },
        { "queue", 0, 4096, offsetof(struct config_serve, queue) },
        { "queue_wait", 1, 3600, offsetof(struct config_serve, queue_wait) },
        { "connections", 1, 10000, offsetof(struct config_serve, connections) },
        { "idle_timeout", 1, 3600, offsetof(struct config_serve, idle_timeout) },
        { "request_timeout", 1, 86400, offsetof(struct config_serve, request_timeout) },
        { "sign_ttl", 1, 366 * 86400, offsetof(struct config_serve, sign_ttl) },
    };
    struct config_serve *sv = &c->cfg->serve;
    if (n->type != YAML_MAPPING_NODE)
        return err_at(c, n, "'serve' expects a mapping (keys: max_body, max_pixels, threads, "
                      "queue, queue_wait, connections, idle_timeout, request_timeout, sign_ttl)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        long long x;
        int ret = 1;
        if (!ks)
            return err_at(c, k, "expected a key name in serve");
        if (!strcmp(ks, "max_body"))
            ret = get_size(c, v, ks, 1024, 1ull << 40, &sv->max_body);
        else if (!strcmp(ks, "max_pixels") && !(ret = get_int(c, v, ks, 1, 1ll << 40, &x)))
            sv->max_pixels = (uint64_t)x;
        for (size_t i = 0; ret == 1 && i < TP_ARRAY_SIZE(ints); i++)
            if (!strcmp(ks, ints[i].key) && !(ret = get_int(c, v, ks, ints[i].lo, ints[i].hi, &x)))
                *(int *)(void *)((char *)sv + ints[i].off) = (int)x;
        if (ret == 1)
            ret = err_at(c, k, "unknown key '%s' in serve (expected one of: max_body, max_pixels, "
                         "threads, queue, queue_wait, connections, idle_timeout, "
                         "request_timeout, sign_ttl)", ks);
        if (ret < 0)
            return ret;
    }
    return 0;
}

static int parse_limits(struct cctx *c, yaml_node_t *n)
{
    static const struct { const char *key; unsigned bit; } bits[] = {
        { "max_pixels", LIMITS_SET_PIXELS }, { "max_file_size", LIMITS_SET_FILE },
        { "time_limit", LIMITS_SET_TIME }, { "memory_limit", LIMITS_SET_MEMORY },
    };
    if (n->type != YAML_MAPPING_NODE)
        return err_at(c, n, "'limits' expects a mapping (keys: max_pixels, max_file_size, "
                      "time_limit, memory_limit)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        if (!ks)
            return err_at(c, k, "expected a key name in limits");
        if (tplimits_parse(&c->cfg->limits, ks, scalar(v)) < 0) {
            char why[300];
            snprintf(why, sizeof(why), "%s", tp_err_detail());
            tp_err_clear();
            return err_at(c, strstr(why, "unknown key") ? k : v, "%s", why);
        }
        for (size_t i = 0; i < TP_ARRAY_SIZE(bits); i++)
            if (!strcmp(ks, bits[i].key))
                c->cfg->limits_set |= bits[i].bit;
    }
    return 0;
}

static int parse_root(struct cctx *c, yaml_node_t *root)
{
    int ret = 0;
    if (root->type != YAML_MAPPING_NODE)
        return err_at(c, root, "expected a mapping with keys catalog, store, s3");
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        if (!ks)
            return err_at(c, k, "expected a key name");
        if (!strcmp(ks, "catalog")) {
            ret = get_text(c, v, ks, c->cfg->catalog, sizeof(c->cfg->catalog));
            c->cfg->set |= CONFIG_SET_CATALOG;
        } else if (!strcmp(ks, "store")) {
            ret = get_text(c, v, ks, c->cfg->store, sizeof(c->cfg->store));
            c->cfg->set |= CONFIG_SET_STORE;
        } else if (!strcmp(ks, "s3")) {
            ret = parse_s3(c, v);
        } else if (!strcmp(ks, "serve")) {
            ret = parse_serve(c, v);
        } else if (!strcmp(ks, "limits")) {
            ret = parse_limits(c, v);
        } else if (is_credential_key(ks)) {
            ret = err_at(c, k, "'%s': credentials are not read from the config file; set "
                         "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment", ks);
        } else if (!strcmp(ks, "endpoint_url") || !strcmp(ks, "region")) {
            ret = err_at(c, k, "key '%s' goes in the s3 section (s3:\\n  %s: ...)", ks, ks);
        } else {
            ret = err_at(c, k, "unknown key '%s' (expected one of: catalog, store, s3, serve, limits)", ks);
        }
        if (ret < 0)
            return ret;
    }
    return 0;
}

/* A file that holds a secret (a password or token inside a URI) must be
 * private to its owner, as ssh demands of a key: group or world access is
 * refused. */
static int check_private(const struct config *cfg, const char *path)
{
    char red[CONFIG_URI_MAX];
    const char *key = NULL;
    if ((cfg->set & CONFIG_SET_CATALOG) &&
        strcmp(config_uri_redact(cfg->catalog, red, sizeof(red)), cfg->catalog))
        key = "catalog";
    else if ((cfg->set & CONFIG_SET_STORE) &&
             strcmp(config_uri_redact(cfg->store, red, sizeof(red)), cfg->store))
        key = "store";
    if (!key)
        return 0;
    struct stat st;
    if (stat(path, &st) < 0)
        return 0; /* read a moment ago; nothing to check */
    RETURN_ERR_IF(st.st_mode & (S_IRWXG | S_IRWXO), TP_ERR(EACCES),
                  "%s: '%s' holds a password, but the file is accessible to group or others "
                  "(mode %04o): chmod 600 it", path, key, (unsigned)(st.st_mode & 07777));
    return 0;
}

int config_load(struct config *cfg, const char *path)
{
    struct tp_buf text = { 0 };
    yaml_parser_t yp;
    yaml_document_t doc;
    struct cctx c = { cfg, &doc, path };
    int ret, have_doc = 0;

    if ((ret = file_read(path, CONFIG_MAX_BYTES, &text)) < 0) {
        if (ret == TP_ERR(ENOENT))
            tp_err_set("%s: no such config file", path);
        return ret;
    }
    if (!yaml_parser_initialize(&yp)) {
        buf_free(&text);
        return TP_ERR(ENOMEM);
    }
    yaml_parser_set_input_string(&yp, text.data, text.len);
    if (!yaml_parser_load(&yp, &doc)) {
        tp_err_set("%s:%d:%d: YAML syntax error: %s%s%s", path, (int)yp.problem_mark.line + 1,
                   (int)yp.problem_mark.column + 1, yp.problem ? yp.problem : "?",
                   yp.context ? ", " : "", yp.context ? yp.context : "");
        ret = TP_ERR_INVALIDDATA;
        goto end;
    }
    have_doc = 1;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) { /* an empty file: the defaults */
        ret = 0;
        goto done;
    }
    if ((ret = parse_root(&c, root)) < 0)
        goto end;
    if ((ret = check_private(cfg, path)) < 0)
        goto end;
done:
    snprintf(cfg->file, sizeof(cfg->file), "%s", path);
    ret = 0;
end:
    if (have_doc)
        yaml_document_delete(&doc);
    yaml_parser_delete(&yp);
    buf_free(&text);
    return ret;
}

/* ---- the environment ---------------------------------------------------- */

/* Copies env var name into out when set and non-empty: 1 copied, 0 unset. */
static int env_into(const char *name, char *out, size_t len)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    RETURN_ERR_IF(strlen(v) >= len, TP_ERR(ENAMETOOLONG), "%s is too long (at most %zu bytes)",
                  name, len - 1);
    snprintf(out, len, "%s", v);
    return 1;
}

int config_apply_env(struct config *cfg)
{
    struct config_s3 *s3 = &cfg->s3;
    int r;
    FORWARD_ERR(tplimits_apply_env(&cfg->limits, cfg->limits_set));
    if (!(cfg->set & CONFIG_SET_CATALOG)) {
        FORWARD_ERR(r = env_into("TIERPRESS_CATALOG", cfg->catalog, sizeof(cfg->catalog)));
        cfg->set |= r ? CONFIG_SET_CATALOG : 0;
        cfg->env |= r ? CONFIG_SET_CATALOG : 0;
    }
    if (!(cfg->set & CONFIG_SET_STORE)) {
        FORWARD_ERR(r = env_into("TIERPRESS_STORE", cfg->store, sizeof(cfg->store)));
        cfg->set |= r ? CONFIG_SET_STORE : 0;
        cfg->env |= r ? CONFIG_SET_STORE : 0;
    }
    if (!(cfg->set & CONFIG_SET_REGION)) {
        FORWARD_ERR(r = env_into("AWS_REGION", s3->region, sizeof(s3->region)));
        if (!r)
            FORWARD_ERR(r = env_into("AWS_DEFAULT_REGION", s3->region, sizeof(s3->region)));
        cfg->set |= r ? CONFIG_SET_REGION : 0;
        cfg->env |= r ? CONFIG_SET_REGION : 0;
    }
    if (!(cfg->set & CONFIG_SET_ENDPOINT)) {
        FORWARD_ERR(r = env_into("AWS_ENDPOINT_URL_S3", s3->endpoint_url,
                                 sizeof(s3->endpoint_url)));
        if (!r)
            FORWARD_ERR(r = env_into("AWS_ENDPOINT_URL", s3->endpoint_url,
                                     sizeof(s3->endpoint_url)));
        cfg->set |= r ? CONFIG_SET_ENDPOINT : 0;
        cfg->env |= r ? CONFIG_SET_ENDPOINT : 0;
    }
    FORWARD_ERR(env_into("AWS_ACCESS_KEY_ID", s3->access_key_id, sizeof(s3->access_key_id)));
    FORWARD_ERR(env_into("AWS_SECRET_ACCESS_KEY", s3->secret_access_key,
                         sizeof(s3->secret_access_key)));
    FORWARD_ERR(env_into("AWS_SESSION_TOKEN", s3->session_token, sizeof(s3->session_token)));
    return 0;
}

/* ---- validation --------------------------------------------------------- */

const char *config_uri_scheme(const char *uri, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    while (uri[n] && (isalnum((unsigned char)uri[n]) || strchr("+.-", uri[n])))
        n++;
    if (!n || !isalpha((unsigned char)uri[0]) || strncmp(uri + n, "://", 3) || n >= len)
        return out;
    memcpy(out, uri, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return out;
}

/* Where the key came from, for messages: the file, the variable, the default. */
static const char *origin(const struct config *cfg, unsigned bit, const char *env, char *buf,
                          size_t len)
{
    if (cfg->env & bit)
        snprintf(buf, len, "%s", env);
    else if (cfg->set & bit)
        snprintf(buf, len, "%s", cfg->file);
    else
        snprintf(buf, len, "the default");
    return buf;
}

/* Checks uri has a scheme and resolves a relative sqlite:// or file:// path. */
static int resolve_uri(struct config *cfg, char *uri, size_t len, const char *key, unsigned bit,
                       const char *env)
{
    char scheme[32], where[CONFIG_PATH_MAX + 16], red[CONFIG_URI_MAX];
    config_uri_scheme(uri, scheme, sizeof(scheme));
    if (!scheme[0]) {
        tp_err_set("%s: %s '%s' is not a URI (expected scheme://..., e.g. %s)",
                   origin(cfg, bit, env, where, sizeof(where)), key,
                   config_uri_redact(uri, red, sizeof(red)),
                   bit == CONFIG_SET_CATALOG ? "sqlite:///srv/photos/catalog.db"
                                             : "file:///srv/photos/blobs or s3://bucket/prefix");
        return TP_ERR_INVALIDDATA;
    }
    if (strcmp(scheme, "sqlite") && strcmp(scheme, "file"))
        return 0;
    const char *path = uri + strlen(scheme) + 3;
    if (!*path) {
        tp_err_set("%s: %s '%s' names no path", origin(cfg, bit, env, where, sizeof(where)), key,
                   uri);
        return TP_ERR_INVALIDDATA;
    }
    if (path[0] == '/')
        return 0;
    char abs[CONFIG_URI_MAX];
    int n = snprintf(abs, sizeof(abs), "%s://%s/%s", scheme, cfg->home, path);
    RETURN_ERR_IF(n < 0 || (size_t)n >= len, TP_ERR(ENAMETOOLONG), "%s: %s path too long",
                  origin(cfg, bit, env, where, sizeof(where)), key);
    memcpy(uri, abs, (size_t)n + 1);
    return 0;
}

int config_validate(struct config *cfg)
{
    struct config_s3 *s3 = &cfg->s3;
    FORWARD_ERR(resolve_uri(cfg, cfg->catalog, sizeof(cfg->catalog), "catalog",
                            CONFIG_SET_CATALOG, "TIERPRESS_CATALOG"));
    FORWARD_ERR(resolve_uri(cfg, cfg->store, sizeof(cfg->store), "store", CONFIG_SET_STORE,
                            "TIERPRESS_STORE"));
    if (!strncmp(cfg->store, "s3://", 5)) {
        const char *b = cfg->store + 5;
        RETURN_ERR_IF(!*b || *b == '/', TP_ERR_INVALIDDATA,
                      "store '%s' names no bucket (expected s3://bucket/prefix)", cfg->store);
    }
    RETURN_ERR_IF(s3->endpoint_url[0] && strncmp(s3->endpoint_url, "https://", 8) &&
                      strncmp(s3->endpoint_url, "http://", 7),
                  TP_ERR_INVALIDDATA, "s3 endpoint_url '%.200s' must start with https:// or "
                  "http://", s3->endpoint_url);
    if (!s3->addressing)
        s3->addressing = s3->endpoint_url[0] ? CONFIG_S3_PATH : CONFIG_S3_VIRTUAL;
    if (!s3->region[0])
        snprintf(s3->region, sizeof(s3->region), "us-east-1");
    RETURN_ERR_IF(s3->part_size < 5 * MIB || s3->part_size > 5 * GIB ||
                      s3->multipart_threshold < 5 * MIB || s3->multipart_threshold > 5 * GIB,
                  TP_ERR(EINVAL), "s3 part_size and multipart_threshold must be 5 MiB..5 GiB");
    RETURN_ERR_IF(s3->max_retries < 0 || s3->max_retries > 20, TP_ERR(EINVAL),
                  "s3 max_retries must be 0..20");
    RETURN_ERR_IF(!!s3->access_key_id[0] != !!s3->secret_access_key[0], TP_ERR_INVALIDDATA,
                  "%s is set but %s is not", s3->access_key_id[0] ? "AWS_ACCESS_KEY_ID"
                                                                  : "AWS_SECRET_ACCESS_KEY",
                  s3->access_key_id[0] ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
    return 0;
}

int config_setup(struct config *cfg, const char *home, const char *file)
{
    char path[CONFIG_PATH_MAX + 32];
    struct stat st;
    FORWARD_ERR(config_defaults(cfg, home));
    if (file) {
        FORWARD_ERR(config_load(cfg, file));
    } else {
        snprintf(path, sizeof(path), "%s/tierpress.yaml", cfg->home);
        if (stat(path, &st) == 0)
            FORWARD_ERR(config_load(cfg, path));
    }
    FORWARD_ERR(config_apply_env(cfg));
    return config_validate(cfg);
}

/* ---- secrets ------------------------------------------------------------ */

const char *config_uri_redact(const char *uri, char *out, size_t len)
{
    static const char *const secret_params[] = { "password=", "secret=", "token=", "signature=",
                                                 "sslpassword=", NULL };
    size_t n = 0;
    const char *p = uri, *auth = strstr(uri, "://"), *at = NULL, *colon = NULL;
    if (!len)
        return out;
    if (auth) {
        auth += 3;
        const char *end = auth + strcspn(auth, "/?#");
        for (const char *q = auth; q < end; q++)
            if (*q == '@')
                at = q; /* the last '@' of the authority */
    } else {
        /* not a URI (mistyped): a user:password@ anywhere before the query */
        const char *end = uri + strcspn(uri, "?#");
        at = memchr(uri, '@', (size_t)(end - uri));
        auth = uri;
        for (const char *q = uri; at && q < at; q++)
            if (*q == '/')
                auth = q + 1;
    }
    if (at)
        colon = memchr(auth, ':', (size_t)(at - auth));
#define PUT(c) do { if (n + 1 < len) out[n++] = (c); } while (0)
    while (*p) {
        if (colon && p == colon + 1) { /* user:PASSWORD@ */
            for (const char *s = "***"; *s; s++)
                PUT(*s);
            p = at;
            continue;
        }
        if (p > uri && (p[-1] == '?' || p[-1] == '&')) {
            int hit = 0;
            for (int i = 0; secret_params[i]; i++) {
                size_t kl = strlen(secret_params[i]);
                if (!strncasecmp(p, secret_params[i], kl)) {
                    for (size_t k = 0; k < kl; k++)
                        PUT(p[k]);
                    for (const char *s = "***"; *s; s++)
                        PUT(*s);
                    p += kl + strcspn(p + kl, "&#");
                    hit = 1;
                    break;
                }
            }
            if (hit)
                continue;
        }
        PUT(*p);
        p++;
    }
#undef PUT
    out[n] = '\0';
    return out;
}

int config_scheme_find(const char *kind, const char *uri, const void *table, size_t n,
                       size_t size)
{
    char scheme[32], known[128] = "", red[CONFIG_URI_MAX];
    RETURN_ERR_IF(!uri || !*uri, TP_ERR(EINVAL), "no %s URI given", kind);
    config_uri_scheme(uri, scheme, sizeof(scheme));
    for (size_t i = 0; i < n; i++) {
        const char *name = *(const char *const *)((const char *)table + i * size);
        if (!strcmp(scheme, name))
            return (int)i;
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s://",
                 i ? ", " : "", name);
    }
    config_uri_redact(uri, red, sizeof(red));
    if (scheme[0])
        tp_err_set("%s '%s': unknown scheme '%s' (known: %s)", kind, red, scheme, known);
    else
        tp_err_set("%s '%s' is not a URI (known schemes: %s)", kind, red, known);
    return TP_ERR_UNSUPPORTED;
}
