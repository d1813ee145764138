/*  gw_csv - the CSV import of milestones: an RFC 4180 parser into one
    arena (every field NUL-terminated inside a buffer the size of the input),
    the header checked against the Milestone fields, and each row mapped to
    its JSON. See gw_csv.h for the rules.
*/
#include "gw_csv.h"

#include "cpec_check.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec_json.h"
#include "cpec_pb.h"

#define S_NONE        SIZE_MAX
#define S_EXCERPT_MAX 60

//  The columns a file may have: Milestone's fields, in proto order.
enum
{
    S_ID,
    S_ZONE_ID,
    S_TITLE,
    S_TITLE_ZH,
    S_TITLE_UR,
    S_KIND,
    S_AGENCY,
    S_PLANNED_DUE,
    S_STATUS,
    S_PERCENT_COMPLETE,
    S_PREDECESSORS,
    S_FIELD_COUNT
};

static const char *s_field_names[S_FIELD_COUNT] = {
    "id",     "zone_id",     "title",  "title_zh",         "title_ur",    "kind",
    "agency", "planned_due", "status", "percent_complete", "predecessors"};

static const bool s_field_required[S_FIELD_COUNT] = {
    [S_ZONE_ID] = true, [S_TITLE] = true, [S_PLANNED_DUE] = true};

typedef struct
{
    size_t first; //  index of its first field in offsets
    size_t count; //  its fields
    size_t line;  //  1-based line where it starts
} s_row_t;

struct _gw_csv_t
{
    char *data;       //  every field, NUL-terminated
    size_t *offsets;  //  where each field starts in data
    size_t n_offsets; //  fields stored
    size_t offsets_room;
    s_row_t header;
    s_row_t *rows; //  data rows
    size_t n_rows;
    size_t rows_room;
    //  The header checked: -1 not yet, 0 good, 1 refused (header_error)
    int header_state;
    char header_error[256];
    size_t column_of[S_FIELD_COUNT]; //  S_NONE when absent
    //  The duplicates, found on the first call of gw_csv_duplicate
    size_t *duplicate_of; //  per row: the earliest row repeated, or S_NONE
};

