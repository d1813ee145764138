/*  cpecctl ent, cpecctl match - enterprise profiles and matchmaking through
    the Matchmaking service (broker service "matchmaking",
    proto/cpec/v1/matchmaking.proto): ent add, get, list, rm; match top,
    zones, propose, get, list, move, funnel.

    Every command makes one call (or one listing through cpecctl_list_all)
    and prints the answer: --json as proto3 JSON, else with the text
    renderers below, which write into strings so that
    tests/unit/test_cpecctl_match.c checks their exact lines. Tables align
    on terminal columns (a Chinese character takes two); a table may carry
    lines under a row (the reasons of a match or of a zone).
*/
#include "cpecctl.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_codes.h"
#include "cpec_pb.h"

#define S_SERVICE (&cpec__v1__matchmaking__descriptor)

#define S_TOP_K_MAX     100      //  the most results TopMatches answers
#define S_REASON_INDENT "    - " //  before each reason, under its row

//  ---------------------------------------------------------------------------
//  Texts and aligned columns

//  The reasons as lines under a row, or NULL when there are none.
static char *
s_reasons (char **reasons, size_t count)
{
    if (count == 0)
        return NULL;
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    for (size_t index = 0; index < count; index++)
        fprintf (out, S_REASON_INDENT "%s\n", reasons[index]);
    return cpecctl_text_end (&text);
}

//  Writes "name: a, b" (or "name: -" when there are none) and a newline.
static void
s_write_list (FILE *out, const char *name, char **values, size_t count)
{
    fprintf (out, "%s: ", name);
    for (size_t index = 0; index < count; index++)
        fprintf (out, "%s%s", index ? ", " : "", values[index]);
    fputs (count ? "\n" : "-\n", out);
}

//  Writes "name: a, b" of enum values by their proto names, or "name: -".
static void
s_write_enums (FILE *out, const char *name, const ProtobufCEnumDescriptor *descriptor,
               const int *values, size_t count)
{
    fprintf (out, "%s: ", name);
    for (size_t index = 0; index < count; index++)
        fprintf (out, "%s%s", index ? ", " : "",
                 cpecctl_enum_name (descriptor, values[index], "UNKNOWN"));
    fputs (count ? "\n" : "-\n", out);
}

static void
s_write_audit (FILE *out, const char *name, const Cpec__V1__Audit *audit)
{
    char at[40];
    if (audit == NULL)
        fprintf (out, "%s: -\n", name);
    else
        fprintf (out, "%s: %s by %s\n", name, cpecctl_format_timestamp (audit->at, at, sizeof (at)),
                 cpecctl_text (audit->by));
}

static const char *
s_state_name (int state)
{
    return cpecctl_enum_name (&cpec__v1__match__state__descriptor, state, "STATE_UNKNOWN");
}

//  A score with one decimal ("87.5").
static const char *
s_score (double score, char *buf, size_t size)
{
    snprintf (buf, size, "%.1f", score);
    return buf;
}

//  ---------------------------------------------------------------------------
//  The renderers: profiles

