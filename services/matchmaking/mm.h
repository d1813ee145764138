/*  mm - cpec-matchmaking's private header: the model, the score, the index,
    the keys. Read this first.

    Three parts, one per source:

    - mm_score.c: a profile in compact form (mm_profile_t: codes as table
      indexes, offers and needs as bit sets) and the score of a pair, in
      hundredths of a point so that every replica, the index and the brute
      force scan agree to the last digit; with the reasons behind it.
    - mm_index.c: every profile of the platform in memory, with posting lists
      per country by ISIC class, group and division, by HS subheading and
      heading (made and bought) and by offers and needs, each posting with a
      summary of its profile that bounds its score, so that TopMatches scores
      only the profiles that can reach the top k (see mm_index_top), and
      exactly the same k as a scan of every profile (mm_index_brute).
    - mm_server.c: the handlers of cpec.v1.Matchmaking for profiles,
      TopMatches and RecommendZones; mm_funnel.c: the matches and their
      funnel, with the expiry timers.

    The index is kept current from Redis, never from the bus: every profile
    write bumps the counter cpec:mm:rev and records the profile's id in the
    sorted set cpec:mm:changed with the counter's new value as score (the
    outbox write's ZADD_LAST), in the same script. A replica remembers the
    highest score it applied (and its id) and, before each TopMatches, after
    each of its own writes and on every tick, reads the ids changed since
    (one round trip when nothing changed) and re-reads those profiles.
    Start-up is the same read from zero. So two replicas answer alike: a
    query sees every write acknowledged before it. When the log no longer
    holds the position a replica reached (Redis lost its last writes, failed
    over or was restored), the replica reads everything again.

    Keys (all under cpec:mm:):
      ent:{id}            a profile (hash v, pb: Enterprise)
      ents                sorted set (score 0) of every profile id, by id
      country:{CC}, province:{P}, sector:{ISIC code}
                          the same for a filter (sector: class, group and
                          division of each class, and GB/T mapped divisions)
      rev, changed        the change counter, and id -> counter at its change
      match:{id}          a match (hash v, pb: Match)
      matches             sorted set (score 0) of every match id
      matches:ent:{id}, matches:state:{STATE}, matches:zone:{zone}
      pair:{a}:{b}        the open match of a pair (a < b), so that a pair has
                          at most one open match
      timers, leases      the expiry timers (common/lua/claim.lua):
                          "remind:{match}" and "expire:{match}"
*/
#ifndef MM_H_INCLUDED
#define MM_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec_bus.h"
#include "cpec_client.h"
#include "cpec_config.h"
#include "cpec_metrics.h"
#include "cpec_status.h"
#include "cpec_store.h"
#include "cpec_worker.h"

#define MM_ID_MAX        64   //  characters in a profile id
#define MM_NAME_MAX      200  //  characters in a name
#define MM_TEXT_MAX      200  //  city, certification
#define MM_NOTE_MAX      500  //  a note on a funnel move
#define MM_SECTORS_MAX   8    //  ISIC classes (and GB/T codes) of a profile
#define MM_PRODUCTS_MAX  16   //  HS codes made, and bought
#define MM_LIST_MAX      16   //  other repeated fields
#define MM_IMPORT_MAX    1000 //  profiles in one ImportEnterprises
#define MM_K_DEFAULT     10
#define MM_K_MAX         100
#define MM_PAGE_DEFAULT  50
#define MM_PAGE_MAX      500
#define MM_LIST_SCAN_MAX 5000 //  ids a filtered list page looks at before it answers
#define MM_SYNC_BATCH    2000 //  changed profiles read per round trip
#define MM_CLAIM_BATCH   100  //  expiry timers taken per claim
#define MM_LEASE_MS      5000 //  how long a claimed timer is ours
#define MM_POLL_MS       500  //  longest sleep between looks at the timers and changes
#define MM_ACTOR         "cpec-matchmaking"

#define MM_REV_KEY     "cpec:mm:rev"
#define MM_CHANGED_KEY "cpec:mm:changed"
#define MM_ENTS_KEY    "cpec:mm:ents"
#define MM_MATCHES_KEY "cpec:mm:matches"
#define MM_TIMERS_KEY  "cpec:mm:timers"
#define MM_LEASES_KEY  "cpec:mm:leases"

