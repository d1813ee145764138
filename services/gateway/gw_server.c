/*  gw_server - the HTTP server of the gateway: libmicrohttpd, one thread per
    connection, each thread with its own client of the broker and connection
    to Redis; the route table; reads, writes (JSON bodies, merge patches,
    If-Match, Idempotency-Key), limits (body size, content type, rate);
    errors.
*/
#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <jansson.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec/v1/milestones.pb-c.h"
#include "cpec/v1/notify.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_admin.h"
#include "cpec_check.h"
#include "cpec_json.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "cpec_token.h"
#include "gw_audit.h"
#include "gw_cache.h"
#include "gw_patch.h"
#include "gw_private.h"

#define S_CONNECTIONS_MAX 1024
#define S_HTTP_TOO_LARGE  413
#define S_BUCKETS         4096 //  rate limits kept, by token (hashed)
#define S_PROBES          8
#define S_IDEM_KEY_MAX    255
#define S_IDEM_KEEP_S     86400 //  how long an answer is kept for its key

const cpec_config_var_t gw_config_vars[] = {
    CPEC_CONFIG_COMMON,
    {"CPEC_HTTP_ADDR", CPEC_CONFIG_STRING, "127.0.0.1:17104",
     "the public HTTP address host:port of the JSON API"},
    {"CPEC_HTTP_TIMEOUT_MS", CPEC_CONFIG_INT, "10000",
     "the deadline of the service call behind one HTTP request", 100, 600000},
    {"CPEC_HTTP_BODY_MAX", CPEC_CONFIG_INT, "1048576",
     "the largest request body in bytes (413 above, before it is read)", 1024, 67108864},
    {"CPEC_HTTP_RATE", CPEC_CONFIG_INT, "100",
     "requests per second one token may make on one gateway (429 above; 0: no limit)", 0, 1000000},
    {"CPEC_HTTP_BURST", CPEC_CONFIG_INT, "200", "requests one token may make at once", 1, 1000000},
    {"CPEC_HTTP_CACHE_ENTRIES", CPEC_CONFIG_INT, "4096",
     "tokens and registry answers kept in process, exact through a watch of their keys (0: none)",
     0, 1000000},
    {NULL, 0, NULL, NULL}};

#define S_REGISTRY    &cpec__v1__registry__descriptor
#define S_MILESTONES  &cpec__v1__milestones__descriptor
#define S_NOTIFY      &cpec__v1__notify__descriptor
#define S_MATCHMAKING &cpec__v1__matchmaking__descriptor

const gw_route_t gw_routes[] = {
    //  zones
    {"GET", "/v1/sezs", S_REGISTRY, "ListSezs", NULL, NULL, false},
    {"POST", "/v1/sezs", S_REGISTRY, "CreateSez", "sez", NULL, true},
    {"GET", "/v1/sezs/{id}", S_REGISTRY, "GetSez", NULL, NULL, false},
    {"PATCH", "/v1/sezs/{id}", S_REGISTRY, "UpdateSez", "sez", "GetSez", false},
    {"GET", "/v1/sezs/{zone_id}/enterprises", S_REGISTRY, "ListZoneEnterprises", NULL, NULL, false},
    {"POST", "/v1/sezs/{zone_id}/enterprises", S_REGISTRY, "AdmitEnterprise", "enterprise", NULL,
     true},
    //  milestones
    {"GET", "/v1/sezs/{zone_id}/milestones", S_MILESTONES, "List", NULL, NULL, false},
    {"GET", "/v1/sezs/{zone_id}/schedule", S_MILESTONES, "ZoneSchedule", NULL, NULL, false},
    {"POST", "/v1/milestones", S_MILESTONES, "Create", "milestone", NULL, true},
    {"GET", "/v1/milestones/{id}", S_MILESTONES, "Get", NULL, NULL, false},
    {"PATCH", "/v1/milestones/{id}", S_MILESTONES, "Update", "milestone", "Get", false},
    {"POST", "/v1/milestones/{id}/complete", S_MILESTONES, "Complete", "*", "Get", false},
    {"POST", "/v1/milestones/{id}/replan", S_MILESTONES, "Replan", "*", "Get", false},
    {"POST", "/v1/milestones/{id}/dependencies", S_MILESTONES, "AddDependency", "*", "Get", false},
    {"POST", "/v1/milestones/{id}/dependencies/remove", S_MILESTONES, "RemoveDependency", "*",
     "Get", false},
    {"GET", "/v1/portfolio", S_MILESTONES, "Portfolio", NULL, NULL, false},
    {"POST", "/v1/import/milestones", NULL, "import/milestones", NULL, NULL, false},
    //  subscriptions, deliveries, dead letters
    {"GET", "/v1/subscriptions", S_NOTIFY, "List", NULL, NULL, false},
    {"POST", "/v1/subscriptions", S_NOTIFY, "Create", "subscription", NULL, true},
    {"GET", "/v1/subscriptions/{id}", S_NOTIFY, "Get", NULL, NULL, false},
    {"PATCH", "/v1/subscriptions/{id}", S_NOTIFY, "Update", "subscription", "Get", false},
    {"DELETE", "/v1/subscriptions/{id}", S_NOTIFY, "Delete", NULL, "Get", false},
    {"POST", "/v1/subscriptions/{id}/test", S_NOTIFY, "Test", "*", "Get", false},
    {"GET", "/v1/subscriptions/{subscription_id}/deliveries", S_NOTIFY, "ListDeliveries", NULL,
     NULL, false},
    {"GET", "/v1/subscriptions/{subscription_id}/live", S_NOTIFY, "ReadLive", NULL, NULL, false},
    {"GET", "/v1/dead-letters", S_NOTIFY, "ListDeadLetters", NULL, NULL, false},
    {"POST", "/v1/dead-letters/replay", S_NOTIFY, "ReplayDeadLetters", "*", NULL, false},
    //  enterprises and matches
    {"GET", "/v1/enterprises", S_MATCHMAKING, "ListEnterprises", NULL, NULL, false},
    {"POST", "/v1/enterprises", S_MATCHMAKING, "CreateEnterprise", "enterprise", NULL, true},
    {"POST", "/v1/import/enterprises", S_MATCHMAKING, "ImportEnterprises", "*", NULL, true},
    {"GET", "/v1/enterprises/{id}", S_MATCHMAKING, "GetEnterprise", NULL, NULL, false},
    {"PATCH", "/v1/enterprises/{id}", S_MATCHMAKING, "UpdateEnterprise", "enterprise",
     "GetEnterprise", false},
    {"DELETE", "/v1/enterprises/{id}", S_MATCHMAKING, "DeleteEnterprise", NULL, "GetEnterprise",
     false},
    {"GET", "/v1/enterprises/{enterprise_id}/matches", S_MATCHMAKING, "TopMatches", NULL, NULL,
     false},
    {"GET", "/v1/enterprises/{enterprise_id}/zones", S_MATCHMAKING, "RecommendZones", NULL, NULL,
     false},
    {"GET", "/v1/matches", S_MATCHMAKING, "ListMatches", NULL, NULL, false},
    {"POST", "/v1/matches", S_MATCHMAKING, "ProposeMatch", "*", NULL, true},
    {"GET", "/v1/matches/{id}", S_MATCHMAKING, "GetMatch", NULL, NULL, false},
    {"POST", "/v1/matches/{id}/move", S_MATCHMAKING, "MoveMatch", "*", "GetMatch", false},
    {"GET", "/v1/funnel", S_MATCHMAKING, "FunnelReport", NULL, NULL, false},
    //  the gateway's own
    {"GET", "/v1/events", NULL, "events", NULL, NULL, false},
    {"GET", "/v1/events/stream", NULL, "events/stream", NULL, NULL, false},
    {"GET", "/v1/audit", NULL, "audit", NULL, NULL, false},
    {NULL, NULL, NULL, NULL, NULL, NULL, false}};

//  The dashboard's files (services/gateway/www/, embedded).
extern const char gw_www_index_html[];
extern const char gw_www_app_js[];
extern const char gw_www_style_css[];

