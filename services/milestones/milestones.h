/*  milestones - the milestone tracking service: private header. Read this first.

    Each zone's development is a graph of milestones (cpec:ms:{id}) joined by
    finish-to-start dependencies. Beside each milestone the service keeps what
    the graph says about it (cpec:msf:{id}, a MilestoneState): the part of its
    forecast its predecessors fix, the lead by which open predecessors push it
    as days pass, whether MilestoneAtRisk was last announced, for which
    planned due MilestoneDelayed was raised, and its successors.

    Time-driven work sits in one sorted set, cpec:ms:timers, scored by when it
    is due (Unix ms):
      due:{id}         an open milestone's planned due: it becomes delayed
      risk:{id}        when open predecessors will push it past its due
      prop:{id}:{v}    a change at version v whose forecasts still have to
                       flow downstream (normally done at once by the replica
                       that wrote it; the timer is the safety net)
    The claim script (common/lua/claim.lua) moves due members to cpec:ms:leases for a
    short lease, so that with any number of replicas each is worked by one,
    and a replica that dies mid-way only delays it by the lease.

    Reading order: this header, ms_graph.c (forecasts, risk, schedule and
    portfolio arithmetic: pure), ms_validate.c (input rules: pure),
    ms_store.c (loading, propagating and the timer work), ms_server.c (the
    handlers), main.c.
*/
#ifndef MILESTONES_H_INCLUDED
#define MILESTONES_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/milestones.pb-c.h"
#include "cpec_bus.h"
#include "cpec_metrics.h"
#include "cpec_status.h"
#include "cpec_store.h"
#include "cpec_worker.h"

//  Limits
#define MS_DAY_MS           86400000LL
#define MS_SLUG_MAX         96              //  characters in a milestone id
#define MS_TITLE_MAX        200             //  characters in a title
#define MS_AGENCY_MAX       100             //  characters in an agency
#define MS_REASON_MAX       500             //  characters in a re-plan reason
#define MS_PREDECESSORS_MAX 64              //  predecessors of one milestone
#define MS_SUCCESSORS_MAX   10000           //  milestones that may wait on one
#define MS_LAG_MAX_DAYS     3650            //  ten years
#define MS_HISTORY_MAX      200             //  re-plans kept per milestone
#define MS_PAGE_DEFAULT     50              //  page size when the request says 0
#define MS_PAGE_MAX         500             //  largest page a list returns
#define MS_DATE_MIN_MS      946684800000LL  //  2000-01-01T00:00:00Z
#define MS_DATE_MAX_MS      4102444800000LL //  2100-01-01T00:00:00Z
#define MS_CLOCK_SKEW_MS    300000          //  how far ahead of now a completion may be dated
#define MS_CLAIM_BATCH      200             //  timers taken per claim
#define MS_LEASE_MS         750             //  how long a claimed timer is ours
#define MS_PROP_GRACE_MS    2000 //  after a change, when another replica may finish its propagation
#define MS_POLL_MS          250  //  longest sleep between looks at the timers
#define MS_RETRIES          8    //  attempts when a concurrent write wins
#define MS_ACTOR            "cpec-milestones" //  the actor of events no request caused

//  What the handlers and the timer share. Borrowed: main.c (or a test) owns it.
typedef struct
{
    cpec_store_t *store;     //  Redis: entities, indexes, timers, the event log
    cpec_bus_t *bus;         //  live events after a write; NULL: none
    cpec_metrics_t *metrics; //  service counters; NULL: none
    size_t page_bytes;       //  a list page stops short of this; 0: 512 KiB
    char claim_sha[41];      //  SHA of claim.lua once loaded
    char migrate_sha[41];    //  SHA of the migration script once loaded
    //  True: the events a propagation wrote wait in `unpublished` until
    //  ms_publish (after the answer has gone, and after the timers' work),
    //  so that a re-plan's answer does not wait for a thousand sends. False
    //  (tests): published at once.
    bool defer_publish;
    Cpec__V1__Event **unpublished; //  owned
    size_t unpublished_count;
} ms_t;

//  --------------------------------------------------------------------------
//  Handlers (ms_server.c): one per method of cpec.v1.Milestones.

int ms_create (void *state, cpec_call_t *call, const ProtobufCMessage *input,
               ProtobufCMessage *output);
int ms_get (void *state, cpec_call_t *call, const ProtobufCMessage *input,
            ProtobufCMessage *output);
int ms_list (void *state, cpec_call_t *call, const ProtobufCMessage *input,
             ProtobufCMessage *output);
