// SPDX-License-Identifier: GPL-2.0-only
/*
 * The portable self-tests (src/selftest) under CMocka: one CMocka test per
 * registry entry, run through the same runner the kernel module uses (so
 * the leak and WARN checks are the runner's, and test_util's per-test
 * teardown checks them once more), plus one CMocka test for the parallel
 * pass.  The kernel runs the very same bodies: make kmod-check.
 *
 * stdout carries the same KTAP as the module's log (src/selftest/selftest.c):
 * one result per entry, numbered in registry order, the parallel pass as a
 * nested block, and the summary diagnostic; CMocka's own lines in between
 * are read as diagnostics by kunit.py parse.
 */
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"

#include "selftest/selftest.h"

static u64 seed;

/* In userspace any memory is user memory (selftest.h). */
int st_ubuf_alloc(struct st_ubuf *b, size_t size)
{
	memset(b, 0, sizeof(*b));
	if (!size)
		return -EINVAL;
	b->k = calloc(1, size);
	if (!b->k)
		return -ENOMEM;
	b->u = b->k;
	b->size = size;
	return 0;
}

void st_ubuf_free(struct st_ubuf *b)
{
	free(b->k);
	memset(b, 0, sizeof(*b));
}
static struct st_summary summary;

static void count(int rc)
{
	if (rc == ST_PASS)
		summary.passed++;
	else if (rc == ST_SKIP)
		summary.skipped++;
	else
		summary.failed++;
}

static void test_selftest_entry(void **state)
{
	const struct mmusim_selftest *st = *state;
	struct st_ctx ctx = { .nr_threads = 1, .seed = seed };
	int rc = mmusim_selftest_run_one(st, &ctx);

	mmusim_selftest_report(0, st - mmusim_selftests + 1, st->name, rc, &ctx);
	count(rc);
	if (rc == ST_SKIP)
		skip();
	if (rc != ST_PASS)
		fail_msg("%s:%d: %s", ctx.file ? ctx.file : "runner", ctx.line, ctx.msg);
}

static void test_selftest_parallel(void **state)
{
	struct st_options opt = { .threads = 4, .rounds = 2, .seed = seed };
	struct st_ctx parent = { .failures = 1, .msg = "see its subtests" };
	struct st_summary sum = { 0 };
	int rc;

	(void)state;
	rc = mmusim_selftest_run_parallel(&opt, &sum);
	mmusim_selftest_report(0, mmusim_nr_selftests + 1, "parallel", rc, &parent);
	summary.passed += sum.passed;
	summary.failed += sum.failed;
	summary.skipped += sum.skipped;
	assert_int_equal(sum.failed, 0);
	assert_true(sum.passed > 0);
}

int main(int argc, char **argv)
{
	unsigned int i, n = mmusim_nr_selftests;
	struct CMUnitTest *tests = calloc(n + 1, sizeof(*tests));
	int rc;

	mmusim_test_init(argc, argv);
	seed = mmusim_test_seed();
	if (!tests)
		return 1;
	for (i = 0; i < n; i++) {
		tests[i].name = mmusim_selftests[i].name;
		tests[i].test_func = test_selftest_entry;
		tests[i].setup_func = mmusim_test_setup;
		tests[i].teardown_func = mmusim_test_teardown;
		tests[i].initial_state = (void *)&mmusim_selftests[i];
	}
	tests[n] = (struct CMUnitTest)MMUSIM_TEST(test_selftest_parallel);
	printf("KTAP version 1\n1..%u\n", n + 1);
	fflush(stdout);
	rc = _cmocka_run_group_tests("selftest", tests, n + 1, mmusim_test_group_setup,
				     mmusim_test_group_teardown);
	mmusim_selftest_summary(&summary);
	free(tests);
	return rc;
}
