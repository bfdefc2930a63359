/* The on-upload path.  Order matters for the failure guarantees: nothing
 * is written until the file decoded and every proxy encoded; blobs are
 * stored before the catalog transaction that references them, so a crash
 * leaves at worst unreferenced blobs, never a dangling pointer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "codec.h"
#include "components.h"
#include "catalog.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "ingest.h"
#include "pairs.h"
#include "timeutil.h"
#include "log.h"
#include "neardup.h"
#include "probe.h"
#include "sandbox.h"
#include "store.h"
#if HAVE_VIDEO
#include "video.h"
#endif

/* Test hooks between the blobs' store and the catalog commit, the window a
 * gc must respect: TP_CRASH_AT=ingest_stored:N dies (as kill -9 would) at
 * the Nth file of the process; TP_INGEST_HOLD=DIR creates DIR/stored and
 * waits (at most 60 s) until DIR/go exists. */
static void stored_hook(void)
{
    static int files;
    const char *at = getenv("TP_CRASH_AT"), *hold = getenv("TP_INGEST_HOLD");
    char path[4096];
    files++;
    if (at && !strncmp(at, "ingest_stored:", 14) && atoi(at + 14) == files)
        raise(SIGKILL);
    if (!hold)
        return;
    snprintf(path, sizeof(path), "%s/stored", hold);
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
    snprintf(path, sizeof(path), "%s/go", hold);
    for (int i = 0; i < 6000 && access(path, F_OK) < 0; i++)
        usleep(10000);
}

void ingest_defaults(struct ingest_opts *o)
{
    memset(o, 0, sizeof(*o));
    image_limits_defaults(&o->limits);
    proxy_set_defaults(&o->proxies);
    o->video_preview = 1;
}

int ingest_validate(struct ingest_opts *o)
{
    return proxy_set_validate(&o->proxies);
}

static int fill_proxy(void *ud, const struct catalog_rendition *r)
{
    struct ingest_result *res = ud;
    if (res->n_proxies >= INGEST_MAX_PROXIES)
        return 0;
    struct ingest_proxy *p = &res->proxies[res->n_proxies++];
    snprintf(p->name, sizeof(p->name), "%s", r->name);
    snprintf(p->format, sizeof(p->format), "%s", r->format);
    p->width = r->width;
    p->height = r->height;
    p->bytes = r->bytes;
    memcpy(p->blob, r->blob, sizeof(p->blob));
    return 0;
}

static int report_existing(struct home *h, const struct catalog_asset *a, struct ingest_result *res)
{
    res->asset_id = a->id;
    res->duplicate = 1;
    snprintf(res->format, sizeof(res->format), "%s", a->format);
    snprintf(res->kind, sizeof(res->kind), "%s", a->kind);
    res->width = a->width;
    res->height = a->height;
    res->bytes = a->bytes;
    res->duration = a->duration;
    res->n_proxies = 0;
    return catalog_rendition_iterate(h->cat, a->id, fill_proxy, res);
}

