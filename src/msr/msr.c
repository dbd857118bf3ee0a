// SPDX-License-Identifier: GPL-2.0-only
/*
 * MSR emulation: the MSRs the simulated KVM handles in the kernel, guest
 * RDMSR/WRMSR with the userspace filter and userspace exits, and
 * host-initiated KVM_GET_MSRS/KVM_SET_MSRS, as Linux 6.12's
 * arch/x86/kvm/x86.c (kvm_emulate_rdmsr(), kvm_msr_user_space(),
 * kvm_get_msr_ignored_check(), msr_io(), kvm_do_msr_access()).
 *
 * The table (msr_table[] below, documented in docs/msr.md) is a small
 * x86-64 vCPU model: each row says which writes are architecturally
 * invalid (reserved bits, non-canonical addresses, invalid PAT types,
 * read-only bits) and so return 1, which a guest sees as #GP or userspace
 * as a KVM_MSR_EXIT_REASON_INVAL exit.  An index in no row, or in a row
 * the VM turned off (mmusim_vm_set_msr_handled(): the guest's CPUID lacks
 * the feature), is KVM_MSR_RET_UNSUPPORTED: "unknown" to KVM.
 *
 * Result codes of the internal paths: 0 done, 1 #GP, KVM_MSR_RET_UNSUPPORTED,
 * KVM_MSR_RET_FILTERED (guest accesses only), < 0 a real error.
 *
 * Decisions, in order, for a guest access (kvm_get/set_msr_with_filter()):
 * the filter (msr_filter.c) may deny (FILTERED, the handler is not run);
 * the handler runs; an UNSUPPORTED result becomes 0 if ignore_msrs is on
 * (a read then returns 0, a write is dropped), reported if
 * report_ignored_msrs is on.  A host-initiated access skips the filter, and
 * an UNSUPPORTED access to an MSR KVM advertises (KVM_GET_MSR_INDEX_LIST)
 * succeeds if it reads, or writes 0, so userspace can save and restore
 * every listed MSR whatever the guest's CPUID.
 *
 * Locks and threads: the per-vCPU values are touched only by the thread
 * inside a public call on that vCPU (KVM_RUN or KVM_GET/SET_MSRS: KVM's
 * vcpu->mutex); the VM knobs are single words read once per access.
 * Host-initiated accesses run inside kvm->slots.srcu, as KVM's __msr_io().
 */
#include "mmusim_env.h"
#include <mmusim/msr.h>
#include "mmu/kvm_host.h"
#include "msr/msr.h"
#include "mmu/mmutrace.h"

/* Architectural MSR numbers and bits (arch/x86/include/asm/msr-index.h). */
#ifndef MSR_IA32_TSC
#define MSR_IA32_TSC 0x00000010
#endif
#ifndef MSR_IA32_APICBASE
#define MSR_IA32_APICBASE 0x0000001b
#endif
#ifndef MSR_IA32_APICBASE_BSP
#define MSR_IA32_APICBASE_BSP (1 << 8)
#endif
#ifndef MSR_IA32_APICBASE_ENABLE
#define MSR_IA32_APICBASE_ENABLE (1 << 11)
#endif
#ifndef X2APIC_ENABLE
#define X2APIC_ENABLE (1UL << 10)
#endif
#ifndef MSR_IA32_UCODE_REV
#define MSR_IA32_UCODE_REV 0x0000008b
#endif
#ifndef MSR_IA32_SYSENTER_CS
#define MSR_IA32_SYSENTER_CS 0x00000174
#endif
#ifndef MSR_IA32_SYSENTER_ESP
#define MSR_IA32_SYSENTER_ESP 0x00000175
#endif
#ifndef MSR_IA32_SYSENTER_EIP
#define MSR_IA32_SYSENTER_EIP 0x00000176
#endif
#ifndef MSR_IA32_MISC_ENABLE
#define MSR_IA32_MISC_ENABLE 0x000001a0
#endif
#ifndef MSR_IA32_MISC_ENABLE_EMON
#define MSR_IA32_MISC_ENABLE_EMON (1ULL << 7)
#endif
#ifndef MSR_IA32_MISC_ENABLE_BTS_UNAVAIL
#define MSR_IA32_MISC_ENABLE_BTS_UNAVAIL (1ULL << 11)
#endif
#ifndef MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL
#define MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL (1ULL << 12)
#endif
#ifndef MSR_IA32_CR_PAT
#define MSR_IA32_CR_PAT 0x00000277
#endif
#ifndef MSR_EFER
#define MSR_EFER 0xc0000080
#endif
#ifndef MSR_STAR
#define MSR_STAR 0xc0000081
#endif
#ifndef MSR_LSTAR
#define MSR_LSTAR 0xc0000082
#endif
#ifndef MSR_CSTAR
#define MSR_CSTAR 0xc0000083
#endif
#ifndef MSR_SYSCALL_MASK
#define MSR_SYSCALL_MASK 0xc0000084
#endif
#ifndef MSR_FS_BASE
#define MSR_FS_BASE 0xc0000100
#endif
#ifndef MSR_GS_BASE
#define MSR_GS_BASE 0xc0000101
#endif
#ifndef MSR_KERNEL_GS_BASE
#define MSR_KERNEL_GS_BASE 0xc0000102
#endif
#ifndef MSR_TSC_AUX
#define MSR_TSC_AUX 0xc0000103
#endif
#ifndef EFER_SCE
#define EFER_SCE (1 << 0)
#endif
#ifndef EFER_LME
#define EFER_LME (1 << 8)
#endif
#ifndef EFER_LMA
#define EFER_LMA (1 << 10)
#endif
#ifndef EFER_NX
#define EFER_NX (1 << 11)
#endif

