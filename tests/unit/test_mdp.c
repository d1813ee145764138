/*  The envelope and wire helpers: Request/Reply round trips, error frames,
    service names from descriptors, and the Reply code peek the broker uses
    (checked against protobuf-c's own decoding, and on garbage).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "cpec/v1/registry.pb-c.h"
#include "cpec_mdp.h"
#include "cpec_pb.h"
#include "cpec_status.h"

static void
test_request_round_trip (void **state)
{
    (void)state;
    Cpec__V1__GetSezRequest input = CPEC__V1__GET_SEZ_REQUEST__INIT;
    input.id = (char *)"allama-iqbal";
    size_t body_size;
    uint8_t *body = cpec_pb_pack (&input.base, &body_size);
    Cpec__V1__Principal principal = CPEC__V1__PRINCIPAL__INIT;
    principal.subject = (char *)"fiedmc-officer";
    principal.role = CPEC__V1__PRINCIPAL__ROLE__PROVINCE;
    principal.province = (char *)"PK-PB";
    Cpec__V1__Request request = CPEC__V1__REQUEST__INIT;
    request.request_id = (char *)"r-1";
    request.principal = &principal;
    request.deadline_unix_ms = 1700000000123;
    request.service = (char *)"registry";
    request.method = (char *)"GetSez";
    request.body.data = body;
    request.body.len = body_size;
    size_t size;
    uint8_t *packed = cpec_pb_pack (&request.base, &size);
    Cpec__V1__Request *back =
        (Cpec__V1__Request *)cpec_pb_unpack (&cpec__v1__request__descriptor, packed, size);
    assert_non_null (back);
    assert_string_equal (back->request_id, "r-1");
    assert_string_equal (back->principal->province, "PK-PB");
    assert_int_equal (back->principal->role, CPEC__V1__PRINCIPAL__ROLE__PROVINCE);
    assert_int_equal (back->deadline_unix_ms, 1700000000123);
    Cpec__V1__GetSezRequest *inner = (Cpec__V1__GetSezRequest *)cpec_pb_unpack (
        &cpec__v1__get_sez_request__descriptor, back->body.data, back->body.len);
    assert_string_equal (inner->id, "allama-iqbal");
    cpec_pb_destroy ((ProtobufCMessage **)&inner);
    cpec_pb_destroy ((ProtobufCMessage **)&back);
    free (packed);
    free (body);
}

static void
test_error_frame (void **state)
{
    (void)state;
    zframe_t *frame =
        cpec_mdp_error_frame ("r-9", CPEC_ABORTED, "zone %s is at version %d", "x", 4);
    Cpec__V1__Reply *reply = (Cpec__V1__Reply *)cpec_pb_unpack (
        &cpec__v1__reply__descriptor, zframe_data (frame), zframe_size (frame));
    assert_non_null (reply);
    assert_string_equal (reply->request_id, "r-9");
    assert_int_equal (reply->code, CPEC_ABORTED);
    assert_string_equal (reply->message, "zone x is at version 4");
    assert_int_equal (reply->body.len, 0);
    cpec_pb_destroy ((ProtobufCMessage **)&reply);
    zframe_destroy (&frame);
}

static void
test_reply_code_peek (void **state)
{
    (void)state;
    //  Every code, with and without a body and message, agrees with protobuf-c.
    for (int code = 0; code <= CPEC_UNAUTHENTICATED; code++) {
        Cpec__V1__Reply reply = CPEC__V1__REPLY__INIT;
        reply.request_id = (char *)"some-request";
        reply.code = (Cpec__V1__Status__Code)code;
        reply.message = code ? (char *)"why" : (char *)"";
        uint8_t body[300];
        memset (body, 0x82, sizeof (body));
        reply.body.data = body;
        reply.body.len = code % 2 ? sizeof (body) : 0;
        size_t size;
        uint8_t *packed = cpec_pb_pack (&reply.base, &size);
        assert_int_equal (cpec_mdp_reply_code (packed, size), code);
        free (packed);
    }
    //  Empty bytes are a Reply with every field at its default: OK.
    assert_int_equal (cpec_mdp_reply_code ((const uint8_t *)"", 0), CPEC_OK);
    //  Truncated or foreign bytes are INTERNAL, never a crash.
    const uint8_t truncated[] = {0x0a, 0x05, 'a', 'b'};
    assert_int_equal (cpec_mdp_reply_code (truncated, sizeof (truncated)), CPEC_INTERNAL);
    const uint8_t bad_wire[] = {0x0d, 1, 2, 3, 4};
    assert_int_equal (cpec_mdp_reply_code (bad_wire, sizeof (bad_wire)), CPEC_INTERNAL);
    const uint8_t endless[] = {0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal (cpec_mdp_reply_code (endless, sizeof (endless)), CPEC_INTERNAL);
    const uint8_t huge_code[] = {0x10, 0x63};
    assert_int_equal (cpec_mdp_reply_code (huge_code, sizeof (huge_code)), CPEC_UNKNOWN);
}

static void
test_service_name_and_codes (void **state)
{
    (void)state;
    char name[64];
    cpec_mdp_service_name (cpec__v1__registry__descriptor.name, name, sizeof (name));
    assert_string_equal (name, "registry");
    cpec_mdp_service_name ("Plain", name, sizeof (name));
    assert_string_equal (name, "plain");
    cpec_mdp_service_name ("cpec.v1.Milestones", name, 4);
    assert_string_equal (name, "mil");
    //  The canonical codes, their names and HTTP statuses.
    assert_string_equal (cpec_code_name (CPEC_FAILED_PRECONDITION), "FAILED_PRECONDITION");
    assert_int_equal (cpec_code_from_name ("RESOURCE_EXHAUSTED"), CPEC_RESOURCE_EXHAUSTED);
    assert_int_equal (cpec_code_from_name ("NOPE"), -1);
    assert_string_equal (cpec_code_name (99), "UNKNOWN");
    assert_int_equal (cpec_code_http (CPEC_INVALID_ARGUMENT), 400);
    assert_int_equal (cpec_code_http (CPEC_NOT_FOUND), 404);
    assert_int_equal (cpec_code_http (CPEC_ALREADY_EXISTS), 409);
    assert_int_equal (cpec_code_http (CPEC_FAILED_PRECONDITION), 400);
    assert_int_equal (cpec_code_http (CPEC_PERMISSION_DENIED), 403);
    assert_int_equal (cpec_code_http (CPEC_UNAUTHENTICATED), 401);
    assert_int_equal (cpec_code_http (CPEC_RESOURCE_EXHAUSTED), 429);
    assert_int_equal (cpec_code_http (CPEC_UNAVAILABLE), 503);
    assert_int_equal (cpec_code_http (CPEC_DEADLINE_EXCEEDED), 504);
    assert_int_equal (cpec_code_http (CPEC_INTERNAL), 500);
    //  The C enum and the proto enum agree.
    assert_int_equal (CPEC_UNAUTHENTICATED, CPEC__V1__STATUS__CODE__UNAUTHENTICATED);
    assert_int_equal (CPEC_ABORTED, CPEC__V1__STATUS__CODE__ABORTED);
    cpec_status_t status;
    assert_int_equal (cpec_status_set (&status, CPEC_NOT_FOUND, "zone %s", "x"), CPEC_NOT_FOUND);
    assert_string_equal (status.message, "zone x");
    cpec_status_clear (&status);
    assert_int_equal (status.code, CPEC_OK);
    assert_string_equal (status.message, "");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_request_round_trip),
        cmocka_unit_test (test_error_frame),
        cmocka_unit_test (test_reply_code_peek),
        cmocka_unit_test (test_service_name_and_codes),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