static int catalog_new_asset(struct home *h, const struct ingest_opts *o,
                             const struct media_info *mi, const char *sha,
                             uint64_t len, const struct proxy_out *px, int npx,
                             const char (*px_hash)[SHA256_HEX_LEN + 1],
                             const struct fingerprint *fp, struct ingest_result *res)
{
    struct catalog_asset a;
    int ret, i;

    memset(&a, 0, sizeof(a));
    memcpy(a.sha256, sha, sizeof(a.sha256));
    memcpy(a.current_blob, sha, sizeof(a.current_blob));
    memcpy(a.original_blob, sha, sizeof(a.original_blob));
    snprintf(a.kind, sizeof(a.kind), "%s", mi->kind);
    snprintf(a.format, sizeof(a.format), "%s", mi->format);
    a.width = mi->width;
    a.height = mi->height;
    a.bytes = len;
    time_exif_to_iso(mi->capture_time, a.capture_time, sizeof(a.capture_time));
    if (!a.capture_time[0] && o->capture_time_hint) {
        /* the same shape as the camera's: "YYYY-MM-DDTHH:MM:SS", no zone */
        int y, mo, d, hh, mi_, ss;
        if (sscanf(o->capture_time_hint, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &hh, &mi_, &ss) == 6 &&
            y > 1800 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && hh < 24 && mi_ < 60 && ss <= 60)
            snprintf(a.capture_time, sizeof(a.capture_time), "%04d-%02d-%02dT%02d:%02d:%02d",
                     y % 10000, mo % 100, d % 100, hh % 100, mi_ % 100, ss % 100);
    }
    snprintf(a.camera_make, sizeof(a.camera_make), "%s", mi->make);
    snprintf(a.camera_model, sizeof(a.camera_model), "%s", mi->model);
    a.has_gps = mi->has_gps;
    a.orientation = mi->orientation;
    a.duration = mi->duration;
    snprintf(a.owner, sizeof(a.owner), "%s", o->owner ? o->owner : "");
    snprintf(a.file_name, sizeof(a.file_name), "%s", o->file_name ? o->file_name : "");
    snprintf(a.external_id, sizeof(a.external_id), "%s", o->external_id ? o->external_id : "");

    if ((ret = catalog_begin(h->cat)) < 0)
        return ret;
    if ((ret = catalog_blob_add(h->cat, sha, len, NULL)) < 0)
        goto fail;
    for (i = 0; i < npx; i++)
        if ((ret = catalog_blob_add(h->cat, px_hash[i], px[i].data.len, NULL)) < 0)
            goto fail;
    if ((ret = catalog_asset_insert(h->cat, &a)) < 0)
        goto fail;
    for (i = 0; i < npx; i++) {
        struct catalog_rendition r;
        memset(&r, 0, sizeof(r));
        r.asset_id = a.id;
        memcpy(r.name, px[i].name, sizeof(r.name));
        memcpy(r.blob, px_hash[i], sizeof(r.blob));
        memcpy(r.format, px[i].format, sizeof(r.format));
        r.width = px[i].width;
        r.height = px[i].height;
        r.bytes = px[i].data.len;
        r.ssim = r.min_tile = -1;
        if ((ret = catalog_rendition_put(h->cat, &r)) < 0)
            goto fail;
    }
    if (!strcmp(mi->kind, "image")) { /* the inventory of parts (components.h) */
        char *inv = components_to_json(&mi->comp);
        ret = inv ? catalog_components_put(h->cat, a.id, components_kinds(&mi->comp), inv)
                  : TP_ERR(ENOMEM);
        free(inv);
        if (ret < 0)
            goto fail;
    }
    /* a Live Photo half: its identifier finds the other (pairs.h) */
    if (mi->content_id[0] && (ret = catalog_content_id_put(h->cat, a.id, mi->content_id)) < 0)
        goto fail;
    if (fp) {
        /* near-duplicates: checked against the index in the same transaction */
        struct neardup_opts no;
        neardup_defaults(&no);
        if ((ret = neardup_add(h->cat, &no, &a, fp, &res->neardup_group)) < 0)
            goto fail;
    }
    if ((ret = catalog_commit(h->cat)) < 0)
        goto fail;
    res->asset_id = a.id;
    return 0;
fail:
    catalog_rollback(h->cat);
    return ret;
}

/* One full decode (validates the whole file), DCT-scaled to the smallest
 * size that still covers the largest proxy; then the proxies of ps. */
static int image_proxies(const uint8_t *data, size_t len, const char *name,
                         const struct media_info *mi, const struct proxy_set *ps,
                         const struct image_limits *limits, struct proxy_out *px,
                         struct fingerprint *fp, int *fp_ok)
{
    struct codec_opts dopts;
    struct codec_ctx *dctx = NULL;
    struct image img = { 0 };
    struct meta m;
    int ret;

