/*  test_notify_rules - the notifier's pure rules (services/notify/
    notify_rules.c): which events a subscription receives, delivery ids,
    what an answer means, the back-off, digest times and the validation of
    a subscription. No Redis.
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
#include "notify.h"

#define S_HOUR 3600000LL
#define S_DAY  (24 * S_HOUR)

#define s_destroy(message_p) cpec_pb_destroy ((ProtobufCMessage **)(message_p))

static const notify_config_t s_config = {
    .backoff_base_ms = 1000, .backoff_max_ms = 60000, .allow_private = true};

static Cpec__V1__Subscription *
s_subscription (void)
{
    Cpec__V1__Subscription *subscription =
        (Cpec__V1__Subscription *)cpec_pb_new (&cpec__v1__subscription__descriptor);
    subscription->active = true;
    subscription->channel = CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK;
    cpec_pb_string_set (&subscription->url, "http://127.0.0.1:9/hook");
    return subscription;
}

static void
s_list_add (char ***list, size_t *count, const char *value)
{
    *list = (char **)cpec_realloc (*list, (*count + 1) * sizeof (char *));
    (*list)[(*count)++] = cpec_strdup (value);
}

//  A MilestoneDelayed event of zone in province by agency.
static Cpec__V1__Event *
s_delayed (const char *zone, const char *province, const char *agency)
{
    Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    cpec_pb_string_set (&event->id, "4b0c1a52-0000-4000-8000-000000000001");
    cpec_pb_string_set (&event->type, "MilestoneDelayed");
    cpec_pb_string_set (&event->zone_id, zone);
    cpec_pb_string_set (&event->province, province);
    Cpec__V1__MilestoneDelayed *delayed =
        (Cpec__V1__MilestoneDelayed *)cpec_pb_new (&cpec__v1__milestone_delayed__descriptor);
    cpec_pb_string_set (&delayed->agency, agency);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED;
    event->milestone_delayed = delayed;
    return event;
}

static void
test_filters (void **state)
{
    (void)state;
    Cpec__V1__Subscription *subscription = s_subscription ();
    Cpec__V1__Event *event = s_delayed ("dhabeji", "PK-SD", "SSGC");
    //  No filter: everything
    assert_true (notify_matches (subscription, event));
    //  Province filter (codes compare without case)
    s_list_add (&subscription->provinces, &subscription->n_provinces, "PK-KP");
    assert_false (notify_matches (subscription, event));
    s_list_add (&subscription->provinces, &subscription->n_provinces, "pk-sd");
    assert_true (notify_matches (subscription, event));
    //  Zones
    s_list_add (&subscription->zone_ids, &subscription->n_zone_ids, "rashakai");
    assert_false (notify_matches (subscription, event));
    s_list_add (&subscription->zone_ids, &subscription->n_zone_ids, "dhabeji");
    assert_true (notify_matches (subscription, event));
    //  Types
    s_list_add (&subscription->event_types, &subscription->n_event_types, "MilestoneAtRisk");
    assert_false (notify_matches (subscription, event));
    s_list_add (&subscription->event_types, &subscription->n_event_types, "MilestoneDelayed");
    assert_true (notify_matches (subscription, event));
    //  Agency (case-insensitive), from the payload
    cpec_pb_string_set (&subscription->agency, "ssgc");
    assert_true (notify_matches (subscription, event));
    cpec_pb_string_set (&subscription->agency, "NTDC");
    assert_false (notify_matches (subscription, event));
    cpec_pb_string_set (&subscription->agency, "");
    //  Severity: a delay is CRITICAL, a creation INFO
    subscription->min_severity = CPEC__V1__SUBSCRIPTION__SEVERITY__CRITICAL;
    assert_true (notify_matches (subscription, event));
    cpec_pb_string_set (&event->type, "MilestoneAtRisk");
    s_list_add (&subscription->event_types, &subscription->n_event_types, "MilestoneAtRisk");
    assert_false (notify_matches (subscription, event));
    subscription->min_severity = CPEC__V1__SUBSCRIPTION__SEVERITY__WARNING;
    assert_true (notify_matches (subscription, event));
    //  Inactive: nothing
    subscription->active = false;
    assert_false (notify_matches (subscription, event));
    s_destroy (&subscription);
    s_destroy (&event);
}

//  Severities by type: delays CRITICAL; what will go wrong unless someone
//  acts (a milestone at risk, a match about to expire) and an expired match
//  WARNING; every other event INFO. Every type is one a subscription may name.
static void
test_severity (void **state)
{
    (void)state;
    struct
    {
        const char *type;
        Cpec__V1__Subscription__Severity severity;
    } cases[] = {
        {"MilestoneDelayed", CPEC__V1__SUBSCRIPTION__SEVERITY__CRITICAL},
        {"MilestoneAtRisk", CPEC__V1__SUBSCRIPTION__SEVERITY__WARNING},
        {"MatchExpiring", CPEC__V1__SUBSCRIPTION__SEVERITY__WARNING},
        {"MatchExpired", CPEC__V1__SUBSCRIPTION__SEVERITY__WARNING},
        {"SezCreated", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MilestoneBackOnTrack", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"ProfileCreated", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"ProfileUpdated", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"ProfileDeleted", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"ProfilesImported", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchProposed", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchInterest", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchMutualInterest", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchMeetingScheduled", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchMouSigned", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchEntryApplication", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchPlotAllotted", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchInProduction", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
        {"MatchDeclined", CPEC__V1__SUBSCRIPTION__SEVERITY__INFO},
    };
    cpec_status_t status;
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        if (notify_severity (cases[i].type) != cases[i].severity)
            fail_msg ("%s: severity %d, not %d", cases[i].type, notify_severity (cases[i].type),
                      cases[i].severity);
        Cpec__V1__Subscription *s = s_subscription ();
        s_list_add (&s->event_types, &s->n_event_types, cases[i].type);
        if (notify_validate (s, &s_config, &status) != CPEC_OK)
            fail_msg ("%s: %s", cases[i].type, status.message);
        s_destroy (&s);
    }
    assert_int_equal (notify_severity (NULL), CPEC__V1__SUBSCRIPTION__SEVERITY__INFO);
    assert_int_equal (notify_severity ("MatchExpiringSoon"),
                      CPEC__V1__SUBSCRIPTION__SEVERITY__INFO);

    //  A WARNING subscription hears of an expiring match, not of a proposal
    Cpec__V1__Subscription *subscription = s_subscription ();
    subscription->min_severity = CPEC__V1__SUBSCRIPTION__SEVERITY__WARNING;
    Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    cpec_pb_string_set (&event->type, "MatchExpiring");
    cpec_pb_string_set (&event->province, "PK-PB");
    assert_true (notify_matches (subscription, event));
    cpec_pb_string_set (&event->type, "MatchExpired");
    assert_true (notify_matches (subscription, event));
    cpec_pb_string_set (&event->type, "MatchProposed");
    assert_false (notify_matches (subscription, event));
    subscription->min_severity = CPEC__V1__SUBSCRIPTION__SEVERITY__CRITICAL;
    cpec_pb_string_set (&event->type, "MatchExpiring");
    assert_false (notify_matches (subscription, event));
    s_destroy (&subscription);
    s_destroy (&event);
}

static void
test_delivery_id (void **state)
{
    (void)state;
    char a[37], b[37], c[37], d[37];
    notify_delivery_id ("event-1", "sub-a", a);
    notify_delivery_id ("event-1", "sub-a", b);
    notify_delivery_id ("event-1", "sub-b", c);
    notify_delivery_id ("event-2", "sub-a", d);
    assert_string_equal (a, b);
    assert_string_not_equal (a, c);
    assert_string_not_equal (a, d);
    //  A version 5 UUID: 8-4-4-4-12 lowercase hex, version digit 5
    assert_int_equal (strlen (a), 36);
    assert_int_equal (a[8], '-');
    assert_int_equal (a[13], '-');
    assert_int_equal (a[14], '5');
    assert_true (strchr ("89ab", a[19]) != NULL);
    //  "event-1|sub-a" and "event-1|" + "sub-a" must not collide with a
    //  shifted split
    notify_delivery_id ("event-1|sub", "-a", c);
    assert_string_not_equal (a, c);
}

static void
test_classify (void **state)
{
    (void)state;
    assert_int_equal (notify_classify (false, 200), NOTIFY_DELIVERED);
    assert_int_equal (notify_classify (false, 204), NOTIFY_DELIVERED);
    assert_int_equal (notify_classify (false, 0), NOTIFY_RETRY);
    assert_int_equal (notify_classify (false, 408), NOTIFY_RETRY);
    assert_int_equal (notify_classify (false, 429), NOTIFY_RETRY);
    assert_int_equal (notify_classify (false, 500), NOTIFY_RETRY);
    assert_int_equal (notify_classify (false, 503), NOTIFY_RETRY);
    assert_int_equal (notify_classify (false, 400), NOTIFY_DEAD);
    assert_int_equal (notify_classify (false, 404), NOTIFY_DEAD);
    assert_int_equal (notify_classify (false, 410), NOTIFY_DEAD);
    assert_int_equal (notify_classify (false, 301), NOTIFY_DEAD);
    assert_int_equal (notify_classify (true, 250), NOTIFY_DELIVERED);
    assert_int_equal (notify_classify (true, 451), NOTIFY_RETRY);
    assert_int_equal (notify_classify (true, 0), NOTIFY_RETRY);
    assert_int_equal (notify_classify (true, 550), NOTIFY_DEAD);
}

static void
test_backoff (void **state)
{
    (void)state;
    //  Without jitter: 1, 2, 4, ... capped at 60 s
    assert_int_equal (notify_backoff_ms (&s_config, 1, 0, 0), 1000);
    assert_int_equal (notify_backoff_ms (&s_config, 2, 0, 0), 2000);
    assert_int_equal (notify_backoff_ms (&s_config, 3, 0, 0), 4000);
    assert_int_equal (notify_backoff_ms (&s_config, 7, 0, 0), 60000);
    assert_int_equal (notify_backoff_ms (&s_config, 500, 0, 0), 60000);
    //  Jitter takes up to half off, never more
    assert_int_equal (notify_backoff_ms (&s_config, 3, 0.5, 0), 3000);
    int64_t least = notify_backoff_ms (&s_config, 3, 0.999999, 0);
    assert_true (least > 2000 && least <= 2001);
    //  Retry-After wins when longer, up to an hour
    assert_int_equal (notify_backoff_ms (&s_config, 1, 0, 7000), 7000);
    assert_int_equal (notify_backoff_ms (&s_config, 3, 0, 1000), 4000);
    assert_int_equal (notify_backoff_ms (&s_config, 1, 0, 10 * S_DAY), S_HOUR);
}

static void
test_next_digest (void **state)
{
    (void)state;
    //  2026-03-01T00:00:00Z = 05:00 PKT; 8:00 PKT is 03:00 UTC
    int64_t midnight_utc = 1772323200000LL;
    assert_int_equal (notify_next_digest (midnight_utc, 8, S_DAY), midnight_utc + 3 * S_HOUR);
    //  Just past it: the next day
    assert_int_equal (notify_next_digest (midnight_utc + 3 * S_HOUR, 8, S_DAY),
                      midnight_utc + 27 * S_HOUR);
    //  Hour 0 PKT is 19:00 UTC the day before
    assert_int_equal (notify_next_digest (midnight_utc, 0, S_DAY), midnight_utc + 19 * S_HOUR);
    //  A short period (tests): the next multiple, strictly after now
    int64_t next = notify_next_digest (midnight_utc + 1234, 8, 5000);
    assert_true (next > midnight_utc + 1234 && next <= midnight_utc + 1234 + 5000);
    assert_int_equal ((next - (8 * S_HOUR - 5 * S_HOUR)) % 5000, 0);
}

static void
s_expect_invalid (Cpec__V1__Subscription *subscription, const char *path)
{
    cpec_status_t status;
    cpec_status_clear (&status);
    assert_int_equal (notify_validate (subscription, &s_config, &status), CPEC_INVALID_ARGUMENT);
    if (strncmp (status.message, path, strlen (path)) != 0)
        fail_msg ("expected a message about %s, got \"%s\"", path, status.message);
}

static void
test_validate (void **state)
{
    (void)state;
    cpec_status_t status;
    Cpec__V1__Subscription *s = s_subscription ();
    assert_int_equal (notify_validate (s, &s_config, &status), CPEC_OK);
    cpec_pb_string_set (&s->url, "ftp://example.org/x");
    s_expect_invalid (s, "url");
    cpec_pb_string_set (&s->url, "http://");
    s_expect_invalid (s, "url");
    cpec_pb_string_set (&s->url, "http://exa mple.org/");
    s_expect_invalid (s, "url");
    cpec_pb_string_set (&s->url, "https://hooks.example.org/cpec");
    assert_int_equal (notify_validate (s, &s_config, &status), CPEC_OK);
    //  Private addresses, when refused
    notify_config_t strict = s_config;
    strict.allow_private = false;
    cpec_pb_string_set (&s->url, "http://192.168.1.5/x");
    assert_int_equal (notify_validate (s, &strict, &status), CPEC_INVALID_ARGUMENT);
    cpec_pb_string_set (&s->url, "http://172.20.0.1/x");
    assert_int_equal (notify_validate (s, &strict, &status), CPEC_INVALID_ARGUMENT);
    cpec_pb_string_set (&s->url, "http://172.40.0.1/x");
    assert_int_equal (notify_validate (s, &strict, &status), CPEC_OK);
    cpec_pb_string_set (&s->url, "https://hooks.example.org/cpec");
    //  Secrets, lists, language, channel
    cpec_pb_string_set (&s->secret, "short");
    s_expect_invalid (s, "secret");
    cpec_pb_string_set (&s->secret, "");
    s_list_add (&s->event_types, &s->n_event_types, "MilestoneDelayed");
    assert_int_equal (notify_validate (s, &s_config, &status), CPEC_OK);
    s_list_add (&s->event_types, &s->n_event_types, "MilestoneExploded");
    s_expect_invalid (s, "event_types[1]");
    s->n_event_types = 1;
    free (s->event_types[1]);
    s_list_add (&s->provinces, &s->n_provinces, "PK-XX");
    s_expect_invalid (s, "provinces[0]");
    cpec_pb_string_set (&s->provinces[0], "PK-PB");
    s_list_add (&s->zone_ids, &s->n_zone_ids, "Not A Slug");
    s_expect_invalid (s, "zone_ids[0]");
    cpec_pb_string_set (&s->zone_ids[0], "rashakai");
    cpec_pb_string_set (&s->language, "fr");
    s_expect_invalid (s, "language");
    cpec_pb_string_set (&s->language, "ur");
    assert_int_equal (notify_validate (s, &s_config, &status), CPEC_OK);
    s->channel = CPEC__V1__SUBSCRIPTION__CHANNEL__EMAIL;
    s_expect_invalid (s, "email");
    cpec_pb_string_set (&s->email, "officer@boi.gov.pk\r\nBcc: x@y.z");
    s_expect_invalid (s, "email");
    cpec_pb_string_set (&s->email, "officer@boi.gov.pk");
    assert_int_equal (notify_validate (s, &s_config, &status), CPEC_OK);
    s->channel = CPEC__V1__SUBSCRIPTION__CHANNEL__LIVE;
    s->digest = true;
    s_expect_invalid (s, "digest");
    s->digest = false;
    s->channel = CPEC__V1__SUBSCRIPTION__CHANNEL__CHANNEL_UNSPECIFIED;
    s_expect_invalid (s, "channel");
    s_destroy (&s);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_filters),     cmocka_unit_test (test_severity),
        cmocka_unit_test (test_delivery_id), cmocka_unit_test (test_classify),
        cmocka_unit_test (test_backoff),     cmocka_unit_test (test_next_digest),
        cmocka_unit_test (test_validate),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
