/*  ms_store - loading milestones, propagating forecasts, and the timers.

    Propagation: from the milestones that changed, walk their successors
    (kept in each state) to everything downstream, recompute what the
    predecessors fix and lead in graph order, and write in one outbox write
    the states that changed with the MilestoneAtRisk / MilestoneBackOnTrack
    events where a flag turns and the risk timers that follow. Every state
    write checks the version it read, so two replicas propagating at once
    cannot lose each other's work: the loser reads again.

    Timers: claim.lua takes due members of cpec:ms:timers into
    cpec:ms:leases; a delay is announced by writing the milestone's state
    (delayed_due_ms = its planned due, version checked) together with the
    MilestoneDelayed event, so it is announced once per (milestone, planned
    due) whichever replica gets there, and a replica that dies before the
    write leaves the lease to expire and another to take it.
*/
#include "milestones.h"

#include <assert.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"

#define S_KEY_MAX    160
#define S_GRAPH_MAX  200000 //  milestones one propagation may touch
#define S_DOWNSTREAM 100    //  ids a MilestoneDelayed lists at most

void
ms_key (char *buffer, size_t size, const char *id)
{
    snprintf (buffer, size, MS_MILESTONE_PREFIX "%s", id);
}

void
ms_state_key (char *buffer, size_t size, const char *id)
{
    snprintf (buffer, size, MS_STATE_PREFIX "%s", id);
}

//  One step of the migration: SCAN from ARGV[1] (COUNT ARGV[3]) for keys
//  under the prefix ARGV[2]. A hash there whose name (after the prefix) is
//  an id, with exactly the fields v and pb, is an entity of the earlier
//  layout: it moves into KEYS[1] unless a higher version is there already,
//  and is deleted. Anything else is left alone. Returns {next cursor, moved,
//  left alone}. (It touches keys it does not declare, as SCAN finds them:
//  standalone or Sentinel Redis, not Cluster.)
static const char *s_migrate_script =
    "local found = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2] .. '*', 'COUNT', ARGV[3])\n"
    "local moved, left = 0, 0\n"
    "for _, key in ipairs(found[2]) do\n"
    "    local name = string.sub(key, #ARGV[2] + 1)\n"
    "    if redis.call('TYPE', key)['ok'] == 'hash' then\n"
    "        local old = redis.call('HMGET', key, 'v', 'pb')\n"
    "        if string.find(name, ':', 1, true) or redis.call('HLEN', key) ~= 2\n"
    "           or not old[1] or not old[2] then\n"
    "            left = left + 1\n"
    "        else\n"
    "            local now = redis.call('HGET', KEYS[1], 'v:' .. name)\n"
    "            if not now or (tonumber(now) or 0) < (tonumber(old[1]) or 0) then\n"
    "                redis.call('HSET', KEYS[1], 'v:' .. name, old[1], 'pb:' .. name, old[2])\n"
    "            end\n"
    "            redis.call('DEL', key)\n"
    "            moved = moved + 1\n"
    "        end\n"
    "    end\n"
    "end\n"
    "return {found[1], moved, left}\n";

int
ms_migrate_states (ms_t *self, cpec_status_t *status)
{
    assert (self);
    //  Done once for the database: then each start is one GET
    const char *marker[2] = {"GET", MS_LAYOUT_KEY};
    redisReply *reply = cpec_store_command (self->store, 2, marker, NULL, status);
    if (!reply)
        return status->code;
    bool done = reply->type == REDIS_REPLY_STRING;
    freeReplyObject (reply);
    if (done)
        return CPEC_OK;
    static const char *const layouts[2][2] = {{MS_MILESTONES_KEY, MS_MILESTONE_PREFIX},
                                              {MS_STATES_KEY, MS_STATE_PREFIX}};
    long long moved = 0, left = 0;
    for (size_t l = 0; l < 2; l++) {
        char cursor[32] = "0";
        do {
            const char *argv[] = {"1", layouts[l][0], cursor, layouts[l][1], "1000"};
            reply = cpec_store_script (self->store, s_migrate_script, self->migrate_sha, 5, argv,
                                       NULL, status);
            if (!reply)
                return status->code;
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
                reply->element[0]->type != REDIS_REPLY_STRING ||
                reply->element[0]->len >= sizeof (cursor)) {
                freeReplyObject (reply);
                return cpec_status_set (status, CPEC_INTERNAL,
                                        "redis: unexpected reply to the migration");
            }
            memcpy (cursor, reply->element[0]->str, reply->element[0]->len + 1);
            moved += reply->element[1]->integer;
            left += reply->element[2]->integer;
            freeReplyObject (reply);
        } while (strcmp (cursor, "0") != 0);
    }
    const char *set[3] = {"SET", MS_LAYOUT_KEY, "hashed"};
    reply = cpec_store_command (self->store, 3, set, NULL, status);
    if (!reply)
        return status->code;
    freeReplyObject (reply);
    cpec_log_info (NULL,
                   "milestones: %lld moved from the earlier layout, %lld hashes under "
                   "%s or %s left alone (not milestones)",
                   moved, left, MS_MILESTONE_PREFIX, MS_STATE_PREFIX);
    return CPEC_OK;
}

