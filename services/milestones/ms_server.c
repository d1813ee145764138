/*  ms_server - the handlers of cpec.v1.Milestones.

    One function per method (cpec_handler_fn), chosen by the worker from
    ms_methods. A handler checks who may call, validates, reads what it
    needs, and makes its change in one outbox write: the milestone, its state
    and its predecessors' states (versions checked), the index sets, the
    timers, the events, and a prop:{id}:{version} timer that stands for the
    forecasts still to flow downstream. Right after the write the handler
    propagates them itself (ms_propagate), which removes that timer; if the
    replica dies first, the timer falls due and another replica does it.

    Zones are read straight from the registry's keys (cpec:sez:{id}, read
    only): a milestone write needs Redis alone, and the store's exact cache
    makes the read cheap.

    Keys: cpec:ms:{id} and cpec:msf:{id} (fields of the hashes cpec:ms and
    cpec:msf: ms_store_setup); sets cpec:ms:all, cpec:ms:zone:{zone},
    cpec:ms:province:{P}, cpec:ms:status:{STATUS}, cpec:ms:agency:{agency,
    lowercase}; sorted sets cpec:ms:timers, cpec:ms:leases.
*/
#include "milestones.h"

#include <assert.h>
#include <ctype.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/registry.pb-c.h"
#include "cpec_check.h"
#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"

#define S_KEY_MAX    200
#define S_PAGE_BYTES (512 * 1024)
#define S_LOAD_CHUNK 1000 //  milestones read per round trip in bulk reads

//  --------------------------------------------------------------------------
//  Small helpers

//  The zone's province, read from the registry's entity. NOT_FOUND names it.
static int
s_zone_province (ms_t *self, cpec_call_t *call, const char *path, const char *zone, char **province)
{
    char key[S_KEY_MAX];
    snprintf (key, sizeof (key), "cpec:sez:%s", zone);
    Cpec__V1__Sez *sez = NULL;
    int rc = cpec_store_get (self->store, key, &cpec__v1__sez__descriptor,
                             (ProtobufCMessage **)&sez, NULL, call->status);
    if (rc == CPEC_NOT_FOUND)
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "%s: no zone \"%s\" in the registry",
                                path, zone);
    if (rc == CPEC_OK) {
        *province = cpec_strdup (sez->province ? sez->province : "");
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
    }
    return rc;
}

//  Loads one milestone and its state; NOT_FOUND names it.
static int
s_load_one (ms_t *self, cpec_call_t *call, const char *id, Cpec__V1__Milestone **milestone,
            Cpec__V1__MilestoneState **state)
{
    const char *ids[1] = {id};
    int rc = ms_load (self, ids, 1, milestone, state, call->status);
    if (rc == CPEC_OK && (!*milestone || !*state)) {
        cpec_pb_destroy ((ProtobufCMessage **)milestone);
        cpec_pb_destroy ((ProtobufCMessage **)state);
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "milestone %s not found", id);
    }
    return rc;
}

static int
s_may_write_or_fail (cpec_call_t *call, const char *province, const char *what)
{
    if (!cpec_handler_may_write (call, province))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "%s: only an administrator or the authority of %s may change "
                                "milestones of its zones",
                                what, province && *province ? province : "the province");
    return CPEC_OK;
}

//  "cpec:ms:agency:{agency}" in lowercase.
static void
s_agency_key (char *key, size_t size, const char *agency)
{
    snprintf (key, size, "cpec:ms:agency:%s", agency);
    for (char *c = key + strlen ("cpec:ms:agency:"); *c; c++)
        *c = (char)tolower ((unsigned char)*c);
}

//  The index sets a milestone belongs to.
static cpec_keyset_t
s_sets (const Cpec__V1__Milestone *milestone)
{
    cpec_keyset_t sets = {0};
    cpec_keyset_add (&sets, "%s", "cpec:ms:all");
    cpec_keyset_add (&sets, "cpec:ms:zone:%s", milestone->zone_id);
    cpec_keyset_add (&sets, "cpec:ms:province:%s", milestone->province);
    cpec_keyset_add (&sets, "cpec:ms:status:%s", ms_status_name (milestone->status));
    if (milestone->agency && *milestone->agency) {
        char key[S_KEY_MAX];
        s_agency_key (key, sizeof (key), milestone->agency);
        cpec_keyset_add (&sets, "%s", key);
    }
    return sets;
}

static void
s_member (char *buffer, size_t size, const char *kind, const char *id)
{
    snprintf (buffer, size, "%s:%s", kind, id);
}

//  The timers of a milestone as it now stands: due:{id} while open.
static void
s_due_timer (cpec_indexes_t *indexes, const Cpec__V1__Milestone *milestone)
{
    char member[S_KEY_MAX];
    s_member (member, sizeof (member), "due", milestone->id);
    if (ms_open (milestone))
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, MS_TIMERS_KEY, member,
                          (double)ms_planned (milestone));
    else {
        cpec_indexes_add (indexes, CPEC_STORE_ZREM, MS_TIMERS_KEY, member, 0);
        s_member (member, sizeof (member), "risk", milestone->id);
        cpec_indexes_add (indexes, CPEC_STORE_ZREM, MS_TIMERS_KEY, member, 0);
    }
}

//  The prop:{id}:{version} marker of a change into member: due a grace
//  period from now, by when the writer has normally propagated the change
//  and removed it; if the writer died, another replica does the work then.
static void
s_prop_timer (cpec_indexes_t *indexes, const Cpec__V1__Milestone *milestone, char *member,
              size_t size)
{
    snprintf (member, size, "prop:%s:%u", milestone->id, milestone->version);
    cpec_indexes_add (indexes, CPEC_STORE_ZADD, MS_TIMERS_KEY, member,
                      (double)(cpec_now_ms () + MS_PROP_GRACE_MS));
}

//  An event about a milestone caused by this call.
static Cpec__V1__Event *
s_event_new (const char *type, const Cpec__V1__Milestone *milestone, cpec_call_t *call, int64_t now)
{
    return cpec_handler_event_new (type, milestone->zone_id, milestone->province, call, NULL, NULL,
                                   now);
}

static Cpec__V1__Event *
s_updated_event (const Cpec__V1__Milestone *milestone, uint32_t previous, cpec_call_t *call,
                 int64_t now)
{
    Cpec__V1__Event *event = s_event_new ("MilestoneUpdated", milestone, call, now);
    Cpec__V1__MilestoneUpdated *payload =
        (Cpec__V1__MilestoneUpdated *)cpec_pb_new (&cpec__v1__milestone_updated__descriptor);
    payload->milestone_id = cpec_strdup (milestone->id);
    payload->milestone = (Cpec__V1__Milestone *)cpec_pb_dup (&milestone->base);
    payload->previous_version = previous;
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_UPDATED;
    event->milestone_updated = payload;
    return event;
}

//  The answer: the milestone with its computed fields, moved into output.
static void
s_answer (ms_t *self, ProtobufCMessage *output, Cpec__V1__Milestone **milestone_p,
          const Cpec__V1__MilestoneState *state)
{
    (void)self;
    ms_fill (*milestone_p, state, cpec_now_ms ());
    cpec_pb_move (output, (ProtobufCMessage **)milestone_p);
}

//  --------------------------------------------------------------------------
//  A change of one milestone: written, then propagated

typedef struct
{
    Cpec__V1__Milestone *milestone;  //  the new state of the milestone (owned)
    uint32_t expected;               //  the version it replaces (0: new)
    Cpec__V1__MilestoneState *state; //  its state, when written (owned, may be NULL)
    uint32_t state_expected;
    Cpec__V1__MilestoneState *other; //  a predecessor's state, when written (owned)
    char *other_id;
    uint32_t other_expected;
    cpec_indexes_t indexes;
    Cpec__V1__Event *events[3];
    size_t event_count;
    bool local; //  nothing downstream can change (a title, an agency): no propagation
} s_change_t;

