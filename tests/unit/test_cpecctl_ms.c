/*  test_cpecctl_ms - what cpecctl's milestone commands do without a service:
    the Gantt chart of `ms schedule` (exact rows for a given `now`, the
    critical marks, the marker precedence A > F > P > B, narrow widths), the
    width from $COLUMNS, the date and lag arguments, the portfolio table, and
    the built-in seed data/milestones.json (every entry a valid Milestone,
    predecessors listed first, zones among the four fast-track ones).

    The messages are written in JSON and decoded with cpec_json, as the
    service's replies would be.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_json.h"
#include "cpec_pb.h"
#include "cpecctl.h"
#include "text_test.h"

//  ---------------------------------------------------------------------------
//  Helpers

static int64_t
s_time (const char *text)
{
    int64_t unix_ms = 0;
    assert_int_equal (cpecctl_parse_date (text, &unix_ms), 0);
    return unix_ms;
}

//  The chart of a schedule given in JSON; the caller frees it.
static char *
s_gantt (const char *schedule_json, const char *now, int width)
{
    ProtobufCMessage *schedule =
        text_decode (&cpec__v1__zone_schedule_response__descriptor, schedule_json);
    char *text = cpecctl_ms_gantt ((Cpec__V1__ZoneScheduleResponse *)schedule, s_time (now), width);
    cpec_pb_destroy (&schedule);
    assert_non_null (text);
    return text;
}

//  Line `number` (from 0) of text into buf, without its newline.
static const char *
s_line (const char *text, int number, char *buf, size_t size)
{
    for (int index = 0; index < number && text; index++) {
        text = strchr (text, '\n');
        text = text ? text + 1 : NULL;
    }
    assert_non_null (text);
    size_t length = strcspn (text, "\n");
    assert_true (length < size);
    memcpy (buf, text, length);
    buf[length] = '\0';
    return buf;
}

//  The chart cell of a row at `column` (0 = the first chart column), given
//  the width of the id column.
static char
s_cell (const char *row, int id_width, int column)
{
    size_t at = (size_t)(2 + id_width + 1 + column);
    return at < strlen (row) ? row[at] : ' ';
}

//  ---------------------------------------------------------------------------
//  The Gantt chart

//  Three milestones over nine months (a month axis); b waits on a. At 60
//  columns the chart part is 55 columns for 2026-01-01 .. 2026-10-01 (273
//  days): a date `d` days into the year falls in column d * 55 / 273.
static const char *s_small =
    "{\"zone_id\": \"z\", \"entries\": ["
    " {\"critical\": true, \"milestone\": {\"id\": \"a\", \"planned_due\": \"2026-03-01\","
    "  \"forecast_due\": \"2026-04-15\", \"completed_at\": \"2026-04-15\"}},"
    " {\"milestone\": {\"id\": \"b\", \"planned_due\": \"2026-06-01\","
    "  \"baseline_due\": \"2026-05-01\", \"forecast_due\": \"2026-07-01\","
    "  \"predecessors\": [{\"milestone_id\": \"a\"}]}},"
    " {\"milestone\": {\"id\": \"c\", \"planned_due\": \"2026-09-10\"}}]}";

static void
test_gantt_exact_rows (void **state)
{
    (void)state;
    char *text = s_gantt (s_small, "2026-05-20", 60);
    //  a: bar from its planned due less 30 days (Jan 30, col 5) to its
    //     forecast (Apr 15, col 20), P on Mar 1 (col 11), A over F at col 20.
    //  b: bar from a's forecast (col 20) to its own (Jul 1, col 36); B May 1
    //     (col 24), P Jun 1 (col 30); today (May 20, col 28) shows through.
    //  c: no forecast: bar from Aug 11 (col 44) to its planned due (col 50).
    //  Ticks on the 1st of each month; labels every other month (stride 2).
    const char *expected = "z: 3 milestones, 2026-01-01 to 2026-09-30\n"
                           "     2026-01    2026-03      2026-05     2026-07     2026-09\n"
                           "  ID +-----+----+------+-----+-----+-----+-----+-----+------\n"
                           "* a       ======P========A       |\n"
                           "  b                      ====B===|=P=====F\n"
                           "  c                              |               ======P\n"
                           "* critical path  = start to forecast  | today 2026-05-20\n"
                           "A actual  F forecast  P planned  B baseline  (A > F > P > B)\n"
                           "finish: - (no commercial operation milestone)\n";
    assert_string_equal (text, expected);
    free (text);
}

static void
test_gantt_year_axis_and_finish (void **state)
{
    (void)state;
    const char *schedule =
        "{\"zone_id\": \"rashakai\", \"finish_milestone_id\": \"rashakai-completion\","
        " \"finish_forecast\": \"2027-12-01T00:00:00Z\", \"entries\": ["
        " {\"critical\": true, \"milestone\": {\"id\": \"rashakai-development-agreement\","
        "  \"planned_due\": \"2020-09-14\", \"forecast_due\": \"2020-09-14\","
        "  \"completed_at\": \"2020-09-14\", \"status\": \"COMPLETED\"}},"
        " {\"critical\": true, \"milestone\": {\"id\": \"rashakai-completion\","
        "  \"planned_due\": \"2027-12-01\", \"forecast_due\": \"2027-12-01\","
        "  \"predecessors\": [{\"milestone_id\": \"rashakai-development-agreement\"},"
        "   {\"milestone_id\": \"in-another-zone\"}]}}]}";
    char *text = s_gantt (schedule, "2026-11-28T09:30:00Z", 100);
    //  Eight years on 69 columns: a year axis, every year labelled.
    const char *expected =
        "rashakai: 2 milestones, 2020-01-01 to 2027-12-31\n"
        "                               2020    2021     2022    2023     2024     2025    2026    "
        " 2027\n"
        "  ID                           +-------+--------+-------+--------+--------+-------+-------"
        "-+--------\n"
        "* rashakai-development-agreem~      =A                                                    "
        "|\n"
        "* rashakai-completion                ==========================================="
        "==========|========F\n"
        "* critical path  = start to forecast  | today 2026-11-28\n"
        "A actual  F forecast  P planned  B baseline  (A > F > P > B)\n"
        "finish: rashakai-completion, forecast 2027-12-01\n";
    assert_string_equal (text, expected);
    free (text);
}

static void
test_gantt_marker_precedence (void **state)
{
    (void)state;
    //  One row per case, all dates in 2026, now on Dec 20 (in no row's way
    //  but the last). Columns: 2026 over 60 - 5 = 55 columns.
    const char *schedule =
        "{\"zone_id\": \"p\", \"entries\": ["
        " {\"milestone\": {\"id\": \"r1\", \"baseline_due\": \"2026-06-01\","
        "  \"planned_due\": \"2026-06-01\", \"forecast_due\": \"2026-06-01\","
        "  \"completed_at\": \"2026-06-01\"}},"
        " {\"milestone\": {\"id\": \"r2\", \"baseline_due\": \"2026-06-01\","
        "  \"planned_due\": \"2026-06-01\", \"forecast_due\": \"2026-06-01\"}},"
        " {\"milestone\": {\"id\": \"r3\", \"baseline_due\": \"2026-06-01\","
        "  \"planned_due\": \"2026-06-01\"}},"
        " {\"milestone\": {\"id\": \"r4\", \"baseline_due\": \"2026-01-10\","
        "  \"planned_due\": \"2026-06-01\", \"forecast_due\": \"2026-09-01\"}},"
        " {\"critical\": true, \"milestone\": {\"id\": \"r5\", \"planned_due\": \"2026-12-20\"}}]}";
    char *text = s_gantt (schedule, "2026-12-20", 60);
    char row[256];
    const int id = 2;
    int june = (int)((s_time ("2026-06-01") - s_time ("2026-01-01")) / 86400000 * 55 / 365);
    int january = (int)((s_time ("2026-01-10") - s_time ("2026-01-01")) / 86400000 * 55 / 365);
    int september = (int)((s_time ("2026-09-01") - s_time ("2026-01-01")) / 86400000 * 55 / 365);
    int today = (int)((s_time ("2026-12-20") - s_time ("2026-01-01")) / 86400000 * 55 / 365);
    assert_int_equal (s_cell (s_line (text, 3, row, sizeof (row)), id, june), 'A');
    assert_int_equal (s_cell (s_line (text, 4, row, sizeof (row)), id, june), 'F');
    assert_int_equal (s_cell (s_line (text, 5, row, sizeof (row)), id, june), 'P');
    s_line (text, 6, row, sizeof (row));
    assert_int_equal (s_cell (row, id, january), 'B'); //  before the bar starts
    assert_int_equal (s_cell (row, id, june), 'P');
    assert_int_equal (s_cell (row, id, june + 1), '=');
    assert_int_equal (s_cell (row, id, september), 'F');
    assert_int_equal (s_cell (row, id, today), '|');
    //  Rows are not critical unless the schedule says so; r5's P hides today.
    assert_int_equal (row[0], ' ');
    s_line (text, 7, row, sizeof (row));
    assert_int_equal (row[0], '*');
    assert_int_equal (s_cell (row, id, today), 'P');
    assert_int_equal (s_cell (row, id, today - 1), '=');
    free (text);
}

static void
test_gantt_narrow (void **state)
{
    (void)state;
    //  Below the minimum the chart is 60 wide; ids longer than a third of it
    //  (20) are cut and end in '~'; no line of the chart passes 60.
    const char *schedule =
        "{\"zone_id\": \"allama-iqbal\", \"entries\": ["
        " {\"critical\": true, \"milestone\": {\"id\": \"allama-iqbal-enterprises-585-acres\","
        "  \"planned_due\": \"2021-07-01\", \"completed_at\": \"2021-07-01\","
        "  \"forecast_due\": \"2021-07-01\"}},"
        " {\"milestone\": {\"id\": \"allama-iqbal-completion\", \"planned_due\": \"2026-07-01\","
        "  \"forecast_due\": \"2027-01-15\", \"baseline_due\": \"2026-07-01\"}}]}";
    char *narrow = s_gantt (schedule, "2026-11-28", 30);
    char *sixty = s_gantt (schedule, "2026-11-28", 60);
    assert_string_equal (narrow, sixty);
    char line[256];
    for (int number = 0; number < 5; number++) {
        s_line (sixty, number, line, sizeof (line));
        assert_true (strlen (line) <= 60);
    }
    assert_int_equal (strlen (s_line (sixty, 2, line, sizeof (line))), 60); //  the tick line
    //  2021-01-01 .. 2028-01-01 (2557 days) on 37 columns: Jul 1, 2021 is
    //  column 181 * 37 / 2557 = 2, today column 2157 * 37 / 2557 = 31.
    s_line (sixty, 3, line, sizeof (line));
    assert_int_equal (strncmp (line, "* allama-iqbal-enterp~   A", 26), 0);
    assert_int_equal (s_cell (line, 20, 31), '|');
    assert_int_equal (strlen (line), 2 + 20 + 1 + 32);
    s_line (sixty, 4, line, sizeof (line));
    assert_int_equal (strncmp (line, "  allama-iqbal-comple~ ", 23), 0);
    free (narrow);
    free (sixty);
}

static void
test_gantt_empty (void **state)
{
    (void)state;
    char *text = s_gantt ("{\"zone_id\": \"bostan\"}", "2026-11-28", 100);
    assert_string_equal (text, "bostan: no milestones\n");
    free (text);
}

static void
test_gantt_width_from_columns (void **state)
{
    (void)state;
    assert_int_equal (cpecctl_ms_gantt_width (NULL), 100);
    assert_int_equal (cpecctl_ms_gantt_width (""), 100);
    assert_int_equal (cpecctl_ms_gantt_width ("wide"), 100);
    assert_int_equal (cpecctl_ms_gantt_width ("80x"), 100);
    assert_int_equal (cpecctl_ms_gantt_width ("80"), 80);
    assert_int_equal (cpecctl_ms_gantt_width ("60"), 60);
    assert_int_equal (cpecctl_ms_gantt_width ("59"), 60);
    assert_int_equal (cpecctl_ms_gantt_width ("20"), 60);
    assert_int_equal (cpecctl_ms_gantt_width ("-5"), 60);
    assert_int_equal (cpecctl_ms_gantt_width ("250"), 250);
    assert_int_equal (cpecctl_ms_gantt_width ("99999999999999999999"), 100);
    assert_int_equal (cpecctl_ms_gantt_width ("5000"), 1000);
}

//  ---------------------------------------------------------------------------
//  Arguments

static void
test_date_arguments (void **state)
{
    (void)state;
    int64_t unix_ms = 0;
    assert_int_equal (cpecctl_parse_date ("2026-12-01T00:00:00Z", &unix_ms), 0);
    assert_int_equal (unix_ms, 1796083200000LL);
    assert_int_equal (cpecctl_parse_date ("2026-12-01", &unix_ms), 0); //  midnight UTC
    assert_int_equal (unix_ms, 1796083200000LL);
    assert_int_equal (cpecctl_parse_date ("2026-12-01T05:00:00+05:00", &unix_ms), 0);
    assert_int_equal (unix_ms, 1796083200000LL);
    assert_int_equal (cpecctl_parse_date ("2026-12-01T00:00:00.250Z", &unix_ms), 0);
    assert_int_equal (unix_ms, 1796083200250LL);
    assert_int_equal (cpecctl_parse_date ("2024-02-29", &unix_ms), 0);

    const char *bad[] = {"",
                         "tomorrow",
                         "2026-13-01",
                         "2026-02-29",
                         "2026-12-1",
                         "01/12/2026",
                         "2026-12-01T00:00:00",
                         "2026-12-01 ",
                         "2026-12-01T",
                         "1796083200",
                         "2026-12-01T25:00:00Z",
                         "2026-12-01Z"};
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad[0]); index++) {
        unix_ms = 42;
        if (cpecctl_parse_date (bad[index], &unix_ms) == 0)
            fail_msg ("'%s' was taken as a date", bad[index]);
        assert_int_equal (unix_ms, 42); //  untouched
    }
    assert_int_equal (cpecctl_parse_date (NULL, &unix_ms), -1);

    char day[16];
    assert_string_equal (cpecctl_format_day (1796083200000LL + 86399999, day, sizeof (day)),
                         "2026-12-01");
    assert_string_equal (cpecctl_format_day (-1, day, sizeof (day)), "1969-12-31");
    assert_string_equal (cpecctl_format_date (NULL, day, sizeof (day)), "-");
}

static void
test_lag_arguments (void **state)
{
    (void)state;
    uint32_t value = 7;
    assert_int_equal (cpecctl_parse_uint32 ("0", 0, &value), 0);
    assert_int_equal (value, 0);
    assert_int_equal (cpecctl_parse_uint32 ("30", 0, &value), 0);
    assert_int_equal (value, 30);
    assert_int_equal (cpecctl_parse_uint32 ("4294967295", 0, &value), 0);
    assert_int_equal (value, 4294967295u);
    const char *bad[] = {"", "-1", "+3", " 3", "3 ", "1.5", "1e3", "ten", "4294967296", "0x10"};
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad[0]); index++)
        if (cpecctl_parse_uint32 (bad[index], 0, &value) == 0)
            fail_msg ("'%s' was taken as a lag", bad[index]);
    //  A version (sez update) starts at 1.
    assert_int_equal (cpecctl_parse_uint32 ("0", 1, &value), -1);
}

static void
test_status_argument (void **state)
{
    (void)state;
    int value = 0;
    assert_int_equal (cpecctl_parse_enum ("ms list", "status",
                                          &cpec__v1__milestone__status__descriptor, "IN_PROGRESS",
                                          &value),
                      0);
    assert_int_equal (value, CPEC__V1__MILESTONE__STATUS__IN_PROGRESS);
    //  The zero value and unknown names are usage errors (printed on stderr).
    assert_int_equal (cpecctl_parse_enum ("ms list", "status",
                                          &cpec__v1__milestone__status__descriptor,
                                          "STATUS_UNSPECIFIED", &value),
                      CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_parse_enum ("ms list", "status",
                                          &cpec__v1__milestone__status__descriptor, "in_progress",
                                          &value),
                      CPECCTL_EXIT_USAGE);
}

//  ---------------------------------------------------------------------------
//  The portfolio table

static void
test_portfolio_table (void **state)
{
    (void)state;
    ProtobufCMessage *portfolio = text_decode (
        &cpec__v1__portfolio_response__descriptor,
        "{\"provinces\": ["
        "  {\"province\": \"PK-KP\", \"total\": 6, \"on_time\": 5, \"delayed\": 0, \"at_risk\": 1,"
        "   \"completed\": 5, \"mean_slip_days\": 0, \"worst_slip_days\": 0,"
        "   \"mean_variance_days\": 12.25, \"worst_variance_days\": 91},"
        "  {\"province\": \"PK-SD\", \"total\": 6, \"on_time\": 5, \"delayed\": 1,"
        "   \"completed\": 5, \"cancelled\": 0, \"mean_slip_days\": 576.04,"
        "   \"worst_slip_days\": 576.04, \"mean_variance_days\": 96,"
        "   \"worst_variance_days\": 576}],"
        " \"zones\": ["
        "  {\"zone_id\": \"rashakai\", \"province\": \"PK-KP\", \"total\": 6, \"on_time\": 5,"
        "   \"at_risk\": 1, \"completed\": 5, \"mean_variance_days\": 12.25,"
        "   \"worst_variance_days\": 91},"
        "  {\"zone_id\": \"dhabeji\", \"province\": \"PK-SD\", \"total\": 6, \"on_time\": 5,"
        "   \"delayed\": 1, \"completed\": 5, \"mean_slip_days\": 576.04,"
        "   \"worst_slip_days\": 576.04, \"mean_variance_days\": 96,"
        "   \"worst_variance_days\": 576}],"
        " \"total\": {\"total\": 12, \"on_time\": 10, \"delayed\": 1, \"at_risk\": 1,"
        "  \"completed\": 10, \"mean_slip_days\": 576.04, \"worst_slip_days\": 576.04,"
        "  \"mean_variance_days\": 54.125, \"worst_variance_days\": -0.01},"
        " \"as_of\": \"2026-11-28T02:00:00Z\"}");
    char *text = cpecctl_portfolio_table ((Cpec__V1__PortfolioResponse *)portfolio);
    const char *expected =
        "PROVINCE  ZONE      TOTAL  ON-TIME  DELAYED  AT-RISK  DONE  CANCELLED  MEAN-SLIP  "
        "WORST-SLIP  MEAN-VAR  WORST-VAR\n"
        "PK-KP     -             6        5        0        1     5          0        0.0  "
        "       0.0      12.2       91.0\n"
        "PK-SD     -             6        5        1        0     5          0      576.0  "
        "     576.0      96.0      576.0\n"
        "PK-KP     rashakai      6        5        0        1     5          0        0.0  "
        "       0.0      12.2       91.0\n"
        "PK-SD     dhabeji       6        5        1        0     5          0      576.0  "
        "     576.0      96.0      576.0\n"
        "total     -            12       10        1        1    10          0      576.0  "
        "     576.0      54.1        0.0\n"
        "as of 2026-11-28T02:00:00Z\n";
    assert_string_equal (text, expected);
    free (text);
    cpec_pb_destroy (&portfolio);

    //  No lines at all: the header, a zero total line, an unknown time.
    portfolio = text_decode (&cpec__v1__portfolio_response__descriptor, "{}");
    text = cpecctl_portfolio_table ((Cpec__V1__PortfolioResponse *)portfolio);
    assert_string_equal (
        text, "PROVINCE  ZONE  TOTAL  ON-TIME  DELAYED  AT-RISK  DONE  CANCELLED  MEAN-SLIP  "
              "WORST-SLIP  MEAN-VAR  WORST-VAR\n"
              "total     -         0        0        0        0     0          0        0.0  "
              "       0.0       0.0        0.0\n"
              "as of -\n");
    free (text);
    cpec_pb_destroy (&portfolio);
}

//  ---------------------------------------------------------------------------
//  The seed: data/milestones.json, as built into cpecctl

static const char *s_fast_track[] = {"rashakai", "allama-iqbal", "dhabeji", "bostan"};

//  The fields a seed entry may carry: the rest is the service's to fill.
static const char *s_seed_fields[] = {
    "id",     "zone_id",     "title",        "title_zh", "title_ur",         "kind",
    "agency", "planned_due", "completed_at", "status",   "percent_complete", "predecessors"};

static bool
s_in (const char *value, const char **set, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (strcmp (value, set[index]) == 0)
            return true;
    return false;
}

static void
test_seed_milestones (void **state)
{
    (void)state;
    json_error_t error;
    json_t *data = json_loads (cpec_data_milestones, JSON_REJECT_DUPLICATES, &error);
    if (data == NULL)
        fail_msg ("data/milestones.json:%d:%d: %s", error.line, error.column, error.text);
    assert_true (json_is_array (data));
    size_t count = json_array_size (data);
    assert_true (count >= 4);
    Cpec__V1__Milestone **milestones = calloc (count, sizeof (*milestones));
    size_t per_zone[4] = {0};
    const Cpec__V1__Milestone *last_of_zone[4] = {NULL};
    for (size_t index = 0; index < count; index++) {
        json_t *entry = json_array_get (data, index);
        const char *key;
        json_t *value;
        json_object_foreach (entry, key, value)
        {
            if (!s_in (key, s_seed_fields, sizeof (s_seed_fields) / sizeof (char *)))
                fail_msg ("entry %zu: %s is the service's to fill", index + 1, key);
        }
        char message[256] = "";
        ProtobufCMessage *decoded = cpec_json_to_message (&cpec__v1__milestone__descriptor, entry,
                                                          message, sizeof (message));
        if (decoded == NULL)
            fail_msg ("entry %zu: %s", index + 1, message);
        Cpec__V1__Milestone *milestone = (Cpec__V1__Milestone *)decoded;
        milestones[index] = milestone;
        const char *id = milestone->id;

        //  A slug that starts with its zone's id, given once.
        assert_true (strspn (id, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen (id));
        assert_true (strncmp (id, milestone->zone_id, strlen (milestone->zone_id)) == 0);
        for (size_t other = 0; other < index; other++)
            if (strcmp (milestones[other]->id, id) == 0)
                fail_msg ("%s appears twice", id);
        size_t zone = 0;
        while (zone < 4 && strcmp (s_fast_track[zone], milestone->zone_id) != 0)
            zone++;
        if (zone == 4)
            fail_msg ("%s: zone %s is not a fast-track zone", id, milestone->zone_id);
        per_zone[zone]++;
        last_of_zone[zone] = milestone;

        //  What the service requires, and what the seed sets on purpose.
        assert_true (*milestone->title != '\0');
        assert_non_null (milestone->planned_due);
        assert_int_not_equal (milestone->kind, CPEC__V1__MILESTONE__KIND__KIND_UNSPECIFIED);
        assert_true (*milestone->agency != '\0');
        if (milestone->status == CPEC__V1__MILESTONE__STATUS__COMPLETED) {
            //  A past event: done on the day it happened, as planned.
            assert_non_null (milestone->completed_at);
            assert_true (cpec_pb_timestamp_ms (milestone->completed_at) ==
                         cpec_pb_timestamp_ms (milestone->planned_due));
            assert_int_equal (milestone->percent_complete, 100);
        } else {
            if (milestone->status != CPEC__V1__MILESTONE__STATUS__IN_PROGRESS &&
                milestone->status != CPEC__V1__MILESTONE__STATUS__NOT_STARTED)
                fail_msg ("%s: an open seed milestone is IN_PROGRESS or NOT_STARTED", id);
            assert_null (milestone->completed_at);
        }
        //  Dates as the reference gives them: midnight UTC.
        assert_int_equal (cpec_pb_timestamp_ms (milestone->planned_due) % 86400000, 0);

        //  Every predecessor is listed earlier, in the same zone here.
        for (size_t each = 0; each < milestone->n_predecessors; each++) {
            const char *predecessor = milestone->predecessors[each]->milestone_id;
            size_t other = 0;
            while (other < index && strcmp (milestones[other]->id, predecessor) != 0)
                other++;
            if (other == index)
                fail_msg ("%s waits on %s, which is not listed before it", id, predecessor);
            assert_string_equal (milestones[other]->zone_id, milestone->zone_id);
        }
    }
    //  Every fast-track zone has milestones; the three with a completion
    //  target in the reference end with their commercial operation.
    for (size_t zone = 0; zone < 4; zone++) {
        assert_true (per_zone[zone] > 0);
        bool has_target = strcmp (s_fast_track[zone], "bostan") != 0;
        if (has_target)
            assert_int_equal (last_of_zone[zone]->kind,
                              CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION);
    }
    for (size_t index = 0; index < count; index++)
        cpec_pb_destroy ((ProtobufCMessage **)&milestones[index]);
    free (milestones);
    json_decref (data);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_gantt_exact_rows),
        cmocka_unit_test (test_gantt_year_axis_and_finish),
        cmocka_unit_test (test_gantt_marker_precedence),
        cmocka_unit_test (test_gantt_narrow),
        cmocka_unit_test (test_gantt_empty),
        cmocka_unit_test (test_gantt_width_from_columns),
        cmocka_unit_test (test_date_arguments),
        cmocka_unit_test (test_lag_arguments),
        cmocka_unit_test (test_status_argument),
        cmocka_unit_test (test_portfolio_table),
        cmocka_unit_test (test_seed_milestones),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
