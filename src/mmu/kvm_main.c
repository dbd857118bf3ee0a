// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lifecycle, vCPU requests, remote TLB flushes and the MMU-notifier
 * handlers (virt/kvm/kvm_main.c, reduced to what the MMU needs).
 *
 * The invalidation protocol (Linux 6.12's __kvm_handle_hva_range() and the
 * handlers around it):
 *  - invalidate_range_start: bump the memslots' mn_active_invalidate_count
 *    for every call; then, only if a memslot overlaps the hva range, take
 *    mmu_lock for write at the first such slot, bump
 *    mmu_invalidate_in_progress there (kvm_mmu_invalidate_begin() as the
 *    on_lock callback), widen [range_start, range_end) to cover the gfns
 *    each slot maps, zap them and flush.
 *  - invalidate_range_end: again only if a memslot overlaps, with mmu_lock
 *    held for write, bump mmu_invalidate_seq, then drop in_progress; then
 *    drop the mn count.
 *  - A fault snapshots the seq before its pfn lookup and, under mmu_lock,
 *    retries if the seq moved or an in-progress range covers its gfn.  An
 *    invalidation of memory no memslot maps takes no lock and moves
 *    nothing, so it never stalls a fault; in_progress without a range is a
 *    bug (mmu_lock dropped between begin and the first range_add).
 * Memslot updates wait for running invalidations (the mn count) so the
 * hva->gfn view, and so whether start and end both find a slot, cannot
 * change between start and end.
 *
 * Requests: kvm_make_all_cpus_request() sets the request bit on every vCPU
 * and then waits, as KVM's IPI with KVM_REQUEST_WAIT does, until each vCPU
 * in guest mode has passed an instruction boundary (where requests are
 * handled).  It never sleeps, so it is usable under mmu_lock.
 */
#include "mmusim_env.h"
#include <mmusim/vm.h>
#include "mmu/tdp_mmu.h"
#include "mmu/shadow_mmu.h"
#include "mmu/mmutrace.h"
#include "sev/sev.h"

/* ----------------------------------------------------------------------
 * Requests and remote TLB flushes
 */

static void kvm_kick_and_wait(struct kvm *kvm)
{
	/* Fully ordered: the request bits are visible before the new sequence. */
	u64 seq = atomic64_inc_return(&kvm->requests_seq);
	int i, nr = smp_load_acquire(&kvm->nr_vcpus);

	for (i = 0; i < nr; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];

		while (READ_ONCE(vcpu->mode) == IN_GUEST_MODE &&
		       smp_load_acquire(&vcpu->requests_acked) < seq)
			env_spin_yield();
	}
}

void kvm_make_all_cpus_request(struct kvm *kvm, int req)
{
	int i, nr = smp_load_acquire(&kvm->nr_vcpus);

	for (i = 0; i < nr; i++)
		kvm_make_request(req, kvm->vcpus[i]);
	kvm_kick_and_wait(kvm);
}

void kvm_flush_remote_tlbs(struct kvm *kvm)
{
	atomic64_inc(&kvm->stat.remote_tlb_flush_requests);
	if (unlikely(READ_ONCE(kvm->debug_skip_remote_flush)))
		return;
	kvm_make_all_cpus_request(kvm, KVM_REQ_TLB_FLUSH);
	atomic64_inc(&kvm->stat.remote_tlb_flush);
}

/* The simulated TLB has no ranged invalidation: a range flush is a full one. */
void kvm_flush_remote_tlbs_range(struct kvm *kvm, gfn_t gfn, u64 nr_pages)
{
	kvm_flush_remote_tlbs(kvm);
}

/* ----------------------------------------------------------------------
 * The invalidation protocol
 */

void kvm_mmu_invalidate_begin(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	/* WRITE_ONCE: faults peek at these without mmu_lock (the _unsafe check). */
	WRITE_ONCE(kvm->mmu_invalidate_in_progress, kvm->mmu_invalidate_in_progress + 1);
	if (likely(kvm->mmu_invalidate_in_progress == 1)) {
		WRITE_ONCE(kvm->mmu_invalidate_range_start, INVALID_GPA);
		WRITE_ONCE(kvm->mmu_invalidate_range_end, INVALID_GPA);
	}
}

void kvm_mmu_invalidate_range_add(struct kvm *kvm, gfn_t start, gfn_t end)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WARN_ON_ONCE(!kvm->mmu_invalidate_in_progress);
	if (likely(kvm->mmu_invalidate_range_start == INVALID_GPA)) {
		WRITE_ONCE(kvm->mmu_invalidate_range_start, start);
		WRITE_ONCE(kvm->mmu_invalidate_range_end, end);
	} else {
		/* Concurrent invalidations merge into one covering range. */
		WRITE_ONCE(kvm->mmu_invalidate_range_start,
			   min(kvm->mmu_invalidate_range_start, start));
		WRITE_ONCE(kvm->mmu_invalidate_range_end, max(kvm->mmu_invalidate_range_end, end));
	}
}

