/* The simulator's estimates (see sim_int.h): strata by format and size,
 * the stated ratio table for strata the sample did not reach, the
 * assumptions, the t quantiles of the confidence interval. */
#include <stdio.h>
#include <string.h>

#include "components.h"
#include "err.h"
#include "search.h"
#include "sim_int.h"
#include "transcode.h"

/* ---- the stated ratio table -------------------------------------------- */

const struct sim_ratio sim_ratio_table[] = {
    /* 0: lossless JPEG -> JXL */
    { 0.81, 0.62, 0.90, 0.10,
      "lossless JPEG->JXL: median 81% of the bytes (62-90%), docs/quality.md and "
      "../shared/docs/quality-calibration.md (15 photos); CPU: bench/RESULTS.md quality "
      "benchmark, lossless cjxl row, p90 0.1 CPU-s/MP" },
    /* 1: kept: no codec work (mode none; a video in a tier without a video codec) */
    { 1.0, 1.0, 1.0, 0.0, "kept as is: the tier has no codec work for this asset" },
    /* 2: lossy at a visually lossless floor (mean SSIM >= 0.995) */
    { 0.73, 0.55, 1.0, 1.5,
      "lossy at a visually lossless floor (SSIM >= 0.995): JXL median 73% (p90 ~100%), docs/quality.md; "
      "CPU per codec searched (summed over the tier's codecs): jxl 1.5, avif 2.5, heic 8.7 CPU-s/MP, "
      "bench/RESULTS.md quality benchmark medians (12 photos; best-of all three measured 12.2)" },
    /* 3: lossy around 0.99 */
    { 0.50, 0.35, 0.75, 2.0, "lossy at SSIM 0.98..0.995: ~50% of the bytes, docs/quality.md; CPU per "
      "codec searched: jxl 2.0, avif 4.2, heic 9.4 CPU-s/MP (bench/RESULTS.md saver rows)" },
    /* 4: lossy below 0.98 */
    { 0.20, 0.10, 0.40, 2.5, "lossy below SSIM 0.98: ~20% of the bytes (visibly different), docs/quality.md; "
      "CPU per codec searched: jxl 2.5, avif 3.9, heic 6.0 CPU-s/MP (bench/RESULTS.md 0.95 rows)" },
    /* 5: lossless pixel encode of a non-JPEG image */
    { 0.70, 0.40, 1.0, 1.0,
      "lossless pixel encode of a non-JPEG image (first codec, e.g. JPEG XL): a wide range, not "
      "calibrated (the originals kept when it saves less than min_saving)" },
    /* 6: video cold re-encode */
    { 0.50, 0.15, 1.0, 20.0,
      "video cold re-encode (HEVC/AV1, CRF searched against the floors): a wide range, not "
      "calibrated (the original kept when no CRF saves min_saving)" },
    /* 7: an image with parts the tier's encodes cannot carry */
    { 1.0, 1.0, 1.0, 0.10,
      "kept: the image has a part no pixel encode carries (gain map, depth/aux image, MPF image, "
      "motion video, trailing bytes, animation: the components rule, README \"Components\") and "
      "no byte-exact path saves the tier's min_saving (a JPEG's lossless JPEG XL recompression "
      "is predicted with row 0 when its median saving does); CPU: the probe and the lossless try" },
};
const int sim_ratio_table_len = (int)TP_ARRAY_SIZE(sim_ratio_table);

const struct sim_ratio *sim_ratio_for(const struct policy_transcode *t, const char *kind,
                                      const char *format)
{
    /* the pipeline's own decision (transcode.h): no work means kept */
    if (!transcode_needed(kind, t))
        return &sim_ratio_table[1];
    if (!strcmp(kind, "video"))
        return &sim_ratio_table[6];
    if (t->mode == POLICY_MODE_LOSSLESS)
        return &sim_ratio_table[strcmp(format, "jpeg") ? 5 : 0];
    if (t->ssim >= SEARCH_VISUALLY_LOSSLESS)
        return &sim_ratio_table[2];
    return &sim_ratio_table[t->ssim >= 0.98 ? 3 : 4];
}

const struct sim_ratio *sim_ratio_for_parts(const struct policy_transcode *t, const char *kind,
                                            const char *format, int parts)
{
    if (!parts || strcmp(kind, "image") || !transcode_needed(kind, t))
        return sim_ratio_for(t, kind, format);
    if (!strcmp(format, "jpeg") && 1 - sim_ratio_table[0].ratio >= t->min_saving)
        return &sim_ratio_table[0];
    return &sim_ratio_table[7];
}

const char *const sim_alt_kind[SIM_NALT] = { "class_only", "lossless" };

void sim_flag_payback(struct sim_result *r, double max_months)
{
    for (int i = 0; i <= r->ntiers; i++) {
        struct sim_tier *t = i < r->ntiers ? &r->tiers[i] : &r->total;
        t->payback_flagged = t->payback_months > max_months ||
                             (t->payback_months < 0 && t->one_off_usd > 0);
    }
}