void
ms_store_setup (cpec_store_t *store)
{
    assert (store);
    cpec_store_set_hashed (store, MS_MILESTONE_PREFIX);
    cpec_store_set_hashed (store, MS_STATE_PREFIX);
}

int
ms_load (ms_t *self, const char *const *ids, size_t count, Cpec__V1__Milestone **milestones,
         Cpec__V1__MilestoneState **states, cpec_status_t *status)
{
    assert (self && (count == 0 || (ids && milestones && states)));
    if (count == 0)
        return CPEC_OK;
    char **keys = (char **)cpec_realloc (NULL, 2 * count * sizeof (char *));
    for (size_t i = 0; i < count; i++) {
        char key[S_KEY_MAX];
        ms_key (key, sizeof (key), ids[i]);
        keys[i] = cpec_strdup (key);
        ms_state_key (key, sizeof (key), ids[i]);
        keys[count + i] = cpec_strdup (key);
    }
    //  One round trip for both: milestones, then states
    const ProtobufCMessageDescriptor **descriptors =
        (const ProtobufCMessageDescriptor **)cpec_realloc (NULL, 2 * count * sizeof (void *));
    ProtobufCMessage **found = (ProtobufCMessage **)calloc (2 * count, sizeof (void *));
    assert (found);
    for (size_t i = 0; i < count; i++) {
        descriptors[i] = &cpec__v1__milestone__descriptor;
        descriptors[count + i] = &cpec__v1__milestone_state__descriptor;
    }
    int rc = cpec_store_get_mixed (self->store, (const char **)keys, descriptors, 2 * count, found,
                                   status);
    for (size_t i = 0; i < count; i++) {
        milestones[i] = rc == CPEC_OK ? (Cpec__V1__Milestone *)found[i] : NULL;
        states[i] = rc == CPEC_OK ? (Cpec__V1__MilestoneState *)found[count + i] : NULL;
    }
    free (descriptors);
    free (found);
    for (size_t i = 0; i < 2 * count; i++)
        free (keys[i]);
    free (keys);
    return rc;
}

//  --------------------------------------------------------------------------
//  A loaded piece of the graph

typedef struct
{
    char *id;                        //  owned
    Cpec__V1__Milestone *milestone;  //  owned; NULL when gone
    Cpec__V1__MilestoneState *state; //  owned; NULL when gone
    bool downstream;                 //  recomputed (else only read)
} s_node_t;

typedef struct
{
    zhashx_t *index; //  id -> position + 1
    s_node_t *nodes;
    size_t count;
} s_graph_t;

static void
s_graph_init (s_graph_t *self)
{
    *self = (s_graph_t){.index = zhashx_new ()};
}

static void
s_graph_fini (s_graph_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        free (self->nodes[i].id);
        cpec_pb_destroy ((ProtobufCMessage **)&self->nodes[i].milestone);
        cpec_pb_destroy ((ProtobufCMessage **)&self->nodes[i].state);
    }
    free (self->nodes);
    zhashx_destroy (&self->index);
    *self = (s_graph_t){0};
}

static s_node_t *
s_graph_find (s_graph_t *self, const char *id)
{
    size_t position = (size_t)zhashx_lookup (self->index, id);
    return position ? &self->nodes[position - 1] : NULL;
}

