// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_RUN: the vCPU's struct kvm_run, instruction completion and the
 * exceptions emulation queues (arch/x86/kvm/x86.c, Linux 6.12).
 *
 * RIP is the index of the guest program's current instruction; every
 * instruction is one unit long, so "skip" is RIP + 1.
 *
 * Rules: everything here runs on the thread running the vCPU, inside a
 * public call on it (one thread per vCPU at a time, see mmusim/vm.h); no
 * lock is needed or taken.  vcpu->run is the page KVM hands out through
 * mmap of the vCPU fd: the VMM reads it after KVM_RUN returns and writes the
 * completion fields before it runs the vCPU again.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "mmu/kvm_host.h"

/* KVM's mmap'd area is one page (KVM_RUN's offset 0 of the vCPU fd). */
static_assert(sizeof(struct kvm_run) <= PAGE_SIZE, "struct kvm_run fits its page");

int kvm_vcpu_alloc_run(struct kvm_vcpu *vcpu)
{
	vcpu->run = (struct kvm_run *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	return vcpu->run ? 0 : -ENOMEM;
}

void kvm_vcpu_free_run(struct kvm_vcpu *vcpu)
{
	free_page((unsigned long)vcpu->run);
	vcpu->run = NULL;
}

/*
 * VMX's skip_emulated_instruction() advances RIP by the exit's instruction
 * length; with no TF single-step and no PMU to notify, KVM's wrapper has
 * nothing more to do and the guest may go on.
 */
int kvm_skip_emulated_instruction(struct kvm_vcpu *vcpu)
{
	kvm_rip_write(vcpu, kvm_rip_read(vcpu) + 1);
	return 1;
}

/*
 * kvm_queue_exception_e(): the exception is delivered at the next entry,
 * with RIP still at the faulting instruction (#GP is a fault).  mmusim
 * models one pending exception; a second one before delivery replaces it
 * (KVM would merge two contributory exceptions into #DF).
 */
void kvm_inject_gp(struct kvm_vcpu *vcpu, u32 error_code)
{
	struct kvm_queued_exception *ex = &kvm_vcpu_arch(vcpu)->exception;

	ex->pending = true;
	ex->vector = GP_VECTOR;
	ex->has_error_code = true;
	ex->error_code = error_code;
}

int kvm_complete_insn_gp(struct kvm_vcpu *vcpu, int err)
{
	if (err) {
		kvm_inject_gp(vcpu, 0);
		return 1;
	}
	return kvm_skip_emulated_instruction(vcpu);
}
