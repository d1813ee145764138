/*  cpecctl - the command-line client of the CPEC Industrial Cooperation
    Platform, for operators and scripts.

    Thin: reads the configuration, picks the command from the table and runs
    it. The commands live in sez.c, ms.c, seed.c, events.c, notify.c and
    match.c.
*/
#include "cpecctl.h"

#include <stdio.h>
#include <string.h>

//  cpecctl's own variables (a client needs no admin address; Redis only to
//  issue and revoke the HTTP API's tokens).
static const cpec_config_var_t s_vars[] = {
    {"CPEC_BROKER", CPEC_CONFIG_STRING, "tcp://127.0.0.1:17100", "broker ROUTER endpoint"},
    {"CPEC_BUS_SUB", CPEC_CONFIG_STRING, "tcp://127.0.0.1:17102",
     "event bus output (XPUB), for events tail"},
    {"CPEC_REDIS_URL", CPEC_CONFIG_STRING, "redis://127.0.0.1:17103/0",
     "Redis, for token create and token revoke only"},
    {"CPEC_TIMEOUT_MS", CPEC_CONFIG_INT, "10000",
     "deadline of one call, in milliseconds (retries included)"},
    {"CPEC_PRINCIPAL", CPEC_CONFIG_STRING, "cpecctl", "who is calling (recorded in audits)"},
    {"CPEC_ROLE", CPEC_CONFIG_STRING, "ADMIN", "ADMIN, PROVINCE, ENTERPRISE or VIEWER"},
    {"CPEC_PROVINCE", CPEC_CONFIG_STRING, "", "ISO 3166-2 province, for CPEC_ROLE=PROVINCE"},
    {NULL}};

typedef struct
{
    const char *group;           //  first word: "sez"
    const char *verb;            //  the words after it: "list", "sub add"; NULL for none
    cpecctl_handler_fn *handler; //  runs it
    const char *arguments;       //  synopsis after the name
    const char *summary;         //  one line for --help
} s_command_t;

