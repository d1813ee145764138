/*  cpec_pb - protobuf-c helpers: pack, unpack, copy, field swap, timestamps.

    Every message is a heap tree made with the system allocator (a NULL
    ProtobufCAllocator), so protobuf_c_message_free_unpacked (msg, NULL) frees
    any of them, whether it came from unpack or was built field by field.
*/
#include "cpec_pb.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

void *
cpec_realloc (void *memory, size_t size)
{
    void *grown = realloc (memory, size ? size : 1);
    if (!grown) {
        fprintf (stderr, "cpec: out of memory (%zu bytes)\n", size);
        abort ();
    }
    return grown;
}

static void *
s_alloc (size_t size)
{
    return cpec_realloc (NULL, size);
}

ProtobufCMessage *
cpec_pb_new (const ProtobufCMessageDescriptor *descriptor)
{
    assert (descriptor);
    assert (descriptor->magic == PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    ProtobufCMessage *message = (ProtobufCMessage *)s_alloc (descriptor->sizeof_message);
    protobuf_c_message_init (descriptor, message);
    return message;
}

void
cpec_pb_destroy (ProtobufCMessage **self_p)
{
    assert (self_p);
    if (*self_p) {
        protobuf_c_message_free_unpacked (*self_p, NULL);
        *self_p = NULL;
    }
}

uint8_t *
cpec_pb_pack (const ProtobufCMessage *message, size_t *size)
{
    assert (message);
    assert (size);
    size_t length = protobuf_c_message_get_packed_size (message);
    uint8_t *buffer = (uint8_t *)s_alloc (length);
    *size = protobuf_c_message_pack (message, buffer);
    assert (*size == length);
    return buffer;
}

ProtobufCMessage *
cpec_pb_unpack (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data, size_t size)
{
    assert (descriptor);
    static const uint8_t empty[1] = {0};
    if (!data) {
        if (size)
            return NULL;
        data = empty;
    }
    return protobuf_c_message_unpack (descriptor, NULL, size, data);
}

ProtobufCMessage *
cpec_pb_dup (const ProtobufCMessage *message)
{
    if (!message)
        return NULL;
    size_t size;
    uint8_t *buffer = cpec_pb_pack (message, &size);
    ProtobufCMessage *copy = cpec_pb_unpack (message->descriptor, buffer, size);
    free (buffer);
    if (!copy) {
        //  What we packed ourselves always unpacks, except when memory runs out
        fprintf (stderr, "cpec: cannot copy %s\n", message->descriptor->name);
        abort ();
    }
    return copy;
}

size_t
cpec_pb_storage_size (ProtobufCType type)
{
    switch (type) {
        case PROTOBUF_C_TYPE_INT32:
        case PROTOBUF_C_TYPE_SINT32:
        case PROTOBUF_C_TYPE_SFIXED32:
        case PROTOBUF_C_TYPE_UINT32:
        case PROTOBUF_C_TYPE_FIXED32: return sizeof (uint32_t);
        case PROTOBUF_C_TYPE_INT64:
        case PROTOBUF_C_TYPE_SINT64:
        case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64:
        case PROTOBUF_C_TYPE_FIXED64: return sizeof (uint64_t);
        case PROTOBUF_C_TYPE_FLOAT: return sizeof (float);
        case PROTOBUF_C_TYPE_DOUBLE: return sizeof (double);
        case PROTOBUF_C_TYPE_BOOL: return sizeof (protobuf_c_boolean);
        case PROTOBUF_C_TYPE_ENUM: return sizeof (int);
        case PROTOBUF_C_TYPE_STRING: return sizeof (char *);
        case PROTOBUF_C_TYPE_BYTES: return sizeof (ProtobufCBinaryData);
        case PROTOBUF_C_TYPE_MESSAGE: return sizeof (ProtobufCMessage *);
    }
    return 0;
}

static void
s_swap_bytes (void *a, void *b, size_t size)
{
    uint8_t *x = (uint8_t *)a;
    uint8_t *y = (uint8_t *)b;
    for (size_t i = 0; i < size; i++) {
        uint8_t t = x[i];
        x[i] = y[i];
        y[i] = t;
    }
}

int
cpec_pb_swap_field (ProtobufCMessage *a, ProtobufCMessage *b, const char *name)
{
    assert (a && b && name);
    assert (a->descriptor == b->descriptor);
    const ProtobufCMessageDescriptor *descriptor = a->descriptor;
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (descriptor, name);
    if (!field)
        return -1;

    uint8_t *base_a = (uint8_t *)a;
    uint8_t *base_b = (uint8_t *)b;
    if (field->label == PROTOBUF_C_LABEL_REPEATED) {
        s_swap_bytes (base_a + field->quantifier_offset, base_b + field->quantifier_offset,
                      sizeof (size_t));
        s_swap_bytes (base_a + field->offset, base_b + field->offset, sizeof (void *));
    } else if (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        //  The members of a oneof share one union: swap the whole oneof (its
        //  case and the widest member) so that each value keeps its case.
        size_t size = 0;
        for (unsigned i = 0; i < descriptor->n_fields; i++) {
            const ProtobufCFieldDescriptor *member = &descriptor->fields[i];
            if ((member->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                member->quantifier_offset == field->quantifier_offset) {
                size_t member_size = cpec_pb_storage_size (member->type);
                if (member_size > size)
                    size = member_size;
            }
        }
        s_swap_bytes (base_a + field->quantifier_offset, base_b + field->quantifier_offset,
                      sizeof (uint32_t));
        s_swap_bytes (base_a + field->offset, base_b + field->offset, size);
    } else {
        if (field->label == PROTOBUF_C_LABEL_OPTIONAL && field->quantifier_offset)
            s_swap_bytes (base_a + field->quantifier_offset, base_b + field->quantifier_offset,
                          sizeof (protobuf_c_boolean));
        s_swap_bytes (base_a + field->offset, base_b + field->offset,
                      cpec_pb_storage_size (field->type));
    }
    return 0;
}

char *
cpec_strdup (const char *string)
{
    assert (string);
    size_t size = strlen (string) + 1;
    char *copy = (char *)s_alloc (size);
    memcpy (copy, string, size);
    return copy;
}

void
cpec_pb_move (ProtobufCMessage *to, ProtobufCMessage **from_p)
{
    assert (to && from_p && *from_p);
    const ProtobufCMessageDescriptor *descriptor = to->descriptor;
    assert ((*from_p)->descriptor == descriptor);
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const ProtobufCFieldDescriptor *field = &descriptor->fields[i];
        //  A oneof is swapped whole through its first member
        bool seen = false;
        for (unsigned j = 0; j < i && (field->flags & PROTOBUF_C_FIELD_FLAG_ONEOF); j++)
            seen = seen || ((descriptor->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                            descriptor->fields[j].quantifier_offset == field->quantifier_offset);
        if (!seen)
            cpec_pb_swap_field (to, *from_p, field->name);
    }
    cpec_pb_destroy (from_p);
}

void
cpec_pb_string_set (char **field, const char *value)
{
    assert (field && value);
    if (*field && *field != protobuf_c_empty_string)
        free (*field);
    *field = cpec_strdup (value);
}

void *
cpec_memdup (const void *data, size_t size)
{
    assert (data || size == 0);
    void *copy = s_alloc (size ? size : 1);
    if (size)
        memcpy (copy, data, size);
    return copy;
}

int64_t
cpec_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
cpec_clock_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Google__Protobuf__Timestamp *
cpec_pb_timestamp_new (int64_t unix_ms)
{
    Google__Protobuf__Timestamp *timestamp =
        (Google__Protobuf__Timestamp *)cpec_pb_new (&google__protobuf__timestamp__descriptor);
    //  Floor division: nanos is always in [0, 1e9), also before 1970
    int64_t seconds = unix_ms / 1000;
    int64_t millis = unix_ms % 1000;
    if (millis < 0) {
        seconds -= 1;
        millis += 1000;
    }
    timestamp->seconds = seconds;
    timestamp->nanos = (int32_t)(millis * 1000000);
    return timestamp;
}

int64_t
cpec_pb_timestamp_ms (const Google__Protobuf__Timestamp *timestamp)
{
    if (!timestamp)
        return 0;
    //  Saturate rather than overflow on a nonsense timestamp
    if (timestamp->seconds > INT64_MAX / 1000 - 1)
        return INT64_MAX;
    if (timestamp->seconds < INT64_MIN / 1000 + 1)
        return INT64_MIN;
    int64_t nanos = timestamp->nanos;
    int64_t millis = nanos / 1000000;
    if (nanos % 1000000 < 0)
        millis -= 1; //  floor, for a (non-canonical) negative nanos
    return timestamp->seconds * 1000 + millis;
}

Google__Protobuf__DoubleValue *
cpec_pb_double_new (double value)
{
    Google__Protobuf__DoubleValue *wrapper =
        (Google__Protobuf__DoubleValue *)cpec_pb_new (&google__protobuf__double_value__descriptor);
    wrapper->value = value;
    return wrapper;
}

Google__Protobuf__UInt32Value *
cpec_pb_uint32_new (uint32_t value)
{
    Google__Protobuf__UInt32Value *wrapper =
        (Google__Protobuf__UInt32Value *)cpec_pb_new (&google__protobuf__uint32_value__descriptor);
    wrapper->value = value;
    return wrapper;
}

Google__Protobuf__BoolValue *
cpec_pb_bool_new (bool value)
{
    Google__Protobuf__BoolValue *wrapper =
        (Google__Protobuf__BoolValue *)cpec_pb_new (&google__protobuf__bool_value__descriptor);
    wrapper->value = value;
    return wrapper;
}

#define S_UUID_POOL 4096
static _Thread_local uint8_t s_uuid_pool[S_UUID_POOL];
static _Thread_local size_t s_uuid_used = S_UUID_POOL; //  all used: refill first
static pthread_once_t s_uuid_once = PTHREAD_ONCE_INIT;

//  In the child of a fork (its one thread): the parent's bytes are not ours
static void
s_uuid_forked (void)
{
    s_uuid_used = S_UUID_POOL;
}

static void
s_uuid_init (void)
{
    pthread_atfork (NULL, NULL, s_uuid_forked);
}

void
cpec_uuid (char buf[37])
{
    //  From a pool of the kernel's random bytes, refilled 4 KiB at a time (a
    //  thousand events need not make a thousand system calls); a process
    //  made by fork empties its pool first (s_uuid_forked).
    pthread_once (&s_uuid_once, s_uuid_init);
    uint8_t bytes[16];
    size_t have = 0;
    uint8_t *pool = s_uuid_pool;
    if (s_uuid_used + sizeof (bytes) > S_UUID_POOL) {
        size_t filled = 0;
        while (filled < S_UUID_POOL) {
            ssize_t rc = getrandom (pool + filled, S_UUID_POOL - filled, 0);
            if (rc > 0)
                filled += (size_t)rc;
            else if (rc == 0 || errno != EINTR)
                break;
        }
        if (filled == S_UUID_POOL)
            s_uuid_used = 0;
    }
    if (s_uuid_used + sizeof (bytes) <= S_UUID_POOL) {
        memcpy (bytes, pool + s_uuid_used, sizeof (bytes));
        memset (pool + s_uuid_used, 0, sizeof (bytes)); //  used once
        s_uuid_used += sizeof (bytes);
        have = sizeof (bytes);
    }
    if (have < sizeof (bytes)) {
        //  No getrandom (old kernel, seccomp): czmq's generator
        zuuid_t *uuid = zuuid_new ();
        assert (uuid);
        memcpy (bytes, zuuid_data (uuid), sizeof (bytes));
        zuuid_destroy (&uuid);
    }
    bytes[6] = (uint8_t)((bytes[6] & 0x0f) | 0x40); //  version 4
    bytes[8] = (uint8_t)((bytes[8] & 0x3f) | 0x80); //  RFC 4122 variant
    static const char hex[] = "0123456789abcdef";
    size_t at = 0;
    for (size_t i = 0; i < sizeof (bytes); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            buf[at++] = '-';
        buf[at++] = hex[bytes[i] >> 4];
        buf[at++] = hex[bytes[i] & 0x0f];
    }
    buf[at] = '\0';
}
