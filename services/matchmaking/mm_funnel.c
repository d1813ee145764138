/*  mm_funnel - matches followed from proposal to production.

    PROPOSED -> INTEREST (one side) -> MUTUAL_INTEREST (the other side's
    INTEREST) -> MEETING_SCHEDULED (date; place or online; may be moved
    again) -> MOU_SIGNED -> ENTRY_APPLICATION (to a zone) -> PLOT_ALLOTTED
    -> IN_PRODUCTION; any open match may be DECLINED; a match still PROPOSED
    or INTEREST when CPEC_MATCH_EXPIRY_DAYS have passed since its proposal
    becomes EXPIRED, after a MatchExpiring reminder CPEC_MATCH_REMINDER_DAYS
    before. Every other move is refused (FAILED_PRECONDITION naming the
    moves open from the match's state).

    Who moves: an ADMIN or a SERVICE any match (naming the side for INTEREST);
    an ENTERPRISE the matches it is a side of, as itself; a PROVINCE
    authority PLOT_ALLOTTED and IN_PRODUCTION of matches in its province.

    Expiry uses the timers of common/lua/claim.lua, "remind:{id}" and
    "expire:{id}" in cpec:mm:timers: a replica claims a due timer under a
    lease and makes its change in one outbox write that also removes the
    lease, so a reminder or an expiry happens once whichever replica runs
    it, and a replica that dies holding one leaves it to another.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/registry.pb-c.h"
#include "cpec_check.h"
#include "cpec_handler.h"
#include "cpec_log.h"
#include "cpec_pb.h"
#include "mm.h"

#define S_KEY_MAX      200
#define S_MATCH_PREFIX "cpec:mm:match:"

#define S_ADMIN      CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_SERVICE    CPEC__V1__PRINCIPAL__ROLE__SERVICE
#define S_PROVINCE   CPEC__V1__PRINCIPAL__ROLE__PROVINCE
#define S_ENTERPRISE CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE

#define S_STATE(name) CPEC__V1__MATCH__STATE__##name

static const char *s_event_types[] = {"",
                                      "MatchProposed",
                                      "MatchInterest",
                                      "MatchMutualInterest",
                                      "MatchMeetingScheduled",
                                      "MatchMouSigned",
                                      "MatchEntryApplication",
                                      "MatchPlotAllotted",
                                      "MatchInProduction",
                                      "MatchDeclined",
                                      "MatchExpired"};

static void
s_match_key (char *buffer, const char *id)
{
    snprintf (buffer, S_KEY_MAX, S_MATCH_PREFIX "%s", id);
}

//  The pair key: both ids in order, so that (a, b) and (b, a) are one pair.
static void
s_pair_key (char *buffer, const char *a, const char *b)
{
    bool order = strcmp (a, b) < 0;
    snprintf (buffer, S_KEY_MAX, "cpec:mm:pair:%s:%s", order ? a : b, order ? b : a);
}

static bool
s_open (int state)
{
    return state != S_STATE (DECLINED) && state != S_STATE (EXPIRED) &&
           state != S_STATE (IN_PRODUCTION);
}

static bool
s_waiting (int state)
{
    return state == S_STATE (PROPOSED) || state == S_STATE (INTEREST);
}

//  The moves open from a state, for messages.
static const char *
s_next_moves (int state)
{
    switch (state) {
        case S_STATE (PROPOSED): return "INTEREST or DECLINED";
        case S_STATE (INTEREST): return "INTEREST (the other side) or DECLINED";
        case S_STATE (MUTUAL_INTEREST): return "MEETING_SCHEDULED or DECLINED";
        case S_STATE (MEETING_SCHEDULED):
            return "MEETING_SCHEDULED (again), MOU_SIGNED or DECLINED";
        case S_STATE (MOU_SIGNED): return "ENTRY_APPLICATION or DECLINED";
        case S_STATE (ENTRY_APPLICATION): return "PLOT_ALLOTTED or DECLINED";
        case S_STATE (PLOT_ALLOTTED): return "IN_PRODUCTION or DECLINED";
        default: return "none (it is final)";
    }
}

//  True when `to` is a legal move from `from` (INTEREST to itself is the
//  other side's interest; the handler checks the side).
static bool
s_legal (int from, int to)
{
    if (to == S_STATE (DECLINED))
        return s_open (from);
    switch (from) {
        case S_STATE (PROPOSED): return to == S_STATE (INTEREST);
        case S_STATE (INTEREST): return to == S_STATE (INTEREST);
        case S_STATE (MUTUAL_INTEREST): return to == S_STATE (MEETING_SCHEDULED);
        case S_STATE (MEETING_SCHEDULED):
            return to == S_STATE (MEETING_SCHEDULED) || to == S_STATE (MOU_SIGNED);
        case S_STATE (MOU_SIGNED): return to == S_STATE (ENTRY_APPLICATION);
        case S_STATE (ENTRY_APPLICATION): return to == S_STATE (PLOT_ALLOTTED);
        case S_STATE (PLOT_ALLOTTED): return to == S_STATE (IN_PRODUCTION);
        default: return false;
    }
}

static int
s_read_match (mm_t *self, cpec_status_t *status, const char *id, Cpec__V1__Match **match)
{
    if (!id || !cpec_check_slug_valid (id, 80))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "id: '%.80s' is not a match id",
                                id ? id : "");
    char key[S_KEY_MAX];
    s_match_key (key, id);
    uint32_t version = 0;
    int rc = cpec_store_get (self->store, key, &cpec__v1__match__descriptor,
                             (ProtobufCMessage **)match, &version, status);
    if (rc == CPEC_NOT_FOUND)
        return cpec_status_set (status, CPEC_NOT_FOUND, "match %s not found", id);
    if (rc == CPEC_OK)
        (*match)->version = version;
    return rc;
}

//  Appends a step to a match's history.
static void
s_step (Cpec__V1__Match *match, int from, int to, int64_t now, const char *by,
        const char *enterprise, const char *note)
{
    Cpec__V1__Match__Step *step =
        (Cpec__V1__Match__Step *)cpec_pb_new (&cpec__v1__match__step__descriptor);
    step->from = from;
    step->to = to;
    step->at = cpec_pb_timestamp_new (now);
    step->by = cpec_strdup (by ? by : "");
    step->enterprise_id = cpec_strdup (enterprise ? enterprise : "");
    step->note = cpec_strdup (note ? note : "");
    match->history = (Cpec__V1__Match__Step **)cpec_realloc (
        match->history, (match->n_history + 1) * sizeof (void *));
    match->history[match->n_history++] = step;
}

static Cpec__V1__Event *
s_match_event (const Cpec__V1__Match *match, int from, const char *enterprise,
               const cpec_call_t *call, const char *request_id, int64_t now)
{
    Cpec__V1__Event *event =
        cpec_handler_event_new (s_event_types[match->state], match->zone_id, match->province, call,
                                request_id, MM_ACTOR, now);
    Cpec__V1__MatchMoved *moved =
        (Cpec__V1__MatchMoved *)cpec_pb_new (&cpec__v1__match_moved__descriptor);
    moved->match_id = cpec_strdup (match->id);
    moved->enterprise_a = cpec_strdup (match->enterprise_a);
    moved->enterprise_b = cpec_strdup (match->enterprise_b);
    moved->from = from;
    moved->to = match->state;
    moved->zone_id = cpec_strdup (match->zone_id);
    moved->enterprise_id = cpec_strdup (enterprise ? enterprise : "");
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MATCH_MOVED;
    event->match_moved = moved;
    return event;
}

//  The index operations of a match going from state `from` (0: new).
static void
s_match_indexes (cpec_indexes_t *indexes, const Cpec__V1__Match *match, int from)
{
    char key[S_KEY_MAX];
    if (from == 0) {
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, MM_MATCHES_KEY, match->id, 0);
        snprintf (key, sizeof (key), "cpec:mm:matches:ent:%s", match->enterprise_a);
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, key, match->id, 0);
        snprintf (key, sizeof (key), "cpec:mm:matches:ent:%s", match->enterprise_b);
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, key, match->id, 0);
    } else if (from != (int)match->state) {
        snprintf (key, sizeof (key), "cpec:mm:matches:state:%s", mm_state_name (from));
        cpec_indexes_add (indexes, CPEC_STORE_ZREM, key, match->id, 0);
    }
    snprintf (key, sizeof (key), "cpec:mm:matches:state:%s", mm_state_name (match->state));
    cpec_indexes_add (indexes, CPEC_STORE_ZADD, key, match->id, 0);
    if (match->zone_id && *match->zone_id) {
        snprintf (key, sizeof (key), "cpec:mm:matches:zone:%s", match->zone_id);
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, key, match->id, 0);
    }
    char member[S_KEY_MAX];
    if (from == 0 && s_waiting (match->state)) {
        //  the timers, at the reminder and at the expiry
        int64_t expires = cpec_pb_timestamp_ms (match->expires_at);
        snprintf (member, sizeof (member), "remind:%s", match->id);
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, MM_TIMERS_KEY, member, 0);
        indexes->items[indexes->count - 1].score = 0; //  set by the caller
        snprintf (member, sizeof (member), "expire:%s", match->id);
        cpec_indexes_add (indexes, CPEC_STORE_ZADD, MM_TIMERS_KEY, member, (double)expires);
    } else if (s_waiting (from) && !s_waiting (match->state)) {
        snprintf (member, sizeof (member), "remind:%s", match->id);
        cpec_indexes_add (indexes, CPEC_STORE_ZREM, MM_TIMERS_KEY, member, 0);
        snprintf (member, sizeof (member), "expire:%s", match->id);
        cpec_indexes_add (indexes, CPEC_STORE_ZREM, MM_TIMERS_KEY, member, 0);
    }
}

//  A write of one match (and the pair entity when given: expected 0 to
//  create it, NULL message to delete it).
static int
s_write_match (mm_t *self, cpec_call_t *call, const char *request_id, Cpec__V1__Match *match,
               uint32_t expected, const cpec_store_put_t *pair, cpec_indexes_t *indexes,
               Cpec__V1__Event *first, Cpec__V1__Event *event, ProtobufCMessage **replayed,
               cpec_status_t *status)
{
    char key[S_KEY_MAX];
    s_match_key (key, match->id);
    cpec_store_put_t puts[2] = {
        {.key = key, .expected_version = expected, .message = &match->base}};
    if (pair)
        puts[1] = *pair;
    const Cpec__V1__Event *events[2] = {first ? first : event, event};
    size_t event_count = first ? 2 : 1;
    cpec_store_write_t write = {.request_id = request_id,
                                .puts = puts,
                                .put_count = pair ? 2 : 1,
                                .indexes = indexes->items,
                                .index_count = indexes->count,
                                .events = events,
                                .event_count = event_count,
                                .answer = &match->base};
    if (call)
        return cpec_handler_write (self->store, self->bus, self->metrics, call, &write,
                                   &cpec__v1__match__descriptor, replayed);
    char *stream_id = NULL;
    int rc = cpec_store_write (self->store, &write, &cpec__v1__match__descriptor, replayed,
                               &stream_id, status);
    free (stream_id);
    if (rc == CPEC_OK && !*replayed)
        cpec_handler_publish (self->bus, self->metrics, request_id,
                              (const Cpec__V1__Event *const *)events, event_count);
    return rc;
}

//  A retry of a write that went through gets its first answer.
static bool
s_replayed (mm_t *self, cpec_call_t *call, ProtobufCMessage *output)
{
    ProtobufCMessage *first = NULL;
    cpec_status_t probe;
    if (call->request_id && *call->request_id &&
        cpec_store_replayed (self->store, call->request_id, &cpec__v1__match__descriptor, &first,
                             &probe) == CPEC_OK &&
        first) {
        cpec_pb_move (output, &first);
        return true;
    }
    return false;
}

//  --------------------------------------------------------------------------
//  ProposeMatch

int
mm_propose_match (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                  ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__ProposeMatchRequest *request = (const Cpec__V1__ProposeMatchRequest *)input;
    if (!mm_may_act_for (call, request->enterprise_a))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "ProposeMatch: only an ADMIN, a SERVICE or enterprise_a itself "
                                "may propose a match");
    if (strcmp (request->enterprise_a, request->enterprise_b) == 0)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "enterprise_b: must differ from enterprise_a");
    if (s_replayed (self, call, output))
        return CPEC_OK;
    Cpec__V1__Enterprise *a = NULL, *b = NULL;
    int rc = mm_read_enterprise (self, call, request->enterprise_a, &a);
    if (rc == CPEC_OK)
        rc = mm_read_enterprise (self, call, request->enterprise_b, &b);
    if (rc == CPEC_OK && strcmp (a->country, b->country) == 0)
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "a match pairs a Pakistani and a Chinese firm: %s and %s are both %s",
                              a->id, b->id, a->country);
    if (rc != CPEC_OK) {
        cpec_pb_destroy ((ProtobufCMessage **)&a);
        cpec_pb_destroy ((ProtobufCMessage **)&b);
        return rc;
    }
    int64_t now = cpec_now_ms ();
    mm_profile_t pa, pb;
    mm_profile_fill (&pa, a);
    mm_profile_fill (&pb, b);
    mm_reasons_t reasons = {0};
    int points = mm_score (&self->config.weights, &pa, &pb, &reasons);

    Cpec__V1__Match *match = (Cpec__V1__Match *)cpec_pb_new (&cpec__v1__match__descriptor);
    char uuid[37], id[48];
    cpec_uuid (uuid);
    snprintf (id, sizeof (id), "m-%s", uuid);
    match->id = cpec_strdup (id);
    match->enterprise_a = cpec_strdup (a->id);
    match->enterprise_b = cpec_strdup (b->id);
    match->state = S_STATE (PROPOSED);
    match->score = points / 100.0;
    match->reasons = (char **)cpec_realloc (NULL, (reasons.count + 1) * sizeof (char *));
    for (size_t i = 0; i < reasons.count; i++) {
        match->reasons[i] = reasons.text[i];
        reasons.text[i] = NULL;
    }
    match->n_reasons = reasons.count;
    reasons.count = 0;
    match->province = cpec_strdup (a->province);
    match->sector = cpec_strdup (a->n_sectors          ? a->sectors[0]
                                 : a->n_isic_divisions ? a->isic_divisions[0]
                                                       : "");
    match->zone_id = cpec_strdup ("");
    int64_t expires = now + self->config.expiry_ms;
    match->expires_at = cpec_pb_timestamp_new (expires);
    match->version = 1;
    cpec_handler_audit_set (&match->created, now, cpec_handler_subject (call));
    cpec_handler_audit_set (&match->updated, now, cpec_handler_subject (call));
    s_step (match, 0, S_STATE (PROPOSED), now, cpec_handler_subject (call), a->id, NULL);

    cpec_indexes_t indexes = {0};
    s_match_indexes (&indexes, match, 0);
    for (size_t i = 0; i < indexes.count; i++)
        if (indexes.items[i].key && strcmp (indexes.items[i].key, MM_TIMERS_KEY) == 0 &&
            indexes.items[i].member && strncmp (indexes.items[i].member, "remind:", 7) == 0)
            indexes.items[i].score =
                (double)(expires - (self->config.reminder_ms > 0 ? self->config.reminder_ms : 1));
    char pair_key[S_KEY_MAX];
    s_pair_key (pair_key, a->id, b->id);
    Cpec__V1__MatchMoved *pair =
        (Cpec__V1__MatchMoved *)cpec_pb_new (&cpec__v1__match_moved__descriptor);
    pair->match_id = cpec_strdup (match->id);
    cpec_store_put_t pair_put = {.key = pair_key, .expected_version = 0, .message = &pair->base};
    Cpec__V1__Event *event = s_match_event (match, 0, a->id, call, NULL, now);
    ProtobufCMessage *replayed = NULL;
    rc = s_write_match (self, call, call->request_id, match, 0, &pair_put, &indexes, NULL, event,
                        &replayed, call->status);
    if (rc == CPEC_ALREADY_EXISTS) {
        Cpec__V1__MatchMoved *open = NULL;
        cpec_status_t probe;
        cpec_store_get (self->store, pair_key, &cpec__v1__match_moved__descriptor,
                        (ProtobufCMessage **)&open, NULL, &probe);
        cpec_status_set (call->status, rc, "an open match (%s) already pairs %s and %s",
                         open ? open->match_id : "?", a->id, b->id);
        cpec_pb_destroy ((ProtobufCMessage **)&open);
    } else if (rc == CPEC_OK && !replayed)
        cpec_log_info (call->request_id, "match %s proposed: %s and %s (%.2f)", match->id, a->id,
                       b->id, match->score);
    if (rc == CPEC_OK)
        cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&match);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    cpec_pb_destroy ((ProtobufCMessage **)&pair);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
    cpec_indexes_fini (&indexes);
    mm_profile_fini (&pa);
    mm_profile_fini (&pb);
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    cpec_pb_destroy ((ProtobufCMessage **)&b);
    return rc;
}

//  --------------------------------------------------------------------------
//  GetMatch, ListMatches

static bool
s_may_read (const cpec_call_t *call, const Cpec__V1__Match *match)
{
    if (call->principal->role != S_ENTERPRISE)
        return true;
    return mm_may_act_for (call, match->enterprise_a) || mm_may_act_for (call, match->enterprise_b);
}

int
mm_get_match (void *state, cpec_call_t *call, const ProtobufCMessage *input,
              ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__GetMatchRequest *request = (const Cpec__V1__GetMatchRequest *)input;
    Cpec__V1__Match *match = NULL;
    int rc = s_read_match (self, call->status, request->id, &match);
    if (rc == CPEC_OK && !s_may_read (call, match))
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "GetMatch: an enterprise may read its own matches only");
    if (rc == CPEC_OK)
        cpec_pb_move (output, (ProtobufCMessage **)&match);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    return rc;
}

int
mm_list_matches (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                 ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__ListMatchesRequest *request = (const Cpec__V1__ListMatchesRequest *)input;
    Cpec__V1__ListMatchesResponse *response = (Cpec__V1__ListMatchesResponse *)output;
    if (call->principal->role == S_ENTERPRISE && !mm_may_act_for (call, request->enterprise_id))
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "ListMatches: an enterprise lists its own matches (enterprise_id)");
    if (request->page_size > MM_PAGE_MAX)
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "page_size: at most %d",
                                MM_PAGE_MAX);
    if (*request->cursor && !cpec_check_slug_valid (request->cursor, 80))
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "cursor: not a cursor");
    if (request->state < 0 || request->state > S_STATE (EXPIRED))
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "state: unknown");
    char key[S_KEY_MAX];
    if (*request->enterprise_id)
        snprintf (key, sizeof (key), "cpec:mm:matches:ent:%s", request->enterprise_id);
    else if (*request->zone_id)
        snprintf (key, sizeof (key), "cpec:mm:matches:zone:%s", request->zone_id);
    else if (request->state)
        snprintf (key, sizeof (key), "cpec:mm:matches:state:%s", mm_state_name (request->state));
    else
        snprintf (key, sizeof (key), "%s", MM_MATCHES_KEY);
    char **ids = NULL, *next = NULL;
    size_t page = request->page_size ? request->page_size : MM_PAGE_DEFAULT;
    int rc = mm_list_ids (self, call, key, request->cursor, page, NULL, NULL, &ids, &next);
    bool more = false;
    Cpec__V1__Match **matches = NULL;
    size_t count = 0;
    if (rc == CPEC_OK)
        rc = cpec_handler_list_page (self->store, call, ids, S_MATCH_PREFIX, self->page_bytes,
                                     &cpec__v1__match__descriptor, (ProtobufCMessage ***)&matches,
                                     &count, &more);
    if (rc == CPEC_OK) {
        if (more) {
            //  cut short by size: go on after the last one read
            free (next);
            next = cpec_strdup (count ? matches[count - 1]->id : "");
        }
        //  the filters the walked set did not apply
        response->matches = matches;
        for (size_t i = 0; i < count; i++) {
            Cpec__V1__Match *m = matches[i];
            bool keep = (!request->state || (int)m->state == (int)request->state) &&
                        (!*request->zone_id || strcmp (m->zone_id, request->zone_id) == 0);
            if (keep)
                matches[response->n_matches++] = m;
            else
                cpec_pb_destroy ((ProtobufCMessage **)&m);
        }
        response->next_cursor = next;
        next = NULL;
    }
    free (next);
    cpec_store_strings_destroy (&ids);
    return rc;
}

//  --------------------------------------------------------------------------
//  MoveMatch

//  Which side moves: the caller's own enterprise, or the one named. NULL
//  with the error set when that is not a side of the match.
static int
s_side (const cpec_call_t *call, const Cpec__V1__MoveMatchRequest *request,
        const Cpec__V1__Match *match, const char **side)
{
    const Cpec__V1__Principal *who = call->principal;
    const char *named =
        request->enterprise_id && *request->enterprise_id ? request->enterprise_id : NULL;
    if (who->role == S_ENTERPRISE) {
        if (named && (!who->enterprise_id || strcmp (named, who->enterprise_id)))
            return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                    "enterprise_id: an enterprise moves a match as itself");
        named = who->enterprise_id;
    }
    if (named && strcmp (named, match->enterprise_a) && strcmp (named, match->enterprise_b))
        return cpec_status_set (call->status,
                                who->role == S_ENTERPRISE ? CPEC_PERMISSION_DENIED
                                                          : CPEC_INVALID_ARGUMENT,
                                "enterprise_id: %s is not a side of match %s", named, match->id);
    *side = named;
    return CPEC_OK;
}

int
mm_move_match (void *state, cpec_call_t *call, const ProtobufCMessage *input,
               ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    const Cpec__V1__MoveMatchRequest *request = (const Cpec__V1__MoveMatchRequest *)input;
    const Cpec__V1__Principal *who = call->principal;
    int to = request->state;
    if (to <= 0 || to > S_STATE (EXPIRED))
        return cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                "state: one of INTEREST, MEETING_SCHEDULED, MOU_SIGNED, "
                                "ENTRY_APPLICATION, PLOT_ALLOTTED, IN_PRODUCTION, DECLINED");
    if (who->role != S_ADMIN && who->role != S_SERVICE && who->role != S_ENTERPRISE &&
        who->role != S_PROVINCE)
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "MoveMatch: a VIEWER may not move a match");
    int rc = cpec_check_text ("note", request->note, false, MM_NOTE_MAX, call->status);
    if (rc != CPEC_OK)
        return rc;
    if (s_replayed (self, call, output))
        return CPEC_OK;
    Cpec__V1__Match *match = NULL;
    rc = s_read_match (self, call->status, request->id, &match);
    const char *side = NULL;
    if (rc == CPEC_OK && who->role == S_PROVINCE &&
        !((to == S_STATE (PLOT_ALLOTTED) || to == S_STATE (IN_PRODUCTION)) &&
          cpec_handler_may_write (call, match->province)))
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "MoveMatch: a PROVINCE authority moves matches of its own province "
                              "to PLOT_ALLOTTED or IN_PRODUCTION only");
    if (rc == CPEC_OK && who->role == S_ENTERPRISE && !s_may_read (call, match))
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "MoveMatch: %s is not a side of match %s",
                              who->enterprise_id ? who->enterprise_id : "", match->id);
    if (rc == CPEC_OK && who->role == S_ENTERPRISE &&
        (to == S_STATE (PLOT_ALLOTTED) || to == S_STATE (IN_PRODUCTION)))
        rc = cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                              "MoveMatch: %s is recorded by the zone's authority or BOI, not by "
                              "a side",
                              mm_state_name (to));
    if (rc == CPEC_OK)
        rc = s_side (call, request, match, &side);
    if (rc == CPEC_OK && request->expected_version && request->expected_version != match->version)
        rc = cpec_status_set (call->status, CPEC_ABORTED,
                              "match %s is at version %u, not %u; read it again", match->id,
                              match->version, request->expected_version);
    int from = rc == CPEC_OK ? (int)match->state : 0;
    if (rc == CPEC_OK && to == S_STATE (EXPIRED))
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "EXPIRED comes by itself when a proposal goes unanswered");
    else if (rc == CPEC_OK && to == S_STATE (MUTUAL_INTEREST))
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "MUTUAL_INTEREST comes when both sides have moved to INTEREST");
    else if (rc == CPEC_OK && !s_legal (from, to))
        rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                              "match %s is %s: it cannot move to %s (open: %s)", match->id,
                              mm_state_name (from), mm_state_name (to), s_next_moves (from));
    int64_t now = cpec_now_ms ();
    if (rc == CPEC_OK && to == S_STATE (INTEREST)) {
        if (!side)
            rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                  "enterprise_id: required: the side that is interested");
        else {
            bool is_a = strcmp (side, match->enterprise_a) == 0;
            if (is_a ? match->interest_a : match->interest_b)
                rc = cpec_status_set (call->status, CPEC_FAILED_PRECONDITION,
                                      "%s has already said it is interested in match %s", side,
                                      match->id);
            else if (is_a)
                match->interest_a = true;
            else
                match->interest_b = true;
            if (match->interest_a && match->interest_b)
                to = S_STATE (MUTUAL_INTEREST);
        }
    }
    if (rc == CPEC_OK && to == S_STATE (MEETING_SCHEDULED)) {
        const Cpec__V1__Match__Meeting *meeting = request->meeting;
        if (!meeting || !meeting->at)
            rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT, "meeting.at: required");
        else if ((rc = cpec_check_timestamp ("meeting.at", meeting->at, 0, call->status)) ==
                     CPEC_OK &&
                 !meeting->online && !(meeting->place && *meeting->place))
            rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                  "meeting: a place, or online");
        if (rc == CPEC_OK)
            rc =
                cpec_check_text ("meeting.place", meeting->place, false, MM_TEXT_MAX, call->status);
        if (rc == CPEC_OK) {
            cpec_pb_destroy ((ProtobufCMessage **)&match->meeting);
            match->meeting = (Cpec__V1__Match__Meeting *)cpec_pb_dup (&meeting->base);
        }
    }
    if (rc == CPEC_OK && to == S_STATE (ENTRY_APPLICATION)) {
        Cpec__V1__Sez *zone = NULL;
        char key[S_KEY_MAX];
        snprintf (key, sizeof (key), "cpec:sez:%s", request->zone_id);
        if (!cpec_check_slug_valid (request->zone_id, MM_ID_MAX))
            rc = cpec_status_set (call->status, CPEC_INVALID_ARGUMENT,
                                  "zone_id: required: the zone applied to");
        else if ((rc = cpec_store_get (self->store, key, &cpec__v1__sez__descriptor,
                                       (ProtobufCMessage **)&zone, NULL, call->status)) ==
                 CPEC_NOT_FOUND)
            rc = cpec_status_set (call->status, CPEC_NOT_FOUND, "zone %s not found",
                                  request->zone_id);
        if (rc == CPEC_OK) {
            cpec_pb_string_set (&match->zone_id, zone->id);
            cpec_pb_string_set (&match->province, zone->province);
        }
        cpec_pb_destroy ((ProtobufCMessage **)&zone);
    }
    if (rc != CPEC_OK) {
        cpec_pb_destroy ((ProtobufCMessage **)&match);
        return rc;
    }
    uint32_t expected = match->version;
    match->state = to;
    match->version = expected + 1;
    cpec_handler_audit_set (&match->updated, now, cpec_handler_subject (call));
    s_step (match, from, to, now, cpec_handler_subject (call), side, request->note);
    cpec_indexes_t indexes = {0};
    s_match_indexes (&indexes, match, from);
    char pair_key[S_KEY_MAX];
    s_pair_key (pair_key, match->enterprise_a, match->enterprise_b);
    cpec_store_put_t pair_delete = {.key = pair_key, .expected_version = 0, .message = NULL};
    Cpec__V1__Event *event = s_match_event (match, from, side, call, NULL, now);
    ProtobufCMessage *replayed = NULL;
    //  a match that ends frees its pair for a new proposal
    rc = s_write_match (self, call, call->request_id, match, expected,
                        !s_open (to) ? &pair_delete : NULL, &indexes, NULL, event, &replayed,
                        call->status);
    if (rc == CPEC_ABORTED)
        cpec_status_set (call->status, rc, "match %s changed meanwhile; read it again", match->id);
    else if (rc == CPEC_OK && !replayed)
        cpec_log_info (call->request_id, "match %s: %s -> %s by %s", match->id,
                       mm_state_name (from), mm_state_name (to), cpec_handler_subject (call));
    if (rc == CPEC_OK)
        cpec_pb_move (output, replayed ? &replayed : (ProtobufCMessage **)&match);
    cpec_indexes_fini (&indexes);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    return rc;
}

//  --------------------------------------------------------------------------
//  The expiry timers

//  A MatchExpiring event: the reminder of an unanswered proposal.
static Cpec__V1__Event *
s_expiring_event (const Cpec__V1__Match *match, const char *request_id, int64_t now)
{
    Cpec__V1__Event *event = cpec_handler_event_new (
        "MatchExpiring", match->zone_id, match->province, NULL, request_id, MM_ACTOR, now);
    Cpec__V1__MatchExpiring *expiring =
        (Cpec__V1__MatchExpiring *)cpec_pb_new (&cpec__v1__match_expiring__descriptor);
    expiring->match_id = cpec_strdup (match->id);
    expiring->enterprise_a = cpec_strdup (match->enterprise_a);
    expiring->enterprise_b = cpec_strdup (match->enterprise_b);
    expiring->expires_at = (Google__Protobuf__Timestamp *)cpec_pb_dup (&match->expires_at->base);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MATCH_EXPIRING;
    event->match_expiring = expiring;
    return event;
}

//  Works one claimed timer ("remind:{id}|token" or "expire:{id}|token").
//  OK when done or nothing is left to do; an error leaves the lease to lapse
//  (the timer is then taken again).
static int
s_timer (mm_t *self, const char *member, int64_t now, cpec_status_t *status)
{
    char work[S_KEY_MAX];
    snprintf (work, sizeof (work), "%s", member);
    char *bar = strrchr (work, '|');
    if (bar)
        *bar = '\0';
    bool remind = strncmp (work, "remind:", 7) == 0;
    const char *id = strchr (work, ':') ? strchr (work, ':') + 1 : "";
    Cpec__V1__Match *match = NULL;
    int rc = s_read_match (self, status, id, &match);
    bool nothing = rc == CPEC_NOT_FOUND || rc == CPEC_INVALID_ARGUMENT ||
                   (rc == CPEC_OK && (!s_waiting (match->state) || (remind && match->reminded)));
    if (nothing) {
        const char *argv[] = {"ZREM", MM_LEASES_KEY, member};
        redisReply *reply = cpec_store_command (self->store, 3, argv, NULL, status);
        if (reply)
            freeReplyObject (reply);
        cpec_pb_destroy ((ProtobufCMessage **)&match);
        return reply ? CPEC_OK : status->code;
    }
    if (rc != CPEC_OK)
        return rc;
    uint32_t expected = match->version;
    int from = match->state;
    match->version = expected + 1;
    cpec_handler_audit_set (&match->updated, now, MM_ACTOR);
    cpec_indexes_t indexes = {0};
    cpec_indexes_add (&indexes, CPEC_STORE_ZREM, MM_LEASES_KEY, member, 0);
    char request_id[S_KEY_MAX];
    snprintf (request_id, sizeof (request_id), "mm-%s-%s", remind ? "remind" : "expire", id);
    Cpec__V1__Event *event;
    char pair_key[S_KEY_MAX];
    s_pair_key (pair_key, match->enterprise_a, match->enterprise_b);
    cpec_store_put_t pair_delete = {.key = pair_key, .expected_version = 0, .message = NULL};
    Cpec__V1__Event *reminder = NULL;
    if (remind) {
        match->reminded = true;
        event = s_expiring_event (match, request_id, now);
    } else {
        //  the reminder first, if it never came (its write failed, or its
        //  replica died holding it): the two in one write
        if (!match->reminded) {
            match->reminded = true;
            reminder = s_expiring_event (match, request_id, now);
        }
        match->state = S_STATE (EXPIRED);
        s_step (match, from, S_STATE (EXPIRED), now, MM_ACTOR, NULL,
                "no answer before the proposal expired");
        s_match_indexes (&indexes, match, from);
        event = s_match_event (match, from, NULL, NULL, request_id, now);
    }
    ProtobufCMessage *replayed = NULL;
    rc = s_write_match (self, NULL, request_id, match, expected, remind ? NULL : &pair_delete,
                        &indexes, reminder, event, &replayed, status);
    if (rc == CPEC_OK && !replayed)
        cpec_log_info (request_id, "match %s: %s", match->id,
                       remind ? "reminder sent" : "expired unanswered");
    cpec_pb_destroy (&replayed);
    cpec_indexes_fini (&indexes);
    cpec_pb_destroy ((ProtobufCMessage **)&reminder);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    return rc;
}

int64_t
mm_timers_run (mm_t *self, int64_t now)
{
    char **members = NULL;
    int64_t next = -1;
    cpec_status_t status;
    if (cpec_store_claim (self->store, self->claim_sha, MM_TIMERS_KEY, MM_LEASES_KEY, now,
                          MM_CLAIM_BATCH, MM_LEASE_MS, &members, &next, &status) != CPEC_OK)
        return now + MM_POLL_MS;
    size_t count = 0;
    for (; members[count]; count++)
        if (s_timer (self, members[count], now, &status) != CPEC_OK)
            cpec_log_warn (NULL, "timer %s: %s (its lease will lapse and it is taken again)",
                           members[count], status.message);
    cpec_store_strings_destroy (&members);
    if (count == MM_CLAIM_BATCH)
        return now;
    int64_t wake = now + MM_POLL_MS;
    return next >= 0 && next < wake ? next : wake;
}

//  --------------------------------------------------------------------------
//  FunnelReport

typedef struct
{
    char *key;
    uint32_t counts[S_STATE (EXPIRED) + 1];
    uint32_t total;
} s_row_t;

typedef struct
{
    s_row_t *rows;
    size_t count;
} s_rows_t;

static void
s_count (s_rows_t *rows, const char *key, int state)
{
    size_t at = 0;
    while (at < rows->count && strcmp (rows->rows[at].key, key))
        at++;
    if (at == rows->count) {
        rows->rows = (s_row_t *)cpec_realloc (rows->rows, (rows->count + 1) * sizeof (s_row_t));
        memset (&rows->rows[at], 0, sizeof (s_row_t));
        rows->rows[at].key = cpec_strdup (key);
        rows->count++;
    }
    if (state > 0 && state <= S_STATE (EXPIRED))
        rows->rows[at].counts[state]++;
    rows->rows[at].total++;
}

static int
s_row_order (const void *x, const void *y)
{
    return strcmp (((const s_row_t *)x)->key, ((const s_row_t *)y)->key);
}

static Cpec__V1__FunnelRow *
s_row_message (const s_row_t *row)
{
    Cpec__V1__FunnelRow *out =
        (Cpec__V1__FunnelRow *)cpec_pb_new (&cpec__v1__funnel_row__descriptor);
    out->key = cpec_strdup (row->key);
    out->total = row->total;
    out->states = (Cpec__V1__FunnelRow__Count **)cpec_realloc (NULL, (S_STATE (EXPIRED) + 1) *
                                                                         sizeof (void *));
    for (int state = 1; state <= S_STATE (EXPIRED); state++)
        if (row->counts[state]) {
            Cpec__V1__FunnelRow__Count *count = (Cpec__V1__FunnelRow__Count *)cpec_pb_new (
                &cpec__v1__funnel_row__count__descriptor);
            count->state = state;
            count->matches = row->counts[state];
            out->states[out->n_states++] = count;
        }
    return out;
}

static void
s_rows_out (s_rows_t *rows, Cpec__V1__FunnelRow ***out, size_t *n_out)
{
    if (rows->count) //  no rows: no array (qsort of NULL is undefined)
        qsort (rows->rows, rows->count, sizeof (s_row_t), s_row_order);
    *out = (Cpec__V1__FunnelRow **)cpec_realloc (NULL, (rows->count + 1) * sizeof (void *));
    *n_out = 0;
    for (size_t i = 0; i < rows->count; i++) {
        (*out)[(*n_out)++] = s_row_message (&rows->rows[i]);
        free (rows->rows[i].key);
    }
    free (rows->rows);
    rows->rows = NULL;
    rows->count = 0;
}

int
mm_funnel_report (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                  ProtobufCMessage *output)
{
    mm_t *self = (mm_t *)state;
    (void)input;
    Cpec__V1__FunnelReportResponse *response = (Cpec__V1__FunnelReportResponse *)output;
    if (call->principal->role == S_ENTERPRISE)
        return cpec_status_set (call->status, CPEC_PERMISSION_DENIED,
                                "FunnelReport: for officers; an enterprise lists its own matches");
    s_rows_t zones = {0}, provinces = {0}, sectors = {0}, all = {0};
    char *cursor = cpec_strdup ("");
    int rc = CPEC_OK;
    //  Every match, a page at a time
    do {
        char **ids = NULL, *next = NULL;
        rc = mm_list_ids (self, call, MM_MATCHES_KEY, cursor, 1000, NULL, NULL, &ids, &next);
        free (cursor);
        cursor = next;
        if (rc != CPEC_OK) {
            cpec_store_strings_destroy (&ids);
            break;
        }
        size_t count = 0;
        while (ids[count])
            count++;
        char **keys = (char **)cpec_realloc (NULL, (count + 1) * sizeof (char *));
        for (size_t i = 0; i < count; i++) {
            char key[S_KEY_MAX];
            s_match_key (key, ids[i]);
            keys[i] = cpec_strdup (key);
        }
        ProtobufCMessage **found =
            (ProtobufCMessage **)cpec_realloc (NULL, (count + 1) * sizeof (void *));
        rc = count ? cpec_store_get_many (self->store, (const char **)keys, count,
                                          &cpec__v1__match__descriptor, found, call->status)
                   : CPEC_OK;
        for (size_t i = 0; i < count; i++) {
            Cpec__V1__Match *m = rc == CPEC_OK ? (Cpec__V1__Match *)found[i] : NULL;
            if (m) {
                s_count (&zones, m->zone_id, m->state);
                s_count (&provinces, m->province, m->state);
                s_count (&sectors, m->sector, m->state);
                s_count (&all, "", m->state);
                cpec_pb_destroy (&found[i]);
            }
            free (keys[i]);
        }
        free (keys);
        free (found);
        cpec_store_strings_destroy (&ids);
    } while (rc == CPEC_OK && cursor && *cursor);
    free (cursor);
    if (all.count == 0)
        s_count (&all, "", 0), all.rows[0].total = 0;
    response->all = s_row_message (&all.rows[0]);
    free (all.rows[0].key);
    free (all.rows);
    s_rows_out (&zones, &response->zones, &response->n_zones);
    s_rows_out (&provinces, &response->provinces, &response->n_provinces);
    s_rows_out (&sectors, &response->sectors, &response->n_sectors);
    return rc;
}
