/*  test_notify_handlers - the handlers of cpec.v1.Notify (the method table
    notify_methods of services/notify/notify_server.c) driven in-process
    against the real redis-server of the ctest fixture "redis"
    (CPEC_TEST_REDIS_URL), the way the worker calls them: a fresh output
    message per call, freed after (or the bytes of call->packed_output, when
    a handler answers so).

    No engine runs: where a test needs deliveries, dead letters or a live
    feed, it writes the Redis state the engine would make by hand (the
    delivery hash cpec:ntf:dlv:{id}, the sorted sets hist:{sub}, dlq and
    dlq:{sub}, the stream live:{sub}).

    Other tests share that Redis, so every subscription id, delivery id and
    principal carries a prefix unique to this run and a tag unique to the
    test ("<prefix>-<tag>-..."); each test removes the keys and the members
    of the shared sets it made. Every refusal is checked to change nothing:
    the keys under cpec:ntf: are the same before and after (DUMP), and the
    refused request id is not recorded.

    The last three tests are regressions of faults found by this file (see
    the comment above each).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/notify.pb-c.h"
#include "cpec_bus.h"
#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "handlers_test.h"
#include "cpec_store.h"
#include "notify.h"

#define S_ADMIN      CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_ENTERPRISE CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE

#define S_WEBHOOK CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK
#define S_EMAIL   CPEC__V1__SUBSCRIPTION__CHANNEL__EMAIL
#define S_LIVE    CPEC__V1__SUBSCRIPTION__CHANNEL__LIVE

#define S_PENDING   CPEC__V1__DELIVERY__STATUS__PENDING
#define S_RETRYING  CPEC__V1__DELIVERY__STATUS__RETRYING
#define S_DELIVERED CPEC__V1__DELIVERY__STATUS__DELIVERED
#define S_DEAD      CPEC__V1__DELIVERY__STATUS__DEAD

#define S_SECRET_A "whsec-0123456789abcdef-alpha"
#define S_SECRET_B "whsec-0123456789abcdef-bravo"

typedef struct
{
    handlers_env_t env; //  store, Redis, the bus and its subscriber
    notify_t notify;    //  the handlers' state
    char prefix[32];    //  unique to this run: every id and subject starts with it
} s_fixture_t;

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

#define assert_ok(rc, status)                                                                      \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != CPEC_OK)                                                                        \
            fail_msg ("wanted OK, got %s \"%s\"", cpec_code_name (rc_), (status)->message);        \
    } while (0)

//  --------------------------------------------------------------------------
//  Fixture

static int
s_setup (void **state)
{
    s_fixture_t *self = calloc (1, sizeof (s_fixture_t));
    assert_non_null (self);
    if (handlers_env_open (&self->env, "notify") != 0) {
        free (self);
        return -1;
    }
    cpec_log_init ("test_notify_handlers", NULL, "warn");
    curl_global_init (CURL_GLOBAL_DEFAULT);
    self->notify = (notify_t){.store = self->env.store,
                              .bus = self->env.bus,
                              .page_bytes = 1048576 / 2, //  as cpec_service: CPEC_MAX_MESSAGE / 2
                              .config = {.smtp_url = "",
                                         .mail_from = "cpec-notify@localhost",
                                         .http_timeout_ms = 3000,
                                         .max_attempts = 5,
                                         .max_age_ms = 86400000,
                                         .backoff_base_ms = 1000,
                                         .backoff_max_ms = 60000,
                                         .lease_ms = 30000,
                                         .claim_idle_ms = 5000,
                                         .concurrency = 4,
                                         .digest_hour = 8,
                                         .digest_period_ms = 86400000,
                                         .delivered_ttl_s = 3600,
                                         .allow_private = true}};
    snprintf (self->prefix, sizeof (self->prefix), "t%x%x", (unsigned)getpid (),
              (unsigned)(cpec_now_ms () & 0xffffff));
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    handlers_env_close (&self->env);
    curl_global_cleanup ();
    free (self);
    return 0;
}

//  "<prefix>-<tag>-<name>" into buf: an id or a subject of this test.
static const char *
s_name (s_fixture_t *self, char *buf, size_t size, const char *tag, const char *name)
{
    snprintf (buf, size, "%s-%s-%s", self->prefix, tag, name);
    return buf;
}

//  --------------------------------------------------------------------------
//  Calling handlers as the worker does

typedef struct
{
    int role;            //  principal role
    const char *subject; //  principal subject
    const char *request; //  request id; NULL: a fresh one
} s_caller_t;

static cpec_handler_fn *
s_handler (const char *method)
{
    for (const cpec_method_t *one = notify_methods; one->method; one++)
        if (strcmp (one->method, method) == 0)
            return one->handler;
    fail_msg ("notify_methods has no %s", method);
    return NULL;
}

//  Calls method with input; on OK *output (may be NULL to drop it) gets the
//  output message. Returns the code; status (may be NULL) the message.
static int
s_call (s_fixture_t *self, const char *method, s_caller_t caller, const ProtobufCMessage *input,
        const ProtobufCMessageDescriptor *output_descriptor, ProtobufCMessage **output,
        cpec_status_t *status)
{
    handlers_caller_t who = {
        .role = caller.role, .subject = caller.subject, .request = caller.request};
    return handlers_call (s_handler (method), &self->notify, method, who, input, output_descriptor,
                          output, status);
}

static int
s_create (s_fixture_t *self, s_caller_t caller, Cpec__V1__Subscription *subscription,
          Cpec__V1__Subscription **created, cpec_status_t *status)
{
    Cpec__V1__CreateSubscriptionRequest request = CPEC__V1__CREATE_SUBSCRIPTION_REQUEST__INIT;
    request.subscription = subscription;
    return s_call (self, "Create", caller, &request.base, &cpec__v1__subscription__descriptor,
                   (ProtobufCMessage **)created, status);
}

static int
s_get (s_fixture_t *self, s_caller_t caller, const char *id, Cpec__V1__Subscription **got,
       cpec_status_t *status)
{
    Cpec__V1__GetSubscriptionRequest request = CPEC__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    request.id = (char *)id;
    return s_call (self, "Get", caller, &request.base, &cpec__v1__subscription__descriptor,
                   (ProtobufCMessage **)got, status);
}

static int
s_list (s_fixture_t *self, s_caller_t caller, const char *owner, uint32_t page_size,
        const char *cursor, Cpec__V1__ListSubscriptionsResponse **response, cpec_status_t *status)
{
    Cpec__V1__ListSubscriptionsRequest request = CPEC__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    request.owner = (char *)owner;
    request.page_size = page_size;
    request.cursor = (char *)cursor;
    return s_call (self, "List", caller, &request.base,
                   &cpec__v1__list_subscriptions_response__descriptor,
                   (ProtobufCMessage **)response, status);
}

//  Updates with a mask (NULL-terminated; NULL: empty mask, every field).
static int
s_update (s_fixture_t *self, s_caller_t caller, Cpec__V1__Subscription *subscription,
          uint32_t expected, const char **mask, Cpec__V1__Subscription **updated,
          cpec_status_t *status)
{
    Cpec__V1__UpdateSubscriptionRequest request = CPEC__V1__UPDATE_SUBSCRIPTION_REQUEST__INIT;
    request.subscription = subscription;
    request.expected_version = expected;
    while (mask && mask[request.n_update_mask])
        request.n_update_mask++;
    request.update_mask = (char **)mask;
    return s_call (self, "Update", caller, &request.base, &cpec__v1__subscription__descriptor,
                   (ProtobufCMessage **)updated, status);
}

static int
s_delete (s_fixture_t *self, s_caller_t caller, const char *id, uint32_t expected,
          Cpec__V1__Subscription **deleted, cpec_status_t *status)
{
    Cpec__V1__DeleteSubscriptionRequest request = CPEC__V1__DELETE_SUBSCRIPTION_REQUEST__INIT;
    request.id = (char *)id;
    request.expected_version = expected;
    return s_call (self, "Delete", caller, &request.base, &cpec__v1__subscription__descriptor,
                   (ProtobufCMessage **)deleted, status);
}

static int
s_test (s_fixture_t *self, s_caller_t caller, const char *id,
        Cpec__V1__TestSubscriptionResponse **response, cpec_status_t *status)
{
    Cpec__V1__TestSubscriptionRequest request = CPEC__V1__TEST_SUBSCRIPTION_REQUEST__INIT;
    request.id = (char *)id;
    return s_call (self, "Test", caller, &request.base,
                   &cpec__v1__test_subscription_response__descriptor, (ProtobufCMessage **)response,
                   status);
}

static int
s_deliveries (s_fixture_t *self, s_caller_t caller, const char *subscription_id,
              Cpec__V1__Delivery__Status filter, uint32_t page_size, const char *cursor,
              Cpec__V1__ListDeliveriesResponse **response, cpec_status_t *status)
{
    Cpec__V1__ListDeliveriesRequest request = CPEC__V1__LIST_DELIVERIES_REQUEST__INIT;
    request.subscription_id = (char *)subscription_id;
    request.status = filter;
    request.page_size = page_size;
    request.cursor = (char *)cursor;
    return s_call (self, "ListDeliveries", caller, &request.base,
                   &cpec__v1__list_deliveries_response__descriptor, (ProtobufCMessage **)response,
                   status);
}

static int
s_dead_letters (s_fixture_t *self, s_caller_t caller, const char *subscription_id,
                uint32_t page_size, const char *cursor, Cpec__V1__ListDeliveriesResponse **response,
                cpec_status_t *status)
{
    Cpec__V1__ListDeadLettersRequest request = CPEC__V1__LIST_DEAD_LETTERS_REQUEST__INIT;
    request.subscription_id = (char *)subscription_id;
    request.page_size = page_size;
    request.cursor = (char *)cursor;
    return s_call (self, "ListDeadLetters", caller, &request.base,
                   &cpec__v1__list_deliveries_response__descriptor, (ProtobufCMessage **)response,
                   status);
}

static int
s_replay (s_fixture_t *self, s_caller_t caller, const char *id,
          Cpec__V1__ReplayDeadLettersResponse **response, cpec_status_t *status)
{
    Cpec__V1__ReplayDeadLettersRequest request = CPEC__V1__REPLAY_DEAD_LETTERS_REQUEST__INIT;
    request.id = (char *)id;
    return s_call (self, "ReplayDeadLetters", caller, &request.base,
                   &cpec__v1__replay_dead_letters_response__descriptor,
                   (ProtobufCMessage **)response, status);
}

static int
s_read_live (s_fixture_t *self, s_caller_t caller, const char *subscription_id, const char *after,
             uint32_t count, Cpec__V1__ReadLiveResponse **response, cpec_status_t *status)
{
    Cpec__V1__ReadLiveRequest request = CPEC__V1__READ_LIVE_REQUEST__INIT;
    request.subscription_id = (char *)subscription_id;
    request.after = (char *)after;
    request.count = count;
    return s_call (self, "ReadLive", caller, &request.base,
                   &cpec__v1__read_live_response__descriptor, (ProtobufCMessage **)response,
                   status);
}

//  --------------------------------------------------------------------------
//  Subscriptions

//  A new active subscription on channel (WEBHOOK to a discard port, EMAIL to
//  an address, LIVE), with id (NULL: none, the service makes one).
static Cpec__V1__Subscription *
s_sub_new (Cpec__V1__Subscription__Channel channel, const char *id)
{
    Cpec__V1__Subscription *subscription =
        (Cpec__V1__Subscription *)cpec_pb_new (&cpec__v1__subscription__descriptor);
    if (id)
        cpec_pb_string_set (&subscription->id, id);
    subscription->channel = channel;
    subscription->active = true;
    if (channel == S_WEBHOOK)
        cpec_pb_string_set (&subscription->url, "http://127.0.0.1:9/hook");
    else if (channel == S_EMAIL)
        cpec_pb_string_set (&subscription->email, "desk.officer@boi.gov.pk");
    return subscription;
}

static void
s_list_add (char ***list, size_t *count, const char *value)
{
    *list = (char **)cpec_realloc (*list, (*count + 1) * sizeof (char *));
    (*list)[(*count)++] = cpec_strdup (value);
}

//  Creates subscription id on channel for caller (a webhook with secret,
//  NULL: generated); fails the test on error.
static void
s_make (s_fixture_t *self, s_caller_t caller, const char *id,
        Cpec__V1__Subscription__Channel channel, const char *secret)
{
    Cpec__V1__Subscription *subscription = s_sub_new (channel, id);
    if (secret)
        cpec_pb_string_set (&subscription->secret, secret);
    cpec_status_t status;
    int rc = s_create (self, caller, subscription, NULL, &status);
    if (rc != CPEC_OK)
        fail_msg ("creating %s: %s %s", id, cpec_code_name (rc), status.message);
    s_destroy (&subscription);
}

//  --------------------------------------------------------------------------
//  Looking at Redis

#define s_redis(self, ...) handlers_redis ((self)->env.redis, __VA_ARGS__)

static void
s_redis_do (s_fixture_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = (redisReply *)redisvCommand (self->env.redis, format, args);
    va_end (args);
    assert_non_null (reply);
    if (reply->type == REDIS_REPLY_ERROR)
        fail_msg ("redis %s: %s", format, reply->str);
    freeReplyObject (reply);
}

static long long
s_integer (s_fixture_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = (redisReply *)redisvCommand (self->env.redis, format, args);
    va_end (args);
    assert_non_null (reply);
    if (reply->type != REDIS_REPLY_INTEGER)
        fail_msg ("redis %s: not an integer (%s)", format,
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "?");
    long long value = reply->integer;
    freeReplyObject (reply);
    return value;
}

//  The score of member in a sorted set, -1 when absent.
static long long
s_zscore (s_fixture_t *self, const char *key, const char *member)
{
    redisReply *reply = s_redis (self, "ZSCORE %s %s", key, member);
    long long score = reply->type == REDIS_REPLY_STRING ? strtoll (reply->str, NULL, 10) : -1;
    freeReplyObject (reply);
    return score;
}

//  The value of cpec:ntf:rev (0 when absent).
static double
s_rev (s_fixture_t *self)
{
    redisReply *reply = s_redis (self, "GET %s", NOTIFY_REV_KEY);
    double rev = reply->type == REDIS_REPLY_STRING ? strtod (reply->str, NULL) : 0;
    freeReplyObject (reply);
    return rev;
}

//  The message stored in the hash key (field pb), NULL when absent.
static ProtobufCMessage *
s_stored (s_fixture_t *self, const char *key, const ProtobufCMessageDescriptor *descriptor)
{
    redisReply *reply = s_redis (self, "HGET %s pb", key);
    ProtobufCMessage *message = NULL;
    if (reply->type == REDIS_REPLY_STRING) {
        message = cpec_pb_unpack (descriptor, (const uint8_t *)reply->str, reply->len);
        assert_non_null (message);
    }
    freeReplyObject (reply);
    return message;
}

//  The subscription as stored (with its secret), NULL when absent.
static Cpec__V1__Subscription *
s_stored_sub (s_fixture_t *self, const char *id)
{
    char key[NOTIFY_KEY_MAX];
    notify_sub_key (key, sizeof (key), id);
    return (Cpec__V1__Subscription *)s_stored (self, key, &cpec__v1__subscription__descriptor);
}

static Cpec__V1__Delivery *
s_stored_delivery (s_fixture_t *self, const char *id)
{
    char key[NOTIFY_KEY_MAX];
    notify_delivery_key (key, sizeof (key), id);
    return (Cpec__V1__Delivery *)s_stored (self, key, &cpec__v1__delivery__descriptor);
}

//  The elements of a list or sorted set (LRANGE / ZRANGE 0 -1) joined by
//  spaces into buf.
static const char *
s_range (s_fixture_t *self, const char *command, const char *key, char *buf, size_t size)
{
    redisReply *reply = s_redis (self, "%s %s 0 -1", command, key);
    buf[0] = '\0';
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s", used ? " " : "", reply->element[i]->str);
    }
    freeReplyObject (reply);
    return buf;
}

//  Every key under cpec:ntf: and its DUMP, sorted by key: what a refusal
//  must leave as it is.
typedef struct
{
    size_t count;
    char **keys;
    char **dumps;
    size_t *sizes;
} s_snapshot_t;

static int
s_compare_strings (const void *a, const void *b)
{
    return strcmp (*(char *const *)a, *(char *const *)b);
}

static void
s_snapshot (s_fixture_t *self, s_snapshot_t *snapshot)
{
    *snapshot = (s_snapshot_t){0};
    char cursor[32] = "0";
    do {
        redisReply *reply = s_redis (self, "SCAN %s MATCH cpec:ntf:* COUNT 1000", cursor);
        assert_int_equal (reply->type, REDIS_REPLY_ARRAY);
        snprintf (cursor, sizeof (cursor), "%s", reply->element[0]->str);
        const redisReply *keys = reply->element[1];
        for (size_t i = 0; i < keys->elements; i++) {
            snapshot->keys =
                (char **)cpec_realloc (snapshot->keys, (snapshot->count + 1) * sizeof (char *));
            snapshot->keys[snapshot->count++] = cpec_strdup (keys->element[i]->str);
        }
        freeReplyObject (reply);
    } while (strcmp (cursor, "0") != 0);
    qsort (snapshot->keys, snapshot->count, sizeof (char *), s_compare_strings);
    snapshot->dumps = (char **)cpec_realloc (NULL, (snapshot->count + 1) * sizeof (char *));
    snapshot->sizes = (size_t *)cpec_realloc (NULL, (snapshot->count + 1) * sizeof (size_t));
    for (size_t i = 0; i < snapshot->count; i++) {
        redisReply *reply = s_redis (self, "DUMP %s", snapshot->keys[i]);
        snapshot->sizes[i] = reply->type == REDIS_REPLY_STRING ? reply->len : 0;
        snapshot->dumps[i] = (char *)cpec_memdup (reply->str, snapshot->sizes[i]);
        freeReplyObject (reply);
    }
}

static void
s_snapshot_fini (s_snapshot_t *snapshot)
{
    for (size_t i = 0; i < snapshot->count; i++) {
        free (snapshot->keys[i]);
        free (snapshot->dumps[i]);
    }
    free (snapshot->keys);
    free (snapshot->dumps);
    free (snapshot->sizes);
    *snapshot = (s_snapshot_t){0};
}

//  Nothing under cpec:ntf: changed since before (which is freed), and the
//  request id (may be NULL) was not recorded.
static void
s_unchanged (s_fixture_t *self, s_snapshot_t *before, const char *request_id)
{
    s_snapshot_t after;
    s_snapshot (self, &after);
    char what[512] = "";
    if (after.count != before->count)
        snprintf (what, sizeof (what), "%zu keys under cpec:ntf: before, %zu after", before->count,
                  after.count);
    for (size_t i = 0; !*what && i < after.count; i++) {
        if (strcmp (after.keys[i], before->keys[i]) != 0)
            snprintf (what, sizeof (what), "key %s appeared or %s went", after.keys[i],
                      before->keys[i]);
        else if (after.sizes[i] != before->sizes[i] ||
                 memcmp (after.dumps[i], before->dumps[i], after.sizes[i]) != 0)
            snprintf (what, sizeof (what), "key %s changed", after.keys[i]);
    }
    s_snapshot_fini (&after);
    s_snapshot_fini (before);
    if (*what)
        fail_msg ("a refusal wrote: %s", what);
    if (request_id) {
        char key[128];
        snprintf (key, sizeof (key), "cpec:req:%s", request_id);
        if (s_integer (self, "EXISTS %s", key))
            fail_msg ("a refusal recorded its request id (%s)", key);
    }
}

//  Refused: rc is want_code with a message starting with want_prefix, and
//  nothing changed since before (freed); request id as s_unchanged.
#define assert_refused(rc, status, want_code, want_prefix, self, before, request_id)               \
    do {                                                                                           \
        assert_status (rc, status, want_code, want_prefix);                                        \
        s_unchanged (self, before, request_id);                                                    \
    } while (0)

//  Removes a sorted set's or set's members that contain needle.
static void
s_remove_members (s_fixture_t *self, const char *key, bool zset, const char *needle)
{
    redisReply *reply = s_redis (self, zset ? "ZRANGE %s 0 -1" : "SMEMBERS %s", key);
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        if (strstr (reply->element[i]->str, needle))
            s_redis_do (self, zset ? "ZREM %s %s" : "SREM %s %s", key, reply->element[i]->str);
    freeReplyObject (reply);
}

//  Removes the keys of a subscription whose id does not carry the test's
//  name (one the service named).
static void
s_drop_sub (s_fixture_t *self, const char *id)
{
    redisReply *reply = s_redis (self, "ZRANGE cpec:ntf:hist:%s 0 -1", id);
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        s_redis_do (self, "DEL cpec:ntf:dlv:%s", reply->element[i]->str);
    freeReplyObject (reply);
    s_redis_do (self, "DEL cpec:ntf:sub:%s cpec:ntf:hist:%s cpec:ntf:dlq:%s cpec:ntf:live:%s", id,
                id, id, id);
    s_redis_do (self, "DEL cpec:ntf:q:%s", id);
    s_redis_do (self, "SREM %s %s", NOTIFY_SUBS_KEY, id);
}

//  Removes every key of the test tag and its members of the shared sets.
static void
s_clean (s_fixture_t *self, const char *tag)
{
    char needle[96], pattern[128];
    snprintf (needle, sizeof (needle), "%s-%s-", self->prefix, tag);
    snprintf (pattern, sizeof (pattern), "*%s*", needle);
    char **keys = NULL;
    size_t count = 0;
    char cursor[32] = "0";
    do {
        redisReply *reply = s_redis (self, "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        snprintf (cursor, sizeof (cursor), "%s", reply->element[0]->str);
        for (size_t i = 0; i < reply->element[1]->elements; i++)
            s_list_add (&keys, &count, reply->element[1]->element[i]->str);
        freeReplyObject (reply);
    } while (strcmp (cursor, "0") != 0);
    for (size_t i = 0; i < count; i++) {
        if (handlers_starts_with (keys[i], NOTIFY_PREFIX "hist:")) {
            //  deliveries named by the service (Test) do not carry the tag
            redisReply *reply = s_redis (self, "ZRANGE %s 0 -1", keys[i]);
            for (size_t m = 0; m < reply->elements; m++)
                s_redis_do (self, "DEL cpec:ntf:dlv:%s", reply->element[m]->str);
            freeReplyObject (reply);
        }
    }
    for (size_t i = 0; i < count; i++) {
        s_redis_do (self, "DEL %s", keys[i]);
        free (keys[i]);
    }
    free (keys);
    s_remove_members (self, NOTIFY_SUBS_KEY, false, needle);
    s_remove_members (self, NOTIFY_DLQ_KEY, true, needle);
    s_remove_members (self, NOTIFY_READY_KEY, true, needle);
    s_remove_members (self, NOTIFY_LEASES_KEY, true, needle);
    s_remove_members (self, NOTIFY_DIGESTS_KEY, true, needle);
}

//  --------------------------------------------------------------------------
//  Deliveries as the engine records them

//  A delivery of a MilestoneDelayed event to subscription, with status; the
//  attempt times around at_ms.
static Cpec__V1__Delivery *
s_delivery_new (const char *id, const char *subscription, Cpec__V1__Delivery__Status status,
                int64_t at_ms)
{
    Cpec__V1__Event *event = cpec_handler_event_new ("MilestoneDelayed", "rashakai", "PK-KP", NULL,
                                                     "req-1", "timers", at_ms - 60000);
    Cpec__V1__MilestoneDelayed *delayed =
        (Cpec__V1__MilestoneDelayed *)cpec_pb_new (&cpec__v1__milestone_delayed__descriptor);
    cpec_pb_string_set (&delayed->milestone_id, "rashakai-grid");
    cpec_pb_string_set (&delayed->zone_id, "rashakai");
    cpec_pb_string_set (&delayed->province, "PK-KP");
    cpec_pb_string_set (&delayed->agency, "NTDC");
    delayed->days_late = 3;
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED;
    event->milestone_delayed = delayed;

    Cpec__V1__Delivery *delivery =
        (Cpec__V1__Delivery *)cpec_pb_new (&cpec__v1__delivery__descriptor);
    cpec_pb_string_set (&delivery->id, id);
    cpec_pb_string_set (&delivery->subscription_id, subscription);
    cpec_pb_string_set (&delivery->event_id, event->id);
    cpec_pb_string_set (&delivery->event_type, event->type);
    cpec_pb_string_set (&delivery->stream_id, "1700000000000-0");
    delivery->created_at = cpec_pb_timestamp_new (at_ms - 60000);
    delivery->event = event;
    delivery->status = S_PENDING;
    if (status != S_PENDING) {
        notify_result_t result = {.outcome = NOTIFY_RETRY, .status_code = 503, .latency_ms = 12};
        snprintf (result.error, sizeof (result.error), "the receiver answered 503");
        notify_outcome_t outcome = status == S_RETRYING    ? NOTIFY_RETRY
                                   : status == S_DELIVERED ? NOTIFY_DELIVERED
                                                           : NOTIFY_DEAD;
        if (outcome == NOTIFY_DELIVERED) {
            result = (notify_result_t){.outcome = NOTIFY_DELIVERED, .status_code = 200};
        }
        notify_delivery_record (delivery, &result, outcome, at_ms, at_ms + 60000, "replica-1");
    }
    assert_int_equal (delivery->status, status);
    return delivery;
}

//  Writes a delivery as the engine does: its hash, its place in the
//  subscription's history at at_ms and, when dead, in both dead-letter sets.
static void
s_put_delivery (s_fixture_t *self, const char *id, const char *subscription,
                Cpec__V1__Delivery__Status status, int64_t at_ms)
{
    Cpec__V1__Delivery *delivery = s_delivery_new (id, subscription, status, at_ms);
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (&delivery->base, &size);
    s_redis_do (self, "HSET cpec:ntf:dlv:%s v 1 pb %b", id, packed, size);
    free (packed);
    s_redis_do (self, "ZADD cpec:ntf:hist:%s %lld %s", subscription, (long long)at_ms, id);
    if (status == S_DEAD) {
        s_redis_do (self, "ZADD %s %lld %s", NOTIFY_DLQ_KEY, (long long)at_ms, id);
        s_redis_do (self, "ZADD cpec:ntf:dlq:%s %lld %s", subscription, (long long)at_ms, id);
    }
    s_destroy (&delivery);
}

//  The delivery ids of a page joined by spaces into buf.
static const char *
s_delivery_ids (const Cpec__V1__ListDeliveriesResponse *response, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < response->n_deliveries; i++) {
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s", used ? " " : "", response->deliveries[i]->id);
    }
    return buf;
}

//  The subscription ids of a page joined by spaces into buf.
static const char *
s_sub_ids (const Cpec__V1__ListSubscriptionsResponse *response, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < response->n_subscriptions; i++) {
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s", used ? " " : "", response->subscriptions[i]->id);
    }
    return buf;
}

static bool
s_by_actor (const Cpec__V1__Event *event, const char *actor)
{
    return strcmp (event->actor, actor) == 0;
}

//  --------------------------------------------------------------------------
//  Create

//  Owner, language, secret and version are filled in; the secret is
//  answered by Create only; the revision moves on each write; no event.
static void
test_create_defaults (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], live[96], hook[96], given_secret[96], buf[2048];
    s_name (self, alice, sizeof (alice), "crd", "alice");
    s_name (self, live, sizeof (live), "crd", "live");
    s_name (self, hook, sizeof (hook), "crd", "hook");
    s_name (self, given_secret, sizeof (given_secret), "crd", "given");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    handlers_bus_topics (self->env.sub, "", buf, sizeof (buf)); //  drain
    char *mark = handlers_stream_mark (self->env.redis);
    double rev = s_rev (self);

    //  LIVE, no owner, no language: the caller's, "en"
    Cpec__V1__Subscription *given = s_sub_new (S_LIVE, live);
    given->version = 7;       //  the service's: ignored
    given->has_secret = true; //  output only: ignored
    Cpec__V1__Subscription *created = NULL;
    assert_ok (s_create (self, as_alice, given, &created, &status), &status);
    assert_string_equal (created->id, live);
    assert_string_equal (created->owner, alice);
    assert_string_equal (created->language, "en");
    assert_int_equal (created->channel, S_LIVE);
    assert_true (created->active);
    assert_int_equal (created->version, 1);
    assert_false (created->has_secret);
    assert_string_equal (created->secret, "");
    assert_string_equal (created->created->by, alice);
    assert_string_equal (created->updated->by, alice);
    assert_true (created->created->at->seconds > 0);
    assert_true (s_rev (self) == rev + 1);
    assert_int_equal (s_integer (self, "SISMEMBER %s %s", NOTIFY_SUBS_KEY, live), 1);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", alice, live), 1);
    Cpec__V1__Subscription *stored = s_stored_sub (self, live);
    assert_non_null (stored);
    assert_int_equal (stored->version, 1);
    assert_string_equal (stored->owner, alice);
    assert_string_equal (stored->language, "en");
    s_destroy (&stored);
    s_destroy (&created);
    s_destroy (&given);

    //  A webhook without a secret: 48 hex digits, answered by Create and
    //  stored; Get and List answer only has_secret
    given = s_sub_new (S_WEBHOOK, hook);
    assert_ok (s_create (self, as_alice, given, &created, &status), &status);
    assert_int_equal (strlen (created->secret), 2 * NOTIFY_SECRET_BYTES);
    for (const char *c = created->secret; *c; c++)
        assert_non_null (strchr ("0123456789abcdef", *c));
    assert_true (created->has_secret);
    assert_true (s_rev (self) == rev + 2);
    stored = s_stored_sub (self, hook);
    assert_string_equal (stored->secret, created->secret);
    s_destroy (&stored);
    Cpec__V1__Subscription *got = NULL;
    assert_ok (s_get (self, as_alice, hook, &got, &status), &status);
    assert_string_equal (got->secret, "");
    assert_true (got->has_secret);
    assert_string_equal (got->url, "http://127.0.0.1:9/hook");
    assert_string_equal (got->owner, alice);
    s_destroy (&got);
    Cpec__V1__ListSubscriptionsResponse *list = NULL;
    assert_ok (s_list (self, as_alice, "", 0, "", &list, &status), &status);
    assert_int_equal (list->n_subscriptions, 2);
    for (size_t i = 0; i < list->n_subscriptions; i++) {
        assert_string_equal (list->subscriptions[i]->secret, "");
        assert_int_equal (list->subscriptions[i]->has_secret,
                          strcmp (list->subscriptions[i]->id, hook) == 0);
    }
    s_destroy (&list);
    Cpec__V1__Subscription *admin_view = NULL;
    char admin[96];
    s_caller_t as_admin = {S_ADMIN, s_name (self, admin, sizeof (admin), "crd", "admin"), NULL};
    assert_ok (s_get (self, as_admin, hook, &admin_view, &status), &status);
    assert_string_equal (admin_view->secret, ""); //  not even to an administrator
    s_destroy (&admin_view);
    s_destroy (&created);
    s_destroy (&given);

    //  A given secret is kept and answered by Create
    given = s_sub_new (S_WEBHOOK, given_secret);
    cpec_pb_string_set (&given->secret, S_SECRET_A);
    assert_ok (s_create (self, as_alice, given, &created, &status), &status);
    assert_string_equal (created->secret, S_SECRET_A);
    assert_true (created->has_secret);
    assert_true (s_rev (self) == rev + 3);
    s_destroy (&created);
    s_destroy (&given);

    //  Without an id: "sub-" and 12 hex digits; a language given is kept
    given = s_sub_new (S_EMAIL, NULL);
    cpec_pb_string_set (&given->language, "zh");
    assert_ok (s_create (self, as_alice, given, &created, &status), &status);
    assert_true (handlers_starts_with (created->id, "sub-"));
    assert_int_equal (strlen (created->id), 16);
    for (const char *c = created->id + 4; *c; c++)
        assert_non_null (strchr ("0123456789abcdef", *c));
    assert_string_equal (created->language, "zh");
    assert_false (created->has_secret); //  e-mail: no secret made
    assert_true (s_rev (self) == rev + 4);
    assert_int_equal (s_integer (self, "SCARD cpec:ntf:owner:%s", alice), 4);

    //  Subscription writes are no events of the log: nothing the notifier
    //  would fan out, nothing on the bus
    assert_string_equal (
        handlers_events_since (self->env.store, mark, s_by_actor, alice, buf, sizeof (buf), NULL),
        "");
    assert_string_equal (handlers_bus_topics (self->env.sub, "", buf, sizeof (buf)), "");

    s_drop_sub (self, created->id);
    s_destroy (&created);
    s_destroy (&given);
    free (mark);
    s_clean (self, "crd");
}

//  Only an administrator names another owner; a caller without a subject
//  must name one.
static void
test_create_permissions (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], id[96], rid[37];
    s_name (self, alice, sizeof (alice), "crp", "alice");
    s_name (self, bob, sizeof (bob), "crp", "bob");
    s_name (self, admin, sizeof (admin), "crp", "admin");
    s_caller_t as_alice = {S_ENTERPRISE, alice, rid};
    s_caller_t as_admin = {S_ADMIN, admin, NULL};
    cpec_status_t status;
    s_snapshot_t before;

    //  Alice for Bob: refused, nothing written
    Cpec__V1__Subscription *given = s_sub_new (S_LIVE, s_name (self, id, sizeof (id), "crp", "a"));
    cpec_pb_string_set (&given->owner, bob);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_create (self, as_alice, given, NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "owner: only an administrator", self, &before, rid);
    assert_int_equal (s_integer (self, "EXISTS cpec:ntf:sub:%s", id), 0);

    //  Alice naming herself: hers
    cpec_pb_string_set (&given->owner, alice);
    cpec_uuid (rid);
    Cpec__V1__Subscription *created = NULL;
    assert_ok (s_create (self, as_alice, given, &created, &status), &status);
    assert_string_equal (created->owner, alice);
    s_destroy (&created);
    s_destroy (&given);

    //  The administrator for Bob: Bob's, created by the administrator
    given = s_sub_new (S_LIVE, s_name (self, id, sizeof (id), "crp", "b"));
    cpec_pb_string_set (&given->owner, bob);
    assert_ok (s_create (self, as_admin, given, &created, &status), &status);
    assert_string_equal (created->owner, bob);
    assert_string_equal (created->created->by, admin);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", bob, id), 1);
    assert_int_equal (s_integer (self, "EXISTS cpec:ntf:owner:%s", admin), 0);
    s_destroy (&created);
    s_destroy (&given);

    //  No subject and no owner: refused
    s_caller_t nobody = {S_ADMIN, "", rid};
    given = s_sub_new (S_LIVE, s_name (self, id, sizeof (id), "crp", "c"));
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_create (self, nobody, given, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                    "owner: required when the caller has no subject", self, &before, rid);
    s_destroy (&given);
    s_clean (self, "crp");
}

//  An id that exists is ALREADY_EXISTS; a retry answers the first answer
//  and writes once.
static void
test_create_exists_and_retry (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], admin[96], a[96], b[96], rid[37];
    s_name (self, alice, sizeof (alice), "cre", "alice");
    s_name (self, admin, sizeof (admin), "cre", "admin");
    s_name (self, a, sizeof (a), "cre", "a");
    s_name (self, b, sizeof (b), "cre", "b");
    s_caller_t as_alice = {S_ENTERPRISE, alice, rid};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, (s_caller_t){S_ENTERPRISE, alice, NULL}, a, S_WEBHOOK, S_SECRET_A);

    //  The same id again, with another URL, by its owner and by an
    //  administrator: refused, the first one untouched
    Cpec__V1__Subscription *again = s_sub_new (S_WEBHOOK, a);
    cpec_pb_string_set (&again->url, "https://example.org/other");
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_create (self, as_alice, again, NULL, &status), &status, CPEC_ALREADY_EXISTS,
                    "subscription ", self, &before, rid);
    assert_non_null (strstr (status.message, a));
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_create (self, (s_caller_t){S_ADMIN, admin, rid}, again, NULL, &status),
                    &status, CPEC_ALREADY_EXISTS, "subscription ", self, &before, rid);
    Cpec__V1__Subscription *stored = s_stored_sub (self, a);
    assert_string_equal (stored->url, "http://127.0.0.1:9/hook");
    assert_string_equal (stored->secret, S_SECRET_A);
    assert_int_equal (stored->version, 1);
    s_destroy (&stored);
    s_destroy (&again);

    //  A retry with the same request id: the first answer (its generated
    //  secret too), written once
    double rev = s_rev (self);
    cpec_uuid (rid);
    Cpec__V1__Subscription *given = s_sub_new (S_WEBHOOK, b);
    Cpec__V1__Subscription *first = NULL, *second = NULL;
    assert_ok (s_create (self, as_alice, given, &first, &status), &status);
    zclock_sleep (5);
    assert_ok (s_create (self, as_alice, given, &second, &status), &status);
    size_t size_a, size_b;
    uint8_t *packed_a = cpec_pb_pack (&first->base, &size_a);
    uint8_t *packed_b = cpec_pb_pack (&second->base, &size_b);
    assert_int_equal (size_a, size_b);
    assert_memory_equal (packed_a, packed_b, size_a);
    free (packed_a);
    free (packed_b);
    assert_string_equal (second->secret, first->secret);
    assert_true (s_rev (self) == rev + 1);
    assert_int_equal (s_integer (self, "SCARD cpec:ntf:owner:%s", alice), 2);
    stored = s_stored_sub (self, b);
    assert_int_equal (stored->version, 1);
    assert_string_equal (stored->secret, first->secret);
    s_destroy (&stored);
    s_destroy (&first);
    s_destroy (&second);
    s_destroy (&given);

    //  The same without an id: one subscription, the same generated id
    rev = s_rev (self);
    cpec_uuid (rid);
    given = s_sub_new (S_LIVE, NULL);
    assert_ok (s_create (self, as_alice, given, &first, &status), &status);
    assert_ok (s_create (self, as_alice, given, &second, &status), &status);
    assert_string_equal (first->id, second->id);
    assert_true (s_rev (self) == rev + 1);
    assert_int_equal (s_integer (self, "SCARD cpec:ntf:owner:%s", alice), 3);
    s_drop_sub (self, first->id);
    s_destroy (&first);
    s_destroy (&second);
    s_destroy (&given);
    s_clean (self, "cre");
}

//  What bad input is refused with (NULL: no more cases); spoils a valid
//  webhook subscription. *admin: call as an administrator.
static const char *
s_spoil (Cpec__V1__Subscription *s, int which, bool *admin, bool *strict)
{
    *admin = false;
    *strict = false;
    switch (which) {
        case 0:
            s->channel = CPEC__V1__SUBSCRIPTION__CHANNEL__CHANNEL_UNSPECIFIED;
            return "channel: WEBHOOK, EMAIL or LIVE required";
        case 1: cpec_pb_string_set (&s->url, ""); return "url: required for a WEBHOOK subscription";
        case 2:
            cpec_pb_string_set (&s->url, "ftp://files.example.org/x");
            return "url: \"ftp://files.example.org/x\" is not an http:// or https:// URL";
        case 3: cpec_pb_string_set (&s->url, "http://"); return "url: \"http://\" is not";
        case 4: cpec_pb_string_set (&s->url, "http://example.org/a b"); return "url: ";
        case 5:
            s->channel = S_EMAIL;
            cpec_pb_string_set (&s->email, "not-an-address");
            return "email: \"not-an-address\" is not an e-mail address";
        case 6: s->channel = S_EMAIL; return "email: ";
        case 7:
            s->channel = S_LIVE;
            s->digest = true;
            return "digest: a LIVE subscription has no digest";
        case 8: cpec_pb_string_set (&s->secret, "short"); return "secret: 16 to 256 bytes";
        case 9:
            s_list_add (&s->event_types, &s->n_event_types, "MilestoneDelayed");
            s_list_add (&s->event_types, &s->n_event_types, "NoSuchEvent");
            return "event_types[1]: \"NoSuchEvent\" is not an event type";
        case 10:
            s_list_add (&s->provinces, &s->n_provinces, "PK-XX");
            return "provinces[0]: \"PK-XX\" is not a province code";
        case 11:
            s_list_add (&s->zone_ids, &s->n_zone_ids, "Rashakai Zone");
            return "zone_ids[0]: must be a slug";
        case 12:
            s->min_severity = (Cpec__V1__Subscription__Severity)7;
            return "min_severity: INFO, WARNING or CRITICAL";
        case 13: cpec_pb_string_set (&s->language, "fr"); return "language: must be en, zh or ur";
        case 14: cpec_pb_string_set (&s->id, "Bad Id"); return "id: must be a slug";
        case 15: cpec_pb_string_set (&s->agency, "\xff\xfe"); return "agency: not valid UTF-8";
        case 16:
            for (int i = 0; i < 65; i++)
                s_list_add (&s->event_types, &s->n_event_types, "MilestoneDelayed");
            return "event_types, provinces, zone_ids: at most 64 each";
        case 17: {
            char owner[200];
            memset (owner, 'o', 129);
            owner[129] = '\0';
            cpec_pb_string_set (&s->owner, owner);
            *admin = true;
            return "owner: at most 128 characters";
        }
        case 18:
            *strict = true;
            return "url: \"http://127.0.0.1:9/hook\" points at a private address";
        default: return NULL;
    }
}

//  Bad input: INVALID_ARGUMENT naming the field, nothing written.
static void
test_create_invalid (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], admin[96], id[96], rid[37];
    s_name (self, alice, sizeof (alice), "cri", "alice");
    s_name (self, admin, sizeof (admin), "cri", "admin");
    s_name (self, id, sizeof (id), "cri", "bad");
    cpec_status_t status;
    s_snapshot_t before;
    const char *want;
    bool admin_call, strict;
    for (int which = 0;; which++) {
        Cpec__V1__Subscription *given = s_sub_new (S_WEBHOOK, id);
        want = s_spoil (given, which, &admin_call, &strict);
        if (!want) {
            s_destroy (&given);
            break;
        }
        s_caller_t caller = {admin_call ? S_ADMIN : S_ENTERPRISE, admin_call ? admin : alice, rid};
        self->notify.config.allow_private = !strict;
        cpec_uuid (rid);
        s_snapshot (self, &before);
        int rc = s_create (self, caller, given, NULL, &status);
        self->notify.config.allow_private = true;
        if (rc != CPEC_INVALID_ARGUMENT || !handlers_starts_with (status.message, want))
            fail_msg ("case %d: wanted INVALID_ARGUMENT \"%s...\", got %s \"%s\"", which, want,
                      cpec_code_name (rc), status.message);
        s_unchanged (self, &before, rid);
        s_destroy (&given);
    }
    //  No subscription at all
    Cpec__V1__CreateSubscriptionRequest empty = CPEC__V1__CREATE_SUBSCRIPTION_REQUEST__INIT;
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_call (self, "Create", (s_caller_t){S_ENTERPRISE, alice, rid}, &empty.base,
                            &cpec__v1__subscription__descriptor, NULL, &status),
                    &status, CPEC_INVALID_ARGUMENT, "subscription: required", self, &before, rid);
    s_clean (self, "cri");
}

//  --------------------------------------------------------------------------
//  Get and List

static void
test_get_and_list (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], a1[96], a2[96], a3[96], b1[96], b2[96], missing[96];
    char buf[1024], want[1024];
    s_name (self, alice, sizeof (alice), "gl", "alice");
    s_name (self, bob, sizeof (bob), "gl", "bob");
    s_name (self, admin, sizeof (admin), "gl", "admin");
    s_name (self, a1, sizeof (a1), "gl", "a1");
    s_name (self, a2, sizeof (a2), "gl", "a2");
    s_name (self, a3, sizeof (a3), "gl", "a3");
    s_name (self, b1, sizeof (b1), "gl", "b1");
    s_name (self, b2, sizeof (b2), "gl", "b2");
    s_name (self, missing, sizeof (missing), "gl", "missing");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    s_caller_t as_bob = {S_ENTERPRISE, bob, NULL};
    s_caller_t as_admin = {S_ADMIN, admin, NULL};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, as_alice, a1, S_WEBHOOK, S_SECRET_A);
    s_make (self, as_alice, a2, S_LIVE, NULL);
    s_make (self, as_alice, a3, S_EMAIL, NULL);
    s_make (self, as_bob, b1, S_WEBHOOK, S_SECRET_B);
    s_make (self, as_bob, b2, S_LIVE, NULL);

    //  Get: one's own; another's PERMISSION_DENIED; absent NOT_FOUND; the
    //  administrator any, never with its secret
    Cpec__V1__Subscription *got = NULL;
    assert_ok (s_get (self, as_alice, a1, &got, &status), &status);
    assert_string_equal (got->id, a1);
    assert_string_equal (got->secret, "");
    assert_true (got->has_secret);
    s_destroy (&got);
    s_snapshot (self, &before);
    assert_refused (s_get (self, as_alice, b1, NULL, &status), &status, CPEC_PERMISSION_DENIED,
                    "subscription ", self, &before, NULL);
    assert_non_null (strstr (status.message, "belongs to another owner"));
    s_snapshot (self, &before);
    assert_refused (s_get (self, as_alice, missing, NULL, &status), &status, CPEC_NOT_FOUND,
                    "subscription ", self, &before, NULL);
    assert_ok (s_get (self, as_admin, b1, &got, &status), &status);
    assert_string_equal (got->owner, bob);
    assert_string_equal (got->secret, "");
    assert_true (got->has_secret);
    s_destroy (&got);

    //  List without owner: one's own, in id order, without secrets
    Cpec__V1__ListSubscriptionsResponse *list = NULL;
    snprintf (want, sizeof (want), "%s %s %s", a1, a2, a3);
    assert_ok (s_list (self, as_alice, "", 0, "", &list, &status), &status);
    assert_string_equal (s_sub_ids (list, buf, sizeof (buf)), want);
    assert_string_equal (list->next_cursor, "");
    for (size_t i = 0; i < list->n_subscriptions; i++)
        assert_string_equal (list->subscriptions[i]->secret, "");
    assert_true (list->subscriptions[0]->has_secret);
    assert_false (list->subscriptions[1]->has_secret);
    s_destroy (&list);
    assert_ok (s_list (self, as_alice, alice, 0, "", &list, &status), &status);
    assert_string_equal (s_sub_ids (list, buf, sizeof (buf)), want);
    s_destroy (&list);
    snprintf (want, sizeof (want), "%s %s", b1, b2);
    assert_ok (s_list (self, as_bob, "", 0, "", &list, &status), &status);
    assert_string_equal (s_sub_ids (list, buf, sizeof (buf)), want);
    assert_string_equal (list->subscriptions[0]->secret, "");
    s_destroy (&list);

    //  Another owner's list: only an administrator
    s_snapshot (self, &before);
    assert_refused (s_list (self, as_alice, bob, 0, "", NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "owner: only an administrator", self, &before, NULL);
    assert_ok (s_list (self, as_admin, bob, 0, "", &list, &status), &status);
    assert_string_equal (s_sub_ids (list, buf, sizeof (buf)), want);
    s_destroy (&list);

    //  Paging one's own by 2: each once, a cursor while more remain
    assert_ok (s_list (self, as_alice, "", 2, "", &list, &status), &status);
    snprintf (want, sizeof (want), "%s %s", a1, a2);
    assert_string_equal (s_sub_ids (list, buf, sizeof (buf)), want);
    assert_string_equal (list->next_cursor, a2);
    char *cursor = cpec_strdup (list->next_cursor);
    s_destroy (&list);
    assert_ok (s_list (self, as_alice, "", 2, cursor, &list, &status), &status);
    assert_string_equal (s_sub_ids (list, buf, sizeof (buf)), a3);
    assert_string_equal (list->next_cursor, "");
    s_destroy (&list);
    free (cursor);

    //  The administrator pages through everything by 1 and by 3: every
    //  subscription once, ours among them
    uint32_t sizes[2] = {1, 3};
    for (int round = 0; round < 2; round++) {
        char **seen = NULL;
        size_t seen_count = 0;
        cursor = cpec_strdup ("");
        for (int page = 0; page < 10000; page++) {
            assert_ok (s_list (self, as_admin, "", sizes[round], cursor, &list, &status), &status);
            assert_true (list->n_subscriptions <= sizes[round]);
            for (size_t i = 0; i < list->n_subscriptions; i++) {
                for (size_t j = 0; j < seen_count; j++)
                    if (strcmp (seen[j], list->subscriptions[i]->id) == 0)
                        fail_msg ("%s listed twice", seen[j]);
                assert_string_equal (list->subscriptions[i]->secret, "");
                s_list_add (&seen, &seen_count, list->subscriptions[i]->id);
            }
            free (cursor);
            cursor = cpec_strdup (list->next_cursor);
            s_destroy (&list);
            if (!*cursor)
                break;
        }
        free (cursor);
        const char *ours[5] = {a1, a2, a3, b1, b2};
        for (int i = 0; i < 5; i++) {
            bool found = false;
            for (size_t j = 0; j < seen_count; j++)
                found = found || strcmp (seen[j], ours[i]) == 0;
            if (!found)
                fail_msg ("%s not listed (page size %u)", ours[i], sizes[round]);
        }
        for (size_t j = 0; j < seen_count; j++)
            free (seen[j]);
        free (seen);
    }
    s_clean (self, "gl");
}

//  --------------------------------------------------------------------------
//  Update

static void
test_update (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], id[96], missing[96], rid[37];
    s_name (self, alice, sizeof (alice), "up", "alice");
    s_name (self, bob, sizeof (bob), "up", "bob");
    s_name (self, admin, sizeof (admin), "up", "admin");
    s_name (self, id, sizeof (id), "up", "a");
    s_name (self, missing, sizeof (missing), "up", "missing");
    s_caller_t as_alice = {S_ENTERPRISE, alice, rid};
    s_caller_t as_bob = {S_ENTERPRISE, bob, rid};
    s_caller_t as_admin = {S_ADMIN, admin, rid};
    cpec_status_t status;
    s_snapshot_t before;
    Cpec__V1__Subscription *given = s_sub_new (S_WEBHOOK, id);
    cpec_pb_string_set (&given->url, "http://127.0.0.1:9/a");
    cpec_pb_string_set (&given->secret, S_SECRET_A);
    cpec_pb_string_set (&given->agency, "NTDC");
    s_list_add (&given->event_types, &given->n_event_types, "MilestoneDelayed");
    s_list_add (&given->provinces, &given->n_provinces, "PK-KP");
    cpec_uuid (rid);
    assert_ok (s_create (self, as_alice, given, NULL, &status), &status);
    s_destroy (&given);
    double rev = s_rev (self);

    //  Only the fields of the mask change
    Cpec__V1__Subscription *change = s_sub_new (S_WEBHOOK, id);
    cpec_pb_string_set (&change->url, "http://127.0.0.1:9/other");
    cpec_pb_string_set (&change->agency, "FWO");
    cpec_pb_string_set (&change->language, "zh");
    s_list_add (&change->provinces, &change->n_provinces, "PK-SD");
    s_list_add (&change->provinces, &change->n_provinces, "PK-BA");
    const char *mask[] = {"agency", "provinces", NULL};
    Cpec__V1__Subscription *updated = NULL;
    cpec_uuid (rid);
    assert_ok (s_update (self, as_alice, change, 1, mask, &updated, &status), &status);
    assert_int_equal (updated->version, 2);
    assert_string_equal (updated->agency, "FWO");
    assert_int_equal (updated->n_provinces, 2);
    assert_string_equal (updated->provinces[0], "PK-SD");
    assert_string_equal (updated->provinces[1], "PK-BA");
    assert_string_equal (updated->url, "http://127.0.0.1:9/a");
    assert_string_equal (updated->language, "en");
    assert_int_equal (updated->n_event_types, 1);
    assert_string_equal (updated->event_types[0], "MilestoneDelayed");
    assert_string_equal (updated->owner, alice);
    assert_string_equal (updated->secret, "");
    assert_true (updated->has_secret);
    assert_string_equal (updated->updated->by, alice);
    assert_string_equal (updated->created->by, alice);
    assert_true (s_rev (self) == rev + 1);
    s_destroy (&updated);
    Cpec__V1__Subscription *stored = s_stored_sub (self, id);
    assert_int_equal (stored->version, 2);
    assert_string_equal (stored->secret, S_SECRET_A);
    assert_string_equal (stored->agency, "FWO");
    assert_string_equal (stored->url, "http://127.0.0.1:9/a");
    s_destroy (&stored);

    //  A field the mask cannot name: refused, nothing written
    const char *unknown[] = {"agency", "version", NULL};
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_alice, change, 2, unknown, NULL, &status), &status,
                    CPEC_INVALID_ARGUMENT, "update_mask[1]: \"version\" is not a field", self,
                    &before, rid);
    const char *nonsense[] = {"no_such_field", NULL};
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_alice, change, 2, nonsense, NULL, &status), &status,
                    CPEC_INVALID_ARGUMENT, "update_mask[0]: ", self, &before, rid);

    //  A stale version: ABORTED, nothing written
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_alice, change, 1, mask, NULL, &status), &status,
                    CPEC_ABORTED, "subscription ", self, &before, rid);
    assert_non_null (strstr (status.message, "is not at version 1"));

    //  Bad input under the mask: refused, nothing written
    const char *url_mask[] = {"url", NULL};
    cpec_pb_string_set (&change->url, "ftp://files.example.org/x");
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_alice, change, 2, url_mask, NULL, &status), &status,
                    CPEC_INVALID_ARGUMENT, "url: ", self, &before, rid);

    //  An empty secret keeps the old one (named in the mask, or with an
    //  empty mask)
    const char *secret_url[] = {"secret", "url", NULL};
    cpec_pb_string_set (&change->url, "http://127.0.0.1:9/b");
    cpec_pb_string_set (&change->secret, "");
    cpec_uuid (rid);
    assert_ok (s_update (self, as_alice, change, 2, secret_url, &updated, &status), &status);
    assert_int_equal (updated->version, 3);
    assert_string_equal (updated->url, "http://127.0.0.1:9/b");
    assert_true (updated->has_secret);
    s_destroy (&updated);
    stored = s_stored_sub (self, id);
    assert_string_equal (stored->secret, S_SECRET_A);
    assert_string_equal (stored->url, "http://127.0.0.1:9/b");
    s_destroy (&stored);
    Cpec__V1__Subscription *whole = NULL;
    assert_ok (s_get (self, as_alice, id, &whole, &status), &status);
    cpec_pb_string_set (&whole->language, "ur");
    cpec_uuid (rid);
    assert_ok (s_update (self, as_alice, whole, 3, NULL, &updated, &status), &status);
    assert_int_equal (updated->version, 4);
    assert_string_equal (updated->language, "ur");
    assert_string_equal (updated->agency, "FWO");
    s_destroy (&updated);
    s_destroy (&whole);
    stored = s_stored_sub (self, id);
    assert_string_equal (stored->secret, S_SECRET_A);
    assert_string_equal (stored->language, "ur");
    s_destroy (&stored);

    //  A new secret replaces it
    const char *secret_mask[] = {"secret", NULL};
    cpec_pb_string_set (&change->secret, S_SECRET_B);
    cpec_uuid (rid);
    assert_ok (s_update (self, as_alice, change, 4, secret_mask, &updated, &status), &status);
    assert_string_equal (updated->secret, "");
    s_destroy (&updated);
    stored = s_stored_sub (self, id);
    assert_string_equal (stored->secret, S_SECRET_B);
    assert_int_equal (stored->version, 5);
    s_destroy (&stored);

    //  Only an administrator gives it to another owner; Bob cannot touch it
    const char *owner_mask[] = {"owner", NULL};
    cpec_pb_string_set (&change->owner, bob);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_alice, change, 5, owner_mask, NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "owner: only an administrator", self, &before, rid);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_bob, change, 5, secret_mask, NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "subscription ", self, &before, rid);
    cpec_uuid (rid);
    assert_ok (s_update (self, as_admin, change, 5, owner_mask, &updated, &status), &status);
    assert_string_equal (updated->owner, bob);
    assert_string_equal (updated->updated->by, admin);
    s_destroy (&updated);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", alice, id), 0);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", bob, id), 1);
    assert_int_equal (s_get (self, (s_caller_t){S_ENTERPRISE, alice, NULL}, id, NULL, &status),
                      CPEC_PERMISSION_DENIED);

    //  Absent: NOT_FOUND
    cpec_pb_string_set (&change->id, missing);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_update (self, as_admin, change, 0, secret_mask, NULL, &status), &status,
                    CPEC_NOT_FOUND, "subscription ", self, &before, rid);
    s_destroy (&change);
    s_clean (self, "up");
}

//  --------------------------------------------------------------------------
//  Delete

static void
test_delete (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], a[96], b[96], c[96], rid[37];
    s_name (self, alice, sizeof (alice), "del", "alice");
    s_name (self, bob, sizeof (bob), "del", "bob");
    s_name (self, admin, sizeof (admin), "del", "admin");
    s_name (self, a, sizeof (a), "del", "a");
    s_name (self, b, sizeof (b), "del", "b");
    s_name (self, c, sizeof (c), "del", "c");
    s_caller_t as_alice = {S_ENTERPRISE, alice, rid};
    s_caller_t as_bob = {S_ENTERPRISE, bob, rid};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, (s_caller_t){S_ENTERPRISE, alice, NULL}, a, S_WEBHOOK, S_SECRET_A);
    s_make (self, (s_caller_t){S_ENTERPRISE, alice, NULL}, b, S_LIVE, NULL);
    s_make (self, (s_caller_t){S_ENTERPRISE, bob, NULL}, c, S_LIVE, NULL);
    s_redis_do (self, "ZADD %s %lld %s", NOTIFY_DIGESTS_KEY, (long long)cpec_now_ms (), a);

    //  Another owner's: refused, nothing written
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_delete (self, as_bob, a, 0, NULL, &status), &status, CPEC_PERMISSION_DENIED,
                    "subscription ", self, &before, rid);

    //  Deleted: the entity and its memberships gone, the revision moved, the
    //  answer without secret
    double rev = s_rev (self);
    cpec_uuid (rid);
    Cpec__V1__Subscription *first = NULL, *second = NULL;
    assert_ok (s_delete (self, as_alice, a, 1, &first, &status), &status);
    assert_string_equal (first->id, a);
    assert_int_equal (first->version, 1);
    assert_string_equal (first->secret, "");
    assert_true (first->has_secret);
    assert_int_equal (s_integer (self, "EXISTS cpec:ntf:sub:%s", a), 0);
    assert_int_equal (s_integer (self, "SISMEMBER %s %s", NOTIFY_SUBS_KEY, a), 0);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", alice, a), 0);
    assert_int_equal (s_zscore (self, NOTIFY_DIGESTS_KEY, a), -1);
    assert_true (s_rev (self) == rev + 1);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", alice, b), 1);
    assert_int_equal (s_integer (self, "EXISTS cpec:ntf:sub:%s", b), 1);

    //  A retry with the same request id: the first answer, nothing more
    assert_ok (s_delete (self, as_alice, a, 1, &second, &status), &status);
    size_t size_a, size_b;
    uint8_t *packed_a = cpec_pb_pack (&first->base, &size_a);
    uint8_t *packed_b = cpec_pb_pack (&second->base, &size_b);
    assert_int_equal (size_a, size_b);
    assert_memory_equal (packed_a, packed_b, size_a);
    free (packed_a);
    free (packed_b);
    assert_true (s_rev (self) == rev + 1);
    s_destroy (&first);
    s_destroy (&second);

    //  Gone for a new request: NOT_FOUND, for Get too
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_delete (self, as_alice, a, 0, NULL, &status), &status, CPEC_NOT_FOUND,
                    "subscription ", self, &before, rid);
    assert_int_equal (s_get (self, as_alice, a, NULL, &status), CPEC_NOT_FOUND);

    //  The administrator deletes anyone's, at any version (0)
    cpec_uuid (rid);
    assert_ok (s_delete (self, (s_caller_t){S_ADMIN, admin, rid}, c, 0, NULL, &status), &status);
    assert_int_equal (s_integer (self, "EXISTS cpec:ntf:sub:%s", c), 0);
    assert_int_equal (s_integer (self, "SISMEMBER cpec:ntf:owner:%s %s", bob, c), 0);
    s_clean (self, "del");
}

//  Regression: Delete at a stale expected_version answered INTERNAL ("redis:
//  ABORTED version mismatch ...") instead of ABORTED: cpec_store_script
//  maps every error reply of a script to INTERNAL, and s_delete did not
//  read the code its script's error starts with. Nothing is written.
static void
test_delete_stale_version (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], a[96], rid[37];
    s_name (self, alice, sizeof (alice), "dst", "alice");
    s_name (self, a, sizeof (a), "dst", "a");
    s_caller_t as_alice = {S_ENTERPRISE, alice, rid};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, (s_caller_t){S_ENTERPRISE, alice, NULL}, a, S_LIVE, NULL);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    int rc = s_delete (self, as_alice, a, 5, NULL, &status);
    s_unchanged (self, &before, rid);
    assert_int_equal (s_integer (self, "EXISTS cpec:ntf:sub:%s", a), 1);
    s_clean (self, "dst");
    assert_status (rc, &status, CPEC_ABORTED, "subscription ");
    assert_non_null (strstr (status.message, "is not at version 5"));
}

//  --------------------------------------------------------------------------
//  Test

//  A LIVE subscription: the test message is appended to its feed.
static void
test_test_live (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], id[96], key[160], buf[1024];
    s_name (self, alice, sizeof (alice), "tl", "alice");
    s_name (self, bob, sizeof (bob), "tl", "bob");
    s_name (self, id, sizeof (id), "tl", "live");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, as_alice, id, S_LIVE, NULL);

    Cpec__V1__TestSubscriptionResponse *response = NULL;
    assert_ok (s_test (self, as_alice, id, &response, &status), &status);
    assert_true (response->delivered);
    Cpec__V1__Delivery *delivery = response->delivery;
    assert_non_null (delivery);
    assert_int_equal (strlen (delivery->id), 36);
    assert_string_equal (delivery->subscription_id, id);
    assert_string_equal (delivery->event_type, NOTIFY_TEST_TYPE);
    assert_int_equal (delivery->status, S_DELIVERED);
    assert_int_equal (delivery->attempts, 1);
    assert_non_null (delivery->event);
    assert_string_equal (delivery->event->type, NOTIFY_TEST_TYPE);
    assert_string_equal (delivery->event->actor, alice);

    //  In the feed: one entry naming the delivery
    snprintf (key, sizeof (key), NOTIFY_PREFIX "live:%s", id);
    assert_int_equal (s_integer (self, "XLEN %s", key), 1);
    Cpec__V1__ReadLiveResponse *live = NULL;
    assert_ok (s_read_live (self, as_alice, id, "", 0, &live, &status), &status);
    assert_int_equal (live->n_entries, 1);
    assert_string_equal (live->entries[0]->delivery_id, delivery->id);
    assert_non_null (live->entries[0]->event);
    assert_string_equal (live->entries[0]->event->type, NOTIFY_TEST_TYPE);
    s_destroy (&live);

    //  In the history: ListDeliveries shows it
    snprintf (key, sizeof (key), NOTIFY_PREFIX "hist:%s", id);
    assert_true (s_zscore (self, key, delivery->id) > 0);
    Cpec__V1__ListDeliveriesResponse *list = NULL;
    assert_ok (s_deliveries (self, as_alice, id, 0, 0, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), delivery->id);
    assert_int_equal (list->deliveries[0]->status, S_DELIVERED);
    s_destroy (&list);
    s_destroy (&response);

    //  Another owner's: refused, nothing written
    s_snapshot (self, &before);
    assert_refused (s_test (self, (s_caller_t){S_ENTERPRISE, bob, NULL}, id, NULL, &status),
                    &status, CPEC_PERMISSION_DENIED, "subscription ", self, &before, NULL);
    s_clean (self, "tl");
}

//  A webhook whose receiver refuses the connection: not delivered, the
//  error and no status code answered, the attempt kept for ListDeliveries.
static void
test_test_webhook_refused (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], id[96], key[160], buf[1024];
    s_name (self, alice, sizeof (alice), "tw", "alice");
    s_name (self, id, sizeof (id), "tw", "hook");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    Cpec__V1__Subscription *given = s_sub_new (S_WEBHOOK, id);
    cpec_pb_string_set (&given->url, "http://127.0.0.1:1/x");
    assert_ok (s_create (self, as_alice, given, NULL, &status), &status);
    s_destroy (&given);

    Cpec__V1__TestSubscriptionResponse *response = NULL;
    assert_ok (s_test (self, as_alice, id, &response, &status), &status);
    assert_false (response->delivered);
    Cpec__V1__Delivery *delivery = response->delivery;
    assert_non_null (delivery);
    assert_int_not_equal (delivery->status, S_DELIVERED);
    assert_int_equal (delivery->attempts, 1);
    assert_int_equal (delivery->n_history, 1);
    assert_int_equal (delivery->history[0]->status_code, 0);
    assert_true (strlen (delivery->history[0]->error) > 0);
    assert_string_equal (delivery->history[0]->replica, "test");
    assert_true (strlen (delivery->last_error) > 0);

    //  Recorded in the history and listed
    snprintf (key, sizeof (key), NOTIFY_PREFIX "hist:%s", id);
    assert_true (s_zscore (self, key, delivery->id) > 0);
    Cpec__V1__Delivery *stored = s_stored_delivery (self, delivery->id);
    assert_non_null (stored);
    assert_string_equal (stored->last_error, delivery->last_error);
    s_destroy (&stored);
    Cpec__V1__ListDeliveriesResponse *list = NULL;
    assert_ok (s_deliveries (self, as_alice, id, 0, 0, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), delivery->id);
    assert_int_equal (list->deliveries[0]->n_history, 1);
    assert_int_equal (list->deliveries[0]->history[0]->status_code, 0);
    assert_string_equal (list->deliveries[0]->last_error, delivery->last_error);
    s_destroy (&list);
    s_destroy (&response);
    s_clean (self, "tw");
}

//  --------------------------------------------------------------------------
//  ListDeliveries

static void
test_list_deliveries (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], sub[96], missing[96], d[5][96], buf[1024], want[1024];
    s_name (self, alice, sizeof (alice), "ld", "alice");
    s_name (self, bob, sizeof (bob), "ld", "bob");
    s_name (self, admin, sizeof (admin), "ld", "admin");
    s_name (self, sub, sizeof (sub), "ld", "a");
    s_name (self, missing, sizeof (missing), "ld", "missing");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, as_alice, sub, S_WEBHOOK, NULL);
    //  d1 oldest .. d5 newest
    const Cpec__V1__Delivery__Status statuses[5] = {S_DELIVERED, S_DEAD, S_RETRYING, S_DELIVERED,
                                                    S_PENDING};
    int64_t now = cpec_now_ms ();
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf (name, sizeof (name), "d%d", i + 1);
        s_name (self, d[i], sizeof (d[i]), "ld", name);
        s_put_delivery (self, d[i], sub, statuses[i], now - 5000 + 1000 * i);
    }

    //  Newest first, as recorded
    Cpec__V1__ListDeliveriesResponse *list = NULL;
    snprintf (want, sizeof (want), "%s %s %s %s %s", d[4], d[3], d[2], d[1], d[0]);
    assert_ok (s_deliveries (self, as_alice, sub, 0, 0, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), want);
    assert_string_equal (list->next_cursor, "");
    assert_int_equal (list->deliveries[0]->status, S_PENDING);
    assert_int_equal (list->deliveries[1]->status, S_DELIVERED);
    assert_int_equal (list->deliveries[3]->status, S_DEAD);
    assert_int_equal (list->deliveries[3]->n_history, 1);
    assert_int_equal (list->deliveries[3]->history[0]->status_code, 503);
    assert_string_equal (list->deliveries[3]->event->type, "MilestoneDelayed");
    assert_string_equal (list->deliveries[3]->event->milestone_delayed->agency, "NTDC");
    s_destroy (&list);

    //  A status filter
    snprintf (want, sizeof (want), "%s %s", d[3], d[0]);
    assert_ok (s_deliveries (self, as_alice, sub, S_DELIVERED, 0, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), want);
    s_destroy (&list);
    assert_ok (s_deliveries (self, as_alice, sub, S_DEAD, 0, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), d[1]);
    s_destroy (&list);

    //  Paging by 2, with and without a filter: each once, in order
    for (int filtered = 0; filtered < 2; filtered++) {
        char seen[1024] = "";
        char *cursor = cpec_strdup ("");
        int pages = 0;
        for (; pages < 10; pages++) {
            assert_ok (s_deliveries (self, as_alice, sub, filtered ? S_DELIVERED : 0, 2, cursor,
                                     &list, &status),
                       &status);
            assert_true (list->n_deliveries <= 2);
            for (size_t i = 0; i < list->n_deliveries; i++) {
                size_t used = strlen (seen);
                snprintf (seen + used, sizeof (seen) - used, "%s%s", used ? " " : "",
                          list->deliveries[i]->id);
            }
            free (cursor);
            cursor = cpec_strdup (list->next_cursor);
            s_destroy (&list);
            if (!*cursor)
                break;
        }
        free (cursor);
        assert_int_equal (pages, 2); //  three pages: 2, 2, 1 deliveries looked at
        if (filtered)
            snprintf (want, sizeof (want), "%s %s", d[3], d[0]);
        else
            snprintf (want, sizeof (want), "%s %s %s %s %s", d[4], d[3], d[2], d[1], d[0]);
        assert_string_equal (seen, want);
    }

    //  Another owner's: refused; the administrator's: fine; absent: NOT_FOUND
    s_snapshot (self, &before);
    assert_refused (
        s_deliveries (self, (s_caller_t){S_ENTERPRISE, bob, NULL}, sub, 0, 0, "", NULL, &status),
        &status, CPEC_PERMISSION_DENIED, "subscription ", self, &before, NULL);
    assert_ok (
        s_deliveries (self, (s_caller_t){S_ADMIN, admin, NULL}, sub, 0, 0, "", &list, &status),
        &status);
    assert_int_equal (list->n_deliveries, 5);
    s_destroy (&list);
    s_snapshot (self, &before);
    assert_refused (s_deliveries (self, as_alice, missing, 0, 0, "", NULL, &status), &status,
                    CPEC_NOT_FOUND, "subscription ", self, &before, NULL);
    s_clean (self, "ld");
}

//  Regression: a page of ListDeliveries (and ListDeadLetters) that reached
//  the byte limit (notify_t.page_bytes / 2) left the remaining deliveries of
//  the page out, yet its next_cursor pointed past the whole page
//  (offset + page_size): the deliveries left out were never listed. With
//  the service's page_bytes (CPEC_MAX_MESSAGE / 2) that happens as soon as
//  a page of real deliveries (events, up to 20 attempts each) passes
//  256 KiB, e.g. page_size 500. Here the limit holds 2 deliveries and the
//  pages are of 3: the third of each full page is lost.
static void
test_list_deliveries_page_bytes (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], sub[96], d[5][96], want[1024];
    s_name (self, alice, sizeof (alice), "lb", "alice");
    s_name (self, sub, sizeof (sub), "lb", "a");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    s_make (self, as_alice, sub, S_WEBHOOK, NULL);
    int64_t now = cpec_now_ms ();
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf (name, sizeof (name), "d%d", i + 1);
        s_name (self, d[i], sizeof (d[i]), "lb", name);
        s_put_delivery (self, d[i], sub, S_DEAD, now - 5000 + 1000 * i);
    }
    Cpec__V1__Delivery *one = s_stored_delivery (self, d[0]);
    size_t size = protobuf_c_message_get_packed_size (&one->base);
    s_destroy (&one);
    size_t saved = self->notify.page_bytes;
    self->notify.page_bytes = 3 * size; //  a page holds 2 (limit 1.5 deliveries)

    char seen[1024] = "";
    char *cursor = cpec_strdup ("");
    for (int pages = 0; pages < 10; pages++) {
        Cpec__V1__ListDeliveriesResponse *list = NULL;
        assert_ok (s_deliveries (self, as_alice, sub, 0, 3, cursor, &list, &status), &status);
        for (size_t i = 0; i < list->n_deliveries; i++) {
            size_t used = strlen (seen);
            snprintf (seen + used, sizeof (seen) - used, "%s%s", used ? " " : "",
                      list->deliveries[i]->id);
        }
        free (cursor);
        cursor = cpec_strdup (list->next_cursor);
        s_destroy (&list);
        if (!*cursor)
            break;
    }
    free (cursor);
    self->notify.page_bytes = saved;
    s_clean (self, "lb");
    snprintf (want, sizeof (want), "%s %s %s %s %s", d[4], d[3], d[2], d[1], d[0]);
    assert_string_equal (seen, want); //  fails: d3 is never listed
}

//  --------------------------------------------------------------------------
//  Dead letters

//  Writes the deliveries of the dead-letter tests of tag: Alice's a (a1
//  dead, a2 delivered, a3 dead, a4 dead) and b (b1 dead), Bob's c (c1
//  dead); ids into the arrays.
static void
s_dead_setup (s_fixture_t *self, const char *tag, s_caller_t alice, s_caller_t bob,
              char subs[3][96], char ids[6][96])
{
    const char *sub_names[3] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++)
        s_name (self, subs[i], sizeof (subs[i]), tag, sub_names[i]);
    s_make (self, alice, subs[0], S_WEBHOOK, NULL);
    s_make (self, alice, subs[1], S_WEBHOOK, NULL);
    s_make (self, bob, subs[2], S_WEBHOOK, NULL);
    const char *names[6] = {"a1", "a2", "a3", "a4", "b1", "c1"};
    const int sub_of[6] = {0, 0, 0, 0, 1, 2};
    const Cpec__V1__Delivery__Status statuses[6] = {S_DEAD, S_DELIVERED, S_DEAD,
                                                    S_DEAD, S_DEAD,      S_DEAD};
    const int64_t ago[6] = {4000, 3000, 2000, 1000, 1500, 500};
    int64_t now = cpec_now_ms ();
    for (int i = 0; i < 6; i++) {
        s_name (self, ids[i], sizeof (ids[i]), tag, names[i]);
        s_put_delivery (self, ids[i], subs[sub_of[i]], statuses[i], now - ago[i]);
    }
}

static void
test_list_dead_letters (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], subs[3][96], ids[6][96], needle[96], buf[1024], want[1024];
    s_name (self, alice, sizeof (alice), "dq", "alice");
    s_name (self, bob, sizeof (bob), "dq", "bob");
    s_name (self, admin, sizeof (admin), "dq", "admin");
    snprintf (needle, sizeof (needle), "%s-dq-", self->prefix);
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    s_caller_t as_admin = {S_ADMIN, admin, NULL};
    cpec_status_t status;
    s_snapshot_t before;
    s_dead_setup (self, "dq", as_alice, (s_caller_t){S_ENTERPRISE, bob, NULL}, subs, ids);

    //  A subscription's: newest first, only the dead, paged
    Cpec__V1__ListDeliveriesResponse *list = NULL;
    snprintf (want, sizeof (want), "%s %s %s", ids[3], ids[2], ids[0]);
    assert_ok (s_dead_letters (self, as_alice, subs[0], 0, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), want);
    for (size_t i = 0; i < list->n_deliveries; i++)
        assert_int_equal (list->deliveries[i]->status, S_DEAD);
    s_destroy (&list);
    snprintf (want, sizeof (want), "%s %s", ids[3], ids[2]);
    assert_ok (s_dead_letters (self, as_alice, subs[0], 2, "", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), want);
    assert_string_equal (list->next_cursor, "2");
    s_destroy (&list);
    assert_ok (s_dead_letters (self, as_alice, subs[0], 2, "2", &list, &status), &status);
    assert_string_equal (s_delivery_ids (list, buf, sizeof (buf)), ids[0]);
    assert_string_equal (list->next_cursor, "");
    s_destroy (&list);

    //  Without a subscription: administrators only; another owner's: refused
    s_snapshot (self, &before);
    assert_refused (
        s_dead_letters (self, as_alice, "", 0, "", NULL, &status), &status, CPEC_PERMISSION_DENIED,
        "subscription_id: required unless the caller is an administrator", self, &before, NULL);
    s_snapshot (self, &before);
    assert_refused (s_dead_letters (self, as_alice, subs[2], 0, "", NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "subscription ", self, &before, NULL);

    //  The administrator's whole list, paged by 2: ours newest first
    char seen[2048] = "";
    char *cursor = cpec_strdup ("");
    for (int pages = 0; pages < 10000; pages++) {
        assert_ok (s_dead_letters (self, as_admin, "", 2, cursor, &list, &status), &status);
        for (size_t i = 0; i < list->n_deliveries; i++) {
            assert_int_equal (list->deliveries[i]->status, S_DEAD);
            if (!strstr (list->deliveries[i]->id, needle))
                continue;
            size_t used = strlen (seen);
            snprintf (seen + used, sizeof (seen) - used, "%s%s", used ? " " : "",
                      list->deliveries[i]->id);
        }
        free (cursor);
        cursor = cpec_strdup (list->next_cursor);
        s_destroy (&list);
        if (!*cursor)
            break;
    }
    free (cursor);
    snprintf (want, sizeof (want), "%s %s %s %s %s", ids[5], ids[3], ids[4], ids[2], ids[0]);
    assert_string_equal (seen, want);
    s_clean (self, "dq");
}

static void
test_replay_dead_letters (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], admin[96], subs[3][96], ids[6][96], missing[96], key[160], buf[1024],
        want[1024], rid[37];
    s_name (self, alice, sizeof (alice), "rp", "alice");
    s_name (self, bob, sizeof (bob), "rp", "bob");
    s_name (self, admin, sizeof (admin), "rp", "admin");
    s_name (self, missing, sizeof (missing), "rp", "missing");
    s_caller_t as_alice = {S_ENTERPRISE, alice, rid};
    cpec_status_t status;
    s_snapshot_t before;
    s_dead_setup (self, "rp", (s_caller_t){S_ENTERPRISE, alice, NULL},
                  (s_caller_t){S_ENTERPRISE, bob, NULL}, subs, ids);
    char q_a[160], dlq_a[160];
    snprintf (q_a, sizeof (q_a), NOTIFY_PREFIX "q:%s", subs[0]);
    snprintf (dlq_a, sizeof (dlq_a), NOTIFY_PREFIX "dlq:%s", subs[0]);

    //  Refusals change nothing: an unknown id, a delivery not dead, another
    //  owner's dead letter or subscription, everything for a non-admin
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_replay (self, as_alice, missing, NULL, &status), &status, CPEC_NOT_FOUND,
                    missing, self, &before, rid);
    assert_non_null (strstr (status.message, "is neither a dead letter nor a subscription"));
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_replay (self, as_alice, ids[1], NULL, &status), &status,
                    CPEC_FAILED_PRECONDITION, "delivery ", self, &before, rid);
    assert_non_null (strstr (status.message, "is not a dead letter"));
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_replay (self, as_alice, ids[5], NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "subscription ", self, &before, rid);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_replay (self, as_alice, subs[2], NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "subscription ", self, &before, rid);
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_replay (self, as_alice, "", NULL, &status), &status, CPEC_PERMISSION_DENIED,
                    "id: required unless the caller is an administrator", self, &before, rid);

    //  One dead letter by its delivery id: pending again, at the end of its
    //  queue, its subscription ready, out of both dead-letter sets
    int64_t start = cpec_now_ms ();
    Cpec__V1__ReplayDeadLettersResponse *replayed = NULL;
    cpec_uuid (rid);
    assert_ok (s_replay (self, as_alice, ids[2], &replayed, &status), &status);
    assert_int_equal (replayed->replayed, 1);
    assert_int_equal (replayed->n_delivery_ids, 1);
    assert_string_equal (replayed->delivery_ids[0], ids[2]);
    s_destroy (&replayed);
    Cpec__V1__Delivery *delivery = s_stored_delivery (self, ids[2]);
    assert_int_equal (delivery->status, S_PENDING);
    assert_int_equal (delivery->attempts, 0);
    assert_int_equal (delivery->replays, 1);
    assert_null (delivery->finished_at);
    assert_null (delivery->next_attempt_at);
    assert_true (cpec_pb_timestamp_ms (delivery->created_at) >= start);
    assert_string_equal (delivery->subscription_id, subs[0]);
    assert_non_null (delivery->event);
    s_destroy (&delivery);
    redisReply *reply = s_redis (self, "HGET cpec:ntf:dlv:%s v", ids[2]);
    assert_string_equal (reply->str, "2");
    freeReplyObject (reply);
    assert_string_equal (s_range (self, "LRANGE", q_a, buf, sizeof (buf)), ids[2]);
    assert_true (s_zscore (self, NOTIFY_READY_KEY, subs[0]) >= 0);
    assert_int_equal (s_zscore (self, NOTIFY_DLQ_KEY, ids[2]), -1);
    assert_int_equal (s_zscore (self, dlq_a, ids[2]), -1);
    snprintf (want, sizeof (want), "%s %s", ids[0], ids[3]);
    assert_string_equal (s_range (self, "ZRANGE", dlq_a, buf, sizeof (buf)), want);
    assert_true (s_zscore (self, NOTIFY_DLQ_KEY, ids[0]) > 0);
    snprintf (key, sizeof (key), NOTIFY_PREFIX "hist:%s", subs[0]);
    assert_true (s_zscore (self, key, ids[2]) > 0); //  still in the history

    //  The same again: no longer a dead letter
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_refused (s_replay (self, as_alice, ids[2], NULL, &status), &status,
                    CPEC_FAILED_PRECONDITION, "delivery ", self, &before, rid);

    //  By subscription id: all its dead letters, oldest first
    cpec_uuid (rid);
    assert_ok (s_replay (self, as_alice, subs[0], &replayed, &status), &status);
    assert_int_equal (replayed->replayed, 2);
    assert_int_equal (replayed->n_delivery_ids, 2);
    assert_string_equal (replayed->delivery_ids[0], ids[0]);
    assert_string_equal (replayed->delivery_ids[1], ids[3]);
    s_destroy (&replayed);
    snprintf (want, sizeof (want), "%s %s %s", ids[2], ids[0], ids[3]);
    assert_string_equal (s_range (self, "LRANGE", q_a, buf, sizeof (buf)), want);
    assert_int_equal (s_integer (self, "EXISTS %s", dlq_a), 0);
    assert_int_equal (s_zscore (self, NOTIFY_DLQ_KEY, ids[0]), -1);
    assert_int_equal (s_zscore (self, NOTIFY_DLQ_KEY, ids[3]), -1);
    delivery = s_stored_delivery (self, ids[3]);
    assert_int_equal (delivery->status, S_PENDING);
    assert_int_equal (delivery->replays, 1);
    s_destroy (&delivery);
    delivery = s_stored_delivery (self, ids[1]); //  the delivered one: untouched
    assert_int_equal (delivery->status, S_DELIVERED);
    assert_int_equal (delivery->replays, 0);
    s_destroy (&delivery);

    //  Twice: nothing the second time
    cpec_uuid (rid);
    s_snapshot (self, &before);
    assert_ok (s_replay (self, as_alice, subs[0], &replayed, &status), &status);
    assert_int_equal (replayed->replayed, 0);
    assert_int_equal (replayed->n_delivery_ids, 0);
    s_destroy (&replayed);
    s_unchanged (self, &before, NULL);

    //  A subscription whose queue a replica holds under lease: queued, not
    //  made ready (the holder works it)
    char q_b[160];
    snprintf (q_b, sizeof (q_b), NOTIFY_PREFIX "q:%s", subs[1]);
    s_redis_do (self, "ZADD %s %lld %s", NOTIFY_LEASES_KEY, (long long)cpec_now_ms () + 60000,
                subs[1]);
    cpec_uuid (rid);
    assert_ok (s_replay (self, as_alice, ids[4], &replayed, &status), &status);
    assert_int_equal (replayed->replayed, 1);
    s_destroy (&replayed);
    assert_string_equal (s_range (self, "LRANGE", q_b, buf, sizeof (buf)), ids[4]);
    assert_int_equal (s_zscore (self, NOTIFY_READY_KEY, subs[1]), -1);

    //  The administrator without an id: every dead letter, Bob's too
    cpec_uuid (rid);
    assert_ok (s_replay (self, (s_caller_t){S_ADMIN, admin, rid}, "", &replayed, &status), &status);
    bool found = false;
    for (size_t i = 0; i < replayed->n_delivery_ids; i++)
        found = found || strcmp (replayed->delivery_ids[i], ids[5]) == 0;
    assert_true (found);
    assert_int_equal (replayed->replayed, replayed->n_delivery_ids);
    s_destroy (&replayed);
    assert_int_equal (s_zscore (self, NOTIFY_DLQ_KEY, ids[5]), -1);
    snprintf (key, sizeof (key), NOTIFY_PREFIX "q:%s", subs[2]);
    assert_string_equal (s_range (self, "LRANGE", key, buf, sizeof (buf)), ids[5]);
    s_clean (self, "rp");
}

//  --------------------------------------------------------------------------
//  ReadLive

//  Appends a delivery of id to the live feed of subscription as fan-out
//  does; its stream position into position (64 bytes).
static void
s_live_add (s_fixture_t *self, const char *subscription, const char *id, char *position,
            char *event_id)
{
    Cpec__V1__Delivery *delivery = s_delivery_new (id, subscription, S_PENDING, cpec_now_ms ());
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (&delivery->base, &size);
    redisReply *reply =
        s_redis (self, "XADD cpec:ntf:live:%s * d %s pb %b", subscription, id, packed, size);
    assert_int_equal (reply->type, REDIS_REPLY_STRING);
    snprintf (position, 64, "%s", reply->str);
    snprintf (event_id, 64, "%s", delivery->event->id);
    freeReplyObject (reply);
    free (packed);
    s_destroy (&delivery);
}

static void
test_read_live (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], bob[96], live[96], hook[96], bobs[96], missing[96], ids[5][96];
    char positions[5][64], events[5][64];
    s_name (self, alice, sizeof (alice), "rl", "alice");
    s_name (self, bob, sizeof (bob), "rl", "bob");
    s_name (self, live, sizeof (live), "rl", "live");
    s_name (self, hook, sizeof (hook), "rl", "hook");
    s_name (self, bobs, sizeof (bobs), "rl", "bobs");
    s_name (self, missing, sizeof (missing), "rl", "missing");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    s_snapshot_t before;
    s_make (self, as_alice, live, S_LIVE, NULL);
    s_make (self, as_alice, hook, S_WEBHOOK, NULL);
    s_make (self, (s_caller_t){S_ENTERPRISE, bob, NULL}, bobs, S_LIVE, NULL);
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf (name, sizeof (name), "e%d", i + 1);
        s_name (self, ids[i], sizeof (ids[i]), "rl", name);
        s_live_add (self, live, ids[i], positions[i], events[i]);
    }

    //  From the oldest: every entry in order, with its delivery and event
    Cpec__V1__ReadLiveResponse *response = NULL;
    assert_ok (s_read_live (self, as_alice, live, "", 0, &response, &status), &status);
    assert_int_equal (response->n_entries, 5);
    for (int i = 0; i < 5; i++) {
        assert_string_equal (response->entries[i]->position, positions[i]);
        assert_string_equal (response->entries[i]->delivery_id, ids[i]);
        assert_non_null (response->entries[i]->event);
        assert_string_equal (response->entries[i]->event->id, events[i]);
        assert_string_equal (response->entries[i]->event->type, "MilestoneDelayed");
    }
    assert_string_equal (response->next, positions[4]);
    s_destroy (&response);

    //  Paged by 2 with after / next: each once
    char after[64] = "";
    int next_index[3] = {1, 3, 4};
    for (int page = 0; page < 3; page++) {
        assert_ok (s_read_live (self, as_alice, live, after, 2, &response, &status), &status);
        assert_int_equal (response->n_entries, page < 2 ? 2 : 1);
        for (size_t i = 0; i < response->n_entries; i++)
            assert_string_equal (response->entries[i]->delivery_id, ids[2 * page + (int)i]);
        assert_string_equal (response->next, positions[next_index[page]]);
        snprintf (after, sizeof (after), "%s", response->next);
        s_destroy (&response);
    }
    //  Past the newest: nothing, and next stays where it was
    assert_ok (s_read_live (self, as_alice, live, after, 2, &response, &status), &status);
    assert_int_equal (response->n_entries, 0);
    assert_string_equal (response->next, positions[4]);
    s_destroy (&response);

    //  Refusals: not LIVE, another owner's, absent, a position that is none
    s_snapshot (self, &before);
    assert_refused (s_read_live (self, as_alice, hook, "", 0, NULL, &status), &status,
                    CPEC_FAILED_PRECONDITION, "subscription ", self, &before, NULL);
    assert_non_null (strstr (status.message, "is not a LIVE subscription"));
    s_snapshot (self, &before);
    assert_refused (s_read_live (self, as_alice, bobs, "", 0, NULL, &status), &status,
                    CPEC_PERMISSION_DENIED, "subscription ", self, &before, NULL);
    s_snapshot (self, &before);
    assert_refused (s_read_live (self, as_alice, missing, "", 0, NULL, &status), &status,
                    CPEC_NOT_FOUND, "subscription ", self, &before, NULL);
    s_snapshot (self, &before);
    assert_refused (s_read_live (self, as_alice, live, "abc", 0, NULL, &status), &status,
                    CPEC_INVALID_ARGUMENT, "after: \"abc\" is not a position", self, &before, NULL);
    s_snapshot (self, &before);
    assert_refused (s_read_live (self, as_alice, live, "(1-0", 0, NULL, &status), &status,
                    CPEC_INVALID_ARGUMENT, "after: ", self, &before, NULL);
    s_clean (self, "rl");
}

//  Regression: ReadLive let through any `after` made of digits and hyphens
//  ("1-2-3", "-", "-5", "99999999999999999999"): not a position, which
//  Redis refused (XRANGE: "ERR Invalid stream ID ..."), so the caller got
//  INTERNAL instead of INVALID_ARGUMENT.
static void
test_read_live_bad_after (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char alice[96], live[96], position[64], event_id[64], id[96], got[1024] = "";
    s_name (self, alice, sizeof (alice), "rlb", "alice");
    s_name (self, live, sizeof (live), "rlb", "live");
    s_name (self, id, sizeof (id), "rlb", "e1");
    s_caller_t as_alice = {S_ENTERPRISE, alice, NULL};
    cpec_status_t status;
    s_make (self, as_alice, live, S_LIVE, NULL);
    s_live_add (self, live, id, position, event_id);
    const char *bad[] = {"1-2-3", "-", "-5", "99999999999999999999", NULL};
    for (int i = 0; bad[i]; i++) {
        int rc = s_read_live (self, as_alice, live, bad[i], 0, NULL, &status);
        if (rc != CPEC_INVALID_ARGUMENT) {
            size_t used = strlen (got);
            snprintf (got + used, sizeof (got) - used, "%s\"%s\": %s \"%s\"", used ? "; " : "",
                      bad[i], cpec_code_name (rc), status.message);
        }
    }
    s_clean (self, "rlb");
    if (*got)
        fail_msg ("wanted INVALID_ARGUMENT for each, got %s", got);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_create_defaults),
        cmocka_unit_test (test_create_permissions),
        cmocka_unit_test (test_create_exists_and_retry),
        cmocka_unit_test (test_create_invalid),
        cmocka_unit_test (test_get_and_list),
        cmocka_unit_test (test_update),
        cmocka_unit_test (test_delete),
        cmocka_unit_test (test_test_live),
        cmocka_unit_test (test_test_webhook_refused),
        cmocka_unit_test (test_list_deliveries),
        cmocka_unit_test (test_list_dead_letters),
        cmocka_unit_test (test_replay_dead_letters),
        cmocka_unit_test (test_read_live),
        //  Regressions (see each comment)
        cmocka_unit_test (test_delete_stale_version),
        cmocka_unit_test (test_list_deliveries_page_bytes),
        cmocka_unit_test (test_read_live_bad_after),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
