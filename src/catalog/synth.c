/* Synthetic catalogs (see synth.h).  The distributions:
 *   media     each asset picks one media file uniformly, so formats and
 *             sizes are in proportion to the media set;
 *   upload    age = 3650 days x u^2 (u uniform): ten years, skewed recent
 *             (half the assets are younger than 2.5 years);
 *   capture   80% have one: 90% of those a few hours..30 days before the
 *             upload, 10% 0..10 years before (scanned/imported albums);
 *   access    popularity is Pareto (alpha 1.2, x_m 1): the count over the
 *             past year is floor(x) - 1, so ~57% have none and a few have
 *             thousands; assets younger than 90 days are accessed with
 *             probability 0.7; older ones only with probability 0.15 in the
 *             last year (most are never opened after 90 days); the last
 *             access is uniform in the asset's window, and the 30/90-day
 *             counts are the year's count scaled to the window (>= 1 when
 *             the last access falls in it). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec.h"
#include "catalog.h"
#include "err.h"
#include "timeutil.h"
#include "fileio.h"
#include "home.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "probe.h"
#include "store.h"
#include "synth.h"

#define DAY 86400
#define MAX_MEDIA 4096
#define MAX_MEDIA_BYTES (512u << 20)

struct media {
    char hash[SHA256_HEX_LEN + 1];
    uint64_t bytes;
    char kind[8], format[16];
    int width, height, orientation, has_gps;
    double duration;
    char make[CATALOG_TEXT], model[CATALOG_TEXT];
    int64_t uses;
};

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double rng_unit(uint64_t *s) { return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

void synth_opts_defaults(struct synth_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->seed = 1;
    o->media_dir = "samples";
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Stores every readable media file of dir once; fills m (sorted by name). */
static int load_media(struct home *h, const char *dir, struct media *m, int *n_out, int *skipped)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char *names[MAX_MEDIA];
    int nn = 0, n = 0, ret = 0;
    struct tp_buf buf = { 0 };
    struct image_limits lim;
    struct codec_opts co;

    RETURN_ERR_IF(!d, TP_ERR(errno), "cannot open the media directory %s: %s", dir, strerror(errno));
    while ((de = readdir(d)) && nn < MAX_MEDIA) {
        if (de->d_name[0] == '.')
            continue;
        if (!(names[nn] = tp_strdup(de->d_name))) {
            ret = TP_ERR(ENOMEM);
            break;
        }
        nn++;
    }
    closedir(d);
    if (ret < 0)
        goto end;
    qsort(names, (size_t)nn, sizeof(names[0]), cmp_str);
    codec_opts_defaults(&co);
    lim = co.limits;
    for (int i = 0; i < nn; i++) {
        char path[4096];
        struct media_info mi;
        struct media *e = &m[n];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (file_read(path, MAX_MEDIA_BYTES, &buf) < 0 ||
            probe_media(buf.data, buf.len, path, &lim, &mi) < 0) {
            tp_log(TP_LOG_INFO, "catalog synth: skipping %s: %s", path, tp_err_detail());
            tp_err_clear();
            (*skipped)++;
            continue;
        }
        memset(e, 0, sizeof(*e));
        if ((ret = store_put_data(h->store, buf.data, buf.len, e->hash)) < 0)
            goto end;
        e->bytes = buf.len;
        snprintf(e->kind, sizeof(e->kind), "%s", mi.kind);
        snprintf(e->format, sizeof(e->format), "%s", mi.format);
        e->width = mi.width;
        e->height = mi.height;
        e->orientation = mi.orientation >= 1 && mi.orientation <= 8 ? mi.orientation : 1;
        e->has_gps = mi.has_gps;
        e->duration = mi.duration;
        snprintf(e->make, sizeof(e->make), "%s", mi.make);
        snprintf(e->model, sizeof(e->model), "%s", mi.model);
        /* the same bytes twice are one blob */
        int dup = 0;
        for (int k = 0; k < n; k++)
            dup |= !strcmp(m[k].hash, e->hash);
        if (!dup)
            n++;
    }
    RETURN_ERR_IF(n == 0, TP_ERR_NOTFOUND, "no usable media files in %s", dir);
end:
    for (int i = 0; i < nn; i++)
        tp_free(names[i]);
    buf_free(&buf);
    *n_out = n;
    return ret;
}

