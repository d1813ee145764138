/*  cpec_config - twelve-factor configuration from CPEC_* environment
    variables, with --help listing them.
*/
#include "cpec_config.h"

#include <assert.h>
#include <inttypes.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
    char *name;              //  variable name, "CPEC_..."
    cpec_config_kind_t kind; //  STRING or INT
    char *value;             //  the environment's value, or the default
    int64_t number;          //  the parsed value of an INT variable
} s_entry_t;

struct _cpec_config_t
{
    s_entry_t *entries; //  one per declared variable
    size_t size;        //  number of entries
};

//  Parses a whole decimal integer (surrounding blanks allowed); 0 or -1.
static int
s_parse_int (const char *text, int64_t *number)
{
    errno = 0;
    char *end = NULL;
    long long value = strtoll (text, &end, 10);
    if (end == text || errno == ERANGE)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end != '\0')
        return -1;
    *number = (int64_t)value;
    return 0;
}

//  The value from the environment, or the default when unset or empty.
static const char *
s_lookup (const cpec_config_var_t *var)
{
    const char *value = getenv (var->name);
    if (value == NULL || *value == '\0')
        value = var->default_value ? var->default_value : "";
    return value;
}

//  Whether a variable holds a secret that --help must not print.
static bool
s_is_secret (const char *name)
{
    return strstr (name, "SECRET") || strstr (name, "PASSWORD") || strstr (name, "TOKEN");
}

//  Prints value to out, with the password of a URL's user info (as in
//  redis://user:password@host) replaced by "***".
static void
s_print_redacted (FILE *out, const char *value)
{
    const char *scheme = strstr (value, "://");
    const char *at = scheme ? strchr (scheme + 3, '@') : NULL;
    const char *colon = scheme ? strchr (scheme + 3, ':') : NULL;
    const char *slash = scheme ? strchr (scheme + 3, '/') : NULL;
    if (at && colon && colon < at && (slash == NULL || at < slash))
        fprintf (out, "%.*s***%s", (int)(colon + 1 - value), value, at);
    else
        fputs (value, out);
}

static void
s_print_help (const char *program, const char *summary, const cpec_config_var_t *vars)
{
    printf ("Usage: %s [--help]\n\n", program);
    if (summary && *summary)
        printf ("%s\n\n", summary);
    printf ("Configuration is read from these environment variables:\n\n");
    for (const cpec_config_var_t *var = vars; var->name; var++) {
        printf ("  %s%s\n", var->name, var->kind == CPEC_CONFIG_INT ? " (integer)" : "");
        printf ("      %s\n", var->help ? var->help : "");
        if (var->kind == CPEC_CONFIG_INT && (var->min || var->max))
            printf ("      range: %" PRId64 " to %" PRId64 "\n", var->min, var->max);
        printf ("      default: \"%s\"\n", var->default_value ? var->default_value : "");
        printf ("      current: \"");
        if (s_is_secret (var->name) && *s_lookup (var))
            fputs ("(set, hidden)", stdout);
        else
            s_print_redacted (stdout, s_lookup (var));
        printf ("\"\n");
    }
    fflush (stdout);
}

cpec_config_t *
cpec_config_new (const char *program, const char *summary, const cpec_config_var_t *vars, int argc,
                 char *argv[], int *exit_code)
{
    assert (program);
    assert (vars);
    int dummy;
    if (exit_code == NULL)
        exit_code = &dummy;

    bool help = false;
    for (int index = 1; index < argc; index++) {
        if (strcmp (argv[index], "--help") == 0 || strcmp (argv[index], "-h") == 0)
            help = true;
        else {
            fprintf (stderr,
                     "%s: unknown argument '%s' (configuration is by environment; see --help)\n",
                     program, argv[index]);
            *exit_code = 2;
            return NULL;
        }
    }
    if (help) {
        s_print_help (program, summary, vars);
        *exit_code = 0;
        return NULL;
    }

    size_t size = 0;
    while (vars[size].name)
        size++;
    cpec_config_t *self = (cpec_config_t *)calloc (1, sizeof (cpec_config_t));
    if (self)
        self->entries = (s_entry_t *)calloc (size ? size : 1, sizeof (s_entry_t));
    if (self == NULL || self->entries == NULL) {
        fprintf (stderr, "%s: out of memory\n", program);
        free (self);
        *exit_code = 1;
        return NULL;
    }
    for (size_t index = 0; index < size; index++) {
        const cpec_config_var_t *var = &vars[index];
        s_entry_t *entry = &self->entries[index];
        entry->kind = var->kind;
        entry->name = strdup (var->name);
        entry->value = strdup (s_lookup (var));
        self->size = index + 1;
        if (entry->name == NULL || entry->value == NULL) {
            fprintf (stderr, "%s: out of memory\n", program);
            cpec_config_destroy (&self);
            *exit_code = 1;
            return NULL;
        }
        if (var->kind == CPEC_CONFIG_INT && s_parse_int (entry->value, &entry->number) != 0) {
            fprintf (stderr, "%s: %s must be an integer, not '%s'\n", program, var->name,
                     entry->value);
            cpec_config_destroy (&self);
            *exit_code = 2;
            return NULL;
        }
        if (var->kind == CPEC_CONFIG_INT && (var->min || var->max) &&
            (entry->number < var->min || entry->number > var->max)) {
            fprintf (stderr, "%s: %s must be between %" PRId64 " and %" PRId64 ", not '%s'\n",
                     program, var->name, var->min, var->max, entry->value);
            cpec_config_destroy (&self);
            *exit_code = 2;
            return NULL;
        }
    }
    *exit_code = 0;
    return self;
}

void
cpec_config_destroy (cpec_config_t **self_p)
{
    assert (self_p);
    cpec_config_t *self = *self_p;
    if (self == NULL)
        return;
    for (size_t index = 0; index < self->size; index++) {
        free (self->entries[index].name);
        free (self->entries[index].value);
    }
    free (self->entries);
    free (self);
    *self_p = NULL;
}

//  The entry of a declared variable; asserts it exists.
static s_entry_t *
s_entry (cpec_config_t *self, const char *name)
{
    assert (self);
    assert (name);
    for (size_t index = 0; index < self->size; index++)
        if (strcmp (self->entries[index].name, name) == 0)
            return &self->entries[index];
    assert (!"configuration variable not declared");
    return NULL;
}

const char *
cpec_config_get (cpec_config_t *self, const char *name)
{
    s_entry_t *entry = s_entry (self, name);
    return entry ? entry->value : "";
}

int64_t
cpec_config_int (cpec_config_t *self, const char *name)
{
    s_entry_t *entry = s_entry (self, name);
    assert (entry == NULL || entry->kind == CPEC_CONFIG_INT);
    return entry && entry->kind == CPEC_CONFIG_INT ? entry->number : 0;
}