#define MSR_X2APIC_BASE 0x800
#define MSR_X2APIC_LAST 0x8ff
#define MSR_PMU_RO_MASK (MSR_IA32_MISC_ENABLE_BTS_UNAVAIL | MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL)
#define MSR_PAT_RESET 0x0007040600070406ULL	/* WB, WT, UC-, UC, twice */
#define MSR_HI32 0xffffffff00000000ULL
#define MSR_VADDR_BITS 48			/* 4-level paging: CR4.LA57 is not modelled */
#define MSR_GUEST_MAXPHYADDR 46			/* reserved APIC base bits start here */
#ifndef APIC_DEFAULT_PHYS_BASE /* <asm/apicdef.h> in the kernel build */
#define APIC_DEFAULT_PHYS_BASE 0xfee00000ULL
#endif

enum msr_kind {
	MSR_K_PLAIN,		/* rsvd bits #GP, bits outside keep dropped */
	MSR_K_CANONICAL,	/* a linear address: non-canonical #GP */
	MSR_K_SYSENTER,		/* a linear address made canonical, never #GP */
	MSR_K_EFER,
	MSR_K_APIC_BASE,
	MSR_K_PAT,
	MSR_K_MISC_ENABLE,
	MSR_K_UCODE_REV,	/* guest writes ignored, host writes set it */
	MSR_K_X2APIC,		/* the x2APIC range: 1, no in-kernel LAPIC */
};

struct kvm_msr_desc {
	u32 index;
	u8 kind;
	u64 rsvd;
	u64 keep;
	u64 reset;
	const char *name;
};

