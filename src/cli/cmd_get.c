/* tierpress get ASSET [--rendition NAME | --representation | --pair FILE2] -o FILE */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "serve.h"
#include "store.h"

static void get_help(FILE *f)
{
    fprintf(f, "usage: tierpress get ASSET [--rendition NAME | --representation | --pair FILE2]\n"
               "                     -o FILE\n"
               "\n"
               "Writes the bytes a server would serve for the asset (an id, or its\n"
               "sha256).  Without options, the original: the uploaded bytes while they\n"
               "are kept; once only a lossless JPEG XL recompression is left, the JPEG\n"
               "rebuilt from it (checked against the upload's sha256: an error, never\n"
               "wrong bytes); else the current representation.  --rendition gives a\n"
               "rendition instead: thumb, preview, poster, cold, ...\n"
               "Every blob read is checked against its sha256 first: a corrupt blob is\n"
               "an error naming the asset and the blob, and nothing is written.\n"
               "FILE is written atomically with mode 0666 minus the umask; '-' writes\n"
               "to standard output.\n"
               "A Live Photo (a still and its clip) or a motion-photo pair is one asset\n"
               "in two halves ('pair' in ls --json): --pair FILE2 also writes the other\n"
               "half's original to FILE2 (either half may be named); an asset in no pair\n"
               "is an error, and when either half fails nothing is left written.\n"
               "\n"
               "  -r, --rendition NAME   a rendition instead of the original\n"
               "  --representation       the current representation as stored (e.g. the\n"
               "                         JPEG XL that replaced a JPEG), not reconstructed\n"
               "  -o, --output FILE      where to write (required)\n"
               "  --pair FILE2           also the other half of the asset's pair, to FILE2\n"
               "  --no-verify            serve the stored bytes without checking them\n");
}

int cmd_get(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "rendition", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "verify", no_argument, NULL, 'V' },     /* the default; kept for scripts */
        { "no-verify", no_argument, NULL, 'N' },
        { "representation", no_argument, NULL, 'R' },
        { "pair", required_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *rend = NULL, *out = NULL, *pair_out = NULL, *id_arg;
    struct home home;
    struct catalog_asset a, pa;
    int64_t partner = 0;
    struct catalog_rendition r;
    struct tp_buf b = { 0 };
    const char *blob;
    int c, ret, repr = 0;
    unsigned flags = 0;

    while ((c = getopt_long(argc, argv, "hr:o:", opts, NULL)) != -1) {
        switch (c) {
        case 'r': rend = optarg; break;
        case 'o': out = optarg; break;
        case 'V': flags &= ~(unsigned)SERVE_NO_VERIFY; break;
        case 'N': flags |= SERVE_NO_VERIFY; break;
        case 'R': repr = 1; break;
        case 'P': pair_out = optarg; break;
        case 'h': get_help(stdout); return 0;
        default: return cli_usage_error("get", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("get", "expected one ASSET");
    if (!out)
        return cli_usage_error("get", "-o FILE is required");
    if (rend && repr)
        return cli_usage_error("get", "--rendition and --representation exclude each other");
    if (pair_out && (rend || repr))
        return cli_usage_error("get", "--pair serves originals: not with --%s",
                               rend ? "rendition" : "representation");
    if (pair_out && (!strcmp(pair_out, "-") ? !strcmp(out, "-") : !strcmp(pair_out, out)))
        return cli_usage_error("get", "--pair FILE2 and -o FILE must differ");
    id_arg = argv[optind];
    if ((ret = home_open_mode(&home, cli->cfg, HOME_READONLY)) < 0)
        return cli_fail(cli->home, ret);
    if ((ret = catalog_asset_resolve(home.cat, id_arg, &a)) == TP_ERR(EINVAL)) {
        home_close(&home);
        return cli_usage_error("get", "ASSET must be an asset id or a sha256 (or the prefix ls "
                               "prints), not '%s'", id_arg);
    }
    if (ret == TP_ERR_NOTFOUND)
        tp_err_set("no asset %s in %s", id_arg, cli->home);
    if (ret < 0)
        goto end;
    if (pair_out) { /* the other half, found before anything is written */
        if ((ret = catalog_pair_get(home.cat, a.id, &partner)) == 0) {
            ret = TP_ERR_NOTFOUND;
            tp_err_set("asset %lld is in no Live Photo / motion photo pair", (long long)a.id);
        }
        if (ret < 0 || (ret = catalog_asset_get(home.cat, partner, &pa)) < 0)
            goto end;
    }
    blob = a.current_blob;
    if (rend) {
        if ((ret = catalog_rendition_get(home.cat, a.id, rend, &r)) < 0)
            goto end;
        blob = r.blob;
    } else if (!repr && a.original_blob[0]) {
        blob = a.original_blob;
    }
    /* streamed to the file, its sha256 checked on the way (unless --no-verify) */
    if (rend || repr)
        ret = serve_blob_write(&home, a.id, blob, flags, out);
    else
        ret = serve_original_write(&home, &a, flags, out); /* reconstructs when it must */
    if (ret >= 0 && pair_out && (ret = serve_original_write(&home, &pa, flags, pair_out)) < 0) {
        char why[512];
        snprintf(why, sizeof(why), "the pair's other half (asset %lld): %s", (long long)pa.id,
                 tp_err_detail());
        tp_err_set("%s", why);
        if (strcmp(out, "-"))
            unlink(out); /* neither half alone */
    }
end:
    buf_free(&b);
    home_close(&home);
    return ret < 0 ? cli_fail(id_arg, ret) : 0;
}