int ms_update (void *state, cpec_call_t *call, const ProtobufCMessage *input,
               ProtobufCMessage *output);
int ms_complete (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                 ProtobufCMessage *output);
int ms_replan (void *state, cpec_call_t *call, const ProtobufCMessage *input,
               ProtobufCMessage *output);
int ms_add_dependency (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                       ProtobufCMessage *output);
int ms_remove_dependency (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                          ProtobufCMessage *output);
int ms_zone_schedule (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output);
int ms_portfolio (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                  ProtobufCMessage *output);

//  The method table for cpec_worker_new, terminated by {NULL, NULL}.
extern const cpec_method_t ms_methods[];

//  --------------------------------------------------------------------------
//  The graph arithmetic (ms_graph.c). Times are Unix ms.

//  Not completed and not cancelled.
bool ms_open (const Cpec__V1__Milestone *milestone);

//  The milestone's planned due, in ms.
int64_t ms_planned (const Cpec__V1__Milestone *milestone);

//  What a milestone passes on to a successor over a dependency with this
//  lag: the successor cannot finish before max(fixed, now + lead). A
//  completed milestone passes its completion (no lead); an open one its
//  fixed forecast and its lead (its forecast follows today); a cancelled one
//  nothing (returns false).
typedef struct
{
    int64_t fixed_ms;
    bool has_lead;
    int64_t lead_ms;
} ms_bound_t;

bool ms_bound (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
               uint32_t lag_days, ms_bound_t *bound);

//  Folds `add` into `into` (the later of the two); into starts as {0}.
void ms_bound_merge (ms_bound_t *into, const ms_bound_t *add);

//  The forecast at now: completed -> completed_at; otherwise
//  max(planned, now, pred_fixed, now + pred_lead). state may be NULL.
int64_t ms_forecast (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
                     int64_t now);

//  Open and past its planned due.
bool ms_overdue (const Cpec__V1__Milestone *milestone, int64_t now);

//  Open, and its predecessors' forecasts push it past its planned due.
bool ms_at_risk (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state,
                 int64_t now);

//  When ms_at_risk will turn true if nothing changes (the first ms at which
//  it holds), or -1 when it never will by the passing of time alone (or
//  already does).
int64_t ms_risk_at (const Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state);

//  Sets the computed fields of a milestone for an answer: forecast_due,
//  overdue, at_risk, slip_days.
void ms_fill (Cpec__V1__Milestone *milestone, const Cpec__V1__MilestoneState *state, int64_t now);

//  Whole days from a to b, rounded down (negative when b is before a).
int64_t ms_days_between (int64_t a, int64_t b);

//  Fills a zone's schedule: every milestone (and its state, same index) with
//  forecast, slack to the zone's commercial operation and whether it is on
//  the critical path. The milestones are the zone's; predecessors outside
//  the zone are already in the states. Entries take copies.
void ms_schedule (Cpec__V1__Milestone *const *milestones, Cpec__V1__MilestoneState *const *states,
                  size_t count, int64_t now, Cpec__V1__ZoneScheduleResponse *schedule);

//  A portfolio line being counted: the line and the sums behind its means.
typedef struct
{
    Cpec__V1__PortfolioLine *line; //  borrowed
    double slip_sum;               //  over milestones that slip
    uint32_t slipped;
    double variance_sum; //  over milestones not cancelled
    uint32_t counted;
} ms_tally_t;

//  Counts one (filled, see ms_fill) milestone into the tally's line.
void ms_tally_add (ms_tally_t *self, const Cpec__V1__Milestone *milestone);

//  Sets the line's means from the sums (after the last add).
void ms_tally_finish (ms_tally_t *self);

//  --------------------------------------------------------------------------
//  Validation (ms_validate.c). Each returns CPEC_OK, or CPEC_INVALID_ARGUMENT
//  after setting status to "<field path>: <what>".

//  "NOT_STARTED" for 1, "IN_PROGRESS" for 2, ...; "?" outside the enum.
const char *ms_status_name (int status);

//  A milestone id: a slug of 2..MS_SLUG_MAX characters.
int ms_validate_id (const char *path, const char *value, cpec_status_t *status);

//  A planned or baseline due: required if asked, within 2000..2100.
int ms_validate_due (const char *path, const Google__Protobuf__Timestamp *due, bool required,
                     cpec_status_t *status);

