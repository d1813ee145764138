/*  registry_server - the handlers of cpec.v1.Registry.

    One function per method, all of the same shape (cpec_handler_fn), chosen
    by the worker from registry_methods. A handler checks who may call,
    validates, reads what it needs from Redis, and makes every change in one
    cpec_store_write (entities, index sets, events: all or nothing, once per
    request id). After the write it publishes the events on the bus; a
    replayed write (a retry of a request that already succeeded) answers the
    first answer and publishes nothing.

    Helpers named s_*_or_fail have set call->status when they return an
    error code, so a handler only passes the code on.

    Keys (see README.md): cpec:sez:{id}; cpec:sez:all, cpec:sez:province:{P},
    cpec:sez:status:{STATUS}, cpec:sez:sector:{code}, cpec:sez:fast_track,
    cpec:sez:not_fast_track; cpec:ent:{zone}:{id}; cpec:ent:zone:{zone}.
*/
#include "registry.h"

#include <assert.h>
#include <czmq.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec_codes.h"
#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"

#define S_KEY_MAX 200 //  every key: a prefix and at most two slugs or a code

//  The principal roles, shorter
#define S_ADMIN    CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_PROVINCE CPEC__V1__PRINCIPAL__ROLE__PROVINCE

//  --------------------------------------------------------------------------
//  Small helpers

static void
s_zone_key (char *buffer, const char *zone)
{
    snprintf (buffer, S_KEY_MAX, "cpec:sez:%s", zone);
}

static void
s_enterprise_key (char *buffer, const char *zone, const char *enterprise)
{
    snprintf (buffer, S_KEY_MAX, "cpec:ent:%s:%s", zone, enterprise);
}

static void
s_zone_enterprises_key (char *buffer, const char *zone)
{
    snprintf (buffer, S_KEY_MAX, "cpec:ent:zone:%s", zone);
}

//  --------------------------------------------------------------------------
//  The index sets of a zone

//  The sets a (valid) zone is a member of. A sector counts under its own
//  code and the group and division above it, so that a filter by division
//  "10" finds a zone that lists class "1030".
static cpec_keyset_t
s_zone_sets (const Cpec__V1__Sez *sez)
{
    cpec_keyset_t sets = {0};
    cpec_keyset_add (&sets, "%s", "cpec:sez:all");
    cpec_keyset_add (&sets, "cpec:sez:province:%s", sez->province);
    cpec_keyset_add (&sets, "cpec:sez:status:%s", registry_status_name (sez->status));
    for (size_t i = 0; i < sez->n_sectors; i++)
        for (const char *code = sez->sectors[i]; code && cpec_codes_isic_level (code) >= 2;
             code = cpec_codes_isic_parent (code))
            cpec_keyset_add (&sets, "cpec:sez:sector:%s", code);
    cpec_keyset_add (&sets, "%s",
                     sez->fast_track ? "cpec:sez:fast_track" : "cpec:sez:not_fast_track");
    return sets;
}

//  --------------------------------------------------------------------------
//  Reads and the write

//  Reads zone `id`; NOT_FOUND names it.
static int
s_read_zone_or_fail (registry_t *self, cpec_call_t *call, const char *id, Cpec__V1__Sez **sez,
                     uint32_t *version)
{
    char key[S_KEY_MAX];
    s_zone_key (key, id);
    uint32_t stored_version = 0;
    int rc = cpec_store_get (self->store, key, &cpec__v1__sez__descriptor, (ProtobufCMessage **)sez,
                             &stored_version, call->status);
    if (rc == CPEC_NOT_FOUND)
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "zone %s not found", id);
    if (rc == CPEC_OK && sez) {
        (*sez)->version = stored_version; //  the hash's version is the truth
        if (version)
            *version = stored_version;
    }
    return rc;
}

//  Runs the outbox write and publishes its events (cpec_handler_write).
static int
s_write_or_fail (registry_t *self, cpec_call_t *call, const cpec_store_write_t *write,
                 const ProtobufCMessageDescriptor *answer, ProtobufCMessage **replayed)
{
    return cpec_handler_write (self->store, self->bus, self->metrics, call, write, answer,
                               replayed);
}

