/*  mm_index - every profile in memory, and the exact top k.

    Profiles live in slots (mm_profile_t), found by id through an open
    addressing table. Per country, posting lists hold the slots by ISIC
    class, group and division (GB/T codes at division level), by HS
    subheading and heading made and bought, and all of them.

    mm_index_top for a profile a visits lists in stages, scoring each
    profile once (a stamp per slot):
      1. a's classes; the subheadings a makes (in lists of buyers) and buys
         (in lists of makers)
      2. a's groups; the same by heading
      3. a's divisions
      4. every profile of the other country
    After each stage a profile not yet visited can reach at most the free
    bound (mm_score_free_bound: the parts that need no shared code) plus the
    sector and product parts its stage leaves possible (after 1: group 60%
    and heading 50%; after 2: division 30%; after 3: none). When the k-th
    best so far scores strictly more than that bound, no unvisited profile
    can enter the top k, nor tie with it (ties go by id), so the answer is
    the brute force scan's, and the query stops.

    Within a stage the same bound, with the complement part computed
    exactly from the offers and needs each posting carries, passes over a
    profile that cannot beat the k-th without reading it: most postings
    cost a look at a table, and only the promising few are scored.
*/
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_codes.h"
#include "cpec_pb.h"
#include "mm.h"

enum
{
    S_CLASS,
    S_GROUP,
    S_DIVISION,
    S_MADE6,
    S_BOUGHT6,
    S_MADE4,
    S_BOUGHT4,
    S_ALL,
    S_KINDS
};

//  One entry of a posting list: the slot, and the profile's offers and
//  needs (mm_signature), so that the complement part is known without
//  reading the profile.
typedef struct
{
    uint32_t slot;
    uint16_t signature; //  mm_signature: offers and needs
    uint8_t province;   //  mm_province_index
    uint8_t languages;  //  mm_language_bits
    uint16_t size;      //  mm_size_bucket of the employees
    uint8_t money[2];   //  mm_money_bucket of the investment range
    uint8_t prefers;    //  mm_prefers_bits
    uint32_t made;      //  s_heading_bits of the HS headings it makes
    uint32_t bought;    //  and of those it buys
    uint32_t divisions; //  s_division_bits of its ISIC divisions
} s_posting_t;

//  A 32-bit Bloom filter of a profile's ISIC divisions (of its classes and
//  of its GB/T codes): no bit in common, no sector part.
static uint32_t
s_division_bits (const mm_profile_t *p)
{
    uint32_t bits = 0;
    for (int i = 0; i < p->n_classes + p->n_divisions; i++) {
        uint32_t division = (uint32_t)(i < p->n_classes ? mm_class_division (p->classes[i])
                                                        : p->divisions[i - p->n_classes]);
        bits |= 1u << ((division * 2654435761u) >> 27);
    }
    return bits;
}

//  A 32-bit Bloom filter of HS headings: no bit in common, no heading in
//  common.
static uint32_t
s_heading_bits (const uint16_t *codes, int count)
{
    uint32_t bits = 0;
    for (int i = 0; i < count; i++)
        bits |= 1u << (((uint32_t)mm_hs_heading (codes[i]) * 2654435761u) >> 27);
    return bits;
}

typedef struct
{
    s_posting_t *items;
    uint32_t count, capacity;
} s_list_t;

#define S_EMPTY     0u
#define S_TOMBSTONE UINT32_MAX

struct _mm_index_t
{
    mm_profile_t *profiles; //  slots
    uint32_t slots, capacity;
    uint32_t *free; //  free slots
    uint32_t n_free, free_capacity;
    s_list_t *lists[2][S_KINDS];
    int sizes[S_KINDS];
    uint32_t *table; //  slot + 1, S_EMPTY or S_TOMBSTONE
    size_t table_size, table_used;
    uint32_t *stamps;
    uint32_t generation;
    size_t live;
    size_t string_bytes;
};