static void
s_change_fini (s_change_t *self)
{
    cpec_pb_destroy ((ProtobufCMessage **)&self->milestone);
    cpec_pb_destroy ((ProtobufCMessage **)&self->state);
    cpec_pb_destroy ((ProtobufCMessage **)&self->other);
    free (self->other_id);
    cpec_indexes_fini (&self->indexes);
    for (size_t i = 0; i < self->event_count; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&self->events[i]);
    *self = (s_change_t){0};
}

//  Writes the change, then propagates it downstream. On OK *answer is the
//  milestone as written (or, on a replay, as first answered).
static int
s_change_write (ms_t *self, cpec_call_t *call, s_change_t *change, bool propagate,
                Cpec__V1__Milestone **answer)
{
    char key[S_KEY_MAX], state_key[S_KEY_MAX], other_key[S_KEY_MAX], member[S_KEY_MAX];
    cpec_store_put_t puts[3];
    size_t put_count = 0;
    ms_key (key, sizeof (key), change->milestone->id);
    puts[put_count++] = (cpec_store_put_t){key, change->expected, &change->milestone->base};
    if (change->state) {
        ms_state_key (state_key, sizeof (state_key), change->milestone->id);
        puts[put_count++] =
            (cpec_store_put_t){state_key, change->state_expected, &change->state->base};
    }
    if (change->other) {
        ms_state_key (other_key, sizeof (other_key), change->other_id);
        puts[put_count++] =
            (cpec_store_put_t){other_key, change->other_expected, &change->other->base};
    }
    if (propagate)
        s_prop_timer (&change->indexes, change->milestone, member, sizeof (member));
    cpec_store_write_t write = {.request_id = call->request_id,
                                .puts = puts,
                                .put_count = put_count,
                                .indexes = change->indexes.items,
                                .index_count = change->indexes.count,
                                .events = (const Cpec__V1__Event *const *)change->events,
                                .event_count = change->event_count,
                                .answer = &change->milestone->base};
    ProtobufCMessage *replayed = NULL;
    int rc = cpec_handler_write (self->store, self->bus, self->metrics, call, &write,
                                 &cpec__v1__milestone__descriptor, &replayed);
    if (rc != CPEC_OK)
        return rc;
    if (replayed) {
        *answer = (Cpec__V1__Milestone *)replayed;
        return CPEC_OK;
    }
    if (propagate) {
        const char *roots[1] = {change->milestone->id};
        const char *done[1] = {member};
        cpec_status_t status;
        if (ms_propagate (self, roots, 1, done, 1, false, call->request_id, &status) != CPEC_OK)
            //  Written: the prop timer will finish the job.
            cpec_log_warn (call->request_id, "%s: forecasts not yet propagated: %s", call->method,
                           status.message);
    }
    *answer = change->milestone;
    change->milestone = NULL;
    return CPEC_OK;
}

//  Reads the answer's state for the computed fields and fills output.
static int
s_answer_fresh (ms_t *self, cpec_call_t *call, ProtobufCMessage *output,
                Cpec__V1__Milestone **answer)
{
    Cpec__V1__Milestone *current = NULL;
    Cpec__V1__MilestoneState *state = NULL;
    if (s_load_one (self, call, (*answer)->id, &current, &state) != CPEC_OK)
        cpec_status_clear (call->status); //  answer what was written, without a forecast
    cpec_pb_destroy ((ProtobufCMessage **)&current);
    s_answer (self, output, answer, state);
    cpec_pb_destroy ((ProtobufCMessage **)&state);
    return CPEC_OK;
}

//  --------------------------------------------------------------------------
//  Create

//  A fresh id for a milestone of zone: "<zone>-<8 hex digits>".
static char *
s_new_id (const char *zone)
{
    char uuid[37], id[S_KEY_MAX];
    cpec_uuid (uuid);
    snprintf (id, sizeof (id), "%s-%.8s", zone, uuid);
    return cpec_strdup (id);
}

