// SPDX-License-Identifier: GPL-2.0-only
/*
 * The vCPU register ioctls (arch/x86/kvm/regs.c of Debian's 6.12): KVM_GET/
 * SET_REGS and KVM_GET/SET_DEBUGREGS, and what they do once SEV-ES has
 * encrypted the state.
 *
 * Protected state.  LAUNCH_UPDATE_VMSA (src/sev/sev_launch.c) copies a
 * vCPU's registers into its VMSA, which the firmware encrypts; from then on
 * the guest's registers live there and KVM sees them no more.  What the
 * register ioctls do then depends on the VM type (6.12's
 * arch.has_protected_state, set for KVM_X86_SEV_ES_VM):
 *
 *   VM type                         GET_REGS / SET_REGS, GET/SET_DEBUGREGS
 *   KVM_X86_SEV_ES_VM (INIT2)       -EINVAL
 *   default type (legacy ES_INIT)   succeed on KVM's own, stale copy: a
 *                                   get returns what the registers held at
 *                                   the VMSA update (or the last set), a set
 *                                   changes nothing the guest sees
 *
 * mmusim keeps the guest's live registers in kvm_vcpu_arch.regs and the
 * guest's rflags (the VMSA's contents, which only the simulated CPU touches
 * once protected) and KVM's stale copy in kvm_vcpu_arch.kvm_regs and
 * kvm_rflags, which sev_launch.c snapshots at the VMSA update.
 *
 * Rules: every call runs on the vCPU's thread inside its call window
 * (kvm_vcpu_call_begin()); the caller's structures are user memory.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include <mmusim/run.h>
#include "mmu/kvm_host.h"
#include "vcpu/x86.h"

/* arch/x86/include/asm/kvm_host.h */
#ifndef DR6_ACTIVE_LOW
#define DR6_ACTIVE_LOW 0xffff0ff0
#endif
#ifndef DR7_FIXED_1
#define DR7_FIXED_1 0x00000400
#endif

/* The reset values KVM gives a new vCPU (kvm_vcpu_reset()). */
void kvm_vcpu_regs_reset(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_arch *arch = kvm_vcpu_arch(vcpu);

	memset(arch->db, 0, sizeof(arch->db));
	arch->dr6 = DR6_ACTIVE_LOW;
	arch->dr7 = DR7_FIXED_1;
}

/*
 * The registers a register ioctl works on: the vCPU's own, or once SEV-ES
 * protects them, KVM's stale copy; NULL when the VM type makes that -EINVAL.
 */
static u64 *vcpu_regs_view(struct kvm_vcpu *vcpu, u64 **rflags)
{
	struct kvm_vcpu_arch *arch = kvm_vcpu_arch(vcpu);

	if (!READ_ONCE(arch->guest_state_protected)) {
		*rflags = &arch->rflags;
		return arch->regs;
	}
	if (vcpu->kvm->has_protected_state)
		return NULL;
	*rflags = &arch->kvm_rflags;
	return arch->kvm_regs;
}

/* KVM_GET_REGS: kvm_regs names the registers, not their encoding order. */
static int vcpu_get_regs(struct kvm_vcpu *vcpu, struct kvm_regs __user *uregs)
{
	struct kvm_regs regs;
	const u64 *r;
	u64 *rflags;

	r = vcpu_regs_view(vcpu, &rflags);
	if (!r)
		return -EINVAL;
	memset(&regs, 0, sizeof(regs));
	regs.rax = r[VCPU_REGS_RAX];
	regs.rbx = r[VCPU_REGS_RBX];
	regs.rcx = r[VCPU_REGS_RCX];
	regs.rdx = r[VCPU_REGS_RDX];
	regs.rsi = r[VCPU_REGS_RSI];
	regs.rdi = r[VCPU_REGS_RDI];
	regs.rsp = r[VCPU_REGS_RSP];
	regs.rbp = r[VCPU_REGS_RBP];
	regs.r8 = r[VCPU_REGS_R8];
	regs.r9 = r[VCPU_REGS_R9];
	regs.r10 = r[VCPU_REGS_R10];
	regs.r11 = r[VCPU_REGS_R11];
	regs.r12 = r[VCPU_REGS_R12];
	regs.r13 = r[VCPU_REGS_R13];
	regs.r14 = r[VCPU_REGS_R14];
	regs.r15 = r[VCPU_REGS_R15];
	regs.rip = r[VCPU_REGS_RIP];
	regs.rflags = *rflags;
	return copy_to_user(uregs, &regs, sizeof(regs)) ? -EFAULT : 0;
}

