/*  ms_graph - forecasts, risk, schedules and portfolios: the arithmetic.

    Pure functions of milestones, their states and the time, so that
    tests/unit/test_ms_graph.c checks each rule without Redis.

    An open milestone's forecast is the latest of its planned due, today, and
    each predecessor's forecast plus lag; a completed one's is its completion.
    Because an open predecessor's forecast follows today, a state keeps two
    numbers for the predecessors together: the part fixed by dates
    (pred_fixed_ms) and the lead by which they run ahead of today
    (pred_lead_ms, when any is open). Both change only when the graph or a
    plan changes, never by the passing of time: that is what lets the service
    know in advance when a milestone will be at risk (ms_risk_at).
*/
#include "milestones.h"

#include <assert.h>
#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"

#define S_MAX(a, b) ((a) > (b) ? (a) : (b))

bool
ms_open (const Cpec__V1__Milestone *milestone)
{
    assert (milestone);
    return milestone->status != CPEC__V1__MILESTONE__STATUS__COMPLETED &&
           milestone->status != CPEC__V1__MILESTONE__STATUS__CANCELLED;
}

int64_t
ms_planned (const Cpec__V1__Milestone *milestone)
{
    assert (milestone);
    return milestone->planned_due ? cpec_pb_timestamp_ms (milestone->planned_due) : 0;
}

static int64_t
s_completed (const Cpec__V1__Milestone *milestone)
{
    return milestone->completed_at ? cpec_pb_timestamp_ms (milestone->completed_at)
                                   : ms_planned (milestone);
}

bool
ms_bound (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
          uint32_t lag_days, ms_bound_t *bound)
{
    assert (milestone && bound);
    int64_t lag = (int64_t)lag_days * MS_DAY_MS;
    *bound = (ms_bound_t){0};
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__CANCELLED)
        return false;
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__COMPLETED) {
        bound->fixed_ms = s_completed (milestone) + lag;
        return true;
    }
    int64_t fixed = ms_planned (milestone);
    int64_t lead = 0; //  its forecast is never before today
    if (state) {
        fixed = S_MAX (fixed, state->pred_fixed_ms);
        if (state->has_pred_lead)
            lead = S_MAX (lead, state->pred_lead_ms);
    }
    bound->fixed_ms = fixed + lag;
    bound->has_lead = true;
    bound->lead_ms = lead + lag;
    return true;
}

void
ms_bound_merge (ms_bound_t *into, const ms_bound_t *add)
{
    assert (into && add);
    into->fixed_ms = S_MAX (into->fixed_ms, add->fixed_ms);
    if (add->has_lead) {
        into->lead_ms = into->has_lead ? S_MAX (into->lead_ms, add->lead_ms) : add->lead_ms;
        into->has_lead = true;
    }
}

int64_t
ms_forecast (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
             int64_t now)
{
    assert (milestone);
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__COMPLETED)
        return s_completed (milestone);
    int64_t forecast = ms_planned (milestone);
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__CANCELLED)
        return forecast;
    forecast = S_MAX (forecast, now);
    if (state) {
        forecast = S_MAX (forecast, state->pred_fixed_ms);
        if (state->has_pred_lead)
            forecast = S_MAX (forecast, now + state->pred_lead_ms);
    }
    return forecast;
}

bool
ms_overdue (const Cpec__V1__Milestone *milestone, int64_t now)
{
    return ms_open (milestone) && now > ms_planned (milestone);
}

bool
ms_at_risk (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
            int64_t now)
{
    if (!ms_open (milestone) || !state)
        return false;
    int64_t planned = ms_planned (milestone);
    return state->pred_fixed_ms > planned ||
           (state->has_pred_lead && now + state->pred_lead_ms > planned);
}

int64_t
ms_risk_at (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state)
{
    if (!ms_open (milestone) || !state || !state->has_pred_lead)
        return -1;
    int64_t planned = ms_planned (milestone);
    if (state->pred_fixed_ms > planned)
        return -1; //  at risk whatever the time
    return planned - state->pred_lead_ms + 1;
}

int64_t
ms_days_between (int64_t a, int64_t b)
{
    int64_t delta = b - a;
    int64_t days = delta / MS_DAY_MS;
    if (delta < 0 && delta % MS_DAY_MS)
        days--;
    return days;
}

void
ms_fill (Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state, int64_t now)
{
    assert (milestone);
    cpec_pb_destroy ((ProtobufCMessage **)&milestone->forecast_due);
    milestone->overdue = ms_overdue (milestone, now);
    milestone->at_risk = ms_at_risk (milestone, state, now);
    milestone->slip_days = 0;
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__CANCELLED)
        return;
    int64_t forecast = ms_forecast (milestone, state, now);
    milestone->forecast_due = cpec_pb_timestamp_new (forecast);
    milestone->slip_days = (double)(forecast - ms_planned (milestone)) / (double)MS_DAY_MS;
}

