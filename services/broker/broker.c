/*  cpec_broker - request routing (18/MDP style) and the event bus proxy. */
#include "broker.h"

#include <string.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec_log.h"
#include "cpec_mdp.h"
#include "cpec_pb.h"
#include "cpec_status.h"

#define LIVENESS         3      //  missed heartbeats before a replica is dropped
#define SERVICES_MAX     1024   //  distinct service names held at once
#define CLIENT_SERVICES  256    //  ... of which clients may open (workers the rest)
#define MAX_WAIT         300000 //  ms a request may wait, whatever its deadline
#define DEPARTED_MS      10000  //  how long late replies of a departed replica pass
#define DEFAULT_DEADLINE 30000  //  ms, for requests that carry none

typedef struct
{
    char *name;         //  service name, e.g. "registry"
    zlistx_t *ready;    //  worker_t *, least recently used first
    zlistx_t *requests; //  request_t *, oldest first
    size_t replicas;    //  registered workers, ready or busy
} service_t;

typedef struct
{
    char method[96];  //  "service.Method", for metrics
    int64_t received; //  when the request reached the broker (monotonic ms)
} inflight_t;

typedef struct
{
    char *key;            //  identity as hex, the workers hash key
    zframe_t *identity;   //  routing id on the ROUTER
    service_t *service;   //  the service it serves
    int64_t expiry;       //  dropped when silent past this (monotonic ms)
    void *ready_handle;   //  its place in service->ready; NULL when its window is full
    size_t window;        //  requests it takes at once (READY's optional frame)
    size_t outstanding;   //  requests sent and not yet answered
    size_t head;          //  oldest outstanding entry in inflight
    inflight_t *inflight; //  outstanding requests, in order (it answers in order)
} worker_t;

typedef struct
{
    zframe_t *client;     //  client routing id
    zframe_t *body;       //  the packed Request, forwarded as is
    size_t *queued_bytes; //  the broker's byte count, to give back
    char *request_id;
    char method[96];  //  "service.Method" for metrics
    int64_t deadline; //  Unix ms
    int64_t received; //  monotonic ms
} request_t;

struct _cpec_broker_t
{
    cpec_broker_options_t options; //  as given (strings borrowed)
    zsock_t *router;               //  clients and workers
    zsock_t *bus_in;               //  XSUB: publishers connect here
    zsock_t *bus_out;              //  XPUB: subscribers connect here
    zhashx_t *services;            //  name -> service_t
    zhashx_t *workers;             //  identity hex -> worker_t
    zhashx_t *departed;            //  identity hex -> until when its late replies pass
    size_t queued_bytes;           //  bodies of waiting requests, all services
    int64_t heartbeat_at;          //  next heartbeat (monotonic ms)
    int64_t housekeeping_at;       //  next expiry scan (monotonic ms)
};

static void
s_count (cpec_broker_t *self, const char *name, const char *help)
{
    if (self->options.metrics)
        cpec_metrics_count (self->options.metrics, name, help, 1);
}

static void
s_malformed (cpec_broker_t *self, const char *why)
{
    s_count (self, "cpec_broker_malformed_total", "malformed messages dropped");
    cpec_log_warn (NULL, "dropped a malformed message: %s", why);
}

static void
s_request_destroy (request_t **self_p)
{
    request_t *self = *self_p;
    if (!self)
        return;
    zframe_destroy (&self->client);
    if (self->body && self->queued_bytes)
        *self->queued_bytes -= zframe_size (self->body);
    zframe_destroy (&self->body);
    free (self->request_id);
    free (self);
    *self_p = NULL;
}

static void
s_request_free (void **item)
{
    s_request_destroy ((request_t **)item);
}

static void
s_service_free (void **item)
{
    service_t *self = (service_t *)*item;
    if (!self)
        return;
    zlistx_destroy (&self->ready);
    zlistx_destroy (&self->requests);
    free (self->name);
    free (self);
    *item = NULL;
}

static void
s_worker_free (void **item)
{
    worker_t *self = (worker_t *)*item;
    if (!self)
        return;
    zframe_destroy (&self->identity);
    free (self->inflight);
    free (self->key);
    free (self);
    *item = NULL;
}

