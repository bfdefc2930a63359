/* Near-duplicate groups: pair classes, keeper election, the incremental
 * path of an ingest and the whole-catalog pass of `tierpress dups`
 * (neardup.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fpindex.h"
#include "log.h"
#include "mem.h"
#include "neardup.h"

void neardup_defaults(struct neardup_opts *o)
{
    o->t = NEARDUP_T;
    o->v = NEARDUP_V;
}

int neardup_validate(const struct neardup_opts *o)
{
    RETURN_ERR_IF(o->t < 0 || o->t > FPINDEX_MAX_T, TP_ERR_USAGE,
                  "--threshold %d is out of range (0..%d bits of 64)", o->t, FPINDEX_MAX_T);
    RETURN_ERR_IF(o->v < 0 || o->v > 10000, TP_ERR_USAGE,
                  "--verify %d is out of range (0..10000)", o->v);
    return 0;
}

enum neardup_class neardup_classify(const struct neardup_opts *o, int d, int local,
                                    const struct catalog_asset *a,
                                    const struct catalog_asset *b)
{
    if (d > o->t)
        return NEARDUP_NONE;
    /* two capture times that differ: two shots, whatever the pixels say */
    if (a->capture_time[0] && b->capture_time[0] && strcmp(a->capture_time, b->capture_time))
        return NEARDUP_SIMILAR;
    return local <= o->v ? NEARDUP_DUPLICATE : NEARDUP_SIMILAR;
}

static int lossless(const char *format)
{
    static const char *const l[] = { "png", "tiff", "gif", NULL };
    for (int i = 0; l[i]; i++)
        if (!strcmp(format, l[i]))
            return 1;
    return 0;
}

static int meta_score(const struct catalog_asset *a)
{
    return !!a->capture_time[0] + !!(a->camera_make[0] || a->camera_model[0]) + !!a->has_gps;
}

