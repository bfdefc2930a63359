/* xmp_strip_location on packets in each form; log_escape on hostile text. */
#include <string.h>

#include "log.h"
#include "mem.h"
#include "unit.h"
#include "xmp.h"

static int has(const struct tp_buf *b, const char *s)
{
    return memmem(b->data, b->len, s, strlen(s)) != NULL;
}

#define PKT(desc_attrs, body)                                                  \
    "<?xpacket begin=\"\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"                   \
    "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF "                          \
    "xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">"               \
    "<rdf:Description rdf:about=\"\" xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" " \
    "xmp:Rating=\"4\" " desc_attrs ">" body "</rdf:Description></rdf:RDF></x:xmpmeta>" \
    "<?xpacket end=\"w\"?>"

TEST(xmp_strip_by_namespace)
{
    static const struct { const char *pkt, *gone; int n; } cases[] = {
        { PKT("xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:GPSLatitude=\"1,2N\"", ""),
          "GPSLatitude", 1 },
        { PKT("xmlns:e=\"http://ns.adobe.com/exif/1.0/\"", "<e:GPSLongitude>3,4E</e:GPSLongitude>"),
          "GPSLongitude", 1 },
        { PKT("xmlns:exif=\"http://ns.adobe.com/exif/1.0/\" exif:GPSLatitude = '1,2N'", ""),
          "1,2N", 1 },
        { PKT("xmlns:drone-dji=\"http://www.dji.com/drone-dji/1.0/\" drone-dji:GpsLatitude=\"52.5\" "
              "drone-dji:GpsLongtitude=\"13.4\"", "<drone-dji:GpsAltitude>3</drone-dji:GpsAltitude>"),
          "drone-dji:Gps", 3 },
        { PKT("xmlns:photoshop=\"http://ns.adobe.com/photoshop/1.0/\" photoshop:City=\"Berlin\"",
              "<photoshop:Country>DE</photoshop:Country>"), "photoshop:C", 2 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tp_buf b = { 0 };
        REQUIRE(buf_set(&b, cases[i].pkt, strlen(cases[i].pkt)) == 0);
        CHECK(xmp_count_location(b.data, b.len, XMP_LOC_ALL) == cases[i].n);
        CHECK(xmp_strip_location(&b, XMP_LOC_ALL) == cases[i].n);
        CHECK(!has(&b, cases[i].gone));
        CHECK(has(&b, "xmp:Rating=\"4\""));
        CHECK(has(&b, "<?xpacket end=\"w\"?>"));
        CHECK(!has(&b, "<?xml"));
        CHECK(xmp_count_location(b.data, b.len, XMP_LOC_ALL) == 0);
        buf_free(&b);
    }
    /* a GPS-like name in another namespace stays */
    const char *other = PKT("xmlns:my=\"http://example.com/ns/\" my:GPSLatitude=\"1\"", "");
    struct tp_buf b = { 0 };
    REQUIRE(buf_set(&b, other, strlen(other)) == 0);
    CHECK(xmp_strip_location(&b, XMP_LOC_ALL) == 0);
    CHECK(b.len == strlen(other) && !memcmp(b.data, other, b.len));
    /* not well-formed: refused, packet untouched */
    const char *bad = "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><unclosed>";
    REQUIRE(buf_set(&b, bad, strlen(bad)) == 0);
    CHECK(xmp_strip_location(&b, XMP_LOC_ALL) < 0);
    CHECK(b.len == strlen(bad));
    buf_free(&b);
}

TEST(log_escape_makes_controls_visible)
{
    char out[128];
    log_escape(out, sizeof(out), "a\033[31mb\tc\x9b" "d\xc2\x9b" "e\xc3\xbc\x7f");
    CHECK(!strcmp(out, "a\\x1b[31mb\\x09c\\x9bd\\xc2\\x9be\xc3\xbc\\x7f"));
    log_escape(out, 6, "abc\033def");
    CHECK(!strcmp(out, "abc"));
    log_escape(out, sizeof(out), "\xe2\x82");  /* cut UTF-8 */
    CHECK(!strcmp(out, "\\xe2\\x82"));
}
