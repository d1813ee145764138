/*  cpec_codes - ISIC Rev.4, HS and GB/T 4754-2017 code tables, embedded and
    parsed once. */
#include "cpec_codes.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Defined by the build from data/*.csv (cmake/embed.cmake).
extern const char cpec_data_isic_rev4[];
extern const char cpec_data_hs_codes[];
extern const char cpec_data_gbt4754_isic[];

typedef struct
{
    const char *code;    //  "2100", "13", "C"; "300490", "3004", "30"
    const char *title;   //  English title or description; "" for ISIC headings
    const char *parent;  //  the code one level up, NULL at the top
    const char *section; //  ISIC section letter or HS section numeral
} s_entry_t;

typedef struct
{
    s_entry_t *entries; //  sorted by code (strcmp), no duplicates
    int count;          //  number of entries
} s_table_t;

//  One GB/T 4754-2017 division and the ISIC divisions it maps to.
typedef struct
{
    const char *division; //  "13"
    const char *section;  //  GB/T section letter, "C"
    const char *title;    //  English title
    const char **isic;    //  its ISIC divisions, a run inside s_gbt_isic
    int isic_count;       //  how many; 0 for an unmapped division
} s_gbt_t;

//  Index by level: ISIC 1..4; HS 2, 4, 6 at 1..3 (level / 2).
static s_table_t s_isic[5];
static s_table_t s_hs[4];
static s_gbt_t *s_gbt;          //  GB/T divisions in ascending order
static int s_gbt_count;         //  number of divisions
static const char **s_gbt_isic; //  every division's ISIC divisions, in turn
static char *s_isic_text;       //  our copy of the CSV, split in place
static char *s_hs_text;         //  the same for HS
static char *s_gbt_text;        //  the same for GB/T
static char s_error[256];       //  first problem found, "" if none
static pthread_once_t s_once = PTHREAD_ONCE_INIT;

//  --------------------------------------------------------------------------
//  CSV (RFC 4180), split in place: a field's text never grows when quotes are
//  removed, so it is written back over itself.

int
cpec_codes_csv_record (char **cursor_p, char **fields, int max)
{
    char *r = *cursor_p;
    while (*r == '\r' || *r == '\n')
        r++;
    if (*r == '\0') {
        *cursor_p = r;
        return 0;
    }
    int count = 0;
    while (true) {
        char *start = r;
        char *w = r;
        if (*r == '"') {
            r++;
            while (true) {
                if (*r == '\0')
                    return -1; //  unterminated
                if (*r == '"') {
                    if (r[1] != '"') {
                        r++;
                        break;
                    }
                    r++; //  a doubled quote stands for one
                }
                *w++ = *r++;
            }
            if (*r != ',' && *r != '\r' && *r != '\n' && *r != '\0')
                return -1; //  text after the closing quote
        } else {
            while (*r != ',' && *r != '\r' && *r != '\n' && *r != '\0') {
                if (*r == '"')
                    return -1; //  a quote inside an unquoted field
                r++;
            }
            w = r;
        }
        char delimiter = *r;
        *w = '\0'; //  may overwrite the delimiter itself, saved above
        if (count < max)
            fields[count] = start;
        count++;
        if (delimiter == ',') {
            r++;
            continue;
        }
        if (delimiter == '\r' && r[1] == '\n')
            r += 2;
        else if (delimiter == '\r' || delimiter == '\n')
            r++;
        break;
    }
    *cursor_p = r;
    return count;
}

//  --------------------------------------------------------------------------

static void
s_fail (const char *format, ...)
{
    if (s_error[0])
        return; //  keep the first
    va_list args;
    va_start (args, format);
    vsnprintf (s_error, sizeof (s_error), format, args);
    va_end (args);
}

static bool
s_digits (const char *text, size_t length)
{
    if (strlen (text) != length)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!isdigit ((unsigned char)text[i]))
            return false;
    return true;
}

static bool
s_prefixed (const char *code, const char *prefix)
{
    return strncmp (code, prefix, strlen (prefix)) == 0;
}

static int
s_entry_compare (const void *a, const void *b)
{
    return strcmp (((const s_entry_t *)a)->code, ((const s_entry_t *)b)->code);
}

static int
s_key_compare (const void *key, const void *entry)
{
    return strcmp ((const char *)key, ((const s_entry_t *)entry)->code);
}

static const s_entry_t *
s_find (const s_table_t *table, const char *code)
{
    if (!table->count)
        return NULL;
    return bsearch (code, table->entries, (size_t)table->count, sizeof (s_entry_t), s_key_compare);
}

