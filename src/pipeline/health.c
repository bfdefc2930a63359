/* Catalog metadata health: one walk over the assets, each checked against
 * its catalog row, its imported metadata and (optionally) its original's
 * own metadata, read from the store and hashed on the way. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "err.h"
#include "health.h"
#include "home.h"
#include "image.h"
#include "mem.h"
#include "probe.h"
#include "sha256.h"
#include "store.h"
#include "timeutil.h"

static const struct {
    const char *key, *title, *fix;
} problems[HEALTH_NPROBLEMS] = {
    [HEALTH_NO_CAPTURE_TIME] = { "no_capture_time", "no capture time",
        "import the export's sidecars (tierpress import takeout|dir), or take the time the "
        "example names (file name, container date); until then keep these out of age tiers "
        "(policy 'capture_time_known: true'): their age is their upload date" },
    [HEALTH_IMPLAUSIBLE_TIME] = { "implausible_capture_time", "implausible capture time",
        "the camera's clock was wrong or never set: take the time from the sidecar or the file "
        "name; policies treat these as unknown ('capture_time_known')" },
    [HEALTH_NO_TIME_ZONE] = { "time_zone_missing", "time zone missing",
        "the EXIF time has no OffsetTimeOriginal: the instant is ambiguous by up to +-14 h; "
        "a sidecar's UTC time or the GPS position gives the zone" },
    [HEALTH_BAD_GPS] = { "gps_invalid", "GPS at 0,0 or out of range",
        "0,0 is a placeholder of apps without a fix, and |lat| > 90 or |lon| > 180 cannot be: "
        "drop the location or take it from the sidecar" },
    [HEALTH_ORIENTATION_CONFLICT] = { "orientation_conflict",
        "orientation: EXIF and container disagree",
        "viewers that follow EXIF and those that follow the container (irot/imir) show the "
        "photo turned differently: set the EXIF Orientation to the container's" },
    [HEALTH_TIME_CONFLICT] = { "capture_time_conflict",
        "same content under different capture times",
        "the export holds this content twice with different times: check which is right; the "
        "catalog keeps the file's own time, else the first sidecar's" },
    [HEALTH_UNREADABLE] = { "original_unreadable", "unreadable or truncated original",
        "restore the original from a backup or the source export (tierpress fsck lists every "
        "blob); the asset cannot be served or transcoded" },
    [HEALTH_PROXIES_MISSING] = { "proxies_missing", "proxies missing",
        "make them again: ingest the original again (nothing is stored twice), or restore the "
        "missing proxy blobs" },
};

__attribute__((format(printf, 4, 5)))
static void hit(struct health_report *r, enum health_problem p, int64_t id, const char *fmt, ...)
{
    struct health_item *it = &r->item[p];
    va_list ap;
    it->count++;
    if (it->nexamples >= HEALTH_EXAMPLES)
        return;
    struct health_example *e = &it->ex[it->nexamples++];
    e->asset_id = id;
    va_start(ap, fmt);
    vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
    va_end(ap);
}

/* "IMG_20190704_123456", "PXL_20190704_123456789", "Screenshot_2019-07-04-12-34-56",
 * "2019-07-04 12.34.56": the time a file name carries, as ISO text. */
static int time_from_name(const char *name, char *out, size_t n)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    for (const char *p = base; *p; p++) {
        unsigned y, mo, d, h, mi, s;
        char sep1, sep2;
        int used = 0;
        if (!isdigit((unsigned char)*p) || (p > base && isdigit((unsigned char)p[-1])))
            continue;
        if (sscanf(p, "%4u%2u%2u%c%2u%2u%2u%n", &y, &mo, &d, &sep1, &h, &mi, &s, &used) == 7 &&
            used == 15 && (sep1 == '_' || sep1 == '-'))
            ;
        else if (sscanf(p, "%4u-%2u-%2u%c%2u%c%2u%*c%2u%n", &y, &mo, &d, &sep1, &h, &sep2, &mi,
                        &s, &used) == 8 && (sep1 == '-' || sep1 == '_' || sep1 == ' '))
            ;
        else
            continue;
        if (y < 1990 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
            s > 60)
            continue;
        snprintf(out, n, "%04u-%02u-%02uT%02u:%02u:%02u", y, mo, d, h, mi, s);
        return 1;
    }
    return 0;
}