static const struct
{
    const char *path;
    const char *type;
    const char *body;
} s_static[] = {{"/", "text/html; charset=utf-8", gw_www_index_html},
                {"/index.html", "text/html; charset=utf-8", gw_www_index_html},
                {"/app.js", "text/javascript; charset=utf-8", gw_www_app_js},
                {"/style.css", "text/css; charset=utf-8", gw_www_style_css},
                {NULL, NULL, NULL}};

//  A token bucket of one token's requests.
typedef struct
{
    char id[17]; //  the token's id ("" when unused)
    double level;
    int64_t at_ms;
} s_bucket_t;

struct _gw_server_t
{
    struct MHD_Daemon *daemon;
    char *broker;
    char *redis_url;
    gw_limits_t limits;
    cpec_metrics_t *metrics;
    gw_cache_t *cache;        //  NULL: none
    pthread_key_t client_key; //  each connection thread's client of the broker
    pthread_key_t store_key;  //  and its connection to Redis
    pthread_mutex_t buckets_lock;
    s_bucket_t buckets[S_BUCKETS];
    volatile bool stopping;
    char audit_sha[41];
    char idem_end_sha[41];
    char idem_touch_sha[41];
    pthread_mutex_t sha_lock; //  guards the scripts' hashes above
};

//  --------------------------------------------------------------------------
//  Routes

int
gw_route_match (const char *pattern, const char *path, char *buf, size_t size, const char **names,
                const char **values, int max)
{
    size_t length = strlen (path);
    if (length + 1 > size)
        return -1;
    memcpy (buf, path, length + 1);
    //  names are written after the path, NUL-terminated, in buf too
    size_t used = length + 1;
    int count = 0;
    const char *p = pattern;
    char *q = buf;
    while (*p) {
        if (*p == '{') {
            const char *close = strchr (p, '}');
            if (!close || count == max)
                return -1;
            //  a parameter: one non-empty path segment
            char *end = q;
            while (*end && *end != '/')
                end++;
            if (end == q)
                return -1;
            size_t name_length = (size_t)(close - p - 1);
            if (used + name_length + 1 > size)
                return -1;
            memcpy (buf + used, p + 1, name_length);
            buf[used + name_length] = '\0';
            names[count] = buf + used;
            values[count++] = q;
            used += name_length + 1;
            bool more = *end == '/';
            *end = '\0';
            q = more ? end + 1 : end;
            p = close + 1;
            if (more) {
                if (*p != '/')
                    return -1;
                p++;
            }
        } else {
            if (*p != *q)
                return -1;
            p++;
            q++;
        }
    }
    return *q == '\0' ? count : -1;
}

//  --------------------------------------------------------------------------
//  UTF-8

static bool
s_utf8 (const char *text)
{
    size_t length = strlen (text);
    return cpec_check_utf8_prefix (text, length) == length;
}

void
gw_utf8_clean (char *text)
{
    size_t length = strlen (text);
    size_t i = 0; //  each valid run kept, the byte that stops it '?'
    while ((i += cpec_check_utf8_prefix (text + i, length - i)) < length)
        text[i++] = '?';
}

//  --------------------------------------------------------------------------
//  Answers

static int
s_answer_errorv (gw_answer_t *answer, const char *request_id, int code, unsigned int status,
                 const char *format, va_list args)
{
    char message[512];
    vsnprintf (message, sizeof (message), format, args);
    gw_utf8_clean (message); //  a name or value the caller sent may not be UTF-8
    json_t *error = json_pack ("{s:{s:s, s:s, s:s}}", "error", "code", cpec_code_name (code),
                               "message", message, "request_id", request_id);
    free (answer->body);
    answer->body = json_dumps (error, JSON_COMPACT);
    json_decref (error);
    answer->type = NULL;
    answer->etag[0] = answer->location[0] = '\0';
    answer->status = status ? status : (unsigned int)cpec_code_http (code);
    return code;
}

int
gw_answer_error (gw_answer_t *answer, const gw_request_t *request, int code, const char *format,
                 ...)
{
    va_list args;
    va_start (args, format);
    s_answer_errorv (answer, request->request_id, code, 0, format, args);
    va_end (args);
    return code;
}

//  An error whose HTTP status is not its code's (405, 412, 413, 415, 422,
//  428, 429).
static int s_answer_status (gw_answer_t *answer, const gw_request_t *request, unsigned int status,
                            int code, const char *format, ...)
    __attribute__ ((format (printf, 5, 6)));
static int
s_answer_status (gw_answer_t *answer, const gw_request_t *request, unsigned int status, int code,
                 const char *format, ...)
{
    va_list args;
    va_start (args, format);
    s_answer_errorv (answer, request->request_id, code, status, format, args);
    va_end (args);
    return code;
}

int
gw_answer_json (gw_answer_t *answer, unsigned int status, json_t *body)
{
    free (answer->body);
    answer->body = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    answer->status = status;
    answer->type = NULL;
    return CPEC_OK;
}

//  Queues an answer (its body taken); extra headers by status: the
//  WWW-Authenticate challenge of a 401, Retry-After of a 429.
static enum MHD_Result
s_send (gw_request_t *request, gw_answer_t *answer)
{
    char *body = answer->body ? answer->body : cpec_strdup ("");
    answer->body = NULL;
    struct MHD_Response *response =
        MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE,
                             answer->type ? answer->type : "application/json");
    MHD_add_response_header (response, "X-Request-Id", request->request_id);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (answer->etag[0])
        MHD_add_response_header (response, MHD_HTTP_HEADER_ETAG, answer->etag);
    if (answer->location[0])
        MHD_add_response_header (response, MHD_HTTP_HEADER_LOCATION, answer->location);
    if (answer->status == MHD_HTTP_METHOD_NOT_ALLOWED && answer->allow[0])
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, answer->allow);
    if (answer->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 "Bearer realm=\"cpec\"");
    if (answer->status == MHD_HTTP_TOO_MANY_REQUESTS)
        MHD_add_response_header (response, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    enum MHD_Result result = MHD_queue_response (request->connection, answer->status, response);
    MHD_destroy_response (response);
    return result;
}

//  --------------------------------------------------------------------------
//  Per thread: the broker and Redis

static void
s_client_free (void *client)
{
    cpec_client_destroy ((cpec_client_t **)&client);
}

static void
s_store_free (void *store)
{
    cpec_store_destroy ((cpec_store_t **)&store);
}

cpec_store_t *
gw_store (gw_server_t *self)
{
    cpec_store_t *store = (cpec_store_t *)pthread_getspecific (self->store_key);
    if (!store && (store = cpec_store_new (self->redis_url)))
        pthread_setspecific (self->store_key, store);
    return store;
}

int
gw_timeout_ms (gw_server_t *self)
{
    return self->limits.timeout_ms;
}

const char *
gw_redis_url (gw_server_t *self)
{
    return self->redis_url;
}

bool
gw_stopping (gw_server_t *self)
{
    return self->stopping;
}

//  A script's hash as the threads share it (sha: 41 bytes, "" until
//  loaded): taken before a call, kept after (the store may have reloaded it).
static void
s_sha_take (gw_server_t *self, const char *slot, char *sha)
{
    pthread_mutex_lock (&self->sha_lock);
    memcpy (sha, slot, 41);
    pthread_mutex_unlock (&self->sha_lock);
}

static void
s_sha_keep (gw_server_t *self, char *slot, const char *sha)
{
    pthread_mutex_lock (&self->sha_lock);
    memcpy (slot, sha, 41);
    pthread_mutex_unlock (&self->sha_lock);
}

cpec_client_t *
gw_client (gw_request_t *request)
{
    gw_server_t *self = request->server;
    cpec_client_t *client = (cpec_client_t *)pthread_getspecific (self->client_key);
    if (!client) {
        client = cpec_client_new (self->broker);
        if (!client)
            return NULL;
        pthread_setspecific (self->client_key, client);
    }
    //  the call goes as the token's principal
    const Cpec__V1__Principal *who = request->who;
    cpec_client_set_principal (client, who->subject, who->role, who->province);
    cpec_client_set_enterprise (client, who->enterprise_id);
    return client;
}

//  --------------------------------------------------------------------------
//  Authentication and rate