void kvm_mmu_invalidate_end(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	/* The seq moves before in_progress drops, so no fault sees neither. */
	WRITE_ONCE(kvm->mmu_invalidate_seq, kvm->mmu_invalidate_seq + 1);
	smp_wmb();
	WRITE_ONCE(kvm->mmu_invalidate_in_progress, kvm->mmu_invalidate_in_progress - 1);
	WARN_ON_ONCE(kvm->mmu_invalidate_in_progress < 0);
	/* As 6.12: an invalidation that added no range is a KVM bug. */
	WARN_ON_ONCE(kvm->mmu_invalidate_range_start == INVALID_GPA);
}

/*
 * As 6.12's mmu_invalidate_retry_gfn(): a range is added under the same
 * mmu_lock hold that bumped in_progress, so in_progress without a range is
 * a bug; it WARNs and retries.
 */
int mmu_invalidate_retry_gfn(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn)
{
	lockdep_assert_held(&kvm->mmu_lock);
	if (unlikely(kvm->mmu_invalidate_in_progress)) {
		if (WARN_ON_ONCE(kvm->mmu_invalidate_range_start == INVALID_GPA ||
				 kvm->mmu_invalidate_range_end == INVALID_GPA))
			return 1;
		if (gfn >= kvm->mmu_invalidate_range_start && gfn < kvm->mmu_invalidate_range_end)
			return 1;
	}
	return kvm->mmu_invalidate_seq != mmu_seq;
}

/*
 * Without mmu_lock, only as a pre-check before the locked one: it may miss
 * a race or see a stale range (the locked check catches both), and the
 * in_progress 1 => 0 transition and the seq are read fresh so a retry loop
 * ends.  A range start of INVALID_GPA (begin seen before the range) covers
 * no gfn here.
 */
int mmu_invalidate_retry_gfn_unsafe(struct kvm *kvm, unsigned long mmu_seq, gfn_t gfn)
{
	if (unlikely(READ_ONCE(kvm->mmu_invalidate_in_progress)) &&
	    gfn >= READ_ONCE(kvm->mmu_invalidate_range_start) &&
	    gfn < READ_ONCE(kvm->mmu_invalidate_range_end))
		return 1;
	return READ_ONCE(kvm->mmu_invalidate_seq) != mmu_seq;
}

/* ----------------------------------------------------------------------
 * MMU-notifier handlers
 */

static struct kvm *mmu_notifier_to_kvm(struct sim_mmu_notifier *mn)
{
	return container_of(mn, struct kvm, mmu_notifier);
}

typedef bool (*gfn_handler_t)(struct kvm *kvm, struct kvm_gfn_range *range);
typedef void (*on_lock_fn_t)(struct kvm *kvm);

/* KVM's struct kvm_mmu_notifier_range (virt/kvm/kvm_main.c). */
struct kvm_mmu_notifier_range {
	hva_t start, end;
	gfn_handler_t handler;	/* may be NULL if on_lock is not */
	on_lock_fn_t on_lock;	/* called once, with mmu_lock, at the first slot */
	bool flush_on_ret;
	bool may_block;
	bool lockless;		/* the handler takes what it needs (aging) */
};

struct kvm_mmu_notifier_return {
	bool ret;		/* some handler returned true */
	bool found_memslot;	/* some memslot overlaps the range */
};

/*
 * As 6.12's __kvm_handle_hva_range() (with 6.15's lockless flag for
 * aging): calls ->handler for the gfn range each memslot maps inside the
 * hva range [start, end), in every address space.  mmu_lock (write) is
 * taken, and ->on_lock called, only when the first overlapping memslot is
 * found, so a range no memslot maps costs KVM nothing and changes nothing.
 */
static struct kvm_mmu_notifier_return
__kvm_handle_hva_range(struct kvm *kvm, const struct kvm_mmu_notifier_range *range)
{
	struct kvm_mmu_notifier_return r = { .ret = false, .found_memslot = false };
	struct kvm_memslot_hva_iter iter;
	int as_id, idx;

	if (WARN_ON_ONCE(range->end <= range->start))
		return r;
	if (WARN_ON_ONCE(!range->on_lock && !range->handler))
		return r;
	/* Only the locked variant can run an on_lock callback. */
	if (WARN_ON_ONCE(range->lockless && range->on_lock))
		return r;

	idx = srcu_read_lock(&kvm->slots.srcu);
	for (as_id = 0; as_id < kvm_arch_nr_memslot_as_ids(kvm); as_id++) {
		struct kvm_memslots *slots = kvm_memslots_as(&kvm->slots, as_id);

		kvm_for_each_memslot_in_hva_range(&iter, slots, range->start, range->end)
		{
			struct kvm_memory_slot *slot = iter.slot;
			hva_t slot_end = slot->userspace_addr + (slot->npages << PAGE_SHIFT);
			hva_t hva_start = max_t(hva_t, range->start, slot->userspace_addr);
			hva_t hva_end = min_t(hva_t, range->end, slot_end);
			struct kvm_gfn_range gfn_range = {
				.slot = slot,
				.start = hva_to_gfn_memslot(hva_start, slot),
				.end = hva_to_gfn_memslot(hva_end + PAGE_SIZE - 1, slot),
				.may_block = range->may_block,
			};

			if (!r.found_memslot) {
				r.found_memslot = true;
				if (!range->lockless) {
					write_lock(&kvm->mmu_lock);
					if (range->on_lock)
						range->on_lock(kvm);
				}
				if (!range->handler)
					goto mmu_unlock;
			}
			r.ret |= range->handler(kvm, &gfn_range);
		}
	}
	if (range->flush_on_ret && r.ret)
		kvm_flush_remote_tlbs(kvm);
mmu_unlock:
	if (r.found_memslot && !range->lockless)
		write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
	return r;
}

