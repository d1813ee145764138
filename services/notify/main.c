/*  cpec-notify - the notification service.

    A definition and one call: cpec_service_main (common/cpec_service.c) does
    configuration, logging, metrics, the admin endpoint, the Redis store and
    the worker that serves the Notify methods (notify_server.c) through the
    broker; setup also starts the delivery engine (notify_engine.c), an
    actor with its own Redis connection, and teardown stops it after the
    worker has stopped (the attempts in flight are finished first).
*/
#include <curl/curl.h>
#include <czmq.h>
#include <stdio.h>
#include <unistd.h>

#include "cpec/v1/notify.pb-c.h"
#include "cpec_log.h"
#include "cpec_service.h"
#include "notify.h"

typedef struct
{
    notify_t notify;
    notify_engine_t *engine;
} s_state_t;

static void
s_setup (const cpec_service_t *service, void *arg)
{
    s_state_t *state = (s_state_t *)arg;
    state->notify = (notify_t){.store = service->store,
                               .bus = service->bus,
                               .metrics = service->metrics,
                               .page_bytes = service->page_bytes};
    notify_config_read (&state->notify.config, service->config);
    const char *instance = cpec_config_get (service->config, "CPEC_INSTANCE");
    char name[128];
    if (!*instance) {
        char host[64] = "host";
        gethostname (host, sizeof (host) - 1);
        snprintf (name, sizeof (name), "%s:%d", host, (int)getpid ());
        instance = name;
    }
    state->engine = notify_engine_new (
        &state->notify.config, cpec_config_get (service->config, "CPEC_REDIS_URL"),
        cpec_config_get (service->config, "CPEC_BUS_SUB"), instance, service->metrics);
    if (!state->engine)
        cpec_log_error (NULL, "the delivery engine did not start: nothing will be delivered");
}

static void
s_teardown (void *arg)
{
    s_state_t *state = (s_state_t *)arg;
    notify_engine_destroy (&state->engine);
}

int
main (int argc, char *argv[])
{
    curl_global_init (CURL_GLOBAL_DEFAULT);
    s_state_t state = {0};
    cpec_service_def_t def = {
        .name = "notify",
        .description = "Notifications: subscriptions to the event log, delivered by webhook, "
                       "e-mail or the live feed with retries, dead letters and replays, served as "
                       "worker \"notify\" through the broker.",
        .vars = notify_config_vars,
        .descriptor = &cpec__v1__notify__descriptor,
        .methods = notify_methods,
        .state = &state.notify,
        .setup = s_setup,
        .teardown = s_teardown,
    };
    //  The handlers get &state.notify, the first member of state
    int code = cpec_service_main (&def, argc, argv);
    curl_global_cleanup ();
    return code;
}
