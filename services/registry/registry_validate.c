/*  registry_validate - the rules a zone, an enterprise, an update mask and a
    list request must meet. Pure functions: no Redis, no clock (callers pass
    the time), so tests/unit/test_registry_validate.c drives every rule.

    Every error is INVALID_ARGUMENT and its message starts with the path of the
    field at fault, so that a form can put it next to the right box.
*/
#include "registry.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cpec_check.h"
#include "cpec_codes.h"
#include "cpec_pb.h"

#define S_PROVINCES "PK-KP, PK-PB, PK-SD, PK-BA, PK-IS, PK-JK, PK-GB"
#define S_STATUSES                                                                                 \
    "PROPOSED, APPLICATION_SUBMITTED, APPROVALS_COMMITTEE, BOA_APPROVED, "                         \
    "DEVELOPMENT_AGREEMENT_SIGNED, NOTIFIED, UNDER_DEVELOPMENT, OPERATIONAL"

static const char *s_provinces[] = {"PK-KP", "PK-PB", "PK-SD", "PK-BA",
                                    "PK-IS", "PK-JK", "PK-GB", NULL};

//  Officially assigned ISO 3166-1 alpha-2 codes (249, from Debian's iso-codes).
static const char s_countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

//  Slugs that cannot name a zone: their keys would be index keys
//  (cpec:sez:all, cpec:ent:zone:{zone}).
static const char *s_reserved_zone_ids[] = {"all", "zone", NULL};

//  Fields of Sez that the registry sets itself: never taken from a caller.
static const char *s_server_fields[] = {"id", "version", "created", "updated", NULL};

bool
registry_slug_valid (const char *string)
{
    return cpec_check_slug_valid (string, REGISTRY_SLUG_MAX);
}

bool
registry_province_valid (const char *string)
{
    if (!string)
        return false;
    for (const char **p = s_provinces; *p; p++)
        if (strcmp (*p, string) == 0)
            return true;
    return false;
}

bool
registry_country_valid (const char *string)
{
    if (!string || strlen (string) != 2 || string[0] < 'A' || string[0] > 'Z' || string[1] < 'A' ||
        string[1] > 'Z')
        return false;
    for (const char *c = s_countries; *c; c += c[2] ? 3 : 2)
        if (c[0] == string[0] && c[1] == string[1])
            return true;
    return false;
}

bool
registry_status_valid (int status)
{
    return status >= CPEC__V1__SEZ__STATUS__PROPOSED &&
           status <= CPEC__V1__SEZ__STATUS__OPERATIONAL;
}

const char *
registry_status_name (int status)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&cpec__v1__sez__status__descriptor, status);
    return value ? value->name : "?";
}

//  --------------------------------------------------------------------------
//  Building blocks. Each returns 0 or the error code after setting status.

bool
registry_zone_id_valid (const char *string)
{
    if (!registry_slug_valid (string))
        return false;
    for (const char **reserved = s_reserved_zone_ids; *reserved; reserved++)
        if (strcmp (*reserved, string) == 0)
            return false;
    return true;
}

int
registry_validate_zone_id (const char *path, const char *value, cpec_status_t *status)
{
    assert (path && status);
    if (cpec_check_slug (path, value, REGISTRY_SLUG_MAX, status))
        return status->code;
    if (!registry_zone_id_valid (value))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: \"%s\" is reserved and cannot name a zone", path, value);
    return 0;
}

static int
s_check_province (const char *path, const char *value, cpec_status_t *status)
{
    if (!registry_province_valid (value))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: must be one of " S_PROVINCES " (got \"%.80s\")", path,
                                value ? value : "");
    return 0;
}