char *
cpecctl_ent_text (const Cpec__V1__Enterprise *enterprise)
{
    assert (enterprise);
    const Cpec__V1__Enterprise *self = enterprise;
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    char number[64];
    fprintf (out, "id: %s\n", cpecctl_text (self->id));
    fprintf (out, "name: %s\n", cpecctl_text (self->name));
    fprintf (out, "name_zh: %s\n", cpecctl_text (self->name_zh));
    fprintf (out, "name_ur: %s\n", cpecctl_text (self->name_ur));
    fprintf (out, "country: %s\n", cpecctl_text (self->country));
    fprintf (out, "province: %s\n", cpecctl_text (self->province));
    fprintf (out, "city: %s\n", cpecctl_text (self->city));
    if (self->n_sectors == 0)
        fprintf (out, "sectors: -\n");
    for (size_t index = 0; index < self->n_sectors; index++) {
        const char *title = cpec_codes_isic_title (self->sectors[index]);
        fprintf (out, "sectors[%zu]: %s%s%s\n", index, self->sectors[index],
                 title && *title ? " " : "", title ? title : "");
    }
    s_write_list (out, "sectors_gbt", self->sectors_gbt, self->n_sectors_gbt);
    s_write_list (out, "isic_divisions", self->isic_divisions, self->n_isic_divisions);
    s_write_list (out, "products_made", self->products_made, self->n_products_made);
    s_write_list (out, "products_bought", self->products_bought, self->n_products_bought);
    fprintf (out, "employees: %u\n", self->employees);
    fprintf (out, "revenue_usd: %s\n",
             cpecctl_format_number (self->revenue_usd, number, sizeof (number)));
    s_write_enums (out, "offers", &cpec__v1__offer__kind__descriptor, (const int *)self->offers,
                   self->n_offers);
    s_write_enums (out, "needs", &cpec__v1__need__kind__descriptor, (const int *)self->needs,
                   self->n_needs);
    fprintf (out, "investment_min_usd: %s\n",
             cpecctl_format_number (self->investment_min_usd, number, sizeof (number)));
    fprintf (out, "investment_max_usd: %s\n",
             cpecctl_format_number (self->investment_max_usd, number, sizeof (number)));
    s_write_list (out, "preferred_provinces", self->preferred_provinces,
                  self->n_preferred_provinces);
    s_write_list (out, "preferred_zones", self->preferred_zones, self->n_preferred_zones);
    fprintf (out, "site_acres: %s\n",
             cpecctl_format_number (self->site_acres, number, sizeof (number)));
    fprintf (out, "power_mw: %s\n",
             cpecctl_format_number (self->power_mw, number, sizeof (number)));
    fprintf (out, "gas_mmcfd: %s\n",
             cpecctl_format_number (self->gas_mmcfd, number, sizeof (number)));
    fprintf (out, "water_mgd: %s\n",
             cpecctl_format_number (self->water_mgd, number, sizeof (number)));
    s_write_list (out, "certifications", self->certifications, self->n_certifications);
    s_write_list (out, "export_markets", self->export_markets, self->n_export_markets);
    s_write_list (out, "languages", self->languages, self->n_languages);
    fprintf (out, "version: %u\n", self->version);
    s_write_audit (out, "created", self->created);
    s_write_audit (out, "updated", self->updated);
    return cpecctl_text_end (&text);
}

char *
cpecctl_ent_table (ProtobufCMessage **rows, size_t count)
{
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    cpecctl_grid_t grid = {6, 1u << 3, NULL, 0, NULL};
    const char *header[] = {"ID", "COUNTRY", "PROVINCE", "EMPLOYEES", "SECTORS", "NAME"};
    for (size_t column = 0; column < grid.columns; column++)
        cpecctl_grid_cell (&grid, "%s", header[column]);
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Enterprise *row = (const Cpec__V1__Enterprise *)rows[index];
        char sectors[256] = "";
        size_t length = 0;
        for (size_t each = 0; each < row->n_sectors && length < sizeof (sectors); each++) {
            int written = snprintf (sectors + length, sizeof (sectors) - length, "%s%s",
                                    each ? "," : "", row->sectors[each]);
            length += written > 0 ? (size_t)written : 0;
        }
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->id));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->country));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->province));
        cpecctl_grid_cell (&grid, "%u", row->employees);
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (sectors));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->name));
    }
    cpecctl_grid_write (&grid, out);
    return cpecctl_text_end (&text);
}

//  ---------------------------------------------------------------------------
//  The renderers: top matches and zones

char *
cpecctl_match_top_table (const Cpec__V1__TopMatchesResponse *answer)
{
    assert (answer);
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    if (answer->n_results == 0)
        fprintf (out, "no matches\n");
    else {
        cpecctl_grid_t grid = {6, 0x3u, NULL, 0, NULL};
        const char *header[] = {"#", "SCORE", "ID", "NAME", "COUNTRY", "PROVINCE"};
        for (size_t column = 0; column < grid.columns; column++)
            cpecctl_grid_cell (&grid, "%s", header[column]);
        for (size_t index = 0; index < answer->n_results; index++) {
            const Cpec__V1__MatchResult *result = answer->results[index];
            char score[32];
            cpecctl_grid_cell (&grid, "%zu", index + 1);
            cpecctl_grid_cell (&grid, "%s", s_score (result->score, score, sizeof (score)));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (result->enterprise_id));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (result->name));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (result->country));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (result->province));
            cpecctl_grid_under (&grid, s_reasons (result->reasons, result->n_reasons));
        }
        cpecctl_grid_write (&grid, out);
    }
    fprintf (out, "scored %u profile%s\n", answer->scored, answer->scored == 1 ? "" : "s");
    return cpecctl_text_end (&text);
}

