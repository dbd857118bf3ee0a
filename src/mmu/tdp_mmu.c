// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TDP MMU: KVM's two-dimensional paging MMU with parallel faults.
 *
 * Theory of operation
 * -------------------
 * Each address space has roots (struct kvm_mmu_page with role.level = 4 or
 * 5) on kvm->tdp_mmu_roots, an RCU list.  A vCPU holds a reference on the
 * root it runs on; the TDP MMU holds one more until the root is invalidated
 * and zapped, so a new root starts with a refcount of 2.
 *
 * Rules:
 *  1. Page tables are only walked inside rcu_read_lock(), and a page table
 *     is freed with call_rcu() after it has been unlinked, so a lockless
 *     walker (fast_page_fault, MMIO lookup, aging, the simulated CPU) never
 *     touches freed memory.
 *  2. With mmu_lock held for read ("shared"), every SPTE change is a
 *     cmpxchg (tdp_mmu_set_spte_atomic).  On failure the iterator's
 *     old_spte is refreshed and the caller retries or gives up.
 *  3. With mmu_lock held for write, SPTEs are written with a plain store
 *     unless the old SPTE has bits that hardware or a lockless path may set
 *     concurrently (spte_needs_atomic_update), then with xchg, so an A/D
 *     update racing with the write is never lost.
 *  4. A page table being removed under the read lock is first unlinked from
 *     its parent, then each child is frozen (FROZEN_SPTE) with xchg so no
 *     other thread can install into the detached table; faults that meet a
 *     frozen SPTE retry.
 *  5. A present leaf never changes its pfn in place: it must go through a
 *     non-present value (handle_changed_spte BUG()s otherwise).  Clearing
 *     MMU-writable, zapping or unlinking a leaf needs a remote TLB flush
 *     before mmu_lock is dropped (or before the notifier returns).
 *  6. handle_changed_spte() is called for every change; it keeps the
 *     pages_4k/2m/1g stats equal to the number of present leaves and tears
 *     down child tables.
 *  7. Pinned SPTEs (Sean Christopherson's RFC, kvm->pin_ops set; docs/sev.md,
 *     run here to show what it does on this MMU): the fault path pins a new
 *     leaf before its cmpxchg and drops the pin if the cmpxchg loses; leaf
 *     zaps keep a pinned leaf as zapped-pinned; handle_changed_spte() drops
 *     a pin whenever its leaf becomes anything that does not hold it, so a
 *     removed table unpins everything below it.
 *
 * Who calls what: faults (kvm_tdp_mmu_map), write-protection of a slot and
 * zapping of invalidated roots run under the read lock; notifier and
 * memslot zaps, zap-all, root invalidation and dirty-log harvesting under
 * the write lock; aging and fast_page_fault under RCU only.
 */
#include "mmusim_env.h"
#include "mmu/tdp_mmu.h"
#include "mmu/mmutrace.h"

static struct kvm_mmu_page *tdp_mmu_alloc_sp(gfp_t gfp)
{
	struct kvm_mmu_page *sp = kzalloc(sizeof(*sp), gfp);
	int i;

	if (!sp)
		return NULL;
	sp->spt = (u64 *)__get_free_page(gfp);
	if (!sp->spt) {
		kfree(sp);
		return NULL;
	}
	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		sp->spt[i] = SHADOW_NONPRESENT_VALUE;
	set_page_private(virt_to_page(sp->spt), (unsigned long)sp);
	sp->tdp_mmu_page = true;
	INIT_LIST_HEAD(&sp->possible_nx_huge_page_link);
	return sp;
}

static void tdp_mmu_free_sp(struct kvm_mmu_page *sp)
{
	free_page((unsigned long)sp->spt);
	kfree(sp);
}

static void tdp_mmu_free_sp_rcu_callback(struct rcu_head *head)
{
	tdp_mmu_free_sp(container_of(head, struct kvm_mmu_page, rcu_head));
}

/* Fills the vCPU's page-table cache; called before mmu_lock is taken. */
int mmu_topup_memory_caches(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_memory_cache *mc = &vcpu->mmu_page_cache;

	while (mc->nobjs < KVM_MMU_CACHE_CAPACITY) {
		struct kvm_mmu_page *sp = tdp_mmu_alloc_sp(GFP_KERNEL_ACCOUNT);

		if (!sp)
			return mc->nobjs >= vcpu->kvm->root_level ? 0 : -ENOMEM;
		mc->objects[mc->nobjs++] = sp;
	}
	return 0;
}

void mmu_free_memory_cache(struct kvm_mmu_memory_cache *mc)
{
	while (mc->nobjs)
		tdp_mmu_free_sp(mc->objects[--mc->nobjs]);
}

static struct kvm_mmu_page *tdp_mmu_cache_alloc_sp(struct kvm_vcpu *vcpu)
{
	struct kvm_mmu_memory_cache *mc = &vcpu->mmu_page_cache;

	if (WARN_ON_ONCE(!mc->nobjs))
		return NULL;
	return mc->objects[--mc->nobjs];
}

/*
 * kvm->tdp_mmu_pages counts the page tables linked below the roots, as KVM
 * (6.12: tdp_account_mmu_page() is called from tdp_mmu_link_sp() only, and
 * tdp_unaccount_mmu_page() from handle_removed_pt()); roots are not counted.
 */
static void tdp_account_mmu_page(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	atomic64_inc(&kvm->tdp_mmu_pages);
}

static void tdp_unaccount_mmu_page(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	atomic64_dec(&kvm->tdp_mmu_pages);
}

/* ----------------------------------------------------------------------
 * Roots
 */

void kvm_mmu_init_tdp_mmu(struct kvm *kvm)
{
	INIT_LIST_HEAD(&kvm->tdp_mmu_roots);
	spin_lock_init(&kvm->tdp_mmu_pages_lock);
	INIT_LIST_HEAD(&kvm->possible_nx_huge_pages);
	atomic64_set(&kvm->tdp_mmu_pages, 0);
}

void kvm_tdp_mmu_put_root(struct kvm *kvm, struct kvm_mmu_page *root)
{
	if (!refcount_dec_and_test(&root->tdp_mmu_root_count))
		return;

	/* Only an invalidated (and therefore already zapped) root can die. */
	WARN_ON_ONCE(!is_invalid_root(root));

	spin_lock(&kvm->tdp_mmu_pages_lock);
	list_del_rcu(&root->link);
	spin_unlock(&kvm->tdp_mmu_pages_lock);
	call_rcu(&root->rcu_head, tdp_mmu_free_sp_rcu_callback);
}

/*
 * Returns the next root after @prev with a reference held, dropping the
 * reference on @prev.  Safe across mmu_lock drops: the caller always holds
 * a reference on the root it is working on.
 */
static struct kvm_mmu_page *tdp_mmu_next_root(struct kvm *kvm, struct kvm_mmu_page *prev,
					      int as_id, bool only_valid)
{
	struct kvm_mmu_page *next_root;

	rcu_read_lock();
	if (prev)
		next_root = list_entry_rcu(prev->link.next, struct kvm_mmu_page, link);
	else
		next_root = list_entry_rcu(kvm->tdp_mmu_roots.next, struct kvm_mmu_page, link);
	for (; !list_entry_is_head(next_root, &kvm->tdp_mmu_roots, link);
	     next_root = list_entry_rcu(next_root->link.next, struct kvm_mmu_page, link)) {
		if ((as_id < 0 || kvm_mmu_page_as_id(next_root) == as_id) &&
		    (!only_valid || !is_invalid_root(next_root)) &&
		    kvm_tdp_mmu_get_root(next_root))
			goto found;
	}
	next_root = NULL;
found:
	rcu_read_unlock();

	if (prev)
		kvm_tdp_mmu_put_root(kvm, prev);
	return next_root;
}

#define __for_each_tdp_mmu_root_yield_safe(kvm, root, as_id, only_valid)                    \
	for (root = tdp_mmu_next_root(kvm, NULL, as_id, only_valid); root;                    \
	     root = tdp_mmu_next_root(kvm, root, as_id, only_valid))
