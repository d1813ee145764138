/*  notify_sink - the far end of the notification service in its integration
    tests and benchmark: a webhook receiver (HTTP) and an SMTP sink in one
    process, both on 127.0.0.1, that write every request they get as one JSON
    line to a log file and answer as they are told at run time.

    notify_sink --http PORT [--smtp PORT] --log FILE [--mode MODE]
                [--secret [/PREFIX=]KEY]...
        --http PORT   the webhook receiver (libmicrohttpd, 2 threads, epoll)
        --smtp PORT   the SMTP sink; 0 or absent: none
        --log FILE    one JSON line per request, appended and flushed at once
        --mode MODE   how "/" (every path) answers at start; default "ok"
        --secret KEY  the HMAC-SHA256 key of the webhooks under PREFIX
                      (default "/"): their line gets "hmac_ok"; repeatable
    Prints "ready" once both listeners accept; exits 0 on SIGTERM or SIGINT.

    HTTP. A request to any path not starting with "/_" is recorded (body up
    to 8 MiB, else 413) and answered by the mode of the longest prefix of
    its path that has one:
        ok            200 {"ok":true}
        200..599      that status, e.g. 500, 503, 400, 404, 410
        429[:N]       429, with "Retry-After: N" when N is given
        hang          no answer until the sink stops (recorded as status 0)
        slow:MS       200 after MS milliseconds
        fail-first:N  500 to the first N requests since the mode was set,
                      then 200
    Control endpoints (JSON answers):
        POST /_mode?prefix=/x   body MODE: sets the mode of /x (default "/")
        GET  /_mode             every prefix and its mode
        GET  /_count?prefix=/x  {"count":N}: requests recorded under /x
        GET  /_count?kind=smtp  {"count":N}: messages accepted by SMTP
        GET  /_health           {"ok":true}
        POST /_reset            counts and fail-first progress back to 0
    A line: {"kind":"http","at_ms","path","method","delivery","event",
    "signature","content_type","status","body","body_b64"} (the last three
    headers are X-CPEC-Delivery, X-CPEC-Event and X-CPEC-Signature, "" when
    absent), plus "hmac_ok" under a --secret, "body_invalid":true when the
    body is not UTF-8 (then "body" is "") and "body_too_large":true.

    SMTP. RFC 5321 without extensions beyond 8BITMIME, SMTPUTF8 and SIZE,
    one client at a time, 30 s idle timeout. Each message accepted is a line
    {"kind":"smtp","at_ms","from","to":[...],"data","data_b64"}, "data" the
    message as received (dot-stuffing undone, line ends kept).
*/
#include <czmq.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_BODY_MAX         (8 * 1024 * 1024) //  largest webhook body recorded
#define S_CONTROL_MAX      4096              //  largest body of a control request
#define S_HTTP_THREADS     2                 //  libmicrohttpd's thread pool
#define S_HTTP_CONNECTIONS 8192              //  concurrent HTTP connections at most
#define S_HTTP_IDLE_S      120               //  an idle keep-alive connection is closed after
#define S_SMTP_SIZE_MAX    10485760          //  largest message (announced as SIZE)
#define S_SMTP_LINE_MAX    (1024 * 1024)     //  longest line a client may send
#define S_SMTP_IDLE_MS     30000             //  a silent SMTP client is dropped after
#define S_TICK_MS          200               //  how often blocked threads look at `stopping`
#define S_STOP_WAIT_MS     5000              //  how long the stop waits for resumed requests
#define S_SLOW_MAX_MS      3600000           //  longest slow:MS

//  How a prefix answers.
typedef enum
{
    S_MODE_STATUS,    //  `status` at once (200 is {"ok":true})
    S_MODE_HANG,      //  never
    S_MODE_SLOW,      //  200 after `delay_ms`
    S_MODE_FAIL_FIRST //  500 to the first `failures` requests, then 200
} s_mode_kind_t;

typedef struct
{
    s_mode_kind_t kind;  //  what to do
    unsigned int status; //  S_MODE_STATUS: the status answered
    long retry_after;    //  S_MODE_STATUS 429: the Retry-After seconds, or -1
    long delay_ms;       //  S_MODE_SLOW: the delay
    long failures;       //  S_MODE_FAIL_FIRST: how many 500s
} s_mode_t;

//  A prefix with a mode.
typedef struct
{
    char *prefix;  //  "/" and what /_mode set
    char *text;    //  the mode as given, for /_mode answers
    s_mode_t mode; //  the mode parsed
    long answered; //  requests answered under this mode (fail-first)
} s_route_t;

//  A prefix with an HMAC key (from the command line, read-only afterwards).
typedef struct
{
    const char *prefix; //  "/" or what preceded "=" in --secret
    const char *key;    //  the key (borrowed from argv)
} s_secret_t;

//  A growable byte buffer.
typedef struct
{
    char *data;      //  the bytes, NULL while empty
    size_t size;     //  bytes used
    size_t capacity; //  bytes allocated
} s_bytes_t;

//  One HTTP request, from its headers to its completion.
typedef struct _s_request_t
{
    struct MHD_Connection *connection; //  libmicrohttpd's, for suspend / resume
    bool control;                      //  a /_ path
    s_bytes_t body;                    //  what was received of the body
    size_t limit;                      //  the largest body accepted
    bool too_large;                    //  the body went over `limit` (the rest is dropped)
    bool suspended;                    //  suspended once (hang or slow); counted in sink->suspended
    bool hang;                         //  suspended never to be answered
    bool listed;                       //  in sink->waiting
    int64_t due_ms;                    //  slow: when to answer (monotonic ms)
    struct _s_request_t *next;         //  next in sink->waiting
} s_request_t;

