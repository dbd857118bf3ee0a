/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MSR emulation as the KVM_RUN loop calls it (arch/x86/kvm/x86.c, 6.12 with
 * the 6.13+ KVM_MSR_RET_UNSUPPORTED name).  Implemented in src/msr/.
 *
 * kvm_emulate_rdmsr()/kvm_emulate_wrmsr() run RDMSR/WRMSR for the vCPU's
 * current instruction (index in ECX, value in EDX:EAX): 1 = the guest may
 * go on (the instruction completed or #GP was queued), 0 = an exit to
 * userspace was prepared in vcpu->run with complete_userspace_io set,
 * < 0 = an error for KVM_RUN to return.
 */
#ifndef _MMUSIM_MSR_MSR_H
#define _MMUSIM_MSR_MSR_H

#include "mmusim_env.h"

struct kvm_vcpu;

/* Internal results of an MSR access besides 0 (done) and 1 (#GP). */
#define KVM_MSR_RET_UNSUPPORTED 2	/* not handled in the kernel */
#define KVM_MSR_RET_FILTERED 3		/* denied by the userspace MSR filter */

int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu);
int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu);

#endif /* _MMUSIM_MSR_MSR_H */
