// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the legacy MMU for direct TDP mappings (src/mmu/shadow_mmu.c,
 * KVM with tdp_mmu=N) through real faults from a simulated vCPU: shadow
 * pages shared through the hash, leaves on the rmap, prefetch (and the
 * dirty mark it leaves on the host page), huge pages
 * and their replacement by tables, zaps through the rmap, the fast zap by
 * generation, roots zapped while in use, aging, dirty logging, MMIO, the
 * dump, the checker's rmap audit, and allocation failures.  Most also
 * mirror a test_tdp_mmu.c case, so both MMUs answer the same questions.
 */
#include "test_util.h"
#include "mmu/shadow_mmu.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct test_vm_opts legacy_opts(u64 size)
{
	struct test_vm_opts o = { .size = size, .gpa = 0 };

	o.cfg.mmu = MMUSIM_MMU_LEGACY;
	return o;
}

static struct mmusim_vcpu *vcpu_n(struct test_vm *t, int i)
{
	return mmusim_vm_vcpu(t->vm, i);
}

static void access_ok(struct test_vm *t, int vcpu, gpa_t gpa, int type)
{
	struct mmusim_exit exit;

	assert_int_equal(mmusim_vcpu_access(vcpu_n(t, vcpu), gpa, type, &exit), 0);
}

static void get_stats(struct test_vm *t, struct mmusim_vm_stats *st)
{
	mmusim_vm_get_stats(t->vm, st);
}

static struct kvm *to_kvm(struct test_vm *t)
{
	return mmusim_to_kvm(t->vm);
}

/* The leaf SPTE mapping @gfn for vCPU 0 (0 if none), and its level. */
static u64 leaf_spte(struct test_vm *t, gfn_t gfn, int *level)
{
	struct kvm_vcpu *vcpu = mmusim_to_kvm_vcpu(vcpu_n(t, 0));
	u64 spte = 0;
	int l = 0;

	rcu_read_lock();
	if (!fast_pf_get_last_sptep(vcpu, 0, gfn, &spte, &l) || !is_shadow_present_pte(spte) ||
	    !is_last_spte(spte, l))
		spte = 0;
	rcu_read_unlock();
	if (level)
		*level = l;
	return spte;
}

/* kvm_test_age_gfn() for [gfn, gfn + 1) of slot 0 (as the host's test_young would). */
static bool kvm_young(struct test_vm *t, gfn_t gfn)
{
	struct kvm *kvm = to_kvm(t);
	struct kvm_gfn_range range = { .start = gfn, .end = gfn + 1 };
	int idx = srcu_read_lock(&kvm->slots.srcu);
	bool young;

	range.slot = id_to_memslot(kvm_memslots_as(&kvm->slots, 0), 0);
	young = kvm_test_age_gfn(kvm, &range);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	return young;
}

static void remote_flush(struct test_vm *t)
{
	write_lock(&to_kvm(t)->mmu_lock);
	kvm_flush_remote_tlbs(to_kvm(t));
	write_unlock(&to_kvm(t)->mmu_lock);
}

/*
 * gfn:  0    1    2   ...  511 | 512 ...
 *       R    W    -        R   |  (untouched)
 * Three 4K faults on untouched host memory (nothing to prefetch: GUP-fast
 * finds no host PTE for the neighbours): three leaves on their rmaps, one
 * shadow page per level, no TDP MMU pages.
 */
static void test_shadow_mmu_fault_in_4k(void **state)
{
	struct test_vm_opts o = legacy_opts(4 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x0000, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 511 * 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 3);
	assert_int_equal(st.pages_2m + st.pages_1g, 0);
	assert_int_equal(st.shadow_mmu_pages, 4);
	assert_int_equal(st.tdp_mmu_pages, 0);
	assert_int_equal(st.root_allocs, 1);
	assert_int_equal(st.pf_fixed, 3);
	assert_int_equal(to_kvm(&t)->nr_rmap_sptes, 3);
	assert_true(is_writable_pte(leaf_spte(&t, 1, NULL)));

	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 0x0000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, 3);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Prefetch: with the host pages present, a fault at gfn 3 also maps the
 * other gfns of its aligned group of 8, not-accessed:
 *   gfn  0 1 2 [3] 4 5 6 7 | 8 ...
 *        p p p  F  p p p p |  -
 * No prefetch while any invalidation is in progress, nor without A/D bits.
 */
