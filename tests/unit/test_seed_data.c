/*  test_seed_data - data/sezs.json, the seed list of the 9 CPEC SEZs: the
    ids, provinces and fast-track zones the platform expects, sectors that are
    ISIC Rev.4 codes, provenance for every public figure, no server-controlled
    fields, and every zone decodes as a cpec.v1.Sez through cpec_json.

    Reads $CPEC_SOURCE_DIR/data/sezs.json (set by ctest); run by hand, it
    finds the file relative to this source file.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec/v1/registry.pb-c.h"
#include "cpec_codes.h"
#include "cpec_json.h"
#include "cpec_pb.h"

#define ZONES 9

//  The brief's ids and ISO 3166-2 provinces, in seed order.
static const struct
{
    const char *id;
    const char *province;
    bool fast_track;
} s_expected[ZONES] = {
    {"rashakai", "PK-KP", true},        {"allama-iqbal", "PK-PB", true},
    {"dhabeji", "PK-SD", true},         {"bostan", "PK-BA", true},
    {"mirpur", "PK-JK", false},         {"ict-model", "PK-IS", false},
    {"psm-port-qasim", "PK-SD", false}, {"mohmand", "PK-KP", false},
    {"moqpondass", "PK-GB", false},
};

static const char *s_provinces[] = {"PK-BA", "PK-GB", "PK-IS", "PK-JK", "PK-KP", "PK-PB", "PK-SD"};

//  Every public figure a zone may carry; each present one needs a source.
static const char *s_figures[] = {
    "area_acres",
    "land.total_acres",
    "land.leasable_acres",
    "utilities.power.planned",
    "utilities.power.connected",
    "utilities.power.connected_at",
    "utilities.gas.planned",
    "utilities.gas.connected",
    "utilities.gas.connected_at",
    "utilities.water.planned",
    "utilities.water.connected",
    "utilities.water.connected_at",
};

static json_t *s_zones; //  the parsed file, loaded once

static int
s_setup (void **state)
{
    (void)state;
    char path[1024];
    const char *source_dir = getenv ("CPEC_SOURCE_DIR");
    if (source_dir && *source_dir)
        snprintf (path, sizeof (path), "%s/data/sezs.json", source_dir);
    else {
        //  This file is <source>/tests/unit/test_seed_data.c.
        snprintf (path, sizeof (path), "%s", __FILE__);
        char *cut = strstr (path, "tests/unit/test_seed_data.c");
        if (!cut) {
            fprintf (stderr, "set CPEC_SOURCE_DIR to the source tree\n");
            return -1;
        }
        snprintf (cut, sizeof (path) - (size_t)(cut - path), "data/sezs.json");
    }
    json_error_t error;
    s_zones = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!s_zones) {
        fprintf (stderr, "%s:%d: %s\n", path, error.line, error.text);
        return -1;
    }
    return 0;
}

static int
s_teardown (void **state)
{
    (void)state;
    json_decref (s_zones);
    return 0;
}

//  The value at a dotted path ("utilities.power.planned"), or NULL.
static json_t *
s_json_path (json_t *object, const char *path)
{
    char copy[256];
    snprintf (copy, sizeof (copy), "%s", path);
    char *rest = copy;
    char *name;
    while (object && (name = strsep (&rest, ".")) != NULL)
        object = json_is_object (object) ? json_object_get (object, name) : NULL;
    return object;
}

//  True if the dotted path names a field of cpec.v1.Sez (through sub-messages).
static bool
s_sez_has_field (const char *path)
{
    char copy[256];
    snprintf (copy, sizeof (copy), "%s", path);
    char *rest = copy;
    char *name;
    const ProtobufCMessageDescriptor *descriptor = &cpec__v1__sez__descriptor;
    const ProtobufCFieldDescriptor *field = NULL;
    while ((name = strsep (&rest, ".")) != NULL) {
        if (!descriptor)
            return false; //  a name below a non-message field
        field = protobuf_c_message_descriptor_get_field_by_name (descriptor, name);
        if (!field)
            return false;
        descriptor = field->type == PROTOBUF_C_TYPE_MESSAGE
                         ? (const ProtobufCMessageDescriptor *)field->descriptor
                         : NULL;
    }
    return field != NULL;
}

static json_t *
s_zone (const char *id)
{
    size_t index;
    json_t *zone;
    json_array_foreach (s_zones, index, zone)
    {
        const char *zone_id = json_string_value (json_object_get (zone, "id"));
        if (zone_id && strcmp (zone_id, id) == 0)
            return zone;
    }
    return NULL;
}

static void
test_nine_zones_with_their_ids (void **state)
{
    (void)state;
    assert_true (json_is_array (s_zones));
    assert_int_equal (json_array_size (s_zones), ZONES);
    for (int i = 0; i < ZONES; i++) {
        json_t *id = json_object_get (json_array_get (s_zones, (size_t)i), "id");
        assert_true (json_is_string (id));
        assert_string_equal (json_string_value (id), s_expected[i].id);
    }
}

static void
test_provinces (void **state)
{
    (void)state;
    for (int i = 0; i < ZONES; i++) {
        json_t *zone = s_zone (s_expected[i].id);
        const char *province = json_string_value (json_object_get (zone, "province"));
        assert_non_null (province);
        bool known = false;
        for (size_t p = 0; p < sizeof (s_provinces) / sizeof (s_provinces[0]); p++)
            known = known || strcmp (province, s_provinces[p]) == 0;
        assert_true (known);
        assert_string_equal (province, s_expected[i].province);
    }
}

static void
test_four_fast_track_zones (void **state)
{
    (void)state;
    int fast = 0;
    for (int i = 0; i < ZONES; i++) {
        json_t *zone = s_zone (s_expected[i].id);
        json_t *flag = json_object_get (zone, "fast_track");
        //  proto3 JSON may omit a false bool; if present it is a bool.
        assert_true (flag == NULL || json_is_boolean (flag));
        bool is_fast = json_is_true (flag);
        assert_int_equal (is_fast, s_expected[i].fast_track);
        fast += is_fast;
    }
    assert_int_equal (fast, 4);
}

static void
test_names_in_three_languages (void **state)
{
    (void)state;
    size_t index;
    json_t *zone;
    json_array_foreach (s_zones, index, zone)
    {
        const char *name = json_string_value (json_object_get (zone, "name"));
        const char *zh = json_string_value (json_object_get (zone, "name_zh"));
        const char *ur = json_string_value (json_object_get (zone, "name_ur"));
        assert_non_null (name);
        assert_non_null (zh);
        assert_non_null (ur);
        //  Chinese: CJK ideographs (U+4E00..U+9FFF lead with 0xE4..0xE9).
        //  Urdu: Arabic script (U+0600..U+06FF lead with 0xD8..0xDB).
        bool has_cjk = false, has_arabic = false;
        for (const unsigned char *c = (const unsigned char *)zh; *c; c++)
            has_cjk = has_cjk || (*c >= 0xE4 && *c <= 0xE9);
        for (const unsigned char *c = (const unsigned char *)ur; *c; c++)
            has_arabic = has_arabic || (*c >= 0xD8 && *c <= 0xDB);
        assert_true (strlen (name) > 0);
        assert_true (has_cjk);
        assert_true (has_arabic);
    }
}

static void
test_sectors_are_isic_codes (void **state)
{
    (void)state;
    size_t index;
    json_t *zone;
    int zones_with_sectors = 0;
    json_array_foreach (s_zones, index, zone)
    {
        json_t *sectors = json_object_get (zone, "sectors");
        if (!sectors)
            continue; //  unknown
        assert_true (json_is_array (sectors));
        assert_true (json_array_size (sectors) > 0);
        zones_with_sectors++;
        for (size_t i = 0; i < json_array_size (sectors); i++) {
            const char *code = json_string_value (json_array_get (sectors, i));
            assert_non_null (code);
            if (!cpec_codes_isic_valid (code))
                fail_msg ("%s: sector \"%s\" is not an ISIC Rev.4 code",
                          json_string_value (json_object_get (zone, "id")), code);
            for (size_t j = 0; j < i; j++)
                assert_string_not_equal (code, json_string_value (json_array_get (sectors, j)));
        }
    }
    assert_true (zones_with_sectors >= 6);
    //  Spot checks of the mapping in data/README.md.
    json_t *rashakai = json_object_get (s_zone ("rashakai"), "sectors");
    bool pharma = false;
    for (size_t i = 0; i < json_array_size (rashakai); i++)
        pharma = pharma || strcmp (json_string_value (json_array_get (rashakai, i)), "2100") == 0;
    assert_true (pharma);
}

static void
test_every_figure_has_a_source (void **state)
{
    (void)state;
    size_t index;
    json_t *zone;
    json_array_foreach (s_zones, index, zone)
    {
        const char *id = json_string_value (json_object_get (zone, "id"));
        json_t *sources = json_object_get (zone, "sources");
        assert_true (json_is_array (sources));
        size_t i;
        json_t *source;
        json_array_foreach (sources, i, source)
        {
            const char *field = json_string_value (json_object_get (source, "field"));
            const char *from = json_string_value (json_object_get (source, "source"));
            const char *as_of = json_string_value (json_object_get (source, "as_of"));
            assert_non_null (field);
            assert_non_null (from);
            assert_true (strlen (from) > 0);
            if (!s_sez_has_field (field))
                fail_msg ("%s: source for \"%s\", which is not a Sez field", id, field);
            json_t *value = s_json_path (zone, field);
            if (!value || json_is_null (value))
                fail_msg ("%s: source for \"%s\", which the zone does not have", id, field);
            int64_t ms = 0;
            assert_non_null (as_of);
            assert_int_equal (cpec_json_parse_time (as_of, &ms), 0);
            assert_true (ms > 0);
        }
        //  And the other way: each figure present has a source.
        for (size_t f = 0; f < sizeof (s_figures) / sizeof (s_figures[0]); f++) {
            assert_true (s_sez_has_field (s_figures[f]));
            if (!s_json_path (zone, s_figures[f]))
                continue;
            bool sourced = false;
            json_array_foreach (sources, i, source)
            {
                const char *field = json_string_value (json_object_get (source, "field"));
                sourced = sourced || strcmp (field, s_figures[f]) == 0;
            }
            if (!sourced)
                fail_msg ("%s: \"%s\" has no source", id, s_figures[f]);
        }
    }
}

static void
test_no_server_fields (void **state)
{
    (void)state;
    const char *server[] = {"version", "created", "updated", "land.allotted_acres"};
    size_t index;
    json_t *zone;
    json_array_foreach (s_zones, index, zone)
    {
        for (size_t i = 0; i < sizeof (server) / sizeof (server[0]); i++)
            assert_null (s_json_path (zone, server[i]));
    }
}

static void
test_status_on_the_sez_act_path (void **state)
{
    (void)state;
    const ProtobufCEnumDescriptor *statuses = &cpec__v1__sez__status__descriptor;
    size_t index;
    json_t *zone;
    json_array_foreach (s_zones, index, zone)
    {
        const char *status = json_string_value (json_object_get (zone, "status"));
        assert_non_null (status);
        const ProtobufCEnumValue *value =
            protobuf_c_enum_descriptor_get_value_by_name (statuses, status);
        assert_non_null (value);
        assert_int_not_equal (value->value, CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED);
    }
    //  The fast-track zones all have works under way.
    for (int i = 0; i < 4; i++)
        assert_string_equal (
            json_string_value (json_object_get (s_zone (s_expected[i].id), "status")),
            "UNDER_DEVELOPMENT");
}

static void
test_decodes_as_sez (void **state)
{
    (void)state;
    size_t index;
    json_t *zone;
    json_array_foreach (s_zones, index, zone)
    {
        char error[256] = "";
        ProtobufCMessage *message =
            cpec_json_to_message (&cpec__v1__sez__descriptor, zone, error, sizeof (error));
        if (!message)
            fail_msg ("%s: %s", json_string_value (json_object_get (zone, "id")), error);
        Cpec__V1__Sez *sez = (Cpec__V1__Sez *)message;
        assert_true (index < ZONES);
        assert_string_equal (sez->id, s_expected[index].id);
        assert_non_null (sez->area_acres);
        assert_true (sez->area_acres->value > 0);
        assert_int_equal (sez->version, 0);
        assert_null (sez->created);
        assert_null (sez->updated);
        if (strcmp (sez->id, "rashakai") == 0) {
            assert_int_equal (sez->status, CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT);
            assert_non_null (sez->utilities);
            assert_non_null (sez->utilities->power);
            assert_non_null (sez->utilities->power->connected);
            assert_true (sez->utilities->power->connected->value == 10.0);
            assert_true (sez->utilities->power->planned->value == 160.0);
            //  2020-10-01T00:00:00Z
            assert_int_equal (cpec_pb_timestamp_ms (sez->utilities->power->connected_at),
                              INT64_C (1601510400000));
            assert_true (sez->land->leasable_acres->value == 702.0);
        }
        cpec_pb_destroy (&message);
        assert_null (message);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_nine_zones_with_their_ids),
        cmocka_unit_test (test_provinces),
        cmocka_unit_test (test_four_fast_track_zones),
        cmocka_unit_test (test_names_in_three_languages),
        cmocka_unit_test (test_sectors_are_isic_codes),
        cmocka_unit_test (test_every_figure_has_a_source),
        cmocka_unit_test (test_no_server_fields),
        cmocka_unit_test (test_status_on_the_sez_act_path),
        cmocka_unit_test (test_decodes_as_sez),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
