/*  cpec_bus through the broker's XSUB/XPUB proxy (the broker as an actor):
    topics, prefix subscriptions, the event decoded whole, malformed
    messages dropped.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <czmq.h>

#include "broker.h"
#include "cpec_bus.h"
#include "cpec_pb.h"

#define BUS_IN  "tcp://127.0.0.1:17951"
#define BUS_OUT "tcp://127.0.0.1:17952"

static cpec_broker_options_t s_options = {
    .endpoint = "tcp://127.0.0.1:17950",
    .bus_in = BUS_IN,
    .bus_out = BUS_OUT,
    .heartbeat_ms = 1000,
    .queue_max = 10,
    .queue_bytes_max = 64 * 1024 * 1024,
    .max_message = 1024 * 1024,
};

static Cpec__V1__Event
s_event (const char *type, const char *province, const char *zone)
{
    Cpec__V1__Event event = CPEC__V1__EVENT__INIT;
    event.id = (char *)"5c0e4f1e-0000-4000-8000-000000000001";
    event.type = (char *)type;
    event.province = (char *)province;
    event.zone_id = (char *)zone;
    return event;
}

//  Publishes `event` until the subscriber sees something (subscriptions
//  travel asynchronously), then returns what it received.
static Cpec__V1__Event *
s_first (cpec_bus_t *pub, cpec_bus_t *sub, const Cpec__V1__Event *event)
{
    for (int i = 0; i < 100; i++) {
        assert_int_equal (cpec_bus_publish (pub, event), 0);
        Cpec__V1__Event *got = cpec_bus_recv (sub, 50);
        if (got)
            return got;
    }
    return NULL;
}

static void
test_topic (void **state)
{
    (void)state;
    Cpec__V1__Event event = s_event ("SezUpdated", "PK-KP", "rashakai");
    char topic[64];
    cpec_bus_topic (&event, topic, sizeof (topic));
    assert_string_equal (topic, "SezUpdated.PK-KP.rashakai");
}

static void
test_publish_and_prefix (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    cpec_bus_t *pub = cpec_bus_new_pub (BUS_IN);
    cpec_bus_t *all = cpec_bus_new_sub (BUS_OUT, "");
    cpec_bus_t *created = cpec_bus_new_sub (BUS_OUT, "SezCreated.");
    cpec_bus_t *sindh = cpec_bus_new_sub (BUS_OUT, "SezUpdated.PK-SD.");
    assert_non_null (pub);
    assert_non_null (all);

    //  A whole event arrives, payload included.
    Cpec__V1__Sez sez = CPEC__V1__SEZ__INIT;
    sez.id = (char *)"dhabeji";
    sez.name = (char *)"Dhabeji SEZ";
    Cpec__V1__SezUpdated updated = CPEC__V1__SEZ_UPDATED__INIT;
    updated.sez = &sez;
    updated.previous_version = 3;
    Cpec__V1__Event event = s_event ("SezUpdated", "PK-SD", "dhabeji");
    event.payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_UPDATED;
    event.sez_updated = &updated;
    Cpec__V1__Event *got = s_first (pub, all, &event);
    assert_non_null (got);
    assert_string_equal (got->type, "SezUpdated");
    assert_string_equal (got->zone_id, "dhabeji");
    assert_int_equal (got->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_UPDATED);
    assert_string_equal (got->sez_updated->sez->name, "Dhabeji SEZ");
    assert_int_equal (got->sez_updated->previous_version, 3);
    cpec_pb_destroy ((ProtobufCMessage **)&got);

    //  The Sindh subscriber gets it; the SezCreated subscriber does not.
    got = s_first (pub, sindh, &event);
    assert_non_null (got);
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    Cpec__V1__Event other = s_event ("SezCreated", "PK-KP", "rashakai");
    got = s_first (pub, created, &other);
    assert_non_null (got);
    assert_string_equal (got->type, "SezCreated");
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    //  Drain, then check the filters hold for fresh messages.
    while ((got = cpec_bus_recv (created, 100)))
        cpec_pb_destroy ((ProtobufCMessage **)&got);
    while ((got = cpec_bus_recv (sindh, 100)))
        cpec_pb_destroy ((ProtobufCMessage **)&got);
    assert_int_equal (cpec_bus_publish (pub, &event), 0);
    assert_null (cpec_bus_recv (created, 300));
    Cpec__V1__Event kp = s_event ("SezUpdated", "PK-KP", "rashakai");
    assert_int_equal (cpec_bus_publish (pub, &kp), 0);
    got = cpec_bus_recv (sindh, 300);
    assert_non_null (got); //  the Sindh event published just before
    assert_string_equal (got->province, "PK-SD");
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    assert_null (cpec_bus_recv (sindh, 300)); //  not the KP one

    //  A second prefix on the same subscriber.
    assert_int_equal (cpec_bus_subscribe (created, "SezUpdated.PK-KP."), 0);
    got = s_first (pub, created, &kp);
    assert_non_null (got);
    assert_string_equal (got->zone_id, "rashakai");
    cpec_pb_destroy ((ProtobufCMessage **)&got);

    cpec_bus_destroy (&sindh);
    cpec_bus_destroy (&created);
    cpec_bus_destroy (&all);
    cpec_bus_destroy (&pub);
    cpec_bus_destroy (&pub); //  idempotent
    zactor_destroy (&broker);
}

static void
test_malformed_is_dropped (void **state)
{
    (void)state;
    zactor_t *broker = zactor_new (cpec_broker_actor, &s_options);
    cpec_bus_t *sub = cpec_bus_new_sub (BUS_OUT, "");
    zsock_t *raw = zsock_new_pub (">" BUS_IN);
    //  Until the subscription has travelled, keep sending garbage then a
    //  good event; the subscriber must only ever return the good one.
    Cpec__V1__Event event = s_event ("SezCreated", "PK-BA", "bostan");
    size_t size;
    uint8_t *packed = cpec_pb_pack (&event.base, &size);
    Cpec__V1__Event *got = NULL;
    for (int i = 0; i < 100 && !got; i++) {
        zstr_sendx (raw, "SezCreated.PK-BA.bostan", "\xff\xff\xff not protobuf", NULL);
        zstr_send (raw, "one frame only");
        zsock_send (raw, "sb", "SezCreated.PK-BA.bostan", packed, size);
        for (int j = 0; j < 3 && !got; j++)
            got = cpec_bus_recv (sub, 30);
    }
    free (packed);
    assert_non_null (got);
    assert_string_equal (got->zone_id, "bostan");
    cpec_pb_destroy ((ProtobufCMessage **)&got);
    zsock_destroy (&raw);
    cpec_bus_destroy (&sub);
    zactor_destroy (&broker);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_topic),
        cmocka_unit_test (test_publish_and_prefix),
        cmocka_unit_test (test_malformed_is_dropped),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
