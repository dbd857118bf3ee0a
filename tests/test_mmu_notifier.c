// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/mmu_notifier.c: registration and release, delivery
 * order, the mm's invalidation sequence (read_begin/read_retry/in_progress),
 * nesting, and the sequence protocol under concurrency: mutator threads
 * migrate, swap, split/collapse and munmap/re-mmap pages while reader
 * threads install PFNs into a shadow table the way a secondary MMU does:
 *
 *	seq = sim_mm_invalidate_read_begin(mm);
 *	gen = page's generation (bumped by the listener's invalidate_range_start)
 *	sim_mm_lookup(mm, addr) -> pfn
 *	lock(shadow);
 *	if (!sim_mm_invalidate_read_retry(mm, seq)) {
 *		assert(gen unchanged);  shadow[page] = pfn;
 *	}
 *	unlock(shadow);
 *
 * The listener's invalidate_range_start checks, under the shadow lock and
 * before the host changes anything, that every shadow entry of the range is
 * the PFN the host maps right now, then drops it (as KVM zaps SPTEs).  A
 * stale PFN that got past the protocol shows up there, or at the end.
 */
#include <unistd.h>

#include "mm_test_util.h"

static void test_mn_register_unregister(void **state)
{
	struct sim_mmu_notifier bad = { 0 };
	struct recorder *r;
	struct mmt t;
	hva_t a;

	mmt_init(&t, 0);
	assert_int_equal(sim_mmu_notifier_register(NULL, t.mm), -EINVAL);
	assert_int_equal(sim_mmu_notifier_register(&bad, t.mm), -EINVAL);
	bad.ops = &rec_ops;
	assert_int_equal(sim_mmu_notifier_register(&bad, NULL), -EINVAL);
	sim_mmu_notifier_unregister(NULL);

	r = rec_register(t.mm);
	assert_ptr_equal(r->mn.mm, t.mm);
	assert_int_equal(atomic_read(&t.mm->mm_count), 2);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	assert_int_equal(sim_munmap(t.mm, a, PAGE_SIZE), 0);
	assert_int_equal(r->nr, 2);
	/* Unregister on a live mm: ->release is called, then nothing more. */
	sim_mmu_notifier_unregister(&r->mn);
	assert_int_equal(r->releases, 1);
	assert_null(r->mn.mm);
	assert_int_equal(atomic_read(&t.mm->mm_count), 1);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	assert_int_equal(sim_munmap(t.mm, a, PAGE_SIZE), 0);
	assert_int_equal(r->nr, 3);
	free(r);
	mmt_fini(&t);
}

/* Several listeners all see every event, in registration order. */
static void test_mn_two_listeners(void **state)
{
	struct recorder *r1, *r2;
	struct mmt t;
	hva_t a;

	mmt_init(&t, 0);
	r1 = rec_register(t.mm);
	r2 = rec_register(t.mm);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	assert_int_equal(sim_migrate_page(t.mm, a), 0);
	assert_int_equal(r1->nr, 2);
	assert_int_equal(r2->nr, 2);
	assert_int_equal(mmt_stats(&t).notifier_invalidates, 2);
	rec_unregister(r1);
	assert_int_equal(sim_migrate_page(t.mm, a), 0);
	assert_int_equal(r2->nr, 4);
	rec_unregister(r2);
	mmt_fini(&t);
}

/*
 * The sequence: even when idle, odd from before the first start callback
 * to after the last end callback; retry true once an invalidation started.
 */
