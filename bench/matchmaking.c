/*  bench_matchmaking - TopMatches through the broker of a running stack
    (CPEC_BROKER) whose matchmaking service holds the synthetic profiles
    0..N-1 of data set SEED (`cpecctl seed enterprises --count N --seed
    SEED`): QUERIES profiles "syn-SEED-<i>", i chosen by a fixed
    pseudo-random sequence (the same in every run), one call at a time, each
    asked twice for its top K: with the index (brute_force false) and with
    the scan of every profile (brute_force true), one after the other. Both
    answers must name the same profiles with the same scores in the same
    order. Each time is a whole round trip (client -> broker -> replica ->
    broker -> client, with the reasons of each result made and encoded).

    Before the timed calls, untimed ones: the first and the last profile of
    the set must be found (the first call may wait for the replica to read
    the profiles it has not applied yet).

    Usage: bench_matchmaking --count N [--queries Q] [--seed S] [--k K]
           (defaults: 200 queries, data set 7, k 10)

    Prints one machine-readable line for bench/run (times in us):
      mm-svc N Q TOP_P50 TOP_P99 TOP_MAX BRUTE_P50 BRUTE_P99 BRUTE_MAX
             TOP_SCORED_MEAN BRUTE_SCORED_MEAN DISAGREEMENTS FAILED
    Exits 1 when a call fails or the two answers disagree on any query
    (each reported on stderr), 2 on a usage error.
*/
#include <getopt.h>
#include <string.h>

#include "bench.h"
#include "cpec/v1/matchmaking.pb-c.h"
#include "cpec_client.h"
#include "cpec_pb.h"

#define S_TIMEOUT_MS      30000  //  one timed call
#define S_WARM_TIMEOUT_MS 300000 //  the first: the replica may be applying the seeded profiles

static struct
{
    size_t count, queries, k;
    unsigned long long seed;
} s_opt = {.count = 0, .queries = 200, .k = 10, .seed = 7};

//  One TopMatches; *response gets the answer (NULL on failure, reported).
static int
s_top (cpec_client_t *client, const char *id, bool brute, int timeout_ms,
       Cpec__V1__TopMatchesResponse **response)
{
    Cpec__V1__TopMatchesRequest request = CPEC__V1__TOP_MATCHES_REQUEST__INIT;
    request.enterprise_id = (char *)id;
    request.k = (uint32_t)s_opt.k;
    request.brute_force = brute;
    ProtobufCMessage *out = NULL;
    cpec_status_t status;
    int code = cpec_client_call (client, &cpec__v1__matchmaking__descriptor, "TopMatches", NULL,
                                 &request.base, &out, timeout_ms, &status);
    if (code != CPEC_OK) {
        fprintf (stderr, "bench_matchmaking: TopMatches %s (brute_force %s): %s: %s\n", id,
                 brute ? "true" : "false", cpec_code_name (status.code), status.message);
        cpec_pb_destroy (&out);
        *response = NULL;
        return code;
    }
    *response = (Cpec__V1__TopMatchesResponse *)out;
    return CPEC_OK;
}

//  True when both answers hold the same profiles and scores in the same
//  order; otherwise reports the first difference.
static bool
s_agree (const char *id, const Cpec__V1__TopMatchesResponse *top,
         const Cpec__V1__TopMatchesResponse *brute)
{
    if (top->n_results != brute->n_results) {
        fprintf (stderr,
                 "bench_matchmaking: DISAGREE on %s: %zu results with the index, %zu by the "
                 "scan\n",
                 id, top->n_results, brute->n_results);
        return false;
    }
    for (size_t i = 0; i < top->n_results; i++) {
        const Cpec__V1__MatchResult *x = top->results[i], *y = brute->results[i];
        if (strcmp (x->enterprise_id, y->enterprise_id) != 0 || x->score != y->score) {
            fprintf (stderr,
                     "bench_matchmaking: DISAGREE on %s, rank %zu: index %s %.2f, scan %s %.2f\n",
                     id, i + 1, x->enterprise_id, x->score, y->enterprise_id, y->score);
            return false;
        }
    }
    return true;
}