//  Loads ids (those not held yet) into the graph; *first gets the position
//  of the first added. OK or the store's error.
static int
s_graph_load (ms_t *self, s_graph_t *graph, const char *const *ids, size_t count, bool downstream,
              size_t *first, cpec_status_t *status)
{
    *first = graph->count;
    const char **fresh = (const char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
    size_t n = 0;
    zhashx_t *seen = zhashx_new ();
    for (size_t i = 0; i < count; i++)
        if (!s_graph_find (graph, ids[i]) && !zhashx_lookup (seen, ids[i])) {
            zhashx_insert (seen, ids[i], (void *)1);
            fresh[n++] = ids[i];
        }
    zhashx_destroy (&seen);
    Cpec__V1__Milestone **milestones =
        (Cpec__V1__Milestone **)calloc (n + 1, sizeof (Cpec__V1__Milestone *));
    Cpec__V1__MilestoneState **states =
        (Cpec__V1__MilestoneState **)calloc (n + 1, sizeof (Cpec__V1__MilestoneState *));
    assert (milestones && states);
    int rc = ms_load (self, fresh, n, milestones, states, status);
    if (rc == CPEC_OK) {
        graph->nodes =
            (s_node_t *)cpec_realloc (graph->nodes, (graph->count + n) * sizeof (s_node_t));
        for (size_t i = 0; i < n; i++) {
            graph->nodes[graph->count] = (s_node_t){.id = cpec_strdup (fresh[i]),
                                                    .milestone = milestones[i],
                                                    .state = states[i],
                                                    .downstream = downstream};
            zhashx_insert (graph->index, fresh[i], (void *)(graph->count + 1));
            graph->count++;
        }
    }
    free (fresh);
    free (milestones);
    free (states);
    return rc;
}

//  Loads roots and everything downstream of them, level by level, then the
//  predecessors outside that set (read only).
static int
s_graph_downstream (ms_t *self, s_graph_t *graph, const char *const *roots, size_t root_count,
                    cpec_status_t *status)
{
    size_t first = 0;
    int rc = s_graph_load (self, graph, roots, root_count, true, &first, status);
    while (rc == CPEC_OK && first < graph->count) {
        size_t end = graph->count;
        char **next = NULL;
        size_t n = 0;
        for (size_t i = first; i < end; i++) {
            const Cpec__V1__MilestoneState *state = graph->nodes[i].state;
            for (size_t s = 0; state && s < state->n_successors; s++)
                if (!s_graph_find (graph, state->successors[s])) {
                    next = (char **)cpec_realloc (next, (n + 1) * sizeof (char *));
                    next[n++] = state->successors[s];
                }
        }
        if (graph->count + n > S_GRAPH_MAX)
            rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED,
                                  "more than %d milestones downstream", S_GRAPH_MAX);
        else
            rc = s_graph_load (self, graph, (const char *const *)next, n, true, &first, status);
        free (next);
        if (rc == CPEC_OK && first == graph->count)
            break;
    }
    //  Predecessors outside
    size_t downstream_end = graph->count;
    char **outside = NULL;
    size_t n = 0;
    for (size_t i = 0; rc == CPEC_OK && i < downstream_end; i++) {
        const Cpec__V1__Milestone *milestone = graph->nodes[i].milestone;
        for (size_t p = 0; milestone && p < milestone->n_predecessors; p++)
            if (!s_graph_find (graph, milestone->predecessors[p]->milestone_id)) {
                outside = (char **)cpec_realloc (outside, (n + 1) * sizeof (char *));
                outside[n++] = milestone->predecessors[p]->milestone_id;
            }
    }
    if (rc == CPEC_OK)
        rc = s_graph_load (self, graph, (const char *const *)outside, n, false, &first, status);
    free (outside);
    return rc;
}

//  --------------------------------------------------------------------------
//  Events

static Cpec__V1__Event *
s_event_new (const char *type, const Cpec__V1__Milestone *milestone, const char *request_id,
             int64_t now)
{
    return cpec_handler_event_new (type, milestone->zone_id, milestone->province, NULL, request_id,
                                   MS_ACTOR, now);
}

static Cpec__V1__Event *
s_risk_event (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
              bool at_risk, const char *request_id, int64_t now)
{
    Cpec__V1__Event *event = s_event_new (at_risk ? "MilestoneAtRisk" : "MilestoneBackOnTrack",
                                          milestone, request_id, now);
    int64_t forecast = ms_forecast (milestone, state, now);
    if (at_risk) {
        Cpec__V1__MilestoneAtRisk *payload =
            (Cpec__V1__MilestoneAtRisk *)cpec_pb_new (&cpec__v1__milestone_at_risk__descriptor);
        payload->milestone_id = cpec_strdup (milestone->id);
        payload->planned_due = cpec_pb_timestamp_new (ms_planned (milestone));
        payload->forecast_due = cpec_pb_timestamp_new (forecast);
        payload->title = cpec_strdup (milestone->title);
        payload->agency = cpec_strdup (milestone->agency);
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_AT_RISK;
        event->milestone_at_risk = payload;
    } else {
        Cpec__V1__MilestoneBackOnTrack *payload = (Cpec__V1__MilestoneBackOnTrack *)cpec_pb_new (
            &cpec__v1__milestone_back_on_track__descriptor);
        payload->milestone_id = cpec_strdup (milestone->id);
        payload->planned_due = cpec_pb_timestamp_new (ms_planned (milestone));
        payload->forecast_due = cpec_pb_timestamp_new (forecast);
        payload->title = cpec_strdup (milestone->title);
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_BACK_ON_TRACK;
        event->milestone_back_on_track = payload;
    }
    return event;
}

//  --------------------------------------------------------------------------
//  A write being assembled: states, events, timer operations

typedef struct
{
    cpec_store_put_t *puts;
    char **put_keys;
    ProtobufCMessage **put_messages; //  owned
    size_t put_count;
    Cpec__V1__Event **events; //  owned
    size_t event_count;
    cpec_indexes_t indexes;
} s_batch_t;

static void
s_batch_put_state (s_batch_t *self, const char *id, Cpec__V1__MilestoneState *state)
{
    char key[S_KEY_MAX];
    ms_state_key (key, sizeof (key), id);
    size_t n = self->put_count;
    self->puts = (cpec_store_put_t *)cpec_realloc (self->puts, (n + 1) * sizeof (cpec_store_put_t));
    self->put_keys = (char **)cpec_realloc (self->put_keys, (n + 1) * sizeof (char *));
    self->put_messages =
        (ProtobufCMessage **)cpec_realloc (self->put_messages, (n + 1) * sizeof (void *));
    self->put_keys[n] = cpec_strdup (key);
    self->put_messages[n] = &state->base;
    self->puts[n] = (cpec_store_put_t){
        .key = self->put_keys[n], .expected_version = state->version - 1, .message = &state->base};
    self->put_count++;
}

