/*  cpec-broker - routes requests to service replicas and proxies events.

    A thin main: configuration, logging, the admin endpoint, then the broker
    loop until SIGINT or SIGTERM.
*/
#include <czmq.h>

#include "broker.h"
#include "cpec_admin.h"
#include "cpec_config.h"
#include "cpec_log.h"
#include "cpec_metrics.h"

static const cpec_config_var_t s_vars[] = {
    CPEC_CONFIG_COMMON,
    {"CPEC_BROKER_QUEUE_MAX", CPEC_CONFIG_INT, "10000",
     "requests waiting per service before RESOURCE_EXHAUSTED", 1, 1000000},
    {"CPEC_BROKER_QUEUE_BYTES", CPEC_CONFIG_INT, "268435456",
     "bytes of waiting requests, all services, before RESOURCE_EXHAUSTED", 1024, 8589934592},
    {NULL, 0, NULL, NULL}};

int
main (int argc, char *argv[])
{
    int exit_code = 0;
    cpec_config_t *config =
        cpec_config_new ("cpec-broker",
                         "Routes requests from clients to service replicas (least recently "
                         "used first) and forwards events from publishers to subscribers.",
                         s_vars, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    zsys_init ();
    cpec_log_init ("broker", cpec_config_get (config, "CPEC_INSTANCE"),
                   cpec_config_get (config, "CPEC_LOG_LEVEL"));

    cpec_metrics_t *metrics = cpec_metrics_new ("broker");
    cpec_broker_options_t options = {
        .endpoint = cpec_config_get (config, "CPEC_BROKER"),
        .bus_in = cpec_config_get (config, "CPEC_BUS_PUB"),
        .bus_out = cpec_config_get (config, "CPEC_BUS_SUB"),
        .heartbeat_ms = (int)cpec_config_int (config, "CPEC_HEARTBEAT_MS"),
        .queue_max = (size_t)cpec_config_int (config, "CPEC_BROKER_QUEUE_MAX"),
        .queue_bytes_max = (size_t)cpec_config_int (config, "CPEC_BROKER_QUEUE_BYTES"),
        .max_message = (size_t)cpec_config_int (config, "CPEC_MAX_MESSAGE"),
        .metrics = metrics,
    };
    cpec_broker_t *broker = cpec_broker_new (&options);
    cpec_admin_t *admin = NULL;
    const char *admin_addr = cpec_config_get (config, "CPEC_ADMIN_ADDR");
    if (broker && *admin_addr && !(admin = cpec_admin_new (admin_addr, metrics)))
        cpec_log_error (NULL, "cannot serve admin HTTP on %s", admin_addr);
    if (broker && (admin || !*admin_addr)) {
        if (admin)
            cpec_admin_set_ready (admin, true);
        cpec_log_info (NULL, "broker on %s, events in %s out %s", options.endpoint, options.bus_in,
                       options.bus_out);
        while (cpec_broker_poll (broker, 1000) == 0)
            ;
        cpec_log_info (NULL, "broker stopping");
    } else
        exit_code = 1;
    cpec_admin_destroy (&admin);
    cpec_broker_destroy (&broker);
    cpec_metrics_destroy (&metrics);
    cpec_config_destroy (&config);
    return exit_code;
}
