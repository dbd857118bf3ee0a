// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/mm_ops.c: munmap, mprotect, madvise, migration, THP
 * split and collapse, reclaim to swap (clean and dirty pages, the swap
 * cache, MADV_PAGEOUT), aging; their errnos, their notifier events, and
 * their allocation-failure paths.
 */
#include "mm_test_util.h"

static struct sim_page *page_at(struct mmt *t, hva_t addr)
{
	return sim_pfn_to_page(t->host, mmt_pfn(t, addr));
}

/* ======================== munmap ======================== */

/*
 *   a                                   a+8p
 *   |  0  |  1  |  2  |  3  |  4  | ... |     before
 *   |  0  |  1  |           |  4  | ... |     munmap(a+2p, 2p): VMA split in two
 */
static void test_munmap_split_and_errors(void **state)
{
	struct recorder *r;
	struct mmt t;
	hva_t a;
	int s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 8 * PAGE_SIZE, RW, PRIV);
	for (s = 0; s < 8; s++)
		mmt_fill(&t, a + s * PAGE_SIZE, s);
	r = rec_register(t.mm);
	assert_int_equal(sim_munmap(t.mm, a + 2 * PAGE_SIZE, 2 * PAGE_SIZE - 100), 0);
	assert_int_equal(t.mm->nr_vmas, 2);
	assert_int_equal(mmt_level(&t, a + 2 * PAGE_SIZE), 0);
	assert_int_equal(mmt_level(&t, a + 3 * PAGE_SIZE), 0);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 1));
	assert_true(mmt_check(&t, a + 4 * PAGE_SIZE, 4));
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), -EFAULT);
	s = rec_find(r, REC_START, 0);
	assert_true(s >= 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_UNMAP);
	assert_int_equal(r->ev[s].start, a + 2 * PAGE_SIZE);
	assert_int_equal(r->ev[s].end, a + 4 * PAGE_SIZE);
	assert_int_equal(r->ev[s].lookup, 0); /* still mapped at start */
	assert_int_equal(r->ev[rec_find(r, REC_END, 0)].lookup, -EFAULT); /* gone at end */
	rec_assert_balanced(r);

	/* munmap of nothing is fine, and silent. */
	rec_clear(r);
	assert_int_equal(sim_munmap(t.mm, a + 2 * PAGE_SIZE, 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_munmap(t.mm, 0x100000000UL, SZ_1G), 0);
	assert_int_equal(r->nr, 0);
	assert_int_equal(sim_munmap(t.mm, a + 1, PAGE_SIZE), -EINVAL);
	assert_int_equal(sim_munmap(t.mm, a, 0), -EINVAL);
	assert_int_equal(sim_munmap(t.mm, SIM_TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL);
	assert_int_equal(sim_munmap(NULL, a, PAGE_SIZE), -EINVAL);
	/* Across both VMAs and the hole: one UNMAP pair for the whole range. */
	assert_int_equal(sim_munmap(t.mm, a, 8 * PAGE_SIZE), 0);
	assert_int_equal(t.mm->nr_vmas, 0);
	assert_int_equal(r->nr, 2);
	assert_int_equal(r->ev[0].start, a);
	assert_int_equal(r->ev[0].end, a + 8 * PAGE_SIZE);
	rec_unregister(r);
	mmt_fini(&t);
}

static void test_munmap_hugetlb_and_thp(void **state)
{
	struct mmt t;
	hva_t h, thp;
	kvm_pfn_t base;
	u64 free_before;

	mmt_init(&t, 0);
	h = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_touch(t.mm, h, true), 0);
	/* A hugetlb VMA splits only at 2M boundaries. */
	assert_int_equal(sim_munmap(t.mm, h + PAGE_SIZE, SZ_2M), -EINVAL);
	assert_int_equal(sim_munmap(t.mm, h, PAGE_SIZE), -EINVAL);
	assert_int_equal(mmt_level(&t, h), PG_LEVEL_2M);
	assert_int_equal(sim_munmap(t.mm, h + SZ_2M, SZ_2M), 0);
	assert_int_equal(mmt_level(&t, h), PG_LEVEL_2M);

	/* Partial munmap of a THP splits it; the rest keeps its frames. */
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, thp + 5 * PAGE_SIZE, 5);
	base = mmt_pfn(&t, thp);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	free_before = mmt_stats(&t).free_pages;
	assert_int_equal(sim_munmap(t.mm, thp + SZ_1M_T, SZ_1M_T), 0);
	assert_int_equal(mmt_stats(&t).thp_splits, 1);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_4K);
	assert_int_equal(mmt_pfn(&t, thp + 5 * PAGE_SIZE), base + 5);
	assert_true(mmt_check(&t, thp + 5 * PAGE_SIZE, 5));
	/* The folio was split too: the unmapped half went back. */
	assert_int_equal(mmt_stats(&t).free_pages, free_before + 256);
	assert_int_equal(sim_compound_order(t.host, sim_pfn_to_page(t.host, base)), 0);
	mmt_fini(&t);
}

/*
 * A pinned THP cannot be split as a folio: partial munmap leaves a
 * PTE-mapped THP holding one reference; it is freed with its last PTE.
 */
static void test_munmap_pinned_thp(void **state)
{
	struct sim_page *pg;
	struct mmt t;
	hva_t thp;
	kvm_pfn_t base;
	u64 free0;

	mmt_init(&t, 0);
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	assert_int_equal(sim_mm_touch(t.mm, thp, true), 0);
	base = mmt_pfn(&t, thp);
	assert_int_equal(sim_pin_user_pages(t.mm, thp + PAGE_SIZE, 1, SIM_FOLL_WRITE, &pg), 1);
	free0 = mmt_stats(&t).free_pages;
	assert_int_equal(sim_munmap(t.mm, thp, SZ_1M_T), 0);
	assert_int_equal(mmt_level(&t, thp + SZ_1M_T), PG_LEVEL_4K);
	assert_int_equal(sim_compound_order(t.host, pg), SIM_THP_ORDER);
	assert_int_equal(mmt_stats(&t).free_pages, free0);
	/* Migration or swap of a page of it: busy while pinned. */
	assert_int_equal(sim_migrate_page(t.mm, thp + SZ_1M_T), -EBUSY);
	assert_int_equal(sim_swap_out(t.mm, thp + SZ_1M_T), -EBUSY);
	assert_int_equal(sim_split_thp(t.mm, thp + SZ_1M_T), -EBUSY);
	sim_unpin_user_page(t.host, pg);
	/* Unpinned: split_thp splits the folio, freeing the unmapped half. */
	assert_int_equal(sim_split_thp(t.mm, thp + SZ_1M_T), 0);
	assert_int_equal(mmt_stats(&t).free_pages, free0 + 256);
	assert_int_equal(sim_migrate_page(t.mm, thp + SZ_1M_T), 0);
	assert_int_not_equal(mmt_pfn(&t, thp + SZ_1M_T), base + 256);
	mmt_fini(&t);
}

static int scenario_munmap(void)
{
	struct sim_host *host;
	struct sim_mm *mm;
	hva_t a;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	r = sim_mmap(mm, 0, 3 * SZ_2M, RW, PRIV | SIM_MAP_THP | SIM_MAP_POPULATE, &a);
	if (!r)
		r = sim_munmap(mm, a + SZ_1M_T, 3 * SZ_1M_T);
	if (!r)
		r = sim_mprotect(mm, a + 5 * SZ_1M_T, 4 * PAGE_SIZE, SIM_PROT_READ);
	if (!r)
		r = sim_madvise(mm, a + 4 * SZ_1M_T + PAGE_SIZE, PAGE_SIZE, SIM_MADV_DONTNEED);
	if (!r)
		r = sim_madvise(mm, a, PAGE_SIZE, SIM_MADV_NOHUGEPAGE);
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_layout_ops_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_munmap());
}

/* ======================== mprotect ======================== */