static void test_mn_sequence(void **state)
{
	struct sim_mmu_notifier_range r1, r2;
	struct recorder *r;
	unsigned long seq, seq2;
	struct mmt t;
	hva_t a;
	int s, e;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	r = rec_register(t.mm);
	seq = sim_mm_invalidate_read_begin(t.mm);
	assert_false(seq & 1);
	assert_false(sim_mm_invalidate_read_retry(t.mm, seq));
	assert_int_equal(sim_mm_invalidate_in_progress(t.mm), 0);
	/* Faults and lookups do not move it. */
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, true), 0);
	assert_false(sim_mm_invalidate_read_retry(t.mm, seq));

	assert_int_equal(sim_migrate_page(t.mm, a), 0);
	assert_true(sim_mm_invalidate_read_retry(t.mm, seq));
	s = rec_find(r, REC_START, 0);
	e = rec_find(r, REC_END, 0);
	assert_true(r->ev[s].seq & 1);
	assert_int_equal(r->ev[s].seq, seq + 1);
	assert_int_equal(r->ev[s].in_progress, 1);
	assert_int_equal(r->ev[e].in_progress, 1); /* end callbacks run before it drops */
	seq2 = sim_mm_invalidate_read_begin(t.mm);
	assert_int_equal(seq2, seq + 2);

	/* Nested or overlapping invalidations keep it odd until the last end. */
	down_read(&t.mm->mmap_lock);
	sim_mn_range_init(&r1, t.mm, a, a + PAGE_SIZE, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_range_init(&r2, t.mm, a, a + 2 * PAGE_SIZE, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&r1);
	sim_mn_invalidate_range_start(&r2);
	assert_int_equal(sim_mm_invalidate_in_progress(t.mm), 2);
	assert_int_equal(READ_ONCE(t.mm->inv_seq), seq2 + 1);
	sim_mn_invalidate_range_end(&r1);
	assert_int_equal(READ_ONCE(t.mm->inv_seq), seq2 + 1);
	assert_int_equal(sim_mm_invalidate_in_progress(t.mm), 1);
	sim_mn_invalidate_range_end(&r2);
	up_read(&t.mm->mmap_lock);
	assert_int_equal(sim_mm_invalidate_read_begin(t.mm), seq2 + 2);
	assert_int_equal(r->max_active, 2);
	rec_assert_balanced(r);
	rec_unregister(r);
	mmt_fini(&t);
}

/* read_begin() waits while an invalidation is in progress. */
struct waiter {
	struct sim_mm *mm;
	bool started, done;
	unsigned long seq;
};

static int read_begin_thread(void *arg)
{
	struct waiter *w = arg;

	smp_store_release(&w->started, true);
	w->seq = sim_mm_invalidate_read_begin(w->mm);
	smp_store_release(&w->done, true);
	return 0;
}

static void test_mn_read_begin_waits(void **state)
{
	struct sim_mmu_notifier_range range;
	struct waiter w = { 0 };
	struct env_thread *th;
	struct mmt t;

	mmt_init(&t, 0);
	w.mm = t.mm;
	down_read(&t.mm->mmap_lock);
	sim_mn_range_init(&range, t.mm, 0x100000, 0x200000, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&range);
	th = env_thread_start(read_begin_thread, &w, "read_begin");
	assert_non_null(th);
	while (!smp_load_acquire(&w.started))
		schedule();
	usleep(20000);
	assert_false(smp_load_acquire(&w.done));
	sim_mn_invalidate_range_end(&range);
	up_read(&t.mm->mmap_lock);
	assert_int_equal(env_thread_join(th), 0);
	assert_true(w.done);
	assert_int_equal(w.seq, 2);
	mmt_fini(&t);
}

/* ======================== the protocol under concurrency ======================== */

#define NR_SMALL 64		/* 4K pages at small_base */
#define NR_THP 4		/* 2M THPs at thp_base */
#define NR_TRACKED (NR_SMALL + NR_THP * 512)

struct stress {
	struct sim_mmu_notifier mn;
	struct sim_mm *mm;
	hva_t small_base, thp_base;
	spinlock_t shadow_lock;
	kvm_pfn_t shadow[NR_TRACKED];	/* 0: nothing installed */
	unsigned long gen[NR_TRACKED];	/* bumped at every start covering the page */
	bool stop;
	atomic_long_t installs, retries, stale, gen_errors, starts, op_errors, ops, ops_done;
	u64 seed;
};

static long tracked_index(struct stress *s, hva_t addr)
{
	if (addr >= s->small_base && addr < s->small_base + NR_SMALL * PAGE_SIZE)
		return (addr - s->small_base) >> PAGE_SHIFT;
	if (addr >= s->thp_base && addr < s->thp_base + NR_THP * SZ_2M)
		return NR_SMALL + ((addr - s->thp_base) >> PAGE_SHIFT);
	return -1;
}