//  An ISIC Rev.4 division (2 digits), group (3) or class (4), as the proto
//  asks: a section letter is too coarse to be a priority sector.
static int
s_check_isic (const char *path, const char *value, cpec_status_t *status)
{
    if (!value || !*value)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: required", path);
    int level = cpec_codes_isic_level (value);
    if (level == 1)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: \"%s\" is an ISIC section; give a division (2 digits), "
                                "group (3) or class (4)",
                                path, value);
    if (level < 2 || !cpec_codes_isic_valid (value))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: \"%.80s\" is not an ISIC Rev.4 division, group or class", path,
                                value);
    return 0;
}

//  A number that must be finite and at least 0 (or, strict, more than 0).
static int
s_check_number (const char *path, double value, bool strict, cpec_status_t *status)
{
    if (!isfinite (value) || value < 0 || (strict && value == 0))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "%s: must be a finite number %s 0 (got %g)", path,
                                strict ? "greater than" : "of at least", value);
    return 0;
}

static int
s_check_wrapper (const char *path, const Google__Protobuf__DoubleValue *wrapper,
                 cpec_status_t *status)
{
    return wrapper ? s_check_number (path, wrapper->value, false, status) : 0;
}

//  Whether path ("area_acres", "land.leasable_acres",
//  "utilities.power.connected_at") names a field of descriptor, descending
//  into sub-messages of our own (not into well-known wrapper types).
static bool
s_path_valid (const ProtobufCMessageDescriptor *descriptor, const char *path)
{
    char buffer[128];
    if (!path || !*path || strlen (path) >= sizeof (buffer))
        return false;
    strcpy (buffer, path);
    char *segment = buffer;
    while (segment) {
        char *dot = strchr (segment, '.');
        if (dot)
            *dot = '\0';
        if (!descriptor || strncmp (descriptor->name, "google.protobuf.", 16) == 0)
            return false;
        const ProtobufCFieldDescriptor *field =
            protobuf_c_message_descriptor_get_field_by_name (descriptor, segment);
        if (!field)
            return false;
        if (dot) {
            if (field->type != PROTOBUF_C_TYPE_MESSAGE || field->label == PROTOBUF_C_LABEL_REPEATED)
                return false;
            descriptor = (const ProtobufCMessageDescriptor *)field->descriptor;
            segment = dot + 1;
        } else
            segment = NULL;
    }
    return true;
}

static int
s_check_utility (const char *name, const Cpec__V1__UtilityLine *line, cpec_status_t *status)
{
    if (!line)
        return 0;
    char path[64];
    snprintf (path, sizeof (path), "utilities.%s.planned", name);
    if (s_check_wrapper (path, line->planned, status))
        return status->code;
    snprintf (path, sizeof (path), "utilities.%s.connected", name);
    if (s_check_wrapper (path, line->connected, status))
        return status->code;
    snprintf (path, sizeof (path), "utilities.%s.unit", name);
    if (cpec_check_text (path, line->unit, false, REGISTRY_SHORT_MAX, status))
        return status->code;
    snprintf (path, sizeof (path), "utilities.%s.connected_at", name);
    return cpec_check_timestamp (path, line->connected_at, 0, status);
}

static int
s_check_land (const Cpec__V1__Land *land, cpec_status_t *status)
{
    if (!land)
        return 0;
    if (s_check_wrapper ("land.total_acres", land->total_acres, status) ||
        s_check_wrapper ("land.leasable_acres", land->leasable_acres, status) ||
        s_check_number ("land.allotted_acres", land->allotted_acres, false, status))
        return status->code;
    if (land->total_acres && land->leasable_acres &&
        land->leasable_acres->value > land->total_acres->value)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "land.leasable_acres: %g exceeds land.total_acres %g",
                                land->leasable_acres->value, land->total_acres->value);
    if (land->allotted_acres > 0 && !land->leasable_acres)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "land.leasable_acres: cannot become unknown while %g acres are "
                                "allotted",
                                land->allotted_acres);
    if (land->leasable_acres && land->allotted_acres > land->leasable_acres->value)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "land.leasable_acres: %g is less than the %g acres already "
                                "allotted",
                                land->leasable_acres->value, land->allotted_acres);
    return 0;
}

