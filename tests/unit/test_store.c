/*  test_store - cpec_store against a real redis-server.

    The shared server comes from CPEC_TEST_REDIS_URL (the ctest "redis"
    fixture). Keys live under "test:store:"; the event stream is the real
    cpec:events, which other tests may append to at the same time, so events
    are recognised by their request id. The availability test starts its own
    redis-server on a free port with tests/helpers/redis-fixture.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_pb.h"
#include "cpec_store.h"

#define PREFIX "test:store:"

static char s_url[256];
static char s_host[128];
static int s_port;
static int s_db;
static char s_spare_dir[64]; //  the second server's directory, "" when none
static int s_spare_port;     //  and its port

//  --------------------------------------------------------------------------
//  Helpers

static redisContext *
s_raw_connect (const char *host, int port, const char *password, int db)
{
    struct timeval timeout = {2, 0};
    redisContext *redis = redisConnectWithTimeout (host, port, timeout);
    assert_non_null (redis);
    assert_int_equal (redis->err, 0);
    redisReply *reply;
    if (password) {
        reply = redisCommand (redis, "AUTH %s", password);
        assert_non_null (reply);
        assert_int_not_equal (reply->type, REDIS_REPLY_ERROR);
        freeReplyObject (reply);
    }
    reply = redisCommand (redis, "SELECT %d", db);
    assert_non_null (reply);
    assert_int_not_equal (reply->type, REDIS_REPLY_ERROR);
    freeReplyObject (reply);
    return redis;
}

//  A direct connection to the shared test server.
static redisContext *
s_raw (void)
{
    return s_raw_connect (s_host, s_port, NULL, s_db);
}

static long long
s_raw_integer (redisContext *redis, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = redisvCommand (redis, format, args);
    va_end (args);
    assert_non_null (reply);
    assert_int_equal (reply->type, REDIS_REPLY_INTEGER);
    long long value = reply->integer;
    freeReplyObject (reply);
    return value;
}

//  The string reply of a command (malloc'd), or NULL for nil.
static char *
s_raw_string (redisContext *redis, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = redisvCommand (redis, format, args);
    va_end (args);
    assert_non_null (reply);
    char *value = NULL;
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)
        value = cpec_strdup (reply->str);
    else
        assert_int_equal (reply->type, REDIS_REPLY_NIL);
    freeReplyObject (reply);
    return value;
}

static void
s_raw_ok (redisContext *redis, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = redisvCommand (redis, format, args);
    va_end (args);
    assert_non_null (reply);
    if (reply->type == REDIS_REPLY_ERROR)
        fail_msg ("redis: %s", reply->str);
    freeReplyObject (reply);
}

//  The id of the newest entry of cpec:events, "0-0" when empty (malloc'd).
static char *
s_last_stream_id (void)
{
    redisContext *redis = s_raw ();
    redisReply *reply = redisCommand (redis, "XREVRANGE %s + - COUNT 1", CPEC_STORE_EVENTS_KEY);
    assert_non_null (reply);
    assert_int_equal (reply->type, REDIS_REPLY_ARRAY);
    char *id = cpec_strdup (reply->elements ? reply->element[0]->element[0]->str : "0-0");
    freeReplyObject (reply);
    redisFree (redis);
    return id;
}

//  How many events after `after` carry this request id; *stream_id (if not
//  NULL) gets the id of the last of them.
static int
s_events_with (cpec_store_t *store, const char *after, const char *request_id, char **stream_id)
{
    char *cursor = cpec_strdup (after);
    int found = 0;
    while (true) {
        Cpec__V1__Event **events = NULL;
        char **ids = NULL;
        cpec_status_t status;
        assert_int_equal (cpec_store_read_events (store, cursor, 50, 0, &events, &ids, &status),
                          CPEC_OK);
        assert_non_null (events);
        assert_non_null (ids);
        size_t count = 0;
        for (; events[count]; count++) {
            assert_non_null (ids[count]);
            if (strcmp (events[count]->request_id, request_id) == 0) {
                found++;
                if (stream_id) {
                    free (*stream_id);
                    *stream_id = cpec_strdup (ids[count]);
                }
            }
        }
        assert_null (ids[count]);
        if (count) {
            free (cursor);
            cursor = cpec_strdup (ids[count - 1]);
        }
        cpec_store_events_destroy (&events);
        cpec_store_strings_destroy (&ids);
        if (count == 0)
            break;
    }
    free (cursor);
    return found;
}

static cpec_store_t *
s_store (void)
{
    cpec_store_t *store = cpec_store_new (s_url);
    assert_non_null (store);
    return store;
}

static void
s_request_id (char buf[37])
{
    cpec_uuid (buf);
}

//  A zone (pointers into static strings; not to be freed).
static Cpec__V1__Sez
s_sez (const char *id, const char *name, uint32_t version)
{
    Cpec__V1__Sez sez = CPEC__V1__SEZ__INIT;
    sez.id = (char *)id;
    sez.name = (char *)name;
    sez.province = "PK-KP";
    sez.status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
    sez.version = version;
    return sez;
}

static Cpec__V1__Sez *
s_get_sez (cpec_store_t *store, const char *key, uint32_t *version, int expected_code)
{
    ProtobufCMessage *message = NULL;
    cpec_status_t status;
    int rc = cpec_store_get (store, key, &cpec__v1__sez__descriptor, &message, version, &status);
    if (rc != expected_code)
        fail_msg ("get %s: %s (%s), expected %s", key, cpec_code_name (rc), status.message,
                  cpec_code_name (expected_code));
    assert_int_equal (status.code, rc);
    if (rc != CPEC_OK)
        assert_null (message);
    return (Cpec__V1__Sez *)message;
}

static bool
s_same_message (const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t size_a, size_b;
    uint8_t *packed_a = cpec_pb_pack (a, &size_a);
    uint8_t *packed_b = cpec_pb_pack (b, &size_b);
    bool same = size_a == size_b && memcmp (packed_a, packed_b, size_a) == 0;
    free (packed_a);
    free (packed_b);
    return same;
}

//  Writes one zone (and optionally an event) under a fresh request id.
static int
s_put_sez (cpec_store_t *store, const char *key, uint32_t expected, const char *name,
           cpec_status_t *status)
{
    char request_id[37];
    s_request_id (request_id);
    Cpec__V1__Sez sez = s_sez (key, name, expected + 1);
    cpec_store_put_t put = {key, expected, &sez.base};
    cpec_store_write_t write = {
        .request_id = request_id, .puts = &put, .put_count = 1, .answer = &sez.base};
    return cpec_store_write (store, &write, NULL, NULL, NULL, status);
}

//  Runs the fixture script ($CPEC_SOURCE_DIR/tests/helpers/redis-fixture, or
//  the one beside this file); its exit status.
static int
s_fixture_run (const char *action, const char *dir, int port)
{
    char source[PATH_MAX];
    const char *env = getenv ("CPEC_SOURCE_DIR");
    snprintf (source, sizeof (source), "%s", env ? env : __FILE__);
    char *tests = env ? NULL : strstr (source, "/tests/unit/");
    if (tests)
        *tests = 0;
    char command[PATH_MAX * 2];
    snprintf (command, sizeof (command), "'%s/tests/helpers/redis-fixture' %s '%s' %d", source,
              action, dir, port);
    return system (command);
}

static void
s_fixture (const char *action, const char *dir, int port)
{
    if (s_fixture_run (action, dir, port) != 0)
        fail_msg ("redis-fixture %s %s %d failed", action, dir, port);
}

//  The N of "next attempt in N ms" in a status message, or -1.
static int
s_next_attempt (const cpec_status_t *status)
{
    const char *text = strstr (status->message, "next attempt in ");
    return text ? atoi (text + strlen ("next attempt in ")) : -1;
}

//  A TCP port nobody listens on right now.
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (fd, (struct sockaddr *)&address, sizeof (address)), 0);
    socklen_t length = sizeof (address);
    assert_int_equal (getsockname (fd, (struct sockaddr *)&address, &length), 0);
    close (fd);
    return ntohs (address.sin_port);
}

//  --------------------------------------------------------------------------
//  Tests

static void
test_url (void **state)
{
    (void)state;
    const char *bad[] = {NULL,
                         "",
                         "http://127.0.0.1:6379",
                         "redis://",
                         "redis://:6379",
                         "redis://host:0",
                         "redis://host:65536",
                         "redis://host:port",
                         "redis://host/x",
                         "redis://[::1",
                         "redis://:bad%zz@host"};
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        cpec_store_t *store = cpec_store_new (bad[i]);
        if (store)
            fail_msg ("accepted '%s'", bad[i] ? bad[i] : "(null)");
    }
    const char *good[] = {"redis://localhost", "redis://127.0.0.1:6379/0",
                          "redis://:secret@redis.cpec.local:6380/3",
                          "redis://svc-registry:p%40ss@10.0.0.1/1", "redis://[::1]:6379/2"};
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        cpec_store_t *store = cpec_store_new (good[i]);
        if (!store)
            fail_msg ("rejected '%s'", good[i]);
        cpec_store_destroy (&store);
        assert_null (store);
        cpec_store_destroy (&store);
    }
}

static void
test_get_missing (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    assert_true (cpec_store_ping (store));
    uint32_t version = 99;
    assert_null (s_get_sez (store, PREFIX "missing", &version, CPEC_NOT_FOUND));
    cpec_status_t status;
    ProtobufCMessage *message = NULL;
    cpec_store_get (store, PREFIX "missing", &cpec__v1__sez__descriptor, &message, NULL, &status);
    assert_non_null (strstr (status.message, PREFIX "missing"));
    cpec_store_destroy (&store);
}

static void
test_write_get_round_trip (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    char *before = s_last_stream_id ();
    char request_id[37];
    s_request_id (request_id);

    Cpec__V1__Sez sez = s_sez ("rashakai", "Rashakai SEZ", 1);
    char *sectors[] = {"13", "2710"};
    sez.n_sectors = 2;
    sez.sectors = sectors;
    Cpec__V1__SezCreated created = CPEC__V1__SEZ_CREATED__INIT;
    created.sez = &sez;
    Cpec__V1__Event event = CPEC__V1__EVENT__INIT;
    event.id = "6f1c8a52-0000-4000-8000-000000000001";
    event.type = "SezCreated";
    event.zone_id = "rashakai";
    event.province = "PK-KP";
    event.request_id = request_id;
    event.payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED;
    event.sez_created = &created;
    const Cpec__V1__Event *events[] = {&event};

    cpec_store_put_t put = {PREFIX "sez:rashakai", 0, &sez.base};
    cpec_store_write_t write = {.request_id = request_id,
                                .puts = &put,
                                .put_count = 1,
                                .events = events,
                                .event_count = 1,
                                .answer = &sez.base};
    ProtobufCMessage *replayed = NULL;
    char *stream_id = NULL;
    cpec_status_t status;
    int rc = cpec_store_write (store, &write, &cpec__v1__sez__descriptor, &replayed, &stream_id,
                               &status);
    if (rc)
        fail_msg ("write: %s %s", cpec_code_name (rc), status.message);
    assert_null (replayed);
    assert_non_null (stream_id);
    assert_string_equal (status.message, "");

    uint32_t version = 0;
    Cpec__V1__Sez *stored = s_get_sez (store, PREFIX "sez:rashakai", &version, CPEC_OK);
    assert_int_equal (version, 1);
    assert_string_equal (stored->name, "Rashakai SEZ");
    assert_int_equal (stored->n_sectors, 2);
    assert_string_equal (stored->sectors[1], "2710");
    assert_true (s_same_message (&stored->base, &sez.base));
    cpec_pb_destroy ((ProtobufCMessage **)&stored);

    //  The version is the hash field v; the request id is remembered with a TTL
    redisContext *redis = s_raw ();
    char *v = s_raw_string (redis, "HGET %s v", PREFIX "sez:rashakai");
    assert_string_equal (v, "1");
    free (v);
    long long ttl = s_raw_integer (redis, "TTL cpec:req:%s", request_id);
    assert_true (ttl > 86000 && ttl <= 86400);
    //  The event went to the stream with its type
    char *type = s_raw_string (redis, "EVAL %s 1 %s %s",
                               "return redis.call('XRANGE', KEYS[1], "
                               "ARGV[1], ARGV[1])[1][2][2]",
                               CPEC_STORE_EVENTS_KEY, stream_id);
    assert_string_equal (type, "SezCreated");
    free (type);
    redisFree (redis);

    char *found_id = NULL;
    assert_int_equal (s_events_with (store, before, request_id, &found_id), 1);
    assert_string_equal (found_id, stream_id);
    free (found_id);

    //  A write without events gives no stream id
    char *no_id = (char *)"untouched";
    Cpec__V1__Sez sez2 = s_sez ("rashakai", "Rashakai Special Economic Zone", 2);
    cpec_store_put_t put2 = {PREFIX "sez:rashakai", 1, &sez2.base};
    s_request_id (request_id);
    cpec_store_write_t write2 = {.request_id = request_id, .puts = &put2, .put_count = 1};
    assert_int_equal (cpec_store_write (store, &write2, NULL, NULL, &no_id, &status), CPEC_OK);
    assert_null (no_id);
    stored = s_get_sez (store, PREFIX "sez:rashakai", &version, CPEC_OK);
    assert_int_equal (version, 2);
    assert_string_equal (stored->name, "Rashakai Special Economic Zone");
    cpec_pb_destroy ((ProtobufCMessage **)&stored);

    //  An empty request id is refused
    write2.request_id = "";
    assert_int_equal (cpec_store_write (store, &write2, NULL, NULL, NULL, &status),
                      CPEC_INVALID_ARGUMENT);

    free (stream_id);
    free (before);
    cpec_store_destroy (&store);
}

static void
test_version_mismatch_changes_nothing (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    assert_int_equal (s_put_sez (store, PREFIX "mm:a", 0, "A v1", &status), CPEC_OK);
    assert_int_equal (s_put_sez (store, PREFIX "mm:b", 0, "B v1", &status), CPEC_OK);
    assert_int_equal (s_put_sez (store, PREFIX "mm:b", 1, "B v2", &status), CPEC_OK);
    redisContext *redis = s_raw ();
    s_raw_ok (redis, "SADD %s keep", PREFIX "mm:idx");
    char *before = s_last_stream_id ();

    //  a is at 1 (expected 1: fine), b is at 2 but we expect 3
    char request_id[37];
    s_request_id (request_id);
    Cpec__V1__Sez a2 = s_sez ("a", "A v2", 2);
    Cpec__V1__Sez b4 = s_sez ("b", "B v4", 4);
    cpec_store_put_t puts[] = {{PREFIX "mm:a", 1, &a2.base}, {PREFIX "mm:b", 3, &b4.base}};
    cpec_store_index_t indexes[] = {{CPEC_STORE_SADD, PREFIX "mm:idx", "new", 0},
                                    {CPEC_STORE_SREM, PREFIX "mm:idx", "keep", 0},
                                    {CPEC_STORE_ZADD, PREFIX "mm:zidx", "a", 7},
                                    {CPEC_STORE_INCRBYFLOAT, PREFIX "mm:acres", NULL, 2.5}};
    Cpec__V1__Event event = CPEC__V1__EVENT__INIT;
    event.type = "SezUpdated";
    event.request_id = request_id;
    const Cpec__V1__Event *events[] = {&event};
    cpec_store_write_t write = {.request_id = request_id,
                                .puts = puts,
                                .put_count = 2,
                                .indexes = indexes,
                                .index_count = 4,
                                .events = events,
                                .event_count = 1,
                                .answer = &b4.base};
    char *stream_id = NULL;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, &stream_id, &status),
                      CPEC_ABORTED);
    assert_int_equal (status.code, CPEC_ABORTED);
    assert_string_equal (status.message,
                         "version mismatch for " PREFIX "mm:b: expected 3, found 2");
    assert_null (stream_id);

    //  Nothing changed: entities, indexes, stream, request id
    uint32_t version;
    Cpec__V1__Sez *a = s_get_sez (store, PREFIX "mm:a", &version, CPEC_OK);
    assert_int_equal (version, 1);
    assert_string_equal (a->name, "A v1");
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    Cpec__V1__Sez *b = s_get_sez (store, PREFIX "mm:b", &version, CPEC_OK);
    assert_int_equal (version, 2);
    assert_string_equal (b->name, "B v2");
    cpec_pb_destroy ((ProtobufCMessage **)&b);
    assert_int_equal (s_raw_integer (redis, "SISMEMBER %s keep", PREFIX "mm:idx"), 1);
    assert_int_equal (s_raw_integer (redis, "SISMEMBER %s new", PREFIX "mm:idx"), 0);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "mm:zidx"), 0);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "mm:acres"), 0);
    assert_int_equal (s_raw_integer (redis, "EXISTS cpec:req:%s", request_id), 0);
    assert_int_equal (s_events_with (store, before, request_id, NULL), 0);

    //  A wrong-typed index key is refused before anything is written too
    s_raw_ok (redis, "SET %s notaset", PREFIX "mm:wrongtype");
    puts[1].expected_version = 2;
    cpec_store_index_t bad_index = {CPEC_STORE_SADD, PREFIX "mm:wrongtype", "x", 0};
    write.indexes = &bad_index;
    write.index_count = 1;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_INTERNAL);
    assert_non_null (strstr (status.message, "WRONGTYPE"));
    a = s_get_sez (store, PREFIX "mm:a", &version, CPEC_OK);
    assert_int_equal (version, 1);
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    assert_int_equal (s_events_with (store, before, request_id, NULL), 0);

    //  The same request id, now with matching versions, goes through
    write.indexes = indexes;
    write.index_count = 4;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, &stream_id, &status), CPEC_OK);
    assert_non_null (stream_id);
    a = s_get_sez (store, PREFIX "mm:a", &version, CPEC_OK);
    assert_int_equal (version, 2);
    assert_string_equal (a->name, "A v2");
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    b = s_get_sez (store, PREFIX "mm:b", &version, CPEC_OK);
    assert_int_equal (version, 3);
    assert_string_equal (b->name, "B v4");
    cpec_pb_destroy ((ProtobufCMessage **)&b);
    assert_int_equal (s_raw_integer (redis, "SISMEMBER %s keep", PREFIX "mm:idx"), 0);
    assert_int_equal (s_raw_integer (redis, "SISMEMBER %s new", PREFIX "mm:idx"), 1);
    assert_int_equal (s_events_with (store, before, request_id, NULL), 1);

    free (stream_id);
    free (before);
    redisFree (redis);
    cpec_store_destroy (&store);
}

static void
test_create_twice_and_update_missing (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    assert_int_equal (s_put_sez (store, PREFIX "twice", 0, "first", &status), CPEC_OK);
    assert_int_equal (s_put_sez (store, PREFIX "twice", 0, "second", &status), CPEC_ALREADY_EXISTS);
    assert_string_equal (status.message, PREFIX "twice already exists");
    Cpec__V1__Sez *sez = s_get_sez (store, PREFIX "twice", NULL, CPEC_OK);
    assert_string_equal (sez->name, "first");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);

    assert_int_equal (s_put_sez (store, PREFIX "nobody", 4, "ghost", &status), CPEC_NOT_FOUND);
    assert_non_null (strstr (status.message, PREFIX "nobody"));
    s_get_sez (store, PREFIX "nobody", NULL, CPEC_NOT_FOUND);

    //  An entity key that holds something else than a hash is refused,
    //  whether the write creates or updates, and is left as it was
    redisContext *redis = s_raw ();
    s_raw_ok (redis, "SET %s notahash", PREFIX "stringkey");
    for (uint32_t expected = 0; expected < 2; expected++) {
        assert_int_equal (s_put_sez (store, PREFIX "stringkey", expected, "over", &status),
                          CPEC_INTERNAL);
        assert_non_null (strstr (status.message, "WRONGTYPE"));
    }
    redisReply *reply = (redisReply *)redisCommand (redis, "GET %s", PREFIX "stringkey");
    assert_non_null (reply);
    assert_int_equal (reply->type, REDIS_REPLY_STRING);
    assert_string_equal (reply->str, "notahash");
    freeReplyObject (reply);
    //  A hash without a version field counts as version 0: an update with an
    //  expected version is refused as stale
    s_raw_ok (redis, "HSET %s pb x", PREFIX "noversion");
    assert_int_equal (s_put_sez (store, PREFIX "noversion", 3, "over", &status), CPEC_ABORTED);
    redisFree (redis);
    cpec_store_destroy (&store);
}

static void
test_replay (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    char *before = s_last_stream_id ();
    char request_id[37];
    s_request_id (request_id);

    Cpec__V1__Sez sez = s_sez ("dhabeji", "Dhabeji SEZ", 1);
    Cpec__V1__Event event = CPEC__V1__EVENT__INIT;
    event.type = "SezCreated";
    event.request_id = request_id;
    const Cpec__V1__Event *events[] = {&event};
    cpec_store_put_t put = {PREFIX "replay:dhabeji", 0, &sez.base};
    cpec_store_index_t index = {CPEC_STORE_INCRBYFLOAT, PREFIX "replay:count", NULL, 1};
    cpec_store_write_t write = {.request_id = request_id,
                                .puts = &put,
                                .put_count = 1,
                                .indexes = &index,
                                .index_count = 1,
                                .events = events,
                                .event_count = 1,
                                .answer = &sez.base};
    cpec_status_t status;
    ProtobufCMessage *replayed = NULL;
    char *stream_id = NULL;
    assert_int_equal (cpec_store_write (store, &write, &cpec__v1__sez__descriptor, &replayed,
                                        &stream_id, &status),
                      CPEC_OK);
    assert_null (replayed);
    assert_non_null (stream_id);
    free (stream_id);
    stream_id = NULL;

    //  The retry (even with other content) returns the first answer, writes nothing
    Cpec__V1__Sez other = s_sez ("dhabeji", "Something else", 1);
    put.message = &other.base;
    write.answer = &other.base;
    assert_int_equal (cpec_store_write (store, &write, &cpec__v1__sez__descriptor, &replayed,
                                        &stream_id, &status),
                      CPEC_OK);
    assert_non_null (replayed);
    assert_null (stream_id);
    assert_true (s_same_message (replayed, &sez.base));
    assert_string_equal (((Cpec__V1__Sez *)replayed)->name, "Dhabeji SEZ");
    cpec_pb_destroy (&replayed);

    //  A third time, without asking for the answer
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);

    Cpec__V1__Sez *stored = s_get_sez (store, PREFIX "replay:dhabeji", NULL, CPEC_OK);
    assert_string_equal (stored->name, "Dhabeji SEZ");
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    redisContext *redis = s_raw ();
    char *count = s_raw_string (redis, "GET %s", PREFIX "replay:count");
    assert_string_equal (count, "1");
    free (count);
    redisFree (redis);
    assert_int_equal (s_events_with (store, before, request_id, NULL), 1);

    //  Once the record expires, the same id is a new request
    cpec_store_set_idempotency_ttl (store, 1);
    s_request_id (request_id);
    put.key = PREFIX "replay:short";
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    redis = s_raw ();
    long long ttl = s_raw_integer (redis, "PTTL cpec:req:%s", request_id);
    assert_true (ttl > 0 && ttl <= 1000);
    redisFree (redis);

    free (before);
    cpec_store_destroy (&store);
}

static void
test_indexes (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    char request_id[37];
    Cpec__V1__Sez sez = s_sez ("allama-iqbal", "Allama Iqbal Industrial City", 1);
    cpec_store_put_t put = {PREFIX "ix:allama-iqbal", 0, &sez.base};
    cpec_store_index_t first[] = {
        {CPEC_STORE_SADD, PREFIX "ix:province:PK-PB", "allama-iqbal", 0},
        {CPEC_STORE_SADD, PREFIX "ix:province:PK-PB", "quaid-e-azam", 0},
        {CPEC_STORE_ZADD, PREFIX "ix:due", "allama-iqbal", 1767225600000.0},
        {CPEC_STORE_ZADD, PREFIX "ix:due", "rashakai", 12.5},
        {CPEC_STORE_INCRBYFLOAT, PREFIX "ix:acres", "ignored", 2.25},
        {CPEC_STORE_INCRBYFLOAT, PREFIX "ix:acres", NULL, 40},
    };
    s_request_id (request_id);
    cpec_store_write_t write = {
        .request_id = request_id, .puts = &put, .put_count = 1, .indexes = first, .index_count = 6};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);

    redisContext *redis = s_raw ();
    assert_int_equal (s_raw_integer (redis, "SCARD %s", PREFIX "ix:province:PK-PB"), 2);
    char *score = s_raw_string (redis, "ZSCORE %s allama-iqbal", PREFIX "ix:due");
    assert_string_equal (score, "1767225600000");
    free (score);
    score = s_raw_string (redis, "ZSCORE %s rashakai", PREFIX "ix:due");
    assert_string_equal (score, "12.5");
    free (score);
    char *acres = s_raw_string (redis, "GET %s", PREFIX "ix:acres");
    assert_string_equal (acres, "42.25");
    free (acres);

    Cpec__V1__Sez sez2 = s_sez ("allama-iqbal", "Allama Iqbal Industrial City", 2);
    put.message = &sez2.base;
    put.expected_version = 1;
    cpec_store_index_t second[] = {
        {CPEC_STORE_SREM, PREFIX "ix:province:PK-PB", "quaid-e-azam", 0},
        {CPEC_STORE_ZREM, PREFIX "ix:due", "rashakai", 0},
        {CPEC_STORE_INCRBYFLOAT, PREFIX "ix:acres", NULL, -2.25},
    };
    s_request_id (request_id);
    write.indexes = second;
    write.index_count = 3;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    assert_int_equal (s_raw_integer (redis, "SCARD %s", PREFIX "ix:province:PK-PB"), 1);
    assert_int_equal (
        s_raw_integer (redis, "SISMEMBER %s allama-iqbal", PREFIX "ix:province:PK-PB"), 1);
    assert_int_equal (s_raw_integer (redis, "ZCARD %s", PREFIX "ix:due"), 1);
    acres = s_raw_string (redis, "GET %s", PREFIX "ix:acres");
    assert_string_equal (acres, "40");
    free (acres);

    //  A score that is not finite is refused before Redis sees it
    cpec_store_index_t nan_index = {CPEC_STORE_ZADD, PREFIX "ix:due", "x", NAN};
    s_request_id (request_id);
    put.expected_version = 2;
    write.indexes = &nan_index;
    write.index_count = 1;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status),
                      CPEC_INVALID_ARGUMENT);
    redisFree (redis);
    cpec_store_destroy (&store);
}

//  Operations in a row on one key go to Redis as one command (in pieces of
//  500): long runs, runs that undo each other, a key coming back after
//  another, ZADD_LAST after its counter, and the events after them all land
//  as if each were done alone, in order.
static void
test_index_runs (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    enum
    {
        N = 1201
    };
    char (*members)[16] = calloc (N, 16);
    cpec_store_index_t *ops = calloc (4 * N + 8, sizeof (cpec_store_index_t));
    assert_non_null (members);
    assert_non_null (ops);
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        snprintf (members[i], 16, "m%d", i);
        ops[n++] = (cpec_store_index_t){CPEC_STORE_ZADD, PREFIX "runs:z", members[i],
                                        i % 7 ? 1000.0 * i : 1000.0 * i + 0.5};
    }
    for (int i = 0; i < N; i += 2) //  every even member out again
        ops[n++] = (cpec_store_index_t){CPEC_STORE_ZREM, PREFIX "runs:z", members[i], 0};
    for (int i = 0; i < 700; i++)
        ops[n++] = (cpec_store_index_t){CPEC_STORE_SADD, PREFIX "runs:s", members[i], 0};
    ops[n++] = (cpec_store_index_t){CPEC_STORE_ZADD, PREFIX "runs:z", "m0", 7}; //  back in
    ops[n++] = (cpec_store_index_t){CPEC_STORE_SREM, PREFIX "runs:s", "m1", 0};
    ops[n++] = (cpec_store_index_t){CPEC_STORE_SREM, PREFIX "runs:s", "m2", 0};
    ops[n++] = (cpec_store_index_t){CPEC_STORE_INCRBYFLOAT, PREFIX "runs:rev", NULL, 1};
    ops[n++] = (cpec_store_index_t){CPEC_STORE_INCRBYFLOAT, PREFIX "runs:rev", NULL, 2};
    ops[n++] = (cpec_store_index_t){CPEC_STORE_ZADD_LAST, PREFIX "runs:log", "a", 0};
    ops[n++] = (cpec_store_index_t){CPEC_STORE_ZADD_LAST, PREFIX "runs:log", "b", 0};
    Cpec__V1__Event event = CPEC__V1__EVENT__INIT;
    char request_id[37];
    s_request_id (request_id);
    event.type = "SezUpdated";
    event.request_id = request_id;
    const Cpec__V1__Event *events[] = {&event, &event};
    char *before = s_last_stream_id ();
    cpec_store_write_t write = {.request_id = request_id,
                                .indexes = ops,
                                .index_count = n,
                                .events = events,
                                .event_count = 2};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);

    redisContext *redis = s_raw ();
    assert_int_equal (s_raw_integer (redis, "ZCARD %s", PREFIX "runs:z"), N / 2 + 1);
    char *score = s_raw_string (redis, "ZSCORE %s m0", PREFIX "runs:z");
    assert_string_equal (score, "7");
    free (score);
    score = s_raw_string (redis, "ZSCORE %s m1199", PREFIX "runs:z"); //  in the third piece
    assert_string_equal (score, "1199000");
    free (score);
    score = s_raw_string (redis, "ZSCORE %s m7", PREFIX "runs:z");
    assert_string_equal (score, "7000.5");
    free (score);
    assert_null (s_raw_string (redis, "ZSCORE %s m2", PREFIX "runs:z"));
    assert_int_equal (s_raw_integer (redis, "SCARD %s", PREFIX "runs:s"), 698);
    assert_int_equal (s_raw_integer (redis, "SISMEMBER %s m699", PREFIX "runs:s"), 1);
    score = s_raw_string (redis, "ZSCORE %s b", PREFIX "runs:log");
    assert_string_equal (score, "3");
    free (score);
    assert_int_equal (s_events_with (store, before, request_id, NULL), 2);
    s_raw_ok (redis, "DEL %s %s %s %s", PREFIX "runs:z", PREFIX "runs:s", PREFIX "runs:rev",
              PREFIX "runs:log");
    redisFree (redis);
    free (before);
    free (ops);
    free (members);
    cpec_store_destroy (&store);
}

//  Entities under a hashed prefix: fields v:{name} and pb:{name} of one
//  hash, read many to a command, written and checked as any entity, beside
//  entities of their own in the same write; a stale version anywhere
//  writes nothing.
static void
test_hashed_entities (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_store_set_hashed (store, PREFIX "h:");
    cpec_status_t status;
    redisContext *redis = s_raw ();
    s_raw_ok (redis, "DEL %s %s", PREFIX "h", PREFIX "own");

    //  5,000 created in one write (HSET and HMGET in pieces), with one
    //  entity of its own
    enum
    {
        N = 5000
    };
    char (*keys)[48] = calloc (N + 1, 48);
    Cpec__V1__Sez *sezs = calloc (N + 1, sizeof (Cpec__V1__Sez));
    cpec_store_put_t *puts = calloc (N + 1, sizeof (cpec_store_put_t));
    const ProtobufCMessageDescriptor **descriptors = calloc (N + 1, sizeof (void *));
    ProtobufCMessage **found = calloc (N + 1, sizeof (void *));
    const char **names = calloc (N + 1, sizeof (char *));
    assert_true (keys && sezs && puts && descriptors && found && names);
    for (int i = 0; i < N; i++) {
        snprintf (keys[i], 48, PREFIX "h:z%d", i);
        sezs[i] = s_sez (keys[i] + strlen (PREFIX "h:"), "Zone", 1);
        puts[i] = (cpec_store_put_t){keys[i], 0, &sezs[i].base};
        descriptors[i] = &cpec__v1__sez__descriptor;
        names[i] = keys[i];
    }
    snprintf (keys[N], 48, PREFIX "own");
    sezs[N] = s_sez ("own", "Own", 1);
    puts[N] = (cpec_store_put_t){keys[N], 0, &sezs[N].base};
    descriptors[N] = &cpec__v1__sez__descriptor;
    names[N] = keys[N];
    char request_id[37];
    s_request_id (request_id);
    cpec_store_write_t write = {.request_id = request_id, .puts = puts, .put_count = N + 1};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    assert_int_equal (s_raw_integer (redis, "HLEN %s", PREFIX "h"), 2 * N);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "h:z7"), 0);
    char *text = s_raw_string (redis, "HGET %s v:z4999", PREFIX "h");
    assert_string_equal (text, "1");
    free (text);

    //  Read back, mixed with the entity of its own and a missing one
    assert_int_equal (cpec_store_get_mixed (store, names, descriptors, N + 1, found, &status),
                      CPEC_OK);
    for (int i = 0; i <= N; i++) {
        assert_non_null (found[i]);
        assert_string_equal (((Cpec__V1__Sez *)found[i])->id, sezs[i].id);
        cpec_pb_destroy (&found[i]);
    }
    const char *missing[2] = {PREFIX "h:nobody", PREFIX "h:z3"};
    assert_int_equal (cpec_store_get_mixed (store, missing, descriptors, 2, found, &status),
                      CPEC_OK);
    assert_null (found[0]);
    assert_non_null (found[1]);
    cpec_pb_destroy (&found[1]);
    uint32_t version = 0;
    ProtobufCMessage *one = NULL;
    Cpec__V1__Sez *got = s_get_sez (store, PREFIX "h:z3", &version, CPEC_OK);
    assert_int_equal (version, 1);
    cpec_pb_destroy ((ProtobufCMessage **)&got);

    //  Two updates, one stale: nothing written, the fresh one neither
    Cpec__V1__Sez z1 = s_sez ("z1", "Renamed", 2), z2 = s_sez ("z2", "Renamed", 3);
    cpec_store_put_t updates[2] = {{PREFIX "h:z1", 1, &z1.base}, {PREFIX "h:z2", 2, &z2.base}};
    s_request_id (request_id);
    write = (cpec_store_write_t){.request_id = request_id, .puts = updates, .put_count = 2};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_ABORTED);
    assert_non_null (strstr (status.message, "z2"));
    got = s_get_sez (store, PREFIX "h:z1", &version, CPEC_OK);
    assert_string_equal (got->name, "Zone");
    assert_int_equal (version, 1);
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    //  At the right versions both are written
    updates[1].expected_version = 1;
    z2.version = 2;
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    got = s_get_sez (store, PREFIX "h:z2", &version, CPEC_OK);
    assert_string_equal (got->name, "Renamed");
    assert_int_equal (version, 2);
    cpec_pb_destroy ((ProtobufCMessage **)&got);

    //  Created twice; deleted (then gone); deleting what is not there
    cpec_store_put_t again = {PREFIX "h:z5", 0, &sezs[5].base};
    s_request_id (request_id);
    write = (cpec_store_write_t){.request_id = request_id, .puts = &again, .put_count = 1};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status),
                      CPEC_ALREADY_EXISTS);
    cpec_store_put_t gone = {PREFIX "h:z5", 1, NULL};
    s_request_id (request_id);
    write.puts = &gone;
    write.answer = &sezs[5].base;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    assert_null (s_raw_string (redis, "HGET %s pb:z5", PREFIX "h"));
    assert_null (s_raw_string (redis, "HGET %s v:z5", PREFIX "h"));
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_NOT_FOUND);
    assert_non_null (strstr (status.message, PREFIX "h:z5"));

    //  Puts of one name in one write: the later wins, as one after the other
    Cpec__V1__Sez z6 = s_sez ("z6", "Again", 2);
    cpec_store_put_t twice[2] = {{PREFIX "h:z6", 1, NULL}, {PREFIX "h:z6", 1, &z6.base}};
    s_request_id (request_id);
    write = (cpec_store_write_t){
        .request_id = request_id, .puts = twice, .put_count = 2, .answer = &z6.base};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    got = s_get_sez (store, PREFIX "h:z6", &version, CPEC_OK);
    assert_string_equal (got->name, "Again");
    assert_int_equal (version, 2);
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    twice[0] = (cpec_store_put_t){PREFIX "h:z6", 2, &z6.base};
    twice[1] = (cpec_store_put_t){PREFIX "h:z6", 2, NULL};
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    assert_null (s_raw_string (redis, "HGET %s v:z6", PREFIX "h"));

    //  Damaged (bytes without a version): refused as such, not taken for absent
    s_raw_ok (redis, "HDEL %s v:z7", PREFIX "h");
    const char *damaged[1] = {PREFIX "h:z7"};
    assert_int_equal (cpec_store_get_mixed (store, damaged, descriptors, 1, found, &status),
                      CPEC_DATA_LOSS);
    assert_null (found[0]);
    assert_int_equal (
        cpec_store_get (store, PREFIX "h:z7", &cpec__v1__sez__descriptor, &one, NULL, &status),
        CPEC_DATA_LOSS);
    s_raw_ok (redis, "HDEL %s pb:z8", PREFIX "h"); //  and a version without bytes
    assert_int_equal (
        cpec_store_get (store, PREFIX "h:z8", &cpec__v1__sez__descriptor, &one, NULL, &status),
        CPEC_DATA_LOSS);
    assert_non_null (strstr (status.message, "no bytes"));

    //  A name holding ':' under the prefix is a key of its own
    Cpec__V1__Sez sub = s_sez ("sub", "Sub", 1);
    cpec_store_put_t apart = {PREFIX "h:sub:x", 0, &sub.base};
    s_request_id (request_id);
    write = (cpec_store_write_t){.request_id = request_id, .puts = &apart, .put_count = 1};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    assert_int_equal (s_raw_integer (redis, "HLEN %s", PREFIX "h:sub:x"), 2);
    s_raw_ok (redis, "DEL %s", PREFIX "h:sub:x");

    //  Two hashed prefixes and an entity of its own in one write, read back in one call
    cpec_store_set_hashed (store, PREFIX "h2:");
    Cpec__V1__Sez in_h = s_sez ("y1", "In h", 1), in_h2 = s_sez ("y2", "In h2", 1),
                  own = s_sez ("y3", "Own", 1);
    cpec_store_put_t three[3] = {{PREFIX "h2:y2", 0, &in_h2.base},
                                 {PREFIX "own:y3", 0, &own.base},
                                 {PREFIX "h:y1", 0, &in_h.base}};
    s_request_id (request_id);
    write = (cpec_store_write_t){.request_id = request_id, .puts = three, .put_count = 3};
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    text = s_raw_string (redis, "HGET %s v:y2", PREFIX "h2");
    assert_string_equal (text, "1");
    free (text);
    assert_int_equal (s_raw_integer (redis, "HLEN %s", PREFIX "own:y3"), 2); //  a hash of its own
    const char *mixed[4] = {PREFIX "h:y1", PREFIX "own:y3", PREFIX "h2:y2", PREFIX "h:z9"};
    assert_int_equal (cpec_store_get_mixed (store, mixed, descriptors, 4, found, &status), CPEC_OK);
    assert_string_equal (((Cpec__V1__Sez *)found[0])->name, "In h");
    assert_string_equal (((Cpec__V1__Sez *)found[1])->name, "Own");
    assert_string_equal (((Cpec__V1__Sez *)found[2])->name, "In h2");
    assert_string_equal (((Cpec__V1__Sez *)found[3])->id, "z9");
    for (int i = 0; i < 4; i++)
        cpec_pb_destroy (&found[i]);
    s_raw_ok (redis, "DEL %s %s", PREFIX "h2", PREFIX "own:y3");

    //  A hash of another type is refused
    cpec_store_set_hashed (store, PREFIX "own:");
    cpec_store_put_t wrong = {PREFIX "own:x", 0, &sezs[0].base};
    s_request_id (request_id);
    write = (cpec_store_write_t){.request_id = request_id, .puts = &wrong, .put_count = 1};
    s_raw_ok (redis, "DEL %s", PREFIX "own");
    s_raw_ok (redis, "SET %s x", PREFIX "own");
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_INTERNAL);
    assert_non_null (strstr (status.message, "WRONGTYPE"));

    s_raw_ok (redis, "DEL %s %s", PREFIX "h", PREFIX "own");
    redisFree (redis);
    free (keys);
    free (sezs);
    free (puts);
    free (descriptors);
    free (found);
    free (names);
    cpec_store_destroy (&store);
}

//  A put without a message deletes the entity (it must exist; a version
//  other than 0 must match); ZADD_LAST scores with the write's counter.
static void
test_delete_and_change_log (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    redisContext *redis = s_raw ();
    const char *key = PREFIX "del:mohmand";
    assert_int_equal (s_put_sez (store, key, 0, "Mohmand", &status), CPEC_OK);
    assert_int_equal (s_put_sez (store, key, 1, "Mohmand Marble City", &status), CPEC_OK);
    char request_id[37];
    cpec_store_put_t put = {key, 1, NULL};
    cpec_store_index_t log[] = {
        {CPEC_STORE_SREM, PREFIX "del:all", "mohmand", 0},
        {CPEC_STORE_INCRBYFLOAT, PREFIX "del:rev", NULL, 1},
        {CPEC_STORE_ZADD_LAST, PREFIX "del:changed", "mohmand", 0},
    };
    Cpec__V1__Sez answer = s_sez ("mohmand", "deleted", 0);
    cpec_store_write_t write = {.request_id = request_id,
                                .puts = &put,
                                .put_count = 1,
                                .indexes = log,
                                .index_count = 3,
                                .answer = &answer.base};
    //  a stale version: refused, nothing changes
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_ABORTED);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", key), 1);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "del:rev"), 0);
    //  at its version: gone, and the change logged with the counter's value
    put.expected_version = 2;
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", key), 0);
    s_get_sez (store, key, NULL, CPEC_NOT_FOUND);
    char *score = s_raw_string (redis, "ZSCORE %s mohmand", PREFIX "del:changed");
    assert_string_equal (score, "1");
    free (score);
    //  deleting what is not there: NOT_FOUND, and the counter does not move
    put.expected_version = 0;
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_NOT_FOUND);
    char *rev = s_raw_string (redis, "GET %s", PREFIX "del:rev");
    assert_string_equal (rev, "1");
    free (rev);
    //  the next change of another entity gets the next value
    assert_int_equal (s_put_sez (store, PREFIX "del:other", 0, "Other", &status), CPEC_OK);
    put.key = PREFIX "del:other";
    log[2].member = "other";
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status), CPEC_OK);
    score = s_raw_string (redis, "ZSCORE %s other", PREFIX "del:changed");
    assert_string_equal (score, "2");
    free (score);
    //  ZADD_LAST without a counter before it is refused whole
    cpec_store_index_t bad[] = {{CPEC_STORE_ZADD_LAST, PREFIX "del:changed", "x", 0}};
    assert_int_equal (s_put_sez (store, PREFIX "del:third", 0, "Third", &status), CPEC_OK);
    cpec_store_put_t third = {PREFIX "del:third", 1, NULL};
    write.puts = &third;
    write.indexes = bad;
    write.index_count = 1;
    s_request_id (request_id);
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, NULL, &status),
                      CPEC_INVALID_ARGUMENT);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "del:third"), 1);
    redisFree (redis);
    cpec_store_destroy (&store);
}

static void
test_noscript_fallback (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    assert_int_equal (s_put_sez (store, PREFIX "ns", 0, "v1", &status), CPEC_OK);
    redisContext *redis = s_raw ();
    s_raw_ok (redis, "SCRIPT FLUSH");
    int rc = s_put_sez (store, PREFIX "ns", 1, "v2", &status);
    if (rc)
        fail_msg ("after SCRIPT FLUSH: %s %s", cpec_code_name (rc), status.message);
    assert_int_equal (s_put_sez (store, PREFIX "ns", 2, "v3", &status), CPEC_OK);
    s_raw_ok (redis, "SCRIPT FLUSH");
    assert_int_equal (s_put_sez (store, PREFIX "ns", 3, "v4", &status), CPEC_OK);
    uint32_t version;
    Cpec__V1__Sez *sez = s_get_sez (store, PREFIX "ns", &version, CPEC_OK);
    assert_int_equal (version, 4);
    assert_string_equal (sez->name, "v4");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    redisFree (redis);
    cpec_store_destroy (&store);
}

static void
s_expect_page (cpec_store_t *store, const char **keys, size_t count, const char *after,
               size_t limit, const char *expected, bool expected_more)
{
    char **members = NULL;
    bool more = !expected_more;
    cpec_status_t status;
    assert_int_equal (
        cpec_store_members (store, keys, count, after, limit, &members, &more, &status), CPEC_OK);
    assert_non_null (members);
    char joined[1024] = "";
    for (char **m = members; *m; m++) {
        if (m != members)
            strcat (joined, ",");
        strcat (joined, *m);
    }
    assert_string_equal (joined, expected);
    assert_int_equal (more, expected_more);
    cpec_store_strings_destroy (&members);
    assert_null (members);
    cpec_store_strings_destroy (&members);
}

static void
test_members (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    redisContext *redis = s_raw ();
    s_raw_ok (redis, "SADD %s m07 m03 m09 m01 m00 m05 m02 m08 m04 m06 M1 \xc3\xa9t\xc3\xa9 m0",
              PREFIX "set:all");
    s_raw_ok (redis, "SADD %s m06 m00 m04 x m08 m02 M1", PREFIX "set:even");
    s_raw_ok (redis, "SADD %s m04 m00 m06 m08 y M1", PREFIX "set:third");

    const char *all[] = {PREFIX "set:all"};
    s_expect_page (store, all, 1, NULL, 0,
                   "M1,m0,m00,m01,m02,m03,m04,m05,m06,m07,m08,m09,\xc3\xa9t\xc3\xa9", false);
    s_expect_page (store, all, 1, "", 3, "M1,m0,m00", true);
    s_expect_page (store, all, 1, "m00", 3, "m01,m02,m03", true);
    s_expect_page (store, all, 1, "m055", 4, "m06,m07,m08,m09", true);
    s_expect_page (store, all, 1, "m09", 4, "\xc3\xa9t\xc3\xa9", false);
    s_expect_page (store, all, 1, "\xc3\xa9t\xc3\xa9", 4, "", false);

    const char *two[] = {PREFIX "set:all", PREFIX "set:even"};
    s_expect_page (store, two, 2, NULL, 2, "M1,m00", true);
    s_expect_page (store, two, 2, "m00", 2, "m02,m04", true);
    s_expect_page (store, two, 2, "m04", 2, "m06,m08", false);

    const char *three[] = {PREFIX "set:all", PREFIX "set:even", PREFIX "set:third"};
    s_expect_page (store, three, 3, "M1", 10, "m00,m04,m06,m08", false);

    const char *none[] = {PREFIX "set:all", PREFIX "set:nothing"};
    s_expect_page (store, none, 2, NULL, 10, "", false);
    const char *missing[] = {PREFIX "set:nothing"};
    s_expect_page (store, missing, 1, NULL, 10, "", false);

    char **members = NULL;
    cpec_status_t status;
    assert_int_equal (cpec_store_members (store, all, 0, NULL, 10, &members, NULL, &status),
                      CPEC_INVALID_ARGUMENT);
    assert_null (members);
    s_raw_ok (redis, "SET %s notaset", PREFIX "set:string");
    const char *wrong[] = {PREFIX "set:string"};
    assert_int_equal (cpec_store_members (store, wrong, 1, NULL, 10, &members, NULL, &status),
                      CPEC_INTERNAL);
    assert_null (members);
    redisFree (redis);
    cpec_store_destroy (&store);
}

static void
test_data_loss_and_get_many (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    assert_int_equal (s_put_sez (store, PREFIX "many:a", 0, "A", &status), CPEC_OK);
    assert_int_equal (s_put_sez (store, PREFIX "many:c", 0, "C", &status), CPEC_OK);
    redisContext *redis = s_raw ();
    //  field 1, length 16, but only three bytes follow
    redisReply *reply = redisCommand (redis, "HSET %s v 1 pb %b", PREFIX "garbage",
                                      "\x0a\x10"
                                      "abc",
                                      (size_t)5);
    assert_non_null (reply);
    freeReplyObject (reply);
    s_raw_ok (redis, "HSET %s v x1 pb %s", PREFIX "badversion", "");

    s_get_sez (store, PREFIX "garbage", NULL, CPEC_DATA_LOSS);
    ProtobufCMessage *message = NULL;
    assert_int_equal (cpec_store_get (store, PREFIX "garbage", &cpec__v1__sez__descriptor, &message,
                                      NULL, &status),
                      CPEC_DATA_LOSS);
    assert_non_null (strstr (status.message, PREFIX "garbage"));
    s_get_sez (store, PREFIX "badversion", NULL, CPEC_DATA_LOSS);

    const char *keys[] = {PREFIX "many:a", PREFIX "many:b", PREFIX "many:c"};
    ProtobufCMessage *messages[3] = {NULL, NULL, NULL};
    assert_int_equal (
        cpec_store_get_many (store, keys, 3, &cpec__v1__sez__descriptor, messages, &status),
        CPEC_OK);
    assert_non_null (messages[0]);
    assert_null (messages[1]);
    assert_non_null (messages[2]);
    assert_string_equal (((Cpec__V1__Sez *)messages[0])->name, "A");
    assert_string_equal (((Cpec__V1__Sez *)messages[2])->name, "C");
    for (int i = 0; i < 3; i++)
        cpec_pb_destroy (&messages[i]);

    const char *with_garbage[] = {PREFIX "many:a", PREFIX "garbage", PREFIX "many:c"};
    assert_int_equal (
        cpec_store_get_many (store, with_garbage, 3, &cpec__v1__sez__descriptor, messages, &status),
        CPEC_DATA_LOSS);
    for (int i = 0; i < 3; i++)
        assert_null (messages[i]);
    //  The connection is still in step: the next pipeline answers correctly
    assert_int_equal (
        cpec_store_get_many (store, keys + 2, 1, &cpec__v1__sez__descriptor, messages, &status),
        CPEC_OK);
    assert_string_equal (((Cpec__V1__Sez *)messages[0])->name, "C");
    cpec_pb_destroy (&messages[0]);

    //  A key of another type is INTERNAL with Redis's text
    s_raw_ok (redis, "SET %s string", PREFIX "many:string");
    s_get_sez (store, PREFIX "many:string", NULL, CPEC_INTERNAL);
    redisFree (redis);
    cpec_store_destroy (&store);
}

static void
test_read_events (void **state)
{
    (void)state;
    cpec_store_t *store = s_store ();
    cpec_status_t status;
    char *before = s_last_stream_id ();
    redisContext *redis = s_raw ();
    //  An undecodable entry first: it is skipped, even when a batch holds nothing else
    char *bad_id = s_raw_string (redis, "XADD %s * type Bad pb %b", CPEC_STORE_EVENTS_KEY,
                                 "\x0a\x10", (size_t)2);
    assert_non_null (bad_id);

    char request_id[37];
    s_request_id (request_id);
    Cpec__V1__Sez sez = s_sez ("bostan", "Bostan SEZ", 1);
    Cpec__V1__SezCreated created = CPEC__V1__SEZ_CREATED__INIT;
    created.sez = &sez;
    Cpec__V1__Event first = CPEC__V1__EVENT__INIT;
    first.type = "SezCreated";
    first.zone_id = "bostan";
    first.province = "PK-BA";
    first.request_id = request_id;
    first.payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED;
    first.sez_created = &created;
    Cpec__V1__SezStatusChanged changed = CPEC__V1__SEZ_STATUS_CHANGED__INIT;
    changed.to_status = CPEC__V1__SEZ__STATUS__NOTIFIED;
    changed.version = 1;
    Cpec__V1__Event second = CPEC__V1__EVENT__INIT;
    second.type = "SezStatusChanged";
    second.request_id = request_id;
    second.payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED;
    second.sez_status_changed = &changed;
    const Cpec__V1__Event *events[] = {&first, &second};
    cpec_store_put_t put = {PREFIX "ev:bostan", 0, &sez.base};
    cpec_store_write_t write = {
        .request_id = request_id, .puts = &put, .put_count = 1, .events = events, .event_count = 2};
    char *stream_id = NULL;
    assert_int_equal (cpec_store_write (store, &write, NULL, NULL, &stream_id, &status), CPEC_OK);
    assert_non_null (stream_id);

    //  count 1 from before the bad entry: the bad one is read past
    Cpec__V1__Event **read = NULL;
    char **ids = NULL;
    assert_int_equal (cpec_store_read_events (store, before, 1, 0, &read, &ids, &status), CPEC_OK);
    assert_non_null (read[0]);
    assert_null (read[1]);
    assert_string_not_equal (ids[0], bad_id);
    cpec_store_events_destroy (&read);
    cpec_store_strings_destroy (&ids);

    //  All of them: ours are there, in order, and decode to what we wrote
    assert_int_equal (cpec_store_read_events (store, before, 1000, 0, &read, &ids, &status),
                      CPEC_OK);
    int ours = 0;
    for (size_t i = 0; read[i]; i++) {
        assert_string_not_equal (ids[i], bad_id);
        if (strcmp (read[i]->request_id, request_id))
            continue;
        if (ours == 0) {
            assert_true (s_same_message (&read[i]->base, &first.base));
            assert_int_equal (read[i]->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED);
            assert_string_equal (read[i]->sez_created->sez->name, "Bostan SEZ");
        } else {
            assert_true (s_same_message (&read[i]->base, &second.base));
            assert_string_equal (ids[i], stream_id);
        }
        ours++;
    }
    assert_int_equal (ours, 2);
    cpec_store_events_destroy (&read);
    cpec_store_strings_destroy (&ids);
    cpec_store_events_destroy (&read);

    //  ids are optional
    assert_int_equal (cpec_store_read_events (store, before, 10, 0, &read, NULL, &status), CPEC_OK);
    assert_non_null (read[0]);
    cpec_store_events_destroy (&read);

    //  Blocking past the 2 s command timeout: OK and empty, not UNAVAILABLE
    //  (unless another test appended meanwhile)
    char *last = s_last_stream_id ();
    int64_t start = cpec_clock_ms ();
    int rc = cpec_store_read_events (store, last, 10, 2300, &read, &ids, &status);
    int64_t elapsed = cpec_clock_ms () - start;
    if (rc)
        fail_msg ("blocking read: %s %s", cpec_code_name (rc), status.message);
    if (!read[0])
        assert_true (elapsed >= 2200); //  it waited (no upper bound: shared machines)
    cpec_store_events_destroy (&read);
    cpec_store_strings_destroy (&ids);
    //  and the connection still works with the normal timeout
    assert_true (cpec_store_ping (store));

    redisReply *reply = redisCommand (redis, "XDEL %s %s", CPEC_STORE_EVENTS_KEY, bad_id);
    freeReplyObject (reply);
    free (last);
    free (bad_id);
    free (stream_id);
    free (before);
    redisFree (redis);
    cpec_store_destroy (&store);
}

//  The entity cache: a reader that caches never returns a version older than
//  a write another store (another replica) has had acknowledged, and
//  get_many mixes cached and fresh entities correctly.
//  The CLIENT CACHING calls Redis has counted so far (INFO commandstats).
static long long
s_caching_calls (redisContext *redis)
{
    redisReply *reply = (redisReply *)redisCommand (redis, "INFO commandstats");
    assert_non_null (reply);
    assert_int_equal (reply->type, REDIS_REPLY_STRING);
    const char *line = strstr (reply->str, "cmdstat_client|caching:calls=");
    long long calls = line ? atoll (line + strlen ("cmdstat_client|caching:calls=")) : 0;
    freeReplyObject (reply);
    return calls;
}

//  Keys under an uncached prefix are read from Redis every time and never
//  tracked; the others are cached as before.
static void
test_uncached_prefix (void **state)
{
    (void)state;
    cpec_store_t *reader = s_store ();
    cpec_store_t *writer = s_store ();
    redisContext *redis = s_raw ();
    cpec_store_set_cache (reader, 100);
    cpec_store_set_uncached (reader, "test:store:hot:");
    char hot[64], cold[64];
    snprintf (hot, sizeof (hot), "test:store:hot:%d", getpid ());
    snprintf (cold, sizeof (cold), "test:store:cold:%d", getpid ());
    cpec_status_t status;
    assert_int_equal (s_put_sez (writer, hot, 0, "h1", &status), CPEC_OK);
    assert_int_equal (s_put_sez (writer, cold, 0, "c1", &status), CPEC_OK);
    Cpec__V1__Sez *sez = s_get_sez (reader, cold, NULL, CPEC_OK); //  tracking starts
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    assert_true (cpec_store_cache_active (reader));
    //  An uncached key: no CLIENT CACHING, each read goes to Redis
    long long before = s_caching_calls (redis);
    for (int i = 0; i < 3; i++) {
        sez = s_get_sez (reader, hot, NULL, CPEC_OK);
        assert_string_equal (sez->name, "h1");
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
    }
    assert_int_equal (s_caching_calls (redis), before);
    //  ...and a change is seen at once
    assert_int_equal (s_put_sez (writer, hot, 1, "h2", &status), CPEC_OK);
    sez = s_get_sez (reader, hot, NULL, CPEC_OK);
    assert_string_equal (sez->name, "h2");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    //  A key outside the prefix is tracked (a CLIENT CACHING before its read)
    assert_int_equal (s_put_sez (writer, cold, 1, "c2", &status), CPEC_OK);
    before = s_caching_calls (redis);
    sez = s_get_sez (reader, cold, NULL, CPEC_OK);
    assert_string_equal (sez->name, "c2");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    assert_true (s_caching_calls (redis) > before);
    redisFree (redis);
    cpec_store_destroy (&reader);
    cpec_store_destroy (&writer);
}

static void
test_cache_is_never_stale (void **state)
{
    (void)state;
    cpec_store_t *reader = s_store ();
    cpec_store_t *writer = s_store ();
    cpec_store_set_cache (reader, 100);
    char key[64], other[64], name[32];
    snprintf (key, sizeof (key), "test:store:cache:%d", getpid ());
    snprintf (other, sizeof (other), "test:store:cache2:%d", getpid ());
    cpec_status_t status;
    assert_int_equal (s_put_sez (writer, key, 0, "v1", &status), CPEC_OK);
    assert_int_equal (s_put_sez (writer, other, 0, "o1", &status), CPEC_OK);
    uint32_t version = 0;
    Cpec__V1__Sez *sez = s_get_sez (reader, key, &version, CPEC_OK);
    assert_true (cpec_store_cache_active (reader));
    assert_int_equal (version, 1);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    for (uint32_t v = 1; v < 200; v++) {
        //  Cached now (read twice), then changed elsewhere and acknowledged...
        sez = s_get_sez (reader, key, &version, CPEC_OK);
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
        snprintf (name, sizeof (name), "v%u", v + 1);
        assert_int_equal (s_put_sez (writer, key, v, name, &status), CPEC_OK);
        //  ...so the very next read sees it, decoded or as stored.
        uint8_t *packed = NULL;
        size_t size = 0;
        assert_int_equal (cpec_store_get_packed (reader, key, &packed, &size, &version, &status),
                          CPEC_OK);
        assert_int_equal (version, v + 1);
        sez = (Cpec__V1__Sez *)cpec_pb_unpack (&cpec__v1__sez__descriptor, packed, size);
        free (packed);
        assert_non_null (sez);
        assert_string_equal (sez->name, name);
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
        sez = s_get_sez (reader, key, &version, CPEC_OK);
        assert_int_equal (version, v + 1);
        assert_string_equal (sez->name, name);
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
    }
    //  get_many: one key cached and unchanged, one changed since.
    const char *keys[2] = {key, other};
    ProtobufCMessage *many[2] = {NULL, NULL};
    assert_int_equal (
        cpec_store_get_many (reader, keys, 2, &cpec__v1__sez__descriptor, many, &status), CPEC_OK);
    cpec_pb_destroy (&many[0]);
    cpec_pb_destroy (&many[1]);
    assert_int_equal (s_put_sez (writer, other, 1, "o2", &status), CPEC_OK);
    assert_int_equal (
        cpec_store_get_many (reader, keys, 2, &cpec__v1__sez__descriptor, many, &status), CPEC_OK);
    assert_string_equal (((Cpec__V1__Sez *)many[0])->name, "v200");
    assert_string_equal (((Cpec__V1__Sez *)many[1])->name, "o2");
    cpec_pb_destroy (&many[0]);
    cpec_pb_destroy (&many[1]);
    //  A deleted key is not served from the cache either.
    redisContext *raw = s_raw ();
    s_raw_ok (raw, "DEL %s", key);
    s_raw_ok (raw, "PING"); //  the same fence cpec_store_write uses
    redisFree (raw);
    sez = s_get_sez (reader, key, NULL, CPEC_NOT_FOUND);
    uint8_t *gone = (uint8_t *)"untouched";
    size_t gone_size = 1;
    assert_int_equal (cpec_store_get_packed (reader, key, &gone, &gone_size, NULL, &status),
                      CPEC_NOT_FOUND);
    assert_null (gone);
    assert_int_equal (gone_size, 0);

    //  The invalidation connection killed under the reader: reads carry on
    //  (from Redis), stay exact, and the cache comes back.
    sez = s_get_sez (reader, other, NULL, CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    raw = s_raw ();
    s_raw_ok (raw, "CLIENT KILL TYPE pubsub");
    redisFree (raw);
    usleep (50 * 1000);
    assert_int_equal (
        cpec_store_get_many (reader, keys + 1, 1, &cpec__v1__sez__descriptor, many, &status),
        CPEC_OK);
    assert_string_equal (((Cpec__V1__Sez *)many[0])->name, "o2");
    cpec_pb_destroy (&many[0]);
    assert_false (cpec_store_cache_active (reader));
    assert_int_equal (s_put_sez (writer, other, 2, "o3", &status), CPEC_OK);
    sez = s_get_sez (reader, other, NULL, CPEC_OK);
    assert_string_equal (sez->name, "o3");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    usleep (1100 * 1000); //  tracking is tried again after a second
    sez = s_get_sez (reader, other, NULL, CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    assert_true (cpec_store_cache_active (reader));
    assert_int_equal (s_put_sez (writer, other, 3, "o4", &status), CPEC_OK);
    sez = s_get_sez (reader, other, NULL, CPEC_OK);
    assert_string_equal (sez->name, "o4");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    cpec_store_destroy (&reader);
    cpec_store_destroy (&writer);
}

//  The write script refuses a request-id lifetime below one second before it
//  writes anything (Redis does not undo a script's earlier writes).
static void
test_script_refuses_bad_ttl (void **state)
{
    (void)state;
    extern const char cpec_lua_write[];
    redisContext *raw = s_raw ();
    char key[64], request[64];
    snprintf (key, sizeof (key), "test:store:ttl:%d", getpid ());
    snprintf (request, sizeof (request), "cpec:req:test-ttl-%d", getpid ());
    const char *ttls[] = {"0", "-1", "1.5", "x"};
    for (size_t i = 0; i < 4; i++) {
        //  KEYS: request, stream, entity; ARGV: ttl, puts, index runs, events,
        //  answer, hashes of field entities, expected, packed entity.
        redisReply *reply =
            redisCommand (raw, "EVAL %s 3 %s %s %s %s 1 0 0 answer 0 0 entity", cpec_lua_write,
                          request, CPEC_STORE_EVENTS_KEY, key, ttls[i]);
        assert_non_null (reply);
        assert_int_equal (reply->type, REDIS_REPLY_ERROR);
        assert_non_null (strstr (reply->str, "INVALID idempotency ttl"));
        freeReplyObject (reply);
        assert_int_equal (s_raw_integer (raw, "EXISTS %s", key), 0);
        assert_int_equal (s_raw_integer (raw, "EXISTS %s", request), 0);
    }
    redisFree (raw);
}

static void
test_unavailable_and_recovery (void **state)
{
    (void)state;
    int port = s_free_port ();
    snprintf (s_spare_dir, sizeof (s_spare_dir), "/tmp/cpec-test-store-XXXXXX");
    assert_non_null (mkdtemp (s_spare_dir));
    s_spare_port = port;
    const char *dir = s_spare_dir;
    char url[128];
    snprintf (url, sizeof (url), "redis://127.0.0.1:%d/0", port);
    cpec_store_t *store = cpec_store_new (url);
    assert_non_null (store);

    //  Nobody listens: UNAVAILABLE, then fast failures while backing off
    cpec_status_t status;
    assert_false (cpec_store_ping (store));
    int64_t start = cpec_clock_ms ();
    s_get_sez (store, PREFIX "x", NULL, CPEC_UNAVAILABLE);
    assert_int_equal (s_put_sez (store, PREFIX "x", 0, "x", &status), CPEC_UNAVAILABLE);
    assert_non_null (strstr (status.message, "127.0.0.1"));
    //  The first failure waits at most 50 ms, the next at most 100 ms (only
    //  upper bounds: a slow machine may have used part of the wait already)
    int wait = s_next_attempt (&status);
    assert_true (wait <= 50);
    usleep (60 * 1000);
    assert_false (cpec_store_ping (store));
    assert_int_equal (s_put_sez (store, PREFIX "x", 0, "x", &status), CPEC_UNAVAILABLE);
    wait = s_next_attempt (&status);
    assert_true (wait <= 100);
    char **members = NULL;
    const char *keys[] = {PREFIX "set"};
    assert_int_equal (cpec_store_members (store, keys, 1, NULL, 10, &members, NULL, &status),
                      CPEC_UNAVAILABLE);
    Cpec__V1__Event **events = NULL;
    assert_int_equal (cpec_store_read_events (store, "0-0", 10, 100, &events, NULL, &status),
                      CPEC_UNAVAILABLE);
    assert_null (events);

    //  It comes up: the store reconnects within the backoff
    s_fixture ("start", dir, port);
    bool up = false;
    for (int i = 0; i < 400 && !up; i++) { //  20 s at most: shared machines
        up = cpec_store_ping (store);
        if (!up)
            usleep (50 * 1000);
    }
    assert_true (up);
    assert_int_equal (s_put_sez (store, PREFIX "x", 0, "x", &status), CPEC_OK);

    //  It goes away: UNAVAILABLE
    s_fixture ("stop", dir, port);
    s_get_sez (store, PREFIX "x", NULL, CPEC_UNAVAILABLE);
    assert_int_equal (s_put_sez (store, PREFIX "x", 1, "x", &status), CPEC_UNAVAILABLE);
    //  (let the backoff grow a little)
    for (int i = 0; i < 4; i++) {
        usleep (120 * 1000);
        assert_false (cpec_store_ping (store));
    }

    //  It comes back (empty, the fixture flushes): writes succeed again
    s_fixture ("start", dir, port);
    start = cpec_clock_ms ();
    int rc = CPEC_UNAVAILABLE;
    while (rc == CPEC_UNAVAILABLE && cpec_clock_ms () - start < 20000) {
        rc = s_put_sez (store, PREFIX "x", 0, "again", &status);
        if (rc == CPEC_UNAVAILABLE)
            usleep (50 * 1000);
    }
    if (rc)
        fail_msg ("after restart: %s %s", cpec_code_name (rc), status.message);
    Cpec__V1__Sez *sez = s_get_sez (store, PREFIX "x", NULL, CPEC_OK);
    assert_string_equal (sez->name, "again");
    cpec_pb_destroy ((ProtobufCMessage **)&sez);

    //  Success reset the backoff: the next failure waits 50 ms again
    s_fixture ("stop", dir, port);
    s_get_sez (store, PREFIX "x", NULL, CPEC_UNAVAILABLE);
    assert_int_equal (s_put_sez (store, PREFIX "x", 1, "x", &status), CPEC_UNAVAILABLE);
    wait = s_next_attempt (&status);
    assert_true (wait <= 50);
    cpec_store_destroy (&store);
    s_fixture ("start", dir, port);

    //  AUTH and SELECT from the URL
    redisContext *redis = s_raw_connect ("127.0.0.1", port, NULL, 0);
    s_raw_ok (redis, "CONFIG SET requirepass s3cr%%t");
    redisFree (redis);
    snprintf (url, sizeof (url), "redis://:s3cr%%25t@127.0.0.1:%d/2", port);
    store = cpec_store_new (url);
    assert_non_null (store);
    assert_true (cpec_store_ping (store));
    assert_int_equal (s_put_sez (store, PREFIX "db2", 0, "in db 2", &status), CPEC_OK);
    cpec_store_destroy (&store);
    redis = s_raw_connect ("127.0.0.1", port, "s3cr%t", 2);
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "db2"), 1);
    s_raw_ok (redis, "SELECT 0");
    assert_int_equal (s_raw_integer (redis, "EXISTS %s", PREFIX "db2"), 0);
    redisFree (redis);

    snprintf (url, sizeof (url), "redis://:wrong@127.0.0.1:%d/2", port);
    store = cpec_store_new (url);
    assert_false (cpec_store_ping (store));
    s_get_sez (store, PREFIX "db2", NULL, CPEC_UNAVAILABLE);
    cpec_store_destroy (&store);
    snprintf (url, sizeof (url), "redis://:wrong@127.0.0.1:%d/2", port);
    store = cpec_store_new (url);
    assert_int_equal (s_put_sez (store, PREFIX "db2", 1, "x", &status), CPEC_UNAVAILABLE);
    assert_non_null (strstr (status.message, "AUTH"));
    cpec_store_destroy (&store);
}

//  Stops the spare server and removes its directory, even after a failure.
static int
s_spare_teardown (void **state)
{
    (void)state;
    if (!*s_spare_dir)
        return 0;
    int rc = s_fixture_run ("stop", s_spare_dir, s_spare_port);
    char command[256];
    snprintf (command, sizeof (command), "rm -rf '%s'", s_spare_dir);
    rc = rc ? rc : system (command);
    *s_spare_dir = 0;
    return rc == 0 ? 0 : -1;
}

//  --------------------------------------------------------------------------

static int
s_setup (void **state)
{
    (void)state;
    const char *url = getenv ("CPEC_TEST_REDIS_URL");
    snprintf (s_url, sizeof (s_url), "%s", url ? url : "redis://127.0.0.1:17999/0");
    if (sscanf (s_url, "redis://%127[^:/]:%d/%d", s_host, &s_port, &s_db) < 2) {
        fprintf (stderr, "test_store: cannot parse %s\n", s_url);
        return -1;
    }
    struct timeval timeout = {2, 0};
    redisContext *redis = redisConnectWithTimeout (s_host, s_port, timeout);
    if (!redis || redis->err) {
        fprintf (stderr, "test_store: no redis-server at %s\n", s_url);
        if (redis)
            redisFree (redis);
        return -1;
    }
    redisReply *reply = redisCommand (redis, "SELECT %d", s_db);
    freeReplyObject (reply);
    reply = redisCommand (redis, "EVAL %s 0 %s",
                          "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
                          "redis.call('DEL', k) end return 0",
                          PREFIX "*");
    freeReplyObject (reply);
    redisFree (redis);
    return 0;
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_url),
        cmocka_unit_test (test_get_missing),
        cmocka_unit_test (test_write_get_round_trip),
        cmocka_unit_test (test_version_mismatch_changes_nothing),
        cmocka_unit_test (test_create_twice_and_update_missing),
        cmocka_unit_test (test_replay),
        cmocka_unit_test (test_indexes),
        cmocka_unit_test (test_index_runs),
        cmocka_unit_test (test_hashed_entities),
        cmocka_unit_test (test_delete_and_change_log),
        cmocka_unit_test (test_noscript_fallback),
        cmocka_unit_test (test_members),
        cmocka_unit_test (test_data_loss_and_get_many),
        cmocka_unit_test (test_read_events),
        cmocka_unit_test (test_cache_is_never_stale),
        cmocka_unit_test (test_uncached_prefix),
        cmocka_unit_test (test_script_refuses_bad_ttl),
        cmocka_unit_test_teardown (test_unavailable_and_recovery, s_spare_teardown),
    };
    return cmocka_run_group_tests (tests, s_setup, NULL);
}