//  --------------------------------------------------------------------------
//  Weights and configuration (mm_score.c)

//  The weight of each part of a score, in points: the most a part adds.
typedef struct
{
    int complement; //  offers meeting needs, both ways
    int sector;     //  same ISIC class (all), group (60%), division (30%)
    int product;    //  one makes an HS subheading the other buys (all), heading (50%)
    int size;       //  employees within a factor of 100 (all when equal)
    int investment; //  investment ranges overlap (all), within a factor 2 (half)
    int location;   //  in a province the other prefers (60% one way, 40% the other)
    int language;   //  a language in common
} mm_weights_t;

//  25, 30, 25, 8, 6, 4, 2: 100 in all.
extern const mm_weights_t mm_weights_default;

//  Parses "complement=25,sector=30,..." (names of mm_weights_t, each 0..100,
//  missing ones keep their default) into *weights. 0, or -1 with the reason
//  in status.
int mm_weights_parse (const char *text, mm_weights_t *weights, cpec_status_t *status);

typedef struct
{
    mm_weights_t weights;
    int64_t expiry_ms;         //  CPEC_MATCH_EXPIRY_DAYS: an unanswered proposal expires
    int64_t reminder_ms;       //  CPEC_MATCH_REMINDER_DAYS: the reminder comes this long before
    int milestones_timeout_ms; //  CPEC_MATCH_MILESTONES_TIMEOUT_MS
} mm_config_t;

//  CPEC_MATCH_WEIGHTS, CPEC_MATCH_EXPIRY_DAYS, CPEC_MATCH_REMINDER_DAYS
extern const cpec_config_var_t mm_config_vars[];

//  Reads them; -1 with the reason in status when one is malformed.
int mm_config_read (mm_config_t *self, cpec_config_t *config, cpec_status_t *status);

//  --------------------------------------------------------------------------
//  The compact profile and the score (mm_score.c)

#define MM_COUNTRY_PK 0
#define MM_COUNTRY_CN 1

typedef struct
{
    char *id;                              //  owned
    char *name;                            //  owned
    uint8_t country;                       //  MM_COUNTRY_*
    uint8_t province;                      //  mm_province_index; 0: none
    uint8_t offers, needs;                 //  bit (1 << Kind)
    uint16_t languages;                    //  bits of mm_language_index
    uint8_t n_classes, n_divisions;        //
    uint8_t n_made, n_bought;              //
    uint16_t classes[MM_SECTORS_MAX];      //  ISIC class indexes (cpec_codes_isic_at (4, i))
    uint8_t divisions[MM_SECTORS_MAX];     //  ISIC divisions mapped from GB/T codes
    uint16_t made[MM_PRODUCTS_MAX];        //  HS subheading indexes
    uint16_t bought[MM_PRODUCTS_MAX];      //
    uint32_t employees;                    //
    double investment_min, investment_max; //
    uint64_t preferred;                    //  bits of mm_province_index
    bool live;                             //  false: a free slot
} mm_profile_t;

//  Province codes the score knows: 1..7 Pakistan's units, then China's
//  provinces; 0 for anything else.
int mm_province_index (const char *code);

//  The code of an index (NULL for 0 or out of range).
const char *mm_province_code (int index);

//  True for a code of that country's units ("PK-PB"; "CN-GD").
bool mm_province_valid (const char *country, const char *code);

//  A bit for a language ("en" 0, "zh" 1, "ur" 2, ...); -1 for one the
//  score does not compare.
int mm_language_index (const char *code);

//  The compact form of a (valid) profile into *profile (its strings owned).
void mm_profile_fill (mm_profile_t *profile, const Cpec__V1__Enterprise *enterprise);

//  Frees what a compact profile owns; it is a free slot again.
void mm_profile_fini (mm_profile_t *profile);

//  The reasons of one score, strongest first.
typedef struct
{
    char *text[8]; //  owned
    int points[8]; //  hundredths of a point
    size_t count;
} mm_reasons_t;

void mm_reasons_fini (mm_reasons_t *self);

//  The score of b as a counterpart of a, in hundredths of a point;
//  reasons (may be NULL) get why.
int mm_score (const mm_weights_t *weights, const mm_profile_t *a, const mm_profile_t *b,
              mm_reasons_t *reasons);

