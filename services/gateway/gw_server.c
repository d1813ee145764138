/*  gw_server - the HTTP server of the gateway: libmicrohttpd, one thread per
    connection, each thread with its own client of the broker; the route
    table; JSON to and from protobuf; errors.
*/
#include "gateway.h"

#include <assert.h>
#include <ctype.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec/v1/milestones.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_admin.h"
#include "cpec_client.h"
#include "cpec_json.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "cpec_status.h"
#include "cpec_store.h"
#include "cpec_token.h"

#define S_PARAMS_MAX      8
#define S_PATH_MAX        1024
#define S_CONNECTIONS_MAX 1024
#define S_REQUEST_ID_MAX  64

const cpec_config_var_t gw_config_vars[] = {
    CPEC_CONFIG_COMMON,
    {"CPEC_HTTP_ADDR", CPEC_CONFIG_STRING, "127.0.0.1:17104",
     "the public HTTP address host:port of the JSON API"},
    {"CPEC_HTTP_TIMEOUT_MS", CPEC_CONFIG_INT, "10000",
     "the deadline of the service call behind one HTTP request", 100, 600000},
    {NULL, 0, NULL, NULL}};

const gw_route_t gw_routes[] = {
    {"GET", "/v1/sezs", &cpec__v1__registry__descriptor, "ListSezs"},
    {"GET", "/v1/sezs/{id}", &cpec__v1__registry__descriptor, "GetSez"},
    {"GET", "/v1/sezs/{zone_id}/enterprises", &cpec__v1__registry__descriptor,
     "ListZoneEnterprises"},
    {"GET", "/v1/sezs/{zone_id}/milestones", &cpec__v1__milestones__descriptor, "List"},
    {"GET", "/v1/sezs/{zone_id}/schedule", &cpec__v1__milestones__descriptor, "ZoneSchedule"},
    {"GET", "/v1/milestones/{id}", &cpec__v1__milestones__descriptor, "Get"},
    {"GET", "/v1/portfolio", &cpec__v1__milestones__descriptor, "Portfolio"},
    {"GET", "/v1/enterprises", &cpec__v1__matchmaking__descriptor, "ListEnterprises"},
    {"GET", "/v1/enterprises/{id}", &cpec__v1__matchmaking__descriptor, "GetEnterprise"},
    {"GET", "/v1/enterprises/{enterprise_id}/matches", &cpec__v1__matchmaking__descriptor,
     "TopMatches"},
    {"GET", "/v1/enterprises/{enterprise_id}/zones", &cpec__v1__matchmaking__descriptor,
     "RecommendZones"},
    {"GET", "/v1/matches", &cpec__v1__matchmaking__descriptor, "ListMatches"},
    {"GET", "/v1/matches/{id}", &cpec__v1__matchmaking__descriptor, "GetMatch"},
    {"GET", "/v1/funnel", &cpec__v1__matchmaking__descriptor, "FunnelReport"},
    {NULL}};

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