//  --------------------------------------------------------------------------
//  A zone's schedule

typedef struct
{
    size_t from, to; //  indexes: `to` waits on `from`
    int64_t lag_ms;
} s_edge_t;

typedef struct
{
    size_t index; //  into the milestones
    int64_t forecast;
    int64_t planned;
} s_order_t;

static int
s_order_compare (const void *a, const void *b)
{
    const s_order_t *x = (const s_order_t *)a;
    const s_order_t *y = (const s_order_t *)b;
    if (x->forecast != y->forecast)
        return x->forecast < y->forecast ? -1 : 1;
    if (x->planned != y->planned)
        return x->planned < y->planned ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

//  The dependencies among the zone's own milestones; *count gets how many.
static s_edge_t *
s_edges (Cpec__V1__Milestone *const *milestones, size_t count, size_t *edge_count)
{
    zhashx_t *index = zhashx_new ();
    for (size_t i = 0; i < count; i++)
        zhashx_insert (index, milestones[i]->id, (void *)(i + 1));
    s_edge_t *edges = NULL;
    size_t n = 0;
    for (size_t s = 0; s < count; s++)
        for (size_t p = 0; p < milestones[s]->n_predecessors; p++) {
            const Cpec__V1__Dependency *dependency = milestones[s]->predecessors[p];
            size_t from = (size_t)zhashx_lookup (index, dependency->milestone_id);
            if (!from)
                continue; //  in another zone: already in the state
            edges = (s_edge_t *)cpec_realloc (edges, (n + 1) * sizeof (s_edge_t));
            edges[n++] = (s_edge_t){from - 1, s, (int64_t)dependency->lag_days * MS_DAY_MS};
        }
    zhashx_destroy (&index);
    *edge_count = n;
    return edges;
}

static int
s_edge_compare (const void *a, const void *b)
{
    const s_edge_t *x = (const s_edge_t *)a;
    const s_edge_t *y = (const s_edge_t *)b;
    return x->from < y->from ? -1 : x->from > y->from;
}

//  start[i] .. start[i + 1]: the edges from milestone i (edges sorted by from).
static size_t *
s_starts (size_t count, s_edge_t *edges, size_t edge_count)
{
    if (edge_count)
        qsort (edges, edge_count, sizeof (s_edge_t), s_edge_compare);
    size_t *start = (size_t *)calloc (count + 2, sizeof (size_t));
    assert (start);
    for (size_t e = 0; e < edge_count; e++)
        start[edges[e].from + 1]++;
    for (size_t i = 0; i < count; i++)
        start[i + 1] += start[i];
    return start;
}

//  The milestones in an order where every one comes after its predecessors
//  (Kahn's algorithm; a cycle, which the service never stores, would leave
//  its members at the end in index order).
static size_t *
s_topological (size_t count, const s_edge_t *edges, size_t edge_count, const size_t *start)
{
    size_t *waiting = (size_t *)calloc (count + 1, sizeof (size_t));
    size_t *order = (size_t *)cpec_realloc (NULL, (count + 1) * sizeof (size_t));
    bool *placed = (bool *)calloc (count + 1, sizeof (bool));
    assert (waiting && placed);
    for (size_t e = 0; e < edge_count; e++)
        waiting[edges[e].to]++;
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < count; i++)
        if (!waiting[i]) {
            order[tail++] = i;
            placed[i] = true;
        }
    while (head < tail) {
        size_t done = order[head++];
        for (size_t e = start[done]; e < start[done + 1]; e++)
            if (--waiting[edges[e].to] == 0) {
                order[tail++] = edges[e].to;
                placed[edges[e].to] = true;
            }
    }
    for (size_t i = 0; i < count && tail < count; i++)
        if (!placed[i])
            order[tail++] = i;
    free (waiting);
    free (placed);
    return order;
}