int neardup_keeper_cmp(const struct catalog_asset *a, const struct catalog_asset *b)
{
    uint64_t pa = (uint64_t)a->width * (uint64_t)a->height;
    uint64_t pb = (uint64_t)b->width * (uint64_t)b->height;
    if (pa != pb)
        return pa > pb ? -1 : 1;
    if (lossless(a->format) != lossless(b->format))
        return lossless(a->format) ? -1 : 1;
    if (a->bytes != b->bytes) /* same pixel count: more bytes, less compressed */
        return a->bytes > b->bytes ? -1 : 1;
    if (meta_score(a) != meta_score(b))
        return meta_score(a) > meta_score(b) ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* ---- incremental (ingest) ---------------------------------------------- */

struct ids {
    int64_t *v;
    int n, cap;
};

static int ids_push(struct ids *s, int64_t id)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        int64_t *v = realloc(s->v, sizeof(*v) * (size_t)cap);
        RETURN_ERR_IF(!v, TP_ERR(ENOMEM), "out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return 0;
}

/* ids_push unless already there (small sets: a group's members). */
static int ids_add(struct ids *s, int64_t id)
{
    for (int i = 0; i < s->n; i++)
        if (s->v[i] == id)
            return 0;
    return ids_push(s, id);
}

/* A candidate of the incremental path: an asset whose 64-bit hash is
 * within t of the new one's, with its group (its own id when in none). */
struct cand {
    int64_t id, group;
    int keeper, grouped;
};

struct near_ctx {
    const struct neardup_opts *o;
    const struct catalog_asset *a;
    const struct fingerprint *fp;
    struct cand *v;
    int n, cap;
};

/* Rows of the chunk index only collect candidates: the local check (the
 * costly part) is made afterwards, for as few of them as decide. */
static int near_row(void *ud, const struct catalog_fp *f)
{
    struct near_ctx *x = ud;
    if (f->asset_id == x->a->id || fingerprint_dist64(f->phash, x->fp->phash) > x->o->t)
        return 0;
    if (x->n == x->cap) {
        int cap = x->cap ? 2 * x->cap : 16;
        struct cand *v = realloc(x->v, sizeof(*v) * (size_t)cap);
        RETURN_ERR_IF(!v, TP_ERR(ENOMEM), "out of memory");
        x->v = v;
        x->cap = cap;
    }
    x->v[x->n++] = (struct cand){ f->asset_id, f->group_id ? f->group_id : f->asset_id,
                                  f->keeper, f->group_id != 0 };
    return 0;
}

/* By group, the keeper first, then the oldest. */
static int cand_cmp(const void *p, const void *q)
{
    const struct cand *a = p, *b = q;
    if (a->group != b->group)
        return a->group < b->group ? -1 : 1;
    if (a->keeper != b->keeper)
        return b->keeper - a->keeper;
    return (a->id > b->id) - (a->id < b->id);
}

/* Is candidate b a duplicate of the new asset?  Capture times first (two
 * shots need no local check), then the local check of the thumbnails. */
static int near_check(struct catalog *c, const struct near_ctx *x, int64_t id, int *dup)
{
    static __thread struct catalog_fp row;
    static __thread struct fingerprint g;
    struct catalog_asset b;
    *dup = 0;
    FORWARD_ERR(catalog_asset_get(c, id, &b));
    if (neardup_classify(x->o, 0, 0, x->a, &b) != NEARDUP_DUPLICATE)
        return 0; /* two capture times: similar whatever the pixels */
    FORWARD_ERR(catalog_fp_get(c, id, &row));
    if (fingerprint_vparse(row.vhash, &g) < 0 || fingerprint_thumb_parse(row.thumb, &g) < 0)
        return 0;
    int local = fingerprint_local_diff(&g, x->fp);
    *dup = neardup_classify(x->o, 0, local, x->a, &b) == NEARDUP_DUPLICATE;
    tp_log(TP_LOG_DEBUG, "asset %lld: local check against asset %lld: %d", (long long)x->a->id,
           (long long)id, local);
    return 0;
}

static int collect_row(void *ud, const struct catalog_fp *f)
{
    return ids_add(ud, f->asset_id);
}

static int keeper_row(void *ud, const struct catalog_fp *f)
{
    if (f->keeper && !*(int64_t *)ud)
        *(int64_t *)ud = f->asset_id;
    return 0;
}

/* Elects the keeper of group g among its members (and sets g on each). */
static int elect(struct catalog *c, int64_t g, const struct ids *members)
{
    struct catalog_asset best, cur;
    int64_t keeper = 0;
    for (int i = 0; i < members->n; i++) {
        FORWARD_ERR(catalog_asset_get(c, members->v[i], &cur));
        if (!keeper || neardup_keeper_cmp(&cur, &best) < 0) {
            best = cur;
            keeper = cur.id;
        }
    }
    for (int i = 0; i < members->n; i++)
        FORWARD_ERR(catalog_fp_set_group(c, members->v[i], members->n > 1 ? g : 0,
                                         members->n < 2 || members->v[i] == keeper));
    return 0;
}

/* The new asset joins one existing group: only its keeper is compared
 * with the newcomer (the others stay as they are).  *done = 0 when the
 * group has no keeper on record (then the caller elects among all). */
static int join_group(struct catalog *c, const struct catalog_asset *a, int64_t g,
                      int64_t keeper, int *done)
{
    struct catalog_asset k;
    *done = 0;
    if (!keeper)
        FORWARD_ERR(catalog_fp_group(c, g, keeper_row, &keeper));
    if (!keeper)
        return 0;
    FORWARD_ERR(catalog_asset_get(c, keeper, &k));
    if (neardup_keeper_cmp(a, &k) < 0) {
        FORWARD_ERR(catalog_fp_set_group(c, keeper, g, 0));
        FORWARD_ERR(catalog_fp_set_group(c, a->id, g, 1));
    } else {
        FORWARD_ERR(catalog_fp_set_group(c, a->id, g, 0));
    }
    *done = 1;
    return 0;
}

int neardup_add(struct catalog *c, const struct neardup_opts *o, const struct catalog_asset *a,
                const struct fingerprint *fp, int64_t *group_out)
{
    struct near_ctx x = { .o = o, .a = a, .fp = fp };
    struct ids members = { 0 }, dup = { 0 };
    static __thread struct catalog_fp row;
    int64_t g = a->id, keeper = 0;
    int ret, joined = 0, ngrouped = 0;

    *group_out = 0;
    memset(&row, 0, sizeof(row));
    row.asset_id = a->id;
    row.phash = fp->phash;
    row.keeper = 1;
    fingerprint_vhex(fp, row.vhash);
    fingerprint_thumb_hex(fp, row.thumb);
    if ((ret = catalog_fp_put(c, &row)) < 0)
        return ret;
    if ((ret = catalog_fp_near(c, fp->phash, o->t / CATALOG_FP_CHUNKS, near_row, &x)) < 0)
        goto end;
    /* One duplicate joins its whole group, so each group is checked until
     * one member is a duplicate, the keeper first, at most
     * NEARDUP_GROUP_CHECKS members: a group of thousands of copies costs
     * one local check, not thousands (the local check is ~1 ms). */
    if (x.n) /* qsort of no array: undefined */
        qsort(x.v, (size_t)x.n, sizeof(*x.v), cand_cmp);
    for (int i = 0; i < x.n;) {
        int e = i, is_dup = 0;
        while (e < x.n && x.v[e].group == x.v[i].group)
            e++;
        for (int k = i; k < e && k < i + NEARDUP_GROUP_CHECKS && !is_dup; k++)
            if ((ret = near_check(c, &x, x.v[k].id, &is_dup)) < 0)
                goto end;
        if (is_dup) {
            if ((ret = ids_push(&dup, i)) < 0)
                goto end;
            if (x.v[i].group < g)
                g = x.v[i].group;
            if (x.v[i].grouped) {
                ngrouped++;
                keeper = x.v[i].keeper ? x.v[i].id : 0;
            }
        }
        i = e;
    }
    if (!dup.n)
        goto end;
    /* the common case: one existing group gains a member */
    if (dup.n == 1 && ngrouped == 1 && (ret = join_group(c, a, g, keeper, &joined)) < 0)
        goto end;
    if (!joined) {
        /* the new asset, and every member of every group it touches */
        if ((ret = ids_add(&members, a->id)) < 0)
            goto end;
        for (int i = 0; i < dup.n; i++) {
            const struct cand *d = &x.v[dup.v[i]];
            if ((ret = ids_add(&members, d->id)) < 0)
                goto end;
            if (d->grouped && (ret = catalog_fp_group(c, d->group, collect_row, &members)) < 0)
                goto end;
        }
        if ((ret = elect(c, g, &members)) < 0)
            goto end;
    }
    *group_out = g;
    tp_log(TP_LOG_DEBUG, "asset %lld: near-duplicate group %lld (%s)", (long long)a->id,
           (long long)g, joined ? "joined" : "elected");
end:
    free(x.v);
    free(dup.v);
    free(members.v);
    return ret;
}

/* ---- the whole catalog (tierpress dups) -------------------------------- */

struct vh {
    uint64_t w[FP_VBITS / 64];
};

struct all {
    int64_t *id;
    uint64_t *ph;
    struct vh *fp; /* the verification hashes (no thumbnails: 48 bytes per asset) */
    size_t n, cap;
};

static int vdist(const struct vh *a, const struct vh *b)
{
    int d = 0;
    for (int i = 0; i < FP_VBITS / 64; i++)
        d += __builtin_popcountll(a->w[i] ^ b->w[i]);
    return d;
}

static int all_row(void *ud, const struct catalog_fp *f)
{
    struct all *s = ud;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        int64_t *id = tp_realloc(s->id, sizeof(*id) * cap);
        if (id)
            s->id = id;
        uint64_t *ph = tp_realloc(s->ph, sizeof(*ph) * cap);
        if (ph)
            s->ph = ph;
        struct vh *fp = tp_realloc(s->fp, sizeof(*fp) * cap);
        if (fp)
            s->fp = fp;
        RETURN_ERR_IF(!id || !ph || !fp, TP_ERR(ENOMEM), "out of memory reading fingerprints");
        s->cap = cap;
    }
    s->id[s->n] = f->asset_id;
    s->ph[s->n] = f->phash;
    static __thread struct fingerprint g;
    if (fingerprint_vparse(f->vhash, &g) < 0)
        memset(g.vhash, 0, sizeof(g.vhash));
    memcpy(s->fp[s->n].w, g.vhash, sizeof(g.vhash));
    s->n++;
    return 0;
}

