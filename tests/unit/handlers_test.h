/*  handlers_test.h - what the in-process handler tests share: the event
    stream since a mark, the bus, and status assertions. Include after
    cmocka.h; every function is static inline, so a test that uses only some
    of them compiles without warnings.
*/
#ifndef HANDLERS_TEST_H_INCLUDED
#define HANDLERS_TEST_H_INCLUDED

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec_bus.h"
#include "cpec_pb.h"
#include "cpec_store.h"
#include "cpec_worker.h"

//  What a handler test works with: the store its handlers use, its own
//  look at Redis (on the database of the URL), and a SUB socket bound to an
//  inproc endpoint that the handlers' bus publisher connects to.
typedef struct
{
    const char *url;     //  CPEC_TEST_REDIS_URL
    cpec_store_t *store; //  the handlers' store
    redisContext *redis; //  the test's own connection
    zsock_t *sub;        //  receives what the handlers publish (200 ms timeout)
    cpec_bus_t *bus;     //  the handlers' publisher, connected to sub
} handlers_env_t;

//  Opens the environment (name tells the inproc endpoint apart); 0, or -1
//  after saying why on stderr (no Redis URL, no Redis).
static inline int
handlers_env_open (handlers_env_t *self, const char *name)
{
    const char *url = getenv ("CPEC_TEST_REDIS_URL");
    if (!url) {
        fprintf (stderr, "CPEC_TEST_REDIS_URL is not set: run through ctest\n");
        return -1;
    }
    self->url = url;
    self->store = cpec_store_new (url);
    assert_non_null (self->store);
    if (!cpec_store_ping (self->store)) {
        fprintf (stderr, "no Redis at %s\n", url);
        return -1;
    }
    char host[64] = "127.0.0.1";
    int port = 6379;
    if (sscanf (url, "redis://%63[^:]:%d", host, &port) < 1)
        return -1;
    self->redis = redisConnect (host, port);
    assert_true (self->redis && !self->redis->err);
    int db = 0;
    const char *slash = strrchr (url + strlen ("redis://"), '/');
    if (slash && sscanf (slash + 1, "%d", &db) == 1 && db) {
        redisReply *reply = redisCommand (self->redis, "SELECT %d", db);
        assert_non_null (reply);
        freeReplyObject (reply);
    }
    char endpoint[64];
    snprintf (endpoint, sizeof (endpoint), "inproc://%s-bus-%d", name, (int)getpid ());
    self->sub = zsock_new (ZMQ_SUB);
    assert_non_null (self->sub);
    zsock_set_subscribe (self->sub, "");
    zsock_set_rcvtimeo (self->sub, 200);
    assert_int_equal (zsock_bind (self->sub, "%s", endpoint), 0);
    self->bus = cpec_bus_new_pub (endpoint);
    assert_non_null (self->bus);
    zclock_sleep (100); //  let the subscription reach the publisher
    return 0;
}

static inline void
handlers_env_close (handlers_env_t *self)
{
    cpec_bus_destroy (&self->bus);
    zsock_destroy (&self->sub);
    if (self->redis)
        redisFree (self->redis);
    cpec_store_destroy (&self->store);
    *self = (handlers_env_t){0};
}

//  The id of the newest entry of the event stream ("0-0" when empty),
//  malloc'd: events after it are new.
//  A raw command's reply, which must not be an error (the caller frees it).
static inline redisReply *
handlers_redis (redisContext *redis, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = (redisReply *)redisvCommand (redis, format, args);
    va_end (args);
    assert_non_null (reply);
    if (reply->type == REDIS_REPLY_ERROR)
        fail_msg ("redis %s: %s", format, reply->str);
    return reply;
}

static inline char *
handlers_stream_mark (redisContext *redis)
{
    redisReply *reply = redisCommand (redis, "XREVRANGE %s + - COUNT 1", CPEC_STORE_EVENTS_KEY);
    assert_non_null (reply);
    char *mark = cpec_strdup ("0-0");
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
        free (mark);
        mark = cpec_strdup (reply->element[0]->element[0]->str);
    }
    freeReplyObject (reply);
    return mark;
}

//  Says whether an event is one the caller looks for.
typedef bool (handlers_match_fn) (const Cpec__V1__Event *event, const char *what);

//  The events appended since mark that match `what`, as "Type" strings joined
//  by spaces into buf; *events_p (may be NULL) gets them (destroy with
//  cpec_store_events_destroy).
static inline const char *
handlers_events_since (cpec_store_t *store, const char *mark, handlers_match_fn *match,
                       const char *what, char *buf, size_t size, Cpec__V1__Event ***events_p)
{
    Cpec__V1__Event **events = NULL;
    char **ids = NULL;
    cpec_status_t status;
    assert_int_equal (cpec_store_read_events (store, mark, 100000, 0, &events, &ids, &status),
                      CPEC_OK);
    cpec_store_strings_destroy (&ids);
    buf[0] = '\0';
    size_t kept = 0;
    for (size_t i = 0; events[i]; i++)
        if (match (events[i], what)) {
            size_t used = strlen (buf);
            int wrote =
                snprintf (buf + used, size - used, "%s%s", used ? " " : "", events[i]->type);
            assert_true (wrote >= 0 && (size_t)wrote < size - used);
            events[kept++] = events[i];
        } else
            cpec_pb_destroy ((ProtobufCMessage **)&events[i]);
    events[kept] = NULL;
    if (events_p)
        *events_p = events;
    else
        cpec_store_events_destroy (&events);
    return buf;
}

