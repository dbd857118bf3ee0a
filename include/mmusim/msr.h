/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MSRs: the userspace MSR filter, host-initiated MSR access and the MSR
 * emulation knobs (docs/msr.md).  Guest RDMSR/WRMSR run inside KVM_RUN
 * (mmusim/run.h); what they do when KVM cannot or may not handle them is
 * chosen with KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR) through
 * mmusim_vm_enable_cap(): the KVM_MSR_EXIT_REASON_* in args[0] exit to
 * userspace (KVM_EXIT_X86_RDMSR/WRMSR), the rest inject #GP.
 *
 * As everywhere (mmusim/vm.h): a NULL VM or vCPU is -EINVAL; uapi structs
 * and the bitmaps they point to are user memory (-EFAULT when unreadable,
 * or unwritable for output); mmusim's own structs are caller memory (NULL
 * is -EINVAL).
 */
#ifndef _MMUSIM_MSR_H
#define _MMUSIM_MSR_H

#include <linux/kvm.h>
#include <mmusim/types.h>
#include <mmusim/vm.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * KVM_X86_SET_MSR_FILTER with KVM's validation, in KVM's order: -EFAULT for
 * the struct, -EINVAL for unknown flags or DEFAULT_DENY with no range, then
 * per range in array order (ranges with nmsrs 0 are skipped unexamined)
 * -EINVAL for unknown or no flags or a bitmap of 0 or more than 0x600
 * bytes, -EFAULT for an unreadable bitmap (whole longs are read), -ENOMEM
 * when the filter or a bitmap cannot be allocated.  On failure the
 * previous filter stays installed.  0: installed atomically.
 */
int mmusim_vm_set_msr_filter(struct mmusim_vm *vm, const struct kvm_msr_filter *filter);

/*
 * KVM_GET_MSRS / KVM_SET_MSRS: host-initiated, never filtered.  Returns the
 * number of entries processed (stopping at the first that fails), -E2BIG
 * for nmsrs >= 256, -EFAULT for bad memory, -ENOMEM.
 */
int mmusim_vcpu_get_msrs(struct mmusim_vcpu *vcpu, struct kvm_msrs *msrs);
int mmusim_vcpu_set_msrs(struct mmusim_vcpu *vcpu, const struct kvm_msrs *msrs);

/* KVM_GET_MSR_INDEX_LIST: nmsrs in = room, out = count; -E2BIG if short. */
int mmusim_vm_get_msr_index_list(struct mmusim_vm *vm, struct kvm_msr_list *list);

/* The kvm module parameters, per VM here.  Defaults: ignore off, report on. */
struct mmusim_msr_params {
	bool ignore_msrs;		/* unknown MSRs read 0, writes dropped, no #GP or exit */
	bool report_ignored_msrs;	/* log each ignored access (pr_info) */
	u64 ignored;			/* out only: accesses ignore_msrs let through */
};

int mmusim_vm_set_msr_params(struct mmusim_vm *vm, const struct mmusim_msr_params *p);
int mmusim_vm_get_msr_params(struct mmusim_vm *vm, struct mmusim_msr_params *p);

/*
 * Whether KVM handles the MSR @index of the emulated table (docs/msr.md);
 * off models a guest CPUID without the feature: accesses are "unknown"
 * (KVM_MSR_EXIT_REASON_UNKNOWN).  -ENOENT for an MSR not in the table.
 */
int mmusim_vm_set_msr_handled(struct mmusim_vm *vm, u32 index, bool handled);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_MSR_H */
