/*  notify_rules - the notifier's rules, pure: configuration, severity,
    filters, delivery ids, what an answer means, back-off, digest times,
    validation of a subscription. See notify.h.
*/
#include <assert.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpec_check.h"
#include "cpec_status.h"
#include "notify.h"

#define S_HOUR_MS   3600000LL
#define S_PKT_MS    (5 * S_HOUR_MS) //  Pakistan: UTC+5, no daylight saving
#define S_LIST_MAX  64              //  entries of a filter list
#define S_URL_MAX   2048
#define S_EMAIL_MAX 254

// clang-format off
const cpec_config_var_t notify_config_vars[] = {
    {"CPEC_NOTIFY_SMTP_URL", CPEC_CONFIG_STRING, "",
     "SMTP relay for e-mail, smtp://host:port (smtps:// for TLS); empty: e-mail deliveries fail"},
    {"CPEC_NOTIFY_MAIL_FROM", CPEC_CONFIG_STRING, "cpec-notify@localhost",
     "From address of e-mail notifications"},
    {"CPEC_NOTIFY_HTTP_TIMEOUT_MS", CPEC_CONFIG_INT, "10000",
     "time-out of one delivery attempt, connection included", 100, 300000},
    {"CPEC_NOTIFY_MAX_ATTEMPTS", CPEC_CONFIG_INT, "40",
     "attempts before a delivery is dead-lettered", 1, 1000},
    {"CPEC_NOTIFY_MAX_AGE_S", CPEC_CONFIG_INT, "86400",
     "a delivery not done after this many seconds is dead-lettered", 1, 30 * 86400},
    {"CPEC_NOTIFY_BACKOFF_BASE_MS", CPEC_CONFIG_INT, "1000",
     "wait before the first retry (doubled at each attempt, with jitter)", 1, 3600000},
    {"CPEC_NOTIFY_BACKOFF_MAX_MS", CPEC_CONFIG_INT, "300000",
     "longest wait between two attempts", 1, 86400000},
    {"CPEC_NOTIFY_LEASE_MS", CPEC_CONFIG_INT, "30000",
     "how long a replica holds a subscription's queue without renewing it", 1000, 3600000},
    {"CPEC_NOTIFY_CLAIM_IDLE_MS", CPEC_CONFIG_INT, "5000",
     "lease of the fan-out lock: the events of a replica that died reading them are taken "
     "over after this", 300, 3600000},
    {"CPEC_NOTIFY_CONCURRENCY", CPEC_CONFIG_INT, "256",
     "subscriptions a replica delivers to at once", 1, 10000},
    {"CPEC_NOTIFY_DIGEST_HOUR", CPEC_CONFIG_INT, "8",
     "hour of the daily digest, Pakistan time (0-23)", 0, 23},
    {"CPEC_NOTIFY_DIGEST_PERIOD_S", CPEC_CONFIG_INT, "86400",
     "seconds between two digests (a day; shorter only for tests)", 1, 86400},
    {"CPEC_NOTIFY_KEEP_S", CPEC_CONFIG_INT, "604800",
     "seconds a delivered or dead delivery is kept for ListDeliveries", 60, 90 * 86400},
    {"CPEC_NOTIFY_ALLOW_PRIVATE", CPEC_CONFIG_INT, "1",
     "1: webhooks may point at loopback and private addresses; 0: refused", 0, 1},
    {NULL, 0, NULL, NULL, 0, 0}};
// clang-format on

