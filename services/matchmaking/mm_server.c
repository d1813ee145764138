/*  mm_server - the handlers of cpec.v1.Matchmaking for profiles, TopMatches
    and RecommendZones, and the index kept current (mm_sync).

    Who may do what: anyone reads profiles; a profile is written by an ADMIN,
    a SERVICE, or the ENTERPRISE itself (principal.enterprise_id); imports
    by an ADMIN or a SERVICE; an ENTERPRISE asks TopMatches and
    RecommendZones for itself only.

    Zones are read straight from the registry's keys (cpec:sez:{id}, read
    only, through the store's exact cache), so that a zone's free land is
    never older than the last acknowledged write; the forecast of a zone's
    commercial operation is asked of the milestones service (ZoneSchedule)
    and kept 10 s.
*/
#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_check.h"
#include "cpec_codes.h"
#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "mm.h"

#define S_KEY_MAX       200
#define S_ENT_PREFIX    "cpec:mm:ent:"
#define S_ZONE_CACHE_MS 10000
#define S_ZONES_MAX     64

#define S_ADMIN      CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_SERVICE    CPEC__V1__PRINCIPAL__ROLE__SERVICE
#define S_ENTERPRISE CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE

//  --------------------------------------------------------------------------
//  Small helpers

static void
s_ent_key (char *buffer, const char *id)
{
    snprintf (buffer, S_KEY_MAX, S_ENT_PREFIX "%s", id);
}

bool
mm_may_act_for (const cpec_call_t *call, const char *id)
{
    const Cpec__V1__Principal *who = call->principal;
    if (who->role == S_ADMIN || who->role == S_SERVICE)
        return true;
    return who->role == S_ENTERPRISE && who->enterprise_id && *who->enterprise_id && id &&
           strcmp (who->enterprise_id, id) == 0;
}

int
mm_read_enterprise (mm_t *self, cpec_call_t *call, const char *id,
                    Cpec__V1__Enterprise **enterprise)
{
    if (!id || !cpec_check_slug_valid (id, MM_ID_MAX))
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "enterprise id: '%.64s' is not a profile id", id ? id : "");
    char key[S_KEY_MAX];
    s_ent_key (key, id);
    uint32_t version = 0;
    int rc = cpec_store_get (self->store, key, &cpec__v1__enterprise__descriptor,
                             (ProtobufCMessage **)enterprise, &version, call->status);
    if (rc == CPEC_NOT_FOUND)
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "enterprise %s not found", id);
    if (rc == CPEC_OK)
        (*enterprise)->version = version;
    return rc;
}

//  The sorted sets (by id) a profile is listed in.
static cpec_keyset_t
s_profile_sets (const Cpec__V1__Enterprise *e)
{
    cpec_keyset_t sets = {0};
    cpec_keyset_add (&sets, "%s", MM_ENTS_KEY);
    cpec_keyset_add (&sets, "cpec:mm:country:%s", e->country);
    cpec_keyset_add (&sets, "cpec:mm:province:%s", e->province);
    for (size_t i = 0; i < e->n_sectors; i++)
        for (const char *code = e->sectors[i]; code && cpec_codes_isic_level (code) >= 2;
             code = cpec_codes_isic_parent (code))
            cpec_keyset_add (&sets, "cpec:mm:sector:%s", code);
    for (size_t i = 0; i < e->n_isic_divisions; i++)
        cpec_keyset_add (&sets, "cpec:mm:sector:%s", e->isic_divisions[i]);
    return sets;
}

//  Index operations of a profile going from `before` to `after` (either may
//  be NULL), with the change recorded for the replicas' indexes.
static void
s_profile_indexes (cpec_indexes_t *indexes, const Cpec__V1__Enterprise *before,
                   const Cpec__V1__Enterprise *after)
{
    cpec_keyset_t old_sets = {0}, new_sets = {0};
    if (before)
        old_sets = s_profile_sets (before);
    if (after)
        new_sets = s_profile_sets (after);
    const char *id = after ? after->id : before->id;
    for (size_t i = 0; i < old_sets.count; i++)
        if (!cpec_keyset_has (&new_sets, old_sets.keys[i]))
            cpec_indexes_add (indexes, CPEC_STORE_ZREM, old_sets.keys[i], id, 0);
    for (size_t i = 0; i < new_sets.count; i++)
        if (!cpec_keyset_has (&old_sets, new_sets.keys[i]))
            cpec_indexes_add (indexes, CPEC_STORE_ZADD, new_sets.keys[i], id, 0);
    cpec_indexes_add (indexes, CPEC_STORE_INCRBYFLOAT, MM_REV_KEY, NULL, 1);
    cpec_indexes_add (indexes, CPEC_STORE_ZADD_LAST, MM_CHANGED_KEY, id, 0);
    cpec_keyset_fini (&old_sets);
    cpec_keyset_fini (&new_sets);
}

//  A ProfileCreated / ProfileUpdated / ProfileDeleted event.
static Cpec__V1__Event *
s_profile_event (const char *type, const Cpec__V1__Enterprise *e, uint32_t version,
                 cpec_call_t *call, int64_t now)
{
    Cpec__V1__Event *event = cpec_handler_event_new (type, "", e->province, call, NULL, NULL, now);
    Cpec__V1__ProfileChanged *changed =
        (Cpec__V1__ProfileChanged *)cpec_pb_new (&cpec__v1__profile_changed__descriptor);
    changed->enterprise_id = cpec_strdup (e->id);
    changed->country = cpec_strdup (e->country);
    changed->version = version;
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_PROFILE_CHANGED;
    event->profile_changed = changed;
    return event;
}