mm_index_t *
mm_index_new (void)
{
    mm_index_t *self = (mm_index_t *)calloc (1, sizeof (mm_index_t));
    assert (self);
    self->sizes[S_CLASS] = cpec_codes_isic_count (4);
    self->sizes[S_GROUP] = cpec_codes_isic_count (3);
    self->sizes[S_DIVISION] = cpec_codes_isic_count (2);
    self->sizes[S_MADE6] = self->sizes[S_BOUGHT6] = cpec_codes_hs_count (6);
    self->sizes[S_MADE4] = self->sizes[S_BOUGHT4] = cpec_codes_hs_count (4);
    self->sizes[S_ALL] = MM_SIGNATURES; //  every profile, by its offers and needs
    for (int c = 0; c < 2; c++)
        for (int kind = 0; kind < S_KINDS; kind++) {
            self->lists[c][kind] =
                (s_list_t *)calloc ((size_t)self->sizes[kind] + 1, sizeof (s_list_t));
            assert (self->lists[c][kind]);
        }
    self->table_size = 1024;
    self->table = (uint32_t *)calloc (self->table_size, sizeof (uint32_t));
    assert (self->table);
    return self;
}

void
mm_index_destroy (mm_index_t **self_p)
{
    assert (self_p);
    mm_index_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; i < self->slots; i++)
        mm_profile_fini (&self->profiles[i]);
    for (int c = 0; c < 2; c++)
        for (int kind = 0; kind < S_KINDS; kind++) {
            for (int i = 0; i < self->sizes[kind]; i++)
                free (self->lists[c][kind][i].items);
            free (self->lists[c][kind]);
        }
    free (self->profiles);
    free (self->free);
    free (self->table);
    free (self->stamps);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  The id table

static uint64_t
s_hash (const char *id)
{
    uint64_t hash = 14695981039346656037ull;
    for (const unsigned char *c = (const unsigned char *)id; *c; c++)
        hash = (hash ^ *c) * 1099511628211ull;
    return hash;
}

//  The table position of id, or of the place to insert it (*found false).
static size_t
s_find (const mm_index_t *self, const char *id, bool *found)
{
    size_t mask = self->table_size - 1, at = (size_t)s_hash (id) & mask;
    size_t insert = SIZE_MAX;
    for (;;) {
        uint32_t entry = self->table[at];
        if (entry == S_EMPTY) {
            *found = false;
            return insert != SIZE_MAX ? insert : at;
        }
        if (entry == S_TOMBSTONE) {
            if (insert == SIZE_MAX)
                insert = at;
        } else if (strcmp (self->profiles[entry - 1].id, id) == 0) {
            *found = true;
            return at;
        }
        at = (at + 1) & mask;
    }
}

static void
s_table_grow (mm_index_t *self)
{
    uint32_t *old = self->table;
    size_t old_size = self->table_size;
    self->table_size *= 2;
    self->table = (uint32_t *)calloc (self->table_size, sizeof (uint32_t));
    assert (self->table);
    self->table_used = 0;
    for (size_t i = 0; i < old_size; i++)
        if (old[i] != S_EMPTY && old[i] != S_TOMBSTONE) {
            bool found;
            size_t at = s_find (self, self->profiles[old[i] - 1].id, &found);
            self->table[at] = old[i];
            self->table_used++;
        }
    free (old);
}

//  --------------------------------------------------------------------------
//  Posting lists

static void
s_list_add (s_list_t *list, uint32_t slot, const s_posting_t *summary)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 4;
        list->items =
            (s_posting_t *)cpec_realloc (list->items, list->capacity * sizeof (s_posting_t));
    }
    list->items[list->count] = *summary;
    list->items[list->count++].slot = slot;
}

static void
s_list_remove (s_list_t *list, uint32_t slot)
{
    for (uint32_t i = 0; i < list->count; i++)
        if (list->items[i].slot == slot) {
            list->items[i] = list->items[--list->count];
            return;
        }
}

//  The (kind, code) pairs of a profile's lists, each once: up to
//  3 * sectors + 2 * (made + bought) + 1.
typedef struct
{
    int kind, code;
} s_entry_t;