void
notify_config_read (notify_config_t *self, cpec_config_t *config)
{
    assert (self && config);
    *self = (notify_config_t){
        .smtp_url = cpec_config_get (config, "CPEC_NOTIFY_SMTP_URL"),
        .mail_from = cpec_config_get (config, "CPEC_NOTIFY_MAIL_FROM"),
        .http_timeout_ms = (int)cpec_config_int (config, "CPEC_NOTIFY_HTTP_TIMEOUT_MS"),
        .max_attempts = (int)cpec_config_int (config, "CPEC_NOTIFY_MAX_ATTEMPTS"),
        .max_age_ms = cpec_config_int (config, "CPEC_NOTIFY_MAX_AGE_S") * 1000,
        .backoff_base_ms = (int)cpec_config_int (config, "CPEC_NOTIFY_BACKOFF_BASE_MS"),
        .backoff_max_ms = (int)cpec_config_int (config, "CPEC_NOTIFY_BACKOFF_MAX_MS"),
        .lease_ms = (int)cpec_config_int (config, "CPEC_NOTIFY_LEASE_MS"),
        .claim_idle_ms = (int)cpec_config_int (config, "CPEC_NOTIFY_CLAIM_IDLE_MS"),
        .concurrency = (int)cpec_config_int (config, "CPEC_NOTIFY_CONCURRENCY"),
        .digest_hour = (int)cpec_config_int (config, "CPEC_NOTIFY_DIGEST_HOUR"),
        .digest_period_ms = cpec_config_int (config, "CPEC_NOTIFY_DIGEST_PERIOD_S") * 1000,
        .delivered_ttl_s = cpec_config_int (config, "CPEC_NOTIFY_KEEP_S"),
        .allow_private = cpec_config_int (config, "CPEC_NOTIFY_ALLOW_PRIVATE") != 0,
    };
}

Cpec__V1__Subscription__Severity
notify_severity (const char *event_type)
{
    if (event_type && strcmp (event_type, "MilestoneDelayed") == 0)
        return CPEC__V1__SUBSCRIPTION__SEVERITY__CRITICAL;
    //  Something will go wrong unless someone acts (a milestone that will be
    //  late, an unanswered match about to expire), or went wrong for want of
    //  it (an expired match)
    if (event_type &&
        (strcmp (event_type, "MilestoneAtRisk") == 0 || strcmp (event_type, "MatchExpiring") == 0 ||
         strcmp (event_type, "MatchExpired") == 0))
        return CPEC__V1__SUBSCRIPTION__SEVERITY__WARNING;
    return CPEC__V1__SUBSCRIPTION__SEVERITY__INFO;
}

const char *
notify_event_agency (const Cpec__V1__Event *event)
{
    const char *agency = NULL;
    switch (event->payload_case) {
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED:
            agency = event->milestone_delayed->agency;
            break;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_AT_RISK:
            agency = event->milestone_at_risk->agency;
            break;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_CREATED:
            if (event->milestone_created->milestone)
                agency = event->milestone_created->milestone->agency;
            break;
        case CPEC__V1__EVENT__PAYLOAD_MILESTONE_UPDATED:
            if (event->milestone_updated->milestone)
                agency = event->milestone_updated->milestone->agency;
            break;
        default: break;
    }
    return agency ? agency : "";
}

static bool
s_listed (char **list, size_t count, const char *value, bool fold_case)
{
    if (count == 0)
        return true;
    for (size_t i = 0; i < count; i++)
        if (value && (fold_case ? strcasecmp (list[i], value) : strcmp (list[i], value)) == 0)
            return true;
    return false;
}

bool
notify_matches (const Cpec__V1__Subscription *subscription, const Cpec__V1__Event *event)
{
    assert (subscription && event);
    if (!subscription->active)
        return false;
    if (!s_listed (subscription->event_types, subscription->n_event_types, event->type, false))
        return false;
    if (!s_listed (subscription->provinces, subscription->n_provinces, event->province, true))
        return false;
    if (!s_listed (subscription->zone_ids, subscription->n_zone_ids, event->zone_id, false))
        return false;
    if (subscription->agency && *subscription->agency &&
        strcasecmp (subscription->agency, notify_event_agency (event)) != 0)
        return false;
    Cpec__V1__Subscription__Severity minimum = subscription->min_severity;
    return (int)notify_severity (event->type) >= (int)minimum;
}

void
notify_delivery_id (const char *event_id, const char *subscription_id, char id[37])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_MD_CTX *context = EVP_MD_CTX_new ();
    assert (context);
    EVP_DigestInit_ex (context, EVP_sha256 (), NULL);
    EVP_DigestUpdate (context, event_id, strlen (event_id));
    EVP_DigestUpdate (context, "|", 1);
    EVP_DigestUpdate (context, subscription_id, strlen (subscription_id));
    EVP_DigestFinal_ex (context, digest, &size);
    EVP_MD_CTX_free (context);
    //  The layout of a version 5 (name-based) UUID
    digest[6] = (unsigned char)((digest[6] & 0x0f) | 0x50);
    digest[8] = (unsigned char)((digest[8] & 0x3f) | 0x80);
    char *out = id;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *out++ = '-';
        out += sprintf (out, "%02x", digest[i]);
    }
    *out = 0;
}

