// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the simulated CPU (src/vcpu/vcpu.c): what it reports to
 * kvm_mmu_page_fault() when its walk of the TDP tables fails, guest
 * mode's preemption rule, and the lifetime of its translation caches (the
 * paging-structure caches: filled by walks, used while stale until a
 * flush, emptied by flushes and faulting walks, tagged by address space).
 */
#include "test_util.h"
#include "mmu/tdp_mmu.h"
#include "mmu/mmu_internal.h"

#define MiB (1ULL << 20)

/*
 * An MMIO SPTE hit is an EPT misconfiguration under EPT, which tells KVM
 * nothing about the access (handle_ept_misconfig() passes PFERR_RSVD_MASK
 * alone, 6.12), and a reserved-bit #NPF under NPT, whose error code has P,
 * RSVD and the access bits.  Seen from the fault path: a write that meets a
 * stale MMIO SPTE is rebuilt through the normal path as a read under EPT
 * (fresh memory: the zero page, read-only; the write then faults again) and
 * as the write it is under NPT.
 *
 *   gpa:  0 .. 2M  slot 0                4M ..  (no slot: MMIO SPTE cached)
 *                                        4M .. 6M  slot 1 added later (fresh,
 *                                                  untouched memory)
 */
static void test_vcpu_mmio_spte_error_code(void **state)
{
	static const int modes[] = { MMUSIM_TDP_EPT, MMUSIM_TDP_NPT };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		struct test_vm_opts o = { .size = 2 * MiB };
		struct mmusim_vm_stats before, after;
		struct mmusim_exit exit;
		struct mmusim_vcpu *v;
		struct test_vm t;
		hva_t hva;

		o.cfg.tdp_mode = modes[i];
		test_vm_create(&t, &o);
		v = mmusim_vm_vcpu(t.vm, 0);
		assert_int_equal(mmusim_vcpu_access(v, 4 * MiB, MMUSIM_ACCESS_READ, &exit), 1);
		assert_int_equal(exit.reason, KVM_EXIT_MMIO);
		mmusim_vm_get_stats(t.vm, &before);
		assert_int_equal(before.pf_mmio_spte_created, 1);

		assert_int_equal(sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE,
					  SIM_MAP_PRIVATE, &hva),
				 0);
		test_vm_set_region(&t, 1, 4 * MiB, 2 * MiB, hva);
		mmusim_vm_get_stats(t.vm, &before);
		assert_int_equal(mmusim_vcpu_access(v, 4 * MiB, MMUSIM_ACCESS_WRITE, &exit), 0);
		mmusim_vm_get_stats(t.vm, &after);
		if (modes[i] == MMUSIM_TDP_EPT)
			assert_int_equal(after.pf_fixed - before.pf_fixed, 2);
		else
			assert_int_equal(after.pf_fixed - before.pf_fixed, 1);
		test_vm_check(&t);
		test_vm_destroy(&t);
	}
}

/*
 * Guest mode runs with preemption off, as KVM's: entering it disables
 * preemption once, however many accesses of a call it spans, and leaving
 * it (idempotent) enables it again, so every call returns preemptible and
 * sleeping in guest mode is a might_sleep() WARN.
 *
 *   gpa:  0 .. 2M  slot 0
 */
static void test_vcpu_guest_mode_not_preemptible(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct kvm_vcpu *vcpu;
	struct mmusim_vcpu *v;
	struct test_vm t;
	u8 buf[64] = { 1 };

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	vcpu = mmusim_to_kvm_vcpu(v);

	assert_int_equal(mmusim_vcpu_access_range(v, 0, 16, 0, MMUSIM_ACCESS_WRITE, NULL), 16);
	assert_int_equal(env_preempt_depth, 0);
	assert_int_equal(mmusim_vcpu_write(v, 4096 - 32, buf, sizeof(buf)), 0);
	assert_int_equal(mmusim_vcpu_read(v, 4096 - 32, buf, sizeof(buf)), 0);
	assert_int_equal(env_preempt_depth, 0);
	assert_int_equal(vcpu->mode, OUTSIDE_GUEST_MODE);

	assert_int_equal(kvm_vcpu_enter_guest(vcpu), 0);
	assert_int_equal(kvm_vcpu_enter_guest(vcpu), 0);
	assert_int_equal(env_preempt_depth, 1);
	might_sleep(); /* WARN: sleeping in guest mode */
	assert_int_equal(env_warn_count(), ENV_CHECKED);
	env_warn_count_reset();
	kvm_vcpu_exit_guest_mode(vcpu);
	kvm_vcpu_exit_guest_mode(vcpu);
	assert_int_equal(env_preempt_depth, 0);

	test_vm_check(&t);
	test_vm_destroy(&t);
}

