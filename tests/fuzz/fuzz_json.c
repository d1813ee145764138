/*  fuzz_json - libFuzzer target of the JSON codec (common/cpec_json.c) and
    of the gateway's JSON merge patch (services/gateway/gw_patch.c).

    Each input is decoded as a Milestone, a Sez, an UpdateSezRequest, an
    Enterprise, a CreateMilestoneRequest, an Event, a Request (bytes, int64)
    and a MilestoneState (repeated int64). What decodes must
    encode (compact, then pretty with defaults), decode again and pack to the
    same protobuf bytes. Then the input, as JSON, is applied as a merge patch
    to fixed targets (and, when it is a [target, patch] array, patch to
    target), checking RFC 7386: members set, removed or kept as the patch
    says, the inputs untouched, and applying it twice changes nothing.
    Built and run by tests/fuzz/run.
*/
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec/v1/milestones.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#ifdef CPEC_FUZZ_PATCH
#include "gw_patch.h"
#endif

static void
s_die (const char *what, const char *detail, const uint8_t *data, size_t size)
{
    fprintf (stderr, "fuzz_json: %s: %s\ninput (%zu bytes): %.*s\n", what, detail, size,
             (int)(size < 2000 ? size : 2000), (const char *)data);
    abort ();
}

//  Encodes message with flags, decodes the text, and checks that both pack
//  to the same bytes.
static void
s_round_trip (const ProtobufCMessage *message, int flags, const uint8_t *data, size_t size)
{
    char *text = cpec_json_encode (message, flags);
    if (!text)
        s_die (message->descriptor->name, "encoding gave NULL", data, size);
    char error[512] = "";
    ProtobufCMessage *again =
        cpec_json_decode (message->descriptor, text, strlen (text), error, sizeof (error));
    if (!again) {
        fprintf (stderr, "encoded: %s\n", text);
        s_die (message->descriptor->name, error, data, size);
    }
    size_t packed_size, again_size;
    uint8_t *packed = cpec_pb_pack (message, &packed_size);
    uint8_t *again_packed = cpec_pb_pack (again, &again_size);
    if (packed_size != again_size || memcmp (packed, again_packed, packed_size) != 0) {
        fprintf (stderr, "encoded: %s\n", text);
        s_die (message->descriptor->name, "the round trip changed the message", data, size);
    }
    free (packed);
    free (again_packed);
    cpec_pb_destroy (&again);
    free (text);
}

#ifdef CPEC_FUZZ_PATCH
//  Checks gw_json_merge_patch (target, patch) against RFC 7386.
static void
s_check_patch (json_t *target, json_t *patch, const uint8_t *data, size_t size)
{
    json_t *target_copy = json_deep_copy (target);
    json_t *patch_copy = json_deep_copy (patch);
    json_t *result = gw_json_merge_patch (target, patch);
    if (!result)
        s_die ("merge patch", "NULL result", data, size);
    if (!json_equal (target, target_copy) || !json_equal (patch, patch_copy))
        s_die ("merge patch", "an input was changed", data, size);
    if (!json_is_object (patch)) {
        if (!json_equal (result, patch))
            s_die ("merge patch", "a non-object patch must replace the target", data, size);
    } else {
        if (!json_is_object (result))
            s_die ("merge patch", "an object patch must give an object", data, size);
        const char *key;
        json_t *value;
        json_object_foreach (patch, key, value)
        {
            json_t *member = json_object_get (result, key);
            if (json_is_null (value) ? member != NULL : member == NULL)
                s_die ("merge patch", "a member not set or removed as the patch says", data, size);
            if (!json_is_null (value) && !json_is_object (value) && !json_equal (member, value))
                s_die ("merge patch", "a member not replaced by the patch's", data, size);
        }
        if (json_is_object (target))
            json_object_foreach (target, key, value)
            {
                if (!json_object_get (patch, key) &&
                    !json_equal (json_object_get (result, key), value))
                    s_die ("merge patch", "a member the patch does not name was changed", data,
                           size);
            }
        json_object_foreach (result, key, value)
        {
            if (!json_object_get (patch, key) &&
                !(json_is_object (target) && json_object_get (target, key)))
                s_die ("merge patch", "a member from nowhere", data, size);
        }
    }
    //  Idempotent: applying the patch again changes nothing
    json_t *twice = gw_json_merge_patch (result, patch);
    if (!json_equal (twice, result))
        s_die ("merge patch", "applying the patch twice changed the result", data, size);
    //  What a PATCH handler does next: the result decoded as a message
    ProtobufCMessage *message =
        cpec_json_to_message (&cpec__v1__milestone__descriptor, result, NULL, 0);
    if (message) {
        s_round_trip (message, 0, data, size);
        cpec_pb_destroy (&message);
    }
    json_decref (twice);
    json_decref (result);
    json_decref (target_copy);
    json_decref (patch_copy);
}
#endif

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const ProtobufCMessageDescriptor *descriptors[] = {
        &cpec__v1__milestone__descriptor,
        &cpec__v1__sez__descriptor,
        &cpec__v1__update_sez_request__descriptor,
        &cpec__v1__enterprise__descriptor,
        &cpec__v1__create_milestone_request__descriptor,
        &cpec__v1__event__descriptor,
        &cpec__v1__request__descriptor,         //  bytes, int64
        &cpec__v1__milestone_state__descriptor, //  repeated int64
    };
    for (size_t i = 0; i < sizeof (descriptors) / sizeof (descriptors[0]); i++) {
        char error[512];
        ProtobufCMessage *message =
            cpec_json_decode (descriptors[i], (const char *)data, size, error, sizeof (error));
        if (!message) {
            if (strlen (error) == 0)
                s_die (descriptors[i]->name, "refused without a message", data, size);
            continue;
        }
        s_round_trip (message, 0, data, size);
        s_round_trip (message, CPEC_JSON_PRETTY | CPEC_JSON_DEFAULTS, data, size);
        cpec_pb_destroy (&message);
    }
#ifdef CPEC_FUZZ_PATCH
    json_t *patch = json_loadb ((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (patch) {
        static const char *targets[] = {
            "{\"id\":\"rsk-power\",\"zone_id\":\"rashakai\",\"title\":\"Power\",\"kind\":"
            "\"POWER\",\"planned_due\":\"2026-12-31T00:00:00Z\",\"predecessors\":[{"
            "\"milestone_id\":\"rsk-land\",\"lag_days\":14}],\"created\":{\"by\":\"boi\"}}",
            "{\"a\":{\"b\":{\"c\":1}},\"d\":[1,2],\"e\":null}",
            "[]",
            "null",
        };
        for (size_t i = 0; i < sizeof (targets) / sizeof (targets[0]); i++) {
            json_t *target = json_loads (targets[i], JSON_DECODE_ANY, NULL);
            s_check_patch (target, patch, data, size);
            json_decref (target);
        }
        if (json_is_array (patch) && json_array_size (patch) == 2)
            s_check_patch (json_array_get (patch, 0), json_array_get (patch, 1), data, size);
        json_decref (patch);
    }
#endif
    return 0;
}
