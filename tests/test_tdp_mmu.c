// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the TDP MMU (src/mmu/tdp_mmu.c) through real faults from a
 * simulated vCPU: mapping at 4K/2M/1G, stats, zaps, splits, roots and fast
 * zap, aging, MMIO SPTEs, access tracking, and the dump.  The cases whose
 * expectations do not depend on the MMU run again on the legacy MMU (the
 * _legacy variants).
 */
#include "test_util.h"
#include "mmu/tdp_mmu.h"
#include "mmu/shadow_mmu.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct test_vm_opts opts_4k(u64 size)
{
	struct test_vm_opts o = { .size = size, .gpa = 0 };

	return o;
}

static void access_ok(struct test_vm *t, int vcpu, gpa_t gpa, int type)
{
	struct mmusim_exit exit;

	assert_int_equal(mmusim_vcpu_access(mmusim_vm_vcpu(t->vm, vcpu), gpa, type, &exit), 0);
}

static void get_stats(struct test_vm *t, struct mmusim_vm_stats *st)
{
	mmusim_vm_get_stats(t->vm, st);
}

/*
 * gfn:  0    1    2   ...  511 | 512 ...
 *       R    W    -        R   |  (untouched)
 * Three 4K faults: three 4K leaves, one table per level below the root.
 */
static void test_tdp_mmu_fault_in_4k(void **state)
{
	struct test_vm_opts o = opts_4k(4 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x0000, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 511 * 0x1000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 3);
	assert_int_equal(st.pages_2m + st.pages_1g, 0);
	/* PDPT-level + PD-level + PT-level tables: KVM does not count roots. */
	assert_int_equal(st.tdp_mmu_pages, 3);
	assert_int_equal(st.pf_fixed, 3);

	/* Re-access: TLB or walk, no fault. */
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 0x0000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, 3);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* A read fault on a page the host maps writable installs a writable SPTE. */
static void test_tdp_mmu_read_fault_maps_writable(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(sim_mm_touch(t.mm, t.hva, true), 0);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Huge pages: hugetlb-2M backing maps 2M leaves, hugetlb-1G backing maps a
 * 1G leaf, when gpa and hva are aligned alike.
 */
static void test_tdp_mmu_huge_mappings(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .gpa = 2 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 2 * MiB + 0x5000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 4 * MiB, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);
	assert_int_equal(st.pages_4k, 0);
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
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * gpa and hva disagree modulo 2M: lpage_info forbids huge mappings.
 *   slot gpa 0x1000.., hva 2M-aligned: every 4K page maps at 4K.
 */
static void test_tdp_mmu_misaligned_slot_maps_4k(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .gpa = 0x1000,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(st.pages_4k, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_tdp_mmu_zap_and_refault(void **state)
{
	struct test_vm_opts o = opts_4k(8 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 2048, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 2048);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 2048);

	/* Zap gfns [512, 1024): exactly 512 leaves go. */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 512, 1024), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 1536);
	assert_true(st.remote_tlb_flush >= 1);
	test_vm_check(&t);

	/* Re-fault them. */
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 512 * 4096, 512, 0,
						  MMUSIM_ACCESS_READ, NULL),
			 512);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 2048);
	assert_int_equal(st.pf_fixed, 2560);

	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 10, 10), -EINVAL);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 2, 0, 10), -EINVAL);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Yielding: with need_resched() forced often, zapping 4096 leaves drops and
 * retakes mmu_lock many times (restarting the walk from the root each time,
 * at the gfn it reached) and still zaps everything exactly once.
 */
static void test_tdp_mmu_zap_yields_and_completes(void **state)
{
	struct test_vm_opts o = opts_4k(16 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 4096, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 4096);
	env_set_resched_interval(5);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 0, 4096), 0);
	mmusim_vm_zap_all_fast(t.vm);
	env_set_resched_interval(0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	test_vm_check(&t);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 4096, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 4096);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 4096);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Fast zap: every root is invalidated and replaced on the next access. */
static void test_tdp_mmu_fast_zap_replaces_roots(void **state)
{
	struct test_vm_opts o = opts_4k(4 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.nr_vcpus = 2;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 1, 0x1000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 1); /* both vCPUs share the root */

	mmusim_vm_zap_all_fast(t.vm);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(st.fast_zaps, 1);

	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	access_ok(&t, 1, 0, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 2);
	assert_int_equal(st.pages_4k, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * vCPUs loading a root at the same time share one (kvm_tdp_mmu_alloc_root()
 * re-checks under tdp_mmu_pages_lock, 6.9+).  Each round fast-zaps, lets
 * every vCPU drop its obsolete root, then releases all vCPU threads at once
 * into kvm_mmu_load(); afterwards exactly one valid root must exist for
 * address space 0 and exactly one root must have been allocated.
 */
#define SHARE_ROOT_VCPUS 4
#define SHARE_ROOT_ROUNDS 300

struct share_root {
	struct kvm *kvm;
	int go; /* round number the threads may start (release/acquire) */
	atomic_t done; /* threads finished with the current round */
	int errors;
};

struct share_root_arg {
	struct share_root *s;
	int idx;
};

static int share_root_thread(void *data)
{
	struct share_root_arg *a = data;
	struct share_root *s = a->s;
	int round;

	for (round = 1; round <= SHARE_ROOT_ROUNDS; round++) {
		while (smp_load_acquire(&s->go) < round)
			cpu_relax();
		if (kvm_mmu_load(s->kvm->vcpus[a->idx]))
			WRITE_ONCE(s->errors, 1);
		/* Fully ordered: publishes vcpu->root to the main thread. */
		atomic_inc_return(&s->done);
	}
	return 0;
}

static int count_valid_roots(struct kvm *kvm, int as_id)
{
	struct kvm_mmu_page *root;
	int n = 0;

	read_lock(&kvm->mmu_lock);
	rcu_read_lock();
	list_for_each_entry_rcu(root, &kvm->tdp_mmu_roots, link)
		n += kvm_mmu_page_as_id(root) == as_id && !is_invalid_root(root);
	rcu_read_unlock();
	read_unlock(&kvm->mmu_lock);
	return n;
}

static void test_tdp_mmu_vcpus_share_root(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct share_root_arg args[SHARE_ROOT_VCPUS];
	struct env_thread *threads[SHARE_ROOT_VCPUS];
	struct share_root s = { 0 };
	struct mmusim_vm_stats st;
	struct test_vm t;
	int round, i, dups = 0;
	u64 allocs;

	o.cfg.nr_vcpus = SHARE_ROOT_VCPUS;
	test_vm_create(&t, &o);
	s.kvm = mmusim_to_kvm(t.vm);
	atomic_set(&s.done, 0);
	for (i = 0; i < SHARE_ROOT_VCPUS; i++) {
		args[i].s = &s;
		args[i].idx = i;
		threads[i] = env_thread_start(share_root_thread, &args[i], "load-root");
		assert_non_null(threads[i]);
	}
	for (round = 1; round <= SHARE_ROOT_ROUNDS; round++) {
		mmusim_vm_zap_all_fast(t.vm);
		for (i = 0; i < SHARE_ROOT_VCPUS; i++)
			kvm_mmu_free_obsolete_roots(s.kvm->vcpus[i]);
		get_stats(&t, &st);
		allocs = st.root_allocs;

		atomic_set(&s.done, 0);
		smp_store_release(&s.go, round);
		while (smp_load_acquire(&s.done.counter) < SHARE_ROOT_VCPUS)
			cpu_relax();

		get_stats(&t, &st);
		if (count_valid_roots(s.kvm, 0) != 1 || st.root_allocs != allocs + 1)
			dups++;
		for (i = 1; i < SHARE_ROOT_VCPUS; i++)
			dups += s.kvm->vcpus[i]->root[0] != s.kvm->vcpus[0]->root[0];
	}
	for (i = 0; i < SHARE_ROOT_VCPUS; i++)
		assert_int_equal(env_thread_join(threads[i]), 0);
	assert_int_equal(s.errors, 0);
	assert_int_equal(dups, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * kvm_zap_gfn_range() zaps every address space, as 6.12's; the public call
 * does that for as_id -1 and one address space for 0 or 1.
 *
 *   AS 0:  gfn 0 1 2 3 mapped          AS 1 (SMM): gfn 0 1 2 3 mapped
 *   zap(as -1, [0, 2)):  0 1 gone in both; zap(as 1, [2, 4)): 2 3 gone in AS 1
 */
static void test_tdp_mmu_zap_gfn_range_address_spaces(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_vcpu *v;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	r.slot = (1 << 16) | 0;
	r.memory_size = 2 * MiB;
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access_range(v, 0, 4, 0, MMUSIM_ACCESS_WRITE, NULL), 4);
	mmusim_vcpu_set_smm(v, true);
	assert_int_equal(mmusim_vcpu_access_range(v, 0, 4, 0, MMUSIM_ACCESS_WRITE, NULL), 4);
	mmusim_vcpu_set_smm(v, false);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 8);

	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0, 2), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 4);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 1, 2, 4), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 2);
	/* What is left is AS 0's gfn 2 and 3. */
	kvm_zap_gfn_range(mmusim_to_kvm(t.vm), 2, 4);
	get_stats(&t, &st);
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -2, 0, 2), -EINVAL);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Address space 1 (SMM) has its own root and its own memslots. */
static void test_tdp_mmu_smm_address_space(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_vcpu *v;
	struct mmusim_exit exit;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	mmusim_vcpu_set_smm(v, true);
	/* No SMM memslot yet: MMIO. */
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_READ, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	r.slot = (1 << 16) | 0;
	r.memory_size = 2 * MiB;
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_READ, &exit), 0);
	mmusim_vcpu_set_smm(v, false);
	assert_int_equal(mmusim_vcpu_access(v, 0, MMUSIM_ACCESS_READ, &exit), 0);
	get_stats(&t, &st);
	assert_int_equal(st.root_allocs, 2);
	assert_int_equal(st.pages_4k, 2);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * MMIO: a gpa with no memslot installs an MMIO SPTE (one fault, then the
 * SPTE answers); a memslot update changes the generation, so the next
 * access rebuilds the SPTE through the slow path.
 */