int
ms_create (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
           ProtobufCMessage *output)
{
    ms_t *self = (ms_t *)state_arg;
    const Cpec__V1__CreateMilestoneRequest *request =
        (const Cpec__V1__CreateMilestoneRequest *)input;
    int64_t now = cpec_now_ms ();
    int rc = ms_validate_new (request->milestone, now, call->status);
    char *province = NULL;
    if (rc == CPEC_OK)
        rc = s_zone_province (self, call, "zone_id", request->milestone->zone_id, &province);
    if (rc == CPEC_OK)
        rc = s_may_write_or_fail (call, province, "Create");
    char *id = NULL;
    if (rc == CPEC_OK)
        id = request->milestone->id && *request->milestone->id
                 ? cpec_strdup (request->milestone->id)
                 : s_new_id (request->milestone->zone_id);
    const Cpec__V1__Milestone *given = request->milestone;
    for (int attempt = 0; rc == CPEC_OK && attempt < MS_RETRIES; attempt++) {
        //  The predecessors, which must exist
        size_t n = given->n_predecessors;
        const char **ids = (const char **)calloc (n + 1, sizeof (char *));
        Cpec__V1__Milestone **preds = (Cpec__V1__Milestone **)calloc (n + 1, sizeof (void *));
        Cpec__V1__MilestoneState **pred_states =
            (Cpec__V1__MilestoneState **)calloc (n + 1, sizeof (void *));
        assert (ids && preds && pred_states);
        for (size_t i = 0; i < n; i++)
            ids[i] = given->predecessors[i]->milestone_id;
        rc = ms_load (self, ids, n, preds, pred_states, call->status);
        for (size_t i = 0; rc == CPEC_OK && i < n; i++)
            if (!preds[i] || !pred_states[i])
                rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                      "predecessors[%zu].milestone_id: no milestone \"%s\"", i,
                                      ids[i]);
        s_change_t change = {0};
        if (rc == CPEC_OK) {
            Cpec__V1__Milestone *milestone = (Cpec__V1__Milestone *)cpec_pb_dup (&given->base);
            cpec_pb_string_set (&milestone->id, id);
            cpec_pb_string_set (&milestone->province, province);
            milestone->version = 1;
            if (milestone->status == CPEC__V1__MILESTONE__STATUS__STATUS_UNSPECIFIED)
                milestone->status = CPEC__V1__MILESTONE__STATUS__NOT_STARTED;
            if (milestone->kind == CPEC__V1__MILESTONE__KIND__KIND_UNSPECIFIED)
                milestone->kind = CPEC__V1__MILESTONE__KIND__OTHER;
            if (milestone->status == CPEC__V1__MILESTONE__STATUS__COMPLETED)
                milestone->percent_complete = 100;
            if (!milestone->baseline_due)
                milestone->baseline_due =
                    cpec_pb_timestamp_new (cpec_pb_timestamp_ms (milestone->planned_due));
            //  What the service keeps or computes is never taken from a caller
            for (size_t i = 0; i < milestone->n_history; i++)
                cpec_pb_destroy ((ProtobufCMessage **)&milestone->history[i]);
            free (milestone->history);
            milestone->history = NULL;
            milestone->n_history = 0;
            cpec_pb_destroy ((ProtobufCMessage **)&milestone->forecast_due);
            milestone->overdue = milestone->at_risk = false;
            milestone->slip_days = 0;
            cpec_handler_audit_set (&milestone->created, now, cpec_handler_subject (call));
            cpec_handler_audit_set (&milestone->updated, now, cpec_handler_subject (call));
            change.milestone = milestone;

            //  Its state, from its predecessors
            Cpec__V1__MilestoneState *state =
                (Cpec__V1__MilestoneState *)cpec_pb_new (&cpec__v1__milestone_state__descriptor);
            state->version = 1;
            ms_bound_t bound = {0};
            bool any = false;
            for (size_t i = 0; i < n; i++) {
                ms_bound_t one;
                if (ms_bound (preds[i], pred_states[i], given->predecessors[i]->lag_days, &one)) {
                    ms_bound_merge (&bound, &one);
                    any = true;
                }
            }
            state->pred_fixed_ms = any ? bound.fixed_ms : 0;
            state->has_pred_lead = bound.has_lead;
            state->pred_lead_ms = bound.lead_ms;
            state->at_risk = ms_at_risk (milestone, state, now);
            change.state = state;

            cpec_keyset_t sets = s_sets (milestone);
            cpec_keyset_apply (&change.indexes, CPEC_STORE_SADD, &sets, NULL, milestone->id);
            cpec_keyset_fini (&sets);
            s_due_timer (&change.indexes, milestone);
            int64_t risk_at = ms_risk_at (milestone, state);
            if (risk_at > now && !state->at_risk) {
                char member[S_KEY_MAX];
                s_member (member, sizeof (member), "risk", milestone->id);
                cpec_indexes_add (&change.indexes, CPEC_STORE_ZADD, MS_TIMERS_KEY, member,
                                  (double)risk_at);
            }
            Cpec__V1__Event *created = s_event_new ("MilestoneCreated", milestone, call, now);
            Cpec__V1__MilestoneCreated *payload = (Cpec__V1__MilestoneCreated *)cpec_pb_new (
                &cpec__v1__milestone_created__descriptor);
            payload->milestone_id = cpec_strdup (milestone->id);
            payload->milestone = (Cpec__V1__Milestone *)cpec_pb_dup (&milestone->base);
            created->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_CREATED;
            created->milestone_created = payload;
            change.events[change.event_count++] = created;
            if (state->at_risk) {
                Cpec__V1__Event *risk = s_event_new ("MilestoneAtRisk", milestone, call, now);
                Cpec__V1__MilestoneAtRisk *at_risk = (Cpec__V1__MilestoneAtRisk *)cpec_pb_new (
                    &cpec__v1__milestone_at_risk__descriptor);
                at_risk->milestone_id = cpec_strdup (milestone->id);
                at_risk->planned_due = cpec_pb_timestamp_new (ms_planned (milestone));
                at_risk->forecast_due = cpec_pb_timestamp_new (ms_forecast (milestone, state, now));
                at_risk->title = cpec_strdup (milestone->title);
                at_risk->agency = cpec_strdup (milestone->agency);
                risk->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_AT_RISK;
                risk->milestone_at_risk = at_risk;
                change.events[change.event_count++] = risk;
            }
        }
        //  Every predecessor's state gets the new successor, in the same write
        cpec_store_put_t *puts = (cpec_store_put_t *)calloc (n + 3, sizeof (cpec_store_put_t));
        char **keys = (char **)calloc (n + 3, sizeof (char *));
        assert (puts && keys);
        size_t put_count = 0;
        for (size_t i = 0; rc == CPEC_OK && i < n; i++) {
            Cpec__V1__MilestoneState *pred = pred_states[i];
            if (pred->n_successors >= MS_SUCCESSORS_MAX) {
                rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                                      "predecessors[%zu]: %s already has %d successors", i, ids[i],
                                      MS_SUCCESSORS_MAX);
                break;
            }
            pred->successors = (char **)cpec_realloc (pred->successors,
                                                      (pred->n_successors + 1) * sizeof (char *));
            pred->successors[pred->n_successors++] = cpec_strdup (id);
            pred->version++;
            char key[S_KEY_MAX];
            ms_state_key (key, sizeof (key), ids[i]);
            keys[put_count] = cpec_strdup (key);
            puts[put_count] = (cpec_store_put_t){keys[put_count], pred->version - 1, &pred->base};
            put_count++;
        }
        Cpec__V1__Milestone *answer = NULL;
        if (rc == CPEC_OK) {
            char key[S_KEY_MAX], state_key[S_KEY_MAX];
            ms_key (key, sizeof (key), id);
            ms_state_key (state_key, sizeof (state_key), id);
            keys[put_count] = cpec_strdup (key);
            puts[put_count++] = (cpec_store_put_t){keys[put_count - 1], 0, &change.milestone->base};
            keys[put_count] = cpec_strdup (state_key);
            puts[put_count++] = (cpec_store_put_t){keys[put_count - 1], 0, &change.state->base};
            //  A predecessor re-planned between our read and our write would
            //  leave this state behind: propagate from it as any change does.
            char member[S_KEY_MAX];
            s_prop_timer (&change.indexes, change.milestone, member, sizeof (member));
            cpec_store_write_t write = {.request_id = call->request_id,
                                        .puts = puts,
                                        .put_count = put_count,
                                        .indexes = change.indexes.items,
                                        .index_count = change.indexes.count,
                                        .events = (const Cpec__V1__Event *const *)change.events,
                                        .event_count = change.event_count,
                                        .answer = &change.milestone->base};
            ProtobufCMessage *replayed = NULL;
            rc = cpec_handler_write (self->store, self->bus, self->metrics, call, &write,
                                     &cpec__v1__milestone__descriptor, &replayed);
            if (rc == CPEC_ALREADY_EXISTS) {
                //  A predecessor's state cannot be new: the milestone exists
                char existing[S_KEY_MAX];
                ms_key (existing, sizeof (existing), id);
                if (strstr (call->status->message, existing))
                    rc = cpec_status_set (call->status, CPEC_ALREADY_EXISTS,
                                          "milestone %s already exists", id);
            }
            if (rc == CPEC_OK && !replayed) {
                const char *roots[1] = {id};
                const char *done[1] = {member};
                cpec_status_t propagated;
                if (ms_propagate (self, roots, 1, done, 1, false, call->request_id, &propagated) !=
                    CPEC_OK)
                    cpec_log_warn (call->request_id, "Create: forecasts not yet propagated: %s",
                                   propagated.message);
                cpec_log_info (call->request_id, "milestone %s created in %s by %s", id,
                               given->zone_id, cpec_handler_subject (call));
            }
            if (rc == CPEC_OK) {
                answer = replayed ? (Cpec__V1__Milestone *)replayed : change.milestone;
                if (!replayed)
                    change.milestone = NULL;
                s_answer_fresh (self, call, output, &answer);
            }
        }
        for (size_t i = 0; i < put_count; i++)
            free (keys[i]);
        free (keys);
        free (puts);
        s_change_fini (&change);
        for (size_t i = 0; i < n; i++) {
            cpec_pb_destroy ((ProtobufCMessage **)&preds[i]);
            cpec_pb_destroy ((ProtobufCMessage **)&pred_states[i]);
        }
        free (preds);
        free (pred_states);
        free (ids);
        if (rc != CPEC_ABORTED)
            break; //  ABORTED: a predecessor changed meanwhile, read again
        if (attempt + 1 < MS_RETRIES)
            rc = CPEC_OK;
    }
    free (id);
    free (province);
    return rc;
}

//  --------------------------------------------------------------------------
//  Get

int
ms_get (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input, ProtobufCMessage *output)
{
    ms_t *self = (ms_t *)state_arg;
    const Cpec__V1__GetMilestoneRequest *request = (const Cpec__V1__GetMilestoneRequest *)input;
    int rc = ms_validate_id ("id", request->id, call->status);
    Cpec__V1__Milestone *milestone = NULL;
    Cpec__V1__MilestoneState *state = NULL;
    if (rc == CPEC_OK)
        rc = s_load_one (self, call, request->id, &milestone, &state);
    if (rc == CPEC_OK)
        s_answer (self, output, &milestone, state);
    cpec_pb_destroy ((ProtobufCMessage **)&state);
    return rc;
}

