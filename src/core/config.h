#ifndef TP_SRC_CONFIG_H
#define TP_SRC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* Where a home keeps its catalog and its blobs, and how to reach them.
 *
 * Sources, in this order (settings then open, as dav1d_default_settings +
 * dav1d_open):
 *   1. config_defaults(&cfg, home): the embedded default, sqlite catalog
 *      <home>/catalog.db and file blobs <home>/blobs;
 *   2. config_load(&cfg, FILE): `--config FILE`, else <home>/tierpress.yaml
 *      when it exists (config_setup picks);
 *   3. config_apply_env(&cfg): the environment fills in what the file left
 *      unset: TIERPRESS_CATALOG, TIERPRESS_STORE, AWS_REGION (else
 *      AWS_DEFAULT_REGION), AWS_ENDPOINT_URL; credentials come only from
 *      AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN;
 *   4. config_validate(&cfg): relative URIs resolved against the home,
 *      ranges checked, automatic settings decided.
 *
 * The struct is plain bytes (no pointers): the runner copies it into its
 * sandboxed workers, which open the same backends from it.  Secrets are
 * never printed: config_uri_redact() for URIs, and the credential fields
 * are only read by the S3 backend's signer. */

#define CONFIG_PATH_MAX 1024
#define CONFIG_URI_MAX 1280

/* config_s3.addressing */
#define CONFIG_S3_PATH 1    /* https://endpoint/bucket/key */
#define CONFIG_S3_VIRTUAL 2 /* https://bucket.endpoint/key */

/* The `s3:` section, read by the S3 backend. */
struct config_s3 {
    char endpoint_url[CONFIG_URI_MAX]; /* "" (default): AWS, https://s3.<region>.amazonaws.com;
                                        * http:// only when written so */
    char region[64];                   /* default "us-east-1" */
    int addressing;                    /* CONFIG_S3_PATH | CONFIG_S3_VIRTUAL; default: path
                                        * when endpoint_url is set, else virtual */
    int storage_classes;               /* 0/1 (default 1): send x-amz-storage-class and change
                                        * classes with CopyObject; 0 for servers that only know
                                        * STANDARD (Swift's s3api): set_class is then a no-op */
    uint64_t multipart_threshold;      /* bytes, 5 MiB..5 GiB (default 16 MiB): larger objects
                                        * go up in parts */
    uint64_t part_size;                /* bytes, 5 MiB..5 GiB (default 16 MiB) */
    int max_retries;                   /* 0..20 (default 5): retries of a failed request */
    /* credentials: from the environment only (never from a file, never printed) */
    char access_key_id[128];
    char secret_access_key[256];
    char session_token[4096];
};

/* The `serve:` section (tierpress serve's limits; README "Service").
 * 0 = not given: the service's default applies; its options override. */
struct config_serve {
    uint64_t max_body;        /* upload size limit, 1 KiB..1 TiB (default 256 MiB) */
    uint64_t max_pixels;      /* 1..2^40 (default 100 000 000) */
    int threads;              /* concurrent decodes 1..256 (default: cores) */
    int queue;                /* waiting uploads 0..4096 (default 16); -1: not given */
    int queue_wait;           /* seconds 1..3600 (default 30) */
    int connections;          /* 1..10000 (default 256) */
    int idle_timeout;         /* seconds 1..3600 (default 30) */
    int request_timeout;      /* seconds 1..86400 (default 300) */
    int sign_ttl;             /* seconds 1..31622400 (default 3600) */
};

/* config.set: which keys the file or the environment gave (the rest are defaults) */
#define CONFIG_SET_CATALOG (1u << 0)
#define CONFIG_SET_STORE (1u << 1)
#define CONFIG_SET_ENDPOINT (1u << 2)
#define CONFIG_SET_REGION (1u << 3)
#define CONFIG_SET_ADDRESSING (1u << 4)
#define CONFIG_SET_CLASSES (1u << 5)
#define CONFIG_SET_THRESHOLD (1u << 6)
#define CONFIG_SET_PART_SIZE (1u << 7)
#define CONFIG_SET_RETRIES (1u << 8)

struct config {
    char home[CONFIG_PATH_MAX];    /* absolute path of the home directory */
    char file[CONFIG_PATH_MAX];    /* the config file loaded; "" when none */
    char catalog[CONFIG_URI_MAX];  /* sqlite:///abs/path.db, postgresql://... */
    char store[CONFIG_URI_MAX];    /* file:///abs/dir, s3://bucket/prefix */
    struct config_s3 s3;
    struct config_serve serve;
    unsigned set;                  /* CONFIG_SET_*: given by the file or the environment */
    unsigned env;                  /* CONFIG_SET_*: given by the environment */
};

/* The embedded default for the home directory home (made absolute against
 * the working directory; it need not exist).  TP_ERR(ENAMETOOLONG) when
 * it does not fit. */
int config_defaults(struct config *cfg, const char *home);
/* Reads the YAML file at path over cfg (keys: catalog, store, s3: {...}).
 * Errors name path:line:column and the key; unknown keys and credentials
 * in the file are errors.  Relative URIs are kept for config_validate(). */
int config_load(struct config *cfg, const char *path);
/* Fills in from the environment (see the top of this file). */
int config_apply_env(struct config *cfg);
/* Resolves sqlite:// and file:// paths not starting with '/' against the
 * home, checks every URI has a scheme ("scheme://"), decides automatic
 * settings.  Errors name the file (or the environment variable) and key. */
int config_validate(struct config *cfg);

/* The whole sequence: defaults for home, then file (when NULL,
 * <home>/tierpress.yaml if it exists), the environment, validate. */
int config_setup(struct config *cfg, const char *home, const char *file);

/* Copies uri into out with any password (scheme://user:PASSWORD@host)
 * and secret query values (password=, secret=, token=, signature=)
 * replaced by "***".  Returns out. */
const char *config_uri_redact(const char *uri, char *out, size_t len);
/* The scheme of uri ("sqlite", "file", "s3", ...) into out ("" when uri
 * has no "scheme://"); returns out. */
const char *config_uri_scheme(const char *uri, char *out, size_t len);
/* The backend tables (catalog.c, store.c) are arrays of n entries of size
 * bytes, each starting with its `const char *scheme`.  Returns the index of
 * uri's scheme, or a negative error with a message naming kind ("catalog",
 * "store"), the URI (redacted) and the known schemes: TP_ERR(EINVAL) for no
 * URI, TP_ERR_UNSUPPORTED for an unknown scheme or no scheme at all. */
int config_scheme_find(const char *kind, const char *uri, const void *table, size_t n,
                       size_t size);

#endif /* TP_SRC_CONFIG_H */