static void test_tdp_mmu_mmio_spte_generation(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	struct mmusim_vcpu *v;
	struct mmusim_exit exit;
	struct mmusim_vm_stats st;
	struct test_vm t;
	hva_t hva2;

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_WRITE, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	assert_true(exit.is_write);
	assert_int_equal(exit.gpa, 16 * MiB);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_READ, &exit), 1);
	get_stats(&t, &st);
	assert_int_equal(st.pf_mmio_spte_created, 1);
	/*
	 * As 6.12's kvm_mmu_page_fault(): the second access hits the MMIO SPTE
	 * and is emulated without counting in pf_taken or pf_emulate.
	 */
	assert_int_equal(st.pf_emulate, 1);
	assert_int_equal(st.pf_taken, 1);

	/* A new slot elsewhere bumps the generation: the MMIO SPTE is stale. */
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
 * MMIO generation wrap, brought close with cfg.mmio_gen_wrap_after = 3:
 * the generation of each address space wraps at its third memslot update.
 *
 *   AS 0   slot 0 [0, 2M)  (update 1, by test_vm_create)
 *          slot 1 [64M, 66M) (update 2)       MMIO probe at 16M
 *          slot 2 [128M, 130M) (update 3: the 19 bits wrap)
 *   AS 1   slots 0..2 at the same gpas (updates 1..3: wraps again)
 *
 * No update here deletes or moves a slot, so the only zaps are the wraps'.
 */
static void test_tdp_mmu_mmio_generation_wrap(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct mmusim_vcpu *v;
	struct mmusim_exit exit;
	struct mmusim_vm_stats st;
	struct test_vm t;
	hva_t hva2;
	int i;

	o.cfg.mmio_gen_wrap_after = 3;
	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE,
				  SIM_MAP_PRIVATE, &hva2),
			 0);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_READ, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);

	test_vm_set_region(&t, 1, 64 * MiB, 2 * MiB, hva2);
	get_stats(&t, &st);
	assert_int_equal(st.mmio_gen_wraps, 0);
	assert_int_equal(st.fast_zaps, 0);
	assert_int_equal(st.pages_4k, 1);

	test_vm_set_region(&t, 2, 128 * MiB, 2 * MiB, hva2);
	get_stats(&t, &st);
	assert_int_equal(st.mmio_gen_wraps, 1);
	assert_int_equal(st.fast_zaps, 1);
	/* The wrap zapped everything: the MMIO SPTE and the memory mapping. */
	assert_int_equal(st.pages_4k, 0);
	assert_int_equal(mmusim_vcpu_access(v, 16 * MiB, MMUSIM_ACCESS_READ, &exit), 1);
	assert_int_equal(exit.reason, KVM_EXIT_MMIO);
	get_stats(&t, &st);
	assert_int_equal(st.pf_mmio_spte_created, 2);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_READ);

	/* SMM has its own residue class of generations, and its own wrap. */
	for (i = 0; i < 3; i++) {
		get_stats(&t, &st);
		assert_int_equal(st.mmio_gen_wraps, 1);
		test_vm_set_region(&t, (1 << 16) | i, (u64)i * 64 * MiB, 2 * MiB, hva2);
	}
	get_stats(&t, &st);
	assert_int_equal(st.mmio_gen_wraps, 2);
	assert_int_equal(st.fast_zaps, 2);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

struct race_event {
	struct test_vm *t;
	int kind;		/* RACE_* */
	int calls, ret;
	gfn_t gfn;
};

enum { RACE_DONTNEED, RACE_MPROTECT_RO, RACE_MIGRATE };

static void race_event_fn(void *arg, int point, gfn_t gfn)
{
	struct race_event *ev = arg;
	hva_t hva = ev->t->hva + (gfn << PAGE_SHIFT);

	ev->calls++;
	ev->gfn = gfn;
	if (ev->kind == RACE_DONTNEED)
		ev->ret = sim_madvise(ev->t->mm, hva, PAGE_SIZE, SIM_MADV_DONTNEED);
	else if (ev->kind == RACE_MPROTECT_RO)
		ev->ret = sim_mprotect(ev->t->mm, hva, PAGE_SIZE, SIM_PROT_READ);
	else
		ev->ret = sim_migrate_page(ev->t->mm, hva);
}

/*
 * A host event inside a fault, at both race points (after GUP; after the
 * unlocked mmu_seq check, just before mmu_lock).  Slot 0 maps [0, 2M):
 *
 *   gfn 3    written by the guest ("old"), zapped, then re-faulted while
 *            the event runs on its host page
 *
 * DONTNEED: the fault must retry and map the new zero page, not the page
 * its GUP returned.  mprotect(READ) under a write fault: the retry's GUP
 * fails, -EFAULT.  Migration: the fault's page reference makes it -EBUSY,
 * and the fault maps the page that stayed.
 */