//  Sorts a table and drops repeated codes. Repeats must agree on parent and
//  section (they are the same heading seen from several classes); `unique`
//  says they may not repeat at all. Returns 0 or -1.
static int
s_table_sort (s_table_t *self, const char *what, bool unique)
{
    qsort (self->entries, (size_t)self->count, sizeof (s_entry_t), s_entry_compare);
    int kept = 0;
    for (int i = 0; i < self->count; i++) {
        s_entry_t *entry = &self->entries[i];
        if (kept > 0 && strcmp (self->entries[kept - 1].code, entry->code) == 0) {
            s_entry_t *previous = &self->entries[kept - 1];
            bool same_parent = (!previous->parent && !entry->parent) ||
                               (previous->parent && entry->parent &&
                                strcmp (previous->parent, entry->parent) == 0);
            if (unique || !same_parent || strcmp (previous->section, entry->section) != 0) {
                s_fail ("%s: code %s is listed twice or under two parents", what, entry->code);
                return -1;
            }
            continue;
        }
        self->entries[kept++] = *entry;
    }
    self->count = kept;
    return 0;
}

static char *
s_copy (const char *text)
{
    size_t size = strlen (text) + 1;
    char *copy = malloc (size);
    if (copy)
        memcpy (copy, text, size);
    return copy;
}

static bool
s_header_is (char **fields, int count, const char *const *expected, int expected_count)
{
    if (count != expected_count)
        return false;
    for (int i = 0; i < count; i++)
        if (strcmp (fields[i], expected[i]) != 0)
            return false;
    return true;
}

//  --------------------------------------------------------------------------
//  ISIC: section,division,group,class,title; one row per class.

static int
s_isic_load (void)
{
    static const char *const header[] = {"section", "division", "group", "class", "title"};
    s_isic_text = s_copy (cpec_data_isic_rev4);
    if (!s_isic_text) {
        s_fail ("isic-rev4.csv: out of memory");
        return -1;
    }
    char *cursor = s_isic_text;
    char *fields[5];
    int count = cpec_codes_csv_record (&cursor, fields, 5);
    if (!s_header_is (fields, count, header, 5)) {
        s_fail ("isic-rev4.csv: header is not section,division,group,class,title");
        return -1;
    }
    //  Every row yields one entry per level; size all four for the row count.
    int rows = 0;
    for (const char *c = cursor; *c; c++)
        rows += *c == '\n';
    rows += 1;
    for (int level = 1; level <= 4; level++) {
        s_isic[level].entries = calloc ((size_t)rows, sizeof (s_entry_t));
        if (!s_isic[level].entries) {
            s_fail ("isic-rev4.csv: out of memory");
            return -1;
        }
    }
    int line = 1;
    while ((count = cpec_codes_csv_record (&cursor, fields, 5)) != 0) {
        line++;
        if (count != 5) {
            s_fail ("isic-rev4.csv line %d: expected 5 fields", line);
            return -1;
        }
        const char *section = fields[0], *division = fields[1], *group = fields[2];
        const char *class = fields[3], *title = fields[4];
        if (strlen (section) != 1 || !isupper ((unsigned char)section[0]) ||
            !s_digits (division, 2) || !s_digits (group, 3) || !s_digits (class, 4) ||
            !s_prefixed (group, division) || !s_prefixed (class, group) || !*title) {
            s_fail ("isic-rev4.csv line %d: malformed row", line);
            return -1;
        }
        if (s_isic[4].count == rows) {
            s_fail ("isic-rev4.csv line %d: more rows than counted", line);
            return -1;
        }
        s_isic[1].entries[s_isic[1].count++] = (s_entry_t){section, "", NULL, section};
        s_isic[2].entries[s_isic[2].count++] = (s_entry_t){division, "", section, section};
        s_isic[3].entries[s_isic[3].count++] = (s_entry_t){group, "", division, section};
        s_isic[4].entries[s_isic[4].count++] = (s_entry_t){class, title, group, section};
    }
    if (s_isic[4].count == 0) {
        s_fail ("isic-rev4.csv: no rows");
        return -1;
    }
    for (int level = 1; level <= 4; level++)
        if (s_table_sort (&s_isic[level], "isic-rev4.csv", level == 4))
            return -1;
    return 0;
}

//  --------------------------------------------------------------------------
//  HS: section,hscode,description,parent,level; levels 2, 4 and 6, plus one
//  "TOTAL" row (level 5) that is not a code and is skipped.

