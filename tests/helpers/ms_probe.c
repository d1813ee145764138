/*  ms_probe - drives the Milestones service of a running stack (CPEC_BROKER,
    CPEC_REDIS_URL) for tests/integration/test_milestones.sh.

    ms_probe create PREFIX COUNT ZONE DUE
        creates milestones PREFIX-0 .. PREFIX-(COUNT-1) in ZONE, milestone i
        planned due at DUE (RFC 3339) + i ms (so COUNT <= 1000 fall in one
        second), 64 requests in flight; request id "msprobe-PREFIX-i", so a
        retry writes nothing twice. Prints "created COUNT"; exit 1 at the
        first failure. With CPEC_PROBE_PAUSE_MS set: one at a time, a pause
        between calls, each acknowledged id printed as it comes (a stream
        that lasts long enough to be interrupted).
    ms_probe call METHOD JSON
        one call of Milestones.METHOD (Notify.METHOD or Matchmaking.METHOD
        when METHOD is written so) with the input given as JSON (proto
        field names, e.g. '{"id": "x", "expected_version": 3, ...}'); prints
        the output as one JSON line, or "CODE: message" on stderr and exit 1.
    ms_probe events [TYPE]
        every event of the stream cpec:events (Redis, CPEC_REDIS_URL), one
        compact JSON line each, oldest first, only those of TYPE if given.

    The principal is an administrator ("ms-probe"). Timeout per call:
    CPEC_TIMEOUT_MS (default 20000).
*/
#include <czmq.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec/v1/notify.pb-c.h"
#include "cpec_client.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "probe.h"
#include "cpec_store.h"

#define S_INFLIGHT 64

static int s_timeout = 20000;
static int s_pause = 0;

//  The Create request of milestone i.
static void
s_fill (const char *prefix, int i, const char *zone, int64_t due, char *id, size_t id_size,
        char *rid, size_t rid_size, char *title, size_t title_size,
        Google__Protobuf__Timestamp *planned, Cpec__V1__Milestone *milestone,
        Cpec__V1__CreateMilestoneRequest *request)
{
    snprintf (id, id_size, "%s-%d", prefix, i);
    snprintf (rid, rid_size, "msprobe-%s", id);
    snprintf (title, title_size, "Probe milestone %d", i);
    int64_t at = due + i;
    planned->seconds = at / 1000;
    planned->nanos = (int32_t)(at % 1000) * 1000000;
    milestone->id = id;
    milestone->zone_id = (char *)zone;
    milestone->title = title;
    milestone->agency = (char *)"PROBE";
    milestone->planned_due = planned;
    request->milestone = milestone;
}

//  One Create with retries (Lazy Pirate, idempotent by request id).
static int
s_create_one (cpec_client_t *client, const char *prefix, int i, const char *zone, int64_t due)
{
    char id[128], rid[160], title[64];
    Google__Protobuf__Timestamp planned = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    Cpec__V1__Milestone milestone = CPEC__V1__MILESTONE__INIT;
    Cpec__V1__CreateMilestoneRequest request = CPEC__V1__CREATE_MILESTONE_REQUEST__INIT;
    s_fill (prefix, i, zone, due, id, sizeof (id), rid, sizeof (rid), title, sizeof (title),
            &planned, &milestone, &request);
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    int rc = cpec_client_call (client, &cpec__v1__milestones__descriptor, "Create", rid,
                               &request.base, &out, s_timeout, &status);
    cpec_pb_destroy (&out);
    if (rc != CPEC_OK)
        fprintf (stderr, "Create %s: %s: %s\n", id, cpec_code_name (rc), status.message);
    return rc;
}

static int
s_create (const char *prefix, int count, const char *zone, const char *due_text)
{
    int64_t due = 0;
    if (count < 0 || cpec_json_parse_time (due_text, &due)) {
        fprintf (stderr, "create: bad COUNT or DUE\n");
        return 2;
    }
    cpec_client_t *client = probe_client ("ms-probe");
    bool *done = (bool *)calloc ((size_t)count + 1, sizeof (bool));
    assert (client && done);
    if (s_pause) {
        int rc = CPEC_OK;
        for (int i = 0; i < count && rc == CPEC_OK; i++) {
            rc = s_create_one (client, prefix, i, zone, due);
            if (rc == CPEC_OK) {
                printf ("%s-%d\n", prefix, i);
                fflush (stdout);
                zclock_sleep (s_pause);
            }
        }
        free (done);
        cpec_client_destroy (&client);
        return rc == CPEC_OK ? 0 : 1;
    }
    //  Pipelined: up to S_INFLIGHT requests out; whatever does not come back
    //  OK is sent again below, one at a time with retries.
    int sent = 0, received = 0, failures = 0;
    int64_t deadline = cpec_now_ms () + s_timeout;
    while (received < sent || sent < count) {
        while (sent < count && sent - received < S_INFLIGHT) {
            char id[128], rid[160], title[64];
            Google__Protobuf__Timestamp planned = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
            Cpec__V1__Milestone milestone = CPEC__V1__MILESTONE__INIT;
            Cpec__V1__CreateMilestoneRequest request = CPEC__V1__CREATE_MILESTONE_REQUEST__INIT;
            s_fill (prefix, sent, zone, due, id, sizeof (id), rid, sizeof (rid), title,
                    sizeof (title), &planned, &milestone, &request);
            if (cpec_client_send (client, "milestones", "Create", rid, &request.base, deadline))
                break;
            sent++;
        }
        Cpec__V1__Reply *reply = cpec_client_recv (client, 5000);
        if (!reply)
            break; //  the rest go one at a time
        received++;
        const char *dash = reply->request_id ? strrchr (reply->request_id, '-') : NULL;
        int index = dash ? atoi (dash + 1) : -1;
        if ((int)reply->code == CPEC_OK && index >= 0 && index < count)
            done[index] = true;
        cpec_pb_destroy ((ProtobufCMessage **)&reply);
    }
    for (int i = 0; i < count; i++)
        if (!done[i] && s_create_one (client, prefix, i, zone, due) != CPEC_OK) {
            failures++;
            break;
        }
    free (done);
    cpec_client_destroy (&client);
    if (failures)
        return 1;
    printf ("created %d\n", count);
    return 0;
}

