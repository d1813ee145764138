/*  ms_validate - the rules a milestone, an update, a dependency and a list
    request must meet. Pure functions: no Redis; callers pass the time.

    Every error is INVALID_ARGUMENT and its message starts with the path of
    the field at fault ("planned_due: ...", "predecessors[1].lag_days: ...").
*/
#include "milestones.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "cpec_check.h"
#include "cpec_pb.h"

static const char *s_status_names[] = {"STATUS_UNSPECIFIED", "NOT_STARTED", "IN_PROGRESS",
                                       "COMPLETED",          "BLOCKED",     "CANCELLED"};

//  Fields Update may change.
static const char *s_updatable[] = {"title",  "title_zh", "title_ur",         "kind",
                                    "agency", "status",   "percent_complete", NULL};

const char *
ms_status_name (int status)
{
    if (status < 0 || status >= (int)(sizeof (s_status_names) / sizeof (s_status_names[0])))
        return "?";
    return s_status_names[status];
}

int
ms_validate_id (const char *path, const char *value, cpec_status_t *status)
{
    return cpec_check_slug (path, value, MS_SLUG_MAX, status);
}

int
ms_validate_due (const char *path, const Google__Protobuf__Timestamp *due, bool required,
                 cpec_status_t *status)
{
    if (!due)
        return required
                   ? cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                      "%s: required (RFC 3339, e.g. 2026-12-31T00:00:00Z)", path)
                   : 0;
    if (cpec_check_timestamp (path, due, 0, status))
        return status->code;
    int64_t ms = cpec_pb_timestamp_ms (due);
    if (ms < MS_DATE_MIN_MS || ms >= MS_DATE_MAX_MS)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: must lie between 2000-01-01 and 2099-12-31", path);
    return 0;
}

static int
s_check_kind (int kind, cpec_status_t *status)
{
    if (kind < CPEC__V1__MILESTONE__KIND__KIND_UNSPECIFIED ||
        kind > CPEC__V1__MILESTONE__KIND__OTHER)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "kind: unknown value %d", kind);
    return 0;
}

static int
s_check_status (int value, cpec_status_t *status)
{
    if (value < CPEC__V1__MILESTONE__STATUS__STATUS_UNSPECIFIED ||
        value > CPEC__V1__MILESTONE__STATUS__CANCELLED)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "status: unknown value %d", value);
    return 0;
}

static int
s_check_percent (uint32_t percent, cpec_status_t *status)
{
    if (percent > 100)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "percent_complete: must be 0 to 100 (got %u)", percent);
    return 0;
}

//  One of the fields a caller sets on create and update, by name (a title,
//  when set at all, is required).
static int
s_check_field (const Cpec__V1__Milestone *milestone, const char *name, cpec_status_t *status)
{
    if (strcmp (name, "title") == 0)
        return cpec_check_text ("title", milestone->title, true, MS_TITLE_MAX, status);
    if (strcmp (name, "title_zh") == 0)
        return cpec_check_text ("title_zh", milestone->title_zh, false, MS_TITLE_MAX, status);
    if (strcmp (name, "title_ur") == 0)
        return cpec_check_text ("title_ur", milestone->title_ur, false, MS_TITLE_MAX, status);
    if (strcmp (name, "agency") == 0)
        return cpec_check_text ("agency", milestone->agency, false, MS_AGENCY_MAX, status);
    if (strcmp (name, "kind") == 0)
        return s_check_kind (milestone->kind, status);
    if (strcmp (name, "status") == 0)
        return s_check_status (milestone->status, status);
    if (strcmp (name, "percent_complete") == 0)
        return s_check_percent (milestone->percent_complete, status);
    return 0;
}

//  The fields a caller sets (all of s_updatable), on create.
static int
s_check_fields (const Cpec__V1__Milestone *milestone, cpec_status_t *status)
{
    for (const char **field = s_updatable; *field; field++)
        if (s_check_field (milestone, *field, status))
            return status->code;
    return 0;
}

int
ms_validate_dependency (const char *id, const Cpec__V1__Dependency *dependency,
                        cpec_status_t *status)
{
    if (!dependency)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "dependency: required");
    if (ms_validate_id ("dependency.milestone_id", dependency->milestone_id, status))
        return status->code;
    if (id && strcmp (id, dependency->milestone_id) == 0)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "dependency.milestone_id: a milestone cannot wait on itself");
    if (dependency->lag_days > MS_LAG_MAX_DAYS)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "dependency.lag_days: at most %d (got %u)", MS_LAG_MAX_DAYS,
                                dependency->lag_days);
    return 0;
}

