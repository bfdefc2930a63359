/* The quality search's parts: the JPEG quality read from the quantisation
 * tables, and the mosaic of representative blocks. */
#include <string.h>

#include "codec.h"
#include "err.h"
#include "image.h"
#include "jpeg_quant.h"
#include "mosaic.h"
#include "unit.h"

/* 64x48 RGB with texture. */
static int make_photo(struct image *img, int w, int h)
{
    if (image_alloc(img, w, h, 3, 1) < 0)
        return -1;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = img->data + (size_t)y * img->stride + (size_t)x * 3;
            p[0] = (uint8_t)(x * 3 + y);
            p[1] = (uint8_t)(((x / 3 + y / 5) & 1) * 90 + y);
            p[2] = (uint8_t)(255 - x * 2);
        }
    return 0;
}

static int encode_jpeg(const struct image *img, int quality, struct tp_buf *out)
{
    struct codec_ctx *ctx = NULL;
    struct codec_opts o;
    struct meta m;
    unsigned dropped = 0;
    int ret;
    codec_opts_defaults(&o);
    o.quality = quality;
    meta_init(&m);
    if ((ret = codec_open(&ctx, codec_find_by_name("jpeg"), &o)) >= 0)
        ret = codec_encode(ctx, img, &m, out, &dropped);
    codec_close(&ctx);
    meta_free(&m);
    return ret;
}

TEST(jpeg_quant_reads_the_quality)
{
    struct image img = { 0 };
    REQUIRE(make_photo(&img, 64, 48) == 0);
    static const int qs[] = { 30, 50, 75, 85, 92, 97 };
    double prev_step = 1e9;
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        struct tp_buf b = { 0 };
        int q = -1;
        double step = 0;
        CHECK(encode_jpeg(&img, qs[i], &b) == 0);
        CHECK(jpeg_quant_quality(b.data, b.len, &q, &step) == 0);
        if (q != qs[i])
            printf("#   saved at q%d, read q%d\n", qs[i], q);
        CHECK(q == qs[i]); /* libjpeg-turbo scales the standard tables */
        CHECK(step > 0 && step < prev_step);
        prev_step = step;
        buf_free(&b);
    }
    /* not a JPEG, a cut header: an error, no crash */
    static const uint8_t png[] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0 };
    int q = -1;
    CHECK(jpeg_quant_quality(png, sizeof(png), &q, NULL) == TP_ERR_INVALIDDATA);
    struct tp_buf b = { 0 };
    REQUIRE(encode_jpeg(&img, 80, &b) == 0);
    CHECK(jpeg_quant_quality(b.data, 20, &q, NULL) == TP_ERR_INVALIDDATA);
    tp_err_clear();
    buf_free(&b);
    image_free(&img);
}

TEST(mosaic_takes_the_flattest_and_busiest_blocks)
{
    struct image img = { 0 };
    struct mosaic m;
    /* too small: no mosaic */
    REQUIRE(image_alloc(&img, 600, 600, 3, 1) == 0);
    memset(img.data, 128, img.stride * (size_t)img.height);
    CHECK(mosaic_build(&img, 256, 4, 16, &m) == 0 && m.img.data == NULL);
    image_free(&img);

    /* 8x4 blocks of 256: a gentle ramp everywhere, one flat block, one of
     * hard stripes */
    int bw = 256;
    REQUIRE(image_alloc(&img, 8 * bw, 4 * bw, 3, 1) == 0);
    for (int y = 0; y < img.height; y++)
        for (int x = 0; x < img.width; x++) {
            uint8_t *p = img.data + (size_t)y * img.stride + (size_t)x * 3;
            int bx = x / bw, by = y / bw, v;
            if (bx == 2 && by == 1)
                v = 77; /* flat */
            else if (bx == 5 && by == 3)
                v = (x & 1) ? 250 : 5; /* the busiest */
            else
                v = (x + y) / 16 % 256 + ((x / 2 + y / 3 + bx + by) & 1) * (1 + bx + by);
            p[0] = p[1] = p[2] = (uint8_t)v;
        }
    REQUIRE(mosaic_build(&img, 256, 16, 16, &m) == 1);
    CHECK(m.blocks == 8); /* at most a quarter of the 32 blocks */
    CHECK(m.grid == 32 && m.block == 256);
    CHECK(m.img.width == MOSAIC_COLS * bw && m.img.height == 2 * bw);
    CHECK(m.scale > 3.99 && m.scale < 4.01);
    /* the first block is the flat one, the last the striped one */
    const uint8_t *first = m.img.data, *last = m.img.data + (size_t)bw * m.img.stride +
                                                 (size_t)3 * bw * 3;
    CHECK(first[1] == 77 && first[(size_t)100 * m.img.stride + 300] == 77);
    CHECK(last[1] == 5 && last[4] == 250);
    mosaic_free(&m);
    CHECK(m.img.data == NULL);
    image_free(&img);
}