static const s_command_t s_commands[] = {
    {"sez", "list", cpecctl_sez_list,
     "[--province CODE] [--status S] [--sector ISIC] [--fast-track] [--json]",
     "list the zones (every page): ID PROVINCE STATUS FAST-TRACK ACRES NAME"},
    {"sez", "get", cpecctl_sez_get, "ID [--json]", "print one zone, every field"},
    {"sez", "create", cpecctl_sez_create, "--file F.json [--json]",
     "create a zone from a cpec.v1.Sez in JSON"},
    {"sez", "update", cpecctl_sez_update, "ID --file F.json --version V [--json]",
     "change the top-level fields present in F.json, if the zone is at version V"},
    {"sez", "admit", cpecctl_sez_admit, "ZONE --file F.json [--json]",
     "admit an enterprise (a cpec.v1.ZoneEnterprise in JSON) to a zone"},
    {"sez", "enterprises", cpecctl_sez_enterprises, "ZONE [--json]",
     "list a zone's enterprises (every page)"},
    {"ms", "list", cpecctl_ms_list,
     "--zone ID [--overdue] [--at-risk] [--status S] [--agency A] [--json]",
     "list a zone's milestones (every page): ID STATUS PLANNED FORECAST FLAGS TITLE"},
    {"ms", "get", cpecctl_ms_get, "ID [--json]", "print one milestone, every field"},
    {"ms", "add", cpecctl_ms_add, "--file F.json [--json]",
     "create a milestone from a cpec.v1.Milestone in JSON; prints its id"},
    {"ms", "complete", cpecctl_ms_complete, "ID [--date D] [--json]",
     "mark a milestone completed on D (RFC 3339 or YYYY-MM-DD), else now"},
    {"ms", "replan", cpecctl_ms_replan, "ID --date D --reason R [--json]",
     "move a milestone's planned due to D, saying why"},
    {"ms", "depend", cpecctl_ms_depend, "ID --on OTHER [--lag DAYS] [--json]",
     "ID cannot finish before OTHER has finished, plus DAYS (default 0)"},
    {"ms", "undepend", cpecctl_ms_undepend, "ID --on OTHER [--json]",
     "remove the dependency of ID on OTHER"},
    {"ms", "schedule", cpecctl_ms_schedule, "ZONE [--json]",
     "a zone's schedule as a Gantt chart, $COLUMNS wide; * marks the critical path"},
    {"portfolio", NULL, cpecctl_portfolio, "[--province P] [--json]",
     "milestones on time, delayed, at risk and done, per province, zone and in total"},
    //  Before plain `seed`, which takes every other `seed ...`.
    {"seed", "enterprises", cpecctl_seed_enterprises, "--count N --seed S [--batch B] [--from I]",
     "import the synthetic profiles 0..N-1 of data set S (batches of B, default 500, at most\n"
     "      1000); a re-run is a retry; exit 1 if the data set was seeded before"},
    {"seed", NULL, cpecctl_seed, "[--file F.json] [--milestones F.json]",
     "create the 9 zones, then the fast-track zones' milestones; idempotent"},
    {"events", "tail", cpecctl_events_tail, "[--type T] [--json]",
     "print events from the bus, one per line, until Ctrl-C (--type SezUpdated: one type)"},
    {"notify", "sub add", cpecctl_notify_sub_add, "--file F.json [--json]",
     "subscribe from a cpec.v1.Subscription in JSON, active unless it says \"active\": false;\n"
     "      prints it with its secret, shown this once"},
    {"notify", "sub list", cpecctl_notify_sub_list, "[--owner O] [--json]",
     "list subscriptions (every page): ID CHANNEL TARGET LANG DIGEST ACTIVE FILTERS"},
    {"notify", "sub get", cpecctl_notify_sub_get, "ID [--json]",
     "print one subscription, every field (never its secret)"},
    {"notify", "sub rm", cpecctl_notify_sub_rm, "ID [--json]",
     "delete a subscription, whatever its version"},
    {"notify", "sub test", cpecctl_notify_sub_test, "ID [--json]",
     "send a test message now: delivered, status code, latency, error; exit 1 if not delivered"},
    {"notify", "deliveries", cpecctl_notify_deliveries, "ID [--status S] [--limit N] [--json]",
     "a subscription's deliveries, newest first: the newest N (default 100, at most 500;\n"
     "      0: every page): ID EVENT-TYPE STATUS ATTEMPTS CODE LATENCY LAST-ERROR"},
    {"notify", "dlq list", cpecctl_notify_dlq_list, "[--sub ID] [--json]",
     "the dead letters (every page), of one subscription or of all"},
    {"notify", "dlq replay", cpecctl_notify_dlq_replay, "[ID] [--json]",
     "queue dead letters again: one (a delivery id), a subscription's (its id) or all;\n"
     "      prints how many"},
    {"notify", "live", cpecctl_notify_live, "ID [--after POS] [--count N] [--json]",
     "read a LIVE subscription's feed after POS (N entries: default 100, at most 1000):\n"
     "      POSITION DELIVERY EVENT-TYPE ZONE, then the next position"},
    {"token", "create", cpecctl_token_create,
     "--role admin|province|enterprise|viewer [--province CODE] [--enterprise ID] [--subject WHO]",
     "issue a bearer token of the HTTP API (printed once; its id on stderr)"},
    {"token", "revoke", cpecctl_token_revoke, "ID", "revoke a token by its id, at once"},
    {"ent", "add", cpecctl_ent_add, "--file F.json [--json]",
     "create an enterprise profile from a cpec.v1.Enterprise in JSON; prints its id"},
    {"ent", "get", cpecctl_ent_get, "ID [--json]", "print one profile, every field"},
    {"ent", "list", cpecctl_ent_list, "[--country CN|PK] [--province P] [--sector S] [--json]",
     "list the profiles (every page): ID COUNTRY PROVINCE EMPLOYEES SECTORS NAME"},
    {"ent", "rm", cpecctl_ent_rm, "ID", "delete a profile, whatever its version"},
    {"match", "top", cpecctl_match_top, "ID [--k K] [--json]",
     "the K best partners of a firm (default 10, at most 100): # SCORE ID NAME COUNTRY\n"
     "      PROVINCE, each with its reasons"},
    {"match", "zones", cpecctl_match_zones, "ID [--json]",
     "the zones that can hold a firm, best first, with reasons; then the excluded ones and why"},
    {"match", "propose", cpecctl_match_propose, "ID OTHER [--json]",
     "propose a match between firm ID and its counterpart OTHER; prints the match id"},
    {"match", "get", cpecctl_match_get, "MATCH_ID [--json]", "print one match, every field"},
    {"match", "list", cpecctl_match_list, "[--enterprise ID] [--state STATE] [--zone Z] [--json]",
     "list matches (every page): ID STATE SCORE ENTERPRISE-A ENTERPRISE-B ZONE PROVINCE SECTOR"},
    {"match", "move", cpecctl_match_move,
     "MATCH_ID STATE [--as ENTERPRISE_ID] [--zone ZONE] [--at DATE]\n"
     "      [--place TEXT] [--online] [--note TEXT] [--version V] [--json]",
     "move a match to STATE (INTEREST, MUTUAL_INTEREST, MEETING_SCHEDULED, MOU_SIGNED,\n"
     "      ENTRY_APPLICATION, PLOT_ALLOTTED, IN_PRODUCTION, DECLINED, ...)"},
    {"match", "funnel", cpecctl_match_funnel, "[--json]",
     "matches per state and zone, province and sector, and in total"},
};

#define S_COMMAND_COUNT (sizeof (s_commands) / sizeof (s_commands[0]))

static void
s_print_synopsis (FILE *out, const s_command_t *command)
{
    fprintf (out, "  cpecctl %s%s%s %s\n      %s\n", command->group, command->verb ? " " : "",
             command->verb ? command->verb : "", command->arguments, command->summary);
}

static void
s_print_environment (FILE *out)
{
    fprintf (out, "\nEnvironment:\n");
    for (const cpec_config_var_t *var = s_vars; var->name; var++)
        fprintf (out, "  %-16s %s (default \"%s\")\n", var->name, var->help, var->default_value);
}