static int
s_call (const char *method, const char *json)
{
    //  "Notify.Update", "Matchmaking.TopMatches": a method of another service
    const ProtobufCServiceDescriptor *service = &cpec__v1__milestones__descriptor;
    if (strncmp (method, "Notify.", 7) == 0) {
        service = &cpec__v1__notify__descriptor;
        method += 7;
    } else if (strncmp (method, "Matchmaking.", 12) == 0) {
        service = &cpec__v1__matchmaking__descriptor;
        method += 12;
    }
    const ProtobufCMethodDescriptor *found = NULL;
    for (unsigned i = 0; i < service->n_methods; i++)
        if (streq (service->methods[i].name, method))
            found = &service->methods[i];
    if (!found) {
        fprintf (stderr, "call: no method %s\n", method);
        return 2;
    }
    char error[256] = "";
    ProtobufCMessage *input =
        cpec_json_decode (found->input, json, strlen (json), error, sizeof (error));
    if (!input) {
        fprintf (stderr, "call: bad JSON input: %s\n", error);
        return 2;
    }
    cpec_client_t *client = probe_client ("ms-probe");
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    int rc = cpec_client_call (client, service, method, NULL, input, &out, s_timeout, &status);
    if (rc == CPEC_OK) {
        char *text = cpec_json_encode (out, CPEC_JSON_DEFAULTS);
        printf ("%s\n", text ? text : "");
        free (text);
    } else
        fprintf (stderr, "%s: %s\n", cpec_code_name (rc), status.message);
    cpec_pb_destroy (&out);
    cpec_pb_destroy (&input);
    cpec_client_destroy (&client);
    return rc == CPEC_OK ? 0 : 1;
}

static int
s_events (const char *type)
{
    const char *url = getenv ("CPEC_REDIS_URL");
    cpec_store_t *store = cpec_store_new (url ? url : "redis://127.0.0.1:17103/0");
    if (!store) {
        fprintf (stderr, "events: bad CPEC_REDIS_URL\n");
        return 2;
    }
    char after[64] = "0-0";
    int rc = CPEC_OK;
    while (rc == CPEC_OK) {
        Cpec__V1__Event **events = NULL;
        char **ids = NULL;
        cpec_status_t status;
        rc = cpec_store_read_events (store, after, 1000, 0, &events, &ids, &status);
        if (rc != CPEC_OK) {
            fprintf (stderr, "events: %s: %s\n", cpec_code_name (rc), status.message);
            break;
        }
        size_t n = 0;
        for (; events && ids && events[n]; n++) {
            if (!type || streq (type, events[n]->type ? events[n]->type : "")) {
                char *text = cpec_json_encode (&events[n]->base, CPEC_JSON_DEFAULTS);
                printf ("%s\n", text ? text : "{}");
                free (text);
            }
            snprintf (after, sizeof (after), "%s", ids[n]);
        }
        cpec_store_events_destroy (&events);
        cpec_store_strings_destroy (&ids);
        if (n == 0)
            break;
    }
    cpec_store_destroy (&store);
    return rc == CPEC_OK ? 0 : 1;
}

int
main (int argc, char *argv[])
{
    zsys_init ();
    probe_settings (&s_timeout, &s_pause);
    if (argc == 6 && streq (argv[1], "create"))
        return s_create (argv[2], atoi (argv[3]), argv[4], argv[5]);
    if (argc == 4 && streq (argv[1], "call"))
        return s_call (argv[2], argv[3]);
    if ((argc == 2 || argc == 3) && streq (argv[1], "events"))
        return s_events (argc == 3 ? argv[2] : NULL);
    fprintf (stderr, "usage: ms_probe create PREFIX COUNT ZONE DUE | call METHOD JSON | "
                     "events [TYPE]\n");
    return 2;
}
