/* tierpress serve: the on-upload HTTP service. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "service.h"

static void serve_help(FILE *f)
{
    fprintf(f,
            "usage: tierpress [--home DIR] [--config FILE] serve [--listen ADDR:PORT]\n"
            "           [--threads N] [--queue N] [--queue-wait S] [--connections N]\n"
            "           [--idle-timeout S] [--request-timeout S] [--max-body BYTES]\n"
            "           [--max-pixels N] [--tokens FILE] [--signing-key FILE] [--sign-ttl S]\n"
            "           [--no-isolate] [--no-pool]\n"
            "\n"
            "Serves the home over HTTP (README \"Service\"): POST /v1/assets stores,\n"
            "catalogs and makes the proxies of one upload; GET /v1/assets/ID[/original|\n"
            "/renditions/NAME]; /healthz /readyz /metrics; a status page at /.\n"
            "SIGTERM/SIGINT: stop accepting, finish in-flight requests, exit 0.\n"
            "\n"
            "  --listen ADDR:PORT    default 127.0.0.1:8080 (port 0: any free port)\n"
            "  --threads N           concurrent decodes/encodes (default: cores)\n"
            "  --queue N             uploads waiting for a decode slot before 503 (16)\n"
            "  --queue-wait S        longest wait in that queue (30)\n"
            "  --connections N       open connections (256)\n"
            "  --idle-timeout S      an idle connection is closed after S s (30)\n"
            "  --request-timeout S   an upload taking longer is dropped (300)\n"
            "  --max-body BYTES      upload size limit, 413 beyond (268435456)\n"
            "  --max-pixels N        pixel limit of an upload, 413 beyond (100000000)\n"
            "  --tokens FILE         'OWNER TOKEN' lines (else $TIERPRESS_TOKENS_FILE,\n"
            "                        $TIERPRESS_TOKENS); without any: loopback only\n"
            "  --signing-key FILE    HMAC key of signed rendition URLs (else\n"
            "                        $TIERPRESS_SIGNING_KEY)\n"
            "  --sign-ttl S          lifetime of the signed URLs in answers (3600)\n"
            "  --no-isolate          decode uploads in the server's threads instead of a\n"
            "                        limited child process each (faster; a codec crash\n"
            "                        then takes the server down)\n"
            "  --no-pool             a fresh limited child process per upload instead of\n"
            "                        resident ones (one per decode slot, replaced after a\n"
            "                        failure or a few hundred uploads)\n");
}

static void on_ready(const char *url)
{
    printf("listening on %s/\n", url);
    fflush(stdout);
}

static int int_arg(const char *opt, const char *v, long long lo, long long hi, long long *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || end == v || n < lo || n > hi)
        return cli_usage_error("serve", "%s: '%s' is not a number in %lld..%lld", opt, v, lo, hi);
    *out = n;
    return 0;
}

int cmd_serve(const struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { "queue", required_argument, NULL, 'q' },
        { "queue-wait", required_argument, NULL, 'w' },
        { "connections", required_argument, NULL, 'c' },
        { "idle-timeout", required_argument, NULL, 'i' },
        { "request-timeout", required_argument, NULL, 'r' },
        { "max-body", required_argument, NULL, 'b' },
        { "max-pixels", required_argument, NULL, 'p' },
        { "tokens", required_argument, NULL, 'T' },
        { "signing-key", required_argument, NULL, 'k' },
        { "sign-ttl", required_argument, NULL, 's' },
        { "no-isolate", no_argument, NULL, 'I' },
        { "no-pool", no_argument, NULL, 'P' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct service_opts o;
    long long v;
    int c, ret;

    service_defaults(&o);
    o.ready = on_ready;
    /* the home's configuration (serve: section), then the options */
    const struct config_serve *sv = &cli->cfg->serve;
    if (sv->max_body) o.max_body_bytes = sv->max_body;
    if (sv->max_pixels) o.max_pixels = sv->max_pixels;
    if (sv->threads) o.threads = sv->threads;
    if (sv->queue >= 0) o.queue = sv->queue;
    if (sv->queue_wait) o.queue_wait_s = sv->queue_wait;
    if (sv->connections) o.connections = sv->connections;
    if (sv->idle_timeout) o.idle_timeout_s = sv->idle_timeout;
    if (sv->request_timeout) o.request_timeout_s = sv->request_timeout;
    if (sv->sign_ttl) o.sign_ttl_s = sv->sign_ttl;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        ret = 0;
        switch (c) {
        case 'l': snprintf(o.listen, sizeof(o.listen), "%s", optarg); break;
        case 't': if (!(ret = int_arg("--threads", optarg, 1, 256, &v))) o.threads = (int)v; break;
        case 'q': if (!(ret = int_arg("--queue", optarg, 0, 4096, &v))) o.queue = (int)v; break;
        case 'w': if (!(ret = int_arg("--queue-wait", optarg, 1, 3600, &v))) o.queue_wait_s = (int)v; break;
        case 'c': if (!(ret = int_arg("--connections", optarg, 1, 10000, &v))) o.connections = (int)v; break;
        case 'i': if (!(ret = int_arg("--idle-timeout", optarg, 1, 3600, &v))) o.idle_timeout_s = (int)v; break;
        case 'r': if (!(ret = int_arg("--request-timeout", optarg, 1, 86400, &v))) o.request_timeout_s = (int)v; break;
        case 'b': if (!(ret = int_arg("--max-body", optarg, 1024, 1ll << 40, &v))) o.max_body_bytes = (uint64_t)v; break;
        case 'p': if (!(ret = int_arg("--max-pixels", optarg, 1, 1ll << 40, &v))) o.max_pixels = (uint64_t)v; break;
        case 'T': o.tokens_file = optarg; break;
        case 'k': o.signing_key_file = optarg; break;
        case 's': if (!(ret = int_arg("--sign-ttl", optarg, 1, 86400 * 366, &v))) o.sign_ttl_s = (int)v; break;
        case 'I': o.isolate = 0; break;
        case 'P': o.pool = 0; break;
        case 'h': serve_help(stdout); return 0;
        default: return cli_usage_error("serve", "bad option");
        }
        if (ret)
            return ret;
    }
    if (optind < argc)
        return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if ((ret = service_run(cli->cfg, &o)) < 0)
        return cli_fail(cli->home, ret);
    return 0;
}
