/*  cpec_json - protobuf-c messages to and from JSON, through the descriptors.

    The proto3 JSON mapping with proto field names: enums by value name
    ("PROPOSED"), google.protobuf.Timestamp as RFC 3339 UTC strings
    ("2020-09-14T00:00:00Z"), wrapper types (DoubleValue, ...) as their plain
    value or null, int64/uint64 as decimal strings on output (numbers or strings
    accepted on input), bytes as base64, a oneof as its one set member.
    No sockets, no I/O: a codec testable alone.
*/
#ifndef CPEC_JSON_H_INCLUDED
#define CPEC_JSON_H_INCLUDED

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

enum
{
    CPEC_JSON_PRETTY = 1,   //  indent by 2
    CPEC_JSON_DEFAULTS = 2, //  also emit fields at their default (scalars,
                            //  empty arrays; unset wrappers as null)
};

//  Encodes a message; the string is the caller's to free. Never NULL for a
//  valid message.
char *cpec_json_encode (const ProtobufCMessage *message, int flags);

//  The same as a jansson value (a new reference).
json_t *cpec_json_from_message (const ProtobufCMessage *message, int flags);

//  Decodes JSON text into a new message of type `descriptor` (free with
//  cpec_pb_destroy). On error returns NULL and writes a message naming the
//  field to `error`, e.g. "sez.area_acres: expected a number". Unknown fields,
//  wrong types, unknown enum names and bad timestamps are errors.
ProtobufCMessage *cpec_json_decode (const ProtobufCMessageDescriptor *descriptor, const char *text,
                                    size_t size, char *error, size_t error_size);

//  The same from a jansson value (borrowed).
ProtobufCMessage *cpec_json_to_message (const ProtobufCMessageDescriptor *descriptor, json_t *json,
                                        char *error, size_t error_size);

//  RFC 3339 UTC text for Unix milliseconds: "2022-02-04T00:00:00Z", with
//  ".123" when milliseconds are not zero. buf holds at least 32 bytes.
void cpec_json_format_time (int64_t unix_ms, char *buf, size_t size);

//  Parses RFC 3339 ("2022-02-04T10:00:00Z", "...+05:00", fractional seconds)
//  or a plain date "2022-02-04" (midnight UTC). Returns 0, or -1 if invalid.
int cpec_json_parse_time (const char *text, int64_t *unix_ms);

#endif
