/*  test_gw_csv - the CSV import of milestones (services/gateway/gw_csv.c):
    RFC 4180 parsing and its refusals with their lines, the header against
    the Milestone fields, each cell rule with its error, duplicates, and the
    JSON of a row decoding as a CreateMilestoneRequest's milestone.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "gw_csv.h"

static gw_csv_t *
s_parse (const char *text, size_t max_rows, char *error, size_t size)
{
    return gw_csv_parse (text, strlen (text), max_rows, error, size);
}

//  Parses text that must parse; fails the test otherwise.
static gw_csv_t *
s_good (const char *text)
{
    char error[256];
    gw_csv_t *csv = s_parse (text, 0, error, sizeof (error));
    if (!csv)
        fail_msg ("refused: %s", error);
    return csv;
}

//  The error of text that must be refused.
//  A literal's bytes, NULs included
#define REFUSED(literal, max_rows, expected)                                                       \
    s_refused (literal, sizeof (literal) - 1, max_rows, expected)

static void
s_refused (const char *text, size_t size, size_t max_rows, const char *expected)
{
    char error[256] = "unchanged";
    gw_csv_t *csv = gw_csv_parse (text, size, max_rows, error, sizeof (error));
    if (csv)
        fail_msg ("accepted, expected \"%s\"", expected);
    assert_string_equal (error, expected);
}

//  Row 0's milestone as compact JSON text (sorted keys), or its error.
static char *
s_row_json (gw_csv_t *csv, size_t row)
{
    json_t *milestone = NULL;
    char error[GW_CSV_ERROR_MAX];
    if (gw_csv_milestone (csv, row, &milestone, error, sizeof (error))) {
        assert_null (milestone);
        size_t size = strlen (error) + 8;
        char *text = (char *)malloc (size);
        snprintf (text, size, "error %s", error);
        return text;
    }
    assert_non_null (milestone);
    char *text = json_dumps (milestone, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref (milestone);
    return text;
}

//  The mapping of a one-row file with the given header and row.
static void
s_expect_row (const char *header, const char *row, const char *expected)
{
    char text[2048];
    snprintf (text, sizeof (text), "%s\n%s\n", header, row);
    gw_csv_t *csv = s_good (text);
    assert_int_equal (gw_csv_rows (csv), 1);
    char *json = s_row_json (csv, 0);
    if (strcmp (json, expected) != 0)
        fail_msg ("row %s\n   got %s\nexpected %s", row, json, expected);
    free (json);
    gw_csv_destroy (&csv);
}

static const char *s_header = "zone_id,title,planned_due";

static void
test_good_file (void **state)
{
    (void)state;
    const char *text =
        "id,zone_id,title,title_zh,title_ur,kind,agency,planned_due,status,percent_complete,"
        "predecessors\n"
        "rsk-power,rashakai,Power to zero point,电力,بجلی,POWER,PESCO,2026-12-31,in_progress,40,\n"
        "rsk-ops,rashakai,Commercial operation,,,commercial operation,KPEZDMC,"
        "2027-06-30T10:00:00+05:00,NOT_STARTED,0,rsk-power+14; rsk-gas\n";
    gw_csv_t *csv = s_good (text);
    assert_int_equal (gw_csv_rows (csv), 2);
    assert_int_equal (gw_csv_columns (csv), 11);
    assert_string_equal (gw_csv_header (csv, 0), "id");
    assert_string_equal (gw_csv_header (csv, 10), "predecessors");
    assert_null (gw_csv_header (csv, 11));
    assert_int_equal (gw_csv_fields (csv, 0), 11);
    assert_string_equal (gw_csv_field (csv, 0, 3), "电力");
    assert_string_equal (gw_csv_field (csv, 0, 10), "");
    assert_string_equal (gw_csv_field (csv, 1, 10), "rsk-power+14; rsk-gas");
    assert_null (gw_csv_field (csv, 0, 11));
    assert_null (gw_csv_field (csv, 2, 0));
    assert_int_equal (gw_csv_line (csv, 0), 2);
    assert_int_equal (gw_csv_line (csv, 1), 3);
    assert_int_equal (gw_csv_line (csv, 2), 0);
    assert_int_equal (gw_csv_check_header (csv, NULL, 0), 0);

    char *json = s_row_json (csv, 0);
    assert_string_equal (json,
                         "{\"agency\":\"PESCO\",\"id\":\"rsk-power\",\"kind\":\"POWER\","
                         "\"percent_complete\":40,\"planned_due\":\"2026-12-31T00:00:00Z\","
                         "\"status\":\"IN_PROGRESS\",\"title\":\"Power to zero point\","
                         "\"title_ur\":\"بجلی\",\"title_zh\":\"电力\",\"zone_id\":\"rashakai\"}");
    free (json);
    json = s_row_json (csv, 1);
    assert_string_equal (
        json, "{\"agency\":\"KPEZDMC\",\"id\":\"rsk-ops\",\"kind\":\"COMMERCIAL_OPERATION\","
              "\"percent_complete\":0,\"planned_due\":\"2027-06-30T05:00:00Z\","
              "\"predecessors\":[{\"lag_days\":14,\"milestone_id\":\"rsk-power\"},"
              "{\"milestone_id\":\"rsk-gas\"}],\"status\":\"NOT_STARTED\","
              "\"title\":\"Commercial operation\",\"zone_id\":\"rashakai\"}");
    free (json);

    //  Each row decodes as a CreateMilestoneRequest's milestone
    for (size_t row = 0; row < 2; row++) {
        json_t *milestone = NULL;
        assert_int_equal (gw_csv_milestone (csv, row, &milestone, NULL, 0), 0);
        json_t *request = json_pack ("{s:o}", "milestone", milestone);
        char error[256] = "";
        Cpec__V1__CreateMilestoneRequest *decoded =
            (Cpec__V1__CreateMilestoneRequest *)cpec_json_to_message (
                &cpec__v1__create_milestone_request__descriptor, request, error, sizeof (error));
        if (!decoded)
            fail_msg ("row %zu: %s", row, error);
        Cpec__V1__Milestone *m = decoded->milestone;
        assert_non_null (m);
        assert_string_equal (m->zone_id, "rashakai");
        if (row == 0) {
            assert_string_equal (m->id, "rsk-power");
            assert_int_equal (m->kind, CPEC__V1__MILESTONE__KIND__POWER);
            assert_int_equal (m->status, CPEC__V1__MILESTONE__STATUS__IN_PROGRESS);
            assert_int_equal (m->percent_complete, 40);
            assert_int_equal (cpec_pb_timestamp_ms (m->planned_due), 1798675200000);
            assert_int_equal (m->n_predecessors, 0);
        } else {
            assert_int_equal (m->kind, CPEC__V1__MILESTONE__KIND__COMMERCIAL_OPERATION);
            assert_int_equal (cpec_pb_timestamp_ms (m->planned_due), 1814331600000);
            assert_int_equal (m->n_predecessors, 2);
            assert_string_equal (m->predecessors[0]->milestone_id, "rsk-power");
            assert_int_equal (m->predecessors[0]->lag_days, 14);
            assert_string_equal (m->predecessors[1]->milestone_id, "rsk-gas");
            assert_int_equal (m->predecessors[1]->lag_days, 0);
        }
        cpec_pb_destroy ((ProtobufCMessage **)&decoded);
        json_decref (request);
    }
    gw_csv_destroy (&csv);
    assert_null (csv);
    gw_csv_destroy (&csv);
}

static void
test_quoted (void **state)
{
    (void)state;
    const char *text = "zone_id,\"title\",planned_due\n"
                       "dhabeji,\"Roads, phase 1\",2026-01-01\n"
                       "dhabeji,\"Say \"\"ready\"\"\",2026-01-02\n"
                       "dhabeji,\"two\nlines\r\nand three\",2026-01-03\n"
                       "dhabeji,\"\",2026-01-04\n"
                       "dhabeji,  \"blanks around\"  ,2026-01-05\n"
                       "dhabeji,,\n";
    gw_csv_t *csv = s_good (text);
    assert_int_equal (gw_csv_rows (csv), 6);
    assert_string_equal (gw_csv_header (csv, 1), "title");
    assert_string_equal (gw_csv_field (csv, 0, 1), "Roads, phase 1");
    assert_string_equal (gw_csv_field (csv, 1, 1), "Say \"ready\"");
    assert_string_equal (gw_csv_field (csv, 2, 1), "two\nlines\r\nand three");
    assert_string_equal (gw_csv_field (csv, 2, 2), "2026-01-03");
    assert_string_equal (gw_csv_field (csv, 3, 1), "");
    assert_string_equal (gw_csv_field (csv, 4, 1), "blanks around");
    assert_int_equal (gw_csv_fields (csv, 5), 3);
    //  lines: the quoted line ends count
    assert_int_equal (gw_csv_line (csv, 0), 2);
    assert_int_equal (gw_csv_line (csv, 1), 3);
    assert_int_equal (gw_csv_line (csv, 2), 4);
    assert_int_equal (gw_csv_line (csv, 3), 7);
    assert_int_equal (gw_csv_line (csv, 4), 8);
    assert_int_equal (gw_csv_line (csv, 5), 9);
    char *json = s_row_json (csv, 3);
    assert_string_equal (json, "error title: required");
    free (json);
    json = s_row_json (csv, 1);
    assert_string_equal (json, "{\"planned_due\":\"2026-01-02T00:00:00Z\",\"title\":\"Say "
                               "\\\"ready\\\"\",\"zone_id\":\"dhabeji\"}");
    free (json);
    gw_csv_destroy (&csv);
}

static void
test_line_ends (void **state)
{
    (void)state;
    //  BOM, CRLF, no newline at the end, empty and blank lines skipped
    const char *text = "\xef\xbb\xbf"
                       "\r\n zone_id , title ,planned_due\r\n"
                       "\r\n"
                       "rashakai,Gas,2026-03-01\r\n"
                       ",,\r\n"
                       "  \r\n"
                       "rashakai,Water,2026-04-01";
    gw_csv_t *csv = s_good (text);
    assert_int_equal (gw_csv_columns (csv), 3);
    assert_string_equal (gw_csv_header (csv, 0), "zone_id");
    assert_string_equal (gw_csv_header (csv, 1), "title");
    assert_int_equal (gw_csv_rows (csv), 2);
    assert_string_equal (gw_csv_field (csv, 0, 2), "2026-03-01");
    assert_string_equal (gw_csv_field (csv, 1, 2), "2026-04-01");
    assert_int_equal (gw_csv_line (csv, 0), 4);
    assert_int_equal (gw_csv_line (csv, 1), 7);
    assert_int_equal (gw_csv_check_header (csv, NULL, 0), 0);
    gw_csv_destroy (&csv);

    //  LF only, and lone CR (old Mac)
    csv = s_good ("zone_id,title,planned_due\nbostan,A,2026-01-01\rbostan,B,2026-01-02\r");
    assert_int_equal (gw_csv_rows (csv), 2);
    assert_string_equal (gw_csv_field (csv, 1, 1), "B");
    assert_int_equal (gw_csv_line (csv, 1), 3);
    gw_csv_destroy (&csv);

    //  A header alone is a file of no rows
    csv = s_good ("zone_id,title,planned_due");
    assert_int_equal (gw_csv_rows (csv), 0);
    gw_csv_destroy (&csv);

    //  The text need not be NUL-terminated: only size bytes are read
    const char *longer = "zone_id,title,planned_due\nmirpur,X,2026-01-01GARBAGE\"";
    csv = gw_csv_parse (longer, strlen (longer) - 8, 0, NULL, 0);
    assert_non_null (csv);
    assert_string_equal (gw_csv_field (csv, 0, 2), "2026-01-01");
    gw_csv_destroy (&csv);
}

static void
test_refusals (void **state)
{
    (void)state;
    const char *bad_utf8 = "zone_id,title,planned_due\nrashakai,ok,2026-01-01\r\nrashakai,\xff,x\n";
    s_refused (bad_utf8, strlen (bad_utf8), 0, "line 3: invalid UTF-8");
    //  overlong, surrogate, truncated at the end
    REFUSED ("a\n\xc0\xaf", 0, "line 2: invalid UTF-8");
    REFUSED ("a\n\n\xed\xa0\x80", 0, "line 3: invalid UTF-8");
    REFUSED ("a,\xe4\xb8", 0, "line 1: invalid UTF-8");
    //  a NUL byte
    REFUSED ("a,b\nc\0d\n", 0, "line 2: NUL byte");
    //  UTF-16
    REFUSED ("\xff\xfez\0", 0, "line 1: the file is UTF-16; save it as UTF-8 CSV");

    //  an unterminated quote names the line where it opened
    const char *open = "zone_id,title,planned_due\na,b,c\n\nd,\"never\nclosed,2026-01-01\n";
    s_refused (open, strlen (open), 0, "line 4: unterminated quoted field");
    REFUSED ("\"", 0, "line 1: unterminated quoted field");
    REFUSED ("a,b\n\"x\"y,z\n", 0, "line 2: field 1: a character after the closing quote");
    REFUSED ("a,b\nx,ab\"c\"\n", 0,
             "line 2: field 2: a quote inside an unquoted field (quote the whole field and "
             "double the quote)");

    //  the header: needed, no empty or duplicate name
    REFUSED ("", 0, "line 1: no header line (the file is empty)");
    REFUSED ("\n\r\n , \n", 0, "line 4: no header line (the file is empty)");
    REFUSED ("zone_id,,title\n", 0, "line 1: column 2 has no name in the header");
    REFUSED ("\nzone_id, title,title \n", 0, "line 2: column \"title\" is named twice");

    //  too many rows (blank lines do not count)
    const char *three = "zone_id,title,planned_due\na,b,c\n\nd,e,f\ng,h,i\n";
    s_refused (three, strlen (three), 2, "line 5: more than 2 rows");
    char error[64];
    gw_csv_t *csv = gw_csv_parse (three, strlen (three), 3, error, sizeof (error));
    assert_non_null (csv);
    assert_int_equal (gw_csv_rows (csv), 3);
    gw_csv_destroy (&csv);

    //  a field of 4096 bytes passes, of 4097 is refused, quoted or not
    size_t size = 64 + 2 * GW_CSV_FIELD_MAX;
    char *text = (char *)malloc (size);
    for (int quoted = 0; quoted < 2; quoted++) {
        for (size_t length = GW_CSV_FIELD_MAX; length <= GW_CSV_FIELD_MAX + 1; length++) {
            size_t at = (size_t)snprintf (text, size, "zone_id,title\nx,%s", quoted ? "\"" : "");
            //  quoted: half of it as "" pairs
            for (size_t i = 0; i < length; i++)
                if (quoted && i % 2) {
                    text[at++] = '"';
                    text[at++] = '"';
                } else
                    text[at++] = 'a';
            if (quoted)
                text[at++] = '"';
            at += (size_t)snprintf (text + at, size - at, "\n");
            csv = gw_csv_parse (text, at, 0, error, sizeof (error));
            if (length == GW_CSV_FIELD_MAX) {
                assert_non_null (csv);
                assert_int_equal (strlen (gw_csv_field (csv, 0, 1)), GW_CSV_FIELD_MAX);
                gw_csv_destroy (&csv);
            } else {
                assert_null (csv);
                assert_string_equal (error, "line 2: field 2 is longer than 4096 bytes");
            }
        }
    }
    free (text);

    //  a short error buffer is cut, not overrun; NULL is fine
    char small[8];
    memset (small, 'x', sizeof (small));
    assert_null (gw_csv_parse ("\"", 1, 0, small, 5));
    assert_string_equal (small, "line");
    assert_int_equal (small[5], 'x');
    assert_null (gw_csv_parse ("\"", 1, 0, NULL, 0));
}

static void
s_header_refused (const char *header, const char *expected)
{
    char text[512];
    snprintf (text, sizeof (text), "%s\nrashakai,x,2026-01-01\n", header);
    gw_csv_t *csv = s_good (text);
    char error[512] = "";
    assert_int_equal (gw_csv_check_header (csv, error, sizeof (error)), -1);
    assert_string_equal (error, expected);
    //  and every row is refused with the same message, none a duplicate
    json_t *milestone = NULL;
    char row_error[512] = "";
    assert_int_equal (gw_csv_milestone (csv, 0, &milestone, row_error, sizeof (row_error)), -1);
    assert_null (milestone);
    assert_string_equal (row_error, expected);
    assert_false (gw_csv_duplicate (csv, 0, NULL));
    gw_csv_destroy (&csv);
}

static void
test_header (void **state)
{
    (void)state;
    s_header_refused ("zone_id,title,planned_due,budget",
                      "column \"budget\" is not a milestone field (the columns are id, zone_id, "
                      "title, title_zh, title_ur, kind, agency, planned_due, status, "
                      "percent_complete, predecessors)");
    s_header_refused ("zone_id,title", "column \"planned_due\" is required");
    s_header_refused ("title,planned_due", "column \"zone_id\" is required");
    s_header_refused ("zone_id,planned_due,kind", "column \"title\" is required");
    s_header_refused ("zone_id,title,planned_due,Title", "column \"title\" is given twice");
    //  names from Milestone that are not importable
    s_header_refused ("zone_id,title,planned_due,forecast_due",
                      "column \"forecast_due\" is not a milestone field (the columns are id, "
                      "zone_id, title, title_zh, title_ur, kind, agency, planned_due, status, "
                      "percent_complete, predecessors)");

    //  any case, any order
    gw_csv_t *csv = s_good ("Planned_Due,TITLE,zone_id\n2026-05-05,Roads,bostan\n");
    assert_int_equal (gw_csv_check_header (csv, NULL, 0), 0);
    char *json = s_row_json (csv, 0);
    assert_string_equal (
        json,
        "{\"planned_due\":\"2026-05-05T00:00:00Z\",\"title\":\"Roads\",\"zone_id\":\"bostan\"}");
    free (json);
    gw_csv_destroy (&csv);
}

static void
test_cells (void **state)
{
    (void)state;
    const char *due_jan = "\"planned_due\":\"2026-01-01T00:00:00Z\"";
    char expected[512];

    //  trimmed; inner spaces of titles kept; empty cells absent
    s_expect_row ("zone_id,title,planned_due,agency,title_zh",
                  "  rashakai ,\t Power  to   zero point  , 2026-01-01 ,,  ",
                  "{\"planned_due\":\"2026-01-01T00:00:00Z\",\"title\":\"Power  to   zero "
                  "point\",\"zone_id\":\"rashakai\"}");
    //  a short row: the missing cells are absent
    s_expect_row ("zone_id,title,planned_due,agency,kind", "rashakai,T,2026-01-01",
                  "{\"planned_due\":\"2026-01-01T00:00:00Z\",\"title\":\"T\",\"zone_id\":"
                  "\"rashakai\"}");
    //  required cells
    s_expect_row (s_header, ",T,2026-01-01", "error zone_id: required");
    s_expect_row (s_header, "rashakai, ,2026-01-01", "error title: required");
    s_expect_row (s_header, "rashakai,T", "error planned_due: required");
    //  a value past the header's columns; empty ones pass
    s_expect_row (s_header, "rashakai,T,2026-01-01,extra",
                  "error column 4: a value past the header's 3 columns (\"extra\")");
    snprintf (expected, sizeof (expected), "{%s,\"title\":\"T\",\"zone_id\":\"r\"}", due_jan);
    s_expect_row (s_header, "r,T,2026-01-01, ,", expected);

    //  planned_due
    struct
    {
        const char *cell;
        const char *due;
    } dues[] = {
        {"2026-12-31", "2026-12-31T00:00:00Z"},
        {"2026-12-31T00:00:00Z", "2026-12-31T00:00:00Z"},
        {"2026-12-31T05:00:00+05:00", "2026-12-31T00:00:00Z"},
        {"2026-12-31 10:30:00-02:00", "2026-12-31T12:30:00Z"},
        {"2024-02-29", "2024-02-29T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof (dues) / sizeof (dues[0]); i++) {
        char row[128];
        snprintf (row, sizeof (row), "r,T,%s", dues[i].cell);
        snprintf (expected, sizeof (expected),
                  "{\"planned_due\":\"%s\",\"title\":\"T\",\"zone_id\":\"r\"}", dues[i].due);
        s_expect_row (s_header, row, expected);
    }
    const char *bad_dues[] = {"2024-13-01",
                              "2023-02-29",
                              "31/12/2026",
                              "2026-12-31T10Z",
                              "2026-12-31T00:00:00",
                              "tomorrow",
                              "2026-1-1",
                              "0001-01-01T00:00:00+05:00",
                              "9999-12-31T23:00:00-01:00"};
    for (size_t i = 0; i < sizeof (bad_dues) / sizeof (bad_dues[0]); i++) {
        char row[128];
        snprintf (row, sizeof (row), "r,T,%s", bad_dues[i]);
        snprintf (expected, sizeof (expected), "error planned_due: %s is not a date", bad_dues[i]);
        s_expect_row (s_header, row, expected);
    }
    //  a long bad cell is cut at a character boundary in the message
    char row[256] = "r,T,2026-01-01 ";
    snprintf (expected, sizeof (expected), "error planned_due: 2026-01-01 ");
    for (int i = 0; i < 53; i++) {
        strcat (row, "é");
        if (i < 24) //  11 + 24 * 2 bytes of the first 60
            strcat (expected, "é");
    }
    strcat (expected, "... is not a date");
    s_expect_row (s_header, row, expected);

    //  kind and status
    const char *h = "zone_id,title,planned_due,kind,status";
    snprintf (expected, sizeof (expected),
              "{\"kind\":\"LAND_POSSESSION\",%s,\"status\":\"COMPLETED\",\"title\":\"T\","
              "\"zone_id\":\"r\"}",
              due_jan);
    s_expect_row (h, "r,T,2026-01-01,Land possession,completed", expected);
    s_expect_row (h, "r,T,2026-01-01,land-possession,COMPLETED", expected);
    s_expect_row (h, "r,T,2026-01-01,LAND_POSSESSION, Completed ", expected);
    s_expect_row (h, "r,T,2026-01-01,Powerr,",
                  "error kind: Powerr is not a milestone kind (ZONE_APPLICATION, "
                  "APPROVALS_COMMITTEE, BOARD_OF_APPROVALS, DEVELOPMENT_AGREEMENT, "
                  "SEZ_NOTIFICATION, SEZ_COMMITTEE, ENTERPRISE_ADMISSION, COMMERCIAL_OPERATION, "
                  "LAND_POSSESSION, POWER, GAS, WATER, ROADS, INTERNAL_INFRASTRUCTURE, OTHER)");
    s_expect_row (h, "r,T,2026-01-01,kind_unspecified,",
                  "error kind: kind_unspecified is not a milestone kind (ZONE_APPLICATION, "
                  "APPROVALS_COMMITTEE, BOARD_OF_APPROVALS, DEVELOPMENT_AGREEMENT, "
                  "SEZ_NOTIFICATION, SEZ_COMMITTEE, ENTERPRISE_ADMISSION, COMMERCIAL_OPERATION, "
                  "LAND_POSSESSION, POWER, GAS, WATER, ROADS, INTERNAL_INFRASTRUCTURE, OTHER)");
    s_expect_row (h, "r,T,2026-01-01,,done",
                  "error status: done is not a milestone status (NOT_STARTED, IN_PROGRESS, "
                  "COMPLETED, BLOCKED, CANCELLED)");
    s_expect_row (h, "r,T,2026-01-01,,1",
                  "error status: 1 is not a milestone status (NOT_STARTED, IN_PROGRESS, "
                  "COMPLETED, BLOCKED, CANCELLED)");

    //  percent_complete
    h = "zone_id,title,planned_due,percent_complete";
    const char *percents[][2] = {{"0", "0"},    {"100", "100"},   {"7", "7"},
                                 {"55%", "55"}, {" 55 % ", "55"}, {"007", "7"}};
    for (size_t i = 0; i < sizeof (percents) / sizeof (percents[0]); i++) {
        char row[128];
        snprintf (row, sizeof (row), "r,T,2026-01-01,%s", percents[i][0]);
        snprintf (expected, sizeof (expected),
                  "{\"percent_complete\":%s,%s,\"title\":\"T\",\"zone_id\":\"r\"}", percents[i][1],
                  due_jan);
        s_expect_row (h, row, expected);
    }
    const char *bad_percents[] = {"101", "-1", "50.5", "half", "1000", "%", "5 0"};
    for (size_t i = 0; i < sizeof (bad_percents) / sizeof (bad_percents[0]); i++) {
        char row[128];
        snprintf (row, sizeof (row), "r,T,2026-01-01,%s", bad_percents[i]);
        snprintf (expected, sizeof (expected),
                  "error percent_complete: %s is not a whole number from 0 to 100",
                  bad_percents[i]);
        s_expect_row (h, row, expected);
    }

    //  predecessors
    h = "zone_id,title,planned_due,predecessors";
    snprintf (expected, sizeof (expected),
              "{%s,\"predecessors\":[{\"lag_days\":14,\"milestone_id\":\"ms-a\"}],\"title\":"
              "\"T\",\"zone_id\":\"r\"}",
              due_jan);
    s_expect_row (h, "r,T,2026-01-01,ms-a+14", expected);
    s_expect_row (h, "r,T,2026-01-01, ms-a + 14 ;", expected);
    snprintf (expected, sizeof (expected),
              "{%s,\"predecessors\":[{\"milestone_id\":\"a\"},{\"milestone_id\":\"b\"},"
              "{\"lag_days\":4294967295,\"milestone_id\":\"c\"}],\"title\":\"T\",\"zone_id\":"
              "\"r\"}",
              due_jan);
    s_expect_row (h, "r,T,2026-01-01,\"a;b+0;;c+4294967295\"", expected);
    snprintf (expected, sizeof (expected), "{%s,\"title\":\"T\",\"zone_id\":\"r\"}", due_jan);
    s_expect_row (h, "r,T,2026-01-01, ; ;", expected);
    s_expect_row (h, "r,T,2026-01-01,ms-a+x",
                  "error predecessors: ms-a+x: the lag after '+' is not a number of days");
    s_expect_row (h, "r,T,2026-01-01,ms-a+-1",
                  "error predecessors: ms-a+-1: the lag after '+' is not a number of days");
    s_expect_row (h, "r,T,2026-01-01,ms-a+4294967296",
                  "error predecessors: ms-a+4294967296: the lag after '+' is not a number of "
                  "days");
    s_expect_row (h, "r,T,2026-01-01,ms-a+",
                  "error predecessors: ms-a+: the lag after '+' is not a number of days");
    s_expect_row (h, "r,T,2026-01-01,b;+3",
                  "error predecessors: a lag without a milestone id before its '+'");

    //  no such row
    gw_csv_t *csv = s_good ("zone_id,title,planned_due\n");
    json_t *milestone = NULL;
    char error[64];
    assert_int_equal (gw_csv_milestone (csv, 0, &milestone, error, sizeof (error)), -1);
    assert_string_equal (error, "no row 0");
    assert_false (gw_csv_duplicate (csv, 0, NULL));
    gw_csv_destroy (&csv);
}

static void
test_duplicates (void **state)
{
    (void)state;
    const char *text = "id,zone_id,title,planned_due\n"
                       "a,z,One,2026-01-01\n"               //  0
                       ",z,Two,2026-01-02\n"                //  1
                       "a,z,One again,2026-02-01\n"         //  2: id of 0
                       ",z, Two ,2026-01-02T00:00:00Z\n"    //  3: as 1
                       ",z,One,2026-01-01T05:00:00+05:00\n" //  4: as 0 (which has an id)
                       "b,z,Two,2026-01-02\n"               //  5: new id, not a duplicate
                       "c,z,Bad,2026-13-01\n"               //  6: does not map
                       "c,z,Good,2026-03-01\n"              //  7: first valid c
                       "c,z,Good,2026-03-01\n"              //  8: as 7
                       ",y,Two,2026-01-02\n"                //  9: another zone
                       ",z,Two,2026-01-03\n";               // 10: another date
    gw_csv_t *csv = s_good (text);
    assert_int_equal (gw_csv_rows (csv), 11);
    size_t expected[] = {SIZE_MAX, SIZE_MAX, 0, 1,        0,       SIZE_MAX,
                         SIZE_MAX, SIZE_MAX, 7, SIZE_MAX, SIZE_MAX};
    for (size_t row = 0; row < 11; row++) {
        size_t first = 999;
        bool duplicate = gw_csv_duplicate (csv, row, &first);
        if (expected[row] == SIZE_MAX) {
            if (duplicate)
                fail_msg ("row %zu: a duplicate of %zu", row, first);
            assert_int_equal (first, 999);
        } else {
            if (!duplicate)
                fail_msg ("row %zu: not a duplicate", row);
            assert_int_equal (first, expected[row]);
        }
    }
    assert_true (gw_csv_duplicate (csv, 2, NULL));
    assert_false (gw_csv_duplicate (csv, 11, NULL));
    gw_csv_destroy (&csv);

    //  without an id column
    csv = s_good ("zone_id,title,planned_due\nz,T,2026-01-01\nz,T,2026-01-01\nz,t,2026-01-01\n");
    size_t first = 0;
    assert_false (gw_csv_duplicate (csv, 0, &first));
    assert_true (gw_csv_duplicate (csv, 1, &first));
    assert_int_equal (first, 0);
    assert_false (gw_csv_duplicate (csv, 2, &first));
    gw_csv_destroy (&csv);
}

static void
test_many_rows (void **state)
{
    (void)state;
    //  10,000 rows with every 10th repeating an earlier one
    size_t rows = 10000;
    size_t size = 64 + rows * 64;
    char *text = (char *)malloc (size);
    size_t at = (size_t)snprintf (text, size, "id,zone_id,title,planned_due\r\n");
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf (text + at, size - at, "ms-%zu,dhabeji,Works %zu,2026-01-01\r\n",
                                i % 10 == 9 ? i - 9 : i, i);
    char error[128];
    gw_csv_t *csv = gw_csv_parse (text, at, rows, error, sizeof (error));
    assert_non_null (csv);
    assert_int_equal (gw_csv_rows (csv), rows);
    size_t duplicates = 0;
    for (size_t i = 0; i < rows; i++) {
        size_t first;
        if (gw_csv_duplicate (csv, i, &first)) {
            assert_int_equal (first, i - 9);
            duplicates++;
        }
    }
    assert_int_equal (duplicates, rows / 10);
    assert_int_equal (gw_csv_line (csv, rows - 1), rows + 1);
    gw_csv_destroy (&csv);
    assert_null (gw_csv_parse (text, at, rows - 1, error, sizeof (error)));
    assert_string_equal (error, "line 10001: more than 9999 rows");
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_good_file),  cmocka_unit_test (test_quoted),
        cmocka_unit_test (test_line_ends),  cmocka_unit_test (test_refusals),
        cmocka_unit_test (test_header),     cmocka_unit_test (test_cells),
        cmocka_unit_test (test_duplicates), cmocka_unit_test (test_many_rows),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
