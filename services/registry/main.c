/*  cpec-registry - the SEZ registry service.

    A definition and one call: cpec_service_main (common/cpec_service.c) does
    configuration, logging, metrics, the admin endpoint, the Redis store, the
    bus publisher and the worker that serves the Registry methods
    (registry_server.c) through the broker, until SIGINT or SIGTERM.
*/
#include "cpec/v1/registry.pb-c.h"
#include "cpec_service.h"
#include "registry.h"

static void
s_setup (const cpec_service_t *service, void *state)
{
    *(registry_t *)state = (registry_t){.store = service->store,
                                        .bus = service->bus,
                                        .metrics = service->metrics,
                                        .page_bytes = service->page_bytes};
}

int
main (int argc, char *argv[])
{
    registry_t registry = {0};
    cpec_service_def_t def = {
        .name = "registry",
        .description = "The SEZ registry: the CPEC Special Economic Zones, their status along the "
                       "SEZ Act path and their zone enterprises, served as worker \"registry\" "
                       "through the broker.",
        .descriptor = &cpec__v1__registry__descriptor,
        .methods = registry_methods,
        .state = &registry,
        .setup = s_setup,
    };
    return cpec_service_main (&def, argc, argv);
}