static void test_tdp_mmu_invalidation_inside_fault(void **state)
{
	static const u64 old = 0x6f6c64;
	int point, kind;

	for (point = 0; point < MMUSIM_FAULT_RACE_NR; point++) {
		for (kind = RACE_DONTNEED; kind <= RACE_MIGRATE; kind++) {
			struct test_vm_opts o = opts_4k(2 * MiB);
			struct race_event ev = { .kind = kind };
			struct mmusim_vm_stats before, after;
			struct mmusim_vcpu *v;
			struct test_vm t;
			u64 val = old;
			int r;

			test_vm_create(&t, &o);
			ev.t = &t;
			v = mmusim_vm_vcpu(t.vm, 0);
			assert_int_equal(mmusim_vcpu_write(v, 0x3000, &val, sizeof(val)), 0);
			assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 3, 4), 0);
			assert_int_equal(mmusim_vm_race_next_fault(t.vm, point, race_event_fn, &ev),
					 0);
			get_stats(&t, &before);
			if (kind == RACE_MPROTECT_RO) {
				val = 1;
				r = mmusim_vcpu_write(v, 0x3000, &val, sizeof(val));
				assert_int_equal(r, -EFAULT);
			} else {
				r = mmusim_vcpu_read(v, 0x3000, &val, sizeof(val));
				assert_int_equal(r, 0);
				assert_true(val == (kind == RACE_DONTNEED ? 0 : old));
			}
			get_stats(&t, &after);
			assert_int_equal(ev.calls, 1);
			assert_int_equal(ev.gfn, 3);
			assert_int_equal(ev.ret, kind == RACE_MIGRATE ? -EBUSY : 0);
			/* The invalidations are seen, and only they cause a retry. */
			assert_int_equal(after.pf_retry - before.pf_retry, kind == RACE_MIGRATE ? 0 : 1);
			test_vm_check(&t);
			test_vm_destroy(&t);
		}
	}
}

/*
 * EPT without A/D bits: aging access-tracks the SPTE (RWX cleared); the
 * next access takes an EPT violation that fast_page_fault() fixes without
 * mmu_lock.
 */
static void test_tdp_mmu_access_tracking_fast_path(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.ept_ad_disabled = true;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_READ);
	assert_true(sim_mm_age_range(t.mm, t.hva + 0x3000, 4096) > 0);
	/* Access-tracked now: not young, for KVM as for the host. */
	assert_false(kvm_tdp_mmu_test_age_gfn(mmusim_to_kvm(t.vm), 0, 3, 4));
	/* Aging does not flush; a flush makes the vCPU walk and meet RWX=0. */
	write_lock(&mmusim_to_kvm(t.vm)->mmu_lock);
	kvm_flush_remote_tlbs(mmusim_to_kvm(t.vm));
	write_unlock(&mmusim_to_kvm(t.vm)->mmu_lock);
	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pf_fast, 1);
	/* A fault fast_page_fault() fixes is taken and fixed too (6.12). */
	assert_int_equal(st.pf_taken, 2);
	assert_int_equal(st.pf_fixed, 2);
	assert_true(kvm_tdp_mmu_test_age_gfn(mmusim_to_kvm(t.vm), 0, 3, 4));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* With A/D bits, aging clears A; the hardware walk sets it again. */
static void test_tdp_mmu_aging_ad_bits(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct kvm *kvm;
	struct test_vm t;

	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	assert_true(sim_mm_age_range(t.mm, t.hva, 4096) > 0);
	assert_false(kvm_tdp_mmu_test_age_gfn(kvm, 0, 0, 1));
	write_lock(&kvm->mmu_lock);
	kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
	assert_true(kvm_tdp_mmu_test_age_gfn(kvm, 0, 0, 1));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Lockless aging racing with the removal of a table whose children are
 * present.  Aging reads gfn 0's leaf (present, young); right then (the
 * KVM_MMU_RACE_AGE hook) another thread fast-zaps, and the zap of the
 * root under the read lock removes the tables (prove builds zap at 1G
 * level first, so the PD and PT go with their children present) and freezes
 * every child, gfn 0's leaf included; only then does aging clear the
 * Accessed bit.  It must leave FROZEN_SPTE intact: the value carries no A
 * bit in either format.  The test holds RCU so the detached PT stays
 * readable after aging returns.
 *
 *   gfn:   0 .. 7 written (4K leaves in one PT)      8 .. 511 empty
 *   PT:    [L L L L L L L L - - ... -]  ->  all FROZEN_SPTE
 */
struct age_race {
	struct mmusim_vm *vm;
	int want, done; /* release/acquire handshake */
	bool stop;
};

static int age_race_zapper(void *data)
{
	struct age_race *r = data;

	while (!READ_ONCE(r->stop)) {
		if (!smp_load_acquire(&r->want)) {
			env_spin_yield();
			continue;
		}
		WRITE_ONCE(r->want, 0);
		mmusim_vm_zap_all_fast(r->vm);
		smp_store_release(&r->done, 1);
	}
	return 0;
}

/* On the aging thread, inside its RCU read side: hand the zap over and wait. */
static void age_race_hook(void *arg, int point, gfn_t gfn)
{
	struct age_race *r = arg;

	assert_int_equal(point, KVM_MMU_RACE_AGE);
	smp_store_release(&r->want, 1);
	while (!smp_load_acquire(&r->done))
		cpu_relax();
}

static void test_tdp_mmu_aging_vs_table_removal(void **state)
{
	static const struct {
		int tdp_mode;
		bool ad_disabled;
	} cfgs[] = {
		{ MMUSIM_TDP_EPT, false },
		{ MMUSIM_TDP_NPT, false },
		{ MMUSIM_TDP_EPT, true },
	};
	unsigned int i;

#ifndef MMUSIM_PROVE
	skip(); /* without prove mode, leaves are zapped one by one first */
#endif
	for (i = 0; i < ARRAY_SIZE(cfgs); i++) {
		struct test_vm_opts o = opts_4k(2 * MiB);
		struct age_race r = { 0 };
		struct env_thread *zapper;
		struct kvm *kvm;
		struct test_vm t;
		u64 spte, after;
		u64 *sptep;
		int level;

		o.cfg.tdp_mode = cfgs[i].tdp_mode;
		o.cfg.ept_ad_disabled = cfgs[i].ad_disabled;
		test_vm_create(&t, &o);
		kvm = mmusim_to_kvm(t.vm);
		assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 8, 0,
							  MMUSIM_ACCESS_WRITE, NULL),
				 8);
		r.vm = t.vm;
		zapper = env_thread_start(age_race_zapper, &r, "zapper");
		assert_non_null(zapper);
		/* Armed as mmusim_vm_race_next_fault() does; the point is internal. */
		WRITE_ONCE(kvm->fault_race.arg, &r);
		WRITE_ONCE(kvm->fault_race.point, KVM_MMU_RACE_AGE);
		smp_store_release(&kvm->fault_race.fn, age_race_hook);

		rcu_read_lock();
		sptep = kvm_tdp_mmu_fast_pf_get_last_sptep(kvm->vcpus[0], 0, 0, &spte, &level);
		assert_non_null(sptep);
		assert_int_equal(level, PG_LEVEL_4K);
		assert_true(is_shadow_present_pte(spte) && is_accessed_spte(&kvm->masks, spte));
		/* What the host's clear_young reaches; aging takes no lock that sleeps. */
		kvm->mmu_notifier.ops->clear_young(&kvm->mmu_notifier, t.mm, t.hva,
						   t.hva + 8 * PAGE_SIZE);
		after = READ_ONCE(*sptep);
		rcu_read_unlock();

		WRITE_ONCE(r.stop, true);
		assert_int_equal(env_thread_join(zapper), 0);
		assert_int_equal(READ_ONCE(r.done), 1);
		assert_int_equal(after, FROZEN_SPTE);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * Dirty logging with eager_page_split=N: enabling it write-protects the
 * slot and forces 4K mappings; a write to a 2M-mapped page splits it
 * (mmu_lock read) and is logged; GET_DIRTY_LOG returns and re-protects the
 * page.
 */