//  The last id of a page, as the next cursor, when more follow.
static char *
s_next_cursor (char **ids, bool more)
{
    size_t count = 0;
    while (ids[count])
        count++;
    return cpec_strdup (more && count ? ids[count - 1] : "");
}

//  --------------------------------------------------------------------------
//  CreateSez: ADMIN only. Unset status means PROPOSED.

int
registry_create_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                     ProtobufCMessage *output)
{
    registry_t *self = (registry_t *)state;
    const Cpec__V1__CreateSezRequest *request = (const Cpec__V1__CreateSezRequest *)input;
    if (call->principal->role != S_ADMIN)
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "CreateSez: only an ADMIN may create a zone");
    if (!request->sez)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "sez: required");

    int64_t now = cpec_now_ms ();
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_dup (&request->sez->base);
    if (sez->status == CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED)
        sez->status = CPEC__V1__SEZ__STATUS__PROPOSED;
    sez->version = 1;
    cpec_handler_audit_set (&sez->created, now, cpec_handler_subject (call));
    cpec_handler_audit_set (&sez->updated, now, cpec_handler_subject (call));
    if (!sez->land)
        sez->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    sez->land->allotted_acres = 0;
    int rc = registry_validate_sez (sez, call->status);
    if (rc != CPEC_OK) {
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
        return rc;
    }

    Cpec__V1__Event *event =
        cpec_handler_event_new ("SezCreated", sez->id, sez->province, call, NULL, NULL, now);
    Cpec__V1__SezCreated *created =
        (Cpec__V1__SezCreated *)cpec_pb_new (&cpec__v1__sez_created__descriptor);
    created->sez = (Cpec__V1__Sez *)cpec_pb_dup (&sez->base);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED;
    event->sez_created = created;

    char key[S_KEY_MAX];
    s_zone_key (key, sez->id);
    cpec_keyset_t sets = s_zone_sets (sez);
    cpec_indexes_t indexes = {0};
    cpec_keyset_apply (&indexes, CPEC_STORE_SADD, &sets, NULL, sez->id);
    cpec_store_put_t put = {.key = key, .expected_version = 0, .message = &sez->base};
    const Cpec__V1__Event *events[] = {event};
    cpec_store_write_t write = {.request_id = call->request_id,
                                .puts = &put,
                                .put_count = 1,
                                .indexes = indexes.items,
                                .index_count = indexes.count,
                                .events = events,
                                .event_count = 1,
                                .answer = &sez->base};
    ProtobufCMessage *replayed = NULL;
    rc = s_write_or_fail (self, call, &write, &cpec__v1__sez__descriptor, &replayed);
    if (rc == CPEC_ALREADY_EXISTS)
        cpec_status_set (call->status, rc, "zone %s already exists", sez->id);
    else if (rc == CPEC_OK && !replayed)
        cpec_log_info (call->request_id, "zone %s created by %s", sez->id,
                       cpec_handler_subject (call));
    cpec_indexes_fini (&indexes);
    cpec_keyset_fini (&sets);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
    if (rc == CPEC_OK)
        cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&sez);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
    return rc;
}

//  --------------------------------------------------------------------------
//  GetSez: anyone. Through the store's entity cache, which Redis's
//  invalidations keep exact: never older than the last acknowledged write.

