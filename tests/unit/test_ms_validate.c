/*  test_ms_validate - every input rule of the milestone service
    (services/milestones/ms_validate.c): each refusal is INVALID_ARGUMENT and
    its message starts with the path of the field at fault; inputs that meet
    every rule pass. No Redis: validation is pure (callers pass the time).
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "text_test.h"
#include "milestones.h"

#define S_NOW 1767225600000LL //  2026-01-01T00:00:00Z, "now" for completion dates
#define S_DAY MS_DAY_MS

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

//  --------------------------------------------------------------------------
//  Helpers

//  Sets a string field to n copies of unit.
static void
s_set_repeat (char **field, const char *unit, size_t n)
{
    char *text = text_repeat (unit, n);
    cpec_pb_string_set (field, text);
    free (text);
}

static void
s_set_time (Google__Protobuf__Timestamp **field, int64_t unix_ms)
{
    s_destroy (field);
    *field = cpec_pb_timestamp_new (unix_ms);
}

static Cpec__V1__Dependency *
s_dependency_new (const char *id, uint32_t lag)
{
    Cpec__V1__Dependency *dependency =
        (Cpec__V1__Dependency *)cpec_pb_new (&cpec__v1__dependency__descriptor);
    cpec_pb_string_set (&dependency->milestone_id, id);
    dependency->lag_days = lag;
    return dependency;
}

static void
s_add_pred (Cpec__V1__Milestone *milestone, const char *id, uint32_t lag)
{
    milestone->predecessors = (Cpec__V1__Dependency **)cpec_realloc (
        milestone->predecessors, (milestone->n_predecessors + 1) * sizeof (void *));
    milestone->predecessors[milestone->n_predecessors++] = s_dependency_new (id, lag);
}

//  A milestone that meets every rule.
static Cpec__V1__Milestone *
s_milestone_new (void)
{
    Cpec__V1__Milestone *milestone =
        (Cpec__V1__Milestone *)cpec_pb_new (&cpec__v1__milestone__descriptor);
    cpec_pb_string_set (&milestone->id, "rashakai-grid");
    cpec_pb_string_set (&milestone->zone_id, "rashakai");
    cpec_pb_string_set (&milestone->title, "132 kV grid station energised");
    cpec_pb_string_set (&milestone->title_zh, "132千伏电网站通电");
    cpec_pb_string_set (&milestone->title_ur, "132 کے وی گرڈ اسٹیشن");
    cpec_pb_string_set (&milestone->agency, "PESCO");
    milestone->kind = CPEC__V1__MILESTONE__KIND__POWER;
    milestone->status = CPEC__V1__MILESTONE__STATUS__IN_PROGRESS;
    milestone->percent_complete = 40;
    milestone->planned_due = cpec_pb_timestamp_new (1782777600000LL);  //  2026-06-30
    milestone->baseline_due = cpec_pb_timestamp_new (1774915200000LL); //  2026-03-31
    s_add_pred (milestone, "rashakai-land", 0);
    s_add_pred (milestone, "rashakai-roads", 30);
    return milestone;
}

//  Asserts an INVALID_ARGUMENT whose message starts with "<path>: ".
#define s_assert_error(rc, status, path) s_assert_error_at (rc, status, path, __LINE__)

static void
s_assert_error_at (int rc, const cpec_status_t *status, const char *path, int line)
{
    char prefix[128];
    snprintf (prefix, sizeof (prefix), "%s: ", path);
    if (rc != CPEC_INVALID_ARGUMENT || status->code != CPEC_INVALID_ARGUMENT ||
        strncmp (status->message, prefix, strlen (prefix)) != 0)
        fail_msg ("line %d: wanted INVALID_ARGUMENT \"%s...\", got %s \"%s\"", line, prefix,
                  cpec_code_name (rc), status->message);
}

#define s_assert_ok(rc, status) s_assert_ok_at (rc, status, __LINE__)

static void
s_assert_ok_at (int rc, const cpec_status_t *status, int line)
{
    if (rc != CPEC_OK)
        fail_msg ("line %d: wanted OK, got %s \"%s\"", line, cpec_code_name (rc), status->message);
}

//  Validates a new milestone (at S_NOW), expects the error at path (NULL:
//  OK), and frees the milestone.
#define s_expect_new(milestone, path) s_expect_new_at (milestone, path, __LINE__)

static void
s_expect_new_at (Cpec__V1__Milestone *milestone, const char *path, int line)
{
    cpec_status_t status;
    cpec_status_clear (&status);
    int rc = ms_validate_new (milestone, S_NOW, &status);
    if (path)
        s_assert_error_at (rc, &status, path, line);
    else
        s_assert_ok_at (rc, &status, line);
    s_destroy (&milestone);
}

//  An update request of milestone with the mask (NULL-terminated; NULL: empty).
static Cpec__V1__UpdateMilestoneRequest *
s_update_new (Cpec__V1__Milestone *milestone, uint32_t expected, const char **mask)
{
    Cpec__V1__UpdateMilestoneRequest *request = (Cpec__V1__UpdateMilestoneRequest *)cpec_pb_new (
        &cpec__v1__update_milestone_request__descriptor);
    request->milestone = milestone;
    request->expected_version = expected;
    size_t n = 0;
    while (mask && mask[n])
        n++;
    request->n_update_mask = n;
    request->update_mask = (char **)calloc (n + 1, sizeof (char *));
    for (size_t i = 0; i < n; i++)
        request->update_mask[i] = cpec_strdup (mask[i]);
    return request;
}

#define s_expect_update(request, path) s_expect_update_at (request, path, __LINE__)

static void
s_expect_update_at (Cpec__V1__UpdateMilestoneRequest *request, const char *path, int line)
{
    cpec_status_t status;
    cpec_status_clear (&status);
    int rc = ms_validate_update (request, &status);
    if (path)
        s_assert_error_at (rc, &status, path, line);
    else
        s_assert_ok_at (rc, &status, line);
    s_destroy (&request);
}

//  --------------------------------------------------------------------------
//  Names, ids, dates

static void
test_status_name (void **state)
{
    (void)state;
    assert_string_equal (ms_status_name (0), "STATUS_UNSPECIFIED");
    assert_string_equal (ms_status_name (CPEC__V1__MILESTONE__STATUS__NOT_STARTED), "NOT_STARTED");
    assert_string_equal (ms_status_name (CPEC__V1__MILESTONE__STATUS__IN_PROGRESS), "IN_PROGRESS");
    assert_string_equal (ms_status_name (CPEC__V1__MILESTONE__STATUS__COMPLETED), "COMPLETED");
    assert_string_equal (ms_status_name (CPEC__V1__MILESTONE__STATUS__BLOCKED), "BLOCKED");
    assert_string_equal (ms_status_name (CPEC__V1__MILESTONE__STATUS__CANCELLED), "CANCELLED");
    assert_string_equal (ms_status_name (6), "?");
    assert_string_equal (ms_status_name (-1), "?");
}

static void
test_validate_id (void **state)
{
    (void)state;
    cpec_status_t status;
    s_assert_ok (ms_validate_id ("id", "ab", &status), &status);
    s_assert_ok (ms_validate_id ("id", "rashakai-grid-2", &status), &status);
    char *longest = text_repeat ("a", MS_SLUG_MAX);
    s_assert_ok (ms_validate_id ("id", longest, &status), &status);
    free (longest);
    char *too_long = text_repeat ("a", MS_SLUG_MAX + 1);
    s_assert_error (ms_validate_id ("id", too_long, &status), &status, "id");
    free (too_long);
    const char *bad[] = {"a", "Ab", "a b", "a--b", "-ab", "ab-", "a_b", "ab/c", "äb"};
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++)
        s_assert_error (ms_validate_id ("milestone.id", bad[i], &status), &status, "milestone.id");
    s_assert_error (ms_validate_id ("id", "", &status), &status, "id");
    s_assert_error (ms_validate_id ("id", NULL, &status), &status, "id");
}

static void
test_validate_due (void **state)
{
    (void)state;
    cpec_status_t status;
    s_assert_error (ms_validate_due ("planned_due", NULL, true, &status), &status, "planned_due");
    s_assert_ok (ms_validate_due ("baseline_due", NULL, false, &status), &status);
    //  2000-01-01T00:00:00Z .. 2099-12-31T23:59:59.999Z
    Google__Protobuf__Timestamp *due = cpec_pb_timestamp_new (MS_DATE_MIN_MS);
    s_assert_ok (ms_validate_due ("planned_due", due, true, &status), &status);
    s_set_time (&due, MS_DATE_MIN_MS - 1);
    s_assert_error (ms_validate_due ("planned_due", due, true, &status), &status, "planned_due");
    s_set_time (&due, MS_DATE_MAX_MS - 1);
    s_assert_ok (ms_validate_due ("planned_due", due, false, &status), &status);
    s_set_time (&due, MS_DATE_MAX_MS);
    s_assert_error (ms_validate_due ("baseline_due", due, false, &status), &status, "baseline_due");
    s_set_time (&due, 0);
    s_assert_error (ms_validate_due ("due_to", due, false, &status), &status, "due_to");
    //  Not a valid Timestamp at all
    s_set_time (&due, S_NOW);
    due->nanos = -1;
    s_assert_error (ms_validate_due ("planned_due", due, true, &status), &status, "planned_due");
    due->nanos = 1000000000;
    s_assert_error (ms_validate_due ("planned_due", due, true, &status), &status, "planned_due");
    due->nanos = 0;
    due->seconds = 300000000000LL;
    s_assert_error (ms_validate_due ("planned_due", due, true, &status), &status, "planned_due");
    s_destroy (&due);
}

//  --------------------------------------------------------------------------
//  New milestones

static void
test_new_valid (void **state)
{
    (void)state;
    s_expect_new (s_milestone_new (), NULL);

    //  The least a caller gives: zone, title, planned due (id generated)
    Cpec__V1__Milestone *minimal =
        (Cpec__V1__Milestone *)cpec_pb_new (&cpec__v1__milestone__descriptor);
    cpec_pb_string_set (&minimal->zone_id, "dhabeji");
    cpec_pb_string_set (&minimal->title, "Land handed over");
    minimal->planned_due = cpec_pb_timestamp_new (S_NOW + 90 * S_DAY);
    s_expect_new (minimal, NULL);

    //  Completed, dated up to the clock skew ahead of now
    Cpec__V1__Milestone *milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    milestone->percent_complete = 100;
    milestone->completed_at = cpec_pb_timestamp_new (S_NOW + MS_CLOCK_SKEW_MS);
    s_expect_new (milestone, NULL);

    //  At the limits: 200 characters (of three bytes each), 100 for the
    //  agency, 100 percent, a lag of ten years, 64 predecessors, every kind
    //  and status but COMPLETED (which needs a date)
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title, "中", MS_TITLE_MAX);
    s_set_repeat (&milestone->title_zh, "经", MS_TITLE_MAX);
    s_set_repeat (&milestone->title_ur, "ز", MS_TITLE_MAX);
    s_set_repeat (&milestone->agency, "N", MS_AGENCY_MAX);
    milestone->percent_complete = 100;
    milestone->predecessors[1]->lag_days = MS_LAG_MAX_DAYS;
    s_expect_new (milestone, NULL);
    milestone = s_milestone_new ();
    for (size_t i = milestone->n_predecessors; i < MS_PREDECESSORS_MAX; i++) {
        char id[32];
        snprintf (id, sizeof (id), "pred-%zu", i);
        s_add_pred (milestone, id, (uint32_t)i);
    }
    s_expect_new (milestone, NULL);
    for (int kind = 0; kind <= CPEC__V1__MILESTONE__KIND__OTHER; kind++) {
        milestone = s_milestone_new ();
        milestone->kind = (Cpec__V1__Milestone__Kind)kind;
        s_expect_new (milestone, NULL);
    }
    const int statuses[] = {
        0, CPEC__V1__MILESTONE__STATUS__NOT_STARTED, CPEC__V1__MILESTONE__STATUS__IN_PROGRESS,
        CPEC__V1__MILESTONE__STATUS__BLOCKED, CPEC__V1__MILESTONE__STATUS__CANCELLED};
    for (size_t i = 0; i < sizeof (statuses) / sizeof (statuses[0]); i++) {
        milestone = s_milestone_new ();
        milestone->status = (Cpec__V1__Milestone__Status)statuses[i];
        s_expect_new (milestone, NULL);
    }
}

static void
test_new_texts (void **state)
{
    (void)state;
    cpec_status_t status;
    assert_int_equal (ms_validate_new (NULL, S_NOW, &status), CPEC_INVALID_ARGUMENT);
    assert_true (strncmp (status.message, "milestone: ", 11) == 0);

    Cpec__V1__Milestone *milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->id, "Rashakai Grid");
    s_expect_new (milestone, "id");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->id, "a", MS_SLUG_MAX + 1);
    s_expect_new (milestone, "id");

    //  zone_id: required, a slug of at most 64
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->zone_id, "");
    s_expect_new (milestone, "zone_id");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->zone_id, "Rashakai");
    s_expect_new (milestone, "zone_id");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->zone_id, "z", 65);
    s_expect_new (milestone, "zone_id");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->zone_id, "z", 64);
    s_expect_new (milestone, NULL);

    //  title: required, at most 200 code points, valid UTF-8
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title, "");
    s_expect_new (milestone, "title");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title, "a", MS_TITLE_MAX + 1);
    s_expect_new (milestone, "title");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title, "中", MS_TITLE_MAX + 1);
    s_expect_new (milestone, "title");
    const char *broken[] = {"bad \xff byte", "overlong \xc0\xaf", "surrogate \xed\xa0\x80",
                            "cut \xe4\xb8", "past U+10FFFF \xf4\x90\x80\x80"};
    for (size_t i = 0; i < sizeof (broken) / sizeof (broken[0]); i++) {
        milestone = s_milestone_new ();
        cpec_pb_string_set (&milestone->title, broken[i]);
        s_expect_new (milestone, "title");
    }

    //  title_zh, title_ur: optional, same limits
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title_zh, "");
    cpec_pb_string_set (&milestone->title_ur, "");
    s_expect_new (milestone, NULL);
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title_zh, "经", MS_TITLE_MAX + 1);
    s_expect_new (milestone, "title_zh");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title_zh, "\xff");
    s_expect_new (milestone, "title_zh");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title_ur, "ز", MS_TITLE_MAX + 1);
    s_expect_new (milestone, "title_ur");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title_ur, "\xc0\xaf");
    s_expect_new (milestone, "title_ur");

    //  agency: optional, at most 100
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->agency, "");
    s_expect_new (milestone, NULL);
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->agency, "N", MS_AGENCY_MAX + 1);
    s_expect_new (milestone, "agency");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->agency, "NTDC \xff");
    s_expect_new (milestone, "agency");
}

static void
test_new_enums_and_dates (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_milestone_new ();
    milestone->kind = (Cpec__V1__Milestone__Kind)(CPEC__V1__MILESTONE__KIND__OTHER + 1);
    s_expect_new (milestone, "kind");
    milestone = s_milestone_new ();
    milestone->kind = (Cpec__V1__Milestone__Kind)-1;
    s_expect_new (milestone, "kind");
    milestone = s_milestone_new ();
    milestone->status = (Cpec__V1__Milestone__Status)(CPEC__V1__MILESTONE__STATUS__CANCELLED + 1);
    s_expect_new (milestone, "status");
    milestone = s_milestone_new ();
    milestone->status = (Cpec__V1__Milestone__Status)-1;
    s_expect_new (milestone, "status");
    milestone = s_milestone_new ();
    milestone->percent_complete = 101;
    s_expect_new (milestone, "percent_complete");

    //  planned_due: required, 2000 .. 2099
    milestone = s_milestone_new ();
    s_destroy (&milestone->planned_due);
    s_expect_new (milestone, "planned_due");
    milestone = s_milestone_new ();
    s_set_time (&milestone->planned_due, MS_DATE_MIN_MS - 1);
    s_expect_new (milestone, "planned_due");
    milestone = s_milestone_new ();
    s_set_time (&milestone->planned_due, MS_DATE_MAX_MS);
    s_expect_new (milestone, "planned_due");
    milestone = s_milestone_new ();
    milestone->planned_due->nanos = -5;
    s_expect_new (milestone, "planned_due");
    milestone = s_milestone_new ();
    s_set_time (&milestone->planned_due, MS_DATE_MIN_MS);
    s_expect_new (milestone, NULL);
    milestone = s_milestone_new ();
    s_set_time (&milestone->planned_due, MS_DATE_MAX_MS - 1);
    s_expect_new (milestone, NULL);

    //  baseline_due: optional, 2000 .. 2099
    milestone = s_milestone_new ();
    s_destroy (&milestone->baseline_due);
    s_expect_new (milestone, NULL);
    milestone = s_milestone_new ();
    s_set_time (&milestone->baseline_due, MS_DATE_MIN_MS - 1);
    s_expect_new (milestone, "baseline_due");
    milestone = s_milestone_new ();
    s_set_time (&milestone->baseline_due, MS_DATE_MAX_MS);
    s_expect_new (milestone, "baseline_due");

    //  completed_at: required exactly when COMPLETED, not in the future
    milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    s_expect_new (milestone, "completed_at");
    milestone = s_milestone_new ();
    milestone->completed_at = cpec_pb_timestamp_new (S_NOW - S_DAY);
    s_expect_new (milestone, "completed_at"); //  IN_PROGRESS with a completion
    milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__CANCELLED;
    milestone->completed_at = cpec_pb_timestamp_new (S_NOW - S_DAY);
    s_expect_new (milestone, "completed_at");
    milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    milestone->completed_at = cpec_pb_timestamp_new (S_NOW + MS_CLOCK_SKEW_MS + 1);
    s_expect_new (milestone, "completed_at");
    milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    milestone->completed_at = cpec_pb_timestamp_new (S_NOW + 30 * S_DAY);
    s_expect_new (milestone, "completed_at");
    milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    milestone->completed_at = cpec_pb_timestamp_new (MS_DATE_MIN_MS - 1);
    s_expect_new (milestone, "completed_at");
    milestone = s_milestone_new ();
    milestone->status = CPEC__V1__MILESTONE__STATUS__COMPLETED;
    milestone->completed_at = cpec_pb_timestamp_new (S_NOW);
    milestone->completed_at->nanos = 1000000000;
    s_expect_new (milestone, "completed_at");
}

static void
test_new_predecessors (void **state)
{
    (void)state;
    Cpec__V1__Milestone *milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->predecessors[1]->milestone_id, "Roads");
    s_expect_new (milestone, "predecessors[1].milestone_id");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->predecessors[0]->milestone_id, "");
    s_expect_new (milestone, "predecessors[0].milestone_id");
    milestone = s_milestone_new ();
    milestone->predecessors[0]->lag_days = MS_LAG_MAX_DAYS + 1;
    s_expect_new (milestone, "predecessors[0].lag_days");
    milestone = s_milestone_new ();
    milestone->predecessors[1]->lag_days = UINT32_MAX;
    s_expect_new (milestone, "predecessors[1].lag_days");
    //  Listed twice (whatever the lags)
    milestone = s_milestone_new ();
    s_add_pred (milestone, "rashakai-land", 7);
    s_expect_new (milestone, "predecessors[2].milestone_id");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->predecessors[1]->milestone_id, "rashakai-land");
    s_expect_new (milestone, "predecessors[1].milestone_id");
    //  Waiting on itself
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->predecessors[0]->milestone_id, "rashakai-grid");
    s_expect_new (milestone, "predecessors[0].milestone_id");
    //  More than 64
    milestone = s_milestone_new ();
    for (size_t i = milestone->n_predecessors; i <= MS_PREDECESSORS_MAX; i++) {
        char id[32];
        snprintf (id, sizeof (id), "pred-%zu", i);
        s_add_pred (milestone, id, 0);
    }
    assert_int_equal (milestone->n_predecessors, MS_PREDECESSORS_MAX + 1);
    s_expect_new (milestone, "predecessors");
}

static void
test_dependency (void **state)
{
    (void)state;
    cpec_status_t status;
    Cpec__V1__Dependency *dependency = s_dependency_new ("rashakai-land", 0);
    s_assert_ok (ms_validate_dependency ("rashakai-grid", dependency, &status), &status);
    s_assert_ok (ms_validate_dependency (NULL, dependency, &status), &status);
    dependency->lag_days = MS_LAG_MAX_DAYS;
    s_assert_ok (ms_validate_dependency ("rashakai-grid", dependency, &status), &status);
    dependency->lag_days = MS_LAG_MAX_DAYS + 1;
    s_assert_error (ms_validate_dependency ("rashakai-grid", dependency, &status), &status,
                    "dependency.lag_days");
    dependency->lag_days = 0;
    s_assert_error (ms_validate_dependency ("rashakai-land", dependency, &status), &status,
                    "dependency.milestone_id");
    cpec_pb_string_set (&dependency->milestone_id, "Land");
    s_assert_error (ms_validate_dependency ("rashakai-grid", dependency, &status), &status,
                    "dependency.milestone_id");
    cpec_pb_string_set (&dependency->milestone_id, "");
    s_assert_error (ms_validate_dependency ("rashakai-grid", dependency, &status), &status,
                    "dependency.milestone_id");
    s_assert_error (ms_validate_dependency ("rashakai-grid", NULL, &status), &status, "dependency");
    s_destroy (&dependency);
}

//  --------------------------------------------------------------------------
//  Updates

static void
test_update (void **state)
{
    (void)state;
    cpec_status_t status;
    const char *mask[] = {"title", "agency", NULL};
    s_expect_update (s_update_new (s_milestone_new (), 3, mask), NULL);
    s_expect_update (s_update_new (s_milestone_new (), 3, NULL), NULL); //  empty mask: all
    const char *all[] = {"title",  "title_zh",         "title_ur", "kind",
                         "agency", "percent_complete", "status",   NULL};
    s_expect_update (s_update_new (s_milestone_new (), 1, all), NULL);

    Cpec__V1__UpdateMilestoneRequest empty = CPEC__V1__UPDATE_MILESTONE_REQUEST__INIT;
    empty.expected_version = 1;
    s_assert_error (ms_validate_update (&empty, &status), &status, "milestone");

    Cpec__V1__Milestone *milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->id, "");
    s_expect_update (s_update_new (milestone, 1, mask), "milestone.id");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->id, "Rashakai Grid");
    s_expect_update (s_update_new (milestone, 1, mask), "milestone.id");
    s_expect_update (s_update_new (s_milestone_new (), 0, mask), "expected_version");

    //  Only the updatable fields, each once
    const char *fixed[] = {"id",           "zone_id",      "baseline_due", "planned_due",
                           "forecast_due", "completed_at", "predecessors", "version",
                           "history",      "province",     "created",      "updated",
                           "overdue",      "at_risk",      "slip_days",    "",
                           "Title",        "nonsense"};
    for (size_t i = 0; i < sizeof (fixed) / sizeof (fixed[0]); i++) {
        const char *one[] = {"agency", fixed[i], NULL};
        s_expect_update (s_update_new (s_milestone_new (), 2, one), "update_mask[1]");
    }
    const char *twice[] = {"title", "agency", "title", NULL};
    s_expect_update (s_update_new (s_milestone_new (), 2, twice), "update_mask[2]");

    //  The title is required when the mask names it or is empty
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title, "");
    const char *agency_only[] = {"agency", NULL};
    s_expect_update (s_update_new (milestone, 2, agency_only), NULL);
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title, "");
    s_expect_update (s_update_new (milestone, 2, NULL), "title");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title, "");
    s_expect_update (s_update_new (milestone, 2, mask), "title");

    //  The fields themselves
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title, "a", MS_TITLE_MAX + 1);
    s_expect_update (s_update_new (milestone, 2, mask), "title");
    milestone = s_milestone_new ();
    cpec_pb_string_set (&milestone->title_zh, "\xff");
    const char *zh[] = {"title_zh", NULL};
    s_expect_update (s_update_new (milestone, 2, zh), "title_zh");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->title_ur, "ز", MS_TITLE_MAX + 1);
    const char *ur[] = {"title_ur", NULL};
    s_expect_update (s_update_new (milestone, 2, ur), "title_ur");
    milestone = s_milestone_new ();
    s_set_repeat (&milestone->agency, "N", MS_AGENCY_MAX + 1);
    s_expect_update (s_update_new (milestone, 2, agency_only), "agency");
    milestone = s_milestone_new ();
    milestone->kind = (Cpec__V1__Milestone__Kind)99;
    const char *kind[] = {"kind", NULL};
    s_expect_update (s_update_new (milestone, 2, kind), "kind");
    milestone = s_milestone_new ();
    milestone->status = (Cpec__V1__Milestone__Status)9;
    const char *status_mask[] = {"status", NULL};
    s_expect_update (s_update_new (milestone, 2, status_mask), "status");
    milestone = s_milestone_new ();
    milestone->percent_complete = 101;
    const char *percent[] = {"percent_complete", NULL};
    s_expect_update (s_update_new (milestone, 2, percent), "percent_complete");
    milestone = s_milestone_new ();
    milestone->percent_complete = 100;
    s_expect_update (s_update_new (milestone, 2, percent), NULL);
}

//  --------------------------------------------------------------------------
//  Lists

static void
test_list (void **state)
{
    (void)state;
    cpec_status_t status;
    size_t page = 0;
    Cpec__V1__ListMilestonesRequest request = CPEC__V1__LIST_MILESTONES_REQUEST__INIT;
    s_assert_ok (ms_validate_list (&request, &page, &status), &status);
    assert_int_equal (page, MS_PAGE_DEFAULT);
    request.page_size = 1;
    s_assert_ok (ms_validate_list (&request, &page, &status), &status);
    assert_int_equal (page, 1);
    request.page_size = MS_PAGE_MAX;
    s_assert_ok (ms_validate_list (&request, &page, &status), &status);
    assert_int_equal (page, MS_PAGE_MAX);
    request.page_size = MS_PAGE_MAX + 1;
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "page_size");
    request.page_size = 0;

    //  Every filter at once, valid
    Google__Protobuf__Timestamp *from = cpec_pb_timestamp_new (S_NOW);
    Google__Protobuf__Timestamp *to = cpec_pb_timestamp_new (S_NOW + 365 * S_DAY);
    request.zone_id = "rashakai";
    request.status = CPEC__V1__MILESTONE__STATUS__BLOCKED;
    request.agency = "NTDC";
    request.overdue = true;
    request.at_risk = true;
    request.due_from = from;
    request.due_to = to;
    request.cursor = "rashakai-grid";
    s_assert_ok (ms_validate_list (&request, &page, &status), &status);

    request.cursor = "Rashakai Grid";
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "cursor");
    request.cursor = "x";
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "cursor");
    request.cursor = "";
    s_assert_ok (ms_validate_list (&request, &page, &status), &status);

    request.zone_id = "Rashakai";
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "zone_id");
    request.zone_id = "";
    s_assert_ok (ms_validate_list (&request, &page, &status), &status);

    request.status = (Cpec__V1__Milestone__Status)6;
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "status");
    request.status = 0;

    char *agency = text_repeat ("N", MS_AGENCY_MAX + 1);
    request.agency = agency;
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "agency");
    request.agency = "\xff";
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "agency");
    request.agency = "";
    free (agency);

    s_set_time (&from, MS_DATE_MIN_MS - 1);
    request.due_from = from;
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "due_from");
    request.due_from = NULL;
    s_set_time (&to, MS_DATE_MAX_MS);
    request.due_to = to;
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "due_to");
    to->seconds = (S_NOW / 1000);
    to->nanos = -1;
    s_assert_error (ms_validate_list (&request, &page, &status), &status, "due_to");
    s_destroy (&from);
    s_destroy (&to);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_status_name),      cmocka_unit_test (test_validate_id),
        cmocka_unit_test (test_validate_due),     cmocka_unit_test (test_new_valid),
        cmocka_unit_test (test_new_texts),        cmocka_unit_test (test_new_enums_and_dates),
        cmocka_unit_test (test_new_predecessors), cmocka_unit_test (test_dependency),
        cmocka_unit_test (test_update),           cmocka_unit_test (test_list),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
