/*  cpec_store - Redis state: entities as packed protobuf, indexes beside them,
    and the transactional-outbox write.

    An entity lives in a hash `key` with fields `v` (version, decimal) and `pb`
    (the packed message), or, under a prefix given to cpec_store_set_hashed,
    in the fields `v:{name}` and `pb:{name}` of one hash shared by all. A write is one Lua script
   (common/lua/write.lua, run by EVALSHA with a NOSCRIPT fallback) that, all or nothing:
      1. returns the first answer if the request id was already seen
         (`cpec:req:{request_id}`, kept CPEC_IDEMPOTENCY_TTL seconds);
      2. checks every entity's expected version (0: must not exist);
      3. writes the entities and applies the index operations;
      4. appends the event to the stream `cpec:events` (fields `type`, `pb`);
      5. records the answer under the request id.

    The connection comes from a redis://host:port/db URL; it is made lazily and
    remade after an error with exponential backoff (50 ms doubling to 1 s).
    While Redis is unreachable calls fail fast with UNAVAILABLE.
    One store per thread: a redisContext is never shared.
*/
#ifndef CPEC_STORE_H_INCLUDED
#define CPEC_STORE_H_INCLUDED

#include <hiredis/hiredis.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec_status.h"

#define CPEC_STORE_EVENTS_KEY "cpec:events"

typedef struct _cpec_store_t cpec_store_t;

//  A store for the URL ("redis://127.0.0.1:6379/0"); NULL if the URL is
//  malformed. Does not connect yet.
cpec_store_t *cpec_store_new (const char *url);

//  Closes the connection; idempotent.
void cpec_store_destroy (cpec_store_t **self_p);

//  Connects now if not connected (respecting backoff); true when connected
//  and PING answers.
bool cpec_store_ping (cpec_store_t *self);

//  Reads the entity at key. OK with *message set; NOT_FOUND when absent;
//  UNAVAILABLE when Redis is unreachable; DATA_LOSS when the stored bytes do not
//  decode. *version (may be NULL) gets the stored version.
int cpec_store_get (cpec_store_t *self, const char *key,
                    const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **message,
                    uint32_t *version, cpec_status_t *status);

//  The same read without decoding: *data gets a malloc'd copy of the stored
//  packed bytes (the caller frees it), *size their length. OK, NOT_FOUND or
//  UNAVAILABLE. For answers that pass an entity on as it is stored.
int cpec_store_get_packed (cpec_store_t *self, const char *key, uint8_t **data, size_t *size,
                           uint32_t *version, cpec_status_t *status);

//  Reads several entities in one round trip; messages[i] is NULL where the key
//  is absent. OK, UNAVAILABLE or DATA_LOSS.
int cpec_store_get_many (cpec_store_t *self, const char **keys, size_t count,
                         const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **messages,
                         cpec_status_t *status);

//  The same with one descriptor per key (entities of different types read in
//  one round trip).
int cpec_store_get_mixed (cpec_store_t *self, const char **keys,
                          const ProtobufCMessageDescriptor *const *descriptors, size_t count,
                          ProtobufCMessage **messages, cpec_status_t *status);

//  The members of the intersection of the sets `keys` (one key: its members),
//  sorted by byte order, those strictly after `after` (NULL or "": from the
//  start), at most `limit`. *members is a NULL-terminated malloc'd array of
//  malloc'd strings (free with cpec_store_strings_destroy); *more tells whether
//  members remain past the page.
int cpec_store_members (cpec_store_t *self, const char **keys, size_t count, const char *after,
                        size_t limit, char ***members, bool *more, cpec_status_t *status);

//  Frees an array from cpec_store_members; idempotent.
void cpec_store_strings_destroy (char ***strings_p);

typedef struct
{
    const char *key;                 //  entity key, e.g. "cpec:sez:rashakai"
    uint32_t expected_version;       //  0: must not exist yet
    const ProtobufCMessage *message; //  the new state; its version field is
                                     //  already expected_version + 1. NULL:
                                     //  delete the entity, which must exist
                                     //  (expected_version 0: at any version)
} cpec_store_put_t;

