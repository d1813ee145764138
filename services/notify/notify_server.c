/*  notify_server - the handlers of cpec.v1.Notify. See notify.h.

    A subscription belongs to its owner (a principal): administrators see
    and change every subscription, anyone else only their own. A webhook
    subscription's secret is answered once, by Create (generated when not
    given), and never by Get or List (has_secret says one is set).
    Subscription writes go through the outbox write and bump cpec:ntf:rev,
    which tells the engines to read the subscriptions again; a Delete runs
    its own small script (the outbox write has no delete).
*/
#include <assert.h>
#include <errno.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_check.h"
#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "notify.h"

#define S_PAGE_DEFAULT    50
#define S_PAGE_MAX        500
#define S_REPLAY_MAX      10000
#define S_LIVE_MAX        1000
#define S_TEST_TIMEOUT_MS 2000 //  Test's attempt at most

extern const char cpec_lua_notify_replay[];

void
notify_sub_key (char *buffer, size_t size, const char *id)
{
    snprintf (buffer, size, NOTIFY_PREFIX "sub:%s", id);
}

void
notify_delivery_key (char *buffer, size_t size, const char *id)
{
    snprintf (buffer, size, NOTIFY_PREFIX "dlv:%s", id);
}

int
notify_sub_load (cpec_store_t *store, const char *id, Cpec__V1__Subscription **subscription,
                 cpec_status_t *status)
{
    char key[NOTIFY_KEY_MAX];
    notify_sub_key (key, sizeof (key), id ? id : "");
    *subscription = NULL;
    int rc = cpec_store_get (store, key, &cpec__v1__subscription__descriptor,
                             (ProtobufCMessage **)subscription, NULL, status);
    if (rc == CPEC_NOT_FOUND)
        cpec_status_set (status, CPEC_NOT_FOUND, "subscription %s not found", id ? id : "");
    return rc;
}

void
notify_delivery_record (Cpec__V1__Delivery *delivery, const notify_result_t *result,
                        notify_outcome_t outcome, int64_t now_ms, int64_t next_ms,
                        const char *replica)
{
    Cpec__V1__DeliveryAttempt *attempt =
        (Cpec__V1__DeliveryAttempt *)cpec_pb_new (&cpec__v1__delivery_attempt__descriptor);
    attempt->at = cpec_pb_timestamp_new (now_ms);
    attempt->status_code = result->status_code;
    attempt->latency_ms = (uint32_t)(result->latency_ms < 0 ? 0 : result->latency_ms);
    cpec_pb_string_set (&attempt->error, result->error);
    cpec_pb_string_set (&attempt->replica, replica ? replica : "");
    if (delivery->n_history >= NOTIFY_HISTORY) {
        cpec_pb_destroy ((ProtobufCMessage **)&delivery->history[0]);
        memmove (delivery->history, delivery->history + 1,
                 (delivery->n_history - 1) * sizeof (void *));
        delivery->n_history--;
    }
    delivery->history = (Cpec__V1__DeliveryAttempt **)cpec_realloc (
        delivery->history, (delivery->n_history + 1) * sizeof (void *));
    delivery->history[delivery->n_history++] = attempt;
    delivery->attempts++;
    cpec_pb_string_set (&delivery->last_error, result->error);
    cpec_pb_destroy ((ProtobufCMessage **)&delivery->next_attempt_at);
    if (outcome == NOTIFY_RETRY) {
        delivery->status = CPEC__V1__DELIVERY__STATUS__RETRYING;
        delivery->next_attempt_at = cpec_pb_timestamp_new (next_ms);
    } else {
        delivery->status = outcome == NOTIFY_DELIVERED ? CPEC__V1__DELIVERY__STATUS__DELIVERED
                                                       : CPEC__V1__DELIVERY__STATUS__DEAD;
        cpec_pb_destroy ((ProtobufCMessage **)&delivery->finished_at);
        delivery->finished_at = cpec_pb_timestamp_new (now_ms);
    }
}

//  --------------------------------------------------------------------------
//  Small helpers

static bool
s_admin (const cpec_call_t *call)
{
    return call->principal->role == CPEC__V1__PRINCIPAL__ROLE__ADMIN;
}

//  Loads a subscription the caller may see: NOT_FOUND or PERMISSION_DENIED.
static int
s_load_mine (notify_t *self, cpec_call_t *call, const char *id,
             Cpec__V1__Subscription **subscription)
{
    int rc = notify_sub_load (self->store, id, subscription, call->status);
    if (rc == CPEC_OK && !s_admin (call) &&
        strcmp ((*subscription)->owner, cpec_handler_subject (call)) != 0) {
        cpec_pb_destroy ((ProtobufCMessage **)subscription);
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "subscription %s belongs to another owner", id);
    }
    return rc;
}

//  The subscription as answered by everything but Create: without secret.
static void
s_hide_secret (Cpec__V1__Subscription *subscription)
{
    subscription->has_secret = subscription->secret && *subscription->secret;
    cpec_pb_string_set (&subscription->secret, "");
}