static size_t
s_entries (const mm_profile_t *p, s_entry_t *entries)
{
    size_t count = 0;
    //  Adds (kind, code) unless present.
#define S_ADD(k, c)                                                                                \
    do {                                                                                           \
        int kind_ = (k), code_ = (c);                                                              \
        bool seen_ = false;                                                                        \
        for (size_t i_ = 0; i_ < count && !seen_; i_++)                                            \
            seen_ = entries[i_].kind == kind_ && entries[i_].code == code_;                        \
        if (!seen_ && code_ >= 0)                                                                  \
            entries[count++] = (s_entry_t){kind_, code_};                                          \
    } while (0)
    for (int i = 0; i < p->n_classes; i++) {
        S_ADD (S_CLASS, p->classes[i]);
        S_ADD (S_GROUP, mm_class_group (p->classes[i]));
        S_ADD (S_DIVISION, mm_class_division (p->classes[i]));
    }
    for (int i = 0; i < p->n_divisions; i++)
        S_ADD (S_DIVISION, p->divisions[i]);
    for (int i = 0; i < p->n_made; i++) {
        S_ADD (S_MADE6, p->made[i]);
        S_ADD (S_MADE4, mm_hs_heading (p->made[i]));
    }
    for (int i = 0; i < p->n_bought; i++) {
        S_ADD (S_BOUGHT6, p->bought[i]);
        S_ADD (S_BOUGHT4, mm_hs_heading (p->bought[i]));
    }
    S_ADD (S_ALL, mm_signature (p));
#undef S_ADD
    return count;
}

#define S_ENTRIES_MAX (3 * MM_SECTORS_MAX + MM_SECTORS_MAX + 4 * MM_PRODUCTS_MAX + 1)

static void
s_lists_apply (mm_index_t *self, uint32_t slot, bool add)
{
    const mm_profile_t *p = &self->profiles[slot];
    s_entry_t entries[S_ENTRIES_MAX];
    size_t count = s_entries (p, entries);
    s_posting_t summary = {
        slot,
        mm_signature (p),
        p->province,
        mm_language_bits (p),
        mm_size_bucket (p->employees),
        {mm_money_bucket (p->investment_min), mm_money_bucket (p->investment_max)},
        mm_prefers_bits (p),
        s_heading_bits (p->made, p->n_made),
        s_heading_bits (p->bought, p->n_bought),
        s_division_bits (p)};
    for (size_t i = 0; i < count; i++) {
        s_list_t *list = &self->lists[p->country][entries[i].kind][entries[i].code];
        if (add)
            s_list_add (list, slot, &summary);
        else
            s_list_remove (list, slot);
    }
}

//  --------------------------------------------------------------------------
//  Changes

void
mm_index_put (mm_index_t *self, const Cpec__V1__Enterprise *enterprise)
{
    assert (self && enterprise && enterprise->id);
    mm_index_remove (self, enterprise->id);
    if ((self->table_used + 1) * 10 > self->table_size * 7)
        s_table_grow (self);
    uint32_t slot;
    if (self->n_free)
        slot = self->free[--self->n_free];
    else {
        if (self->slots == self->capacity) {
            self->capacity = self->capacity ? self->capacity * 2 : 1024;
            self->profiles = (mm_profile_t *)cpec_realloc (self->profiles,
                                                           self->capacity * sizeof (mm_profile_t));
            self->stamps =
                (uint32_t *)cpec_realloc (self->stamps, self->capacity * sizeof (uint32_t));
        }
        slot = self->slots++;
        self->stamps[slot] = 0;
    }
    mm_profile_fill (&self->profiles[slot], enterprise);
    self->string_bytes += strlen (self->profiles[slot].id) + strlen (self->profiles[slot].name) + 2;
    bool found;
    size_t at = s_find (self, enterprise->id, &found);
    if (self->table[at] == S_EMPTY)
        self->table_used++;
    self->table[at] = slot + 1;
    s_lists_apply (self, slot, true);
    self->live++;
}

bool
mm_index_remove (mm_index_t *self, const char *id)
{
    assert (self && id);
    bool found;
    size_t at = s_find (self, id, &found);
    if (!found)
        return false;
    uint32_t slot = self->table[at] - 1;
    s_lists_apply (self, slot, false);
    self->table[at] = S_TOMBSTONE;
    self->string_bytes -= strlen (self->profiles[slot].id) + strlen (self->profiles[slot].name) + 2;
    mm_profile_fini (&self->profiles[slot]);
    if (self->n_free == self->free_capacity) {
        self->free_capacity = self->free_capacity ? self->free_capacity * 2 : 64;
        self->free = (uint32_t *)cpec_realloc (self->free, self->free_capacity * sizeof (uint32_t));
    }
    self->free[self->n_free++] = slot;
    self->live--;
    return true;
}

