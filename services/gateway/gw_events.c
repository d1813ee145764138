/*  gw_events - the event log over HTTP: GET /v1/events (a page after a
    position) and GET /v1/events/stream (Server-Sent Events, resumable with
    Last-Event-ID). Both read the Redis stream cpec:events, the durable
    record every service appends its events to in the same write as the
    change, so a stream resumed after a drop, or after a gateway restart,
    misses nothing and repeats nothing. Each event is shown only to whom it
    concerns: administrators, viewers and services see all; a provincial
    authority the events of its province; an enterprise those of its own
    profile and matches.
*/
#include <assert.h>
#include <errno.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec_json.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "cpec_token.h"
#include "gw_private.h"

#define S_BLOCK_MS     1000
#define S_KEEPALIVE_MS 15000
#define S_ID_MAX       64
#define S_SCAN_MAX     10000 //  entries a page reads at most, shown or not
#define S_RECHECK_MS   10000 //  how often a stream checks its token again

static bool
s_is (const char *a, const char *b)
{
    return a && b && *a && strcmp (a, b) == 0;
}

bool
gw_event_visible (const Cpec__V1__Principal *who, const Cpec__V1__Event *event)
{
    switch (who->role) {
        case CPEC__V1__PRINCIPAL__ROLE__ADMIN:
        case CPEC__V1__PRINCIPAL__ROLE__VIEWER:
        case CPEC__V1__PRINCIPAL__ROLE__SERVICE: return true;
        case CPEC__V1__PRINCIPAL__ROLE__PROVINCE: return s_is (event->province, who->province);
        case CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE: {
            const char *me = who->enterprise_id;
            switch (event->payload_case) {
                case CPEC__V1__EVENT__PAYLOAD_PROFILE_CHANGED:
                    return s_is (event->profile_changed->enterprise_id, me);
                case CPEC__V1__EVENT__PAYLOAD_MATCH_MOVED:
                    return s_is (event->match_moved->enterprise_a, me) ||
                           s_is (event->match_moved->enterprise_b, me);
                case CPEC__V1__EVENT__PAYLOAD_MATCH_EXPIRING:
                    return s_is (event->match_expiring->enterprise_a, me) ||
                           s_is (event->match_expiring->enterprise_b, me);
                case CPEC__V1__EVENT__PAYLOAD_PROFILES_IMPORTED:
                    for (size_t i = 0; i < event->profiles_imported->n_enterprise_ids; i++)
                        if (s_is (event->profiles_imported->enterprise_ids[i], me))
                            return true;
                    return false;
                default: return false;
            }
        }
        default: return false;
    }
}

//  A stream position: "MS" or "MS-SEQ", each part a 64-bit number, as
//  Redis gives them.
static bool
s_valid_id (const char *text)
{
    size_t length = strlen (text);
    if (length == 0 || length >= S_ID_MAX)
        return false;
    const char *p = text;
    for (int part = 0; part < 2; part++) {
        size_t digits = strspn (p, "0123456789");
        if (digits == 0 || digits > 20)
            return false;
        errno = 0;
        strtoull (p, NULL, 10);
        if (errno == ERANGE)
            return false;
        p += digits;
        if (*p == '\0')
            return true;
        if (*p != '-' || part == 1)
            return false;
        p++;
    }
    return false;
}

int
gw_events_page (gw_request_t *request, gw_answer_t *answer)
{
    json_t *query = NULL;
    const char *given = NULL;
    size_t size = 0;
    int rc = gw_page_query (request, answer, &query, &given, &size);
    if (rc != CPEC_OK)
        return rc;
    char after[S_ID_MAX];
    snprintf (after, sizeof (after), "%s", given ? given : "0-0");
    bool bad_after = given && !s_valid_id (given);
    json_decref (query);
    if (bad_after)
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                                "after: a position of the event log, as given in "
                                "next_after or an event's log_id");
    cpec_store_t *store = gw_store (request->server);
    if (!store)
        return gw_answer_error (answer, request, CPEC_UNAVAILABLE, "Redis is not configured");
    json_t *events = json_array ();
    bool end_reached = false;
    size_t scanned = 0; //  a filtered caller's page stops here, its next_after says where
    while (json_array_size (events) < size && !end_reached && scanned < S_SCAN_MAX) {
        Cpec__V1__Event **read = NULL;
        char **ids = NULL;
        cpec_status_t status;
        size_t want = size - json_array_size (events);
        rc = cpec_store_read_events (store, after, want, 0, &read, &ids, &status);
        if (rc != CPEC_OK) {
            json_decref (events);
            return gw_answer_error (answer, request, rc, "%s", status.message);
        }
        size_t count = 0;
        for (; read && read[count]; count++, scanned++) {
            snprintf (after, sizeof (after), "%s", ids[count]);
            if (gw_event_visible (request->who, read[count]))
                json_array_append_new (events,
                                       json_pack ("{s:s, s:o}", "log_id", ids[count], "event",
                                                  cpec_json_from_message (&read[count]->base, 0)));
        }
        end_reached = count < want;
        cpec_store_events_destroy (&read);
        cpec_store_strings_destroy (&ids);
    }
    return gw_answer_json (answer, 200,
                           json_pack ("{s:o, s:s}", "events", events, "next_after", after));
}