    meta_init(&m);
    codec_opts_defaults(&dopts);
    dopts.limits = *limits;
    if (!(mi->codec->caps & CODEC_CAP_VIDEO))
        proxy_decode_min(ps, mi->width, mi->height, mi->orientation, &dopts.min_width,
                         &dopts.min_height);
    if ((ret = codec_open(&dctx, mi->codec, &dopts)) < 0)
        goto end;
    if ((ret = codec_decode(dctx, data, len, &img, &m)) < 0)
        goto end;
    if (!(mi->codec->caps & CODEC_CAP_VIDEO))
        m.orientation = mi->orientation;
    tp_log(TP_LOG_DEBUG, "%s: %dx%d decoded at %dx%d for proxies", name, mi->width, mi->height,
           img.width, img.height);
    ret = proxy_make_fp(ps, &img, &m, px, fp, fp_ok);
end:
    codec_close(&dctx);
    image_free(&img);
    meta_free(&m);
    return ret;
}

/* The still proxies of a video's poster frame: 'preview' is the MP4, so
 * the set's 'preview' becomes the 'poster' JPEG (or one is added at the
 * largest edge). */
static int video_proxy_set(const struct proxy_set *in, struct proxy_set *out)
{
    int i, edge = 0, q = 85, has_poster = 0;

    *out = *in;
    for (i = 0; i < out->n; i++) /* a clip has its own preview: no motion-photo one */
        if (!strcmp(out->spec[i].format, PROXY_FORMAT_MOTION))
            out->spec[i--] = out->spec[--out->n];
    for (i = 0; i < out->n; i++) {
        struct proxy_spec *p = &out->spec[i];
        if (p->max_edge > edge)
            edge = p->max_edge;
        if (!strcmp(p->name, "preview") || !strcmp(p->name, "poster")) {
            snprintf(p->name, sizeof(p->name), "poster");
            snprintf(p->format, sizeof(p->format), "jpeg");
            has_poster++;
        }
    }
    RETURN_ERR_IF(has_poster > 1, TP_ERR_USAGE,
                  "proxies 'preview' and 'poster' both name a video's poster frame");
    if (!has_poster) {
        RETURN_ERR_IF(out->n >= PROXY_MAX, TP_ERR_USAGE,
                      "no room for a video's 'poster' proxy (at most %d proxies)", PROXY_MAX);
        struct proxy_spec *p = &out->spec[out->n++];
        memset(p, 0, sizeof(*p));
        snprintf(p->name, sizeof(p->name), "poster");
        snprintf(p->format, sizeof(p->format), "jpeg");
        p->max_edge = edge ? edge : 2048;
        p->quality = q;
        p->keep = META_KEEP_NOGPS;
    }
    return proxy_set_validate(out);
}

#if HAVE_VIDEO
/* The 'preview' MP4 into *px (name, format, display size, bytes). */
static int video_preview(const uint8_t *data, size_t len, const struct image_limits *limits,
                         struct proxy_out *px)
{
    struct video_preview_opts po;
    struct media_info pi;
    int ret;

    video_preview_defaults(&po);
    video_limits_from_image(&po.limits, limits);
    if ((ret = video_make_preview(data, len, &po, &px->data)) < 0)
        return ret;
    /* its size as written: the preview is upright, so stored = displayed */
    memset(&pi, 0, sizeof(pi));
    if ((ret = video_probe_info(px->data.data, px->data.len, &po.limits, &pi)) < 0)
        return ret;
    snprintf(px->name, sizeof(px->name), "preview");
    snprintf(px->format, sizeof(px->format), "mp4");
    px->width = pi.display_width;
    px->height = pi.display_height;
    return 0;
}
#endif

/* The still proxies of ps in *still, and the motion-photo preview spec (or
 * NULL) in *motion. */
static void split_motion(const struct proxy_set *ps, struct proxy_set *still,
                         const struct proxy_spec **motion)
{
    *motion = NULL;
    still->n = 0;
    for (int i = 0; i < ps->n; i++) {
        if (strcmp(ps->spec[i].format, PROXY_FORMAT_MOTION))
            still->spec[still->n++] = ps->spec[i];
        else if (!*motion)
            *motion = &ps->spec[i];
    }
}