const mm_profile_t *
mm_index_get (const mm_index_t *self, const char *id)
{
    assert (self);
    if (!id)
        return NULL;
    bool found;
    size_t at = s_find (self, id, &found);
    return found ? &self->profiles[self->table[at] - 1] : NULL;
}

const mm_profile_t *
mm_index_slot (const mm_index_t *self, uint32_t slot)
{
    assert (self && slot < self->slots);
    return &self->profiles[slot];
}

size_t
mm_index_size (const mm_index_t *self)
{
    return self->live;
}

size_t
mm_index_bytes (const mm_index_t *self)
{
    size_t bytes = sizeof (*self) + self->capacity * (sizeof (mm_profile_t) + sizeof (uint32_t)) +
                   self->free_capacity * sizeof (uint32_t) + self->table_size * sizeof (uint32_t) +
                   self->string_bytes;
    for (int c = 0; c < 2; c++)
        for (int kind = 0; kind < S_KINDS; kind++)
            for (int i = 0; i < self->sizes[kind]; i++)
                bytes +=
                    sizeof (s_list_t) + self->lists[c][kind][i].capacity * sizeof (s_posting_t);
    return bytes;
}

//  --------------------------------------------------------------------------
//  Filters

int
mm_filter_parse (const Cpec__V1__MatchFilters *filters, mm_filter_t *filter, cpec_status_t *status)
{
    memset (filter, 0, sizeof (*filter));
    if (!filters)
        return CPEC_OK;
    for (size_t i = 0; i < filters->n_provinces; i++) {
        int index = mm_province_index (filters->provinces[i]);
        if (!index)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "filters.provinces[%zu]: '%.40s' is not a province code the "
                                    "platform knows (PK-PB, CN-GD, ...)",
                                    i, filters->provinces[i]);
        filter->provinces |= 1ull << index;
    }
    for (size_t i = 0; i < filters->n_sectors; i++)
        if (!cpec_codes_isic_valid (filters->sectors[i]))
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                    "filters.sectors[%zu]: '%.40s' is not an ISIC Rev.4 code", i,
                                    filters->sectors[i]);
    filter->sectors = filters->sectors;
    filter->n_sectors = filters->n_sectors;
    for (size_t i = 0; i < filters->n_offers; i++) {
        if (filters->offers[i] <= 0 || filters->offers[i] > 6)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "filters.offers[%zu]: unknown",
                                    i);
        filter->offers |= (uint8_t)(1u << filters->offers[i]);
    }
    for (size_t i = 0; i < filters->n_needs; i++) {
        if (filters->needs[i] <= 0 || filters->needs[i] > 6)
            return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "filters.needs[%zu]: unknown",
                                    i);
        filter->needs |= (uint8_t)(1u << filters->needs[i]);
    }
    filter->min_employees = filters->min_employees;
    if (!(filters->min_score >= 0 && filters->min_score <= 1000))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "filters.min_score: 0..1000");
    filter->min_score = (int)(filters->min_score * 100 + 0.5);
    return CPEC_OK;
}

bool
mm_filter_pass (const mm_filter_t *filter, const mm_profile_t *p)
{
    if (!filter)
        return true;
    if (filter->provinces && !(p->province && (filter->provinces & (1ull << p->province))))
        return false;
    if ((p->offers & filter->offers) != filter->offers ||
        (p->needs & filter->needs) != filter->needs)
        return false;
    if (p->employees < filter->min_employees)
        return false;
    if (filter->n_sectors) {
        for (size_t i = 0; i < filter->n_sectors; i++) {
            for (int j = 0; j < p->n_classes; j++)
                if (cpec_codes_isic_within (cpec_codes_isic_at (4, p->classes[j]),
                                            filter->sectors[i]))
                    return true;
            for (int j = 0; j < p->n_divisions; j++)
                if (cpec_codes_isic_within (cpec_codes_isic_at (2, p->divisions[j]),
                                            filter->sectors[i]))
                    return true;
        }
        return false;
    }
    return true;
}

//  --------------------------------------------------------------------------
//  The top k

typedef struct
{
    uint32_t slot;
    int bound;
} s_candidate_t;

#define S_BOUND_KEYS 2048 //  buckets of the counting sort by bound (half points)

