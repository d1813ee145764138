/*  cpecctl notify - subscriptions, deliveries, dead letters and the live feed
    through the Notify service (broker service "notify",
    proto/cpec/v1/notify.proto): sub add, sub list, sub get, sub rm, sub test,
    deliveries, dlq list, dlq replay, live.

    Every command parses its arguments with cpecctl_notify_parse (one table
    says which options each takes), makes one call (or one listing through
    cpecctl_list_all) and prints the answer: --json as proto3 JSON, else with
    the text renderers below, which write into strings so that
    tests/unit/test_cpecctl_notify.c checks their exact lines. Tables align
    on terminal columns (a Chinese character takes two), so rows holding
    Chinese or Urdu still line up; no text is cut.
*/
#include "cpecctl.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"

#define S_SERVICE (&cpec__v1__notify__descriptor)

#define S_LIMIT_DEFAULT  100  //  deliveries shown without --limit
#define S_PAGE_SIZE_MAX  500  //  the largest page the service answers
#define S_LIVE_COUNT_MAX 1000 //  the most entries ReadLive answers

//  ---------------------------------------------------------------------------
//  Texts and aligned columns

//  Writes the strings joined by ", " (or `empty` when there are none).
static void
s_write_list (FILE *out, char **values, size_t count, const char *empty)
{
    for (size_t index = 0; index < count; index++)
        fprintf (out, "%s%s", index ? ", " : "", values[index]);
    fputs (count ? "\n" : empty, out);
}

static const char *
s_channel_name (int channel)
{
    return cpecctl_enum_name (&cpec__v1__subscription__channel__descriptor, channel,
                              "CHANNEL_UNKNOWN");
}

static const char *
s_severity_name (int severity)
{
    return cpecctl_enum_name (&cpec__v1__subscription__severity__descriptor, severity,
                              "SEVERITY_UNKNOWN");
}

static const char *
s_delivery_status_name (int status)
{
    return cpecctl_enum_name (&cpec__v1__delivery__status__descriptor, status, "STATUS_UNKNOWN");
}

//  The last attempt of a delivery (the history is newest last), or NULL.
static const Cpec__V1__DeliveryAttempt *
s_last_attempt (const Cpec__V1__Delivery *delivery)
{
    return delivery && delivery->n_history ? delivery->history[delivery->n_history - 1] : NULL;
}

//  The error of a delivery: its last_error, else its last attempt's.
static const char *
s_delivery_error (const Cpec__V1__Delivery *delivery)
{
    const Cpec__V1__DeliveryAttempt *attempt = s_last_attempt (delivery);
    if (delivery && delivery->last_error && *delivery->last_error)
        return delivery->last_error;
    return cpecctl_text (attempt ? attempt->error : NULL);
}

//  ---------------------------------------------------------------------------
//  The renderers

char *
cpecctl_notify_subscription_text (const Cpec__V1__Subscription *subscription)
{
    assert (subscription);
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    const Cpec__V1__Subscription *self = subscription;
    fprintf (out, "id: %s\n", cpecctl_text (self->id));
    fprintf (out, "owner: %s\n", cpecctl_text (self->owner));
    fprintf (out, "channel: %s\n", s_channel_name (self->channel));
    fprintf (out, "url: %s\n", cpecctl_text (self->url));
    fprintf (out, "email: %s\n", cpecctl_text (self->email));
    if (self->secret && *self->secret)
        fprintf (out, "secret: %s (shown once: Get and List never show it; keep it now)\n",
                 self->secret);
    else
        fprintf (out, "secret: %s\n", self->has_secret ? "set (not shown)" : "-");
    fprintf (out, "event_types: ");
    s_write_list (out, self->event_types, self->n_event_types, "- (every type)\n");
    fprintf (out, "provinces: ");
    s_write_list (out, self->provinces, self->n_provinces, "- (every province)\n");
    fprintf (out, "zone_ids: ");
    s_write_list (out, self->zone_ids, self->n_zone_ids, "- (every zone)\n");
    fprintf (out, "agency: %s\n", self->agency && *self->agency ? self->agency : "- (any agency)");
    fprintf (out, "min_severity: %s%s\n", s_severity_name (self->min_severity),
             self->min_severity == CPEC__V1__SUBSCRIPTION__SEVERITY__SEVERITY_UNSPECIFIED
                 ? " (= INFO)"
                 : "");
    fprintf (out, "language: %s\n", cpecctl_text (self->language));
    fprintf (out, "digest: %s\n", self->digest ? "true" : "false");
    fprintf (out, "active: %s\n", self->active ? "true" : "false");
    fprintf (out, "version: %u\n", self->version);
    char at[40];
    const Cpec__V1__Audit *audits[2] = {self->created, self->updated};
    for (int index = 0; index < 2; index++)
        fprintf (
            out, "%s: %s%s%s\n", index ? "updated" : "created",
            cpecctl_format_timestamp (audits[index] ? audits[index]->at : NULL, at, sizeof (at)),
            audits[index] ? " by " : "", audits[index] ? cpecctl_text (audits[index]->by) : "");
    return cpecctl_text_end (&text);
}

