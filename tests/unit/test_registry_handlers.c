/*  test_registry_handlers - the registry's handlers driven in-process against
    the real redis-server of the ctest fixture "redis" (CPEC_TEST_REDIS_URL),
    the way the worker calls them: a fresh output message per call, freed after.

    Other tests share that Redis, so every zone id here carries a prefix unique
    to this run, and events are read from the stream position taken just
    before the action, filtered by zone. Events published on the bus go to a
    SUB socket bound in-process.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec_bus.h"
#include "cpec_metrics.h"
#include "cpec_pb.h"
#include "handlers_test.h"
#include "cpec_store.h"
#include "registry.h"

#define S_ADMIN    CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_PROVINCE CPEC__V1__PRINCIPAL__ROLE__PROVINCE
#define S_VIEWER   CPEC__V1__PRINCIPAL__ROLE__VIEWER

typedef struct
{
    handlers_env_t env;  //  store, Redis, the bus and its subscriber
    registry_t registry; //  the handlers' state
    char prefix[32];     //  unique to this run: every zone id starts with it
} s_fixture_t;

//  --------------------------------------------------------------------------
//  Fixture

static int
s_setup (void **state)
{
    s_fixture_t *self = calloc (1, sizeof (s_fixture_t));
    assert_non_null (self);
    if (handlers_env_open (&self->env, "registry") != 0) {
        free (self);
        return -1;
    }

    self->registry = (registry_t){.store = self->env.store, .bus = self->env.bus, .metrics = NULL};
    snprintf (self->prefix, sizeof (self->prefix), "t%x%x", (unsigned)getpid (),
              (unsigned)(cpec_now_ms () & 0xffffff));
    *state = self;
    return 0;
}

static int
s_teardown (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    handlers_env_close (&self->env);
    free (self);
    return 0;
}

//  --------------------------------------------------------------------------
//  Calling handlers as the worker does

typedef struct
{
    int role;             //  principal role
    const char *province; //  principal province
    const char *request;  //  request id; NULL: a fresh one
} s_caller_t;

static const s_caller_t s_admin = {S_ADMIN, "", NULL};

//  Calls handler with input; on OK *output (may be NULL to drop it) gets the
//  output message. Returns the code; status (may be NULL) the message.
static int
s_call (s_fixture_t *self, cpec_handler_fn *handler, const char *method, s_caller_t caller,
        const ProtobufCMessage *input, const ProtobufCMessageDescriptor *output_descriptor,
        ProtobufCMessage **output, cpec_status_t *status)
{
    handlers_caller_t who = {.role = caller.role,
                             .subject = caller.role == S_ADMIN ? "admin@boi" : "officer@province",
                             .province = caller.province,
                             .request = caller.request};
    return handlers_call (handler, &self->registry, method, who, input, output_descriptor, output,
                          status);
}

//  A zone id unique to this run: "<prefix>-<name>".
static char *
s_zone_id (s_fixture_t *self, const char *name)
{
    char id[64];
    snprintf (id, sizeof (id), "%s-%s", self->prefix, name);
    return cpec_strdup (id);
}

//  A valid new zone (the caller frees it).
static Cpec__V1__Sez *
s_sez_new (s_fixture_t *self, const char *name, const char *province, double leasable)
{
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    sez->id = s_zone_id (self, name);
    sez->name = cpec_strdup ("Test Special Economic Zone");
    sez->name_zh = cpec_strdup ("测试经济特区");
    sez->province = cpec_strdup (province);
    sez->area_acres = cpec_pb_double_new (1000);
    sez->n_sectors = 2;
    sez->sectors = calloc (2, sizeof (char *));
    sez->sectors[0] = cpec_strdup ("2100");
    sez->sectors[1] = cpec_strdup ("1030");
    sez->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    sez->land->total_acres = cpec_pb_double_new (1000);
    if (leasable >= 0)
        sez->land->leasable_acres = cpec_pb_double_new (leasable);
    sez->land->allotted_acres = 555; //  the registry keeps this: ignored
    sez->version = 77;               //  and this
    return sez;
}

static int
s_create (s_fixture_t *self, s_caller_t caller, Cpec__V1__Sez *sez, Cpec__V1__Sez **created,
          cpec_status_t *status)
{
    Cpec__V1__CreateSezRequest request = CPEC__V1__CREATE_SEZ_REQUEST__INIT;
    request.sez = sez;
    return s_call (self, registry_create_sez, "CreateSez", caller, &request.base,
                   &cpec__v1__sez__descriptor, (ProtobufCMessage **)created, status);
}

static int
s_get (s_fixture_t *self, const char *id, Cpec__V1__Sez **sez, cpec_status_t *status)
{
    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = (char *)id;
    s_caller_t viewer = {S_VIEWER, "", NULL};
    return s_call (self, registry_get_sez, "GetSez", viewer, &request.base,
                   &cpec__v1__sez__descriptor, (ProtobufCMessage **)sez, status);
}

//  Updates with a mask (NULL-terminated; NULL: empty mask).
static int
s_update (s_fixture_t *self, s_caller_t caller, Cpec__V1__Sez *sez, uint32_t expected,
          const char **mask, Cpec__V1__Sez **updated, cpec_status_t *status)
{
    Cpec__V1__UpdateSezRequest request = CPEC__V1__UPDATE_SEZ_REQUEST__INIT;
    request.sez = sez;
    request.expected_version = expected;
    while (mask && mask[request.n_update_mask])
        request.n_update_mask++;
    request.update_mask = (char **)mask;
    return s_call (self, registry_update_sez, "UpdateSez", caller, &request.base,
                   &cpec__v1__sez__descriptor, (ProtobufCMessage **)updated, status);
}

static Cpec__V1__ZoneEnterprise *
s_enterprise_new (const char *zone, const char *id, double acres)
{
    Cpec__V1__ZoneEnterprise *enterprise =
        (Cpec__V1__ZoneEnterprise *)cpec_pb_new (&cpec__v1__zone_enterprise__descriptor);
    enterprise->id = cpec_strdup (id);
    enterprise->zone_id = cpec_strdup (zone);
    enterprise->name = cpec_strdup ("Test Steel");
    enterprise->country = cpec_strdup ("CN");
    enterprise->sector = cpec_strdup ("2410");
    enterprise->acres = acres;
    return enterprise;
}

static int
s_admit (s_fixture_t *self, s_caller_t caller, Cpec__V1__ZoneEnterprise *enterprise,
         Cpec__V1__ZoneEnterprise **admitted, cpec_status_t *status)
{
    Cpec__V1__AdmitEnterpriseRequest request = CPEC__V1__ADMIT_ENTERPRISE_REQUEST__INIT;
    request.enterprise = enterprise;
    return s_call (self, registry_admit_enterprise, "AdmitEnterprise", caller, &request.base,
                   &cpec__v1__zone_enterprise__descriptor, (ProtobufCMessage **)admitted, status);
}

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

//  --------------------------------------------------------------------------
//  Events: from the stream, and from the bus

//  The id of the newest stream entry: events after it are new.
static char *
s_stream_mark (s_fixture_t *self)
{
    return handlers_stream_mark (self->env.redis);
}

static bool
s_in_zone (const Cpec__V1__Event *event, const char *zone)
{
    return strcmp (event->zone_id, zone) == 0;
}

//  The events of zone appended since mark, as "Type" strings joined by
//  spaces into buf; *events_p (may be NULL) gets them.
static const char *
s_stream_since (s_fixture_t *self, const char *mark, const char *zone, char *buf, size_t size,
                Cpec__V1__Event ***events_p)
{
    return handlers_events_since (self->env.store, mark, s_in_zone, zone, buf, size, events_p);
}

//  Topics received on the bus for zone, joined by spaces, waiting briefly.
static const char *
s_bus_topics (s_fixture_t *self, const char *zone, char *buf, size_t size)
{
    return handlers_bus_topics (self->env.sub, zone, buf, size);
}

//  Whether a ListSezs page with these filters (and a cursor at our prefix)
//  holds zone id.
static bool
s_listed (s_fixture_t *self, const char *province, int status, const char *sector, int fast_track,
          const char *id)
{
    Cpec__V1__ListSezsRequest request = CPEC__V1__LIST_SEZS_REQUEST__INIT;
    request.province = (char *)(province ? province : "");
    request.status = (Cpec__V1__Sez__Status)status;
    request.sector = (char *)(sector ? sector : "");
    Google__Protobuf__BoolValue flag = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
    flag.value = fast_track == 1;
    request.fast_track = fast_track >= 0 ? &flag : NULL;
    request.cursor = self->prefix;
    request.page_size = REGISTRY_PAGE_MAX;
    Cpec__V1__ListSezsResponse *response = NULL;
    s_caller_t viewer = {S_VIEWER, "", NULL};
    assert_int_equal (s_call (self, registry_list_sezs, "ListSezs", viewer, &request.base,
                              &cpec__v1__list_sezs_response__descriptor,
                              (ProtobufCMessage **)&response, NULL),
                      CPEC_OK);
    bool found = false;
    for (size_t i = 0; i < response->n_sezs; i++)
        found = found || strcmp (response->sezs[i]->id, id) == 0;
    s_destroy (&response);
    return found;
}

//  --------------------------------------------------------------------------
//  Tests

static void
test_create_and_get (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[512];
    Cpec__V1__Sez *sez = s_sez_new (self, "create", "PK-KP", 700);
    char *mark = s_stream_mark (self);
    s_bus_topics (self, sez->id, buf, sizeof (buf)); //  drain

    Cpec__V1__Sez *created = NULL;
    cpec_status_t status;
    int rc = s_create (self, s_admin, sez, &created, &status);
    if (rc != CPEC_OK)
        fail_msg ("%s", status.message);
    assert_int_equal (created->version, 1);
    assert_int_equal (created->status, CPEC__V1__SEZ__STATUS__PROPOSED); //  unset: PROPOSED
    assert_int_equal ((int)created->land->allotted_acres, 0);
    assert_string_equal (created->created->by, "admin@boi");
    assert_string_equal (created->updated->by, "admin@boi");
    assert_true (created->created->at->seconds > 0);

    //  Read back exactly what was answered
    Cpec__V1__Sez *got = NULL;
    assert_int_equal (s_get (self, sez->id, &got, &status), CPEC_OK);
    size_t size_a, size_b;
    uint8_t *a = cpec_pb_pack (&created->base, &size_a);
    uint8_t *b = cpec_pb_pack (&got->base, &size_b);
    assert_memory_equal (a, b, size_a < size_b ? size_a : size_b);
    assert_int_equal (size_a, size_b);
    free (a);
    free (b);
    cpec_pb_destroy ((ProtobufCMessage **)&got);

    //  The version GetSez reports is the stored hash's, whatever the stored
    //  bytes say (they are passed on without decoding).
    char key[96];
    snprintf (key, sizeof (key), "cpec:sez:%s", sez->id);
    redisReply *reply = redisCommand (self->env.redis, "HSET %s v 41", key);
    assert_non_null (reply);
    freeReplyObject (reply);
    assert_int_equal (s_get (self, sez->id, &got, &status), CPEC_OK);
    assert_int_equal (got->version, 41);
    assert_string_equal (got->id, sez->id);
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    reply = redisCommand (self->env.redis, "HSET %s v 1", key);
    assert_non_null (reply);
    freeReplyObject (reply);
    assert_int_equal (s_get (self, sez->id, &got, &status), CPEC_OK);
    assert_int_equal (got->version, 1);
    assert_int_equal (s_get (self, "no-such-zone", NULL, &status), CPEC_NOT_FOUND);
    assert_string_equal (status.message, "zone no-such-zone not found");

    //  One event in the log, one on the bus
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), &events),
                         "SezCreated");
    assert_int_equal (events[0]->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED);
    assert_string_equal (events[0]->province, "PK-KP");
    assert_string_equal (events[0]->actor, "admin@boi");
    assert_string_equal (events[0]->sez_created->sez->id, sez->id);
    assert_int_equal (strlen (events[0]->id), 36);
    cpec_store_events_destroy (&events);
    char topic[128];
    snprintf (topic, sizeof (topic), "SezCreated.PK-KP.%s", sez->id);
    assert_string_equal (s_bus_topics (self, sez->id, buf, sizeof (buf)), topic);

    //  Indexes
    assert_true (s_listed (self, NULL, 0, NULL, -1, sez->id));
    assert_true (s_listed (self, "PK-KP", CPEC__V1__SEZ__STATUS__PROPOSED, "2100", 0, sez->id));
    assert_true (s_listed (self, NULL, 0, "10", -1, sez->id));  //  division of 1030
    assert_true (s_listed (self, NULL, 0, "103", -1, sez->id)); //  group of 1030
    assert_false (s_listed (self, "PK-PB", 0, NULL, -1, sez->id));
    assert_false (s_listed (self, NULL, CPEC__V1__SEZ__STATUS__NOTIFIED, NULL, -1, sez->id));
    assert_false (s_listed (self, NULL, 0, "1010", -1, sez->id));
    assert_false (s_listed (self, NULL, 0, NULL, 1, sez->id));

    //  Again, as a new request: ALREADY_EXISTS
    rc = s_create (self, s_admin, sez, NULL, &status);
    assert_status (rc, &status, CPEC_ALREADY_EXISTS, "zone ");

    //  Unknown and malformed ids
    char *missing = s_zone_id (self, "missing");
    rc = s_get (self, missing, NULL, &status);
    assert_status (rc, &status, CPEC_NOT_FOUND, "zone ");
    assert_non_null (strstr (status.message, missing));
    free (missing);
    rc = s_get (self, "Not An Id", NULL, &status);
    assert_status (rc, &status, CPEC_INVALID_ARGUMENT, "id: ");
    rc = s_get (self, "all", NULL, &status);
    assert_status (rc, &status, CPEC_INVALID_ARGUMENT, "id: ");

    free (mark);
    s_destroy (&got);
    s_destroy (&created);
    s_destroy (&sez);
}

static void
test_create_denied_and_invalid (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    Cpec__V1__Sez *sez = s_sez_new (self, "denied", "PK-KP", 700);
    cpec_status_t status;
    s_caller_t province = {S_PROVINCE, "PK-KP", NULL};
    assert_int_equal (s_create (self, province, sez, NULL, &status), CPEC_PERMISSION_DENIED);
    s_caller_t viewer = {S_VIEWER, "", NULL};
    assert_int_equal (s_create (self, viewer, sez, NULL, &status), CPEC_PERMISSION_DENIED);

    //  Invalid: nothing written
    free (sez->province);
    sez->province = cpec_strdup ("PK-XX");
    assert_status (s_create (self, s_admin, sez, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "province: ");
    assert_int_equal (s_get (self, sez->id, NULL, &status), CPEC_NOT_FOUND);

    Cpec__V1__CreateSezRequest empty = CPEC__V1__CREATE_SEZ_REQUEST__INIT;
    assert_status (s_call (self, registry_create_sez, "CreateSez", s_admin, &empty.base,
                           &cpec__v1__sez__descriptor, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "sez: ");
    s_destroy (&sez);
}

static void
test_idempotent_retry (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[512], uuid[37];
    Cpec__V1__Sez *sez = s_sez_new (self, "retry", "PK-SD", -1);
    s_bus_topics (self, sez->id, buf, sizeof (buf));
    char *mark = s_stream_mark (self);

    //  The same CreateSez twice: the same answer, one event, one publication
    cpec_uuid (uuid);
    s_caller_t caller = {S_ADMIN, "", uuid};
    Cpec__V1__Sez *first = NULL, *second = NULL;
    cpec_status_t status;
    assert_int_equal (s_create (self, caller, sez, &first, &status), CPEC_OK);
    zclock_sleep (5); //  a later clock would show in a recomputed answer
    assert_int_equal (s_create (self, caller, sez, &second, &status), CPEC_OK);
    size_t size_a, size_b;
    uint8_t *a = cpec_pb_pack (&first->base, &size_a);
    uint8_t *b = cpec_pb_pack (&second->base, &size_b);
    assert_int_equal (size_a, size_b);
    assert_memory_equal (a, b, size_a);
    free (a);
    free (b);
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), NULL),
                         "SezCreated");
    assert_non_null (strstr (s_bus_topics (self, sez->id, buf, sizeof (buf)), "SezCreated"));
    assert_null (strchr (buf, ' ')); //  only one

    //  The same UpdateSez twice: the second answers from the request id even
    //  though version 1 is no longer current
    cpec_uuid (uuid);
    caller.request = uuid;
    free (sez->name);
    sez->name = cpec_strdup ("Renamed Zone");
    const char *mask[] = {"name", NULL};
    s_destroy (&first);
    s_destroy (&second);
    assert_int_equal (s_update (self, caller, sez, 1, mask, &first, &status), CPEC_OK);
    assert_int_equal (first->version, 2);
    int rc = s_update (self, caller, sez, 1, mask, &second, &status);
    if (rc != CPEC_OK)
        fail_msg ("retry: %s %s", cpec_code_name (rc), status.message);
    assert_int_equal (second->version, 2);
    assert_string_equal (second->name, "Renamed Zone");
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), NULL),
                         "SezCreated SezUpdated");
    s_bus_topics (self, sez->id, buf, sizeof (buf));
    assert_null (strchr (buf, ' '));

    //  A new request with the stale version: ABORTED, naming both versions
    rc = s_update (self, s_admin, sez, 1, mask, NULL, &status);
    assert_status (rc, &status, CPEC_ABORTED, "zone ");
    assert_non_null (strstr (status.message, "at version 2, not 1"));
    free (mark);
    s_destroy (&first);
    s_destroy (&second);
    s_destroy (&sez);
}

static void
test_update (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[512];
    Cpec__V1__Sez *sez = s_sez_new (self, "update", "PK-PB", 500);
    cpec_status_t status;
    assert_int_equal (s_create (self, s_admin, sez, NULL, &status), CPEC_OK);
    char *mark = s_stream_mark (self);

    //  A mask takes only the named fields
    Cpec__V1__Sez *change = s_sez_new (self, "update", "PK-PB", 500);
    free (change->name);
    change->name = cpec_strdup ("Updated Name");
    change->district = cpec_strdup ("not taken: not in the mask"); //  was the empty default
    change->fast_track = true;
    const char *mask[] = {"name", "fast_track", NULL};
    Cpec__V1__Sez *updated = NULL;
    int rc = s_update (self, s_admin, change, 1, mask, &updated, &status);
    if (rc != CPEC_OK)
        fail_msg ("%s", status.message);
    assert_int_equal (updated->version, 2);
    assert_string_equal (updated->name, "Updated Name");
    assert_string_equal (updated->district, "");
    assert_true (updated->fast_track);
    assert_string_equal (updated->created->by, "admin@boi");
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), &events),
                         "SezUpdated");
    Cpec__V1__SezUpdated *payload = events[0]->sez_updated;
    assert_int_equal (payload->previous_version, 1);
    assert_int_equal (payload->n_changed_fields, 2);
    assert_string_equal (payload->changed_fields[0], "name");
    assert_string_equal (payload->changed_fields[1], "fast_track");
    cpec_store_events_destroy (&events);
    assert_true (s_listed (self, NULL, 0, NULL, 1, sez->id));
    assert_false (s_listed (self, NULL, 0, NULL, 0, sez->id));
    s_destroy (&updated);

    //  Fields that are the registry's: INVALID_ARGUMENT
    const char *bad_mask[] = {"version", NULL};
    assert_status (s_update (self, s_admin, change, 2, bad_mask, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "update_mask[0]: ");
    assert_status (s_update (self, s_admin, change, 0, mask, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "expected_version: ");
    //  A version from the future: ABORTED
    assert_status (s_update (self, s_admin, change, 9, mask, NULL, &status), &status, CPEC_ABORTED,
                   "zone ");
    //  The result is validated whole
    free (change->name);
    change->name = cpec_strdup ("");
    assert_status (s_update (self, s_admin, change, 2, mask, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "name: ");

    //  Forward several stages at once, by the province's own authority
    s_caller_t punjab = {S_PROVINCE, "PK-PB", NULL};
    change->status = CPEC__V1__SEZ__STATUS__NOTIFIED;
    const char *status_mask[] = {"status", NULL};
    free (mark);
    mark = s_stream_mark (self);
    rc = s_update (self, punjab, change, 2, status_mask, &updated, &status);
    if (rc != CPEC_OK)
        fail_msg ("%s", status.message);
    assert_int_equal (updated->status, CPEC__V1__SEZ__STATUS__NOTIFIED);
    assert_int_equal (updated->version, 3);
    assert_string_equal (updated->updated->by, "officer@province");
    s_destroy (&updated);
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), &events),
                         "SezUpdated SezStatusChanged");
    Cpec__V1__SezStatusChanged *moved = events[1]->sez_status_changed;
    assert_int_equal (moved->from_status, CPEC__V1__SEZ__STATUS__PROPOSED);
    assert_int_equal (moved->to_status, CPEC__V1__SEZ__STATUS__NOTIFIED);
    assert_false (moved->reverted);
    assert_int_equal (moved->version, 3);
    cpec_store_events_destroy (&events);
    assert_true (s_listed (self, NULL, CPEC__V1__SEZ__STATUS__NOTIFIED, NULL, -1, sez->id));
    assert_false (s_listed (self, NULL, CPEC__V1__SEZ__STATUS__PROPOSED, NULL, -1, sez->id));

    //  Backwards: not for a province; an ADMIN reverts
    change->status = CPEC__V1__SEZ__STATUS__APPLICATION_SUBMITTED;
    rc = s_update (self, punjab, change, 3, status_mask, NULL, &status);
    assert_status (rc, &status, CPEC_FAILED_PRECONDITION,
                   "status: cannot move from NOTIFIED back to APPLICATION_SUBMITTED");
    free (mark);
    mark = s_stream_mark (self);
    assert_int_equal (s_update (self, s_admin, change, 3, status_mask, &updated, &status), CPEC_OK);
    assert_int_equal (updated->status, CPEC__V1__SEZ__STATUS__APPLICATION_SUBMITTED);
    s_destroy (&updated);
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), &events),
                         "SezUpdated SezStatusChanged");
    assert_true (events[1]->sez_status_changed->reverted);
    cpec_store_events_destroy (&events);

    //  Other provinces, viewers, and moving a zone out of one's province
    s_caller_t sindh = {S_PROVINCE, "PK-SD", NULL};
    assert_int_equal (s_update (self, sindh, change, 4, status_mask, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    s_caller_t viewer = {S_VIEWER, "", NULL};
    assert_int_equal (s_update (self, viewer, change, 4, status_mask, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    free (change->province);
    change->province = cpec_strdup ("PK-SD");
    const char *province_mask[] = {"province", NULL};
    assert_status (s_update (self, punjab, change, 4, province_mask, NULL, &status), &status,
                   CPEC_PERMISSION_DENIED, "province: ");
    //  An ADMIN may move it; the province index follows
    assert_int_equal (s_update (self, s_admin, change, 4, province_mask, NULL, &status), CPEC_OK);
    assert_true (s_listed (self, "PK-SD", 0, NULL, -1, sez->id));
    assert_false (s_listed (self, "PK-PB", 0, NULL, -1, sez->id));

    //  An empty mask takes every field: unset ones become unknown; the
    //  status stays when unset
    Cpec__V1__Sez *whole = s_sez_new (self, "update", "PK-SD", 400);
    cpec_pb_destroy ((ProtobufCMessage **)&whole->area_acres);
    whole->n_sectors = 1;
    rc = s_update (self, s_admin, whole, 5, NULL, &updated, &status);
    if (rc != CPEC_OK)
        fail_msg ("%s", status.message);
    assert_null (updated->area_acres);
    assert_int_equal (updated->n_sectors, 1);
    assert_int_equal (updated->status, CPEC__V1__SEZ__STATUS__APPLICATION_SUBMITTED);
    assert_false (updated->fast_track);
    assert_false (s_listed (self, NULL, 0, "1030", -1, sez->id));
    assert_true (s_listed (self, NULL, 0, "2100", -1, sez->id));
    s_destroy (&updated);
    whole->n_sectors = 2;
    s_destroy (&whole);

    free (mark);
    s_destroy (&change);
    s_destroy (&sez);
}

static void
test_list_paging (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    const char *names[] = {"page-a", "page-b", "page-c"};
    char *ids[3];
    cpec_status_t status;
    for (size_t i = 0; i < 3; i++) {
        Cpec__V1__Sez *sez = s_sez_new (self, names[i], "PK-GB", 100);
        ids[i] = cpec_strdup (sez->id);
        assert_int_equal (s_create (self, s_admin, sez, NULL, &status), CPEC_OK);
        s_destroy (&sez);
    }
    //  The ids after "<prefix>-page" are ours, in order
    char cursor[64];
    snprintf (cursor, sizeof (cursor), "%s-page", self->prefix);
    Cpec__V1__ListSezsRequest request = CPEC__V1__LIST_SEZS_REQUEST__INIT;
    request.province = "PK-GB";
    request.cursor = cursor;
    request.page_size = 2;
    Cpec__V1__ListSezsResponse *response = NULL;
    s_caller_t viewer = {S_VIEWER, "", NULL};
    assert_int_equal (s_call (self, registry_list_sezs, "ListSezs", viewer, &request.base,
                              &cpec__v1__list_sezs_response__descriptor,
                              (ProtobufCMessage **)&response, &status),
                      CPEC_OK);
    assert_int_equal (response->n_sezs, 2);
    assert_string_equal (response->sezs[0]->id, ids[0]);
    assert_string_equal (response->sezs[1]->id, ids[1]);
    assert_string_equal (response->next_cursor, ids[1]);
    request.cursor = response->next_cursor;
    Cpec__V1__ListSezsResponse *next = NULL;
    assert_int_equal (s_call (self, registry_list_sezs, "ListSezs", viewer, &request.base,
                              &cpec__v1__list_sezs_response__descriptor, (ProtobufCMessage **)&next,
                              &status),
                      CPEC_OK);
    assert_true (next->n_sezs >= 1);
    assert_string_equal (next->sezs[0]->id, ids[2]);
    s_destroy (&next);
    s_destroy (&response);

    request.page_size = REGISTRY_PAGE_MAX + 1;
    request.cursor = "";
    assert_status (s_call (self, registry_list_sezs, "ListSezs", viewer, &request.base,
                           &cpec__v1__list_sezs_response__descriptor, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "page_size: ");
    request.page_size = 0;
    request.province = "Gilgit";
    assert_status (s_call (self, registry_list_sezs, "ListSezs", viewer, &request.base,
                           &cpec__v1__list_sezs_response__descriptor, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "province: ");
    for (size_t i = 0; i < 3; i++)
        free (ids[i]);
}

//  Pages stop short of half the message limit however large the zones, and
//  the cursor carries on from the last zone kept: every zone comes once.
static void
test_list_pages_by_bytes (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    cpec_status_t status;
    char text[481];
    memset (text, 'a', 480);
    text[480] = '\0';
    const size_t zones = 14; //  about 50 KB each: 700 KB in all
    for (size_t i = 0; i < zones; i++) {
        char name[32];
        snprintf (name, sizeof (name), "big-%02zu", i);
        Cpec__V1__Sez *sez = s_sez_new (self, name, "PK-IS", 100);
        sez->n_sources = 100;
        sez->sources = calloc (100, sizeof (Cpec__V1__Provenance *));
        for (size_t j = 0; j < 100; j++) {
            sez->sources[j] =
                (Cpec__V1__Provenance *)cpec_pb_new (&cpec__v1__provenance__descriptor);
            sez->sources[j]->field = cpec_strdup ("area_acres");
            sez->sources[j]->source = cpec_strdup (text);
        }
        assert_int_equal (s_create (self, s_admin, sez, NULL, &status), CPEC_OK);
        s_destroy (&sez);
    }
    char cursor[64], prefix[64];
    snprintf (cursor, sizeof (cursor), "%s-big", self->prefix);
    snprintf (prefix, sizeof (prefix), "%s-big-", self->prefix);
    //  The default budget (512 KiB), then one set from a smaller message limit.
    const size_t budgets[2] = {0, 120 * 1024};
    for (size_t b = 0; b < 2; b++) {
        self->registry.page_bytes = budgets[b];
        size_t limit = budgets[b] ? budgets[b] : 512 * 1024;
        Cpec__V1__ListSezsRequest request = CPEC__V1__LIST_SEZS_REQUEST__INIT;
        request.province = "PK-IS";
        request.page_size = 500;
        s_caller_t viewer = {S_VIEWER, "", NULL};
        size_t seen = 0, pages = 0;
        char *next = cpec_strdup (cursor);
        bool ours = true;
        while (ours && *next) {
            request.cursor = next;
            Cpec__V1__ListSezsResponse *response = NULL;
            assert_int_equal (s_call (self, registry_list_sezs, "ListSezs", viewer, &request.base,
                                      &cpec__v1__list_sezs_response__descriptor,
                                      (ProtobufCMessage **)&response, &status),
                              CPEC_OK);
            assert_true (protobuf_c_message_get_packed_size (&response->base) < limit + 64 * 1024);
            assert_true (response->n_sezs >= 1);
            for (size_t i = 0; i < response->n_sezs; i++) {
                if (strncmp (response->sezs[i]->id, prefix, strlen (prefix)) != 0) {
                    ours = false;
                    break;
                }
                char expected[96];
                snprintf (expected, sizeof (expected), "%s%02zu", prefix, seen);
                assert_string_equal (response->sezs[i]->id, expected);
                seen++;
            }
            pages++;
            free (next);
            next = cpec_strdup (response->next_cursor);
            s_destroy (&response);
        }
        free (next);
        assert_int_equal (seen, zones);
        assert_true (pages >= (budgets[b] ? 6 : 2)); //  700 KB in pages of 512 or 120 KB
    }
    self->registry.page_bytes = 0;
}

static void
test_admit (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[512];
    cpec_status_t status;
    Cpec__V1__Sez *sez = s_sez_new (self, "admit", "PK-BA", 100);
    assert_int_equal (s_create (self, s_admin, sez, NULL, &status), CPEC_OK);
    char *mark = s_stream_mark (self);

    //  60 of 100 acres, by the province's own authority
    s_caller_t balochistan = {S_PROVINCE, "PK-BA", NULL};
    Cpec__V1__ZoneEnterprise *first = s_enterprise_new (sez->id, "first-steel", 60);
    Cpec__V1__ZoneEnterprise *admitted = NULL;
    int rc = s_admit (self, balochistan, first, &admitted, &status);
    if (rc != CPEC_OK)
        fail_msg ("%s", status.message);
    assert_int_equal (admitted->admission_status,
                      CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__ADMITTED);
    assert_non_null (admitted->admitted_at);
    assert_int_equal (admitted->version, 1);
    s_destroy (&admitted);
    Cpec__V1__Sez *zone = NULL;
    assert_int_equal (s_get (self, sez->id, &zone, &status), CPEC_OK);
    assert_int_equal (zone->version, 2);
    assert_true (zone->land->allotted_acres == 60);
    s_destroy (&zone);
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_stream_since (self, mark, sez->id, buf, sizeof (buf), &events),
                         "EnterpriseAdmitted");
    assert_true (events[0]->enterprise_admitted->zone_allotted_acres == 60);
    assert_true (events[0]->enterprise_admitted->zone_leasable_acres->value == 100);
    cpec_store_events_destroy (&events);

    //  50 more would exceed the leasable land; 40 fit exactly
    Cpec__V1__ZoneEnterprise *second = s_enterprise_new (sez->id, "second-steel", 50);
    assert_status (s_admit (self, s_admin, second, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "acres: ");
    assert_non_null (strstr (status.message, "110"));
    second->acres = 40;
    char uuid[37];
    cpec_uuid (uuid);
    s_caller_t once = {S_ADMIN, "", uuid};
    assert_int_equal (s_admit (self, once, second, NULL, &status), CPEC_OK);
    //  Its retry answers from the request id (the land is full by now)
    assert_int_equal (s_admit (self, once, second, &admitted, &status), CPEC_OK);
    assert_string_equal (admitted->id, "second-steel");
    s_destroy (&admitted);
    //  A new request for the same enterprise: ALREADY_EXISTS
    assert_status (s_admit (self, s_admin, second, NULL, &status), &status, CPEC_ALREADY_EXISTS,
                   "enterprise ");

    //  The leasable land cannot shrink below what is allotted now
    Cpec__V1__Sez *shrink = s_sez_new (self, "admit", "PK-BA", 90);
    const char *land_mask[] = {"land", NULL};
    assert_status (s_update (self, s_admin, shrink, 3, land_mask, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "land.leasable_acres: ");
    //  ... and an update keeps the allotted acres whatever it sends
    shrink->land->leasable_acres->value = 150;
    Cpec__V1__Sez *updated = NULL;
    assert_int_equal (s_update (self, s_admin, shrink, 3, land_mask, &updated, &status), CPEC_OK);
    assert_true (updated->land->allotted_acres == 100);
    s_destroy (&updated);
    s_destroy (&shrink);

    //  Wrong province, viewer, unknown zone, unknown land
    s_caller_t sindh = {S_PROVINCE, "PK-SD", NULL};
    Cpec__V1__ZoneEnterprise *third = s_enterprise_new (sez->id, "third", 1);
    assert_int_equal (s_admit (self, sindh, third, NULL, &status), CPEC_PERMISSION_DENIED);
    s_caller_t viewer = {S_VIEWER, "", NULL};
    assert_int_equal (s_admit (self, viewer, third, NULL, &status), CPEC_PERMISSION_DENIED);
    free (third->zone_id);
    third->zone_id = s_zone_id (self, "nowhere");
    assert_status (s_admit (self, s_admin, third, NULL, &status), &status, CPEC_NOT_FOUND, "zone ");
    Cpec__V1__Sez *unknown_land = s_sez_new (self, "unknown-land", "PK-BA", -1);
    assert_int_equal (s_create (self, s_admin, unknown_land, NULL, &status), CPEC_OK);
    free (third->zone_id);
    third->zone_id = cpec_strdup (unknown_land->id);
    assert_status (s_admit (self, s_admin, third, NULL, &status), &status, CPEC_FAILED_PRECONDITION,
                   "land.leasable_acres: unknown");
    third->acres = 0;
    assert_status (s_admit (self, s_admin, third, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "acres: ");

    //  The zone's enterprises, paged
    Cpec__V1__ListZoneEnterprisesRequest list = CPEC__V1__LIST_ZONE_ENTERPRISES_REQUEST__INIT;
    list.zone_id = sez->id;
    list.page_size = 1;
    Cpec__V1__ListZoneEnterprisesResponse *page = NULL;
    assert_int_equal (s_call (self, registry_list_zone_enterprises, "ListZoneEnterprises", viewer,
                              &list.base, &cpec__v1__list_zone_enterprises_response__descriptor,
                              (ProtobufCMessage **)&page, &status),
                      CPEC_OK);
    assert_int_equal (page->n_enterprises, 1);
    assert_string_equal (page->enterprises[0]->id, "first-steel");
    assert_string_equal (page->next_cursor, "first-steel");
    list.cursor = page->next_cursor;
    Cpec__V1__ListZoneEnterprisesResponse *rest = NULL;
    assert_int_equal (s_call (self, registry_list_zone_enterprises, "ListZoneEnterprises", viewer,
                              &list.base, &cpec__v1__list_zone_enterprises_response__descriptor,
                              (ProtobufCMessage **)&rest, &status),
                      CPEC_OK);
    assert_int_equal (rest->n_enterprises, 1);
    assert_string_equal (rest->enterprises[0]->id, "second-steel");
    assert_string_equal (rest->next_cursor, "");
    s_destroy (&rest);
    s_destroy (&page);
    list.cursor = "";
    list.zone_id = third->zone_id; //  a zone with none
    assert_int_equal (s_call (self, registry_list_zone_enterprises, "ListZoneEnterprises", viewer,
                              &list.base, &cpec__v1__list_zone_enterprises_response__descriptor,
                              (ProtobufCMessage **)&rest, &status),
                      CPEC_OK);
    assert_int_equal (rest->n_enterprises, 0);
    s_destroy (&rest);
    char *nowhere = s_zone_id (self, "nowhere");
    list.zone_id = nowhere;
    assert_status (s_call (self, registry_list_zone_enterprises, "ListZoneEnterprises", viewer,
                           &list.base, &cpec__v1__list_zone_enterprises_response__descriptor, NULL,
                           &status),
                   &status, CPEC_NOT_FOUND, "zone ");
    free (nowhere);

    free (mark);
    s_destroy (&unknown_land);
    s_destroy (&third);
    s_destroy (&second);
    s_destroy (&first);
    s_destroy (&sez);
}

//  Admissions racing for a zone's land, from threads with their own stores:
//  the land is never over-allotted, and the zone's figure is the sum.
typedef struct
{
    s_fixture_t *fixture;    //  for the URL and helpers
    cpec_metrics_t *metrics; //  shared: counts the admissions retried
    const char *zone;        //  zone admitted to
    int thread;              //  index, for enterprise ids
    int admitted;            //  how many succeeded
    int refused;             //  FAILED_PRECONDITION (land full)
    int aborted;             //  ABORTED after the retries
    int other;               //  anything else (a failure)
} s_racer_t;

#define S_RACERS        6
#define S_RACE_ATTEMPTS 4
#define S_RACE_ACRES    10.0
#define S_RACE_LEASABLE 100.0

static void *
s_racer (void *arg)
{
    s_racer_t *racer = (s_racer_t *)arg;
    s_fixture_t own = *racer->fixture;
    own.env.store = cpec_store_new (own.env.url);
    own.registry = (registry_t){.store = own.env.store, .metrics = racer->metrics};
    for (int i = 0; i < S_RACE_ATTEMPTS; i++) {
        char id[32];
        snprintf (id, sizeof (id), "racer-%d-%d", racer->thread, i);
        Cpec__V1__ZoneEnterprise *enterprise = s_enterprise_new (racer->zone, id, S_RACE_ACRES);
        cpec_status_t status;
        int rc = s_admit (&own, s_admin, enterprise, NULL, &status);
        if (rc == CPEC_OK)
            racer->admitted++;
        else if (rc == CPEC_FAILED_PRECONDITION)
            racer->refused++;
        else if (rc == CPEC_ABORTED)
            racer->aborted++;
        else {
            fprintf (stderr, "racer %d: %s %s\n", racer->thread, cpec_code_name (rc),
                     status.message);
            racer->other++;
        }
        s_destroy (&enterprise);
    }
    cpec_store_destroy (&own.env.store);
    return NULL;
}

static void
test_admit_race (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    cpec_status_t status;
    Cpec__V1__Sez *sez = s_sez_new (self, "race", "PK-IS", S_RACE_LEASABLE);
    assert_int_equal (s_create (self, s_admin, sez, NULL, &status), CPEC_OK);
    s_racer_t racers[S_RACERS];
    pthread_t threads[S_RACERS];
    cpec_metrics_t *metrics = cpec_metrics_new ("registry");
    for (int i = 0; i < S_RACERS; i++) {
        racers[i] = (s_racer_t){.fixture = self, .metrics = metrics, .zone = sez->id, .thread = i};
        assert_int_equal (pthread_create (&threads[i], NULL, s_racer, &racers[i]), 0);
    }
    int admitted = 0, refused = 0, aborted = 0, other = 0;
    for (int i = 0; i < S_RACERS; i++) {
        pthread_join (threads[i], NULL);
        admitted += racers[i].admitted;
        refused += racers[i].refused;
        aborted += racers[i].aborted;
        other += racers[i].other;
    }
    print_message ("race: %d admitted, %d refused, %d aborted, %.0f retries\n", admitted, refused,
                   aborted, cpec_metrics_value (metrics, "cpec_registry_admit_retries_total"));
    cpec_metrics_destroy (&metrics);
    assert_int_equal (other, 0);
    assert_int_equal (admitted + refused + aborted, S_RACERS * S_RACE_ATTEMPTS);
    assert_true (admitted <= (int)(S_RACE_LEASABLE / S_RACE_ACRES));
    assert_true (admitted > 0);
    Cpec__V1__Sez *zone = NULL;
    assert_int_equal (s_get (self, sez->id, &zone, &status), CPEC_OK);
    assert_true (zone->land->allotted_acres == admitted * S_RACE_ACRES);
    assert_int_equal (zone->version, 1 + admitted);
    if (aborted == 0)
        assert_int_equal (admitted, (int)(S_RACE_LEASABLE / S_RACE_ACRES));
    s_destroy (&zone);

    //  The enterprises written are exactly those admitted
    Cpec__V1__ListZoneEnterprisesRequest list = CPEC__V1__LIST_ZONE_ENTERPRISES_REQUEST__INIT;
    list.zone_id = sez->id;
    Cpec__V1__ListZoneEnterprisesResponse *page = NULL;
    s_caller_t viewer = {S_VIEWER, "", NULL};
    assert_int_equal (s_call (self, registry_list_zone_enterprises, "ListZoneEnterprises", viewer,
                              &list.base, &cpec__v1__list_zone_enterprises_response__descriptor,
                              (ProtobufCMessage **)&page, &status),
                      CPEC_OK);
    assert_int_equal (page->n_enterprises, admitted);
    s_destroy (&page);
    s_destroy (&sez);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_create_and_get),
        cmocka_unit_test (test_create_denied_and_invalid),
        cmocka_unit_test (test_idempotent_retry),
        cmocka_unit_test (test_update),
        cmocka_unit_test (test_list_paging),
        cmocka_unit_test (test_list_pages_by_bytes),
        cmocka_unit_test (test_admit),
        cmocka_unit_test (test_admit_race),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
