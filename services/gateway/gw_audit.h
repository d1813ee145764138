/*  gw_audit - the audit trail of the gateway's writes, chained by hash.

    Every write through the HTTP API (POST, PATCH, DELETE) leaves one entry:
    who (the token's subject, role, province, enterprise), what (method,
    path, the service method called, the entity), when, the entity's version
    before and after, and the result (HTTP status, canonical code, message).

    Entries live in Redis, in the list cpec:audit:log (entry N at index
    N - 1), each a JSON object with its sequence number `seq`, the hash of
    the entry before it `prev_hash` (64 zeros for the first) and its own
    `hash`: the SHA-256 of the entry without `hash`, as compact JSON with
    sorted keys. cpec:audit:head holds "SEQ HASH" of the last. An append is
    one script that refuses to run when the head moved since it was read
    (then the gateway reads it again and retries), so replicas append one
    chain. Changing, removing or reordering an entry breaks the chain there:
    reading shows where.
*/
#ifndef GW_AUDIT_H_INCLUDED
#define GW_AUDIT_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec_status.h"
#include "cpec_store.h"

//  One write as recorded.
typedef struct
{
    const Cpec__V1__Principal *who;
    const char *request_id;
    const char *method;      //  "PATCH"
    const char *path;        //  "/v1/sezs/rashakai"
    const char *call;        //  "Registry.UpdateSez"
    const char *target;      //  the entity's id, where there is one
    uint32_t version_before; //  0: none (a creation, or unknown)
    uint32_t version_after;  //  0: none (refused, or no version)
    int http_status;
    int code; //  the canonical code
    const char *message;
} gw_audit_entry_t;

//  Appends an entry at now_ms. `sha` caches the script's hash ("" at first).
//  OK, or UNAVAILABLE / INTERNAL.
int gw_audit_append (cpec_store_t *store, char sha[41], const gw_audit_entry_t *entry,
                     int64_t now_ms, cpec_status_t *status);

//  A page of entries after sequence number `after` (0: from the first), at
//  most limit, only those whose actor's province is `province` when it is
//  not NULL: OK with *page = {"entries": [...], "next_after": "N" (empty at
//  the end), "chain": {"intact": true|false, "checked_from", "checked_to",
//  "broken_at", "reason"}}: every entry read (filtered or not) is checked,
//  with the one before the page and, at the end, the head.
int gw_audit_read (cpec_store_t *store, uint64_t after, size_t limit, const char *province,
                   json_t **page, cpec_status_t *status);

//  The hash an entry (without its `hash` member, borrowed) must carry, into
//  hex (65 bytes). Pure, for tests.
void gw_audit_hash (json_t *entry, char hex[65]);

#endif