struct _gw_server_t
{
    struct MHD_Daemon *daemon;
    char *broker;
    int timeout_ms;
    cpec_metrics_t *metrics;
    pthread_key_t client_key; //  each connection thread's client of the broker
    pthread_key_t store_key;  //  and its connection to Redis (the tokens)
    char *redis_url;
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
//  Answers

//  Queues a response with a malloc'd body (taken), its type and headers;
//  extra: an entity tag ("\"3\""), or the WWW-Authenticate challenge of a 401.
static enum MHD_Result
s_respond (struct MHD_Connection *connection, unsigned int status, char *body,
           const char *content_type, const char *request_id, const char *extra)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer (strlen (body), body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header (response, "X-Request-Id", request_id);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (extra && *extra == '"')
        MHD_add_response_header (response, MHD_HTTP_HEADER_ETAG, extra);
    else if (extra) //  a challenge, for a 401
        MHD_add_response_header (response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, extra);
    enum MHD_Result result = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return result;
}

//  {"error": {"code", "message", "request_id"}} with the code's HTTP status.
static enum MHD_Result
s_error (struct MHD_Connection *connection, int code, const char *message, const char *request_id)
{
    json_t *error = json_pack ("{s:{s:s, s:s, s:s}}", "error", "code", cpec_code_name (code),
                               "message", message, "request_id", request_id);
    char *body = json_dumps (error, JSON_COMPACT);
    json_decref (error);
    if (!body)
        return MHD_NO;
    return s_respond (connection, (unsigned int)cpec_code_http (code), body, "application/json",
                      request_id, code == CPEC_UNAUTHENTICATED ? "Bearer realm=\"cpec\"" : NULL);
}

//  The request id: the caller's X-Request-Id when it is a sane token, else
//  a new UUID.
static void
s_request_id (struct MHD_Connection *connection, char id[S_REQUEST_ID_MAX + 1])
{
    const char *given = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "X-Request-Id");
    size_t length = given ? strlen (given) : 0;
    bool sane = length > 0 && length <= S_REQUEST_ID_MAX;
    for (size_t i = 0; sane && i < length; i++)
        sane = isalnum ((unsigned char)given[i]) || strchr ("-_.:", given[i]);
    if (sane)
        memcpy (id, given, length + 1);
    else
        cpec_uuid (id);
}

//  --------------------------------------------------------------------------
//  A call

typedef struct
{
    json_t *input; //  the method's input as JSON, built from the path and query
    char *unknown; //  the first query parameter that is not a field
    const ProtobufCMessageDescriptor *descriptor;
} s_query_t;

//  A JSON value for a query string value: a whole number, true or false as
//  themselves, anything else as a string (the mapping checks the field's type).
static json_t *
s_query_value (const char *text)
{
    if (strcmp (text, "true") == 0)
        return json_true ();
    if (strcmp (text, "false") == 0)
        return json_false ();
    size_t length = strlen (text);
    bool digits = length > 0 && length < 19;
    for (size_t i = 0; digits && i < length; i++)
        digits = isdigit ((unsigned char)text[i]);
    return digits ? json_integer (strtoll (text, NULL, 10)) : json_string (text);
}

static enum MHD_Result
s_query_arg (void *arg, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    s_query_t *query = (s_query_t *)arg;
    if (!protobuf_c_message_descriptor_get_field_by_name (query->descriptor, key)) {
        if (!query->unknown)
            query->unknown = cpec_strdup (key);
        return MHD_YES;
    }
    //  a repeated field takes every value given
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (query->descriptor, key);
    json_t *item = s_query_value (value ? value : "");
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

//  The version of an answer that has one (top-level uint32 "version"), as an
//  entity tag, into buf; NULL when none.
static const char *
s_etag (const ProtobufCMessage *message, char *buf, size_t size)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (message->descriptor, "version");
    if (!field || field->type != PROTOBUF_C_TYPE_UINT32 ||
        field->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    uint32_t version = *(const uint32_t *)((const char *)message + field->offset);
    snprintf (buf, size, "\"%u\"", version);
    return buf;
}

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

//  This thread's connection to Redis (NULL when the URL is bad).
static cpec_store_t *
s_store (gw_server_t *self)
{
    cpec_store_t *store = (cpec_store_t *)pthread_getspecific (self->store_key);
    if (!store && (store = cpec_store_new (self->redis_url)))
        pthread_setspecific (self->store_key, store);
    return store;
}

//  The caller's principal from "Authorization: Bearer <token>": OK, or
//  UNAUTHENTICATED (no token, a malformed, unknown or revoked one), or
//  UNAVAILABLE.
static int
s_authenticate (gw_server_t *self, struct MHD_Connection *connection,
                Cpec__V1__Principal **principal, cpec_status_t *status)
{
    const char *header =
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!header || strncmp (header, "Bearer ", 7) != 0)
        return cpec_status_set (status, CPEC_UNAUTHENTICATED,
                                "Authorization: Bearer <token> is required");
    cpec_store_t *store = s_store (self);
    if (!store)
        return cpec_status_set (status, CPEC_UNAVAILABLE, "the token store is not configured");
    return cpec_token_check (store, header + 7, principal, status);
}

