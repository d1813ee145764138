/*  test_ms_graph - the milestone service's arithmetic (services/milestones/
    ms_graph.c): what a milestone passes on to its successors (ms_bound,
    ms_bound_merge), forecasts, overdue and at-risk, when a milestone will be
    at risk by the passing of time alone, whole days between two times, the
    computed fields of an answer, a zone's schedule (slack, critical path,
    order, finish) and the portfolio tallies. Every expected figure is worked
    out by hand in the comments. No Redis: the arithmetic is pure.

    Times are Unix ms counted in days from S_BASE (2026-01-01T00:00:00Z).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "milestones.h"

#define S_BASE 1767225600000LL //  2026-01-01T00:00:00Z
#define S_DAY  MS_DAY_MS
#define S_D(n) (S_BASE + (int64_t)(n)*S_DAY) //  day n after S_BASE

#define S_NOT_STARTED CPEC__V1__MILESTONE__STATUS__NOT_STARTED
#define S_IN_PROGRESS CPEC__V1__MILESTONE__STATUS__IN_PROGRESS
#define S_COMPLETED   CPEC__V1__MILESTONE__STATUS__COMPLETED
#define S_BLOCKED     CPEC__V1__MILESTONE__STATUS__BLOCKED
#define S_CANCELLED   CPEC__V1__MILESTONE__STATUS__CANCELLED

#define S_COD   CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION
#define S_POWER CPEC__V1__MILESTONE__KIND__POWER
#define S_LAND  CPEC__V1__MILESTONE__KIND__LAND_POSSESSION
#define S_OTHER CPEC__V1__MILESTONE__KIND__OTHER
#define S_ADMIT CPEC__V1__MILESTONE__KIND__ENTERPRISE_ADMISSION

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

//  --------------------------------------------------------------------------
//  Helpers

//  A milestone of zone "zone" planned for `planned` (Unix ms).
static Cpec__V1__Milestone *
s_ms (const char *id, int kind, int status, int64_t planned)
{
    Cpec__V1__Milestone *milestone =
        (Cpec__V1__Milestone *)cpec_pb_new (&cpec__v1__milestone__descriptor);
    milestone->id = cpec_strdup (id);
    milestone->zone_id = cpec_strdup ("zone");
    milestone->title = cpec_strdup (id);
    milestone->kind = (Cpec__V1__Milestone__Kind)kind;
    milestone->status = (Cpec__V1__Milestone__Status)status;
    milestone->planned_due = cpec_pb_timestamp_new (planned);
    milestone->baseline_due = cpec_pb_timestamp_new (planned);
    milestone->version = 1;
    return milestone;
}

//  Marks a milestone completed at `at`.
static void
s_complete (Cpec__V1__Milestone *milestone, int64_t at)
{
    milestone->status = S_COMPLETED;
    s_destroy (&milestone->completed_at);
    milestone->completed_at = cpec_pb_timestamp_new (at);
}

//  Adds a finish-to-start dependency: milestone waits on `pred` + lag days.
static void
s_pred (Cpec__V1__Milestone *milestone, const char *pred, uint32_t lag)
{
    Cpec__V1__Dependency *dependency =
        (Cpec__V1__Dependency *)cpec_pb_new (&cpec__v1__dependency__descriptor);
    dependency->milestone_id = cpec_strdup (pred);
    dependency->lag_days = lag;
    milestone->predecessors = (Cpec__V1__Dependency **)cpec_realloc (
        milestone->predecessors, (milestone->n_predecessors + 1) * sizeof (void *));
    milestone->predecessors[milestone->n_predecessors++] = dependency;
}

static Cpec__V1__MilestoneState *
s_state (int64_t fixed, bool has_lead, int64_t lead)
{
    Cpec__V1__MilestoneState *state =
        (Cpec__V1__MilestoneState *)cpec_pb_new (&cpec__v1__milestone_state__descriptor);
    state->version = 1;
    state->pred_fixed_ms = fixed;
    state->has_pred_lead = has_lead;
    state->pred_lead_ms = lead;
    return state;
}

//  The states of milestones given in graph order (predecessors first), as the
//  service derives them: each the merge of its predecessors' bounds. A
//  predecessor outside the list passes nothing (tests add it by hand).
static void
s_derive (Cpec__V1__Milestone **milestones, Cpec__V1__MilestoneState **states, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        ms_bound_t bound = {0};
        bool any = false;
        for (size_t p = 0; p < milestones[i]->n_predecessors; p++) {
            const Cpec__V1__Dependency *dependency = milestones[i]->predecessors[p];
            for (size_t j = 0; j < i; j++)
                if (strcmp (milestones[j]->id, dependency->milestone_id) == 0) {
                    ms_bound_t one;
                    if (ms_bound (milestones[j], states[j], dependency->lag_days, &one)) {
                        ms_bound_merge (&bound, &one);
                        any = true;
                    }
                }
        }
        s_destroy (&states[i]);
        states[i] =
            s_state (any ? bound.fixed_ms : 0, bound.has_lead, bound.has_lead ? bound.lead_ms : 0);
    }
}

static void
s_free_all (Cpec__V1__Milestone **milestones, Cpec__V1__MilestoneState **states, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        s_destroy (&milestones[i]);
        s_destroy (&states[i]);
    }
}

static Cpec__V1__ZoneScheduleResponse *
s_schedule (Cpec__V1__Milestone **milestones, Cpec__V1__MilestoneState **states, size_t count,
            int64_t now)
{
    Cpec__V1__ZoneScheduleResponse *schedule = (Cpec__V1__ZoneScheduleResponse *)cpec_pb_new (
        &cpec__v1__zone_schedule_response__descriptor);
    ms_schedule (milestones, states, count, now, schedule);
    assert_int_equal (schedule->n_entries, count);
    return schedule;
}

static const Cpec__V1__ScheduleEntry *
s_entry (const Cpec__V1__ZoneScheduleResponse *schedule, const char *id)
{
    for (size_t i = 0; i < schedule->n_entries; i++)
        if (strcmp (schedule->entries[i]->milestone->id, id) == 0)
            return schedule->entries[i];
    fail_msg ("no entry %s in the schedule", id);
    return NULL;
}

//  Asserts an entry's slack (in days) and critical flag.
#define s_assert_entry(schedule, id, slack, critical)                                              \
    s_assert_entry_at (schedule, id, slack, critical, __LINE__)

static void
s_assert_entry_at (const Cpec__V1__ZoneScheduleResponse *schedule, const char *id, double slack,
                   bool critical, int line)
{
    const Cpec__V1__ScheduleEntry *entry = s_entry (schedule, id);
    if (fabs (entry->slack_days - slack) > 1e-9 || entry->critical != critical)
        fail_msg ("line %d: %s: wanted slack %g critical %d, got slack %g critical %d", line, id,
                  slack, critical, entry->slack_days, entry->critical);
}

//  The entries' ids in order, joined by spaces.
static const char *
s_order (const Cpec__V1__ZoneScheduleResponse *schedule, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < schedule->n_entries; i++) {
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s", i ? " " : "",
                  schedule->entries[i]->milestone->id);
    }
    return buf;
}

static const char *
s_finish (const Cpec__V1__ZoneScheduleResponse *schedule)
{
    return schedule->finish_milestone_id ? schedule->finish_milestone_id : "";
}

#define assert_double_equal(a, b)                                                                  \
    do {                                                                                           \
        double a_ = (a), b_ = (b);                                                                 \
        if (fabs (a_ - b_) > 1e-9)                                                                 \
            fail_msg ("%s = %.12g, wanted %.12g", #a, a_, b_);                                     \
    } while (0)

//  --------------------------------------------------------------------------
//  Open, planned, bounds

static void
test_open_and_planned (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_NOT_STARTED, S_D (3));
    assert_true (ms_open (milestone));
    assert_int_equal (ms_planned (milestone), S_D (3));
    milestone->status = S_IN_PROGRESS;
    assert_true (ms_open (milestone));
    milestone->status = S_BLOCKED;
    assert_true (ms_open (milestone));
    milestone->status = CPEC__V1__MILESTONE__STATUS__STATUS_UNSPECIFIED;
    assert_true (ms_open (milestone));
    milestone->status = S_COMPLETED;
    assert_false (ms_open (milestone));
    milestone->status = S_CANCELLED;
    assert_false (ms_open (milestone));
    s_destroy (&milestone->planned_due);
    assert_int_equal (ms_planned (milestone), 0);
    s_destroy (&milestone);
}

static void
test_bound (void **state)
{
    (void)state;
    ms_bound_t bound;
    //  Cancelled: passes nothing
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_CANCELLED, S_D (10));
    bound = (ms_bound_t){.fixed_ms = 1, .has_lead = true, .lead_ms = 1};
    assert_false (ms_bound (milestone, NULL, 5, &bound));
    assert_int_equal (bound.fixed_ms, 0);
    assert_false (bound.has_lead);

    //  Completed: its completion plus the lag, no lead (whatever its state says)
    s_complete (milestone, S_D (12));
    Cpec__V1__MilestoneState *st = s_state (S_D (40), true, 9 * S_DAY);
    assert_true (ms_bound (milestone, st, 3, &bound));
    assert_int_equal (bound.fixed_ms, S_D (15));
    assert_false (bound.has_lead);
    //  ... without a completion date: the plan
    s_destroy (&milestone->completed_at);
    assert_true (ms_bound (milestone, NULL, 0, &bound));
    assert_int_equal (bound.fixed_ms, S_D (10));
    assert_false (bound.has_lead);

    //  Open without state: its plan + lag, and a lead of the lag (its
    //  forecast is never before today)
    milestone->status = S_IN_PROGRESS;
    assert_true (ms_bound (milestone, NULL, 4, &bound));
    assert_int_equal (bound.fixed_ms, S_D (14));
    assert_true (bound.has_lead);
    assert_int_equal (bound.lead_ms, 4 * S_DAY);

    //  Open, predecessors fixing it later than its plan and leading by 9 days
    assert_true (ms_bound (milestone, st, 2, &bound));
    assert_int_equal (bound.fixed_ms, S_D (42));
    assert_true (bound.has_lead);
    assert_int_equal (bound.lead_ms, 11 * S_DAY);

    //  Open, predecessors earlier than its plan and all closed (no lead)
    s_destroy (&st);
    st = s_state (S_D (5), false, 77 * S_DAY); //  lead ignored without has_pred_lead
    assert_true (ms_bound (milestone, st, 0, &bound));
    assert_int_equal (bound.fixed_ms, S_D (10));
    assert_true (bound.has_lead);
    assert_int_equal (bound.lead_ms, 0);

    //  What an open milestone passes on is its forecast plus the lag, at any time
    s_destroy (&st);
    st = s_state (S_D (20), true, 6 * S_DAY);
    const int64_t nows[] = {S_D (0), S_D (13), S_D (14) + 1, S_D (30), S_D (100)};
    for (size_t i = 0; i < sizeof (nows) / sizeof (nows[0]); i++) {
        assert_true (ms_bound (milestone, st, 7, &bound));
        int64_t passed = bound.fixed_ms;
        if (bound.has_lead && nows[i] + bound.lead_ms > passed)
            passed = nows[i] + bound.lead_ms;
        assert_int_equal (passed, ms_forecast (milestone, st, nows[i]) + 7 * S_DAY);
    }
    s_destroy (&st);
    s_destroy (&milestone);
}

static void
test_bound_merge (void **state)
{
    (void)state;
    ms_bound_t into = {0};
    ms_bound_t closed = {.fixed_ms = S_D (8)};
    ms_bound_merge (&into, &closed);
    assert_int_equal (into.fixed_ms, S_D (8));
    assert_false (into.has_lead);
    ms_bound_t open = {.fixed_ms = S_D (5), .has_lead = true, .lead_ms = 2 * S_DAY};
    ms_bound_merge (&into, &open);
    assert_int_equal (into.fixed_ms, S_D (8)); //  the later
    assert_true (into.has_lead);
    assert_int_equal (into.lead_ms, 2 * S_DAY);
    ms_bound_t shorter = {.fixed_ms = S_D (9), .has_lead = true, .lead_ms = S_DAY};
    ms_bound_merge (&into, &shorter);
    assert_int_equal (into.fixed_ms, S_D (9));
    assert_int_equal (into.lead_ms, 2 * S_DAY); //  the longer lead stays
    ms_bound_t longer = {.fixed_ms = S_D (1), .has_lead = true, .lead_ms = 5 * S_DAY};
    ms_bound_merge (&into, &longer);
    assert_int_equal (into.fixed_ms, S_D (9));
    assert_int_equal (into.lead_ms, 5 * S_DAY);
    ms_bound_merge (&into, &closed); //  a closed one takes no lead away
    assert_true (into.has_lead);
    assert_int_equal (into.lead_ms, 5 * S_DAY);

    //  A lead of 0 is a lead: merged into a bound without one
    ms_bound_t none = {0};
    ms_bound_t zero = {.fixed_ms = S_D (2), .has_lead = true, .lead_ms = 0};
    ms_bound_merge (&none, &zero);
    assert_true (none.has_lead);
    assert_int_equal (none.lead_ms, 0);
}

//  --------------------------------------------------------------------------
//  Forecast, overdue, at risk, risk time

static void
test_forecast (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_IN_PROGRESS, S_D (10));
    //  No state: max(planned, now)
    assert_int_equal (ms_forecast (milestone, NULL, S_D (0)), S_D (10));
    assert_int_equal (ms_forecast (milestone, NULL, S_D (12)), S_D (12));
    //  Each of the four terms in turn the latest
    Cpec__V1__MilestoneState *st = s_state (S_D (15), true, 3 * S_DAY);
    assert_int_equal (ms_forecast (milestone, st, S_D (0)), S_D (15));      //  pred_fixed
    assert_int_equal (ms_forecast (milestone, st, S_D (13)), S_D (16));     //  now + lead
    assert_int_equal (ms_forecast (milestone, st, S_D (11) + 7), S_D (15)); //  pred_fixed still
    st->pred_fixed_ms = S_D (2);
    assert_int_equal (ms_forecast (milestone, st, S_D (1)), S_D (10)); //  planned
    st->has_pred_lead = false;
    assert_int_equal (ms_forecast (milestone, st, S_D (13)), S_D (13)); //  now
    st->pred_lead_ms = 0;
    st->has_pred_lead = true;
    assert_int_equal (ms_forecast (milestone, st, S_D (13)), S_D (13)); //  now + 0
    //  Completed: its completion, before or after the plan, whatever the state
    st->pred_fixed_ms = S_D (50);
    s_complete (milestone, S_D (7));
    assert_int_equal (ms_forecast (milestone, st, S_D (20)), S_D (7));
    s_complete (milestone, S_D (14));
    assert_int_equal (ms_forecast (milestone, NULL, S_D (20)), S_D (14));
    s_destroy (&st);
    s_destroy (&milestone);
}

static void
test_overdue (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_NOT_STARTED, S_D (10));
    assert_false (ms_overdue (milestone, S_D (9)));
    assert_false (ms_overdue (milestone, S_D (10))); //  due at that instant: not yet late
    assert_true (ms_overdue (milestone, S_D (10) + 1));
    milestone->status = S_BLOCKED;
    assert_true (ms_overdue (milestone, S_D (11)));
    milestone->status = S_CANCELLED;
    assert_false (ms_overdue (milestone, S_D (11)));
    s_complete (milestone, S_D (11));
    assert_false (ms_overdue (milestone, S_D (20)));
    s_destroy (&milestone);
}

static void
test_at_risk (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_IN_PROGRESS, S_D (10));
    assert_false (ms_at_risk (milestone, NULL, S_D (30))); //  no predecessors: late is not at risk
    Cpec__V1__MilestoneState *st = s_state (S_D (10), false, 0);
    assert_false (ms_at_risk (milestone, st, S_D (0))); //  fixed exactly at the plan
    st->pred_fixed_ms = S_D (10) + 1;
    assert_true (ms_at_risk (milestone, st, S_D (0)));
    //  By the lead: now + lead past the plan
    st->pred_fixed_ms = S_D (1);
    st->has_pred_lead = true;
    st->pred_lead_ms = 4 * S_DAY;
    assert_false (ms_at_risk (milestone, st, S_D (6)));
    assert_true (ms_at_risk (milestone, st, S_D (6) + 1));
    st->has_pred_lead = false; //  the lead counts only with has_pred_lead
    assert_false (ms_at_risk (milestone, st, S_D (9)));
    //  Closed milestones are never at risk
    st->pred_fixed_ms = S_D (40);
    assert_true (ms_at_risk (milestone, st, S_D (0)));
    milestone->status = S_CANCELLED;
    assert_false (ms_at_risk (milestone, st, S_D (0)));
    s_complete (milestone, S_D (12));
    assert_false (ms_at_risk (milestone, st, S_D (0)));
    s_destroy (&st);
    s_destroy (&milestone);
}

static void
test_risk_at (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_IN_PROGRESS, S_D (10));
    //  Never by time alone: no state, no lead, closed
    assert_int_equal (ms_risk_at (milestone, NULL), -1);
    Cpec__V1__MilestoneState *st = s_state (S_D (5), false, 0);
    assert_int_equal (ms_risk_at (milestone, st), -1);
    //  Already, whatever the time: the fixed part is past the plan
    st->has_pred_lead = true;
    st->pred_lead_ms = 2 * S_DAY;
    st->pred_fixed_ms = S_D (11);
    assert_true (ms_at_risk (milestone, st, S_D (0)));
    assert_int_equal (ms_risk_at (milestone, st), -1);
    //  By time: the first ms at which now + lead passes the plan
    const int64_t leads[] = {0, 1, 2 * S_DAY, 3 * S_DAY + 17, 40 * S_DAY};
    const int64_t fixes[] = {0, S_D (5), S_D (10)};
    for (size_t l = 0; l < sizeof (leads) / sizeof (leads[0]); l++)
        for (size_t f = 0; f < sizeof (fixes) / sizeof (fixes[0]); f++) {
            st->pred_fixed_ms = fixes[f];
            st->pred_lead_ms = leads[l];
            int64_t at = ms_risk_at (milestone, st);
            assert_int_equal (at, S_D (10) - leads[l] + 1);
            assert_false (ms_at_risk (milestone, st, at - 1));
            assert_true (ms_at_risk (milestone, st, at));
            assert_true (ms_at_risk (milestone, st, at + S_DAY));
        }
    milestone->status = S_CANCELLED;
    assert_int_equal (ms_risk_at (milestone, st), -1);
    s_complete (milestone, S_D (3));
    assert_int_equal (ms_risk_at (milestone, st), -1);
    s_destroy (&st);
    s_destroy (&milestone);
}

static void
test_days_between (void **state)
{
    (void)state;
    assert_int_equal (ms_days_between (S_BASE, S_BASE), 0);
    assert_int_equal (ms_days_between (S_BASE, S_BASE + S_DAY - 1), 0);
    assert_int_equal (ms_days_between (S_BASE, S_BASE + S_DAY), 1);
    assert_int_equal (ms_days_between (S_BASE, S_BASE + 10 * S_DAY + S_DAY / 2), 10);
    assert_int_equal (ms_days_between (S_BASE, S_BASE - 1), -1); //  floor, not truncation
    assert_int_equal (ms_days_between (S_BASE, S_BASE - S_DAY), -1);
    assert_int_equal (ms_days_between (S_BASE, S_BASE - S_DAY - 1), -2);
    assert_int_equal (ms_days_between (S_BASE + 10 * S_DAY + S_DAY / 2, S_BASE), -11);
    assert_int_equal (ms_days_between (0, -3 * S_DAY + 1), -3);
    assert_int_equal (ms_days_between (S_D (-400), S_D (400)), 800);
}

static void
test_fill (void **state)
{
    (void)state;
    //  Open, in the future, nothing pushing it
    Cpec__V1__Milestone *milestone = s_ms ("m", S_POWER, S_IN_PROGRESS, S_D (10));
    ms_fill (milestone, NULL, S_D (0));
    assert_int_equal (cpec_pb_timestamp_ms (milestone->forecast_due), S_D (10));
    assert_false (milestone->overdue);
    assert_false (milestone->at_risk);
    assert_double_equal (milestone->slip_days, 0);

    //  Pushed 3 days by its predecessors: at risk, slipping 3 days
    Cpec__V1__MilestoneState *st = s_state (S_D (13), true, S_DAY);
    milestone->overdue = true; //  stale values are replaced
    ms_fill (milestone, st, S_D (0));
    assert_int_equal (cpec_pb_timestamp_ms (milestone->forecast_due), S_D (13));
    assert_false (milestone->overdue);
    assert_true (milestone->at_risk);
    assert_double_equal (milestone->slip_days, 3);

    //  Two and a half days late, nothing pushing it: forecast today
    ms_fill (milestone, NULL, S_D (12) + S_DAY / 2);
    assert_int_equal (cpec_pb_timestamp_ms (milestone->forecast_due), S_D (12) + S_DAY / 2);
    assert_true (milestone->overdue);
    assert_false (milestone->at_risk);
    assert_double_equal (milestone->slip_days, 2.5);

    //  Completed a day and a half early; then four days late
    s_complete (milestone, S_D (8) + S_DAY / 2);
    ms_fill (milestone, st, S_D (20));
    assert_int_equal (cpec_pb_timestamp_ms (milestone->forecast_due), S_D (8) + S_DAY / 2);
    assert_false (milestone->overdue);
    assert_false (milestone->at_risk);
    assert_double_equal (milestone->slip_days, -1.5);
    s_complete (milestone, S_D (14));
    ms_fill (milestone, st, S_D (20));
    assert_double_equal (milestone->slip_days, 4);

    //  Cancelled: no forecast, no slip, never late
    milestone->status = S_CANCELLED;
    s_destroy (&milestone->completed_at);
    milestone->at_risk = true;
    ms_fill (milestone, st, S_D (20));
    assert_null (milestone->forecast_due);
    assert_false (milestone->overdue);
    assert_false (milestone->at_risk);
    assert_double_equal (milestone->slip_days, 0);
    s_destroy (&st);
    s_destroy (&milestone);
}

//  --------------------------------------------------------------------------
//  Schedules

//  A chain A -> B -> C -> F (commercial operation), each waiting on the one
//  before, with now before all of them.
static void
test_schedule_chain (void **state)
{
    (void)state;
    char buf[256];
    Cpec__V1__Milestone *ms[4];
    Cpec__V1__MilestoneState *st[4] = {NULL};
    ms[0] = s_ms ("a", S_LAND, S_IN_PROGRESS, S_D (10));
    ms[1] = s_ms ("b", S_POWER, S_NOT_STARTED, S_D (20));
    s_pred (ms[1], "a", 5);
    ms[2] = s_ms ("c", S_OTHER, S_NOT_STARTED, S_D (22));
    s_pred (ms[2], "b", 0);
    ms[3] = s_ms ("f", S_COD, S_NOT_STARTED, S_D (25));
    s_pred (ms[3], "c", 3);
    s_derive (ms, st, 4);
    //  b: a's plan 10 + 5 = 15, lead 0 + 5; c: max (20, 15) = 20, lead 5;
    //  f: max (22, 20) + 3 = 25, lead 5 + 3 = 8
    assert_int_equal (st[1]->pred_fixed_ms, S_D (15));
    assert_int_equal (st[1]->pred_lead_ms, 5 * S_DAY);
    assert_int_equal (st[2]->pred_fixed_ms, S_D (20));
    assert_int_equal (st[3]->pred_fixed_ms, S_D (25));
    assert_true (st[3]->has_pred_lead);
    assert_int_equal (st[3]->pred_lead_ms, 8 * S_DAY);

    //  Forecasts are the plans (10, 20, 22, 25). Latest finish, backwards:
    //  f 25; c 25 - 3 = 22; b 22; a 22 - 5 = 17. Slack: a 7, b 2, c 0, f 0.
    //  The finish's float is 0: c and f are critical.
    Cpec__V1__ZoneScheduleResponse *schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "a b c f");
    assert_string_equal (s_finish (schedule), "f");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (25));
    s_assert_entry (schedule, "a", 7, false);
    s_assert_entry (schedule, "b", 2, false);
    s_assert_entry (schedule, "c", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    //  Entries carry the computed fields
    assert_int_equal (cpec_pb_timestamp_ms (s_entry (schedule, "b")->milestone->forecast_due),
                      S_D (20));
    s_destroy (&schedule);

    //  a slips to day 18: b is fixed at 23, c at 23, f at 26 (all past their
    //  plans). Latest: f 26, c 23, b 23, a 18: no slack anywhere, all critical.
    s_destroy (&ms[0]->planned_due);
    ms[0]->planned_due = cpec_pb_timestamp_new (S_D (18));
    s_derive (ms, st, 4);
    assert_int_equal (st[3]->pred_fixed_ms, S_D (26));
    schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "a b c f");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (26));
    s_assert_entry (schedule, "a", 0, true);
    s_assert_entry (schedule, "b", 0, true);
    s_assert_entry (schedule, "c", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    assert_true (s_entry (schedule, "f")->milestone->at_risk);
    assert_double_equal (s_entry (schedule, "f")->milestone->slip_days, 1);
    s_destroy (&schedule);

    //  a completed on day 13 (now is day 14): nothing left to slip there, so
    //  not critical although its slack is 0. b: 13 + 5 = 18, no lead, so b's
    //  forecast is its plan 20; c 22, f 25 as at first. Latest: f 25, c 22,
    //  b 22, a 17 (slack 17 - 13 = 4: measured from its completion).
    s_destroy (&ms[0]->planned_due);
    ms[0]->planned_due = cpec_pb_timestamp_new (S_D (10));
    s_complete (ms[0], S_D (13));
    s_derive (ms, st, 4);
    assert_false (st[1]->has_pred_lead);
    assert_int_equal (st[1]->pred_fixed_ms, S_D (18));
    schedule = s_schedule (ms, st, 4, S_D (14));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "a b c f");
    s_assert_entry (schedule, "a", 4, false);
    s_assert_entry (schedule, "b", 2, false);
    s_assert_entry (schedule, "c", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    s_destroy (&schedule);

    //  A predecessor outside the zone (already in f's state) fixes f at day
    //  35: f's latest is 35, c 32 (slack 10), b 32 (12), a 27 (14): only f
    //  is critical.
    st[3]->pred_fixed_ms = S_D (35);
    s_pred (ms[3], "elsewhere-grid", 0);
    schedule = s_schedule (ms, st, 4, S_D (14));
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (35));
    s_assert_entry (schedule, "a", 14, false);
    s_assert_entry (schedule, "b", 12, false);
    s_assert_entry (schedule, "c", 10, false);
    s_assert_entry (schedule, "f", 0, true);
    s_destroy (&schedule);
    s_free_all (ms, st, 4);
}

//  A diamond: s, then l (lag 4) and r (lag 12) side by side, then f
//  (commercial operation) waiting on l (lag 2) and r (lag 5).
static void
test_schedule_diamond (void **state)
{
    (void)state;
    char buf[256];
    Cpec__V1__Milestone *ms[4];
    Cpec__V1__MilestoneState *st[4] = {NULL};
    //  Given out of forecast order: the schedule sorts them
    ms[0] = s_ms ("s", S_LAND, S_IN_PROGRESS, S_D (10));
    ms[1] = s_ms ("r", S_POWER, S_NOT_STARTED, S_D (25));
    s_pred (ms[1], "s", 12);
    ms[2] = s_ms ("l", S_OTHER, S_NOT_STARTED, S_D (20));
    s_pred (ms[2], "s", 4);
    ms[3] = s_ms ("f", S_COD, S_NOT_STARTED, S_D (30));
    s_pred (ms[3], "l", 2);
    s_pred (ms[3], "r", 5);
    s_derive (ms, st, 4);
    //  l: 14, r: 22; f: max (max (20, 14) + 2, max (25, 22) + 5) = 30
    assert_int_equal (st[2]->pred_fixed_ms, S_D (14));
    assert_int_equal (st[1]->pred_fixed_ms, S_D (22));
    assert_int_equal (st[3]->pred_fixed_ms, S_D (30));
    //  Latest: f 30; l 28 (slack 8); r 25 (slack 0); s min (28 - 4, 25 - 12)
    //  = 13 (slack 3). Critical: r and f.
    Cpec__V1__ZoneScheduleResponse *schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "s l r f");
    assert_string_equal (s_finish (schedule), "f");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (30));
    s_assert_entry (schedule, "s", 3, false);
    s_assert_entry (schedule, "l", 8, false);
    s_assert_entry (schedule, "r", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    s_destroy (&schedule);

    //  s slips to day 16: l 20, r 28 (past its plan 25), f max (22, 33) = 33.
    //  Latest: f 33; l 31 (slack 11); r 28 (0); s min (27, 16) = 16 (0).
    s_destroy (&ms[0]->planned_due);
    ms[0]->planned_due = cpec_pb_timestamp_new (S_D (16));
    s_derive (ms, st, 4);
    assert_int_equal (st[3]->pred_fixed_ms, S_D (33));
    schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "s l r f");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (33));
    s_assert_entry (schedule, "s", 0, true);
    s_assert_entry (schedule, "l", 11, false);
    s_assert_entry (schedule, "r", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    assert_true (s_entry (schedule, "r")->milestone->at_risk);
    assert_false (s_entry (schedule, "l")->milestone->at_risk);
    s_destroy (&schedule);

    //  s completed on day 13, now day 14: l max (20, 14, 17) = 20, r 25, f
    //  30. s's slack is min (28 - 4, 25 - 12) - 13 = 0, but completed: not
    //  critical.
    s_destroy (&ms[0]->planned_due);
    ms[0]->planned_due = cpec_pb_timestamp_new (S_D (10));
    s_complete (ms[0], S_D (13));
    s_derive (ms, st, 4);
    schedule = s_schedule (ms, st, 4, S_D (14));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "s l r f");
    s_assert_entry (schedule, "s", 0, false);
    s_assert_entry (schedule, "l", 8, false);
    s_assert_entry (schedule, "r", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    s_destroy (&schedule);
    s_free_all (ms, st, 4);
}

//  Without an open commercial operation there is no finish and nothing is
//  critical; with two, the later one is the finish; what waits on the
//  finish is never critical.
static void
test_schedule_finish (void **state)
{
    (void)state;
    char buf[256];
    Cpec__V1__Milestone *ms[4];
    Cpec__V1__MilestoneState *st[4] = {NULL};
    ms[0] = s_ms ("a", S_LAND, S_IN_PROGRESS, S_D (10));
    ms[1] = s_ms ("b", S_POWER, S_NOT_STARTED, S_D (20));
    s_pred (ms[1], "a", 10);
    ms[2] = s_ms ("f", S_OTHER, S_NOT_STARTED, S_D (30)); //  not a commercial operation yet
    s_pred (ms[2], "b", 10);
    ms[3] = s_ms ("y", S_ADMIT, S_NOT_STARTED, S_D (35));
    s_pred (ms[3], "f", 30);
    s_derive (ms, st, 4);
    Cpec__V1__ZoneScheduleResponse *schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_finish (schedule), "");
    assert_null (schedule->finish_forecast);
    for (size_t i = 0; i < schedule->n_entries; i++)
        assert_false (schedule->entries[i]->critical);
    s_destroy (&schedule);

    //  A cancelled commercial operation is no finish either
    ms[2]->kind = S_COD;
    ms[2]->status = S_CANCELLED;
    s_derive (ms, st, 4);
    schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_finish (schedule), "");
    for (size_t i = 0; i < schedule->n_entries; i++)
        assert_false (schedule->entries[i]->critical);
    s_destroy (&schedule);

    //  Open: f is the finish (forecast 30); y waits on it (30 + 30 = 60,
    //  past its plan 35) but the finish's latest finish stays its own, so
    //  f, b (slack 0) and a (slack 0) are critical, y is not.
    ms[2]->status = S_NOT_STARTED;
    s_derive (ms, st, 4);
    schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_finish (schedule), "f");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (30));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "a b f y");
    s_assert_entry (schedule, "a", 0, true);
    s_assert_entry (schedule, "b", 0, true);
    s_assert_entry (schedule, "f", 0, true);
    assert_false (s_entry (schedule, "y")->critical);
    assert_true (s_entry (schedule, "y")->milestone->at_risk);
    s_destroy (&schedule);

    //  y a commercial operation too (a second phase): the later, y, is the
    //  finish. Latest: y 60, f 30, b 20, a 10: all critical.
    ms[3]->kind = S_COD;
    schedule = s_schedule (ms, st, 4, S_D (0));
    assert_string_equal (s_finish (schedule), "y");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (60));
    s_assert_entry (schedule, "f", 0, true);
    s_assert_entry (schedule, "y", 0, true);
    s_destroy (&schedule);

    s_free_all (ms, st, 4);
}

//  The contract (milestones.proto): slack_days is "how far it can slip
//  before the zone's commercial operation moves". A milestone that feeds
//  the finish and also a side milestone with a tight plan has the slack the
//  finish leaves it, not the side milestone's.
static void
test_schedule_side_branch (void **state)
{
    (void)state;
    Cpec__V1__Milestone *ms[3];
    Cpec__V1__MilestoneState *st[3] = {NULL};
    ms[0] = s_ms ("a", S_LAND, S_IN_PROGRESS, S_D (10));
    ms[1] = s_ms ("x", S_OTHER, S_NOT_STARTED, S_D (10)); //  waits on a, no margin
    s_pred (ms[1], "a", 0);
    ms[2] = s_ms ("f", S_COD, S_NOT_STARTED, S_D (30));
    s_pred (ms[2], "a", 0);
    s_derive (ms, st, 3);
    //  a may slip 20 days (to day 30) before f moves: slack 20, not critical
    //  (f alone has the least slack, 0). x does not feed the finish.
    Cpec__V1__ZoneScheduleResponse *schedule = s_schedule (ms, st, 3, S_D (0));
    assert_string_equal (s_finish (schedule), "f");
    s_assert_entry (schedule, "f", 0, true);
    assert_false (s_entry (schedule, "x")->critical);
    s_assert_entry (schedule, "a", 20, false);
    s_destroy (&schedule);
    s_free_all (ms, st, 3);
}

//  The contract: entries "by forecast, then planned due". Two overdue
//  milestones both forecast today; the one planned earlier comes first
//  whatever order they were given in.
static void
test_schedule_order_ties (void **state)
{
    (void)state;
    char buf[128];
    Cpec__V1__Milestone *ms[3];
    Cpec__V1__MilestoneState *st[3] = {NULL};
    ms[0] = s_ms ("late-5", S_OTHER, S_IN_PROGRESS, S_D (5));
    ms[1] = s_ms ("late-2", S_OTHER, S_IN_PROGRESS, S_D (2));
    ms[2] = s_ms ("future", S_OTHER, S_IN_PROGRESS, S_D (30));
    s_pred (ms[2], "late-5", 0); //  changes no forecast: 30 stays the latest
    s_derive (ms, st, 3);
    Cpec__V1__ZoneScheduleResponse *schedule = s_schedule (ms, st, 3, S_D (10));
    assert_int_equal (cpec_pb_timestamp_ms (schedule->entries[0]->milestone->forecast_due),
                      S_D (10));
    assert_int_equal (cpec_pb_timestamp_ms (schedule->entries[1]->milestone->forecast_due),
                      S_D (10));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "late-2 late-5 future");
    s_destroy (&schedule);
    s_free_all (ms, st, 3);
}

//  Zones whose milestones do not wait on each other: an empty zone, and one
//  of a lone commercial operation (critical, no slack) beside a milestone
//  due earlier.
static void
test_schedule_without_dependencies (void **state)
{
    (void)state;
    char buf[128];
    Cpec__V1__ZoneScheduleResponse *schedule = s_schedule (NULL, NULL, 0, S_D (0));
    assert_string_equal (s_finish (schedule), "");
    assert_null (schedule->finish_forecast);
    s_destroy (&schedule);

    Cpec__V1__Milestone *ms[2];
    Cpec__V1__MilestoneState *st[2] = {NULL};
    ms[0] = s_ms ("cod", S_COD, S_NOT_STARTED, S_D (40));
    ms[1] = s_ms ("land", S_LAND, S_IN_PROGRESS, S_D (15));
    s_derive (ms, st, 2);
    schedule = s_schedule (ms, st, 2, S_D (0));
    assert_string_equal (s_order (schedule, buf, sizeof (buf)), "land cod");
    assert_string_equal (s_finish (schedule), "cod");
    assert_int_equal (cpec_pb_timestamp_ms (schedule->finish_forecast), S_D (40));
    s_assert_entry (schedule, "cod", 0, true);
    assert_false (s_entry (schedule, "land")->critical);
    s_destroy (&schedule);
    s_free_all (ms, st, 2);
}

//  --------------------------------------------------------------------------
//  Portfolio tallies

static void
test_tally (void **state)
{
    (void)state;
    const int64_t now = S_D (0);
    Cpec__V1__Milestone *ms[7];
    Cpec__V1__MilestoneState *st[7] = {NULL};
    //  on time, re-planned 2 days after its baseline: slip 0, variance +2
    ms[0] = s_ms ("on-time", S_OTHER, S_IN_PROGRESS, S_D (10));
    s_destroy (&ms[0]->baseline_due);
    ms[0]->baseline_due = cpec_pb_timestamp_new (S_D (8));
    //  delayed: due 3 days ago, forecast today: slip 3, variance 3
    ms[1] = s_ms ("delayed", S_OTHER, S_IN_PROGRESS, S_D (-3));
    //  at risk: planned day 5, pushed to day 9: slip 4, variance 4
    ms[2] = s_ms ("at-risk", S_OTHER, S_NOT_STARTED, S_D (5));
    st[2] = s_state (S_D (9), false, 0);
    //  completed 4 days late, 6 after its baseline: slip 4, variance 6
    ms[3] = s_ms ("done-late", S_OTHER, S_NOT_STARTED, S_D (-10));
    s_destroy (&ms[3]->baseline_due);
    ms[3]->baseline_due = cpec_pb_timestamp_new (S_D (-12));
    s_complete (ms[3], S_D (-6));
    //  completed a day early: slip -1 (not a slip), variance -1
    ms[4] = s_ms ("done-early", S_OTHER, S_NOT_STARTED, S_D (-10));
    s_complete (ms[4], S_D (-11));
    //  cancelled: counted, nothing else
    ms[5] = s_ms ("cancelled", S_OTHER, S_CANCELLED, S_D (-20));
    //  overdue and at risk at once counts as delayed: due yesterday, pushed
    //  to day 2: slip 3, variance 3 (no baseline: the plan)
    ms[6] = s_ms ("delayed-and-pushed", S_OTHER, S_BLOCKED, S_D (-1));
    s_destroy (&ms[6]->baseline_due);
    st[6] = s_state (S_D (2), false, 0);

    Cpec__V1__PortfolioLine *line =
        (Cpec__V1__PortfolioLine *)cpec_pb_new (&cpec__v1__portfolio_line__descriptor);
    ms_tally_t tally = {.line = line};
    for (size_t i = 0; i < 7; i++) {
        ms_fill (ms[i], st[i], now);
        ms_tally_add (&tally, ms[i]);
    }
    ms_tally_finish (&tally);
    assert_int_equal (line->total, 7);
    assert_int_equal (line->on_time, 1);
    assert_int_equal (line->delayed, 2);
    assert_int_equal (line->at_risk, 1);
    assert_int_equal (line->completed, 2);
    assert_int_equal (line->cancelled, 1);
    //  Slips over those that slip: 3, 4, 4, 3 -> mean 3.5, worst 4
    assert_double_equal (line->mean_slip_days, 3.5);
    assert_double_equal (line->worst_slip_days, 4);
    //  Variances over the 6 not cancelled: 2 + 3 + 4 + 6 - 1 + 3 = 17
    assert_double_equal (line->mean_variance_days, 17.0 / 6.0);
    assert_double_equal (line->worst_variance_days, 6);
    s_destroy (&line);

    //  A line of early ones only: the worst variance is the least early
    line = (Cpec__V1__PortfolioLine *)cpec_pb_new (&cpec__v1__portfolio_line__descriptor);
    tally = (ms_tally_t){.line = line};
    ms_tally_add (&tally, ms[4]);
    Cpec__V1__Milestone *earlier = s_ms ("done-earlier", S_OTHER, S_NOT_STARTED, S_D (-10));
    s_complete (earlier, S_D (-13));
    ms_fill (earlier, NULL, now);
    ms_tally_add (&tally, earlier);
    ms_tally_finish (&tally);
    assert_int_equal (line->total, 2);
    assert_int_equal (line->completed, 2);
    assert_double_equal (line->mean_slip_days, 0);
    assert_double_equal (line->worst_slip_days, 0);
    assert_double_equal (line->mean_variance_days, -2);
    assert_double_equal (line->worst_variance_days, -1);
    s_destroy (&line);
    s_destroy (&earlier);

    //  An empty line, and one of cancelled milestones only
    line = (Cpec__V1__PortfolioLine *)cpec_pb_new (&cpec__v1__portfolio_line__descriptor);
    tally = (ms_tally_t){.line = line};
    ms_tally_finish (&tally);
    assert_int_equal (line->total, 0);
    assert_double_equal (line->mean_slip_days, 0);
    assert_double_equal (line->mean_variance_days, 0);
    ms_tally_add (&tally, ms[5]);
    ms_tally_finish (&tally);
    assert_int_equal (line->total, 1);
    assert_int_equal (line->cancelled, 1);
    assert_double_equal (line->mean_variance_days, 0);
    assert_double_equal (line->worst_variance_days, 0);
    s_destroy (&line);
    s_free_all (ms, st, 7);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_open_and_planned),
        cmocka_unit_test (test_bound),
        cmocka_unit_test (test_bound_merge),
        cmocka_unit_test (test_forecast),
        cmocka_unit_test (test_overdue),
        cmocka_unit_test (test_at_risk),
        cmocka_unit_test (test_risk_at),
        cmocka_unit_test (test_days_between),
        cmocka_unit_test (test_fill),
        cmocka_unit_test (test_schedule_chain),
        cmocka_unit_test (test_schedule_diamond),
        cmocka_unit_test (test_schedule_finish),
        cmocka_unit_test (test_schedule_side_branch),
        cmocka_unit_test (test_schedule_order_ties),
        cmocka_unit_test (test_tally),
        //  Last: ms_schedule passes NULL to qsort when a zone has no
        //  dependencies, which UBSan stops the process on.
        cmocka_unit_test (test_schedule_without_dependencies),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