typedef struct
{
    mm_index_t *index;
    const mm_weights_t *weights;
    const mm_profile_t *a;
    const mm_filter_t *filter;
    size_t k, count, scored;
    mm_hit_t *hits; //  best first
    //  The most a profile visited now can score besides its complement part:
    //  what its stage leaves for the sector and product parts, plus the
    //  size, investment, location and language parts at most
    int stage_bound;       //  the sector part its stage allows, if a division may be shared
    int stage_product;     //  the product part its stage allows, if a heading may be shared
    uint32_t made, bought; //  s_heading_bits of a
    uint32_t divisions;    //  s_division_bits of a
    //  the bound of each part per summary value: -1 not computed yet
    int complement[MM_SIGNATURES];
    int size[MM_SIZE_BUCKETS];
    int money[64 * 64];
    //  computed at the start: the location part in two (b in a province a
    //  prefers; a in one b prefers) and the language part
    int location[64], prefers[256], language[16];
    //  the postings of a stage that may enter, with their bounds, scored
    //  best bound first (s_flush)
    s_candidate_t *candidates, *sorted;
    size_t n_candidates, candidates_size;
} s_query_t;

//  True when hit x ranks before hit y: higher score, or the same and a
//  smaller id.
static bool
s_before (const mm_index_t *index, mm_hit_t x, mm_hit_t y)
{
    if (x.score != y.score)
        return x.score > y.score;
    return strcmp (index->profiles[x.slot].id, index->profiles[y.slot].id) < 0;
}

static void
s_visit (s_query_t *q, uint32_t slot)
{
    mm_index_t *index = q->index;
    if (index->stamps[slot] == index->generation)
        return;
    index->stamps[slot] = index->generation;
    const mm_profile_t *b = &index->profiles[slot];
    if (!b->live || !mm_filter_pass (q->filter, b))
        return;
    q->scored++;
    mm_hit_t hit = {slot, mm_score (q->weights, q->a, b, NULL)};
    if (q->filter && hit.score < q->filter->min_score)
        return;
    if (q->count == q->k && !s_before (index, hit, q->hits[q->k - 1]))
        return;
    size_t at = q->count < q->k ? q->count++ : q->k - 1;
    while (at > 0 && s_before (index, hit, q->hits[at - 1])) {
        q->hits[at] = q->hits[at - 1];
        at--;
    }
    q->hits[at] = hit;
}

//  Visits a list: a profile whose bound (its stage's bound and its exact
//  complement part) is below the k-th score, or the minimum, cannot enter
//  and is passed over without reading it; the others are scored.
static void
s_visit_list (s_query_t *q, int kind, int code)
{
    if (code < 0)
        return;
    const s_list_t *list = &q->index->lists[1 - q->a->country][kind][code];
    int floor = q->filter ? q->filter->min_score : 0;
    for (uint32_t i = 0; i < list->count; i++) {
        const s_posting_t *posting = &list->items[i];
        int *complement = &q->complement[posting->signature];
        if (*complement < 0)
            *complement = mm_complement_points (q->weights, q->a, posting->signature);
        int *size = &q->size[posting->size % MM_SIZE_BUCKETS];
        if (*size < 0)
            *size = mm_size_bound (q->weights, q->a, posting->size);
        int *money = &q->money[(posting->money[0] & 63) * 64 + (posting->money[1] & 63)];
        if (*money < 0)
            *money = mm_investment_bound (q->weights, q->a, posting->money[0], posting->money[1]);
        int bound = ((posting->divisions & q->divisions) ? q->stage_bound : 0) + *complement +
                    *size + *money + q->location[posting->province & 63] +
                    q->prefers[posting->prefers] + q->language[posting->languages & 15];
        if ((posting->made & q->bought) || (posting->bought & q->made))
            bound += q->stage_product; //  a heading in common is possible
        if (bound < floor || (q->count == q->k && bound < q->hits[q->k - 1].score))
            continue;
        if (q->n_candidates == q->candidates_size) {
            q->candidates_size = q->candidates_size ? q->candidates_size * 2 : 4096;
            q->candidates = (s_candidate_t *)cpec_realloc (
                q->candidates, q->candidates_size * sizeof (s_candidate_t));
            q->sorted = (s_candidate_t *)cpec_realloc (q->sorted,
                                                       q->candidates_size * sizeof (s_candidate_t));
        }
        q->candidates[q->n_candidates++] = (s_candidate_t){posting->slot, bound};
    }
}