/* The local check of two catalogued fingerprints (their thumbnails). */
static int local_of(struct catalog *c, int64_t a, int64_t b, int *out)
{
    static __thread struct catalog_fp fa, fb;
    static __thread struct fingerprint ga, gb;
    FORWARD_ERR(catalog_fp_get(c, a, &fa));
    FORWARD_ERR(catalog_fp_get(c, b, &fb));
    if (fingerprint_thumb_parse(fa.thumb, &ga) < 0 || fingerprint_thumb_parse(fb.thumb, &gb) < 0) {
        *out = 100000; /* unreadable: never a duplicate */
        return 0;
    }
    *out = fingerprint_local_diff(&ga, &gb);
    return 0;
}

/* Do two catalogued fingerprints have the same thumbnail? */
static int same_thumb(struct catalog *c, int64_t a, int64_t b, int *out)
{
    static __thread struct catalog_fp fa, fb;
    FORWARD_ERR(catalog_fp_get(c, a, &fa));
    FORWARD_ERR(catalog_fp_get(c, b, &fb));
    *out = !strcmp(fa.thumb, fb.thumb);
    return 0;
}

struct pair {
    uint32_t i, j;
    int d, vd, local;
};

struct pairs {
    struct pair *v;
    size_t n, cap;
    const struct all *all;
};

