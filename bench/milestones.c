/*  bench_milestones - the milestone service through the broker of a running
    stack (CPEC_BROKER, CPEC_BUS_SUB, CPEC_REDIS_URL; zones seeded), all
    through the service's own methods with the client library's send/recv
    (Redis is only read: to tell when a propagation has committed, and for
    its command statistics):

      1. OPEN open milestones far in the future (they only sit in
         cpec:ms:timers): Create, SEQ sequentially (the rate, and what all
         OPEN would take that way), the rest with INFLIGHT in flight.
      2. due -> MilestoneDelayed on the bus: DUE milestones due at known
         instants spread over DUE_SPREAD_MS; for each event the delay from
         its planned due to its receipt (a ZeroMQ SUB of our own on
         CPEC_BUS_SUB, prefix "MilestoneDelayed.", unlimited queue).
      3. BURST milestones due within one whole second: from the start of
         that second until all their MilestoneDelayed were received;
         duplicates and missing ones, beside what the durable stream
         cpec:events holds (a bus drop is not a missing write).
      4. Update (a title, expected version 1) on distinct milestones of
         step 1, sequentially and with INFLIGHT in flight.
      5. A zone of LAYERS x WIDTH milestones, a layered DAG: each milestone
         after the first layer waits on 1 to 3 of the layer before (lag 0-5
         days), due 30 days per layer; the root with the largest downstream
         is re-planned, alternating two dates, in three cases:
           slack   a 1-day slip the slack absorbs (REPLANS re-plans): the
                   whole downstream is read, only the root's direct
                   successors change;
           slip    a 1-year slip (SLIP_REPLANS): the first ~12 layers below
                   are pushed past their plans (their states and risk flags
                   change), and back;
           all     a slip past the last layer (ALL_REPLANS, 1 by default:
                   one takes over a minute on the 2-core machine): every
                   state downstream changes.
         Replan propagates before it answers, but when the propagation
         fails (a Redis timeout) it answers anyway and the prop:{id}:{v}
         timer finishes the job: so the re-forecast time is from sending
         the Replan until both its answer came and its prop marker has left
         cpec:ms:timers and cpec:ms:leases (it goes in the same write as the
         last state).

    Usage: bench_milestones [--open N] [--seq N] [--due N] [--due-spread-ms MS]
           [--burst N] [--updates N] [--layers N] [--width N] [--replans N]
           [--slip-replans N] [--all-replans N] [--inflight N] [--zones a,b,...]
           [--graph-zone Z]

    Prints machine-readable lines for bench/run:
      ms-<name> N RPS P50_US P99_US MAX_US      one row of the table (RPS -1: a
                                                latency, not a rate)
      value <name> <number>                     a figure the targets use
      note <text>                               printed under the table
    Exits 1 when the stack cannot be used (a figure that misses its target
    is not an error: bench/run says so).
*/
#include <czmq.h>
#include <getopt.h>
#include <hiredis/hiredis.h>

#include "bench.h"
#include "cpec/v1/milestones.pb-c.h"
#include "cpec_bus.h"
#include "cpec_client.h"
#include "cpec_pb.h"
#include "cpec_store.h"

#define S_DAY_MS   86400000LL
#define S_ATTEMPTS 8

static struct
{
    size_t open, seq, due, burst, updates, layers, width, replans, slip_replans, all_replans;
    size_t inflight;
    int64_t due_spread_ms;
    char *zones[16];
    size_t zone_count;
    const char *graph_zone;
} s_opt = {.open = 100000,
           .seq = 1000,
           .due = 200,
           .burst = 10000,
           .updates = 20000,
           .layers = 100,
           .width = 100,
           .replans = 20,
           .slip_replans = 10,
           .all_replans = 1,
           .inflight = 64,
           .due_spread_ms = 4000,
           .graph_zone = "mohmand"};

static char s_tag[32]; //  this run's request id prefix

static int64_t
s_unix_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_note (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    printf ("note ");
    vprintf (format, args);
    printf ("\n");
    fflush (stdout);
    va_end (args);
}

