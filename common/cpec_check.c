/*  cpec_check - the building blocks of input validation. */
#include "cpec_check.h"

#include <stdio.h>
#include <string.h>

//  Google's Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
#define S_TIMESTAMP_MIN -62135596800LL
#define S_TIMESTAMP_MAX 253402300799LL

size_t
cpec_check_utf8_prefix (const char *text, size_t size)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < size) {
        unsigned char c = s[i];
        size_t extra;
        uint32_t point;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
            point = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            point = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            point = c & 0x07;
        } else
            return i;
        if (i + extra >= size)
            return i;
        for (size_t k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            point = (point << 6) | (s[i + k] & 0x3f);
        }
        if ((extra == 2 && point < 0x800) || (extra == 3 && point < 0x10000) || point > 0x10ffff ||
            (point >= 0xd800 && point <= 0xdfff))
            return i;
        i += extra + 1;
    }
    return size;
}

long
cpec_check_utf8_length (const char *string)
{
    size_t size = strlen (string);
    if (cpec_check_utf8_prefix (string, size) != size)
        return -1;
    long count = 0;
    for (size_t i = 0; i < size; i++)
        count += ((unsigned char)string[i] & 0xc0) != 0x80; //  not a continuation byte
    return count;
}

int
cpec_check_text (const char *path, const char *value, bool required, long max,
                 cpec_status_t *status)
{
    if (!value || !*value)
        return required ? cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: required", path) : 0;
    long length = cpec_check_utf8_length (value);
    if (length < 0)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: not valid UTF-8", path);
    if (length > max)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: at most %ld characters (got %ld)", path, max, length);
    return 0;
}

bool
cpec_check_slug_valid (const char *string, int max)
{
    if (!string)
        return false;
    size_t length = strlen (string);
    if (length < 2 || length > (size_t)max)
        return false;
    bool after_hyphen = true; //  at the start, a hyphen is as wrong as after one
    for (const char *c = string; *c; c++) {
        if (*c == '-') {
            if (after_hyphen)
                return false;
            after_hyphen = true;
        } else if ((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'))
            after_hyphen = false;
        else
            return false;
    }
    return !after_hyphen;
}

int
cpec_check_slug (const char *path, const char *value, int max, cpec_status_t *status)
{
    if (!value || !*value)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: required", path);
    if (!cpec_check_slug_valid (value, max))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: must be a slug of 2 to %d characters: lowercase letters and "
                                "digits, single hyphens between (got \"%.80s\")",
                                path, max, value);
    return 0;
}

int
cpec_check_timestamp (const char *path, const Google__Protobuf__Timestamp *timestamp,
                      int64_t latest_ms, cpec_status_t *status)
{
    if (!timestamp)
        return 0;
    if (timestamp->seconds < S_TIMESTAMP_MIN || timestamp->seconds > S_TIMESTAMP_MAX ||
        timestamp->nanos < 0 || timestamp->nanos > 999999999)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: not a valid time (seconds %lld, nanos %d)", path,
                                (long long)timestamp->seconds, (int)timestamp->nanos);
    if (latest_ms && cpec_pb_timestamp_ms (timestamp) > latest_ms)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: lies in the future", path);
    return 0;
}