//  Writes `name=a,b` (after a space unless first) when there are values.
static void
s_write_filter (FILE *out, const char *name, char **values, size_t count, bool *first)
{
    if (count == 0)
        return;
    fprintf (out, "%s%s=", *first ? "" : " ", name);
    for (size_t index = 0; index < count; index++)
        fprintf (out, "%s%s", index ? "," : "", values[index]);
    *first = false;
}

//  The filters of a subscription on one line: "types=A,B provinces=PK-KP
//  zones=z agency=X severity>=WARNING", the empty ones left out; "all"
//  when every one is empty. The caller frees it.
static char *
s_filters (const Cpec__V1__Subscription *subscription)
{
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    bool first = true;
    s_write_filter (out, "types", subscription->event_types, subscription->n_event_types, &first);
    s_write_filter (out, "provinces", subscription->provinces, subscription->n_provinces, &first);
    s_write_filter (out, "zones", subscription->zone_ids, subscription->n_zone_ids, &first);
    char *agency = subscription->agency;
    s_write_filter (out, "agency", &agency, agency && *agency ? 1 : 0, &first);
    if (subscription->min_severity > CPEC__V1__SUBSCRIPTION__SEVERITY__INFO) {
        fprintf (out, "%sseverity>=%s", first ? "" : " ",
                 s_severity_name (subscription->min_severity));
        first = false;
    }
    if (first)
        fputs ("all", out);
    return cpecctl_text_end (&text);
}

char *
cpecctl_notify_subscriptions_table (ProtobufCMessage **rows, size_t count)
{
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    cpecctl_grid_t grid = {7, 0, NULL, 0};
    const char *header[] = {"ID", "CHANNEL", "TARGET", "LANG", "DIGEST", "ACTIVE", "FILTERS"};
    for (size_t column = 0; column < grid.columns; column++)
        cpecctl_grid_cell (&grid, "%s", header[column]);
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Subscription *row = (const Cpec__V1__Subscription *)rows[index];
        //  The target: the webhook's url, the recipient, none for LIVE.
        const char *target = row->url && *row->url ? row->url : row->email;
        char *filters = s_filters (row);
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->id));
        cpecctl_grid_cell (&grid, "%s", s_channel_name (row->channel));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (target));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->language));
        cpecctl_grid_cell (&grid, "%s", row->digest ? "yes" : "no");
        cpecctl_grid_cell (&grid, "%s", row->active ? "yes" : "no");
        cpecctl_grid_cell (&grid, "%s", filters);
        free (filters);
    }
    cpecctl_grid_write (&grid, out);
    return cpecctl_text_end (&text);
}

