/*  cpecctl - private header of the command-line client.

    Reading order: this header, main.c (configuration and the command table),
    cpecctl.c (the helpers below), then one source per command group: sez.c,
    ms.c (milestones and the portfolio), seed.c, events.c, notify.c, match.c
    (enterprise profiles and matchmaking; synth.h makes synthetic profiles).

    Every command is one function of the same shape, chosen from the table in
    main.c: it gets the shared context and the arguments after its name, and
    returns the process exit code. Helpers named "...or_report" have already
    printed the error when they fail, so no error path is forgotten.
*/
#ifndef CPECCTL_H_INCLUDED
#define CPECCTL_H_INCLUDED

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec/v1/milestones.pb-c.h"
#include "cpec/v1/notify.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_client.h"
#include "cpec_config.h"
#include "cpec_status.h"

//  Exit codes.
enum
{
    CPECCTL_EXIT_OK = 0,    //  done
    CPECCTL_EXIT_ERROR = 1, //  the service answered with an error (or none came)
    CPECCTL_EXIT_USAGE = 2, //  bad usage or bad local input: nothing was sent
};

//  The shared context of one run.
typedef struct
{
    cpec_config_t *config; //  CPEC_* variables
    cpec_client_t *client; //  created on first use by cpecctl_client_or_report
    int timeout_ms;        //  CPEC_TIMEOUT_MS: the deadline of one call
} cpecctl_t;

//  One command: `cpecctl GROUP [VERB] ARGS...`.
typedef int (cpecctl_handler_fn) (cpecctl_t *self, int argc, char *argv[]);

//  One option of a command, for cpecctl_parse. Exactly one of value and flag.
typedef struct
{
    const char *name;   //  "--province"
    const char **value; //  an option with an argument: where it goes (borrowed from argv)
    bool *flag;         //  a flag without an argument: set to true when present
} cpecctl_option_t;

//  Parses argv against options (terminated by {NULL}) into `positional`
//  (exactly `positional_count` positional arguments, in order; "--" ends the
//  options; `positional_names` names them in messages, "ID"). `command` names
//  the command in messages ("sez get"). Returns 0,
//  or CPECCTL_EXIT_USAGE after printing the error on stderr.
int cpecctl_parse (const char *command, int argc, char *argv[], const cpecctl_option_t *options,
                   const char **positional, int positional_count, const char *positional_names);

//  cpecctl_parse for a command of one positional argument that must not be
//  empty (an ID, a ZONE): 0 with *value set, or CPECCTL_EXIT_USAGE after
//  printing the error.
int cpecctl_parse_one (const char *command, int argc, char *argv[], const cpecctl_option_t *options,
                       const char **value, const char *name);