static bool kvm_mmu_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range)
{
	kvm_mmu_invalidate_range_add(kvm, range->start, range->end);
	return kvm_unmap_gfn_range(kvm, range);
}

static int kvm_mmu_notifier_invalidate_range_start(struct sim_mmu_notifier *mn,
						   const struct sim_mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	const struct kvm_mmu_notifier_range hva_range = {
		.start = range->start,
		.end = range->end,
		.handler = kvm_mmu_unmap_gfn_range,
		.on_lock = kvm_mmu_invalidate_begin,
		.flush_on_ret = true,
		.may_block = true,
	};

	/*
	 * For every call, overlapping or not: memslot updates wait for us from
	 * here until invalidate_range_end, so start and end agree on whether a
	 * memslot overlaps and in_progress stays balanced.
	 */
	trace_kvm_unmap_hva_range(range->start, range->end);
	kvm_memslots_mn_invalidate_begin(&kvm->slots);
	__kvm_handle_hva_range(kvm, &hva_range);
	return 0;
}

static void kvm_mmu_notifier_invalidate_range_end(struct sim_mmu_notifier *mn,
						  const struct sim_mmu_notifier_range *range)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	const struct kvm_mmu_notifier_range hva_range = {
		.start = range->start,
		.end = range->end,
		.on_lock = kvm_mmu_invalidate_end,
		.may_block = true,
	};

	__kvm_handle_hva_range(kvm, &hva_range);
	kvm_memslots_mn_invalidate_end(&kvm->slots);
}

/*
 * Aging takes no lock here: the TDP MMU ages locklessly (RCU and cmpxchg),
 * the legacy MMU takes mmu_lock itself (kvm_age_gfn() in mmu.c).
 */
static int kvm_mmu_notifier_clear_young(struct sim_mmu_notifier *mn, struct sim_mm *mm,
					hva_t start, hva_t end)
{
	const struct kvm_mmu_notifier_range range = {
		.start = start,
		.end = end,
		.handler = kvm_age_gfn,
		.lockless = true,
	};

	trace_kvm_age_hva(start, end);
	return __kvm_handle_hva_range(mmu_notifier_to_kvm(mn), &range).ret;
}

static int kvm_mmu_notifier_test_young(struct sim_mmu_notifier *mn, struct sim_mm *mm,
				       hva_t start, hva_t end)
{
	const struct kvm_mmu_notifier_range range = {
		.start = start,
		.end = end,
		.handler = kvm_test_age_gfn,
		.lockless = true,
	};

	trace_kvm_test_age_hva(start);
	return __kvm_handle_hva_range(mmu_notifier_to_kvm(mn), &range).ret;
}

/*
 * change_pte (removed from Linux in 6.9) is always nested in an
 * invalidate_range_start/end pair that already zapped the SPTEs, so there
 * is nothing to install: the next fault maps the new pfn.  It is checked
 * that the host really calls it inside such a pair, as KVM did (5.13 to
 * 6.8): with the mn count, which every pair bumps (in_progress is only
 * bumped when a memslot overlaps).
 */
static void kvm_mmu_notifier_change_pte(struct sim_mmu_notifier *mn, struct sim_mm *mm,
					hva_t address, kvm_pfn_t pfn, bool writable)
{
	struct kvm *kvm = mmu_notifier_to_kvm(mn);
	long count;

	spin_lock(&kvm->slots.mn_invalidate_lock);
	count = kvm->slots.mn_active_invalidate_count;
	spin_unlock(&kvm->slots.mn_invalidate_lock);
	WARN_ON_ONCE(!count);
}

static void kvm_mmu_notifier_release(struct sim_mmu_notifier *mn, struct sim_mm *mm)
{
	kvm_mmu_zap_all(mmu_notifier_to_kvm(mn));
}

static const struct sim_mmu_notifier_ops kvm_mmu_notifier_ops = {
	.invalidate_range_start = kvm_mmu_notifier_invalidate_range_start,
	.invalidate_range_end = kvm_mmu_notifier_invalidate_range_end,
	.clear_young = kvm_mmu_notifier_clear_young,
	.test_young = kvm_mmu_notifier_test_young,
	.change_pte = kvm_mmu_notifier_change_pte,
	.release = kvm_mmu_notifier_release,
};

/* ----------------------------------------------------------------------
 * KVM_CHECK_EXTENSION and KVM_ENABLE_CAP on the VM (Linux 6.12)
 */

