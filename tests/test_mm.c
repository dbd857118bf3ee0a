// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of src/host/mm.c: mm lifetime, VMAs, mmap address picking, hugetlb
 * alignment, VM_PFNMAP mappings, RLIMIT_MEMLOCK, teardown events.
 *
 * Address layout used by the picking tests (top-down from the mmap base):
 *
 *      0x7f0000000000 (SIM_MMAP_BASE)
 *   ...|  B  |  A  |            A mapped first, B right below it: one VMA
 *      ^ aligned to 2M for lengths that are multiples of 2M
 */
#include "mm_test_util.h"

static struct sim_vma *first_vma(struct sim_mm *mm)
{
	return list_first_entry_or_null(&mm->vmas, struct sim_vma, node);
}

static void test_mm_create_destroy(void **state)
{
	struct sim_host *host;
	struct sim_mm *mm, *mm2;
	struct sim_host_stats st;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(NULL, &mm), -EINVAL);
	assert_int_equal(sim_mm_create(host, NULL), -EINVAL);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(sim_mm_create(host, &mm2), 0);
	assert_ptr_equal(sim_mm_host(mm), host);
	assert_false(list_empty(&host->mm_list));
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.pgtable_pages, 2); /* two PGDs */
	assert_int_equal(st.ram_pages - st.free_pages, 2); /* two zero pages */
	sim_mm_destroy(mm);
	sim_mm_destroy(mm2);
	sim_mm_destroy(NULL);
	assert_true(list_empty(&host->mm_list));
	assert_int_equal(sim_host_get_stats(host, &st), 0);
	assert_int_equal(st.pgtable_pages, 0);
	assert_int_equal(st.free_pages, st.ram_pages);
	sim_host_destroy(host);
}

static int scenario_create(void)
{
	struct sim_host *host;
	struct sim_mm *mm;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (!r)
		sim_mm_destroy(mm);
	sim_host_destroy(host);
	return r;
}

static void test_mm_create_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_create());
}

static void test_mmap_topdown_aligned_and_merged(void **state)
{
	struct mmt t;
	hva_t a, b, c;
	unsigned long fl;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 4 * SZ_2M, RW, PRIV);
	assert_true(a < SIM_MMAP_BASE && a + 4 * SZ_2M <= SIM_MMAP_BASE);
	assert_true(IS_ALIGNED(a, SZ_2M));
	b = mmt_mmap(&t, 4 * SZ_2M, RW, PRIV);
	assert_int_equal(b + 4 * SZ_2M, a);
	/* Same flags, adjacent: one VMA. */
	assert_int_equal(t.mm->nr_vmas, 1);
	assert_int_equal(first_vma(t.mm)->vm_start, b);
	assert_int_equal(first_vma(t.mm)->vm_end, a + 4 * SZ_2M);
	/* A small one is page aligned; different flags do not merge. */
	c = mmt_mmap(&t, 3 * PAGE_SIZE, SIM_PROT_READ, PRIV);
	assert_true(c + 3 * PAGE_SIZE <= b);
	assert_int_equal(t.mm->nr_vmas, 2);
	assert_int_equal(sim_mm_vma_flags(t.mm, c, &fl), 0);
	assert_int_equal(fl, SIM_VM_READ);
	assert_int_equal(sim_mm_vma_flags(t.mm, a, &fl), 0);
	assert_int_equal(fl, SIM_VM_READ | SIM_VM_WRITE);
	assert_int_equal(sim_mm_vma_flags(t.mm, a + 4 * SZ_2M, &fl), -EFAULT);
	assert_int_equal(sim_mm_vma_flags(t.mm, a, NULL), -EINVAL);
	mmt_fini(&t);
}

static void test_mmap_hugetlb_alignment(void **state)
{
	struct mmt t;
	hva_t a, b;
	unsigned long fl;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, PAGE_SIZE, RW, PRIV | SIM_MAP_HUGETLB_2M);
	assert_true(IS_ALIGNED(a, SZ_2M));
	/* The length was rounded up to 2M. */
	assert_int_equal(first_vma(t.mm)->vm_end - first_vma(t.mm)->vm_start, SZ_2M);
	assert_int_equal(sim_mm_vma_flags(t.mm, a + SZ_2M - 1, &fl), 0);
	assert_true(fl & SIM_VM_HUGETLB);
	b = mmt_mmap(&t, SZ_1G, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_1G);
	assert_true(IS_ALIGNED(b, SZ_1G));
	/* Hugetlb VMAs never merge. */
	assert_int_equal(t.mm->nr_vmas, 2);
	/* A fixed hugetlb address must be huge-aligned. */
	assert_int_equal(sim_mmap(t.mm, 0x100000000UL + PAGE_SIZE, SZ_2M, RW,
				  PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_FIXED, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0x100000000UL + SZ_2M, SZ_2M, RW,
				  PRIV | SIM_MAP_HUGETLB_1G | SIM_MAP_FIXED, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0x100000000UL + SZ_2M, SZ_2M, RW,
				  PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_FIXED, &a), 0);
	assert_int_equal(a, 0x100000000UL + SZ_2M);
	mmt_fini(&t);
}

