/* What a request asks for, from its method, path, headers and query
 * arguments alone: no connection, no home.  http.c reads the values through
 * libmicrohttpd (which parses the HTTP); tests/fuzz/fuzz_http.c drives the
 * same functions with arbitrary values. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "json.h"
#include "service.h"

/* A positive decimal id without sign or leading zero; *rest after it. */
static int parse_id(const char *p, int64_t *id, const char **rest)
{
    char *end;
    long long v;
    if (*p < '1' || *p > '9')
        return -1;
    errno = 0;
    v = strtoll(p, &end, 10);
    if (errno || v <= 0)
        return -1;
    *id = v;
    *rest = end;
    return 0;
}

void service_route_parse(const char *method, const char *url, struct service_request *rq)
{
    const char *rest = "";
    memset(rq, 0, sizeof(*rq));
    rq->get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
    rq->route = ROUTE_OTHER;
    if (!strcmp(url, "/healthz"))
        rq->route = ROUTE_HEALTHZ;
    else if (!strcmp(url, "/readyz"))
        rq->route = ROUTE_READYZ;
    else if (!strcmp(url, "/metrics"))
        rq->route = ROUTE_METRICS;
    else if (!strcmp(url, "/") || !strcmp(url, "/report"))
        rq->route = ROUTE_STATUS;
    else if (!strncmp(url, "/v1/jobs/", 9) && !parse_id(url + 9, &rq->id, &rest) && !*rest)
        rq->route = ROUTE_JOB;
    else if (!strcmp(url, "/v1/assets"))
        rq->route = !strcmp(method, "POST") ? ROUTE_UPLOAD : ROUTE_LIST;
    else if (!strncmp(url, "/v1/assets/", 11) && !parse_id(url + 11, &rq->id, &rest)) {
        if (!*rest)
            rq->route = !strcmp(method, "DELETE") ? ROUTE_DELETE : ROUTE_ASSET;
        else if (!strcmp(rest, "/original"))
            rq->route = ROUTE_ORIGINAL;
        else if (!strncmp(rest, "/renditions/", 12)) {
            rq->route = ROUTE_RENDITION;
            rq->rendition = rest + 12;
        } else if (!strcmp(rest, "/restore"))
            rq->route = ROUTE_RESTORE;
    }
    if (rq->route == ROUTE_OTHER || rq->route == ROUTE_HEALTHZ || rq->route == ROUTE_READYZ ||
        rq->route == ROUTE_METRICS || rq->route == ROUTE_STATUS || rq->route == ROUTE_UPLOAD ||
        rq->route == ROUTE_LIST)
        rq->id = 0;
}

/* One "bytes=" range spec (after the prefix) of a body of len bytes: 1 and
 * [*lo, *hi] clamped to the body, or 0 when it cannot be satisfied. */
static int range_spec(const char *p, uint64_t len, uint64_t *lo, uint64_t *hi)
{
    unsigned long long a = 0, z = 0;
    *lo = 0;
    *hi = len ? len - 1 : 0;
    if (*p == '-') { /* the last z bytes */
        if (sscanf(p + 1, "%llu", &z) != 1 || !z)
            return 0;
        *lo = z >= len ? 0 : len - z;
    } else if (sscanf(p, "%llu-%llu", &a, &z) == 2) {
        if (a > z)
            return 0;
        *lo = a;
        *hi = z >= len ? (len ? len - 1 : 0) : z;
    } else if (sscanf(p, "%llu-", &a) == 1) {
        *lo = a;
    } else {
        return 0;
    }
    return *lo < len;
}

int service_range_parse(const char *range, uint64_t len, uint64_t *lo, uint64_t *hi)
{
    *lo = 0;
    *hi = len ? len - 1 : 0;
    if (!range || strncmp(range, "bytes=", 6) || strchr(range, ','))
        return 0;
    if (!range_spec(range + 6, len, lo, hi)) {
        *lo = 0;
        *hi = len ? len - 1 : 0;
        return -1;
    }
    return 1;
}

int service_etag_matches(const char *if_none_match, const char *etag)
{
    return if_none_match && (strstr(if_none_match, etag) || !strcmp(if_none_match, "*"));
}

int service_authenticate(const struct service_auth *a, const struct service_request *rq,
                         const char *url, const char *authorization, const char *exp,
                         const char *sig, int64_t now, const char **owner)
{
    *owner = NULL;
    if (rq->route == ROUTE_RENDITION && (exp || sig)) {
        int ret = service_auth_check(a, url, exp, sig, now);
        if (ret == 0)
            return 0; /* the signature authorises this one path, whoever asks */
        return ret == TP_ERR_LIMIT ? -2 : -3;
    }
    if (!service_auth_ntokens(a)) {
        *owner = "local";
        return 0;
    }
    if (!authorization || strncmp(authorization, "Bearer ", 7) ||
        !(*owner = service_auth_owner(a, authorization + 7)))
        return -1;
    return 0;
}

int service_upload_params(const char *content_length, uint64_t max_body, const char *proxies,
                          const char *idempotency_key, int *async)
{
    *async = 0;
    if (content_length && strtoull(content_length, NULL, 10) > max_body)
        return SERVICE_BAD_LENGTH;
    if (proxies && !strcmp(proxies, "async"))
        *async = 1;
    else if (proxies && strcmp(proxies, "sync"))
        return SERVICE_BAD_PROXIES;
    if (idempotency_key && (!*idempotency_key || strlen(idempotency_key) >= SERVICE_IDEM_KEY))
        return SERVICE_BAD_IDEM_KEY;
    return 0;
}

char *service_problem_json(int status, const char *type, const char *title, const char *detail)
{
    json_t *o = json_object();
    char t[128], *body = NULL;
    int bad = !o;
    snprintf(t, sizeof(t), "https://tierpress.invalid/problems/%s", type);
    if (!bad) {
        bad |= json_set_text(o, "type", t);
        bad |= json_set_text(o, "title", title);
        bad |= json_set_int(o, "status", status);
        /* detail may quote what the client sent (a method, a file name) */
        if (detail && *detail)
            bad |= json_set_text(o, "detail", detail);
    }
    if (!bad)
        body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return body;
}
