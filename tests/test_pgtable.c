// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/pgtable.c: levels reported by sim_mm_lookup(), entry
 * encodings, table accounting and freeing (with the RCU batch and its
 * synchronous fallback), the leaf iterator, lockless lookups racing
 * with table freeing, and concurrent first touches of a fresh huge region.
 *
 *   4K anon     PGD -> PUD -> PMD -> PTE -> 4K frame
 *   THP         PGD -> PUD -> PMD(PS)    -> 2M frame
 *   hugetlb 1G  PGD -> PUD(PS)           -> 1G frame
 */
#include "mm_test_util.h"

static void test_pgtable_levels(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	hva_t a, thp, h2, h1;
	kvm_pfn_t base;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	thp = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV | SIM_MAP_THP);
	h2 = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	h1 = mmt_mmap(&t, SZ_1G, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_1G);

	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, true), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE + 123, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_4K);
	assert_true(info.writable && info.young && info.dirty && !info.special);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), -EFAULT);

	assert_int_equal(sim_mm_touch(t.mm, thp + SZ_2M + 5 * PAGE_SIZE, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, thp + SZ_2M, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_2M);
	base = info.pfn;
	assert_true(IS_ALIGNED(base, 512));
	assert_int_equal(mmt_pfn(&t, thp + SZ_2M + 7 * PAGE_SIZE + 9), base + 7);
	assert_int_equal(mmt_level(&t, thp), 0);

	assert_int_equal(sim_mm_touch(t.mm, h2 + 3 * PAGE_SIZE, true), 0);
	assert_int_equal(mmt_level(&t, h2), PG_LEVEL_2M);
	assert_int_equal(mmt_pfn(&t, h2 + 3 * PAGE_SIZE), mmt_pfn(&t, h2) + 3);

	assert_int_equal(sim_mm_touch(t.mm, h1 + SZ_2M * 300, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, h1 + SZ_1G - 1, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_1G);
	assert_true(IS_ALIGNED(info.pfn + 1, 1ULL << 18));
	assert_true(info.writable); /* shared */

	assert_int_equal(sim_mm_lookup(t.mm, SIM_TASK_SIZE, &info), -EFAULT);
	assert_int_equal(sim_mm_lookup(t.mm, ~0UL, &info), -EFAULT);
	assert_int_equal(sim_mm_lookup(NULL, a, &info), -EINVAL);
	assert_int_equal(sim_mm_lookup(t.mm, a, NULL), -EINVAL);
	mmt_fini(&t);
}

/*
 * Table accounting: one PGD, then a PUD/PMD/PTE chain per touched region,
 * all freed by munmap (the PGD stays until the mm goes).
 */
static void test_pgtable_tables_freed(void **state)
{
	struct mmt t;
	hva_t a;
	u64 base;

	mmt_init(&t, 0);
	base = mmt_stats(&t).pgtable_pages;
	assert_int_equal(base, 1);
	a = mmt_mmap(&t, 4 * SZ_1G, RW, PRIV);
	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base + 3);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, true), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base + 3);
	/* Another 2M: a PTE table; another 1G: a PMD and a PTE table. */
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M, true), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base + 4);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_1G, true), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base + 6);
	/* Unmapping part of a table's span keeps it; unmapping all frees it. */
	assert_int_equal(sim_munmap(t.mm, a, PAGE_SIZE), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base + 6);
	assert_int_equal(sim_munmap(t.mm, a + SZ_1G, SZ_1G), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base + 4);
	assert_int_equal(sim_munmap(t.mm, a, 4 * SZ_1G), 0);
	assert_int_equal(mmt_stats(&t).pgtable_pages, base);
	rcu_barrier();
	mmt_fini(&t);
}

/*
 * The RCU batch for unlinked tables cannot be allocated: munmap still
 * succeeds, freeing after synchronize_rcu().
 */
static void test_pgtable_batch_alloc_fails(void **state)
{
	struct mmt t;
	unsigned long n;
	hva_t a;

	mmt_init(&t, 0);
	for (n = 1; n < 8; n++) {
		a = mmt_mmap(&t, SZ_2M, RW, PRIV);
		assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
		env_fail_nth(n);
		assert_int_equal(sim_munmap(t.mm, a, SZ_2M), n <= 2 ? -ENOMEM : 0);
		env_fail_clear();
		if (n <= 2)
			assert_int_equal(sim_munmap(t.mm, a, SZ_2M), 0);
		assert_int_equal(mmt_stats(&t).pgtable_pages, 1);
	}
	mmt_fini(&t);
}

