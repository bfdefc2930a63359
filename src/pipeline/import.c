/* Importing an export: Google Takeout (JSON sidecars, albums) or a folder
 * tree with XMP sidecars.  Two passes over the parts: the first lists
 * every entry and reads the (small) sidecars, so a photo and its sidecar
 * may sit in different parts; the matching runs on names alone; the second
 * streams each media entry into ingest_data() and records what its sidecar
 * adds.  Archives are read in place with libarchive, never unpacked. */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "catalog.h"
#include "err.h"
#include "fileio.h"
#include "home.h"
#include "import.h"
#include "json.h"
#include "log.h"
#include "mem.h"
#include "timeutil.h"

#define SIDECAR_MAX_BYTES (4u << 20) /* a Takeout sidecar is a few kB */
#define SUPPLEMENTAL ".supplemental-metadata"
#define CLIP_MIN 40                  /* Google clips names at ~46 characters */

enum entry_kind { E_OTHER, E_MEDIA, E_SIDECAR, E_ALBUM };

struct entry {
    char *path;       /* inside the part (archive) or relative to the root (folder) */
    const char *name; /* basename, inside path */
    size_t dirlen;    /* path[0..dirlen) is the directory, with its '/' */
    int part;
    int64_t ordinal;  /* index of the entry in its archive */
    uint64_t size;
    enum entry_kind kind;
    int sidecar;      /* E_MEDIA: the matched sidecar entry, -1 */
    int used;         /* E_SIDECAR: matched by a media file */
    int64_t asset_id; /* E_MEDIA: the asset it is (imported now or before), 0 */
    struct import_sidecar *sc;
};

struct part {
    const char *path;
    int is_dir;
    int corrupt;      /* entries with ordinal >= corrupt_at were not listed */
    int64_t corrupt_at;
};

/* An open-addressing set of entry paths -> entry index. */
struct index {
    int *slot;
    size_t cap, n;
};

struct ctx {
    struct home *h;
    enum import_mode mode;
    const struct ingest_opts *o;
    struct import_report *r;
    import_progress_fn progress;
    void *ud;
    struct part *parts;
    int nparts;
    struct entry *e;
    int n, cap;
    struct index idx;        /* sidecars and album files by path */
    struct index media_idx;  /* media by path */
};

/* ---- small helpers ------------------------------------------------------ */

__attribute__((format(printf, 2, 3)))
static void list_add(struct import_list *l, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **v = tp_realloc(l->v, (size_t)cap * sizeof(*v));
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    if ((l->v[l->n] = tp_strdup(line)))
        l->n++;
}

static void list_free(struct import_list *l)
{
    for (int i = 0; i < l->n; i++)
        tp_free(l->v[i]);
    tp_free(l->v);
    memset(l, 0, sizeof(*l));
}

void import_report_free(struct import_report *r)
{
    if (!r)
        return;
    list_free(&r->unmatched);
    list_free(&r->no_sidecar);
    list_free(&r->skipped);
    list_free(&r->errors);
}

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int index_grow(struct ctx *c, struct index *ix)
{
    size_t cap = ix->cap ? ix->cap * 2 : 1024;
    int *slot = tp_malloc(cap * sizeof(*slot));
    if (!slot)
        return TP_ERR(ENOMEM);
    for (size_t i = 0; i < cap; i++)
        slot[i] = -1;
    for (size_t i = 0; i < ix->cap; i++) {
        int k = ix->slot[i];
        if (k < 0)
            continue;
        size_t j = hash_str(c->e[k].path, strlen(c->e[k].path)) & (cap - 1);
        while (slot[j] >= 0)
            j = (j + 1) & (cap - 1);
        slot[j] = k;
    }
    tp_free(ix->slot);
    ix->slot = slot;
    ix->cap = cap;
    return 0;
}

/* Adds entry k; a path already present keeps its first entry. */
static int index_add(struct ctx *c, struct index *ix, int k)
{
    if ((ix->n + 1) * 2 >= ix->cap)
        FORWARD_ERR(index_grow(c, ix));
    const char *p = c->e[k].path;
    size_t j = hash_str(p, strlen(p)) & (ix->cap - 1);
    while (ix->slot[j] >= 0) {
        if (!strcmp(c->e[ix->slot[j]].path, p))
            return 0;
        j = (j + 1) & (ix->cap - 1);
    }
    ix->slot[j] = k;
    ix->n++;
    return 0;
}

/* The entry whose path is dir[0..dirlen) + name[0..namelen), or -1. */
static int index_find(const struct ctx *c, const struct index *ix, const char *dir, size_t dirlen,
                      const char *name, size_t namelen)
{
    char key[2048];
    if (!ix->cap || dirlen + namelen >= sizeof(key))
        return -1;
    memcpy(key, dir, dirlen);
    memcpy(key + dirlen, name, namelen);
    key[dirlen + namelen] = '\0';
    size_t j = hash_str(key, dirlen + namelen) & (ix->cap - 1);
    while (ix->slot[j] >= 0) {
        if (!strcmp(c->e[ix->slot[j]].path, key))
            return ix->slot[j];
        j = (j + 1) & (ix->cap - 1);
    }
    return -1;
}

static const char *ext_of(const char *name)
{
    const char *d = strrchr(name, '.');
    return d && d != name ? d + 1 : "";
}

static int ext_in(const char *name, const char *const *list)
{
    const char *e = ext_of(name);
    for (int i = 0; list[i]; i++)
        if (!strcasecmp(e, list[i]))
            return 1;
    return 0;
}