//  The whole state of the process, owned by main and shared by its threads.
typedef struct
{
    pthread_mutex_t lock;   //  guards everything below but the listeners
    pthread_cond_t changed; //  the waiting list or `suspended` changed
    FILE *log;              //  the JSON lines
    s_route_t *routes;      //  the prefixes with a mode, "/" first
    size_t route_count;     //  how many
    zhashx_t *counts;       //  path -> uint64_t * requests recorded since /_reset
    uint64_t smtp_count;    //  messages accepted since /_reset
    s_request_t *waiting;   //  suspended requests (hang and slow) not yet resumed
    size_t suspended;       //  suspended requests not yet completed
    atomic_bool stopping;   //  set once by the signal: every thread winds down
    //  Set up by main, read-only afterwards:
    s_secret_t *secrets;     //  the --secret keys
    size_t secret_count;     //  how many
    struct MHD_Daemon *http; //  the webhook receiver
    int smtp_fd;             //  the SMTP listening socket, or -1
    pthread_t smtp_thread;   //  accepts and serves SMTP clients
    pthread_t timer_thread;  //  resumes slow requests when due
} sink_t;

//  ---------------------------------------------------------------------------
//  Small utilities

static int64_t
s_clock_ms (clockid_t clock)
{
    struct timespec now;
    clock_gettime (clock, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Appends size bytes; 0, or -1 when out of memory.
static int
s_bytes_append (s_bytes_t *self, const void *bytes, size_t size)
{
    if (self->size + size + 1 > self->capacity) {
        size_t capacity = self->capacity ? self->capacity : 1024;
        while (capacity < self->size + size + 1)
            capacity *= 2;
        char *data = (char *)realloc (self->data, capacity);
        if (data == NULL)
            return -1;
        self->data = data;
        self->capacity = capacity;
    }
    memcpy (self->data + self->size, bytes, size);
    self->size += size;
    self->data[self->size] = '\0';
    return 0;
}

//  Parses a whole decimal number in [min, max] into *value; 0 or -1.
static int
s_parse_long (const char *text, long min, long max, long *value)
{
    if (*text < '0' || *text > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long number = strtol (text, &end, 10);
    if (errno || *end != '\0' || number < min || number > max)
        return -1;
    *value = number;
    return 0;
}

//  Sets key to bytes as a JSON string; bytes that are not UTF-8 become ""
//  with invalid_key set to true.
static void
s_json_set_text (json_t *object, const char *key, const char *bytes, size_t size,
                 const char *invalid_key)
{
    json_t *text = json_stringn (bytes ? bytes : "", size);
    json_object_set_new (object, key, text ? text : json_string (""));
    if (text == NULL)
        json_object_set_new (object, invalid_key, json_true ());
}

//  Sets key to the base64 of bytes (one line, no newlines).
static void
s_json_set_base64 (json_t *object, const char *key, const char *bytes, size_t size)
{
    size_t length = 4 * ((size + 2) / 3);
    unsigned char *text = (unsigned char *)malloc (length + 1);
    if (text == NULL)
        return;
    int written = EVP_EncodeBlock (text, (const unsigned char *)(bytes ? bytes : ""), (int)size);
    json_object_set_new (object, key, json_stringn ((const char *)text, (size_t)written));
    free (text);
}

//  Writes line (taken) to the log; a webhook counts for path, a message for
//  SMTP when path is NULL.
static void
s_record (sink_t *sink, json_t **line_p, const char *path)
{
    char *text = json_dumps (*line_p, JSON_COMPACT);
    json_decref (*line_p);
    *line_p = NULL;
    pthread_mutex_lock (&sink->lock);
    if (text) {
        fputs (text, sink->log);
        fputc ('\n', sink->log);
        fflush (sink->log);
    } else
        fprintf (stderr, "notify_sink: cannot encode a log line (out of memory)\n");
    if (path == NULL)
        sink->smtp_count++;
    else {
        uint64_t *count = (uint64_t *)zhashx_lookup (sink->counts, path);
        if (count)
            (*count)++;
        else if ((count = (uint64_t *)malloc (sizeof (uint64_t)))) {
            *count = 1;
            zhashx_insert (sink->counts, path, count);
        }
    }
    pthread_mutex_unlock (&sink->lock);
    free (text);
}

//  ---------------------------------------------------------------------------
//  Modes and secrets

//  Parses text (a mode as documented above) into *mode; 0 or -1.
static int
s_mode_parse (const char *text, s_mode_t *mode)
{
    s_mode_t parsed = {S_MODE_STATUS, 200, -1, 0, 0};
    long number;
    if (strcasecmp (text, "ok") == 0)
        ;
    else if (strcasecmp (text, "hang") == 0)
        parsed.kind = S_MODE_HANG;
    else if (strncasecmp (text, "slow:", 5) == 0) {
        if (s_parse_long (text + 5, 0, S_SLOW_MAX_MS, &parsed.delay_ms))
            return -1;
        parsed.kind = S_MODE_SLOW;
    } else if (strncasecmp (text, "fail-first:", 11) == 0) {
        if (s_parse_long (text + 11, 0, LONG_MAX, &parsed.failures))
            return -1;
        parsed.kind = S_MODE_FAIL_FIRST;
    } else if (strncmp (text, "429:", 4) == 0) {
        if (s_parse_long (text + 4, 0, 1000000000L, &parsed.retry_after))
            return -1;
        parsed.status = 429;
    } else if (strlen (text) == 3 && s_parse_long (text, 200, 599, &number) == 0)
        parsed.status = (unsigned int)number;
    else
        return -1;
    *mode = parsed;
    return 0;
}

//  Sets the mode of prefix (text already parsed into mode); 0 or -1 when
//  out of memory. Called with the lock held.
static int
s_route_set (sink_t *sink, const char *prefix, const char *text, const s_mode_t *mode)
{
    s_route_t *route = NULL;
    for (size_t index = 0; index < sink->route_count; index++)
        if (strcmp (sink->routes[index].prefix, prefix) == 0)
            route = &sink->routes[index];
    char *copy = strdup (text);
    if (copy == NULL)
        return -1;
    if (route == NULL) {
        s_route_t *routes =
            (s_route_t *)realloc (sink->routes, (sink->route_count + 1) * sizeof (s_route_t));
        char *prefix_copy = strdup (prefix);
        if (routes)
            sink->routes = routes;
        if (routes == NULL || prefix_copy == NULL) {
            free (copy);
            free (prefix_copy);
            return -1;
        }
        route = &sink->routes[sink->route_count++];
        route->prefix = prefix_copy;
        route->text = NULL;
    }
    free (route->text);
    route->text = copy;
    route->mode = *mode;
    route->answered = 0;
    return 0;
}

//  The route of path: the longest prefix with a mode ("/" at least). Called
//  with the lock held.
static s_route_t *
s_route_find (sink_t *sink, const char *path)
{
    s_route_t *best = &sink->routes[0];
    size_t best_length = 0;
    for (size_t index = 0; index < sink->route_count; index++) {
        size_t length = strlen (sink->routes[index].prefix);
        if (length > best_length && strncmp (path, sink->routes[index].prefix, length) == 0) {
            best = &sink->routes[index];
            best_length = length;
        }
    }
    return best;
}

//  The HMAC key of path (longest prefix), or NULL.
static const s_secret_t *
s_secret_find (sink_t *sink, const char *path)
{
    const s_secret_t *best = NULL;
    size_t best_length = 0;
    for (size_t index = 0; index < sink->secret_count; index++) {
        size_t length = strlen (sink->secrets[index].prefix);
        if ((best == NULL || length > best_length) &&
            strncmp (path, sink->secrets[index].prefix, length) == 0) {
            best = &sink->secrets[index];
            best_length = length;
        }
    }
    return best;
}

//  Whether signature is "sha256=" + the lowercase hex HMAC-SHA256 of body.
static bool
s_signature_ok (const char *key, const char *signature, const char *body, size_t size)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    if (HMAC (EVP_sha256 (), key, (int)strlen (key), (const unsigned char *)(body ? body : ""),
              size, digest, &digest_size) == NULL)
        return false;
    char expected[8 + 2 * EVP_MAX_MD_SIZE] = "sha256=";
    for (unsigned int index = 0; index < digest_size; index++)
        snprintf (expected + 7 + 2 * index, 3, "%02x", digest[index]);
    return strcmp (signature, expected) == 0;
}

//  ---------------------------------------------------------------------------
//  HTTP answers

//  Queues status with a copy of body (NULL: none) of content type json.
static enum MHD_Result
s_http_reply (struct MHD_Connection *connection, unsigned int status, const char *body,
              long retry_after)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        body ? strlen (body) : 0, (void *)(body ? body : ""), MHD_RESPMEM_MUST_COPY);
    if (response == NULL)
        return MHD_NO;
    if (body)
        MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (retry_after >= 0) {
        char seconds[24];
        snprintf (seconds, sizeof (seconds), "%ld", retry_after);
        MHD_add_response_header (response, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
    }
    enum MHD_Result result = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return result;
}

//  Queues status with body (taken) as compact JSON.
static enum MHD_Result
s_http_reply_json (struct MHD_Connection *connection, unsigned int status, json_t *body)
{
    char *text = json_dumps (body, JSON_COMPACT);
    json_decref (body);
    if (text == NULL)
        return MHD_NO;
    enum MHD_Result result = s_http_reply (connection, status, text, -1);
    free (text);
    return result;
}

static enum MHD_Result
s_http_error (struct MHD_Connection *connection, unsigned int status, const char *message)
{
    return s_http_reply_json (connection, status, json_pack ("{ss}", "error", message));
}

//  The answer of a webhook of mode `status`: 200 carries {"ok":true}.
static enum MHD_Result
s_http_answer (struct MHD_Connection *connection, unsigned int status, long retry_after)
{
    return s_http_reply (connection, status, status == 200 ? "{\"ok\":true}" : NULL, retry_after);
}

//  Takes request out of libmicrohttpd's loop until the timer (slow) or the
//  stop (hang and slow) resumes it.
static void
s_http_suspend (sink_t *sink, s_request_t *request, bool hang, long delay_ms)
{
    MHD_suspend_connection (request->connection);
    pthread_mutex_lock (&sink->lock);
    request->suspended = true;
    request->hang = hang;
    request->due_ms = s_clock_ms (CLOCK_MONOTONIC) + delay_ms;
    sink->suspended++;
    bool stopping = atomic_load (&sink->stopping);
    if (!stopping) {
        request->next = sink->waiting;
        request->listed = true;
        sink->waiting = request;
        pthread_cond_broadcast (&sink->changed);
    }
    pthread_mutex_unlock (&sink->lock);
    //  The stop has already resumed those it found: resume this one too.
    if (stopping)
        MHD_resume_connection (request->connection);
}

//  ---------------------------------------------------------------------------
//  HTTP: webhooks

//  A webhook fully received: record it and answer by its mode.
static enum MHD_Result
s_hook (sink_t *sink, s_request_t *request, const char *path, const char *method)
{
    struct MHD_Connection *connection = request->connection;
    s_mode_t mode = {S_MODE_STATUS, 413, -1, 0, 0};
    unsigned int status = 413;
    if (!request->too_large) {
        pthread_mutex_lock (&sink->lock);
        s_route_t *route = s_route_find (sink, path);
        mode = route->mode;
        long answered = ++route->answered;
        pthread_mutex_unlock (&sink->lock);
        status = mode.kind == S_MODE_STATUS       ? mode.status
                 : mode.kind == S_MODE_HANG       ? 0
                 : mode.kind == S_MODE_FAIL_FIRST ? (answered <= mode.failures ? 500 : 200)
                                                  : 200;
    }

    const char *delivery =
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "X-CPEC-Delivery");
    const char *event = MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "X-CPEC-Event");
    const char *signature =
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, "X-CPEC-Signature");
    const char *content_type =
        MHD_lookup_connection_value (connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *body = request->too_large ? "" : request->body.data;
    size_t size = request->too_large ? 0 : request->body.size;

    json_t *line = json_object ();
    if (line == NULL)
        return MHD_NO;
    json_object_set_new (line, "kind", json_string ("http"));
    json_object_set_new (line, "at_ms", json_integer (s_clock_ms (CLOCK_REALTIME)));
    s_json_set_text (line, "path", path, strlen (path), "path_invalid");
    json_object_set_new (line, "method", json_string (method));
    s_json_set_text (line, "delivery", delivery, delivery ? strlen (delivery) : 0,
                     "delivery_invalid");
    s_json_set_text (line, "event", event, event ? strlen (event) : 0, "event_invalid");
    s_json_set_text (line, "signature", signature, signature ? strlen (signature) : 0,
                     "signature_invalid");
    s_json_set_text (line, "content_type", content_type, content_type ? strlen (content_type) : 0,
                     "content_type_invalid");
    json_object_set_new (line, "status", json_integer (status));
    s_json_set_text (line, "body", body, size, "body_invalid");
    s_json_set_base64 (line, "body_b64", body, size);
    const s_secret_t *secret = s_secret_find (sink, path);
    if (secret)
        json_object_set_new (
            line, "hmac_ok",
            json_boolean (signature && s_signature_ok (secret->key, signature, body, size)));
    if (request->too_large)
        json_object_set_new (line, "body_too_large", json_true ());
    s_record (sink, &line, path);

    if (mode.kind == S_MODE_HANG) {
        s_http_suspend (sink, request, true, 0);
        return MHD_YES;
    }
    if (mode.kind == S_MODE_SLOW && mode.delay_ms > 0) {
        s_http_suspend (sink, request, false, mode.delay_ms);
        return MHD_YES;
    }
    return s_http_answer (connection, status, mode.retry_after);
}

