/* config: defaults, relative URIs, file over environment, redaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "unit.h"

TEST(config_uri_redact)
{
    char b[256];
    CHECK(!strcmp(config_uri_redact("postgresql://tp:s3cr3t@db:5432/photos", b, sizeof(b)),
                  "postgresql://tp:***@db:5432/photos"));
    /* an '@' inside the password: the authority ends at the last one */
    CHECK(!strcmp(config_uri_redact("postgresql://tp:p@ss@db/photos", b, sizeof(b)),
                  "postgresql://tp:***@db/photos"));
    CHECK(!strcmp(config_uri_redact("postgresql://tp@db/photos?password=x&sslmode=require", b,
                                    sizeof(b)),
                  "postgresql://tp@db/photos?password=***&sslmode=require"));
    CHECK(!strcmp(config_uri_redact("s3://bucket/a@b:c", b, sizeof(b)), "s3://bucket/a@b:c"));
    CHECK(!strcmp(config_uri_redact("sqlite:///srv/c.db", b, sizeof(b)), "sqlite:///srv/c.db"));
    config_uri_redact("postgresql://tp:s3cr3t@db/photos", b, 12); /* truncated, terminated */
    CHECK(strlen(b) == 11 && !strstr(b, "s3cr3t"));
    CHECK(!strcmp(config_uri_scheme("S3://b/p", b, sizeof(b)), "s3"));
    CHECK(!strcmp(config_uri_scheme("/srv/blobs", b, sizeof(b)), ""));
    CHECK(!strcmp(config_uri_scheme("c:/x", b, sizeof(b)), ""));
}

TEST(config_files_and_env)
{
    static struct config c;
    char dir[] = "/tmp/tp-config-XXXXXX", path[128], cwd[1024];
    FILE *f;
    REQUIRE(mkdtemp(dir));
    unsetenv("TIERPRESS_CATALOG");
    unsetenv("TIERPRESS_STORE");
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_S3");
    /* defaults: absolute, in the home */
    REQUIRE(config_setup(&c, dir, NULL) == 0);
    CHECK(!strncmp(c.catalog, "sqlite:///tmp/tp-config-", 24) && strstr(c.catalog, "/catalog.db"));
    CHECK(!strncmp(c.store, "file:///tmp/tp-config-", 22) && strstr(c.store, "/blobs"));
    CHECK(c.s3.addressing == CONFIG_S3_VIRTUAL && !strcmp(c.s3.region, "us-east-1"));
    /* a relative home becomes absolute */
    REQUIRE(getcwd(cwd, sizeof(cwd)));
    REQUIRE(config_defaults(&c, "./some/home/") == 0);
    CHECK(!strncmp(c.home, cwd, strlen(cwd)) && !strcmp(c.home + strlen(cwd), "/some/home"));
    /* the home's tierpress.yaml, relative URIs, then env fills in the rest */
    snprintf(path, sizeof(path), "%s/tierpress.yaml", dir);
    REQUIRE((f = fopen(path, "w")));
    fprintf(f, "catalog: sqlite://db/c.db\ns3:\n  endpoint_url: http://127.0.0.1:8080\n"
               "  storage_classes: no\n  multipart_threshold: 5 MiB\n");
    fclose(f);
    setenv("TIERPRESS_CATALOG", "sqlite:///elsewhere.db", 1);
    setenv("TIERPRESS_STORE", "s3://bucket/prefix", 1);
    setenv("AWS_DEFAULT_REGION", "ap-south-1", 1);
    REQUIRE(config_setup(&c, dir, NULL) == 0);
    CHECK(!strcmp(c.file, path));
    char want[256];
    snprintf(want, sizeof(want), "sqlite://%s/db/c.db", dir);
    CHECK(!strcmp(c.catalog, want)); /* the file wins over TIERPRESS_CATALOG */
    CHECK(!strcmp(c.store, "s3://bucket/prefix") && (c.env & CONFIG_SET_STORE) &&
          !(c.env & CONFIG_SET_CATALOG));
    CHECK(c.s3.addressing == CONFIG_S3_PATH && !c.s3.storage_classes &&
          c.s3.multipart_threshold == 5u << 20 && !strcmp(c.s3.region, "ap-south-1"));
    /* s3:// without a bucket */
    setenv("TIERPRESS_STORE", "s3:///prefix", 1);
    CHECK(config_setup(&c, dir, NULL) == TP_ERR_INVALIDDATA);
    tp_err_clear();
    unsetenv("TIERPRESS_CATALOG");
    unsetenv("TIERPRESS_STORE");
    unsetenv("AWS_DEFAULT_REGION");
    unlink(path);
    rmdir(dir);
}