#define for_each_valid_tdp_mmu_root_yield_safe(kvm, root, as_id)                             \
	__for_each_tdp_mmu_root_yield_safe(kvm, root, as_id, true)
#define for_each_tdp_mmu_root_yield_safe(kvm, root)                                          \
	__for_each_tdp_mmu_root_yield_safe(kvm, root, -1, false)

/* No references taken: mmu_lock held for write, or RCU for lockless walks. */
#define for_each_tdp_mmu_root_rcu(kvm, root, as_id, only_valid)                              \
	list_for_each_entry_rcu(root, &kvm->tdp_mmu_roots, link)                              \
		if ((as_id >= 0 && kvm_mmu_page_as_id(root) != as_id) ||                      \
		    (only_valid && is_invalid_root(root))) {                                  \
		} else

#define tdp_root_for_each_pte(iter, kvm, root, start, end)                                   \
	for_each_tdp_pte_min_level_raw(iter, (root)->spt, kvm_mmu_page_role(root).level,      \
				       kvm_mmu_page_as_id(root), PG_LEVEL_4K, start, end)
#define for_each_tdp_pte_min_level(iter, kvm, root, min_level, start, end)                  \
	for_each_tdp_pte_min_level_raw(iter, (root)->spt, kvm_mmu_page_role(root).level,      \
				       kvm_mmu_page_as_id(root), min_level, start, end)

static gfn_t tdp_mmu_max_gfn_exclusive(struct kvm *kvm)
{
	return kvm_mmu_max_gfn(&kvm->masks) + 1;
}

/*
 * Reuses a valid root of the same role, or installs a new one; mmu_lock is
 * held for read and the new root comes from the vCPU's cache.  As
 * kvm_tdp_mmu_alloc_root() since 6.9: a lockless look first (vCPUs loading
 * a root at start-up or after a fast zap mostly find one), then, under
 * tdp_mmu_pages_lock, a second look before installing, so that vCPUs racing
 * here share one root instead of each adding its own.  Under the read lock
 * no root can be invalidated, so a valid root found under the pages lock
 * still holds the TDP MMU's reference and getting one cannot fail.
 */
int kvm_tdp_mmu_alloc_root(struct kvm_vcpu *vcpu, int as_id)
{
	struct kvm *kvm = vcpu->kvm;
	union kvm_mmu_page_role role = { .word = 0 };
	struct kvm_mmu_page *root;

	lockdep_assert_held_read(&kvm->mmu_lock);
	role.level = kvm->root_level;
	role.direct = 1;
	role.access = ACC_ALL;
	role.smm = as_id;

	rcu_read_lock();
	for_each_tdp_mmu_root_rcu(kvm, root, as_id, true)
	{
		if (root->role.word == role.word && kvm_tdp_mmu_get_root(root)) {
			rcu_read_unlock();
			goto out;
		}
	}
	rcu_read_unlock();

	spin_lock(&kvm->tdp_mmu_pages_lock);
	/* role.word includes role.invalid: only valid roots match. */
	list_for_each_entry(root, &kvm->tdp_mmu_roots, link) {
		if (root->role.word == role.word && !WARN_ON_ONCE(!kvm_tdp_mmu_get_root(root)))
			goto out_spin_unlock;
	}

	root = tdp_mmu_cache_alloc_sp(vcpu);
	if (!root) {
		spin_unlock(&kvm->tdp_mmu_pages_lock);
		return -ENOMEM;
	}
	root->role = role;
	root->gfn = 0;
	root->ptep = NULL;
	/* One reference for the vCPU, one for the TDP MMU until invalidated. */
	refcount_set(&root->tdp_mmu_root_count, 2);
	atomic64_inc(&kvm->stat.root_allocs);
	trace_kvm_mmu_get_page(root, true);
	list_add_rcu(&root->link, &kvm->tdp_mmu_roots);
out_spin_unlock:
	spin_unlock(&kvm->tdp_mmu_pages_lock);
out:
	vcpu->root[as_id] = root;
	return 0;
}

/* ----------------------------------------------------------------------
 * SPTE changes and their side effects
 */

static void handle_changed_spte(struct kvm *kvm, int as_id, gfn_t gfn, u64 old_spte,
				u64 new_spte, int level, bool shared);

/* tdp_mmu_unlink_sp(): uncount a removed table and take it off the NX list. */
static void tdp_mmu_unlink_sp(struct kvm *kvm, struct kvm_mmu_page *sp, bool shared)
{
	tdp_unaccount_mmu_page(kvm, sp);
	if (!sp->nx_huge_page_disallowed)
		return;
	if (shared)
		spin_lock(&kvm->tdp_mmu_pages_lock);
	else
		lockdep_assert_held_write(&kvm->mmu_lock);
	sp->nx_huge_page_disallowed = false;
	untrack_possible_nx_huge_page(kvm, sp);
	if (shared)
		spin_unlock(&kvm->tdp_mmu_pages_lock);
}

/*
 * Detaches the page table @pt, whose parent SPTE has already been changed,
 * freezes every child so nobody installs into it, processes the side
 * effects of each old child, and frees the table after a grace period.
 */
static void handle_removed_pt(struct kvm *kvm, tdp_ptep_t pt, bool shared)
{
	struct kvm_mmu_page *sp = sptep_to_sp(pt);
	int level = sp->role.level;
	gfn_t base_gfn = sp->gfn;
	int i;

	trace_kvm_mmu_prepare_zap_page(sp);
	tdp_mmu_unlink_sp(kvm, sp, shared);

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		tdp_ptep_t sptep = pt + i;
		gfn_t gfn = base_gfn + i * KVM_PAGES_PER_HPAGE(level);
		u64 old_spte;

		if (shared) {
			/*
			 * Another thread may be in the middle of a cmpxchg on
			 * this SPTE (it read the table before it was unlinked)
			 * and will see its cmpxchg fail; if it froze the SPTE
			 * itself, wait for it to finish.
			 */
			for (;;) {
				old_spte = kvm_tdp_mmu_write_spte_atomic(sptep, FROZEN_SPTE);
				if (!is_frozen_spte(old_spte))
					break;
				cpu_relax();
			}
		} else {
			old_spte = kvm_tdp_mmu_read_spte(sptep);
			/* A zapped-pinned leaf still holds its pin: drop it too. */
			if (!is_shadow_present_pte(old_spte) && !is_zapped_pinned_spte(old_spte))
				continue;
			/* Atomic if hardware may still set A/D: never lose a Dirty bit. */
			old_spte = kvm_tdp_mmu_write_spte(&kvm->masks, sptep, old_spte, FROZEN_SPTE,
							  level);
		}
		handle_changed_spte(kvm, kvm_mmu_page_as_id(sp), gfn, old_spte, FROZEN_SPTE,
				    level, shared);
	}
	call_rcu(&sp->rcu_head, tdp_mmu_free_sp_rcu_callback);
}

