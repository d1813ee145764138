/*  The RPC path in one process: broker (as an actor), a worker serving the
    Registry descriptor with test handlers (in its own thread), and clients.
    Covers routing, status propagation, no-replica deadlines, queue bounds,
    oversized and malformed messages, and a worker surviving a broker restart.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "broker.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_client.h"
#include "cpec_mdp.h"
#include "cpec_pb.h"
#include "cpec_worker.h"

#define ENDPOINT  "tcp://127.0.0.1:17941"
#define BUS_IN    "tcp://127.0.0.1:17942"
#define BUS_OUT   "tcp://127.0.0.1:17943"
#define HEARTBEAT 100

static int
s_get_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    (void)state;
    const Cpec__V1__GetSezRequest *request = (const Cpec__V1__GetSezRequest *)input;
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)output;
    if (streq (request->id, "missing"))
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "zone %s not found", request->id);
    if (strncmp (request->id, "slow", 4) == 0)
        zclock_sleep (30);
    if (streq (request->id, "huge-reply")) {
        sez->name = (char *)zmalloc (10001); //  larger than the worker's 4096
        memset (sez->name, 'n', 10000);
        sez->id = cpec_strdup (request->id);
        return CPEC_OK;
    }
    if (strncmp (request->id, "packed", 6) == 0) {
        //  Answered already packed: the worker sends these bytes, not `output`.
        Cpec__V1__Sez packed = CPEC__V1__SEZ__INIT;
        packed.id = request->id;
        packed.name = streq (request->id, "packed-huge") ? (char *)zmalloc (10001) : "as stored";
        if (streq (request->id, "packed-huge"))
            memset (packed.name, 'p', 10000);
        call->packed_output = cpec_pb_pack (&packed.base, &call->packed_size);
        if (streq (request->id, "packed-huge"))
            free (packed.name);
        sez->name = cpec_strdup ("not sent");
        if (streq (request->id, "packed-error")) //  an error frees what was handed over
            return cpec_status_set (call->status, CPEC_FAILED_PRECONDITION, "refused");
        return CPEC_OK;
    }
    sez->id = cpec_strdup (request->id);
    sez->name = cpec_strdup (call->principal->subject);
    return CPEC_OK;
}

static const cpec_method_t s_methods[] = {{"GetSez", s_get_sez}, {NULL, NULL}};

//  A worker in its own thread until "$TERM".
static void
s_worker_actor (zsock_t *pipe, void *args)
{
    cpec_worker_t *worker =
        cpec_worker_new ((const char *)args, &cpec__v1__registry__descriptor, s_methods, NULL);
    cpec_worker_set_heartbeat (worker, HEARTBEAT);
    cpec_worker_set_max_message (worker, 4096);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    while (!zpoller_wait (poller, 0)) {
        if (cpec_worker_poll (worker, 10) < 0)
            break;
    }
    zpoller_destroy (&poller);
    cpec_worker_stop (worker, 200); //  answers what it had taken
    cpec_worker_destroy (&worker);
}

static cpec_metrics_t *s_metrics;
static cpec_broker_options_t s_options = {
    .endpoint = ENDPOINT,
    .bus_in = BUS_IN,
    .bus_out = BUS_OUT,
    .heartbeat_ms = HEARTBEAT,
    .queue_max = 3,
    .queue_bytes_max = 64 * 1024 * 1024,
    .max_message = 64 * 1024,
};

static int
s_call (cpec_client_t *client, const char *id, Cpec__V1__Sez **sez, cpec_status_t *status)
{
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = (char *)id;
    return cpec_client_call (client, &cpec__v1__registry__descriptor, "GetSez", NULL, &request.base,
                             (ProtobufCMessage **)sez, 3000, status);
}

//  Waits until the broker has `count` registry replicas.
static void
s_wait_replicas (zactor_t *broker, size_t count)
{
    (void)broker;
    cpec_client_t *client = cpec_client_new (ENDPOINT);
    Cpec__V1__Sez *sez = NULL;
    cpec_status_t status;
    int rc = s_call (client, "ping", &sez, &status);
    assert_int_equal (rc, count ? CPEC_OK : CPEC_UNAVAILABLE);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    cpec_client_destroy (&client);
}

static void
test_round_trip_and_status (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    zactor_t *worker = zactor_new (s_worker_actor, ENDPOINT);
    cpec_client_t *client = cpec_client_new (ENDPOINT);
    cpec_client_set_principal (client, "officer-1", CPEC__V1__PRINCIPAL__ROLE__VIEWER, "");

    Cpec__V1__Sez *sez = NULL;
    cpec_status_t status;
    assert_int_equal (s_call (client, "rashakai", &sez, &status), CPEC_OK);
    assert_string_equal (sez->id, "rashakai");
    assert_string_equal (sez->name, "officer-1"); //  the principal reached the handler
    cpec_pb_destroy ((ProtobufCMessage **)&sez);

    assert_int_equal (s_call (client, "missing", &sez, &status), CPEC_NOT_FOUND);
    assert_string_equal (status.message, "zone missing not found");
    assert_null (sez);

    //  A method the service does not implement.
    Cpec__V1__ListSezsRequest list = CPEC__V1__LIST_SEZS_REQUEST__INIT;
    ProtobufCMessage *out = NULL;
    assert_int_equal (cpec_client_call (client, &cpec__v1__registry__descriptor, "ListSezs", NULL,
                                        &list.base, &out, 3000, &status),
                      CPEC_UNIMPLEMENTED);
    //  No body at all is a valid empty message.
    assert_int_equal (
        cpec_client_send (client, "registry", "GetSez", "empty-body", NULL, cpec_now_ms () + 3000),
        0);
    Cpec__V1__Reply *reply = cpec_client_recv (client, 3000);
    assert_non_null (reply);
    assert_string_equal (reply->request_id, "empty-body");
    assert_int_equal (reply->code, CPEC_OK); //  an empty body is a valid empty message
    cpec_pb_destroy ((ProtobufCMessage **)&reply);

    //  A handler may answer with bytes it already holds packed.
    assert_int_equal (s_call (client, "packed", &sez, &status), CPEC_OK);
    assert_string_equal (sez->id, "packed");
    assert_string_equal (sez->name, "as stored");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    assert_int_equal (s_call (client, "packed-error", &sez, &status), CPEC_FAILED_PRECONDITION);
    assert_null (sez);
    assert_int_equal (s_call (client, "packed-huge", &sez, &status), CPEC_RESOURCE_EXHAUSTED);
    assert_non_null (strstr (status.message, "reply of"));
    assert_null (sez);

    //  A reply larger than the limit is refused by its own worker.
    assert_int_equal (s_call (client, "huge-reply", &sez, &status), CPEC_RESOURCE_EXHAUSTED);
    assert_non_null (strstr (status.message, "reply of"));
    assert_null (sez);
    //  Larger than the worker's limit (4096) but within the broker's (64 KiB).
    char *big = (char *)zmalloc (8000);
    memset (big, 'a', 7999);
    assert_int_equal (s_call (client, big, &sez, &status), CPEC_RESOURCE_EXHAUSTED);
    free (big);
    //  Larger than the broker's limit.
    big = (char *)zmalloc (70000);
    memset (big, 'b', 69999);
    assert_int_equal (s_call (client, big, &sez, &status), CPEC_RESOURCE_EXHAUSTED);
    assert_non_null (strstr (status.message, "broker"));
    free (big);

    cpec_client_destroy (&client);
    zactor_destroy (&worker);
    zactor_destroy (&broker);
}

static void
test_no_replica_waits_then_unavailable (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    cpec_client_t *client = cpec_client_new (ENDPOINT);
    int64_t start = cpec_clock_ms ();
    assert_int_equal (cpec_client_send (client, "nobody", "Get", "r1", NULL, cpec_now_ms () + 400),
                      0);
    Cpec__V1__Reply *reply = cpec_client_recv (client, 3000);
    assert_non_null (reply);
    assert_int_equal (reply->code, CPEC_UNAVAILABLE);
    assert_string_equal (reply->request_id, "r1");
    //  It waited for a replica until the deadline rather than failing at once.
    assert_true (cpec_clock_ms () - start >= 350);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);

    //  A replica that arrives before the deadline gets the waiting request.
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = (char *)"late";
    assert_int_equal (
        cpec_client_send (client, "registry", "GetSez", "r2", &request.base, cpec_now_ms () + 3000),
        0);
    zclock_sleep (200);
    zactor_t *worker = zactor_new (s_worker_actor, ENDPOINT);
    reply = cpec_client_recv (client, 3000);
    assert_non_null (reply);
    assert_int_equal (reply->code, CPEC_OK);
    assert_string_equal (reply->request_id, "r2");
    cpec_pb_destroy ((ProtobufCMessage **)&reply);

    cpec_client_destroy (&client);
    zactor_destroy (&worker);
    zactor_destroy (&broker);
}

static void
test_queue_is_bounded (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    cpec_client_t *client = cpec_client_new (ENDPOINT);
    //  queue_max is 3: the fourth waiting request is refused at once.
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf (id, sizeof (id), "q%d", i);
        assert_int_equal (
            cpec_client_send (client, "nobody", "Get", id, NULL, cpec_now_ms () + 2000), 0);
    }
    Cpec__V1__Reply *reply = cpec_client_recv (client, 1000);
    assert_non_null (reply);
    assert_string_equal (reply->request_id, "q3");
    assert_int_equal (reply->code, CPEC_RESOURCE_EXHAUSTED);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    cpec_client_destroy (&client);
    zactor_destroy (&broker);

    //  Bytes are bounded too, across services: two 40 KB requests fit in
    //  100 KB, the third does not.
    cpec_broker_options_t options = s_options;
    options.queue_bytes_max = 100 * 1000;
    broker = zactor_new (cpec_broker_actor, &options);
    client = cpec_client_new (ENDPOINT);
    char *big = (char *)zmalloc (40001);
    memset (big, 'x', 40000);
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = big;
    const char *names[3] = {"nobody-a", "nobody-b", "nobody-c"};
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf (id, sizeof (id), "b%d", i);
        assert_int_equal (
            cpec_client_send (client, names[i], "Get", id, &request.base, cpec_now_ms () + 2000),
            0);
    }
    reply = cpec_client_recv (client, 1000);
    assert_non_null (reply);
    assert_string_equal (reply->request_id, "b2");
    assert_int_equal (reply->code, CPEC_RESOURCE_EXHAUSTED);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    free (big);
    cpec_client_destroy (&client);
    zactor_destroy (&broker);
}

static void
test_malformed_frames_are_dropped (void **state)
{
    (void)state;
    s_metrics = cpec_metrics_new ("broker");
    cpec_broker_options_t options = s_options;
    options.metrics = s_metrics;
    zactor_t *broker = zactor_new (cpec_broker_actor, &options);
    zactor_t *worker = zactor_new (s_worker_actor, ENDPOINT);

    zsock_t *raw = zsock_new_dealer (ENDPOINT);
    zstr_send (raw, "junk");                                            //  unknown header
    zstr_sendx (raw, CPEC_MDP_CLIENT, "not a protobuf \xff\xff", NULL); //  bad envelope
    zstr_send (raw, CPEC_MDP_CLIENT);                                   //  no body
    zstr_sendx (raw, CPEC_MDP_CLIENT, "a", "b", "c", NULL);             //  too many frames
    zstr_sendx (raw, CPEC_MDP_WORKER, "\x09", NULL);                    //  unknown command
    zstr_sendx (raw, CPEC_MDP_WORKER, CPEC_MDP_READY, NULL);            //  READY without service
    zsock_send (raw, "b", NULL, 0);                                     //  empty frame
    zclock_sleep (300);

    //  The broker is still up and routing.
    cpec_client_t *client = cpec_client_new (ENDPOINT);
    Cpec__V1__Sez *sez = NULL;
    cpec_status_t status;
    assert_int_equal (s_call (client, "still-up", &sez, &status), CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    //  The stranger sending worker commands was told to disconnect; every
    //  other bad message was dropped and counted.
    assert_true (cpec_metrics_value (s_metrics, "cpec_broker_malformed_total") >= 6);

    cpec_client_destroy (&client);
    zsock_destroy (&raw);
    zactor_destroy (&worker);
    zactor_destroy (&broker);
    cpec_metrics_destroy (&s_metrics);
}

static void
test_worker_rejects_malformed_requests (void **state)
{
    (void)state;
    //  A fake broker, to talk to the worker frame by frame.
    const char *endpoint = "tcp://127.0.0.1:17944";
    zsock_t *router = zsock_new_router (endpoint);
    assert_non_null (router);
    zactor_t *worker = zactor_new (s_worker_actor, (void *)endpoint);
    zmsg_t *ready = zmsg_recv (router);
    assert_int_equal (zmsg_size (ready), 5);
    zframe_t *identity = zmsg_pop (ready);
    char *header = zmsg_popstr (ready);
    char *command = zmsg_popstr (ready);
    char *service = zmsg_popstr (ready);
    assert_string_equal (header, CPEC_MDP_WORKER);
    assert_string_equal (command, CPEC_MDP_READY);
    assert_string_equal (service, "registry");
    char *window = zmsg_popstr (ready);
    assert_string_equal (window, "8"); //  the default window
    zstr_free (&window);
    zstr_free (&header);
    zstr_free (&command);
    zstr_free (&service);
    zmsg_destroy (&ready);

    //  Garbage where the Request should be: answered INVALID_ARGUMENT.
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (identity)});
    zmsg_addstr (msg, CPEC_MDP_WORKER);
    zmsg_addstr (msg, CPEC_MDP_REQUEST);
    zmsg_addstr (msg, "client-1");
    zmsg_addmem (msg, "\xff\xff\xff\xff", 4);
    zmsg_send (&msg, router);
    //  A command the worker does not know: ignored.
    zsock_send (router, "fss", identity, CPEC_MDP_WORKER, "\x0e");

    Cpec__V1__Reply *reply = NULL;
    while (!reply) {
        zmsg_t *in = zmsg_recv (router);
        assert_non_null (in);
        zframe_destroy (&(zframe_t *){zmsg_pop (in)});
        char *h = zmsg_popstr (in);
        char *c = zmsg_popstr (in);
        if (streq (c, CPEC_MDP_REPLY)) {
            char *client = zmsg_popstr (in);
            assert_string_equal (client, "client-1");
            zstr_free (&client);
            zframe_t *body = zmsg_pop (in);
            reply = (Cpec__V1__Reply *)cpec_pb_unpack (&cpec__v1__reply__descriptor,
                                                       zframe_data (body), zframe_size (body));
            zframe_destroy (&body);
        }
        zstr_free (&h);
        zstr_free (&c);
        zmsg_destroy (&in);
    }
    assert_int_equal (reply->code, CPEC_INVALID_ARGUMENT);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    zframe_destroy (&identity);
    zactor_destroy (&worker);
    zsock_destroy (&router);
}

static void
test_worker_survives_broker_restart (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    zactor_t *worker = zactor_new (s_worker_actor, ENDPOINT);
    s_wait_replicas (broker, 1);
    zactor_destroy (&broker);
    zclock_sleep (100);
    broker = zactor_new (cpec_broker_actor, &s_options);
    //  The worker notices the silence (3 heartbeats) and registers again;
    //  the client's call waits for it.
    s_wait_replicas (broker, 1);
    zactor_destroy (&worker);
    zactor_destroy (&broker);
}

//  A worker told to stop answers every request it had already taken: none is
//  left for the client to retry.
static void
test_stop_answers_what_was_taken (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    zactor_t *worker = zactor_new (s_worker_actor, ENDPOINT);
    s_wait_replicas (broker, 1);
    cpec_client_t *client = cpec_client_new (ENDPOINT);
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = (char *)"slow";
    //  Six requests, 30 ms each, all within the worker's window of 8.
    for (int i = 0; i < 6; i++) {
        char id[16];
        snprintf (id, sizeof (id), "s%d", i);
        assert_int_equal (cpec_client_send (client, "registry", "GetSez", id, &request.base,
                                            cpec_now_ms () + 5000),
                          0);
    }
    //  The first answer means the worker holds the others (the broker handed
    //  all six on as they came, within the window); stop it now.
    Cpec__V1__Reply *reply = cpec_client_recv (client, 5000);
    assert_non_null (reply);
    assert_int_equal (reply->code, CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    int answered = 1;
    zactor_destroy (&worker);
    while ((reply = cpec_client_recv (client, 1000))) {
        assert_int_equal (reply->code, CPEC_OK);
        answered++;
        cpec_pb_destroy ((ProtobufCMessage **)&reply);
    }
    assert_int_equal (answered, 6);
    cpec_client_destroy (&client);
    zactor_destroy (&broker);
}

//  Requests for hundreds of made-up services, waiting as long as they may,
//  cannot keep a real replica from registering and serving.
static void
test_made_up_services_do_not_lock_out_replicas (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    cpec_client_t *flood = cpec_client_new (ENDPOINT);
    for (int i = 0; i < 400; i++) {
        char name[32];
        snprintf (name, sizeof (name), "bogus-%d", i);
        assert_int_equal (
            cpec_client_send (flood, name, "Get", name, NULL, cpec_now_ms () + 3600 * 1000), 0);
    }
    //  Past the clients' share: refused at once, not held.
    Cpec__V1__Reply *reply = cpec_client_recv (flood, 2000);
    assert_non_null (reply);
    assert_int_equal (reply->code, CPEC_UNAVAILABLE);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    zactor_t *worker = zactor_new (s_worker_actor, ENDPOINT);
    s_wait_replicas (broker, 1);
    zactor_destroy (&worker);
    cpec_client_destroy (&flood);
    zactor_destroy (&broker);
}

//  A REPLY from a peer that never registered (nor recently left) is not
//  passed on to the client it names.
static void
test_stranger_cannot_answer_for_a_replica (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    zsock_t *victim = zsock_new (ZMQ_DEALER);
    zsock_set_identity (victim, "victim");
    zsock_connect (victim, ENDPOINT);
    //  The victim is known to the broker once it has sent something.
    Cpec__V1__Request request = CPEC__V1__REQUEST__INIT;
    request.request_id = (char *)"v1";
    request.service = (char *)"nobody";
    request.method = (char *)"Get";
    request.deadline_unix_ms = cpec_now_ms () + 300;
    size_t size;
    uint8_t *packed = cpec_pb_pack (&request.base, &size);
    zsock_send (victim, "sb", CPEC_MDP_CLIENT, packed, size);
    free (packed);
    zclock_sleep (100);
    zframe_t *forged = cpec_mdp_error_frame ("v1", CPEC_OK, "forged");
    zsock_t *stranger = zsock_new_dealer (ENDPOINT);
    zsock_send (stranger, "sssf", CPEC_MDP_WORKER, CPEC_MDP_REPLY, "victim", forged);
    zframe_destroy (&forged);
    //  What the victim gets is the broker's own verdict at the deadline.
    zsock_set_rcvtimeo (victim, 2000);
    zmsg_t *msg = zmsg_recv (victim);
    assert_non_null (msg);
    zframe_t *body = zmsg_last (msg);
    Cpec__V1__Reply *reply = (Cpec__V1__Reply *)cpec_pb_unpack (
        &cpec__v1__reply__descriptor, zframe_data (body), zframe_size (body));
    assert_non_null (reply);
    assert_int_equal (reply->code, CPEC_UNAVAILABLE);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    zmsg_destroy (&msg);
    zsock_destroy (&stranger);
    zsock_destroy (&victim);
    zactor_destroy (&broker);
}

int
main (void)
{
    zsys_init ();
    zsys_set_logstream (NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_round_trip_and_status),
        cmocka_unit_test (test_no_replica_waits_then_unavailable),
        cmocka_unit_test (test_queue_is_bounded),
        cmocka_unit_test (test_malformed_frames_are_dropped),
        cmocka_unit_test (test_worker_rejects_malformed_requests),
        cmocka_unit_test (test_worker_survives_broker_restart),
        cmocka_unit_test (test_stop_answers_what_was_taken),
        cmocka_unit_test (test_made_up_services_do_not_lock_out_replicas),
        cmocka_unit_test (test_stranger_cannot_answer_for_a_replica),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