void
ms_schedule (Cpec__V1__Milestone *const *milestones, Cpec__V1__MilestoneState *const *states,
             size_t count, int64_t now, Cpec__V1__ZoneScheduleResponse *schedule)
{
    assert (schedule && (count == 0 || (milestones && states)));
    int64_t *forecast = (int64_t *)cpec_realloc (NULL, (count + 1) * sizeof (int64_t));
    int64_t *latest = (int64_t *)cpec_realloc (NULL, (count + 1) * sizeof (int64_t));
    bool *waited_on = (bool *)calloc (count + 1, sizeof (bool)); //  has successors here
    bool *feeds = (bool *)calloc (count + 1, sizeof (bool));     //  the finish waits on it
    s_order_t *sorted = (s_order_t *)cpec_realloc (NULL, (count + 1) * sizeof (s_order_t));
    assert (waited_on && feeds);
    long finish = -1;
    for (size_t i = 0; i < count; i++) {
        forecast[i] = ms_forecast (milestones[i], states[i], now);
        if (milestones[i]->kind == CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION &&
            milestones[i]->status != CPEC__V1__MILESTONE__STATUS__CANCELLED &&
            (finish < 0 || forecast[i] > forecast[finish]))
            finish = (long)i;
        sorted[i] = (s_order_t){i, forecast[i], ms_planned (milestones[i])};
    }
    size_t edge_count = 0;
    s_edge_t *edges = s_edges (milestones, count, &edge_count);
    for (size_t e = 0; e < edge_count; e++)
        if ((long)edges[e].from != finish)
            waited_on[edges[e].from] = true;
    size_t *start = s_starts (count, edges, edge_count);
    size_t *order = s_topological (count, edges, edge_count, start);

    //  What the finish waits on, directly or not
    if (finish >= 0) {
        feeds[finish] = true;
        for (size_t k = count; k-- > 0;) {
            size_t i = order[k];
            for (size_t e = start[i]; e < start[i + 1] && (long)i != finish; e++)
                feeds[i] = feeds[i] || feeds[edges[e].to];
        }
    }
    //  Latest finish, backwards: the finish and the end of a chain may finish
    //  by the later of plan and forecast; a milestone others wait on, by the
    //  earliest of their latest finish minus lag, counting for a milestone
    //  the finish waits on only the successors on the way to the finish (its
    //  slack is how far it can slip before commercial operation moves).
    for (size_t k = count; k-- > 0;) {
        size_t i = order[k];
        latest[i] = S_MAX (ms_planned (milestones[i]), forecast[i]);
        bool first = true;
        for (size_t e = start[i]; e < start[i + 1] && waited_on[i]; e++) {
            if (feeds[i] && !feeds[edges[e].to])
                continue;
            int64_t bound = latest[edges[e].to] - edges[e].lag_ms;
            if (first || bound < latest[i])
                latest[i] = bound;
            first = false;
        }
    }
    int64_t finish_float = finish >= 0 ? latest[finish] - forecast[finish] : 0;

    qsort (sorted, count, sizeof (s_order_t), s_order_compare);
    schedule->n_entries = count;
    schedule->entries = (Cpec__V1__ScheduleEntry **)calloc (count + 1, sizeof (void *));
    assert (schedule->entries);
    for (size_t k = 0; k < count; k++) {
        size_t i = sorted[k].index;
        Cpec__V1__ScheduleEntry *entry =
            (Cpec__V1__ScheduleEntry *)cpec_pb_new (&cpec__v1__schedule_entry__descriptor);
        entry->milestone = (Cpec__V1__Milestone *)cpec_pb_dup (&milestones[i]->base);
        ms_fill (entry->milestone, states[i], now);
        int64_t slack = latest[i] - forecast[i];
        entry->slack_days = (double)slack / (double)MS_DAY_MS;
        entry->critical =
            finish >= 0 && feeds[i] && ms_open (milestones[i]) && slack <= finish_float;
        schedule->entries[k] = entry;
    }
    if (finish >= 0) {
        schedule->finish_milestone_id = cpec_strdup (milestones[finish]->id);
        schedule->finish_forecast = cpec_pb_timestamp_new (forecast[finish]);
    }
    free (edges);
    free (start);
    free (order);
    free (forecast);
    free (latest);
    free (waited_on);
    free (feeds);
    free (sorted);
}

//  --------------------------------------------------------------------------
//  Portfolio lines

void
ms_tally_add (ms_tally_t *self, const Cpec__V1__Milestone *milestone)
{
    assert (self && self->line && milestone);
    Cpec__V1__PortfolioLine *line = self->line;
    line->total++;
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__CANCELLED) {
        line->cancelled++;
        return;
    }
    if (milestone->status == CPEC__V1__MILESTONE__STATUS__COMPLETED)
        line->completed++;
    else if (milestone->overdue)
        line->delayed++;
    else if (milestone->at_risk)
        line->at_risk++;
    else
        line->on_time++;
    if (milestone->slip_days > 0) {
        self->slip_sum += milestone->slip_days;
        self->slipped++;
        if (milestone->slip_days > line->worst_slip_days)
            line->worst_slip_days = milestone->slip_days;
    }
    int64_t actual = milestone->completed_at   ? cpec_pb_timestamp_ms (milestone->completed_at)
                     : milestone->forecast_due ? cpec_pb_timestamp_ms (milestone->forecast_due)
                                               : ms_planned (milestone);
    int64_t baseline = milestone->baseline_due ? cpec_pb_timestamp_ms (milestone->baseline_due)
                                               : ms_planned (milestone);
    double variance = (double)(actual - baseline) / (double)MS_DAY_MS;
    if (self->counted == 0 || variance > line->worst_variance_days)
        line->worst_variance_days = variance;
    self->variance_sum += variance;
    self->counted++;
}

void
ms_tally_finish (ms_tally_t *self)
{
    assert (self && self->line);
    self->line->mean_slip_days = self->slipped ? self->slip_sum / self->slipped : 0;
    self->line->mean_variance_days = self->counted ? self->variance_sum / self->counted : 0;
}
