/*  cpec_client - calls a service through the broker.

    A call packs the input into a cpec.v1.Request (request id, principal,
    absolute deadline, service, method), sends it, and waits for the Reply with
    the same request id. On silence past the attempt timeout it closes the
    socket, opens a new one and resends the same request (Lazy Pirate); on
    UNAVAILABLE it retries after a short backoff; both until the deadline.
    Retries are safe because workers make writes idempotent by request id.
    Not thread-safe: one client per thread.
*/
#ifndef CPEC_CLIENT_H_INCLUDED
#define CPEC_CLIENT_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec_status.h"

typedef struct _cpec_client_t cpec_client_t;

//  A client of the broker at endpoint. NULL if the endpoint is invalid.
cpec_client_t *cpec_client_new (const char *endpoint);

//  Closes the socket; idempotent.
void cpec_client_destroy (cpec_client_t **self_p);

//  The principal sent with every request (copied). Default: subject
//  "anonymous", role VIEWER.
void cpec_client_set_principal (cpec_client_t *self, const char *subject, int role,
                                const char *province);

//  The principal's enterprise id (copied), for an ENTERPRISE; "" or NULL: none.
void cpec_client_set_enterprise (cpec_client_t *self, const char *enterprise_id);

//  How long to wait for one attempt before retrying (default 1500 ms).
void cpec_client_set_attempt_timeout (cpec_client_t *self, int timeout_ms);

//  Calls `method` of the proto service `service` (its broker name is derived
//  from the descriptor). request_id NULL: a new UUID. On OK *output is the
//  decoded reply (free with cpec_pb_destroy). Returns the status code, also in
//  *status with the message: the service's, or DEADLINE_EXCEEDED when no reply
//  came in time, INVALID_ARGUMENT for an unknown method.
int cpec_client_call (cpec_client_t *self, const ProtobufCServiceDescriptor *service,
                      const char *method, const char *request_id, const ProtobufCMessage *input,
                      ProtobufCMessage **output, int timeout_ms, cpec_status_t *status);

//  Low level, for pipelining: sends one request (no retry). 0 or -1.
int cpec_client_send (cpec_client_t *self, const char *service, const char *method,
                      const char *request_id, const ProtobufCMessage *input,
                      int64_t deadline_unix_ms);

//  Low level: the next reply, waiting up to timeout_ms; NULL on timeout. The
//  caller frees it with cpec_pb_destroy.
Cpec__V1__Reply *cpec_client_recv (cpec_client_t *self, int timeout_ms);

#endif