/* The SPTE of @level on @gfn's path from vCPU 0's root for @as_id (present above @level). */
static u64 *test_vcpu_sptep(struct test_vm *t, int as_id, gfn_t gfn, int level)
{
	struct kvm_mmu_page *root = mmusim_to_kvm_vcpu(mmusim_vm_vcpu(t->vm, 0))->root[as_id];
	u64 *table = root->spt;
	int l;

	for (l = kvm_mmu_page_role(root).level;; l--) {
		u64 *sptep = &table[SPTE_INDEX(gfn << PAGE_SHIFT, l)];

		if (l == level)
			return sptep;
		assert_true(is_shadow_present_pte(*sptep) && !is_large_pte(*sptep));
		table = __va(spte_to_pfn(*sptep) << PAGE_SHIFT);
	}
}

static u64 psc_walks(struct test_vm *t)
{
	struct mmusim_vm_stats st;

	mmusim_vm_get_stats(t->vm, &st);
	return st.psc_walks;
}

/* A remote TLB flush, as KVM issues it (the vCPU handles it at its next entry). */
static void test_vcpu_remote_flush(struct test_vm *t)
{
	struct kvm *kvm = mmusim_to_kvm(t->vm);

	write_lock(&kvm->mmu_lock);
	kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
}

/*
 * The paging-structure caches: a TLB miss in a 2M region whose PDE a
 * previous walk cached starts at the 4K table; a remote flush empties the
 * caches, and a walk that faults drops what it cached for its gfn (the
 * retry walks from the root).  Both MMUs (their roots are walked alike).
 *
 *   gpa:  0 .. 4M  slot 0: gfns 0..3, 5..7 written (4K table T0, gfn 4
 *                  left untouched), gfns 512..515 (table T1)
 */
static void test_vcpu_psc_fill_flush_fault(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct test_vm t;
	u64 before;
	gfn_t gfn;

	test_vm_create(&t, &o);
	for (gfn = 0; gfn < 8; gfn++)
		if (gfn != 4)
			test_guest_put64(&t, gfn, 0xa000 + gfn);
	for (gfn = 512; gfn < 516; gfn++)
		test_guest_put64(&t, gfn, 0xa000 + gfn);

	test_vcpu_remote_flush(&t);
	before = psc_walks(&t);
	assert_int_equal(test_guest_get64(&t, 0), 0xa000); /* from the root */
	assert_int_equal(psc_walks(&t), before);
	assert_int_equal(test_guest_get64(&t, 1), 0xa001); /* from the cached PDE */
	assert_int_equal(psc_walks(&t), before + 1);
	assert_int_equal(test_guest_get64(&t, 512), 0xa000 + 512); /* cached PDPTE */
	assert_int_equal(psc_walks(&t), before + 2);

	test_vcpu_remote_flush(&t);
	assert_int_equal(test_guest_get64(&t, 2), 0xa002); /* emptied: from the root */
	assert_int_equal(psc_walks(&t), before + 2);
	assert_int_equal(test_guest_get64(&t, 3), 0xa003);
	assert_int_equal(psc_walks(&t), before + 3);

	/*
	 * gfn 4: the walk from the cached PDE faults, which drops the cached
	 * entries for gfn 4, so the retry after the fault walks from the root.
	 */
	assert_int_equal(test_guest_get64(&t, 4), 0);
	assert_int_equal(psc_walks(&t), before + 3);
	assert_int_equal(test_guest_get64(&t, 5), 0xa005);
	assert_int_equal(psc_walks(&t), before + 4);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_vcpu_psc_fill_flush_fault)

/*
 * A cached PDE stays in use after KVM changes the SPTE it came from, until
 * a flush, as on hardware: KVM must flush after changing a non-leaf SPTE
 * (and frees the old table only after that flush and a grace period).
 * Here the test points gfn 0's PDE at the 4K table of gfns 512..1023 by
 * hand, which leaves both tables alive, reads through the stale PDE, then
 * flushes and reads through the new one, and puts the PDE back.
 *
 *   gpa:  0 .. 4M  slot 0: gfns 0..3 (table T0), 512..515 (table T1);
 *                  the PDE of gfns 0..511 then points at T1
 */
