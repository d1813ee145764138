/*  bench_echo - the raw ceiling: a ZeroMQ DEALER -> ROUTER echo over TCP on
    loopback between two threads, no protobuf, no broker, no Redis. Measured
    sequentially (one request at a time) and with N requests in flight.

    Usage: bench_echo PORT REQUESTS INFLIGHT
    Prints "echo-seq RPS P50_US P99_US" and "echo-inflight RPS P50_US P99_US".
*/
#include <czmq.h>

#include "bench.h"

static void
s_echo_server (zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new_router ((const char *)args);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which != router)
            break;
        zmsg_t *msg = zmsg_recv (router);
        zmsg_send (&msg, router);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

int
main (int argc, char *argv[])
{
    if (argc != 4) {
        fprintf (stderr, "usage: bench_echo PORT REQUESTS INFLIGHT\n");
        return 2;
    }
    char endpoint[64];
    snprintf (endpoint, sizeof (endpoint), "tcp://127.0.0.1:%s", argv[1]);
    size_t requests = (size_t)atol (argv[2]);
    size_t inflight = (size_t)atol (argv[3]);
    zactor_t *server = zactor_new (s_echo_server, endpoint);
    zsock_t *dealer = zsock_new_dealer (endpoint);
    int64_t *samples = (int64_t *)calloc (requests, sizeof (int64_t));
    char payload[64] = "GetSez rashakai"; //  about the size of a small request

    //  Warm up the connection.
    for (int i = 0; i < 1000; i++) {
        zsock_send (dealer, "b", payload, sizeof (payload));
        zframe_t *f = zframe_recv (dealer);
        zframe_destroy (&f);
    }
    int64_t start = bench_now_us ();
    for (size_t i = 0; i < requests; i++) {
        int64_t t = bench_now_us ();
        zsock_send (dealer, "b", payload, sizeof (payload));
        zframe_t *f = zframe_recv (dealer);
        zframe_destroy (&f);
        samples[i] = bench_now_us () - t;
    }
    bench_report ("echo-seq", samples, requests, bench_now_us () - start);

    //  In flight: each request carries its send time; keep `inflight` outstanding.
    start = bench_now_us ();
    size_t sent = 0, received = 0;
    while (received < requests) {
        while (sent < requests && sent - received < inflight) {
            int64_t t = bench_now_us ();
            zsock_send (dealer, "b", &t, sizeof (t));
            sent++;
        }
        zframe_t *f = zframe_recv (dealer);
        if (!f)
            break;
        int64_t t;
        memcpy (&t, zframe_data (f), sizeof (t));
        zframe_destroy (&f);
        samples[received++] = bench_now_us () - t;
    }
    bench_report ("echo-inflight", samples, received, bench_now_us () - start);
    free (samples);
    zsock_destroy (&dealer);
    zactor_destroy (&server);
    return 0;
}
