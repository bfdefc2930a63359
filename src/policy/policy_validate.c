/* Checks across a whole policy (see policy_int.h): derived floors, codecs
 * able to do what the tier asks, duplicate and unreachable tiers. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "policy_int.h"
#include "search.h"

static int cond_matches_all(const struct policy_cond *m)
{
    return m->set == 0;
}

static void validate_actions(struct policy *p, struct policy_tier *t)
{
    struct policy_transcode *tc = &t->act.transcode;
    struct policy_loc loc = tc->loc.line ? tc->loc : t->loc;
    struct search_floor f = { tc->ssim, 0, 0 };
    search_floor_derive(&f); /* the one definition of the derived floors */
    if (!(tc->set & POLICY_TC_TILE))
        tc->tile_ssim = fmax(0.5, f.tile);
    if (!(tc->set & POLICY_TC_CHROMA))
        tc->chroma_ssim = fmax(0.5, f.chroma);
    if (tc->mode == POLICY_MODE_LOSSLESS && !tc->ncodecs) {
        /* the default: the registry's JPEG recompressor (JPEG XL) */
        const char *name = "jxl";
        for (int i = 0; codec_list[i]; i++)
            if (codec_recompresses_jpeg(codec_list[i])) {
                name = codec_list[i]->name;
                break;
            }
        tc->ncodecs = 1;
        snprintf(tc->codecs[0], sizeof(tc->codecs[0]), "%s", name);
    }
    if (tc->mode == POLICY_MODE_LOSSY && !tc->ncodecs)
        policy_diag(p, loc, 0, "tier '%s': a lossy transcode needs 'codecs' (candidates such as "
                        "[jxl, avif, heif])", t->name);
    if (tc->mode == POLICY_MODE_LOSSY && tc->tile_ssim > tc->ssim)
        policy_diag(p, loc, 0, "tier '%s': impossible floors: tile_ssim %g is above ssim %g (the "
                        "worst tile cannot beat the mean)", t->name, tc->tile_ssim, tc->ssim);
    if ((tc->set & POLICY_TC_BUTTERAUGLI) && tc->mode != POLICY_MODE_LOSSY)
        policy_diag(p, loc, 1, "tier '%s': 'butteraugli_max' has no effect without mode: lossy "
                    "(a lossless output has distance 0)", t->name);
#if !HAVE_JXL
    if (tc->mode == POLICY_MODE_LOSSY && tc->butteraugli_max > 0)
        policy_diag(p, loc, 0, "tier '%s': 'butteraugli_max' needs libjxl, which this build lacks",
                    t->name);
#endif
    if (tc->mode == POLICY_MODE_LOSSLESS) {
        for (int i = 0; i < tc->ncodecs; i++) {
            const struct codec *cd = codec_find_by_name(tc->codecs[i]);
            if (cd && !(cd->caps & CODEC_CAP_LOSSLESS) && !codec_recompresses_jpeg(cd))
                policy_diag(p, loc, 0, "tier '%s': codec '%s' has no lossless mode", t->name,
                     tc->codecs[i]);
        }
    }
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER && tc->mode == POLICY_MODE_NONE)
        policy_diag(p, t->act.loc_original.line ? t->act.loc_original : t->loc, 1,
             "tier '%s': 'original: delete_after_days' has no effect without a transcode "
             "(the original is the only copy and is never deleted)", t->name);
}

/* S3's billing and transition rules for the classes a tier may name: an
 * object is billed for at least min_days in the class (deleted, overwritten
 * or moved out sooner, the rest is charged) and for at least min_bytes;
 * archived classes are not readable until restored, and S3 refuses to copy
 * them into another class (CopyObject: InvalidObjectState). */
static const struct s3_class_rule {
    const char *name;
    int min_days;
    int min_bytes;
    int archived;
} s3_class_rules[] = {
    { "STANDARD_IA", 30, 128 << 10, 0 },
    { "ONEZONE_IA", 30, 128 << 10, 0 },
    { "GLACIER_IR", 90, 128 << 10, 0 },
    { "GLACIER", 90, 40 << 10, 1 },
    { "DEEP_ARCHIVE", 180, 40 << 10, 1 },
};