//  ---------------------------------------------------------------------------
//  HTTP: control endpoints

//  POST /_mode?prefix=P with the mode as body.
static enum MHD_Result
s_control_mode_set (sink_t *sink, s_request_t *request)
{
    const char *prefix =
        MHD_lookup_connection_value (request->connection, MHD_GET_ARGUMENT_KIND, "prefix");
    if (prefix == NULL || *prefix == '\0')
        prefix = "/";
    if (*prefix != '/')
        return s_http_error (request->connection, 400, "the prefix must start with /");
    char *text = request->body.data ? request->body.data : "";
    while (*text == ' ' || *text == '\t' || *text == '\r' || *text == '\n')
        text++;
    size_t length = strlen (text);
    while (length && strchr (" \t\r\n", text[length - 1]))
        text[--length] = '\0';
    s_mode_t mode;
    if (s_mode_parse (text, &mode))
        return s_http_error (request->connection, 400, "invalid mode");
    pthread_mutex_lock (&sink->lock);
    int rc = s_route_set (sink, prefix, text, &mode);
    pthread_mutex_unlock (&sink->lock);
    if (rc)
        return s_http_error (request->connection, 500, "out of memory");
    return s_http_reply_json (request->connection, 200,
                              json_pack ("{ssss}", "prefix", prefix, "mode", text));
}

