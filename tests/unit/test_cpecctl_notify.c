/*  test_cpecctl_notify - what cpecctl's notify commands do without a service:
    the text of a subscription (the secret shown once, empty fields), the
    subscription and delivery tables (exact lines, Chinese and Urdu intact
    and aligned on terminal columns, control characters flattened, empty
    fields), the answers of Test and ReadLive, the subscription file of
    `sub add` (active unless it says "active": false; what is required), and
    the arguments of every command (bad or missing ones are usage errors,
    before anything is sent).

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
#include <unistd.h>

#include "cpec_json.h"
#include "cpec_pb.h"
#include "cpecctl.h"
#include "text_test.h"

//  ---------------------------------------------------------------------------
//  Helpers

//  Checks a rendered text against the expected one, then frees it.
static void
s_expect (char *text, const char *expected)
{
    assert_non_null (text);
    assert_string_equal (text, expected);
    free (text);
}

//  The rows of a List answer given in JSON; the caller destroys *answer.
static ProtobufCMessage **
s_rows (const ProtobufCMessageDescriptor *descriptor, const char *json, const char *field,
        ProtobufCMessage **answer, size_t *count)
{
    *answer = text_decode (descriptor, json);
    const ProtobufCFieldDescriptor *rows =
        protobuf_c_message_descriptor_get_field_by_name (descriptor, field);
    assert_non_null (rows);
    *count = *(size_t *)((char *)*answer + rows->quantifier_offset);
    return *(ProtobufCMessage ***)((char *)*answer + rows->offset);
}

//  ---------------------------------------------------------------------------
//  A subscription

static void
test_subscription_text (void **state)
{
    (void)state;
    //  As Create answers it: with its secret, Chinese in the agency filter.
    ProtobufCMessage *subscription = text_decode (
        &cpec__v1__subscription__descriptor,
        "{\"id\": \"ndrc-delays\", \"owner\": \"li.wei\", \"channel\": \"WEBHOOK\","
        " \"url\": \"https://ndrc.example.cn/hooks/cpec\", \"secret\": \"s3cr3t-0123\","
        " \"has_secret\": true,"
        " \"event_types\": [\"MilestoneDelayed\", \"MilestoneAtRisk\"],"
        " \"provinces\": [\"PK-KP\", \"PK-SD\"], \"zone_ids\": [\"rashakai\"],"
        " \"agency\": \"国家发展和改革委员会\", \"min_severity\": \"WARNING\","
        " \"language\": \"zh\", \"digest\": true, \"active\": true, \"version\": 1,"
        " \"created\": {\"at\": \"2026-11-28T09:30:00Z\", \"by\": \"li.wei\"}}");
    s_expect (cpecctl_notify_subscription_text ((Cpec__V1__Subscription *)subscription),
              "id: ndrc-delays\n"
              "owner: li.wei\n"
              "channel: WEBHOOK\n"
              "url: https://ndrc.example.cn/hooks/cpec\n"
              "email: -\n"
              "secret: s3cr3t-0123 (shown once: Get and List never show it; keep it now)\n"
              "event_types: MilestoneDelayed, MilestoneAtRisk\n"
              "provinces: PK-KP, PK-SD\n"
              "zone_ids: rashakai\n"
              "agency: 国家发展和改革委员会\n"
              "min_severity: WARNING\n"
              "language: zh\n"
              "digest: true\n"
              "active: true\n"
              "version: 1\n"
              "created: 2026-11-28T09:30:00Z by li.wei\n"
              "updated: -\n");
    cpec_pb_destroy (&subscription);

    //  As Get answers it: the secret is set but left out; an Urdu recipient.
    subscription =
        text_decode (&cpec__v1__subscription__descriptor,
                     "{\"id\": \"kp-desk\", \"channel\": \"EMAIL\","
                     " \"email\": \"ڈیسک@کے‌پی.پاک\", \"has_secret\": true,"
                     " \"language\": \"ur\", \"min_severity\": \"CRITICAL\", \"version\": 3,"
                     " \"updated\": {\"at\": \"2026-11-29T00:00:00.250Z\"}}");
    s_expect (cpecctl_notify_subscription_text ((Cpec__V1__Subscription *)subscription),
              "id: kp-desk\n"
              "owner: -\n"
              "channel: EMAIL\n"
              "url: -\n"
              "email: ڈیسک@کے‌پی.پاک\n"
              "secret: set (not shown)\n"
              "event_types: - (every type)\n"
              "provinces: - (every province)\n"
              "zone_ids: - (every zone)\n"
              "agency: - (any agency)\n"
              "min_severity: CRITICAL\n"
              "language: ur\n"
              "digest: false\n"
              "active: false\n"
              "version: 3\n"
              "created: -\n"
              "updated: 2026-11-29T00:00:00.250Z by -\n");
    cpec_pb_destroy (&subscription);
}

static void
test_subscription_text_empty (void **state)
{
    (void)state;
    //  Nothing set at all: every field "-", enums by their zero name.
    ProtobufCMessage *subscription = text_decode (&cpec__v1__subscription__descriptor, "{}");
    s_expect (cpecctl_notify_subscription_text ((Cpec__V1__Subscription *)subscription),
              "id: -\n"
              "owner: -\n"
              "channel: CHANNEL_UNSPECIFIED\n"
              "url: -\n"
              "email: -\n"
              "secret: -\n"
              "event_types: - (every type)\n"
              "provinces: - (every province)\n"
              "zone_ids: - (every zone)\n"
              "agency: - (any agency)\n"
              "min_severity: SEVERITY_UNSPECIFIED (= INFO)\n"
              "language: -\n"
              "digest: false\n"
              "active: false\n"
              "version: 0\n"
              "created: -\n"
              "updated: -\n");
    cpec_pb_destroy (&subscription);
    //  A number outside the enums (a newer service) is named, not a crash.
    Cpec__V1__Subscription odd = CPEC__V1__SUBSCRIPTION__INIT;
    odd.channel = (Cpec__V1__Subscription__Channel)42;
    odd.min_severity = (Cpec__V1__Subscription__Severity)9;
    char *text = cpecctl_notify_subscription_text (&odd);
    assert_non_null (strstr (text, "channel: CHANNEL_UNKNOWN\n"));
    assert_non_null (strstr (text, "min_severity: SEVERITY_UNKNOWN\n"));
    free (text);
}

//  ---------------------------------------------------------------------------
//  The subscriptions table

static void
test_subscriptions_table (void **state)
{
    (void)state;
    ProtobufCMessage *answer = NULL;
    size_t count = 0;
    ProtobufCMessage **rows = s_rows (
        &cpec__v1__list_subscriptions_response__descriptor,
        "{\"subscriptions\": ["
        " {\"id\": \"ndrc-delays\", \"channel\": \"WEBHOOK\","
        "  \"url\": \"https://ndrc.example.cn/h\","
        "  \"language\": \"zh\", \"digest\": true, \"active\": true,"
        "  \"event_types\": [\"MilestoneDelayed\", \"MilestoneAtRisk\"],"
        "  \"provinces\": [\"PK-KP\", \"PK-SD\"], \"zone_ids\": [\"rashakai\", \"dhabeji\"],"
        "  \"agency\": \"国家发展和改革委员会\", \"min_severity\": \"WARNING\"},"
        " {\"id\": \"zhang\", \"channel\": \"EMAIL\", \"email\": \"张伟@例子.中国\","
        "  \"language\": \"zh\", \"active\": true, \"min_severity\": \"INFO\"},"
        " {\"id\": \"kp-desk\", \"channel\": \"EMAIL\", \"email\": \"ڈیسک@کےپی.پاک\","
        "  \"language\": \"ur\", \"agency\": \"KPEZDMC\", \"has_secret\": true},"
        " {\"id\": \"gateway\", \"channel\": \"LIVE\"}]}",
        "subscriptions", &answer, &count);
    assert_int_equal (count, 4);
    //  TARGET is 25 columns wide (the url); 张伟@例子.中国 takes 14 columns
    //  in 20 bytes, ڈیسک@کےپی.پاک 13 columns in 24 bytes: LANG starts at
    //  column 49 on every line.
    s_expect (cpecctl_notify_subscriptions_table (rows, count),
              "ID           CHANNEL  TARGET                     LANG  DIGEST  ACTIVE  FILTERS\n"
              "ndrc-delays  WEBHOOK  https://ndrc.example.cn/h  zh    yes     yes     "
              "types=MilestoneDelayed,MilestoneAtRisk provinces=PK-KP,PK-SD "
              "zones=rashakai,dhabeji agency=国家发展和改革委员会 severity>=WARNING\n"
              "zhang        EMAIL    张伟@例子.中国             zh    no      yes     all\n"
              "kp-desk      EMAIL    ڈیسک@کےپی.پاک              ur    no      no      "
              "agency=KPEZDMC\n"
              "gateway      LIVE     -                          -     no      no      all\n");
    cpec_pb_destroy (&answer);

    //  No subscriptions: the header alone.
    s_expect (cpecctl_notify_subscriptions_table (NULL, 0),
              "ID  CHANNEL  TARGET  LANG  DIGEST  ACTIVE  FILTERS\n");
}

//  ---------------------------------------------------------------------------
//  The deliveries table

static const char *s_deliveries =
    "{\"deliveries\": ["
    //  Delivered at the second attempt.
    " {\"id\": \"d-7f3a\", \"subscription_id\": \"ndrc-delays\","
    "  \"event_type\": \"MilestoneDelayed\", \"status\": \"DELIVERED\", \"attempts\": 2,"
    "  \"history\": [{\"status_code\": 503, \"latency_ms\": 1200, \"error\": \"HTTP 503\"},"
    "   {\"status_code\": 200, \"latency_ms\": 87}]},"
    //  Dead: no answer (code 0), a Chinese error over two lines.
    " {\"id\": \"d-0001\", \"subscription_id\": \"zhang\", \"event_type\": \"SezUpdated\","
    "  \"status\": \"DEAD\", \"attempts\": 12,"
    "  \"last_error\": \"连接超时\\n(重试 12 次)\","
    "  \"history\": [{\"status_code\": 0, \"latency_ms\": 30000, \"error\": \"timeout\"}]},"
    //  Retrying: the error only in the attempt, in Urdu.
    " {\"id\": \"d-2\", \"subscription_id\": \"kp-desk\","
    "  \"event_type\": \"MilestoneAtRisk\", \"status\": \"RETRYING\", \"attempts\": 1,"
    "  \"history\": [{\"status_code\": 550, \"latency_ms\": 5,"
    "   \"error\": \"550 وصول کنندہ موجود نہیں\"}]},"
    //  Pending: never tried; no event type.
    " {\"id\": \"d-3\"}]}";

static void
test_deliveries_table (void **state)
{
    (void)state;
    ProtobufCMessage *answer = NULL;
    size_t count = 0;
    ProtobufCMessage **rows = s_rows (&cpec__v1__list_deliveries_response__descriptor, s_deliveries,
                                      "deliveries", &answer, &count);
    assert_int_equal (count, 4);
    //  Numbers right-aligned; the code and latency of the last attempt; the
    //  newline in the error flattened to a space, the text otherwise intact.
    s_expect (cpecctl_notify_deliveries_table (rows, count, false),
              "ID      EVENT-TYPE        STATUS              ATTEMPTS  CODE  LATENCY  LAST-ERROR\n"
              "d-7f3a  MilestoneDelayed  DELIVERED                  2   200     87ms  -\n"
              "d-0001  SezUpdated        DEAD                      12     -  30000ms  "
              "连接超时 (重试 12 次)\n"
              "d-2     MilestoneAtRisk   RETRYING                   1   550      5ms  "
              "550 وصول کنندہ موجود نہیں\n"
              "d-3     -                 STATUS_UNSPECIFIED         0     -        -  -\n");
    s_expect (cpecctl_notify_deliveries_table (rows, count, true),
              "ID      SUBSCRIPTION  EVENT-TYPE        STATUS              ATTEMPTS  CODE  "
              "LATENCY  LAST-ERROR\n"
              "d-7f3a  ndrc-delays   MilestoneDelayed  DELIVERED                  2   200  "
              "   87ms  -\n"
              "d-0001  zhang         SezUpdated        DEAD                      12     -  "
              "30000ms  连接超时 (重试 12 次)\n"
              "d-2     kp-desk       MilestoneAtRisk   RETRYING                   1   550  "
              "    5ms  550 وصول کنندہ موجود نہیں\n"
              "d-3     -             -                 STATUS_UNSPECIFIED         0     -  "
              "      -  -\n");
    cpec_pb_destroy (&answer);

    s_expect (cpecctl_notify_deliveries_table (NULL, 0, false),
              "ID  EVENT-TYPE  STATUS  ATTEMPTS  CODE  LATENCY  LAST-ERROR\n");
}

//  ---------------------------------------------------------------------------
//  Test and ReadLive

static void
test_test_text (void **state)
{
    (void)state;
    ProtobufCMessage *answer = text_decode (
        &cpec__v1__test_subscription_response__descriptor,
        "{\"delivered\": true, \"delivery\": {\"id\": \"test-1\", \"status\": \"DELIVERED\","
        " \"history\": [{\"status_code\": 204, \"latency_ms\": 42}]}}");
    s_expect (cpecctl_notify_test_text ((Cpec__V1__TestSubscriptionResponse *)answer),
              "delivered: true\ndelivery_id: test-1\nstatus_code: 204\nlatency_ms: 42\nerror: -\n");
    cpec_pb_destroy (&answer);

    answer = text_decode (&cpec__v1__test_subscription_response__descriptor,
                          "{\"delivery\": {\"id\": \"test-2\", \"status\": \"DEAD\","
                          " \"history\": [{\"latency_ms\": 10000, \"error\": \"连接被拒绝\"}]}}");
    s_expect (cpecctl_notify_test_text ((Cpec__V1__TestSubscriptionResponse *)answer),
              "delivered: false\ndelivery_id: test-2\nstatus_code: -\nlatency_ms: 10000\n"
              "error: 连接被拒绝\n");
    cpec_pb_destroy (&answer);

    //  No delivery at all.
    answer = text_decode (&cpec__v1__test_subscription_response__descriptor, "{}");
    s_expect (cpecctl_notify_test_text ((Cpec__V1__TestSubscriptionResponse *)answer),
              "delivered: false\ndelivery_id: -\nstatus_code: -\nlatency_ms: -\nerror: -\n");
    cpec_pb_destroy (&answer);
}

static void
test_live_text (void **state)
{
    (void)state;
    ProtobufCMessage *answer =
        text_decode (&cpec__v1__read_live_response__descriptor,
                     "{\"entries\": ["
                     " {\"position\": \"1764322200000-0\", \"delivery_id\": \"d-7f3a\","
                     "  \"event\": {\"type\": \"MilestoneDelayed\", \"zone_id\": \"rashakai\"}},"
                     " {\"position\": \"1764322200001-12\", \"delivery_id\": \"d-8\","
                     "  \"event\": {\"type\": \"SezCreated\"}},"
                     " {\"position\": \"1764322200002-0\"}],"
                     " \"next\": \"1764322200002-0\"}");
    s_expect (cpecctl_notify_live_text ((Cpec__V1__ReadLiveResponse *)answer),
              "POSITION          DELIVERY  EVENT-TYPE        ZONE\n"
              "1764322200000-0   d-7f3a    MilestoneDelayed  rashakai\n"
              "1764322200001-12  d-8       SezCreated        -\n"
              "1764322200002-0   -         -                 -\n"
              "next: 1764322200002-0\n");
    cpec_pb_destroy (&answer);

    answer = text_decode (&cpec__v1__read_live_response__descriptor, "{\"next\": \"5-0\"}");
    s_expect (cpecctl_notify_live_text ((Cpec__V1__ReadLiveResponse *)answer), "next: 5-0\n");
    cpec_pb_destroy (&answer);
    answer = text_decode (&cpec__v1__read_live_response__descriptor, "{}");
    s_expect (cpecctl_notify_live_text ((Cpec__V1__ReadLiveResponse *)answer), "next: -\n");
    cpec_pb_destroy (&answer);
}

//  ---------------------------------------------------------------------------
//  The file of sub add

//  A temporary file holding text; its path into path (at least 64 bytes).
static void
s_write_file (char *path, const char *text)
{
    strcpy (path, "/tmp/test_cpecctl_notify_XXXXXX");
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    assert_int_equal (write (fd, text, strlen (text)), (ssize_t)strlen (text));
    close (fd);
}

//  The subscription sub add would send from a file holding text, or NULL.
static Cpec__V1__Subscription *
s_load (const char *text)
{
    char path[64];
    s_write_file (path, text);
    Cpec__V1__Subscription *subscription =
        cpecctl_notify_load_subscription ("notify sub add", path);
    unlink (path);
    return subscription;
}

static void
s_destroy (Cpec__V1__Subscription *subscription)
{
    ProtobufCMessage *message = &subscription->base;
    cpec_pb_destroy (&message);
}

static void
test_load_active_default (void **state)
{
    (void)state;
    //  No "active": active. The rest as in the file, Chinese intact.
    Cpec__V1__Subscription *subscription =
        s_load ("{\"channel\": \"WEBHOOK\", \"url\": \"https://ops.example.pk/hook\","
                " \"agency\": \"国家发展和改革委员会\", \"language\": \"zh\","
                " \"event_types\": [\"MilestoneDelayed\"]}");
    assert_non_null (subscription);
    assert_true (subscription->active);
    assert_int_equal (subscription->channel, CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK);
    assert_string_equal (subscription->agency, "国家发展和改革委员会");
    assert_int_equal (subscription->n_event_types, 1);
    s_destroy (subscription);

    //  "active": false is the only way to create an inactive one.
    subscription = s_load ("{\"channel\": \"LIVE\", \"active\": false}");
    assert_non_null (subscription);
    assert_false (subscription->active);
    s_destroy (subscription);
    subscription = s_load ("{\"channel\": \"LIVE\", \"active\": true}");
    assert_non_null (subscription);
    assert_true (subscription->active);
    s_destroy (subscription);
    //  null is the default in proto3 JSON: not said, so active.
    subscription = s_load ("{\"channel\": \"LIVE\", \"active\": null}");
    assert_non_null (subscription);
    assert_true (subscription->active);
    s_destroy (subscription);
    subscription = s_load ("{\"channel\": \"EMAIL\", \"email\": \"ڈیسک@کےپی.پاک\"}");
    assert_non_null (subscription);
    assert_true (subscription->active);
    assert_string_equal (subscription->email, "ڈیسک@کےپی.پاک");
    s_destroy (subscription);
}

static void
test_load_refused (void **state)
{
    (void)state;
    const char *bad[] = {
        "{}",                                          //  no channel
        "{\"channel\": \"CHANNEL_UNSPECIFIED\"}",      //  no channel either
        "{\"channel\": \"WEBHOOK\"}",                  //  no url
        "{\"channel\": \"EMAIL\", \"url\": \"x\"}",    //  no email
        "{\"channel\": \"PIGEON\"}",                   //  not a channel
        "{\"channel\": \"LIVE\", \"active\": \"no\"}", //  not a bool
        "{\"channel\": \"LIVE\", \"colour\": 1}",      //  not a field
        "[{\"channel\": \"LIVE\"}]",                   //  not an object
        "{\"channel\": \"LIVE\",",                     //  not JSON
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad[0]); index++) {
        Cpec__V1__Subscription *subscription = s_load (bad[index]);
        if (subscription)
            fail_msg ("'%s' was taken", bad[index]);
    }
    assert_null (cpecctl_notify_load_subscription ("notify sub add", "/nonexistent/sub.json"));
}

//  ---------------------------------------------------------------------------
//  Arguments

//  Parses the arguments (a NULL-terminated list) of a notify command.
static int
s_parse (const char *command, cpecctl_notify_args_t *args, ...)
{
    char *argv[16];
    int argc = 0;
    va_list list;
    va_start (list, args);
    for (char *arg; (arg = va_arg (list, char *)) != NULL;)
        argv[argc++] = arg;
    va_end (list);
    return cpecctl_notify_parse (command, argc, argv, args);
}

static void
test_parse_sub (void **state)
{
    (void)state;
    cpecctl_notify_args_t args;
    assert_int_equal (s_parse ("notify sub add", &args, "--file", "f.json", NULL), 0);
    assert_string_equal (args.file, "f.json");
    assert_false (args.json);
    assert_null (args.id);
    assert_int_equal (s_parse ("notify sub add", &args, "--json", "--file=g.json", NULL), 0);
    assert_string_equal (args.file, "g.json");
    assert_true (args.json);

    assert_int_equal (s_parse ("notify sub list", &args, NULL), 0);
    assert_null (args.owner);
    assert_int_equal (s_parse ("notify sub list", &args, "--owner", "li.wei", "--json", NULL), 0);
    assert_string_equal (args.owner, "li.wei");
    assert_true (args.json);

    const char *with_id[] = {"notify sub get", "notify sub rm", "notify sub test"};
    for (size_t index = 0; index < 3; index++) {
        assert_int_equal (s_parse (with_id[index], &args, "ndrc-delays", NULL), 0);
        assert_string_equal (args.id, "ndrc-delays");
        assert_false (args.json);
        assert_int_equal (s_parse (with_id[index], &args, "--json", "--", "-odd-id", NULL), 0);
        assert_string_equal (args.id, "-odd-id");
        assert_true (args.json);
        //  No ID, an empty one, two, an option another command takes.
        assert_int_equal (s_parse (with_id[index], &args, NULL), CPECCTL_EXIT_USAGE);
        assert_int_equal (s_parse (with_id[index], &args, "", NULL), CPECCTL_EXIT_USAGE);
        assert_int_equal (s_parse (with_id[index], &args, "a", "b", NULL), CPECCTL_EXIT_USAGE);
        assert_int_equal (s_parse (with_id[index], &args, "a", "--file", "f", NULL),
                          CPECCTL_EXIT_USAGE);
        assert_int_equal (s_parse (with_id[index], &args, "a", "--json=yes", NULL),
                          CPECCTL_EXIT_USAGE);
    }

    assert_int_equal (s_parse ("notify sub add", &args, NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub add", &args, "--file", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub add", &args, "--file", "", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub add", &args, "f.json", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub add", &args, "--file", "f", "--owner", "o", NULL),
                      CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub list", &args, "li.wei", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub list", &args, "--owner", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify sub list", &args, "--sub", "x", NULL), CPECCTL_EXIT_USAGE);
}

static void
test_parse_deliveries (void **state)
{
    (void)state;
    cpecctl_notify_args_t args;
    const char *command = "notify deliveries";
    assert_int_equal (s_parse (command, &args, "ndrc-delays", NULL), 0);
    assert_string_equal (args.id, "ndrc-delays");
    assert_int_equal (args.status, 0); //  all
    assert_int_equal (args.limit, 100);
    assert_int_equal (
        s_parse (command, &args, "--status", "DEAD", "x", "--limit", "0", "--json", NULL), 0);
    assert_string_equal (args.id, "x");
    assert_int_equal (args.status, CPEC__V1__DELIVERY__STATUS__DEAD);
    assert_int_equal (args.limit, 0); //  every page
    assert_true (args.json);
    assert_int_equal (s_parse (command, &args, "x", "--limit=500", NULL), 0);
    assert_int_equal (args.limit, 500);

    const char *bad[][4] = {
        {NULL},
        {"--status", "DEAD", NULL},
        {"x", "--status", "dead", NULL},
        {"x", "--status", "STATUS_UNSPECIFIED", NULL},
        {"x", "--status", NULL},
        {"x", "--limit", "501", NULL},
        {"x", "--limit", "-1", NULL},
        {"x", "--limit", "ten", NULL},
        {"x", "--count", "5", NULL},
        {"x", "y", NULL},
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad[0]); index++) {
        int argc = 0;
        while (argc < 4 && bad[index][argc])
            argc++;
        if (cpecctl_notify_parse (command, argc, (char **)bad[index], &args) != CPECCTL_EXIT_USAGE)
            fail_msg ("case %zu was taken", index);
    }
}

static void
test_parse_dlq_and_live (void **state)
{
    (void)state;
    cpecctl_notify_args_t args;
    assert_int_equal (s_parse ("notify dlq list", &args, NULL), 0);
    assert_null (args.sub);
    assert_int_equal (s_parse ("notify dlq list", &args, "--sub", "zhang", "--json", NULL), 0);
    assert_string_equal (args.sub, "zhang");
    assert_true (args.json);
    assert_int_equal (s_parse ("notify dlq list", &args, "zhang", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify dlq list", &args, "--sub", NULL), CPECCTL_EXIT_USAGE);

    //  replay: the ID is optional; without it, every dead letter.
    assert_int_equal (s_parse ("notify dlq replay", &args, NULL), 0);
    assert_null (args.id);
    assert_int_equal (s_parse ("notify dlq replay", &args, "--json", NULL), 0);
    assert_null (args.id);
    assert_true (args.json);
    assert_int_equal (s_parse ("notify dlq replay", &args, "d-0001", NULL), 0);
    assert_string_equal (args.id, "d-0001");
    assert_int_equal (s_parse ("notify dlq replay", &args, "--json", "zhang", NULL), 0);
    assert_string_equal (args.id, "zhang");
    assert_int_equal (s_parse ("notify dlq replay", &args, "--", NULL), 0);
    assert_null (args.id);
    assert_int_equal (s_parse ("notify dlq replay", &args, "a", "b", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify dlq replay", &args, "", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify dlq replay", &args, "--sub", "x", NULL), CPECCTL_EXIT_USAGE);

    assert_int_equal (s_parse ("notify live", &args, "gateway", NULL), 0);
    assert_string_equal (args.id, "gateway");
    assert_null (args.after);
    assert_int_equal (args.count, 0); //  the service's default
    assert_int_equal (s_parse ("notify live", &args, "gateway", "--after", "1764322200000-0",
                               "--count", "1000", "--json", NULL),
                      0);
    assert_string_equal (args.after, "1764322200000-0");
    assert_int_equal (args.count, 1000);
    assert_true (args.json);
    assert_int_equal (s_parse ("notify live", &args, NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify live", &args, "--after", "1-0", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify live", &args, "g", "--after", NULL), CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify live", &args, "g", "--count", "0", NULL),
                      CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify live", &args, "g", "--count", "1001", NULL),
                      CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify live", &args, "g", "--count", "x", NULL),
                      CPECCTL_EXIT_USAGE);
    assert_int_equal (s_parse ("notify live", &args, "g", "--limit", "5", NULL),
                      CPECCTL_EXIT_USAGE);
}

//  The commands themselves refuse bad usage before they need a client (the
//  context has none: reaching for it would crash).
static void
test_commands_refuse_bad_usage (void **state)
{
    (void)state;
    cpecctl_t self = {NULL, NULL, 1000};
    char *none[] = {NULL};
    char *unknown[] = {"--frob", NULL};
    assert_int_equal (cpecctl_notify_sub_add (&self, 0, none), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_sub_list (&self, 1, unknown), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_sub_get (&self, 0, none), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_sub_rm (&self, 0, none), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_sub_test (&self, 0, none), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_deliveries (&self, 0, none), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_dlq_list (&self, 1, unknown), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_dlq_replay (&self, 1, unknown), CPECCTL_EXIT_USAGE);
    assert_int_equal (cpecctl_notify_live (&self, 0, none), CPECCTL_EXIT_USAGE);

    //  A file that does not make a subscription: nothing is sent.
    char path[64];
    s_write_file (path, "{\"channel\": \"WEBHOOK\"}");
    char *add[] = {"--file", path, NULL};
    assert_int_equal (cpecctl_notify_sub_add (&self, 2, add), CPECCTL_EXIT_USAGE);
    unlink (path);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_subscription_text),
        cmocka_unit_test (test_subscription_text_empty),
        cmocka_unit_test (test_subscriptions_table),
        cmocka_unit_test (test_deliveries_table),
        cmocka_unit_test (test_test_text),
        cmocka_unit_test (test_live_text),
        cmocka_unit_test (test_load_active_default),
        cmocka_unit_test (test_load_refused),
        cmocka_unit_test (test_parse_sub),
        cmocka_unit_test (test_parse_deliveries),
        cmocka_unit_test (test_parse_dlq_and_live),
        cmocka_unit_test (test_commands_refuse_bad_usage),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
