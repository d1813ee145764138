/*  gw_patch - JSON merge patch (RFC 7386).
 */
#include "gw_patch.h"

json_t *
gw_json_merge_patch (json_t *target, json_t *patch)
{
    if (!json_is_object (patch))
        return json_deep_copy (patch);
    json_t *result = json_is_object (target) ? json_deep_copy (target) : json_object ();
    const char *key;
    json_t *value;
    json_object_foreach (patch, key, value)
    {
        if (json_is_null (value))
            json_object_del (result, key);
        else
            json_object_set_new (result, key,
                                 gw_json_merge_patch (json_object_get (result, key), value));
    }
    return result;
}