typedef enum
{
    CPEC_STORE_SADD = 1,
    CPEC_STORE_SREM,
    CPEC_STORE_ZADD,
    CPEC_STORE_ZREM,
    CPEC_STORE_INCRBYFLOAT, //  member is ignored; score is the increment
    //  ZADD member with the value the write's last INCRBYFLOAT returned as
    //  its score (score ignored): a change log in commit order (a counter
    //  bumped, then each id changed recorded with the counter's value)
    CPEC_STORE_ZADD_LAST
} cpec_store_op_t;

typedef struct
{
    cpec_store_op_t op;
    const char *key;
    const char *member;
    double score;
} cpec_store_index_t;

typedef struct
{
    const char *request_id;       //  required: the idempotency key
    const cpec_store_put_t *puts; //  entities written (at least one)
    size_t put_count;
    const cpec_store_index_t *indexes; //  index operations, in order
    size_t index_count;
    const Cpec__V1__Event *const *events; //  appended to cpec:events, in order
    size_t event_count;                   //  may be 0
    const ProtobufCMessage *answer;       //  recorded under the request id
} cpec_store_write_t;

//  Runs the outbox write. Returns OK and sets *stream_id (malloc'd, may be NULL
//  if not wanted) to the stream entry id of the last event (NULL if none); or, when the request id
//  was seen before, OK with *replayed set to the first answer (decoded with answer_descriptor) and
//  nothing written. Errors: ABORTED (a version does not match, naming the key, expected and found),
//  ALREADY_EXISTS (expected 0 but present), NOT_FOUND (expected > 0 but absent), UNAVAILABLE,
//  INTERNAL.
int cpec_store_write (cpec_store_t *self, const cpec_store_write_t *write,
                      const ProtobufCMessageDescriptor *answer_descriptor,
                      ProtobufCMessage **replayed, char **stream_id, cpec_status_t *status);

//  The first answer recorded under request_id by an earlier cpec_store_write
//  (decoded with descriptor), or *answer NULL when the id was not seen. OK,
//  UNAVAILABLE or DATA_LOSS. For a handler whose checks refuse what a retry
//  finds already done: the retry gets the first answer instead.
int cpec_store_replayed (cpec_store_t *self, const char *request_id,
                         const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **answer,
                         cpec_status_t *status);

//  Keeps up to max_entries entities in process (0: off, the default), exact
//  thanks to Redis's client-side-caching invalidations: a read never returns
//  a version older than an acknowledged write, whichever process wrote it.
void cpec_store_set_cache (cpec_store_t *self, size_t max_entries);

//  Keys that start with prefix are never cached (nor tracked by Redis): for
//  entities that nearly every write changes, whose cached copies would only
//  cost invalidations. NULL or "": none.
void cpec_store_set_uncached (cpec_store_t *self, const char *prefix);

//  Adds a prefix (ending in ':'; at most 4 in all) whose keys are not hashes
//  of their own: the entity at prefix + name (a name without ':') is the
//  fields v:name and pb:name of the one hash named by the prefix without
//  its ':'. Reads of many such entities take one command per hash, and a
//  write checks and writes them in a few commands (not two each): for
//  entities written by the thousand. They are never cached. Keys under the
//  prefix whose rest holds a ':' stay keys of their own. Every process that
//  reads or writes those entities must say so, as it must for the layout
//  itself. The first prefix that matches counts: do not add one inside
//  another. NULL or "": none any more.
void cpec_store_set_hashed (cpec_store_t *self, const char *prefix);

//  True while the cache is on (tracking established on this connection).
bool cpec_store_cache_active (cpec_store_t *self);

//  Sets how long request ids are remembered (default 86400 s).
void cpec_store_set_idempotency_ttl (cpec_store_t *self, int seconds);

