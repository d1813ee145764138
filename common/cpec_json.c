/*  cpec_json - protobuf-c messages to and from JSON, through the descriptors.

    Encoding walks a message's descriptor and builds a jansson tree; the text
    form is printed by our own small printer so that doubles come out in their
    shortest round-trip form (1000.1, not 1000.1000000000000227).
    Decoding builds a message from a jansson tree, strictly: the first problem
    stops it, frees what was built, and names the field path.
*/
#include "cpec_json.h"
#include "cpec_check.h"
#include "cpec_pb.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PATH_MAX_SIZE 256

static const char *s_wrapper_names[] = {
    "google.protobuf.DoubleValue", "google.protobuf.FloatValue",  "google.protobuf.Int64Value",
    "google.protobuf.UInt64Value", "google.protobuf.Int32Value",  "google.protobuf.UInt32Value",
    "google.protobuf.BoolValue",   "google.protobuf.StringValue", "google.protobuf.BytesValue",
};

static bool
s_is_wrapper (const ProtobufCMessageDescriptor *descriptor)
{
    for (size_t i = 0; i < sizeof (s_wrapper_names) / sizeof (s_wrapper_names[0]); i++)
        if (strcmp (descriptor->name, s_wrapper_names[i]) == 0)
            return descriptor->n_fields == 1;
    return false;
}

static bool
s_is_timestamp (const ProtobufCMessageDescriptor *descriptor)
{
    return strcmp (descriptor->name, "google.protobuf.Timestamp") == 0;
}

static void *
s_calloc (size_t count, size_t size)
{
    void *memory = calloc (count ? count : 1, size ? size : 1);
    if (!memory) {
        fprintf (stderr, "cpec_json: out of memory\n");
        abort ();
    }
    return memory;
}

//  --------------------------------------------------------------------------
//  Time: RFC 3339 <-> seconds and nanoseconds since the epoch (proleptic
//  Gregorian calendar, H. Hinnant's days_from_civil / civil_from_days).