char *
cpecctl_match_zones_table (const Cpec__V1__RecommendZonesResponse *answer)
{
    assert (answer);
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    if (answer->n_zones == 0)
        fprintf (out, "no zone can hold the firm\n");
    else {
        cpecctl_grid_t grid = {6, 0x3u, NULL, 0, NULL};
        const char *header[] = {"#", "SCORE", "ZONE", "PROVINCE", "OPERATION", "NAME"};
        for (size_t column = 0; column < grid.columns; column++)
            cpecctl_grid_cell (&grid, "%s", header[column]);
        for (size_t index = 0; index < answer->n_zones; index++) {
            const Cpec__V1__ZoneRecommendation *zone = answer->zones[index];
            char score[32], operation[32];
            cpecctl_grid_cell (&grid, "%zu", index + 1);
            cpecctl_grid_cell (&grid, "%s", s_score (zone->score, score, sizeof (score)));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (zone->zone_id));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (zone->province));
            cpecctl_grid_cell (
                &grid, "%s",
                cpecctl_format_date (zone->commercial_operation, operation, sizeof (operation)));
            cpecctl_grid_cell (&grid, "%s", cpecctl_text (zone->name));
            cpecctl_grid_under (&grid, s_reasons (zone->reasons, zone->n_reasons));
        }
        cpecctl_grid_write (&grid, out);
    }
    if (answer->n_excluded) {
        fprintf (out, "excluded:\n");
        for (size_t index = 0; index < answer->n_excluded; index++)
            fprintf (out, "  %s\n", answer->excluded[index]);
    }
    return cpecctl_text_end (&text);
}

//  ---------------------------------------------------------------------------
//  The renderers: matches and the funnel

char *
cpecctl_match_text (const Cpec__V1__Match *match)
{
    assert (match);
    const Cpec__V1__Match *self = match;
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    char at[40], score[32];
    fprintf (out, "id: %s\n", cpecctl_text (self->id));
    fprintf (out, "enterprise_a: %s\n", cpecctl_text (self->enterprise_a));
    fprintf (out, "enterprise_b: %s\n", cpecctl_text (self->enterprise_b));
    fprintf (out, "state: %s\n", s_state_name (self->state));
    fprintf (out, "score: %s\n", s_score (self->score, score, sizeof (score)));
    if (self->n_reasons == 0)
        fprintf (out, "reasons: -\n");
    for (size_t index = 0; index < self->n_reasons; index++)
        fprintf (out, "reasons[%zu]: %s\n", index, self->reasons[index]);
    fprintf (out, "interest_a: %s\n", self->interest_a ? "true" : "false");
    fprintf (out, "interest_b: %s\n", self->interest_b ? "true" : "false");
    if (self->meeting == NULL)
        fprintf (out, "meeting: -\n");
    else
        fprintf (out, "meeting: %s, %s%s\n",
                 cpecctl_format_timestamp (self->meeting->at, at, sizeof (at)),
                 cpecctl_text (self->meeting->place), self->meeting->online ? " (online)" : "");
    fprintf (out, "zone_id: %s\n", cpecctl_text (self->zone_id));
    fprintf (out, "province: %s\n", cpecctl_text (self->province));
    fprintf (out, "sector: %s\n", cpecctl_text (self->sector));
    fprintf (out, "expires_at: %s\n", cpecctl_format_timestamp (self->expires_at, at, sizeof (at)));
    fprintf (out, "reminded: %s\n", self->reminded ? "true" : "false");
    if (self->n_history == 0)
        fprintf (out, "history: -\n");
    for (size_t index = 0; index < self->n_history; index++) {
        const Cpec__V1__Match__Step *step = self->history[index];
        fprintf (out, "history[%zu]: %s by %s: %s -> %s", index,
                 cpecctl_format_timestamp (step->at, at, sizeof (at)), cpecctl_text (step->by),
                 s_state_name (step->from), s_state_name (step->to));
        if (step->enterprise_id && *step->enterprise_id)
            fprintf (out, " (%s)", step->enterprise_id);
        if (step->note && *step->note)
            fprintf (out, ": %s", step->note);
        fputc ('\n', out);
    }
    fprintf (out, "version: %u\n", self->version);
    s_write_audit (out, "created", self->created);
    s_write_audit (out, "updated", self->updated);
    return cpecctl_text_end (&text);
}