//  The outbox write of one profile change from `before` to `after` (either
//  may be NULL: created, deleted): the entity, its index entries and the
//  change log, the event `type`, the answer; the replica's index follows at
//  once. The write's code (ABORTED, ALREADY_EXISTS, ...) with *replayed set
//  on a retry.
static int
s_write_profile (mm_t *self, cpec_call_t *call, const Cpec__V1__Enterprise *before,
                 const Cpec__V1__Enterprise *after, const char *type, int64_t now,
                 const ProtobufCMessage *answer, ProtobufCMessage **replayed)
{
    const Cpec__V1__Enterprise *e = after ? after : before;
    char key[S_KEY_MAX];
    s_ent_key (key, e->id);
    cpec_indexes_t indexes = {0};
    s_profile_indexes (&indexes, before, after);
    Cpec__V1__Event *event = s_profile_event (type, e, e->version, call, now);
    cpec_store_put_t put = {.key = key,
                            .expected_version = before ? before->version : 0,
                            .message = after ? &after->base : NULL};
    const Cpec__V1__Event *events[] = {event};
    cpec_store_write_t write = {.request_id = call->request_id,
                                .puts = &put,
                                .put_count = 1,
                                .indexes = indexes.items,
                                .index_count = indexes.count,
                                .events = events,
                                .event_count = 1,
                                .answer = answer};
    int rc = cpec_handler_write (self->store, self->bus, self->metrics, call, &write,
                                 answer->descriptor, replayed);
    if (rc == CPEC_OK && !*replayed)
        mm_sync (self, &(cpec_status_t){0});
    cpec_indexes_fini (&indexes);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
    return rc;
}

//  A fresh profile id: "ent-" and 16 hex digits.
static char *
s_new_id (void)
{
    char uuid[37], id[32];
    cpec_uuid (uuid);
    snprintf (id, sizeof (id), "ent-%.8s%.4s%.4s", uuid, uuid + 9, uuid + 14);
    return cpec_strdup (id);
}

//  A new profile as it will be stored: id, version 1, audits; validated.
static int
s_prepare_new (cpec_call_t *call, Cpec__V1__Enterprise *e, int64_t now, const char *path)
{
    if (!e->id || !*e->id) {
        char *id = s_new_id ();
        cpec_pb_string_set (&e->id, id);
        free (id);
    }
    e->version = 1;
    cpec_handler_audit_set (&e->created, now, cpec_handler_subject (call));
    cpec_handler_audit_set (&e->updated, now, cpec_handler_subject (call));
    int rc = mm_validate_enterprise (e, call->status);
    if (rc && path) {
        char message[600];
        snprintf (message, sizeof (message), "%s.%s", path, call->status->message);
        cpec_status_set (call->status, rc, "%s", message);
    }
    return rc;
}

//  --------------------------------------------------------------------------
//  The index kept current

//  The next changes after a replica's position, and whether that position
//  still holds: the change log still gives its last id the score it had and
//  the counter has not gone below it (after Redis lost recent writes, a
//  failover or a restore, it may not).
//  KEYS[1] cpec:mm:changed, KEYS[2] cpec:mm:rev
//  ARGV[1] the replica's position (0: none), ARGV[2] the id applied there,
//  ARGV[3] at most this many
//  Replies {1 or 0 (the position is lost), id, score, id, score, ...}
static const char s_sync_lua[] =
    "local rev = tonumber(ARGV[1])\n"
    "if rev > 0 then\n"
    "  local at = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))\n"
    "  local counter = tonumber(redis.call('GET', KEYS[2]))\n"
    "  if not at or at < rev or not counter or counter < rev then return {0} end\n"
    "end\n"
    "local changes = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf',\n"
    "  'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[3]))\n"
    "table.insert(changes, 1, 1)\n"
    "return changes\n";

//  Reads the profiles of keys into the index (absent ones leave it); one
//  that does not decode is logged and left out, so that it stops nothing.
static int
s_apply (mm_t *self, char **keys, char **ids, size_t count, cpec_status_t *status)
{
    ProtobufCMessage **found = (ProtobufCMessage **)calloc (count, sizeof (void *));
    assert (found);
    int rc = cpec_store_get_many (self->store, (const char **)keys, count,
                                  &cpec__v1__enterprise__descriptor, found, status);
    if (rc == CPEC_DATA_LOSS) {
        //  one at a time, to find the bad one(s)
        rc = CPEC_OK;
        for (size_t i = 0; i < count && rc == CPEC_OK; i++) {
            cpec_status_t one;
            found[i] = NULL;
            int got = cpec_store_get (self->store, keys[i], &cpec__v1__enterprise__descriptor,
                                      &found[i], NULL, &one);
            if (got == CPEC_DATA_LOSS)
                cpec_log_error (NULL, "index: profile %s does not decode; left out", ids[i]);
            else if (got != CPEC_OK && got != CPEC_NOT_FOUND)
                rc = cpec_status_set (status, got, "%s", one.message);
        }
    }
    for (size_t i = 0; i < count; i++) {
        if (rc == CPEC_OK && found[i])
            mm_index_put (self->index, (Cpec__V1__Enterprise *)found[i]);
        else if (rc == CPEC_OK)
            mm_index_remove (self->index, ids[i]);
        cpec_pb_destroy (&found[i]);
    }
    free (found);
    return rc;
}

int
mm_sync (mm_t *self, cpec_status_t *status)
{
    for (;;) {
        char rev[32], batch[16];
        snprintf (rev, sizeof (rev), "%lld", (long long)self->rev);
        snprintf (batch, sizeof (batch), "%d", MM_SYNC_BATCH);
        const char *argv[] = {"2", MM_CHANGED_KEY, MM_REV_KEY, rev, self->rev_id, batch};
        redisReply *reply =
            cpec_store_script (self->store, s_sync_lua, self->sync_sha, 6, argv, NULL, status);
        if (!reply)
            return status->code;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 1 ||
            reply->element[0]->type != REDIS_REPLY_INTEGER) {
            freeReplyObject (reply);
            return cpec_status_set (status, CPEC_INTERNAL, "index sync: unexpected reply");
        }
        if (reply->element[0]->integer == 0) {
            //  The log no longer holds what this replica applied: start again
            cpec_log_warn (NULL,
                           "index: the change log went back past change %lld (Redis lost "
                           "writes or was restored); reading every profile again",
                           (long long)self->rev);
            freeReplyObject (reply);
            mm_index_destroy (&self->index);
            self->index = mm_index_new ();
            self->rev = 0;
            self->rev_id[0] = '\0';
            continue;
        }
        size_t count = (reply->elements - 1) / 2;
        if (count == 0) {
            freeReplyObject (reply);
            return CPEC_OK;
        }
        char **keys = (char **)cpec_realloc (NULL, count * sizeof (char *));
        char **ids = (char **)cpec_realloc (NULL, count * sizeof (char *));
        for (size_t i = 0; i < count; i++) {
            char key[S_KEY_MAX];
            ids[i] = reply->element[1 + 2 * i]->str;
            s_ent_key (key, ids[i]);
            keys[i] = cpec_strdup (key);
        }
        int rc = s_apply (self, keys, ids, count, status);
        if (rc == CPEC_OK) {
            self->rev = atoll (reply->element[2 * count]->str);
            snprintf (self->rev_id, sizeof (self->rev_id), "%s", ids[count - 1]);
        }
        for (size_t i = 0; i < count; i++)
            free (keys[i]);
        free (keys);
        free (ids);
        freeReplyObject (reply);
        if (rc != CPEC_OK)
            return rc;
        if (count < MM_SYNC_BATCH)
            return CPEC_OK;
    }
}