/* kvm_caps.supported_vm_types: the default type, and SEV's where the host has ASIDs. */
u32 kvm_supported_vm_types(struct sim_host *host)
{
	return BIT(KVM_X86_DEFAULT_VM) | sev_supported_vm_types(host);
}

/* The x86.c half: what kvm_vm_ioctl_check_extension() answers for a VM. */
static long kvm_vm_ioctl_check_extension(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_SYNC_MMU:
		return 1;
	case KVM_CAP_READONLY_MEM:
		return !kvm->has_protected_state; /* kvm_arch_has_readonly_mem() */
	case KVM_CAP_VM_TYPES:
		return kvm_supported_vm_types(kvm->host);
	case KVM_CAP_PRE_FAULT_MEMORY:
		return 1; /* tdp_enabled */
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
		return 1;
	case KVM_CAP_VM_MOVE_ENC_CONTEXT_FROM:
		return 1; /* whether or not the VM is SEV (mmusim_vm_move_enc_context_from()) */
	case KVM_CAP_X86_BUS_LOCK_EXIT:
		return kvm->has_bus_lock_exit ?
			       KVM_BUS_LOCK_DETECTION_OFF | KVM_BUS_LOCK_DETECTION_EXIT :
			       0;
	default:
		return 0;
	}
}

/*
 * kvm_vm_ioctl_check_extension_generic(), for the capabilities mmusim
 * models; the rest are 0 (not "unknown": KVM_CHECK_EXTENSION never fails).
 * A kernel built without SMM has KVM_MAX_NR_ADDRESS_SPACES 1 and compiles
 * KVM_CAP_MULTI_ADDRESS_SPACE out, so the x86 half answers it: 0.
 */
long kvm_vm_ioctl_check_extension_generic(struct kvm *kvm, long ext)
{
	switch (ext) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_ENABLE_CAP_VM:
		return 1;
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return KVM_DIRTY_LOG_MANUAL_CAPS;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		if (kvm_arch_nr_memslot_as_ids(kvm) < 2)
			break;
		return kvm_arch_nr_memslot_as_ids(kvm);
	case KVM_CAP_NR_MEMSLOTS:
		return KVM_USER_MEM_SLOTS;
	case KVM_CAP_DIRTY_LOG_RING:		/* x86 has both TSO and acquire/release rings */
	case KVM_CAP_DIRTY_LOG_RING_ACQ_REL:
		return KVM_DIRTY_RING_MAX_ENTRIES * sizeof(struct kvm_dirty_gfn);
	default:
		break;
	}
	return kvm_vm_ioctl_check_extension(kvm, ext);
}

/* arch/x86/kvm/x86.h */
#ifndef KVM_BUS_LOCK_DETECTION_VALID_MODE
#define KVM_BUS_LOCK_DETECTION_VALID_MODE (KVM_BUS_LOCK_DETECTION_OFF | KVM_BUS_LOCK_DETECTION_EXIT)
#endif

/*
 * The x86.c half: nonzero flags first, then the capability.  Bus-lock exits:
 * bits outside OFF|EXIT or both set are -EINVAL; EXIT on a host without
 * bus-lock detection is accepted and ignored, as KVM.
 */
static int kvm_vm_ioctl_enable_cap(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	if (cap->flags)
		return -EINVAL;

	switch (cap->cap) {
	case KVM_CAP_X86_BUS_LOCK_EXIT:
		if (cap->args[0] & ~KVM_BUS_LOCK_DETECTION_VALID_MODE)
			return -EINVAL;
		if ((cap->args[0] & KVM_BUS_LOCK_DETECTION_OFF) &&
		    (cap->args[0] & KVM_BUS_LOCK_DETECTION_EXIT))
			return -EINVAL;
		if (kvm->has_bus_lock_exit && (cap->args[0] & KVM_BUS_LOCK_DETECTION_EXIT))
			WRITE_ONCE(kvm->bus_lock_detection_enabled, true);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		return kvm_vm_enable_user_space_msr(kvm, cap);
	default:
		return -EINVAL;
	}
}

/*
 * kvm_vm_ioctl_enable_dirty_log_ring(): @size in bytes (KVM takes args[0]
 * as a u32, so the high half of the u64 is dropped), a power of two of at
 * least a page and of the reserved entries, at most the maximum (-E2BIG);
 * once only, and only before vCPUs exist.  mmusim makes a VM's vCPUs with
 * it, so after mmusim_vm_create() this is always -EINVAL; the VM config's
 * dirty_ring_size enables it in between, through here.
 */
static int kvm_vm_ioctl_enable_dirty_log_ring(struct kvm *kvm, u32 size)
{
	int r;

	if (!size || (size & (size - 1)))
		return -EINVAL;
	if (size < kvm_dirty_ring_get_rsvd_entries(kvm) * sizeof(struct kvm_dirty_gfn) ||
	    size < PAGE_SIZE)
		return -EINVAL;
	if (size > KVM_DIRTY_RING_MAX_ENTRIES * sizeof(struct kvm_dirty_gfn))
		return -E2BIG;
	if (kvm->dirty_ring_size)
		return -EINVAL;

	mutex_lock(&kvm->vcpu_lock);
	if (kvm->nr_vcpus) {
		r = -EINVAL;
	} else {
		kvm->dirty_ring_size = size;
		kvm->slots.dirty_ring = true;
		r = 0;
	}
	mutex_unlock(&kvm->vcpu_lock);
	return r;
}

