/*  notify - cpec-notify's private header: the model, the keys, the rules.

    Read this first. The notifier has two halves in one process:

    - the handlers of cpec.v1.Notify (notify_server.c), served as worker
      "notify" through the broker: subscriptions (Create, Get, List, Update,
      Delete, Test) and what became of their deliveries (ListDeliveries,
      ListDeadLetters, ReplayDeadLetters, ReadLive);
    - the delivery engine (notify_engine.c), an actor with its own Redis
      connection and its own libcurl multi handle, that reads the event log
      cpec:events with the consumer group "notify" (each replica one
      consumer), fans each event out to the subscriptions whose filter it
      passes, and delivers (notify_send.c: webhook, e-mail; the live feed is
      written at fan-out).

    No alert is lost:
    - Fan-out records a delivery per (event, subscription) and acknowledges
      the event in the same Lua script (fanout.lua): an event is either still
      pending in the group or every delivery it causes is in Redis.
    - One replica fans out at a time, under the fan-out lock cpec:ntf:fanout
      (a lease that fanout.lua checks, so a replica that lost it writes
      nothing): so each subscription's queue is in the order of the event
      log, even across a crash. A replica taking the lock first takes over
      every event left pending in the group (XAUTOCLAIM) and fans it out
      again, which finds the deliveries already recorded. Fan-out is one
      script per 256 events; the work, delivery, is shared by all.
    - A delivery's id derives from the event id and the subscription id
      (notify_delivery_id), so it is the same across retries, replicas,
      re-fan-outs and replays.
    - Each subscription has its own queue (a Redis list, in event order) and
      is worked by one replica at a time, which holds its lease (claim.lua);
      a lease not renewed lapses and another replica takes the queue over.
      So order is kept per subscription, a receiver that is down holds back
      only its own queue, and two healthy replicas never send the same
      delivery. A replica that dies mid-request leaves the delivery at the
      head of its queue: the next owner sends it again, with the same id.
    - finish.lua records each attempt's outcome (delivered, retry at a time,
      dead letter) and moves the queue on, only while the lease is the
      caller's.

    Keys (all under cpec:ntf:):
      sub:{id}          subscription entity (hash v, pb)
      subs, owner:{o}   sets of subscription ids; rev: counter bumped by
                        every subscription write (replicas reload then)
      dlv:{id}          a delivery (hash v, pb: Delivery; it refers to its
                        event, except a dead letter, which carries it)
      evt:{id}          an event (hash v, pb), kept once for all its
                        deliveries, past the age at which they are given up
      q:{sub}           list of pending delivery ids, oldest first
      fanout            the fan-out lock: the token of the replica reading
      replicas          sorted set: replica token -> last claim (a replica
                        claims its share of the ready queues)
      ready             sorted set: subscription -> when its queue may be
                        worked (now, or the time of the next retry)
      leases, owners    sorted set: subscription -> lease expiry; hash:
                        subscription -> the lease's token
      hist:{sub}        sorted set: delivery ids by time (the newest kept)
      dlq, dlq:{sub}    sorted sets: dead letters by time
      digest:{sub}      list of delivery ids waiting for the daily digest;
      digests           sorted set: subscription -> time of its next digest
      live:{sub}        stream: the LIVE feed of a subscription
*/
#ifndef NOTIFY_H_INCLUDED
#define NOTIFY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/notify.pb-c.h"
#include "cpec_bus.h"
#include "cpec_config.h"
#include "cpec_metrics.h"
#include "cpec_store.h"
#include "cpec_worker.h"