static void
s_batch_event (s_batch_t *self, Cpec__V1__Event *event)
{
    self->events =
        (Cpec__V1__Event **)cpec_realloc (self->events, (self->event_count + 1) * sizeof (void *));
    self->events[self->event_count++] = event;
}

//  Removes timer members that are done: claimed ones from the leases (not
//  from the timers, where a change made since the claim may have put the
//  member back with a new time), a handler's own prop:... from the timers.
static void
s_batch_done (s_batch_t *self, const char *const *members, size_t count, bool claimed)
{
    for (size_t i = 0; i < count; i++)
        cpec_indexes_add (&self->indexes, CPEC_STORE_ZREM, claimed ? MS_LEASES_KEY : MS_TIMERS_KEY,
                          members[i], 0);
}

static void
s_batch_fini (s_batch_t *self)
{
    for (size_t i = 0; i < self->put_count; i++) {
        free (self->put_keys[i]);
        cpec_pb_destroy (&self->put_messages[i]);
    }
    for (size_t i = 0; i < self->event_count; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&self->events[i]);
    free (self->puts);
    free (self->put_keys);
    free (self->put_messages);
    free (self->events);
    cpec_indexes_fini (&self->indexes);
    *self = (s_batch_t){0};
}

//  Writes the batch in one outbox write (under a fresh request id: the
//  version checks make it safe to repeat) and publishes its events.
static int
s_batch_write (ms_t *self, s_batch_t *batch, cpec_status_t *status)
{
    if (batch->put_count == 0 && batch->indexes.count == 0 && batch->event_count == 0)
        return CPEC_OK;
    static const Cpec__V1__MilestoneState s_nothing = CPEC__V1__MILESTONE_STATE__INIT;
    char request_id[48] = "ms-";
    cpec_uuid (request_id + 3);
    cpec_store_write_t write = {.request_id = request_id,
                                .puts = batch->puts,
                                .put_count = batch->put_count,
                                .indexes = batch->indexes.items,
                                .index_count = batch->indexes.count,
                                .events = (const Cpec__V1__Event *const *)batch->events,
                                .event_count = batch->event_count,
                                .answer =
                                    batch->put_count ? batch->put_messages[0] : &s_nothing.base};
    int rc = cpec_store_write (self->store, &write, NULL, NULL, NULL, status);
    if (rc == CPEC_OK && self->bus && self->defer_publish) {
        //  Taken over: published by ms_publish once the answer has gone
        self->unpublished = (Cpec__V1__Event **)cpec_realloc (
            self->unpublished, (self->unpublished_count + batch->event_count) * sizeof (void *));
        for (size_t i = 0; i < batch->event_count; i++) {
            self->unpublished[self->unpublished_count++] = batch->events[i];
            batch->events[i] = NULL;
        }
    } else if (rc == CPEC_OK)
        cpec_handler_publish (self->bus, self->metrics, request_id,
                              (const Cpec__V1__Event *const *)batch->events, batch->event_count);
    return rc;
}

void
ms_publish (ms_t *self)
{
    assert (self);
    cpec_handler_publish (self->bus, self->metrics, NULL,
                          (const Cpec__V1__Event *const *)self->unpublished,
                          self->unpublished_count);
    for (size_t i = 0; i < self->unpublished_count; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&self->unpublished[i]);
    free (self->unpublished);
    self->unpublished = NULL;
    self->unpublished_count = 0;
}

//  --------------------------------------------------------------------------
//  Propagation

static bool
s_state_same (const Cpec__V1__MilestoneState *a, const Cpec__V1__MilestoneState *b)
{
    return a->pred_fixed_ms == b->pred_fixed_ms && a->has_pred_lead == b->has_pred_lead &&
           (!a->has_pred_lead || a->pred_lead_ms == b->pred_lead_ms) && a->at_risk == b->at_risk;
}

static void
s_shallow_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  Recomputes a node's state from its (loaded) predecessors into *next.
static void
s_recompute (s_graph_t *graph, const s_node_t *node, int64_t now, Cpec__V1__MilestoneState *next)
{
    ms_bound_t bound = {0};
    bool any = false;
    for (size_t p = 0; p < node->milestone->n_predecessors; p++) {
        const Cpec__V1__Dependency *dependency = node->milestone->predecessors[p];
        s_node_t *pred = s_graph_find (graph, dependency->milestone_id);
        ms_bound_t one;
        if (pred && pred->milestone &&
            ms_bound (pred->milestone, pred->state, dependency->lag_days, &one)) {
            ms_bound_merge (&bound, &one);
            any = true;
        }
    }
    *next = *node->state;
    next->pred_fixed_ms = any ? bound.fixed_ms : 0;
    next->has_pred_lead = bound.has_lead;
    next->pred_lead_ms = bound.has_lead ? bound.lead_ms : 0;
    next->at_risk = ms_at_risk (node->milestone, next, now);
}

