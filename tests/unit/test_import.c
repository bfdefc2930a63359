/* Google Takeout's sidecar naming rules (import_sidecar_matches). */
#include <string.h>

#include "import.h"
#include "unit.h"

TEST(import_sidecar_names)
{
    static const struct {
        const char *media, *json;
        int match;
    } t[] = {
        { "IMG_1234.jpg", "IMG_1234.jpg.json", 1 },
        { "IMG_1234.jpg", "IMG_1234.jpg.supplemental-metadata.json", 1 },
        { "IMG_1234.jpg", "IMG_1234.jpg.supplemental-metad.json", 1 },
        { "IMG_1234.jpg", "IMG_1234.jpg.supple.json", 1 },
        { "IMG_1234.jpg", "IMG_1234.jpg.s.json", 1 },
        { "IMG_1234.jpg", "IMG_1234.json", 1 },
        { "IMG_1234(1).jpg", "IMG_1234.jpg(1).json", 1 },
        { "IMG_1234(1).jpg", "IMG_1234.jpg.supplemental-metadata(1).json", 1 },
        { "IMG_1234(1).jpg", "IMG_1234.jpg.json", 0 },
        { "IMG_1234.jpg", "IMG_1234.jpg(1).json", 0 },
        { "IMG_1234.jpg", "IMG_1234.jpg.supplemental-metadata(1).json", 0 },
        { "IMG_1234-edited.jpg", "IMG_1234.jpg.json", 1 },
        { "IMG_1234-bearbeitet.jpg", "IMG_1234.jpg.supplemental-metadata.json", 1 },
        { "IMG_1234-edited(1).jpg", "IMG_1234.jpg(1).json", 1 },
        { "IMG_1.jpg", "IMG_10.jpg.json", 0 },
        { "IMG_10.jpg", "IMG_1.jpg.json", 0 },
        { "IMG_1.jpg", "IMG_1.png.json", 0 },
        /* 53 characters: clipped to 46 */
        { "Screenshot_2019-07-10-08-15-30-123_com.example.app.jpg",
          "Screenshot_2019-07-10-08-15-30-123_com.example.json", 1 },
        /* 35 characters: the suffix cut by the budget */
        { "PXL_20190711_101010123.PORTRAIT.jpg", "PXL_20190711_101010123.PORTRAIT.jpg.supplem.json", 1 },
        { "a.jpg", "a.jp.json", 0 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        int got = import_sidecar_matches(t[i].media, t[i].json);
        if (got != t[i].match)
            printf("#   %s <-> %s: %d, expected %d\n", t[i].media, t[i].json, got, t[i].match);
        CHECK(got == t[i].match);
    }
}