static void test_shadow_mmu_prefetch(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct mmusim_vm_stats st;
	struct kvm *kvm;
	struct test_vm t;
	gfn_t g;

	test_vm_create(&t, &o);
	kvm = to_kvm(&t);
	for (g = 0; g < 32; g++)
		assert_int_equal(sim_mm_touch(t.mm, t.hva + g * PAGE_SIZE, true), 0);
	access_ok(&t, 0, 3 * 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 8);
	assert_int_equal(st.pf_taken, 1);
	assert_true(kvm_young(&t, 3));
	assert_false(kvm_young(&t, 6));
	assert_int_equal(leaf_spte(&t, 8, NULL), 0);
	access_ok(&t, 0, 6 * 0x1000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, 1);
	assert_true(kvm_young(&t, 6));
	test_vm_check(&t);

	/* An unrelated invalidation in flight: only the faulting gfn is mapped. */
	write_lock(&kvm->mmu_lock);
	kvm_mmu_invalidate_begin(kvm);
	kvm_mmu_invalidate_range_add(kvm, 500, 501);
	write_unlock(&kvm->mmu_lock);
	access_ok(&t, 0, 9 * 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 9);
	write_lock(&kvm->mmu_lock);
	kvm_mmu_invalidate_end(kvm);
	write_unlock(&kvm->mmu_lock);
	access_ok(&t, 0, 17 * 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 17);
	test_vm_check(&t);
	test_vm_destroy(&t);

	/* EPT without A/D bits: prefetched SPTEs would look accessed, so none. */
	o.cfg.ept_ad_disabled = true;
	test_vm_create(&t, &o);
	for (g = 0; g < 8; g++)
		assert_int_equal(sim_mm_touch(t.mm, t.hva + g * PAGE_SIZE, true), 0);
	access_ok(&t, 0, 3 * 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Prefetched pages are released dirty (KVM 6.13+): the guest may write
 * through a prefetched, writable SPTE without any fault, so nothing else
 * would tell the host.  gfn 0-7 start as clean swap-cache pages holding
 * their gfn (mapped writable but clean by the host):
 *
 *   gfn  0 [1] 2 3 4 5 6 7
 *        p  F  p w p p p p     F: guest read fault; p: prefetched;
 *                              w: then written by the guest, no fault
 *
 * MADV_PAGEOUT then writes all eight pages to swap (each was released
 * dirty) and gfn 3 reads back what the guest wrote.  With the dirty mark
 * forgotten (the test knob), the eight are dropped clean and gfn 3 loses
 * the write.
 */
static void test_shadow_mmu_prefetch_marks_dirty(void **state)
{
	int forget;

	for (forget = 0; forget <= 1; forget++) {
		struct test_vm_opts o = legacy_opts(64 * 1024);
		struct sim_host_stats h0, h1;
		struct mmusim_vm_stats st;
		struct test_vm t;
		u64 val;
		gfn_t g;

		test_vm_create(&t, &o);
		to_kvm(&t)->debug_skip_page_dirty = forget;
		for (g = 0; g < 8; g++) {
			val = g;
			assert_int_equal(sim_mm_write(t.mm, t.hva + g * PAGE_SIZE, &val, 8), 0);
			assert_int_equal(sim_swap_out(t.mm, t.hva + g * PAGE_SIZE), 0);
			assert_int_equal(sim_mm_read(t.mm, t.hva + g * PAGE_SIZE, &val, 8), 0);
		}
		access_ok(&t, 0, 1 * 0x1000, MMUSIM_ACCESS_READ);
		get_stats(&t, &st);
		assert_int_equal(st.pages_4k, 8);
		val = 0x3333;
		assert_int_equal(mmusim_vcpu_write(vcpu_n(&t, 0), 3 * 0x1000, &val, 8), 0);
		get_stats(&t, &st);
		assert_int_equal(st.pf_taken, 1);

		sim_host_get_stats(t.host, &h0);
		assert_int_equal(sim_madvise(t.mm, t.hva, 8 * PAGE_SIZE, SIM_MADV_PAGEOUT), 0);
		sim_host_get_stats(t.host, &h1);
		assert_int_equal(h1.swap_outs - h0.swap_outs, 8);
		assert_int_equal(h1.swap_writes - h0.swap_writes, forget ? 0 : 8);
		assert_int_equal(mmusim_vcpu_read(vcpu_n(&t, 0), 3 * 0x1000, &val, 8), 0);
		assert_true(val == (forget ? 3 : 0x3333));
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/* Huge pages: 2M and 1G leaves at the same lpage rules as the TDP MMU. */
static void test_shadow_mmu_huge_mappings(void **state)
{
	struct test_vm_opts o = legacy_opts(4 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.gpa = 2 * MiB;
	o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 2 * MiB + 0x5000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 4 * MiB, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);
	assert_int_equal(st.pages_4k, 0);
	/* root, 1G-level and 2M-level tables: the leaves sit in the last. */
	assert_int_equal(st.shadow_mmu_pages, 3);
	test_vm_check(&t);
	test_vm_destroy(&t);

	o.host_mem = 4 * GiB;
	o.size = 1 * GiB;
	o.gpa = 1 * GiB;
	o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_1G;
	test_vm_create(&t, &o);
	access_ok(&t, 0, GiB + 123 * 4096, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pages_1g, 1);
	assert_int_equal(st.shadow_mmu_pages, 2);
	test_vm_check(&t);
	test_vm_destroy(&t);

	/* gpa and hva misaligned modulo 2M: 4K only. */
	o = legacy_opts(4 * MiB);
	o.gpa = 0x1000;
	o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_in_range(st.pages_4k, 1, 8);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Dirty logging on 2M mappings.  Enabling it write-protects every leaf
 * through the rmaps (huge ones too).  A write then cannot be fixed by the
 * fast path (huge leaf in a logged slot): the fault wants 4K, so the huge
 * leaf is dropped and a table linked in its place; only the faulting page
 * is mapped (no prefetch in a logged slot).  The harvest write-protects it
 * again and the next write is a fast-path fault.
 *
 *   gpa 0..2M    2M leaf  -> (write 0x5000) table + 4K leaf at gfn 5
 *   gpa 2M..4M   2M leaf, write-protected, untouched
 */
static void test_shadow_mmu_dirty_logging_replaces_huge_leaf(void **state)
{
	struct test_vm_opts o = legacy_opts(4 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	unsigned long bitmap[1024 / BITS_PER_LONG] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct mmusim_vm_stats st;
	struct test_vm t;
	int level;

	o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x0000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);
	assert_int_equal(st.shadow_mmu_pages, 3);

	r.slot = 0;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	r.memory_size = 4 * MiB;
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_false(is_writable_pte(leaf_spte(&t, 0x200, &level)));
	assert_int_equal(level, PG_LEVEL_2M);

	access_ok(&t, 0, 0x5000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.huge_splits, 1);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(st.pages_4k, 1);
	assert_int_equal(st.shadow_mmu_pages, 4);
	assert_true(is_writable_pte(leaf_spte(&t, 5, &level)));
	assert_int_equal(level, PG_LEVEL_4K);
	test_vm_check(&t);

	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(test_bit(5, bitmap));
	assert_int_equal(bitmap_weight(bitmap, 1024), 1);
	assert_false(is_writable_pte(leaf_spte(&t, 5, NULL)));

	access_ok(&t, 0, 0x5000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_fast, 1);
	memset(bitmap, 0, sizeof(bitmap));
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(test_bit(5, bitmap));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * A table replaced by a huge leaf is orphaned, not freed (it stays in the
 * hash), and the next fault that needs a table for that 2M range finds it
 * again: the shadow page count does not move.
 *   1. logging on, write gfn 5: table T + 4K leaf   (4 shadow pages)
 *   2. logging off: leaves zapped, T empty but linked
 *   3. write gfn 5: 2M leaf over T, T orphaned      (still 4)
 *   4. logging on, write gfn 5: 2M leaf dropped, T found and relinked (4)
 */
static void test_shadow_mmu_orphaned_table_is_reused(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_vm_stats st;
	struct test_vm t;
	int level;

	o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M;
	test_vm_create(&t, &o);
	r.slot = 0;
	r.memory_size = 2 * MiB;
	r.userspace_addr = t.hva;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	access_ok(&t, 0, 0x5000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 1);
	assert_int_equal(st.shadow_mmu_pages, 4);

	r.flags = 0;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	access_ok(&t, 0, 0x5000, MMUSIM_ACCESS_WRITE);
	leaf_spte(&t, 5, &level);
	assert_int_equal(level, PG_LEVEL_2M);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(st.shadow_mmu_pages, 4);
	test_vm_check(&t);

	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	access_ok(&t, 0, 0x5000, MMUSIM_ACCESS_WRITE);
	leaf_spte(&t, 5, &level);
	assert_int_equal(level, PG_LEVEL_4K);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(st.pages_4k, 1);
	assert_int_equal(st.shadow_mmu_pages, 4);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Zapping [512, 1024) through the rmaps drops exactly those 512 leaves;
 * the tables stay.  Refaulting them with the host pages present prefetches
 * 7 neighbours per fault: 64 faults instead of 512.
 */
static void test_shadow_mmu_zap_and_refault(void **state)
{
	struct test_vm_opts o = legacy_opts(8 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(vcpu_n(&t, 0), 0, 2048, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 2048);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 2048);
	assert_int_equal(st.pf_fixed, 2048);
	assert_int_equal(st.shadow_mmu_pages, 3 + 4);

	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 512, 1024), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 1536);
	assert_int_equal(st.shadow_mmu_pages, 3 + 4);
	assert_true(st.remote_tlb_flush >= 1);
	assert_int_equal(leaf_spte(&t, 700, NULL), 0);
	test_vm_check(&t);

	assert_int_equal(mmusim_vcpu_access_range(vcpu_n(&t, 0), 512 * 4096, 512, 0,
						  MMUSIM_ACCESS_READ, NULL),
			 512);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 2048);
	assert_int_equal(st.pf_fixed, 2048 + 64);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Zapping with need_resched() forced often yields mmu_lock and still finishes. */
static void test_shadow_mmu_zap_yields_and_completes(void **state)
{
	struct test_vm_opts o = legacy_opts(16 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(vcpu_n(&t, 0), 0, 4096, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 4096);
	env_set_resched_interval(5);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 0, 2048), 0);
	mmusim_vm_zap_all_fast(t.vm);
	env_set_resched_interval(0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	test_vm_check(&t);
	assert_int_equal(mmusim_vcpu_access_range(vcpu_n(&t, 0), 0, 4096, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 4096);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 4096);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Fast zap: a new generation makes every shadow page obsolete; they are
 * zapped at once, except the root both vCPUs still hold, which is only
 * marked invalid and freed when its last user drops it.
 */
static void test_shadow_mmu_fast_zap_new_generation(void **state)
{
	struct test_vm_opts o = legacy_opts(4 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.nr_vcpus = 2;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 1, 0x1000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 1); /* found in the hash: shared */
	assert_int_equal(st.shadow_mmu_pages, 4);
	assert_int_equal(to_kvm(&t)->mmu_valid_gen, 0);

	mmusim_vm_zap_all_fast(t.vm);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(st.fast_zaps, 1);
	assert_int_equal(st.mmu_shadow_zapped, 4);
	assert_int_equal(st.shadow_mmu_pages, 1); /* the old root, still held */
	assert_int_equal(to_kvm(&t)->mmu_valid_gen, 1);
	test_vm_check(&t);

	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	access_ok(&t, 1, 0, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 2);
	assert_int_equal(st.pages_4k, 2); /* gfn 0, and gfn 1 prefetched */
	assert_int_equal(st.shadow_mmu_pages, 4);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Zap-all (the notifier's ->release) while a vCPU runs on its root: the
 * root is zapped in place and the vCPU is asked to drop it; its next
 * access loads a fresh root.
 */
static void test_shadow_mmu_zap_all_root_in_use(void **state)
{
	struct test_vm_opts o = legacy_opts(4 * MiB);
	struct mmusim_vm_stats st;
	struct kvm_vcpu *vcpu;
	struct kvm_mmu_page *old_root;
	struct test_vm t;

	test_vm_create(&t, &o);
	vcpu = mmusim_to_kvm_vcpu(vcpu_n(&t, 0));
	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_WRITE);
	old_root = vcpu->root[0];
	kvm_mmu_zap_all(to_kvm(&t));
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(st.shadow_mmu_pages, 1);
	assert_true(old_root->role.invalid);
	assert_int_equal(old_root->root_count, 1);
	assert_true(test_bit(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, &vcpu->requests));
	test_vm_check(&t);

	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 2);
	assert_int_equal(st.shadow_mmu_pages, 4);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* SMM has its own root (another role) and its own memslots and rmaps. */
static void test_shadow_mmu_smm_address_space(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_exit exit;
	struct mmusim_vm_stats st;
	struct mmusim_vcpu *v;
	struct test_vm t;

	test_vm_create(&t, &o);
	v = vcpu_n(&t, 0);
	mmusim_vcpu_set_smm(v, true);
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_READ, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	r.slot = (1 << 16) | 0;
	r.memory_size = 2 * MiB;
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_WRITE, &exit), 0);
	mmusim_vcpu_set_smm(v, false);
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_WRITE, &exit), 0);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 2);
	assert_int_equal(st.pages_4k, 2);
	test_vm_check(&t);

	/* Migrating the shared host page zaps both leaves, through two rmaps. */
	assert_int_equal(sim_migrate_page(t.mm, t.hva), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* MMIO SPTEs are created by the legacy path too and go stale by generation. */
static void test_shadow_mmu_mmio_spte_generation(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_exit exit;
	struct mmusim_vm_stats st;
	struct mmusim_vcpu *v;
	struct test_vm t;
	hva_t hva2;

	test_vm_create(&t, &o);
	v = vcpu_n(&t, 0);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_WRITE, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_READ, &exit), 1);
	get_stats(&t, &st);
	assert_int_equal(st.pf_mmio_spte_created, 1);
	/* The cached MMIO hit counts in neither, as 6.12's kvm_mmu_page_fault(). */
	assert_int_equal(st.pf_emulate, 1);
	assert_int_equal(st.pf_taken, 1);
	assert_int_equal(st.pages_4k, 0);

	assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &hva2),
			 0);
	r.slot = 1;
	r.guest_phys_addr = 64 * MiB;
	r.memory_size = 2 * MiB;
	r.userspace_addr = hva2;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_READ, &exit), 1);
	get_stats(&t, &st);
	assert_int_equal(st.pf_mmio_spte_created, 2);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Aging through the rmap.  EPT without A/D bits: clear_young access-tracks
 * the SPTE (RWX cleared, still on its rmap); after a flush the next access
 * is fixed by fast_page_fault() without mmu_lock.  With A/D bits: A is
 * cleared and the hardware walk sets it again.
 */