//  Loads the ids of a wave not held yet (the roots: the later waves were read
//  ahead), then in one read what recomputing the wave needs and what the
//  next wave will: the predecessors of its milestones and its successors
//  (most of which come next; those that do not were read for nothing).
static int
s_wave_load (ms_t *self, s_graph_t *graph, char **wave, size_t count, cpec_status_t *status)
{
    size_t first = 0;
    int rc = s_graph_load (self, graph, (const char *const *)wave, count, true, &first, status);
    const char **more = NULL;
    size_t n = 0;
    for (size_t i = 0; rc == CPEC_OK && i < count; i++) {
        const s_node_t *node = s_graph_find (graph, wave[i]);
        if (!node || !node->milestone)
            continue;
        for (size_t p = 0; p < node->milestone->n_predecessors; p++)
            if (!s_graph_find (graph, node->milestone->predecessors[p]->milestone_id)) {
                more = (const char **)cpec_realloc (more, (n + 1) * sizeof (char *));
                more[n++] = node->milestone->predecessors[p]->milestone_id;
            }
        for (size_t s = 0; node->state && s < node->state->n_successors; s++)
            if (!s_graph_find (graph, node->state->successors[s])) {
                more = (const char **)cpec_realloc (more, (n + 1) * sizeof (char *));
                more[n++] = node->state->successors[s];
            }
    }
    if (rc == CPEC_OK && graph->count + n > S_GRAPH_MAX)
        rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED,
                              "more than %d milestones to re-forecast", S_GRAPH_MAX);
    if (rc == CPEC_OK && n)
        rc = s_graph_load (self, graph, more, n, true, &first, status);
    free (more);
    return rc;
}

