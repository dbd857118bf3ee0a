// SPDX-License-Identifier: GPL-2.0-only
/*
 * The userspace MSR filter (KVM_X86_SET_MSR_FILTER) and the decision it
 * makes for each guest RDMSR/WRMSR, kvm_msr_allowed(), as Linux 6.12's
 * arch/x86/kvm/x86.c (the modern semantics, not Graf's v8: see
 * ../shared/reference/seeds-apis.md sections 1.4 and 1.5 and docs/msr.md).
 *
 * Rules:
 *  - A filter is built completely beside the installed one, from the
 *    caller's struct and bitmaps (user memory), and never changes once
 *    published.  Validation stops at the first failing range; then the new
 *    filter is freed and the old one keeps deciding (the call is atomic).
 *  - Publication swaps kvm->msr.filter under kvm->lock; the old filter is
 *    freed after synchronize_srcu() on kvm->slots.srcu (KVM's kvm->srcu),
 *    so a decision, made inside one SRCU read-side section from one
 *    pointer load, uses exactly the old or exactly the new filter.
 *  - Every vCPU then gets KVM_REQ_MSR_FILTER_CHANGED: KVM recomputes its
 *    MSR intercepts so that a denied MSR is intercepted even if it is
 *    normally passed through.
 *  - x2APIC MSRs (0x800-0x8ff) are never filtered; host-initiated accesses
 *    (KVM_GET_MSRS/KVM_SET_MSRS) never consult the filter (msr.c).
 *
 * Who calls what: mmusim_vm_set_msr_filter() any thread, serialised by
 * kvm->lock (must not be inside kvm->slots.srcu: it waits for a grace
 * period); kvm_msr_allowed() the thread running a vCPU, inside or outside
 * kvm->slots.srcu.
 */
#include "mmusim_env.h"
#include <mmusim/msr.h>
#include "mmu/kvm_host.h"
#include "msr/msr.h"

/* x2APIC MSRs (APIC_BASE_MSR .. +0xff) do not support filtering. */
#define X2APIC_MSR_FIRST 0x800
#define X2APIC_MSR_LAST 0x8ff

/*
 * The decision on one filter.  The range end is a u32, as KVM computes it:
 * a range that reaches 2^32 wraps to an end below its base and matches
 * nothing.  The first range covering @index whose flags include @type
 * decides; a set bit allows.
 */
bool kvm_msr_filter_allows(const struct kvm_x86_msr_filter *f, u32 index, u32 type)
{
	u32 i;

	for (i = 0; i < f->count; i++) {
		const struct msr_bitmap_range *r = &f->ranges[i];
		u32 end = r->base + r->nmsrs;

		if (index >= r->base && index < end && (r->flags & type))
			return test_bit(index - r->base, r->bitmap);
	}
	return f->default_allow;
}

bool kvm_msr_allowed(struct kvm_vcpu *vcpu, u32 index, u32 type)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_x86_msr_filter *f;
	bool allowed;
	int idx;

	if (index >= X2APIC_MSR_FIRST && index <= X2APIC_MSR_LAST)
		return true;

	idx = srcu_read_lock(&kvm->slots.srcu);
	f = srcu_dereference(kvm->msr.filter, &kvm->slots.srcu);
	allowed = !f || kvm_msr_filter_allows(f, index, type);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	return allowed;
}