static int s_error (char *error, size_t error_size, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_error (char *error, size_t error_size, const char *format, ...)
{
    if (error && error_size) {
        va_list args;
        va_start (args, format);
        vsnprintf (error, error_size, format, args);
        va_end (args);
    }
    return -1;
}

//  A copy of text for a message: at most S_EXCERPT_MAX bytes cut at a
//  character boundary (the message stays valid UTF-8), "..." when cut.
static const char *
s_excerpt (const char *text, char *buf, size_t size)
{
    assert (size > S_EXCERPT_MAX + 4);
    (void)size;
    size_t length = strlen (text);
    if (length <= S_EXCERPT_MAX) {
        memcpy (buf, text, length + 1);
        return buf;
    }
    length = S_EXCERPT_MAX;
    while (length > 0 && ((unsigned char)text[length] & 0xc0) == 0x80)
        length--;
    memcpy (buf, text, length);
    memcpy (buf + length, "...", 4);
    return buf;
}

//  --------------------------------------------------------------------------
//  Parsing

//  Length of a line end at p ("\r\n", "\n" or "\r"), 0 if none.
static size_t
s_line_end (const char *p, const char *end)
{
    if (p >= end)
        return 0;
    if (*p == '\n')
        return 1;
    if (*p == '\r')
        return p + 1 < end && p[1] == '\n' ? 2 : 1;
    return 0;
}

//  Checks that text is UTF-8 with no NUL; the line of the first fault.
static int
s_check_text (const char *text, size_t size, char *error, size_t error_size)
{
    const char *nul = (const char *)memchr (text, '\0', size);
    size_t limit = nul ? (size_t)(nul - text) : size;
    size_t fault = cpec_check_utf8_prefix (text, limit); //  the NUL when all before it is valid
    if (fault == size)
        return 0;
    size_t line = 1;
    const char *end = text + size;
    for (const char *p = text; p < text + fault;) {
        size_t newline = s_line_end (p, end);
        line += newline > 0;
        p += newline ? newline : 1;
    }
    return s_error (error, error_size,
                    fault == limit ? "line %zu: NUL byte" : "line %zu: invalid UTF-8", line);
}

static void
s_push_offset (gw_csv_t *self, size_t offset)
{
    if (self->n_offsets == self->offsets_room) {
        self->offsets_room = self->offsets_room ? self->offsets_room * 2 : 64;
        self->offsets =
            (size_t *)cpec_realloc (self->offsets, self->offsets_room * sizeof (size_t));
    }
    self->offsets[self->n_offsets++] = offset;
}

static bool
s_blank (char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

//  True when every field of the row is blank.
static bool
s_row_blank (gw_csv_t *self, const s_row_t *row)
{
    for (size_t i = 0; i < row->count; i++)
        for (const char *p = self->data + self->offsets[row->first + i]; *p; p++)
            if (!s_blank (*p))
                return false;
    return true;
}

//  Trims the header's names in place; refuses empty and duplicate names.
static int
s_take_header (gw_csv_t *self, char *error, size_t error_size)
{
    char excerpt[S_EXCERPT_MAX + 8];
    for (size_t i = 0; i < self->header.count; i++) {
        size_t *offset = &self->offsets[self->header.first + i];
        char *name = self->data + *offset;
        size_t length = strlen (name);
        while (length > 0 && s_blank (name[length - 1]))
            name[--length] = '\0';
        while (s_blank (*name))
            name++;
        *offset = (size_t)(name - self->data);
        if (!*name)
            return s_error (error, error_size, "line %zu: column %zu has no name in the header",
                            self->header.line, i + 1);
        for (size_t k = 0; k < i; k++)
            if (strcmp (self->data + self->offsets[self->header.first + k], name) == 0)
                return s_error (error, error_size, "line %zu: column \"%s\" is named twice",
                                self->header.line, s_excerpt (name, excerpt, sizeof (excerpt)));
    }
    return 0;
}

gw_csv_t *
gw_csv_parse (const char *text, size_t size, size_t max_rows, char *error, size_t error_size)
{
    if (error && error_size)
        error[0] = '\0';
    if (!text)
        size = 0;
    if (size >= 2 && (((uint8_t)text[0] == 0xff && (uint8_t)text[1] == 0xfe) ||
                      ((uint8_t)text[0] == 0xfe && (uint8_t)text[1] == 0xff))) {
        s_error (error, error_size, "line 1: the file is UTF-16; save it as UTF-8 CSV");
        return NULL;
    }
    if (size >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        size -= 3;
    }
    if (s_check_text (text, size, error, error_size))
        return NULL;

    gw_csv_t *self = (gw_csv_t *)calloc (1, sizeof (gw_csv_t));
    assert (self);
    self->header_state = -1;
    //  Unquoted fields are never longer than the text, and each one's NUL
    //  takes the place of its separator: the text's size + 1 is enough.
    self->data = (char *)cpec_realloc (NULL, size + 1);
    size_t used = 0;
    bool have_header = false;
    const char *p = text;
    const char *end = text + size;
    size_t line = 1;
    while (p < end) {
        s_row_t row = {self->n_offsets, 0, line};
        bool row_done = false;
        while (!row_done) {
            size_t field_line = line;
            size_t start = used;
            const char *q = p;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            if (q < end && *q == '"') {
                p = q + 1;
                while (true) {
                    if (p >= end) {
                        s_error (error, error_size, "line %zu: unterminated quoted field",
                                 field_line);
                        goto failed;
                    }
                    if (*p == '"') {
                        if (p + 1 < end && p[1] == '"') {
                            self->data[used++] = '"';
                            p += 2;
                            continue;
                        }
                        p++;
                        break;
                    }
                    size_t newline = s_line_end (p, end);
                    if (newline) {
                        memcpy (self->data + used, p, newline);
                        used += newline;
                        p += newline;
                        line++;
                    } else
                        self->data[used++] = *p++;
                    if (used - start > GW_CSV_FIELD_MAX)
                        break; //  refused below
                }
                while (p < end && (*p == ' ' || *p == '\t'))
                    p++;
                if (used - start <= GW_CSV_FIELD_MAX && p < end && *p != ',' &&
                    !s_line_end (p, end)) {
                    s_error (error, error_size,
                             "line %zu: field %zu: a character after the closing quote", line,
                             row.count + 1);
                    goto failed;
                }
            } else {
                while (p < end && *p != ',' && *p != '\r' && *p != '\n') {
                    if (*p == '"') {
                        s_error (error, error_size,
                                 "line %zu: field %zu: a quote inside an unquoted field (quote "
                                 "the whole field and double the quote)",
                                 line, row.count + 1);
                        goto failed;
                    }
                    self->data[used++] = *p++;
                    if (used - start > GW_CSV_FIELD_MAX)
                        break;
                }
            }
            if (used - start > GW_CSV_FIELD_MAX) {
                s_error (error, error_size, "line %zu: field %zu is longer than %d bytes",
                         field_line, row.count + 1, GW_CSV_FIELD_MAX);
                goto failed;
            }
            self->data[used++] = '\0';
            s_push_offset (self, start);
            row.count++;
            if (p < end && *p == ',') {
                p++;
                continue;
            }
            size_t newline = s_line_end (p, end);
            p += newline;
            if (newline)
                line++;
            row_done = true;
        }
        if (s_row_blank (self, &row)) {
            //  Nothing in it: forget it
            self->n_offsets = row.first;
            used = self->offsets[row.first];
            continue;
        }
        if (!have_header) {
            self->header = row;
            have_header = true;
            if (s_take_header (self, error, error_size))
                goto failed;
            continue;
        }
        if (max_rows && self->n_rows == max_rows) {
            s_error (error, error_size, "line %zu: more than %zu rows", row.line, max_rows);
            goto failed;
        }
        if (self->n_rows == self->rows_room) {
            self->rows_room = self->rows_room ? self->rows_room * 2 : 64;
            self->rows = (s_row_t *)cpec_realloc (self->rows, self->rows_room * sizeof (s_row_t));
        }
        self->rows[self->n_rows++] = row;
    }
    if (!have_header) {
        s_error (error, error_size, "line %zu: no header line (the file is empty)", line);
        goto failed;
    }
    return self;

failed:
    gw_csv_destroy (&self);
    return NULL;
}

void
gw_csv_destroy (gw_csv_t **self_p)
{
    assert (self_p);
    gw_csv_t *self = *self_p;
    if (!self)
        return;
    free (self->data);
    free (self->offsets);
    free (self->rows);
    free (self->duplicate_of);
    free (self);
    *self_p = NULL;
}

size_t
gw_csv_rows (gw_csv_t *self)
{
    assert (self);
    return self->n_rows;
}

size_t
gw_csv_columns (gw_csv_t *self)
{
    assert (self);
    return self->header.count;
}

const char *
gw_csv_header (gw_csv_t *self, size_t column)
{
    assert (self);
    if (column >= self->header.count)
        return NULL;
    return self->data + self->offsets[self->header.first + column];
}

const char *
gw_csv_field (gw_csv_t *self, size_t row, size_t column)
{
    assert (self);
    if (row >= self->n_rows || column >= self->rows[row].count)
        return NULL;
    return self->data + self->offsets[self->rows[row].first + column];
}

size_t
gw_csv_fields (gw_csv_t *self, size_t row)
{
    assert (self);
    return row < self->n_rows ? self->rows[row].count : 0;
}

size_t
gw_csv_line (gw_csv_t *self, size_t row)
{
    assert (self);
    return row < self->n_rows ? self->rows[row].line : 0;
}

//  --------------------------------------------------------------------------
//  The header

int
gw_csv_check_header (gw_csv_t *self, char *error, size_t error_size)
{
    assert (self);
    if (self->header_state == -1) {
        self->header_state = 0;
        char excerpt[S_EXCERPT_MAX + 8];
        for (size_t f = 0; f < S_FIELD_COUNT; f++)
            self->column_of[f] = S_NONE;
        for (size_t c = 0; c < self->header.count && self->header_state == 0; c++) {
            const char *name = gw_csv_header (self, c);
            size_t f = 0;
            while (f < S_FIELD_COUNT && strcasecmp (name, s_field_names[f]) != 0)
                f++;
            if (f == S_FIELD_COUNT) {
                s_error (self->header_error, sizeof (self->header_error),
                         "column \"%s\" is not a milestone field (the columns are id, zone_id, "
                         "title, title_zh, title_ur, kind, agency, planned_due, status, "
                         "percent_complete, predecessors)",
                         s_excerpt (name, excerpt, sizeof (excerpt)));
                self->header_state = 1;
            } else if (self->column_of[f] != S_NONE) {
                s_error (self->header_error, sizeof (self->header_error),
                         "column \"%s\" is given twice", s_field_names[f]);
                self->header_state = 1;
            } else
                self->column_of[f] = c;
        }
        for (size_t f = 0; f < S_FIELD_COUNT && self->header_state == 0; f++)
            if (s_field_required[f] && self->column_of[f] == S_NONE) {
                s_error (self->header_error, sizeof (self->header_error),
                         "column \"%s\" is required", s_field_names[f]);
                self->header_state = 1;
            }
    }
    if (self->header_state == 1)
        return s_error (error, error_size, "%s", self->header_error);
    return 0;
}

//  --------------------------------------------------------------------------
//  Cells

//  The row's cell of a field, trimmed, in buf (GW_CSV_FIELD_MAX + 1 bytes);
//  "" when the column or the cell is absent.
static const char *
s_cell (gw_csv_t *self, size_t row, size_t field, char *buf)
{
    size_t column = self->column_of[field];
    const char *value = column == S_NONE ? NULL : gw_csv_field (self, row, column);
    if (!value)
        return "";
    while (s_blank (*value))
        value++;
    size_t length = strlen (value);
    while (length > 0 && s_blank (value[length - 1]))
        length--;
    assert (length <= GW_CSV_FIELD_MAX);
    memcpy (buf, value, length);
    buf[length] = '\0';
    return buf;
}

//  An enum value by name: any case, '-' or ' ' for '_'; never the zero
//  (unspecified) value. NULL if none.
static const ProtobufCEnumValue *
s_enum_value (const ProtobufCEnumDescriptor *descriptor, const char *text)
{
    char name[64];
    size_t length = strlen (text);
    if (length >= sizeof (name))
        return NULL;
    for (size_t i = 0; i <= length; i++) {
        char c = text[i];
        name[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c == '-' || c == ' ' ? '_' : c;
    }
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value_by_name (descriptor, name);
    return value && value->value != 0 ? value : NULL;
}

static int
s_enum_error (const ProtobufCEnumDescriptor *descriptor, const char *path, const char *what,
              const char *text, char *error, size_t error_size)
{
    char names[512] = "";
    size_t at = 0;
    for (unsigned i = 0; i < descriptor->n_values; i++) {
        if (descriptor->values[i].value == 0)
            continue;
        int written = snprintf (names + at, sizeof (names) - at, "%s%s", at ? ", " : "",
                                descriptor->values[i].name);
        if (written < 0 || (size_t)written >= sizeof (names) - at)
            break;
        at += (size_t)written;
    }
    char excerpt[S_EXCERPT_MAX + 8];
    return s_error (error, error_size, "%s: %s is not a milestone %s (%s)", path,
                    s_excerpt (text, excerpt, sizeof (excerpt)), what, names);
}

//  Unix milliseconds of an RFC 3339 date-time (' ' allowed for 'T') or a
//  plain date. 0 or -1.
static int
s_parse_due (const char *text, int64_t *unix_ms)
{
    char copy[64];
    size_t length = strlen (text);
    if (length >= sizeof (copy))
        return -1;
    memcpy (copy, text, length + 1);
    if (length > 10 && copy[10] == ' ')
        copy[10] = 'T';
    return cpec_json_parse_time (copy, unix_ms);
}

//  A decimal number of at most max_digits digits into *value; 0 or -1.
static int
s_parse_digits (const char *text, size_t max_digits, uint64_t *value)
{
    size_t length = strlen (text);
    if (length == 0 || length > max_digits || strspn (text, "0123456789") != length)
        return -1;
    *value = strtoull (text, NULL, 10);
    return 0;
}

//  "ms-a+14;ms-b" into an array of Dependency objects; 0 or -1.
static int
s_predecessors (const char *text, json_t **array_p, char *error, size_t error_size)
{
    json_t *array = json_array ();
    char excerpt[S_EXCERPT_MAX + 8];
    char item[GW_CSV_FIELD_MAX + 1];
    const char *p = text;
    while (true) {
        size_t length = strcspn (p, ";");
        //  The item, trimmed
        const char *from = p;
        const char *to = p + length;
        while (from < to && s_blank (*from))
            from++;
        while (to > from && s_blank (to[-1]))
            to--;
        memcpy (item, from, (size_t)(to - from));
        item[to - from] = '\0';
        if (*item) {
            char *plus = strchr (item, '+');
            uint64_t lag = 0;
            if (plus) {
                *plus = '\0';
                char *lag_text = plus + 1;
                while (s_blank (*lag_text))
                    lag_text++;
                if (s_parse_digits (lag_text, 10, &lag) || lag > UINT32_MAX) {
                    *plus = '+';
                    json_decref (array);
                    return s_error (error, error_size,
                                    "predecessors: %s: the lag after '+' is not a number of days",
                                    s_excerpt (item, excerpt, sizeof (excerpt)));
                }
                size_t id_length = strlen (item);
                while (id_length > 0 && s_blank (item[id_length - 1]))
                    item[--id_length] = '\0';
            }
            if (!*item) {
                json_decref (array);
                return s_error (error, error_size,
                                "predecessors: a lag without a milestone id before its '+'");
            }
            json_t *dependency = json_object ();
            json_object_set_new (dependency, "milestone_id", json_string (item));
            if (lag)
                json_object_set_new (dependency, "lag_days", json_integer ((json_int_t)lag));
            json_array_append_new (array, dependency);
        }
        if (!p[length])
            break;
        p += length + 1;
    }
    *array_p = array;
    return 0;
}

int
gw_csv_milestone (gw_csv_t *self, size_t row, json_t **milestone, char *error, size_t error_size)
{
    assert (self);
    assert (milestone);
    *milestone = NULL;
    if (error && error_size)
        error[0] = '\0';
    if (row >= self->n_rows)
        return s_error (error, error_size, "no row %zu", row);
    if (gw_csv_check_header (self, error, error_size))
        return -1;
    char excerpt[S_EXCERPT_MAX + 8];
    size_t fields = self->rows[row].count;
    for (size_t c = self->header.count; c < fields; c++) {
        const char *value = gw_csv_field (self, row, c);
        while (s_blank (*value))
            value++;
        if (*value)
            return s_error (error, error_size,
                            "column %zu: a value past the header's %zu columns (\"%s\")", c + 1,
                            self->header.count, s_excerpt (value, excerpt, sizeof (excerpt)));
    }
    char *buf = (char *)cpec_realloc (NULL, GW_CSV_FIELD_MAX + 1);
    json_t *object = json_object ();
    for (size_t f = 0; f < S_FIELD_COUNT; f++) {
        const char *name = s_field_names[f];
        const char *cell = s_cell (self, row, f, buf);
        if (!*cell) {
            if (s_field_required[f]) {
                s_error (error, error_size, "%s: required", name);
                goto failed;
            }
            continue;
        }
        json_t *value = NULL;
        switch (f) {
            case S_KIND:
            case S_STATUS: {
                const ProtobufCEnumDescriptor *descriptor =
                    f == S_KIND ? &cpec__v1__milestone__kind__descriptor
                                : &cpec__v1__milestone__status__descriptor;
                const ProtobufCEnumValue *named = s_enum_value (descriptor, cell);
                if (!named) {
                    s_enum_error (descriptor, name, f == S_KIND ? "kind" : "status", cell, error,
                                  error_size);
                    goto failed;
                }
                value = json_string (named->name);
                break;
            }
            case S_PLANNED_DUE: {
                int64_t unix_ms;
                if (s_parse_due (cell, &unix_ms)) {
                    s_error (error, error_size, "%s: %s is not a date", name,
                             s_excerpt (cell, excerpt, sizeof (excerpt)));
                    goto failed;
                }
                char text[32];
                cpec_json_format_time (unix_ms, text, sizeof (text));
                value = json_string (text);
                break;
            }
            case S_PERCENT_COMPLETE: {
                s_excerpt (cell, excerpt, sizeof (excerpt));
                char *number = buf;
                size_t length = strlen (number);
                if (length > 0 && number[length - 1] == '%') {
                    number[--length] = '\0';
                    while (length > 0 && s_blank (number[length - 1]))
                        number[--length] = '\0';
                }
                uint64_t percent;
                if (s_parse_digits (number, 3, &percent) || percent > 100) {
                    s_error (error, error_size, "%s: %s is not a whole number from 0 to 100", name,
                             excerpt);
                    goto failed;
                }
                value = json_integer ((json_int_t)percent);
                break;
            }
            case S_PREDECESSORS:
                if (s_predecessors (cell, &value, error, error_size))
                    goto failed;
                if (json_array_size (value) == 0) {
                    json_decref (value);
                    continue;
                }
                break;
            default: value = json_string (cell); break;
        }
        assert (value);
        json_object_set_new (object, name, value);
    }
    free (buf);
    *milestone = object;
    return 0;

failed:
    free (buf);
    json_decref (object);
    return -1;
}

//  --------------------------------------------------------------------------
//  Duplicates

typedef struct
{
    char *key;  //  "I" + id, or "T" + zone_id, title, planned_due
    size_t row; //  the row it came from
} s_key_t;

static int
s_key_compare (const void *a, const void *b)
{
    const s_key_t *x = (const s_key_t *)a;
    const s_key_t *y = (const s_key_t *)b;
    int order = strcmp (x->key, y->key);
    if (order)
        return order;
    return x->row < y->row ? -1 : x->row > y->row;
}

//  "T" + each part as "length:text", so that no two triples share a key.
static char *
s_triple_key (const char *zone_id, const char *title, const char *due)
{
    size_t size = strlen (zone_id) + strlen (title) + strlen (due) + 3 * 24 + 2;
    char *key = (char *)cpec_realloc (NULL, size);
    snprintf (key, size, "T%zu:%s%zu:%s%zu:%s", strlen (zone_id), zone_id, strlen (title), title,
              strlen (due), due);
    return key;
}

//  Finds every row's earliest valid twin, once.
static void
s_find_duplicates (gw_csv_t *self)
{
    self->duplicate_of = (size_t *)cpec_realloc (NULL, (self->n_rows + 1) * sizeof (size_t));
    bool *valid = (bool *)cpec_realloc (NULL, self->n_rows + 1);
    bool *has_id = (bool *)cpec_realloc (NULL, self->n_rows + 1);
    s_key_t *keys = (s_key_t *)cpec_realloc (NULL, (2 * self->n_rows + 1) * sizeof (s_key_t));
    size_t n_keys = 0;
    char *id = (char *)cpec_realloc (NULL, GW_CSV_FIELD_MAX + 1);
    char *zone_id = (char *)cpec_realloc (NULL, GW_CSV_FIELD_MAX + 1);
    char *title = (char *)cpec_realloc (NULL, GW_CSV_FIELD_MAX + 1);
    char *due = (char *)cpec_realloc (NULL, GW_CSV_FIELD_MAX + 1);
    for (size_t r = 0; r < self->n_rows; r++) {
        self->duplicate_of[r] = S_NONE;
        json_t *milestone = NULL;
        valid[r] = gw_csv_milestone (self, r, &milestone, NULL, 0) == 0;
        json_decref (milestone);
        const char *id_cell = s_cell (self, r, S_ID, id);
        has_id[r] = *id_cell != '\0';
        if (has_id[r]) {
            size_t size = strlen (id_cell) + 2;
            keys[n_keys].key = (char *)cpec_realloc (NULL, size);
            snprintf (keys[n_keys].key, size, "I%s", id_cell);
            keys[n_keys++].row = r;
        }
        //  The same instant however written
        const char *due_cell = s_cell (self, r, S_PLANNED_DUE, due);
        int64_t unix_ms;
        char due_text[32];
        if (s_parse_due (due_cell, &unix_ms) == 0) {
            snprintf (due_text, sizeof (due_text), "%" PRId64, unix_ms);
            due_cell = due_text;
        }
        keys[n_keys].key = s_triple_key (s_cell (self, r, S_ZONE_ID, zone_id),
                                         s_cell (self, r, S_TITLE, title), due_cell);
        keys[n_keys++].row = r;
    }
    qsort (keys, n_keys, sizeof (s_key_t), s_key_compare);
    for (size_t i = 0; i < n_keys;) {
        size_t j = i;
        size_t first = S_NONE;
        while (j < n_keys && strcmp (keys[j].key, keys[i].key) == 0) {
            if (first == S_NONE && valid[keys[j].row])
                first = keys[j].row; //  rows ascend within a key
            j++;
        }
        bool by_id = keys[i].key[0] == 'I';
        for (size_t k = i; k < j; k++) {
            size_t r = keys[k].row;
            if (first != S_NONE && first < r && by_id == has_id[r])
                self->duplicate_of[r] = first;
        }
        i = j;
    }
    for (size_t i = 0; i < n_keys; i++)
        free (keys[i].key);
    free (keys);
    free (valid);
    free (has_id);
    free (id);
    free (zone_id);
    free (title);
    free (due);
}

bool
gw_csv_duplicate (gw_csv_t *self, size_t row, size_t *first_row)
{
    assert (self);
    if (row >= self->n_rows || gw_csv_check_header (self, NULL, 0))
        return false;
    if (!self->duplicate_of)
        s_find_duplicates (self);
    if (self->duplicate_of[row] == S_NONE)
        return false;
    if (first_row)
        *first_row = self->duplicate_of[row];
    return true;
}
