/*  cpec_worker - serves one proto service through the broker. */
#include "cpec_worker.h"

#include <string.h>

#include "cpec_log.h"
#include "cpec_mdp.h"
#include "cpec_pb.h"

#define LIVENESS 3 //  silent heartbeat intervals before reconnecting

struct _cpec_worker_t
{
    char *endpoint;                               //  broker endpoint
    char service_name[64];                        //  broker service name
    const ProtobufCServiceDescriptor *descriptor; //  the proto service
    cpec_handler_fn **handlers;                   //  by method index
    void *state;                                  //  passed to handlers
    zsock_t *sock;                                //  DEALER to the broker
    cpec_metrics_t *metrics;                      //  borrowed, may be NULL
    int heartbeat_ms;                             //  heartbeat interval
    int window;                                   //  requests taken at once
    size_t max_message;                           //  largest body accepted
    int64_t heard_at;                             //  last message from broker
    int64_t heartbeat_at;                         //  when to send the next
    bool registered;                              //  READY sent on this socket
    void (*after) (void *);                       //  after each answer, or NULL
    void *after_arg;
};

static void
s_send_command (cpec_worker_t *self, const char *command, zframe_t **client_p, zframe_t **body_p)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, CPEC_MDP_WORKER);
    zmsg_addstr (msg, command);
    if (client_p)
        zmsg_append (msg, client_p);
    if (body_p)
        zmsg_append (msg, body_p);
    zmsg_send (&msg, self->sock);
}

//  (Re)connects to the broker and registers.
static int
s_connect (cpec_worker_t *self)
{
    zsock_destroy (&self->sock);
    self->sock = cpec_mdp_socket (ZMQ_DEALER, self->endpoint, false);
    if (!self->sock)
        return -1;
    zframe_t *name = zframe_from (self->service_name);
    char window[16];
    snprintf (window, sizeof (window), "%d", self->window);
    zframe_t *window_frame = zframe_from (window);
    s_send_command (self, CPEC_MDP_READY, &name, &window_frame);
    self->registered = false; //  until the broker answers
    int64_t now = cpec_clock_ms ();
    self->heard_at = now;
    self->heartbeat_at = now + self->heartbeat_ms;
    return 0;
}

cpec_worker_t *
cpec_worker_new (const char *endpoint, const ProtobufCServiceDescriptor *service,
                 const cpec_method_t *methods, void *state)
{
    assert (endpoint && service && methods);
    cpec_worker_t *self = (cpec_worker_t *)zmalloc (sizeof (cpec_worker_t));
    self->endpoint = cpec_strdup (endpoint);
    cpec_mdp_service_name (service->name, self->service_name, sizeof (self->service_name));
    self->descriptor = service;
    self->handlers = (cpec_handler_fn **)zmalloc (sizeof (cpec_handler_fn *) * service->n_methods);
    self->state = state;
    self->heartbeat_ms = 1000;
    self->window = 8;
    self->max_message = 1024 * 1024;
    for (const cpec_method_t *m = methods; m->method; m++) {
        const ProtobufCMethodDescriptor *md =
            protobuf_c_service_descriptor_get_method_by_name (service, m->method);
        assert (md); //  a handler for a method the service does not have
        self->handlers[md - service->methods] = m->handler;
    }
    if (s_connect (self) != 0)
        cpec_worker_destroy (&self);
    return self;
}

void
cpec_worker_destroy (cpec_worker_t **self_p)
{
    assert (self_p);
    cpec_worker_t *self = *self_p;
    if (!self)
        return;
    if (self->sock) {
        s_send_command (self, CPEC_MDP_DISCONNECT, NULL, NULL);
        zsock_destroy (&self->sock);
    }
    free (self->handlers);
    free (self->endpoint);
    free (self);
    *self_p = NULL;
}

void
cpec_worker_set_metrics (cpec_worker_t *self, cpec_metrics_t *metrics)
{
    assert (self);
    self->metrics = metrics;
}

void
cpec_worker_set_heartbeat (cpec_worker_t *self, int interval_ms)
{
    assert (self && interval_ms > 0);
    self->heartbeat_ms = interval_ms;
    self->heartbeat_at = cpec_clock_ms () + interval_ms;
}

void
cpec_worker_set_after (cpec_worker_t *self, void (*after) (void *arg), void *arg)
{
    assert (self);
    self->after = after;
    self->after_arg = arg;
}

void
cpec_worker_set_window (cpec_worker_t *self, int window)
{
    assert (self && window >= 1 && window <= 1024);
    if (window == self->window)
        return;
    self->window = window;
    if (self->sock) {
        s_send_command (self, CPEC_MDP_DISCONNECT, NULL, NULL);
        s_connect (self);
    }
}

