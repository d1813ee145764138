/*  test_cpecctl_match - the synthetic enterprise profiles (synth.h) and what
    cpecctl's matchmaking commands do without a service.

    The generator: deterministic (the same (seed, index) gives the same
    packed bytes, in any order; another index or seed gives another
    profile); every profile of a data set passes the rules the Matchmaking
    service validates, checked here against the code tables; the data set
    looks like the CPEC economy (both countries, many sectors, mostly
    manufacturing, coherent sectors, products consistent with them, offers
    and needs typical of each side).

    The renderers: the top matches with their reasons, the zones with the
    excluded ones, the funnel, a match, a profile (exact lines; messages
    written in JSON and decoded with cpec_json, as the service's replies
    would be); the lines `events tail` prints for the profile and match
    events (published on an in-process bus); and the commands refuse bad
    usage before anything is sent.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpec_bus.h"
#include "cpec_codes.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "cpecctl.h"
#include "synth.h"
#include "text_test.h"

#define S_PROFILES 2000 //  profiles of the data set checked one by one

//  ---------------------------------------------------------------------------
//  Helpers

//  Checks a rendered text against the expected one, then frees it.
static void
s_expect (char *text, const char *expected)
{
    assert_non_null (text);
    assert_string_equal (text, expected);
    free (text);
}

static bool
s_in (const char *value, const char *const *set, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (strcmp (value, set[index]) == 0)
            return true;
    return false;
}

//  The packed bytes of a profile; the caller frees them.
static uint8_t *
s_pack (const Cpec__V1__Enterprise *enterprise, size_t *size)
{
    uint8_t *data = cpec_pb_pack (&enterprise->base, size);
    assert_non_null (data);
    return data;
}

static bool
s_same_bytes (const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    return a_size == b_size && memcmp (a, b, a_size) == 0;
}

//  Whether text is well-formed UTF-8 (no overlong forms, no surrogates).
static bool
s_utf8 (const char *text)
{
    const unsigned char *at = (const unsigned char *)text;
    while (*at) {
        unsigned char byte = *at++;
        int extra = byte < 0x80                   ? 0
                    : byte >= 0xC2 && byte < 0xE0 ? 1
                    : byte >= 0xE0 && byte < 0xF0 ? 2
                    : byte >= 0xF0 && byte < 0xF5 ? 3
                                                  : -1;
        if (extra < 0)
            return false;
        uint32_t code = byte & (0x7Fu >> extra);
        for (int each = 0; each < extra; each++, at++) {
            if ((*at & 0xC0) != 0x80)
                return false;
            code = code << 6 | (*at & 0x3Fu);
        }
        if ((extra == 2 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
            (extra == 3 && (code < 0x10000 || code > 0x10FFFF)))
            return false;
    }
    return true;
}

//  ---------------------------------------------------------------------------
//  The rules the service validates a profile against

static const char *const s_pk_provinces[] = {"PK-BA", "PK-GB", "PK-IS", "PK-JK",
                                             "PK-KP", "PK-PB", "PK-SD"};
static const char *const s_cn_provinces[] = {
    "CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GD", "CN-GS", "CN-GX", "CN-GZ", "CN-HA",
    "CN-HB", "CN-HE", "CN-HI", "CN-HK", "CN-HL", "CN-HN", "CN-JL", "CN-JS", "CN-JX",
    "CN-LN", "CN-MO", "CN-NM", "CN-NX", "CN-QH", "CN-SC", "CN-SD", "CN-SH", "CN-SN",
    "CN-SX", "CN-TJ", "CN-TW", "CN-XJ", "CN-XZ", "CN-YN", "CN-ZJ"};

#define S_COUNT(array) (sizeof (array) / sizeof ((array)[0]))

static bool
s_province_valid (const char *code)
{
    return s_in (code, s_pk_provinces, S_COUNT (s_pk_provinces)) ||
           s_in (code, s_cn_provinces, S_COUNT (s_cn_provinces));
}

//  ^[a-z0-9][a-z0-9-]{0,63}$
static bool
s_id_valid (const char *id)
{
    size_t length = strlen (id);
    return length >= 1 && length <= 64 && id[0] != '-' &&
           strspn (id, "abcdefghijklmnopqrstuvwxyz0123456789-") == length;
}

//  Fails the test naming the profile when a rule is broken.
#define S_RULE(condition, id)                                                                      \
    do {                                                                                           \
        if (!(condition))                                                                          \
            fail_msg ("%s breaks the rule %s", id, #condition);                                    \
    } while (0)

//  A repeated string field of codes: at most max, each valid, none twice.
static void
s_check_codes (const char *id, char **codes, size_t count, size_t max, int (*level) (const char *),
               int wanted)
{
    S_RULE (count <= max, id);
    for (size_t index = 0; index < count; index++) {
        S_RULE (level (codes[index]) == wanted, id);
        for (size_t other = 0; other < index; other++)
            S_RULE (strcmp (codes[index], codes[other]) != 0, id);
    }
}

//  Enum values of a repeated enum field: known, not the zero value, none twice.
static void
s_check_kinds (const char *id, const int *values, size_t count,
               const ProtobufCEnumDescriptor *descriptor)
{
    for (size_t index = 0; index < count; index++) {
        S_RULE (values[index] != 0, id);
        S_RULE (protobuf_c_enum_descriptor_get_value (descriptor, values[index]) != NULL, id);
        for (size_t other = 0; other < index; other++)
            S_RULE (values[index] != values[other], id);
    }
}

static void
s_check_profile (const Cpec__V1__Enterprise *self)
{
    const char *id = self->id;
    S_RULE (s_id_valid (id), id);
    S_RULE (*self->name != '\0' && strlen (self->name) <= 200 && s_utf8 (self->name), id);
    S_RULE (strlen (self->name_zh) <= 200 && s_utf8 (self->name_zh), id);
    bool chinese = strcmp (self->country, "CN") == 0;
    S_RULE (chinese || strcmp (self->country, "PK") == 0, id);
    S_RULE (strncmp (self->province, self->country, 2) == 0 && self->province[2] == '-', id);
    S_RULE (s_province_valid (self->province), id);

    S_RULE (self->n_sectors >= 1 && self->n_sectors <= 8, id);
    s_check_codes (id, self->sectors, self->n_sectors, 8, cpec_codes_isic_level, 4);
    s_check_codes (id, self->products_made, self->n_products_made, 16, cpec_codes_hs_level, 6);
    s_check_codes (id, self->products_bought, self->n_products_bought, 16, cpec_codes_hs_level, 6);

    const double numbers[] = {self->revenue_usd, self->investment_min_usd, self->investment_max_usd,
                              self->site_acres,  self->power_mw,           self->gas_mmcfd,
                              self->water_mgd};
    for (size_t index = 0; index < S_COUNT (numbers); index++)
        S_RULE (isfinite (numbers[index]) && numbers[index] >= 0, id);
    S_RULE (self->investment_min_usd <= self->investment_max_usd, id);

    S_RULE (self->n_languages <= 8, id);
    for (size_t index = 0; index < self->n_languages; index++) {
        size_t length = strlen (self->languages[index]);
        S_RULE (length >= 2 && length <= 3, id);
        S_RULE (strspn (self->languages[index], "abcdefghijklmnopqrstuvwxyz") == length, id);
    }
    s_check_kinds (id, (const int *)self->offers, self->n_offers,
                   &cpec__v1__offer__kind__descriptor);
    s_check_kinds (id, (const int *)self->needs, self->n_needs, &cpec__v1__need__kind__descriptor);
    for (size_t index = 0; index < self->n_preferred_provinces; index++)
        S_RULE (s_province_valid (self->preferred_provinces[index]), id);
}

//  ---------------------------------------------------------------------------
//  The generator: deterministic

static void
test_synth_deterministic (void **state)
{
    (void)state;
    const uint64_t seeds[] = {0, 1, 42, 4294967295u, UINT64_MAX};
    for (size_t each = 0; each < S_COUNT (seeds); each++) {
        uint64_t seed = seeds[each];
        //  Index 5 first, then 0..9: 5 is the same both times.
        Cpec__V1__Enterprise *alone = synth_enterprise (seed, 5);
        size_t alone_size = 0;
        uint8_t *alone_bytes = s_pack (alone, &alone_size);
        uint8_t *previous = NULL;
        size_t previous_size = 0;
        for (uint64_t index = 0; index < 10; index++) {
            Cpec__V1__Enterprise *first = synth_enterprise (seed, index);
            Cpec__V1__Enterprise *again = synth_enterprise (seed, index);
            size_t first_size = 0, again_size = 0;
            uint8_t *first_bytes = s_pack (first, &first_size);
            uint8_t *again_bytes = s_pack (again, &again_size);
            assert_true (s_same_bytes (first_bytes, first_size, again_bytes, again_size));
            if (index == 5)
                assert_true (s_same_bytes (first_bytes, first_size, alone_bytes, alone_size));
            //  Another index, another profile.
            if (previous)
                assert_false (s_same_bytes (first_bytes, first_size, previous, previous_size));
            char id[SYNTH_ID_SIZE];
            assert_string_equal (first->id, synth_enterprise_id (seed, index, id, sizeof (id)));
            free (previous);
            free (again_bytes);
            previous = first_bytes;
            previous_size = first_size;
            synth_enterprise_destroy (&first);
            synth_enterprise_destroy (&again);
            assert_null (first);
        }
        free (previous);
        free (alone_bytes);
        synth_enterprise_destroy (&alone);
    }
    //  Another data set, another profile at the same index (the ids aside).
    Cpec__V1__Enterprise *a = synth_enterprise (1, 0);
    Cpec__V1__Enterprise *b = synth_enterprise (2, 0);
    cpec_pb_string_set (&b->id, a->id);
    size_t a_size = 0, b_size = 0;
    uint8_t *a_bytes = s_pack (a, &a_size);
    uint8_t *b_bytes = s_pack (b, &b_size);
    assert_false (s_same_bytes (a_bytes, a_size, b_bytes, b_size));
    free (a_bytes);
    free (b_bytes);
    synth_enterprise_destroy (&a);
    synth_enterprise_destroy (&b);
    synth_enterprise_destroy (&b); //  idempotent
}

static void
test_synth_ids (void **state)
{
    (void)state;
    char id[SYNTH_ID_SIZE];
    assert_string_equal (synth_enterprise_id (42, 123, id, sizeof (id)), "syn-42-123");
    synth_enterprise_id (UINT64_MAX, UINT64_MAX, id, sizeof (id));
    assert_string_equal (id, "syn-18446744073709551615-18446744073709551615");
    assert_true (s_id_valid (id));
    //  The largest profile id still makes a valid profile.
    Cpec__V1__Enterprise *profile = synth_enterprise (UINT64_MAX, UINT64_MAX);
    s_check_profile (profile);
    synth_enterprise_destroy (&profile);
}

//  ---------------------------------------------------------------------------
//  The generator: valid and realistic profiles

//  The HS chapters the firms of an ISIC division make (the brief's table,
//  written independently of synth.c's): a product made must come from the
//  division of one of the firm's sectors. Service divisions make nothing.
static const struct
{
    const char *division;
    int from, to; //  HS chapters, inclusive
} s_made_chapters[] = {
    {"01", 7, 12},  {"01", 52, 52}, {"08", 25, 27}, {"10", 2, 21},  {"13", 50, 60}, {"13", 63, 63},
    {"14", 61, 62}, {"15", 41, 43}, {"15", 64, 64}, {"17", 48, 48}, {"20", 28, 38}, {"21", 30, 30},
    {"22", 39, 40}, {"23", 25, 25}, {"23", 68, 70}, {"24", 72, 76}, {"25", 73, 73}, {"25", 76, 76},
    {"25", 82, 83}, {"26", 84, 85}, {"26", 90, 90}, {"27", 84, 85}, {"28", 84, 84}, {"29", 87, 87},
    {"31", 94, 94}, {"35", 27, 27},
};

static bool
s_made_fits (const Cpec__V1__Enterprise *self, const char *product)
{
    int chapter = (product[0] - '0') * 10 + (product[1] - '0');
    for (size_t sector = 0; sector < self->n_sectors; sector++)
        for (size_t index = 0; index < S_COUNT (s_made_chapters); index++)
            if (strncmp (self->sectors[sector], s_made_chapters[index].division, 2) == 0 &&
                chapter >= s_made_chapters[index].from && chapter <= s_made_chapters[index].to)
                return true;
    return false;
}

static bool
s_offers (const Cpec__V1__Enterprise *self, Cpec__V1__Offer__Kind kind)
{
    for (size_t index = 0; index < self->n_offers; index++)
        if (self->offers[index] == kind)
            return true;
    return false;
}

static bool
s_needs (const Cpec__V1__Enterprise *self, Cpec__V1__Need__Kind kind)
{
    for (size_t index = 0; index < self->n_needs; index++)
        if (self->needs[index] == kind)
            return true;
    return false;
}

static bool
s_has (char **values, size_t count, const char *value)
{
    for (size_t index = 0; index < count; index++)
        if (strcmp (values[index], value) == 0)
            return true;
    return false;
}

static void
test_synth_profiles (void **state)
{
    (void)state;
    assert_null (cpec_codes_error ());
    int cn = 0, pk = 0, manufacturing = 0, sectors = 0, extra = 0, extra_same_division = 0;
    int cn_capital_or_technology = 0, cn_relocating = 0, pk_site_side = 0,
        pk_technology_or_investment = 0, pk_no_site = 0, makers = 0;
    bool divisions[100] = {false};
    for (uint64_t index = 0; index < S_PROFILES; index++) {
        Cpec__V1__Enterprise *self = synth_enterprise (42, index);
        s_check_profile (self);
        const char *id = self->id;
        char expected[SYNTH_ID_SIZE];
        assert_string_equal (id, synth_enterprise_id (42, index, expected, sizeof (expected)));

        //  What the service would get: the packed profile decodes again.
        size_t size = 0;
        uint8_t *bytes = s_pack (self, &size);
        ProtobufCMessage *decoded = cpec_pb_unpack (&cpec__v1__enterprise__descriptor, bytes, size);
        assert_non_null (decoded);
        cpec_pb_destroy (&decoded);
        free (bytes);

        bool chinese = strcmp (self->country, "CN") == 0;
        cn += chinese;
        pk += !chinese;
        S_RULE (self->employees >= 10 && self->employees <= 20000, id);
        S_RULE (self->revenue_usd > 0, id);
        S_RULE (self->investment_min_usd >= 0.5e6 && self->investment_max_usd <= 50e6, id);
        S_RULE (self->n_offers >= 1 && self->n_offers <= 3, id);
        S_RULE (self->n_needs >= 1 && self->n_needs <= 3, id);
        S_RULE (self->n_sectors <= 3, id);
        S_RULE (self->n_products_made <= 4 && self->n_products_bought <= 4, id);
        S_RULE (self->n_preferred_provinces <= 2, id);
        for (size_t each = 0; each < self->n_preferred_provinces; each++)
            S_RULE (strncmp (self->preferred_provinces[each], "PK-", 3) == 0, id);
        S_RULE (self->n_export_markets <= 3 && self->n_certifications <= 2, id);
        for (size_t each = 0; each < self->n_export_markets; each++)
            S_RULE (strlen (self->export_markets[each]) == 2 &&
                        strcmp (self->export_markets[each], self->country) != 0,
                    id);
        S_RULE (self->power_mw <= 50, id);
        //  Utilities only with a site.
        S_RULE (self->site_acres > 0 ||
                    (self->power_mw == 0 && self->gas_mmcfd == 0 && self->water_mgd == 0),
                id);

        //  Sectors: mostly manufacturing, the others near the first.
        for (size_t each = 0; each < self->n_sectors; each++) {
            const char *sector = self->sectors[each];
            divisions[(sector[0] - '0') * 10 + (sector[1] - '0')] = true;
            sectors++;
            manufacturing += strcmp (cpec_codes_isic_section (sector), "C") == 0;
            if (each > 0) {
                extra++;
                extra_same_division += strncmp (sector, self->sectors[0], 2) == 0;
            }
        }

        //  Products: those made come from the firm's divisions; nothing
        //  is both made and bought; a manufacturer makes something.
        for (size_t each = 0; each < self->n_products_made; each++) {
            if (!s_made_fits (self, self->products_made[each]))
                fail_msg ("%s (sectors %s...) makes %s", id, self->sectors[0],
                          self->products_made[each]);
            S_RULE (
                !s_has (self->products_bought, self->n_products_bought, self->products_made[each]),
                id);
        }
        if (strcmp (cpec_codes_isic_section (self->sectors[0]), "C") == 0) {
            S_RULE (self->n_products_made >= 1, id);
            makers++;
        }
        S_RULE (self->n_products_bought >= 1, id);

        //  Each side as it is.
        if (chinese) {
            S_RULE (*self->name_zh != '\0', id);
            S_RULE (s_has (self->languages, self->n_languages, "zh"), id);
            S_RULE (!s_offers (self, CPEC__V1__OFFER__KIND__SITE), id);
            cn_capital_or_technology += s_offers (self, CPEC__V1__OFFER__KIND__CAPITAL) ||
                                        s_offers (self, CPEC__V1__OFFER__KIND__TECHNOLOGY);
            if (s_needs (self, CPEC__V1__NEED__KIND__RELOCATION_SITE)) {
                S_RULE (self->site_acres >= 1 && self->site_acres <= 1000, id);
                cn_relocating++;
            } else
                S_RULE (self->site_acres == 0, id);
        } else {
            S_RULE (*self->name_zh == '\0', id);
            S_RULE (s_has (self->languages, self->n_languages, "en") &&
                        s_has (self->languages, self->n_languages, "ur"),
                    id);
            S_RULE (!s_needs (self, CPEC__V1__NEED__KIND__RELOCATION_SITE), id);
            S_RULE (self->site_acres <= 50, id);
            pk_site_side += s_offers (self, CPEC__V1__OFFER__KIND__SITE) ||
                            s_offers (self, CPEC__V1__OFFER__KIND__DISTRIBUTION) ||
                            s_offers (self, CPEC__V1__OFFER__KIND__RAW_MATERIALS) ||
                            s_offers (self, CPEC__V1__OFFER__KIND__MANUFACTURING_CAPACITY);
            pk_technology_or_investment += s_needs (self, CPEC__V1__NEED__KIND__TECHNOLOGY) ||
                                           s_needs (self, CPEC__V1__NEED__KIND__INVESTMENT);
            pk_no_site += self->site_acres == 0;
        }
        synth_enterprise_destroy (&self);
    }
    //  Both countries, about half each.
    assert_true (cn > S_PROFILES * 4 / 10 && pk > S_PROFILES * 4 / 10);
    //  Many divisions, manufacturing first, sectors coherent.
    int n_divisions = 0;
    for (int division = 0; division < 100; division++)
        n_divisions += divisions[division];
    assert_true (n_divisions >= 15);
    assert_true (manufacturing * 10 > sectors * 7);
    assert_true (extra > S_PROFILES / 4);
    assert_true (extra_same_division * 10 > extra * 7);
    assert_true (makers > S_PROFILES / 2);
    //  The sides: most Chinese firms bring capital or technology, many seek
    //  a site; most Pakistani firms bring a site, distribution, materials or
    //  capacity and seek technology or investment, and need no land.
    assert_true (cn_capital_or_technology * 10 > cn * 7);
    assert_true (cn_relocating * 10 > cn * 3);
    assert_true (pk_site_side * 10 > pk * 8);
    assert_true (pk_technology_or_investment * 10 > pk * 6);
    assert_true (pk_no_site * 10 > pk * 7);
}

//  Provinces follow industrial weight: Punjab and Sindh lead in Pakistan,
//  the coastal industrial provinces in China.
static void
test_synth_provinces (void **state)
{
    (void)state;
    int punjab_sindh = 0, pk = 0, industrial = 0, cn = 0;
    const char *const coast[] = {"CN-GD", "CN-JS", "CN-ZJ", "CN-SD", "CN-FJ", "CN-SH"};
    for (uint64_t index = 0; index < S_PROFILES; index++) {
        Cpec__V1__Enterprise *self = synth_enterprise (7, index);
        if (strcmp (self->country, "PK") == 0) {
            pk++;
            punjab_sindh +=
                strcmp (self->province, "PK-PB") == 0 || strcmp (self->province, "PK-SD") == 0;
        } else {
            cn++;
            industrial += s_in (self->province, coast, S_COUNT (coast));
        }
        synth_enterprise_destroy (&self);
    }
    assert_true (punjab_sindh * 10 > pk * 6);
    assert_true (industrial * 10 > cn * 5);
}

//  ---------------------------------------------------------------------------
//  The renderers

static void
test_top_table (void **state)
{
    (void)state;
    ProtobufCMessage *answer = text_decode (
        &cpec__v1__top_matches_response__descriptor,
        "{\"results\": ["
        " {\"enterprise_id\": \"syn-1-7\", \"score\": 87.46, \"name\": \"苏州纺织有限公司000007\","
        "  \"country\": \"CN\", \"province\": \"CN-JS\","
        "  \"reasons\": [\"makes 520512, which it buys\", \"offers TECHNOLOGY, which it needs\"]},"
        " {\"enterprise_id\": \"syn-1-12\", \"score\": 9,"
        "  \"name\": \"Karachi Garments Mills 000012\", \"country\": \"PK\","
        "  \"province\": \"PK-SD\"}],"
        " \"scored\": 1200}");
    //  The Chinese name takes 22 columns for 30 bytes: the columns after it
    //  still line up.
    s_expect (cpecctl_match_top_table ((Cpec__V1__TopMatchesResponse *)answer),
              "#  SCORE  ID        NAME                           COUNTRY  PROVINCE\n"
              "1   87.5  syn-1-7   苏州纺织有限公司000007         CN       CN-JS\n"
              "    - makes 520512, which it buys\n"
              "    - offers TECHNOLOGY, which it needs\n"
              "2    9.0  syn-1-12  Karachi Garments Mills 000012  PK       PK-SD\n"
              "scored 1200 profiles\n");
    cpec_pb_destroy (&answer);

    answer = text_decode (&cpec__v1__top_matches_response__descriptor, "{\"scored\": 1}");
    s_expect (cpecctl_match_top_table ((Cpec__V1__TopMatchesResponse *)answer),
              "no matches\nscored 1 profile\n");
    cpec_pb_destroy (&answer);
}

static void
test_zones_table (void **state)
{
    (void)state;
    ProtobufCMessage *answer =
        text_decode (&cpec__v1__recommend_zones_response__descriptor,
                     "{\"zones\": ["
                     " {\"zone_id\": \"rashakai\", \"score\": 81.3, \"province\": \"PK-KP\","
                     "  \"name\": \"Rashakai Special Economic Zone\","
                     "  \"commercial_operation\": \"2027-12-01T00:00:00Z\","
                     "  \"reasons\": [\"sector 1311 among the zone's\", \"20 MW available\"]},"
                     " {\"zone_id\": \"allama-iqbal\", \"score\": 64, \"province\": \"PK-PB\","
                     "  \"name\": \"Allama Iqbal Industrial City\"}],"
                     " \"excluded\": [\"bostan: 150 acres needed, 40 free\","
                     "  \"mohmand-marble-city: no sector in common\"]}");
    s_expect (cpecctl_match_zones_table ((Cpec__V1__RecommendZonesResponse *)answer),
              "#  SCORE  ZONE          PROVINCE  OPERATION   NAME\n"
              "1   81.3  rashakai      PK-KP     2027-12-01  Rashakai Special Economic Zone\n"
              "    - sector 1311 among the zone's\n"
              "    - 20 MW available\n"
              "2   64.0  allama-iqbal  PK-PB     -           Allama Iqbal Industrial City\n"
              "excluded:\n"
              "  bostan: 150 acres needed, 40 free\n"
              "  mohmand-marble-city: no sector in common\n");
    cpec_pb_destroy (&answer);

    answer = text_decode (&cpec__v1__recommend_zones_response__descriptor,
                          "{\"excluded\": [\"dhabeji: no land left\"]}");
    s_expect (cpecctl_match_zones_table ((Cpec__V1__RecommendZonesResponse *)answer),
              "no zone can hold the firm\nexcluded:\n  dhabeji: no land left\n");
    cpec_pb_destroy (&answer);
}

static void
test_funnel_table (void **state)
{
    (void)state;
    ProtobufCMessage *report = text_decode (
        &cpec__v1__funnel_report_response__descriptor,
        "{\"zones\": ["
        "  {\"key\": \"dhabeji\", \"total\": 3, \"states\": [{\"state\": \"PROPOSED\","
        "   \"matches\": 2}, {\"state\": \"ENTRY_APPLICATION\", \"matches\": 1}]},"
        "  {\"key\": \"\", \"total\": 14, \"states\": [{\"state\": \"PROPOSED\", \"matches\": 10},"
        "   {\"state\": \"DECLINED\", \"matches\": 4}]}],"
        " \"provinces\": ["
        "  {\"key\": \"PK-SD\", \"total\": 17, \"states\": [{\"state\": \"PROPOSED\","
        "   \"matches\": 12}, {\"state\": \"ENTRY_APPLICATION\", \"matches\": 1},"
        "   {\"state\": \"DECLINED\", \"matches\": 4}]}],"
        " \"all\": {\"total\": 17, \"states\": [{\"state\": \"PROPOSED\", \"matches\": 12},"
        "  {\"state\": \"ENTRY_APPLICATION\", \"matches\": 1},"
        "  {\"state\": \"DECLINED\", \"matches\": 4}]}}");
    const char *header = "  PROPOSED  INTEREST  MUTUAL_INTEREST  MEETING_SCHEDULED  MOU_SIGNED  "
                         "ENTRY_APPLICATION  PLOT_ALLOTTED  IN_PRODUCTION  DECLINED  EXPIRED  "
                         "TOTAL\n";
    char expected[4096];
    snprintf (expected, sizeof (expected),
              "ZONE    %s"
              "dhabeji          2         0                0                  0           0  "
              "                1              0              0         0        0      3\n"
              "-               10         0                0                  0           0  "
              "                0              0              0         4        0     14\n"
              "\n"
              "PROVINCE%s"
              "PK-SD           12         0                0                  0           0  "
              "                1              0              0         4        0     17\n"
              "\n"
              "SECTOR  %s"
              "\n"
              "total           12         0                0                  0           0  "
              "                1              0              0         4        0     17\n",
              header, header, header);
    s_expect (cpecctl_match_funnel_table ((Cpec__V1__FunnelReportResponse *)report), expected);
    cpec_pb_destroy (&report);
}

static void
test_match_text_and_table (void **state)
{
    (void)state;
    ProtobufCMessage *match = text_decode (
        &cpec__v1__match__descriptor,
        "{\"id\": \"m-1\", \"enterprise_a\": \"syn-1-7\", \"enterprise_b\": \"syn-1-12\","
        " \"state\": \"MEETING_SCHEDULED\", \"score\": 87.46,"
        " \"reasons\": [\"complementary products\"], \"interest_a\": true, \"interest_b\": true,"
        " \"meeting\": {\"at\": \"2026-12-01T05:00:00Z\", \"place\": \"Lahore Expo Centre\","
        "  \"online\": true},"
        " \"province\": \"PK-SD\", \"sector\": \"1311\", \"version\": 3, \"history\": ["
        "  {\"from\": \"PROPOSED\", \"to\": \"INTEREST\", \"at\": \"2026-11-01T00:00:00Z\","
        "   \"by\": \"alice\", \"enterprise_id\": \"syn-1-12\"},"
        "  {\"from\": \"INTEREST\", \"to\": \"MUTUAL_INTEREST\", \"at\": \"2026-11-02T00:00:00Z\","
        "   \"by\": \"bob\", \"enterprise_id\": \"syn-1-7\", \"note\": \"keen\"}]}");
    s_expect (cpecctl_match_text ((Cpec__V1__Match *)match),
              "id: m-1\n"
              "enterprise_a: syn-1-7\n"
              "enterprise_b: syn-1-12\n"
              "state: MEETING_SCHEDULED\n"
              "score: 87.5\n"
              "reasons[0]: complementary products\n"
              "interest_a: true\n"
              "interest_b: true\n"
              "meeting: 2026-12-01T05:00:00Z, Lahore Expo Centre (online)\n"
              "zone_id: -\n"
              "province: PK-SD\n"
              "sector: 1311\n"
              "expires_at: -\n"
              "reminded: false\n"
              "history[0]: 2026-11-01T00:00:00Z by alice: PROPOSED -> INTEREST (syn-1-12)\n"
              "history[1]: 2026-11-02T00:00:00Z by bob: INTEREST -> MUTUAL_INTEREST (syn-1-7): "
              "keen\n"
              "version: 3\n"
              "created: -\n"
              "updated: -\n");
    ProtobufCMessage *rows[] = {match};
    s_expect (cpecctl_match_table (rows, 1),
              "ID   STATE              SCORE  ENTERPRISE-A  ENTERPRISE-B  ZONE  PROVINCE  SECTOR\n"
              "m-1  MEETING_SCHEDULED   87.5  syn-1-7       syn-1-12      -     PK-SD     1311\n");
    cpec_pb_destroy (&match);
}

static void
test_enterprise_text_and_table (void **state)
{
    (void)state;
    ProtobufCMessage *enterprise = text_decode (
        &cpec__v1__enterprise__descriptor,
        "{\"id\": \"lahore-looms\", \"name\": \"Lahore Looms\", \"country\": \"PK\","
        " \"province\": \"PK-PB\", \"city\": \"Lahore\", \"sectors\": [\"1311\", \"1392\"],"
        " \"products_made\": [\"520512\"], \"products_bought\": [\"520100\", \"550320\"],"
        " \"employees\": 450, \"revenue_usd\": 12500000, \"offers\": [\"SITE\", \"DISTRIBUTION\"],"
        " \"needs\": [\"TECHNOLOGY\"], \"investment_min_usd\": 500000,"
        " \"investment_max_usd\": 2500000.5, \"languages\": [\"en\", \"ur\"], \"version\": 2,"
        " \"created\": {\"at\": \"2026-11-01T00:00:00Z\", \"by\": \"boi\"}}");
    char *text = cpecctl_ent_text ((Cpec__V1__Enterprise *)enterprise);
    const char *lines[] = {"id: lahore-looms\n",
                           "name_zh: -\n",
                           "sectors[0]: 1311 Preparation and spinning of textile fibres\n",
                           "sectors[1]: 1392 ",
                           "sectors_gbt: -\n",
                           "products_made: 520512\n",
                           "products_bought: 520100, 550320\n",
                           "employees: 450\n",
                           "revenue_usd: 12500000\n",
                           "offers: SITE, DISTRIBUTION\n",
                           "needs: TECHNOLOGY\n",
                           "investment_max_usd: 2500000.5\n",
                           "preferred_provinces: -\n",
                           "site_acres: 0\n",
                           "languages: en, ur\n",
                           "version: 2\n",
                           "created: 2026-11-01T00:00:00Z by boi\n",
                           "updated: -\n"};
    for (size_t index = 0; index < S_COUNT (lines); index++)
        if (strstr (text, lines[index]) == NULL)
            fail_msg ("no line \"%s\" in:\n%s", lines[index], text);
    free (text);
    ProtobufCMessage *rows[] = {enterprise};
    s_expect (cpecctl_ent_table (rows, 1),
              "ID            COUNTRY  PROVINCE  EMPLOYEES  SECTORS    NAME\n"
              "lahore-looms  PK       PK-PB           450  1311,1392  Lahore Looms\n");
    cpec_pb_destroy (&enterprise);

    //  A generated profile renders too, Chinese name and all.
    Cpec__V1__Enterprise *profile = NULL;
    for (uint64_t index = 0; profile == NULL; index++) {
        profile = synth_enterprise (3, index);
        if (strcmp (profile->country, "CN") != 0)
            synth_enterprise_destroy (&profile);
    }
    text = cpecctl_ent_text (profile);
    char line[512];
    snprintf (line, sizeof (line), "name_zh: %s\n", profile->name_zh);
    assert_non_null (strstr (text, line));
    free (text);
    synth_enterprise_destroy (&profile);
}

//  ---------------------------------------------------------------------------
//  events tail: the lines of the profile and match events, read from a bus
//  the test publishes on in-process (a bound PUB where the broker's proxy
//  would be), with stdout sent to a file while the command runs

#define S_BUS "inproc://test-cpecctl-match-events"

typedef struct
{
    cpecctl_t *ctl;
    int rc;
} s_tail_t;

static void *
s_tail_run (void *arg)
{
    s_tail_t *tail = (s_tail_t *)arg;
    char *argv[] = {NULL};
    tail->rc = cpecctl_events_tail (tail->ctl, 0, argv);
    return NULL;
}

//  One event of the test: its envelope (province PK-PB, at 2026-03-01T09:00Z)
//  and its payload, a JSON member.
typedef struct
{
    const char *type;
    const char *zone;
    const char *actor;
    const char *payload;
} s_bus_event_t;

//  Publishes an event as cpec_bus_publish does: [topic][packed Event].
static void
s_publish (zsock_t *pub, const s_bus_event_t *bus_event)
{
    char json[1024];
    snprintf (json, sizeof (json),
              "{\"id\":\"e-1\",\"type\":\"%s\",\"province\":\"PK-PB\",\"zone_id\":\"%s\","
              "\"occurred_at\":\"2026-03-01T09:00:00Z\",\"actor\":\"%s\",%s}",
              bus_event->type, bus_event->zone, bus_event->actor, bus_event->payload);
    Cpec__V1__Event *event = (Cpec__V1__Event *)text_decode (&cpec__v1__event__descriptor, json);
    char topic[256];
    cpec_bus_topic (event, topic, sizeof (topic));
    size_t size = 0;
    uint8_t *packed = cpec_pb_pack (&event->base, &size);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, topic);
    zmsg_addmem (msg, packed, size);
    free (packed);
    assert_int_equal (zmsg_send (&msg, pub), 0);
    cpec_pb_destroy ((ProtobufCMessage **)&event);
}

//  The file's text (the caller frees it).
static char *
s_slurp (const char *path)
{
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    char chunk[4096];
    size_t got;
    while ((got = fread (chunk, 1, sizeof (chunk), file)) > 0)
        fwrite (chunk, 1, got, out);
    fclose (out);
    fclose (file);
    return text;
}

//  Waits up to 5 s for needle to be in the file.
static bool
s_wait_for (const char *path, const char *needle, zsock_t *pub, const s_bus_event_t *republish)
{
    for (int i = 0; i < 250; i++) {
        if (republish)
            s_publish (pub, republish);
        char *text = s_slurp (path);
        bool found = strstr (text, needle) != NULL;
        free (text);
        if (found)
            return true;
        zclock_sleep (20);
    }
    return false;
}

static void
test_events_tail_lines (void **state)
{
    (void)state;
#define S_PAIR "\"match_id\":\"m-1\",\"enterprise_a\":\"pk-a\",\"enterprise_b\":\"cn-b\""
    static const s_bus_event_t events[] = {
        {"ProfileCreated", "", "boi-desk-1",
         "\"profile_changed\":{\"enterprise_id\":\"pk-a\",\"country\":\"PK\",\"version\":1}"},
        {"ProfileDeleted", "", "boi-desk-1",
         "\"profile_changed\":{\"enterprise_id\":\"cn-b\",\"country\":\"CN\",\"version\":4}"},
        {"ProfilesImported", "", "seed",
         "\"profiles_imported\":{\"enterprise_ids\":[\"syn-1-0\",\"syn-1-1\",\"syn-1-2\","
         "\"syn-1-3\",\"syn-1-4\",\"syn-1-5\",\"syn-1-6\"]}"},
        {"ProfilesImported", "", "seed",
         "\"profiles_imported\":{\"enterprise_ids\":[\"syn-1-7\"]}"},
        {"MatchProposed", "", "boi-desk-1",
         "\"match_moved\":{" S_PAIR ",\"to\":\"PROPOSED\",\"enterprise_id\":\"pk-a\"}"},
        {"MatchInterest", "", "cn-b",
         "\"match_moved\":{" S_PAIR
         ",\"from\":\"PROPOSED\",\"to\":\"INTEREST\",\"enterprise_id\":\"cn-b\"}"},
        {"MatchEntryApplication", "allama-iqbal", "boi-desk-1",
         "\"match_moved\":{" S_PAIR
         ",\"from\":\"MOU_SIGNED\",\"to\":\"ENTRY_APPLICATION\",\"zone_id\":\"allama-iqbal\"}"},
        {"MatchExpiring", "", "cpec-matchmaking",
         "\"match_expiring\":{" S_PAIR ",\"expires_at\":\"2026-03-08T09:00:00Z\"}"},
        {"MatchExpired", "", "cpec-matchmaking",
         "\"match_moved\":{" S_PAIR ",\"from\":\"INTEREST\",\"to\":\"EXPIRED\"}"},
    };
#undef S_PAIR
    const char *expected =
        "2026-03-01T09:00:00Z ProfileCreated PK-PB - pk-a (PK), version 1 by boi-desk-1\n"
        "2026-03-01T09:00:00Z ProfileDeleted PK-PB - cn-b (CN), version 4 by boi-desk-1\n"
        "2026-03-01T09:00:00Z ProfilesImported PK-PB - 7 profiles by seed: syn-1-0, syn-1-1, "
        "syn-1-2, syn-1-3, syn-1-4 and 2 more\n"
        "2026-03-01T09:00:00Z ProfilesImported PK-PB - 1 profile by seed: syn-1-7\n"
        "2026-03-01T09:00:00Z MatchProposed PK-PB - m-1 (pk-a, cn-b): PROPOSED, side pk-a by "
        "boi-desk-1\n"
        "2026-03-01T09:00:00Z MatchInterest PK-PB - m-1 (pk-a, cn-b): PROPOSED -> INTEREST, side "
        "cn-b by cn-b\n"
        "2026-03-01T09:00:00Z MatchEntryApplication PK-PB allama-iqbal m-1 (pk-a, cn-b): "
        "MOU_SIGNED -> ENTRY_APPLICATION by boi-desk-1\n"
        "2026-03-01T09:00:00Z MatchExpiring PK-PB - m-1 (pk-a, cn-b): expires "
        "2026-03-08T09:00:00Z\n"
        "2026-03-01T09:00:00Z MatchExpired PK-PB - m-1 (pk-a, cn-b): INTEREST -> EXPIRED by "
        "cpec-matchmaking\n";
    static const s_bus_event_t sync = {"Sync", "", "test", "\"request_id\":\"sync\""};

    zsys_init ();
    zsock_t *pub = zsock_new_pub ("@" S_BUS);
    assert_non_null (pub);
    static const cpec_config_var_t vars[] = {
        {"CPEC_BUS_SUB", CPEC_CONFIG_STRING, S_BUS, "the bus", 0, 0}, {NULL, 0, NULL, NULL, 0, 0}};
    setenv ("CPEC_BUS_SUB", S_BUS, 1);
    char *argv0[] = {"cpecctl", NULL};
    int exit_code = 0;
    cpecctl_t ctl = {cpec_config_new ("cpecctl", NULL, vars, 1, argv0, &exit_code), NULL, 1000};
    assert_non_null (ctl.config);

    //  stdout to a file while the command runs
    char path[] = "/tmp/test-cpecctl-events-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    fflush (stdout);
    int saved = dup (STDOUT_FILENO);
    assert_true (saved >= 0);
    assert_true (dup2 (fd, STDOUT_FILENO) >= 0);
    close (fd);
    s_tail_t tail = {&ctl, -1};
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_tail_run, &tail), 0);

    //  Once the subscription has arrived (a Sync event printed), each event
    //  once, in order
    bool synced = s_wait_for (path, " Sync ", pub, &sync);
    if (synced)
        for (size_t index = 0; index < S_COUNT (events); index++)
            s_publish (pub, &events[index]);
    bool all = synced && s_wait_for (path, " MatchExpired ", pub, NULL);
    zsys_interrupted = 1;
    pthread_join (thread, NULL);
    zsys_interrupted = 0;
    fflush (stdout);
    dup2 (saved, STDOUT_FILENO);
    close (saved);
    zsock_destroy (&pub);
    cpec_config_destroy (&ctl.config);
    unsetenv ("CPEC_BUS_SUB");

    //  The lines after the Sync ones
    char *text = s_slurp (path);
    unlink (path);
    assert_true (synced);
    assert_true (all);
    assert_int_equal (tail.rc, CPECCTL_EXIT_OK);
    const char *after = text;
    for (const char *sync_line = strstr (after, " Sync "); sync_line;
         sync_line = strstr (after, " Sync "))
        after = strchr (sync_line, '\n') + 1;
    assert_string_equal (after, expected);
    free (text);
}

//  ---------------------------------------------------------------------------
//  Arguments: refused before anything is sent (the context has no client:
//  reaching for it would crash)

static void
test_commands_refuse_bad_usage (void **state)
{
    (void)state;
    cpecctl_t self = {NULL, NULL, 1000};
    struct
    {
        cpecctl_handler_fn *handler;
        char *argv[8];
    } cases[] = {
        {cpecctl_ent_add, {NULL}},
        {cpecctl_ent_add, {"--file", "/nonexistent/f.json", NULL}},
        {cpecctl_ent_get, {NULL}},
        {cpecctl_ent_list, {"--country", "IN", NULL}},
        {cpecctl_ent_list, {"--frob", NULL}},
        {cpecctl_ent_rm, {NULL}},
        {cpecctl_ent_rm, {"a", "--json", NULL}},
        {cpecctl_match_top, {NULL}},
        {cpecctl_match_top, {"a", "--k", "0", NULL}},
        {cpecctl_match_top, {"a", "--k", "101", NULL}},
        {cpecctl_match_top, {"a", "--k", "ten", NULL}},
        {cpecctl_match_zones, {NULL}},
        {cpecctl_match_propose, {"a", NULL}},
        {cpecctl_match_propose, {"a", "", NULL}},
        {cpecctl_match_get, {NULL}},
        {cpecctl_match_list, {"--state", "STATE_UNSPECIFIED", NULL}},
        {cpecctl_match_list, {"--state", "interest", NULL}},
        {cpecctl_match_move, {"m-1", NULL}},
        {cpecctl_match_move, {"m-1", "SIGNED", NULL}},
        {cpecctl_match_move, {"m-1", "MEETING_SCHEDULED", "--at", "tomorrow", NULL}},
        {cpecctl_match_move, {"m-1", "INTEREST", "--version", "0", NULL}},
        {cpecctl_match_move, {"m-1", "INTEREST", "--online=yes", NULL}},
        {cpecctl_match_funnel, {"extra", NULL}},
        {cpecctl_seed_enterprises, {NULL}},
        {cpecctl_seed_enterprises, {"--count", "10", NULL}},
        {cpecctl_seed_enterprises, {"--seed", "1", NULL}},
        {cpecctl_seed_enterprises, {"--count", "0", "--seed", "1", NULL}},
        {cpecctl_seed_enterprises, {"--count", "10", "--seed", "-1", NULL}},
        {cpecctl_seed_enterprises, {"--count", "10", "--seed", "1", "--batch", "0", NULL}},
        {cpecctl_seed_enterprises, {"--count", "10", "--seed", "1", "--batch", "1001", NULL}},
    };
    for (size_t index = 0; index < S_COUNT (cases); index++) {
        int argc = 0;
        while (cases[index].argv[argc])
            argc++;
        if (cases[index].handler (&self, argc, cases[index].argv) != CPECCTL_EXIT_USAGE)
            fail_msg ("case %zu was not refused as bad usage", index);
    }
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_synth_deterministic),
        cmocka_unit_test (test_synth_ids),
        cmocka_unit_test (test_synth_profiles),
        cmocka_unit_test (test_synth_provinces),
        cmocka_unit_test (test_top_table),
        cmocka_unit_test (test_zones_table),
        cmocka_unit_test (test_funnel_table),
        cmocka_unit_test (test_match_text_and_table),
        cmocka_unit_test (test_enterprise_text_and_table),
        cmocka_unit_test (test_events_tail_lines),
        cmocka_unit_test (test_commands_refuse_bad_usage),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