//  GET /_mode: {"modes":{"/":"ok",...}}.
static enum MHD_Result
s_control_mode_list (sink_t *sink, s_request_t *request)
{
    json_t *modes = json_object ();
    pthread_mutex_lock (&sink->lock);
    for (size_t index = 0; index < sink->route_count; index++)
        json_object_set_new (modes, sink->routes[index].prefix,
                             json_string (sink->routes[index].text));
    pthread_mutex_unlock (&sink->lock);
    return s_http_reply_json (request->connection, 200, json_pack ("{so}", "modes", modes));
}

//  GET /_count?prefix=P or ?kind=smtp.
static enum MHD_Result
s_control_count (sink_t *sink, s_request_t *request)
{
    const char *prefix =
        MHD_lookup_connection_value (request->connection, MHD_GET_ARGUMENT_KIND, "prefix");
    const char *kind =
        MHD_lookup_connection_value (request->connection, MHD_GET_ARGUMENT_KIND, "kind");
    if (prefix == NULL || *prefix == '\0')
        prefix = "/";
    if (kind && strcmp (kind, "smtp") != 0 && strcmp (kind, "http") != 0)
        return s_http_error (request->connection, 400, "kind is http or smtp");
    size_t length = strlen (prefix);
    uint64_t count = 0;
    pthread_mutex_lock (&sink->lock);
    if (kind && strcmp (kind, "smtp") == 0)
        count = sink->smtp_count;
    else
        for (uint64_t *item = (uint64_t *)zhashx_first (sink->counts); item;
             item = (uint64_t *)zhashx_next (sink->counts)) {
            const char *path = (const char *)zhashx_cursor (sink->counts);
            if (strncmp (path, prefix, length) == 0)
                count += *item;
        }
    pthread_mutex_unlock (&sink->lock);
    return s_http_reply_json (request->connection, 200,
                              json_pack ("{sI}", "count", (json_int_t)count));
}

//  POST /_reset.
static enum MHD_Result
s_control_reset (sink_t *sink, s_request_t *request)
{
    pthread_mutex_lock (&sink->lock);
    zhashx_purge (sink->counts);
    sink->smtp_count = 0;
    for (size_t index = 0; index < sink->route_count; index++)
        sink->routes[index].answered = 0;
    pthread_mutex_unlock (&sink->lock);
    return s_http_reply_json (request->connection, 200, json_pack ("{sb}", "ok", 1));
}

static enum MHD_Result
s_control (sink_t *sink, s_request_t *request, const char *path, const char *method)
{
    if (request->too_large)
        return s_http_error (request->connection, 413, "body too large");
    bool get =
        strcmp (method, MHD_HTTP_METHOD_GET) == 0 || strcmp (method, MHD_HTTP_METHOD_HEAD) == 0;
    bool post = strcmp (method, MHD_HTTP_METHOD_POST) == 0;
    if (strcmp (path, "/_health") == 0 && get)
        return s_http_reply_json (request->connection, 200, json_pack ("{sb}", "ok", 1));
    if (strcmp (path, "/_mode") == 0 && post)
        return s_control_mode_set (sink, request);
    if (strcmp (path, "/_mode") == 0 && get)
        return s_control_mode_list (sink, request);
    if (strcmp (path, "/_count") == 0 && get)
        return s_control_count (sink, request);
    if (strcmp (path, "/_reset") == 0 && post)
        return s_control_reset (sink, request);
    if (strcmp (path, "/_health") == 0 || strcmp (path, "/_mode") == 0 ||
        strcmp (path, "/_count") == 0 || strcmp (path, "/_reset") == 0)
        return s_http_error (request->connection, 405, "method not allowed");
    return s_http_error (request->connection, 404, "no such control endpoint");
}

