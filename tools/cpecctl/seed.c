/*  cpecctl seed - creates the 9 CPEC zones (data/sezs.json, built into the
    binary) or the zones of a file, then the milestones of the four fast-track
    zones (data/milestones.json, built in) or those of a file, and is
    idempotent:

    - the records already there are counted as present and not sent (zones:
      one listing of the registry; milestones: a listing of each zone named);
    - each missing record is created with request id "seed-<id>" (zones) or
      "seed-ms-<id>" (milestones), so a seed that is retried or run twice at
      once writes nothing twice, and ALREADY_EXISTS (another seeder was first)
      also counts as present.

    Both files are decoded before anything is sent: a bad file changes
    nothing. Milestones are created in file order (a predecessor before the
    milestones that name it) and only once every zone is present.

    One loop serves both kinds: what differs (service, methods, fields) is in
    an s_kind_t, and the requests are built through the descriptors.

    `seed enterprises` (main.c routes it here before plain `seed`) is another
    matter: it sends the synthetic profiles I..I+N-1 of a data set (synth.h;
    I is --from, 0 by default) to the Matchmaking service with
    ImportEnterprises, in batches, each under a request id made of the data
    set, the batch's first index (counted from 0 of the data set, not from
    I) and its size, so that a re-run is a retry the service answers from
    its idempotency record, and a data set grown in steps (--count 10000,
    then --from 10000 --count 90000) sends the same requests as one run
    when I is a multiple of the batch size. A batch refused with
    ALREADY_EXISTS means that the data set was seeded before (by another
    run, or with another --batch): that is reported and the command exits 1.
*/
#include "cpecctl.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "synth.h"

//  What seeding one kind of record needs.
typedef struct
{
    const char *one;                              //  "zone", in messages
    const char *many;                             //  "zones", in messages
    const char *summary;                          //  start of the summary line: "seeded"
    const char *builtin;                          //  the embedded JSON array
    const char *builtin_name;                     //  its origin in messages
    const ProtobufCMessageDescriptor *descriptor; //  of one record: cpec.v1.Sez
    const ProtobufCServiceDescriptor *service;    //  the service that keeps them
    const char *list_method;                      //  lists them: "ListSezs"
    const char *list_rows;                        //  the rows of its reply: "sezs"
    const char *list_scope;                       //  a string field of the record and of the list
                                                  //  request, one listing per value; NULL: one
    const char *create_method;                    //  creates one: "CreateSez"
    const char *create_field;                     //  the record in its request: "sez"
    const char *request_prefix;                   //  request id prefix: "seed-"
} s_kind_t;

static const s_kind_t s_zones = {"zone",
                                 "zones",
                                 "seeded",
                                 cpec_data_sezs,
                                 "built-in data/sezs.json",
                                 &cpec__v1__sez__descriptor,
                                 &cpec__v1__registry__descriptor,
                                 "ListSezs",
                                 "sezs",
                                 NULL,
                                 "CreateSez",
                                 "sez",
                                 "seed-"};

static const s_kind_t s_milestones = {"milestone",
                                      "milestones",
                                      "seeded milestones",
                                      cpec_data_milestones,
                                      "built-in data/milestones.json",
                                      &cpec__v1__milestone__descriptor,
                                      &cpec__v1__milestones__descriptor,
                                      "List",
                                      "milestones",
                                      "zone_id",
                                      "Create",
                                      "milestone",
                                      "seed-ms-"};

//  The address of a top-level member of a message, by field name.
static void *
s_member (const ProtobufCMessage *message, const char *name)
{
    const ProtobufCFieldDescriptor *field =
        protobuf_c_message_descriptor_get_field_by_name (message->descriptor, name);
    assert (field && field->label != PROTOBUF_C_LABEL_REPEATED);
    return (char *)message + field->offset;
}

//  A string member of a message, by field name.
static const char *
s_string (const ProtobufCMessage *message, const char *name)
{
    return *(char **)s_member (message, name);
}