//  One attempt: from the roots, wave by wave, recompute each milestone one
//  of whose predecessors passes on something new, and go on only past those
//  whose own contribution changed (a slip the slack absorbs stops at once);
//  then write every state that ended up different. ABORTED when another
//  write won.
static int
s_propagate_once (ms_t *self, const char *const *roots, size_t root_count, const char *const *done,
                  size_t done_count, bool claimed, const char *request_id, cpec_status_t *status)
{
    s_graph_t graph;
    s_graph_init (&graph);
    s_batch_t batch = {0};
    //  id -> the scalar fields of its state as read, for those recomputed: a
    //  shallow copy (its arrays are the node's, read only for the fields
    //  s_state_same and ms_risk_at look at)
    zhashx_t *stored = zhashx_new ();
    zhashx_set_destructor (stored, s_shallow_free);
    zhashx_t *is_root = zhashx_new ();
    int64_t now = cpec_now_ms ();
    char **wave = (char **)cpec_realloc (NULL, (root_count + 1) * sizeof (char *));
    size_t wave_count = 0;
    for (size_t r = 0; r < root_count; r++) {
        wave[wave_count++] = cpec_strdup (roots[r]);
        zhashx_update (is_root, roots[r], (void *)1);
    }
    size_t touched = 0;
    int rc = CPEC_OK;
    while (rc == CPEC_OK && wave_count) {
        rc = s_wave_load (self, &graph, wave, wave_count, status);
        char **next_wave = NULL;
        size_t next_count = 0;
        zhashx_t *queued = zhashx_new ();
        for (size_t w = 0; rc == CPEC_OK && w < wave_count; w++) {
            s_node_t *node = s_graph_find (&graph, wave[w]);
            if (!node || !node->milestone || !node->state)
                continue; //  gone, or being created: it computes its own
            Cpec__V1__MilestoneState next;
            s_recompute (&graph, node, now, &next);
            bool passes_on = next.pred_fixed_ms != node->state->pred_fixed_ms ||
                             next.has_pred_lead != node->state->has_pred_lead ||
                             next.pred_lead_ms != node->state->pred_lead_ms;
            if (!s_state_same (&next, node->state)) {
                if (!zhashx_lookup (stored, node->id))
                    zhashx_insert (stored, node->id,
                                   cpec_memdup (node->state, sizeof (*node->state)));
                node->state->pred_fixed_ms = next.pred_fixed_ms;
                node->state->has_pred_lead = next.has_pred_lead;
                node->state->pred_lead_ms = next.pred_lead_ms;
                node->state->at_risk = next.at_risk;
            }
            if (!passes_on && !zhashx_lookup (is_root, node->id))
                continue;
            if (++touched > S_GRAPH_MAX) {
                rc = cpec_status_set (status, CPEC_RESOURCE_EXHAUSTED,
                                      "more than %d milestones to re-forecast", S_GRAPH_MAX);
                break;
            }
            for (size_t s = 0; s < node->state->n_successors; s++) {
                const char *successor = node->state->successors[s];
                if (zhashx_lookup (queued, successor))
                    continue;
                zhashx_insert (queued, successor, (void *)1);
                next_wave = (char **)cpec_realloc (next_wave, (next_count + 1) * sizeof (char *));
                next_wave[next_count++] = cpec_strdup (successor);
            }
        }
        zhashx_destroy (&queued);
        for (size_t w = 0; w < wave_count; w++)
            free (wave[w]);
        free (wave);
        wave = next_wave;
        wave_count = next_count;
    }
    for (size_t w = 0; w < wave_count; w++)
        free (wave[w]);
    free (wave);

    //  The states that ended up different, their events and risk timers;
    //  the roots' risk timers in any case (their plan changed).
    cpec_indexes_t zrem = {0};
    for (size_t i = 0; rc == CPEC_OK && i < graph.count; i++) {
        s_node_t *node = &graph.nodes[i];
        const Cpec__V1__MilestoneState *before =
            (const Cpec__V1__MilestoneState *)zhashx_lookup (stored, node->id);
        bool changed = before && !s_state_same (node->state, before);
        if (changed && node->state->at_risk != before->at_risk && ms_open (node->milestone))
            s_batch_event (&batch, s_risk_event (node->milestone, node->state, node->state->at_risk,
                                                 request_id, now));
        bool root = zhashx_lookup (is_root, node->id) != NULL;
        //  The risk timer, where its time or the flag moved (a root's plan
        //  moved: always)
        bool timer_moved = root || (changed && (ms_risk_at (node->milestone, node->state) !=
                                                    ms_risk_at (node->milestone, before) ||
                                                node->state->at_risk != before->at_risk));
        if (node->milestone && node->state && timer_moved) {
            char member[S_KEY_MAX];
            snprintf (member, sizeof (member), "risk:%s", node->id);
            int64_t at = ms_risk_at (node->milestone, node->state);
            if (at > now && !node->state->at_risk)
                cpec_indexes_add (&batch.indexes, CPEC_STORE_ZADD, MS_TIMERS_KEY, member,
                                  (double)at);
            else
                cpec_indexes_add (&zrem, CPEC_STORE_ZREM, MS_TIMERS_KEY, member, 0);
        }
        if (changed) {
            //  The state goes to the write as it is (the graph is done with it)
            node->state->version = before->version + 1;
            s_batch_put_state (&batch, node->id, node->state);
            node->state = NULL;
        }
    }
    //  Timers added, then removed: each a run of one command on one key
    for (size_t i = 0; i < zrem.count; i++)
        cpec_indexes_add (&batch.indexes, zrem.items[i].op, zrem.items[i].key, zrem.items[i].member,
                          zrem.items[i].score);
    cpec_indexes_fini (&zrem);
    if (rc == CPEC_OK) {
        s_batch_done (&batch, done, done_count, claimed);
        rc = s_batch_write (self, &batch, status);
    }
    s_batch_fini (&batch);
    zhashx_destroy (&stored);
    zhashx_destroy (&is_root);
    s_graph_fini (&graph);
    return rc;
}

int
ms_propagate (ms_t *self, const char *const *roots, size_t root_count, const char *const *done,
              size_t done_count, bool claimed, const char *request_id, cpec_status_t *status)
{
    assert (self && (root_count == 0 || roots));
    cpec_status_t local;
    if (!status)
        status = &local;
    int rc = CPEC_OK;
    for (int attempt = 0; attempt < MS_RETRIES; attempt++) {
        cpec_status_clear (status);
        rc = s_propagate_once (self, roots, root_count, done, done_count, claimed, request_id,
                               status);
        if (rc != CPEC_ABORTED)
            break;
        if (self->metrics)
            cpec_metrics_count (self->metrics, "cpec_milestones_propagation_retries_total",
                                "propagations read again after a concurrent write", 1);
    }
    return rc;
}

char **
ms_downstream (ms_t *self, const char *id, size_t max, cpec_status_t *status)
{
    s_graph_t graph;
    s_graph_init (&graph);
    const char *roots[1] = {id};
    int rc = s_graph_downstream (self, &graph, roots, 1, status);
    char **ids = NULL;
    if (rc == CPEC_OK) {
        ids = (char **)calloc (max + 1, sizeof (char *));
        assert (ids);
        size_t n = 0;
        for (size_t i = 1; i < graph.count && n < max; i++) //  0 is the milestone itself
            if (graph.nodes[i].downstream && graph.nodes[i].milestone &&
                ms_open (graph.nodes[i].milestone))
                ids[n++] = cpec_strdup (graph.nodes[i].id);
    }
    s_graph_fini (&graph);
    return ids;
}

//  --------------------------------------------------------------------------
//  Timers

