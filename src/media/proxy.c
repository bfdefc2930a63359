/* Browse proxies from one decode: resize the largest from the decoded
 * pixels, orient it, convert it to sRGB, then derive each smaller proxy
 * from the previous one. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "color.h"
#include "err.h"
#include "log.h"
#include "proxy.h"

static void add(struct proxy_set *s, const char *name, const char *fmt, int edge, int q)
{
    struct proxy_spec *p = &s->spec[s->n++];
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->format, sizeof(p->format), "%s", fmt);
    p->max_edge = edge;
    p->quality = q;
    p->keep = META_KEEP_NOGPS;
}

void proxy_set_defaults(struct proxy_set *s)
{
    memset(s, 0, sizeof(*s));
    add(s, "preview", "jpeg", 2048, 85);
    add(s, "thumb", "webp", 256, 80);
}

static struct proxy_spec *find(struct proxy_set *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->spec[i].name, name))
            return &s->spec[i];
    return NULL;
}

int proxy_set_edge(struct proxy_set *s, const char *name, int edge)
{
    struct proxy_spec *p = find(s, name);
    RETURN_ERR_IF(!p, TP_ERR_USAGE, "no proxy named '%s'", name);
    p->max_edge = edge;
    return 0;
}

int proxy_set_parse(struct proxy_set *s, const char *spec)
{
    char buf[128], *f[4] = { 0 }, *save = NULL;
    int n = 0;
    RETURN_ERR_IF(strlen(spec) >= sizeof(buf), TP_ERR_USAGE, "proxy spec too long");
    memcpy(buf, spec, strlen(spec) + 1);
    for (char *t = strtok_r(buf, ":", &save); t && n < 4; t = strtok_r(NULL, ":", &save))
        f[n++] = t;
    RETURN_ERR_IF(n < 3 || strtok_r(NULL, ":", &save), TP_ERR_USAGE,
                  "proxy '%s': expected NAME:FORMAT:EDGE[:QUALITY]", spec);
    RETURN_ERR_IF(strlen(f[0]) >= 16 || strspn(f[0], "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
                      strlen(f[0]),
                  TP_ERR_USAGE, "proxy '%s': NAME must be short lower-case letters/digits", spec);
    RETURN_ERR_IF(strlen(f[1]) >= 16, TP_ERR_USAGE, "proxy '%s': unknown FORMAT", spec);
    char *end;
    long edge = strtol(f[2], &end, 10), q = 80;
    RETURN_ERR_IF(*end, TP_ERR_USAGE, "proxy '%s': EDGE must be an integer", spec);
    if (f[3]) {
        q = strtol(f[3], &end, 10);
        RETURN_ERR_IF(*end, TP_ERR_USAGE, "proxy '%s': QUALITY must be an integer", spec);
    }
    struct proxy_spec *p = find(s, f[0]);
    if (!p) {
        RETURN_ERR_IF(s->n >= PROXY_MAX, TP_ERR_USAGE, "at most %d proxies", PROXY_MAX);
        add(s, f[0], f[1], (int)edge, (int)q);
    } else {
        snprintf(p->format, sizeof(p->format), "%s", f[1]);
        p->max_edge = (int)edge;
        p->quality = (int)q;
    }
    return 0;
}

static int by_edge_desc(const void *a, const void *b)
{
    const struct proxy_spec *x = a, *y = b;
    return (y->max_edge > x->max_edge) - (y->max_edge < x->max_edge);
}

int proxy_set_validate(struct proxy_set *s)
{
    for (int i = 0; i < s->n; i++) {
        const struct proxy_spec *p = &s->spec[i];
        RETURN_ERR_IF(p->max_edge < 16 || p->max_edge > 16384, TP_ERR_USAGE,
                      "proxy %s: edge %d is outside 16..16384", p->name, p->max_edge);
        RETURN_ERR_IF(p->quality < 0 || p->quality > 100, TP_ERR_USAGE,
                      "proxy %s: quality %d is outside 0..100", p->name, p->quality);
        if (!strcmp(p->format, PROXY_FORMAT_MOTION))
            continue; /* a motion photo's video preview (proxy.h) */
        const struct codec *c = codec_find_by_name(p->format);
        RETURN_ERR_IF(c && !(c->caps & CODEC_CAP_ENCODE), TP_ERR_USAGE,
                      "proxy %s: format %s cannot be written", p->name, p->format);
        RETURN_ERR_IF(!c && strcmp(p->format, "webp"), TP_ERR_USAGE,
                      "proxy %s: unknown format '%s'", p->name, p->format);
    }
    qsort(s->spec, (size_t)s->n, sizeof(s->spec[0]), by_edge_desc);
    return 0;
}

