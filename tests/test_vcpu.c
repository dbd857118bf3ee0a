// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of the simulated CPU (src/vcpu/vcpu.c): what it reports to
 * kvm_mmu_page_fault() when its walk of the TDP tables fails, and guest
 * mode's preemption rule.
 */
#include "test_util.h"
#include "mmu/tdp_mmu.h"

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

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_vcpu_mmio_spte_error_code),
		MMUSIM_TEST(test_vcpu_guest_mode_not_preemptible),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("vcpu", tests);
}