static void
s_value (const char *name, double value)
{
    printf ("value %s %.3f\n", name, value);
    fflush (stdout);
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

//  One row: "ms-NAME N RPS P50 P99 MAX" (RPS -1: not a rate). Sorts samples.
static void
s_row (const char *name, int64_t *samples, size_t count, int64_t elapsed_us, bool rate)
{
    if (count == 0) {
        printf ("ms-%s 0 -1 -1 -1 -1\n", name);
        fflush (stdout);
        return;
    }
    qsort (samples, count, sizeof (int64_t), s_cmp);
    double rps = rate && elapsed_us > 0 ? (double)count * 1e6 / (double)elapsed_us : -1;
    size_t p99 = (count * 99) / 100;
    if (p99 >= count)
        p99 = count - 1;
    printf ("ms-%s %zu %.0f %lld %lld %lld\n", name, count, rps, (long long)samples[count / 2],
            (long long)samples[p99], (long long)samples[count - 1]);
    fflush (stdout);
}

//  --------------------------------------------------------------------------
//  Requests in flight

//  A run of `count` requests of one method; build(i) returns the input of
//  request i (valid until the next build).
typedef struct
{
    const char *method;
    size_t count;
    ProtobufCMessage *(*build) (void *ctx, size_t i);
    void *ctx;
    const char *phase; //  in the request ids: "<tag>-<phase>-<i>-<attempt>"; a request
                       //  id is the service's idempotency key: one phase name per run
} s_run_t;

typedef struct
{
    int64_t *samples; //  one per request that succeeded, us from its first send
    size_t ok, failed, retried;
    int64_t elapsed_us;
    char first_error[200];
} s_result_t;

static void
s_result_fini (s_result_t *self)
{
    free (self->samples);
    *self = (s_result_t){0};
}

//  Runs `run` with up to `inflight` requests outstanding. A request that
//  fails with ABORTED (a concurrent write won), UNAVAILABLE or
//  DEADLINE_EXCEEDED is sent again under a new request id, up to
//  S_ATTEMPTS; ALREADY_EXISTS on a retry counts as done (the first attempt
//  was written). Returns 0, or -1 when replies stop coming.
static int
s_run (cpec_client_t *client, const s_run_t *run, size_t inflight, s_result_t *result)
{
    *result = (s_result_t){.samples = (int64_t *)calloc (run->count + 1, sizeof (int64_t))};
    int64_t *first_sent = (int64_t *)calloc (run->count + 1, sizeof (int64_t));
    int *attempts = (int *)calloc (run->count + 1, sizeof (int));
    size_t *queue = (size_t *)calloc (run->count + 1, sizeof (size_t)); //  retries waiting
    assert (result->samples && first_sent && attempts && queue);
    size_t queued = 0, next = 0, outstanding = 0, finished = 0;
    char prefix[64];
    snprintf (prefix, sizeof (prefix), "%s-%s-", s_tag, run->phase);
    size_t prefix_length = strlen (prefix);
    int64_t start = bench_now_us ();
    int rc = 0;
    while (finished < run->count) {
        while (outstanding < inflight && (queued || next < run->count)) {
            size_t i = queued ? queue[--queued] : next++;
            char id[96];
            snprintf (id, sizeof (id), "%s%zu-%d", prefix, i, attempts[i]);
            if (attempts[i] == 0)
                first_sent[i] = bench_now_us ();
            cpec_client_send (client, "milestones", run->method, id, run->build (run->ctx, i),
                              cpec_now_ms () + 120000);
            outstanding++;
        }
        Cpec__V1__Reply *reply = cpec_client_recv (client, 120000);
        if (!reply) {
            fprintf (stderr, "bench_milestones: %s: no reply within 120 s\n", run->method);
            rc = -1;
            break;
        }
        size_t i = 0;
        int attempt = 0;
        if (strncmp (reply->request_id, prefix, prefix_length) != 0 ||
            sscanf (reply->request_id + prefix_length, "%zu-%d", &i, &attempt) != 2 ||
            i >= run->count || attempt != attempts[i]) {
            cpec_pb_destroy ((ProtobufCMessage **)&reply); //  a stale reply
            continue;
        }
        outstanding--;
        int code = (int)reply->code;
        if (code == CPEC_ALREADY_EXISTS && attempts[i] > 0)
            code = CPEC_OK;
        if ((code == CPEC_ABORTED || code == CPEC_UNAVAILABLE || code == CPEC_DEADLINE_EXCEEDED) &&
            attempts[i] + 1 < S_ATTEMPTS) {
            attempts[i]++;
            result->retried++;
            queue[queued++] = i;
        } else {
            if (code == CPEC_OK)
                result->samples[result->ok++] = bench_now_us () - first_sent[i];
            else {
                if (!result->failed)
                    snprintf (result->first_error, sizeof (result->first_error), "%s: %s: %s",
                              reply->request_id, cpec_code_name (code), reply->message);
                result->failed++;
            }
            finished++;
        }
        cpec_pb_destroy ((ProtobufCMessage **)&reply);
    }
    result->elapsed_us = bench_now_us () - start;
    if (result->failed)
        fprintf (stderr, "bench_milestones: %s: %zu failed, the first: %s\n", run->method,
                 result->failed, result->first_error);
    free (first_sent);
    free (attempts);
    free (queue);
    return rc;
}

//  --------------------------------------------------------------------------
//  Redis, read only: our own connection without a command timeout

static redisContext *
s_redis (const char *url)
{
    char host[128] = "127.0.0.1";
    int port = 6379;
    if (sscanf (url, "redis://%127[^:/]:%d", host, &port) < 1)
        return NULL;
    redisContext *redis = redisConnect (host, port);
    if (!redis || redis->err) {
        if (redis)
            redisFree (redis);
        return NULL;
    }
    return redis;
}

//  An integer reply, or -1 (an error such as BUSY while a script runs).
static long long
s_redis_integer (redisContext *redis, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    redisReply *reply = (redisReply *)redisvCommand (redis, format, args);
    va_end (args);
    long long value = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply)
        freeReplyObject (reply);
    return value;
}

//  Commands run so far (INFO commandstats): calls and usec per command.
typedef struct
{
    char name[48];
    long long calls, usec;
} s_cmdstat_t;

typedef struct
{
    s_cmdstat_t stats[256];
    size_t count;
} s_cmdstats_t;

static void
s_cmdstats (redisContext *redis, s_cmdstats_t *self)
{
    self->count = 0;
    redisReply *reply = (redisReply *)redisCommand (redis, "INFO commandstats");
    if (reply && reply->type == REDIS_REPLY_STRING) {
        for (const char *line = reply->str; line && *line && self->count < 256;) {
            const char *colon = strchr (line, ':');
            const char *calls = strstr (line, "calls=");
            const char *usec = strstr (line, "usec=");
            if (strncmp (line, "cmdstat_", 8) == 0 && colon && calls && usec &&
                (size_t)(colon - line - 8) < sizeof (self->stats[0].name)) {
                s_cmdstat_t *stat = &self->stats[self->count++];
                snprintf (stat->name, sizeof (stat->name), "%.*s", (int)(colon - line - 8),
                          line + 8);
                stat->calls = atoll (calls + 6);
                stat->usec = atoll (usec + 5);
            }
            line = strchr (line, '\n');
            if (line)
                line++;
        }
    }
    if (reply)
        freeReplyObject (reply);
}

static const s_cmdstat_t *
s_cmdstat (const s_cmdstats_t *self, const char *name)
{
    static const s_cmdstat_t none = {"", 0, 0};
    for (size_t i = 0; i < self->count; i++)
        if (strcmp (self->stats[i].name, name) == 0)
            return &self->stats[i];
    return &none;
}

//  A note with the Redis commands per operation between two snapshots
//  (EVALSHA: a script, write.lua or claim.lua; HMGET: an entity read, sent
//  pipelined; the others run inside the scripts) and the time Redis spent
//  in scripts, during which it serves nobody else.
static void
s_cmdstats_note (const char *what, const s_cmdstats_t *before, const s_cmdstats_t *after,
                 size_t operations)
{
    char text[700] = "";
    for (size_t i = 0; i < after->count && operations; i++) {
        const s_cmdstat_t *now = &after->stats[i];
        double per =
            (double)(now->calls - s_cmdstat (before, now->name)->calls) / (double)operations;
        if (per >= 0.05 && strcmp (now->name, "info") != 0 && strcmp (now->name, "zscore") != 0)
            snprintf (text + strlen (text), sizeof (text) - strlen (text), " %s %.2f", now->name,
                      per);
    }
    const s_cmdstat_t *a = s_cmdstat (after, "evalsha"), *b = s_cmdstat (before, "evalsha");
    long long scripts = a->calls - b->calls, usec = a->usec - b->usec;
    s_note ("Redis per %s:%s; EVALSHA: %lld scripts, %.1f ms in all, %.2f ms each", what, text,
            scripts, (double)usec / 1000.0, scripts ? (double)usec / 1000.0 / (double)scripts : 0);
}