//  --------------------------------------------------------------------------
//  List

static bool
s_list_match (const Cpec__V1__ListMilestonesRequest *request, const Cpec__V1__Milestone *milestone)
{
    if (request->overdue && !milestone->overdue)
        return false;
    if (request->at_risk && !milestone->at_risk)
        return false;
    int64_t planned = ms_planned (milestone);
    if (request->due_from && planned < cpec_pb_timestamp_ms (request->due_from))
        return false;
    if (request->due_to && planned >= cpec_pb_timestamp_ms (request->due_to))
        return false;
    return true;
}

int
ms_list (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
         ProtobufCMessage *output)
{
    ms_t *self = (ms_t *)state_arg;
    const Cpec__V1__ListMilestonesRequest *request = (const Cpec__V1__ListMilestonesRequest *)input;
    Cpec__V1__ListMilestonesResponse *response = (Cpec__V1__ListMilestonesResponse *)output;
    size_t page = 0;
    int rc = ms_validate_list (request, &page, call->status);
    if (rc != CPEC_OK)
        return rc;
    cpec_keyset_t filters = {0};
    if (request->zone_id && *request->zone_id)
        cpec_keyset_add (&filters, "cpec:ms:zone:%s", request->zone_id);
    if (request->status)
        cpec_keyset_add (&filters, "cpec:ms:status:%s", ms_status_name (request->status));
    if (request->agency && *request->agency) {
        char key[S_KEY_MAX];
        s_agency_key (key, sizeof (key), request->agency);
        cpec_keyset_add (&filters, "%s", key);
    }
    if (filters.count == 0)
        cpec_keyset_add (&filters, "%s", "cpec:ms:all");
    size_t limit = self->page_bytes ? self->page_bytes : S_PAGE_BYTES;
    size_t bytes = 0;
    char *after = cpec_strdup (request->cursor ? request->cursor : "");
    bool more = true, full = false;
    int64_t now = cpec_now_ms ();
    //  Ids in order, a page at a time, until the page is full of matches
    //  (the computed filters may skip many) or the ids run out.
    while (rc == CPEC_OK && more && !full) {
        char **ids = NULL;
        rc = cpec_store_members (self->store, (const char **)filters.keys, filters.count, after,
                                 page, &ids, &more, call->status);
        if (rc != CPEC_OK)
            break;
        size_t n = 0;
        while (ids[n])
            n++;
        Cpec__V1__Milestone **milestones = (Cpec__V1__Milestone **)calloc (n + 1, sizeof (void *));
        Cpec__V1__MilestoneState **states =
            (Cpec__V1__MilestoneState **)calloc (n + 1, sizeof (void *));
        assert (milestones && states);
        rc = ms_load (self, (const char *const *)ids, n, milestones, states, call->status);
        for (size_t i = 0; rc == CPEC_OK && i < n && !full; i++) {
            cpec_pb_string_set (&after, ids[i]);
            if (!milestones[i])
                continue;
            ms_fill (milestones[i], states[i], now);
            if (!s_list_match (request, milestones[i]))
                continue;
            size_t size = protobuf_c_message_get_packed_size (&milestones[i]->base);
            if (response->n_milestones == page || bytes + size > limit) {
                full = true; //  this one starts the next page
                break;
            }
            bytes += size;
            response->milestones = (Cpec__V1__Milestone **)cpec_realloc (
                response->milestones, (response->n_milestones + 1) * sizeof (void *));
            response->milestones[response->n_milestones++] = milestones[i];
            milestones[i] = NULL;
        }
        for (size_t i = 0; i < n; i++) {
            cpec_pb_destroy ((ProtobufCMessage **)&milestones[i]);
            cpec_pb_destroy ((ProtobufCMessage **)&states[i]);
        }
        free (milestones);
        free (states);
        cpec_store_strings_destroy (&ids);
    }
    if (rc == CPEC_OK && full && response->n_milestones == 0)
        rc = cpec_status_set (call->status, CPEC_RESOURCE_EXHAUSTED,
                              "one milestone exceeds the page limit of %zu bytes", limit);
    else if (rc == CPEC_OK && full)
        cpec_pb_string_set (&response->next_cursor,
                            response->milestones[response->n_milestones - 1]->id);
    free (after);
    cpec_keyset_fini (&filters);
    return rc;
}

//  --------------------------------------------------------------------------
//  Update, Complete, Replan

//  Loads the milestone a change is about, checks the caller may change it
//  and that it is at the expected version (0: any); sets up change with a
//  copy at version + 1.
static int
s_change_begin (ms_t *self, cpec_call_t *call, const char *id, uint32_t expected,
                s_change_t *change, Cpec__V1__MilestoneState **state)
{
    Cpec__V1__Milestone *stored = NULL;
    int rc = s_load_one (self, call, id, &stored, state);
    if (rc == CPEC_OK)
        rc = s_may_write_or_fail (call, stored->province, call->method);
    if (rc == CPEC_OK) {
        change->expected = expected ? expected : stored->version;
        change->milestone = (Cpec__V1__Milestone *)cpec_pb_dup (&stored->base);
        change->milestone->version = change->expected + 1;
        cpec_handler_audit_set (&change->milestone->updated, cpec_now_ms (),
                                cpec_handler_subject (call));
    }
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    return rc;
}

//  The index changes between two versions of a milestone.
static void
s_change_sets (s_change_t *change, const Cpec__V1__Milestone *before)
{
    cpec_keyset_t old_sets = s_sets (before);
    cpec_keyset_t new_sets = s_sets (change->milestone);
    cpec_keyset_apply (&change->indexes, CPEC_STORE_SREM, &old_sets, &new_sets,
                       change->milestone->id);
    cpec_keyset_apply (&change->indexes, CPEC_STORE_SADD, &new_sets, &old_sets,
                       change->milestone->id);
    cpec_keyset_fini (&old_sets);
    cpec_keyset_fini (&new_sets);
}

//  Finishes a change handler: write, propagate, answer.
static int
s_change_finish (ms_t *self, cpec_call_t *call, s_change_t *change, ProtobufCMessage *output)
{
    Cpec__V1__Milestone *answer = NULL;
    int rc = s_change_write (self, call, change, !change->local, &answer);
    if (rc == CPEC_ABORTED && strstr (call->status->message, "version mismatch"))
        rc = cpec_status_set (call->status, CPEC_ABORTED,
                              "milestone %s is not at version %u; read it again and retry",
                              change->milestone->id, change->expected);
    if (rc == CPEC_OK)
        s_answer_fresh (self, call, output, &answer);
    return rc;
}

//  What a handler does to the copy of a milestone it changes: sets the new
//  fields, index changes, timers and events on change, from the milestone
//  as it was (`before`) and its state. Returns a code (status set on error).
typedef int (s_apply_fn) (ms_t *self, cpec_call_t *call, const void *request,
                          const Cpec__V1__Milestone *before, const Cpec__V1__MilestoneState *state,
                          s_change_t *change);