//  A new request of `method`, at its defaults, whose pointer members will be
//  borrowed: free it with free (), not cpec_pb_destroy.
static ProtobufCMessage *
s_request_new (const ProtobufCServiceDescriptor *service, const char *method)
{
    const ProtobufCMethodDescriptor *found =
        protobuf_c_service_descriptor_get_method_by_name (service, method);
    assert (found);
    ProtobufCMessage *request = cpec_realloc (NULL, found->input->sizeof_message);
    protobuf_c_message_init (found->input, request);
    return request;
}

//  Reads the kind's file (or its built-in data) and decodes the array;
//  *records gets `count` new messages. 0, or CPECCTL_EXIT_USAGE after
//  reporting (nothing to free).
static int
s_decode (const s_kind_t *kind, const char *file, ProtobufCMessage ***records, size_t *count)
{
    const char *command = "seed";
    const char *origin = file ? file : kind->builtin_name;
    json_t *data = NULL;
    if (file)
        data = cpecctl_load_json_or_report (command, file, false);
    else {
        json_error_t error;
        data = json_loads (kind->builtin, JSON_REJECT_DUPLICATES, &error);
        if (data == NULL)
            cpecctl_input_error (command, "%s:%d:%d: %s", origin, error.line, error.column,
                                 error.text);
    }
    if (data == NULL)
        return CPECCTL_EXIT_USAGE;
    if (!json_is_array (data)) {
        json_decref (data);
        return cpecctl_input_error (command, "%s: expected a JSON array of %s", origin, kind->many);
    }
    size_t size = json_array_size (data);
    ProtobufCMessage **decoded = cpec_realloc (NULL, size * sizeof (*decoded));
    size_t done = 0;
    int rc = 0;
    for (; done < size && rc == 0; done++) {
        char where[512];
        snprintf (where, sizeof (where), "%s: %s %zu", origin, kind->one, done + 1);
        ProtobufCMessage *message = cpecctl_decode_or_report (command, where, kind->descriptor,
                                                              json_array_get (data, done));
        if (message == NULL) {
            rc = CPECCTL_EXIT_USAGE;
            break;
        }
        decoded[done] = message;
        const char *id = s_string (message, "id");
        if (*id == '\0')
            rc = cpecctl_input_error (command, "%s: id is required", where);
        for (size_t other = 0; rc == 0 && other < done; other++)
            if (strcmp (s_string (decoded[other], "id"), id) == 0)
                rc = cpecctl_input_error (command, "%s: id \"%s\" appears twice", where, id);
    }
    json_decref (data);
    if (rc) {
        for (size_t index = 0; index < done; index++)
            cpec_pb_destroy (&decoded[index]);
        free (decoded);
        return rc;
    }
    *records = decoded;
    *count = size;
    return 0;
}

//  Whether one of the listings holds a record with this id.
static bool
s_listed (const cpecctl_listing_t *listings, size_t n_listings, const char *id)
{
    for (size_t listing = 0; listing < n_listings; listing++)
        for (size_t index = 0; index < listings[listing].n_rows; index++)
            if (strcmp (s_string (listings[listing].rows[index], "id"), id) == 0)
                return true;
    return false;
}