int
registry_get_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                  ProtobufCMessage *output)
{
    registry_t *self = (registry_t *)state;
    (void)output; //  answered packed, as stored
    const Cpec__V1__GetSezRequest *request = (const Cpec__V1__GetSezRequest *)input;
    int rc = registry_validate_zone_id ("id", request->id, call->status);
    if (rc != CPEC_OK)
        return rc;
    char key[S_KEY_MAX];
    s_zone_key (key, request->id);
    uint8_t *stored = NULL;
    size_t size = 0;
    uint32_t version = 0;
    rc = cpec_store_get_packed (self->store, key, &stored, &size, &version, call->status);
    if (rc == CPEC_NOT_FOUND)
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "zone %s not found", request->id);
    if (rc != CPEC_OK)
        return rc;
    //  The hash's version is the truth: a field that appears again in the
    //  encoding overrides the earlier one, so append it rather than decode.
    Cpec__V1__Sez only_version = CPEC__V1__SEZ__INIT;
    only_version.version = version;
    size_t tail = cpec__v1__sez__get_packed_size (&only_version);
    stored = (uint8_t *)cpec_realloc (stored, size + tail);
    cpec__v1__sez__pack (&only_version, stored + size);
    call->packed_output = stored;
    call->packed_size = size + tail;
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  ListSezs: anyone. Filters intersect index sets; pages follow the id order.

int
registry_list_sezs (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                    ProtobufCMessage *output)
{
    registry_t *self = (registry_t *)state;
    const Cpec__V1__ListSezsRequest *request = (const Cpec__V1__ListSezsRequest *)input;
    Cpec__V1__ListSezsResponse *response = (Cpec__V1__ListSezsResponse *)output;
    size_t page = 0;
    int rc = registry_validate_list (request, call->status);
    if (rc == CPEC_OK)
        rc = registry_validate_page (request->page_size, request->cursor, &page, call->status);
    if (rc != CPEC_OK)
        return rc;

    cpec_keyset_t filters = {0};
    if (request->province && *request->province)
        cpec_keyset_add (&filters, "cpec:sez:province:%s", request->province);
    if (request->status != CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED)
        cpec_keyset_add (&filters, "cpec:sez:status:%s", registry_status_name (request->status));
    if (request->sector && *request->sector)
        cpec_keyset_add (&filters, "cpec:sez:sector:%s", request->sector);
    if (request->fast_track)
        cpec_keyset_add (&filters, "%s",
                         request->fast_track->value ? "cpec:sez:fast_track"
                                                    : "cpec:sez:not_fast_track");
    if (filters.count == 0)
        cpec_keyset_add (&filters, "%s", "cpec:sez:all");

    char **ids = NULL;
    bool more = false;
    rc = cpec_store_members (self->store, (const char **)filters.keys, filters.count,
                             request->cursor, page, &ids, &more, call->status);
    if (rc == CPEC_OK)
        rc = cpec_handler_list_page (
            self->store, call, ids, "cpec:sez:", self->page_bytes, &cpec__v1__sez__descriptor,
            (ProtobufCMessage ***)&response->sezs, &response->n_sezs, &more);
    if (rc == CPEC_OK)
        response->next_cursor = s_next_cursor (ids, more);
    cpec_store_strings_destroy (&ids);
    cpec_keyset_fini (&filters);
    return rc;
}

//  --------------------------------------------------------------------------
//  UpdateSez

//  The names of top-level fields whose values differ between a and b
//  (compared packed), leaving out version and updated. Both are restored.
static char **
s_changed_fields (Cpec__V1__Sez *a, Cpec__V1__Sez *b, size_t *count)
{
    const ProtobufCMessageDescriptor *descriptor = &cpec__v1__sez__descriptor;
    char **names = NULL;
    *count = 0;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const char *name = descriptor->fields[i].name;
        if (strcmp (name, "version") == 0 || strcmp (name, "updated") == 0)
            continue;
        ProtobufCMessage *x = cpec_pb_new (descriptor);
        ProtobufCMessage *y = cpec_pb_new (descriptor);
        cpec_pb_swap_field (x, &a->base, name);
        cpec_pb_swap_field (y, &b->base, name);
        size_t x_size, y_size;
        uint8_t *x_packed = cpec_pb_pack (x, &x_size);
        uint8_t *y_packed = cpec_pb_pack (y, &y_size);
        if (x_size != y_size || memcmp (x_packed, y_packed, x_size) != 0) {
            names = (char **)cpec_realloc (names, (*count + 1) * sizeof (char *));
            names[(*count)++] = cpec_strdup (name);
        }
        free (x_packed);
        free (y_packed);
        cpec_pb_swap_field (x, &a->base, name);
        cpec_pb_swap_field (y, &b->base, name);
        cpec_pb_destroy (&x);
        cpec_pb_destroy (&y);
    }
    return names;
}