//  This thread's client of the broker.
static cpec_client_t *
s_client (gw_server_t *self)
{
    cpec_client_t *client = (cpec_client_t *)pthread_getspecific (self->client_key);
    if (!client) {
        client = cpec_client_new (self->broker);
        if (!client)
            return NULL;
        pthread_setspecific (self->client_key, client);
    }
    return client;
}

//  Calls the route's method; *code gets the outcome's canonical code.
static enum MHD_Result
s_call (gw_server_t *self, struct MHD_Connection *connection, const gw_route_t *route,
        const char **names, const char **values, int count, const char *request_id, int *code)
{
    Cpec__V1__Principal *who = NULL;
    cpec_status_t denied;
    if ((*code = s_authenticate (self, connection, &who, &denied)) != CPEC_OK)
        return s_error (connection, *code, denied.message, request_id);
    const ProtobufCMethodDescriptor *method =
        protobuf_c_service_descriptor_get_method_by_name (route->service, route->call);
    assert (method);
    s_query_t query = {json_object (), NULL, method->input};
    for (int i = 0; i < count; i++)
        json_object_set_new (query.input, names[i], json_string (values[i]));
    MHD_get_connection_values (connection, MHD_GET_ARGUMENT_KIND, s_query_arg, &query);
    if (query.unknown) {
        char message[300];
        snprintf (message, sizeof (message), "%.100s: not a parameter of %s", query.unknown,
                  route->pattern);
        free (query.unknown);
        json_decref (query.input);
        cpec_pb_destroy ((ProtobufCMessage **)&who);
        *code = CPEC_INVALID_ARGUMENT;
        return s_error (connection, CPEC_INVALID_ARGUMENT, message, request_id);
    }
    char error[256] = "";
    ProtobufCMessage *input =
        cpec_json_to_message (method->input, query.input, error, sizeof (error));
    json_decref (query.input);
    if (!input) {
        cpec_pb_destroy ((ProtobufCMessage **)&who);
        *code = CPEC_INVALID_ARGUMENT;
        return s_error (connection, CPEC_INVALID_ARGUMENT, error, request_id);
    }
    cpec_client_t *client = s_client (self);
    if (client) {
        //  the call goes as the token's principal
        cpec_client_set_principal (client, who->subject, who->role, who->province);
        cpec_client_set_enterprise (client, who->enterprise_id);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&who);
    ProtobufCMessage *output = NULL;
    cpec_status_t status;
    int rc = client ? cpec_client_call (client, route->service, route->call, request_id, input,
                                        &output, self->timeout_ms, &status)
                    : cpec_status_set (&status, CPEC_UNAVAILABLE, "no connection to the broker");
    cpec_pb_destroy (&input);
    *code = rc;
    if (rc != CPEC_OK)
        return s_error (connection, rc, status.message, request_id);
    char etag[32];
    const char *tag = s_etag (output, etag, sizeof (etag));
    char *body = cpec_json_encode (output, CPEC_JSON_DEFAULTS);
    cpec_pb_destroy (&output);
    if (!body)
        return s_error (connection, CPEC_INTERNAL, "the answer could not be encoded", request_id);
    return s_respond (connection, MHD_HTTP_OK, body, "application/json", request_id, tag);
}

