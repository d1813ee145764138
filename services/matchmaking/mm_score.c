/*  mm_score - the compact profile and the score of a pair, with reasons.

    A score is a sum of parts, each at most its weight (mm_weights_t), in
    hundredths of a point (integers, so that every way of computing it
    agrees exactly):

      complement  the needs of each side that the other's offers meet, over
                  the needs of both (JV_PARTNER is met by CAPITAL, TECHNOLOGY
                  or MANUFACTURING_CAPACITY; SUPPLIER by MANUFACTURING_CAPACITY
                  or RAW_MATERIALS; BUYER by DISTRIBUTION; TECHNOLOGY by
                  TECHNOLOGY; INVESTMENT by CAPITAL; RELOCATION_SITE by SITE)
      sector      the closest pair of sectors: same ISIC class, else same
                  group (60%), else same division (30%; GB/T codes count at
                  division level)
      product     a subheading one makes and the other buys, else a heading
                  (50%)
      size        1 - |log10 of the ratio of employees| / 2, not below 0
      investment  the ranges overlap, else within a factor 2 (half)
      location    b in a province a prefers (60%), a in one b prefers (40%)
      language    a language in common
*/
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_codes.h"
#include "cpec_pb.h"
#include "mm.h"

const mm_weights_t mm_weights_default = {25, 30, 25, 8, 6, 4, 2};

//  --------------------------------------------------------------------------
//  Tables

static const char *s_provinces[] = {NULL,    "PK-BA", "PK-GB", "PK-IS", "PK-JK", "PK-KP", "PK-PB",
                                    "PK-SD", "CN-AH", "CN-BJ", "CN-CQ", "CN-FJ", "CN-GD", "CN-GS",
                                    "CN-GX", "CN-GZ", "CN-HA", "CN-HB", "CN-HE", "CN-HI", "CN-HK",
                                    "CN-HL", "CN-HN", "CN-JL", "CN-JS", "CN-JX", "CN-LN", "CN-MO",
                                    "CN-NM", "CN-NX", "CN-QH", "CN-SC", "CN-SD", "CN-SH", "CN-SN",
                                    "CN-SX", "CN-TJ", "CN-TW", "CN-XJ", "CN-XZ", "CN-YN", "CN-ZJ"};
#define S_PROVINCES (sizeof (s_provinces) / sizeof (s_provinces[0]))

int
mm_province_index (const char *code)
{
    for (size_t i = 1; code && i < S_PROVINCES; i++)
        if (strcmp (code, s_provinces[i]) == 0)
            return (int)i;
    return 0;
}

const char *
mm_province_code (int index)
{
    return index > 0 && (size_t)index < S_PROVINCES ? s_provinces[index] : NULL;
}

bool
mm_province_valid (const char *country, const char *code)
{
    int index = mm_province_index (code);
    return index > 0 && country && strncmp (code, country, 2) == 0;
}

static const char *s_languages[] = {"en", "zh", "ur", "ar", "fr", "de", "ru", "es",
                                    "pa", "sd", "ps", "ja", "ko", "tr", "fa", "ms"};

int
mm_language_index (const char *code)
{
    for (size_t i = 0; code && i < sizeof (s_languages) / sizeof (s_languages[0]); i++)
        if (strcmp (code, s_languages[i]) == 0)
            return (int)i;
    return -1;
}

//  Class -> group, division; subheading -> heading: built once.
static int *s_class_group, *s_class_division, *s_hs_heading;
static pthread_once_t s_tables_once = PTHREAD_ONCE_INIT;

static int
s_index_of (int level, const char *code, bool hs)
{
    int low = 0, high = (hs ? cpec_codes_hs_count (level) : cpec_codes_isic_count (level)) - 1;
    while (low <= high) {
        int middle = (low + high) / 2;
        const char *at = hs ? cpec_codes_hs_at (level, middle) : cpec_codes_isic_at (level, middle);
        int order = strcmp (at, code);
        if (order == 0)
            return middle;
        if (order < 0)
            low = middle + 1;
        else
            high = middle - 1;
    }
    return -1;
}