#define ROW(i, k, r, kp, rs) \
	{ .index = i, .kind = k, .rsvd = r, .keep = kp, .reset = rs, .name = #i }
static const struct kvm_msr_desc msr_table[] = {
	ROW(MSR_IA32_TSC, MSR_K_PLAIN, 0, ~0ULL, 0),
	ROW(MSR_IA32_APICBASE, MSR_K_APIC_BASE, 0, ~0ULL, 0),
	ROW(MSR_IA32_UCODE_REV, MSR_K_UCODE_REV, 0, ~0ULL, 0x100000000ULL),
	/* VMX keeps SYSENTER_CS in a 32-bit VMCS field. */
	ROW(MSR_IA32_SYSENTER_CS, MSR_K_PLAIN, 0, 0xffffffffULL, 0),
	ROW(MSR_IA32_SYSENTER_ESP, MSR_K_SYSENTER, 0, ~0ULL, 0),
	ROW(MSR_IA32_SYSENTER_EIP, MSR_K_SYSENTER, 0, ~0ULL, 0),
	ROW(MSR_IA32_MISC_ENABLE, MSR_K_MISC_ENABLE, 0, ~0ULL, MSR_PMU_RO_MASK),
	ROW(MSR_IA32_CR_PAT, MSR_K_PAT, 0, ~0ULL, MSR_PAT_RESET),
	ROW(MSR_EFER, MSR_K_EFER, ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX), ~0ULL, 0),
	ROW(MSR_STAR, MSR_K_PLAIN, 0, ~0ULL, 0),
	ROW(MSR_LSTAR, MSR_K_CANONICAL, 0, ~0ULL, 0),
	ROW(MSR_CSTAR, MSR_K_CANONICAL, 0, ~0ULL, 0),
	/* The hardware WRMSR KVM does for the guest faults on FMASK[63:32]. */
	ROW(MSR_SYSCALL_MASK, MSR_K_PLAIN, MSR_HI32, ~0ULL, 0),
	ROW(MSR_FS_BASE, MSR_K_CANONICAL, 0, ~0ULL, 0),
	ROW(MSR_GS_BASE, MSR_K_CANONICAL, 0, ~0ULL, 0),
	ROW(MSR_KERNEL_GS_BASE, MSR_K_CANONICAL, 0, ~0ULL, 0),
	/* Intel-compatible guest: TSC_AUX[63:32] are reserved. */
	ROW(MSR_TSC_AUX, MSR_K_PLAIN, MSR_HI32, ~0ULL, 0),
	ROW(MSR_X2APIC_BASE, MSR_K_X2APIC, 0, 0, 0),
};
#undef ROW

static_assert(ARRAY_SIZE(msr_table) <= KVM_NR_EMULATED_MSRS, "one value slot per row");
static_assert(ARRAY_SIZE(msr_table) <= 64, "kvm->msr.disabled has one bit per row");

int kvm_msr_table_row(u32 index)
{
	int i;

	if (index >= MSR_X2APIC_BASE && index <= MSR_X2APIC_LAST)
		index = MSR_X2APIC_BASE;
	for (i = 0; i < ARRAY_SIZE(msr_table); i++)
		if (msr_table[i].index == index)
			return i;
	return -1;
}

int kvm_msr_table_size(void)
{
	return ARRAY_SIZE(msr_table);
}

u32 kvm_msr_table_index(int row)
{
	return msr_table[row].index;
}

const char *kvm_msr_table_name(int row)
{
	return msr_table[row].name;
}

/*
 * KVM_GET_MSR_INDEX_LIST's rows: those of 6.12's msrs_to_save_base[] and
 * emulated_msrs_all[], which leave out the x2APIC range, APIC_BASE, EFER,
 * FS_BASE and GS_BASE (state KVM_GET/SET_SREGS and the LAPIC ioctls carry).
 */
static bool kvm_is_advertised_msr(u32 index)
{
	int row = kvm_msr_table_row(index);

	if (index == MSR_IA32_APICBASE || index == MSR_EFER || index == MSR_FS_BASE ||
	    index == MSR_GS_BASE)
		return false;
	return row >= 0 && msr_table[row].kind != MSR_K_X2APIC;
}

void kvm_vcpu_msr_reset(struct kvm_vcpu *vcpu)
{
	struct kvm_vcpu_msrs *m = &vcpu->msrs;
	int i;

	for (i = 0; i < ARRAY_SIZE(msr_table); i++)
		m->val[i] = msr_table[i].reset;
	/* xAPIC enabled at the default base; vCPU 0 is the bootstrap processor. */
	m->val[kvm_msr_table_row(MSR_IA32_APICBASE)] =
		(u64)APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
		(vcpu->vcpu_id == 0 ? MSR_IA32_APICBASE_BSP : 0);
}

static bool is_noncanonical_address(u64 la)
{
	return (u64)((s64)(la << (64 - MSR_VADDR_BITS)) >> (64 - MSR_VADDR_BITS)) != la;
}

static u64 msr_canonical_address(u64 la)
{
	return (u64)((s64)(la << (64 - MSR_VADDR_BITS)) >> (64 - MSR_VADDR_BITS));
}

