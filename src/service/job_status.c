/* The JSON of an upload's ingest job, as the service answers it: what the
 * uploader may know of its own job (never the worker holding it or the
 * queue's internals). */
#include <stdio.h>

#include "catalog.h"
#include "json.h"
#include "service.h"

json_t *service_job_json(const struct catalog_ingest_job *ij)
{
    const struct catalog_job *j = &ij->job;
    char url[64];
    json_t *o = json_object();
    int bad = !o;
    bad = bad || json_set_int(o, "id", j->id) < 0;
    snprintf(url, sizeof(url), "/v1/jobs/%lld", (long long)j->id);
    bad = bad || json_set_text(o, "status_url", url) < 0;
    bad = bad || json_set_text(o, "sha256", ij->blob) < 0;
    bad = bad || json_set_text(o, "state", catalog_job_state_name(j->state)) < 0;
    bad = bad || json_set_int(o, "attempts", j->attempts) < 0;
    bad = bad || json_set_int(o, "max_attempts", j->max_attempts) < 0;
    bad = bad || json_set_text(o, "error", j->last_error) < 0;
    bad = bad || json_object_set_new(o, "error_permanent",
                                     json_boolean(j->last_error[0] && j->error_permanent)) < 0;
    bad = bad || json_set_text(o, "created", j->created) < 0;
    bad = bad || json_set_text(o, "finished", j->finished) < 0;
    if (j->state == CATALOG_JOB_DONE && ij->asset_id > 0) {
        snprintf(url, sizeof(url), "/v1/assets/%lld", (long long)ij->asset_id);
        bad = bad || json_set_int(o, "asset_id", ij->asset_id) < 0;
        bad = bad || json_set_text(o, "asset_url", url) < 0;
    } else {
        bad = bad || json_object_set_new(o, "asset_id", json_null()) < 0;
        bad = bad || json_object_set_new(o, "asset_url", json_null()) < 0;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