/* A motion photo's embedded video (the inventory's motion part: its byte
 * range in the file) made into a clip preview named after spec; 0 when the
 * image has none (nothing made), 1 when made. */
static int motion_preview(const uint8_t *data, size_t len, const struct media_info *mi,
                          const struct proxy_spec *spec, const struct image_limits *limits,
                          struct proxy_out *px)
{
#if HAVE_VIDEO
    for (int i = 0; i < mi->comp.nparts; i++) {
        const struct comp_part *p = &mi->comp.parts[i];
        if (p->kind != COMP_MOTION || !p->length || p->offset > len || p->length > len - p->offset)
            continue;
        FORWARD_ERR(video_preview(data + p->offset, (size_t)p->length, limits, px));
        snprintf(px->name, sizeof(px->name), "%s", spec->name);
        return 1;
    }
#else
    (void)data, (void)len, (void)mi, (void)spec, (void)limits, (void)px;
#endif
    return 0;
}

/* Probes data and makes every proxy (nothing written): *npx_out proxies in
 * px, which the caller frees (buf_free of each data) also on failure. */
static int make_proxies(const uint8_t *data, size_t len, const char *name,
                        const struct ingest_opts *o, struct media_info *mi,
                        struct proxy_out *px, int *npx_out, struct fingerprint *fp,
                        int *fp_ok)
{
    struct proxy_set vps, still;
    const struct proxy_set *ps = &o->proxies;
    const struct proxy_spec *motion = NULL;
    int ret, video;

    *npx_out = 0;
    FORWARD_ERR(probe_media(data, len, name, &o->limits, mi));
    video = !!(mi->codec->caps & CODEC_CAP_VIDEO);
    if (video) {
        FORWARD_ERR(video_proxy_set(&o->proxies, &vps));
        ps = &vps;
    } else {
        split_motion(&o->proxies, &still, &motion);
        ps = &still;
    }
    FORWARD_ERR(image_proxies(data, len, name, mi, ps, &o->limits, px, fp, fp_ok));
    *npx_out = ps->n;
    if (motion) {
        if ((ret = motion_preview(data, len, mi, motion, &o->limits, &px[*npx_out])) < 0)
            return ret;
        *npx_out += ret;
    }
#if HAVE_VIDEO
    if (video && o->video_preview) {
        if ((ret = video_preview(data, len, &o->limits, &px[*npx_out])) < 0)
            return ret;
        (*npx_out)++;
    }
#endif
    (void)ret;
    return 0;
}

static int make_proxies_sandboxed(const uint8_t *data, size_t len, const char *path,
                                  const char *sha256, const char *name,
                                  const struct ingest_opts *o, struct media_info *mi,
                                  struct proxy_out *px, int *npx_out, struct fingerprint *fp,
                                  int *fp_ok);

int ingest_proxy_hashes(const uint8_t *data, size_t len, const char *name,
                        const struct ingest_opts *o, uint64_t *pixels_out,
                        char hashes[INGEST_MAX_PROXIES][SHA256_HEX_LEN + 1])
{
    struct proxy_out px[INGEST_MAX_PROXIES];
    struct media_info mi;
    struct fingerprint fp;
    int ret, npx = 0, i, fp_ok = 0;
    memset(px, 0, sizeof(px));
    if (o->isolate)
        ret = make_proxies_sandboxed(data, len, NULL, NULL, name, o, &mi, px, &npx, &fp, &fp_ok);
    else
        ret = make_proxies(data, len, name, o, &mi, px, &npx, NULL, NULL);
    if (ret >= 0 && pixels_out)
        *pixels_out = (uint64_t)mi.width * (uint64_t)mi.height;
    for (i = 0; ret >= 0 && i < npx; i++)
        sha256_hex(px[i].data.data, px[i].data.len, hashes[i]);
    for (i = 0; i < INGEST_MAX_PROXIES; i++)
        buf_free(&px[i].data);
    return ret < 0 ? ret : npx;
}

