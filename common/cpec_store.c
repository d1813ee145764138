/*  cpec_store - Redis state: entities as packed protobuf, indexes beside them,
    and the transactional-outbox write (common/lua/write.lua).

    Every call connects lazily through s_connect (respecting the backoff) and
    turns a lost connection into UNAVAILABLE through s_fail: the context is
    freed and the next attempt waits 50 ms, doubling to 1 s, reset by a
    successful connect. Error replies become INTERNAL with Redis's text, except
    write.lua's own codes (ABORTED, ALREADY_EXISTS, NOT_FOUND, INVALID) and the
    transient states (LOADING, BUSY, READONLY, ...), which are UNAVAILABLE.

    The entity cache (cpec_store_set_cache) keeps packed entities in process
    and stays exact through Redis's server-assisted client-side caching: the
    main connection runs CLIENT TRACKING with REDIRECT to a second connection
    subscribed to __redis__:invalidate, so Redis announces every change of a
    key this connection has read. A writer answers only after a PING that
    follows its write: Redis writes all pending output (the invalidations
    included) before it reads the PING, so the announcement has left Redis
    before the write is acknowledged. Before every cache lookup the store
    drains the second connection without blocking, so a read that follows an
    acknowledged write never sees the older version. Losing either connection empties the
    cache and turns it off until both are back.
*/
#include "cpec_store.h"
#include "cpec_pb.h"

#include <assert.h>
#include <czmq.h>
#include <ctype.h>
#include <poll.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#ifndef CPEC_IDEMPOTENCY_TTL
#define CPEC_IDEMPOTENCY_TTL 86400
#endif

#define S_CONNECT_TIMEOUT_MS 1000
#define S_COMMAND_TIMEOUT_MS 2000
#define S_BACKOFF_MIN_MS     50
#define S_BACKOFF_MAX_MS     1000
#define S_READ_COUNT_DEFAULT 100
#define S_REQUEST_PREFIX     "cpec:req:"

extern const char cpec_lua_write[];

//  A cached entity: its version and packed bytes.
typedef struct
{
    uint32_t version;
    size_t size;
    uint8_t data[];
} s_entry_t;

static void
s_entry_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  A prefix whose entities are fields of one hash (cpec_store_set_hashed)
#define S_HASHED_MAX 4
typedef struct
{
    char *prefix;  //  "cpec:msf:"
    char *key;     //  the hash: the prefix without its last ':'
    size_t length; //  strlen (prefix)
} s_hashed_t;

struct _cpec_store_t
{
    char *host;                      //  Redis host name or address
    int port;                        //  Redis TCP port
    char *user;                      //  ACL user for AUTH, NULL for none
    char *password;                  //  password for AUTH, NULL for none
    int db;                          //  database number for SELECT
    redisContext *redis;             //  the connection, NULL while disconnected
    int64_t next_attempt;            //  monotonic ms before which we do not reconnect
    int backoff;                     //  delay after the next failure, ms
    char last_error[128];            //  why the last connection failed
    char write_sha[41];              //  SHA1 of write.lua loaded on this connection, "" if not
    int idempotency_ttl;             //  seconds a request id is remembered
    size_t cache_max;                //  entities cached at most; 0: no cache
    char *uncached;                  //  keys with this prefix are never cached (NULL: none)
    s_hashed_t hashed[S_HASHED_MAX]; //  prefixes whose keys are fields of one hash
    size_t hashed_count;
    zhashx_t *cache;       //  key -> s_entry_t, while tracking works
    redisContext *tracker; //  subscribed to invalidations, NULL when off
    int64_t track_at;      //  earliest retry of tracking after a loss (monotonic ms)
};

//  --------------------------------------------------------------------------
//  URL parsing: redis://[[user]:password@]host[:port][/db]

//  Decodes %XX escapes into a new string; NULL when an escape is malformed.
static char *
s_percent_decode (const char *text, size_t length)
{
    char *decoded = (char *)malloc (length + 1);
    if (!decoded)
        return NULL;
    size_t out = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] == '%') {
            if (i + 2 >= length || !isxdigit ((unsigned char)text[i + 1]) ||
                !isxdigit ((unsigned char)text[i + 2])) {
                free (decoded);
                return NULL;
            }
            char hex[3] = {text[i + 1], text[i + 2], 0};
            decoded[out++] = (char)strtol (hex, NULL, 16);
            i += 2;
        } else
            decoded[out++] = text[i];
    }
    decoded[out] = 0;
    return decoded;
}

static char *
s_strndup (const char *text, size_t length)
{
    char *copy = (char *)malloc (length + 1);
    if (copy) {
        memcpy (copy, text, length);
        copy[length] = 0;
    }
    return copy;
}

