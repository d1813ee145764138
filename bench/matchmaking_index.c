/*  bench_mm_index - the matchmaking index in process (no broker, no Redis):
    for each size N, the synthetic profiles 0..N-1 of data set SEED
    (synth.h), validated as the service validates them, put into a new
    mm_index; then QUERIES profiles of the set, chosen by a fixed
    pseudo-random sequence (the same in every run), each asked for its top K
    counterparts twice: by the index (mm_index_top) and by the scan of every
    profile of the other country (mm_index_brute), one after the other, with
    the default weights and no filter. Both answers must hold the same ids
    with the same scores in the same order.

    Measured per size:
      - profiles indexed per second: the time spent in mm_index_put only
        (making and validating the profiles is not counted);
      - memory per profile: mm_index_bytes / N (what the index counts:
        slots, posting lists, id table, strings), and the growth of this
        process's resident set (/proc/self/statm) from before the index was
        made to after it was built, divided by N (with malloc's overhead;
        the profiles made on the way are freed, and malloc_trim'd, first);
      - p50 and p99 of both ways of answering, and the mean number of
        profiles each scored.

    Usage: bench_mm_index [--queries Q] [--seed S] [--k K] [--table] [N ...]
           (defaults: 200 queries, data set 7, k 10, sizes 10000 100000 1000000)

    Prints one machine-readable line per size for bench/run (times in us):
      mm-index N Q PUT_PER_S INDEX_BYTES_PER_PROFILE RSS_BYTES_PER_PROFILE
               TOP_P50 TOP_P99 TOP_MAX BRUTE_P50 BRUTE_P99 BRUTE_MAX
               TOP_SCORED_MEAN BRUTE_SCORED_MEAN DISAGREEMENTS
    or, with --table, a table of the same figures to read. Progress goes to
    stderr. Exits 1 when the two ways disagree on any query (each
    disagreement is reported on stderr: size, query, position, both ids and
    scores), or when a profile fails validation; 2 on a usage error.
*/
#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "mm.h"
#include "synth.h"

#define S_BATCH 1000 //  profiles made, then put, at a time

static struct
{
    size_t queries, k;
    uint64_t seed;
    bool table;
} s_opt = {.queries = 200, .k = MM_K_DEFAULT, .seed = 7, .table = false};

//  The figures of one size.
typedef struct
{
    size_t n, queries;
    double put_per_s, index_bytes, rss_bytes;
    double top[3], brute[3]; //  p50, p99, max in us
    double top_scored, brute_scored;
    size_t disagreements;
} s_result_t;