static void test_mprotect(void **state)
{
	struct sim_host_pte_info info;
	struct recorder *r;
	struct mmt t;
	unsigned long fl;
	hva_t a;
	int s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a + PAGE_SIZE, 1);
	r = rec_register(t.mm);

	assert_int_equal(sim_mprotect(t.mm, a + PAGE_SIZE, PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(t.mm->nr_vmas, 3);
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE, &info), 0);
	assert_false(info.writable);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, true), -EFAULT);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 1));
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_PROTECTION_VMA);
	assert_int_equal(r->ev[s].start, a + PAGE_SIZE);
	assert_int_equal(r->ev[s].end, a + 2 * PAGE_SIZE);

	/* PROT_NONE: mapped but not present; back to RW: same frame, merged VMA. */
	assert_int_equal(sim_mprotect(t.mm, a + PAGE_SIZE, PAGE_SIZE, SIM_PROT_NONE), 0);
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE, &info), -EFAULT);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), -EFAULT);
	assert_int_equal(sim_mprotect(t.mm, a, 4 * PAGE_SIZE, RW), 0);
	assert_int_equal(t.mm->nr_vmas, 1);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 1));
	/* Private: read-only until the write fault reuses the page. */
	assert_int_equal(sim_mm_lookup(t.mm, a + PAGE_SIZE, &info), 0);
	assert_false(info.writable);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, true), 0);
	assert_int_equal(mmt_pfn(&t, a + PAGE_SIZE), info.pfn);
	rec_assert_balanced(r);

	/* Same protection: no event. */
	rec_clear(r);
	assert_int_equal(sim_mprotect(t.mm, a, 4 * PAGE_SIZE, RW), 0);
	assert_int_equal(r->nr, 0);

	/* Errors, and nothing changes on them. */
	assert_int_equal(sim_mprotect(t.mm, a + 1, PAGE_SIZE, RW), -EINVAL);
	assert_int_equal(sim_mprotect(t.mm, a, PAGE_SIZE, 0x10), -EINVAL);
	assert_int_equal(sim_mprotect(t.mm, a, 0, SIM_PROT_NONE), 0);
	assert_int_equal(sim_mprotect(t.mm, a, 5 * PAGE_SIZE, SIM_PROT_READ), -ENOMEM);
	assert_int_equal(sim_mprotect(t.mm, a - PAGE_SIZE, 2 * PAGE_SIZE, SIM_PROT_READ), -ENOMEM);
	assert_int_equal(sim_mprotect(t.mm, SIM_TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE, RW), -ENOMEM);
	assert_int_equal(sim_mm_vma_flags(t.mm, a, &fl), 0);
	assert_int_equal(fl, SIM_VM_READ | SIM_VM_WRITE);
	assert_int_equal(t.mm->nr_vmas, 1);
	assert_int_equal(r->nr, 0);
	rec_unregister(r);
	mmt_fini(&t);
}

/* Shared mappings get W back at once (no COW); hugetlb splits only aligned. */
static void test_mprotect_shared_and_hugetlb(void **state)
{
	struct sim_host_pte_info info;
	struct mmt t;
	hva_t s, h;

	mmt_init(&t, 0);
	s = mmt_mmap(&t, PAGE_SIZE, RW, SIM_MAP_SHARED);
	assert_int_equal(sim_mm_touch(t.mm, s, true), 0);
	assert_int_equal(sim_mprotect(t.mm, s, PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(sim_mprotect(t.mm, s, PAGE_SIZE, RW), 0);
	assert_int_equal(sim_mm_lookup(t.mm, s, &info), 0);
	assert_true(info.writable);
	h = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_touch(t.mm, h, true), 0);
	assert_int_equal(sim_mprotect(t.mm, h, PAGE_SIZE, SIM_PROT_READ), -EINVAL);
	assert_int_equal(sim_mprotect(t.mm, h, SZ_2M, SIM_PROT_READ), 0);
	assert_int_equal(sim_mm_lookup(t.mm, h, &info), 0);
	assert_true(info.level == PG_LEVEL_2M && !info.writable);
	mmt_fini(&t);
}

/* ======================== madvise ======================== */

static void test_madvise_dontneed(void **state)
{
	struct recorder *r;
	struct mmt t;
	hva_t a, l, h;
	char byte = 1;
	int s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	r = rec_register(t.mm);
	assert_int_equal(sim_madvise(t.mm, a, PAGE_SIZE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(mmt_level(&t, a), 0);
	assert_int_equal(sim_mm_read(t.mm, a + 8, &byte, 1), 0);
	assert_int_equal(byte, 0); /* zero-fill on the next touch */
	assert_true(mmt_check(&t, a + PAGE_SIZE, 2));
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_UNMAP);
	assert_int_equal(r->ev[s].start, a);
	assert_int_equal(r->ev[s].end, a + PAGE_SIZE);
	rec_assert_balanced(r);
	rec_unregister(r);

	assert_int_equal(sim_madvise(t.mm, a + 1, PAGE_SIZE, SIM_MADV_DONTNEED), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, a, PAGE_SIZE, 99), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, a, 0, SIM_MADV_DONTNEED), 0);
	assert_int_equal(sim_madvise(t.mm, a, 8 * PAGE_SIZE, SIM_MADV_DONTNEED), -ENOMEM);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 2)); /* nothing done on error */
	assert_int_equal(sim_madvise(t.mm, a, ~0UL, SIM_MADV_DONTNEED), -EINVAL);
	l = mmt_mmap(&t, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED);
	assert_int_equal(sim_madvise(t.mm, l, PAGE_SIZE, SIM_MADV_DONTNEED), -EINVAL);
	/* Hugetlb: the start must be aligned; the end is aligned down. */
	h = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_touch(t.mm, h, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, h + SZ_2M, true), 0);
	assert_int_equal(sim_madvise(t.mm, h + PAGE_SIZE, SZ_2M, SIM_MADV_DONTNEED), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, h, SZ_2M - PAGE_SIZE, SIM_MADV_DONTNEED), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, h, SZ_2M + PAGE_SIZE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(mmt_level(&t, h), 0);
	assert_int_equal(mmt_level(&t, h + SZ_2M), PG_LEVEL_2M);
	mmt_fini(&t);
}

static void test_madvise_hugepage_flags(void **state)
{
	struct mmt t;
	unsigned long fl;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * SZ_2M, RW, PRIV);
	assert_int_equal(sim_madvise(t.mm, a + SZ_2M, SZ_2M, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(t.mm->nr_vmas, 3);
	assert_int_equal(sim_mm_vma_flags(t.mm, a + SZ_2M, &fl), 0);
	assert_true(fl & SIM_VM_HUGEPAGE);
	assert_int_equal(sim_madvise(t.mm, a + SZ_2M, SZ_2M, SIM_MADV_NOHUGEPAGE), 0);
	assert_int_equal(sim_mm_vma_flags(t.mm, a + SZ_2M, &fl), 0);
	assert_true((fl & SIM_VM_NOHUGEPAGE) && !(fl & SIM_VM_HUGEPAGE));
	assert_int_equal(sim_mm_touch(t.mm, a + SZ_2M, true), 0);
	assert_int_equal(mmt_level(&t, a + SZ_2M), PG_LEVEL_4K);
	assert_int_equal(sim_madvise(t.mm, a, 5 * SZ_2M, SIM_MADV_HUGEPAGE), -ENOMEM);
	assert_int_equal(sim_madvise(t.mm, a, 4 * SZ_2M, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(t.mm->nr_vmas, 1);

	/*
	 * New VMA boundaries inside THPs split them first:
	 *   a        a+2M      a+4M
	 *   [ THP    ][ THP    ]      MADV_NOHUGEPAGE [a+1M, a+3M)
	 *   [HP][    NOHP   ][HP]     both THPs now mapped by 4K PTEs
	 */
	a = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV | SIM_MAP_THP | SIM_MAP_POPULATE);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_2M);
	assert_int_equal(mmt_level(&t, a + SZ_2M), PG_LEVEL_2M);
	assert_int_equal(sim_madvise(t.mm, a + SZ_1M_T, SZ_2M, SIM_MADV_NOHUGEPAGE), 0);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);
	assert_int_equal(mmt_level(&t, a + SZ_2M), PG_LEVEL_4K);
	assert_int_equal(sim_munmap(t.mm, a, 2 * SZ_2M), 0);
	assert_int_equal(mmt_level(&t, a), 0);
	mmt_fini(&t);
}

/* ======================== migration ======================== */

static void test_migrate_page(void **state)
{
	struct sim_page *pg;
	struct recorder *r;
	struct mmt t;
	kvm_pfn_t old;
	hva_t a;
	int s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 7);
	old = mmt_pfn(&t, a);
	r = rec_register(t.mm);
	assert_int_equal(sim_migrate_page(t.mm, a + 17), 0);
	assert_int_not_equal(mmt_pfn(&t, a), old);
	assert_true(mmt_check(&t, a, 7));
	assert_int_equal(mmt_stats(&t).migrations, 1);
	assert_true(sim_page_flags(t.host, page_at(&t, a)) & SIM_PG_MOVABLE);
	assert_true(sim_page_flags(t.host, page_at(&t, a)) & SIM_PG_ANON);
	assert_int_equal(sim_page_count(t.host, page_at(&t, a)), 1);
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_MIGRATE);
	assert_int_equal(r->ev[s].start, a);
	assert_int_equal(r->ev[s].end, a + PAGE_SIZE);
	assert_int_equal(r->ev[s].pfn, old);
	assert_int_equal(r->ev[rec_find(r, REC_END, 0)].pfn, mmt_pfn(&t, a));
	rec_assert_balanced(r);
	rec_unregister(r);

	/* A GUP reference or a pin keeps it in place. */
	assert_int_equal(sim_get_user_pages(t.mm, a, 1, 0, &pg), 1);
	assert_int_equal(sim_migrate_page(t.mm, a), -EBUSY);
	sim_put_page(t.host, pg);
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, 0, &pg), 1);
	assert_int_equal(sim_migrate_page(t.mm, a), -EBUSY);
	assert_int_equal(mmt_stats(&t).migrate_busy, 2);
	sim_unpin_user_page(t.host, pg);
	assert_int_equal(sim_migrate_page(t.mm, a), 0);

	/* move_pages() errnos. */
	assert_int_equal(sim_migrate_page(t.mm, a + PAGE_SIZE), -ENOENT);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), 0);
	assert_int_equal(sim_migrate_page(t.mm, a + PAGE_SIZE), -EFAULT); /* zero page */
	assert_int_equal(sim_migrate_page(t.mm, a + 4 * PAGE_SIZE), -EFAULT);
	assert_int_equal(sim_migrate_page(NULL, a), -EINVAL);
	mmt_fill(&t, a + 2 * PAGE_SIZE, 9);
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_migrate_page(t.mm, a + 2 * PAGE_SIZE), -ENOENT);
	mmt_fini(&t);
}

