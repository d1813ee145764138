/*  cpec_mdp - wire protocol helpers shared by client, worker and broker. */
#include "cpec_mdp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cpec_pb.h"
#include "cpec_status.h"

zsock_t *
cpec_mdp_socket (int type, const char *endpoint, bool bind)
{
    assert (endpoint);
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    zsock_set_maxmsgsize (sock, CPEC_MDP_HARD_LIMIT);
    int rc = bind ? (zsock_bind (sock, "%s", endpoint) < 0 ? -1 : 0)
                  : zsock_connect (sock, "%s", endpoint);
    if (rc != 0)
        zsock_destroy (&sock);
    return sock;
}

zframe_t *
cpec_mdp_error_frame (const char *request_id, int code, const char *format, ...)
{
    char message[512];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);

    Cpec__V1__Reply reply = CPEC__V1__REPLY__INIT;
    reply.request_id = (char *)(request_id ? request_id : "");
    reply.code = (Cpec__V1__Status__Code)code;
    reply.message = message;
    size_t size = cpec__v1__reply__get_packed_size (&reply);
    zframe_t *frame = zframe_new (NULL, size);
    cpec__v1__reply__pack (&reply, zframe_data (frame));
    return frame;
}

void
cpec_mdp_service_name (const char *full_name, char *buf, size_t size)
{
    assert (full_name && buf && size > 0);
    const char *dot = strrchr (full_name, '.');
    const char *name = dot ? dot + 1 : full_name;
    size_t i = 0;
    for (; name[i] && i + 1 < size; i++)
        buf[i] = (char)tolower ((unsigned char)name[i]);
    buf[i] = '\0';
}

//  Reads a varint at *pos; -1 if truncated or too long.
static int
s_varint (const uint8_t *data, size_t size, size_t *pos, uint64_t *value)
{
    *value = 0;
    for (int shift = 0; shift < 64 && *pos < size; shift += 7) {
        uint8_t byte = data[(*pos)++];
        *value |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return 0;
    }
    return -1;
}

int
cpec_mdp_reply_code (const uint8_t *data, size_t size)
{
    size_t pos = 0;
    int code = CPEC_OK; //  proto3: an absent code is OK
    while (pos < size) {
        uint64_t key, value;
        if (s_varint (data, size, &pos, &key) != 0)
            return CPEC_INTERNAL;
        if ((key & 7) == 0) {
            if (s_varint (data, size, &pos, &value) != 0)
                return CPEC_INTERNAL;
            if (key >> 3 == 2)
                code = value <= CPEC_UNAUTHENTICATED ? (int)value : CPEC_UNKNOWN;
        } else if ((key & 7) == 2) {
            if (s_varint (data, size, &pos, &value) != 0 || value > size - pos)
                return CPEC_INTERNAL;
            pos += (size_t)value;
        } else
            return CPEC_INTERNAL; //  Reply has no other wire types
    }
    return code;
}
