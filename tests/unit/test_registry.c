/* The codec registry answers what policy, search and simulate ask: every
 * registered name and alias is accepted by a policy as a codec (encoders)
 * and as a format (decoders), and means the same codec; the capabilities
 * they ask about are the adapters' own fields. */
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "err.h"
#include "policy.h"
#include "transcode.h"
#include "unit.h"

/* A one-tier policy whose codecs / format line is `line`; 0 when valid. */
static int policy_with(struct policy *p, const char *match, const char *transcode)
{
    char text[512];
    snprintf(text, sizeof(text),
             "version: 1\ntiers:\n  - name: t\n    match: {%s}\n    transcode: {%s}\n", match,
             transcode);
    policy_defaults(p);
    int ret = policy_parse(p, "registry.yaml", text, strlen(text));
    int vret = policy_validate(p);
    tp_err_clear();
    return ret < 0 ? ret : vret;
}

TEST(registry_names_accepted_by_policy)
{
    int ncodecs = 0;
    for (int i = 0; codec_list[i]; i++) {
        const struct codec *c = codec_list[i];
        const char *names[8] = { c->name };
        int n = 1;
        ncodecs++;
        for (int j = 0; c->aliases && c->aliases[j] && n < 8; j++)
            names[n++] = c->aliases[j];
        for (int k = 0; k < n; k++) {
            struct policy p;
            char m[64], t[96];
            CHECK(codec_find_by_name(names[k]) == c);
            CHECK(codec_index(c) == i);
            /* as a format: the policy stores the canonical name */
            snprintf(m, sizeof(m), "format: %s", names[k]);
            int ret = policy_with(&p, m, "mode: none");
            CHECK(ret == 0);
            if (ret == 0)
                CHECK(p.ntiers == 1 && !strcmp(p.tiers[0].match.formats[0], c->name));
            policy_free(&p);
            if (!(c->caps & CODEC_CAP_ENCODE))
                continue;
            /* as a lossy candidate, and lossless when the adapter has a
             * lossless mode or recompresses JPEG */
            snprintf(t, sizeof(t), "mode: lossy, codecs: [%s], ssim: 0.99", names[k]);
            ret = policy_with(&p, "age_days: {min: 1}", t);
            CHECK(ret == 0);
            if (ret == 0)
                CHECK(!strcmp(p.tiers[0].act.transcode.codecs[0], c->name));
            policy_free(&p);
            snprintf(t, sizeof(t), "mode: lossless, codecs: [%s]", names[k]);
            int lossless = (c->caps & CODEC_CAP_LOSSLESS) || codec_recompresses_jpeg(c);
            CHECK((policy_with(&p, "age_days: {min: 1}", t) == 0) == lossless);
            policy_free(&p);
        }
    }
    CHECK(ncodecs > 0 && ncodecs <= CODEC_MAX);
    /* the video encoders: lossy only, and the pipeline's choice for videos */
    for (int v = 0; codec_video_encoders[v]; v++) {
        struct policy p;
        char t[96];
        snprintf(t, sizeof(t), "mode: lossy, codecs: [%s], ssim: 0.95", codec_video_encoders[v]);
        int ret = policy_with(&p, "kind: video", t);
        CHECK(ret == 0);
        if (ret == 0) {
            CHECK(transcode_video_codec(&p.tiers[0].act.transcode) == v);
            CHECK(transcode_needed("video", &p.tiers[0].act.transcode));
        }
        policy_free(&p);
        snprintf(t, sizeof(t), "mode: lossless, codecs: [%s]", codec_video_encoders[v]);
        CHECK(policy_with(&p, "kind: video", t) < 0);
        policy_free(&p);
    }
    /* an unknown name is refused */
    struct policy p;
    CHECK(policy_with(&p, "age_days: {min: 1}", "mode: lossy, codecs: [nosuchcodec]") < 0);
    policy_free(&p);
    CHECK(policy_with(&p, "format: nosuchformat", "mode: none") < 0);
    policy_free(&p);
}

TEST(registry_capabilities)
{
    const struct codec *jpeg = codec_find_by_name("jpeg"), *jxl = codec_find_by_name("jxl");
    REQUIRE(jpeg && jxl);
    CHECK(codec_subsamples_chroma(jpeg));
    CHECK(!codec_subsamples_chroma(jxl));
    CHECK(codec_recompresses_jpeg(jxl) && jxl->reconstruct);
    CHECK(!codec_recompresses_jpeg(jpeg));
    const char *names[64];
    int n = codec_names(names, 64, CODEC_CAP_ENCODE, 1, 1);
    CHECK(n > 2 && names[n] == NULL);
    int seen_jpg = 0, seen_hevc = 0;
    for (int i = 0; i < n; i++) {
        seen_jpg |= !strcmp(names[i], "jpg");
        seen_hevc |= !strcmp(names[i], "hevc");
    }
    CHECK(seen_jpg && seen_hevc);
    CHECK(codec_names(names, 2, 0, 1, 1) == 1 && names[1] == NULL);
}