static void kvm_free_msr_filter(struct kvm_x86_msr_filter *f)
{
	u32 i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

/*
 * One range of the caller's filter, in KVM's order of checks.  A range with
 * no MSRs is skipped before anything else, so its flags and bitmap pointer
 * are never looked at.
 */
static int kvm_add_msr_filter(struct kvm_x86_msr_filter *f,
			      const struct kvm_msr_filter_range *user_range)
{
	unsigned long *bitmap;
	size_t bitmap_size;

	if (!user_range->nmsrs)
		return 0;
	if (user_range->flags & ~KVM_MSR_FILTER_RANGE_VALID_MASK)
		return -EINVAL;
	if (!user_range->flags)
		return -EINVAL;

	/*
	 * Whole longs, so nmsrs = 1 copies 8 bytes.  Widened first: the
	 * kernel's BITS_TO_LONGS() computes in size_t, and a u32 sum would
	 * wrap for nmsrs near 2^32 and accept a huge range.
	 */
	bitmap_size = BITS_TO_LONGS((size_t)user_range->nmsrs) * sizeof(long);
	if (!bitmap_size || bitmap_size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;

	/* memdup_user(): the allocation first, then the copy. */
	bitmap = kmalloc(bitmap_size, GFP_KERNEL_ACCOUNT);
	if (!bitmap)
		return -ENOMEM;
	if (copy_from_user(bitmap, (const void __user *)user_range->bitmap, bitmap_size)) {
		kfree(bitmap);
		return -EFAULT;
	}

	f->ranges[f->count] = (struct msr_bitmap_range){
		.flags = user_range->flags,
		.base = user_range->base,
		.nmsrs = user_range->nmsrs,
		.bitmap = bitmap,
	};
	f->count++;
	return 0;
}

/* kvm_vm_ioctl_set_msr_filter(); @filter is the kernel's copy of the struct. */
int kvm_vm_ioctl_set_msr_filter(struct kvm *kvm, struct kvm_msr_filter *filter)
{
	struct kvm_x86_msr_filter *new_filter, *old_filter;
	bool default_allow, empty = true;
	u32 i;
	int r;

	if (filter->flags & ~KVM_MSR_FILTER_VALID_MASK)
		return -EINVAL;

	for (i = 0; i < ARRAY_SIZE(filter->ranges); i++)
		empty &= !filter->ranges[i].nmsrs;

	/* Deny-all with nothing allowed cannot be what userspace meant. */
	default_allow = !(filter->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	if (empty && !default_allow)
		return -EINVAL;

	new_filter = kzalloc(sizeof(*new_filter), GFP_KERNEL_ACCOUNT);
	if (!new_filter)
		return -ENOMEM;
	new_filter->default_allow = default_allow;

	for (i = 0; i < ARRAY_SIZE(filter->ranges); i++) {
		r = kvm_add_msr_filter(new_filter, &filter->ranges[i]);
		if (r) {
			kvm_free_msr_filter(new_filter);
			return r;
		}
	}

	mutex_lock(&kvm->lock);
	old_filter = rcu_dereference_protected(kvm->msr.filter, lockdep_is_held(&kvm->lock));
	rcu_assign_pointer(kvm->msr.filter, new_filter);
	mutex_unlock(&kvm->lock);
	synchronize_srcu(&kvm->slots.srcu);

	kvm_free_msr_filter(old_filter);

	kvm_make_all_cpus_request(kvm, KVM_REQ_MSR_FILTER_CHANGED);
	return 0;
}

/*
 * KVM_REQ_MSR_FILTER_CHANGED at the vCPU's next entry: VMX and SVM rebuild
 * the MSR bitmaps so that every MSR the filter denies is intercepted.
 * mmusim intercepts every RDMSR/WRMSR, so there is nothing to rebuild; the
 * count shows that the request reached the vCPU.
 */
void kvm_vcpu_msr_filter_changed(struct kvm_vcpu *vcpu)
{
	vcpu->msrs.intercept_recalcs++;
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_X86_USER_SPACE_MSR): which failure reasons exit to
 * userspace.  The mask is checked as the full u64 (2022's validation; v8
 * took anything) and replaces the old one at once, vCPUs running or not.
 */
int kvm_vm_enable_user_space_msr(struct kvm *kvm, const struct kvm_enable_cap *cap)
{
	if (cap->flags)
		return -EINVAL;
	if (cap->args[0] & ~(u64)KVM_MSR_EXIT_REASON_VALID_MASK)
		return -EINVAL;
	WRITE_ONCE(kvm->msr.user_space_msr_mask, (u32)cap->args[0]);
	return 0;
}

void kvm_msr_vm_init(struct kvm *kvm)
{
	mutex_init(&kvm->lock);
	RCU_INIT_POINTER(kvm->msr.filter, NULL);
	/* kvm.report_ignored_msrs defaults to on, kvm.ignore_msrs to off. */
	kvm->msr.report_ignored_msrs = true;
}

/* kvm_arch_destroy_vm(): no reader is left, the filter goes at once. */
void kvm_msr_vm_destroy(struct kvm *kvm)
{
	kvm_free_msr_filter(rcu_dereference_protected(kvm->msr.filter, 1));
	RCU_INIT_POINTER(kvm->msr.filter, NULL);
	mutex_destroy(&kvm->lock);
}

int mmusim_vm_set_msr_filter(struct mmusim_vm *vm, const struct kvm_msr_filter *filter)
{
	struct kvm_msr_filter f;

	if (!vm)
		return -EINVAL;
	if (copy_from_user(&f, filter, sizeof(f)))
		return -EFAULT;
	return kvm_vm_ioctl_set_msr_filter(mmusim_to_kvm(vm), &f);
}