/* ---- the proxies made in a sandboxed child (o->isolate) ---- */

struct iso_request {
    char path[4096], name[256];
    /* what the parent hashed, stores and catalogs ("": not checked): the
     * worker reads the file again by path, and must decode those bytes */
    char sha256[SHA256_HEX_LEN + 1];
    struct image_limits limits;
    struct proxy_set proxies;
    int video_preview;
};

struct iso_proxy {
    char name[16], format[16];
    int width, height;
    uint64_t len;
};

int ingest_proxies_child(void *arg, struct tp_buf *out)
{
    struct iso_request *rq = arg;
    struct ingest_opts o;
    struct proxy_out px[INGEST_MAX_PROXIES];
    struct media_info mi;
    struct tp_buf data = { 0 };
    int ret, npx = 0, i;

    memset(px, 0, sizeof(px));
    rq->path[sizeof(rq->path) - 1] = rq->name[sizeof(rq->name) - 1] = '\0';
    /* test hook: TP_FAULT_CRASH_PROXIES=S crashes (SIGSEGV) on a name containing S */
    const char *crash = getenv("TP_FAULT_CRASH_PROXIES");
    if (crash && *crash && strstr(rq->name, crash))
        raise(SIGSEGV);
    sandbox_fault_point_name(rq->name); /* test hook: a hijacked decoder (sandbox.h) */
    ingest_defaults(&o);
    o.limits = rq->limits;
    o.proxies = rq->proxies;
    o.video_preview = rq->video_preview;
    if ((ret = file_read(rq->path, o.limits.max_file_bytes, &data)) < 0)
        return ret;
    rq->sha256[SHA256_HEX_LEN] = '\0';
    if (rq->sha256[0]) {
        char got[SHA256_HEX_LEN + 1];
        sha256_hex(data.data, data.len, got);
        if (strcmp(got, rq->sha256)) {
            tp_err_set("the file changed while it was ingested (sha256 %.12s..., was %.12s...)",
                       got, rq->sha256);
            ret = TP_ERR_VERIFY;
            goto end;
        }
    }
    struct fingerprint fp;
    int fp_ok = 0;
    memset(&fp, 0, sizeof(fp));
    if ((ret = make_proxies(data.data, data.len, rq->name, &o, &mi, px, &npx, &fp, &fp_ok)) < 0)
        goto end;
    mi.codec = NULL;
    /* the answer: media_info, npx, fp_ok, the fingerprint, then each proxy */
    if ((ret = buf_append(out, &mi, sizeof(mi))) < 0 || (ret = buf_append(out, &npx, sizeof(npx))) < 0 ||
        (ret = buf_append(out, &fp_ok, sizeof(fp_ok))) < 0 || (ret = buf_append(out, &fp, sizeof(fp))) < 0)
        goto end;
    for (i = 0; i < npx; i++) {
        struct iso_proxy h;
        memset(&h, 0, sizeof(h));
        memcpy(h.name, px[i].name, sizeof(h.name));
        memcpy(h.format, px[i].format, sizeof(h.format));
        h.width = px[i].width;
        h.height = px[i].height;
        h.len = px[i].data.len;
        if ((ret = buf_append(out, &h, sizeof(h))) < 0 ||
            (ret = buf_append(out, px[i].data.data, px[i].data.len)) < 0)
            goto end;
    }
    ret = 0;
end:
    for (i = 0; i < INGEST_MAX_PROXIES; i++)
        buf_free(&px[i].data);
    buf_free(&data);
    return ret;
}

/* The limits of an upload's decode and proxy encodes in a child. */
static void iso_limits(struct sandbox_limits *lim, int video)
{
    sandbox_limits_defaults(lim);
    lim->mem_bytes = 4ull << 30;
    lim->seconds = 120;
    if (video)
        lim->flags |= SANDBOX_WRITE; /* FFmpeg reopens its temp output by name (as job.c) */
}

