/*  cpec_handler - what the handlers of every service share. */
#include "cpec_handler.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_log.h"
#include "cpec_pb.h"

#define S_KEY_MAX 256

const char *
cpec_handler_subject (const cpec_call_t *call)
{
    assert (call);
    return call->principal && call->principal->subject ? call->principal->subject : "";
}

bool
cpec_handler_may_write (const cpec_call_t *call, const char *province)
{
    assert (call);
    const Cpec__V1__Principal *who = call->principal;
    if (!who)
        return false;
    if (who->role == CPEC__V1__PRINCIPAL__ROLE__ADMIN)
        return true;
    return who->role == CPEC__V1__PRINCIPAL__ROLE__PROVINCE && who->province && *who->province &&
           province && strcmp (who->province, province) == 0;
}

Cpec__V1__Audit *
cpec_handler_audit_new (int64_t now_ms, const char *by)
{
    Cpec__V1__Audit *audit = (Cpec__V1__Audit *)cpec_pb_new (&cpec__v1__audit__descriptor);
    audit->at = cpec_pb_timestamp_new (now_ms);
    audit->by = cpec_strdup (by ? by : "");
    return audit;
}

void
cpec_handler_audit_set (Cpec__V1__Audit **audit_p, int64_t now_ms, const char *by)
{
    assert (audit_p);
    cpec_pb_destroy ((ProtobufCMessage **)audit_p);
    *audit_p = cpec_handler_audit_new (now_ms, by);
}

Cpec__V1__Event *
cpec_handler_event_new (const char *type, const char *zone, const char *province,
                        const cpec_call_t *call, const char *request_id, const char *actor,
                        int64_t now_ms)
{
    assert (type);
    Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    char uuid[37];
    cpec_uuid (uuid);
    event->id = cpec_strdup (uuid);
    event->type = cpec_strdup (type);
    event->zone_id = cpec_strdup (zone ? zone : "");
    event->province = cpec_strdup (province ? province : "");
    event->occurred_at = cpec_pb_timestamp_new (now_ms);
    if (call) {
        request_id = call->request_id;
        actor = cpec_handler_subject (call);
    }
    event->request_id = cpec_strdup (request_id ? request_id : "");
    event->actor = cpec_strdup (actor ? actor : "");
    return event;
}

static char *
s_keep (cpec_indexes_t *self, const char *string)
{
    self->strings =
        (char **)cpec_realloc (self->strings, (self->string_count + 1) * sizeof (char *));
    return self->strings[self->string_count++] = cpec_strdup (string);
}

void
cpec_indexes_add (cpec_indexes_t *self, cpec_store_op_t op, const char *key, const char *member,
                  double score)
{
    assert (self && key);
    self->items = (cpec_store_index_t *)cpec_realloc (self->items,
                                                      (self->count + 1) * sizeof (self->items[0]));
    self->items[self->count++] =
        (cpec_store_index_t){.op = op,
                             .key = s_keep (self, key),
                             .member = member ? s_keep (self, member) : NULL,
                             .score = score};
}

void
cpec_indexes_fini (cpec_indexes_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->string_count; i++)
        free (self->strings[i]);
    free (self->strings);
    free (self->items);
    *self = (cpec_indexes_t){0};
}

void
cpec_keyset_add (cpec_keyset_t *self, const char *format, const char *value)
{
    assert (self && format);
    char key[S_KEY_MAX];
    snprintf (key, sizeof (key), format, value);
    if (cpec_keyset_has (self, key))
        return;
    self->keys = (char **)cpec_realloc (self->keys, (self->count + 1) * sizeof (char *));
    self->keys[self->count++] = cpec_strdup (key);
}

bool
cpec_keyset_has (const cpec_keyset_t *self, const char *key)
{
    assert (self && key);
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->keys[i], key) == 0)
            return true;
    return false;
}

void
cpec_keyset_fini (cpec_keyset_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->count; i++)
        free (self->keys[i]);
    free (self->keys);
    *self = (cpec_keyset_t){0};
}

void
cpec_keyset_apply (cpec_indexes_t *indexes, cpec_store_op_t op, const cpec_keyset_t *sets,
                   const cpec_keyset_t *other, const char *member)
{
    assert (indexes && sets && member);
    for (size_t i = 0; i < sets->count; i++)
        if (!other || !cpec_keyset_has (other, sets->keys[i]))
            cpec_indexes_add (indexes, op, sets->keys[i], member, 0);
}

void
cpec_handler_publish (cpec_bus_t *bus, cpec_metrics_t *metrics, const char *request_id,
                      const Cpec__V1__Event *const *events, size_t count)
{
    for (size_t i = 0; bus && i < count; i++)
        if (cpec_bus_publish (bus, events[i]) != 0) {
            cpec_log_warn (request_id, "could not publish %s on the bus", events[i]->type);
            if (metrics)
                cpec_metrics_count (metrics, "cpec_bus_publish_errors_total",
                                    "events written but not published on the bus", 1);
        }
}

int
cpec_handler_write (cpec_store_t *store, cpec_bus_t *bus, cpec_metrics_t *metrics,
                    cpec_call_t *call, const cpec_store_write_t *write,
                    const ProtobufCMessageDescriptor *answer, ProtobufCMessage **replayed)
{
    assert (store && call && write && replayed);
    *replayed = NULL;
    if (!call->request_id || !*call->request_id)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "request_id: required for a write (it makes retries safe)");
    int rc = cpec_store_write (store, write, answer, replayed, NULL, call->status);
    if (rc != CPEC_OK)
        return rc;
    if (*replayed) {
        cpec_log_info (call->request_id, "%s: replayed the first answer", call->method);
        return CPEC_OK;
    }
    cpec_handler_publish (bus, metrics, call->request_id, write->events, write->event_count);
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  List pages

#define S_LIST_PAGE_BYTES (512 * 1024)

int
cpec_handler_list_page (cpec_store_t *store, cpec_call_t *call, char **ids, const char *prefix,
                        size_t page_bytes, const ProtobufCMessageDescriptor *descriptor,
                        ProtobufCMessage ***items, size_t *item_count, bool *more)
{
    size_t count = 0;
    while (ids[count])
        count++;
    *items = NULL;
    *item_count = 0;
    if (count == 0)
        return CPEC_OK;
    char **keys = (char **)cpec_realloc (NULL, count * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        char key[S_KEY_MAX];
        snprintf (key, sizeof (key), "%s%s", prefix, ids[i]);
        keys[i] = cpec_strdup (key);
    }
    ProtobufCMessage **found = (ProtobufCMessage **)cpec_realloc (NULL, count * sizeof (void *));
    int rc =
        cpec_store_get_many (store, (const char **)keys, count, descriptor, found, call->status);
    if (rc == CPEC_OK) {
        size_t bytes = 0;
        for (size_t i = 0; i < count; i++) {
            if (!found[i]) {
                cpec_log_warn (call->request_id, "%s: index lists %s, which is absent",
                               call->method, keys[i]);
                continue;
            }
            bytes += protobuf_c_message_get_packed_size (found[i]) + 8;
            if (bytes > (page_bytes ? page_bytes : S_LIST_PAGE_BYTES) && *item_count > 0) {
                for (size_t j = i; j < count; j++) {
                    cpec_pb_destroy (&found[j]);
                    free (ids[j]);
                    ids[j] = NULL;
                }
                *more = true;
                break;
            }
            found[(*item_count)++] = found[i];
        }
        *items = found;
    } else
        free (found);
    for (size_t i = 0; i < count; i++)
        free (keys[i]);
    free (keys);
    return rc;
}