static int64_t
s_days_from_civil (int64_t year, unsigned month, unsigned day)
{
    year -= month <= 2;
    int64_t era = (year >= 0 ? year : year - 399) / 400;
    unsigned yoe = (unsigned)(year - era * 400);
    unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void
s_civil_from_days (int64_t days, int64_t *year, unsigned *month, unsigned *day)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    unsigned doe = (unsigned)(days - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *day = doy - (153 * mp + 2) / 5 + 1;
    *month = mp < 10 ? mp + 3 : mp - 9;
    *year = (int64_t)yoe + era * 400 + (*month <= 2);
}

static void
s_format_timestamp (int64_t seconds, int64_t nanos, char *buf, size_t size)
{
    //  Outside 0001-01-01 .. 9999-12-31 RFC 3339 has no text: clamp (this
    //  also keeps garbage from a peer away from integer overflow)
    if (seconds < -62135596800)
        seconds = -62135596800;
    if (seconds > 253402300799)
        seconds = 253402300799;
    //  Normalise so that 0 <= nanos < 1e9
    seconds += nanos / 1000000000;
    nanos %= 1000000000;
    if (nanos < 0) {
        seconds -= 1;
        nanos += 1000000000;
    }
    int64_t days = seconds / 86400;
    int64_t rest = seconds % 86400;
    if (rest < 0) {
        days -= 1;
        rest += 86400;
    }
    int64_t year;
    unsigned month, day;
    s_civil_from_days (days, &year, &month, &day);
    int hour = (int)(rest / 3600);
    int minute = (int)(rest % 3600 / 60);
    int second = (int)(rest % 60);
    char fraction[16] = "";
    if (nanos % 1000000 == 0) {
        if (nanos)
            snprintf (fraction, sizeof (fraction), ".%03d", (int)(nanos / 1000000));
    } else if (nanos % 1000 == 0)
        snprintf (fraction, sizeof (fraction), ".%06d", (int)(nanos / 1000));
    else
        snprintf (fraction, sizeof (fraction), ".%09d", (int)nanos);
    snprintf (buf, size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d%sZ", year, month, day, hour,
              minute, second, fraction);
}

//  Reads exactly `count` digits; -1 if any is not a digit.
static int
s_digits (const char **text_p, int count)
{
    int value = 0;
    for (int i = 0; i < count; i++) {
        char c = (*text_p)[i];
        if (c < '0' || c > '9')
            return -1;
        value = value * 10 + (c - '0');
    }
    *text_p += count;
    return value;
}

static bool
s_expect (const char **text_p, const char *choices)
{
    if (**text_p && strchr (choices, **text_p)) {
        (*text_p)++;
        return true;
    }
    return false;
}

static int
s_parse_timestamp (const char *text, int64_t *seconds_p, int32_t *nanos_p)
{
    static const unsigned month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = text;
    int year = s_digits (&p, 4);
    if (year < 1 || !s_expect (&p, "-"))
        return -1;
    int month = s_digits (&p, 2);
    if (month < 1 || month > 12 || !s_expect (&p, "-"))
        return -1;
    int day = s_digits (&p, 2);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    unsigned last_day = month_days[month - 1] + (month == 2 && leap);
    if (day < 1 || (unsigned)day > last_day)
        return -1;
    int64_t seconds = s_days_from_civil (year, (unsigned)month, (unsigned)day) * 86400;
    int64_t nanos = 0;
    if (*p == '\0') { //  A bare date: midnight UTC
        *seconds_p = seconds;
        *nanos_p = 0;
        return 0;
    }
    if (!s_expect (&p, "Tt"))
        return -1;
    int hour = s_digits (&p, 2);
    if (hour < 0 || hour > 23 || !s_expect (&p, ":"))
        return -1;
    int minute = s_digits (&p, 2);
    if (minute < 0 || minute > 59 || !s_expect (&p, ":"))
        return -1;
    int second = s_digits (&p, 2);
    if (second < 0 || second > 59)
        return -1;
    if (s_expect (&p, ".")) {
        int count = 0;
        int64_t scale = 100000000;
        while (*p >= '0' && *p <= '9') {
            if (++count > 9)
                return -1;
            nanos += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
        if (count == 0)
            return -1;
    }
    int offset = 0;
    if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        p++;
        int offset_hour = s_digits (&p, 2);
        if (offset_hour < 0 || offset_hour > 23 || !s_expect (&p, ":"))
            return -1;
        int offset_minute = s_digits (&p, 2);
        if (offset_minute < 0 || offset_minute > 59)
            return -1;
        offset = sign * (offset_hour * 3600 + offset_minute * 60);
    } else if (!s_expect (&p, "Zz"))
        return -1;
    if (*p != '\0')
        return -1;
    seconds += hour * 3600 + minute * 60 + second - offset;
    //  An offset may carry the instant out of years 1..9999 UTC, where it
    //  has no RFC 3339 text to give back (the format clamps): refused
    if (seconds < -62135596800 || seconds > 253402300799)
        return -1;
    *seconds_p = seconds;
    *nanos_p = (int32_t)nanos;
    return 0;
}

void
cpec_json_format_time (int64_t unix_ms, char *buf, size_t size)
{
    assert (buf);
    int64_t seconds = unix_ms / 1000;
    int64_t millis = unix_ms % 1000;
    s_format_timestamp (seconds, millis * 1000000, buf, size);
}

int
cpec_json_parse_time (const char *text, int64_t *unix_ms)
{
    assert (unix_ms);
    int64_t seconds;
    int32_t nanos;
    if (!text || s_parse_timestamp (text, &seconds, &nanos))
        return -1;
    *unix_ms = seconds * 1000 + nanos / 1000000;
    return 0;
}

//  --------------------------------------------------------------------------
//  UTF-8 and base64

//  True when the n bytes are well-formed UTF-8 (no overlongs, no surrogates).
static bool
s_utf8_valid (const char *text, size_t size)
{
    return cpec_check_utf8_prefix (text, size) == size;
}

//  A jansson string for a C string that should be UTF-8: invalid bytes
//  become U+FFFD, so that encoding never fails on a bad string.
static json_t *
s_string_json (const char *text, size_t size)
{
    if (s_utf8_valid (text, size))
        return json_stringn (text, size);
    char *clean = (char *)s_calloc (size * 3 + 1, 1);
    size_t at = 0;
    for (size_t i = 0; i < size;) {
        //  the valid run, then U+FFFD for the byte that stops it
        size_t valid = cpec_check_utf8_prefix (text + i, size - i);
        memcpy (clean + at, text + i, valid);
        at += valid;
        i += valid;
        if (i < size) {
            memcpy (clean + at, "\xef\xbf\xbd", 3);
            at += 3;
            i++;
        }
    }
    json_t *json = json_stringn (clean, at);
    free (clean);
    return json;
}

static char *
s_base64_encode (const uint8_t *data, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *text = (char *)s_calloc ((size + 2) / 3 * 4 + 1, 1);
    size_t at = 0;
    for (size_t i = 0; i < size; i += 3) {
        uint32_t group = (uint32_t)data[i] << 16;
        if (i + 1 < size)
            group |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < size)
            group |= data[i + 2];
        text[at++] = alphabet[(group >> 18) & 63];
        text[at++] = alphabet[(group >> 12) & 63];
        text[at++] = i + 1 < size ? alphabet[(group >> 6) & 63] : '=';
        text[at++] = i + 2 < size ? alphabet[group & 63] : '=';
    }
    text[at] = '\0';
    return text;
}