static int
s_check_sectors (const Cpec__V1__Sez *sez, cpec_status_t *status)
{
    if (sez->n_sectors > REGISTRY_SECTORS_MAX)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "sectors: at most %d (got %zu)",
                                REGISTRY_SECTORS_MAX, sez->n_sectors);
    for (size_t i = 0; i < sez->n_sectors; i++) {
        char path[32];
        snprintf (path, sizeof (path), "sectors[%zu]", i);
        if (s_check_isic (path, sez->sectors[i], status))
            return status->code;
        for (size_t j = 0; j < i; j++)
            if (strcmp (sez->sectors[i], sez->sectors[j]) == 0)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "%s: \"%s\" is already sectors[%zu]", path, sez->sectors[i],
                                        j);
    }
    return 0;
}

static int
s_check_sources (const Cpec__V1__Sez *sez, cpec_status_t *status)
{
    if (sez->n_sources > REGISTRY_SOURCES_MAX)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "sources: at most %d (got %zu)",
                                REGISTRY_SOURCES_MAX, sez->n_sources);
    for (size_t i = 0; i < sez->n_sources; i++) {
        const Cpec__V1__Provenance *source = sez->sources[i];
        char path[48];
        snprintf (path, sizeof (path), "sources[%zu].field", i);
        if (!source->field || !*source->field)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: required", path);
        if (!s_path_valid (&cpec__v1__sez__descriptor, source->field))
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "%s: \"%.80s\" is not a field of Sez", path, source->field);
        snprintf (path, sizeof (path), "sources[%zu].source", i);
        if (cpec_check_text (path, source->source, true, REGISTRY_TEXT_MAX, status))
            return status->code;
        snprintf (path, sizeof (path), "sources[%zu].as_of", i);
        if (cpec_check_timestamp (path, source->as_of, 0, status))
            return status->code;
    }
    return 0;
}

//  --------------------------------------------------------------------------
//  The public rules

int
registry_validate_sez (const Cpec__V1__Sez *sez, cpec_status_t *status)
{
    assert (status);
    if (!sez)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "sez: required");
    if (registry_validate_zone_id ("id", sez->id, status) ||
        cpec_check_text ("name", sez->name, true, REGISTRY_NAME_MAX, status) ||
        cpec_check_text ("name_zh", sez->name_zh, false, REGISTRY_NAME_MAX, status) ||
        cpec_check_text ("name_ur", sez->name_ur, false, REGISTRY_NAME_MAX, status) ||
        s_check_province ("province", sez->province, status) ||
        cpec_check_text ("district", sez->district, false, REGISTRY_TEXT_MAX, status) ||
        cpec_check_text ("location", sez->location, false, REGISTRY_TEXT_MAX, status) ||
        s_check_wrapper ("area_acres", sez->area_acres, status) ||
        cpec_check_text ("developer", sez->developer, false, REGISTRY_TEXT_MAX, status) ||
        cpec_check_text ("zone_authority", sez->zone_authority, false, REGISTRY_TEXT_MAX, status) ||
        s_check_sectors (sez, status))
        return status->code;
    if (sez->utilities && (s_check_utility ("power", sez->utilities->power, status) ||
                           s_check_utility ("gas", sez->utilities->gas, status) ||
                           s_check_utility ("water", sez->utilities->water, status)))
        return status->code;
    if (s_check_land (sez->land, status))
        return status->code;
    if (!registry_status_valid (sez->status))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "status: must be one of " S_STATUSES " (got %d)", (int)sez->status);
    return s_check_sources (sez, status);
}