//  The longest EVALSHA in the slow log since unix_s: its duration (us) and
//  number of keys; 0 when none.
static long long
s_slowest_script (redisContext *redis, long long unix_s, long long *keys)
{
    long long longest = 0;
    *keys = 0;
    redisReply *reply = (redisReply *)redisCommand (redis, "SLOWLOG GET 128");
    for (size_t i = 0; reply && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++) {
        redisReply *entry = reply->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements < 4 ||
            entry->element[1]->integer < unix_s)
            continue;
        redisReply *args = entry->element[3];
        if (args->type != REDIS_REPLY_ARRAY || args->elements < 3 ||
            strcasecmp (args->element[0]->str, "EVALSHA") != 0)
            continue;
        if (entry->element[2]->integer > longest) {
            longest = entry->element[2]->integer;
            *keys = atoll (args->element[2]->str);
        }
    }
    if (reply)
        freeReplyObject (reply);
    return longest;
}

//  --------------------------------------------------------------------------
//  Create

typedef struct
{
    const char *prefix; //  ids "<prefix>-<offset + i>"
    size_t offset;
    int64_t (*due) (void *ctx, size_t n);
    void *due_ctx;
    //  for the graph: the predecessors of n
    size_t (*predecessors) (void *ctx, size_t n, char ***ids, uint32_t **lags);
    const char *zone; //  NULL: round robin over s_opt.zones
    //  the request being built
    char id[96], title[96];
    Google__Protobuf__Timestamp due_ts;
    Cpec__V1__Dependency dependency_storage[4];
    Cpec__V1__Dependency *dependencies[4];
    Cpec__V1__Milestone milestone;
    Cpec__V1__CreateMilestoneRequest request;
} s_create_t;

static const char *s_agencies[] = {"NTDC", "SNGPL", "KPEZDMC", "BOI", "PESCO", "NHA", "FWO"};

static ProtobufCMessage *
s_create_build (void *ctx, size_t i)
{
    s_create_t *self = (s_create_t *)ctx;
    size_t n = self->offset + i;
    snprintf (self->id, sizeof (self->id), "%s-%zu", self->prefix, n);
    snprintf (self->title, sizeof (self->title), "Benchmark milestone %zu", n);
    int64_t due = self->due (self->due_ctx, n);
    self->due_ts = (Google__Protobuf__Timestamp)GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    self->due_ts.seconds = due / 1000;
    self->due_ts.nanos = (int32_t)((due % 1000) * 1000000);
    self->milestone = (Cpec__V1__Milestone)CPEC__V1__MILESTONE__INIT;
    self->milestone.id = self->id;
    self->milestone.zone_id = self->zone ? (char *)self->zone : s_opt.zones[n % s_opt.zone_count];
    self->milestone.title = self->title;
    self->milestone.agency = (char *)s_agencies[n % 7];
    self->milestone.kind = (Cpec__V1__Milestone__Kind)(1 + n % 15);
    self->milestone.planned_due = &self->due_ts;
    if (self->predecessors) {
        char **ids = NULL;
        uint32_t *lags = NULL;
        size_t count = self->predecessors (self->due_ctx, n, &ids, &lags);
        for (size_t p = 0; p < count && p < 4; p++) {
            self->dependency_storage[p] = (Cpec__V1__Dependency)CPEC__V1__DEPENDENCY__INIT;
            self->dependency_storage[p].milestone_id = ids[p];
            self->dependency_storage[p].lag_days = lags[p];
            self->dependencies[p] = &self->dependency_storage[p];
        }
        self->milestone.n_predecessors = count;
        self->milestone.predecessors = self->dependencies;
    }
    self->request = (Cpec__V1__CreateMilestoneRequest)CPEC__V1__CREATE_MILESTONE_REQUEST__INIT;
    self->request.milestone = &self->milestone;
    return &self->request.base;
}

//  Far in the future: 2040..2090, spread by index.
static int64_t
s_due_far (void *ctx, size_t n)
{
    (void)ctx;
    return 2208988800000LL + (int64_t)((n * 7919) % 18250) * S_DAY_MS; //  2040-01-01 + days
}

//  --------------------------------------------------------------------------
//  The bus

//  A SUB socket of our own on the bus output with an unlimited receive
//  queue, so that what is lost is lost before us.
static zsock_t *
s_subscribe (const char *endpoint, const char *prefix)
{
    zsock_t *sock = zsock_new (ZMQ_SUB);
    if (!sock)
        return NULL;
    zsock_set_rcvhwm (sock, 0);
    zsock_set_subscribe (sock, prefix);
    if (zsock_connect (sock, "%s", endpoint) != 0)
        zsock_destroy (&sock);
    return sock;
}

//  The next MilestoneDelayed within timeout_ms; NULL on timeout. *at_us gets
//  the Unix us of its receipt.
static Cpec__V1__Event *
s_next_delayed (zsock_t *sock, int timeout_ms, int64_t *at_us)
{
    zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLIN, 0};
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return NULL;
    zmsg_t *msg = zmsg_recv (sock);
    *at_us = s_unix_us ();
    Cpec__V1__Event *event = cpec_bus_decode (&msg);
    if (event && event->payload_case != CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED)
        cpec_pb_destroy ((ProtobufCMessage **)&event);
    return event;
}

//  n of "<prefix>-<n>" when n < count, or -1.
static long
s_index_of (const char *id, const char *prefix, size_t count)
{
    size_t length = strlen (prefix);
    if (strncmp (id, prefix, length) != 0 || id[length] != '-')
        return -1;
    char *end = NULL;
    unsigned long long n = strtoull (id + length + 1, &end, 10);
    if (!end || *end || n >= count)
        return -1;
    return (long)n;
}

