/*  cpecctl - helpers shared by the commands: argument parsing, the broker
    client and the calls to any service, JSON files, the pager, and formatting.
*/
#include "cpecctl.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpec_json.h"
#include "cpec_pb.h"

int
cpecctl_usage_error (const char *command, const char *format, ...)
{
    fprintf (stderr, "cpecctl%s%s: ", command ? " " : "", command ? command : "");
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\nTry 'cpecctl%s%s --help'.\n", command ? " " : "", command ? command : "");
    return CPECCTL_EXIT_USAGE;
}

int
cpecctl_input_error (const char *command, const char *format, ...)
{
    fprintf (stderr, "cpecctl %s: ", command);
    va_list args;
    va_start (args, format);
    vfprintf (stderr, format, args);
    va_end (args);
    fprintf (stderr, "\n");
    return CPECCTL_EXIT_USAGE;
}

//  The option named by arg ("--file" or "--file=x"), or NULL.
static const cpecctl_option_t *
s_find_option (const cpecctl_option_t *options, const char *arg, size_t length)
{
    for (const cpecctl_option_t *option = options; option && option->name; option++)
        if (strlen (option->name) == length && strncmp (option->name, arg, length) == 0)
            return option;
    return NULL;
}

int
cpecctl_parse (const char *command, int argc, char *argv[], const cpecctl_option_t *options,
               const char **positional, int positional_count, const char *positional_names)
{
    assert (command);
    int seen = 0;
    bool options_done = false;
    for (int index = 0; index < argc; index++) {
        const char *arg = argv[index];
        if (!options_done && strcmp (arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            const char *equals = strchr (arg, '=');
            size_t length = equals ? (size_t)(equals - arg) : strlen (arg);
            const cpecctl_option_t *option = s_find_option (options, arg, length);
            if (option == NULL)
                return cpecctl_usage_error (command, "unknown option '%.*s'", (int)length, arg);
            if (option->flag) {
                if (equals)
                    return cpecctl_usage_error (command, "option '%s' takes no value",
                                                option->name);
                *option->flag = true;
            } else {
                assert (option->value);
                if (equals)
                    *option->value = equals + 1;
                else if (index + 1 < argc)
                    *option->value = argv[++index];
                else
                    return cpecctl_usage_error (command, "option '%s' needs a value", option->name);
            }
            continue;
        }
        if (seen >= positional_count)
            return cpecctl_usage_error (command, "unexpected argument '%s'", arg);
        positional[seen++] = arg;
    }
    if (seen < positional_count)
        return cpecctl_usage_error (command, "missing %s",
                                    positional_names ? positional_names : "argument");
    return 0;
}

int
cpecctl_parse_one (const char *command, int argc, char *argv[], const cpecctl_option_t *options,
                   const char **value, const char *name)
{
    if (cpecctl_parse (command, argc, argv, options, value, 1, name))
        return CPECCTL_EXIT_USAGE;
    if (**value == '\0')
        return cpecctl_usage_error (command, "%s must not be empty", name);
    return 0;
}

cpec_client_t *
cpecctl_client_or_report (cpecctl_t *self)
{
    assert (self);
    if (self->client)
        return self->client;

    const char *role_name = cpec_config_get (self->config, "CPEC_ROLE");
    const char *province = cpec_config_get (self->config, "CPEC_PROVINCE");
    const ProtobufCEnumValue *role = protobuf_c_enum_descriptor_get_value_by_name (
        &cpec__v1__principal__role__descriptor, role_name);
    if (role == NULL || role->value == CPEC__V1__PRINCIPAL__ROLE__ROLE_UNSPECIFIED ||
        role->value == CPEC__V1__PRINCIPAL__ROLE__SERVICE) {
        fprintf (stderr,
                 "cpecctl: CPEC_ROLE must be ADMIN, PROVINCE, ENTERPRISE or VIEWER, not '%s'\n",
                 role_name);
        return NULL;
    }
    if (role->value == CPEC__V1__PRINCIPAL__ROLE__PROVINCE && *province == '\0') {
        fprintf (stderr, "cpecctl: CPEC_ROLE=PROVINCE needs CPEC_PROVINCE (e.g. PK-KP)\n");
        return NULL;
    }
    const char *broker = cpec_config_get (self->config, "CPEC_BROKER");
    self->client = cpec_client_new (broker);
    if (self->client == NULL) {
        fprintf (stderr, "cpecctl: invalid CPEC_BROKER endpoint '%s'\n", broker);
        return NULL;
    }
    cpec_client_set_principal (self->client, cpec_config_get (self->config, "CPEC_PRINCIPAL"),
                               role->value, province);
    return self->client;
}

int
cpecctl_call (cpecctl_t *self, const ProtobufCServiceDescriptor *service, const char *method,
              const char *request_id, const ProtobufCMessage *input, ProtobufCMessage **output,
              cpec_status_t *status)
{
    assert (self);
    assert (self->client); //  cpecctl_client_or_report comes first
    *output = NULL;
    return cpec_client_call (self->client, service, method, request_id, input, output,
                             self->timeout_ms, status);
}

int
cpecctl_report_status (const cpec_status_t *status)
{
    assert (status);
    fprintf (stderr, "%s: %s\n", cpec_code_name (status->code), status->message);
    return CPECCTL_EXIT_ERROR;
}

json_t *
cpecctl_load_json_or_report (const char *command, const char *path, bool object_only)
{
    json_error_t error;
    json_t *json = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (json == NULL) {
        if (error.line > 0)
            cpecctl_input_error (command, "%s:%d:%d: %s", path, error.line, error.column,
                                 error.text);
        else
            cpecctl_input_error (command, "%s: %s", path, error.text);
        return NULL;
    }
    if (object_only && !json_is_object (json)) {
        cpecctl_input_error (command, "%s: expected a JSON object", path);
        json_decref (json);
        return NULL;
    }
    return json;
}

ProtobufCMessage *
cpecctl_decode_or_report (const char *command, const char *origin,
                          const ProtobufCMessageDescriptor *descriptor, json_t *json)
{
    char error[512] = "";
    ProtobufCMessage *message = cpec_json_to_message (descriptor, json, error, sizeof (error));
    if (message == NULL)
        cpecctl_input_error (command, "%s: %s", origin, *error ? error : "invalid input");
    return message;
}

ProtobufCMessage *
cpecctl_load_message_or_report (const char *command, const char *path,
                                const ProtobufCMessageDescriptor *descriptor, json_t **json_p)
{
    json_t *json = cpecctl_load_json_or_report (command, path, true);
    if (json == NULL)
        return NULL;
    ProtobufCMessage *message = cpecctl_decode_or_report (command, path, descriptor, json);
    if (message && json_p)
        *json_p = json;
    else
        json_decref (json);
    return message;
}

int
cpecctl_parse_uint32 (const char *text, uint32_t minimum, uint32_t *value)
{
    if (text[0] < '0' || text[0] > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long number = strtoull (text, &end, 10);
    if (errno || *end != '\0' || number < minimum || number > UINT32_MAX)
        return -1;
    *value = (uint32_t)number;
    return 0;
}

int
cpecctl_parse_date (const char *text, int64_t *unix_ms)
{
    return text && *text ? cpec_json_parse_time (text, unix_ms) : -1;
}

int
cpecctl_parse_enum (const char *command, const char *option,
                    const ProtobufCEnumDescriptor *descriptor, const char *text, int *value)
{
    const ProtobufCEnumValue *found =
        protobuf_c_enum_descriptor_get_value_by_name (descriptor, text);
    if (found && found->value != 0) {
        *value = found->value;
        return 0;
    }
    //  Every name but the zero value's, in the proto's order: "A, B or C".
    char names[1024] = "";
    size_t length = 0;
    for (unsigned index = 0; index < descriptor->n_values && length < sizeof (names); index++) {
        const ProtobufCEnumValue *each = &descriptor->values[index];
        if (each->value == 0)
            continue;
        bool last = index + 1 == descriptor->n_values;
        int written = snprintf (names + length, sizeof (names) - length, "%s%s",
                                length == 0 ? ""
                                : last      ? " or "
                                            : ", ",
                                each->name);
        length += written > 0 ? (size_t)written : 0;
    }
    return cpecctl_usage_error (command, "unknown %s '%s' (%s)", option, text, names);
}

void
cpecctl_print_json (const ProtobufCMessage *message)
{
    char *text = cpec_json_encode (message, CPEC_JSON_DEFAULTS | CPEC_JSON_PRETTY);
    if (text)
        puts (text);
    free (text);
}

void
cpecctl_print_json_value (json_t *json)
{
    char *text = json_dumps (json, JSON_INDENT (2));
    if (text)
        puts (text);
    free (text);
}

void
cpecctl_print_json_array (ProtobufCMessage **messages, size_t count)
{
    json_t *array = json_array ();
    for (size_t index = 0; index < count; index++)
        json_array_append_new (array, cpec_json_from_message (messages[index], CPEC_JSON_DEFAULTS));
    cpecctl_print_json_value (array);
    json_decref (array);
}

void
cpecctl_print_audit (const char *name, const Cpec__V1__Audit *audit)
{
    char at[40];
    if (audit == NULL)
        printf ("%s: -\n", name);
    else
        printf ("%s: %s by %s\n", name, cpecctl_format_timestamp (audit->at, at, sizeof (at)),
                cpecctl_text (audit->by));
}

const char *
cpecctl_format_timestamp (const Google__Protobuf__Timestamp *timestamp, char *buf, size_t size)
{
    if (timestamp == NULL)
        snprintf (buf, size, "-");
    else
        cpec_json_format_time (cpec_pb_timestamp_ms (timestamp), buf, size);
    return buf;
}

const char *
cpecctl_format_day (int64_t unix_ms, char *buf, size_t size)
{
    //  Floor division: a time before 1970 still falls on its own day.
    int64_t seconds = unix_ms / 1000 - (unix_ms % 1000 < 0);
    time_t time = (time_t)seconds;
    struct tm tm;
    if (gmtime_r (&time, &tm) == NULL)
        snprintf (buf, size, "-");
    else
        snprintf (buf, size, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return buf;
}

const char *
cpecctl_format_date (const Google__Protobuf__Timestamp *timestamp, char *buf, size_t size)
{
    if (timestamp == NULL) {
        snprintf (buf, size, "-");
        return buf;
    }
    return cpecctl_format_day (cpec_pb_timestamp_ms (timestamp), buf, size);
}

const char *
cpecctl_format_number (double value, char *buf, size_t size)
{
    snprintf (buf, size, "%.2f", value);
    char *dot = strchr (buf, '.');
    if (dot) {
        char *end = buf + strlen (buf) - 1;
        while (end > dot && *end == '0')
            *end-- = '\0';
        if (end == dot)
            *end = '\0';
    }
    return buf;
}

const char *
cpecctl_format_double_value (const Google__Protobuf__DoubleValue *value, char *buf, size_t size)
{
    if (value == NULL) {
        snprintf (buf, size, "-");
        return buf;
    }
    return cpecctl_format_number (value->value, buf, size);
}

const char *
cpecctl_enum_name (const ProtobufCEnumDescriptor *descriptor, int value, const char *unknown)
{
    const ProtobufCEnumValue *found = protobuf_c_enum_descriptor_get_value (descriptor, value);
    return found ? found->name : unknown;
}

const char *
cpecctl_status_name (int status)
{
    return cpecctl_enum_name (&cpec__v1__sez__status__descriptor, status, "STATUS_UNKNOWN");
}

const char *
cpecctl_text (const char *value)
{
    return value && *value ? value : "-";
}

void
cpecctl_listing_destroy (cpecctl_listing_t *self)
{
    for (size_t index = 0; index < self->n_pages; index++)
        cpec_pb_destroy (&self->pages[index]);
    free (self->pages);
    free (self->rows);
    memset (self, 0, sizeof (*self));
}

int
cpecctl_list_all (cpecctl_t *self, const ProtobufCServiceDescriptor *service, const char *method,
                  ProtobufCMessage *request, const char *rows_field, cpecctl_listing_t *listing)
{
    const ProtobufCMethodDescriptor *method_descriptor =
        protobuf_c_service_descriptor_get_method_by_name (service, method);
    assert (method_descriptor && method_descriptor->input == request->descriptor);
    const ProtobufCMessageDescriptor *reply_descriptor = method_descriptor->output;
    const ProtobufCFieldDescriptor *cursor_field =
        protobuf_c_message_descriptor_get_field_by_name (request->descriptor, "cursor");
    const ProtobufCFieldDescriptor *next_field =
        protobuf_c_message_descriptor_get_field_by_name (reply_descriptor, "next_cursor");
    const ProtobufCFieldDescriptor *rows =
        protobuf_c_message_descriptor_get_field_by_name (reply_descriptor, rows_field);
    assert (cursor_field && cursor_field->type == PROTOBUF_C_TYPE_STRING);
    assert (next_field && next_field->type == PROTOBUF_C_TYPE_STRING);
    assert (rows && rows->label == PROTOBUF_C_LABEL_REPEATED);

    char **cursor = (char **)((char *)request + cursor_field->offset);
    char *first_cursor = *cursor;
    memset (listing, 0, sizeof (*listing));
    int rc = 0;
    while (true) {
        ProtobufCMessage *page = NULL;
        cpec_status_t status;
        if (cpecctl_call (self, service, method, NULL, request, &page, &status) != CPEC_OK) {
            rc = cpecctl_report_status (&status);
            break;
        }
        assert (page->descriptor == reply_descriptor);
        listing->pages = cpec_realloc (listing->pages, (listing->n_pages + 1) * sizeof (page));
        listing->pages[listing->n_pages++] = page;

        size_t n_page_rows = *(size_t *)((char *)page + rows->quantifier_offset);
        void *page_rows; //  the page's array of row pointers
        memcpy (&page_rows, (char *)page + rows->offset, sizeof (page_rows));
        if (n_page_rows) {
            listing->rows =
                cpec_realloc (listing->rows, (listing->n_rows + n_page_rows) * sizeof (page));
            memcpy (listing->rows + listing->n_rows, page_rows, n_page_rows * sizeof (page));
            listing->n_rows += n_page_rows;
        }
        char *next = *(char **)((char *)page + next_field->offset);
        if (next == NULL || *next == '\0')
            break;
        if (strcmp (next, *cursor) == 0) {
            fprintf (stderr, "INTERNAL: %s returned the same cursor twice\n", method);
            rc = CPECCTL_EXIT_ERROR;
            break;
        }
        *cursor = next; //  borrowed from the page, which the listing keeps
    }
    *cursor = first_cursor;
    if (rc)
        cpecctl_listing_destroy (listing);
    return rc;
}

int
cpecctl_parse_file_command (const char *command, int argc, char *argv[],
                            const ProtobufCMessageDescriptor *descriptor, bool *json,
                            const char **path, ProtobufCMessage **message)
{
    const char *file = NULL;
    *json = false;
    *message = NULL;
    const cpecctl_option_t options[] = {{"--file", &file, NULL}, {"--json", NULL, json}, {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    if (file == NULL)
        return cpecctl_usage_error (command, "--file F.json is required");
    *path = file;
    *message = cpecctl_load_message_or_report (command, file, descriptor, NULL);
    return *message ? 0 : CPECCTL_EXIT_USAGE;
}

int
cpecctl_print_answer (ProtobufCMessage **answer_p, bool json,
                      void (*text) (const ProtobufCMessage *answer))
{
    if (json)
        cpecctl_print_json (*answer_p);
    else
        text (*answer_p);
    cpec_pb_destroy (answer_p);
    return CPECCTL_EXIT_OK;
}

int
cpecctl_call_or_report (cpecctl_t *self, const ProtobufCServiceDescriptor *service,
                        const char *method, const ProtobufCMessage *request,
                        ProtobufCMessage **answer)
{
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;
    cpec_status_t status;
    if (cpecctl_call (self, service, method, NULL, request, answer, &status) != CPEC_OK)
        return cpecctl_report_status (&status);
    return CPECCTL_EXIT_OK;
}

int
cpecctl_call_print (cpecctl_t *self, const ProtobufCServiceDescriptor *service, const char *method,
                    const ProtobufCMessage *request, bool json,
                    void (*text) (const ProtobufCMessage *answer))
{
    ProtobufCMessage *answer = NULL;
    int rc = cpecctl_call_or_report (self, service, method, request, &answer);
    return rc ? rc : cpecctl_print_answer (&answer, json, text);
}