static void test_mmap_errors(void **state)
{
	struct mmt t;
	hva_t a, fixed = 0x200000000UL;

	mmt_init(&t, 0);
	assert_int_equal(sim_mmap(NULL, 0, PAGE_SIZE, RW, PRIV, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, PRIV, NULL), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, 0, RW, PRIV, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, 0x100, PRIV, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, 0, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_SHARED, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, PRIV | 0x8000000, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, SZ_2M, RW,
				  PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_HUGETLB_1G, &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M | SIM_MAP_THP,
				  &a), -EINVAL);
	assert_int_equal(sim_mmap(t.mm, 0, 1UL << 48, RW, PRIV, &a), -ENOMEM);
	assert_int_equal(sim_mmap(t.mm, fixed + 1, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &a),
			 -EINVAL);
	assert_int_equal(sim_mmap(t.mm, PAGE_SIZE, PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &a),
			 -EPERM);
	assert_int_equal(sim_mmap(t.mm, SIM_TASK_SIZE - PAGE_SIZE, 2 * PAGE_SIZE, RW,
				  PRIV | SIM_MAP_FIXED, &a), -ENOMEM);
	/* MAP_FIXED_NOREPLACE: an overlap is -EEXIST, and nothing changed. */
	assert_int_equal(sim_mmap(t.mm, fixed, 4 * PAGE_SIZE, RW, PRIV | SIM_MAP_FIXED, &a), 0);
	assert_int_equal(a, fixed);
	assert_int_equal(sim_mmap(t.mm, fixed + 3 * PAGE_SIZE, 4 * PAGE_SIZE, RW,
				  PRIV | SIM_MAP_FIXED, &a), -EEXIST);
	assert_int_equal(sim_mmap(t.mm, fixed - PAGE_SIZE, 2 * PAGE_SIZE, RW,
				  PRIV | SIM_MAP_FIXED, &a), -EEXIST);
	assert_int_equal(t.mm->nr_vmas, 1);
	mmt_fini(&t);
}

/*
 * A free hint is used as is; a taken one is only a hint.
 *
 *   hint:   |XXXX|         taken by the first mapping
 *   second:  elsewhere
 */
static void test_mmap_hint(void **state)
{
	struct mmt t;
	hva_t hint = 0x300000000UL, a, b;

	mmt_init(&t, 0);
	assert_int_equal(sim_mmap(t.mm, hint, 3 * PAGE_SIZE, RW, PRIV, &a), 0);
	assert_int_equal(a, hint);
	assert_int_equal(sim_mmap(t.mm, hint, 3 * PAGE_SIZE, RW, PRIV, &b), 0);
	assert_true(b != hint && (b >= hint + 3 * PAGE_SIZE || b + 3 * PAGE_SIZE <= hint));
	/* An unaligned hint is rounded up, not refused. */
	assert_int_equal(sim_mmap(t.mm, hint + SZ_2M + 1, PAGE_SIZE, RW, PRIV, &b), 0);
	assert_int_equal(b, hint + SZ_2M + PAGE_SIZE);
	mmt_fini(&t);
}

static void test_mmap_populate(void **state)
{
	struct mmt t;
	hva_t a, s;
	unsigned int i;

	mmt_init(&t, 0);
	a = mmt_mmap(&t, 8 * PAGE_SIZE, RW, PRIV | SIM_MAP_POPULATE);
	for (i = 0; i < 8; i++) {
		struct sim_host_pte_info info;

		assert_int_equal(sim_mm_lookup(t.mm, a + i * PAGE_SIZE, &info), 0);
		/* Private writable: populated for write, no zero page. */
		assert_true(info.writable);
		assert_int_not_equal(info.pfn, t.mm->zero_pfn);
	}
	/* Shared read-only: populated, not writable. */
	s = mmt_mmap(&t, 2 * PAGE_SIZE, SIM_PROT_READ, SIM_MAP_SHARED | SIM_MAP_POPULATE);
	assert_int_equal(mmt_level(&t, s), PG_LEVEL_4K);
	/* PROT_NONE: nothing to populate. */
	a = mmt_mmap(&t, 2 * PAGE_SIZE, SIM_PROT_NONE, PRIV | SIM_MAP_POPULATE);
	assert_int_equal(mmt_level(&t, a), 0);
	mmt_fini(&t);
}

