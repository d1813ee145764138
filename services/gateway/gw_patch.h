/*  gw_patch - JSON merge patch (RFC 7386), the body of every PATCH of the
    gateway. Pure: no I/O.
*/
#ifndef GW_PATCH_H_INCLUDED
#define GW_PATCH_H_INCLUDED

#include <jansson.h>

//  The result of applying patch to target (both borrowed), as a new
//  reference: an object patch merges member by member (null removes the
//  member), anything else replaces the target.
json_t *gw_json_merge_patch (json_t *target, json_t *patch);

#endif
