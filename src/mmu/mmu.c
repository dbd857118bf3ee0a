// SPDX-License-Identifier: GPL-2.0-only
/*
 * The x86 MMU's fault path and its glue to memslots (arch/x86/kvm/mmu/mmu.c
 * and the memslot hooks of x86.c).  Every entry point dispatches on
 * kvm->tdp_mmu_enabled between the TDP MMU (tdp_mmu.c) and the legacy
 * shadow MMU (shadow_mmu.c, KVM's tdp_mmu=N), as KVM does; a VM uses one of
 * them for its whole life.
 *
 * A TDP fault goes:
 *   fast_page_fault()          lockless fix-ups (W restore, access-track restore)
 *   mmu_topup_memory_caches()  page-table pages, allocated before any lock
 *   kvm_mmu_faultin_pfn()      mmu_seq snapshot, then the pfn lookup
 *                              (src/pfn: __kvm_follow_pfn() over the host's
 *                              GUP), which may sleep: only SRCU is held
 *   read_lock(mmu_lock)
 *   is_page_fault_stale()      root invalidated, or an invalidation raced
 *                              with the lookup (mmu_invalidate_retry_gfn)
 *   kvm_mmu_hugepage_adjust()  the level: lpage_info, and the host mapping
 *                              size read from the host page tables
 *   kvm_tdp_mmu_map()          cmpxchg the new SPTEs in
 *   kvm_mmu_finish_page_fault() drop the page reference, marking the page
 *                              dirty if the host mapping was writable
 *   read_unlock(mmu_lock)
 * KVM keeps no reference on guest memory: MMU notifiers keep the SPTEs
 * honest.  The page's dirty and accessed state follow the VM's pfn model
 * (src/pfn/kvm_pfn.h): 6.13, set when the page is released after the
 * fault, never by SPTE changes; v9 (6.6), the reference dropped clean
 * after mmu_lock and A/D carried to the page by SPTE changes of leaves
 * with SPTE_MMU_PAGE_REFCOUNTED (kvm_spte_set_pfn_accessed/dirty()).
 *
 * The legacy path (direct_page_fault) is the same up to the lock, which it
 * takes for write, and then calls direct_map(), which links shadow pages,
 * installs the leaf on its rmap and prefetches neighbours.
 *
 * Rules: the invalidation snapshot is taken before the pfn lookup and
 * checked under mmu_lock before anything is installed; a fault that loses
 * any race returns RET_PF_RETRY and the vCPU simply re-executes the access.
 */
#include "mmusim_env.h"
#include "mmu/tdp_mmu.h"
#include "mmu/shadow_mmu.h"
#include "mmu/mmutrace.h"

/*
 * The size of the host mapping at @gfn's hva, read from the host page
 * tables as host_pfn_mapping_level() reads them: a lockless walk (RCU in
 * place of KVM's disabled IRQs) that reads each entry once.  It is only
 * consumed under mmu_lock once is_page_fault_stale() has passed: then no
 * invalidation of the hva has begun since the fault's mmu_seq snapshot,
 * and the host changes a mapping's size (THP split or collapse) only after
 * beginning one, which would have to wait for mmu_lock.
 */
static int host_pfn_mapping_level(struct kvm *kvm, gfn_t gfn, const struct kvm_memory_slot *slot)
{
	struct sim_host_pte_info info;

	if (sim_mm_lookup(kvm->mm, __gfn_to_hva_memslot(slot, gfn), &info))
		return PG_LEVEL_4K;
	return info.level;
}

/* __kvm_mmu_max_mapping_level(): the lpage_info limit, then the host's. */
int kvm_mmu_max_mapping_level(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
			      int max_level)
{
	max_level = kvm_lpage_max_level(slot, gfn, max_level);
	if (max_level == PG_LEVEL_4K)
		return PG_LEVEL_4K;
	return min(max_level, host_pfn_mapping_level(kvm, gfn, slot));
}

/*
 * Picks the fault's level and aligns its pfn to it.  Under mmu_lock, after
 * the stale check (see host_pfn_mapping_level()), as KVM calls it from
 * kvm_tdp_mmu_map() and direct_map().
 */
static void kvm_mmu_hugepage_adjust(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm_memory_slot *slot = fault->slot;

	lockdep_assert_held(&vcpu->kvm->mmu_lock);
	fault->req_level = PG_LEVEL_4K;
	fault->goal_level = PG_LEVEL_4K;
	fault->huge_page_disallowed = fault->exec && fault->nx_huge_page_workaround_enabled;

	if (fault->max_level == PG_LEVEL_4K || fault->noslot)
		return;
	/* Dirty logging tracks 4K pages: no huge mappings in a logged slot. */
	if (kvm_slot_dirty_track_enabled(slot))
		return;

	fault->req_level = kvm_mmu_max_mapping_level(vcpu->kvm, slot, fault->gfn, fault->max_level);
	/* The iTLB multihit workaround: instructions run from 4K pages only. */
	if (fault->huge_page_disallowed)
		return;
	fault->goal_level = fault->req_level;
	if (fault->goal_level > PG_LEVEL_4K) {
		u64 mask = KVM_PAGES_PER_HPAGE(fault->goal_level) - 1;

		WARN_ON_ONCE((fault->gfn & mask) != (fault->pfn & mask));
		fault->pfn &= ~mask;
	}
}

/*
 * v9's propagation of SPTE A/D to the page, gated on the refcounted bit:
 * only a page KVM referenced when it mapped it is known to be a page at
 * all, and the host must still hold it (kvm_is_ad_tracked_page() WARNs
 * otherwise: the SPTE outlived the page, a missed invalidation).
 */
static struct sim_page *spte_refcounted_page(struct kvm *kvm, u64 old_spte)
{
	if (!kvm_pfn_model_v9(kvm) || !is_refcounted_page_spte(old_spte))
		return NULL;
	return kvm_pfn_to_refcounted_page(kvm, spte_to_pfn(old_spte));
}

void kvm_spte_set_pfn_accessed(struct kvm *kvm, u64 old_spte)
{
	struct sim_page *page = spte_refcounted_page(kvm, old_spte);

	if (page)
		kvm_set_page_accessed(kvm, page);
}

void kvm_spte_set_pfn_dirty(struct kvm *kvm, u64 old_spte)
{
	struct sim_page *page = spte_refcounted_page(kvm, old_spte);

	if (page)
		kvm_set_page_dirty(kvm, page);
}

void kvm_spte_release_ad(struct kvm *kvm, u64 old_spte)
{
	if (is_accessed_spte(&kvm->masks, old_spte))
		kvm_spte_set_pfn_accessed(kvm, old_spte);
	if (is_dirty_spte(&kvm->masks, old_spte))
		kvm_spte_set_pfn_dirty(kvm, old_spte);
}

/* ---------------------------------------------------------------------------
 * NX huge pages: the list of shadow pages that keep a huge page out, and
 * its recovery (6.12 kvm_recover_nx_huge_pages()).  The list and
 * nx_lpage_splits change under mmu_lock for write, or for read plus
 * tdp_mmu_pages_lock (TDP MMU faults).
 */

void track_possible_nx_huge_page(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	/* A reused shadow page may be on the list already. */
	if (!list_empty(&sp->possible_nx_huge_page_link))
		return;
	WRITE_ONCE(kvm->nx_lpage_splits, kvm->nx_lpage_splits + 1);
	list_add_tail(&sp->possible_nx_huge_page_link, &kvm->possible_nx_huge_pages);
}

