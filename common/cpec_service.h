/*  cpec_service - the main loop every worker service shares.

    Configuration (the common variables plus the service's own), JSON-lines
    logging, metrics, the admin endpoint, the Redis store with its exact
    cache, the bus publisher and the worker that serves the proto service
    through the broker, until SIGINT or SIGTERM; then it unregisters and
    answers what it had already taken. /readyz answers "ready" while the
    worker is registered with the broker and Redis answers PING.

    A service's main.c is a definition and one call.
*/
#ifndef CPEC_SERVICE_H_INCLUDED
#define CPEC_SERVICE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "cpec_bus.h"
#include "cpec_config.h"
#include "cpec_metrics.h"
#include "cpec_store.h"
#include "cpec_worker.h"

//  What a service's handlers get to work with (all borrowed).
typedef struct
{
    cpec_config_t *config;
    cpec_store_t *store;
    cpec_bus_t *bus;
    cpec_metrics_t *metrics;
    size_t page_bytes; //  half the message limit: room for a reply's envelope
} cpec_service_t;

typedef struct
{
    const char *name;              //  "registry": log service, metrics, program cpec-<name>
    const char *description;       //  for --help
    const cpec_config_var_t *vars; //  its own variables beyond the common ones; may be NULL
    const ProtobufCServiceDescriptor *descriptor;
    const cpec_method_t *methods;
    void *state; //  the handlers' state
    //  Fills state from the service's parts, once, before the worker starts.
    void (*setup) (const cpec_service_t *service, void *state);
    //  Optional: work between requests (timers). Gets the Unix ms now and
    //  returns the Unix ms at which it wants to run again.
    int64_t (*tick) (void *state, int64_t now);
    //  Optional: after each request has been answered (work that need not
    //  hold up the answer, such as publishing what it wrote).
    void (*after) (void *state);
    //  Optional: after the worker stopped, before the service's parts are
    //  freed (stops what setup started: threads, actors).
    void (*teardown) (void *state);
} cpec_service_def_t;

//  Runs the service; returns the process exit code.
int cpec_service_main (const cpec_service_def_t *def, int argc, char *argv[]);

#endif
