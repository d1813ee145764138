/*  cpec_mdp - wire protocol helpers shared by client, worker and broker. */
#include "cpec_mdp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cpec_pb.h"

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