//  ---------------------------------------------------------------------------
//  HTTP: libmicrohttpd callbacks and the timer

//  libmicrohttpd's diagnostics on stderr, but for the stop, which closes the
//  hung requests on purpose (each an "internal error" to it).
static void
s_http_log (void *cls, const char *format, va_list args)
{
    sink_t *sink = (sink_t *)cls;
    if (atomic_load (&sink->stopping))
        return;
    fputs ("notify_sink: http: ", stderr);
    vfprintf (stderr, format, args);
}

static enum MHD_Result
s_http_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
               const char *version, const char *upload_data, size_t *upload_data_size,
               void **req_cls)
{
    (void)version;
    sink_t *sink = (sink_t *)cls;
    s_request_t *request = (s_request_t *)*req_cls;
    if (request == NULL) {
        //  The headers are in: the body (if any) comes next.
        request = (s_request_t *)calloc (1, sizeof (s_request_t));
        if (request == NULL)
            return MHD_NO;
        request->connection = connection;
        request->control = strncmp (url, "/_", 2) == 0;
        request->limit = request->control ? S_CONTROL_MAX : S_BODY_MAX;
        *req_cls = request;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        if (request->too_large || request->body.size + size > request->limit) {
            request->too_large = true;
            free (request->body.data);
            request->body = (s_bytes_t){NULL, 0, 0};
            return MHD_YES;
        }
        return s_bytes_append (&request->body, upload_data, size) ? MHD_NO : MHD_YES;
    }
    if (request->suspended) {
        //  Resumed: a slow request is due, a hung one is closed by the stop.
        if (request->hang)
            return MHD_NO;
        return s_http_answer (connection, 200, -1);
    }
    if (request->control)
        return s_control (sink, request, url, method);
    return s_hook (sink, request, url, method);
}

static void
s_http_completed (void *cls, struct MHD_Connection *connection, void **req_cls,
                  enum MHD_RequestTerminationCode code)
{
    (void)connection;
    (void)code;
    sink_t *sink = (sink_t *)cls;
    s_request_t *request = (s_request_t *)*req_cls;
    if (request == NULL)
        return;
    if (request->suspended) {
        pthread_mutex_lock (&sink->lock);
        s_request_t **at = &sink->waiting;
        while (request->listed && *at) {
            if (*at == request) {
                *at = request->next;
                request->listed = false;
            } else
                at = &(*at)->next;
        }
        sink->suspended--;
        pthread_cond_broadcast (&sink->changed);
        pthread_mutex_unlock (&sink->lock);
    }
    free (request->body.data);
    free (request);
    *req_cls = NULL;
}

//  Waits on sink->changed until the monotonic time until_ms (lock held).
static void
s_wait_until (sink_t *sink, int64_t until_ms)
{
    struct timespec deadline = {(time_t)(until_ms / 1000), (long)(until_ms % 1000) * 1000000};
    pthread_cond_timedwait (&sink->changed, &sink->lock, &deadline);
}

//  The timer thread: resumes each slow request when it is due.
static void *
s_timer_run (void *arg)
{
    sink_t *sink = (sink_t *)arg;
    pthread_mutex_lock (&sink->lock);
    while (!atomic_load (&sink->stopping)) {
        int64_t now = s_clock_ms (CLOCK_MONOTONIC);
        int64_t next = now + 1000;
        s_request_t *due = NULL;
        for (s_request_t **at = &sink->waiting; *at;) {
            s_request_t *request = *at;
            if (!request->hang && request->due_ms <= now) {
                *at = request->next;
                request->listed = false;
                request->next = due;
                due = request;
            } else {
                if (!request->hang && request->due_ms < next)
                    next = request->due_ms;
                at = &request->next;
            }
        }
        if (due) {
            //  Once resumed a request may complete and be freed at any time.
            pthread_mutex_unlock (&sink->lock);
            while (due) {
                s_request_t *request = due;
                due = request->next;
                MHD_resume_connection (request->connection);
            }
            pthread_mutex_lock (&sink->lock);
        } else
            s_wait_until (sink, next);
    }
    pthread_mutex_unlock (&sink->lock);
    return NULL;
}

//  Starts the webhook receiver on 127.0.0.1:port; 0 or -1.
static int
s_http_start (sink_t *sink, int port)
{
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t)port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);

    //  Many keep-alive connections from the benchmark: as many descriptors
    //  as allowed.
    struct rlimit files;
    unsigned int limit = S_HTTP_CONNECTIONS;
    if (getrlimit (RLIMIT_NOFILE, &files) == 0) {
        files.rlim_cur = files.rlim_max;
        setrlimit (RLIMIT_NOFILE, &files);
        getrlimit (RLIMIT_NOFILE, &files);
        if (files.rlim_cur != RLIM_INFINITY && files.rlim_cur < (rlim_t)limit + 64)
            limit = files.rlim_cur > 128 ? (unsigned int)files.rlim_cur - 64 : 64;
    }
    sink->http = MHD_start_daemon (
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, &s_http_handle, sink, MHD_OPTION_EXTERNAL_LOGGER, &s_http_log, sink,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)S_HTTP_THREADS, MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)S_HTTP_IDLE_S, MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned int)1024, MHD_OPTION_NOTIFY_COMPLETED, &s_http_completed, sink, MHD_OPTION_END);
    if (sink->http == NULL) {
        fprintf (stderr, "notify_sink: cannot listen for HTTP on 127.0.0.1:%d\n", port);
        return -1;
    }
    if (pthread_create (&sink->timer_thread, NULL, &s_timer_run, sink)) {
        fprintf (stderr, "notify_sink: cannot start the timer thread\n");
        MHD_stop_daemon (sink->http);
        sink->http = NULL;
        return -1;
    }
    return 0;
}