static void test_tdp_mmu_dirty_logging_splits_and_logs(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .gpa = 0,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M,
				  .cfg.no_eager_page_split = true };
	struct kvm_userspace_memory_region r = { 0 };
	unsigned long bitmap[1024 / BITS_PER_LONG] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x0000, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);

	r.slot = 0;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	r.memory_size = 4 * MiB;
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);

	access_ok(&t, 0, 0x5000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.huge_splits, 1);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(st.pages_4k, 512);

	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(test_bit(5, bitmap));
	assert_int_equal(bitmap_weight(bitmap, 1024), 1);

	/* Re-protected: the next write is a fast-path fault, logged again. */
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
 * KVM_DIRTY_LOG_INITIALLY_SET (Linux 6.12): enabling logging write-protects
 * nothing (every page already reads dirty); KVM_CLEAR_DIRTY_LOG protects
 * the pages it clears and the 2M region around them, so the next write
 * there faults and maps 4K, while the other 2M leaf keeps its mapping.
 *
 *   gfn  0 ....... 511 | 512 ...... 1023      slot 0, hugetlb 2M backing
 *        [ 2M leaf A  ] [ 2M leaf B    ]
 *          ^ gfn 7 cleared: A protected, split on write; B untouched
 */
static void test_tdp_mmu_dirty_log_initially_set(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	unsigned long bitmap[1024 / BITS_PER_LONG], clear_bits[1] = { 1ul << 7 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_clear_dirty_log clear = { .slot = 0, .first_page = 0, .num_pages = 64,
					     .dirty_bitmap = clear_bits };
	struct kvm_userspace_memory_region r;
	struct mmusim_vm_stats st;
	struct test_vm t;
	u64 faults;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(
				 t.vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
					       KVM_DIRTY_LOG_INITIALLY_SET),
			 0);
	access_ok(&t, 0, 5 << 12, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 600 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);

	r = (struct kvm_userspace_memory_region){ .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 4 * MiB, .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);

	/* Nothing was protected: writes anywhere complete without a fault. */
	get_stats(&t, &st);
	faults = st.pf_taken;
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 700 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults);
	assert_int_equal(st.pages_2m, 2);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bitmap_weight(bitmap, 1024), 1024);

	/* Clearing gfn 7 protects leaf A: the next write faults, maps 4K, is logged. */
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &clear), 0);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_false(test_bit(7, bitmap));
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_true(st.pf_taken > faults);
	assert_int_equal(st.pages_2m, 1);
	assert_true(st.pages_4k >= 1);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(test_bit(7, bitmap));

	/* Leaf B was never protected. */
	faults = st.pf_taken;
	access_ok(&t, 0, 800 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults);
	assert_int_equal(st.pages_2m, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Eager page splitting (6.12 kvm_mmu_slot_try_split_huge_pages()): enabling
 * dirty logging turns every huge leaf of the slot into 4K leaves at once,
 * without a fault, each keeping the huge leaf's pfn and permissions, then
 * write-protects them.  Reads then complete without faulting; the first
 * write to a page is a fast-path fault (W restored) and is logged.
 *
 *   gfn  0 ....... 511 | 512 ...... 1023      slot 0, hugetlb 2M backing
 *        [ 2M leaf    ] [ 2M leaf      ]  ->  1024 4K leaves, all read-only
 */
static void test_tdp_mmu_eager_split_on_enable(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	unsigned long bitmap[1024 / BITS_PER_LONG] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_userspace_memory_region r;
	struct mmusim_vm_stats st;
	struct test_vm t;
	u64 faults, fast;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);
	assert_int_equal(st.huge_splits, 0);

	r = (struct kvm_userspace_memory_region){ .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 4 * MiB, .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(st.pages_4k, 1024);
	assert_int_equal(st.huge_splits, 2);
	assert_int_equal(st.tdp_mmu_pages, 1 + 1 + 2);	/* PDPT, PD, two split tables */
	test_vm_check(&t);

	faults = st.pf_taken;
	fast = st.pf_fast;
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 900 << 12, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults);
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults + 1);
	assert_int_equal(st.pf_fast, fast + 1);
	assert_int_equal(st.pages_4k, 1024);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bitmap_weight(bitmap, 1024), 1);
	assert_true(test_bit(7, bitmap));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * INITIALLY_SET with eager splitting: enabling logging does nothing; the
 * first KVM_CLEAR_DIRTY_LOG splits the 2M region around the cleared gfn
 * (6.12 kvm_arch_mmu_enable_log_dirty_pt_masked()), so only that gfn is
 * write-protected; its neighbours stay writable, leaf B stays huge.
 *
 *   gfn  0 ....... 511 | 512 ...... 1023
 *        [ 2M leaf A  ] [ 2M leaf B    ]
 *          ^ gfn 7 cleared: A -> 512 4K leaves, gfn 7 read-only
 */
