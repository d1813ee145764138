/*  cpec_status - canonical status codes. */
#include "cpec_status.h"

#include <stdio.h>
#include <string.h>

static const char *s_names[] = {
    "OK",        "CANCELLED",      "UNKNOWN",           "INVALID_ARGUMENT",   "DEADLINE_EXCEEDED",
    "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
    "ABORTED",   "OUT_OF_RANGE",   "UNIMPLEMENTED",     "INTERNAL",           "UNAVAILABLE",
    "DATA_LOSS", "UNAUTHENTICATED"};

#define S_COUNT ((int)(sizeof (s_names) / sizeof (s_names[0])))

int
cpec_status_set (cpec_status_t *self, int code, const char *format, ...)
{
    if (!self)
        return code;
    self->code = code;
    va_list args;
    va_start (args, format);
    vsnprintf (self->message, sizeof (self->message), format, args);
    va_end (args);
    return code;
}

void
cpec_status_clear (cpec_status_t *self)
{
    if (!self)
        return;
    self->code = CPEC_OK;
    self->message[0] = '\0';
}

const char *
cpec_code_name (int code)
{
    return code >= 0 && code < S_COUNT ? s_names[code] : "UNKNOWN";
}

int
cpec_code_from_name (const char *name)
{
    for (int i = 0; name && i < S_COUNT; i++)
        if (strcmp (name, s_names[i]) == 0)
            return i;
    return -1;
}

int
cpec_code_http (int code)
{
    switch (code) {
        case CPEC_OK: return 200;
        case CPEC_CANCELLED: return 499;
        case CPEC_INVALID_ARGUMENT: return 400;
        case CPEC_DEADLINE_EXCEEDED: return 504;
        case CPEC_NOT_FOUND: return 404;
        case CPEC_ALREADY_EXISTS: return 409;
        case CPEC_PERMISSION_DENIED: return 403;
        case CPEC_RESOURCE_EXHAUSTED: return 429;
        case CPEC_FAILED_PRECONDITION: return 400; //  412 is If-Match's
        case CPEC_ABORTED: return 409;
        case CPEC_OUT_OF_RANGE: return 400;
        case CPEC_UNIMPLEMENTED: return 501;
        case CPEC_UNAVAILABLE: return 503;
        case CPEC_UNAUTHENTICATED: return 401;
        default: return 500;
    }
}