static const char *const media_exts[] = {
    "jpg", "jpeg", "jpe", "png", "gif", "webp", "heic", "heif", "avif", "jxl", "tif", "tiff",
    "dng", "bmp", "mp4", "mov", "m4v", "3gp", "mkv", "webm", "avi", "mp", NULL,
};
static const char *const still_exts[] = {
    "jpg", "JPG", "jpeg", "JPEG", "heic", "HEIC", "png", "PNG", NULL,
};
static const char *const video_motion_exts[] = { "mp", "mp4", "mov", NULL };
/* An album folder's own file, in the languages Takeout is exported in. */
static const char *const album_files[] = {
    "metadata.json", "metadaten.json", "métadonnées.json", "metadatos.json", "metadati.json",
    "metadados.json", NULL,
};
/* The suffix Google Photos gives an edited copy, by language. */
static const char *const edited_suffixes[] = {
    "-edited", "-bearbeitet", "-modifié", "-editado", "-modificato", "-bewerkt", "-redigerad",
    "-redigert", "-muokattu", "-edytowane", "-upravené", "-編集済み", NULL,
};

/* A name that would leave the export: absolute, or with a ".." part. */
static int unsafe_name(const char *p)
{
    if (p[0] == '/' || p[0] == '\\')
        return 1;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/\\");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 1;
        s += n;
        if (*s)
            s++;
    }
    return 0;
}

/* ---- sidecars ------------------------------------------------------------ */

static double json_number(json_t *v)
{
    if (json_is_number(v))
        return json_number_value(v);
    if (json_is_string(v))
        return strtod(json_string_value(v), NULL);
    return 0;
}

static int json_flag(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_true(v) || (json_is_string(v) && !strcasecmp(json_string_value(v), "true"));
}

/* Copies text into out (n bytes) cut at a character boundary: a name or
 * description longer than the catalog's field never ends in half a UTF-8
 * sequence (PostgreSQL refuses such text; JSON output would show U+FFFD). */
static void copy_textn(char *out, size_t n, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t k = json_utf8_seq((const unsigned char *)s + i, len - i);
        if (!k)
            k = 1; /* not UTF-8 to begin with: bytes as they are */
        if (i + k >= n)
            break;
        i += k;
    }
    memcpy(out, s, i);
    out[i] = '\0';
}

static void copy_text(char *out, size_t n, const char *s)
{
    copy_textn(out, n, s, strlen(s));
}

static void parse_json_sidecar(const char *text, size_t len, struct import_sidecar *sc)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je), *v;
    memset(sc, 0, sizeof(*sc));
    if (!root || !json_is_object(root)) {
        snprintf(sc->error, sizeof(sc->error), "invalid JSON: %.100s (line %d)",
                 root ? "not an object" : je.text, root ? 0 : je.line);
        json_decref(root);
        return;
    }
    sc->valid = 1;
    if (json_is_string(v = json_object_get(root, "title")))
        copy_text(sc->title, sizeof(sc->title), json_string_value(v));
    if (json_is_string(v = json_object_get(root, "description")))
        copy_text(sc->desc, sizeof(sc->desc), json_string_value(v));
    v = json_object_get(json_object_get(root, "photoTakenTime"), "timestamp");
    if (v) {
        double t = json_number(v);
        if (t > 0 && t < 253402300800.0) /* before year 10000 (and no int64 overflow) */
            time_format((int64_t)t, sc->taken, sizeof(sc->taken));
    }
    const char *geo_keys[] = { "geoData", "geoDataExif" };
    for (int i = 0; i < 2 && !sc->has_geo; i++) {
        json_t *g = json_object_get(root, geo_keys[i]);
        if (!json_is_object(g))
            continue;
        double lat = json_number(json_object_get(g, "latitude"));
        double lon = json_number(json_object_get(g, "longitude"));
        /* 0,0 is Google's "no location" placeholder */
        if ((lat != 0 || lon != 0) && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180) {
            sc->has_geo = 1;
            sc->lat = lat;
            sc->lon = lon;
        }
    }
    sc->fav = json_flag(root, "favorited");
    sc->archived = json_flag(root, "archived");
    sc->trashed = json_flag(root, "trashed");
    json_decref(root);
}

/* The value of an XMP property written as attribute (name="v") or element
 * (<name>v</name>, also inside rdf:Alt/rdf:li); "" when absent. */
static void xmp_prop(const char *x, const char *name, char *out, size_t n)
{
    char pat[96];
    const char *p;
    out[0] = '\0';
    snprintf(pat, sizeof(pat), "%s=\"", name);
    if ((p = strstr(x, pat))) {
        p += strlen(pat);
        copy_textn(out, n, p, strcspn(p, "\""));
        return;
    }
    snprintf(pat, sizeof(pat), "<%s>", name);
    if (!(p = strstr(x, pat)))
        return;
    p += strlen(pat);
    const char *li = strstr(p, "<rdf:li"), *end = strstr(p, "</");
    if (li && end && li < end && (li = strchr(li, '>')))
        p = li + 1;
    while (isspace((unsigned char)*p))
        p++;
    size_t l = strcspn(p, "<");
    while (l && isspace((unsigned char)p[l - 1]))
        l--;
    copy_textn(out, n, p, l);
}