//  An update whose expected version lies behind the stored one may be the
//  retry of an update that succeeded: the store answers that from the
//  request id. Otherwise nothing can be written: the store's version check
//  fails for any version below the stored one, as versions only grow.
static int
s_replay_or_abort (registry_t *self, cpec_call_t *call, Cpec__V1__Sez *stored, uint32_t version,
                   uint32_t expected, ProtobufCMessage *output)
{
    assert (expected < version);
    if (call->request_id && *call->request_id) {
        char key[S_KEY_MAX];
        s_zone_key (key, stored->id);
        cpec_store_put_t put = {.key = key, .expected_version = expected, .message = &stored->base};
        cpec_store_write_t probe = {
            .request_id = call->request_id, .puts = &put, .put_count = 1, .answer = &stored->base};
        ProtobufCMessage *replayed = NULL;
        int rc = cpec_store_write (self->store, &probe, &cpec__v1__sez__descriptor, &replayed, NULL,
                                   call->status);
        if (rc == CPEC_OK && replayed) {
            cpec_log_info (call->request_id, "UpdateSez: replayed the first answer");
            cpec_pb_move (output, &replayed);
            return CPEC_OK;
        }
        if (rc == CPEC_OK) {
            //  Cannot happen while versions only grow; say so rather than lie
            cpec_log_error (call->request_id, "UpdateSez: a probe of %s at version %u was written",
                            key, expected);
            return cpec_status_set (call->status, CPEC_INTERNAL,
                                    "zone %s: version check did not hold", stored->id);
        }
        if (rc != CPEC_ABORTED)
            return rc;
    }
    return cpec_status_set (call->status, CPEC_ABORTED, "zone %s is at version %u, not %u",
                            stored->id, version, expected);
}

//  Whether the mask (empty: every field) takes field `name` from the request.
static bool
s_masked (const Cpec__V1__UpdateSezRequest *request, const char *name)
{
    if (request->n_update_mask == 0)
        return true;
    for (size_t i = 0; i < request->n_update_mask; i++)
        if (strcmp (request->update_mask[i], name) == 0)
            return true;
    return false;
}

//  The stored zone with the masked fields of the request on it. Never takes
//  id, version, created, updated or land.allotted_acres; an unset status
//  keeps the stored one.
static Cpec__V1__Sez *
s_merge (const Cpec__V1__Sez *stored, const Cpec__V1__UpdateSezRequest *request)
{
    Cpec__V1__Sez *next = (Cpec__V1__Sez *)cpec_pb_dup (&stored->base);
    Cpec__V1__Sez *given = (Cpec__V1__Sez *)cpec_pb_dup (&request->sez->base);
    const ProtobufCMessageDescriptor *descriptor = &cpec__v1__sez__descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const char *name = descriptor->fields[i].name;
        if (strcmp (name, "id") == 0 || strcmp (name, "version") == 0 ||
            strcmp (name, "created") == 0 || strcmp (name, "updated") == 0)
            continue;
        if (strcmp (name, "status") == 0 &&
            given->status == CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED)
            continue;
        if (s_masked (request, name))
            cpec_pb_swap_field (&next->base, &given->base, name);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&given);
    if (!next->land)
        next->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    next->land->allotted_acres = stored->land ? stored->land->allotted_acres : 0;
    return next;
}