void untrack_possible_nx_huge_page(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	if (list_empty(&sp->possible_nx_huge_page_link))
		return;
	WRITE_ONCE(kvm->nx_lpage_splits, kvm->nx_lpage_splits - 1);
	list_del_init(&sp->possible_nx_huge_page_link);
}

static void kvm_mmu_remote_flush_or_zap(struct kvm *kvm, struct list_head *invalid_list,
					bool flush)
{
	if (!list_empty(invalid_list))
		kvm_mmu_commit_zap_page(kvm, invalid_list);
	else if (flush)
		kvm_flush_remote_tlbs(kvm);
}

/*
 * One pass of the recovery worker: zap the oldest 1/ratio of the pages on
 * the list (rounded up), so faults can map them huge again.  A page whose
 * slot is being dirty-logged is only taken off the list: it would come
 * back at 4K; turning logging off recovers it with the rest of the slot.
 */
void kvm_recover_nx_huge_pages(struct kvm *kvm)
{
	unsigned long nx_lpage_splits = READ_ONCE(kvm->nx_lpage_splits);
	u32 ratio = READ_ONCE(kvm->nx_huge_pages_recovery_ratio);
	unsigned long to_zap = ratio ? DIV_ROUND_UP(nx_lpage_splits, ratio) : 0;
	struct kvm_memory_slot *slot;
	struct kvm_mmu_page *sp;
	LIST_HEAD(invalid_list);
	bool flush = false;
	int idx;

	idx = srcu_read_lock(&kvm->slots.srcu);
	write_lock(&kvm->mmu_lock);
	/* TDP MMU tables are freed by RCU callbacks: zap them inside RCU. */
	rcu_read_lock();
	for (; to_zap; --to_zap) {
		if (list_empty(&kvm->possible_nx_huge_pages))
			break;
		sp = list_first_entry(&kvm->possible_nx_huge_pages, struct kvm_mmu_page,
				      possible_nx_huge_page_link);
		WARN_ON_ONCE(!sp->nx_huge_page_disallowed);

		slot = __gfn_to_memslot(kvm_memslots_as(&kvm->slots, kvm_mmu_page_as_id(sp)),
					sp->gfn);
		if (slot && kvm_slot_dirty_track_enabled(slot)) {
			sp->nx_huge_page_disallowed = false;
			untrack_possible_nx_huge_page(kvm, sp);
		} else if (is_tdp_mmu_page(sp)) {
			flush |= kvm_tdp_mmu_zap_sp(kvm, sp);
		} else {
			kvm_mmu_prepare_zap_page(kvm, sp, &invalid_list);
		}
		WARN_ON_ONCE(sp->nx_huge_page_disallowed);

		if (need_resched() || rwlock_needbreak(&kvm->mmu_lock)) {
			kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, flush);
			rcu_read_unlock();
			cond_resched_rwlock_write(&kvm->mmu_lock);
			flush = false;
			rcu_read_lock();
		}
	}
	kvm_mmu_remote_flush_or_zap(kvm, &invalid_list, flush);
	rcu_read_unlock();
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
}

/* The recovery worker (KVM's per-VM "kvm-nx-lpage-recovery" task). */
static int kvm_nx_huge_page_recovery_worker(void *data)
{
	struct kvm *kvm = data;

	while (!READ_ONCE(kvm->nx_recovery_stop)) {
		u32 period = READ_ONCE(kvm->nx_huge_pages_recovery_period_ms);
		u32 slept;

		for (slept = 0; slept < period && !READ_ONCE(kvm->nx_recovery_stop); slept++)
			msleep(1);
		if (!READ_ONCE(kvm->nx_recovery_stop))
			kvm_recover_nx_huge_pages(kvm);
	}
	return 0;
}

int kvm_mmu_start_nx_recovery(struct kvm *kvm)
{
	/*
	 * KVM runs the worker whenever nx_huge_pages is on (a 0 period means
	 * one hour / ratio); mmusim runs it only for a period asked for, so
	 * recovery stays deterministic unless a test wants the thread.
	 */
	if (!kvm->masks.nx_huge_pages || !kvm->nx_huge_pages_recovery_period_ms ||
	    !kvm->nx_huge_pages_recovery_ratio)
		return 0;
	kvm->nx_recovery_thread = env_thread_start(kvm_nx_huge_page_recovery_worker, kvm,
						   "kvm-nx-lpage-recovery");
	return kvm->nx_recovery_thread ? 0 : -ENOMEM;
}

void kvm_mmu_stop_nx_recovery(struct kvm *kvm)
{
	if (!kvm->nx_recovery_thread)
		return;
	WRITE_ONCE(kvm->nx_recovery_stop, true);
	env_thread_join(kvm->nx_recovery_thread);
	kvm->nx_recovery_thread = NULL;
}

/*
 * Called at each level of the walk (Linux 6.12): a table that an NX split
 * left where a huge page could be must stay, so a fault that would map a
 * huge page over it goes one level down instead, taking the next 9 bits of
 * the pfn back from the gfn.
 */
void disallowed_hugepage_adjust(struct kvm_page_fault *fault, u64 spte, int cur_level)
{
	if (cur_level > PG_LEVEL_4K && cur_level == fault->goal_level &&
	    is_shadow_present_pte(spte) && !is_large_pte(spte) &&
	    spte_to_child_sp(spte)->nx_huge_page_disallowed) {
		u64 page_mask = KVM_PAGES_PER_HPAGE(cur_level) - KVM_PAGES_PER_HPAGE(cur_level - 1);

		fault->pfn |= fault->gfn & page_mask;
		fault->goal_level--;
	}
}

/*
 * kvm_handle_error_pfn(): what a failed lookup does to the fault.  A write
 * to a read-only slot is emulated (an MMIO exit); a pending signal exits
 * to userspace (-EINTR, KVM_EXIT_INTR); a poisoned page sends the vCPU
 * thread SIGBUS (KVM: kvm_send_hwpoison_signal() then RET_PF_RETRY, which
 * the run loop turns into an exit; here -EHWPOISON says so); anything
 * else is -EFAULT.
 */
static int kvm_handle_error_pfn(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	if (is_sigpending_pfn(fault->pfn))
		return -EINTR;
	if (fault->pfn == KVM_PFN_ERR_RO_FAULT)
		return RET_PF_EMULATE;
	if (fault->pfn == KVM_PFN_ERR_HWPOISON)
		return -EHWPOISON;
	return -EFAULT;
}

static void kvm_faultin_pfn_once(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault,
				 unsigned int foll)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_follow_pfn kfp;

	/* v9: a non-refcounted struct page only where the SPTE can say so. */
	fault->pfn = kvm_faultin_pfn(kvm, fault->slot, fault->gfn, foll,
				     kvm->masks.shadow_refcounted_mask != 0, &kfp);
	fault->hva = kfp.hva;
	fault->map_writable = kfp.writable;
	fault->is_refcounted_page = kfp.is_refcounted_page;
	fault->refcounted_page = kfp.refcounted_page;
}

/*
 * __kvm_mmu_faultin_pfn(): the pfn lookup of src/pfn, first without
 * waiting for I/O, then (no async page faults here) again allowing it,
 * interruptibly.  The mapping's size is not looked at here:
 * kvm_mmu_hugepage_adjust() reads it under mmu_lock.
 */