//  Loads the milestone, applies, writes, propagates and answers: one attempt.
static int
s_change_once (ms_t *self, cpec_call_t *call, const char *id, uint32_t expected, s_apply_fn *apply,
               const void *request, ProtobufCMessage *output)
{
    s_change_t change = {0};
    Cpec__V1__MilestoneState *state = NULL;
    Cpec__V1__Milestone *before = NULL;
    int rc = s_change_begin (self, call, id, expected, &change, &state);
    if (rc == CPEC_OK) {
        before = (Cpec__V1__Milestone *)cpec_pb_dup (&change.milestone->base);
        rc = apply (self, call, request, before, state, &change);
    }
    if (rc == CPEC_OK)
        rc = s_change_finish (self, call, &change, output);
    else if (rc != CPEC_UNAVAILABLE && call->request_id && *call->request_id) {
        //  A retry of a change already made finds it made (completed,
        //  re-planned, linked): it gets the first answer, not a refusal.
        ProtobufCMessage *first = NULL;
        cpec_status_t probe;
        if (cpec_store_replayed (self->store, call->request_id, &cpec__v1__milestone__descriptor,
                                 &first, &probe) == CPEC_OK &&
            first) {
            cpec_status_clear (call->status);
            Cpec__V1__Milestone *answer = (Cpec__V1__Milestone *)first;
            cpec_log_info (call->request_id, "%s: replayed the first answer", call->method);
            rc = s_answer_fresh (self, call, output, &answer);
        }
    }
    cpec_pb_destroy ((ProtobufCMessage **)&before);
    cpec_pb_destroy ((ProtobufCMessage **)&state);
    s_change_fini (&change);
    return rc;
}

//  s_change_once; without an expected version (0: any), a concurrent write
//  of the milestone or of a state the change writes is read again.
static int
s_change_run (ms_t *self, cpec_call_t *call, const char *id, uint32_t expected, s_apply_fn *apply,
              const void *request, ProtobufCMessage *output)
{
    int rc = CPEC_ABORTED;
    for (int attempt = 0; rc == CPEC_ABORTED && attempt < MS_RETRIES; attempt++) {
        cpec_status_clear (call->status);
        rc = s_change_once (self, call, id, expected, apply, request, output);
        if (expected)
            break;
    }
    return rc;
}

//  Update: the fields the mask names (all updatable ones when empty).
static int
s_apply_update (ms_t *self, cpec_call_t *call, const void *request_arg,
                const Cpec__V1__Milestone *before, const Cpec__V1__MilestoneState *state,
                s_change_t *change)
{
    (void)self;
    (void)state;
    const Cpec__V1__UpdateMilestoneRequest *request =
        (const Cpec__V1__UpdateMilestoneRequest *)request_arg;
    static const char *fields[] = {"title",  "title_zh", "title_ur",         "kind",
                                   "agency", "status",   "percent_complete", NULL};
    Cpec__V1__Milestone *next = change->milestone;
    Cpec__V1__Milestone *given = (Cpec__V1__Milestone *)cpec_pb_dup (&request->milestone->base);
    for (const char **field = fields; *field; field++) {
        bool named = request->n_update_mask == 0;
        for (size_t i = 0; i < request->n_update_mask && !named; i++)
            named = strcmp (request->update_mask[i], *field) == 0;
        if (named)
            cpec_pb_swap_field (&next->base, &given->base, *field);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&given);
    if (next->kind == CPEC__V1__MILESTONE__KIND__KIND_UNSPECIFIED)
        next->kind = before->kind;
    if (next->status == CPEC__V1__MILESTONE__STATUS__STATUS_UNSPECIFIED)
        next->status = before->status;
    if (before->status == CPEC__V1__MILESTONE__STATUS__COMPLETED &&
        next->status != CPEC__V1__MILESTONE__STATUS__COMPLETED)
        return cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                                "milestone %s is completed: its status stays COMPLETED", next->id);
    if (next->status == CPEC__V1__MILESTONE__STATUS__COMPLETED &&
        before->status != CPEC__V1__MILESTONE__STATUS__COMPLETED)
        return cpec_status_set (
            call->status, CPEC_INVALID_ARGUMENT,
            "status: use Complete to complete a milestone (it records the date)");
    s_change_sets (change, before);
    s_due_timer (&change->indexes, next);
    change->events[change->event_count++] =
        s_updated_event (next, change->expected, call, cpec_now_ms ());
    //  Only the status (open, cancelled) bears on forecasts
    change->local = next->status == before->status;
    return CPEC_OK;
}

int
ms_update (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
           ProtobufCMessage *output)
{
    const Cpec__V1__UpdateMilestoneRequest *request =
        (const Cpec__V1__UpdateMilestoneRequest *)input;
    int rc = ms_validate_update (request, call->status);
    if (rc == CPEC_OK)
        rc = s_change_run ((ms_t *)state_arg, call, request->milestone->id,
                           request->expected_version, s_apply_update, request, output);
    return rc;
}

//  Complete: COMPLETED at the given time or now, MilestoneCompleted with the slip.
static int
s_apply_complete (ms_t *self, cpec_call_t *call, const void *request_arg,
                  const Cpec__V1__Milestone *before, const Cpec__V1__MilestoneState *state,
                  s_change_t *change)
{
    (void)self;
    const Cpec__V1__CompleteMilestoneRequest *request =
        (const Cpec__V1__CompleteMilestoneRequest *)request_arg;
    if (!ms_open (before))
        return cpec_status_set (call->status, CPEC_FAILED_PRECONDITION, "milestone %s is %s",
                                before->id, ms_status_name (before->status));
    int64_t now = cpec_now_ms ();
    int64_t completed = request->completed_at ? cpec_pb_timestamp_ms (request->completed_at) : now;
    Cpec__V1__Milestone *next = change->milestone;
    next->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    next->percent_complete = 100;
    cpec_pb_destroy ((ProtobufCMessage **)&next->completed_at);
    next->completed_at = cpec_pb_timestamp_new (completed);
    s_change_sets (change, before);
    s_due_timer (&change->indexes, next);
    Cpec__V1__Event *event = s_event_new ("MilestoneCompleted", next, call, now);
    Cpec__V1__MilestoneCompleted *payload =
        (Cpec__V1__MilestoneCompleted *)cpec_pb_new (&cpec__v1__milestone_completed__descriptor);
    payload->milestone_id = cpec_strdup (next->id);
    payload->planned_due = cpec_pb_timestamp_new (ms_planned (next));
    payload->completed_at = cpec_pb_timestamp_new (completed);
    payload->slip_days = (double)(completed - ms_planned (next)) / (double)MS_DAY_MS;
    payload->title = cpec_strdup (next->title);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_COMPLETED;
    event->milestone_completed = payload;
    change->events[change->event_count++] = event;
    //  Its at-risk flag ends with it, without a BackOnTrack
    if (state->at_risk) {
        change->state = (Cpec__V1__MilestoneState *)cpec_pb_dup (&state->base);
        change->state->at_risk = false;
        change->state_expected = state->version;
        change->state->version++;
    }
    return CPEC_OK;
}

int
ms_complete (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
             ProtobufCMessage *output)
{
    const Cpec__V1__CompleteMilestoneRequest *request =
        (const Cpec__V1__CompleteMilestoneRequest *)input;
    int rc = ms_validate_id ("id", request->id, call->status);
    if (rc == CPEC_OK && request->completed_at) {
        rc = ms_validate_due ("completed_at", request->completed_at, true, call->status);
        if (rc == CPEC_OK &&
            cpec_pb_timestamp_ms (request->completed_at) > cpec_now_ms () + MS_CLOCK_SKEW_MS)
            rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                  "completed_at: lies in the future");
    }
    if (rc == CPEC_OK)
        rc = s_change_run ((ms_t *)state_arg, call, request->id, request->expected_version,
                           s_apply_complete, request, output);
    return rc;
}

