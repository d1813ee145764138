/*  cpecctl events tail - follows the live event bus, one event per line,
    until SIGINT or SIGTERM (czmq's handler sets zsys_interrupted), then
    exits 0.

    Text: "<occurred_at> <type> <province> <zone_id> <detail>", with "-" for an
    empty column. --json: the Event as one compact JSON line.
*/
#include "cpecctl.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_bus.h"
#include "cpec_json.h"
#include "cpec_pb.h"

//  How long one wait on the bus lasts before zsys_interrupted is checked again.
#define S_POLL_MS 200

//  How many ids of a ProfilesImported the line shows.
#define S_IDS_SHOWN 5

//  The proto name of a Match.State value ("MOU_SIGNED").
static const char *
s_state_name (int state)
{
    return cpecctl_enum_name (&cpec__v1__match__state__descriptor, state, "STATE_UNKNOWN");
}

//  A short description of the event's payload into buf.
static const char *
s_detail (const Cpec__V1__Event *event, char *buf, size_t size)
{
    const char *actor = cpecctl_text (event->actor);
    switch (event->payload_case) {
        case CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED: {
            const Cpec__V1__Sez *sez = event->sez_created->sez;
            snprintf (buf, size, "version %u by %s: %s", sez ? sez->version : 0, actor,
                      sez ? cpecctl_text (sez->name) : "-");
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_SEZ_UPDATED: {
            const Cpec__V1__SezUpdated *updated = event->sez_updated;
            int length = snprintf (buf, size, "version %u by %s",
                                   updated->sez ? updated->sez->version : 0, actor);
            for (size_t index = 0;
                 index < updated->n_changed_fields && length >= 0 && (size_t)length < size; index++)
                length += snprintf (buf + length, size - (size_t)length, "%s%s",
                                    index ? ", " : " (", updated->changed_fields[index]);
            if (updated->n_changed_fields && length >= 0 && (size_t)length < size)
                snprintf (buf + length, size - (size_t)length, ")");
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED: {
            const Cpec__V1__SezStatusChanged *changed = event->sez_status_changed;
            snprintf (buf, size, "%s -> %s%s, version %u by %s",
                      cpecctl_status_name (changed->from_status),
                      cpecctl_status_name (changed->to_status),
                      changed->reverted ? " (reverted)" : "", changed->version, actor);
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_ENTERPRISE_ADMITTED: {
            const Cpec__V1__EnterpriseAdmitted *admitted = event->enterprise_admitted;
            const Cpec__V1__ZoneEnterprise *enterprise = admitted->enterprise;
            char acres[32], allotted[32], leasable[32];
            snprintf (
                buf, size, "%s (%s acres) by %s, zone allotted %s of %s acres",
                enterprise ? cpecctl_text (enterprise->id) : "-",
                cpecctl_format_number (enterprise ? enterprise->acres : 0, acres, sizeof (acres)),
                actor,
                cpecctl_format_number (admitted->zone_allotted_acres, allotted, sizeof (allotted)),
                cpecctl_format_double_value (admitted->zone_leasable_acres, leasable,
                                             sizeof (leasable)));
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_PROFILE_CHANGED: {
            const Cpec__V1__ProfileChanged *changed = event->profile_changed;
            snprintf (buf, size, "%s (%s), version %u by %s", cpecctl_text (changed->enterprise_id),
                      cpecctl_text (changed->country), changed->version, actor);
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_PROFILES_IMPORTED: {
            //  The first few ids: an import may hold thousands
            const Cpec__V1__ProfilesImported *imported = event->profiles_imported;
            size_t count = imported->n_enterprise_ids;
            int length =
                snprintf (buf, size, "%zu profile%s by %s", count, count == 1 ? "" : "s", actor);
            size_t shown = count < S_IDS_SHOWN ? count : S_IDS_SHOWN;
            for (size_t index = 0; index < shown && length >= 0 && (size_t)length < size; index++)
                length +=
                    snprintf (buf + length, size - (size_t)length, "%s%s", index ? ", " : ": ",
                              cpecctl_text (imported->enterprise_ids[index]));
            if (count > shown && length >= 0 && (size_t)length < size)
                snprintf (buf + length, size - (size_t)length, " and %zu more", count - shown);
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_MATCH_MOVED: {
            //  A proposal comes from no state: its state alone
            const Cpec__V1__MatchMoved *moved = event->match_moved;
            const char *side = moved->enterprise_id;
            snprintf (buf, size, "%s (%s, %s): %s%s%s%s%s by %s", cpecctl_text (moved->match_id),
                      cpecctl_text (moved->enterprise_a), cpecctl_text (moved->enterprise_b),
                      moved->from ? s_state_name (moved->from) : "", moved->from ? " -> " : "",
                      s_state_name (moved->to), side && *side ? ", side " : "",
                      side && *side ? side : "", actor);
            break;
        }
        case CPEC__V1__EVENT__PAYLOAD_MATCH_EXPIRING: {
            const Cpec__V1__MatchExpiring *expiring = event->match_expiring;
            char at[40];
            snprintf (buf, size, "%s (%s, %s): expires %s", cpecctl_text (expiring->match_id),
                      cpecctl_text (expiring->enterprise_a), cpecctl_text (expiring->enterprise_b),
                      cpecctl_format_timestamp (expiring->expires_at, at, sizeof (at)));
            break;
        }
        default: snprintf (buf, size, "by %s", actor); break;
    }
    return buf;
}

//  Prints one event; -1 when stdout is gone.
static int
s_print_event (const Cpec__V1__Event *event, bool json)
{
    if (json) {
        char *text = cpec_json_encode (&event->base, CPEC_JSON_DEFAULTS);
        if (text)
            printf ("%s\n", text);
        free (text);
    } else {
        char at[40], detail[1024];
        printf ("%s %s %s %s %s\n", cpecctl_format_timestamp (event->occurred_at, at, sizeof (at)),
                cpecctl_text (event->type), cpecctl_text (event->province),
                cpecctl_text (event->zone_id), s_detail (event, detail, sizeof (detail)));
    }
    return fflush (stdout) == 0 && !ferror (stdout) ? 0 : -1;
}

int
cpecctl_events_tail (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "events tail";
    const char *type = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--type", &type, NULL}, {"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    if (type && strchr (type, '.'))
        return cpecctl_usage_error (command, "--type is an event name such as SezUpdated, not '%s'",
                                    type);

    //  The topic is "Type.province.zone_id": one type is the prefix "Type.".
    char prefix[256] = "";
    if (type && *type)
        snprintf (prefix, sizeof (prefix), "%s.", type);
    zsys_init (); //  installs the SIGINT/SIGTERM handler before the first wait
    const char *endpoint = cpec_config_get (self->config, "CPEC_BUS_SUB");
    cpec_bus_t *bus = cpec_bus_new_sub (endpoint, prefix);
    if (bus == NULL) {
        fprintf (stderr, "cpecctl: cannot subscribe to CPEC_BUS_SUB '%s'\n", endpoint);
        return CPECCTL_EXIT_USAGE;
    }
    int rc = CPECCTL_EXIT_OK;
    while (!zsys_interrupted) {
        ProtobufCMessage *event = (ProtobufCMessage *)cpec_bus_recv (bus, S_POLL_MS);
        if (event == NULL)
            continue;
        int printed = s_print_event ((Cpec__V1__Event *)event, json);
        cpec_pb_destroy (&event);
        if (printed) {
            rc = CPECCTL_EXIT_ERROR;
            break;
        }
    }
    cpec_bus_destroy (&bus);
    return rc;
}
