/*  gw_cache - tokens and the registry's answers kept in process, exact
    through a watch of their keys in Redis.
*/
#include "gw_cache.h"

#include <assert.h>
#include <czmq.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_log.h"
#include "cpec_pb.h"
#include "cpec_store.h"

#define S_TOKEN_PREFIX "cpec:tok:"

typedef struct
{
    char hash[65];
    uint8_t *packed; //  the principal
    size_t size;
} s_token_t;

typedef struct
{
    char *body;
    char etag[32];
} s_answer_t;

#define S_BYTES_MAX (64 * 1024 * 1024) //  answers kept, in bytes at most

struct _gw_cache_t
{
    pthread_mutex_t lock;
    cpec_watch_t *watch; //  NULL while (re)connecting, outside the lock
    bool live;           //  the watch holds: what is kept can be trusted
    int64_t retry_at;    //  no new start before (monotonic ms)
    size_t max_entries;
    size_t bytes;      //  of the answers kept
    zhashx_t *tokens;  //  token id (16 hex digits) -> s_token_t
    zhashx_t *answers; //  key -> s_answer_t
    uint64_t token_generation;
    uint64_t answer_generation;
};

static void
s_token_free (void **item)
{
    s_token_t *token = (s_token_t *)*item;
    if (token) {
        free (token->packed);
        free (token);
        *item = NULL;
    }
}

static void
s_answer_free (void **item)
{
    s_answer_t *answer = (s_answer_t *)*item;
    if (answer) {
        free (answer->body);
        free (answer);
        *item = NULL;
    }
}

gw_cache_t *
gw_cache_new (const char *redis_url, size_t max_entries)
{
    static const char *const prefixes[] = {S_TOKEN_PREFIX, "cpec:sez:", "cpec:ent:", NULL};
    cpec_watch_t *watch = cpec_watch_new (redis_url, prefixes);
    if (!watch)
        return NULL;
    gw_cache_t *self = (gw_cache_t *)calloc (1, sizeof (gw_cache_t));
    assert (self);
    pthread_mutex_init (&self->lock, NULL);
    self->watch = watch;
    self->max_entries = max_entries;
    self->tokens = zhashx_new ();
    zhashx_set_destructor (self->tokens, s_token_free);
    self->answers = zhashx_new ();
    zhashx_set_destructor (self->answers, s_answer_free);
    return self;
}