//  A profile's offers and needs in 12 bits (offer kinds 1..6, need kinds
//  1..6), for the complement part.
#define MM_SIGNATURES 4096
uint16_t mm_signature (const mm_profile_t *profile);

//  The complement part of a counterpart with that signature, for a.
int mm_complement_points (const mm_weights_t *weights, const mm_profile_t *a, uint16_t signature);

//  What a posting of the index carries of a profile, and the most each part
//  can give a for a profile with that summary (mm_score.c): employees in
//  buckets of 1/256 decade, money in buckets of 1/8 decade from USD 1,000,
//  the languages en, zh, ur and "another", the provinces it prefers
//  (Pakistan's seven, and "one in China").
#define MM_SIZE_BUCKETS 4096
uint16_t mm_size_bucket (uint32_t employees);
int mm_size_bound (const mm_weights_t *weights, const mm_profile_t *a, uint16_t bucket);
uint8_t mm_money_bucket (double usd);
int mm_investment_bound (const mm_weights_t *weights, const mm_profile_t *a, uint8_t min_bucket,
                         uint8_t max_bucket);
uint8_t mm_language_bits (const mm_profile_t *profile);
int mm_language_bound (const mm_weights_t *weights, const mm_profile_t *a, uint8_t bits);
uint8_t mm_prefers_bits (const mm_profile_t *profile);
int mm_location_bound (const mm_weights_t *weights, const mm_profile_t *a, uint8_t province,
                       uint8_t prefers);

//  What the parts that need no shared code (complement, size, investment,
//  location, language) can add at most for a: a bound for the profiles
//  that no posting list of a holds.
int mm_score_free_bound (const mm_weights_t *weights, const mm_profile_t *a);

//  The ISIC group and division index of a class index, the HS heading index
//  of a subheading index (tables built on first use).
int mm_class_group (int class_index);
int mm_class_division (int class_index);
int mm_hs_heading (int hs6_index);

//  --------------------------------------------------------------------------
//  The index (mm_index.c)

typedef struct _mm_index_t mm_index_t;

mm_index_t *mm_index_new (void);
void mm_index_destroy (mm_index_t **self_p);

//  Adds or replaces a profile (valid; its id names it).
void mm_index_put (mm_index_t *self, const Cpec__V1__Enterprise *enterprise);

//  Removes a profile; false when it was not there.
bool mm_index_remove (mm_index_t *self, const char *id);

//  The profile of an id, or NULL (borrowed until the next change).
const mm_profile_t *mm_index_get (const mm_index_t *self, const char *id);

//  Profiles held, and bytes used (slots, lists, strings, table).
size_t mm_index_size (const mm_index_t *self);
size_t mm_index_bytes (const mm_index_t *self);

//  What a query keeps (parsed from cpec.v1.MatchFilters).
typedef struct
{
    uint64_t provinces; //  bits; 0: any
    char **sectors;     //  ISIC codes (borrowed from the request); none: any
    size_t n_sectors;
    uint8_t offers, needs;
    uint32_t min_employees;
    int min_score; //  hundredths
} mm_filter_t;

//  Parses filters (NULL: none) into *filter, which borrows from them.
//  INVALID_ARGUMENT naming the field when a code is unknown.
int mm_filter_parse (const Cpec__V1__MatchFilters *filters, mm_filter_t *filter,
                     cpec_status_t *status);

//  One ranked result: a slot of the index and its score.
typedef struct
{
    uint32_t slot;
    int score;
} mm_hit_t;

//  The k best counterparts (other country) of profile a by score, ties by
//  id, filter applied; into hits (room for k), returns how many. *scored
//  (may be NULL) gets how many profiles were scored. Exact: the same as
//  mm_index_brute, visiting posting lists from the strongest shared code
//  down and stopping as soon as no profile left unvisited can beat the k-th.
size_t mm_index_top (mm_index_t *self, const mm_weights_t *weights, const mm_profile_t *a,
                     const mm_filter_t *filter, size_t k, mm_hit_t *hits, size_t *scored);

//  The same by scoring every profile of the other country.
size_t mm_index_brute (mm_index_t *self, const mm_weights_t *weights, const mm_profile_t *a,
                       const mm_filter_t *filter, size_t k, mm_hit_t *hits, size_t *scored);