static int
s_base64_value (char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

//  Standard or URL-safe alphabet, padding optional. -1 if malformed.
static int
s_base64_decode (const char *text, size_t size, ProtobufCBinaryData *out)
{
    size_t length = size;
    while (size > 0 && text[size - 1] == '=')
        size--;
    if (size % 4 == 1 || (length > size && (length % 4 != 0 || length - size > 2)))
        return -1;
    uint8_t *data = (uint8_t *)s_calloc (size / 4 * 3 + 3, 1);
    size_t at = 0;
    uint32_t group = 0;
    int bits = 0;
    for (size_t i = 0; i < size; i++) {
        int value = s_base64_value (text[i]);
        if (value < 0) {
            free (data);
            return -1;
        }
        group = (group << 6) | (uint32_t)value;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            data[at++] = (uint8_t)(group >> bits);
        }
    }
    if (at == 0) {
        free (data);
        data = NULL;
    }
    out->data = data;
    out->len = at;
    return 0;
}

//  --------------------------------------------------------------------------
//  Encoding

static json_t *s_encode_message (const ProtobufCMessage *message, int flags);

static json_t *
s_encode_double (double value)
{
    if (isnan (value))
        return json_string ("NaN");
    if (isinf (value))
        return json_string (value > 0 ? "Infinity" : "-Infinity");
    return json_real (value);
}

//  One value of a field, stored at `slot`.
static json_t *
s_encode_value (const ProtobufCFieldDescriptor *field, const void *slot, int flags)
{
    char buf[64];
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32: return json_integer (*(const int32_t *)slot);
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32: return json_integer (*(const uint32_t *)slot);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
            snprintf (buf, sizeof (buf), "%" PRId64, *(const int64_t *)slot);
            return json_string (buf);
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64:
            snprintf (buf, sizeof (buf), "%" PRIu64, *(const uint64_t *)slot);
            return json_string (buf);
        case PROTOBUF_C_TYPE_FLOAT: return s_encode_double (*(const float *)slot);
        case PROTOBUF_C_TYPE_DOUBLE: return s_encode_double (*(const double *)slot);
        case PROTOBUF_C_TYPE_BOOL: return json_boolean (*(const protobuf_c_boolean *)slot);
        case PROTOBUF_C_TYPE_ENUM: {
            int value = *(const int *)slot;
            const ProtobufCEnumValue *named = protobuf_c_enum_descriptor_get_value (
                (const ProtobufCEnumDescriptor *)field->descriptor, value);
            return named ? json_string (named->name) : json_integer (value);
        }
        case PROTOBUF_C_TYPE_STRING: {
            const char *text = *(char *const *)slot;
            return text ? s_string_json (text, strlen (text)) : json_string ("");
        }
        case PROTOBUF_C_TYPE_BYTES: {
            const ProtobufCBinaryData *bytes = (const ProtobufCBinaryData *)slot;
            char *text = s_base64_encode (bytes->data, bytes->data ? bytes->len : 0);
            json_t *json = json_string (text);
            free (text);
            return json;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessage *message = *(ProtobufCMessage *const *)slot;
            const ProtobufCMessageDescriptor *descriptor =
                (const ProtobufCMessageDescriptor *)field->descriptor;
            if (!message) //  Only in a repeated field or a set oneof member
                return s_is_wrapper (descriptor) ? json_null () : json_object ();
            if (s_is_timestamp (descriptor)) {
                const Google__Protobuf__Timestamp *timestamp =
                    (const Google__Protobuf__Timestamp *)message;
                s_format_timestamp (timestamp->seconds, timestamp->nanos, buf, sizeof (buf));
                return json_string (buf);
            }
            if (s_is_wrapper (descriptor)) {
                const ProtobufCFieldDescriptor *value = &descriptor->fields[0];
                return s_encode_value (value, (const uint8_t *)message + value->offset, flags);
            }
            return s_encode_message (message, flags);
        }
    }
    return json_null ();
}

static bool
s_is_default (const ProtobufCFieldDescriptor *field, const void *slot)
{
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32: return *(const uint32_t *)slot == 0;
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: return *(const uint64_t *)slot == 0;
        case PROTOBUF_C_TYPE_FLOAT:
            return *(const float *)slot == 0 && !signbit (*(const float *)slot);
        case PROTOBUF_C_TYPE_DOUBLE:
            return *(const double *)slot == 0 && !signbit (*(const double *)slot);
        case PROTOBUF_C_TYPE_BOOL: return !*(const protobuf_c_boolean *)slot;
        case PROTOBUF_C_TYPE_ENUM: return *(const int *)slot == 0;
        case PROTOBUF_C_TYPE_STRING: {
            const char *text = *(char *const *)slot;
            return !text || !*text;
        }
        case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)slot)->len == 0;
        case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)slot == NULL;
    }
    return true;
}