//  Sends a message on the router; drops it if the peer is gone or full.
static int
s_route (cpec_broker_t *self, zmsg_t **msg_p)
{
    int rc = zmsg_send (msg_p, self->router);
    zmsg_destroy (msg_p); //  czmq may keep the message on failure
    return rc;
}

static void
s_reply_frame (cpec_broker_t *self, zframe_t *client, zframe_t **reply_p)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (client)});
    zmsg_addstr (msg, CPEC_MDP_CLIENT);
    zmsg_append (msg, reply_p);
    s_route (self, &msg);
}

static void
s_reply_error (cpec_broker_t *self, zframe_t *client, const char *request_id, int code,
               const char *message)
{
    zframe_t *reply = cpec_mdp_error_frame (request_id, code, "%s", message);
    s_reply_frame (self, client, &reply);
}

static void
s_send_worker (cpec_broker_t *self, worker_t *worker, const char *command, zframe_t *client,
               zframe_t *body, int *rc)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *){zframe_dup (worker->identity)});
    zmsg_addstr (msg, CPEC_MDP_WORKER);
    zmsg_addstr (msg, command);
    if (client)
        zmsg_append (msg, &(zframe_t *){zframe_dup (client)});
    if (body)
        zmsg_append (msg, &(zframe_t *){zframe_dup (body)});
    int result = s_route (self, &msg);
    if (rc)
        *rc = result;
}

static void
s_worker_delete (cpec_broker_t *self, worker_t *worker, bool disconnect)
{
    if (disconnect)
        s_send_worker (self, worker, CPEC_MDP_DISCONNECT, NULL, NULL, NULL);
    if (worker->service) {
        if (worker->ready_handle)
            zlistx_delete (worker->service->ready, worker->ready_handle);
        worker->service->replicas--;
    }
    zhashx_delete (self->workers, worker->key);
}

//  The service, created if needed: by a worker while fewer than SERVICES_MAX
//  are held, by a client only while fewer than CLIENT_SERVICES are, so that
//  requests for made-up names can never keep a real replica out.
static service_t *
s_service_require (cpec_broker_t *self, const char *name, bool for_worker)
{
    service_t *service = (service_t *)zhashx_lookup (self->services, name);
    if (service || zhashx_size (self->services) >= (for_worker ? SERVICES_MAX : CLIENT_SERVICES))
        return service;
    service = (service_t *)zmalloc (sizeof (service_t));
    service->name = cpec_strdup (name);
    service->ready = zlistx_new ();
    service->requests = zlistx_new ();
    zlistx_set_destructor (service->requests, s_request_free);
    zhashx_insert (self->services, name, service);
    return service;
}

//  Hands waiting requests to ready replicas, least recently used first.
static void
s_dispatch (cpec_broker_t *self, service_t *service)
{
    int64_t now = cpec_now_ms ();
    while (zlistx_size (service->ready) && zlistx_size (service->requests)) {
        request_t *request = (request_t *)zlistx_detach (service->requests, NULL);
        if (request->deadline < now) {
            s_count (self, "cpec_broker_expired_total", "requests expired while queued");
            s_reply_error (self, request->client, request->request_id, CPEC_DEADLINE_EXCEEDED,
                           "deadline passed while waiting for a replica");
            s_request_destroy (&request);
            continue;
        }
        worker_t *worker = (worker_t *)zlistx_detach (service->ready, NULL);
        worker->ready_handle = NULL;
        assert (worker->outstanding < worker->window);
        int rc = 0;
        s_send_worker (self, worker, CPEC_MDP_REQUEST, request->client, request->body, &rc);
        if (rc != 0) {
            //  The replica went away without a word: drop it, keep the request.
            cpec_log_warn (NULL, "replica %s of %s unreachable, dropped", worker->key,
                           service->name);
            s_count (self, "cpec_broker_replicas_dropped_total", "replicas dropped");
            s_worker_delete (self, worker, false);
            zlistx_add_start (service->requests, request);
            continue;
        }
        inflight_t *slot = &worker->inflight[(worker->head + worker->outstanding) % worker->window];
        memcpy (slot->method, request->method, sizeof (slot->method));
        slot->received = request->received;
        worker->outstanding++;
        //  Back to the end of the line while its window has room: replicas
        //  take turns, least recently used first.
        if (worker->outstanding < worker->window)
            worker->ready_handle = zlistx_add_end (service->ready, worker);
        s_request_destroy (&request);
    }
}

