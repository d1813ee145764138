/*  cpec_token - bearer tokens of the HTTP API, kept as hashes in Redis. */
#include "cpec_token.h"

#include <assert.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"

#define S_PREFIX     "cpec_"
#define S_RANDOM     32 //  bytes of a token's secret
#define S_TOKEN_SIZE (sizeof (S_PREFIX) - 1 + 2 * S_RANDOM)

void
cpec_sha256_hex (const void *data, size_t size, char hex[65])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_Digest (data, size, digest, &length, EVP_sha256 (), NULL);
    for (unsigned int i = 0; i < length && i < 32; i++)
        snprintf (hex + 2 * i, 3, "%02x", digest[i]);
    hex[64] = '\0';
}

//  The lowercase hex SHA-256 of text into hex (65 bytes).
static void
s_hash (const char *text, char hex[65])
{
    cpec_sha256_hex (text, strlen (text), hex);
}

static void
s_key (char *key, size_t size, const char *id)
{
    snprintf (key, size, "cpec:tok:%s", id);
}

int
cpec_token_create (cpec_store_t *store, int role, const char *province, const char *enterprise,
                   const char *subject, char **token, char id[CPEC_TOKEN_ID_SIZE],
                   cpec_status_t *status)
{
    assert (store && token && id);
    province = province ? province : "";
    enterprise = enterprise ? enterprise : "";
    subject = subject ? subject : "";
    const ProtobufCEnumValue *name =
        protobuf_c_enum_descriptor_get_value (&cpec__v1__principal__role__descriptor, role);
    if (!name || role == CPEC__V1__PRINCIPAL__ROLE__ROLE_UNSPECIFIED ||
        role == CPEC__V1__PRINCIPAL__ROLE__SERVICE)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "role: ADMIN, PROVINCE, ENTERPRISE or VIEWER");
    if (role == CPEC__V1__PRINCIPAL__ROLE__PROVINCE && strncmp (province, "PK-", 3) != 0)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "province: a PROVINCE token needs its province (PK-KP, ...)");
    if (role == CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE && !*enterprise)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "enterprise: an ENTERPRISE token needs its enterprise id");
    if (!*subject)
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT,
                                "subject: who the token is for (audits name it)");
    unsigned char secret[S_RANDOM];
    if (RAND_bytes (secret, sizeof (secret)) != 1)
        return cpec_status_set (status, CPEC_INTERNAL, "no random bytes for a token");
    char *made = (char *)cpec_realloc (NULL, S_TOKEN_SIZE + 1);
    memcpy (made, S_PREFIX, sizeof (S_PREFIX) - 1);
    for (size_t i = 0; i < S_RANDOM; i++)
        snprintf (made + sizeof (S_PREFIX) - 1 + 2 * i, 3, "%02x", secret[i]);
    OPENSSL_cleanse (secret, sizeof (secret));
    char hash[65];
    s_hash (made, hash);
    memcpy (id, hash, CPEC_TOKEN_ID_SIZE - 1);
    id[CPEC_TOKEN_ID_SIZE - 1] = '\0';
    char key[64], role_text[16], created[32];
    s_key (key, sizeof (key), id);
    snprintf (role_text, sizeof (role_text), "%d", role);
    snprintf (created, sizeof (created), "%lld", (long long)cpec_now_ms ());
    const char *argv[] = {"HSET",    key,        "h",       hash,         "role",
                          role_text, "province", province,  "enterprise", enterprise,
                          "subject", subject,    "created", created};
    redisReply *reply = cpec_store_command (store, 14, argv, NULL, status);
    if (!reply) {
        OPENSSL_cleanse (made, S_TOKEN_SIZE);
        free (made);
        return status->code;
    }
    freeReplyObject (reply);
    *token = made;
    return CPEC_OK;
}

int
cpec_token_check (cpec_store_t *store, const char *token, Cpec__V1__Principal **principal,
                  cpec_status_t *status)
{
    assert (store && principal);
    *principal = NULL;
    size_t length = token ? strlen (token) : 0;
    bool shaped = length == S_TOKEN_SIZE && strncmp (token, S_PREFIX, sizeof (S_PREFIX) - 1) == 0;
    for (size_t i = sizeof (S_PREFIX) - 1; shaped && i < length; i++)
        shaped = strchr ("0123456789abcdef", token[i]) != NULL;
    if (!shaped)
        return cpec_status_set (status, CPEC_UNAUTHENTICATED, "a bearer token is required");
    char hash[65], id[CPEC_TOKEN_ID_SIZE], key[64];
    s_hash (token, hash);
    memcpy (id, hash, CPEC_TOKEN_ID_SIZE - 1);
    id[CPEC_TOKEN_ID_SIZE - 1] = '\0';
    s_key (key, sizeof (key), id);
    const char *argv[] = {"HMGET", key, "h", "role", "province", "enterprise", "subject"};
    redisReply *reply = cpec_store_command (store, 7, argv, NULL, status);
    if (!reply)
        return status->code;
    int rc = CPEC_OK;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 5 || !reply->element[0]->str ||
        reply->element[0]->len != 64 || CRYPTO_memcmp (reply->element[0]->str, hash, 64) != 0)
        rc = cpec_status_set (status, CPEC_UNAUTHENTICATED, "the token is unknown or revoked");
    else {
        Cpec__V1__Principal *who =
            (Cpec__V1__Principal *)cpec_pb_new (&cpec__v1__principal__descriptor);
        who->role = reply->element[1]->str ? atoi (reply->element[1]->str) : 0;
        who->province = cpec_strdup (reply->element[2]->str ? reply->element[2]->str : "");
        who->enterprise_id = cpec_strdup (reply->element[3]->str ? reply->element[3]->str : "");
        who->subject = cpec_strdup (reply->element[4]->str ? reply->element[4]->str : "");
        *principal = who;
    }
    freeReplyObject (reply);
    return rc;
}

int
cpec_token_revoke (cpec_store_t *store, const char *id, cpec_status_t *status)
{
    assert (store);
    if (!id || strlen (id) != CPEC_TOKEN_ID_SIZE - 1 ||
        strspn (id, "0123456789abcdef") != strlen (id))
        return cpec_status_set (status, CPEC_INVALID_ARGUMENT, "id: 16 hex digits");
    char key[64];
    s_key (key, sizeof (key), id);
    const char *argv[] = {"DEL", key};
    redisReply *reply = cpec_store_command (store, 2, argv, NULL, status);
    if (!reply)
        return status->code;
    long long deleted = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
    freeReplyObject (reply);
    return deleted ? CPEC_OK : cpec_status_set (status, CPEC_NOT_FOUND, "no token %s", id);
}