/* Memory types 2 and 3 and bits 7:3 of each PAT entry are reserved. */
static bool kvm_pat_valid(u64 data)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 type = data >> (i * 8);

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

enum { LAPIC_MODE_DISABLED, LAPIC_MODE_INVALID, LAPIC_MODE_XAPIC, LAPIC_MODE_X2APIC };

static int kvm_apic_mode(u64 apic_base)
{
	bool en = apic_base & MSR_IA32_APICBASE_ENABLE, extd = apic_base & X2APIC_ENABLE;

	if (!en)
		return extd ? LAPIC_MODE_INVALID : LAPIC_MODE_DISABLED;
	return extd ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}

/*
 * kvm_apic_set_base(): reserved bits (bits 7:0, 9 and above MAXPHYADDR)
 * and EXTD without EN always #GP; the guest may not go from x2APIC back
 * to xAPIC, nor from disabled straight to x2APIC (host writes may).
 */
static int kvm_set_apic_base(u64 *cur, u64 data, bool host_initiated)
{
	u64 reserved = ~((1ULL << MSR_GUEST_MAXPHYADDR) - 1) | 0x2ff;
	int old_mode = kvm_apic_mode(*cur), new_mode = kvm_apic_mode(data);

	if ((data & reserved) || new_mode == LAPIC_MODE_INVALID)
		return 1;
	if (!host_initiated) {
		if (old_mode == LAPIC_MODE_X2APIC && new_mode == LAPIC_MODE_XAPIC)
			return 1;
		if (old_mode == LAPIC_MODE_DISABLED && new_mode == LAPIC_MODE_X2APIC)
			return 1;
	}
	*cur = data;
	return 0;
}

/*
 * kvm_x2apic_msr_read/write(): mmusim has no in-kernel local APIC (KVM_RUN
 * exits HLT and takes CR8 from kvm_run, as with a userspace irqchip), and
 * 6.12 answers every x2APIC MSR with 1 then (!lapic_in_kernel()), in x2APIC
 * mode or not: an INVAL exit or #GP, never FILTER (the range is exempt).
 */
static int kvm_x2apic_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool write)
{
	return 1;
}

static const struct kvm_msr_desc *kvm_msr_handled(struct kvm_vcpu *vcpu, u32 index, int *row)
{
	*row = kvm_msr_table_row(index);
	if (*row < 0 || (READ_ONCE(vcpu->kvm->msr.disabled) & BIT_ULL(*row)))
		return NULL;
	return &msr_table[*row];
}

/* __kvm_get_msr(): the handler alone, neither filter nor ignore_msrs. */
static int __kvm_get_msr(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated)
{
	const struct kvm_msr_desc *d;
	int row;

	d = kvm_msr_handled(vcpu, index, &row);
	if (!d)
		return KVM_MSR_RET_UNSUPPORTED;
	if (d->kind == MSR_K_X2APIC)
		return kvm_x2apic_msr(vcpu, index, data, false);
	*data = vcpu->msrs.val[row];
	return 0;
}

/* __kvm_set_msr(): the architectural checks, then the write. */
static int __kvm_set_msr(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host_initiated)
{
	const struct kvm_msr_desc *d;
	u64 *cur, old;
	int row;

	d = kvm_msr_handled(vcpu, index, &row);
	if (!d)
		return KVM_MSR_RET_UNSUPPORTED;
	cur = &vcpu->msrs.val[row];
	old = *cur;

	switch (d->kind) {
	case MSR_K_X2APIC:
		return kvm_x2apic_msr(vcpu, index, &data, true);
	case MSR_K_CANONICAL:
		if (is_noncanonical_address(data))
			return 1;
		break;
	case MSR_K_SYSENTER:
		/* AMD ignores the top half: #GP on Intel only, so neither here. */
		data = msr_canonical_address(data);
		break;
	case MSR_K_EFER:
		if (data & d->rsvd)
			return 1;
		/*
		 * LMA follows CR0.PG and EFER.LME: no WRMSR changes it, the
		 * host's included (6.12 set_efer(); KVM_SET_SREGS can).
		 */
		data = (data & ~(u64)EFER_LMA) | (old & EFER_LMA);
		break;
	case MSR_K_APIC_BASE:
		return kvm_set_apic_base(cur, data, host_initiated);
	case MSR_K_PAT:
		if (!kvm_pat_valid(data))
			return 1;
		break;
	case MSR_K_MISC_ENABLE:
		if (!host_initiated) {
			if ((old ^ data) & MSR_PMU_RO_MASK)
				return 1;
			/* EMON is read-only for the guest but writes do not fault. */
			data = (data & ~MSR_IA32_MISC_ENABLE_EMON) |
			       (old & MSR_IA32_MISC_ENABLE_EMON);
		}
		break;
	case MSR_K_UCODE_REV:
		if (!host_initiated)
			return 0;
		break;
	default:
		if (data & d->rsvd)
			return 1;
		data &= d->keep;
		break;
	}
	*cur = data;
	return 0;
}

