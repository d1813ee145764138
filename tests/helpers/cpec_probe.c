/*  cpec_probe - drives a running stack (CPEC_BROKER) for integration tests.

    cpec_probe create PREFIX COUNT   creates zones PREFIX-0 .. PREFIX-(COUNT-1)
                                     (request id "probe-PREFIX-i": retries are
                                     idempotent); prints each acknowledged id;
                                     exit 1 at the first failure.
    cpec_probe get ZONE COUNT        COUNT GetSez calls; exit 1 if any fails.
    cpec_probe verify PREFIX COUNT   every zone PREFIX-i exists; exit 1 if not.
    cpec_probe wire                  malformed and oversized messages to the
                                     broker and, through it, to a worker;
                                     checks each answer; exit 1 on a surprise.

    The principal is an administrator. Timeout per call: CPEC_TIMEOUT_MS
    (default 20000). CPEC_PROBE_PAUSE_MS paces create and get (a pause between
    calls), so that a stream lasts long enough to be interrupted.
*/
#include <czmq.h>

#include "cpec/v1/registry.pb-c.h"
#include "cpec_client.h"
#include "cpec_mdp.h"
#include "cpec_pb.h"
#include "probe.h"

static int s_timeout = 20000;
static int s_pause = 0;

static int
s_create (const char *prefix, int count)
{
    cpec_client_t *client = probe_client ("probe");
    for (int i = 0; i < count; i++) {
        char id[64], rid[96], name[64];
        snprintf (id, sizeof (id), "%s-%d", prefix, i);
        snprintf (rid, sizeof (rid), "probe-%s", id);
        snprintf (name, sizeof (name), "Probe zone %d", i);
        Cpec__V1__Sez sez = CPEC__V1__SEZ__INIT;
        sez.id = id;
        sez.name = name;
        sez.province = (char *)"PK-PB";
        sez.status = CPEC__V1__SEZ__STATUS__PROPOSED;
        Cpec__V1__CreateSezRequest request = CPEC__V1__CREATE_SEZ_REQUEST__INIT;
        request.sez = &sez;
        ProtobufCMessage *out = NULL;
        cpec_status_t status;
        int rc = cpec_client_call (client, &cpec__v1__registry__descriptor, "CreateSez", rid,
                                   &request.base, &out, s_timeout, &status);
        cpec_pb_destroy (&out);
        if (rc != CPEC_OK) {
            fprintf (stderr, "CreateSez %s: %s: %s\n", id, cpec_code_name (rc), status.message);
            cpec_client_destroy (&client);
            return 1;
        }
        printf ("%s\n", id);
        fflush (stdout);
        if (s_pause)
            zclock_sleep (s_pause);
    }
    cpec_client_destroy (&client);
    return 0;
}

static int
s_get (cpec_client_t *client, const char *id, cpec_status_t *status)
{
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = (char *)id;
    ProtobufCMessage *out = NULL;
    int rc = cpec_client_call (client, &cpec__v1__registry__descriptor, "GetSez", NULL,
                               &request.base, &out, s_timeout, status);
    if (rc == CPEC_OK && strcmp (((Cpec__V1__Sez *)out)->id, id) != 0)
        rc = cpec_status_set (status, CPEC_INTERNAL, "asked for %s, got %s", id,
                              ((Cpec__V1__Sez *)out)->id);
    cpec_pb_destroy (&out);
    return rc;
}

static int
s_gets (const char *zone, int count)
{
    cpec_client_t *client = probe_client ("probe");
    int failures = 0;
    for (int i = 0; i < count; i++) {
        cpec_status_t status;
        if (s_get (client, zone, &status) != CPEC_OK) {
            fprintf (stderr, "GetSez %s: %s: %s\n", zone, cpec_code_name (status.code),
                     status.message);
            failures++;
        }
        if (s_pause)
            zclock_sleep (s_pause);
    }
    cpec_client_destroy (&client);
    printf ("%d of %d succeeded\n", count - failures, count);
    return failures ? 1 : 0;
}

static int
s_verify (const char *prefix, int count)
{
    cpec_client_t *client = probe_client ("probe");
    int missing = 0;
    for (int i = 0; i < count; i++) {
        char id[64];
        snprintf (id, sizeof (id), "%s-%d", prefix, i);
        cpec_status_t status;
        if (s_get (client, id, &status) != CPEC_OK) {
            fprintf (stderr, "%s: %s: %s\n", id, cpec_code_name (status.code), status.message);
            missing++;
        }
    }
    cpec_client_destroy (&client);
    return missing ? 1 : 0;
}