//  The counting sort's bucket of a bound.
static int
s_key (int bound)
{
    int key = bound / 50;
    return key < 0 ? 0 : key >= S_BOUND_KEYS ? S_BOUND_KEYS - 1 : key;
}

//  Scores the candidates gathered, best bound first (a counting sort), and
//  stops once no bound left can reach the k-th score: the best are met
//  early, so the k-th rises fast and most candidates are never read.
static void
s_flush (s_query_t *q)
{
    size_t *starts = (size_t *)calloc (S_BOUND_KEYS, sizeof (size_t));
    assert (starts);
    for (size_t i = 0; i < q->n_candidates; i++)
        starts[s_key (q->candidates[i].bound)]++;
    size_t at = 0; //  highest key first: starts[key] = where its candidates begin
    for (int key = S_BOUND_KEYS - 1; key >= 0; key--) {
        size_t count = starts[key];
        starts[key] = at;
        at += count;
    }
    for (size_t i = 0; i < q->n_candidates; i++)
        q->sorted[starts[s_key (q->candidates[i].bound)]++] = q->candidates[i];
    free (starts);
    int floor = q->filter ? q->filter->min_score : 0;
    for (size_t i = 0; i < q->n_candidates; i++) {
        int bound = q->sorted[i].bound;
        if (bound < floor)
            continue;
        if (q->count == q->k && bound < q->hits[q->k - 1].score) {
            //  the rest lie in this bucket or below it
            if (s_key (bound) < s_key (q->hits[q->k - 1].score))
                break;
            continue;
        }
        s_visit (q, q->sorted[i].slot);
    }
    q->n_candidates = 0;
}

//  Visits every profile of the other country, by the lists of their offers
//  and needs, from the best complement for a down, and stops at the list
//  whose complement plus `rest` (the most the other parts without codes
//  can add) cannot reach the k-th score.
static void s_visit_rest (s_query_t *q, int rest);

//  True when no profile left unvisited can enter the top k or reach the
//  minimum score.
static bool
s_done (const s_query_t *q, int bound)
{
    if (q->filter && bound < q->filter->min_score)
        return true;
    return q->count == q->k && q->hits[q->k - 1].score > bound;
}

static void
s_query_start (s_query_t *q)
{
    mm_index_t *index = q->index;
    memset (q->complement, 0xff, sizeof (q->complement)); //  -1: not yet
    memset (q->size, 0xff, sizeof (q->size));
    memset (q->money, 0xff, sizeof (q->money));
    for (int i = 0; i < 64; i++)
        q->location[i] = mm_location_bound (q->weights, q->a, (uint8_t)i, 0);
    for (int i = 0; i < 256; i++)
        q->prefers[i] = mm_location_bound (q->weights, q->a, 0, (uint8_t)i);
    for (int i = 0; i < 16; i++)
        q->language[i] = mm_language_bound (q->weights, q->a, (uint8_t)i);
    if (++index->generation == 0) {
        memset (index->stamps, 0, index->slots * sizeof (uint32_t));
        index->generation = 1;
    }
}

static int
s_by_complement (const void *x, const void *y)
{
    const int *a = (const int *)x, *b = (const int *)y;
    return a[0] != b[0] ? (a[0] > b[0] ? -1 : 1) : a[1] - b[1];
}

static void
s_visit_rest (s_query_t *q, int rest)
{
    s_list_t *lists = q->index->lists[1 - q->a->country][S_ALL];
    int (*order)[2] = (int (*)[2])malloc (MM_SIGNATURES * sizeof (*order));
    assert (order);
    int count = 0;
    for (int signature = 0; signature < MM_SIGNATURES; signature++)
        if (lists[signature].count) {
            if (q->complement[signature] < 0)
                q->complement[signature] =
                    mm_complement_points (q->weights, q->a, (uint16_t)signature);
            order[count][0] = q->complement[signature];
            order[count++][1] = signature;
        }
    qsort (order, (size_t)count, sizeof (*order), s_by_complement);
    //  in complement order, a few lists at a time
    for (int i = 0; i < count && !s_done (q, order[i][0] + rest); i++) {
        s_visit_list (q, S_ALL, order[i][1]);
        if (q->n_candidates >= 4096 || i + 1 == count || order[i + 1][0] != order[i][0])
            s_flush (q);
    }
    s_flush (q);
    free (order);
}