//  The caller's principal from "Authorization: Bearer <token>" into
//  request->who: OK, or UNAUTHENTICATED, RESOURCE_EXHAUSTED (429: past the
//  token's rate), UNAVAILABLE, answered.
static int
s_authenticate (gw_request_t *request, gw_answer_t *answer)
{
    gw_server_t *self = request->server;
    const char *header = MHD_lookup_connection_value (request->connection, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_AUTHORIZATION);
    if (!header || strncasecmp (header, "Bearer ", 7) != 0)
        return gw_answer_error (answer, request, CPEC_UNAUTHENTICATED,
                                "Authorization: Bearer <token> is required");
    const char *token = header + 7;
    while (*token == ' ')
        token++;
    cpec_store_t *store = gw_store (self);
    if (!store)
        return gw_answer_error (answer, request, CPEC_UNAVAILABLE,
                                "the token store is not configured");
    //  the token's id (the first 16 hex digits of its hash): what keys the
    //  caller's rate, Idempotency-Keys and request ids
    char hash[65];
    cpec_sha256_hex (token, strlen (token), hash);
    uint64_t generation = 0;
    if (self->cache)
        request->who = gw_cache_token (self->cache, hash, &generation);
    if (!request->who) {
        cpec_status_t status;
        int rc = cpec_token_check (store, token, &request->who, &status);
        if (rc != CPEC_OK)
            return gw_answer_error (answer, request, rc, "%s", status.message);
        if (self->cache)
            gw_cache_token_put (self->cache, hash, request->who, generation);
    }
    memcpy (request->token_id, hash, 16);
    request->token_id[16] = '\0';
    if (self->limits.rate <= 0)
        return CPEC_OK;
    //  a token bucket per token, `rate` a second up to `burst`, in a table
    //  probed S_PROBES slots from the token's: a new token takes the slot
    //  least recently used
    unsigned long home = strtoul (request->token_id + 8, NULL, 16) % S_BUCKETS;
    int64_t now = cpec_clock_ms ();
    pthread_mutex_lock (&self->buckets_lock);
    s_bucket_t *bucket = NULL;
    for (unsigned long i = 0; i < S_PROBES && !bucket; i++)
        if (strcmp (self->buckets[(home + i) % S_BUCKETS].id, request->token_id) == 0)
            bucket = &self->buckets[(home + i) % S_BUCKETS];
    if (!bucket) {
        bucket = &self->buckets[home];
        for (unsigned long i = 1; i < S_PROBES; i++)
            if (self->buckets[(home + i) % S_BUCKETS].at_ms < bucket->at_ms)
                bucket = &self->buckets[(home + i) % S_BUCKETS];
        memcpy (bucket->id, request->token_id, sizeof (bucket->id));
        bucket->level = self->limits.burst;
        bucket->at_ms = now;
    }
    bucket->level = fmin (self->limits.burst, bucket->level + (double)(now - bucket->at_ms) *
                                                                  self->limits.rate / 1000.0);
    bucket->at_ms = now;
    bool allowed = bucket->level >= 1.0;
    if (allowed)
        bucket->level -= 1.0;
    pthread_mutex_unlock (&self->buckets_lock);
    if (!allowed)
        return s_answer_status (
            answer, request, MHD_HTTP_TOO_MANY_REQUESTS, CPEC_RESOURCE_EXHAUSTED,
            "more than %.0f requests a second with this token; retry later", self->limits.rate);
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  Inputs

typedef struct
{
    json_t *input;
    char *unknown;
    const ProtobufCMessageDescriptor *descriptor; //  NULL: names in allowed
    const char *const *allowed;
    const gw_request_t *request; //  its path's parameters are not query parameters
} s_query_t;

//  A JSON value for a query string value of a field: a string for a string,
//  enum or message field (times, wrappers), true or false for a bool, a
//  number for a number when the text is one; else the text as a string (the
//  mapping then names the field and its type). NULL for invalid UTF-8.
static json_t *
s_query_value (const ProtobufCFieldDescriptor *field, const char *text)
{
    if (!s_utf8 (text))
        return NULL;
    switch (field->type) {
        case PROTOBUF_C_TYPE_STRING:
        case PROTOBUF_C_TYPE_ENUM:
        case PROTOBUF_C_TYPE_MESSAGE:
        case PROTOBUF_C_TYPE_BYTES: return json_string (text);
        case PROTOBUF_C_TYPE_BOOL:
            if (strcmp (text, "true") == 0)
                return json_true ();
            if (strcmp (text, "false") == 0)
                return json_false ();
            return json_string (text);
        case PROTOBUF_C_TYPE_FLOAT:
        case PROTOBUF_C_TYPE_DOUBLE: {
            char *end = NULL;
            double value = strtod (text, &end);
            return *text && !*end ? json_real (value) : json_string (text);
        }
        default: {
            //  integers: as strings, which the mapping reads as the proto3 JSON
            //  mapping allows, and range-checks
            return json_string (text);
        }
    }
}

static enum MHD_Result
s_query_arg (void *arg, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    s_query_t *query = (s_query_t *)arg;
    const ProtobufCFieldDescriptor *field = NULL;
    bool known = false;
    if (query->descriptor)
        known = (field = protobuf_c_message_descriptor_get_field_by_name (query->descriptor, key));
    for (const char *const *name = query->allowed; name && *name && !known; name++)
        known = strcmp (*name, key) == 0;
    for (int i = 0; query->request && i < query->request->count && known; i++)
        known = strcmp (query->request->names[i], key) != 0; //  the path says it
    if (!known) {
        if (!query->unknown)
            query->unknown = cpec_strdup (key);
        return MHD_YES;
    }
    if (!field) {
        json_object_set_new (query->input, key, json_string (value ? value : ""));
        return MHD_YES;
    }
    //  a repeated field takes every value given
    json_t *item = s_query_value (field, value ? value : "");
    if (!item) {
        if (!query->unknown)
            query->unknown = cpec_strdup (key);
        return MHD_YES;
    }
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        json_t *list = json_object_get (query->input, key);
        if (!list) {
            list = json_array ();
            json_object_set_new (query->input, key, list);
        }
        json_array_append_new (list, item);
    } else
        json_object_set_new (query->input, key, item);
    return MHD_YES;
}

json_t *
gw_query (gw_request_t *request, const char *const *allowed, char **unknown)
{
    s_query_t query = {json_object (), NULL, NULL, allowed, request};
    MHD_get_connection_values (request->connection, MHD_GET_ARGUMENT_KIND, s_query_arg, &query);
    *unknown = query.unknown;
    return query.input;
}

//  The version of a message that has one (top-level uint32 "version"); 0
//  when none.
static uint32_t
s_version (const ProtobufCMessage *message)
{
    const ProtobufCFieldDescriptor *field =
        message ? protobuf_c_message_descriptor_get_field_by_name (message->descriptor, "version")
                : NULL;
    if (!field || field->type != PROTOBUF_C_TYPE_UINT32 ||
        field->label == PROTOBUF_C_LABEL_REPEATED)
        return 0;
    return *(const uint32_t *)((const char *)message + field->offset);
}

//  The string field `name` of a message, or NULL.
static const char *
s_string_field (const ProtobufCMessage *message, const char *name)
{
    const ProtobufCFieldDescriptor *field =
        message ? protobuf_c_message_descriptor_get_field_by_name (message->descriptor, name)
                : NULL;
    if (!field || field->type != PROTOBUF_C_TYPE_STRING ||
        field->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return *(char *const *)((const char *)message + field->offset);
}

//  Sets input[name] = value, refusing a different value already there.
static int
s_set_param (gw_request_t *request, gw_answer_t *answer, json_t *object, const char *name,
             const char *value)
{
    json_t *given = json_object_get (object, name);
    if (given && !(json_is_string (given) && strcmp (json_string_value (given), value) == 0))
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                                "%s: the path says \"%.100s\"; the body may not say otherwise",
                                name, value);
    json_object_set_new (object, name, json_string (value));
    return CPEC_OK;
}

#define S_TAGS_MAX 32

//  If-Match (RFC 9110): absent, "*", or a list of entity tags of which the
//  strong ones ("N") may match (W/"N" never matches strongly).
typedef struct
{
    bool given;
    bool any; //  "*"
    uint32_t versions[S_TAGS_MAX];
    int count;
} s_if_match_t;

