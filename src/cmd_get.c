/* tierpress get ASSET [--rendition NAME] -o FILE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "store.h"

static void get_help(FILE *f)
{
    fprintf(f, "usage: tierpress get ASSET [--rendition NAME] -o FILE\n"
               "\n"
               "Writes the bytes a server would serve for the asset (an id, or its\n"
               "sha256): without --rendition the original (its current representation),\n"
               "else the named rendition: thumb, preview, poster, cold, ...\n"
               "FILE is written atomically; '-' writes to standard output.\n"
               "\n"
               "  -r, --rendition NAME   a rendition instead of the original\n"
               "  -o, --output FILE      where to write (required)\n"
               "  --verify               recompute the blob's sha256 before writing\n");
}

int cmd_get(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "rendition", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "verify", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *rend = NULL, *out = NULL, *id_arg;
    struct home home;
    struct catalog_asset a;
    struct catalog_rendition r;
    struct tp_buf b = { 0 };
    const char *blob;
    int c, ret, verify = 0;

    while ((c = getopt_long(argc, argv, "hr:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rend = optarg; break;
        case 'o': out = optarg; break;
        case 'V': verify = 1; break;
        case 'h': get_help(stdout); return 0;
        default: return cli_usage_error("get", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("get", "expected one ASSET");
    if (!out)
        return cli_usage_error("get", "-o FILE is required");
    id_arg = argv[optind];
    if ((ret = home_open(&home, cli->home)) < 0)
        return cli_fail(cli->home, ret);
    if (sha256_hex_valid(id_arg)) {
        ret = catalog_asset_find(home.cat, id_arg, &a);
    } else {
        char *end;
        long long id = strtoll(id_arg, &end, 10);
        if (!*id_arg || *end || id <= 0) {
            home_close(&home);
            return cli_usage_error("get", "ASSET must be an asset id or a sha256, not '%s'",
                                   id_arg);
        }
        ret = catalog_asset_get(home.cat, id, &a);
    }
    if (ret == TP_ERR_NOTFOUND)
        tp_err_set("no asset %s in %s", id_arg, cli->home);
    if (ret < 0)
        goto end;
    blob = a.current_blob;
    if (rend) {
        if ((ret = catalog_rendition_get(home.cat, a.id, rend, &r)) < 0)
            goto end;
        blob = r.blob;
    }
    /* TODO(cold tier): when current_blob is a lossless recompression, the
     * original is reconstructed here instead of served as stored. */
    if (verify && (ret = store_verify(home.store, blob)) < 0)
        goto end;
    if ((ret = store_get(home.store, blob, &b)) < 0)
        goto end;
    if (!strcmp(out, "-"))
        ret = fwrite(b.data, 1, b.len, stdout) == b.len && fflush(stdout) == 0 ? 0 : TP_ERR(EIO);
    else
        ret = file_write_atomic(out, b.data, b.len);
    if (ret < 0) {
        buf_free(&b);
        home_close(&home);
        return cli_fail(out, ret);
    }
end:
    buf_free(&b);
    home_close(&home);
    return ret < 0 ? cli_fail(id_arg, ret) : 0;
}
