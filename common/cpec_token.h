/*  cpec_token - the bearer tokens of the HTTP API: issued by an operator
    (cpecctl token create), checked by the gateway on every request,
    revoked at once (cpecctl token revoke).

    A token is "cpec_" and 64 hex digits from the system's random source; it
    is shown once, when it is made, and never stored: Redis keeps its
    SHA-256 under cpec:tok:{id} (id: the first 16 hex digits of the hash),
    with its role, province, enterprise and subject. Checking compares the
    whole hash in constant time. No token is ever logged.
*/
#ifndef CPEC_TOKEN_H_INCLUDED
#define CPEC_TOKEN_H_INCLUDED

#include "cpec/v1/envelope.pb-c.h"
#include "cpec_status.h"
#include "cpec_store.h"

#define CPEC_TOKEN_ID_SIZE 17 //  16 hex digits and the NUL

//  Makes a token for a role (ADMIN, PROVINCE with a province, ENTERPRISE
//  with an enterprise id, VIEWER) and a subject (who it is for: audits
//  name it). OK with *token (malloc'd; show it once) and id set;
//  INVALID_ARGUMENT for a bad role or a missing scope; UNAVAILABLE.
int cpec_token_create (cpec_store_t *store, int role, const char *province, const char *enterprise,
                       const char *subject, char **token, char id[CPEC_TOKEN_ID_SIZE],
                       cpec_status_t *status);

//  The principal of a token: OK with *principal (destroy with
//  cpec_pb_destroy); UNAUTHENTICATED when it is malformed, unknown or
//  revoked; UNAVAILABLE when Redis is.
int cpec_token_check (cpec_store_t *store, const char *token, Cpec__V1__Principal **principal,
                      cpec_status_t *status);

//  The lowercase hex SHA-256 of size bytes of data into hex (65 bytes): the
//  tokens' hashes, and the gateway's audit chain and idempotency keys.
void cpec_sha256_hex (const void *data, size_t size, char hex[65]);

//  Revokes the token of an id: OK, NOT_FOUND, UNAVAILABLE.
int cpec_token_revoke (cpec_store_t *store, const char *id, cpec_status_t *status);

#endif
