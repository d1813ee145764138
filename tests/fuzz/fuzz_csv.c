/*  fuzz_csv - libFuzzer target of the CSV import of milestones
    (services/gateway/gw_csv.c).

    Each input is parsed as it is, then again after a valid header line (so
    that mutations reach the rows). Checked: a refusal has a message; the
    table written back as CSV (every field quoted) parses to the same
    fields; rows' lines ascend; every row either maps to JSON that decodes
    as a cpec.v1.Milestone, or is refused with a message; a duplicate names
    an earlier row that maps. Built and run by tests/fuzz/run.
*/
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "gw_csv.h"

#define S_MAX_ROWS 200

static void
s_die (const char *what, const char *detail, const uint8_t *data, size_t size)
{
    fprintf (stderr, "fuzz_csv: %s%s%s\ninput (%zu bytes): %.*s\n", what, detail ? ": " : "",
             detail ? detail : "", size, (int)(size < 2000 ? size : 2000), (const char *)data);
    abort ();
}

typedef struct
{
    char *data;
    size_t size;
    size_t room;
} s_text_t;

static void
s_put (s_text_t *text, const char *bytes, size_t size)
{
    if (text->size + size > text->room) {
        text->room = (text->size + size) * 2 + 64;
        text->data = (char *)realloc (text->data, text->room);
        if (!text->data)
            abort ();
    }
    memcpy (text->data + text->size, bytes, size);
    text->size += size;
}

static void
s_put_quoted (s_text_t *text, const char *field)
{
    s_put (text, "\"", 1);
    for (const char *p = field; *p; p++) {
        s_put (text, p, 1);
        if (*p == '"')
            s_put (text, p, 1);
    }
    s_put (text, "\"", 1);
}

//  The table written back as CSV, every field quoted, parses the same.
static void
s_check_rewrite (gw_csv_t *csv, const uint8_t *data, size_t size)
{
    s_text_t text = {NULL, 0, 0};
    for (size_t c = 0; c < gw_csv_columns (csv); c++) {
        if (c)
            s_put (&text, ",", 1);
        s_put_quoted (&text, gw_csv_header (csv, c));
    }
    s_put (&text, "\r\n", 2);
    for (size_t r = 0; r < gw_csv_rows (csv); r++) {
        for (size_t c = 0; c < gw_csv_fields (csv, r); c++) {
            if (c)
                s_put (&text, ",", 1);
            s_put_quoted (&text, gw_csv_field (csv, r, c));
        }
        s_put (&text, "\n", 1);
    }
    char error[GW_CSV_ERROR_MAX];
    gw_csv_t *again = gw_csv_parse (text.data, text.size, 0, error, sizeof (error));
    if (!again)
        s_die ("the table written back was refused", error, data, size);
    if (gw_csv_columns (again) != gw_csv_columns (csv) || gw_csv_rows (again) != gw_csv_rows (csv))
        s_die ("the table written back has another shape", NULL, data, size);
    for (size_t c = 0; c < gw_csv_columns (csv); c++)
        if (strcmp (gw_csv_header (again, c), gw_csv_header (csv, c)) != 0)
            s_die ("the table written back has another header", NULL, data, size);
    for (size_t r = 0; r < gw_csv_rows (csv); r++) {
        if (gw_csv_fields (again, r) != gw_csv_fields (csv, r))
            s_die ("the table written back has a row of another length", NULL, data, size);
        for (size_t c = 0; c < gw_csv_fields (csv, r); c++)
            if (strcmp (gw_csv_field (again, r, c), gw_csv_field (csv, r, c)) != 0)
                s_die ("the table written back has another field", NULL, data, size);
    }
    gw_csv_destroy (&again);
    free (text.data);
}

