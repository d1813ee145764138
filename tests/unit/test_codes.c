/*  test_codes - the ISIC Rev.4, HS and GB/T 4754-2017 code tables
    (common/cpec_codes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
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

//  The number of GB/T 4754-2017 divisions in data/gbt4754-isic.csv (stated
//  in data/README.md): 01 to 97, none missing.
#define GBT_DIVISIONS 97

static void
test_gbt_count (void **state)
{
    (void)state;
    assert_int_equal (cpec_codes_gbt_count (), GBT_DIVISIONS);
    //  Every two-digit code from 01 to 97 is a division, 00, 98 and 99 not.
    int valid = 0;
    for (int i = 0; i <= 99; i++) {
        char code[3];
        snprintf (code, sizeof (code), "%02d", i);
        if (cpec_codes_gbt_valid (code))
            valid++;
        assert_int_equal (cpec_codes_gbt_valid (code), i >= 1 && i <= 97);
    }
    assert_int_equal (valid, GBT_DIVISIONS);
}

//  Every ISIC division a GB/T division maps to is a division of the ISIC
//  table, and only the divisions listed in data/README.md are unmapped.
static void
test_gbt_isic_all_valid (void **state)
{
    (void)state;
    const char *unmapped[] = {"79", "91", "93", "96"};
    int unmapped_found = 0;
    for (int i = 1; i <= 97; i++) {
        char code[3];
        snprintf (code, sizeof (code), "%02d", i);
        const char *divisions[16];
        int count = cpec_codes_gbt_isic (code, divisions, 16);
        assert_in_range (count, 0, 16);
        assert_non_null (cpec_codes_gbt_title (code));
        assert_true (strlen (cpec_codes_gbt_title (code)) > 0);
        for (int j = 0; j < count; j++) {
            assert_int_equal (cpec_codes_isic_level (divisions[j]), 2);
            for (int k = 0; k < j; k++)
                assert_string_not_equal (divisions[j], divisions[k]);
        }
        bool listed = false;
        for (size_t j = 0; j < sizeof (unmapped) / sizeof (unmapped[0]); j++)
            listed = listed || strcmp (unmapped[j], code) == 0;
        assert_int_equal (count == 0, listed);
        unmapped_found += count == 0;
    }
    assert_int_equal (unmapped_found, 4);
}

//  Asserts that a GB/T code maps to exactly the ISIC divisions given, in
//  that order (the main one first).
static void
s_assert_gbt_isic (const char *code, const char *expected)
{
    const char *divisions[16];
    int count = cpec_codes_gbt_isic (code, divisions, 16);
    assert_in_range (count, 1, 16);
    char joined[64] = "";
    for (int i = 0; i < count; i++) {
        if (i > 0)
            strcat (joined, " ");
        strcat (joined, divisions[i]);
    }
    assert_string_equal (joined, expected);
}

static void
test_gbt_known_mappings (void **state)
{
    (void)state;
    s_assert_gbt_isic ("13", "10"); //  agricultural food processing
    s_assert_gbt_isic ("14", "10"); //  other foods
    s_assert_gbt_isic ("17", "13"); //  textiles
    s_assert_gbt_isic ("18", "14"); //  wearing apparel
    s_assert_gbt_isic ("27", "21"); //  medicines
    s_assert_gbt_isic ("36", "29"); //  automobiles
    s_assert_gbt_isic ("38", "27"); //  electrical machinery
    s_assert_gbt_isic ("39", "26"); //  computers and electronics
    s_assert_gbt_isic ("21", "31"); //  furniture
    s_assert_gbt_isic ("06", "05"); //  coal
    s_assert_gbt_isic ("44", "35"); //  electricity and heat
    s_assert_gbt_isic ("46", "36 37");
    s_assert_gbt_isic ("51", "46 45"); //  wholesale; vehicles are ISIC 45
    s_assert_gbt_isic ("83", "85");    //  education
    s_assert_gbt_isic ("97", "99");    //  international organizations

    assert_string_equal (cpec_codes_gbt_title ("13"),
                         "Processing of food from agricultural products");
    assert_string_equal (cpec_codes_gbt_title ("38"),
                         "Manufacture of electrical machinery and equipment");
    //  Quoted in the CSV because of its commas.
    assert_string_equal (cpec_codes_gbt_title ("15"),
                         "Manufacture of liquor, beverages and refined tea");

    //  Room for fewer than there are: the count, the first ones stored.
    const char *divisions[1] = {NULL};
    assert_int_equal (cpec_codes_gbt_isic ("35", divisions, 1), 3);
    assert_string_equal (divisions[0], "28");
    assert_int_equal (cpec_codes_gbt_isic ("35", NULL, 0), 3);
}

static void
test_gbt_codes (void **state)
{
    (void)state;
    //  Groups and classes answer for their division.
    assert_true (cpec_codes_gbt_valid ("131"));
    assert_true (cpec_codes_gbt_valid ("1311"));
    s_assert_gbt_isic ("1311", "10");
    s_assert_gbt_isic ("3612", "29");
    assert_string_equal (cpec_codes_gbt_title ("3612"), "Manufacture of automobiles");

    //  The section letter as GB/T writes it: GB/T's own, not ISIC's.
    assert_true (cpec_codes_gbt_valid ("C13"));
    assert_true (cpec_codes_gbt_valid ("C1311"));
    assert_true (cpec_codes_gbt_valid ("A01"));
    assert_true (cpec_codes_gbt_valid ("F51"));
    assert_true (cpec_codes_gbt_valid ("S92"));
    assert_true (cpec_codes_gbt_valid ("T97"));
    s_assert_gbt_isic ("C3812", "27");
    assert_string_equal (cpec_codes_gbt_title ("C38"), cpec_codes_gbt_title ("38"));

    const char *invalid[] = {
        "D13",   //  13 is in section C
        "G51",   //  wholesale is G in ISIC, F in GB/T
        "U97",   //  GB/T has no section U
        "B1311", //  wrong letter on a class
        "c13",   "",   "1",    "00",  "98",  "99", "9801", "13111",
        "C",     "C1", "CC13", " 13", "13 ", "1a", "13-1", "C 13",
    };
    for (size_t i = 0; i < sizeof (invalid) / sizeof (invalid[0]); i++) {
        const char *divisions[4];
        assert_false (cpec_codes_gbt_valid (invalid[i]));
        assert_int_equal (cpec_codes_gbt_isic (invalid[i], divisions, 4), -1);
        assert_null (cpec_codes_gbt_title (invalid[i]));
    }
    assert_false (cpec_codes_gbt_valid (NULL));
    assert_int_equal (cpec_codes_gbt_isic (NULL, NULL, 0), -1);
    assert_null (cpec_codes_gbt_title (NULL));
}

//  A division the table leaves unmapped is valid, has a title and maps to
//  nothing.
static void
test_gbt_unmapped (void **state)
{
    (void)state;
    const char *divisions[4] = {NULL};
    assert_true (cpec_codes_gbt_valid ("79"));
    assert_int_equal (cpec_codes_gbt_isic ("79", divisions, 4), 0);
    assert_null (divisions[0]);
    assert_string_equal (cpec_codes_gbt_title ("79"), "Land management");
    assert_int_equal (cpec_codes_gbt_isic ("N7910", divisions, 4), 0);
    assert_int_equal (cpec_codes_gbt_isic ("S91", divisions, 4), 0);
    assert_int_equal (cpec_codes_gbt_isic ("93", divisions, 4), 0);
    assert_int_equal (cpec_codes_gbt_isic ("961", divisions, 4), 0);
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
        cmocka_unit_test (test_gbt_count),
        cmocka_unit_test (test_gbt_isic_all_valid),
        cmocka_unit_test (test_gbt_known_mappings),
        cmocka_unit_test (test_gbt_codes),
        cmocka_unit_test (test_gbt_unmapped),
        cmocka_unit_test (test_csv_quoting),
    };
    return cmocka_run_group_tests (tests, 0, NULL);
}