//  Sends a raw Request with the given body; returns the reply code or -1.
static int
s_raw (zsock_t *sock, const char *method, const void *body, size_t size, char *message,
       size_t message_size)
{
    Cpec__V1__Request request = CPEC__V1__REQUEST__INIT;
    request.request_id = (char *)"raw";
    request.deadline_unix_ms = cpec_now_ms () + 5000;
    request.service = (char *)"registry";
    request.method = (char *)method;
    request.body.data = (uint8_t *)body;
    request.body.len = size;
    size_t packed_size = cpec__v1__request__get_packed_size (&request);
    uint8_t *packed = (uint8_t *)malloc (packed_size);
    cpec__v1__request__pack (&request, packed);
    zsock_send (sock, "sb", CPEC_MDP_CLIENT, packed, packed_size);
    free (packed);
    zsock_set_rcvtimeo (sock, 10000);
    zmsg_t *msg = zmsg_recv (sock);
    if (!msg)
        return -1;
    zframe_t *body_frame = zmsg_last (msg);
    Cpec__V1__Reply *reply = (Cpec__V1__Reply *)cpec_pb_unpack (
        &cpec__v1__reply__descriptor, zframe_data (body_frame), zframe_size (body_frame));
    zmsg_destroy (&msg);
    if (!reply)
        return -1;
    int code = (int)reply->code;
    snprintf (message, message_size, "%s", reply->message);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    return code;
}

static int
s_expect (const char *what, int got, int want, const char *message)
{
    printf ("%-58s %s (%s)\n", what, got < 0 ? "no reply" : cpec_code_name (got), message);
    if (got != want) {
        fprintf (stderr, "%s: expected %s\n", what, cpec_code_name (want));
        return 1;
    }
    return 0;
}

static int
s_wire (void)
{
    const char *endpoint = getenv ("CPEC_BROKER");
    endpoint = endpoint ? endpoint : "tcp://127.0.0.1:17100";
    int failures = 0;
    char message[512] = "";

    //  1. Garbage straight at the broker's ROUTER: dropped, no answer.
    zsock_t *raw = zsock_new_dealer (endpoint);
    zstr_send (raw, "junk");
    zstr_sendx (raw, CPEC_MDP_CLIENT, "\xff\xfe not protobuf", NULL);
    zstr_sendx (raw, CPEC_MDP_CLIENT, "a", "b", NULL);
    zstr_sendx (raw, CPEC_MDP_WORKER, "\x07", NULL);
    zstr_sendx (raw, CPEC_MDP_WORKER, CPEC_MDP_REPLY, "nobody", "x", NULL);
    zsock_send (raw, "b", NULL, 0);
    zsock_set_linger (raw, 2000); //  deliver them before closing
    zsock_destroy (&raw);
    printf ("%-58s sent\n", "6 malformed messages to the broker");

    //  2. Well-formed envelopes whose bodies a worker must refuse.
    raw = zsock_new_dealer (endpoint);
    const char garbage[] = "\x0a\xff\xff\xff\xff\x0f"; //  a truncated field
    failures +=
        s_expect ("GetSez with a body that does not decode",
                  s_raw (raw, "GetSez", garbage, sizeof (garbage) - 1, message, sizeof (message)),
                  CPEC_INVALID_ARGUMENT, message);
    failures += s_expect ("an unknown method",
                          s_raw (raw, "DropAllZones", NULL, 0, message, sizeof (message)),
                          CPEC_UNIMPLEMENTED, message);
    size_t big = 2 * 1024 * 1024;
    uint8_t *huge = (uint8_t *)calloc (1, big);
    failures += s_expect ("a 2 MiB body (over CPEC_MAX_MESSAGE)",
                          s_raw (raw, "GetSez", huge, big, message, sizeof (message)),
                          CPEC_RESOURCE_EXHAUSTED, message);
    zsock_destroy (&raw);

    //  3. A frame past the hard limit: the connection is dropped, nothing else.
    raw = zsock_new_dealer (endpoint);
    size_t hard = CPEC_MDP_HARD_LIMIT + 1024;
    uint8_t *giant = (uint8_t *)calloc (1, hard);
    zsock_send (raw, "sb", CPEC_MDP_CLIENT, giant, hard);
    zclock_sleep (500);
    zsock_destroy (&raw);
    free (giant);
    free (huge);
    printf ("%-58s sent\n", "a 16 MiB frame (over the hard limit)");

    //  4. The stack still answers.
    cpec_client_t *client = probe_client ("probe");
    cpec_status_t status;
    int rc = s_get (client, "rashakai", &status);
    failures += s_expect ("GetSez rashakai afterwards", rc, CPEC_OK, status.message);
    cpec_client_destroy (&client);
    return failures ? 1 : 0;
}

int
main (int argc, char *argv[])
{
    zsys_init ();
    probe_settings (&s_timeout, &s_pause);
    if (argc == 4 && streq (argv[1], "create"))
        return s_create (argv[2], atoi (argv[3]));
    if (argc == 4 && streq (argv[1], "get"))
        return s_gets (argv[2], atoi (argv[3]));
    if (argc == 4 && streq (argv[1], "verify"))
        return s_verify (argv[2], atoi (argv[3]));
    if (argc == 2 && streq (argv[1], "wire"))
        return s_wire ();
    fprintf (stderr, "usage: cpec_probe create PREFIX COUNT | get ZONE COUNT | verify PREFIX "
                     "COUNT | wire\n");
    return 2;
}
