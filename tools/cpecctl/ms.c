/*  cpecctl ms, cpecctl portfolio - milestones through the Milestones service
    (broker service "milestones"): list, get, add, complete, replan, depend,
    undepend, schedule (a Gantt chart in the terminal) and the portfolio table.

    The chart and the portfolio table are rendered into strings by functions
    that read no clock and no environment (cpecctl_ms_gantt with `now` given,
    cpecctl_portfolio_table), so tests/unit/test_cpecctl_ms.c checks their
    exact lines. The chart's rules are in README.md.
*/
#include "cpecctl.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpec_pb.h"

#define S_SERVICE (&cpec__v1__milestones__descriptor)

#define S_GANTT_DEFAULT_WIDTH 100 //  without $COLUMNS
#define S_GANTT_MIN_WIDTH     60
#define S_GANTT_MAX_WIDTH     1000
#define S_GANTT_ID_WIDTH      28 //  longest id column (also at most a third of the width)
#define S_GANTT_LEAD_DAYS                                                                          \
    30 //  a bar with no predecessor in the chart starts this before its planned due
#define S_DAY_MS (86400 * (int64_t)1000)

//  ---------------------------------------------------------------------------
//  Formatting helpers

//  A new in-memory stream writing into *text (see open_memstream); aborts
//  when out of memory, like cpec_realloc.
static FILE *
s_memstream (char **text, size_t *size)
{
    FILE *out = open_memstream (text, size);
    if (out == NULL)
        abort ();
    return out;
}

//  Days with one decimal ("12.5", "-3.0"); never "-0.0".
static const char *
s_days (double days, char *buf, size_t size)
{
    snprintf (buf, size, "%.1f", days);
    if (strcmp (buf, "-0.0") == 0)
        snprintf (buf, size, "0.0");
    return buf;
}

static const char *
s_status_name (int status)
{
    return cpecctl_enum_name (&cpec__v1__milestone__status__descriptor, status, "STATUS_UNKNOWN");
}

static const char *
s_kind_name (int kind)
{
    return cpecctl_enum_name (&cpec__v1__milestone__kind__descriptor, kind, "KIND_UNKNOWN");
}

//  "overdue", "at-risk", both ("overdue,at-risk") or "-".
static const char *
s_flags (const Cpec__V1__Milestone *milestone)
{
    if (milestone->overdue && milestone->at_risk)
        return "overdue,at-risk";
    if (milestone->overdue)
        return "overdue";
    return milestone->at_risk ? "at-risk" : "-";
}

//  A text table: every cell is formatted first, then each column is printed
//  as wide as its widest cell, two spaces apart. A left-aligned last column
//  is not padded.
#define S_TABLE_MAX_COLUMNS 16

typedef struct
{
    size_t columns; //  cells per row (at most S_TABLE_MAX_COLUMNS)
    unsigned right; //  bit i set: column i is right-aligned (numbers)
    size_t rows;    //  rows held, the header included
    char **cells;   //  rows * columns copies, row by row
} s_table_t;

//  Appends a row of `columns` strings (copied).
static void
s_table_row (s_table_t *self, ...)
{
    assert (self->columns <= S_TABLE_MAX_COLUMNS);
    self->cells = cpec_realloc (self->cells, (self->rows + 1) * self->columns * sizeof (char *));
    va_list args;
    va_start (args, self);
    for (size_t column = 0; column < self->columns; column++)
        self->cells[self->rows * self->columns + column] =
            cpec_strdup (va_arg (args, const char *));
    va_end (args);
    self->rows++;
}

//  Prints the table to out, then frees its cells.
static void
s_table_print_destroy (s_table_t *self, FILE *out)
{
    int widths[S_TABLE_MAX_COLUMNS] = {0};
    for (size_t cell = 0; cell < self->rows * self->columns; cell++) {
        int width = (int)strlen (self->cells[cell]);
        if (width > widths[cell % self->columns])
            widths[cell % self->columns] = width;
    }
    for (size_t row = 0; row < self->rows; row++) {
        for (size_t column = 0; column < self->columns; column++) {
            const char *cell = self->cells[row * self->columns + column];
            bool last = column + 1 == self->columns;
            if (self->right & (1u << column))
                fprintf (out, "%*s", widths[column], cell);
            else if (last)
                fputs (cell, out);
            else
                fprintf (out, "%-*s", widths[column], cell);
            fputs (last ? "\n" : "  ", out);
        }
    }
    for (size_t cell = 0; cell < self->rows * self->columns; cell++)
        free (self->cells[cell]);
    free (self->cells);
    self->cells = NULL;
    self->rows = 0;
}

