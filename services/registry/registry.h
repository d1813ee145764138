/*  registry - the SEZ registry service: private header. Read this first.

    The state every handler shares, the handler table the worker dispatches
    on (registry_server.c), and the validation rules (registry_validate.c).
    Validation is pure (no Redis, no clock), so unit tests drive it alone.

    Every validation error is INVALID_ARGUMENT with a message that starts with
    the field's path: "province: must be one of PK-KP, ...", "sectors[2]: ...",
    "land.leasable_acres: ...".
*/
#ifndef REGISTRY_H_INCLUDED
#define REGISTRY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/registry.pb-c.h"
#include "cpec_bus.h"
#include "cpec_metrics.h"
#include "cpec_status.h"
#include "cpec_store.h"
#include "cpec_worker.h"

//  Limits
#define REGISTRY_SLUG_MAX      64     //  characters in a zone or enterprise id
#define REGISTRY_NAME_MAX      200    //  characters (code points) in a name
#define REGISTRY_TEXT_MAX      500    //  district, location, developer, authority
#define REGISTRY_SHORT_MAX     32     //  utility unit, plot
#define REGISTRY_SECTORS_MAX   64     //  priority sectors of a zone
#define REGISTRY_SOURCES_MAX   100    //  provenance entries of a zone
#define REGISTRY_PAGE_DEFAULT  50     //  page size when the request says 0
#define REGISTRY_PAGE_MAX      500    //  largest page a list returns
#define REGISTRY_ADMIT_RETRIES 3      //  re-reads of the zone when an admission races
#define REGISTRY_CLOCK_SKEW_MS 300000 //  how far in the future a given date may lie

//  What the handlers share. Everything is borrowed: main.c (or a test) owns it.
typedef struct
{
    cpec_store_t *store;     //  Redis: entities, indexes, the event log
    cpec_bus_t *bus;         //  live events after a write; NULL: none
    cpec_metrics_t *metrics; //  service counters; NULL: none
    size_t page_bytes;       //  a list page stops short of this; 0: 512 KiB
} registry_t;

//  --------------------------------------------------------------------------
//  Handlers (registry_server.c): one per method of cpec.v1.Registry, all of
//  type cpec_handler_fn, state a registry_t.

int registry_create_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                         ProtobufCMessage *output);
int registry_get_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output);
int registry_list_sezs (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                        ProtobufCMessage *output);
int registry_update_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                         ProtobufCMessage *output);
int registry_admit_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                               ProtobufCMessage *output);
int registry_list_zone_enterprises (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                                    ProtobufCMessage *output);

//  The method table for cpec_worker_new, terminated by {NULL, NULL}.
extern const cpec_method_t registry_methods[];

//  --------------------------------------------------------------------------
//  Validation (registry_validate.c). Each returns CPEC_OK, or
//  CPEC_INVALID_ARGUMENT after setting status to "<field path>: <what>".

//  True for ^[a-z0-9]+(-[a-z0-9]+)*$ of 2..REGISTRY_SLUG_MAX characters.
bool registry_slug_valid (const char *string);

//  True for a slug that may name a zone: not "all" or "zone", whose keys
//  would collide with index keys.
bool registry_zone_id_valid (const char *string);

//  A zone id at `path` (the field name used in the message): required, a
//  slug, not reserved.
int registry_validate_zone_id (const char *path, const char *value, cpec_status_t *status);

//  True for one of the seven ISO 3166-2 codes of Pakistan's provinces and
//  territories: PK-KP, PK-PB, PK-SD, PK-BA, PK-IS, PK-JK, PK-GB.
bool registry_province_valid (const char *string);

//  True for an officially assigned ISO 3166-1 alpha-2 code, uppercase.
bool registry_country_valid (const char *string);

//  True for a status on the SEZ Act path (PROPOSED .. OPERATIONAL).
bool registry_status_valid (int status);

//  "PROPOSED" for 1, ...; "STATUS_UNSPECIFIED" for 0; "?" outside the enum.
const char *registry_status_name (int status);

//  A zone as it is to be stored: every rule of README.md "Validation".
//  Checks land.allotted_acres against land.leasable_acres too, so a change
//  cannot shrink the leasable land below what is already allotted.
int registry_validate_sez (const Cpec__V1__Sez *sez, cpec_status_t *status);

//  An enterprise to admit. now_ms bounds the dates it may carry.
int registry_validate_enterprise (const Cpec__V1__ZoneEnterprise *enterprise, int64_t now_ms,
                                  cpec_status_t *status);

//  An update mask: names of top-level Sez fields, none of them id, version,
//  created or updated, none twice.
int registry_validate_mask (char *const *mask, size_t count, cpec_status_t *status);

//  The filters of ListSezs, and its page size (0: REGISTRY_PAGE_DEFAULT).
int registry_validate_list (const Cpec__V1__ListSezsRequest *request, cpec_status_t *status);

//  A page size and cursor of a list request: size at most REGISTRY_PAGE_MAX,
//  cursor empty or a slug. *page gets the size to use.
int registry_validate_page (uint32_t page_size, const char *cursor, size_t *page,
                            cpec_status_t *status);

#endif
