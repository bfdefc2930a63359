/* EXIF reader/editor on real camera EXIF, and on hostile input. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "exif.h"
#include "fileio.h"
#include "meta.h"
#include "codec.h"
#include "unit.h"

static int load_meta(const char *path, struct meta *m)
{
    struct tp_buf b = { 0 };
    struct codec_opts o;
    struct image img = { 0 };
    codec_opts_defaults(&o);
    o.header_only = 1;
    meta_init(m);
    int ret = file_read(path, 1 << 30, &b);
    if (ret >= 0)
        ret = codec_decode_any(b.data, b.len, path, &o, &img, m, NULL);
    buf_free(&b);
    image_free(&img);
    return ret;
}

TEST(exif_reads_iphone_fields)
{
    struct meta m;
    struct exif_info ei;
    REQUIRE(load_meta("samples/photo-iphone6plus-2448x2448-exif-gps-orient6.jpg", &m) == 0);
    REQUIRE(m.exif.len > 0);
    REQUIRE(exif_parse(m.exif.data, m.exif.len, &ei) == 0);
    CHECK(ei.orientation == 6);
    CHECK(m.orientation == 6);
    CHECK(!strcmp(ei.make, "Apple"));
    CHECK(!strcmp(ei.model, "iPhone 6 Plus"));
    CHECK(!strcmp(ei.datetime_original, "2016:03:24 14:49:51"));
    CHECK(ei.has_gps && ei.has_gps_coords);
    CHECK(ei.gps_lat > 40.0 && ei.gps_lat < 40.01);
    meta_free(&m);
}

TEST(exif_strip_gps_and_set_orientation)
{
    struct meta m;
    struct exif_info ei;
    REQUIRE(load_meta("samples/photo-xiaomi-mia3-4000x3000-exif-gps-orient3.jpg", &m) == 0);
    REQUIRE(exif_parse(m.exif.data, m.exif.len, &ei) == 0);
    CHECK(ei.orientation == 3 && ei.has_gps);
    m.orientation = 1;
    REQUIRE(meta_apply_keep(&m, META_KEEP_NOGPS) == 0);
    REQUIRE(m.exif.len > 0);
    REQUIRE(exif_parse(m.exif.data, m.exif.len, &ei) == 0);
    CHECK(ei.orientation == 1);
    CHECK(!ei.has_gps);
    CHECK(!strcmp(ei.make, "Xiaomi"));
    CHECK(ei.datetime_original[0] != '\0');
    meta_free(&m);
}

TEST(exif_rejects_garbage_without_crashing)
{
    struct exif_info ei;
    uint8_t buf[256];
    srand(1);
    for (int iter = 0; iter < 20000; iter++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)rand();
        memcpy(buf, iter & 1 ? "II*\0" : "MM\0*", 4);
        buf[4] = buf[5] = buf[6] = 0;
        buf[iter & 1 ? 4 : 7] = 8;
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        exif_parse(buf, len, &ei);
        exif_set_orientation(buf, len, 1 + rand() % 8);
        exif_strip_gps(buf, len);
    }
    CHECK(exif_parse((const uint8_t *)"II*\0", 4, &ei) < 0);
}

/* Panasonic writes Orientation as SLONG instead of SHORT (exiftool reads
 * it, and so must we, or the pixels display sideways after conversion). */
TEST(exif_orientation_as_slong_panasonic)
{
    struct meta m;
    struct exif_info ei;
    REQUIRE(load_meta("samples/photo-panasonic-gf1-640x428-exif-orient6.jpg", &m) == 0);
    REQUIRE(exif_parse(m.exif.data, m.exif.len, &ei) == 0);
    CHECK(ei.orientation == 6);
    CHECK(m.orientation == 6);
    CHECK(exif_set_orientation(m.exif.data, m.exif.len, 3) == 1);
    REQUIRE(exif_parse(m.exif.data, m.exif.len, &ei) == 0);
    CHECK(ei.orientation == 3);
    meta_free(&m);
}

/* Big-endian helpers for the hand-made EXIF below. */
static size_t put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return 2; }
static size_t put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    return 2 + put16(p + 2, v & 0xffff);
}
static size_t entry(uint8_t *p, unsigned tag, unsigned type, uint32_t count, uint32_t value)
{
    put16(p, tag);
    put16(p + 2, type);
    put32(p + 4, count);
    put32(p + 8, value);
    return 12;
}

/* An iPhone's Live Photo still: IFD0 -> Exif IFD -> MakerNote "Apple iOS"
 * whose IFD (offsets from the maker note's start) holds ContentIdentifier
 * 0x0011.  Returns the TIFF's length. */
static size_t apple_exif(uint8_t *d, const char *cid)
{
    size_t n = 0, cl = strlen(cid) + 1;
    memset(d, 0, 512);
    memcpy(d, "MM\0*", 4);
    put32(d + 4, 8);
    n = 8;
    n += put16(d + n, 1);
    n += entry(d + n, 0x8769, 4, 1, 26); /* Exif IFD at 26 */
    n += put32(d + n, 0);
    /* Exif IFD at 26: one entry, the maker note at 44 */
    n += put16(d + n, 1);
    size_t mn = 44, mnl = 14 + 2 + 24 + 4 + cl;
    n += entry(d + n, 0x927c, 7, (uint32_t)mnl, (uint32_t)mn);
    n += put32(d + n, 0);
    memcpy(d + mn, "Apple iOS\0\0\1MM", 14);
    size_t m = mn + 14;
    m += put16(d + m, 2);
    m += entry(d + m, 0x0001, 9, 1, 14);
    m += entry(d + m, 0x0011, 2, (uint32_t)cl, 14 + 2 + 24 + 4); /* after the IFD */
    m += put32(d + m, 0);
    memcpy(d + m, cid, cl);
    return m + cl;
}

TEST(exif_apple_maker_note_content_identifier)
{
    uint8_t d[512];
    struct exif_info ei;
    const char *cid = "5E1D2C3B-0A09-4807-9605-A4B3C2D1E0F1";
    size_t len = apple_exif(d, cid);
    REQUIRE(exif_parse(d, len, &ei) == 0);
    CHECK(!strcmp(ei.content_id, cid));
    /* another maker's note in the same place: no identifier */
    memcpy(d + 44, "Nikon\0\0\1MM", 10);
    REQUIRE(exif_parse(d, len, &ei) == 0);
    CHECK(ei.content_id[0] == '\0');
    /* cut anywhere: never read past the end, never a wrong identifier */
    len = apple_exif(d, cid);
    for (size_t cut = 8; cut < len; cut++)
        if (exif_parse(d, cut, &ei) == 0)
            CHECK(ei.content_id[0] == '\0');
    /* a maker note whose declared length ends before its identifier */
    put32(d + 26 + 2 + 4, 30);
    REQUIRE(exif_parse(d, len, &ei) == 0);
    CHECK(ei.content_id[0] == '\0');
    /* real iPhone maker notes without a Live Photo: none, and no error */
    struct meta m;
    REQUIRE(load_meta("samples/photo-iphonexr-4032x3024-exif-icc-p3.heic", &m) == 0);
    int off = exif_find_tiff(m.exif.data, m.exif.len);
    REQUIRE(off >= 0);
    REQUIRE(exif_parse(m.exif.data + off, m.exif.len - (size_t)off, &ei) == 0);
    CHECK(!strcmp(ei.make, "Apple") && ei.content_id[0] == '\0');
    meta_free(&m);
}