int health_phone_make(const char *make)
{
    static const char *const makers[] = {
        "Apple", "Google", "samsung", "Xiaomi", "HUAWEI", "OnePlus", "motorola", "LGE", "OPPO",
        "vivo", "HMD Global", "Nothing", "Fairphone", "realme", NULL,
    };
    for (int i = 0; makers[i]; i++)
        if (!strncasecmp(make, makers[i], strlen(makers[i])))
            return 1;
    return 0;
}

static void check_time(struct health_report *r, const struct catalog_asset *a, int64_t now)
{
    int64_t t;
    if (time_parse(a->capture_time, &t) < 0) {
        tp_err_clear();
        hit(r, HEALTH_IMPLAUSIBLE_TIME, a->id, "'%s' is not a date", a->capture_time);
        return;
    }
    int y, mo, d, hh, mm;
    sscanf(a->capture_time, "%d-%d-%dT%d:%d", &y, &mo, &d, &hh, &mm);
    if (t >= 0 && t < 86400)
        hit(r, HEALTH_IMPLAUSIBLE_TIME, a->id, "%s: 1970-01-01, a clock that was never set",
            a->capture_time);
    else if (t > now + 86400)
        hit(r, HEALTH_IMPLAUSIBLE_TIME, a->id, "%s: in the future", a->capture_time);
    else if (y < 1990 && health_phone_make(a->camera_make))
        hit(r, HEALTH_IMPLAUSIBLE_TIME, a->id, "%s: before 1990 on a phone (%s %s)",
            a->capture_time, a->camera_make, a->camera_model);
    else if (mo == 1 && d == 1 && hh == 0 && mm == 0 &&
             (y == 1980 || y == 2000 || y == 2001 || y == 2002))
        hit(r, HEALTH_IMPLAUSIBLE_TIME, a->id, "%s: the default date of a camera whose clock "
            "was never set", a->capture_time);
}

static int bad_coords(double lat, double lon, char *why, size_t n)
{
    if (lat == 0 && lon == 0)
        snprintf(why, n, "0,0 (a placeholder)");
    else if (lat < -90 || lat > 90 || lon < -180 || lon > 180)
        snprintf(why, n, "%.6f,%.6f is out of range", lat, lon);
    else
        return 0;
    return 1;
}

/* ---- the HEIF/AVIF container's orientation (ISO/IEC 23008-12) ----------- */

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* The child box of type t in [pos, end): *at its payload, *end_out its end. */
static int box(const uint8_t *d, size_t pos, size_t end, const char *t, size_t *at,
               size_t *end_out)
{
    while (pos + 8 <= end) {
        uint64_t sz = be(d + pos, 4);
        size_t hdr = 8;
        if (sz == 1 && pos + 16 <= end) {
            sz = be(d + pos + 8, 8);
            hdr = 16;
        } else if (sz == 0) {
            sz = end - pos;
        }
        if (sz < hdr || sz > end - pos)
            return -1;
        if (!memcmp(d + pos + 4, t, 4)) {
            *at = pos + hdr;
            *end_out = pos + (size_t)sz;
            return 0;
        }
        pos += (size_t)sz;
    }
    return -1;
}

/* The EXIF orientation (1..8) the primary item's irot/imir amount to; 0
 * when the file is not a HEIF/AVIF we can read.  Display = imir(irot(coded)),
 * irot in counter-clockwise quarter turns, imir 0 = top/bottom exchanged,
 * 1 = left/right (as heif.c writes them). */
