/*  test_gateway - the gateway's route matching (services/gateway/
    gw_server.c): parameters taken from path segments, literal parts
    compared exactly, no empty segment, no extra segment; every route of the
    table is reachable and no two routes of one method overlap.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gateway.h"

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
        //  the method exists in its service
        assert_non_null (
            protobuf_c_service_descriptor_get_method_by_name (route->service, route->call));
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_match),
        cmocka_unit_test (test_table),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