static int __kvm_mmu_faultin_pfn(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	unsigned int foll = fault->write ? FOLL_WRITE : 0;

	kvm_faultin_pfn_once(vcpu, fault, foll | FOLL_NOWAIT);
	if (fault->pfn == KVM_PFN_ERR_NEEDS_IO)
		kvm_faultin_pfn_once(vcpu, fault, foll | FOLL_INTERRUPTIBLE);
	if (unlikely(is_error_pfn(fault->pfn)))
		return kvm_handle_error_pfn(vcpu, fault);
	if (WARN_ON_ONCE(is_noslot_pfn(fault->pfn)))
		return -EFAULT;
	return RET_PF_CONTINUE;
}

/*
 * Drops what the pfn lookup took.  6.13: kvm_release_faultin_page() under
 * mmu_lock, unused after RET_PF_RETRY, else dirty if the host mapping was
 * writable (fast_page_fault() may make the SPTE writable later without
 * telling the host).  v9: the reference only, clean, outside mmu_lock (its
 * fix to the series), and only if there is one; the SPTE's A/D reach the
 * page when the SPTE changes.  Called under mmu_lock (@mmu_locked) and
 * again after dropping it; each model releases in its own place, and a
 * fault retried before taking the lock releases at once.
 */
static void kvm_mmu_finish_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault, int r,
				      bool mmu_locked)
{
	struct kvm *kvm = vcpu->kvm;

	if (!fault->refcounted_page)
		return;
	/*
	 * An encrypted slot's lookup took a FOLL_PIN (demand-pinning RFC):
	 * kvm_release_pfn_clean() unpins it, after mmu_lock, in either model.
	 */
	if (fault->slot && (fault->slot->flags & KVM_MEMSLOT_ENCRYPTED)) {
		if (mmu_locked)
			return;
		if (r != RET_PF_RETRY && fault->map_writable)
			kvm_set_page_dirty(kvm, fault->refcounted_page);
		kvm_release_pfn_clean(kvm, fault->refcounted_page);
	} else if (kvm_pfn_model_v9(kvm)) {
		if (mmu_locked)
			return;
		if (fault->is_refcounted_page && r == RET_PF_RETRY)
			kvm_release_page_unused(kvm, fault->refcounted_page);
		else if (fault->is_refcounted_page)
			kvm_release_page_clean(kvm, fault->refcounted_page);
	} else {
		if (!mmu_locked && r != RET_PF_RETRY)
			return;
		kvm_release_faultin_page(kvm, fault->refcounted_page, r == RET_PF_RETRY,
					 fault->map_writable);
	}
	fault->refcounted_page = NULL;
	fault->is_refcounted_page = false;
}

/*
 * kvm_pin_pfn() of Nikunj Dadhania's demand-pinning RFC v1 (patch 3/9):
 * after the huge-page adjust, an encrypted slot's pfn is pinned by the
 * vendor before it is mapped; false means "do not map" (RET_PF_RETRY).
 * Nothing to pin for error, noslot or reserved pfns, or without the hook.
 */
static bool kvm_pin_pfn(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;

	if (likely(!fault->slot || !(fault->slot->flags & KVM_MEMSLOT_ENCRYPTED)))
		return true;
	if (!kvm->demand_pin_ops || is_error_noslot_pfn(fault->pfn) ||
	    !kvm_pfn_to_refcounted_page(kvm, fault->pfn))
		return true;
	return kvm->demand_pin_ops->pin_pfn(vcpu, fault->slot, fault->pfn, fault->hva, fault->write,
					    fault->goal_level);
}

static int kvm_handle_noslot_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;

	fault->noslot = true;
	fault->pfn = KVM_PFN_NOSLOT;
	/* Without MMIO caching, or beyond what an MMIO SPTE can encode: emulate. */
	if (!kvm->masks.enable_mmio_caching || fault->gfn > kvm_mmu_max_gfn(&kvm->masks))
		return RET_PF_EMULATE;
	return RET_PF_CONTINUE;
}

/* Runs the hook armed for @point by mmusim_vm_race_next_fault(), once. */
void kvm_mmu_fault_race_point(struct kvm *kvm, int point, gfn_t gfn)
{
	mmusim_fault_race_fn fn = smp_load_acquire(&kvm->fault_race.fn);
	void *arg;

	if (likely(!fn) || READ_ONCE(kvm->fault_race.point) != point)
		return;
	arg = READ_ONCE(kvm->fault_race.arg);
	if (cmpxchg(&kvm->fault_race.fn, fn, NULL) == fn)
		fn(arg, point, gfn);
}

static int kvm_mmu_faultin_pfn(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	int r;

	fault->mmu_seq = READ_ONCE(kvm->mmu_invalidate_seq);
	smp_rmb();

	if (!fault->slot)
		return kvm_handle_noslot_fault(vcpu, fault);
	/* The slot is being deleted or moved: let the update finish. */
	if (fault->slot->flags & KVM_MEMSLOT_INVALID)
		return RET_PF_RETRY;
	if (mmu_invalidate_retry_gfn_unsafe(kvm, fault->mmu_seq, fault->gfn))
		return RET_PF_RETRY;

	r = __kvm_mmu_faultin_pfn(vcpu, fault);
	if (r != RET_PF_CONTINUE)
		return r;
	kvm_mmu_fault_race_point(kvm, MMUSIM_FAULT_RACE_AFTER_PFN, fault->gfn);

	/* Cheap early exit; the authoritative check is under mmu_lock. */
	if (mmu_invalidate_retry_gfn_unsafe(kvm, fault->mmu_seq, fault->gfn)) {
		kvm_mmu_finish_page_fault(vcpu, fault, RET_PF_RETRY, false);
		return RET_PF_RETRY;
	}
	return RET_PF_CONTINUE;
}

/* A root the vCPU must drop: invalidated (TDP MMU), or zapped or of an old generation. */
static bool is_obsolete_root(struct kvm *kvm, struct kvm_mmu_page *root)
{
	if (kvm->tdp_mmu_enabled)
		return is_invalid_root(root);
	return is_obsolete_sp(kvm, root);
}

static bool is_page_fault_stale(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm_mmu_page *root = vcpu->root[fault->as_id];

	if (!root || is_obsolete_root(vcpu->kvm, root))
		return true;
	return fault->slot && mmu_invalidate_retry_gfn(vcpu->kvm, fault->mmu_seq, fault->gfn);
}

static bool page_fault_can_be_fast(struct kvm *kvm, struct kvm_page_fault *fault)
{
	if (fault->rsvd || !fault->slot)
		return false;
	/* Not present: only an access-tracked SPTE can be fixed locklessly. */
	if (!fault->present)
		return !kvm->masks.ad_enabled;
	/* Present: only a write to a write-protected, MMU-writable SPTE. */
	return fault->write;
}

static bool is_access_allowed_fast(struct kvm *kvm, struct kvm_page_fault *fault, u64 spte)
{
	if (fault->exec)
		return is_executable_pte(&kvm->masks, spte);
	if (fault->write)
		return is_writable_pte(spte);
	return spte & PT_PRESENT_MASK;
}