typedef struct _mm_zone_cache_t
{
    struct
    {
        char zone[MM_ID_MAX + 1];
        int64_t forecast_ms; //  0: unknown
        int64_t fetched_ms;
    } entries[S_ZONES_MAX];
    size_t count;
} s_zone_cache_t;

int
mm_init (mm_t *self, cpec_status_t *status)
{
    self->index = mm_index_new ();
    self->zones = (s_zone_cache_t *)calloc (1, sizeof (s_zone_cache_t));
    assert (self->zones);
    self->rev = 0;
    self->rev_id[0] = '\0';
    int64_t started = cpec_clock_ms ();
    int rc = mm_sync (self, status);
    if (rc == CPEC_OK && mm_index_size (self->index))
        cpec_log_info (NULL, "index: %zu profiles read in %lld ms (%zu MiB)",
                       mm_index_size (self->index), (long long)(cpec_clock_ms () - started),
                       mm_index_bytes (self->index) >> 20);
    return rc;
}

void
mm_fini (mm_t *self)
{
    mm_index_destroy (&self->index);
    free (self->zones);
    self->zones = NULL;
}

int64_t
mm_tick (mm_t *self, int64_t now)
{
    cpec_status_t status;
    if (mm_sync (self, &status) != CPEC_OK)
        cpec_log_debug (NULL, "index sync: %s", status.message);
    return mm_timers_run (self, now);
}

//  --------------------------------------------------------------------------
//  Lists

int
mm_list_ids (mm_t *self, cpec_call_t *call, const char *key, const char *cursor, size_t limit,
             bool (*keep) (void *arg, const char *id), void *arg, char ***ids_p, char **next)
{
    char **ids = (char **)cpec_realloc (NULL, (limit + 1) * sizeof (char *));
    size_t count = 0, scanned = 0;
    char from[S_KEY_MAX];
    snprintf (from, sizeof (from), "%s%s", cursor && *cursor ? "(" : "-",
              cursor && *cursor ? cursor : "");
    bool end = false;
    int rc = CPEC_OK;
    while (count < limit && !end && scanned < MM_LIST_SCAN_MAX) {
        char batch[32];
        snprintf (batch, sizeof (batch), "%zu", keep ? (size_t)256 : limit - count);
        const char *argv[] = {"ZRANGEBYLEX", key, from, "+", "LIMIT", "0", batch};
        redisReply *reply = cpec_store_command (self->store, 7, argv, NULL, call->status);
        if (!reply) {
            rc = call->status->code;
            break;
        }
        size_t got = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
        end = got < (size_t)atoi (batch);
        for (size_t i = 0; i < got && count < limit; i++) {
            const char *id = reply->element[i]->str;
            scanned++;
            snprintf (from, sizeof (from), "(%s", id);
            if (!keep || keep (arg, id))
                ids[count++] = cpec_strdup (id);
            if (count == limit && i + 1 < got)
                end = false;
        }
        freeReplyObject (reply);
    }
    ids[count] = NULL;
    *ids_p = ids;
    //  Go on from the last id looked at, unless the set ended there
    *next = cpec_strdup (end && count < limit ? "" : from + 1);
    if (rc == CPEC_OK && count == limit && !end) {
        //  A full page: more may follow (an empty page after it is possible)
    }
    return rc;
}

//  The profile filters of ListEnterprises, checked on the index.
typedef struct
{
    mm_t *self;
    const Cpec__V1__ListEnterprisesRequest *request;
} s_list_filter_t;

static bool
s_list_keep (void *arg, const char *id)
{
    s_list_filter_t *filter = (s_list_filter_t *)arg;
    const Cpec__V1__ListEnterprisesRequest *request = filter->request;
    const mm_profile_t *p = mm_index_get (filter->self->index, id);
    if (!p)
        return false; //  gone, or made after the sync this page follows
    if (*request->country &&
        (p->country == MM_COUNTRY_CN) != (strcmp (request->country, "CN") == 0))
        return false;
    if (*request->province && p->province != mm_province_index (request->province))
        return false;
    if (*request->sector) {
        mm_filter_t only = {0};
        char *sectors[] = {(char *)request->sector};
        only.sectors = sectors;
        only.n_sectors = 1;
        return mm_filter_pass (&only, p);
    }
    return true;
}

//  --------------------------------------------------------------------------
//  Profiles

