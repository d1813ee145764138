/*  test_gateway - the gateway's route matching (services/gateway/
    gw_server.c): parameters taken from path segments, literal parts
    compared exactly, no empty segment, no extra segment; every route of the
    table is reachable and no two routes of one method overlap; its fields
    and methods exist; JSON merge patch (RFC 7386).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <string.h>

#include <strings.h>

#include "gateway.h"
#include "gw_patch.h"

static void
test_match (void **state)
{
    (void)state;
    char buf[256];
    const char *names[4], *values[4];
    assert_int_equal (gw_route_match ("/v1/sezs", "/v1/sezs", buf, sizeof (buf), names, values, 4),
                      0);
    assert_int_equal (
        gw_route_match ("/v1/sezs/{id}", "/v1/sezs/rashakai", buf, sizeof (buf), names, values, 4),
        1);
    assert_string_equal (names[0], "id");
    assert_string_equal (values[0], "rashakai");
    assert_int_equal (gw_route_match ("/v1/sezs/{zone_id}/milestones",
                                      "/v1/sezs/dhabeji/milestones", buf, sizeof (buf), names,
                                      values, 4),
                      1);
    assert_string_equal (names[0], "zone_id");
    assert_string_equal (values[0], "dhabeji");
    //  no match: another literal, an empty segment, an extra or a missing segment
    assert_int_equal (
        gw_route_match ("/v1/sezs/{id}", "/v1/sezs/", buf, sizeof (buf), names, values, 4), -1);
    assert_int_equal (
        gw_route_match ("/v1/sezs/{id}", "/v1/sezs/a/b", buf, sizeof (buf), names, values, 4), -1);
    assert_int_equal (
        gw_route_match ("/v1/sezs/{id}", "/v1/sez/a", buf, sizeof (buf), names, values, 4), -1);
    assert_int_equal (gw_route_match ("/v1/sezs/{zone_id}/milestones", "/v1/sezs/a", buf,
                                      sizeof (buf), names, values, 4),
                      -1);
    assert_int_equal (gw_route_match ("/v1/sezs", "/v1/sezs/", buf, sizeof (buf), names, values, 4),
                      -1);
    //  a path longer than the buffer does not match
    char long_path[400];
    memset (long_path, 'a', sizeof (long_path) - 1);
    long_path[0] = '/';
    long_path[sizeof (long_path) - 1] = '\0';
    assert_int_equal (gw_route_match ("/{id}", long_path, buf, sizeof (buf), names, values, 4), -1);
}

static void
test_table (void **state)
{
    (void)state;
    //  each route matches a path made from its own pattern, and no other
    //  route of its method matches that path
    for (const gw_route_t *route = gw_routes; route->method; route++) {
        char path[256] = "";
        for (const char *p = route->pattern; *p; p++) {
            if (*p == '{') {
                strcat (path, "x1");
                p = strchr (p, '}');
            } else
                strncat (path, p, 1);
        }
        char buf[512];
        const char *names[4], *values[4];
        assert_true (gw_route_match (route->pattern, path, buf, sizeof (buf), names, values, 4) >=
                     0);
        for (const gw_route_t *other = gw_routes; other->method; other++)
            if (other != route && strcmp (other->method, route->method) == 0 &&
                gw_route_match (other->pattern, path, buf, sizeof (buf), names, values, 4) >= 0)
                fail_msg ("%s and %s both match %s", route->pattern, other->pattern, path);
        if (!route->service) {
            //  the gateway's own
            const char *own[] = {"events", "events/stream", "audit", "import/milestones", NULL};
            bool known = false;
            for (int i = 0; own[i] && !known; i++)
                known = strcmp (own[i], route->call) == 0;
            if (!known)
                fail_msg ("%s %s: no such route of the gateway's own: %s", route->method,
                          route->pattern, route->call);
            continue;
        }
        //  the method exists in its service, the body's field in its input
        //  (a message), the reading method too; a PATCH has both
        const ProtobufCMethodDescriptor *call =
            protobuf_c_service_descriptor_get_method_by_name (route->service, route->call);
        assert_non_null (call);
        if (route->body && strcmp (route->body, "*") != 0) {
            const ProtobufCFieldDescriptor *field =
                protobuf_c_message_descriptor_get_field_by_name (call->input, route->body);
            if (!field || field->type != PROTOBUF_C_TYPE_MESSAGE)
                fail_msg ("%s %s: %s is not a message of %s", route->method, route->pattern,
                          route->body, call->input->name);
        }
        if (route->get)
            assert_non_null (
                protobuf_c_service_descriptor_get_method_by_name (route->service, route->get));
        if (strcmp (route->method, "PATCH") == 0) {
            assert_non_null (route->get);
            assert_non_null (route->body);
            assert_non_null (
                protobuf_c_message_descriptor_get_field_by_name (call->input, "update_mask"));
            assert_non_null (
                protobuf_c_message_descriptor_get_field_by_name (call->input, "expected_version"));
        }
        if (strcmp (route->method, "GET") == 0)
            assert_null (route->body);
    }
}

//  Merge patch: RFC 7386's own examples.
static void
test_merge_patch (void **state)
{
    (void)state;
    const char *cases[][3] = {
        {"{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"},
        {"{\"a\":\"b\"}", "{\"a\":null}", "{}"},
        {"{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"},
        {"{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"},
        {"{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"},
        {"{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}", "{\"a\":{\"b\":\"d\"}}"},
        {"{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"},
        {"[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"},
        {"{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"},
        {"{\"a\":\"foo\"}", "null", "null"},
        {"{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"},
        {"[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"},
        {"{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        json_t *target = json_loads (cases[i][0], JSON_DECODE_ANY, NULL);
        json_t *patch = json_loads (cases[i][1], JSON_DECODE_ANY, NULL);
        json_t *want = json_loads (cases[i][2], JSON_DECODE_ANY, NULL);
        assert_non_null (target);
        assert_non_null (patch);
        assert_non_null (want);
        json_t *got = gw_json_merge_patch (target, patch);
        if (!json_equal (got, want)) {
            char *text = json_dumps (got, JSON_ENCODE_ANY | JSON_COMPACT);
            fail_msg ("case %zu: %s + %s gave %s", i, cases[i][0], cases[i][1], text);
        }
        //  the target is not changed
        json_t *again = json_loads (cases[i][0], JSON_DECODE_ANY, NULL);
        assert_true (json_equal (target, again));
        json_decref (again);
        json_decref (got);
        json_decref (target);
        json_decref (patch);
        json_decref (want);
    }
}

//  The OpenAPI document kept in the repo describes exactly the routes
//  served: each route is there with its method and path parameters, each of
//  its query parameters is a field of the method's input, and it lists no
//  route the gateway does not serve.
static void
test_openapi_matches_routes (void **state)
{
    (void)state;
    json_error_t error;
    json_t *doc = json_loads (gw_openapi, 0, &error);
    if (!doc)
        fail_msg ("openapi.json line %d: %s", error.line, error.text);
    assert_true (strncmp (json_string_value (json_object_get (doc, "openapi")), "3.", 2) == 0);
    json_t *paths = json_object_get (doc, "paths");
    assert_non_null (paths);
    size_t served = 0;
    for (const gw_route_t *route = gw_routes; route->method; route++, served++) {
        char method[16];
        size_t i = 0;
        for (; route->method[i] && i < sizeof (method) - 1; i++)
            method[i] = (char)tolower ((unsigned char)route->method[i]);
        method[i] = '\0';
        json_t *operation = json_object_get (json_object_get (paths, route->pattern), method);
        if (!operation)
            fail_msg ("openapi.json lacks %s %s", route->method, route->pattern);
        const ProtobufCMethodDescriptor *call =
            route->service
                ? protobuf_c_service_descriptor_get_method_by_name (route->service, route->call)
                : NULL;
        //  a route that takes a body describes it
        bool body = route->body || (!route->service && strcmp (route->method, "POST") == 0);
        if (body && !json_object_get (operation, "requestBody"))
            fail_msg ("openapi.json: %s %s lacks its requestBody", route->method, route->pattern);
        size_t index;
        json_t *parameter;
        json_array_foreach (json_object_get (operation, "parameters"), index, parameter)
        {
            const char *name = json_string_value (json_object_get (parameter, "name"));
            const char *in = json_string_value (json_object_get (parameter, "in"));
            char braced[64];
            snprintf (braced, sizeof (braced), "{%s}", name);
            if (strcmp (in, "path") == 0 && !strstr (route->pattern, braced))
                fail_msg ("%s: path parameter %s is not in the route", route->pattern, name);
            bool own = !call && (strcmp (name, "after") == 0 || strcmp (name, "page_size") == 0);
            if (strcmp (in, "query") == 0 && !own &&
                !(call && protobuf_c_message_descriptor_get_field_by_name (call->input, name)))
                fail_msg ("%s: parameter %s is not a field of %s", route->pattern, name,
                          call ? call->input->name : route->call);
        }
    }
    //  every documented /v1 path is served
    const char *path;
    json_t *item;
    json_object_foreach (paths, path, item)
    {
        if (strncmp (path, "/v1/", 4) != 0)
            continue;
        const char *method;
        json_t *operation;
        json_object_foreach (item, method, operation)
        {
            bool found = false;
            for (const gw_route_t *route = gw_routes; route->method && !found; route++)
                found =
                    strcmp (route->pattern, path) == 0 && strcasecmp (route->method, method) == 0;
            if (!found)
                fail_msg ("openapi.json documents %s %s, which is not served", method, path);
        }
    }
    assert_true (served > 0);
    json_decref (doc);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_match),
        cmocka_unit_test (test_table),
        cmocka_unit_test (test_openapi_matches_routes),
        cmocka_unit_test (test_merge_patch),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