static void test_migrate_huge(void **state)
{
	struct mmt t;
	hva_t thp, h;
	kvm_pfn_t old;
	u64 moved;

	mmt_init(&t, 0);
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, thp + 300 * PAGE_SIZE, 300);
	old = mmt_pfn(&t, thp);
	assert_int_equal(sim_migrate_page(t.mm, thp + 300 * PAGE_SIZE), 0);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	assert_int_not_equal(mmt_pfn(&t, thp), old);
	assert_true(mmt_check(&t, thp + 300 * PAGE_SIZE, 300));

	h = mmt_mmap(&t, SZ_2M, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_2M);
	mmt_fill(&t, h + 3 * PAGE_SIZE, 3);
	old = mmt_pfn(&t, h);
	assert_int_equal(sim_migrate_page(t.mm, h), 0);
	assert_int_not_equal(mmt_pfn(&t, h), old);
	assert_true(mmt_check(&t, h + 3 * PAGE_SIZE, 3));
	assert_true(sim_page_flags(t.host, page_at(&t, h)) & SIM_PG_HUGETLB);

	/* Out of 2M blocks: -ENOMEM, nothing changed. */
	old = mmt_pfn(&t, h);
	env_fail_nth(1);
	assert_int_equal(sim_migrate_page(t.mm, h), -ENOMEM);
	env_fail_clear();
	assert_int_equal(mmt_pfn(&t, h), old);

	/* A range: the THP counts once. */
	assert_int_equal(sim_migrate_range(t.mm, thp, SZ_2M, &moved), 0);
	assert_int_equal(moved, 1);
	assert_int_equal(sim_migrate_range(t.mm, h - PAGE_SIZE, 2 * PAGE_SIZE, &moved), -EFAULT);
	assert_int_equal(moved, 0);
	mmt_fini(&t);
}

static void test_migrate_range(void **state)
{
	struct sim_page *pg;
	struct mmt t;
	hva_t a;
	u64 moved;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 16 * PAGE_SIZE, RW, PRIV);
	for (i = 0; i < 16; i += 2)
		mmt_fill(&t, a + i * PAGE_SIZE, i);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), 0); /* zero page: skipped */
	assert_int_equal(sim_pin_user_pages(t.mm, a + 4 * PAGE_SIZE, 1, 0, &pg), 1);
	assert_int_equal(sim_migrate_range(t.mm, a, 16 * PAGE_SIZE, &moved), -EBUSY);
	assert_int_equal(moved, 7);
	sim_unpin_user_page(t.host, pg);
	assert_int_equal(sim_migrate_range(t.mm, a, 16 * PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 8);
	for (i = 0; i < 16; i += 2)
		assert_true(mmt_check(&t, a + i * PAGE_SIZE, i));
	assert_int_equal(sim_migrate_range(t.mm, a, 0, &moved), 0);
	assert_int_equal(sim_migrate_range(t.mm, SIM_TASK_SIZE, 1, NULL), -EFAULT);
	mmt_fini(&t);
}

static int scenario_migrate(void)
{
	struct sim_host *host;
	struct sim_mm *mm;
	u64 moved;
	hva_t a, h;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	r = sim_mmap(mm, 0, 2 * SZ_2M, RW, PRIV | SIM_MAP_THP, &a);
	if (!r)
		r = sim_mmap(mm, 0, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M, &h);
	if (!r)
		r = sim_mm_touch(mm, h, true);
	if (!r)
		r = sim_mm_write(mm, a + 5, "abc", 3);
	if (!r)
		r = sim_mm_write(mm, a + SZ_2M + 5 * PAGE_SIZE, "abc", 3);
	if (!r)
		r = sim_migrate_page(mm, a);
	if (!r)
		r = sim_migrate_range(mm, a, 2 * SZ_2M, &moved);
	if (!r)
		r = sim_migrate_page(mm, h);
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_migrate_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_migrate());
}

/* ======================== THP split and collapse ======================== */

static void test_split_thp(void **state)
{
	struct sim_page *pg;
	struct recorder *r;
	struct mmt t;
	kvm_pfn_t base;
	hva_t thp, a, h;
	int s, i;

	mmt_init(&t, 0);
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, thp + 77 * PAGE_SIZE, 77);
	base = mmt_pfn(&t, thp);
	/* A pinned THP is not split. */
	assert_int_equal(sim_pin_user_pages(t.mm, thp, 1, 0, &pg), 1);
	assert_int_equal(sim_split_thp(t.mm, thp), -EBUSY);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	sim_unpin_user_page(t.host, pg);

	r = rec_register(t.mm);
	assert_int_equal(sim_split_thp(t.mm, thp + 5), 0);
	for (i = 0; i < 512; i += 51) {
		assert_int_equal(mmt_level(&t, thp + i * PAGE_SIZE), PG_LEVEL_4K);
		assert_int_equal(mmt_pfn(&t, thp + i * PAGE_SIZE), base + i);
		assert_int_equal(sim_page_count(t.host, page_at(&t, thp + i * PAGE_SIZE)), 1);
	}
	assert_true(mmt_check(&t, thp + 77 * PAGE_SIZE, 77));
	assert_int_equal(mmt_stats(&t).thp_splits, 1);
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, thp);
	assert_int_equal(r->ev[s].end, thp + SZ_2M);
	rec_assert_balanced(r);
	rec_unregister(r);
	/* Each 4K page migrates on its own now. */
	assert_int_equal(sim_migrate_page(t.mm, thp + 77 * PAGE_SIZE), 0);
	assert_true(mmt_check(&t, thp + 77 * PAGE_SIZE, 77));

	/* Nothing to split. */
	assert_int_equal(sim_split_thp(t.mm, thp), -EINVAL);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_split_thp(t.mm, a), -EINVAL);
	assert_int_equal(sim_split_thp(t.mm, a - PAGE_SIZE), -EFAULT);
	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_POPULATE);
	assert_int_equal(sim_split_thp(t.mm, h), -EINVAL);
	mmt_fini(&t);
}

/*
 * MADV_COLLAPSE: 512 4K entries of every kind (pages, zero page, none,
 * swapped) become one THP with the same contents.
 */
static void test_collapse_thp(void **state)
{
	struct sim_page *pg;
	struct recorder *r;
	struct mmt t;
	hva_t a, h;
	int i, s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, SZ_2M, RW, PRIV);
	for (i = 0; i < 512; i += 3)
		mmt_fill(&t, a + i * PAGE_SIZE, i);
	assert_int_equal(sim_mm_touch(t.mm, a + PAGE_SIZE, false), 0); /* zero page */
	assert_int_equal(sim_swap_out(t.mm, a + 9 * PAGE_SIZE), 0);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);

	/* A pinned page blocks it. */
	assert_int_equal(sim_pin_user_pages(t.mm, a + 3 * PAGE_SIZE, 1, 0, &pg), 1);
	assert_int_equal(sim_collapse_thp(t.mm, a), -EAGAIN);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);
	sim_unpin_user_page(t.host, pg);

	r = rec_register(t.mm);
	assert_int_equal(sim_collapse_thp(t.mm, a + 100 * PAGE_SIZE), 0);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_2M);
	assert_int_equal(mmt_stats(&t).thp_collapses, 1);
	for (i = 0; i < 512; i += 3)
		assert_true(mmt_check(&t, a + i * PAGE_SIZE, i));
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, a);
	assert_int_equal(r->ev[s].end, a + SZ_2M);
	rec_assert_balanced(r);
	rec_unregister(r);
	/* Already a THP: nothing to do. */
	assert_int_equal(sim_collapse_thp(t.mm, a), 0);
	assert_int_equal(mmt_stats(&t).thp_collapses, 1);

	/* Errors. */
	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_collapse_thp(t.mm, h), -EINVAL);
	a = mmt_mmap(&t, SZ_2M + PAGE_SIZE, RW, PRIV);
	assert_int_equal(sim_collapse_thp(t.mm, a), -EINVAL); /* nothing mapped */
	assert_int_equal(sim_collapse_thp(t.mm, 0x10000), -ENOMEM);
	mmt_fini(&t);
}

/*
 * A PTE-mapped THP: a reference held across a partial MADV_DONTNEED (as a
 * KVM fault holds one between its gup and mmu_lock) keeps the folio whole
 * while its PMD is split.  Returns with that reference still held.
 *
 *   hva  a                    a+511p     a+621p            a+4M
 *        [THP pages 0..510, PTE-mapped | none | not faulted ...]
 *         page i (i % 5 == 0) holds tag i
 */
static struct sim_page *make_pte_mapped_thp(struct mmt *t, hva_t *ap)
{
	struct sim_page *pg;
	hva_t a;
	int i;

