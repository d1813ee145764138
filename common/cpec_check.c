/*  cpec_check - the building blocks of input validation. */
#include "cpec_check.h"

#include <stdio.h>
#include <string.h>

//  Google's Timestamp range: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
#define S_TIMESTAMP_MIN -62135596800LL
#define S_TIMESTAMP_MAX 253402300799LL

long
cpec_check_utf8_length (const char *string)
{
    const unsigned char *c = (const unsigned char *)string;
    long count = 0;
    while (*c) {
        uint32_t point;
        int extra;
        if (*c < 0x80) {
            point = *c;
            extra = 0;
        } else if ((*c & 0xe0) == 0xc0) {
            point = *c & 0x1f;
            extra = 1;
        } else if ((*c & 0xf0) == 0xe0) {
            point = *c & 0x0f;
            extra = 2;
        } else if ((*c & 0xf8) == 0xf0) {
            point = *c & 0x07;
            extra = 3;
        } else
            return -1;
        c++;
        for (int i = 0; i < extra; i++, c++) {
            if ((*c & 0xc0) != 0x80)
                return -1; //  also catches the terminating NUL
            point = (point << 6) | (*c & 0x3f);
        }
        static const uint32_t least[] = {0, 0x80, 0x800, 0x10000};
        if (point < least[extra] || point > 0x10ffff || (point >= 0xd800 && point <= 0xdfff))
            return -1;
        count++;
    }
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
