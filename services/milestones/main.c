/*  cpec-milestones - the milestone tracking service.

    A definition and one call: cpec_service_main (common/cpec_service.c) does
    configuration, logging, metrics, the admin endpoint, the Redis store, the
    bus publisher and the worker that serves the Milestones methods
    (ms_server.c) through the broker, and between requests runs the timers
    (ms_timers_run): it sleeps until the next one falls due, and never longer
    than MS_POLL_MS, so that timers another replica set are seen within that.
*/
#include <czmq.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec_log.h"
#include "cpec_service.h"
#include "milestones.h"

static void
s_setup (const cpec_service_t *service, void *state)
{
    //  Milestones and states as fields of two hashes, read many to a command
    ms_store_setup (service->store);
    ms_t *ms = (ms_t *)state;
    *ms = (ms_t){.store = service->store,
                 .bus = service->bus,
                 .metrics = service->metrics,
                 .page_bytes = service->page_bytes,
                 .defer_publish = true};
    //  Data of an earlier layout moved before any request is served: until
    //  Redis answers, the replica is not registered with the broker (and not
    //  ready), as when Redis is down at any other time
    cpec_status_t status;
    for (int attempt = 0; !zsys_interrupted; attempt++) {
        if (ms_migrate_states (ms, &status) == CPEC_OK)
            break;
        if (attempt % 20 == 0)
            cpec_log_warn (NULL, "milestones: cannot check the data's layout yet: %s",
                           status.message);
        zclock_sleep (500);
    }
}

//  After each answer: what its propagation wrote goes on the bus
static void
s_after (void *state)
{
    ms_publish ((ms_t *)state);
}

static void
s_teardown (void *state)
{
    ms_publish ((ms_t *)state);
}

static int64_t
s_tick (void *state, int64_t now)
{
    return ms_timers_run ((ms_t *)state, now);
}

int
main (int argc, char *argv[])
{
    ms_t ms = {0};
    cpec_service_def_t def = {
        .name = "milestones",
        .description = "Milestone tracking: each zone's development milestones, their "
                       "dependencies, baselines and forecasts, and the delays announced the "
                       "moment they happen, served as worker \"milestones\" through the broker.",
        .descriptor = &cpec__v1__milestones__descriptor,
        .methods = ms_methods,
        .state = &ms,
        .setup = s_setup,
        .tick = s_tick,
        .after = s_after,
        .teardown = s_teardown,
    };
    return cpec_service_main (&def, argc, argv);
}