int ingest_pool_open(struct sandbox_pool **p, int size)
{
    struct sandbox_limits lim;
    iso_limits(&lim, 0);
    return sandbox_pool_open(p, "ingest-proxies", size, &lim);
}

/* make_proxies() in a child process on the file at path. */
static int make_proxies_isolated(const char *path, const char *sha256, int video,
                                 const char *name, const struct ingest_opts *o,
                                 struct media_info *mi,
                                 struct proxy_out *px, int *npx_out, struct fingerprint *fp,
                                 int *fp_ok)
{
    struct iso_request *rq = tp_calloc(1, sizeof(*rq));
    struct sandbox_limits lim;
    struct tp_buf res = { 0 };
    size_t off = 0;
    int ret, npx = 0;

    *npx_out = 0;
    if (!rq)
        return TP_ERR(ENOMEM);
    snprintf(rq->path, sizeof(rq->path), "%s", path);
    snprintf(rq->name, sizeof(rq->name), "%s", name);
    if (sha256)
        memcpy(rq->sha256, sha256, sizeof(rq->sha256));
    rq->limits = o->limits;
    rq->proxies = o->proxies;
    rq->video_preview = o->video_preview;
    for (int i = 0; i < o->proxies.n && !video; i++) /* a motion photo's clip preview */
        video = !strcmp(o->proxies.spec[i].format, PROXY_FORMAT_MOTION);
    iso_limits(&lim, video);
    /* no label: the caller's message names the file already (a violation
     * reads "sandbox: disallowed system call N (name)") */
    if (o->pool && !video)
        ret = sandbox_pool_run(o->pool, rq, sizeof(*rq), NULL, &res);
    else
        ret = sandbox_run("ingest-proxies", rq, sizeof(*rq), &lim, &res);
    tp_free(rq);
    if (ret < 0) {
        if (ret == TP_ERR(ETIME) || ret == TP_ERR(EINTR)) {
            /* a decode that ran out of time or memory: the file's fault */
            if (ret == TP_ERR(ETIME))
                tp_err_set("sandbox: the decode was stopped (time limit, %d s)", lim.seconds);
            else
                tp_err_set("sandbox: the decode was stopped (killed: memory limit, %llu MiB)",
                           (unsigned long long)(lim.mem_bytes >> 20));
            ret = TP_ERR_INVALIDDATA;
        }
        goto end;
    }
    ret = TP_ERR_BUG;
    *fp_ok = 0;
    if (res.len < sizeof(*mi) + sizeof(npx) + sizeof(*fp_ok) + sizeof(*fp))
        goto end;
    memcpy(mi, res.data, sizeof(*mi));
    memcpy(&npx, res.data + sizeof(*mi), sizeof(npx));
    off = sizeof(*mi) + sizeof(npx);
    memcpy(fp_ok, res.data + off, sizeof(*fp_ok));
    off += sizeof(*fp_ok);
    memcpy(fp, res.data + off, sizeof(*fp));
    off += sizeof(*fp);
    *fp_ok = *fp_ok == 1;
    if (npx < 0 || npx > INGEST_MAX_PROXIES)
        goto end;
    for (int i = 0; i < npx; i++) {
        struct iso_proxy h;
        if (res.len - off < sizeof(h))
            goto end;
        memcpy(&h, res.data + off, sizeof(h));
        off += sizeof(h);
        if (res.len - off < h.len)
            goto end;
        memcpy(px[i].name, h.name, sizeof(px[i].name));
        memcpy(px[i].format, h.format, sizeof(px[i].format));
        px[i].name[sizeof(px[i].name) - 1] = px[i].format[sizeof(px[i].format) - 1] = '\0';
        px[i].width = h.width;
        px[i].height = h.height;
        if ((ret = buf_set(&px[i].data, res.data + off, (size_t)h.len)) < 0)
            goto end;
        ret = TP_ERR_BUG;
        off += h.len;
        *npx_out = i + 1;
    }
    ret = 0;
end:
    if (ret == TP_ERR_BUG)
        tp_err_set("%s: a malformed answer from the proxies' child process", name);
    buf_free(&res);
    return ret;
}

