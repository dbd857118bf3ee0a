// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/fault.c: demand faults (zero page, COW with change_pte
 * inside an invalidation, shared anon, THP with fallback, hugetlb private
 * read-only then reuse), permission errors, swap-in on touch (and the swap
 * cache it leaves the page in), and the
 * sim_mm_touch/read/write entry points.
 */
#include "mm_test_util.h"

/*
 * Private anonymous memory: reads map the one zero page read-only; a write
 * breaks COW into a new page, with change_pte between a CLEAR start/end.
 *
 *   a       a+4K
 *   [zero]  [zero]   after two reads: same PFN
 *   [new ]  [zero]   after a write to a
 */
static void test_fault_zero_page_and_cow(void **state)
{
	struct sim_host_pte_info info;
	struct recorder *r;
	struct mmt t;
	kvm_pfn_t zero;
	hva_t a;
	int s, c, e;
	char byte = 0;

	mmt_init(&t, 0);
	r = rec_register(t.mm);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_mm_touch(t.mm, a, false), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	zero = info.pfn;
	assert_false(info.writable);
	assert_int_equal(mmt_pfn(&t, a + PAGE_SIZE), zero);
	assert_int_equal(sim_mm_read(t.mm, a + 10, &byte, 1), 0);
	assert_int_equal(byte, 0);
	assert_int_equal(r->nr, 0); /* new mappings need no invalidation */

	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	assert_int_not_equal(info.pfn, zero);
	assert_true(info.writable && info.dirty);
	assert_int_equal(mmt_pfn(&t, a + PAGE_SIZE), zero);
	assert_int_equal(mmt_stats(&t).cow_breaks, 1);
	assert_int_equal(mmt_stats(&t).notifier_change_pte, 1);

	s = rec_find(r, REC_START, 0);
	c = rec_find(r, REC_CHANGE_PTE, 0);
	e = rec_find(r, REC_END, 0);
	assert_true(s >= 0 && s < c && c < e);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, a);
	assert_int_equal(r->ev[s].end, a + PAGE_SIZE);
	assert_int_equal(r->ev[s].pfn, zero);	/* start: the old mapping still there */
	assert_int_equal(r->ev[c].pfn, info.pfn);
	assert_true(r->ev[c].writable);
	assert_int_equal(r->ev[c].in_progress, 1);
	assert_int_equal(r->ev[e].pfn, info.pfn); /* end: the new one */
	rec_assert_balanced(r);

	/* A write to an already writable page is not a COW. */
	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
	assert_int_equal(mmt_stats(&t).cow_breaks, 1);
	rec_unregister(r);
	mmt_fini(&t);
}

static void test_fault_shared_anon(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	hva_t a, ro;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, PAGE_SIZE, RW, SIM_MAP_SHARED);
	assert_int_equal(sim_mm_touch(t.mm, a, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	assert_int_not_equal(info.pfn, t.mm->zero_pfn);
	assert_true(info.writable && !info.dirty);
	ro = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_READ, SIM_MAP_SHARED);
	assert_int_equal(sim_mm_touch(t.mm, ro, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, ro, &info), 0);
	assert_false(info.writable);
	mmt_fini(&t);
}

static void test_fault_permissions(void **state)
{
	struct mmt t;
	hva_t ro, none, wo;

	mmt_init(&t, 0);
	ro = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_READ, PRIV);
	none = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_NONE, PRIV);
	wo = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_WRITE, PRIV);
	assert_int_equal(sim_mm_touch(t.mm, ro, true), -EFAULT);
	assert_int_equal(sim_mm_touch(t.mm, ro, false), 0);
	assert_int_equal(sim_mm_touch(t.mm, none, false), -EFAULT);
	assert_int_equal(sim_mm_touch(t.mm, none, true), -EFAULT);
	assert_int_equal(sim_mm_touch(t.mm, wo, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, 0x1000, false), -EFAULT);
	assert_int_equal(sim_mm_touch(t.mm, SIM_TASK_SIZE, false), -EFAULT);
	assert_int_equal(sim_mm_touch(NULL, ro, false), -EINVAL);
	mmt_fini(&t);
}