void
gw_cache_destroy (gw_cache_t **self_p)
{
    assert (self_p);
    gw_cache_t *self = *self_p;
    if (!self)
        return;
    cpec_watch_destroy (&self->watch);
    zhashx_destroy (&self->tokens);
    zhashx_destroy (&self->answers);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

//  What a change announced means here.
static void
s_changed (void *arg, const char *key)
{
    gw_cache_t *self = (gw_cache_t *)arg;
    if (key && strncmp (key, S_TOKEN_PREFIX, strlen (S_TOKEN_PREFIX)) == 0) {
        zhashx_delete (self->tokens, key + strlen (S_TOKEN_PREFIX));
        self->token_generation++;
        return;
    }
    //  a zone or an enterprise changed: a list, a page, a zone's
    //  enterprises may all show it
    zhashx_purge (self->answers);
    self->bytes = 0;
    self->answer_generation++;
    if (!key) {
        zhashx_purge (self->tokens);
        self->token_generation++;
    }
}

//  Drains the watch; true when what is kept can be trusted. Called locked;
//  a lost watch is started again at most once a second, the lock released
//  meanwhile (connecting may block: no request waits behind it).
static bool
s_sync (gw_cache_t *self)
{
    if (self->max_entries == 0)
        return false;
    if (self->live && cpec_watch_drain (self->watch, s_changed, self))
        return true;
    if (self->live)
        cpec_log_warn (NULL, "kept answers off: the watch of Redis was lost; starting it again");
    self->live = false;
    if (!self->watch || cpec_clock_ms () < self->retry_at)
        return false; //  another thread is starting it, or not yet time
    cpec_watch_t *watch = self->watch;
    self->watch = NULL;
    pthread_mutex_unlock (&self->lock);
    bool started = cpec_watch_start (watch);
    pthread_mutex_lock (&self->lock);
    self->watch = watch;
    if (!started) {
        self->retry_at = cpec_clock_ms () + 1000;
        return false;
    }
    //  watching again: what was kept before may be stale
    s_changed (self, NULL);
    self->live = true;
    cpec_log_info (NULL, "kept answers on: watching Redis for changes");
    return true;
}

Cpec__V1__Principal *
gw_cache_token (gw_cache_t *self, const char *hash, uint64_t *generation)
{
    Cpec__V1__Principal *who = NULL;
    char id[17];
    memcpy (id, hash, 16);
    id[16] = '\0';
    pthread_mutex_lock (&self->lock);
    if (s_sync (self)) {
        s_token_t *token = (s_token_t *)zhashx_lookup (self->tokens, id);
        if (token && strcmp (token->hash, hash) == 0)
            who = cpec__v1__principal__unpack (NULL, token->size, token->packed);
    }
    *generation = self->token_generation;
    pthread_mutex_unlock (&self->lock);
    return who;
}

void
gw_cache_token_put (gw_cache_t *self, const char *hash, const Cpec__V1__Principal *who,
                    uint64_t generation)
{
    s_token_t *token = (s_token_t *)calloc (1, sizeof (s_token_t));
    assert (token);
    snprintf (token->hash, sizeof (token->hash), "%s", hash);
    token->size = cpec__v1__principal__get_packed_size (who);
    token->packed = (uint8_t *)malloc (token->size ? token->size : 1);
    assert (token->packed);
    cpec__v1__principal__pack (who, token->packed);
    char id[17];
    memcpy (id, hash, 16);
    id[16] = '\0';
    pthread_mutex_lock (&self->lock);
    if (s_sync (self) && generation == self->token_generation) {
        if (zhashx_size (self->tokens) >= self->max_entries)
            zhashx_purge (self->tokens); //  bounded: start afresh
        zhashx_update (self->tokens, id, token);
        token = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    if (token)
        s_token_free ((void **)&token);
}

bool
gw_cache_answer (gw_cache_t *self, const char *key, char **body, char *etag, uint64_t *generation)
{
    bool found = false;
    pthread_mutex_lock (&self->lock);
    if (s_sync (self)) {
        s_answer_t *answer = (s_answer_t *)zhashx_lookup (self->answers, key);
        if (answer) {
            *body = cpec_strdup (answer->body);
            memcpy (etag, answer->etag, sizeof (answer->etag));
            found = true;
        }
    }
    *generation = self->answer_generation;
    pthread_mutex_unlock (&self->lock);
    return found;
}

void
gw_cache_answer_put (gw_cache_t *self, const char *key, const char *body, const char *etag,
                     uint64_t generation)
{
    s_answer_t *answer = (s_answer_t *)calloc (1, sizeof (s_answer_t));
    assert (answer);
    answer->body = cpec_strdup (body);
    snprintf (answer->etag, sizeof (answer->etag), "%s", etag ? etag : "");
    pthread_mutex_lock (&self->lock);
    size_t size = strlen (answer->body) + strlen (key);
    if (s_sync (self) && generation == self->answer_generation) {
        if (zhashx_size (self->answers) >= self->max_entries || self->bytes + size > S_BYTES_MAX) {
            zhashx_purge (self->answers); //  bounded: start afresh
            self->bytes = 0;
        }
        s_answer_t *old = (s_answer_t *)zhashx_lookup (self->answers, key);
        if (old)
            self->bytes -= strlen (old->body) + strlen (key);
        zhashx_update (self->answers, key, answer);
        self->bytes += size;
        answer = NULL;
    }
    pthread_mutex_unlock (&self->lock);
    if (answer)
        s_answer_free ((void **)&answer);
}