static json_t *
s_encode_message (const ProtobufCMessage *message, int flags)
{
    const ProtobufCMessageDescriptor *descriptor = message->descriptor;
    const uint8_t *base = (const uint8_t *)message;
    bool defaults = (flags & CPEC_JSON_DEFAULTS) != 0;
    json_t *object = json_object ();
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        const void *slot = base + field->offset;
        json_t *value = NULL;
        if (field->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t count = *(const size_t *)(base + field->quantifier_offset);
            const uint8_t *array = *(uint8_t *const *)slot;
            if (count == 0 && !defaults)
                continue;
            value = json_array ();
            size_t size = cpec_pb_storage_size (field->type);
            for (size_t k = 0; k < count && array; k++)
                json_array_append_new (value, s_encode_value (field, array + k * size, flags));
        } else if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + field->quantifier_offset);
            if (which != field->id)
                continue;
            if (field->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)slot)
                continue;
            value = s_encode_value (field, slot, flags);
        } else if (field->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (*(ProtobufCMessage *const *)slot)
                value = s_encode_value (field, slot, flags);
            else if (defaults &&
                     s_is_wrapper ((const ProtobufCMessageDescriptor *)field->descriptor))
                value = json_null ();
            else
                continue;
        } else if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset &&
                   field->type != PROTOBUF_C_TYPE_STRING) {
            //  proto2 optional or proto3 `optional`: has_ says whether it is set
            if (!*(const protobuf_c_boolean *)(base + field->quantifier_offset) && !defaults)
                continue;
            value = s_encode_value (field, slot, flags);
        } else {
            if (!defaults && field->label != PROTOBUF_C_LABEL_REQUIRED &&
                s_is_default (field, slot))
                continue;
            value = s_encode_value (field, slot, flags);
        }
        json_object_set_new (object, field->name, value);
    }
    return object;
}

json_t *
cpec_json_from_message (const ProtobufCMessage *message, int flags)
{
    assert (message);
    return s_encode_message (message, flags);
}

//  --------------------------------------------------------------------------
//  Printing: like jansson's json_dumps (JSON_COMPACT, or JSON_INDENT (2)),
//  except that reals are printed in their shortest round-trip form.

typedef struct
{
    char *data;  //  text so far, NUL-terminated
    size_t size; //  its length
    size_t room; //  bytes allocated
} s_buffer_t;

static void
s_append (s_buffer_t *buffer, const char *text, size_t size)
{
    if (buffer->size + size + 1 > buffer->room) {
        size_t room = buffer->room ? buffer->room * 2 : 256;
        while (room < buffer->size + size + 1)
            room *= 2;
        char *data = (char *)realloc (buffer->data, room);
        if (!data) {
            fprintf (stderr, "cpec_json: out of memory\n");
            abort ();
        }
        buffer->data = data;
        buffer->room = room;
    }
    memcpy (buffer->data + buffer->size, text, size);
    buffer->size += size;
    buffer->data[buffer->size] = '\0';
}

static void
s_append_str (s_buffer_t *buffer, const char *text)
{
    s_append (buffer, text, strlen (text));
}

static void
s_append_quoted (s_buffer_t *buffer, const char *text, size_t size)
{
    s_append (buffer, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < size; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        s_append (buffer, text + start, i - start);
        char escape[8];
        switch (c) {
            case '"': s_append_str (buffer, "\\\""); break;
            case '\\': s_append_str (buffer, "\\\\"); break;
            case '\b': s_append_str (buffer, "\\b"); break;
            case '\f': s_append_str (buffer, "\\f"); break;
            case '\n': s_append_str (buffer, "\\n"); break;
            case '\r': s_append_str (buffer, "\\r"); break;
            case '\t': s_append_str (buffer, "\\t"); break;
            default:
                snprintf (escape, sizeof (escape), "\\u%04x", c);
                s_append_str (buffer, escape);
        }
        start = i + 1;
    }
    s_append (buffer, text + start, size - start);
    s_append (buffer, "\"", 1);
}

//  Shortest "%.Ng" that reads back as the same double, in jansson's style:
//  always a '.' or an exponent, no '+' and no leading zeros in the exponent.
static void
s_format_real (double value, char *buf, size_t size)
{
    for (int precision = 15; precision <= 17; precision++) {
        snprintf (buf, size, "%.*g", precision, value);
        if (strtod (buf, NULL) == value)
            break;
    }
    if (!strpbrk (buf, ".eE"))
        strncat (buf, ".0", size - strlen (buf) - 1);
    char *exponent = strpbrk (buf, "eE");
    if (exponent) {
        char *from = exponent + 1;
        char *to = from;
        if (*from == '+')
            from++;
        else if (*from == '-')
            *to++ = *from++;
        while (*from == '0' && from[1])
            from++;
        memmove (to, from, strlen (from) + 1);
    }
}

static void
s_newline (s_buffer_t *buffer, int indent, int depth)
{
    if (indent) {
        s_append (buffer, "\n", 1);
        for (int i = 0; i < indent * depth; i++)
            s_append (buffer, " ", 1);
    }
}