static void
s_client_message (cpec_broker_t *self, zframe_t *sender, zmsg_t *msg)
{
    if (zmsg_size (msg) != 1) {
        s_malformed (self, "client message has the wrong number of frames");
        return;
    }
    zframe_t *body = zmsg_first (msg);
    Cpec__V1__Request *request = (Cpec__V1__Request *)cpec_pb_unpack (
        &cpec__v1__request__descriptor, zframe_data (body), zframe_size (body));
    if (!request || !*request->service || !*request->method) {
        s_malformed (self, "request envelope does not decode or names no service");
        cpec_pb_destroy ((ProtobufCMessage **)&request);
        return;
    }
    s_count (self, "cpec_broker_requests_total", "requests received from clients");
    int64_t now = cpec_now_ms ();
    int64_t deadline =
        request->deadline_unix_ms ? request->deadline_unix_ms : now + DEFAULT_DEADLINE;
    if (deadline > now + MAX_WAIT)
        deadline = now + MAX_WAIT;
    service_t *service = NULL;
    if (request->body.len > self->options.max_message)
        s_reply_error (self, sender, request->request_id, CPEC_RESOURCE_EXHAUSTED,
                       "request body exceeds the broker's limit");
    else if (deadline < now)
        s_reply_error (self, sender, request->request_id, CPEC_DEADLINE_EXCEEDED,
                       "deadline already passed");
    else if (!(service = s_service_require (self, request->service, false)))
        s_reply_error (self, sender, request->request_id, CPEC_UNAVAILABLE,
                       "no replica of the service is available");
    else if (zlistx_size (service->requests) >= self->options.queue_max) {
        s_count (self, "cpec_broker_rejected_total", "requests refused: queue full");
        char message[160];
        snprintf (message, sizeof (message), "queue of service %s is full (%zu requests)",
                  service->name, self->options.queue_max);
        s_reply_error (self, sender, request->request_id, CPEC_RESOURCE_EXHAUSTED, message);
    } else if (self->queued_bytes + zframe_size (body) > self->options.queue_bytes_max) {
        s_count (self, "cpec_broker_rejected_total", "requests refused: queue full");
        s_reply_error (self, sender, request->request_id, CPEC_RESOURCE_EXHAUSTED,
                       "the broker holds too many waiting bytes");
    } else {
        request_t *queued = (request_t *)zmalloc (sizeof (request_t));
        queued->client = zframe_dup (sender);
        queued->body = zmsg_pop (msg);
        queued->queued_bytes = &self->queued_bytes;
        self->queued_bytes += zframe_size (queued->body);
        queued->request_id = cpec_strdup (request->request_id);
        snprintf (queued->method, sizeof (queued->method), "%s.%s", request->service,
                  request->method);
        queued->deadline = deadline;
        queued->received = cpec_clock_ms ();
        zlistx_add_end (service->requests, queued);
        s_dispatch (self, service);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&request);
}

static void
s_worker_ready (cpec_broker_t *self, worker_t *worker)
{
    if (!worker->ready_handle)
        worker->ready_handle = zlistx_add_end (worker->service->ready, worker);
    s_dispatch (self, worker->service);
}

static void
s_until_free (void **item)
{
    free (*item);
    *item = NULL;
}

//  True if the peer said DISCONNECT a short while ago.
static bool
s_departed (cpec_broker_t *self, const char *key)
{
    int64_t *until = (int64_t *)zhashx_lookup (self->departed, key);
    return until && *until > cpec_clock_ms ();
}