static void test_pgtable_iter(void **state)
{
	struct sim_pt_iter it;
	struct mmt t;
	hva_t a;
	int n4k = 0, n2m = 0;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 3 * SZ_2M, RW, PRIV | SIM_MAP_THP);
	assert_int_equal(sim_madvise(t.mm, a + 2 * SZ_2M, SZ_2M, SIM_MADV_NOHUGEPAGE), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * SZ_2M, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * SZ_2M + 7 * PAGE_SIZE, true), 0);
	down_read(&t.mm->mmap_lock);
	sim_pt_iter_init(&it, a, a + 3 * SZ_2M);
	while (sim_pt_next_leaf(t.mm, &it)) {
		/* Each leaf comes with its table's lock: the PMD table's, or the PTE table's. */
		assert_ptr_equal(it.ptl, sim_pte_lockptr(t.mm, it.ptep, it.level));
		assert_true(lockdep_is_held(it.ptl));
		if (it.level == PG_LEVEL_2M) {
			n2m++;
			assert_int_equal(it.leaf_start, a + SZ_2M);
		} else {
			n4k++;
			assert_int_equal(it.level, PG_LEVEL_4K);
		}
	}
	assert_null(it.ptl);
	up_read(&t.mm->mmap_lock);
	assert_int_equal(n2m, 1);
	assert_int_equal(n4k, 2);
	mmt_fini(&t);
}

/* Swap and PROT_NONE entries are not present to a lookup. */
static void test_pgtable_nonpresent_entries(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	hva_t a;
	int level;
	u64 e;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), -EFAULT);
	e = READ_ONCE(*sim_pt_walk(t.mm, a, PG_LEVEL_4K, &level));
	assert_true(sim_pte_swap(e) && !sim_pte_protnone(e) && !sim_pte_present(e));
	assert_int_equal(sim_mprotect(t.mm, a, 2 * PAGE_SIZE, SIM_PROT_NONE), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE, &info), -EFAULT);
	e = READ_ONCE(*sim_pt_walk(t.mm, a + PAGE_SIZE, PG_LEVEL_4K, &level));
	assert_true(sim_pte_protnone(e) && !sim_pte_swap(e) && !(e & SIM_PTE_WRITE));
	/* The swap entry is untouched by mprotect. */
	e = READ_ONCE(*sim_pt_walk(t.mm, a, PG_LEVEL_4K, &level));
	assert_true(sim_pte_swap(e));
	assert_int_equal(sim_mprotect(t.mm, a, 2 * PAGE_SIZE, SIM_PROT_READ), 0);
	assert_true(mmt_check(&t, a, 1));
	assert_true(mmt_check(&t, a + PAGE_SIZE, 2));
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE, &info), 0);
	assert_false(info.writable);
	mmt_fini(&t);
}

/*
 * Lockless lookups under RCU while another thread maps, touches and unmaps
 * (freeing tables): ASan would catch a walk into a freed table.
 */
struct lookup_race {
	struct sim_mm *mm;
	hva_t base;
	bool stop;
	unsigned long lookups, hits;
};

static int lookup_thread(void *arg)
{
	struct lookup_race *lr = arg;
	struct sim_host_pte_info info;
	u64 rnd = 12345;

	while (!READ_ONCE(lr->stop)) {
		hva_t addr = lr->base + (test_rand(&rnd) % 1024) * PAGE_SIZE * 512;

		if (!sim_mm_lookup(lr->mm, addr, &info))
			lr->hits++;
		lr->lookups++;
	}
	return 0;
}