//  Replan: the new planned due, the history entry, MilestoneReplanned.
static int
s_apply_replan (ms_t *self, cpec_call_t *call, const void *request_arg,
                const Cpec__V1__Milestone *before, const Cpec__V1__MilestoneState *state,
                s_change_t *change)
{
    (void)self;
    (void)state;
    const Cpec__V1__ReplanMilestoneRequest *request =
        (const Cpec__V1__ReplanMilestoneRequest *)request_arg;
    Cpec__V1__Milestone *next = change->milestone;
    int64_t now = cpec_now_ms ();
    int64_t old_due = ms_planned (before);
    int64_t new_due = cpec_pb_timestamp_ms (request->planned_due);
    if (!ms_open (before))
        return cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                                "milestone %s is %s: only open milestones are re-planned",
                                before->id, ms_status_name (before->status));
    if (new_due == old_due)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "planned_due: equals the current plan");
    if (before->n_history >= MS_HISTORY_MAX)
        return cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                                "milestone %s has been re-planned %d times, the most kept",
                                before->id, MS_HISTORY_MAX);
    Cpec__V1__Replan *replan = (Cpec__V1__Replan *)cpec_pb_new (&cpec__v1__replan__descriptor);
    replan->at = cpec_pb_timestamp_new (now);
    replan->by = cpec_strdup (cpec_handler_subject (call));
    replan->old_due = cpec_pb_timestamp_new (old_due);
    replan->new_due = cpec_pb_timestamp_new (new_due);
    replan->reason = cpec_strdup (request->reason);
    next->history =
        (Cpec__V1__Replan **)cpec_realloc (next->history, (next->n_history + 1) * sizeof (void *));
    next->history[next->n_history++] = replan;
    cpec_pb_destroy ((ProtobufCMessage **)&next->planned_due);
    next->planned_due = cpec_pb_timestamp_new (new_due);
    s_due_timer (&change->indexes, next);
    Cpec__V1__Event *event = s_event_new ("MilestoneReplanned", next, call, now);
    Cpec__V1__MilestoneReplanned *payload =
        (Cpec__V1__MilestoneReplanned *)cpec_pb_new (&cpec__v1__milestone_replanned__descriptor);
    payload->milestone_id = cpec_strdup (next->id);
    payload->old_due = cpec_pb_timestamp_new (old_due);
    payload->new_due = cpec_pb_timestamp_new (new_due);
    payload->reason = cpec_strdup (request->reason);
    payload->title = cpec_strdup (next->title);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_REPLANNED;
    event->milestone_replanned = payload;
    change->events[change->event_count++] = event;
    return CPEC_OK;
}

int
ms_replan (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
           ProtobufCMessage *output)
{
    const Cpec__V1__ReplanMilestoneRequest *request =
        (const Cpec__V1__ReplanMilestoneRequest *)input;
    int rc = ms_validate_id ("id", request->id, call->status);
    if (rc == CPEC_OK)
        rc = ms_validate_due ("planned_due", request->planned_due, true, call->status);
    if (rc == CPEC_OK)
        rc = cpec_check_text ("reason", request->reason, true, MS_REASON_MAX, call->status);
    if (rc == CPEC_OK)
        rc = s_change_run ((ms_t *)state_arg, call, request->id, request->expected_version,
                           s_apply_replan, request, output);
    return rc;
}

//  --------------------------------------------------------------------------
//  Dependencies

//  FAILED_PRECONDITION naming the cycle when `before` already comes after
//  `after` (directly or not): then after -> ... -> before -> after.
static int
s_refuse_cycle (ms_t *self, cpec_call_t *call, const char *after, const char *before)
{
    //  Walk successors from `after`, remembering how each was reached.
    zhashx_t *parent = zhashx_new (); //  id -> the id it was reached from (strdup'd)
    zhashx_set_destructor (parent, (zhashx_destructor_fn *)zstr_free);
    zlistx_t *frontier = zlistx_new ();
    zlistx_set_destructor (frontier, (zlistx_destructor_fn *)zstr_free);
    zlistx_add_end (frontier, cpec_strdup (after));
    zhashx_insert (parent, after, cpec_strdup (""));
    int rc = CPEC_OK;
    bool found = false;
    while (rc == CPEC_OK && zlistx_size (frontier) && !found) {
        size_t n = zlistx_size (frontier);
        const char **ids = (const char **)calloc (n + 1, sizeof (char *));
        Cpec__V1__Milestone **milestones = (Cpec__V1__Milestone **)calloc (n + 1, sizeof (void *));
        Cpec__V1__MilestoneState **states =
            (Cpec__V1__MilestoneState **)calloc (n + 1, sizeof (void *));
        assert (ids && milestones && states);
        size_t i = 0;
        for (char *id = (char *)zlistx_first (frontier); id; id = (char *)zlistx_next (frontier))
            ids[i++] = id;
        rc = ms_load (self, ids, n, milestones, states, call->status);
        zlistx_t *next = zlistx_new ();
        zlistx_set_destructor (next, (zlistx_destructor_fn *)zstr_free);
        for (i = 0; rc == CPEC_OK && i < n && !found; i++)
            for (size_t s = 0; states[i] && s < states[i]->n_successors && !found; s++) {
                const char *successor = states[i]->successors[s];
                if (zhashx_lookup (parent, successor))
                    continue;
                zhashx_insert (parent, successor, cpec_strdup (ids[i]));
                if (strcmp (successor, before) == 0)
                    found = true;
                else
                    zlistx_add_end (next, cpec_strdup (successor));
            }
        for (i = 0; i < n; i++) {
            cpec_pb_destroy ((ProtobufCMessage **)&milestones[i]);
            cpec_pb_destroy ((ProtobufCMessage **)&states[i]);
        }
        free (ids);
        free (milestones);
        free (states);
        zlistx_destroy (&frontier);
        frontier = next;
    }
    if (rc == CPEC_OK && found) {
        //  before <- ... <- after, reversed into after -> ... -> before -> after
        char cycle[CPEC_STATUS_MESSAGE_MAX - 96] = "";
        const char *path[64];
        size_t length = 0;
        for (const char *id = before; id && *id && length < 64;
             id = (const char *)zhashx_lookup (parent, id))
            path[length++] = id;
        for (size_t k = length; k-- > 0;) {
            strncat (cycle, path[k], sizeof (cycle) - strlen (cycle) - 1);
            strncat (cycle, " -> ", sizeof (cycle) - strlen (cycle) - 1);
        }
        strncat (cycle, after, sizeof (cycle) - strlen (cycle) - 1);
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "dependency refused: it would close the cycle %s", cycle);
    }
    zlistx_destroy (&frontier);
    zhashx_destroy (&parent);
    return rc;
}

//  The predecessor's state as it will be written (next: a changed copy of
//  stored, taken over), checked against the version read.
static void
s_other_set (s_change_t *change, const char *id, const Cpec__V1__MilestoneState *stored,
             Cpec__V1__MilestoneState *next)
{
    change->other = next;
    change->other_id = cpec_strdup (id);
    change->other_expected = stored->version;
    next->version = stored->version + 1;
}

//  The end of a dependency change: the MilestoneUpdated event when it went
//  well, and the predecessor read for it freed.
static int
s_dependency_done (s_change_t *change, cpec_call_t *call, int rc, Cpec__V1__Milestone **pred,
                   Cpec__V1__MilestoneState **pred_state)
{
    if (rc == CPEC_OK)
        change->events[change->event_count++] =
            s_updated_event (change->milestone, change->expected, call, cpec_now_ms ());
    cpec_pb_destroy ((ProtobufCMessage **)pred);
    cpec_pb_destroy ((ProtobufCMessage **)pred_state);
    return rc;
}