static void
s_worker_message (cpec_broker_t *self, zframe_t *sender, zmsg_t *msg)
{
    zframe_t *command = zmsg_pop (msg);
    if (!command || zframe_size (command) != 1) {
        s_malformed (self, "worker message without a command");
        zframe_destroy (&command);
        return;
    }
    char *key = zframe_strhex (sender);
    worker_t *worker = (worker_t *)zhashx_lookup (self->workers, key);

    if (zframe_streq (command, CPEC_MDP_READY)) {
        //  [service] or [service][window]: how many requests it takes at once.
        size_t frames = zmsg_size (msg);
        char *name = frames == 1 || frames == 2 ? zmsg_popstr (msg) : NULL;
        char *window_text = frames == 2 ? zmsg_popstr (msg) : NULL;
        long window = window_text ? atol (window_text) : 1;
        free (window_text);
        if (!name || !*name || strlen (name) >= 64 || window < 1 || window > 1024)
            s_malformed (self, "READY without a valid service name and window");
        else {
            if (worker) //  re-registration: start afresh
                s_worker_delete (self, worker, false);
            service_t *service = s_service_require (self, name, true);
            if (service) {
                worker = (worker_t *)zmalloc (sizeof (worker_t));
                worker->key = cpec_strdup (key);
                worker->identity = zframe_dup (sender);
                worker->service = service;
                worker->window = (size_t)window;
                worker->inflight = (inflight_t *)zmalloc (sizeof (inflight_t) * worker->window);
                worker->expiry = cpec_clock_ms () + (int64_t)self->options.heartbeat_ms * LIVENESS;
                zhashx_insert (self->workers, key, worker);
                service->replicas++;
                cpec_log_info (NULL, "replica %s of %s registered (%zu now)", key, name,
                               service->replicas);
                //  Acknowledge at once: the worker counts as registered when
                //  it hears from us.
                s_send_worker (self, worker, CPEC_MDP_HEARTBEAT, NULL, NULL, NULL);
                s_worker_ready (self, worker);
            }
        }
        free (name);
    } else if (!worker && zframe_streq (command, CPEC_MDP_REPLY) && zmsg_size (msg) == 2 &&
               s_departed (self, key)) {
        //  A replica that said DISCONNECT still answers what it had taken
        //  (cpec_worker_stop): pass the answer on, for a while.
        zframe_t *client = zmsg_pop (msg);
        zframe_t *reply = zmsg_pop (msg);
        s_reply_frame (self, client, &reply);
        zframe_destroy (&client);
    } else if (!worker) {
        //  Not registered here (the broker restarted): ask it to reconnect.
        if (!zframe_streq (command, CPEC_MDP_DISCONNECT)) {
            worker_t stranger = {.key = key, .identity = sender};
            s_send_worker (self, &stranger, CPEC_MDP_DISCONNECT, NULL, NULL, NULL);
        }
    } else if (zframe_streq (command, CPEC_MDP_REPLY)) {
        worker->expiry = cpec_clock_ms () + (int64_t)self->options.heartbeat_ms * LIVENESS;
        if (zmsg_size (msg) != 2 || worker->outstanding == 0)
            s_malformed (self, "REPLY without a client and a body, or from an idle replica");
        else {
            zframe_t *client = zmsg_pop (msg);
            zframe_t *reply = zmsg_pop (msg);
            inflight_t *slot = &worker->inflight[worker->head];
            worker->head = (worker->head + 1) % worker->window;
            worker->outstanding--;
            if (self->options.metrics)
                cpec_metrics_observe (
                    self->options.metrics, slot->method,
                    cpec_mdp_reply_code (zframe_data (reply), zframe_size (reply)),
                    (double)(cpec_clock_ms () - slot->received) / 1000.0);
            s_reply_frame (self, client, &reply);
            zframe_destroy (&client);
            s_worker_ready (self, worker);
        }
    } else if (zframe_streq (command, CPEC_MDP_HEARTBEAT))
        worker->expiry = cpec_clock_ms () + (int64_t)self->options.heartbeat_ms * LIVENESS;
    else if (zframe_streq (command, CPEC_MDP_DISCONNECT)) {
        cpec_log_info (NULL, "replica %s of %s disconnected", key, worker->service->name);
        int64_t *until = (int64_t *)zmalloc (sizeof (int64_t));
        *until = cpec_clock_ms () + DEPARTED_MS;
        zhashx_update (self->departed, key, until);
        s_worker_delete (self, worker, false);
    } else
        s_malformed (self, "unknown worker command");
    zstr_free (&key);
    zframe_destroy (&command);
}

static void
s_router_message (cpec_broker_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    if (!msg)
        return;
    zframe_t *sender = zmsg_pop (msg);
    zframe_t *header = zmsg_pop (msg);
    if (!sender || !header)
        s_malformed (self, "message without a protocol header");
    else if (zframe_streq (header, CPEC_MDP_CLIENT))
        s_client_message (self, sender, msg);
    else if (zframe_streq (header, CPEC_MDP_WORKER))
        s_worker_message (self, sender, msg);
    else
        s_malformed (self, "unknown protocol header");
    zframe_destroy (&sender);
    zframe_destroy (&header);
    zmsg_destroy (&msg);
}