	a = mmt_mmap(t, 2 * SZ_2M, RW, PRIV | SIM_MAP_THP);
	for (i = 0; i < 511; i += 5)
		mmt_fill(t, a + i * PAGE_SIZE, i);
	assert_int_equal(mmt_level(t, a), PG_LEVEL_2M);
	assert_int_equal(sim_get_user_pages(t->mm, a, 1, 0, &pg), 1);
	assert_int_equal(
		sim_madvise(t->mm, a + 511 * PAGE_SIZE, 110 * PAGE_SIZE, SIM_MADV_DONTNEED), 0);
	assert_int_equal(mmt_level(t, a), PG_LEVEL_4K);
	assert_int_equal(sim_compound_order(t->host, pg), SIM_THP_ORDER);
	*ap = a;
	return pg;
}

static void check_pte_mapped_thp_data(struct mmt *t, hva_t a)
{
	u64 word = ~0ULL;
	int i;

	for (i = 0; i < 511; i += 5)
		assert_true(mmt_check(t, a + i * PAGE_SIZE, i));
	assert_int_equal(sim_mm_read(t->mm, a + 512 * PAGE_SIZE - 8, &word, sizeof(word)), 0);
	assert_int_equal(word, 0); /* the DONTNEED'd entry reads as zeroes */
}

static u64 mmt_used_pages(struct mmt *t)
{
	struct sim_host_stats st = mmt_stats(t);

	return st.ram_pages - st.free_pages;
}

/* MADV_COLLAPSE of a PTE-mapped THP frees the old folio once. */
static void test_collapse_pte_mapped_thp(void **state)
{
	struct sim_page *pg;
	struct mmt t;
	u64 used;
	hva_t a;

	mmt_init(&t, 0);
	pg = make_pte_mapped_thp(&t, &a);
	assert_int_equal(sim_collapse_thp(t.mm, a), -EAGAIN); /* still held */
	sim_put_page(t.host, pg);

	used = mmt_used_pages(&t);
	assert_int_equal(sim_collapse_thp(t.mm, a + 7 * PAGE_SIZE), 0);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_2M);
	check_pte_mapped_thp_data(&t, a);
	/* One THP for another: the old folio's frames came back, and only once. */
	assert_int_equal(mmt_used_pages(&t), used);
	mmt_fini(&t);
}

/*
 * Migrating one page of a PTE-mapped THP splits the folio first, also when
 * the page is the folio's head; the other 510 pages stay where they are.
 */
static void test_migrate_pte_mapped_thp(void **state)
{
	kvm_pfn_t head_pfn;
	struct sim_page *pg;
	struct mmt t;
	u64 used;
	hva_t a;
	int i;

	mmt_init(&t, 0);
	pg = make_pte_mapped_thp(&t, &a);
	head_pfn = mmt_pfn(&t, a);
	assert_int_equal(sim_migrate_page(t.mm, a), -EBUSY); /* still held */
	sim_put_page(t.host, pg);

	used = mmt_used_pages(&t);
	assert_int_equal(sim_migrate_page(t.mm, a), 0);
	assert_int_not_equal(mmt_pfn(&t, a), head_pfn);
	assert_int_equal(sim_migrate_page(t.mm, a + 5 * PAGE_SIZE), 0);
	assert_int_not_equal(mmt_pfn(&t, a + 5 * PAGE_SIZE), head_pfn + 5);
	for (i = 10; i < 511; i += 50)
		assert_int_equal(mmt_pfn(&t, a + i * PAGE_SIZE), head_pfn + i);
	check_pte_mapped_thp_data(&t, a);
	/* Split: the unmapped page 511 went back; each move is one page for one. */
	assert_int_equal(mmt_used_pages(&t), used - 1);
	mmt_fini(&t);
}

static int scenario_thp(void)
{
	struct sim_host_pte_info info;
	struct sim_host *host;
	struct sim_mm *mm;
	hva_t a;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	r = sim_mmap(mm, 0, 2 * SZ_2M, RW, PRIV | SIM_MAP_THP, &a);
	if (!r)
		r = sim_mm_write(mm, a + 8, "thp", 3);
	/* Without memory for a THP the fault fell back to 4K: nothing to split. */
	if (!r && sim_mm_lookup(mm, a, &info) == 0 && info.level == PG_LEVEL_2M)
		r = sim_split_thp(mm, a);
	if (!r)
		r = sim_swap_out(mm, a);
	if (!r)
		r = sim_collapse_thp(mm, a);
	if (!r)
		r = sim_mm_write(mm, a + SZ_2M + PAGE_SIZE, "thp", 3);
	if (!r)
		r = sim_swap_out(mm, a + SZ_2M + PAGE_SIZE); /* splits the mapping first */
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_thp_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_thp());
}

/* ======================== swap ======================== */

static void test_swap_roundtrip(void **state)
{
	struct sim_host_pte_info info;
	struct sim_page *pg;
	struct recorder *r;
	struct mmt t;
	u64 free0;
	hva_t a, l, h;
	int s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 11);
	mmt_fill(&t, a + PAGE_SIZE, 12);
	free0 = mmt_stats(&t).free_pages;
	r = rec_register(t.mm);
	assert_int_equal(sim_swap_out(t.mm, a + 5), 0);
	assert_int_equal(mmt_stats(&t).free_pages, free0 + 1);
	assert_int_equal(mmt_stats(&t).swap_outs, 1);
	assert_int_equal(sim_mm_lookup(t.mm, a, &info), -EFAULT);
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, a);
	assert_int_equal(r->ev[s].end, a + PAGE_SIZE);
	rec_assert_balanced(r);
	rec_unregister(r);
	assert_true(mmt_check(&t, a, 11));
	assert_int_equal(mmt_stats(&t).swap_ins, 1);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 12));
	/* Swapped out twice, then unmapped: the slot is freed (no leak). */
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(sim_swap_out(t.mm, a), -ENOENT);
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), -ENOENT);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), 0);
	assert_int_equal(sim_swap_out(t.mm, a + 2 * PAGE_SIZE), -ENOENT); /* zero page */
	assert_int_equal(sim_munmap(t.mm, a, PAGE_SIZE), 0);

	/* Pinned, locked, hugetlb, unmapped. */
	assert_int_equal(sim_pin_user_pages(t.mm, a + PAGE_SIZE, 1, 0, &pg), 1);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), -EBUSY);
	sim_unpin_user_page(t.host, pg);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), 0);
	l = mmt_mmap(&t, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED);
	assert_int_equal(sim_swap_out(t.mm, l), -EBUSY);
	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_POPULATE);
	assert_int_equal(sim_swap_out(t.mm, h), -EINVAL);
	assert_int_equal(sim_swap_out(t.mm, 0x10000), -EFAULT);
	assert_int_equal(sim_swap_out(NULL, a), -EINVAL);
	mmt_fini(&t);
}

/*
 * Reclaim writes a dirty page and drops a clean swap-cache page:
 *
 *   a   written by the host: dirty               -> written (1)
 *       read back: swap cache, clean             -> dropped, no write
 *       read back, written by the host (PTE D)   -> written (2)
 *       read back, GUP-fast reference written    -> written (3), because
 *         behind the PTE, set_page_dirty()          the holder marked it
 *       read back, the same without the mark     -> dropped: the write is
 *                                                   lost (the bug KVM must
 *                                                   not have)
 */
static void test_swap_clean_and_dirty(void **state)
{
	struct sim_page *pg;
	struct mmt t;
	u64 *data;
	hva_t a;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(mmt_stats(&t).swap_writes, 1);

	assert_true(mmt_check(&t, a, 1));
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(mmt_stats(&t).swap_outs, 2);
	assert_int_equal(mmt_stats(&t).swap_writes, 1);
	assert_true(mmt_check(&t, a, 1));

	mmt_fill(&t, a, 2);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(mmt_stats(&t).swap_writes, 2);
	assert_true(mmt_check(&t, a, 2));

	/* A write the host PTE does not see, reported by the reference holder. */
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a, 1, SIM_FOLL_WRITE, &pg), 1);
	data = sim_pfn_to_virt(t.host, sim_page_to_pfn(t.host, pg));
	data[0] = 0x3333;
	sim_set_page_dirty(t.host, pg);
	sim_put_page(t.host, pg);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(mmt_stats(&t).swap_writes, 3);
	assert_int_equal(sim_mm_read(t.mm, a, data = malloc(8), 8), 0);
	assert_true(data[0] == 0x3333);
	free(data);

	/* The same write, not reported: reclaim drops the page, the write is lost. */
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a, 1, SIM_FOLL_WRITE, &pg), 1);
	data = sim_pfn_to_virt(t.host, sim_page_to_pfn(t.host, pg));
	data[0] = 0x4444;
	sim_put_page(t.host, pg);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(mmt_stats(&t).swap_writes, 3);
	assert_int_equal(sim_mm_read(t.mm, a, data = malloc(8), 8), 0);
	assert_true(data[0] == 0x3333);
	free(data);
	mmt_fini(&t);
}