static hva_t tracked_addr(struct stress *s, long i)
{
	return i < NR_SMALL ? s->small_base + i * PAGE_SIZE :
			      s->thp_base + (i - NR_SMALL) * PAGE_SIZE;
}

/* The secondary MMU's zap: the host has not changed the range yet. */
static int stress_start(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct stress *s = container_of(mn, struct stress, mn);
	hva_t addr;

	atomic_long_inc(&s->starts);
	spin_lock(&s->shadow_lock);
	for (addr = range->start; addr < range->end; addr += PAGE_SIZE) {
		struct sim_host_pte_info info;
		long i = tracked_index(s, addr);

		if (i < 0)
			continue;
		s->gen[i]++;
		if (!s->shadow[i])
			continue;
		if (sim_mm_lookup(range->mm, addr, &info) || info.pfn != s->shadow[i])
			atomic_long_inc(&s->stale);
		s->shadow[i] = 0;
	}
	spin_unlock(&s->shadow_lock);
	return 0;
}

static void stress_end(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
}

static const struct sim_mmu_notifier_ops stress_ops = {
	.invalidate_range_start = stress_start,
	.invalidate_range_end = stress_end,
};

static int stress_reader(void *arg)
{
	struct stress *s = arg;
	u64 rnd = s->seed ^ (u64)(unsigned long)&rnd;

	while (!READ_ONCE(s->stop)) {
		long i = test_rand(&rnd) % NR_TRACKED;
		struct sim_host_pte_info info;
		unsigned long seq, gen;
		int r;

		seq = sim_mm_invalidate_read_begin(s->mm);
		spin_lock(&s->shadow_lock);
		gen = s->gen[i];
		spin_unlock(&s->shadow_lock);
		r = sim_mm_lookup(s->mm, tracked_addr(s, i), &info);
		spin_lock(&s->shadow_lock);
		if (sim_mm_invalidate_read_retry(s->mm, seq)) {
			atomic_long_inc(&s->retries);
		} else {
			if (s->gen[i] != gen)
				atomic_long_inc(&s->gen_errors);
			if (!r) {
				s->shadow[i] = info.pfn;
				atomic_long_inc(&s->installs);
			}
		}
		spin_unlock(&s->shadow_lock);
	}
	return 0;
}

static bool op_ok(int r)
{
	return r == 0 || r == -EBUSY || r == -ENOENT || r == -EFAULT || r == -EINVAL ||
	       r == -EAGAIN;
}

/* 4K pages: migrate, swap out/in, munmap and re-mmap one page. */
static int stress_small_mutator(void *arg)
{
	struct stress *s = arg;
	u64 rnd = s->seed * 3 + 1;

	while (!READ_ONCE(s->stop)) {
		hva_t addr = s->small_base + (test_rand(&rnd) % NR_SMALL) * PAGE_SIZE, got;
		u64 v = test_rand(&rnd);
		int r;

		switch (v % 4) {
		case 0:
			r = sim_migrate_page(s->mm, addr);
			break;
		case 1:
			r = sim_swap_out(s->mm, addr);
			if (!r)
				r = sim_mm_touch(s->mm, addr, false);
			break;
		case 2:
			r = sim_munmap(s->mm, addr, PAGE_SIZE);
			if (!r)
				r = sim_mmap(s->mm, addr, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED,
					     &got);
			if (!r)
				r = sim_mm_write(s->mm, addr, &v, sizeof(v));
			break;
		default:
			r = sim_mm_write(s->mm, addr + 8, &v, sizeof(v));
			break;
		}
		if (!op_ok(r))
			atomic_long_inc(&s->op_errors);
		if (!r)
			atomic_long_inc(&s->ops_done);
		atomic_long_inc(&s->ops);
	}
	return 0;
}