static void
s_tables_build (void)
{
    int classes = cpec_codes_isic_count (4), subheadings = cpec_codes_hs_count (6);
    s_class_group = (int *)cpec_realloc (NULL, (size_t)(classes + 1) * sizeof (int));
    s_class_division = (int *)cpec_realloc (NULL, (size_t)(classes + 1) * sizeof (int));
    s_hs_heading = (int *)cpec_realloc (NULL, (size_t)(subheadings + 1) * sizeof (int));
    for (int i = 0; i < classes; i++) {
        const char *group = cpec_codes_isic_parent (cpec_codes_isic_at (4, i));
        s_class_group[i] = s_index_of (3, group, false);
        s_class_division[i] = s_index_of (2, cpec_codes_isic_parent (group), false);
    }
    for (int i = 0; i < subheadings; i++)
        s_hs_heading[i] = s_index_of (4, cpec_codes_hs_parent (cpec_codes_hs_at (6, i)), true);
}

int
mm_class_group (int class_index)
{
    pthread_once (&s_tables_once, s_tables_build);
    return s_class_group[class_index];
}

int
mm_class_division (int class_index)
{
    pthread_once (&s_tables_once, s_tables_build);
    return s_class_division[class_index];
}

int
mm_hs_heading (int hs6_index)
{
    pthread_once (&s_tables_once, s_tables_build);
    return s_hs_heading[hs6_index];
}

//  --------------------------------------------------------------------------
//  Weights and configuration

static const char *s_weight_names[] = {"complement", "sector",   "product", "size",
                                       "investment", "location", "language"};

int
mm_weights_parse (const char *text, mm_weights_t *weights, cpec_status_t *status)
{
    *weights = mm_weights_default;
    int *values = (int *)weights;
    char *copy = cpec_strdup (text ? text : ""), *save = NULL;
    int rc = 0;
    for (char *item = strtok_r (copy, ",", &save); item && rc == 0;
         item = strtok_r (NULL, ",", &save)) {
        while (*item == ' ')
            item++;
        char *equals = strchr (item, '=');
        size_t i = 0;
        for (; equals && i < 7; i++)
            if (strlen (s_weight_names[i]) == (size_t)(equals - item) &&
                strncmp (item, s_weight_names[i], (size_t)(equals - item)) == 0)
                break;
        char *end = NULL;
        long value = equals ? strtol (equals + 1, &end, 10) : -1;
        if (!equals || i == 7 || end == equals + 1 || *end || value < 0 || value > 100)
            rc = cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                  "weights: '%s' is not name=0..100 with a name of complement, "
                                  "sector, product, size, investment, location, language",
                                  item);
        else
            values[i] = (int)value;
    }
    free (copy);
    return rc ? -1 : 0;
}

const cpec_config_var_t mm_config_vars[] = {
    {"CPEC_MATCH_WEIGHTS", CPEC_CONFIG_STRING, "",
     "weights of the score parts, e.g. complement=25,sector=30,product=25,size=8,investment=6,"
     "location=4,language=2 (the defaults)"},
    {"CPEC_MATCH_EXPIRY_DAYS", CPEC_CONFIG_STRING, "30",
     "days after which a proposal no side answered expires (fractions allowed)"},
    {"CPEC_MATCH_REMINDER_DAYS", CPEC_CONFIG_STRING, "7",
     "days before the expiry that the MatchExpiring reminder comes"},
    {"CPEC_MATCH_MILESTONES_TIMEOUT_MS", CPEC_CONFIG_INT, "500",
     "how long RecommendZones waits for the milestones service's forecast"},
    {NULL}};

static int
s_days (cpec_config_t *config, const char *name, int64_t *ms, cpec_status_t *status)
{
    const char *text = cpec_config_get (config, name);
    char *end = NULL;
    double days = strtod (text, &end);
    if (end == text || *end || !isfinite (days) || days < 0 || days > 3650)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s: '%s' is not 0..3650 days", name,
                                text),
               -1;
    *ms = (int64_t)llround (days * 86400000.0);
    return 0;
}