char *
cpecctl_match_table (ProtobufCMessage **rows, size_t count)
{
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    cpecctl_grid_t grid = {8, 1u << 2, NULL, 0, NULL};
    const char *header[] = {"ID",           "STATE", "SCORE",    "ENTERPRISE-A",
                            "ENTERPRISE-B", "ZONE",  "PROVINCE", "SECTOR"};
    for (size_t column = 0; column < grid.columns; column++)
        cpecctl_grid_cell (&grid, "%s", header[column]);
    for (size_t index = 0; index < count; index++) {
        const Cpec__V1__Match *row = (const Cpec__V1__Match *)rows[index];
        char score[32];
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->id));
        cpecctl_grid_cell (&grid, "%s", s_state_name (row->state));
        cpecctl_grid_cell (&grid, "%s", s_score (row->score, score, sizeof (score)));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->enterprise_a));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->enterprise_b));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->zone_id));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->province));
        cpecctl_grid_cell (&grid, "%s", cpecctl_text (row->sector));
    }
    cpecctl_grid_write (&grid, out);
    return cpecctl_text_end (&text);
}

//  The states of the funnel's columns: every Match.State but the zero
//  value, in the enum's (funnel) order.
static size_t
s_funnel_states (const ProtobufCEnumValue **states, size_t size)
{
    const ProtobufCEnumDescriptor *descriptor = &cpec__v1__match__state__descriptor;
    size_t count = 0;
    for (unsigned index = 0; index < descriptor->n_values && count < size; index++)
        if (descriptor->values[index].value != 0)
            states[count++] = &descriptor->values[index];
    return count;
}

//  A header line of the funnel: the key's name, the states, TOTAL.
static void
s_funnel_header (cpecctl_grid_t *grid, const char *key, const ProtobufCEnumValue **states,
                 size_t count)
{
    cpecctl_grid_cell (grid, "%s", key);
    for (size_t index = 0; index < count; index++)
        cpecctl_grid_cell (grid, "%s", states[index]->name);
    cpecctl_grid_cell (grid, "TOTAL");
}

//  A row of the funnel: its key, its count in each state (0 when the row
//  does not list it), its total.
static void
s_funnel_row (cpecctl_grid_t *grid, const char *key, const Cpec__V1__FunnelRow *row,
              const ProtobufCEnumValue **states, size_t count)
{
    cpecctl_grid_cell (grid, "%s", key);
    for (size_t index = 0; index < count; index++) {
        uint32_t matches = 0;
        for (size_t each = 0; row && each < row->n_states; each++)
            if ((int)row->states[each]->state == states[index]->value)
                matches += row->states[each]->matches;
        cpecctl_grid_cell (grid, "%u", matches);
    }
    cpecctl_grid_cell (grid, "%u", row ? row->total : 0);
}

char *
cpecctl_match_funnel_table (const Cpec__V1__FunnelReportResponse *report)
{
    assert (report);
    const ProtobufCEnumValue *states[CPECCTL_GRID_COLUMNS_MAX - 2];
    size_t count = s_funnel_states (states, CPECCTL_GRID_COLUMNS_MAX - 2);
    cpecctl_text_t text;
    FILE *out = cpecctl_text_begin (&text);
    //  One grid, so that the three parts and the total line up; every
    //  column but the key is a number.
    cpecctl_grid_t grid = {count + 2, ~1u, NULL, 0, NULL};
    const struct
    {
        const char *key;
        Cpec__V1__FunnelRow **rows;
        size_t n_rows;
    } parts[] = {{"ZONE", report->zones, report->n_zones},
                 {"PROVINCE", report->provinces, report->n_provinces},
                 {"SECTOR", report->sectors, report->n_sectors}};
    for (size_t part = 0; part < sizeof (parts) / sizeof (parts[0]); part++) {
        s_funnel_header (&grid, parts[part].key, states, count);
        for (size_t index = 0; index < parts[part].n_rows; index++) {
            const Cpec__V1__FunnelRow *row = parts[part].rows[index];
            s_funnel_row (&grid, cpecctl_text (row->key), row, states, count);
        }
        cpecctl_grid_under (&grid, cpec_strdup ("\n")); //  a blank line after each part
    }
    s_funnel_row (&grid, "total", report->all, states, count);
    cpecctl_grid_write (&grid, out);
    return cpecctl_text_end (&text);
}

