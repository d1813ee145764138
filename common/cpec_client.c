/*  cpec_client - calls a service through the broker (Lazy Pirate). */
#include "cpec_client.h"

#include <czmq.h>
#include <string.h>

#include "cpec_mdp.h"
#include "cpec_pb.h"

struct _cpec_client_t
{
    char *endpoint;         //  broker endpoint
    zsock_t *sock;          //  DEALER to the broker; remade on retry
    char *subject;          //  principal sent with every request
    int role;               //  Cpec__V1__Principal__Role
    char *province;         //  principal's province, may be ""
    char *enterprise;       //  principal's enterprise id, may be ""
    int attempt_timeout_ms; //  silence before a retry
};

static zsock_t *
s_connect (const char *endpoint)
{
    return cpec_mdp_socket (ZMQ_DEALER, endpoint, false);
}

cpec_client_t *
cpec_client_new (const char *endpoint)
{
    assert (endpoint);
    cpec_client_t *self = (cpec_client_t *)zmalloc (sizeof (cpec_client_t));
    self->endpoint = cpec_strdup (endpoint);
    self->sock = s_connect (endpoint);
    self->subject = cpec_strdup ("anonymous");
    self->role = CPEC__V1__PRINCIPAL__ROLE__VIEWER;
    self->province = cpec_strdup ("");
    self->attempt_timeout_ms = 1500;
    if (!self->sock)
        cpec_client_destroy (&self);
    return self;
}

void
cpec_client_destroy (cpec_client_t **self_p)
{
    assert (self_p);
    cpec_client_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->sock);
    free (self->endpoint);
    free (self->subject);
    free (self->province);
    free (self->enterprise);
    free (self);
    *self_p = NULL;
}

void
cpec_client_set_principal (cpec_client_t *self, const char *subject, int role, const char *province)
{
    assert (self);
    free (self->subject);
    free (self->province);
    self->subject = cpec_strdup (subject ? subject : "");
    self->role = role;
    self->province = cpec_strdup (province ? province : "");
}

void
cpec_client_set_enterprise (cpec_client_t *self, const char *enterprise_id)
{
    assert (self);
    free (self->enterprise);
    self->enterprise = cpec_strdup (enterprise_id ? enterprise_id : "");
}

void
cpec_client_set_attempt_timeout (cpec_client_t *self, int timeout_ms)
{
    assert (self);
    self->attempt_timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
}

//  Packs the request envelope into a frame.
static zframe_t *
s_request_frame (cpec_client_t *self, const char *service, const char *method,
                 const char *request_id, const ProtobufCMessage *input, int64_t deadline)
{
    Cpec__V1__Principal principal = CPEC__V1__PRINCIPAL__INIT;
    principal.subject = self->subject;
    principal.role = (Cpec__V1__Principal__Role)self->role;
    principal.province = self->province;
    principal.enterprise_id = self->enterprise ? self->enterprise : (char *)"";

    Cpec__V1__Request request = CPEC__V1__REQUEST__INIT;
    request.request_id = (char *)request_id;
    request.principal = &principal;
    request.deadline_unix_ms = deadline;
    request.service = (char *)service;
    request.method = (char *)method;
    size_t body_size = 0;
    uint8_t *body = input ? cpec_pb_pack (input, &body_size) : NULL;
    request.body.data = body;
    request.body.len = body_size;

    size_t size = cpec__v1__request__get_packed_size (&request);
    zframe_t *frame = zframe_new (NULL, size);
    cpec__v1__request__pack (&request, zframe_data (frame));
    free (body);
    return frame;
}

static int
s_send_frame (cpec_client_t *self, zframe_t **frame_p)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, CPEC_MDP_CLIENT);
    zmsg_append (msg, frame_p);
    return zmsg_send (&msg, self->sock);
}

int
cpec_client_send (cpec_client_t *self, const char *service, const char *method,
                  const char *request_id, const ProtobufCMessage *input, int64_t deadline_unix_ms)
{
    assert (self && service && method && request_id);
    zframe_t *frame = s_request_frame (self, service, method, request_id, input, deadline_unix_ms);
    return s_send_frame (self, &frame);
}