static const struct s3_class_rule *class_rule(const char *name)
{
    for (size_t i = 0; i < TP_ARRAY_SIZE(s3_class_rules); i++)
        if (!strcmp(s3_class_rules[i].name, name))
            return &s3_class_rules[i];
    return NULL;
}

/* An asset matching r (days) leaves the tier within this many days as it
 * ages (its age or idle time passes r.max), or -1 when it can stay. */
static int64_t days_in_window(const struct policy_range *r)
{
    if (r->max == INT64_MAX)
        return -1;
    return r->max - (r->min == INT64_MIN ? 0 : r->min) + 1;
}

/* Warnings only: what S3 bills or refuses for the tier's storage class. */
static void check_storage_class(struct policy *p, const struct policy_tier *t)
{
    const struct s3_class_rule *cr = class_rule(t->act.storage_class);
    struct policy_loc loc = t->act.loc_storage.line ? t->act.loc_storage : t->loc;
    if (!cr)
        return;
    int64_t w = -1, wa = days_in_window(&t->match.age_days), wi = days_in_window(&t->match.idle_days);
    const char *why = NULL;
    if (wa >= 0 && (t->match.set & POLICY_COND_AGE)) {
        w = wa;
        why = "age_days";
    }
    if (wi >= 0 && (t->match.set & POLICY_COND_IDLE) && (w < 0 || wi < w)) {
        w = wi;
        why = "its access window";
    }
    if (w >= 0 && w < cr->min_days)
        policy_diag(p, loc, 1, "tier '%s': S3 bills %s objects for at least %d days, but assets "
                    "leave this tier within %lld days (%s): moved out sooner, the rest of the "
                    "%d days is charged (early deletion)", t->name, cr->name, cr->min_days,
                    (long long)w, why, cr->min_days);
    if (t->act.original == POLICY_ORIGINAL_DELETE_AFTER && t->act.delete_after_days < cr->min_days &&
        t->act.transcode.mode == POLICY_MODE_NONE)
        policy_diag(p, loc, 1, "tier '%s': originals moved to %s are billed for at least %d days; "
                    "'delete_after_days: %d' ends them sooner (the rest is charged)", t->name,
                    cr->name, cr->min_days, t->act.delete_after_days);
    if ((t->match.set & POLICY_COND_BYTES) && t->match.bytes.max != INT64_MAX &&
        t->match.bytes.max < cr->min_bytes)
        policy_diag(p, loc, 1, "tier '%s': S3 bills each %s object as at least %d KiB, and this "
                    "tier only takes assets under %lld bytes", t->name, cr->name,
                    cr->min_bytes >> 10, (long long)t->match.bytes.max + 1);
    if (cr->archived)
        policy_diag(p, loc, 1, "tier '%s': %s objects cannot be read until restored (get, "
                    "verify and fsck of them fail) and S3 refuses to move them to another class "
                    "without a restore, so a tier they match later (an access) cannot take them "
                    "back", t->name, cr->name);
}

int policy_validate(struct policy *p)
{
    FORWARD_ERR(policy_ensure_storage(p));
    if (!p->version_major && !p->nerrors)
        policy_diag(p, (struct policy_loc){ 0, 0 }, 0, "no version");
    for (int i = 0; i < p->ntiers; i++) {
        struct policy_tier *t = &p->tiers[i];
        validate_actions(p, t);
        check_storage_class(p, t);
        for (int j = 0; j < i; j++) {
            if (t->name[0] && !strcmp(p->tiers[j].name, t->name))
                policy_diag(p, t->loc, 0, "duplicate tier name '%s' (first at line %d)", t->name,
                     p->tiers[j].loc.line);
        }
        for (int j = 0; j < i; j++) {
            if (cond_matches_all(&p->tiers[j].match)) {
                policy_diag(p, t->loc, 0, "tier '%s' can never match: tier '%s' (line %d) comes first "
                                   "and has no conditions, so it matches every asset",
                     t->name, p->tiers[j].name, p->tiers[j].loc.line);
                break;
            }
        }
    }
    return policy_finish(p);
}