//  The MilestoneDelayed of "<prefix>-*" in the stream cpec:events since
//  since_ms: how many milestones have one, and how many have more.
static void
s_stream_delayed (cpec_store_t *store, int64_t since_ms, const char *prefix, size_t count,
                  size_t *distinct, size_t *twice)
{
    *distinct = *twice = 0;
    unsigned char *seen = (unsigned char *)calloc (count + 1, 1);
    char after[64];
    snprintf (after, sizeof (after), "%lld-0", (long long)since_ms);
    for (;;) {
        Cpec__V1__Event **events = NULL;
        char **ids = NULL;
        cpec_status_t status;
        if (cpec_store_read_events (store, after, 1000, 0, &events, &ids, &status) != CPEC_OK) {
            fprintf (stderr, "bench_milestones: reading cpec:events: %s\n", status.message);
            break;
        }
        size_t n = 0;
        for (; events && events[n]; n++) {
            if (events[n]->payload_case != CPEC__V1__EVENT__PAYLOAD_MILESTONE_DELAYED)
                continue;
            long index = s_index_of (events[n]->milestone_delayed->milestone_id, prefix, count);
            if (index >= 0 && seen[index]++)
                (*twice)++;
            else if (index >= 0)
                (*distinct)++;
        }
        if (n)
            snprintf (after, sizeof (after), "%s", ids[n - 1]);
        cpec_store_events_destroy (&events);
        cpec_store_strings_destroy (&ids);
        if (n < 1000)
            break;
    }
    free (seen);
}

//  --------------------------------------------------------------------------
//  Steps 2 and 3: milestones falling due

typedef struct
{
    int64_t first_ms;  //  step 2: the due of milestone 0
    int64_t step_us;   //  step 2: between two dues
    int64_t second_ms; //  step 3: the second they all fall due in
} s_due_plan_t;

static int64_t
s_due_spread (void *ctx, size_t n)
{
    s_due_plan_t *plan = (s_due_plan_t *)ctx;
    return plan->first_ms + (int64_t)n * plan->step_us / 1000;
}

static int64_t
s_due_in_second (void *ctx, size_t n)
{
    s_due_plan_t *plan = (s_due_plan_t *)ctx;
    return plan->second_ms + (int64_t)((n * 997) % 1000); //  spread over the second
}

//  Receives the MilestoneDelayed of "<prefix>-0..count-1" until `expected`
//  distinct ones came or give_up_ms (Unix) passed, then listens linger_ms
//  more for duplicates. delays[k] gets receipt - planned due (us); *last_us
//  the Unix us of the last new one.
static size_t
s_collect_delayed (zsock_t *sub, const char *prefix, size_t count, size_t expected,
                   int64_t (*due) (void *, size_t), void *plan, int64_t give_up_ms,
                   int64_t linger_ms, int64_t *delays, size_t *twice, int64_t *last_us)
{
    unsigned char *seen = (unsigned char *)calloc (count + 1, 1);
    size_t received = 0;
    *twice = 0;
    *last_us = 0;
    int64_t linger_end = 0;
    for (;;) {
        int64_t now = cpec_now_ms ();
        if (received >= expected && !linger_end)
            linger_end = now + linger_ms;
        if ((linger_end && now >= linger_end) || (!linger_end && now >= give_up_ms))
            break;
        int64_t at_us = 0;
        Cpec__V1__Event *event = s_next_delayed (sub, 50, &at_us);
        if (!event)
            continue;
        long index = s_index_of (event->milestone_delayed->milestone_id, prefix, count);
        if (index >= 0 && seen[index]++)
            (*twice)++;
        else if (index >= 0) {
            delays[received++] = at_us - due (plan, (size_t)index) * 1000;
            *last_us = at_us;
        }
        cpec_pb_destroy ((ProtobufCMessage **)&event);
    }
    free (seen);
    return received;
}

//  --------------------------------------------------------------------------
//  Step 4: Update

typedef struct
{
    const char *prefix;
    size_t offset;
    char id[96], title[96];
    char *mask[1];
    Cpec__V1__Milestone milestone;
    Cpec__V1__UpdateMilestoneRequest request;
} s_update_t;

static ProtobufCMessage *
s_update_build (void *ctx, size_t i)
{
    s_update_t *self = (s_update_t *)ctx;
    snprintf (self->id, sizeof (self->id), "%s-%zu", self->prefix, self->offset + i);
    snprintf (self->title, sizeof (self->title), "Benchmark milestone %zu (renamed)",
              self->offset + i);
    self->milestone = (Cpec__V1__Milestone)CPEC__V1__MILESTONE__INIT;
    self->milestone.id = self->id;
    self->milestone.title = self->title;
    self->mask[0] = (char *)"title";
    self->request = (Cpec__V1__UpdateMilestoneRequest)CPEC__V1__UPDATE_MILESTONE_REQUEST__INIT;
    self->request.milestone = &self->milestone;
    self->request.expected_version = 1;
    self->request.n_update_mask = 1;
    self->request.update_mask = self->mask;
    return &self->request.base;
}

//  --------------------------------------------------------------------------
//  Step 5: the graph

typedef struct
{
    size_t layers, width;
    char **ids;     //  [n], n = layer * width + k
    size_t *pred;   //  [n * 3 + p]
    uint32_t *lag;  //  [n * 3 + p]
    size_t *n_pred; //  [n]
    char *scratch_ids[4];
    uint32_t scratch_lags[4];
    int64_t base_ms;
} s_graph_t;

static int64_t
s_graph_due (void *ctx, size_t n)
{
    s_graph_t *graph = (s_graph_t *)ctx;
    return graph->base_ms + (int64_t)(n / graph->width) * 30 * S_DAY_MS;
}

static size_t
s_graph_preds (void *ctx, size_t n, char ***ids, uint32_t **lags)
{
    s_graph_t *graph = (s_graph_t *)ctx;
    for (size_t p = 0; p < graph->n_pred[n]; p++) {
        graph->scratch_ids[p] = graph->ids[graph->pred[n * 3 + p]];
        graph->scratch_lags[p] = graph->lag[n * 3 + p];
    }
    *ids = graph->scratch_ids;
    *lags = graph->scratch_lags;
    return graph->n_pred[n];
}