int
mm_create_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__CreateEnterpriseRequest *request =
        (const Cpec__V1__CreateEnterpriseRequest *)input;
    if (!request->enterprise)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "enterprise: required");
    Cpec__V1__Enterprise *e = (Cpec__V1__Enterprise *)cpec_pb_dup (&request->enterprise->base);
    const Cpec__V1__Principal *who = call->principal;
    if (who->role == S_ENTERPRISE && (!e->id || !*e->id) && who->enterprise_id)
        cpec_pb_string_set (&e->id, who->enterprise_id);
    int64_t now = cpec_now_ms ();
    int rc = CPEC_OK;
    if (!mm_may_act_for (call, e->id && *e->id ? e->id : "-"))
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "CreateEnterprise: only an ADMIN, a SERVICE or the enterprise "
                              "itself may create its profile");
    if (rc == CPEC_OK)
        rc = s_prepare_new (call, e, now, NULL);
    if (rc != CPEC_OK) {
        cpec_pb_destroy ((ProtobufCMessage **)&e);
        return rc;
    }
    ProtobufCMessage *replayed = NULL;
    rc = s_write_profile (self, call, NULL, e, "ProfileCreated", now, &e->base, &replayed);
    if (rc == CPEC_ALREADY_EXISTS)
        cpec_status_set (call->status, rc, "enterprise %s already exists", e->id);
    else if (rc == CPEC_OK && !replayed)
        cpec_log_info (call->request_id, "enterprise %s created by %s", e->id,
                       cpec_handler_subject (call));
    if (rc == CPEC_OK)
        cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&e);
    cpec_pb_destroy ((ProtobufCMessage **)&e);
    return rc;
}

int
mm_import_enterprises (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                       ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__ImportEnterprisesRequest *request =
        (const Cpec__V1__ImportEnterprisesRequest *)input;
    Cpec__V1__ImportEnterprisesResponse *response = (Cpec__V1__ImportEnterprisesResponse *)output;
    const Cpec__V1__Principal *who = call->principal;
    if (who->role != S_ADMIN && who->role != S_SERVICE)
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "ImportEnterprises: only an ADMIN or a SERVICE may import");
    size_t n = request->n_enterprises;
    if (n == 0 || n > MM_IMPORT_MAX)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "enterprises: 1 to %d profiles, not %zu", MM_IMPORT_MAX, n);
    int64_t now = cpec_now_ms ();
    Cpec__V1__Enterprise **list = (Cpec__V1__Enterprise **)calloc (n, sizeof (void *));
    char **keys = (char **)calloc (n, sizeof (char *));
    cpec_store_put_t *puts = (cpec_store_put_t *)calloc (n, sizeof (cpec_store_put_t));
    assert (list && keys && puts);
    cpec_indexes_t indexes = {0};
    int rc = CPEC_OK;
    for (size_t i = 0; i < n && rc == CPEC_OK; i++) {
        list[i] = (Cpec__V1__Enterprise *)cpec_pb_dup (&request->enterprises[i]->base);
        char path[32];
        snprintf (path, sizeof (path), "enterprises[%zu]", i);
        rc = s_prepare_new (call, list[i], now, path);
        for (size_t j = 0; rc == CPEC_OK && j < i; j++)
            if (strcmp (list[i]->id, list[j]->id) == 0)
                rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                      "enterprises[%zu].id: %s is also enterprises[%zu]", i,
                                      list[i]->id, j);
        if (rc != CPEC_OK)
            break;
        char key[S_KEY_MAX];
        s_ent_key (key, list[i]->id);
        keys[i] = cpec_strdup (key);
        puts[i] =
            (cpec_store_put_t){.key = keys[i], .expected_version = 0, .message = &list[i]->base};
        s_profile_indexes (&indexes, NULL, list[i]);
    }
    if (rc == CPEC_OK) {
        response->ids = (char **)cpec_realloc (NULL, n * sizeof (char *));
        response->n_ids = n;
        for (size_t i = 0; i < n; i++)
            response->ids[i] = cpec_strdup (list[i]->id);
        Cpec__V1__Event *event =
            cpec_handler_event_new ("ProfilesImported", "", "", call, NULL, NULL, now);
        Cpec__V1__ProfilesImported *imported =
            (Cpec__V1__ProfilesImported *)cpec_pb_new (&cpec__v1__profiles_imported__descriptor);
        imported->enterprise_ids = (char **)cpec_realloc (NULL, n * sizeof (char *));
        imported->n_enterprise_ids = n;
        for (size_t i = 0; i < n; i++)
            imported->enterprise_ids[i] = cpec_strdup (list[i]->id);
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_PROFILES_IMPORTED;
        event->profiles_imported = imported;
        const Cpec__V1__Event *events[] = {event};
        cpec_store_write_t write = {.request_id = call->request_id,
                                    .puts = puts,
                                    .put_count = n,
                                    .indexes = indexes.items,
                                    .index_count = indexes.count,
                                    .events = events,
                                    .event_count = 1,
                                    .answer = &response->base};
        ProtobufCMessage *replayed = NULL;
        rc = cpec_handler_write (self->store, self->bus, self->metrics, call, &write,
                                 &cpec__v1__import_enterprises_response__descriptor, &replayed);
        if (rc == CPEC_ALREADY_EXISTS) {
            char why[600];
            snprintf (why, sizeof (why), "%s", call->status->message);
            cpec_status_set (call->status, rc,
                             "ImportEnterprises: a profile of this batch already exists (%s); "
                             "nothing was imported",
                             why);
        } else if (rc == CPEC_OK && replayed)
            cpec_pb_move (output, &replayed);
        else if (rc == CPEC_OK)
            mm_sync (self, &(cpec_status_t){0});
        cpec_pb_destroy ((ProtobufCMessage **)&event);
    }
    for (size_t i = 0; i < n; i++) {
        cpec_pb_destroy ((ProtobufCMessage **)&list[i]);
        free (keys[i]);
    }
    free (list);
    free (keys);
    free (puts);
    cpec_indexes_fini (&indexes);
    return rc;
}

int
mm_get_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                   ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__GetEnterpriseRequest *request = (const Cpec__V1__GetEnterpriseRequest *)input;
    Cpec__V1__Enterprise *e = NULL;
    int rc = mm_read_enterprise (self, call, request->id, &e);
    if (rc == CPEC_OK)
        cpec_pb_move (output, (ProtobufCMessage **)&e);
    return rc;
}