int
mm_config_read (mm_config_t *self, cpec_config_t *config, cpec_status_t *status)
{
    if (mm_weights_parse (cpec_config_get (config, "CPEC_MATCH_WEIGHTS"), &self->weights, status))
        return -1;
    if (s_days (config, "CPEC_MATCH_EXPIRY_DAYS", &self->expiry_ms, status) ||
        s_days (config, "CPEC_MATCH_REMINDER_DAYS", &self->reminder_ms, status))
        return -1;
    self->milestones_timeout_ms = (int)cpec_config_int (config, "CPEC_MATCH_MILESTONES_TIMEOUT_MS");
    if (self->reminder_ms > self->expiry_ms)
        self->reminder_ms = self->expiry_ms;
    return 0;
}

//  --------------------------------------------------------------------------
//  The compact profile

void
mm_profile_fill (mm_profile_t *profile, const Cpec__V1__Enterprise *enterprise)
{
    //  the tables the score reads directly (every scored profile was filled)
    pthread_once (&s_tables_once, s_tables_build);
    memset (profile, 0, sizeof (*profile));
    profile->id = cpec_strdup (enterprise->id);
    profile->name = cpec_strdup (enterprise->name ? enterprise->name : "");
    profile->country = strcmp (enterprise->country, "CN") == 0 ? MM_COUNTRY_CN : MM_COUNTRY_PK;
    profile->province = (uint8_t)mm_province_index (enterprise->province);
    for (size_t i = 0; i < enterprise->n_offers; i++)
        if (enterprise->offers[i] > 0 && enterprise->offers[i] < 8)
            profile->offers |= (uint8_t)(1u << enterprise->offers[i]);
    for (size_t i = 0; i < enterprise->n_needs; i++)
        if (enterprise->needs[i] > 0 && enterprise->needs[i] < 8)
            profile->needs |= (uint8_t)(1u << enterprise->needs[i]);
    for (size_t i = 0; i < enterprise->n_languages; i++) {
        int bit = mm_language_index (enterprise->languages[i]);
        if (bit >= 0)
            profile->languages |= (uint16_t)(1u << bit);
    }
    for (size_t i = 0; i < enterprise->n_sectors && profile->n_classes < MM_SECTORS_MAX; i++) {
        int index = s_index_of (4, enterprise->sectors[i], false);
        if (index >= 0)
            profile->classes[profile->n_classes++] = (uint16_t)index;
    }
    for (size_t i = 0; i < enterprise->n_isic_divisions && profile->n_divisions < MM_SECTORS_MAX;
         i++) {
        int index = s_index_of (2, enterprise->isic_divisions[i], false);
        if (index >= 0)
            profile->divisions[profile->n_divisions++] = (uint8_t)index;
    }
    for (size_t i = 0; i < enterprise->n_products_made && profile->n_made < MM_PRODUCTS_MAX; i++) {
        int index = s_index_of (6, enterprise->products_made[i], true);
        if (index >= 0)
            profile->made[profile->n_made++] = (uint16_t)index;
    }
    for (size_t i = 0; i < enterprise->n_products_bought && profile->n_bought < MM_PRODUCTS_MAX;
         i++) {
        int index = s_index_of (6, enterprise->products_bought[i], true);
        if (index >= 0)
            profile->bought[profile->n_bought++] = (uint16_t)index;
    }
    profile->employees = enterprise->employees;
    profile->investment_min = enterprise->investment_min_usd;
    profile->investment_max = enterprise->investment_max_usd;
    for (size_t i = 0; i < enterprise->n_preferred_provinces; i++) {
        int index = mm_province_index (enterprise->preferred_provinces[i]);
        if (index > 0)
            profile->preferred |= 1ull << index;
    }
    profile->live = true;
}

void
mm_profile_fini (mm_profile_t *profile)
{
    free (profile->id);
    free (profile->name);
    memset (profile, 0, sizeof (*profile));
}

