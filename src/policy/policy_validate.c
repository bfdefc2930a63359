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

int policy_validate(struct policy *p)
{
    FORWARD_ERR(policy_ensure_storage(p));
    if (!p->version_major && !p->nerrors)
        policy_diag(p, (struct policy_loc){ 0, 0 }, 0, "no version");
    for (int i = 0; i < p->ntiers; i++) {
        struct policy_tier *t = &p->tiers[i];
        validate_actions(p, t);
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

