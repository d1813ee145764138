/*  cpec-matchmaking - the matchmaking service.

    A definition and one call: cpec_service_main (common/cpec_service.c) does
    configuration, logging, metrics, the admin endpoint, the Redis store and
    the worker that serves the Matchmaking methods (mm_server.c,
    mm_funnel.c) through the broker. Setup reads every profile into the
    index before the worker registers; the tick keeps the index current and
    runs the expiry timers.
*/
#include <stdio.h>
#include <stdlib.h>

#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec_log.h"
#include "cpec_service.h"
#include "mm.h"

static void
s_setup (const cpec_service_t *service, void *arg)
{
    mm_t *self = (mm_t *)arg;
    self->store = service->store;
    self->bus = service->bus;
    self->metrics = service->metrics;
    self->page_bytes = service->page_bytes;
    cpec_status_t status;
    if (mm_config_read (&self->config, service->config, &status)) {
        cpec_log_error (NULL, "%s", status.message);
        exit (2);
    }
    //  Profiles and matches are read from the index or in bulk: caching
    //  them would only cost invalidations
    cpec_store_set_uncached (service->store, "cpec:mm:");
    self->client = cpec_client_new (cpec_config_get (service->config, "CPEC_BROKER"));
    if (self->client)
        cpec_client_set_principal (self->client, "cpec-matchmaking",
                                   CPEC__V1__PRINCIPAL__ROLE__SERVICE, "");
    //  Redis may still be starting: the index is built as soon as it answers
    for (int attempt = 0; mm_init (self, &status) != CPEC_OK; attempt++) {
        mm_fini (self);
        if (attempt % 20 == 0)
            cpec_log_warn (NULL, "index: %s; trying again", status.message);
        zclock_sleep (250);
    }
}

static int64_t
s_tick (void *arg, int64_t now)
{
    return mm_tick ((mm_t *)arg, now);
}

static void
s_teardown (void *arg)
{
    mm_t *self = (mm_t *)arg;
    mm_fini (self);
    cpec_client_destroy (&self->client);
}

int
main (int argc, char *argv[])
{
    mm_t state = {0};
    cpec_service_def_t def = {
        .name = "matchmaking",
        .description = "Matchmaking: enterprise profiles, ranked B2B partners and zones with "
                       "reasons, and the match funnel, served as worker \"matchmaking\" through "
                       "the broker.",
        .vars = mm_config_vars,
        .descriptor = &cpec__v1__matchmaking__descriptor,
        .methods = mm_methods,
        .state = &state,
        .setup = s_setup,
        .tick = s_tick,
        .teardown = s_teardown,
    };
    return cpec_service_main (&def, argc, argv);
}