//  AddDependency: the milestone waits on request->dependency (a new
//  predecessor, or a new lag for one it has); the predecessor's state lists
//  it as a successor.
static int
s_apply_add (ms_t *self, cpec_call_t *call, const void *request_arg,
             const Cpec__V1__Milestone *before, const Cpec__V1__MilestoneState *state,
             s_change_t *change)
{
    (void)state;
    const Cpec__V1__Dependency *dependency =
        ((const Cpec__V1__DependencyRequest *)request_arg)->dependency;
    const char *pred_id = dependency->milestone_id;
    Cpec__V1__Milestone *next = change->milestone;
    Cpec__V1__Milestone *pred = NULL;
    Cpec__V1__MilestoneState *pred_state = NULL;
    const char *ids[1] = {pred_id};
    int rc = ms_load (self, ids, 1, &pred, &pred_state, call->status);
    if (rc == CPEC_OK && (!pred || !pred_state))
        rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                              "dependency.milestone_id: no milestone \"%s\"", pred_id);
    long found = -1;
    for (size_t i = 0; rc == CPEC_OK && i < before->n_predecessors; i++)
        if (strcmp (before->predecessors[i]->milestone_id, pred_id) == 0)
            found = (long)i;
    if (rc != CPEC_OK)
        ;
    else if (found >= 0 && before->predecessors[found]->lag_days == dependency->lag_days)
        rc = cpec_status_set (call->status, CPEC_ALREADY_EXISTS,
                              "%s already waits on %s with a lag of %u days", before->id, pred_id,
                              dependency->lag_days);
    else if (found >= 0)
        next->predecessors[found]->lag_days = dependency->lag_days;
    else if (before->n_predecessors >= MS_PREDECESSORS_MAX)
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "%s already waits on %d milestones, the most allowed", before->id,
                              MS_PREDECESSORS_MAX);
    else if (pred_state->n_successors >= MS_SUCCESSORS_MAX)
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "%s already has %d successors, the most allowed", pred_id,
                              MS_SUCCESSORS_MAX);
    else if ((rc = s_refuse_cycle (self, call, before->id, pred_id)) == CPEC_OK) {
        next->predecessors = (Cpec__V1__Dependency **)cpec_realloc (
            next->predecessors, (next->n_predecessors + 1) * sizeof (void *));
        next->predecessors[next->n_predecessors++] =
            (Cpec__V1__Dependency *)cpec_pb_dup (&dependency->base);
        Cpec__V1__MilestoneState *other =
            (Cpec__V1__MilestoneState *)cpec_pb_dup (&pred_state->base);
        other->successors =
            (char **)cpec_realloc (other->successors, (other->n_successors + 1) * sizeof (char *));
        other->successors[other->n_successors++] = cpec_strdup (next->id);
        s_other_set (change, pred_id, pred_state, other);
    }
    return s_dependency_done (change, call, rc, &pred, &pred_state);
}

//  RemoveDependency: the milestone no longer waits on the predecessor, which
//  (if it still exists) no longer lists it.
static int
s_apply_remove (ms_t *self, cpec_call_t *call, const void *request_arg,
                const Cpec__V1__Milestone *before, const Cpec__V1__MilestoneState *state,
                s_change_t *change)
{
    (void)state;
    const char *pred_id =
        ((const Cpec__V1__DependencyRequest *)request_arg)->dependency->milestone_id;
    Cpec__V1__Milestone *next = change->milestone;
    long found = -1;
    for (size_t i = 0; i < before->n_predecessors; i++)
        if (strcmp (before->predecessors[i]->milestone_id, pred_id) == 0)
            found = (long)i;
    if (found < 0)
        return cpec_status_set (call->status, CPEC_NOT_FOUND, "%s does not wait on %s", before->id,
                                pred_id);
    cpec_pb_destroy ((ProtobufCMessage **)&next->predecessors[found]);
    memmove (next->predecessors + found, next->predecessors + found + 1,
             (next->n_predecessors - (size_t)found - 1) * sizeof (void *));
    next->n_predecessors--;
    Cpec__V1__Milestone *pred = NULL;
    Cpec__V1__MilestoneState *pred_state = NULL;
    const char *ids[1] = {pred_id};
    int rc = ms_load (self, ids, 1, &pred, &pred_state, call->status);
    if (rc == CPEC_OK && pred_state) {
        Cpec__V1__MilestoneState *other =
            (Cpec__V1__MilestoneState *)cpec_pb_dup (&pred_state->base);
        size_t kept = 0;
        for (size_t s = 0; s < other->n_successors; s++)
            if (strcmp (other->successors[s], next->id) == 0)
                free (other->successors[s]);
            else
                other->successors[kept++] = other->successors[s];
        other->n_successors = kept;
        s_other_set (change, pred_id, pred_state, other);
    }
    return s_dependency_done (change, call, rc, &pred, &pred_state);
}

//  Dependency changes that could close a cycle take this lock, so that two
//  of them cannot each pass the cycle check before the other is written.
#define S_GRAPH_LOCK    "cpec:ms:lock:graph"
#define S_GRAPH_LOCK_MS 5000 //  how long it is held at most (a holder that died)
#define S_GRAPH_WAIT_MS 3000 //  how long a caller waits for it

static const char s_unlock_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
    "return 0";

//  Takes the graph lock under token; UNAVAILABLE when it stays taken.
static int
s_graph_lock (ms_t *self, cpec_call_t *call, const char *token)
{
    char ms[16];
    snprintf (ms, sizeof (ms), "%d", S_GRAPH_LOCK_MS);
    int64_t until = cpec_clock_ms () + S_GRAPH_WAIT_MS;
    while (true) {
        const char *argv[6] = {"SET", S_GRAPH_LOCK, token, "NX", "PX", ms};
        redisReply *reply = cpec_store_command (self->store, 6, argv, NULL, call->status);
        if (!reply)
            return call->status->code;
        bool taken = reply->type == REDIS_REPLY_STATUS;
        freeReplyObject (reply);
        if (taken)
            return CPEC_OK;
        if (cpec_clock_ms () >= until)
            return cpec_status_set (call->status, CPEC_UNAVAILABLE,
                                    "another dependency change is in progress; retry");
        zclock_sleep (2);
    }
}

static void
s_graph_unlock (ms_t *self, const char *token)
{
    static char sha[41];
    const char *argv[3] = {"1", S_GRAPH_LOCK, token};
    redisReply *reply = cpec_store_script (self->store, s_unlock_script, sha, 3, argv, NULL, NULL);
    if (reply)
        freeReplyObject (reply);
}

//  Runs a dependency change (s_change_run); an addition under the graph lock.
static int
s_dependency (ms_t *self, cpec_call_t *call, const Cpec__V1__DependencyRequest *request,
              s_apply_fn *apply, ProtobufCMessage *output)
{
    int rc = ms_validate_id ("id", request->id, call->status);
    if (rc == CPEC_OK)
        rc = ms_validate_dependency (request->id, request->dependency, call->status);
    char token[37] = "";
    if (rc == CPEC_OK && apply == s_apply_add) {
        cpec_uuid (token);
        rc = s_graph_lock (self, call, token);
    }
    if (rc == CPEC_OK)
        rc = s_change_run (self, call, request->id, request->expected_version, apply, request,
                           output);
    if (*token)
        s_graph_unlock (self, token);
    return rc;
}

int
ms_add_dependency (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
                   ProtobufCMessage *output)
{
    return s_dependency ((ms_t *)state_arg, call, (const Cpec__V1__DependencyRequest *)input,
                         s_apply_add, output);
}

int
ms_remove_dependency (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output)
{
    return s_dependency ((ms_t *)state_arg, call, (const Cpec__V1__DependencyRequest *)input,
                         s_apply_remove, output);
}

//  --------------------------------------------------------------------------
//  ZoneSchedule and Portfolio: whole sets read in chunks

typedef struct
{
    Cpec__V1__Milestone **milestones;
    Cpec__V1__MilestoneState **states;
    size_t count;
} s_all_t;