static void test_shadow_mmu_aging(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.ept_ad_disabled = true;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_READ);
	assert_true(kvm_young(&t, 3));
	assert_true(sim_mm_age_range(t.mm, t.hva + 0x3000, 4096) > 0);
	assert_false(kvm_young(&t, 3));
	assert_true(is_access_track_spte(&to_kvm(&t)->masks, leaf_spte(&t, 3, NULL)));
	remote_flush(&t);
	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pf_fast, 1);
	assert_true(kvm_young(&t, 3));
	test_vm_check(&t);
	test_vm_destroy(&t);

	o.cfg.ept_ad_disabled = false;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	assert_true(sim_mm_age_range(t.mm, t.hva, 4096) > 0);
	assert_false(kvm_young(&t, 0));
	remote_flush(&t);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	assert_true(kvm_young(&t, 0));
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Deleting a slot without the zap-all quirk zaps its leaves through its
 * rmaps while the INVALID copy is visible; the tables stay until the VM
 * goes.  Recreating it and faulting reuses them.
 */
static void test_shadow_mmu_memslot_delete_zaps_rmaps(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.no_slot_zap_all = true;
	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(vcpu_n(&t, 0), 0, 64, 0, MMUSIM_ACCESS_WRITE,
						  NULL),
			 64);
	r.slot = 0;
	r.userspace_addr = t.hva;
	r.memory_size = 0;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(st.fast_zaps, 0);
	assert_int_equal(st.shadow_mmu_pages, 4);
	assert_int_equal(to_kvm(&t)->nr_rmap_sptes, 0);
	test_vm_check(&t);

	r.memory_size = 2 * MiB;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.shadow_mmu_pages, 4);
	assert_int_equal(st.pages_4k, 8); /* prefetched: the host pages are there */
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* 5-level roots and NPT. */
static void test_shadow_mmu_5level_and_npt(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.root_level = 5;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.shadow_mmu_pages, 5);
	test_vm_check(&t);
	test_vm_destroy(&t);

	o.cfg.root_level = 4;
	o.cfg.tdp_mode = MMUSIM_TDP_NPT;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_EXEC);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 2);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_shadow_mmu_dump(void **state)
{
	struct test_vm_opts o = legacy_opts(4 * MiB);
	static char buf[4096];
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(vcpu_n(&t, 0), 0, 16, 0, MMUSIM_ACCESS_WRITE,
						  NULL),
			 16);
	assert_true(mmusim_vm_dump(t.vm, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "shadow pages 4"));
	assert_non_null(strstr(buf, "root as_id 0 level 4 refs 1"));
	assert_non_null(strstr(buf, "(16 pages)"));
	test_vm_destroy(&t);
}