int
registry_validate_enterprise (const Cpec__V1__ZoneEnterprise *enterprise, int64_t now_ms,
                              cpec_status_t *status)
{
    assert (status);
    if (!enterprise)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "enterprise: required");
    if (cpec_check_slug ("id", enterprise->id, REGISTRY_SLUG_MAX, status) ||
        registry_validate_zone_id ("zone_id", enterprise->zone_id, status) ||
        cpec_check_text ("name", enterprise->name, true, REGISTRY_NAME_MAX, status))
        return status->code;
    if (!registry_country_valid (enterprise->country))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "country: must be an ISO 3166-1 alpha-2 code in capitals, such as "
                                "PK or CN (got \"%.80s\")",
                                enterprise->country ? enterprise->country : "");
    if (s_check_isic ("sector", enterprise->sector, status) ||
        cpec_check_text ("plot", enterprise->plot, false, REGISTRY_SHORT_MAX, status) ||
        s_check_number ("acres", enterprise->acres, true, status) ||
        s_check_wrapper ("investment_usd", enterprise->investment_usd, status))
        return status->code;
    if (enterprise->admission_status !=
            CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__ADMISSION_STATUS_UNSPECIFIED &&
        enterprise->admission_status != CPEC__V1__ZONE_ENTERPRISE__ADMISSION_STATUS__ADMITTED)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "admission_status: AdmitEnterprise admits; leave it unset or "
                                "ADMITTED (got %d)",
                                (int)enterprise->admission_status);
    int64_t latest = now_ms + REGISTRY_CLOCK_SKEW_MS;
    if (cpec_check_timestamp ("applied_at", enterprise->applied_at, latest, status) ||
        cpec_check_timestamp ("admitted_at", enterprise->admitted_at, latest, status))
        return status->code;
    if (enterprise->applied_at && enterprise->admitted_at &&
        cpec_pb_timestamp_ms (enterprise->applied_at) >
            cpec_pb_timestamp_ms (enterprise->admitted_at))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "admitted_at: is before applied_at");
    return 0;
}

int
registry_validate_mask (char *const *mask, size_t count, cpec_status_t *status)
{
    assert (status);
    assert (mask || count == 0);
    for (size_t i = 0; i < count; i++) {
        const char *name = mask[i] ? mask[i] : "";
        if (!protobuf_c_message_descriptor_get_field_by_name (&cpec__v1__sez__descriptor, name))
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "update_mask[%zu]: \"%.80s\" is not a top-level field of Sez",
                                    i, name);
        for (const char **server = s_server_fields; *server; server++)
            if (strcmp (*server, name) == 0)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "update_mask[%zu]: \"%s\" is set by the registry and "
                                        "cannot be updated",
                                        i, name);
        for (size_t j = 0; j < i; j++)
            if (mask[j] && strcmp (mask[j], name) == 0)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "update_mask[%zu]: \"%s\" is already update_mask[%zu]", i,
                                        name, j);
    }
    return 0;
}

int
registry_validate_page (uint32_t page_size, const char *cursor, size_t *page, cpec_status_t *status)
{
    assert (status);
    if (page_size > REGISTRY_PAGE_MAX)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "page_size: at most %d (got %u)",
                                REGISTRY_PAGE_MAX, page_size);
    if (cursor && *cursor && !registry_slug_valid (cursor))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "cursor: not a cursor this list gave out (got \"%.80s\")", cursor);
    if (page)
        *page = page_size ? page_size : REGISTRY_PAGE_DEFAULT;
    return 0;
}

int
registry_validate_list (const Cpec__V1__ListSezsRequest *request, cpec_status_t *status)
{
    assert (request && status);
    if (request->province && *request->province &&
        s_check_province ("province", request->province, status))
        return status->code;
    if (request->status != CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED &&
        !registry_status_valid (request->status))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "status: must be one of " S_STATUSES " (got %d)",
                                (int)request->status);
    if (request->sector && *request->sector && s_check_isic ("sector", request->sector, status))
        return status->code;
    return registry_validate_page (request->page_size, request->cursor, NULL, status);
}