/*
 * The swap cache follows the page through migration (with its dirty mark),
 * and its slot is freed when the page is unmapped or collapsed (the
 * fixture's teardown counts every kmalloc'd slot).
 *
 *   a      swapped in clean, migrated           -> still clean: dropped
 *   a+4K   swapped in clean, dirtied by a GUP   -> still dirty: written
 *          holder, migrated
 *   a+8K   swapped in clean, then munmap'ed     -> slot freed
 *   b      2M THP-eligible: one page swapped in clean, then the 2M is
 *          collapsed into a THP                 -> slot freed
 */
static void test_swap_cache_lifetime(void **state)
{
	struct sim_page *pg;
	struct mmt t;
	hva_t a, b;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 3 * PAGE_SIZE, RW, PRIV);
	for (i = 0; i < 3; i++) {
		mmt_fill(&t, a + i * PAGE_SIZE, 10 + i);
		assert_int_equal(sim_swap_out(t.mm, a + i * PAGE_SIZE), 0);
		assert_true(mmt_check(&t, a + i * PAGE_SIZE, 10 + i));
		assert_true(sim_page_flags(t.host, page_at(&t, a + i * PAGE_SIZE)) &
			    SIM_PG_SWAPCACHE);
	}
	assert_int_equal(sim_get_user_pages_fast_only(t.mm, a + PAGE_SIZE, 1, 0, &pg), 1);
	sim_set_page_dirty(t.host, pg);
	sim_put_page(t.host, pg);
	pg = page_at(&t, a);
	assert_int_equal(sim_migrate_range(t.mm, a, 2 * PAGE_SIZE, NULL), 0);
	assert_ptr_not_equal(page_at(&t, a), pg);
	assert_int_equal(sim_page_flags(t.host, page_at(&t, a)) & (SIM_PG_SWAPCACHE | SIM_PG_DIRTY),
			 SIM_PG_SWAPCACHE);
	assert_int_equal(sim_page_flags(t.host, page_at(&t, a + PAGE_SIZE)) &
				 (SIM_PG_SWAPCACHE | SIM_PG_DIRTY),
			 SIM_PG_SWAPCACHE | SIM_PG_DIRTY);
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), 0);
	assert_int_equal(mmt_stats(&t).swap_writes, 3 + 1);
	assert_true(mmt_check(&t, a, 10));
	assert_true(mmt_check(&t, a + PAGE_SIZE, 11));
	assert_int_equal(sim_munmap(t.mm, a, 3 * PAGE_SIZE), 0);

	b = mmt_mmap(&t, 4 * SZ_1M_T, RW, PRIV);
	b = ALIGN(b, SZ_2M);
	assert_int_equal(sim_madvise(t.mm, b, SZ_2M, SIM_MADV_NOHUGEPAGE), 0);
	mmt_fill(&t, b + 5 * PAGE_SIZE, 20);
	assert_int_equal(sim_swap_out(t.mm, b + 5 * PAGE_SIZE), 0);
	assert_true(mmt_check(&t, b + 5 * PAGE_SIZE, 20));
	assert_int_equal(sim_madvise(t.mm, b, SZ_2M, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_collapse_thp(t.mm, b), 0);
	assert_int_equal(mmt_level(&t, b), PG_LEVEL_2M);
	assert_true(mmt_check(&t, b + 5 * PAGE_SIZE, 20));
	mmt_fini(&t);
}

/*
 * MADV_PAGEOUT, the host's reclaim of a range:
 *
 *   a     p0 dirty   p1 clean (swap cache)   p2 zero page   p3 none
 *         p4 pinned  p5..p7 dirty
 *   -> p0, p5..p7 written; p1 dropped; p2, p3 untouched; p4 stays.
 *   thp   a 2M THP: split, then its 512 pages written.
 * A locked, hugetlb or VM_PFNMAP VMA in the range is -EINVAL, a hole
 * -ENOMEM, and nothing is reclaimed then.
 */
static void test_madvise_pageout(void **state)
{
	struct sim_host_stats st;
	struct sim_page *pin;
	struct mmt t;
	hva_t a, thp, l, h;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 8 * PAGE_SIZE, RW, PRIV);
	for (i = 0; i < 8; i++)
		if (i != 2 && i != 3)
			mmt_fill(&t, a + i * PAGE_SIZE, 30 + i);
	assert_int_equal(sim_swap_out(t.mm, a + PAGE_SIZE), 0);
	assert_true(mmt_check(&t, a + PAGE_SIZE, 31));
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), 0);
	assert_int_equal(sim_pin_user_pages(t.mm, a + 4 * PAGE_SIZE, 1, 0, &pin), 1);
	st = mmt_stats(&t);
	assert_int_equal(sim_madvise(t.mm, a, 8 * PAGE_SIZE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(mmt_stats(&t).swap_outs - st.swap_outs, 5);
	assert_int_equal(mmt_stats(&t).swap_writes - st.swap_writes, 4);
	assert_int_equal(mmt_level(&t, a + 4 * PAGE_SIZE), PG_LEVEL_4K);
	assert_int_equal(mmt_pfn(&t, a + 2 * PAGE_SIZE), t.mm->zero_pfn);
	assert_int_equal(mmt_level(&t, a), 0);
	sim_unpin_user_page(t.host, pin);
	for (i = 0; i < 8; i++)
		if (i != 2 && i != 3)
			assert_true(mmt_check(&t, a + i * PAGE_SIZE, 30 + i));

	thp = ALIGN(mmt_mmap(&t, 4 * SZ_1M_T, RW, PRIV | SIM_MAP_THP), SZ_2M);
	mmt_fill(&t, thp + 7 * PAGE_SIZE, 40);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	st = mmt_stats(&t);
	assert_int_equal(sim_madvise(t.mm, thp, SZ_2M, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(mmt_stats(&t).thp_splits - st.thp_splits, 1);
	assert_int_equal(mmt_stats(&t).swap_writes - st.swap_writes, 512);
	assert_true(mmt_check(&t, thp + 7 * PAGE_SIZE, 40));

	l = mmt_mmap(&t, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED);
	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_POPULATE);
	st = mmt_stats(&t);
	assert_int_equal(sim_madvise(t.mm, l, PAGE_SIZE, SIM_MADV_PAGEOUT), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, h, SZ_2M, SIM_MADV_PAGEOUT), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, a, 8 * PAGE_SIZE + 4096, SIM_MADV_PAGEOUT), -ENOMEM);
	assert_int_equal(sim_madvise(t.mm, a + 1, PAGE_SIZE, SIM_MADV_PAGEOUT), -EINVAL);
	assert_int_equal(mmt_stats(&t).swap_outs, st.swap_outs);
	mmt_fini(&t);
}

/* ======================== memory failure ======================== */

/*
 * Records whether the page mapped at each invalidation's start is poisoned
 * when the start and the end callbacks run: memory failure must set the
 * flag between the two, so that no secondary MMU can map the folio again
 * once it has dropped it.
 */
struct poison_watch {
	struct sim_mmu_notifier mn;
	int starts, ends;
	bool poisoned_at_start, poisoned_at_end;
};

static bool poisoned_at(struct sim_mm *mm, hva_t addr)
{
	struct sim_host_pte_info info;

	if (sim_mm_lookup(mm, addr, &info))
		return false;
	return sim_page_flags(mm->host, sim_pfn_to_page(mm->host, info.pfn)) & SIM_PG_HWPOISON;
}

static int pw_start(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct poison_watch *w = container_of(mn, struct poison_watch, mn);

	w->starts++;
	w->poisoned_at_start |= poisoned_at(range->mm, range->start);
	return 0;
}

static void pw_end(struct sim_mmu_notifier *mn, const struct sim_mmu_notifier_range *range)
{
	struct poison_watch *w = container_of(mn, struct poison_watch, mn);

	w->ends++;
	w->poisoned_at_end |= poisoned_at(range->mm, range->start);
}

static const struct sim_mmu_notifier_ops pw_ops = {
	.invalidate_range_start = pw_start,
	.invalidate_range_end = pw_end,
};

static bool page_poisoned(struct mmt *t, hva_t addr)
{
	return sim_page_flags(t->host, page_at(t, addr)) & SIM_PG_HWPOISON;
}

/*
 * MADV_HWPOISON of 4K anonymous pages:
 *
 *   a     p0 written   p1 never touched   p2 zero page   p3 written   | hole
 *   madvise(a, 4p)  -> p0 and p3 poisoned, one CLEAR pair of 4K each;
 *                      p1 (nothing mapped) and p2 (the zero page) skipped
 *   again           -> nothing new: no event, no count
 *   madvise(a, 5p)  -> -ENOMEM (the hole), nothing done
 *   pfn: | 1000 |      VM_PFNMAP of a RAM frame: skipped, not poisoned
 */
/*
 * A poisoned folio is out of service: migration, swap-out and collapse
 * refuse it (-EBUSY / collapse fails), so its poison cannot be copied
 * away into a clean page and the address cannot start working again.
 *
 *   a: 4K anonymous, written, poisoned      a2: a THP-eligible 2M region
 */