Cpec__V1__Reply *
cpec_client_recv (cpec_client_t *self, int timeout_ms)
{
    assert (self);
    while (true) {
        zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, timeout_ms);
        if (rc <= 0)
            return NULL; //  timeout or interrupt
        zmsg_t *msg = zmsg_recv (self->sock);
        if (!msg)
            return NULL;
        Cpec__V1__Reply *reply = NULL;
        zframe_t *header = zmsg_first (msg);
        zframe_t *body = zmsg_next (msg);
        if (zmsg_size (msg) == 2 && zframe_streq (header, CPEC_MDP_CLIENT))
            reply = (Cpec__V1__Reply *)cpec_pb_unpack (&cpec__v1__reply__descriptor,
                                                       zframe_data (body), zframe_size (body));
        zmsg_destroy (&msg);
        if (reply)
            return reply;
        //  A malformed message from the broker is dropped; keep waiting, but
        //  only for what is left of the wait.
        timeout_ms = 0;
    }
}

int
cpec_client_call (cpec_client_t *self, const ProtobufCServiceDescriptor *service,
                  const char *method, const char *request_id, const ProtobufCMessage *input,
                  ProtobufCMessage **output, int timeout_ms, cpec_status_t *status)
{
    assert (self && service && method && output);
    *output = NULL;
    cpec_status_clear (status);
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name (service, method);
    if (!md)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s has no method %s", service->name,
                                method);
    if (input && input->descriptor != md->input)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s.%s takes %s, not %s",
                                service->name, method, md->input->name, input->descriptor->name);
    char service_name[64];
    cpec_mdp_service_name (service->name, service_name, sizeof (service_name));
    char uuid[37];
    if (!request_id) {
        cpec_uuid (uuid);
        request_id = uuid;
    }
    int64_t start = cpec_clock_ms ();
    int64_t end = start + timeout_ms;
    int64_t deadline = cpec_now_ms () + timeout_ms;
    //  The broker answers a request it could not serve at the deadline
    //  itself; wait a little past it for that verdict.
    const int grace_ms = 250;
    int backoff_ms = 50;

    zframe_t *frame = s_request_frame (self, service_name, method, request_id, input, deadline);
    int rc = CPEC_DEADLINE_EXCEEDED;
    bool send = true;
    while (true) {
        if (send) {
            zframe_t *copy = zframe_dup (frame);
            if (!self->sock || s_send_frame (self, &copy) != 0) {
                zframe_destroy (&copy);
                rc = cpec_status_set (status, CPEC_UNAVAILABLE, "cannot send to broker at %s",
                                      self->endpoint);
                break;
            }
            send = false;
        }
        int64_t now = cpec_clock_ms ();
        if (now >= end + grace_ms) {
            rc =
                cpec_status_set (status, CPEC_DEADLINE_EXCEEDED, "no reply from %s.%s within %d ms",
                                 service_name, method, timeout_ms);
            break;
        }
        int64_t wait = end + grace_ms - now;
        if (wait > self->attempt_timeout_ms)
            wait = self->attempt_timeout_ms;
        Cpec__V1__Reply *reply = cpec_client_recv (self, (int)wait);
        if (!reply) {
            if (zsys_interrupted) {
                rc = cpec_status_set (status, CPEC_CANCELLED, "interrupted");
                break;
            }
            if (cpec_clock_ms () < end) {
                //  Lazy Pirate: silence means the request or its worker may be
                //  lost; a new socket drops stale replies, then resend.
                zsock_destroy (&self->sock);
                self->sock = s_connect (self->endpoint);
                send = true;
            }
            continue;
        }
        if (strcmp (reply->request_id, request_id) != 0) {
            cpec_pb_destroy ((ProtobufCMessage **)&reply); //  a stale reply
            continue;
        }
        if ((int)reply->code == CPEC_UNAVAILABLE && cpec_clock_ms () + backoff_ms < end) {
            cpec_pb_destroy ((ProtobufCMessage **)&reply);
            zclock_sleep (backoff_ms);
            backoff_ms = backoff_ms * 2 > 1000 ? 1000 : backoff_ms * 2;
            send = true;
            continue;
        }
        if ((int)reply->code != CPEC_OK)
            rc = cpec_status_set (status, reply->code, "%s", reply->message);
        else {
            *output = cpec_pb_unpack (md->output, reply->body.data, reply->body.len);
            rc = *output ? CPEC_OK
                         : cpec_status_set (status, CPEC_INTERNAL, "reply of %s.%s does not decode",
                                            service_name, method);
        }
        cpec_pb_destroy ((ProtobufCMessage **)&reply);
        break;
    }
    zframe_destroy (&frame);
    return rc;
}