static int pair_add(void *ud, uint32_t i, uint32_t j, int d)
{
    struct pairs *p = ud;
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        struct pair *v = tp_realloc(p->v, sizeof(*v) * cap);
        RETURN_ERR_IF(!v, TP_ERR(ENOMEM), "out of memory");
        p->v = v;
        p->cap = cap;
    }
    p->v[p->n++] = (struct pair){ i, j, d, vdist(&p->all->fp[i], &p->all->fp[j]), -1 };
    return 0;
}

static uint32_t uf_find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static void uf_union(uint32_t *p, uint32_t a, uint32_t b)
{
    a = uf_find(p, a);
    b = uf_find(p, b);
    if (a != b)
        p[a < b ? b : a] = a < b ? a : b;
}

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int cmp32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int member_cmp(const void *x, const void *y)
{
    const struct neardup_member *a = x, *b = y;
    return neardup_keeper_cmp(&a->a, &b->a);
}

/* Builds the groups of the components of parent[] over the indexes in
 * touched[] (each listed once). */
static int build_groups(struct catalog *c, const struct all *s, uint32_t *parent,
                        const uint32_t *touched, size_t nt, int similar, struct neardup_report *r)
{
    /* sort touched by root so each component is contiguous */
    uint64_t *key = tp_malloc(sizeof(*key) * (nt ? nt : 1));
    int ret = 0;
    RETURN_ERR_IF(!key, TP_ERR(ENOMEM), "out of memory");
    for (size_t i = 0; i < nt; i++)
        key[i] = (uint64_t)uf_find(parent, touched[i]) << 32 | touched[i];
    qsort(key, nt, sizeof(*key), cmp64);
    for (size_t i = 0; i < nt && ret >= 0;) {
        size_t e = i;
        while (e < nt && key[e] >> 32 == key[i] >> 32)
            e++;
        if (e - i >= 2) {
            struct neardup_group *g = tp_realloc(r->g, sizeof(*g) * (size_t)(r->ngroups + 1));
            if (!g) {
                ret = TP_ERR(ENOMEM);
                break;
            }
            r->g = g;
            g = &r->g[r->ngroups];
            memset(g, 0, sizeof(*g));
            g->similar = similar;
            g->m = tp_malloc(sizeof(*g->m) * (e - i));
            if (!g->m) {
                ret = TP_ERR(ENOMEM);
                break;
            }
            r->ngroups++;
            g->n = (int)(e - i);
            uint32_t *ix = tp_malloc(sizeof(*ix) * (e - i));
            if (!ix) {
                ret = TP_ERR(ENOMEM);
                break;
            }
            for (size_t k = i; k < e && ret >= 0; k++) {
                struct neardup_member *m = &g->m[k - i];
                memset(m, 0, sizeof(*m));
                ret = catalog_asset_get(c, s->id[(uint32_t)key[k]], &m->a);
                m->dist = (int)(uint32_t)key[k]; /* index for now */
            }
            if (ret >= 0) {
                qsort(g->m, (size_t)g->n, sizeof(*g->m), member_cmp);
                uint32_t k0 = (uint32_t)g->m[0].dist;
                g->id = g->m[0].a.id;
                for (int k = 0; k < g->n; k++) {
                    struct neardup_member *m = &g->m[k];
                    uint32_t ik = (uint32_t)m->dist;
                    if (m->a.id < g->id)
                        g->id = m->a.id;
                    m->keeper = !similar && k == 0;
                    m->dist = k ? fingerprint_dist64(s->ph[ik], s->ph[k0]) : -1;
                    m->vdist = k ? vdist(&s->fp[ik], &s->fp[k0]) : -1;
                    m->local = -1;
                    if (k && (ret = local_of(c, g->m[0].a.id, m->a.id, &m->local)) < 0)
                        break;
                    ix[k] = ik;
                    if (!similar && k)
                        g->bytes_others += m->a.bytes;
                }
                /* exact: the same pixels (thumbnail, hashes and size) as another member */
                for (int a = 0; a < g->n && ret >= 0 && !similar; a++)
                    for (int b = a + 1; b < g->n && ret >= 0; b++)
                        if (s->ph[ix[a]] == s->ph[ix[b]] && !vdist(&s->fp[ix[a]], &s->fp[ix[b]]) &&
                            g->m[a].a.width == g->m[b].a.width &&
                            g->m[a].a.height == g->m[b].a.height) {
                            int same = 0;
                            if ((ret = same_thumb(c, g->m[a].a.id, g->m[b].a.id, &same)) < 0)
                                break;
                            if (same)
                                g->m[a].exact = g->m[b].exact = 1;
                        }
                if (!similar)
                    r->bytes_others += g->bytes_others;
            }
            tp_free(ix);
        }
        i = e;
    }
    tp_free(key);
    return ret;
}

