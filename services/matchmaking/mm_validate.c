/*  mm_validate - the rules of a profile. Pure: no Redis, no clock.

    Every error is INVALID_ARGUMENT with a message that starts with the
    field's path: "sectors[1]: '9999' is not an ISIC Rev.4 class", ...
*/
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_check.h"
#include "cpec_codes.h"
#include "cpec_pb.h"
#include "mm.h"

static const char *s_offer_names[] = {"OFFER_UNSPECIFIED",      "CAPITAL",      "TECHNOLOGY",
                                      "MANUFACTURING_CAPACITY", "DISTRIBUTION", "SITE",
                                      "RAW_MATERIALS"};
static const char *s_need_names[] = {"NEED_UNSPECIFIED", "JV_PARTNER", "SUPPLIER",       "BUYER",
                                     "TECHNOLOGY",       "INVESTMENT", "RELOCATION_SITE"};

const char *
mm_offer_name (int offer)
{
    return offer >= 0 && offer < 7 ? s_offer_names[offer] : "?";
}

const char *
mm_need_name (int need)
{
    return need >= 0 && need < 7 ? s_need_names[need] : "?";
}

const char *
mm_state_name (int state)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&cpec__v1__match__state__descriptor, state);
    return value ? value->name : "?";
}

static int s_invalid (cpec_status_t *status, const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_invalid (cpec_status_t *status, const char *format, ...)
{
    char message[400];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof (message), format, args);
    va_end (args);
    return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "%s", message);
}

//  A list of at most max texts, each valid UTF-8 of at most length
//  characters, none empty, none twice.
static int
s_texts (const char *path, char *const *values, size_t count, size_t max, long length,
         cpec_status_t *status)
{
    if (count > max)
        return s_invalid (status, "%s: at most %zu, not %zu", path, max, count);
    for (size_t i = 0; i < count; i++) {
        char item[64];
        snprintf (item, sizeof (item), "%s[%zu]", path, i);
        int rc = cpec_check_text (item, values[i], true, length, status);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp (values[i], values[j]) == 0)
                return s_invalid (status, "%s: '%.40s' is listed twice", item, values[i]);
    }
    return 0;
}

static int
s_number (const char *path, double value, cpec_status_t *status)
{
    if (!isfinite (value) || value < 0)
        return s_invalid (status, "%s: must be a finite number >= 0", path);
    return 0;
}

static int
s_products (const char *path, char *const *codes, size_t count, cpec_status_t *status)
{
    int rc = s_texts (path, codes, count, MM_PRODUCTS_MAX, 6, status);
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (cpec_codes_hs_level (codes[i]) != 6)
            rc = s_invalid (status, "%s[%zu]: '%.40s' is not an HS 6-digit subheading", path, i,
                            codes[i]);
    return rc;
}

static int
s_kinds (const char *path, const int *kinds, size_t count, const char *const *names,
         cpec_status_t *status)
{
    if (count > 6)
        return s_invalid (status, "%s: at most 6", path);
    for (size_t i = 0; i < count; i++) {
        if (kinds[i] <= 0 || kinds[i] > 6)
            return s_invalid (status, "%s[%zu]: must be one of %s, %s, %s, %s, %s, %s", path, i,
                              names[1], names[2], names[3], names[4], names[5], names[6]);
        for (size_t j = 0; j < i; j++)
            if (kinds[i] == kinds[j])
                return s_invalid (status, "%s[%zu]: %s is listed twice", path, i, names[kinds[i]]);
    }
    return 0;
}