//  Parses a non-negative decimal in [min, max] from text[0..length); -1 if not.
static long
s_parse_number (const char *text, size_t length, long min, long max)
{
    if (length == 0 || length > 9)
        return -1;
    long value = 0;
    for (size_t i = 0; i < length; i++) {
        if (!isdigit ((unsigned char)text[i]))
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value >= min && value <= max ? value : -1;
}

static int
s_parse_url (cpec_store_t *self, const char *url)
{
    const char *scheme = "redis://";
    if (!url || strncmp (url, scheme, strlen (scheme)) != 0)
        return -1;
    const char *rest = url + strlen (scheme);
    const char *path = strchr (rest, '/');
    const char *end = path ? path : rest + strlen (rest);

    //  userinfo: everything before the last '@' of the authority
    const char *at = NULL;
    for (const char *p = rest; p < end; p++)
        if (*p == '@')
            at = p;
    if (at) {
        const char *colon = memchr (rest, ':', (size_t)(at - rest));
        if (colon) {
            if (colon > rest && !(self->user = s_percent_decode (rest, (size_t)(colon - rest))))
                return -1;
            if (!(self->password = s_percent_decode (colon + 1, (size_t)(at - colon - 1))))
                return -1;
        } else if (!(self->password = s_percent_decode (rest, (size_t)(at - rest))))
            return -1;
        if (self->password && !*self->password) {
            free (self->password);
            self->password = NULL;
        }
        rest = at + 1;
    }
    //  host, [v6] or name, then :port
    const char *host_end;
    const char *port_start = NULL;
    if (*rest == '[') {
        const char *close = memchr (rest, ']', (size_t)(end - rest));
        if (!close)
            return -1;
        self->host = s_strndup (rest + 1, (size_t)(close - rest - 1));
        host_end = close + 1;
        if (host_end < end) {
            if (*host_end != ':')
                return -1;
            port_start = host_end + 1;
        }
    } else {
        const char *colon = memchr (rest, ':', (size_t)(end - rest));
        host_end = colon ? colon : end;
        self->host = s_strndup (rest, (size_t)(host_end - rest));
        if (colon)
            port_start = colon + 1;
    }
    if (!self->host || !*self->host)
        return -1;
    self->port = 6379;
    if (port_start) {
        long port = s_parse_number (port_start, (size_t)(end - port_start), 1, 65535);
        if (port < 0)
            return -1;
        self->port = (int)port;
    }
    self->db = 0;
    if (path && path[1]) {
        long db = s_parse_number (path + 1, strlen (path + 1), 0, 1000000);
        if (db < 0)
            return -1;
        self->db = (int)db;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  Constructor and destructor

cpec_store_t *
cpec_store_new (const char *url)
{
    cpec_store_t *self = (cpec_store_t *)calloc (1, sizeof (cpec_store_t));
    if (!self)
        return NULL;
    self->backoff = S_BACKOFF_MIN_MS;
    self->idempotency_ttl = CPEC_IDEMPOTENCY_TTL;
    if (s_parse_url (self, url)) {
        cpec_store_destroy (&self);
        return NULL;
    }
    return self;
}

void
cpec_store_destroy (cpec_store_t **self_p)
{
    assert (self_p);
    cpec_store_t *self = *self_p;
    if (self) {
        if (self->redis)
            redisFree (self->redis);
        if (self->tracker)
            redisFree (self->tracker);
        zhashx_destroy (&self->cache);
        free (self->uncached);
        cpec_store_set_hashed (self, NULL);
        free (self->host);
        free (self->user);
        free (self->password);
        free (self);
        *self_p = NULL;
    }
}

void
cpec_store_set_idempotency_ttl (cpec_store_t *self, int seconds)
{
    assert (self);
    assert (seconds > 0);
    self->idempotency_ttl = seconds;
}

//  --------------------------------------------------------------------------
//  Connection, backoff, commands

static struct timeval
s_timeval (int milliseconds)
{
    struct timeval tv = {milliseconds / 1000, (milliseconds % 1000) * 1000};
    return tv;
}

//  Drops the connection, remembers why and schedules the next attempt.
//  Returns UNAVAILABLE.
static int
s_fail (cpec_store_t *self, const char *why, cpec_status_t *status)
{
    //  why may point into the context: copy it first
    snprintf (self->last_error, sizeof (self->last_error), "%s", why);
    if (self->redis) {
        redisFree (self->redis);
        self->redis = NULL;
    }
    if (self->tracker) {
        redisFree (self->tracker);
        self->tracker = NULL;
    }
    if (self->cache)
        zhashx_purge (self->cache);
    self->next_attempt = cpec_clock_ms () + self->backoff;
    self->backoff = self->backoff * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : self->backoff * 2;
    return cpec_status_set (status, CPEC_UNAVAILABLE, "redis %s:%d: %s", self->host, self->port,
                            self->last_error);
}

//  One command during the handshake; 0 when it answered without error.
static int
s_handshake (cpec_store_t *self, int argc, const char **argv, cpec_status_t *status)
{
    redisReply *reply = (redisReply *)redisCommandArgv (self->redis, argc, argv, NULL);
    if (!reply)
        return s_fail (self, self->redis->errstr, status);
    int rc = 0;
    if (reply->type == REDIS_REPLY_ERROR) {
        char why[128];
        snprintf (why, sizeof (why), "%s failed: %s", argv[0], reply->str);
        rc = s_fail (self, why, status);
    }
    freeReplyObject (reply);
    return rc;
}

//  A second connection to the store's Redis (the cache's tracker, a watch's),
//  AUTH done, TCP keepalive on; NULL on failure.
static redisContext *
s_connect_aux (const cpec_store_t *self)
{
    redisContext *context =
        redisConnectWithTimeout (self->host, self->port, s_timeval (S_CONNECT_TIMEOUT_MS));
    if (!context || context->err) {
        if (context)
            redisFree (context);
        return NULL;
    }
    redisSetTimeout (context, s_timeval (S_COMMAND_TIMEOUT_MS));
    redisEnableKeepAlive (context);
    if (self->password) {
        const char *argv[3] = {"AUTH", self->user ? self->user : self->password, self->password};
        redisReply *reply =
            (redisReply *)redisCommandArgv (context, self->user ? 3 : 2, argv, NULL);
        bool ok = reply && reply->type != REDIS_REPLY_ERROR;
        if (reply)
            freeReplyObject (reply);
        if (!ok) {
            redisFree (context);
            return NULL;
        }
    }
    return context;
}

//  A connection subscribed to __redis__:invalidate, its client id in
//  client_id (for CLIENT TRACKING ... REDIRECT); NULL on failure.
static redisContext *
s_listener_open (const cpec_store_t *self, char client_id[32])
{
    redisContext *listener = s_connect_aux (self);
    if (!listener)
        return NULL;
    const char *id_argv[2] = {"CLIENT", "ID"};
    redisReply *id = (redisReply *)redisCommandArgv (listener, 2, id_argv, NULL);
    bool ok = id && id->type == REDIS_REPLY_INTEGER;
    if (ok)
        snprintf (client_id, 32, "%lld", id->integer);
    if (id)
        freeReplyObject (id);
    const char *sub_argv[2] = {"SUBSCRIBE", "__redis__:invalidate"};
    redisReply *sub = ok ? (redisReply *)redisCommandArgv (listener, 2, sub_argv, NULL) : NULL;
    ok = sub && sub->type == REDIS_REPLY_ARRAY;
    if (sub)
        freeReplyObject (sub);
    if (!ok) {
        redisFree (listener);
        return NULL;
    }
    return listener;
}

//  Calls fn for each key of an invalidation message (["message",
//  "__redis__:invalidate", [key, ...]], or nil for a flush: fn with NULL).
//  False when the reply is no such message.
static bool
s_invalidation (const redisReply *reply, void (*fn) (void *arg, const char *key), void *arg)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
        return false;
    const redisReply *keys = reply->element[2];
    if (keys->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < keys->elements; i++)
            if (keys->element[i]->type == REDIS_REPLY_STRING)
                fn (arg, keys->element[i]->str);
    } else
        fn (arg, NULL);
    return true;
}

//  Opens the invalidation connection and turns tracking on for the main
//  one. On any failure the cache stays off (reads go to Redis).
static void
s_track (cpec_store_t *self)
{
    zhashx_purge (self->cache);
    char client_id[32];
    if (!(self->tracker = s_listener_open (self, client_id)))
        goto off;
    //  Off first: after a lost tracker the main connection still redirects
    //  to a client that is gone, and Redis will not switch a live redirect.
    const char *off_argv[3] = {"CLIENT", "TRACKING", "off"};
    redisReply *off = (redisReply *)redisCommandArgv (self->redis, 3, off_argv, NULL);
    if (!off)
        goto off;
    freeReplyObject (off);
    //  OPTIN: only the reads sent after CLIENT CACHING yes (the entity reads
    //  that fill the cache) are tracked. Tracking everything would make Redis
    //  remember every key of every write script, a cost that grows with the
    //  square of the script's keys.
    const char *track_argv[6] = {"CLIENT", "TRACKING", "on", "REDIRECT", client_id, "OPTIN"};
    redisReply *on = (redisReply *)redisCommandArgv (self->redis, 6, track_argv, NULL);
    bool ok = on && on->type == REDIS_REPLY_STATUS;
    if (on)
        freeReplyObject (on);
    if (ok)
        return;
off:
    if (self->tracker) {
        redisFree (self->tracker);
        self->tracker = NULL;
    }
    self->track_at = cpec_clock_ms () + 1000;
}

//  Forgets a cached entity Redis says changed (NULL: all of them).
static void
s_forget (void *arg, const char *key)
{
    cpec_store_t *self = (cpec_store_t *)arg;
    if (key)
        zhashx_delete (self->cache, key);
    else
        zhashx_purge (self->cache);
}

//  Applies what Redis announced so far, without blocking. Returns false when
//  the tracker connection is gone (the cache is then empty and off).
static bool
s_drain (cpec_store_t *self)
{
    while (self->tracker) {
        struct pollfd item = {self->tracker->fd, POLLIN, 0};
        if (poll (&item, 1, 0) <= 0)
            return true;
        if (redisBufferRead (self->tracker) != REDIS_OK)
            break;
        void *any = NULL;
        while (redisReaderGetReply (self->tracker->reader, &any) == REDIS_OK && any) {
            s_invalidation ((redisReply *)any, s_forget, self);
            freeReplyObject (any);
            any = NULL;
        }
        if (self->tracker->reader->err)
            break;
    }
    //  Lost: forget everything; reads go to Redis until tracking is back
    //  (s_cached tries again, at most once a second).
    zhashx_purge (self->cache);
    if (self->tracker) {
        redisFree (self->tracker);
        self->tracker = NULL;
    }
    self->track_at = cpec_clock_ms () + 1000;
    return false;
}

//  The name of key inside the hash of its hashed prefix (*which, when not
//  NULL, gets the prefix's place), or NULL when key is under none.
static const char *
s_hashed_field_of (const cpec_store_t *self, const char *key, size_t *which)
{
    for (size_t h = 0; h < self->hashed_count; h++)
        if (strncmp (key, self->hashed[h].prefix, self->hashed[h].length) == 0) {
            const char *name = key + self->hashed[h].length;
            if (strchr (name, ':'))
                return NULL; //  a key of its own beside them (an index, ...)
            if (which)
                *which = h;
            return name;
        }
    return NULL;
}

static const char *
s_hashed_field (const cpec_store_t *self, const char *key)
{
    return s_hashed_field_of (self, key, NULL);
}

//  The cached entity at key, or NULL. Drains invalidations first, unless
//  the caller just did (drained: s_drain's answer then).
static const s_entry_t *
s_cached (cpec_store_t *self, const char *key, const bool *drained)
{
    if ((self->uncached && strncmp (key, self->uncached, strlen (self->uncached)) == 0) ||
        s_hashed_field (self, key))
        return NULL;
    if (!self->tracker || !(drained ? *drained : s_drain (self)))
        return NULL;
    return (const s_entry_t *)zhashx_lookup (self->cache, key);
}

//  After a lost tracker, tries tracking again (at most once a second). Call
//  only while no command is queued on the main connection.
static void
s_retrack (cpec_store_t *self)
{
    if (!self->tracker && self->cache_max && self->redis && cpec_clock_ms () >= self->track_at)
        s_track (self);
}

//  Remembers an entity just read on the tracked connection.
static void
s_cache_put (cpec_store_t *self, const char *key, uint32_t version, const char *data, size_t size)
{
    if (!self->tracker)
        return;
    if (zhashx_size (self->cache) >= self->cache_max)
        zhashx_purge (self->cache); //  bounded: start afresh
    s_entry_t *entry = (s_entry_t *)malloc (sizeof (s_entry_t) + size);
    assert (entry);
    entry->version = version;
    entry->size = size;
    memcpy (entry->data, data, size);
    zhashx_update (self->cache, key, entry);
}

void
cpec_store_set_hashed (cpec_store_t *self, const char *prefix)
{
    assert (self);
    if (!prefix || !*prefix) {
        for (size_t h = 0; h < self->hashed_count; h++) {
            free (self->hashed[h].prefix);
            free (self->hashed[h].key);
        }
        self->hashed_count = 0;
        return;
    }
    size_t length = strlen (prefix);
    for (size_t h = 0; h < self->hashed_count; h++)
        if (strcmp (self->hashed[h].prefix, prefix) == 0)
            return;
    if (prefix[length - 1] != ':' || self->hashed_count == S_HASHED_MAX) {
        //  A programmer's error that a release build must not write past
        fprintf (stderr, "cpec_store_set_hashed: '%s' does not end in ':' or is one too many\n",
                 prefix);
        abort ();
    }
    s_hashed_t *hashed = &self->hashed[self->hashed_count++];
    hashed->prefix = cpec_strdup (prefix);
    hashed->length = length;
    hashed->key = s_strndup (prefix, length - 1);
    assert (hashed->key);
}

void
cpec_store_set_uncached (cpec_store_t *self, const char *prefix)
{
    assert (self);
    free (self->uncached);
    self->uncached = prefix && *prefix ? cpec_strdup (prefix) : NULL;
}

void
cpec_store_set_cache (cpec_store_t *self, size_t max_entries)
{
    assert (self);
    self->cache_max = max_entries;
    if (!self->cache) {
        self->cache = zhashx_new ();
        zhashx_set_destructor (self->cache, s_entry_free);
    }
    zhashx_purge (self->cache);
    if (self->redis && !self->tracker && max_entries)
        s_track (self);
}

bool
cpec_store_cache_active (cpec_store_t *self)
{
    assert (self);
    return self->tracker != NULL;
}

//  Connects unless connected or backing off. 0, or UNAVAILABLE.
static int
s_connect (cpec_store_t *self, cpec_status_t *status)
{
    if (self->redis)
        return 0;
    int64_t now = cpec_clock_ms ();
    if (now < self->next_attempt)
        return cpec_status_set (status, CPEC_UNAVAILABLE, "redis %s:%d: %s (next attempt in %d ms)",
                                self->host, self->port, self->last_error,
                                (int)(self->next_attempt - now));

    self->redis =
        redisConnectWithTimeout (self->host, self->port, s_timeval (S_CONNECT_TIMEOUT_MS));
    if (!self->redis)
        return s_fail (self, "cannot allocate a connection", status);
    if (self->redis->err)
        return s_fail (self, self->redis->errstr, status);
    if (redisSetTimeout (self->redis, s_timeval (S_COMMAND_TIMEOUT_MS)) != REDIS_OK)
        return s_fail (self, "cannot set the command timeout", status);

    if (self->password) {
        const char *argv[3] = {"AUTH", self->user ? self->user : self->password, self->password};
        int rc = s_handshake (self, self->user ? 3 : 2, argv, status);
        if (rc)
            return rc;
    }
    if (self->db) {
        char db[16];
        snprintf (db, sizeof (db), "%d", self->db);
        const char *argv[2] = {"SELECT", db};
        int rc = s_handshake (self, 2, argv, status);
        if (rc)
            return rc;
    }
    self->backoff = S_BACKOFF_MIN_MS;
    self->next_attempt = 0;
    self->write_sha[0] = 0;
    if (self->cache_max)
        s_track (self);
    return 0;
}

static bool
s_starts_with (const char *text, const char *prefix)
{
    return strncmp (text, prefix, strlen (prefix)) == 0;
}

//  Maps an error reply to a status: the cluster/failover states to
//  UNAVAILABLE, everything else to INTERNAL with Redis's text.
static int
s_reply_error (cpec_store_t *self, const redisReply *reply, cpec_status_t *status)
{
    if (s_starts_with (reply->str, "READONLY") || s_starts_with (reply->str, "MASTERDOWN")) {
        //  We talk to a replica (after a failover): reconnect.
        return s_fail (self, reply->str, status);
    }
    if (s_starts_with (reply->str, "LOADING") || s_starts_with (reply->str, "BUSY") ||
        s_starts_with (reply->str, "TRYAGAIN") || s_starts_with (reply->str, "CLUSTERDOWN"))
        return cpec_status_set (status, CPEC_UNAVAILABLE, "redis %s:%d: %s", self->host, self->port,
                                reply->str);
    return cpec_status_set (status, CPEC_INTERNAL, "redis: %s", reply->str);
}

//  Runs one command. The reply (possibly an error reply) or NULL with
//  UNAVAILABLE in status.
static redisReply *
s_command (cpec_store_t *self, int argc, const char **argv, const size_t *lengths,
           cpec_status_t *status)
{
    if (s_connect (self, status))
        return NULL;
    redisReply *reply = (redisReply *)redisCommandArgv (self->redis, argc, argv, lengths);
    if (!reply)
        s_fail (self, self->redis->errstr, status);
    return reply;
}

//  Runs one command, turning an error reply into a status. NULL on error.
static redisReply *
s_command_ok (cpec_store_t *self, int argc, const char **argv, const size_t *lengths,
              cpec_status_t *status)
{
    redisReply *reply = s_command (self, argc, argv, lengths, status);
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        s_reply_error (self, reply, status);
        freeReplyObject (reply);
        reply = NULL;
    }
    return reply;
}