/* The last SPTE on the path to the fault's gfn, locklessly (RCU held). */
static u64 *mmu_get_last_sptep_lockless(struct kvm_vcpu *vcpu, int as_id, gfn_t gfn, u64 *spte,
					int *level)
{
	if (vcpu->kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_fast_pf_get_last_sptep(vcpu, as_id, gfn, spte, level);
	return fast_pf_get_last_sptep(vcpu, as_id, gfn, spte, level);
}

/*
 * Lockless fix-ups: restore an access-tracked SPTE, or set W on an
 * MMU-writable SPTE (dirty logging's write protection), with one cmpxchg.
 * Works on both MMUs' tables (same format; both free tables through RCU).
 * In the legacy MMU the SPTE stays on its rmap: only W and the
 * access-tracking bits change.  Returns RET_PF_INVALID if the slow path is
 * needed.
 */
static int fast_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	const struct kvm_mmu_masks *m = &kvm->masks;
	int ret = RET_PF_INVALID, retry_count = 0, level;
	u64 spte = 0, new_spte;
	u64 *sptep;

	if (!page_fault_can_be_fast(kvm, fault))
		return RET_PF_INVALID;

	rcu_read_lock();
	do {
		sptep = mmu_get_last_sptep_lockless(vcpu, fault->as_id, fault->gfn, &spte, &level);
		if (!sptep || !is_shadow_present_pte(spte) || !is_last_spte(spte, level))
			break;
		if (is_access_allowed_fast(kvm, fault, spte)) {
			ret = RET_PF_SPURIOUS;
			break;
		}
		new_spte = spte;
		if (is_access_track_spte(m, spte))
			new_spte = restore_acc_track_spte(m, new_spte) | m->shadow_accessed_mask;
		if (fault->write && is_mmu_writable_spte(m, new_spte)) {
			new_spte |= PT_WRITABLE_MASK;
			/* Huge pages in a logged slot must be split: slow path. */
			if (kvm_slot_dirty_track_enabled(fault->slot) && level > PG_LEVEL_4K)
				break;
		}
		if (new_spte == spte || !is_access_allowed_fast(kvm, fault, new_spte))
			break;
		if (try_cmpxchg64(sptep, &spte, new_spte)) {
			if (is_writable_pte(new_spte) && !is_writable_pte(spte))
				kvm_vcpu_mark_page_dirty_in_slot(vcpu, fault->slot,
						gfn_round_for_level(fault->gfn, level));
			ret = RET_PF_FIXED;
			break;
		}
	} while (++retry_count <= 4);
	trace_fast_page_fault(vcpu, fault, sptep, spte, ret);
	rcu_read_unlock();

	if (ret == RET_PF_FIXED)
		kvm_vcpu_stat_inc(vcpu, pf_fast);
	return ret;
}

static int kvm_tdp_mmu_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	int r;

	r = fast_page_fault(vcpu, fault);
	if (r != RET_PF_INVALID)
		return r;

	r = mmu_topup_memory_caches(vcpu);
	if (r)
		return r;

	r = kvm_mmu_faultin_pfn(vcpu, fault);
	if (r != RET_PF_CONTINUE)
		return r;
	kvm_mmu_fault_race_point(kvm, MMUSIM_FAULT_RACE_BEFORE_LOCK, fault->gfn);

	r = RET_PF_RETRY;
	read_lock(&kvm->mmu_lock);
	if (!is_page_fault_stale(vcpu, fault)) {
		kvm_mmu_hugepage_adjust(vcpu, fault);
		if (kvm_pin_pfn(vcpu, fault))
			r = kvm_tdp_mmu_map(vcpu, fault);
	}
	kvm_mmu_finish_page_fault(vcpu, fault, r, true);
	read_unlock(&kvm->mmu_lock);
	kvm_mmu_finish_page_fault(vcpu, fault, r, false);
	return r;
}

/* Both MMUs' caches: page tables, and rmap descriptors for the legacy one. */
static int mmu_topup_all_memory_caches(struct kvm_vcpu *vcpu)
{
	int r = mmu_topup_memory_caches(vcpu);

	if (r || vcpu->kvm->tdp_mmu_enabled)
		return r;
	return mmu_topup_pte_list_desc_cache(vcpu->kvm, &vcpu->mmu_pte_list_desc_cache);
}

/*
 * The legacy MMU's TDP fault (KVM's direct_page_fault()): as above, but
 * mmu_lock is taken for write and direct_map() installs the mapping.
 */
static int direct_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	int r;

	r = fast_page_fault(vcpu, fault);
	if (r != RET_PF_INVALID)
		return r;

	r = mmu_topup_all_memory_caches(vcpu);
	if (r)
		return r;

	r = kvm_mmu_faultin_pfn(vcpu, fault);
	if (r != RET_PF_CONTINUE)
		return r;
	kvm_mmu_fault_race_point(kvm, MMUSIM_FAULT_RACE_BEFORE_LOCK, fault->gfn);

	r = RET_PF_RETRY;
	write_lock(&kvm->mmu_lock);
	if (!is_page_fault_stale(vcpu, fault)) {
		kvm_mmu_hugepage_adjust(vcpu, fault);
		if (kvm_pin_pfn(vcpu, fault))
			r = direct_map(vcpu, fault);
	}
	kvm_mmu_finish_page_fault(vcpu, fault, r, true);
	write_unlock(&kvm->mmu_lock);
	kvm_mmu_finish_page_fault(vcpu, fault, r, false);
	return r;
}

static int kvm_tdp_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	if (vcpu->kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_page_fault(vcpu, fault);
	return direct_page_fault(vcpu, fault);
}

/*
 * MMIO SPTE hit (EPT misconfig / NPT reserved bit): emulate if the SPTE's
 * memslot generation is current, else rebuild it through the normal path.
 */
static int handle_mmio_page_fault(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	int ret = RET_PF_RETRY, level;
	u64 spte, gen;

	rcu_read_lock();
	if (mmu_get_last_sptep_lockless(vcpu, fault->as_id, fault->gfn, &spte, &level) &&
	    is_mmio_spte(&kvm->masks, spte)) {
		gen = kvm_memslots_generation(kvm_memslots_as(&kvm->slots, fault->as_id));
		ret = RET_PF_INVALID;
		/* check_mmio_spte(): traced only when no update is in progress. */
		if (!(gen & KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS)) {
			trace_check_mmio_spte(spte, gen & MMIO_SPTE_GEN_MASK,
					      get_mmio_spte_generation(spte));
			if (get_mmio_spte_generation(spte) == (gen & MMIO_SPTE_GEN_MASK)) {
				/* A direct MMU: the address is not a guest virtual one. */
				trace_handle_mmio_page_fault(
					0, get_mmio_spte_gfn(&kvm->masks, spte),
					get_mmio_spte_access(&kvm->masks, spte));
				ret = RET_PF_EMULATE;
			}
		}
	}
	rcu_read_unlock();
	return ret;
}

/**
 * kvm_mmu_page_fault - handle a TDP violation or misconfiguration
 * @vcpu: the faulting vCPU, outside guest mode, holding kvm->slots.srcu
 * @gpa: the guest physical address
 * @error_code: PFERR_* bits synthesized by the simulated CPU
 *
 * Return: a RET_PF_* value (the vCPU re-executes the access unless it is
 * RET_PF_EMULATE, an MMIO exit) or a negative errno (exit to userspace).
 */
/*
 * kvm_mmu_do_page_fault(): the TDP fault proper, mapped at most at
 * @max_level.  @level, if not NULL, receives the level the fault mapped.
 * No stats: kvm_mmu_page_fault() counts guest faults, and a prefetch
 * (KVM_PRE_FAULT_MEMORY) counts in none of them (6.12).
 */