//  ---------------------------------------------------------------------------
//  Calls

//  Every page of a List method, as one JSON array or the table `table`
//  renders.
static int
s_list (cpecctl_t *self, const char *method, ProtobufCMessage *request, const char *rows_field,
        bool json, char *(*table) (ProtobufCMessage **rows, size_t count))
{
    if (cpecctl_client_or_report (self) == NULL)
        return CPECCTL_EXIT_USAGE;
    cpecctl_listing_t listing;
    if (cpecctl_list_all (self, S_SERVICE, method, request, rows_field, &listing))
        return CPECCTL_EXIT_ERROR;
    if (json)
        cpecctl_print_json_array (listing.rows, listing.n_rows);
    else
        cpecctl_put (table (listing.rows, listing.n_rows));
    cpecctl_listing_destroy (&listing);
    return CPECCTL_EXIT_OK;
}

//  cpecctl_parse for a command of two positional arguments, neither empty.
static int
s_parse_two (const char *command, int argc, char *argv[], const cpecctl_option_t *options,
             const char **values, const char *names)
{
    if (cpecctl_parse (command, argc, argv, options, values, 2, names))
        return CPECCTL_EXIT_USAGE;
    if (*values[0] == '\0' || *values[1] == '\0')
        return cpecctl_usage_error (command, "%s must not be empty", names);
    return 0;
}

//  ---------------------------------------------------------------------------
//  ent

static void
s_print_enterprise (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_ent_text ((const Cpec__V1__Enterprise *)answer));
}

static void
s_print_enterprise_id (const ProtobufCMessage *answer)
{
    printf ("%s\n", ((const Cpec__V1__Enterprise *)answer)->id);
}

int
cpecctl_ent_add (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ent add";
    bool json = false;
    const char *file = NULL;
    ProtobufCMessage *message = NULL;
    if (cpecctl_parse_file_command (command, argc, argv, &cpec__v1__enterprise__descriptor, &json,
                                    &file, &message))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__CreateEnterpriseRequest request = CPEC__V1__CREATE_ENTERPRISE_REQUEST__INIT;
    request.enterprise = (Cpec__V1__Enterprise *)message;
    int rc = cpecctl_call_print (self, S_SERVICE, "CreateEnterprise", &request.base, json,
                                 s_print_enterprise_id);
    cpec_pb_destroy (&message);
    return rc;
}

