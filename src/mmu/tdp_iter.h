/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tdp_iter: a pre-order walk over one TDP paging structure, and the helpers
 * that read and write SPTEs through it (arch/x86/kvm/mmu/tdp_iter.h).
 *
 * The walk is lockless with respect to the page tables: tables are freed
 * through call_rcu() once unlinked, so every read of an SPTE through a
 * tdp_ptep_t, and therefore every iteration, must run inside
 * rcu_read_lock() (the userspace seam WARNs otherwise).  Whether mmu_lock
 * is held, and how, is the caller's business; the write helpers document
 * what they assume.
 */
#ifndef _MMUSIM_MMU_TDP_ITER_H
#define _MMUSIM_MMU_TDP_ITER_H

#include "mmusim_env.h"
#include "mmu/spte.h"

/*
 * Read an SPTE once, with RCU protecting the table it lives in.
 *
 * Note, KVM uses READ_ONCE(): a walker that reads a freshly linked non-leaf
 * SPTE then sees the child table's initial contents thanks to the address
 * dependency (and x86's ordering).  C11, and so TSan, only know acquire for
 * that; on x86 an acquire load is the same plain load.  The matching stores
 * are the atomic exchanges (full barriers) and the release store below.
 */
static inline u64 kvm_tdp_mmu_read_spte(tdp_ptep_t sptep)
{
	return smp_load_acquire(rcu_dereference(sptep));
}

/* Exchange an SPTE; returns the value it held. */
static inline u64 kvm_tdp_mmu_write_spte_atomic(tdp_ptep_t sptep, u64 new_spte)
{
	return xchg(rcu_dereference(sptep), new_spte);
}

/* Clear @mask in an SPTE atomically; returns the value it held. */
static inline u64 tdp_mmu_clear_spte_bits_atomic(tdp_ptep_t sptep, u64 mask)
{
	atomic64_t *sptep_atomic = (atomic64_t *)rcu_dereference(sptep);

	return (u64)atomic64_fetch_andnot((s64)mask, sptep_atomic);
}

/*
 * Plain store (KVM: WRITE_ONCE()): only for SPTEs nobody can change behind
 * our back.  A release store, because it may publish a new child table to
 * lockless walkers (see kvm_tdp_mmu_read_spte()); same instruction on x86.
 */
static inline void __kvm_tdp_mmu_write_spte(tdp_ptep_t sptep, u64 new_spte)
{
	smp_store_release(rcu_dereference(sptep), new_spte);
}

/*
 * Does a store over @old_spte have to be an atomic exchange?  Only present
 * leaves have bits that change without mmu_lock (fast page fault, the CPU's
 * A/D updates, lockless aging); see spte_needs_atomic_update().
 */
static inline bool kvm_tdp_mmu_spte_need_atomic_update(const struct kvm_mmu_masks *m,
						       u64 old_spte, int level)
{
	return is_shadow_present_pte(old_spte) && is_last_spte(old_spte, level) &&
	       spte_needs_atomic_update(m, old_spte);
}

/**
 * kvm_tdp_mmu_write_spte() - store an SPTE while holding mmu_lock for write.
 * @m:		the VM's masks
 * @sptep:	the SPTE
 * @old_spte:	the value the caller believes is there
 * @new_spte:	the value to store
 * @level:	the SPTE's level
 *
 * mmu_lock held for write excludes every other writer except the lockless
 * ones (fast page fault, the CPU setting A/D, lockless aging), which only
 * touch present leaves with volatile bits.  Those are exchanged so that a
 * bit set meanwhile (e.g. Dirty) is returned to the caller, not lost.
 *
 * Return: the value actually replaced (@old_spte if the store was plain).
 */
static inline u64 kvm_tdp_mmu_write_spte(const struct kvm_mmu_masks *m, tdp_ptep_t sptep,
					 u64 old_spte, u64 new_spte, int level)
{
	KVM_MMU_WARN_ON(is_ept_ve_possible(m, new_spte));

	if (kvm_tdp_mmu_spte_need_atomic_update(m, old_spte, level))
		return kvm_tdp_mmu_write_spte_atomic(sptep, new_spte);

	__kvm_tdp_mmu_write_spte(sptep, new_spte);
	return old_spte;
}