/* "48,51.5N" (XMP's GPSCoordinate) or a decimal number. */
static int xmp_coord(const char *s, double *out)
{
    char *end;
    double deg = strtod(s, &end);
    if (end == s)
        return -1;
    *out = deg;
    if (*end != ',')
        return 0;
    const char *m = end + 1;
    double min = strtod(m, &end);
    if (end == m)
        return -1;
    *out = deg + min / 60;
    if (*end == 'S' || *end == 'W')
        *out = -*out;
    return 0;
}

static void parse_xmp_sidecar(const char *text, size_t len, struct import_sidecar *sc)
{
    char v[CATALOG_DESC], la[64], lo[64];
    (void)len;
    memset(sc, 0, sizeof(*sc));
    if (!strstr(text, "x:xmpmeta") && !strstr(text, "rdf:RDF")) {
        snprintf(sc->error, sizeof(sc->error), "not an XMP packet");
        return;
    }
    sc->valid = 1;
    const char *dates[] = { "exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate" };
    for (int i = 0; i < 3 && !sc->taken[0]; i++) {
        int64_t t;
        xmp_prop(text, dates[i], v, sizeof(v));
        if (v[0] && time_parse(v, &t) == 0) {
            /* the wall-clock time as written, without a zone */
            snprintf(sc->taken, sizeof(sc->taken), "%.19s", v);
            if (sc->taken[10] == ' ')
                sc->taken[10] = 'T';
        }
        tp_err_clear();
    }
    xmp_prop(text, "exif:GPSLatitude", la, sizeof(la));
    xmp_prop(text, "exif:GPSLongitude", lo, sizeof(lo));
    if (la[0] && lo[0] && xmp_coord(la, &sc->lat) == 0 && xmp_coord(lo, &sc->lon) == 0 &&
        (sc->lat != 0 || sc->lon != 0) && sc->lat >= -90 && sc->lat <= 90 && sc->lon >= -180 &&
        sc->lon <= 180)
        sc->has_geo = 1;
    xmp_prop(text, "dc:description", sc->desc, sizeof(sc->desc));
    xmp_prop(text, "xmp:Rating", v, sizeof(v));
    sc->fav = atoi(v) >= 5;
}

void import_sidecar_parse(enum import_mode mode, const char *text, size_t len,
                          struct import_sidecar *sc)
{
    if (mode == IMPORT_TAKEOUT)
        parse_json_sidecar(text, len, sc);
    else
        parse_xmp_sidecar(text, len, sc);
}

/* ---- the name rules ------------------------------------------------------ */

/* Splits "STEM(N).EXT" into "STEM.EXT" and "(N)"; 0 when there is no
 * counter. */
static int split_counter(const char *name, char *base, size_t bn, char *counter, size_t cn)
{
    const char *dot = strrchr(name, '.');
    size_t stem = dot ? (size_t)(dot - name) : strlen(name);
    if (stem < 3 || name[stem - 1] != ')')
        return 0;
    size_t i = stem - 2;
    while (i > 0 && isdigit((unsigned char)name[i]))
        i--;
    if (name[i] != '(' || i + 2 == stem || i == 0)
        return 0;
    snprintf(base, bn, "%.*s%s", (int)i, name, dot ? dot : "");
    snprintf(counter, cn, "%.*s", (int)(stem - i), name + i);
    return 1;
}

/* Removes an "-edited" suffix (or a localised one) from the stem. */
static int strip_edited(const char *name, char *out, size_t n)
{
    const char *dot = strrchr(name, '.');
    size_t stem = dot ? (size_t)(dot - name) : strlen(name);
    for (int i = 0; edited_suffixes[i]; i++) {
        size_t l = strlen(edited_suffixes[i]);
        if (stem > l && !strncasecmp(name + stem - l, edited_suffixes[i], l)) {
            snprintf(out, n, "%.*s%s", (int)(stem - l), name, dot ? dot : "");
            return 1;
        }
    }
    return 0;
}

typedef int (*probe_fn)(const void *ud, const char *json_name, size_t len);

/* Tries every sidecar name Google could have given media name m (counter
 * c, "" or "(N)"), most specific first; returns the first probe() hit. */
static int try_names(const char *m, const char *c, probe_fn probe, const void *ud)
{
    char x[1024], cand[1200];
    size_t ml = strlen(m);
    int k, n;
    /* (an empty name has no sidecar; the loop below needs ml > 0: found by
     * tests/fuzz/fuzz_sidecar.c, it never ended) */
    if (!ml || ml + sizeof(SUPPLEMENTAL) >= sizeof(x))
        return -1;
    snprintf(x, sizeof(x), "%s%s", m, SUPPLEMENTAL);
    size_t xl = strlen(x);
    /* NAME.supplemental-metadata.json and every truncation of the suffix,
     * down to NAME.json (the first generation) */
    for (size_t l = xl; l >= ml; l--) {
        n = snprintf(cand, sizeof(cand), "%.*s%s.json", (int)l, x, c);
        if ((k = probe(ud, cand, (size_t)n)) >= 0)
            return k;
    }
    /* a long name clipped to the budget */
    for (size_t l = ml - 1; l >= CLIP_MIN && l < ml; l--) {
        n = snprintf(cand, sizeof(cand), "%.*s%s.json", (int)l, m, c);
        if ((k = probe(ud, cand, (size_t)n)) >= 0)
            return k;
    }
    /* NAME without its extension */
    const char *dot = strrchr(m, '.');
    if (dot) {
        n = snprintf(cand, sizeof(cand), "%.*s%s.json", (int)(dot - m), m, c);
        if ((k = probe(ud, cand, (size_t)n)) >= 0)
            return k;
    }
    return -1;
}

