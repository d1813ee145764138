/*  test_gw_audit - the gateway's audit chain (services/gateway/gw_audit.c)
    against a real Redis: entries appended by several threads at once form
    one chain, in order, each naming who, what, the versions and the result;
    reading checks it intact; changing an entry, removing one, or cutting
    the end shows where; a provincial authority reads its province's only.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "gw_audit.h"

#define S_THREADS    4
#define S_PER_THREAD 25

static const char *s_url;

static redisReply *
s_command (cpec_store_t *store, int argc, const char **argv)
{
    cpec_status_t status;
    redisReply *reply = cpec_store_command (store, argc, argv, NULL, &status);
    assert_non_null (reply);
    return reply;
}

static void
s_clear (cpec_store_t *store)
{
    const char *argv[] = {"DEL", "cpec:audit:log", "cpec:audit:head"};
    freeReplyObject (s_command (store, 3, argv));
}

static int
s_setup (void **state)
{
    (void)state;
    s_url = getenv ("CPEC_TEST_REDIS_URL");
    return s_url ? 0 : -1;
}

typedef struct
{
    int thread;
} s_writer_t;

static void *
s_writer (void *arg)
{
    s_writer_t *writer = (s_writer_t *)arg;
    cpec_store_t *store = cpec_store_new (s_url);
    char sha[41] = "";
    Cpec__V1__Principal who = CPEC__V1__PRINCIPAL__INIT;
    char subject[32];
    snprintf (subject, sizeof (subject), "desk-%d", writer->thread);
    who.subject = subject;
    who.role = CPEC__V1__PRINCIPAL__ROLE__PROVINCE;
    who.province = writer->thread % 2 ? "PK-KP" : "PK-SD";
    for (int i = 0; i < S_PER_THREAD; i++) {
        char target[32];
        snprintf (target, sizeof (target), "ms-%d-%d", writer->thread, i);
        gw_audit_entry_t entry = {&who,
                                  "req-1",
                                  "PATCH",
                                  "/v1/milestones/x",
                                  "Milestones.Update",
                                  target,
                                  (uint32_t)i + 1,
                                  (uint32_t)i + 2,
                                  200,
                                  CPEC_OK,
                                  "done"};
        cpec_status_t status;
        if (gw_audit_append (store, sha, &entry, 1700000000000 + i, &status) != CPEC_OK)
            return (void *)1;
    }
    cpec_store_destroy (&store);
    return NULL;
}

static json_t *
s_read (cpec_store_t *store, uint64_t after, size_t limit, const char *province)
{
    json_t *page = NULL;
    cpec_status_t status;
    assert_int_equal (gw_audit_read (store, after, limit, province, &page, &status), CPEC_OK);
    return page;
}

static bool
s_intact (json_t *page)
{
    return json_is_true (json_object_get (json_object_get (page, "chain"), "intact"));
}

static json_int_t
s_broken_at (json_t *page)
{
    return json_integer_value (json_object_get (json_object_get (page, "chain"), "broken_at"));
}

static void
test_chain (void **state)
{
    (void)state;
    cpec_store_t *store = cpec_store_new (s_url);
    s_clear (store);
    pthread_t threads[S_THREADS];
    s_writer_t writers[S_THREADS];
    for (int t = 0; t < S_THREADS; t++) {
        writers[t].thread = t;
        pthread_create (&threads[t], NULL, s_writer, &writers[t]);
    }
    for (int t = 0; t < S_THREADS; t++) {
        void *result = NULL;
        pthread_join (threads[t], &result);
        assert_null (result);
    }
    //  one chain of every entry, numbered in order, each linked to the one
    //  before, whatever thread wrote it
    json_t *page = s_read (store, 0, 1000, NULL);
    json_t *entries = json_object_get (page, "entries");
    assert_int_equal (json_array_size (entries), S_THREADS * S_PER_THREAD);
    assert_true (s_intact (page));
    assert_string_equal (json_string_value (json_object_get (page, "next_after")), "");
    int per_thread[S_THREADS] = {0};
    const char *prev = NULL;
    for (size_t i = 0; i < json_array_size (entries); i++) {
        json_t *entry = json_array_get (entries, i);
        assert_int_equal (json_integer_value (json_object_get (entry, "seq")), (json_int_t)i + 1);
        if (prev)
            assert_string_equal (json_string_value (json_object_get (entry, "prev_hash")), prev);
        prev = json_string_value (json_object_get (entry, "hash"));
        char hex[65];
        gw_audit_hash (entry, hex);
        assert_string_equal (hex, prev);
        //  who, what, versions, result
        json_t *actor = json_object_get (entry, "actor");
        const char *subject = json_string_value (json_object_get (actor, "subject"));
        int thread = subject[5] - '0';
        assert_string_equal (json_string_value (json_object_get (actor, "role")), "PROVINCE");
        char target[32];
        snprintf (target, sizeof (target), "ms-%d-%d", thread, per_thread[thread]);
        assert_string_equal (json_string_value (json_object_get (entry, "target")), target);
        assert_int_equal (json_integer_value (json_object_get (entry, "version_before")),
                          per_thread[thread] + 1);
        assert_int_equal (json_integer_value (json_object_get (entry, "version_after")),
                          per_thread[thread] + 2);
        assert_string_equal (json_string_value (json_object_get (entry, "call")),
                             "Milestones.Update");
        assert_string_equal (json_string_value (json_object_get (entry, "code")), "OK");
        assert_int_equal (json_integer_value (json_object_get (entry, "status")), 200);
        per_thread[thread]++;
    }
    json_decref (page);

    //  paging: after 40, 30 entries, then the rest
    page = s_read (store, 40, 30, NULL);
    assert_int_equal (json_array_size (json_object_get (page, "entries")), 30);
    assert_string_equal (json_string_value (json_object_get (page, "next_after")), "70");
    assert_true (s_intact (page));
    json_decref (page);
    page = s_read (store, 70, 1000, NULL);
    assert_int_equal (json_array_size (json_object_get (page, "entries")), 30);
    assert_true (s_intact (page));
    json_decref (page);

    //  a province reads its own: half the threads were in PK-KP
    page = s_read (store, 0, 1000, "PK-KP");
    assert_int_equal (json_array_size (json_object_get (page, "entries")),
                      S_THREADS / 2 * S_PER_THREAD);
    assert_true (s_intact (page));
    json_decref (page);

    //  tampering: entry 57's result rewritten, its hash left as it was
    const char *index57[] = {"LINDEX", "cpec:audit:log", "56"};
    redisReply *reply = s_command (store, 3, index57);
    char *original = strdup (reply->str);
    freeReplyObject (reply);
    json_t *entry = json_loads (original, 0, NULL);
    json_object_set_new (entry, "code", json_string ("PERMISSION_DENIED"));
    char *forged = json_dumps (entry, JSON_COMPACT | JSON_SORT_KEYS);
    const char *lset[] = {"LSET", "cpec:audit:log", "56", forged};
    freeReplyObject (s_command (store, 4, lset));
    page = s_read (store, 0, 1000, NULL);
    assert_false (s_intact (page));
    assert_int_equal (s_broken_at (page), 57);
    json_decref (page);
    //  and its hash recomputed too: the next entry no longer follows
    char hex[65];
    gw_audit_hash (entry, hex);
    json_object_set_new (entry, "hash", json_string (hex));
    free (forged);
    forged = json_dumps (entry, JSON_COMPACT | JSON_SORT_KEYS);
    lset[3] = forged;
    freeReplyObject (s_command (store, 4, lset));
    page = s_read (store, 0, 1000, NULL);
    assert_false (s_intact (page));
    assert_int_equal (s_broken_at (page), 58);
    json_decref (page);
    //  put back: intact again
    lset[3] = original;
    freeReplyObject (s_command (store, 4, lset));
    page = s_read (store, 0, 1000, NULL);
    assert_true (s_intact (page));
    json_decref (page);
    json_decref (entry);
    free (forged);
    free (original);

    //  an entry removed from the middle
    const char *index10[] = {"LINDEX", "cpec:audit:log", "9"};
    reply = s_command (store, 3, index10);
    char *tenth = strdup (reply->str);
    freeReplyObject (reply);
    const char *lrem[] = {"LREM", "cpec:audit:log", "1", tenth};
    freeReplyObject (s_command (store, 4, lrem));
    page = s_read (store, 0, 1000, NULL);
    assert_false (s_intact (page));
    assert_int_equal (s_broken_at (page), 10);
    json_decref (page);
    free (tenth);

    //  the last entry cut off (the log no longer ends at the head)
    s_clear (store);
    pthread_t one;
    s_writer_t writer = {0};
    pthread_create (&one, NULL, s_writer, &writer);
    pthread_join (one, NULL);
    const char *rpop[] = {"RPOP", "cpec:audit:log"};
    freeReplyObject (s_command (store, 2, rpop));
    page = s_read (store, 0, 1000, NULL);
    assert_int_equal (json_array_size (json_object_get (page, "entries")), S_PER_THREAD - 1);
    assert_false (s_intact (page));
    json_decref (page);
    s_clear (store);
    cpec_store_destroy (&store);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_chain),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
