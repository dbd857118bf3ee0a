// SPDX-License-Identifier: GPL-2.0-only
/* Tests of the userspace seam's allocators: counters, poison, failure injection. */
#include "test_util.h"

static void test_kmalloc_counts_and_zeroes(void **state)
{
	long before = env_live_objects();
	u8 *p = kzalloc(100, GFP_KERNEL);
	int i;

	assert_non_null(p);
	for (i = 0; i < 100; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(env_live_objects(), before + 1);
	kfree(p);
	assert_int_equal(env_live_objects(), before);
	kfree(NULL);
	assert_ptr_equal(kmalloc(0, GFP_KERNEL), ZERO_SIZE_PTR);
	kfree(ZERO_SIZE_PTR);
}

static void test_kmalloc_array_overflow(void **state)
{
	assert_null(kmalloc_array(SIZE_MAX / 2, 4, GFP_KERNEL));
	assert_null(kcalloc(SIZE_MAX / 8, 16, GFP_KERNEL));
}

struct obj {
	u64 a;
	u64 b;
	int ctor_ran;
};

static void obj_ctor(void *p)
{
	((struct obj *)p)->ctor_ran = 1;
}

static void test_kmem_cache(void **state)
{
	struct kmem_cache *c = kmem_cache_create("obj", sizeof(struct obj), 64, 0, obj_ctor);
	struct obj *o, *z;
	struct env_live l;

	assert_non_null(c);
	o = kmem_cache_alloc(c, GFP_KERNEL);
	z = kmem_cache_zalloc(c, GFP_KERNEL);
	assert_non_null(o);
	assert_non_null(z);
	assert_true(IS_ALIGNED((unsigned long)o, 64));
	assert_int_equal(o->ctor_ran, 1);
	assert_int_equal(z->ctor_ran, 0);
	env_live_snapshot(&l);
	assert_int_equal(l.cache_objs, 2);
	assert_int_equal(l.caches, 1);
	kmem_cache_free(c, o);
	kfree(z); /* kfree() of a cache object is legal, as in the kernel */
	kmem_cache_destroy(c);
	env_live_snapshot(&l);
	assert_int_equal(l.cache_objs + l.caches, 0);
}

static void test_kmem_cache_destroy_with_live_objects_warns(void **state)
{
	struct kmem_cache *c = kmem_cache_create("leaky", 32, 0, 0, NULL);
	void *o = kmem_cache_alloc(c, GFP_KERNEL);

	kmem_cache_destroy(c); /* refuses, and WARNs */
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	kmem_cache_free(c, o);
	kmem_cache_destroy(c);
}

static void test_free_poisons(void **state)
{
	unsigned long page = get_zeroed_page(GFP_KERNEL);
	u8 *p = (u8 *)page;

	assert_true(page && PAGE_ALIGNED(page));
	assert_int_equal(p[0], 0);
	assert_int_equal(p[PAGE_SIZE - 1], 0);
	free_page(page);
	/* The memory is gone; poisoning is checked through kmalloc's header path. */
}

static void test_fail_nth(void **state)
{
	void *a, *b, *c;

	env_fail_nth(2);
	a = kmalloc(8, GFP_KERNEL);
	b = kmalloc(8, GFP_KERNEL);
	c = kmalloc(8, GFP_KERNEL);
	assert_non_null(a);
	assert_null(b);
	assert_non_null(c);
	assert_int_equal(env_fail_injected(), 1);
	assert_int_equal(env_alloc_attempts(), 3);
	kfree(a);
	kfree(c);
}

/* The dry run of a fail-nth sweep: every attempt counted, none failed. */
static void test_fail_count_then_nth(void **state)
{
	void *p[4];
	unsigned long i, total;

	env_fail_count();
	for (i = 0; i < 4; i++)
		p[i] = kmalloc(8, GFP_KERNEL);
	assert_false(env_should_fail_alloc(GFP_KERNEL | __GFP_NOFAIL)); /* not counted */
	total = env_alloc_attempts();
	assert_int_equal(total, 4);
	assert_int_equal(env_fail_injected(), 0);
	for (i = 0; i < 4; i++) {
		assert_non_null(p[i]);
		kfree(p[i]);
	}
	/* Each N in 1..total fails exactly the Nth allocation of the same sequence. */
	env_fail_nth(total);
	for (i = 0; i < 4; i++)
		p[i] = kmalloc(8, GFP_KERNEL);
	assert_null(p[3]);
	assert_int_equal(env_fail_injected(), 1);
	for (i = 0; i < 3; i++)
		kfree(p[i]);
	/* After env_fail_clear() nothing is counted. */
	env_fail_clear();
	kfree(kmalloc(8, GFP_KERNEL));
	assert_int_equal(env_alloc_attempts(), 0);
}

static void test_fail_every_reaches_every_allocator(void **state)
{
	struct kmem_cache *cache;

	env_fail_every(1);
	assert_null(kmalloc(8, GFP_KERNEL));
	assert_null(kzalloc(8, GFP_KERNEL));
	assert_int_equal(__get_free_page(GFP_KERNEL), 0);
	assert_null(kmem_cache_create("x", 8, 0, 0, NULL));
	assert_null(bitmap_zalloc(100, GFP_KERNEL));
	assert_null(env_thread_start(NULL, NULL, "never"));
	assert_false(env_should_fail_alloc(GFP_KERNEL | __GFP_NOFAIL));
	env_fail_clear();
	cache = kmem_cache_create("x", 8, 0, 0, NULL);
	env_fail_every(1);
	assert_null(kmem_cache_alloc(cache, GFP_KERNEL));
	env_fail_clear();
	kmem_cache_destroy(cache);
}

static void test_fail_random_is_reproducible(void **state)
{
	unsigned long first[64], i, fails = 0;

	env_fail_random(42, 300);
	for (i = 0; i < 64; i++)
		first[i] = env_should_fail_alloc(GFP_KERNEL);
	env_fail_random(42, 300);
	for (i = 0; i < 64; i++) {
		assert_int_equal(first[i], env_should_fail_alloc(GFP_KERNEL));
		fails += first[i];
	}
	assert_true(fails > 5 && fails < 40);
}

static void test_vreserve_is_lazy(void **state)
{
	/* 1 TiB of address space costs nothing until touched. */
	size_t sz = 1ULL << 40;
	u8 *p = env_vreserve(sz);

	assert_non_null(p);
	p[sz - 1] = 7;
	assert_int_equal(p[sz - 1], 7);
	env_vdiscard(p + sz - PAGE_SIZE, PAGE_SIZE);
	assert_int_equal(p[sz - 1], 0);
	env_vunreserve(p, sz);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_kmalloc_counts_and_zeroes),
		MMUSIM_TEST(test_kmalloc_array_overflow),
		MMUSIM_TEST(test_kmem_cache),
		MMUSIM_TEST(test_kmem_cache_destroy_with_live_objects_warns),
		MMUSIM_TEST(test_free_poisons),
		MMUSIM_TEST(test_fail_nth),
		MMUSIM_TEST(test_fail_count_then_nth),
		MMUSIM_TEST(test_fail_every_reaches_every_allocator),
		MMUSIM_TEST(test_fail_random_is_reproducible),
		MMUSIM_TEST(test_vreserve_is_lazy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("env_slab", tests);
}
