/*  test_pb - cpec_pb: new/destroy, pack/unpack, dup, swap_field, timestamps,
    wrappers, uuid and clocks.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <czmq.h>

#include "cpec/v1/envelope.pb-c.h"
#include "cpec/v1/events.pb-c.h"
#include "cpec/v1/registry.pb-c.h"
#include "cpec_pb.h"

//  A Sez with strings, a wrapper, repeated strings and messages, an enum,
//  a bool and nested messages, all heap-allocated.
static Cpec__V1__Sez *
s_sez_new (const char *id, const char *name, double area, int n_sectors)
{
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)cpec_pb_new (&cpec__v1__sez__descriptor);
    sez->id = cpec_strdup (id);
    sez->name = cpec_strdup (name);
    sez->area_acres = cpec_pb_double_new (area);
    sez->fast_track = 1;
    sez->status = CPEC__V1__SEZ__STATUS__NOTIFIED;
    sez->version = 7;
    sez->n_sectors = (size_t)n_sectors;
    sez->sectors = (char **)calloc ((size_t)n_sectors + 1, sizeof (char *));
    for (int i = 0; i < n_sectors; i++) {
        char sector[16];
        snprintf (sector, sizeof (sector), "%d", 10 + i);
        sez->sectors[i] = cpec_strdup (sector);
    }
    sez->land = (Cpec__V1__Land *)cpec_pb_new (&cpec__v1__land__descriptor);
    sez->land->leasable_acres = cpec_pb_double_new (area / 2);
    sez->land->allotted_acres = 12.5;
    sez->created = (Cpec__V1__Audit *)cpec_pb_new (&cpec__v1__audit__descriptor);
    sez->created->at = cpec_pb_timestamp_new (1643932800123);
    sez->created->by = cpec_strdup ("boi-admin");
    sez->n_sources = 1;
    sez->sources = (Cpec__V1__Provenance **)calloc (1, sizeof (Cpec__V1__Provenance *));
    sez->sources[0] = (Cpec__V1__Provenance *)cpec_pb_new (&cpec__v1__provenance__descriptor);
    sez->sources[0]->field = cpec_strdup ("area_acres");
    return sez;
}

static void
test_new_destroy (void **state)
{
    (void)state;
    ProtobufCMessage *message = cpec_pb_new (&cpec__v1__sez__descriptor);
    assert_non_null (message);
    assert_ptr_equal (message->descriptor, &cpec__v1__sez__descriptor);
    Cpec__V1__Sez *sez = (Cpec__V1__Sez *)message;
    assert_string_equal (sez->id, "");
    assert_null (sez->area_acres);
    assert_int_equal (sez->n_sectors, 0);
    assert_int_equal (sez->status, CPEC__V1__SEZ__STATUS__STATUS_UNSPECIFIED);
    cpec_pb_destroy (&message);
    assert_null (message);
    cpec_pb_destroy (&message); //  idempotent
    assert_null (message);
}

static void
test_pack_unpack (void **state)
{
    (void)state;
    Cpec__V1__Sez *sez = s_sez_new ("rashakai", "Rashakai SEZ", 1000, 3);
    size_t size = 0;
    uint8_t *data = cpec_pb_pack (&sez->base, &size);
    assert_non_null (data);
    assert_int_equal (size, protobuf_c_message_get_packed_size (&sez->base));

    Cpec__V1__Sez *copy = (Cpec__V1__Sez *)cpec_pb_unpack (&cpec__v1__sez__descriptor, data, size);
    assert_non_null (copy);
    assert_string_equal (copy->id, "rashakai");
    assert_string_equal (copy->name, "Rashakai SEZ");
    assert_non_null (copy->area_acres);
    assert_true (copy->area_acres->value == 1000);
    assert_int_equal (copy->n_sectors, 3);
    assert_string_equal (copy->sectors[2], "12");
    assert_int_equal (copy->status, CPEC__V1__SEZ__STATUS__NOTIFIED);
    assert_true (copy->fast_track);
    assert_int_equal (copy->version, 7);
    assert_true (copy->land->allotted_acres == 12.5);
    assert_int_equal (cpec_pb_timestamp_ms (copy->created->at), 1643932800123);
    assert_string_equal (copy->sources[0]->field, "area_acres");

    //  An empty message packs to nothing and unpacks from nothing
    ProtobufCMessage *empty = cpec_pb_new (&cpec__v1__sez__descriptor);
    size_t empty_size = 99;
    uint8_t *empty_data = cpec_pb_pack (empty, &empty_size);
    assert_int_equal (empty_size, 0);
    ProtobufCMessage *back = cpec_pb_unpack (&cpec__v1__sez__descriptor, empty_data, 0);
    assert_non_null (back);
    cpec_pb_destroy (&back);
    back = cpec_pb_unpack (&cpec__v1__sez__descriptor, NULL, 0);
    assert_non_null (back);
    cpec_pb_destroy (&back);
    free (empty_data);
    cpec_pb_destroy (&empty);

    free (data);
    cpec__v1__sez__free_unpacked (copy, NULL);
    cpec__v1__sez__free_unpacked (sez, NULL);
}

static void
test_unpack_garbage (void **state)
{
    (void)state;
    //  A varint longer than 10 bytes
    static const uint8_t long_varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_null (cpec_pb_unpack (&cpec__v1__sez__descriptor, long_varint, sizeof (long_varint)));
    //  Wire type 7 does not exist
    static const uint8_t bad_wire_type[] = {0x0f, 0x00};
    assert_null (
        cpec_pb_unpack (&cpec__v1__sez__descriptor, bad_wire_type, sizeof (bad_wire_type)));
    //  A string field (1) claiming 100 bytes with 3 present
    static const uint8_t short_string[] = {0x0a, 0x64, 'a', 'b', 'c'};
    assert_null (cpec_pb_unpack (&cpec__v1__sez__descriptor, short_string, sizeof (short_string)));
    //  Field number 0 is invalid
    static const uint8_t field_zero[] = {0x00, 0x01};
    assert_null (cpec_pb_unpack (&cpec__v1__sez__descriptor, field_zero, sizeof (field_zero)));
    //  NULL data with a size
    assert_null (cpec_pb_unpack (&cpec__v1__sez__descriptor, NULL, 4));

    //  A valid message cut short at every length but its own fails cleanly
    Cpec__V1__Sez *sez = s_sez_new ("gwadar", "Gwadar", 3000, 2);
    size_t size;
    uint8_t *data = cpec_pb_pack (&sez->base, &size);
    int failures = 0;
    for (size_t cut = 1; cut < size; cut++) {
        ProtobufCMessage *partial = cpec_pb_unpack (&cpec__v1__sez__descriptor, data, cut);
        if (!partial)
            failures++;
        cpec_pb_destroy (&partial);
    }
    assert_true (failures > 0);
    //  The last byte belongs to the repeated sources message: cutting it fails
    assert_null (cpec_pb_unpack (&cpec__v1__sez__descriptor, data, size - 1));
    free (data);
    cpec__v1__sez__free_unpacked (sez, NULL);
}

static void
test_dup (void **state)
{
    (void)state;
    assert_null (cpec_pb_dup (NULL));
    Cpec__V1__Sez *sez = s_sez_new ("dhabeji", "Dhabeji", 1530, 2);
    Cpec__V1__Sez *copy = (Cpec__V1__Sez *)cpec_pb_dup (&sez->base);
    assert_non_null (copy);
    assert_ptr_not_equal (copy, sez);
    assert_ptr_not_equal (copy->name, sez->name);
    assert_ptr_not_equal (copy->land, sez->land);
    assert_string_equal (copy->name, "Dhabeji");
    assert_int_equal (copy->n_sectors, 2);
    //  Independent trees: changing the copy leaves the original alone
    free (copy->name);
    copy->name = cpec_strdup ("Changed");
    copy->land->allotted_acres = 1;
    assert_string_equal (sez->name, "Dhabeji");
    assert_true (sez->land->allotted_acres == 12.5);
    cpec__v1__sez__free_unpacked (copy, NULL);
    cpec__v1__sez__free_unpacked (sez, NULL);
}

static void
test_swap_field (void **state)
{
    (void)state;
    Cpec__V1__Sez *a = s_sez_new ("a", "Zone A", 100, 1);
    Cpec__V1__Sez *b = s_sez_new ("b", "Zone B", 200, 3);
    b->fast_track = 0;
    b->status = CPEC__V1__SEZ__STATUS__OPERATIONAL;
    b->version = 9;
    free (b->created->by);
    b->created->by = cpec_strdup ("kpezdmc");
    Google__Protobuf__DoubleValue *b_area = b->area_acres;
    free (a->area_acres);
    a->area_acres = NULL;

    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "name"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "sectors"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "area_acres"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "status"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "fast_track"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "version"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "created"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "no_such_field"), -1);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, ""), -1);

    assert_string_equal (a->name, "Zone B");
    assert_string_equal (b->name, "Zone A");
    assert_int_equal (a->n_sectors, 3);
    assert_string_equal (a->sectors[2], "12");
    assert_int_equal (b->n_sectors, 1);
    assert_ptr_equal (a->area_acres, b_area); //  ownership moved, no copy
    assert_null (b->area_acres);
    assert_int_equal (a->status, CPEC__V1__SEZ__STATUS__OPERATIONAL);
    assert_int_equal (b->status, CPEC__V1__SEZ__STATUS__NOTIFIED);
    assert_false (a->fast_track);
    assert_true (b->fast_track);
    assert_int_equal (a->version, 9);
    assert_int_equal (b->version, 7);
    assert_string_equal (a->created->by, "kpezdmc");
    assert_string_equal (b->created->by, "boi-admin");
    //  Untouched fields stay
    assert_string_equal (a->id, "a");
    assert_string_equal (b->id, "b");

    //  Applying an update mask: take the masked fields from the update
    const char *mask[] = {"land", "sources"};
    for (size_t i = 0; i < 2; i++)
        assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, mask[i]), 0);
    assert_true (a->land->leasable_acres->value == 100);
    assert_true (b->land->leasable_acres->value == 50);

    //  Each tree frees exactly what it now owns (ASan checks it)
    cpec__v1__sez__free_unpacked (a, NULL);
    cpec__v1__sez__free_unpacked (b, NULL);
}

static void
test_swap_oneof (void **state)
{
    (void)state;
    Cpec__V1__Event *a = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    Cpec__V1__Event *b = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    a->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED;
    a->sez_created = (Cpec__V1__SezCreated *)cpec_pb_new (&cpec__v1__sez_created__descriptor);
    a->sez_created->sez = s_sez_new ("x", "X", 1, 0);
    b->payload_case = CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED;
    b->sez_status_changed =
        (Cpec__V1__SezStatusChanged *)cpec_pb_new (&cpec__v1__sez_status_changed__descriptor);
    b->sez_status_changed->to_status = CPEC__V1__SEZ__STATUS__OPERATIONAL;

    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "sez_created"), 0);
    assert_int_equal (a->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_STATUS_CHANGED);
    assert_int_equal (a->sez_status_changed->to_status, CPEC__V1__SEZ__STATUS__OPERATIONAL);
    assert_int_equal (b->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED);
    assert_string_equal (b->sez_created->sez->id, "x");

    //  With an empty oneof on one side
    Cpec__V1__Event *c = (Cpec__V1__Event *)cpec_pb_new (&cpec__v1__event__descriptor);
    assert_int_equal (cpec_pb_swap_field (&b->base, &c->base, "sez_updated"), 0);
    assert_int_equal (b->payload_case, CPEC__V1__EVENT__PAYLOAD__NOT_SET);
    assert_int_equal (c->payload_case, CPEC__V1__EVENT__PAYLOAD_SEZ_CREATED);

    cpec__v1__event__free_unpacked (a, NULL);
    cpec__v1__event__free_unpacked (b, NULL);
    cpec__v1__event__free_unpacked (c, NULL);
}

static void
test_swap_bytes_int64 (void **state)
{
    (void)state;
    Cpec__V1__Request *a = (Cpec__V1__Request *)cpec_pb_new (&cpec__v1__request__descriptor);
    Cpec__V1__Request *b = (Cpec__V1__Request *)cpec_pb_new (&cpec__v1__request__descriptor);
    a->deadline_unix_ms = 1234567890123;
    a->body.data = (uint8_t *)cpec_strdup ("abc");
    a->body.len = 3;
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "body"), 0);
    assert_int_equal (cpec_pb_swap_field (&a->base, &b->base, "deadline_unix_ms"), 0);
    assert_int_equal (b->deadline_unix_ms, 1234567890123);
    assert_int_equal (a->deadline_unix_ms, 0);
    assert_int_equal (b->body.len, 3);
    assert_memory_equal (b->body.data, "abc", 3);
    assert_int_equal (a->body.len, 0);
    assert_null (a->body.data);
    cpec__v1__request__free_unpacked (a, NULL);
    cpec__v1__request__free_unpacked (b, NULL);
}

static void
test_timestamps (void **state)
{
    (void)state;
    struct
    {
        int64_t ms;
        int64_t seconds;
        int32_t nanos;
    } cases[] = {
        {0, 0, 0},
        {1600041600000, 1600041600, 0},
        {1643932800123, 1643932800, 123000000},
        {-1, -1, 999000000},
        {-1000, -1, 0},
        {-1500, -2, 500000000},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        Google__Protobuf__Timestamp *timestamp = cpec_pb_timestamp_new (cases[i].ms);
        assert_int_equal (timestamp->seconds, cases[i].seconds);
        assert_int_equal (timestamp->nanos, cases[i].nanos);
        assert_int_equal (cpec_pb_timestamp_ms (timestamp), cases[i].ms);
        google__protobuf__timestamp__free_unpacked (timestamp, NULL);
    }
    assert_int_equal (cpec_pb_timestamp_ms (NULL), 0);
    //  Sub-millisecond nanos are truncated
    Google__Protobuf__Timestamp timestamp = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    timestamp.seconds = 10;
    timestamp.nanos = 1999999;
    assert_int_equal (cpec_pb_timestamp_ms (&timestamp), 10001);
    //  Nonsense saturates instead of overflowing
    timestamp.seconds = INT64_MAX;
    assert_true (cpec_pb_timestamp_ms (&timestamp) == INT64_MAX);
    timestamp.seconds = INT64_MIN;
    assert_true (cpec_pb_timestamp_ms (&timestamp) == INT64_MIN);
}

static void
test_wrappers (void **state)
{
    (void)state;
    Google__Protobuf__DoubleValue *d = cpec_pb_double_new (1.25);
    Google__Protobuf__UInt32Value *u = cpec_pb_uint32_new (4000000000u);
    Google__Protobuf__BoolValue *b = cpec_pb_bool_new (true);
    assert_true (d->value == 1.25);
    assert_int_equal (u->value, 4000000000u);
    assert_true (b->value);
    assert_ptr_equal (d->base.descriptor, &google__protobuf__double_value__descriptor);
    assert_ptr_equal (u->base.descriptor, &google__protobuf__uint32_value__descriptor);
    assert_ptr_equal (b->base.descriptor, &google__protobuf__bool_value__descriptor);
    ProtobufCMessage *m = &d->base;
    cpec_pb_destroy (&m);
    m = &u->base;
    cpec_pb_destroy (&m);
    m = &b->base;
    cpec_pb_destroy (&m);
}

static void
test_uuid (void **state)
{
    (void)state;
    char first[37], second[37];
    cpec_uuid (first);
    cpec_uuid (second);
    assert_int_equal (strlen (first), 36);
    assert_string_not_equal (first, second);
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23)
            assert_int_equal (first[i], '-');
        else
            assert_non_null (strchr ("0123456789abcdef", first[i]));
    }
    assert_int_equal (first[14], '4');            //  version 4
    assert_non_null (strchr ("89ab", first[19])); //  RFC 4122 variant

    //  Across many refills of the pool: none twice
    zhashx_t *seen = zhashx_new ();
    for (int i = 0; i < 10000; i++) {
        char id[37];
        cpec_uuid (id);
        assert_int_equal (zhashx_insert (seen, id, (void *)1), 0);
    }
    zhashx_destroy (&seen);

    //  A forked child does not take the parent's next bytes
    int fds[2];
    assert_int_equal (pipe (fds), 0);
    pid_t child = fork ();
    assert_true (child >= 0);
    if (child == 0) {
        char id[37];
        cpec_uuid (id);
        _exit (write (fds[1], id, 36) == 36 ? 0 : 1);
    }
    char parent_id[37] = "", child_id[37] = "";
    cpec_uuid (parent_id);
    assert_int_equal (read (fds[0], child_id, 36), 36);
    int status = 0;
    assert_int_equal (waitpid (child, &status, 0), child);
    assert_string_not_equal (parent_id, child_id);
    close (fds[0]);
    close (fds[1]);
}

static void
test_clocks_strdup (void **state)
{
    (void)state;
    int64_t now = cpec_now_ms ();
    assert_true (now > 1600000000000); //  after September 2020
    int64_t t1 = cpec_clock_ms ();
    int64_t t2 = cpec_clock_ms ();
    assert_true (t2 >= t1);
    char *copy = cpec_strdup ("Allama Iqbal");
    assert_string_equal (copy, "Allama Iqbal");
    free (copy);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_new_destroy),      cmocka_unit_test (test_pack_unpack),
        cmocka_unit_test (test_unpack_garbage),   cmocka_unit_test (test_dup),
        cmocka_unit_test (test_swap_field),       cmocka_unit_test (test_swap_oneof),
        cmocka_unit_test (test_swap_bytes_int64), cmocka_unit_test (test_timestamps),
        cmocka_unit_test (test_wrappers),         cmocka_unit_test (test_uuid),
        cmocka_unit_test (test_clocks_strdup),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