//  The request's If-Match; *malformed when it is none of the above.
static s_if_match_t
s_if_match (gw_request_t *request, bool *malformed)
{
    s_if_match_t match = {false, false, {0}, 0};
    *malformed = false;
    const char *p = MHD_lookup_connection_value (request->connection, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_IF_MATCH);
    if (!p)
        return match;
    match.given = true;
    p += strspn (p, " \t");
    if (p[0] == '*' && strspn (p + 1, " \t") == strlen (p + 1)) {
        match.any = true;
        return match;
    }
    bool any_tag = false;
    while (*p) {
        if (*p == ',') { //  empty list elements are allowed (RFC 9110 5.6.1)
            p++;
            p += strspn (p, " \t");
            continue;
        }
        any_tag = true;
        bool weak = strncmp (p, "W/", 2) == 0;
        if (weak)
            p += 2;
        const char *close = *p == '"' ? strchr (p + 1, '"') : NULL;
        if (!close) {
            *malformed = true;
            return match;
        }
        //  a tag this API gives is a version as it prints it, 1 to 2^32 - 1
        //  without leading zeros (strong comparison is character by
        //  character); another tag is well formed but matches nothing
        size_t length = (size_t)(close - p - 1);
        bool digits =
            length > 0 && length <= 10 && p[1] != '0' && strspn (p + 1, "0123456789") >= length;
        unsigned long long version = digits ? strtoull (p + 1, NULL, 10) : 0;
        if (!weak && version > 0 && version <= UINT32_MAX) {
            if (match.count == S_TAGS_MAX) {
                *malformed = true; //  more than a client has reason to send
                return match;
            }
            match.versions[match.count++] = (uint32_t)version;
        }
        p = close + 1;
        p += strspn (p, " \t");
        if (*p && *p != ',') {
            *malformed = true;
            return match;
        }
    }
    if (!any_tag)
        *malformed = true; //  an empty If-Match
    return match;
}

//  Whether If-Match lets a write of an entity at version go on.
static bool
s_if_match_ok (const s_if_match_t *match, uint32_t version)
{
    if (!match->given || match->any)
        return true;
    for (int i = 0; i < match->count; i++)
        if (match->versions[i] == version)
            return true;
    return false;
}

//  Calls method of the route's service with input (taken, JSON); OK with
//  *output, else answered.
static int
s_call_json (gw_request_t *request, gw_answer_t *answer, const char *method_name, json_t *json,
             const char *call_id, ProtobufCMessage **output)
{
    const gw_route_t *route = request->route;
    *output = NULL;
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name (route->service, method_name);
    assert (method);
    char error[256] = "";
    ProtobufCMessage *input = cpec_json_to_message (method->input, json, error, sizeof (error));
    json_decref (json);
    if (!input)
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "%s", error);
    cpec_client_t *client = gw_client (request);
    cpec_status_t status;
    int rc = client ? cpec_client_call (client, route->service, method_name, call_id, input, output,
                                        request->server->limits.timeout_ms, &status)
                    : cpec_status_set (&status, CPEC_UNAVAILABLE, "no connection to the broker");
    cpec_pb_destroy (&input);
    if (rc != CPEC_OK)
        return gw_answer_error (answer, request, rc, "%s", status.message);
    return CPEC_OK;
}

//  The answer of a call: its JSON, its version as the entity tag.
static int
s_answer_output (gw_answer_t *answer, unsigned int status, const ProtobufCMessage *output)
{
    uint32_t version = s_version (output);
    if (version)
        snprintf (answer->etag, sizeof (answer->etag), "\"%u\"", version);
    free (answer->body);
    answer->body = cpec_json_encode (output, CPEC_JSON_DEFAULTS);
    answer->status = status;
    answer->type = NULL;
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  Reads

static int
s_read (gw_request_t *request, gw_answer_t *answer)
{
    const gw_route_t *route = request->route;
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name (route->service, route->call);
    assert (method);
    s_query_t query = {json_object (), NULL, method->input, NULL, request};
    for (int i = 0; i < request->count; i++)
        json_object_set_new (query.input, request->names[i], json_string (request->values[i]));
    MHD_get_connection_values (request->connection, MHD_GET_ARGUMENT_KIND, s_query_arg, &query);
    if (query.unknown) {
        gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "%.100s: not a parameter of %s",
                         query.unknown, route->pattern);
        free (query.unknown);
        json_decref (query.input);
        return CPEC_INVALID_ARGUMENT;
    }
    //  the registry's answers may be kept: they are the same for every
    //  caller, and a watch says when they change
    gw_cache_t *cache = route->service == S_REGISTRY ? request->server->cache : NULL;
    char *key = NULL;
    uint64_t generation = 0;
    if (cache) {
        char *input = json_dumps (query.input, JSON_COMPACT | JSON_SORT_KEYS);
        size_t size = strlen (route->call) + strlen (input) + 2;
        key = (char *)malloc (size);
        assert (key);
        snprintf (key, size, "%s\n%s", route->call, input);
        free (input);
        if (gw_cache_answer (cache, key, &answer->body, answer->etag, &generation)) {
            free (key);
            json_decref (query.input);
            answer->status = MHD_HTTP_OK;
            answer->type = NULL;
            return CPEC_OK;
        }
    }
    ProtobufCMessage *output = NULL;
    int rc = s_call_json (request, answer, route->call, query.input, request->request_id, &output);
    if (rc == CPEC_OK) {
        s_answer_output (answer, MHD_HTTP_OK, output);
        if (cache && answer->body)
            gw_cache_answer_put (cache, key, answer->body, answer->etag, generation);
    }
    free (key);
    cpec_pb_destroy (&output);
    return rc;
}

//  --------------------------------------------------------------------------
//  Writes

//  The entity a write names, read first: OK with *entity, else answered.
static int
s_read_entity (gw_request_t *request, gw_answer_t *answer, ProtobufCMessage **entity)
{
    json_t *input = json_object ();
    for (int i = 0; i < request->count; i++)
        json_object_set_new (input, request->names[i], json_string (request->values[i]));
    return s_call_json (request, answer, request->route->get, input, request->request_id, entity);
}

//  The name of the field of the route's input that takes the body's message.
static const ProtobufCMessageDescriptor *
s_body_descriptor (const gw_route_t *route)
{
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name (route->service, route->call);
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (method->input, route->body);
    assert (field && field->type == PROTOBUF_C_TYPE_MESSAGE);
    return (const ProtobufCMessageDescriptor *)field->descriptor;
}

static bool
s_has_field (const ProtobufCMessageDescriptor *descriptor, const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name (descriptor, name) != NULL;
}

//  The request's body as a JSON object (what names it in the refusal): OK
//  with *object, else answered.
static int
s_body_object (gw_request_t *request, gw_answer_t *answer, const char *what, json_t **object)
{
    json_error_t error;
    *object = json_loadb (request->body ? request->body : "", request->size, JSON_REJECT_DUPLICATES,
                          &error);
    if (!*object)
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                                "the body is not JSON: %s (line %d, column %d)", error.text,
                                error.line, error.column);
    if (!json_is_object (*object)) {
        json_decref (*object);
        *object = NULL;
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "%s must be a JSON object",
                                what);
    }
    return CPEC_OK;
}

//  The input of a POST or DELETE: the body (an object, or nothing) in its
//  place, the path's parameters, expected_version when not 0. OK with
//  *input, else answered.
static int
s_write_input (gw_request_t *request, gw_answer_t *answer, uint32_t expected, json_t **input)
{
    const gw_route_t *route = request->route;
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name (route->service, route->call);
    json_t *body = NULL;
    if (request->size > 0) {
        int rc = s_body_object (request, answer, "the body", &body);
        if (rc != CPEC_OK)
            return rc;
    } else if (route->body && strcmp (route->body, "*") != 0)
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                                "the body must be the %s as a JSON object", route->body);
    json_t *in = NULL;
    json_t *inner = NULL; //  the body's message, where the path's parameters may go
    const ProtobufCMessageDescriptor *inner_descriptor = NULL;
    if (!route->body || strcmp (route->body, "*") == 0)
        in = body ? body : json_object ();
    else {
        in = json_object ();
        json_object_set_new (in, route->body, body);
        inner = body;
        inner_descriptor = s_body_descriptor (route);
    }
    for (int i = 0; i < request->count; i++) {
        json_t *target = inner && s_has_field (inner_descriptor, request->names[i]) ? inner : in;
        int rc = s_set_param (request, answer, target, request->names[i], request->values[i]);
        if (rc != CPEC_OK) {
            json_decref (in);
            return rc;
        }
    }
    if (expected && s_has_field (method->input, "expected_version"))
        json_object_set_new (in, "expected_version", json_integer (expected));
    *input = in;
    return CPEC_OK;
}