/* make_proxies_isolated() on data: read from path when the bytes have a
 * file of their own, else from a private temp file (0600, in $TMPDIR)
 * written here and removed after, as the worker reads an upload's spool
 * file (an archive member, an orphan blob). */
static int make_proxies_sandboxed(const uint8_t *data, size_t len, const char *path,
                                  const char *sha256, const char *name,
                                  const struct ingest_opts *o, struct media_info *mi,
                                  struct proxy_out *px, int *npx_out, struct fingerprint *fp,
                                  int *fp_ok)
{
    const char *dir = getenv("TMPDIR");
    char tmp[4096];
    int fd, ret;
    if (path)
        return make_proxies_isolated(path, sha256, data && video_probe(data, len), name, o, mi,
                                     px, npx_out, fp, fp_ok);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/tierpress-ingest-XXXXXX",
                         dir && *dir ? dir : "/tmp") >= sizeof(tmp))
        return TP_ERR(ENAMETOOLONG);
    if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
        ret = TP_ERR(errno);
        tp_err_set("cannot make a temp file for the sandboxed decode: %s", strerror(errno));
        return ret;
    }
    ret = file_write_all(fd, data, len);
    close(fd);
    if (ret < 0)
        tp_err_set("%s: %s", tmp, strerror(-ret));
    else
        ret = make_proxies_isolated(tmp, sha256, video_probe(data, len), name, o, mi, px, npx_out,
                                    fp, fp_ok);
    unlink(tmp);
    return ret;
}

/* path, when not NULL, is the file data was read from: the original is
 * streamed from it into the store (and must still hash to the same). */
static int ingest_common(struct home *h, const uint8_t *data, size_t len, const char *name,
                         const char *path, const char *known_sha, const struct ingest_opts *o,
                         struct ingest_result *res)
{
    struct media_info mi;
    struct proxy_out px[INGEST_MAX_PROXIES];
    char px_hash[INGEST_MAX_PROXIES][SHA256_HEX_LEN + 1];
    struct catalog_asset existing;
    struct fingerprint fp;
    int ret, npx = 0, i, fp_ok = 0;

    memset(res, 0, sizeof(*res));
    memset(px, 0, sizeof(px));
    RETURN_ERR_IF(!len, TP_ERR_INVALIDDATA, "empty file");
    if (known_sha)
        memcpy(res->sha256, known_sha, sizeof(res->sha256));
    else
        sha256_hex(data, len, res->sha256);
    res->bytes = len;

    /* content this owner already has: report it, store nothing (from the
     * trash it comes back).  Another owner's copy is not looked at: this
     * upload goes the whole way (decode, proxies, store, which dedupes the
     * blobs), so its answer and timing are those of new content. */
    ret = catalog_asset_find_owner(h->cat, o->owner, res->sha256, &existing);
    if (ret == 0 && existing.deleted_at[0] && (ret = catalog_asset_trash(h->cat, existing.id, "")) < 0)
        return ret;
    if (ret == 0)
        return report_existing(h, &existing, res);
    if (ret != TP_ERR_NOTFOUND)
        return ret;
    tp_err_clear();

    /* every proxy is made before anything is written */
    if (o->isolate)
        ret = make_proxies_sandboxed(data, len, path, res->sha256, name, o, &mi, px, &npx, &fp,
                                     &fp_ok);
    else
        ret = make_proxies(data, len, name, o, &mi, px, &npx, &fp, &fp_ok);
    if (ret < 0)
        goto end;
    snprintf(res->format, sizeof(res->format), "%s", mi.format);
    snprintf(res->kind, sizeof(res->kind), "%s", mi.kind);
    res->width = mi.width;
    res->height = mi.height;
    res->duration = mi.duration;
    memcpy(res->content_id, mi.content_id, sizeof(res->content_id));