static void test_hwpoison_is_not_moved(void **state)
{
	struct mmt t;
	hva_t a, a2;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	assert_int_equal(sim_madvise(t.mm, a, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(sim_migrate_page(t.mm, a), -EBUSY);
	assert_int_equal(sim_swap_out(t.mm, a), -EBUSY);
	assert_int_equal(sim_mm_touch(t.mm, a, false), -EHWPOISON);

	/* Two 4K-populated THP-eligible regions: the clean one collapses. */
	a2 = mmt_mmap(&t, 2 * SZ_2M, RW, PRIV);
	for (i = 0; i < 1024; i++)
		mmt_fill(&t, a2 + i * PAGE_SIZE, 2);
	assert_int_equal(sim_madvise(t.mm, a2, 2 * SZ_2M, SIM_MADV_HUGEPAGE), 0);
	assert_int_equal(sim_collapse_thp(t.mm, a2 + SZ_2M), 0);
	assert_int_equal(mmt_level(&t, a2 + SZ_2M), PG_LEVEL_2M);
	assert_int_equal(sim_madvise(t.mm, a2 + PAGE_SIZE, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_true(sim_collapse_thp(t.mm, a2) < 0);
	assert_int_equal(mmt_level(&t, a2), PG_LEVEL_4K);
	assert_int_equal(sim_mm_touch(t.mm, a2 + PAGE_SIZE, false), -EHWPOISON);
	mmt_fini(&t);
}

static void test_madvise_hwpoison_4k(void **state)
{
	struct poison_watch w = { .mn.ops = &pw_ops };
	struct recorder *r;
	struct mmt t;
	hva_t a, p;
	int s;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), 0);
	mmt_fill(&t, a + 3 * PAGE_SIZE, 3);
	r = rec_register(t.mm);
	assert_int_equal(sim_mmu_notifier_register(&w.mn, t.mm), 0);
	assert_int_equal(sim_madvise(t.mm, a, 4 * PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 2);
	assert_true(page_poisoned(&t, a));
	assert_true(page_poisoned(&t, a + 3 * PAGE_SIZE));
	assert_false(page_poisoned(&t, a + 2 * PAGE_SIZE));
	assert_int_equal(mmt_level(&t, a + PAGE_SIZE), 0);
	/* The host page table still maps the poisoned page (see host.h). */
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);
	assert_int_equal(r->nr, 4);
	assert_int_equal(r->ev[0].kind, REC_START);
	assert_int_equal(r->ev[0].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[0].start, a);
	assert_int_equal(r->ev[0].end, a + PAGE_SIZE);
	s = rec_find(r, REC_START, 1);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, a + 3 * PAGE_SIZE);
	assert_int_equal(r->ev[s].end, a + 4 * PAGE_SIZE);
	rec_assert_balanced(r);
	assert_int_equal(w.starts, 2);
	assert_int_equal(w.ends, 2);
	assert_false(w.poisoned_at_start);
	assert_true(w.poisoned_at_end);

	rec_clear(r);
	assert_int_equal(sim_madvise(t.mm, a, 4 * PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(r->nr, 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 2);

	assert_int_equal(sim_madvise(t.mm, a, 5 * PAGE_SIZE, SIM_MADV_HWPOISON), -ENOMEM);
	assert_int_equal(sim_madvise(t.mm, a + 1, PAGE_SIZE, SIM_MADV_HWPOISON), -EINVAL);
	assert_int_equal(sim_madvise(t.mm, a, 0, SIM_MADV_HWPOISON), 0);
	assert_int_equal(r->nr, 0);
	mmt_fill(&t, a + PAGE_SIZE, 2);
	assert_int_equal(sim_madvise(t.mm, a + PAGE_SIZE, 5 * PAGE_SIZE, SIM_MADV_HWPOISON),
			 -ENOMEM);
	assert_false(page_poisoned(&t, a + PAGE_SIZE)); /* nothing done on the error */

	assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, RW, 1000, &p), 0);
	assert_int_equal(sim_madvise(t.mm, p, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_false(sim_page_flags(t.host, sim_pfn_to_page(t.host, 1000)) & SIM_PG_HWPOISON);
	assert_int_equal(r->nr, 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 2);
	sim_mmu_notifier_unregister(&w.mn);
	rec_unregister(r);
	/* The poisoned pages are freed with the mm; the teardown counts them back. */
	mmt_fini(&t);
}

/*
 * A poisoned THP or hugetlb page is poisoned whole, and the invalidation
 * covers the whole folio wherever in it the range starts:
 *
 *   thp   [ 2M THP, PMD-mapped ]   madvise(thp+5p, 1p)  -> [thp, thp+2M)
 *   h     [ 2M hugetlb ]           madvise(h+3p, 1p)    -> [h, h+2M)
 *   pte   [ THP pages 0..510 PTE-mapped | none ]
 *                                  madvise(pte+7p, 1p)  -> [pte, pte+2M), not
 *                                  just the 4K of page 7: the folio's other
 *                                  PTEs map poisoned memory too
 */
static void test_madvise_hwpoison_huge(void **state)
{
	struct sim_page *pg;
	struct recorder *r;
	struct mmt t;
	hva_t thp, h, pte;
	int s;

	mmt_init(&t, 0);
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	mmt_fill(&t, thp + 5 * PAGE_SIZE, 5);
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_touch(t.mm, h, true), 0);
	pg = make_pte_mapped_thp(&t, &pte);
	sim_put_page(t.host, pg);
	r = rec_register(t.mm);

	assert_int_equal(sim_madvise(t.mm, thp + 5 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 512);
	assert_true(page_poisoned(&t, thp));
	assert_true(page_poisoned(&t, thp + 511 * PAGE_SIZE));
	assert_int_equal(mmt_level(&t, thp), PG_LEVEL_2M);
	assert_int_equal(r->nr, 2);
	assert_int_equal(r->ev[0].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[0].start, thp);
	assert_int_equal(r->ev[0].end, thp + SZ_2M);
	rec_assert_balanced(r);

	rec_clear(r);
	assert_int_equal(sim_madvise(t.mm, h + 3 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 1024);
	assert_true(sim_page_flags(t.host, page_at(&t, h)) & SIM_PG_HUGETLB);
	assert_true(page_poisoned(&t, h + 100 * PAGE_SIZE));
	assert_int_equal(r->nr, 2);
	assert_int_equal(r->ev[0].start, h);
	assert_int_equal(r->ev[0].end, h + SZ_2M);

	rec_clear(r);
	assert_int_equal(sim_madvise(t.mm, pte + 7 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 1536);
	assert_int_equal(mmt_level(&t, pte), PG_LEVEL_4K);
	assert_true(page_poisoned(&t, pte));
	assert_true(page_poisoned(&t, pte + 510 * PAGE_SIZE));
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->nr, 2);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, pte);
	assert_int_equal(r->ev[s].end, pte + SZ_2M);
	rec_assert_balanced(r);
	/* The rest of the folio is poisoned already: nothing more to tell. */
	rec_clear(r);
	assert_int_equal(sim_madvise(t.mm, pte, 511 * PAGE_SIZE, SIM_MADV_HWPOISON), 0);
	assert_int_equal(r->nr, 0);
	assert_int_equal(mmt_stats(&t).hwpoisoned_pages, 1536);
	rec_unregister(r);
	mmt_fini(&t);
}

/* ======================== zap_vma_ptes ======================== */

/*
 *   p: | 1000 | 1001 | 1002 | 1003 |   VM_PFNMAP, RW
 *   zap(p+1p, 2p)  | 1000 |  --  |  --  | 1003 |   one UNMAP pair, VMA stays
 *   read p+1p      | 1000 | 1001 |  --  | 1003 |   refaulted: the same PFN
 *   ro: | 2000 |   read-only: refaulted read-only
 *   mprotect(p+2p, 2p, R) splits the VMA; a zap and refault of the upper
 *   part still finds its own PFNs (1002, 1003)
 */
static void test_zap_vma_ptes(void **state)
{
	struct sim_host_pte_info info;
	struct recorder *r;
	struct mmt t;
	unsigned long fl;
	hva_t p, ro, a;
	u64 word = 0, *frame;
	int s;

	mmt_init(&t, 0);
	assert_int_equal(sim_mmap_pfn(t.mm, 0, 4 * PAGE_SIZE, RW, 1000, &p), 0);
	frame = sim_pfn_to_virt(t.host, 1001);
	frame[1] = 0x1001;
	r = rec_register(t.mm);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + PAGE_SIZE, 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_mm_lookup(t.mm, p + PAGE_SIZE, &info), -EFAULT);
	assert_int_equal(sim_mm_lookup(t.mm, p + 2 * PAGE_SIZE, &info), -EFAULT);
	assert_int_equal(mmt_pfn(&t, p), 1000);
	assert_int_equal(mmt_pfn(&t, p + 3 * PAGE_SIZE), 1003);
	assert_int_equal(t.mm->nr_vmas, 1);
	assert_int_equal(sim_mm_vma_flags(t.mm, p + PAGE_SIZE, &fl), 0);
	assert_true(fl & SIM_VM_PFNMAP);
	assert_int_equal(r->nr, 2);
	s = rec_find(r, REC_START, 0);
	assert_int_equal(r->ev[s].event, SIM_MMU_NOTIFY_CLEAR);
	assert_int_equal(r->ev[s].start, p + PAGE_SIZE);
	assert_int_equal(r->ev[s].end, p + 3 * PAGE_SIZE);
	assert_int_equal(r->ev[s].lookup, 0);
	assert_int_equal(r->ev[rec_find(r, REC_END, 0)].lookup, -EFAULT);
	rec_assert_balanced(r);

	/* The next access faults the frame back in; a new mapping needs no event. */
	rec_clear(r);
	assert_int_equal(sim_mm_read(t.mm, p + PAGE_SIZE + 8, &word, sizeof(word)), 0);
	assert_int_equal(word, 0x1001);
	assert_int_equal(sim_mm_lookup(t.mm, p + PAGE_SIZE, &info), 0);
	assert_int_equal(info.pfn, 1001);
	assert_true(info.writable);
	assert_int_equal(sim_mm_lookup(t.mm, p + 2 * PAGE_SIZE, &info), -EFAULT);
	assert_int_equal(r->nr, 0);

	/* Zapping what is already zapped is fine. */
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + 2 * PAGE_SIZE, PAGE_SIZE), 0);

	/* Not one whole VM_PFNMAP VMA: -EINVAL, nothing zapped. */
	rec_clear(r);
	a = mmt_mmap(&t, 2 * PAGE_SIZE, RW, PRIV | SIM_MAP_POPULATE);
	assert_int_equal(sim_zap_vma_ptes(t.mm, a, PAGE_SIZE), -EINVAL);
	assert_int_equal(mmt_level(&t, a), PG_LEVEL_4K);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + 3 * PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL);
	assert_int_equal(mmt_pfn(&t, p + 3 * PAGE_SIZE), 1003);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + 1, PAGE_SIZE), -EINVAL);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p, 0), -EINVAL);
	assert_int_equal(sim_zap_vma_ptes(t.mm, 0x10000, PAGE_SIZE), -EINVAL);
	assert_int_equal(sim_zap_vma_ptes(t.mm, SIM_TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE),
			 -EINVAL);
	assert_int_equal(sim_zap_vma_ptes(NULL, p, PAGE_SIZE), -EINVAL);
	assert_int_equal(r->nr, 0);

	/* Read-only: it comes back read-only, and a write still fails. */
	assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, SIM_PROT_READ, 2000, &ro), 0);
	assert_int_equal(sim_zap_vma_ptes(t.mm, ro, 100), 0); /* len rounds up */
	assert_int_equal(sim_mm_lookup(t.mm, ro, &info), -EFAULT);
	assert_int_equal(sim_mm_write(t.mm, ro, &word, sizeof(word)), -EFAULT);
	assert_int_equal(sim_mm_touch(t.mm, ro, false), 0);
	assert_int_equal(sim_mm_lookup(t.mm, ro, &info), 0);
	assert_int_equal(info.pfn, 2000);
	assert_false(info.writable);

	/* A split VMA remembers the PFNs of its own part. */
	assert_int_equal(sim_mprotect(t.mm, p + 2 * PAGE_SIZE, 2 * PAGE_SIZE, SIM_PROT_READ), 0);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + 2 * PAGE_SIZE, 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_zap_vma_ptes(t.mm, p + PAGE_SIZE, 2 * PAGE_SIZE), -EINVAL);
	assert_int_equal(sim_mm_touch(t.mm, p + 3 * PAGE_SIZE, false), 0);
	assert_int_equal(mmt_pfn(&t, p + 3 * PAGE_SIZE), 1003);
	assert_int_equal(sim_mm_touch(t.mm, p + 2 * PAGE_SIZE, false), 0);
	assert_int_equal(mmt_pfn(&t, p + 2 * PAGE_SIZE), 1002);
	rec_unregister(r);
	mmt_fini(&t);
}