//  Topics received on the bus (sub, with a receive timeout) for zone, joined
//  by spaces, until nothing more comes.
static inline const char *
handlers_bus_topics (zsock_t *sub, const char *zone, char *buf, size_t size)
{
    buf[0] = '\0';
    zmsg_t *msg;
    while ((msg = zmsg_recv (sub))) {
        char *topic = zmsg_popstr (msg);
        zframe_t *body = zmsg_pop (msg);
        Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_unpack (
            &cpec__v1__event__descriptor, zframe_data (body), zframe_size (body));
        assert_non_null (event);
        if (strcmp (event->zone_id, zone) == 0) {
            size_t used = strlen (buf);
            int wrote = snprintf (buf + used, size - used, "%s%s", used ? " " : "", topic);
            assert_true (wrote >= 0 && (size_t)wrote < size - used);
        }
        cpec_pb_destroy ((ProtobufCMessage **)&event);
        zframe_destroy (&body);
        free (topic);
        zmsg_destroy (&msg);
    }
    return buf;
}

static inline bool
handlers_starts_with (const char *string, const char *prefix)
{
    return strncmp (string, prefix, strlen (prefix)) == 0;
}

//  The call answered want_code with a message starting with want_prefix.
#define assert_status(rc, status, want_code, want_prefix)                                          \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != (want_code) || !handlers_starts_with ((status)->message, (want_prefix)))        \
            fail_msg ("wanted %s \"%s...\", got %s \"%s\"", cpec_code_name (want_code),            \
                      (want_prefix), cpec_code_name (rc_), (status)->message);                     \
    } while (0)

//  Runs handler on input as the worker would (call filled by the test):
//  the output is made of output_descriptor, or decoded from the bytes the
//  handler answered packed. The code; on OK *output (may be NULL) gets the
//  answer, the caller's to destroy.
static inline int
handlers_run (cpec_handler_fn *handler, void *state, cpec_call_t *call,
              const ProtobufCMessage *input, const ProtobufCMessageDescriptor *output_descriptor,
              ProtobufCMessage **output)
{
    ProtobufCMessage *out = cpec_pb_new (output_descriptor);
    int rc = handler (state, call, input, out);
    if (call->packed_output) {
        //  Answered packed: what the worker would send is these bytes.
        cpec_pb_destroy (&out);
        if (rc == CPEC_OK)
            out = cpec_pb_unpack (output_descriptor, call->packed_output, call->packed_size);
        free (call->packed_output);
        call->packed_output = NULL;
        if (rc == CPEC_OK)
            assert_non_null (out);
    }
    if (rc == CPEC_OK && output)
        *output = out;
    else
        cpec_pb_destroy (&out);
    return rc;
}

//  Who calls, for handlers_call.
typedef struct
{
    int role;               //  principal role
    const char *subject;    //  principal subject ("" when NULL)
    const char *province;   //  principal province ("" when NULL)
    const char *request;    //  request id; NULL: a fresh one
    const char *enterprise; //  principal enterprise id ("" when NULL)
} handlers_caller_t;

//  Calls handler (on state) for method as the worker would, from caller,
//  with a deadline 5 s ahead: handlers_run. status (may be NULL) gets the
//  message.
static inline int
handlers_call (cpec_handler_fn *handler, void *state, const char *method, handlers_caller_t caller,
               const ProtobufCMessage *input, const ProtobufCMessageDescriptor *output_descriptor,
               ProtobufCMessage **output, cpec_status_t *status)
{
    cpec_status_t local;
    if (!status)
        status = &local;
    cpec_status_clear (status);
    Cpec__V1__Principal principal = CPEC__V1__PRINCIPAL__INIT;
    principal.subject = (char *)(caller.subject ? caller.subject : "");
    principal.role = (Cpec__V1__Principal__Role)caller.role;
    principal.province = (char *)(caller.province ? caller.province : "");
    principal.enterprise_id = (char *)(caller.enterprise ? caller.enterprise : "");
    char uuid[37];
    cpec_uuid (uuid);
    cpec_call_t call = {.request_id = caller.request ? caller.request : uuid,
                        .principal = &principal,
                        .deadline_unix_ms = cpec_now_ms () + 5000,
                        .method = method,
                        .status = status};
    return handlers_run (handler, state, &call, input, output_descriptor, output);
}

#endif