static int container_orientation(const uint8_t *d, size_t len)
{
    static const struct { int rot, mir; } map[9] = {
        [1] = { 0, -1 }, [2] = { 0, 1 },  [3] = { 2, -1 }, [4] = { 0, 0 },
        [5] = { 3, 1 },  [6] = { 3, -1 }, [7] = { 3, 0 },  [8] = { 1, -1 },
    };
    size_t meta, meta_end, p, pe, iprp, iprp_end, ipco, ipco_end, ipma, ipma_end;
    if (len < 16 || memcmp(d + 4, "ftyp", 4) || box(d, 0, len, "meta", &meta, &meta_end) < 0)
        return 0;
    meta += 4; /* full box */
    if (box(d, meta, meta_end, "pitm", &p, &pe) < 0 || pe - p < 6)
        return 0;
    uint64_t primary = d[p] ? be(d + p + 4, 4) : be(d + p + 4, 2);
    if (box(d, meta, meta_end, "iprp", &iprp, &iprp_end) < 0 ||
        box(d, iprp, iprp_end, "ipco", &ipco, &ipco_end) < 0 ||
        box(d, iprp, iprp_end, "ipma", &ipma, &ipma_end) < 0 || ipma_end - ipma < 8)
        return 0;
    int ver = d[ipma], flags = d[ipma + 3] & 1, rot = 0, mir = -1;
    uint64_t n = be(d + ipma + 4, 4);
    size_t q = ipma + 8;
    for (uint64_t i = 0; i < n; i++) {
        size_t idlen = ver < 1 ? 2 : 4;
        if (q + idlen + 1 > ipma_end)
            return 0;
        uint64_t item = be(d + q, (int)idlen);
        int na = d[q + idlen];
        q += idlen + 1;
        for (int j = 0; j < na; j++) {
            if (q + 1 + (size_t)flags > ipma_end)
                return 0;
            uint64_t idx = flags ? be(d + q, 2) & 0x7fff : d[q] & 0x7f;
            q += 1 + (size_t)flags;
            if (item != primary || !idx)
                continue;
            /* the idx-th (1-based) property of ipco */
            size_t pos = ipco, at = 0;
            for (uint64_t k = 1; pos + 8 <= ipco_end; k++) {
                uint64_t sz = be(d + pos, 4);
                if (sz < 8 || sz > ipco_end - pos)
                    return 0;
                at = pos;
                if (k == idx)
                    break;
                pos += (size_t)sz;
                at = 0;
            }
            if (!at || at + 9 > ipco_end)
                continue;
            if (!memcmp(d + at + 4, "irot", 4))
                rot = d[at + 8] & 3;
            else if (!memcmp(d + at + 4, "imir", 4))
                mir = d[at + 8] & 1;
        }
    }
    for (int o = 1; o <= 8; o++)
        if (map[o].rot == rot && map[o].mir == mir)
            return o;
    return 0;
}

struct walk {
    struct home *h;
    struct health_report *r;
    int64_t now;
    int read_originals;
    int nrend, nmissing;
    char missing[16];
};

static int count_rendition(void *ud, const struct catalog_rendition *rd)
{
    struct walk *w = ud;
    w->nrend++;
    if (!store_exists(w->h->store, rd->blob, NULL)) {
        w->nmissing++;
        snprintf(w->missing, sizeof(w->missing), "%s", rd->name);
    }
    return 0;
}

/* Reads and hashes the original; 0 with *data (caller frees) or an error
 * named in why. */
static int read_original(struct walk *w, const char *hash, uint64_t bytes, uint8_t **data,
                         char *why, size_t n)
{
    struct store_reader *rd = NULL;
    char hex[SHA256_HEX_LEN + 1];
    int ret;
    *data = NULL;
    if (!bytes || bytes > (1ull << 32)) {
        snprintf(why, n, "size %llu", (unsigned long long)bytes);
        return TP_ERR_LIMIT;
    }
    if (!(*data = tp_malloc(bytes)))
        return TP_ERR(ENOMEM);
    if ((ret = store_open_read(w->h->store, hash, 0, bytes, &rd)) < 0 ||
        (ret = store_read_full(rd, *data, bytes)) < 0) {
        char msg[160];
        tp_strerror(ret, msg, sizeof(msg));
        snprintf(why, n, "blob %.12s: %.120s", hash, msg);
        tp_err_clear();
        goto fail;
    }
    sha256_hex(*data, bytes, hex);
    if (strcmp(hex, hash)) {
        snprintf(why, n, "blob %.12s no longer matches its sha256", hash);
        ret = TP_ERR_CORRUPT;
        goto fail;
    }
    store_reader_close(&rd);
    return 0;
fail:
    store_reader_close(&rd);
    tp_freep(data);
    return ret;
}