//  Heartbeats, dead replicas, expired requests, idle services.
static void
s_housekeeping (cpec_broker_t *self)
{
    int64_t clock = cpec_clock_ms ();
    if (clock >= self->heartbeat_at) {
        zlistx_t *keys = zhashx_keys (self->workers);
        for (char *key = (char *)zlistx_first (keys); key; key = (char *)zlistx_next (keys)) {
            worker_t *worker = (worker_t *)zhashx_lookup (self->workers, key);
            if (worker->expiry < clock) {
                cpec_log_warn (NULL, "replica %s of %s missed %d heartbeats, dropped", key,
                               worker->service->name, LIVENESS);
                s_count (self, "cpec_broker_replicas_dropped_total", "replicas dropped");
                s_worker_delete (self, worker, false);
            } else
                s_send_worker (self, worker, CPEC_MDP_HEARTBEAT, NULL, NULL, NULL);
        }
        zlistx_destroy (&keys);
        self->heartbeat_at = clock + self->options.heartbeat_ms;
    }
    if (clock < self->housekeeping_at)
        return;
    self->housekeeping_at = clock + 50;
    zlistx_t *departed = zhashx_keys (self->departed);
    for (char *key = (char *)zlistx_first (departed); key; key = (char *)zlistx_next (departed))
        if (*(int64_t *)zhashx_lookup (self->departed, key) <= clock)
            zhashx_delete (self->departed, key);
    zlistx_destroy (&departed);
    int64_t now = cpec_now_ms ();
    size_t queued = 0, replicas = 0;
    zlistx_t *names = zhashx_keys (self->services);
    for (char *name = (char *)zlistx_first (names); name; name = (char *)zlistx_next (names)) {
        service_t *service = (service_t *)zhashx_lookup (self->services, name);
        void *handle = zlistx_first (service->requests) ? zlistx_cursor (service->requests) : NULL;
        while (handle) {
            request_t *request = (request_t *)zlistx_handle_item (handle);
            void *next = zlistx_next (service->requests) ? zlistx_cursor (service->requests) : NULL;
            if (request->deadline < now) {
                s_count (self, "cpec_broker_expired_total", "requests expired while queued");
                if (service->replicas == 0)
                    s_reply_error (self, request->client, request->request_id, CPEC_UNAVAILABLE,
                                   "no replica of the service is available");
                else
                    s_reply_error (self, request->client, request->request_id,
                                   CPEC_DEADLINE_EXCEEDED,
                                   "deadline passed while every replica was busy");
                zlistx_delete (service->requests, handle);
            }
            handle = next;
        }
        queued += zlistx_size (service->requests);
        replicas += service->replicas;
        if (service->replicas == 0 && zlistx_size (service->requests) == 0)
            zhashx_delete (self->services, name);
    }
    zlistx_destroy (&names);
    if (self->options.metrics) {
        cpec_metrics_gauge (self->options.metrics, "cpec_broker_queued",
                            "requests waiting for a replica", (double)queued);
        cpec_metrics_gauge (self->options.metrics, "cpec_broker_replicas",
                            "registered replicas, all services", (double)replicas);
    }
}

