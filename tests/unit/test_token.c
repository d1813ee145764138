/*  test_token - the HTTP API's bearer tokens (common/cpec_token.c) against
    a real Redis: a token made for a role checks back to its principal; only
    its hash is stored; a changed, malformed or revoked token is
    UNAUTHENTICATED; a role's scope is required.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "cpec_token.h"

#define S_PROVINCE   CPEC__V1__PRINCIPAL__ROLE__PROVINCE
#define S_ENTERPRISE CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE
#define S_VIEWER     CPEC__V1__PRINCIPAL__ROLE__VIEWER

static cpec_store_t *s_store;

static int
s_setup (void **state)
{
    (void)state;
    const char *url = getenv ("CPEC_TEST_REDIS_URL");
    if (!url)
        return -1;
    s_store = cpec_store_new (url);
    return s_store && cpec_store_ping (s_store) ? 0 : -1;
}

static int
s_teardown (void **state)
{
    (void)state;
    cpec_store_destroy (&s_store);
    return 0;
}

static void
test_round_trip (void **state)
{
    (void)state;
    char *token = NULL, id[CPEC_TOKEN_ID_SIZE];
    cpec_status_t status;
    assert_int_equal (
        cpec_token_create (s_store, S_PROVINCE, "PK-SD", "", "sezmc-desk", &token, id, &status),
        CPEC_OK);
    assert_int_equal (strlen (token), 69);
    assert_int_equal (strncmp (token, "cpec_", 5), 0);
    assert_int_equal (strlen (id), 16);
    //  only the hash is stored: the token itself appears nowhere in its record
    const char *argv[] = {"HGETALL", NULL};
    char key[64];
    snprintf (key, sizeof (key), "cpec:tok:%s", id);
    argv[1] = key;
    redisReply *reply = cpec_store_command (s_store, 2, argv, NULL, &status);
    assert_non_null (reply);
    assert_true (reply->elements >= 2);
    for (size_t i = 0; i < reply->elements; i++)
        assert_null (strstr (reply->element[i]->str ? reply->element[i]->str : "", token + 5));
    freeReplyObject (reply);

    Cpec__V1__Principal *who = NULL;
    assert_int_equal (cpec_token_check (s_store, token, &who, &status), CPEC_OK);
    assert_int_equal (who->role, S_PROVINCE);
    assert_string_equal (who->province, "PK-SD");
    assert_string_equal (who->subject, "sezmc-desk");
    cpec_pb_destroy ((ProtobufCMessage **)&who);

    //  one digit changed: unknown
    token[20] = token[20] == 'a' ? 'b' : 'a';
    assert_int_equal (cpec_token_check (s_store, token, &who, &status), CPEC_UNAUTHENTICATED);
    assert_null (who);
    token[20] = token[20] == 'a' ? 'b' : 'a';
    //  malformed
    assert_int_equal (cpec_token_check (s_store, "cpec_xyz", &who, &status), CPEC_UNAUTHENTICATED);
    assert_int_equal (cpec_token_check (s_store, NULL, &who, &status), CPEC_UNAUTHENTICATED);
    //  revoked: at once
    assert_int_equal (cpec_token_revoke (s_store, id, &status), CPEC_OK);
    assert_int_equal (cpec_token_check (s_store, token, &who, &status), CPEC_UNAUTHENTICATED);
    assert_int_equal (cpec_token_revoke (s_store, id, &status), CPEC_NOT_FOUND);
    assert_int_equal (cpec_token_revoke (s_store, "nothex", &status), CPEC_INVALID_ARGUMENT);
    free (token);
}

static void
test_scopes (void **state)
{
    (void)state;
    char *token = NULL, id[CPEC_TOKEN_ID_SIZE];
    cpec_status_t status;
    assert_int_equal (cpec_token_create (s_store, S_PROVINCE, "", "", "x", &token, id, &status),
                      CPEC_INVALID_ARGUMENT);
    assert_int_equal (cpec_token_create (s_store, S_ENTERPRISE, "", "", "x", &token, id, &status),
                      CPEC_INVALID_ARGUMENT);
    assert_int_equal (cpec_token_create (s_store, 0, "", "", "x", &token, id, &status),
                      CPEC_INVALID_ARGUMENT);
    assert_int_equal (cpec_token_create (s_store, S_VIEWER, "", "", "", &token, id, &status),
                      CPEC_INVALID_ARGUMENT);
    assert_int_equal (
        cpec_token_create (s_store, S_ENTERPRISE, "", "pk-mills", "pk-mills", &token, id, &status),
        CPEC_OK);
    Cpec__V1__Principal *who = NULL;
    assert_int_equal (cpec_token_check (s_store, token, &who, &status), CPEC_OK);
    assert_string_equal (who->enterprise_id, "pk-mills");
    cpec_pb_destroy ((ProtobufCMessage **)&who);
    //  two tokens never collide
    char *other = NULL, other_id[CPEC_TOKEN_ID_SIZE];
    assert_int_equal (cpec_token_create (s_store, S_ENTERPRISE, "", "pk-mills", "pk-mills", &other,
                                         other_id, &status),
                      CPEC_OK);
    assert_string_not_equal (token, other);
    assert_string_not_equal (id, other_id);
    free (token);
    free (other);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_scopes),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
