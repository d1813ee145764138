/*  test_mm_handlers - the matchmaking handlers (services/matchmaking/
    mm_server.c, mm_funnel.c) against a real Redis, as the worker calls them.

    Two "replicas" (two mm_t, each with its own store and index) answer
    alike; profiles are created, imported, updated and deleted, and the bad
    ones refused with nothing written; TopMatches carries reasons and equals
    the brute force; RecommendZones never sends a firm needing 500 acres to
    a zone with 50 free; the funnel's moves and refusals, retries, the
    funnel report; and an unanswered proposal gets its reminder and expires,
    each once, with two replicas running the timers.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpec_pb.h"
#include "handlers_test.h"
#include "mm.h"
#include "mm_test.h"

#define S_ADMIN      CPEC__V1__PRINCIPAL__ROLE__ADMIN
#define S_VIEWER     CPEC__V1__PRINCIPAL__ROLE__VIEWER
#define S_ENTERPRISE CPEC__V1__PRINCIPAL__ROLE__ENTERPRISE
#define S_PROVINCE   CPEC__V1__PRINCIPAL__ROLE__PROVINCE
#define S_STATE(x)   CPEC__V1__MATCH__STATE__##x

typedef struct
{
    handlers_env_t env;
    cpec_store_t *store2;
    mm_t one, two; //  two replicas
} s_world_t;

static s_world_t s_world;

static void
s_flush_mm (redisContext *redis)
{
    //  only this test writes cpec:mm:*; zones are made with ids of its own
    redisReply *reply = redisCommand (redis, "EVAL %s 0",
                                      "for _, k in ipairs(redis.call('KEYS', 'cpec:mm:*')) do "
                                      "redis.call('DEL', k) end return 0");
    assert_non_null (reply);
    freeReplyObject (reply);
}

static void
s_replica (mm_t *self, cpec_store_t *store, cpec_bus_t *bus, double expiry_days,
           double reminder_days)
{
    memset (self, 0, sizeof (*self));
    self->store = store;
    self->bus = bus;
    self->config.weights = mm_weights_default;
    self->config.expiry_ms = (int64_t)(expiry_days * 86400000.0);
    self->config.reminder_ms = (int64_t)(reminder_days * 86400000.0);
    cpec_status_t status;
    assert_int_equal (mm_init (self, &status), CPEC_OK);
}

static int
s_setup (void **state)
{
    (void)state;
    if (handlers_env_open (&s_world.env, "mm"))
        return -1;
    s_flush_mm (s_world.env.redis);
    s_world.store2 = cpec_store_new (s_world.env.url);
    //  expiry after 1.5 s, the reminder 1 s before
    s_replica (&s_world.one, s_world.env.store, s_world.env.bus, 1.5 / 86400, 1.0 / 86400);
    s_replica (&s_world.two, s_world.store2, NULL, 1.5 / 86400, 1.0 / 86400);
    return 0;
}

static int
s_teardown (void **state)
{
    (void)state;
    mm_fini (&s_world.one);
    mm_fini (&s_world.two);
    cpec_store_destroy (&s_world.store2);
    handlers_env_close (&s_world.env);
    return 0;
}

static cpec_handler_fn *
s_handler (const char *method)
{
    for (const cpec_method_t *m = mm_methods; m->method; m++)
        if (strcmp (m->method, method) == 0)
            return m->handler;
    fail_msg ("no handler %s", method);
    return NULL;
}

static const ProtobufCMessageDescriptor *
s_output (const char *method)
{
    const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name (
        &cpec__v1__matchmaking__descriptor, method);
    assert_non_null (m);
    return m->output;
}

static handlers_caller_t s_admin = {.role = S_ADMIN, .subject = "boi-officer"};

//  Calls method on replica r as caller.
static int
s_call (mm_t *r, handlers_caller_t caller, const char *method, const ProtobufCMessage *input,
        ProtobufCMessage **output, cpec_status_t *status)
{
    return handlers_call (s_handler (method), r, method, caller, input, s_output (method), output,
                          status);
}

static Cpec__V1__Enterprise *
s_firm (const char *id, const char *country, const char *sector)
{
    Cpec__V1__Enterprise *e =
        mm_test_firm (id, country, strcmp (country, "CN") == 0 ? "CN-JS" : "PK-PB", sector);
    e->languages = (char **)cpec_realloc (NULL, sizeof (char *));
    e->languages[0] = cpec_strdup ("en");
    e->n_languages = 1;
    return e;
}
//  Creates a profile through replica r; the stored profile (destroy it).
static Cpec__V1__Enterprise *
s_create (mm_t *r, Cpec__V1__Enterprise **e_p)
{
    Cpec__V1__CreateEnterpriseRequest request = CPEC__V1__CREATE_ENTERPRISE_REQUEST__INIT;
    request.enterprise = *e_p;
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    int rc = s_call (r, s_admin, "CreateEnterprise", &request.base, &out, &status);
    if (rc != CPEC_OK)
        fail_msg ("CreateEnterprise %s: %s", (*e_p)->id, status.message);
    cpec_pb_destroy ((ProtobufCMessage **)e_p);
    return (Cpec__V1__Enterprise *)out;
}

static long long
s_redis_int (const char *command)
{
    redisReply *reply = redisCommand (s_world.env.redis, command);
    assert_non_null (reply);
    long long value = reply->type == REDIS_REPLY_INTEGER ? reply->integer
                      : reply->str                       ? atoll (reply->str)
                                                         : 0;
    freeReplyObject (reply);
    return value;
}

//  --------------------------------------------------------------------------

static void
test_profiles (void **state)
{
    (void)state;
    cpec_status_t status;
    Cpec__V1__Enterprise *e = s_firm ("hp-lahore-textiles", "PK", "1311");
    Cpec__V1__Enterprise *stored = s_create (&s_world.one, &e);
    assert_string_equal (stored->id, "hp-lahore-textiles");
    assert_int_equal (stored->version, 1);
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    long long rev = s_redis_int ("GET cpec:mm:rev");

    //  the same id again: ALREADY_EXISTS, nothing written
    e = s_firm ("hp-lahore-textiles", "PK", "1410");
    Cpec__V1__CreateEnterpriseRequest create = CPEC__V1__CREATE_ENTERPRISE_REQUEST__INIT;
    create.enterprise = e;
    assert_status (s_call (&s_world.one, s_admin, "CreateEnterprise", &create.base, NULL, &status),
                   &status, CPEC_ALREADY_EXISTS, "enterprise hp-lahore-textiles already exists");
    //  bad profiles: unknown ISIC class, unknown HS code, negative acres
    cpec_pb_string_set (&e->id, "hp-bad");
    cpec_pb_string_set (&e->sectors[0], "9999");
    assert_status (s_call (&s_world.one, s_admin, "CreateEnterprise", &create.base, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "sectors[0]: '9999' is not an ISIC");
    cpec_pb_string_set (&e->sectors[0], "1410");
    e->products_bought = (char **)cpec_realloc (NULL, sizeof (char *));
    e->products_bought[0] = cpec_strdup ("123456");
    e->n_products_bought = 1;
    assert_status (s_call (&s_world.one, s_admin, "CreateEnterprise", &create.base, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "products_bought[0]");
    cpec_pb_string_set (&e->products_bought[0], "520100");
    e->site_acres = -1;
    assert_status (s_call (&s_world.one, s_admin, "CreateEnterprise", &create.base, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "site_acres");
    e->site_acres = 10;
    //  a VIEWER, and an enterprise for another firm, may not create
    handlers_caller_t viewer = {.role = S_VIEWER, .subject = "v"};
    assert_status (s_call (&s_world.one, viewer, "CreateEnterprise", &create.base, NULL, &status),
                   &status, CPEC_PERMISSION_DENIED, "CreateEnterprise");
    handlers_caller_t other = {.role = S_ENTERPRISE, .subject = "x", .enterprise = "someone-else"};
    assert_status (s_call (&s_world.one, other, "CreateEnterprise", &create.base, NULL, &status),
                   &status, CPEC_PERMISSION_DENIED, "CreateEnterprise");
    assert_int_equal (s_redis_int ("EXISTS cpec:mm:ent:hp-bad"), 0);
    assert_int_equal (s_redis_int ("GET cpec:mm:rev"), rev);
    //  the enterprise itself may
    handlers_caller_t self = {.role = S_ENTERPRISE, .subject = "x", .enterprise = "hp-bad"};
    assert_int_equal (s_call (&s_world.one, self, "CreateEnterprise", &create.base, NULL, &status),
                      CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&e);

    //  an id is generated when none is given
    e = s_firm ("", "CN", "2710");
    cpec_pb_string_set (&e->name, "Jiangsu Motor Works");
    stored = s_create (&s_world.one, &e);
    assert_true (strncmp (stored->id, "ent-", 4) == 0 && strlen (stored->id) == 20);
    cpec_pb_destroy ((ProtobufCMessage **)&stored);

    //  update by mask with the expected version; stale versions refused
    Cpec__V1__UpdateEnterpriseRequest update = CPEC__V1__UPDATE_ENTERPRISE_REQUEST__INIT;
    Cpec__V1__Enterprise *change = s_firm ("hp-lahore-textiles", "PK", "1312");
    cpec_pb_string_set (&change->name, "Lahore Textile Mills");
    char *mask[] = {(char *)"name"};
    update.enterprise = change;
    update.update_mask = mask;
    update.n_update_mask = 1;
    update.expected_version = 1;
    ProtobufCMessage *out = NULL;
    assert_int_equal (
        s_call (&s_world.two, s_admin, "UpdateEnterprise", &update.base, &out, &status), CPEC_OK);
    Cpec__V1__Enterprise *updated = (Cpec__V1__Enterprise *)out;
    assert_int_equal (updated->version, 2);
    assert_string_equal (updated->name, "Lahore Textile Mills");
    assert_string_equal (updated->sectors[0], "1311"); //  not in the mask: kept
    cpec_pb_destroy (&out);
    assert_status (s_call (&s_world.two, s_admin, "UpdateEnterprise", &update.base, NULL, &status),
                   &status, CPEC_ABORTED, "enterprise hp-lahore-textiles is at version 2, not 1");
    cpec_pb_destroy ((ProtobufCMessage **)&change);

    //  list by country and sector
    Cpec__V1__ListEnterprisesRequest list = CPEC__V1__LIST_ENTERPRISES_REQUEST__INIT;
    list.sector = (char *)"13";
    assert_int_equal (s_call (&s_world.two, s_admin, "ListEnterprises", &list.base, &out, &status),
                      CPEC_OK);
    Cpec__V1__ListEnterprisesResponse *page = (Cpec__V1__ListEnterprisesResponse *)out;
    assert_int_equal (page->n_enterprises, 1);
    assert_string_equal (page->enterprises[0]->id, "hp-lahore-textiles");
    cpec_pb_destroy (&out);
    list.sector = (char *)"";
    list.country = (char *)"PK";
    list.page_size = 1;
    assert_int_equal (s_call (&s_world.two, s_admin, "ListEnterprises", &list.base, &out, &status),
                      CPEC_OK);
    page = (Cpec__V1__ListEnterprisesResponse *)out;
    assert_int_equal (page->n_enterprises, 1);
    assert_string_equal (page->enterprises[0]->id, "hp-bad");
    assert_string_equal (page->next_cursor, "hp-bad");
    list.cursor = (char *)"hp-bad";
    cpec_pb_destroy (&out);
    assert_int_equal (s_call (&s_world.two, s_admin, "ListEnterprises", &list.base, &out, &status),
                      CPEC_OK);
    page = (Cpec__V1__ListEnterprisesResponse *)out;
    assert_int_equal (page->n_enterprises, 1);
    assert_string_equal (page->enterprises[0]->id, "hp-lahore-textiles");
    cpec_pb_destroy (&out);

    //  delete; then it is gone
    Cpec__V1__DeleteEnterpriseRequest del = CPEC__V1__DELETE_ENTERPRISE_REQUEST__INIT;
    del.id = (char *)"hp-bad";
    del.expected_version = 7;
    assert_status (s_call (&s_world.one, s_admin, "DeleteEnterprise", &del.base, NULL, &status),
                   &status, CPEC_ABORTED, "enterprise hp-bad is at version 1");
    del.expected_version = 1;
    assert_int_equal (s_call (&s_world.one, s_admin, "DeleteEnterprise", &del.base, NULL, &status),
                      CPEC_OK);
    assert_int_equal (s_redis_int ("EXISTS cpec:mm:ent:hp-bad"), 0);
    assert_int_equal (s_redis_int ("ZSCORE cpec:mm:country:PK hp-bad"), 0);
    Cpec__V1__GetEnterpriseRequest get = CPEC__V1__GET_ENTERPRISE_REQUEST__INIT;
    get.id = (char *)"hp-bad";
    assert_status (s_call (&s_world.two, s_admin, "GetEnterprise", &get.base, NULL, &status),
                   &status, CPEC_NOT_FOUND, "enterprise hp-bad not found");
}

//  Top matches of id asked of replica r: "id:score id:score ..."
static const char *
s_top (mm_t *r, const char *id, bool brute, char *buf, size_t size)
{
    Cpec__V1__TopMatchesRequest request = CPEC__V1__TOP_MATCHES_REQUEST__INIT;
    request.enterprise_id = (char *)id;
    request.k = 20;
    request.brute_force = brute;
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    int rc = s_call (r, s_admin, "TopMatches", &request.base, &out, &status);
    if (rc != CPEC_OK)
        fail_msg ("TopMatches: %s", status.message);
    Cpec__V1__TopMatchesResponse *response = (Cpec__V1__TopMatchesResponse *)out;
    buf[0] = '\0';
    for (size_t i = 0; i < response->n_results; i++) {
        size_t used = strlen (buf);
        snprintf (buf + used, size - used, "%s%s:%.2f", used ? " " : "",
                  response->results[i]->enterprise_id, response->results[i]->score);
        //  every result says why
        assert_true (response->results[i]->n_reasons > 0 || response->results[i]->score == 0);
    }
    cpec_pb_destroy (&out);
    return buf;
}

static void
test_replicas_answer_alike (void **state)
{
    (void)state;
    //  an import through replica one, of complementary and other firms
    Cpec__V1__ImportEnterprisesRequest import = CPEC__V1__IMPORT_ENTERPRISES_REQUEST__INIT;
    Cpec__V1__Enterprise *list[40];
    const char *classes[] = {"2710", "2720", "2732", "1311", "2910"};
    for (int i = 0; i < 40; i++) {
        char id[32];
        snprintf (id, sizeof (id), "rp-%02d", i);
        list[i] = s_firm (id, i % 2 ? "CN" : "PK", classes[i % 5]);
        list[i]->employees = (uint32_t)(50 + 37 * i);
    }
    import.enterprises = list;
    import.n_enterprises = 40;
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    assert_int_equal (
        s_call (&s_world.one, s_admin, "ImportEnterprises", &import.base, &out, &status), CPEC_OK);
    assert_int_equal (((Cpec__V1__ImportEnterprisesResponse *)out)->n_ids, 40);
    cpec_pb_destroy (&out);
    //  again: refused whole, as rp-00 exists
    assert_status (s_call (&s_world.one, s_admin, "ImportEnterprises", &import.base, NULL, &status),
                   &status, CPEC_ALREADY_EXISTS, "ImportEnterprises: a profile of this batch");
    //  a duplicate inside a batch
    cpec_pb_string_set (&list[1]->id, "rp-new");
    cpec_pb_string_set (&list[2]->id, "rp-new");
    import.n_enterprises = 3;
    assert_status (s_call (&s_world.one, s_admin, "ImportEnterprises", &import.base, NULL, &status),
                   &status, CPEC_INVALID_ARGUMENT, "enterprises[2].id: rp-new is also");
    assert_int_equal (s_redis_int ("EXISTS cpec:mm:ent:rp-new"), 0);
    for (int i = 0; i < 40; i++)
        cpec_pb_destroy ((ProtobufCMessage **)&list[i]);

    char a[2048], b[2048], c[2048];
    s_top (&s_world.one, "rp-00", false, a, sizeof (a));
    s_top (&s_world.two, "rp-00", false, b, sizeof (b));
    s_top (&s_world.two, "rp-00", true, c, sizeof (c));
    assert_string_equal (a, b);
    assert_string_equal (a, c);
    assert_non_null (strstr (a, "rp-05:")); //  same class 2710, other country
    assert_null (strstr (a, "rp-02:"));     //  same country: never
    //  a change through replica two is seen by one at once
    Cpec__V1__UpdateEnterpriseRequest update = CPEC__V1__UPDATE_ENTERPRISE_REQUEST__INIT;
    Cpec__V1__Enterprise *change = s_firm ("rp-05", "CN", "0111");
    char *mask[] = {(char *)"sectors"};
    update.enterprise = change;
    update.update_mask = mask;
    update.n_update_mask = 1;
    update.expected_version = 1;
    assert_int_equal (
        s_call (&s_world.two, s_admin, "UpdateEnterprise", &update.base, NULL, &status), CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&change);
    s_top (&s_world.one, "rp-00", false, a, sizeof (a));
    s_top (&s_world.two, "rp-00", false, b, sizeof (b));
    assert_string_equal (a, b);
    assert_true (strstr (a, "rp-05:") == NULL || strstr (a, "rp-05:") > strstr (a, "rp-15:"));
    //  a delete too
    Cpec__V1__DeleteEnterpriseRequest del = CPEC__V1__DELETE_ENTERPRISE_REQUEST__INIT;
    del.id = (char *)"rp-15";
    assert_int_equal (s_call (&s_world.two, s_admin, "DeleteEnterprise", &del.base, NULL, &status),
                      CPEC_OK);
    s_top (&s_world.one, "rp-00", false, a, sizeof (a));
    assert_null (strstr (a, "rp-15:"));
    //  an enterprise asks for itself only
    handlers_caller_t firm = {.role = S_ENTERPRISE, .subject = "x", .enterprise = "rp-01"};
    Cpec__V1__TopMatchesRequest top = CPEC__V1__TOP_MATCHES_REQUEST__INIT;
    top.enterprise_id = (char *)"rp-00";
    assert_status (s_call (&s_world.one, firm, "TopMatches", &top.base, NULL, &status), &status,
                   CPEC_PERMISSION_DENIED, "TopMatches");
    top.enterprise_id = (char *)"rp-99";
    assert_status (s_call (&s_world.one, s_admin, "TopMatches", &top.base, NULL, &status), &status,
                   CPEC_NOT_FOUND, "enterprise rp-99 not found");
}

static void
s_zone (const char *id, double leasable, double allotted)
{
    Cpec__V1__Sez *zone = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    zone->id = cpec_strdup (id);
    zone->name = cpec_strdup (id);
    zone->province = cpec_strdup ("PK-SD");
    zone->status = CPEC__V1__SEZ__STATUS__OPERATIONAL;
    zone->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    zone->land->leasable_acres = cpec_pb_double_new (leasable);
    zone->land->allotted_acres = allotted;
    zone->sectors = (char **)cpec_realloc (NULL, sizeof (char *));
    zone->sectors[0] = cpec_strdup ("27");
    zone->n_sectors = 1;
    size_t size;
    uint8_t *packed = cpec_pb_pack (&zone->base, &size);
    redisReply *reply =
        redisCommand (s_world.env.redis, "HSET cpec:sez:%s v 1 pb %b", id, packed, size);
    freeReplyObject (reply);
    reply = redisCommand (s_world.env.redis, "SADD cpec:sez:all %s", id);
    freeReplyObject (reply);
    free (packed);
    cpec_pb_destroy ((ProtobufCMessage **)&zone);
}

static void
test_recommend_zones (void **state)
{
    (void)state;
    s_zone ("mmt-small", 1000, 950);     //  50 acres free
    s_zone ("mmt-full", 0.3, 0.1 + 0.2); //  allotted past leasable by a rounding error
    s_zone ("mmt-big", 6000, 1000);      //  5,000 free
    Cpec__V1__Enterprise *e = s_firm ("rz-motors", "CN", "2710");
    e->site_acres = 500;
    e->power_mw = 20;
    Cpec__V1__Enterprise *stored = s_create (&s_world.one, &e);
    cpec_pb_destroy ((ProtobufCMessage **)&stored);
    Cpec__V1__RecommendZonesRequest request = CPEC__V1__RECOMMEND_ZONES_REQUEST__INIT;
    request.enterprise_id = (char *)"rz-motors";
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    assert_int_equal (
        s_call (&s_world.two, s_admin, "RecommendZones", &request.base, &out, &status), CPEC_OK);
    Cpec__V1__RecommendZonesResponse *response = (Cpec__V1__RecommendZonesResponse *)out;
    bool big = false;
    for (size_t i = 0; i < response->n_zones; i++) {
        assert_string_not_equal (response->zones[i]->zone_id, "mmt-small");
        assert_string_not_equal (response->zones[i]->zone_id, "mmt-full");
        if (strcmp (response->zones[i]->zone_id, "mmt-big") == 0) {
            big = true;
            assert_true (response->zones[i]->n_reasons >= 2);
            bool sector = false;
            for (size_t j = 0; j < response->zones[i]->n_reasons; j++)
                sector |= strstr (response->zones[i]->reasons[j], "priority sector 27") != NULL;
            assert_true (sector);
        }
    }
    assert_true (big);
    bool said = false;
    for (size_t i = 0; i < response->n_excluded; i++)
        said |= strcmp (response->excluded[i], "mmt-small: 50 acres free, the firm needs 500") == 0;
    assert_true (said);
    cpec_pb_destroy (&out);
}

//  --------------------------------------------------------------------------
//  The funnel

static Cpec__V1__Match *
s_move (mm_t *r, handlers_caller_t who, const char *id, int state, const char *side, int want,
        const char *want_prefix)
{
    Cpec__V1__MoveMatchRequest request = CPEC__V1__MOVE_MATCH_REQUEST__INIT;
    request.id = (char *)id;
    request.state = state;
    request.enterprise_id = (char *)(side ? side : "");
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    assert_status (s_call (r, who, "MoveMatch", &request.base, &out, &status), &status, want,
                   want_prefix);
    return (Cpec__V1__Match *)out;
}

static bool
s_match_event (const Cpec__V1__Event *event, const char *what)
{
    if (event->payload_case == CPEC__V1__EVENT__PAYLOAD_MATCH_MOVED)
        return strcmp (event->match_moved->match_id, what) == 0;
    if (event->payload_case == CPEC__V1__EVENT__PAYLOAD_MATCH_EXPIRING)
        return strcmp (event->match_expiring->match_id, what) == 0;
    return false;
}

static void
test_funnel (void **state)
{
    (void)state;
    Cpec__V1__Enterprise *e = s_firm ("fn-pk", "PK", "1311");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    e = s_firm ("fn-cn", "CN", "1311");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    e = s_firm ("fn-pk2", "PK", "1311");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    s_zone ("mmt-funnel", 1000, 0);
    char *mark = handlers_stream_mark (s_world.env.redis);
    cpec_status_t status;

    Cpec__V1__ProposeMatchRequest propose = CPEC__V1__PROPOSE_MATCH_REQUEST__INIT;
    propose.enterprise_a = (char *)"fn-pk";
    propose.enterprise_b = (char *)"fn-pk2";
    assert_status (s_call (&s_world.one, s_admin, "ProposeMatch", &propose.base, NULL, &status),
                   &status, CPEC_FAILED_PRECONDITION, "a match pairs a Pakistani and a Chinese");
    propose.enterprise_b = (char *)"fn-cn";
    ProtobufCMessage *out = NULL;
    assert_int_equal (s_call (&s_world.one, s_admin, "ProposeMatch", &propose.base, &out, &status),
                      CPEC_OK);
    Cpec__V1__Match *match = (Cpec__V1__Match *)out;
    char id[64];
    snprintf (id, sizeof (id), "%s", match->id);
    assert_int_equal (match->state, S_STATE (PROPOSED));
    assert_true (match->score > 0 && match->n_reasons > 0);
    cpec_pb_destroy (&out);
    //  one open match per pair, whichever way round
    propose.enterprise_a = (char *)"fn-cn";
    propose.enterprise_b = (char *)"fn-pk";
    assert_status (s_call (&s_world.two, s_admin, "ProposeMatch", &propose.base, NULL, &status),
                   &status, CPEC_ALREADY_EXISTS, "an open match");
    assert_non_null (strstr (status.message, id));

    //  illegal moves refused, naming what is open; nothing changes
    s_move (&s_world.one, s_admin, id, S_STATE (MOU_SIGNED), NULL, CPEC_FAILED_PRECONDITION,
            "match");
    s_move (&s_world.one, s_admin, id, S_STATE (INTEREST), NULL, CPEC_INVALID_ARGUMENT,
            "enterprise_id: required");
    s_move (&s_world.one, s_admin, id, S_STATE (INTEREST), "fn-pk2", CPEC_INVALID_ARGUMENT,
            "enterprise_id: fn-pk2 is not a side");
    handlers_caller_t pk2 = {.role = S_ENTERPRISE, .subject = "x", .enterprise = "fn-pk2"};
    s_move (&s_world.one, pk2, id, S_STATE (INTEREST), NULL, CPEC_PERMISSION_DENIED, "MoveMatch");
    handlers_caller_t viewer = {.role = S_VIEWER, .subject = "v"};
    s_move (&s_world.one, viewer, id, S_STATE (INTEREST), "fn-pk", CPEC_PERMISSION_DENIED,
            "MoveMatch");
    //  one side, then the other: MUTUAL_INTEREST
    handlers_caller_t cn = {.role = S_ENTERPRISE, .subject = "cn", .enterprise = "fn-cn"};
    match = s_move (&s_world.one, cn, id, S_STATE (INTEREST), NULL, CPEC_OK, "");
    assert_int_equal (match->state, S_STATE (INTEREST));
    assert_true (match->interest_b && !match->interest_a);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    s_move (&s_world.two, cn, id, S_STATE (INTEREST), NULL, CPEC_FAILED_PRECONDITION,
            "fn-cn has already said");
    //  a retry of a move with its request id gets the first answer
    char retry[96];
    snprintf (retry, sizeof (retry), "retry-%s", id);
    handlers_caller_t pk = {
        .role = S_ENTERPRISE, .subject = "pk", .enterprise = "fn-pk", .request = retry};
    match = s_move (&s_world.two, pk, id, S_STATE (INTEREST), NULL, CPEC_OK, "");
    assert_int_equal (match->state, S_STATE (MUTUAL_INTEREST));
    uint32_t version = match->version;
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    match = s_move (&s_world.one, pk, id, S_STATE (INTEREST), NULL, CPEC_OK, "");
    assert_int_equal (match->version, version);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    //  a meeting needs its date and a place
    s_move (&s_world.one, s_admin, id, S_STATE (MEETING_SCHEDULED), NULL, CPEC_INVALID_ARGUMENT,
            "meeting.at: required");
    Cpec__V1__MoveMatchRequest meet = CPEC__V1__MOVE_MATCH_REQUEST__INIT;
    Cpec__V1__Match__Meeting meeting = CPEC__V1__MATCH__MEETING__INIT;
    meeting.at = cpec_pb_timestamp_new (cpec_now_ms () + 86400000);
    meeting.place = (char *)"Lahore Expo Centre";
    meet.id = id;
    meet.state = S_STATE (MEETING_SCHEDULED);
    meet.meeting = &meeting;
    assert_int_equal (s_call (&s_world.one, s_admin, "MoveMatch", &meet.base, NULL, &status),
                      CPEC_OK);
    cpec_pb_destroy ((ProtobufCMessage **)&meeting.at);
    match = s_move (&s_world.one, s_admin, id, S_STATE (MOU_SIGNED), NULL, CPEC_OK, "");
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    //  an entry application names a zone that exists
    Cpec__V1__MoveMatchRequest entry = CPEC__V1__MOVE_MATCH_REQUEST__INIT;
    entry.id = id;
    entry.state = S_STATE (ENTRY_APPLICATION);
    entry.zone_id = (char *)"mmt-nowhere";
    assert_status (s_call (&s_world.one, s_admin, "MoveMatch", &entry.base, NULL, &status), &status,
                   CPEC_NOT_FOUND, "zone mmt-nowhere not found");
    entry.zone_id = (char *)"mmt-funnel";
    assert_int_equal (s_call (&s_world.one, s_admin, "MoveMatch", &entry.base, &out, &status),
                      CPEC_OK);
    assert_string_equal (((Cpec__V1__Match *)out)->province, "PK-SD");
    cpec_pb_destroy (&out);
    //  the zone's province authority allots the plot; another may not
    handlers_caller_t punjab = {.role = S_PROVINCE, .subject = "p", .province = "PK-PB"};
    s_move (&s_world.one, punjab, id, S_STATE (PLOT_ALLOTTED), NULL, CPEC_PERMISSION_DENIED,
            "MoveMatch");
    s_move (&s_world.one, cn, id, S_STATE (PLOT_ALLOTTED), NULL, CPEC_PERMISSION_DENIED,
            "MoveMatch: PLOT_ALLOTTED is recorded by the zone's authority");
    handlers_caller_t sindh = {.role = S_PROVINCE, .subject = "s", .province = "PK-SD"};
    match = s_move (&s_world.one, sindh, id, S_STATE (PLOT_ALLOTTED), NULL, CPEC_OK, "");
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    match = s_move (&s_world.one, s_admin, id, S_STATE (IN_PRODUCTION), NULL, CPEC_OK, "");
    assert_int_equal (match->n_history, 8);
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    s_move (&s_world.one, s_admin, id, S_STATE (DECLINED), NULL, CPEC_FAILED_PRECONDITION, "match");
    //  a match that ended frees the pair for another
    propose.enterprise_a = (char *)"fn-pk";
    propose.enterprise_b = (char *)"fn-cn";
    assert_int_equal (s_call (&s_world.two, s_admin, "ProposeMatch", &propose.base, NULL, &status),
                      CPEC_OK);
    //  an enterprise caller without its enterprise id sees nobody's matches
    handlers_caller_t anonymous = {.role = S_ENTERPRISE, .subject = "nobody"};
    Cpec__V1__ListMatchesRequest list = CPEC__V1__LIST_MATCHES_REQUEST__INIT;
    assert_status (s_call (&s_world.one, anonymous, "ListMatches", &list.base, NULL, &status),
                   &status, CPEC_PERMISSION_DENIED, "ListMatches");
    list.enterprise_id = (char *)"fn-pk";
    handlers_caller_t pk_firm = {.role = S_ENTERPRISE, .subject = "pk", .enterprise = "fn-pk"};
    assert_int_equal (s_call (&s_world.one, pk_firm, "ListMatches", &list.base, &out, &status),
                      CPEC_OK);
    assert_int_equal (((Cpec__V1__ListMatchesResponse *)out)->n_matches, 2);
    cpec_pb_destroy (&out);

    char events[1024];
    handlers_events_since (s_world.env.store, mark, s_match_event, id, events, sizeof (events),
                           NULL);
    assert_string_equal (events, "MatchProposed MatchInterest MatchMutualInterest "
                                 "MatchMeetingScheduled MatchMouSigned MatchEntryApplication "
                                 "MatchPlotAllotted MatchInProduction");
    free (mark);

    //  the report
    Cpec__V1__FunnelReportRequest report = CPEC__V1__FUNNEL_REPORT_REQUEST__INIT;
    assert_int_equal (s_call (&s_world.two, s_admin, "FunnelReport", &report.base, &out, &status),
                      CPEC_OK);
    Cpec__V1__FunnelReportResponse *funnel = (Cpec__V1__FunnelReportResponse *)out;
    bool zone = false;
    for (size_t i = 0; i < funnel->n_zones; i++)
        if (strcmp (funnel->zones[i]->key, "mmt-funnel") == 0) {
            zone = true;
            assert_int_equal (funnel->zones[i]->total, 1);
            assert_int_equal (funnel->zones[i]->states[0]->state, S_STATE (IN_PRODUCTION));
        }
    assert_true (zone);
    assert_true (funnel->all->total >= 1);
    cpec_pb_destroy (&out);
}

static void
test_expiry_with_reminder (void **state)
{
    (void)state;
    Cpec__V1__Enterprise *e = s_firm ("ex-pk", "PK", "1311");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    e = s_firm ("ex-cn", "CN", "1311");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    char *mark = handlers_stream_mark (s_world.env.redis);
    Cpec__V1__ProposeMatchRequest propose = CPEC__V1__PROPOSE_MATCH_REQUEST__INIT;
    propose.enterprise_a = (char *)"ex-pk";
    propose.enterprise_b = (char *)"ex-cn";
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    assert_int_equal (s_call (&s_world.one, s_admin, "ProposeMatch", &propose.base, &out, &status),
                      CPEC_OK);
    char id[64];
    snprintf (id, sizeof (id), "%s", ((Cpec__V1__Match *)out)->id);
    cpec_pb_destroy (&out);
    //  one side answers: still waiting for the other, so it still expires
    handlers_caller_t pk = {.role = S_ENTERPRISE, .subject = "pk", .enterprise = "ex-pk"};
    Cpec__V1__Match *match = s_move (&s_world.one, pk, id, S_STATE (INTEREST), NULL, CPEC_OK, "");
    cpec_pb_destroy ((ProtobufCMessage **)&match);
    //  both replicas run their timers for 2.5 s
    int64_t until = cpec_now_ms () + 2500;
    while (cpec_now_ms () < until) {
        mm_timers_run (&s_world.one, cpec_now_ms ());
        mm_timers_run (&s_world.two, cpec_now_ms ());
        zclock_sleep (20);
    }
    char events[1024];
    handlers_events_since (s_world.env.store, mark, s_match_event, id, events, sizeof (events),
                           NULL);
    assert_string_equal (events, "MatchProposed MatchInterest MatchExpiring MatchExpired");
    free (mark);
    Cpec__V1__GetMatchRequest get = CPEC__V1__GET_MATCH_REQUEST__INIT;
    get.id = id;
    assert_int_equal (s_call (&s_world.two, s_admin, "GetMatch", &get.base, &out, &status),
                      CPEC_OK);
    match = (Cpec__V1__Match *)out;
    assert_int_equal (match->state, S_STATE (EXPIRED));
    assert_true (match->reminded);
    cpec_pb_destroy (&out);
    //  no timers or leases left; the pair is free for a new proposal
    assert_int_equal (s_redis_int ("ZCARD cpec:mm:timers"), 0);
    assert_int_equal (s_redis_int ("ZCARD cpec:mm:leases"), 0);
    assert_int_equal (s_call (&s_world.two, s_admin, "ProposeMatch", &propose.base, NULL, &status),
                      CPEC_OK);
    //  moving an expired match is refused
    s_move (&s_world.one, s_admin, id, S_STATE (INTEREST), "ex-cn", CPEC_FAILED_PRECONDITION,
            "match");

    //  a reminder that never ran (its timer lost): the expiry sends it first
    e = s_firm ("ex-pk2", "PK", "1311");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    mark = handlers_stream_mark (s_world.env.redis);
    propose.enterprise_a = (char *)"ex-pk2";
    assert_int_equal (s_call (&s_world.one, s_admin, "ProposeMatch", &propose.base, &out, &status),
                      CPEC_OK);
    snprintf (id, sizeof (id), "%s", ((Cpec__V1__Match *)out)->id);
    cpec_pb_destroy (&out);
    redisReply *reply = redisCommand (s_world.env.redis, "ZREM cpec:mm:timers remind:%s", id);
    assert_int_equal (reply->integer, 1);
    freeReplyObject (reply);
    until = cpec_now_ms () + 2500;
    while (cpec_now_ms () < until) {
        mm_timers_run (&s_world.two, cpec_now_ms ());
        zclock_sleep (20);
    }
    handlers_events_since (s_world.env.store, mark, s_match_event, id, events, sizeof (events),
                           NULL);
    assert_string_equal (events, "MatchProposed MatchExpiring MatchExpired");
    free (mark);
}

//  Redis loses the last write a replica had read (as after a crash with
//  appendfsync everysec, or a restore): the replica notices that the change
//  log went back, reads everything again, and answers as the others.
static void
test_resync_after_lost_writes (void **state)
{
    (void)state;
    Cpec__V1__Enterprise *e = s_firm ("lw-pk", "PK", "2930");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    e = s_firm ("lw-cn-kept", "CN", "2930");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    e = s_firm ("lw-cn-lost", "CN", "2930");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    char a[2048], b[2048], c[2048];
    s_top (&s_world.two, "lw-pk", false, b, sizeof (b)); //  two has read lw-cn-lost
    assert_non_null (strstr (b, "lw-cn-lost:"));
    //  the write of lw-cn-lost is lost: entity, index entries, change, counter
    redisReply *reply = redisCommand (
        s_world.env.redis, "EVAL %s 0",
        "redis.call('DEL', 'cpec:mm:ent:lw-cn-lost') "
        "for _, k in ipairs({'cpec:mm:ents', 'cpec:mm:country:CN', 'cpec:mm:province:CN-JS', "
        "'cpec:mm:sector:2930', 'cpec:mm:sector:293', 'cpec:mm:sector:29', 'cpec:mm:changed'}) "
        "do redis.call('ZREM', k, 'lw-cn-lost') end "
        "redis.call('INCRBYFLOAT', 'cpec:mm:rev', -1) return 0");
    assert_non_null (reply);
    freeReplyObject (reply);
    //  a new write takes the lost one's place in the counter
    e = s_firm ("lw-cn-new", "CN", "2930");
    cpec_pb_destroy ((ProtobufCMessage **)&(Cpec__V1__Enterprise *){s_create (&s_world.one, &e)});
    s_top (&s_world.one, "lw-pk", false, a, sizeof (a));
    s_top (&s_world.two, "lw-pk", false, b, sizeof (b));
    mm_t fresh;
    s_replica (&fresh, s_world.env.store, NULL, 1, 0.5);
    s_top (&fresh, "lw-pk", false, c, sizeof (c));
    mm_fini (&fresh);
    assert_null (strstr (a, "lw-cn-lost:"));
    assert_non_null (strstr (a, "lw-cn-new:"));
    assert_string_equal (a, b);
    assert_string_equal (a, c);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_profiles),
        cmocka_unit_test (test_replicas_answer_alike),
        cmocka_unit_test (test_recommend_zones),
        cmocka_unit_test (test_funnel),
        cmocka_unit_test (test_expiry_with_reminder),
        cmocka_unit_test (test_resync_after_lost_writes),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