    /* store: original, then proxies (identical proxies dedupe too) */
    if (path) {
        char got[SHA256_HEX_LEN + 1];
        ret = store_put_file(h->store, path, res->sha256, NULL, got);
    } else {
        ret = store_put(h->store, res->sha256, data, len);
    }
    if (ret < 0)
        goto end;
    for (i = 0; i < npx; i++)
        if ((ret = store_put_data(h->store, px[i].data.data, px[i].data.len, px_hash[i])) < 0)
            goto end;

    stored_hook();
    ret = catalog_new_asset(h, o, &mi, res->sha256, len, px, npx,
                            (const char(*)[SHA256_HEX_LEN + 1])px_hash, fp_ok ? &fp : NULL,
                            res);
    if (ret == TP_ERR_DUPLICATE) {
        /* a concurrent ingest of the same content won */
        tp_err_clear();
        if ((ret = catalog_asset_find_owner(h->cat, o->owner, res->sha256, &existing)) == 0)
            ret = report_existing(h, &existing, res);
        goto end;
    }
    if (ret < 0) {
        tp_log(TP_LOG_WARN, "%s: catalog update failed; blob %s and its proxies are left "
               "unreferenced for gc", name, res->sha256);
        goto end;
    }
    /* after the commit: the other half may have been uploaded before,
     * alone or concurrently (pairs_link_stored); the asset is catalogued
     * whatever happens here */
    if (res->content_id[0] && pairs_link_stored(h, res->asset_id, res->kind, &res->pair) < 0) {
        tp_log(TP_LOG_WARN, "%s: asset %lld not linked with its Live Photo half: %s", name,
               (long long)res->asset_id, tp_err_detail());
        tp_err_clear();
    }
    for (i = 0; i < npx; i++) {
        struct ingest_proxy *p = &res->proxies[i];
        memcpy(p->name, px[i].name, sizeof(p->name));
        memcpy(p->format, px[i].format, sizeof(p->format));
        p->width = px[i].width;
        p->height = px[i].height;
        p->bytes = px[i].data.len;
        memcpy(p->blob, px_hash[i], sizeof(p->blob));
    }
    res->n_proxies = npx;
    ret = 0;
end:
    for (i = 0; i < INGEST_MAX_PROXIES; i++)
        buf_free(&px[i].data);
    return ret;
}

int ingest_data(struct home *h, const uint8_t *data, size_t len, const char *name,
                const struct ingest_opts *o, struct ingest_result *res)
{
    return ingest_common(h, data, len, name, NULL, NULL, o, res);
}

int ingest_file(struct home *h, const char *path, const struct ingest_opts *o,
                struct ingest_result *res)
{
    struct tp_buf b = { 0 };
    struct ingest_opts fo = *o;
    const char *base = strrchr(path, '/');
    int ret = file_read(path, o->limits.max_file_bytes, &b);
    if (!fo.file_name)
        fo.file_name = base ? base + 1 : path;
    if (ret >= 0)
        ret = ingest_common(h, b.data, b.len, path, path, NULL, &fo, res);
    buf_free(&b);
    return ret;
}

int ingest_upload(struct home *h, const char *path, const char *sha256, const char *name,
                  const struct ingest_opts *o, struct ingest_result *res)
{
    int64_t size = 0;
    void *map = MAP_FAILED;
    int fd, ret;

    memset(res, 0, sizeof(*res));
    if ((fd = file_open_regular(path, &size)) < 0)
        return fd;
    if (!size) {
        ret = TP_ERR_INVALIDDATA;
        tp_err_set("empty file");
        goto end;
    }
    if ((uint64_t)size > o->limits.max_file_bytes) {
        ret = TP_ERR_LIMIT;
        tp_err_set("%lld bytes, over the %llu-byte limit", (long long)size,
                   (unsigned long long)o->limits.max_file_bytes);
        goto end;
    }
    map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        ret = TP_ERR(errno);
        goto end;
    }
    ret = ingest_common(h, map, (size_t)size, name, path, sha256, o, res);
end:
    if (map != MAP_FAILED)
        munmap(map, (size_t)size);
    close(fd);
    return ret;
}
