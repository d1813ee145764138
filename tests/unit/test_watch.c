/*  test_watch - the watch of keys by prefix (common/cpec_store.c,
    cpec_watch_t) against a real Redis of its own (it kills connections and
    pauses the server, which the shared one must not see): a change under a watched prefix, made
    by another client, is announced before that client's write is
    acknowledged past its fence; other keys are not; a killed listener, and
    a Redis gone silent (CLIENT PAUSE: no answer to the watch's pings), end
    the watch, which then starts again.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "cpec_store.h"

#define S_PORT "17996"

static const char *s_url = "redis://127.0.0.1:" S_PORT "/0";
static char s_dir[64];
static char s_fixture[512];

typedef struct
{
    char keys[16][64];
    int count;
    int flushes;
} s_seen_t;

static void
s_seen (void *arg, const char *key)
{
    s_seen_t *seen = (s_seen_t *)arg;
    if (!key)
        seen->flushes++;
    else if (seen->count < 16)
        snprintf (seen->keys[seen->count++], 64, "%s", key);
}

static void
s_command (cpec_store_t *store, int argc, const char **argv)
{
    cpec_status_t status;
    redisReply *reply = cpec_store_command (store, argc, argv, NULL, &status);
    assert_non_null (reply);
    freeReplyObject (reply);
}

//  Runs the redis fixture: "start" or "stop".
static int
s_fixture_run (const char *action)
{
    char command[1024];
    snprintf (command, sizeof (command), "%s %s %s " S_PORT " >&2", s_fixture, action, s_dir);
    return system (command) == 0 ? 0 : -1;
}

static int
s_setup (void **state)
{
    (void)state;
    const char *source = getenv ("CPEC_SOURCE_DIR");
    snprintf (s_fixture, sizeof (s_fixture), "%s/tests/helpers/redis-fixture",
              source ? source : ".");
    snprintf (s_dir, sizeof (s_dir), "/tmp/cpec-test-watch.XXXXXX");
    if (!mkdtemp (s_dir))
        return -1;
    return s_fixture_run ("start");
}

static int
s_teardown (void **state)
{
    (void)state;
    s_fixture_run ("stop");
    char command[128];
    snprintf (command, sizeof (command), "rm -rf %s", s_dir);
    return system (command) == 0 ? 0 : -1;
}

static void
test_watch (void **state)
{
    (void)state;
    const char *prefixes[] = {"cpec:twatch:a:", "cpec:twatch:b:", NULL};
    cpec_watch_t *watch = cpec_watch_new (s_url, prefixes);
    assert_non_null (watch);
    s_seen_t seen = {0};
    assert_false (cpec_watch_drain (watch, s_seen, &seen)); //  not started
    assert_true (cpec_watch_start (watch));
    cpec_store_t *writer = cpec_store_new (s_url);
    assert_non_null (writer);

    //  a change under a prefix, then the writer's fence: announced by then
    const char *set_a[] = {"SET", "cpec:twatch:a:1", "x"};
    const char *set_c[] = {"SET", "cpec:twatch:c:1", "x"};
    const char *ping[] = {"PING"};
    s_command (writer, 3, set_c);
    s_command (writer, 3, set_a);
    s_command (writer, 1, ping);
    //  the announcement has left Redis; on one host it is here at once
    int64_t until = cpec_clock_ms () + 2000;
    while (seen.count == 0 && cpec_clock_ms () < until) {
        assert_true (cpec_watch_drain (watch, s_seen, &seen));
        zclock_sleep (1);
    }
    assert_int_equal (seen.count, 1);
    assert_string_equal (seen.keys[0], "cpec:twatch:a:1");
    assert_int_equal (seen.flushes, 0);

    //  the watch holds across idle time: its pings are answered
    for (int i = 0; i < 25; i++) {
        assert_true (cpec_watch_drain (watch, s_seen, &seen));
        zclock_sleep (100);
    }
    assert_int_equal (seen.count, 1);

    //  the listener killed: the watch ends, saying everything may have changed
    const char *kill[] = {"CLIENT", "KILL", "TYPE", "pubsub"};
    s_command (writer, 4, kill);
    until = cpec_clock_ms () + 2000;
    bool held = true;
    while (held && cpec_clock_ms () < until) {
        held = cpec_watch_drain (watch, s_seen, &seen);
        zclock_sleep (5);
    }
    assert_false (held);
    assert_int_equal (seen.flushes, 1);
    assert_false (cpec_watch_drain (watch, s_seen, &seen));

    //  started again, it announces again
    assert_true (cpec_watch_start (watch));
    const char *set_b[] = {"SET", "cpec:twatch:b:2", "y"};
    s_command (writer, 3, set_b);
    s_command (writer, 1, ping);
    until = cpec_clock_ms () + 2000;
    while (seen.count < 2 && cpec_clock_ms () < until) {
        assert_true (cpec_watch_drain (watch, s_seen, &seen));
        zclock_sleep (1);
    }
    assert_int_equal (seen.count, 2);
    assert_string_equal (seen.keys[1], "cpec:twatch:b:2");

    //  Redis silent (it answers nobody for 3 s, connections open): the
    //  unanswered ping ends the watch within about 1.5 s
    const char *pause[] = {"CLIENT", "PAUSE", "3000", "ALL"};
    s_command (writer, 4, pause);
    int64_t paused = cpec_clock_ms ();
    held = true;
    while (held && cpec_clock_ms () < paused + 2900) {
        held = cpec_watch_drain (watch, s_seen, &seen);
        zclock_sleep (20);
    }
    assert_false (held);
    assert_int_equal (seen.flushes, 2);
    //  after the pause it can start again
    zclock_sleep ((int)(paused + 3100 - cpec_clock_ms ()));
    assert_true (cpec_watch_start (watch));
    assert_true (cpec_watch_drain (watch, s_seen, &seen));

    const char *del[] = {"DEL", "cpec:twatch:a:1", "cpec:twatch:b:2", "cpec:twatch:c:1"};
    s_command (writer, 4, del);
    cpec_store_destroy (&writer);
    cpec_watch_destroy (&watch);
    cpec_watch_destroy (&watch);
    assert_null (watch);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_watch),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
