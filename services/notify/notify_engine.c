/*  notify_engine - the delivery engine: a czmq actor with its own Redis
    connection, a SUB socket on the bus (only to wake up when events are
    published: what it delivers is read from the stream) and a libcurl multi
    handle with one attempt in flight per subscription it works. See
    notify.h for the design; each step of the loop is a small function:

      s_consume     XREADGROUP new events (and, now and then, XAUTOCLAIM
                    those a dead replica left pending), match them to the
                    subscriptions, fanout.lua: deliveries recorded, events
                    acknowledged
      s_claim       claim.lua: subscriptions whose queues are ready
      s_start       for each held subscription with nothing in flight: the
                    head of its queue, tried through notify_send
      s_complete    an attempt finished: finish.lua with its outcome
      s_renew       claim.lua renew: the leases held
      s_digests     digest.lua: the digests whose time came
*/
#include <assert.h>
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_log.h"
#include "cpec_pb.h"
#include "notify.h"

extern const char cpec_lua_notify_fanout[];
extern const char cpec_lua_notify_claim[];
extern const char cpec_lua_notify_finish[];
extern const char cpec_lua_notify_digest[];

#define S_READ_COUNT 256 //  events read per XREADGROUP
#define S_PREFETCH   32  //  queue entries read at once per subscription
#define S_DIGEST_MAX 500 //  events in one digest
#define S_POLL_MS    50  //  longest sleep
#define S_CONSUME_MS 250 //  the stream is read at least this often
#define S_CLAIM_MS                                                                                 \
    25 //  ready queues are looked for this often (by every
       //  replica alike: each takes its share)
#define S_DIGEST_CHECK_MS 1000
#define S_WOKEN_CLAIM_MS  3    //  a replica woken by the bus claims this much later
#define S_BODIES          4096 //  webhook bodies kept, by event
#define S_ALIVE_MS        1000 //  a replica says it is alive this often (claim.lua)
#define S_SUBS_CHECK_MS   100  //  subscriptions changed are seen within this
#define S_GATHER_MS       4    //  longest wait for more attempts to finish

typedef struct
{
    char *id;                          //  subscription id
    char **pending;                    //  prefetched delivery ids
    Cpec__V1__Delivery **records;      //  ... their records (NULL: taken or missing)
    size_t pending_count, pending_pos; //  ... and the next to try
    notify_send_t *send;               //  the attempt in flight, or NULL
    Cpec__V1__Delivery *delivery;      //  what it sends
    bool lost;                         //  not to be worked any more (lease lost...)
    bool finishing;                    //  its outcome waits in the finish batch
} s_held_t;

//  An entry of the finish batch.
typedef struct
{
    s_held_t *held;
    int kind; //  notify_outcome_t of an attempt, -1: none
} s_finishing_t;

//  Arguments of a command being built, owning their copies.
typedef struct
{
    const char **argv;
    size_t *lengths;
    char **owned;
    int argc, owned_count;
} s_args_t;

typedef struct
{
    notify_config_t config;
    char *instance;          //  consumer name in the group
    cpec_metrics_t *metrics; //  borrowed, thread safe
    cpec_store_t *store;
    zsock_t *bus;
    CURLM *multi;
    char token[96];
    bool stopping;
    //  the subscriptions, as of revision rev
    Cpec__V1__Subscription **subs;
    size_t sub_count;
    char *rev;
    zhashx_t *held;          //  subscription id -> s_held_t
    bool fanning;            //  holds the fan-out lock (since the last check)
    int64_t next_subs_check; //  monotonic ms
    int64_t next_alive;      //  monotonic ms: when to say it is alive again
    zhashx_t *bodies;        //  event id -> webhook body (owned strings)
    int64_t next_consume, next_claim, next_lock, next_renew, next_digest;
    char sha_fanout[41], sha_claim[41], sha_finish[41], sha_digest[41];
    s_args_t finish_args;     //  the finish.lua batch being built
    s_finishing_t *finishing; //  ... its entries
    size_t finishing_count;
} s_engine_t;

struct _notify_engine_t
{
    zactor_t *actor;    //  runs s_engine_run
    s_engine_t *engine; //  its state, freed once the actor has finished
};

//  --------------------------------------------------------------------------
//  Small helpers

//  Drops the prefetched ids and records (the queue is read again).
static void
s_records_clear (s_held_t *held)
{
    for (size_t i = 0; i < held->pending_count; i++) {
        free (held->pending[i]);
        if (held->records)
            cpec_pb_destroy ((ProtobufCMessage **)&held->records[i]);
    }
    free (held->pending);
    free (held->records);
    held->pending = NULL;
    held->records = NULL;
    held->pending_count = held->pending_pos = 0;
}

static void
s_body_free (void **item)
{
    free (*item);
    *item = NULL;
}

static void
s_held_destroy (void **item)
{
    s_held_t *held = (s_held_t *)*item;
    if (!held)
        return;
    s_records_clear (held);
    notify_send_destroy (&held->send);
    cpec_pb_destroy ((ProtobufCMessage **)&held->delivery);
    free (held->id);
    free (held);
    *item = NULL;
}

static void
s_count (s_engine_t *self, const char *name, const char *help, double value)
{
    if (self->metrics)
        cpec_metrics_count (self->metrics, name, help, value);
}

static redisReply *
s_command (s_engine_t *self, int argc, const char **argv, const size_t *lengths)
{
    cpec_status_t status;
    redisReply *reply = cpec_store_command (self->store, argc, argv, lengths, &status);
    if (!reply)
        cpec_log_warn (NULL, "notify engine: %s: %s", argv[0], status.message);
    return reply;
}

static redisReply *
s_script (s_engine_t *self, const char *script, char *sha, int argc, const char **argv,
          const size_t *lengths)
{
    cpec_status_t status;
    redisReply *reply = cpec_store_script (self->store, script, sha, argc, argv, lengths, &status);
    if (!reply)
        cpec_log_warn (NULL, "notify engine: script: %s", status.message);
    return reply;
}

