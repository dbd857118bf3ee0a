// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static u64 seed;
static bool seed_set;
static long live_at_start;

void mmusim_test_init(int argc, char **argv)
{
	const char *s = getenv("MMUSIM_TEST_SEED");
	int i;

	for (i = 1; i < argc - 1; i++)
		if (!strcmp(argv[i], "--seed"))
			s = argv[i + 1];
	if (s && *s) {
		seed = strtoull(s, NULL, 0);
		seed_set = true;
	}
}

u64 mmusim_test_seed(void)
{
	if (!seed_set) {
		seed = (u64)time(NULL) ^ ((u64)clock() << 20);
		seed_set = true;
	}
	if (!seed)
		seed = 1;
	fprintf(stderr, "random seed %llu (rerun with --seed %llu or MMUSIM_TEST_SEED)\n",
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

unsigned int mmusim_test_stress_seconds(void)
{
	const char *s = getenv("MMUSIM_STRESS_SECONDS");

	return s && *s ? (unsigned int)strtoul(s, NULL, 0) : 2;
}

int mmusim_test_group_setup(void **state)
{
	static bool registered;

	(void)state;
	if (!registered) {
		env_thread_register();
		registered = true;
	}
	env_fail_clear();
	env_set_resched_interval(0);
	return 0;
}

int mmusim_test_group_teardown(void **state)
{
	(void)state;
	rcu_barrier();
	if (env_live_objects() || env_warn_count()) {
		fprintf(stderr, "group teardown: %ld live objects, %lu warnings\n",
			env_live_objects(), env_warn_count());
		return -1;
	}
	return 0;
}

int mmusim_test_setup(void **state)
{
	(void)state;
	test_vm_mmu = MMUSIM_MMU_TDP;
	env_fail_clear();
	env_set_resched_interval(0);
	env_warn_count_reset();
	rcu_barrier();
	live_at_start = env_live_objects();
	return 0;
}

int mmusim_test_teardown(void **state)
{
	struct env_live l;

	(void)state;
	env_fail_clear();
	env_set_resched_interval(0);
	rcu_barrier();
	env_live_snapshot(&l);
	if (env_live_objects() != live_at_start) {
		fprintf(stderr, "leak: live objects %ld -> %ld (kmalloc %ld cache %ld caches %ld pages %ld)\n",
			live_at_start, env_live_objects(), l.kmalloc, l.cache_objs, l.caches, l.pages);
		return -1;
	}
	if (env_warn_count()) {
		fprintf(stderr, "%lu WARN(s) fired during the test\n", env_warn_count());
		return -1;
	}
	return 0;
}

void *test_guarded_buf(size_t size, int prot)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (size + page - 1) / page * page;
	char *base =
		mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(base != MAP_FAILED);
	memset(base, 0, span);
	assert_int_equal(mprotect(base + span, page, PROT_NONE), 0);
	if (prot != (PROT_READ | PROT_WRITE))
		assert_int_equal(mprotect(base, span, prot), 0);
	return base + span - size;
}

void test_guarded_free(void *buf, size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t span = (size + page - 1) / page * page;
	char *base = (char *)buf + size - span;

	assert_int_equal(munmap(base, span + page), 0);
}

void *test_bad_ptr(void)
{
	static void *none;

	if (!none) {
		none = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		assert_true(none != MAP_FAILED);
	}
	return none;
}