static int
s_hs_load (void)
{
    static const char *const header[] = {"section", "hscode", "description", "parent", "level"};
    s_hs_text = s_copy (cpec_data_hs_codes);
    if (!s_hs_text) {
        s_fail ("hs-codes.csv: out of memory");
        return -1;
    }
    char *cursor = s_hs_text;
    char *fields[5];
    int count = cpec_codes_csv_record (&cursor, fields, 5);
    if (!s_header_is (fields, count, header, 5)) {
        s_fail ("hs-codes.csv: header is not section,hscode,description,parent,level");
        return -1;
    }
    int rows = 0;
    for (const char *c = cursor; *c; c++)
        rows += *c == '\n';
    rows += 1;
    for (int i = 1; i <= 3; i++) {
        s_hs[i].entries = calloc ((size_t)rows, sizeof (s_entry_t));
        if (!s_hs[i].entries) {
            s_fail ("hs-codes.csv: out of memory");
            return -1;
        }
    }
    int line = 1;
    while ((count = cpec_codes_csv_record (&cursor, fields, 5)) != 0) {
        line++;
        if (count != 5) {
            s_fail ("hs-codes.csv line %d: expected 5 fields", line);
            return -1;
        }
        const char *section = fields[0], *code = fields[1], *title = fields[2];
        const char *parent = fields[3], *level_text = fields[4];
        if (strcmp (code, "TOTAL") == 0)
            continue;
        int level = (int)strlen (code);
        bool shape_ok = (level == 2 || level == 4 || level == 6) &&
                        s_digits (code, (size_t)level) && strlen (level_text) == 1 &&
                        level_text[0] - '0' == level && *title && *section;
        if (shape_ok && level == 2)
            shape_ok = strcmp (parent, "TOTAL") == 0;
        else if (shape_ok)
            shape_ok = s_digits (parent, (size_t)level - 2) && s_prefixed (code, parent);
        if (!shape_ok) {
            s_fail ("hs-codes.csv line %d: malformed row", line);
            return -1;
        }
        s_table_t *table = &s_hs[level / 2];
        if (table->count == rows) {
            s_fail ("hs-codes.csv line %d: more rows than counted", line);
            return -1;
        }
        table->entries[table->count++] =
            (s_entry_t){code, title, level == 2 ? NULL : parent, section};
    }
    for (int i = 1; i <= 3; i++) {
        if (s_hs[i].count == 0) {
            s_fail ("hs-codes.csv: no codes of level %d", i * 2);
            return -1;
        }
        if (s_table_sort (&s_hs[i], "hs-codes.csv", true))
            return -1;
    }
    //  Every heading and subheading hangs from a code that exists.
    for (int i = 2; i <= 3; i++)
        for (int j = 0; j < s_hs[i].count; j++)
            if (!s_find (&s_hs[i - 1], s_hs[i].entries[j].parent)) {
                s_fail ("hs-codes.csv: %s has no parent %s", s_hs[i].entries[j].code,
                        s_hs[i].entries[j].parent);
                return -1;
            }
    return 0;
}

//  --------------------------------------------------------------------------
//  GB/T 4754-2017: section,division,title,isic_divisions,note; one row per
//  division in ascending order, isic_divisions a space-separated list of
//  ISIC divisions (checked against the ISIC table, so loaded after it),
//  empty only when the note says why.

