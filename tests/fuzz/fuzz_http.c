/* The serve request handling without a connection: routing, bearer and
 * signed-URL authentication, Range, If-None-Match, upload parameters and
 * the problem body, on arbitrary method/path/headers/query/body.  The input
 * is laid out like a request ("METHOD PATH?QUERY\nName: value\n...\n\nBODY")
 * only to give the fuzzer a shape: this splitting is the harness's table,
 * libmicrohttpd parses real HTTP.  Besides not crashing: a route's id and
 * rendition are consistent, a satisfiable range lies inside the body, a
 * signed URL verifies, and the problem body is JSON with its detail. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "err.h"
#include "fuzz.h"
#include "service.h"

#define NOW 1700000000LL
#define MAXV 16

struct kv {
    const char *k[MAXV], *v[MAXV];
    int n;
};

static const char *lookup(const struct kv *t, const char *k, int icase)
{
    for (int i = 0; i < t->n; i++)
        if (icase ? !strcasecmp(t->k[i], k) : !strcmp(t->k[i], k))
            return t->v[i];
    return NULL;
}

static void add(struct kv *t, const char *k, const char *v)
{
    if (t->n < MAXV) {
        t->k[t->n] = k;
        t->v[t->n++] = v;
    }
}

static struct service_auth *auth(void)
{
    static struct service_auth *a;
    if (!a) {
        setenv("TIERPRESS_TOKENS", "alice tok-alice-0123456789,bob tok-bob-0123456789", 1);
        setenv("TIERPRESS_SIGNING_KEY", "0123456789abcdef-fuzz", 1);
        if (service_auth_load(&a, NULL, NULL) < 0)
            abort();
    }
    return a;
}

static void check_problem(int status, const char *detail)
{
    char *body = service_problem_json(status, "bad-parameter", "Bad Request", detail);
    json_t *o = body ? json_loads(body, 0, NULL) : NULL;
    if (!o || json_integer_value(json_object_get(o, "status")) != status ||
        (detail && *detail && !json_is_string(json_object_get(o, "detail"))))
        abort(); /* a problem without its detail, or not JSON */
    json_decref(o);
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kv hdr = { 0 }, arg = { 0 };
    struct service_request rq;
    char *in = malloc(size + 1), *line, *p;
    const char *body = "";
    size_t body_len = 0;
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    /* the request line */
    line = in;
    p = strchr(in, '\n');
    if (p) {
        *p++ = '\0';
        /* headers up to an empty line, then the body */
        while (*p && *p != '\n') {
            char *e = strchr(p, '\n'), *c;
            if (e)
                *e = '\0';
            if ((c = strchr(p, ':'))) {
                *c++ = '\0';
                while (*c == ' ')
                    c++;
                add(&hdr, p, c);
            }
            if (!e) {
                p += strlen(p);
                break;
            }
            p = e + 1;
        }
        if (*p == '\n') {
            body = p + 1;
            body_len = size - (size_t)(body - in);
        }
    }
    const char *method = line, *url = "/";
    char *sp = strchr(line, ' ');
    if (sp) {
        *sp = '\0';
        url = sp + 1;
        char *q = strchr(sp + 1, '?');
        if (q) {
            *q++ = '\0';
            for (char *tok = strtok(q, "&"); tok; tok = strtok(NULL, "&")) {
                char *eq = strchr(tok, '=');
                if (eq)
                    *eq++ = '\0';
                add(&arg, tok, eq ? eq : "");
            }
        }
    }

    service_route_parse(method, url, &rq);
    if ((rq.route == ROUTE_RENDITION) != (rq.rendition != NULL))
        abort();
    if ((rq.route == ROUTE_ASSET || rq.route == ROUTE_ORIGINAL || rq.route == ROUTE_RENDITION ||
         rq.route == ROUTE_DELETE || rq.route == ROUTE_RESTORE || rq.route == ROUTE_JOB) !=
        (rq.id > 0))
        abort();

    const char *owner;
    int a = service_authenticate(auth(), &rq, url, lookup(&hdr, "Authorization", 1),
                                 lookup(&arg, "exp", 0), lookup(&arg, "sig", 0), NOW, &owner);
    if (a == 0 && !owner && rq.route != ROUTE_RENDITION)
        abort(); /* only a rendition may be authorised by its URL alone */
    if (a < 0 && owner)
        abort();

    /* a URL the service signs verifies, for this path only */
    if (rq.route == ROUTE_RENDITION) {
        char sig[65];
        service_auth_sign(auth(), url, NOW + 60, sig);
        if (service_auth_check(auth(), url, "1700000060", sig, NOW) != 0)
            abort();
        tp_err_clear();
    }

    uint64_t lo, hi;
    int r = service_range_parse(lookup(&hdr, "Range", 1), body_len, &lo, &hi);
    if (r > 0 && !(lo <= hi && hi < body_len))
        abort();
    service_etag_matches(lookup(&hdr, "If-None-Match", 1),
                         "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"");

    int async;
    int u = service_upload_params(lookup(&hdr, "Content-Length", 1), 1 << 20,
                                  lookup(&arg, "proxies", 0), lookup(&hdr, "Idempotency-Key", 1),
                                  &async);
    if (u < 0 || u > SERVICE_BAD_IDEM_KEY)
        abort();

    /* the answers that quote what the client sent */
    check_problem(405, method);
    check_problem(413, lookup(&hdr, "X-File-Name", 1));
    check_problem(404, url);
    tp_err_clear();
    free(in);
    return 0;
}