/* ======================== aging ======================== */

static void test_age_range(void **state)
{
	struct recorder *r;
	struct mmt t;
	hva_t a, thp;
	int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 8 * PAGE_SIZE, RW, PRIV);
	thp = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_THP);
	for (i = 0; i < 4; i++)
		assert_int_equal(sim_mm_touch(t.mm, a + i * PAGE_SIZE, true), 0);
	assert_int_equal(sim_mm_touch(t.mm, thp, true), 0);
	assert_int_equal(sim_mm_test_young_range(t.mm, a, 8 * PAGE_SIZE), 4);
	assert_int_equal(sim_mm_test_young_range(t.mm, a, 8 * PAGE_SIZE), 4);
	assert_int_equal(sim_mm_age_range(t.mm, a, 8 * PAGE_SIZE), 4);
	assert_int_equal(sim_mm_age_range(t.mm, a, 8 * PAGE_SIZE), 0);
	/* Part of a THP: only the pages in the range count. */
	assert_int_equal(sim_mm_age_range(t.mm, thp + PAGE_SIZE, 3 * PAGE_SIZE), 3);
	assert_int_equal(sim_mm_test_young_range(t.mm, thp, SZ_2M), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), 0);
	assert_int_equal(sim_mm_test_young_range(t.mm, a, 8 * PAGE_SIZE), 1);

	/* The secondary MMU's young bits count too; its callbacks get the ranges. */
	r = rec_register(t.mm);
	r->young_ret = 1;
	assert_int_equal(sim_mm_age_range(t.mm, a, 8 * PAGE_SIZE), 4);
	assert_int_equal(rec_find(r, REC_TEST_YOUNG, 0), -1);
	i = rec_find(r, REC_CLEAR_YOUNG, 0);
	assert_int_equal(r->ev[i].start, a);
	assert_int_equal(r->ev[i].end, a + PAGE_SIZE);
	assert_int_equal(sim_mm_test_young_range(t.mm, thp, SZ_2M), 512);
	assert_int_equal(mmt_stats(&t).notifier_young, 5);
	r->young_ret = 0;
	assert_int_equal(sim_mm_age_range(t.mm, a, 8 * PAGE_SIZE), 0);
	rec_unregister(r);
	assert_int_equal(sim_mm_age_range(NULL, a, PAGE_SIZE), -EINVAL);
	assert_int_equal(sim_mm_age_range(t.mm, a, 0), 0);
	mmt_fini(&t);
}

/* ======================== frame observer, compaction ======================== */

#define OBS_MAX 64
struct frame_obs {
	int nr;
	struct {
		int ev;
		kvm_pfn_t old_pfn, new_pfn;
		u64 nr;
	} e[OBS_MAX];
	bool released;
};

static void obs_event(void *priv, enum sim_frame_event ev, kvm_pfn_t old_pfn, kvm_pfn_t new_pfn,
		      u64 nr, unsigned int gfp)
{
	struct frame_obs *o = priv;

	if (o->nr < OBS_MAX) {
		o->e[o->nr].ev = ev;
		o->e[o->nr].old_pfn = old_pfn;
		o->e[o->nr].new_pfn = new_pfn;
		o->e[o->nr].nr = nr;
		o->nr++;
	}
}

static void obs_release(void *priv)
{
	((struct frame_obs *)priv)->released = true;
}

static const struct sim_frame_observer_ops obs_ops = { .event = obs_event, .release = obs_release };
static const struct sim_frame_observer_ops obs_ops2 = { .event = obs_event };

/* The first event of kind @ev from index @from on, or -1. */
static int obs_find(struct frame_obs *o, int ev, int from)
{
	for (; from < o->nr; from++)
		if (o->e[from].ev == ev)
			return from;
	return -1;
}

/*
 * Every host path that moves data reports old and new frame; frees and
 * allocations are reported too, and a frame that moved is freed after its
 * move event.
 */