//  --------------------------------------------------------------------------
//  Server-Sent Events

typedef struct
{
    gw_server_t *server;
    cpec_store_t *store; //  its own: XREAD blocks
    Cpec__V1__Principal *who;
    char request_id[GW_REQUEST_ID_MAX + 1];
    char last[S_ID_MAX]; //  the position read up to
    char *text;          //  what is ready to send
    size_t size, offset, capacity;
    int64_t sent_at;
    char *token; //  checked again now and then: a revoked token's stream ends
    int64_t checked_at;
} s_stream_t;

static void
s_append (s_stream_t *self, const char *text, size_t size)
{
    if (self->size + size > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 4096;
        while (capacity < self->size + size)
            capacity *= 2;
        char *grown = (char *)realloc (self->text, capacity);
        assert (grown);
        self->text = grown;
        self->capacity = capacity;
    }
    memcpy (self->text + self->size, text, size);
    self->size += size;
}

static void
s_append_event (s_stream_t *self, const char *id, const Cpec__V1__Event *event)
{
    char *json = cpec_json_encode (&event->base, 0);
    char head[256];
    int length = snprintf (head, sizeof (head), "id: %s\nevent: %.100s\ndata: ", id,
                           event->type ? event->type : "");
    if (length < 0 || (size_t)length >= sizeof (head))
        length = (int)strlen (head);
    s_append (self, head, (size_t)length);
    s_append (self, json, strlen (json));
    s_append (self, "\n\n", 2);
    free (json);
}

static ssize_t
s_stream_read (void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    s_stream_t *self = (s_stream_t *)cls;
    while (self->offset == self->size) {
        self->offset = self->size = 0;
        if (gw_stopping (self->server))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (cpec_clock_ms () - self->checked_at >= S_RECHECK_MS) {
            Cpec__V1__Principal *who = NULL;
            cpec_status_t status;
            int rc = cpec_token_check (self->store, self->token, &who, &status);
            cpec_pb_destroy ((ProtobufCMessage **)&who);
            self->checked_at = cpec_clock_ms ();
            if (rc == CPEC_UNAUTHENTICATED) {
                cpec_log_info (self->request_id, "event stream ended: its token was revoked");
                return MHD_CONTENT_READER_END_OF_STREAM;
            }
        }
        Cpec__V1__Event **events = NULL;
        char **ids = NULL;
        cpec_status_t status;
        int rc = cpec_store_read_events (self->store, self->last, 100, S_BLOCK_MS, &events, &ids,
                                         &status);
        if (rc == CPEC_UNAVAILABLE) {
            cpec_log_warn (self->request_id, "event stream: %s", status.message);
            zclock_sleep (S_BLOCK_MS); //  Redis away: the client waits, then resumes
        } else if (rc != CPEC_OK) {
            cpec_log_warn (self->request_id, "event stream ended: %s", status.message);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        for (size_t i = 0; rc == CPEC_OK && events && events[i]; i++) {
            snprintf (self->last, sizeof (self->last), "%s", ids[i]);
            if (gw_event_visible (self->who, events[i]))
                s_append_event (self, ids[i], events[i]);
        }
        cpec_store_events_destroy (&events);
        cpec_store_strings_destroy (&ids);
        int64_t now = cpec_clock_ms ();
        if (self->size == 0 && now - self->sent_at >= S_KEEPALIVE_MS)
            s_append (self, ": keepalive\n\n", 13);
        if (self->size)
            self->sent_at = now;
    }
    size_t n = self->size - self->offset < max ? self->size - self->offset : max;
    memcpy (buf, self->text + self->offset, n);
    self->offset += n;
    return (ssize_t)n;
}

static void
s_stream_free (void *cls)
{
    s_stream_t *self = (s_stream_t *)cls;
    cpec_store_destroy (&self->store);
    cpec_pb_destroy ((ProtobufCMessage **)&self->who);
    if (self->token) {
        memset (self->token, 0, strlen (self->token));
        free (self->token);
    }
    free (self->text);
    free (self);
}

//  The stream's end now: the last entry's id, "0-0" when none.
static int
s_stream_end (cpec_store_t *store, char id[S_ID_MAX], cpec_status_t *status)
{
    const char *argv[] = {"XREVRANGE", CPEC_STORE_EVENTS_KEY, "+", "-", "COUNT", "1"};
    redisReply *reply = cpec_store_command (store, 6, argv, NULL, status);
    if (!reply)
        return status->code;
    snprintf (id, S_ID_MAX, "0-0");
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
        reply->element[0]->type == REDIS_REPLY_ARRAY && reply->element[0]->elements >= 1)
        snprintf (id, S_ID_MAX, "%s", reply->element[0]->element[0]->str);
    freeReplyObject (reply);
    return CPEC_OK;
}