/* KVM_RESET_DIRTY_RINGS: the number of entries reset, or -EINVAL without rings. */
int kvm_vm_ioctl_reset_dirty_pages(struct kvm *kvm)
{
	int i, cleared = 0;

	if (!kvm->dirty_ring_size)
		return -EINVAL;
	mutex_lock(&kvm->slots.slots_lock);
	for (i = 0; i < kvm->nr_vcpus; i++)
		cleared += kvm_dirty_ring_reset(kvm, &kvm->vcpus[i]->dirty_ring);
	mutex_unlock(&kvm->slots.slots_lock);
	if (cleared)
		kvm_flush_remote_tlbs(kvm);
	return cleared;
}

/* kvm_vm_ioctl_enable_cap_generic(); @cap is the kernel's copy. */
int kvm_vm_ioctl_enable_cap_generic(struct kvm *kvm, struct kvm_enable_cap *cap)
{
	switch (cap->cap) {
	case KVM_CAP_DIRTY_LOG_RING:
	case KVM_CAP_DIRTY_LOG_RING_ACQ_REL:
		if (!kvm_vm_ioctl_check_extension_generic(kvm, cap->cap))
			return -EINVAL;
		return kvm_vm_ioctl_enable_dirty_log_ring(kvm, cap->args[0]);
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		if (cap->flags)
			return -EINVAL;
		/* args[0] = 0 turns manual protection off again. */
		return kvm_memslots_enable_manual_dirty_log_protect(&kvm->slots, cap->args[0]);
	default:
		return kvm_vm_ioctl_enable_cap(kvm, cap);
	}
}

/* ----------------------------------------------------------------------
 * VM and vCPU lifecycle
 */

static void kvm_destroy_vcpus(struct kvm *kvm)
{
	int i;

	/*
	 * Every vCPU drops its roots first (KVM's kvm_unload_vcpu_mmus()): the
	 * legacy MMU may flush remote TLBs when a root is freed, which makes
	 * a request to every vCPU.
	 */
	for (i = 0; i < kvm->nr_vcpus; i++) {
		kvm_vcpu_unmap_all(kvm->vcpus[i]);
		kvm_mmu_unload(kvm->vcpus[i]);
	}
	for (i = 0; i < kvm->nr_vcpus; i++) {
		struct kvm_vcpu *vcpu = kvm->vcpus[i];

		kvm_dirty_ring_free(&vcpu->dirty_ring);
		kvm_vcpu_free_run(vcpu);
		kfree(vcpu);
		kvm->vcpus[i] = NULL;
	}
	kvm->nr_vcpus = 0;
}

/* One vCPU with its run page, dirty ring and reset state, not yet published. */
static struct kvm_vcpu *kvm_vcpu_create(struct kvm *kvm, int id)
{
	struct kvm_vcpu *vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);

	if (!vcpu)
		return NULL;
	vcpu->kvm = kvm;
	vcpu->vcpu_id = id;
	if (kvm_vcpu_alloc_run(vcpu))
		goto err_free;
	if (kvm->dirty_ring_size &&
	    kvm_dirty_ring_alloc(kvm, &vcpu->dirty_ring, id, kvm->dirty_ring_size))
		goto err_run;
	vcpu->mode = OUTSIDE_GUEST_MODE;
	spin_lock_init(&vcpu->maps_lock);
	kvm_vcpu_msr_reset(vcpu);
	kvm_vcpu_regs_reset(vcpu);
	return vcpu;

err_run:
	kvm_vcpu_free_run(vcpu);
err_free:
	kfree(vcpu);
	return NULL;
}

static int kvm_create_vcpus(struct kvm *kvm, int nr_vcpus)
{
	int i;

	for (i = 0; i < nr_vcpus; i++) {
		struct kvm_vcpu *vcpu = kvm_vcpu_create(kvm, i);

		if (!vcpu) {
			kvm_destroy_vcpus(kvm);
			return -ENOMEM;
		}
		kvm->vcpus[i] = vcpu;
		kvm->nr_vcpus = i + 1;
	}
	return 0;
}

/*
 * KVM_CREATE_VCPU on a running VM (kvm_vm_ioctl_create_vcpu()): the next
 * vcpu_id, -EINVAL past KVM_MAX_VCPUS.  Under kvm->lock, as KVM counts
 * created_vcpus, so KVM_SEV_INIT and the dirty-ring capability, which
 * must precede every vCPU, see it.  The vCPU is published whole: readers
 * of nr_vcpus without the lock (the kick, mmusim_vm_vcpu()) load it with
 * acquire.
 */