int
mm_validate_enterprise (Cpec__V1__Enterprise *e, cpec_status_t *status)
{
    int rc = cpec_check_slug ("id", e->id, MM_ID_MAX, status);
    if (rc == 0)
        rc = cpec_check_text ("name", e->name, true, MM_NAME_MAX, status);
    if (rc == 0)
        rc = cpec_check_text ("name_zh", e->name_zh, false, MM_NAME_MAX, status);
    if (rc == 0)
        rc = cpec_check_text ("name_ur", e->name_ur, false, MM_NAME_MAX, status);
    if (rc == 0 && strcmp (e->country, "PK") != 0 && strcmp (e->country, "CN") != 0)
        rc = s_invalid (status, "country: must be PK or CN, not '%.20s'", e->country);
    if (rc == 0 && !mm_province_valid (e->country, e->province))
        rc = s_invalid (status, "province: '%.20s' is not an ISO 3166-2 code of %s (%s)",
                        e->province, strcmp (e->country, "PK") == 0 ? "Pakistan" : "China",
                        strcmp (e->country, "PK") == 0
                            ? "PK-BA, PK-GB, PK-IS, PK-JK, PK-KP, PK-PB, PK-SD"
                            : "CN-GD, CN-JS, CN-ZJ, ...");
    if (rc == 0)
        rc = cpec_check_text ("city", e->city, false, MM_TEXT_MAX, status);
    if (rc == 0 && e->n_sectors + e->n_sectors_gbt == 0)
        rc = s_invalid (status, "sectors: at least one ISIC Rev.4 class (or a GB/T 4754 code in "
                                "sectors_gbt)");
    if (rc == 0)
        rc = s_texts ("sectors", e->sectors, e->n_sectors, MM_SECTORS_MAX, 4, status);
    for (size_t i = 0; rc == 0 && i < e->n_sectors; i++)
        if (cpec_codes_isic_level (e->sectors[i]) != 4)
            rc = s_invalid (status, "sectors[%zu]: '%.40s' is not an ISIC Rev.4 class (4 digits)",
                            i, e->sectors[i]);
    if (rc == 0)
        rc = s_texts ("sectors_gbt", e->sectors_gbt, e->n_sectors_gbt, MM_SECTORS_MAX, 5, status);
    //  isic_divisions are computed from sectors_gbt, whatever was sent
    for (size_t i = 0; i < e->n_isic_divisions; i++)
        free (e->isic_divisions[i]);
    free (e->isic_divisions);
    e->isic_divisions = NULL;
    e->n_isic_divisions = 0;
    for (size_t i = 0; rc == 0 && i < e->n_sectors_gbt; i++) {
        const char *divisions[8];
        int count = cpec_codes_gbt_isic (e->sectors_gbt[i], divisions, 8);
        if (count < 0)
            rc = s_invalid (status, "sectors_gbt[%zu]: '%.40s' is not a GB/T 4754-2017 code", i,
                            e->sectors_gbt[i]);
        for (int j = 0; j < count; j++) {
            bool seen = false;
            for (size_t k = 0; k < e->n_isic_divisions && !seen; k++)
                seen = strcmp (e->isic_divisions[k], divisions[j]) == 0;
            if (seen || e->n_isic_divisions == MM_SECTORS_MAX)
                continue;
            e->isic_divisions = (char **)cpec_realloc (e->isic_divisions,
                                                       (e->n_isic_divisions + 1) * sizeof (char *));
            e->isic_divisions[e->n_isic_divisions++] = cpec_strdup (divisions[j]);
        }
    }
    if (rc == 0)
        rc = s_products ("products_made", e->products_made, e->n_products_made, status);
    if (rc == 0)
        rc = s_products ("products_bought", e->products_bought, e->n_products_bought, status);
    if (rc == 0)
        rc = s_kinds ("offers", (const int *)e->offers, e->n_offers, s_offer_names, status);
    if (rc == 0)
        rc = s_kinds ("needs", (const int *)e->needs, e->n_needs, s_need_names, status);
    if (rc == 0)
        rc = s_number ("revenue_usd", e->revenue_usd, status);
    if (rc == 0)
        rc = s_number ("investment_min_usd", e->investment_min_usd, status);
    if (rc == 0)
        rc = s_number ("investment_max_usd", e->investment_max_usd, status);
    if (rc == 0 && e->investment_min_usd > e->investment_max_usd)
        rc = s_invalid (status, "investment_min_usd: %.0f is above investment_max_usd %.0f",
                        e->investment_min_usd, e->investment_max_usd);
    if (rc == 0)
        rc = s_number ("site_acres", e->site_acres, status);
    if (rc == 0)
        rc = s_number ("power_mw", e->power_mw, status);
    if (rc == 0)
        rc = s_number ("gas_mmcfd", e->gas_mmcfd, status);
    if (rc == 0)
        rc = s_number ("water_mgd", e->water_mgd, status);
    if (rc == 0)
        rc = s_texts ("preferred_provinces", e->preferred_provinces, e->n_preferred_provinces,
                      MM_LIST_MAX, 8, status);
    for (size_t i = 0; rc == 0 && i < e->n_preferred_provinces; i++)
        if (!mm_province_index (e->preferred_provinces[i]))
            rc = s_invalid (status,
                            "preferred_provinces[%zu]: '%.20s' is not an ISO 3166-2 code of "
                            "Pakistan or China",
                            i, e->preferred_provinces[i]);
    if (rc == 0)
        rc = s_texts ("preferred_zones", e->preferred_zones, e->n_preferred_zones, MM_LIST_MAX,
                      MM_ID_MAX, status);
    for (size_t i = 0; rc == 0 && i < e->n_preferred_zones; i++)
        if (!cpec_check_slug_valid (e->preferred_zones[i], MM_ID_MAX))
            rc = s_invalid (status, "preferred_zones[%zu]: '%.40s' is not a zone id", i,
                            e->preferred_zones[i]);
    if (rc == 0)
        rc = s_texts ("certifications", e->certifications, e->n_certifications, MM_LIST_MAX,
                      MM_TEXT_MAX, status);
    if (rc == 0)
        rc = s_texts ("export_markets", e->export_markets, e->n_export_markets, 64, 2, status);
    for (size_t i = 0; rc == 0 && i < e->n_export_markets; i++) {
        const char *m = e->export_markets[i];
        if (strlen (m) != 2 || !isupper ((unsigned char)m[0]) || !isupper ((unsigned char)m[1]))
            rc = s_invalid (status,
                            "export_markets[%zu]: '%.20s' is not an ISO 3166-1 alpha-2 code", i, m);
    }
    if (rc == 0)
        rc = s_texts ("languages", e->languages, e->n_languages, 8, 3, status);
    for (size_t i = 0; rc == 0 && i < e->n_languages; i++) {
        const char *l = e->languages[i];
        size_t n = strlen (l);
        bool ok = n >= 2 && n <= 3;
        for (size_t j = 0; ok && j < n; j++)
            ok = islower ((unsigned char)l[j]);
        if (!ok)
            rc =
                s_invalid (status, "languages[%zu]: '%.20s' is not a lowercase ISO 639 code", i, l);
    }
    return rc;
}

static const char *s_mask_fixed[] = {"id", "version", "created", "updated", "isic_divisions"};

int
mm_validate_mask (char *const *mask, size_t count, cpec_status_t *status)
{
    for (size_t i = 0; i < count; i++) {
        if (!protobuf_c_message_descriptor_get_field_by_name (&cpec__v1__enterprise__descriptor,
                                                              mask[i]))
            return s_invalid (status, "update_mask[%zu]: '%.40s' is not a field of Enterprise", i,
                              mask[i]);
        for (size_t j = 0; j < sizeof (s_mask_fixed) / sizeof (s_mask_fixed[0]); j++)
            if (strcmp (mask[i], s_mask_fixed[j]) == 0)
                return s_invalid (status, "update_mask[%zu]: %s cannot be changed", i, mask[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp (mask[i], mask[j]) == 0)
                return s_invalid (status, "update_mask[%zu]: %s is listed twice", i, mask[i]);
    }
    return 0;
}