static void
s_graph_make (s_graph_t *graph, size_t layers, size_t width)
{
    *graph = (s_graph_t){.layers = layers, .width = width, .base_ms = 1924992000000LL}; //  2031
    size_t total = layers * width;
    graph->ids = (char **)calloc (total, sizeof (char *));
    graph->pred = (size_t *)calloc (total * 3, sizeof (size_t));
    graph->lag = (uint32_t *)calloc (total * 3, sizeof (uint32_t));
    graph->n_pred = (size_t *)calloc (total, sizeof (size_t));
    unsigned short seed[3] = {7, 11, 13};
    for (size_t n = 0; n < total; n++) {
        char id[64];
        snprintf (id, sizeof (id), "bm-g-%zu", n);
        graph->ids[n] = strdup (id);
        if (n < width)
            continue;
        size_t layer = n / width;
        size_t want = 1 + (size_t)(nrand48 (seed) % 3);
        if (want > width)
            want = width;
        while (graph->n_pred[n] < want) {
            size_t p = (layer - 1) * width + (size_t)(nrand48 (seed) % width);
            bool dup = false;
            for (size_t q = 0; q < graph->n_pred[n]; q++)
                dup = dup || graph->pred[n * 3 + q] == p;
            if (dup)
                continue;
            graph->lag[n * 3 + graph->n_pred[n]] = (uint32_t)(nrand48 (seed) % 6);
            graph->pred[n * 3 + graph->n_pred[n]++] = p;
        }
    }
}

static void
s_graph_fini (s_graph_t *graph)
{
    for (size_t n = 0; graph->ids && n < graph->layers * graph->width; n++)
        free (graph->ids[n]);
    free (graph->ids);
    free (graph->pred);
    free (graph->lag);
    free (graph->n_pred);
    *graph = (s_graph_t){0};
}

//  How many milestones lie downstream of root (not counting it).
static size_t
s_graph_reach (const s_graph_t *graph, size_t root)
{
    size_t total = graph->layers * graph->width;
    unsigned char *reached = (unsigned char *)calloc (total, 1);
    reached[root] = 1;
    size_t count = 0;
    for (size_t n = graph->width; n < total; n++)
        for (size_t p = 0; p < graph->n_pred[n] && !reached[n]; p++)
            if (reached[graph->pred[n * 3 + p]]) {
                reached[n] = 1;
                count++;
            }
    free (reached);
    return count;
}

//  The part of each milestone's forecast its predecessors fix (what the
//  service keeps as pred_fixed_ms: all open, so a predecessor passes
//  max(its due, its own pred_fixed) + lag) with root due at root_due.
static void
s_graph_fixed (const s_graph_t *graph, size_t root, int64_t root_due, int64_t *fixed)
{
    size_t total = graph->layers * graph->width;
    for (size_t n = 0; n < total; n++) {
        fixed[n] = 0;
        for (size_t p = 0; p < graph->n_pred[n]; p++) {
            size_t q = graph->pred[n * 3 + p];
            int64_t due = q == root ? root_due : s_graph_due ((void *)graph, q);
            int64_t bound = (due > fixed[q] ? due : fixed[q]) + graph->lag[n * 3 + p] * S_DAY_MS;
            if (bound > fixed[n])
                fixed[n] = bound;
        }
    }
}

//  How many states a re-plan of root from due a to due b rewrites, and how
//  many risk flags turn.
static void
s_graph_changes (const s_graph_t *graph, size_t root, int64_t a, int64_t b, size_t *states,
                 size_t *flags)
{
    size_t total = graph->layers * graph->width;
    int64_t *fa = (int64_t *)calloc (total, sizeof (int64_t));
    int64_t *fb = (int64_t *)calloc (total, sizeof (int64_t));
    s_graph_fixed (graph, root, a, fa);
    s_graph_fixed (graph, root, b, fb);
    *states = *flags = 0;
    for (size_t n = 0; n < total; n++) {
        int64_t due = s_graph_due ((void *)graph, n);
        *states += fa[n] != fb[n];
        *flags += (fa[n] > due) != (fb[n] > due);
    }
    free (fa);
    free (fb);
}

//  One Replan of `id` (now at `version`) to due_ms; *reforecast_us gets the
//  time from sending it until its answer came and its prop marker left the
//  timers and the leases (the propagation committed), *answer_us until the
//  answer. CPEC_OK or the Replan's error code; -1 when nothing came.
static int
s_replan (cpec_client_t *client, redisContext *redis, const char *id, uint32_t version,
          int64_t due_ms, const char *request_id, int64_t *reforecast_us, int64_t *answer_us)
{
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    ts.seconds = due_ms / 1000;
    Cpec__V1__ReplanMilestoneRequest request = CPEC__V1__REPLAN_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    request.planned_due = &ts;
    request.reason = (char *)"benchmark re-plan";
    request.expected_version = version;
    char marker[160];
    snprintf (marker, sizeof (marker), "prop:%s:%u", id, version + 1);
    int64_t start = bench_now_us ();
    cpec_client_send (client, "milestones", "Replan", request_id, &request.base,
                      cpec_now_ms () + 300000);
    int code = -1;
    *answer_us = *reforecast_us = -1;
    bool marker_seen = false;
    int64_t marker_gone_us = -1;
    while (bench_now_us () - start < 300 * 1000000LL) {
        if (code < 0) {
            Cpec__V1__Reply *reply = cpec_client_recv (client, 2);
            if (reply && strcmp (reply->request_id, request_id) == 0) {
                code = (int)reply->code;
                *answer_us = bench_now_us () - start;
                if (code != CPEC_OK)
                    fprintf (stderr, "bench_milestones: Replan %s: %s: %s\n", id,
                             cpec_code_name (code), reply->message);
            }
            if (reply)
                cpec_pb_destroy ((ProtobufCMessage **)&reply);
        }
        if (code > 0)
            break; //  refused: nothing to wait for
        //  The marker: present while the propagation is pending. A busy
        //  Redis (a script running) answers -1: unknown.
        redisReply *r1 = (redisReply *)redisCommand (redis, "ZSCORE cpec:ms:timers %s", marker);
        redisReply *r2 = (redisReply *)redisCommand (redis, "ZSCORE cpec:ms:leases %s", marker);
        bool known = r1 && r2 && r1->type != REDIS_REPLY_ERROR && r2->type != REDIS_REPLY_ERROR;
        bool present = known && (r1->type != REDIS_REPLY_NIL || r2->type != REDIS_REPLY_NIL);
        if (r1)
            freeReplyObject (r1);
        if (r2)
            freeReplyObject (r2);
        if (present) {
            marker_seen = true;
            marker_gone_us = -1;
        } else if (known && marker_gone_us < 0)
            marker_gone_us = bench_now_us () - start;
        if (code == CPEC_OK && known && !present) {
            //  Answered, and the propagation committed (before the answer,
            //  when it went as designed)
            *reforecast_us =
                marker_seen && marker_gone_us > *answer_us ? marker_gone_us : *answer_us;
            break;
        }
        if (code < 0 && marker_seen && marker_gone_us >= 0 &&
            bench_now_us () - start - marker_gone_us > 10 * 1000000LL) {
            //  Committed, but no answer 10 s later: lost with its replica
            *reforecast_us = marker_gone_us;
            fprintf (stderr, "bench_milestones: Replan %s: no answer; re-forecast committed\n", id);
            return CPEC_OK;
        }
        if (!known)
            zclock_sleep (5);
    }
    return code;
}

