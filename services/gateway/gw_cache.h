/*  gw_cache - what the gateway keeps in process so that a read need not go
    to Redis or through the broker: the principals of the tokens it has
    checked, and the encoded answers of the registry's reads (zones are read
    far more than they change: every dashboard, every provincial system).

    Exact, not time-bound: a watch on the keys of the tokens (cpec:tok:) and
    of the registry (cpec:sez:, cpec:ent:) announces every change of them
    (common/cpec_store.h, cpec_watch_t), and every lookup drains it first;
    writers acknowledge only after their change was announced, so an answer
    kept here never predates an acknowledged write, and a revoked token stops
    working at once. An answer computed while a change came in is not kept
    (a generation counter). The watch pings Redis twice a second: a
    connection gone silent is noticed within 1.5 s. While the watch is lost
    nothing is kept or served from here; it starts again at most once a
    second, outside the lock (no request waits on a slow Redis). At most
    max_entries answers and 64 MiB. Thread-safe.
*/
#ifndef GW_CACHE_H_INCLUDED
#define GW_CACHE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/envelope.pb-c.h"

typedef struct _gw_cache_t gw_cache_t;

//  A cache of at most max_entries answers and as many tokens for the Redis
//  at redis_url. NULL when the URL is bad.
gw_cache_t *gw_cache_new (const char *redis_url, size_t max_entries);

//  Frees; idempotent.
void gw_cache_destroy (gw_cache_t **self_p);

//  The principal of the token whose SHA-256 is hash (hex), a copy to
//  destroy, or NULL; *generation is what a gw_cache_token_put after a miss
//  must give back.
Cpec__V1__Principal *gw_cache_token (gw_cache_t *self, const char *hash, uint64_t *generation);

//  Keeps a token's principal, unless a token changed since the lookup that
//  returned generation.
void gw_cache_token_put (gw_cache_t *self, const char *hash, const Cpec__V1__Principal *who,
                         uint64_t generation);

//  The answer kept under key: true with *body (malloc'd) and etag (32
//  bytes) set; false with *generation for a later put.
bool gw_cache_answer (gw_cache_t *self, const char *key, char **body, char *etag,
                      uint64_t *generation);

//  Keeps an answer, unless the registry changed since the lookup that
//  returned generation.
void gw_cache_answer_put (gw_cache_t *self, const char *key, const char *body, const char *etag,
                          uint64_t generation);

#endif
