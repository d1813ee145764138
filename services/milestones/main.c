/*  cpec-milestones - the milestone tracking service.

    A thin main: configuration, logging, metrics, the admin endpoint, the
    Redis store, the bus publisher, the worker that serves the Milestones
    methods (ms_server.c) through the broker, and between requests the
    timers (ms_timers_run): it sleeps until the next one falls due, and
    never longer than MS_POLL_MS, so that timers another replica set are
    seen within that. /readyz answers "ready" while the worker is registered
    with the broker and Redis answers PING.
*/
#include <czmq.h>

#include "cpec/v1/milestones.pb-c.h"
#include "cpec_admin.h"
#include "cpec_bus.h"
#include "cpec_config.h"
#include "cpec_log.h"
#include "cpec_metrics.h"
#include "cpec_pb.h"
#include "cpec_store.h"
#include "cpec_worker.h"
#include "milestones.h"

#define S_READY_CHECK_MS 1000 //  how often readiness is looked at

static const cpec_config_var_t s_vars[] = {
    CPEC_CONFIG_COMMON,
    {"CPEC_IDEMPOTENCY_TTL", CPEC_CONFIG_INT, "86400",
     "seconds a request id is remembered, so that a retry gets the first answer", 1, 31536000},
    {NULL, 0, NULL, NULL}};

//  Serves requests and timers until interrupted, telling the admin endpoint
//  whether it is ready.
static void
s_serve (ms_t *ms, cpec_worker_t *worker, cpec_admin_t *admin)
{
    bool ready = false;
    int64_t next_check = 0;
    int64_t next_timer = 0; //  Unix ms
    while (!zsys_interrupted) {
        int64_t clock = cpec_clock_ms ();
        if (clock >= next_check) {
            bool connected = cpec_worker_connected (worker);
            bool store_up = connected && cpec_store_ping (ms->store);
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
        int64_t now = cpec_now_ms ();
        if (now >= next_timer)
            next_timer = ms_timers_run (ms, now);
        int64_t wait = next_timer - cpec_now_ms ();
        if (wait > MS_POLL_MS)
            wait = MS_POLL_MS;
        if (wait < 0)
            wait = 0;
        if (cpec_worker_poll (worker, (int)wait) != 0)
            break; //  interrupted
    }
    if (admin)
        cpec_admin_set_ready (admin, false);
}

int
main (int argc, char *argv[])
{
    int exit_code = 0;
    cpec_config_t *config = cpec_config_new (
        "cpec-milestones",
        "Milestone tracking: each zone's development milestones, their dependencies, baselines "
        "and forecasts, and the delays announced the moment they happen, served as worker "
        "\"milestones\" through the broker.",
        s_vars, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    zsys_init (); //  installs czmq's SIGINT/SIGTERM handler: sets zsys_interrupted
    cpec_log_init ("milestones", cpec_config_get (config, "CPEC_INSTANCE"),
                   cpec_config_get (config, "CPEC_LOG_LEVEL"));

    const char *broker = cpec_config_get (config, "CPEC_BROKER");
    const char *bus_endpoint = cpec_config_get (config, "CPEC_BUS_PUB");
    const char *redis_url = cpec_config_get (config, "CPEC_REDIS_URL");
    const char *admin_addr = cpec_config_get (config, "CPEC_ADMIN_ADDR");
    cpec_metrics_t *metrics = cpec_metrics_new ("milestones");
    cpec_admin_t *admin = NULL;
    cpec_store_t *store = NULL;
    cpec_bus_t *bus = NULL;
    cpec_worker_t *worker = NULL;
    ms_t ms = {0};

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
        ms = (ms_t){.store = store,
                    .bus = bus,
                    .metrics = metrics,
                    .page_bytes = (size_t)cpec_config_int (config, "CPEC_MAX_MESSAGE") / 2};
        worker = cpec_worker_new (broker, &cpec__v1__milestones__descriptor, ms_methods, &ms);
        if (!worker)
            cpec_log_error (NULL, "CPEC_BROKER: cannot connect to %s", broker);
    }

    if (worker) {
        cpec_worker_set_metrics (worker, metrics);
        cpec_worker_set_heartbeat (worker, (int)cpec_config_int (config, "CPEC_HEARTBEAT_MS"));
        cpec_worker_set_max_message (worker, (size_t)cpec_config_int (config, "CPEC_MAX_MESSAGE"));
        cpec_worker_set_window (worker, (int)cpec_config_int (config, "CPEC_WORKER_WINDOW"));
        cpec_log_info (NULL, "milestones serving through %s, events to %s", broker, bus_endpoint);
        s_serve (&ms, worker, admin);
        cpec_log_info (NULL, "milestones stopping");
        cpec_worker_stop (worker, 200);
    } else
        exit_code = 1;

    cpec_worker_destroy (&worker);
    cpec_bus_destroy (&bus);
    cpec_store_destroy (&store);
    cpec_admin_destroy (&admin);
    cpec_metrics_destroy (&metrics);
    cpec_config_destroy (&config);
    return exit_code;
}