static void test_pgtable_lockless_lookup_race(void **state)
{
	struct lookup_race lr = { 0 };
	struct env_thread *th;
	struct mmt t;
	u64 deadline;
	hva_t base = 0x10000000000UL;
	unsigned int i = 0;

	mmt_init(&t, 0);
	lr.mm = t.mm;
	lr.base = base;
	th = env_thread_start(lookup_thread, &lr, "lookup");
	assert_non_null(th);
	deadline = ktime_get_ns() + 300000000ULL * mmusim_test_stress_seconds() / 2;
	while (ktime_get_ns() < deadline) {
		hva_t a;
		unsigned int j;

		assert_int_equal(sim_mmap(t.mm, base, 1024 * SZ_2M, RW, PRIV | SIM_MAP_FIXED, &a),
				 0);
		for (j = 0; j < 1024; j += 37)
			assert_int_equal(sim_mm_touch(t.mm, a + (u64)j * SZ_2M, true), 0);
		assert_int_equal(sim_munmap(t.mm, a, 1024 * SZ_2M), 0);
		i++;
	}
	WRITE_ONCE(lr.stop, true);
	assert_int_equal(env_thread_join(th), 0);
	assert_true(i > 0 && lr.lookups > 0);
	mmt_fini(&t);
}

/*
 * Two faults first-touching the same fresh huge region.  Both walks stop at
 * the same none entry above the level they want (the region's tables were
 * freed by the last munmap); whichever links a table there first makes the
 * other's re-read of that entry find a link, which sim_pt_alloc() must walk
 * through rather than report as a huge leaf (the fault would then WARN and
 * fail with -EFAULT).  Each round maps a THP or hugetlb-2M region at the
 * same 512G-aligned address, releases both touchers at once with a seeded
 * jitter, and unmaps it again.
 */
struct first_touch {
	struct sim_mm *mm;
	hva_t addr;
	u64 seed;
	unsigned int round; /* touchers start round n when it becomes n */
	unsigned int done; /* rounds the helper finished */
	int r;
	bool stop;
};

static void first_touch_jitter(u64 *rng)
{
	unsigned int n = test_rand(rng) % 256;

	while (n--)
		cpu_relax();
}

static int first_touch_helper(void *arg)
{
	struct first_touch *ft = arg;
	u64 rng = ft->seed ^ 0xf1;
	unsigned int n;

	for (n = 1;; n++) {
		while (smp_load_acquire(&ft->round) != n)
			if (READ_ONCE(ft->stop))
				return 0;
		first_touch_jitter(&rng);
		if (!ft->r)
			ft->r = sim_mm_touch(ft->mm, ft->addr + PAGE_SIZE, true);
		smp_store_release(&ft->done, n);
	}
}

static void test_pgtable_concurrent_first_touch(void **state)
{
	static const int kinds[] = { SIM_MAP_THP, SIM_MAP_HUGETLB_2M };
	struct first_touch ft = { 0 };
	struct env_thread *th;
	struct mmt t;
	unsigned int n;
	u64 deadline, rng;
	int r = 0;

	mmt_init(&t, 0);
	ft.mm = t.mm;
	ft.addr = 0x200000000000UL; /* 512G-aligned: every level below the PGD is fresh */
	ft.seed = mmusim_test_seed();
	rng = ft.seed;
	th = env_thread_start(first_touch_helper, &ft, "toucher");
	assert_non_null(th);
	deadline = ktime_get_ns() + 500000000ULL * mmusim_test_stress_seconds();
	for (n = 1; !r && !ft.r && ktime_get_ns() < deadline; n++) {
		hva_t a;

		assert_int_equal(
			sim_mmap(t.mm, ft.addr, SZ_2M, RW, PRIV | SIM_MAP_FIXED | kinds[n % 2], &a),
			0);
		smp_store_release(&ft.round, n);
		first_touch_jitter(&rng);
		r = sim_mm_touch(t.mm, ft.addr, true);
		while (smp_load_acquire(&ft.done) != n)
			cpu_relax();
		assert_int_equal(sim_munmap(t.mm, ft.addr, SZ_2M), 0);
	}
	WRITE_ONCE(ft.stop, true);
	assert_int_equal(env_thread_join(th), 0);
	print_message("concurrent first touch: %u rounds\n", n - 1);
	mmt_fini(&t);
	if (r || ft.r)
		fail_msg("round %u (%s): touch %d, racing touch %d", n - 1,
			 (n - 1) % 2 ? "hugetlb" : "THP", r, ft.r);
}

/*
 * Split page-table locks.  Layout (RW private anonymous, 4K pages):
 *
 *   a            a + 2M         a + 4M
 *   | PTE table A | PTE table B |      one PMD table links both
 *
 * Each PTE table has its own lock, the PMD table another, and a 1G hugetlb
 * leaf (a PUD entry) takes mm->page_table_lock.  While this thread holds A's
 * lock, a fault in B on another thread must complete: with one lock per mm
 * it would wait for A's to be dropped.
 */
