/*  test_metrics - cpec_metrics: request counts, errors, histogram buckets,
    counters and gauges, read back by parsing the Prometheus text.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_metrics.h"
#include "cpec_status.h"

static const char *s_les[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                              "0.25",   "0.5",   "1",      "2.5",   "5",    "10",    "+Inf"};
#define S_LES 15

//  The value of the sample whose series (name and labels) is exactly
//  `series`, or NAN if there is none. Fails on a sample seen twice.
static double
s_sample (const char *text, const char *series)
{
    double value = NAN;
    size_t length = strlen (series);
    const char *line = text;
    while (*line) {
        const char *end = strchr (line, '\n');
        assert_non_null (end); //  every line ends with a newline
        if (*line != '#' && strncmp (line, series, length) == 0 && line[length] == ' ') {
            assert_true (isnan (value));
            char *rest = NULL;
            value = strtod (line + length + 1, &rest);
            assert_true (rest == end);
        }
        line = end + 1;
    }
    return value;
}

//  Whether text has this exact line.
static int
s_has_line (const char *text, const char *wanted)
{
    size_t length = strlen (wanted);
    for (const char *line = text; *line;) {
        const char *end = strchr (line, '\n');
        if ((size_t)(end - line) == length && strncmp (line, wanted, length) == 0)
            return 1;
        line = end + 1;
    }
    return 0;
}

static double
s_bucket (const char *text, const char *method, const char *le)
{
    char series[256];
    snprintf (series, sizeof (series),
              "cpec_request_duration_seconds_bucket{service=\"registry\",method=\"%s\",le=\"%s\"}",
              method, le);
    return s_sample (text, series);
}

static void
test_observe (void **state)
{
    (void)state;
    cpec_metrics_t *metrics = cpec_metrics_new ("registry");
    assert_non_null (metrics);
    cpec_metrics_observe (metrics, "GetZone", CPEC_OK, 0.0003);
    cpec_metrics_observe (metrics, "GetZone", CPEC_OK, 0.002);
    cpec_metrics_observe (metrics, "GetZone", CPEC_NOT_FOUND, 0.03);
    cpec_metrics_observe (metrics, "GetZone", CPEC_OK, 20);
    cpec_metrics_observe (metrics, "GetZone", CPEC_INVALID_ARGUMENT, 0.005); //  le is inclusive
    cpec_metrics_observe (metrics, "ListZones", CPEC_OK, 0.7);
    char *text = cpec_metrics_render (metrics);
    assert_non_null (text);

    assert_true (s_has_line (text, "# TYPE cpec_requests_total counter"));
    assert_true (s_has_line (text, "# TYPE cpec_request_errors_total counter"));
    assert_true (s_has_line (text, "# TYPE cpec_request_duration_seconds histogram"));
    assert_non_null (strstr (text, "# HELP cpec_requests_total "));
    assert_non_null (strstr (text, "# HELP cpec_request_duration_seconds "));
    //  HELP and TYPE come before the family's samples.
    assert_true (strstr (text, "# TYPE cpec_requests_total") <
                 strstr (text, "cpec_requests_total{"));

    const char *ok = "cpec_requests_total{service=\"registry\",method=\"GetZone\",code=\"OK\"}";
    assert_true (s_sample (text, ok) == 3);
    assert_true (s_sample (text, "cpec_requests_total{service=\"registry\",method=\"GetZone\","
                                 "code=\"NOT_FOUND\"}") == 1);
    assert_true (s_sample (text, "cpec_requests_total{service=\"registry\",method=\"GetZone\","
                                 "code=\"INVALID_ARGUMENT\"}") == 1);
    assert_true (s_sample (text, "cpec_requests_total{service=\"registry\",method=\"ListZones\","
                                 "code=\"OK\"}") == 1);
    assert_true (
        s_sample (text, "cpec_request_errors_total{service=\"registry\",method=\"GetZone\"}") == 2);
    assert_true (
        s_sample (text, "cpec_request_errors_total{service=\"registry\",method=\"ListZones\"}") ==
        0);

    //  Buckets are cumulative and end with +Inf == _count.
    double expected[S_LES] = {1, 1, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 5};
    double previous = 0;
    for (int index = 0; index < S_LES; index++) {
        double value = s_bucket (text, "GetZone", s_les[index]);
        assert_false (isnan (value));
        assert_true (value >= previous);
        assert_true (value == expected[index]);
        previous = value;
    }
    assert_true (
        s_sample (text,
                  "cpec_request_duration_seconds_count{service=\"registry\",method=\"GetZone\"}") ==
        5);
    double sum = s_sample (
        text, "cpec_request_duration_seconds_sum{service=\"registry\",method=\"GetZone\"}");
    assert_true (fabs (sum - 20.0373) < 1e-9);
    assert_true (s_bucket (text, "ListZones", "0.5") == 0);
    assert_true (s_bucket (text, "ListZones", "1") == 1);
    assert_true (s_bucket (text, "ListZones", "+Inf") == 1);
    free (text);
    cpec_metrics_destroy (&metrics);
    assert_null (metrics);
    cpec_metrics_destroy (&metrics);
}

static void
test_escaping (void **state)
{
    (void)state;
    cpec_metrics_t *metrics = cpec_metrics_new ("reg\"istry");
    cpec_metrics_observe (metrics, "we\"ird\\name\nx", CPEC_OK, 0.001);
    cpec_metrics_count (metrics, "cpec_odd_total", "line one\nline \\two", 1);
    char *text = cpec_metrics_render (metrics);
    assert_true (s_sample (text, "cpec_requests_total{service=\"reg\\\"istry\",method="
                                 "\"we\\\"ird\\\\name\\nx\",code=\"OK\"}") == 1);
    assert_true (s_has_line (text, "# HELP cpec_odd_total line one\\nline \\\\two"));
    free (text);
    cpec_metrics_destroy (&metrics);
}

static void
test_counters_and_gauges (void **state)
{
    (void)state;
    cpec_metrics_t *metrics = cpec_metrics_new ("notify");
    char *text = cpec_metrics_render (metrics);
    assert_string_equal (text, ""); //  nothing recorded, nothing rendered
    free (text);

    assert_true (cpec_metrics_value (metrics, "cpec_deliveries_total") == 0);
    cpec_metrics_count (metrics, "cpec_deliveries_total", "Notifications delivered.", 1);
    cpec_metrics_count (metrics, "cpec_deliveries_total", "Notifications delivered.", 2.5);
    cpec_metrics_count (metrics, "cpec_deliveries_total", "Notifications delivered.", -10);
    cpec_metrics_gauge (metrics, "cpec_queue_depth", "Deliveries waiting.", 12);
    cpec_metrics_gauge (metrics, "cpec_queue_depth", "Deliveries waiting.", 7);
    cpec_metrics_gauge (metrics, "cpec_lag_seconds", "Consumer lag.", 0.1);
    assert_true (cpec_metrics_value (metrics, "cpec_deliveries_total") == 3.5);
    assert_true (cpec_metrics_value (metrics, "cpec_queue_depth") == 7);
    assert_true (cpec_metrics_value (metrics, "cpec_absent") == 0);

    text = cpec_metrics_render (metrics);
    assert_true (s_has_line (text, "# HELP cpec_deliveries_total Notifications delivered."));
    assert_true (s_has_line (text, "# TYPE cpec_deliveries_total counter"));
    assert_true (s_has_line (text, "# TYPE cpec_queue_depth gauge"));
    assert_true (s_has_line (text, "cpec_deliveries_total{service=\"notify\"} 3.5"));
    assert_true (s_has_line (text, "cpec_queue_depth{service=\"notify\"} 7"));
    assert_true (s_has_line (text, "cpec_lag_seconds{service=\"notify\"} 0.1"));
    assert_null (strstr (text, "cpec_requests_total"));
    free (text);
    cpec_metrics_destroy (&metrics);
}

#define S_THREADS    8
#define S_PER_THREAD 5000

static void *
s_observer (void *arg)
{
    cpec_metrics_t *metrics = (cpec_metrics_t *)arg;
    for (int index = 0; index < S_PER_THREAD; index++) {
        cpec_metrics_observe (metrics, index % 2 ? "A" : "B", index % 3 ? CPEC_OK : CPEC_INTERNAL,
                              0.001);
        cpec_metrics_count (metrics, "cpec_ticks_total", "Ticks.", 1);
    }
    return NULL;
}

static void
test_threads (void **state)
{
    (void)state;
    cpec_metrics_t *metrics = cpec_metrics_new ("registry");
    pthread_t threads[S_THREADS];
    for (int id = 0; id < S_THREADS; id++)
        assert_int_equal (pthread_create (&threads[id], NULL, s_observer, metrics), 0);
    for (int round = 0; round < 20; round++)
        free (cpec_metrics_render (metrics)); //  renders while others record
    for (int id = 0; id < S_THREADS; id++)
        pthread_join (threads[id], NULL);
    char *text = cpec_metrics_render (metrics);
    double total = s_bucket (text, "A", "+Inf") + s_bucket (text, "B", "+Inf");
    assert_true (total == S_THREADS * S_PER_THREAD);
    double errors =
        s_sample (text, "cpec_request_errors_total{service=\"registry\",method=\"A\"}") +
        s_sample (text, "cpec_request_errors_total{service=\"registry\",method=\"B\"}");
    assert_true (errors == S_THREADS * ((S_PER_THREAD + 2) / 3));
    assert_true (cpec_metrics_value (metrics, "cpec_ticks_total") == S_THREADS * S_PER_THREAD);
    free (text);
    cpec_metrics_destroy (&metrics);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_observe),
        cmocka_unit_test (test_escaping),
        cmocka_unit_test (test_counters_and_gauges),
        cmocka_unit_test (test_threads),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
