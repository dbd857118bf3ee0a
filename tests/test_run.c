// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tests of KVM_RUN (src/vcpu/run.c): the kvm_run page, instruction
 * completion and the exceptions emulation queues.
 */
#include "test_util.h"
#include "mmu/kvm_host.h"

/* skip advances RIP by one instruction; #GP is queued with RIP unchanged. */
static void test_run_complete_insn(void **state)
{
	struct test_vm_opts o = { 0 };
	struct kvm_vcpu *vcpu;
	struct test_vm t;

	test_vm_create(&t, &o);
	vcpu = mmusim_to_kvm_vcpu(mmusim_vm_vcpu(t.vm, 0));
	assert_non_null(vcpu->run);
	assert_int_equal((unsigned long)vcpu->run & (PAGE_SIZE - 1), 0);

	kvm_rip_write(vcpu, 5);
	assert_int_equal(kvm_skip_emulated_instruction(vcpu), 1);
	assert_int_equal(kvm_rip_read(vcpu), 6);
	assert_int_equal(kvm_complete_insn_gp(vcpu, 0), 1);
	assert_int_equal(kvm_rip_read(vcpu), 7);
	assert_false(vcpu->arch.exception.pending);

	assert_int_equal(kvm_complete_insn_gp(vcpu, -EINVAL), 1);
	assert_int_equal(kvm_rip_read(vcpu), 7);
	assert_true(vcpu->arch.exception.pending);
	assert_int_equal(vcpu->arch.exception.vector, GP_VECTOR);
	assert_true(vcpu->arch.exception.has_error_code);
	assert_int_equal(vcpu->arch.exception.error_code, 0);

	kvm_inject_gp(vcpu, 0x18);
	assert_int_equal(vcpu->arch.exception.error_code, 0x18);
	test_vm_destroy(&t);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		MMUSIM_TEST(test_run_complete_insn),
	};

	mmusim_test_init(argc, argv);
	return mmusim_run_tests("run", tests);
}