//  The events of an update: SezUpdated, and SezStatusChanged when the
//  status moved. Returns how many (1 or 2).
static size_t
s_update_events (Cpec__V1__Sez *stored, Cpec__V1__Sez *next, cpec_call_t *call, int64_t now,
                 Cpec__V1__Event *events[2])
{
    Cpec__V1__SezUpdated *updated =
        (Cpec__V1__SezUpdated *)cpec_pb_new (&cpec__v1__sez_updated__descriptor);
    updated->previous_version = stored->version;
    updated->changed_fields = s_changed_fields (stored, next, &updated->n_changed_fields);
    updated->sez = (Cpec__V1__Sez *)cpec_pb_dup (&next->base);
    events[0] =
        cpec_handler_event_new ("SezUpdated", next->id, next->province, call, NULL, NULL, now);
    events[0]->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_UPDATED;
    events[0]->sez_updated = updated;
    if (stored->status == next->status)
        return 1;

    Cpec__V1__SezStatusChanged *changed =
        (Cpec__V1__SezStatusChanged *)cpec_pb_new (&cpec__v1__sez_status_changed__descriptor);
    changed->from_status = stored->status;
    changed->to_status = next->status;
    changed->reverted = next->status < stored->status;
    changed->version = next->version;
    events[1] = cpec_handler_event_new ("SezStatusChanged", next->id, next->province, call, NULL,
                                        NULL, now);
    events[1]->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED;
    events[1]->sez_status_changed = changed;
    return 2;
}

//  Checks the caller may make this change: the zone's province before and
//  after must be the PROVINCE authority's own; a status moves backwards only
//  for an ADMIN.
static int
s_check_update_or_fail (cpec_call_t *call, const Cpec__V1__Sez *stored, const Cpec__V1__Sez *next)
{
    const Cpec__V1__Principal *who = call->principal;
    if (!cpec_handler_may_write (call, next->province))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "province: a PROVINCE authority of %s may not move zone %s to %s",
                                who->province, stored->id, next->province);
    if (next->status < stored->status && who->role != S_ADMIN)
        return cpec_status_set (
            call->status, CPEC_FAILED_PRECONDITION, "status: cannot move from %s back to %s",
            registry_status_name (stored->status), registry_status_name (next->status));
    return CPEC_OK;
}

//  Writes the update: the zone at version+1, the index sets that changed,
//  SezUpdated (and SezStatusChanged).
static int
s_write_update_or_fail (registry_t *self, cpec_call_t *call, Cpec__V1__Sez *stored,
                        Cpec__V1__Sez *next, int64_t now, ProtobufCMessage **replayed)
{
    Cpec__V1__Event *events[2] = {NULL, NULL};
    size_t event_count = s_update_events (stored, next, call, now, events);
    cpec_keyset_t before = s_zone_sets (stored);
    cpec_keyset_t after = s_zone_sets (next);
    cpec_indexes_t indexes = {0};
    cpec_keyset_apply (&indexes, CPEC_STORE_SREM, &before, &after, next->id);
    cpec_keyset_apply (&indexes, CPEC_STORE_SADD, &after, &before, next->id);

    char key[S_KEY_MAX];
    s_zone_key (key, next->id);
    cpec_store_put_t put = {
        .key = key, .expected_version = stored->version, .message = &next->base};
    const Cpec__V1__Event *write_events[2] = {events[0], events[1]};
    cpec_store_write_t write = {.request_id = call->request_id,
                                .puts = &put,
                                .put_count = 1,
                                .indexes = indexes.items,
                                .index_count = indexes.count,
                                .events = write_events,
                                .event_count = event_count,
                                .answer = &next->base};
    int rc = s_write_or_fail (self, call, &write, &cpec__v1__sez__descriptor, replayed);
    if (rc == CPEC_ABORTED)
        cpec_status_set (call->status, rc,
                         "zone %s changed while version %u was being updated; read it again",
                         next->id, stored->version);
    else if (rc == CPEC_OK && !*replayed)
        cpec_log_info (call->request_id, "zone %s updated to version %u by %s%s", next->id,
                       next->version, cpec_handler_subject (call),
                       event_count > 1 ? " (status changed)" : "");
    cpec_indexes_fini (&indexes);
    cpec_keyset_fini (&before);
    cpec_keyset_fini (&after);
    for (size_t i = 0; i < event_count; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&events[i]);
    return rc;
}