int
ms_validate_new (const Cpec__V1__Milestone *milestone, int64_t now_ms, cpec_status_t *status)
{
    assert (status);
    if (!milestone)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "milestone: required");
    if (milestone->id && *milestone->id && ms_validate_id ("id", milestone->id, status))
        return status->code;
    if (cpec_check_slug ("zone_id", milestone->zone_id, 64, status) ||
        s_check_fields (milestone, status) ||
        ms_validate_due ("planned_due", milestone->planned_due, true, status) ||
        ms_validate_due ("baseline_due", milestone->baseline_due, false, status))
        return status->code;
    bool completed = milestone->status == CPEC__V1__MILESTONE__STATUS__COMPLETED;
    if (completed && !milestone->completed_at)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "completed_at: required when status is COMPLETED");
    if (!completed && milestone->completed_at)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "completed_at: only a COMPLETED milestone has one");
    if (milestone->completed_at) {
        if (ms_validate_due ("completed_at", milestone->completed_at, true, status))
            return status->code;
        if (cpec_pb_timestamp_ms (milestone->completed_at) > now_ms + MS_CLOCK_SKEW_MS)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "completed_at: lies in the future");
    }
    if (milestone->n_predecessors > MS_PREDECESSORS_MAX)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "predecessors: at most %d (got %zu)",
                                MS_PREDECESSORS_MAX, milestone->n_predecessors);
    for (size_t i = 0; i < milestone->n_predecessors; i++) {
        if (ms_validate_dependency (milestone->id, milestone->predecessors[i], status)) {
            char path[48];
            snprintf (path, sizeof (path), "predecessors[%zu]", i);
            //  "dependency.x: ..." -> "predecessors[i].x: ..."
            char message[CPEC_STATUS_MESSAGE_MAX];
            snprintf (message, sizeof (message), "%s%s", path,
                      status->message + strlen ("dependency"));
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s", message);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp (milestone->predecessors[i]->milestone_id,
                        milestone->predecessors[j]->milestone_id) == 0)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "predecessors[%zu].milestone_id: %s is listed twice", i,
                                        milestone->predecessors[i]->milestone_id);
    }
    return 0;
}

int
ms_validate_update (const Cpec__V1__UpdateMilestoneRequest *request, cpec_status_t *status)
{
    assert (request && status);
    if (!request->milestone)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "milestone: required");
    if (ms_validate_id ("milestone.id", request->milestone->id, status))
        return status->code;
    if (request->expected_version == 0)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "expected_version: required (the version the change is based on)");
    for (size_t i = 0; i < request->n_update_mask; i++) {
        const char *name = request->update_mask[i];
        bool known = false;
        for (const char **field = s_updatable; *field; field++)
            known = known || strcmp (*field, name) == 0;
        if (!known)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "update_mask[%zu]: \"%.60s\" cannot be changed by Update (use "
                                    "Replan, Complete or AddDependency for dates and links)",
                                    i, name);
        for (size_t j = 0; j < i; j++)
            if (strcmp (request->update_mask[j], name) == 0)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "update_mask[%zu]: \"%s\" is listed twice", i, name);
    }
    //  Only the fields it changes (all of them when the mask is empty)
    if (request->n_update_mask == 0)
        return s_check_fields (request->milestone, status);
    for (size_t i = 0; i < request->n_update_mask; i++)
        if (s_check_field (request->milestone, request->update_mask[i], status))
            return status->code;
    return 0;
}

int
ms_validate_list (const Cpec__V1__ListMilestonesRequest *request, size_t *page,
                  cpec_status_t *status)
{
    assert (request && page && status);
    if (request->zone_id && *request->zone_id &&
        cpec_check_slug ("zone_id", request->zone_id, 64, status))
        return status->code;
    if (s_check_status (request->status, status) ||
        cpec_check_text ("agency", request->agency, false, MS_AGENCY_MAX, status) ||
        ms_validate_due ("due_from", request->due_from, false, status) ||
        ms_validate_due ("due_to", request->due_to, false, status))
        return status->code;
    if (request->page_size > MS_PAGE_MAX)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "page_size: at most %d (got %u)",
                                MS_PAGE_MAX, request->page_size);
    if (request->cursor && *request->cursor && ms_validate_id ("cursor", request->cursor, status))
        return status->code;
    *page = request->page_size ? request->page_size : MS_PAGE_DEFAULT;
    return 0;
}
