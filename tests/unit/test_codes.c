/*  test_codes - the ISIC Rev.4 and HS code tables (common/cpec_codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "cpec_codes.h"

#define THREADS 8

static void *
s_lookup_thread (void *arg)
{
    (void)arg;
    intptr_t failures = 0;
    for (int i = 0; i < 200; i++) {
        if (!cpec_codes_isic_valid ("2100") || cpec_codes_hs_count (6) != 5613)
            failures++;
    }
    return (void *)failures;
}

//  Runs first, so that the tables are built while eight threads race for
//  them: pthread_once must give every thread the finished tables.
static void
test_first_use_from_threads (void **state)
{
    (void)state;
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal (pthread_create (&threads[i], NULL, s_lookup_thread, NULL), 0);
    for (int i = 0; i < THREADS; i++) {
        void *failures = NULL;
        assert_int_equal (pthread_join (threads[i], &failures), 0);
        assert_int_equal ((intptr_t)failures, 0);
    }
    assert_null (cpec_codes_error ());
}

static void
test_isic_counts (void **state)
{
    (void)state;
    assert_int_equal (cpec_codes_isic_count (1), 21);
    assert_int_equal (cpec_codes_isic_count (2), 88);
    assert_int_equal (cpec_codes_isic_count (3), 238);
    assert_int_equal (cpec_codes_isic_count (4), 419);
    assert_int_equal (cpec_codes_isic_count (0), 0);
    assert_int_equal (cpec_codes_isic_count (5), 0);
}

static void
test_isic_titles (void **state)
{
    (void)state;
    assert_string_equal (cpec_codes_isic_title ("2100"),
                         "Manufacture of pharmaceutical and medicinal chemical and botanical "
                         "products");
    assert_string_equal (cpec_codes_isic_title ("2410"), "Manufacture of basic iron and steel");
    //  The last row of a CRLF file: no carriage return left on the title.
    assert_string_equal (cpec_codes_isic_title ("9900"),
                         "Activities of extraterritorial organizations and bodies");
    //  Quoted in the CSV because of its commas: the whole title, unquoted.
    assert_string_equal (cpec_codes_isic_title ("0111"),
                         "Growing of cereals (except rice), leguminous crops and oil seeds");
    assert_string_equal (cpec_codes_isic_title ("0810"), "Quarrying of stone, sand and clay");
    //  Headings are valid but the table carries no titles for them.
    assert_string_equal (cpec_codes_isic_title ("13"), "");
    assert_string_equal (cpec_codes_isic_title ("C"), "");
}

static void
test_isic_valid (void **state)
{
    (void)state;
    assert_true (cpec_codes_isic_valid ("13"));
    assert_int_equal (cpec_codes_isic_level ("13"), 2);
    assert_true (cpec_codes_isic_valid ("C"));
    assert_int_equal (cpec_codes_isic_level ("C"), 1);
    assert_true (cpec_codes_isic_valid ("014"));
    assert_int_equal (cpec_codes_isic_level ("014"), 3);
    assert_true (cpec_codes_isic_valid ("0810"));
    assert_int_equal (cpec_codes_isic_level ("0810"), 4);

    const char *invalid[] = {"9999", "",   "21a0",  "2100 ", " 13",  "c",
                             "V",    "00", "99999", "1",     "2101", "AB"};
    for (size_t i = 0; i < sizeof (invalid) / sizeof (invalid[0]); i++) {
        assert_false (cpec_codes_isic_valid (invalid[i]));
        assert_null (cpec_codes_isic_title (invalid[i]));
        assert_null (cpec_codes_isic_parent (invalid[i]));
        assert_int_equal (cpec_codes_isic_level (invalid[i]), 0);
    }
    assert_false (cpec_codes_isic_valid (NULL));
    assert_null (cpec_codes_isic_title (NULL));
}

static void
test_isic_hierarchy (void **state)
{
    (void)state;
    assert_string_equal (cpec_codes_isic_parent ("2100"), "210");
    assert_string_equal (cpec_codes_isic_parent ("210"), "21");
    assert_string_equal (cpec_codes_isic_parent ("21"), "C");
    assert_null (cpec_codes_isic_parent ("C"));
    assert_string_equal (cpec_codes_isic_section ("0810"), "B");
    assert_string_equal (cpec_codes_isic_section ("62"), "J");
    assert_string_equal (cpec_codes_isic_section ("U"), "U");

    assert_true (cpec_codes_isic_within ("1030", "10"));
    assert_true (cpec_codes_isic_within ("1030", "C"));
    assert_true (cpec_codes_isic_within ("10", "10"));
    assert_false (cpec_codes_isic_within ("1030", "11"));
    assert_false (cpec_codes_isic_within ("10", "1030"));
    assert_false (cpec_codes_isic_within ("9999", "99"));
    assert_false (cpec_codes_isic_within ("1030", NULL));
}

static void
test_isic_iteration (void **state)
{
    (void)state;
    assert_string_equal (cpec_codes_isic_at (1, 0), "A");
    assert_string_equal (cpec_codes_isic_at (1, 20), "U");
    assert_string_equal (cpec_codes_isic_at (4, 0), "0111");
    assert_string_equal (cpec_codes_isic_at (4, 418), "9900");
    assert_null (cpec_codes_isic_at (4, 419));
    assert_null (cpec_codes_isic_at (4, -1));
    //  Ascending, and every class hangs from a valid group.
    for (int i = 0; i < cpec_codes_isic_count (4); i++) {
        const char *code = cpec_codes_isic_at (4, i);
        if (i > 0)
            assert_true (strcmp (cpec_codes_isic_at (4, i - 1), code) < 0);
        assert_int_equal (cpec_codes_isic_level (cpec_codes_isic_parent (code)), 3);
    }
}

static void
test_hs_counts (void **state)
{
    (void)state;
    assert_int_equal (cpec_codes_hs_count (2), 97);
    assert_int_equal (cpec_codes_hs_count (4), 1229);
    assert_int_equal (cpec_codes_hs_count (6), 5613);
    assert_int_equal (cpec_codes_hs_count (5), 0);
    assert_int_equal (cpec_codes_hs_count (8), 0);
}

static void
test_hs_titles_and_parents (void **state)
{
    (void)state;
    //  A subheading's parent chain up to its chapter.
    assert_string_equal (cpec_codes_hs_title ("010121"),
                         "Horses; live, pure-bred breeding animals");
    assert_string_equal (cpec_codes_hs_parent ("010121"), "0101");
    assert_string_equal (cpec_codes_hs_title ("0101"), "Horses, asses, mules and hinnies; live");
    assert_string_equal (cpec_codes_hs_parent ("0101"), "01");
    assert_string_equal (cpec_codes_hs_title ("01"), "Animals; live");
    assert_null (cpec_codes_hs_parent ("01"));
    assert_int_equal (cpec_codes_hs_level ("010121"), 6);
    assert_int_equal (cpec_codes_hs_level ("0101"), 4);
    assert_int_equal (cpec_codes_hs_level ("01"), 2);

    assert_string_equal (cpec_codes_hs_parent ("300490"), "3004");
    assert_string_equal (cpec_codes_hs_parent ("3004"), "30");
    assert_string_equal (cpec_codes_hs_title ("30"), "Pharmaceutical products");
    assert_string_equal (cpec_codes_hs_section ("300490"), "VI");
    assert_string_equal (cpec_codes_hs_section ("870323"), "XVII");
    //  A long quoted description with commas and parentheses, whole.
    assert_string_equal (cpec_codes_hs_title ("8703"),
                         "Motor cars and other motor vehicles; principally designed for the "
                         "transport of persons (other than those of heading no. 8702), including "
                         "station wagons and racing cars");

    //  Every subheading's parent is a heading whose parent is a chapter.
    for (int i = 0; i < cpec_codes_hs_count (6); i++) {
        const char *code = cpec_codes_hs_at (6, i);
        const char *heading = cpec_codes_hs_parent (code);
        assert_int_equal (cpec_codes_hs_level (heading), 4);
        assert_int_equal (strncmp (code, heading, 4), 0);
        assert_int_equal (cpec_codes_hs_level (cpec_codes_hs_parent (heading)), 2);
    }
}

static void
test_hs_invalid (void **state)
{
    (void)state;
    const char *invalid[] = {"",    "TOTAL", "77",      "0100", "010100", "1",
                             "010", "01012", "0101210", "01a1", NULL};
    for (size_t i = 0; i < sizeof (invalid) / sizeof (invalid[0]); i++) {
        assert_false (cpec_codes_hs_valid (invalid[i]));
        assert_null (cpec_codes_hs_title (invalid[i]));
        assert_null (cpec_codes_hs_parent (invalid[i]));
        assert_null (cpec_codes_hs_section (invalid[i]));
        assert_int_equal (cpec_codes_hs_level (invalid[i]), 0);
    }
    assert_null (cpec_codes_hs_at (6, 5613));
}

static void
test_csv_quoting (void **state)
{
    (void)state;
    char text[] = "a,\"b, c\",\"say \"\"hi\"\"\",,\"\"\r\n"
                  "\n"
                  "\"multi\nline\",x\n"
                  "last";
    char *cursor = text;
    char *fields[8];
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), 5);
    assert_string_equal (fields[0], "a");
    assert_string_equal (fields[1], "b, c");
    assert_string_equal (fields[2], "say \"hi\"");
    assert_string_equal (fields[3], "");
    assert_string_equal (fields[4], "");
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), 2);
    assert_string_equal (fields[0], "multi\nline");
    assert_string_equal (fields[1], "x");
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), 1);
    assert_string_equal (fields[0], "last");
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), 0);

    //  More fields than room: counted, not stored past max.
    char wide[] = "1,2,3\n";
    cursor = wide;
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 2), 3);
    assert_string_equal (fields[1], "2");

    char unterminated[] = "a,\"open\n";
    cursor = unterminated;
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), -1);
    char trailing[] = "\"closed\"x,y\n";
    cursor = trailing;
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), -1);
    char stray[] = "ab\"c\n";
    cursor = stray;
    assert_int_equal (cpec_codes_csv_record (&cursor, fields, 8), -1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_first_use_from_threads),
        cmocka_unit_test (test_isic_counts),
        cmocka_unit_test (test_isic_titles),
        cmocka_unit_test (test_isic_valid),
        cmocka_unit_test (test_isic_hierarchy),
        cmocka_unit_test (test_isic_iteration),
        cmocka_unit_test (test_hs_counts),
        cmocka_unit_test (test_hs_titles_and_parents),
        cmocka_unit_test (test_hs_invalid),
        cmocka_unit_test (test_csv_quoting),
    };
    return cmocka_run_group_tests (tests, 0, NULL);
}
