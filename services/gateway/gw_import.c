/*  gw_import - POST /v1/import/milestones: a CSV file as a provincial SEZ
    authority keeps it (gw_csv.h), applied row by row.

    A malformed file or header refuses the whole upload and writes nothing.
    Otherwise each row is checked, and each valid row is one Milestones.Create
    (atomic by itself: the row is written whole or not at all), in file
    order so that a row may name an earlier row as its predecessor. The
    answer reports every row: created (with its id and version), invalid (the
    column and why), duplicate (of which row), or refused by the service (its
    code and message). Each row's call has a request id derived from the
    upload's (the Idempotency-Key's when given), so a retried upload
    creates nothing twice even when the first attempt died half way.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "gw_csv.h"
#include "gw_private.h"

#define S_ROWS_MAX 10000

//  One valid row through Milestones.Create: its report.
static json_t *
s_create (gw_request_t *request, const char *call_id, size_t row, json_t *milestone, int *created)
{
    char error[256] = "";
    json_t *input = json_pack ("{s:O}", "milestone", milestone);
    ProtobufCMessage *message = cpec_json_to_message (
        &cpec__v1__create_milestone_request__descriptor, input, error, sizeof (error));
    json_decref (input);
    if (!message) {
        gw_utf8_clean (error);
        return json_pack ("{s:s, s:s, s:s}", "result", "invalid", "code", "INVALID_ARGUMENT",
                          "message", error);
    }
    char row_id[GW_REQUEST_ID_MAX + 24];
    snprintf (row_id, sizeof (row_id), "%s:row%zu", call_id, row + 1);
    cpec_client_t *client = gw_client (request);
    ProtobufCMessage *output = NULL;
    cpec_status_t status;
    int rc = client ? cpec_client_call (client, &cpec__v1__milestones__descriptor, "Create", row_id,
                                        message, &output, gw_timeout_ms (request->server), &status)
                    : cpec_status_set (&status, CPEC_UNAVAILABLE, "no connection to the broker");
    cpec_pb_destroy (&message);
    json_t *report = NULL;
    const Cpec__V1__Milestone *made = (const Cpec__V1__Milestone *)output;
    if (rc == CPEC_OK) {
        report = json_pack ("{s:s, s:s, s:i}", "result", "created", "id", made->id, "version",
                            (int)made->version);
        (*created)++;
    } else {
        gw_utf8_clean (status.message); //  a service may cut a name in a character
        report = json_pack ("{s:s, s:s, s:s}", "result", "refused", "code", cpec_code_name (rc),
                            "message", status.message);
    }
    const char *target =
        rc == CPEC_OK ? made->id : json_string_value (json_object_get (milestone, "id"));
    gw_audit_write (request, "Milestones.Create", target, 0, rc == CPEC_OK ? made->version : 0,
                    rc == CPEC_OK ? 201 : (unsigned int)cpec_code_http (rc), rc,
                    rc == CPEC_OK ? "row created by an import" : status.message);
    cpec_pb_destroy (&output);
    return report;
}

int
gw_import_milestones (gw_request_t *request, const char *call_id, gw_answer_t *answer)
{
    char error[GW_CSV_ERROR_MAX] = "";
    gw_csv_t *csv = gw_csv_parse (request->body ? request->body : "", request->size, S_ROWS_MAX,
                                  error, sizeof (error));
    if (!csv || gw_csv_check_header (csv, error, sizeof (error)) != 0) {
        gw_csv_destroy (&csv);
        gw_answer_error (answer, request, CPEC_INVALID_ARGUMENT, "the file is refused: %s", error);
        gw_audit_write (request, "Milestones.Create", NULL, 0, 0, answer->status,
                        CPEC_INVALID_ARGUMENT, "import refused whole: nothing written");
        return CPEC_INVALID_ARGUMENT;
    }
    json_t *rows = json_array ();
    int created = 0, invalid = 0, duplicates = 0, refused = 0;
    for (size_t row = 0; row < gw_csv_rows (csv); row++) {
        json_t *report = NULL;
        json_t *milestone = NULL;
        size_t first = 0;
        if (gw_csv_milestone (csv, row, &milestone, error, sizeof (error)) != 0) {
            gw_utf8_clean (error);
            report = json_pack ("{s:s, s:s, s:s}", "result", "invalid", "code", "INVALID_ARGUMENT",
                                "message", error);
        } else if (gw_csv_duplicate (csv, row, &first)) {
            report = json_pack ("{s:s, s:I, s:s}", "result", "duplicate", "of_row",
                                (json_int_t)(first + 1), "message",
                                "the same milestone as an earlier row: not applied twice");
        } else
            report = s_create (request, call_id, row, milestone, &created);
        json_decref (milestone);
        if (!report) //  only when out of memory
            report = json_pack ("{s:s, s:s, s:s}", "result", "refused", "code", "INTERNAL",
                                "message", "the row's report could not be made");
        if (row % 50 == 49)
            gw_idem_touch (request); //  a long upload keeps its Idempotency-Key
        const char *result = json_string_value (json_object_get (report, "result"));
        if (strcmp (result, "invalid") == 0)
            invalid++;
        else if (strcmp (result, "duplicate") == 0)
            duplicates++;
        else if (strcmp (result, "refused") == 0)
            refused++;
        json_object_set_new (report, "row", json_integer ((json_int_t)(row + 1)));
        json_object_set_new (report, "line", json_integer ((json_int_t)gw_csv_line (csv, row)));
        json_array_append_new (rows, report);
    }
    gw_csv_destroy (&csv);
    return gw_answer_json (answer, 200,
                           json_pack ("{s:i, s:i, s:i, s:i, s:o}", "created", created, "invalid",
                                      invalid, "duplicates", duplicates, "refused", refused, "rows",
                                      rows));
}
