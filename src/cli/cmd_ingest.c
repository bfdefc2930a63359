/* tierpress ingest PATH... [--json] [--policy P] [--thumb N] [--preview N] [--proxy SPEC]
 *                  [--no-isolate] */
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "asset_json.h"
#include "catalog.h"
#include "cli.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "ingest.h"
#include "pairs.h"
#include "json.h"
#include "log.h"
#include "policy.h"
#include "sandbox.h"
#include "units.h"

static void ingest_help(FILE *f)
{
    fprintf(f,
        "usage: tierpress ingest PATH... [options]\n"
        "\n"
        "Stores each file once (content-addressed by sha256), records its metadata\n"
        "in the catalog and makes its browse proxies from a single decode: by\n"
        "default 'preview' (2048 px JPEG q85) and 'thumb' (256 px WebP q80), upright,\n"
        "sRGB, without GPS.  Videos (MP4, MOV, 3GP, WebM, MKV) get the same proxies\n"
        "of their poster frame, 'preview' becoming 'poster' (JPEG), plus 'preview':\n"
        "an H.264/AAC MP4 of at most 720p, upright, without location.\n"
        "Directories are walked recursively; hidden files, and FIFOs, sockets and\n"
        "devices inside them, are skipped (with a message), and so are files\n"
        "inside them that no codec recognises (a README): they are counted apart\n"
        "and do not change the exit status.  A file\n"
        "already in the catalog is reported as a duplicate and\n"
        "nothing is stored again.  A file that cannot be read or decoded gets an\n"
        "error; the others go on, and the exit status is 1.\n"
        "Each file is probed, decoded and its proxies made in a sandboxed worker\n"
        "process (system-call filter, memory and time limits, as serve's uploads):\n"
        "a hostile file that makes the decoder misbehave fails alone, with\n"
        "'sandbox: ...' as its reason.\n"
        "\n"
        "  --json          one JSON object per file, one per line\n"
        "  --owner NAME    the owner of the new assets (default 'local'); content\n"
        "                  is deduplicated per owner, blobs across owners\n"
        "  --thumb N       longer edge of the thumb proxy (default 256)\n"
        "  --preview N     longer edge of the preview proxy (default 2048)\n"
        "  --proxy SPEC    add or redefine a proxy: NAME:FORMAT:EDGE[:QUALITY],\n"
        "                  e.g. medium:jpeg:1024:85 (repeatable); FORMAT mp4: the\n"
        "                  clip preview of a motion photo's embedded video (made\n"
        "                  only for motion photos), e.g. motion:mp4:720\n"
        "  --policy P      the proxies listed under the policy's 'defaults: proxies:'\n"
        "                  instead of the built-in ones (later --thumb/--preview/\n"
        "                  --proxy options adjust that set)\n"
        "  --no-isolate    decode in this process instead of the sandboxed worker\n"
        "                  (faster; a codec crash then ends the whole ingest)\n");
}

struct run {
    struct home *home;
    const struct ingest_opts *o;
    int json;
    int ok, dup, failed, skipped, not_media;
    uint64_t bytes_new;
    struct pair_item *items;    /* what this ingest catalogued, for pairs_link */
    char **paths, **cids;
    int nitems, cap;
};

/* Remembers an ingested file for the Live Photo pairing (best effort). */
static void remember(struct run *r, const char *path, const struct ingest_result *res)
{
    if (r->nitems == r->cap) {
        int cap = r->cap ? 2 * r->cap : 64;
        struct pair_item *it = realloc(r->items, (size_t)cap * sizeof(*it));
        if (!it)
            return;
        r->items = it;
        char **p = realloc(r->paths, (size_t)cap * sizeof(*p));
        if (!p)
            return;
        r->paths = p;
        if (!(p = realloc(r->cids, (size_t)cap * sizeof(*p))))
            return;
        r->cids = p;
        r->cap = cap;
    }
    if (!(r->paths[r->nitems] = strdup(path)))
        return;
    if (!(r->cids[r->nitems] = strdup(res->content_id))) {
        free(r->paths[r->nitems]);
        return;
    }
    r->items[r->nitems].path = r->paths[r->nitems];
    r->items[r->nitems].content_id = r->cids[r->nitems];
    r->items[r->nitems++].asset_id = res->asset_id;
}