int kvm_vm_ioctl_create_vcpu(struct kvm *kvm, struct kvm_vcpu **vcpup)
{
	struct kvm_vcpu *vcpu;
	int id, r = 0;

	mutex_lock(&kvm->lock);
	mutex_lock(&kvm->vcpu_lock);
	id = kvm->nr_vcpus;
	if (id >= KVM_MAX_VCPUS) {
		r = -EINVAL;
		goto out;
	}
	vcpu = kvm_vcpu_create(kvm, id);
	if (!vcpu) {
		r = -ENOMEM;
		goto out;
	}
	kvm->vcpus[id] = vcpu;
	smp_store_release(&kvm->nr_vcpus, id + 1);
	*vcpup = vcpu;
out:
	mutex_unlock(&kvm->vcpu_lock);
	mutex_unlock(&kvm->lock);
	return r;
}

/*
 * The machine profile: the host MAXPHYADDR (shadow_phys_bits), from which
 * kvm_mmu_reset_all_pte_masks() derives the reserved and MMIO masks and
 * kvm_mmu_max_gfn() the last gfn a memslot may use.  Unset, it is 46 bits
 * for a 4-level root and 52 for a 5-level one.  With 52 bits no PA bit is
 * reserved: NPT cannot cache MMIO (as KVM when shadow_phys_bits is 52) and
 * EPT MMIO SPTEs keep GFN bits up to 51.
 */
static int kvm_host_maxphyaddr(const struct mmusim_vm_config *cfg, int root_level)
{
	if (!cfg->host_maxphyaddr)
		return root_level == 5 ? 52 : MMUSIM_HOST_MAXPHYADDR;
	if (cfg->host_maxphyaddr < MMUSIM_HOST_MAXPHYADDR_MIN || cfg->host_maxphyaddr > 52)
		return -EINVAL;
	return cfg->host_maxphyaddr;
}

static int kvm_init_masks(struct kvm *kvm, const struct mmusim_vm_config *cfg, int max_phys_bits)
{
	if (cfg->tdp_mode == MMUSIM_TDP_NPT) {
		if (cfg->ept_ad_disabled || cfg->ept_exec_only)
			return -EINVAL;
		kvm_mmu_reset_all_pte_masks(&kvm->masks, max_phys_bits, 0);
		kvm->ept = false;
	} else if (cfg->tdp_mode == MMUSIM_TDP_EPT) {
		kvm_mmu_reset_all_pte_masks(&kvm->masks, max_phys_bits, 0);
		kvm_mmu_set_ept_masks(&kvm->masks, !cfg->ept_ad_disabled, cfg->ept_exec_only);
		kvm->ept = true;
	} else {
		return -EINVAL;
	}
	return 0;
}

/*
 * In Linux an open vCPU fd holds a reference on its VM, so the VM outlives
 * every KVM_RUN.  Here the handles are the VM itself, so each public vCPU
 * call runs between kvm_vm_call_begin() and kvm_vm_call_end() and
 * kvm_destroy_vm() first waits for the calls in flight; a call that begins
 * once destruction started gets -EIO.  (A call made after destroy returned
 * is a use after free, like a double destroy.)  The flag and the counter
 * are a Dekker pair: each side writes its own, fences, then reads the other.
 */
int kvm_vm_call_begin(struct kvm *kvm)
{
again:
	atomic_inc(&kvm->calls_in_flight);
	smp_mb__after_atomic();
	if (unlikely(READ_ONCE(kvm->destroying) || READ_ONCE(kvm->vm_dead))) {
		kvm_vm_call_end(kvm);
		return -EIO;
	}
	if (unlikely(READ_ONCE(kvm->calls_frozen))) {
		/* As a vCPU ioctl waits for the vcpu->mutex a migration holds. */
		kvm_vm_call_end(kvm);
		while (READ_ONCE(kvm->calls_frozen))
			msleep(1);
		goto again;
	}
	return 0;
}

void kvm_vm_call_end(struct kvm *kvm)
{
	smp_mb__before_atomic();
	atomic_dec(&kvm->calls_in_flight);
}

void kvm_vm_freeze_calls(struct kvm *kvm)
{
	WRITE_ONCE(kvm->calls_frozen, true);
	smp_mb();
	while (atomic_read(&kvm->calls_in_flight))
		msleep(1);
	smp_mb();
}

void kvm_vm_thaw_calls(struct kvm *kvm)
{
	smp_mb();
	WRITE_ONCE(kvm->calls_frozen, false);
}

static void kvm_wait_for_calls(struct kvm *kvm)
{
	WRITE_ONCE(kvm->destroying, true);
	smp_mb();
	while (atomic_read(&kvm->calls_in_flight))
		msleep(1);
	smp_mb();
}

/*
 * kvm_vcpu_pre_fault_memory() (6.10+): validate, then map step by step,
 * advancing @range by what each step covered; stops at a pending signal or
 * the first error.  0 if anything was mapped (the caller copies @range back
 * with the rest), else the error.
 */
