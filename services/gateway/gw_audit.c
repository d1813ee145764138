/*  gw_audit - the audit trail of the gateway's writes, chained by hash.
 */
#include "gw_audit.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_status.h"
#include "cpec_json.h"
#include "cpec_pb.h"
#include "cpec_token.h"
#include "gw_private.h"

#define S_LOG       "cpec:audit:log"
#define S_HEAD      "cpec:audit:head"
#define S_GENESIS   "0000000000000000000000000000000000000000000000000000000000000000"
#define S_RETRIES   50
#define S_SCAN_STEP 200

//  KEYS: log, head. ARGV: the head as read ("" when none), the entry, the
//  new head. Refuses when another append came first.
static const char s_append_script[] =
    "local head = redis.call('GET', KEYS[2]) or ''\n"
    "if head ~= ARGV[1] then return redis.error_reply('ABORTED the audit head moved') end\n"
    "redis.call('RPUSH', KEYS[1], ARGV[2])\n"
    "redis.call('SET', KEYS[2], ARGV[3])\n"
    "return redis.call('LLEN', KEYS[1])\n";

void
gw_audit_hash (json_t *entry, char hex[65])
{
    json_t *copy = json_copy (entry);
    json_object_del (copy, "hash");
    char *text = json_dumps (copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref (copy);
    assert (text);
    cpec_sha256_hex (text, strlen (text), hex);
    free (text);
}

//  A JSON string of text made valid UTF-8 (a path or a message may carry
//  what a caller sent).
static json_t *
s_text (const char *text)
{
    char *copy = cpec_strdup (text ? text : "");
    gw_utf8_clean (copy);
    json_t *string = json_string (copy);
    free (copy);
    return string;
}

static const char *
s_role_name (int role)
{
    const ProtobufCEnumValue *value =
        protobuf_c_enum_descriptor_get_value (&cpec__v1__principal__role__descriptor, role);
    return value ? value->name : "ROLE_UNSPECIFIED";
}

//  The head "SEQ HASH" into seq and hash; an absent head is seq 0 and the
//  genesis hash. -1 when malformed.
static int
s_parse_head (const char *text, uint64_t *seq, char hash[65])
{
    if (!text || !*text) {
        *seq = 0;
        memcpy (hash, S_GENESIS, 65);
        return 0;
    }
    char parsed[65] = "";
    unsigned long long n = 0;
    if (sscanf (text, "%llu %64s", &n, parsed) != 2 || strlen (parsed) != 64)
        return -1;
    *seq = n;
    memcpy (hash, parsed, 65);
    return 0;
}

int
gw_audit_append (cpec_store_t *store, char sha[41], const gw_audit_entry_t *entry, int64_t now_ms,
                 cpec_status_t *status)
{
    assert (store && entry && entry->who);
    char at[40];
    cpec_json_format_time (now_ms, at, sizeof (at));
    json_t *body = json_pack (
        "{s:s, s:{s:o, s:s, s:o, s:o}, s:o, s:o, s:o, s:o, s:I, s:I, s:i, s:s, s:o, s:o}", "at", at,
        "actor", "subject", s_text (entry->who->subject), "role", s_role_name (entry->who->role),
        "province", s_text (entry->who->province), "enterprise_id",
        s_text (entry->who->enterprise_id), "method", s_text (entry->method), "path",
        s_text (entry->path), "call", s_text (entry->call), "target", s_text (entry->target),
        "version_before", (json_int_t)entry->version_before, "version_after",
        (json_int_t)entry->version_after, "status", entry->http_status, "code",
        cpec_code_name (entry->code), "message", s_text (entry->message), "request_id",
        s_text (entry->request_id));
    if (!body)
        return cpec_status_set (status, CPEC_INTERNAL, "the audit entry could not be made");
    int rc = CPEC_UNAVAILABLE;
    for (int attempt = 0; attempt < S_RETRIES; attempt++) {
        const char *get[] = {"GET", S_HEAD};
        redisReply *reply = cpec_store_command (store, 2, get, NULL, status);
        if (!reply) {
            rc = status->code;
            break;
        }
        char *head =
            reply->type == REDIS_REPLY_STRING ? cpec_strdup (reply->str) : cpec_strdup ("");
        freeReplyObject (reply);
        uint64_t seq;
        char prev[65];
        if (s_parse_head (head, &seq, prev) != 0) {
            free (head);
            rc = cpec_status_set (status, CPEC_DATA_LOSS, "the audit head is malformed");
            break;
        }
        json_object_set_new (body, "seq", json_integer ((json_int_t)(seq + 1)));
        json_object_set_new (body, "prev_hash", json_string (prev));
        char hash[65];
        gw_audit_hash (body, hash);
        json_object_set_new (body, "hash", json_string (hash));
        char *text = json_dumps (body, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        char new_head[100];
        snprintf (new_head, sizeof (new_head), "%" PRIu64 " %s", seq + 1, hash);
        const char *argv[] = {"2", S_LOG, S_HEAD, head, text, new_head};
        reply = cpec_store_script (store, s_append_script, sha, 6, argv, NULL, status);
        free (text);
        free (head);
        json_object_del (body, "hash");
        if (reply) {
            freeReplyObject (reply);
            rc = CPEC_OK;
            break;
        }
        rc = status->code;
        if (rc != CPEC_ABORTED)
            break;
        //  another append came first: read the head again after a moment
        zclock_sleep (1 + (int)(cpec_clock_ms () % 5) + attempt / 10);
    }
    json_decref (body);
    return rc;
}

//  Marks the chain broken at seq (the first break found is kept).
static void
s_broken (json_t *chain, uint64_t seq, const char *reason)
{
    if (json_is_false (json_object_get (chain, "intact")))
        return;
    json_object_set_new (chain, "intact", json_false ());
    json_object_set_new (chain, "broken_at", json_integer ((json_int_t)seq));
    json_object_set_new (chain, "reason", json_string (reason));
}

//  Reads entries first..first+count-1 (1-based sequence numbers) raw.
static redisReply *
s_range (cpec_store_t *store, uint64_t first, size_t count, cpec_status_t *status)
{
    char start[24], stop[24];
    snprintf (start, sizeof (start), "%" PRIu64, first - 1);
    snprintf (stop, sizeof (stop), "%" PRIu64, first - 1 + count - 1);
    const char *argv[] = {"LRANGE", S_LOG, start, stop};
    return cpec_store_command (store, 4, argv, NULL, status);
}

int
gw_audit_read (cpec_store_t *store, uint64_t after, size_t limit, const char *province,
               json_t **page, cpec_status_t *status)
{
    assert (store && page);
    *page = NULL;
    //  the head first: entries appended while this reads are for the next
    //  page, not a break
    const char *get[] = {"GET", S_HEAD};
    redisReply *head_reply = cpec_store_command (store, 2, get, NULL, status);
    if (!head_reply)
        return status->code;
    uint64_t head_seq = 0;
    char head_hash[65];
    int head_parsed = s_parse_head (head_reply->type == REDIS_REPLY_STRING ? head_reply->str : "",
                                    &head_seq, head_hash);
    freeReplyObject (head_reply);
    if (head_parsed != 0)
        return cpec_status_set (status, CPEC_DATA_LOSS, "the audit head is malformed");
    //  the hash the first entry read must link to
    char prev[65];
    memcpy (prev, S_GENESIS, 65);
    if (after > 0) {
        redisReply *reply = s_range (store, after, 1, status);
        if (!reply)
            return status->code;
        json_t *before = reply->type == REDIS_REPLY_ARRAY && reply->elements == 1
                             ? json_loads (reply->element[0]->str, 0, NULL)
                             : NULL;
        freeReplyObject (reply);
        const char *hash = json_string_value (json_object_get (before, "hash"));
        snprintf (prev, sizeof (prev), "%s", hash ? hash : "");
        json_decref (before);
        if (!hash)
            return cpec_status_set (status, CPEC_NOT_FOUND, "no audit entry %" PRIu64, after);
    }
    json_t *entries = json_array ();
    json_t *chain = json_pack ("{s:b, s:I}", "intact", 1, "checked_from", (json_int_t)(after + 1));
    uint64_t next = after + 1; //  the next sequence number to read
    bool end = false;
    while (json_array_size (entries) < limit && !end) {
        if (next > head_seq) {
            end = true;
            break;
        }
        size_t step =
            head_seq - next + 1 < S_SCAN_STEP ? (size_t)(head_seq - next + 1) : S_SCAN_STEP;
        redisReply *reply = s_range (store, next, step, status);
        if (!reply) {
            json_decref (entries);
            json_decref (chain);
            return status->code;
        }
        size_t got = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
        end = got < step || next + got > head_seq;
        size_t i = 0;
        for (; i < got && json_array_size (entries) < limit; i++, next++) {
            json_t *entry = json_loads (reply->element[i]->str, 0, NULL);
            const char *hash = json_string_value (json_object_get (entry, "hash"));
            const char *linked = json_string_value (json_object_get (entry, "prev_hash"));
            char computed[65] = "";
            if (entry)
                gw_audit_hash (entry, computed);
            if (!entry || !hash || strcmp (hash, computed) != 0)
                s_broken (chain, next, "the entry does not match its hash");
            else if (!linked || strcmp (linked, prev) != 0)
                s_broken (chain, next, "the entry does not follow the one before it");
            else if (json_integer_value (json_object_get (entry, "seq")) != (json_int_t)next)
                s_broken (chain, next, "the entry is out of place");
            snprintf (prev, sizeof (prev), "%s", hash ? hash : "");
            const char *whose =
                json_string_value (json_object_get (json_object_get (entry, "actor"), "province"));
            if (entry && (!province || (whose && strcmp (whose, province) == 0)))
                json_array_append (entries, entry);
            json_decref (entry);
        }
        if (i < got)
            end = false; //  stopped at the limit with more to read
        freeReplyObject (reply);
    }
    json_object_set_new (chain, "checked_to", json_integer ((json_int_t)(next - 1)));
    if (end && (head_seq != next - 1 || (head_seq > 0 && strcmp (head_hash, prev) != 0)))
        //  the last entry read must be the head as it was: nothing cut off
        s_broken (chain, next, "the log does not end at the head: entries were removed");
    char next_after[24] = "";
    if (!end)
        snprintf (next_after, sizeof (next_after), "%" PRIu64, next - 1);
    *page =
        json_pack ("{s:o, s:s, s:o}", "entries", entries, "next_after", next_after, "chain", chain);
    return CPEC_OK;
}