/* One file's line of `ingest --json`: file, asset, duplicate, sha256, kind,
 * format, width, height, bytes, duration (videos), proxies[] (renditions,
 * asset_rendition_json). */
static json_t *result_json(const char *path, const struct ingest_result *res)
{
    json_t *o = json_object(), *px = json_array();
    int bad = json_set_text(o, "file", path) < 0 ||
              json_set_int(o, "asset", (long long)res->asset_id) < 0 ||
              json_set_bool(o, "duplicate", res->duplicate) < 0 ||
              json_set_text(o, "sha256", res->sha256) < 0 || json_set_text(o, "kind", res->kind) < 0 ||
              json_set_text(o, "format", res->format) < 0 ||
              json_set_int(o, "width", res->width) < 0 || json_set_int(o, "height", res->height) < 0 ||
              json_set_int(o, "bytes", (long long)res->bytes) < 0;
    if (res->duration > 0)
        bad = bad || json_set_real(o, "duration", res->duration) < 0;
    if (res->content_id[0])
        bad = bad || json_set_text(o, "content_id", res->content_id) < 0;
    if (res->pair)
        bad = bad || json_set_int(o, "pair", (long long)res->pair) < 0;
    for (int i = 0; !bad && i < res->n_proxies; i++) {
        const struct ingest_proxy *p = &res->proxies[i];
        bad = json_array_append_new(px, asset_rendition_json(p->name, p->format, p->width,
                                                             p->height, p->bytes, p->blob, -1)) < 0;
    }
    bad = bad || json_object_set(o, "proxies", px) < 0;
    json_decref(px);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A file that was not ingested: {"file", key: why}, key "skipped" or "error". */
static json_t *not_ingested_json(const char *path, const char *key, const char *why)
{
    json_t *o = json_object();
    if (json_set_text(o, "file", path) < 0 || json_set_text(o, key, why) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void print_result(const struct run *r, const char *path, const struct ingest_result *res)
{
    if (r->json) {
        if (json_print(stdout, result_json(path, res)) < 0)
            tp_log(TP_LOG_ERROR, "%s: out of memory writing its JSON line", path);
        return;
    }
    printf("%s: asset %lld%s, %s %dx%d, %llu bytes", path, (long long)res->asset_id,
           res->duplicate ? " (duplicate, nothing stored)" : "", res->format, res->width,
           res->height, (unsigned long long)res->bytes);
    if (res->duration > 0)
        printf(", %.2f s", res->duration);
    if (res->pair)
        printf(", Live Photo with asset %lld", (long long)res->pair);
    for (int i = 0; i < res->n_proxies; i++)
        printf("%s %s %dx%d %s", i ? "," : "; proxies:", res->proxies[i].name,
               res->proxies[i].width, res->proxies[i].height, res->proxies[i].format);
    printf("\n");
}

/* top: named on the command line; a file found in a walked directory whose
 * content no codec recognises (a README, a .DS_Store) is skipped, not failed. */
static void one_file(struct run *r, const char *path, int top)
{
    struct ingest_result res;
    int ret = ingest_file(r->home, path, r->o, &res);
    if (ret == TP_ERR_UNKNOWNFMT && !top) {
        tp_err_clear();
        fprintf(stderr, "tierpress: %s: skipped: not a media file\n", path);
        if (r->json) {
            json_print(stdout, not_ingested_json(path, "skipped", "not a media file"));
        }
        r->not_media++;
        return;
    }
    if (ret < 0) {
        char msg[768];
        tp_strerror(ret, msg, sizeof(msg));
        cli_error_line("tierpress: %s: %s", path, msg);
        tp_err_clear();
        if (r->json) {
            json_print(stdout, not_ingested_json(path, "error", msg));
        }
        r->failed++;
        return;
    }
    remember(r, path, &res);
    if (res.duplicate)
        r->dup++;
    else {
        r->ok++;
        r->bytes_new += res.bytes;
    }
    print_result(r, path, &res);
    fflush(stdout);
}

static int skip_name(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Files in sorted order; hidden entries skipped; symlinks inside a walked
 * directory are not followed (no loops). */
static void walk(struct run *r, const char *path, int top)
{
    struct stat st;
    if ((top ? stat(path, &st) : lstat(path, &st)) < 0) {
        cli_error_line("tierpress: %s: %s", path, strerror(errno));
        r->failed++;
        return;
    }
    if (S_ISLNK(st.st_mode))
        return;
    if (!top && !S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        /* a FIFO, socket or device inside a directory: never opened */
        fprintf(stderr, "tierpress: %s: skipped: %s, not a regular file\n", path,
                file_type_name(st.st_mode));
        r->skipped++;
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        one_file(r, path, top);
        return;
    }
    struct dirent **list = NULL;
    int n = scandir(path, &list, skip_name, alphasort);
    if (n < 0) {
        cli_error_line("tierpress: %s: %s", path, strerror(errno));
        r->failed++;
        return;
    }
    for (int i = 0; i < n; i++) {
        size_t len = strlen(path) + strlen(list[i]->d_name) + 2;
        char *child = tp_malloc(len);
        if (child) {
            snprintf(child, len, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/",
                     list[i]->d_name);
            walk(r, child, 0);
            tp_free(child);
        }
        free(list[i]);
    }
    free(list);
}

/* Replaces s with the proxies under the policy's defaults. */
static int policy_proxies(const char *path, struct proxy_set *s)
{
    struct policy p;
    char diag[512];
    int ret = policy_load(&p, path);
    if (ret < 0) {
        for (int i = 0; i < p.ndiags; i++)
            cli_error_line("tierpress: %s", policy_diag_format(&p, i, diag, sizeof(diag)));
        if (!p.ndiags)
            cli_fail(path, ret);
        policy_free(&p);
        return 2;
    }
    memset(s, 0, sizeof(*s));
    for (int i = 0; i < p.defaults.nproxies && !ret; i++) {
        const struct policy_proxy *pp = &p.defaults.proxies[i];
        struct proxy_spec *ps = &s->spec[s->n++];
        if (strlen(pp->name) >= sizeof(ps->name) || s->n > PROXY_MAX) {
            ret = cli_usage_error("ingest", "%s: proxy '%s': ingest takes names of at most %zu "
                                  "characters and at most %d proxies", path, pp->name,
                                  sizeof(ps->name) - 1, PROXY_MAX);
            break;
        }
        snprintf(ps->name, sizeof(ps->name), "%s", pp->name);
        snprintf(ps->format, sizeof(ps->format), "%s", pp->format);
        ps->max_edge = pp->max_edge;
        ps->quality = pp->quality;
        ps->keep = META_KEEP_NOGPS;
    }
    if (!ret && !s->n)
        tp_log(TP_LOG_WARN, "%s lists no proxies under 'defaults:'; images get none", path);
    policy_free(&p);
    return ret;
}

static int parse_edge(const char *opt, const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < 16 || v > 16384)
        return cli_usage_error("ingest", "%s expects a size in 16..16384 pixels, got '%s'", opt, s);
    *out = (int)v;
    return 0;
}

int cmd_ingest(const struct cli *cli, int argc, char **argv)
{
    enum { O_JSON = 256, O_THUMB, O_PREVIEW, O_PROXY, O_POLICY, O_OWNER, O_NO_ISOLATE };
    static const struct option opts[] = {
        { "json", no_argument, NULL, O_JSON },
        { "thumb", required_argument, NULL, O_THUMB },
        { "preview", required_argument, NULL, O_PREVIEW },
        { "proxy", required_argument, NULL, O_PROXY },
        { "policy", required_argument, NULL, O_POLICY },
        { "owner", required_argument, NULL, O_OWNER },
        { "no-isolate", no_argument, NULL, O_NO_ISOLATE },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct ingest_opts o;
    struct home home;
    struct run r = { 0 };
    int c, edge = 0, ret;
    struct timespec t0, t1;
    struct sandbox_pool *pool = NULL;

    ingest_defaults(&o);
    o.isolate = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case O_JSON: r.json = 1; break;
        case O_THUMB:
        case O_PREVIEW:
            if (parse_edge(c == O_THUMB ? "--thumb" : "--preview", optarg, &edge))
                return 2;
            if (proxy_set_edge(&o.proxies, c == O_THUMB ? "thumb" : "preview", edge) < 0)
                return cli_usage_error("ingest", "%s", tp_err_detail());
            break;
        case O_PROXY:
            if (proxy_set_parse(&o.proxies, optarg) < 0)
                return cli_usage_error("ingest", "%s", tp_err_detail());
            break;
        case O_POLICY:
            if (policy_proxies(optarg, &o.proxies))
                return 2;
            break;
        case O_OWNER:
            if (!*optarg || strlen(optarg) >= CATALOG_TEXT)
                return cli_usage_error("ingest", "--owner: 1..%d characters", CATALOG_TEXT - 1);
            o.owner = optarg;
            break;
        case O_NO_ISOLATE: o.isolate = 0; break;
        case 'h': ingest_help(stdout); return 0;
        default: return cli_usage_error("ingest", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("ingest", "no PATH given");
    if (ingest_validate(&o) < 0)
        return cli_usage_error("ingest", "%s", tp_err_detail());
    if ((ret = home_open_mode(&home, cli->cfg, HOME_CREATE)) < 0)
        return cli_fail(cli->home, ret);
    if (o.isolate) {
        /* one resident worker for the whole command (files are ingested
         * one after another): no process started per still; a video gets
         * a worker of its own (sandbox_run), its filter lets FFmpeg write */
        signal(SIGPIPE, SIG_IGN); /* a worker may die before reading its request */
        if ((ret = ingest_pool_open(&pool, 1)) < 0) {
            home_close(&home);
            return cli_fail("sandbox", ret);
        }
        sandbox_pool_lazy(pool);
        o.pool = pool;
    }
    r.home = &home;
    r.o = &o;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = optind; i < argc; i++)
        walk(&r, argv[i], 1);
    if (r.nitems > 1 && (ret = pairs_link(&home, r.items, r.nitems)) < 0) {
        cli_fail(cli->home, ret);
        r.failed++;
    }
    for (int i = 0; i < r.nitems; i++) {
        free(r.paths[i]);
        free(r.cids[i]);
    }
    free(r.paths);
    free(r.cids);
    free(r.items);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (!r.json) {
        char skipped[64] = "", media[64] = "", sz[UNITS_LEN];
        if (r.skipped)
            snprintf(skipped, sizeof(skipped), ", %d skipped (not regular files)", r.skipped);
        if (r.not_media)
            snprintf(media, sizeof(media), ", %d not media file%s skipped", r.not_media,
                     r.not_media == 1 ? "" : "s");
        printf("%d ingested (%s), %d duplicate, %d failed%s%s in %.2f s\n", r.ok,
               units_bytes(r.bytes_new, sz, sizeof(sz)), r.dup, r.failed, skipped, media, s);
    }
    if (pool) /* (-v: how many worker processes the stills took) */
        tp_log(TP_LOG_INFO, "ingest: %d sandboxed worker%s started", sandbox_pool_started(pool),
               sandbox_pool_started(pool) == 1 ? "" : "s");
    sandbox_pool_close(&pool);
    home_close(&home);
    return r.failed ? 1 : 0;
}