/* THP-eligible memory maps 2M pages; a failed order-9 allocation falls back. */
static void test_fault_thp_and_fallback(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	hva_t a, tail;

	mmt_init(&t, 0);
	/* 4M + 4K: the last page cannot be a THP (the 2M does not fit). */
	a = mmt_mmap(&t, 2 * SZ_2M + PAGE_SIZE, RW, PRIV | SIM_MAP_THP);
	assert_true(IS_ALIGNED(a, SZ_2M));
	assert_int_equal(sim_mm_touch(t.mm, a + 100, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_2M);
	assert_true(info.writable); /* a THP maps writable at once */
	/* The next THP allocation fails: 4K pages instead. */
	env_fail_nth(1);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M + PAGE_SIZE, true), 0);
	assert_int_equal(env_fail_injected(), 1);
	env_fail_clear();
	assert_int_equal(mmt_level(&t, a + SZ_2M + PAGE_SIZE), PG_LEVEL_4K);
	/* A PTE table is there now: later faults of that 2M stay 4K. */
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M, true), 0);
	assert_int_equal(mmt_level(&t, a + SZ_2M), PG_LEVEL_4K);
	tail = a + 2 * SZ_2M;
	assert_int_equal(sim_mm_touch(t.mm, tail, true), 0);
	assert_int_equal(mmt_level(&t, tail), PG_LEVEL_4K);
	/* MADV_HUGEPAGE makes plain memory eligible; NOHUGEPAGE stops it. */
	a = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV);
	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);
	assert_int_equal(sim_madvise(t.mm, a + SZ_2M, SZ_2M, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M, true), 0);
	assert_int_equal(mmt_level(&t, a + SZ_2M), PG_LEVEL_2M);
	mmt_fini(&t);
}

/* Private hugetlb: read fault maps read-only, a write reuses the same page. */
static void test_fault_hugetlb(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	kvm_pfn_t pfn;
	hva_t a, s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M + 5, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + SZ_2M, &info), 0);
	assert_int_equal(info.level, PG_LEVEL_2M);
	assert_false(info.writable);
	pfn = info.pfn;
	assert_true(sim_page_flags(t.host, sim_pfn_to_page(t.host, pfn)) & SIM_PG_HUGETLB);
	assert_false(sim_page_flags(t.host, sim_pfn_to_page(t.host, pfn)) & SIM_PG_MOVABLE);
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M + 5, true), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + SZ_2M, &info), 0);
	assert_true(info.writable && info.dirty);
	assert_int_equal(info.pfn, pfn);
	assert_int_equal(mmt_stats(&t).cow_breaks, 0);
	/* Shared hugetlb: writable on a read fault. */
	s = mmt_mmap(&t, SZ_2M, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_touch(t.mm, s, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, s, &info), 0);
	assert_true(info.writable);
	/* Out of huge pages: -ENOMEM. */
	env_fail_nth(1);
	assert_int_equal(sim_mm_touch(t.mm, a, true), -ENOMEM);
	env_fail_clear();
	mmt_fini(&t);
}