static void test_frame_observer_events(void **state)
{
	struct frame_obs *o = calloc(1, sizeof(*o));
	struct sim_page *pg;
	kvm_pfn_t p0, p1;
	struct mmt t;
	hva_t a, thp;
	u64 moved;
	int i, j;

	mmt_init(&t, 0);
	assert_int_equal(sim_host_set_frame_observer(NULL, &obs_ops, o), -EINVAL);
	assert_int_equal(sim_host_set_frame_observer(t.host, NULL, o), -EINVAL);
	assert_int_equal(sim_host_set_frame_observer(t.host, &obs_ops, o), 0);
	assert_int_equal(sim_host_set_frame_observer(t.host, &obs_ops2, o), -EBUSY);
	assert_ptr_equal(sim_host_frame_observer(t.host, &obs_ops), o);
	assert_null(sim_host_frame_observer(t.host, &obs_ops2));
	assert_null(sim_host_frame_observer(NULL, &obs_ops));

	a = mmt_mmap(&t, 4 * PAGE_SIZE, RW, PRIV);
	mmt_fill(&t, a, 1);
	p0 = mmt_pfn(&t, a);
	i = obs_find(o, SIM_FRAME_ALLOC, 0);
	assert_true(i >= 0);
	/* migration: MIGRATE old -> new, then FREE of old */
	o->nr = 0;
	assert_int_equal(sim_migrate_page(t.mm, a), 0);
	p1 = mmt_pfn(&t, a);
	i = obs_find(o, SIM_FRAME_MIGRATE, 0);
	assert_true(i >= 0);
	assert_int_equal(o->e[i].old_pfn, p0);
	assert_int_equal(o->e[i].new_pfn, p1);
	assert_int_equal(o->e[i].nr, 1);
	j = obs_find(o, SIM_FRAME_FREE, i);
	assert_true(j > i);
	assert_int_equal(o->e[j].old_pfn, p0);
	assert_true(obs_find(o, SIM_FRAME_ALLOC, 0) < i); /* the target, first */

	/* compaction: COMPACT; unmovable pages (pinned FOLL_LONGTERM) stay */
	o->nr = 0;
	assert_int_equal(sim_compact_range(t.mm, a, PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 1);
	i = obs_find(o, SIM_FRAME_COMPACT, 0);
	assert_int_equal(o->e[i].old_pfn, p1);
	assert_int_equal(o->e[i].new_pfn, mmt_pfn(&t, a));
	assert_true(mmt_check(&t, a, 1));
	o->nr = 0;
	assert_int_equal(sim_pin_user_pages(t.mm, a, 1, SIM_FOLL_WRITE | SIM_FOLL_LONGTERM, &pg),
			 1);
	i = obs_find(o, SIM_FRAME_LONGTERM, 0);
	assert_true(i >= 0);
	assert_int_equal(o->e[i].new_pfn, mmt_pfn(&t, a));
	assert_true(mmt_check(&t, a, 1));
	o->nr = 0;
	assert_int_equal(sim_compact_range(t.mm, a, PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 0);
	assert_int_equal(obs_find(o, SIM_FRAME_COMPACT, 0), -1);
	/* migration of a page pinned in movable memory: -EBUSY; compaction skips it */
	sim_unpin_user_page(t.host, pg);
	assert_int_equal(sim_pin_user_pages(t.mm, a + PAGE_SIZE, 1, SIM_FOLL_WRITE, &pg), 1);
	assert_int_equal(sim_migrate_range(t.mm, a + PAGE_SIZE, PAGE_SIZE, &moved), -EBUSY);
	assert_int_equal(sim_compact_range(t.mm, a + PAGE_SIZE, PAGE_SIZE, &moved), 0);
	assert_int_equal(moved, 0);
	sim_unpin_user_page(t.host, pg);
	assert_int_equal(sim_compact_range(t.mm, a + 64 * PAGE_SIZE, PAGE_SIZE, &moved), -EFAULT);
	assert_int_equal(sim_compact_range(NULL, a, PAGE_SIZE, &moved), -EINVAL);

	/* swap: SWAP_OUT from p, SWAP_IN names that p as the old frame */
	p0 = mmt_pfn(&t, a);
	o->nr = 0;
	assert_int_equal(sim_swap_out(t.mm, a), 0);
	i = obs_find(o, SIM_FRAME_SWAP_OUT, 0);
	assert_int_equal(o->e[i].old_pfn, p0);
	assert_int_equal(o->e[i].new_pfn, SIM_FRAME_NO_PFN);
	assert_true(obs_find(o, SIM_FRAME_FREE, i) > i);
	o->nr = 0;
	assert_true(mmt_check(&t, a, 1));
	i = obs_find(o, SIM_FRAME_SWAP_IN, 0);
	assert_int_equal(o->e[i].old_pfn, p0);
	assert_int_equal(o->e[i].new_pfn, mmt_pfn(&t, a));

	/* COW of the zero page: old is the zero page */
	o->nr = 0;
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, false), 0);
	assert_int_equal(sim_mm_touch(t.mm, a + 2 * PAGE_SIZE, true), 0);
	i = obs_find(o, SIM_FRAME_COW, 0);
	assert_true(i >= 0);
	assert_int_equal(o->e[i].old_pfn, t.mm->zero_pfn);
	assert_int_equal(o->e[i].new_pfn, mmt_pfn(&t, a + 2 * PAGE_SIZE));
	assert_int_equal(sim_munmap(t.mm, a, 4 * PAGE_SIZE), 0);

	/* collapse: one COLLAPSE per 4K page, into the new THP's frames */
	thp = mmt_mmap(&t, 4 * SZ_2M, RW, PRIV | SIM_MAP_THP);
	thp = ALIGN(thp, SZ_2M);
	assert_int_equal(sim_madvise(t.mm, thp, SZ_2M, SIM_MADV_NOHUGEPAGE), 0);
	mmt_fill(&t, thp, 5);
	mmt_fill(&t, thp + PAGE_SIZE, 6);
	p0 = mmt_pfn(&t, thp + PAGE_SIZE);
	assert_int_equal(sim_madvise(t.mm, thp, SZ_2M, SIM_MADV_HUGEPAGE), 0);
	o->nr = 0;
	assert_int_equal(sim_collapse_thp(t.mm, thp), 0);
	i = obs_find(o, SIM_FRAME_COLLAPSE, 0);
	i = obs_find(o, SIM_FRAME_COLLAPSE, i + 1);
	assert_int_equal(o->e[i].old_pfn, p0);
	assert_int_equal(o->e[i].new_pfn, mmt_pfn(&t, thp + PAGE_SIZE));
	assert_true(mmt_check(&t, thp + PAGE_SIZE, 6));

	sim_mm_destroy(t.mm);
	t.mm = NULL;
	assert_false(o->released);
	sim_host_destroy(t.host);
	assert_true(o->released);
	assert_int_equal(strcmp(sim_frame_event_name(SIM_FRAME_SWAP_IN), "swap"), 0);
	assert_int_equal(strcmp(sim_frame_event_name(-1), "?"), 0);
	assert_int_equal(strcmp(sim_frame_event_name(SIM_FRAME_NR_EVENTS), "?"), 0);
	free(o);
}

/* CAP_IPC_LOCK lifts RLIMIT_MEMLOCK for mlock and account_locked_vm(), as Linux. */
static void test_cap_ipc_lock(void **state)
{
	struct mmt t;
	hva_t a;

	mmt_init(&t, 0);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 2 * PAGE_SIZE), 0);
	assert_int_equal(sim_mm_memlock_limit(t.mm), 2 * PAGE_SIZE);
	assert_int_equal(sim_mm_memlock_limit(NULL), 0);
	assert_false(sim_mm_capable_ipc_lock(t.mm));
	assert_int_equal(sim_account_locked_vm(t.mm, 3, true), -ENOMEM);
	assert_int_equal(sim_mmap(t.mm, 0, 4 * PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &a), -EAGAIN);
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, true), 0);
	assert_true(sim_mm_capable_ipc_lock(t.mm));
	assert_int_equal(sim_account_locked_vm(t.mm, 3, true), 0);
	assert_int_equal(sim_mmap(t.mm, 0, 4 * PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &a), 0);
	assert_int_equal(sim_mm_locked_vm(t.mm), 7);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 0), 0);
	assert_int_equal(sim_munmap(t.mm, a, 4 * PAGE_SIZE), 0);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &a), 0);
	assert_int_equal(sim_munmap(t.mm, a, PAGE_SIZE), 0);
	assert_int_equal(sim_account_locked_vm(t.mm, 3, false), 0);
	assert_int_equal(sim_mm_set_cap_ipc_lock(t.mm, false), 0);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &a), -EPERM);
	assert_int_equal(sim_mm_set_cap_ipc_lock(NULL, true), -EINVAL);
	assert_false(sim_mm_capable_ipc_lock(NULL));
	mmt_fini(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_munmap_split_and_errors),
		MMUSIM_TEST(test_frame_observer_events),
		MMUSIM_TEST(test_cap_ipc_lock),
		MMUSIM_TEST(test_munmap_hugetlb_and_thp),
		MMUSIM_TEST(test_munmap_pinned_thp),
		MMUSIM_TEST(test_layout_ops_fail_nth),
		MMUSIM_TEST(test_mprotect),
		MMUSIM_TEST(test_mprotect_shared_and_hugetlb),
		MMUSIM_TEST(test_madvise_dontneed),
		MMUSIM_TEST(test_madvise_hugepage_flags),
		MMUSIM_TEST(test_migrate_page),
		MMUSIM_TEST(test_migrate_huge),
		MMUSIM_TEST(test_migrate_range),
		MMUSIM_TEST(test_migrate_fail_nth),
		MMUSIM_TEST(test_split_thp),
		MMUSIM_TEST(test_collapse_thp),
		MMUSIM_TEST(test_collapse_pte_mapped_thp),
		MMUSIM_TEST(test_migrate_pte_mapped_thp),
		MMUSIM_TEST(test_thp_fail_nth),
		MMUSIM_TEST(test_swap_roundtrip),
		MMUSIM_TEST(test_swap_clean_and_dirty),
		MMUSIM_TEST(test_swap_cache_lifetime),
		MMUSIM_TEST(test_madvise_pageout),
		MMUSIM_TEST(test_madvise_hwpoison_4k),
		MMUSIM_TEST(test_hwpoison_is_not_moved),
		MMUSIM_TEST(test_madvise_hwpoison_huge),
		MMUSIM_TEST(test_zap_vma_ptes),
		MMUSIM_TEST(test_age_range),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("mm_ops", tests);
}
