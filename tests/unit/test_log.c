/*  test_log - cpec_log: one JSON object per line on stderr, with the keys,
    escaping, UTF-8 and level filtering the contract promises.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpec_log.h"

static int s_saved_stderr = -1; //  the real stderr while captured
static FILE *s_file = NULL;     //  where stderr goes meanwhile

static void
s_capture_begin (void)
{
    fflush (stderr);
    s_file = tmpfile ();
    assert_non_null (s_file);
    s_saved_stderr = dup (2);
    assert_true (s_saved_stderr >= 0);
    assert_true (dup2 (fileno (s_file), 2) >= 0);
}

//  Restores stderr and returns the lines written meanwhile as a JSON array
//  of the parsed objects; fails the test if any line is not one object.
static json_t *
s_capture_end (void)
{
    fflush (stderr);
    dup2 (s_saved_stderr, 2);
    close (s_saved_stderr);
    long size = ftell (s_file);
    assert_true (size >= 0);
    char *text = calloc (1, (size_t)size + 1);
    assert_non_null (text);
    rewind (s_file);
    assert_int_equal (fread (text, 1, (size_t)size, s_file), (size_t)size);
    fclose (s_file);

    json_t *lines = json_array ();
    char *start = text;
    assert_true (size == 0 || text[size - 1] == '\n');
    while (*start) {
        char *end = strchr (start, '\n');
        assert_non_null (end);
        *end = '\0';
        json_error_t error;
        json_t *line = json_loads (start, 0, &error);
        if (line == NULL)
            fail_msg ("not JSON: %s (%s)", start, error.text);
        assert_true (json_is_object (line));
        json_array_append_new (lines, line);
        start = end + 1;
    }
    free (text);
    return lines;
}

static const char *
s_get (json_t *line, const char *key)
{
    json_t *value = json_object_get (line, key);
    return json_is_string (value) ? json_string_value (value) : NULL;
}

//  Checks "YYYY-MM-DDTHH:MM:SS.mmmZ".
static void
s_assert_time (const char *time)
{
    assert_non_null (time);
    const char *shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    assert_int_equal (strlen (time), strlen (shape));
    for (size_t index = 0; shape[index]; index++) {
        if (shape[index] == 'd')
            assert_true (isdigit ((unsigned char)time[index]));
        else
            assert_int_equal (time[index], shape[index]);
    }
}

static void
test_keys (void **state)
{
    (void)state;
    cpec_log_init ("registry", NULL, "debug");
    s_capture_begin ();
    cpec_log_info ("req-42", "zone %d admitted %s", 7, "Rashakai");
    cpec_log_error (NULL, "plain");
    json_t *lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 2);

    json_t *first = json_array_get (lines, 0);
    s_assert_time (s_get (first, "time"));
    assert_string_equal (s_get (first, "level"), "info");
    assert_string_equal (s_get (first, "service"), "registry");
    assert_string_equal (s_get (first, "request_id"), "req-42");
    assert_string_equal (s_get (first, "msg"), "zone 7 admitted Rashakai");
    assert_int_equal (json_object_size (first), 6);

    //  Default instance: host:pid.
    char host[256] = "";
    gethostname (host, sizeof (host) - 1);
    char expected[300];
    snprintf (expected, sizeof (expected), "%s:%ld", host, (long)getpid ());
    assert_string_equal (s_get (first, "instance"), expected);

    json_t *second = json_array_get (lines, 1);
    assert_string_equal (s_get (second, "level"), "error");
    assert_null (json_object_get (second, "request_id"));
    assert_int_equal (json_object_size (second), 5);
    json_decref (lines);

    cpec_log_init ("registry", "registry-0", "info");
    s_capture_begin ();
    cpec_log_warn (NULL, "named");
    lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 1);
    assert_string_equal (s_get (json_array_get (lines, 0), "instance"), "registry-0");
    assert_string_equal (s_get (json_array_get (lines, 0), "level"), "warn");
    json_decref (lines);
}

static void
test_escaping (void **state)
{
    (void)state;
    cpec_log_init ("gateway", "gw-1", "info");
    const char *tricky = "say \"hi\"\nsecond line\\ \t tab; Gwadar \xda\xaf\xd9\x88\xd8\xa7\xd8\xaf"
                         "\xd8\xb1 \xe7\x93\x9c\xe8\xbe\xbe\xe5\xb0\x94 \xf0\x9f\x8f\xad \x01";
    char big[3000];
    memset (big, 'x', sizeof (big) - 1);
    big[sizeof (big) - 1] = '\0';
    s_capture_begin ();
    cpec_log_info ("id \"with\" quotes", "%s", tricky);
    cpec_log_info (NULL, "%s", big);
    cpec_log_info (NULL, "bad utf-8: \xff\xc0\xaf end");
    json_t *lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 3);
    assert_string_equal (s_get (json_array_get (lines, 0), "msg"), tricky);
    assert_string_equal (s_get (json_array_get (lines, 0), "request_id"), "id \"with\" quotes");
    assert_string_equal (s_get (json_array_get (lines, 1), "msg"), big);
    assert_string_equal (s_get (json_array_get (lines, 2), "msg"),
                         "bad utf-8: \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd end");
    json_decref (lines);
}

static void
test_levels (void **state)
{
    (void)state;
    cpec_log_init ("notify", NULL, "warn");
    s_capture_begin ();
    cpec_log_debug (NULL, "d");
    cpec_log_info (NULL, "i");
    cpec_log_warn (NULL, "w");
    cpec_log_error (NULL, "e");
    json_t *lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 2);
    assert_string_equal (s_get (json_array_get (lines, 0), "msg"), "w");
    assert_string_equal (s_get (json_array_get (lines, 1), "msg"), "e");
    json_decref (lines);

    cpec_log_init ("notify", NULL, "error");
    s_capture_begin ();
    cpec_log_warn (NULL, "w");
    cpec_log_error (NULL, "e");
    lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 1);
    assert_string_equal (s_get (json_array_get (lines, 0), "level"), "error");
    json_decref (lines);

    //  An unknown level means info.
    cpec_log_init ("notify", NULL, "loud");
    s_capture_begin ();
    cpec_log_debug (NULL, "d");
    cpec_log_info (NULL, "i");
    lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 1);
    assert_string_equal (s_get (json_array_get (lines, 0), "msg"), "i");
    json_decref (lines);

    cpec_log_init ("notify", NULL, "debug");
    s_capture_begin ();
    cpec_log_debug (NULL, "d");
    lines = s_capture_end ();
    assert_int_equal (json_array_size (lines), 1);
    assert_string_equal (s_get (json_array_get (lines, 0), "level"), "debug");
    json_decref (lines);
}

#define S_THREADS    8
#define S_PER_THREAD 200

static void *
s_writer (void *arg)
{
    long id = (long)arg;
    for (int index = 0; index < S_PER_THREAD; index++)
        cpec_log_info (NULL, "thread %ld line %d with some padding to make lines long enough", id,
                       index);
    return NULL;
}

static void
test_threads (void **state)
{
    (void)state;
    cpec_log_init ("broker", NULL, "info");
    s_capture_begin ();
    pthread_t threads[S_THREADS];
    for (long id = 0; id < S_THREADS; id++)
        assert_int_equal (pthread_create (&threads[id], NULL, s_writer, (void *)id), 0);
    for (int id = 0; id < S_THREADS; id++)
        pthread_join (threads[id], NULL);
    json_t *lines = s_capture_end (); //  fails on any interleaved line
    assert_int_equal (json_array_size (lines), S_THREADS * S_PER_THREAD);
    json_decref (lines);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_keys),
        cmocka_unit_test (test_escaping),
        cmocka_unit_test (test_levels),
        cmocka_unit_test (test_threads),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