int
cpecctl_ent_get (cpecctl_t *self, int argc, char *argv[])
{
    const char *id = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one ("ent get", argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__GetEnterpriseRequest request = CPEC__V1__GET_ENTERPRISE_REQUEST__INIT;
    request.id = (char *)id;
    return cpecctl_call_print (self, S_SERVICE, "GetEnterprise", &request.base, json,
                               s_print_enterprise);
}

int
cpecctl_ent_list (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "ent list";
    const char *country = NULL, *province = NULL, *sector = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--country", &country, NULL},
                                        {"--province", &province, NULL},
                                        {"--sector", &sector, NULL},
                                        {"--json", NULL, &json},
                                        {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    if (country && strcmp (country, "CN") != 0 && strcmp (country, "PK") != 0)
        return cpecctl_usage_error (command, "--country takes CN or PK, not '%s'", country);
    Cpec__V1__ListEnterprisesRequest request = CPEC__V1__LIST_ENTERPRISES_REQUEST__INIT;
    if (country)
        request.country = (char *)country;
    if (province)
        request.province = (char *)province;
    if (sector)
        request.sector = (char *)sector;
    return s_list (self, "ListEnterprises", &request.base, "enterprises", json, cpecctl_ent_table);
}

int
cpecctl_ent_rm (cpecctl_t *self, int argc, char *argv[])
{
    const char *id = NULL;
    const cpecctl_option_t options[] = {{NULL}};
    if (cpecctl_parse_one ("ent rm", argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__DeleteEnterpriseRequest request = CPEC__V1__DELETE_ENTERPRISE_REQUEST__INIT;
    request.id = (char *)id;
    request.expected_version = 0; //  whatever its version
    ProtobufCMessage *answer = NULL;
    int rc = cpecctl_call_or_report (self, S_SERVICE, "DeleteEnterprise", &request.base, &answer);
    if (rc)
        return rc;
    printf ("deleted %s\n",
            cpecctl_text (((const Cpec__V1__DeleteEnterpriseResponse *)answer)->id));
    cpec_pb_destroy (&answer);
    return CPECCTL_EXIT_OK;
}

//  ---------------------------------------------------------------------------
//  match top, match zones

static void
s_print_top (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_match_top_table ((const Cpec__V1__TopMatchesResponse *)answer));
}

int
cpecctl_match_top (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "match top";
    const char *id = NULL, *k = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--k", &k, NULL}, {"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__TopMatchesRequest request = CPEC__V1__TOP_MATCHES_REQUEST__INIT;
    request.enterprise_id = (char *)id;
    if (k && (cpecctl_parse_uint32 (k, 1, &request.k) || request.k > S_TOP_K_MAX))
        return cpecctl_usage_error (command, "--k must be a whole number from 1 to %d, not '%s'",
                                    S_TOP_K_MAX, k);
    return cpecctl_call_print (self, S_SERVICE, "TopMatches", &request.base, json, s_print_top);
}

static void
s_print_zones (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_match_zones_table ((const Cpec__V1__RecommendZonesResponse *)answer));
}

int
cpecctl_match_zones (cpecctl_t *self, int argc, char *argv[])
{
    const char *id = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one ("match zones", argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__RecommendZonesRequest request = CPEC__V1__RECOMMEND_ZONES_REQUEST__INIT;
    request.enterprise_id = (char *)id;
    request.k = 0; //  every zone that can hold the firm
    return cpecctl_call_print (self, S_SERVICE, "RecommendZones", &request.base, json,
                               s_print_zones);
}

//  ---------------------------------------------------------------------------
//  match propose, get, list, move

static void
s_print_match (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_match_text ((const Cpec__V1__Match *)answer));
}

static void
s_print_match_id (const ProtobufCMessage *answer)
{
    printf ("%s\n", ((const Cpec__V1__Match *)answer)->id);
}

int
cpecctl_match_propose (cpecctl_t *self, int argc, char *argv[])
{
    const char *ids[2] = {NULL, NULL};
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (s_parse_two ("match propose", argc, argv, options, ids, "ID OTHER"))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ProposeMatchRequest request = CPEC__V1__PROPOSE_MATCH_REQUEST__INIT;
    request.enterprise_a = (char *)ids[0];
    request.enterprise_b = (char *)ids[1];
    return cpecctl_call_print (self, S_SERVICE, "ProposeMatch", &request.base, json,
                               s_print_match_id);
}

int
cpecctl_match_get (cpecctl_t *self, int argc, char *argv[])
{
    const char *id = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse_one ("match get", argc, argv, options, &id, "MATCH_ID"))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__GetMatchRequest request = CPEC__V1__GET_MATCH_REQUEST__INIT;
    request.id = (char *)id;
    return cpecctl_call_print (self, S_SERVICE, "GetMatch", &request.base, json, s_print_match);
}

int
cpecctl_match_list (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "match list";
    const char *enterprise = NULL, *state = NULL, *zone = NULL;
    bool json = false;
    const cpecctl_option_t options[] = {{"--enterprise", &enterprise, NULL},
                                        {"--state", &state, NULL},
                                        {"--zone", &zone, NULL},
                                        {"--json", NULL, &json},
                                        {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__ListMatchesRequest request = CPEC__V1__LIST_MATCHES_REQUEST__INIT;
    if (enterprise)
        request.enterprise_id = (char *)enterprise;
    if (zone)
        request.zone_id = (char *)zone;
    if (state) {
        int value = 0;
        if (cpecctl_parse_enum (command, "state", &cpec__v1__match__state__descriptor, state,
                                &value))
            return CPECCTL_EXIT_USAGE;
        request.state = (Cpec__V1__Match__State)value;
    }
    return s_list (self, "ListMatches", &request.base, "matches", json, cpecctl_match_table);
}

static void
s_print_moved (const ProtobufCMessage *answer)
{
    const Cpec__V1__Match *match = (const Cpec__V1__Match *)answer;
    printf ("moved %s to %s, version %u\n", cpecctl_text (match->id), s_state_name (match->state),
            match->version);
}

int
cpecctl_match_move (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "match move";
    const char *args[2] = {NULL, NULL};
    const char *as = NULL, *zone = NULL, *at = NULL, *place = NULL, *note = NULL, *version = NULL;
    bool online = false, json = false;
    const cpecctl_option_t options[] = {
        {"--as", &as, NULL},           {"--zone", &zone, NULL},     {"--at", &at, NULL},
        {"--place", &place, NULL},     {"--online", NULL, &online}, {"--note", &note, NULL},
        {"--version", &version, NULL}, {"--json", NULL, &json},     {NULL}};
    if (s_parse_two (command, argc, argv, options, args, "MATCH_ID STATE"))
        return CPECCTL_EXIT_USAGE;

    Cpec__V1__MoveMatchRequest request = CPEC__V1__MOVE_MATCH_REQUEST__INIT;
    Cpec__V1__Match__Meeting meeting = CPEC__V1__MATCH__MEETING__INIT;
    Google__Protobuf__Timestamp meeting_at = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    request.id = (char *)args[0];
    int state = 0;
    if (cpecctl_parse_enum (command, "state", &cpec__v1__match__state__descriptor, args[1], &state))
        return CPECCTL_EXIT_USAGE;
    request.state = (Cpec__V1__Match__State)state;
    if (version && cpecctl_parse_uint32 (version, 1, &request.expected_version))
        return cpecctl_usage_error (command, "--version must be a whole number from 1, not '%s'",
                                    version);
    if (at) {
        int64_t unix_ms = 0;
        if (cpecctl_parse_date (at, &unix_ms))
            return cpecctl_usage_error (command,
                                        "--at takes an RFC 3339 time (2026-12-01T10:00:00+05:00) "
                                        "or a date (2026-12-01), not '%s'",
                                        at);
        //  Floor division: a time before 1970 keeps its nanoseconds positive.
        meeting_at.seconds = unix_ms / 1000 - (unix_ms % 1000 < 0);
        meeting_at.nanos = (int32_t)((unix_ms - meeting_at.seconds * 1000) * 1000000);
        meeting.at = &meeting_at;
    }
    if (place)
        meeting.place = (char *)place;
    meeting.online = online;
    if (at || place || online)
        request.meeting = &meeting;
    if (as)
        request.enterprise_id = (char *)as;
    if (zone)
        request.zone_id = (char *)zone;
    if (note)
        request.note = (char *)note;
    return cpecctl_call_print (self, S_SERVICE, "MoveMatch", &request.base, json, s_print_moved);
}

//  ---------------------------------------------------------------------------
//  match funnel

static void
s_print_funnel (const ProtobufCMessage *answer)
{
    cpecctl_put (cpecctl_match_funnel_table ((const Cpec__V1__FunnelReportResponse *)answer));
}

int
cpecctl_match_funnel (cpecctl_t *self, int argc, char *argv[])
{
    bool json = false;
    const cpecctl_option_t options[] = {{"--json", NULL, &json}, {NULL}};
    if (cpecctl_parse ("match funnel", argc, argv, options, NULL, 0, NULL))
        return CPECCTL_EXIT_USAGE;
    Cpec__V1__FunnelReportRequest request = CPEC__V1__FUNNEL_REPORT_REQUEST__INIT;
    return cpecctl_call_print (self, S_SERVICE, "FunnelReport", &request.base, json,
                               s_print_funnel);
}