static void
s_print (s_buffer_t *buffer, json_t *json, int indent, int depth)
{
    char number[64];
    switch (json_typeof (json)) {
        case JSON_OBJECT: {
            if (json_object_size (json) == 0) {
                s_append_str (buffer, "{}");
                break;
            }
            s_append_str (buffer, "{");
            const char *key;
            json_t *value;
            bool first = true;
            json_object_foreach (json, key, value)
            {
                if (!first)
                    s_append_str (buffer, ",");
                first = false;
                s_newline (buffer, indent, depth + 1);
                s_append_quoted (buffer, key, strlen (key));
                s_append_str (buffer, indent ? ": " : ":");
                s_print (buffer, value, indent, depth + 1);
            }
            s_newline (buffer, indent, depth);
            s_append_str (buffer, "}");
            break;
        }
        case JSON_ARRAY: {
            if (json_array_size (json) == 0) {
                s_append_str (buffer, "[]");
                break;
            }
            s_append_str (buffer, "[");
            size_t index;
            json_t *value;
            json_array_foreach (json, index, value)
            {
                if (index)
                    s_append_str (buffer, ",");
                s_newline (buffer, indent, depth + 1);
                s_print (buffer, value, indent, depth + 1);
            }
            s_newline (buffer, indent, depth);
            s_append_str (buffer, "]");
            break;
        }
        case JSON_STRING:
            s_append_quoted (buffer, json_string_value (json), json_string_length (json));
            break;
        case JSON_INTEGER:
            snprintf (number, sizeof (number), "%" JSON_INTEGER_FORMAT, json_integer_value (json));
            s_append_str (buffer, number);
            break;
        case JSON_REAL:
            s_format_real (json_real_value (json), number, sizeof (number));
            s_append_str (buffer, number);
            break;
        case JSON_TRUE: s_append_str (buffer, "true"); break;
        case JSON_FALSE: s_append_str (buffer, "false"); break;
        case JSON_NULL: s_append_str (buffer, "null"); break;
    }
}

char *
cpec_json_encode (const ProtobufCMessage *message, int flags)
{
    assert (message);
    json_t *json = s_encode_message (message, flags);
    s_buffer_t buffer = {NULL, 0, 0};
    s_print (&buffer, json, (flags & CPEC_JSON_PRETTY) ? 2 : 0, 0);
    json_decref (json);
    return buffer.data;
}

//  --------------------------------------------------------------------------
//  Decoding

typedef struct
{
    char *error;       //  caller's buffer for the message, or NULL
    size_t error_size; //  its size
} s_decoder_t;

