/*  cpec_metrics - counters, gauges and per-method request metrics, rendered
    in the Prometheus text exposition format 0.0.4. One mutex guards all.
*/
#include "cpec_metrics.h"
#include "cpec_status.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CODES   (CPEC_UNAUTHENTICATED + 1)
#define S_BUCKETS 15 //  the last one is +Inf

static const double s_bounds[S_BUCKETS - 1] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5,     10};
static const char *s_bound_names[S_BUCKETS] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                               "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                               "1",      "2.5",   "5",      "10",    "+Inf"};

typedef struct
{
    char *name;                  //  method name
    uint64_t codes[S_CODES];     //  requests by status code
    uint64_t errors;             //  requests whose code was not OK
    uint64_t buckets[S_BUCKETS]; //  requests by duration bucket (not cumulative)
    double sum;                  //  total seconds
    uint64_t count;              //  requests
} s_method_t;

typedef enum
{
    S_COUNTER,
    S_GAUGE
} s_type_t;

typedef struct
{
    char *name;    //  metric name
    char *help;    //  its # HELP text
    s_type_t type; //  counter or gauge
    double value;  //  current value
} s_scalar_t;

struct _cpec_metrics_t
{
    pthread_mutex_t mutex; //  guards everything below
    char *service;         //  value of the service label
    s_method_t *methods;   //  per-method request metrics, in order of first use
    size_t methods_size;   //  methods in use
    size_t methods_max;    //  methods allocated
    s_scalar_t *scalars;   //  counters and gauges, in order of first use
    size_t scalars_size;   //  scalars in use
    size_t scalars_max;    //  scalars allocated
};

cpec_metrics_t *
cpec_metrics_new (const char *service)
{
    cpec_metrics_t *self = (cpec_metrics_t *)calloc (1, sizeof (cpec_metrics_t));
    if (self == NULL)
        return NULL;
    self->service = strdup (service ? service : "");
    if (self->service == NULL || pthread_mutex_init (&self->mutex, NULL) != 0) {
        free (self->service);
        free (self);
        return NULL;
    }
    return self;
}

void
cpec_metrics_destroy (cpec_metrics_t **self_p)
{
    assert (self_p);
    cpec_metrics_t *self = *self_p;
    if (self == NULL)
        return;
    for (size_t index = 0; index < self->methods_size; index++)
        free (self->methods[index].name);
    for (size_t index = 0; index < self->scalars_size; index++) {
        free (self->scalars[index].name);
        free (self->scalars[index].help);
    }
    free (self->methods);
    free (self->scalars);
    free (self->service);
    pthread_mutex_destroy (&self->mutex);
    free (self);
    *self_p = NULL;
}

//  Grows an array of `item` sized elements to hold one more; 0 or -1.
static int
s_grow (void **array, size_t size, size_t *max, size_t item)
{
    if (size < *max)
        return 0;
    size_t new_max = *max ? *max * 2 : 8;
    void *grown = realloc (*array, new_max * item);
    if (grown == NULL)
        return -1;
    *array = grown;
    *max = new_max;
    return 0;
}

//  The entry of a method, created on first use; NULL on OOM. Under the mutex.
static s_method_t *
s_method (cpec_metrics_t *self, const char *name)
{
    for (size_t index = 0; index < self->methods_size; index++)
        if (strcmp (self->methods[index].name, name) == 0)
            return &self->methods[index];
    if (s_grow ((void **)&self->methods, self->methods_size, &self->methods_max,
                sizeof (s_method_t)))
        return NULL;
    s_method_t *method = &self->methods[self->methods_size];
    memset (method, 0, sizeof (*method));
    method->name = strdup (name);
    if (method->name == NULL)
        return NULL;
    self->methods_size++;
    return method;
}