static void test_vcpu_psc_stale_until_flush(void **state)
{
	struct test_vm_opts o = { .size = 4 * MiB };
	struct kvm *kvm;
	struct test_vm t;
	u64 *pdep, pde0, pde1;
	gfn_t gfn;

	test_vm_create(&t, &o);
	kvm = mmusim_to_kvm(t.vm);
	for (gfn = 0; gfn < 4; gfn++) {
		test_guest_put64(&t, gfn, 0xa000 + gfn);
		test_guest_put64(&t, 512 + gfn, 0xb000 + gfn);
	}
	test_vcpu_remote_flush(&t);
	assert_int_equal(test_guest_get64(&t, 0), 0xa000); /* caches gfn 0's PDE: T0 */

	pdep = test_vcpu_sptep(&t, 0, 0, PG_LEVEL_2M);
	pde0 = *pdep;
	pde1 = *test_vcpu_sptep(&t, 0, 512, PG_LEVEL_2M);
	write_lock(&kvm->mmu_lock);
	WRITE_ONCE(*pdep, pde1);
	write_unlock(&kvm->mmu_lock);

	assert_int_equal(test_guest_get64(&t, 1), 0xa001); /* stale: still T0 */
	test_vcpu_remote_flush(&t);
	assert_int_equal(test_guest_get64(&t, 2), 0xb002); /* the new PDE: T1 */

	write_lock(&kvm->mmu_lock);
	WRITE_ONCE(*pdep, pde0);
	write_unlock(&kvm->mmu_lock);
	test_vcpu_remote_flush(&t);
	assert_int_equal(test_guest_get64(&t, 3), 0xa003);
	test_vm_check(&t);
	test_vm_destroy(&t);
}
MMUSIM_LEGACY_VARIANT(test_vcpu_psc_stale_until_flush)

/*
 * Cached entries are tagged with the address space: after SMM is entered,
 * a TLB miss on a gfn whose as-0 PDE is cached walks as 1's root, and
 * reads as 1's memory; back in as 0, the reads see as 0's memory again.
 *
 *   as 0: slot 0 gpa 0 .. 2M        as 1: slot 0 gpa 0 .. 2M (other memory)
 */
static void test_vcpu_psc_address_space_tag(void **state)
{
	struct test_vm_opts o = { .size = 2 * MiB };
	struct mmusim_vcpu *v;
	struct test_vm t;
	u64 before;
	hva_t hva;

	test_vm_create(&t, &o);
	v = mmusim_vm_vcpu(t.vm, 0);
	assert_int_equal(
		sim_mmap(t.mm, 0, 2 * MiB, SIM_PROT_READ | SIM_PROT_WRITE, SIM_MAP_PRIVATE, &hva),
		0);
	test_vm_set_region(&t, 1 << 16, 0, 2 * MiB, hva);
	test_guest_put64(&t, 0, 0xa000);
	test_guest_put64(&t, 1, 0xa001);
	assert_int_equal(mmusim_vcpu_set_smm(v, true), 0);
	test_guest_put64(&t, 0, 0xc000);
	test_guest_put64(&t, 1, 0xc001);
	assert_int_equal(mmusim_vcpu_set_smm(v, false), 0);

	test_vcpu_remote_flush(&t);
	assert_int_equal(test_guest_get64(&t, 0), 0xa000); /* caches as 0's PDE */
	before = psc_walks(&t);
	assert_int_equal(mmusim_vcpu_set_smm(v, true), 0);
	assert_int_equal(test_guest_get64(&t, 1), 0xc001); /* as 1: from its root */
	assert_int_equal(psc_walks(&t), before);
	/* Back in as 0 (as 1's entries took the direct-mapped slots): as 0's memory. */
	assert_int_equal(mmusim_vcpu_set_smm(v, false), 0);
	assert_int_equal(test_guest_get64(&t, 1), 0xa001);
	test_vm_check(&t);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_vcpu_mmio_spte_error_code),
		MMUSIM_TEST(test_vcpu_guest_mode_not_preemptible),
		MMUSIM_TEST(test_vcpu_psc_fill_flush_fault),
		MMUSIM_TEST(test_vcpu_psc_fill_flush_fault_legacy),
		MMUSIM_TEST(test_vcpu_psc_stale_until_flush),
		MMUSIM_TEST(test_vcpu_psc_stale_until_flush_legacy),
		MMUSIM_TEST(test_vcpu_psc_address_space_tag),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("vcpu", tests);
}