//  This process's resident set in bytes (0 when /proc cannot be read).
static size_t
s_rss_bytes (void)
{
    FILE *file = fopen ("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (file) {
        if (fscanf (file, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose (file);
    }
    return (size_t)resident * (size_t)sysconf (_SC_PAGESIZE);
}

//  p50, p99 and max in us of samples in ns (sorts them).
static void
s_percentiles_us (int64_t *samples, size_t count, double out[3])
{
    int64_t ns[3];
    bench_percentiles (samples, count, ns);
    for (int i = 0; i < 3; i++)
        out[i] = (double)ns[i] / 1000.0;
}

//  Builds an index of profiles 0..n-1 into *index_p. 0, or -1 after
//  reporting a profile that fails validation.
static int
s_build (size_t n, mm_index_t **index_p, s_result_t *result)
{
    malloc_trim (0);
    size_t rss_before = s_rss_bytes ();
    mm_index_t *index = mm_index_new ();
    Cpec__V1__Enterprise **batch =
        (Cpec__V1__Enterprise **)calloc (S_BATCH, sizeof (Cpec__V1__Enterprise *));
    int64_t put_ns = 0, started = bench_now_us ();
    int rc = 0;
    for (size_t first = 0; first < n && rc == 0; first += S_BATCH) {
        size_t size = n - first < S_BATCH ? n - first : S_BATCH;
        for (size_t i = 0; i < size; i++) {
            batch[i] = synth_enterprise (s_opt.seed, first + i);
            cpec_status_t status;
            if (rc == 0 && mm_validate_enterprise (batch[i], &status) != CPEC_OK) {
                fprintf (stderr, "bench_mm_index: profile %s is not valid: %s\n", batch[i]->id,
                         status.message);
                rc = -1;
            }
        }
        int64_t t = bench_now_ns ();
        for (size_t i = 0; i < size && rc == 0; i++)
            mm_index_put (index, batch[i]);
        put_ns += bench_now_ns () - t;
        for (size_t i = 0; i < size; i++)
            synth_enterprise_destroy (&batch[i]);
    }
    free (batch);
    malloc_trim (0);
    size_t rss_after = s_rss_bytes ();
    result->put_per_s = put_ns > 0 ? (double)n * 1e9 / (double)put_ns : 0;
    result->index_bytes = (double)mm_index_bytes (index) / (double)n;
    result->rss_bytes = rss_after > rss_before ? (double)(rss_after - rss_before) / (double)n : 0;
    fprintf (stderr,
             "bench_mm_index: %zu profiles made and indexed in %.1f s (%.2f s in mm_index_put), "
             "%zu MiB counted by the index, resident set +%zu MiB\n",
             n, (double)(bench_now_us () - started) / 1e6, (double)put_ns / 1e9,
             mm_index_bytes (index) >> 20,
             (rss_after > rss_before ? rss_after - rss_before : 0) >> 20);
    *index_p = index;
    return rc;
}

//  Compares two answers; reports each difference. The number of differences.
static size_t
s_compare (mm_index_t *index, size_t n, size_t query, const char *id, const mm_hit_t *top,
           size_t n_top, const mm_hit_t *brute, size_t n_brute)
{
    size_t differences = 0;
    if (n_top != n_brute) {
        fprintf (stderr,
                 "bench_mm_index: DISAGREE at %zu profiles, query %zu (%s): the index answered %zu "
                 "results, the scan %zu\n",
                 n, query, id, n_top, n_brute);
        differences++;
    }
    size_t count = n_top < n_brute ? n_top : n_brute;
    for (size_t i = 0; i < count; i++) {
        const mm_profile_t *x = mm_index_slot (index, top[i].slot);
        const mm_profile_t *y = mm_index_slot (index, brute[i].slot);
        if (top[i].slot != brute[i].slot || top[i].score != brute[i].score) {
            fprintf (stderr,
                     "bench_mm_index: DISAGREE at %zu profiles, query %zu (%s), rank %zu: index %s "
                     "%.2f, scan %s %.2f\n",
                     n, query, id, i + 1, x->id, top[i].score / 100.0, y->id,
                     brute[i].score / 100.0);
            differences++;
        }
    }
    return differences;
}

//  Times the queries on an index of n profiles.
static void
s_query (mm_index_t *index, size_t n, s_result_t *result)
{
    size_t q = s_opt.queries, k = s_opt.k;
    int64_t *top_ns = (int64_t *)calloc (q, sizeof (int64_t));
    int64_t *brute_ns = (int64_t *)calloc (q, sizeof (int64_t));
    int64_t *scored = (int64_t *)calloc (q, sizeof (int64_t));
    mm_hit_t *top = (mm_hit_t *)calloc (k, sizeof (mm_hit_t));
    mm_hit_t *brute = (mm_hit_t *)calloc (k, sizeof (mm_hit_t));
    uint64_t state = 0x6d6d2d696e646578ull ^ s_opt.seed; //  the same choice in every run
    double top_scored = 0, brute_scored = 0;
    size_t disagreements = 0;
    //  A few untimed queries first (page faults of the stamps, the caches)
    for (size_t i = 0; i < 5; i++) {
        char id[SYNTH_ID_SIZE];
        const mm_profile_t *a = mm_index_get (
            index, synth_enterprise_id (s_opt.seed, (uint64_t)i * 7919 % n, id, sizeof (id)));
        if (a) {
            mm_index_top (index, &mm_weights_default, a, NULL, k, top, NULL);
            mm_index_brute (index, &mm_weights_default, a, NULL, k, brute, NULL);
        }
    }
    for (size_t i = 0; i < q; i++) {
        char id[SYNTH_ID_SIZE];
        synth_enterprise_id (s_opt.seed, bench_splitmix (&state) % n, id, sizeof (id));
        const mm_profile_t *a = mm_index_get (index, id);
        assert (a);
        size_t scored_top = 0, scored_brute = 0;
        int64_t t0 = bench_now_ns ();
        size_t n_top = mm_index_top (index, &mm_weights_default, a, NULL, k, top, &scored_top);
        int64_t t1 = bench_now_ns ();
        size_t n_brute =
            mm_index_brute (index, &mm_weights_default, a, NULL, k, brute, &scored_brute);
        int64_t t2 = bench_now_ns ();
        top_ns[i] = t1 - t0;
        brute_ns[i] = t2 - t1;
        scored[i] = (int64_t)scored_top;
        top_scored += (double)scored_top;
        brute_scored += (double)scored_brute;
        disagreements += s_compare (index, n, i, id, top, n_top, brute, n_brute) ? 1 : 0;
    }
    result->queries = q;
    s_percentiles_us (top_ns, q, result->top);
    s_percentiles_us (brute_ns, q, result->brute);
    result->top_scored = top_scored / (double)q;
    result->brute_scored = brute_scored / (double)q;
    result->disagreements = disagreements;
    double spread[3];
    s_percentiles_us (scored, q, spread);
    fprintf (stderr,
             "bench_mm_index: %zu profiles: the index scored %.0f profiles at the median, %.0f at "
             "p99, %.0f at most (the scan: %.0f)\n",
             n, spread[0] * 1000, spread[1] * 1000, spread[2] * 1000, result->brute_scored);
    free (top_ns);
    free (brute_ns);
    free (scored);
    free (top);
    free (brute);
}

static void
s_print_line (const s_result_t *r)
{
    printf ("mm-index %zu %zu %.0f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %zu\n", r->n,
            r->queries, r->put_per_s, r->index_bytes, r->rss_bytes, r->top[0], r->top[1], r->top[2],
            r->brute[0], r->brute[1], r->brute[2], r->top_scored, r->brute_scored,
            r->disagreements);
    fflush (stdout);
}

static void
s_print_table (const s_result_t *results, size_t count)
{
    printf ("%-32s %11s %9s %9s\n", "matchmaking index, in process", "indexed/s", "B/prof",
            "RSS B/p");
    for (size_t i = 0; i < count; i++) {
        char label[64];
        snprintf (label, sizeof (label), "%zu profiles", results[i].n);
        printf ("%-32s %11.0f %9.0f %9.0f\n", label, results[i].put_per_s, results[i].index_bytes,
                results[i].rss_bytes);
    }
    char title[64];
    snprintf (title, sizeof (title), "TopMatches in process, k=%zu", s_opt.k);
    printf ("\n%-32s %9s %9s %9s %9s %7s %7s %9s %9s %7s\n", title, "top p50", "top p99",
            "scan p50", "scan p99", "x p50", "x p99", "scored", "scanned", "agree");
    for (size_t i = 0; i < count; i++) {
        const s_result_t *r = &results[i];
        char label[64], agree[32];
        snprintf (label, sizeof (label), "%zu profiles, %zu queries", r->n, r->queries);
        snprintf (agree, sizeof (agree), "%s", r->disagreements ? "NO" : "yes");
        printf ("%-32s %9.1f %9.1f %9.1f %9.1f %7.1f %7.1f %9.0f %9.0f %7s\n", label, r->top[0],
                r->top[1], r->brute[0], r->brute[1], r->top[0] > 0 ? r->brute[0] / r->top[0] : 0,
                r->top[1] > 0 ? r->brute[1] / r->top[1] : 0, r->top_scored, r->brute_scored, agree);
    }
    printf ("  (times in us; x: scan time / index time; scored: profiles the index scored, mean;\n"
            "   scanned: profiles the scan scored, mean)\n");
}

int
main (int argc, char *argv[])
{
    static const struct option options[] = {{"queries", required_argument, NULL, 'q'},
                                            {"seed", required_argument, NULL, 's'},
                                            {"k", required_argument, NULL, 'k'},
                                            {"table", no_argument, NULL, 't'},
                                            {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (c) {
            case 'q': s_opt.queries = (size_t)atol (optarg); break;
            case 's': s_opt.seed = (uint64_t)strtoull (optarg, NULL, 10); break;
            case 'k': s_opt.k = (size_t)atol (optarg); break;
            case 't': s_opt.table = true; break;
            default:
                fprintf (stderr, "usage: bench_mm_index [--queries Q] [--seed S] [--k K] "
                                 "[--table] [N ...]\n");
                return 2;
        }
    }
    size_t sizes[32], n_sizes = 0;
    for (int i = optind; i < argc && n_sizes < 32; i++)
        sizes[n_sizes++] = (size_t)atol (argv[i]);
    if (n_sizes == 0) {
        sizes[n_sizes++] = 10000;
        sizes[n_sizes++] = 100000;
        sizes[n_sizes++] = 1000000;
    }
    if (s_opt.queries < 1 || s_opt.k < 1 || s_opt.k > MM_K_MAX) {
        fprintf (stderr, "bench_mm_index: --queries must be at least 1, --k 1 to %d\n", MM_K_MAX);
        return 2;
    }
    for (size_t i = 0; i < n_sizes; i++)
        if (sizes[i] < 2) {
            fprintf (stderr, "bench_mm_index: a size must be at least 2, not '%s'\n",
                     argv[optind + (int)i]);
            return 2;
        }

    s_result_t *results = (s_result_t *)calloc (n_sizes, sizeof (s_result_t));
    int rc = 0;
    size_t done = 0;
    for (size_t i = 0; i < n_sizes; i++) {
        s_result_t *r = &results[i];
        r->n = sizes[i];
        mm_index_t *index = NULL;
        if (s_build (sizes[i], &index, r) != 0) {
            mm_index_destroy (&index);
            rc = 1;
            break;
        }
        s_query (index, sizes[i], r);
        mm_index_destroy (&index);
        done++;
        fprintf (stderr,
                 "bench_mm_index: %zu profiles: top p50 %.1f us p99 %.1f us, scan p50 %.1f us p99 "
                 "%.1f us, %zu of %zu queries disagree\n",
                 r->n, r->top[0], r->top[1], r->brute[0], r->brute[1], r->disagreements,
                 r->queries);
        if (r->disagreements) {
            fprintf (stderr,
                     "bench_mm_index: ERROR: the index and the scan disagree on %zu of %zu "
                     "queries at %zu profiles\n",
                     r->disagreements, r->queries, r->n);
            rc = 1;
        }
        if (!s_opt.table)
            s_print_line (r);
    }
    if (s_opt.table)
        s_print_table (results, done);
    free (results);
    return rc;
}
