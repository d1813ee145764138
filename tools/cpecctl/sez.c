/*  cpecctl sez - zones and zone enterprises through the Registry service:
    list, get, create, update, admit, enterprises.
*/
#include <ctype.h>
#include "cpecctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_json.h"
#include "cpec_pb.h"

//  Checks that an optional string member of the file matches the argument
//  (e.g. "id" against ID). 0, or CPECCTL_EXIT_USAGE after reporting.
//  The proto name of the field a JSON key names: the key itself, or the
//  field whose lowerCamelCase form it is (the proto3 JSON mapping accepts
//  both). Borrowed from the descriptor, or the key when nothing matches.
static const char *
s_proto_field_name (const ProtobufCMessageDescriptor *descriptor, const char *key)
{
    for (unsigned i = 0; i < descriptor->n_fields; i++) {
        const char *name = descriptor->fields[i].name;
        const char *k = key;
        bool upper = false;
        for (const char *n = name; *n; n++) {
            if (*n == '_') {
                upper = true;
                continue;
            }
            char want = upper ? (char)toupper ((unsigned char)*n) : *n;
            upper = false;
            if (*k++ != want) {
                k = NULL;
                break;
            }
        }
        if ((k && *k == '\0') || strcmp (name, key) == 0)
            return name;
    }
    return key;
}

static int
s_check_same (const char *command, const char *path, json_t *json, const char *key,
              const char *expected)
{
    json_t *value = json_object_get (json, key);
    if (value == NULL)
        return 0;
    if (!json_is_string (value))
        return cpecctl_input_error (command, "%s: %s: expected a string", path, key);
    if (strcmp (json_string_value (value), expected) != 0)
        return cpecctl_input_error (command, "%s: %s is \"%s\" but the command names \"%s\"", path,
                                    key, json_string_value (value), expected);
    return 0;
}

//  Replaces a string member of a decoded message with a copy of value.
static void
s_set_string (char **member, const char *value)
{
    if (*member && *member != protobuf_c_empty_string)
        free (*member);
    *member = cpec_strdup (value);
}

//  ---------------------------------------------------------------------------
//  sez list

//  Prints zones as an aligned table: ID PROVINCE STATUS FAST-TRACK ACRES NAME.
static void
s_print_sez_table (ProtobufCMessage **zones, size_t count)
{
    int id_width = 2, province_width = 8, status_width = 6, acres_width = 5;
    char acres[32];
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Sez *sez = (const Cpec__V1__Sez *)zones[index];
        int width = (int)strlen (cpecctl_text (sez->id));
        id_width = width > id_width ? width : id_width;
        width = (int)strlen (cpecctl_text (sez->province));
        province_width = width > province_width ? width : province_width;
        width = (int)strlen (cpecctl_status_name (sez->status));
        status_width = width > status_width ? width : status_width;
        width = (int)strlen (cpecctl_format_double_value (sez->area_acres, acres, sizeof (acres)));
        acres_width = width > acres_width ? width : acres_width;
    }
    printf ("%-*s  %-*s  %-*s  %-10s  %*s  %s\n", id_width, "ID", province_width, "PROVINCE",
            status_width, "STATUS", "FAST-TRACK", acres_width, "ACRES", "NAME");
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Sez *sez = (const Cpec__V1__Sez *)zones[index];
        printf ("%-*s  %-*s  %-*s  %-10s  %*s  %s\n", id_width, cpecctl_text (sez->id),
                province_width, cpecctl_text (sez->province), status_width,
                cpecctl_status_name (sez->status), sez->fast_track ? "yes" : "no", acres_width,
                cpecctl_format_double_value (sez->area_acres, acres, sizeof (acres)),
                cpecctl_text (sez->name));
    }
}