static void
s_secret_new (char **field)
{
    unsigned char bytes[NOTIFY_SECRET_BYTES];
    if (RAND_bytes (bytes, sizeof (bytes)) != 1) {
        char uuid[37];
        cpec_uuid (uuid);
        memcpy (bytes, uuid, sizeof (bytes) < 37 ? sizeof (bytes) : 37);
    }
    char hex[2 * NOTIFY_SECRET_BYTES + 1];
    for (size_t i = 0; i < sizeof (bytes); i++)
        sprintf (hex + 2 * i, "%02x", bytes[i]);
    cpec_pb_string_set (field, hex);
}

static uint32_t
s_page (uint32_t asked)
{
    return asked == 0 ? S_PAGE_DEFAULT : asked > S_PAGE_MAX ? S_PAGE_MAX : asked;
}

//  Writes a subscription (expected: 0 to create) with its index changes
//  from `before` (NULL: none) and bumps the revision.
static int
s_write (notify_t *self, cpec_call_t *call, Cpec__V1__Subscription *subscription, uint32_t expected,
         const Cpec__V1__Subscription *before, ProtobufCMessage **replayed)
{
    char key[NOTIFY_KEY_MAX];
    notify_sub_key (key, sizeof (key), subscription->id);
    cpec_store_put_t put = {key, expected, &subscription->base};
    cpec_indexes_t indexes = {0};
    cpec_indexes_add (&indexes, CPEC_STORE_SADD, NOTIFY_SUBS_KEY, subscription->id, 0);
    char owner_key[NOTIFY_KEY_MAX];
    if (before && strcmp (before->owner, subscription->owner) != 0) {
        snprintf (owner_key, sizeof (owner_key), NOTIFY_PREFIX "owner:%s", before->owner);
        cpec_indexes_add (&indexes, CPEC_STORE_SREM, owner_key, subscription->id, 0);
    }
    snprintf (owner_key, sizeof (owner_key), NOTIFY_PREFIX "owner:%s", subscription->owner);
    cpec_indexes_add (&indexes, CPEC_STORE_SADD, owner_key, subscription->id, 0);
    cpec_indexes_add (&indexes, CPEC_STORE_INCRBYFLOAT, NOTIFY_REV_KEY, NULL, 1);
    cpec_store_write_t write = {.request_id = call->request_id,
                                .puts = &put,
                                .put_count = 1,
                                .indexes = indexes.items,
                                .index_count = indexes.count,
                                .answer = &subscription->base};
    int rc = cpec_handler_write (self->store, self->bus, self->metrics, call, &write,
                                 &cpec__v1__subscription__descriptor, replayed);
    cpec_indexes_fini (&indexes);
    if (rc == CPEC_ABORTED)
        cpec_status_set (call->status, CPEC_ABORTED,
                         "subscription %s is not at version %u; read it again and retry",
                         subscription->id, expected);
    return rc;
}

//  --------------------------------------------------------------------------
//  Create, Get, List, Update, Delete

static int
s_create (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__CreateSubscriptionRequest *request =
        (const Cpec__V1__CreateSubscriptionRequest *)input;
    if (!request->subscription)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "subscription: required");
    Cpec__V1__Subscription *subscription =
        (Cpec__V1__Subscription *)cpec_pb_dup (&request->subscription->base);
    const char *subject = cpec_handler_subject (call);
    int rc = CPEC_OK;
    if (!*subscription->owner)
        cpec_pb_string_set (&subscription->owner, subject);
    if (!*subscription->owner)
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                              "owner: required when the caller has no subject");
    else if (!s_admin (call) && strcmp (subscription->owner, subject) != 0)
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "owner: only an administrator subscribes for another principal");
    if (rc == CPEC_OK)
        rc = notify_validate (subscription, &self->config, call->status);
    if (rc == CPEC_OK) {
        if (!*subscription->id) {
            char uuid[37], id[32];
            cpec_uuid (uuid);
            snprintf (id, sizeof (id), "sub-%.8s%.4s", uuid, uuid + 9);
            cpec_pb_string_set (&subscription->id, id);
        }
        if (!*subscription->language)
            cpec_pb_string_set (&subscription->language, "en");
        if (subscription->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK &&
            !*subscription->secret)
            s_secret_new (&subscription->secret);
        subscription->has_secret = *subscription->secret != 0;
        subscription->version = 1;
        int64_t now = cpec_now_ms ();
        cpec_pb_destroy ((ProtobufCMessage **)&subscription->created);
        cpec_pb_destroy ((ProtobufCMessage **)&subscription->updated);
        subscription->created = cpec_handler_audit_new (now, subject);
        subscription->updated = cpec_handler_audit_new (now, subject);
        ProtobufCMessage *replayed = NULL;
        rc = s_write (self, call, subscription, 0, NULL, &replayed);
        if (rc == CPEC_ALREADY_EXISTS)
            rc = cpec_status_set (call->status, CPEC_ALREADY_EXISTS,
                                  "subscription %s already exists", subscription->id);
        if (rc == CPEC_OK && replayed) {
            cpec_pb_destroy ((ProtobufCMessage **)&subscription);
            subscription = (Cpec__V1__Subscription *)replayed;
        }
    }
    if (rc == CPEC_OK) {
        cpec_log_info (call->request_id, "subscription %s created for %s", subscription->id,
                       subscription->owner);
        cpec_pb_move (output, (ProtobufCMessage **)&subscription);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&subscription);
    return rc;
}