static int kvm_mmu_do_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code, bool prefetch,
				 int max_level, u8 *level)
{
	struct kvm_page_fault fault = {
		.addr = gpa,
		.error_code = error_code,
		.exec = error_code & PFERR_FETCH_MASK,
		.write = error_code & PFERR_WRITE_MASK,
		.present = error_code & PFERR_PRESENT_MASK,
		.rsvd = error_code & PFERR_RSVD_MASK,
		.prefetch = prefetch,
		.max_level = max_level,
		.nx_huge_page_workaround_enabled = vcpu->kvm->masks.nx_huge_pages,
		.gfn = gpa >> PAGE_SHIFT,
		.as_id = vcpu->smm ? 1 : 0,
	};
	int r;

	fault.slot = kvm_vcpu_gfn_to_memslot(&vcpu->kvm->slots, &vcpu->slot_cache, fault.as_id,
					     fault.gfn);
	r = kvm_tdp_page_fault(vcpu, &fault);
	if (level)
		*level = fault.goal_level;
	return r;
}

int kvm_mmu_page_fault(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code)
{
	int r;

	/* The modelled exit + GUP cost (benchmarks): outside mmu_lock, as in KVM. */
	if (unlikely(READ_ONCE(vcpu->kvm->fault_exit_ns)))
		ndelay(READ_ONCE(vcpu->kvm->fault_exit_ns));
	/*
	 * As 6.12's kvm_mmu_page_fault(): an MMIO SPTE that answers is emulated
	 * without touching the pf_* stats, and pf_taken counts the faults that
	 * go to the page-fault handler proper (kvm_mmu_do_page_fault()), fast
	 * path and spurious ones included; a retry of the MMIO lookup is not one.
	 */
	if (error_code & PFERR_RSVD_MASK) {
		struct kvm_page_fault fault = {
			.addr = gpa,
			.error_code = error_code,
			.rsvd = true,
			.gfn = gpa >> PAGE_SHIFT,
			.as_id = vcpu->smm ? 1 : 0,
		};

		r = handle_mmio_page_fault(vcpu, &fault);
		if (r == RET_PF_EMULATE)
			return r;
		if (r != RET_PF_INVALID) {
			if (r == RET_PF_RETRY)
				kvm_vcpu_stat_inc(vcpu, pf_retry);
			return r;
		}
		error_code &= ~PFERR_RSVD_MASK;
	}

	/* pf_retry is mmusim's: every RET_PF_RETRY. */
	kvm_vcpu_stat_inc(vcpu, pf_taken);
	r = kvm_mmu_do_page_fault(vcpu, gpa, error_code, false, KVM_MAX_HUGEPAGE_LEVEL, NULL);
	if (r == RET_PF_FIXED)
		kvm_vcpu_stat_inc(vcpu, pf_fixed);
	else if (r == RET_PF_EMULATE)
		kvm_vcpu_stat_inc(vcpu, pf_emulate);
	else if (r == RET_PF_SPURIOUS)
		kvm_vcpu_stat_inc(vcpu, pf_spurious);
	else if (r == RET_PF_RETRY)
		kvm_vcpu_stat_inc(vcpu, pf_retry);
	return r;
}

/*
 * kvm_tdp_map_page() (6.10+): fault @gpa in as a prefetch, retrying until it
 * is fixed; the level it was mapped at in *@level.  0, -ENOENT when the gpa
 * would be emulated (no memslot: MMIO; a read-only slot is still mapped),
 * -EINTR for a pending signal, the fault's errno, or -EIO (WARN) if the
 * fault could not be fixed.  A retry because the root became obsolete (a
 * fast zap) reloads the root here: 6.12 would retry on the old one until a
 * signal, as nothing else handles the request outside KVM_RUN.
 */
/*
 * One try of a fault made by KVM itself (kvm_tdp_map_page(),
 * kvm_mmu_map_tdp_page()): @intr for a pending signal, a fresh root if the
 * old one is obsolete, then the fault's RET_PF_* or errno.
 */
static int kvm_mmu_fault_step(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code, bool prefetch,
			      int max_level, u8 *level, int intr)
{
	int r;

	if (sim_mm_signal_pending(vcpu->kvm->mm))
		return intr;
	cond_resched();
	if (kvm_check_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS, vcpu))
		kvm_mmu_free_obsolete_roots(vcpu);
	r = kvm_mmu_load(vcpu);
	if (r)
		return r;
	return kvm_mmu_do_page_fault(vcpu, gpa, error_code, prefetch, max_level, level);
}

int kvm_tdp_map_page(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code, u8 *level)
{
	int r;

	do {
		r = kvm_mmu_fault_step(vcpu, gpa, error_code, true, KVM_MAX_HUGEPAGE_LEVEL, level,
				       -EINTR);
	} while (r == RET_PF_RETRY);

	/*
	 * KVM queues SIGBUS for a poisoned page and retries; the loop's signal
	 * check then ends it with -EINTR.  mmusim's faults return -EHWPOISON.
	 */
	if (r == -EHWPOISON)
		return -EINTR;
	if (r < 0)
		return r;
	switch (r) {
	case RET_PF_FIXED:
	case RET_PF_SPURIOUS:
		return 0;
	case RET_PF_EMULATE:
		return -ENOENT;
	default:
		WARN_ONCE(1, "could not fix page fault during prefault");
		return -EIO;
	}
}

/*
 * kvm_mmu_map_tdp_page() of the pinned-SPTE RFC (patch 7/8), for SEV's
 * LAUNCH_UPDATE_DATA to pin pages through the MMU before the guest runs:
 * a real (not prefetch) fault of @gpa on @vcpu with @error_code, mapped at
 * most at @max_level, repeated while the fault asks for a retry; the pfn
 * now mapping @gpa in *@pfn.  The RFC looped while the fault returned
 * RET_PF_RETRY and returned the pfn (KVM_PFN_ERR_FAULT when the caches
 * could not be filled); mmusim returns an errno and also stops for a
 * pending signal (-ERESTARTSYS, as an ioctl interrupted before it did
 * anything) and reloads an obsolete root as kvm_tdp_map_page() does.
 * -ENOENT: no memslot (the gpa would be emulated); -ENOMEM, -EFAULT,
 * -EHWPOISON: the fault's.  The pfn is read back from the leaf (a fast or
 * spurious fault looks no pfn up); a leaf zapped again before that retries.
 */
int kvm_mmu_map_tdp_page(struct kvm_vcpu *vcpu, gpa_t gpa, u64 error_code, int max_level,
			 kvm_pfn_t *pfn)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	int r, level;
	u64 spte;

	for (;;) {
		r = kvm_mmu_fault_step(vcpu, gpa, error_code, false, max_level, NULL, -ERESTARTSYS);
		if (r == RET_PF_RETRY)
			continue;
		if (r < 0)
			return r;
		if (r == RET_PF_EMULATE)
			return -ENOENT;
		if (WARN_ON_ONCE(r != RET_PF_FIXED && r != RET_PF_SPURIOUS))
			return -EIO;
		rcu_read_lock();
		if (!mmu_get_last_sptep_lockless(vcpu, vcpu->smm ? 1 : 0, gfn, &spte, &level) ||
		    !is_shadow_present_pte(spte) || !is_last_spte(spte, level))
			level = 0;
		rcu_read_unlock();
		if (!level)
			continue;
		*pfn = spte_to_pfn(spte) + (gfn & (KVM_PAGES_PER_HPAGE(level) - 1));
		return 0;
	}
}