static void handle_changed_spte(struct kvm *kvm, int as_id, gfn_t gfn, u64 old_spte,
				u64 new_spte, int level, bool shared)
{
	bool was_present = is_shadow_present_pte(old_spte);
	bool is_present = is_shadow_present_pte(new_spte);
	bool was_leaf = was_present && is_last_spte(old_spte, level);
	bool is_leaf = is_present && is_last_spte(new_spte, level);
	bool pfn_changed = spte_to_pfn(old_spte) != spte_to_pfn(new_spte);

	WARN_ON_ONCE(level > PT64_ROOT_MAX_LEVEL || level < PG_LEVEL_4K);
	WARN_ON_ONCE(gfn & (KVM_PAGES_PER_HPAGE(level) - 1));

	/*
	 * A present leaf changing pfn in place means a missing MMU-notifier
	 * zap somewhere: the guest could keep using the old page.
	 */
	if (was_leaf && is_leaf && pfn_changed) {
		pr_err("as_id %d gfn %llx old_spte %llx new_spte %llx level %d\n", as_id,
		       (unsigned long long)gfn, (unsigned long long)old_spte,
		       (unsigned long long)new_spte, level);
		BUG();
	}
	if (old_spte == new_spte)
		return;

	trace_kvm_tdp_mmu_spte_changed(as_id, gfn, level, old_spte, new_spte);
	spte_check_change(&kvm->masks, old_spte, new_spte, level);
	if (is_leaf)
		check_spte_writable_invariants(&kvm->masks, new_spte);

	/*
	 * The pinned-SPTE RFC run on the TDP MMU: a pin lives as long as a
	 * leaf of its pfn holds it, present or zapped-pinned; any other new
	 * value (empty, frozen, a table, another pfn) drops it here, the one
	 * place every TDP MMU SPTE change goes through.
	 */
	if (unlikely(old_spte & SPTE_PINNED_MASK) && spte_holds_pin(old_spte) &&
	    !(spte_holds_pin(new_spte) && !pfn_changed))
		kvm->pin_ops->drop_pinned_spte(kvm, gfn, level, spte_to_pfn(old_spte));

	if (!was_present && !is_present) {
		/* Only MMIO SPTEs, freezing and pinning may change non-present values. */
		WARN_ON_ONCE(!is_mmio_spte(&kvm->masks, old_spte) &&
			     !is_mmio_spte(&kvm->masks, new_spte) && new_spte != FROZEN_SPTE &&
			     !is_zapped_pinned_spte(old_spte));
		return;
	}

	if (is_leaf != was_leaf)
		kvm_update_page_stats(kvm, level, is_leaf ? 1 : -1);

	/* v9: the page learns what the leaf drops (nothing in the 6.13 model). */
	if (was_leaf && is_dirty_spte(&kvm->masks, old_spte) &&
	    (!is_present || !is_dirty_spte(&kvm->masks, new_spte) || pfn_changed))
		kvm_spte_set_pfn_dirty(kvm, old_spte);

	if (was_present && !was_leaf && (is_leaf || !is_present || WARN_ON_ONCE(pfn_changed)))
		handle_removed_pt(kvm, spte_to_child_pt(old_spte, level), shared);

	if (was_leaf && is_accessed_spte(&kvm->masks, old_spte) &&
	    (!is_present || !is_accessed_spte(&kvm->masks, new_spte) || pfn_changed))
		kvm_spte_set_pfn_accessed(kvm, old_spte);
}

/**
 * tdp_mmu_set_spte_atomic - cmpxchg an SPTE under mmu_lock held for read
 * @kvm: the VM
 * @iter: the iterator; iter->old_spte is the value expected at iter->sptep
 * @new_spte: the new value
 *
 * Return: 0 on success (side effects processed); -EBUSY if the SPTE changed
 * since it was read, in which case iter->old_spte holds the current value.
 */
static int tdp_mmu_set_spte_atomic(struct kvm *kvm, struct tdp_iter *iter, u64 new_spte)
{
	lockdep_assert_held_read(&kvm->mmu_lock);
	WARN_ON_ONCE(iter->yielded || is_frozen_spte(iter->old_spte));

	if (!try_cmpxchg64(iter->sptep, &iter->old_spte, new_spte))
		return -EBUSY;
	handle_changed_spte(kvm, iter->as_id, iter->gfn, iter->old_spte, new_spte, iter->level,
			    true);
	return 0;
}

/* Under mmu_lock held for write; returns the value actually replaced. */
static u64 tdp_mmu_set_spte(struct kvm *kvm, int as_id, tdp_ptep_t sptep, u64 old_spte,
			    u64 new_spte, gfn_t gfn, int level)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WARN_ON_ONCE(is_frozen_spte(old_spte) || is_frozen_spte(new_spte));

	old_spte = kvm_tdp_mmu_write_spte(&kvm->masks, sptep, old_spte, new_spte, level);
	handle_changed_spte(kvm, as_id, gfn, old_spte, new_spte, level, false);
	return old_spte;
}

static void tdp_mmu_iter_set_spte(struct kvm *kvm, struct tdp_iter *iter, u64 new_spte)
{
	WARN_ON_ONCE(iter->yielded);
	iter->old_spte = tdp_mmu_set_spte(kvm, iter->as_id, iter->sptep, iter->old_spte,
					  new_spte, iter->gfn, iter->level);
}

static bool tdp_mmu_iter_need_resched(struct kvm *kvm, struct tdp_iter *iter)
{
	/* Yielding again at the same gfn would make no forward progress. */
	if (iter->next_last_level_gfn == iter->yielded_gfn)
		return false;
	return need_resched() || rwlock_needbreak(&kvm->mmu_lock);
}

/**
 * tdp_mmu_iter_cond_resched - yield mmu_lock and RCU if someone needs them
 * @kvm: the VM
 * @iter: the walk, which restarts from the root after a yield
 * @flush: a remote TLB flush is owed for changes made so far
 * @shared: mmu_lock is held for read
 *
 * Return: true if the lock was dropped; the caller must "continue" so the
 * iterator restarts (iter->yielded is set), and must treat any pending
 * flush as done.
 */
static bool __must_check tdp_mmu_iter_cond_resched(struct kvm *kvm, struct tdp_iter *iter,
						   bool flush, bool shared)
{
	KVM_MMU_WARN_ON(iter->yielded);

	if (!tdp_mmu_iter_need_resched(kvm, iter))
		return false;
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	rcu_read_unlock();
	if (shared)
		cond_resched_rwlock_read(&kvm->mmu_lock);
	else
		cond_resched_rwlock_write(&kvm->mmu_lock);
	rcu_read_lock();
	WARN_ON_ONCE(iter->gfn > iter->next_last_level_gfn);
	iter->yielded = true;
	return true;
}

/*
 * The pinned-SPTE RFC's rule for dirty logging (write protection, D
 * clearing, eager splitting): pinned leaves are not supported and are left
 * alone (the RFC WARNed; counted here, see shadow_mmu.c).
 */
static bool tdp_mmu_skip_pinned(struct kvm *kvm, u64 spte)
{
	if (likely(!(spte & SPTE_PINNED_MASK)) || !is_pinned_spte(spte))
		return false;
	atomic64_inc(&kvm->stat.pinned_sptes_skipped);
	return true;
}

/* A leaf in the table @pt of @level entries, or below, holds a pin.  Inside RCU. */
static bool tdp_mmu_table_holds_pin(tdp_ptep_t pt, int level)
{
	int i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		u64 spte = kvm_tdp_mmu_read_spte(pt + i);

		if (spte_holds_pin(spte) &&
		    (!is_shadow_present_pte(spte) || is_last_spte(spte, level)))
			return true;
		if (is_shadow_present_pte(spte) && !is_last_spte(spte, level) &&
		    tdp_mmu_table_holds_pin(spte_to_child_pt(spte, level), level - 1))
			return true;
	}
	return false;
}

/* ----------------------------------------------------------------------
 * Zapping
 */

/*
 * Zaps the leaves of [start, end).  With pinned SPTEs (kvm->pin_ops) a
 * pinned leaf becomes zapped-pinned, keeping its pin, as the RFC's
 * kvm_zap_rmapp() does; @drop_pinned (the memslot goes) drops those too.
 */
static bool tdp_mmu_zap_leafs(struct kvm *kvm, struct kvm_mmu_page *root, gfn_t start, gfn_t end,
			      bool can_yield, bool flush, bool drop_pinned)
{
	struct tdp_iter iter;

	end = min(end, tdp_mmu_max_gfn_exclusive(kvm));
	lockdep_assert_held_write(&kvm->mmu_lock);

	rcu_read_lock();
	for_each_tdp_pte_min_level(iter, kvm, root, PG_LEVEL_4K, start, end) {
		if (can_yield && tdp_mmu_iter_cond_resched(kvm, &iter, flush, false)) {
			flush = false;
			continue;
		}
		if (unlikely(is_zapped_pinned_spte(iter.old_spte)) && drop_pinned) {
			tdp_mmu_iter_set_spte(kvm, &iter, SHADOW_NONPRESENT_VALUE);
			continue;
		}
		if (!is_shadow_present_pte(iter.old_spte) || !is_last_spte(iter.old_spte, iter.level))
			continue;
		if (unlikely(is_pinned_spte(iter.old_spte)) && !drop_pinned) {
			tdp_mmu_iter_set_spte(kvm, &iter,
					      make_zapped_pinned_spte(spte_to_pfn(iter.old_spte)));
			if (kvm->pin_ops->zap_pinned_spte)
				kvm->pin_ops->zap_pinned_spte(kvm, iter.gfn, iter.level);
		} else {
			tdp_mmu_iter_set_spte(kvm, &iter, SHADOW_NONPRESENT_VALUE);
		}
		/* Invalid roots are unreachable by vCPUs: no flush needed for them. */
		if (!is_invalid_root(root))
			flush = true;
	}
	rcu_read_unlock();
	return flush;
}