static void
s_arg (s_args_t *self, const void *data, size_t size)
{
    self->argv = (const char **)cpec_realloc (self->argv, (self->argc + 1) * sizeof (char *));
    self->lengths = (size_t *)cpec_realloc (self->lengths, (self->argc + 1) * sizeof (size_t));
    self->owned = (char **)cpec_realloc (self->owned, (self->owned_count + 1) * sizeof (char *));
    char *copy = (char *)cpec_memdup (data, size);
    self->owned[self->owned_count++] = copy;
    self->argv[self->argc] = copy;
    self->lengths[self->argc++] = size;
}

static void
s_argf (s_args_t *self, const char *format, ...)
{
    char buffer[NOTIFY_KEY_MAX];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (buffer, sizeof (buffer), format, args);
    va_end (args);
    s_arg (self, buffer, n < 0 ? 0 : (size_t)n < sizeof (buffer) ? (size_t)n : sizeof (buffer) - 1);
}

static void
s_arg_message (s_args_t *self, const ProtobufCMessage *message)
{
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (message, &size);
    s_arg (self, packed, size);
    free (packed);
}

static void
s_args_fini (s_args_t *self)
{
    for (int i = 0; i < self->owned_count; i++)
        free (self->owned[i]);
    free (self->owned);
    free (self->argv);
    free (self->lengths);
    *self = (s_args_t){0};
}

//  --------------------------------------------------------------------------
//  The subscriptions, reloaded when their revision moves

static void
s_subs_free (s_engine_t *self)
{
    for (size_t i = 0; i < self->sub_count; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&self->subs[i]);
    free (self->subs);
    self->subs = NULL;
    self->sub_count = 0;
}

static const Cpec__V1__Subscription *
s_sub_find (s_engine_t *self, const char *id)
{
    for (size_t i = 0; i < self->sub_count; i++)
        if (strcmp (self->subs[i]->id, id) == 0)
            return self->subs[i];
    return NULL;
}

//  0 when the subscriptions are current, -1 when Redis failed.
static int
s_subs_refresh (s_engine_t *self)
{
    const char *get[2] = {"GET", NOTIFY_REV_KEY};
    redisReply *reply = s_command (self, 2, get, NULL);
    if (!reply)
        return -1;
    char rev[64] = "";
    if (reply->type == REDIS_REPLY_STRING)
        snprintf (rev, sizeof (rev), "%s", reply->str);
    freeReplyObject (reply);
    if (self->rev && strcmp (self->rev, rev) == 0)
        return 0;
    const char *members[2] = {"SMEMBERS", NOTIFY_SUBS_KEY};
    reply = s_command (self, 2, members, NULL);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject (reply);
        return -1;
    }
    size_t count = reply->elements;
    const char **keys = (const char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        char key[NOTIFY_KEY_MAX];
        notify_sub_key (key, sizeof (key), reply->element[i]->str);
        keys[i] = cpec_strdup (key);
    }
    freeReplyObject (reply);
    ProtobufCMessage **found = (ProtobufCMessage **)calloc (count + 1, sizeof (void *));
    assert (found);
    cpec_status_t status;
    int rc = cpec_store_get_many (self->store, keys, count, &cpec__v1__subscription__descriptor,
                                  found, &status);
    for (size_t i = 0; i < count; i++)
        free ((char *)keys[i]);
    free (keys);
    if (rc != CPEC_OK) {
        free (found);
        cpec_log_warn (NULL, "notify engine: reading subscriptions: %s", status.message);
        return -1;
    }
    s_subs_free (self);
    self->subs = (Cpec__V1__Subscription **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
    for (size_t i = 0; i < count; i++)
        if (found[i])
            self->subs[self->sub_count++] = (Cpec__V1__Subscription *)found[i];
    free (found);
    free (self->rev);
    self->rev = cpec_strdup (rev);
    return 0;
}

//  --------------------------------------------------------------------------
//  Consuming the event log

//  Milliseconds of a stream id ("1700000000000-0").
static int64_t
s_stream_ms (const char *id)
{
    return strtoll (id, NULL, 10);
}

//  How long an event is kept for its deliveries: past the age at which they
//  are given up, and past the time finished ones are listed.
static int64_t
s_event_keep_s (s_engine_t *self)
{
    int64_t age = self->config.max_age_ms / 1000 + 86400;
    return age > self->config.delivered_ttl_s ? age : self->config.delivered_ttl_s;
}