//  Closes every suspended request, then the receiver (libmicrohttpd must not
//  be stopped with connections suspended). `stopping` is already set.
static void
s_http_stop (sink_t *sink)
{
    pthread_mutex_lock (&sink->lock);
    s_request_t *waiting = sink->waiting;
    sink->waiting = NULL;
    for (s_request_t *request = waiting; request; request = request->next)
        request->listed = false;
    pthread_cond_broadcast (&sink->changed);
    pthread_mutex_unlock (&sink->lock);
    pthread_join (sink->timer_thread, NULL);

    while (waiting) {
        s_request_t *request = waiting;
        waiting = request->next;
        MHD_resume_connection (request->connection);
    }
    pthread_mutex_lock (&sink->lock);
    int64_t until = s_clock_ms (CLOCK_MONOTONIC) + S_STOP_WAIT_MS;
    while (sink->suspended > 0 && s_clock_ms (CLOCK_MONOTONIC) < until)
        s_wait_until (sink, until);
    size_t left = sink->suspended;
    pthread_mutex_unlock (&sink->lock);
    if (left)
        fprintf (stderr, "notify_sink: %zu suspended requests did not finish\n", left);
    MHD_stop_daemon (sink->http);
    sink->http = NULL;
}

//  ---------------------------------------------------------------------------
//  SMTP

//  One SMTP client and its transaction.
typedef struct
{
    int fd;            //  the connection
    s_bytes_t input;   //  received, from `start` not yet read as lines
    size_t start;      //  where the next line starts in input
    int64_t active_ms; //  when the client last sent something (monotonic)
    bool greeted;      //  EHLO or HELO seen
    char *from;        //  MAIL FROM address; NULL outside a transaction
    json_t *to;        //  RCPT TO addresses (array)
} s_smtp_t;

