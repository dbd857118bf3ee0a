/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The small timing helpers the single-purpose benchmarks share
 * (mmusim-bench-map, mmusim-bench-dirty): a monotonic clock in ns and the
 * median of a sample, which sorts the sample in place.
 */
#ifndef _MMUSIM_BENCH_STATS_H
#define _MMUSIM_BENCH_STATS_H

#include <stdlib.h>
#include <time.h>

#include "bench_env.h"

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static inline double bench_median_double(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif /* _MMUSIM_BENCH_STATS_H */
