/*  text.c - what cpecctl's renderers share: texts written into memory, the
    terminal width of UTF-8 text (wide East Asian characters, zero-width
    marks), and grids of aligned columns.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpec_pb.h"
#include "cpecctl.h"

FILE *
cpecctl_text_begin (cpecctl_text_t *self)
{
    self->data = NULL;
    self->size = 0;
    self->out = open_memstream (&self->data, &self->size);
    if (self->out == NULL)
        abort (); //  out of memory, as cpec_realloc
    return self->out;
}

//  Closes the stream; the text is the caller's to free.
char *
cpecctl_text_end (cpecctl_text_t *self)
{
    fclose (self->out);
    return self->data;
}

//  Prints a rendered text on stdout and frees it.
void
cpecctl_put (char *text)
{
    fputs (text, stdout);
    free (text);
}

//  The terminal columns of one character: none for a combining or invisible
//  mark, two for an East Asian wide character, else one.
static size_t
s_code_width (uint32_t code)
{
    static const uint32_t none[][2] = {{0x0300, 0x036F}, {0x0610, 0x061A}, {0x064B, 0x065F},
                                       {0x0670, 0x0670}, {0x06D6, 0x06DC}, {0x06DF, 0x06E4},
                                       {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x200B, 0x200F},
                                       {0x202A, 0x202E}, {0x2060, 0x2069}, {0xFE00, 0xFE0F}};
    static const uint32_t two[][2] = {{0x1100, 0x115F}, {0x2E80, 0x303E}, {0x3041, 0x33FF},
                                      {0x3400, 0x4DBF}, {0x4E00, 0x9FFF}, {0xA000, 0xA4CF},
                                      {0xAC00, 0xD7A3}, {0xF900, 0xFAFF}, {0xFE30, 0xFE4F},
                                      {0xFF00, 0xFF60}, {0xFFE0, 0xFFE6}, {0x20000, 0x3FFFD}};
    for (size_t index = 0; index < sizeof (none) / sizeof (none[0]); index++)
        if (code >= none[index][0] && code <= none[index][1])
            return 0;
    for (size_t index = 0; index < sizeof (two) / sizeof (two[0]); index++)
        if (code >= two[index][0] && code <= two[index][1])
            return 2;
    return 1;
}

//  The terminal columns a UTF-8 text takes; a byte that is not part of a
//  valid sequence counts as one column.
size_t
cpecctl_text_width (const char *text)
{
    size_t width = 0;
    const unsigned char *at = (const unsigned char *)text;
    while (*at) {
        uint32_t code = *at++;
        int extra = code >= 0xF0 && code < 0xF8   ? 3
                    : code >= 0xE0 && code < 0xF0 ? 2
                    : code >= 0xC0 && code < 0xE0 ? 1
                                                  : 0;
        if (extra)
            code &= 0x3Fu >> extra;
        for (; extra > 0 && (*at & 0xC0) == 0x80; extra--)
            code = code << 6 | (*at++ & 0x3Fu);
        width += s_code_width (code);
    }
    return width;
}

void
cpecctl_grid_cell (cpecctl_grid_t *self, const char *format, ...)
{
    char *cell = NULL;
    va_list args;
    va_start (args, format);
    int length = vasprintf (&cell, format, args);
    va_end (args);
    if (length < 0)
        abort ();
    for (char *at = cell; *at; at++)
        if ((unsigned char)*at < 0x20 || *at == 0x7F)
            *at = ' ';
    if (self->count % self->columns == 0) { //  a new row
        size_t rows = self->count / self->columns + 1;
        self->under = cpec_realloc (self->under, rows * sizeof (char *));
        self->under[rows - 1] = NULL;
    }
    self->cells = cpec_realloc (self->cells, (self->count + 1) * sizeof (char *));
    self->cells[self->count++] = cell;
}

//  Sets the lines under the last row (text, each line ending in newline;
//  taken over).
void
cpecctl_grid_under (cpecctl_grid_t *self, char *text)
{
    assert (self->count > 0 && self->count % self->columns == 0);
    size_t row = self->count / self->columns - 1;
    free (self->under[row]);
    self->under[row] = text;
}

//  Writes the rows to out and frees the grid.
void
cpecctl_grid_write (cpecctl_grid_t *self, FILE *out)
{
    assert (self->columns <= CPECCTL_GRID_COLUMNS_MAX && self->count % self->columns == 0);
    size_t widths[CPECCTL_GRID_COLUMNS_MAX] = {0};
    for (size_t index = 0; index < self->count; index++) {
        size_t width = cpecctl_text_width (self->cells[index]);
        if (width > widths[index % self->columns])
            widths[index % self->columns] = width;
    }
    for (size_t index = 0; index < self->count; index++) {
        size_t column = index % self->columns;
        bool last = column + 1 == self->columns;
        bool right = (self->right >> column) & 1;
        int pad = (int)(widths[column] - cpecctl_text_width (self->cells[index]));
        fprintf (out, "%*s%s%*s%s", right ? pad : 0, "", self->cells[index],
                 right || last ? 0 : pad, "", last ? "\n" : "  ");
        free (self->cells[index]);
        if (last) {
            char **under = &self->under[index / self->columns];
            if (*under)
                fputs (*under, out);
            free (*under);
        }
    }
    free (self->cells);
    free (self->under);
    self->cells = self->under = NULL;
    self->count = 0;
}