int
main (int argc, char *argv[])
{
    static const struct option options[] = {{"count", required_argument, NULL, 'n'},
                                            {"queries", required_argument, NULL, 'q'},
                                            {"seed", required_argument, NULL, 's'},
                                            {"k", required_argument, NULL, 'k'},
                                            {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (c) {
            case 'n': s_opt.count = (size_t)atol (optarg); break;
            case 'q': s_opt.queries = (size_t)atol (optarg); break;
            case 's': s_opt.seed = strtoull (optarg, NULL, 10); break;
            case 'k': s_opt.k = (size_t)atol (optarg); break;
            default:
                fprintf (stderr, "usage: bench_matchmaking --count N [--queries Q] [--seed S] "
                                 "[--k K]\n");
                return 2;
        }
    }
    if (s_opt.count < 2 || s_opt.queries < 1 || s_opt.k < 1 || s_opt.k > 100) {
        fprintf (stderr, "bench_matchmaking: --count (at least 2) is required; --queries at "
                         "least 1; --k 1 to 100\n");
        return 2;
    }
    const char *endpoint = getenv ("CPEC_BROKER");
    cpec_client_t *client = cpec_client_new (endpoint ? endpoint : "tcp://127.0.0.1:17100");
    if (!client) {
        fprintf (stderr, "bench_matchmaking: cannot use CPEC_BROKER\n");
        return 1;
    }
    cpec_client_set_principal (client, "bench", CPEC__V1__PRINCIPAL__ROLE__ADMIN, "");
    //  No resend while a replica is busy reading profiles: one attempt is
    //  the whole call
    cpec_client_set_attempt_timeout (client, S_WARM_TIMEOUT_MS);

    //  Untimed: the first and the last profile, then a few more
    char id[64];
    for (size_t i = 0; i < 10; i++) {
        size_t index = i == 0 ? 0 : i == 1 ? s_opt.count - 1 : (i * 7919) % s_opt.count;
        snprintf (id, sizeof (id), "syn-%llu-%zu", s_opt.seed, index);
        Cpec__V1__TopMatchesResponse *response = NULL;
        if (s_top (client, id, false, S_WARM_TIMEOUT_MS, &response) != CPEC_OK) {
            fprintf (stderr, "bench_matchmaking: is data set %llu seeded up to %zu profiles?\n",
                     s_opt.seed, s_opt.count);
            cpec_client_destroy (&client);
            return 1;
        }
        cpec_pb_destroy ((ProtobufCMessage **)&response);
    }

    size_t q = s_opt.queries;
    int64_t *top_us = (int64_t *)calloc (q, sizeof (int64_t));
    int64_t *brute_us = (int64_t *)calloc (q, sizeof (int64_t));
    size_t n_top = 0, n_brute = 0, disagreements = 0, failed = 0;
    double top_scored = 0, brute_scored = 0;
    uint64_t state = 0x6d6d2d736572766cull ^ s_opt.seed; //  the same choice in every run
    //  All the index calls first, then all the scans: a scan reads every
    //  profile and would leave each index call after it a cold cache
    char (*ids)[64] = (char (*)[64])calloc (q, 64);
    Cpec__V1__TopMatchesResponse **tops =
        (Cpec__V1__TopMatchesResponse **)calloc (q, sizeof (void *));
    assert (ids && tops && top_us && brute_us);
    for (size_t i = 0; i < q; i++)
        snprintf (ids[i], 64, "syn-%llu-%llu", s_opt.seed,
                  (unsigned long long)(bench_splitmix (&state) % s_opt.count));
    for (size_t i = 0; i < q; i++) {
        int64_t t0 = bench_now_us ();
        int rc_top = s_top (client, ids[i], false, S_TIMEOUT_MS, &tops[i]);
        int64_t t1 = bench_now_us ();
        if (rc_top == CPEC_OK) {
            top_us[n_top++] = t1 - t0;
            top_scored += tops[i]->scored;
        } else
            failed++;
    }
    for (size_t i = 0; i < q; i++) {
        Cpec__V1__TopMatchesResponse *brute = NULL;
        int64_t t1 = bench_now_us ();
        int rc_brute = s_top (client, ids[i], true, S_TIMEOUT_MS, &brute);
        int64_t t2 = bench_now_us ();
        if (rc_brute == CPEC_OK) {
            brute_us[n_brute++] = t2 - t1;
            brute_scored += brute->scored;
        } else
            failed++;
        if (tops[i] && brute && !s_agree (ids[i], tops[i], brute))
            disagreements++;
        cpec_pb_destroy ((ProtobufCMessage **)&tops[i]);
        cpec_pb_destroy ((ProtobufCMessage **)&brute);
    }
    free (ids);
    free (tops);
    int64_t t[3], b[3];
    bench_percentiles (top_us, n_top, t);
    bench_percentiles (brute_us, n_brute, b);
    printf ("mm-svc %zu %zu %lld %lld %lld %lld %lld %lld %.1f %.1f %zu %zu\n", s_opt.count, q,
            (long long)t[0], (long long)t[1], (long long)t[2], (long long)b[0], (long long)b[1],
            (long long)b[2], n_top ? top_scored / (double)n_top : 0,
            n_brute ? brute_scored / (double)n_brute : 0, disagreements, failed);
    fflush (stdout);
    if (disagreements)
        fprintf (stderr,
                 "bench_matchmaking: ERROR: the index and the scan disagree on %zu of %zu "
                 "queries at %zu profiles\n",
                 disagreements, q, s_opt.count);
    if (failed)
        fprintf (stderr, "bench_matchmaking: %zu calls failed\n", failed);
    free (top_us);
    free (brute_us);
    cpec_client_destroy (&client);
    return disagreements || failed ? 1 : 0;
}