size_t
mm_index_top (mm_index_t *self, const mm_weights_t *weights, const mm_profile_t *a,
              const mm_filter_t *filter, size_t k, mm_hit_t *hits, size_t *scored)
{
    assert (self && weights && a && hits);
    s_query_t *q = (s_query_t *)malloc (sizeof (s_query_t));
    assert (q);
    memset (q, 0, sizeof (*q));
    q->index = self, q->weights = weights, q->a = a, q->filter = filter, q->k = k, q->hits = hits;
    if (k == 0) {
        free (q);
        return 0;
    }
    s_query_start (q);
    int free_bound = mm_score_free_bound (weights, a);
    bool sectors = a->n_classes || a->n_divisions, products = a->n_made || a->n_bought;

    int sector = sectors ? weights->sector * 100 : 0,
        product = products ? weights->product * 100 : 0;
    int group = a->n_classes ? weights->sector * 60 : weights->sector * 30,
        division = sector * 30 / 100;
    //  1a. subheadings a makes (in the lists of their buyers) or buys (of
    //  their makers)
    q->made = s_heading_bits (a->made, a->n_made);
    q->divisions = s_division_bits (a);
    q->bought = s_heading_bits (a->bought, a->n_bought);
    q->stage_bound = sector;
    q->stage_product = product;
    for (int i = 0; i < a->n_made; i++)
        s_visit_list (q, S_BOUGHT6, a->made[i]);
    for (int i = 0; i < a->n_bought; i++)
        s_visit_list (q, S_MADE6, a->bought[i]);
    s_flush (q);
    //  1b. a's classes: a profile not met in 1a shares no subheading (or
    //  could not enter then, nor now: the k-th score only grows)
    q->stage_bound = sector;
    q->stage_product = product / 2;
    for (int i = 0; i < a->n_classes; i++)
        s_visit_list (q, S_CLASS, a->classes[i]);
    s_flush (q);
    //  2a. headings: no class in common any more
    q->stage_bound = sectors ? group : 0;
    if (!s_done (q, q->stage_bound + q->stage_product + free_bound)) {
        for (int i = 0; i < a->n_made; i++)
            s_visit_list (q, S_BOUGHT4, mm_hs_heading (a->made[i]));
        for (int i = 0; i < a->n_bought; i++)
            s_visit_list (q, S_MADE4, mm_hs_heading (a->bought[i]));
        s_flush (q);
        //  2b. groups: no heading in common any more
        q->stage_product = 0;
        if (!s_done (q, q->stage_bound + free_bound)) {
            for (int i = 0; i < a->n_classes; i++)
                s_visit_list (q, S_GROUP, mm_class_group (a->classes[i]));
            s_flush (q);
            //  3. divisions: no group in common any more
            q->stage_bound = division;
            if (!s_done (q, q->stage_bound + free_bound)) {
                for (int i = 0; i < a->n_classes; i++)
                    s_visit_list (q, S_DIVISION, mm_class_division (a->classes[i]));
                for (int i = 0; i < a->n_divisions; i++)
                    s_visit_list (q, S_DIVISION, a->divisions[i]);
                s_flush (q);
                //  4. everyone else: nothing in common but the parts
                //  without codes, the complement known from the list
                q->stage_bound = 0;
                if (!s_done (q, free_bound))
                    s_visit_rest (q, free_bound - weights->complement * 100);
            }
        }
    }
    if (scored)
        *scored = q->scored;
    size_t count = q->count;
    free (q->candidates);
    free (q->sorted);
    free (q);
    return count;
}

size_t
mm_index_brute (mm_index_t *self, const mm_weights_t *weights, const mm_profile_t *a,
                const mm_filter_t *filter, size_t k, mm_hit_t *hits, size_t *scored)
{
    assert (self && weights && a && hits);
    if (k == 0)
        return 0;
    s_query_t *q = (s_query_t *)calloc (1, sizeof (s_query_t));
    assert (q);
    q->index = self, q->weights = weights, q->a = a, q->filter = filter, q->k = k, q->hits = hits;
    s_query_start (q);
    //  every slot in memory order
    for (uint32_t slot = 0; slot < self->slots; slot++)
        if (self->profiles[slot].live && self->profiles[slot].country != a->country)
            s_visit (q, slot);
    if (scored)
        *scored = q->scored;
    size_t count = q->count;
    free (q);
    return count;
}