/*
 * kvm_arch_vcpu_pre_fault_memory(): one step of KVM_PRE_FAULT_MEMORY, a
 * read prefetch of range->gpa (PFERR_GUEST_FINAL_MASK: a final, not a
 * paging-structure, access).  Returns the bytes it covered (from range->gpa
 * to the end of the mapping it made, at most range->size), or an errno.
 * Every mmusim VM uses TDP, so the request is always allowed.
 */
long kvm_arch_vcpu_pre_fault_memory(struct kvm_vcpu *vcpu, struct kvm_pre_fault_memory *range)
{
	u64 error_code = PFERR_GUEST_FINAL_MASK, end;
	u8 level = PG_LEVEL_4K;
	int r;

	r = kvm_tdp_map_page(vcpu, range->gpa, error_code, &level);
	if (r < 0)
		return r;
	/* A huge mapping may start below range->gpa and end past its size. */
	end = (range->gpa & KVM_HPAGE_MASK(level)) + KVM_HPAGE_SIZE(level);
	return min(range->size, end - range->gpa);
}

/* ----------------------------------------------------------------------
 * Roots of a vCPU
 */

/* Makes sure the vCPU has a valid root for its current address space. */
int kvm_mmu_load(struct kvm_vcpu *vcpu)
{
	struct kvm *kvm = vcpu->kvm;
	int as_id = vcpu->smm ? 1 : 0;
	int r;

	if (vcpu->root[as_id])
		return 0;
	r = mmu_topup_memory_caches(vcpu);
	if (r)
		return r;
	if (kvm->tdp_mmu_enabled) {
		read_lock(&kvm->mmu_lock);
		r = kvm_tdp_mmu_alloc_root(vcpu, as_id);
		read_unlock(&kvm->mmu_lock);
	} else {
		write_lock(&kvm->mmu_lock);
		r = mmu_alloc_direct_roots(vcpu, as_id);
		write_unlock(&kvm->mmu_lock);
	}
	/* A new root: nothing cached for it may survive. */
	kvm_vcpu_flush_tlb(vcpu);
	return r;
}

/* The legacy MMU's kvm_mmu_free_roots(): everything under the write lock. */
static void shadow_mmu_put_roots(struct kvm_vcpu *vcpu, bool only_obsolete)
{
	struct kvm *kvm = vcpu->kvm;
	LIST_HEAD(invalid_list);
	int i;

	write_lock(&kvm->mmu_lock);
	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++) {
		struct kvm_mmu_page *root = vcpu->root[i];

		if (!root || (only_obsolete && !is_obsolete_sp(kvm, root)))
			continue;
		mmu_free_root_page(kvm, &vcpu->root[i], &invalid_list);
	}
	kvm_mmu_commit_zap_page(kvm, &invalid_list);
	write_unlock(&kvm->mmu_lock);
}

static void mmu_put_roots(struct kvm_vcpu *vcpu, bool only_obsolete)
{
	struct kvm *kvm = vcpu->kvm;
	int i;

	if (!kvm->tdp_mmu_enabled) {
		shadow_mmu_put_roots(vcpu, only_obsolete);
		return;
	}
	read_lock(&kvm->mmu_lock);
	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++) {
		struct kvm_mmu_page *root = vcpu->root[i];

		if (!root || (only_obsolete && !is_invalid_root(root)))
			continue;
		kvm_tdp_mmu_put_root(kvm, root);
		vcpu->root[i] = NULL;
	}
	read_unlock(&kvm->mmu_lock);
}

void kvm_mmu_free_obsolete_roots(struct kvm_vcpu *vcpu)
{
	mmu_put_roots(vcpu, true);
	kvm_vcpu_flush_tlb(vcpu);
}

void kvm_mmu_unload(struct kvm_vcpu *vcpu)
{
	mmu_put_roots(vcpu, false);
	mmu_free_memory_cache(&vcpu->mmu_page_cache);
	if (!vcpu->kvm->tdp_mmu_enabled)
		mmu_free_pte_list_desc_cache(vcpu->kvm, &vcpu->mmu_pte_list_desc_cache);
}

/* ----------------------------------------------------------------------
 * Zapping entry points
 */

/*
 * Invalidates every root at once; vCPUs drop them (and load new ones) on
 * their next entry, and the old roots are zapped under the read lock.
 * The legacy MMU starts a new generation instead and zaps the obsolete
 * shadow pages before returning, under the write lock (yielding).
 */
