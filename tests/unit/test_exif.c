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