bool
cpec_store_ping (cpec_store_t *self)
{
    assert (self);
    const char *argv[1] = {"PING"};
    redisReply *reply = s_command_ok (self, 1, argv, NULL, NULL);
    bool alive = reply && reply->type == REDIS_REPLY_STATUS && strcmp (reply->str, "PONG") == 0;
    if (reply)
        freeReplyObject (reply);
    return alive;
}

//  --------------------------------------------------------------------------
//  Reads

//  Checks the reply of HMGET key v pb: OK with *version set, NOT_FOUND when
//  the entity is absent, INTERNAL or DATA_LOSS when the reply is not an entity.
static int
s_check_entity (const char *key, const redisReply *reply, uint32_t *version, cpec_status_t *status)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        return cpec_status_set (status, CPEC_INTERNAL, "redis: unexpected reply to HMGET %s", key);
    const redisReply *v = reply->element[0];
    const redisReply *pb = reply->element[1];
    if (pb->type == REDIS_REPLY_NIL)
        return cpec_status_set (status, CPEC_NOT_FOUND, "%s not found", key);
    if (pb->type != REDIS_REPLY_STRING)
        return cpec_status_set (status, CPEC_INTERNAL, "redis: unexpected reply to HMGET %s", key);
    long long found = 0;
    if (v->type == REDIS_REPLY_STRING) {
        char *end;
        errno = 0;
        found = strtoll (v->str, &end, 10);
        if (errno || *end || end == v->str || found < 0 || found > UINT32_MAX)
            return cpec_status_set (status, CPEC_DATA_LOSS,
                                    "%s: stored version '%s' is not a number", key, v->str);
    }
    *version = (uint32_t)found;
    return CPEC_OK;
}

//  Decodes the reply of HMGET key v pb. *message NULL and 0 when absent.
static int
s_decode_entity (const char *key, const redisReply *reply,
                 const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **message,
                 uint32_t *version, cpec_status_t *status)
{
    *message = NULL;
    uint32_t found = 0;
    int rc = s_check_entity (key, reply, &found, status);
    if (rc == CPEC_NOT_FOUND) {
        cpec_status_clear (status);
        return 0;
    }
    if (rc != CPEC_OK)
        return rc;
    const redisReply *pb = reply->element[1];
    *message = cpec_pb_unpack (descriptor, (const uint8_t *)pb->str, pb->len);
    if (!*message)
        return cpec_status_set (status, CPEC_DATA_LOSS, "%s: stored bytes do not decode as %s", key,
                                descriptor->name);
    if (version)
        *version = found;
    return 0;
}

//  Queues HMGET key v pb, preceded by CLIENT CACHING yes while the cache is
//  on, so that Redis tracks the key for us; *tracked tells which. -1 when
//  the command cannot be queued.
static int
s_append_entity_read (cpec_store_t *self, const char *key, bool *tracked)
{
    size_t which = 0;
    const char *field = s_hashed_field_of (self, key, &which);
    if (field) {
        //  HMGET hash v:field pb:field: the same reply as HMGET key v pb
        *tracked = false;
        return redisAppendCommand (self->redis, "HMGET %s v:%s pb:%s", self->hashed[which].key,
                                   field, field) == REDIS_OK
                   ? 0
                   : -1;
    }
    *tracked = self->tracker != NULL &&
               !(self->uncached && strncmp (key, self->uncached, strlen (self->uncached)) == 0);
    const char *caching[3] = {"CLIENT", "CACHING", "yes"};
    if (*tracked && redisAppendCommandArgv (self->redis, 3, caching, NULL) != REDIS_OK)
        return -1;
    const char *argv[4] = {"HMGET", key, "v", "pb"};
    return redisAppendCommandArgv (self->redis, 4, argv, NULL) == REDIS_OK ? 0 : -1;
}

