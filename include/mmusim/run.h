/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * KVM_RUN for mmusim vCPUs (docs/vcpu-run.md): a vCPU executes a small guest
 * program until something needs the VMM, and returns with the vCPU's
 * struct kvm_run filled as KVM fills it; the VMM handles the exit, writes
 * the completion fields and runs the vCPU again.
 *
 * The guest program is a list of struct mmusim_insn; RIP is the index of
 * the next instruction, and each instruction is one unit long.  Memory
 * instructions go through the simulated CPU's TDP walk and KVM's fault path,
 * as mmusim_vcpu_access() does.  Registers are numbered as in x86's
 * encoding (MMUSIM_REG_RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).
 *
 * A vCPU is run by one thread at a time, as for the access API; the kvm_run
 * page belongs to that thread between runs.
 */
#ifndef _MMUSIM_RUN_H
#define _MMUSIM_RUN_H

#include <linux/kvm.h>
#include <mmusim/types.h>
#include <mmusim/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

enum mmusim_reg {
	MMUSIM_REG_RAX = 0,
	MMUSIM_REG_RCX,
	MMUSIM_REG_RDX,
	MMUSIM_REG_RBX,
	MMUSIM_REG_RSP,
	MMUSIM_REG_RBP,
	MMUSIM_REG_RSI,
	MMUSIM_REG_RDI,
	MMUSIM_REG_R8,
	MMUSIM_REG_R9,
	MMUSIM_REG_R10,
	MMUSIM_REG_R11,
	MMUSIM_REG_R12,
	MMUSIM_REG_R13,
	MMUSIM_REG_R14,
	MMUSIM_REG_R15,
	MMUSIM_NR_REGS,
};

/*
 * Instructions.  @len is 1, 2, 4 or 8 for memory instructions; loads
 * zero-extend into @reg (MOVZX), stores write @reg's low @len bytes.
 */
enum mmusim_insn_op {
	MMUSIM_INSN_NOP = 0,
	MMUSIM_INSN_MOV_IMM, /* reg = imm */
	MMUSIM_INSN_ADD_IMM, /* reg += imm */
	MMUSIM_INSN_LOAD, /* reg = [gpa], len bytes; within one page */
	MMUSIM_INSN_STORE, /* [gpa] = reg, len bytes; within one page */
	/*
	 * lock add [gpa], reg: atomic against other locked instructions.  It
	 * may cross a cache line (a split lock: a bus lock) and a page.
	 * Memory needing emulation (MMIO) is KVM_EXIT_INTERNAL_ERROR.
	 */
	MMUSIM_INSN_LOCK_ADD,
	MMUSIM_INSN_RDMSR, /* EDX:EAX = MSR[ECX] */
	MMUSIM_INSN_WRMSR, /* MSR[ECX] = EDX:EAX */
	MMUSIM_INSN_HLT, /* KVM_EXIT_HLT (no in-kernel local APIC), RIP past it */
	MMUSIM_INSN_JMP, /* RIP = target */
	MMUSIM_INSN_JNZ, /* if (reg) RIP = target */
	/*
	 * The guest's #GP handler (its IDT entry): RIP = target when #GP is
	 * delivered; the faulting RIP and error code go to the vCPU's
	 * exception frame.  Without a handler, #GP is a triple fault:
	 * KVM_EXIT_SHUTDOWN.
	 */
	MMUSIM_INSN_SET_GP_HANDLER,
	MMUSIM_INSN_IRET, /* RIP = the frame's faulting RIP + imm (0: retry, 1: skip it) */
	MMUSIM_INSN_NR,
};

struct mmusim_insn {
	__u32 op; /* enum mmusim_insn_op */
	__u32 reg; /* enum mmusim_reg */
	__u32 len; /* memory instructions: 1, 2, 4, 8 */
	__u32 target; /* JMP, JNZ, SET_GP_HANDLER: an instruction index */
	__u64 gpa;
	__u64 imm;
};

/* The longest program mmusim_vcpu_load_program() takes. */
#define MMUSIM_MAX_PROGRAM 65536

/*
 * Loads @n instructions from @prog (user memory: -EFAULT) and resets the
 * run state as an INIT would: RIP 0, no #GP handler, no pending exception
 * or exit completion; the other registers are kept.  -EINVAL for a NULL
 * vCPU, n == 0 or above MMUSIM_MAX_PROGRAM, or a bad instruction (unknown
 * op or register, bad length, a LOAD/STORE crossing a page, a GPA above
 * the guest's maximum, a target past the program), or an SEV-ES vCPU whose
 * state LAUNCH_UPDATE_VMSA protected (no reset of an ES guest); nothing
 * changes then.
 */
int mmusim_vcpu_load_program(struct mmusim_vcpu *vcpu, const struct mmusim_insn *prog, u32 n);

/*
 * KVM_RUN.  0 when the vCPU exited to userspace (run->exit_reason says
 * why), or a negative errno: -EINTR for run->immediate_exit (exit_reason
 * untouched, as 6.12) and for a signal pending for the VMM
 * (KVM_EXIT_INTR), the fault path's errors (-EFAULT, -EHWPOISON,
 * -ENOMEM), -EINVAL for a NULL vCPU or a VM of an SEV type that
 * KVM_SEV_INIT2 did not initialize, -EIO once the VM is being destroyed.
 * An SEV-ES vCPU whose VMSA LAUNCH_UPDATE_VMSA did not encrypt cannot
 * enter: 0 with KVM_EXIT_FAIL_ENTRY (hardware_entry_failure_reason
 * SVM_EXIT_ERR).
 */
int mmusim_vcpu_run(struct mmusim_vcpu *vcpu);

/* The vCPU's struct kvm_run (KVM's mmap of the vCPU fd); NULL for a NULL vCPU. */
struct kvm_run *mmusim_vcpu_kvm_run(struct mmusim_vcpu *vcpu);

/*
 * KVM_GET_REGS / KVM_SET_REGS and KVM_GET_DEBUGREGS / KVM_SET_DEBUGREGS
 * (the structure is user memory: -EFAULT; SET_DEBUGREGS: nonzero flags or
 * DR6/DR7 bits above 31 -EINVAL).  Once LAUNCH_UPDATE_VMSA protected an
 * SEV-ES vCPU's state: -EINVAL on a KVM_X86_SEV_ES_VM; on a legacy
 * KVM_SEV_ES_INIT guest they succeed on KVM's stale copy, which the guest
 * never sees (src/vcpu/regs.c, docs/sev.md).
 */
int mmusim_vcpu_get_regs(struct mmusim_vcpu *vcpu, struct kvm_regs *regs);
int mmusim_vcpu_set_regs(struct mmusim_vcpu *vcpu, const struct kvm_regs *regs);
int mmusim_vcpu_get_debugregs(struct mmusim_vcpu *vcpu, struct kvm_debugregs *dbg);
int mmusim_vcpu_set_debugregs(struct mmusim_vcpu *vcpu, const struct kvm_debugregs *dbg);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_RUN_H */
