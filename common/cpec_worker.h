/*  cpec_worker - serves one proto service through the broker.

    Connects a DEALER to the broker, sends READY with the service name, and
    serves requests one at a time: the method is looked up by name in the
    protoc-c service descriptor, the input unpacked with the method's input
    descriptor, the handler called with a fresh output message, the output
    packed into the Reply. Heartbeats both ways; after 3 silent intervals it
    reconnects (the broker restarted or went away).

    Answers without calling a handler: UNIMPLEMENTED (unknown method),
    INVALID_ARGUMENT (body does not decode), RESOURCE_EXHAUSTED (body larger than
    the limit), DEADLINE_EXCEEDED (deadline passed before it was served).
*/
#ifndef CPEC_WORKER_H_INCLUDED
#define CPEC_WORKER_H_INCLUDED

#include <czmq.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec_metrics.h"
#include "cpec_status.h"

//  What a handler knows about the request it serves. Borrowed for the call.
typedef struct
{
    const char *request_id;
    const Cpec__V1__Principal *principal; //  never NULL (empty if none sent)
    int64_t deadline_unix_ms;
    const char *method;
    cpec_status_t *status; //  set with cpec_status_set on error
    //  Optional: a handler that has its answer already packed (an entity as
    //  stored) hands over a malloc'd buffer here instead of filling `output`;
    //  the worker sends it as the reply body and frees it.
    uint8_t *packed_output;
    size_t packed_size;
} cpec_call_t;

//  A handler fills `output` (a fresh message of the method's output type whose
//  strings, arrays and sub-messages it mallocs; the worker frees the tree) and
//  returns CPEC_OK, or an error code after cpec_status_set (call->status, ...).
typedef int (cpec_handler_fn) (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                               ProtobufCMessage *output);

typedef struct
{
    const char *method; //  proto method name, e.g. "GetSez"
    cpec_handler_fn *handler;
} cpec_method_t;

typedef struct _cpec_worker_t cpec_worker_t;

//  A worker for `service` with handlers (terminated by {NULL, NULL}); state is
//  passed to every handler. Methods of the descriptor without a handler answer
//  UNIMPLEMENTED. NULL on error.
cpec_worker_t *cpec_worker_new (const char *endpoint, const ProtobufCServiceDescriptor *service,
                                const cpec_method_t *methods, void *state);

//  Stops taking work: tells the broker (DISCONNECT), then serves the
//  requests it had already taken, until none has arrived for quiet_ms.
//  Call before destroy on SIGTERM, so that no taken request is dropped.
void cpec_worker_stop (cpec_worker_t *self, int quiet_ms);

//  Sends DISCONNECT to the broker and closes; idempotent.
void cpec_worker_destroy (cpec_worker_t **self_p);

//  Records per-method metrics there (borrowed).
void cpec_worker_set_metrics (cpec_worker_t *self, cpec_metrics_t *metrics);

//  Sets the heartbeat interval (default 1000 ms) and the largest body (default
//  1 MiB). Call before the first poll.
void cpec_worker_set_heartbeat (cpec_worker_t *self, int interval_ms);
void cpec_worker_set_max_message (cpec_worker_t *self, size_t bytes);

//  How many requests the broker may hand this worker at once (default 8).
//  The worker serves them one after the other; a window hides the round trip
//  to the broker between them. Re-registers when already connected.
void cpec_worker_set_window (cpec_worker_t *self, int window);

//  Calls after (arg) each time a request has been answered: work that need
//  not hold up the answer (NULL: none).
void cpec_worker_set_after (cpec_worker_t *self, void (*after) (void *arg), void *arg);

//  Serves what arrives within timeout_ms, sends heartbeats and reconnects
//  when the broker has gone silent. Returns 0, or -1 when interrupted.
int cpec_worker_poll (cpec_worker_t *self, int timeout_ms);

//  True once registered and the broker was heard within the liveness window.
bool cpec_worker_connected (cpec_worker_t *self);

//  The socket, for callers that poll it with other sockets.
zsock_t *cpec_worker_sock (cpec_worker_t *self);

#endif