static int
s_gbt_load (void)
{
    static const char *const header[] = {"section", "division", "title", "isic_divisions", "note"};
    s_gbt_text = s_copy (cpec_data_gbt4754_isic);
    if (!s_gbt_text) {
        s_fail ("gbt4754-isic.csv: out of memory");
        return -1;
    }
    char *cursor = s_gbt_text;
    char *fields[5];
    int count = cpec_codes_csv_record (&cursor, fields, 5);
    if (!s_header_is (fields, count, header, 5)) {
        s_fail ("gbt4754-isic.csv: header is not section,division,title,isic_divisions,note");
        return -1;
    }
    int rows = 0;
    for (const char *c = cursor; *c; c++)
        rows += *c == '\n';
    rows += 1;
    //  Each ISIC division listed takes three characters of the text at least
    //  (two digits and the space or comma after them): that bounds them all.
    size_t isic_room = strlen (cursor) / 3 + 1;
    s_gbt = calloc ((size_t)rows, sizeof (s_gbt_t));
    s_gbt_isic = calloc (isic_room, sizeof (const char *));
    if (!s_gbt || !s_gbt_isic) {
        s_fail ("gbt4754-isic.csv: out of memory");
        return -1;
    }
    size_t isic_used = 0;
    int line = 1;
    while ((count = cpec_codes_csv_record (&cursor, fields, 5)) != 0) {
        line++;
        if (count != 5) {
            s_fail ("gbt4754-isic.csv line %d: expected 5 fields", line);
            return -1;
        }
        const char *section = fields[0], *division = fields[1], *title = fields[2];
        char *isic = fields[3];
        const char *note = fields[4];
        if (strlen (section) != 1 || !isupper ((unsigned char)section[0]) ||
            !s_digits (division, 2) || !*title) {
            s_fail ("gbt4754-isic.csv line %d: malformed row", line);
            return -1;
        }
        if (s_gbt_count == rows) {
            s_fail ("gbt4754-isic.csv line %d: more rows than counted", line);
            return -1;
        }
        //  Ascending divisions, and sections that never go back (GB/T numbers
        //  its divisions through the sections in order).
        if (s_gbt_count > 0) {
            const s_gbt_t *previous = &s_gbt[s_gbt_count - 1];
            if (strcmp (previous->division, division) >= 0 ||
                strcmp (previous->section, section) > 0) {
                s_fail ("gbt4754-isic.csv line %d: division %s out of order", line, division);
                return -1;
            }
        }
        s_gbt_t *entry = &s_gbt[s_gbt_count++];
        *entry = (s_gbt_t){division, section, title, &s_gbt_isic[isic_used], 0};
        if (!*isic) {
            if (!*note) {
                s_fail ("gbt4754-isic.csv line %d: division %s is unmapped without a note", line,
                        division);
                return -1;
            }
            continue;
        }
        for (char *token = isic; token;) {
            char *space = strchr (token, ' ');
            if (space)
                *space = '\0';
            if (!s_digits (token, 2) || !s_find (&s_isic[2], token)) {
                s_fail ("gbt4754-isic.csv line %d: \"%s\" is not an ISIC division", line, token);
                return -1;
            }
            for (int i = 0; i < entry->isic_count; i++)
                if (strcmp (entry->isic[i], token) == 0) {
                    s_fail ("gbt4754-isic.csv line %d: ISIC %s listed twice", line, token);
                    return -1;
                }
            if (isic_used == isic_room) {
                s_fail ("gbt4754-isic.csv line %d: more ISIC divisions than counted", line);
                return -1;
            }
            s_gbt_isic[isic_used++] = token;
            entry->isic_count++;
            token = space ? space + 1 : NULL;
        }
    }
    if (s_gbt_count == 0) {
        s_fail ("gbt4754-isic.csv: no rows");
        return -1;
    }
    return 0;
}

//  On failure the tables are emptied (the text they point into stays, so no
//  entry dangles) and lookups find nothing; cpec_codes_error says why.
static void
s_init (void)
{
    if (s_isic_load () || s_hs_load () || s_gbt_load ()) {
        for (int i = 0; i < 5; i++) {
            free (s_isic[i].entries);
            s_isic[i] = (s_table_t){NULL, 0};
        }
        for (int i = 0; i < 4; i++) {
            free (s_hs[i].entries);
            s_hs[i] = (s_table_t){NULL, 0};
        }
        free (s_gbt);
        free (s_gbt_isic);
        s_gbt = NULL;
        s_gbt_isic = NULL;
        s_gbt_count = 0;
    }
}

static void
s_ready (void)
{
    pthread_once (&s_once, s_init);
}

const char *
cpec_codes_error (void)
{
    s_ready ();
    return s_error[0] ? s_error : NULL;
}

//  --------------------------------------------------------------------------
//  ISIC

//  The level a code has by its shape (letter; 2, 3 or 4 digits), or 0.
static int
s_isic_shape (const char *code)
{
    if (!code)
        return 0;
    size_t length = strlen (code);
    if (length == 1 && isupper ((unsigned char)code[0]))
        return 1;
    if (length >= 2 && length <= 4 && s_digits (code, length))
        return (int)length;
    return 0;
}

static const s_entry_t *
s_isic_find (const char *code)
{
    int level = s_isic_shape (code);
    if (!level)
        return NULL;
    s_ready ();
    return s_find (&s_isic[level], code);
}

int
cpec_codes_isic_level (const char *code)
{
    return s_isic_find (code) ? s_isic_shape (code) : 0;
}

bool
cpec_codes_isic_valid (const char *code)
{
    return s_isic_find (code) != NULL;
}

