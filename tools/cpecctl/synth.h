/*  synth - synthetic enterprise profiles for the matchmaking service: a data
    set of Pakistani and Chinese firms that look real enough to exercise the
    matcher (seeding, benchmarks, tests).

    A data set is named by a seed; its profile number `index` is a pure
    function of (seed, index): the same pair always gives the same profile,
    whatever other profiles were made before, in any order, on any thread.
    Each profile draws from its own splitmix64 stream seeded from both.

    The profiles use the real code tables (cpec_codes: ISIC Rev.4 classes and
    HS subheadings) and pass the service's validation: id "syn-<seed>-<index>";
    half CN, half PK; provinces weighted by industrial weight; 1-3 ISIC
    classes, mostly manufacturing in the divisions that matter for CPEC (food,
    textiles, apparel, leather, chemicals, plastics, building materials,
    metals, electronics, electrical equipment, machinery, vehicles), the
    further classes in the same group or division as the first (or a related
    division); products made from the HS chapters of the firm's divisions and
    products bought from their upstream inputs (service firms, in logistics,
    ICT, construction, make none); offers and needs typical of the side
    (Chinese firms bring capital and technology and look for sites and
    partners; Pakistani firms bring sites, distribution and raw materials and
    look for technology and investment); size, revenue, investment range,
    site and utilities consistent with each other.

    Reading order: this header, then synth.c (the tables first).
*/
#ifndef SYNTH_H_INCLUDED
#define SYNTH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "cpec/v1/matchmaking.pb-c.h"

//  The size of a buffer that holds any profile id ("syn-" and two 20-digit
//  numbers).
#define SYNTH_ID_SIZE 48

//  The id of profile `index` of data set `seed`, "syn-<seed>-<index>", into
//  buf (at least SYNTH_ID_SIZE bytes). Returns buf.
const char *synth_enterprise_id (uint64_t seed, uint64_t index, char *buf, size_t size);

//  Profile `index` of data set `seed`: a new message (every string, array
//  and sub-message malloc'd, as cpec_pb allocates; free it with
//  synth_enterprise_destroy or cpec_pb_destroy). Never NULL. version,
//  created and updated are left unset: they are the service's to fill.
Cpec__V1__Enterprise *synth_enterprise (uint64_t seed, uint64_t index);

//  Frees a profile and sets *self_p to NULL. Idempotent.
void synth_enterprise_destroy (Cpec__V1__Enterprise **self_p);

#endif
