/* Asset facts for the policy evaluator, read from the catalog. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "facts.h"
#include "timeutil.h"

int facts_from_asset(struct catalog *c, const struct catalog_asset *a, struct asset_facts *f)
{
    struct catalog_access ac;
    int64_t t;

    memset(f, 0, sizeof(*f));
    snprintf(f->kind, sizeof(f->kind), "%s", a->kind);
    snprintf(f->format, sizeof(f->format), "%s", a->format);
    f->bytes = a->bytes;
    f->width = a->width;
    f->height = a->height;
    if (a->capture_time[0] && time_parse(a->capture_time, &t) == 0)
        f->capture_time = t;
    if (a->upload_time[0] && time_parse(a->upload_time, &t) == 0)
        f->upload_time = t;
    tp_err_clear();
    FORWARD_ERR(catalog_access_get(c, a->id, &ac));
    if (ac.last_access[0] && time_parse(ac.last_access, &t) == 0)
        f->last_access = t;
    f->count_30d = ac.count_30d;
    f->count_90d = ac.count_90d;
    f->count_365d = ac.count_365d;
    struct catalog_fp fp;
    int ret = catalog_fp_get(c, a->id, &fp);
    if (ret == 0)
        f->near_duplicate = fp.group_id && !fp.keeper;
    else if (ret != TP_ERR_NOTFOUND)
        return ret;
    tp_err_clear();
    return 0;
}