/* Every variant of a media name: as is, counter moved, unedited (both). */
static int match_name(const char *name, probe_fn probe, const void *ud)
{
    char base[1024], counter[32], plain[1024], plain2[1024];
    int k;
    if ((k = try_names(name, "", probe, ud)) >= 0)
        return k;
    int has_counter = split_counter(name, base, sizeof(base), counter, sizeof(counter));
    if (has_counter && (k = try_names(base, counter, probe, ud)) >= 0)
        return k;
    if (strip_edited(has_counter ? base : name, plain, sizeof(plain))) {
        if (has_counter && (k = try_names(plain, counter, probe, ud)) >= 0)
            return k;
        if ((k = try_names(plain, "", probe, ud)) >= 0)
            return k;
    }
    if (!has_counter && strip_edited(name, plain2, sizeof(plain2)) &&
        split_counter(plain2, base, sizeof(base), counter, sizeof(counter)) &&
        (k = try_names(base, counter, probe, ud)) >= 0)
        return k;
    return -1;
}

struct name_probe {
    const char *json;
    size_t len;
};

static int probe_equal(const void *ud, const char *cand, size_t len)
{
    const struct name_probe *p = ud;
    return len == p->len && !memcmp(cand, p->json, len) ? 0 : -1;
}

int import_sidecar_matches(const char *media, const char *json)
{
    struct name_probe p = { json, strlen(json) };
    return match_name(media, probe_equal, &p) >= 0;
}

struct dir_probe {
    const struct ctx *c;
    const struct entry *m;
};

static int probe_dir(const void *ud, const char *cand, size_t len)
{
    const struct dir_probe *p = ud;
    int k = index_find(p->c, &p->c->idx, p->m->path, p->m->dirlen, cand, len);
    return k >= 0 && p->c->e[k].kind == E_SIDECAR ? k : -1;
}

/* A motion photo's video (IMG.MP, IMG.MP4) shares the still's sidecar. */
static int match_motion(const struct ctx *c, const struct entry *m, probe_fn probe,
                        const void *ud)
{
    char still[1024];
    const char *dot = strrchr(m->name, '.');
    if (!dot || !ext_in(m->name, video_motion_exts))
        return -1;
    for (int i = 0; still_exts[i]; i++) {
        int n = snprintf(still, sizeof(still), "%.*s.%s", (int)(dot - m->name), m->name,
                         still_exts[i]);
        int s = index_find(c, &c->media_idx, m->path, m->dirlen, still, (size_t)n);
        if (s >= 0 && s != (int)(m - c->e)) {
            int k = match_name(still, probe, ud);
            if (k >= 0)
                return k;
        }
    }
    return -1;
}

/* ---- pass 1: listing ----------------------------------------------------- */

static int add_entry(struct ctx *c, const char *path, int part, int64_t ordinal, uint64_t size)
{
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 256;
        struct entry *e = tp_realloc(c->e, (size_t)cap * sizeof(*e));
        if (!e)
            return TP_ERR(ENOMEM);
        c->e = e;
        c->cap = cap;
    }
    struct entry *e = &c->e[c->n];
    memset(e, 0, sizeof(*e));
    while (path[0] == '.' && path[1] == '/')
        path += 2;
    if (!(e->path = tp_strdup(path)))
        return TP_ERR(ENOMEM);
    const char *slash = strrchr(e->path, '/');
    e->name = slash ? slash + 1 : e->path;
    e->dirlen = (size_t)(e->name - e->path);
    e->part = part;
    e->ordinal = ordinal;
    e->size = size;
    e->sidecar = -1;
    return c->n++;
}

static int is_album_file(const char *name)
{
    for (int i = 0; album_files[i]; i++)
        if (!strcmp(name, album_files[i]))
            return 1;
    return 0;
}

/* Classifies entry k; reads a sidecar's text with read(). */
static int classify(struct ctx *c, int k, int (*read)(void *src, struct tp_buf *out), void *src)
{
    struct entry *e = &c->e[k];
    const char *ext = ext_of(e->name);
    int takeout = c->mode == IMPORT_TAKEOUT;
    int side = takeout ? !strcasecmp(ext, "json") : !strcasecmp(ext, "xmp");
    const char *where = c->parts[e->part].is_dir ? "" : c->parts[e->part].path;
    const char *sep = *where ? ":" : "";
    if (unsafe_name(e->path)) {
        list_add(&c->r->skipped, "%s%s%s: refused: the name leaves the export", where, sep,
                 e->path);
        return 0;
    }
    if (e->name[0] == '.' || !e->name[0])
        return 0;
    if (side) {
        struct tp_buf b = { 0 };
        int ret;
        e->kind = takeout && is_album_file(e->name) ? E_ALBUM : E_SIDECAR;
        if (!(e->sc = tp_calloc(1, sizeof(*e->sc))))
            return TP_ERR(ENOMEM);
        if (e->size > SIDECAR_MAX_BYTES) {
            snprintf(e->sc->error, sizeof(e->sc->error), "larger than %u bytes",
                     SIDECAR_MAX_BYTES);
        } else if ((ret = read(src, &b)) < 0) {
            char msg[256];
            tp_strerror(ret, msg, sizeof(msg));
            tp_err_clear();
            snprintf(e->sc->error, sizeof(e->sc->error), "unreadable: %.120s", msg);
        } else if (buf_append(&b, "", 1) < 0) {
            buf_free(&b);
            return TP_ERR(ENOMEM);
        } else {
            import_sidecar_parse(takeout ? IMPORT_TAKEOUT : IMPORT_DIR, (const char *)b.data,
                                 b.len - 1, e->sc);
        }
        buf_free(&b);
        if (e->kind == E_SIDECAR)
            c->r->sidecars++;
        return index_add(c, &c->idx, k);
    }
    if (ext_in(e->name, media_exts)) {
        e->kind = E_MEDIA;
        c->r->media++;
        c->r->bytes_total += e->size;
        return index_add(c, &c->media_idx, k);
    }
    list_add(&c->r->skipped, "%s%s%s: not a photo or video", where, sep, e->path);
    return 0;
}