static void test_fault_read_write(void **state)
{
	struct mmt t;
	char *buf = malloc(3 * PAGE_SIZE), *out = malloc(3 * PAGE_SIZE);
	hva_t a, ro;
	unsigned int i;

	assert_non_null(buf);
	assert_non_null(out);
	for (i = 0; i < 3 * PAGE_SIZE; i++)
		buf[i] = (char)(i * 7 + 3);
	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	/* Across page boundaries, unaligned. */
	assert_int_equal(sim_mm_write(t.mm, a + 100, buf, 3 * PAGE_SIZE), 0);
	memset(out, 0, 3 * PAGE_SIZE);
	assert_int_equal(sim_mm_read(t.mm, a + 100, out, 3 * PAGE_SIZE), 0);
	assert_memory_equal(buf, out, 3 * PAGE_SIZE);
	/* The bytes are in the frames. */
	assert_int_equal(*(char *)sim_pfn_to_virt(t.host, mmt_pfn(&t, a + PAGE_SIZE)),
			 buf[PAGE_SIZE - 100]);
	/* Running off the end: -EFAULT after the mapped bytes were written. */
	assert_int_equal(sim_mm_write(t.mm, a + 3 * PAGE_SIZE, buf, 2 * PAGE_SIZE), -EFAULT);
	assert_int_equal(sim_mm_read(t.mm, a + 3 * PAGE_SIZE, out, PAGE_SIZE), 0);
	assert_memory_equal(buf, out, PAGE_SIZE);
	/* Read-only memory reads, does not write. */
	ro = mmt_mmap(&t, PAGE_SIZE, SIM_PROT_READ, PRIV);
	assert_int_equal(sim_mm_read(t.mm, ro, out, 16), 0);
	assert_int_equal(sim_mm_write(t.mm, ro, buf, 16), -EFAULT);
	assert_int_equal(sim_mm_write(t.mm, a, NULL, 16), -EINVAL);
	assert_int_equal(sim_mm_write(t.mm, a, NULL, 0), 0);
	assert_int_equal(sim_mm_read(NULL, a, out, 1), -EINVAL);
	assert_int_equal(sim_mm_read(t.mm, SIM_TASK_SIZE - 1, out, 2), -EFAULT);
	mmt_fini(&t);
	free(buf);
	free(out);
}

/* The swap-cache state of the page mapped at @addr. */
static bool page_in_swapcache(struct mmt *t, hva_t addr)
{
	struct sim_page *page = sim_pfn_to_page(t->host, mmt_pfn(t, addr));

	return sim_page_flags(t->host, page) & SIM_PG_SWAPCACHE;
}

/*
 * A touch of a swapped-out page swaps it in, contents intact.
 *
 *   a      read swap-in:  writable, clean, in the swap cache (copy kept)
 *          write:         same page, D set, still in the swap cache
 *   a+4K   write swap-in: writable, dirty, out of the swap cache
 *   a+8K   read swap-in, then mprotect(R), mprotect(RW): read-only until
 *          a write reuses it, which drops the swap copy
 */
static void test_fault_swap_in_on_touch(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 3 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 42);
	mmt_fill(&t, a + PAGE_SIZE, 43);
	mmt_fill(&t, a + 2 * PAGE_SIZE, 44);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), 0);
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_mm_touch(t.mm, a, false), 0);
	assert_int_equal(mmt_stats(&t).swap_ins, 1);
	/* An exclusive read swap-in maps writable but clean (do_swap_page()). */
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	assert_true(info.writable);
	assert_false(info.dirty);
	assert_true(page_in_swapcache(&t, a));
	assert_true(mmt_check(&t, a, 42));
	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);
	assert_int_equal(mmt_pfn(&t, a), info.pfn);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), 0);
	assert_true(info.dirty);
	assert_true(page_in_swapcache(&t, a));

	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, true), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE, &info), 0);
	assert_true(info.writable && info.dirty);
	assert_false(page_in_swapcache(&t, a + PAGE_SIZE));
	assert_true(mmt_check(&t, a + PAGE_SIZE, 43));

	assert_true(mmt_check(&t, a + 2 * PAGE_SIZE, 44));
	assert_true(page_in_swapcache(&t, a + 2 * PAGE_SIZE));
	assert_int_equal(sim_mprotect(t.mm, a + 2 * PAGE_SIZE, PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(sim_mprotect(t.mm, a + 2 * PAGE_SIZE, PAGE_SIZE, RW), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + 2 * PAGE_SIZE, &info), 0);
	assert_false(info.writable);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, true), 0);
	assert_int_equal(mmt_pfn(&t, a + 2 * PAGE_SIZE), info.pfn);
	assert_false(page_in_swapcache(&t, a + 2 * PAGE_SIZE));
	assert_true(mmt_check(&t, a + 2 * PAGE_SIZE, 44));

	/* Out of memory at swap-in: -ENOMEM, the entry stays. */
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	env_fail_nth(1);
	assert_int_equal(sim_mm_touch(t.mm, a, true), -ENOMEM);
	env_fail_clear();
	assert_true(mmt_check(&t, a, 42));
	mmt_fini(&t);
}

