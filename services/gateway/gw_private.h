/*  gw_private - what the gateway's own files share: one request as it is
    handled, its answer, and the calls of the HTTP server that the event
    routes (gw_events.c) and the CSV import (gw_import.c) use.
*/
#ifndef GW_PRIVATE_H_INCLUDED
#define GW_PRIVATE_H_INCLUDED

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec/v1/events.pb-c.h"
#include "cpec_client.h"
#include "cpec_status.h"
#include "cpec_store.h"
#include "gateway.h"

#define GW_PARAMS_MAX     8
#define GW_REQUEST_ID_MAX 64

//  An answer being built: status, body (malloc'd, JSON unless type says),
//  entity tag and Location where there are.
typedef struct
{
    unsigned int status;
    char *body;
    const char *type; //  NULL: application/json
    char etag[32];
    char location[300];
    char allow[64]; //  a 405's Allow
} gw_answer_t;

//  One request, from its headers to its answer.
typedef struct
{
    gw_server_t *server;
    struct MHD_Connection *connection;
    const gw_route_t *route; //  NULL: not a /v1 route
    const char *method;
    char url[1024];
    char request_id[GW_REQUEST_ID_MAX + 1];
    char params_buf[2048];
    const char *names[GW_PARAMS_MAX];
    const char *values[GW_PARAMS_MAX];
    int count;
    char *body; //  the request's body, NUL-terminated
    size_t size;
    size_t capacity;
    bool too_big;             //  more than the limit came (chunked)
    bool refused;             //  answered before its body was read
    Cpec__V1__Principal *who; //  after authentication
    char token_id[17];        //  the token's id, after authentication
    char idem_key[100];       //  the Idempotency-Key's Redis key, when this request owns one
    char *idem_claim;         //  and the claim it holds there
    int code;                 //  the outcome, for metrics and logs
} gw_request_t;

//  Sets answer to the JSON error {"error": {code, message, request_id}} with
//  the code's HTTP status; returns code.
int gw_answer_error (gw_answer_t *answer, const gw_request_t *request, int code, const char *format,
                     ...) __attribute__ ((format (printf, 4, 5)));

//  Makes text valid UTF-8: each byte that starts no valid character becomes
//  '?' (common/cpec_check.h decides what is valid).
void gw_utf8_clean (char *text);

//  The deadline of a service call.
int gw_timeout_ms (gw_server_t *self);

//  Keeps this request's claim on its Idempotency-Key alive (a long import).
void gw_idem_touch (gw_request_t *request);

//  Sets answer to status with a JSON body (taken); returns CPEC_OK.
int gw_answer_json (gw_answer_t *answer, unsigned int status, json_t *body);

//  This connection thread's client of the broker, set to call as the
//  request's principal; NULL when the broker cannot be reached.
cpec_client_t *gw_client (gw_request_t *request);

//  This connection thread's connection to Redis; NULL when unconfigured.
cpec_store_t *gw_store (gw_server_t *self);

//  The Redis URL and whether the server is stopping (streams end).
const char *gw_redis_url (gw_server_t *self);
bool gw_stopping (gw_server_t *self);

//  The request's query arguments as a JSON object of strings; the first
//  name not in allowed (NULL-terminated) goes to *unknown (malloc'd).
json_t *gw_query (gw_request_t *request, const char *const *allowed, char **unknown);

//  The query of the gateway's own paged routes (/v1/events, /v1/audit):
//  `after` (a position, checked by the route; NULL when not given) and
//  `page_size` (1 to GW_PAGE_MAX, GW_PAGE_DEFAULT when not given); any other
//  name refused. OK with *query (holding *after: decref it after use), else
//  answered.
#define GW_PAGE_DEFAULT 100
#define GW_PAGE_MAX     1000
int gw_page_query (gw_request_t *request, gw_answer_t *answer, json_t **query, const char **after,
                   size_t *size);

//  The events routes: GET /v1/events (a page of the event log) and
//  GET /v1/events/stream (Server-Sent Events), each event filtered to what
//  the principal may see.
int gw_events_page (gw_request_t *request, gw_answer_t *answer);
enum MHD_Result gw_events_stream (gw_request_t *request);
bool gw_event_visible (const Cpec__V1__Principal *who, const Cpec__V1__Event *event);

//  POST /v1/import/milestones: the CSV body, row by row. `call_id` is the
//  request id the rows' calls derive theirs from.
int gw_import_milestones (gw_request_t *request, const char *call_id, gw_answer_t *answer);

//  Records one write in the audit chain (errors logged, not answered); the
//  strings need not be valid UTF-8.
void gw_audit_write (gw_request_t *request, const char *call, const char *target, uint32_t before,
                     uint32_t after, unsigned int http_status, int code, const char *message);

#endif