int neardup_find(struct catalog *c, const struct neardup_opts *o, struct neardup_report *r)
{
    struct all s = { 0 };
    struct pairs p = { .all = &s };
    uint32_t *dup = NULL, *sim = NULL, *touched = NULL;
    size_t nt = 0;
    int ret;

    memset(r, 0, sizeof(*r));
    FORWARD_ERR(neardup_validate(o));
    if ((ret = catalog_fp_scan(c, all_row, &s)) < 0)
        goto end;
    r->fingerprints = (int64_t)s.n;
    if ((ret = fpindex_pairs(s.ph, s.n, o->t, pair_add, &p)) < 0)
        goto end;
    r->pairs = (int64_t)p.n;
    dup = tp_malloc(sizeof(*dup) * (s.n ? s.n : 1));
    sim = tp_malloc(sizeof(*sim) * (s.n ? s.n : 1));
    touched = tp_malloc(sizeof(*touched) * (2 * p.n + 1));
    if (!dup || !sim || !touched) {
        ret = TP_ERR(ENOMEM);
        tp_err_set("out of memory grouping %zu fingerprints", s.n);
        goto end;
    }
    for (size_t i = 0; i < s.n; i++)
        dup[i] = sim[i] = (uint32_t)i;
    for (size_t k = 0; k < p.n; k++) {
        struct catalog_asset a, b;
        if ((ret = catalog_asset_get(c, s.id[p.v[k].i], &a)) < 0 ||
            (ret = catalog_asset_get(c, s.id[p.v[k].j], &b)) < 0)
            goto end;
        if ((ret = local_of(c, s.id[p.v[k].i], s.id[p.v[k].j], &p.v[k].local)) < 0)
            goto end;
        enum neardup_class cl = neardup_classify(o, p.v[k].d, p.v[k].local, &a, &b);
        if (cl == NEARDUP_DUPLICATE)
            uf_union(dup, p.v[k].i, p.v[k].j);
    }
    /* similar: pairs whose ends are in two different duplicate groups (or none) */
    for (size_t k = 0; k < p.n; k++)
        if (uf_find(dup, p.v[k].i) != uf_find(dup, p.v[k].j))
            uf_union(sim, uf_find(dup, p.v[k].i), uf_find(dup, p.v[k].j));
    /* every index in a pair, once */
    for (size_t k = 0; k < p.n; k++) {
        touched[nt++] = p.v[k].i;
        touched[nt++] = p.v[k].j;
    }
    qsort(touched, nt, sizeof(*touched), cmp32);
    size_t u = 0;
    for (size_t k = 0; k < nt; k++)
        if (!u || touched[u - 1] != touched[k])
            touched[u++] = touched[k];
    nt = u;
    if ((ret = build_groups(c, &s, dup, touched, nt, 0, r)) < 0)
        goto end;
    /* similar sets: one representative per duplicate group (its root) */
    u = 0;
    for (size_t k = 0; k < nt; k++)
        if (uf_find(dup, touched[k]) == touched[k])
            touched[u++] = touched[k];
    ret = build_groups(c, &s, sim, touched, u, 1, r);
end:
    tp_free(s.id);
    tp_free(s.ph);
    tp_free(s.fp);
    tp_free(p.v);
    tp_free(dup);
    tp_free(sim);
    tp_free(touched);
    if (ret < 0)
        neardup_report_free(r);
    return ret < 0 ? ret : 0;
}

