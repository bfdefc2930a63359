/* The import sidecar readers: Takeout JSON (a photo's sidecar or an album's
 * metadata.json) and XMP, plus the sidecar name rules.  The first byte picks
 * the reader (even: JSON, odd: XMP); the first two lines are also tried as
 * a media name and a sidecar name.  Beyond not crashing, what the parser
 * hands the catalog must hold: text fields that were UTF-8 stay UTF-8 (a
 * JSON string always is), a location in range, a time that parses. */
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "import.h"
#include "json.h"
#include "timeutil.h"

static int utf8_ok(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, k; i < n; i += k)
        if (!(k = json_utf8_seq((const unsigned char *)s + i, n - i)))
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct import_sidecar sc;
    char *text;
    if (!size)
        return 0;
    enum import_mode mode = data[0] & 1 ? IMPORT_DIR : IMPORT_TAKEOUT;
    if (!(text = malloc(size)))
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    import_sidecar_parse(mode, text, size - 1, &sc);
    if (sc.valid) {
        int64_t t;
        if (mode == IMPORT_TAKEOUT && (!utf8_ok(sc.title) || !utf8_ok(sc.desc)))
            abort(); /* jansson's strings are UTF-8: a cut one was not cut at a boundary */
        if (sc.has_geo && !(sc.lat >= -90 && sc.lat <= 90 && sc.lon >= -180 && sc.lon <= 180))
            abort();
        if (sc.taken[0] && time_parse(sc.taken, &t) < 0)
            abort();
    }
    tp_err_clear();
    /* the name rules on the first two lines */
    char *nl = memchr(text, '\n', size - 1);
    if (nl) {
        *nl = '\0';
        char *nl2 = strchr(nl + 1, '\n');
        if (nl2)
            *nl2 = '\0';
        import_sidecar_matches(text, nl + 1);
    }
    free(text);
    return 0;
}