/* ignore_msrs: pretend an unknown access worked, saying so if asked. */
static bool kvm_msr_ignored_check(struct kvm *kvm, u32 index, u64 data, bool write)
{
	if (!READ_ONCE(kvm->msr.ignore_msrs))
		return false;
	atomic64_inc(&kvm->msr.ignored);
	if (READ_ONCE(kvm->msr.report_ignored_msrs))
		pr_info("kvm: ignored %s: 0x%x data 0x%llx\n", write ? "wrmsr" : "rdmsr", index,
			(unsigned long long)data);
	return true;
}

/*
 * kvm_do_msr_access()'s post-processing of the handler's result: a failed
 * read returns 0 whatever happens next, so nothing stale leaks; then only
 * UNSUPPORTED is softened, for the host on an advertised MSR with 0 and
 * for anyone by ignore_msrs.
 */
static int kvm_msr_access_done(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool write,
			       bool host_initiated, int r)
{
	if (!r)
		return 0;
	if (!write)
		*data = 0;
	if (r != KVM_MSR_RET_UNSUPPORTED)
		return r;
	if (host_initiated && !*data && kvm_is_advertised_msr(index))
		return 0;
	if (kvm_msr_ignored_check(vcpu->kvm, index, *data, write))
		return 0;
	return r;
}

int kvm_get_msr_ignored_check(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated)
{
	int r = __kvm_get_msr(vcpu, index, data, host_initiated);

	return kvm_msr_access_done(vcpu, index, data, false, host_initiated, r);
}

int kvm_set_msr_ignored_check(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host_initiated)
{
	int r = __kvm_set_msr(vcpu, index, data, host_initiated);

	return kvm_msr_access_done(vcpu, index, &data, true, host_initiated, r);
}

/* The guest's accesses: the filter first, and a denied MSR's handler never runs. */
int kvm_get_msr_with_filter(struct kvm_vcpu *vcpu, u32 index, u64 *data)
{
	if (!kvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_READ))
		return KVM_MSR_RET_FILTERED;
	return kvm_get_msr_ignored_check(vcpu, index, data, false);
}

int kvm_set_msr_with_filter(struct kvm_vcpu *vcpu, u32 index, u64 data)
{
	if (!kvm_msr_allowed(vcpu, index, KVM_MSR_FILTER_WRITE))
		return KVM_MSR_RET_FILTERED;
	return kvm_set_msr_ignored_check(vcpu, index, data, false);
}

/* ----------------------------------------------------------------------
 * RDMSR/WRMSR and the exits to userspace
 */

static u64 kvm_msr_reason(int r)
{
	switch (r) {
	case KVM_MSR_RET_UNSUPPORTED:
		return KVM_MSR_EXIT_REASON_UNKNOWN;
	case KVM_MSR_RET_FILTERED:
		return KVM_MSR_EXIT_REASON_FILTER;
	default:
		return KVM_MSR_EXIT_REASON_INVAL;
	}
}

static u64 kvm_read_edx_eax(struct kvm_vcpu *vcpu)
{
	return (kvm_rax_read(vcpu) & 0xffffffffULL) | ((kvm_rdx_read(vcpu) & 0xffffffffULL) << 32);
}

/*
 * kvm_run is shared with userspace, which writes msr.error and msr.data
 * before re-entering: read each once.
 */