int
mm_list_enterprises (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                     ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__ListEnterprisesRequest *request =
        (const Cpec__V1__ListEnterprisesRequest *)input;
    Cpec__V1__ListEnterprisesResponse *response = (Cpec__V1__ListEnterprisesResponse *)output;
    int rc = CPEC_OK;
    if (*request->country && strcmp (request->country, "PK") && strcmp (request->country, "CN"))
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "country: PK or CN");
    else if (*request->province && !mm_province_index (request->province))
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                              "province: '%.20s' is not a province code", request->province);
    else if (*request->sector && !cpec_codes_isic_valid (request->sector))
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                              "sector: '%.20s' is not an ISIC Rev.4 code", request->sector);
    else if (request->page_size > MM_PAGE_MAX)
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "page_size: at most %d",
                              MM_PAGE_MAX);
    else if (*request->cursor && !cpec_check_slug_valid (request->cursor, MM_ID_MAX))
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "cursor: not a cursor");
    if (rc != CPEC_OK)
        return rc;
    mm_sync (self, call->status);
    cpec_status_clear (call->status);
    //  Walk the most selective set; check the other filters on the index
    char key[S_KEY_MAX];
    int level = *request->sector ? cpec_codes_isic_level (request->sector) : 0;
    if (level >= 2)
        snprintf (key, sizeof (key), "cpec:mm:sector:%s", request->sector);
    else if (*request->province)
        snprintf (key, sizeof (key), "cpec:mm:province:%s", request->province);
    else if (*request->country)
        snprintf (key, sizeof (key), "cpec:mm:country:%s", request->country);
    else
        snprintf (key, sizeof (key), "%s", MM_ENTS_KEY);
    s_list_filter_t filter = {self, request};
    bool filtered = level == 1 || (*request->province && level >= 2) ||
                    (*request->country && (*request->province || level));
    char **ids = NULL, *next = NULL;
    size_t page = request->page_size ? request->page_size : MM_PAGE_DEFAULT;
    rc = mm_list_ids (self, call, key, request->cursor, page, filtered ? s_list_keep : NULL,
                      &filter, &ids, &next);
    bool more = false;
    if (rc == CPEC_OK)
        rc = cpec_handler_list_page (self->store, call, ids, S_ENT_PREFIX, self->page_bytes,
                                     &cpec__v1__enterprise__descriptor,
                                     (ProtobufCMessage ***)&response->enterprises,
                                     &response->n_enterprises, &more);
    if (rc == CPEC_OK) {
        if (more) {
            //  cut short by size: go on after the last one kept
            free (next);
            next = cpec_strdup (response->n_enterprises
                                    ? response->enterprises[response->n_enterprises - 1]->id
                                    : "");
        }
        response->next_cursor = next;
        next = NULL;
    }
    free (next);
    cpec_store_strings_destroy (&ids);
    return rc;
}

//  Whether the mask (empty: every field) names field `name`.
static bool
s_masked (const Cpec__V1__UpdateEnterpriseRequest *request, const char *name)
{
    if (request->n_update_mask == 0)
        return true;
    for (size_t i = 0; i < request->n_update_mask; i++)
        if (strcmp (request->update_mask[i], name) == 0)
            return true;
    return false;
}

int
mm_update_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__UpdateEnterpriseRequest *request =
        (const Cpec__V1__UpdateEnterpriseRequest *)input;
    if (!request->enterprise)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "enterprise: required");
    if (!mm_may_act_for (call, request->enterprise->id))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "UpdateEnterprise: only an ADMIN, a SERVICE or the enterprise "
                                "itself may change its profile");
    if (request->expected_version == 0)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "expected_version: required (the version the change is based on)");
    int rc = mm_validate_mask (request->update_mask, request->n_update_mask, call->status);
    if (rc != CPEC_OK)
        return rc;
    ProtobufCMessage *first = NULL;
    if (cpec_store_replayed (self->store, call->request_id, &cpec__v1__enterprise__descriptor,
                             &first, call->status) == CPEC_OK &&
        first) {
        cpec_pb_move (output, &first);
        return CPEC_OK;
    }
    Cpec__V1__Enterprise *stored = NULL;
    rc = mm_read_enterprise (self, call, request->enterprise->id, &stored);
    if (rc != CPEC_OK)
        return rc;
    if (stored->version != request->expected_version) {
        rc = cpec_status_set (call->status, CPEC_ABORTED,
                              "enterprise %s is at version %u, not %u; read it again", stored->id,
                              stored->version, request->expected_version);
        cpec_pb_destroy ((ProtobufCMessage **)&stored);
        return rc;
    }
    Cpec__V1__Enterprise *next = (Cpec__V1__Enterprise *)cpec_pb_dup (&stored->base);
    Cpec__V1__Enterprise *given = (Cpec__V1__Enterprise *)cpec_pb_dup (&request->enterprise->base);
    const ProtobufCMessageDescriptor *descriptor = &cpec__v1__enterprise__descriptor;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const char *name = descriptor->fields[i].name;
        if (strcmp (name, "id") && strcmp (name, "version") && strcmp (name, "created") &&
            strcmp (name, "updated") && strcmp (name, "isic_divisions") && s_masked (request, name))
            cpec_pb_swap_field (&next->base, &given->base, name);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&given);
    int64_t now = cpec_now_ms ();
    next->version = stored->version + 1;
    cpec_handler_audit_set (&next->updated, now, cpec_handler_subject (call));
    rc = mm_validate_enterprise (next, call->status);
    if (rc == CPEC_OK) {
        ProtobufCMessage *replayed = NULL;
        rc = s_write_profile (self, call, stored, next, "ProfileUpdated", now, &next->base,
                              &replayed);
        if (rc == CPEC_ABORTED)
            cpec_status_set (call->status, rc,
                             "enterprise %s changed while version %u was being updated; read it "
                             "again",
                             next->id, stored->version);
        if (rc == CPEC_OK)
            cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&next);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&next);
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    return rc;
}