static void
s_print_usage (FILE *out, const char *group)
{
    fprintf (out, "Usage: cpecctl COMMAND [ARGUMENTS]\n\n"
                  "The command-line client of the CPEC Industrial Cooperation Platform.\n\n"
                  "Commands:\n");
    for (size_t index = 0; index < S_COMMAND_COUNT; index++)
        if (group == NULL || strcmp (group, s_commands[index].group) == 0)
            s_print_synopsis (out, &s_commands[index]);
    fprintf (out,
             "\n  --json prints the messages as JSON with the proto field names; --help after\n"
             "  a command prints its usage.\n"
             "\nExit status: 0 done; 1 the service answered with an error, printed on stderr\n"
             "as \"CODE: message\" (e.g. NOT_FOUND, ABORTED); 2 bad usage or bad input (nothing\n"
             "was sent).\n");
    s_print_environment (out);
}

static bool
s_is_help (const char *arg)
{
    return strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0 || strcmp (arg, "help") == 0;
}

//  How many leading words of argv match the words of verb ("sub add"), in
//  order; *complete when every word of verb matched.
static int
s_verb_words (const char *verb, int argc, char *argv[], bool *complete)
{
    int words = 0;
    const char *word = verb;
    while (*word && words < argc) {
        size_t length = strcspn (word, " ");
        if (strlen (argv[words]) != length || strncmp (argv[words], word, length) != 0)
            break;
        words++;
        word += length;
        word += *word == ' ';
    }
    *complete = *word == '\0';
    return words;
}

//  The command named by argv, with *words set to how many words it took; NULL
//  after printing why (and *exit_code set).
static const s_command_t *
s_find_command (int argc, char *argv[], int *words, int *exit_code)
{
    *exit_code = CPECCTL_EXIT_USAGE;
    if (argc < 2) {
        s_print_usage (stderr, NULL);
        return NULL;
    }
    if (s_is_help (argv[1])) {
        s_print_usage (stdout, NULL);
        *exit_code = CPECCTL_EXIT_OK;
        return NULL;
    }
    bool group_known = false;
    bool subgroup_known = false; //  argv[2] is the first of a verb's words ("notify sub")
    for (size_t index = 0; index < S_COMMAND_COUNT; index++) {
        const s_command_t *command = &s_commands[index];
        if (strcmp (argv[1], command->group) != 0)
            continue;
        group_known = true;
        if (command->verb == NULL) {
            *words = 1;
            return command;
        }
        bool complete = false;
        int verb_words = s_verb_words (command->verb, argc - 2, argv + 2, &complete);
        if (complete) {
            *words = 1 + verb_words;
            return command;
        }
        subgroup_known = subgroup_known || verb_words > 0;
    }
    if (!group_known)
        cpecctl_usage_error (NULL, "unknown command '%s'", argv[1]);
    else if ((argc >= 3 && s_is_help (argv[2])) ||
             (subgroup_known && argc >= 4 && s_is_help (argv[3]))) {
        s_print_usage (stdout, argv[1]);
        *exit_code = CPECCTL_EXIT_OK;
    } else if (subgroup_known && argc >= 4)
        cpecctl_usage_error (argv[1], "unknown command '%s %s %s'", argv[1], argv[2], argv[3]);
    else if (subgroup_known)
        cpecctl_usage_error (argv[1], "missing command after '%s %s'", argv[1], argv[2]);
    else if (argc >= 3)
        cpecctl_usage_error (argv[1], "unknown command '%s %s'", argv[1], argv[2]);
    else
        cpecctl_usage_error (argv[1], "missing command after '%s'", argv[1]);
    return NULL;
}

int
main (int argc, char *argv[])
{
    int words = 0;
    int exit_code = CPECCTL_EXIT_USAGE;
    const s_command_t *command = s_find_command (argc, argv, &words, &exit_code);
    if (command == NULL)
        return exit_code;

    int first = 1 + words;
    for (int index = first; index < argc && strcmp (argv[index], "--") != 0; index++)
        if (strcmp (argv[index], "--help") == 0 || strcmp (argv[index], "-h") == 0) {
            printf ("Usage:\n");
            s_print_synopsis (stdout, command);
            s_print_environment (stdout);
            return CPECCTL_EXIT_OK;
        }

    //  Only the environment is read here: the arguments belong to the command.
    cpecctl_t self = {NULL, NULL, 0};
    self.config = cpec_config_new ("cpecctl", NULL, s_vars, 1, argv, &exit_code);
    if (self.config == NULL)
        return exit_code;
    int64_t timeout_ms = cpec_config_int (self.config, "CPEC_TIMEOUT_MS");
    if (timeout_ms <= 0 || timeout_ms > 24 * 3600 * 1000) {
        fprintf (stderr, "cpecctl: CPEC_TIMEOUT_MS must be between 1 and 86400000\n");
        cpec_config_destroy (&self.config);
        return CPECCTL_EXIT_USAGE;
    }
    self.timeout_ms = (int)timeout_ms;

    exit_code = command->handler (&self, argc - first, argv + first);

    cpec_client_destroy (&self.client);
    cpec_config_destroy (&self.config);
    return exit_code;
}