static void test_mmap_locked_memlock(void **state)
{
	struct mmt t;
	hva_t a, b, h;
	unsigned long fl;

	mmt_init(&t, 0);
	/* Default RLIMIT_MEMLOCK: 8 MiB. */
	a = mmt_mmap(&t, 4 * SZ_1M_T, RW, PRIV | SIM_MAP_LOCKED);
	assert_int_equal(sim_mm_locked_vm(t.mm), (4 * SZ_1M_T) >> PAGE_SHIFT);
	assert_int_equal(sim_mm_vma_flags(t.mm, a, &fl), 0);
	assert_true(fl & SIM_VM_LOCKED);
	/* VM_LOCKED populates. */
	assert_int_equal(mmt_level(&t, a + SZ_1M_T), PG_LEVEL_4K);
	/* do_mmap(): over the limit is -EAGAIN. */
	assert_int_equal(sim_mmap(t.mm, 0, 4 * SZ_1M_T + PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED,
				  &b), -EAGAIN);
	b = mmt_mmap(&t, 4 * SZ_1M_T, RW, PRIV | SIM_MAP_LOCKED);
	assert_int_equal(sim_mm_locked_vm(t.mm), (8 * SZ_1M_T) >> PAGE_SHIFT);
	/* Hugetlb is checked but not mlocked nor accounted (mmap_region()). */
	assert_int_equal(sim_mmap(t.mm, 0, SZ_2M, RW, PRIV | SIM_MAP_LOCKED | SIM_MAP_HUGETLB_2M,
				  &h), -EAGAIN);
	/* munmap unaccounts, also for a part. */
	assert_int_equal(sim_munmap(t.mm, a + SZ_1M_T, SZ_1M_T), 0);
	assert_int_equal(sim_mm_locked_vm(t.mm), (7 * SZ_1M_T) >> PAGE_SHIFT);
	assert_int_equal(sim_munmap(t.mm, b, 4 * SZ_1M_T), 0);
	assert_int_equal(sim_mm_locked_vm(t.mm), (3 * SZ_1M_T) >> PAGE_SHIFT);
	h = mmt_mmap(&t, SZ_2M, RW, PRIV | SIM_MAP_LOCKED | SIM_MAP_HUGETLB_2M);
	assert_int_equal(sim_mm_vma_flags(t.mm, h, &fl), 0);
	assert_false(fl & SIM_VM_LOCKED);
	assert_int_equal(sim_mm_locked_vm(t.mm), (3 * SZ_1M_T) >> PAGE_SHIFT);
	/* can_do_mlock(): a zero limit is -EPERM. */
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 0), 0);
	assert_int_equal(sim_mmap(t.mm, 0, PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &b), -EPERM);
	mmt_fini(&t);
}

static void test_account_locked_vm(void **state)
{
	struct mmt t;

	mmt_init(&t, 0);
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 16 * PAGE_SIZE), 0);
	assert_int_equal(sim_account_locked_vm(NULL, 1, true), -EINVAL);
	assert_int_equal(sim_account_locked_vm(t.mm, 0, true), 0);
	assert_int_equal(sim_account_locked_vm(t.mm, 10, true), 0);
	assert_int_equal(sim_account_locked_vm(t.mm, 7, true), -ENOMEM);
	assert_int_equal(sim_mm_locked_vm(t.mm), 10);
	assert_int_equal(sim_account_locked_vm(t.mm, 6, true), 0);
	assert_int_equal(sim_account_locked_vm(t.mm, ~0UL, true), -ENOMEM);
	assert_int_equal(sim_account_locked_vm(t.mm, 16, false), 0);
	assert_int_equal(sim_mm_locked_vm(t.mm), 0);
	/* Unaccounting more than accounted: WARN (as Linux) and clamp. */
	assert_int_equal(sim_account_locked_vm(t.mm, 1, false), 0);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();
	assert_int_equal(sim_mm_locked_vm(t.mm), 0);
	/* A larger limit lets more in. */
	assert_int_equal(sim_mm_set_memlock_limit(t.mm, 1ULL << 40), 0);
	assert_int_equal(sim_account_locked_vm(t.mm, 1UL << 20, true), 0);
	mmt_fini(&t);
}