notify_outcome_t
notify_classify (bool smtp, int status_code)
{
    if (status_code >= 200 && status_code < 300)
        return NOTIFY_DELIVERED;
    if (status_code == 0)
        return NOTIFY_RETRY;
    if (smtp)
        return status_code >= 400 && status_code < 500 ? NOTIFY_RETRY : NOTIFY_DEAD;
    if (status_code == 408 || status_code == 429 || (status_code >= 500 && status_code < 600))
        return NOTIFY_RETRY;
    return NOTIFY_DEAD;
}

int64_t
notify_backoff_ms (const notify_config_t *config, uint32_t attempts, double random,
                   int64_t retry_after_ms)
{
    assert (config && attempts >= 1);
    int64_t wait = config->backoff_base_ms;
    for (uint32_t i = 1; i < attempts && wait < config->backoff_max_ms; i++)
        wait *= 2;
    if (wait > config->backoff_max_ms)
        wait = config->backoff_max_ms;
    if (random < 0 || random >= 1)
        random = 0;
    wait -= (int64_t)((double)(wait / 2) * random);
    if (retry_after_ms > S_HOUR_MS)
        retry_after_ms = S_HOUR_MS;
    if (retry_after_ms > wait)
        wait = retry_after_ms;
    return wait;
}

int64_t
notify_next_digest (int64_t now_ms, int hour, int64_t period_ms)
{
    assert (period_ms > 0);
    //  The anchor: hour:00 PKT on 1970-01-01 (may be before the epoch)
    int64_t anchor = (int64_t)hour * S_HOUR_MS - S_PKT_MS;
    int64_t since = now_ms - anchor;
    int64_t periods = since >= 0 ? since / period_ms + 1 : -((-since) / period_ms);
    int64_t next = anchor + periods * period_ms;
    while (next <= now_ms)
        next += period_ms;
    return next;
}

//  --------------------------------------------------------------------------
//  Validation

//  Every event type (proto/cpec/v1/events.proto), for the event_types filter.
// clang-format off
static const char *s_event_types[] = {
    "SezCreated", "SezUpdated", "SezStatusChanged", "EnterpriseAdmitted",
    "MilestoneCreated", "MilestoneUpdated", "MilestoneDelayed", "MilestoneAtRisk",
    "MilestoneBackOnTrack", "MilestoneCompleted", "MilestoneReplanned",
    "ProfileCreated", "ProfileUpdated", "ProfileDeleted", "ProfilesImported",
    "MatchProposed", "MatchInterest", "MatchMutualInterest", "MatchMeetingScheduled",
    "MatchMouSigned", "MatchEntryApplication", "MatchPlotAllotted", "MatchInProduction",
    "MatchDeclined", "MatchExpired", "MatchExpiring", NULL};
// clang-format on

static bool
s_known_type (const char *type)
{
    for (const char **known = s_event_types; *known; known++)
        if (strcmp (*known, type) == 0)
            return true;
    return false;
}

static const char *s_provinces[] = {"PK-BA", "PK-GB", "PK-IS", "PK-JK",
                                    "PK-KP", "PK-PB", "PK-SD", NULL};

static bool
s_known_province (const char *code)
{
    for (const char **known = s_provinces; *known; known++)
        if (strcasecmp (*known, code) == 0)
            return true;
    return false;
}

//  A plain address: local@domain, printable ASCII or UTF-8, no spaces,
//  angle brackets, commas or line ends.
static bool
s_email_ok (const char *email)
{
    size_t size = strlen (email);
    const char *at = strchr (email, '@');
    if (size < 3 || size > S_EMAIL_MAX || !at || at == email || !at[1] || strchr (at + 1, '@'))
        return false;
    for (const char *c = email; *c; c++)
        if ((unsigned char)*c <= ' ' || strchr ("<>,;\"()[]\\", *c))
            return false;
    return strchr (at + 1, '.') != NULL;
}