void proxy_decode_min(const struct proxy_set *s, int w, int h, int orientation, int *mw, int *mh)
{
    int edge = 0, swap = orientation >= 5, tw, th;
    for (int i = 0; i < s->n; i++)
        if (s->spec[i].max_edge > edge)
            edge = s->spec[i].max_edge;
    /* fit on the displayed size, then map back to stored axes */
    image_fit(swap ? h : w, swap ? w : h, edge, &tw, &th);
    *mw = swap ? th : tw;
    *mh = swap ? tw : th;
}

void proxy_out_free(struct proxy_out out[PROXY_MAX], int n)
{
    for (int i = 0; i < n && i < PROXY_MAX; i++)
        buf_free(&out[i].data);
}

/* img -> 8-bit RGB(A), resized to fit edge on the displayed axes, upright. */
static int first_proxy(const struct image *img, int orientation, int edge, struct image *out)
{
    struct image a = { 0 }, b = { 0 };
    const struct image *cur = img;
    int swap = orientation >= 5, tw, th, ret;

    if (cur->depth != 1 || cur->channels < 3) {
        if ((ret = image_to_rgb8(cur, 1, &a)) < 0)
            goto end;
        cur = &a;
    }
    image_fit(swap ? cur->height : cur->width, swap ? cur->width : cur->height, edge, &tw, &th);
    if (swap) {
        int t = tw;
        tw = th;
        th = t;
    }
    if (tw != cur->width || th != cur->height) {
        if ((ret = image_resize(cur, tw, th, &b)) < 0)
            goto end;
        image_free(&a);
        a = b;
        memset(&b, 0, sizeof(b));
        cur = &a;
    }
    if (orientation > 1 && orientation <= 8) {
        ret = image_orient(cur, orientation, out);
    } else if (cur == img) {
        /* nothing changed: copy so the caller owns out */
        if ((ret = image_alloc(out, img->width, img->height, img->channels, 1)) >= 0)
            for (int y = 0; y < img->height; y++)
                memcpy(out->data + (size_t)y * out->stride, img->data + (size_t)y * img->stride,
                       (size_t)img->width * (size_t)img->channels);
    } else {
        *out = a;
        memset(&a, 0, sizeof(a));
        ret = 0;
    }
end:
    image_free(&a);
    image_free(&b);
    return ret;
}

static int encode(const struct proxy_spec *p, const struct image *img, const struct meta *src,
                  struct proxy_out *o)
{
    const struct codec *c = codec_find_by_name(p->format);
    struct codec_ctx *ctx = NULL;
    struct codec_opts eo;
    struct meta m;
    int ret;

    if (!c || !(c->caps & CODEC_CAP_ENCODE)) {
        static int warned;
        if (!__atomic_fetch_add(&warned, 1, __ATOMIC_RELAXED))
            tp_log(TP_LOG_WARN, "no %s encoder in this build; %s proxies are JPEG", p->format,
                   p->name);
        c = codec_find_by_name("jpeg");
    }
    if ((ret = meta_copy(&m, src)) < 0)
        return ret;
    m.orientation = 1;
    buf_free(&m.icc); /* pixels are sRGB now: untagged */
    if ((ret = meta_apply_keep(&m, p->keep & ~(unsigned)META_KEEP_GPS)) < 0)
        goto end;
    codec_opts_defaults(&eo);
    eo.quality = p->quality;
    if ((ret = codec_open(&ctx, c, &eo)) < 0)
        goto end;
    if ((ret = codec_encode(ctx, img, &m, &o->data, NULL)) < 0)
        goto end;
    snprintf(o->name, sizeof(o->name), "%s", p->name);
    snprintf(o->format, sizeof(o->format), "%s", c->name);
    o->width = img->width;
    o->height = img->height;
end:
    codec_close(&ctx);
    meta_free(&m);
    return ret;
}

/* The largest proxy's encode runs on a second thread while the smaller
 * ones are resized and encoded from its pixels (read-only for both). */
