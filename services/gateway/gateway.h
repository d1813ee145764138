/*  gateway - cpec-gateway's private header: the HTTP/JSON edge of the
    platform. Read this first.

    The gateway is a client of the broker: each HTTP request becomes one call
    of a service method, its JSON mapped to and from protobuf through the
    descriptors (common/cpec_json.c: proto field names, enums by name, int64
    as strings). Routes live in one table (gw_routes in gw_server.c): method,
    path pattern ("/v1/sezs/{id}"), the service and method called. A GET
    builds the method's input from the path's parameters and the query
    string (an unknown parameter is INVALID_ARGUMENT naming it).

    Errors are JSON {"error": {"code", "message", "request_id"}} with the
    HTTP status of the canonical code (cpec_code_http); X-Request-Id is
    echoed (or made), and is the request id of the call; ETag is the
    answer's version where it has one.

    Every /v1 route needs "Authorization: Bearer <token>" (common/cpec_token.h:
    issued by `cpecctl token create`, kept as hashes in Redis): the call goes
    as the token's principal (role, province, enterprise), so the services'
    own permission checks apply; without a valid token, 401; past the
    token's rate, 429.

    Writes: a POST's JSON body fills the route's `body` field of the input
    (or is the input); a PATCH is a JSON merge patch (gw_patch.h) of the
    entity the route's `get` method reads, sent as the service's Update with
    update_mask and expected_version, behind If-Match; an Idempotency-Key
    keeps a POST's first answer for its retries. Every write is recorded in
    the audit chain (gw_audit.h). The gateway's own routes (service NULL):
    the event log and its Server-Sent Events (gw_events.c), the audit, the
    CSV import of milestones (gw_csv.h, gw_import.c). The dashboard (www/)
    is embedded and served at /.
*/
#ifndef GATEWAY_H_INCLUDED
#define GATEWAY_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

#include "cpec_config.h"
#include "cpec_metrics.h"

typedef struct _gw_server_t gw_server_t;

//  CPEC_HTTP_ADDR, CPEC_HTTP_TIMEOUT_MS, CPEC_HTTP_BODY_MAX, CPEC_HTTP_RATE,
//  CPEC_HTTP_BURST
extern const cpec_config_var_t gw_config_vars[];

//  What one server allows.
typedef struct
{
    int timeout_ms;       //  the deadline of the service call behind a request
    size_t body_max;      //  the largest request body, in bytes
    double rate;          //  requests per second per token (0: no limit)
    double burst;         //  requests a token may make at once
    size_t cache_entries; //  tokens and registry answers kept (gw_cache.h; 0: none)
} gw_limits_t;

//  Serves HTTP on address ("host:port") for the broker at broker, checking
//  bearer tokens in the Redis at redis_url; metrics borrowed. NULL when the
//  address is invalid or taken.
gw_server_t *gw_server_new (const char *address, const char *broker, const char *redis_url,
                            const gw_limits_t *limits, cpec_metrics_t *metrics);

//  Stops serving (answers in flight finish first); idempotent.
void gw_server_destroy (gw_server_t **self_p);

//  One route of the table, for tests and the OpenAPI check.
typedef struct
{
    const char *method;                        //  "GET"
    const char *pattern;                       //  "/v1/sezs/{id}"
    const ProtobufCServiceDescriptor *service; //  called through the broker;
                                               //  NULL: the gateway's own
    const char *call;                          //  the proto method, "GetSez"; of the gateway's own:
                      //  "events", "events/stream", "audit", "import/milestones"
    const char *body; //  POST, PATCH: the input's field the JSON body fills
                      //  ("sez"); "*": the body is the input
    const char *get;  //  the method reading the entity of the path ("GetSez"):
                      //  PATCH merges into it; writes audit its version
    bool created;     //  a POST that makes something: 201
} gw_route_t;

//  The routes served, terminated by {NULL}.
extern const gw_route_t gw_routes[];

//  The OpenAPI 3 document of the API (services/gateway/openapi.json, kept in
//  the repo and embedded), served at /openapi.json.
extern const char gw_openapi[];

//  Matches path against pattern; on a match fills up to max (name, value)
//  pairs of its {parameters} (values point into buf, a copy of path) and
//  returns their number; -1 when it does not match.
int gw_route_match (const char *pattern, const char *path, char *buf, size_t size,
                    const char **names, const char **values, int max);

#endif