char *
cpecctl_notify_deliveries_table (ProtobufCMessage **rows, size_t count, bool with_subscription)
{
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    //  Without the subscription column, the numbers are columns 3 to 5.
    cpecctl_grid_t grid = {with_subscription ? 8 : 7, with_subscription ? 0x70u : 0x38u, NULL, 0};
    const char *header[] = {"ID",       "SUBSCRIPTION", "EVENT-TYPE", "STATUS",
                            "ATTEMPTS", "CODE",         "LATENCY",    "LAST-ERROR"};
    for (size_t column = 0; column < 8; column++)
        if (column != 1 || with_subscription)
            cpecctl_grid_cell (&grid, "%s", header[column]);
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Delivery *row = (const Cpec__V1__Delivery *)rows[index];
        const Cpec__V1__DeliveryAttempt *attempt = s_last_attempt (row);
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->id));
        if (with_subscription)
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->subscription_id));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->event_type));
        cpecctl_grid_cell (&grid, "%s", s_delivery_status_name (row->status));
        cpecctl_grid_cell (&grid, "%u", row->attempts);
        //  Code 0 is no answer (a timeout, a refused connection).
        if (attempt && attempt->status_code)
            cpecctl_grid_cell (&grid, "%d", attempt->status_code);
        else
            cpecctl_grid_cell (&grid, "-");
        if (attempt)
            cpecctl_grid_cell (&grid, "%ums", attempt->latency_ms);
        else
            cpecctl_grid_cell (&grid, "-");
        cpecctl_grid_cell (&grid, "%s", s_delivery_error (row));
    }
    cpecctl_grid_write (&grid, out);
    return cpecctl_text_end (&text);
}

char *
cpecctl_notify_test_text (const Cpec__V1__TestSubscriptionResponse *answer)
{
    assert (answer);
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    const Cpec__V1__DeliveryAttempt *attempt = s_last_attempt (answer->delivery);
    fprintf (out, "delivered: %s\n", answer->delivered ? "true" : "false");
    fprintf (out, "delivery_id: %s\n",
             cpecctl_text (answer->delivery ? answer->delivery->id : NULL));
    if (attempt && attempt->status_code)
        fprintf (out, "status_code: %d\n", attempt->status_code);
    else
        fprintf (out, "status_code: -\n");
    if (attempt)
        fprintf (out, "latency_ms: %u\n", attempt->latency_ms);
    else
        fprintf (out, "latency_ms: -\n");
    fprintf (out, "error: %s\n", s_delivery_error (answer->delivery));
    return cpecctl_text_end (&text);
}

char *
cpecctl_notify_live_text (const Cpec__V1__ReadLiveResponse *answer)
{
    assert (answer);
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    if (answer->n_entries) {
        cpecctl_grid_t grid = {4, 0, NULL, 0};
        cpecctl_grid_cell (&grid, "POSITION");
        cpecctl_grid_cell (&grid, "DELIVERY");
        cpecctl_grid_cell (&grid, "EVENT-TYPE");
        cpecctl_grid_cell (&grid, "ZONE");
        for (size_t index = 0; index < answer->n_entries; index++) {
            const Cpec__V1__LiveEntry *entry = answer->entries[index];
            const Cpec__V1__Event *event = entry->event;
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (entry->position));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (entry->delivery_id));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (event ? event->type : NULL));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (event ? event->zone_id : NULL));
        }
        cpecctl_grid_write (&grid, out);
    }
    fprintf (out, "next: %s\n", cpecctl_text (answer->next));
    return cpecctl_text_end (&text);
}

//  ---------------------------------------------------------------------------
//  Arguments

//  What a command takes besides --json.
enum
{
    S_ID_NONE,     //  no positional argument
    S_ID_REQUIRED, //  ID
    S_ID_OPTIONAL, //  [ID]
};
enum
{
    S_FILE = 1,
    S_OWNER = 2,
    S_SUB = 4,
    S_STATUS = 8,
    S_LIMIT = 16,
    S_AFTER = 32,
    S_COUNT = 64,
};

static const struct
{
    const char *command; //  as in the usage
    int id;              //  S_ID_*
    unsigned options;    //  S_FILE | ...
} s_specs[] = {
    {"notify sub add", S_ID_NONE, S_FILE},
    {"notify sub list", S_ID_NONE, S_OWNER},
    {"notify sub get", S_ID_REQUIRED, 0},
    {"notify sub rm", S_ID_REQUIRED, 0},
    {"notify sub test", S_ID_REQUIRED, 0},
    {"notify deliveries", S_ID_REQUIRED, S_STATUS | S_LIMIT},
    {"notify dlq list", S_ID_NONE, S_SUB},
    {"notify dlq replay", S_ID_OPTIONAL, 0},
    {"notify live", S_ID_REQUIRED, S_AFTER | S_COUNT},
};

