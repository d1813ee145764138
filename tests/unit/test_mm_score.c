/*  test_mm_score - the matchmaking score and index (services/matchmaking/
    mm_score.c, mm_index.c, mm_validate.c). No Redis: all of it is pure.

    - a complementary pair outranks a same-side pair;
    - a firm in an unrelated sector never outranks an otherwise equal firm
      in the same sector (nor one in the same group or division);
    - every result carries reasons; ties go by id, whatever the order of
      insertion;
    - the index returns exactly the brute force scan's top k (ids and
      scores) on random data sets, with and without filters, after
      updates and removals;
    - weights parse, and bad profiles are refused with the field named.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_codes.h"
#include "cpec_pb.h"
#include "mm.h"
#include "mm_test.h"

#define S_OFFER(x) CPEC__V1__OFFER__KIND__##x
#define S_NEED(x)  CPEC__V1__NEED__KIND__##x

//  A profile with the given id, country and one sector; the rest unset.
static Cpec__V1__Enterprise *
s_firm (const char *id, const char *country, const char *sector)
{
    return mm_test_firm (id, country, strcmp (country, "CN") == 0 ? "CN-GD" : "PK-PB", sector);
}
static void
s_offers (Cpec__V1__Enterprise *e, int count, ...)
{
    va_list args;
    va_start (args, count);
    e->offers = (Cpec__V1__Offer__Kind *)cpec_realloc (NULL, (size_t)count * sizeof (int));
    for (int i = 0; i < count; i++)
        e->offers[e->n_offers++] = (Cpec__V1__Offer__Kind)va_arg (args, int);
    va_end (args);
}

static void
s_needs (Cpec__V1__Enterprise *e, int count, ...)
{
    va_list args;
    va_start (args, count);
    e->needs = (Cpec__V1__Need__Kind *)cpec_realloc (NULL, (size_t)count * sizeof (int));
    for (int i = 0; i < count; i++)
        e->needs[e->n_needs++] = (Cpec__V1__Need__Kind)va_arg (args, int);
    va_end (args);
}

static int
s_score_of (const Cpec__V1__Enterprise *a, const Cpec__V1__Enterprise *b, mm_reasons_t *reasons)
{
    mm_profile_t pa, pb;
    mm_profile_fill (&pa, a);
    mm_profile_fill (&pb, b);
    int score = mm_score (&mm_weights_default, &pa, &pb, reasons);
    mm_profile_fini (&pa);
    mm_profile_fini (&pb);
    return score;
}

static void
test_complementary_outranks_same_side (void **state)
{
    (void)state;
    //  A Chinese maker that brings capital and technology and needs a site
    Cpec__V1__Enterprise *a = s_firm ("cn-maker", "CN", "2710");
    s_offers (a, 2, S_OFFER (CAPITAL), S_OFFER (TECHNOLOGY));
    s_needs (a, 1, S_NEED (RELOCATION_SITE));
    //  A Pakistani firm that offers the site and needs the technology
    Cpec__V1__Enterprise *complement = s_firm ("pk-site", "PK", "2710");
    s_offers (complement, 1, S_OFFER (SITE));
    s_needs (complement, 1, S_NEED (TECHNOLOGY));
    //  One on the same side: it too offers capital and needs a site
    Cpec__V1__Enterprise *same = s_firm ("pk-same", "PK", "2710");
    s_offers (same, 1, S_OFFER (CAPITAL));
    s_needs (same, 1, S_NEED (RELOCATION_SITE));
    mm_reasons_t reasons = {0};
    int good = s_score_of (a, complement, &reasons);
    int bad = s_score_of (a, same, NULL);
    assert_true (good > bad);
    //  2 of 2 needs met: all of the complement weight, and the reason says so
    assert_true (reasons.count >= 2);
    bool said = false;
    for (size_t i = 0; i < reasons.count; i++)
        said |= strstr (reasons.text[i], "complementary") != NULL &&
                strstr (reasons.text[i], "2 of 2 needs met") != NULL;
    assert_true (said);
    assert_int_equal (good - bad, mm_weights_default.complement * 100);
    mm_reasons_fini (&reasons);
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    cpec_pb_destroy ((ProtobufCMessage **)&complement);
    cpec_pb_destroy ((ProtobufCMessage **)&same);
}

static void
test_unrelated_sector_never_outranks (void **state)
{
    (void)state;
    //  Every ISIC class against 1311 (cotton spinning): a counterpart in
    //  the same class scores most, then the group (131), then the division
    //  (13), and an unrelated one never more than any of them.
    Cpec__V1__Enterprise *a = s_firm ("a", "CN", "1311");
    s_needs (a, 1, S_NEED (SUPPLIER));
    Cpec__V1__Enterprise *b = s_firm ("b", "PK", "1311");
    s_offers (b, 1, S_OFFER (RAW_MATERIALS));
    int same_class = s_score_of (a, b, NULL);
    int classes = cpec_codes_isic_count (4);
    for (int i = 0; i < classes; i++) {
        const char *code = cpec_codes_isic_at (4, i);
        cpec_pb_string_set (&b->sectors[0], code);
        int score = s_score_of (a, b, NULL);
        if (strcmp (code, "1311") == 0)
            assert_int_equal (score, same_class);
        else if (strncmp (code, "131", 3) == 0)
            assert_int_equal (same_class - score, mm_weights_default.sector * 40);
        else if (strncmp (code, "13", 2) == 0)
            assert_int_equal (same_class - score, mm_weights_default.sector * 70);
        else
            assert_int_equal (same_class - score, mm_weights_default.sector * 100);
    }
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    cpec_pb_destroy ((ProtobufCMessage **)&b);
}

static void
test_product_chain (void **state)
{
    (void)state;
    //  a buys copper wire (740811); b makes it; c makes another 7408 wire
    Cpec__V1__Enterprise *a = s_firm ("a", "PK", "2732");
    a->products_bought = (char **)cpec_realloc (NULL, sizeof (char *));
    a->products_bought[0] = cpec_strdup ("740811");
    a->n_products_bought = 1;
    Cpec__V1__Enterprise *b = s_firm ("b", "CN", "2420");
    b->products_made = (char **)cpec_realloc (NULL, sizeof (char *));
    b->products_made[0] = cpec_strdup ("740811");
    b->n_products_made = 1;
    mm_reasons_t reasons = {0};
    int chain = s_score_of (a, b, &reasons);
    assert_int_equal (chain, mm_weights_default.product * 100);
    assert_int_equal (reasons.count, 1);
    assert_non_null (strstr (reasons.text[0], "makes HS 740811"));
    mm_reasons_fini (&reasons);
    cpec_pb_string_set (&b->products_made[0], "740819");
    assert_int_equal (s_score_of (a, b, NULL), mm_weights_default.product * 50);
    cpec_pb_string_set (&b->products_made[0], "010121");
    assert_int_equal (s_score_of (a, b, NULL), 0);
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    cpec_pb_destroy ((ProtobufCMessage **)&b);
}

//  --------------------------------------------------------------------------
//  Random data sets, over a small universe of codes so that overlaps and
//  ties are frequent

static uint64_t
s_next (uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static const char *s_classes[] = {"1311", "1312", "1313", "1391", "1410", "2710", "2720",
                                  "2731", "2732", "2910", "2920", "2930", "2011", "2012"};
static const char *s_products[] = {"520100", "520512", "610910", "740811", "740819",
                                   "850110", "850440", "870899", "870829", "310210"};
static const char *s_provinces_pk[] = {"PK-PB", "PK-SD", "PK-KP", "PK-BA"};
static const char *s_provinces_cn[] = {"CN-GD", "CN-JS", "CN-ZJ"};

static void
s_pick (char ***list, size_t *n, const char **from, size_t size, int count, uint64_t *seed)
{
    *list = (char **)cpec_realloc (NULL, (size_t)(count + 1) * sizeof (char *));
    *n = 0;
    for (int i = 0; i < count; i++) {
        const char *code = from[s_next (seed) % size];
        bool seen = false;
        for (size_t j = 0; j < *n; j++)
            seen |= strcmp ((*list)[j], code) == 0;
        if (!seen)
            (*list)[(*n)++] = cpec_strdup (code);
    }
}

static Cpec__V1__Enterprise *
s_random (int index, uint64_t *seed)
{
    char id[32];
    snprintf (id, sizeof (id), "f%05d", (int)(s_next (seed) % 100000));
    //  ids may repeat: then the later one replaces the earlier, as an update
    bool cn = s_next (seed) % 2;
    Cpec__V1__Enterprise *e = s_firm (id, cn ? "CN" : "PK", "1311");
    (void)index;
    cpec_pb_string_set (&e->province,
                        cn ? s_provinces_cn[s_next (seed) % 3] : s_provinces_pk[s_next (seed) % 4]);
    for (size_t i = 0; i < e->n_sectors; i++)
        free (e->sectors[i]);
    free (e->sectors);
    s_pick (&e->sectors, &e->n_sectors, s_classes, 14, 1 + (int)(s_next (seed) % 3), seed);
    s_pick (&e->products_made, &e->n_products_made, s_products, 10, (int)(s_next (seed) % 3), seed);
    s_pick (&e->products_bought, &e->n_products_bought, s_products, 10, (int)(s_next (seed) % 3),
            seed);
    e->offers = (Cpec__V1__Offer__Kind *)cpec_realloc (NULL, 6 * sizeof (int));
    e->needs = (Cpec__V1__Need__Kind *)cpec_realloc (NULL, 6 * sizeof (int));
    for (int k = 1; k <= 6; k++) {
        if (s_next (seed) % 3 == 0)
            e->offers[e->n_offers++] = (Cpec__V1__Offer__Kind)k;
        if (s_next (seed) % 3 == 0)
            e->needs[e->n_needs++] = (Cpec__V1__Need__Kind)k;
    }
    //  few distinct sizes and ranges: many equal scores
    static const uint32_t sizes[] = {0, 50, 500, 5000, 51, 499, 5001, 12};
    e->employees = sizes[s_next (seed) % 8];
    double low = (double)(s_next (seed) % 4) * 1e6;
    e->investment_min_usd = low;
    e->investment_max_usd = low + (double)(s_next (seed) % 3) * 2e6;
    //  preferred provinces of either country, languages beyond en/zh/ur,
    //  GB/T divisions: every part of the postings' summaries is exercised
    e->preferred_provinces = (char **)cpec_realloc (NULL, 2 * sizeof (char *));
    if (s_next (seed) % 2)
        e->preferred_provinces[e->n_preferred_provinces++] =
            cpec_strdup (s_provinces_pk[s_next (seed) % 4]);
    if (s_next (seed) % 4 == 0)
        e->preferred_provinces[e->n_preferred_provinces++] =
            cpec_strdup (s_provinces_cn[s_next (seed) % 3]);
    static const char *languages[] = {"en", "zh", "ur", "ar", "fr"};
    e->languages = (char **)cpec_realloc (NULL, 2 * sizeof (char *));
    e->languages[e->n_languages++] = cpec_strdup (languages[s_next (seed) % 5]);
    if (s_next (seed) % 5 == 0) {
        static const char *divisions[] = {"13", "27", "29", "20"};
        e->isic_divisions = (char **)cpec_realloc (NULL, sizeof (char *));
        e->isic_divisions[e->n_isic_divisions++] = cpec_strdup (divisions[s_next (seed) % 4]);
    }
    return e;
}

static const mm_weights_t *s_weights = &mm_weights_default;

static void
s_check_same (mm_index_t *index, const mm_profile_t *a, const mm_filter_t *filter, size_t k,
              size_t *fewer)
{
    mm_hit_t top[64], brute[64];
    size_t scored_top = 0, scored_brute = 0;
    size_t n_top = mm_index_top (index, s_weights, a, filter, k, top, &scored_top);
    size_t n_brute = mm_index_brute (index, s_weights, a, filter, k, brute, &scored_brute);
    assert_int_equal (n_top, n_brute);
    for (size_t i = 0; i < n_top; i++) {
        assert_int_equal (top[i].score, brute[i].score);
        assert_string_equal (mm_index_slot (index, top[i].slot)->id,
                             mm_index_slot (index, brute[i].slot)->id);
        if (i > 0)
            assert_true (top[i - 1].score > top[i].score ||
                         (top[i - 1].score == top[i].score &&
                          strcmp (mm_index_slot (index, top[i - 1].slot)->id,
                                  mm_index_slot (index, top[i].slot)->id) < 0));
    }
    if (scored_top < scored_brute)
        (*fewer)++;
}

static void
test_index_equals_brute_force (void **state)
{
    (void)state;
    size_t queries = 0, fewer = 0;
    //  the default weights, then others (some parts weighing nothing)
    static const mm_weights_t others[] = {{25, 30, 25, 8, 6, 4, 2}, {10, 0, 40, 20, 10, 15, 5},
                                          {0, 50, 0, 30, 0, 20, 0}, {40, 10, 10, 10, 10, 10, 10},
                                          {25, 30, 25, 8, 6, 4, 2}, {5, 60, 25, 0, 10, 0, 0}};
    for (uint64_t set = 1; set <= 6; set++) {
        uint64_t seed = set * 7919;
        s_weights = &others[set - 1];
        mm_index_t *index = mm_index_new ();
        Cpec__V1__Enterprise *kept[40];
        int profiles = 300 + (int)set * 300;
        for (int i = 0; i < profiles; i++) {
            Cpec__V1__Enterprise *e = s_random (i, &seed);
            mm_index_put (index, e);
            if (i < 40)
                kept[i] = e;
            else
                cpec_pb_destroy ((ProtobufCMessage **)&e);
        }
        //  some removed, then queried as outsiders
        for (int i = 30; i < 40; i++)
            mm_index_remove (index, kept[i]->id);
        for (int q = 0; q < 40; q++) {
            mm_profile_t a;
            mm_profile_fill (&a, kept[q]);
            size_t ks[] = {1, 5, 10, 50};
            for (size_t j = 0; j < 4; j++, queries++)
                s_check_same (index, &a, NULL, ks[j], &fewer);
            //  with filters
            mm_filter_t filter = {0};
            filter.offers = (uint8_t)(1u << S_OFFER (TECHNOLOGY));
            s_check_same (index, &a, &filter, 10, &fewer);
            mm_filter_t min = {0};
            min.min_score = 4000;
            s_check_same (index, &a, &min, 10, &fewer);
            char *sectors[] = {(char *)"27"};
            mm_filter_t sector = {0};
            sector.sectors = sectors;
            sector.n_sectors = 1;
            s_check_same (index, &a, &sector, 10, &fewer);
            queries += 3;
            mm_profile_fini (&a);
        }
        for (int i = 0; i < 40; i++)
            cpec_pb_destroy ((ProtobufCMessage **)&kept[i]);
        mm_index_destroy (&index);
    }
    s_weights = &mm_weights_default;
    //  and the index did skip work on most of them
    assert_true (fewer * 2 > queries);
    printf ("%zu queries, %zu scored fewer profiles than the scan\n", queries, fewer);
}

static void
test_ties_by_id (void **state)
{
    (void)state;
    //  Identical counterparts: ranked by id whatever the insertion order
    mm_index_t *index = mm_index_new ();
    const char *ids[] = {"pk-c", "pk-a", "pk-e", "pk-b", "pk-d"};
    for (int i = 0; i < 5; i++) {
        Cpec__V1__Enterprise *e = s_firm (ids[i], "PK", "2710");
        mm_index_put (index, e);
        cpec_pb_destroy ((ProtobufCMessage **)&e);
    }
    Cpec__V1__Enterprise *a = s_firm ("cn", "CN", "2710");
    mm_profile_t pa;
    mm_profile_fill (&pa, a);
    mm_hit_t hits[5];
    assert_int_equal (mm_index_top (index, &mm_weights_default, &pa, NULL, 3, hits, NULL), 3);
    assert_string_equal (mm_index_slot (index, hits[0].slot)->id, "pk-a");
    assert_string_equal (mm_index_slot (index, hits[1].slot)->id, "pk-b");
    assert_string_equal (mm_index_slot (index, hits[2].slot)->id, "pk-c");
    //  the same country is never a counterpart
    Cpec__V1__Enterprise *same = s_firm ("pk-z", "PK", "2710");
    mm_profile_t ps;
    mm_profile_fill (&ps, same);
    assert_int_equal (mm_index_top (index, &mm_weights_default, &ps, NULL, 3, hits, NULL), 0);
    //  an update moves a profile out of its old lists
    cpec_pb_string_set (&same->id, "pk-a");
    cpec_pb_string_set (&same->sectors[0], "0111");
    mm_index_put (index, same);
    assert_int_equal (mm_index_size (index), 5);
    assert_int_equal (mm_index_top (index, &mm_weights_default, &pa, NULL, 5, hits, NULL), 5);
    assert_string_equal (mm_index_slot (index, hits[4].slot)->id, "pk-a");
    mm_profile_fini (&pa);
    mm_profile_fini (&ps);
    cpec_pb_destroy ((ProtobufCMessage **)&a);
    cpec_pb_destroy ((ProtobufCMessage **)&same);
    mm_index_destroy (&index);
}

static void
test_weights_parse (void **state)
{
    (void)state;
    mm_weights_t w;
    cpec_status_t status;
    assert_int_equal (mm_weights_parse ("", &w, &status), 0);
    assert_memory_equal (&w, &mm_weights_default, sizeof (w));
    assert_int_equal (mm_weights_parse ("sector=50, language=0", &w, &status), 0);
    assert_int_equal (w.sector, 50);
    assert_int_equal (w.language, 0);
    assert_int_equal (w.complement, mm_weights_default.complement);
    assert_int_equal (mm_weights_parse ("colour=5", &w, &status), -1);
    assert_non_null (strstr (status.message, "colour=5"));
    assert_int_equal (mm_weights_parse ("sector=101", &w, &status), -1);
    assert_int_equal (mm_weights_parse ("sector=", &w, &status), -1);
}

static void
test_validation (void **state)
{
    (void)state;
    cpec_status_t status;
    Cpec__V1__Enterprise *e = s_firm ("pk-textiles", "PK", "1311");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_OK);
    cpec_pb_string_set (&e->sectors[0], "9999");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "sectors[0]"));
    cpec_pb_string_set (&e->sectors[0], "13");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    cpec_pb_string_set (&e->sectors[0], "1311");
    e->products_made = (char **)cpec_realloc (NULL, sizeof (char *));
    e->products_made[0] = cpec_strdup ("019999");
    e->n_products_made = 1;
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "products_made[0]"));
    cpec_pb_string_set (&e->products_made[0], "520100");
    e->site_acres = -5;
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "site_acres"));
    e->site_acres = 5;
    cpec_pb_string_set (&e->province, "CN-GD");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "province"));
    cpec_pb_string_set (&e->province, "PK-SD");
    e->investment_min_usd = 5e6;
    e->investment_max_usd = 1e6;
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    e->investment_max_usd = 6e6;
    cpec_pb_string_set (&e->country, "IN");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "country"));
    cpec_pb_string_set (&e->country, "PK");
    cpec_pb_string_set (&e->id, "Bad Id");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    cpec_pb_string_set (&e->id, "pk-textiles");
    //  a GB/T code maps to ISIC divisions
    e->sectors_gbt = (char **)cpec_realloc (NULL, sizeof (char *));
    e->sectors_gbt[0] = cpec_strdup ("38");
    e->n_sectors_gbt = 1;
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_OK);
    assert_int_equal (e->n_isic_divisions, 1);
    assert_string_equal (e->isic_divisions[0], "27");
    cpec_pb_string_set (&e->sectors_gbt[0], "zz");
    assert_int_equal (mm_validate_enterprise (e, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "sectors_gbt[0]"));
    cpec_pb_destroy ((ProtobufCMessage **)&e);
    char *mask[] = {(char *)"sectors", (char *)"version"};
    assert_int_equal (mm_validate_mask (mask, 1, &status), CPEC_OK);
    assert_int_equal (mm_validate_mask (mask, 2, &status), CPEC_INVALID_ARGUMENT);
    assert_non_null (strstr (status.message, "update_mask[1]"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_complementary_outranks_same_side),
        cmocka_unit_test (test_unrelated_sector_never_outranks),
        cmocka_unit_test (test_product_chain),
        cmocka_unit_test (test_index_equals_brute_force),
        cmocka_unit_test (test_ties_by_id),
        cmocka_unit_test (test_weights_parse),
        cmocka_unit_test (test_validation),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