double sim_cpu_s_per_mp(const struct policy_transcode *t, const struct sim_ratio *sr)
{
    /* bench/RESULTS.md, quality benchmark, CPU s/MP medians per codec and floor
     * (rows 2, 3, 4 of the table); the search runs each codec in turn */
    static const struct { const char *codec; double cpu[3]; } per_codec[] = {
        { "jxl", { 1.5, 2.0, 2.5 } },
        { "avif", { 2.5, 4.2, 3.9 } },
        { "heif", { 8.7, 9.4, 6.0 } },
        { "heic", { 8.7, 9.4, 6.0 } },
    };
    int row = (int)(sr - sim_ratio_table);
    if (row < 2 || row > 4 || t->mode != POLICY_MODE_LOSSY)
        return sr->cpu_s_per_mp;
    double sum = 0;
    for (int i = 0; i < t->ncodecs; i++) {
        double c = sr->cpu_s_per_mp; /* a codec not benchmarked: as JPEG XL */
        for (size_t k = 0; k < TP_ARRAY_SIZE(per_codec); k++)
            if (!strcmp(per_codec[k].codec, t->codecs[i]))
                c = per_codec[k].cpu[row - 2];
        sum += c;
    }
    return sum > 0 ? sum : sr->cpu_s_per_mp;
}

const char *const sim_assumptions[] = {
    "The run is modelled by the batch runner's own transcode (src/pipeline/transcode.c, "
    "encoding into a null store): per asset the first matching tier; mode none only changes "
    "the tier and storage class; lossless recompresses JPEG originals to JPEG XL and encodes "
    "other images losslessly with the first codec; lossy keeps the smallest candidate meeting "
    "the floors, or the original when none passes or saves min_saving; videos are re-encoded "
    "by a tier whose codecs name hevc or av1 and are otherwise only relabelled.",
    "Bytes after = what the assets point at after the run. Originals kept for good "
    "(original: keep / never_delete) are stored and billed next to the replacement; with "
    "delete_after_days they are billed for the grace (a one-off) and then deleted.",
    "Prediction: the catalog's own originals are transcoded in memory. Sample: per "
    "(tier, format x size class x has parts no pixel encode carries) stratum, a simple random sample (the smallest seeded "
    "hash keys of the asset ids), sample size allocated in proportion to the stratum's "
    "bytes with at least 2 per stratum; each distinct blob is transcoded once per tier. "
    "When every distinct (blob, tier) fits in the sample, all are transcoded and the "
    "prediction is exact (interval of zero width).",
    "Extrapolation: per stratum the ratio estimator R = sum(after)/sum(before) over the "
    "sample applied to the stratum's unsampled bytes (sampled blobs count exactly). "
    "Interval: 95% two-sided, t quantile with sum(n_h - 1) degrees of freedom on the "
    "ratio estimator's variance N^2 (1 - n/N) s_e^2 / n; strata with fewer than 2 sampled "
    "assets (or only one distinct blob), or none, use the ratio table's range instead and "
    "add it to the interval.",
    "Compute: measured process CPU time of decode + encode + verify per sampled blob, "
    "extrapolated per stratum by megapixels, billed at the vCPU-hour price.",
    "Retrieval: GB read per month = the 30-day access count x the object's bytes, at the "
    "retrieval price of the class it is in (held at today's rate in the projection).",
    "Billing: per object max(bytes, minimum billable size) + per-object overhead; objects "
    "moved or deleted before the class's minimum storage duration are billed for the "
    "remaining days; the time an object has spent in its current class is taken as its "
    "age since upload (the catalog does not record class changes).",
    "Projection: month k re-evaluates the policy at now + 30k days, assuming no new "
    "accesses (last access unchanged; the 30/90/365-day counts shrink as the window slides "
    "past the recorded accesses, assumed spread evenly over their window).",
    "A Live Photo / motion photo pair is one asset: the clip is in its still's tier (the "
    "still's facts choose it, as in the batch runner) and its bytes count with the still's.",
    "Assets already replaced (current blob != original) are not transcoded again; a tier "
    "reached later in the projection transcodes from the original with that tier's "
    "settings (strata first reached then use the sample if it reached them, else the table).",
    NULL,
};

/* Strata: the format's codec (codec_list's index; a video of an unknown
 * format counts with the video codec), else "other", times a size class,
 * times whether the image has parts no pixel encode carries (those are
 * kept or recompressed byte-exactly: a ratio of their own). */
int sim_stratum_of(const char *kind, const char *format, double bytes, unsigned kinds)
{
    const struct codec *cd = codec_find_by_name(format);
    int f = NFMT - 1, sz;
    if (!cd && !strcmp(kind, "video"))
        for (int i = 0; codec_list[i] && !cd; i++)
            if (codec_list[i]->caps & CODEC_CAP_VIDEO)
                cd = codec_list[i];
    if (cd)
        f = codec_index(cd);
    sz = bytes < 128 * 1024.0 ? 0 : bytes < 1048576.0 ? 1 : bytes < 8388608.0 ? 2 : 3;
    return ((kinds & COMP_BITSTREAM_KINDS ? 1 : 0) * NFMT + f) * NSIZE + sz;
}

/* The kind and format a stratum stands for (for the ratio table). */
void sim_stratum_format(int s, const char **kind, const char **format, int *parts)
{
    int f = s / NSIZE % NFMT;
    *parts = s / (NSIZE * NFMT);
    const struct codec *cd = NULL;
    for (int i = 0; codec_list[i] && i <= f; i++)
        if (i == f)
            cd = codec_list[i];
    *kind = cd && (cd->caps & CODEC_CAP_VIDEO) ? "video" : "image";
    *format = cd ? cd->name : "other";
}

/* Two-sided 95% t quantiles for df = 1..30; 1.96 beyond. */
double sim_t95(int df)
{
    static const double t[] = { 0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042 };
    if (df < 1)
        return 0;
    if (df <= 30)
        return t[df];
    return df <= 60 ? 2.000 : df <= 120 ? 1.980 : 1.960;
}