//  ---------------------------------------------------------------------------
//  Calls

//  Calls a method of the Milestones service; the reply, or NULL after
//  reporting, with *rc set to CPECCTL_EXIT_USAGE (bad configuration) or
//  CPECCTL_EXIT_ERROR (the service's error, or no answer).
static ProtobufCMessage *
s_call_or_report (cpecctl_t *self, const char *method, const ProtobufCMessage *request, int *rc)
{
    if (cpecctl_client_or_report (self) == NULL) {
        *rc = CPECCTL_EXIT_USAGE;
        return NULL;
    }
    ProtobufCMessage *output = NULL;
    cpec_status_t status;
    if (cpecctl_call (self, S_SERVICE, method, NULL, request, &output, &status) != CPEC_OK) {
        *rc = cpecctl_report_status (&status);
        return NULL;
    }
    return output;
}

//  Prints the reply of a write, as JSON or as the line `format` makes, then
//  frees it. Returns CPECCTL_EXIT_OK.
static int s_print_reply (ProtobufCMessage **output_p, bool json, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_print_reply (ProtobufCMessage **output_p, bool json, const char *format, ...)
{
    if (json)
        cpecctl_print_json (*output_p);
    else {
        va_list args;
        va_start (args, format);
        vprintf (format, args);
        va_end (args);
    }
    cpec_pb_destroy (output_p);
    return CPECCTL_EXIT_OK;
}

//  The date given to `option` as a new Timestamp (free with cpec_pb_destroy);
//  NULL after reporting the usage error.
static ProtobufCMessage *
s_date_or_report (const char *command, const char *option, const char *text)
{
    int64_t unix_ms = 0;
    if (cpecctl_parse_date (text, &unix_ms)) {
        cpecctl_usage_error (command,
                             "%s takes an RFC 3339 time (2026-12-01T00:00:00Z) or a date "
                             "(2026-12-01), not '%s'",
                             option, text);
        return NULL;
    }
    return &cpec_pb_timestamp_new (unix_ms)->base;
}

//  ---------------------------------------------------------------------------
//  ms list

static void
s_print_milestone_table (ProtobufCMessage **rows, size_t count)
{
    s_table_t table = {6, 0, 0, NULL};
    s_table_row (&table, "ID", "STATUS", "PLANNED", "FORECAST", "FLAGS", "TITLE");
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Milestone *milestone = (const Cpec__V1__Milestone *)rows[index];
        char planned[32], forecast[32];
        s_table_row (&table, cpecctl_text (milestone->id), s_status_name (milestone->status),
                     cpecctl_format_date (milestone->planned_due, planned, sizeof (planned)),
                     cpecctl_format_date (milestone->forecast_due, forecast, sizeof (forecast)),
                     s_flags (milestone), cpecctl_text (milestone->title));
    }
    s_table_print_destroy (&table, stdout);
}