static void
s_check (const char *text, size_t text_size, const uint8_t *data, size_t size)
{
    char error[GW_CSV_ERROR_MAX] = "";
    gw_csv_t *csv = gw_csv_parse (text, text_size, S_MAX_ROWS, error, sizeof (error));
    if (!csv) {
        if (strncmp (error, "line ", 5) != 0)
            s_die ("a refusal that names no line", error, data, size);
        return;
    }
    if (gw_csv_rows (csv) > S_MAX_ROWS || gw_csv_columns (csv) == 0)
        s_die ("rows or columns out of bounds", NULL, data, size);
    for (size_t c = 0; c < gw_csv_columns (csv); c++) {
        const char *name = gw_csv_header (csv, c);
        if (!name || !*name || strchr (" \t\r\n", name[0]) ||
            strchr (" \t\r\n", name[strlen (name) - 1]))
            s_die ("a header name empty or not trimmed", name, data, size);
    }
    size_t line = 0;
    for (size_t r = 0; r < gw_csv_rows (csv); r++) {
        if (gw_csv_line (csv, r) <= line)
            s_die ("rows' lines do not ascend", NULL, data, size);
        line = gw_csv_line (csv, r);
        if (gw_csv_fields (csv, r) == 0 || !gw_csv_field (csv, r, gw_csv_fields (csv, r) - 1) ||
            gw_csv_field (csv, r, gw_csv_fields (csv, r)))
            s_die ("a row's fields and its count disagree", NULL, data, size);
        for (size_t c = 0; c < gw_csv_fields (csv, r); c++)
            if (strlen (gw_csv_field (csv, r, c)) > GW_CSV_FIELD_MAX)
                s_die ("a field over the limit", NULL, data, size);
    }
    s_check_rewrite (csv, data, size);

    bool header_good = gw_csv_check_header (csv, error, sizeof (error)) == 0;
    if (!header_good && !*error)
        s_die ("a header refused without a message", NULL, data, size);
    bool *maps = (bool *)calloc (gw_csv_rows (csv) + 1, sizeof (bool));
    for (size_t r = 0; r < gw_csv_rows (csv); r++) {
        json_t *milestone = NULL;
        error[0] = '\0';
        if (gw_csv_milestone (csv, r, &milestone, error, sizeof (error))) {
            if (milestone || !*error)
                s_die ("a row refused without a message, or with a value", NULL, data, size);
            continue;
        }
        if (!header_good)
            s_die ("a row mapped under a refused header", NULL, data, size);
        maps[r] = true;
        //  What the handler sends: the milestone must decode
        ProtobufCMessage *message = cpec_json_to_message (&cpec__v1__milestone__descriptor,
                                                          milestone, error, sizeof (error));
        if (!message) {
            char *json = json_dumps (milestone, JSON_COMPACT);
            fprintf (stderr, "milestone: %s\n", json ? json : "?");
            s_die ("a mapped row does not decode", error, data, size);
        }
        Cpec__V1__Milestone *decoded = (Cpec__V1__Milestone *)message;
        if (!decoded->zone_id || !*decoded->zone_id || !decoded->title || !*decoded->title ||
            !decoded->planned_due || decoded->percent_complete > 100)
            s_die ("a mapped row lacks a required field", NULL, data, size);
        cpec_pb_destroy (&message);
        json_decref (milestone);
    }
    for (size_t r = 0; r < gw_csv_rows (csv); r++) {
        size_t first = SIZE_MAX;
        if (gw_csv_duplicate (csv, r, &first)) {
            if (first >= r || !maps[first])
                s_die ("a duplicate of a later row or of a row that does not map", NULL, data,
                       size);
        } else if (first != SIZE_MAX)
            s_die ("first_row set for a row that is no duplicate", NULL, data, size);
    }
    free (maps);
    gw_csv_destroy (&csv);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_check ((const char *)data, size, data, size);
    static const char header[] = "id,zone_id,title,title_zh,title_ur,kind,agency,planned_due,"
                                 "status,percent_complete,predecessors\r\n";
    size_t length = sizeof (header) - 1;
    char *text = (char *)malloc (length + size + 1);
    memcpy (text, header, length);
    if (size)
        memcpy (text + length, data, size);
    s_check (text, length + size, data, size);
    free (text);
    return 0;
}
