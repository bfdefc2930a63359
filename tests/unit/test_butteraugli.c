/* Butteraugli through libjxl: zero on identical pixels, small for a one-level
 * change, large for a visible one; orientation and size handled. */
#include <math.h>
#include <string.h>

#include "butteraugli.h"
#include "err.h"
#include "image.h"
#include "unit.h"

/* A smooth gradient with some texture: 96x64 RGB. */
static int make_photo(struct image *img)
{
    if (image_alloc(img, 96, 64, 3, 1) < 0)
        return -1;
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            uint8_t *p = img->data + y * img->stride + x * 3;
            p[0] = (uint8_t)(40 + x * 2);
            p[1] = (uint8_t)(60 + y * 2 + ((x / 4 + y / 4) & 1) * 20);
            p[2] = (uint8_t)(200 - x);
        }
    return 0;
}

TEST(butteraugli_judges_differences)
{
#if !HAVE_JXL
    unit_skip("no libjxl");
    return;
#endif
    struct image a = { 0 }, b = { 0 }, r = { 0 };
    double d = -1;
    REQUIRE(make_photo(&a) == 0 && make_photo(&b) == 0);
    CHECK(butteraugli_images(&a, 1, &b, 1, 1, &d) == 0);
    CHECK(d >= 0 && d < 1e-3);
    /* one level brighter in the green channel: invisible */
    for (int y = 0; y < b.height; y++)
        for (int x = 0; x < b.width; x++)
            b.data[y * b.stride + x * 3 + 1]++;
    CHECK(butteraugli_images(&a, 1, &b, 1, 2, &d) == 0);
    CHECK(d > 0 && d < 1.0);
    /* a dark 12x12 square: visible */
    for (int y = 20; y < 32; y++)
        memset(b.data + y * b.stride + 40 * 3, 0, 12 * 3);
    double big = -1;
    CHECK(butteraugli_images(&a, 1, &b, 1, 0, &big) == 0);
    CHECK(big > 2.0);
    /* threads do not change the answer */
    double one = -1;
    CHECK(butteraugli_images(&a, 1, &b, 1, 1, &one) == 0);
    CHECK(fabs(one - big) < 1e-4);
    /* a rotated copy stored with orientation 6 shows the same picture */
    REQUIRE(image_orient(&a, 8, &r) == 0); /* 8 undoes 6 */
    CHECK(butteraugli_images(&a, 1, &r, 6, 1, &d) == 0);
    CHECK(d < 1e-3);
    /* shown sizes differ: an error naming both */
    CHECK(butteraugli_images(&a, 1, &r, 1, 1, &d) == TP_ERR_INVALIDDATA);
    CHECK(strstr(tp_err_detail(), "96x64") != NULL);
    tp_err_clear();
    image_free(&a);
    image_free(&b);
    image_free(&r);
}
