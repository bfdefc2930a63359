/* Prometheus counters of the service (text exposition format 0.0.4). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "service.h"

static const char *const route_names[ROUTE_N] = {
    "upload", "asset", "original", "rendition", "delete", "restore",
    "list", "healthz", "readyz", "metrics", "status", "job", "other",
};
static const int statuses[] = { 200, 201, 202, 204, 206, 304, 400, 401, 403, 404, 405,
                                408, 409, 413, 415, 416, 422, 500, 503 };
#define NSTATUS (int)(sizeof(statuses) / sizeof(statuses[0]))
static const double buckets[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NBUCKET (int)(sizeof(buckets) / sizeof(buckets[0]))

static atomic_ullong requests[ROUTE_N][NSTATUS + 1]; /* last: any other status */
static atomic_ullong hist[ROUTE_N][NBUCKET + 1];     /* last: +Inf */
static atomic_ullong sum_us[ROUTE_N];
static atomic_ullong bytes_in, bytes_out, decode_failures;
static atomic_int inflight, queued;

void metrics_request(enum service_route r, int status, double seconds)
{
    int s, b;
    for (s = 0; s < NSTATUS && statuses[s] != status; s++)
        ;
    atomic_fetch_add(&requests[r][s], 1);
    for (b = 0; b < NBUCKET && seconds > buckets[b]; b++)
        ;
    atomic_fetch_add(&hist[r][b], 1);
    atomic_fetch_add(&sum_us[r], (unsigned long long)(seconds * 1e6));
}

void metrics_bytes(uint64_t in, uint64_t out)
{
    atomic_fetch_add(&bytes_in, in);
    atomic_fetch_add(&bytes_out, out);
}

void metrics_decode_failure(void)
{
    atomic_fetch_add(&decode_failures, 1);
}

void metrics_inflight(int delta)
{
    atomic_fetch_add(&inflight, delta);
}

void metrics_queue(int delta)
{
    atomic_fetch_add(&queued, delta);
}

char *metrics_text(void)
{
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    if (!f)
        return NULL;
    fprintf(f, "# HELP tierpress_http_requests_total HTTP requests by route and status.\n"
               "# TYPE tierpress_http_requests_total counter\n");
    for (int r = 0; r < ROUTE_N; r++)
        for (int s = 0; s <= NSTATUS; s++) {
            unsigned long long n = atomic_load(&requests[r][s]);
            if (!n)
                continue;
            if (s < NSTATUS)
                fprintf(f, "tierpress_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n",
                        route_names[r], statuses[s], n);
            else
                fprintf(f, "tierpress_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                        route_names[r], n);
        }
    fprintf(f, "# HELP tierpress_http_request_duration_seconds Request latency by route.\n"
               "# TYPE tierpress_http_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_N; r++) {
        unsigned long long cum = 0;
        for (int b = 0; b <= NBUCKET; b++) {
            cum += atomic_load(&hist[r][b]);
            if (b < NBUCKET)
                fprintf(f, "tierpress_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                        route_names[r], buckets[b], cum);
            else
                fprintf(f, "tierpress_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                        route_names[r], cum);
        }
        fprintf(f, "tierpress_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n",
                route_names[r], (double)atomic_load(&sum_us[r]) / 1e6);
        fprintf(f, "tierpress_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                route_names[r], cum);
    }
    fprintf(f, "# TYPE tierpress_http_received_bytes_total counter\n"
               "tierpress_http_received_bytes_total %llu\n"
               "# TYPE tierpress_http_sent_bytes_total counter\n"
               "tierpress_http_sent_bytes_total %llu\n"
               "# TYPE tierpress_decode_failures_total counter\n"
               "tierpress_decode_failures_total %llu\n"
               "# TYPE tierpress_uploads_in_flight gauge\n"
               "tierpress_uploads_in_flight %d\n"
               "# TYPE tierpress_decode_queue_depth gauge\n"
               "tierpress_decode_queue_depth %d\n",
            atomic_load(&bytes_in), atomic_load(&bytes_out), atomic_load(&decode_failures),
            atomic_load(&inflight), atomic_load(&queued));
    fclose(f);
    return out;
}
