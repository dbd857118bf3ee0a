/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * MSR emulation as the KVM_RUN loop calls it (arch/x86/kvm/x86.c, 6.12,
 * whose x86.h already names 2 KVM_MSR_RET_UNSUPPORTED).  Implemented in src/msr/: msr.c
 * (the MSRs KVM handles in the kernel, the access paths, userspace exits),
 * msr_filter.c (KVM_X86_SET_MSR_FILTER and kvm_msr_allowed()).
 *
 * kvm_emulate_rdmsr()/kvm_emulate_wrmsr() run RDMSR/WRMSR for the vCPU's
 * current instruction (index in ECX, value in EDX:EAX): 1 = the guest may
 * go on (the instruction completed or #GP was queued), 0 = an exit to
 * userspace was prepared in vcpu->run with complete_userspace_io set,
 * < 0 = an error for KVM_RUN to return.
 *
 * Locks: the filter pointer (kvm->msr_filter) is written under kvm->lock and
 * read under kvm->slots.srcu (KVM's kvm->srcu); user_space_msr_mask and the
 * ignore_msrs knobs are single words read with READ_ONCE() at each access.
 * The per-vCPU MSR values (struct kvm_vcpu_msrs) belong to the thread
 * running the vCPU, like the registers.
 */
#ifndef _MMUSIM_MSR_MSR_H
#define _MMUSIM_MSR_MSR_H

#include "mmusim_env.h"
#include <linux/kvm.h>

struct kvm;
struct kvm_vcpu;

/* Internal results of an MSR access besides 0 (done) and 1 (#GP). */
#define KVM_MSR_RET_UNSUPPORTED 2	/* not handled in the kernel */
#define KVM_MSR_RET_FILTERED 3		/* denied by the userspace MSR filter */

/* uapi masks newer than some <linux/kvm.h> copies (added upstream in 2022). */
#ifndef KVM_MSR_FILTER_DEFAULT_ALLOW
#define KVM_MSR_FILTER_DEFAULT_ALLOW (0 << 0)	/* hidden from __KERNEL__ since 6.4 */
#endif
#ifndef KVM_MSR_FILTER_RANGE_VALID_MASK
#define KVM_MSR_FILTER_RANGE_VALID_MASK (KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)
#endif
#ifndef KVM_MSR_FILTER_VALID_MASK
#define KVM_MSR_FILTER_VALID_MASK (KVM_MSR_FILTER_DEFAULT_DENY)
#endif
#ifndef KVM_MSR_EXIT_REASON_VALID_MASK
#define KVM_MSR_EXIT_REASON_VALID_MASK                                                        \
	(KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN | KVM_MSR_EXIT_REASON_FILTER)
#endif

/* KVM_GET_MSRS/KVM_SET_MSRS take fewer than this many entries (x86.c MAX_IO_MSRS). */
#define MAX_IO_MSRS 256

/* The kernel's copy of one filter range (struct msr_bitmap_range). */
struct msr_bitmap_range {
	u32 flags;
	u32 nmsrs;
	u32 base;
	unsigned long *bitmap;
};

/* An installed filter: immutable once published (struct kvm_x86_msr_filter). */
struct kvm_x86_msr_filter {
	u8 count;
	bool default_allow;
	struct msr_bitmap_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

/*
 * The MSRs of msr.c's table that KVM handles in the kernel: one value per
 * row.  KVM keeps them in struct kvm_vcpu_arch (efer, apic_base, pat, ...)
 * and in the VMCS; a flat array does here.
 */
#define KVM_NR_EMULATED_MSRS 20

struct kvm_vcpu_msrs {
	u64 val[KVM_NR_EMULATED_MSRS];
	u64 intercept_recalcs;	/* KVM_REQ_MSR_FILTER_CHANGED handled */
};

/* The per-VM state (kvm->arch.user_space_msr_mask and friends). */
struct kvm_msr_vm_state {
	struct kvm_x86_msr_filter __rcu *filter;	/* NULL: no filter, all allowed */
	u32 user_space_msr_mask;			/* KVM_MSR_EXIT_REASON_* that exit */
	bool ignore_msrs;				/* kvm.ignore_msrs, per VM */
	bool report_ignored_msrs;			/* kvm.report_ignored_msrs */
	u64 disabled;			/* table rows this vCPU model lacks: UNSUPPORTED */
	atomic64_t ignored;		/* accesses ignore_msrs let through */
};

/* msr_filter.c */
bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type);
bool kvm_msr_filter_allows(const struct kvm_x86_msr_filter *f, u32 index, u32 type);
int kvm_vm_ioctl_set_msr_filter(struct kvm *kvm, struct kvm_msr_filter *filter);
int kvm_vm_enable_user_space_msr(struct kvm *kvm, const struct kvm_enable_cap *cap);
void kvm_msr_vm_init(struct kvm *kvm);
void kvm_msr_vm_destroy(struct kvm *kvm);
void kvm_vcpu_msr_filter_changed(struct kvm_vcpu *vcpu);

/* msr.c */
void kvm_vcpu_msr_reset(struct kvm_vcpu *vcpu);
int kvm_get_msr_with_filter(struct kvm_vcpu *vcpu, u32 index, u64 *data);
int kvm_set_msr_with_filter(struct kvm_vcpu *vcpu, u32 index, u64 data);
int kvm_get_msr_ignored_check(struct kvm_vcpu *vcpu, u32 index, u64 *data, bool host_initiated);
int kvm_set_msr_ignored_check(struct kvm_vcpu *vcpu, u32 index, u64 data, bool host_initiated);
/* The table: row of @index or -1; row count; index and name of a row. */
int kvm_msr_table_row(u32 index);
int kvm_msr_table_size(void);
u32 kvm_msr_table_index(int row);
const char *kvm_msr_table_name(int row);

int kvm_emulate_rdmsr(struct kvm_vcpu *vcpu);
int kvm_emulate_wrmsr(struct kvm_vcpu *vcpu);

#endif /* _MMUSIM_MSR_MSR_H */