/* Zaps leafs of [start, end) in all valid roots; returns whether a flush is owed. */
bool kvm_tdp_mmu_zap_leafs(struct kvm *kvm, int as_id, gfn_t start, gfn_t end, bool flush)
{
	struct kvm_mmu_page *root;

	lockdep_assert_held_write(&kvm->mmu_lock);
	for_each_valid_tdp_mmu_root_yield_safe(kvm, root, as_id)
		flush = tdp_mmu_zap_leafs(kvm, root, start, end, true, flush, false);
	return flush;
}

/* MMU notifier and memslot unmap: every root of the address space, invalid ones too. */
bool kvm_tdp_mmu_unmap_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end,
				 bool may_block, bool flush)
{
	struct kvm_mmu_page *root;

	lockdep_assert_held_write(&kvm->mmu_lock);
	__for_each_tdp_mmu_root_yield_safe(kvm, root, as_id, false)
		flush = tdp_mmu_zap_leafs(kvm, root, start, end, may_block, flush, false);
	return flush;
}

/* kvm_mmu_zap_memslot() on the TDP MMU: every leaf of @slot, pins dropped too. */
bool kvm_tdp_mmu_zap_memslot(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	struct kvm_mmu_page *root;
	bool flush = false;

	lockdep_assert_held_write(&kvm->mmu_lock);
	__for_each_tdp_mmu_root_yield_safe(kvm, root, slot->as_id, false)
		flush = tdp_mmu_zap_leafs(kvm, root, slot->base_gfn, slot->base_gfn + slot->npages,
					  true, flush, true);
	return flush;
}

static void __tdp_mmu_zap_root(struct kvm *kvm, struct kvm_mmu_page *root, bool shared,
			       int zap_level)
{
	struct tdp_iter iter;

	for_each_tdp_pte_min_level(iter, kvm, root, zap_level, 0,
				   tdp_mmu_max_gfn_exclusive(kvm)) {
retry:
		if (tdp_mmu_iter_cond_resched(kvm, &iter, false, shared))
			continue;
		if (!is_shadow_present_pte(iter.old_spte))
			continue;
		if (iter.level > zap_level)
			continue;
		if (!shared)
			tdp_mmu_iter_set_spte(kvm, &iter, SHADOW_NONPRESENT_VALUE);
		else if (tdp_mmu_set_spte_atomic(kvm, &iter, SHADOW_NONPRESENT_VALUE))
			goto retry;
	}
}

/*
 * Zaps a whole root bottom-up, level by level, so that each step frees at
 * most one table's worth of children and yielding stays effective.  In
 * prove mode the 4K and 2M passes are skipped so 1G-level teardown of
 * populated tables is exercised routinely, as CONFIG_KVM_PROVE_MMU does.
 */
static void tdp_mmu_zap_root(struct kvm *kvm, struct kvm_mmu_page *root, bool shared)
{
	kvm_lockdep_assert_mmu_lock_held(kvm, shared);

	rcu_read_lock();
#ifndef MMUSIM_PROVE
	__tdp_mmu_zap_root(kvm, root, shared, PG_LEVEL_4K);
	__tdp_mmu_zap_root(kvm, root, shared, PG_LEVEL_2M);
#endif
	__tdp_mmu_zap_root(kvm, root, shared, PG_LEVEL_1G);
	__tdp_mmu_zap_root(kvm, root, shared, root->role.level);
	rcu_read_unlock();
}

/* VM teardown and ->release: every root, no flush (nothing runs anymore). */
void kvm_tdp_mmu_zap_all(struct kvm *kvm)
{
	struct kvm_mmu_page *root;

	lockdep_assert_held_write(&kvm->mmu_lock);
	for_each_tdp_mmu_root_yield_safe(kvm, root)
		tdp_mmu_zap_root(kvm, root, false);
}

/* The "fast zap": mark every valid root invalid; vCPUs reload on next entry. */
void kvm_tdp_mmu_invalidate_roots(struct kvm *kvm)
{
	struct kvm_mmu_page *root;

	lockdep_assert_held_write(&kvm->mmu_lock);
	list_for_each_entry(root, &kvm->tdp_mmu_roots, link) {
		union kvm_mmu_page_role role = root->role;

		if (role.invalid)
			continue;
		WRITE_ONCE(root->tdp_mmu_scheduled_root_to_zap, true);
		role.invalid = 1;
		WRITE_ONCE(root->role.word, role.word);
	}
}

/* Zaps the roots scheduled by kvm_tdp_mmu_invalidate_roots() and drops the MMU's reference. */
void kvm_tdp_mmu_zap_invalidated_roots(struct kvm *kvm, bool shared)
{
	struct kvm_mmu_page *root;

	if (shared)
		read_lock(&kvm->mmu_lock);
	else
		lockdep_assert_held_write(&kvm->mmu_lock);

	for_each_tdp_mmu_root_yield_safe(kvm, root) {
		if (!xchg(&root->tdp_mmu_scheduled_root_to_zap, false))
			continue;
		WARN_ON_ONCE(!is_invalid_root(root));
		tdp_mmu_zap_root(kvm, root, shared);
		/* The iterator still holds a reference, so this cannot be the last. */
		kvm_tdp_mmu_put_root(kvm, root);
	}

	if (shared)
		read_unlock(&kvm->mmu_lock);
}

void kvm_mmu_uninit_tdp_mmu(struct kvm *kvm)
{
	/* vCPUs have dropped their roots; invalidate and zap what is left. */
	write_lock(&kvm->mmu_lock);
	kvm_tdp_mmu_invalidate_roots(kvm);
	kvm_tdp_mmu_zap_invalidated_roots(kvm, false);
	write_unlock(&kvm->mmu_lock);

	WARN_ON(atomic64_read(&kvm->tdp_mmu_pages));
	WARN_ON(!list_empty(&kvm->tdp_mmu_roots));
	rcu_barrier();
}

/* ----------------------------------------------------------------------
 * The fault path
 */

static void tdp_mmu_init_child_sp(struct kvm_mmu_page *child_sp, struct tdp_iter *iter)
{
	struct kvm_mmu_page *parent_sp = sptep_to_sp(iter->sptep);
	union kvm_mmu_page_role role = parent_sp->role;

	role.level--;
	role.invalid = 0;
	child_sp->role = role;
	child_sp->ptep = iter->sptep;
	child_sp->gfn = iter->gfn;
}

static int tdp_mmu_link_sp(struct kvm *kvm, struct tdp_iter *iter, struct kvm_mmu_page *sp,
			   bool shared)
{
	u64 spte = make_nonleaf_spte(&kvm->masks, sp->spt, !kvm->masks.ad_enabled);
	int ret = 0;

	if (shared) {
		ret = tdp_mmu_set_spte_atomic(kvm, iter, spte);
		if (ret)
			return ret;
	} else {
		tdp_mmu_iter_set_spte(kvm, iter, spte);
	}
	tdp_account_mmu_page(kvm, sp);
	return 0;
}

/*
 * Replaces the huge leaf at @iter with a table of 512 leaves mapping the
 * same memory.  The children are filled before the table is reachable, so
 * plain stores suffice; no TLB flush is needed (translations are equal).
 */
