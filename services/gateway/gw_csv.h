/*  gw_csv - the CSV import of milestones (POST /v1/import/milestones): a
    file as a provincial SEZ authority keeps it, parsed, its header checked
    and each row mapped to a cpec.v1.Milestone as JSON. Pure: no I/O.

    Parsing follows RFC 4180: an optional UTF-8 byte order mark, CRLF, LF or
    CR line ends (the last line may lack one), quoted fields with "" for a
    quote and commas or line ends inside; blanks before an opening or after a
    closing quote are ignored. The first non-empty line is the header (its
    names trimmed); lines with nothing in them (or only blanks and commas)
    are skipped. Anything malformed refuses the whole file with a message
    naming the line: invalid UTF-8, a NUL byte, an unterminated quote, a
    quote inside an unquoted field, a field over GW_CSV_FIELD_MAX bytes,
    more rows than allowed, an empty or duplicate header name.

    Rows are then mapped one by one (gw_csv_milestone): each cell trimmed, an
    empty cell leaves its field unset, and a bad cell refuses that row only,
    with a message naming the column ("planned_due: 2024-13-01 is not a
    date"). The service's own rules (slugs, lengths, the graph) are left to
    Milestones.Create.
*/
#ifndef GW_CSV_H_INCLUDED
#define GW_CSV_H_INCLUDED

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

//  The longest field, in bytes (after unquoting).
#define GW_CSV_FIELD_MAX 4096

//  An error buffer of this size holds any message whole.
#define GW_CSV_ERROR_MAX 512

typedef struct _gw_csv_t gw_csv_t;

//  Parses size bytes of text (not NUL-terminated). At most max_rows data
//  rows (0: no limit). Returns NULL on error, with a message in error, e.g.
//  "line 7: unterminated quoted field".
gw_csv_t *gw_csv_parse (const char *text, size_t size, size_t max_rows, char *error,
                        size_t error_size);

//  Frees the table and sets *self_p to NULL. Idempotent.
void gw_csv_destroy (gw_csv_t **self_p);

//  Data rows (the header excluded) and columns (the header's names).
size_t gw_csv_rows (gw_csv_t *self);
size_t gw_csv_columns (gw_csv_t *self);

//  The column's header name, trimmed; NULL past the last column.
const char *gw_csv_header (gw_csv_t *self, size_t column);

//  A data row's field as in the file (unquoted, not trimmed); NULL when the
//  row has no such field (a short row) or no such row.
const char *gw_csv_field (gw_csv_t *self, size_t row, size_t column);

//  The number of fields of a data row (may differ from the columns).
size_t gw_csv_fields (gw_csv_t *self, size_t row);

//  The 1-based line of the file where a data row starts (0: no such row).
size_t gw_csv_line (gw_csv_t *self, size_t row);

//  Checks the header against the Milestone fields: every column one of id,
//  zone_id, title, title_zh, title_ur, kind, agency, planned_due, status,
//  percent_complete, predecessors (case-insensitive, each once), and
//  zone_id, title and planned_due present. Returns 0, or -1 with a message
//  naming the column.
int gw_csv_check_header (gw_csv_t *self, char *error, size_t error_size);

//  Maps a data row to a new cpec.v1.Milestone JSON object (proto field
//  names): planned_due as RFC 3339 UTC ("2026-12-31T00:00:00Z"; a plain date
//  is midnight UTC), kind and status by value name (any case, '-' or ' '
//  for '_'), percent_complete an integer 0..100 (a trailing '%' allowed),
//  predecessors "ms-a+14;ms-b" as [{"milestone_id":"ms-a","lag_days":14},
//  {"milestone_id":"ms-b"}]. Returns 0, or -1 with a message naming the
//  column (the header is checked first: its error refuses every row).
int gw_csv_milestone (gw_csv_t *self, size_t row, json_t **milestone, char *error,
                      size_t error_size);

//  True when a data row repeats an earlier row that maps to a milestone:
//  the same id when the row has one, else the same zone_id, title and
//  planned_due (the same instant, however written); *first_row (if not
//  NULL) gets the earliest such row. Rows that do not map are never the
//  first. False when the header does not check.
bool gw_csv_duplicate (gw_csv_t *self, size_t row, size_t *first_row);

#endif