int
cpecctl_sez_list (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "sez list";
    const char *province = NULL, *status = NULL, *sector = NULL;
    bool fast_track = false, json = false;
    const cpecctl_option_t options[] = {
        {"--province", &province, NULL}, {"--status", &status, NULL},
        {"--sector", &sector, NULL},     {"--fast-track", NULL, &fast_track},
        {"--json", NULL, &json},         {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__ListSezsRequest request = CPEC__V1__LIST_SEZS_REQUEST__INIT;
    Google__Protobuf__BoolValue fast_track_value = GOOGLE__PROTOBUF__BOOL_VALUE__INIT;
    if (province)
        request.province = (char *)province;
    if (sector)
        request.sector = (char *)sector;
    if (status) {
        int value = 0;
        if (cpecctl_parse_enum (command, "status", &cpec__v1__sez__status__descriptor, status,
                                &value))
            return CPECCTL_EXIT_USAGE;
        request.status = (Cpec__V1__Sez__Status)value;
    }
    if (fast_track) {
        fast_track_value.value = true;
        request.fast_track = &fast_track_value;
    }
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;

    cpecctl_listing_t listing;
    if (cpecctl_list_all (self, &cpec__v1__registry__descriptor, "ListSezs", &request.base, "sezs",
                          &listing))
        return CPECCTL_EXIT_ERROR;
    if (json)
        cpecctl_print_json_array (listing.rows, listing.n_rows);
    else
        s_print_sez_table (listing.rows, listing.n_rows);
    cpecctl_listing_destroy (&listing);
    return CPECCTL_EXIT_OK;
}

//  ---------------------------------------------------------------------------
//  sez get

static void
s_print_utility (const char *name, const Cpec__V1__UtilityLine *line)
{
    if (line == NULL) {
        printf ("utilities.%s: -\n", name);
        return;
    }
    char planned[32], connected[32], at[40];
    const char *unit = line->unit && *line->unit ? line->unit : "";
    printf ("utilities.%s: planned %s%s%s, connected %s%s%s", name,
            line->planned ? cpecctl_format_number (line->planned->value, planned, sizeof (planned))
                          : "unknown",
            line->planned && *unit ? " " : "", line->planned ? unit : "",
            line->connected
                ? cpecctl_format_number (line->connected->value, connected, sizeof (connected))
                : "unknown",
            line->connected && *unit ? " " : "", line->connected ? unit : "");
    if (line->connected_at)
        printf (" on %s", cpecctl_format_timestamp (line->connected_at, at, sizeof (at)));
    printf ("\n");
}

//  Prints every field of a zone as "field: value" lines; "-" is unknown.
static void
s_print_sez (const ProtobufCMessage *message)
{
    const Cpec__V1__Sez *sez = (const Cpec__V1__Sez *)message;
    char number[32], at[40];
    printf ("id: %s\n", cpecctl_text (sez->id));
    printf ("name: %s\n", cpecctl_text (sez->name));
    printf ("name_zh: %s\n", cpecctl_text (sez->name_zh));
    printf ("name_ur: %s\n", cpecctl_text (sez->name_ur));
    printf ("province: %s\n", cpecctl_text (sez->province));
    printf ("district: %s\n", cpecctl_text (sez->district));
    printf ("location: %s\n", cpecctl_text (sez->location));
    printf ("area_acres: %s\n",
            cpecctl_format_double_value (sez->area_acres, number, sizeof (number)));
    printf ("developer: %s\n", cpecctl_text (sez->developer));
    printf ("zone_authority: %s\n", cpecctl_text (sez->zone_authority));
    printf ("fast_track: %s\n", sez->fast_track ? "true" : "false");
    printf ("sectors: ");
    for (size_t index = 0; index < sez->n_sectors; index++)
        printf ("%s%s", index ? ", " : "", sez->sectors[index]);
    printf ("%s\n", sez->n_sectors ? "" : "-");
    printf ("status: %s\n", cpecctl_status_name (sez->status));
    const Cpec__V1__Land *land = sez->land;
    printf ("land.total_acres: %s\n",
            cpecctl_format_double_value (land ? land->total_acres : NULL, number, sizeof (number)));
    printf (
        "land.leasable_acres: %s\n",
        cpecctl_format_double_value (land ? land->leasable_acres : NULL, number, sizeof (number)));
    printf ("land.allotted_acres: %s\n",
            cpecctl_format_number (land ? land->allotted_acres : 0, number, sizeof (number)));
    const Cpec__V1__Utilities *utilities = sez->utilities;
    s_print_utility ("power", utilities ? utilities->power : NULL);
    s_print_utility ("gas", utilities ? utilities->gas : NULL);
    s_print_utility ("water", utilities ? utilities->water : NULL);
    printf ("version: %u\n", sez->version);
    cpecctl_print_audit ("created", sez->created);
    cpecctl_print_audit ("updated", sez->updated);
    if (sez->n_sources == 0)
        printf ("sources: -\n");
    for (size_t index = 0; index < sez->n_sources; index++) {
        const Cpec__V1__Provenance *source = sez->sources[index];
        printf ("sources[%zu]: %s: %s (as of %s)\n", index, cpecctl_text (source->field),
                cpecctl_text (source->source),
                cpecctl_format_timestamp (source->as_of, at, sizeof (at)));
    }
}

int
cpecctl_sez_get (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "sez get";
    const char *id = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__GetSezRequest request = CPEC__V1__GET_SEZ_REQUEST__INIT;
    request.id = (char *)id;
    ProtobufCMessage *output = NULL;
    cpec_status_t status;
    if (cpecctl_call (self, &cpec__v1__registry__descriptor, "GetSez", NULL, &request.base, &output,
                      &status) != CPEC_OK)
        return cpecctl_report_status (&status);
    return cpecctl_print_answer (&output, json, s_print_sez);
}

//  ---------------------------------------------------------------------------
//  sez create

int
cpecctl_sez_create (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "sez create";
    bool json = false;
    const char *file = NULL;
    ProtobufCMessage *sez = NULL;
    if (cpecctl_parse_file_command (command, argc, argv, &cpec__v1__sez__descriptor, &json, &file,
                                    &sez))
        return CPECCTL_EXIT_USAGE;
    if (cpecctl_client_or_report (self) == NULL) {
        cpec_pb_destroy (&sez);
        return CPECCTL_EXIT_USAGE;
    }
    Cpec__V1__CreateSezRequest request = CPEC__V1__CREATE_SEZ_REQUEST__INIT;
    request.sez = (Cpec__V1__Sez *)sez;
    ProtobufCMessage *output = NULL;
    cpec_status_t status;
    int rc = CPECCTL_EXIT_OK;
    if (cpecctl_call (self, &cpec__v1__registry__descriptor, "CreateSez", NULL, &request.base,
                      &output, &status) != CPEC_OK)
        rc = cpecctl_report_status (&status);
    else if (json)
        cpecctl_print_json (output);
    else {
        Cpec__V1__Sez *created = (Cpec__V1__Sez *)output;
        printf ("created %s version %u\n", created->id, created->version);
    }
    cpec_pb_destroy (&output);
    cpec_pb_destroy (&sez);
    return rc;
}

//  ---------------------------------------------------------------------------
//  sez update

int
cpecctl_sez_update (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "sez update";
    const char *id = NULL, *file = NULL, *version_text = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--file", &file, NULL},
                                        {"--version", &version_text, NULL},
                                        {"--json", NULL, &json},
                                        {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    if (file == NULL)
        return cpecctl_usage_error (command, "--file F.json is required");
    if (version_text == NULL)
        return cpecctl_usage_error (command, "--version V (the version you read) is required");
    uint32_t version = 0;
    if (cpecctl_parse_uint32 (version_text, 1, &version))
        return cpecctl_usage_error (command, "--version must be a positive whole number, not '%s'",
                                    version_text);

    json_t *object = NULL;
    ProtobufCMessage *message =
        cpecctl_load_message_or_report (command, file, &cpec__v1__sez__descriptor, &object);
    if (message == NULL)
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)message;
    Cpec__V1__UpdateSezRequest request = CPEC__V1__UPDATE_SEZ_REQUEST__INIT;
    int rc = s_check_same (command, file, object, "id", id);
    if (rc == 0) {
        //  The mask: every top-level key present in the file but "id".
        request.update_mask =
            cpec_realloc (NULL, (json_object_size (object) + 1) * sizeof (char *));
        const char *key;
        json_t *value;
        json_object_foreach (object, key, value)
        {
            //  The decoder took the key, so it names a field, by its proto
            //  name or its lowerCamelCase JSON name: the mask wants the former.
            const char *name = s_proto_field_name (&cpec__v1__sez__descriptor, key);
            if (strcmp (name, "id") != 0)
                request.update_mask[request.n_update_mask++] = (char *)name;
        }
        if (request.n_update_mask == 0)
            rc = cpecctl_input_error (command, "%s: no fields to change", file);
    }
    if (rc == 0 && cpecctl_client_or_report (self) == NULL)
        rc = CPECCTL_EXIT_USAGE;
    if (rc == 0) {
        s_set_string (&sez->id, id);
        request.sez = sez;
        request.expected_version = version;
        ProtobufCMessage *output = NULL;
        cpec_status_t status;
        if (cpecctl_call (self, &cpec__v1__registry__descriptor, "UpdateSez", NULL, &request.base,
                          &output, &status) != CPEC_OK)
            rc = cpecctl_report_status (&status);
        else if (json)
            cpecctl_print_json (output);
        else {
            Cpec__V1__Sez *updated = (Cpec__V1__Sez *)output;
            printf ("updated %s version %u\n", updated->id, updated->version);
        }
        cpec_pb_destroy (&output);
    }
    free (request.update_mask);
    json_decref (object);
    cpec_pb_destroy (&message);
    return rc;
}

//  ---------------------------------------------------------------------------
//  sez admit, sez enterprises

static const char *
s_admission_name (int status)
{
    return cpecctl_enum_name (&cpec__v1__zone_enterprise__admission_status__descriptor, status,
                              "ADMISSION_STATUS_UNKNOWN");
}

int
cpecctl_sez_admit (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "sez admit";
    const char *zone = NULL, *file = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--file", &file, NULL}, {"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &zone, "ZONE"))
        return CPECCTL_EXIT_USAGE;
    if (file == NULL)
        return cpecctl_usage_error (command, "--file F.json is required");

    json_t *object = NULL;
    ProtobufCMessage *message = cpecctl_load_message_or_report (
        command, file, &cpec__v1__zone_enterprise__descriptor, &object);
    if (message == NULL)
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ZoneEnterprise *enterprise = (Cpec__V1__ZoneEnterprise *)message;
    int rc = s_check_same (command, file, object, "zone_id", zone);
    json_decref (object);
    if (rc == 0 && cpecctl_client_or_report (self) == NULL)
        rc = CPECCTL_EXIT_USAGE;
    if (rc == 0) {
        s_set_string (&enterprise->zone_id, zone);
        Cpec__V1__AdmitEnterpriseRequest request = CPEC__V1__ADMIT_ENTERPRISE_REQUEST__INIT;
        request.enterprise = enterprise;
        ProtobufCMessage *output = NULL;
        cpec_status_t status;
        if (cpecctl_call (self, &cpec__v1__registry__descriptor, "AdmitEnterprise", NULL,
                          &request.base, &output, &status) != CPEC_OK)
            rc = cpecctl_report_status (&status);
        else if (json)
            cpecctl_print_json (output);
        else {
            Cpec__V1__ZoneEnterprise *admitted = (Cpec__V1__ZoneEnterprise *)output;
            printf ("admitted %s to %s: %s version %u\n", admitted->id, admitted->zone_id,
                    s_admission_name (admitted->admission_status), admitted->version);
        }
        cpec_pb_destroy (&output);
    }
    cpec_pb_destroy (&message);
    return rc;
}