//  Fans out the entries of a stream reply (an array of [id, [field, value,
//  ...]]; a nil field list: the entry was trimmed away) and acknowledges
//  them. 0, or -1 when Redis failed (the entries stay pending).
static int
s_fanout (s_engine_t *self, const redisReply *entries)
{
    if (!entries || entries->type != REDIS_REPLY_ARRAY || entries->elements == 0)
        return 0;
    if (s_subs_refresh (self))
        return -1;
    s_args_t args = {0};
    s_argf (&args, "%d", 5);
    s_arg (&args, "cpec:events", strlen ("cpec:events"));
    s_argf (&args, "%s", NOTIFY_READY_KEY);
    s_argf (&args, "%s", NOTIFY_LEASES_KEY);
    s_argf (&args, "%s", NOTIFY_DIGESTS_KEY);
    s_argf (&args, "%s", NOTIFY_FANOUT_LOCK_KEY);
    int64_t now = cpec_now_ms ();
    s_argf (&args, "%s", self->token);
    s_argf (&args, "%s", NOTIFY_GROUP);
    s_argf (&args, "%lld", (long long)now);
    s_argf (&args, "%lld", (long long)self->config.delivered_ttl_s);
    s_argf (&args, "%lld", (long long)s_event_keep_s (self));
    s_argf (&args, "%zu", entries->elements);
    int deliveries_at = args.argc;
    s_argf (&args, "0");
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *entry = entries->element[i];
        s_arg (&args, entry->element[0]->str, entry->element[0]->len);
    }
    size_t deliveries = 0;
    int64_t digest_at =
        notify_next_digest (now, self->config.digest_hour, self->config.digest_period_ms);
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *entry = entries->element[i];
        const char *stream_id = entry->element[0]->str;
        const redisReply *fields = entry->elements > 1 ? entry->element[1] : NULL;
        const redisReply *packed = NULL;
        for (size_t f = 0; fields && fields->type == REDIS_REPLY_ARRAY && f + 1 < fields->elements;
             f += 2)
            if (strcmp (fields->element[f]->str, "pb") == 0)
                packed = fields->element[f + 1];
        if (!packed)
            continue; //  trimmed: acknowledged, nothing to deliver
        Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_unpack (
            &cpec__v1__event__descriptor, (const uint8_t *)packed->str, packed->len);
        if (!event) {
            cpec_log_error (NULL, "notify engine: event %s does not decode; skipped", stream_id);
            s_count (self, "cpec_notify_events_undecodable_total",
                     "events in the log that do not decode", 1);
            continue;
        }
        bool event_given = false;
        for (size_t s = 0; s < self->sub_count; s++) {
            const Cpec__V1__Subscription *sub = self->subs[s];
            if (!notify_matches (sub, event) ||
                (sub->created && s_stream_ms (stream_id) < cpec_pb_timestamp_ms (sub->created->at)))
                continue;
            char id[37];
            notify_delivery_id (event->id, sub->id, id);
            Cpec__V1__Delivery delivery = CPEC__V1__DELIVERY__INIT;
            Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
            created.seconds = now / 1000;
            created.nanos = (int32_t)(now % 1000) * 1000000;
            delivery.id = id;
            delivery.subscription_id = sub->id;
            delivery.event_id = event->id;
            delivery.event_type = event->type;
            delivery.stream_id = (char *)stream_id;
            delivery.created_at = &created;
            const char *mode = "q";
            delivery.status = CPEC__V1__DELIVERY__STATUS__PENDING;
            if (sub->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__LIVE) {
                mode = "live";
                delivery.status = CPEC__V1__DELIVERY__STATUS__DELIVERED;
                delivery.finished_at = &created;
            } else if (sub->digest) {
                mode = "digest";
                delivery.status = CPEC__V1__DELIVERY__STATUS__DIGESTED;
            }
            //  A live feed entry carries its event; a queued delivery refers
            //  to the event kept once for all (sent with the first)
            bool live = strcmp (mode, "live") == 0;
            delivery.event = live ? event : NULL;
            s_argf (&args, "%s", sub->id);
            s_argf (&args, "%s", id);
            s_argf (&args, "%s", mode);
            s_arg_message (&args, &delivery.base);
            s_argf (&args, "%lld", (long long)digest_at);
            s_argf (&args, "%s", event->id);
            if (!live && !event_given) {
                s_arg_message (&args, &event->base);
                event_given = true;
            } else
                s_arg (&args, "", 0);
            deliveries++;
        }
        cpec_pb_destroy ((ProtobufCMessage **)&event);
    }
    char count[32];
    snprintf (count, sizeof (count), "%zu", deliveries);
    free (args.owned[deliveries_at]);
    args.owned[deliveries_at] = cpec_strdup (count);
    args.argv[deliveries_at] = args.owned[deliveries_at];
    args.lengths[deliveries_at] = strlen (count);
    redisReply *reply = s_script (self, cpec_lua_notify_fanout, self->sha_fanout, args.argc,
                                  args.argv, args.lengths);
    int rc = reply && reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0 ? 0 : -1;
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer < 0) {
        //  Fenced off: the lock is another replica's now; the events stay
        //  pending and that replica takes them over
        cpec_log_warn (NULL, "notify engine: lost the fan-out lock");
        self->fanning = false;
    } else if (reply && reply->type == REDIS_REPLY_INTEGER) {
        s_count (self, "cpec_notify_events_total", "events read from the log and fanned out",
                 (double)entries->elements);
        s_count (self, "cpec_notify_deliveries_recorded_total", "deliveries recorded",
                 (double)reply->integer);
        if (reply->integer > 0)
            self->next_claim = 0; //  its share of the new work at once
    } else if (reply)
        cpec_log_warn (NULL, "notify engine: fanout: %s",
                       reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    if (reply)
        freeReplyObject (reply);
    s_args_fini (&args);
    return rc;
}

static void
s_group_create (s_engine_t *self)
{
    const char *argv[6] = {"XGROUP", "CREATE", "cpec:events", NOTIFY_GROUP, "$", "MKSTREAM"};
    redisReply *reply = s_command (self, 6, argv, NULL);
    if (reply)
        freeReplyObject (reply);
}

//  Takes or renews the fan-out lock (one replica fans out at a time, so that
//  each subscription's queue is in the order of the event log). True when
//  it is this replica's.
static bool
s_lock (s_engine_t *self)
{
    static const char s_lock_lua[] =
        "local held = redis.call('GET', KEYS[1])\n"
        "if held == false or held == ARGV[1] then\n"
        "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end\n"
        "return 0\n";
    static char sha[41] = "";
    char lease[32];
    snprintf (lease, sizeof (lease), "%d", self->config.claim_idle_ms);
    const char *argv[4] = {"1", NOTIFY_FANOUT_LOCK_KEY, self->token, lease};
    redisReply *reply = s_script (self, s_lock_lua, sha, 4, argv, NULL);
    bool held = reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    if (reply)
        freeReplyObject (reply);
    return held;
}

//  Takes over every event pending in the group (read by a replica that
//  held the lock before and died or stalled: its fan-out is fenced off) and
//  fans them out, oldest first. -1 when Redis failed.
static int
s_take_over (s_engine_t *self)
{
    char count[32];
    snprintf (count, sizeof (count), "%d", S_READ_COUNT);
    char start[64] = "0-0";
    while (true) {
        const char *argv[8] = {"XAUTOCLAIM", "cpec:events", NOTIFY_GROUP, self->instance,
                               "0",          start,         "COUNT",      count};
        redisReply *reply = s_command (self, 8, argv, NULL);
        if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
            //  No group (Redis started after us, or lost its data): made now
            if (reply)
                freeReplyObject (reply);
            s_group_create (self);
            return -1;
        }
        size_t taken = reply->element[1]->elements;
        if (taken) {
            cpec_log_info (NULL, "notify engine: took over %zu pending events", taken);
            s_count (self, "cpec_notify_events_taken_over_total",
                     "pending events taken over from another consumer", (double)taken);
        }
        int rc = s_fanout (self, reply->element[1]);
        snprintf (start, sizeof (start), "%s", reply->element[0]->str);
        freeReplyObject (reply);
        if (rc)
            return -1;
        if (strcmp (start, "0-0") == 0)
            return 0;
    }
}