//  The MilestoneDelayed event of a milestone now late.
static Cpec__V1__Event *
s_delayed_event (ms_t *self, const Cpec__V1__Milestone *milestone,
                 const Cpec__V1__MilestoneState *state, int64_t now)
{
    Cpec__V1__Event *event = s_event_new ("MilestoneDelayed", milestone, NULL, now);
    Cpec__V1__MilestoneDelayed *payload =
        (Cpec__V1__MilestoneDelayed *)cpec_pb_new (&cpec__v1__milestone_delayed__descriptor);
    payload->milestone_id = cpec_strdup (milestone->id);
    payload->zone_id = cpec_strdup (milestone->zone_id);
    payload->province = cpec_strdup (milestone->province);
    payload->agency = cpec_strdup (milestone->agency);
    payload->title = cpec_strdup (milestone->title);
    payload->planned_due = cpec_pb_timestamp_new (ms_planned (milestone));
    int64_t late = ms_days_between (ms_planned (milestone), now);
    payload->days_late = late > 0 ? (uint32_t)late : 0;
    cpec_status_t status;
    char **downstream =
        state->n_successors ? ms_downstream (self, milestone->id, S_DOWNSTREAM, &status) : NULL;
    size_t n = 0;
    while (downstream && downstream[n])
        n++;
    payload->n_downstream = n;
    payload->downstream = downstream;
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED;
    event->milestone_delayed = payload;
    return event;
}

//  Sets aside a timer member that cannot be worked (its milestone does not
//  decode, its graph is too large...): out of the leases into
//  MS_FAILED_KEY, logged, so that it is not claimed again and again and
//  holds up no other timer. An operator looks at it there.
static void
s_dead_letter (ms_t *self, const char *member, const cpec_status_t *why)
{
    char now[32];
    snprintf (now, sizeof (now), "%lld", (long long)cpec_now_ms ());
    char *work = cpec_strdup (member); //  without the claim's token
    char *bar = strrchr (work, '|');
    if (bar)
        *bar = '\0';
    const char *add[4] = {"ZADD", MS_FAILED_KEY, now, work};
    const char *rem[3] = {"ZREM", MS_LEASES_KEY, member};
    redisReply *reply = cpec_store_command (self->store, 4, add, NULL, NULL);
    if (reply) {
        freeReplyObject (reply);
        reply = cpec_store_command (self->store, 3, rem, NULL, NULL);
    }
    if (reply)
        freeReplyObject (reply);
    cpec_log_error (NULL, "timers: %s set aside in %s: %s: %s", work, MS_FAILED_KEY,
                    cpec_code_name (why->code), why->message);
    free (work);
    if (self->metrics)
        cpec_metrics_count (self->metrics, "cpec_milestones_timers_failed_total",
                            "timer members set aside because they could not be worked", 1);
}

//  True when the delay of this planned due was announced already.
static bool
s_announced (const Cpec__V1__MilestoneState *state, int64_t planned)
{
    if (state->delayed_due_ms == planned)
        return true;
    for (size_t i = 0; i < state->n_announced_dues_ms; i++)
        if (state->announced_dues_ms[i] == planned)
            return true;
    return false;
}

//  Announces the delays among `ids` (claimed due:{id} members `members`):
//  those still open, past their planned due and not announced for it. One
//  write for the batch; when another write wins, one milestone at a time.
static int
s_delays (ms_t *self, const char *const *ids, const char *const *members, size_t count, int64_t now,
          cpec_status_t *status)
{
    Cpec__V1__Milestone **milestones =
        (Cpec__V1__Milestone **)calloc (count + 1, sizeof (Cpec__V1__Milestone *));
    Cpec__V1__MilestoneState **states =
        (Cpec__V1__MilestoneState **)calloc (count + 1, sizeof (Cpec__V1__MilestoneState *));
    assert (milestones && states);
    int rc = ms_load (self, ids, count, milestones, states, status);
    s_batch_t batch = {0};
    size_t announced = 0;
    for (size_t i = 0; rc == CPEC_OK && i < count; i++) {
        const Cpec__V1__Milestone *milestone = milestones[i];
        if (!milestone || !states[i] || !ms_open (milestone) || ms_planned (milestone) >= now ||
            s_announced (states[i], ms_planned (milestone)))
            continue; //  done, re-planned, or already announced: only the lease goes
        Cpec__V1__MilestoneState *next = (Cpec__V1__MilestoneState *)cpec_pb_dup (&states[i]->base);
        next->delayed_due_ms = ms_planned (milestone);
        next->announced_dues_ms = (int64_t *)cpec_realloc (
            next->announced_dues_ms, (next->n_announced_dues_ms + 1) * sizeof (int64_t));
        next->announced_dues_ms[next->n_announced_dues_ms++] = ms_planned (milestone);
        next->version++;
        s_batch_put_state (&batch, milestone->id, next);
        s_batch_event (&batch, s_delayed_event (self, milestone, states[i], now));
        announced++;
    }
    if (rc == CPEC_OK) {
        s_batch_done (&batch, members, count, true);
        rc = s_batch_write (self, &batch, status);
    }
    s_batch_fini (&batch);
    if (rc == CPEC_OK && announced) {
        cpec_log_info (NULL, "announced %zu delay%s", announced, announced == 1 ? "" : "s");
        if (self->metrics)
            cpec_metrics_count (self->metrics, "cpec_milestones_delays_total",
                                "MilestoneDelayed events raised", (double)announced);
    }
    for (size_t i = 0; i < count; i++) {
        cpec_pb_destroy ((ProtobufCMessage **)&milestones[i]);
        cpec_pb_destroy ((ProtobufCMessage **)&states[i]);
    }
    free (milestones);
    free (states);
    //  A concurrent write won somewhere in the batch, or one member cannot
    //  be worked: one at a time, each reading afresh (what another replica
    //  announced is then skipped), so that one bad member holds up no other.
    if (rc != CPEC_OK && rc != CPEC_UNAVAILABLE && count > 1) {
        rc = CPEC_OK;
        for (size_t i = 0; i < count && rc != CPEC_UNAVAILABLE; i++) {
            for (int attempt = 0; attempt < MS_RETRIES; attempt++)
                if ((rc = s_delays (self, ids + i, members + i, 1, now, status)) != CPEC_ABORTED)
                    break;
            if (rc != CPEC_OK && rc != CPEC_UNAVAILABLE && rc != CPEC_ABORTED)
                s_dead_letter (self, members[i], status);
            if (rc != CPEC_UNAVAILABLE)
                rc = CPEC_OK; //  an ABORTED one keeps its lease: taken again when it ends
        }
    }
    return rc;
}

