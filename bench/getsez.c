/*  bench_getsez - GetSez round trips through the broker and the registry
    replicas of a running stack (CPEC_BROKER), sequentially and with N
    requests in flight, using the client library's send/recv.

    Usage: bench_getsez ZONE REQUESTS INFLIGHT
    Prints "getsez-seq RPS P50_US P99_US" and "getsez-inflight RPS P50_US P99_US".
    Exits 1 if any request fails.
*/
#include <czmq.h>

#include "bench.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_client.h"
#include "cpec_pb.h"

int
main (int argc, char *argv[])
{
    if (argc != 4) {
        fprintf (stderr, "usage: bench_getsez ZONE REQUESTS INFLIGHT\n");
        return 2;
    }
    const char *endpoint = getenv ("CPEC_BROKER");
    size_t requests = (size_t)atol (argv[2]);
    size_t inflight = (size_t)atol (argv[3]);
    cpec_client_t *client = cpec_client_new (endpoint ? endpoint : "tcp://127.0.0.1:17100");
    if (!client)
        return 1;
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = argv[1];
    int64_t *samples = (int64_t *)calloc (requests, sizeof (int64_t));
    int64_t *sent_at = (int64_t *)calloc (requests, sizeof (int64_t));
    size_t failures = 0;

    //  Warm up, and check the zone is there.
    for (int i = 0; i < 200; i++) {
        ProtobufCMessage *out = NULL;
        cpec_status_t status;
        if (cpec_client_call (client, &cpec__v1__registry__descriptor, "GetSez", NULL,
                              &request.base, &out, 5000, &status) != CPEC_OK) {
            fprintf (stderr, "GetSez %s: %s: %s\n", argv[1], cpec_code_name (status.code),
                     status.message);
            return 1;
        }
        cpec_pb_destroy (&out);
    }
    const char *seq_env = getenv ("CPEC_BENCH_SEQ_REQUESTS");
    size_t seq_requests = seq_env ? (size_t)atol (seq_env) : requests;
    if (seq_requests > requests)
        seq_requests = requests;
    int64_t start = bench_now_us ();
    for (size_t i = 0; i < seq_requests; i++) {
        int64_t t = bench_now_us ();
        ProtobufCMessage *out = NULL;
        if (cpec_client_call (client, &cpec__v1__registry__descriptor, "GetSez", NULL,
                              &request.base, &out, 5000, NULL) != CPEC_OK)
            failures++;
        cpec_pb_destroy (&out);
        samples[i] = bench_now_us () - t;
    }
    bench_report ("getsez-seq", samples, seq_requests, bench_now_us () - start);

    //  In flight: request ids are indexes, to find each send time.
    start = bench_now_us ();
    size_t sent = 0, received = 0;
    int64_t deadline = cpec_now_ms () + 60000;
    while (received < requests) {
        while (sent < requests && sent - received < inflight) {
            char id[24];
            snprintf (id, sizeof (id), "%zu", sent);
            sent_at[sent] = bench_now_us ();
            cpec_client_send (client, "registry", "GetSez", id, &request.base, deadline);
            sent++;
        }
        Cpec__V1__Reply *reply = cpec_client_recv (client, 10000);
        if (!reply) {
            fprintf (stderr, "no reply within 10 s\n");
            return 1;
        }
        size_t index = (size_t)atol (reply->request_id);
        if (reply->code != CPEC__V1__STATUS__CODE__OK || index >= requests)
            failures++;
        else
            samples[received] = bench_now_us () - sent_at[index];
        received++;
        cpec_pb_destroy ((ProtobufCMessage **)&reply);
    }
    bench_report ("getsez-inflight", samples, received, bench_now_us () - start);
    if (failures)
        fprintf (stderr, "%zu requests failed\n", failures);
    free (samples);
    free (sent_at);
    cpec_client_destroy (&client);
    return failures ? 1 : 0;
}