static void test_tdp_mmu_eager_split_on_clear(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	unsigned long clear_bits[1] = { 1ul << 7 };
	struct kvm_clear_dirty_log clear = { .slot = 0, .first_page = 0, .num_pages = 64,
					     .dirty_bitmap = clear_bits };
	struct kvm_userspace_memory_region r;
	struct mmusim_vm_stats st;
	struct test_vm t;
	u64 faults;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(
				 t.vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
					       KVM_DIRTY_LOG_INITIALLY_SET),
			 0);
	access_ok(&t, 0, 5 << 12, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 600 << 12, MMUSIM_ACCESS_WRITE);
	r = (struct kvm_userspace_memory_region){ .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 4 * MiB, .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);
	assert_int_equal(st.huge_splits, 0);

	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &clear), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(st.pages_4k, 512);
	assert_int_equal(st.huge_splits, 1);
	faults = st.pf_taken;
	access_ok(&t, 0, 8 << 12, MMUSIM_ACCESS_WRITE);	/* neighbour: still writable */
	access_ok(&t, 0, 700 << 12, MMUSIM_ACCESS_WRITE);	/* leaf B */
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults);
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_WRITE);	/* the cleared gfn faults */
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults + 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * A 1G leaf splits to 512 2M leaves and each of those to 512 4K leaves in
 * the same walk (pre-order: a new table's entries come right after it).
 */
static void test_tdp_mmu_eager_split_1g(void **state)
{
	struct test_vm_opts o = { .size = GiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_1G };
	struct kvm_userspace_memory_region r;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pages_1g, 1);
	r = (struct kvm_userspace_memory_region){ .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = GiB, .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	assert_int_equal(st.pages_1g, 0);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(st.pages_4k, 512 * 512);
	assert_int_equal(st.huge_splits, 1 + 512);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * A split table that cannot be allocated ends the split (-ENOMEM, which KVM
 * ignores): the cleared gfn's 2M leaf is write-protected whole instead, and
 * the next write there splits it by fault, so logging stays exact.
 *
 *   gfn  0 ....... 511 | 512 ...... 1023      INITIALLY_SET, clear gfn 7
 *        [ 2M leaf A  ] [ 2M leaf B    ]      A's split table: -ENOMEM
 */
static void test_tdp_mmu_eager_split_alloc_failure(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	unsigned long bitmap[1024 / BITS_PER_LONG] = { 0 }, clear_bits[1] = { 1ul << 7 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_clear_dirty_log clear = { .slot = 0, .first_page = 0, .num_pages = 64,
					     .dirty_bitmap = clear_bits };
	struct kvm_userspace_memory_region r;
	struct mmusim_vm_stats st;
	struct test_vm t;
	u64 faults;

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vm_enable_manual_dirty_log_protect(
				 t.vm, KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
					       KVM_DIRTY_LOG_INITIALLY_SET),
			 0);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_WRITE);
	r = (struct kvm_userspace_memory_region){ .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 4 * MiB, .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);

	env_fail_nth(1);
	assert_int_equal(mmusim_vm_clear_dirty_log(t.vm, &clear), 0);
	assert_int_equal(env_fail_injected(), 1);
	env_fail_clear();
	get_stats(&t, &st);
	assert_int_equal(st.huge_splits, 0);
	assert_int_equal(st.pages_2m, 2);

	faults = st.pf_taken;
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, faults + 1);
	assert_int_equal(st.pages_2m, 1);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(test_bit(7, bitmap));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * Turning dirty logging off brings the huge mappings back.  6.13 replaces
 * each table that could be a huge page with the huge leaf in place; 6.12
 * (zap_collapsible) zaps it and the guest faults again; the legacy MMU zaps
 * its collapsible 4K leaves.  The anchor (perf-anchors.md §2) is the fault
 * count after logging off: none in place, one per huge page otherwise.
 *
 *   gfn  0 ....... 511 | 512 ...... 1023      slot 0, hugetlb 2M backing
 *   log on:  eager split -> 1024 4K leaves; writes to gfn 3 and 700
 *   log off: in place: two 2M leaves again, no fault on any later access
 *            zap:      no leaves; touching both halves takes two faults
 */
static void huge_recovery(int mmu, bool zap_collapsible, bool thp_split_on_host)
{
	struct test_vm_opts o = { .size = 4 * MiB, .cfg.mmu = mmu,
				  .cfg.zap_collapsible = zap_collapsible,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 4 * MiB };
	bool in_place = mmu == MMUSIM_MMU_TDP && !zap_collapsible;
	struct mmusim_vm_stats st;
	struct test_vm t;
	u64 faults;
	u8 v = 0x5a, back = 0;

	if (thp_split_on_host)
		o.map_flags = SIM_MAP_PRIVATE | SIM_MAP_THP;
	test_vm_create(&t, &o);
	r.userspace_addr = t.hva;
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	access_ok(&t, 0, 2 * MiB, MMUSIM_ACCESS_WRITE);
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_vcpu_write(mmusim_vm_vcpu(t.vm, 0), 700 << 12, &v, 1), 0);
	if (thp_split_on_host)	/* The host no longer maps the first 2M huge. */
		assert_int_equal(sim_split_thp(t.mm, t.hva), 0);

	r.flags = 0;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	test_vm_check(&t);
	if (in_place) {
		assert_int_equal(st.huge_recoveries, thp_split_on_host ? 1 : 2);
		assert_int_equal(st.pages_2m, thp_split_on_host ? 1 : 2);
	} else {
		assert_int_equal(st.huge_recoveries, 0);
		assert_int_equal(st.pages_2m, 0);
	}
	if (!in_place && mmu == MMUSIM_MMU_TDP)
		assert_int_equal(st.pages_4k, thp_split_on_host ? 512 : 0);

	/* Reads: nothing to fault in place; one fault per huge page after a zap. */
	faults = st.pf_taken;
	access_ok(&t, 0, 5 << 12, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 900 << 12, MMUSIM_ACCESS_READ);
	assert_int_equal(mmusim_vcpu_read(mmusim_vm_vcpu(t.vm, 0), 700 << 12, &back, 1), 0);
	assert_int_equal(back, v);
	get_stats(&t, &st);
	if (in_place)
		assert_int_equal(st.pf_taken - faults, thp_split_on_host ? 1 : 0);
	else if (!thp_split_on_host)
		assert_int_equal(st.pf_taken - faults, 2);
	if (!thp_split_on_host)
		assert_int_equal(st.pages_2m, 2);
	/*
	 * A recovered leaf inherits the write protection of the 4K leaf it was
	 * built from: the first write to it is a fast-path fault, as in KVM.
	 */
	if (in_place && !thp_split_on_host) {
		faults = st.pf_fast;
		access_ok(&t, 0, 5 << 12, MMUSIM_ACCESS_WRITE);
		get_stats(&t, &st);
		assert_int_equal(st.pf_fast, faults + 1);
		assert_int_equal(st.pages_2m, 2);
	}
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_tdp_mmu_huge_recovery_in_place(void **state)
{
	huge_recovery(MMUSIM_MMU_TDP, false, false);
}

static void test_tdp_mmu_huge_recovery_zap_collapsible(void **state)
{
	huge_recovery(MMUSIM_MMU_TDP, true, false);
}

static void test_tdp_mmu_huge_recovery_host_split(void **state)
{
	huge_recovery(MMUSIM_MMU_TDP, false, true);
}

static void test_tdp_mmu_huge_recovery_legacy_zaps(void **state)
{
	huge_recovery(MMUSIM_MMU_LEGACY, false, false);
}

/* The legacy MMU never splits eagerly (6.12: TDP MMU only). */
static void test_tdp_mmu_eager_split_not_on_legacy(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .cfg.mmu = MMUSIM_MMU_LEGACY,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct kvm_userspace_memory_region r;
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	r = (struct kvm_userspace_memory_region){ .slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES,
						  .memory_size = 4 * MiB, .userspace_addr = t.hva };
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	assert_int_equal(st.huge_splits, 0);
	assert_int_equal(st.pages_2m, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/*
 * NX huge pages (nx_huge_pages=on, Linux 6.12): a huge leaf is never
 * executable, so an exec fault maps 4K, splitting the huge page; a later
 * read fault in the split region must not map a huge page over the table
 * the exec fault made (disallowed_hugepage_adjust()).  No fault may loop.
 *
 *   gfn  0 ........ 511 | 512 ...... 1023      hugetlb 2M backing
 *        [ 2M, NX -> split by exec at 3 ] [ 2M leaf, read only ]
 *             gfn 10 zapped, re-read: stays 4K
 */
static void test_tdp_mmu_nx_huge_pages(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M,
				  .cfg.nx_huge_pages = true };
	struct mmusim_vm_stats st;
	struct test_vm t;
	unsigned int mode;

	for (mode = MMUSIM_TDP_EPT; mode <= MMUSIM_TDP_NPT; mode++) {
		o.cfg.tdp_mode = mode;
		test_vm_create(&t, &o);
		access_ok(&t, 0, 0, MMUSIM_ACCESS_READ);
		access_ok(&t, 0, 512 << 12, MMUSIM_ACCESS_READ);
		get_stats(&t, &st);
		assert_int_equal(st.pages_2m, 2);

		access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
		get_stats(&t, &st);
		assert_int_equal(st.pages_2m, 1);
		assert_true(st.pages_4k >= 1);
		/* Executing again hits the TLB or the 4K SPTE: no new fault. */
		access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
		assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, 0, 10, 11), 0);
		access_ok(&t, 0, 10 << 12, MMUSIM_ACCESS_READ);
		get_stats(&t, &st);
		assert_int_equal(st.pages_2m, 1);
		/* Exec in the other huge page splits it too. */
		access_ok(&t, 0, 600 << 12, MMUSIM_ACCESS_EXEC);
		get_stats(&t, &st);
		assert_int_equal(st.pages_2m, 0);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * NX recovery (6.12 kvm_recover_nx_huge_pages()): an exec fault in a huge-
 * eligible 2M region leaves a 4K table listed as a possible NX huge page;
 * a recovery pass zaps the oldest 1/ratio of the list (rounded up), and the
 * next read fault maps the region huge again.
 *
 *   gfn  0 .. 511 | 512 .. 1023 | 1024 .. 1535     hugetlb 2M, 6 MiB
 *   exec 3        exec 600      exec 1100          -> 3 tables listed
 *   ratio 2: a pass zaps ceil(3/2) = 2, the oldest first (regions 0, 1)
 */
static void nx_recovery(int mmu)
{
	struct test_vm_opts o = { .size = 6 * MiB, .cfg.mmu = mmu, .cfg.nx_huge_pages = true,
				  .cfg.nx_huge_pages_recovery_ratio = 2,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
	access_ok(&t, 0, 600 << 12, MMUSIM_ACCESS_EXEC);
	access_ok(&t, 0, 1100 << 12, MMUSIM_ACCESS_EXEC);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 3);
	assert_int_equal(st.pages_2m, 0);
	assert_int_equal(st.pages_4k, 3);

	assert_int_equal(mmusim_vm_recover_nx_huge_pages(t.vm), 0);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 1);
	assert_int_equal(st.pages_4k, 1);	/* gfn 1100's table stays */
	test_vm_check(&t);
	access_ok(&t, 0, 5 << 12, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 700 << 12, MMUSIM_ACCESS_READ);
	access_ok(&t, 0, 1200 << 12, MMUSIM_ACCESS_READ);
	get_stats(&t, &st);
	assert_int_equal(st.pages_2m, 2);	/* regions 0 and 1 are huge again */
	assert_int_equal(st.pages_4k, 2);	/* 1100 and 1200 in the table left */

	/* An exec fault still splits: no loop, just the same cycle. */
	access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 2);
	assert_int_equal(st.pages_2m, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_tdp_mmu_nx_recovery(void **state)
{
	nx_recovery(MMUSIM_MMU_TDP);
}

static void test_tdp_mmu_nx_recovery_legacy_mmu(void **state)
{
	nx_recovery(MMUSIM_MMU_LEGACY);
}

/*
 * A listed page in a dirty-logged slot is only taken off the list (it
 * would fault back at 4K); freeing the table some other way (a fast zap)
 * takes it off too, zapping leaves does not; ratio -1 never recovers; the
 * worker thread runs passes on its own.
 */
static void test_tdp_mmu_nx_recovery_rules(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .cfg.nx_huge_pages = true,
				  .cfg.nx_huge_pages_recovery_ratio = 1,
				  .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M };
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 4 * MiB };
	struct mmusim_vm_stats st;
	struct test_vm t;
	int i;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
	r.userspace_addr = t.hva;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vm_recover_nx_huge_pages(t.vm), 0);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 0);
	assert_int_equal(st.pages_4k, 1);
	r.flags = 0;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	access_ok(&t, 0, 600 << 12, MMUSIM_ACCESS_EXEC);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 1);
	/* Leaf zaps leave tables (and the list) alone; freeing the table does not. */
	assert_int_equal(mmusim_vm_zap_gfn_range(t.vm, -1, 0, 1024), 0);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 1);
	mmusim_vm_zap_all_fast(t.vm);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 0);
	test_vm_check(&t);
	test_vm_destroy(&t);

	o.cfg.nx_huge_pages_recovery_ratio = -1;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
	assert_int_equal(mmusim_vm_recover_nx_huge_pages(t.vm), 0);
	get_stats(&t, &st);
	assert_int_equal(st.nx_lpage_splits, 1);
	test_vm_destroy(&t);

	/* The worker: a 1 ms period finds the table within a second. */
	o.cfg.nx_huge_pages_recovery_ratio = 1;
	o.cfg.nx_huge_pages_recovery_period_ms = 1;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 3 << 12, MMUSIM_ACCESS_EXEC);
	for (i = 0; i < 1000; i++) {
		get_stats(&t, &st);
		if (!st.nx_lpage_splits)
			break;
		msleep(1);
	}
	assert_int_equal(st.nx_lpage_splits, 0);
	test_vm_destroy(&t);
}

