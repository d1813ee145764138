/*  probe.h - what the integration tests' helper programs share. */
#ifndef PROBE_H_INCLUDED
#define PROBE_H_INCLUDED

#include <stdlib.h>

#include "cpec_client.h"

//  A client of the broker at CPEC_BROKER, calling as ADMIN `subject`.
static inline cpec_client_t *
probe_client (const char *subject)
{
    const char *endpoint = getenv ("CPEC_BROKER");
    cpec_client_t *client = cpec_client_new (endpoint ? endpoint : "tcp://127.0.0.1:17100");
    if (client)
        cpec_client_set_principal (client, subject, CPEC__V1__PRINCIPAL__ROLE__ADMIN, "");
    return client;
}

//  The settings both read from the environment: CPEC_TIMEOUT_MS (the
//  deadline of a call) and CPEC_PROBE_PAUSE_MS (a pause between calls).
static inline void
probe_settings (int *timeout_ms, int *pause_ms)
{
    const char *timeout = getenv ("CPEC_TIMEOUT_MS");
    if (timeout && atoi (timeout) > 0)
        *timeout_ms = atoi (timeout);
    const char *pause = getenv ("CPEC_PROBE_PAUSE_MS");
    if (pause && atoi (pause) > 0)
        *pause_ms = atoi (pause);
}

#endif