static bool
s_private_host (const char *url)
{
    const char *host = strstr (url, "://");
    host = host ? host + 3 : url;
    const char *at = strchr (host, '@');
    const char *slash = strchr (host, '/');
    if (at && (!slash || at < slash))
        host = at + 1;
    static const char *s_private[] = {"localhost", "127.", "10.", "192.168.", "169.254.",
                                      "[::1]",     "0.",   "[fc", "[fd",      NULL};
    for (const char **p = s_private; *p; p++)
        if (strncasecmp (host, *p, strlen (*p)) == 0)
            return true;
    if (strncmp (host, "172.", 4) == 0) {
        int second = atoi (host + 4);
        return second >= 16 && second <= 31;
    }
    return false;
}

int
notify_validate (const Cpec__V1__Subscription *subscription, const notify_config_t *config,
                 cpec_status_t *status)
{
    assert (subscription && config);
    const Cpec__V1__Subscription *s = subscription;
    if (s->id && *s->id && cpec_check_slug ("id", s->id, 64, status))
        return status->code;
    if (cpec_check_text ("owner", s->owner, false, 128, status) ||
        cpec_check_text ("agency", s->agency, false, 128, status))
        return status->code;
    switch (s->channel) {
        case CPEC__V1__SUBSCRIPTION__CHANNEL__WEBHOOK: {
            const char *url = s->url ? s->url : "";
            if (!*url)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "url: required for a WEBHOOK subscription");
            size_t scheme = strncmp (url, "https://", 8) == 0  ? 8
                            : strncmp (url, "http://", 7) == 0 ? 7
                                                               : 0;
            if (!scheme || strlen (url) <= scheme || strlen (url) > S_URL_MAX ||
                strpbrk (url, " \t\r\n") || cpec_check_utf8_length (url) < 0)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "url: \"%.200s\" is not an http:// or https:// URL", url);
            if (!config->allow_private && s_private_host (url))
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "url: \"%.200s\" points at a private address, which "
                                        "this notifier does not call",
                                        url);
            break;
        }
        case CPEC__V1__SUBSCRIPTION__CHANNEL__EMAIL:
            if (!s->email || !s_email_ok (s->email) || cpec_check_utf8_length (s->email) < 0)
                return cpec_status_set (
                    status, CPEC_INVALID_ARGUMENT, "email: \"%.200s\" is not an e-mail address",
                    s->email && cpec_check_utf8_length (s->email) >= 0 ? s->email : "");
            break;
        case CPEC__V1__SUBSCRIPTION__CHANNEL__LIVE:
            if (s->digest)
                return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                        "digest: a LIVE subscription has no digest");
            break;
        default:
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "channel: WEBHOOK, EMAIL or LIVE required");
    }
    if (s->secret && *s->secret) {
        size_t size = strlen (s->secret);
        if (size < 16 || size > 256 || cpec_check_utf8_length (s->secret) < 0)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "secret: 16 to 256 bytes of UTF-8 text when given");
    }
    if (s->n_event_types > S_LIST_MAX || s->n_provinces > S_LIST_MAX || s->n_zone_ids > S_LIST_MAX)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "event_types, provinces, zone_ids: at most %d each", S_LIST_MAX);
    for (size_t i = 0; i < s->n_event_types; i++)
        if (!s_known_type (s->event_types[i]))
            return cpec_status_set (
                status, CPEC_INVALID_ARGUMENT, "event_types[%zu]: \"%.100s\" is not an event type",
                i, cpec_check_utf8_length (s->event_types[i]) >= 0 ? s->event_types[i] : "?");
    for (size_t i = 0; i < s->n_provinces; i++)
        if (!s_known_province (s->provinces[i]))
            return cpec_status_set (
                status, CPEC_INVALID_ARGUMENT,
                "provinces[%zu]: \"%.20s\" is not a province code (PK-BA, "
                "PK-GB, PK-IS, PK-JK, PK-KP, PK-PB, PK-SD)",
                i, cpec_check_utf8_length (s->provinces[i]) >= 0 ? s->provinces[i] : "?");
    for (size_t i = 0; i < s->n_zone_ids; i++) {
        char path[32];
        snprintf (path, sizeof (path), "zone_ids[%zu]", i);
        if (cpec_check_slug (path, s->zone_ids[i], 64, status))
            return status->code;
    }
    if ((int)s->min_severity < 0 || (int)s->min_severity > 3)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "min_severity: INFO, WARNING or CRITICAL");
    const char *language = s->language ? s->language : "";
    if (*language && strcmp (language, "en") && strcmp (language, "zh") && strcmp (language, "ur"))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "language: must be en, zh or ur");
    return CPEC_OK;
}