//  A milestone to create (id may be empty: generated), now_ms bounds
//  completion dates.
int ms_validate_new (const Cpec__V1__Milestone *milestone, int64_t now_ms, cpec_status_t *status);

//  An update mask (names of updatable fields, none twice) and the fields it names.
int ms_validate_update (const Cpec__V1__UpdateMilestoneRequest *request, cpec_status_t *status);

//  A dependency of milestone `id`.
int ms_validate_dependency (const char *id, const Cpec__V1__Dependency *dependency,
                            cpec_status_t *status);

//  A list request; *page gets the page size to use.
int ms_validate_list (const Cpec__V1__ListMilestonesRequest *request, size_t *page,
                      cpec_status_t *status);

//  --------------------------------------------------------------------------
//  Loading, propagation and timers (ms_store.c)

//  Keys
void ms_key (char *buffer, size_t size, const char *id);       //  cpec:ms:{id}
void ms_state_key (char *buffer, size_t size, const char *id); //  cpec:msf:{id}

//  How the service's store keeps milestones (cpec:ms:{id}) and their states
//  (cpec:msf:{id}): as fields of the hashes cpec:ms and cpec:msf
//  (cpec_store_set_hashed), so that a propagation reads a wave's milestones
//  and states in two commands and writes a thousand states in a few,
//  whatever the size of the in-process cache (they are not cached). Every
//  store that touches them is set up so, before its first use. Only ids
//  (slugs: no ':') map to fields; the index keys beside them (cpec:ms:all,
//  cpec:ms:zone:{zone}, cpec:ms:timers, ...) are never read or written as
//  entities.
#define MS_MILESTONE_PREFIX "cpec:ms:"
#define MS_MILESTONES_KEY   "cpec:ms"
#define MS_STATE_PREFIX     "cpec:msf:"
#define MS_STATES_KEY       "cpec:msf"
void ms_store_setup (cpec_store_t *store);

//  Moves milestones and states kept the way earlier versions did (a hash of
//  their own at cpec:ms:{id} or cpec:msf:{id}, holding just v and pb) into
//  the hashes, keeping the higher version where both exist; other keys
//  under those prefixes are left alone. Once done it sets MS_LAYOUT_KEY,
//  and later calls return at once: so an upgrade stops every replica of an
//  earlier version before the first of this one starts (what an earlier
//  version writes afterwards is not looked at). main.c runs it before the
//  worker exists, so before the replica's first request. Idempotent. OK, or
//  the store's error.
#define MS_LAYOUT_KEY "cpec:layout:milestones"
int ms_migrate_states (ms_t *self, cpec_status_t *status);

#define MS_TIMERS_KEY "cpec:ms:timers"
#define MS_LEASES_KEY "cpec:ms:leases"
#define MS_FAILED_KEY "cpec:ms:timers:failed" //  members that could not be worked

//  Loads milestones and their states (states[i] NULL when absent; a state is
//  created with the milestone, so only for one gone missing). Missing
//  milestones are NULL. OK or UNAVAILABLE / DATA_LOSS.
int ms_load (ms_t *self, const char *const *ids, size_t count, Cpec__V1__Milestone **milestones,
             Cpec__V1__MilestoneState **states, cpec_status_t *status);

//  Recomputes what the graph says about `roots` and everything downstream of
//  them, writes the states that changed (with MilestoneAtRisk and
//  MilestoneBackOnTrack where the flag turns, and the risk timers), and
//  removes the timer members `done` it has worked: from the leases when
//  `claimed` (the timer work), else from the timers (a handler's own
//  prop:... marker). Retries when a concurrent write wins. request_id names
//  the request that caused it in the events (may be NULL).
int ms_propagate (ms_t *self, const char *const *roots, size_t root_count, const char *const *done,
                  size_t done_count, bool claimed, const char *request_id, cpec_status_t *status);

//  Claims due timers and works them: delays announced, risk flags raised,
//  pending propagations finished. Returns the Unix ms at which the next
//  timer falls due (or now + MS_POLL_MS, whichever is sooner); on Redis
//  trouble now + MS_POLL_MS.
int64_t ms_timers_run (ms_t *self, int64_t now);

//  Publishes the events left in `unpublished` on the bus, and frees them.
void ms_publish (ms_t *self);

//  The downstream of a milestone: the open milestones that wait on it,
//  directly or not (a malloc'd NULL-terminated array of malloc'd ids, at most
//  `max`). NULL with status on error.
char **ms_downstream (ms_t *self, const char *id, size_t max, cpec_status_t *status);

#endif
