/*  cpec_status - canonical status codes (the gRPC set) with a human message.

    A cpec_status_t is a plain value: code plus message. Functions that can
    fail for reasons a caller must report take a `cpec_status_t *` and return
    its code (CPEC_OK is 0).
*/
#ifndef CPEC_STATUS_H_INCLUDED
#define CPEC_STATUS_H_INCLUDED

#include <stdarg.h>

//  Same numbers as cpec.v1.Status.Code in proto/cpec/v1/envelope.proto.
typedef enum
{
    CPEC_OK = 0,
    CPEC_CANCELLED = 1,
    CPEC_UNKNOWN = 2,
    CPEC_INVALID_ARGUMENT = 3,
    CPEC_DEADLINE_EXCEEDED = 4,
    CPEC_NOT_FOUND = 5,
    CPEC_ALREADY_EXISTS = 6,
    CPEC_PERMISSION_DENIED = 7,
    CPEC_RESOURCE_EXHAUSTED = 8,
    CPEC_FAILED_PRECONDITION = 9,
    CPEC_ABORTED = 10,
    CPEC_OUT_OF_RANGE = 11,
    CPEC_UNIMPLEMENTED = 12,
    CPEC_INTERNAL = 13,
    CPEC_UNAVAILABLE = 14,
    CPEC_DATA_LOSS = 15,
    CPEC_UNAUTHENTICATED = 16
} cpec_code_t;

#define CPEC_STATUS_MESSAGE_MAX 512

typedef struct
{
    int code;                              //  a cpec_code_t
    char message[CPEC_STATUS_MESSAGE_MAX]; //  human message, "" when OK
} cpec_status_t;

//  Sets code and a printf-style message; returns code. A NULL status is allowed.
int cpec_status_set (cpec_status_t *self, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Resets to OK with an empty message.
void cpec_status_clear (cpec_status_t *self);

//  "INVALID_ARGUMENT" for 3; "UNKNOWN" for a number outside the set.
const char *cpec_code_name (int code);

//  The code for a name such as "NOT_FOUND", or -1.
int cpec_code_from_name (const char *name);

//  The HTTP status the way grpc-gateway maps it (400, 404, 409, 412, ...).
int cpec_code_http (int code);

#endif