void kvm_mmu_zap_all_fast(struct kvm *kvm)
{
	if (!kvm->tdp_mmu_enabled) {
		/* rmap removal looks memslots up: SRCU (slots_lock is held too). */
		int idx = srcu_read_lock(&kvm->slots.srcu);

		write_lock(&kvm->mmu_lock);
		trace_kvm_mmu_zap_all_fast(kvm);
		kvm_shadow_mmu_zap_all_fast(kvm);
		write_unlock(&kvm->mmu_lock);
		srcu_read_unlock(&kvm->slots.srcu, idx);
		atomic64_inc(&kvm->stat.fast_zaps);
		return;
	}
	write_lock(&kvm->mmu_lock);
	trace_kvm_mmu_zap_all_fast(kvm);
	kvm_tdp_mmu_invalidate_roots(kvm);
	kvm_make_all_cpus_request(kvm, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
	write_unlock(&kvm->mmu_lock);
	atomic64_inc(&kvm->stat.fast_zaps);
	kvm_tdp_mmu_zap_invalidated_roots(kvm, true);
}

void kvm_mmu_zap_all(struct kvm *kvm)
{
	int idx;

	if (kvm->tdp_mmu_enabled) {
		write_lock(&kvm->mmu_lock);
		kvm_tdp_mmu_zap_all(kvm);
		write_unlock(&kvm->mmu_lock);
		return;
	}
	/* As KVM's ->release: SRCU for the memslot lookups of rmap removal. */
	idx = srcu_read_lock(&kvm->slots.srcu);
	write_lock(&kvm->mmu_lock);
	kvm_shadow_mmu_zap_all(kvm);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
}

/*
 * Zaps [gfn_start, gfn_end) of address space @as_id, or of every address
 * space if @as_id is -1, inside an invalidation.  The -1 case is KVM's
 * kvm_zap_gfn_range() (below); one address space is mmusim's public call.
 */
void __kvm_zap_gfn_range(struct kvm *kvm, int as_id, gfn_t gfn_start, gfn_t gfn_end)
{
	bool flush;
	int idx;

	if (WARN_ON_ONCE(gfn_end <= gfn_start))
		return;
	/* The legacy MMU walks the memslots' rmaps. */
	idx = srcu_read_lock(&kvm->slots.srcu);
	write_lock(&kvm->mmu_lock);
	kvm_mmu_invalidate_begin(kvm);
	kvm_mmu_invalidate_range_add(kvm, gfn_start, gfn_end);
	if (kvm->tdp_mmu_enabled)
		flush = kvm_tdp_mmu_zap_leafs(kvm, as_id, gfn_start, gfn_end, false);
	else
		flush = kvm_rmap_zap_gfn_range(kvm, as_id, gfn_start, gfn_end);
	if (flush)
		kvm_flush_remote_tlbs_range(kvm, gfn_start, gfn_end - gfn_start);
	kvm_mmu_invalidate_end(kvm);
	write_unlock(&kvm->mmu_lock);
	srcu_read_unlock(&kvm->slots.srcu, idx);
}

/*
 * As 6.12's kvm_zap_gfn_range(): the gfn range in every address space (the
 * invalidation range has no address space either), rmaps and TDP roots.
 */
void kvm_zap_gfn_range(struct kvm *kvm, gfn_t gfn_start, gfn_t gfn_end)
{
	__kvm_zap_gfn_range(kvm, -1, gfn_start, gfn_end);
}

/*
 * The MMU's part of an MMU-notifier unmap or of a memslot zap, with
 * mmu_lock held for write, inside an invalidation or under slots_lock.
 * Returns whether a remote TLB flush is owed.
 */
bool kvm_unmap_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	if (kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_unmap_gfn_range(kvm, range->slot->as_id, range->start,
						   range->end, range->may_block, false);
	return __kvm_rmap_zap_gfn_range(kvm, range->slot, range->start, range->end,
					range->may_block, false);
}

/*
 * Aging.  The TDP MMU ages locklessly (RCU and atomics, as x86 KVM with
 * KVM_MMU_LOCKLESS_AGING); the legacy MMU walks the rmaps under mmu_lock
 * held for write (KVM before its 6.15 rmap lock).  No TLB flush either way.
 */
bool kvm_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range)
{
	bool young;

	if (kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_age_gfn_range(kvm, range->slot->as_id, range->start,
						 range->end);
	write_lock(&kvm->mmu_lock);
	young = kvm_rmap_age_gfn_range(kvm, range, false);
	write_unlock(&kvm->mmu_lock);
	return young;
}

bool kvm_test_age_gfn(struct kvm *kvm, struct kvm_gfn_range *range)
{
	bool young;

	if (kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_test_age_gfn(kvm, range->slot->as_id, range->start, range->end);
	write_lock(&kvm->mmu_lock);
	young = kvm_rmap_age_gfn_range(kvm, range, true);
	write_unlock(&kvm->mmu_lock);
	return young;
}

/* ----------------------------------------------------------------------
 * Memslot hooks (kvm_arch_*_memory_region and friends)
 */

/*
 * A legacy-MMU VM has rmaps for every slot (KVM's kvm_memslots_have_rmaps()
 * with tdp_mmu=N), allocated with the slot's other metadata; FLAGS_ONLY
 * keeps the old slot's arrays.
 */
static int kvm_arch_prepare_memory_region(void *arch, const struct kvm_memory_slot *old,
					  struct kvm_memory_slot *new, enum kvm_mr_change change)
{
	struct kvm *kvm = arch;
	int r = 0;

	if (!kvm->tdp_mmu_enabled && (change == KVM_MR_CREATE || change == KVM_MR_MOVE))
		r = memslot_rmap_alloc(new, new->npages);
	/* The vendor's metadata (SEV demand pinning): kvm_alloc_memslot_metadata(). */
	if (!r && new && kvm->demand_pin_ops) {
		r = kvm->demand_pin_ops->alloc_memslot_metadata(kvm, old, new, change);
		if (r && change != KVM_MR_FLAGS_ONLY)
			memslot_rmap_free(new);
	}
	return r;
}

static void kvm_arch_free_memslot(void *arch, struct kvm_memory_slot *slot)
{
	struct kvm *kvm = arch;

	memslot_rmap_free(slot);
	if (kvm->demand_pin_ops)
		kvm->demand_pin_ops->free_memslot(kvm, slot);
}

/*
 * kvm_mmu_slot_try_split_huge_pages() / kvm_mmu_try_split_huge_pages():
 * nothing without the TDP MMU.  No TLB flush: the split leaves keep the
 * huge leaf's W and D, and whoever write-protects or clears them next
 * decides on the flush from them.
 */
static void kvm_mmu_slot_try_split_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot,
					      int target_level)
{
	if (!kvm->tdp_mmu_enabled)
		return;
	read_lock(&kvm->mmu_lock);
	kvm_tdp_mmu_try_split_huge_pages(kvm, slot, slot->base_gfn, slot->base_gfn + slot->npages,
					 target_level, true);
	read_unlock(&kvm->mmu_lock);
}

/* The same for [start, end) with mmu_lock held for write (the dirty-log harvest). */
static void kvm_mmu_try_split_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot,
					 gfn_t start, gfn_t end, int target_level)
{
	if (!kvm->tdp_mmu_enabled)
		return;
	kvm_tdp_mmu_try_split_huge_pages(kvm, slot, start, end, target_level, false);
}

/* kvm_mmu_recover_huge_pages() (6.13; kvm_mmu_zap_collapsible_sptes() in 6.12). */
static void kvm_mmu_recover_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	if (!kvm->tdp_mmu_enabled) {
		write_lock(&kvm->mmu_lock);
		if (kvm_shadow_mmu_zap_collapsible_sptes(kvm, slot))
			kvm_flush_remote_tlbs(kvm);
		write_unlock(&kvm->mmu_lock);
		return;
	}
	read_lock(&kvm->mmu_lock);
	kvm_tdp_mmu_recover_huge_pages(kvm, slot, !kvm->zap_collapsible);
	read_unlock(&kvm->mmu_lock);
}

static void kvm_mmu_slot_apply_flags(struct kvm *kvm, struct kvm_memory_slot *old,
				     const struct kvm_memory_slot *new)
{
	bool log_before = old && (old->flags & KVM_MEM_LOG_DIRTY_PAGES);
	bool log_after = new->flags & KVM_MEM_LOG_DIRTY_PAGES;
	bool flush;

	/* Read-only slots cannot be dirtied (Linux 6.12 kvm_mmu_slot_apply_flags()). */
	if (log_before == log_after || (new->flags & KVM_MEM_READONLY))
		return;
	if (log_after) {
		/*
		 * INITIALLY_SET: every page already counts as dirty, so nothing
		 * is write-protected now; KVM_CLEAR_DIRTY_LOG protects what it
		 * clears (kvm_arch_mmu_enable_log_dirty_pt_masked()).
		 */
		if (kvm_dirty_log_manual_protect_and_init_set(kvm))
			return;
		/*
		 * Eager page splitting (6.12, TDP MMU only: KVM splits shadow
		 * pages only for nested MMUs): huge leaves become 4K ones now,
		 * under the read lock, rather than one write fault at a time.
		 */
		if (kvm->eager_page_split)
			kvm_mmu_slot_try_split_huge_pages(kvm, new, PG_LEVEL_4K);
		/*
		 * PML (kvm_x86_ops.cpu_dirty_log_size): clear D on the 4K leaves
		 * so the CPU logs the next write to each, and write-protect only
		 * huge leaves, whose writes must fault and map 4K.  Otherwise
		 * write-protect everything so the first write to each page is
		 * seen.
		 */
		if (kvm->pml) {
			if (kvm->tdp_mmu_enabled) {
				read_lock(&kvm->mmu_lock);
				kvm_tdp_mmu_clear_dirty_slot(kvm, new);
				kvm_tdp_mmu_wrprot_slot(kvm, new, PG_LEVEL_2M);
				read_unlock(&kvm->mmu_lock);
			} else {
				write_lock(&kvm->mmu_lock);
				kvm_shadow_mmu_slot_leaf_clear_dirty(kvm, new);
				kvm_shadow_mmu_slot_remove_write_access(kvm, new, PG_LEVEL_2M);
				write_unlock(&kvm->mmu_lock);
			}
			/* A TLB entry that still says dirty would write unlogged. */
			flush = true;
		} else if (kvm->tdp_mmu_enabled) {
			/*
			 * Flush even if no SPTE lost W here: an SPTE that aging
			 * access-tracked (W cleared, no flush: clear_young does
			 * not flush) may still be writable in a TLB, and the
			 * guest would write through it without a fault, so
			 * without a dirty bit.  KVM flushes unconditionally.
			 */
			read_lock(&kvm->mmu_lock);
			kvm_tdp_mmu_wrprot_slot(kvm, new, PG_LEVEL_4K);
			read_unlock(&kvm->mmu_lock);
			flush = true;
		} else {
			/*
			 * Huge leaves too: a write to one faults, and the fault
			 * maps 4K.  Clearing W alone does not ask for a flush
			 * (leaf_spte_change_needs_tlb_flush()), so flush
			 * unconditionally, as KVM does after enabling logging.
			 */
			write_lock(&kvm->mmu_lock);
			kvm_shadow_mmu_slot_remove_write_access(kvm, new, PG_LEVEL_4K);
			write_unlock(&kvm->mmu_lock);
			flush = true;
		}
		if (flush)
			kvm_flush_remote_tlbs(kvm);
	} else {
		/*
		 * Logging is off (a migration ended or was cancelled): huge
		 * mappings come back.  The TDP MMU recovers them in place
		 * (6.13) or zaps the tables that could be huge (6.12,
		 * mmusim_vm_config.zap_collapsible); the legacy MMU zaps the
		 * collapsible leaves from the rmaps, as both do.
		 */
		kvm_mmu_recover_huge_pages(kvm, new);
	}
}