static int
s_get (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    const Cpec__V1__GetSubscriptionRequest *request =
        (const Cpec__V1__GetSubscriptionRequest *)input;
    Cpec__V1__Subscription *subscription = NULL;
    int rc = s_load_mine ((notify_t *)state, call, request->id, &subscription);
    if (rc == CPEC_OK) {
        s_hide_secret (subscription);
        cpec_pb_move (output, (ProtobufCMessage **)&subscription);
    }
    return rc;
}

static int
s_list (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__ListSubscriptionsRequest *request =
        (const Cpec__V1__ListSubscriptionsRequest *)input;
    Cpec__V1__ListSubscriptionsResponse *response = (Cpec__V1__ListSubscriptionsResponse *)output;
    const char *owner = request->owner;
    if (!s_admin (call)) {
        if (*owner && strcmp (owner, cpec_handler_subject (call)) != 0)
            return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                    "owner: only an administrator lists another owner's "
                                    "subscriptions");
        owner = cpec_handler_subject (call);
    }
    char key[NOTIFY_KEY_MAX];
    if (*owner)
        snprintf (key, sizeof (key), NOTIFY_PREFIX "owner:%s", owner);
    else
        snprintf (key, sizeof (key), "%s", NOTIFY_SUBS_KEY);
    const char *keys[1] = {key};
    char **ids = NULL;
    bool more = false;
    int rc = cpec_store_members (self->store, keys, 1, request->cursor, s_page (request->page_size),
                                 &ids, &more, call->status);
    size_t count = 0;
    while (rc == CPEC_OK && ids[count])
        count++;
    if (rc == CPEC_OK && count) {
        const char **entity_keys = (const char **)cpec_realloc (NULL, count * sizeof (char *));
        for (size_t i = 0; i < count; i++) {
            char one[NOTIFY_KEY_MAX];
            notify_sub_key (one, sizeof (one), ids[i]);
            entity_keys[i] = cpec_strdup (one);
        }
        ProtobufCMessage **found = (ProtobufCMessage **)calloc (count, sizeof (void *));
        assert (found);
        rc = cpec_store_get_many (self->store, entity_keys, count,
                                  &cpec__v1__subscription__descriptor, found, call->status);
        response->subscriptions =
            (Cpec__V1__Subscription **)cpec_realloc (NULL, count * sizeof (void *));
        for (size_t i = 0; i < count; i++) {
            if (rc == CPEC_OK && found[i]) {
                s_hide_secret ((Cpec__V1__Subscription *)found[i]);
                response->subscriptions[response->n_subscriptions++] =
                    (Cpec__V1__Subscription *)found[i];
            } else
                cpec_pb_destroy (&found[i]);
            free ((char *)entity_keys[i]);
        }
        free (found);
        free (entity_keys);
    }
    if (rc == CPEC_OK && more && count)
        response->next_cursor = cpec_strdup (ids[count - 1]);
    cpec_store_strings_destroy (&ids);
    return rc;
}

//  True when field is in the mask (an empty mask names every field).
static bool
s_masked (char **mask, size_t count, const char *field)
{
    if (count == 0)
        return true;
    for (size_t i = 0; i < count; i++)
        if (strcmp (mask[i], field) == 0)
            return true;
    return false;
}

static const char *s_updatable[] = {
    "owner",    "channel", "url",          "secret",   "email",  "event_types", "provinces",
    "zone_ids", "agency",  "min_severity", "language", "digest", "active",      NULL};

static int
s_update (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__UpdateSubscriptionRequest *request =
        (const Cpec__V1__UpdateSubscriptionRequest *)input;
    if (!request->subscription)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "subscription: required");
    for (size_t i = 0; i < request->n_update_mask; i++) {
        bool known = false;
        for (const char **field = s_updatable; *field; field++)
            known = known || strcmp (*field, request->update_mask[i]) == 0;
        if (!known)
            return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                    "update_mask[%zu]: \"%.64s\" is not a field that can change", i,
                                    request->update_mask[i]);
    }
    Cpec__V1__Subscription *before = NULL;
    int rc = s_load_mine (self, call, request->subscription->id, &before);
    if (rc != CPEC_OK)
        return rc;
    uint32_t expected = request->expected_version ? request->expected_version : before->version;
    Cpec__V1__Subscription *after = (Cpec__V1__Subscription *)cpec_pb_dup (&before->base);
    Cpec__V1__Subscription *given =
        (Cpec__V1__Subscription *)cpec_pb_dup (&request->subscription->base);
    for (const char **field = s_updatable; *field; field++) {
        bool secret_kept = strcmp (*field, "secret") == 0 && !*given->secret;
        if (s_masked (request->update_mask, request->n_update_mask, *field) && !secret_kept)
            cpec_pb_swap_field (&after->base, &given->base, *field);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&given);
    if (!*after->owner)
        cpec_pb_string_set (&after->owner, before->owner);
    if (!s_admin (call) && strcmp (after->owner, before->owner) != 0)
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "owner: only an administrator gives a subscription to another "
                              "principal");
    if (rc == CPEC_OK)
        rc = notify_validate (after, &self->config, call->status);
    if (rc == CPEC_OK && !*after->language)
        cpec_pb_string_set (&after->language, "en");
    if (rc == CPEC_OK && after->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK &&
        !*after->secret)
        s_secret_new (&after->secret);
    if (rc == CPEC_OK) {
        after->has_secret = *after->secret != 0;
        after->version = expected + 1;
        cpec_handler_audit_set (&after->updated, cpec_now_ms (), cpec_handler_subject (call));
        ProtobufCMessage *replayed = NULL;
        rc = s_write (self, call, after, expected, before, &replayed);
        if (rc == CPEC_OK && replayed) {
            cpec_pb_destroy ((ProtobufCMessage **)&after);
            after = (Cpec__V1__Subscription *)replayed;
        }
    }
    if (rc == CPEC_OK) {
        s_hide_secret (after);
        cpec_pb_move (output, (ProtobufCMessage **)&after);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&after);
    cpec_pb_destroy ((ProtobufCMessage **)&before);
    return rc;
}