//  The reply of a read queued by s_append_entity_read (the caller frees
//  it), or NULL after s_fail.
static redisReply *
s_entity_reply (cpec_store_t *self, bool tracked, cpec_status_t *status)
{
    redisReply *reply = NULL;
    if (tracked) {
        if (redisGetReply (self->redis, (void **)&reply) != REDIS_OK || !reply) {
            s_fail (self, self->redis->errstr, status);
            return NULL;
        }
        freeReplyObject (reply); //  +OK of CLIENT CACHING
        reply = NULL;
    }
    if (redisGetReply (self->redis, (void **)&reply) != REDIS_OK || !reply) {
        s_fail (self, self->redis->errstr, status);
        return NULL;
    }
    return reply;
}

//  True (DATA_LOSS in status) when the [v, pb] pair of a field entity holds
//  one of the two: they are always written together, and the write script
//  goes by the version alone.
static bool
s_hashed_damaged (const char *key, const redisReply *pair, cpec_status_t *status)
{
    if (pair->type != REDIS_REPLY_ARRAY || pair->elements != 2)
        return false; //  s_check_entity says what is wrong
    bool v = pair->element[0]->type != REDIS_REPLY_NIL;
    bool pb = pair->element[1]->type != REDIS_REPLY_NIL;
    if (v == pb)
        return false;
    cpec_status_set (status, CPEC_DATA_LOSS, "%s: stored %s", key,
                     v ? "with a version but no bytes" : "without a version");
    return true;
}

int
cpec_store_get_packed (cpec_store_t *self, const char *key, uint8_t **data, size_t *size,
                       uint32_t *version, cpec_status_t *status)
{
    assert (self);
    assert (key);
    assert (data && size);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    *data = NULL;
    *size = 0;
    if (s_connect (self, status))
        return status->code;
    s_retrack (self);
    const s_entry_t *entry = s_cached (self, key, NULL);
    if (entry) {
        *data = (uint8_t *)cpec_memdup (entry->data, entry->size);
        *size = entry->size;
        if (version)
            *version = entry->version;
        return CPEC_OK;
    }
    bool tracked = false;
    if (s_append_entity_read (self, key, &tracked))
        return s_fail (self, "cannot queue a command", status);
    redisReply *reply = s_entity_reply (self, tracked, status);
    if (!reply)
        return status->code;
    if (reply->type == REDIS_REPLY_ERROR) {
        int code = s_reply_error (self, reply, status);
        freeReplyObject (reply);
        return code;
    }
    uint32_t found = 0;
    int rc = s_hashed_field (self, key) && s_hashed_damaged (key, reply, status)
                 ? status->code
                 : s_check_entity (key, reply, &found, status);
    if (rc == CPEC_OK) {
        const redisReply *pb = reply->element[1];
        if (tracked)
            s_cache_put (self, key, found, pb->str, pb->len);
        *data = (uint8_t *)cpec_memdup (pb->str, pb->len);
        *size = pb->len;
        if (version)
            *version = found;
    }
    freeReplyObject (reply);
    return rc;
}

int
cpec_store_get (cpec_store_t *self, const char *key, const ProtobufCMessageDescriptor *descriptor,
                ProtobufCMessage **message, uint32_t *version, cpec_status_t *status)
{
    assert (descriptor);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    if (message)
        *message = NULL;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = cpec_store_get_packed (self, key, &data, &size, version, status);
    if (rc != CPEC_OK)
        return rc;
    ProtobufCMessage *decoded = cpec_pb_unpack (descriptor, data, size);
    free (data);
    if (!decoded)
        return cpec_status_set (status, CPEC_DATA_LOSS, "%s: stored bytes do not decode as %s", key,
                                descriptor->name);
    if (message)
        *message = decoded;
    else
        cpec_pb_destroy (&decoded);
    return CPEC_OK;
}

int
cpec_store_get_many (cpec_store_t *self, const char **keys, size_t count,
                     const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **messages,
                     cpec_status_t *status)
{
    assert (descriptor);
    const ProtobufCMessageDescriptor **descriptors =
        (const ProtobufCMessageDescriptor **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
    for (size_t i = 0; i < count; i++)
        descriptors[i] = descriptor;
    int rc = cpec_store_get_mixed (self, keys, descriptors, count, messages, status);
    free (descriptors);
    return rc;
}

//  Keys of the hashed prefix read in one HMGET per this many
#define S_HASHED_BATCH 4096

//  Queues HMGET hash v:f1 pb:f1 v:f2 pb:f2 ... for the fields of keys[at[0..n)],
//  all under the hashed prefix `which`.
static int
s_append_hashed_read (cpec_store_t *self, size_t which, const char **keys, const size_t *at,
                      size_t n)
{
    size_t argc = 2 + 2 * n;
    const char **argv = (const char **)cpec_realloc (NULL, argc * sizeof (char *));
    size_t *lengths = (size_t *)cpec_realloc (NULL, argc * sizeof (size_t));
    char **owned = (char **)cpec_realloc (NULL, (2 * n + 1) * sizeof (char *));
    argv[0] = "HMGET";
    lengths[0] = 5;
    argv[1] = self->hashed[which].key;
    lengths[1] = strlen (self->hashed[which].key);
    for (size_t j = 0; j < n; j++) {
        const char *field = keys[at[j]] + self->hashed[which].length;
        size_t length = strlen (field);
        for (int k = 0; k < 2; k++) {
            char *name = (char *)cpec_realloc (NULL, length + 4);
            int prefix = k == 0 ? 2 : 3;
            memcpy (name, k == 0 ? "v:" : "pb:", (size_t)prefix);
            memcpy (name + prefix, field, length + 1);
            owned[2 * j + (size_t)k] = name;
            argv[2 + 2 * j + (size_t)k] = name;
            lengths[2 + 2 * j + (size_t)k] = length + (size_t)prefix;
        }
    }
    int rc = redisAppendCommandArgv (self->redis, (int)argc, argv, lengths) == REDIS_OK ? 0 : -1;
    for (size_t j = 0; j < 2 * n; j++)
        free (owned[j]);
    free (owned);
    free (argv);
    free (lengths);
    return rc;
}

//  How many of hashed[from..count) go in one read: of one prefix, at most
//  S_HASHED_BATCH.
static size_t
s_hashed_batch (const size_t *hashed, const size_t *which, size_t count, size_t from)
{
    size_t n = 1;
    while (from + n < count && n < S_HASHED_BATCH && which[hashed[from + n]] == which[hashed[from]])
        n++;
    return n;
}

//  Decodes one entity of a reply: HMGET's [v, pb] pair (or a cached copy
//  put aside when tracked).
static int
s_take_entity (cpec_store_t *self, const char *key, const redisReply *pair,
               const ProtobufCMessageDescriptor *descriptor, bool tracked, bool hashed,
               ProtobufCMessage **message, cpec_status_t *status)
{
    if (hashed && s_hashed_damaged (key, pair, status))
        return status->code;
    uint32_t found = 0;
    int rc = s_decode_entity (key, pair, descriptor, message, &found, status);
    if (rc == 0 && *message && tracked)
        s_cache_put (self, key, found, pair->element[1]->str, pair->element[1]->len);
    return rc;
}

int
cpec_store_get_mixed (cpec_store_t *self, const char **keys,
                      const ProtobufCMessageDescriptor *const *descriptors, size_t count,
                      ProtobufCMessage **messages, cpec_status_t *status)
{
    assert (self);
    assert (keys || count == 0);
    assert (descriptors || count == 0);
    assert (messages || count == 0);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    for (size_t i = 0; i < count; i++)
        messages[i] = NULL;
    if (count == 0)
        return CPEC_OK;
    if (s_connect (self, status))
        return status->code;

    s_retrack (self); //  before anything is queued
    //  From the cache what it holds; the rest pipelined: all commands out,
    //  then all replies in. Keys of the hashed prefix go last, many to a
    //  command.
    bool *asked = (bool *)calloc (count, sizeof (bool));
    bool *tracked = (bool *)calloc (count, sizeof (bool));
    size_t *hashed = (size_t *)calloc (count, sizeof (size_t)); //  their places, by prefix
    size_t *which = (size_t *)calloc (count, sizeof (size_t));
    assert (asked && tracked && hashed && which);
    size_t hashed_count = 0;
    //  One look at what Redis announced serves the whole batch: what
    //  changed before this call began is forgotten by then
    bool drained = self->tracker && s_drain (self);
    int rc = CPEC_OK;
    for (size_t i = 0; i < count; i++)
        if (!s_hashed_field_of (self, keys[i], &which[i]))
            which[i] = S_HASHED_MAX; //  a key of its own
    for (size_t h = 0; h < self->hashed_count; h++)
        for (size_t i = 0; i < count; i++)
            if (which[i] == h)
                hashed[hashed_count++] = i;
    for (size_t i = 0; rc == CPEC_OK && i < count; i++) {
        if (which[i] != S_HASHED_MAX)
            continue;
        const s_entry_t *entry = s_cached (self, keys[i], &drained);
        if (entry)
            messages[i] = cpec_pb_unpack (descriptors[i], entry->data, entry->size);
        if (messages[i])
            continue;
        if (s_append_entity_read (self, keys[i], &tracked[i]))
            rc = s_fail (self, "cannot queue a command", status);
        asked[i] = true;
    }
    for (size_t j = 0; rc == CPEC_OK && j < hashed_count;) {
        size_t n = s_hashed_batch (hashed, which, hashed_count, j);
        if (s_append_hashed_read (self, which[hashed[j]], keys, hashed + j, n))
            rc = s_fail (self, "cannot queue a command", status);
        j += n;
    }
    if (rc != CPEC_OK) {
        free (asked);
        free (tracked);
        free (hashed);
        free (which);
        for (size_t i = 0; i < count; i++)
            cpec_pb_destroy (&messages[i]);
        return rc;
    }
    //  Every reply is read, also after an error, so that none is left queued
    for (size_t i = 0; i < count && self->redis; i++) {
        if (!asked[i])
            continue;
        redisReply *reply = s_entity_reply (self, tracked[i], status);
        if (!reply) {
            rc = status->code;
            break;
        }
        if (rc == CPEC_OK)
            rc = reply->type == REDIS_REPLY_ERROR
                     ? s_reply_error (self, reply, status)
                     : s_take_entity (self, keys[i], reply, descriptors[i], tracked[i], false,
                                      &messages[i], status);
        freeReplyObject (reply);
    }
    for (size_t j = 0, n = 0; j < hashed_count && self->redis; j += n) {
        n = s_hashed_batch (hashed, which, hashed_count, j);
        redisReply *reply = s_entity_reply (self, false, status);
        if (!reply) {
            rc = status->code;
            break;
        }
        if (rc == CPEC_OK && reply->type == REDIS_REPLY_ERROR)
            rc = s_reply_error (self, reply, status);
        else if (rc == CPEC_OK && (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 * n))
            rc = cpec_status_set (status, CPEC_INTERNAL, "redis: unexpected reply to HMGET %s",
                                  self->hashed[which[hashed[j]]].key);
        for (size_t k = 0; rc == CPEC_OK && k < n; k++) {
            //  The pair as the reply of HMGET key v pb
            redisReply pair = {
                .type = REDIS_REPLY_ARRAY, .elements = 2, .element = reply->element + 2 * k};
            size_t i = hashed[j + k];
            rc = s_take_entity (self, keys[i], &pair, descriptors[i], false, true, &messages[i],
                                status);
        }
        freeReplyObject (reply);
    }
    free (asked);
    free (tracked);
    free (hashed);
    free (which);
    if (rc)
        for (size_t i = 0; i < count; i++)
            cpec_pb_destroy (&messages[i]);
    return rc;
}

//  --------------------------------------------------------------------------
//  Set members, sorted and paged

typedef struct
{
    const char *data;
    size_t size;
} s_bytes_t;

static int
s_bytes_compare (const void *a, const void *b)
{
    const s_bytes_t *x = (const s_bytes_t *)a;
    const s_bytes_t *y = (const s_bytes_t *)b;
    size_t common = x->size < y->size ? x->size : y->size;
    int order = common ? memcmp (x->data, y->data, common) : 0;
    if (order)
        return order;
    return x->size < y->size ? -1 : x->size > y->size ? 1 : 0;
}

int
cpec_store_members (cpec_store_t *self, const char **keys, size_t count, const char *after,
                    size_t limit, char ***members, bool *more, cpec_status_t *status)
{
    assert (self);
    assert (members);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    *members = NULL;
    if (more)
        *more = false;
    if (count == 0 || !keys)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "cpec_store_members: no keys");

    const char **argv = (const char **)calloc (count + 1, sizeof (char *));
    if (!argv)
        return cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");
    argv[0] = count == 1 ? "SMEMBERS" : "SINTER";
    for (size_t i = 0; i < count; i++)
        argv[i + 1] = keys[i];
    redisReply *reply = s_command_ok (self, (int)count + 1, argv, NULL, status);
    free (argv);
    if (!reply)
        return status->code;
    if (reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject (reply);
        return cpec_status_set (status, CPEC_INTERNAL, "redis: unexpected reply to %s",
                                count == 1 ? "SMEMBERS" : "SINTER");
    }
    size_t total = reply->elements;
    s_bytes_t *sorted = (s_bytes_t *)calloc (total + 1, sizeof (s_bytes_t));
    if (!sorted) {
        freeReplyObject (reply);
        return cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");
    }
    size_t valid = 0;
    for (size_t i = 0; i < total; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING) {
            sorted[valid].data = reply->element[i]->str;
            sorted[valid].size = reply->element[i]->len;
            valid++;
        }
    if (valid > 1)
        qsort (sorted, valid, sizeof (s_bytes_t), s_bytes_compare);

    size_t first = 0;
    if (after && *after) {
        s_bytes_t bound = {after, strlen (after)};
        while (first < valid && s_bytes_compare (&sorted[first], &bound) <= 0)
            first++;
    }
    size_t page = valid - first;
    if (limit && page > limit)
        page = limit;
    char **result = (char **)calloc (page + 1, sizeof (char *));
    int rc = CPEC_OK;
    if (!result)
        rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; result && i < page; i++)
        if (!(result[i] = s_strndup (sorted[first + i].data, sorted[first + i].size))) {
            cpec_store_strings_destroy (&result);
            rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");
        }
    if (rc == CPEC_OK) {
        *members = result;
        if (more)
            *more = first + page < valid;
    }
    free (sorted);
    freeReplyObject (reply);
    return rc;
}