//  Lists what the service holds: once, or once per distinct scope value of
//  the records. *listings gets the array. 0, or CPECCTL_EXIT_ERROR after
//  reporting (nothing to free).
static int
s_list (cpecctl_t *self, const s_kind_t *kind, ProtobufCMessage **records, size_t count,
        cpecctl_listing_t **listings, size_t *n_listings)
{
    const char **scopes = cpec_realloc (NULL, (count + 1) * sizeof (char *));
    size_t n_scopes = 0;
    if (kind->list_scope == NULL)
        scopes[n_scopes++] = NULL;
    for (size_t index = 0; kind->list_scope && index < count; index++) {
        const char *scope = s_string (records[index], kind->list_scope);
        size_t seen = 0;
        while (seen < n_scopes && strcmp (scopes[seen], scope) != 0)
            seen++;
        if (seen == n_scopes)
            scopes[n_scopes++] = scope;
    }
    cpecctl_listing_t *gathered = cpec_realloc (NULL, n_scopes * sizeof (cpecctl_listing_t));
    size_t done = 0;
    int rc = 0;
    for (; done < n_scopes && rc == 0; done++) {
        ProtobufCMessage *request = s_request_new (kind->service, kind->list_method);
        if (scopes[done])
            *(const char **)s_member (request, kind->list_scope) = scopes[done];
        rc = cpecctl_list_all (self, kind->service, kind->list_method, request, kind->list_rows,
                               &gathered[done]);
        free (request);
        if (rc)
            break;
    }
    free (scopes);
    if (rc) {
        for (size_t index = 0; index < done; index++)
            cpecctl_listing_destroy (&gathered[index]);
        free (gathered);
        return rc;
    }
    *listings = gathered;
    *n_listings = n_scopes;
    return 0;
}