static void kvm_arch_commit_memory_region(void *arch, struct kvm_memory_slot *old,
					  const struct kvm_memory_slot *new,
					  enum kvm_mr_change change)
{
	struct kvm *kvm = arch;

	if (change == KVM_MR_FLAGS_ONLY)
		kvm_mmu_slot_apply_flags(arch, old, new);
	/* MOVE and FLAGS_ONLY hand the old slot's pins to the new one. */
	if (new && kvm->demand_pin_ops)
		kvm->demand_pin_ops->commit_memslot(kvm, new, change);
}

static void kvm_arch_flush_shadow_memslot(void *arch, struct kvm_memory_slot *slot)
{
	struct kvm *kvm = arch;
	bool flush;

	if (kvm->slot_zap_all) {
		kvm_mmu_zap_all_fast(kvm);
		return;
	}
	/* kvm_mmu_zap_memslot(): direct maps have no shadowed guest tables to zap. */
	write_lock(&kvm->mmu_lock);
	if (kvm->tdp_mmu_enabled)
		flush = kvm_tdp_mmu_zap_memslot(kvm, slot);
	else
		flush = kvm_shadow_mmu_zap_memslot(kvm, slot);
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	write_unlock(&kvm->mmu_lock);
}

/*
 * MMIO SPTEs are invalidated by generation, not zapped; only when the 19
 * bits they keep wrap around could a stale one look current again.
 */
static void kvm_arch_memslots_updated(void *arch, int as_id, u64 gen)
{
	struct kvm *kvm = arch;

	gen &= MMIO_SPTE_GEN_MASK;
	/* The address-space bit of the generation is not a real update. */
	gen &= ~((u64)kvm_arch_nr_memslot_as_ids(kvm) - 1);
	if (unlikely(gen == 0)) {
		atomic64_inc(&kvm->stat.mmio_gen_wraps);
		kvm_mmu_zap_all_fast(kvm);
	}
}

/* Called between .mmu_lock and .mmu_unlock: the harvest holds mmu_lock for write. */
/* kvm_mmu_slot_gfn_write_protect(): both MMUs' leaves at @min_level and above. */
static bool kvm_mmu_slot_gfn_write_protect(struct kvm *kvm, struct kvm_memory_slot *slot,
					   gfn_t gfn, int min_level)
{
	if (kvm->tdp_mmu_enabled)
		return kvm_tdp_mmu_write_protect_gfn(kvm, slot, gfn, min_level);
	return kvm_shadow_mmu_gfn_write_protect(kvm, slot, gfn, min_level);
}

static void kvm_arch_mmu_enable_log_dirty_pt_masked(void *arch, struct kvm_memory_slot *slot,
						    gfn_t gfn_offset, unsigned long mask)
{
	struct kvm *kvm = arch;

	/*
	 * A slot that started all dirty was never write-protected: protect the
	 * huge leaves around the cleared pages so that the next write to them
	 * faults and maps 4K (the log's granularity).  The 64 pages of @mask
	 * may straddle two 2M regions, since base_gfn need not be aligned.
	 * Eager splitting first turns those regions into 4K leaves (dropping
	 * and retaking mmu_lock to allocate), so only the cleared pages lose W.
	 */
	if (kvm_dirty_log_manual_protect_and_init_set(kvm)) {
		gfn_t start = slot->base_gfn + gfn_offset + __ffs(mask);
		gfn_t end = slot->base_gfn + gfn_offset + __fls(mask);

		if (kvm->eager_page_split)
			kvm_mmu_try_split_huge_pages(kvm, slot, start, end + 1, PG_LEVEL_4K);

		kvm_mmu_slot_gfn_write_protect(kvm, slot, start, PG_LEVEL_2M);
		if (ALIGN(start << PAGE_SHIFT, KVM_HPAGE_SIZE(PG_LEVEL_2M)) !=
		    ALIGN(end << PAGE_SHIFT, KVM_HPAGE_SIZE(PG_LEVEL_2M)))
			kvm_mmu_slot_gfn_write_protect(kvm, slot, end, PG_LEVEL_2M);
	}

	/* PML clears D (kvm_mmu_clear_dirty_pt_masked()), else write-protects. */
	if (kvm->tdp_mmu_enabled)
		kvm_tdp_mmu_clear_dirty_pt_masked(kvm, slot, slot->base_gfn + gfn_offset, mask,
						  !kvm->pml);
	else if (kvm->pml)
		kvm_mmu_clear_dirty_pt_masked(kvm, slot, gfn_offset, mask);
	else
		kvm_mmu_write_protect_pt_masked(kvm, slot, gfn_offset, mask);
}

void kvm_mmu_reset_dirty_gfns(struct kvm *kvm, struct kvm_memory_slot *slot, u64 offset,
			      unsigned long mask)
{
	write_lock(&kvm->mmu_lock);
	kvm_arch_mmu_enable_log_dirty_pt_masked(kvm, slot, offset, mask);
	write_unlock(&kvm->mmu_lock);
}

static void kvm_arch_mmu_lock(void *arch)
{
	write_lock(&((struct kvm *)arch)->mmu_lock);
}

static void kvm_arch_mmu_unlock(void *arch)
{
	write_unlock(&((struct kvm *)arch)->mmu_lock);
}

static void kvm_arch_flush_remote_tlbs_memslot(void *arch, const struct kvm_memory_slot *slot)
{
	kvm_flush_remote_tlbs(arch);
}

const struct kvm_memslot_ops kvm_x86_memslot_ops = {
	.prepare = kvm_arch_prepare_memory_region,
	.commit = kvm_arch_commit_memory_region,
	.free_slot = kvm_arch_free_memslot,
	.flush_shadow_memslot = kvm_arch_flush_shadow_memslot,
	.memslots_updated = kvm_arch_memslots_updated,
	.enable_log_dirty_pt_masked = kvm_arch_mmu_enable_log_dirty_pt_masked,
	.mmu_lock = kvm_arch_mmu_lock,
	.mmu_unlock = kvm_arch_mmu_unlock,
	.flush_remote_tlbs_memslot = kvm_arch_flush_remote_tlbs_memslot,
};
