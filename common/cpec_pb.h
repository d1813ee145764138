/*  cpec_pb - protobuf-c helpers: pack, unpack, copy, field swap, timestamps.

    Ownership: every message returned here is a heap tree allocated with the
    system allocator, freed with cpec_pb_destroy (protobuf_c_message_free_unpacked
    with the default allocator). Handlers that build replies follow the same
    rule: every string, array and sub-message of a reply is malloc'd.
*/
#ifndef CPEC_PB_H_INCLUDED
#define CPEC_PB_H_INCLUDED

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"

//  A new message of type `descriptor`, initialised to defaults. Never NULL.
ProtobufCMessage *cpec_pb_new (const ProtobufCMessageDescriptor *descriptor);

//  Frees a message tree and sets *self_p to NULL. Idempotent.
void cpec_pb_destroy (ProtobufCMessage **self_p);

//  Packs into a new buffer (caller frees); *size gets its length.
uint8_t *cpec_pb_pack (const ProtobufCMessage *message, size_t *size);

//  Unpacks; NULL when the bytes are not a valid message of that type.
ProtobufCMessage *cpec_pb_unpack (const ProtobufCMessageDescriptor *descriptor, const uint8_t *data,
                                  size_t size);

//  A deep copy (by pack and unpack). NULL only when message is NULL.
ProtobufCMessage *cpec_pb_dup (const ProtobufCMessage *message);

//  Swaps the named top-level field (scalar, string, bytes, message or repeated)
//  between two messages of the same type: ownership travels with the value.
//  Returns 0, or -1 when the field does not exist.
int cpec_pb_swap_field (ProtobufCMessage *a, ProtobufCMessage *b, const char *name);

//  Moves every field of *from_p into `to` (same type; to's old values go to
//  *from_p) and destroys *from_p. For handing a message built by a handler
//  to the worker's output.
void cpec_pb_move (ProtobufCMessage *to, ProtobufCMessage **from_p);

//  Size of one value of this type as stored in a message struct.
size_t cpec_pb_storage_size (ProtobufCType type);

//  realloc that never returns NULL (aborts on OOM); size 0 allocates 1 byte.
void *cpec_realloc (void *memory, size_t size);

//  malloc'd copy of a string (never NULL for a non-NULL input; aborts on OOM).
char *cpec_strdup (const char *string);

//  Sets a string field of a message to a malloc'd copy of value, freeing the
//  old string unless it is protobuf-c's shared empty default (an unset field
//  of a decoded or new message), which must never be freed.
void cpec_pb_string_set (char **field, const char *value);

//  malloc'd copy of `size` bytes (aborts on OOM; size 0 allocates 1 byte).
void *cpec_memdup (const void *data, size_t size);

//  Milliseconds since the Unix epoch, UTC (CLOCK_REALTIME).
int64_t cpec_now_ms (void);

//  Monotonic milliseconds, for timeouts and latency.
int64_t cpec_clock_ms (void);

//  A new Timestamp for Unix milliseconds.
Google__Protobuf__Timestamp *cpec_pb_timestamp_new (int64_t unix_ms);

//  Unix milliseconds of a Timestamp; 0 for NULL.
int64_t cpec_pb_timestamp_ms (const Google__Protobuf__Timestamp *timestamp);

//  New wrapper values.
Google__Protobuf__DoubleValue *cpec_pb_double_new (double value);
Google__Protobuf__UInt32Value *cpec_pb_uint32_new (uint32_t value);
Google__Protobuf__BoolValue *cpec_pb_bool_new (bool value);

//  A random UUID (version 4) as a canonical lowercase string in buf (37 bytes).
void cpec_uuid (char buf[37]);

#endif