static int complete_fast_msr_access(struct kvm_vcpu *vcpu)
{
	return kvm_complete_insn_gp(vcpu, READ_ONCE(vcpu->run->msr.error));
}

static int complete_fast_rdmsr(struct kvm_vcpu *vcpu)
{
	u8 error = READ_ONCE(vcpu->run->msr.error);

	if (!error) {
		u64 data = READ_ONCE(vcpu->run->msr.data);

		kvm_rax_write(vcpu, (u32)data);
		kvm_rdx_write(vcpu, data >> 32);
	}
	return kvm_complete_insn_gp(vcpu, error);
}

/*
 * Exit to userspace if it asked for this kind of failure; true if the
 * exit was prepared.  Otherwise the caller completes with the failure.
 */
static bool kvm_msr_user_space(struct kvm_vcpu *vcpu, u32 index, u32 exit_reason, u64 data,
			       int (*completion)(struct kvm_vcpu *vcpu), int r)
{
	u64 msr_reason = kvm_msr_reason(r);
	struct kvm_run *run = vcpu->run;

	if (!(READ_ONCE(vcpu->kvm->msr.user_space_msr_mask) & msr_reason))
		return false;
	if (WARN_ON_ONCE(!run))
		return false;

	run->exit_reason = exit_reason;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = msr_reason;
	run->msr.index = index;
	run->msr.data = data;
	vcpu->arch.complete_userspace_io = completion;
	return true;
}

int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu)
{
	u32 ecx = kvm_rcx_read(vcpu);
	u64 data = 0;
	int r;

	r = kvm_get_msr_with_filter(vcpu, ecx, &data);
	if (!r) {
		trace_kvm_msr_read(ecx, data);
		kvm_rax_write(vcpu, (u32)data);
		kvm_rdx_write(vcpu, data >> 32);
	} else if (kvm_msr_user_space(vcpu, ecx, KVM_EXIT_X86_RDMSR, 0, complete_fast_rdmsr, r)) {
		return 0;
	} else {
		trace_kvm_msr_read_ex(ecx);
	}
	return kvm_complete_insn_gp(vcpu, r);
}

int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu)
{
	u32 ecx = kvm_rcx_read(vcpu);
	u64 data = kvm_read_edx_eax(vcpu);
	int r;

	r = kvm_set_msr_with_filter(vcpu, ecx, data);
	if (!r) {
		trace_kvm_msr_write(ecx, data);
	} else {
		if (kvm_msr_user_space(vcpu, ecx, KVM_EXIT_X86_WRMSR, data,
				       complete_fast_msr_access, r))
			return 0;
		/* Only a real error reaches KVM_RUN's caller; the rest is #GP. */
		if (r < 0)
			return r;
		trace_kvm_msr_write_ex(ecx, data);
	}
	return kvm_complete_insn_gp(vcpu, r);
}

/* ----------------------------------------------------------------------
 * Host-initiated access: KVM_GET_MSRS, KVM_SET_MSRS, KVM_GET_MSR_INDEX_LIST
 */

/* __msr_io(): the number of entries done, stopping at the first failure. */
static int __msr_io(struct kvm_vcpu *vcpu, u32 nmsrs, struct kvm_msr_entry *entries, bool set)
{
	u32 i;
	int idx;

	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	for (i = 0; i < nmsrs; i++) {
		u64 data = entries[i].data;
		int r;

		if (set) {
			r = kvm_set_msr_ignored_check(vcpu, entries[i].index, data, true);
		} else {
			r = kvm_get_msr_ignored_check(vcpu, entries[i].index, &data, true);
			entries[i].data = data;
		}
		if (r)
			break;
	}
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);
	return i;
}

/* msr_io(): @user_msrs is user memory, header and entries both. */
static int msr_io(struct kvm_vcpu *vcpu, struct kvm_msrs __user *user_msrs, bool set)
{
	struct kvm_msr_entry *entries;
	struct kvm_msrs msrs;
	size_t size;
	int r;

	if (copy_from_user(&msrs, user_msrs, sizeof(msrs)))
		return -EFAULT;
	if (msrs.nmsrs >= MAX_IO_MSRS)
		return -E2BIG;
	if (!msrs.nmsrs)
		return 0;

	size = sizeof(*entries) * msrs.nmsrs;
	entries = kmalloc(size, GFP_KERNEL_ACCOUNT);
	if (!entries)
		return -ENOMEM;
	if (copy_from_user(entries, user_msrs->entries, size)) {
		kfree(entries);
		return -EFAULT;
	}

	r = __msr_io(vcpu, msrs.nmsrs, entries, set);

	if (!set && copy_to_user(user_msrs->entries, entries, size))
		r = -EFAULT;
	kfree(entries);
	return r;
}