int
mm_delete_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__DeleteEnterpriseRequest *request =
        (const Cpec__V1__DeleteEnterpriseRequest *)input;
    Cpec__V1__DeleteEnterpriseResponse *response = (Cpec__V1__DeleteEnterpriseResponse *)output;
    if (!mm_may_act_for (call, request->id))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "DeleteEnterprise: only an ADMIN, a SERVICE or the enterprise "
                                "itself may delete its profile");
    ProtobufCMessage *first = NULL;
    if (cpec_store_replayed (self->store, call->request_id,
                             &cpec__v1__delete_enterprise_response__descriptor, &first,
                             call->status) == CPEC_OK &&
        first) {
        cpec_pb_move (output, &first);
        return CPEC_OK;
    }
    Cpec__V1__Enterprise *stored = NULL;
    int rc = mm_read_enterprise (self, call, request->id, &stored);
    if (rc != CPEC_OK)
        return rc;
    if (request->expected_version && stored->version != request->expected_version) {
        rc = cpec_status_set (call->status, CPEC_ABORTED,
                              "enterprise %s is at version %u, not %u; read it again", stored->id,
                              stored->version, request->expected_version);
        cpec_pb_destroy ((ProtobufCMessage **)&stored);
        return rc;
    }
    int64_t now = cpec_now_ms ();
    response->id = cpec_strdup (stored->id);
    ProtobufCMessage *replayed = NULL;
    rc = s_write_profile (self, call, stored, NULL, "ProfileDeleted", now, &response->base,
                          &replayed);
    if (rc == CPEC_ABORTED)
        cpec_status_set (call->status, rc, "enterprise %s changed meanwhile; read it again",
                         stored->id);
    else if (rc == CPEC_OK && !replayed)
        cpec_log_info (call->request_id, "enterprise %s deleted by %s", stored->id,
                       cpec_handler_subject (call));
    if (replayed)
        cpec_pb_move (output, &replayed);
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    return rc;
}

//  --------------------------------------------------------------------------
//  TopMatches

