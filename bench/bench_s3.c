/* Large-object transfers through the blob store, for bench/s3.sh:
 *   bench_s3 put FILE URI   streams FILE into the store at URI (sha256 while
 *                           streaming, then PUT / multipart); prints
 *                           "<seconds> <hash>"
 *   bench_s3 get HASH URI   streams the blob to /dev/null, checking its
 *                           sha256; prints "<seconds>"
 *   bench_s3 rm HASH URI    deletes it
 * URI: s3://bucket/prefix (s3 settings from the environment: AWS_*,
 * storage classes off) or file:///dir. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "err.h"
#include "store.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct store *s = NULL;
    char hash[SHA256_HEX_LEN + 1], msg[600];
    int ret, fd;
    if (argc != 4) {
        fprintf(stderr, "usage: bench_s3 put FILE URI | get HASH URI | rm HASH URI\n");
        return 2;
    }
    if ((ret = config_defaults(&cfg, "/nonexistent-home")) < 0 || (ret = config_apply_env(&cfg)) < 0)
        goto fail;
    cfg.s3.storage_classes = 0;
    if (cfg.s3.endpoint_url[0])
        cfg.s3.addressing = CONFIG_S3_PATH;
    if ((ret = store_open(&s, argv[3], &cfg)) < 0)
        goto fail;
    double t0 = now();
    if (!strcmp(argv[1], "put")) {
        if ((ret = store_put_file(s, argv[2], NULL, NULL, hash)) < 0)
            goto fail;
        printf("%.3f %s\n", now() - t0, hash);
    } else if (!strcmp(argv[1], "get")) {
        if ((fd = open("/dev/null", O_WRONLY)) < 0)
            return 1;
        ret = store_get_fd(s, argv[2], fd);
        close(fd);
        if (ret < 0)
            goto fail;
        printf("%.3f\n", now() - t0);
    } else if ((ret = store_remove(s, argv[2])) < 0) {
        goto fail;
    }
    store_close(&s);
    return 0;
fail:
    fprintf(stderr, "bench_s3: %s\n", tp_strerror(ret, msg, sizeof(msg)));
    store_close(&s);
    return 1;
}