/*
 * CPU accesses of poisoned memory: -EHWPOISON (the machine check), also
 * for a write to a read-only entry and anywhere in a poisoned huge page;
 * bytes before the poisoned page are copied.
 *
 *   a: | p0 | p1 poisoned |      h: [ 2M hugetlb, poisoned ]
 */
static void test_fault_hwpoison(void **state)
{
	char buf[16] = { 0 };
	struct mmt t;
	hva_t a, h;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 0);
	mmt_fill(&t, a + PAGE_SIZE, 1);
	assert_int_equal(sim_mprotect(t.mm, a, 2 * PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(sim_mprotect(t.mm, a, 2 * PAGE_SIZE, RW), 0);
	assert_int_equal(sim_madvise(t.mm, a + PAGE_SIZE, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), -EHWPOISON);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE + 9, true), -EHWPOISON);
	assert_int_equal(sim_mm_write(t.mm, a + PAGE_SIZE, buf, 1), -EHWPOISON);
	assert_int_equal(sim_mm_read(t.mm, a + PAGE_SIZE - 8, buf, 16), -EHWPOISON);
	assert_int_equal(*(u64 *)buf, 0 * 1000003ULL + PAGE_SIZE / 8 - 1);
	assert_int_equal(sim_mm_touch(t.mm, a, true), 0);

	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_POPULATE);
	assert_int_equal(sim_madvise(t.mm, h, SZ_2M, SIM_MADV_HWPOISON), 0);
	assert_int_equal(sim_mm_touch(t.mm, h + SZ_2M - 1, false), -EHWPOISON);
	assert_int_equal(sim_mm_read(t.mm, h + SZ_1M_T, buf, 1), -EHWPOISON);
	mmt_fini(&t);
}

/*
 *   p: | 1000 | 1001 |  VM_PFNMAP, zapped whole
 * A CPU access faults each frame back in, with the frame's contents;
 * under PROT_NONE it stays out until the protection is back.
 */
static void test_fault_pfnmap_refault(void **state)
{
	struct sim_host_pte_info info;
	u64 word = 0;
	struct mmt t;
	hva_t p;

	mmt_init(&t, 0);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, 2 * PAGE_SIZE, RW, 1000, &p), 0);
	((u64 *)sim_pfn_to_virt(t.host, 1001))[0] = 0xabcd;
	assert_int_equal(sim_zap_vma_ptes(t.mm, p, 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_mm_touch(t.mm, p, true), 0);
	assert_int_equal(sim_mm_lookup(t.mm, p, &info), 0);
	assert_int_equal(info.pfn, 1000);
	assert_true(info.writable);
	assert_int_equal(sim_mm_lookup(t.mm, p + PAGE_SIZE, &info), -EFAULT);
	assert_int_equal(sim_mm_read(t.mm, p + PAGE_SIZE, &word, sizeof(word)), 0);
	assert_int_equal(word, 0xabcd);
	assert_int_equal(mmt_pfn(&t, p + PAGE_SIZE), 1001);

	assert_int_equal(sim_zap_vma_ptes(t.mm, p, PAGE_SIZE), 0);
	assert_int_equal(sim_mprotect(t.mm, p, 2 * PAGE_SIZE, SIM_PROT_NONE), 0);
	assert_int_equal(sim_mm_touch(t.mm, p, false), -EFAULT);
	assert_int_equal(sim_mprotect(t.mm, p, 2 * PAGE_SIZE, RW), 0);
	assert_int_equal(sim_mm_touch(t.mm, p, true), 0);
	assert_int_equal(mmt_pfn(&t, p), 1000);
	mmt_fini(&t);
}