const char *
cpec_codes_isic_title (const char *code)
{
    const s_entry_t *entry = s_isic_find (code);
    return entry ? entry->title : NULL;
}

const char *
cpec_codes_isic_parent (const char *code)
{
    const s_entry_t *entry = s_isic_find (code);
    return entry ? entry->parent : NULL;
}

const char *
cpec_codes_isic_section (const char *code)
{
    const s_entry_t *entry = s_isic_find (code);
    return entry ? entry->section : NULL;
}

bool
cpec_codes_isic_within (const char *code, const char *ancestor)
{
    if (!cpec_codes_isic_valid (ancestor))
        return false;
    for (const char *c = cpec_codes_isic_valid (code) ? code : NULL; c;
         c = cpec_codes_isic_parent (c))
        if (strcmp (c, ancestor) == 0)
            return true;
    return false;
}

int
cpec_codes_isic_count (int level)
{
    if (level < 1 || level > 4)
        return 0;
    s_ready ();
    return s_isic[level].count;
}

const char *
cpec_codes_isic_at (int level, int index)
{
    if (index < 0 || index >= cpec_codes_isic_count (level))
        return NULL;
    return s_isic[level].entries[index].code;
}

//  --------------------------------------------------------------------------
//  HS

static const s_entry_t *
s_hs_find (const char *code)
{
    if (!code)
        return NULL;
    size_t length = strlen (code);
    if ((length != 2 && length != 4 && length != 6) || !s_digits (code, length))
        return NULL;
    s_ready ();
    return s_find (&s_hs[length / 2], code);
}

int
cpec_codes_hs_level (const char *code)
{
    return s_hs_find (code) ? (int)strlen (code) : 0;
}

bool
cpec_codes_hs_valid (const char *code)
{
    return s_hs_find (code) != NULL;
}

const char *
cpec_codes_hs_title (const char *code)
{
    const s_entry_t *entry = s_hs_find (code);
    return entry ? entry->title : NULL;
}

const char *
cpec_codes_hs_parent (const char *code)
{
    const s_entry_t *entry = s_hs_find (code);
    return entry ? entry->parent : NULL;
}

const char *
cpec_codes_hs_section (const char *code)
{
    const s_entry_t *entry = s_hs_find (code);
    return entry ? entry->section : NULL;
}

int
cpec_codes_hs_count (int level)
{
    if (level != 2 && level != 4 && level != 6)
        return 0;
    s_ready ();
    return s_hs[level / 2].count;
}

const char *
cpec_codes_hs_at (int level, int index)
{
    if (index < 0 || index >= cpec_codes_hs_count (level))
        return NULL;
    return s_hs[level / 2].entries[index].code;
}

//  --------------------------------------------------------------------------
//  GB/T 4754-2017

static int
s_gbt_key_compare (const void *key, const void *entry)
{
    return strcmp ((const char *)key, ((const s_gbt_t *)entry)->division);
}

//  The division a code lies in: an optional section letter, then 2, 3 or 4
//  digits whose first two are a division of the table; the letter, if any,
//  must be that division's section. NULL otherwise.
static const s_gbt_t *
s_gbt_find (const char *code)
{
    if (!code)
        return NULL;
    const char *digits = isupper ((unsigned char)code[0]) ? code + 1 : code;
    size_t length = strlen (digits);
    if (length < 2 || length > 4 || !s_digits (digits, length))
        return NULL;
    char division[3] = {digits[0], digits[1], '\0'};
    s_ready ();
    if (!s_gbt_count)
        return NULL;
    const s_gbt_t *entry =
        bsearch (division, s_gbt, (size_t)s_gbt_count, sizeof (s_gbt_t), s_gbt_key_compare);
    if (entry && digits != code && code[0] != entry->section[0])
        return NULL;
    return entry;
}

bool
cpec_codes_gbt_valid (const char *code)
{
    return s_gbt_find (code) != NULL;
}

int
cpec_codes_gbt_isic (const char *code, const char **divisions, int max)
{
    const s_gbt_t *entry = s_gbt_find (code);
    if (!entry)
        return -1;
    for (int i = 0; i < entry->isic_count && i < max; i++)
        divisions[i] = entry->isic[i];
    return entry->isic_count;
}

const char *
cpec_codes_gbt_title (const char *code)
{
    const s_gbt_t *entry = s_gbt_find (code);
    return entry ? entry->title : NULL;
}

int
cpec_codes_gbt_count (void)
{
    s_ready ();
    return s_gbt_count;
}