void
cpec_store_strings_destroy (char ***strings_p)
{
    assert (strings_p);
    char **strings = *strings_p;
    if (strings) {
        for (char **s = strings; *s; s++)
            free (*s);
        free (strings);
        *strings_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  The outbox write

//  A command line under construction: arguments borrowed or owned.
typedef struct
{
    const char **argv; //  the arguments
    size_t *lengths;   //  their lengths
    int count;         //  arguments so far
    void **owned;      //  buffers freed with the line
    int owned_count;   //  how many
    char *scratch;     //  the owned buffer numbers are written into
    size_t scratch_used;
} s_line_t;

#define S_SCRATCH_SIZE 65536

static int
s_line_init (s_line_t *self, int max)
{
    memset (self, 0, sizeof (*self));
    self->argv = (const char **)calloc ((size_t)max, sizeof (char *));
    self->lengths = (size_t *)calloc ((size_t)max, sizeof (size_t));
    self->owned = (void **)calloc ((size_t)max, sizeof (void *));
    return self->argv && self->lengths && self->owned ? 0 : -1;
}

static void
s_line_fini (s_line_t *self)
{
    for (int i = 0; self->owned && i < self->owned_count; i++)
        free (self->owned[i]);
    free (self->owned);
    free (self->argv);
    free (self->lengths);
    memset (self, 0, sizeof (*self));
}

static void
s_line_add (s_line_t *self, const void *data, size_t size)
{
    self->argv[self->count] = data ? (const char *)data : "";
    self->lengths[self->count] = data ? size : 0;
    self->count++;
}

static void
s_line_add_string (s_line_t *self, const char *string)
{
    s_line_add (self, string, strlen (string));
}

//  Adds a buffer the line now owns (NULL: out of memory, returns -1).
static int
s_line_add_owned (s_line_t *self, void *data, size_t size)
{
    if (!data)
        return -1;
    self->owned[self->owned_count++] = data;
    s_line_add (self, data, size);
    return 0;
}

static int s_line_add_format (s_line_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_line_add_format (s_line_t *self, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = NULL;
    int length = vasprintf (&text, format, args);
    va_end (args);
    if (length < 0)
        return -1;
    return s_line_add_owned (self, text, (size_t)length);
}

//  Adds prefix and a whole number, written into the line's own small
//  buffers (one allocation per 64 KiB of them, not one per number).
static int
s_line_add_number (s_line_t *self, const char *prefix, uint64_t value)
{
    char digits[24];
    size_t n = 0;
    do
        digits[n++] = (char)('0' + value % 10);
    while ((value /= 10) > 0);
    size_t length = strlen (prefix) + n;
    if (!self->scratch || self->scratch_used + length > S_SCRATCH_SIZE) {
        self->scratch = (char *)malloc (S_SCRATCH_SIZE);
        if (!self->scratch)
            return -1;
        self->owned[self->owned_count++] = self->scratch;
        self->scratch_used = 0;
    }
    char *text = self->scratch + self->scratch_used;
    size_t at = strlen (prefix);
    memcpy (text, prefix, at);
    while (n > 0)
        text[at++] = digits[--n];
    self->scratch_used += length;
    s_line_add (self, text, length);
    return 0;
}

//  Adds a score: a whole number as such, anything else to 17 digits.
static int
s_line_add_score (s_line_t *self, double score)
{
    if (score >= 0 && score < 9007199254740992.0 && score == (double)(uint64_t)score)
        return s_line_add_number (self, "", (uint64_t)score);
    return s_line_add_format (self, "%.17g", score);
}

static int
s_line_add_packed (s_line_t *self, const ProtobufCMessage *message)
{
    if (!message) {
        s_line_add (self, "", 0);
        return 0;
    }
    size_t size;
    uint8_t *packed = cpec_pb_pack (message, &size);
    return s_line_add_owned (self, packed, size);
}

//  Runs a script by EVALSHA, loading it once per connection and falling back
//  to EVAL on NOSCRIPT. line->argv[0..1] are left for the command and the
//  script. Returns the reply (possibly an error reply) or NULL (UNAVAILABLE).
static redisReply *
s_eval (cpec_store_t *self, const char *script, char sha[41], s_line_t *line, cpec_status_t *status)
{
    if (s_connect (self, status))
        return NULL;
    if (!*sha) {
        const char *argv[3] = {"SCRIPT", "LOAD", script};
        redisReply *reply = s_command_ok (self, 3, argv, NULL, status);
        if (!reply)
            return NULL;
        if (reply->type == REDIS_REPLY_STRING && reply->len == 40)
            memcpy (sha, reply->str, 41);
        freeReplyObject (reply);
    }
    redisReply *reply = NULL;
    if (*sha) {
        line->argv[0] = "EVALSHA";
        line->lengths[0] = 7;
        line->argv[1] = sha;
        line->lengths[1] = 40;
        reply = s_command (self, line->count, line->argv, line->lengths, status);
        if (!reply || reply->type != REDIS_REPLY_ERROR || !s_starts_with (reply->str, "NOSCRIPT"))
            return reply;
        freeReplyObject (reply);
    }
    //  The script cache was flushed (or SCRIPT LOAD failed): EVAL caches it again
    line->argv[0] = "EVAL";
    line->lengths[0] = 4;
    line->argv[1] = script;
    line->lengths[1] = strlen (script);
    return s_command (self, line->count, line->argv, line->lengths, status);
}

//  The script's own error codes, and what they map to.
redisReply *
cpec_store_command (cpec_store_t *self, int argc, const char **argv, const size_t *lengths,
                    cpec_status_t *status)
{
    assert (self && argc > 0 && argv);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    return s_command_ok (self, argc, argv, lengths, status);
}

static const struct
{
    const char *prefix;
    int code;
} s_script_errors[] = {{"ABORTED ", CPEC_ABORTED},
                       {"ALREADY_EXISTS ", CPEC_ALREADY_EXISTS},
                       {"NOT_FOUND ", CPEC_NOT_FOUND},
                       {"INVALID ", CPEC_INVALID_ARGUMENT}};

//  The status of a script's error reply: the code it starts with (as
//  write.lua's refusals do), else as any error reply. Returns the code.
static int
s_script_error (cpec_store_t *self, const redisReply *reply, cpec_status_t *status)
{
    for (size_t i = 0; i < sizeof (s_script_errors) / sizeof (s_script_errors[0]); i++)
        if (s_starts_with (reply->str, s_script_errors[i].prefix))
            return cpec_status_set (status, s_script_errors[i].code, "%s",
                                    reply->str + strlen (s_script_errors[i].prefix));
    return s_reply_error (self, reply, status);
}

redisReply *
cpec_store_script (cpec_store_t *self, const char *script, char sha[41], int argc,
                   const char **argv, const size_t *lengths, cpec_status_t *status)
{
    assert (self && script && sha && argc >= 1 && argv);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    s_line_t line;
    if (s_line_init (&line, argc + 2)) {
        s_line_fini (&line);
        cpec_status_set (status, CPEC_INTERNAL, "out of memory");
        return NULL;
    }
    line.count = 2; //  EVALSHA sha, filled by s_eval
    for (int i = 0; i < argc; i++)
        s_line_add (&line, argv[i], lengths ? lengths[i] : strlen (argv[i]));
    redisReply *reply = s_eval (self, script, sha, &line, status);
    s_line_fini (&line);
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        s_script_error (self, reply, status);
        freeReplyObject (reply);
        reply = NULL;
    }
    return reply;
}

int
cpec_store_replayed (cpec_store_t *self, const char *request_id,
                     const ProtobufCMessageDescriptor *descriptor, ProtobufCMessage **answer,
                     cpec_status_t *status)
{
    assert (self && request_id && descriptor && answer);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    *answer = NULL;
    char key[512];
    snprintf (key, sizeof (key), "%s%s", S_REQUEST_PREFIX, request_id);
    const char *argv[2] = {"GET", key};
    redisReply *reply = s_command_ok (self, 2, argv, NULL, status);
    if (!reply)
        return status->code;
    int rc = CPEC_OK;
    if (reply->type == REDIS_REPLY_STRING) {
        *answer = cpec_pb_unpack (descriptor, (const uint8_t *)reply->str, reply->len);
        if (!*answer)
            rc = cpec_status_set (status, CPEC_DATA_LOSS, "%s: stored answer does not decode as %s",
                                  key, descriptor->name);
    }
    freeReplyObject (reply);
    return rc;
}

static const char *
s_op_name (cpec_store_op_t op)
{
    switch (op) {
        case CPEC_STORE_SADD: return "1";
        case CPEC_STORE_SREM: return "2";
        case CPEC_STORE_ZADD: return "3";
        case CPEC_STORE_ZREM: return "4";
        case CPEC_STORE_INCRBYFLOAT: return "5";
        case CPEC_STORE_ZADD_LAST: return "6";
    }
    return NULL;
}

//  The index operations from `first` that make one run: in a row, one key,
//  one op (an INCRBYFLOAT is a run of its own).
static size_t
s_run_length (const cpec_store_write_t *write, size_t first)
{
    const cpec_store_index_t *head = &write->indexes[first];
    size_t end = first + 1;
    while (head->op != CPEC_STORE_INCRBYFLOAT && end < write->index_count &&
           write->indexes[end].op == head->op && strcmp (write->indexes[end].key, head->key) == 0)
        end++;
    return end - first;
}

//  Builds the EVALSHA line for write.lua (see its header for the layout).
static int
s_write_line (cpec_store_t *self, const cpec_store_write_t *write, s_line_t *line,
              cpec_status_t *status)
{
    size_t runs = 0;
    for (size_t i = 0; i < write->index_count; i += s_run_length (write, i))
        runs++;
    //  Each put's group: the hashed prefix it is under, or S_HASHED_MAX
    size_t *group = (size_t *)cpec_realloc (NULL, (write->put_count + 1) * sizeof (size_t));
    size_t per_hash[S_HASHED_MAX] = {0}; //  puts under each hashed prefix
    size_t fields = 0, hashes = 0;
    for (size_t i = 0; i < write->put_count; i++) {
        if (!s_hashed_field_of (self, write->puts[i].key, &group[i]))
            group[i] = S_HASHED_MAX;
        else {
            hashes += per_hash[group[i]]++ == 0;
            fields++;
        }
    }
    size_t entities = write->put_count - fields;
    int keys = 2 + (int)entities + (int)runs + (int)hashes;
    int args = 6 + 2 * (int)entities + (int)hashes + 3 * (int)fields + 2 * (int)runs +
               2 * (int)write->index_count +
               2 * (int)write->event_count; //  at most: members alone take one
    if (s_line_init (line, 3 + keys + args)) {
        free (group);
        return cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");
    }
    s_line_add_string (line, "EVALSHA");
    s_line_add_string (line, "");
    int rc = s_line_add_format (line, "%d", keys);

    //  KEYS
    rc = rc ? rc : s_line_add_format (line, "%s%s", S_REQUEST_PREFIX, write->request_id);
    s_line_add_string (line, CPEC_STORE_EVENTS_KEY);
    for (size_t i = 0; i < write->put_count; i++)
        if (group[i] == S_HASHED_MAX)
            s_line_add_string (line, write->puts[i].key);
    for (size_t i = 0; i < write->index_count; i += s_run_length (write, i))
        s_line_add_string (line, write->indexes[i].key);
    for (size_t h = 0; h < self->hashed_count; h++)
        if (per_hash[h])
            s_line_add_string (line, self->hashed[h].key);

    //  ARGV
    rc = rc ? rc : s_line_add_format (line, "%d", self->idempotency_ttl);
    rc = rc ? rc : s_line_add_number (line, "", entities);
    rc = rc ? rc : s_line_add_number (line, "", runs);
    rc = rc ? rc : s_line_add_number (line, "", write->event_count);
    rc = rc ? rc : s_line_add_packed (line, write->answer);
    rc = rc ? rc : s_line_add_number (line, "", hashes);
    //  The entities of their own, then those of each hash after its count
    for (size_t step = 0; step <= self->hashed_count; step++) {
        size_t hash = step == 0 ? S_HASHED_MAX : step - 1;
        if (hash != S_HASHED_MAX) {
            if (per_hash[hash] == 0)
                continue;
            rc = rc ? rc : s_line_add_number (line, "", per_hash[hash]);
        }
        for (size_t i = 0; i < write->put_count; i++) {
            if (group[i] != hash)
                continue;
            //  "d<version>": delete the entity (no message)
            rc = rc ? rc
                    : s_line_add_number (line, write->puts[i].message ? "" : "d",
                                         write->puts[i].expected_version);
            if (hash != S_HASHED_MAX) //  its name in the hash
                s_line_add_string (line, write->puts[i].key + self->hashed[hash].length);
            if (write->puts[i].message)
                rc = rc ? rc : s_line_add_packed (line, write->puts[i].message);
            else
                s_line_add_string (line, "");
        }
    }
    for (size_t i = 0; i < write->index_count;) {
        size_t length = s_run_length (write, i);
        s_line_add_string (line, s_op_name (write->indexes[i].op));
        rc = rc ? rc : s_line_add_number (line, "", length);
        for (size_t end = i + length; i < end; i++) {
            const cpec_store_index_t *index = &write->indexes[i];
            if (index->op == CPEC_STORE_ZADD || index->op == CPEC_STORE_INCRBYFLOAT)
                rc = rc ? rc : s_line_add_score (line, index->score);
            if (index->op != CPEC_STORE_INCRBYFLOAT)
                s_line_add_string (line, index->member ? index->member : "");
        }
    }
    for (size_t i = 0; i < write->event_count; i++) {
        const Cpec__V1__Event *event = write->events[i];
        s_line_add_string (line, event->type ? event->type : "");
        rc = rc ? rc : s_line_add_packed (line, &event->base);
    }
    assert (rc || line->count <= 3 + keys + args);
    free (group);
    return rc ? cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory") : 0;
}

static int
s_write_check (const cpec_store_write_t *write, cpec_status_t *status)
{
    if (!write->request_id || !*write->request_id)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "a write needs a request id");
    for (size_t i = 0; i < write->put_count; i++)
        assert (write->puts[i].key);
    for (size_t i = 0; i < write->event_count; i++)
        assert (write->events[i]);
    for (size_t i = 0; i < write->index_count; i++) {
        const cpec_store_index_t *index = &write->indexes[i];
        assert (index->key);
        if (!s_op_name (index->op))
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "unknown index operation %d on %s", (int)index->op, index->key);
        if ((index->op == CPEC_STORE_ZADD || index->op == CPEC_STORE_INCRBYFLOAT) &&
            !isfinite (index->score))
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "score for %s is not finite",
                                    index->key);
    }
    return 0;
}

