/*  cpec_broker - request routing (18/MDP style) and the event bus proxy.

    One ROUTER for clients and workers. Per service: a queue of ready replicas
    served least recently used, and a bounded queue of requests waiting for
    one. Heartbeats both ways; a replica silent for 3 intervals is dropped. A
    request for a service without a replica waits until its deadline, then is
    answered UNAVAILABLE (DEADLINE_EXCEEDED when replicas exist but were all
    busy). Past the queue bound: RESOURCE_EXHAUSTED. Malformed messages are
    dropped and counted, never a crash. The XSUB/XPUB pair forwards events
    from publishers to subscribers.
*/
#ifndef CPEC_BROKER_H_INCLUDED
#define CPEC_BROKER_H_INCLUDED

#include <czmq.h>
#include <stddef.h>

#include "cpec_metrics.h"

typedef struct
{
    const char *endpoint;    //  ROUTER bind endpoint (CPEC_BROKER)
    const char *bus_in;      //  XSUB bind endpoint (CPEC_BUS_PUB)
    const char *bus_out;     //  XPUB bind endpoint (CPEC_BUS_SUB)
    int heartbeat_ms;        //  heartbeat interval
    size_t queue_max;        //  requests waiting per service
    size_t queue_bytes_max;  //  bytes of waiting requests, all services
    size_t max_message;      //  largest request body answered
    cpec_metrics_t *metrics; //  borrowed, may be NULL
} cpec_broker_options_t;

typedef struct _cpec_broker_t cpec_broker_t;

//  Binds the three sockets; NULL (with a log line) if one cannot be bound.
cpec_broker_t *cpec_broker_new (const cpec_broker_options_t *options);

//  Closes every socket; idempotent.
void cpec_broker_destroy (cpec_broker_t **self_p);

//  Routes what arrives within timeout_ms, sends heartbeats, drops dead
//  replicas and expires requests. 0, or -1 when interrupted.
int cpec_broker_poll (cpec_broker_t *self, int timeout_ms);

//  Replicas currently registered for a service (for tests and /metrics).
size_t cpec_broker_replicas (cpec_broker_t *self, const char *service);

//  The broker as a czmq actor, for tests: args is a cpec_broker_options_t *;
//  signals the pipe when bound (0) or failed (-1); stops on "$TERM".
void cpec_broker_actor (zsock_t *pipe, void *args);

#endif