//  The input of a PATCH: the entity read (before), the body merged into its
//  JSON, update_mask the body's top-level names, expected_version the
//  version read (If-Match was checked against it). OK with *input (NULL for
//  an empty patch: nothing to change), else answered.
static int
s_patch_input (gw_request_t *request, gw_answer_t *answer, const ProtobufCMessage *before,
               json_t **input)
{
    const gw_route_t *route = request->route;
    json_t *patch = NULL;
    int rc = s_body_object (request, answer, "a merge patch", &patch);
    if (rc != CPEC_OK)
        return rc;
    uint32_t version = s_version (before);
    *input = NULL;
    if (json_object_size (patch) == 0) {
        json_decref (patch); //  {} changes nothing (an empty mask would mean "all")
        return CPEC_OK;
    }
    //  the mask: every name sent (an unknown one is refused by the mapping
    //  below, a name the service does not change by the service)
    json_t *mask = json_array ();
    const char *key;
    json_t *value;
    json_object_foreach (patch, key, value)
    {
        json_array_append_new (mask, json_string (key));
    }
    json_t *current = cpec_json_from_message (before, 0);
    json_t *merged = gw_json_merge_patch (current, patch);
    json_decref (current);
    json_decref (patch);
    for (int i = 0; i < request->count; i++) {
        rc = s_set_param (request, answer, merged, request->names[i], request->values[i]);
        if (rc != CPEC_OK) {
            json_decref (merged);
            json_decref (mask);
            return rc;
        }
    }
    *input = json_pack ("{s:o, s:I, s:o}", route->body, merged, "expected_version",
                        (json_int_t)version, "update_mask", mask);
    return CPEC_OK;
}

//  The id of what a write touched: the path's, else the answer's.
static const char *
s_target (const gw_request_t *request, const ProtobufCMessage *output)
{
    for (int i = 0; i < request->count; i++)
        if (strcmp (request->names[i], "id") == 0)
            return request->values[i];
    const char *id = s_string_field (output, "id");
    if (id && *id)
        return id;
    return request->count > 0 ? request->values[0] : NULL;
}

//  POST, PATCH, DELETE of a service's route: OK, or an error answered.
//  call_id is the request id of the service call (the idempotency key's).
static int
s_write (gw_request_t *request, gw_answer_t *answer, const char *call_id)
{
    const gw_route_t *route = request->route;
    char call[128];
    snprintf (call, sizeof (call), "%s.%s", route->service->short_name, route->call);
    bool patch = strcmp (request->method, "PATCH") == 0;
    bool malformed = false;
    s_if_match_t match = s_if_match (request, &malformed);
    int rc = CPEC_OK;
    if (malformed)
        rc = gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                              "If-Match: at most 32 entity tags (\"N\", W/\"N\") separated by "
                              "commas, or *");
    else if (patch && !match.given)
        rc = s_answer_status (answer, request, MHD_HTTP_PRECONDITION_REQUIRED,
                              CPEC_FAILED_PRECONDITION,
                              "PATCH needs If-Match: the ETag of the version it changes, or *");
    if (rc != CPEC_OK) {
        gw_audit_write (request, call, s_target (request, NULL), 0, 0, answer->status, rc,
                        "refused before the call");
        return rc;
    }
    //  the entity as it is, when the path names one
    ProtobufCMessage *before = NULL;
    if (route->get && (rc = s_read_entity (request, answer, &before)) != CPEC_OK) {
        gw_audit_write (request, call, s_target (request, NULL), 0, 0, answer->status, rc,
                        "the entity could not be read");
        return rc;
    }
    uint32_t version_before = s_version (before);
    json_t *input = NULL;
    if (before && !s_if_match_ok (&match, version_before))
        rc = s_answer_status (answer, request, MHD_HTTP_PRECONDITION_FAILED, CPEC_ABORTED,
                              "If-Match names no current version: the version is now %u",
                              version_before);
    else if (patch)
        rc = s_patch_input (request, answer, before, &input);
    else
        rc = s_write_input (request, answer, match.given && before ? version_before : 0, &input);
    ProtobufCMessage *output = NULL;
    if (rc == CPEC_OK && !input) {
        //  an empty patch: the entity as it is
        output = before;
        before = NULL;
    } else if (rc == CPEC_OK)
        rc = s_call_json (request, answer, route->call, input, call_id, &output);
    cpec_pb_destroy (&before);
    if (rc == CPEC_ABORTED && match.given && answer->status == 409)
        answer->status = MHD_HTTP_PRECONDITION_FAILED; //  changed since it was read
    if (rc == CPEC_OK) {
        s_answer_output (answer, route->created ? MHD_HTTP_CREATED : MHD_HTTP_OK, output);
        const char *id = s_string_field (output, "id");
        if (route->created && id && *id && !strchr (route->pattern, '{'))
            snprintf (answer->location, sizeof (answer->location), "%s/%s", route->pattern, id);
    }
    gw_audit_write (request, call, s_target (request, output), version_before, s_version (output),
                    answer->status, rc, rc == CPEC_OK ? "done" : "refused");
    cpec_pb_destroy (&output);
    return rc;
}

void
gw_audit_write (gw_request_t *request, const char *call, const char *target, uint32_t before,
                uint32_t after, unsigned int http_status, int code, const char *message)
{
    gw_server_t *self = request->server;
    cpec_store_t *store = gw_store (self);
    gw_audit_entry_t entry = {request->who,
                              request->request_id,
                              request->method,
                              request->url,
                              call,
                              target,
                              before,
                              after,
                              (int)http_status,
                              code,
                              message};
    cpec_status_t status;
    char sha[41];
    s_sha_take (self, self->audit_sha, sha);
    int rc = store ? gw_audit_append (store, sha, &entry, cpec_now_ms (), &status)
                   : cpec_status_set (&status, CPEC_UNAVAILABLE, "no Redis");
    s_sha_keep (self, self->audit_sha, sha);
    if (rc != CPEC_OK)
        cpec_log_error (request->request_id, "audit of %s %s not recorded: %s", request->method,
                        request->url, status.message);
}

//  --------------------------------------------------------------------------
//  Idempotency-Key

typedef enum
{
    S_IDEM_NONE,    //  no key: just do it
    S_IDEM_OWNED,   //  this request does it, and keeps its answer
    S_IDEM_ANSWERED //  the answer is set (a replay, a conflict, an error)
} s_idem_t;

//  KEYS: the key. ARGV: the claim this request holds, the answer, its TTL
//  (the answer "": free the key). Only the request holding the claim (or,
//  its claim expired, nobody) writes: a request that outlived its claim
//  does not overwrite another's.
static const char s_idem_end_script[] =
    "local now = redis.call('GET', KEYS[1])\n"
    "if now and now ~= ARGV[1] then return 0 end\n"
    "if ARGV[2] == '' then redis.call('DEL', KEYS[1]) return 1 end\n"
    "redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])\n"
    "return 1\n";

//  How long a request in flight holds its key: twice the call's deadline;
//  a long import touches it as it goes.
static int
s_idem_pending_s (const gw_request_t *request)
{
    return 2 * request->server->limits.timeout_ms / 1000 + 10;
}

//  The SHA-256 of "token id, method, path, body" (a request as a retry
//  repeats it) and of "token id, what" into hex.
static void
s_scoped_hash (const gw_request_t *request, const char *what, bool with_body, char hex[65])
{
    size_t size = strlen (request->token_id) + strlen (request->method) + strlen (request->url) +
                  strlen (what) + (with_body ? request->size : 0) + 5;
    char *text = (char *)malloc (size);
    assert (text);
    int used = snprintf (text, size, "%s\n%s\n%s\n%s\n", request->token_id, what,
                         with_body ? request->method : "", with_body ? request->url : "");
    if (with_body && request->size)
        memcpy (text + used, request->body, request->size);
    cpec_sha256_hex (text, (size_t)used + (with_body ? request->size : 0), hex);
    free (text);
}

