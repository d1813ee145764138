/*  cpec_metrics - counters, gauges and per-method request metrics, rendered
    in the Prometheus text format. Thread-safe: the service loop records, the
    admin HTTP thread renders.

    Per method: cpec_requests_total{service,method,code},
    cpec_request_errors_total{service,method} and the histogram
    cpec_request_duration_seconds{service,method} (buckets 0.0005 .. 10 s).
*/
#ifndef CPEC_METRICS_H_INCLUDED
#define CPEC_METRICS_H_INCLUDED

typedef struct _cpec_metrics_t cpec_metrics_t;

//  A registry of metrics labelled service="<service>". NULL on OOM.
cpec_metrics_t *cpec_metrics_new (const char *service);

//  Destroys; idempotent.
void cpec_metrics_destroy (cpec_metrics_t **self_p);

//  Records one request of `method` that ended with status `code` after
//  `seconds`. A code other than OK also counts as an error.
void cpec_metrics_observe (cpec_metrics_t *self, const char *method, int code, double seconds);

//  Adds to a counter named `name` (created on first use with `help`).
void cpec_metrics_count (cpec_metrics_t *self, const char *name, const char *help, double value);

//  Sets a gauge named `name` (created on first use with `help`).
void cpec_metrics_gauge (cpec_metrics_t *self, const char *name, const char *help, double value);

//  The current value of a counter or gauge (0 if absent); for tests.
double cpec_metrics_value (cpec_metrics_t *self, const char *name);

//  Prometheus text exposition; the caller frees it.
char *cpec_metrics_render (cpec_metrics_t *self);

#endif