static int tdp_mmu_split_huge_page(struct kvm *kvm, struct tdp_iter *iter,
				   struct kvm_mmu_page *sp, bool shared)
{
	const u64 huge_spte = iter->old_spte;
	const int level = iter->level;
	int ret, i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		sp->spt[i] = make_small_spte(&kvm->masks, huge_spte, sp->role.level, i);

	ret = tdp_mmu_link_sp(kvm, iter, sp, shared);
	if (ret)
		goto out;

	/* The huge leaf's -1 was accounted by handle_changed_spte(). */
	kvm_update_page_stats(kvm, level - 1, SPTE_ENT_PER_PAGE);
	atomic64_inc(&kvm->stat.huge_splits);
out:
	trace_kvm_mmu_split_huge_page(iter->gfn, huge_spte, level, ret);
	return ret;
}

static bool is_access_allowed(struct kvm *kvm, struct kvm_page_fault *fault, u64 spte)
{
	if (fault->exec)
		return is_executable_pte(&kvm->masks, spte);
	if (fault->write)
		return is_writable_pte(spte);
	/* A read: the hardware R (EPT) or P (NPT) bit, cleared when access-tracked. */
	return spte & PT_PRESENT_MASK;
}

static int tdp_mmu_map_handle_target_level(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault,
					   struct tdp_iter *iter)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp = sptep_to_sp(iter->sptep);
	/* Only a pfn without a refcounted page can be host MMIO. */
	bool host_mmio = !fault->noslot && !fault->is_refcounted_page &&
			 kvm_is_mmio_pfn(kvm->host, fault->pfn);
	int ret = RET_PF_FIXED;
	bool wrprot = false, pinned = false;
	u64 new_spte;

	if (WARN_ON_ONCE(sp->role.level != fault->goal_level))
		return RET_PF_RETRY;

	if (fault->prefetch && is_shadow_present_pte(iter->old_spte))
		return RET_PF_SPURIOUS;

	/*
	 * A zapped-pinned leaf must come back with the pfn it pins (the
	 * RFC's WARN); if not, drop it, pin and all, and let the fault retry.
	 */
	if (unlikely(is_zapped_pinned_spte(iter->old_spte)) &&
	    WARN_ON_ONCE(fault->noslot || fault->pfn != spte_to_pfn(iter->old_spte))) {
		tdp_mmu_set_spte_atomic(kvm, iter, SHADOW_NONPRESENT_VALUE);
		return RET_PF_RETRY;
	}

	if (is_shadow_present_pte(iter->old_spte) && is_last_spte(iter->old_spte, iter->level) &&
	    is_access_allowed(kvm, fault, iter->old_spte))
		return RET_PF_SPURIOUS;

	if (unlikely(fault->noslot))
		new_spte = make_mmio_spte(&kvm->masks, iter->gfn, ACC_ALL,
					  kvm_memslots_generation(
						  kvm_memslots_as(&kvm->slots, fault->as_id)));
	else
		wrprot = __make_spte(&kvm->masks, iter->level, ACC_ALL, iter->gfn, fault->pfn,
				     iter->old_spte, fault->prefetch, false, fault->map_writable,
				     !kvm->masks.ad_enabled, fault->is_refcounted_page, host_mmio,
				     &new_spte);

	/* The RFC's set_spte(): a new pin for a leaf not pinned already. */
	if (unlikely(kvm->pin_ops) && !fault->noslot && !host_mmio &&
	    !(new_spte & SPTE_PINNED_MASK) && new_spte != iter->old_spte &&
	    kvm->pin_ops->pin_spte(vcpu, iter->gfn, iter->level, fault->pfn)) {
		new_spte |= SPTE_PINNED_MASK;
		pinned = true;
	}

	if (new_spte == iter->old_spte) {
		ret = RET_PF_SPURIOUS;
	} else if (tdp_mmu_set_spte_atomic(kvm, iter, new_spte)) {
		/* Lost the race: no leaf holds the pin just taken. */
		if (pinned)
			kvm->pin_ops->drop_pinned_spte(kvm, iter->gfn, iter->level, fault->pfn);
		return RET_PF_RETRY;
	} else if (unlikely(is_zapped_pinned_spte(iter->old_spte))) {
		if (kvm->pin_ops->unzap_pinned_spte)
			kvm->pin_ops->unzap_pinned_spte(kvm, iter->gfn, iter->level);
	} else if (is_shadow_present_pte(iter->old_spte) &&
		   (!is_last_spte(iter->old_spte, iter->level) ||
		    leaf_spte_change_needs_tlb_flush(&kvm->masks, iter->old_spte, new_spte)))
		kvm_flush_remote_tlbs_range(kvm, iter->gfn, KVM_PAGES_PER_HPAGE(iter->level));

	/* A writable SPTE in a dirty-logged slot: the page is dirty from now on. */
	if (fault->slot && is_writable_pte(new_spte) && kvm_slot_dirty_track_enabled(fault->slot))
		kvm_vcpu_mark_page_dirty_in_slot(vcpu, fault->slot, iter->gfn);

	if (wrprot && fault->write)
		ret = RET_PF_WRITE_PROTECTED;

	if (unlikely(is_mmio_spte(&kvm->masks, new_spte))) {
		kvm_vcpu_stat_inc(vcpu, pf_mmio_spte_created);
		trace_mark_mmio_spte(iter->sptep, iter->gfn, new_spte);
		return RET_PF_EMULATE;
	}
	trace_kvm_mmu_set_spte(&kvm->masks, iter->level, iter->gfn, iter->sptep);
	return ret;
}

/*
 * Handles a TDP page fault: walks from the vCPU's root to the goal level,
 * linking new tables (or splitting a huge page) on the way, then installs
 * the leaf.  mmu_lock is held for read; everything is cmpxchg.
 */
int kvm_tdp_mmu_map(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *root = vcpu->root[fault->as_id];
	struct tdp_iter iter;
	int ret = RET_PF_RETRY;

	lockdep_assert_held_read(&kvm->mmu_lock);
	trace_kvm_mmu_spte_requested(fault);

	rcu_read_lock();
	tdp_root_for_each_pte(iter, kvm, root, fault->gfn, fault->gfn + 1) {
		struct kvm_mmu_page *sp;
		int r;

		/* Another thread is tearing this SPTE down: retry the whole fault. */
		if (is_frozen_spte(iter.old_spte))
			goto retry;

		if (fault->nx_huge_page_workaround_enabled)
			disallowed_hugepage_adjust(fault, iter.old_spte, iter.level);

		if (iter.level == fault->goal_level)
			goto map_target_level;

		/* Step down into an existing lower-level table. */
		if (is_shadow_present_pte(iter.old_spte) && !is_large_pte(iter.old_spte))
			continue;

		/* Non-present, or a huge page that must be split to reach the goal. */
		sp = tdp_mmu_cache_alloc_sp(vcpu);
		if (!sp)
			goto retry;
		tdp_mmu_init_child_sp(sp, &iter);
		sp->nx_huge_page_disallowed = fault->huge_page_disallowed;

		if (is_shadow_present_pte(iter.old_spte))
			r = tdp_mmu_split_huge_page(kvm, &iter, sp, true);
		else
			r = tdp_mmu_link_sp(kvm, &iter, sp, true);

		/* Lost a race: give the table back and retry the fault. */
		if (r) {
			tdp_mmu_free_sp(sp);
			goto retry;
		}

		/* Only this table keeps a huge page out: NX recovery may zap it. */
		if (fault->huge_page_disallowed && fault->req_level >= iter.level) {
			spin_lock(&kvm->tdp_mmu_pages_lock);
			if (sp->nx_huge_page_disallowed)
				track_possible_nx_huge_page(kvm, sp);
			spin_unlock(&kvm->tdp_mmu_pages_lock);
		}
	}

	/* The walk ended above the goal level: the table changed under us. */
	goto retry;

map_target_level:
	ret = tdp_mmu_map_handle_target_level(vcpu, fault, &iter);
retry:
	rcu_read_unlock();
	return ret;
}

