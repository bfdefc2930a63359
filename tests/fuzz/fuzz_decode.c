/* Every decoder reached through the codec registry: sniff + header probe
 * (metadata) + full decode, with a 4 MP pixel cap so the fuzzer explores
 * parsing, not allocation (dav1d's DAV1D_FUZZ_MAX_SIZE). */
#include <string.h>

#include "codec.h"
#include "fuzz.h"
#include "image.h"
#include "meta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct codec_opts o;
    struct image img;
    struct meta m;
    codec_opts_defaults(&o);
    o.limits.max_pixels = 4000000;
    o.limits.max_frames = 64;
    o.threads = 1;
    for (int header = 1; header >= 0; header--) {
        o.header_only = header;
        memset(&img, 0, sizeof(img));
        memset(&m, 0, sizeof(m));
        if (codec_decode_any(data, size, NULL, &o, &img, &m, NULL) == 0)
            image_free(&img);
        meta_free(&m);
    }
    return 0;
}