//  Creates the records the service does not hold yet, in order, and prints
//  the summary line. 0, or CPECCTL_EXIT_ERROR after reporting.
static int
s_seed (cpecctl_t *self, const s_kind_t *kind, ProtobufCMessage **records, size_t count)
{
    cpecctl_listing_t *listings = NULL;
    size_t n_listings = 0;
    int rc = s_list (self, kind, records, count, &listings, &n_listings);
    if (rc)
        return rc;
    size_t created = 0, present = 0, failed = 0;
    for (size_t index = 0; index < count; index++) {
        const char *id = s_string (records[index], "id");
        if (s_listed (listings, n_listings, id)) {
            present++;
            continue;
        }
        ProtobufCMessage *request = s_request_new (kind->service, kind->create_method);
        *(ProtobufCMessage **)s_member (request, kind->create_field) = records[index];
        char request_id[256];
        snprintf (request_id, sizeof (request_id), "%s%s", kind->request_prefix, id);
        ProtobufCMessage *output = NULL;
        cpec_status_t status;
        int code = cpecctl_call (self, kind->service, kind->create_method, request_id, request,
                                 &output, &status);
        free (request);
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
    printf ("%s: %zu created, %zu already present\n", kind->summary, created, present);
    if (failed) {
        fprintf (stderr, "cpecctl seed: %zu of %zu %s could not be created\n", failed, count,
                 kind->many);
        rc = CPECCTL_EXIT_ERROR;
    }
    for (size_t index = 0; index < n_listings; index++)
        cpecctl_listing_destroy (&listings[index]);
    free (listings);
    return rc;
}

static void
s_destroy_records (ProtobufCMessage **records, size_t count)
{
    for (size_t index = 0; index < count; index++)
        cpec_pb_destroy (&records[index]);
    free (records);
}

int
cpecctl_seed (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "seed";
    const char *file = NULL, *milestones_file = NULL;
    const cpecctl_option_t options[] = {
        {"--file", &file, NULL}, {"--milestones", &milestones_file, NULL}, {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;

    ProtobufCMessage **zones = NULL, **milestones = NULL;
    size_t n_zones = 0, n_milestones = 0;
    int rc = s_decode (&s_zones, file, &zones, &n_zones);
    if (rc == 0)
        rc = s_decode (&s_milestones, milestones_file, &milestones, &n_milestones);
    if (rc == 0 && cpecctl_client_or_report (self) == NULL)
        rc = CPECCTL_EXIT_USAGE;
    if (rc == 0)
        rc = s_seed (self, &s_zones, zones, n_zones);
    if (rc == 0)
        rc = s_seed (self, &s_milestones, milestones, n_milestones);
    s_destroy_records (zones, n_zones);
    s_destroy_records (milestones, n_milestones);
    return rc;
}

//  ---------------------------------------------------------------------------
//  seed enterprises

#define S_BATCH_DEFAULT 500  //  profiles per ImportEnterprises without --batch
#define S_BATCH_MAX     1000 //  the most ImportEnterprises takes

int
cpecctl_seed_enterprises (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "seed enterprises";
    const char *count_text = NULL, *seed_text = NULL, *batch_text = NULL, *from_text = NULL;
    const cpecctl_option_t options[] = {{"--count", &count_text, NULL},
                                        {"--seed", &seed_text, NULL},
                                        {"--batch", &batch_text, NULL},
                                        {"--from", &from_text, NULL},
                                        {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    uint32_t count = 0, seed = 0, batch = S_BATCH_DEFAULT, from = 0;
    if (count_text == NULL || seed_text == NULL)
        return cpecctl_usage_error (command, "--count N and --seed S are required");
    if (cpecctl_parse_uint32 (count_text, 1, &count))
        return cpecctl_usage_error (command, "--count must be a whole number from 1, not '%s'",
                                    count_text);
    if (cpecctl_parse_uint32 (seed_text, 0, &seed))
        return cpecctl_usage_error (
            command, "--seed must be a whole number from 0 to 4294967295, not '%s'", seed_text);
    if (batch_text && (cpecctl_parse_uint32 (batch_text, 1, &batch) || batch > S_BATCH_MAX))
        return cpecctl_usage_error (command,
                                    "--batch must be a whole number from 1 to %d, not '%s'",
                                    S_BATCH_MAX, batch_text);
    if (from_text && cpecctl_parse_uint32 (from_text, 0, &from))
        return cpecctl_usage_error (
            command, "--from must be a whole number from 0 to 4294967295, not '%s'", from_text);
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;

    int64_t started = cpec_clock_ms ();
    Cpec__V1__Enterprise **profiles = cpec_realloc (NULL, batch * sizeof (*profiles));
    uint64_t imported = 0;
    int rc = CPECCTL_EXIT_OK;
    uint64_t end = (uint64_t)from + count;
    for (uint64_t first = from; first < end && rc == CPECCTL_EXIT_OK; first += batch) {
        uint32_t size = end - first < batch ? (uint32_t)(end - first) : batch;
        for (uint32_t index = 0; index < size; index++)
            profiles[index] = synth_enterprise (seed, first + index);
        Cpec__V1__ImportEnterprisesRequest request = CPEC__V1__IMPORT_ENTERPRISES_REQUEST__INIT;
        request.enterprises = profiles;
        request.n_enterprises = size;
        char request_id[96];
        snprintf (request_id, sizeof (request_id), "seed-ent-%u-%" PRIu64 "-%u", seed, first, size);
        ProtobufCMessage *output = NULL;
        cpec_status_t status;
        int code = cpecctl_call (self, &cpec__v1__matchmaking__descriptor, "ImportEnterprises",
                                 request_id, &request.base, &output, &status);
        if (code == CPEC_OK)
            imported += size;
        else if (code == CPEC_ALREADY_EXISTS) {
            cpecctl_report_status (&status);
            fprintf (stderr,
                     "cpecctl %s: data set %u was seeded before: profiles %" PRIu64 " to %" PRIu64
                     " (or some of them) already exist; %" PRIu64
                     " imported by this run, nothing more sent\n",
                     command, seed, first, first + size - 1, imported);
            rc = CPECCTL_EXIT_ERROR;
        } else {
            rc = cpecctl_report_status (&status);
            fprintf (stderr,
                     "cpecctl %s: %" PRIu64 " of %u profiles imported; run it again to resume\n",
                     command, imported, count);
        }
        cpec_pb_destroy (&output);
        for (uint32_t index = 0; index < size; index++)
            synth_enterprise_destroy (&profiles[index]);
    }
    free (profiles);
    if (rc == CPECCTL_EXIT_OK) {
        double seconds = (double)(cpec_clock_ms () - started) / 1000.0;
        printf ("seeded %" PRIu64 " enterprises (data set %u) in %.2f s: %.0f profiles/s\n",
                imported, seed, seconds, (double)imported / (seconds > 0.001 ? seconds : 0.001));
    }
    return rc;
}