enum MHD_Result
gw_events_stream (gw_request_t *request)
{
    gw_answer_t answer = {0, NULL, NULL, "", "", ""};
    static const char *const allowed[] = {"after", NULL};
    char *unknown = NULL;
    json_t *query = gw_query (request, allowed, &unknown);
    const char *resume =
        MHD_lookup_connection_value (request->connection, MHD_HEADER_KIND, "Last-Event-ID");
    const char *after = json_string_value (json_object_get (query, "after"));
    const char *from = resume ? resume : after;
    s_stream_t *self = NULL;
    if (unknown)
        gw_answer_error (&answer, request, CPEC_INVALID_ARGUMENT,
                         "%.100s: not a parameter of /v1/events/stream", unknown);
    else if (from && !s_valid_id (from))
        gw_answer_error (&answer, request, CPEC_INVALID_ARGUMENT,
                         "%s: a position of the event log, an event's id: field",
                         resume ? "Last-Event-ID" : "after");
    else {
        self = (s_stream_t *)calloc (1, sizeof (s_stream_t));
        assert (self);
        self->server = request->server;
        self->store = cpec_store_new (gw_redis_url (request->server));
        self->sent_at = self->checked_at = cpec_clock_ms ();
        const char *header = MHD_lookup_connection_value (request->connection, MHD_HEADER_KIND,
                                                          MHD_HTTP_HEADER_AUTHORIZATION);
        header = header && strlen (header) > 7 ? header + 7 : "";
        self->token = cpec_strdup (header + strspn (header, " "));
        snprintf (self->request_id, sizeof (self->request_id), "%s", request->request_id);
        cpec_status_t status;
        int rc = self->store ? CPEC_OK
                             : cpec_status_set (&status, CPEC_UNAVAILABLE, "Redis is unreachable");
        if (rc == CPEC_OK && from)
            snprintf (self->last, sizeof (self->last), "%s", from);
        else if (rc == CPEC_OK)
            rc = s_stream_end (self->store, self->last, &status);
        if (rc != CPEC_OK) {
            gw_answer_error (&answer, request, rc, "%s", status.message);
            s_stream_free (self);
            self = NULL;
        }
    }
    free (unknown);
    json_decref (query);
    struct MHD_Response *response = NULL;
    if (self) {
        //  the principal moves to the stream
        self->who = request->who;
        request->who = NULL;
        //  the first bytes: the client knows it is connected and how soon
        //  to come back after a drop
        char head[128];
        int length =
            snprintf (head, sizeof (head), ": events after %s\nretry: 2000\n\n", self->last);
        s_append (self, head, (size_t)length);
        response = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 16384, s_stream_read, self,
                                                      s_stream_free);
        if (!response) {
            s_stream_free (self);
            return MHD_NO;
        }
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    } else {
        char *body = answer.body ? answer.body : cpec_strdup ("");
        response = MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE);
        if (!response) {
            free (body);
            return MHD_NO;
        }
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    }
    MHD_add_response_header (response, "X-Request-Id", request->request_id);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result =
        MHD_queue_response (request->connection, self ? MHD_HTTP_OK : answer.status, response);
    MHD_destroy_response (response);
    return result;
}