//  Prints enterprises as an aligned table: ID COUNTRY SECTOR PLOT ACRES STATUS NAME.
static void
s_print_enterprise_table (ProtobufCMessage **rows, size_t count)
{
    int id_width = 2, country_width = 7, sector_width = 6, plot_width = 4, acres_width = 5,
        status_width = 6;
    char acres[32];
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__ZoneEnterprise *row = (const Cpec__V1__ZoneEnterprise *)rows[index];
        int width = (int)strlen (cpecctl_text (row->id));
        id_width = width > id_width ? width : id_width;
        width = (int)strlen (cpecctl_text (row->country));
        country_width = width > country_width ? width : country_width;
        width = (int)strlen (cpecctl_text (row->sector));
        sector_width = width > sector_width ? width : sector_width;
        width = (int)strlen (cpecctl_text (row->plot));
        plot_width = width > plot_width ? width : plot_width;
        width = (int)strlen (cpecctl_format_number (row->acres, acres, sizeof (acres)));
        acres_width = width > acres_width ? width : acres_width;
        width = (int)strlen (s_admission_name (row->admission_status));
        status_width = width > status_width ? width : status_width;
    }
    printf ("%-*s  %-*s  %-*s  %-*s  %*s  %-*s  %s\n", id_width, "ID", country_width, "COUNTRY",
            sector_width, "SECTOR", plot_width, "PLOT", acres_width, "ACRES", status_width,
            "STATUS", "NAME");
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__ZoneEnterprise *row = (const Cpec__V1__ZoneEnterprise *)rows[index];
        printf ("%-*s  %-*s  %-*s  %-*s  %*s  %-*s  %s\n", id_width, cpecctl_text (row->id),
                country_width, cpecctl_text (row->country), sector_width,
                cpecctl_text (row->sector), plot_width, cpecctl_text (row->plot), acres_width,
                cpecctl_format_number (row->acres, acres, sizeof (acres)), status_width,
                s_admission_name (row->admission_status), cpecctl_text (row->name));
    }
}

int
cpecctl_sez_enterprises (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "sez enterprises";
    const char *zone = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &zone, "ZONE"))
        return CPECCTL_EXIT_USAGE;
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__ListZoneEnterprisesRequest request = CPEC__V1__LIST_ZONE_ENTERPRISES_REQUEST__INIT;
    request.zone_id = (char *)zone;
    cpecctl_listing_t listing;
    if (cpecctl_list_all (self, &cpec__v1__registry__descriptor, "ListZoneEnterprises",
                          &request.base, "enterprises", &listing))
        return CPECCTL_EXIT_ERROR;
    if (json)
        cpecctl_print_json_array (listing.rows, listing.n_rows);
    else
        s_print_enterprise_table (listing.rows, listing.n_rows);
    cpecctl_listing_destroy (&listing);
    return CPECCTL_EXIT_OK;
}