/* One asset's times and access statistics. */
static void make_asset(uint64_t *rng, int64_t now, struct catalog_asset *a,
                       struct catalog_access *ac)
{
    double u = rng_unit(rng);
    double age = 3650.0 * u * u;
    int64_t up = now - (int64_t)(age * DAY);
    time_format(up, a->upload_time, sizeof(a->upload_time));
    a->capture_time[0] = '\0';
    if (rng_unit(rng) < 0.8) {
        double back = rng_unit(rng) < 0.9 ? rng_unit(rng) * 30 * DAY + 3600
                                          : rng_unit(rng) * 3650.0 * DAY;
        time_format(up - (int64_t)back, a->capture_time, sizeof(a->capture_time));
        a->capture_time[19] = '\0'; /* as ingest writes it: no zone */
    }
    memset(ac, 0, sizeof(*ac));
    /* Pareto(alpha 1.2, x_m 1): floor(x) - 1 accesses in the past year */
    double x = pow(1.0 - rng_unit(rng), -1.0 / 1.2);
    int64_t n = x > 1e6 ? 1000000 : (int64_t)x - 1;
    double window = age < 365 ? age : 365;
    int active = age < 90 ? rng_unit(rng) < 0.7 : rng_unit(rng) < 0.15;
    if (!active || n <= 0 || window <= 0) {
        /* maybe opened soon after the upload, never since */
        if (age >= 90 && rng_unit(rng) < 0.5) {
            int64_t la = up + (int64_t)(rng_unit(rng) * 90 * DAY);
            time_format(la, ac->last_access, sizeof(ac->last_access));
            ac->total = 1 + (int64_t)(rng_unit(rng) * 3);
            if (now - la < 365 * (int64_t)DAY)
                ac->count_365d = ac->total;
            if (now - la < 90 * (int64_t)DAY)
                ac->count_90d = ac->total;
            if (now - la < 30 * (int64_t)DAY)
                ac->count_30d = ac->total;
        }
        return;
    }
    double ago = rng_unit(rng) * window;
    time_format(now - (int64_t)(ago * DAY), ac->last_access, sizeof(ac->last_access));
    ac->count_365d = n;
    ac->count_90d = ago < 90 ? (int64_t)fmax(1, floor(n * fmin(1, 90 / window))) : 0;
    ac->count_30d = ago < 30 ? (int64_t)fmax(1, floor(n * fmin(1, 30 / window))) : 0;
    if (ac->count_90d > n)
        ac->count_90d = n;
    if (ac->count_30d > ac->count_90d)
        ac->count_30d = ac->count_90d;
    ac->total = n + (int64_t)(rng_unit(rng) * 3);
}

int synth_run(struct home *h, const struct synth_opts *o, struct synth_result *res)
{
    struct media *m = NULL;
    int nm = 0, ret, in_tx = 0;
    int64_t lo, hi, cnt;
    uint64_t rng = o->seed * 0x2545f4914f6cdd1dull + 7;
    struct timespec t0, t1;
    struct catalog_asset a;
    struct catalog_access ac;
    char *detail;

    memset(res, 0, sizeof(*res));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    RETURN_ERR_IF(o->assets < 1 || o->assets > 100000000, TP_ERR(EINVAL),
                  "catalog synth: --assets must be 1..100000000");
    if (!(m = tp_calloc(MAX_MEDIA, sizeof(*m))))
        return TP_ERR(ENOMEM);
    if ((ret = load_media(h, o->media_dir, m, &nm, &res->skipped)) < 0)
        goto end;
    res->media = nm;
    if ((ret = catalog_asset_id_range(h->cat, &lo, &hi, &cnt)) < 0)
        goto end;
    catalog_bulk_mode(h->cat, 1);
    if ((ret = catalog_begin(h->cat)) < 0)
        goto end;
    in_tx = 1;
    for (int i = 0; i < nm; i++)
        if ((ret = catalog_blob_add(h->cat, m[i].hash, m[i].bytes, NULL)) < 0)
            goto end;
    uint64_t tag = rng_next(&rng) >> 8;
    for (int64_t i = 0; i < o->assets; i++) {
        uint64_t r = rng_next(&rng);
        struct media *e = &m[r % (uint64_t)nm];
        memset(&a, 0, sizeof(a));
        /* unique and increasing within the run (cheap index appends); not
         * a real content hash: the bytes are the shared blob's */
        snprintf(a.sha256, sizeof(a.sha256), "5%015llx%016llx%016llx%016llx",
                 (unsigned long long)(tag & 0xfffffffffffffffull), (unsigned long long)(hi + 1 + i),
                 (unsigned long long)rng_next(&rng), (unsigned long long)r);
        snprintf(a.kind, sizeof(a.kind), "%s", e->kind);
        snprintf(a.format, sizeof(a.format), "%s", e->format);
        a.width = e->width;
        a.height = e->height;
        a.bytes = e->bytes;
        memcpy(a.camera_make, e->make, sizeof(a.camera_make));
        memcpy(a.camera_model, e->model, sizeof(a.camera_model));
        a.has_gps = e->has_gps;
        a.orientation = e->orientation;
        a.duration = e->duration;
        memcpy(a.current_blob, e->hash, sizeof(a.current_blob));
        memcpy(a.original_blob, e->hash, sizeof(a.original_blob));
        make_asset(&rng, o->now, &a, &ac);
        if ((ret = catalog_asset_insert_bulk(h->cat, &a, &ac)) < 0)
            goto end;
        if (i == 0)
            res->first_id = a.id;
        res->last_id = a.id;
        e->uses++;
        if (o->progress && (i & 0x3ffff) == 0x3ffff)
            o->progress(o->progress_ud, i + 1, o->assets);
    }
    for (int i = 0; i < nm; i++)
        if (m[i].uses && (ret = catalog_blob_ref_add(h->cat, m[i].hash, 2 * m[i].uses)) < 0)
            goto end;
    detail = json_pack_text("{s:I, s:I, s:i, s:I, s:I}", "assets", (json_int_t)o->assets, "seed",
                            (json_int_t)o->seed, "media", nm, "first_id", (json_int_t)res->first_id,
                            "last_id", (json_int_t)res->last_id);
    ret = detail ? catalog_audit(h->cat, 0, "catalog.synth", detail) : TP_ERR(ENOMEM);
    free(detail);
    if (ret < 0)
        goto end;
    if ((ret = catalog_commit(h->cat)) < 0)
        goto end;
    in_tx = 0;
    res->assets = o->assets;
end:
    if (in_tx)
        catalog_rollback(h->cat);
    catalog_bulk_mode(h->cat, 0);
    tp_free(m);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    res->seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    return ret < 0 ? ret : 0;
}