#define NOTIFY_GROUP           "notify"
#define NOTIFY_PREFIX          "cpec:ntf:"
#define NOTIFY_SUBS_KEY        "cpec:ntf:subs"
#define NOTIFY_REV_KEY         "cpec:ntf:rev"
#define NOTIFY_READY_KEY       "cpec:ntf:ready"
#define NOTIFY_LEASES_KEY      "cpec:ntf:leases"
#define NOTIFY_OWNERS_KEY      "cpec:ntf:owners"
#define NOTIFY_DLQ_KEY         "cpec:ntf:dlq"
#define NOTIFY_DIGESTS_KEY     "cpec:ntf:digests"
#define NOTIFY_FANOUT_LOCK_KEY "cpec:ntf:fanout"
#define NOTIFY_REPLICAS_KEY    "cpec:ntf:replicas"
#define NOTIFY_TEST_TYPE       "NotifyTest"
#define NOTIFY_DIGEST_TYPE     "Digest"
#define NOTIFY_HISTORY         20    //  attempts kept in a delivery
#define NOTIFY_HIST_KEEP       1000  //  deliveries listed per subscription
#define NOTIFY_LIVE_KEEP       10000 //  entries kept in a live feed
#define NOTIFY_SECRET_BYTES    24    //  a generated secret: 48 hex digits
#define NOTIFY_KEY_MAX         256

//  The configuration of the engine and the handlers (CPEC_NOTIFY_*).
typedef struct
{
    const char *smtp_url;     //  smtp://host:port of the relay; "": e-mail off
    const char *mail_from;    //  the From address
    int http_timeout_ms;      //  one attempt, connection included
    int max_attempts;         //  then dead-lettered
    int64_t max_age_ms;       //  a delivery older than this is dead-lettered
    int backoff_base_ms;      //  first retry after about this
    int backoff_max_ms;       //  the longest wait between attempts
    int lease_ms;             //  a subscription's queue is held this long per renewal
    int claim_idle_ms;        //  the fan-out lock's lease: a replica that died holding
                              //  it is taken over after this
    int concurrency;          //  subscriptions a replica works at once
    int digest_hour;          //  hour of the daily digest, Pakistan time (0-23)
    int64_t digest_period_ms; //  86400000: daily (shorter only for tests)
    int64_t delivered_ttl_s;  //  how long a finished delivery is kept
    bool allow_private;       //  webhooks to loopback and private addresses allowed
} notify_config_t;

//  The config variables (for cpec_service_def_t.vars), terminated by {NULL}.
extern const cpec_config_var_t notify_config_vars[];

//  Reads them from config.
void notify_config_read (notify_config_t *self, cpec_config_t *config);

//  --------------------------------------------------------------------------
//  Rules (notify_rules.c, pure)

//  The severity of an event type (MilestoneDelayed CRITICAL; MilestoneAtRisk,
//  MatchExpiring and MatchExpired WARNING; the rest INFO).
Cpec__V1__Subscription__Severity notify_severity (const char *event_type);

//  The agency an event names, "" when none (milestone events).
const char *notify_event_agency (const Cpec__V1__Event *event);

//  True when the subscription (active) wants the event: its types,
//  provinces, zones, agency (case-insensitive) and minimum severity.
bool notify_matches (const Cpec__V1__Subscription *subscription, const Cpec__V1__Event *event);

//  The delivery id of (event id, subscription id): a UUID made from their
//  SHA-256, written into id (37 bytes).
void notify_delivery_id (const char *event_id, const char *subscription_id, char id[37]);

//  What an attempt's answer means.
typedef enum
{
    NOTIFY_DELIVERED = 0,
    NOTIFY_RETRY = 1,
    NOTIFY_DEAD = 2
} notify_outcome_t;

//  Webhook: 2xx delivered; no answer (time-out, refused), 408, 429 and 5xx
//  retried; anything else (other 4xx, 3xx) dead at once. E-mail (smtp
//  true): 2xx delivered, 4xx (and no answer) retried, 5xx dead.
notify_outcome_t notify_classify (bool smtp, int status_code);

//  The wait before attempt number attempts + 1 (attempts >= 1 made):
//  base * 2^(attempts - 1) capped at max, of which a random half is taken
//  off (jitter: random in [0, 1)); at least retry_after_ms when the
//  receiver asked for it (Retry-After), capped at an hour.
int64_t notify_backoff_ms (const notify_config_t *config, uint32_t attempts, double random,
                           int64_t retry_after_ms);

//  The next digest time after now_ms: the instants hour:00 Pakistan time
//  (UTC+5) plus whole periods.
int64_t notify_next_digest (int64_t now_ms, int hour, int64_t period_ms);