int
mm_top_matches (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__TopMatchesRequest *request = (const Cpec__V1__TopMatchesRequest *)input;
    Cpec__V1__TopMatchesResponse *response = (Cpec__V1__TopMatchesResponse *)output;
    if (call->principal->role == S_ENTERPRISE && !mm_may_act_for (call, request->enterprise_id))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "TopMatches: an enterprise may ask for its own matches only");
    if (request->k > MM_K_MAX)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "k: at most %d", MM_K_MAX);
    mm_filter_t filter;
    int rc = mm_filter_parse (request->filters, &filter, call->status);
    if (rc != CPEC_OK)
        return rc;
    if (!cpec_check_slug_valid (request->enterprise_id, MM_ID_MAX))
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "enterprise_id: '%.64s' is not a profile id",
                                request->enterprise_id);
    if ((rc = mm_sync (self, call->status)) != CPEC_OK)
        return rc;
    const mm_profile_t *a = mm_index_get (self->index, request->enterprise_id);
    if (!a)
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "enterprise %s not found",
                                request->enterprise_id);
    size_t k = request->k ? request->k : MM_K_DEFAULT, scored = 0;
    mm_hit_t hits[MM_K_MAX];
    size_t count =
        request->brute_force
            ? mm_index_brute (self->index, &self->config.weights, a, &filter, k, hits, &scored)
            : mm_index_top (self->index, &self->config.weights, a, &filter, k, hits, &scored);
    response->scored = (uint32_t)scored;
    response->results =
        (Cpec__V1__MatchResult **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
    for (size_t i = 0; i < count; i++) {
        const mm_profile_t *b = mm_index_slot (self->index, hits[i].slot);
        Cpec__V1__MatchResult *result =
            (Cpec__V1__MatchResult *)cpec_pb_new (&cpec__v1__match_result__descriptor);
        result->enterprise_id = cpec_strdup (b->id);
        result->name = cpec_strdup (b->name);
        result->country = cpec_strdup (b->country == MM_COUNTRY_CN ? "CN" : "PK");
        result->province = cpec_strdup (b->province ? mm_province_code (b->province) : "");
        result->score = hits[i].score / 100.0;
        mm_reasons_t reasons = {0};
        mm_score (&self->config.weights, a, b, &reasons);
        result->reasons = (char **)cpec_realloc (NULL, (reasons.count + 1) * sizeof (char *));
        for (size_t j = 0; j < reasons.count; j++) {
            result->reasons[j] = reasons.text[j];
            reasons.text[j] = NULL;
        }
        result->n_reasons = reasons.count;
        reasons.count = 0;
        mm_reasons_fini (&reasons);
        response->results[response->n_results++] = result;
    }
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  RecommendZones

//  The forecast of a zone's commercial operation (Unix ms; 0 unknown), from
//  the milestones service, kept S_ZONE_CACHE_MS.
static int64_t
s_zone_forecast (mm_t *self, const char *zone, int64_t *budget_ms)
{
    s_zone_cache_t *cache = self->zones;
    int64_t now = cpec_clock_ms ();
    size_t at = 0;
    for (; at < cache->count; at++)
        if (strcmp (cache->entries[at].zone, zone) == 0)
            break;
    if (at < cache->count && now - cache->entries[at].fetched_ms < S_ZONE_CACHE_MS)
        return cache->entries[at].forecast_ms;
    if (at == cache->count) {
        if (cache->count == S_ZONES_MAX) {
            //  more zones than kept: reuse the oldest entry
            at = 0;
            for (size_t i = 1; i < cache->count; i++)
                if (cache->entries[i].fetched_ms < cache->entries[at].fetched_ms)
                    at = i;
        } else
            cache->count++;
        snprintf (cache->entries[at].zone, sizeof (cache->entries[at].zone), "%s", zone);
    }
    int64_t forecast = 0;
    if (self->client && *budget_ms > 0) {
        int64_t asked = cpec_clock_ms ();
        Cpec__V1__ZoneScheduleRequest request = CPEC__V1__ZONE_SCHEDULE_REQUEST__INIT;
        request.zone_id = (char *)zone;
        ProtobufCMessage *answer = NULL;
        cpec_status_t status;
        int rc = cpec_client_call (self->client, &cpec__v1__milestones__descriptor, "ZoneSchedule",
                                   NULL, &request.base, &answer, (int)*budget_ms, &status);
        *budget_ms -= cpec_clock_ms () - asked;
        if (rc == CPEC_OK) {
            forecast =
                cpec_pb_timestamp_ms (((Cpec__V1__ZoneScheduleResponse *)answer)->finish_forecast);
            cpec_pb_destroy (&answer);
        } else
            cpec_log_debug (NULL, "ZoneSchedule %s: %s", zone, status.message);
    }
    cache->entries[at].forecast_ms = forecast;
    cache->entries[at].fetched_ms = now;
    return forecast;
}

//  Points of a utility: connected capacity covers the need (all), planned
//  does (half); a need of 0 takes all.
static int
s_utility (const Cpec__V1__UtilityLine *line, double need, int weight, const char *name,
           mm_reasons_t *reasons)
{
    if (need <= 0)
        return 0;
    double connected = line && line->connected ? line->connected->value : 0;
    double planned = line && line->planned ? line->planned->value : 0;
    const char *unit = line && line->unit && *line->unit ? line->unit : "";
    if (connected >= need) {
        char text[160];
        snprintf (text, sizeof (text), "%s: %g %s connected for the %g needed", name, connected,
                  unit, need);
        if (reasons && reasons->count < 8) {
            reasons->text[reasons->count] = cpec_strdup (text);
            reasons->points[reasons->count++] = weight * 100;
        }
        return weight * 100;
    }
    if (planned >= need) {
        char text[160];
        snprintf (text, sizeof (text), "%s: %g %s planned (%g connected) for the %g needed", name,
                  planned, unit, connected, need);
        if (reasons && reasons->count < 8) {
            reasons->text[reasons->count] = cpec_strdup (text);
            reasons->points[reasons->count++] = weight * 50;
        }
        return weight * 50;
    }
    return 0;
}

static void
s_add_reason (mm_reasons_t *reasons, int points, const char *text)
{
    if (reasons->count < 8) {
        reasons->text[reasons->count] = cpec_strdup (text);
        reasons->points[reasons->count++] = points;
    }
}

static int
s_compare_zones (const void *x, const void *y)
{
    const Cpec__V1__ZoneRecommendation *a = *(Cpec__V1__ZoneRecommendation *const *)x;
    const Cpec__V1__ZoneRecommendation *b = *(Cpec__V1__ZoneRecommendation *const *)y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return strcmp (a->zone_id, b->zone_id);
}

//  One zone for a firm: NULL with *why set when the zone cannot hold it.
static Cpec__V1__ZoneRecommendation *
s_zone_fit (mm_t *self, const Cpec__V1__Enterprise *e, const Cpec__V1__Sez *zone,
            int64_t *budget_ms, char **why)
{
    char text[300];
    const Cpec__V1__Land *land = zone->land;
    //  free land: leasable less allotted, never below 0 (float sums of
    //  allotments may pass the leasable figure by a rounding error); -1:
    //  not published
    double free_acres = -1;
    if (land && land->leasable_acres)
        free_acres = fmax (0, land->leasable_acres->value - land->allotted_acres);
    if (e->site_acres > 0 && free_acres >= 0 && free_acres < e->site_acres) {
        snprintf (text, sizeof (text), "%s: %g acres free, the firm needs %g", zone->id, free_acres,
                  e->site_acres);
        *why = cpec_strdup (text);
        return NULL;
    }
    mm_reasons_t reasons = {0};
    int points = 0;
    //  sectors (40)
    int sector = 0;
    const char *firm_code = NULL, *zone_code = NULL;
    for (size_t i = 0; i < e->n_sectors + e->n_isic_divisions && sector < 4000; i++) {
        const char *code = i < e->n_sectors ? e->sectors[i] : e->isic_divisions[i - e->n_sectors];
        for (size_t j = 0; j < zone->n_sectors; j++) {
            if (cpec_codes_isic_within (code, zone->sectors[j])) {
                sector = 4000, firm_code = code, zone_code = zone->sectors[j];
                break;
            }
            const char *a = cpec_codes_isic_section (code),
                       *b = cpec_codes_isic_section (zone->sectors[j]);
            if (sector < 1000 && a && b && strcmp (a, b) == 0)
                sector = 1000, firm_code = code, zone_code = zone->sectors[j];
        }
    }
    if (sector == 4000)
        snprintf (text, sizeof (text), "sector: ISIC %s lies within the zone's priority sector %s",
                  firm_code, zone_code);
    else if (sector)
        snprintf (text, sizeof (text),
                  "sector: ISIC %s shares section %s with the zone's priority sector %s", firm_code,
                  cpec_codes_isic_section (firm_code), zone_code);
    if (sector)
        s_add_reason (&reasons, sector, text);
    points += sector;
    //  land (15)
    if (e->site_acres > 0 && free_acres >= 0) {
        snprintf (text, sizeof (text), "land: %g acres free for the %g needed", free_acres,
                  e->site_acres);
        s_add_reason (&reasons, 1500, text);
        points += 1500;
    } else if (e->site_acres > 0) {
        s_add_reason (&reasons, 0,
                      "land: the zone's free land is not published; confirm it with the zone "
                      "authority");
    }
    //  utilities (20)
    const Cpec__V1__Utilities *u = zone->utilities;
    points += s_utility (u ? u->power : NULL, e->power_mw, 10, "power", &reasons);
    points += s_utility (u ? u->gas : NULL, e->gas_mmcfd, 5, "gas", &reasons);
    points += s_utility (u ? u->water : NULL, e->water_mgd, 5, "water", &reasons);
    //  preference (10)
    for (size_t i = 0; i < e->n_preferred_zones; i++)
        if (strcmp (e->preferred_zones[i], zone->id) == 0) {
            s_add_reason (&reasons, 1000, "preference: a zone the firm named");
            points += 1000;
            break;
        }
    for (size_t i = 0; i < e->n_preferred_provinces; i++)
        if (strcmp (e->preferred_provinces[i], zone->province) == 0) {
            snprintf (text, sizeof (text), "preference: in %s, a province the firm prefers",
                      zone->province);
            s_add_reason (&reasons, 500, text);
            points += 500;
            break;
        }
    //  readiness (15)
    Cpec__V1__ZoneRecommendation *out =
        (Cpec__V1__ZoneRecommendation *)cpec_pb_new (&cpec__v1__zone_recommendation__descriptor);
    if (zone->status == CPEC__V1__SEZ__STATUS__OPERATIONAL) {
        s_add_reason (&reasons, 1500, "status: operational");
        points += 1500;
    } else {
        int64_t forecast = s_zone_forecast (self, zone->id, budget_ms);
        int readiness;
        if (forecast > 0) {
            double years = (double)(forecast - cpec_now_ms ()) / (365.25 * 86400000.0);
            readiness = years <= 1 ? 1000 : years <= 2 ? 600 : 300;
            char day[16];
            time_t seconds = (time_t)(forecast / 1000);
            struct tm tm;
            gmtime_r (&seconds, &tm);
            strftime (day, sizeof (day), "%Y-%m-%d", &tm);
            snprintf (text, sizeof (text), "status: %s; commercial operation forecast for %s",
                      protobuf_c_enum_descriptor_get_value (&cpec__v1__sez__status__descriptor,
                                                            zone->status)
                          ? protobuf_c_enum_descriptor_get_value (
                                &cpec__v1__sez__status__descriptor, zone->status)
                                ->name
                          : "?",
                      day);
            out->commercial_operation = cpec_pb_timestamp_new (forecast);
        } else {
            readiness = zone->status == CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT ? 500
                        : zone->status == CPEC__V1__SEZ__STATUS__NOTIFIED        ? 400
                                                                                 : 200;
            const ProtobufCEnumValue *value = protobuf_c_enum_descriptor_get_value (
                &cpec__v1__sez__status__descriptor, zone->status);
            snprintf (text, sizeof (text), "status: %s; no commercial operation forecast yet",
                      value ? value->name : "?");
        }
        s_add_reason (&reasons, readiness, text);
        points += readiness;
    }
    out->zone_id = cpec_strdup (zone->id);
    out->name = cpec_strdup (zone->name);
    out->province = cpec_strdup (zone->province);
    out->score = points / 100.0;
    //  strongest first
    for (size_t i = 1; i < reasons.count; i++)
        for (size_t j = i; j > 0 && reasons.points[j] > reasons.points[j - 1]; j--) {
            char *t = reasons.text[j];
            int p = reasons.points[j];
            reasons.text[j] = reasons.text[j - 1];
            reasons.points[j] = reasons.points[j - 1];
            reasons.text[j - 1] = t;
            reasons.points[j - 1] = p;
        }
    out->reasons = (char **)cpec_realloc (NULL, (reasons.count + 1) * sizeof (char *));
    for (size_t i = 0; i < reasons.count; i++) {
        char *full = NULL;
        if (asprintf (&full, "%s (+%d.%02d)", reasons.text[i], reasons.points[i] / 100,
                      reasons.points[i] % 100) < 0)
            abort ();
        out->reasons[out->n_reasons++] = full;
    }
    mm_reasons_fini (&reasons);
    return out;
}

int
mm_recommend_zones (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                    ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__RecommendZonesRequest *request = (const Cpec__V1__RecommendZonesRequest *)input;
    Cpec__V1__RecommendZonesResponse *response = (Cpec__V1__RecommendZonesResponse *)output;
    if (call->principal->role == S_ENTERPRISE && !mm_may_act_for (call, request->enterprise_id))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "RecommendZones: an enterprise may ask for itself only");
    Cpec__V1__Enterprise *e = NULL;
    int rc = mm_read_enterprise (self, call, request->enterprise_id, &e);
    if (rc != CPEC_OK)
        return rc;
    const char *all[] = {"SMEMBERS", "cpec:sez:all"};
    redisReply *reply = cpec_store_command (self->store, 2, all, NULL, call->status);
    if (!reply) {
        cpec_pb_destroy ((ProtobufCMessage **)&e);
        return call->status->code;
    }
    size_t count = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    char **keys = (char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        char key[S_KEY_MAX];
        snprintf (key, sizeof (key), "cpec:sez:%s", reply->element[i]->str);
        keys[i] = cpec_strdup (key);
    }
    freeReplyObject (reply);
    ProtobufCMessage **zones =
        (ProtobufCMessage **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
    rc = count ? cpec_store_get_many (self->store, (const char **)keys, count,
                                      &cpec__v1__sez__descriptor, zones, call->status)
               : CPEC_OK;
    if (rc == CPEC_OK) {
        response->zones =
            (Cpec__V1__ZoneRecommendation **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
        response->excluded = (char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
        //  one budget for every forecast the answer waits for
        int64_t budget = self->config.milestones_timeout_ms;
        for (size_t i = 0; i < count; i++) {
            if (!zones[i])
                continue;
            char *why = NULL;
            Cpec__V1__ZoneRecommendation *fit =
                s_zone_fit (self, e, (Cpec__V1__Sez *)zones[i], &budget, &why);
            if (fit)
                response->zones[response->n_zones++] = fit;
            else
                response->excluded[response->n_excluded++] = why;
            cpec_pb_destroy (&zones[i]);
        }
        qsort (response->zones, response->n_zones, sizeof (void *), s_compare_zones);
        size_t k = request->k;
        while (k && response->n_zones > k)
            cpec_pb_destroy ((ProtobufCMessage **)&response->zones[--response->n_zones]);
    }
    for (size_t i = 0; i < count; i++)
        free (keys[i]);
    free (keys);
    free (zones);
    cpec_pb_destroy ((ProtobufCMessage **)&e);
    return rc;
}

//  --------------------------------------------------------------------------

const cpec_method_t mm_methods[] = {{"CreateEnterprise", mm_create_enterprise},
                                    {"ImportEnterprises", mm_import_enterprises},
                                    {"GetEnterprise", mm_get_enterprise},
                                    {"ListEnterprises", mm_list_enterprises},
                                    {"UpdateEnterprise", mm_update_enterprise},
                                    {"DeleteEnterprise", mm_delete_enterprise},
                                    {"TopMatches", mm_top_matches},
                                    {"RecommendZones", mm_recommend_zones},
                                    {"ProposeMatch", mm_propose_match},
                                    {"GetMatch", mm_get_match},
                                    {"ListMatches", mm_list_matches},
                                    {"MoveMatch", mm_move_match},
                                    {"FunnelReport", mm_funnel_report},
                                    {NULL, NULL}};