void neardup_report_free(struct neardup_report *r)
{
    for (int i = 0; r->g && i < r->ngroups; i++)
        tp_free(r->g[i].m);
    tp_free(r->g);
    memset(r, 0, sizeof(*r));
}

static int grouped_row(void *ud, const struct catalog_fp *f)
{
    return f->group_id || !f->keeper ? ids_push(ud, f->asset_id) : 0;
}

int neardup_store(struct catalog *c, const struct neardup_report *r)
{
    struct ids old = { 0 };
    int ret;
    if ((ret = catalog_fp_scan(c, grouped_row, &old)) < 0)
        goto end;
    if ((ret = catalog_begin(c)) < 0)
        goto end;
    for (int i = 0; i < old.n && ret >= 0; i++)
        ret = catalog_fp_set_group(c, old.v[i], 0, 1);
    for (int k = 0; k < r->ngroups && ret >= 0; k++) {
        const struct neardup_group *g = &r->g[k];
        if (g->similar)
            continue;
        for (int i = 0; i < g->n && ret >= 0; i++)
            ret = catalog_fp_set_group(c, g->m[i].a.id, g->id, g->m[i].keeper);
    }
    if (ret >= 0)
        ret = catalog_commit(c);
    else
        catalog_rollback(c);
end:
    free(old.v);
    return ret;
}