int kvm_vcpu_pre_fault_memory(struct kvm_vcpu *vcpu, struct kvm_pre_fault_memory *range)
{
	u64 full_size;
	long r = 0;
	int idx;

	if (range->flags)
		return -EINVAL;
	if (!PAGE_ALIGNED(range->gpa) || !PAGE_ALIGNED(range->size) ||
	    range->gpa + range->size <= range->gpa)
		return -EINVAL;

	idx = srcu_read_lock(&vcpu->kvm->slots.srcu);
	full_size = range->size;
	do {
		if (sim_mm_signal_pending(vcpu->kvm->mm)) {
			r = -EINTR;
			break;
		}
		r = kvm_arch_vcpu_pre_fault_memory(vcpu, range);
		if (WARN_ON_ONCE(r == 0 || r == -EIO))
			break;
		if (r < 0)
			break;
		range->size -= r;
		range->gpa += r;
		cond_resched();
	} while (range->size);
	srcu_read_unlock(&vcpu->kvm->slots.srcu, idx);

	return full_size == range->size ? (int)r : 0;
}

/*
 * KVM_CREATE_VM with the machine and MMU @cfg describes (validated here).
 * Return: 0 and the VM in *kvmp, -EINVAL or -ENOMEM, with nothing left behind.
 */
int kvm_create_vm(struct sim_host *host, struct sim_mm *mm, const struct mmusim_vm_config *cfg,
		  struct kvm **kvmp)
{
	struct mmusim_vm_config defaults = { 0 };
	struct kvm *kvm;
	int nr_vcpus, root_level, nr_as, max_phys_bits, r;

	if (!host || !mm || !kvmp || sim_mm_host(mm) != host)
		return -EINVAL;
	if (!cfg)
		cfg = &defaults;
	nr_vcpus = cfg->nr_vcpus ? cfg->nr_vcpus : 1;
	root_level = cfg->root_level ? cfg->root_level : 4;
	if (nr_vcpus < 1 || nr_vcpus > KVM_MAX_VCPUS || (root_level != 4 && root_level != 5))
		return -EINVAL;
	if (cfg->mmu != MMUSIM_MMU_TDP && cfg->mmu != MMUSIM_MMU_LEGACY)
		return -EINVAL;
	if (cfg->pfn_model != MMUSIM_PFN_MODEL_6_13 && cfg->pfn_model != MMUSIM_PFN_MODEL_V9)
		return -EINVAL;
	if (cfg->nx_huge_pages_recovery_ratio < -1 || cfg->nx_huge_pages_recovery_period_ms > 3600000)
		return -EINVAL;
	/* PML needs EPT with A/D bits (enable_pml = ... && enable_ept_ad_bits). */
	if (cfg->dirty_log_pml && (cfg->tdp_mode != MMUSIM_TDP_EPT || cfg->ept_ad_disabled))
		return -EINVAL;
	nr_as = cfg->nr_address_spaces ? cfg->nr_address_spaces : KVM_MAX_NR_ADDRESS_SPACES;
	if (nr_as < 1 || nr_as > KVM_MAX_NR_ADDRESS_SPACES)
		return -EINVAL;
	max_phys_bits = kvm_host_maxphyaddr(cfg, root_level);
	if (max_phys_bits < 0)
		return max_phys_bits;
	if (cfg->mmio_gen_wrap_after > (MMIO_SPTE_GEN_MASK + 1) / nr_as)
		return -EINVAL;
	/* kvm_arch_init_vm(): a type outside KVM_CAP_VM_TYPES is -EINVAL. */
	if (cfg->vm_type >= 32 || !(kvm_supported_vm_types(host) & BIT(cfg->vm_type)))
		return -EINVAL;
	/* A pinning strategy other than the baseline means something to SEV only. */
	if ((u32)cfg->sev_pin > MMUSIM_SEV_PIN_OFF ||
	    (cfg->sev_pin != MMUSIM_SEV_PIN_UPFRONT && !cfg->sev && !cfg->sev_es))
		return -EINVAL;

	kvm = kzalloc(sizeof(*kvm), GFP_KERNEL_ACCOUNT);
	if (!kvm)
		return -ENOMEM;
	kvm->host = host;
	kvm->mm = mm;
	kvm->root_level = root_level;
	kvm->slot_zap_all = !cfg->no_slot_zap_all;
	kvm->tdp_mmu_enabled = cfg->mmu == MMUSIM_MMU_TDP;
	kvm->has_bus_lock_exit = !cfg->no_bus_lock_detection;
	kvm->vm_type = cfg->vm_type;
	/* svm_vm_init(): an ES VM type's register state becomes inaccessible. */
	kvm->has_protected_state = cfg->vm_type == KVM_X86_SEV_ES_VM;
	rwlock_init(&kvm->mmu_lock);
	mutex_init(&kvm->vcpu_lock);
	kvm_msr_vm_init(kvm);
	kvm_mmu_init_tdp_mmu(kvm);

