// SPDX-License-Identifier: GPL-2.0-only
/*
 * tdp_iter: pre-order iteration over a TDP paging structure
 * (arch/x86/kvm/mmu/tdp_iter.c).
 *
 * What it does: visits every SPTE on the way from the root to the gfns of a
 * range, in address order, parents before children.  From the current SPTE
 * the next one is found by (1) stepping down into the child table if the
 * SPTE is a present non-leaf above min_level, else (2) stepping to the next
 * SPTE of the same table, else (3) stepping up and then sideways again,
 * until the root table is exhausted.
 *
 * Rules:
 *  1. Callers hold rcu_read_lock() for the whole walk: tables unlinked by a
 *     concurrent zap stay readable until a grace period has passed.
 *  2. The SPTE is read again just before stepping down: iter->old_spte may
 *     be stale (another thread may have zapped the entry), and following a
 *     stale link would walk a table that is no longer part of the tree.
 *     A walk may still visit a table after it was unlinked, if it got there
 *     first; writers cope by cmpxchg against old_spte (shared mmu_lock) or
 *     because they hold mmu_lock for write.
 *  3. After a yield (iter->yielded) pt_path may name freed tables, so the
 *     next step restarts from the root toward next_last_level_gfn.
 *  4. Nothing here takes a lock or allocates.
 */
#include "mmusim_env.h"
#include "mmu/tdp_iter.h"

/* Point sptep at the entry for iter->gfn in the table of iter->level and read it. */
static void tdp_iter_refresh_sptep(struct tdp_iter *iter)
{
	iter->sptep = iter->pt_path[iter->level - 1] +
		      SPTE_INDEX(iter->gfn << PAGE_SHIFT, iter->level);
	iter->old_spte = kvm_tdp_mmu_read_spte(iter->sptep);
}

void tdp_iter_restart(struct tdp_iter *iter)
{
	iter->yielded = false;
	iter->yielded_gfn = iter->next_last_level_gfn;
	iter->level = iter->root_level;

	iter->gfn = gfn_round_for_level(iter->next_last_level_gfn, iter->level);
	tdp_iter_refresh_sptep(iter);

	iter->valid = true;
}

void tdp_iter_start(struct tdp_iter *iter, u64 *root_pt, int root_level, int as_id,
		    int min_level, gfn_t next_last_level_gfn)
{
	iter->valid = false;
	iter->yielded = false;

	/* TDP roots are 4- or 5-level; anything else is a caller bug. */
	if (WARN_ON_ONCE(!root_pt || (root_level != PT64_ROOT_4LEVEL &&
				      root_level != PT64_ROOT_5LEVEL) ||
			 min_level < PG_LEVEL_4K || min_level > root_level))
		return;

	/*
	 * A root of level L maps 2^(9 * L) gfns.  KVM's callers clamp their
	 * ranges to kvm_mmu_max_gfn(), so they never start past that; here a
	 * start beyond the root's reach gives an empty walk rather than one
	 * whose table indices silently wrap around.
	 */
	if (next_last_level_gfn >> (SPTE_LEVEL_BITS * root_level))
		return;

	iter->next_last_level_gfn = next_last_level_gfn;
	iter->yielded_gfn = next_last_level_gfn;
	iter->root_level = root_level;
	iter->min_level = min_level;
	iter->pt_path[iter->root_level - 1] = (tdp_ptep_t)root_pt;
	iter->as_id = as_id;

	tdp_iter_restart(iter);
}

/* Descend into the table the current SPTE points to, if any (and allowed). */
static bool try_step_down(struct tdp_iter *iter)
{
	tdp_ptep_t child_pt;

	if (iter->level == iter->min_level)
		return false;

	/* Rule 2: never follow a link that may have been zapped meanwhile. */
	iter->old_spte = kvm_tdp_mmu_read_spte(iter->sptep);

	child_pt = spte_to_child_pt(iter->old_spte, iter->level);
	if (!child_pt)
		return false;

	iter->level--;
	iter->pt_path[iter->level - 1] = child_pt;
	iter->gfn = gfn_round_for_level(iter->next_last_level_gfn, iter->level);
	tdp_iter_refresh_sptep(iter);

	return true;
}

/* Move to the next SPTE of the current table; false at its last entry. */
static bool try_step_side(struct tdp_iter *iter)
{
	if (SPTE_INDEX(iter->gfn << PAGE_SHIFT, iter->level) == SPTE_ENT_PER_PAGE - 1)
		return false;

	iter->gfn += KVM_PAGES_PER_HPAGE(iter->level);
	iter->next_last_level_gfn = iter->gfn;
	iter->sptep++;
	iter->old_spte = kvm_tdp_mmu_read_spte(iter->sptep);

	return true;
}

/*
 * Go back to the parent SPTE (already visited, so the caller steps sideways
 * next); false at the root.
 */
static bool try_step_up(struct tdp_iter *iter)
{
	if (iter->level == iter->root_level)
		return false;

	iter->level++;
	iter->gfn = gfn_round_for_level(iter->gfn, iter->level);
	tdp_iter_refresh_sptep(iter);

	return true;
}

void tdp_iter_next(struct tdp_iter *iter)
{
	if (iter->yielded) {
		tdp_iter_restart(iter);
		return;
	}

	if (try_step_down(iter))
		return;

	do {
		if (try_step_side(iter))
			return;
	} while (try_step_up(iter));

	iter->valid = false;
}