int
cpec_store_write (cpec_store_t *self, const cpec_store_write_t *write,
                  const ProtobufCMessageDescriptor *answer_descriptor, ProtobufCMessage **replayed,
                  char **stream_id, cpec_status_t *status)
{
    assert (self);
    assert (write);
    assert (write->puts || write->put_count == 0);
    assert (write->indexes || write->index_count == 0);
    assert (write->events || write->event_count == 0);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    if (replayed)
        *replayed = NULL;
    if (stream_id)
        *stream_id = NULL;
    if (s_write_check (write, status))
        return status->code;

    s_line_t line;
    if (s_write_line (self, write, &line, status)) {
        s_line_fini (&line);
        return status->code;
    }
    redisReply *reply = s_eval (self, cpec_lua_write, self->write_sha, &line, status);
    s_line_fini (&line);
    if (!reply)
        return status->code;

    int rc = CPEC_OK;
    if (reply->type == REDIS_REPLY_ERROR)
        rc = s_script_error (self, reply, status);
    else if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
             reply->element[0]->type != REDIS_REPLY_INTEGER ||
             reply->element[1]->type != REDIS_REPLY_STRING)
        rc = cpec_status_set (status, CPEC_INTERNAL, "redis: unexpected reply from write.lua");
    else if (reply->element[0]->integer == 0) {
        //  Seen before: the first answer, nothing written
        if (answer_descriptor && replayed) {
            const redisReply *answer = reply->element[1];
            *replayed =
                cpec_pb_unpack (answer_descriptor, (const uint8_t *)answer->str, answer->len);
            if (!*replayed)
                rc = cpec_status_set (status, CPEC_DATA_LOSS,
                                      "%s%s: stored answer does not decode as %s", S_REQUEST_PREFIX,
                                      write->request_id, answer_descriptor->name);
        }
    } else if (stream_id && reply->element[1]->len > 0)
        *stream_id = s_strndup (reply->element[1]->str, reply->element[1]->len);
    freeReplyObject (reply);
    //  Redis announces the change too; forgetting now costs nothing.
    for (size_t i = 0; self->cache && i < write->put_count; i++)
        zhashx_delete (self->cache, write->puts[i].key);
    if (rc == CPEC_OK && self->redis) {
        //  The fence: Redis flushes every pending output (the invalidations
        //  for other processes' caches among them) before it reads another
        //  command, so once this PING is answered they have left Redis,
        //  and our caller's acknowledgement cannot overtake them.
        const char *argv[1] = {"PING"};
        redisReply *pong = s_command (self, 1, argv, NULL, NULL);
        if (pong)
            freeReplyObject (pong);
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  Reading the event stream

//  Appends the decodable entries of an XREAD reply; *last gets the id of the
//  last entry seen (decodable or not), *seen how many entries there were.
static int
s_collect_events (const redisReply *reply, Cpec__V1__Event ***events, char ***ids, size_t *filled,
                  size_t *capacity, char *last, size_t last_size, size_t *seen)
{
    *seen = 0;
    if (reply->type == REDIS_REPLY_NIL)
        return 0;
    if (reply->type != REDIS_REPLY_ARRAY)
        return -1;
    for (size_t s = 0; s < reply->elements; s++) {
        const redisReply *stream = reply->element[s];
        if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2 ||
            stream->element[1]->type != REDIS_REPLY_ARRAY)
            return -1;
        const redisReply *entries = stream->element[1];
        for (size_t e = 0; e < entries->elements; e++) {
            const redisReply *entry = entries->element[e];
            if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
                entry->element[0]->type != REDIS_REPLY_STRING)
                continue;
            (*seen)++;
            snprintf (last, last_size, "%s", entry->element[0]->str);
            const redisReply *fields = entry->element[1];
            if (fields->type != REDIS_REPLY_ARRAY)
                continue;
            Cpec__V1__Event *event = NULL;
            for (size_t f = 0; f + 1 < fields->elements && !event; f += 2)
                if (fields->element[f]->type == REDIS_REPLY_STRING &&
                    strcmp (fields->element[f]->str, "pb") == 0 &&
                    fields->element[f + 1]->type == REDIS_REPLY_STRING)
                    event = (Cpec__V1__Event *)cpec_pb_unpack (
                        &cpec__v1__event__descriptor, (const uint8_t *)fields->element[f + 1]->str,
                        fields->element[f + 1]->len);
            if (!event)
                continue; //  malformed: skipped
            if (*filled + 1 >= *capacity) {
                size_t grown = *capacity * 2;
                Cpec__V1__Event **more_events =
                    (Cpec__V1__Event **)realloc (*events, grown * sizeof (void *));
                if (more_events)
                    *events = more_events;
                char **more_ids = (char **)realloc (*ids, grown * sizeof (char *));
                if (more_ids)
                    *ids = more_ids;
                if (!more_events || !more_ids) {
                    cpec_pb_destroy ((ProtobufCMessage **)&event);
                    return -2;
                }
                *capacity = grown;
            }
            char *id = s_strndup (entry->element[0]->str, entry->element[0]->len);
            if (!id) {
                cpec_pb_destroy ((ProtobufCMessage **)&event);
                return -2;
            }
            (*events)[*filled] = event;
            (*ids)[*filled] = id;
            (*filled)++;
            (*events)[*filled] = NULL;
            (*ids)[*filled] = NULL;
        }
    }
    return 0;
}