//  Whether argv holds a positional argument, the options and their values
//  aside.
static bool
s_has_positional (int argc, char *argv[], const cpecctl_option_t *options)
{
    for (int index = 0; index < argc; index++) {
        const char *arg = argv[index];
        if (strcmp (arg, "--") == 0)
            return index + 1 < argc;
        if (arg[0] != '-' || arg[1] == '\0')
            return true;
        for (const cpecctl_option_t *option = options; option->name; option++)
            if (option->value && strcmp (arg, option->name) == 0)
                index++;
    }
    return false;
}

int
cpecctl_notify_parse (const char *command, int argc, char *argv[], cpecctl_notify_args_t *args)
{
    size_t spec = 0;
    while (spec < sizeof (s_specs) / sizeof (s_specs[0]) &&
           strcmp (s_specs[spec].command, command) != 0)
        spec++;
    assert (spec < sizeof (s_specs) / sizeof (s_specs[0]));
    memset (args, 0, sizeof (*args));
    const char *status = NULL, *limit = NULL, *count = NULL;
    const struct
    {
        unsigned bit; //  the command takes the option when its spec has this bit; 0: all
        cpecctl_option_t option;
    } every[] = {
        {S_FILE, {"--file", &args->file, NULL}}, {S_OWNER, {"--owner", &args->owner, NULL}},
        {S_SUB, {"--sub", &args->sub, NULL}},    {S_STATUS, {"--status", &status, NULL}},
        {S_LIMIT, {"--limit", &limit, NULL}},    {S_AFTER, {"--after", &args->after, NULL}},
        {S_COUNT, {"--count", &count, NULL}},    {0, {"--json", NULL, &args->json}}};
    cpecctl_option_t options[sizeof (every) / sizeof (every[0]) + 1];
    size_t n_options = 0;
    for (size_t index = 0; index < sizeof (every) / sizeof (every[0]); index++)
        if (every[index].bit == 0 || (s_specs[spec].options & every[index].bit))
            options[n_options++] = every[index].option;
    options[n_options] = (cpecctl_option_t){NULL};

    int id = s_specs[spec].id;
    if (id == S_ID_OPTIONAL)
        id = s_has_positional (argc, argv, options) ? S_ID_REQUIRED : S_ID_NONE;
    if (id == S_ID_REQUIRED ? cpecctl_parse_one (command, argc, argv, options, &args->id, "ID")
                            : cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;

    if ((s_specs[spec].options & S_FILE) && (args->file == NULL || *args->file == '\0'))
        return cpecctl_usage_error (command, "--file F.json is required");
    if (status && cpecctl_parse_enum (command, "status", &cpec__v1__delivery__status__descriptor,
                                      status, &args->status))
        return CPECCTL_EXIT_USAGE;
    if (s_specs[spec].options & S_LIMIT)
        args->limit = S_LIMIT_DEFAULT;
    if (limit && (cpecctl_parse_uint32 (limit, 0, &args->limit) || args->limit > S_PAGE_SIZE_MAX))
        return cpecctl_usage_error (command,
                                    "--limit must be a whole number from 1 to %d, or 0 for every "
                                    "page, not '%s'",
                                    S_PAGE_SIZE_MAX, limit);
    if (count && (cpecctl_parse_uint32 (count, 1, &args->count) || args->count > S_LIVE_COUNT_MAX))
        return cpecctl_usage_error (command,
                                    "--count must be a whole number from 1 to %d, not '%s'",
                                    S_LIVE_COUNT_MAX, count);
    return 0;
}

Cpec__V1__Subscription *
cpecctl_notify_load_subscription (const char *command, const char *path)
{
    json_t *json = NULL;
    ProtobufCMessage *message =
        cpecctl_load_message_or_report (command, path, &cpec__v1__subscription__descriptor, &json);
    if (message == NULL)
        return NULL;
    Cpec__V1__Subscription *subscription = (Cpec__V1__Subscription *)message;
    //  Decoded, an absent "active" and "active": false are both false: the
    //  file tells them apart. Only an explicit false makes it inactive.
    subscription->active = !json_is_false (json_object_get (json, "active"));
    json_decref (json);

    const char *missing = NULL;
    if (subscription->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__CHANNEL_UNSPECIFIED)
        missing = "channel is required (WEBHOOK, EMAIL or LIVE)";
    else if (subscription->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK &&
             *subscription->url == '\0')
        missing = "url is required for a WEBHOOK subscription";
    else if (subscription->channel == CPEC__V1__SUBSCRIPTION__CHANNEL__EMAIL &&
             *subscription->email == '\0')
        missing = "email is required for an EMAIL subscription";
    if (missing) {
        cpecctl_input_error (command, "%s: %s", path, missing);
        cpec_pb_destroy (&message);
        return NULL;
    }
    return subscription;
}

//  ---------------------------------------------------------------------------
//  Calls

//  Prints rows as one JSON array or as the table `table` renders.
static void
s_print_rows (ProtobufCMessage **rows, size_t count, bool json,
              char *(*table) (ProtobufCMessage **rows, size_t count))
{
    if (json)
        cpecctl_print_json_array (rows, count);
    else
        cpecctl_put (table (rows, count));
}

//  Every page of a List method, printed by s_print_rows.
static int
s_list (cpecctl_t *self, const char *method, ProtobufCMessage *request, const char *rows_field,
        bool json, char *(*table) (ProtobufCMessage **rows, size_t count))
{
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;
    cpecctl_listing_t listing;
    if (cpecctl_list_all (self, S_SERVICE, method, request, rows_field, &listing))
        return CPECCTL_EXIT_ERROR;
    s_print_rows (listing.rows, listing.n_rows, json, table);
    cpecctl_listing_destroy (&listing);
    return CPECCTL_EXIT_OK;
}

static void
s_print_subscription (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_notify_subscription_text ((const Cpec__V1__Subscription *)answer));
}