/* Lockless: the last SPTE on the path to @gfn, for fast_page_fault(). */
u64 *kvm_tdp_mmu_fast_pf_get_last_sptep(struct kvm_vcpu *vcpu, int as_id, gfn_t gfn, u64 *spte,
					int *level)
{
	struct kvm_mmu_page *root = vcpu->root[as_id];
	struct tdp_iter iter;
	tdp_ptep_t sptep = NULL;

	WARN_ON_ONCE(!rcu_read_lock_held());
	tdp_root_for_each_pte(iter, vcpu->kvm, root, gfn, gfn + 1) {
		sptep = iter.sptep;
		*spte = iter.old_spte;
		*level = iter.level;
	}
	return sptep;
}

/* ----------------------------------------------------------------------
 * Aging (lockless, RCU only) and dirty logging
 */

/*
 * Ages one young leaf without mmu_lock, as 6.15's kvm_tdp_mmu_age_spte():
 * with A/D bits, an atomic AND clears Accessed (no flush: aging tolerates
 * misses) and keeps whatever else changed meanwhile; without, a cmpxchg
 * access-tracks the SPTE, and losing that race (to a fault, a zap, or a
 * freeze) just leaves the page young.  The leaf may have been frozen since
 * it was read (its table removed); the AND then finds FROZEN_SPTE, which
 * has no Accessed bit, and leaves it intact.
 */
static void kvm_tdp_mmu_age_spte(struct kvm *kvm, struct tdp_iter *iter)
{
	u64 new_spte;

	if (spte_ad_enabled(iter->old_spte)) {
		iter->old_spte = tdp_mmu_clear_spte_bits_atomic(iter->sptep,
								kvm->masks.shadow_accessed_mask);
		new_spte = iter->old_spte & ~kvm->masks.shadow_accessed_mask;
	} else {
		/* v9: access tracking drops W, and with it the dirty state. */
		if (is_writable_pte(iter->old_spte))
			kvm_spte_set_pfn_dirty(kvm, iter->old_spte);
		new_spte = mark_spte_for_access_track(&kvm->masks, iter->old_spte);
		if (!try_cmpxchg64(iter->sptep, &iter->old_spte, new_spte))
			return;
	}
	trace_kvm_tdp_mmu_spte_changed(iter->as_id, iter->gfn, iter->level, iter->old_spte,
				       new_spte);
}

/*
 * As 6.15's __kvm_tdp_mmu_age_gfn_range(): RCU only, valid roots, present
 * leaves only (a frozen SPTE is not present, so one already frozen when read
 * is skipped).
 */
static bool age_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end, bool test_only)
{
	struct kvm_mmu_page *root;
	struct tdp_iter iter;
	bool young = false;

	rcu_read_lock();
	for_each_tdp_mmu_root_rcu(kvm, root, as_id, true) {
		tdp_root_for_each_pte(iter, kvm, root, start, end) {
			if (!is_shadow_present_pte(iter.old_spte) ||
			    !is_last_spte(iter.old_spte, iter.level) ||
			    !is_accessed_spte(&kvm->masks, iter.old_spte))
				continue;
			young = true;
			if (test_only)
				goto out;
			kvm_mmu_fault_race_point(kvm, KVM_MMU_RACE_AGE, iter.gfn);
			kvm_tdp_mmu_age_spte(kvm, &iter);
		}
	}
out:
	rcu_read_unlock();
	return young;
}

bool kvm_tdp_mmu_age_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end)
{
	return age_gfn_range(kvm, as_id, start, end, false);
}

bool kvm_tdp_mmu_test_age_gfn(struct kvm *kvm, int as_id, gfn_t start, gfn_t end)
{
	return age_gfn_range(kvm, as_id, start, end, true);
}

/*
 * Clears W (not MMU-writable) on every leaf at or above @min_level in the
 * slot, so writes fault and fast_page_fault() can restore W while marking
 * the page dirty.  mmu_lock held for read.  Returns whether a flush is owed.
 */
bool kvm_tdp_mmu_wrprot_slot(struct kvm *kvm, const struct kvm_memory_slot *slot, int min_level)
{
	gfn_t start = slot->base_gfn, end = slot->base_gfn + slot->npages;
	struct kvm_mmu_page *root;
	bool spte_set = false;

	lockdep_assert_held_read(&kvm->mmu_lock);
	for_each_valid_tdp_mmu_root_yield_safe(kvm, root, slot->as_id) {
		struct tdp_iter iter;

		rcu_read_lock();
		for_each_tdp_pte_min_level(iter, kvm, root, min_level, start, end) {
retry:
			if (tdp_mmu_iter_cond_resched(kvm, &iter, false, true))
				continue;
			if (!is_shadow_present_pte(iter.old_spte) ||
			    !is_last_spte(iter.old_spte, iter.level) ||
			    !is_writable_pte(iter.old_spte))
				continue;
			if (tdp_mmu_skip_pinned(kvm, iter.old_spte))
				continue;
			if (tdp_mmu_set_spte_atomic(kvm, &iter, iter.old_spte & ~PT_WRITABLE_MASK))
				goto retry;
			spte_set = true;
		}
		rcu_read_unlock();
	}
	return spte_set;
}

/*
 * Removes W and MMU-writable from the leaves mapping @gfn at @min_level and
 * above (kvm_tdp_mmu_write_protect_gfn()), so the next write takes the slow
 * path; with dirty logging on, that fault maps 4K and splits the huge leaf.
 * mmu_lock held for write.  Returns whether a flush is owed.
 */
bool kvm_tdp_mmu_write_protect_gfn(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
				   int min_level)
{
	u64 clear = PT_WRITABLE_MASK | kvm->masks.shadow_mmu_writable_mask;
	struct kvm_mmu_page *root;
	bool spte_set = false;

	lockdep_assert_held_write(&kvm->mmu_lock);
	rcu_read_lock();
	for_each_tdp_mmu_root_rcu(kvm, root, slot->as_id, true) {
		struct tdp_iter iter;

		for_each_tdp_pte_min_level(iter, kvm, root, min_level, gfn, gfn + 1) {
			if (!is_shadow_present_pte(iter.old_spte) ||
			    !is_last_spte(iter.old_spte, iter.level))
				continue;
			if (tdp_mmu_skip_pinned(kvm, iter.old_spte))
				break;
			if (!(iter.old_spte & clear))
				break;
			tdp_mmu_iter_set_spte(kvm, &iter, iter.old_spte & ~clear);
			spte_set = true;
		}
	}
	rcu_read_unlock();
	return spte_set;
}

/*
 * Clears the dirty status of the 4K leafs of @slot whose bit is set in
 * @mask (bit i is gfn + i): the dirty-log harvest re-arms logging for the
 * pages it reaped.  mmu_lock held for write.  The dirty "bit" is W when
 * write-protecting (@wrprot, or no A/D bits), else D.  As 6.12's
 * clear_dirty_pt_masked(): one bit is cleared with tdp_mmu_clear_spte_bits()
 * -- an atomic AND when lockless paths may change the SPTE meanwhile, so
 * what they did (aging access-tracking it, the CPU setting D) is kept --
 * and no other side effect is due (leaf-ness, pfn and MMU-writable stay).
 * 6.12 (and v9, for refcounted leaves) also marks the pfn dirty here;
 * from 6.13 KVM no longer dirties folios from SPTEs, and neither does the
 * 6.13 model (host A/D is left to the fault).
 */
