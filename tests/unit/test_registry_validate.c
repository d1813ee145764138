/*  test_registry_validate - every validation rule of the registry
    (services/registry/registry_validate.c), each error checked to start with
    the path of the field at fault. No Redis: validation is pure.
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

#include "cpec_json.h"
#include "cpec_pb.h"
#include "text_test.h"
#include "registry.h"

#define S_NOW 1700000000000LL //  14 Nov 2023, the "now" of enterprise checks

//  --------------------------------------------------------------------------
//  Helpers

//  A zone that meets every rule.
static Cpec__V1__Sez *
s_sez_new (void)
{
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    cpec_pb_string_set (&sez->id, "rashakai");
    cpec_pb_string_set (&sez->name, "Rashakai Special Economic Zone");
    cpec_pb_string_set (&sez->name_zh, "拉沙卡伊经济特区");
    cpec_pb_string_set (&sez->name_ur, "رشکئی خصوصی اقتصادی زون");
    cpec_pb_string_set (&sez->province, "PK-KP");
    cpec_pb_string_set (&sez->district, "Nowshera");
    sez->area_acres = cpec_pb_double_new (1000);
    sez->n_sectors = 3;
    sez->sectors = calloc (3, sizeof (char *));
    sez->sectors[0] = cpec_strdup ("2100");
    sez->sectors[1] = cpec_strdup ("13");
    sez->sectors[2] = cpec_strdup ("103");
    sez->utilities = (Cpec__V1__Utilities *)cpec_pb_new (&cpec__v1__utilities__descriptor);
    Cpec__V1__UtilityLine *power =
        (Cpec__V1__UtilityLine *)cpec_pb_new (&cpec__v1__utility_line__descriptor);
    power->planned = cpec_pb_double_new (160);
    power->connected = cpec_pb_double_new (10);
    cpec_pb_string_set (&power->unit, "MW");
    power->connected_at = cpec_pb_timestamp_new (1601510400000LL);
    sez->utilities->power = power;
    sez->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    sez->land->total_acres = cpec_pb_double_new (1000);
    sez->land->leasable_acres = cpec_pb_double_new (702);
    sez->land->allotted_acres = 40;
    sez->status = CPEC__V1__SEZ__STATUS__UNDER_DEVELOPMENT;
    sez->n_sources = 2;
    sez->sources = calloc (2, sizeof (void *));
    for (size_t i = 0; i < 2; i++) {
        Cpec__V1__Provenance *source =
            (Cpec__V1__Provenance *)cpec_pb_new (&cpec__v1__provenance__descriptor);
        cpec_pb_string_set (&source->field, i == 0 ? "area_acres" : "utilities.power.connected_at");
        cpec_pb_string_set (&source->source, "Dawn");
        source->as_of = cpec_pb_timestamp_new (1610668800000LL);
        sez->sources[i] = source;
    }
    return sez;
}

static Cpec__V1__ZoneEnterprise *
s_enterprise_new (void)
{
    Cpec__V1__ZoneEnterprise *enterprise =
        (Cpec__V1__ZoneEnterprise *)cpec_pb_new (&cpec__v1__zone_enterprise__descriptor);
    cpec_pb_string_set (&enterprise->id, "century-steel");
    cpec_pb_string_set (&enterprise->zone_id, "rashakai");
    cpec_pb_string_set (&enterprise->name, "Century Steel");
    cpec_pb_string_set (&enterprise->country, "CN");
    cpec_pb_string_set (&enterprise->sector, "2410");
    cpec_pb_string_set (&enterprise->plot, "A-12");
    enterprise->acres = 40;
    enterprise->investment_usd = cpec_pb_double_new (20e6);
    enterprise->applied_at = cpec_pb_timestamp_new (1600000000000LL);
    enterprise->admitted_at = cpec_pb_timestamp_new (1610668800000LL);
    return enterprise;
}

//  Asserts an INVALID_ARGUMENT whose message starts with "<path>: ".
#define s_assert_error(rc, status, path) s_assert_error_at (rc, status, path, __LINE__)

static void
s_assert_error_at (int rc, const cpec_status_t *status, const char *path, int line)
{
    char prefix[128];
    snprintf (prefix, sizeof (prefix), "%s: ", path);
    if (rc != CPEC_INVALID_ARGUMENT || strncmp (status->message, prefix, strlen (prefix)) != 0)
        fail_msg ("line %d: wanted INVALID_ARGUMENT \"%s...\", got %s \"%s\"", line, prefix,
                  cpec_code_name (rc), status->message);
}

//  Validates sez, expects the error at path, and frees sez.
static void
s_expect_sez (Cpec__V1__Sez *sez, const char *path)
{
    cpec_status_t status;
    cpec_status_clear (&status);
    int rc = registry_validate_sez (sez, &status);
    if (path)
        s_assert_error (rc, &status, path);
    else if (rc != CPEC_OK)
        fail_msg ("wanted OK, got %s \"%s\"", cpec_code_name (rc), status.message);
    cpec_pb_destroy ((ProtobufCMessage **)&sez);
}

static void
s_expect_enterprise (Cpec__V1__ZoneEnterprise *enterprise, const char *path)
{
    cpec_status_t status;
    cpec_status_clear (&status);
    int rc = registry_validate_enterprise (enterprise, S_NOW, &status);
    if (path)
        s_assert_error (rc, &status, path);
    else if (rc != CPEC_OK)
        fail_msg ("wanted OK, got %s \"%s\"", cpec_code_name (rc), status.message);
    cpec_pb_destroy ((ProtobufCMessage **)&enterprise);
}

//  --------------------------------------------------------------------------
//  Predicates

static void
test_slug (void **state)
{
    (void)state;
    assert_true (registry_slug_valid ("rashakai"));
    assert_true (registry_slug_valid ("psm-port-qasim"));
    assert_true (registry_slug_valid ("a1"));
    char *longest = text_repeat ("a", REGISTRY_SLUG_MAX);
    assert_true (registry_slug_valid (longest));
    free (longest);
    char *too_long = text_repeat ("a", REGISTRY_SLUG_MAX + 1);
    assert_false (registry_slug_valid (too_long));
    free (too_long);
    const char *bad[] = {"", "a", "-ab", "ab-", "a--b", "Ab", "a_b", "a b", "a.b", "ä-b", NULL};
    for (const char **s = bad; *s; s++)
        if (registry_slug_valid (*s))
            fail_msg ("\"%s\" taken for a slug", *s);
    assert_false (registry_slug_valid (NULL));
    assert_true (registry_zone_id_valid ("rashakai"));
    assert_false (registry_zone_id_valid ("all"));
    assert_false (registry_zone_id_valid ("zone"));
}

static void
test_province_country_status (void **state)
{
    (void)state;
    const char *provinces[] = {"PK-KP", "PK-PB", "PK-SD", "PK-BA", "PK-IS", "PK-JK", "PK-GB"};
    for (size_t i = 0; i < 7; i++)
        assert_true (registry_province_valid (provinces[i]));
    assert_false (registry_province_valid ("pk-kp"));
    assert_false (registry_province_valid ("PK-XX"));
    assert_false (registry_province_valid (""));
    assert_false (registry_province_valid (NULL));

    assert_true (registry_country_valid ("PK"));
    assert_true (registry_country_valid ("CN"));
    assert_true (registry_country_valid ("AD")); //  first
    assert_true (registry_country_valid ("ZW")); //  last
    assert_false (registry_country_valid ("pk"));
    assert_false (registry_country_valid ("XX"));
    assert_false (registry_country_valid ("PAK"));
    assert_false (registry_country_valid ("P"));
    assert_false (registry_country_valid (NULL));

    assert_false (registry_status_valid (0));
    for (int s = 1; s <= 8; s++)
        assert_true (registry_status_valid (s));
    assert_false (registry_status_valid (9));
    assert_string_equal (registry_status_name (1), "PROPOSED");
    assert_string_equal (registry_status_name (8), "OPERATIONAL");
    assert_string_equal (registry_status_name (0), "STATUS_UNSPECIFIED");
    assert_string_equal (registry_status_name (42), "?");
}

//  --------------------------------------------------------------------------
//  Zones

static void
test_sez_valid (void **state)
{
    (void)state;
    s_expect_sez (s_sez_new (), NULL);
    //  Unknown stays unknown: no area, no land figures, no utilities
    Cpec__V1__Sez *sez = s_sez_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&sez->area_acres);
    cpec_pb_destroy ((ProtobufCMessage **)&sez->utilities);
    cpec_pb_destroy ((ProtobufCMessage **)&sez->land);
    s_expect_sez (sez, NULL);
    cpec_status_t status;
    s_assert_error (registry_validate_sez (NULL, &status), &status, "sez");
}

static void
test_sez_id (void **state)
{
    (void)state;
    const char *bad[] = {"",           "R",         "Rashakai", "-rashakai", "rashakai-",
                         "ras--hakai", "ras hakai", "all",      "zone",      NULL};
    for (const char **id = bad; *id; id++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        cpec_pb_string_set (&sez->id, *id);
        s_expect_sez (sez, "id");
    }
    Cpec__V1__Sez *sez = s_sez_new ();
    char *long_id = text_repeat ("a", REGISTRY_SLUG_MAX + 1);
    cpec_pb_string_set (&sez->id, long_id);
    free (long_id);
    s_expect_sez (sez, "id");
}

static void
test_sez_names (void **state)
{
    (void)state;
    Cpec__V1__Sez *sez = s_sez_new ();
    cpec_pb_string_set (&sez->name, "");
    s_expect_sez (sez, "name");

    //  Characters, not bytes: 200 Chinese characters (600 bytes) are fine
    sez = s_sez_new ();
    char *text = text_repeat ("区", REGISTRY_NAME_MAX);
    cpec_pb_string_set (&sez->name_zh, text);
    free (text);
    s_expect_sez (sez, NULL);

    const char *fields[] = {"name", "name_zh", "name_ur"};
    for (size_t i = 0; i < 3; i++) {
        sez = s_sez_new ();
        char **field = i == 0 ? &sez->name : i == 1 ? &sez->name_zh : &sez->name_ur;
        text = text_repeat ("x", REGISTRY_NAME_MAX + 1);
        cpec_pb_string_set (field, text);
        free (text);
        s_expect_sez (sez, fields[i]);

        //  Not UTF-8: a stray continuation byte, an overlong '/', a surrogate,
        //  a truncated sequence
        const char *broken[] = {"a\x80z", "\xc0\xaf", "\xed\xa0\x80", "\xe5\x8c", NULL};
        for (const char **b = broken; *b; b++) {
            sez = s_sez_new ();
            field = i == 0 ? &sez->name : i == 1 ? &sez->name_zh : &sez->name_ur;
            cpec_pb_string_set (field, *b);
            s_expect_sez (sez, fields[i]);
        }
    }
}

static void
test_sez_text_fields (void **state)
{
    (void)state;
    const char *fields[] = {"district", "location", "developer", "zone_authority"};
    for (size_t i = 0; i < 4; i++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        char **field = i == 0   ? &sez->district
                       : i == 1 ? &sez->location
                       : i == 2 ? &sez->developer
                                : &sez->zone_authority;
        char *text = text_repeat ("y", REGISTRY_TEXT_MAX + 1);
        cpec_pb_string_set (field, text);
        free (text);
        s_expect_sez (sez, fields[i]);
    }
}

static void
test_sez_province (void **state)
{
    (void)state;
    const char *bad[] = {"", "PK-XX", "pk-kp", "Punjab", NULL};
    for (const char **p = bad; *p; p++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        cpec_pb_string_set (&sez->province, *p);
        cpec_status_t status;
        int rc = registry_validate_sez (sez, &status);
        s_assert_error (rc, &status, "province");
        assert_non_null (
            strstr (status.message, "PK-KP, PK-PB, PK-SD, PK-BA, PK-IS, PK-JK, PK-GB"));
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
    }
}

static void
test_sez_status (void **state)
{
    (void)state;
    Cpec__V1__Sez *sez = s_sez_new ();
    sez->status = CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED;
    s_expect_sez (sez, "status");
    sez = s_sez_new ();
    sez->status = (Cpec__V1__Sez__Status)99;
    s_expect_sez (sez, "status");
}

static void
test_sez_sectors (void **state)
{
    (void)state;
    //  Not in ISIC Rev.4; a section letter; not a code at all
    const char *bad[] = {"9999", "C", "1o", "", NULL};
    for (const char **code = bad; *code; code++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        cpec_pb_string_set (&sez->sectors[1], *code);
        s_expect_sez (sez, "sectors[1]");
    }
    Cpec__V1__Sez *sez = s_sez_new ();
    cpec_pb_string_set (&sez->sectors[2], "2100");
    cpec_status_t status;
    int rc = registry_validate_sez (sez, &status);
    s_assert_error (rc, &status, "sectors[2]");
    assert_non_null (strstr (status.message, "sectors[0]"));
    cpec_pb_destroy ((ProtobufCMessage **)&sez);

    sez = s_sez_new ();
    size_t count = REGISTRY_SECTORS_MAX + 1;
    sez->sectors = realloc (sez->sectors, count * sizeof (char *));
    for (size_t i = 3; i < count; i++)
        sez->sectors[i] = cpec_strdup ("10");
    sez->n_sectors = count;
    s_expect_sez (sez, "sectors");
}

static void
test_sez_numbers (void **state)
{
    (void)state;
    const double bad[] = {-1, -0.001, NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        sez->area_acres->value = bad[i];
        s_expect_sez (sez, "area_acres");

        sez = s_sez_new ();
        sez->land->total_acres->value = bad[i];
        s_expect_sez (sez, "land.total_acres");

        sez = s_sez_new ();
        sez->land->leasable_acres->value = bad[i];
        s_expect_sez (sez, "land.leasable_acres");

        sez = s_sez_new ();
        sez->land->allotted_acres = bad[i];
        s_expect_sez (sez, "land.allotted_acres");

        sez = s_sez_new ();
        sez->utilities->power->planned->value = bad[i];
        s_expect_sez (sez, "utilities.power.planned");

        sez = s_sez_new ();
        sez->utilities->power->connected->value = bad[i];
        s_expect_sez (sez, "utilities.power.connected");
    }
    //  Zero is a figure like any other
    Cpec__V1__Sez *sez = s_sez_new ();
    sez->area_acres->value = 0;
    sez->utilities->power->connected->value = 0;
    s_expect_sez (sez, NULL);
}

static void
test_sez_utilities (void **state)
{
    (void)state;
    const char *lines[] = {"gas", "water"};
    for (size_t i = 0; i < 2; i++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        Cpec__V1__UtilityLine *line =
            (Cpec__V1__UtilityLine *)cpec_pb_new (&cpec__v1__utility_line__descriptor);
        line->planned = cpec_pb_double_new (-5);
        if (i == 0)
            sez->utilities->gas = line;
        else
            sez->utilities->water = line;
        char path[64];
        snprintf (path, sizeof (path), "utilities.%s.planned", lines[i]);
        s_expect_sez (sez, path);
    }
    Cpec__V1__Sez *sez = s_sez_new ();
    char *unit = text_repeat ("M", REGISTRY_SHORT_MAX + 1);
    cpec_pb_string_set (&sez->utilities->power->unit, unit);
    free (unit);
    s_expect_sez (sez, "utilities.power.unit");

    sez = s_sez_new ();
    sez->utilities->power->connected_at->nanos = 1000000000;
    s_expect_sez (sez, "utilities.power.connected_at");

    sez = s_sez_new ();
    sez->utilities->power->connected_at->seconds = 300000000000LL; //  past year 9999
    s_expect_sez (sez, "utilities.power.connected_at");
}

static void
test_sez_land (void **state)
{
    (void)state;
    //  Leasable land cannot exceed the total
    Cpec__V1__Sez *sez = s_sez_new ();
    sez->land->leasable_acres->value = 1000.5;
    cpec_status_t status;
    int rc = registry_validate_sez (sez, &status);
    s_assert_error (rc, &status, "land.leasable_acres");
    assert_non_null (strstr (status.message, "1000.5"));
    cpec_pb_destroy ((ProtobufCMessage **)&sez);

    //  Equal is fine; either unknown is fine
    sez = s_sez_new ();
    sez->land->leasable_acres->value = 1000;
    s_expect_sez (sez, NULL);
    sez = s_sez_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&sez->land->total_acres);
    s_expect_sez (sez, NULL);

    //  Nor below what is allotted, nor unknown while some is allotted
    sez = s_sez_new ();
    sez->land->leasable_acres->value = 39;
    s_expect_sez (sez, "land.leasable_acres");
    sez = s_sez_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&sez->land->leasable_acres);
    s_expect_sez (sez, "land.leasable_acres");
    sez = s_sez_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&sez->land->leasable_acres);
    sez->land->allotted_acres = 0;
    s_expect_sez (sez, NULL);
}

static void
test_sez_sources (void **state)
{
    (void)state;
    //  Fields at any depth of our own messages
    const char *good[] = {"area_acres",
                          "land.leasable_acres",
                          "utilities.water.planned",
                          "utilities.gas.connected_at",
                          "sectors",
                          "name_zh",
                          NULL};
    for (const char **f = good; *f; f++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        cpec_pb_string_set (&sez->sources[1]->field, *f);
        s_expect_sez (sez, NULL);
    }
    //  Not fields, or inside a wrapper, or through a scalar
    const char *bad[] = {"",
                         "acreage",
                         "land.foo",
                         "area_acres.value",
                         "land.",
                         ".land",
                         "land..total_acres",
                         "status.x",
                         "utilities.power.planned.value",
                         NULL};
    for (const char **f = bad; *f; f++) {
        Cpec__V1__Sez *sez = s_sez_new ();
        cpec_pb_string_set (&sez->sources[1]->field, *f);
        s_expect_sez (sez, "sources[1].field");
    }
    Cpec__V1__Sez *sez = s_sez_new ();
    char *long_path = text_repeat ("land.", 40);
    cpec_pb_string_set (&sez->sources[0]->field, long_path);
    free (long_path);
    s_expect_sez (sez, "sources[0].field");

    sez = s_sez_new ();
    cpec_pb_string_set (&sez->sources[0]->source, "");
    s_expect_sez (sez, "sources[0].source");

    sez = s_sez_new ();
    sez->sources[1]->as_of->nanos = -1;
    s_expect_sez (sez, "sources[1].as_of");
}

//  The seed data in data/sezs.json meets every rule.
static void
test_seed_data (void **state)
{
    (void)state;
    const char *source_dir = getenv ("CPEC_SOURCE_DIR");
    if (!source_dir)
        skip ();
    char path[1024];
    snprintf (path, sizeof (path), "%s/data/sezs.json", source_dir);
    json_error_t error;
    json_t *zones = json_load_file (path, 0, &error);
    if (!zones)
        fail_msg ("%s: %s", path, error.text);
    assert_true (json_is_array (zones));
    assert_int_equal (json_array_size (zones), 9);
    size_t i;
    json_t *zone;
    json_array_foreach (zones, i, zone)
    {
        char message[256];
        Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_json_to_message (
            &cpec__v1__sez__descriptor, zone, message, sizeof (message));
        if (!sez)
            fail_msg ("zone %zu: %s", i, message);
        cpec_status_t status;
        if (registry_validate_sez (sez, &status) != CPEC_OK)
            fail_msg ("%s: %s", sez->id, status.message);
        cpec_pb_destroy ((ProtobufCMessage **)&sez);
    }
    json_decref (zones);
}

//  --------------------------------------------------------------------------
//  Enterprises

static void
test_enterprise (void **state)
{
    (void)state;
    s_expect_enterprise (s_enterprise_new (), NULL);
    cpec_status_t status;
    s_assert_error (registry_validate_enterprise (NULL, S_NOW, &status), &status, "enterprise");

    Cpec__V1__ZoneEnterprise *e = s_enterprise_new ();
    cpec_pb_string_set (&e->id, "Century Steel");
    s_expect_enterprise (e, "id");
    e = s_enterprise_new ();
    cpec_pb_string_set (&e->id, "");
    s_expect_enterprise (e, "id");
    e = s_enterprise_new ();
    cpec_pb_string_set (&e->zone_id, "");
    s_expect_enterprise (e, "zone_id");
    e = s_enterprise_new ();
    cpec_pb_string_set (&e->zone_id, "all");
    s_expect_enterprise (e, "zone_id");
    e = s_enterprise_new ();
    cpec_pb_string_set (&e->name, "");
    s_expect_enterprise (e, "name");
    e = s_enterprise_new ();
    cpec_pb_string_set (&e->name, "\xff");
    s_expect_enterprise (e, "name");

    const char *countries[] = {"", "cn", "China", "CHN", "XX", "C", NULL};
    for (const char **c = countries; *c; c++) {
        e = s_enterprise_new ();
        cpec_pb_string_set (&e->country, *c);
        s_expect_enterprise (e, "country");
    }
    const char *sectors[] = {"", "C", "9999", "24100", NULL};
    for (const char **c = sectors; *c; c++) {
        e = s_enterprise_new ();
        cpec_pb_string_set (&e->sector, *c);
        s_expect_enterprise (e, "sector");
    }
    e = s_enterprise_new ();
    char *plot = text_repeat ("P", REGISTRY_SHORT_MAX + 1);
    cpec_pb_string_set (&e->plot, plot);
    free (plot);
    s_expect_enterprise (e, "plot");

    const double acres[] = {0, -1, NAN, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        e = s_enterprise_new ();
        e->acres = acres[i];
        s_expect_enterprise (e, "acres");
    }
    e = s_enterprise_new ();
    e->investment_usd->value = -1;
    s_expect_enterprise (e, "investment_usd");
    e = s_enterprise_new ();
    e->investment_usd->value = 0;
    s_expect_enterprise (e, NULL);
}

static void
test_enterprise_status_and_dates (void **state)
{
    (void)state;
    Cpec__V1__ZoneEnterprise *e = s_enterprise_new ();
    e->admission_status = CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__ADMITTED;
    s_expect_enterprise (e, NULL);
    const int statuses[] = {CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__APPLIED,
                            CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__REJECTED,
                            CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__WITHDRAWN, 17};
    for (size_t i = 0; i < 4; i++) {
        e = s_enterprise_new ();
        e->admission_status = (Cpec__V1__ZoneEnterprise__AdmissionStatus)statuses[i];
        s_expect_enterprise (e, "admission_status");
    }
    //  A day ahead is the future; a minute ahead is clock skew
    e = s_enterprise_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&e->admitted_at);
    e->admitted_at = cpec_pb_timestamp_new (S_NOW + 86400000LL);
    s_expect_enterprise (e, "admitted_at");
    e = s_enterprise_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&e->admitted_at);
    e->admitted_at = cpec_pb_timestamp_new (S_NOW + 60000);
    s_expect_enterprise (e, NULL);
    e = s_enterprise_new ();
    cpec_pb_destroy ((ProtobufCMessage **)&e->applied_at);
    e->applied_at = cpec_pb_timestamp_new (S_NOW + 86400000LL);
    s_expect_enterprise (e, "applied_at");
    e = s_enterprise_new ();
    e->applied_at->nanos = 2000000000;
    s_expect_enterprise (e, "applied_at");
    //  Admitted before it applied
    e = s_enterprise_new ();
    e->applied_at->seconds = e->admitted_at->seconds + 1;
    s_expect_enterprise (e, "admitted_at");
}

//  --------------------------------------------------------------------------
//  Update masks and list requests

static void
test_mask (void **state)
{
    (void)state;
    cpec_status_t status;
    char *good[] = {"name", "status", "land", "sectors", "sources", "fast_track"};
    assert_int_equal (registry_validate_mask (good, 6, &status), CPEC_OK);
    assert_int_equal (registry_validate_mask (NULL, 0, &status), CPEC_OK);

    const char *bad[] = {"id", "version", "created", "updated", "acreage", "land.total_acres", ""};
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        char *mask[] = {"name", (char *)bad[i]};
        s_assert_error (registry_validate_mask (mask, 2, &status), &status, "update_mask[1]");
    }
    char *twice[] = {"name", "status", "name"};
    s_assert_error (registry_validate_mask (twice, 3, &status), &status, "update_mask[2]");
}

static void
test_list (void **state)
{
    (void)state;
    cpec_status_t status;
    Cpec__V1__ListSezsRequest request = CPEC__V1__LIST_SEZS_REQUEST__INIT;
    assert_int_equal (registry_validate_list (&request, &status), CPEC_OK);
    request.province = "PK-SD";
    request.status = CPEC__V1__SEZ__STATUS__NOTIFIED;
    request.sector = "10";
    request.page_size = REGISTRY_PAGE_MAX;
    request.cursor = "dhabeji";
    assert_int_equal (registry_validate_list (&request, &status), CPEC_OK);

    Cpec__V1__ListSezsRequest bad = request;
    bad.province = "Sindh";
    s_assert_error (registry_validate_list (&bad, &status), &status, "province");
    bad = request;
    bad.status = (Cpec__V1__Sez__Status)12;
    s_assert_error (registry_validate_list (&bad, &status), &status, "status");
    bad = request;
    bad.sector = "ZZ";
    s_assert_error (registry_validate_list (&bad, &status), &status, "sector");
    bad = request;
    bad.page_size = REGISTRY_PAGE_MAX + 1;
    s_assert_error (registry_validate_list (&bad, &status), &status, "page_size");
    bad = request;
    bad.cursor = "not a cursor";
    s_assert_error (registry_validate_list (&bad, &status), &status, "cursor");

    size_t page = 0;
    assert_int_equal (registry_validate_page (0, "", &page, &status), CPEC_OK);
    assert_int_equal (page, REGISTRY_PAGE_DEFAULT);
    assert_int_equal (registry_validate_page (7, NULL, &page, &status), CPEC_OK);
    assert_int_equal (page, 7);
    s_assert_error (registry_validate_page (1000, NULL, &page, &status), &status, "page_size");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_slug),          cmocka_unit_test (test_province_country_status),
        cmocka_unit_test (test_sez_valid),     cmocka_unit_test (test_sez_id),
        cmocka_unit_test (test_sez_names),     cmocka_unit_test (test_sez_text_fields),
        cmocka_unit_test (test_sez_province),  cmocka_unit_test (test_sez_status),
        cmocka_unit_test (test_sez_sectors),   cmocka_unit_test (test_sez_numbers),
        cmocka_unit_test (test_sez_utilities), cmocka_unit_test (test_sez_land),
        cmocka_unit_test (test_sez_sources),   cmocka_unit_test (test_seed_data),
        cmocka_unit_test (test_enterprise),    cmocka_unit_test (test_enterprise_status_and_dates),
        cmocka_unit_test (test_mask),          cmocka_unit_test (test_list),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