struct split_toucher {
	struct sim_mm *mm;
	hva_t addr;
	int r;
	int go, done;
};

static int split_toucher_fn(void *arg)
{
	struct split_toucher *st = arg;

	while (!smp_load_acquire(&st->go))
		cpu_relax();
	st->r = sim_mm_touch(st->mm, st->addr, true);
	smp_store_release(&st->done, 1);
	return 0;
}

static void test_pgtable_split_locks(void **state)
{
	struct split_toucher st = { 0 };
	spinlock_t *ptl_a, *ptl_b, *ptl_thp, *ptl_1g;
	struct env_thread *th;
	int level, level_pmd;
	u64 *ptep_a, *ptep_b, *pmdp, deadline;
	hva_t a, thp, h1;
	struct mmt t;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV);
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	h1 = mmt_mmap(&t, SZ_1G, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_1G);
	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, thp, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, h1, true), 0);

	st.mm = t.mm;
	st.addr = a + SZ_2M + PAGE_SIZE;
	th = env_thread_start(split_toucher_fn, &st, "split-toucher");
	assert_non_null(th);
	down_read(&t.mm->mmap_lock);
	ptep_b = sim_pt_walk_lock(t.mm, a + SZ_2M, &level, &ptl_b);
	assert_int_equal(level, PG_LEVEL_4K);
	spin_unlock(ptl_b);
	ptep_a = sim_pt_walk_lock(t.mm, a, &level, &ptl_a);
	assert_int_equal(level, PG_LEVEL_4K);
	assert_ptr_equal(ptl_a, sim_ptlock_ptr((u64 *)((unsigned long)ptep_a & PAGE_MASK)));
	assert_ptr_not_equal(ptl_a, ptl_b);
	assert_ptr_not_equal(ptl_a, &t.mm->page_table_lock);
	assert_ptr_not_equal(ptep_a, ptep_b);

	/* A fault in table B while A's lock is held here. */
	smp_store_release(&st.go, 1);
	deadline = ktime_get_ns() + 5000000000ULL;
	while (!smp_load_acquire(&st.done) && ktime_get_ns() < deadline)
		cpu_relax();
	assert_true(smp_load_acquire(&st.done));
	spin_unlock(ptl_a);
	up_read(&t.mm->mmap_lock);
	assert_int_equal(env_thread_join(th), 0);
	assert_int_equal(st.r, 0);

	/* A THP leaf: the PMD table's lock, which also linked tables A and B. */
	down_read(&t.mm->mmap_lock);
	sim_pt_walk_lock(t.mm, thp, &level, &ptl_thp);
	assert_int_equal(level, PG_LEVEL_2M);
	spin_unlock(ptl_thp);
	pmdp = sim_pt_walk(t.mm, thp, PG_LEVEL_2M, &level_pmd);
	assert_ptr_equal(ptl_thp, sim_pte_lockptr(t.mm, pmdp, PG_LEVEL_2M));
	assert_ptr_not_equal(ptl_thp, &t.mm->page_table_lock);
	assert_ptr_not_equal(ptl_thp, ptl_a);
	/* A 1G leaf is a PUD entry: mm->page_table_lock (no split PUD lock). */
	sim_pt_walk_lock(t.mm, h1, &level, &ptl_1g);
	assert_int_equal(level, PG_LEVEL_1G);
	assert_ptr_equal(ptl_1g, &t.mm->page_table_lock);
	spin_unlock(ptl_1g);
	up_read(&t.mm->mmap_lock);

	/* The tables and their locks go with munmap (the live counts are checked at the end). */
	assert_int_equal(sim_munmap(t.mm, a, 2 * SZ_2M), 0);
	mmt_fini(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_pgtable_levels),
		MMUSIM_TEST(test_pgtable_tables_freed),
		MMUSIM_TEST(test_pgtable_batch_alloc_fails),
		MMUSIM_TEST(test_pgtable_iter),
		MMUSIM_TEST(test_pgtable_nonpresent_entries),
		MMUSIM_TEST(test_pgtable_lockless_lookup_race),
		MMUSIM_TEST(test_pgtable_concurrent_first_touch),
		MMUSIM_TEST(test_pgtable_split_locks),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("pgtable", tests);
}