static void clear_dirty_pt_masked(struct kvm *kvm, struct kvm_mmu_page *root, gfn_t gfn,
				  unsigned long mask, bool wrprot)
{
	const u64 dbit = (wrprot || !kvm->masks.ad_enabled) ? PT_WRITABLE_MASK :
							      kvm->masks.shadow_dirty_mask;
	struct tdp_iter iter;

	tdp_root_for_each_pte(iter, kvm, root, gfn + __ffs(mask), gfn + BITS_PER_LONG) {
		if (!mask)
			break;
		if (!is_shadow_present_pte(iter.old_spte) ||
		    !is_last_spte(iter.old_spte, iter.level))
			continue;
		if (iter.level > PG_LEVEL_4K || !(mask & (1UL << (iter.gfn - gfn))))
			continue;
		mask &= ~(1UL << (iter.gfn - gfn));
		if (!(iter.old_spte & dbit) || tdp_mmu_skip_pinned(kvm, iter.old_spte))
			continue;
		kvm_mmu_fault_race_point(kvm, KVM_MMU_RACE_HARVEST, iter.gfn);
		iter.old_spte = tdp_mmu_clear_spte_bits(&kvm->masks, iter.sptep, iter.old_spte,
							dbit, iter.level);
		/* No handle_changed_spte(), as KVM; the checker still sees the change. */
		trace_kvm_tdp_mmu_spte_changed(iter.as_id, iter.gfn, iter.level, iter.old_spte,
					       iter.old_spte & ~dbit);
		spte_check_change(&kvm->masks, iter.old_spte, iter.old_spte & ~dbit, iter.level);
		kvm_spte_set_pfn_dirty(kvm, iter.old_spte);
	}
}

/*
 * clear_dirty_gfn_range() (6.12): PML-mode logging starts by clearing D on
 * every leaf of the slot, so the CPU logs the next write to each page.
 * mmu_lock for read: cmpxchg, retried on a racing change.
 */
static bool clear_dirty_gfn_range(struct kvm *kvm, struct kvm_mmu_page *root, gfn_t start,
				  gfn_t end)
{
	const u64 dbit = kvm->masks.shadow_dirty_mask;
	struct tdp_iter iter;
	bool spte_set = false;

	rcu_read_lock();
	tdp_root_for_each_pte(iter, kvm, root, start, end) {
retry:
		if (tdp_mmu_iter_cond_resched(kvm, &iter, false, true))
			continue;
		if (!is_shadow_present_pte(iter.old_spte) || !is_last_spte(iter.old_spte, iter.level))
			continue;
		if (!(iter.old_spte & dbit) || tdp_mmu_skip_pinned(kvm, iter.old_spte))
			continue;
		if (tdp_mmu_set_spte_atomic(kvm, &iter, iter.old_spte & ~dbit))
			goto retry;
		spte_set = true;
	}
	rcu_read_unlock();
	return spte_set;
}

bool kvm_tdp_mmu_clear_dirty_slot(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	struct kvm_mmu_page *root;
	bool spte_set = false;

	lockdep_assert_held_read(&kvm->mmu_lock);
	for_each_valid_tdp_mmu_root_yield_safe(kvm, root, slot->as_id)
		spte_set |= clear_dirty_gfn_range(kvm, root, slot->base_gfn,
						  slot->base_gfn + slot->npages);
	return spte_set;
}

void kvm_tdp_mmu_clear_dirty_pt_masked(struct kvm *kvm, struct kvm_memory_slot *slot, gfn_t gfn,
				       unsigned long mask, bool wrprot)
{
	struct kvm_mmu_page *root;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (!mask)
		return;
	rcu_read_lock();
	for_each_tdp_mmu_root_rcu(kvm, root, slot->as_id, true)
		clear_dirty_pt_masked(kvm, root, gfn, mask, wrprot);
	rcu_read_unlock();
}

/* ----------------------------------------------------------------------
 * Eager page splitting
 */

/*
 * Splits every huge leaf of @root in [start, end) above @target_level, one
 * level at a time (the pre-order walk visits each new table's entries right
 * after linking it, so a 1G leaf becomes 2M leaves and then 4K ones).  As
 * 6.12, the table for the next split is allocated with mmu_lock dropped,
 * GFP_KERNEL_ACCOUNT, and the walk restarts from the root afterwards; a
 * failed allocation ends the split with -ENOMEM (the caller carries on:
 * write-protection or faults handle what stays huge).  A split that loses
 * its cmpxchg to a racing fault retries on the fresh value.
 */
static int tdp_mmu_split_huge_pages_root(struct kvm *kvm, struct kvm_mmu_page *root,
					 gfn_t start, gfn_t end, int target_level, bool shared)
{
	struct kvm_mmu_page *sp = NULL;
	struct tdp_iter iter;

	rcu_read_lock();
	for_each_tdp_pte_min_level(iter, kvm, root, target_level + 1, start, end) {
retry:
		if (tdp_mmu_iter_cond_resched(kvm, &iter, false, shared))
			continue;
		if (!is_shadow_present_pte(iter.old_spte) || !is_large_pte(iter.old_spte))
			continue;
		if (tdp_mmu_skip_pinned(kvm, iter.old_spte))
			continue;

		if (!sp) {
			rcu_read_unlock();
			if (shared)
				read_unlock(&kvm->mmu_lock);
			else
				write_unlock(&kvm->mmu_lock);
			sp = tdp_mmu_alloc_sp(GFP_KERNEL_ACCOUNT);
			if (shared)
				read_lock(&kvm->mmu_lock);
			else
				write_lock(&kvm->mmu_lock);
			if (!sp) {
				trace_kvm_mmu_split_huge_page(iter.gfn, iter.old_spte, iter.level,
							      -ENOMEM);
				return -ENOMEM;
			}
			rcu_read_lock();
			iter.yielded = true;
			continue;
		}

		tdp_mmu_init_child_sp(sp, &iter);
		if (tdp_mmu_split_huge_page(kvm, &iter, sp, shared))
			goto retry;
		sp = NULL;
	}
	rcu_read_unlock();

	/* A racing fault (an NX split, say) may have taken the last one's place. */
	if (sp)
		tdp_mmu_free_sp(sp);
	return 0;
}

void kvm_tdp_mmu_try_split_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot,
				      gfn_t start, gfn_t end, int target_level, bool shared)
{
	struct kvm_mmu_page *root;
	int r;

	kvm_lockdep_assert_mmu_lock_held(kvm, shared);
	for_each_valid_tdp_mmu_root_yield_safe(kvm, root, slot->as_id) {
		r = tdp_mmu_split_huge_pages_root(kvm, root, start, end, target_level, shared);
		if (r) {
			kvm_tdp_mmu_put_root(kvm, root);
			break;
		}
	}
}

/*
 * kvm_tdp_mmu_zap_sp(): zap the table @sp through its parent SPTE, for NX
 * recovery; mmu_lock for write and RCU held.  Returns whether a flush is due.
 */
bool kvm_tdp_mmu_zap_sp(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	u64 old_spte;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (WARN_ON_ONCE(!sp->ptep))
		return false;
	old_spte = kvm_tdp_mmu_read_spte(sp->ptep);
	if (WARN_ON_ONCE(!is_shadow_present_pte(old_spte)))
		return false;
	tdp_mmu_set_spte(kvm, kvm_mmu_page_as_id(sp), sp->ptep, old_spte, SHADOW_NONPRESENT_VALUE,
			 sp->gfn, sp->role.level + 1);
	return true;
}

/* ----------------------------------------------------------------------
 * Huge pages after dirty logging
 */

/* The first present leaf in the table @pt of @level entries, or below it. */
static bool tdp_mmu_first_leaf(tdp_ptep_t pt, int level, u64 *leaf)
{
	int i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
		u64 spte = kvm_tdp_mmu_read_spte(pt + i);

		if (!is_shadow_present_pte(spte))
			continue;
		if (is_last_spte(spte, level)) {
			*leaf = spte;
			return true;
		}
		if (tdp_mmu_first_leaf(spte_to_child_pt(spte, level), level - 1, leaf))
			return true;
	}
	return false;
}

/*
 * kvm_tdp_mmu_make_huge_spte() (6.13): the huge leaf that can replace the
 * table @parent points to, built from any present leaf below it (all map
 * the same huge host page, or the host level check would have failed).
 * -EAGAIN if mmu_lock must be yielded first (checked on the parent
 * iterator, so the caller makes progress), -ENOENT if the table holds no
 * leaf.  Inside RCU.
 */