int
cpec_store_read_events (cpec_store_t *self, const char *after_id, size_t count, int block_ms,
                        Cpec__V1__Event ***events, char ***ids, cpec_status_t *status)
{
    assert (self);
    assert (events);
    cpec_status_t local_status;
    if (!status)
        status = &local_status;
    cpec_status_clear (status);
    *events = NULL;
    if (ids)
        *ids = NULL;
    if (count == 0)
        count = S_READ_COUNT_DEFAULT;
    char cursor[64];
    snprintf (cursor, sizeof (cursor), "%s", after_id && *after_id ? after_id : "0-0");

    size_t capacity = 16, filled = 0;
    Cpec__V1__Event **collected = (Cpec__V1__Event **)calloc (capacity, sizeof (void *));
    char **collected_ids = (char **)calloc (capacity, sizeof (char *));
    int rc = CPEC_OK;
    if (!collected || !collected_ids)
        rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");

    //  When a whole batch is malformed, read on past it (within the block
    //  time) so that the caller is never stuck before undecodable entries.
    int64_t deadline = cpec_clock_ms () + (block_ms > 0 ? block_ms : 0);
    while (rc == CPEC_OK) {
        int wait = block_ms > 0 ? (int)(deadline - cpec_clock_ms ()) : 0;
        char count_text[24], block_text[16];
        snprintf (count_text, sizeof (count_text), "%zu", count);
        snprintf (block_text, sizeof (block_text), "%d", wait);
        const char *argv[8] = {"XREAD", "COUNT", count_text};
        int argc = 3;
        if (wait > 0) {
            argv[argc++] = "BLOCK";
            argv[argc++] = block_text;
        }
        argv[argc++] = "STREAMS";
        argv[argc++] = CPEC_STORE_EVENTS_KEY;
        argv[argc++] = cursor;

        if (s_connect (self, status)) {
            rc = status->code;
            break;
        }
        if (wait > 0)
            redisSetTimeout (self->redis, s_timeval (wait + S_COMMAND_TIMEOUT_MS));
        redisReply *reply = s_command_ok (self, argc, argv, NULL, status);
        if (wait > 0 && self->redis)
            redisSetTimeout (self->redis, s_timeval (S_COMMAND_TIMEOUT_MS));
        if (!reply) {
            rc = status->code;
            break;
        }
        size_t seen = 0;
        int collect = s_collect_events (reply, &collected, &collected_ids, &filled, &capacity,
                                        cursor, sizeof (cursor), &seen);
        freeReplyObject (reply);
        if (collect == -1)
            rc = cpec_status_set (status, CPEC_INTERNAL, "redis: unexpected reply to XREAD");
        else if (collect == -2)
            rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED, "out of memory");
        if (seen == 0 || filled > 0)
            break;
    }
    if (rc) {
        cpec_store_events_destroy (&collected);
        cpec_store_strings_destroy (&collected_ids);
        free (collected);
        free (collected_ids);
        return rc;
    }
    *events = collected;
    if (ids)
        *ids = collected_ids;
    else
        cpec_store_strings_destroy (&collected_ids);
    return CPEC_OK;
}

