/*  bench - shared helpers: latency samples and the result line. */
#ifndef CPEC_BENCH_H_INCLUDED
#define CPEC_BENCH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline int64_t
bench_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t
bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
s_cmp_i64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

//  p50, p99 and max of samples (sorts them); -1 each when there are none.
static inline void
bench_percentiles (int64_t *samples, size_t count, int64_t out[3])
{
    if (count == 0) {
        out[0] = out[1] = out[2] = -1;
        return;
    }
    qsort (samples, count, sizeof (int64_t), s_cmp_i64);
    size_t p99 = (count * 99) / 100;
    out[0] = samples[count / 2];
    out[1] = samples[p99 < count ? p99 : count - 1];
    out[2] = samples[count - 1];
}

//  splitmix64: a small, fast pseudo-random sequence, the same for a seed.
static inline uint64_t
bench_splitmix (uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

//  Prints one machine-readable line: NAME RPS P50_US P99_US.
static inline void
bench_report (const char *name, int64_t *samples, size_t count, int64_t elapsed_us)
{
    qsort (samples, count, sizeof (int64_t), s_cmp_i64);
    double rps = elapsed_us > 0 ? (double)count * 1e6 / (double)elapsed_us : 0;
    printf ("%s %.0f %lld %lld\n", name, rps, (long long)samples[count / 2],
            (long long)samples[(count * 99) / 100]);
    fflush (stdout);
}

#endif