/*
 * Dirty logging by D bits (PML, mmusim_vm_config.dirty_log_pml) against
 * write protection, on one workload: 64 pages written once before logging,
 * logging on, the same 64 written again, a harvest, 64 more writes.
 *
 *   gfn 0 .. 63 (slot 0, 4K anonymous, 2 MiB)
 *   write protection: every logged write is a (fast) fault
 *   PML:              no fault at all; the CPU logs the D transitions and
 *                     the log is flushed into the bitmap when the call ends
 */
static void pml_vs_wrprot(int mmu, bool pml)
{
	struct test_vm_opts o = { .size = 2 * MiB, .cfg = { .mmu = mmu, .dirty_log_pml = pml } };
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 2 * MiB };
	unsigned long bitmap[512 / BITS_PER_LONG];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct mmusim_vm_stats st;
	struct mmusim_exit exit;
	struct test_vm t;
	u64 taken;
	int round;

	test_vm_create(&t, &o);
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 64, 0,
						  MMUSIM_ACCESS_WRITE, &exit), 64);
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	taken = st.pf_taken;
	for (round = 0; round < 2; round++) {
		memset(bitmap, 0, sizeof(bitmap));
		assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 64, 0,
							  MMUSIM_ACCESS_WRITE, &exit),
				 64);
		assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
		assert_int_equal(bitmap_weight(bitmap, 512), 64);
		get_stats(&t, &st);
		assert_int_equal(st.pf_taken - taken, pml ? 0 : 64 * (round + 1));
	}
	test_vm_check(&t);
	test_vm_destroy(&t);
}

static void test_tdp_mmu_dirty_log_pml(void **state)
{
	pml_vs_wrprot(MMUSIM_MMU_TDP, true);
	pml_vs_wrprot(MMUSIM_MMU_TDP, false);
	pml_vs_wrprot(MMUSIM_MMU_LEGACY, true);
	pml_vs_wrprot(MMUSIM_MMU_LEGACY, false);
}

/*
 * PML details: the 512-entry log fills inside one run (600 pages in one
 * access_range) and is flushed on the PML-full exit, losing nothing; a huge
 * leaf is write-protected when logging starts without eager splitting, so
 * its first write faults and maps 4K; PML needs EPT with A/D bits.
 */
static void test_tdp_mmu_dirty_log_pml_details(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB, .cfg.dirty_log_pml = true };
	struct kvm_userspace_memory_region r = { .slot = 0, .memory_size = 4 * MiB };
	unsigned long bitmap[1024 / BITS_PER_LONG] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct mmusim_vm_stats st;
	struct mmusim_exit exit;
	struct mmusim_vm *vm;
	struct test_vm t;
	u64 taken;

	test_vm_create(&t, &o);
	r.userspace_addr = t.hva;
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 600, 0,
						  MMUSIM_ACCESS_WRITE, &exit), 600);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 600, 0,
						  MMUSIM_ACCESS_WRITE, &exit), 600);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_int_equal(bitmap_weight(bitmap, 1024), 600);
	test_vm_check(&t);
	test_vm_destroy(&t);

	o = (struct test_vm_opts){ .size = 4 * MiB,
				   .map_flags = SIM_MAP_PRIVATE | SIM_MAP_HUGETLB_2M,
				   .cfg = { .dirty_log_pml = true, .no_eager_page_split = true } };
	test_vm_create(&t, &o);
	r.userspace_addr = t.hva;
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	get_stats(&t, &st);
	taken = st.pf_taken;
	assert_int_equal(st.pages_2m, 1);
	access_ok(&t, 0, 7 << 12, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.pf_taken, taken + 1);
	assert_int_equal(st.pages_2m, 0);
	memset(bitmap, 0, sizeof(bitmap));
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_true(test_bit(7, bitmap));
	test_vm_check(&t);
	test_vm_destroy(&t);

	test_vm_create(&t, &(struct test_vm_opts){ 0 });
	o.cfg = (struct mmusim_vm_config){ .dirty_log_pml = true, .tdp_mode = MMUSIM_TDP_NPT };
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &o.cfg, &vm), -EINVAL);
	o.cfg.tdp_mode = MMUSIM_TDP_EPT;
	o.cfg.ept_ad_disabled = true;
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &o.cfg, &vm), -EINVAL);
	o.cfg.ept_ad_disabled = false;
	assert_int_equal(mmusim_vm_create(t.host, t.mm, &o.cfg, &vm), 0);
	mmusim_vm_destroy(vm);
	test_vm_destroy(&t);
}