//  --------------------------------------------------------------------------
//  The handler

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **state)
{
    (void)version;
    (void)upload_data;
    gw_server_t *self = (gw_server_t *)cls;
    if (*state == NULL) {
        *state = (void *)1; //  headers seen; the body (if any) comes next
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; //  no route takes a body yet: read and drop it
        return MHD_YES;
    }
    char request_id[S_REQUEST_ID_MAX + 1];
    s_request_id (connection, request_id);
    if (strcmp (url, "/healthz") == 0)
        return s_respond (connection, MHD_HTTP_OK, cpec_strdup ("ok\n"), "text/plain", request_id,
                          NULL);
    if (strcmp (url, "/readyz") == 0)
        return s_respond (connection, MHD_HTTP_OK, cpec_strdup ("ready\n"), "text/plain",
                          request_id, NULL);
    if (strcmp (url, "/openapi.json") == 0)
        return s_respond (connection, MHD_HTTP_OK, cpec_strdup (gw_openapi), "application/json",
                          request_id, NULL);
    for (int i = 0; s_static[i].path; i++)
        if (strcmp (url, s_static[i].path) == 0 && strcmp (method, "GET") == 0)
            return s_respond (connection, MHD_HTTP_OK, cpec_strdup (s_static[i].body),
                              s_static[i].type, request_id, NULL);
    if (strcmp (url, "/metrics") == 0 && self->metrics) {
        char *text = cpec_metrics_render (self->metrics);
        return s_respond (connection, MHD_HTTP_OK, text ? text : cpec_strdup (""),
                          "text/plain; version=0.0.4", request_id, NULL);
    }
    bool path_known = false;
    for (const gw_route_t *route = gw_routes; route->method; route++) {
        char buf[2 * S_PATH_MAX];
        const char *names[S_PARAMS_MAX], *values[S_PARAMS_MAX];
        int count =
            gw_route_match (route->pattern, url, buf, sizeof (buf), names, values, S_PARAMS_MAX);
        if (count < 0)
            continue;
        path_known = true;
        if (strcmp (route->method, method) == 0) {
            int64_t started = cpec_clock_ms ();
            int code = CPEC_OK;
            enum MHD_Result result =
                s_call (self, connection, route, names, values, count, request_id, &code);
            char name[128];
            snprintf (name, sizeof (name), "%s %s", route->method, route->pattern);
            if (self->metrics)
                cpec_metrics_observe (self->metrics, name, code,
                                      (double)(cpec_clock_ms () - started) / 1000.0);
            cpec_log_debug (request_id, "%s %s: %s", method, url, cpec_code_name (code));
            return result;
        }
    }
    if (path_known) {
        char message[200];
        snprintf (message, sizeof (message), "%s is not served on this path", method);
        //  405 is not a canonical code's status: answered directly
        json_t *error = json_pack ("{s:{s:s, s:s, s:s}}", "error", "code", "UNIMPLEMENTED",
                                   "message", message, "request_id", request_id);
        char *body = json_dumps (error, JSON_COMPACT);
        json_decref (error);
        return s_respond (connection, MHD_HTTP_METHOD_NOT_ALLOWED, body, "application/json",
                          request_id, NULL);
    }
    char message[300];
    snprintf (message, sizeof (message), "no route %.200s", url);
    return s_error (connection, CPEC_NOT_FOUND, message, request_id);
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
gw_server_new (const char *address, const char *broker, const char *redis_url, int timeout_ms,
               cpec_metrics_t *metrics)
{
    struct sockaddr_storage addr;
    if (!address || cpec_admin_resolve (address, &addr) != 0) {
        cpec_log_error (NULL, "CPEC_HTTP_ADDR: '%s' is not host:port", address ? address : "");
        return NULL;
    }
    gw_server_t *self = (gw_server_t *)calloc (1, sizeof (gw_server_t));
    assert (self);
    self->broker = cpec_strdup (broker);
    self->redis_url = cpec_strdup (redis_url);
    pthread_key_create (&self->store_key, s_store_free);
    self->timeout_ms = timeout_ms;
    self->metrics = metrics;
    pthread_key_create (&self->client_key, s_client_free);
    unsigned int flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon =
        MHD_start_daemon (flags, 0, NULL, NULL, &s_handle, self, MHD_OPTION_EXTERNAL_LOGGER,
                          &s_log_mhd, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned int)S_CONNECTIONS_MAX,
                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)60, MHD_OPTION_END);
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
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    pthread_key_delete (self->client_key);
    pthread_key_delete (self->store_key);
    free (self->broker);
    free (self->redis_url);
    free (self);
    *self_p = NULL;
}