//  The request id of a write's service calls: the services answer a request
//  id they saw with its first answer, so it is scoped to the caller and the
//  request (a caller's X-Request-Id can never fetch another's answer): the
//  Idempotency-Key's, else the X-Request-Id's with the request itself.
static void
s_call_id (const gw_request_t *request, char call_id[40])
{
    char hex[65];
    s_scoped_hash (request, request->request_id, true, hex);
    snprintf (call_id, 40, "rq-%.32s", hex);
}

//  With an Idempotency-Key: claims it (then request->idem_key and
//  request->idem_claim are set, and call_id is the request id of the
//  service calls, the same for every retry), or answers with the first
//  request's answer (waiting while it runs), or 422 when the key came with
//  another request.
static s_idem_t
s_idem_begin (gw_request_t *request, gw_answer_t *answer, char call_id[40])
{
    const char *given =
        MHD_lookup_connection_value (request->connection, MHD_HEADER_KIND, "Idempotency-Key");
    if (!given)
        return S_IDEM_NONE;
    size_t length = strlen (given);
    bool sane = length > 0 && length <= S_IDEM_KEY_MAX;
    for (size_t i = 0; sane && i < length; i++)
        sane = given[i] > 0x20 && given[i] < 0x7f;
    if (!sane) {
        gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                         "Idempotency-Key: 1 to %d visible ASCII characters", S_IDEM_KEY_MAX);
        return S_IDEM_ANSWERED;
    }
    //  keys are the token's: two callers' keys never meet
    char hash[65];
    s_scoped_hash (request, given, false, hash);
    char key[100];
    snprintf (key, sizeof (key), "cpec:gw:idem:%s", hash);
    //  what the request is: method, path, body; the calls' request id is the
    //  key's and the request's (after a 5xx frees the key, another body
    //  under it must not get the first one's answer from the services)
    char fingerprint[65];
    s_scoped_hash (request, "", true, fingerprint);
    char both[140], call_hash[65];
    snprintf (both, sizeof (both), "%s\n%s", hash, fingerprint);
    cpec_sha256_hex (both, strlen (both), call_hash);
    snprintf (call_id, 40, "idem-%.32s", call_hash);
    cpec_store_t *store = gw_store (request->server);
    if (!store) {
        gw_answer_error (answer, request, CPEC_UNAVAILABLE, "Redis is not configured");
        return S_IDEM_ANSWERED;
    }
    char claim_id[37];
    cpec_uuid (claim_id);
    json_t *pending = json_pack ("{s:s, s:s, s:s}", "fingerprint", fingerprint, "state", "pending",
                                 "claim", claim_id);
    char *pending_text = json_dumps (pending, JSON_COMPACT);
    json_decref (pending);
    char ttl[16];
    snprintf (ttl, sizeof (ttl), "%d", s_idem_pending_s (request));
    int64_t deadline = cpec_clock_ms () + request->server->limits.timeout_ms + 5000;
    s_idem_t outcome = S_IDEM_ANSWERED;
    while (true) {
        cpec_status_t status;
        const char *set[] = {"SET", key, pending_text, "NX", "EX", ttl};
        redisReply *reply = cpec_store_command (store, 6, set, NULL, &status);
        if (!reply) {
            gw_answer_error (answer, request, status.code, "%s", status.message);
            break;
        }
        bool claimed = reply->type == REDIS_REPLY_STATUS;
        freeReplyObject (reply);
        if (claimed) {
            snprintf (request->idem_key, sizeof (request->idem_key), "%s", key);
            request->idem_claim = pending_text;
            pending_text = NULL;
            outcome = S_IDEM_OWNED;
            break;
        }
        const char *get[] = {"GET", key};
        reply = cpec_store_command (store, 2, get, NULL, &status);
        if (!reply) {
            gw_answer_error (answer, request, status.code, "%s", status.message);
            break;
        }
        bool reply_was_nil = reply->type == REDIS_REPLY_NIL;
        json_t *first = reply->type == REDIS_REPLY_STRING ? json_loads (reply->str, 0, NULL) : NULL;
        freeReplyObject (reply);
        if (!first && reply_was_nil) {
            continue; //  it ended (an error not kept) between SET and GET: claim again
        }
        if (!first) {
            gw_answer_error (answer, request, CPEC_DATA_LOSS,
                             "the answer kept for this Idempotency-Key is unreadable");
            break;
        }
        const char *theirs = json_string_value (json_object_get (first, "fingerprint"));
        const char *state = json_string_value (json_object_get (first, "state"));
        if (!theirs || strcmp (theirs, fingerprint) != 0) {
            s_answer_status (answer, request, MHD_HTTP_UNPROCESSABLE_CONTENT,
                             CPEC_FAILED_PRECONDITION,
                             "Idempotency-Key %.64s was used with another request", given);
            json_decref (first);
            break;
        }
        if (state && strcmp (state, "done") == 0) {
            const char *body = json_string_value (json_object_get (first, "body"));
            const char *etag = json_string_value (json_object_get (first, "etag"));
            const char *location = json_string_value (json_object_get (first, "location"));
            free (answer->body);
            answer->body = cpec_strdup (body ? body : "");
            answer->status = (unsigned int)json_integer_value (json_object_get (first, "status"));
            snprintf (answer->etag, sizeof (answer->etag), "%s", etag ? etag : "");
            snprintf (answer->location, sizeof (answer->location), "%s", location ? location : "");
            json_decref (first);
            break;
        }
        json_decref (first);
        if (cpec_clock_ms () > deadline) {
            gw_answer_error (answer, request, CPEC_UNAVAILABLE,
                             "the first request with this Idempotency-Key is still running");
            break;
        }
        zclock_sleep (20); //  the first request is running: wait for its answer
    }
    free (pending_text);
    return outcome;
}

//  KEYS: the key. ARGV: the claim, the TTL. Only while the claim is still
//  this request's.
static const char s_idem_touch_script[] = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
                                          "  return redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
                                          "end\n"
                                          "return 0\n";

void
gw_idem_touch (gw_request_t *request)
{
    cpec_store_t *store = request->idem_claim ? gw_store (request->server) : NULL;
    if (!store)
        return;
    char ttl[16];
    snprintf (ttl, sizeof (ttl), "%d", s_idem_pending_s (request));
    const char *argv[] = {"1", request->idem_key, request->idem_claim, ttl};
    char sha[41];
    s_sha_take (request->server, request->server->idem_touch_sha, sha);
    cpec_status_t status;
    redisReply *reply = cpec_store_script (store, s_idem_touch_script, sha, 4, argv, NULL, &status);
    s_sha_keep (request->server, request->server->idem_touch_sha, sha);
    if (reply)
        freeReplyObject (reply);
}

//  Keeps the answer of an owned key for its retries, if the claim is still
//  this request's; an answer that may change on retry (5xx) frees the key
//  instead.
static void
s_idem_end (gw_request_t *request, const gw_answer_t *answer)
{
    cpec_store_t *store = gw_store (request->server);
    if (!store)
        return;
    json_t *claim = json_loads (request->idem_claim, 0, NULL);
    json_t *done = json_pack ("{s:O, s:s, s:i, s:s, s:s, s:s}", "fingerprint",
                              json_object_get (claim, "fingerprint"), "state", "done", "status",
                              (int)answer->status, "body", answer->body ? answer->body : "", "etag",
                              answer->etag, "location", answer->location);
    json_decref (claim);
    char *text =
        answer->status >= 500 || !done ? cpec_strdup ("") : json_dumps (done, JSON_COMPACT);
    json_decref (done);
    char ttl[16];
    snprintf (ttl, sizeof (ttl), "%d", S_IDEM_KEEP_S);
    const char *argv[] = {"1", request->idem_key, request->idem_claim, text, ttl};
    cpec_status_t status;
    char sha[41];
    s_sha_take (request->server, request->server->idem_end_sha, sha);
    redisReply *reply = cpec_store_script (store, s_idem_end_script, sha, 5, argv, NULL, &status);
    s_sha_keep (request->server, request->server->idem_end_sha, sha);
    free (text);
    if (reply)
        freeReplyObject (reply);
    else
        cpec_log_error (request->request_id, "Idempotency-Key answer not kept: %s", status.message);
}

//  --------------------------------------------------------------------------
//  The gateway's own routes

