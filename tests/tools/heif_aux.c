/* heif_aux OUT.heic URN [BITS]: writes a small HEIC (64x48 gradient, BITS 8
 * or 10) whose primary image has one auxiliary image of type URN (e.g.
 * urn:com:apple:photo:2020:aux:hdrgainmap, or
 * urn:mpeg:hevc:2015:auxid:2 for depth; "-": none, a thumbnail instead).
 *
 * libheif 1.15 encodes both images (the auxiliary one as the primary's
 * thumbnail: an iref 'thmb'); it has no call that writes auxiliary images,
 * so the container is then edited: 'thmb' becomes 'auxl', an auxC property
 * with URN is appended to ipco and associated with the second item in ipma,
 * the enclosing box sizes grow, and iloc's offsets into the mdat after meta
 * move by the bytes inserted.  A test tool: it aborts on anything it does
 * not expect.
 *
 * Build: cc -O2 heif_aux.c $(pkg-config --cflags --libs libheif) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#define CHECK(e)                                                                   \
    do {                                                                           \
        struct heif_error err_ = (e);                                              \
        if (err_.code) {                                                           \
            fprintf(stderr, "heif_aux: %s: %s\n", #e, err_.message);               \
            exit(1);                                                               \
        }                                                                          \
    } while (0)
#define DIE(...) (fprintf(stderr, "heif_aux: " __VA_ARGS__), fputc('\n', stderr), exit(1))

static uint8_t *buf;
static size_t len;

static struct heif_error writer(struct heif_context *c, const void *d, size_t n, void *u)
{
    (void)c;
    (void)u;
    buf = malloc(n + 4096);
    memcpy(buf, d, n);
    len = n;
    return (struct heif_error){ heif_error_Ok, heif_suberror_Unspecified, "ok" };
}

static uint32_t rd(size_t at, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | buf[at + i];
    return v;
}
static void wr(size_t at, int n, uint32_t v)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        buf[at + i] = (uint8_t)v;
}

/* The box `type` among [pos, end): its start, or 0. */
static size_t find(size_t pos, size_t end, const char *type)
{
    while (pos + 8 <= end) {
        uint32_t sz = rd(pos, 4);
        if (sz < 8 || pos + sz > end)
            DIE("bad box at %zu", pos);
        if (!memcmp(buf + pos + 4, type, 4))
            return pos;
        pos += sz;
    }
    return 0;
}

static void insert(size_t at, const uint8_t *d, size_t n)
{
    memmove(buf + at + n, buf + at, len - at);
    memcpy(buf + at, d, n);
    len += n;
}