/*
 * The harvest write-protects with an atomic AND (6.12's
 * clear_dirty_pt_masked() -> tdp_mmu_clear_spte_bits()), so a lockless
 * change made between its read and its write survives.  EPT without A/D
 * bits, dirty logging on, gfn 3 written (writable, logged).  The harvest
 * reads gfn 3's SPTE; right then (the KVM_MMU_RACE_HARVEST hook) aging
 * access-tracks it (R/X saved, RWX cleared); the write-protection must not
 * undo that.  Writing back the value read minus W did.
 *
 *   gfn:  0 1 2 [3] 4 ... 511      3: W -> access-tracked (aging) -> stays so
 */
static void harvest_race_age(void *arg, int point, gfn_t gfn)
{
	struct kvm *kvm = arg;

	assert_int_equal(point, KVM_MMU_RACE_HARVEST);
	assert_int_equal(gfn, 3);
	assert_true(kvm_tdp_mmu_age_gfn_range(kvm, 0, gfn, gfn + 1));
}

static void test_tdp_mmu_harvest_keeps_lockless_changes(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct kvm_userspace_memory_region r = { 0 };
	unsigned long bitmap[512 / BITS_PER_LONG] = { 0 };
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct test_vm t;
	struct kvm *kvm;
	u64 spte;
	int level;

	o.cfg.ept_ad_disabled = true;
	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	r.flags = KVM_MEM_LOG_DIRTY_PAGES;
	r.memory_size = 2 * MiB;
	r.userspace_addr = t.hva;
	assert_int_equal(mmusim_vm_set_user_memory_region(t.vm, &r), 0);
	access_ok(&t, 0, 0x3000, MMUSIM_ACCESS_WRITE);

	WRITE_ONCE(kvm->fault_race.arg, kvm);
	WRITE_ONCE(kvm->fault_race.point, KVM_MMU_RACE_HARVEST);
	smp_store_release(&kvm->fault_race.fn, harvest_race_age);
	assert_int_equal(mmusim_vm_get_dirty_log(t.vm, &log), 0);
	assert_null(READ_ONCE(kvm->fault_race.fn)); /* the hook ran */
	assert_true(test_bit(3, bitmap));

	rcu_read_lock();
	assert_non_null(kvm_tdp_mmu_fast_pf_get_last_sptep(kvm->vcpus[0], 0, 3, &spte, &level));
	rcu_read_unlock();
	assert_true(is_shadow_present_pte(spte));
	assert_false(is_writable_pte(spte));
	assert_true(is_access_track_spte(&kvm->masks, spte));
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* The leaf SPTE mapping @gfn in address space 0, through either MMU. */
static u64 leaf_spte(struct test_vm *t, gfn_t gfn)
{
	struct kvm *kvm = mmusim_to_kvm(t->vm);
	u64 spte = 0;
	u64 *sptep;
	int level;

	rcu_read_lock();
	if (kvm->tdp_mmu_enabled)
		sptep = kvm_tdp_mmu_fast_pf_get_last_sptep(kvm->vcpus[0], 0, gfn, &spte, &level);
	else
		sptep = fast_pf_get_last_sptep(kvm->vcpus[0], 0, gfn, &spte, &level);
	rcu_read_unlock();
	assert_non_null(sptep);
	assert_true(is_shadow_present_pte(spte));
	return spte;
}

/*
 * EPT memtype as 6.12's make_spte() -> vmx_get_mt_mask(kvm_is_mmio_pfn()):
 * host MMIO is mapped UC, anything else WB with IPAT.  The simulated host
 * has no device memory (sim_mmap_pfn() takes RAM and nopage pfns only), so
 * its one MMIO pfn is the reserved PFN 0 (PageReserved, as KVM checks).
 *
 *   gpa 0       slot 0, anon RAM                      -> WB | IPAT
 *   gpa 4M      slot 1, PFNMAP of pfn 0 (reserved)    -> UC
 *   gpa 6M      slot 2, PFNMAP of pfn 1000 (RAM page) -> WB | IPAT
 */
static void test_tdp_mmu_mmio_pfn_memtype(void **state)
{
	static const struct {
		gpa_t gpa;
		kvm_pfn_t pfn;
		u64 memtype;
	} maps[] = {
		{ 4 * MiB, 0, SPTE_EPT_MEMTYPE_UC },
		{ 6 * MiB, 1000, SPTE_EPT_MEMTYPE_WB },
	};
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct test_vm t;
	unsigned int i;

	test_vm_create(&t, &o);
	access_ok(&t, 0, 0, MMUSIM_ACCESS_WRITE);
	assert_int_equal(leaf_spte(&t, 0) & (VMX_EPT_MT_MASK | VMX_EPT_IPAT_BIT),
			 SPTE_EPT_MEMTYPE_WB);
	for (i = 0; i < ARRAY_SIZE(maps); i++) {
		hva_t hva;

		assert_int_equal(sim_mmap_pfn(t.mm, 0, PAGE_SIZE, SIM_PROT_READ | SIM_PROT_WRITE,
					      maps[i].pfn, &hva),
				 0);
		test_vm_set_region(&t, 1 + i, maps[i].gpa, PAGE_SIZE, hva);
		access_ok(&t, 0, maps[i].gpa, MMUSIM_ACCESS_WRITE);
		assert_int_equal(spte_to_pfn(leaf_spte(&t, maps[i].gpa >> PAGE_SHIFT)),
				 maps[i].pfn);
		assert_int_equal(leaf_spte(&t, maps[i].gpa >> PAGE_SHIFT) &
					 (VMX_EPT_MT_MASK | VMX_EPT_IPAT_BIT),
				 maps[i].memtype);
	}
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* 5-level roots and NPT mask sets fault in the same way. */
static void test_tdp_mmu_5level_and_npt(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	o.cfg.root_level = 5;
	test_vm_create(&t, &o);
	access_ok(&t, 0, 0x1000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.tdp_mmu_pages, 4); /* roots are not counted */
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

static void test_tdp_mmu_dump(void **state)
{
	struct test_vm_opts o = opts_4k(4 * MiB);
	struct test_vm t;
	static char buf[4096];

	test_vm_create(&t, &o);
	assert_int_equal(mmusim_vcpu_access_range(mmusim_vm_vcpu(t.vm, 0), 0, 16, 0,
						  MMUSIM_ACCESS_WRITE, NULL),
			 16);
	assert_true(mmusim_vm_dump(t.vm, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "root as_id 0 level 4"));
	assert_non_null(strstr(buf, "(16 pages)"));
	test_vm_destroy(&t);
}

/*
 * A "forgotten" TLB flush: the host unmaps a page, KVM zaps the SPTE but
 * the flush is skipped, and the vCPU keeps using its TLB entry.  The TLB
 * checker must catch the stale translation.
 */
static void test_tdp_mmu_missing_flush_is_detected(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	struct mmusim_vm_stats st;
	struct test_vm t;

	test_vm_create(&t, &o);
	mmusim_vcpu_set_tlb_check(mmusim_vm_vcpu(t.vm, 0), true);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	mmusim_to_kvm(t.vm)->debug_skip_remote_flush = true;
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 0x2000), 0);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.stale_tlb_uses, 1);
	assert_int_equal(env_warn_count(), 1);
	env_warn_count_reset();

	/* With the flush, the same sequence is clean. */
	mmusim_to_kvm(t.vm)->debug_skip_remote_flush = false;
	write_lock(&mmusim_to_kvm(t.vm)->mmu_lock);
	kvm_flush_remote_tlbs(mmusim_to_kvm(t.vm));
	write_unlock(&mmusim_to_kvm(t.vm)->mmu_lock);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	assert_int_equal(sim_migrate_page(t.mm, t.hva + 0x2000), 0);
	access_ok(&t, 0, 0x2000, MMUSIM_ACCESS_WRITE);
	get_stats(&t, &st);
	assert_int_equal(st.stale_tlb_uses, 1);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* Page-table allocation failure: the fault fails cleanly and nothing leaks. */
static void test_tdp_mmu_alloc_failure_unwinds(void **state)
{
	struct test_vm_opts o = opts_4k(2 * MiB);
	unsigned long n;
	int r;

	for (n = 1;; n++) {
		struct mmusim_exit exit;
		struct test_vm t;

		test_vm_create(&t, &o);
		env_fail_nth(n);
		r = mmusim_vcpu_access(mmusim_vm_vcpu(t.vm, 0), 0x4000, MMUSIM_ACCESS_WRITE,
				       &exit);
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

static void test_tdp_mmu_vm_create_errors(void **state)
{
	struct sim_host *host;
	struct sim_mm *mm;
	struct mmusim_vm *vm;
	struct mmusim_vm_config cfg = { 0 };
	unsigned long n;

	assert_int_equal(sim_host_create(NULL, &host), 0);
	assert_int_equal(sim_mm_create(host, &mm), 0);
	cfg.nr_vcpus = KVM_MAX_VCPUS + 1;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	cfg.nr_vcpus = 1;
	cfg.root_level = 3;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	cfg.root_level = 0;
	cfg.tdp_mode = 7;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	cfg.tdp_mode = MMUSIM_TDP_NPT;
	cfg.ept_ad_disabled = true;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	assert_int_equal(mmusim_vm_create(NULL, mm, NULL, &vm), -EINVAL);
	/* The 19-bit MMIO generation allows 2^18 updates per address space. */
	cfg = (struct mmusim_vm_config){ .mmio_gen_wrap_after = (1u << 18) + 1 };
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), -EINVAL);
	cfg.mmio_gen_wrap_after = 1u << 18;
	assert_int_equal(mmusim_vm_create(host, mm, &cfg, &vm), 0);
	mmusim_vm_destroy(vm);

	/* Every allocation of VM creation can fail, leaving nothing behind. */
	cfg = (struct mmusim_vm_config){ .nr_vcpus = 4 };
	for (n = 1;; n++) {
		int r;

		env_fail_nth(n);
		r = mmusim_vm_create(host, mm, &cfg, &vm);
		if (!env_fail_injected()) {
			env_fail_clear();
			assert_int_equal(r, 0);
			mmusim_vm_destroy(vm);
			break;
		}
		env_fail_clear();
		assert_int_equal(r, -ENOMEM);
	}
	sim_mm_destroy(mm);
	sim_host_destroy(host);
}

/*
 * The cases whose expectations do not depend on the MMU, again on the
 * legacy one (tests/test_shadow_mmu.c has its own versions of the others).
 */
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_read_fault_maps_writable)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_zap_yields_and_completes)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_smm_address_space)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_zap_gfn_range_address_spaces)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_mmio_spte_generation)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_mmio_generation_wrap)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_invalidation_inside_fault)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_dump)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_mmio_pfn_memtype)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_dirty_log_initially_set)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_nx_huge_pages)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_missing_flush_is_detected)
MMUSIM_LEGACY_VARIANT(test_tdp_mmu_alloc_failure_unwinds)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_tdp_mmu_fault_in_4k),
		MMUSIM_TEST(test_tdp_mmu_read_fault_maps_writable),
		MMUSIM_TEST(test_tdp_mmu_huge_mappings),
		MMUSIM_TEST(test_tdp_mmu_misaligned_slot_maps_4k),
		MMUSIM_TEST(test_tdp_mmu_zap_and_refault),
		MMUSIM_TEST(test_tdp_mmu_zap_yields_and_completes),
		MMUSIM_TEST(test_tdp_mmu_fast_zap_replaces_roots),
		MMUSIM_TEST(test_tdp_mmu_vcpus_share_root),
		MMUSIM_TEST(test_tdp_mmu_smm_address_space),
		MMUSIM_TEST(test_tdp_mmu_zap_gfn_range_address_spaces),
		MMUSIM_TEST(test_tdp_mmu_mmio_spte_generation),
		MMUSIM_TEST(test_tdp_mmu_mmio_generation_wrap),
		MMUSIM_TEST(test_tdp_mmu_invalidation_inside_fault),
		MMUSIM_TEST(test_tdp_mmu_access_tracking_fast_path),
		MMUSIM_TEST(test_tdp_mmu_aging_ad_bits),
		MMUSIM_TEST(test_tdp_mmu_aging_vs_table_removal),
		MMUSIM_TEST(test_tdp_mmu_dirty_logging_splits_and_logs),
		MMUSIM_TEST(test_tdp_mmu_harvest_keeps_lockless_changes),
		MMUSIM_TEST(test_tdp_mmu_mmio_pfn_memtype),
		MMUSIM_TEST(test_tdp_mmu_dirty_log_initially_set),
		MMUSIM_TEST(test_tdp_mmu_eager_split_on_enable),
		MMUSIM_TEST(test_tdp_mmu_eager_split_on_clear),
		MMUSIM_TEST(test_tdp_mmu_eager_split_1g),
		MMUSIM_TEST(test_tdp_mmu_eager_split_alloc_failure),
		MMUSIM_TEST(test_tdp_mmu_eager_split_not_on_legacy),
		MMUSIM_TEST(test_tdp_mmu_nx_recovery),
		MMUSIM_TEST(test_tdp_mmu_nx_recovery_legacy_mmu),
		MMUSIM_TEST(test_tdp_mmu_nx_recovery_rules),
		MMUSIM_TEST(test_tdp_mmu_dirty_log_pml),
		MMUSIM_TEST(test_tdp_mmu_dirty_log_pml_details),
		MMUSIM_TEST(test_tdp_mmu_huge_recovery_in_place),
		MMUSIM_TEST(test_tdp_mmu_huge_recovery_zap_collapsible),
		MMUSIM_TEST(test_tdp_mmu_huge_recovery_host_split),
		MMUSIM_TEST(test_tdp_mmu_huge_recovery_legacy_zaps),
		MMUSIM_TEST(test_tdp_mmu_dirty_log_initially_set_legacy),
		MMUSIM_TEST(test_tdp_mmu_nx_huge_pages),
		MMUSIM_TEST(test_tdp_mmu_nx_huge_pages_legacy),
		MMUSIM_TEST(test_tdp_mmu_5level_and_npt),
		MMUSIM_TEST(test_tdp_mmu_dump),
		MMUSIM_TEST(test_tdp_mmu_missing_flush_is_detected),
		MMUSIM_TEST(test_tdp_mmu_alloc_failure_unwinds),
		MMUSIM_TEST(test_tdp_mmu_vm_create_errors),
		MMUSIM_TEST(test_tdp_mmu_read_fault_maps_writable_legacy),
		MMUSIM_TEST(test_tdp_mmu_zap_yields_and_completes_legacy),
		MMUSIM_TEST(test_tdp_mmu_smm_address_space_legacy),
		MMUSIM_TEST(test_tdp_mmu_zap_gfn_range_address_spaces_legacy),
		MMUSIM_TEST(test_tdp_mmu_mmio_spte_generation_legacy),
		MMUSIM_TEST(test_tdp_mmu_mmio_generation_wrap_legacy),
		MMUSIM_TEST(test_tdp_mmu_invalidation_inside_fault_legacy),
		MMUSIM_TEST(test_tdp_mmu_dump_legacy),
		MMUSIM_TEST(test_tdp_mmu_mmio_pfn_memtype_legacy),
		MMUSIM_TEST(test_tdp_mmu_missing_flush_is_detected_legacy),
		MMUSIM_TEST(test_tdp_mmu_alloc_failure_unwinds_legacy),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("tdp_mmu", tests);
}