//  Delete: the entity and its index entries, its queue, waiting digest,
//  history, dead letters and live feed (their records expire within a day),
//  the revision bumped; once per request id. A subscription made later with
//  the same id starts afresh.
static const char s_delete_lua[] =
    "local seen = redis.call('GET', KEYS[1])\n"
    "if seen then return {0, seen} end\n"
    "local v = tonumber(redis.call('HGET', KEYS[2], 'v'))\n"
    "if not v then return redis.error_reply('NOT_FOUND ' .. KEYS[2] .. ' not found') end\n"
    "if ARGV[1] ~= '0' and tonumber(ARGV[1]) ~= v then\n"
    "  return redis.error_reply('ABORTED version mismatch for ' .. KEYS[2]) end\n"
    "redis.call('DEL', KEYS[2])\n"
    "redis.call('SREM', KEYS[3], ARGV[2])\n"
    "redis.call('SREM', KEYS[4], ARGV[2])\n"
    "redis.call('INCRBYFLOAT', KEYS[5], 1)\n"
    "redis.call('ZREM', KEYS[6], ARGV[2])\n"
    "local prefix = 'cpec:ntf:'\n"
    "for _, kind in ipairs({'q:', 'digest:'}) do\n"
    "  for _, id in ipairs(redis.call('LRANGE', prefix .. kind .. ARGV[2], 0, -1)) do\n"
    "    redis.call('EXPIRE', prefix .. 'dlv:' .. id, 86400) end\n"
    "  redis.call('DEL', prefix .. kind .. ARGV[2]) end\n"
    "for _, id in ipairs(redis.call('ZRANGE', prefix .. 'dlq:' .. ARGV[2], 0, -1)) do\n"
    "  redis.call('ZREM', prefix .. 'dlq', id)\n"
    "  redis.call('EXPIRE', prefix .. 'dlv:' .. id, 86400) end\n"
    "redis.call('DEL', prefix .. 'dlq:' .. ARGV[2], prefix .. 'hist:' .. ARGV[2],\n"
    "  prefix .. 'live:' .. ARGV[2])\n"
    "redis.call('SET', KEYS[1], ARGV[3], 'EX', 86400)\n"
    "return {1, ''}\n";

static int
s_delete (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__DeleteSubscriptionRequest *request =
        (const Cpec__V1__DeleteSubscriptionRequest *)input;
    if (!call->request_id || !*call->request_id)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "request id: required");
    Cpec__V1__Subscription *subscription = NULL;
    int rc = s_load_mine (self, call, request->id, &subscription);
    if (rc == CPEC_NOT_FOUND) {
        //  A retry of a Delete that went through gets the first answer
        ProtobufCMessage *first = NULL;
        cpec_status_t probe;
        if (cpec_store_replayed (self->store, call->request_id, &cpec__v1__subscription__descriptor,
                                 &first, &probe) == CPEC_OK &&
            first) {
            cpec_status_clear (call->status);
            cpec_pb_move (output, &first);
            return CPEC_OK;
        }
    }
    if (rc != CPEC_OK)
        return rc;
    s_hide_secret (subscription);
    char request_key[NOTIFY_KEY_MAX], key[NOTIFY_KEY_MAX], owner_key[NOTIFY_KEY_MAX];
    snprintf (request_key, sizeof (request_key), "cpec:req:%s", call->request_id);
    notify_sub_key (key, sizeof (key), subscription->id);
    snprintf (owner_key, sizeof (owner_key), NOTIFY_PREFIX "owner:%s", subscription->owner);
    char expected[16];
    snprintf (expected, sizeof (expected), "%u", request->expected_version);
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (&subscription->base, &size);
    const char *argv[10] = {"6",
                            request_key,
                            key,
                            NOTIFY_SUBS_KEY,
                            owner_key,
                            NOTIFY_REV_KEY,
                            NOTIFY_DIGESTS_KEY,
                            expected,
                            subscription->id,
                            (const char *)packed};
    size_t lengths[10];
    for (int i = 0; i < 9; i++)
        lengths[i] = strlen (argv[i]);
    lengths[9] = size;
    static char sha[41] = "";
    redisReply *reply =
        cpec_store_script (self->store, s_delete_lua, sha, 10, argv, lengths, call->status);
    free (packed);
    if (!reply)
        rc = call->status->code; //  the script's refusals carry their code
    if (rc == CPEC_NOT_FOUND)
        rc = cpec_status_set (call->status, CPEC_NOT_FOUND, "subscription %s not found",
                              subscription->id);
    if (rc == CPEC_ABORTED)
        rc = cpec_status_set (call->status, CPEC_ABORTED,
                              "subscription %s is not at version %u; read it again and retry",
                              subscription->id, request->expected_version);
    if (reply)
        freeReplyObject (reply);
    if (rc == CPEC_OK) {
        cpec_log_info (call->request_id, "subscription %s deleted", subscription->id);
        cpec_pb_move (output, (ProtobufCMessage **)&subscription);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&subscription);
    return rc;
}