void
cpec_store_events_destroy (Cpec__V1__Event ***events_p)
{
    assert (events_p);
    Cpec__V1__Event **events = *events_p;
    if (events) {
        for (Cpec__V1__Event **e = events; *e; e++)
            cpec_pb_destroy ((ProtobufCMessage **)e);
        free (events);
        *events_p = NULL;
    }
}

extern const char cpec_lua_claim[];

int
cpec_store_claim (cpec_store_t *self, char sha[41], const char *timers, const char *leases,
                  int64_t now, size_t limit, int lease_ms, char ***members_p, int64_t *next,
                  cpec_status_t *status)
{
    assert (self && timers && leases && members_p && next);
    *members_p = NULL;
    *next = -1;
    char now_text[32], limit_text[32], lease[16], token[37];
    snprintf (now_text, sizeof (now_text), "%lld", (long long)now);
    snprintf (limit_text, sizeof (limit_text), "%zu", limit);
    snprintf (lease, sizeof (lease), "%d", lease_ms);
    cpec_uuid (token);
    const char *argv[] = {"2", timers, leases, now_text, limit_text, lease, token};
    redisReply *reply = cpec_store_script (self, cpec_lua_claim, sha, 7, argv, NULL, status);
    if (!reply)
        return status->code;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject (reply);
        return cpec_status_set (status, CPEC_INTERNAL, "claim.lua: unexpected reply");
    }
    redisReply *taken = reply->element[0];
    char **members = (char **)cpec_realloc (NULL, (taken->elements + 1) * sizeof (char *));
    size_t count = 0;
    for (size_t i = 0; i < taken->elements; i++)
        if (taken->element[i]->str)
            members[count++] = cpec_strdup (taken->element[i]->str);
    members[count] = NULL;
    *next = reply->element[1]->str ? atoll (reply->element[1]->str) : -1;
    freeReplyObject (reply);
    *members_p = members;
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  Watching keys by prefix

struct _cpec_watch_t
{
    cpec_store_t *address;  //  the parsed URL (host, port, credentials)
    char **prefixes;        //  NULL-terminated
    redisContext *control;  //  holds the tracking on (BCAST, REDIRECT)
    redisContext *listener; //  subscribed to __redis__:invalidate
    int64_t ping_at;        //  when the listener was last pinged (monotonic ms)
    bool pong_due;          //  and its answer has not come yet
};

#define S_WATCH_PING_MS 500  //  the listener is pinged this often
#define S_WATCH_PONG_MS 1500 //  and lost when its answer is this late

static void
s_watch_close (cpec_watch_t *self)
{
    if (self->control)
        redisFree (self->control);
    if (self->listener)
        redisFree (self->listener);
    self->control = self->listener = NULL;
    self->pong_due = false;
}

//  Starts watching: true when Redis now announces every change under the
//  prefixes to the listener.
static bool
s_watch_start (cpec_watch_t *self)
{
    char client_id[32];
    if (!(self->listener = s_listener_open (self->address, client_id)) ||
        !(self->control = s_connect_aux (self->address))) {
        s_watch_close (self);
        return false;
    }
    size_t count = 0;
    while (self->prefixes[count])
        count++;
    const char **argv = (const char **)calloc (6 + 2 * count, sizeof (char *));
    assert (argv);
    int argc = 0;
    argv[argc++] = "CLIENT";
    argv[argc++] = "TRACKING";
    argv[argc++] = "on";
    argv[argc++] = "REDIRECT";
    argv[argc++] = client_id;
    argv[argc++] = "BCAST";
    for (size_t i = 0; i < count; i++) {
        argv[argc++] = "PREFIX";
        argv[argc++] = self->prefixes[i];
    }
    redisReply *on = (redisReply *)redisCommandArgv (self->control, argc, argv, NULL);
    free (argv);
    bool ok = on && on->type == REDIS_REPLY_STATUS;
    if (on)
        freeReplyObject (on);
    if (!ok)
        s_watch_close (self);
    return ok;
}

cpec_watch_t *
cpec_watch_new (const char *url, const char *const *prefixes)
{
    assert (prefixes && prefixes[0]);
    cpec_store_t *address = cpec_store_new (url);
    if (!address)
        return NULL;
    cpec_watch_t *self = (cpec_watch_t *)calloc (1, sizeof (cpec_watch_t));
    assert (self);
    self->address = address;
    size_t count = 0;
    while (prefixes[count])
        count++;
    self->prefixes = (char **)calloc (count + 1, sizeof (char *));
    assert (self->prefixes);
    for (size_t i = 0; i < count; i++)
        self->prefixes[i] = cpec_strdup (prefixes[i]);
    return self;
}

void
cpec_watch_destroy (cpec_watch_t **self_p)
{
    assert (self_p);
    cpec_watch_t *self = *self_p;
    if (!self)
        return;
    s_watch_close (self);
    for (size_t i = 0; self->prefixes[i]; i++)
        free (self->prefixes[i]);
    free (self->prefixes);
    cpec_store_destroy (&self->address);
    free (self);
    *self_p = NULL;
}

bool
cpec_watch_start (cpec_watch_t *self)
{
    assert (self);
    s_watch_close (self);
    if (!s_watch_start (self))
        return false;
    self->ping_at = cpec_clock_ms ();
    return true;
}

//  Pings the listener when it is time: a connection that went silent (a
//  partition, a host gone without closing) shows by its missing answer.
//  False when that answer is late.
static bool
s_watch_heartbeat (cpec_watch_t *self)
{
    int64_t now = cpec_clock_ms ();
    if (self->pong_due)
        return now - self->ping_at < S_WATCH_PONG_MS;
    if (now - self->ping_at < S_WATCH_PING_MS)
        return true;
    //  a subscribed connection may PING; its answer is ["pong", ""]
    if (redisAppendCommand (self->listener, "PING") != REDIS_OK)
        return false;
    int done = 0;
    while (!done)
        if (redisBufferWrite (self->listener, &done) != REDIS_OK)
            return false;
    self->ping_at = now;
    self->pong_due = true;
    return true;
}

bool
cpec_watch_drain (cpec_watch_t *self, cpec_watch_fn *fn, void *arg)
{
    assert (self && fn);
    if (!self->listener)
        return false;
    bool lost = !s_watch_heartbeat (self);
    while (!lost) {
        struct pollfd items[2] = {{self->listener->fd, POLLIN, 0}, {self->control->fd, POLLIN, 0}};
        int ready = poll (items, 2, 0);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready == 0)
            return true;
        //  the control connection says nothing unless it is closing
        if (ready < 0 || items[1].revents || redisBufferRead (self->listener) != REDIS_OK)
            break;
        void *any = NULL;
        while (redisReaderGetReply (self->listener->reader, &any) == REDIS_OK && any) {
            redisReply *reply = (redisReply *)any;
            //  an invalidation, or the answer to a ping: ["pong", ""]
            if (!s_invalidation (reply, fn, arg) && reply->type == REDIS_REPLY_ARRAY &&
                reply->elements >= 1 && reply->element[0]->type == REDIS_REPLY_STRING &&
                strcmp (reply->element[0]->str, "pong") == 0)
                self->pong_due = false;
            freeReplyObject (reply);
            any = NULL;
        }
        if (self->listener->reader->err)
            break;
    }
    s_watch_close (self);
    fn (arg, NULL);
    return false;
}