static int s_fail (s_decoder_t *self, const char *path, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_fail (s_decoder_t *self, const char *path, const char *format, ...)
{
    if (self->error && self->error_size) {
        char detail[256];
        va_list args;
        va_start (args, format);
        vsnprintf (detail, sizeof (detail), format, args);
        va_end (args);
        if (path && *path)
            snprintf (self->error, self->error_size, "%s: %s", path, detail);
        else
            snprintf (self->error, self->error_size, "%s", detail);
    }
    return -1;
}

static const char *
s_json_type_name (json_t *json)
{
    switch (json_typeof (json)) {
        case JSON_OBJECT: return "an object";
        case JSON_ARRAY: return "an array";
        case JSON_STRING: return "a string";
        case JSON_INTEGER:
        case JSON_REAL: return "a number";
        case JSON_TRUE:
        case JSON_FALSE: return "a boolean";
        case JSON_NULL: return "null";
    }
    return "?";
}

//  An integer from a JSON number (integral) or a decimal string, checked
//  against [min, max]. Returns 0, -1 for a wrong type, -2 when out of range.
static int
s_get_signed (json_t *json, int64_t min, int64_t max, int64_t *out)
{
    int64_t value;
    if (json_is_integer (json))
        value = json_integer_value (json);
    else if (json_is_real (json)) {
        double real = json_real_value (json);
        if (real != floor (real))
            return -1;
        if (!(real >= -9223372036854775808.0 && real < 9223372036854775808.0))
            return -2;
        value = (int64_t)real;
    } else if (json_is_string (json)) {
        const char *text = json_string_value (json);
        const char *digits = text[0] == '-' ? text + 1 : text;
        if (!*digits || strspn (digits, "0123456789") != strlen (digits) ||
            json_string_length (json) != strlen (text))
            return -1;
        errno = 0;
        long long parsed = strtoll (text, NULL, 10);
        if (errno == ERANGE)
            return -2;
        value = parsed;
    } else
        return -1;
    if (value < min || value > max)
        return -2;
    *out = value;
    return 0;
}

static int
s_get_unsigned (json_t *json, uint64_t max, uint64_t *out)
{
    uint64_t value;
    if (json_is_integer (json)) {
        if (json_integer_value (json) < 0)
            return -2;
        value = (uint64_t)json_integer_value (json);
    } else if (json_is_real (json)) {
        double real = json_real_value (json);
        if (real != floor (real))
            return -1;
        if (!(real >= 0 && real < 18446744073709551616.0))
            return -2;
        value = (uint64_t)real;
    } else if (json_is_string (json)) {
        const char *text = json_string_value (json);
        if (text[0] == '-' && text[1] && strspn (text + 1, "0123456789") == strlen (text + 1))
            return -2;
        if (!*text || strspn (text, "0123456789") != strlen (text) ||
            json_string_length (json) != strlen (text))
            return -1;
        errno = 0;
        unsigned long long parsed = strtoull (text, NULL, 10);
        if (errno == ERANGE)
            return -2;
        value = parsed;
    } else
        return -1;
    if (value > max)
        return -2;
    *out = value;
    return 0;
}

//  True when text is a JSON number (what proto3 accepts as a quoted float).
static bool
s_is_number_text (const char *text)
{
    const char *p = text;
    if (*p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return false;
    p += strspn (p, "0123456789");
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        p += strspn (p, "0123456789");
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        p += strspn (p, "0123456789");
    }
    return *p == '\0';
}

static int
s_get_double (s_decoder_t *self, const char *path, json_t *json, bool is_float, double *out)
{
    double value;
    if (json_is_number (json))
        value = json_number_value (json);
    else if (json_is_string (json)) {
        const char *text = json_string_value (json);
        if (strcmp (text, "NaN") == 0)
            value = NAN;
        else if (strcmp (text, "Infinity") == 0)
            value = INFINITY;
        else if (strcmp (text, "-Infinity") == 0)
            value = -INFINITY;
        else if (s_is_number_text (text)) {
            value = strtod (text, NULL);
            if (isinf (value))
                return s_fail (self, path, "number out of range");
        } else
            return s_fail (self, path, "expected a number, got \"%.40s\"", text);
    } else
        return s_fail (self, path, "expected a number, got %s", s_json_type_name (json));
    if (is_float && isfinite (value) && fabs (value) > FLT_MAX)
        return s_fail (self, path, "number out of range for float");
    *out = value;
    return 0;
}

//  Decodes an integer field's value into slot, with range checks.
static int
s_decode_integer (s_decoder_t *self, const ProtobufCFieldDescriptor *field, json_t *json,
                  const char *path, void *slot)
{
    bool is_unsigned =
        field->type == PROTOBUF_C_TYPE_UINT32 || field->type == PROTOBUF_C_TYPE_FIXED32 ||
        field->type == PROTOBUF_C_TYPE_UINT64 || field->type == PROTOBUF_C_TYPE_FIXED64;
    bool is_64 = cpec_pb_storage_size (field->type) == 8;
    int64_t signed_value = 0;
    uint64_t unsigned_value = 0;
    int rc;
    if (is_unsigned)
        rc = s_get_unsigned (json, is_64 ? UINT64_MAX : UINT32_MAX, &unsigned_value);
    else
        rc = s_get_signed (json, is_64 ? INT64_MIN : INT32_MIN, is_64 ? INT64_MAX : INT32_MAX,
                           &signed_value);
    if (rc == -1) {
        if (json_is_real (json))
            return s_fail (self, path, "expected an integer, got %g", json_real_value (json));
        if (json_is_string (json))
            return s_fail (self, path, "expected an integer, got \"%.40s\"",
                           json_string_value (json));
        return s_fail (self, path, "expected an integer, got %s", s_json_type_name (json));
    }
    if (rc == -2)
        return s_fail (self, path, "integer out of range for %s%s", is_unsigned ? "uint" : "int",
                       is_64 ? "64" : "32");
    if (is_unsigned && is_64)
        *(uint64_t *)slot = unsigned_value;
    else if (is_unsigned)
        *(uint32_t *)slot = (uint32_t)unsigned_value;
    else if (is_64)
        *(int64_t *)slot = signed_value;
    else
        *(int32_t *)slot = (int32_t)signed_value;
    return 0;
}

static ProtobufCMessage *s_decode_message (s_decoder_t *self,
                                           const ProtobufCMessageDescriptor *descriptor,
                                           json_t *json, const char *path);

//  Decodes one (non-null) value of `field` into `slot`. On failure the slot is
//  unchanged and nothing is leaked.
static int
s_decode_value (s_decoder_t *self, const ProtobufCFieldDescriptor *field, json_t *json,
                const char *path, void *slot)
{
    int64_t signed_value;
    double real;
    switch (field->type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32:
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: return s_decode_integer (self, field, json, path, slot);
        case PROTOBUF_C_TYPE_FLOAT:
            if (s_get_double (self, path, json, true, &real))
                return -1;
            *(float *)slot = (float)real;
            return 0;
        case PROTOBUF_C_TYPE_DOUBLE:
            if (s_get_double (self, path, json, false, &real))
                return -1;
            *(double *)slot = real;
            return 0;
        case PROTOBUF_C_TYPE_BOOL:
            if (!json_is_boolean (json))
                return s_fail (self, path, "expected true or false, got %s",
                               s_json_type_name (json));
            *(protobuf_c_boolean *)slot = json_is_true (json);
            return 0;
        case PROTOBUF_C_TYPE_ENUM: {
            const ProtobufCEnumDescriptor *descriptor =
                (const ProtobufCEnumDescriptor *)field->descriptor;
            const ProtobufCEnumValue *value = NULL;
            if (json_is_string (json)) {
                value = protobuf_c_enum_descriptor_get_value_by_name (descriptor,
                                                                      json_string_value (json));
                if (!value)
                    return s_fail (self, path, "unknown value \"%.60s\" of enum %s",
                                   json_string_value (json), descriptor->name);
            } else if (json_is_number (json)) {
                if (s_get_signed (json, INT32_MIN, INT32_MAX, &signed_value) == 0)
                    value = protobuf_c_enum_descriptor_get_value (descriptor, (int)signed_value);
                if (!value)
                    return s_fail (self, path, "unknown value %g of enum %s",
                                   json_number_value (json), descriptor->name);
            } else
                return s_fail (self, path, "expected a value name of enum %s, got %s",
                               descriptor->name, s_json_type_name (json));
            *(int *)slot = value->value;
            return 0;
        }
        case PROTOBUF_C_TYPE_STRING: {
            if (!json_is_string (json))
                return s_fail (self, path, "expected a string, got %s", s_json_type_name (json));
            const char *text = json_string_value (json);
            size_t size = json_string_length (json);
            if (strlen (text) != size)
                return s_fail (self, path, "string contains a NUL character");
            if (!s_utf8_valid (text, size))
                return s_fail (self, path, "string is not valid UTF-8");
            *(char **)slot = cpec_strdup (text);
            return 0;
        }
        case PROTOBUF_C_TYPE_BYTES: {
            if (!json_is_string (json))
                return s_fail (self, path, "expected a base64 string, got %s",
                               s_json_type_name (json));
            ProtobufCBinaryData bytes;
            if (s_base64_decode (json_string_value (json), json_string_length (json), &bytes))
                return s_fail (self, path, "invalid base64");
            *(ProtobufCBinaryData *)slot = bytes;
            return 0;
        }
        case PROTOBUF_C_TYPE_MESSAGE: {
            const ProtobufCMessageDescriptor *descriptor =
                (const ProtobufCMessageDescriptor *)field->descriptor;
            ProtobufCMessage *message = NULL;
            if (s_is_timestamp (descriptor)) {
                if (!json_is_string (json))
                    return s_fail (self, path, "expected an RFC 3339 timestamp, got %s",
                                   s_json_type_name (json));
                int64_t seconds;
                int32_t nanos;
                if (s_parse_timestamp (json_string_value (json), &seconds, &nanos))
                    return s_fail (self, path, "invalid RFC 3339 timestamp \"%.40s\"",
                                   json_string_value (json));
                Google__Protobuf__Timestamp *timestamp =
                    (Google__Protobuf__Timestamp *)cpec_pb_new (descriptor);
                timestamp->seconds = seconds;
                timestamp->nanos = nanos;
                message = &timestamp->base;
            } else if (s_is_wrapper (descriptor)) {
                const ProtobufCFieldDescriptor *inner = &descriptor->fields[0];
                message = cpec_pb_new (descriptor);
                if (s_decode_value (self, inner, json, path, (uint8_t *)message + inner->offset)) {
                    cpec_pb_destroy (&message);
                    return -1;
                }
            } else {
                message = s_decode_message (self, descriptor, json, path);
                if (!message)
                    return -1;
            }
            *(ProtobufCMessage **)slot = message;
            return 0;
        }
    }
    return s_fail (self, path, "unsupported field type");
}

//  The field for a JSON key: the proto name, or its lowerCamelCase JSON name.
static const ProtobufCFieldDescriptor *
s_find_field (const ProtobufCMessageDescriptor *descriptor, const char *key)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (descriptor, key);
    if (field)
        return field;
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const char *name = descriptor->fields[i].name;
        const char *k = key;
        bool upper = false;
        for (; *name; name++) {
            if (*name == '_') {
                upper = true;
                continue;
            }
            char expected = upper && *name >= 'a' && *name <= 'z' ? (char)(*name - 32) : *name;
            upper = false;
            if (*k != expected)
                break;
            k++;
        }
        if (!*name && !*k && strchr (descriptor->fields[i].name, '_'))
            return &descriptor->fields[i];
    }
    return NULL;
}

