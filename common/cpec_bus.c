/*  cpec_bus - the live event bus over the broker's XSUB/XPUB proxy. */
#include "cpec_bus.h"

#include <stdio.h>

#include "cpec_mdp.h"
#include "cpec_pb.h"

struct _cpec_bus_t
{
    zsock_t *sock; //  PUB or SUB, connected to the proxy
};

static cpec_bus_t *
s_new (int type, const char *endpoint)
{
    assert (endpoint);
    cpec_bus_t *self = (cpec_bus_t *)zmalloc (sizeof (cpec_bus_t));
    self->sock = cpec_mdp_socket (type, endpoint, false);
    if (!self->sock)
        cpec_bus_destroy (&self);
    return self;
}

cpec_bus_t *
cpec_bus_new_pub (const char *endpoint)
{
    return s_new (ZMQ_PUB, endpoint);
}

cpec_bus_t *
cpec_bus_new_sub (const char *endpoint, const char *prefix)
{
    cpec_bus_t *self = s_new (ZMQ_SUB, endpoint);
    if (self)
        cpec_bus_subscribe (self, prefix ? prefix : "");
    return self;
}

void
cpec_bus_destroy (cpec_bus_t **self_p)
{
    assert (self_p);
    cpec_bus_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->sock);
    free (self);
    *self_p = NULL;
}

int
cpec_bus_subscribe (cpec_bus_t *self, const char *prefix)
{
    assert (self && prefix);
    return zmq_setsockopt (zsock_resolve (self->sock), ZMQ_SUBSCRIBE, prefix, strlen (prefix));
}

void
cpec_bus_topic (const Cpec__V1__Event *event, char *buf, size_t size)
{
    assert (event && buf);
    snprintf (buf, size, "%s.%s.%s", event->type, event->province, event->zone_id);
}

int
cpec_bus_publish (cpec_bus_t *self, const Cpec__V1__Event *event)
{
    assert (self && event);
    char topic[256];
    cpec_bus_topic (event, topic, sizeof (topic));
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (&event->base, &size);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, topic);
    zmsg_addmem (msg, packed, size);
    free (packed);
    return zmsg_send (&msg, self->sock);
}

Cpec__V1__Event *
cpec_bus_decode (zmsg_t **msg_p)
{
    assert (msg_p);
    zmsg_t *msg = *msg_p;
    Cpec__V1__Event *event = NULL;
    if (msg && zmsg_size (msg) == 2) {
        zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        event = (Cpec__V1__Event *)cpec_pb_unpack (&cpec__v1__event__descriptor, zframe_data (body),
                                                   zframe_size (body));
    }
    zmsg_destroy (msg_p);
    return event;
}

Cpec__V1__Event *
cpec_bus_recv (cpec_bus_t *self, int timeout_ms)
{
    assert (self);
    zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return NULL;
    zmsg_t *msg = zmsg_recv (self->sock);
    return cpec_bus_decode (&msg);
}

zsock_t *
cpec_bus_sock (cpec_bus_t *self)
{
    assert (self);
    return self->sock;
}
