/*  mm_test.h - what the matchmaking tests share: a profile to start from.
    Include after cmocka.h.
*/
#ifndef MM_TEST_H_INCLUDED
#define MM_TEST_H_INCLUDED

#include <string.h>

#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec_pb.h"

//  A profile with an id (also its name), a country, its province and one
//  ISIC class; the rest unset. The caller destroys it.
static inline Cpec__V1__Enterprise *
mm_test_firm (const char *id, const char *country, const char *province, const char *sector)
{
    Cpec__V1__Enterprise *e =
        (Cpec__V1__Enterprise *)cpec_pb_new (&cpec__v1__enterprise__descriptor);
    e->id = cpec_strdup (id);
    e->name = cpec_strdup (id);
    e->country = cpec_strdup (country);
    e->province = cpec_strdup (province);
    e->sectors = (char **)cpec_realloc (NULL, sizeof (char *));
    e->sectors[0] = cpec_strdup (sector);
    e->n_sectors = 1;
    return e;
}

#endif