int64_t
ms_timers_run (ms_t *self, int64_t now)
{
    assert (self);
    char **members = NULL;
    int64_t next = -1;
    cpec_status_t status;
    if (cpec_store_claim (self->store, self->claim_sha, MS_TIMERS_KEY, MS_LEASES_KEY, now,
                          MS_CLAIM_BATCH, MS_LEASE_MS, &members, &next, &status) != CPEC_OK) {
        cpec_log_debug (NULL, "timers: %s", status.message);
        return now + MS_POLL_MS;
    }
    size_t count = 0;
    while (members[count])
        count++;
    const char **due_ids = (const char **)calloc (count + 1, sizeof (char *));
    const char **due_members = (const char **)calloc (count + 1, sizeof (char *));
    const char **roots = (const char **)calloc (count + 1, sizeof (char *));
    const char **root_members = (const char **)calloc (count + 1, sizeof (char *));
    char **owned = (char **)calloc (count + 1, sizeof (char *));
    assert (due_ids && due_members && roots && root_members && owned);
    size_t dues = 0, root_count = 0;
    for (size_t i = 0; i < count; i++) {
        //  "kind:...|token": the lease to remove is the whole, the work is
        //  named by the part before the token
        const char *member = members[i];
        owned[i] = cpec_strdup (member);
        char *bar = strrchr (owned[i], '|');
        if (bar)
            *bar = '\0';
        if (strncmp (owned[i], "due:", 4) == 0) {
            due_ids[dues] = owned[i] + 4;
            due_members[dues++] = member;
        } else if (strncmp (owned[i], "risk:", 5) == 0) {
            roots[root_count] = owned[i] + 5;
            root_members[root_count++] = member;
        } else if (strncmp (owned[i], "prop:", 5) == 0) {
            //  prop:{id}:{version}
            char *colon = strrchr (owned[i], ':');
            if (colon > owned[i] + 4)
                *colon = '\0';
            roots[root_count] = owned[i] + 5;
            root_members[root_count++] = member;
        } else
            cpec_log_warn (NULL, "timers: unknown member %.80s", member);
    }
    int rc = CPEC_OK;
    if (dues)
        rc = s_delays (self, due_ids, due_members, dues, now, &status);
    if (root_count && rc != CPEC_UNAVAILABLE) {
        rc = ms_propagate (self, roots, root_count, root_members, root_count, true, NULL, &status);
        //  One root that cannot be worked holds up no other
        for (size_t i = 0; rc != CPEC_OK && rc != CPEC_UNAVAILABLE && i < root_count; i++) {
            int one = ms_propagate (self, roots + i, 1, root_members + i, 1, true, NULL, &status);
            if (one != CPEC_OK && one != CPEC_UNAVAILABLE && one != CPEC_ABORTED)
                s_dead_letter (self, root_members[i], &status);
            if (i + 1 == root_count)
                rc = one == CPEC_UNAVAILABLE ? one : CPEC_OK;
        }
    }
    if (rc != CPEC_OK)
        cpec_log_warn (NULL, "timers: %s: %s (the leases will expire and be taken again)",
                       cpec_code_name (rc), status.message);
    for (size_t i = 0; i < count; i++)
        free (owned[i]);
    free (owned);
    free (due_ids);
    free (due_members);
    free (roots);
    free (root_members);
    cpec_store_strings_destroy (&members);
    ms_publish (self);
    if (count == MS_CLAIM_BATCH && rc == CPEC_OK)
        return now; //  more are due: at once
    int64_t wake = now + MS_POLL_MS;
    if (next >= 0 && next < wake)
        wake = next;
    return wake;
}
