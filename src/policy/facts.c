/* Asset facts for the policy evaluator, read from the catalog. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "facts.h"
#include "health.h"
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
    int known = catalog_components_get(c, a->id, &f->components, NULL);
    FORWARD_ERR(known);
    f->components_known = known > 0;
    struct catalog_fp fp;
    int ret = catalog_fp_get(c, a->id, &fp);
    if (ret == 0)
        f->near_duplicate = fp.group_id && !fp.keeper;
    else if (ret != TP_ERR_NOTFOUND)
        return ret;
    tp_err_clear();
    f->phone = health_phone_make(a->camera_make);
    struct catalog_meta m;
    if ((ret = catalog_meta_get(c, a->id, &m)) == 0) {
        f->has_location = m.has_location;
        f->latitude = m.latitude;
        f->longitude = m.longitude;
        f->time_conflict = m.other_capture_time[0] != 0;
    } else if (ret != TP_ERR_NOTFOUND) {
        return ret;
    }
    tp_err_clear();
    return 0;
}

int facts_pair_lead(struct catalog *c, int64_t asset_id, const char *kind, struct asset_facts *f)
{
    struct catalog_asset still;
    int64_t partner;
    int ret;
    if (strcmp(kind, "video"))
        return 0;
    if ((ret = catalog_pair_get(c, asset_id, &partner)) <= 0)
        return ret;
    if ((ret = catalog_asset_get(c, partner, &still)) < 0)
        return ret == TP_ERR_NOTFOUND ? (tp_err_clear(), 0) : ret;
    if (strcmp(still.kind, "image"))
        return 0;
    FORWARD_ERR(facts_from_asset(c, &still, f));
    return 1;
}

static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int dd(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* A scan row's instant (the plan and simulate read millions of them):
 * "YYYY-MM-DDTHH:MM:SS[Z]" fast, anything else through time_parse; 0 when
 * empty or unparsable (as facts_from_asset leaves it). */
static int64_t scan_time(const char *s)
{
    int64_t t;
    if (!s[0])
        return 0;
    if (strlen(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
        s[13] == ':' && s[16] == ':' && (s[19] == '\0' || (s[19] == 'Z' && s[20] == '\0'))) {
        int y = dd(s) * 100 + dd(s + 2), mo = dd(s + 5), d = dd(s + 8);
        if (mo >= 1 && mo <= 12 && d >= 1 && d <= 31)
            return days_from_civil(y, mo, d) * 86400 + dd(s + 11) * 3600 + dd(s + 14) * 60 +
                   dd(s + 17);
    }
    if (time_parse(s, &t) == 0)
        return t;
    tp_err_clear();
    return 0;
}

void facts_from_scan(const struct catalog_scan_row *r, struct asset_facts *f)
{
    memset(f, 0, sizeof(*f));
    snprintf(f->kind, sizeof(f->kind), "%s", r->kind);
    snprintf(f->format, sizeof(f->format), "%s", r->format);
    f->bytes = r->bytes;
    f->width = r->width;
    f->height = r->height;
    f->capture_time = scan_time(r->capture_time);
    f->upload_time = scan_time(r->upload_time);
    f->last_access = scan_time(r->last_access);
    f->count_30d = r->count_30d;
    f->count_90d = r->count_90d;
    f->count_365d = r->count_365d;
    f->components_known = r->components_known;
    f->components = r->components;
    f->near_duplicate = r->near_duplicate;
    facts_health_from_scan(r, f);
}

void facts_health_from_scan(const struct catalog_scan_row *r, struct asset_facts *f)
{
    f->phone = r->camera_make && health_phone_make(r->camera_make);
    f->has_location = r->has_location;
    f->latitude = r->latitude;
    f->longitude = r->longitude;
    f->time_conflict = r->time_conflict;
}
