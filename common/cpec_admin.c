/*  cpec_admin - the admin HTTP endpoint (/healthz, /readyz, /metrics) on
    libmicrohttpd with its own polling thread.
*/
#include "cpec_admin.h"
#include "cpec_log.h"

#include <assert.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#define S_CONNECTION_LIMIT   64 //  concurrent admin connections
#define S_CONNECTION_TIMEOUT 10 //  seconds before an idle connection is closed

struct _cpec_admin_t
{
    struct MHD_Daemon *daemon; //  the HTTP server and its thread
    cpec_metrics_t *metrics;   //  borrowed; rendered for /metrics, may be NULL
    atomic_bool ready;         //  what /readyz answers
    int port;                  //  the bound port
};

//  Routes libmicrohttpd's diagnostics into the JSON log.
static void
s_log_mhd (void *cls, const char *format, va_list args)
{
    (void)cls;
    char text[512];
    vsnprintf (text, sizeof (text), format, args);
    size_t length = strlen (text);
    while (length && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        text[--length] = '\0';
    cpec_log_warn (NULL, "admin http: %s", text);
}

//  Queues a text/plain response; body is copied, or taken when `owned`.
static enum MHD_Result
s_reply (struct MHD_Connection *connection, unsigned int status, const char *body, bool owned,
         const char *content_type)
{
    struct MHD_Response *response = MHD_create_response_from_buffer (
        strlen (body), (void *)body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (response == NULL) {
        if (owned)
            free ((void *)body);
        return MHD_NO;
    }
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header (response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result result = MHD_queue_response (connection, status, response);
    MHD_destroy_response (response);
    return result;
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *connection, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)con_cls;
    cpec_admin_t *self = (cpec_admin_t *)cls;
    const char *text = "text/plain; charset=utf-8";

    if (strcmp (method, MHD_HTTP_METHOD_GET) != 0 && strcmp (method, MHD_HTTP_METHOD_HEAD) != 0)
        return s_reply (connection, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n", false,
                        text);
    if (strcmp (url, "/healthz") == 0)
        return s_reply (connection, MHD_HTTP_OK, "ok\n", false, text);
    if (strcmp (url, "/readyz") == 0) {
        if (atomic_load (&self->ready))
            return s_reply (connection, MHD_HTTP_OK, "ready\n", false, text);
        return s_reply (connection, MHD_HTTP_SERVICE_UNAVAILABLE, "not ready\n", false, text);
    }
    if (strcmp (url, "/metrics") == 0) {
        const char *exposition = "text/plain; version=0.0.4; charset=utf-8";
        if (self->metrics == NULL)
            return s_reply (connection, MHD_HTTP_OK, "", false, exposition);
        char *body = cpec_metrics_render (self->metrics);
        if (body == NULL)
            return s_reply (connection, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", false,
                            text);
        return s_reply (connection, MHD_HTTP_OK, body, true, exposition);
    }
    return s_reply (connection, MHD_HTTP_NOT_FOUND, "not found\n", false, text);
}

//  Resolves "host:port" ("[v6]:port" for IPv6; an empty host means every
//  interface) into addr; 0 or -1.
int
cpec_admin_resolve (const char *address, struct sockaddr_storage *addr)
{
    const char *colon = strrchr (address, ':');
    if (colon == NULL || colon[1] == '\0')
        return -1;
    char *end = NULL;
    long port = strtol (colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535 || colon[1] == '-' || colon[1] == '+')
        return -1;

    char host[256];
    size_t length = (size_t)(colon - address);
    if (length >= 2 && address[0] == '[' && address[length - 1] == ']') {
        address++;
        length -= 2;
    }
    if (length >= sizeof (host))
        return -1;
    memcpy (host, address, length);
    host[length] = '\0';
    if (length == 0 || strcmp (host, "*") == 0)
        snprintf (host, sizeof (host), "0.0.0.0");

    struct addrinfo hints, *found = NULL;
    memset (&hints, 0, sizeof (hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo (host, "0", &hints, &found) != 0 || found == NULL)
        return -1;
    //  Prefer IPv4 when a name resolves to both.
    struct addrinfo *chosen = found;
    for (struct addrinfo *item = found; item; item = item->ai_next)
        if (item->ai_family == AF_INET) {
            chosen = item;
            break;
        }
    int rc = -1;
    memset (addr, 0, sizeof (*addr));
    if (chosen->ai_family == AF_INET || chosen->ai_family == AF_INET6) {
        memcpy (addr, chosen->ai_addr, chosen->ai_addrlen);
        if (chosen->ai_family == AF_INET)
            ((struct sockaddr_in *)addr)->sin_port = htons ((uint16_t)port);
        else
            ((struct sockaddr_in6 *)addr)->sin6_port = htons ((uint16_t)port);
        rc = 0;
    }
    freeaddrinfo (found);
    return rc;
}

cpec_admin_t *
cpec_admin_new (const char *address, cpec_metrics_t *metrics)
{
    struct sockaddr_storage addr;
    if (address == NULL || cpec_admin_resolve (address, &addr) != 0) {
        cpec_log_error (NULL, "admin http: invalid address '%s' (want host:port)",
                        address ? address : "");
        return NULL;
    }
    cpec_admin_t *self = (cpec_admin_t *)calloc (1, sizeof (cpec_admin_t));
    if (self == NULL)
        return NULL;
    self->metrics = metrics;
    atomic_init (&self->ready, false);

    unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    //  The logger goes first so that every message of the start goes to it.
    //  A process started again right after the one before it was killed may
    //  find the port still held for a moment while the old one is torn
    //  down: it tries again for up to 3 s before it gives up
    for (int attempt = 0; attempt < 30 && self->daemon == NULL; attempt++) {
        if (attempt)
            usleep (100 * 1000);
        self->daemon = MHD_start_daemon (
            flags, 0, NULL, NULL, &s_handle, self, MHD_OPTION_EXTERNAL_LOGGER, &s_log_mhd, NULL,
            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
            (unsigned int)S_CONNECTION_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned int)S_CONNECTION_TIMEOUT, MHD_OPTION_END);
    }
    if (self->daemon == NULL) {
        cpec_log_error (NULL, "admin http: cannot listen on %s", address);
        free (self);
        return NULL;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info (self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : 0;
    if (self->port == 0) {
        cpec_log_error (NULL, "admin http: cannot tell the port bound for %s", address);
        cpec_admin_destroy (&self);
        return NULL;
    }
    return self;
}

void
cpec_admin_destroy (cpec_admin_t **self_p)
{
    assert (self_p);
    cpec_admin_t *self = *self_p;
    if (self == NULL)
        return;
    if (self->daemon)
        MHD_stop_daemon (self->daemon);
    free (self);
    *self_p = NULL;
}

int
cpec_admin_port (cpec_admin_t *self)
{
    assert (self);
    return self->port;
}

void
cpec_admin_set_ready (cpec_admin_t *self, bool ready)
{
    assert (self);
    atomic_store (&self->ready, ready);
}