static int scenario_touch(void)
{
	struct sim_host *host;
	struct sim_mm *mm;
	hva_t a, b, c, d;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	r = sim_mmap(mm, 0, 2 * SZ_2M, RW, PRIV | SIM_MAP_THP, &a);
	if (!r)
		r = sim_mmap(mm, 0, 8 * PAGE_SIZE, RW, PRIV, &b);
	if (!r)
		r = sim_mmap(mm, 0, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M, &c);
	if (!r)
		r = sim_mmap(mm, 0, PAGE_SIZE, RW, SIM_MAP_SHARED, &d);
	if (!r)
		r = sim_mm_touch(mm, a, true);
	if (!r)
		r = sim_mm_touch(mm, b, false);
	if (!r)
		r = sim_mm_touch(mm, b, true); /* COW */
	if (!r)
		r = sim_mm_touch(mm, c, false);
	if (!r)
		r = sim_mm_touch(mm, c, true);
	if (!r)
		r = sim_mm_write(mm, b + PAGE_SIZE, "x", 1);
	if (!r)
		r = sim_mm_touch(mm, d, false);
	if (!r)
		r = sim_swap_out(mm, b + PAGE_SIZE);
	if (!r)
		r = sim_mm_touch(mm, b + PAGE_SIZE, true);
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_fault_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_touch());
}

/* Two threads fault the same THP and 4K pages at once: one mapping wins. */
struct fault_race {
	struct sim_mm *mm;
	hva_t a;
	int rounds;
};

static int fault_race_thread(void *arg)
{
	struct fault_race *fr = arg;
	int i;

	for (i = 0; i < fr->rounds; i++) {
		if (sim_mm_touch(fr->mm, fr->a + (i % 8) * SZ_2M, i & 1))
			return -1;
		if (sim_mm_touch(fr->mm, fr->a + 8 * SZ_2M + (i % 64) * PAGE_SIZE, i & 1))
			return -1;
	}
	return 0;
}

static void test_fault_concurrent(void **state)
{
	struct fault_race fr;
	struct env_thread *th[2];
	struct mmt t;
	int i;

	mmt_init(&t, 0);
	fr.mm = t.mm;
	fr.a = mmt_mmap(&t, 9 * SZ_2M, RW, PRIV);
	fr.rounds = 400;
	assert_int_equal(sim_madvise(t.mm, fr.a, 8 * SZ_2M, SIM_MADV_HUGEPAGE), 0);
	for (i = 0; i < 2; i++) {
		th[i] = env_thread_start(fault_race_thread, &fr, "faulter");
		assert_non_null(th[i]);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(env_thread_join(th[i]), 0);
	for (i = 0; i < 8; i++)
		assert_int_equal(mmt_level(&t, fr.a + i * SZ_2M), PG_LEVEL_2M);
	mmt_fini(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_fault_zero_page_and_cow),
		MMUSIM_TEST(test_fault_shared_anon),
		MMUSIM_TEST(test_fault_permissions),
		MMUSIM_TEST(test_fault_thp_and_fallback),
		MMUSIM_TEST(test_fault_hugetlb),
		MMUSIM_TEST(test_fault_read_write),
		MMUSIM_TEST(test_fault_swap_in_on_touch),
		MMUSIM_TEST(test_fault_hwpoison),
		MMUSIM_TEST(test_fault_pfnmap_refault),
		MMUSIM_TEST(test_fault_fail_nth),
		MMUSIM_TEST(test_fault_concurrent),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("fault", tests);
}