//  The version of a milestone (Get), 0 when it cannot be read.
static uint32_t
s_version (cpec_client_t *client, const char *id)
{
    Cpec__V1__GetMilestoneRequest request = CPEC__V1__GET_MILESTONE_REQUEST__INIT;
    request.id = (char *)id;
    for (int attempt = 0; attempt < 10; attempt++) {
        ProtobufCMessage *out = NULL;
        if (cpec_client_call (client, &cpec__v1__milestones__descriptor, "Get", NULL, &request.base,
                              &out, 30000, NULL) == CPEC_OK) {
            uint32_t version = ((Cpec__V1__Milestone *)out)->version;
            cpec_pb_destroy (&out);
            return version;
        }
        zclock_sleep (1000);
    }
    return 0;
}

//  `count` re-plans of root alternating due b and due a (starting with b,
//  so that an even count ends at a); a row of their re-forecast times and a
//  note with what they changed.
static int
s_replans (cpec_client_t *client, redisContext *redis, const s_graph_t *graph, size_t root,
           int64_t a, int64_t b, size_t count, const char *name, const char *what)
{
    int64_t *samples = (int64_t *)calloc (count + 1, sizeof (int64_t));
    int64_t answer_max = 0;
    size_t ok = 0, late_answers = 0;
    size_t states = 0, flags = 0;
    s_graph_changes (graph, root, a, b, &states, &flags);
    s_cmdstats_t before, after;
    s_cmdstats (redis, &before);
    long long since = (long long)(cpec_now_ms () / 1000);
    int64_t start = bench_now_us ();
    for (size_t k = 0; k < count; k++) {
        uint32_t version = s_version (client, graph->ids[root]);
        if (!version)
            break;
        char request_id[96];
        snprintf (request_id, sizeof (request_id), "%s-%s-%zu", s_tag, name, k);
        int64_t reforecast = 0, answer = 0;
        int code = s_replan (client, redis, graph->ids[root], version, k % 2 ? a : b, request_id,
                             &reforecast, &answer);
        if (code != CPEC_OK)
            continue;
        samples[ok++] = reforecast;
        if (answer < 0 || reforecast > answer + 1000)
            late_answers++; //  answered before the forecasts were written
        if (answer > answer_max)
            answer_max = answer;
    }
    double elapsed_s = (double)(bench_now_us () - start) / 1e6;
    s_cmdstats (redis, &after);
    char row[48];
    snprintf (row, sizeof (row), "replan-%s", name);
    s_row (row, samples, ok, 0, false);
    long long keys = 0;
    long long slowest = s_slowest_script (redis, since, &keys);
    char longest[96] = "no Redis script over the slow log's 10 ms";
    if (slowest > 0)
        snprintf (longest, sizeof (longest), "longest Redis script %.1f ms (%lld keys)",
                  (double)slowest / 1000.0, keys);
    s_note ("Replan %s (%zu of %zu ok in %.1f s): each rewrites %zu states, turns %zu risk flags; "
            "%zu answered before the re-forecast had committed; %s",
            what, ok, count, elapsed_s, states, flags, late_answers, longest);
    char label[64];
    snprintf (label, sizeof (label), "Replan %s", name);
    s_cmdstats_note (label, &before, &after, ok ? ok : 1);
    snprintf (label, sizeof (label), "replan-%s-states", name);
    s_value (label, (double)states);
    free (samples);
    return 0;
}

//  --------------------------------------------------------------------------

