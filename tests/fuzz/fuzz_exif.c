/* The EXIF reader and the in-place editors (orientation, GPS strip). */
#include <stdlib.h>
#include <string.h>

#include "exif.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct exif_info info;
    memset(&info, 0, sizeof(info));
    exif_parse(data, size, &info);
    exif_find_tiff(data, size);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    exif_set_orientation(copy, size, 6);
    memcpy(copy, data, size);
    exif_strip_gps(copy, size);
    free(copy);
    return 0;
}