//  path + separator + name into buf, cut short when it does not fit.
static void
s_path_join (char *buf, size_t size, const char *path, const char *separator, const char *name)
{
    const char *parts[] = {path, path && *path ? separator : "", name};
    size_t at = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t length = parts[i] ? strlen (parts[i]) : 0;
        if (length > size - 1 - at)
            length = size - 1 - at;
        if (length)
            memcpy (buf + at, parts[i], length);
        at += length;
    }
    buf[at] = '\0';
}

//  Decodes one member of an object into the message. 0 or -1.
static int
s_decode_field (s_decoder_t *self, ProtobufCMessage *message, const ProtobufCFieldDescriptor *field,
                json_t *json, const char *path)
{
    uint8_t *base = (uint8_t *)message;
    void *slot = base + field->offset;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        if (!json_is_array (json))
            return s_fail (self, path, "expected an array, got %s", s_json_type_name (json));
        size_t count = json_array_size (json);
        size_t size = cpec_pb_storage_size (field->type);
        size_t *quantifier = (size_t *)(base + field->quantifier_offset);
        if (count == 0)
            return 0;
        //  The count grows with each decoded element, so that a failure
        //  part-way leaves a message that cpec_pb_destroy frees exactly.
        uint8_t *array = (uint8_t *)s_calloc (count, size);
        *(uint8_t **)slot = array;
        *quantifier = 0;
        for (size_t i = 0; i < count; i++) {
            char element_path[PATH_MAX_SIZE];
            char index[32];
            snprintf (index, sizeof (index), "[%zu]", i);
            s_path_join (element_path, sizeof (element_path), path, "", index);
            json_t *element = json_array_get (json, i);
            if (json_is_null (element))
                return s_fail (self, element_path, "null is not allowed in a repeated field");
            if (s_decode_value (self, field, element, element_path, array + i * size))
                return -1;
            *quantifier = i + 1;
        }
        return 0;
    }
    if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *which = (uint32_t *)(base + field->quantifier_offset);
        if (*which != 0) {
            const ProtobufCFieldDescriptor *other =
                protobuf_c_message_descriptor_get_field (message->descriptor, *which);
            return s_fail (self, path, "only one member of a oneof may be set, and %s is set",
                           other ? other->name : "another");
        }
        if (s_decode_value (self, field, json, path, slot))
            return -1;
        *which = field->id;
        return 0;
    }
    if (s_decode_value (self, field, json, path, slot))
        return -1;
    if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset &&
        field->type != PROTOBUF_C_TYPE_MESSAGE && field->type != PROTOBUF_C_TYPE_STRING)
        *(protobuf_c_boolean *)(base + field->quantifier_offset) = 1;
    return 0;
}

