/* The policy grammar's tables (see policy_int.h): which keys each context
 * takes, the storage classes. */
#include <stddef.h>

#include "err.h"
#include "policy_int.h"

const char *const policy_storage_classes[] = {
    "STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
    "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", NULL,
};

/* Where each key is valid, so a key in the wrong place gets a pointer to
 * the right one. */
const char *const policy_root_keys[] = { "version", "description", "defaults", "tiers", NULL };
const char *const policy_defaults_keys[] = { "proxies", "transcode", "original", "storage_class",
                                             NULL };
const char *const policy_tier_keys[] = { "name", "description", "match", "proxies", "transcode",
                                         "original", "storage_class", NULL };
const char *const policy_match_keys[] = { "accessed_within_days", "age_days", "days_since_access",
                                          "access_count", "format", "kind", "bytes", "megapixels",
                                          "capture_time_known", "has", "near_duplicate", "health",
                                          NULL };
const char *const policy_transcode_keys[] = { "mode", "codecs", "ssim", "tile_ssim", "chroma_ssim",
                                              "effort", "subsampling", "min_saving",
                                              "keep_metadata", "butteraugli_max", "max_cpu_s_per_mp", NULL };
/* The problem kinds of `tierpress health` (src/pipeline/health.c) that the
 * catalog alone tells (enum policy_health order), then those that need the
 * originals read: a policy cannot match on these. */
const char *const policy_health_names[] = { "no_capture_time", "implausible_capture_time",
                                            "gps_invalid", "capture_time_conflict", NULL };
const char *const policy_health_costly[] = { "time_zone_missing", "orientation_conflict",
                                             "original_unreadable", "proxies_missing", NULL };
const char *const policy_proxy_keys[] = { "name", "max_edge", "format", "quality", NULL };
const char *const policy_range_keys[] = { "min", "max", NULL };
const char *const policy_count_keys[] = { "window_days", "min", "max", NULL };
const char *const policy_original_keys[] = { "delete_after_days", NULL };

const struct policy_key_context policy_key_contexts[] = {
    { policy_tier_keys, "a tier" },
    { policy_match_keys, "match" },
    { policy_transcode_keys, "transcode" },
    { policy_root_keys, "the top level" },
};

const size_t policy_key_contexts_len = TP_ARRAY_SIZE(policy_key_contexts);