static char *
s_subscription_deliveries (ProtobufCMessage **rows, size_t count)
{
    return cpecctl_notify_deliveries_table (rows, count, false);
}

static char *
s_dead_letters (ProtobufCMessage **rows, size_t count)
{
    return cpecctl_notify_deliveries_table (rows, count, true);
}

//  ---------------------------------------------------------------------------
//  notify sub

int
cpecctl_notify_sub_add (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "notify sub add";
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse (command, argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__Subscription *subscription = cpecctl_notify_load_subscription (command, args.file);
    if (subscription == NULL)
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__CreateSubscriptionRequest request = CPEC__V1__CREATE_SUBSCRIPTION_REQUEST__INIT;
    request.subscription = subscription;
    int rc = cpecctl_call_print (self, S_SERVICE, "Create", &request.base, args.json,
                                 s_print_subscription);
    ProtobufCMessage *message = &subscription->base;
    cpec_pb_destroy (&message);
    return rc;
}

int
cpecctl_notify_sub_list (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify sub list", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ListSubscriptionsRequest request = CPEC__V1__LIST_SUBSCRIPTIONS_REQUEST__INIT;
    if (args.owner)
        request.owner = (char *)args.owner;
    return s_list (self, "List", &request.base, "subscriptions", args.json,
                   cpecctl_notify_subscriptions_table);
}

int
cpecctl_notify_sub_get (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify sub get", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__GetSubscriptionRequest request = CPEC__V1__GET_SUBSCRIPTION_REQUEST__INIT;
    request.id = (char *)args.id;
    return cpecctl_call_print (self, S_SERVICE, "Get", &request.base, args.json,
                               s_print_subscription);
}

static void
s_print_deleted (const ProtobufCMessage *answer)
{
    const Cpec__V1__Subscription *deleted = (const Cpec__V1__Subscription *)answer;
    printf ("deleted %s version %u\n", cpecctl_text (deleted->id), deleted->version);
}

int
cpecctl_notify_sub_rm (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify sub rm", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__DeleteSubscriptionRequest request = CPEC__V1__DELETE_SUBSCRIPTION_REQUEST__INIT;
    request.id = (char *)args.id;
    request.expected_version = 0; //  whatever its version
    return cpecctl_call_print (self, S_SERVICE, "Delete", &request.base, args.json,
                               s_print_deleted);
}

static void
s_print_test (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_notify_test_text ((const Cpec__V1__TestSubscriptionResponse *)answer));
}