//  Reads new events and fans them out, while this replica holds the
//  fan-out lock; true when a full batch came (more may be waiting).
static bool
s_consume (s_engine_t *self, int64_t now)
{
    if (now >= self->next_lock || !self->fanning) {
        bool was = self->fanning;
        self->fanning = s_lock (self);
        self->next_lock = now + self->config.claim_idle_ms / 3;
        if (self->fanning && !was && s_take_over (self))
            self->fanning = false; //  try again on the next round
    }
    if (!self->fanning)
        return false;
    bool more = false;
    char count[32];
    snprintf (count, sizeof (count), "%d", S_READ_COUNT);
    const char *argv[9] = {"XREADGROUP",   "GROUP",       NOTIFY_GROUP,
                           self->instance, "COUNT",       count,
                           "STREAMS",      "cpec:events", ">"};
    redisReply *reply = s_command (self, 9, argv, NULL);
    if (!reply) {
        //  No answer: the read may have happened, its events now pending
        //  here; taken over afresh once the lock is checked again. Or no
        //  group (Redis started after us, or lost its data): made now.
        self->fanning = false;
        s_group_create (self);
    } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1) {
        const redisReply *entries = reply->element[0]->element[1];
        more = entries->elements == S_READ_COUNT;
        if (s_fanout (self, entries))
            self->fanning = false; //  fenced or failed: taken over afresh
    }
    if (reply)
        freeReplyObject (reply);
    return more;
}

//  --------------------------------------------------------------------------
//  Working the queues