struct arc_src {
    struct archive *a;
    uint64_t max;  /* bytes an entry may have */
    uint64_t size; /* the entry's size as listed (0: unknown) */
};

static int arc_read_all(void *src, struct tp_buf *out)
{
    const struct arc_src *as = src;
    struct archive *a = as->a;
    char chunk[65536];
    la_ssize_t n;
    if (as->size && as->size <= as->max && buf_reserve(out, (size_t)as->size) < 0)
        return TP_ERR(ENOMEM);
    while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0) {
        if (out->len + (uint64_t)n > as->max) {
            buf_free(out);
            tp_err_set("larger than %llu bytes", (unsigned long long)as->max);
            return TP_ERR_LIMIT;
        }
        if (buf_append(out, chunk, (size_t)n) < 0) {
            buf_free(out);
            return TP_ERR(ENOMEM);
        }
    }
    if (n < 0) {
        tp_err_set("%s", archive_error_string(a));
        buf_free(out);
        return TP_ERR_INVALIDDATA;
    }
    return 0;
}

static struct archive *arc_open(const char *path)
{
    struct archive *a = archive_read_new();
    if (!a)
        return NULL;
    archive_read_support_format_zip(a);
    archive_read_support_format_tar(a);
    archive_read_support_filter_gzip(a);
    archive_read_support_filter_bzip2(a);
    archive_read_support_filter_xz(a);
    if (archive_read_open_filename(a, path, 1 << 16) != ARCHIVE_OK)
        return a; /* the caller reads the error */
    return a;
}

static int list_archive(struct ctx *c, int part)
{
    struct part *p = &c->parts[part];
    struct archive *a = arc_open(p->path);
    struct archive_entry *ae;
    struct arc_src src = { a, SIDECAR_MAX_BYTES, 0 };
    int64_t ord = 0;
    int rc, ret = 0;
    if (!a)
        return TP_ERR(ENOMEM);
    while ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
        const char *name = archive_entry_pathname(ae);
        int k;
        if (archive_entry_filetype(ae) != AE_IFREG || !name) {
            ord++;
            continue;
        }
        if ((k = add_entry(c, name, part, ord++, (uint64_t)archive_entry_size(ae))) < 0) {
            ret = k;
            break;
        }
        if ((ret = classify(c, k, arc_read_all, &src)) < 0)
            break;
    }
    if (ret >= 0 && rc != ARCHIVE_EOF && rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
        p->corrupt = 1;
        p->corrupt_at = ord;
        list_add(&c->r->errors, "%s: corrupt archive part: %s%s", p->path,
                 archive_error_string(a) ? archive_error_string(a) : "unreadable",
                 ord ? " (the entries before it are imported)" : "");
    }
    archive_read_free(a);
    return ret;
}

struct file_src {
    const char *path;
};

static int file_read_all(void *src, struct tp_buf *out)
{
    return file_read(((struct file_src *)src)->path, SIDECAR_MAX_BYTES, out);
}