/*
 * The checker's rmap audit: a leaf missing from its rmap, or an rmap
 * entry without a leaf, is reported.
 */
static void test_shadow_mmu_checker_audits_rmaps(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct kvm_vcpu *vcpu;
	struct kvm_memory_slot *slot;
	struct kvm_rmap_head *head;
	struct kvm *kvm;
	struct test_vm t;
	char msg[256];
	u64 *sptep, spte;
	int level, idx;

	test_vm_create(&t, &o);
	kvm = to_kvm(&t);
	vcpu = mmusim_to_kvm_vcpu(vcpu_n(&t, 0));
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	test_vm_check(&t);

	idx = srcu_read_lock(&kvm->slots.srcu);
	slot = id_to_memslot(kvm_memslots_as(&kvm->slots, 0), 0);
	head = gfn_to_rmap(2, PG_LEVEL_4K, slot);
	rcu_read_lock();
	sptep = fast_pf_get_last_sptep(vcpu, 0, 2, &spte, &level);
	rcu_read_unlock();
	srcu_read_unlock(&kvm->slots.srcu, idx);
	assert_ptr_equal((u64 *)head->val, sptep);

	head->val = 0;
	assert_int_equal(mmusim_vm_check(t.vm, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "missing from its rmap"));
	head->val = (unsigned long)sptep;
	test_vm_check(&t);

	kvm->nr_rmap_sptes++;
	assert_int_equal(mmusim_vm_check(t.vm, msg, sizeof(msg)), -EUCLEAN);
	assert_non_null(strstr(msg, "rmaps hold"));
	kvm->nr_rmap_sptes--;
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* A forgotten remote flush after a notifier zap is caught by the TLB checker. */
static void test_shadow_mmu_missing_flush_is_detected(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	mmusim_vcpu_set_tlb_check(vcpu_n(&t, 0), true);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	to_kvm(&t)->debug_skip_remote_flush = true;
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 0x2000), 0);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.stale_tlb_uses, 1);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();

	to_kvm(&t)->debug_skip_remote_flush = false;
	remote_flush(&t);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 0x2000), 0);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.stale_tlb_uses, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Any allocation of a legacy fault (tables, headers, rmap descriptors) may fail. */