/* Clear @mask in an SPTE under mmu_lock (write), atomically if it has to be. */
static inline u64 tdp_mmu_clear_spte_bits(const struct kvm_mmu_masks *m, tdp_ptep_t sptep,
					  u64 old_spte, u64 mask, int level)
{
	if (kvm_tdp_mmu_spte_need_atomic_update(m, old_spte, level))
		return tdp_mmu_clear_spte_bits_atomic(sptep, mask);

	__kvm_tdp_mmu_write_spte(sptep, old_spte & ~mask);
	return old_spte;
}

/*
 * The table a present non-leaf SPTE at @level points to, or NULL if @spte
 * is not present or is a leaf.
 */
static inline tdp_ptep_t spte_to_child_pt(u64 spte, int level)
{
	if (!is_shadow_present_pte(spte) || is_last_spte(spte, level))
		return NULL;

	return (tdp_ptep_t)__va(spte_to_pfn(spte) << PAGE_SHIFT);
}

/*
 * A walk over the SPTEs of one root, in pre-order: a non-leaf SPTE is
 * visited, then its table, then the SPTE after it.
 */
struct tdp_iter {
	/*
	 * The gfn the walk is heading for: the start gfn, then the gfn of each
	 * SPTE reached by stepping sideways.  A restart walks from the root
	 * back down to it.
	 */
	gfn_t next_last_level_gfn;
	/*
	 * next_last_level_gfn when the walk last (re)started; yielding is only
	 * allowed once they differ, so every yield makes forward progress.
	 */
	gfn_t yielded_gfn;
	/* The table at each level of the current path: pt_path[level - 1]. */
	tdp_ptep_t pt_path[PT64_ROOT_MAX_LEVEL];
	/* The current SPTE. */
	tdp_ptep_t sptep;
	/* The first gfn the current SPTE maps (aligned to level). */
	gfn_t gfn;
	/* Level of the root table: 4 or 5. */
	int root_level;
	/* The walk does not descend below this level. */
	int min_level;
	/* Level of the current SPTE. */
	int level;
	/* Address space of the root (0 normal, 1 SMM). */
	int as_id;
	/*
	 * Snapshot of *sptep taken when the iterator arrived (and refreshed by
	 * a failed cmpxchg in the TDP MMU); the expected value for updates.
	 */
	u64 old_spte;
	/* False once the walk has run past the last SPTE (or failed to start). */
	bool valid;
	/*
	 * Set when the walker dropped mmu_lock (or RCU): the tables may have
	 * changed, so the next tdp_iter_next() restarts from the root toward
	 * next_last_level_gfn instead of trusting pt_path.
	 */
	bool yielded;
};

/*
 * Start a walk of the table @root_pt of level @root_level (4 or 5) in
 * address space @as_id, descending no lower than @min_level, at the first
 * SPTE on the path to @next_last_level_gfn.  A bad root or min level WARNs
 * and leaves the iterator invalid; a start gfn beyond what the root maps
 * gives an empty walk.
 */
void tdp_iter_start(struct tdp_iter *iter, u64 *root_pt, int root_level, int as_id,
		    int min_level, gfn_t next_last_level_gfn);
/* Step to the next SPTE in pre-order; clears iter->valid at the end. */
void tdp_iter_next(struct tdp_iter *iter);
/* Go back to the root and walk down toward next_last_level_gfn again. */
void tdp_iter_restart(struct tdp_iter *iter);

/*
 * Iterate over the SPTEs of a root that cover [start, end), descending no
 * lower than min_level.  The first SPTEs visited may begin before @start
 * (the walk comes down from the root, and a huge SPTE containing @start
 * begins below it).  Runs inside rcu_read_lock().
 */
#define for_each_tdp_pte_min_level_raw(iter, root_pt, root_level, as_id, min_level, start, end) \
	for (tdp_iter_start(&(iter), root_pt, root_level, as_id, min_level, start);           \
	     (iter).valid && (iter).gfn < (end);                                               \
	     tdp_iter_next(&(iter)))

#define for_each_tdp_pte_raw(iter, root_pt, root_level, as_id, start, end) \
	for_each_tdp_pte_min_level_raw(iter, root_pt, root_level, as_id, PG_LEVEL_4K, start, end)

#endif /* _MMUSIM_MMU_TDP_ITER_H */