//  Runs one command: argc strings (lengths NULL: C strings). The reply (the
//  caller frees it with freeReplyObject), or NULL with status set: an error
//  reply becomes INTERNAL (or the code it starts with), a lost connection
//  UNAVAILABLE. For a service's own keys beside its entities (sorted sets of
//  timers, for example); entities go through cpec_store_write.
redisReply *cpec_store_command (cpec_store_t *self, int argc, const char **argv,
                                const size_t *lengths, cpec_status_t *status);

//  Runs a Lua script: EVALSHA, loading it on first use and again after the
//  script cache was flushed. `sha` is the caller's cache of its hash (41
//  bytes, "" at first). argv is what follows the script: numkeys, keys, args.
//  The reply or NULL, as cpec_store_command; an error the script returns
//  that starts with "ABORTED ", "ALREADY_EXISTS ", "NOT_FOUND " or "INVALID "
//  sets that code (INVALID: INVALID_ARGUMENT) and the rest as the message.
redisReply *cpec_store_script (cpec_store_t *self, const char *script, char sha[41], int argc,
                               const char **argv, const size_t *lengths, cpec_status_t *status);

//  Claims due timers (common/lua/claim.lua): the members of the sorted set
//  `timers` due before now, and those of `leases` whose lease ended (their
//  replica died or stalled), at most limit, each moved to `leases` until
//  now + lease_ms as "member|token" with a token of this claim. OK with
//  *members (NULL-terminated, free with cpec_store_strings_destroy; remove
//  each lease, whole, when its work is done) and *next (Unix ms of the next
//  due time or lease end, -1 when none); else the error. `sha` caches the
//  script's hash ("" at first).
int cpec_store_claim (cpec_store_t *self, char sha[41], const char *timers, const char *leases,
                      int64_t now, size_t limit, int lease_ms, char ***members, int64_t *next,
                      cpec_status_t *status);

//  Reads events from the stream after `after_id` ("0" or "$"-free: "0-0" for
//  the start), at most `count`, blocking up to block_ms (0: no block).
//  events is a NULL-terminated malloc'd array; ids (parallel) the stream ids.
int cpec_store_read_events (cpec_store_t *self, const char *after_id, size_t count, int block_ms,
                            Cpec__V1__Event ***events, char ***ids, cpec_status_t *status);

//  Frees an array from cpec_store_read_events; idempotent.
void cpec_store_events_destroy (Cpec__V1__Event ***events_p);

//  A watch of the keys under some prefixes, through Redis's broadcast
//  tracking: every change of such a key, by any client, is announced to it.
//  A process that keeps what it derived from those keys (the gateway's
//  answers) drains the watch before each use: every writer acknowledges only
//  after a fence that follows its write (cpec_store_write), so on one host
//  what it serves does not predate an acknowledged write. The listener is
//  pinged twice a second: a connection gone silent (a partition, a host gone
//  without closing it) is noticed within 1.5 s and the watch ends. Not
//  thread-safe: the caller serialises.
typedef struct _cpec_watch_t cpec_watch_t;

//  Called with each key announced, or NULL when anything may have changed
//  (a flush, or the watch lost).
typedef void (cpec_watch_fn) (void *arg, const char *key);

//  A watch of the keys under prefixes (NULL-terminated, at least one) of
//  the Redis at url, not started. NULL for a bad URL.
cpec_watch_t *cpec_watch_new (const char *url, const char *const *prefixes);

//  Closes; idempotent.
void cpec_watch_destroy (cpec_watch_t **self_p);

//  Connects and starts watching (blocking: up to a few seconds when Redis is
//  slow). True when Redis now announces every change under the prefixes.
bool cpec_watch_start (cpec_watch_t *self);

//  Calls fn for each change announced since the last drain, without
//  blocking. True while the watch holds; false once it is lost (fn was
//  called with NULL) or not started: start it again to go on.
bool cpec_watch_drain (cpec_watch_t *self, cpec_watch_fn *fn, void *arg);

#endif