int
cpecctl_ms_list (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ms list";
    const char *zone = NULL, *status = NULL, *agency = NULL;
    bool overdue = false, at_risk = false, json = false;
    const cpecctl_option_t options[] = {{"--zone", &zone, NULL},
                                        {"--status", &status, NULL},
                                        {"--agency", &agency, NULL},
                                        {"--overdue", NULL, &overdue},
                                        {"--at-risk", NULL, &at_risk},
                                        {"--json", NULL, &json},
                                        {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    if (zone == NULL || *zone == '\0')
        return cpecctl_usage_error (command, "--zone ID is required");

    Cpec__V1__ListMilestonesRequest request = CPEC__V1__LIST_MILESTONES_REQUEST__INIT;
    request.zone_id = (char *)zone;
    if (agency)
        request.agency = (char *)agency;
    request.overdue = overdue;
    request.at_risk = at_risk;
    if (status) {
        int value = 0;
        if (cpecctl_parse_enum (command, "status", &cpec__v1__milestone__status__descriptor, status,
                                &value))
            return CPECCTL_EXIT_USAGE;
        request.status = (Cpec__V1__Milestone__Status)value;
    }
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;

    cpecctl_listing_t listing;
    if (cpecctl_list_all (self, S_SERVICE, "List", &request.base, "milestones", &listing))
        return CPECCTL_EXIT_ERROR;
    if (json)
        cpecctl_print_json_array (listing.rows, listing.n_rows);
    else
        s_print_milestone_table (listing.rows, listing.n_rows);
    cpecctl_listing_destroy (&listing);
    return CPECCTL_EXIT_OK;
}

//  ---------------------------------------------------------------------------
//  ms get

//  Prints every field of a milestone as "field: value" lines; "-" is unset.
static void
s_print_milestone (const ProtobufCMessage *message)
{
    const Cpec__V1__Milestone *milestone = (const Cpec__V1__Milestone *)message;
    char at[40], other[40], days[32];
    printf ("id: %s\n", cpecctl_text (milestone->id));
    printf ("zone_id: %s\n", cpecctl_text (milestone->zone_id));
    printf ("province: %s\n", cpecctl_text (milestone->province));
    printf ("title: %s\n", cpecctl_text (milestone->title));
    printf ("title_zh: %s\n", cpecctl_text (milestone->title_zh));
    printf ("title_ur: %s\n", cpecctl_text (milestone->title_ur));
    printf ("kind: %s\n", s_kind_name (milestone->kind));
    printf ("agency: %s\n", cpecctl_text (milestone->agency));
    printf ("status: %s\n", s_status_name (milestone->status));
    printf ("percent_complete: %u\n", milestone->percent_complete);
    printf ("baseline_due: %s\n",
            cpecctl_format_timestamp (milestone->baseline_due, at, sizeof (at)));
    printf ("planned_due: %s\n",
            cpecctl_format_timestamp (milestone->planned_due, at, sizeof (at)));
    printf ("forecast_due: %s\n",
            cpecctl_format_timestamp (milestone->forecast_due, at, sizeof (at)));
    printf ("completed_at: %s\n",
            cpecctl_format_timestamp (milestone->completed_at, at, sizeof (at)));
    printf ("overdue: %s\n", milestone->overdue ? "true" : "false");
    printf ("at_risk: %s\n", milestone->at_risk ? "true" : "false");
    printf ("slip_days: %s\n", s_days (milestone->slip_days, days, sizeof (days)));
    if (milestone->n_predecessors == 0)
        printf ("predecessors: -\n");
    for (size_t index = 0; index < milestone->n_predecessors; index++) {
        const Cpec__V1__Dependency *dependency = milestone->predecessors[index];
        printf ("predecessors[%zu]: %s, lag %u days\n", index,
                cpecctl_text (dependency->milestone_id), dependency->lag_days);
    }
    printf ("version: %u\n", milestone->version);
    if (milestone->n_history == 0)
        printf ("history: -\n");
    for (size_t index = 0; index < milestone->n_history; index++) {
        const Cpec__V1__Replan *replan = milestone->history[index];
        char from[40];
        printf ("history[%zu]: %s by %s: %s -> %s: %s\n", index,
                cpecctl_format_timestamp (replan->at, at, sizeof (at)), cpecctl_text (replan->by),
                cpecctl_format_timestamp (replan->old_due, from, sizeof (from)),
                cpecctl_format_timestamp (replan->new_due, other, sizeof (other)),
                cpecctl_text (replan->reason));
    }
    cpecctl_print_audit ("created", milestone->created);
    cpecctl_print_audit ("updated", milestone->updated);
}

int
cpecctl_ms_get (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ms get";
    const char *id = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__GetMilestoneRequest request = CPEC__V1__GET_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    int rc = CPECCTL_EXIT_OK;
    ProtobufCMessage *output = s_call_or_report (self, "Get", &request.base, &rc);
    if (output == NULL)
        return rc;
    return cpecctl_print_answer (&output, json, s_print_milestone);
}

//  ---------------------------------------------------------------------------
//  ms add

int
cpecctl_ms_add (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ms add";
    bool json = false;
    const char *file = NULL;
    ProtobufCMessage *message = NULL;
    if (cpecctl_parse_file_command (command, argc, argv, &cpec__v1__milestone__descriptor, &json,
                                    &file, &message))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__Milestone *milestone = (Cpec__V1__Milestone *)message;
    const char *missing = *milestone->zone_id == '\0'      ? "zone_id"
                          : *milestone->title == '\0'      ? "title"
                          : milestone->planned_due == NULL ? "planned_due"
                                                           : NULL;
    int rc = CPECCTL_EXIT_OK;
    if (missing)
        rc = cpecctl_input_error (command, "%s: %s is required", file, missing);
    else {
        Cpec__V1__CreateMilestoneRequest request = CPEC__V1__CREATE_MILESTONE_REQUEST__INIT;
        request.milestone = milestone;
        ProtobufCMessage *output = s_call_or_report (self, "Create", &request.base, &rc);
        if (output)
            rc = s_print_reply (&output, json, "%s\n", ((Cpec__V1__Milestone *)output)->id);
    }
    cpec_pb_destroy (&message);
    return rc;
}

//  ---------------------------------------------------------------------------
//  ms complete, ms replan

int
cpecctl_ms_complete (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ms complete";
    const char *id = NULL, *date = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--date", &date, NULL}, {"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    ProtobufCMessage *completed_at = NULL; //  unset: the service uses now
    if (date && (completed_at = s_date_or_report (command, "--date", date)) == NULL)
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__CompleteMilestoneRequest request = CPEC__V1__COMPLETE_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    request.completed_at = (Google__Protobuf__Timestamp *)completed_at;
    int rc = CPECCTL_EXIT_OK;
    ProtobufCMessage *output = s_call_or_report (self, "Complete", &request.base, &rc);
    if (output) {
        const Cpec__V1__Milestone *done = (const Cpec__V1__Milestone *)output;
        char at[40];
        rc = s_print_reply (&output, json, "completed %s at %s, version %u\n", done->id,
                            cpecctl_format_timestamp (done->completed_at, at, sizeof (at)),
                            done->version);
    }
    cpec_pb_destroy (&completed_at);
    return rc;
}

int
cpecctl_ms_replan (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ms replan";
    const char *id = NULL, *date = NULL, *reason = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {
        {"--date", &date, NULL}, {"--reason", &reason, NULL}, {"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    if (date == NULL)
        return cpecctl_usage_error (command, "--date D (the new planned due) is required");
    if (reason == NULL || *reason == '\0')
        return cpecctl_usage_error (command, "--reason R (why the plan moves) is required");
    ProtobufCMessage *planned_due = s_date_or_report (command, "--date", date);
    if (planned_due == NULL)
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__ReplanMilestoneRequest request = CPEC__V1__REPLAN_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    request.planned_due = (Google__Protobuf__Timestamp *)planned_due;
    request.reason = (char *)reason;
    int rc = CPECCTL_EXIT_OK;
    ProtobufCMessage *output = s_call_or_report (self, "Replan", &request.base, &rc);
    if (output) {
        const Cpec__V1__Milestone *replanned = (const Cpec__V1__Milestone *)output;
        char at[40];
        rc = s_print_reply (&output, json, "replanned %s to %s, version %u\n", replanned->id,
                            cpecctl_format_timestamp (replanned->planned_due, at, sizeof (at)),
                            replanned->version);
    }
    cpec_pb_destroy (&planned_due);
    return rc;
}

//  ---------------------------------------------------------------------------
//  ms depend, ms undepend

//  AddDependency (with_lag) or RemoveDependency: `ID --on OTHER`.
static int
s_dependency (cpecctl_t *self, const char *command, const char *method, bool with_lag, int argc,
              char *argv[])
{
    const char *id = NULL, *other = NULL, *lag_text = NULL;
    bool json = false;
    //  Without a lag the list ends before "--lag", which is then unknown.
    const cpecctl_option_t options[] = {{"--on", &other, NULL},
                                        {"--json", NULL, &json},
                                        {with_lag ? "--lag" : NULL, &lag_text, NULL},
                                        {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    if (other == NULL || *other == '\0')
        return cpecctl_usage_error (command, "--on OTHER (the predecessor) is required");
    uint32_t lag = 0;
    if (lag_text && cpecctl_parse_uint32 (lag_text, 0, &lag))
        return cpecctl_usage_error (command,
                                    "--lag must be a whole number of days (0 or more), "
                                    "not '%s'",
                                    lag_text);

    Cpec__V1__Dependency dependency = CPEC__V1__DEPENDENCY__INIT;
    dependency.milestone_id = (char *)other;
    dependency.lag_days = lag;
    Cpec__V1__DependencyRequest request = CPEC__V1__DEPENDENCY_REQUEST__INIT;
    request.id = (char *)id;
    request.dependency = &dependency;
    int rc = CPECCTL_EXIT_OK;
    ProtobufCMessage *output = s_call_or_report (self, method, &request.base, &rc);
    if (output == NULL)
        return rc;
    const Cpec__V1__Milestone *milestone = (const Cpec__V1__Milestone *)output;
    if (with_lag)
        return s_print_reply (&output, json, "%s depends on %s, lag %u days, version %u\n",
                              milestone->id, other, lag, milestone->version);
    return s_print_reply (&output, json, "%s no longer depends on %s, version %u\n", milestone->id,
                          other, milestone->version);
}

int
cpecctl_ms_depend (cpecctl_t *self, int argc, char *argv[])
{
    return s_dependency (self, "ms depend", "AddDependency", true, argc, argv);
}

int
cpecctl_ms_undepend (cpecctl_t *self, int argc, char *argv[])
{
    return s_dependency (self, "ms undepend", "RemoveDependency", false, argc, argv);
}

//  ---------------------------------------------------------------------------
//  ms schedule: the Gantt chart

int
cpecctl_ms_gantt_width (const char *columns)
{
    if (columns == NULL || *columns == '\0')
        return S_GANTT_DEFAULT_WIDTH;
    errno = 0;
    char *end = NULL;
    long width = strtol (columns, &end, 10);
    if (errno || *end != '\0')
        return S_GANTT_DEFAULT_WIDTH;
    if (width < S_GANTT_MIN_WIDTH)
        return S_GANTT_MIN_WIDTH;
    return width > S_GANTT_MAX_WIDTH ? S_GANTT_MAX_WIDTH : (int)width;
}

//  The first instant (Unix ms, UTC) of the month, or the year, that holds
//  unix_ms, moved `step` months or years on.
static int64_t
s_period_start (int64_t unix_ms, bool years, int step)
{
    time_t seconds = (time_t)(unix_ms / 1000 - (unix_ms % 1000 < 0));
    struct tm tm;
    gmtime_r (&seconds, &tm);
    struct tm start = {0};
    start.tm_year = tm.tm_year + (years ? step : 0);
    start.tm_mon = years ? 0 : tm.tm_mon + step; //  timegm carries months into years
    start.tm_mday = 1;
    return (int64_t)timegm (&start) * 1000;
}

//  The chart's time axis: [from, to) over `columns` columns, ticked at each
//  month or each year.
typedef struct
{
    int64_t from;  //  first instant shown: the start of a month or a year
    int64_t to;    //  the start of the period after the last one shown
    int columns;   //  width of the chart part of a row
    bool years;    //  ticks at years, else at months
    int stride;    //  a tick is labelled when its month (1..12) - 1 or year is a multiple of this
    int64_t today; //  now
} s_axis_t;

//  The column of a time on the axis.
static int
s_column (const s_axis_t *axis, int64_t unix_ms)
{
    int64_t column = (unix_ms - axis->from) * axis->columns / (axis->to - axis->from);
    if (column < 0)
        return 0;
    return column >= axis->columns ? axis->columns - 1 : (int)column;
}

//  One row of the chart.
typedef struct
{
    const Cpec__V1__Milestone *milestone; //  borrowed from the schedule
    bool critical;                        //  on the critical path: '*'
    bool drawn;                           //  has a bar (some date to end it at)
    int64_t start;                        //  bar from
    int64_t end;                          //  bar to: forecast, else completion, else planned due
} s_row_t;

static const Cpec__V1__Milestone s_no_milestone = CPEC__V1__MILESTONE__INIT;

//  Widens [*low, *high] to hold a timestamp, if set.
static void
s_span (int64_t *low, int64_t *high, const Google__Protobuf__Timestamp *timestamp)
{
    if (timestamp == NULL)
        return;
    int64_t at = cpec_pb_timestamp_ms (timestamp);
    *low = at < *low ? at : *low;
    *high = at > *high ? at : *high;
}

//  The rows of the schedule with their bars: the end first, then the start,
//  which needs the predecessors' ends. The caller frees the array.
static s_row_t *
s_gantt_rows (const Cpec__V1__ZoneScheduleResponse *schedule)
{
    size_t count = schedule->n_entries;
    s_row_t *rows = cpec_realloc (NULL, count * sizeof (s_row_t));
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__ScheduleEntry *entry = schedule->entries[index];
        s_row_t *row = &rows[index];
        row->milestone = entry->milestone ? entry->milestone : &s_no_milestone;
        row->critical = entry->critical;
        const Google__Protobuf__Timestamp *end =
            row->milestone->forecast_due   ? row->milestone->forecast_due
            : row->milestone->completed_at ? row->milestone->completed_at
                                           : row->milestone->planned_due;
        row->drawn = end != NULL;
        row->start = row->end = cpec_pb_timestamp_ms (end);
    }
    for (size_t index = 0; index < count; index++) {
        s_row_t *row = &rows[index];
        if (!row->drawn)
            continue;
        bool found = false;
        for (size_t each = 0; each < row->milestone->n_predecessors; each++) {
            const char *id = row->milestone->predecessors[each]->milestone_id;
            for (size_t other = 0; other < count; other++)
                if (rows[other].drawn && strcmp (rows[other].milestone->id, id) == 0 &&
                    (!found || rows[other].end > row->start)) {
                    row->start = rows[other].end;
                    found = true;
                }
        }
        if (!found) {
            int64_t planned = row->milestone->planned_due
                                  ? cpec_pb_timestamp_ms (row->milestone->planned_due)
                                  : row->end;
            row->start = planned - S_GANTT_LEAD_DAYS * S_DAY_MS;
        }
        if (row->start > row->end)
            row->start = row->end;
    }
    return rows;
}

//  The axis that holds every date of the rows and today, `columns` wide: by
//  months when there are at most half as many months as columns, else by
//  years.
static s_axis_t
s_gantt_axis (const s_row_t *rows, size_t count, int64_t now_ms, int columns)
{
    int64_t low = now_ms, high = now_ms;
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Milestone *milestone = rows[index].milestone;
        if (rows[index].drawn) {
            low = rows[index].start < low ? rows[index].start : low;
            high = rows[index].end > high ? rows[index].end : high;
        }
        s_span (&low, &high, milestone->baseline_due);
        s_span (&low, &high, milestone->planned_due);
        s_span (&low, &high, milestone->forecast_due);
        s_span (&low, &high, milestone->completed_at);
    }
    s_axis_t axis = {0, 0, columns, false, 1, now_ms};
    axis.from = s_period_start (low, false, 0);
    axis.to = s_period_start (high, false, 1);
    int months = 0;
    while (s_period_start (axis.from, false, months) < axis.to)
        months++;
    //  Labels are "YYYY-MM" or "YYYY" and a space: pick the smallest stride
    //  that leaves them room.
    static const int month_strides[] = {1, 2, 3, 6, 12};
    static const int year_strides[] = {1, 2, 5, 10, 20, 50, 100};
    if (months * 2 <= columns) {
        for (size_t index = 0; index < sizeof (month_strides) / sizeof (int); index++) {
            axis.stride = month_strides[index];
            if ((int64_t)axis.stride * columns >= (int64_t)months * 8)
                break;
        }
        return axis;
    }
    axis.years = true;
    axis.from = s_period_start (low, true, 0);
    axis.to = s_period_start (high, true, 1);
    int years = (int)((axis.to - axis.from) / (365 * S_DAY_MS));
    for (size_t index = 0; index < sizeof (year_strides) / sizeof (int); index++) {
        axis.stride = year_strides[index];
        if ((int64_t)axis.stride * columns >= (int64_t)years * 5)
            break;
    }
    return axis;
}

//  Drops the spaces at the end of a line.
static void
s_trim (char *line)
{
    size_t length = strlen (line);
    while (length > 0 && line[length - 1] == ' ')
        line[--length] = '\0';
}

//  Writes the label line and the tick line of the axis into out, after
//  `indent` characters (the tick line starts with "  ID").
static void
s_gantt_header (const s_axis_t *axis, int indent, FILE *out)
{
    size_t size = (size_t)axis->columns + 1;
    char *labels = cpec_realloc (NULL, size);
    char *ticks = cpec_realloc (NULL, size);
    memset (labels, ' ', size - 1);
    memset (ticks, '-', size - 1);
    labels[size - 1] = ticks[size - 1] = '\0';
    int free_from = 0; //  the first column a label may take
    for (int step = 0;; step++) {
        int64_t tick = s_period_start (axis->from, axis->years, step);
        if (tick >= axis->to)
            break;
        int column = s_column (axis, tick);
        ticks[column] = '+';
        time_t seconds = (time_t)(tick / 1000);
        struct tm tm;
        gmtime_r (&seconds, &tm);
        int number = axis->years ? tm.tm_year + 1900 : tm.tm_mon;
        if (number % axis->stride != 0)
            continue;
        char label[16];
        int length = axis->years ? snprintf (label, sizeof (label), "%04d", tm.tm_year + 1900)
                                 : snprintf (label, sizeof (label), "%04d-%02d", tm.tm_year + 1900,
                                             tm.tm_mon + 1);
        if (column >= free_from && column + length <= axis->columns) {
            memcpy (labels + column, label, (size_t)length);
            free_from = column + length + 1;
        }
    }
    s_trim (labels);
    fprintf (out, "%*s%s\n", indent, "", labels);
    fprintf (out, "  %-*s%s\n", indent - 2, "ID", ticks);
    free (labels);
    free (ticks);
}

//  Sets the marker of a timestamp in a row's chart cells, if set.
static void
s_mark (const s_axis_t *axis, char *cells, const Google__Protobuf__Timestamp *timestamp,
        char marker)
{
    if (timestamp)
        cells[s_column (axis, cpec_pb_timestamp_ms (timestamp))] = marker;
}

//  Writes one row: the critical mark, the id cut to id_width, the chart.
static void
s_gantt_row (const s_axis_t *axis, const s_row_t *row, int id_width, FILE *out)
{
    char *cells = cpec_realloc (NULL, (size_t)axis->columns + 1);
    memset (cells, ' ', (size_t)axis->columns);
    cells[axis->columns] = '\0';
    if (row->drawn)
        memset (cells + s_column (axis, row->start), '=',
                (size_t)(s_column (axis, row->end) - s_column (axis, row->start) + 1));
    int today = s_column (axis, axis->today);
    if (cells[today] == ' ' || cells[today] == '=')
        cells[today] = '|';
    //  Lowest precedence first: A > F > P > B.
    const Cpec__V1__Milestone *milestone = row->milestone;
    s_mark (axis, cells, milestone->baseline_due, 'B');
    s_mark (axis, cells, milestone->planned_due, 'P');
    s_mark (axis, cells, milestone->forecast_due, 'F');
    s_mark (axis, cells, milestone->completed_at, 'A');
    s_trim (cells);

    const char *id = cpecctl_text (milestone->id);
    int length = (int)strlen (id);
    if (length > id_width)
        fprintf (out, "%c %.*s~ %s\n", row->critical ? '*' : ' ', id_width - 1, id, cells);
    else
        fprintf (out, "%c %-*s %s\n", row->critical ? '*' : ' ', id_width, id, cells);
    free (cells);
}

char *
cpecctl_ms_gantt (const Cpec__V1__ZoneScheduleResponse *schedule, int64_t now_ms, int width)
{
    assert (schedule);
    char *text = NULL;
    size_t size = 0;
    FILE *out = s_memstream (&text, &size);
    const char *zone = cpecctl_text (schedule->zone_id);
    size_t count = schedule->n_entries;
    if (count == 0) {
        fprintf (out, "%s: no milestones\n", zone);
        fclose (out);
        return text;
    }
    width = width < S_GANTT_MIN_WIDTH ? S_GANTT_MIN_WIDTH : width;
    s_row_t *rows = s_gantt_rows (schedule);
    int id_width = 2; //  "ID"
    int id_limit = width / 3 < S_GANTT_ID_WIDTH ? width / 3 : S_GANTT_ID_WIDTH;
    for (size_t index = 0; index < count; index++) {
        int length = (int)strlen (cpecctl_text (rows[index].milestone->id));
        id_width = length > id_width ? length : id_width;
    }
    id_width = id_width > id_limit ? id_limit : id_width;
    int indent = 2 + id_width + 1; //  "* " id " "
    s_axis_t axis = s_gantt_axis (rows, count, now_ms, width - indent);

    char from[16], to[16], today[16], finish[40];
    fprintf (out, "%s: %zu milestone%s, %s to %s\n", zone, count, count == 1 ? "" : "s",
             cpecctl_format_day (axis.from, from, sizeof (from)),
             cpecctl_format_day (axis.to - S_DAY_MS, to, sizeof (to)));
    s_gantt_header (&axis, indent, out);
    for (size_t index = 0; index < count; index++)
        s_gantt_row (&axis, &rows[index], id_width, out);
    fprintf (out, "* critical path  = start to forecast  | today %s\n",
             cpecctl_format_day (now_ms, today, sizeof (today)));
    fprintf (out, "A actual  F forecast  P planned  B baseline  (A > F > P > B)\n");
    if (schedule->finish_milestone_id && *schedule->finish_milestone_id)
        fprintf (out, "finish: %s, forecast %s\n", schedule->finish_milestone_id,
                 cpecctl_format_date (schedule->finish_forecast, finish, sizeof (finish)));
    else
        fprintf (out, "finish: - (no commercial operation milestone)\n");
    free (rows);
    fclose (out);
    return text;
}

int
cpecctl_ms_schedule (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ms schedule";
    const char *zone = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &zone, "ZONE"))
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__ZoneScheduleRequest request = CPEC__V1__ZONE_SCHEDULE_REQUEST__INIT;
    request.zone_id = (char *)zone;
    int rc = CPECCTL_EXIT_OK;
    ProtobufCMessage *output = s_call_or_report (self, "ZoneSchedule", &request.base, &rc);
    if (output == NULL)
        return rc;
    if (json)
        cpecctl_print_json (output);
    else {
        char *text = cpecctl_ms_gantt ((const Cpec__V1__ZoneScheduleResponse *)output,
                                       cpec_now_ms (), cpecctl_ms_gantt_width (getenv ("COLUMNS")));
        fputs (text, stdout);
        free (text);
    }
    cpec_pb_destroy (&output);
    return CPECCTL_EXIT_OK;
}

//  ---------------------------------------------------------------------------
//  portfolio

//  One line of the portfolio table.
static void
s_portfolio_row (s_table_t *table, const char *province, const char *zone,
                 const Cpec__V1__PortfolioLine *line)
{
    char counts[6][16], days[4][32];
    const uint32_t values[6] = {line->total,   line->on_time,   line->delayed,
                                line->at_risk, line->completed, line->cancelled};
    for (int index = 0; index < 6; index++)
        snprintf (counts[index], sizeof (counts[index]), "%u", values[index]);
    s_table_row (table, province, zone, counts[0], counts[1], counts[2], counts[3], counts[4],
                 counts[5], s_days (line->mean_slip_days, days[0], sizeof (days[0])),
                 s_days (line->worst_slip_days, days[1], sizeof (days[1])),
                 s_days (line->mean_variance_days, days[2], sizeof (days[2])),
                 s_days (line->worst_variance_days, days[3], sizeof (days[3])));
}

char *
cpecctl_portfolio_table (const Cpec__V1__PortfolioResponse *portfolio)
{
    assert (portfolio);
    char *text = NULL;
    size_t size = 0;
    FILE *out = s_memstream (&text, &size);
    s_table_t table = {12, ~3u & 0xfffu, 0, NULL}; //  numbers right-aligned
    s_table_row (&table, "PROVINCE", "ZONE", "TOTAL", "ON-TIME", "DELAYED", "AT-RISK", "DONE",
                 "CANCELLED", "MEAN-SLIP", "WORST-SLIP", "MEAN-VAR", "WORST-VAR");
    for (size_t index = 0; index < portfolio->n_provinces; index++) {
        const Cpec__V1__PortfolioLine *line = portfolio->provinces[index];
        s_portfolio_row (&table, cpecctl_text (line->province), "-", line);
    }
    for (size_t index = 0; index < portfolio->n_zones; index++) {
        const Cpec__V1__PortfolioLine *line = portfolio->zones[index];
        s_portfolio_row (&table, cpecctl_text (line->province), cpecctl_text (line->zone_id), line);
    }
    const Cpec__V1__PortfolioLine no_total = CPEC__V1__PORTFOLIO_LINE__INIT;
    s_portfolio_row (&table, "total", "-", portfolio->total ? portfolio->total : &no_total);
    s_table_print_destroy (&table, out);
    char at[40];
    fprintf (out, "as of %s\n", cpecctl_format_timestamp (portfolio->as_of, at, sizeof (at)));
    fclose (out);
    return text;
}

int
cpecctl_portfolio (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "portfolio";
    const char *province = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {
        {"--province", &province, NULL}, {"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__PortfolioRequest request = CPEC__V1__PORTFOLIO_REQUEST__INIT;
    if (province)
        request.province = (char *)province;
    int rc = CPECCTL_EXIT_OK;
    ProtobufCMessage *output = s_call_or_report (self, "Portfolio", &request.base, &rc);
    if (output == NULL)
        return rc;
    if (json)
        cpecctl_print_json (output);
    else {
        char *text = cpecctl_portfolio_table ((const Cpec__V1__PortfolioResponse *)output);
        fputs (text, stdout);
        free (text);
    }
    cpec_pb_destroy (&output);
    return CPECCTL_EXIT_OK;
}