	r = kvm_init_masks(kvm, cfg, max_phys_bits);
	if (r)
		goto err_free;
	kvm->masks.nx_huge_pages = cfg->nx_huge_pages;
	kvm->pfn_model = cfg->pfn_model;
	kvm->eager_page_split = !cfg->no_eager_page_split;
	kvm->zap_collapsible = cfg->zap_collapsible;
	kvm->pml = cfg->dirty_log_pml;
	/* KVM's nx_huge_pages_recovery_ratio defaults to 60. */
	kvm->nx_huge_pages_recovery_ratio = cfg->nx_huge_pages_recovery_ratio < 0 ? 0 :
					    cfg->nx_huge_pages_recovery_ratio ?: 60;
	kvm->nx_huge_pages_recovery_period_ms = cfg->nx_huge_pages_recovery_period_ms;
	if (!kvm->tdp_mmu_enabled) {
		r = kvm_mmu_init_shadow_mmu(kvm);
		if (r)
			goto err_free;
	}
	r = kvm_memslots_init(&kvm->slots, nr_as, kvm_mmu_max_gfn(&kvm->masks),
			      &kvm_x86_memslot_ops, kvm);
	if (r)
		goto err_mmu;
	kvm->slots.no_readonly_mem = kvm->has_protected_state;
	if (cfg->mmio_gen_wrap_after) {
		/* Validated above: the wrap is reached by whole updates of each space. */
		r = kvm_memslots_set_first_generation(
			&kvm->slots,
			MMIO_SPTE_GEN_MASK + 1 - (u64)cfg->mmio_gen_wrap_after * nr_as);
		if (WARN_ON_ONCE(r))
			goto err_slots;
	}

	/* KVM_ENABLE_CAP(KVM_CAP_DIRTY_LOG_RING) between KVM_CREATE_VM and the vCPUs. */
	if (cfg->dirty_ring_size) {
		struct kvm_enable_cap cap = {
			.cap = cfg->dirty_ring_acq_rel ? KVM_CAP_DIRTY_LOG_RING_ACQ_REL :
							 KVM_CAP_DIRTY_LOG_RING,
			.args[0] = cfg->dirty_ring_size,
		};

		r = kvm_vm_ioctl_enable_cap_generic(kvm, &cap);
		if (r)
			goto err_slots;
	}
	/* KVM_MEMORY_ENCRYPT_OP(KVM_SEV_INIT): before the vCPUs, as KVM wants it. */
	if ((cfg->sev || cfg->sev_es) && cfg->vm_type != KVM_X86_DEFAULT_VM) {
		/* KVM_SEV_INIT2: the type, not the flags, says SEV or SEV-ES. */
		r = -EINVAL;
		if (cfg->sev_es != (cfg->vm_type == KVM_X86_SEV_ES_VM))
			goto err_slots;
		r = sev_vm_init2_from_config(kvm, &cfg->sev_init, cfg->sev_key, cfg->sev_pin_write);
		if (r)
			goto err_slots;
		r = sev_pin_strategy_init(kvm, cfg->sev_pin);
		if (r)
			goto err_sev;
	} else if (cfg->sev || cfg->sev_es) {
		r = sev_vm_init_from_config(kvm, cfg->sev_es, cfg->sev_key, cfg->sev_pin_write);
		if (r)
			goto err_slots;
		r = sev_pin_strategy_init(kvm, cfg->sev_pin);
		if (r)
			goto err_sev;
	}
	r = kvm_create_vcpus(kvm, nr_vcpus);
	if (r)
		goto err_sev;

	kvm->mmu_notifier.ops = &kvm_mmu_notifier_ops;
	r = sim_mmu_notifier_register(&kvm->mmu_notifier, mm);
	if (r)
		goto err_vcpus;
	kvm->notifier_registered = true;

	r = kvm_mmu_start_nx_recovery(kvm);
	if (r)
		goto err_notifier;
	*kvmp = kvm;
	return 0;

err_notifier:
	sim_mmu_notifier_unregister(&kvm->mmu_notifier);
err_vcpus:
	kvm_destroy_vcpus(kvm);
err_sev:
	sev_vm_destroy(kvm);
err_slots:
	kvm_memslots_destroy(&kvm->slots);
err_mmu:
	if (!kvm->tdp_mmu_enabled)
		kvm_mmu_uninit_shadow_mmu(kvm);
err_free:
	kvm_msr_vm_destroy(kvm);
	mutex_destroy(&kvm->vcpu_lock);
	kfree(kvm);
	return r;
}

void kvm_destroy_vm(struct kvm *kvm)
{
	might_sleep();
	kvm_wait_for_calls(kvm);
	kvm_mmu_stop_nx_recovery(kvm);
	if (kvm->notifier_registered)
		sim_mmu_notifier_unregister(&kvm->mmu_notifier);
	kvm_destroy_vcpus(kvm);
	kvm_mmu_zap_all(kvm);
	if (kvm->tdp_mmu_enabled)
		kvm_mmu_uninit_tdp_mmu(kvm);
	else
		kvm_mmu_uninit_shadow_mmu(kvm);
	/* kvm_arch_destroy_vm(): the vendor's vm_destroy, before the memslots go. */
	sev_vm_destroy(kvm);
	kvm_memslots_destroy(&kvm->slots);
	kvm_msr_vm_destroy(kvm);
	mutex_destroy(&kvm->vcpu_lock);
	kfree(kvm);
}