static void
s_parse (int argc, char *argv[])
{
    static struct option options[] = {
        {"open", 1, 0, 'o'},          {"seq", 1, 0, 'q'},         {"due", 1, 0, 'd'},
        {"due-spread-ms", 1, 0, 's'}, {"burst", 1, 0, 'b'},       {"updates", 1, 0, 'u'},
        {"layers", 1, 0, 'l'},        {"width", 1, 0, 'w'},       {"replans", 1, 0, 'r'},
        {"slip-replans", 1, 0, 'S'},  {"all-replans", 1, 0, 'A'}, {"inflight", 1, 0, 'i'},
        {"zones", 1, 0, 'z'},         {"graph-zone", 1, 0, 'g'},  {0, 0, 0, 0}};
    static char zones[512] = "rashakai,allama-iqbal,dhabeji,bostan,mirpur,ict-model,psm-port-qasim,"
                             "moqpondass";
    int c;
    while ((c = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (c) {
            case 'o': s_opt.open = (size_t)atol (optarg); break;
            case 'q': s_opt.seq = (size_t)atol (optarg); break;
            case 'd': s_opt.due = (size_t)atol (optarg); break;
            case 's': s_opt.due_spread_ms = atol (optarg); break;
            case 'b': s_opt.burst = (size_t)atol (optarg); break;
            case 'u': s_opt.updates = (size_t)atol (optarg); break;
            case 'l': s_opt.layers = (size_t)atol (optarg); break;
            case 'w': s_opt.width = (size_t)atol (optarg); break;
            case 'r': s_opt.replans = (size_t)atol (optarg); break;
            case 'S': s_opt.slip_replans = (size_t)atol (optarg); break;
            case 'A': s_opt.all_replans = (size_t)atol (optarg); break;
            case 'i': s_opt.inflight = (size_t)atol (optarg); break;
            case 'z': snprintf (zones, sizeof (zones), "%s", optarg); break;
            case 'g': s_opt.graph_zone = optarg; break;
            default:
                fprintf (stderr, "usage: bench_milestones [--open N] [--seq N] [--due N] "
                                 "[--due-spread-ms MS] [--burst N] [--updates N] [--layers N] "
                                 "[--width N] [--replans N] [--slip-replans N] [--all-replans N] "
                                 "[--inflight N] [--zones a,b,...] [--graph-zone Z]\n");
                exit (2);
        }
    }
    for (char *zone = strtok (zones, ","); zone && s_opt.zone_count < 16; zone = strtok (NULL, ","))
        s_opt.zones[s_opt.zone_count++] = zone;
    if (s_opt.zone_count == 0 || s_opt.open < 1 || s_opt.due_spread_ms < 1) {
        fprintf (stderr,
                 "bench_milestones: --zones, --open and --due-spread-ms must not be empty\n");
        exit (2);
    }
    if (s_opt.inflight < 1)
        s_opt.inflight = 1;
    if (s_opt.seq > s_opt.open)
        s_opt.seq = s_opt.open;
    if (s_opt.updates > s_opt.open)
        s_opt.updates = s_opt.open;
    //  Even: the slack and slip cases end with the root where it began (the
    //  last case may end elsewhere)
    s_opt.replans += s_opt.replans % 2;
    s_opt.slip_replans += s_opt.slip_replans % 2;
}

int
main (int argc, char *argv[])
{
    s_parse (argc, argv);
    const char *broker = getenv ("CPEC_BROKER");
    const char *bus = getenv ("CPEC_BUS_SUB");
    const char *redis_url = getenv ("CPEC_REDIS_URL");
    if (!broker || !bus || !redis_url) {
        fprintf (stderr, "bench_milestones: CPEC_BROKER, CPEC_BUS_SUB and CPEC_REDIS_URL must be "
                         "set (source the stack's env)\n");
        return 1;
    }
    cpec_client_t *client = cpec_client_new (broker);
    if (client)
        cpec_client_set_principal (client, "bench", CPEC__V1__PRINCIPAL__ROLE__ADMIN, "");
    cpec_store_t *store = cpec_store_new (redis_url);
    redisContext *redis = s_redis (redis_url);
    zsock_t *sub = s_subscribe (bus, "MilestoneDelayed.");
    if (!client || !store || !redis || !sub) {
        fprintf (stderr, "bench_milestones: cannot reach the stack\n");
        return 1;
    }
    snprintf (s_tag, sizeof (s_tag), "bm%d", (int)getpid ());
    int64_t bench_start = bench_now_us ();
    size_t inflight = s_opt.inflight;
    s_cmdstats_t before, after;
    s_result_t result;
    s_run_t run;

    //  1. The open milestones -------------------------------------------------
    s_create_t create = {.prefix = "bm-o", .due = s_due_far};
    run = (s_run_t){"Create", s_opt.seq, s_create_build, &create, "os"};
    if (s_run (client, &run, 1, &result) != 0)
        return 1;
    double seq_rps = result.ok ? (double)result.ok * 1e6 / (double)result.elapsed_us : 0;
    int64_t populate_us = result.elapsed_us;
    size_t created = result.ok, failed = result.failed, retried = result.retried;
    s_row ("create-seq", result.samples, result.ok, result.elapsed_us, true);
    s_result_fini (&result);
    create.offset = s_opt.seq;
    run = (s_run_t){"Create", s_opt.open - s_opt.seq, s_create_build, &create, "oi"};
    s_cmdstats (redis, &before);
    if (s_run (client, &run, inflight, &result) != 0)
        return 1;
    s_cmdstats (redis, &after);
    double create_rps = result.ok ? (double)result.ok * 1e6 / (double)result.elapsed_us : 1000;
    populate_us += result.elapsed_us;
    created += result.ok;
    failed += result.failed;
    retried += result.retried;
    s_row ("create-inflight", result.samples, result.ok, result.elapsed_us, true);
    s_cmdstats_note ("Create", &before, &after, result.ok);
    s_result_fini (&result);
    s_value ("open-created", (double)created);
    s_value ("open-seconds", (double)populate_us / 1e6);
    s_value ("open-seq-seconds", seq_rps > 0 ? (double)s_opt.open / seq_rps : 0);
    s_note ("open milestones: %zu created through Create (%zu failed, %zu retried) in %.1f s: "
            "%zu one at a time at %.0f/s (all %zu that way: %.0f s), the rest %zu in flight at "
            "%.0f/s; cpec:ms:timers holds %lld members",
            created, failed, retried, (double)populate_us / 1e6, s_opt.seq, seq_rps, s_opt.open,
            seq_rps > 0 ? (double)s_opt.open / seq_rps : 0, inflight, create_rps,
            s_redis_integer (redis, "ZCARD cpec:ms:timers"));

    //  2. due -> MilestoneDelayed ---------------------------------------------
    if (s_opt.due) {
        s_due_plan_t plan = {0};
        int64_t create_ms = (int64_t)((double)s_opt.due / create_rps * 2000.0) + 1000;
        plan.first_ms = cpec_now_ms () + create_ms;
        plan.step_us = s_opt.due_spread_ms * 1000 / (int64_t)s_opt.due;
        s_create_t due = {.prefix = "bm-d", .due = s_due_spread, .due_ctx = &plan};
        run = (s_run_t){"Create", s_opt.due, s_create_build, &due, "d"};
        if (s_run (client, &run, inflight, &result) != 0)
            return 1;
        size_t expected = result.ok;
        s_result_fini (&result);
        int64_t slack = plan.first_ms - cpec_now_ms ();
        int64_t *delays = (int64_t *)calloc (s_opt.due + 1, sizeof (int64_t));
        size_t twice = 0;
        int64_t last_us = 0;
        size_t received = s_collect_delayed (sub, "bm-d", s_opt.due, expected, s_due_spread, &plan,
                                             plan.first_ms + s_opt.due_spread_ms + 10000, 500,
                                             delays, &twice, &last_us);
        s_row ("due-delay", delays, received, 0, false);
        s_value ("due-expected", (double)expected);
        s_value ("due-received", (double)received);
        s_value ("due-twice", (double)twice);
        s_note ("due -> bus: %zu milestones due %.1f ms apart over %lld ms (created with %lld ms "
                "to spare) among %zu open: %zu of %zu MilestoneDelayed received, %zu twice",
                s_opt.due, (double)plan.step_us / 1000.0, (long long)s_opt.due_spread_ms,
                (long long)slack, created, received, expected, twice);
        free (delays);
    }

    //  3. BURST due in one second -------------------------------------------
    if (s_opt.burst) {
        s_due_plan_t plan = {0};
        int64_t create_ms = (int64_t)((double)s_opt.burst / create_rps * 1500.0) + 2000;
        plan.second_ms = (cpec_now_ms () + create_ms + 999) / 1000 * 1000;
        s_create_t burst = {.prefix = "bm-b", .due = s_due_in_second, .due_ctx = &plan};
        run = (s_run_t){"Create", s_opt.burst, s_create_build, &burst, "b"};
        if (s_run (client, &run, inflight, &result) != 0)
            return 1;
        size_t expected = result.ok;
        s_result_fini (&result);
        int64_t slack = plan.second_ms - cpec_now_ms ();
        s_cmdstats (redis, &before);
        int64_t *delays = (int64_t *)calloc (s_opt.burst + 1, sizeof (int64_t));
        size_t twice = 0;
        int64_t last_us = 0;
        size_t received =
            s_collect_delayed (sub, "bm-b", s_opt.burst, expected, s_due_in_second, &plan,
                               plan.second_ms + 30000, 1000, delays, &twice, &last_us);
        s_cmdstats (redis, &after);
        size_t stream = 0, stream_twice = 0;
        s_stream_delayed (store, plan.second_ms - 1000, "bm-b", s_opt.burst, &stream,
                          &stream_twice);
        int64_t all_ms = received ? last_us / 1000 - plan.second_ms : -1;
        s_row ("burst-delay", delays, received, 0, false);
        s_value ("burst-expected", (double)expected);
        s_value ("burst-received", (double)received);
        s_value ("burst-twice", (double)twice);
        s_value ("burst-all-ms", (double)all_ms);
        s_value ("burst-stream", (double)stream);
        s_value ("burst-stream-twice", (double)stream_twice);
        s_note ("%zu due in one second (created with %lld ms to spare): %zu of %zu "
                "MilestoneDelayed on the bus, the last %lld ms after the second began, %zu "
                "twice; the stream cpec:events holds %zu of them (%zu twice)",
                s_opt.burst, (long long)slack, received, expected, (long long)all_ms, twice, stream,
                stream_twice);
        s_cmdstats_note ("MilestoneDelayed in the burst", &before, &after, received ? received : 1);
        free (delays);
    }

    //  4. Update ----------------------------------------------------------------
    if (s_opt.updates) {
        size_t sequential = s_opt.seq < s_opt.updates ? s_opt.seq : s_opt.updates;
        s_update_t update = {.prefix = "bm-o", .offset = 0};
        run = (s_run_t){"Update", sequential, s_update_build, &update, "us"};
        s_cmdstats (redis, &before);
        if (s_run (client, &run, 1, &result) != 0)
            return 1;
        s_cmdstats (redis, &after);
        s_row ("update-seq", result.samples, result.ok, result.elapsed_us, true);
        s_cmdstats_note ("Update", &before, &after, result.ok ? result.ok : 1);
        s_result_fini (&result);
        update.offset = sequential;
        run = (s_run_t){"Update", s_opt.updates - sequential, s_update_build, &update, "ui"};
        if (s_run (client, &run, inflight, &result) != 0)
            return 1;
        s_row ("update-inflight", result.samples, result.ok, result.elapsed_us, true);
        s_result_fini (&result);
    }

    //  5. The graph and its re-plans -------------------------------------------
    if (s_opt.layers >= 2 && s_opt.width) {
        s_graph_t graph;
        s_graph_make (&graph, s_opt.layers, s_opt.width);
        size_t total = graph.layers * graph.width;
        size_t root = 0, reach = 0, edges = 0, direct = 0;
        for (size_t r = 0; r < graph.width; r++) {
            size_t count = s_graph_reach (&graph, r);
            if (count > reach)
                reach = count, root = r;
        }
        for (size_t n = 0; n < total; n++) {
            edges += graph.n_pred[n];
            for (size_t p = 0; p < graph.n_pred[n]; p++)
                direct += graph.pred[n * 3 + p] == root;
        }
        s_create_t node = {.prefix = "bm-g",
                           .due = s_graph_due,
                           .due_ctx = &graph,
                           .predecessors = s_graph_preds,
                           .zone = s_opt.graph_zone};
        int64_t graph_start = bench_now_us ();
        size_t graph_ok = 0, graph_failed = 0, graph_retried = 0;
        for (size_t layer = 0; layer < graph.layers; layer++) {
            node.offset = layer * graph.width;
            char phase[24];
            snprintf (phase, sizeof (phase), "g%u", (unsigned)(layer % 100000));
            run = (s_run_t){"Create", graph.width, s_create_build, &node, phase};
            if (s_run (client, &run, inflight, &result) != 0)
                return 1;
            graph_ok += result.ok;
            graph_failed += result.failed;
            graph_retried += result.retried;
            s_result_fini (&result);
        }
        s_note ("graph: zone %s, %zu layers x %zu milestones, each after the first layer waits "
                "on 1-3 of the layer before (%zu dependencies, lag 0-5 days), due 30 days per "
                "layer from 2031; created layer by layer in %.1f s (%zu ok, %zu failed, %zu "
                "retried); re-planned root %s: %zu direct successors, %zu milestones downstream",
                s_opt.graph_zone, graph.layers, graph.width, edges,
                (double)(bench_now_us () - graph_start) / 1e6, graph_ok, graph_failed,
                graph_retried, graph.ids[root], direct, reach);
        s_value ("graph-size", (double)graph_ok);
        s_value ("graph-downstream", (double)reach);
        int64_t base = graph.base_ms;
        if (s_opt.replans)
            s_replans (client, redis, &graph, root, base, base + S_DAY_MS, s_opt.replans, "slack",
                       "by 1 day, absorbed by the slack");
        if (s_opt.slip_replans)
            s_replans (client, redis, &graph, root, base, base + 365 * S_DAY_MS, s_opt.slip_replans,
                       "slip", "by 1 year");
        if (s_opt.all_replans)
            s_replans (client, redis, &graph, root, base,
                       base + (int64_t)(graph.layers + 12) * 30 * S_DAY_MS, s_opt.all_replans,
                       "all", "past the last layer");
        s_graph_fini (&graph);
    }

    s_value ("seconds", (double)(bench_now_us () - bench_start) / 1e6);
    zsock_destroy (&sub);
    redisFree (redis);
    cpec_store_destroy (&store);
    cpec_client_destroy (&client);
    return 0;
}
