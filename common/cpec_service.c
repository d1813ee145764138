/*  cpec_service - the main loop every worker service shares. */
#include "cpec_service.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "cpec_admin.h"
#include "cpec_log.h"
#include "cpec_pb.h"

#define S_READY_CHECK_MS 1000 //  how often readiness is looked at
#define S_POLL_MS        500  //  longest wait for a request without a tick
#define S_VARS_MAX       64

//  Variables of every worker service, beyond CPEC_CONFIG_COMMON.
#define S_SERVICE_VARS                                                                             \
    {                                                                                              \
        "CPEC_IDEMPOTENCY_TTL", CPEC_CONFIG_INT, "86400",                                          \
            "seconds a request id is remembered, so that a retry gets the first answer", 1,        \
            31536000                                                                               \
    }

//  Serves until interrupted, telling the admin endpoint whether it is ready.
static void
s_serve (const cpec_service_def_t *def, cpec_worker_t *worker, cpec_store_t *store,
         cpec_admin_t *admin)
{
    bool ready = false;
    int64_t next_check = 0;
    int64_t next_tick = 0; //  Unix ms
    while (!zsys_interrupted) {
        int64_t clock = cpec_clock_ms ();
        if (clock >= next_check) {
            bool connected = cpec_worker_connected (worker);
            bool store_up = connected && cpec_store_ping (store);
            if (connected && store_up && !ready)
                cpec_log_info (NULL, "ready: registered with the broker, Redis answers");
            else if (ready && !(connected && store_up))
                cpec_log_warn (NULL, "not ready: %s",
                               connected ? "Redis does not answer" : "broker not heard from");
            ready = connected && store_up;
            if (admin)
                cpec_admin_set_ready (admin, ready);
            next_check = clock + S_READY_CHECK_MS;
        }
        int64_t wait = S_POLL_MS;
        if (def->tick) {
            int64_t now = cpec_now_ms ();
            if (now >= next_tick)
                next_tick = def->tick (def->state, now);
            wait = next_tick - cpec_now_ms ();
            if (wait > S_POLL_MS)
                wait = S_POLL_MS;
            if (wait < 0)
                wait = 0;
        }
        if (cpec_worker_poll (worker, (int)wait) != 0)
            break; //  interrupted
    }
    if (admin)
        cpec_admin_set_ready (admin, false);
}

int
cpec_service_main (const cpec_service_def_t *def, int argc, char *argv[])
{
    assert (def && def->name && def->descriptor && def->methods && def->setup);
    //  The variables: common, every service's, then its own
    cpec_config_var_t vars[S_VARS_MAX] = {CPEC_CONFIG_COMMON, S_SERVICE_VARS};
    size_t count = 0;
    while (vars[count].name)
        count++;
    for (const cpec_config_var_t *var = def->vars; var && var->name; var++) {
        assert (count + 1 < S_VARS_MAX);
        vars[count++] = *var;
    }
    char program[64];
    snprintf (program, sizeof (program), "cpec-%s", def->name);
    int exit_code = 0;
    cpec_config_t *config =
        cpec_config_new (program, def->description, vars, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    zsys_init (); //  installs czmq's SIGINT/SIGTERM handler: sets zsys_interrupted
    cpec_log_init (def->name, cpec_config_get (config, "CPEC_INSTANCE"),
                   cpec_config_get (config, "CPEC_LOG_LEVEL"));

    const char *broker = cpec_config_get (config, "CPEC_BROKER");
    const char *bus_endpoint = cpec_config_get (config, "CPEC_BUS_PUB");
    const char *redis_url = cpec_config_get (config, "CPEC_REDIS_URL");
    const char *admin_addr = cpec_config_get (config, "CPEC_ADMIN_ADDR");
    cpec_metrics_t *metrics = cpec_metrics_new (def->name);
    cpec_admin_t *admin = NULL;
    cpec_store_t *store = NULL;
    cpec_bus_t *bus = NULL;
    cpec_worker_t *worker = NULL;

    if (!metrics)
        cpec_log_error (NULL, "out of memory");
    else if (*admin_addr && !(admin = cpec_admin_new (admin_addr, metrics)))
        cpec_log_error (NULL, "cannot serve admin HTTP on %s", admin_addr);
    else if (!(store = cpec_store_new (redis_url)))
        cpec_log_error (NULL, "CPEC_REDIS_URL: not a redis://host:port/db URL");
    else if (!(bus = cpec_bus_new_pub (bus_endpoint)))
        cpec_log_error (NULL, "CPEC_BUS_PUB: cannot connect to %s", bus_endpoint);
    else {
        cpec_store_set_idempotency_ttl (store,
                                        (int)cpec_config_int (config, "CPEC_IDEMPOTENCY_TTL"));
        cpec_store_set_cache (store, (size_t)cpec_config_int (config, "CPEC_CACHE_ENTRIES"));
        cpec_service_t service = {.config = config,
                                  .store = store,
                                  .bus = bus,
                                  .metrics = metrics,
                                  .page_bytes =
                                      (size_t)cpec_config_int (config, "CPEC_MAX_MESSAGE") / 2};
        def->setup (&service, def->state);
        worker = cpec_worker_new (broker, def->descriptor, def->methods, def->state);
        if (!worker)
            cpec_log_error (NULL, "CPEC_BROKER: cannot connect to %s", broker);
    }

    if (worker) {
        cpec_worker_set_metrics (worker, metrics);
        cpec_worker_set_heartbeat (worker, (int)cpec_config_int (config, "CPEC_HEARTBEAT_MS"));
        cpec_worker_set_max_message (worker, (size_t)cpec_config_int (config, "CPEC_MAX_MESSAGE"));
        cpec_worker_set_window (worker, (int)cpec_config_int (config, "CPEC_WORKER_WINDOW"));
        if (def->after)
            cpec_worker_set_after (worker, def->after, def->state);
        //  The Redis URL may hold a password: not logged
        cpec_log_info (NULL, "%s serving through %s, events to %s", def->name, broker,
                       bus_endpoint);
        s_serve (def, worker, store, admin);
        cpec_log_info (NULL, "%s stopping", def->name);
        //  Unregister, then answer what the broker had already handed us.
        cpec_worker_stop (worker, 200);
    } else
        exit_code = 1;

    //  Reverse order: stop taking work first, then what it used
    cpec_worker_destroy (&worker);
    if (def->teardown && store && bus)
        def->teardown (def->state);
    cpec_bus_destroy (&bus);
    cpec_store_destroy (&store);
    cpec_admin_destroy (&admin);
    cpec_metrics_destroy (&metrics);
    cpec_config_destroy (&config);
    return exit_code;
}
