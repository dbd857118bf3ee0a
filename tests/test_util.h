/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Shared helpers for the CMocka tests.
 *
 * Every test group runs with mmusim_test_group_setup/teardown: the setup
 * registers the thread with RCU and clears the counters; the teardown waits
 * for pending RCU callbacks and asserts that no object is live and no WARN
 * fired.  Randomised tests take their seed from mmusim_test_seed(), which
 * prints it and honours MMUSIM_TEST_SEED (or --seed N on the command line).
 */
#ifndef _MMUSIM_TEST_UTIL_H
#define _MMUSIM_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mmusim_env.h"

int mmusim_test_group_setup(void **state);
int mmusim_test_group_teardown(void **state);
/* Per-test: fails the test if it leaked an object or fired a WARN. */
int mmusim_test_setup(void **state);
int mmusim_test_teardown(void **state);

void mmusim_test_init(int argc, char **argv);
u64 mmusim_test_seed(void);
/* Scales loop counts and durations: MMUSIM_STRESS_SECONDS, default 2. */
unsigned int mmusim_test_stress_seconds(void);

/* xorshift64*: small, seedable, good enough for test schedules. */
static inline u64 test_rand(u64 *state)
{
	u64 x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

#define MMUSIM_TEST(f) cmocka_unit_test_setup_teardown(f, mmusim_test_setup, mmusim_test_teardown)

#define mmusim_run_tests(name, tests)                                                 \
	cmocka_run_group_tests_name(name, tests, mmusim_test_group_setup,            \
				    mmusim_test_group_teardown)

#endif /* _MMUSIM_TEST_UTIL_H */
