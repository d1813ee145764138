/*  cpec_check - the building blocks of input validation shared by the
    services: text, slugs and times. Pure functions: no Redis, no clock.

    Each check returns 0, or CPEC_INVALID_ARGUMENT after setting status to a
    message that starts with the field's path ("title: required").
*/
#ifndef CPEC_CHECK_H_INCLUDED
#define CPEC_CHECK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec_pb.h"
#include "cpec_status.h"

//  How many of the size bytes of text, from the start, are valid UTF-8 (size
//  when all are; overlong forms, surrogates and values past U+10FFFF are
//  invalid; NUL is valid).
size_t cpec_check_utf8_prefix (const char *text, size_t size);

//  Code points in a UTF-8 string, or -1 when it is not valid UTF-8.
long cpec_check_utf8_length (const char *string);

//  A text field: valid UTF-8 of at most max characters; required if asked.
int cpec_check_text (const char *path, const char *value, bool required, long max,
                     cpec_status_t *status);

//  True for ^[a-z0-9]+(-[a-z0-9]+)*$ of 2..max characters.
bool cpec_check_slug_valid (const char *string, int max);

//  A required slug of 2..max characters.
int cpec_check_slug (const char *path, const char *value, int max, cpec_status_t *status);

//  A Timestamp (NULL passes) in Google's range with nanos in [0, 1e9); not
//  after latest_ms unless that is 0.
int cpec_check_timestamp (const char *path, const Google__Protobuf__Timestamp *timestamp,
                          int64_t latest_ms, cpec_status_t *status);

#endif