static int check_asset(void *ud, const struct catalog_asset *a)
{
    struct walk *w = ud;
    struct health_report *r = w->r;
    struct catalog_meta m;
    struct media_info mi;
    char why[160], hint[64];
    int have_meta = catalog_meta_get(w->h->cat, a->id, &m) == 0, have_mi = 0;
    tp_err_clear();
    r->assets++;
    memset(&mi, 0, sizeof(mi));

    if (w->read_originals) {
        const char *blob = a->original_blob[0] ? a->original_blob : a->current_blob;
        uint64_t bytes = a->bytes;
        uint8_t *data = NULL;
        if (strcmp(blob, a->sha256)) {
            struct catalog_blob b;
            if (catalog_blob_get(w->h->cat, blob, &b) == 0)
                bytes = b.bytes;
            tp_err_clear();
        }
        if (read_original(w, blob, bytes, &data, why, sizeof(why)) < 0) {
            hit(r, HEALTH_UNREADABLE, a->id, "%s", why);
        } else {
            r->originals_read++;
            struct image_limits lim;
            image_limits_defaults(&lim);
            if (probe_media(data, bytes, a->sha256, &lim, &mi) == 0)
                have_mi = 1;
            else
                hit(r, HEALTH_UNREADABLE, a->id, "%s", tp_err_detail());
            int co = have_mi && mi.exif_orientation ? container_orientation(data, bytes) : 0;
            if (co && co != mi.exif_orientation)
                hit(r, HEALTH_ORIENTATION_CONFLICT, a->id, "%s: EXIF Orientation %d, the "
                    "container's irot/imir %d", a->format, mi.exif_orientation, co);
            tp_err_clear();
        }
        tp_free(data);
    }

    if (!a->capture_time[0]) {
        const char *name = have_meta ? m.source : "";
        if (name[0] && time_from_name(name, hint, sizeof(hint)))
            hit(r, HEALTH_NO_CAPTURE_TIME, a->id, "%s: the file name gives %s", name, hint);
        else if (have_mi && mi.creation_time[0])
            hit(r, HEALTH_NO_CAPTURE_TIME, a->id, "the container's date %s", mi.creation_time);
        else
            hit(r, HEALTH_NO_CAPTURE_TIME, a->id, "%s%sno source found", name,
                name[0] ? ": " : "");
    } else {
        check_time(r, a, w->now);
        /* a time from EXIF (not a sidecar's UTC instant) without its zone */
        int from_exif = !have_meta || !strcmp(m.capture_source, "exif");
        if (have_mi && from_exif && !strcmp(a->kind, "image") && mi.capture_time[0] &&
            !mi.offset_time[0])
            hit(r, HEALTH_NO_TIME_ZONE, a->id, "%s (%s%s%s) has no OffsetTimeOriginal",
                a->capture_time, a->camera_make, a->camera_make[0] ? " " : "", a->camera_model);
    }
    if (have_mi && mi.has_gps_coords && bad_coords(mi.gps_lat, mi.gps_lon, why, sizeof(why)))
        hit(r, HEALTH_BAD_GPS, a->id, "EXIF GPS %s", why);
    else if (have_meta && m.has_location && bad_coords(m.latitude, m.longitude, why, sizeof(why)))
        hit(r, HEALTH_BAD_GPS, a->id, "%s location %s", m.location_source, why);
    if (have_meta && m.other_capture_time[0])
        hit(r, HEALTH_TIME_CONFLICT, a->id, "%s%s%s and %s", m.source, m.source[0] ? ": " : "",
            m.sidecar_capture_time[0] ? m.sidecar_capture_time : a->capture_time,
            m.other_capture_time);

    w->nrend = w->nmissing = 0;
    FORWARD_ERR(catalog_rendition_iterate(w->h->cat, a->id, count_rendition, w));
    if (!w->nrend)
        hit(r, HEALTH_PROXIES_MISSING, a->id, "no proxies at all");
    else if (w->nmissing)
        hit(r, HEALTH_PROXIES_MISSING, a->id, "%d proxy blob%s missing (%s)", w->nmissing,
            w->nmissing > 1 ? "s" : "", w->missing);
    return 0;
}

int health_check(struct home *h, int64_t now, int read_originals, struct health_report *r)
{
    struct walk w = { .h = h, .r = r, .now = now, .read_originals = read_originals };
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < HEALTH_NPROBLEMS; i++) {
        r->item[i].key = problems[i].key;
        r->item[i].title = problems[i].title;
        r->item[i].fix = problems[i].fix;
    }
    return catalog_asset_iterate(h->cat, check_asset, &w);
}
