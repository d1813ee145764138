/*  test_ms_handlers - the milestone service's handlers and timers
    (services/milestones/ms_server.c, ms_store.c) driven in-process against
    the real redis-server of the ctest fixture "redis" (CPEC_TEST_REDIS_URL),
    the way the worker calls them: a fresh output message per call, freed
    after (or the bytes of call->packed_output, when a handler answers so).

    Zones are the registry's entities: each test writes the few it needs at
    cpec:sez:{id} itself. Other tests share that Redis, so every zone id
    (and so every milestone id, which starts with its zone's) carries a
    prefix unique to this run, and events are read from the stream position
    taken just before the action, filtered by milestone id. Events published
    on the bus go to a SUB socket bound in-process.

    Dates are whole days after the fixture's base, a midnight at least a day
    ahead, so that forecasts of open milestones are their dates (not today)
    and every figure can be worked out by hand.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_bus.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "handlers_test.h"
#include "cpec_store.h"
#include "milestones.h"

#define S_ADMIN      CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_PROVINCE   CPEC__V1__PRINCIPAL__ROLE__PROVINCE
#define S_ENTERPRISE CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE
#define S_VIEWER     CPEC__V1__PRINCIPAL__ROLE__VIEWER

#define S_DAY MS_DAY_MS

#define S_NOT_STARTED CPEC__V1__MILESTONE__STATUS__NOT_STARTED
#define S_IN_PROGRESS CPEC__V1__MILESTONE__STATUS__IN_PROGRESS
#define S_COMPLETED   CPEC__V1__MILESTONE__STATUS__COMPLETED
#define S_BLOCKED     CPEC__V1__MILESTONE__STATUS__BLOCKED
#define S_CANCELLED   CPEC__V1__MILESTONE__STATUS__CANCELLED

typedef struct
{
    handlers_env_t env; //  store, Redis, the bus and its subscriber
    ms_t ms;            //  the handlers' state
    char prefix[32];    //  unique to this run: every zone id starts with it
    int64_t base;       //  a midnight (UTC) at least a day ahead
} s_fixture_t;

//  Day n after the fixture's base, in Unix ms.
#define S_AT(self, n) ((self)->base + (int64_t)(n)*S_DAY)

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

//  --------------------------------------------------------------------------
//  Fixture

static int
s_setup (void **state)
{
    s_fixture_t *self = calloc (1, sizeof (s_fixture_t));
    assert_non_null (self);
    if (handlers_env_open (&self->env, "ms") != 0) {
        free (self);
        return -1;
    }
    cpec_log_init ("test_ms_handlers", NULL, "warn");

    ms_store_setup (self->env.store);
    self->ms = (ms_t){.store = self->env.store, .bus = self->env.bus};
    snprintf (self->prefix, sizeof (self->prefix), "t%x%x", (unsigned)getpid (),
              (unsigned)(cpec_now_ms () & 0xffffff));
    self->base = (cpec_now_ms () / S_DAY + 2) * S_DAY;
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
static const s_caller_t s_viewer = {S_VIEWER, "", NULL};

//  Calls handler with input; on OK *output (may be NULL to drop it) gets the
//  output message. Returns the code; status (may be NULL) the message.
static int
s_call_with (s_fixture_t *self, ms_t *ms, cpec_handler_fn *handler, const char *method,
             s_caller_t caller, const ProtobufCMessage *input,
             const ProtobufCMessageDescriptor *output_descriptor, ProtobufCMessage **output,
             cpec_status_t *status)
{
    (void)self;
    handlers_caller_t who = {.role = caller.role,
                             .subject = caller.role == S_ADMIN      ? "admin@boi"
                                        : caller.role == S_PROVINCE ? "officer@province"
                                                                    : "someone",
                             .province = caller.province,
                             .request = caller.request};
    return handlers_call (handler, ms, method, who, input, output_descriptor, output, status);
}

static int
s_call (s_fixture_t *self, cpec_handler_fn *handler, const char *method, s_caller_t caller,
        const ProtobufCMessage *input, const ProtobufCMessageDescriptor *output_descriptor,
        ProtobufCMessage **output, cpec_status_t *status)
{
    return s_call_with (self, &self->ms, handler, method, caller, input, output_descriptor, output,
                        status);
}

//  A zone id unique to this run: "<prefix>-<name>" (the caller frees it).
static char *
s_zone_id (s_fixture_t *self, const char *name)
{
    char id[64];
    snprintf (id, sizeof (id), "%s-%s", self->prefix, name);
    return cpec_strdup (id);
}

//  Writes a zone of the registry at cpec:sez:{id}; returns its id (the
//  caller frees it).
static char *
s_zone (s_fixture_t *self, const char *name, const char *province)
{
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    sez->id = s_zone_id (self, name);
    sez->name = cpec_strdup ("Test Special Economic Zone");
    sez->province = cpec_strdup (province);
    sez->status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
    sez->version = 1;
    char key[128], request_id[48] = "test-";
    snprintf (key, sizeof (key), "cpec:sez:%s", sez->id);
    cpec_uuid (request_id + 5);
    cpec_store_put_t put = {.key = key, .expected_version = 0, .message = &sez->base};
    cpec_store_write_t write = {
        .request_id = request_id, .puts = &put, .put_count = 1, .answer = &sez->base};
    cpec_status_t status;
    int rc = cpec_store_write (self->env.store, &write, NULL, NULL, NULL, &status);
    if (rc != CPEC_OK)
        fail_msg ("writing zone %s: %s", sez->id, status.message);
    char *id = cpec_strdup (sez->id);
    s_destroy (&sez);
    return id;
}

//  "<zone>-<suffix>" into buf.
static const char *
s_id (char *buf, size_t size, const char *zone, const char *suffix)
{
    snprintf (buf, size, "%s-%s", zone, suffix);
    return buf;
}

//  A new milestone of zone planned for `planned`; id "<zone>-<suffix>" (NULL
//  suffix: none, the service generates it).
static Cpec__V1__Milestone *
s_ms_new (const char *zone, const char *suffix, int64_t planned)
{
    Cpec__V1__Milestone *milestone =
        (Cpec__V1__Milestone *)cpec_pb_new (&cpec__v1__milestone__descriptor);
    if (suffix) {
        char id[128];
        milestone->id = cpec_strdup (s_id (id, sizeof (id), zone, suffix));
    }
    milestone->zone_id = cpec_strdup (zone);
    milestone->title = cpec_strdup ("Grid station energised");
    milestone->title_zh = cpec_strdup ("电网站通电");
    milestone->agency = cpec_strdup ("NTDC");
    milestone->planned_due = cpec_pb_timestamp_new (planned);
    return milestone;
}

static void
s_add_pred (Cpec__V1__Milestone *milestone, const char *pred, uint32_t lag)
{
    Cpec__V1__Dependency *dependency =
        (Cpec__V1__Dependency *)cpec_pb_new (&cpec__v1__dependency__descriptor);
    dependency->milestone_id = cpec_strdup (pred);
    dependency->lag_days = lag;
    milestone->predecessors = (Cpec__V1__Dependency **)cpec_realloc (
        milestone->predecessors, (milestone->n_predecessors + 1) * sizeof (void *));
    milestone->predecessors[milestone->n_predecessors++] = dependency;
}

static int
s_create (s_fixture_t *self, s_caller_t caller, Cpec__V1__Milestone *milestone,
          Cpec__V1__Milestone **created, cpec_status_t *status)
{
    Cpec__V1__CreateMilestoneRequest request = CPEC__V1__CREATE_MILESTONE_REQUEST__INIT;
    request.milestone = milestone;
    return s_call (self, ms_create, "Create", caller, &request.base,
                   &cpec__v1__milestone__descriptor, (ProtobufCMessage **)created, status);
}

//  Creates "<zone>-<suffix>" planned for `planned` (Unix ms), waiting on
//  pred (NULL: none) with lag; fails the test on error.
static void
s_make (s_fixture_t *self, const char *zone, const char *suffix, int64_t planned, const char *pred,
        uint32_t lag)
{
    Cpec__V1__Milestone *milestone = s_ms_new (zone, suffix, planned);
    if (pred)
        s_add_pred (milestone, pred, lag);
    cpec_status_t status;
    int rc = s_create (self, s_admin, milestone, NULL, &status);
    if (rc != CPEC_OK)
        fail_msg ("creating %s: %s %s", milestone->id, cpec_code_name (rc), status.message);
    s_destroy (&milestone);
}

static int
s_get (s_fixture_t *self, const char *id, Cpec__V1__Milestone **milestone, cpec_status_t *status)
{
    Cpec__V1__GetMilestoneRequest request = CPEC__V1__GET_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    return s_call (self, ms_get, "Get", s_viewer, &request.base, &cpec__v1__milestone__descriptor,
                   (ProtobufCMessage **)milestone, status);
}

//  The milestone as Get answers it now; fails the test if it cannot.
static Cpec__V1__Milestone *
s_fetch (s_fixture_t *self, const char *id)
{
    Cpec__V1__Milestone *milestone = NULL;
    cpec_status_t status;
    int rc = s_get (self, id, &milestone, &status);
    if (rc != CPEC_OK)
        fail_msg ("Get %s: %s %s", id, cpec_code_name (rc), status.message);
    return milestone;
}

//  Get's forecast_due of id, in Unix ms.
static int64_t
s_forecast (s_fixture_t *self, const char *id)
{
    Cpec__V1__Milestone *milestone = s_fetch (self, id);
    int64_t forecast = cpec_pb_timestamp_ms (milestone->forecast_due);
    s_destroy (&milestone);
    return forecast;
}

static bool
s_at_risk (s_fixture_t *self, const char *id)
{
    Cpec__V1__Milestone *milestone = s_fetch (self, id);
    bool at_risk = milestone->at_risk;
    s_destroy (&milestone);
    return at_risk;
}

//  Updates with a mask (NULL-terminated; NULL: empty mask).
static int
s_update (s_fixture_t *self, s_caller_t caller, Cpec__V1__Milestone *milestone, uint32_t expected,
          const char **mask, Cpec__V1__Milestone **updated, cpec_status_t *status)
{
    Cpec__V1__UpdateMilestoneRequest request = CPEC__V1__UPDATE_MILESTONE_REQUEST__INIT;
    request.milestone = milestone;
    request.expected_version = expected;
    while (mask && mask[request.n_update_mask])
        request.n_update_mask++;
    request.update_mask = (char **)mask;
    return s_call (self, ms_update, "Update", caller, &request.base,
                   &cpec__v1__milestone__descriptor, (ProtobufCMessage **)updated, status);
}

//  Completes id at `at` (0: unset, now).
static int
s_complete (s_fixture_t *self, s_caller_t caller, const char *id, int64_t at, uint32_t expected,
            Cpec__V1__Milestone **completed, cpec_status_t *status)
{
    Cpec__V1__CompleteMilestoneRequest request = CPEC__V1__COMPLETE_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    request.completed_at = at ? cpec_pb_timestamp_new (at) : NULL;
    request.expected_version = expected;
    int rc = s_call (self, ms_complete, "Complete", caller, &request.base,
                     &cpec__v1__milestone__descriptor, (ProtobufCMessage **)completed, status);
    s_destroy (&request.completed_at);
    return rc;
}

//  Re-plans id to `due` (0: unset) for reason (NULL: none).
static int
s_replan (s_fixture_t *self, s_caller_t caller, const char *id, int64_t due, const char *reason,
          uint32_t expected, Cpec__V1__Milestone **replanned, cpec_status_t *status)
{
    Cpec__V1__ReplanMilestoneRequest request = CPEC__V1__REPLAN_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    request.planned_due = due ? cpec_pb_timestamp_new (due) : NULL;
    request.reason = (char *)(reason ? reason : "");
    request.expected_version = expected;
    int rc = s_call (self, ms_replan, "Replan", caller, &request.base,
                     &cpec__v1__milestone__descriptor, (ProtobufCMessage **)replanned, status);
    s_destroy (&request.planned_due);
    return rc;
}

//  Re-plans with a reason as an administrator; fails the test on error.
static void
s_move (s_fixture_t *self, const char *id, int64_t due)
{
    cpec_status_t status;
    int rc = s_replan (self, s_admin, id, due, "re-planned by the test", 0, NULL, &status);
    if (rc != CPEC_OK)
        fail_msg ("Replan %s: %s %s", id, cpec_code_name (rc), status.message);
}

//  AddDependency (add) or RemoveDependency: id waits on pred with lag.
static int
s_dependency (s_fixture_t *self, s_caller_t caller, bool add, const char *id, const char *pred,
              uint32_t lag, uint32_t expected, Cpec__V1__Milestone **answer, cpec_status_t *status)
{
    Cpec__V1__Dependency dependency = CPEC__V1__DEPENDENCY__INIT;
    dependency.milestone_id = (char *)pred;
    dependency.lag_days = lag;
    Cpec__V1__DependencyRequest request = CPEC__V1__DEPENDENCY_REQUEST__INIT;
    request.id = (char *)id;
    request.dependency = &dependency;
    request.expected_version = expected;
    return s_call (self, add ? ms_add_dependency : ms_remove_dependency,
                   add ? "AddDependency" : "RemoveDependency", caller, &request.base,
                   &cpec__v1__milestone__descriptor, (ProtobufCMessage **)answer, status);
}

static int
s_list (s_fixture_t *self, const Cpec__V1__ListMilestonesRequest *request,
        Cpec__V1__ListMilestonesResponse **response, cpec_status_t *status)
{
    return s_call (self, ms_list, "List", s_viewer, &request->base,
                   &cpec__v1__list_milestones_response__descriptor, (ProtobufCMessage **)response,
                   status);
}

//  The ids of one List page joined by spaces, with the zone prefix taken
//  off ("a b"); *cursor (may be NULL) gets next_cursor (malloc'd).
static const char *
s_page (s_fixture_t *self, const Cpec__V1__ListMilestonesRequest *request, const char *zone,
        char *buf, size_t size, char **cursor)
{
    Cpec__V1__ListMilestonesResponse *response = NULL;
    cpec_status_t status;
    int rc = s_list (self, request, &response, &status);
    if (rc != CPEC_OK)
        fail_msg ("List: %s %s", cpec_code_name (rc), status.message);
    buf[0] = '\0';
    size_t skip = strlen (zone) + 1;
    for (size_t i = 0; i < response->n_milestones; i++) {
        const char *id = response->milestones[i]->id;
        if (strncmp (id, zone, skip - 1) == 0 && id[skip - 1] == '-')
            id += skip;
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s", used ? " " : "", id);
    }
    if (cursor)
        *cursor = cpec_strdup (response->next_cursor ? response->next_cursor : "");
    s_destroy (&response);
    return buf;
}

static Cpec__V1__MilestoneState *
s_state_of (s_fixture_t *self, const char *id)
{
    char key[160];
    ms_state_key (key, sizeof (key), id);
    Cpec__V1__MilestoneState *state = NULL;
    cpec_status_t status;
    int rc = cpec_store_get (self->env.store, key, &cpec__v1__milestone_state__descriptor,
                             (ProtobufCMessage **)&state, NULL, &status);
    if (rc != CPEC_OK)
        fail_msg ("reading %s: %s", key, status.message);
    return state;
}

//  Whether the state of id lists successor.
static bool
s_has_successor (s_fixture_t *self, const char *id, const char *successor, size_t *count)
{
    Cpec__V1__MilestoneState *state = s_state_of (self, id);
    size_t n = 0;
    for (size_t i = 0; i < state->n_successors; i++)
        if (strcmp (state->successors[i], successor) == 0)
            n++;
    if (count)
        *count = n;
    s_destroy (&state);
    return n > 0;
}

//  The score of member in a sorted set, -1 when absent.
static int64_t
s_zscore (s_fixture_t *self, const char *key, const char *member)
{
    redisReply *reply = redisCommand (self->env.redis, "ZSCORE %s %s", key, member);
    assert_non_null (reply);
    int64_t score = -1;
    if (reply->type == REDIS_REPLY_STRING)
        score = (int64_t)llround (strtod (reply->str, NULL));
    freeReplyObject (reply);
    return score;
}

//  The timer member "<kind>:<id>" into buf.
static const char *
s_member (char *buf, size_t size, const char *kind, const char *id)
{
    snprintf (buf, size, "%s:%s", kind, id);
    return buf;
}

static long long
s_redis_integer (s_fixture_t *self, const char *format, const char *a, const char *b)
{
    redisReply *reply = redisCommand (self->env.redis, format, a, b);
    assert_non_null (reply);
    assert_int_equal (reply->type, REDIS_REPLY_INTEGER);
    long long value = reply->integer;
    freeReplyObject (reply);
    return value;
}

//  A raw command's reply (not an error; the caller frees it).
#define s_redis_reply(self, ...) handlers_redis ((self)->env.redis, __VA_ARGS__)
//  Runs a raw command that must not fail.
#define s_redis_run(...) freeReplyObject (s_redis_reply (__VA_ARGS__))

static void
s_redis_zadd (s_fixture_t *self, const char *key, int64_t score, const char *member)
{
    redisReply *reply =
        redisCommand (self->env.redis, "ZADD %s %lld %s", key, (long long)score, member);
    assert_non_null (reply);
    freeReplyObject (reply);
}

#define s_assert_double(a, b, tolerance)                                                           \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (fabs (a_ - b_) > (tolerance))                                                          \
            fail_msg ("%s = %.9g, wanted %.9g", #a, a_, b_);                                       \
    } while (0)

//  --------------------------------------------------------------------------
//  Events: from the stream, and from the bus

//  The id of the newest stream entry: events after it are new.
static char *
s_stream_mark (s_fixture_t *self)
{
    return handlers_stream_mark (self->env.redis);
}

//  The milestone an event is about ("" for others).
static const char *
s_event_milestone (const Cpec__V1__Event *event)
{
    switch (event->payload_case) {
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_CREATED:
            return event->milestone_created->milestone_id;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_UPDATED:
            return event->milestone_updated->milestone_id;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED:
            return event->milestone_delayed->milestone_id;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_AT_RISK:
            return event->milestone_at_risk->milestone_id;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_BACK_ON_TRACK:
            return event->milestone_back_on_track->milestone_id;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_COMPLETED:
            return event->milestone_completed->milestone_id;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_REPLANNED:
            return event->milestone_replanned->milestone_id;
        default: return "";
    }
}

//  The events about milestone id appended since mark, as "Type" strings
//  joined by spaces into buf; *events_p (may be NULL) gets them (destroy
//  with cpec_store_events_destroy).
static bool
s_about (const Cpec__V1__Event *event, const char *id)
{
    return strcmp (s_event_milestone (event), id) == 0;
}

static const char *
s_events (s_fixture_t *self, const char *mark, const char *id, char *buf, size_t size,
          Cpec__V1__Event ***events_p)
{
    return handlers_events_since (self->env.store, mark, s_about, id, buf, size, events_p);
}

//  How many events of type about id were appended since mark.
static size_t
s_count (s_fixture_t *self, const char *mark, const char *id, const char *type)
{
    Cpec__V1__Event **events = NULL;
    char buf[2048];
    s_events (self, mark, id, buf, sizeof (buf), &events);
    size_t n = 0;
    for (size_t i = 0; events[i]; i++)
        n += strcmp (events[i]->type, type) == 0;
    cpec_store_events_destroy (&events);
    return n;
}

//  Topics received on the bus for zone, joined by spaces, waiting briefly.
static const char *
s_bus_topics (s_fixture_t *self, const char *zone, char *buf, size_t size)
{
    return handlers_bus_topics (self->env.sub, zone, buf, size);
}

#define assert_ok(rc, status)                                                                      \
    do {                                                                                           \
        int rc_ = (rc);                                                                            \
        if (rc_ != CPEC_OK)                                                                        \
            fail_msg ("wanted OK, got %s \"%s\"", cpec_code_name (rc_), (status)->message);        \
    } while (0)

//  Runs the timers of ms at now until none more are due at once.
static void
s_timers (ms_t *ms, int64_t now)
{
    for (int i = 0; i < 100; i++)
        if (ms_timers_run (ms, now) != now)
            return;
    fail_msg ("timers still due after 100 rounds");
}

//  --------------------------------------------------------------------------
//  Create and Get

static void
test_create_and_get (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], id[128];
    cpec_status_t status;
    char *zone = s_zone (self, "create", "PK-KP");
    s_bus_topics (self, zone, buf, sizeof (buf)); //  drain
    char *mark = s_stream_mark (self);

    //  Without an id: "<zone>-" and 8 hex digits; defaults filled in
    Cpec__V1__Milestone *given = s_ms_new (zone, NULL, S_AT (self, 30));
    given->version = 9;                      //  the service's: ignored
    given->overdue = true;                   //  computed: ignored
    given->slip_days = 12;                   //  computed: ignored
    given->province = cpec_strdup ("PK-SD"); //  the zone's: ignored
    given->forecast_due = cpec_pb_timestamp_new (S_AT (self, 99));
    given->n_history = 1;
    given->history = calloc (1, sizeof (void *));
    given->history[0] = (Cpec__V1__Replan *)cpec_pb_new (&cpec__v1__replan__descriptor);
    Cpec__V1__Milestone *created = NULL;
    assert_ok (s_create (self, s_admin, given, &created, &status), &status);
    assert_int_equal (strlen (created->id), strlen (zone) + 9);
    assert_true (handlers_starts_with (created->id, zone));
    assert_int_equal (created->id[strlen (zone)], '-');
    for (const char *c = created->id + strlen (zone) + 1; *c; c++)
        assert_non_null (strchr ("0123456789abcdef", *c));
    assert_int_equal (created->version, 1);
    assert_string_equal (created->province, "PK-KP");
    assert_string_equal (created->zone_id, zone);
    assert_int_equal (created->status, S_NOT_STARTED);
    assert_int_equal (created->kind, CPEC__V1__MILESTONE__KIND__OTHER);
    assert_int_equal (cpec_pb_timestamp_ms (created->planned_due), S_AT (self, 30));
    assert_int_equal (cpec_pb_timestamp_ms (created->baseline_due), S_AT (self, 30));
    assert_int_equal (cpec_pb_timestamp_ms (created->forecast_due), S_AT (self, 30));
    assert_int_equal (created->n_history, 0);
    assert_false (created->overdue);
    assert_false (created->at_risk);
    assert_true (created->slip_days == 0);
    assert_string_equal (created->created->by, "admin@boi");
    assert_string_equal (created->updated->by, "admin@boi");
    assert_true (created->created->at->seconds > 0);

    //  Get answers the same
    Cpec__V1__Milestone *got = s_fetch (self, created->id);
    size_t size_a, size_b;
    uint8_t *a = cpec_pb_pack (&created->base, &size_a);
    uint8_t *b = cpec_pb_pack (&got->base, &size_b);
    assert_int_equal (size_a, size_b);
    assert_memory_equal (a, b, size_a);
    free (a);
    free (b);
    s_destroy (&got);

    //  One MilestoneCreated in the log and on the bus; the due timer set
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, created->id, buf, sizeof (buf), &events),
                         "MilestoneCreated");
    assert_string_equal (events[0]->zone_id, zone);
    assert_string_equal (events[0]->province, "PK-KP");
    assert_string_equal (events[0]->actor, "admin@boi");
    assert_string_equal (events[0]->milestone_created->milestone->id, created->id);
    assert_int_equal (events[0]->milestone_created->milestone->version, 1);
    cpec_store_events_destroy (&events);
    char topic[256];
    snprintf (topic, sizeof (topic), "MilestoneCreated.PK-KP.%s", zone);
    assert_string_equal (s_bus_topics (self, zone, buf, sizeof (buf)), topic);
    char member[160];
    assert_int_equal (
        s_zscore (self, MS_TIMERS_KEY, s_member (member, sizeof (member), "due", created->id)),
        S_AT (self, 30));
    assert_int_equal (s_redis_integer (self, "SISMEMBER cpec:ms:zone:%s %s", zone, created->id), 1);

    //  With an id, a baseline earlier than the plan, a kind and a status
    Cpec__V1__Milestone *grid = s_ms_new (zone, "grid", S_AT (self, 20));
    grid->baseline_due = cpec_pb_timestamp_new (S_AT (self, 10));
    grid->kind = CPEC__V1__MILESTONE__KIND__POWER;
    grid->status = S_IN_PROGRESS;
    grid->percent_complete = 30;
    Cpec__V1__Milestone *answer = NULL;
    assert_ok (s_create (self, s_admin, grid, &answer, &status), &status);
    assert_string_equal (answer->id, s_id (id, sizeof (id), zone, "grid"));
    assert_int_equal (cpec_pb_timestamp_ms (answer->baseline_due), S_AT (self, 10));
    assert_int_equal (answer->kind, CPEC__V1__MILESTONE__KIND__POWER);
    assert_int_equal (answer->status, S_IN_PROGRESS);
    assert_int_equal (answer->percent_complete, 30);
    assert_true (answer->slip_days == 0); //  against the plan, not the baseline
    s_destroy (&answer);

    //  The same id again: ALREADY_EXISTS, nothing written
    free (mark);
    mark = s_stream_mark (self);
    free (grid->title);
    grid->title = cpec_strdup ("Another title");
    assert_status (s_create (self, s_admin, grid, NULL, &status), &status, CPEC_ALREADY_EXISTS,
                   "milestone ");
    assert_non_null (strstr (status.message, grid->id));
    got = s_fetch (self, grid->id);
    assert_string_equal (got->title, "Grid station energised");
    s_destroy (&got);
    assert_string_equal (s_events (self, mark, grid->id, buf, sizeof (buf), NULL), "");

    //  With a predecessor: recorded in the predecessor's state, and the
    //  state of the new one computed from it (the grid's plan + 5 days)
    Cpec__V1__Milestone *cod = s_ms_new (zone, "cod", S_AT (self, 60));
    cod->kind = CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION;
    s_add_pred (cod, grid->id, 5);
    assert_ok (s_create (self, s_admin, cod, &answer, &status), &status);
    assert_int_equal (answer->n_predecessors, 1);
    assert_string_equal (answer->predecessors[0]->milestone_id, grid->id);
    assert_int_equal (answer->predecessors[0]->lag_days, 5);
    s_destroy (&answer);
    size_t count = 0;
    assert_true (s_has_successor (self, grid->id, cod->id, &count));
    assert_int_equal (count, 1);
    Cpec__V1__MilestoneState *cod_state = s_state_of (self, cod->id);
    assert_int_equal (cod_state->pred_fixed_ms, S_AT (self, 25));
    assert_true (cod_state->has_pred_lead);
    assert_int_equal (cod_state->pred_lead_ms, 5 * S_DAY);
    assert_false (cod_state->at_risk);
    s_destroy (&cod_state);

    //  Completed at creation: 100 percent, no due timer
    Cpec__V1__Milestone *done = s_ms_new (zone, "done", S_AT (self, -10));
    done->status = S_COMPLETED;
    done->completed_at = cpec_pb_timestamp_new (S_AT (self, -9));
    assert_ok (s_create (self, s_admin, done, &answer, &status), &status);
    assert_int_equal (answer->percent_complete, 100);
    assert_false (answer->overdue);
    assert_true (answer->slip_days == 1);
    assert_int_equal (
        s_zscore (self, MS_TIMERS_KEY, s_member (member, sizeof (member), "due", done->id)), -1);
    s_destroy (&answer);

    //  Unknown zone, unknown predecessor, invalid: nothing written
    char *nowhere = s_zone_id (self, "nowhere");
    Cpec__V1__Milestone *lost = s_ms_new (nowhere, "lost", S_AT (self, 5));
    assert_status (s_create (self, s_admin, lost, NULL, &status), &status, CPEC_NOT_FOUND,
                   "zone_id: ");
    assert_non_null (strstr (status.message, nowhere));
    Cpec__V1__Milestone *orphan = s_ms_new (zone, "orphan", S_AT (self, 5));
    s_add_pred (orphan, grid->id, 0);
    s_add_pred (orphan, s_id (id, sizeof (id), zone, "missing"), 0);
    assert_status (s_create (self, s_admin, orphan, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "predecessors[1].milestone_id: ");
    assert_int_equal (s_get (self, orphan->id, NULL, &status), CPEC_NOT_FOUND);
    assert_true (s_has_successor (self, grid->id, cod->id, &count));
    assert_int_equal (count, 1); //  and the grid's state unchanged
    assert_false (s_has_successor (self, grid->id, orphan->id, NULL));
    free (orphan->title);
    orphan->title = cpec_strdup ("");
    assert_status (s_create (self, s_admin, orphan, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "title: ");
    Cpec__V1__CreateMilestoneRequest empty = CPEC__V1__CREATE_MILESTONE_REQUEST__INIT;
    assert_status (s_call (self, ms_create, "Create", s_admin, &empty.base,
                           &cpec__v1__milestone__descriptor, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "milestone: ");

    //  Get: unknown and malformed ids
    assert_status (s_get (self, s_id (id, sizeof (id), zone, "missing"), NULL, &status), &status,
                   CPEC_NOT_FOUND, "milestone ");
    assert_non_null (strstr (status.message, id));
    assert_status (s_get (self, "Not An Id", NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "id: ");

    free (nowhere);
    free (mark);
    free (zone);
    s_destroy (&lost);
    s_destroy (&orphan);
    s_destroy (&done);
    s_destroy (&cod);
    s_destroy (&grid);
    s_destroy (&created);
    s_destroy (&given);
}

static void
test_create_permissions (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    cpec_status_t status;
    char *zone = s_zone (self, "perm", "PK-KP");
    Cpec__V1__Milestone *milestone = s_ms_new (zone, "roads", S_AT (self, 40));

    s_caller_t punjab = {S_PROVINCE, "PK-PB", NULL};
    s_caller_t nobody = {S_PROVINCE, "", NULL};
    s_caller_t enterprise = {S_ENTERPRISE, "PK-KP", NULL};
    assert_int_equal (s_create (self, s_viewer, milestone, NULL, &status), CPEC_PERMISSION_DENIED);
    assert_int_equal (s_create (self, punjab, milestone, NULL, &status), CPEC_PERMISSION_DENIED);
    assert_int_equal (s_create (self, nobody, milestone, NULL, &status), CPEC_PERMISSION_DENIED);
    assert_int_equal (s_create (self, enterprise, milestone, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    assert_int_equal (s_get (self, milestone->id, NULL, &status), CPEC_NOT_FOUND);

    //  The zone's own province may
    s_caller_t kp = {S_PROVINCE, "PK-KP", NULL};
    Cpec__V1__Milestone *created = NULL;
    assert_ok (s_create (self, kp, milestone, &created, &status), &status);
    assert_string_equal (created->created->by, "officer@province");
    s_destroy (&created);

    //  ... and change it; the others may not
    assert_int_equal (
        s_replan (self, punjab, milestone->id, S_AT (self, 41), "late", 0, NULL, &status),
        CPEC_PERMISSION_DENIED);
    assert_int_equal (
        s_replan (self, s_viewer, milestone->id, S_AT (self, 41), "late", 0, NULL, &status),
        CPEC_PERMISSION_DENIED);
    assert_int_equal (s_complete (self, punjab, milestone->id, 0, 0, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    const char *mask[] = {"title", NULL};
    assert_int_equal (s_update (self, s_viewer, milestone, 1, mask, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    char id[128];
    s_make (self, zone, "land", S_AT (self, 10), NULL, 0);
    assert_int_equal (s_dependency (self, punjab, true, milestone->id,
                                    s_id (id, sizeof (id), zone, "land"), 0, 0, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    assert_ok (s_dependency (self, kp, true, milestone->id, id, 0, 0, NULL, &status), &status);
    assert_ok (s_replan (self, kp, milestone->id, S_AT (self, 41), "late", 0, NULL, &status),
               &status);
    Cpec__V1__Milestone *got = s_fetch (self, milestone->id);
    assert_int_equal (got->version, 3);
    assert_string_equal (got->updated->by, "officer@province");
    s_destroy (&got);
    free (zone);
    s_destroy (&milestone);
}

//  A retried Create (same request id) answers the first answer and writes
//  nothing again, even with the id left to the service.
static void
test_create_retry (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], uuid[37];
    cpec_status_t status;
    char *zone = s_zone (self, "retry", "PK-SD");
    s_make (self, zone, "land", S_AT (self, 10), NULL, 0);
    char land[128];
    s_id (land, sizeof (land), zone, "land");
    Cpec__V1__MilestoneState *before = s_state_of (self, land);
    s_bus_topics (self, zone, buf, sizeof (buf));
    char *mark = s_stream_mark (self);

    cpec_uuid (uuid);
    s_caller_t once = {S_ADMIN, "", uuid};
    Cpec__V1__Milestone *given = s_ms_new (zone, NULL, S_AT (self, 30));
    s_add_pred (given, land, 2);
    Cpec__V1__Milestone *first = NULL, *second = NULL;
    assert_ok (s_create (self, once, given, &first, &status), &status);
    zclock_sleep (5);
    assert_ok (s_create (self, once, given, &second, &status), &status);
    size_t size_a, size_b;
    uint8_t *a = cpec_pb_pack (&first->base, &size_a);
    uint8_t *b = cpec_pb_pack (&second->base, &size_b);
    assert_int_equal (size_a, size_b);
    assert_memory_equal (a, b, size_a);
    free (a);
    free (b);

    assert_string_equal (s_events (self, mark, first->id, buf, sizeof (buf), NULL),
                         "MilestoneCreated");
    assert_non_null (strstr (s_bus_topics (self, zone, buf, sizeof (buf)), "MilestoneCreated"));
    assert_null (strchr (buf, ' ')); //  published once
    //  One milestone in the zone besides the land; the land's state has one
    //  successor more, written once
    assert_int_equal (s_redis_integer (self, "SCARD cpec:ms:zone:%s%s", zone, ""), 2);
    Cpec__V1__MilestoneState *after = s_state_of (self, land);
    assert_int_equal (after->version, before->version + 1);
    assert_int_equal (after->n_successors, before->n_successors + 1);
    assert_string_equal (after->successors[after->n_successors - 1], first->id);
    s_destroy (&after);
    s_destroy (&before);
    free (mark);
    free (zone);
    s_destroy (&first);
    s_destroy (&second);
    s_destroy (&given);
}

//  --------------------------------------------------------------------------
//  List

static void
test_list (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], id[128];
    cpec_status_t status;
    char *zone = s_zone (self, "list", "PK-PB");
    //  a: NOT_STARTED NTDC day 10; b: IN_PROGRESS SNGPL day 20; c: overdue
    //  (NOT_STARTED, ntdc, 5 days before base); e: NTDC day 40; d:
    //  IN_PROGRESS KPEZDMC day 15 waiting on e: at risk
    struct
    {
        const char *suffix;
        int status;
        const char *agency;
        int day;
        const char *pred;
    } rows[] = {{"a", S_NOT_STARTED, "NTDC", 10, NULL},
                {"b", S_IN_PROGRESS, "SNGPL", 20, NULL},
                {"c", S_NOT_STARTED, "ntdc", -5, NULL},
                {"e", S_NOT_STARTED, "NTDC", 40, NULL},
                {"d", S_IN_PROGRESS, "KPEZDMC", 15, "e"}};
    for (size_t i = 0; i < 5; i++) {
        Cpec__V1__Milestone *milestone = s_ms_new (zone, rows[i].suffix, S_AT (self, rows[i].day));
        milestone->status = (Cpec__V1__Milestone__Status)rows[i].status;
        free (milestone->agency);
        milestone->agency = cpec_strdup (rows[i].agency);
        if (rows[i].pred)
            s_add_pred (milestone, s_id (id, sizeof (id), zone, rows[i].pred), 0);
        assert_ok (s_create (self, s_admin, milestone, NULL, &status), &status);
        s_destroy (&milestone);
    }
    Google__Protobuf__Timestamp *from = cpec_pb_timestamp_new (S_AT (self, 15));
    Google__Protobuf__Timestamp *to = cpec_pb_timestamp_new (S_AT (self, 40));
    Cpec__V1__ListMilestonesRequest request = CPEC__V1__LIST_MILESTONES_REQUEST__INIT;
    request.zone_id = zone;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "a b c d e");
    request.status = S_IN_PROGRESS;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "b d");
    request.status = S_NOT_STARTED;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "a c e");
    request.status = S_COMPLETED;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "");
    request.status = 0;
    request.agency = "ntdc";
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "a c e");
    request.agency = "Ntdc";
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "a c e");
    request.agency = "SNGPL";
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "b");
    request.agency = "";
    request.overdue = true;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "c");
    request.overdue = false;
    request.at_risk = true;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "d");
    request.at_risk = false;
    //  Planned due at or after day 15, before day 40
    request.due_from = from;
    request.due_to = to;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "b d");
    request.due_to = NULL;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "b d e");
    request.due_from = NULL;
    request.due_to = from;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "a c");
    request.due_to = NULL;
    //  Filters together
    request.status = S_NOT_STARTED;
    request.agency = "NTDC";
    request.overdue = true;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "c");
    request.overdue = false;
    request.status = 0;
    request.agency = "";

    //  Pages of 2 over 5: 3 pages, each cursor the last id of its page
    request.page_size = 2;
    char *cursor = NULL;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), &cursor), "a b");
    assert_string_equal (cursor, s_id (id, sizeof (id), zone, "b"));
    request.cursor = cursor;
    char *cursor2 = NULL;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), &cursor2), "c d");
    assert_string_equal (cursor2, s_id (id, sizeof (id), zone, "d"));
    request.cursor = cursor2;
    char *cursor3 = NULL;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), &cursor3), "e");
    assert_string_equal (cursor3, "");
    free (cursor);
    free (cursor2);
    free (cursor3);
    //  Pages of 1 with a filter: a, c, e
    request.page_size = 1;
    request.cursor = "";
    request.agency = "ntdc";
    const char *expected[] = {"a", "c", "e"};
    char *next = cpec_strdup ("");
    for (size_t i = 0; i < 3; i++) {
        request.cursor = next;
        char *after = NULL;
        assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), &after), expected[i]);
        free (next);
        next = after;
    }
    assert_string_equal (next, "");
    free (next);
    request.agency = "";
    request.page_size = 0;
    request.cursor = "";

    //  Without a zone: every milestone, from a cursor at the zone's ids
    Cpec__V1__ListMilestonesRequest all = CPEC__V1__LIST_MILESTONES_REQUEST__INIT;
    all.cursor = zone;
    all.page_size = 3;
    all.status = S_IN_PROGRESS;
    assert_string_equal (s_page (self, &all, zone, buf, sizeof (buf), NULL), "b d");

    //  The indexes follow changes
    Cpec__V1__Milestone *change = s_ms_new (zone, "c", S_AT (self, -5));
    free (change->agency);
    change->agency = cpec_strdup ("WAPDA");
    const char *agency_mask[] = {"agency", NULL};
    assert_ok (s_update (self, s_admin, change, 1, agency_mask, NULL, &status), &status);
    request.agency = "ntdc";
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "a e");
    request.agency = "wapda";
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "c");
    request.agency = "";
    free (change->id);
    change->id = cpec_strdup (s_id (id, sizeof (id), zone, "d"));
    change->status = S_BLOCKED;
    const char *status_mask[] = {"status", NULL};
    assert_ok (s_update (self, s_admin, change, 1, status_mask, NULL, &status), &status);
    assert_ok (s_complete (self, s_admin, s_id (id, sizeof (id), zone, "b"), 0, 0, NULL, &status),
               &status);
    request.status = S_IN_PROGRESS;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "");
    request.status = S_BLOCKED;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "d");
    request.status = S_COMPLETED;
    assert_string_equal (s_page (self, &request, zone, buf, sizeof (buf), NULL), "b");
    request.status = 0;

    //  Invalid requests
    request.page_size = MS_PAGE_MAX + 1;
    assert_status (s_list (self, &request, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "page_size: ");
    request.page_size = 0;
    request.cursor = "Not A Cursor";
    assert_status (s_list (self, &request, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "cursor: ");
    request.cursor = "";
    request.zone_id = "Not A Zone";
    assert_status (s_list (self, &request, NULL, &status), &status, CPEC_INVALID_ARGUMENT,
                   "zone_id: ");
    s_destroy (&change);
    s_destroy (&from);
    s_destroy (&to);
    free (zone);
}

//  Creates the zone of the byte-limited page tests: a, c, e overdue, b, d
//  not; returns the zone id and sets *size to the packed size of a.
static char *
s_page_zone (s_fixture_t *self, const char *name, size_t *size)
{
    char *zone = s_zone (self, name, "PK-PB");
    const char *suffixes[] = {"a", "b", "c", "d", "e"};
    for (size_t i = 0; i < 5; i++)
        s_make (self, zone, suffixes[i], i % 2 ? S_AT (self, 30) : S_AT (self, -4), NULL, 0);
    char id[128];
    Cpec__V1__Milestone *milestone = s_fetch (self, s_id (id, sizeof (id), zone, "a"));
    *size = protobuf_c_message_get_packed_size (&milestone->base);
    s_destroy (&milestone);
    return zone;
}

//  Pages are cut by bytes too: with room for one milestone a page, every
//  overdue milestone of the zone still comes, once, across the pages.
static void
test_list_page_bytes (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], all[1024] = "";
    size_t size = 0;
    char *zone = s_page_zone (self, "bytes", &size);
    Cpec__V1__ListMilestonesRequest request = CPEC__V1__LIST_MILESTONES_REQUEST__INIT;
    request.zone_id = zone;
    request.overdue = true;
    request.page_size = 2;
    //  Unfiltered first: a page of one, cut by bytes
    self->ms.page_bytes = size * 3 / 2;
    request.overdue = false;
    char *cursor = NULL;
    const char *first = s_page (self, &request, zone, buf, sizeof (buf), &cursor);
    bool cut = strcmp (first, "a") == 0;
    free (cursor);
    //  Then overdue only, following the cursors
    request.overdue = true;
    char *next = cpec_strdup ("");
    size_t pages = 0;
    do {
        request.cursor = next;
        char *after = NULL;
        s_page (self, &request, zone, buf, sizeof (buf), &after);
        size_t used = strlen (all);
        int wrote =
            snprintf (all + used, sizeof (all) - used, "%s%s", used && *buf ? " " : "", buf);
        assert_true (wrote >= 0 && (size_t)wrote < sizeof (all) - used);
        free (next);
        next = after;
        pages++;
    } while (*next && pages < 10);
    free (next);
    self->ms.page_bytes = 0;
    assert_true (cut);
    assert_string_equal (all, "a c e");
    free (zone);
}

//  A milestone larger than the page's byte budget is RESOURCE_EXHAUSTED,
//  also when the listing started from a cursor (never an empty page that
//  ends the listing).
static void
test_list_page_too_small (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    cpec_status_t status;
    size_t size = 0;
    char *zone = s_page_zone (self, "small", &size);
    Cpec__V1__ListMilestonesRequest request = CPEC__V1__LIST_MILESTONES_REQUEST__INIT;
    request.zone_id = zone;
    request.page_size = 2;
    self->ms.page_bytes = size / 2;
    Cpec__V1__ListMilestonesResponse *response = NULL;
    int from_start = s_list (self, &request, NULL, &status);
    char cursor[128];
    request.cursor = (char *)s_id (cursor, sizeof (cursor), zone, "a");
    int from_cursor = s_list (self, &request, &response, &status);
    self->ms.page_bytes = 0;
    assert_int_equal (from_start, CPEC_RESOURCE_EXHAUSTED);
    if (from_cursor == CPEC_OK)
        fail_msg ("from a cursor: OK with %zu milestones and next_cursor \"%s\", wanted "
                  "RESOURCE_EXHAUSTED",
                  response->n_milestones, response->next_cursor);
    assert_int_equal (from_cursor, CPEC_RESOURCE_EXHAUSTED);
    s_destroy (&response);
    free (zone);
}

//  --------------------------------------------------------------------------
//  Update, Complete, Replan

static void
test_update (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], member[160];
    cpec_status_t status;
    char *zone = s_zone (self, "update", "PK-KP");
    s_bus_topics (self, zone, buf, sizeof (buf));
    Cpec__V1__Milestone *milestone = s_ms_new (zone, "grid", S_AT (self, 20));
    milestone->status = S_IN_PROGRESS;
    milestone->percent_complete = 10;
    milestone->kind = CPEC__V1__MILESTONE__KIND__POWER;
    milestone->title_ur = cpec_strdup ("گرڈ");
    assert_ok (s_create (self, s_admin, milestone, NULL, &status), &status);
    char *mark = s_stream_mark (self);

    //  The mask takes only the named fields
    Cpec__V1__Milestone *change = s_ms_new (zone, "grid", S_AT (self, 99));
    free (change->title);
    change->title = cpec_strdup ("Grid station energised at 132 kV");
    free (change->agency);
    change->agency = cpec_strdup ("not taken: not in the mask");
    change->percent_complete = 50;
    const char *mask[] = {"title", "percent_complete", NULL};
    Cpec__V1__Milestone *updated = NULL;
    assert_ok (s_update (self, s_admin, change, 1, mask, &updated, &status), &status);
    assert_int_equal (updated->version, 2);
    assert_string_equal (updated->title, "Grid station energised at 132 kV");
    assert_int_equal (updated->percent_complete, 50);
    assert_string_equal (updated->agency, "NTDC");
    assert_int_equal (cpec_pb_timestamp_ms (updated->planned_due), S_AT (self, 20));
    assert_int_equal (updated->status, S_IN_PROGRESS);
    assert_int_equal (cpec_pb_timestamp_ms (updated->forecast_due), S_AT (self, 20));
    s_destroy (&updated);
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, milestone->id, buf, sizeof (buf), &events),
                         "MilestoneUpdated");
    assert_int_equal (events[0]->milestone_updated->previous_version, 1);
    assert_int_equal (events[0]->milestone_updated->milestone->version, 2);
    cpec_store_events_destroy (&events);
    char topic[256];
    snprintf (topic, sizeof (topic), "MilestoneCreated.PK-KP.%s MilestoneUpdated.PK-KP.%s", zone,
              zone);
    assert_string_equal (s_bus_topics (self, zone, buf, sizeof (buf)), topic);

    //  A stale version: ABORTED, nothing written
    free (mark);
    mark = s_stream_mark (self);
    free (change->title);
    change->title = cpec_strdup ("Stale title");
    assert_status (s_update (self, s_admin, change, 1, mask, NULL, &status), &status, CPEC_ABORTED,
                   "milestone ");
    assert_non_null (strstr (status.message, "version 1"));
    assert_status (s_update (self, s_admin, change, 7, mask, NULL, &status), &status, CPEC_ABORTED,
                   "milestone ");
    Cpec__V1__Milestone *got = s_fetch (self, milestone->id);
    assert_int_equal (got->version, 2);
    assert_string_equal (got->title, "Grid station energised at 132 kV");
    s_destroy (&got);
    assert_string_equal (s_events (self, mark, milestone->id, buf, sizeof (buf), NULL), "");

    //  An empty mask takes every updatable field; an unset kind and status stay
    Cpec__V1__Milestone *whole = s_ms_new (zone, "grid", S_AT (self, 99));
    free (whole->title);
    whole->title = cpec_strdup ("Whole");
    free (whole->title_zh);
    whole->title_zh = cpec_strdup ("");
    assert_ok (s_update (self, s_admin, whole, 2, NULL, &updated, &status), &status);
    assert_string_equal (updated->title, "Whole");
    assert_string_equal (updated->title_zh, "");
    assert_string_equal (updated->title_ur, "");
    assert_int_equal (updated->percent_complete, 0);
    assert_int_equal (updated->kind, CPEC__V1__MILESTONE__KIND__POWER);
    assert_int_equal (updated->status, S_IN_PROGRESS);
    assert_int_equal (cpec_pb_timestamp_ms (updated->planned_due), S_AT (self, 20));
    assert_int_equal (updated->version, 3);
    s_destroy (&updated);

    //  Dates and links are not Update's; COMPLETED is Complete's
    const char *dates[] = {"planned_due", NULL};
    assert_status (s_update (self, s_admin, whole, 3, dates, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "update_mask[0]: ");
    whole->status = S_COMPLETED;
    const char *status_mask[] = {"status", NULL};
    assert_status (s_update (self, s_admin, whole, 3, status_mask, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "status: ");
    assert_status (s_update (self, s_admin, whole, 0, status_mask, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "expected_version: ");

    //  Cancelled: the due timer goes; reopened: it is back
    s_member (member, sizeof (member), "due", milestone->id);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), S_AT (self, 20));
    whole->status = S_CANCELLED;
    assert_ok (s_update (self, s_admin, whole, 3, status_mask, &updated, &status), &status);
    assert_int_equal (updated->status, S_CANCELLED);
    assert_null (updated->forecast_due);
    s_destroy (&updated);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    whole->status = S_IN_PROGRESS;
    assert_ok (s_update (self, s_admin, whole, 4, status_mask, NULL, &status), &status);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), S_AT (self, 20));

    //  Completed stays completed; its texts may still change
    assert_ok (s_complete (self, s_admin, milestone->id, 0, 5, NULL, &status), &status);
    whole->status = S_IN_PROGRESS;
    assert_status (s_update (self, s_admin, whole, 6, status_mask, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "milestone ");
    whole->status = S_BLOCKED;
    assert_status (s_update (self, s_admin, whole, 6, status_mask, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "milestone ");
    const char *title_mask[] = {"title", NULL};
    free (whole->title);
    whole->title = cpec_strdup ("Energised");
    assert_ok (s_update (self, s_admin, whole, 6, title_mask, &updated, &status), &status);
    assert_int_equal (updated->status, S_COMPLETED);
    assert_string_equal (updated->title, "Energised");
    assert_non_null (updated->completed_at);
    s_destroy (&updated);
    whole->status = 0;
    assert_ok (s_update (self, s_admin, whole, 7, NULL, &updated, &status), &status);
    assert_int_equal (updated->status, S_COMPLETED);
    s_destroy (&updated);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);

    //  Unknown milestone
    free (whole->id);
    whole->id = s_zone_id (self, "update-missing");
    assert_status (s_update (self, s_admin, whole, 1, title_mask, NULL, &status), &status,
                   CPEC_NOT_FOUND, "milestone ");

    free (mark);
    free (zone);
    s_destroy (&whole);
    s_destroy (&change);
    s_destroy (&milestone);
}

static void
test_complete (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], a[128], b[128], member[160];
    cpec_status_t status;
    char *zone = s_zone (self, "complete", "PK-SD");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, -1), NULL, 0); //  due a day before base
    s_make (self, zone, "b", S_AT (self, 30), a, 5);
    char *mark = s_stream_mark (self);

    //  In the future, or not a valid time: refused
    assert_status (s_complete (self, s_admin, a, cpec_now_ms () + 3600000, 0, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "completed_at: ");
    assert_status (s_complete (self, s_admin, a, MS_DATE_MIN_MS - S_DAY, 0, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "completed_at: ");
    assert_status (s_complete (self, s_admin, a, 0, 9, NULL, &status), &status, CPEC_ABORTED,
                   "milestone ");
    assert_status (s_complete (self, s_admin, "Bad Id", 0, 0, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "id: ");
    char missing[128];
    assert_status (s_complete (self, s_admin, s_id (missing, sizeof (missing), zone, "missing"), 0,
                               0, NULL, &status),
                   &status, CPEC_NOT_FOUND, "milestone ");

    //  Completed two days before its plan
    Cpec__V1__Milestone *completed = NULL;
    assert_ok (s_complete (self, s_admin, a, S_AT (self, -3), 1, &completed, &status), &status);
    assert_int_equal (completed->status, S_COMPLETED);
    assert_int_equal (completed->percent_complete, 100);
    assert_int_equal (completed->version, 2);
    assert_int_equal (cpec_pb_timestamp_ms (completed->completed_at), S_AT (self, -3));
    assert_int_equal (cpec_pb_timestamp_ms (completed->forecast_due), S_AT (self, -3));
    assert_int_equal (cpec_pb_timestamp_ms (completed->planned_due), S_AT (self, -1));
    assert_false (completed->overdue);
    s_assert_double (completed->slip_days, -2, 1e-9);
    s_destroy (&completed);
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, a, buf, sizeof (buf), &events),
                         "MilestoneCompleted");
    Cpec__V1__MilestoneCompleted *payload = events[0]->milestone_completed;
    s_assert_double (payload->slip_days, -2, 1e-9);
    assert_int_equal (cpec_pb_timestamp_ms (payload->planned_due), S_AT (self, -1));
    assert_int_equal (cpec_pb_timestamp_ms (payload->completed_at), S_AT (self, -3));
    assert_string_equal (payload->title, "Grid station energised");
    cpec_store_events_destroy (&events);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, s_member (member, sizeof (member), "due", a)),
                      -1);
    //  b now waits on a fixed date: day -3 + 5 = day 2, no lead
    Cpec__V1__MilestoneState *b_state = s_state_of (self, b);
    assert_int_equal (b_state->pred_fixed_ms, S_AT (self, 2));
    assert_false (b_state->has_pred_lead);
    s_destroy (&b_state);
    assert_int_equal (s_forecast (self, b), S_AT (self, 30));

    //  Twice: FAILED_PRECONDITION, nothing written
    free (mark);
    mark = s_stream_mark (self);
    assert_status (s_complete (self, s_admin, a, 0, 0, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "milestone ");
    assert_non_null (strstr (status.message, "COMPLETED"));
    assert_string_equal (s_events (self, mark, a, buf, sizeof (buf), NULL), "");

    //  Without a date: now; late by (now - day 30) days, negative here
    int64_t before = cpec_now_ms ();
    assert_ok (s_complete (self, s_admin, b, 0, 0, &completed, &status), &status);
    int64_t after = cpec_now_ms ();
    int64_t at = cpec_pb_timestamp_ms (completed->completed_at);
    assert_true (at >= before - 1000 && at <= after + 1000);
    s_assert_double (completed->slip_days, (double)(at - S_AT (self, 30)) / S_DAY, 1e-6);
    s_destroy (&completed);

    //  A cancelled milestone cannot be completed
    s_make (self, zone, "c", S_AT (self, 9), NULL, 0);
    Cpec__V1__Milestone *cancel = s_ms_new (zone, "c", S_AT (self, 9));
    cancel->status = S_CANCELLED;
    const char *status_mask[] = {"status", NULL};
    assert_ok (s_update (self, s_admin, cancel, 1, status_mask, NULL, &status), &status);
    assert_status (s_complete (self, s_admin, cancel->id, 0, 0, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "milestone ");
    assert_non_null (strstr (status.message, "CANCELLED"));
    s_destroy (&cancel);
    free (mark);
    free (zone);
}

static void
test_replan (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], r[128], member[160];
    cpec_status_t status;
    char *zone = s_zone (self, "replan", "PK-BA");
    s_id (r, sizeof (r), zone, "r");
    s_make (self, zone, "r", S_AT (self, 10), NULL, 0);
    char *mark = s_stream_mark (self);

    assert_status (s_replan (self, s_admin, r, S_AT (self, 20), NULL, 0, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "reason: ");
    assert_status (s_replan (self, s_admin, r, S_AT (self, 10), "the same", 0, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "planned_due: ");
    assert_status (s_replan (self, s_admin, r, 0, "no date", 0, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "planned_due: ");
    assert_status (s_replan (self, s_admin, r, MS_DATE_MAX_MS, "too far", 0, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "planned_due: ");
    assert_status (s_replan (self, s_admin, r, S_AT (self, 20), "stale", 5, NULL, &status), &status,
                   CPEC_ABORTED, "milestone ");
    assert_string_equal (s_events (self, mark, r, buf, sizeof (buf), NULL), "");

    int64_t before = cpec_now_ms ();
    Cpec__V1__Milestone *replanned = NULL;
    assert_ok (s_replan (self, s_admin, r, S_AT (self, 20), "Land dispute", 1, &replanned, &status),
               &status);
    assert_int_equal (replanned->version, 2);
    assert_int_equal (cpec_pb_timestamp_ms (replanned->planned_due), S_AT (self, 20));
    assert_int_equal (cpec_pb_timestamp_ms (replanned->baseline_due), S_AT (self, 10));
    assert_int_equal (cpec_pb_timestamp_ms (replanned->forecast_due), S_AT (self, 20));
    assert_int_equal (replanned->n_history, 1);
    Cpec__V1__Replan *history = replanned->history[0];
    assert_int_equal (cpec_pb_timestamp_ms (history->old_due), S_AT (self, 10));
    assert_int_equal (cpec_pb_timestamp_ms (history->new_due), S_AT (self, 20));
    assert_string_equal (history->reason, "Land dispute");
    assert_string_equal (history->by, "admin@boi");
    assert_true (cpec_pb_timestamp_ms (history->at) >= before - 1000);
    s_destroy (&replanned);
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, r, buf, sizeof (buf), &events),
                         "MilestoneReplanned");
    Cpec__V1__MilestoneReplanned *payload = events[0]->milestone_replanned;
    assert_int_equal (cpec_pb_timestamp_ms (payload->old_due), S_AT (self, 10));
    assert_int_equal (cpec_pb_timestamp_ms (payload->new_due), S_AT (self, 20));
    assert_string_equal (payload->reason, "Land dispute");
    cpec_store_events_destroy (&events);
    //  The due timer moved; the propagation marker is gone (done at once)
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, s_member (member, sizeof (member), "due", r)),
                      S_AT (self, 20));
    snprintf (member, sizeof (member), "prop:%s:2", r);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    assert_int_equal (s_zscore (self, MS_LEASES_KEY, member), -1);

    //  Earlier again: the history grows, oldest first
    assert_ok (s_replan (self, s_admin, r, S_AT (self, 15), "Contractor mobilised", 0, &replanned,
                         &status),
               &status);
    assert_int_equal (replanned->n_history, 2);
    assert_int_equal (cpec_pb_timestamp_ms (replanned->history[0]->new_due), S_AT (self, 20));
    assert_int_equal (cpec_pb_timestamp_ms (replanned->history[1]->old_due), S_AT (self, 20));
    assert_int_equal (cpec_pb_timestamp_ms (replanned->history[1]->new_due), S_AT (self, 15));
    s_destroy (&replanned);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, s_member (member, sizeof (member), "due", r)),
                      S_AT (self, 15));

    //  Closed milestones are not re-planned
    assert_ok (s_complete (self, s_admin, r, 0, 0, NULL, &status), &status);
    assert_status (s_replan (self, s_admin, r, S_AT (self, 25), "too late", 0, NULL, &status),
                   &status, CPEC_FAILED_PRECONDITION, "milestone ");
    free (mark);
    free (zone);
}

//  --------------------------------------------------------------------------
//  Dependencies

static void
test_dependencies (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], a[128], b[128], c[128];
    cpec_status_t status;
    char *zone = s_zone (self, "deps", "PK-KP");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_id (c, sizeof (c), zone, "c");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 30), NULL, 0);
    s_make (self, zone, "c", S_AT (self, 50), NULL, 0);
    char *mark = s_stream_mark (self);

    //  b waits on a (lag 3): in b's predecessors, in a's successors, and b's
    //  state fixed at a's plan + 3
    Cpec__V1__Milestone *answer = NULL;
    assert_ok (s_dependency (self, s_admin, true, b, a, 3, 1, &answer, &status), &status);
    assert_int_equal (answer->version, 2);
    assert_int_equal (answer->n_predecessors, 1);
    assert_string_equal (answer->predecessors[0]->milestone_id, a);
    assert_int_equal (answer->predecessors[0]->lag_days, 3);
    s_destroy (&answer);
    size_t count = 0;
    assert_true (s_has_successor (self, a, b, &count));
    assert_int_equal (count, 1);
    Cpec__V1__MilestoneState *st = s_state_of (self, b);
    assert_int_equal (st->pred_fixed_ms, S_AT (self, 13));
    assert_true (st->has_pred_lead);
    assert_int_equal (st->pred_lead_ms, 3 * S_DAY);
    s_destroy (&st);
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), &events), "MilestoneUpdated");
    assert_int_equal (events[0]->milestone_updated->previous_version, 1);
    cpec_store_events_destroy (&events);

    //  c waits on b; then a on c would close a -> b -> c -> a
    assert_ok (s_dependency (self, s_admin, true, c, b, 0, 0, NULL, &status), &status);
    free (mark);
    mark = s_stream_mark (self);
    assert_status (s_dependency (self, s_admin, true, a, c, 0, 0, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "dependency refused: ");
    char cycle[600];
    snprintf (cycle, sizeof (cycle), "%s -> %s -> %s -> %s", a, b, c, a);
    if (!strstr (status.message, cycle))
        fail_msg ("\"%s\" does not name the cycle %s", status.message, cycle);
    assert_status (s_dependency (self, s_admin, true, a, b, 0, 0, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "dependency refused: ");
    snprintf (cycle, sizeof (cycle), "%s -> %s -> %s", a, b, a);
    if (!strstr (status.message, cycle))
        fail_msg ("\"%s\" does not name the cycle %s", status.message, cycle);
    Cpec__V1__Milestone *got = s_fetch (self, a);
    assert_int_equal (got->version, 1);
    assert_int_equal (got->n_predecessors, 0);
    s_destroy (&got);
    assert_false (s_has_successor (self, c, a, NULL));
    assert_string_equal (s_events (self, mark, a, buf, sizeof (buf), NULL), "");

    //  Itself, an unknown milestone, a lag too long
    assert_status (s_dependency (self, s_admin, true, a, a, 0, 0, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "dependency.milestone_id: ");
    char missing[128];
    s_id (missing, sizeof (missing), zone, "missing");
    assert_status (s_dependency (self, s_admin, true, a, missing, 0, 0, NULL, &status), &status,
                   CPEC_INVALID_ARGUMENT, "dependency.milestone_id: ");
    assert_status (s_dependency (self, s_admin, true, missing, a, 0, 0, NULL, &status), &status,
                   CPEC_NOT_FOUND, "milestone ");
    assert_status (s_dependency (self, s_admin, true, c, a, MS_LAG_MAX_DAYS + 1, 0, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "dependency.lag_days: ");
    assert_status (s_dependency (self, s_admin, true, c, a, 0, 1, NULL, &status), &status,
                   CPEC_ABORTED, "milestone ");
    assert_int_equal (s_dependency (self, s_viewer, true, c, a, 0, 0, NULL, &status),
                      CPEC_PERMISSION_DENIED);

    //  A new lag for an existing dependency: changed in place
    assert_ok (s_dependency (self, s_admin, true, b, a, 7, 0, &answer, &status), &status);
    assert_int_equal (answer->n_predecessors, 1);
    assert_int_equal (answer->predecessors[0]->lag_days, 7);
    s_destroy (&answer);
    assert_true (s_has_successor (self, a, b, &count));
    assert_int_equal (count, 1);
    st = s_state_of (self, b);
    assert_int_equal (st->pred_fixed_ms, S_AT (self, 17));
    assert_int_equal (st->pred_lead_ms, 7 * S_DAY);
    s_destroy (&st);
    //  The same again: ALREADY_EXISTS
    assert_status (s_dependency (self, s_admin, true, b, a, 7, 0, NULL, &status), &status,
                   CPEC_ALREADY_EXISTS, "");
    assert_non_null (strstr (status.message, a));

    //  RemoveDependency: c no longer waits on b
    assert_ok (s_dependency (self, s_admin, false, c, b, 0, 0, &answer, &status), &status);
    assert_int_equal (answer->n_predecessors, 0);
    s_destroy (&answer);
    assert_false (s_has_successor (self, b, c, NULL));
    st = s_state_of (self, c);
    assert_int_equal (st->pred_fixed_ms, 0);
    assert_false (st->has_pred_lead);
    s_destroy (&st);
    assert_status (s_dependency (self, s_admin, false, c, b, 0, 0, NULL, &status), &status,
                   CPEC_NOT_FOUND, "");
    assert_int_equal (s_dependency (self, s_viewer, false, b, a, 0, 0, NULL, &status),
                      CPEC_PERMISSION_DENIED);
    //  ... so that a may now wait on c
    assert_ok (s_dependency (self, s_admin, true, a, c, 0, 0, NULL, &status), &status);
    //  ... and c on nothing new: c -> a -> b would now be a cycle
    assert_status (s_dependency (self, s_admin, true, c, b, 0, 0, NULL, &status), &status,
                   CPEC_FAILED_PRECONDITION, "dependency refused: ");
    snprintf (cycle, sizeof (cycle), "%s -> %s -> %s -> %s", c, a, b, c);
    if (!strstr (status.message, cycle))
        fail_msg ("\"%s\" does not name the cycle %s", status.message, cycle);
    free (mark);
    free (zone);
}

//  --------------------------------------------------------------------------
//  Forecasts through the graph

//  A chain a -> b -> c (lag 0): forecasts flow downstream after each
//  re-plan and completion; MilestoneAtRisk when a milestone is pushed past
//  its plan, MilestoneBackOnTrack when it no longer is, each once.
static void
test_propagation_chain (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], a[128], b[128], c[128];
    cpec_status_t status;
    char *zone = s_zone (self, "chain", "PK-PB");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_id (c, sizeof (c), zone, "c");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 20), a, 0);
    s_make (self, zone, "c", S_AT (self, 30), b, 0);
    char *mark = s_stream_mark (self);
    assert_int_equal (s_forecast (self, c), S_AT (self, 30));

    //  a to day 25: b pushed to 25 (at risk), c still 30
    s_move (self, a, S_AT (self, 25));
    assert_int_equal (s_forecast (self, b), S_AT (self, 25));
    assert_true (s_at_risk (self, b));
    assert_int_equal (s_forecast (self, c), S_AT (self, 30));
    assert_false (s_at_risk (self, c));
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), &events), "MilestoneAtRisk");
    assert_int_equal (cpec_pb_timestamp_ms (events[0]->milestone_at_risk->planned_due),
                      S_AT (self, 20));
    assert_int_equal (cpec_pb_timestamp_ms (events[0]->milestone_at_risk->forecast_due),
                      S_AT (self, 25));
    assert_string_equal (events[0]->milestone_at_risk->agency, "NTDC");
    assert_string_equal (events[0]->zone_id, zone);
    assert_string_equal (events[0]->province, "PK-PB");
    cpec_store_events_destroy (&events);
    assert_string_equal (s_events (self, mark, c, buf, sizeof (buf), NULL), "");
    Cpec__V1__MilestoneState *st = s_state_of (self, b);
    assert_true (st->at_risk);
    s_destroy (&st);

    //  a to day 40: b 40, c 40 (now at risk too); b is not announced again
    s_move (self, a, S_AT (self, 40));
    assert_int_equal (s_forecast (self, b), S_AT (self, 40));
    assert_int_equal (s_forecast (self, c), S_AT (self, 40));
    assert_true (s_at_risk (self, c));
    assert_int_equal (s_count (self, mark, b, "MilestoneAtRisk"), 1);
    assert_string_equal (s_events (self, mark, c, buf, sizeof (buf), NULL), "MilestoneAtRisk");

    //  b re-planned to day 45: back on track; c pushed to 45
    s_move (self, b, S_AT (self, 45));
    assert_false (s_at_risk (self, b));
    assert_int_equal (s_forecast (self, b), S_AT (self, 45));
    assert_int_equal (s_forecast (self, c), S_AT (self, 45));
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), &events),
                         "MilestoneAtRisk MilestoneReplanned MilestoneBackOnTrack");
    assert_int_equal (cpec_pb_timestamp_ms (events[2]->milestone_back_on_track->forecast_due),
                      S_AT (self, 45));
    cpec_store_events_destroy (&events);

    //  a completed (3 days before base, in the past): c still waits on b's
    //  plan, 45
    assert_ok (s_complete (self, s_admin, a, S_AT (self, -3), 0, NULL, &status), &status);
    st = s_state_of (self, b);
    assert_int_equal (st->pred_fixed_ms, S_AT (self, -3));
    assert_false (st->has_pred_lead);
    s_destroy (&st);
    assert_int_equal (s_forecast (self, b), S_AT (self, 45));
    assert_int_equal (s_forecast (self, c), S_AT (self, 45));
    assert_true (s_at_risk (self, c));

    //  b completed on day -2: c back to its own plan, back on track
    assert_ok (s_complete (self, s_admin, b, S_AT (self, -2), 0, NULL, &status), &status);
    assert_int_equal (s_forecast (self, c), S_AT (self, 30));
    assert_false (s_at_risk (self, c));
    assert_string_equal (s_events (self, mark, c, buf, sizeof (buf), NULL),
                         "MilestoneAtRisk MilestoneBackOnTrack");
    //  b was announced back on track once, and completing it raised nothing
    assert_int_equal (s_count (self, mark, b, "MilestoneBackOnTrack"), 1);
    st = s_state_of (self, b);
    assert_false (st->at_risk);
    s_destroy (&st);
    free (mark);
    free (zone);
}

//  A diamond s -> l (lag 4), s -> r (lag 12), l -> f (lag 2), r -> f (lag
//  5), f the zone's commercial operation; and the zone's schedule.
static void
test_propagation_diamond (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], s[128], l[128], r[128], f[128], y[128];
    cpec_status_t status;
    char *zone = s_zone (self, "diamond", "PK-SD");
    char *other = s_zone (self, "diamond-other", "PK-BA");
    s_id (s, sizeof (s), zone, "s");
    s_id (l, sizeof (l), zone, "l");
    s_id (r, sizeof (r), zone, "r");
    s_id (f, sizeof (f), zone, "f");
    s_id (y, sizeof (y), other, "y");
    s_make (self, zone, "s", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "l", S_AT (self, 20), s, 4);
    s_make (self, zone, "r", S_AT (self, 25), s, 12);
    Cpec__V1__Milestone *finish = s_ms_new (zone, "f", S_AT (self, 30));
    finish->kind = CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION;
    s_add_pred (finish, l, 2);
    s_add_pred (finish, r, 5);
    assert_ok (s_create (self, s_admin, finish, NULL, &status), &status);
    s_destroy (&finish);
    //  A milestone of another zone waiting on s (lag 45: fixed at day 55, its
    //  plan is 60): not in this zone's schedule, but downstream all the same
    s_make (self, other, "y", S_AT (self, 60), s, 45);
    char *mark = s_stream_mark (self);
    //  f: max (20 + 2, 25 + 5) = 30, its plan
    assert_int_equal (s_forecast (self, f), S_AT (self, 30));
    assert_false (s_at_risk (self, f));

    //  s slips to day 16: l max (20, 20) = 20; r 28 (at risk); f max (22, 33) = 33
    s_move (self, s, S_AT (self, 16));
    assert_int_equal (s_forecast (self, l), S_AT (self, 20));
    assert_int_equal (s_forecast (self, r), S_AT (self, 28));
    assert_int_equal (s_forecast (self, f), S_AT (self, 33));
    assert_int_equal (s_forecast (self, y), S_AT (self, 61)); //  16 + 45
    assert_true (s_at_risk (self, y));
    assert_string_equal (s_events (self, mark, y, buf, sizeof (buf), NULL), "MilestoneAtRisk");
    assert_false (s_at_risk (self, l));
    assert_true (s_at_risk (self, r));
    assert_true (s_at_risk (self, f));
    assert_string_equal (s_events (self, mark, r, buf, sizeof (buf), NULL), "MilestoneAtRisk");
    assert_string_equal (s_events (self, mark, f, buf, sizeof (buf), NULL), "MilestoneAtRisk");
    assert_string_equal (s_events (self, mark, l, buf, sizeof (buf), NULL), "");

    //  The zone's schedule: by forecast s 16, l 20, r 28, f 33. Latest
    //  finish: f 33, l 31 (slack 11), r 28 (0), s min (27, 16) = 16 (0).
    Cpec__V1__ZoneScheduleRequest request = CPEC__V1__ZONE_SCHEDULE_REQUEST__INIT;
    request.zone_id = zone;
    Cpec__V1__ZoneScheduleResponse *schedule = NULL;
    assert_ok (s_call (self, ms_zone_schedule, "ZoneSchedule", s_viewer, &request.base,
                       &cpec__v1__zone_schedule_response__descriptor,
                       (ProtobufCMessage **)&schedule, &status),
               &status);
    assert_string_equal (schedule->zone_id, zone);
    assert_string_equal (schedule->finish_milestone_id, f);
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_AT (self, 33));
    assert_int_equal (schedule->n_entries, 4);
    const char *order[] = {s, l, r, f};
    const double slack[] = {0, 11, 0, 0};
    const bool critical[] = {true, false, true, true};
    for (size_t i = 0; i < 4; i++) {
        Cpec__V1__ScheduleEntry *entry = schedule->entries[i];
        assert_string_equal (entry->milestone->id, order[i]);
        s_assert_double (entry->slack_days, slack[i], 1e-9);
        if (entry->critical != critical[i])
            fail_msg ("%s: critical %d, wanted %d", order[i], entry->critical, critical[i]);
    }
    assert_int_equal (cpec_pb_timestamp_ms (schedule->entries[3]->milestone->forecast_due),
                      S_AT (self, 33));
    assert_true (schedule->entries[2]->milestone->at_risk);
    s_destroy (&schedule);

    //  s completed before base: r 25, f 30, both back on track
    assert_ok (s_complete (self, s_admin, s, S_AT (self, -2), 0, NULL, &status), &status);
    assert_int_equal (s_forecast (self, r), S_AT (self, 25));
    assert_int_equal (s_forecast (self, f), S_AT (self, 30));
    assert_false (s_at_risk (self, r));
    assert_false (s_at_risk (self, f));
    assert_string_equal (s_events (self, mark, r, buf, sizeof (buf), NULL),
                         "MilestoneAtRisk MilestoneBackOnTrack");
    assert_string_equal (s_events (self, mark, f, buf, sizeof (buf), NULL),
                         "MilestoneAtRisk MilestoneBackOnTrack");
    assert_int_equal (s_forecast (self, y), S_AT (self, 60)); //  -2 + 45 = 43
    assert_string_equal (s_events (self, mark, y, buf, sizeof (buf), NULL),
                         "MilestoneAtRisk MilestoneBackOnTrack");

    //  Unknown and malformed zones
    char *nowhere = s_zone_id (self, "nowhere");
    request.zone_id = nowhere;
    assert_status (s_call (self, ms_zone_schedule, "ZoneSchedule", s_viewer, &request.base,
                           &cpec__v1__zone_schedule_response__descriptor, NULL, &status),
                   &status, CPEC_NOT_FOUND, "zone_id: ");
    request.zone_id = "Not A Zone";
    assert_status (s_call (self, ms_zone_schedule, "ZoneSchedule", s_viewer, &request.base,
                           &cpec__v1__zone_schedule_response__descriptor, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "zone_id: ");
    free (nowhere);
    free (mark);
    free (other);
    free (zone);
}

//  Born at risk; a cancelled predecessor no longer counts; reopened it does
//  again; completing a milestone at risk ends its flag without an event.
static void
test_propagation_cancel (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], a[128], b[128];
    cpec_status_t status;
    char *zone = s_zone (self, "cancel", "PK-GB");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, 40), NULL, 0);
    char *mark = s_stream_mark (self);
    Cpec__V1__Milestone *created = NULL;
    Cpec__V1__Milestone *milestone = s_ms_new (zone, "b", S_AT (self, 20));
    s_add_pred (milestone, a, 2);
    assert_ok (s_create (self, s_admin, milestone, &created, &status), &status);
    s_destroy (&milestone);
    assert_true (created->at_risk);
    assert_int_equal (cpec_pb_timestamp_ms (created->forecast_due), S_AT (self, 42));
    s_assert_double (created->slip_days, 22, 1e-9);
    s_destroy (&created);
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), &events),
                         "MilestoneCreated MilestoneAtRisk");
    assert_int_equal (cpec_pb_timestamp_ms (events[1]->milestone_at_risk->forecast_due),
                      S_AT (self, 42));
    cpec_store_events_destroy (&events);
    Cpec__V1__MilestoneState *st = s_state_of (self, b);
    assert_true (st->at_risk);
    s_destroy (&st);

    //  a cancelled: b back to its plan
    Cpec__V1__Milestone *change = s_ms_new (zone, "a", S_AT (self, 40));
    change->status = S_CANCELLED;
    const char *mask[] = {"status", NULL};
    assert_ok (s_update (self, s_admin, change, 1, mask, NULL, &status), &status);
    assert_false (s_at_risk (self, b));
    assert_int_equal (s_forecast (self, b), S_AT (self, 20));
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), NULL),
                         "MilestoneCreated MilestoneAtRisk MilestoneBackOnTrack");
    //  reopened: at risk again
    change->status = S_IN_PROGRESS;
    assert_ok (s_update (self, s_admin, change, 2, mask, NULL, &status), &status);
    assert_true (s_at_risk (self, b));
    assert_int_equal (s_forecast (self, b), S_AT (self, 42));
    assert_int_equal (s_count (self, mark, b, "MilestoneAtRisk"), 2);
    //  b completed while at risk: the flag ends with it, no event for it
    assert_ok (s_complete (self, s_admin, b, 0, 0, NULL, &status), &status);
    assert_false (s_at_risk (self, b));
    st = s_state_of (self, b);
    assert_false (st->at_risk);
    s_destroy (&st);
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), NULL),
                         "MilestoneCreated MilestoneAtRisk MilestoneBackOnTrack "
                         "MilestoneAtRisk MilestoneCompleted");
    s_destroy (&change);
    free (mark);
    free (zone);
}

//  --------------------------------------------------------------------------
//  Timers

//  A replica that wrote a change and died before propagating it leaves its
//  prop:{id}:{version} timer: the timers finish the propagation.
static void
test_timers_propagation (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char a[128], b[128], member[160];
    char *zone = s_zone (self, "prop", "PK-IS");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 20), a, 3);
    //  b's state as if a's last change had not reached it
    Cpec__V1__MilestoneState *st = s_state_of (self, b);
    assert_int_equal (st->pred_fixed_ms, S_AT (self, 13));
    uint32_t version = st->version;
    st->pred_fixed_ms = S_AT (self, 1);
    st->has_pred_lead = false;
    st->version = version + 1;
    char key[160], request_id[48] = "test-";
    ms_state_key (key, sizeof (key), b);
    cpec_uuid (request_id + 5);
    cpec_store_put_t put = {.key = key, .expected_version = version, .message = &st->base};
    cpec_store_write_t write = {
        .request_id = request_id, .puts = &put, .put_count = 1, .answer = &st->base};
    cpec_status_t status;
    assert_ok (cpec_store_write (self->env.store, &write, NULL, NULL, NULL, &status), &status);
    s_destroy (&st);
    snprintf (member, sizeof (member), "prop:%s:7", a);
    int64_t now = cpec_now_ms ();
    s_redis_zadd (self, MS_TIMERS_KEY, now - 1, member); //  due strictly before now
    int64_t wake = ms_timers_run (&self->ms, now);
    assert_true (wake >= now && wake <= now + MS_POLL_MS);
    s_timers (&self->ms, now);
    st = s_state_of (self, b);
    assert_int_equal (st->pred_fixed_ms, S_AT (self, 13));
    assert_true (st->has_pred_lead);
    assert_int_equal (st->pred_lead_ms, 3 * S_DAY);
    assert_int_equal (st->version, version + 2);
    s_destroy (&st);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    assert_int_equal (s_zscore (self, MS_LEASES_KEY, member), -1);
    free (zone);
}

//  A milestone past its planned due: one MilestoneDelayed however many
//  times and from however many replicas the timers run; a re-plan to
//  another past date: a second one.
static void
test_timers_delayed (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], m[128], n[128], n2[128], member[160];
    cpec_status_t status;
    char *zone = s_zone (self, "delayed", "PK-KP");
    s_id (m, sizeof (m), zone, "m");
    s_id (n, sizeof (n), zone, "n");
    s_id (n2, sizeof (n2), zone, "n2");
    int64_t now = cpec_now_ms ();
    int64_t due = now - 2 * S_DAY - 3600000; //  2 days and an hour ago
    Cpec__V1__Milestone *milestone = s_ms_new (zone, "m", due);
    free (milestone->agency);
    milestone->agency = cpec_strdup ("SNGPL");
    assert_ok (s_create (self, s_admin, milestone, NULL, &status), &status);
    s_destroy (&milestone);
    s_make (self, zone, "n", S_AT (self, 30), m, 0);
    s_make (self, zone, "n2", S_AT (self, 60), n, 0);
    s_member (member, sizeof (member), "due", m);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), due);
    char *mark = s_stream_mark (self);

    //  Two replicas, each its own store
    cpec_store_t *store2 = cpec_store_new (self->env.url);
    ms_store_setup (store2);
    ms_t replica1 = {.store = self->env.store, .bus = self->env.bus};
    ms_t replica2 = {.store = store2};
    now = cpec_now_ms ();
    s_timers (&replica1, now);
    s_timers (&replica2, now);
    s_timers (&replica1, now);
    s_timers (&replica2, cpec_now_ms ());
    Cpec__V1__Event **events = NULL;
    assert_string_equal (s_events (self, mark, m, buf, sizeof (buf), &events), "MilestoneDelayed");
    Cpec__V1__MilestoneDelayed *delayed = events[0]->milestone_delayed;
    assert_int_equal (delayed->days_late, 2);
    assert_string_equal (delayed->zone_id, zone);
    assert_string_equal (delayed->province, "PK-KP");
    assert_string_equal (delayed->agency, "SNGPL");
    assert_string_equal (delayed->title, "Grid station energised");
    assert_int_equal (cpec_pb_timestamp_ms (delayed->planned_due), due);
    assert_int_equal (delayed->n_downstream, 2);
    bool has_n = false, has_n2 = false;
    for (size_t i = 0; i < delayed->n_downstream; i++) {
        has_n = has_n || strcmp (delayed->downstream[i], n) == 0;
        has_n2 = has_n2 || strcmp (delayed->downstream[i], n2) == 0;
    }
    assert_true (has_n && has_n2);
    assert_string_equal (events[0]->actor, MS_ACTOR);
    cpec_store_events_destroy (&events);
    Cpec__V1__MilestoneState *st = s_state_of (self, m);
    assert_int_equal (st->delayed_due_ms, due);
    s_destroy (&st);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    assert_int_equal (s_zscore (self, MS_LEASES_KEY, member), -1);
    Cpec__V1__Milestone *got = s_fetch (self, m);
    assert_true (got->overdue);
    s_destroy (&got);

    //  The member back in both sets, its lease expired (a replica that
    //  stalled): worked again, nothing announced again, both gone
    s_redis_zadd (self, MS_TIMERS_KEY, due, member);
    s_redis_zadd (self, MS_LEASES_KEY, now - 1, member);
    s_timers (&replica2, cpec_now_ms ());
    assert_int_equal (s_count (self, mark, m, "MilestoneDelayed"), 1);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    assert_int_equal (s_zscore (self, MS_LEASES_KEY, member), -1);

    //  Re-planned to another past date: delayed again, once
    int64_t due2 = now - S_DAY - 3600000;
    s_move (self, m, due2);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), due2);
    s_timers (&replica2, cpec_now_ms ());
    s_timers (&replica1, cpec_now_ms ());
    assert_string_equal (s_events (self, mark, m, buf, sizeof (buf), &events),
                         "MilestoneDelayed MilestoneReplanned MilestoneDelayed");
    assert_int_equal (events[2]->milestone_delayed->days_late, 1);
    assert_int_equal (cpec_pb_timestamp_ms (events[2]->milestone_delayed->planned_due), due2);
    cpec_store_events_destroy (&events);

    //  Re-planned into the future, then completed: nothing more
    s_move (self, m, S_AT (self, 5));
    s_timers (&replica1, cpec_now_ms ());
    assert_int_equal (s_count (self, mark, m, "MilestoneDelayed"), 2);
    assert_ok (s_complete (self, s_admin, m, 0, 0, NULL, &status), &status);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);

    //  A replica that claimed a due milestone and died: the lease expires
    //  and another announces it
    char p[128], p_member[160];
    s_id (p, sizeof (p), zone, "p");
    s_make (self, zone, "p", now - 5 * S_DAY, NULL, 0);
    s_member (p_member, sizeof (p_member), "due", p);
    redisReply *reply = redisCommand (self->env.redis, "ZREM %s %s", MS_TIMERS_KEY, p_member);
    freeReplyObject (reply);
    s_redis_zadd (self, MS_LEASES_KEY, cpec_now_ms () + 60000, p_member);
    s_timers (&replica1, cpec_now_ms ()); //  leased to the dead one: not yet
    assert_int_equal (s_count (self, mark, p, "MilestoneDelayed"), 0);
    s_timers (&replica1, cpec_now_ms () + 61000);
    assert_int_equal (s_count (self, mark, p, "MilestoneDelayed"), 1);
    assert_int_equal (s_zscore (self, MS_LEASES_KEY, p_member), -1);
    cpec_store_destroy (&store2);
    free (mark);
    free (zone);
}

typedef struct
{
    const char *url;
    int64_t now;
} s_replica_t;

static void *
s_replica (void *arg)
{
    s_replica_t *replica = (s_replica_t *)arg;
    cpec_store_t *store = cpec_store_new (replica->url);
    ms_store_setup (store);
    ms_t ms = {.store = store};
    for (int i = 0; i < 20; i++)
        ms_timers_run (&ms, replica->now);
    cpec_store_destroy (&store);
    return NULL;
}

//  Four replicas working the timers at once: each late milestone announced
//  exactly once.
static void
test_timers_replicas (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char id[128];
    char *zone = s_zone (self, "replicas", "PK-SD");
    const size_t late = 12;
    int64_t now = cpec_now_ms ();
    for (size_t i = 0; i < late; i++) {
        char suffix[16];
        snprintf (suffix, sizeof (suffix), "m%zu", i);
        s_make (self, zone, suffix, now - (int64_t)(i + 1) * S_DAY, NULL, 0);
    }
    char *mark = s_stream_mark (self);
    s_replica_t replica = {.url = self->env.url, .now = cpec_now_ms ()};
    pthread_t threads[4];
    for (size_t t = 0; t < 4; t++)
        assert_int_equal (pthread_create (&threads[t], NULL, s_replica, &replica), 0);
    for (size_t t = 0; t < 4; t++)
        pthread_join (threads[t], NULL);
    for (size_t i = 0; i < late; i++) {
        char suffix[16];
        snprintf (suffix, sizeof (suffix), "m%zu", i);
        s_id (id, sizeof (id), zone, suffix);
        size_t count = s_count (self, mark, id, "MilestoneDelayed");
        if (count != 1)
            fail_msg ("%s: %zu MilestoneDelayed, wanted 1", id, count);
    }
    free (mark);
    free (zone);
}

//  An open predecessor pushes its successor past its plan as days pass:
//  the risk timer announces it when it happens.
static void
test_timers_risk (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], a[128], b[128], member[160];
    char *zone = s_zone (self, "risk", "PK-BA");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    //  a due in 3 s; b a day (its lag) and 4 s from now. While a is open its
    //  forecast is today, so b's is today + 1 day: past b's plan from 4 s on.
    int64_t t0 = cpec_now_ms ();
    s_make (self, zone, "a", t0 + 3000, NULL, 0);
    s_make (self, zone, "b", t0 + S_DAY + 4000, a, 1);
    char *mark = s_stream_mark (self);
    assert_false (s_at_risk (self, b));
    s_member (member, sizeof (member), "risk", b);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), t0 + 4001);
    s_timers (&self->ms, cpec_now_ms ()); //  not yet
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), NULL), "");
    while (cpec_now_ms () < t0 + 4100)
        zclock_sleep (50);
    s_timers (&self->ms, cpec_now_ms ());
    assert_string_equal (s_events (self, mark, b, buf, sizeof (buf), NULL), "MilestoneAtRisk");
    assert_string_equal (s_events (self, mark, a, buf, sizeof (buf), NULL), "MilestoneDelayed");
    assert_true (s_at_risk (self, b));
    Cpec__V1__MilestoneState *st = s_state_of (self, b);
    assert_true (st->at_risk);
    s_destroy (&st);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    //  b re-planned a week later: back on track, its risk timer re-set
    int64_t planned = t0 + 8 * S_DAY;
    s_move (self, b, planned);
    assert_false (s_at_risk (self, b));
    assert_int_equal (s_count (self, mark, b, "MilestoneBackOnTrack"), 1);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), planned - S_DAY + 1);
    free (mark);
    free (zone);
}

//  --------------------------------------------------------------------------
//  Portfolio

static const Cpec__V1__PortfolioLine *
s_zone_line (const Cpec__V1__PortfolioResponse *portfolio, const char *zone)
{
    for (size_t i = 0; i < portfolio->n_zones; i++)
        if (strcmp (portfolio->zones[i]->zone_id, zone) == 0)
            return portfolio->zones[i];
    fail_msg ("no line for zone %s", zone);
    return NULL;
}

static void
test_portfolio (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char id[128];
    cpec_status_t status;
    char *zone = s_zone (self, "portfolio", "PK-BA");
    //  on time (re-planned 2 days after its baseline): slip 0, variance 2
    s_make (self, zone, "on-time", S_AT (self, 10), NULL, 0);
    s_move (self, s_id (id, sizeof (id), zone, "on-time"), S_AT (self, 12));
    //  on time, and pushing the next one: slip 0, variance 0
    s_make (self, zone, "pusher", S_AT (self, 30), NULL, 0);
    //  at risk: planned day 20, pushed to 30: slip 10, variance 10
    s_make (self, zone, "pushed", S_AT (self, 20), s_id (id, sizeof (id), zone, "pusher"), 0);
    //  delayed: due 5 days before base, forecast now: slip and variance
    //  (now - due) in days, between 3 and 5
    s_make (self, zone, "late", S_AT (self, -5), NULL, 0);
    //  completed 2 days late: slip 2, variance 2
    Cpec__V1__Milestone *done = s_ms_new (zone, "done", S_AT (self, -10));
    done->status = S_COMPLETED;
    done->completed_at = cpec_pb_timestamp_new (S_AT (self, -8));
    assert_ok (s_create (self, s_admin, done, NULL, &status), &status);
    s_destroy (&done);
    //  cancelled
    s_make (self, zone, "dropped", S_AT (self, 15), NULL, 0);
    Cpec__V1__Milestone *dropped = s_ms_new (zone, "dropped", S_AT (self, 15));
    dropped->status = S_CANCELLED;
    const char *mask[] = {"status", NULL};
    assert_ok (s_update (self, s_admin, dropped, 1, mask, NULL, &status), &status);
    s_destroy (&dropped);

    Cpec__V1__PortfolioRequest request = CPEC__V1__PORTFOLIO_REQUEST__INIT;
    request.province = "PK-BA";
    Cpec__V1__PortfolioResponse *portfolio = NULL;
    assert_ok (s_call (self, ms_portfolio, "Portfolio", s_viewer, &request.base,
                       &cpec__v1__portfolio_response__descriptor, (ProtobufCMessage **)&portfolio,
                       &status),
               &status);
    int64_t now = cpec_pb_timestamp_ms (portfolio->as_of);
    assert_true (llabs (now - cpec_now_ms ()) < 60000);
    double late = (double)(now - S_AT (self, -5)) / S_DAY;
    const Cpec__V1__PortfolioLine *line = s_zone_line (portfolio, zone);
    assert_string_equal (line->province, "PK-BA");
    assert_int_equal (line->total, 6);
    assert_int_equal (line->on_time, 2);
    assert_int_equal (line->at_risk, 1);
    assert_int_equal (line->delayed, 1);
    assert_int_equal (line->completed, 1);
    assert_int_equal (line->cancelled, 1);
    //  Slips 10, late, 2; variances 2, 0, 10, late, 2 (over 5)
    s_assert_double (line->mean_slip_days, (10 + late + 2) / 3, 1e-3);
    s_assert_double (line->worst_slip_days, 10, 1e-9);
    s_assert_double (line->mean_variance_days, (2 + 0 + 10 + late + 2) / 5, 1e-3);
    s_assert_double (line->worst_variance_days, 10, 1e-9);

    //  One province line, the sum of its zones; the total is that line
    assert_int_equal (portfolio->n_provinces, 1);
    const Cpec__V1__PortfolioLine *province = portfolio->provinces[0];
    assert_string_equal (province->province, "PK-BA");
    assert_string_equal (province->zone_id, "");
    uint32_t total = 0, completed = 0, cancelled = 0;
    for (size_t i = 0; i < portfolio->n_zones; i++) {
        assert_string_equal (portfolio->zones[i]->province, "PK-BA");
        if (i)
            assert_true (strcmp (portfolio->zones[i - 1]->zone_id, portfolio->zones[i]->zone_id) <
                         0);
        total += portfolio->zones[i]->total;
        completed += portfolio->zones[i]->completed;
        cancelled += portfolio->zones[i]->cancelled;
    }
    assert_int_equal (province->total, total);
    assert_int_equal (province->completed, completed);
    assert_int_equal (province->cancelled, cancelled);
    assert_int_equal (portfolio->total->total, total);
    assert_int_equal (portfolio->total->on_time, province->on_time);
    s_assert_double (portfolio->total->mean_variance_days, province->mean_variance_days, 1e-9);
    s_destroy (&portfolio);

    //  Every province: the zone's line is the same, the total holds it
    request.province = "";
    assert_ok (s_call (self, ms_portfolio, "Portfolio", s_viewer, &request.base,
                       &cpec__v1__portfolio_response__descriptor, (ProtobufCMessage **)&portfolio,
                       &status),
               &status);
    line = s_zone_line (portfolio, zone);
    assert_int_equal (line->total, 6);
    assert_int_equal (line->at_risk, 1);
    assert_true (portfolio->total->total >= 6);
    total = 0;
    for (size_t i = 0; i < portfolio->n_provinces; i++)
        total += portfolio->provinces[i]->total;
    assert_int_equal (portfolio->total->total, total);
    s_destroy (&portfolio);

    //  A province nobody has: empty; a malformed one: INVALID_ARGUMENT
    request.province = "PK-XX";
    assert_ok (s_call (self, ms_portfolio, "Portfolio", s_viewer, &request.base,
                       &cpec__v1__portfolio_response__descriptor, (ProtobufCMessage **)&portfolio,
                       &status),
               &status);
    assert_int_equal (portfolio->n_zones, 0);
    assert_int_equal (portfolio->total->total, 0);
    s_destroy (&portfolio);
    request.province = "PK-BALOCHISTAN";
    assert_status (s_call (self, ms_portfolio, "Portfolio", s_viewer, &request.base,
                           &cpec__v1__portfolio_response__descriptor, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "province: ");
    free (zone);
}

//  --------------------------------------------------------------------------
//  Retries: a write retried with the same request id (the client's Lazy
//  Pirate retry after a lost reply) answers the first answer and writes
//  nothing again, whatever the milestone looks like by then.

//  Calls twice with one request id; returns the second code and fills the
//  two answers.
typedef int (s_twice_fn) (s_fixture_t *self, s_caller_t caller, const char *id, const char *other,
                          Cpec__V1__Milestone **answer, cpec_status_t *status);

static void
s_retry (s_fixture_t *self, const char *name, s_twice_fn *fn, const char *type)
{
    char uuid[37], zone_name[32], a[128], b[128];
    cpec_status_t status;
    snprintf (zone_name, sizeof (zone_name), "retry-%s", name);
    char *zone = s_zone (self, zone_name, "PK-GB");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 20), a, 1);
    char *mark = s_stream_mark (self);
    cpec_uuid (uuid);
    s_caller_t once = {S_ADMIN, "", uuid};
    Cpec__V1__Milestone *first = NULL, *second = NULL;
    assert_ok (fn (self, once, b, a, &first, &status), &status);
    int rc = fn (self, once, b, a, &second, &status);
    if (rc != CPEC_OK)
        fail_msg ("%s retried with the same request id: %s \"%s\", wanted the first answer", name,
                  cpec_code_name (rc), status.message);
    assert_int_equal (second->version, first->version);
    assert_int_equal (s_count (self, mark, b, type), 1);
    Cpec__V1__Milestone *got = s_fetch (self, b);
    assert_int_equal (got->version, first->version);
    s_destroy (&got);
    s_destroy (&first);
    s_destroy (&second);
    free (mark);
    free (zone);
}

static int
s_twice_update (s_fixture_t *self, s_caller_t caller, const char *id, const char *other,
                Cpec__V1__Milestone **answer, cpec_status_t *status)
{
    (void)other;
    Cpec__V1__Milestone *change =
        (Cpec__V1__Milestone *)cpec_pb_new (&cpec__v1__milestone__descriptor);
    change->id = cpec_strdup (id);
    change->title = cpec_strdup ("Retitled");
    const char *mask[] = {"title", NULL};
    int rc = s_update (self, caller, change, 1, mask, answer, status);
    s_destroy (&change);
    return rc;
}

static int
s_twice_complete (s_fixture_t *self, s_caller_t caller, const char *id, const char *other,
                  Cpec__V1__Milestone **answer, cpec_status_t *status)
{
    (void)other;
    return s_complete (self, caller, id, 0, 0, answer, status);
}

static int
s_twice_replan (s_fixture_t *self, s_caller_t caller, const char *id, const char *other,
                Cpec__V1__Milestone **answer, cpec_status_t *status)
{
    (void)other;
    return s_replan (self, caller, id, self->base + 25 * S_DAY, "retried", 0, answer, status);
}

static int
s_twice_add (s_fixture_t *self, s_caller_t caller, const char *id, const char *other,
             Cpec__V1__Milestone **answer, cpec_status_t *status)
{
    return s_dependency (self, caller, true, id, other, 4, 0, answer, status);
}

static int
s_twice_remove (s_fixture_t *self, s_caller_t caller, const char *id, const char *other,
                Cpec__V1__Milestone **answer, cpec_status_t *status)
{
    return s_dependency (self, caller, false, id, other, 0, 0, answer, status);
}

static void
test_retry_update (void **state)
{
    s_retry ((s_fixture_t *)*state, "update", s_twice_update, "MilestoneUpdated");
}

static void
test_retry_complete (void **state)
{
    s_retry ((s_fixture_t *)*state, "complete", s_twice_complete, "MilestoneCompleted");
}

static void
test_retry_replan (void **state)
{
    s_retry ((s_fixture_t *)*state, "replan", s_twice_replan, "MilestoneReplanned");
}

static void
test_retry_add_dependency (void **state)
{
    s_retry ((s_fixture_t *)*state, "add", s_twice_add, "MilestoneUpdated");
}

static void
test_retry_remove_dependency (void **state)
{
    s_retry ((s_fixture_t *)*state, "remove", s_twice_remove, "MilestoneUpdated");
}

//  --------------------------------------------------------------------------
//  Zones without dependencies (last: see main)

//  An empty zone; a zone of a commercial operation and a milestone that
//  waits on one of a third zone (not in the schedule: in its state).
static void
test_zone_schedule_without_dependencies (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char far_id[128];
    cpec_status_t status;
    char *empty = s_zone (self, "schedule-empty", "PK-IS");
    char *lone = s_zone (self, "schedule-lone", "PK-IS");
    char *far = s_zone (self, "schedule-far", "PK-JK");
    s_make (self, far, "x", S_AT (self, 10), NULL, 0);
    Cpec__V1__Milestone *cod = s_ms_new (lone, "cod", S_AT (self, 40));
    cod->kind = CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION;
    assert_ok (s_create (self, s_admin, cod, NULL, &status), &status);
    s_make (self, lone, "land", S_AT (self, 15), s_id (far_id, sizeof (far_id), far, "x"), 0);

    Cpec__V1__ZoneScheduleRequest request = CPEC__V1__ZONE_SCHEDULE_REQUEST__INIT;
    request.zone_id = empty;
    Cpec__V1__ZoneScheduleResponse *schedule = NULL;
    assert_ok (s_call (self, ms_zone_schedule, "ZoneSchedule", s_viewer, &request.base,
                       &cpec__v1__zone_schedule_response__descriptor,
                       (ProtobufCMessage **)&schedule, &status),
               &status);
    assert_int_equal (schedule->n_entries, 0);
    s_destroy (&schedule);
    request.zone_id = lone;
    assert_ok (s_call (self, ms_zone_schedule, "ZoneSchedule", s_viewer, &request.base,
                       &cpec__v1__zone_schedule_response__descriptor,
                       (ProtobufCMessage **)&schedule, &status),
               &status);
    assert_int_equal (schedule->n_entries, 2);
    assert_string_equal (schedule->finish_milestone_id, cod->id);
    assert_string_equal (schedule->entries[1]->milestone->id, cod->id);
    assert_true (schedule->entries[1]->critical);
    assert_false (schedule->entries[0]->critical);
    s_destroy (&schedule);
    request.zone_id = far;
    assert_ok (s_call (self, ms_zone_schedule, "ZoneSchedule", s_viewer, &request.base,
                       &cpec__v1__zone_schedule_response__descriptor,
                       (ProtobufCMessage **)&schedule, &status),
               &status);
    assert_int_equal (schedule->n_entries, 1);
    assert_string_equal (schedule->entries[0]->milestone->id, far_id);
    assert_false (schedule->entries[0]->critical);
    assert_string_equal (schedule->finish_milestone_id ? schedule->finish_milestone_id : "", "");
    s_destroy (&schedule);
    s_destroy (&cod);
    free (far);
    free (lone);
    free (empty);
}

//  A timer member that cannot be worked (its state does not decode) is set
//  aside in cpec:ms:timers:failed and holds up no other: a delay claimed in
//  the same round is still announced, and the bad member is not claimed again.
static void
test_timers_bad_member_set_aside (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char bad[128], late[128], member[160], bad_member[160];
    char *zone = s_zone (self, "poison", "PK-KP");
    s_id (bad, sizeof (bad), zone, "bad");
    s_id (late, sizeof (late), zone, "late");
    int64_t now = cpec_now_ms ();
    s_make (self, zone, "bad", now + 30 * S_DAY, NULL, 0);
    s_make (self, zone, "late", now + 30 * S_DAY, NULL, 0);
    s_move (self, late, now - 1000); //  overdue: its due timer is ready
    //  bad's state no longer decodes; a prop timer for it is due
    s_redis_run (self, "HSET %s pb:%s %b", MS_STATES_KEY, bad, "\xff\xff\xff", (size_t)3);
    snprintf (bad_member, sizeof (bad_member), "prop:%s:9", bad);
    s_redis_zadd (self, MS_TIMERS_KEY, now - 10, bad_member);
    char *mark = s_stream_mark (self);
    s_timers (&self->ms, cpec_now_ms ());
    assert_int_equal (s_count (self, mark, late, "MilestoneDelayed"), 1);
    assert_true (s_zscore (self, MS_FAILED_KEY, bad_member) > 0);
    assert_int_equal (s_zscore (self, MS_LEASES_KEY, bad_member), -1);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, bad_member), -1);
    assert_int_equal (
        s_zscore (self, MS_LEASES_KEY, s_member (member, sizeof (member), "due", late)), -1);
    free (mark);
    free (zone);
}

//  AddDependency takes the graph lock: while another holds it the call waits
//  and then answers UNAVAILABLE, writing nothing; once free it goes through
//  and leaves the lock free.
static void
test_add_dependency_graph_lock (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char a[128], b[128];
    char *zone = s_zone (self, "lock", "PK-KP");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 20), NULL, 0);
    redisReply *reply =
        redisCommand (self->env.redis, "SET cpec:ms:lock:graph someone-else PX 60000");
    assert_non_null (reply);
    freeReplyObject (reply);
    cpec_status_t status;
    assert_int_equal (s_dependency (self, s_admin, true, b, a, 0, 0, NULL, &status),
                      CPEC_UNAVAILABLE);
    assert_false (s_has_successor (self, a, b, NULL));
    Cpec__V1__Milestone *unchanged = s_fetch (self, b);
    assert_int_equal (unchanged->n_predecessors, 0);
    assert_int_equal (unchanged->version, 1);
    s_destroy (&unchanged);
    reply = redisCommand (self->env.redis, "DEL cpec:ms:lock:graph");
    assert_non_null (reply);
    freeReplyObject (reply);
    assert_ok (s_dependency (self, s_admin, true, b, a, 0, 0, NULL, &status), &status);
    assert_true (s_has_successor (self, a, b, NULL));
    assert_int_equal (s_redis_integer (self, "EXISTS %s%s", "cpec:ms:lock:", "graph"), 0);
    free (zone);
}

//  Create propagates from the new milestone like any change: its prop timer
//  is gone when Create answers.
static void
test_create_propagates (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char a[128], b[128], member[160];
    char *zone = s_zone (self, "cprop", "PK-KP");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 20), a, 2);
    snprintf (member, sizeof (member), "prop:%s:1", b);
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    Cpec__V1__MilestoneState *st = s_state_of (self, b);
    assert_int_equal (st->pred_fixed_ms, S_AT (self, 12));
    s_destroy (&st);
    free (zone);
}

//  Each claim's lease is its own ("member|token"): a replica finishing its
//  work removes its lease and never another replica's lease of the same
//  member (claimed again after a change put it back in the timers).
static void
test_timers_leases_are_per_claim (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char x[128], member[160], other[200];
    char *zone = s_zone (self, "tokens", "PK-KP");
    s_id (x, sizeof (x), zone, "x");
    int64_t now = cpec_now_ms ();
    s_make (self, zone, "x", now + 30 * S_DAY, NULL, 0);
    //  Another replica holds a live lease of due:x from an earlier claim
    snprintf (other, sizeof (other), "%s", s_member (member, sizeof (member), "due", x));
    s_redis_zadd (self, MS_LEASES_KEY, now + 60000, other);
    s_move (self, x, now - 1000); //  due:x back in the timers, in the past
    char *mark = s_stream_mark (self);
    s_timers (&self->ms, cpec_now_ms ());
    assert_int_equal (s_count (self, mark, x, "MilestoneDelayed"), 1);
    assert_true (s_zscore (self, MS_LEASES_KEY, other) > 0); //  not ours: left alone
    assert_int_equal (s_zscore (self, MS_TIMERS_KEY, member), -1);
    redisReply *reply = redisCommand (self->env.redis, "ZREM %s %s", MS_LEASES_KEY, other);
    assert_non_null (reply);
    freeReplyObject (reply);
    free (mark);
    free (zone);
}

//  With defer_publish (as the service runs), a propagation's events wait
//  for ms_publish (called once the answer has gone): the handler's own
//  event is on the bus at once, the risk it caused after ms_publish, in
//  that order; both are in the event log at once.
static void
test_publish_deferred (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char buf[1024], a[128], b[128], topic[512];
    char *zone = s_zone (self, "deferred", "PK-PB");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    s_make (self, zone, "a", S_AT (self, 10), NULL, 0);
    s_make (self, zone, "b", S_AT (self, 20), a, 0);
    s_bus_topics (self, zone, buf, sizeof (buf)); //  drain
    char *mark = s_stream_mark (self);
    self->ms.defer_publish = true;
    s_move (self, a, S_AT (self, 25)); //  b at risk
    assert_int_equal (s_count (self, mark, b, "MilestoneAtRisk"), 1);
    snprintf (topic, sizeof (topic), "MilestoneReplanned.PK-PB.%s", zone);
    assert_string_equal (s_bus_topics (self, zone, buf, sizeof (buf)), topic);
    assert_int_equal (self->ms.unpublished_count, 1);
    ms_publish (&self->ms);
    assert_int_equal (self->ms.unpublished_count, 0);
    snprintf (topic, sizeof (topic), "MilestoneAtRisk.PK-PB.%s", zone);
    assert_string_equal (s_bus_topics (self, zone, buf, sizeof (buf)), topic);
    self->ms.defer_publish = false;
    free (mark);
    free (zone);
}

//  States kept the old way (a hash of their own per milestone) are moved
//  into the one hash, a version already there higher than the old copy's
//  is kept, and the old keys are gone; a second run finds nothing to do.
static void
test_states_migrate (void **state)
{
    s_fixture_t *self = (s_fixture_t *)*state;
    char a[128], b[128];
    char *zone = s_zone (self, "migrate", "PK-KP");
    s_id (a, sizeof (a), zone, "a");
    s_id (b, sizeof (b), zone, "b");
    int64_t now = cpec_now_ms ();
    s_make (self, zone, "a", now + 30 * S_DAY, NULL, 0);
    s_make (self, zone, "b", now + 60 * S_DAY, a, 2);
    Cpec__V1__MilestoneState *before = s_state_of (self, b);
    //  b's state back in the old layout; a stale old copy of a's beside its own
    redisReply *pb = s_redis_reply (self, "HGET %s pb:%s", MS_STATES_KEY, b);
    assert_int_equal (pb->type, REDIS_REPLY_STRING);
    s_redis_run (self, "HSET %s%s v %u pb %b", MS_STATE_PREFIX, b, before->version, pb->str,
                 pb->len);
    s_redis_run (self, "HDEL %s v:%s pb:%s", MS_STATES_KEY, b, b);
    s_redis_run (self, "HSET %s%s v 0 pb %b", MS_STATE_PREFIX, a, pb->str, pb->len);
    freeReplyObject (pb);
    //  a itself (the milestone) in the old layout too
    pb = s_redis_reply (self, "HGET %s pb:%s", MS_MILESTONES_KEY, a);
    assert_int_equal (pb->type, REDIS_REPLY_STRING);
    s_redis_run (self, "HSET %s%s v 1 pb %b", MS_MILESTONE_PREFIX, a, pb->str, pb->len);
    freeReplyObject (pb);
    s_redis_run (self, "HDEL %s v:%s pb:%s", MS_MILESTONES_KEY, a, a);
    //  Hashes under the prefixes that are not milestones of the old layout
    s_redis_run (self, "HSET %s%s:extra v 1 pb x", MS_MILESTONE_PREFIX, zone);
    s_redis_run (self, "HSET %s%s-other v 1 pb x note y", MS_STATE_PREFIX, a);
    s_redis_run (self, "DEL %s", MS_LAYOUT_KEY); //  not done yet here
    cpec_status_t status;
    char key[160];
    ms_state_key (key, sizeof (key), b);
    ProtobufCMessage *gone = NULL;
    assert_int_equal (cpec_store_get (self->env.store, key, &cpec__v1__milestone_state__descriptor,
                                      &gone, NULL, &status),
                      CPEC_NOT_FOUND);

    for (int run = 0; run < 2; run++) {
        ms_t replica = {.store = self->env.store};
        assert_ok (ms_migrate_states (&replica, &status), &status);
        Cpec__V1__MilestoneState *after = s_state_of (self, b);
        assert_int_equal (after->version, before->version);
        assert_int_equal (after->pred_fixed_ms, before->pred_fixed_ms);
        s_destroy (&after);
        after = s_state_of (self, a);
        assert_int_equal (after->n_successors, 1); //  its own, not the old copy (b's)
        assert_string_equal (after->successors[0], b);
        s_destroy (&after);
        redisReply *exists = s_redis_reply (self, "EXISTS %s%s %s%s %s%s", MS_STATE_PREFIX, a,
                                            MS_STATE_PREFIX, b, MS_MILESTONE_PREFIX, a);
        assert_int_equal (exists->integer, 0);
        freeReplyObject (exists);
        Cpec__V1__Milestone *milestone = NULL;
        assert_int_equal (s_get (self, a, &milestone, &status), CPEC_OK);
        assert_string_equal (milestone->id, a);
        assert_int_equal (milestone->version, 1);
        s_destroy (&milestone);
        exists = s_redis_reply (self, "EXISTS %s%s:extra %s%s-other %s", MS_MILESTONE_PREFIX, zone,
                                MS_STATE_PREFIX, a, MS_LAYOUT_KEY);
        assert_int_equal (exists->integer, 3); //  left alone; the layout marked done
        freeReplyObject (exists);
    }
    s_destroy (&before);
    free (zone);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_create_and_get),
        cmocka_unit_test (test_create_permissions),
        cmocka_unit_test (test_create_retry),
        cmocka_unit_test (test_list),
        cmocka_unit_test (test_list_page_bytes),
        cmocka_unit_test (test_list_page_too_small),
        cmocka_unit_test (test_update),
        cmocka_unit_test (test_complete),
        cmocka_unit_test (test_replan),
        cmocka_unit_test (test_dependencies),
        cmocka_unit_test (test_propagation_chain),
        cmocka_unit_test (test_propagation_diamond),
        cmocka_unit_test (test_propagation_cancel),
        cmocka_unit_test (test_timers_propagation),
        cmocka_unit_test (test_timers_delayed),
        cmocka_unit_test (test_timers_replicas),
        cmocka_unit_test (test_timers_risk),
        cmocka_unit_test (test_portfolio),
        cmocka_unit_test (test_retry_update),
        cmocka_unit_test (test_timers_bad_member_set_aside),
        cmocka_unit_test (test_timers_leases_are_per_claim),
        cmocka_unit_test (test_add_dependency_graph_lock),
        cmocka_unit_test (test_create_propagates),
        cmocka_unit_test (test_retry_complete),
        cmocka_unit_test (test_retry_replan),
        cmocka_unit_test (test_retry_add_dependency),
        cmocka_unit_test (test_retry_remove_dependency),
        cmocka_unit_test (test_states_migrate),
        cmocka_unit_test (test_publish_deferred),
        //  Last: ms_schedule passes NULL to qsort for a zone without
        //  dependencies, which UBSan stops the process on.
        cmocka_unit_test (test_zone_schedule_without_dependencies),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