void
cpec_worker_set_max_message (cpec_worker_t *self, size_t bytes)
{
    assert (self);
    self->max_message = bytes;
}

zsock_t *
cpec_worker_sock (cpec_worker_t *self)
{
    assert (self);
    return self->sock;
}

bool
cpec_worker_connected (cpec_worker_t *self)
{
    assert (self);
    return self->registered &&
           cpec_clock_ms () - self->heard_at < (int64_t)self->heartbeat_ms * LIVENESS;
}

static const Cpec__V1__Principal s_nobody = CPEC__V1__PRINCIPAL__INIT;

//  Serves one request; returns the packed Reply.
static zframe_t *
s_serve (cpec_worker_t *self, zframe_t *body)
{
    Cpec__V1__Request *request = (Cpec__V1__Request *)cpec_pb_unpack (
        &cpec__v1__request__descriptor, zframe_data (body), zframe_size (body));
    if (!request) {
        if (self->metrics)
            cpec_metrics_count (self->metrics, "cpec_worker_malformed_total",
                                "requests whose envelope did not decode", 1);
        return cpec_mdp_error_frame ("", CPEC_INVALID_ARGUMENT, "request envelope does not decode");
    }
    int64_t started = cpec_clock_ms ();
    cpec_status_t status;
    cpec_status_clear (&status);
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name (self->descriptor, request->method);
    cpec_handler_fn *handler = md ? self->handlers[md - self->descriptor->methods] : NULL;
    ProtobufCMessage *input = NULL;
    ProtobufCMessage *output = NULL;
    uint8_t *packed = NULL; //  the output packed, by the handler or below
    size_t packed_size = 0;
    if (!handler)
        cpec_status_set (&status, CPEC_UNIMPLEMENTED, "%s has no method '%s'",
                         self->descriptor->name, request->method);
    else if (request->body.len > self->max_message)
        cpec_status_set (&status, CPEC_RESOURCE_EXHAUSTED,
                         "request body of %zu bytes exceeds the limit of %zu", request->body.len,
                         self->max_message);
    else if (request->deadline_unix_ms && request->deadline_unix_ms < cpec_now_ms ())
        cpec_status_set (&status, CPEC_DEADLINE_EXCEEDED, "deadline passed before %s was served",
                         request->method);
    else if (!(input = cpec_pb_unpack (md->input, request->body.data, request->body.len)))
        cpec_status_set (&status, CPEC_INVALID_ARGUMENT, "body is not a valid %s", md->input->name);
    else {
        output = cpec_pb_new (md->output);
        cpec_call_t call = {
            .request_id = request->request_id,
            .principal = request->principal ? request->principal : &s_nobody,
            .deadline_unix_ms = request->deadline_unix_ms,
            .method = request->method,
            .status = &status,
        };
        int code = handler (self->state, &call, input, output);
        if (code != CPEC_OK && status.code == CPEC_OK)
            cpec_status_set (&status, code, "%s failed", request->method);
        status.code = code;
        packed = call.packed_output;
        packed_size = call.packed_size;
    }

    Cpec__V1__Reply reply = CPEC__V1__REPLY__INIT;
    reply.request_id = request->request_id;
    reply.code = (Cpec__V1__Status__Code)status.code;
    reply.message = status.message;
    if (status.code == CPEC_OK && output) {
        if (packed)
            reply.body.len = packed_size;
        else
            packed = cpec_pb_pack (output, &reply.body.len);
        reply.body.data = packed;
        if (reply.body.len > self->max_message) {
            //  Never send what the other side would refuse.
            cpec_status_set (&status, CPEC_RESOURCE_EXHAUSTED,
                             "reply of %zu bytes exceeds the limit of %zu; ask for less",
                             reply.body.len, self->max_message);
            reply.code = (Cpec__V1__Status__Code)status.code;
            reply.message = status.message;
            reply.body.data = NULL;
            reply.body.len = 0;
        }
    }
    zframe_t *frame = zframe_new (NULL, cpec__v1__reply__get_packed_size (&reply));
    cpec__v1__reply__pack (&reply, zframe_data (frame));
    free (packed);

    double seconds = (double)(cpec_clock_ms () - started) / 1000.0;
    if (self->metrics)
        cpec_metrics_observe (self->metrics, request->method, status.code, seconds);
    if (status.code != CPEC_OK)
        cpec_log_info (request->request_id, "%s: %s: %s", request->method,
                       cpec_code_name (status.code), status.message);
    else
        cpec_log_debug (request->request_id, "%s: OK", request->method);
    cpec_pb_destroy (&output);
    cpec_pb_destroy (&input);
    cpec_pb_destroy ((ProtobufCMessage **)&request);
    return frame;
}

