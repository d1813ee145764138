/*  cpec_mdp - the wire protocol between clients, the broker and workers,
    modelled on ZeroMQ RFC 18/MDP. Every socket is a DEALER talking to the
    broker's ROUTER; no empty delimiter frames.

    client -> broker  [CPEC_MDP_CLIENT] [Request]
    broker -> client  [CPEC_MDP_CLIENT] [Reply]
    worker -> broker  [CPEC_MDP_WORKER] [READY]      [service name] [window]
                      [CPEC_MDP_WORKER] [REPLY]      [client id] [Reply]
                      [CPEC_MDP_WORKER] [HEARTBEAT]
                      [CPEC_MDP_WORKER] [DISCONNECT]
    broker -> worker  [CPEC_MDP_WORKER] [REQUEST]    [client id] [Request]
                      [CPEC_MDP_WORKER] [HEARTBEAT]
                      [CPEC_MDP_WORKER] [DISCONNECT]

    Request and Reply are cpec.v1.Request / cpec.v1.Reply, packed. A worker
    takes up to `window` requests at once (decimal; optional, default 1),
    serves them in order and answers each with a REPLY, which frees a place
    in its window. Pipelining hides the broker round trip between requests.
*/
#ifndef CPEC_MDP_H_INCLUDED
#define CPEC_MDP_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpec/v1/envelope.pb-c.h"

#define CPEC_MDP_CLIENT "CPEC01C"
#define CPEC_MDP_WORKER "CPEC01W"

#define CPEC_MDP_READY      "\001"
#define CPEC_MDP_REQUEST    "\002"
#define CPEC_MDP_REPLY      "\003"
#define CPEC_MDP_HEARTBEAT  "\004"
#define CPEC_MDP_DISCONNECT "\005"

//  ZMQ_MAXMSGSIZE on every socket: a frame past this drops the connection.
//  Requests up to CPEC_MAX_MESSAGE get an answer; past it RESOURCE_EXHAUSTED.
#define CPEC_MDP_HARD_LIMIT (16 * 1024 * 1024)

//  A socket of `type` bound (bind true) or connected to endpoint, with the
//  project's settings: no linger, frames capped at CPEC_MDP_HARD_LIMIT.
//  NULL if the endpoint is invalid or cannot be bound.
zsock_t *cpec_mdp_socket (int type, const char *endpoint, bool bind);

//  Builds and packs a Reply with the given code and message (no body) into a
//  new frame.
zframe_t *cpec_mdp_error_frame (const char *request_id, int code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  The status code of a packed Reply without decoding all of it (field 2,
//  a varint); CPEC_INTERNAL when the bytes are not a Reply.
int cpec_mdp_reply_code (const uint8_t *data, size_t size);

//  The broker service name for a protoc-c service: the last component of its
//  name, lowercased ("cpec.v1.Registry" -> "registry"), into buf.
void cpec_mdp_service_name (const char *full_name, char *buf, size_t size);

#endif