static void test_shadow_mmu_alloc_failure_unwinds(void **state)
{
	struct test_vm_opts o = legacy_opts(2 * MiB);
	unsigned long n;
	int r;

	for (n = 1;; n++) {
		struct mmusim_exit exit;
		struct test_vm t;

		test_vm_create(&t, &o);
		env_fail_nth(n);
		r = mmusim_vcpu_access(vcpu_n(&t, 0), 0x4000, MMUSIM_ACCESS_WRITE, &exit);
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(r, 0);
			test_vm_destroy(&t);
			break;
		}
		env_fail_clear();
		assert_true(r == 0 || r == -ENOMEM || r == -EFAULT);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
	assert_true(n > 2);
}

/* A legacy VM's creation and memslot creation unwind every allocation. */
static void test_shadow_mmu_vm_and_slot_create_errors(void **state)
{
	struct mmusim_vm_config cfg = { .nr_vcpus = 2, .mmu = MMUSIM_MMU_LEGACY };
	struct kvm_userspace_memory_region r = { .memory_size = 4 * MiB };
	struct sim_host *host;
	struct mmusim_vm *vm;
	struct sim_mm *mm;
	unsigned long n;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	cfg.mmu = 2;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	cfg.mmu = -1;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	cfg.mmu = MMUSIM_MMU_LEGACY;

	for (n = 1;; n++) {
		int ret;

		env_fail_nth(n);
		ret = mmusim_vm_create(host, mm, &cfg, &vm);
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(ret, 0);
			break;
		}
		env_fail_clear();
		assert_int_equal(ret, -ENOMEM);
	}

	assert_int_equal(sim_mmap(mm, 0, 4 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE,
				  (hva_t *)&r.userspace_addr),
			 0);
	for (n = 1;; n++) {
		int ret;

		env_fail_nth(n);
		ret = mmusim_vm_set_user_memory_region(vm, &r);
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(ret, 0);
			break;
		}
		env_fail_clear();
		assert_int_equal(ret, -ENOMEM);
	}
	/* The rmap arrays (three) come on top of the bitmap-less slot's own. */
	assert_true(n > 3);
	mmusim_vm_destroy(vm);
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_shadow_mmu_fault_in_4k),
		MMUSIM_TEST(test_shadow_mmu_prefetch),
		MMUSIM_TEST(test_shadow_mmu_prefetch_marks_dirty),
		MMUSIM_TEST(test_shadow_mmu_huge_mappings),
		MMUSIM_TEST(test_shadow_mmu_dirty_logging_replaces_huge_leaf),
		MMUSIM_TEST(test_shadow_mmu_orphaned_table_is_reused),
		MMUSIM_TEST(test_shadow_mmu_zap_and_refault),
		MMUSIM_TEST(test_shadow_mmu_zap_yields_and_completes),
		MMUSIM_TEST(test_shadow_mmu_fast_zap_new_generation),
		MMUSIM_TEST(test_shadow_mmu_zap_all_root_in_use),
		MMUSIM_TEST(test_shadow_mmu_smm_address_space),
		MMUSIM_TEST(test_shadow_mmu_mmio_spte_generation),
		MMUSIM_TEST(test_shadow_mmu_aging),
		MMUSIM_TEST(test_shadow_mmu_memslot_delete_zaps_rmaps),
		MMUSIM_TEST(test_shadow_mmu_5level_and_npt),
		MMUSIM_TEST(test_shadow_mmu_dump),
		MMUSIM_TEST(test_shadow_mmu_checker_audits_rmaps),
		MMUSIM_TEST(test_shadow_mmu_missing_flush_is_detected),
		MMUSIM_TEST(test_shadow_mmu_alloc_failure_unwinds),
		MMUSIM_TEST(test_shadow_mmu_vm_and_slot_create_errors),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("shadow_mmu", tests);
}