//  Prints "cpecctl: <message>" and a hint to stderr; returns CPECCTL_EXIT_USAGE.
int cpecctl_usage_error (const char *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Prints "cpecctl <command>: <message>" to stderr, for bad input such as a
//  malformed JSON file; returns CPECCTL_EXIT_USAGE.
int cpecctl_input_error (const char *command, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  The client of the broker, with the principal from CPEC_PRINCIPAL,
//  CPEC_ROLE and CPEC_PROVINCE; NULL after reporting a bad configuration.
cpec_client_t *cpecctl_client_or_report (cpecctl_t *self);

//  Calls `method` of a service (&cpec__v1__registry__descriptor,
//  &cpec__v1__milestones__descriptor, ...) through the broker. request_id
//  NULL: a new one. On OK *output is the reply (the caller frees it with
//  cpec_pb_destroy). Returns the status code, with the message in *status;
//  prints nothing.
int cpecctl_call (cpecctl_t *self, const ProtobufCServiceDescriptor *service, const char *method,
                  const char *request_id, const ProtobufCMessage *input, ProtobufCMessage **output,
                  cpec_status_t *status);

//  cpecctl_call with a new request id, the client made first: CPECCTL_EXIT_OK
//  with *answer set (the caller destroys it), or the exit code after
//  reporting.
int cpecctl_call_or_report (cpecctl_t *self, const ProtobufCServiceDescriptor *service,
                            const char *method, const ProtobufCMessage *request,
                            ProtobufCMessage **answer);

//  cpecctl_call_or_report, then prints the answer as JSON or with text.
int cpecctl_call_print (cpecctl_t *self, const ProtobufCServiceDescriptor *service,
                        const char *method, const ProtobufCMessage *request, bool json,
                        void (*text) (const ProtobufCMessage *answer));

//  The rows of a listing, gathered over every page. The rows point into the
//  pages, which are kept until the listing is destroyed.
typedef struct
{
    ProtobufCMessage **pages; //  the reply of each page
    size_t n_pages;           //  pages held
    ProtobufCMessage **rows;  //  every row of every page, in order (borrowed from pages)
    size_t n_rows;            //  rows held
} cpecctl_listing_t;

//  Calls a List method of a service page by page, passing each page's
//  next_cursor as the next request's `cursor`, until next_cursor is empty, and
//  gathers the repeated field `rows_field` of every page into *listing. The
//  reply type and the fields are found through the descriptors, so one loop
//  serves every List method of every service. Returns 0, or CPECCTL_EXIT_ERROR
//  after reporting (nothing to free).
int cpecctl_list_all (cpecctl_t *self, const ProtobufCServiceDescriptor *service,
                      const char *method, ProtobufCMessage *request, const char *rows_field,
                      cpecctl_listing_t *listing);

//  Frees the pages and the rows of a listing; idempotent.
void cpecctl_listing_destroy (cpecctl_listing_t *self);

//  The text, or "-" when it is NULL or empty (for tables and listings).
const char *cpecctl_text (const char *value);

//  Prints "<CODE>: <message>" on stderr; returns CPECCTL_EXIT_ERROR.
int cpecctl_report_status (const cpec_status_t *status);

//  Reads a JSON file into a new jansson value (the caller's reference).
//  When `object_only`, the top level must be an object. NULL after reporting
//  the decoder's message (file, line and column) on stderr.
json_t *cpecctl_load_json_or_report (const char *command, const char *path, bool object_only);

//  Decodes a JSON value into a new message (free with cpec_pb_destroy); NULL
//  after reporting the decoder's message naming the field. `origin` names the
//  input in the message (a file name).
ProtobufCMessage *cpecctl_decode_or_report (const char *command, const char *origin,
                                            const ProtobufCMessageDescriptor *descriptor,
                                            json_t *json);

//  Parses `command --file F.json [--json]` and loads F as a message of
//  descriptor (the caller frees it): 0 with *message, *json and *path (F,
//  borrowed from argv) set, or CPECCTL_EXIT_USAGE after printing the error.
int cpecctl_parse_file_command (const char *command, int argc, char *argv[],
                                const ProtobufCMessageDescriptor *descriptor, bool *json,
                                const char **path, ProtobufCMessage **message);

//  Prints an answer as JSON or, without json, with text; destroys it.
//  Returns CPECCTL_EXIT_OK.
int cpecctl_print_answer (ProtobufCMessage **answer_p, bool json,
                          void (*text) (const ProtobufCMessage *answer));

//  Reads F.json (an object) and decodes it into a new message of `descriptor`
//  (free with cpec_pb_destroy); the parsed object also goes to *json_p when
//  json_p is not NULL (the caller's reference). NULL after reporting.
ProtobufCMessage *cpecctl_load_message_or_report (const char *command, const char *path,
                                                  const ProtobufCMessageDescriptor *descriptor,
                                                  json_t **json_p);

//  Parses a whole number from `minimum` to 4294967295 (digits only). 0, or -1.
int cpecctl_parse_uint32 (const char *text, uint32_t minimum, uint32_t *value);

//  Parses a date argument: RFC 3339 ("2026-12-01T00:00:00Z", "...+05:00") or
//  a plain date "2026-12-01" meaning midnight UTC. 0, or -1.
int cpecctl_parse_date (const char *text, int64_t *unix_ms);

//  Parses the name of a value of `descriptor` ("IN_PROGRESS"; the zero
//  value "..._UNSPECIFIED" is refused) given to `option`. 0, or
//  CPECCTL_EXIT_USAGE after printing the error with every valid name.
int cpecctl_parse_enum (const char *command, const char *option,
                        const ProtobufCEnumDescriptor *descriptor, const char *text, int *value);

//  Prints a message as JSON (CPEC_JSON_DEFAULTS, pretty) and a newline.
void cpecctl_print_json (const ProtobufCMessage *message);

//  Prints a jansson value (pretty) and a newline.
void cpecctl_print_json_value (json_t *json);

//  Prints messages as one JSON array (CPEC_JSON_DEFAULTS, pretty).
void cpecctl_print_json_array (ProtobufCMessage **messages, size_t count);

//  Prints "<name>: <time> by <who>", or "<name>: -" when audit is NULL.
void cpecctl_print_audit (const char *name, const Cpec__V1__Audit *audit);

//  RFC 3339 text of a Timestamp into buf (at least 32 bytes); "-" when unset.
const char *cpecctl_format_timestamp (const Google__Protobuf__Timestamp *timestamp, char *buf,
                                      size_t size);

//  "YYYY-MM-DD" (UTC) of Unix milliseconds into buf (at least 16 bytes).
const char *cpecctl_format_day (int64_t unix_ms, char *buf, size_t size);

//  "YYYY-MM-DD" (UTC) of a Timestamp into buf; "-" when unset.
const char *cpecctl_format_date (const Google__Protobuf__Timestamp *timestamp, char *buf,
                                 size_t size);

//  A number without trailing zeros ("1000", "246.5") into buf.
const char *cpecctl_format_number (double value, char *buf, size_t size);

//  A wrapped number, or "-" when unknown (unset).
const char *cpecctl_format_double_value (const Google__Protobuf__DoubleValue *value, char *buf,
                                         size_t size);

//  The proto name of a value of an enum ("IN_PROGRESS"), or `unknown` for a
//  number outside it.
const char *cpecctl_enum_name (const ProtobufCEnumDescriptor *descriptor, int value,
                               const char *unknown);

//  The proto name of a Sez.Status value ("PROPOSED"); "STATUS_UNKNOWN" for a
//  number outside the enum.
const char *cpecctl_status_name (int status);

//  Commands (sez.c, ms.c, seed.c, events.c, notify.c, match.c).
int cpecctl_sez_list (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_sez_get (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_sez_create (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_sez_update (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_sez_admit (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_sez_enterprises (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_list (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_get (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_add (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_complete (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_replan (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_depend (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_undepend (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ms_schedule (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_portfolio (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_seed (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_seed_enterprises (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_events_tail (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_sub_add (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_sub_list (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_sub_get (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_sub_rm (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_sub_test (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_deliveries (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_dlq_list (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_dlq_replay (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_notify_live (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ent_add (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ent_get (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ent_list (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_ent_rm (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_top (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_zones (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_propose (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_get (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_list (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_move (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_match_funnel (cpecctl_t *self, int argc, char *argv[]);

//  The text renderers of ms.c: no I/O, no clock, no environment, so they are
//  unit-tested (tests/unit/test_cpecctl_ms.c).

//  The width of the Gantt chart from $COLUMNS (its text, or NULL): 100 when
//  unset or not a number, at least 60, at most 1000.
int cpecctl_ms_gantt_width (const char *columns);

//  A zone's schedule as a Gantt chart `width` characters wide, `now_ms` being
//  today (the '|' column): the axis, one row per entry in the reply's order,
//  the legend and the finish milestone. The rules are in README.md. The text
//  (pure ASCII, lines ending in newline) is the caller's to free.
char *cpecctl_ms_gantt (const Cpec__V1__ZoneScheduleResponse *schedule, int64_t now_ms, int width);

//  The portfolio as an aligned table: the province lines, the zone lines,
//  the total line, then "as of". The text is the caller's to free.
char *cpecctl_portfolio_table (const Cpec__V1__PortfolioResponse *portfolio);

//  The argument parsing and the text renderers of notify.c: no service, no
//  clock, no environment, so they are unit-tested
//  (tests/unit/test_cpecctl_notify.c). The texts are UTF-8 as the service
//  sent it (Chinese and Urdu intact), lines ending in newline, "-" for an
//  empty field; the caller frees them.

//  The arguments of a notify command, as cpecctl_notify_parse leaves them;
//  what a command does not take stays NULL / 0 / false.
typedef struct
{
    const char *id;    //  the ID argument (borrowed from argv); NULL for none
    const char *file;  //  --file F.json (sub add)
    const char *owner; //  --owner O (sub list)
    const char *sub;   //  --sub ID (dlq list)
    const char *after; //  --after POS (live)
    int status;        //  --status S (deliveries): a Delivery.Status, 0 for all
    uint32_t limit;    //  --limit N (deliveries): 1..500, default 100; 0 for every page
    uint32_t count;    //  --count N (live): 1..1000; 0 for the service's default
    bool json;         //  --json
} cpecctl_notify_args_t;

//  Parses the arguments (after the command's words) of the notify command
//  named as in the usage ("notify sub add", "notify deliveries", ...): 0 with
//  *args set, or CPECCTL_EXIT_USAGE after printing the error.
int cpecctl_notify_parse (const char *command, int argc, char *argv[], cpecctl_notify_args_t *args);

//  Reads F.json, a cpec.v1.Subscription in JSON, for sub add: a new message
//  (free with cpec_pb_destroy) that is active unless the file says
//  "active": false. The channel is required, with url for WEBHOOK and email
//  for EMAIL. NULL after reporting the error.
Cpec__V1__Subscription *cpecctl_notify_load_subscription (const char *command, const char *path);

//  A subscription as "field: value" lines. A secret (only Create answers
//  one) is printed with a note that it is shown once.
char *cpecctl_notify_subscription_text (const Cpec__V1__Subscription *subscription);

//  Subscriptions (Cpec__V1__Subscription) as an aligned table, one line each:
//  ID CHANNEL TARGET LANG DIGEST ACTIVE FILTERS.
char *cpecctl_notify_subscriptions_table (ProtobufCMessage **rows, size_t count);

//  Deliveries (Cpec__V1__Delivery) as an aligned table, one line each:
//  ID [SUBSCRIPTION] EVENT-TYPE STATUS ATTEMPTS CODE LATENCY LAST-ERROR, the
//  code and latency of the last attempt.
char *cpecctl_notify_deliveries_table (ProtobufCMessage **rows, size_t count,
                                       bool with_subscription);

//  The answer of Test: delivered, delivery_id, status_code, latency_ms, error.
char *cpecctl_notify_test_text (const Cpec__V1__TestSubscriptionResponse *answer);

//  The answer of ReadLive: POSITION DELIVERY EVENT-TYPE ZONE lines (none
//  when empty), then "next: POS".
char *cpecctl_notify_live_text (const Cpec__V1__ReadLiveResponse *answer);

//  The text renderers of match.c: no service, no clock, no environment, so
//  they are unit-tested (tests/unit/test_cpecctl_match.c). The texts are
//  UTF-8 as the service sent it, lines ending in newline, "-" for an empty
//  field; tables align on terminal columns (a Chinese character takes two).
//  The caller frees them.

//  A profile as "field: value" lines (ent get): each sector with its ISIC
//  title, lists joined by ", ", the enums by their proto names.
char *cpecctl_ent_text (const Cpec__V1__Enterprise *enterprise);

//  Profiles (Cpec__V1__Enterprise) as an aligned table, one line each:
//  ID COUNTRY PROVINCE EMPLOYEES SECTORS NAME.
char *cpecctl_ent_table (ProtobufCMessage **rows, size_t count);

//  The answer of TopMatches, best first: a table # SCORE ID NAME COUNTRY
//  PROVINCE with each result's reasons under its row, indented, then
//  "scored N profiles"; "no matches" instead of the table when empty.
char *cpecctl_match_top_table (const Cpec__V1__TopMatchesResponse *answer);

//  The answer of RecommendZones: a table # SCORE ZONE PROVINCE OPERATION
//  NAME (OPERATION: the forecast commercial operation date) with each
//  zone's reasons under its row, then "excluded:" and one "  zone: why"
//  line per zone left out.
char *cpecctl_match_zones_table (const Cpec__V1__RecommendZonesResponse *answer);

//  A match as "field: value" lines (match get), its history one step a line.
char *cpecctl_match_text (const Cpec__V1__Match *match);

//  Matches (Cpec__V1__Match) as an aligned table, one line each:
//  ID STATE SCORE ENTERPRISE-A ENTERPRISE-B ZONE PROVINCE SECTOR.
char *cpecctl_match_table (ProtobufCMessage **rows, size_t count);

//  The funnel report as one aligned table in three parts, the rows per zone,
//  per province and per sector, each under its own header line (ZONE,
//  PROVINCE, SECTOR, then one column per Match.State in funnel order, then
//  TOTAL; a key "" is "-"), then the "total" row; blank lines between.
char *cpecctl_match_funnel_table (const Cpec__V1__FunnelReportResponse *report);

//  The 9 CPEC zones (data/sezs.json) and the fast-track zones' milestones
//  (data/milestones.json) embedded at build time.
extern const char cpec_data_sezs[];
extern const char cpec_data_milestones[];

//  token.c: the HTTP API's bearer tokens
int cpecctl_token_create (cpecctl_t *self, int argc, char *argv[]);
int cpecctl_token_revoke (cpecctl_t *self, int argc, char *argv[]);

//  ---------------------------------------------------------------------------
//  Texts and aligned columns (text.c), for the renderers

//  A text being written into memory (open_memstream).
typedef struct
{
    FILE *out;   //  where the renderers write
    char *data;  //  the text, once closed
    size_t size; //  its length
} cpecctl_text_t;

//  Opens the stream of a text (aborts when out of memory, as cpec_realloc).
FILE *cpecctl_text_begin (cpecctl_text_t *self);

//  Closes the stream; the text is the caller's to free.
char *cpecctl_text_end (cpecctl_text_t *self);

//  Prints a rendered text on stdout and frees it.
void cpecctl_put (char *text);

//  The terminal columns a UTF-8 text takes: none for a combining or
//  invisible mark, two for an East Asian wide character, else one (a byte
//  that is not part of a valid sequence counts as one).
size_t cpecctl_text_width (const char *text);

#define CPECCTL_GRID_COLUMNS_MAX 16

//  Rows of cells written with each column as wide as its widest cell, two
//  spaces apart; a left-aligned last column is not padded. A row may carry
//  lines printed under it as they are (they do not count for the widths).
typedef struct
{
    size_t columns; //  cells per row (at most CPECCTL_GRID_COLUMNS_MAX)
    unsigned right; //  bit i set: column i is right-aligned (numbers)
    char **cells;   //  the cells so far, row by row (owned)
    size_t count;   //  cells held
    char **under;   //  per row: the lines under it, or NULL (owned)
} cpecctl_grid_t;

//  Appends the next cell, printf-formatted. A control character (a newline
//  in an error, say) becomes a space: one row stays one line.
void cpecctl_grid_cell (cpecctl_grid_t *self, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Sets the lines under the last row (text, each line ending in newline;
//  taken over).
void cpecctl_grid_under (cpecctl_grid_t *self, char *text);

//  Writes the rows to out and frees the cells.
void cpecctl_grid_write (cpecctl_grid_t *self, FILE *out);

#endif