/*
 * VM_IO | VM_PFNMAP over PFN-only memory (the nopage region): special
 * entries, no struct page, not GUP-able, reachable with sim_follow_pfn().
 */
static void test_mmap_pfn(void **state)
{
	struct sim_host_config cfg = { .mem_bytes = 64 * SZ_1M_T, .nopage_base_pfn = 1ULL << 20,
				       .nopage_pages = 64 };
	struct sim_host_pte_info info;
	struct sim_host *host;
	struct sim_page *page;
	struct sim_mm *mm;
	kvm_pfn_t pfn;
	bool writable;
	unsigned long fl;
	char buf[16];
	hva_t a, r;

	assert_int_equal(sim_host_create(&cfg, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	assert_int_equal(sim_mmap_pfn(mm, 0, 4 * PAGE_SIZE, RW, (1ULL << 20) + 4, &a), 0);
	assert_int_equal(sim_mm_lookup(mm, a + PAGE_SIZE, &info), 0);
	assert_int_equal(info.pfn, (1ULL << 20) + 5);
	assert_true(info.special && info.writable && info.level == PG_LEVEL_4K);
	assert_int_equal(sim_mm_vma_flags(mm, a, &fl), 0);
	assert_true((fl & (SIM_VM_IO | SIM_VM_PFNMAP)) == (SIM_VM_IO | SIM_VM_PFNMAP));
	assert_int_equal(sim_get_user_pages(mm, a, 1, 0, &page), -EFAULT);
	assert_int_equal(sim_get_user_pages_fast(mm, a, 1, 0, &page), -EFAULT);
	assert_int_equal(sim_follow_pfn(mm, a + 3 * PAGE_SIZE, true, &pfn, &writable), 0);
	assert_int_equal(pfn, (1ULL << 20) + 7);
	assert_true(writable);
	/* Bytes go through to the frame. */
	assert_int_equal(sim_mm_write(mm, a + 2 * PAGE_SIZE + 5, "pfnmap", 7), 0);
	assert_string_equal((char *)sim_pfn_to_virt(host, (1ULL << 20) + 6) + 5, "pfnmap");
	assert_int_equal(sim_mm_read(mm, a + 2 * PAGE_SIZE + 5, buf, 7), 0);
	assert_string_equal(buf, "pfnmap");
	assert_int_equal(sim_mm_touch(mm, a, true), 0);
	/* Read-only: writes fault. */
	assert_int_equal(sim_mmap_pfn(mm, 0, PAGE_SIZE, SIM_PROT_READ, 1ULL << 20, &r), 0);
	assert_int_equal(sim_mm_touch(mm, r, true), -EFAULT);
	assert_int_equal(sim_mm_touch(mm, r, false), 0);
	assert_int_equal(sim_follow_pfn(mm, r, true, &pfn, &writable), -EFAULT);
	/* RAM PFNs may be remapped too (no reference taken). */
	assert_int_equal(sim_mmap_pfn(mm, 0, PAGE_SIZE, RW, 100, &r), 0);
	/* Invalid PFNs and arguments. */
	assert_int_equal(sim_mmap_pfn(mm, 0, PAGE_SIZE, RW, (1ULL << 20) + 64, &r), -EINVAL);
	assert_int_equal(sim_mmap_pfn(mm, 0, 2 * PAGE_SIZE, RW, (1ULL << 20) + 63, &r), -EINVAL);
	assert_int_equal(sim_mmap_pfn(mm, 0, 2 * PAGE_SIZE, RW, (64 * SZ_1M_T >> PAGE_SHIFT) - 1,
				      &r), -EINVAL);
	assert_int_equal(sim_mmap_pfn(mm, 0, 0, RW, 100, &r), -EINVAL);
	assert_int_equal(sim_mmap_pfn(mm, 0, PAGE_SIZE, 0x80, 100, &r), -EINVAL);
	/* Partial munmap of a PFN mapping keeps the rest's PFNs. */
	assert_int_equal(sim_munmap(mm, a, PAGE_SIZE), 0);
	assert_int_equal(sim_mm_lookup(mm, a, &info), -EFAULT);
	assert_int_equal(sim_mm_lookup(mm, a + 3 * PAGE_SIZE, &info), 0);
	assert_int_equal(info.pfn, (1ULL << 20) + 7);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

static int scenario_mmap_pfn(void)
{
	struct sim_host_config cfg = { .mem_bytes = 64 * SZ_1M_T, .nopage_base_pfn = 1ULL << 20,
				       .nopage_pages = 2048 };
	struct sim_host *host;
	struct sim_mm *mm;
	hva_t a;
	int r;

	r = sim_host_create(&cfg, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	/* 4 MiB crossing a 1G boundary needs several tables. */
	r = sim_mmap_pfn(mm, SZ_1G - 2 * SZ_1M_T, 4 * SZ_1M_T, RW, 1ULL << 20, &a);
	if (!r)
		r = sim_mm_touch(mm, a + SZ_1M_T, true);
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_mmap_pfn_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_mmap_pfn());
}

static int scenario_mmap(void)
{
	struct sim_host *host;
	struct sim_mm *mm;
	hva_t a, b, c;
	int r;

	r = sim_host_create(NULL, &host);
	if (r)
		return r;
	r = sim_mm_create(host, &mm);
	if (r)
		goto out_host;
	r = sim_mmap(mm, 0, 4 * SZ_2M, RW, PRIV | SIM_MAP_POPULATE | SIM_MAP_THP, &a);
	if (!r)
		r = sim_mmap(mm, 0, 64 * PAGE_SIZE, RW, PRIV | SIM_MAP_LOCKED, &b);
	if (!r)
		r = sim_mmap(mm, 0, SZ_2M, RW, SIM_MAP_SHARED | SIM_MAP_HUGETLB_2M |
			     SIM_MAP_POPULATE, &c);
	if (!r)
		r = sim_munmap(mm, b + PAGE_SIZE, PAGE_SIZE);
	sim_mm_destroy(mm);
out_host:
	sim_host_destroy(host);
	return r;
}

static void test_mmap_fail_nth(void **state)
{
	MMT_FAIL_NTH_LOOP(scenario_mmap());
}

/*
 * Teardown: UNMAP pairs for every VMA, then ->release once; the notifier
 * keeps the mm struct alive until it is unregistered.
 */
static void test_mm_destroy_events(void **state)
{
	struct sim_host *host;
	struct sim_mm *mm;
	struct recorder *r;
	hva_t a, b;
	int i, rel;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	r = rec_register(mm);
	assert_int_equal(sim_mmap(mm, 0, 4 * PAGE_SIZE, RW, PRIV, &a), 0);
	assert_int_equal(sim_mmap(mm, 0, SZ_2M, RW, PRIV | SIM_MAP_HUGETLB_2M, &b), 0);
	assert_int_equal(sim_mm_touch(mm, a, true), 0);
	assert_int_equal(sim_mm_touch(mm, b, true), 0);
	sim_mm_destroy(mm);
	rec_assert_balanced(r);
	rel = rec_find(r, REC_RELEASE, 0);
	assert_true(rel > 0);
	assert_int_equal(r->releases, 1);
	for (i = 0; i < rel; i++)
		if (r->ev[i].kind == REC_START)
			assert_int_equal(r->ev[i].event, SIM_MMU_NOTIFY_UNMAP);
	assert_int_equal(rec_find(r, REC_START, rel), -1);
	/* The mm is gone but its struct waits for the unregister. */
	assert_true(list_empty(&host->mm_list));
	sim_mmu_notifier_unregister(&r->mn);
	assert_int_equal(r->releases, 1); /* unlinked by the teardown: no second release */
	free(r);
	sim_host_destroy(host);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_mm_create_destroy),
		MMUSIM_TEST(test_mm_create_fail_nth),
		MMUSIM_TEST(test_mmap_topdown_aligned_and_merged),
		MMUSIM_TEST(test_mmap_hugetlb_alignment),
		MMUSIM_TEST(test_mmap_errors),
		MMUSIM_TEST(test_mmap_hint),
		MMUSIM_TEST(test_mmap_populate),
		MMUSIM_TEST(test_mmap_locked_memlock),
		MMUSIM_TEST(test_account_locked_vm),
		MMUSIM_TEST(test_mmap_pfn),
		MMUSIM_TEST(test_mmap_pfn_fail_nth),
		MMUSIM_TEST(test_mmap_fail_nth),
		MMUSIM_TEST(test_mm_destroy_events),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("mm", tests);
}
