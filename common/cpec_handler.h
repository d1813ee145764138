/*  cpec_handler - what the handlers of every service share.

    Who is calling and whether they may write a province's data; audits;
    event envelopes; the index operations and key sets of a write; and the
    write itself followed by its publication on the bus. The services'
    handlers (services/<name>/) are built from these, so that the rules are
    one piece of code.
*/
#ifndef CPEC_HANDLER_H_INCLUDED
#define CPEC_HANDLER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_bus.h"
#include "cpec_metrics.h"
#include "cpec_store.h"
#include "cpec_worker.h"

//  The caller's subject, "" when none.
const char *cpec_handler_subject (const cpec_call_t *call);

//  True for an ADMIN, or a PROVINCE authority of exactly this province.
bool cpec_handler_may_write (const cpec_call_t *call, const char *province);

//  A new audit {at: now_ms, by}.
Cpec__V1__Audit *cpec_handler_audit_new (int64_t now_ms, const char *by);

//  Replaces *audit_p with {now_ms, by}.
void cpec_handler_audit_set (Cpec__V1__Audit **audit_p, int64_t now_ms, const char *by);

//  An event envelope without payload: a fresh id, the type, zone and
//  province, occurred_at now_ms, the request id and actor from the call (for
//  work no request caused, call is NULL and request_id and actor are given).
Cpec__V1__Event *cpec_handler_event_new (const char *type, const char *zone, const char *province,
                                         const cpec_call_t *call, const char *request_id,
                                         const char *actor, int64_t now_ms);

//  Index operations of a write, owning their keys and members.
typedef struct
{
    cpec_store_index_t *items; //  what cpec_store_write reads
    char **strings;            //  keys and members, owned
    size_t count;              //  items in use
    size_t string_count;
} cpec_indexes_t;

//  Adds an operation (member may be NULL for INCRBYFLOAT); copies key and member.
void cpec_indexes_add (cpec_indexes_t *self, cpec_store_op_t op, const char *key,
                       const char *member, double score);

//  Frees what the operations own; the value is empty again.
void cpec_indexes_fini (cpec_indexes_t *self);

//  A set of keys without duplicates.
typedef struct
{
    char **keys; //  owned
    size_t count;
} cpec_keyset_t;

//  Adds the key printf (format, value) unless present.
void cpec_keyset_add (cpec_keyset_t *self, const char *format, const char *value);

bool cpec_keyset_has (const cpec_keyset_t *self, const char *key);

void cpec_keyset_fini (cpec_keyset_t *self);

//  Adds `op` of member on every key of `sets` that is not in `other` (NULL: none).
void cpec_keyset_apply (cpec_indexes_t *indexes, cpec_store_op_t op, const cpec_keyset_t *sets,
                        const cpec_keyset_t *other, const char *member);

//  Runs the outbox write for a call (a request id is required). On a first
//  write publishes its events on bus (may be NULL; a bus that is down loses
//  only the live copy: the stream has them, and a failure is counted in
//  metrics, which may be NULL); on a replay sets *replayed to the first answer
//  and publishes nothing. Returns the code, call->status set on error.
int cpec_handler_write (cpec_store_t *store, cpec_bus_t *bus, cpec_metrics_t *metrics,
                        cpec_call_t *call, const cpec_store_write_t *write,
                        const ProtobufCMessageDescriptor *answer, ProtobufCMessage **replayed);

//  Fills a list page from ids (NULL-terminated; those past the page are
//  freed and set to NULL) of entities at "<prefix><id>": *items gets the
//  decoded entities in order (entities gone missing are skipped and
//  logged), stopping short of page_bytes (0: 512 KiB; always at least one)
//  with *more set, so that no reply outgrows the message limit. OK,
//  UNAVAILABLE or DATA_LOSS.
int cpec_handler_list_page (cpec_store_t *store, cpec_call_t *call, char **ids, const char *prefix,
                            size_t page_bytes, const ProtobufCMessageDescriptor *descriptor,
                            ProtobufCMessage ***items, size_t *item_count, bool *more);

//  Publishes events on bus (NULL: nothing), counting failures in metrics.
void cpec_handler_publish (cpec_bus_t *bus, cpec_metrics_t *metrics, const char *request_id,
                           const Cpec__V1__Event *const *events, size_t count);

#endif
