/*  token.c - `cpecctl token create` and `cpecctl token revoke`: the bearer
    tokens of the HTTP API (common/cpec_token.h). They are kept in Redis
    (CPEC_REDIS_URL): an operator with access to it issues them; the token
    is printed once and never stored.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_store.h"
#include "cpec_token.h"
#include "cpecctl.h"

//  The store of CPEC_REDIS_URL; NULL after reporting.
static cpec_store_t *
s_store_or_report (cpecctl_t *self, const char *command)
{
    const char *url = cpec_config_get (self->config, "CPEC_REDIS_URL");
    cpec_store_t *store = cpec_store_new (url);
    if (!store)
        cpecctl_input_error (command, "CPEC_REDIS_URL: '%s' is not a redis:// URL", url);
    return store;
}

int
cpecctl_token_create (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "token create";
    const char *role_name = NULL, *province = "", *enterprise = "", *subject = NULL;
    const cpecctl_option_t options[] = {{"--role", &role_name, NULL},
                                        {"--province", &province, NULL},
                                        {"--enterprise", &enterprise, NULL},
                                        {"--subject", &subject, NULL},
                                        {NULL}};
    if (cpecctl_parse (command, argc, argv, options, NULL, 0, ""))
        return CPECCTL_EXIT_USAGE;
    if (!role_name)
        return cpecctl_usage_error (command, "--role ROLE is required");
    //  the role in the words of the issue (admin, province, ...) or the enum's
    char upper[32];
    snprintf (upper, sizeof (upper), "%s", role_name);
    for (char *c = upper; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
    int role = 0;
    if (cpecctl_parse_enum (command, "--role", &cpec__v1__principal__role__descriptor, upper,
                            &role))
        return CPECCTL_EXIT_USAGE;
    if (!subject)
        subject = *enterprise ? enterprise : *province ? province : upper;
    cpec_store_t *store = s_store_or_report (self, command);
    if (!store)
        return CPECCTL_EXIT_USAGE;
    char *token = NULL, id[CPEC_TOKEN_ID_SIZE];
    cpec_status_t status;
    int rc = cpec_token_create (store, role, province, enterprise, subject, &token, id, &status);
    cpec_store_destroy (&store);
    if (rc == CPEC_INVALID_ARGUMENT)
        return cpecctl_input_error (command, "%s", status.message);
    if (rc != CPEC_OK)
        return cpecctl_report_status (&status);
    printf ("%s\n", token);
    fprintf (stderr,
             "token %s for %s (%s%s%s): shown once, keep it safe; revoke with "
             "`cpecctl token revoke %s`\n",
             id, subject, upper, *province ? " " : "", province, id);
    free (token);
    return CPECCTL_EXIT_OK;
}

int
cpecctl_token_revoke (cpecctl_t *self, int argc, char *argv[])
{
    const char *command = "token revoke";
    const char *id = NULL;
    const cpecctl_option_t options[] = {{NULL}};
    if (cpecctl_parse_one (command, argc, argv, options, &id, "ID"))
        return CPECCTL_EXIT_USAGE;
    cpec_store_t *store = s_store_or_report (self, command);
    if (!store)
        return CPECCTL_EXIT_USAGE;
    cpec_status_t status;
    int rc = cpec_token_revoke (store, id, &status);
    cpec_store_destroy (&store);
    if (rc == CPEC_INVALID_ARGUMENT)
        return cpecctl_input_error (command, "%s", status.message);
    if (rc != CPEC_OK)
        return cpecctl_report_status (&status);
    printf ("revoked %s\n", id);
    return CPECCTL_EXIT_OK;
}
