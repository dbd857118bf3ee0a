// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the fault path's host side (src/mmu/mmu.c): what KVM tells the
 * host about the page it looked up (dirty and accessed, as KVM 6.13+ does
 * when it releases the page after a fault), checked end to end against the
 * host's reclaim, which drops clean swap-cache pages without writing them;
 * and the host mapping level, read from the host page tables under
 * mmu_lock.  Every case runs on the TDP MMU and on the legacy MMU.
 */
#include "test_util.h"
#include "mmu/tdp_mmu.h"

#define MiB (1ULL << 20)
#define TAG_A 0xa0
#define TAG_B 0xb0

static struct kvm *to_kvm(struct test_vm *t)
{
	return mmusim_to_kvm(t->vm);
}

static struct mmusim_vcpu *vcpu0(struct test_vm *t)
{
	return mmusim_vm_vcpu(t->vm, 0);
}

static struct sim_host_stats host_stats(struct test_vm *t)
{
	struct sim_host_stats st;

	sim_host_get_stats(t->host, &st);
	return st;
}

static struct mmusim_vm_stats vm_stats(struct test_vm *t)
{
	struct mmusim_vm_stats st;

	assert_int_equal(mmusim_vm_get_stats(t->vm, &st), 0);
	return st;
}

static void pattern(u64 *buf, u64 tag)
{
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / 8; i++)
		buf[i] = tag << 32 | i;
}

static void host_write(struct test_vm *t, hva_t hva, u64 tag)
{
	u64 buf[PAGE_SIZE / 8];

	pattern(buf, tag);
	assert_int_equal(sim_mm_write(t->mm, hva, buf, PAGE_SIZE), 0);
}

static bool host_reads(struct test_vm *t, hva_t hva, u64 tag)
{
	u64 buf[PAGE_SIZE / 8], want[PAGE_SIZE / 8];

	pattern(want, tag);
	assert_int_equal(sim_mm_read(t->mm, hva, buf, PAGE_SIZE), 0);
	return !memcmp(buf, want, PAGE_SIZE);
}

static void guest_write(struct test_vm *t, gpa_t gpa, u64 tag)
{
	u64 buf[PAGE_SIZE / 8];

	pattern(buf, tag);
	assert_int_equal(mmusim_vcpu_write(vcpu0(t), gpa, buf, PAGE_SIZE), 0);
}

static bool guest_reads(struct test_vm *t, gpa_t gpa, u64 tag)
{
	u64 buf[PAGE_SIZE / 8], want[PAGE_SIZE / 8];

	pattern(want, tag);
	assert_int_equal(mmusim_vcpu_read(vcpu0(t), gpa, buf, PAGE_SIZE), 0);
	return !memcmp(buf, want, PAGE_SIZE);
}

/* Flags of the page the host maps at @hva. */
static unsigned int host_page_flags(struct test_vm *t, hva_t hva)
{
	struct sim_host_pte_info info;

	assert_int_equal(sim_mm_lookup(t->mm, hva, &info), 0);
	return sim_page_flags(t->host, sim_pfn_to_page(t->host, info.pfn));
}

/*
 * Makes @hva hold a clean swap-cache page with @tag: written, reclaimed
 * (written to swap), and read back by the host, which maps it writable
 * (if the VMA is) but clean, keeping the swap copy.
 */
static void make_clean_swapcache_page(struct test_vm *t, hva_t hva, u64 tag)
{
	struct sim_host_pte_info info;
	u64 writes = host_stats(t).swap_writes;

	host_write(t, hva, tag);
	assert_int_equal(sim_swap_out(t->mm, hva), 0);
	assert_int_equal(host_stats(t).swap_writes, writes + 1);
	assert_true(host_reads(t, hva, tag));
	assert_int_equal(sim_mm_lookup(t->mm, hva, &info), 0);
	assert_false(info.dirty);
	assert_int_equal(host_page_flags(t, hva) & (SIM_PG_SWAPCACHE | SIM_PG_DIRTY),
			 SIM_PG_SWAPCACHE);
}