static void
s_all_fini (s_all_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        cpec_pb_destroy ((ProtobufCMessage **)&self->milestones[i]);
        cpec_pb_destroy ((ProtobufCMessage **)&self->states[i]);
    }
    free (self->milestones);
    free (self->states);
    *self = (s_all_t){0};
}

//  Every milestone of the set `key` (those gone missing left out).
static int
s_all_load (ms_t *self, cpec_call_t *call, const char *key, s_all_t *all)
{
    char *after = cpec_strdup ("");
    bool more = true;
    int rc = CPEC_OK;
    while (rc == CPEC_OK && more) {
        char **ids = NULL;
        const char *keys[1] = {key};
        rc = cpec_store_members (self->store, keys, 1, after, S_LOAD_CHUNK, &ids, &more,
                                 call->status);
        if (rc != CPEC_OK)
            break;
        size_t n = 0;
        while (ids[n])
            n++;
        all->milestones = (Cpec__V1__Milestone **)cpec_realloc (
            all->milestones, (all->count + n + 1) * sizeof (void *));
        all->states = (Cpec__V1__MilestoneState **)cpec_realloc (all->states, (all->count + n + 1) *
                                                                                  sizeof (void *));
        memset (all->milestones + all->count, 0, (n + 1) * sizeof (void *));
        memset (all->states + all->count, 0, (n + 1) * sizeof (void *));
        rc = ms_load (self, (const char *const *)ids, n, all->milestones + all->count,
                      all->states + all->count, call->status);
        if (rc == CPEC_OK) {
            size_t kept = all->count;
            for (size_t i = all->count; i < all->count + n; i++)
                if (all->milestones[i] && all->states[i]) {
                    all->milestones[kept] = all->milestones[i];
                    all->states[kept++] = all->states[i];
                } else {
                    cpec_pb_destroy ((ProtobufCMessage **)&all->milestones[i]);
                    cpec_pb_destroy ((ProtobufCMessage **)&all->states[i]);
                }
            all->count = kept;
        }
        if (n) {
            free (after);
            after = cpec_strdup (ids[n - 1]);
        }
        cpec_store_strings_destroy (&ids);
    }
    free (after);
    return rc;
}

int
ms_zone_schedule (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
                  ProtobufCMessage *output)
{
    ms_t *self = (ms_t *)state_arg;
    const Cpec__V1__ZoneScheduleRequest *request = (const Cpec__V1__ZoneScheduleRequest *)input;
    Cpec__V1__ZoneScheduleResponse *schedule = (Cpec__V1__ZoneScheduleResponse *)output;
    int rc = cpec_check_slug ("zone_id", request->zone_id, 64, call->status);
    char *province = NULL;
    if (rc == CPEC_OK)
        rc = s_zone_province (self, call, "zone_id", request->zone_id, &province);
    free (province);
    s_all_t all = {0};
    if (rc == CPEC_OK) {
        char key[S_KEY_MAX];
        snprintf (key, sizeof (key), "cpec:ms:zone:%s", request->zone_id);
        rc = s_all_load (self, call, key, &all);
    }
    if (rc == CPEC_OK) {
        ms_schedule (all.milestones, all.states, all.count, cpec_now_ms (), schedule);
        cpec_pb_string_set (&schedule->zone_id, request->zone_id);
    }
    s_all_fini (&all);
    return rc;
}

//  The line of `name` in lines (created, with tally, when new).
static ms_tally_t *
s_line (zhashx_t *lines, const char *name, const char *zone, const char *province)
{
    ms_tally_t *tally = (ms_tally_t *)zhashx_lookup (lines, name);
    if (!tally) {
        tally = (ms_tally_t *)calloc (1, sizeof (ms_tally_t));
        assert (tally);
        tally->line =
            (Cpec__V1__PortfolioLine *)cpec_pb_new (&cpec__v1__portfolio_line__descriptor);
        tally->line->zone_id = cpec_strdup (zone);
        tally->line->province = cpec_strdup (province);
        zhashx_insert (lines, name, tally);
    }
    return tally;
}

//  Moves the lines (sorted by key) into a repeated field.
static void
s_lines_take (zhashx_t *lines, Cpec__V1__PortfolioLine ***field, size_t *count)
{
    zlistx_t *keys = zhashx_keys (lines);
    zlistx_set_comparator (keys, (zlistx_comparator_fn *)strcmp);
    zlistx_sort (keys);
    *count = zlistx_size (keys);
    *field = (Cpec__V1__PortfolioLine **)calloc (*count + 1, sizeof (void *));
    assert (*field);
    size_t i = 0;
    for (char *key = (char *)zlistx_first (keys); key; key = (char *)zlistx_next (keys)) {
        ms_tally_t *tally = (ms_tally_t *)zhashx_lookup (lines, key);
        ms_tally_finish (tally);
        (*field)[i++] = tally->line;
        tally->line = NULL;
        free (tally);
        zhashx_freefn (lines, key, NULL);
    }
    zlistx_destroy (&keys);
}

int
ms_portfolio (void *state_arg, cpec_call_t *call, const ProtobufCMessage *input,
              ProtobufCMessage *output)
{
    ms_t *self = (ms_t *)state_arg;
    const Cpec__V1__PortfolioRequest *request = (const Cpec__V1__PortfolioRequest *)input;
    Cpec__V1__PortfolioResponse *portfolio = (Cpec__V1__PortfolioResponse *)output;
    int rc = CPEC_OK;
    char key[S_KEY_MAX] = "cpec:ms:all";
    if (request->province && *request->province) {
        rc = cpec_check_text ("province", request->province, true, 8, call->status);
        snprintf (key, sizeof (key), "cpec:ms:province:%s", request->province);
    }
    s_all_t all = {0};
    if (rc == CPEC_OK)
        rc = s_all_load (self, call, key, &all);
    if (rc != CPEC_OK) {
        s_all_fini (&all);
        return rc;
    }
    int64_t now = cpec_now_ms ();
    zhashx_t *zones = zhashx_new ();
    zhashx_t *provinces = zhashx_new ();
    Cpec__V1__PortfolioLine *total =
        (Cpec__V1__PortfolioLine *)cpec_pb_new (&cpec__v1__portfolio_line__descriptor);
    ms_tally_t total_tally = {.line = total};
    for (size_t i = 0; i < all.count; i++) {
        Cpec__V1__Milestone *milestone = all.milestones[i];
        ms_fill (milestone, all.states[i], now);
        char zone_key[S_KEY_MAX];
        snprintf (zone_key, sizeof (zone_key), "%s/%s", milestone->province, milestone->zone_id);
        ms_tally_add (s_line (zones, zone_key, milestone->zone_id, milestone->province), milestone);
        ms_tally_add (s_line (provinces, milestone->province, "", milestone->province), milestone);
        ms_tally_add (&total_tally, milestone);
    }
    ms_tally_finish (&total_tally);
    s_lines_take (zones, &portfolio->zones, &portfolio->n_zones);
    s_lines_take (provinces, &portfolio->provinces, &portfolio->n_provinces);
    portfolio->total = total;
    portfolio->as_of = cpec_pb_timestamp_new (now);
    zhashx_destroy (&zones);
    zhashx_destroy (&provinces);
    s_all_fini (&all);
    return CPEC_OK;
}

const cpec_method_t ms_methods[] = {{"Create", ms_create},
                                    {"Get", ms_get},
                                    {"List", ms_list},
                                    {"Update", ms_update},
                                    {"Complete", ms_complete},
                                    {"Replan", ms_replan},
                                    {"AddDependency", ms_add_dependency},
                                    {"RemoveDependency", ms_remove_dependency},
                                    {"ZoneSchedule", ms_zone_schedule},
                                    {"Portfolio", ms_portfolio},
                                    {NULL, NULL}};