int
gw_page_query (gw_request_t *request, gw_answer_t *answer, json_t **query, const char **after,
               size_t *size)
{
    static const char *const allowed[] = {"after", "page_size", NULL};
    char *unknown = NULL;
    *query = gw_query (request, allowed, &unknown);
    if (unknown) {
        gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "%.100s: not a parameter of %s",
                         unknown, request->route->pattern);
        free (unknown);
        json_decref (*query);
        return CPEC_INVALID_ARGUMENT;
    }
    *after = json_string_value (json_object_get (*query, "after"));
    const char *text = json_string_value (json_object_get (*query, "page_size"));
    char *end = NULL;
    long value = text ? strtol (text, &end, 10) : GW_PAGE_DEFAULT;
    if (text && (!*text || *end || value < 1 || value > GW_PAGE_MAX)) {
        json_decref (*query);
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                                "page_size: a whole number from 1 to %d", GW_PAGE_MAX);
    }
    *size = (size_t)value;
    return CPEC_OK;
}

static int
s_audit_page (gw_request_t *request, gw_answer_t *answer)
{
    const Cpec__V1__Principal *who = request->who;
    if (who->role != CPEC__V1__PRINCIPAL__ROLE__ADMIN &&
        who->role != CPEC__V1__PRINCIPAL__ROLE__PROVINCE)
        return gw_answer_error (answer, request, CPEC_PERMISSION_DENIED,
                                "the audit is read by administrators and provincial authorities");
    json_t *query = NULL;
    const char *after_text = NULL;
    size_t size = 0;
    int rc = gw_page_query (request, answer, &query, &after_text, &size);
    if (rc != CPEC_OK)
        return rc;
    char *end = NULL;
    unsigned long long after = after_text ? strtoull (after_text, &end, 10) : 0;
    bool bad_after =
        after_text && (!*after_text || *end || !isdigit ((unsigned char)after_text[0]) ||
                       after > (unsigned long long)INT64_MAX);
    json_decref (query);
    if (bad_after)
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "after: a sequence number");
    cpec_store_t *store = gw_store (request->server);
    json_t *page = NULL;
    cpec_status_t status;
    rc = store ? gw_audit_read (store, after, size,
                                who->role == CPEC__V1__PRINCIPAL__ROLE__PROVINCE ? who->province
                                                                                 : NULL,
                                &page, &status)
               : cpec_status_set (&status, CPEC_UNAVAILABLE, "no Redis");
    if (rc != CPEC_OK)
        return gw_answer_error (answer, request, rc, "%s", status.message);
    return gw_answer_json (answer, MHD_HTTP_OK, page);
}

//  --------------------------------------------------------------------------
//  The handler

//  Checks what can be checked from the headers: the body's type and size.
//  CPEC_OK, else answered.
static int
s_check_headers (gw_request_t *request, gw_answer_t *answer)
{
    const gw_route_t *route = request->route;
    struct MHD_Connection *connection = request->connection;
    const char *length_text =
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *encoding = MHD_lookup_connection_value (connection, MHD_HEADER_KIND,
                                                        MHD_HTTP_HEADER_TRANSFER_ENCODING);
    unsigned long long length = length_text ? strtoull (length_text, NULL, 10) : 0;
    if (length > request->server->limits.body_max)
        return s_answer_status (answer, request, S_HTTP_TOO_LARGE, CPEC_RESOURCE_EXHAUSTED,
                                "the body is over %zu bytes", request->server->limits.body_max);
    bool body = length > 0 || encoding;
    bool import = route->service == NULL && strcmp (route->call, "import/milestones") == 0;
    if (!body)
        return CPEC_OK;
    if (strcmp (route->method, "GET") == 0)
        return gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "a GET takes no body");
    const char *type =
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    size_t type_length = 0;
    while (type && type[type_length] && type[type_length] != ';' && type[type_length] != ' ')
        type_length++;
    const char *wanted[3] = {"application/json", NULL, NULL};
    if (import)
        wanted[0] = "text/csv";
    else if (strcmp (route->method, "PATCH") == 0)
        wanted[1] = "application/merge-patch+json";
    for (int i = 0; type && wanted[i]; i++)
        if (strlen (wanted[i]) == type_length && strncasecmp (type, wanted[i], type_length) == 0)
            return CPEC_OK;
    return s_answer_status (answer, request, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, CPEC_INVALID_ARGUMENT,
                            "Content-Type: %s %s takes %s%s%s", route->method, route->pattern,
                            wanted[0], wanted[1] ? " or " : "", wanted[1] ? wanted[1] : "");
}

//  The name of the call a route makes, "Registry.UpdateSez", into buf.
static const char *
s_call_name (const gw_route_t *route, char *buf, size_t size)
{
    if (route->service)
        snprintf (buf, size, "%s.%s", route->service->short_name, route->call);
    else
        snprintf (buf, size, "Gateway.%s", route->call);
    return buf;
}

//  The request with its body read: authenticate, then the route.
static int
s_dispatch (gw_request_t *request, gw_answer_t *answer)
{
    const gw_route_t *route = request->route;
    if (request->too_big)
        return s_answer_status (answer, request, S_HTTP_TOO_LARGE, CPEC_RESOURCE_EXHAUSTED,
                                "the body is over %zu bytes", request->server->limits.body_max);
    int rc = s_authenticate (request, answer);
    bool get = strcmp (route->method, "GET") == 0;
    char call[128];
    if (rc != CPEC_OK) {
        if (request->who && !get) //  refused, but we know who: past the rate
            gw_audit_write (request, s_call_name (route, call, sizeof (call)), NULL, 0, 0,
                            answer->status, rc, "refused before the call");
        return rc;
    }
    if (route->service && get)
        return s_read (request, answer);
    if (!route->service && strcmp (route->call, "events") == 0)
        return gw_events_page (request, answer);
    if (!route->service && strcmp (route->call, "audit") == 0)
        return s_audit_page (request, answer);
    //  a write: no query string
    char *unknown = NULL;
    json_t *query = gw_query (request, NULL, &unknown);
    json_decref (query);
    if (unknown) {
        rc = gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT,
                              "%.100s: not a parameter of %s", unknown, route->pattern);
        free (unknown);
        gw_audit_write (request, s_call_name (route, call, sizeof (call)), NULL, 0, 0,
                        answer->status, rc, "refused before the call");
        return rc;
    }
    char call_id[40] = "";
    s_idem_t idem = strcmp (request->method, "POST") == 0 ? s_idem_begin (request, answer, call_id)
                                                          : S_IDEM_NONE;
    if (idem == S_IDEM_ANSWERED) {
        //  a replay writes nothing; a refusal of the key is recorded
        rc = answer->status < 300 ? CPEC_OK : CPEC_FAILED_PRECONDITION;
        if (answer->status == MHD_HTTP_UNPROCESSABLE_CONTENT || answer->status == 400)
            gw_audit_write (request, s_call_name (route, call, sizeof (call)), NULL, 0, 0,
                            answer->status, rc, "Idempotency-Key refused");
        return rc;
    }
    if (idem == S_IDEM_NONE)
        s_call_id (request, call_id);
    rc = route->service ? s_write (request, answer, call_id)
                        : gw_import_milestones (request, call_id, answer);
    if (idem == S_IDEM_OWNED)
        s_idem_end (request, answer);
    return rc;
}

static void
s_request_id (struct MHD_Connection *connection, char id[GW_REQUEST_ID_MAX + 1])
{
    const char *given = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "X-Request-Id");
    size_t length = given ? strlen (given) : 0;
    bool sane = length > 0 && length <= GW_REQUEST_ID_MAX;
    for (size_t i = 0; sane && i < length; i++)
        sane = isalnum ((unsigned char)given[i]) || strchr ("-_.:", given[i]);
    if (sane)
        memcpy (id, given, length + 1);
    else
        cpec_uuid (id);
}

