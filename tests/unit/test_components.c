/* The components inventory (src/media/components.c): the JPEG walk on a
 * hand-made file, and the rule components_compare applies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "components.h"
#include "err.h"
#include "sha256.h"
#include "unit.h"

/* SOI, an XMP APP1 naming a MicroVideo of vlen bytes, SOF0, SOS with
 * entropy bytes holding a stuffed FF00 and a restart marker, EOI, then the
 * "video" (and extra unexplained bytes when junk). */
static size_t make_jpeg(uint8_t *b, size_t vlen, int junk)
{
    static const char sig[] = "http://ns.adobe.com/xap/1.0/";
    char xmp[200];
    size_t n = 0;
    int xl = snprintf(xmp, sizeof(xmp), "<x:xmpmeta><rdf:Description GCamera:MicroVideo=\"1\" "
                                        "GCamera:MicroVideoOffset=\"%zu\"/></x:xmpmeta>", vlen);
    b[n++] = 0xFF, b[n++] = 0xD8;
    size_t seg = 2 + sizeof(sig) + (size_t)xl;
    b[n++] = 0xFF, b[n++] = 0xE1, b[n++] = (uint8_t)(seg >> 8), b[n++] = (uint8_t)seg;
    memcpy(b + n, sig, sizeof(sig));
    n += sizeof(sig);
    memcpy(b + n, xmp, (size_t)xl);
    n += (size_t)xl;
    static const uint8_t sof[] = { 0xFF, 0xC0, 0, 11, 8, 0, 16, 0, 32, 1, 1, 0x11, 0 };
    memcpy(b + n, sof, sizeof(sof));
    n += sizeof(sof);
    static const uint8_t sos[] = { 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0,
                                   0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9 };
    memcpy(b + n, sos, sizeof(sos));
    n += sizeof(sos);
    if (junk)
        for (int i = 0; i < 7; i++)
            b[n++] = 0xAB;
    for (size_t i = 0; i < vlen; i++)
        b[n++] = (uint8_t)(i == 4 ? 'f' : i == 5 ? 't' : i == 6 ? 'y' : i == 7 ? 'p' : i);
    return n;
}

static const struct comp_part *find_part(const struct components *c, enum comp_kind k)
{
    for (int i = 0; i < c->nparts; i++)
        if (c->parts[i].kind == k)
            return &c->parts[i];
    return NULL;
}

TEST(components_jpeg_motion_and_trailing)
{
    uint8_t b[1024];
    struct components c;
    size_t n = make_jpeg(b, 300, 0);
    char h[SHA256_HEX_LEN + 1];
    components_probe(b, n, "jpeg", 32, 16, 8, 1, 0, 0, &c);
    const struct comp_part *mv = find_part(&c, COMP_MOTION), *tr = find_part(&c, COMP_TRAILING);
    REQUIRE(mv && tr);
    sha256_hex(b + n - 300, 300, h);
    CHECK(mv->offset == n - 300 && mv->length == 300 && !strcmp(mv->sha256, h));
    CHECK(tr->offset == n - 300 && tr->length == 300 && !strcmp(tr->detail, "recognised"));
    CHECK(components_need_bitstream(&c));
    tp_err_clear();

    /* bytes nothing explains, before the video: unrecognised */
    n = make_jpeg(b, 300, 1);
    components_probe(b, n, "jpeg", 32, 16, 8, 1, 0, 0, &c);
    tr = find_part(&c, COMP_TRAILING);
    REQUIRE(tr);
    CHECK(tr->length == 307 && !strcmp(tr->detail, "unrecognised"));
    tp_err_clear();

    /* no trailer: no parts at all */
    n = make_jpeg(b, 0, 0);
    components_probe(b, n, "jpeg", 32, 16, 8, 1, 0, 0, &c);
    CHECK(c.nparts == 0 && !components_need_bitstream(&c));
    tp_err_clear();
}

