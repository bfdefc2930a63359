/* Pairing a Live Photo's / motion photo's still with its video (pairs.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "err.h"
#include "home.h"
#include "log.h"
#include "pairs.h"
#include "timeutil.h"

#define PAIR_MAX_SECONDS 2

/* Length of path without its extension (the dot of the last component). */
static size_t stem_len(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash) || dot == (slash ? slash + 1 : path))
        return strlen(path);
    return (size_t)(dot - path);
}

int pairs_link(struct home *h, const struct pair_item *items, int n)
{
    int linked = 0;
    for (int i = 0; i < n; i++) {
        struct catalog_asset a, b;
        int64_t ta, tb, partner;
        int ret;
        if (catalog_asset_get(h->cat, items[i].asset_id, &a) < 0 || strcmp(a.kind, "image") ||
            !a.capture_time[0] || time_parse(a.capture_time, &ta) < 0) {
            tp_err_clear();
            continue;
        }
        size_t sl = stem_len(items[i].path);
        for (int j = 0; j < n; j++) {
            if (j == i || stem_len(items[j].path) != sl ||
                strncasecmp(items[i].path, items[j].path, sl))
                continue;
            if (catalog_asset_get(h->cat, items[j].asset_id, &b) < 0 || strcmp(b.kind, "video") ||
                !b.capture_time[0] || time_parse(b.capture_time, &tb) < 0) {
                tp_err_clear();
                continue;
            }
            if (llabs(ta - tb) > PAIR_MAX_SECONDS)
                continue;
            if ((ret = catalog_pair_get(h->cat, a.id, &partner)) < 0)
                return ret;
            if (ret > 0 || (ret = catalog_pair_get(h->cat, b.id, &partner)) != 0) {
                if (ret < 0)
                    return ret;
                continue;
            }
            if ((ret = catalog_pair_put(h->cat, a.id, b.id, "name+time")) < 0)
                return ret;
            tp_log(TP_LOG_INFO, "%s and %s: one Live Photo (assets %lld + %lld)", items[i].path,
                   items[j].path, (long long)a.id, (long long)b.id);
            linked++;
            break;
        }
    }
    return linked;
}