//  UpdateSez: ADMIN, or the PROVINCE authority of the zone's province.
int
registry_update_sez (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                     ProtobufCMessage *output)
{
    registry_t *self = (registry_t *)state;
    const Cpec__V1__UpdateSezRequest *request = (const Cpec__V1__UpdateSezRequest *)input;
    const Cpec__V1__Principal *who = call->principal;
    if (who->role != S_ADMIN && who->role != S_PROVINCE)
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "UpdateSez: only an ADMIN or a PROVINCE authority may change a "
                                "zone");
    if (!request->sez)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "sez: required");
    int rc = registry_validate_zone_id ("id", request->sez->id, call->status);
    if (rc == CPEC_OK && request->expected_version == 0)
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                              "expected_version: required (the version the change is based on)");
    if (rc == CPEC_OK)
        rc = registry_validate_mask (request->update_mask, request->n_update_mask, call->status);
    Cpec__V1__Sez *stored = NULL;
    uint32_t version = 0;
    if (rc == CPEC_OK)
        rc = s_read_zone_or_fail (self, call, request->sez->id, &stored, &version);
    if (rc == CPEC_OK && !cpec_handler_may_write (call, stored->province))
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "zone %s is in %s; a PROVINCE authority of %s may not change it",
                              stored->id, stored->province, who->province);
    if (rc == CPEC_OK && request->expected_version != version) {
        rc =
            request->expected_version < version
                ? s_replay_or_abort (self, call, stored, version, request->expected_version, output)
                : cpec_status_set (call->status, CPEC_ABORTED, "zone %s is at version %u, not %u",
                                   stored->id, version, request->expected_version);
        cpec_pb_destroy ((ProtobufCMessage **)&stored);
        return rc;
    }
    if (rc != CPEC_OK) {
        cpec_pb_destroy ((ProtobufCMessage **)&stored);
        return rc;
    }

    int64_t now = cpec_now_ms ();
    Cpec__V1__Sez *next = s_merge (stored, request);
    next->version = version + 1;
    cpec_handler_audit_set (&next->updated, now, cpec_handler_subject (call));
    rc = s_check_update_or_fail (call, stored, next);
    if (rc == CPEC_OK)
        rc = registry_validate_sez (next, call->status);
    ProtobufCMessage *replayed = NULL;
    if (rc == CPEC_OK)
        rc = s_write_update_or_fail (self, call, stored, next, now, &replayed);
    if (rc == CPEC_OK)
        cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&next);
    cpec_pb_destroy ((ProtobufCMessage **)&next);
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    return rc;
}

//  --------------------------------------------------------------------------
//  AdmitEnterprise

