/*  cpec_config - twelve-factor configuration: CPEC_* environment variables
    with defaults, and --help listing them.

    Each binary declares its variables in a table terminated by {NULL}; the
    common ones come from CPEC_CONFIG_COMMON.
*/
#ifndef CPEC_CONFIG_H_INCLUDED
#define CPEC_CONFIG_H_INCLUDED

#include <stdint.h>

typedef enum
{
    CPEC_CONFIG_STRING = 0,
    CPEC_CONFIG_INT = 1
} cpec_config_kind_t;

typedef struct
{
    const char *name;          //  "CPEC_REDIS_URL"
    cpec_config_kind_t kind;   //  INT values are checked to be integers
    const char *default_value; //  used when the variable is unset or empty
    const char *help;          //  one line for --help
    int64_t min, max;          //  INT range, inclusive; both 0: any integer
} cpec_config_var_t;

//  Variables every service reads.
// clang-format off
#define CPEC_CONFIG_COMMON                                                               \
    {"CPEC_BROKER", CPEC_CONFIG_STRING, "tcp://127.0.0.1:17100",                         \
     "broker ROUTER endpoint (clients and workers)"},                                    \
    {"CPEC_BUS_PUB", CPEC_CONFIG_STRING, "tcp://127.0.0.1:17101",                        \
     "event bus input (XSUB): publishers connect here"},                                 \
    {"CPEC_BUS_SUB", CPEC_CONFIG_STRING, "tcp://127.0.0.1:17102",                        \
     "event bus output (XPUB): subscribers connect here"},                               \
    {"CPEC_REDIS_URL", CPEC_CONFIG_STRING, "redis://127.0.0.1:17103/0", "Redis URL"},    \
    {"CPEC_ADMIN_ADDR", CPEC_CONFIG_STRING, "",                                          \
     "admin HTTP address host:port (/healthz /readyz /metrics); empty: off"},            \
    {"CPEC_LOG_LEVEL", CPEC_CONFIG_STRING, "info", "debug, info, warn or error"},        \
    {"CPEC_INSTANCE", CPEC_CONFIG_STRING, "", "instance name in logs (default: host:pid)"}, \
    {"CPEC_HEARTBEAT_MS", CPEC_CONFIG_INT, "1000",                                       \
     "heartbeat interval between broker and workers; 3 missed = dead", 10, 60000},                  \
    {"CPEC_WORKER_WINDOW", CPEC_CONFIG_INT, "32",                                         \
     "requests a worker takes from the broker at once (served in order)", 1, 1024},               \
    {"CPEC_CACHE_ENTRIES", CPEC_CONFIG_INT, "10000",                                     \
     "entities cached in process, kept exact by Redis invalidations; 0: off", 0, 10000000},           \
    {"CPEC_MAX_MESSAGE", CPEC_CONFIG_INT, "1048576",                                     \
     "largest request or reply body accepted, in bytes", 1024, 8388608}
// clang-format on

typedef struct _cpec_config_t cpec_config_t;

//  Reads the variables from the environment and checks argv. With --help (or
//  -h) prints the program summary and every variable with its default and
//  current value to stdout, returns NULL and sets *exit_code to 0. On an
//  unknown argument or a variable of the wrong kind or outside its range
//  prints an error to stderr,
//  returns NULL and sets *exit_code to 2.
cpec_config_t *cpec_config_new (const char *program, const char *summary,
                                const cpec_config_var_t *vars, int argc, char *argv[],
                                int *exit_code);

//  Destroys the configuration; idempotent.
void cpec_config_destroy (cpec_config_t **self_p);

//  The value (the default when unset). Borrowed; asserts the name is declared.
const char *cpec_config_get (cpec_config_t *self, const char *name);

//  The value of an INT variable.
int64_t cpec_config_int (cpec_config_t *self, const char *name);

#endif
