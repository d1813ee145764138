/*  cpec_codes - the industry and product code tables: ISIC Rev.4, the
    Harmonized System (HS) and China's GB/T 4754-2017 mapped to ISIC.

    The tables are embedded in the binary at build time from data/isic-rev4.csv,
    data/hs-codes.csv and data/gbt4754-isic.csv (see data/README.md for their
    sources and licences) and parsed on first use, once per process
    (pthread_once); afterwards every lookup is a binary search over a sorted
    array and safe from any thread. Returned strings are borrowed and live as
    long as the process.

    ISIC Rev.4 levels: 1 section ("C"), 2 division ("21"), 3 group ("210"),
    4 class ("2100"). The source table lists the 419 classes with their
    section, division and group, and titles for the classes only: a section,
    division or group is valid when some class lies under it, and its title
    is "" (the table does not carry heading titles).

    HS levels: 2 chapter ("30"), 4 heading ("3004"), 6 subheading ("300490"),
    each with its description, its parent one level up and its section (a
    Roman numeral, "VI").

    GB/T 4754-2017 (Industrial classification for national economic
    activities): the table lists its 97 divisions ("13"), each with its
    section letter as GB/T assigns it (A..T, not ISIC's: wholesale is F51),
    an English title and the ISIC Rev.4 divisions it corresponds to at
    division level (none for a few, see data/README.md). GB/T groups ("131")
    and classes ("1311") are not tabulated: such a code is accepted when its
    first two digits are a division of the table, and answers for that
    division.
*/
#ifndef CPEC_CODES_H_INCLUDED
#define CPEC_CODES_H_INCLUDED

#include <stdbool.h>

//  Splits one CSV record (RFC 4180) in place: fields separated by commas,
//  quoted fields may hold commas, line breaks and doubled quotes (""), the
//  record ends in LF or CRLF, blank lines are skipped. Stores up to max field
//  pointers (unquoted, NUL-terminated, inside the buffer) and advances
//  *cursor_p past the record. Returns the record's number of fields (which
//  may exceed max), 0 at the end of the text, -1 if a field is malformed.
int cpec_codes_csv_record (char **cursor_p, char **fields, int max);

//  NULL when every table loaded; otherwise what was wrong with the embedded
//  data ("hs-codes.csv line 12: ..."), and every lookup finds nothing.
const char *cpec_codes_error (void);

//  The level of an ISIC code in the table (1 section, 2 division, 3 group,
//  4 class), or 0 if it is not one. NULL is allowed.
int cpec_codes_isic_level (const char *code);

//  True if code is a section letter, division, group or class in the table.
bool cpec_codes_isic_valid (const char *code);

//  The English title of a class; "" for a valid section, division or group;
//  NULL if the code is not valid.
const char *cpec_codes_isic_title (const char *code);

//  The code one level up (class -> group -> division -> section); NULL for a
//  section or an invalid code.
const char *cpec_codes_isic_parent (const char *code);

//  The section letter a valid code lies in (itself for a section), or NULL.
const char *cpec_codes_isic_section (const char *code);

//  True if code equals ancestor or lies under it ("1030" under "10" and "C").
//  False if either is not valid.
bool cpec_codes_isic_within (const char *code, const char *ancestor);

//  How many codes the level has (1: 21 sections, 2: 88 divisions, 3: 238
//  groups, 4: 419 classes); 0 for another level.
int cpec_codes_isic_count (int level);

//  The index-th code of a level in ascending order, or NULL out of range.
const char *cpec_codes_isic_at (int level, int index);

//  The level of an HS code in the table (2, 4 or 6), or 0 if it is not one.
int cpec_codes_hs_level (const char *code);

//  True if code is a chapter, heading or subheading in the table.
bool cpec_codes_hs_valid (const char *code);

//  The description of a valid code, or NULL.
const char *cpec_codes_hs_title (const char *code);

//  The code one level up (subheading -> heading -> chapter); NULL for a
//  chapter or an invalid code.
const char *cpec_codes_hs_parent (const char *code);

//  The HS section (Roman numeral, "XI") of a valid code, or NULL.
const char *cpec_codes_hs_section (const char *code);

//  How many codes the level has (2: 97 chapters, 4: 1,229 headings, 6: 5,613
//  subheadings); 0 for another level.
int cpec_codes_hs_count (int level);

//  The index-th code of a level in ascending order, or NULL out of range.
const char *cpec_codes_hs_at (int level, int index);

//  True if code is a GB/T 4754-2017 division ("13"), group ("131") or class
//  ("1311") whose first two digits are a division of the table, optionally
//  prefixed by its section letter as GB/T writes it ("C13", "C1311"); the
//  letter, if given, must be that division's section. Groups and classes
//  are checked by shape only (the table does not list them). NULL is allowed.
bool cpec_codes_gbt_valid (const char *code);

//  The ISIC Rev.4 divisions ("10") that the GB/T division of code maps to,
//  in the table's order (the main one first, where one dominates). Stores up to max borrowed
//  strings in divisions and returns how many there are (which may exceed max; 0 for a division the
//  table leaves unmapped), or -1 if code is not valid.
int cpec_codes_gbt_isic (const char *code, const char **divisions, int max);

//  The English title of the GB/T division of code, or NULL if code is not
//  valid.
const char *cpec_codes_gbt_title (const char *code);

//  How many GB/T divisions the table has (97).
int cpec_codes_gbt_count (void);

#endif