//  The route of url and method (HEAD is GET without the body): the route,
//  or NULL with the methods served on the path in allow ("" when none).
static const gw_route_t *
s_route (gw_request_t *request, const char *url, const char *method, char *allow, size_t allow_size)
{
    allow[0] = '\0';
    bool head = strcmp (method, "HEAD") == 0;
    for (const gw_route_t *route = gw_routes; route->method; route++) {
        int count =
            gw_route_match (route->pattern, url, request->params_buf, sizeof (request->params_buf),
                            request->names, request->values, GW_PARAMS_MAX);
        if (count < 0)
            continue;
        if (strcmp (route->method, method) == 0 || (head && strcmp (route->method, "GET") == 0)) {
            request->count = count;
            return route;
        }
        size_t used = strlen (allow);
        snprintf (allow + used, allow_size - used, "%s%s%s", used ? ", " : "", route->method,
                  strcmp (route->method, "GET") == 0 ? ", HEAD" : "");
    }
    return NULL;
}

static void
s_observe (gw_request_t *request, int64_t started)
{
    gw_server_t *self = request->server;
    char name[128];
    snprintf (name, sizeof (name), "%s %s", request->route->method, request->route->pattern);
    if (self->metrics)
        cpec_metrics_observe (self->metrics, name, request->code,
                              (double)(cpec_clock_ms () - started) / 1000.0);
    cpec_log_debug (request->request_id, "%s %s: %s", request->method, request->url,
                    cpec_code_name (request->code));
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void)version;
    gw_server_t *self = (gw_server_t *)cls;
    gw_request_t *request = (gw_request_t *)*state;
    gw_answer_t answer = {0, NULL, NULL, "", "", ""};
    if (!request) {
        //  the headers: route, and refuse what can be refused before the body
        request = (gw_request_t *)calloc (1, sizeof (gw_request_t));
        assert (request);
        *state = request;
        request->server = self;
        request->connection = connection;
        request->method = method;
        snprintf (request->url, sizeof (request->url), "%s", url);
        s_request_id (connection, request->request_id);
        if (strlen (url) >= sizeof (request->url)) {
            request->refused = true;
            gw_answer_error (&answer, request, CPEC_INVALID_ARGUMENT, "the path is too long");
            return s_send (request, &answer);
        }
        if (!s_utf8 (url)) {
            request->refused = true;
            gw_answer_error (&answer, request, CPEC_INVALID_ARGUMENT,
                             "the path is not valid UTF-8");
            return s_send (request, &answer);
        }
        request->route = s_route (request, url, method, answer.allow, sizeof (answer.allow));
        if (!request->route) {
            bool file = false;
            for (int i = 0; s_static[i].path && !file; i++)
                file = strcmp (url, s_static[i].path) == 0;
            bool own = file || strcmp (url, "/healthz") == 0 || strcmp (url, "/readyz") == 0 ||
                       strcmp (url, "/openapi.json") == 0 || strcmp (url, "/metrics") == 0;
            if (own && strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
                snprintf (answer.allow, sizeof (answer.allow), "GET, HEAD");
            else if (own)
                return MHD_YES; //  answered when the (empty) body is read
            request->refused = true;
            if (answer.allow[0])
                s_answer_status (&answer, request, MHD_HTTP_METHOD_NOT_ALLOWED, CPEC_UNIMPLEMENTED,
                                 "%.20s is not served on this path", method);
            else
                gw_answer_error (&answer, request, CPEC_NOT_FOUND, "no route %.200s", url);
            return s_send (request, &answer);
        }
        if (s_check_headers (request, &answer) != CPEC_OK) {
            request->refused = true;
            return s_send (request, &answer);
        }
        return MHD_YES;
    }
    if (request->refused) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        if (request->too_big || request->size + size > self->limits.body_max) {
            request->too_big = true; //  read and dropped: answered 413 at the end
            return MHD_YES;
        }
        if (request->size + size + 1 > request->capacity) {
            size_t capacity = request->capacity ? request->capacity : 4096;
            while (capacity < request->size + size + 1)
                capacity *= 2;
            char *grown = (char *)realloc (request->body, capacity);
            assert (grown);
            request->body = grown;
            request->capacity = capacity;
        }
        memcpy (request->body + request->size, upload_data, size);
        request->size += size;
        request->body[request->size] = '\0';
        return MHD_YES;
    }
    //  the whole request is in
    if (!request->route) {
        if (strcmp (url, "/healthz") == 0 || strcmp (url, "/readyz") == 0) {
            answer.status = MHD_HTTP_OK;
            answer.body = cpec_strdup (strcmp (url, "/healthz") == 0 ? "ok\n" : "ready\n");
            answer.type = "text/plain";
        } else if (strcmp (url, "/openapi.json") == 0) {
            answer.status = MHD_HTTP_OK;
            answer.body = cpec_strdup (gw_openapi);
        } else if (strcmp (url, "/metrics") == 0) {
            char *text = self->metrics ? cpec_metrics_render (self->metrics) : NULL;
            answer.status = MHD_HTTP_OK;
            answer.body = text ? text : cpec_strdup ("");
            answer.type = "text/plain; version=0.0.4";
        } else
            for (int i = 0; s_static[i].path; i++)
                if (strcmp (url, s_static[i].path) == 0) {
                    answer.status = MHD_HTTP_OK;
                    answer.body = cpec_strdup (s_static[i].body);
                    answer.type = s_static[i].type;
                }
        return s_send (request, &answer);
    }
    int64_t started = cpec_clock_ms ();
    if (!request->route->service && strcmp (request->route->call, "events/stream") == 0) {
        request->code = s_authenticate (request, &answer);
        s_observe (request, started); //  a stream counts when it starts
        if (request->code != CPEC_OK)
            return s_send (request, &answer);
        return gw_events_stream (request);
    }
    request->code = s_dispatch (request, &answer);
    s_observe (request, started);
    return s_send (request, &answer);
}

static void
s_completed (void *cls, struct MHD_Connection *connection, void **state,
             enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)connection;
    (void)code;
    gw_request_t *request = (gw_request_t *)*state;
    if (!request)
        return;
    free (request->body);
    free (request->idem_claim);
    cpec_pb_destroy ((ProtobufCMessage **)&request->who);
    free (request);
    *state = NULL;
}

static void
s_log_mhd (void *arg, const char *format, va_list args)
{
    (void)arg;
    char text[512];
    vsnprintf (text, sizeof (text), format, args);
    cpec_log_warn (NULL, "http: %s", text);
}

gw_server_t *
gw_server_new (const char *address, const char *broker, const char *redis_url,
               const gw_limits_t *limits, cpec_metrics_t *metrics)
{
    assert (limits);
    struct sockaddr_storage addr;
    if (!address || cpec_admin_resolve (address, &addr) != 0) {
        cpec_log_error (NULL, "CPEC_HTTP_ADDR: '%s' is not host:port", address ? address : "");
        return NULL;
    }
    gw_server_t *self = (gw_server_t *)calloc (1, sizeof (gw_server_t));
    assert (self);
    self->broker = cpec_strdup (broker);
    self->redis_url = cpec_strdup (redis_url);
    self->limits = *limits;
    self->metrics = metrics;
    if (limits->cache_entries)
        self->cache = gw_cache_new (redis_url, limits->cache_entries);
    pthread_key_create (&self->store_key, s_store_free);
    pthread_key_create (&self->client_key, s_client_free);
    pthread_mutex_init (&self->buckets_lock, NULL);
    pthread_mutex_init (&self->sha_lock, NULL);
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
        MHD_USE_ERROR_LOG; //  poll: select stops at fd 1024, and each connection holds several
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon (
        flags, 0, NULL, NULL, &s_handle, self, MHD_OPTION_EXTERNAL_LOGGER, &s_log_mhd, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)S_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60,
        MHD_OPTION_NOTIFY_COMPLETED, &s_completed, NULL, MHD_OPTION_END);
    if (!self->daemon) {
        cpec_log_error (NULL, "CPEC_HTTP_ADDR: cannot listen on %s", address);
        gw_server_destroy (&self);
        return NULL;
    }
    return self;
}

void
gw_server_destroy (gw_server_t **self_p)
{
    assert (self_p);
    gw_server_t *self = *self_p;
    if (!self)
        return;
    self->stopping = true; //  event streams end
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    pthread_key_delete (self->client_key);
    pthread_key_delete (self->store_key);
    gw_cache_destroy (&self->cache);
    pthread_mutex_destroy (&self->buckets_lock);
    pthread_mutex_destroy (&self->sha_lock);
    free (self->broker);
    free (self->redis_url);
    free (self);
    *self_p = NULL;
}