static void reclaim(struct test_vm *t)
{
	assert_int_equal(sim_madvise(t->mm, t->hva, t->size, SIM_MADV_PAGEOUT), 0);
}

/*
 * Guest writes through SPTEs, which the host page tables never see, and the
 * host's reclaim.  Slot 0 is 64K of 4K pages; each page used starts as a
 * clean swap-cache page holding "A", mapped writable but clean by the host:
 *
 *   gfn 0   guest write fault (GUP-fast for write: no host D bit), "B"
 *   gfn 1   guest read fault (mapped writable), aging (with A/D bits off
 *           this write-protects the SPTE: access tracking), then a write of
 *           "B" with at most a lockless fast_page_fault()
 *   gfn 8   untouched by the guest (outside the legacy MMU's prefetch
 *           group of gfn 0-7)
 *
 * Then MADV_PAGEOUT of the slot.  KVM marked gfn 0 and 1 dirty when it
 * released their pages after the faults, so reclaim writes them and drops
 * gfn 8: guest and host read "B", "B", "A".  With @forget (the test knob
 * that makes kvm_set_page_dirty() do nothing) the host drops all three
 * pages as clean, and gfn 0 and 1 read "A" again: the guest's writes are
 * lost, which is what this test exists to catch.
 */
static void guest_writes_then_reclaim(bool forget)
{
	static const bool ad_disabled[] = { false, true };
	unsigned int c;

	for (c = 0; c < ARRAY_SIZE(ad_disabled); c++) {
		struct test_vm_opts o = { .size = 64 * 1024 };
		struct sim_host_stats before;
		struct test_vm t;
		bool want_b = !forget;

		o.cfg.ept_ad_disabled = ad_disabled[c];
		test_vm_create(&t, &o);
		to_kvm(&t)->debug_skip_page_dirty = forget;
		make_clean_swapcache_page(&t, t.hva, TAG_A);
		make_clean_swapcache_page(&t, t.hva + 1 * PAGE_SIZE, TAG_A + 1);
		make_clean_swapcache_page(&t, t.hva + 8 * PAGE_SIZE, TAG_A + 8);

		guest_write(&t, 0x0000, TAG_B);
		assert_true(guest_reads(&t, 0x1000, TAG_A + 1));
		assert_true(sim_mm_age_range(t.mm, t.hva + PAGE_SIZE, PAGE_SIZE) >= 0);
		guest_write(&t, 0x1000, TAG_B + 1);
		/* Nothing reached the host page tables. */
		assert_int_equal(host_page_flags(&t, t.hva) & SIM_PG_SWAPCACHE, SIM_PG_SWAPCACHE);
		test_vm_check(&t);

		before = host_stats(&t);
		reclaim(&t);
		assert_int_equal(host_stats(&t).swap_outs - before.swap_outs, 3);
		assert_int_equal(host_stats(&t).swap_writes - before.swap_writes, forget ? 0 : 2);
		assert_int_equal(vm_stats(&t).pages_4k, 0);

		assert_true(guest_reads(&t, 0x0000, want_b ? TAG_B : TAG_A));
		assert_true(guest_reads(&t, 0x1000, want_b ? TAG_B + 1 : TAG_A + 1));
		assert_true(guest_reads(&t, 0x8000, TAG_A + 8));
		assert_true(host_reads(&t, t.hva, want_b ? TAG_B : TAG_A));
		assert_true(host_reads(&t, t.hva + PAGE_SIZE, want_b ? TAG_B + 1 : TAG_A + 1));
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

static void test_mmu_guest_writes_survive_reclaim(void **state)
{
	guest_writes_then_reclaim(false);
}

/* The negative control: the same test detects a KVM that forgets the mark. */
static void test_mmu_forgotten_dirty_mark_loses_data(void **state)
{
	guest_writes_then_reclaim(true);
}

/*
 * The marks a fault's release leaves on the host page (KVM 6.13+):
 *
 *   slot 0, gfn 0   RW VMA, clean swap-cache page, guest read: the SPTE is
 *                   writable (the host PTE is), so the page is released
 *                   dirty and accessed; reclaim writes it
 *   slot 1, gpa 1M  read-only VMA, clean swap-cache page, guest read:
 *                   released accessed only; reclaim drops it
 */
static void test_mmu_fault_release_marks_page(void **state)
{
	struct test_vm_opts o = { .size = 64 * 1024 };
	struct sim_host_stats before;
	struct test_vm t;
	hva_t ro;

	test_vm_create(&t, &o);
	make_clean_swapcache_page(&t, t.hva, TAG_A);
	assert_true(guest_reads(&t, 0, TAG_A));
	assert_int_equal(host_page_flags(&t, t.hva) & (SIM_PG_DIRTY | SIM_PG_REFERENCED),
			 SIM_PG_DIRTY | SIM_PG_REFERENCED);

	assert_int_equal(
		sim_mmap(t.mm, 0, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &ro),
		0);
	host_write(&t, ro, TAG_A + 1);
	assert_int_equal(sim_swap_out(t.mm, ro), 0);
	assert_int_equal(sim_mprotect(t.mm, ro, PAGE_SIZE, SIM_PROT_READ), 0);
	test_vm_set_region(&t, 1, MiB, PAGE_SIZE, ro);
	assert_true(guest_reads(&t, MiB, TAG_A + 1));
	assert_int_equal(host_page_flags(&t, ro) &
				 (SIM_PG_SWAPCACHE | SIM_PG_DIRTY | SIM_PG_REFERENCED),
			 SIM_PG_SWAPCACHE | SIM_PG_REFERENCED);

	before = host_stats(&t);
	reclaim(&t);
	assert_int_equal(sim_madvise(t.mm, ro, PAGE_SIZE, SIM_MADV_PAGEOUT), 0);
	assert_int_equal(host_stats(&t).swap_outs - before.swap_outs, 2);
	assert_int_equal(host_stats(&t).swap_writes - before.swap_writes, 1);
	assert_true(guest_reads(&t, 0, TAG_A));
	assert_true(guest_reads(&t, MiB, TAG_A + 1));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

struct mprotect_race {
	struct test_vm *t;
	int calls;
};

static void mprotect_none_fn(void *arg, int point, gfn_t gfn)
{
	struct mprotect_race *m = arg;

	m->calls++;
	assert_int_equal(sim_mprotect(m->t->mm, m->t->hva, PAGE_SIZE, SIM_PROT_NONE), 0);
}

/*
 * A fault that loses a race releases its page unused, with neither mark:
 * gfn 0 (host-written, so mapped by the host) takes a guest write fault
 * during which the host mprotects it PROT_NONE, at both race points; the
 * fault retries and its second lookup fails (-EFAULT).  Once the page is
 * accessible again, a fault that maps it marks it dirty and accessed.
 */
static void test_mmu_retried_fault_releases_page_unused(void **state)
{
	int point;

	for (point = 0; point < MMUSIM_FAULT_RACE_NR; point++) {
		struct test_vm_opts o = { .size = 64 * 1024 };
		struct mprotect_race m = { 0 };
		struct sim_host_pte_info info;
		struct sim_page *page;
		struct test_vm t;
		u64 val = 1;

		test_vm_create(&t, &o);
		m.t = &t;
		host_write(&t, t.hva, TAG_A);
		assert_int_equal(sim_mm_lookup(t.mm, t.hva, &info), 0);
		page = sim_pfn_to_page(t.host, info.pfn);
		assert_int_equal(sim_page_flags(t.host, page) & (SIM_PG_DIRTY | SIM_PG_REFERENCED),
				 0);
		assert_int_equal(mmusim_vm_race_next_fault(t.vm, point, mprotect_none_fn, &m), 0);
		assert_int_equal(mmusim_vcpu_write(vcpu0(&t), 0, &val, sizeof(val)), -EFAULT);
		assert_int_equal(m.calls, 1);
		assert_int_equal(vm_stats(&t).pf_retry, 1);
		assert_int_equal(sim_page_flags(t.host, page) & (SIM_PG_DIRTY | SIM_PG_REFERENCED),
				 0);

		assert_int_equal(
			sim_mprotect(t.mm, t.hva, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE), 0);
		assert_int_equal(mmusim_vcpu_write(vcpu0(&t), 0, &val, sizeof(val)), 0);
		assert_int_equal(sim_page_flags(t.host, page) & (SIM_PG_DIRTY | SIM_PG_REFERENCED),
				 SIM_PG_DIRTY | SIM_PG_REFERENCED);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

enum { LEVEL_SPLIT, LEVEL_REFAULT_THP };

struct level_race {
	struct test_vm *t;
	int kind;
	int calls;
};

static void level_change_fn(void *arg, int point, gfn_t gfn)
{
	struct level_race *l = arg;
	struct test_vm *t = l->t;

	l->calls++;
	if (l->kind == LEVEL_SPLIT) {
		/*
		 * Dropping another 4K page of the THP splits its mapping; the
		 * fault's reference keeps the folio whole, so gfn 5's page
		 * stays, mapped by a PTE now.
		 */
		assert_int_equal(
			sim_madvise(t->mm, t->hva + 100 * PAGE_SIZE, PAGE_SIZE, SIM_MADV_DONTNEED),
			0);
	} else {
		/* munmap frees the PTE table, so the new mapping can be a THP. */
		hva_t va;

		assert_int_equal(sim_munmap(t->mm, t->hva, SZ_2M), 0);
		assert_int_equal(sim_mmap(t->mm, t->hva, SZ_2M, SIM_PROT_READ | SIM_PROT_WRITE,
					  SIM_MAP_PRIVATE | SIM_MAP_THP | SIM_MAP_FIXED, &va),
				 0);
		assert_true(va == t->hva);
		assert_int_equal(sim_mm_touch(t->mm, t->hva, true), 0);
	}
}

/*
 * The host changes the mapping size of the faulting hva between the pfn
 * lookup and mmu_lock, at both race points; KVM maps at the level the host
 * page tables show under mmu_lock.  Slot 0 is one THP-eligible 2M at gpa 0
 * (hva 2M-aligned), the guest reads gfn 5:
 *
 *   split:       2M THP -> PTEs of the same pages (MADV_DONTNEED of
 *                gfn 100 splits the mapping)              => 4K SPTE(s)
 *   refault THP: 4K PTEs -> munmap and mmap of the 2M, then a write
 *                fault that maps a new, zeroed 2M THP     => one 2M SPTE
 *
 * Each race is an invalidation, so the fault retries once and its second
 * attempt reads the new level.
 */
static void test_mmu_host_level_change_inside_fault(void **state)
{
	int point, kind;

	for (point = 0; point < MMUSIM_FAULT_RACE_NR; point++) {
		for (kind = LEVEL_SPLIT; kind <= LEVEL_REFAULT_THP; kind++) {
			struct test_vm_opts o = { .size = 0 };
			struct level_race l = { .kind = kind };
			struct mmusim_vm_stats st;
			struct sim_host_pte_info info;
			struct test_vm t;
			hva_t va;

			test_vm_create(&t, &o);
			l.t = &t;
			assert_int_equal(sim_mmap(t.mm, 0, 4 * MiB, SIM_PROT_READ | SIM_PROT_WRITE,
						  SIM_MAP_PRIVATE | SIM_MAP_THP, &va),
					 0);
			t.hva = ALIGN(va, SZ_2M);
			t.size = SZ_2M;
			if (kind == LEVEL_REFAULT_THP) {
				/* 4K pages first: populate while the VMA may not use THPs. */
				assert_int_equal(
					sim_madvise(t.mm, t.hva, SZ_2M, SIM_MADV_NOHUGEPAGE), 0);
				host_write(&t, t.hva + 5 * PAGE_SIZE, TAG_A);
				assert_int_equal(sim_madvise(t.mm, t.hva, SZ_2M, SIM_MADV_HUGEPAGE),
						 0);
			} else {
				host_write(&t, t.hva + 5 * PAGE_SIZE, TAG_A);
			}
			assert_int_equal(sim_mm_lookup(t.mm, t.hva + 5 * PAGE_SIZE, &info), 0);
			assert_int_equal(info.level,
					 kind == LEVEL_SPLIT ? PG_LEVEL_2M : PG_LEVEL_4K);
			test_vm_set_region(&t, 0, 0, SZ_2M, t.hva);

			assert_int_equal(
				mmusim_vm_race_next_fault(t.vm, point, level_change_fn, &l), 0);
			if (kind == LEVEL_SPLIT) {
				assert_true(guest_reads(&t, 5 * PAGE_SIZE, TAG_A));
			} else {
				u64 val = 1;

				assert_int_equal(mmusim_vcpu_read(vcpu0(&t), 5 * PAGE_SIZE, &val,
								  sizeof(val)),
						 0);
				assert_true(val == 0);
			}
			assert_int_equal(l.calls, 1);
			assert_int_equal(sim_mm_lookup(t.mm, t.hva + 5 * PAGE_SIZE, &info), 0);
			assert_int_equal(info.level,
					 kind == LEVEL_SPLIT ? PG_LEVEL_4K : PG_LEVEL_2M);
			st = vm_stats(&t);
			assert_int_equal(st.pf_retry, 1);
			if (kind == LEVEL_SPLIT) {
				assert_int_equal(st.pages_2m, 0);
				assert_true(st.pages_4k >= 1);
			} else {
				assert_int_equal(st.pages_2m, 1);
				assert_int_equal(st.pages_4k, 0);
			}
			test_vm_check(&t);
			test_vm_destroy(&t);
		}
	}
}

/* ======================== KVM_PRE_FAULT_MEMORY ======================== */

static int pre_fault(struct test_vm *t, gpa_t gpa, u64 size, u64 flags,
		     struct kvm_pre_fault_memory *out)
{
	*out = (struct kvm_pre_fault_memory){ .gpa = gpa, .size = size, .flags = flags };
	return mmusim_vcpu_pre_fault_memory(mmusim_vm_vcpu(t->vm, 0), out);
}

/*
 * gpa 0 .. 4M: slot 0, anonymous 4K.  Pre-faulting [0, 64K) maps 16 4K
 * leaves as prefetches, which no pf_* stat counts, and the guest then
 * touches them without a fault; the range comes back consumed.
 */
static void test_mmu_pre_fault_basic(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct kvm_pre_fault_memory range;
	struct mmusim_vm_stats st;
	struct mmusim_exit exit;
	struct test_vm t;
	u64 taken;
	int i;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_check_extension(t.vm, KVM_CAP_PRE_FAULT_MEMORY), 1);
	assert_int_equal(pre_fault(&t, 0, 64 << 10, 0, &range), 0);
	assert_int_equal(range.gpa, 64 << 10);
	assert_int_equal(range.size, 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 16);
	/* Prefetches, not guest faults: no pf_* stat counts them (6.12). */
	assert_int_equal(st.pf_taken, 0);
	assert_int_equal(st.pf_fixed, 0);
	taken = st.pf_taken;
	for (i = 0; i < 16; i++)
		assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), i * 4096ULL,
						    MMUSIM_ACCESS_READ, &exit),
				 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pf_taken, taken);
	/* Again: spurious prefetches, still success. */
	assert_int_equal(pre_fault(&t, 0, 8192, 0, &range), 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * gpa 0 .. 4M: slot 0, hugetlb 2M.  One 4K request maps the whole 2M leaf;
 * a request across the first 2M boundary takes two steps, one per leaf.
 */
static void test_mmu_pre_fault_huge(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct kvm_pre_fault_memory range;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(pre_fault(&t, 4096, 4096, 0, &range), 0);
	assert_int_equal(range.gpa, 8192);
	assert_int_equal(range.size, 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(pre_fault(&t, 2 * MiB - 4096, 8192, 0, &range), 0);
	assert_int_equal(range.size, 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_2m, 2);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * gpa 0 .. 2M: slot 0; 2M .. : nothing.  [2M - 8K, 2M + 8K) maps two pages,
 * then stops at the hole (-ENOENT), which is success with the rest left in
 * the range; starting in the hole is -ENOENT with the range untouched.
 */
static void test_mmu_pre_fault_partial(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct kvm_pre_fault_memory range;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(pre_fault(&t, 2 * MiB - 8192, 16384, 0, &range), 0);
	assert_int_equal(range.gpa, 2 * MiB);
	assert_int_equal(range.size, 8192);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 2);
	assert_int_equal(pre_fault(&t, 2 * MiB, 8192, 0, &range), -ENOENT);
	assert_int_equal(range.gpa, 2 * MiB);
	assert_int_equal(range.size, 8192);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* The validation, in KVM's order, and a pending signal. */
static void test_mmu_pre_fault_errors(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct kvm_pre_fault_memory range;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(pre_fault(&t, 0, 4096, 1, &range), -EINVAL);
	assert_int_equal(pre_fault(&t, 0x800, 4096, 0, &range), -EINVAL);
	assert_int_equal(pre_fault(&t, 0, 0x800, 0, &range), -EINVAL);
	assert_int_equal(pre_fault(&t, 0, 0, 0, &range), -EINVAL);
	assert_int_equal(pre_fault(&t, ~0xfffULL, 8192, 0, &range), -EINVAL);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_PENDING), 0);
	assert_int_equal(pre_fault(&t, 0, 4096, 0, &range), -EINTR);
	assert_int_equal(range.size, 4096);
	assert_int_equal(sim_mm_set_signal(t.mm, SIM_SIGNAL_NONE), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* After a fast zap the vCPU's root is obsolete: the pre-fault reloads it. */
static void test_mmu_pre_fault_after_fast_zap(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct kvm_pre_fault_memory range;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(pre_fault(&t, 0, 4096, 0, &range), 0);
	mmusim_vm_zap_all_fast(t.vm);
	assert_int_equal(pre_fault(&t, 4096, 4096, 0, &range), 0);
	mmusim_vm_get_stats(t.vm, &st);
	assert_int_equal(st.pages_4k, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

MMUSIM_LEGACY_VARIANT(test_mmu_pre_fault_basic)
MMUSIM_LEGACY_VARIANT(test_mmu_pre_fault_huge)
MMUSIM_LEGACY_VARIANT(test_mmu_pre_fault_partial)
MMUSIM_LEGACY_VARIANT(test_mmu_pre_fault_after_fast_zap)

MMUSIM_LEGACY_VARIANT(test_mmu_guest_writes_survive_reclaim)
MMUSIM_LEGACY_VARIANT(test_mmu_forgotten_dirty_mark_loses_data)
MMUSIM_LEGACY_VARIANT(test_mmu_fault_release_marks_page)
MMUSIM_LEGACY_VARIANT(test_mmu_retried_fault_releases_page_unused)
MMUSIM_LEGACY_VARIANT(test_mmu_host_level_change_inside_fault)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_mmu_guest_writes_survive_reclaim),
		MMUSIM_TEST(test_mmu_forgotten_dirty_mark_loses_data),
		MMUSIM_TEST(test_mmu_fault_release_marks_page),
		MMUSIM_TEST(test_mmu_retried_fault_releases_page_unused),
		MMUSIM_TEST(test_mmu_host_level_change_inside_fault),
		MMUSIM_TEST(test_mmu_guest_writes_survive_reclaim_legacy),
		MMUSIM_TEST(test_mmu_forgotten_dirty_mark_loses_data_legacy),
		MMUSIM_TEST(test_mmu_fault_release_marks_page_legacy),
		MMUSIM_TEST(test_mmu_retried_fault_releases_page_unused_legacy),
		MMUSIM_TEST(test_mmu_host_level_change_inside_fault_legacy),
		MMUSIM_TEST(test_mmu_pre_fault_basic),
		MMUSIM_TEST(test_mmu_pre_fault_huge),
		MMUSIM_TEST(test_mmu_pre_fault_partial),
		MMUSIM_TEST(test_mmu_pre_fault_errors),
		MMUSIM_TEST(test_mmu_pre_fault_after_fast_zap),
		MMUSIM_TEST(test_mmu_pre_fault_basic_legacy),
		MMUSIM_TEST(test_mmu_pre_fault_huge_legacy),
		MMUSIM_TEST(test_mmu_pre_fault_partial_legacy),
		MMUSIM_TEST(test_mmu_pre_fault_after_fast_zap_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("mmu", tests);
}