//  Sends a reply (one or more lines ending in CRLF); 0 or -1.
static int
s_smtp_send (s_smtp_t *self, const char *text)
{
    size_t size = strlen (text);
    while (size > 0) {
        ssize_t sent = send (self->fd, text, size, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return -1;
        text += sent;
        size -= (size_t)sent;
    }
    return 0;
}

//  Waits until the client has sent something; 1, or 0 when the sink stops
//  or the client was silent too long (then told so).
static int
s_smtp_wait (sink_t *sink, s_smtp_t *self)
{
    while (!atomic_load (&sink->stopping)) {
        if (s_clock_ms (CLOCK_MONOTONIC) - self->active_ms >= S_SMTP_IDLE_MS) {
            s_smtp_send (self, "421 4.4.2 notify_sink idle timeout, closing\r\n");
            return 0;
        }
        struct pollfd item = {self->fd, POLLIN, 0};
        int rc = poll (&item, 1, S_TICK_MS);
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return 0;
    }
    s_smtp_send (self, "421 4.3.2 notify_sink shutting down\r\n");
    return 0;
}

//  Reads the next line into *line (NUL-terminated without its end, valid
//  until the next call), *size and *end ("\r\n" or "\n"); 1, or 0 when the
//  connection is over.
static int
s_smtp_line (sink_t *sink, s_smtp_t *self, char **line, size_t *size, const char **end)
{
    size_t scanned = 0;
    while (true) {
        char *first = self->input.data + self->start;
        size_t pending = self->input.size - self->start;
        char *newline = pending ? (char *)memchr (first + scanned, '\n', pending - scanned) : NULL;
        if (newline) {
            size_t length = (size_t)(newline - first);
            *end = "\n";
            if (length > 0 && first[length - 1] == '\r') {
                length--;
                *end = "\r\n";
            }
            first[length] = '\0';
            *line = first;
            *size = length;
            self->start += (size_t)(newline - first) + 1;
            return 1;
        }
        scanned = pending;
        if (pending > S_SMTP_LINE_MAX) {
            s_smtp_send (self, "500 5.5.6 line too long, closing\r\n");
            return 0;
        }
        //  Keep only the partial line, then receive more after it.
        if (self->start > 0) {
            memmove (self->input.data, first, pending);
            self->input.size = pending;
            self->start = 0;
        }
        char chunk[65536];
        if (!s_smtp_wait (sink, self))
            return 0;
        ssize_t received = recv (self->fd, chunk, sizeof (chunk), 0);
        if (received < 0 && errno == EINTR)
            continue;
        if (received <= 0 || s_bytes_append (&self->input, chunk, (size_t)received))
            return 0;
        self->active_ms = s_clock_ms (CLOCK_MONOTONIC);
    }
}

//  Ends the transaction (after a message, RSET or EHLO).
static void
s_smtp_reset (s_smtp_t *self)
{
    free (self->from);
    self->from = NULL;
    json_array_clear (self->to);
}

//  Whether line is the command verb, alone or followed by a space.
static bool
s_smtp_is (const char *line, const char *verb)
{
    size_t length = strlen (verb);
    return strncasecmp (line, verb, length) == 0 && (line[length] == '\0' || line[length] == ' ');
}

//  The address of "FROM:<a> PARAMS" / "TO:<a>" after keyword, as a new
//  string (parameters ignored), or NULL when malformed.
static char *
s_smtp_address (const char *line, const char *keyword)
{
    size_t length = strlen (keyword);
    if (strncasecmp (line, keyword, length) != 0)
        return NULL;
    const char *text = line + length;
    while (*text == ' ')
        text++;
    if (*text == '<') {
        const char *close = strchr (text, '>');
        return close ? strndup (text + 1, (size_t)(close - text - 1)) : NULL;
    }
    size_t span = strcspn (text, " ");
    return span ? strndup (text, span) : NULL;
}

//  After DATA: reads the message up to the lone "." and records it; 0, or
//  -1 when the connection is over.
static int
s_smtp_data (sink_t *sink, s_smtp_t *self, uint64_t *queued)
{
    if (s_smtp_send (self, "354 End data with <CR><LF>.<CR><LF>\r\n"))
        return -1;
    s_bytes_t message = {NULL, 0, 0};
    bool too_large = false;
    while (true) {
        char *line;
        size_t size;
        const char *end;
        if (!s_smtp_line (sink, self, &line, &size, &end)) {
            free (message.data);
            return -1;
        }
        if (size == 1 && line[0] == '.')
            break;
        if (line[0] == '.') {
            line++;
            size--;
        }
        if (too_large || message.size + size + 2 > S_SMTP_SIZE_MAX) {
            too_large = true;
            continue;
        }
        if (s_bytes_append (&message, line, size) || s_bytes_append (&message, end, strlen (end)))
            too_large = true;
    }
    int rc = 0;
    if (too_large)
        rc = s_smtp_send (self, "552 5.3.4 message too big\r\n");
    else {
        json_t *record = json_object ();
        json_object_set_new (record, "kind", json_string ("smtp"));
        json_object_set_new (record, "at_ms", json_integer (s_clock_ms (CLOCK_REALTIME)));
        s_json_set_text (record, "from", self->from, strlen (self->from), "from_invalid");
        json_object_set (record, "to", self->to);
        s_json_set_text (record, "data", message.data, message.size, "data_invalid");
        s_json_set_base64 (record, "data_b64", message.data, message.size);
        s_record (sink, &record, NULL);
        char reply[64];
        snprintf (reply, sizeof (reply), "250 OK queued as %" PRIu64 "\r\n", ++*queued);
        rc = s_smtp_send (self, reply);
    }
    free (message.data);
    s_smtp_reset (self);
    return rc;
}

//  Serves one client until QUIT, its end, its silence or the stop.
static void
s_smtp_session (sink_t *sink, int fd, uint64_t *queued)
{
    s_smtp_t self = {fd, {NULL, 0, 0}, 0, s_clock_ms (CLOCK_MONOTONIC), false, NULL, json_array ()};
    int rc = s_smtp_send (&self, "220 notify_sink ESMTP\r\n");
    char *line;
    size_t size;
    const char *end;
    while (rc == 0 && s_smtp_line (sink, &self, &line, &size, &end)) {
        char *address;
        if (s_smtp_is (line, "EHLO")) {
            s_smtp_reset (&self);
            self.greeted = true;
            rc = s_smtp_send (&self, "250-notify_sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n"
                                     "250 SIZE 10485760\r\n");
        } else if (s_smtp_is (line, "HELO")) {
            s_smtp_reset (&self);
            self.greeted = true;
            rc = s_smtp_send (&self, "250 notify_sink\r\n");
        } else if (strncasecmp (line, "MAIL ", 5) == 0) {
            if (!self.greeted || self.from)
                rc = s_smtp_send (&self, "503 5.5.1 bad sequence of commands\r\n");
            else if ((address = s_smtp_address (line + 5, "FROM:")) == NULL)
                rc = s_smtp_send (&self, "501 5.5.4 syntax: MAIL FROM:<address>\r\n");
            else {
                self.from = address;
                rc = s_smtp_send (&self, "250 OK\r\n");
            }
        } else if (strncasecmp (line, "RCPT ", 5) == 0) {
            if (self.from == NULL)
                rc = s_smtp_send (&self, "503 5.5.1 bad sequence of commands\r\n");
            else if ((address = s_smtp_address (line + 5, "TO:")) == NULL)
                rc = s_smtp_send (&self, "501 5.5.4 syntax: RCPT TO:<address>\r\n");
            else {
                json_t *text = json_string (address);
                free (address);
                if (text == NULL)
                    rc = s_smtp_send (&self, "553 5.1.3 address not UTF-8\r\n");
                else {
                    json_array_append_new (self.to, text);
                    rc = s_smtp_send (&self, "250 OK\r\n");
                }
            }
        } else if (s_smtp_is (line, "DATA")) {
            if (self.from == NULL || json_array_size (self.to) == 0)
                rc = s_smtp_send (&self, "503 5.5.1 bad sequence of commands\r\n");
            else
                rc = s_smtp_data (sink, &self, queued);
        } else if (s_smtp_is (line, "RSET")) {
            s_smtp_reset (&self);
            rc = s_smtp_send (&self, "250 OK\r\n");
        } else if (s_smtp_is (line, "NOOP"))
            rc = s_smtp_send (&self, "250 OK\r\n");
        else if (s_smtp_is (line, "QUIT")) {
            s_smtp_send (&self, "221 notify_sink closing\r\n");
            break;
        } else
            rc = s_smtp_send (&self, "502 5.5.2 command not recognized\r\n");
    }
    s_smtp_reset (&self);
    json_decref (self.to);
    free (self.input.data);
}

//  The SMTP thread: one client after the other until the stop.
static void *
s_smtp_run (void *arg)
{
    sink_t *sink = (sink_t *)arg;
    uint64_t queued = 0;
    while (!atomic_load (&sink->stopping)) {
        struct pollfd item = {sink->smtp_fd, POLLIN, 0};
        if (poll (&item, 1, S_TICK_MS) <= 0)
            continue;
        int fd = accept4 (sink->smtp_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            continue;
        s_smtp_session (sink, fd, &queued);
        close (fd);
    }
    return NULL;
}

//  Starts the SMTP sink on 127.0.0.1:port; 0 or -1.
static int
s_smtp_start (sink_t *sink, int port)
{
    struct sockaddr_in address;
    memset (&address, 0, sizeof (address));
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t)port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    int reuse = 1;
    sink->smtp_fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sink->smtp_fd < 0 ||
        setsockopt (sink->smtp_fd, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof (reuse)) ||
        bind (sink->smtp_fd, (struct sockaddr *)&address, sizeof (address)) ||
        listen (sink->smtp_fd, 64)) {
        fprintf (stderr, "notify_sink: cannot listen for SMTP on 127.0.0.1:%d: %s\n", port,
                 strerror (errno));
        if (sink->smtp_fd >= 0)
            close (sink->smtp_fd);
        sink->smtp_fd = -1;
        return -1;
    }
    if (pthread_create (&sink->smtp_thread, NULL, &s_smtp_run, sink)) {
        fprintf (stderr, "notify_sink: cannot start the SMTP thread\n");
        close (sink->smtp_fd);
        sink->smtp_fd = -1;
        return -1;
    }
    return 0;
}