static int tdp_mmu_make_huge_spte(struct kvm *kvm, struct tdp_iter *parent, u64 *huge_spte)
{
	u64 leaf;

	if (tdp_mmu_iter_need_resched(kvm, parent))
		return -EAGAIN;
	if (!tdp_mmu_first_leaf(spte_to_child_pt(parent->old_spte, parent->level),
				parent->level - 1, &leaf))
		return -ENOENT;
	*huge_spte = make_huge_spte(&kvm->masks, leaf, parent->level);
	return 0;
}

/*
 * tdp_mmu_zap_spte_atomic() (6.12): freeze, flush, then clear, so that no
 * fault installs a new SPTE while a vCPU may still use the old translation.
 */
static int tdp_mmu_zap_spte_atomic(struct kvm *kvm, struct tdp_iter *iter)
{
	lockdep_assert_held_read(&kvm->mmu_lock);
	if (!try_cmpxchg64(iter->sptep, &iter->old_spte, FROZEN_SPTE))
		return -EBUSY;
	kvm_flush_remote_tlbs(kvm);
	/* Nobody overwrites a frozen SPTE: the side effects come last, as 6.12. */
	__kvm_tdp_mmu_write_spte(iter->sptep, SHADOW_NONPRESENT_VALUE);
	handle_changed_spte(kvm, iter->as_id, iter->gfn, iter->old_spte, SHADOW_NONPRESENT_VALUE,
			    iter->level, true);
	return 0;
}

/*
 * Every table of @slot at 2M or 1G whose gfn range could be one huge page
 * (host mapping and lpage_info allow the level): 6.13 replaces it in place
 * with the huge leaf (recover_huge_pages_range()); 6.12 zaps it so the
 * next fault maps huge (zap_collapsible_spte_range()).  mmu_lock for read.
 */
static void tdp_mmu_recover_huge_pages_root(struct kvm *kvm, struct kvm_mmu_page *root,
					    const struct kvm_memory_slot *slot, bool in_place)
{
	gfn_t start = slot->base_gfn, end = start + slot->npages;
	struct tdp_iter iter;
	bool flush = false;
	u64 huge_spte;
	int r;

	if (WARN_ON_ONCE(kvm_slot_dirty_track_enabled(slot)))
		return;
	rcu_read_lock();
	for_each_tdp_pte_min_level(iter, kvm, root, PG_LEVEL_2M, start, end) {
retry:
		if (tdp_mmu_iter_cond_resched(kvm, &iter, flush, true)) {
			flush = false;
			continue;
		}
		if (iter.level > KVM_MAX_HUGEPAGE_LEVEL || !is_shadow_present_pte(iter.old_spte) ||
		    is_last_spte(iter.old_spte, iter.level))
			continue;
		/* A huge page overlapping the slot's edge cannot be mapped huge. */
		if (iter.gfn < start || iter.gfn >= end)
			continue;
		if (kvm_mmu_max_mapping_level(kvm, slot, iter.gfn, KVM_MAX_HUGEPAGE_LEVEL) < iter.level)
			continue;
		/* Collapsing would drop the pins below: left alone, as the RFC's. */
		if (unlikely(kvm->pin_ops) &&
		    tdp_mmu_table_holds_pin(spte_to_child_pt(iter.old_spte, iter.level),
					    iter.level - 1)) {
			atomic64_inc(&kvm->stat.pinned_sptes_skipped);
			continue;
		}

		if (!in_place) {
			if (tdp_mmu_zap_spte_atomic(kvm, &iter))
				goto retry;
			continue;
		}
		r = tdp_mmu_make_huge_spte(kvm, &iter, &huge_spte);
		if (r == -EAGAIN)
			goto retry;
		if (r)
			continue;
		if (tdp_mmu_set_spte_atomic(kvm, &iter, huge_spte))
			goto retry;
		atomic64_inc(&kvm->stat.huge_recoveries);
		flush = true;
	}
	if (flush)
		kvm_flush_remote_tlbs(kvm);
	rcu_read_unlock();
}

void kvm_tdp_mmu_recover_huge_pages(struct kvm *kvm, const struct kvm_memory_slot *slot,
				    bool in_place)
{
	struct kvm_mmu_page *root;

	lockdep_assert_held_read(&kvm->mmu_lock);
	for_each_valid_tdp_mmu_root_yield_safe(kvm, root, slot->as_id)
		tdp_mmu_recover_huge_pages_root(kvm, root, slot, in_place);
}

/* ----------------------------------------------------------------------
 * Walks for the checker and the dump
 */

int kvm_tdp_mmu_for_each_leaf(struct kvm *kvm, struct kvm_tdp_mmu_walk_cb *cb)
{
	struct kvm_mmu_page *root;
	struct tdp_iter iter;
	int ret = 0;

	/* Invalid roots too: their leaves still count in the stats until zapped. */
	rcu_read_lock();
	for_each_tdp_mmu_root_rcu(kvm, root, -1, false) {
		tdp_root_for_each_pte(iter, kvm, root, 0, tdp_mmu_max_gfn_exclusive(kvm)) {
			if (!is_shadow_present_pte(iter.old_spte) ||
			    !is_last_spte(iter.old_spte, iter.level))
				continue;
			ret = cb->leaf(cb, iter.as_id, iter.gfn, iter.old_spte, iter.level,
				       is_invalid_root(root));
			if (ret)
				goto out;
		}
	}
out:
	rcu_read_unlock();
	return ret;
}

static const char *const level_name[] = { "?", "4K", "2M", "1G", "512G", "256T" };

/*
 * Writes a readable tree of every valid root into @buf: one line per
 * present SPTE, indented by depth; runs of 4K leaves at consecutive gfns
 * are folded into one line (first pfn shown) to keep dumps short.
 */
int kvm_tdp_mmu_dump(struct kvm *kvm, char *buf, size_t size)
{
	struct kvm_mmu_page *root;
	struct tdp_iter iter;
	size_t n = 0;
	gfn_t run_gfn = 0, run_len = 0;
	kvm_pfn_t run_pfn = 0;

#define DUMP(...) (n += scnprintf(buf + n, size - n, __VA_ARGS__))
#define FLUSH_RUN()                                                                          \
	do {                                                                                 \
		if (run_len)                                                                 \
			DUMP("%*s4K gfn %#llx..%#llx -> pfn %#llx,... (%llu pages)\n",      \
			     2 * (kvm->root_level - 1), "", (unsigned long long)run_gfn,        \
			     (unsigned long long)(run_gfn + run_len - 1),                    \
			     (unsigned long long)run_pfn, (unsigned long long)run_len);      \
		run_len = 0;                                                                 \
	} while (0)

	if (!size)
		return 0;
	buf[0] = '\0';
	read_lock(&kvm->mmu_lock);
	rcu_read_lock();
	for_each_tdp_mmu_root_rcu(kvm, root, -1, true) {
		DUMP("root as_id %d level %d refs %u\n", kvm_mmu_page_as_id(root), root->role.level,
		     refcount_read(&root->tdp_mmu_root_count));
		tdp_root_for_each_pte(iter, kvm, root, 0, tdp_mmu_max_gfn_exclusive(kvm)) {
			bool leaf = is_last_spte(iter.old_spte, iter.level);

			if (!is_shadow_present_pte(iter.old_spte))
				continue;
			if (leaf && iter.level == PG_LEVEL_4K && run_len &&
			    iter.gfn == run_gfn + run_len) {
				run_len++;
				continue;
			}
			FLUSH_RUN();
			if (leaf && iter.level == PG_LEVEL_4K) {
				run_gfn = iter.gfn;
				run_pfn = spte_to_pfn(iter.old_spte);
				run_len = 1;
				continue;
			}
			DUMP("%*s%s gfn %#llx %s spte %#llx\n", 2 * (root->role.level - iter.level),
			     "", level_name[iter.level], (unsigned long long)iter.gfn,
			     leaf ? "leaf" : "table", (unsigned long long)iter.old_spte);
		}
		FLUSH_RUN();
	}
	rcu_read_unlock();
	read_unlock(&kvm->mmu_lock);
#undef DUMP
#undef FLUSH_RUN
	return (int)n;
}