int
cpecctl_notify_sub_test (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify sub test", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__TestSubscriptionRequest request = CPEC__V1__TEST_SUBSCRIPTION_REQUEST__INIT;
    request.id = (char *)args.id;
    ProtobufCMessage *answer = NULL;
    int rc = cpecctl_call_or_report (self, S_SERVICE, "Test", &request.base, &answer);
    if (rc)
        return rc;
    bool delivered = ((const Cpec__V1__TestSubscriptionResponse *)answer)->delivered;
    cpecctl_print_answer (&answer, args.json, s_print_test);
    return delivered ? CPECCTL_EXIT_OK : CPECCTL_EXIT_ERROR;
}

//  ---------------------------------------------------------------------------
//  notify deliveries

int
cpecctl_notify_deliveries (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "notify deliveries";
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse (command, argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ListDeliveriesRequest request = CPEC__V1__LIST_DELIVERIES_REQUEST__INIT;
    request.subscription_id = (char *)args.id;
    request.status = (Cpec__V1__Delivery__Status)args.status;
    if (args.limit == 0) {
        request.page_size = S_PAGE_SIZE_MAX;
        return s_list (self, "ListDeliveries", &request.base, "deliveries", args.json,
                       s_subscription_deliveries);
    }
    //  The newest `limit`: one page of that size.
    request.page_size = args.limit;
    ProtobufCMessage *answer = NULL;
    int rc = cpecctl_call_or_report (self, S_SERVICE, "ListDeliveries", &request.base, &answer);
    if (rc)
        return rc;
    const Cpec__V1__ListDeliveriesResponse *page = (const Cpec__V1__ListDeliveriesResponse *)answer;
    s_print_rows ((ProtobufCMessage **)page->deliveries, page->n_deliveries, args.json,
                  s_subscription_deliveries);
    fflush (stdout); //  the rows first, then the note
    if (page->next_cursor && *page->next_cursor)
        fprintf (stderr, "cpecctl %s: the newest %zu shown; --limit 0 lists every one\n", command,
                 page->n_deliveries);
    cpec_pb_destroy (&answer);
    return CPECCTL_EXIT_OK;
}

//  ---------------------------------------------------------------------------
//  notify dlq

int
cpecctl_notify_dlq_list (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify dlq list", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ListDeadLettersRequest request = CPEC__V1__LIST_DEAD_LETTERS_REQUEST__INIT;
    if (args.sub)
        request.subscription_id = (char *)args.sub;
    return s_list (self, "ListDeadLetters", &request.base, "deliveries", args.json, s_dead_letters);
}

static void
s_print_replayed (const ProtobufCMessage *answer)
{
    printf ("replayed %u\n", ((const Cpec__V1__ReplayDeadLettersResponse *)answer)->replayed);
}

int
cpecctl_notify_dlq_replay (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify dlq replay", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ReplayDeadLettersRequest request = CPEC__V1__REPLAY_DEAD_LETTERS_REQUEST__INIT;
    if (args.id)
        request.id = (char *)args.id; //  a delivery or a subscription; none: all
    return cpecctl_call_print (self, S_SERVICE, "ReplayDeadLetters", &request.base, args.json,
                               s_print_replayed);
}

//  ---------------------------------------------------------------------------
//  notify live

static void
s_print_live (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_notify_live_text ((const Cpec__V1__ReadLiveResponse *)answer));
}

int
cpecctl_notify_live (cpecctl_t *self, int argc, char *argv[])
{
    cpecctl_notify_args_t args;
    if (cpecctl_notify_parse ("notify live", argc, argv, &args))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ReadLiveRequest request = CPEC__V1__READ_LIVE_REQUEST__INIT;
    request.subscription_id = (char *)args.id;
    if (args.after)
        request.after = (char *)args.after;
    request.count = args.count;
    return cpecctl_call_print (self, S_SERVICE, "ReadLive", &request.base, args.json, s_print_live);
}
