/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The x86 vCPU state the KVM_RUN loop and MSR emulation share: general
 * purpose registers, RIP, a pending exception and the callback that
 * completes an exit to userspace on the next KVM_RUN.
 *
 * Names follow arch/x86/include/asm/kvm_host.h (struct kvm_vcpu_arch) and
 * arch/x86/kvm/kvm_cache_regs.h (kvm_rax_read() and friends), 6.12.
 *
 * Rules: only the thread running the vCPU (inside a public call on it)
 * reads or writes this state; KVM_RUN (src/vcpu/run.c) owns RIP and the
 * exception, emulation code (src/msr) reads and writes registers and
 * calls kvm_skip_emulated_instruction() / kvm_inject_gp() to finish an
 * instruction, or sets complete_userspace_io and returns 0 to exit.
 */
#ifndef _MMUSIM_VCPU_X86_H
#define _MMUSIM_VCPU_X86_H

#include "mmusim_env.h"

struct kvm_vcpu;

enum kvm_reg {
	VCPU_REGS_RAX = 0,
	VCPU_REGS_RCX = 1,
	VCPU_REGS_RDX = 2,
	VCPU_REGS_RBX = 3,
	VCPU_REGS_RSP = 4,
	VCPU_REGS_RBP = 5,
	VCPU_REGS_RSI = 6,
	VCPU_REGS_RDI = 7,
	VCPU_REGS_R8 = 8,
	VCPU_REGS_R9 = 9,
	VCPU_REGS_R10 = 10,
	VCPU_REGS_R11 = 11,
	VCPU_REGS_R12 = 12,
	VCPU_REGS_R13 = 13,
	VCPU_REGS_R14 = 14,
	VCPU_REGS_R15 = 15,
	VCPU_REGS_RIP,
	NR_VCPU_REGS,
};

#ifndef GP_VECTOR
#define GP_VECTOR 13
#endif

/* VMX basic exit reasons (arch/x86/include/uapi/asm/vmx.h). */
#ifndef EXIT_REASON_HLT
#define EXIT_REASON_HLT 12
#define EXIT_REASON_MSR_READ 31
#define EXIT_REASON_MSR_WRITE 32
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_PML_FULL 62
#define EXIT_REASON_BUS_LOCK 74
#endif

/* EPT violation exit qualification bits (arch/x86/include/asm/vmx.h). */
#ifndef EPT_VIOLATION_ACC_READ
#define EPT_VIOLATION_ACC_READ BIT(0)
#define EPT_VIOLATION_ACC_WRITE BIT(1)
#define EPT_VIOLATION_ACC_INSTR BIT(2)
#define EPT_VIOLATION_READABLE BIT(3)
#endif

struct kvm_queued_exception {
	bool pending;
	u8 vector;
	bool has_error_code;
	u32 error_code;
};

#ifndef X86_EFLAGS_FIXED
#define X86_EFLAGS_FIXED 0x2UL
#endif
#ifndef X86_EFLAGS_IF
#define X86_EFLAGS_IF 0x200UL
#endif

struct kvm_vcpu_arch {
	u64 regs[NR_VCPU_REGS];
	u64 rflags;
	/* SEV-ES: LAUNCH_UPDATE_VMSA encrypted the state (src/sev/sev_launch.c). */
	bool guest_state_protected;
	/* ... and what KVM's register ioctls see of a legacy ES guest since (regs.c). */
	u64 kvm_regs[NR_VCPU_REGS];
	u64 kvm_rflags;
	/* KVM_SET_DEBUGREGS' state: DR0-3, DR6, DR7 (no breakpoint is modelled). */
	u64 db[4];
	u64 dr6;
	u64 dr7;
	struct kvm_queued_exception exception;
	/*
	 * Set by an emulation path that exits to userspace; KVM_RUN calls it
	 * (once, then clears it) before re-entering the guest.  Returns 1 to
	 * enter the guest, 0 to exit again, < 0 for an error.
	 */
	int (*complete_userspace_io)(struct kvm_vcpu *vcpu);
};

/* The vCPU's architectural state; defined here, embedded in struct kvm_vcpu. */
struct kvm_vcpu_arch *kvm_vcpu_arch(struct kvm_vcpu *vcpu);

static inline u64 kvm_register_read_raw(struct kvm_vcpu *vcpu, int reg)
{
	return kvm_vcpu_arch(vcpu)->regs[reg];
}

static inline void kvm_register_write_raw(struct kvm_vcpu *vcpu, int reg, u64 val)
{
	kvm_vcpu_arch(vcpu)->regs[reg] = val;
}

#define BUILD_KVM_GPR_ACCESSORS(lname, uname)                                         \
	static inline u64 kvm_##lname##_read(struct kvm_vcpu *vcpu)                   \
	{                                                                             \
		return kvm_register_read_raw(vcpu, VCPU_REGS_##uname);                \
	}                                                                             \
	static inline void kvm_##lname##_write(struct kvm_vcpu *vcpu, u64 val)        \
	{                                                                             \
		kvm_register_write_raw(vcpu, VCPU_REGS_##uname, val);                 \
	}
BUILD_KVM_GPR_ACCESSORS(rax, RAX)
BUILD_KVM_GPR_ACCESSORS(rcx, RCX)
BUILD_KVM_GPR_ACCESSORS(rdx, RDX)
BUILD_KVM_GPR_ACCESSORS(rip, RIP)
#undef BUILD_KVM_GPR_ACCESSORS

/* src/vcpu/run.c: finish the current instruction (advance RIP); returns 1. */
int kvm_skip_emulated_instruction(struct kvm_vcpu *vcpu);
/* src/vcpu/run.c: queue #GP(error_code) for delivery at the next entry. */
void kvm_inject_gp(struct kvm_vcpu *vcpu, u32 error_code);
/* #GP(0) if @err, else skip the instruction (VMX complete_emulated_msr); returns 1. */
int kvm_complete_insn_gp(struct kvm_vcpu *vcpu, int err);

#endif /* _MMUSIM_VCPU_X86_H */
