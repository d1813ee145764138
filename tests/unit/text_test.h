/*  text_test.h - text helpers of the unit tests (include after cmocka.h). */
#ifndef TEXT_TEST_H_INCLUDED
#define TEXT_TEST_H_INCLUDED

#include <stdlib.h>
#include <string.h>

#include "cpec_json.h"

//  A string of n copies of unit (the caller frees it).
static inline char *
text_repeat (const char *unit, size_t n)
{
    size_t size = strlen (unit);
    char *text = malloc (size * n + 1);
    assert_non_null (text);
    for (size_t i = 0; i < n; i++)
        memcpy (text + i * size, unit, size);
    text[size * n] = '\0';
    return text;
}

//  A message of `descriptor` from JSON text; fails the test if it does not decode.
static inline ProtobufCMessage *
text_decode (const ProtobufCMessageDescriptor *descriptor, const char *text)
{
    char error[256] = "";
    ProtobufCMessage *message =
        cpec_json_decode (descriptor, text, strlen (text), error, sizeof (error));
    if (message == NULL)
        fail_msg ("cannot decode %s: %s", descriptor->name, error);
    return message;
}

#endif