struct enc_job {
    const struct proxy_spec *p;
    const struct image *img;
    const struct meta *m;
    struct proxy_out *o;
    int ret;
    char why[512];      /* the worker's error detail (thread-local there) */
};

static void *enc_run(void *arg)
{
    struct enc_job *j = arg;
    j->ret = encode(j->p, j->img, j->m, j->o);
    if (j->ret < 0)
        snprintf(j->why, sizeof(j->why), "%s", tp_err_detail());
    return NULL;
}

/* Pixels of the largest proxy above which its encode gets its own thread. */
#define PROXY_THREAD_MIN_PIXELS (512 * 1024)

int proxy_make(const struct proxy_set *s, const struct image *img, const struct meta *m,
               struct proxy_out out[PROXY_MAX])
{
    return proxy_make_fp(s, img, m, out, NULL, NULL);
}

int proxy_make_fp(const struct proxy_set *s, const struct image *img, const struct meta *m,
                  struct proxy_out out[PROXY_MAX], struct fingerprint *fp, int *fp_ok_out)
{
    struct image first = { 0 }, cur = { 0 }, next = { 0 };
    struct enc_job job = { 0 };
    pthread_t tid;
    int ret = 0, i, threaded = 0;

    memset(out, 0, sizeof(*out) * PROXY_MAX);
    for (i = 0; i < s->n; i++) {
        const struct proxy_spec *p = &s->spec[i];
        const struct image *src = i == 1 ? &first : &cur;
        if (i == 0) {
            if ((ret = first_proxy(img, m->orientation, p->max_edge, &first)) < 0)
                goto fail;
            if (m->icc.len && !color_icc_is_srgb(m->icc.data, m->icc.len)) {
                ret = color_to_srgb(&first, m->icc.data, m->icc.len);
                if (ret < 0) {
                    char why[256];
                    tp_log(TP_LOG_INFO, "proxies keep the source colours: %s",
                           tp_strerror(ret, why, sizeof(why)));
                    tp_err_clear();
                }
            }
            const struct codec *c = codec_find_by_name(p->format);
            job = (struct enc_job){ .p = p, .img = &first, .m = m, .o = &out[0] };
            if (s->n > 1 && (uint64_t)first.width * (uint64_t)first.height >= PROXY_THREAD_MIN_PIXELS &&
                !(c && (c->caps & CODEC_CAP_INIT_NOT_THREADSAFE)) && sysconf(_SC_NPROCESSORS_ONLN) > 1)
                threaded = pthread_create(&tid, NULL, enc_run, &job) == 0;
            if (!threaded && (ret = encode(p, &first, m, &out[0])) < 0)
                goto fail;
            continue;
        }
        int w, h;
        image_fit(src->width, src->height, p->max_edge, &w, &h);
        if (w != src->width || h != src->height) {
            if ((ret = image_resize(src, w, h, &next)) < 0)
                goto fail;
            image_free(&cur);
            cur = next;
            memset(&next, 0, sizeof(next));
        } else if (src == &first) {
            /* same size as the first: encode from its pixels */
            if ((ret = image_alloc(&cur, w, h, first.channels, first.depth)) < 0)
                goto fail;
            for (int y = 0; y < h; y++)
                memcpy(cur.data + (size_t)y * cur.stride, first.data + (size_t)y * first.stride,
                       (size_t)w * (size_t)first.channels * (size_t)first.depth);
        }
        if ((ret = encode(p, &cur, m, &out[i])) < 0)
            goto fail;
    }
    if (fp_ok_out)
        *fp_ok_out = 0;
    if (fp) {
        const struct image *small = s->n > 1 ? &cur : &first;
        if (fingerprint_image(small, fp) == 0 && fp_ok_out)
            *fp_ok_out = 1;
        else
            tp_err_clear();
    }
    if (threaded) {
        pthread_join(tid, NULL);
        threaded = 0;
        if ((ret = job.ret) < 0) {
            tp_err_set("%s", job.why);
            goto fail;
        }
    }
    image_free(&first);
    image_free(&cur);
    return 0;
fail:
    if (threaded)
        pthread_join(tid, NULL);
    image_free(&first);
    image_free(&cur);
    image_free(&next);
    proxy_out_free(out, s->n);
    return ret;
}