//  --------------------------------------------------------------------------
//  Test

//  Keeps a delivery record made outside the engine (Test) for ListDeliveries.
static void
s_keep_delivery (notify_t *self, const Cpec__V1__Delivery *delivery)
{
    char key[NOTIFY_KEY_MAX], hist[NOTIFY_KEY_MAX], ttl[32], now[32];
    notify_delivery_key (key, sizeof (key), delivery->id);
    snprintf (hist, sizeof (hist), NOTIFY_PREFIX "hist:%s", delivery->subscription_id);
    snprintf (ttl, sizeof (ttl), "%lld", (long long)self->config.delivered_ttl_s);
    snprintf (now, sizeof (now), "%lld", (long long)cpec_now_ms ());
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (&delivery->base, &size);
    const char *set[7] = {"HSET", key, "v", "1", "pb", (const char *)packed, NULL};
    size_t set_lengths[6] = {4, strlen (key), 1, 1, 2, size};
    cpec_status_t status;
    redisReply *reply = cpec_store_command (self->store, 6, set, set_lengths, &status);
    if (reply)
        freeReplyObject (reply);
    const char *expire[3] = {"EXPIRE", key, ttl};
    if ((reply = cpec_store_command (self->store, 3, expire, NULL, &status)))
        freeReplyObject (reply);
    const char *add[4] = {"ZADD", hist, now, delivery->id};
    if ((reply = cpec_store_command (self->store, 4, add, NULL, &status)))
        freeReplyObject (reply);
    free (packed);
}

static int
s_test (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__TestSubscriptionRequest *request =
        (const Cpec__V1__TestSubscriptionRequest *)input;
    Cpec__V1__TestSubscriptionResponse *response = (Cpec__V1__TestSubscriptionResponse *)output;
    Cpec__V1__Subscription *subscription = NULL;
    int rc = s_load_mine (self, call, request->id, &subscription);
    if (rc != CPEC_OK)
        return rc;
    int64_t now = cpec_now_ms ();
    Cpec__V1__Event *event =
        cpec_handler_event_new (NOTIFY_TEST_TYPE, "", "", call, NULL, NULL, now);
    Cpec__V1__Delivery *delivery =
        (Cpec__V1__Delivery *)cpec_pb_new (&cpec__v1__delivery__descriptor);
    char id[37];
    notify_delivery_id (event->id, subscription->id, id);
    cpec_pb_string_set (&delivery->id, id);
    cpec_pb_string_set (&delivery->subscription_id, subscription->id);
    cpec_pb_string_set (&delivery->event_id, event->id);
    cpec_pb_string_set (&delivery->event_type, NOTIFY_TEST_TYPE);
    delivery->created_at = cpec_pb_timestamp_new (now);
    delivery->event = event;
    notify_result_t result = {.outcome = NOTIFY_DELIVERED};
    if (subscription->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__LIVE) {
        char key[NOTIFY_KEY_MAX];
        snprintf (key, sizeof (key), NOTIFY_PREFIX "live:%s", subscription->id);
        size_t size = 0;
        uint8_t *packed = cpec_pb_pack (&delivery->base, &size);
        const char *argv[9] = {"XADD", key, "MAXLEN", "~", "10000", "*", "d", id, "pb"};
        const char *full[10];
        size_t lengths[10];
        for (int i = 0; i < 9; i++) {
            full[i] = argv[i];
            lengths[i] = strlen (argv[i]);
        }
        full[9] = (const char *)packed;
        lengths[9] = size;
        redisReply *reply = cpec_store_command (self->store, 10, full, lengths, call->status);
        free (packed);
        if (!reply)
            rc = call->status->code;
        else
            freeReplyObject (reply);
    } else {
        //  Within the broker's patience: the worker serves nothing else
        //  meanwhile, and 3 missed heartbeats would drop it
        notify_config_t config = self->config;
        if (config.http_timeout_ms > S_TEST_TIMEOUT_MS)
            config.http_timeout_ms = S_TEST_TIMEOUT_MS;
        notify_send_now (&config, subscription, delivery, &result);
    }
    if (rc == CPEC_OK) {
        notify_delivery_record (delivery, &result,
                                result.outcome == NOTIFY_DELIVERED ? NOTIFY_DELIVERED : NOTIFY_DEAD,
                                cpec_now_ms (), 0, "test");
        s_keep_delivery (self, delivery);
        response->delivered = result.outcome == NOTIFY_DELIVERED;
        response->delivery = delivery;
        delivery = NULL;
    }
    cpec_pb_destroy ((ProtobufCMessage **)&delivery);
    cpec_pb_destroy ((ProtobufCMessage **)&subscription);
    return rc;
}

