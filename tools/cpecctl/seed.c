/*  cpecctl seed - creates the 9 CPEC zones (data/sezs.json, built into the
    binary) or the zones of a file, and is idempotent:

    - the zones already in the registry are counted as present and not sent;
    - each missing zone is created with request id "seed-<id>", so a seed that
      is retried or run twice at once writes nothing twice, and ALREADY_EXISTS
      (another seeder was first) also counts as present.

    Every zone is decoded before anything is sent: a bad file changes nothing.
*/
#include "cpecctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"

//  Decodes the array of zones; *zones gets `count` new messages. 0, or
//  CPECCTL_EXIT_USAGE after reporting (nothing to free).
static int
s_decode_zones (const char *origin, json_t *data, ProtobufCMessage ***zones, size_t *count)
{
    const char *command = "seed";
    if (!json_is_array (data))
        return cpecctl_input_error (command, "%s: expected a JSON array of zones", origin);
    size_t size = json_array_size (data);
    ProtobufCMessage **decoded = cpec_realloc (NULL, size * sizeof (*decoded));
    size_t done = 0;
    int rc = 0;
    for (; done < size && rc == 0; done++) {
        char where[512];
        snprintf (where, sizeof (where), "%s: zone %zu", origin, done + 1);
        ProtobufCMessage *message = cpecctl_decode_or_report (
            command, where, &cpec__v1__sez__descriptor, json_array_get (data, done));
        if (message == NULL) {
            rc = CPECCTL_EXIT_USAGE;
            break;
        }
        decoded[done] = message;
        const char *id = ((Cpec__V1__Sez *)message)->id;
        if (*id == '\0')
            rc = cpecctl_input_error (command, "%s: id is required", where);
        for (size_t other = 0; rc == 0 && other < done; other++)
            if (strcmp (((Cpec__V1__Sez *)decoded[other])->id, id) == 0)
                rc = cpecctl_input_error (command, "%s: id \"%s\" appears twice", where, id);
    }
    if (rc) {
        for (size_t index = 0; index < done; index++)
            cpec_pb_destroy (&decoded[index]);
        free (decoded);
        return rc;
    }
    *zones = decoded;
    *count = size;
    return 0;
}

//  Whether the listing holds a zone with this id.
static bool
s_listed (const cpecctl_listing_t *listing, const char *id)
{
    for (size_t index = 0; index < listing->n_rows; index++)
        if (strcmp (((const Cpec__V1__Sez *)listing->rows[index])->id, id) == 0)
            return true;
    return false;
}

int
cpecctl_seed (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "seed";
    const char *file = NULL;
    const cpecctl_option_t options[] = {{"--file", &file, NULL}, {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;

    json_t *data = NULL;
    const char *origin = file ? file : "built-in data/sezs.json";
    if (file)
        data = cpecctl_load_json_or_report (command, file, false);
    else {
        json_error_t error;
        data = json_loads (cpec_data_sezs, JSON_REJECT_DUPLICATES, &error);
        if (data == NULL)
            cpecctl_input_error (command, "%s:%d:%d: %s", origin, error.line, error.column,
                                 error.text);
    }
    if (data == NULL)
        return CPECCTL_EXIT_USAGE;
    ProtobufCMessage **zones = NULL;
    size_t count = 0;
    int rc = s_decode_zones (origin, data, &zones, &count);
    json_decref (data);
    if (rc)
        return rc;
    if (cpecctl_client_or_report (self) == NULL)
        rc = CPECCTL_EXIT_USAGE;

    cpecctl_listing_t listing = {NULL, 0, NULL, 0};
    if (rc == 0) {
        Cpec__V1__ListSezsRequest request = CPEC__V1__LIST_SEZS_REQUEST__INIT;
        rc = cpecctl_list_all (self, "ListSezs", &request.base,
                               &cpec__v1__list_sezs_response__descriptor, "sezs", &listing);
    }
    size_t created = 0, present = 0, failed = 0;
    for (size_t index = 0; rc == 0 && index < count; index++) {
        Cpec__V1__Sez *sez = (Cpec__V1__Sez *)zones[index];
        if (s_listed (&listing, sez->id)) {
            present++;
            continue;
        }
        Cpec__V1__CreateSezRequest request = CPEC__V1__CREATE_SEZ_REQUEST__INIT;
        request.sez = sez;
        char request_id[256];
        snprintf (request_id, sizeof (request_id), "seed-%s", sez->id);
        ProtobufCMessage *output = NULL;
        cpec_status_t status;
        int code =
            cpecctl_registry_call (self, "CreateSez", request_id, &request.base, &output, &status);
        if (code == CPEC_OK)
            created++;
        else if (code == CPEC_ALREADY_EXISTS)
            present++;
        else {
            cpecctl_report_status (&status);
            failed++;
        }
        cpec_pb_destroy (&output);
    }
    if (rc == 0) {
        printf ("seeded: %zu created, %zu already present\n", created, present);
        if (failed) {
            fprintf (stderr, "cpecctl seed: %zu of %zu zones could not be created\n", failed,
                     count);
            rc = CPECCTL_EXIT_ERROR;
        }
    }
    cpecctl_listing_destroy (&listing);
    for (size_t index = 0; index < count; index++)
        cpec_pb_destroy (&zones[index]);
    free (zones);
    return rc;
}