int mmusim_vcpu_get_regs(struct mmusim_vcpu *v, struct kvm_regs *uregs)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_get_regs(vcpu, uregs);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/* KVM_SET_REGS (__set_regs()): also drops a pending exception, as 6.12. */
static int vcpu_set_regs(struct kvm_vcpu *vcpu, const struct kvm_regs __user *uregs)
{
	struct kvm_regs regs;
	u64 *r, *rflags;

	/* kvm_vcpu_ioctl() copies the argument in before the protected-state check. */
	if (copy_from_user(&regs, uregs, sizeof(regs)))
		return -EFAULT;
	r = vcpu_regs_view(vcpu, &rflags);
	if (!r)
		return -EINVAL;
	r[VCPU_REGS_RAX] = regs.rax;
	r[VCPU_REGS_RBX] = regs.rbx;
	r[VCPU_REGS_RCX] = regs.rcx;
	r[VCPU_REGS_RDX] = regs.rdx;
	r[VCPU_REGS_RSI] = regs.rsi;
	r[VCPU_REGS_RDI] = regs.rdi;
	r[VCPU_REGS_RSP] = regs.rsp;
	r[VCPU_REGS_RBP] = regs.rbp;
	r[VCPU_REGS_R8] = regs.r8;
	r[VCPU_REGS_R9] = regs.r9;
	r[VCPU_REGS_R10] = regs.r10;
	r[VCPU_REGS_R11] = regs.r11;
	r[VCPU_REGS_R12] = regs.r12;
	r[VCPU_REGS_R13] = regs.r13;
	r[VCPU_REGS_R14] = regs.r14;
	r[VCPU_REGS_R15] = regs.r15;
	r[VCPU_REGS_RIP] = regs.rip;
	*rflags = regs.rflags | X86_EFLAGS_FIXED;
	kvm_vcpu_arch(vcpu)->exception.pending = false;
	return 0;
}

int mmusim_vcpu_set_regs(struct mmusim_vcpu *v, const struct kvm_regs *uregs)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_set_regs(vcpu, uregs);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/*
 * KVM_GET_DEBUGREGS.  A legacy ES guest's debug registers after the VMSA
 * update are KVM's values, which the guest no longer uses.
 */
static int vcpu_get_debugregs(struct kvm_vcpu *vcpu, struct kvm_debugregs __user *udbg)
{
	struct kvm_vcpu_arch *arch = kvm_vcpu_arch(vcpu);
	struct kvm_debugregs dbg;

	if (vcpu->kvm->has_protected_state && READ_ONCE(arch->guest_state_protected))
		return -EINVAL;
	memset(&dbg, 0, sizeof(dbg));
	memcpy(dbg.db, arch->db, sizeof(dbg.db));
	dbg.dr6 = arch->dr6;
	dbg.dr7 = arch->dr7;
	return copy_to_user(udbg, &dbg, sizeof(dbg)) ? -EFAULT : 0;
}

int mmusim_vcpu_get_debugregs(struct mmusim_vcpu *v, struct kvm_debugregs *udbg)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_get_debugregs(vcpu, udbg);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/* KVM_SET_DEBUGREGS, 6.12 order: protected state, flags, DR6, DR7 (no upper half). */
static int vcpu_set_debugregs(struct kvm_vcpu *vcpu, const struct kvm_debugregs __user *udbg)
{
	struct kvm_vcpu_arch *arch = kvm_vcpu_arch(vcpu);
	struct kvm_debugregs dbg;

	if (copy_from_user(&dbg, udbg, sizeof(dbg)))
		return -EFAULT;
	if (vcpu->kvm->has_protected_state && READ_ONCE(arch->guest_state_protected))
		return -EINVAL;
	if (dbg.flags)
		return -EINVAL;
	if (dbg.dr6 >> 32 || dbg.dr7 >> 32)
		return -EINVAL;
	memcpy(arch->db, dbg.db, sizeof(arch->db));
	arch->dr6 = dbg.dr6;
	arch->dr7 = dbg.dr7;
	return 0;
}

int mmusim_vcpu_set_debugregs(struct mmusim_vcpu *v, const struct kvm_debugregs *udbg)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = vcpu_set_debugregs(vcpu, udbg);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}