//  --------------------------------------------------------------------------
//  Deliveries and dead letters

//  Reads the deliveries of a sorted set, newest first, from offset cursor;
//  those of status (0: any) into the response.
static int
s_deliveries_page (notify_t *self, cpec_call_t *call, const char *zset, const char *cursor,
                   uint32_t page_size, Cpec__V1__Delivery__Status status,
                   Cpec__V1__ListDeliveriesResponse *response)
{
    long offset = cursor && *cursor ? strtol (cursor, NULL, 10) : 0;
    if (offset < 0)
        offset = 0;
    uint32_t page = s_page (page_size);
    char start[32], stop[32];
    snprintf (start, sizeof (start), "%ld", offset);
    snprintf (stop, sizeof (stop), "%ld", offset + (long)page - 1);
    const char *argv[4] = {"ZREVRANGE", zset, start, stop};
    redisReply *reply = cpec_store_command (self->store, 4, argv, NULL, call->status);
    if (!reply)
        return call->status->code;
    size_t count = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    const char **keys = (const char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        char key[NOTIFY_KEY_MAX];
        notify_delivery_key (key, sizeof (key), reply->element[i]->str);
        keys[i] = cpec_strdup (key);
    }
    freeReplyObject (reply);
    ProtobufCMessage **found = (ProtobufCMessage **)calloc (count + 1, sizeof (void *));
    assert (found);
    int rc = cpec_store_get_many (self->store, keys, count, &cpec__v1__delivery__descriptor, found,
                                  call->status);
    response->deliveries =
        (Cpec__V1__Delivery **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
    //  Up to half the reply limit; the next page starts at the first left out
    size_t bytes = 0, used = 0, limit = self->page_bytes ? self->page_bytes / 2 : SIZE_MAX;
    for (size_t i = 0; i < count; i++) {
        Cpec__V1__Delivery *one = (Cpec__V1__Delivery *)found[i];
        size_t size = one ? protobuf_c_message_get_packed_size (&one->base) : 0;
        bool room = used == i && (bytes + size <= limit || response->n_deliveries == 0);
        if (room)
            used = i + 1;
        if (rc == CPEC_OK && one && room && (!status || one->status == status)) {
            bytes += size;
            response->deliveries[response->n_deliveries++] = one;
        } else
            cpec_pb_destroy (&found[i]);
        free ((char *)keys[i]);
    }
    free (found);
    free (keys);
    if (rc == CPEC_OK && (count == page || used < count)) {
        char next[32];
        snprintf (next, sizeof (next), "%ld", offset + (long)used);
        response->next_cursor = cpec_strdup (next);
    }
    return rc;
}

static int
s_list_deliveries (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                   ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__ListDeliveriesRequest *request = (const Cpec__V1__ListDeliveriesRequest *)input;
    Cpec__V1__Subscription *subscription = NULL;
    int rc = s_load_mine (self, call, request->subscription_id, &subscription);
    if (rc == CPEC_OK) {
        char key[NOTIFY_KEY_MAX];
        snprintf (key, sizeof (key), NOTIFY_PREFIX "hist:%s", subscription->id);
        rc = s_deliveries_page (self, call, key, request->cursor, request->page_size,
                                request->status, (Cpec__V1__ListDeliveriesResponse *)output);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&subscription);
    return rc;
}

static int
s_list_dead_letters (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                     ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__ListDeadLettersRequest *request =
        (const Cpec__V1__ListDeadLettersRequest *)input;
    char key[NOTIFY_KEY_MAX];
    if (*request->subscription_id) {
        Cpec__V1__Subscription *subscription = NULL;
        int rc = s_load_mine (self, call, request->subscription_id, &subscription);
        cpec_pb_destroy ((ProtobufCMessage **)&subscription);
        if (rc != CPEC_OK)
            return rc;
        snprintf (key, sizeof (key), NOTIFY_PREFIX "dlq:%s", request->subscription_id);
    } else if (s_admin (call))
        snprintf (key, sizeof (key), "%s", NOTIFY_DLQ_KEY);
    else
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "subscription_id: required unless the caller is an administrator");
    return s_deliveries_page (self, call, key, request->cursor, request->page_size, 0,
                              (Cpec__V1__ListDeliveriesResponse *)output);
}

//  The members of a sorted set (at most S_REPLAY_MAX), malloc'd.
static char **
s_zset_members (notify_t *self, const char *key, size_t *count, cpec_status_t *status)
{
    char stop[32];
    snprintf (stop, sizeof (stop), "%d", S_REPLAY_MAX - 1);
    const char *argv[4] = {"ZRANGE", key, "0", stop};
    redisReply *reply = cpec_store_command (self->store, 4, argv, NULL, status);
    *count = 0;
    if (!reply)
        return NULL;
    char **members = (char **)cpec_realloc (NULL, (reply->elements + 1) * sizeof (char *));
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        members[(*count)++] = cpec_strdup (reply->element[i]->str);
    freeReplyObject (reply);
    return members;
}

