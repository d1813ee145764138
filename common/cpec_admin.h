/*  cpec_admin - the admin HTTP endpoint of a process (libmicrohttpd, its own
    thread): GET /healthz (200 "ok" while the process runs), GET /readyz (200
    "ready" once the process said so, else 503 "not ready"), GET /metrics
    (Prometheus text from the process's cpec_metrics). Anything else: 404.
*/
#ifndef CPEC_ADMIN_H_INCLUDED
#define CPEC_ADMIN_H_INCLUDED

#include <stdbool.h>
#include <sys/socket.h>

#include "cpec_metrics.h"

typedef struct _cpec_admin_t cpec_admin_t;

//  Listens on "host:port" (port 0 picks a free port). metrics is borrowed and
//  must outlive the endpoint. NULL if the address is invalid or taken.
cpec_admin_t *cpec_admin_new (const char *address, cpec_metrics_t *metrics);

//  Stops the listener; idempotent.
void cpec_admin_destroy (cpec_admin_t **self_p);

//  The bound port (useful with port 0).
int cpec_admin_port (cpec_admin_t *self);

//  Resolves "host:port" ("[::1]:80", "*:8080", "localhost:0") into *addr,
//  IPv4 preferred; 0, or -1 when it is not such an address. For every HTTP
//  listener of the platform.
int cpec_admin_resolve (const char *address, struct sockaddr_storage *addr);

//  Sets what /readyz answers.
void cpec_admin_set_ready (cpec_admin_t *self, bool ready);

#endif
