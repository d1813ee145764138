/*  test_json - cpec_json: the proto3 JSON mapping through protobuf-c
    descriptors, exact output, round trips, strict decoding and RFC 3339 times.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_json.h"
#include "cpec_pb.h"

static char **
s_strings (int count, ...)
{
    char **strings = (char **)calloc ((size_t)count + 1, sizeof (char *));
    va_list args;
    va_start (args, count);
    for (int i = 0; i < count; i++)
        strings[i] = cpec_strdup (va_arg (args, const char *));
    va_end (args);
    return strings;
}

static Cpec__V1__UtilityLine *
s_line (double planned, double connected, const char *unit, int64_t connected_at)
{
    Cpec__V1__UtilityLine *line =
        (Cpec__V1__UtilityLine *)cpec_pb_new (&cpec__v1__utility_line__descriptor);
    line->planned = cpec_pb_double_new (planned);
    if (connected >= 0)
        line->connected = cpec_pb_double_new (connected);
    line->unit = cpec_strdup (unit);
    if (connected_at)
        line->connected_at = cpec_pb_timestamp_new (connected_at);
    return line;
}

//  A Sez with every kind of field the registry uses.
static Cpec__V1__Sez *
s_full_sez (void)
{
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    sez->id = cpec_strdup ("rashakai");
    sez->name = cpec_strdup ("Rashakai \"SEZ\"\n");
    sez->name_zh = cpec_strdup ("拉沙卡伊经济特区");
    sez->name_ur = cpec_strdup ("رشکئی");
    sez->province = cpec_strdup ("PK-KP");
    sez->district = cpec_strdup ("Nowshera");
    sez->location = cpec_strdup ("M-1 Motorway, Rashakai interchange");
    sez->area_acres = cpec_pb_double_new (1000.1);
    sez->developer = cpec_strdup ("RSEZ Pvt Ltd (CRBC)");
    sez->zone_authority = cpec_strdup ("KPEZDMC");
    sez->fast_track = 1;
    sez->n_sectors = 3;
    sez->sectors = s_strings (3, "10", "131", "2710");
    sez->utilities = (Cpec__V1__Utilities *)cpec_pb_new (&cpec__v1__utilities__descriptor);
    sez->utilities->power = s_line (80, 0, "MW", 0);
    sez->utilities->gas = s_line (8.5, -1, "MMCFD", 0);
    sez->utilities->water = s_line (2, 2, "MGD", 1600041600000);
    sez->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    sez->land->total_acres = cpec_pb_double_new (1000);
    sez->land->leasable_acres = cpec_pb_double_new (702.25);
    sez->land->allotted_acres = 0.1;
    sez->status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
    sez->version = 4294967295u;
    sez->created = (Cpec__V1__Audit *)cpec_pb_new (&cpec__v1__audit__descriptor);
    sez->created->at = cpec_pb_timestamp_new (1643932800123);
    sez->created->by = cpec_strdup ("boi-admin");
    sez->updated = (Cpec__V1__Audit *)cpec_pb_new (&cpec__v1__audit__descriptor);
    sez->updated->at = cpec_pb_timestamp_new (-86400000);
    sez->n_sources = 2;
    sez->sources = (Cpec__V1__Provenance **)calloc (2, sizeof (Cpec__V1__Provenance *));
    for (int i = 0; i < 2; i++) {
        sez->sources[i] = (Cpec__V1__Provenance *)cpec_pb_new (&cpec__v1__provenance__descriptor);
        sez->sources[i]->field = cpec_strdup (i ? "land.leasable_acres" : "area_acres");
        sez->sources[i]->source = cpec_strdup ("https://invest.gov.pk/");
    }
    sez->sources[1]->as_of = cpec_pb_timestamp_new (1643932800000);
    return sez;
}

static ProtobufCMessage *
s_decode (const ProtobufCMessageDescriptor *descriptor, const char *text, char *error, size_t size)
{
    return cpec_json_decode (descriptor, text, strlen (text), error, size);
}

static void
test_encode_exact (void **state)
{
    (void)state;
    Cpec__V1__ListSezsRequest *request =
        (Cpec__V1__ListSezsRequest *)cpec_pb_new (&cpec__v1__list_sezs_request__descriptor);
    request->province = cpec_strdup ("PK-KP");
    request->status = CPEC__V1__SEZ__STATUS__NOTIFIED;
    request->fast_track = cpec_pb_bool_new (false);
    request->page_size = 20;
    char *text = cpec_json_encode (&request->base, 0);
    assert_string_equal (
        text,
        "{\"province\":\"PK-KP\",\"status\":\"NOTIFIED\",\"fast_track\":false,\"page_size\":20}");
    free (text);
    text = cpec_json_encode (&request->base, CPEC_JSON_DEFAULTS);
    assert_string_equal (text, "{\"province\":\"PK-KP\",\"status\":\"NOTIFIED\",\"sector\":\"\","
                               "\"fast_track\":false,\"page_size\":20,\"cursor\":\"\"}");
    free (text);
    text = cpec_json_encode (&request->base, CPEC_JSON_PRETTY);
    assert_string_equal (text, "{\n  \"province\": \"PK-KP\",\n  \"status\": \"NOTIFIED\",\n"
                               "  \"fast_track\": false,\n  \"page_size\": 20\n}");
    free (text);
    cpec__v1__list_sezs_request__free_unpacked (request, NULL);

    //  int64 as a string, bytes as base64, a nested message with an enum
    Cpec__V1__Request *rpc = (Cpec__V1__Request *)cpec_pb_new (&cpec__v1__request__descriptor);
    rpc->request_id = cpec_strdup ("r1");
    rpc->principal = (Cpec__V1__Principal *)cpec_pb_new (&cpec__v1__principal__descriptor);
    rpc->principal->subject = cpec_strdup ("alice");
    rpc->principal->role = CPEC__V1__PRINCIPAL__ROLE__PROVINCE;
    rpc->deadline_unix_ms = 1700000000000;
    rpc->body.data = (uint8_t *)malloc (4);
    memcpy (rpc->body.data, "\x00\x01\x02\xff", 4);
    rpc->body.len = 4;
    text = cpec_json_encode (&rpc->base, 0);
    assert_string_equal (text, "{\"request_id\":\"r1\",\"principal\":{\"subject\":\"alice\","
                               "\"role\":\"PROVINCE\"},\"deadline_unix_ms\":\"1700000000000\","
                               "\"body\":\"AAEC/w==\"}");
    free (text);
    //  Pretty with nesting
    text = cpec_json_encode (&rpc->base, CPEC_JSON_PRETTY);
    assert_string_equal (text, "{\n  \"request_id\": \"r1\",\n  \"principal\": {\n"
                               "    \"subject\": \"alice\",\n    \"role\": \"PROVINCE\"\n  },\n"
                               "  \"deadline_unix_ms\": \"1700000000000\",\n"
                               "  \"body\": \"AAEC/w==\"\n}");
    free (text);
    cpec__v1__request__free_unpacked (rpc, NULL);

    //  An empty message is {} ; with DEFAULTS its unset wrappers are null,
    //  doubles at zero are printed as reals
    Cpec__V1__Land *land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    text = cpec_json_encode (&land->base, 0);
    assert_string_equal (text, "{}");
    free (text);
    text = cpec_json_encode (&land->base, CPEC_JSON_DEFAULTS);
    assert_string_equal (text,
                         "{\"total_acres\":null,\"leasable_acres\":null,\"allotted_acres\":0.0}");
    free (text);
    cpec__v1__land__free_unpacked (land, NULL);
}

static void
test_encode_values (void **state)
{
    (void)state;
    Cpec__V1__Land *land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    struct
    {
        double value;
        const char *text;
    } cases[] = {
        {0.1, "{\"allotted_acres\":0.1}"},
        {3, "{\"allotted_acres\":3.0}"},
        {1000.1, "{\"allotted_acres\":1000.1}"},
        {-2.5, "{\"allotted_acres\":-2.5}"},
        {1e21, "{\"allotted_acres\":1e21}"},
        {1.5e-7, "{\"allotted_acres\":1.5e-7}"},
        {NAN, "{\"allotted_acres\":\"NaN\"}"},
        {INFINITY, "{\"allotted_acres\":\"Infinity\"}"},
        {-INFINITY, "{\"allotted_acres\":\"-Infinity\"}"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        land->allotted_acres = cases[i].value;
        char *text = cpec_json_encode (&land->base, 0);
        assert_string_equal (text, cases[i].text);
        //  and back
        char error[256];
        Cpec__V1__Land *back =
            (Cpec__V1__Land *)s_decode (&cpec__v1__land__descriptor, text, error, sizeof (error));
        assert_non_null (back);
        if (isnan (cases[i].value))
            assert_true (isnan (back->allotted_acres));
        else
            assert_true (back->allotted_acres == cases[i].value);
        cpec__v1__land__free_unpacked (back, NULL);
        free (text);
    }
    //  Escapes in strings; non-ASCII stays as UTF-8
    Cpec__V1__Audit *audit = (Cpec__V1__Audit *)cpec_pb_new (&cpec__v1__audit__descriptor);
    audit->by = cpec_strdup ("a\"b\\c\n\t\x01/é");
    char *text = cpec_json_encode (&audit->base, 0);
    assert_string_equal (text, "{\"by\":\"a\\\"b\\\\c\\n\\t\\u0001/é\"}");
    free (text);
    //  Invalid UTF-8 in a message string does not break encoding
    free (audit->by);
    audit->by = cpec_strdup ("ok\xff!");
    text = cpec_json_encode (&audit->base, 0);
    assert_string_equal (text, "{\"by\":\"ok\xef\xbf\xbd!\"}");
    free (text);
    //  An unknown enum number is printed as a number
    cpec__v1__audit__free_unpacked (audit, NULL);
    land->allotted_acres = 0;
    cpec__v1__land__free_unpacked (land, NULL);
    Cpec__V1__SezStatusChanged *changed =
        (Cpec__V1__SezStatusChanged *)cpec_pb_new (&cpec__v1__sez_status_changed__descriptor);
    changed->from_status = (Cpec__V1__Sez__Status)42;
    changed->to_status = CPEC__V1__SEZ__STATUS__PROPOSED;
    text = cpec_json_encode (&changed->base, 0);
    assert_string_equal (text, "{\"from_status\":42,\"to_status\":\"PROPOSED\"}");
    free (text);
    cpec__v1__sez_status_changed__free_unpacked (changed, NULL);
}

static void
test_sez_round_trip (void **state)
{
    (void)state;
    Cpec__V1__Sez *sez = s_full_sez ();
    char *text = cpec_json_encode (&sez->base, 0);
    assert_non_null (text);
    //  Spot checks of the mapping
    assert_non_null (strstr (text, "\"area_acres\":1000.1,"));
    assert_non_null (strstr (text, "\"status\":\"UNDER_DEVELOPMENT\""));
    assert_non_null (strstr (text, "\"version\":4294967295"));
    assert_non_null (strstr (text, "\"sectors\":[\"10\",\"131\",\"2710\"]"));
    assert_non_null (strstr (text, "\"created\":{\"at\":\"2022-02-04T00:00:00.123Z\""));
    assert_non_null (strstr (text, "\"updated\":{\"at\":\"1969-12-31T00:00:00Z\"}"));
    assert_non_null (
        strstr (text, "\"power\":{\"planned\":80.0,\"connected\":0.0,\"unit\":\"MW\"}"));
    assert_non_null (strstr (text, "\"gas\":{\"planned\":8.5,\"unit\":\"MMCFD\"}"));
    assert_non_null (strstr (text, "\"name_zh\":\"拉沙卡伊经济特区\""));

    char error[256] = "";
    Cpec__V1__Sez *back =
        (Cpec__V1__Sez *)s_decode (&cpec__v1__sez__descriptor, text, error, sizeof (error));
    assert_non_null (back);
    assert_string_equal (error, "");
    assert_string_equal (back->name, "Rashakai \"SEZ\"\n");
    assert_string_equal (back->name_ur, "رشکئی");
    assert_true (back->area_acres->value == 1000.1);
    assert_true (back->fast_track);
    assert_int_equal (back->n_sectors, 3);
    assert_string_equal (back->sectors[2], "2710");
    assert_true (back->utilities->power->connected->value == 0);
    assert_null (back->utilities->gas->connected);
    assert_int_equal (cpec_pb_timestamp_ms (back->utilities->water->connected_at), 1600041600000);
    assert_true (back->land->allotted_acres == 0.1);
    assert_int_equal (back->status, CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT);
    assert_int_equal (back->version, 4294967295u);
    assert_int_equal (cpec_pb_timestamp_ms (back->created->at), 1643932800123);
    assert_int_equal (cpec_pb_timestamp_ms (back->updated->at), -86400000);
    assert_string_equal (back->updated->by, "");
    assert_int_equal (back->n_sources, 2);
    assert_null (back->sources[0]->as_of);
    assert_string_equal (back->sources[1]->field, "land.leasable_acres");

    //  Same bytes as the original (the JSON mapping loses nothing here)
    size_t size_a, size_b;
    uint8_t *packed_a = cpec_pb_pack (&sez->base, &size_a);
    uint8_t *packed_b = cpec_pb_pack (&back->base, &size_b);
    assert_int_equal (size_a, size_b);
    assert_memory_equal (packed_a, packed_b, size_a);
    free (packed_a);
    free (packed_b);

    //  Re-encoding gives the same text, also with DEFAULTS and PRETTY
    char *again = cpec_json_encode (&back->base, 0);
    assert_string_equal (again, text);
    free (again);
    char *full = cpec_json_encode (&sez->base, CPEC_JSON_DEFAULTS | CPEC_JSON_PRETTY);
    assert_non_null (strstr (full, "\"connected\": null"));
    Cpec__V1__Sez *back2 =
        (Cpec__V1__Sez *)s_decode (&cpec__v1__sez__descriptor, full, error, sizeof (error));
    assert_non_null (back2);
    again = cpec_json_encode (&back2->base, 0);
    assert_string_equal (again, text);
    free (again);
    free (full);

    //  The jansson form has the same content
    json_t *json = cpec_json_from_message (&sez->base, 0);
    assert_true (json_is_object (json));
    assert_string_equal (json_string_value (json_object_get (json, "status")), "UNDER_DEVELOPMENT");
    assert_true (json_real_value (json_object_get (json, "area_acres")) == 1000.1);
    Cpec__V1__Sez *back3 = (Cpec__V1__Sez *)cpec_json_to_message (&cpec__v1__sez__descriptor, json,
                                                                  error, sizeof (error));
    assert_non_null (back3);
    assert_string_equal (back3->zone_authority, "KPEZDMC");
    json_decref (json);

    cpec__v1__sez__free_unpacked (back3, NULL);
    cpec__v1__sez__free_unpacked (back2, NULL);
    cpec__v1__sez__free_unpacked (back, NULL);
    cpec__v1__sez__free_unpacked (sez, NULL);
    free (text);
}

static void
test_defaults (void **state)
{
    (void)state;
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    char *text = cpec_json_encode (&sez->base, 0);
    assert_string_equal (text, "{}");
    free (text);
    text = cpec_json_encode (&sez->base, CPEC_JSON_DEFAULTS);
    assert_string_equal (text, "{\"id\":\"\",\"name\":\"\",\"name_zh\":\"\",\"name_ur\":\"\","
                               "\"province\":\"\",\"district\":\"\",\"location\":\"\","
                               "\"area_acres\":null,\"developer\":\"\",\"zone_authority\":\"\","
                               "\"fast_track\":false,\"sectors\":[],"
                               "\"status\":\"STATUS_UNSPECIFIED\",\"version\":0,\"sources\":[]}");
    free (text);
    cpec__v1__sez__free_unpacked (sez, NULL);
}

static void
test_event_oneof (void **state)
{
    (void)state;
    Cpec__V1__Event *event = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    event->id = cpec_strdup ("6f1c0d1e-0000-4000-8000-000000000001");
    event->type = cpec_strdup ("SezStatusChanged");
    event->zone_id = cpec_strdup ("rashakai");
    event->occurred_at = cpec_pb_timestamp_new (1643932800000);
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED;
    event->sez_status_changed =
        (Cpec__V1__SezStatusChanged *)cpec_pb_new (&cpec__v1__sez_status_changed__descriptor);
    //  All at default: a set oneof member is emitted anyway
    char *text = cpec_json_encode (&event->base, 0);
    assert_string_equal (text, "{\"id\":\"6f1c0d1e-0000-4000-8000-000000000001\","
                               "\"type\":\"SezStatusChanged\",\"zone_id\":\"rashakai\","
                               "\"occurred_at\":\"2022-02-04T00:00:00Z\","
                               "\"sez_status_changed\":{}}");
    free (text);
    //  DEFAULTS does not emit the unset members of a oneof
    text = cpec_json_encode (&event->base, CPEC_JSON_DEFAULTS);
    assert_null (strstr (text, "sez_created"));
    assert_null (strstr (text, "sez_updated"));
    assert_non_null (
        strstr (text, "\"sez_status_changed\":{\"from_status\":\"STATUS_UNSPECIFIED\""));
    free (text);

    event->sez_status_changed->from_status = CPEC__V1__SEZ__STATUS__NOTIFIED;
    event->sez_status_changed->to_status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
    event->sez_status_changed->version = 3;
    text = cpec_json_encode (&event->base, 0);
    char error[256];
    Cpec__V1__Event *back =
        (Cpec__V1__Event *)s_decode (&cpec__v1__event__descriptor, text, error, sizeof (error));
    assert_non_null (back);
    assert_int_equal (back->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED);
    assert_int_equal (back->sez_status_changed->to_status,
                      CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT);
    assert_int_equal (back->sez_status_changed->version, 3);
    assert_int_equal (cpec_pb_timestamp_ms (back->occurred_at), 1643932800000);
    cpec__v1__event__free_unpacked (back, NULL);
    free (text);
    cpec__v1__event__free_unpacked (event, NULL);

    //  A payload holding a whole Sez
    event = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    event->type = cpec_strdup ("SezCreated");
    event->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED;
    event->sez_created = (Cpec__V1__SezCreated *)cpec_pb_new (&cpec__v1__sez_created__descriptor);
    event->sez_created->sez = s_full_sez ();
    text = cpec_json_encode (&event->base, 0);
    back = (Cpec__V1__Event *)s_decode (&cpec__v1__event__descriptor, text, error, sizeof (error));
    assert_non_null (back);
    assert_int_equal (back->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED);
    assert_string_equal (back->sez_created->sez->id, "rashakai");
    char *again = cpec_json_encode (&back->base, 0);
    assert_string_equal (again, text);
    free (again);
    free (text);
    cpec__v1__event__free_unpacked (back, NULL);
    cpec__v1__event__free_unpacked (event, NULL);

    //  Two members of one oneof: an error naming both
    back = (Cpec__V1__Event *)s_decode (
        &cpec__v1__event__descriptor,
        "{\"sez_created\":{\"sez\":{\"id\":\"x\"}},\"sez_updated\":{\"previous_version\":1}}",
        error, sizeof (error));
    assert_null (back);
    assert_non_null (strstr (error, "sez_updated: "));
    assert_non_null (strstr (error, "sez_created"));
    //  null for a member is "not set", so another member may follow
    back = (Cpec__V1__Event *)s_decode (&cpec__v1__event__descriptor,
                                        "{\"sez_created\":null,\"sez_updated\":{}}", error,
                                        sizeof (error));
    assert_non_null (back);
    assert_int_equal (back->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_UPDATED);
    cpec__v1__event__free_unpacked (back, NULL);
}

typedef struct
{
    const ProtobufCMessageDescriptor *descriptor;
    const char *json;
    const char *error; //  expected at the start of the error text
} decode_error_t;

static void
test_decode_errors (void **state)
{
    (void)state;
    const ProtobufCMessageDescriptor *sez = &cpec__v1__sez__descriptor;
    const ProtobufCMessageDescriptor *create = &cpec__v1__create_sez_request__descriptor;
    const ProtobufCMessageDescriptor *request = &cpec__v1__request__descriptor;
    decode_error_t cases[] = {
        {sez, "{\"nmae\":\"x\"}", "nmae: unknown field"},
        {create, "{\"sez\":{\"land\":{\"foo\":1}}}", "sez.land.foo: unknown field"},
        {create, "{\"sez\":{\"land\":{\"leasable_acres\":\"lots\"}}}",
         "sez.land.leasable_acres: expected a number"},
        {create, "{\"sez\":{\"land\":{\"allotted_acres\":true}}}",
         "sez.land.allotted_acres: expected a number"},
        {sez, "{\"area_acres\":[1]}", "area_acres: expected a number"},
        {sez, "{\"name\":5}", "name: expected a string"},
        {sez, "{\"id\":\"ok\",\"name\":{}}", "name: expected a string"},
        {sez, "{\"fast_track\":\"yes\"}", "fast_track: expected true or false"},
        {sez, "{\"fast_track\":1}", "fast_track: expected true or false"},
        {sez, "{\"version\":4294967296}", "version: integer out of range"},
        {sez, "{\"version\":-1}", "version: integer out of range"},
        {sez, "{\"version\":\"-1\"}", "version: integer out of range"},
        {sez, "{\"version\":1.5}", "version: expected an integer"},
        {sez, "{\"version\":\"7x\"}", "version: expected an integer"},
        {sez, "{\"version\":\"\"}", "version: expected an integer"},
        {sez, "{\"version\":false}", "version: expected an integer"},
        {request, "{\"deadline_unix_ms\":\"12x\"}", "deadline_unix_ms: expected an integer"},
        {request, "{\"deadline_unix_ms\":\"9223372036854775808\"}",
         "deadline_unix_ms: integer out of range"},
        {request, "{\"deadline_unix_ms\":1e30}", "deadline_unix_ms: integer out of range"},
        {request, "{\"body\":\"!!!\"}", "body: invalid base64"},
        {request, "{\"body\":\"QUJD=\"}", "body: invalid base64"},
        {request, "{\"body\":\"Q\"}", "body: invalid base64"},
        {request, "{\"body\":7}", "body: expected a base64 string"},
        {request, "{\"principal\":{\"role\":\"KING\"}}", "principal.role: unknown value \"KING\""},
        {sez, "{\"status\":\"BUILT\"}",
         "status: unknown value \"BUILT\" of enum cpec.v1.Sez.Status"},
        {sez, "{\"status\":\"proposed\"}", "status: unknown value"},
        {sez, "{\"status\":42}", "status: unknown value 42"},
        {sez, "{\"status\":true}", "status: expected a value name"},
        {sez, "{\"created\":{\"at\":\"2023-02-30T00:00:00Z\"}}",
         "created.at: invalid RFC 3339 timestamp \"2023-02-30T00:00:00Z\""},
        {sez, "{\"created\":{\"at\":\"2023-01-01T25:00:00Z\"}}", "created.at: invalid RFC 3339"},
        {sez, "{\"created\":{\"at\":\"yesterday\"}}", "created.at: invalid RFC 3339"},
        {sez, "{\"created\":{\"at\":1643932800}}", "created.at: expected an RFC 3339 timestamp"},
        {sez, "{\"created\":{\"at\":{\"seconds\":1}}}",
         "created.at: expected an RFC 3339 timestamp"},
        {sez, "{\"sectors\":\"10\"}", "sectors: expected an array"},
        {sez, "{\"sectors\":[\"10\",11]}", "sectors[1]: expected a string"},
        {sez, "{\"sectors\":[null]}", "sectors[0]: null is not allowed"},
        {sez, "{\"sources\":[{\"field\":\"a\"},{\"as_of\":\"x\"}]}", "sources[1].as_of: invalid"},
        {sez, "{\"sources\":[{\"field\":\"a\"},7]}", "sources[1]: expected an object"},
        {sez, "{\"land\":[]}", "land: expected an object"},
        {sez, "{\"land\":\"big\"}", "land: expected an object"},
        {sez, "{\"utilities\":{\"power\":{\"planned\":\"1.0.0\"}}}",
         "utilities.power.planned: expected a number"},
        {sez, "{\"area_acres\":\"12 acres\"}", "area_acres: expected a number"},
        {sez, "{\"area_acres\":1,\"areaAcres\":2}", "area_acres: field given twice"},
        {&google__protobuf__int32_value__descriptor, "{\"value\":2147483648}",
         "value: integer out of range for int32"},
        {&google__protobuf__int32_value__descriptor, "{\"value\":-2147483649}",
         "value: integer out of range for int32"},
        {&google__protobuf__uint64_value__descriptor, "{\"value\":\"18446744073709551616\"}",
         "value: integer out of range for uint64"},
        {&google__protobuf__uint64_value__descriptor, "{\"value\":-5}",
         "value: integer out of range for uint64"},
        {&google__protobuf__float_value__descriptor, "{\"value\":1e39}",
         "value: number out of range for float"},
        {&google__protobuf__double_value__descriptor, "{\"value\":\"1e999\"}",
         "value: number out of range"},
        {&google__protobuf__double_value__descriptor, "{\"value\":\"nan\"}",
         "value: expected a number"},
        {sez, "[1]", "expected a JSON object, got an array"},
        {sez, "\"x\"", "expected a JSON object, got a string"},
        {sez, "{\"name\":", "invalid JSON at line 1"},
        {sez, "", "invalid JSON"},
        {sez, "{\"name\":\"a\",\"name\":\"b\"}", "invalid JSON"},
        {sez, "{\"name\":\"\xff\"}", "invalid JSON"},
        {sez, "{\"name\":\"a\\u0000b\"}", "invalid JSON"},
        {sez, "{} {}", "invalid JSON"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        char error[256] = "";
        ProtobufCMessage *message =
            s_decode (cases[i].descriptor, cases[i].json, error, sizeof (error));
        if (message || strncmp (error, cases[i].error, strlen (cases[i].error)) != 0)
            fail_msg ("case %zu %s: got %s, error \"%s\", expected \"%s\"", i, cases[i].json,
                      message ? "a message" : "NULL", error, cases[i].error);
        assert_null (message);
    }
    //  A NULL or tiny error buffer is allowed
    assert_null (s_decode (sez, "{\"x\":1}", NULL, 0));
    char tiny[4];
    assert_null (s_decode (sez, "{\"x\":1}", tiny, sizeof (tiny)));
    assert_string_equal (tiny, "x: ");

    //  Through jansson values: a string that is not UTF-8 names its field
    json_t *json = json_pack ("{s:{s:o}}", "sez", "name", json_stringn_nocheck ("\xc3\x28", 2));
    char error[256];
    assert_null (cpec_json_to_message (create, json, error, sizeof (error)));
    assert_string_equal (error, "sez.name: string is not valid UTF-8");
    json_decref (json);
    json = json_pack ("{s:s%}", "name", "a\0b", (size_t)3);
    assert_null (cpec_json_to_message (sez, json, error, sizeof (error)));
    assert_string_equal (error, "name: string contains a NUL character");
    json_decref (json);
    assert_null (cpec_json_to_message (sez, NULL, error, sizeof (error)));
}

static void
test_decode_accepts (void **state)
{
    (void)state;
    char error[256];
    //  int64 from a number or a string; bytes in URL-safe base64 without padding
    Cpec__V1__Request *request = (Cpec__V1__Request *)s_decode (
        &cpec__v1__request__descriptor,
        "{\"deadline_unix_ms\":1700000000000,\"body\":\"AAEC_w\",\"principal\":{\"role\":5}}",
        error, sizeof (error));
    assert_non_null (request);
    assert_int_equal (request->deadline_unix_ms, 1700000000000);
    assert_int_equal (request->body.len, 4);
    assert_memory_equal (request->body.data, "\x00\x01\x02\xff", 4);
    assert_int_equal (request->principal->role, CPEC__V1__PRINCIPAL__ROLE__SERVICE);
    cpec__v1__request__free_unpacked (request, NULL);
    request = (Cpec__V1__Request *)s_decode (
        &cpec__v1__request__descriptor,
        "{\"deadline_unix_ms\":\"-9223372036854775808\",\"body\":\"\"}", error, sizeof (error));
    assert_non_null (request);
    assert_true (request->deadline_unix_ms == INT64_MIN);
    assert_int_equal (request->body.len, 0);
    cpec__v1__request__free_unpacked (request, NULL);

    //  null leaves fields unset; enum by number; integral reals for integers;
    //  lowerCamelCase names; quoted numbers and NaN for doubles; offsets
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)s_decode (
        &cpec__v1__sez__descriptor,
        "{\"name\":null,\"area_acres\":null,\"land\":null,\"sectors\":null,\"status\":6,"
        "\"version\":\"3\",\"fastTrack\":true,\"zoneAuthority\":\"SEZMC\","
        "\"utilities\":{\"power\":{\"planned\":\"12.5\",\"connected\":\"NaN\"},"
        "\"gas\":{\"planned\":\"-Infinity\",\"connected\":1e2}},"
        "\"created\":{\"at\":\"2022-02-04T05:00:00+05:00\"},"
        "\"updated\":{\"at\":\"2022-02-04\"}}",
        error, sizeof (error));
    if (!sez)
        fail_msg ("%s", error);
    assert_string_equal (sez->name, "");
    assert_null (sez->area_acres);
    assert_null (sez->land);
    assert_int_equal (sez->n_sectors, 0);
    assert_int_equal (sez->status, CPEC__V1__SEZ__STATUS__NOTIFIED);
    assert_int_equal (sez->version, 3);
    assert_true (sez->fast_track);
    assert_string_equal (sez->zone_authority, "SEZMC");
    assert_true (sez->utilities->power->planned->value == 12.5);
    assert_true (isnan (sez->utilities->power->connected->value));
    assert_true (isinf (sez->utilities->gas->planned->value));
    assert_true (sez->utilities->gas->connected->value == 100);
    assert_int_equal (cpec_pb_timestamp_ms (sez->created->at), 1643932800000);
    assert_int_equal (cpec_pb_timestamp_ms (sez->updated->at), 1643932800000);
    cpec__v1__sez__free_unpacked (sez, NULL);

    Cpec__V1__Sez *other = (Cpec__V1__Sez *)s_decode (
        &cpec__v1__sez__descriptor, "{\"version\":3.0,\"sectors\":[]}", error, sizeof (error));
    assert_non_null (other);
    assert_int_equal (other->version, 3);
    cpec__v1__sez__free_unpacked (other, NULL);

    //  The other wrappers and scalar types, through the wrapper messages
    Google__Protobuf__UInt64Value *u64 = (Google__Protobuf__UInt64Value *)s_decode (
        &google__protobuf__uint64_value__descriptor, "{\"value\":\"18446744073709551615\"}", error,
        sizeof (error));
    assert_non_null (u64);
    assert_true (u64->value == UINT64_MAX);
    char *text = cpec_json_encode (&u64->base, 0);
    assert_string_equal (text, "{\"value\":\"18446744073709551615\"}");
    free (text);
    google__protobuf__uint64_value__free_unpacked (u64, NULL);
    Google__Protobuf__Int32Value *i32 =
        (Google__Protobuf__Int32Value *)s_decode (&google__protobuf__int32_value__descriptor,
                                                  "{\"value\":-2147483648}", error, sizeof (error));
    assert_non_null (i32);
    assert_int_equal (i32->value, INT32_MIN);
    google__protobuf__int32_value__free_unpacked (i32, NULL);
    Google__Protobuf__FloatValue *f = (Google__Protobuf__FloatValue *)s_decode (
        &google__protobuf__float_value__descriptor, "{\"value\":0.5}", error, sizeof (error));
    assert_non_null (f);
    assert_true (f->value == 0.5f);
    text = cpec_json_encode (&f->base, 0);
    assert_string_equal (text, "{\"value\":0.5}");
    free (text);
    google__protobuf__float_value__free_unpacked (f, NULL);
    Google__Protobuf__StringValue *s = (Google__Protobuf__StringValue *)s_decode (
        &google__protobuf__string_value__descriptor, "{\"value\":\"\\u00e9\\n\"}", error,
        sizeof (error));
    assert_non_null (s);
    assert_string_equal (s->value, "é\n");
    google__protobuf__string_value__free_unpacked (s, NULL);
}

static void
test_format_time (void **state)
{
    (void)state;
    struct
    {
        int64_t ms;
        const char *text;
    } cases[] = {
        {0, "1970-01-01T00:00:00Z"},
        {1600041600000, "2020-09-14T00:00:00Z"},
        {1643932800123, "2022-02-04T00:00:00.123Z"},
        {1643932800001, "2022-02-04T00:00:00.001Z"},
        {-1, "1969-12-31T23:59:59.999Z"},
        {951782400000, "2000-02-29T00:00:00Z"},
        {253402300799999, "9999-12-31T23:59:59.999Z"},
        {-62135596800000, "0001-01-01T00:00:00Z"},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        char buf[32];
        cpec_json_format_time (cases[i].ms, buf, sizeof (buf));
        assert_string_equal (buf, cases[i].text);
        int64_t ms = 12345;
        assert_int_equal (cpec_json_parse_time (buf, &ms), 0);
        assert_int_equal (ms, cases[i].ms);
    }
    //  Sub-millisecond timestamps in messages keep their precision
    Cpec__V1__Audit *audit = (Cpec__V1__Audit *)cpec_pb_new (&cpec__v1__audit__descriptor);
    audit->at = cpec_pb_timestamp_new (0);
    audit->at->nanos = 1500;
    char *text = cpec_json_encode (&audit->base, 0);
    assert_string_equal (text, "{\"at\":\"1970-01-01T00:00:00.000001500Z\"}");
    char error[128];
    Cpec__V1__Audit *back =
        (Cpec__V1__Audit *)s_decode (&cpec__v1__audit__descriptor, text, error, sizeof (error));
    assert_non_null (back);
    assert_int_equal (back->at->nanos, 1500);
    free (text);
    //  Nonsense from a peer is clamped to the RFC 3339 range, not overflowed
    audit->at->seconds = INT64_MAX;
    audit->at->nanos = 0;
    text = cpec_json_encode (&audit->base, 0);
    assert_string_equal (text, "{\"at\":\"9999-12-31T23:59:59Z\"}");
    free (text);
    audit->at->seconds = INT64_MIN;
    text = cpec_json_encode (&audit->base, 0);
    assert_string_equal (text, "{\"at\":\"0001-01-01T00:00:00Z\"}");
    free (text);
    audit->at->seconds = 0;
    audit->at->nanos = 120000;
    text = cpec_json_encode (&audit->base, 0);
    assert_string_equal (text, "{\"at\":\"1970-01-01T00:00:00.000120Z\"}");
    free (text);
    cpec__v1__audit__free_unpacked (back, NULL);
    cpec__v1__audit__free_unpacked (audit, NULL);
}

static void
test_parse_time (void **state)
{
    (void)state;
    struct
    {
        const char *text;
        int64_t ms;
    } valid[] = {
        {"2020-09-14T00:00:00Z", 1600041600000},
        {"2020-09-14", 1600041600000},
        {"2020-09-14t00:00:00z", 1600041600000},
        {"2022-02-04T10:00:00+05:00", 1643950800000},
        {"2022-02-04T08:00:00+08:00", 1643932800000},
        {"2022-02-03T19:00:00-05:00", 1643932800000},
        {"2022-02-04T05:30:00+05:30", 1643932800000},
        {"2022-02-04T00:00:00.5Z", 1643932800500},
        {"2022-02-04T00:00:00.123456789Z", 1643932800123},
        {"2022-02-04T00:00:00.999+00:00", 1643932800999},
        {"2024-02-29", 1709164800000},
        {"2000-02-29T23:59:59Z", 951868799000},
        {"1969-12-31T23:59:59.999Z", -1},
    };
    for (size_t i = 0; i < sizeof (valid) / sizeof (valid[0]); i++) {
        int64_t ms = 0;
        if (cpec_json_parse_time (valid[i].text, &ms) != 0)
            fail_msg ("rejected %s", valid[i].text);
        if (ms != valid[i].ms)
            fail_msg ("%s: %lld, expected %lld", valid[i].text, (long long)ms,
                      (long long)valid[i].ms);
    }
    const char *invalid[] = {
        "2023-02-30",
        "2023-02-29T00:00:00Z",
        "1900-02-29",
        "2023-04-31",
        "2023-13-01",
        "2023-00-10",
        "2023-01-00",
        "2020-09-14T25:00:00Z",
        "2020-09-14T24:00:00Z",
        "2020-09-14T00:60:00Z",
        "2020-09-14T00:00:60Z",
        "2020-09-14T00:00:00",
        "2020-09-14T00:00Z",
        "2020-09-14T00:00:00+0500",
        "2020-09-14T00:00:00+25:00",
        "2020-09-14T00:00:00.Z",
        "2020-09-14T00:00:00.1234567890Z",
        "2020-09-14T00:00:00Z ",
        " 2020-09-14",
        "2020-9-14",
        "20-09-14",
        "2020/09/14",
        "0000-01-01",
        "",
        "now",
    };
    for (size_t i = 0; i < sizeof (invalid) / sizeof (invalid[0]); i++) {
        int64_t ms = 777;
        if (cpec_json_parse_time (invalid[i], &ms) != -1)
            fail_msg ("accepted %s", invalid[i]);
        assert_int_equal (ms, 777); //  untouched
    }
    int64_t ms = 0;
    assert_int_equal (cpec_json_parse_time (NULL, &ms), -1);

    //  format and parse are inverse over a wide range
    for (int64_t t = -5000000000000; t < 200000000000000; t += 987654321987) {
        char buf[32];
        cpec_json_format_time (t, buf, sizeof (buf));
        assert_int_equal (cpec_json_parse_time (buf, &ms), 0);
        assert_int_equal (ms, t);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_encode_exact),   cmocka_unit_test (test_encode_values),
        cmocka_unit_test (test_sez_round_trip), cmocka_unit_test (test_defaults),
        cmocka_unit_test (test_event_oneof),    cmocka_unit_test (test_decode_errors),
        cmocka_unit_test (test_decode_accepts), cmocka_unit_test (test_format_time),
        cmocka_unit_test (test_parse_time),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