//  ---------------------------------------------------------------------------
//  The process

static void
s_usage (FILE *stream)
{
    fprintf (stream,
             "usage: notify_sink --http PORT [--smtp PORT] --log FILE [--mode MODE]\n"
             "                   [--secret [/PREFIX=]KEY]...\n"
             "  a webhook receiver and SMTP sink on 127.0.0.1 for the notification tests;\n"
             "  every request is one JSON line in FILE. MODE: ok, 200..599, 429:N, hang,\n"
             "  slow:MS, fail-first:N. Control: POST /_mode?prefix=/x (body MODE),\n"
             "  GET /_mode, GET /_count?prefix=/x or ?kind=smtp, GET /_health, POST /_reset.\n");
}

static void
s_count_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_sink_destroy (sink_t *sink)
{
    for (size_t index = 0; index < sink->route_count; index++) {
        free (sink->routes[index].prefix);
        free (sink->routes[index].text);
    }
    free (sink->routes);
    free (sink->secrets);
    zhashx_destroy (&sink->counts);
    pthread_cond_destroy (&sink->changed);
    pthread_mutex_destroy (&sink->lock);
}

//  Reads the command line into sink, *http_port and *smtp_port; 0, 1 after
//  --help, or -1 (told on stderr).
static int
s_arguments (int argc, char *argv[], sink_t *sink, long *http_port, long *smtp_port)
{
    const char *log_path = NULL, *mode_text = "ok";
    *http_port = -1;
    *smtp_port = 0;
    for (int index = 1; index < argc; index++) {
        const char *option = argv[index];
        if (strcmp (option, "--help") == 0 || strcmp (option, "-h") == 0) {
            s_usage (stdout);
            return 1;
        }
        const char *value = index + 1 < argc ? argv[index + 1] : NULL;
        bool known = strcmp (option, "--http") == 0 || strcmp (option, "--smtp") == 0 ||
                     strcmp (option, "--log") == 0 || strcmp (option, "--mode") == 0 ||
                     strcmp (option, "--secret") == 0;
        if (!known) {
            fprintf (stderr, "notify_sink: unknown argument '%s'\n", option);
            return -1;
        }
        if (value == NULL) {
            fprintf (stderr, "notify_sink: %s needs a value\n", option);
            return -1;
        }
        index++;
        if (strcmp (option, "--http") == 0 && s_parse_long (value, 1, 65535, http_port)) {
            fprintf (stderr, "notify_sink: --http wants a port 1..65535, not '%s'\n", value);
            return -1;
        }
        if (strcmp (option, "--smtp") == 0 && s_parse_long (value, 0, 65535, smtp_port)) {
            fprintf (stderr, "notify_sink: --smtp wants a port 0..65535, not '%s'\n", value);
            return -1;
        }
        if (strcmp (option, "--log") == 0)
            log_path = value;
        if (strcmp (option, "--mode") == 0)
            mode_text = value;
        if (strcmp (option, "--secret") == 0) {
            s_secret_t *secrets = (s_secret_t *)realloc (sink->secrets, (sink->secret_count + 1) *
                                                                            sizeof (s_secret_t));
            if (secrets == NULL)
                return -1;
            sink->secrets = secrets;
            s_secret_t *secret = &sink->secrets[sink->secret_count++];
            secret->prefix = "/";
            secret->key = value;
            const char *equals = strchr (value, '=');
            if (value[0] == '/' && equals) {
                //  "/prefix=KEY": the prefix is cut off in place (argv is ours).
                argv[index][equals - value] = '\0';
                secret->prefix = value;
                secret->key = equals + 1;
            }
        }
    }
    if (*http_port < 0 || log_path == NULL) {
        fprintf (stderr, "notify_sink: --http and --log are required (see --help)\n");
        return -1;
    }
    s_mode_t mode;
    if (s_mode_parse (mode_text, &mode)) {
        fprintf (stderr, "notify_sink: invalid --mode '%s'\n", mode_text);
        return -1;
    }
    if (s_route_set (sink, "/", mode_text, &mode))
        return -1;
    sink->log = fopen (log_path, "a");
    if (sink->log == NULL) {
        fprintf (stderr, "notify_sink: cannot open %s: %s\n", log_path, strerror (errno));
        return -1;
    }
    return 0;
}

int
main (int argc, char *argv[])
{
    sink_t sink;
    memset (&sink, 0, sizeof (sink));
    sink.smtp_fd = -1;
    atomic_init (&sink.stopping, false);
    pthread_mutex_init (&sink.lock, NULL);
    pthread_condattr_t attributes;
    pthread_condattr_init (&attributes);
    pthread_condattr_setclock (&attributes, CLOCK_MONOTONIC);
    pthread_cond_init (&sink.changed, &attributes);
    pthread_condattr_destroy (&attributes);
    sink.counts = zhashx_new ();
    zhashx_set_destructor (sink.counts, &s_count_free);

    long http_port, smtp_port;
    int rc = s_arguments (argc, argv, &sink, &http_port, &smtp_port);
    if (rc != 0) {
        if (rc < 0)
            s_usage (stderr);
        s_sink_destroy (&sink);
        return rc < 0 ? 2 : 0;
    }

    //  Signals are taken by sigwait below; every thread inherits the mask.
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    signal (SIGPIPE, SIG_IGN);

    int status = 1;
    if (s_http_start (&sink, (int)http_port) == 0) {
        if (smtp_port == 0 || s_smtp_start (&sink, (int)smtp_port) == 0) {
            printf ("ready\n");
            fflush (stdout);
            int signal_number;
            sigwait (&signals, &signal_number);
            status = 0;
        }
        pthread_mutex_lock (&sink.lock);
        atomic_store (&sink.stopping, true);
        pthread_mutex_unlock (&sink.lock);
        if (sink.smtp_fd >= 0) {
            pthread_join (sink.smtp_thread, NULL);
            close (sink.smtp_fd);
        }
        s_http_stop (&sink);
    }
    fflush (sink.log);
    fclose (sink.log);
    s_sink_destroy (&sink);
    return status;
}