void
cpec_metrics_observe (cpec_metrics_t *self, const char *method, int code, double seconds)
{
    assert (self);
    assert (method);
    if (code < 0 || code >= S_CODES)
        code = CPEC_UNKNOWN;
    if (!(seconds >= 0)) //  negative or NaN
        seconds = 0;
    size_t bucket = 0;
    while (bucket < S_BUCKETS - 1 && seconds > s_bounds[bucket])
        bucket++;

    pthread_mutex_lock (&self->mutex);
    s_method_t *entry = s_method (self, method);
    if (entry) {
        entry->codes[code]++;
        if (code != CPEC_OK)
            entry->errors++;
        entry->buckets[bucket]++;
        entry->sum += seconds;
        entry->count++;
    }
    pthread_mutex_unlock (&self->mutex);
}

//  Whether name is a valid Prometheus metric name that is not one of ours.
static bool
s_name_valid (const char *name)
{
    if (name == NULL || *name == '\0' || (*name >= '0' && *name <= '9'))
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == ':'))
            return false;
    return strncmp (name, "cpec_requests_total", 19) != 0 &&
           strncmp (name, "cpec_request_errors_total", 25) != 0 &&
           strncmp (name, "cpec_request_duration_seconds", 29) != 0;
}

//  Adds to (counter) or sets (gauge) a scalar, created on first use.
static void
s_scalar_update (cpec_metrics_t *self, s_type_t type, const char *name, const char *help,
                 double value)
{
    assert (self);
    bool valid = s_name_valid (name);
    assert (valid); //  a programmer's mistake; ignored when asserts are off
    if (!valid)
        return;

    pthread_mutex_lock (&self->mutex);
    s_scalar_t *scalar = NULL;
    for (size_t index = 0; index < self->scalars_size && !scalar; index++)
        if (strcmp (self->scalars[index].name, name) == 0)
            scalar = &self->scalars[index];
    if (scalar == NULL && s_grow ((void **)&self->scalars, self->scalars_size, &self->scalars_max,
                                  sizeof (s_scalar_t)) == 0) {
        s_scalar_t *fresh = &self->scalars[self->scalars_size];
        fresh->name = strdup (name);
        fresh->help = strdup (help ? help : "");
        fresh->type = type;
        fresh->value = 0;
        if (fresh->name && fresh->help) {
            scalar = fresh;
            self->scalars_size++;
        } else {
            free (fresh->name);
            free (fresh->help);
        }
    }
    assert (scalar == NULL || scalar->type == type); //  one name, one type
    if (scalar && scalar->type == type) {
        if (type == S_GAUGE)
            scalar->value = value;
        else
            scalar->value += value;
    }
    pthread_mutex_unlock (&self->mutex);
}

void
cpec_metrics_count (cpec_metrics_t *self, const char *name, const char *help, double value)
{
    //  A counter only goes up.
    if (!(value >= 0))
        return;
    s_scalar_update (self, S_COUNTER, name, help, value);
}

void
cpec_metrics_gauge (cpec_metrics_t *self, const char *name, const char *help, double value)
{
    s_scalar_update (self, S_GAUGE, name, help, value);
}

double
cpec_metrics_value (cpec_metrics_t *self, const char *name)
{
    assert (self);
    double value = 0;
    pthread_mutex_lock (&self->mutex);
    for (size_t index = 0; index < self->scalars_size; index++)
        if (name && strcmp (self->scalars[index].name, name) == 0)
            value = self->scalars[index].value;
    pthread_mutex_unlock (&self->mutex);
    return value;
}

//  Writes a label value with \ " and newline escaped.
static void
s_put_label (FILE *out, const char *value)
{
    for (const char *c = value; *c; c++) {
        if (*c == '\\')
            fputs ("\\\\", out);
        else if (*c == '"')
            fputs ("\\\"", out);
        else if (*c == '\n')
            fputs ("\\n", out);
        else
            fputc (*c, out);
    }
}