//  Handles one message from the broker.
static void
s_handle (cpec_worker_t *self, zmsg_t *msg)
{
    zframe_t *header = zmsg_first (msg);
    zframe_t *command = zmsg_next (msg);
    if (!header || !zframe_streq (header, CPEC_MDP_WORKER) || !command) {
        if (self->metrics)
            cpec_metrics_count (self->metrics, "cpec_worker_malformed_total",
                                "malformed messages dropped", 1);
        return;
    }
    bool disconnect = zframe_streq (command, CPEC_MDP_DISCONNECT);
    if (!disconnect) {
        //  Only a broker that has taken our READY sends anything else.
        self->heard_at = cpec_clock_ms ();
        self->registered = true;
    }
    if (zframe_streq (command, CPEC_MDP_REQUEST) && zmsg_size (msg) == 4) {
        zframe_t *client = zframe_dup (zmsg_next (msg));
        zframe_t *reply = s_serve (self, zmsg_next (msg));
        s_send_command (self, CPEC_MDP_REPLY, &client, &reply);
    } else if (zframe_streq (command, CPEC_MDP_HEARTBEAT))
        ; //  heard_at is enough
    else if (disconnect) {
        cpec_log_info (NULL, "broker asked to reconnect");
        s_connect (self);
    } else if (self->metrics)
        cpec_metrics_count (self->metrics, "cpec_worker_malformed_total",
                            "malformed messages dropped", 1);
}

void
cpec_worker_stop (cpec_worker_t *self, int quiet_ms)
{
    assert (self);
    if (!self->sock)
        return;
    s_send_command (self, CPEC_MDP_DISCONNECT, NULL, NULL);
    self->registered = false;
    //  What the broker sent before it read our DISCONNECT is still coming:
    //  serve it, ignore everything else, never register again.
    zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
    int served = 0;
    while (zmq_poll (&item, 1, quiet_ms) > 0) {
        zmsg_t *msg = zmsg_recv (self->sock);
        if (!msg)
            break;
        zframe_t *header = zmsg_first (msg);
        zframe_t *command = zmsg_next (msg);
        if (header && zframe_streq (header, CPEC_MDP_WORKER) && command &&
            zframe_streq (command, CPEC_MDP_REQUEST) && zmsg_size (msg) == 4) {
            zframe_t *client = zframe_dup (zmsg_next (msg));
            zframe_t *reply = s_serve (self, zmsg_next (msg));
            s_send_command (self, CPEC_MDP_REPLY, &client, &reply);
            served++;
            if (self->after)
                self->after (self->after_arg);
        }
        zmsg_destroy (&msg);
    }
    if (served)
        cpec_log_info (NULL, "served %d requests taken before stopping", served);
    zsock_set_linger (self->sock, 1000); //  let the last replies leave
    zsock_destroy (&self->sock);
}

int
cpec_worker_poll (cpec_worker_t *self, int timeout_ms)
{
    assert (self);
    int64_t end = cpec_clock_ms () + timeout_ms;
    while (!zsys_interrupted) {
        if (!self->sock && s_connect (self) != 0)
            return -1;
        int64_t now = cpec_clock_ms ();
        if (now >= self->heartbeat_at) {
            s_send_command (self, CPEC_MDP_HEARTBEAT, NULL, NULL);
            self->heartbeat_at = now + self->heartbeat_ms;
        }
        if (now - self->heard_at > (int64_t)self->heartbeat_ms * LIVENESS) {
            cpec_log_warn (NULL, "broker silent for %d ms, reconnecting to %s",
                           self->heartbeat_ms * LIVENESS, self->endpoint);
            self->registered = false;
            if (s_connect (self) != 0)
                return -1;
            now = cpec_clock_ms ();
        }
        if (now >= end)
            return 0;
        int64_t wait = end - now;
        if (wait > self->heartbeat_at - now)
            wait = self->heartbeat_at - now;
        zmq_pollitem_t item = {zsock_resolve (self->sock), 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll (&item, 1, wait < 0 ? 0 : (long)wait);
        if (rc < 0)
            return zsys_interrupted ? -1 : 0;
        if (rc > 0) {
            //  Serve what is queued while the time allows (a signal or the
            //  caller's own work waits no longer than the timeout), then
            //  come back to the clock.
            while ((zsock_events (self->sock) & ZMQ_POLLIN) && !zsys_interrupted) {
                zmsg_t *msg = zmsg_recv (self->sock);
                if (!msg)
                    break;
                s_handle (self, msg);
                zmsg_destroy (&msg);
                if (self->after)
                    self->after (self->after_arg);
                if (cpec_clock_ms () >= end)
                    return 0;
            }
        }
    }
    return -1;
}
