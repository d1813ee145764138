/*  cpec_bus - the live event bus over the broker's XSUB/XPUB proxy.

    A message is two frames: the topic "Type.PROVINCE.zone_id" (for example
    "SezUpdated.PK-KP.rashakai") and the packed cpec.v1.Event. Subscribers
    filter by topic prefix ("" for everything, "SezUpdated." for one type).
    The bus is for live consumers: it can drop under load or across a gap;
    the durable record is the Redis stream cpec:events.
*/
#ifndef CPEC_BUS_H_INCLUDED
#define CPEC_BUS_H_INCLUDED

#include <czmq.h>

#include "cpec/v1/events.pb-c.h"

typedef struct _cpec_bus_t cpec_bus_t;

//  A publisher connected to the proxy's input (CPEC_BUS_PUB). NULL on error.
cpec_bus_t *cpec_bus_new_pub (const char *endpoint);

//  A subscriber connected to the proxy's output (CPEC_BUS_SUB) with one
//  prefix. NULL on error.
cpec_bus_t *cpec_bus_new_sub (const char *endpoint, const char *prefix);

//  Closes; idempotent.
void cpec_bus_destroy (cpec_bus_t **self_p);

//  Adds a prefix to a subscriber. 0 or -1.
int cpec_bus_subscribe (cpec_bus_t *self, const char *prefix);

//  The topic of an event into buf: "Type.province.zone_id".
void cpec_bus_topic (const Cpec__V1__Event *event, char *buf, size_t size);

//  Publishes an event (never blocks; dropped if the pipe is full). 0 or -1.
int cpec_bus_publish (cpec_bus_t *self, const Cpec__V1__Event *event);

//  Receives the next event, waiting up to timeout_ms (-1: forever). NULL on
//  timeout, interrupt or a malformed message (dropped). The caller frees it
//  with cpec_pb_destroy.
Cpec__V1__Event *cpec_bus_recv (cpec_bus_t *self, int timeout_ms);

//  The event of one bus message [topic][packed Event] (NULL when it is not
//  one); destroys the message.
Cpec__V1__Event *cpec_bus_decode (zmsg_t **msg_p);

//  The underlying socket, for a zpoller or zloop.
zsock_t *cpec_bus_sock (cpec_bus_t *self);

#endif
