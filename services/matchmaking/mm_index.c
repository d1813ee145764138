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
      4. the profiles whose offers meet a need of a, or whose needs an
         offer of a meets
      5. every profile of the other country
    After each stage a profile not yet visited can reach at most the free
    bound (mm_score_free_bound: the parts that need no shared code) plus the
    sector and product parts its stage leaves possible (after 1: group 60%
    and heading 50%; after 2: division 30%; after 3: none; after 4, the
    complement part is out of reach too). When the k-th
    best so far scores strictly more than that bound, no unvisited profile
    can enter the top k, nor tie with it (ties go by id), so the answer is
    the brute force scan's, and the query stops.
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
    S_OFFER, //  by offer kind
    S_NEED,  //  by need kind
    S_ALL,
    S_KINDS
};

typedef struct
{
    uint32_t *slots;
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
    self->sizes[S_OFFER] = self->sizes[S_NEED] = 8;
    self->sizes[S_ALL] = 1;
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
                free (self->lists[c][kind][i].slots);
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
s_list_add (s_list_t *list, uint32_t slot)
{
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 4;
        list->slots = (uint32_t *)cpec_realloc (list->slots, list->capacity * sizeof (uint32_t));
    }
    list->slots[list->count++] = slot;
}

static void
s_list_remove (s_list_t *list, uint32_t slot)
{
    for (uint32_t i = 0; i < list->count; i++)
        if (list->slots[i] == slot) {
            list->slots[i] = list->slots[--list->count];
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
    for (int kind = 1; kind < 8; kind++) {
        if (p->offers & (1u << kind))
            S_ADD (S_OFFER, kind);
        if (p->needs & (1u << kind))
            S_ADD (S_NEED, kind);
    }
    S_ADD (S_ALL, 0);
#undef S_ADD
    return count;
}

#define S_ENTRIES_MAX (3 * MM_SECTORS_MAX + MM_SECTORS_MAX + 4 * MM_PRODUCTS_MAX + 2 * 7 + 1)

static void
s_lists_apply (mm_index_t *self, uint32_t slot, bool add)
{
    const mm_profile_t *p = &self->profiles[slot];
    s_entry_t entries[S_ENTRIES_MAX];
    size_t count = s_entries (p, entries);
    for (size_t i = 0; i < count; i++) {
        s_list_t *list = &self->lists[p->country][entries[i].kind][entries[i].code];
        if (add)
            s_list_add (list, slot);
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
                bytes += sizeof (s_list_t) + self->lists[c][kind][i].capacity * sizeof (uint32_t);
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
    mm_index_t *index;
    const mm_weights_t *weights;
    const mm_profile_t *a;
    const mm_filter_t *filter;
    size_t k, count, scored;
    mm_hit_t *hits; //  best first
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

static void
s_visit_list (s_query_t *q, int kind, int code)
{
    if (code < 0)
        return;
    s_list_t *list = &q->index->lists[1 - q->a->country][kind][code];
    for (uint32_t i = 0; i < list->count; i++)
        s_visit (q, list->slots[i]);
}

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
    if (++index->generation == 0) {
        memset (index->stamps, 0, index->slots * sizeof (uint32_t));
        index->generation = 1;
    }
}

size_t
mm_index_top (mm_index_t *self, const mm_weights_t *weights, const mm_profile_t *a,
              const mm_filter_t *filter, size_t k, mm_hit_t *hits, size_t *scored)
{
    assert (self && weights && a && hits);
    s_query_t q = {self, weights, a, filter, k, 0, 0, hits};
    if (k == 0)
        return 0;
    s_query_start (&q);
    int free_bound = mm_score_free_bound (weights, a);
    bool sectors = a->n_classes || a->n_divisions, products = a->n_made || a->n_bought;

    //  1. classes, subheadings
    for (int i = 0; i < a->n_classes; i++)
        s_visit_list (&q, S_CLASS, a->classes[i]);
    for (int i = 0; i < a->n_made; i++)
        s_visit_list (&q, S_BOUGHT6, a->made[i]);
    for (int i = 0; i < a->n_bought; i++)
        s_visit_list (&q, S_MADE6, a->bought[i]);
    int bound = free_bound +
                (a->n_classes ? weights->sector * 60
                 : sectors    ? weights->sector * 30
                              : 0) +
                (products ? weights->product * 50 : 0);
    if (!s_done (&q, bound)) {
        //  2. groups, headings
        for (int i = 0; i < a->n_classes; i++)
            s_visit_list (&q, S_GROUP, mm_class_group (a->classes[i]));
        for (int i = 0; i < a->n_made; i++)
            s_visit_list (&q, S_BOUGHT4, mm_hs_heading (a->made[i]));
        for (int i = 0; i < a->n_bought; i++)
            s_visit_list (&q, S_MADE4, mm_hs_heading (a->bought[i]));
        bound = free_bound + (sectors ? weights->sector * 30 : 0);
        if (!s_done (&q, bound)) {
            //  3. divisions
            for (int i = 0; i < a->n_classes; i++)
                s_visit_list (&q, S_DIVISION, mm_class_division (a->classes[i]));
            for (int i = 0; i < a->n_divisions; i++)
                s_visit_list (&q, S_DIVISION, a->divisions[i]);
            if (!s_done (&q, free_bound)) {
                //  4. those whose offers meet a need of a, or whose needs
                //  an offer of a meets
                for (int need = 1; need < 7; need++)
                    for (int offer = 1; offer < 7; offer++)
                        if (mm_offer_meets (offer, need)) {
                            if (a->needs & (1u << need))
                                s_visit_list (&q, S_OFFER, offer);
                            if (a->offers & (1u << offer))
                                s_visit_list (&q, S_NEED, need);
                        }
                if (!s_done (&q, free_bound - weights->complement * 100))
                    s_visit_list (&q, S_ALL, 0); //  5. everyone
            }
        }
    }
    if (scored)
        *scored = q.scored;
    return q.count;
}

size_t
mm_index_brute (mm_index_t *self, const mm_weights_t *weights, const mm_profile_t *a,
                const mm_filter_t *filter, size_t k, mm_hit_t *hits, size_t *scored)
{
    assert (self && weights && a && hits);
    s_query_t q = {self, weights, a, filter, k, 0, 0, hits};
    if (k == 0)
        return 0;
    s_query_start (&q);
    s_visit_list (&q, S_ALL, 0);
    if (scored)
        *scored = q.scored;
    return q.count;
}