//  Writes # HELP text with \ and newline escaped.
static void
s_put_help (FILE *out, const char *name, const char *help, const char *type)
{
    fprintf (out, "# HELP %s ", name);
    for (const char *c = help; *c; c++) {
        if (*c == '\\')
            fputs ("\\\\", out);
        else if (*c == '\n')
            fputs ("\\n", out);
        else
            fputc (*c, out);
    }
    fprintf (out, "\n# TYPE %s %s\n", name, type);
}

//  Writes a sample value: the shortest decimal that reads back the same.
static void
s_put_number (FILE *out, double value)
{
    if (isnan (value))
        fputs ("NaN", out);
    else if (isinf (value))
        fputs (value > 0 ? "+Inf" : "-Inf", out);
    else {
        char text[32];
        for (int precision = 15; precision <= 17; precision++) {
            snprintf (text, sizeof (text), "%.*g", precision, value);
            if (strtod (text, NULL) == value)
                break;
        }
        fputs (text, out);
    }
}

//  Writes `name{service="...",method="..."` (without the closing brace).
static void
s_put_labels (FILE *out, cpec_metrics_t *self, const char *name, const char *method)
{
    fprintf (out, "%s{service=\"", name);
    s_put_label (out, self->service);
    if (method) {
        fputs ("\",method=\"", out);
        s_put_label (out, method);
    }
    fputc ('"', out);
}

char *
cpec_metrics_render (cpec_metrics_t *self)
{
    assert (self);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    if (out == NULL)
        return NULL;

    pthread_mutex_lock (&self->mutex);
    if (self->methods_size) {
        s_put_help (out, "cpec_requests_total", "Requests handled, by method and status code.",
                    "counter");
        for (size_t index = 0; index < self->methods_size; index++) {
            s_method_t *method = &self->methods[index];
            for (int code = 0; code < S_CODES; code++) {
                if (method->codes[code] == 0)
                    continue;
                s_put_labels (out, self, "cpec_requests_total", method->name);
                fprintf (out, ",code=\"%s\"} %" PRIu64 "\n", cpec_code_name (code),
                         method->codes[code]);
            }
        }
        s_put_help (out, "cpec_request_errors_total",
                    "Requests that ended with a status other than OK.", "counter");
        for (size_t index = 0; index < self->methods_size; index++) {
            s_method_t *method = &self->methods[index];
            s_put_labels (out, self, "cpec_request_errors_total", method->name);
            fprintf (out, "} %" PRIu64 "\n", method->errors);
        }
        s_put_help (out, "cpec_request_duration_seconds", "Time to handle a request, in seconds.",
                    "histogram");
        for (size_t index = 0; index < self->methods_size; index++) {
            s_method_t *method = &self->methods[index];
            uint64_t cumulative = 0;
            for (int bucket = 0; bucket < S_BUCKETS; bucket++) {
                cumulative += method->buckets[bucket];
                s_put_labels (out, self, "cpec_request_duration_seconds_bucket", method->name);
                fprintf (out, ",le=\"%s\"} %" PRIu64 "\n", s_bound_names[bucket], cumulative);
            }
            s_put_labels (out, self, "cpec_request_duration_seconds_sum", method->name);
            fputs ("} ", out);
            s_put_number (out, method->sum);
            fputc ('\n', out);
            s_put_labels (out, self, "cpec_request_duration_seconds_count", method->name);
            fprintf (out, "} %" PRIu64 "\n", method->count);
        }
    }
    for (size_t index = 0; index < self->scalars_size; index++) {
        s_scalar_t *scalar = &self->scalars[index];
        s_put_help (out, scalar->name, scalar->help,
                    scalar->type == S_COUNTER ? "counter" : "gauge");
        s_put_labels (out, self, scalar->name, NULL);
        fputs ("} ", out);
        s_put_number (out, scalar->value);
        fputc ('\n', out);
    }
    pthread_mutex_unlock (&self->mutex);

    if (fclose (out) != 0) {
        free (text);
        return NULL;
    }
    return text;
}
