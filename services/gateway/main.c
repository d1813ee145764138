/*  cpec-gateway - the HTTP/JSON API of the platform, a client of the broker.

    A thin main: configuration, logging, metrics, the admin endpoint, then
    the HTTP server (gw_server.c) until SIGINT or SIGTERM.
*/
#include <czmq.h>

#include "cpec_admin.h"
#include "cpec_config.h"
#include "cpec_log.h"
#include "cpec_metrics.h"
#include "gateway.h"

int
main (int argc, char *argv[])
{
    int exit_code = 0;
    cpec_config_t *config = cpec_config_new (
        "cpec-gateway",
        "The HTTP/JSON API of the platform for the provincial SEZ authorities and partners: "
        "each request one call of a service through the broker.",
        gw_config_vars, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    //  each HTTP connection's thread has its own socket to the broker
    zsys_set_max_sockets (4096);
    zsys_init ();
    cpec_log_init ("gateway", cpec_config_get (config, "CPEC_INSTANCE"),
                   cpec_config_get (config, "CPEC_LOG_LEVEL"));
    cpec_metrics_t *metrics = cpec_metrics_new ("gateway");
    const char *address = cpec_config_get (config, "CPEC_HTTP_ADDR");
    gw_limits_t limits = {(int)cpec_config_int (config, "CPEC_HTTP_TIMEOUT_MS"),
                          (size_t)cpec_config_int (config, "CPEC_HTTP_BODY_MAX"),
                          (double)cpec_config_int (config, "CPEC_HTTP_RATE"),
                          (double)cpec_config_int (config, "CPEC_HTTP_BURST"),
                          (size_t)cpec_config_int (config, "CPEC_HTTP_CACHE_ENTRIES")};
    gw_server_t *server =
        gw_server_new (address, cpec_config_get (config, "CPEC_BROKER"),
                       cpec_config_get (config, "CPEC_REDIS_URL"), &limits, metrics);
    cpec_admin_t *admin = NULL;
    const char *admin_addr = cpec_config_get (config, "CPEC_ADMIN_ADDR");
    if (server && *admin_addr && !(admin = cpec_admin_new (admin_addr, metrics)))
        cpec_log_error (NULL, "cannot serve admin HTTP on %s", admin_addr);
    if (server && (admin || !*admin_addr)) {
        if (admin)
            cpec_admin_set_ready (admin, true);
        cpec_log_info (NULL, "gateway on http://%s, calling %s", address,
                       cpec_config_get (config, "CPEC_BROKER"));
        while (!zsys_interrupted)
            zclock_sleep (200);
        cpec_log_info (NULL, "gateway stopping");
    } else
        exit_code = 1;
    cpec_admin_destroy (&admin);
    gw_server_destroy (&server);
    cpec_metrics_destroy (&metrics);
    cpec_config_destroy (&config);
    return exit_code;
}
