/*  bench_echo - the raw ceiling: a ZeroMQ DEALER -> ROUTER echo over TCP on
    loopback between two threads, no protobuf, no broker, no Redis. Measured
    sequentially (one request at a time) and with N requests in flight.

    The same again through a ZeroMQ proxy (ROUTER/DEALER, zmq_proxy) to two
    echo threads: the hop count of a request through the broker to one of two
    replicas, with nothing else done, so the platform's figures can be read
    against the topology's own ceiling.

    Usage: bench_echo PORT REQUESTS INFLIGHT   (uses PORT, PORT+1 and PORT+2)
    Prints "echo-seq", "echo-inflight", "proxy-seq" and "proxy-inflight" lines:
    NAME RPS P50_US P99_US.
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

//  A ROUTER/DEALER proxy in front of echo threads (args: two endpoints).
static void
s_proxy (zsock_t *pipe, void *args)
{
    char **endpoints = (char **)args;
    zactor_t *proxy = zactor_new (zproxy, NULL);
    zstr_sendx (proxy, "FRONTEND", "ROUTER", endpoints[0], NULL);
    zsock_wait (proxy);
    zstr_sendx (proxy, "BACKEND", "DEALER", endpoints[1], NULL);
    zsock_wait (proxy);
    zsock_signal (pipe, 0);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
    zactor_destroy (&proxy);
}

//  An echo behind the proxy: a ROUTER that sends every message back whole.
static void
s_backend_echo (zsock_t *pipe, void *args)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_connect (router, "%s", (const char *)args);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    while (zpoller_wait (poller, -1) == router) {
        zmsg_t *msg = zmsg_recv (router);
        zmsg_send (&msg, router);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

//  Sequential then in-flight round trips on dealer; two report lines.
static void
s_measure (zsock_t *dealer, const char *name, size_t requests, size_t inflight, int64_t *samples)
{
    char payload[64] = "GetSez rashakai"; //  about the size of a small request
    for (int i = 0; i < 1000; i++) {      //  warm up
        zsock_send (dealer, "b", payload, sizeof (payload));
        zframe_t *f = zframe_recv (dealer);
        zframe_destroy (&f);
    }
    char label[64];
    int64_t start = bench_now_us ();
    for (size_t i = 0; i < requests; i++) {
        int64_t t = bench_now_us ();
        zsock_send (dealer, "b", payload, sizeof (payload));
        zframe_t *f = zframe_recv (dealer);
        zframe_destroy (&f);
        samples[i] = bench_now_us () - t;
    }
    snprintf (label, sizeof (label), "%s-seq", name);
    bench_report (label, samples, requests, bench_now_us () - start);

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
    snprintf (label, sizeof (label), "%s-inflight", name);
    bench_report (label, samples, received, bench_now_us () - start);
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
    s_measure (dealer, "echo", requests, inflight, samples);

    int port = atoi (argv[1]);
    char front[64], back[64];
    snprintf (front, sizeof (front), "tcp://127.0.0.1:%d", port + 1);
    snprintf (back, sizeof (back), "tcp://127.0.0.1:%d", port + 2);
    char *endpoints[2] = {front, back};
    zactor_t *proxy = zactor_new (s_proxy, endpoints);
    zactor_t *echo1 = zactor_new (s_backend_echo, back);
    zactor_t *echo2 = zactor_new (s_backend_echo, back);
    zsock_t *client = zsock_new_dealer (front);
    zclock_sleep (200); //  both echo threads connected
    s_measure (client, "proxy", requests, inflight, samples);
    zsock_destroy (&client);
    zactor_destroy (&echo1);
    zactor_destroy (&echo2);
    zactor_destroy (&proxy);
    free (samples);
    zsock_destroy (&dealer);
    zactor_destroy (&server);
    return 0;
}