//  One attempt: reads the zone, checks the land, writes the enterprise and
//  the zone (allotted acres raised, version + 1) together. ABORTED when the
//  zone changed since it was read.
static int
s_admit_once (registry_t *self, cpec_call_t *call, const Cpec__V1__ZoneEnterprise *given,
              int64_t now, ProtobufCMessage *output)
{
    Cpec__V1__Sez *zone = NULL;
    uint32_t version = 0;
    int rc = s_read_zone_or_fail (self, call, given->zone_id, &zone, &version);
    if (rc != CPEC_OK)
        return rc;
    if (!cpec_handler_may_write (call, zone->province)) {
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "zone %s is in %s; a PROVINCE authority of %s may not admit to it",
                              zone->id, zone->province, call->principal->province);
        cpec_pb_destroy ((ProtobufCMessage **)&zone);
        return rc;
    }

    //  An enterprise already there: the write below cannot succeed, and
    //  answers a retry of the admission that put it there with its first
    //  answer; the land is not checked again (it counts this enterprise).
    char enterprise_key[S_KEY_MAX];
    s_enterprise_key (enterprise_key, zone->id, given->id);
    cpec_status_t probe;
    rc = cpec_store_get (self->store, enterprise_key, &cpec__v1__zone_enterprise__descriptor, NULL,
                         NULL, &probe);
    bool exists = rc == CPEC_OK;
    if (rc != CPEC_OK && rc != CPEC_NOT_FOUND) {
        cpec_pb_destroy ((ProtobufCMessage **)&zone);
        return cpec_status_set (call->status, rc, "%s", probe.message);
    }
    rc = CPEC_OK;
    if (!zone->land)
        zone->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    Cpec__V1__Land *land = zone->land;
    double allotted = land->allotted_acres + given->acres;
    if (!exists && !land->leasable_acres)
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "land.leasable_acres: unknown for zone %s, cannot admit", zone->id);
    else if (!exists && allotted > land->leasable_acres->value * (1 + 1e-12))
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "acres: %g more would allot %g of zone %s's %g leasable acres (%g "
                              "allotted already)",
                              given->acres, allotted, zone->id, land->leasable_acres->value,
                              land->allotted_acres);
    if (rc != CPEC_OK) {
        cpec_pb_destroy ((ProtobufCMessage **)&zone);
        return rc;
    }

    Cpec__V1__ZoneEnterprise *enterprise = (Cpec__V1__ZoneEnterprise *)cpec_pb_dup (&given->base);
    enterprise->admission_status = CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__ADMITTED;
    if (!enterprise->admitted_at)
        enterprise->admitted_at = cpec_pb_timestamp_new (now);
    enterprise->version = 1;
    cpec_handler_audit_set (&enterprise->created, now, cpec_handler_subject (call));
    land->allotted_acres = allotted;
    zone->version = version + 1;
    cpec_handler_audit_set (&zone->updated, now, cpec_handler_subject (call));

    Cpec__V1__EnterpriseAdmitted *admitted =
        (Cpec__V1__EnterpriseAdmitted *)cpec_pb_new (&cpec__v1__enterprise_admitted__descriptor);
    admitted->enterprise = (Cpec__V1__ZoneEnterprise *)cpec_pb_dup (&enterprise->base);
    admitted->zone_allotted_acres = allotted;
    if (land->leasable_acres)
        admitted->zone_leasable_acres = cpec_pb_double_new (land->leasable_acres->value);
    Cpec__V1__Event *event = cpec_handler_event_new ("EnterpriseAdmitted", zone->id, zone->province,
                                                     call, NULL, NULL, now);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_ENTERPRISE_ADMITTED;
    event->enterprise_admitted = admitted;

    char zone_key[S_KEY_MAX], index_key[S_KEY_MAX];
    s_zone_key (zone_key, zone->id);
    s_zone_enterprises_key (index_key, zone->id);
    cpec_store_put_t puts[2] = {
        {.key = enterprise_key, .expected_version = 0, .message = &enterprise->base},
        {.key = zone_key, .expected_version = version, .message = &zone->base}};
    cpec_store_index_t index = {.op = CPEC_STORE_SADD, .key = index_key, .member = enterprise->id};
    const Cpec__V1__Event *events[] = {event};
    cpec_store_write_t write = {.request_id = call->request_id,
                                .puts = puts,
                                .put_count = exists ? 1 : 2,
                                .indexes = &index,
                                .index_count = 1,
                                .events = events,
                                .event_count = 1,
                                .answer = &enterprise->base};
    ProtobufCMessage *replayed = NULL;
    rc = s_write_or_fail (self, call, &write, &cpec__v1__zone_enterprise__descriptor, &replayed);
    if (rc == CPEC_ALREADY_EXISTS)
        cpec_status_set (call->status, rc, "enterprise %s is already in zone %s", enterprise->id,
                         zone->id);
    else if (rc == CPEC_OK && !replayed)
        cpec_log_info (call->request_id,
                       "enterprise %s admitted to zone %s (%g acres; %g of %g "
                       "allotted) by %s",
                       enterprise->id, zone->id, enterprise->acres, allotted,
                       land->leasable_acres ? land->leasable_acres->value : 0.0,
                       cpec_handler_subject (call));
    if (rc == CPEC_OK)
        cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&enterprise);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
    cpec_pb_destroy ((ProtobufCMessage **)&enterprise);
    cpec_pb_destroy ((ProtobufCMessage **)&zone);
    return rc;
}