static int skip_hidden(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

/* rel: the path below the root ("" at the top). */
static int list_dir(struct ctx *c, int part, const char *rel)
{
    char full[4096];
    struct dirent **list = NULL;
    int n, ret = 0;
    snprintf(full, sizeof(full), "%s/%s", c->parts[part].path, rel);
    if ((n = scandir(full, &list, skip_hidden, alphasort)) < 0) {
        list_add(&c->r->errors, "%s: %s", full, strerror(errno));
        return 0;
    }
    for (int i = 0; i < n; i++) {
        char childrel[4096], childfull[4096];
        struct stat st;
        int l1 = snprintf(childrel, sizeof(childrel), "%s%s%s", rel, *rel ? "/" : "",
                          list[i]->d_name);
        int l2 = snprintf(childfull, sizeof(childfull), "%s/%s", c->parts[part].path, childrel);
        if (ret < 0 || l1 >= (int)sizeof(childrel) || l2 >= (int)sizeof(childfull) ||
            lstat(childfull, &st) < 0) {
        } else if (S_ISDIR(st.st_mode)) {
            ret = list_dir(c, part, childrel);
        } else if (!S_ISREG(st.st_mode)) {
            list_add(&c->r->skipped, "%s: %s, not a regular file", childfull,
                     file_type_name(st.st_mode));
        } else {
            struct file_src src = { childfull };
            int k = add_entry(c, childrel, part, 0, (uint64_t)st.st_size);
            ret = k < 0 ? k : classify(c, k, file_read_all, &src);
        }
        free(list[i]);
    }
    free(list);
    return ret;
}

/* ---- matching ------------------------------------------------------------ */

static void match_all(struct ctx *c)
{
    for (int i = 0; i < c->n; i++) {
        struct entry *m = &c->e[i];
        if (m->kind != E_MEDIA)
            continue;
        struct dir_probe dp = { c, m };
        int k;
        if (c->mode == IMPORT_DIR) {
            /* IMG_1234.xmp or IMG_1234.jpg.xmp */
            char cand[1200];
            const char *dot = strrchr(m->name, '.');
            int n = snprintf(cand, sizeof(cand), "%s.xmp", m->name);
            k = index_find(c, &c->idx, m->path, m->dirlen, cand, (size_t)n);
            if (k < 0 && dot) {
                n = snprintf(cand, sizeof(cand), "%.*s.xmp", (int)(dot - m->name), m->name);
                k = index_find(c, &c->idx, m->path, m->dirlen, cand, (size_t)n);
            }
        } else {
            k = match_name(m->name, probe_dir, &dp);
            if (k < 0)
                k = match_motion(c, m, probe_dir, &dp);
        }
        if (k >= 0) {
            m->sidecar = k;
            c->e[k].used = 1;
        }
    }
    if (c->mode != IMPORT_TAKEOUT)
        return;
    /* the last resort: an unmatched sidecar's title names the file */
    for (int k = 0; k < c->n; k++) {
        struct entry *s = &c->e[k];
        if (s->kind != E_SIDECAR || s->used || !s->sc->valid || !s->sc->title[0])
            continue;
        int i = index_find(c, &c->media_idx, s->path, s->dirlen, s->sc->title,
                           strlen(s->sc->title));
        if (i >= 0 && c->e[i].sidecar < 0) {
            c->e[i].sidecar = k;
            s->used = 1;
        }
    }
}

/* The album an entry's folder is, from its metadata.json, or NULL for a
 * year folder or the top. */
static const char *album_of(const struct ctx *c, const struct entry *m, char *buf, size_t n)
{
    /* year folders ("Photos from 2019") have no metadata.json; an album
     * named "Summer 2019" has one */
    if (c->mode != IMPORT_TAKEOUT || !m->dirlen)
        return NULL;
    for (int i = 0; album_files[i]; i++) {
        int k = index_find(c, &c->idx, m->path, m->dirlen, album_files[i],
                           strlen(album_files[i]));
        if (k >= 0 && c->e[k].kind == E_ALBUM && c->e[k].sc->valid && c->e[k].sc->title[0]) {
            snprintf(buf, n, "%s", c->e[k].sc->title);
            return buf;
        }
    }
    return NULL;
}

/* ---- pass 2: ingesting --------------------------------------------------- */

static void entry_key(const struct entry *e, char *key, size_t n)
{
    snprintf(key, n, "%s|%llu", e->path, (unsigned long long)e->size);
}

static int record_meta(struct ctx *c, const struct entry *m, const struct ingest_result *res)
{
    struct catalog *cat = c->h->cat;
    struct catalog_asset a;
    struct catalog_meta meta;
    char album[256];
    const struct import_sidecar *sc = m->sidecar >= 0 ? c->e[m->sidecar].sc : NULL;
    int ret;

    FORWARD_ERR(catalog_asset_get(cat, res->asset_id, &a));
    if (catalog_meta_get(cat, res->asset_id, &meta) < 0) {
        /* first import of this content: the file's own EXIF as it was */
        tp_err_clear();
        memset(&meta, 0, sizeof(meta));
        snprintf(meta.exif_capture_time, sizeof(meta.exif_capture_time), "%s", a.capture_time);
        if (a.has_gps)
            snprintf(meta.location_source, sizeof(meta.location_source), "exif");
    }
    meta.asset_id = res->asset_id;
    if (!meta.source[0])
        snprintf(meta.source, sizeof(meta.source), "%s", m->path);
    if (sc && sc->valid) {
        if (!meta.sidecar[0])
            snprintf(meta.sidecar, sizeof(meta.sidecar), "%s", c->e[m->sidecar].path);
        if (sc->taken[0] && !meta.sidecar_capture_time[0])
            snprintf(meta.sidecar_capture_time, sizeof(meta.sidecar_capture_time), "%s",
                     sc->taken);
        else if (sc->taken[0] && strcmp(sc->taken, meta.sidecar_capture_time))
            /* the same content exported twice with different times */
            snprintf(meta.other_capture_time, sizeof(meta.other_capture_time), "%s", sc->taken);
        if (sc->has_geo && !meta.has_location) {
            meta.has_location = 1;
            meta.latitude = sc->lat;
            meta.longitude = sc->lon;
            if (!meta.location_source[0]) {
                snprintf(meta.location_source, sizeof(meta.location_source), "sidecar");
                c->r->with_location++;
            }
        }
        if (sc->desc[0] && !meta.description[0])
            snprintf(meta.description, sizeof(meta.description), "%s", sc->desc);
        meta.favourite |= sc->fav;
        meta.archived |= sc->archived;
        meta.trashed |= sc->trashed;
    }
    /* the file's own time wins; the sidecar fills what it lacks */
    if (meta.exif_capture_time[0]) {
        snprintf(meta.capture_time, sizeof(meta.capture_time), "%s", meta.exif_capture_time);
        snprintf(meta.capture_source, sizeof(meta.capture_source), "exif");
    } else if (meta.sidecar_capture_time[0]) {
        if (strcmp(meta.capture_source, "sidecar"))
            c->r->with_capture_time++;
        snprintf(meta.capture_time, sizeof(meta.capture_time), "%s", meta.sidecar_capture_time);
        snprintf(meta.capture_source, sizeof(meta.capture_source), "sidecar");
    }
    if ((ret = catalog_begin(cat)) < 0)
        return ret;
    if ((ret = catalog_meta_put(cat, &meta)) < 0)
        goto fail;
    if (album_of(c, m, album, sizeof(album))) {
        if ((ret = catalog_album_add(cat, album, res->asset_id)) < 0)
            goto fail;
        c->r->album_links++;
    }
    char key[2200];
    entry_key(m, key, sizeof(key));
    if ((ret = catalog_import_put(cat, key, res->asset_id)) < 0)
        goto fail;
    return catalog_commit(cat);
fail:
    catalog_rollback(cat);
    return ret;
}

static void import_one(struct ctx *c, struct entry *m, const uint8_t *data, size_t len)
{
    struct ingest_result res;
    char name[4200];
    const char *where = c->parts[m->part].is_dir ? "" : c->parts[m->part].path;
    snprintf(name, sizeof(name), "%s%s%s", where, *where ? ":" : "", m->path);
    int ret = ingest_data(c->h, data, len, name, c->o, &res);
    if (ret >= 0)
        ret = record_meta(c, m, &res);
    if (ret < 0) {
        char msg[512];
        tp_strerror(ret, msg, sizeof(msg));
        tp_err_clear();
        list_add(&c->r->errors, "%s: %s", name, msg);
        c->r->failed++;
        return;
    }
    m->asset_id = res.asset_id;
    if (res.duplicate)
        c->r->duplicates++;
    else
        c->r->imported++;
    if (res.pair) /* a Live Photo's halves linked by their content identifier */
        c->r->pairs_linked++;
}

/* 1 when the entry was imported before (its record exists). */
static int done_before(struct ctx *c, struct entry *m)
{
    char key[2200];
    int64_t id;
    entry_key(m, key, sizeof(key));
    if (catalog_import_get(c->h->cat, key, &id) == 0) {
        m->asset_id = id;
        return 1;
    }
    tp_err_clear();
    return 0;
}

static void step(struct ctx *c, const struct entry *m)
{
    c->r->files_done++;
    c->r->bytes_done += m->size;
    if (c->progress)
        c->progress(c->ud, c->r);
}

/* Entries of part p by ordinal (archives list in order). */
static int ingest_archive(struct ctx *c, int part, int first)
{
    struct part *p = &c->parts[part];
    struct archive *a = arc_open(p->path);
    struct archive_entry *ae;
    struct tp_buf b = { 0 };
    int64_t ord = 0;
    int i = first, rc;
    if (!a)
        return TP_ERR(ENOMEM);
    while (i < c->n && c->e[i].part == part &&
           ((rc = archive_read_next_header(a, &ae)) == ARCHIVE_OK || rc == ARCHIVE_WARN)) {
        struct entry *m = &c->e[i];
        if (ord++ != m->ordinal)
            continue;
        i++;
        if (m->kind != E_MEDIA)
            continue;
        if (done_before(c, m)) {
            c->r->resumed++;
        } else {
            struct arc_src src = { a, c->o->limits.max_file_bytes, m->size };
            b.len = 0;
            int ret = m->size > c->o->limits.max_file_bytes ? TP_ERR_LIMIT : 0;
            if (!ret)
                ret = arc_read_all(&src, &b);
            if (ret < 0) {
                char msg[256];
                tp_strerror(ret, msg, sizeof(msg));
                tp_err_clear();
                list_add(&c->r->errors, "%s:%s: %s", p->path, m->path, msg);
                c->r->failed++;
            } else {
                import_one(c, m, b.data, b.len);
            }
        }
        step(c, m);
    }
    buf_free(&b);
    archive_read_free(a);
    return i;
}

static int ingest_dir_part(struct ctx *c, int part, int first)
{
    int i = first;
    for (; i < c->n && c->e[i].part == part; i++) {
        struct entry *m = &c->e[i];
        char full[4200];
        struct tp_buf b = { 0 };
        if (m->kind != E_MEDIA)
            continue;
        if (done_before(c, m)) {
            c->r->resumed++;
            step(c, m);
            continue;
        }
        snprintf(full, sizeof(full), "%s/%s", c->parts[part].path, m->path);
        int ret = file_read(full, c->o->limits.max_file_bytes, &b);
        if (ret < 0) {
            char msg[256];
            tp_strerror(ret, msg, sizeof(msg));
            tp_err_clear();
            list_add(&c->r->errors, "%s: %s", full, msg);
            c->r->failed++;
        } else {
            import_one(c, m, b.data, b.len);
        }
        buf_free(&b);
        step(c, m);
    }
    return i;
}

/* ---- pass 3: Live Photo / motion photo pairs ----------------------------- */

/* 1 when asset id is of kind (and in no pair yet), 0 when not, negative on
 * error. */
static int pairable(struct catalog *cat, int64_t id, const char *kind)
{
    struct catalog_asset a;
    int64_t partner;
    if (catalog_asset_get(cat, id, &a) < 0) {
        tp_err_clear();
        return 0;
    }
    if (strcmp(a.kind, kind))
        return 0;
    int ret = catalog_pair_get(cat, id, &partner);
    return ret < 0 ? ret : !ret;
}

/* A motion photo's video (IMG.MP, IMG.MP4, IMG.MOV) and the still of the
 * same base name in the same folder (which share the still's sidecar) are
 * one asset: linked with catalog_pair_put.  No capture-time check as in
 * pairs.c: Google's motion-photo videos keep the container's date, not
 * the still's.  Pairs already linked (a second import) stay as they are. */
static int link_pairs(struct ctx *c)
{
    char still[1024];
    for (int i = 0; i < c->n; i++) {
        const struct entry *m = &c->e[i];
        const char *dot = strrchr(m->name, '.');
        if (m->kind != E_MEDIA || m->asset_id <= 0 || !dot || !ext_in(m->name, video_motion_exts))
            continue;
        for (int j = 0; still_exts[j]; j++) {
            int n = snprintf(still, sizeof(still), "%.*s.%s", (int)(dot - m->name), m->name,
                             still_exts[j]);
            int s = index_find(c, &c->media_idx, m->path, m->dirlen, still, (size_t)n);
            if (s < 0 || s == i || c->e[s].asset_id <= 0 || c->e[s].asset_id == m->asset_id)
                continue;
            int ret = pairable(c->h->cat, c->e[s].asset_id, "image");
            if (ret > 0)
                ret = pairable(c->h->cat, m->asset_id, "video");
            if (ret < 0)
                return ret;
            if (!ret)
                continue;
            if ((ret = catalog_pair_put(c->h->cat, c->e[s].asset_id, m->asset_id, "name")) < 0)
                return ret;
            tp_log(TP_LOG_INFO, "%s and %s: one motion photo (assets %lld + %lld)",
                   c->e[s].path, m->path, (long long)c->e[s].asset_id, (long long)m->asset_id);
            c->r->pairs_linked++;
            break;
        }
    }
    return 0;
}

static void report_lists(struct ctx *c)
{
    for (int i = 0; i < c->n; i++) {
        const struct entry *e = &c->e[i];
        const char *where = c->parts[e->part].is_dir ? "" : c->parts[e->part].path;
        const char *sep = *where ? ":" : "";
        if (e->kind == E_MEDIA && e->sidecar < 0)
            list_add(&c->r->no_sidecar, "%s%s%s", where, sep, e->path);
        if (e->kind == E_MEDIA && e->sidecar >= 0 && !c->e[e->sidecar].sc->valid)
            list_add(&c->r->skipped, "%s%s%s: sidecar %s ignored: %s", where, sep, e->path,
                     c->e[e->sidecar].name, c->e[e->sidecar].sc->error);
        if (e->kind == E_SIDECAR && e->used)
            c->r->sidecars_matched++;
        if (e->kind == E_SIDECAR && !e->used)
            list_add(&c->r->unmatched, "%s%s%s%s%s", where, sep, e->path,
                     e->sc->valid ? "" : ": ", e->sc->valid ? "" : e->sc->error);
    }
}

int import_run(struct home *h, enum import_mode mode, char *const *paths, int npaths,
               const struct ingest_opts *o, struct import_report *r,
               import_progress_fn progress, void *ud)
{
    struct ctx c = { .h = h, .mode = mode, .o = o, .r = r, .progress = progress, .ud = ud };
    int ret = 0, i;

    memset(r, 0, sizeof(*r));
    if (!(c.parts = tp_calloc((size_t)npaths, sizeof(*c.parts))))
        return TP_ERR(ENOMEM);
    c.nparts = npaths;
    for (i = 0; i < npaths && ret >= 0; i++) {
        struct stat st;
        c.parts[i].path = paths[i];
        if (stat(paths[i], &st) < 0) {
            list_add(&r->errors, "%s: %s", paths[i], strerror(errno));
            c.parts[i].corrupt = 1;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            c.parts[i].is_dir = 1;
            ret = list_dir(&c, i, "");
        } else if (!S_ISREG(st.st_mode)) {
            list_add(&r->errors, "%s: %s, not an archive or a folder", paths[i],
                     file_type_name(st.st_mode));
            c.parts[i].corrupt = 1;
        } else {
            ret = list_archive(&c, i);
        }
    }
    if (ret < 0)
        goto end;
    r->files_total = r->media;
    match_all(&c);
    report_lists(&c);
    for (i = 0; i < c.n;) {
        int part = c.e[i].part;
        i = c.parts[part].is_dir ? ingest_dir_part(&c, part, i) : ingest_archive(&c, part, i);
        if (i < 0) {
            ret = i;
            goto end;
        }
        /* entries the archive no longer gave (it changed since the listing) */
        while (i < c.n && c.e[i].part == part)
            i++;
    }
    if ((ret = link_pairs(&c)) < 0) {
        char msg[256];
        tp_strerror(ret, msg, sizeof(msg));
        tp_err_clear();
        list_add(&r->errors, "linking motion photos: %s", msg);
    }
    catalog_audit(h->cat, 0, mode == IMPORT_TAKEOUT ? "import.takeout" : "import.dir", NULL);
    ret = r->errors.n || r->failed ? 1 : 0;
end:
    for (i = 0; i < c.n; i++) {
        tp_free(c.e[i].path);
        tp_free(c.e[i].sc);
    }
    tp_free(c.e);
    tp_free(c.idx.slot);
    tp_free(c.media_idx.slot);
    tp_free(c.parts);
    return ret;
}
