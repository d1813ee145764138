/*  test_config - cpec_config: defaults, environment overrides, INT checks,
    --help and argument errors.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpec_config.h"

static const cpec_config_var_t s_vars[] = {
    CPEC_CONFIG_COMMON,
    {"CPEC_TEST_WORKERS", CPEC_CONFIG_INT, "4", "number of worker threads"},
    {"CPEC_TEST_SECRET", CPEC_CONFIG_STRING, "", "shared secret"},
    {NULL}};

//  Redirects fd (1 or 2) into a temporary file until s_capture_end.
typedef struct
{
    int fd;     //  the redirected descriptor
    int saved;  //  its original target
    FILE *file; //  where output goes meanwhile
} s_capture_t;

static void
s_capture_begin (s_capture_t *capture, int fd)
{
    fflush (stdout);
    fflush (stderr);
    capture->fd = fd;
    capture->file = tmpfile ();
    assert_non_null (capture->file);
    capture->saved = dup (fd);
    assert_true (capture->saved >= 0);
    assert_true (dup2 (fileno (capture->file), fd) >= 0);
}

//  Restores the descriptor and returns what was written; the caller frees.
static char *
s_capture_end (s_capture_t *capture)
{
    fflush (stdout);
    fflush (stderr);
    dup2 (capture->saved, capture->fd);
    close (capture->saved);
    long size = ftell (capture->file);
    assert_true (size >= 0);
    char *text = calloc (1, (size_t)size + 1);
    assert_non_null (text);
    rewind (capture->file);
    size_t got = fread (text, 1, (size_t)size, capture->file);
    assert_int_equal (got, (size_t)size);
    fclose (capture->file);
    return text;
}

static int
s_clear_env (void **state)
{
    (void)state;
    for (const cpec_config_var_t *var = s_vars; var->name; var++)
        unsetenv (var->name);
    return 0;
}

static void
test_defaults (void **state)
{
    (void)state;
    int code = -1;
    char *argv[] = {"cpec-test", NULL};
    cpec_config_t *config = cpec_config_new ("cpec-test", "a test", s_vars, 1, argv, &code);
    assert_non_null (config);
    assert_int_equal (code, 0);
    assert_string_equal (cpec_config_get (config, "CPEC_BROKER"), "tcp://127.0.0.1:17100");
    assert_string_equal (cpec_config_get (config, "CPEC_REDIS_URL"), "redis://127.0.0.1:17103/0");
    assert_string_equal (cpec_config_get (config, "CPEC_ADMIN_ADDR"), "");
    assert_string_equal (cpec_config_get (config, "CPEC_LOG_LEVEL"), "info");
    assert_int_equal (cpec_config_int (config, "CPEC_HEARTBEAT_MS"), 1000);
    assert_int_equal (cpec_config_int (config, "CPEC_MAX_MESSAGE"), 1048576);
    assert_int_equal (cpec_config_int (config, "CPEC_TEST_WORKERS"), 4);
    cpec_config_destroy (&config);
    assert_null (config);
    cpec_config_destroy (&config);
}

static void
test_env_override (void **state)
{
    (void)state;
    setenv ("CPEC_BROKER", "tcp://broker.internal:5555", 1);
    setenv ("CPEC_HEARTBEAT_MS", "250", 1);
    setenv ("CPEC_TEST_WORKERS", "-9000000000", 1); //  64-bit, no range
    setenv ("CPEC_MAX_MESSAGE", "2000000", 1);
    setenv ("CPEC_LOG_LEVEL", "", 1); //  empty: the default
    int code = -1;
    cpec_config_t *config = cpec_config_new ("cpec-test", "a test", s_vars, 0, NULL, &code);
    assert_non_null (config);
    assert_int_equal (code, 0);
    assert_string_equal (cpec_config_get (config, "CPEC_BROKER"), "tcp://broker.internal:5555");
    assert_string_equal (cpec_config_get (config, "CPEC_LOG_LEVEL"), "info");
    assert_int_equal (cpec_config_int (config, "CPEC_HEARTBEAT_MS"), 250);
    assert_true (cpec_config_int (config, "CPEC_TEST_WORKERS") == INT64_C (-9000000000));
    assert_int_equal (cpec_config_int (config, "CPEC_MAX_MESSAGE"), 2000000);
    //  The values were copied: later changes to the environment do not show.
    setenv ("CPEC_BROKER", "tcp://elsewhere:1", 1);
    assert_string_equal (cpec_config_get (config, "CPEC_BROKER"), "tcp://broker.internal:5555");
    cpec_config_destroy (&config);
}

//  Expects value in CPEC_HEARTBEAT_MS to be refused with exit code 2.
static void
s_expect_bad_int (const char *value)
{
    setenv ("CPEC_HEARTBEAT_MS", value, 1);
    int code = -1;
    s_capture_t capture;
    s_capture_begin (&capture, 2);
    cpec_config_t *config = cpec_config_new ("cpec-test", "a test", s_vars, 0, NULL, &code);
    char *err = s_capture_end (&capture);
    assert_null (config);
    assert_int_equal (code, 2);
    assert_non_null (strstr (err, "CPEC_HEARTBEAT_MS"));
    assert_non_null (strstr (err, value));
    free (err);
}

static void
test_int_validation (void **state)
{
    (void)state;
    s_expect_bad_int ("12abc");
    s_expect_bad_int ("abc");
    s_expect_bad_int ("1.5");
    s_expect_bad_int ("0x10");
    s_expect_bad_int ("99999999999999999999999");
    //  Integers outside the variable's range (CPEC_HEARTBEAT_MS: 10 to 60000).
    s_expect_bad_int ("0");
    s_expect_bad_int ("-5");
    s_expect_bad_int ("60001");
    //  The bounds themselves are fine.
    int code = -1;
    setenv ("CPEC_HEARTBEAT_MS", "10", 1);
    cpec_config_t *config = cpec_config_new ("cpec-test", "a test", s_vars, 0, NULL, &code);
    assert_non_null (config);
    assert_int_equal (cpec_config_int (config, "CPEC_HEARTBEAT_MS"), 10);
    cpec_config_destroy (&config);
    setenv ("CPEC_HEARTBEAT_MS", "60000", 1);
    config = cpec_config_new ("cpec-test", "a test", s_vars, 0, NULL, &code);
    assert_non_null (config);
    cpec_config_destroy (&config);
    //  A variable without a range takes any integer.
    setenv ("CPEC_TEST_WORKERS", "-1", 1);
    config = cpec_config_new ("cpec-test", "a test", s_vars, 0, NULL, &code);
    assert_non_null (config);
    assert_int_equal (cpec_config_int (config, "CPEC_TEST_WORKERS"), -1);
    cpec_config_destroy (&config);
}

static void
test_help (void **state)
{
    (void)state;
    setenv ("CPEC_BROKER", "tcp://10.0.0.7:17100", 1);
    setenv ("CPEC_REDIS_URL", "redis://registry:hunter2@redis:6379/0", 1);
    setenv ("CPEC_TEST_SECRET", "s3cr3t-value", 1);
    setenv ("CPEC_HEARTBEAT_MS", "not-a-number", 1); //  --help still works
    const char *flags[] = {"--help", "-h"};
    for (int index = 0; index < 2; index++) {
        char *argv[] = {"cpec-test", (char *)flags[index], NULL};
        int code = -1;
        s_capture_t capture;
        s_capture_begin (&capture, 1);
        cpec_config_t *config =
            cpec_config_new ("cpec-test", "Test service summary.", s_vars, 2, argv, &code);
        char *out = s_capture_end (&capture);
        assert_null (config);
        assert_int_equal (code, 0);
        assert_non_null (strstr (out, "cpec-test"));
        assert_non_null (strstr (out, "Test service summary."));
        for (const cpec_config_var_t *var = s_vars; var->name; var++) {
            assert_non_null (strstr (out, var->name));
            assert_non_null (strstr (out, var->help));
            if (*var->default_value)
                assert_non_null (strstr (out, var->default_value));
        }
        assert_non_null (strstr (out, "tcp://10.0.0.7:17100")); //  the current value
        assert_non_null (strstr (out, "redis://registry:***@redis:6379/0"));
        assert_null (strstr (out, "hunter2"));
        assert_null (strstr (out, "s3cr3t-value"));
        free (out);
    }
}

static void
test_unknown_argument (void **state)
{
    (void)state;
    char *argv[] = {"cpec-test", "--verbose", NULL};
    int code = -1;
    s_capture_t out_capture, err_capture;
    s_capture_begin (&out_capture, 1);
    s_capture_begin (&err_capture, 2);
    cpec_config_t *config = cpec_config_new ("cpec-test", "a test", s_vars, 2, argv, &code);
    char *err = s_capture_end (&err_capture);
    char *out = s_capture_end (&out_capture);
    assert_null (config);
    assert_int_equal (code, 2);
    assert_non_null (strstr (err, "--verbose"));
    assert_string_equal (out, "");
    free (err);
    free (out);

    //  An unknown argument wins over --help.
    char *argv2[] = {"cpec-test", "--help", "extra", NULL};
    code = -1;
    s_capture_begin (&err_capture, 2);
    config = cpec_config_new ("cpec-test", "a test", s_vars, 3, argv2, &code);
    err = s_capture_end (&err_capture);
    assert_null (config);
    assert_int_equal (code, 2);
    assert_non_null (strstr (err, "extra"));
    free (err);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup (test_defaults, s_clear_env),
        cmocka_unit_test_setup (test_env_override, s_clear_env),
        cmocka_unit_test_setup (test_int_validation, s_clear_env),
        cmocka_unit_test_setup (test_help, s_clear_env),
        cmocka_unit_test_setup (test_unknown_argument, s_clear_env),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