//  AdmitEnterprise: ADMIN, or the PROVINCE authority of the zone's province.
//  Two admissions racing for the last acres: one write wins, the other sees
//  ABORTED, reads the zone again and finds the land taken.
int
registry_admit_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                           ProtobufCMessage *output)
{
    registry_t *self = (registry_t *)state;
    const Cpec__V1__AdmitEnterpriseRequest *request =
        (const Cpec__V1__AdmitEnterpriseRequest *)input;
    const Cpec__V1__Principal *who = call->principal;
    if (who->role != S_ADMIN && who->role != S_PROVINCE)
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "AdmitEnterprise: only an ADMIN or a PROVINCE authority may admit "
                                "an enterprise");
    int64_t now = cpec_now_ms ();
    int rc = registry_validate_enterprise (request->enterprise, now, call->status);
    for (int attempt = 0; rc == CPEC_OK; attempt++) {
        rc = s_admit_once (self, call, request->enterprise, now, output);
        if (rc != CPEC_ABORTED)
            break;
        if (attempt == REGISTRY_ADMIT_RETRIES)
            return cpec_status_set (call->status, CPEC_ABORTED,
                                    "zone %s changed %d times during the admission; try again",
                                    request->enterprise->zone_id, attempt + 1);
        if (call->deadline_unix_ms && cpec_now_ms () > call->deadline_unix_ms)
            return cpec_status_set (call->status, CPEC_DEADLINE_EXCEEDED,
                                    "deadline passed while zone %s kept changing",
                                    request->enterprise->zone_id);
        if (self->metrics)
            cpec_metrics_count (self->metrics, "cpec_registry_admit_retries_total",
                                "admissions retried because the zone changed meanwhile", 1);
        cpec_log_debug (call->request_id, "AdmitEnterprise: zone %s changed, reading it again",
                        request->enterprise->zone_id);
        //  A few milliseconds of jitter, so that racing replicas spread out
        zclock_sleep ((int)(random () % (2 << attempt)));
        rc = CPEC_OK;
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  ListZoneEnterprises: anyone.

int
registry_list_zone_enterprises (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                                ProtobufCMessage *output)
{
    registry_t *self = (registry_t *)state;
    const Cpec__V1__ListZoneEnterprisesRequest *request =
        (const Cpec__V1__ListZoneEnterprisesRequest *)input;
    Cpec__V1__ListZoneEnterprisesResponse *response =
        (Cpec__V1__ListZoneEnterprisesResponse *)output;
    size_t page = 0;
    int rc = registry_validate_zone_id ("zone_id", request->zone_id, call->status);
    if (rc == CPEC_OK)
        rc = registry_validate_page (request->page_size, request->cursor, &page, call->status);
    if (rc == CPEC_OK)
        rc = s_read_zone_or_fail (self, call, request->zone_id, NULL, NULL);
    if (rc != CPEC_OK)
        return rc;

    char index_key[S_KEY_MAX];
    s_zone_enterprises_key (index_key, request->zone_id);
    const char *keys[] = {index_key};
    char **ids = NULL;
    bool more = false;
    rc =
        cpec_store_members (self->store, keys, 1, request->cursor, page, &ids, &more, call->status);
    if (rc == CPEC_OK) {
        char prefix[S_KEY_MAX];
        s_enterprise_key (prefix, request->zone_id, ""); //  "cpec:ent:{zone}:"
        rc = cpec_handler_list_page (self->store, call, ids, prefix, self->page_bytes,
                                     &cpec__v1__zone_enterprise__descriptor,
                                     (ProtobufCMessage ***)&response->enterprises,
                                     &response->n_enterprises, &more);
    }
    if (rc == CPEC_OK)
        response->next_cursor = s_next_cursor (ids, more);
    cpec_store_strings_destroy (&ids);
    return rc;
}

//  --------------------------------------------------------------------------

const cpec_method_t registry_methods[] = {{"CreateSez", registry_create_sez},
                                          {"GetSez", registry_get_sez},
                                          {"ListSezs", registry_list_sezs},
                                          {"UpdateSez", registry_update_sez},
                                          {"AdmitEnterprise", registry_admit_enterprise},
                                          {"ListZoneEnterprises", registry_list_zone_enterprises},
                                          {NULL, NULL}};