/* THPs: split, collapse, migrate, MADV_DONTNEED a page and refault. */
static int stress_thp_mutator(void *arg)
{
	struct stress *s = arg;
	u64 rnd = s->seed * 7 + 5;

	while (!READ_ONCE(s->stop)) {
		hva_t thp = s->thp_base + (test_rand(&rnd) % NR_THP) * SZ_2M;
		hva_t addr = thp + (test_rand(&rnd) % 512) * PAGE_SIZE;
		u64 v = test_rand(&rnd);
		int r;

		switch (v % 5) {
		case 0:
			r = sim_split_thp(s->mm, addr);
			break;
		case 1:
			r = sim_collapse_thp(s->mm, addr);
			break;
		case 2:
			r = sim_migrate_page(s->mm, addr);
			break;
		case 3:
			r = sim_madvise(s->mm, addr, PAGE_SIZE, SIM_MADV_DONTNEED);
			if (!r)
				r = sim_mm_touch(s->mm, addr, true);
			break;
		default:
			r = sim_mm_write(s->mm, addr, &v, sizeof(v));
			break;
		}
		if (!op_ok(r))
			atomic_long_inc(&s->op_errors);
		if (!r)
			atomic_long_inc(&s->ops_done);
		atomic_long_inc(&s->ops);
	}
	return 0;
}

static void test_mn_concurrent_seq_protocol(void **state)
{
	struct env_thread *th[4];
	struct stress *s = calloc(1, sizeof(*s));
	struct mmt t;
	u64 deadline;
	long i;

	assert_non_null(s);
	mmt_init(&t, 0);
	s->mm = t.mm;
	s->seed = mmusim_test_seed();
	spin_lock_init(&s->shadow_lock);
	s->small_base = mmt_mmap(&t, NR_SMALL * PAGE_SIZE, RW, PRIV | SIM_MAP_POPULATE);
	s->thp_base = mmt_mmap(&t, NR_THP * SZ_2M, RW, PRIV | SIM_MAP_THP | SIM_MAP_POPULATE);
	s->mn.ops = &stress_ops;
	assert_int_equal(sim_mmu_notifier_register(&s->mn, t.mm), 0);

	th[0] = env_thread_start(stress_reader, s, "reader0");
	th[1] = env_thread_start(stress_reader, s, "reader1");
	th[2] = env_thread_start(stress_small_mutator, s, "small");
	th[3] = env_thread_start(stress_thp_mutator, s, "thp");
	for (i = 0; i < 4; i++)
		assert_non_null(th[i]);
	deadline = ktime_get_ns() + 1000000000ULL * mmusim_test_stress_seconds();
	while (ktime_get_ns() < deadline)
		usleep(10000);
	WRITE_ONCE(s->stop, true);
	for (i = 0; i < 4; i++)
		assert_int_equal(env_thread_join(th[i]), 0);

	/* Quiescent: every installed PFN is what the host maps. */
	for (i = 0; i < NR_TRACKED; i++) {
		struct sim_host_pte_info info;

		if (!s->shadow[i])
			continue;
		assert_int_equal(sim_mm_lookup(t.mm, tracked_addr(s, i), &info), 0);
		assert_int_equal(info.pfn, s->shadow[i]);
	}
	fprintf(stderr, "seq protocol: %ld ops (%ld succeeded), %ld starts, %ld installs, "
		"%ld retries\n", atomic_long_read(&s->ops), atomic_long_read(&s->ops_done),
		atomic_long_read(&s->starts),
		atomic_long_read(&s->installs), atomic_long_read(&s->retries));
	assert_int_equal(atomic_long_read(&s->stale), 0);
	assert_int_equal(atomic_long_read(&s->gen_errors), 0);
	assert_int_equal(atomic_long_read(&s->op_errors), 0);
	assert_true(atomic_long_read(&s->installs) > 0);
	assert_true(atomic_long_read(&s->starts) > 0);
	assert_true(atomic_long_read(&s->ops_done) > atomic_long_read(&s->ops) / 4);
	sim_mmu_notifier_unregister(&s->mn);
	mmt_fini(&t);
	free(s);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_mn_register_unregister),
		MMUSIM_TEST(test_mn_two_listeners),
		MMUSIM_TEST(test_mn_sequence),
		MMUSIM_TEST(test_mn_read_begin_waits),
		MMUSIM_TEST(test_mn_concurrent_seq_protocol),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("mmu_notifier", tests);
}