static int
s_replay (void *state, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__ReplayDeadLettersRequest *request =
        (const Cpec__V1__ReplayDeadLettersRequest *)input;
    Cpec__V1__ReplayDeadLettersResponse *response = (Cpec__V1__ReplayDeadLettersResponse *)output;
    //  Which dead letters: one (a delivery id), a subscription's, or all
    char **ids = NULL;
    size_t count = 0;
    int rc = CPEC_OK;
    char key[NOTIFY_KEY_MAX];
    const char *id = request->id;
    Cpec__V1__Delivery *one = NULL;
    if (*id) {
        notify_delivery_key (key, sizeof (key), id);
        rc = cpec_store_get (self->store, key, &cpec__v1__delivery__descriptor,
                             (ProtobufCMessage **)&one, NULL, call->status);
        if (rc == CPEC_OK) {
            ids = (char **)cpec_realloc (NULL, sizeof (char *));
            ids[count++] = cpec_strdup (id);
        } else if (rc == CPEC_NOT_FOUND) {
            Cpec__V1__Subscription *subscription = NULL;
            cpec_status_clear (call->status);
            rc = s_load_mine (self, call, id, &subscription);
            if (rc == CPEC_NOT_FOUND)
                rc = cpec_status_set (call->status, CPEC_NOT_FOUND,
                                      "%s is neither a dead letter nor a subscription", id);
            cpec_pb_destroy ((ProtobufCMessage **)&subscription);
            snprintf (key, sizeof (key), NOTIFY_PREFIX "dlq:%s", id);
            if (rc == CPEC_OK)
                ids = s_zset_members (self, key, &count, call->status);
        }
    } else if (s_admin (call))
        ids = s_zset_members (self, NOTIFY_DLQ_KEY, &count, call->status);
    else
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "id: required unless the caller is an administrator");
    cpec_pb_destroy ((ProtobufCMessage **)&one);
    if (rc == CPEC_OK && !ids)
        rc = call->status->code;
    //  The records, as replayed
    const char *fixed[4] = {"3", NOTIFY_DLQ_KEY, NOTIFY_READY_KEY, NOTIFY_LEASES_KEY};
    size_t argc = 5 + 3 * count;
    const char **argv = (const char **)cpec_realloc (NULL, argc * sizeof (char *));
    size_t *lengths = (size_t *)cpec_realloc (NULL, argc * sizeof (size_t));
    uint8_t **packed = (uint8_t **)calloc (count + 1, sizeof (uint8_t *));
    assert (packed);
    char now_text[32];
    int64_t now = cpec_now_ms ();
    snprintf (now_text, sizeof (now_text), "%lld", (long long)now);
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        argv[n++] = fixed[i];
    argv[n++] = now_text;
    for (size_t i = 0; rc == CPEC_OK && i < count; i++) {
        Cpec__V1__Delivery *delivery = NULL;
        notify_delivery_key (key, sizeof (key), ids[i]);
        if (cpec_store_get (self->store, key, &cpec__v1__delivery__descriptor,
                            (ProtobufCMessage **)&delivery, NULL, call->status) != CPEC_OK)
            continue;
        Cpec__V1__Subscription *subscription = NULL;
        if (s_load_mine (self, call, delivery->subscription_id, &subscription) != CPEC_OK ||
            delivery->status != CPEC__V1__DELIVERY__STATUS__DEAD) {
            cpec_pb_destroy ((ProtobufCMessage **)&delivery);
            cpec_pb_destroy ((ProtobufCMessage **)&subscription);
            if (*id && count == 1)
                rc = call->status->code ? call->status->code
                                        : cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                                                           "delivery %s is not a dead letter", id);
            continue;
        }
        cpec_pb_destroy ((ProtobufCMessage **)&subscription);
        delivery->status = CPEC__V1__DELIVERY__STATUS__PENDING;
        delivery->attempts = 0;
        delivery->replays++;
        cpec_pb_destroy ((ProtobufCMessage **)&delivery->created_at);
        cpec_pb_destroy ((ProtobufCMessage **)&delivery->finished_at);
        cpec_pb_destroy ((ProtobufCMessage **)&delivery->next_attempt_at);
        delivery->created_at = cpec_pb_timestamp_new (now);
        argv[n] = delivery->subscription_id;
        lengths[n] = strlen (delivery->subscription_id);
        argv[n + 1] = ids[i];
        lengths[n + 1] = strlen (ids[i]);
        size_t size = 0;
        packed[i] = cpec_pb_pack (&delivery->base, &size);
        argv[n + 2] = (const char *)packed[i];
        lengths[n + 2] = size;
        //  the subscription id must outlive the delivery: keep a copy
        argv[n] = (const char *)(packed[i] ? cpec_strdup (delivery->subscription_id) : NULL);
        n += 3;
        cpec_pb_destroy ((ProtobufCMessage **)&delivery);
    }
    for (size_t i = 0; i < 5; i++)
        if (i < 4)
            lengths[i] = strlen (argv[i]);
    lengths[4] = strlen (now_text);
    if (rc == CPEC_OK && n > 5) {
        static char sha[41] = "";
        redisReply *reply = cpec_store_script (self->store, cpec_lua_notify_replay, sha, (int)n,
                                               argv, lengths, call->status);
        if (!reply)
            rc = call->status->code;
        else {
            for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
                response->delivery_ids = (char **)cpec_realloc (
                    response->delivery_ids, (response->n_delivery_ids + 1) * sizeof (char *));
                response->delivery_ids[response->n_delivery_ids++] =
                    cpec_strdup (reply->element[i]->str);
            }
            response->replayed = (uint32_t)response->n_delivery_ids;
            freeReplyObject (reply);
        }
    }
    for (size_t i = 5; i < n; i += 3)
        free ((char *)argv[i]);
    for (size_t i = 0; i < count; i++) {
        free (packed[i]);
        free (ids[i]);
    }
    free (packed);
    free (ids);
    free (argv);
    free (lengths);
    if (rc == CPEC_OK)
        cpec_log_info (call->request_id, "replayed %u dead letters", response->replayed);
    return rc;
}