//  Runs claim.lua ("claim" with max, or "renew" with the held ids).
static redisReply *
s_claim_script (s_engine_t *self, const char *mode, int64_t now, int max)
{
    s_args_t args = {0};
    s_argf (&args, "4");
    s_argf (&args, "%s", NOTIFY_READY_KEY);
    s_argf (&args, "%s", NOTIFY_LEASES_KEY);
    s_argf (&args, "%s", NOTIFY_OWNERS_KEY);
    s_argf (&args, "%s", NOTIFY_REPLICAS_KEY);
    s_argf (&args, "%s", mode);
    s_argf (&args, "%lld", (long long)now);
    s_argf (&args, "%d", self->config.lease_ms);
    s_argf (&args, "%s", self->token);
    if (max > 0) {
        s_argf (&args, "%d", max);
        int64_t clock = cpec_clock_ms ();
        bool alive = clock >= self->next_alive;
        if (alive)
            self->next_alive = clock + S_ALIVE_MS;
        s_argf (&args, "%d", alive ? 1 : 0);
    } else
        for (void *held = zhashx_first (self->held); held; held = zhashx_next (self->held))
            s_argf (&args, "%s", ((s_held_t *)held)->id);
    redisReply *reply =
        s_script (self, cpec_lua_notify_claim, self->sha_claim, args.argc, args.argv, args.lengths);
    s_args_fini (&args);
    if (reply && reply->type != REDIS_REPLY_ARRAY) {
        cpec_log_warn (NULL, "notify engine: claim: %s",
                       reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
        freeReplyObject (reply);
        reply = NULL;
    }
    return reply;
}

static void
s_claim (s_engine_t *self, int64_t now)
{
    int room = self->config.concurrency - (int)zhashx_size (self->held);
    if (self->stopping || room <= 0)
        return;
    redisReply *reply = s_claim_script (self, "claim", now, room);
    if (reply && reply->elements)
        cpec_log_debug (NULL, "notify engine: claimed %zu subscriptions", reply->elements);
    for (size_t i = 0; reply && i < reply->elements; i++) {
        const char *id = reply->element[i]->str;
        if (zhashx_lookup (self->held, id))
            continue;
        s_held_t *held = (s_held_t *)calloc (1, sizeof (s_held_t));
        assert (held);
        held->id = cpec_strdup (id);
        zhashx_insert (self->held, id, held);
    }
    if (reply)
        freeReplyObject (reply);
}

static void
s_renew (s_engine_t *self, int64_t now)
{
    if (zhashx_size (self->held) == 0)
        return;
    redisReply *reply = s_claim_script (self, "renew", now, 0);
    if (!reply)
        return;
    zhashx_t *kept = zhashx_new ();
    for (size_t i = 0; i < reply->elements; i++)
        zhashx_insert (kept, reply->element[i]->str, (void *)1);
    for (void *item = zhashx_first (self->held); item; item = zhashx_next (self->held)) {
        s_held_t *held = (s_held_t *)item;
        if (!zhashx_lookup (kept, held->id) && !held->lost) {
            cpec_log_warn (NULL, "notify engine: lost the lease of subscription %s", held->id);
            held->lost = true;
        }
    }
    zhashx_destroy (&kept);
    freeReplyObject (reply);
}

//  Adds an entry to the finish.lua batch: the held subscription, the
//  outcome word, the delivery as it now stands (NULL: none) and the next
//  attempt's time. The held subscription waits for the flush.
static void
s_finish_add (s_engine_t *self, s_held_t *held, const char *outcome,
              const Cpec__V1__Delivery *delivery, int64_t next_ms, int kind)
{
    s_args_t *args = &self->finish_args;
    if (args->argc == 0) {
        s_argf (args, "4");
        s_argf (args, "%s", NOTIFY_READY_KEY);
        s_argf (args, "%s", NOTIFY_LEASES_KEY);
        s_argf (args, "%s", NOTIFY_OWNERS_KEY);
        s_argf (args, "%s", NOTIFY_DLQ_KEY);
        s_argf (args, "%lld", (long long)cpec_now_ms ());
        s_argf (args, "%d", self->config.lease_ms);
        s_argf (args, "%lld", (long long)self->config.delivered_ttl_s);
        s_argf (args, "%s", self->token);
    }
    s_argf (args, "%s", held->id);
    s_argf (args, "%s", delivery ? delivery->id : "");
    s_argf (args, "%s", outcome);
    if (delivery) {
        //  The record refers to its event (kept once for all its deliveries),
        //  but a dead letter carries it: it may outlive the event's keeping
        Cpec__V1__Delivery *record = (Cpec__V1__Delivery *)delivery;
        Cpec__V1__Event *event = record->event;
        if (kind != NOTIFY_DEAD && *record->event_id)
            record->event = NULL;
        s_arg_message (args, &record->base);
        record->event = event;
    } else
        s_arg (args, "", 0);
    s_argf (args, "%lld", (long long)next_ms);
    self->finishing = (s_finishing_t *)cpec_realloc (self->finishing, (self->finishing_count + 1) *
                                                                          sizeof (s_finishing_t));
    self->finishing[self->finishing_count++] = (s_finishing_t){.held = held, .kind = kind};
    held->finishing = true;
}

//  What a finish.lua word means for the held subscription: go on with the
//  next delivery (NEXT), read the queue again (MOVED), or let it go.
static void
s_finish_apply (s_engine_t *self, s_held_t *held, const char *word, int kind)
{
    static const char *s_metric[] = {"cpec_notify_delivered_total", "cpec_notify_retries_total",
                                     "cpec_notify_dead_letters_total"};
    bool attempt = kind >= 0;
    if (attempt && word && strcmp (word, "LOST") && strcmp (word, "MOVED"))
        s_count (self, s_metric[kind], "delivery attempts by outcome", 1);
    if (word && strcmp (word, "NEXT") == 0 && !held->lost) {
        if (attempt)
            held->pending_pos++;
    } else if (word && strcmp (word, "MOVED") == 0)
        s_records_clear (held);
    else
        //  Given up, lost or failed: the queue is no longer ours to work (a
        //  failed finish leaves the lease to lapse: the attempt is made
        //  again, with the same delivery id)
        held->lost = true;
    held->finishing = false;
    cpec_pb_destroy ((ProtobufCMessage **)&held->delivery);
}

//  Runs the batch: one finish.lua for every entry added since the last.
static void
s_finish_flush (s_engine_t *self)
{
    if (self->finishing_count == 0)
        return;
    s_args_t *args = &self->finish_args;
    redisReply *reply = s_script (self, cpec_lua_notify_finish, self->sha_finish, args->argc,
                                  args->argv, args->lengths);
    bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == self->finishing_count;
    if (reply && !ok)
        cpec_log_warn (NULL, "notify engine: finish: %s",
                       reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
    for (size_t i = 0; i < self->finishing_count; i++) {
        const char *word = ok ? reply->element[i]->str : NULL;
        s_finish_apply (self, self->finishing[i].held, word, self->finishing[i].kind);
    }
    if (reply)
        freeReplyObject (reply);
    s_args_fini (args);
    self->finishing_count = 0;
}

//  finish.lua for one held subscription now (no attempt: release, leave,
//  drop); true when it answered NEXT.
static bool
s_finish_now (s_engine_t *self, s_held_t *held, const char *outcome)
{
    s_finish_add (self, held, outcome, NULL, 0, -1);
    s_finish_flush (self);
    return !held->lost;
}

//  Gives each of records (count, NULL entries skipped) without an event of
//  its own the event it refers to, kept in cpec:ntf:evt:{id} (one read for
//  all). A record whose event is no longer kept stays without. -1 when
//  Redis failed.
static int
s_attach_events (s_engine_t *self, Cpec__V1__Delivery **records, size_t count)
{
    const char **keys = (const char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    size_t *which = (size_t *)cpec_realloc (NULL, (count + 1) * sizeof (size_t));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        Cpec__V1__Delivery *record = records[i];
        if (record && !record->event && record->n_digest_of == 0 && *record->event_id) {
            char key[NOTIFY_KEY_MAX];
            snprintf (key, sizeof (key), NOTIFY_PREFIX "evt:%s", record->event_id);
            keys[n] = cpec_strdup (key);
            which[n++] = i;
        }
    }
    ProtobufCMessage **found = (ProtobufCMessage **)calloc (n + 1, sizeof (void *));
    assert (found);
    cpec_status_t status;
    int rc =
        n ? cpec_store_get_many (self->store, keys, n, &cpec__v1__event__descriptor, found, &status)
          : CPEC_OK;
    for (size_t k = 0; k < n; k++) {
        if (rc == CPEC_OK)
            records[which[k]]->event = (Cpec__V1__Event *)found[k];
        free ((char *)keys[k]);
    }
    free (found);
    free (keys);
    free (which);
    return rc == CPEC_OK ? 0 : -1;
}

//  Reads the first ids of the held subscription's queue and their records
//  (one round trip each). -1 on failure.
static int
s_prefetch (s_engine_t *self, s_held_t *held)
{
    s_records_clear (held);
    char key[NOTIFY_KEY_MAX], last[16];
    snprintf (key, sizeof (key), NOTIFY_PREFIX "q:%s", held->id);
    snprintf (last, sizeof (last), "%d", S_PREFETCH - 1);
    const char *argv[4] = {"LRANGE", key, "0", last};
    redisReply *reply = s_command (self, 4, argv, NULL);
    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        if (reply)
            freeReplyObject (reply);
        return -1;
    }
    size_t count = reply->elements;
    held->pending = (char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    held->records = (Cpec__V1__Delivery **)calloc (count + 1, sizeof (void *));
    const char **keys = (const char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    assert (held->records);
    for (size_t i = 0; i < count; i++) {
        held->pending[i] = cpec_strdup (reply->element[i]->str);
        notify_delivery_key (key, sizeof (key), held->pending[i]);
        keys[i] = cpec_strdup (key);
    }
    held->pending_count = count;
    freeReplyObject (reply);
    cpec_status_t status;
    int rc = cpec_store_get_many (self->store, keys, count, &cpec__v1__delivery__descriptor,
                                  (ProtobufCMessage **)held->records, &status);
    if (rc == CPEC_DATA_LOSS) {
        //  A record that does not decode: read one by one, so that it alone
        //  is left without a record (and dead-lettered) and the queue goes on
        rc = CPEC_OK;
        for (size_t i = 0; rc == CPEC_OK && i < count; i++) {
            held->records[i] = NULL;
            int one = cpec_store_get (self->store, keys[i], &cpec__v1__delivery__descriptor,
                                      (ProtobufCMessage **)&held->records[i], NULL, &status);
            if (one == CPEC_DATA_LOSS || one == CPEC_NOT_FOUND)
                cpec_log_error (NULL, "notify engine: %s", status.message);
            else
                rc = one;
        }
    }
    for (size_t i = 0; i < count; i++)
        free ((char *)keys[i]);
    free (keys);
    if (rc != CPEC_OK || s_attach_events (self, held->records, count)) {
        s_records_clear (held);
        return -1;
    }
    return 0;
}

//  Loads the events a digest summarises (those still kept), into *events.
static size_t
s_digest_events (s_engine_t *self, const Cpec__V1__Delivery *delivery, Cpec__V1__Event ***events)
{
    size_t count = delivery->n_digest_of;
    const char **keys = (const char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        char key[NOTIFY_KEY_MAX];
        notify_delivery_key (key, sizeof (key), delivery->digest_of[i]);
        keys[i] = cpec_strdup (key);
    }
    ProtobufCMessage **found = (ProtobufCMessage **)calloc (count + 1, sizeof (void *));
    assert (found);
    cpec_status_t status;
    int rc = cpec_store_get_many (self->store, keys, count, &cpec__v1__delivery__descriptor, found,
                                  &status);
    if (rc == CPEC_OK)
        s_attach_events (self, (Cpec__V1__Delivery **)found, count);
    *events = (Cpec__V1__Event **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        Cpec__V1__Delivery *one = (Cpec__V1__Delivery *)found[i];
        if (rc == CPEC_OK && one && one->event) {
            (*events)[n++] = one->event;
            one->event = NULL;
        }
        cpec_pb_destroy (&found[i]);
        free ((char *)keys[i]);
    }
    free (found);
    free (keys);
    return n;
}

//  The outcome of an attempt, recorded and added to the finish batch.
static void
s_conclude (s_engine_t *self, s_held_t *held, const notify_result_t *result)
{
    Cpec__V1__Delivery *delivery = held->delivery;
    int64_t now = cpec_now_ms ();
    notify_outcome_t outcome = result->outcome;
    int64_t next = 0;
    if (outcome == NOTIFY_RETRY) {
        uint32_t attempts = delivery->attempts + 1;
        int64_t age = now - cpec_pb_timestamp_ms (delivery->created_at);
        if ((int)attempts >= self->config.max_attempts || age >= self->config.max_age_ms)
            outcome = NOTIFY_DEAD;
        else
            next = now + notify_backoff_ms (&self->config, attempts, (double)random () / RAND_MAX,
                                            result->retry_after_ms);
    }
    notify_delivery_record (delivery, result, outcome, now, next, self->instance);
    static const char *s_words[] = {"delivered", "retry", "dead"};
    s_finish_add (self, held, s_words[outcome], delivery, next, (int)outcome);
}

//  The webhook body of a delivery's event, made once for all the
//  subscriptions it goes to (the newest S_BODIES events kept); NULL for
//  what is not a webhook of one event.
static const char *
s_body (s_engine_t *self, const Cpec__V1__Subscription *subscription,
        const Cpec__V1__Delivery *delivery)
{
    if (subscription->channel != CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK ||
        delivery->n_digest_of || !delivery->event || !*delivery->event->id)
        return NULL;
    const char *body = (const char *)zhashx_lookup (self->bodies, delivery->event->id);
    if (!body) {
        if (zhashx_size (self->bodies) >= S_BODIES)
            zhashx_purge (self->bodies);
        body = notify_webhook_body (delivery, NULL, 0);
        zhashx_insert (self->bodies, delivery->event->id, (void *)body);
    }
    return body;
}

//  Starts the next attempt of a held subscription with none in flight, or
//  adds its outcome to the finish batch when it cannot be tried. Marks it
//  lost when it is no longer to be worked.
static void
s_start (s_engine_t *self, s_held_t *held)
{
    if (held->pending_pos >= held->pending_count && s_prefetch (self, held)) {
        held->lost = true; //  Redis failed: the lease lapses
        return;
    }
    const Cpec__V1__Subscription *subscription = s_sub_find (self, held->id);
    if (!subscription) {
        if (s_subs_refresh (self)) {
            held->lost = true; //  Redis failed: not a reason to drop the queue
            return;
        }
        subscription = s_sub_find (self, held->id);
    }
    if (!subscription) {
        s_finish_now (self, held, "drop");
        held->lost = true;
        cpec_log_info (NULL, "notify engine: subscription %s is gone: its queue dropped", held->id);
        return;
    }
    if (held->pending_count == 0) {
        //  Something may have come in meanwhile: NEXT keeps it (read again)
        if (!s_finish_now (self, held, "release"))
            held->lost = true;
        return;
    }
    size_t at = held->pending_pos;
    held->delivery = held->records[at];
    held->records[at] = NULL;
    if (!held->delivery) {
        //  A queued delivery whose record is gone: it cannot be sent
        Cpec__V1__Delivery *missing =
            (Cpec__V1__Delivery *)cpec_pb_new (&cpec__v1__delivery__descriptor);
        cpec_pb_string_set (&missing->id, held->pending[at]);
        cpec_pb_string_set (&missing->subscription_id, held->id);
        missing->created_at = cpec_pb_timestamp_new (cpec_now_ms ());
        held->delivery = missing;
        notify_result_t result = {.outcome = NOTIFY_DEAD};
        snprintf (result.error, sizeof (result.error),
                  "the delivery record is missing or does not decode");
        s_conclude (self, held, &result);
        return;
    }
    if (!held->delivery->event && held->delivery->n_digest_of == 0) {
        notify_result_t result = {.outcome = NOTIFY_DEAD};
        snprintf (result.error, sizeof (result.error), "the event is no longer kept");
        s_conclude (self, held, &result);
        return;
    }
    Cpec__V1__Event **events = NULL;
    size_t event_count = 0;
    if (held->delivery->n_digest_of)
        event_count = s_digest_events (self, held->delivery, &events);
    notify_result_t result;
    held->send = notify_send_new (&self->config, subscription, held->delivery,
                                  (const Cpec__V1__Event *const *)events, event_count,
                                  s_body (self, subscription, held->delivery), &result);
    for (size_t i = 0; i < event_count; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&events[i]);
    free (events);
    if (held->send)
        curl_multi_add_handle (self->multi, notify_send_handle (held->send));
    else
        s_conclude (self, held, &result);
}

//  Attempts in flight.
static int
s_in_flight (s_engine_t *self)
{
    int count = 0;
    for (void *item = zhashx_first (self->held); item; item = zhashx_next (self->held))
        count += ((s_held_t *)item)->send != NULL;
    return count;
}

//  Attempts that finished: their outcomes recorded, in one finish.lua.
static void
s_complete (s_engine_t *self)
{
    CURLMsg *message;
    int left = 0;
    while ((message = curl_multi_info_read (self->multi, &left))) {
        if (message->msg != CURLMSG_DONE)
            continue;
        CURL *easy = message->easy_handle;
        CURLcode code = message->data.result;
        notify_send_t *send = NULL;
        curl_easy_getinfo (easy, CURLINFO_PRIVATE, (char **)&send);
        curl_multi_remove_handle (self->multi, easy);
        s_held_t *held = (s_held_t *)zhashx_lookup (self->held, notify_send_tag (send));
        assert (held && held->send == send);
        notify_result_t result;
        notify_send_result (send, (int)code, &result);
        notify_send_destroy (&held->send);
        s_conclude (self, held, &result);
    }
    s_finish_flush (self);
}

//  Starts attempts where none is in flight; forgets what is no longer held
//  (when stopping: every queue, left for another replica).
static void
s_start_all (s_engine_t *self)
{
    //  Subscriptions changed by a write (their revision moved) are read again
    //  at most S_SUBS_CHECK_MS after
    int64_t clock = cpec_clock_ms ();
    if (clock >= self->next_subs_check && zhashx_size (self->held)) {
        self->next_subs_check = clock + S_SUBS_CHECK_MS;
        s_subs_refresh (self);
    }
    for (void *item = zhashx_first (self->held); item; item = zhashx_next (self->held)) {
        s_held_t *held = (s_held_t *)item;
        if (!held->send && !held->finishing && !held->lost && !self->stopping)
            s_start (self, held);
    }
    s_finish_flush (self);
    zlistx_t *gone = zlistx_new ();
    for (void *item = zhashx_first (self->held); item; item = zhashx_next (self->held)) {
        s_held_t *held = (s_held_t *)item;
        if (!held->send && (held->lost || self->stopping))
            zlistx_add_end (gone, held->id);
    }
    for (void *id = zlistx_first (gone); id; id = zlistx_next (gone)) {
        s_held_t *held = (s_held_t *)zhashx_lookup (self->held, (const char *)id);
        if (self->stopping && !held->lost)
            s_finish_now (self, held, "leave");
        zhashx_delete (self->held, (const char *)id);
    }
    zlistx_destroy (&gone);
}

//  --------------------------------------------------------------------------
//  Digests

static void
s_digests (s_engine_t *self, int64_t now)
{
    char now_text[32];
    snprintf (now_text, sizeof (now_text), "%lld", (long long)now);
    const char *due[7] = {
        "ZRANGEBYSCORE", NOTIFY_DIGESTS_KEY, "-inf", now_text, "LIMIT", "0", "16"};
    redisReply *subs = s_command (self, 7, due, NULL);
    for (size_t i = 0; subs && subs->type == REDIS_REPLY_ARRAY && i < subs->elements; i++) {
        const char *sub = subs->element[i]->str;
        char key[NOTIFY_KEY_MAX], last[16];
        snprintf (key, sizeof (key), NOTIFY_PREFIX "digest:%s", sub);
        snprintf (last, sizeof (last), "%d", S_DIGEST_MAX - 1);
        const char *range[4] = {"LRANGE", key, "0", last};
        redisReply *ids = s_command (self, 4, range, NULL);
        if (!ids || ids->type != REDIS_REPLY_ARRAY || ids->elements == 0) {
            if (ids)
                freeReplyObject (ids);
            continue;
        }
        char id[37], seed[128];
        snprintf (seed, sizeof (seed), "digest:%s", ids->element[0]->str);
        notify_delivery_id (seed, sub, id);
        Cpec__V1__Delivery delivery = CPEC__V1__DELIVERY__INIT;
        Google__Protobuf__Timestamp created = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
        created.seconds = now / 1000;
        created.nanos = (int32_t)(now % 1000) * 1000000;
        delivery.id = id;
        delivery.subscription_id = (char *)sub;
        delivery.event_type = (char *)NOTIFY_DIGEST_TYPE;
        delivery.status = CPEC__V1__DELIVERY__STATUS__PENDING;
        delivery.created_at = &created;
        delivery.n_digest_of = ids->elements;
        delivery.digest_of = (char **)cpec_realloc (NULL, ids->elements * sizeof (char *));
        for (size_t k = 0; k < ids->elements; k++)
            delivery.digest_of[k] = ids->element[k]->str;
        s_args_t args = {0};
        s_argf (&args, "3");
        s_argf (&args, "%s", NOTIFY_DIGESTS_KEY);
        s_argf (&args, "%s", NOTIFY_READY_KEY);
        s_argf (&args, "%s", NOTIFY_LEASES_KEY);
        s_argf (&args, "%s", sub);
        s_argf (&args, "%s", id);
        s_arg_message (&args, &delivery.base);
        s_argf (&args, "%zu", ids->elements);
        s_argf (&args, "%s", ids->element[0]->str);
        s_argf (&args, "%lld", (long long)now);
        s_argf (&args, "%lld",
                (long long)notify_next_digest (now, self->config.digest_hour,
                                               self->config.digest_period_ms));
        s_argf (&args, "%lld", (long long)self->config.delivered_ttl_s);
        redisReply *made = s_script (self, cpec_lua_notify_digest, self->sha_digest, args.argc,
                                     args.argv, args.lengths);
        if (made && made->type == REDIS_REPLY_INTEGER && made->integer == 1) {
            cpec_log_info (NULL, "notify engine: digest %s of %zu events for %s", id, ids->elements,
                           sub);
            self->next_claim = 0;
        }
        if (made)
            freeReplyObject (made);
        s_args_fini (&args);
        free (delivery.digest_of);
        freeReplyObject (ids);
    }
    if (subs)
        freeReplyObject (subs);
}

//  --------------------------------------------------------------------------
//  The actor

static void
s_engine_run (zsock_t *pipe, void *arg)
{
    s_engine_t *self = (s_engine_t *)arg;
    zsock_signal (pipe, 0);
    zsock_t *bus = self->bus;
    struct curl_waitfd extra[2];
    extra[0] = (struct curl_waitfd){.fd = zsock_fd (pipe), .events = CURL_WAIT_POLLIN};
    extra[1] = (struct curl_waitfd){.fd = bus ? zsock_fd (bus) : -1, .events = CURL_WAIT_POLLIN};
    bool more = false;
    while (true) {
        int64_t now = cpec_now_ms ();
        int wait = more ? 0 : S_POLL_MS;
        int ready = 0;
        curl_multi_poll (self->multi, extra, bus ? 2 : 1, wait, &ready);
        //  The pipe: $TERM
        while (zsock_events (pipe) & ZMQ_POLLIN) {
            char *command = zstr_recv (pipe);
            if (command && streq (command, "$TERM"))
                self->stopping = true;
            free (command);
        }
        //  The bus: only a wake-up
        bool woken = false;
        while (bus && (zsock_events (bus) & ZMQ_POLLIN)) {
            zmsg_t *message = zmsg_recv (bus);
            zmsg_destroy (&message);
            woken = true;
        }
        now = cpec_now_ms ();
        if (woken && !self->fanning && self->next_claim > now + S_WOKEN_CLAIM_MS)
            //  Events were published: the reader fans them out now, and this
            //  replica takes its share just after
            self->next_claim = now + S_WOKEN_CLAIM_MS;
        if (!self->stopping && (woken || more || now >= self->next_consume)) {
            self->next_consume = now + S_CONSUME_MS;
            more = s_consume (self, now);
        } else
            more = false;
        if (now >= self->next_claim) {
            self->next_claim = now + S_CLAIM_MS;
            s_claim (self, now);
        }
        if (now >= self->next_renew) {
            self->next_renew = now + self->config.lease_ms / 3;
            s_renew (self, now);
        }
        if (!self->stopping && now >= self->next_digest) {
            self->next_digest = now + S_DIGEST_CHECK_MS;
            s_digests (self, now);
        }
        //  Attempts that finished are recorded together (one script, one
        //  fsync in Redis): when few of those in flight are done, up to
        //  S_GATHER_MS more to gather others
        int running = 0, in_flight = s_in_flight (self);
        curl_multi_perform (self->multi, &running);
        for (int64_t until = cpec_clock_ms () + S_GATHER_MS;
             running > 0 && in_flight - running < (3 * in_flight + 3) / 4 &&
             cpec_clock_ms () < until;) {
            curl_multi_poll (self->multi, NULL, 0, 1, NULL);
            curl_multi_perform (self->multi, &running);
        }
        s_complete (self);
        s_start_all (self);
        curl_multi_perform (self->multi, &running);
        if (self->stopping && zhashx_size (self->held) == 0)
            break;
    }
}

notify_engine_t *
notify_engine_new (const notify_config_t *config, const char *redis_url, const char *bus_sub,
                   const char *instance, cpec_metrics_t *metrics)
{
    assert (config && redis_url && instance);
    s_engine_t *engine = (s_engine_t *)calloc (1, sizeof (s_engine_t));
    assert (engine);
    engine->config = *config;
    engine->instance = cpec_strdup (instance);
    engine->metrics = metrics;
    engine->store = cpec_store_new (redis_url);
    engine->multi = curl_multi_init ();
    engine->held = zhashx_new ();
    zhashx_set_destructor (engine->held, s_held_destroy);
    engine->bodies = zhashx_new ();
    zhashx_set_destructor (engine->bodies, s_body_free);
    char uuid[37];
    cpec_uuid (uuid);
    snprintf (engine->token, sizeof (engine->token), "%s/%.8s", instance, uuid);
    srandom ((unsigned)strtoul (uuid, NULL, 16)); //  jitter apart from other replicas'
    if (bus_sub && *bus_sub) {
        engine->bus = zsock_new_sub (bus_sub, "");
        if (!engine->bus)
            cpec_log_warn (NULL,
                           "notify engine: cannot subscribe to %s: reading the log by "
                           "polling only",
                           bus_sub);
    }
    if (!engine->store || !engine->multi) {
        cpec_log_error (NULL, "notify engine: cannot start (Redis %s)", redis_url);
        zsock_destroy (&engine->bus);
        cpec_store_destroy (&engine->store);
        if (engine->multi)
            curl_multi_cleanup (engine->multi);
        zhashx_destroy (&engine->held);
        free (engine->instance);
        free (engine);
        return NULL;
    }
    s_group_create (engine);
    notify_engine_t *self = (notify_engine_t *)calloc (1, sizeof (notify_engine_t));
    assert (self);
    self->engine = engine;
    self->actor = zactor_new (s_engine_run, engine);
    if (!self->actor) {
        self->actor = NULL;
        notify_engine_destroy (&self);
        return NULL;
    }
    return self;
}

void
notify_engine_destroy (notify_engine_t **self_p)
{
    assert (self_p);
    notify_engine_t *self = *self_p;
    if (!self)
        return;
    //  Sends $TERM and waits for the actor, which finishes its attempts in
    //  flight first; a second SIGTERM meanwhile must not cut the wait short
    //  (the state would be freed under the running actor)
    sigset_t block, old;
    sigemptyset (&block);
    sigaddset (&block, SIGTERM);
    sigaddset (&block, SIGINT);
    pthread_sigmask (SIG_BLOCK, &block, &old);
    zactor_destroy (&self->actor);
    pthread_sigmask (SIG_SETMASK, &old, NULL);
    s_engine_t *engine = self->engine;
    zhashx_destroy (&engine->held);
    zhashx_destroy (&engine->bodies);
    s_args_fini (&engine->finish_args);
    free (engine->finishing);
    s_subs_free (engine);
    free (engine->rev);
    zsock_destroy (&engine->bus);
    cpec_store_destroy (&engine->store);
    curl_multi_cleanup (engine->multi);
    free (engine->instance);
    free (engine);
    free (self);
    *self_p = NULL;
}