//  Checks a subscription as given to Create or Update (the fields in mask,
//  all when mask_count is 0): INVALID_ARGUMENT naming the field.
int notify_validate (const Cpec__V1__Subscription *subscription, const notify_config_t *config,
                     cpec_status_t *status);

//  --------------------------------------------------------------------------
//  Sending (notify_send.c)

typedef struct _notify_send_t notify_send_t;

//  The result of one attempt.
typedef struct
{
    notify_outcome_t outcome;
    int status_code; //  HTTP status or SMTP reply; 0: no answer
    int64_t latency_ms;
    int64_t retry_after_ms; //  asked by the receiver, 0: not
    char error[256];        //  "" when delivered
} notify_result_t;

//  Prepares one attempt of delivery for subscription (both borrowed; for a
//  digest, events are what it summarises): the request body, headers,
//  signature or the e-mail. body, when not NULL, is the webhook body made
//  before by notify_webhook_body for the same event (copied). NULL with
//  result filled when it cannot even be tried (e-mail not configured...):
//  the outcome says what then.
notify_send_t *notify_send_new (const notify_config_t *config,
                                const Cpec__V1__Subscription *subscription,
                                const Cpec__V1__Delivery *delivery,
                                const Cpec__V1__Event *const *digest_events, size_t digest_count,
                                const char *body, notify_result_t *result);

//  The libcurl easy handle (borrowed) to add to a multi handle; its private
//  pointer is the notify_send_t.
void *notify_send_handle (notify_send_t *self);

//  The id of the subscription it is for (borrowed).
const char *notify_send_tag (notify_send_t *self);

//  After the transfer finished with code (a CURLcode): the result.
void notify_send_result (notify_send_t *self, int code, notify_result_t *result);

void notify_send_destroy (notify_send_t **self_p);

//  One attempt now, blocking (for Test).
void notify_send_now (const notify_config_t *config, const Cpec__V1__Subscription *subscription,
                      const Cpec__V1__Delivery *delivery, notify_result_t *result);

//  The webhook body of a delivery (the event as JSON, or a digest's
//  {"digest": {...}, "events": [...]}), malloc'd.
char *notify_webhook_body (const Cpec__V1__Delivery *delivery,
                           const Cpec__V1__Event *const *digest_events, size_t digest_count);

//  "sha256=" + hex HMAC-SHA256 of body with secret, into signature (72 bytes).
void notify_signature (const char *secret, const char *body, size_t size, char signature[72]);

//  --------------------------------------------------------------------------
//  The handlers (notify_server.c)

typedef struct
{
    cpec_store_t *store;     //  borrowed
    cpec_bus_t *bus;         //  borrowed
    cpec_metrics_t *metrics; //  borrowed
    size_t page_bytes;
    notify_config_t config;
} notify_t;

extern const cpec_method_t notify_methods[];

//  Keys.
void notify_sub_key (char *buffer, size_t size, const char *id);
void notify_delivery_key (char *buffer, size_t size, const char *id);

//  Loads subscription id (NULL and NOT_FOUND when absent).
int notify_sub_load (cpec_store_t *store, const char *id, Cpec__V1__Subscription **subscription,
                     cpec_status_t *status);

//  Records an attempt in delivery: its history (the newest NOTIFY_HISTORY),
//  attempts, last error, status, next attempt and finish times.
void notify_delivery_record (Cpec__V1__Delivery *delivery, const notify_result_t *result,
                             notify_outcome_t outcome, int64_t now_ms, int64_t next_ms,
                             const char *replica);

//  --------------------------------------------------------------------------
//  The engine (notify_engine.c): a czmq actor

typedef struct _notify_engine_t notify_engine_t;

//  Starts the engine: its own Redis connection to redis_url, the bus at
//  bus_sub (as a wake-up), consumer name `instance`. NULL on error.
notify_engine_t *notify_engine_new (const notify_config_t *config, const char *redis_url,
                                    const char *bus_sub, const char *instance,
                                    cpec_metrics_t *metrics);

//  Stops it (finishing the attempts in flight, within the HTTP time-out)
//  and frees; idempotent.
void notify_engine_destroy (notify_engine_t **self_p);

#endif