//  The profile in a slot (from a hit).
const mm_profile_t *mm_index_slot (const mm_index_t *self, uint32_t slot);

//  True when the profile passes the filter (country aside).
bool mm_filter_pass (const mm_filter_t *filter, const mm_profile_t *profile);

//  --------------------------------------------------------------------------
//  Validation (mm_validate.c): INVALID_ARGUMENT with "<field path>: <what>".

//  A profile as it is to be stored; fills isic_divisions from sectors_gbt.
int mm_validate_enterprise (Cpec__V1__Enterprise *enterprise, cpec_status_t *status);

//  An update mask: top-level Enterprise field names, not id, version,
//  created, updated or isic_divisions, none twice.
int mm_validate_mask (char *const *mask, size_t count, cpec_status_t *status);

//  "CAPITAL" ...; "?" outside the enum.
const char *mm_offer_name (int offer);
const char *mm_need_name (int need);
const char *mm_state_name (int state);

//  --------------------------------------------------------------------------
//  The service (mm_server.c, mm_funnel.c)

typedef struct
{
    cpec_store_t *store;     //  borrowed
    cpec_bus_t *bus;         //  borrowed; NULL: none
    cpec_metrics_t *metrics; //  borrowed; NULL: none
    cpec_client_t *client;   //  to ask the milestones service; NULL: forecasts unknown
    size_t page_bytes;       //  a list page stops short of this; 0: 512 KiB
    mm_config_t config;
    mm_index_t *index;              //  owned (mm_init / mm_fini)
    int64_t rev;                    //  the highest change applied
    char rev_id[MM_ID_MAX + 1];     //  the profile changed there
    char sync_sha[41];              //  of the sync script
    char claim_sha[41];             //  of common/lua/claim.lua
    struct _mm_zone_cache_t *zones; //  commercial operation forecasts, briefly kept
} mm_t;

//  Makes the index and reads every profile (mm_sync from zero). The
//  parts given are borrowed. OK or the store's error.
int mm_init (mm_t *self, cpec_status_t *status);
void mm_fini (mm_t *self);

//  Applies the profile changes made since the last sync. OK or UNAVAILABLE.
int mm_sync (mm_t *self, cpec_status_t *status);

//  The timer and sync work between requests; returns when to run again.
int64_t mm_tick (mm_t *self, int64_t now);

//  Runs the due expiry timers (mm_funnel.c); returns when to look again.
int64_t mm_timers_run (mm_t *self, int64_t now);

int mm_create_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                          ProtobufCMessage *output);
int mm_import_enterprises (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                           ProtobufCMessage *output);
int mm_get_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                       ProtobufCMessage *output);
int mm_list_enterprises (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                         ProtobufCMessage *output);
int mm_update_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                          ProtobufCMessage *output);
int mm_delete_enterprise (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                          ProtobufCMessage *output);
int mm_top_matches (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                    ProtobufCMessage *output);
int mm_recommend_zones (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                        ProtobufCMessage *output);
int mm_propose_match (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output);
int mm_get_match (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                  ProtobufCMessage *output);
int mm_list_matches (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                     ProtobufCMessage *output);
int mm_move_match (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                   ProtobufCMessage *output);
int mm_funnel_report (void *state, cpec_call_t *call, const ProtobufCMessage *input,
                      ProtobufCMessage *output);

extern const cpec_method_t mm_methods[];

//  Helpers shared by mm_server.c and mm_funnel.c.

//  Reads profile id; NOT_FOUND names it.
int mm_read_enterprise (mm_t *self, cpec_call_t *call, const char *id,
                        Cpec__V1__Enterprise **enterprise);

//  True when the caller may act for enterprise id: ADMIN, SERVICE, or the
//  ENTERPRISE itself.
bool mm_may_act_for (const cpec_call_t *call, const char *id);

//  Ids of the sorted set key (score 0, by id) after cursor, up to limit,
//  those accepted by keep (NULL: all), looking at no more than
//  MM_LIST_SCAN_MAX; *next gets the cursor to go on from ("" at the end).
int mm_list_ids (mm_t *self, cpec_call_t *call, const char *key, const char *cursor, size_t limit,
                 bool (*keep) (void *arg, const char *id), void *arg, char ***ids, char **next);

#endif