int mmusim_vcpu_get_msrs(struct mmusim_vcpu *v, struct kvm_msrs *msrs)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = msr_io(vcpu, (struct kvm_msrs __user *)msrs, false);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

int mmusim_vcpu_set_msrs(struct mmusim_vcpu *v, const struct kvm_msrs *msrs)
{
	struct kvm_vcpu *vcpu;
	int r = kvm_vcpu_call_begin(v, &vcpu);

	if (r)
		return r;
	r = msr_io(vcpu, (struct kvm_msrs __user *)msrs, true);
	kvm_vm_call_end(vcpu->kvm);
	return r;
}

/*
 * KVM_GET_MSR_INDEX_LIST: userspace's nmsrs is the room it has; KVM
 * writes back the real count, then -E2BIG if that does not fit.
 */
int mmusim_vm_get_msr_index_list(struct mmusim_vm *vm, struct kvm_msr_list *list)
{
	struct kvm_msr_list __user *user_list = (struct kvm_msr_list __user *)list;
	u32 indices[ARRAY_SIZE(msr_table)];
	struct kvm_msr_list l;
	u32 n = 0, room;
	int i;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&l, user_list, sizeof(l)))
		return -EFAULT;
	for (i = 0; i < ARRAY_SIZE(msr_table); i++)
		if (kvm_is_advertised_msr(msr_table[i].index))
			indices[n++] = msr_table[i].index;
	room = l.nmsrs;
	l.nmsrs = n;
	if (copy_to_user(user_list, &l, sizeof(l)))
		return -EFAULT;
	if (room < n)
		return -E2BIG;
	if (copy_to_user(user_list->indices, indices, n * sizeof(u32)))
		return -EFAULT;
	return 0;
}

/* ----------------------------------------------------------------------
 * The knobs
 */

int mmusim_vm_set_msr_params(struct mmusim_vm *vm, const struct mmusim_msr_params *p)
{
	struct kvm *kvm = mmusim_to_kvm(vm);

	if (!vm || !p)
		return -EINVAL;
	WRITE_ONCE(kvm->msr.ignore_msrs, p->ignore_msrs);
	WRITE_ONCE(kvm->msr.report_ignored_msrs, p->report_ignored_msrs);
	return 0;
}

int mmusim_vm_get_msr_params(struct mmusim_vm *vm, struct mmusim_msr_params *p)
{
	struct kvm *kvm = mmusim_to_kvm(vm);

	if (!vm || !p)
		return -EINVAL;
	p->ignore_msrs = READ_ONCE(kvm->msr.ignore_msrs);
	p->report_ignored_msrs = READ_ONCE(kvm->msr.report_ignored_msrs);
	p->ignored = atomic64_read(&kvm->msr.ignored);
	return 0;
}

/*
 * Turn a table row off (the guest's CPUID lacks the feature: accesses are
 * UNSUPPORTED) or on again.  Serialised by kvm->lock; vCPUs read the mask
 * once per access.
 */
int mmusim_vm_set_msr_handled(struct mmusim_vm *vm, u32 index, bool handled)
{
	struct kvm *kvm = mmusim_to_kvm(vm);
	int row;

	if (!vm)
		return -EINVAL;
	row = kvm_msr_table_row(index);
	if (row < 0)
		return -ENOENT;
	mutex_lock(&kvm->lock);
	if (handled)
		WRITE_ONCE(kvm->msr.disabled, kvm->msr.disabled & ~BIT_ULL(row));
	else
		WRITE_ONCE(kvm->msr.disabled, kvm->msr.disabled | BIT_ULL(row));
	mutex_unlock(&kvm->lock);
	return 0;
}