//  Forwards every frame of one message from `from` to `to`.
static void
s_forward (zsock_t *from, zsock_t *to)
{
    void *in = zsock_resolve (from);
    void *out = zsock_resolve (to);
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, in, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            return;
        }
        more = zmq_msg_more (&part);
        if (zmq_msg_send (&part, out, (more ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            zmq_msg_close (&part); //  a slow subscriber loses events, never blocks us
    }
}

static zsock_t *
s_bind (int type, const char *endpoint)
{
    zsock_t *sock = cpec_mdp_socket (type, endpoint, true);
    if (!sock)
        cpec_log_error (NULL, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
    return sock;
}

cpec_broker_t *
cpec_broker_new (const cpec_broker_options_t *options)
{
    assert (options && options->endpoint && options->bus_in && options->bus_out);
    cpec_broker_t *self = (cpec_broker_t *)zmalloc (sizeof (cpec_broker_t));
    self->options = *options;
    if (self->options.heartbeat_ms <= 0)
        self->options.heartbeat_ms = 1000;
    self->services = zhashx_new ();
    zhashx_set_destructor (self->services, s_service_free);
    self->workers = zhashx_new ();
    zhashx_set_destructor (self->workers, s_worker_free);
    self->departed = zhashx_new ();
    zhashx_set_destructor (self->departed, s_until_free);
    self->router = s_bind (ZMQ_ROUTER, options->endpoint);
    self->bus_in = s_bind (ZMQ_XSUB, options->bus_in);
    self->bus_out = s_bind (ZMQ_XPUB, options->bus_out);
    if (!self->router || !self->bus_in || !self->bus_out) {
        cpec_broker_destroy (&self);
        return NULL;
    }
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndtimeo (self->router, 0);
    self->heartbeat_at = cpec_clock_ms () + self->options.heartbeat_ms;
    return self;
}

void
cpec_broker_destroy (cpec_broker_t **self_p)
{
    assert (self_p);
    cpec_broker_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->workers);
    zhashx_destroy (&self->departed);
    zhashx_destroy (&self->services);
    zsock_destroy (&self->router);
    zsock_destroy (&self->bus_in);
    zsock_destroy (&self->bus_out);
    free (self);
    *self_p = NULL;
}

size_t
cpec_broker_replicas (cpec_broker_t *self, const char *name)
{
    assert (self && name);
    service_t *service = (service_t *)zhashx_lookup (self->services, name);
    return service ? service->replicas : 0;
}

int
cpec_broker_poll (cpec_broker_t *self, int timeout_ms)
{
    assert (self);
    int64_t end = cpec_clock_ms () + timeout_ms;
    while (!zsys_interrupted) {
        s_housekeeping (self);
        int64_t now = cpec_clock_ms ();
        if (now >= end)
            return 0;
        int64_t wait = end - now;
        //  Wake for the next heartbeat and, at the latest, every 100 ms to
        //  expire queued requests close to their deadline.
        if (wait > self->heartbeat_at - now)
            wait = self->heartbeat_at - now;
        if (wait > 100)
            wait = 100;
        zmq_pollitem_t items[] = {
            {zsock_resolve (self->router), 0, ZMQ_POLLIN, 0},
            {zsock_resolve (self->bus_in), 0, ZMQ_POLLIN, 0},
            {zsock_resolve (self->bus_out), 0, ZMQ_POLLIN, 0},
        };
        int rc = zmq_poll (items, 3, wait < 0 ? 0 : (long)wait);
        if (rc < 0)
            return zsys_interrupted ? -1 : 0;
        //  Bounded batches, so that no socket starves the others; a socket
        //  the poll found quiet is not asked again.
        for (int i = 0; i < 1000 && (items[0].revents & ZMQ_POLLIN) &&
                        (i == 0 || (zsock_events (self->router) & ZMQ_POLLIN));
             i++)
            s_router_message (self);
        for (int i = 0; i < 1000 && (items[1].revents & ZMQ_POLLIN) &&
                        (i == 0 || (zsock_events (self->bus_in) & ZMQ_POLLIN));
             i++)
            s_forward (self->bus_in, self->bus_out);
        for (int i = 0; i < 1000 && (items[2].revents & ZMQ_POLLIN) &&
                        (i == 0 || (zsock_events (self->bus_out) & ZMQ_POLLIN));
             i++)
            s_forward (self->bus_out, self->bus_in);
    }
    return -1;
}

void
cpec_broker_actor (zsock_t *pipe, void *args)
{
    //  A previous broker in this process may still be releasing the ports
    //  (libzmq closes asynchronously): retry binding for a while.
    cpec_broker_t *self = cpec_broker_new ((const cpec_broker_options_t *)args);
    for (int attempt = 0; !self && attempt < 60; attempt++) {
        zclock_sleep (50);
        self = cpec_broker_new ((const cpec_broker_options_t *)args);
    }
    zsock_signal (pipe, self ? 0 : 1);
    if (!self)
        return;
    while (true) {
        if (zsock_events (pipe) & ZMQ_POLLIN) {
            char *command = zstr_recv (pipe);
            bool stop = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (stop)
                break;
        }
        zmq_pollitem_t item = {zsock_resolve (pipe), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, 0) > 0)
            continue;
        if (cpec_broker_poll (self, 20) < 0)
            break;
    }
    cpec_broker_destroy (&self);
}
