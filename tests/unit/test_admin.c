/*  test_admin - cpec_admin over real HTTP: /healthz, /readyz, /metrics,
    404, 405, HEAD, address errors. The client is a plain HTTP/1.0 socket.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cpec_admin.h"
#include "cpec_status.h"

typedef struct
{
    int status;    //  HTTP status, or -1 if the request failed
    char *headers; //  the header block, lines joined by \r\n
    char *body;    //  the body (NUL-terminated)
} s_response_t;

static void
s_response_free (s_response_t *response)
{
    free (response->headers);
    free (response->body);
    memset (response, 0, sizeof (*response));
}

//  Sends one HTTP/1.0 request to host:port (IPv4 or IPv6) and reads the
//  whole answer.
static s_response_t
s_http (const char *host, int port, const char *method, const char *path)
{
    s_response_t response = {-1, NULL, NULL};
    struct sockaddr_storage addr;
    socklen_t length;
    memset (&addr, 0, sizeof (addr));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton (AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons ((uint16_t)port);
        length = sizeof (*v4);
    } else {
        assert_int_equal (inet_pton (AF_INET6, host, &v6->sin6_addr), 1);
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons ((uint16_t)port);
        length = sizeof (*v6);
    }
    int fd = socket (addr.ss_family, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct timeval timeout = {5, 0};
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof (timeout));
    if (connect (fd, (struct sockaddr *)&addr, length) != 0) {
        close (fd);
        return response;
    }
    char request[512];
    int size = snprintf (request, sizeof (request),
                         "%s %s HTTP/1.0\r\nHost: test\r\nContent-Length: 0\r\n\r\n", method, path);
    assert_int_equal (send (fd, request, (size_t)size, MSG_NOSIGNAL), size);

    size_t used = 0, max = 4096;
    char *data = malloc (max + 1);
    assert_non_null (data);
    for (;;) {
        if (used == max) {
            max *= 2;
            data = realloc (data, max + 1);
            assert_non_null (data);
        }
        ssize_t got = recv (fd, data + used, max - used, 0);
        assert_true (got >= 0); //  no timeout
        if (got == 0)
            break;
        used += (size_t)got;
    }
    close (fd);
    data[used] = '\0';

    char *split = strstr (data, "\r\n\r\n");
    assert_non_null (split);
    *split = '\0';
    assert_int_equal (sscanf (data, "HTTP/1.%*d %d", &response.status), 1);
    response.headers = strdup (data);
    response.body = strdup (split + 4);
    free (data);
    return response;
}

//  The value of a header (case-insensitive name), or NULL; borrowed.
static const char *
s_header (s_response_t *response, const char *name, char *value, size_t size)
{
    size_t length = strlen (name);
    for (const char *line = strstr (response->headers, "\r\n"); line;
         line = strstr (line + 2, "\r\n")) {
        if (strncasecmp (line + 2, name, length) == 0 && line[2 + length] == ':') {
            const char *start = line + 3 + length;
            while (*start == ' ')
                start++;
            const char *end = strstr (start, "\r\n");
            size_t span = end ? (size_t)(end - start) : strlen (start);
            snprintf (value, size, "%.*s", (int)span, start);
            return value;
        }
    }
    return NULL;
}

static void
test_endpoints (void **state)
{
    (void)state;
    cpec_metrics_t *metrics = cpec_metrics_new ("registry");
    cpec_metrics_observe (metrics, "GetZone", CPEC_OK, 0.004);
    cpec_admin_t *admin = cpec_admin_new ("127.0.0.1:0", metrics);
    assert_non_null (admin);
    int port = cpec_admin_port (admin);
    assert_true (port > 0 && port < 65536);
    char value[256];

    s_response_t response = s_http ("127.0.0.1", port, "GET", "/healthz");
    assert_int_equal (response.status, 200);
    assert_string_equal (response.body, "ok\n");
    assert_non_null (s_header (&response, "Content-Type", value, sizeof (value)));
    assert_non_null (strstr (value, "text/plain"));
    s_response_free (&response);

    response = s_http ("127.0.0.1", port, "GET", "/readyz");
    assert_int_equal (response.status, 503);
    assert_string_equal (response.body, "not ready\n");
    s_response_free (&response);

    cpec_admin_set_ready (admin, true);
    response = s_http ("127.0.0.1", port, "GET", "/readyz");
    assert_int_equal (response.status, 200);
    assert_string_equal (response.body, "ready\n");
    s_response_free (&response);

    cpec_admin_set_ready (admin, false);
    response = s_http ("127.0.0.1", port, "GET", "/readyz");
    assert_int_equal (response.status, 503);
    s_response_free (&response);

    cpec_metrics_count (metrics, "cpec_scrape_test_total", "Counted after start.", 2);
    response = s_http ("127.0.0.1", port, "GET", "/metrics");
    assert_int_equal (response.status, 200);
    assert_non_null (s_header (&response, "Content-Type", value, sizeof (value)));
    assert_non_null (strstr (value, "text/plain"));
    assert_non_null (strstr (value, "version=0.0.4"));
    assert_non_null (strstr (response.body, "# TYPE cpec_request_duration_seconds histogram\n"));
    assert_non_null (strstr (response.body, "cpec_requests_total{service=\"registry\","
                                            "method=\"GetZone\",code=\"OK\"} 1\n"));
    assert_non_null (strstr (response.body, "cpec_scrape_test_total{service=\"registry\"} 2\n"));
    s_response_free (&response);

    //  The query string does not change the path.
    response = s_http ("127.0.0.1", port, "GET", "/healthz?verbose=1");
    assert_int_equal (response.status, 200);
    s_response_free (&response);

    response = s_http ("127.0.0.1", port, "GET", "/nope");
    assert_int_equal (response.status, 404);
    s_response_free (&response);
    response = s_http ("127.0.0.1", port, "GET", "/healthz/extra");
    assert_int_equal (response.status, 404);
    s_response_free (&response);

    response = s_http ("127.0.0.1", port, "HEAD", "/healthz");
    assert_int_equal (response.status, 200);
    assert_string_equal (response.body, "");
    s_response_free (&response);

    const char *methods[] = {"POST", "PUT", "DELETE"};
    for (int index = 0; index < 3; index++) {
        response = s_http ("127.0.0.1", port, methods[index], "/healthz");
        assert_int_equal (response.status, 405);
        assert_non_null (s_header (&response, "Allow", value, sizeof (value)));
        assert_non_null (strstr (value, "GET"));
        s_response_free (&response);
    }

    //  The port is taken: a second endpoint cannot have it.
    char address[64];
    snprintf (address, sizeof (address), "127.0.0.1:%d", port);
    cpec_admin_t *second = cpec_admin_new (address, metrics);
    assert_null (second);

    cpec_admin_destroy (&admin);
    assert_null (admin);
    cpec_admin_destroy (&admin);
    response = s_http ("127.0.0.1", port, "GET", "/healthz");
    assert_int_equal (response.status, -1); //  nobody listens any more
    cpec_metrics_destroy (&metrics);
}

static void
test_without_metrics (void **state)
{
    (void)state;
    cpec_admin_t *admin = cpec_admin_new ("127.0.0.1:0", NULL);
    assert_non_null (admin);
    s_response_t response = s_http ("127.0.0.1", cpec_admin_port (admin), "GET", "/metrics");
    assert_int_equal (response.status, 200);
    assert_string_equal (response.body, "");
    s_response_free (&response);
    cpec_admin_destroy (&admin);
}

static void
test_bad_addresses (void **state)
{
    (void)state;
    const char *bad[] = {"",
                         "nonsense",
                         "127.0.0.1",
                         "127.0.0.1:",
                         "127.0.0.1:abc",
                         "127.0.0.1:99999",
                         "127.0.0.1:-1"};
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad[0]); index++) {
        cpec_admin_t *admin = cpec_admin_new (bad[index], NULL);
        if (admin)
            fail_msg ("accepted bad address '%s'", bad[index]);
    }
}

static void
test_ipv6 (void **state)
{
    (void)state;
    //  Only where the host has IPv6 loopback.
    int fd = socket (AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int usable = fd >= 0 && bind (fd, (struct sockaddr *)&addr, sizeof (addr)) == 0;
    if (fd >= 0)
        close (fd);
    if (!usable)
        skip ();
    cpec_admin_t *admin = cpec_admin_new ("[::1]:0", NULL);
    assert_non_null (admin);
    s_response_t response = s_http ("::1", cpec_admin_port (admin), "GET", "/healthz");
    assert_int_equal (response.status, 200);
    s_response_free (&response);
    cpec_admin_destroy (&admin);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_endpoints),
        cmocka_unit_test (test_without_metrics),
        cmocka_unit_test (test_bad_addresses),
        cmocka_unit_test (test_ipv6),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