//  --------------------------------------------------------------------------
//  ReadLive

//  A stream position: digits, optionally a hyphen and digits, each part a
//  64-bit unsigned number.
static bool
s_position_valid (const char *text)
{
    const char *part = text;
    for (int parts = 0; parts < 2; parts++) {
        size_t digits = strspn (part, "0123456789");
        if (digits == 0 || digits > 20)
            return false;
        errno = 0;
        strtoull (part, NULL, 10);
        if (errno == ERANGE)
            return false;
        part += digits;
        if (*part == 0)
            return true;
        if (*part != '-' || parts == 1)
            return false;
        part++;
    }
    return false;
}

static int
s_read_live (void *state, cpec_call_t *call, const ProtobufCMessage *input,
             ProtobufCMessage *output)
{
    notify_t *self = (notify_t *)state;
    const Cpec__V1__ReadLiveRequest *request = (const Cpec__V1__ReadLiveRequest *)input;
    Cpec__V1__ReadLiveResponse *response = (Cpec__V1__ReadLiveResponse *)output;
    Cpec__V1__Subscription *subscription = NULL;
    int rc = s_load_mine (self, call, request->subscription_id, &subscription);
    if (rc == CPEC_OK && subscription->channel != CPEC__V1__SUBSCRIPTION__CHANNEL__LIVE)
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "subscription %s is not a LIVE subscription", subscription->id);
    cpec_pb_destroy ((ProtobufCMessage **)&subscription);
    if (rc != CPEC_OK)
        return rc;
    const char *after = request->after;
    if (*after && !s_position_valid (after))
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "after: \"%.40s\" is not a position (MS-SEQ, as answered in next)",
                                cpec_check_utf8_length (after) >= 0 ? after : "?");
    uint32_t count = request->count == 0           ? 100
                     : request->count > S_LIVE_MAX ? S_LIVE_MAX
                                                   : request->count;
    char key[NOTIFY_KEY_MAX], start[64], count_text[16];
    snprintf (key, sizeof (key), NOTIFY_PREFIX "live:%s", request->subscription_id);
    snprintf (start, sizeof (start), "%s%s", *after ? "(" : "", *after ? after : "-");
    snprintf (count_text, sizeof (count_text), "%u", count);
    const char *argv[6] = {"XRANGE", key, start, "+", "COUNT", count_text};
    redisReply *reply = cpec_store_command (self->store, 6, argv, NULL, call->status);
    if (!reply)
        return call->status->code;
    response->entries =
        (Cpec__V1__LiveEntry **)cpec_realloc (NULL, (reply->elements + 1) * sizeof (void *));
    for (size_t i = 0; reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        const redisReply *entry = reply->element[i];
        Cpec__V1__LiveEntry *live =
            (Cpec__V1__LiveEntry *)cpec_pb_new (&cpec__v1__live_entry__descriptor);
        cpec_pb_string_set (&live->position, entry->element[0]->str);
        const redisReply *fields = entry->element[1];
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
            const redisReply *value = fields->element[f + 1];
            if (strcmp (fields->element[f]->str, "d") == 0)
                cpec_pb_string_set (&live->delivery_id, value->str);
            else if (strcmp (fields->element[f]->str, "pb") == 0) {
                Cpec__V1__Delivery *delivery = (Cpec__V1__Delivery *)cpec_pb_unpack (
                    &cpec__v1__delivery__descriptor, (const uint8_t *)value->str, value->len);
                if (delivery) {
                    live->event = delivery->event;
                    delivery->event = NULL;
                    cpec_pb_destroy ((ProtobufCMessage **)&delivery);
                }
            }
        }
        response->entries[response->n_entries++] = live;
        cpec_pb_string_set (&response->next, entry->element[0]->str);
    }
    if (response->n_entries == 0)
        cpec_pb_string_set (&response->next, after);
    freeReplyObject (reply);
    return CPEC_OK;
}

const cpec_method_t notify_methods[] = {{"Create", s_create},
                                        {"Get", s_get},
                                        {"List", s_list},
                                        {"Update", s_update},
                                        {"Delete", s_delete},
                                        {"Test", s_test},
                                        {"ListDeliveries", s_list_deliveries},
                                        {"ListDeadLetters", s_list_dead_letters},
                                        {"ReplayDeadLetters", s_replay},
                                        {"ReadLive", s_read_live},
                                        {NULL, NULL}};