TEST(components_compare_rule)
{
    struct components s, d;
    char lost[256];
    memset(&s, 0, sizeof(s));
    s.bit_depth = 10;
    s.frames = 1;
    struct comp_part *p = components_add(&s, COMP_MOTION, "h264");
    p->length = 1234;
    snprintf(p->sha256, sizeof(p->sha256), "%064d", 1);
    components_add(&s, COMP_GAIN_MAP, "hdrgm");
    components_add(&s, COMP_THUMBNAIL, NULL);
    d = s; /* the same parts, the same bytes */
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0 && !lost[0]);

    d.nparts = 0; /* everything lost, 8-bit */
    d.bit_depth = 8;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == TP_ERR_VERIFY);
    CHECK(strstr(lost, "motion video (1234 bytes)") && strstr(lost, "gain_map") &&
          strstr(lost, "bit depth (10-bit source, 8-bit result)") && !strstr(lost, "thumbnail"));
    {
        json_t *arr = json_array();
        CHECK(components_lost_kinds(&s, &d) == (1u << COMP_GAIN_MAP | 1u << COMP_MOTION));
        CHECK(components_kinds_append(arr, components_lost_kinds(&s, &d)) == 0);
        char *txt = json_dumps(arr, JSON_COMPACT);
        CHECK(txt && !strcmp(txt, "[\"gain_map\",\"motion\"]"));
        free(txt);
        json_decref(arr);
    }
    tp_err_clear();

    /* a video with other bytes is not the video; a gain map without its
     * metadata is not the gain map */
    d = s;
    d.parts[0].sha256[0] = 'f';
    d.parts[1].detail[0] = 0;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) < 0);
    CHECK(strstr(lost, "motion video") && strstr(lost, "gain map metadata"));
    tp_err_clear();

    /* animation: the frame count must survive */
    memset(&s, 0, sizeof(s));
    s.bit_depth = 8;
    s.frames = 8;
    components_add(&s, COMP_ANIMATION, NULL)->frames = 8;
    d = s;
    d.frames = 1;
    d.nparts = 0;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) < 0 && strstr(lost, "animation (8 frames, 1 left)"));
    CHECK(components_kind_from_name("gain_map") == COMP_GAIN_MAP && components_kind_from_name("x") < 0);
    tp_err_clear();
}

/* The colour primaries (CICP, H.273): compared where no ICC profile
 * describes the colour; undeclared or unspecified is BT.709 (sRGB's); the
 * matrix never counts. */
TEST(components_compare_primaries)
{
    struct components s, d;
    char lost[256];
    memset(&s, 0, sizeof(s));
    s.bit_depth = 8;
    s.frames = 1;
    s.cicp[0] = 12, s.cicp[1] = 13, s.cicp[2] = 6; /* Display P3 */
    d = s;
    d.cicp[2] = 1;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0); /* another matrix */
    d.cicp[0] = 1;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == TP_ERR_VERIFY &&
          strstr(lost, "colour primaries (cicp 12, result 1)"));
    CHECK(components_lost_kinds(&s, &d) == 0); /* not a part: never in `dropped` */
    d.cicp[0] = d.cicp[1] = d.cicp[2] = -1; /* undeclared: sRGB's */
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) < 0);
    d.icc = 1; /* an ICC profile on the result: not compared */
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0);
    d.icc = 0;
    s.icc = 1; /* the source's colour is its ICC profile's */
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0);
    /* BT.709 or unspecified declared on one side only: the same colours */
    s.icc = 0;
    s.cicp[0] = 2;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0);
    s.cicp[0] = 1;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0);
    d.cicp[0] = 2;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0);
    /* SMPTE 170M and 240M share their primaries */
    s.cicp[0] = 6, d.cicp[0] = 7;
    CHECK(components_compare(&s, &d, lost, sizeof(lost)) == 0);
    d.cicp[0] = 9;
    CHECK(components_compare(&d, &s, lost, sizeof(lost)) < 0 && strstr(lost, "cicp 9, result 6"));
    tp_err_clear();
}