static ProtobufCMessage *
s_decode_message (s_decoder_t *self, const ProtobufCMessageDescriptor *descriptor, json_t *json,
                  const char *path)
{
    if (!json_is_object (json)) {
        s_fail (self, path, "expected an object, got %s", s_json_type_name (json));
        return NULL;
    }
    ProtobufCMessage *message = cpec_pb_new (descriptor);
    bool *seen = (bool *)s_calloc (descriptor->n_fields, sizeof (bool));
    const char *key;
    json_t *value;
    json_object_foreach (json, key, value)
    {
        char field_path[PATH_MAX_SIZE];
        s_path_join (field_path, sizeof (field_path), path, ".", key);
        const ProtobufCFieldDescriptor *field = s_find_field (descriptor, key);
        if (!field) {
            s_fail (self, field_path, "unknown field");
            goto failed;
        }
        size_t index = (size_t)(field - descriptor->fields);
        s_path_join (field_path, sizeof (field_path), path, ".", field->name);
        if (seen[index]) {
            s_fail (self, field_path, "field given twice");
            goto failed;
        }
        seen[index] = true;
        if (json_is_null (value))
            continue; //  null: leave the field at its default
        if (s_decode_field (self, message, field, value, field_path))
            goto failed;
    }
    free (seen);
    return message;

failed:
    free (seen);
    cpec_pb_destroy (&message);
    return NULL;
}

ProtobufCMessage *
cpec_json_to_message (const ProtobufCMessageDescriptor *descriptor, json_t *json, char *error,
                      size_t error_size)
{
    assert (descriptor);
    s_decoder_t decoder = {error, error_size};
    if (error && error_size)
        error[0] = '\0';
    if (!json_is_object (json)) {
        s_fail (&decoder, NULL, "expected a JSON object, got %s",
                json ? s_json_type_name (json) : "nothing");
        return NULL;
    }
    return s_decode_message (&decoder, descriptor, json, "");
}

ProtobufCMessage *
cpec_json_decode (const ProtobufCMessageDescriptor *descriptor, const char *text, size_t size,
                  char *error, size_t error_size)
{
    assert (descriptor);
    s_decoder_t decoder = {error, error_size};
    json_error_t json_error;
    json_t *json = json_loadb (text ? text : "", text ? size : 0,
                               JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &json_error);
    if (!json) {
        s_fail (&decoder, NULL, "invalid JSON at line %d, column %d: %s", json_error.line,
                json_error.column, json_error.text);
        return NULL;
    }
    ProtobufCMessage *message = cpec_json_to_message (descriptor, json, error, error_size);
    json_decref (json);
    return message;
}