void
mm_reasons_fini (mm_reasons_t *self)
{
    for (size_t i = 0; i < self->count; i++)
        free (self->text[i]);
    memset (self, 0, sizeof (*self));
}

//  Adds a reason (printf) worth points, keeping them strongest first.
static void s_reason (mm_reasons_t *self, int points, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_reason (mm_reasons_t *self, int points, const char *format, ...)
{
    if (!self || points <= 0 || self->count == 8)
        return;
    char text[400];
    va_list args;
    va_start (args, format);
    vsnprintf (text, sizeof (text), format, args);
    va_end (args);
    char *full = NULL;
    if (asprintf (&full, "%s (+%d.%02d)", text, points / 100, points % 100) < 0)
        abort ();
    size_t at = self->count;
    while (at > 0 && self->points[at - 1] < points) {
        self->text[at] = self->text[at - 1];
        self->points[at] = self->points[at - 1];
        at--;
    }
    self->text[at] = full;
    self->points[at] = points;
    self->count++;
}

//  --------------------------------------------------------------------------
//  The score

//  The offers (bits) that meet each need.
static const uint8_t s_meets[7] = {
    0,
    (1u << CPEC__V1__OFFER__KIND__CAPITAL) | (1u << CPEC__V1__OFFER__KIND__TECHNOLOGY) |
        (1u << CPEC__V1__OFFER__KIND__MANUFACTURING_CAPACITY), //  JV_PARTNER
    (1u << CPEC__V1__OFFER__KIND__MANUFACTURING_CAPACITY) |
        (1u << CPEC__V1__OFFER__KIND__RAW_MATERIALS), //  SUPPLIER
    (1u << CPEC__V1__OFFER__KIND__DISTRIBUTION),      //  BUYER
    (1u << CPEC__V1__OFFER__KIND__TECHNOLOGY),        //  TECHNOLOGY
    (1u << CPEC__V1__OFFER__KIND__CAPITAL),           //  INVESTMENT
    (1u << CPEC__V1__OFFER__KIND__SITE),              //  RELOCATION_SITE
};

//  The needs (bits) of `needs` that `offers` meet.
static uint8_t
s_met (uint8_t needs, uint8_t offers)
{
    uint8_t met = 0;
    for (int need = 1; need < 7; need++)
        if ((needs & (1u << need)) && (offers & s_meets[need]))
            met |= (uint8_t)(1u << need);
    return met;
}

//  "TECHNOLOGY, CAPITAL" of the needs in bits into buf.
static const char *
s_need_list (uint8_t bits, char *buf, size_t size)
{
    buf[0] = '\0';
    for (int need = 1; need < 7; need++)
        if (bits & (1u << need)) {
            size_t used = strlen (buf);
            snprintf (buf + used, size - used, "%s%s", used ? ", " : "", mm_need_name (need));
        }
    return buf;
}

//  The complement part of a pair from their offers and needs (bits).
static int
s_complement_points (const mm_weights_t *w, uint8_t a_offers, uint8_t a_needs, uint8_t b_offers,
                     uint8_t b_needs)
{
    int needs = __builtin_popcount (a_needs) + __builtin_popcount (b_needs);
    if (needs == 0 || w->complement == 0)
        return 0;
    int met = __builtin_popcount (s_met (a_needs, b_offers)) +
              __builtin_popcount (s_met (b_needs, a_offers));
    return w->complement * 100 * met / needs;
}

uint16_t
mm_signature (const mm_profile_t *profile)
{
    return (uint16_t)(((profile->offers >> 1) & 63) | (((profile->needs >> 1) & 63) << 6));
}

int
mm_complement_points (const mm_weights_t *weights, const mm_profile_t *a, uint16_t signature)
{
    return s_complement_points (weights, a->offers, a->needs, (uint8_t)((signature & 63) << 1),
                                (uint8_t)(((signature >> 6) & 63) << 1));
}

static int
s_complement (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b,
              mm_reasons_t *reasons)
{
    int points = s_complement_points (w, a->offers, a->needs, b->offers, b->needs);
    if (points == 0)
        return 0;
    uint8_t met_a = s_met (a->needs, b->offers), met_b = s_met (b->needs, a->offers);
    int met = __builtin_popcount (met_a) + __builtin_popcount (met_b);
    int needs = __builtin_popcount (a->needs) + __builtin_popcount (b->needs);
    if (reasons && points > 0) {
        char mine[128], theirs[128];
        s_need_list (met_a, mine, sizeof (mine));
        s_need_list (met_b, theirs, sizeof (theirs));
        if (met_a && met_b)
            s_reason (reasons, points,
                      "complementary: its offers meet this firm's needs (%s) and this firm's "
                      "offers meet its needs (%s); %d of %d needs met",
                      mine, theirs, met, needs);
        else
            s_reason (reasons, points,
                      "complementary: %s offers meet %s needs (%s); %d of %d needs met",
                      met_a ? "its" : "this firm's", met_a ? "this firm's" : "its",
                      met_a ? mine : theirs, met, needs);
    }
    return points;
}

static int
s_sector (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b,
          mm_reasons_t *reasons)
{
    if (w->sector == 0)
        return 0;
    int best = 0; //  3 class, 2 group, 1 division
    int best_code = -1;
    for (int i = 0; i < a->n_classes && best < 3; i++)
        for (int j = 0; j < b->n_classes && best < 3; j++) {
            int ca = a->classes[i], cb = b->classes[j];
            if (ca == cb)
                best = 3, best_code = ca;
            else if (best < 2 && s_class_group[ca] == s_class_group[cb])
                best = 2, best_code = ca;
            else if (best < 1 && s_class_division[ca] == s_class_division[cb])
                best = 1, best_code = ca;
        }
    int division_code = -1; //  a division shared through a GB/T mapping
    if (best == 0) {
        for (int i = 0; i < a->n_classes + a->n_divisions && division_code < 0; i++) {
            int da =
                i < a->n_classes ? s_class_division[a->classes[i]] : a->divisions[i - a->n_classes];
            for (int j = 0; j < b->n_classes + b->n_divisions; j++) {
                int db = j < b->n_classes ? s_class_division[b->classes[j]]
                                          : b->divisions[j - b->n_classes];
                if (da == db) {
                    division_code = da;
                    break;
                }
            }
        }
        if (division_code >= 0)
            best = 1;
    }
    static const int percent[] = {0, 30, 60, 100};
    int points = w->sector * percent[best];
    if (reasons && points > 0) {
        if (best == 3) {
            const char *code = cpec_codes_isic_at (4, best_code);
            s_reason (reasons, points, "same ISIC class %s (%s)", code,
                      cpec_codes_isic_title (code));
        } else if (best == 2)
            s_reason (reasons, points, "same ISIC group %s",
                      cpec_codes_isic_at (3, mm_class_group (best_code)));
        else
            s_reason (reasons, points, "same ISIC division %s",
                      cpec_codes_isic_at (2, division_code >= 0 ? division_code
                                                                : mm_class_division (best_code)));
    }
    return points;
}

//  The first subheading of x also in y (-1: none); at heading level when
//  heading.
static int
s_shared (const uint16_t *x, int nx, const uint16_t *y, int ny, bool heading)
{
    for (int i = 0; i < nx; i++)
        for (int j = 0; j < ny; j++)
            if (heading ? s_hs_heading[x[i]] == s_hs_heading[y[j]] : x[i] == y[j])
                return x[i];
    return -1;
}

static int
s_product (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b,
           mm_reasons_t *reasons)
{
    if (w->product == 0)
        return 0;
    for (int heading = 0; heading < 2; heading++) {
        int sold = s_shared (b->made, b->n_made, a->bought, a->n_bought, heading);
        int bought = sold < 0 ? s_shared (b->bought, b->n_bought, a->made, a->n_made, heading) : -1;
        if (sold < 0 && bought < 0)
            continue;
        int points = heading ? w->product * 50 : w->product * 100;
        if (reasons) {
            int code = sold >= 0 ? sold : bought;
            const char *text =
                heading ? cpec_codes_hs_at (4, mm_hs_heading (code)) : cpec_codes_hs_at (6, code);
            s_reason (reasons, points, "product chain: %s HS %s%s (%s), which this firm %s",
                      sold >= 0 ? "makes" : "buys", heading ? "heading " : "", text,
                      cpec_codes_hs_title (text), sold >= 0 ? "buys" : "makes");
        }
        return points;
    }
    return 0;
}

static int
s_size (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b, mm_reasons_t *reasons)
{
    if (w->size == 0 || a->employees == 0 || b->employees == 0)
        return 0;
    double gap = fabs (log10 ((double)a->employees / (double)b->employees));
    double fit = 1.0 - gap / 2.0;
    if (fit <= 0)
        return 0;
    int points = (int)floor (fit * w->size * 100 + 1e-9);
    if (reasons && points > 0)
        s_reason (reasons, points, "size: %u employees beside this firm's %u", b->employees,
                  a->employees);
    return points;
}

static int
s_investment (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b,
              mm_reasons_t *reasons)
{
    if (w->investment == 0 || a->investment_max <= 0 || b->investment_max <= 0)
        return 0;
    double low = a->investment_min > b->investment_min ? a->investment_min : b->investment_min;
    double high = a->investment_max < b->investment_max ? a->investment_max : b->investment_max;
    int points = 0;
    if (low <= high)
        points = w->investment * 100;
    else if (low <= 2 * high)
        points = w->investment * 50;
    if (reasons && points > 0)
        s_reason (reasons, points, "investment: USD %.0f-%.0f %s USD %.0f-%.0f of this firm",
                  b->investment_min, b->investment_max,
                  low <= high ? "overlaps" : "is within a factor 2 of", a->investment_min,
                  a->investment_max);
    return points;
}

static int
s_location (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b,
            mm_reasons_t *reasons)
{
    int points = 0;
    if (b->province && (a->preferred & (1ull << b->province))) {
        points += w->location * 60;
        s_reason (reasons, w->location * 60, "location: in %s, a province this firm prefers",
                  mm_province_code (b->province));
    }
    if (a->province && (b->preferred & (1ull << a->province))) {
        points += w->location * 40;
        s_reason (reasons, w->location * 40, "location: prefers %s, where this firm is",
                  mm_province_code (a->province));
    }
    return points;
}

static int
s_language (const mm_weights_t *w, const mm_profile_t *a, const mm_profile_t *b,
            mm_reasons_t *reasons)
{
    uint16_t common = a->languages & b->languages;
    if (!common || w->language == 0)
        return 0;
    if (reasons) {
        char list[64] = "";
        for (int i = 0; i < 16; i++)
            if (common & (1u << i)) {
                size_t used = strlen (list);
                snprintf (list + used, sizeof (list) - used, "%s%s", used ? ", " : "",
                          s_languages[i]);
            }
        s_reason (reasons, w->language * 100, "language in common: %s", list);
    }
    return w->language * 100;
}

int
mm_score (const mm_weights_t *weights, const mm_profile_t *a, const mm_profile_t *b,
          mm_reasons_t *reasons)
{
    assert (weights && a && b);
    return s_complement (weights, a, b, reasons) + s_sector (weights, a, b, reasons) +
           s_product (weights, a, b, reasons) + s_size (weights, a, b, reasons) +
           s_investment (weights, a, b, reasons) + s_location (weights, a, b, reasons) +
           s_language (weights, a, b, reasons);
}

//  --------------------------------------------------------------------------
//  Bounds from what a posting carries (mm_index.c): each at least the part
//  it bounds, for any profile the summary fits

uint16_t
mm_size_bucket (uint32_t employees)
{
    if (employees == 0)
        return 0;
    int bucket = 1 + (int)floor (log10 ((double)employees) * 256);
    return (uint16_t)(bucket < 1 ? 1 : bucket >= MM_SIZE_BUCKETS ? MM_SIZE_BUCKETS - 1 : bucket);
}

int
mm_size_bound (const mm_weights_t *w, const mm_profile_t *a, uint16_t bucket)
{
    if (w->size == 0 || a->employees == 0 || bucket == 0)
        return 0;
    //  the bucket holds log10 (employees) in [(bucket - 1) / 256, bucket / 256)
    double own = log10 ((double)a->employees), low = (bucket - 1) / 256.0, high = bucket / 256.0;
    double gap = own < low ? low - own : own > high ? own - high : 0;
    double fit = 1.0 - gap / 2.0;
    if (fit <= 0)
        return 0;
    int bound = (int)floor (fit * w->size * 100 + 1e-9) + 1; //  + 1: the edge's rounding
    return bound > w->size * 100 ? w->size * 100 : bound;
}

uint8_t
mm_money_bucket (double usd)
{
    if (!(usd > 0))
        return 0;
    int bucket = 1 + (int)floor ((log10 (usd) - 3) * 8);
    return (uint8_t)(bucket < 1 ? 1 : bucket > 63 ? 63 : bucket);
}

//  The amounts a money bucket holds: [low, high].
static void
s_money_range (uint8_t bucket, double *low, double *high)
{
    *low = bucket <= 1 ? 0 : pow (10, 3 + (bucket - 1) / 8.0);
    *high = bucket == 0 ? 0 : bucket >= 63 ? HUGE_VAL : pow (10, 3 + bucket / 8.0);
}

int
mm_investment_bound (const mm_weights_t *w, const mm_profile_t *a, uint8_t min_bucket,
                     uint8_t max_bucket)
{
    if (w->investment == 0 || a->investment_max <= 0 || max_bucket == 0)
        return 0;
    //  the most favourable range the buckets allow: its minimum as low, its
    //  maximum as high as they go
    double min_low, min_high, max_low, max_high;
    s_money_range (min_bucket, &min_low, &min_high);
    s_money_range (max_bucket, &max_low, &max_high);
    double low = a->investment_min > min_low ? a->investment_min : min_low;
    double high = a->investment_max < max_high ? a->investment_max : max_high;
    if (low <= high)
        return w->investment * 100;
    if (low <= 2 * high)
        return w->investment * 50;
    return 0;
}

uint8_t
mm_language_bits (const mm_profile_t *profile)
{
    //  en, zh, ur as themselves; any other language as bit 3
    return (uint8_t)((profile->languages & 7) | ((profile->languages & ~7u) ? 8 : 0));
}

int
mm_language_bound (const mm_weights_t *w, const mm_profile_t *a, uint8_t bits)
{
    return (mm_language_bits (a) & bits) ? w->language * 100 : 0;
}

uint8_t
mm_prefers_bits (const mm_profile_t *profile)
{
    //  Pakistan's seven units as themselves (bits 0-6), any Chinese province
    //  as bit 7
    uint8_t bits = (uint8_t)((profile->preferred >> 1) & 0x7f);
    if (profile->preferred >> 8)
        bits |= 0x80;
    return bits;
}

int
mm_location_bound (const mm_weights_t *w, const mm_profile_t *a, uint8_t province, uint8_t prefers)
{
    int percent = province && (a->preferred & (1ull << province)) ? 60 : 0;
    if (a->province) {
        uint8_t own = a->province <= 7 ? (uint8_t)(1u << (a->province - 1)) : 0x80;
        if (prefers & own)
            percent += 40;
    }
    return w->location * percent;
}

int
mm_score_free_bound (const mm_weights_t *weights, const mm_profile_t *a)
{
    //  location: b in a province a prefers (60%), a in one b prefers (40%)
    int bound = weights->complement * 100 +
                weights->location * ((a->preferred ? 60 : 0) + (a->province ? 40 : 0));
    if (a->employees)
        bound += weights->size * 100;
    if (a->investment_max > 0)
        bound += weights->investment * 100;
    if (a->languages)
        bound += weights->language * 100;
    return bound;
}