static struct heif_image *gradient(int w, int h, int bits)
{
    struct heif_image *img;
    CHECK(heif_image_create(w, h, heif_colorspace_RGB,
                            bits > 8 ? heif_chroma_interleaved_RRGGBB_LE
                                     : heif_chroma_interleaved_RGB,
                            &img));
    CHECK(heif_image_add_plane(img, heif_channel_interleaved, w, h, bits));
    int stride;
    uint8_t *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) {
                int v = ((x * 4 + y * 2 + c * 40) % 256) << (bits - 8);
                if (bits > 8) {
                    p[y * stride + (x * 3 + c) * 2] = (uint8_t)v;
                    p[y * stride + (x * 3 + c) * 2 + 1] = (uint8_t)(v >> 8);
                } else
                    p[y * stride + x * 3 + c] = (uint8_t)v;
            }
    return img;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        DIE("usage: heif_aux OUT.heic URN [BITS]");
    const char *urn = argv[2];
    int bits = argc > 3 ? atoi(argv[3]) : 8;
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc;
    struct heif_image_handle *ph, *ah;
    struct heif_image *pi = gradient(64, 48, bits), *ai = gradient(32, 24, bits);
    struct heif_writer w = { 1, writer };

    CHECK(heif_context_get_encoder_for_format(ctx, heif_compression_HEVC, &enc));
    heif_encoder_set_lossy_quality(enc, 80);
    CHECK(heif_context_encode_image(ctx, pi, enc, NULL, &ph));
    CHECK(heif_context_encode_image(ctx, ai, enc, NULL, &ah));
    CHECK(heif_context_assign_thumbnail(ctx, ph, ah));
    CHECK(heif_context_set_primary_image(ctx, ph));
    CHECK(heif_context_write(ctx, &w, NULL));
    if (!strcmp(urn, "-"))
        goto out; /* no auxiliary image: the thumbnail stays one */

    size_t meta = find(0, len, "meta");
    if (!meta)
        DIE("no meta box");
    size_t meta_end = meta + rd(meta, 4), body = meta + 12;
    size_t iref = find(body, meta_end, "iref"), iprp = find(body, meta_end, "iprp");
    size_t iloc = find(body, meta_end, "iloc");
    if (!iref || !iprp || !iloc)
        DIE("no iref/iprp/iloc");
    size_t thmb = find(iref + 12, iref + rd(iref, 4), "thmb");
    if (!thmb)
        DIE("no thmb reference");
    memcpy(buf + thmb + 4, "auxl", 4);
    /* auxl goes from the auxiliary item to the primary (pitm); ids are
     * 16-bit in iref version 0 */
    size_t pitm = find(body, meta_end, "pitm");
    if (!pitm || buf[iref + 8] || buf[pitm + 8] || rd(thmb + 10, 2) != 1)
        DIE("unexpected pitm/iref layout");
    uint32_t primary = rd(pitm + 12, 2), from = rd(thmb + 8, 2), to = rd(thmb + 12, 2);
    uint32_t aux_id = from == primary ? to : from;
    wr(thmb + 8, 2, aux_id);
    wr(thmb + 12, 2, primary);
    size_t iprp_end = iprp + rd(iprp, 4);
    size_t ipco = find(iprp + 8, iprp_end, "ipco"), ipma = find(iprp + 8, iprp_end, "ipma");
    if (!ipco || !ipma || ipma < ipco)
        DIE("no ipco/ipma");
    /* the new property's index: ipco's children + 1 */
    int nprop = 0;
    for (size_t p = ipco + 8; p < ipco + rd(ipco, 4); p += rd(p, 4))
        nprop++;
    int index = nprop + 1;
    uint32_t ipma_flags = rd(ipma + 8, 4) & 0xFFFFFF;
    int ipma_v = buf[ipma + 8];
    if (index > ((ipma_flags & 1) ? 0x7FFF : 0x7F))
        DIE("too many properties");
    /* ipma: add the association to the aux item's entry */
    size_t p = ipma + 12;
    uint32_t n = rd(p, 4);
    p += 4;
    int assoc = (ipma_flags & 1) ? 2 : 1, done = 0;
    for (uint32_t i = 0; i < n && !done; i++) {
        uint32_t id = ipma_v < 1 ? rd(p, 2) : rd(p, 4);
        p += ipma_v < 1 ? 2 : 4;
        int cnt = buf[p];
        if (id == aux_id) {
            uint8_t a[2];
            if (assoc == 2)
                a[0] = (uint8_t)(0x80 | index >> 8), a[1] = (uint8_t)index;
            else
                a[0] = (uint8_t)(0x80 | index);
            buf[p] = (uint8_t)(cnt + 1);
            insert(p + 1 + (size_t)cnt * assoc, a, (size_t)assoc);
            done = 1;
        }
        p += 1 + (size_t)cnt * assoc;
    }
    if (!done)
        DIE("item %u not in ipma", aux_id);
    wr(ipma, 4, rd(ipma, 4) + (uint32_t)assoc);
    /* ipco: the auxC property (full box, then the URN and its NUL) */
    uint8_t box[256];
    size_t ul = strlen(urn) + 1, bl = 12 + ul;
    if (bl > sizeof(box))
        DIE("URN too long");
    memset(box, 0, 12);
    box[0] = (uint8_t)(bl >> 24), box[1] = (uint8_t)(bl >> 16), box[2] = (uint8_t)(bl >> 8);
    box[3] = (uint8_t)bl;
    memcpy(box + 4, "auxC", 4);
    memcpy(box + 12, urn, ul);
    size_t ipco_end = ipco + rd(ipco, 4);
    insert(ipco_end, box, bl);
    wr(ipco, 4, rd(ipco, 4) + (uint32_t)bl);
    size_t delta = bl + (size_t)assoc;
    wr(iprp, 4, rd(iprp, 4) + (uint32_t)delta);
    wr(meta, 4, rd(meta, 4) + (uint32_t)delta);
    /* iloc: extents (construction method 0) after meta move by delta */
    int v = buf[iloc + 8];
    size_t q = iloc + 12;
    int os = buf[q] >> 4, ls = buf[q] & 15, bs = buf[q + 1] >> 4, is = v >= 1 ? buf[q + 1] & 15 : 0;
    q += 2;
    uint32_t items = v < 2 ? rd(q, 2) : rd(q, 4);
    q += v < 2 ? 2 : 4;
    for (uint32_t i = 0; i < items; i++) {
        q += v < 2 ? 2 : 4; /* item id */
        int method = 0;
        if (v >= 1) {
            method = buf[q + 1] & 15;
            q += 2;
        }
        q += 2; /* data reference index */
        size_t base_at = q;
        uint32_t base = bs ? rd(q, bs) : 0;
        q += (size_t)bs;
        uint32_t ext = rd(q, 2);
        q += 2;
        if (method == 0 && bs && base >= meta_end)
            wr(base_at, bs, base + (uint32_t)delta);
        for (uint32_t e = 0; e < ext; e++) {
            q += (size_t)is;
            if (method == 0 && os && !(bs && base) && rd(q, os) >= meta_end)
                wr(q, os, rd(q, os) + (uint32_t)delta);
            q += (size_t)os + (size_t)ls;
        }
    }
out:;
    FILE *f = fopen(argv[1], "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
        DIE("cannot write %s", argv[1]);
    heif_image_handle_release(ph);
    heif_image_handle_release(ah);
    heif_image_release(pi);
    heif_image_release(ai);
    heif_encoder_release(enc);
    heif_context_free(ctx);
    free(buf);
    return 0;
}
