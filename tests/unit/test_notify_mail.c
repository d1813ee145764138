/*  test_notify_mail - services/notify/notify_mail.c: the notification texts
    (templates.json: every event type in every language, present, complete
    and rendering with every placeholder filled), byte-exact English, Chinese
    and Urdu texts, times in Pakistan and China time, the fallbacks (unknown
    type, unknown language), values that try to break a subject out of its
    line, the daily digest, and the e-mail: headers, CRLF, RFC 2047 subjects,
    base64 bodies and header injection. Pure: no Redis, no sockets.

    The events happen at S_T0 = 2026-03-01T09:00:00Z (a Sunday): 14:00 PKT,
    17:00 Beijing time.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec_check.h"
#include "cpec_pb.h"
#include "notify_mail.h"

//  templates.json, embedded in cpec_notify_lib.
extern const char cpec_notify_templates[];

#define S_T0  1772355600000LL //  2026-03-01T09:00:00Z
#define S_DAY 86400000LL

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

//  Every event type with a template of its own.
static const char *s_types[] = {
    "SezCreated",           "SezUpdated",
    "SezStatusChanged",     "EnterpriseAdmitted",
    "MilestoneCreated",     "MilestoneUpdated",
    "MilestoneDelayed",     "MilestoneAtRisk",
    "MilestoneBackOnTrack", "MilestoneCompleted",
    "MilestoneReplanned",   "NotifyTest",
    "MatchProposed",        "MatchInterest",
    "MatchMutualInterest",  "MatchMeetingScheduled",
    "MatchMouSigned",       "MatchEntryApplication",
    "MatchPlotAllotted",    "MatchInProduction",
    "MatchDeclined",        "MatchExpired",
    "MatchExpiring",
};
#define S_TYPES (sizeof (s_types) / sizeof (s_types[0]))

static const char *s_languages[] = {"en", "zh", "ur"};

//  --------------------------------------------------------------------------
//  Events

static char **
s_strings (size_t count, ...)
{
    char **strings = (char **)calloc (count + 1, sizeof (char *));
    va_list args;
    va_start (args, count);
    for (size_t i = 0; i < count; i++)
        strings[i] = cpec_strdup (va_arg (args, const char *));
    va_end (args);
    return strings;
}

static Cpec__V1__Event *
s_envelope (const char *type, const char *zone_id, const char *province)
{
    Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    event->id = cpec_strdup ("0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d");
    event->type = cpec_strdup (type);
    if (zone_id)
        event->zone_id = cpec_strdup (zone_id);
    if (province)
        event->province = cpec_strdup (province);
    event->occurred_at = cpec_pb_timestamp_new (S_T0);
    event->request_id = cpec_strdup ("req-20260301-0042");
    event->actor = cpec_strdup ("boi-desk-1");
    return event;
}

#define S_NEW(type, descriptor) ((type *)cpec_pb_new (&descriptor))

static Cpec__V1__Sez *
s_sez (void)
{
    Cpec__V1__Sez *sez = S_NEW (Cpec__V1__Sez, cpec__v1__sez__descriptor);
    sez->id = cpec_strdup ("rashakai");
    sez->name = cpec_strdup ("Rashakai Special Economic Zone");
    sez->name_zh = cpec_strdup ("拉沙卡伊经济特区");
    sez->name_ur = cpec_strdup ("رشکئی خصوصی اقتصادی زون");
    sez->province = cpec_strdup ("PK-KP");
    sez->district = cpec_strdup ("Nowshera");
    sez->zone_authority = cpec_strdup ("KPEZDMC");
    sez->developer = cpec_strdup ("RSEZ Pvt Ltd (CRBC)");
    sez->status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
    sez->area_acres = cpec_pb_double_new (1000);
    sez->n_sectors = 3;
    sez->sectors = s_strings (3, "10", "131", "2710");
    sez->fast_track = 1;
    sez->version = 5;
    return sez;
}

static Cpec__V1__Milestone *
s_milestone (void)
{
    Cpec__V1__Milestone *milestone = S_NEW (Cpec__V1__Milestone, cpec__v1__milestone__descriptor);
    milestone->id = cpec_strdup ("bostan-power-20mw");
    milestone->zone_id = cpec_strdup ("bostan");
    milestone->province = cpec_strdup ("PK-BA");
    milestone->title = cpec_strdup ("20 MW grid connection to the zero point");
    milestone->title_zh = cpec_strdup ("零点20兆瓦电网接入");
    milestone->title_ur = cpec_strdup ("زیرو پوائنٹ تک 20 میگاواٹ گرڈ کنکشن");
    milestone->kind = CPEC__V1__MILESTONE__KIND__POWER;
    milestone->agency = cpec_strdup ("QESCO");
    milestone->planned_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 121 * S_DAY);
    milestone->status = CPEC__V1__MILESTONE__STATUS__NOT_STARTED;
    milestone->version = 1;
    return milestone;
}

//  A MilestoneDelayed: the gas connection of Rashakai, due 2026-02-14, 15
//  days late on 2026-03-01.
static Cpec__V1__Event *
s_delayed (const char *title, uint32_t days_late)
{
    Cpec__V1__Event *event = s_envelope ("MilestoneDelayed", "rashakai", "PK-KP");
    Cpec__V1__MilestoneDelayed *delayed =
        S_NEW (Cpec__V1__MilestoneDelayed, cpec__v1__milestone_delayed__descriptor);
    delayed->milestone_id = cpec_strdup ("rashakai-gas-8mmcfd");
    delayed->zone_id = cpec_strdup ("rashakai");
    delayed->province = cpec_strdup ("PK-KP");
    delayed->agency = cpec_strdup ("SNGPL");
    delayed->planned_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL - 15 * S_DAY);
    delayed->days_late = days_late;
    delayed->n_downstream = 2;
    delayed->downstream = s_strings (2, "rashakai-phase1-cod", "rashakai-enterprise-admissions");
    delayed->title = cpec_strdup (title);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED;
    event->milestone_delayed = delayed;
    return event;
}

static Cpec__V1__Event *
s_completed (double slip_days)
{
    Cpec__V1__Event *event = s_envelope ("MilestoneCompleted", "allama-iqbal", "PK-PB");
    Cpec__V1__MilestoneCompleted *completed =
        S_NEW (Cpec__V1__MilestoneCompleted, cpec__v1__milestone_completed__descriptor);
    completed->milestone_id = cpec_strdup ("allama-iqbal-roads-1");
    completed->title = cpec_strdup ("Internal roads, phase 1");
    completed->planned_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL - 3 * S_DAY);
    completed->completed_at = cpec_pb_timestamp_new (S_T0);
    completed->slip_days = slip_days;
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_COMPLETED;
    event->milestone_completed = completed;
    return event;
}

static Cpec__V1__Event *
s_at_risk (void)
{
    Cpec__V1__Event *event = s_envelope ("MilestoneAtRisk", "dhabeji", "PK-SD");
    Cpec__V1__MilestoneAtRisk *risk =
        S_NEW (Cpec__V1__MilestoneAtRisk, cpec__v1__milestone_at_risk__descriptor);
    risk->milestone_id = cpec_strdup ("dhabeji-water");
    risk->title = cpec_strdup ("Bulk water supply (5 MGD)");
    risk->agency = cpec_strdup ("KWSC");
    risk->planned_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 213 * S_DAY);
    risk->forecast_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 259 * S_DAY);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_AT_RISK;
    event->milestone_at_risk = risk;
    return event;
}

#define S_MATCH_ID    "m-3f2a9c1e-7b4d-4e21-9a6f-0c5d8e7b1a24"
#define S_STATE(name) CPEC__V1__MATCH__STATE__##name

//  A match between a Punjabi textile maker and a Chinese one moving from
//  `from` to `to`, as mm_funnel.c fills it: the envelope's zone from the
//  entry application on (zone NULL before), its province the zone's, else
//  enterprise_a's; `side` the enterprise that moved, when one did.
static Cpec__V1__Event *
s_match (const char *type, int from, int to, const char *zone, const char *side)
{
    Cpec__V1__Event *event = s_envelope (type, zone, "PK-PB");
    Cpec__V1__MatchMoved *moved = S_NEW (Cpec__V1__MatchMoved, cpec__v1__match_moved__descriptor);
    moved->match_id = cpec_strdup (S_MATCH_ID);
    moved->enterprise_a = cpec_strdup ("pk-nishat-textiles");
    moved->enterprise_b = cpec_strdup ("cn-shandong-ruyi");
    moved->from = from;
    moved->to = to;
    moved->zone_id = cpec_strdup (zone ? zone : "");
    moved->enterprise_id = cpec_strdup (side ? side : "");
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MATCH_MOVED;
    event->match_moved = moved;
    return event;
}

//  The reminder a week before the proposal expires: 2026-03-08T09:00:00Z.
static Cpec__V1__Event *
s_expiring (void)
{
    Cpec__V1__Event *event = s_envelope ("MatchExpiring", NULL, "PK-PB");
    cpec_pb_string_set (&event->actor, "cpec-matchmaking");
    cpec_pb_string_set (&event->request_id, "mm-remind-" S_MATCH_ID);
    Cpec__V1__MatchExpiring *expiring =
        S_NEW (Cpec__V1__MatchExpiring, cpec__v1__match_expiring__descriptor);
    expiring->match_id = cpec_strdup (S_MATCH_ID);
    expiring->enterprise_a = cpec_strdup ("pk-nishat-textiles");
    expiring->enterprise_b = cpec_strdup ("cn-shandong-ruyi");
    expiring->expires_at = cpec_pb_timestamp_new (S_T0 + 7 * S_DAY);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MATCH_EXPIRING;
    event->match_expiring = expiring;
    return event;
}

//  The moves of each match event type.
static const struct
{
    const char *type;
    int from, to;
    const char *zone;
    const char *side;
} s_match_moves[] = {
    {"MatchProposed", S_STATE (STATE_UNSPECIFIED), S_STATE (PROPOSED), NULL, "pk-nishat-textiles"},
    {"MatchInterest", S_STATE (PROPOSED), S_STATE (INTEREST), NULL, "cn-shandong-ruyi"},
    {"MatchMutualInterest", S_STATE (INTEREST), S_STATE (MUTUAL_INTEREST), NULL,
     "pk-nishat-textiles"},
    {"MatchMeetingScheduled", S_STATE (MUTUAL_INTEREST), S_STATE (MEETING_SCHEDULED), NULL, NULL},
    {"MatchMouSigned", S_STATE (MEETING_SCHEDULED), S_STATE (MOU_SIGNED), NULL, NULL},
    {"MatchEntryApplication", S_STATE (MOU_SIGNED), S_STATE (ENTRY_APPLICATION), "allama-iqbal",
     NULL},
    {"MatchPlotAllotted", S_STATE (ENTRY_APPLICATION), S_STATE (PLOT_ALLOTTED), "allama-iqbal",
     NULL},
    {"MatchInProduction", S_STATE (PLOT_ALLOTTED), S_STATE (IN_PRODUCTION), "allama-iqbal", NULL},
    {"MatchDeclined", S_STATE (MUTUAL_INTEREST), S_STATE (DECLINED), NULL, "cn-shandong-ruyi"},
    {"MatchExpired", S_STATE (INTEREST), S_STATE (EXPIRED), NULL, NULL},
};
#define S_MATCH_MOVES (sizeof (s_match_moves) / sizeof (s_match_moves[0]))

//  A representative event of each type, every field its template names set;
//  any other type gets an envelope only.
static Cpec__V1__Event *
s_event (const char *type)
{
    if (strcmp (type, "SezCreated") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "rashakai", "PK-KP");
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED;
        event->sez_created = S_NEW (Cpec__V1__SezCreated, cpec__v1__sez_created__descriptor);
        event->sez_created->sez = s_sez ();
        return event;
    }
    if (strcmp (type, "SezUpdated") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "rashakai", "PK-KP");
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_UPDATED;
        event->sez_updated = S_NEW (Cpec__V1__SezUpdated, cpec__v1__sez_updated__descriptor);
        event->sez_updated->sez = s_sez ();
        event->sez_updated->previous_version = 4;
        event->sez_updated->n_changed_fields = 2;
        event->sez_updated->changed_fields = s_strings (2, "area_acres", "utilities");
        return event;
    }
    if (strcmp (type, "SezStatusChanged") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "dhabeji", "PK-SD");
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED;
        event->sez_status_changed =
            S_NEW (Cpec__V1__SezStatusChanged, cpec__v1__sez_status_changed__descriptor);
        event->sez_status_changed->from_status = CPEC__V1__SEZ__STATUS__NOTIFIED;
        event->sez_status_changed->to_status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
        event->sez_status_changed->version = 7;
        return event;
    }
    if (strcmp (type, "EnterpriseAdmitted") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "allama-iqbal", "PK-PB");
        Cpec__V1__EnterpriseAdmitted *admitted =
            S_NEW (Cpec__V1__EnterpriseAdmitted, cpec__v1__enterprise_admitted__descriptor);
        Cpec__V1__ZoneEnterprise *enterprise =
            S_NEW (Cpec__V1__ZoneEnterprise, cpec__v1__zone_enterprise__descriptor);
        enterprise->id = cpec_strdup ("shandong-ruyi");
        enterprise->zone_id = cpec_strdup ("allama-iqbal");
        enterprise->name = cpec_strdup ("Shandong Ruyi Textiles (Pvt) Ltd");
        enterprise->country = cpec_strdup ("CN");
        enterprise->sector = cpec_strdup ("1311");
        enterprise->plot = cpec_strdup ("A-17");
        enterprise->acres = 40.5;
        enterprise->investment_usd = cpec_pb_double_new (150000000);
        enterprise->jobs = cpec_pb_uint32_new (1200);
        enterprise->admission_status = CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__ADMITTED;
        enterprise->admitted_at = cpec_pb_timestamp_new (S_T0 - S_DAY);
        admitted->enterprise = enterprise;
        admitted->zone_allotted_acres = 1240.25;
        admitted->zone_leasable_acres = cpec_pb_double_new (2400);
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_ENTERPRISE_ADMITTED;
        event->enterprise_admitted = admitted;
        return event;
    }
    if (strcmp (type, "MilestoneCreated") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "bostan", "PK-BA");
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_CREATED;
        event->milestone_created =
            S_NEW (Cpec__V1__MilestoneCreated, cpec__v1__milestone_created__descriptor);
        event->milestone_created->milestone_id = cpec_strdup ("bostan-power-20mw");
        event->milestone_created->milestone = s_milestone ();
        return event;
    }
    if (strcmp (type, "MilestoneUpdated") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "bostan", "PK-BA");
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_UPDATED;
        event->milestone_updated =
            S_NEW (Cpec__V1__MilestoneUpdated, cpec__v1__milestone_updated__descriptor);
        event->milestone_updated->milestone_id = cpec_strdup ("bostan-power-20mw");
        Cpec__V1__Milestone *milestone = s_milestone ();
        milestone->status = CPEC__V1__MILESTONE__STATUS__IN_PROGRESS;
        milestone->percent_complete = 40;
        milestone->forecast_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 136 * S_DAY);
        milestone->version = 3;
        event->milestone_updated->milestone = milestone;
        event->milestone_updated->previous_version = 2;
        return event;
    }
    if (strcmp (type, "MilestoneDelayed") == 0)
        return s_delayed ("8 MMCFD gas connection to the zero point", 15);
    if (strcmp (type, "MilestoneAtRisk") == 0)
        return s_at_risk ();
    if (strcmp (type, "MilestoneBackOnTrack") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "dhabeji", "PK-SD");
        Cpec__V1__MilestoneBackOnTrack *back =
            S_NEW (Cpec__V1__MilestoneBackOnTrack, cpec__v1__milestone_back_on_track__descriptor);
        back->milestone_id = cpec_strdup ("dhabeji-water");
        back->title = cpec_strdup ("Bulk water supply (5 MGD)");
        back->planned_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 213 * S_DAY);
        back->forecast_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 203 * S_DAY);
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_BACK_ON_TRACK;
        event->milestone_back_on_track = back;
        return event;
    }
    if (strcmp (type, "MilestoneCompleted") == 0)
        return s_completed (3);
    if (strcmp (type, "MilestoneReplanned") == 0) {
        Cpec__V1__Event *event = s_envelope (type, "bostan", "PK-BA");
        Cpec__V1__MilestoneReplanned *replanned =
            S_NEW (Cpec__V1__MilestoneReplanned, cpec__v1__milestone_replanned__descriptor);
        replanned->milestone_id = cpec_strdup ("bostan-boundary-wall");
        replanned->title = cpec_strdup ("Boundary wall");
        replanned->old_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 30 * S_DAY);
        replanned->new_due = cpec_pb_timestamp_new (S_T0 - 9 * 3600000LL + 91 * S_DAY);
        replanned->reason = cpec_strdup ("Land handed over late by the Revenue Department");
        event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_REPLANNED;
        event->milestone_replanned = replanned;
        return event;
    }
    if (strcmp (type, "NotifyTest") == 0)
        return s_envelope (type, NULL, NULL);
    for (size_t i = 0; i < S_MATCH_MOVES; i++)
        if (strcmp (type, s_match_moves[i].type) == 0)
            return s_match (type, s_match_moves[i].from, s_match_moves[i].to, s_match_moves[i].zone,
                            s_match_moves[i].side);
    if (strcmp (type, "MatchExpiring") == 0)
        return s_expiring ();
    return s_envelope (type, "mirpur", "PK-JK");
}

//  What each type's text must say: in the subject, per language, and in the
//  body in every language.
typedef struct
{
    const char *type;
    const char *subject[3]; //  en, zh, ur
    const char *body[6];    //  in every language (NULL-terminated)
} s_facts_t;

static const s_facts_t s_facts[] = {
    {"SezCreated",
     {"Rashakai Special Economic Zone", "拉沙卡伊经济特区", "رشکئی خصوصی اقتصادی زون"},
     {"Nowshera", "KPEZDMC", "RSEZ Pvt Ltd (CRBC)", "1,000", "10", "2710"}},
    {"SezUpdated",
     {"Rashakai Special Economic Zone", "拉沙卡伊经济特区", "رشکئی خصوصی اقتصادی زون"},
     {"rashakai", "4", "5"}},
    {"SezStatusChanged",
     {"Dhabeji Special Economic Zone", "达贝吉经济特区", "دھابیجی خصوصی اقتصادی زون"},
     {"7"}},
    {"EnterpriseAdmitted",
     {"Shandong Ruyi Textiles (Pvt) Ltd", "Shandong Ruyi Textiles (Pvt) Ltd",
      "Shandong Ruyi Textiles (Pvt) Ltd"},
     {"1311", "A-17", "40.5", "150,000,000", "1,200", "1,240.25"}},
    {"MilestoneCreated",
     {"20 MW grid connection to the zero point", "零点20兆瓦电网接入",
      "زیرو پوائنٹ تک 20 میگاواٹ گرڈ کنکشن"},
     {"bostan-power-20mw", "QESCO", "2026-06-30"}},
    {"MilestoneUpdated",
     {"20 MW grid connection to the zero point", "零点20兆瓦电网接入",
      "زیرو پوائنٹ تک 20 میگاواٹ گرڈ کنکشن"},
     {"40%", "QESCO", "2026-06-30", "2026-07-15"}},
    {"MilestoneDelayed",
     {"8 MMCFD gas connection to the zero point", "8 MMCFD gas connection to the zero point",
      "8 MMCFD gas connection to the zero point"},
     {"rashakai-gas-8mmcfd", "SNGPL", "2026-02-14", "15", "rashakai-phase1-cod",
      "rashakai-enterprise-admissions"}},
    {"MilestoneAtRisk",
     {"Bulk water supply (5 MGD)", "Bulk water supply (5 MGD)", "Bulk water supply (5 MGD)"},
     {"dhabeji-water", "KWSC", "2026-09-30", "2026-11-15"}},
    {"MilestoneBackOnTrack",
     {"Bulk water supply (5 MGD)", "Bulk water supply (5 MGD)", "Bulk water supply (5 MGD)"},
     {"dhabeji-water", "2026-09-30", "2026-09-20"}},
    {"MilestoneCompleted",
     {"3 days late", "延误3天", "3 دن تاخیر سے"},
     {"Internal roads, phase 1", "allama-iqbal-roads-1", "2026-02-26", "2026-03-01"}},
    {"MilestoneReplanned",
     {"Boundary wall", "Boundary wall", "Boundary wall"},
     {"bostan-boundary-wall", "2026-03-31", "2026-05-31",
      "Land handed over late by the Revenue Department"}},
    {"NotifyTest",
     {"CPEC notifications: test message", "中巴经济走廊通知：测试消息",
      "سی پیک اطلاعات: آزمائشی پیغام"},
     {"boi-desk-1"}},
#define S_MATCH_PAIR                                                                               \
    {                                                                                              \
        "pk-nishat-textiles", "pk-nishat-textiles", "pk-nishat-textiles"                           \
    }
#define S_PUNJAB                                                                                   \
    {                                                                                              \
        "Punjab", "旁遮普省", "پنجاب"                                                         \
    }
#define S_AIIC                                                                                                   \
    {                                                                                                            \
        "Allama Iqbal Industrial City", "阿拉马·伊克巴尔工业城", "علامہ اقبال انڈسٹریل سٹی" \
    }
    {"MatchProposed", S_PUNJAB, {S_MATCH_ID, "pk-nishat-textiles", "cn-shandong-ruyi"}},
    {"MatchInterest",
     {"cn-shandong-ruyi", "cn-shandong-ruyi", "cn-shandong-ruyi"},
     {S_MATCH_ID, "pk-nishat-textiles", "cn-shandong-ruyi"}},
    {"MatchMutualInterest", S_MATCH_PAIR, {S_MATCH_ID, "cn-shandong-ruyi"}},
    {"MatchMeetingScheduled", S_PUNJAB, {S_MATCH_ID, "cn-shandong-ruyi"}},
    {"MatchMouSigned", S_MATCH_PAIR, {S_MATCH_ID, "cn-shandong-ruyi"}},
    {"MatchEntryApplication", S_AIIC, {S_MATCH_ID, "pk-nishat-textiles", "cn-shandong-ruyi"}},
    {"MatchPlotAllotted", S_AIIC, {S_MATCH_ID, "cn-shandong-ruyi"}},
    {"MatchInProduction", S_AIIC, {S_MATCH_ID, "cn-shandong-ruyi"}},
    {"MatchDeclined", S_MATCH_PAIR, {S_MATCH_ID, "cn-shandong-ruyi"}},
    {"MatchExpired", S_PUNJAB, {S_MATCH_ID, "pk-nishat-textiles", "cn-shandong-ruyi"}},
    {"MatchExpiring",
     {"2026-03-08 14:00 PKT", "2026-03-08 17:00（北京时间）", "2026-03-08 14:00 PKT"},
     {S_MATCH_ID, "pk-nishat-textiles", "cn-shandong-ruyi"}},
    {"EnterpriseRelocated",
     {"EnterpriseRelocated", "EnterpriseRelocated", "EnterpriseRelocated"},
     {"EnterpriseRelocated", "req-20260301-0042"}},
};

//  --------------------------------------------------------------------------
//  Helpers

//  Lines end in "\n" only, the text is valid UTF-8 and every line is
//  followed by its end.
static void
s_assert_text (const char *subject, const char *body)
{
    assert_non_null (subject);
    assert_non_null (body);
    assert_true (strlen (subject) > 0);
    assert_null (strpbrk (subject, "\r\n\t"));
    assert_true (cpec_check_utf8_length (subject) >= 0);
    assert_true (cpec_check_utf8_length (body) >= 0);
    assert_null (strchr (body, '\r'));
    assert_true (strlen (body) > 0 && body[strlen (body) - 1] == '\n');
}

static size_t
s_count (const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle))
        count++;
    return count;
}

//  Decodes base64 (CRLF ignored); *size gets the length.
static unsigned char *
s_base64_decode (const char *text, size_t size_in, size_t *size)
{
    char *clean = (char *)malloc (size_in + 1);
    size_t length = 0;
    for (size_t i = 0; i < size_in; i++)
        if (text[i] != '\r' && text[i] != '\n')
            clean[length++] = text[i];
    clean[length] = '\0';
    assert_int_equal (length % 4, 0);
    unsigned char *data = (unsigned char *)malloc (length / 4 * 3 + 1);
    int decoded = EVP_DecodeBlock (data, (const unsigned char *)clean, (int)length);
    assert_true (decoded >= 0);
    size_t padding =
        (length >= 1 && clean[length - 1] == '=') + (length >= 2 && clean[length - 2] == '=');
    *size = (size_t)decoded - padding;
    data[*size] = '\0';
    free (clean);
    return data;
}

//  The mail's header block (up to the empty line) and body start.
static char *
s_mail_headers (const char *mail, const char **body)
{
    const char *end = strstr (mail, "\r\n\r\n");
    assert_non_null (end);
    *body = end + 4;
    return strndup (mail, (size_t)(end - mail) + 2);
}

//  How many header lines start with "name:".
static size_t
s_header_count (const char *headers, const char *name)
{
    size_t count = 0;
    size_t size = strlen (name);
    for (const char *line = headers; *line;) {
        if (strncmp (line, name, size) == 0 && line[size] == ':')
            count++;
        const char *end = strstr (line, "\r\n");
        if (!end)
            break;
        line = end + 2;
    }
    return count;
}

//  The value of header `name`, unfolded (CRLF before a space removed),
//  without the space after the colon; NULL when absent.
static char *
s_header_value (const char *headers, const char *name)
{
    size_t size = strlen (name);
    for (const char *line = headers; *line;) {
        const char *end = strstr (line, "\r\n");
        if (strncmp (line, name, size) == 0 && line[size] == ':') {
            const char *at = line + size + 1;
            if (*at == ' ')
                at++;
            char *value = (char *)calloc (strlen (at) + 1, 1);
            size_t length = 0;
            for (;;) {
                const char *stop = strstr (at, "\r\n");
                memcpy (value + length, at, (size_t)(stop - at));
                length += (size_t)(stop - at);
                if (stop[2] != ' ' && stop[2] != '\t')
                    break;
                at = stop + 2;
            }
            value[length] = '\0';
            return value;
        }
        if (!end)
            break;
        line = end + 2;
    }
    return NULL;
}

//  Every line ends in CRLF (no bare CR or LF), none is longer than 998
//  octets, header lines no longer than header_max and base64 lines than 76.
static void
s_assert_mail_lines (const char *mail, size_t header_max)
{
    bool in_body = false;
    for (const char *line = mail; *line;) {
        const char *end = strstr (line, "\r\n");
        assert_non_null (end);
        size_t length = (size_t)(end - line);
        for (size_t i = 0; i < length; i++)
            assert_true (line[i] != '\r' && line[i] != '\n');
        assert_true (length <= 998);
        assert_true (length <= (in_body ? 76u : header_max));
        if (length == 0)
            in_body = true;
        line = end + 2;
    }
}

//  A Subject header value back to its text: encoded-words decoded (the
//  whitespace between two of them dropped), or the value as it is.
static char *
s_subject_decode (const char *value, size_t *words)
{
    *words = 0;
    if (strncmp (value, "=?", 2) != 0)
        return strdup (value);
    char *text = (char *)calloc (strlen (value) + 1, 1);
    size_t length = 0;
    for (const char *at = value; *at;) {
        at += strspn (at, " \t");
        if (!*at)
            break;
        assert_int_equal (strncmp (at, "=?UTF-8?B?", 10), 0);
        const char *end = strstr (at + 10, "?=");
        assert_non_null (end);
        assert_true (end + 2 - at <= 75);
        size_t size;
        unsigned char *data = s_base64_decode (at + 10, (size_t)(end - at - 10), &size);
        //  Each word holds whole characters
        assert_true (cpec_check_utf8_length ((const char *)data) >= 0);
        memcpy (text + length, data, size);
        length += size;
        free (data);
        (*words)++;
        at = end + 2;
    }
    text[length] = '\0';
    return text;
}

//  The body of a mail, decoded.
static char *
s_mail_body (const char *mail)
{
    const char *body;
    char *headers = s_mail_headers (mail, &body);
    free (headers);
    size_t size;
    return (char *)s_base64_decode (body, strlen (body), &size);
}

//  body with each "\n" as "\r\n": the canonical form the mail carries.
static char *
s_crlf (const char *body)
{
    char *out = (char *)calloc (strlen (body) * 2 + 1, 1);
    size_t length = 0;
    for (const char *at = body; *at; at++) {
        if (*at == '\n')
            out[length++] = '\r';
        out[length++] = *at;
    }
    return out;
}

//  --------------------------------------------------------------------------
//  The templates

static void
test_templates_complete (void **state)
{
    (void)state;
    json_error_t error;
    json_t *root = json_loads (cpec_notify_templates, JSON_REJECT_DUPLICATES, &error);
    assert_non_null (root);
    json_t *events = json_object_get (root, "events");
    json_t *languages = json_object_get (root, "languages");
    json_t *digest = json_object_get (json_object_get (root, "digest"), "texts");

    //  Every type (and "*") in every language, and no other key
    assert_int_equal (json_object_size (events), S_TYPES + 1);
    for (size_t t = 0; t <= S_TYPES; t++) {
        json_t *texts = json_object_get (events, t < S_TYPES ? s_types[t] : "*");
        assert_true (json_is_object (texts));
        assert_int_equal (json_object_size (texts), 3);
        for (size_t l = 0; l < 3; l++) {
            json_t *template = json_object_get (texts, s_languages[l]);
            const char *subject = json_string_value (json_object_get (template, "subject"));
            json_t *body = json_object_get (template, "body");
            assert_non_null (subject);
            assert_null (strpbrk (subject, "\r\n"));
            assert_true (json_is_array (body) && json_array_size (body) > 2);
            size_t index;
            json_t *line;
            json_array_foreach (body, index, line)
            {
                assert_true (json_is_string (line));
                assert_null (strpbrk (json_string_value (line), "\r\n"));
            }
        }
    }
    //  Every language has the same words and labels as English, and a footer
    json_t *english = json_object_get (languages, "en");
    assert_int_equal (json_object_size (languages), 3);
    for (size_t l = 0; l < 3; l++) {
        json_t *language = json_object_get (languages, s_languages[l]);
        assert_true (json_is_integer (json_object_get (language, "utc_offset_minutes")));
        assert_true (json_is_array (json_object_get (language, "footer")));
        const char *tables[] = {"words", "labels"};
        for (size_t k = 0; k < 2; k++) {
            json_t *table = json_object_get (language, tables[k]);
            json_t *model = json_object_get (english, tables[k]);
            assert_int_equal (json_object_size (table), json_object_size (model));
            const char *key;
            json_t *value;
            json_object_foreach (model, key, value)
            {
                assert_true (json_is_string (json_object_get (table, key)));
            }
        }
        json_t *texts = json_object_get (digest, s_languages[l]);
        const char *keys[] = {"subject",  "subject_none", "intro", "intro_none",
                              "critical", "warning",      "info",  "line"};
        for (size_t k = 0; k < sizeof (keys) / sizeof (keys[0]); k++)
            assert_true (json_is_string (json_object_get (texts, keys[k])));
    }
    assert_int_equal (
        json_integer_value (json_object_get (
            json_object_get (json_object_get (root, "languages"), "ur"), "utc_offset_minutes")),
        300);
    json_decref (root);
}

static void
test_every_type_renders (void **state)
{
    (void)state;
    for (size_t f = 0; f < sizeof (s_facts) / sizeof (s_facts[0]); f++) {
        const s_facts_t *facts = &s_facts[f];
        Cpec__V1__Event *event = s_event (facts->type);
        for (size_t l = 0; l < 3; l++) {
            char *subject = NULL;
            char *body = NULL;
            assert_int_equal (notify_text_render (event, s_languages[l], &subject, &body), 0);
            s_assert_text (subject, body);
            //  Every placeholder filled, and from a field that is set
            if (strpbrk (subject, "{}") || strpbrk (body, "{}") || strstr (subject, "—") ||
                strstr (body, "—"))
                fail_msg ("%s/%s:\n%s\n%s", facts->type, s_languages[l], subject, body);
            if (!strstr (subject, facts->subject[l]))
                fail_msg ("%s/%s subject: %s", facts->type, s_languages[l], subject);
            for (size_t i = 0; i < 6 && facts->body[i]; i++)
                if (!strstr (body, facts->body[i]))
                    fail_msg ("%s/%s body lacks %s:\n%s", facts->type, s_languages[l],
                              facts->body[i], body);
            //  Every body names the event
            assert_non_null (strstr (body, "0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d"));
            free (subject);
            free (body);
        }
        s_destroy (&event);
    }
}

//  --------------------------------------------------------------------------
//  Exact texts

static void
s_assert_render (const Cpec__V1__Event *event, const char *language, const char *subject,
                 const char *body)
{
    char *got_subject = NULL;
    char *got_body = NULL;
    assert_int_equal (notify_text_render (event, language, &got_subject, &got_body), 0);
    assert_string_equal (got_subject, subject);
    assert_string_equal (got_body, body);
    free (got_subject);
    free (got_body);
}

static void
test_delayed_exact (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_delayed ("8 MMCFD gas connection to the zero point", 15);
    s_assert_render (
        event, "en",
        "Delayed: 8 MMCFD gas connection to the zero point (Rashakai Special Economic Zone) is "
        "15 days late",
        "A milestone has passed its planned due date without being completed.\n"
        "\n"
        "Milestone: 8 MMCFD gas connection to the zero point (rashakai-gas-8mmcfd)\n"
        "Zone: Rashakai Special Economic Zone\n"
        "Province: Khyber Pakhtunkhwa\n"
        "Responsible agency: SNGPL\n"
        "Planned due: 2026-02-14\n"
        "Days late: 15\n"
        "Downstream milestones affected: rashakai-phase1-cod, rashakai-enterprise-admissions\n"
        "\n"
        "Reported on 2026-03-01 14:00 PKT.\n"
        "Event: 0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
        "\n"
        "-- \n"
        "CPEC Industrial Cooperation Platform (BOI and NDRC).\n"
        "This message was sent automatically; please do not reply to it.\n");
    s_assert_render (event, "zh",
                     "延误：8 MMCFD gas connection to the zero point（拉沙卡伊经济特区）已逾期15天",
                     "一个里程碑已超过计划完成日期，尚未完成。\n"
                     "\n"
                     "里程碑：8 MMCFD gas connection to the zero point（rashakai-gas-8mmcfd）\n"
                     "园区：拉沙卡伊经济特区\n"
                     "省/地区：开伯尔-普赫图赫瓦省\n"
                     "责任单位：SNGPL\n"
                     "计划完成日期：2026-02-14\n"
                     "逾期天数：15\n"
                     "受影响的后续里程碑：rashakai-phase1-cod、rashakai-enterprise-admissions\n"
                     "\n"
                     "报告时间：2026-03-01 17:00（北京时间）\n"
                     "事件编号：0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
                     "\n"
                     "-- \n"
                     "中巴经济走廊产业合作平台（巴基斯坦投资委员会、中国国家发展和改革委员会）。\n"
                     "本邮件由系统自动发送，请勿直接回复。\n");
    s_assert_render (
        event, "ur",
        "تاخیر: 8 MMCFD gas connection to the zero point (رشکئی خصوصی اقتصادی زون) "
        "میں 15 دن کی تاخیر",
        "ایک سنگِ میل تکمیل کی مقررہ تاریخ گزر جانے کے باوجود مکمل نہیں ہوا۔\n"
        "\n"
        "سنگِ میل: 8 MMCFD gas connection to the zero point (rashakai-gas-8mmcfd)\n"
        "زون: رشکئی خصوصی اقتصادی زون\n"
        "صوبہ / علاقہ: خیبر پختونخوا\n"
        "ذمہ دار ادارہ: SNGPL\n"
        "تکمیل کی مقررہ تاریخ: 2026-02-14\n"
        "تاخیر کے دن: 15\n"
        "متاثرہ آئندہ سنگ ہائے میل: rashakai-phase1-cod، rashakai-enterprise-admissions\n"
        "\n"
        "اطلاع کا وقت: 2026-03-01 14:00 PKT\n"
        "ایونٹ آئی ڈی: 0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
        "\n"
        "-- \n"
        "سی پیک صنعتی تعاون پلیٹ فارم (بورڈ آف انویسٹمنٹ اور این ڈی آر سی)۔\n"
        "یہ پیغام خودکار طور پر بھیجا گیا ہے، براہِ کرم اس کا جواب نہ دیں۔\n");
    s_destroy (&event);
}

static void
s_assert_subject (const Cpec__V1__Event *event, const char *language, const char *expected)
{
    char *subject = NULL;
    char *body = NULL;
    assert_int_equal (notify_text_render (event, language, &subject, &body), 0);
    assert_string_equal (subject, expected);
    free (subject);
    free (body);
}

//  The other types' subjects in Chinese and Urdu, byte for byte.
static void
test_subjects_exact (void **state)
{
    (void)state;
    struct
    {
        const char *type;
        const char *zh;
        const char *ur;
    } cases[] = {
        {"SezCreated", "经济特区新增登记：拉沙卡伊经济特区（开伯尔-普赫图赫瓦省）",
         "رجسٹری میں نیا خصوصی اقتصادی زون: رشکئی خصوصی اقتصادی زون (خیبر پختونخوا)"},
        {"SezStatusChanged",
         "经济特区状态变更：达贝吉经济特区由“已公告为经济特区”变更为“开发建设中”",
         "حیثیت میں تبدیلی: دھابیجی خصوصی اقتصادی زون، نئی حیثیت: زیرِ تعمیر"},
        {"EnterpriseAdmitted",
         "企业获准入园：Shandong Ruyi Textiles (Pvt) Ltd（阿拉马·伊克巴尔工业城）",
         "زون میں ادارے کا داخلہ: Shandong Ruyi Textiles (Pvt) Ltd (علامہ اقبال انڈسٹریل سٹی)"},
        {"MilestoneCreated", "新增里程碑：零点20兆瓦电网接入（博斯坦经济特区），计划2026-06-30完成",
         "نیا سنگِ میل: زیرو پوائنٹ تک 20 میگاواٹ گرڈ کنکشن (بوستان خصوصی اقتصادی زون)، تکمیل کی "
         "مقررہ تاریخ 2026-06-30"},
        {"MilestoneAtRisk",
         "延误风险：Bulk water supply (5 "
         "MGD)（达贝吉经济特区）预计2026-11-15完成，晚于计划的2026-09-30",
         "تاخیر کا خطرہ: Bulk water supply (5 MGD) (دھابیجی خصوصی اقتصادی زون)، متوقع تکمیل "
         "2026-11-15، مقررہ تاریخ 2026-09-30"},
        {"MilestoneCompleted", "已完成：Internal roads, phase 1（阿拉马·伊克巴尔工业城），延误3天",
         "مکمل: Internal roads, phase 1 (علامہ اقبال انڈسٹریل سٹی)، 3 دن تاخیر سے"},
        {"NotifyTest", "中巴经济走廊通知：测试消息", "سی پیک اطلاعات: آزمائشی پیغام"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        Cpec__V1__Event *event = s_event (cases[i].type);
        s_assert_subject (event, "zh", cases[i].zh);
        s_assert_subject (event, "ur", cases[i].ur);
        s_destroy (&event);
    }
}

//  The match events: each says the stage the match left and the one it
//  reached, by their labels in each language (a proposal has no previous
//  stage), and the zone once the match has one.
static void
test_match_stages (void **state)
{
    (void)state;
    //  Match.State labels by value, per language
    static const char *labels[3][11] = {
        {"Not specified", "Proposed", "Interest from one side", "Mutual interest",
         "Meeting scheduled", "MoU signed", "Zone entry applied for", "Plot allotted",
         "In production", "Declined", "Expired"},
        {"未指定", "拟议中", "一方有意向", "双方有意向", "已安排会谈", "已签署谅解备忘录",
         "已申请入园", "已分配地块", "已投产", "已谢绝", "已过期"},
        {"غیر متعین", "مجوزہ", "ایک فریق کی دلچسپی", "باہمی دلچسپی", "ملاقات طے",
         "مفاہمتی یادداشت پر دستخط ہو چکے", "زون میں داخلے کی درخواست دی گئی", "پلاٹ الاٹ ہو چکا",
         "پیداوار جاری", "انکار", "میعاد ختم"},
    };
    static const char *previous[3] = {"Previous stage: ", "原阶段：", "سابقہ مرحلہ: "};
    static const char *next[3] = {"New stage: ", "新阶段：", "نیا مرحلہ: "};
    static const char *zone[3] = {"Zone: Allama Iqbal Industrial City\n",
                                  "园区：阿拉马·伊克巴尔工业城\n",
                                  "زون: علامہ اقبال انڈسٹریل سٹی\n"};
    static const char *province[3] = {"Punjab", "旁遮普省", "پنجاب"};
    for (size_t m = 0; m < S_MATCH_MOVES; m++) {
        Cpec__V1__Event *event = s_event (s_match_moves[m].type);
        for (size_t l = 0; l < 3; l++) {
            char *subject, *body;
            assert_int_equal (notify_text_render (event, s_languages[l], &subject, &body), 0);
            char line[256];
            snprintf (line, sizeof (line), "%s%s\n", next[l], labels[l][s_match_moves[m].to]);
            if (!strstr (body, line))
                fail_msg ("%s/%s lacks %s:\n%s", s_match_moves[m].type, s_languages[l], line, body);
            snprintf (line, sizeof (line), "%s%s\n", previous[l], labels[l][s_match_moves[m].from]);
            if (s_match_moves[m].from == S_STATE (STATE_UNSPECIFIED)) {
                assert_null (strstr (body, previous[l]));
                assert_null (strstr (body, labels[l][0]));
            } else if (!strstr (body, line))
                fail_msg ("%s/%s lacks %s:\n%s", s_match_moves[m].type, s_languages[l], line, body);
            //  The zone, in the subject and the body, once there is one;
            //  before, the province
            if (s_match_moves[m].zone) {
                assert_non_null (strstr (body, zone[l]));
                assert_null (strstr (subject, province[l]));
            } else {
                assert_null (strstr (body, zone[l]));
                assert_non_null (strstr (subject, province[l]));
            }
            assert_non_null (strstr (body, province[l]));
            free (subject);
            free (body);
        }
        s_destroy (&event);
    }

    //  A match declined by an administrator (no side) after its entry
    //  application: the actor, and the zone in place of the province
    Cpec__V1__Event *event = s_match ("MatchDeclined", S_STATE (ENTRY_APPLICATION),
                                      S_STATE (DECLINED), "allama-iqbal", NULL);
    const char *declined[3][3] = {
        {"Match declined: pk-nishat-textiles and cn-shandong-ruyi (Allama Iqbal Industrial City)",
         "Declined by: boi-desk-1\n", "Location: Allama Iqbal Industrial City\n"},
        {"对接已被谢绝：pk-nishat-textiles与cn-shandong-ruyi（阿拉马·伊克巴尔工业城）",
         "谢绝方：boi-desk-1\n", "所在地：阿拉马·伊克巴尔工业城\n"},
        {"شراکت داری کی تجویز سے انکار: pk-nishat-textiles اور cn-shandong-ruyi (علامہ اقبال "
         "انڈسٹریل سٹی)",
         "انکار از: boi-desk-1\n", "مقام: علامہ اقبال انڈسٹریل سٹی\n"},
    };
    for (size_t l = 0; l < 3; l++) {
        char *subject, *body;
        assert_int_equal (notify_text_render (event, s_languages[l], &subject, &body), 0);
        assert_string_equal (subject, declined[l][0]);
        assert_non_null (strstr (body, declined[l][1]));
        assert_non_null (strstr (body, declined[l][2]));
        assert_null (strstr (body, "—"));
        free (subject);
        free (body);
    }
    s_destroy (&event);
}

//  The reminder before an unanswered proposal expires, byte for byte: the
//  expiry in Pakistan and China time.
static void
test_expiring_exact (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_expiring ();
    s_assert_render (
        event, "en",
        "Match expiring on 2026-03-08 14:00 PKT: pk-nishat-textiles and cn-shandong-ruyi (Punjab)",
        "A proposed match is still waiting for an answer: unless both enterprises express "
        "interest before the time below, it will expire.\n"
        "\n"
        "Match: " S_MATCH_ID "\n"
        "Enterprise: pk-nishat-textiles\n"
        "Counterpart: cn-shandong-ruyi\n"
        "Province: Punjab\n"
        "Expires at: 2026-03-08 14:00 PKT\n"
        "\n"
        "Reported on 2026-03-01 14:00 PKT.\n"
        "Event: 0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
        "\n"
        "-- \n"
        "CPEC Industrial Cooperation Platform (BOI and NDRC).\n"
        "This message was sent automatically; please do not reply to it.\n");
    s_assert_render (event, "zh",
                     "对接建议即将过期：pk-nishat-textiles与cn-shandong-ruyi（旁遮普省），将于2026-"
                     "03-08 17:00（北京时间）过期",
                     "一项对接建议仍在等待答复：如双方企业未在下列时间之前均表示合作意向，该建议将"
                     "过期。\n"
                     "\n"
                     "对接编号：" S_MATCH_ID "\n"
                     "企业：pk-nishat-textiles\n"
                     "合作方：cn-shandong-ruyi\n"
                     "省/地区：旁遮普省\n"
                     "过期时间：2026-03-08 17:00（北京时间）\n"
                     "\n"
                     "报告时间：2026-03-01 17:00（北京时间）\n"
                     "事件编号：0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
                     "\n"
                     "-- \n"
                     "中巴经济走廊产业合作平台（巴基斯坦投资委员会、中国国家发展和改革委员会）。\n"
                     "本邮件由系统自动发送，请勿直接回复。\n");
    s_assert_render (
        event, "ur",
        "شراکت داری کی تجویز کی میعاد جلد ختم: pk-nishat-textiles اور cn-shandong-ruyi "
        "(پنجاب)، آخری وقت 2026-03-08 14:00 PKT",
        "شراکت داری کی ایک تجویز ابھی جواب کی منتظر ہے: اگر نیچے دیے گئے وقت سے پہلے "
        "دونوں ادارے دلچسپی ظاہر نہ کریں تو اس کی میعاد ختم ہو جائے گی۔\n"
        "\n"
        "میچ آئی ڈی: " S_MATCH_ID "\n"
        "ادارہ: pk-nishat-textiles\n"
        "شراکت دار ادارہ: cn-shandong-ruyi\n"
        "صوبہ / علاقہ: پنجاب\n"
        "میعاد ختم ہونے کا وقت: 2026-03-08 14:00 PKT\n"
        "\n"
        "اطلاع کا وقت: 2026-03-01 14:00 PKT\n"
        "ایونٹ آئی ڈی: 0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
        "\n"
        "-- \n"
        "سی پیک صنعتی تعاون پلیٹ فارم (بورڈ آف انویسٹمنٹ اور این ڈی آر سی)۔\n"
        "یہ پیغام خودکار طور پر بھیجا گیا ہے، براہِ کرم اس کا جواب نہ دیں۔\n");
    s_destroy (&event);
}

//  Times in Pakistan (UTC+5) and China (UTC+8) time, across midnight.
static void
test_times (void **state)
{
    (void)state;
    struct
    {
        int64_t at;
        const char *en;
        const char *zh;
    } cases[] = {
        {S_T0, "Sent: 2026-03-01 14:00 PKT\n", "发送时间：2026-03-01 17:00（北京时间）\n"},
        {S_T0 - 12 * 3600000LL - 30 * 60000LL, "Sent: 2026-03-01 01:30 PKT\n",
         "发送时间：2026-03-01 04:30（北京时间）\n"},
        {S_T0 - 17 * 3600000LL - 30 * 60000LL + 123, "Sent: 2026-02-28 20:30 PKT\n",
         "发送时间：2026-02-28 23:30（北京时间）\n"},
        {S_T0 + 15 * 3600000LL, "Sent: 2026-03-02 05:00 PKT\n",
         "发送时间：2026-03-02 08:00（北京时间）\n"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        Cpec__V1__Event *event = s_event ("NotifyTest");
        s_destroy (&event->occurred_at);
        event->occurred_at = cpec_pb_timestamp_new (cases[i].at);
        char *subject, *body;
        assert_int_equal (notify_text_render (event, "en", &subject, &body), 0);
        assert_non_null (strstr (body, cases[i].en));
        free (subject);
        free (body);
        assert_int_equal (notify_text_render (event, "zh", &subject, &body), 0);
        assert_non_null (strstr (body, cases[i].zh));
        free (subject);
        free (body);
        assert_int_equal (notify_text_render (event, "ur", &subject, &body), 0);
        assert_non_null (strstr (body, cases[i].en + strlen ("Sent: ")));
        free (subject);
        free (body);
        s_destroy (&event);
    }
}

//  days and slip: one day, several, early, on time, fractions.
static void
test_days_and_slip (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_delayed ("Power", 1);
    s_assert_subject (event, "en", "Delayed: Power (Rashakai Special Economic Zone) is 1 day late");
    s_assert_subject (event, "zh", "延误：Power（拉沙卡伊经济特区）已逾期1天");
    s_destroy (&event);

    struct
    {
        double slip;
        const char *en;
        const char *zh;
        const char *ur;
    } cases[] = {
        {3, "3 days late", "延误3天", "3 دن تاخیر سے"},
        {1, "1 day late", "延误1天", "1 دن تاخیر سے"},
        {-2, "2 days early", "提前2天", "2 دن قبل از وقت"},
        {0, "on time", "按期", "بروقت"},
        {1.5, "1.5 days late", "延误1.5天", "1.5 دن تاخیر سے"},
        {0.001, "on time", "按期", "بروقت"},
        {1234.567, "1,234.57 days late", "延误1,234.57天", "1,234.57 دن تاخیر سے"},
    };
    const char *prefix[] = {"Completed: Internal roads, phase 1 (Allama Iqbal Industrial City), ",
                            "已完成：Internal roads, phase 1（阿拉马·伊克巴尔工业城），",
                            "مکمل: Internal roads, phase 1 (علامہ اقبال انڈسٹریل سٹی)، "};
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        event = s_completed (cases[i].slip);
        const char *tails[] = {cases[i].en, cases[i].zh, cases[i].ur};
        for (size_t l = 0; l < 3; l++) {
            char expected[512];
            snprintf (expected, sizeof (expected), "%s%s", prefix[l], tails[l]);
            s_assert_subject (event, s_languages[l], expected);
        }
        s_destroy (&event);
    }
}

//  --------------------------------------------------------------------------
//  Fallbacks and hostile values

static void
test_unknown_type_is_generic (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_event ("EnterpriseRelocated");
    s_assert_render (event, "en", "CPEC update: EnterpriseRelocated (Mirpur Special Economic Zone)",
                     "An event has been recorded on the CPEC Industrial Cooperation Platform.\n"
                     "\n"
                     "Event type: EnterpriseRelocated\n"
                     "Zone: Mirpur Special Economic Zone\n"
                     "Province: Azad Jammu and Kashmir\n"
                     "Time: 2026-03-01 14:00 PKT\n"
                     "By: boi-desk-1\n"
                     "Request: req-20260301-0042\n"
                     "Event: 0f6c2a9e-5b1d-4c77-9a0e-1d2f3a4b5c6d\n"
                     "\n"
                     "-- \n"
                     "CPEC Industrial Cooperation Platform (BOI and NDRC).\n"
                     "This message was sent automatically; please do not reply to it.\n");
    s_assert_subject (event, "zh", "中巴经济走廊动态：EnterpriseRelocated（米尔布尔经济特区）");
    s_destroy (&event);

    //  No type at all, an unknown zone (its id) and no province
    event = s_envelope ("", "new-zone", NULL);
    s_assert_subject (event, "en", "CPEC update: — (new-zone)");
    s_destroy (&event);
}

static void
test_unknown_language_is_english (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_event ("MilestoneDelayed");
    char *en_subject, *en_body, *zh_subject, *zh_body, *ur_subject, *ur_body;
    assert_int_equal (notify_text_render (event, "en", &en_subject, &en_body), 0);
    assert_int_equal (notify_text_render (event, "zh", &zh_subject, &zh_body), 0);
    assert_int_equal (notify_text_render (event, "ur", &ur_subject, &ur_body), 0);
    assert_string_not_equal (en_subject, zh_subject);
    assert_string_not_equal (en_subject, ur_subject);

    const char *english[] = {"fr", "", NULL, "english", "e", "*", "languages"};
    for (size_t i = 0; i < sizeof (english) / sizeof (english[0]); i++)
        s_assert_render (event, english[i], en_subject, en_body);
    const char *chinese[] = {"ZH", "zh-CN", "zh_Hans_CN"};
    for (size_t i = 0; i < sizeof (chinese) / sizeof (chinese[0]); i++)
        s_assert_render (event, chinese[i], zh_subject, zh_body);
    s_assert_render (event, "ur-PK", ur_subject, ur_body);
    free (en_subject);
    free (en_body);
    free (zh_subject);
    free (zh_body);
    free (ur_subject);
    free (ur_body);
    s_destroy (&event);
}

static void
test_subject_one_line (void **state)
{
    (void)state;
    Cpec__V1__Event *plain = s_delayed ("Gas", 15);
    Cpec__V1__Event *event =
        s_delayed ("Gas connection\r\nBcc: attacker@example.com\n\n\tphase 2\xe2\x80\xae"
                   "evil\x7f\xc2\x85!",
                   15);
    for (size_t l = 0; l < 3; l++) {
        char *subject, *body, *plain_subject, *plain_body;
        assert_int_equal (notify_text_render (event, s_languages[l], &subject, &body), 0);
        assert_int_equal (notify_text_render (plain, s_languages[l], &plain_subject, &plain_body),
                          0);
        s_assert_text (subject, body);
        //  Each run of control characters is one space; the override is gone
        assert_non_null (
            strstr (subject, "Gas connection Bcc: attacker@example.com phase 2evil !"));
        assert_null (strstr (body, "\xe2\x80\xae"));
        //  The body has the same lines as with a plain title
        assert_int_equal (s_count (body, "\n"), s_count (plain_body, "\n"));
        free (subject);
        free (body);
        free (plain_subject);
        free (plain_body);
    }
    s_destroy (&event);
    s_destroy (&plain);

    //  Invalid UTF-8 comes out as U+FFFD
    event = s_delayed ("Gas \xff\xfe connection", 15);
    char *subject, *body;
    assert_int_equal (notify_text_render (event, "en", &subject, &body), 0);
    s_assert_text (subject, body);
    assert_non_null (strstr (subject, "Gas \xef\xbf\xbd"));
    free (subject);
    free (body);
    s_destroy (&event);
}

//  Unset fields show as "—"; an event without its payload still renders.
static void
test_missing_fields (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_envelope ("MilestoneDelayed", "rashakai", "PK-KP");
    s_destroy (&event->occurred_at);
    char *subject, *body;
    assert_int_equal (notify_text_render (event, "en", &subject, &body), 0);
    s_assert_text (subject, body);
    assert_string_equal (subject, "Delayed: — (Rashakai Special Economic Zone) is — late");
    assert_non_null (strstr (body, "Planned due: —\n"));
    assert_non_null (strstr (body, "Downstream milestones affected: —\n"));
    assert_non_null (strstr (body, "Reported on —.\n"));
    free (subject);
    free (body);

    //  The payload set but empty: days_late 0 is a value, not missing
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED;
    event->milestone_delayed =
        S_NEW (Cpec__V1__MilestoneDelayed, cpec__v1__milestone_delayed__descriptor);
    for (size_t l = 0; l < 3; l++) {
        assert_int_equal (notify_text_render (event, s_languages[l], &subject, &body), 0);
        s_assert_text (subject, body);
        assert_null (strpbrk (body, "{}"));
        free (subject);
        free (body);
    }
    assert_int_equal (notify_text_render (event, "en", &subject, &body), 0);
    assert_string_equal (subject, "Delayed: — (Rashakai Special Economic Zone) is 0 days late");
    free (subject);
    free (body);
    s_destroy (&event);
}

//  --------------------------------------------------------------------------
//  The digest

#define S_NOW (S_T0 + 11 * 3600000LL) //  2026-03-01T20:00:00Z: 2026-03-02 01:00 PKT

static void
test_digest_empty (void **state)
{
    (void)state;
    const char *subjects[] = {"CPEC daily digest, 2026-03-02: no events",
                              "中巴经济走廊每日摘要（2026-03-02）：无新动态",
                              "سی پیک روزانہ خلاصہ، 2026-03-02: کوئی نئی اطلاع نہیں"};
    for (size_t l = 0; l < 3; l++) {
        char *subject, *body;
        assert_int_equal (notify_digest_render (NULL, 0, s_languages[l], S_NOW, &subject, &body),
                          0);
        s_assert_text (subject, body);
        assert_string_equal (subject, subjects[l]);
        assert_null (strpbrk (body, "{}"));
        free (subject);
        free (body);
    }
    char *subject, *body;
    assert_int_equal (notify_digest_render (NULL, 0, "en", S_NOW, &subject, &body), 0);
    assert_string_equal (body, "No events for your subscription since the previous digest.\n"
                               "\n"
                               "-- \n"
                               "CPEC Industrial Cooperation Platform (BOI and NDRC).\n"
                               "This message was sent automatically; please do not reply to it.\n");
    free (subject);
    free (body);
}

static void
test_digest_three (void **state)
{
    (void)state;
    Cpec__V1__Event *events[3] = {s_completed (3), s_event ("MilestoneDelayed"), s_at_risk ()};
    const Cpec__V1__Event *const *list = (const Cpec__V1__Event *const *)events;
    char *subject, *body;
    assert_int_equal (notify_digest_render (list, 3, "en", S_NOW, &subject, &body), 0);
    s_assert_text (subject, body);
    assert_string_equal (subject, "CPEC daily digest, 2026-03-02: 3 events");
    assert_string_equal (
        body,
        "3 events for your subscription since the previous digest, newest last.\n"
        "\n"
        "Delays (1)\n"
        "- 2026-03-01 14:00 PKT  Delayed: 8 MMCFD gas connection to the zero point (Rashakai "
        "Special Economic Zone) is 15 days late\n"
        "\n"
        "At risk (1)\n"
        "- 2026-03-01 14:00 PKT  At risk: Bulk water supply (5 MGD) (Dhabeji Special Economic "
        "Zone), forecast 2026-11-15 against planned 2026-09-30\n"
        "\n"
        "Other updates (1)\n"
        "- 2026-03-01 14:00 PKT  Completed: Internal roads, phase 1 (Allama Iqbal Industrial "
        "City), 3 days late\n"
        "\n"
        "-- \n"
        "CPEC Industrial Cooperation Platform (BOI and NDRC).\n"
        "This message was sent automatically; please do not reply to it.\n");
    free (subject);
    free (body);

    //  Each line is the event's own subject, in the reader's language
    const char *subjects[] = {"中巴经济走廊每日摘要（2026-03-02）：3条动态",
                              "سی پیک روزانہ خلاصہ، 2026-03-02: 3 اطلاعات"};
    const char *headings[][3] = {{"延误（1）", "延误风险（1）", "其他动态（1）"},
                                 {"تاخیر (1)", "تاخیر کا خطرہ (1)", "دیگر اطلاعات (1)"}};
    for (size_t l = 1; l < 3; l++) {
        assert_int_equal (notify_digest_render (list, 3, s_languages[l], S_NOW, &subject, &body),
                          0);
        s_assert_text (subject, body);
        assert_string_equal (subject, subjects[l - 1]);
        assert_null (strpbrk (body, "{}"));
        const char *previous = body;
        for (size_t h = 0; h < 3; h++) {
            const char *heading = strstr (body, headings[l - 1][h]);
            assert_non_null (heading);
            assert_true (heading >= previous);
            previous = heading;
        }
        for (size_t i = 0; i < 3; i++) {
            char *event_subject, *event_body;
            assert_int_equal (
                notify_text_render (events[i], s_languages[l], &event_subject, &event_body), 0);
            assert_non_null (strstr (body, event_subject));
            free (event_subject);
            free (event_body);
        }
        free (subject);
        free (body);
    }

    //  Oldest first within a group, whatever the order given; NULL skipped
    Cpec__V1__Event *earlier = s_event ("SezStatusChanged");
    s_destroy (&earlier->occurred_at);
    earlier->occurred_at = cpec_pb_timestamp_new (S_T0 - 2 * 3600000LL);
    const Cpec__V1__Event *mixed[] = {events[0], NULL, earlier};
    assert_int_equal (notify_digest_render (mixed, 3, "en", S_NOW, &subject, &body), 0);
    assert_string_equal (subject, "CPEC daily digest, 2026-03-02: 2 events");
    const char *status = strstr (body, "- 2026-03-01 12:00 PKT  SEZ status of Dhabeji");
    const char *completed = strstr (body, "- 2026-03-01 14:00 PKT  Completed: Internal roads");
    assert_non_null (strstr (body, "\nOther updates (2)\n- 2026-03-01 12:00 PKT"));
    assert_true (status && completed && status < completed);
    free (subject);
    free (body);
    s_destroy (&earlier);

    //  One event
    assert_int_equal (notify_digest_render (list, 1, "en", S_NOW, &subject, &body), 0);
    assert_string_equal (subject, "CPEC daily digest, 2026-03-02: 1 event");
    assert_non_null (strstr (body, "1 event for your subscription"));
    assert_null (strstr (body, "Delays"));
    free (subject);
    free (body);
    for (size_t i = 0; i < 3; i++)
        s_destroy (&events[i]);
}

//  --------------------------------------------------------------------------
//  The e-mail

static void
test_mail_headers_and_body (void **state)
{
    (void)state;
    Cpec__V1__Event *event = s_event ("MilestoneDelayed");
    for (size_t l = 0; l < 3; l++) {
        char *subject, *body;
        assert_int_equal (notify_text_render (event, s_languages[l], &subject, &body), 0);
        char *mail = notify_mail_compose ("CPEC Notifications <notify@cpec.gov.pk>",
                                          "desk.officer@boi.gov.pk", subject, body,
                                          "d-0f6c2a9e-rashakai-gas", "MilestoneDelayed", S_T0);
        assert_non_null (mail);
        s_assert_mail_lines (mail, 78);

        const char *encoded_body;
        char *headers = s_mail_headers (mail, &encoded_body);
        const char *names[] = {"Date",
                               "From",
                               "To",
                               "Subject",
                               "Message-ID",
                               "MIME-Version",
                               "Content-Type",
                               "Content-Transfer-Encoding",
                               "Auto-Submitted",
                               "X-CPEC-Delivery",
                               "X-CPEC-Event"};
        for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++)
            assert_int_equal (s_header_count (headers, names[i]), 1);
        struct
        {
            const char *name;
            const char *value;
        } exact[] = {
            {"Date", "Sun, 01 Mar 2026 09:00:00 +0000"},
            {"From", "CPEC Notifications <notify@cpec.gov.pk>"},
            {"To", "desk.officer@boi.gov.pk"},
            {"Message-ID", "<d-0f6c2a9e-rashakai-gas@cpec.local>"},
            {"MIME-Version", "1.0"},
            {"Content-Type", "text/plain; charset=UTF-8"},
            {"Content-Transfer-Encoding", "base64"},
            {"Auto-Submitted", "auto-generated"},
            {"X-CPEC-Delivery", "d-0f6c2a9e-rashakai-gas"},
            {"X-CPEC-Event", "MilestoneDelayed"},
        };
        for (size_t i = 0; i < sizeof (exact) / sizeof (exact[0]); i++) {
            char *value = s_header_value (headers, exact[i].name);
            assert_string_equal (value, exact[i].value);
            free (value);
        }
        //  The subject: as it is in English, encoded-words in Chinese and Urdu
        char *value = s_header_value (headers, "Subject");
        size_t words;
        char *decoded = s_subject_decode (value, &words);
        assert_string_equal (decoded, subject);
        assert_true (l == 0 ? words == 0 : words > 1);
        free (decoded);
        free (value);

        //  The body: base64 of its canonical (CRLF) form
        char *body_back = s_mail_body (mail);
        char *canonical = s_crlf (body);
        assert_string_equal (body_back, canonical);
        free (canonical);
        free (body_back);
        free (headers);
        free (mail);
        free (subject);
        free (body);
    }
    s_destroy (&event);
}

//  Subjects long and short, ASCII or not, come back exactly.
static void
test_mail_subjects (void **state)
{
    (void)state;
    char long_ascii[1200] = "";
    for (int i = 0; i < 60; i++)
        strcat (long_ascii, "Delayed milestone ");
    strcat (long_ascii, "end");
    char long_word[300];
    memset (long_word, 'x', 250);
    long_word[250] = '\0';
    char long_utf8[4000] = "";
    for (int i = 0; i < 50; i++)
        strcat (long_utf8, "拉沙卡伊 ملز 😀a"); //  1, 2, 3 and 4-byte characters
    struct
    {
        const char *subject;
        bool encoded;
    } cases[] = {
        {"CPEC notifications: test message", false},
        {long_ascii, false},
        {"Price =?UTF-8?B?x?= trick", true},
        {long_word, true},
        {"Double  space", true},
        {"中", true},
        {long_utf8, true},
        {"", false},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        char *mail = notify_mail_compose ("notify@cpec.gov.pk", "desk@ndrc.gov.cn",
                                          cases[i].subject, "Body\n", "d-1", "NotifyTest", S_T0);
        s_assert_mail_lines (mail, 78);
        const char *body;
        char *headers = s_mail_headers (mail, &body);
        assert_int_equal (s_header_count (headers, "Subject"), 1);
        char *value = s_header_value (headers, "Subject");
        size_t words;
        char *decoded = s_subject_decode (value, &words);
        assert_string_equal (decoded, cases[i].subject);
        assert_true (cases[i].encoded ? words > 0 : words == 0);
        free (decoded);
        free (value);
        free (headers);
        free (mail);
    }
}

static void
test_mail_injection (void **state)
{
    (void)state;
    char long_from[3000];
    memset (long_from, 'a', sizeof (long_from) - 1);
    long_from[sizeof (long_from) - 1] = '\0';
    const char *froms[] = {"notify@cpec.gov.pk\r\nX-Evil: 1", long_from};
    for (size_t f = 0; f < 2; f++) {
        char *mail = notify_mail_compose (
            froms[f], "desk@boi.gov.pk\r\nBcc: spy@example.com", "Hello\r\nBcc: z@example.com",
            "Line one\nLine two\r\nBcc: body@example.com\n", "d-1\r\nBcc: x@example.com",
            "MilestoneDelayed\nBcc: y@example.com", S_T0);
        s_assert_mail_lines (mail, f == 0 ? 78 : 998);
        const char *body;
        char *headers = s_mail_headers (mail, &body);
        assert_int_equal (s_header_count (headers, "Bcc"), 0);
        assert_int_equal (s_header_count (headers, "X-Evil"), 0);
        assert_int_equal (s_header_count (headers, "To"), 1);
        assert_int_equal (s_header_count (headers, "From"), 1);
        char *to = s_header_value (headers, "To");
        assert_string_equal (to, "desk@boi.gov.pkBcc: spy@example.com");
        free (to);
        char *id = s_header_value (headers, "Message-ID");
        assert_string_equal (id, "<d-1--Bcc--x-example-com@cpec.local>");
        free (id);
        //  The body keeps its text, line ends made CRLF
        char *decoded = s_mail_body (mail);
        assert_string_equal (decoded, "Line one\r\nLine two\r\nBcc: body@example.com\r\n");
        free (decoded);
        free (headers);
        free (mail);
    }

    //  NULL and empty values, an empty body, a long line in the body
    char *mail = notify_mail_compose (NULL, "", NULL, "", NULL, NULL, 0);
    s_assert_mail_lines (mail, 78);
    assert_non_null (strstr (mail, "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n"));
    assert_non_null (strstr (mail, "Message-ID: <none@cpec.local>\r\n"));
    assert_int_equal (strcmp (mail + strlen (mail) - 4, "\r\n\r\n"), 0);
    free (mail);
    char *long_body = (char *)malloc (10001);
    memset (long_body, 'b', 10000);
    long_body[10000] = '\0';
    mail = notify_mail_compose ("a@b", "c@d", "s", long_body, "d", "t", S_T0);
    s_assert_mail_lines (mail, 78);
    char *decoded = s_mail_body (mail);
    assert_string_equal (decoded, long_body);
    free (decoded);
    free (mail);
    free (long_body);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_templates_complete),
        cmocka_unit_test (test_every_type_renders),
        cmocka_unit_test (test_delayed_exact),
        cmocka_unit_test (test_subjects_exact),
        cmocka_unit_test (test_match_stages),
        cmocka_unit_test (test_expiring_exact),
        cmocka_unit_test (test_times),
        cmocka_unit_test (test_days_and_slip),
        cmocka_unit_test (test_unknown_type_is_generic),
        cmocka_unit_test (test_unknown_language_is_english),
        cmocka_unit_test (test_subject_one_line),
        cmocka_unit_test (test_missing_fields),
        cmocka_unit_test (test_digest_empty),
        cmocka_unit_test (test_digest_three),
        cmocka_unit_test (test_mail_headers_and_body),
        cmocka_unit_test (test_mail_subjects),
        cmocka_unit_test (test_mail_injection),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
