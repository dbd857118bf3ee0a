// SPDX-License-Identifier: GPL-2.0-only
/*
 * MMU notifiers of the host mm: how a secondary MMU (KVM) learns that host
 * translations change, and the mm's own invalidation sequence.
 *
 * Delivery (see the protocol in mm.c):
 *  - invalidate_range_start(range) before any entry of [start, end) changes,
 *    invalidate_range_end(range) after the change; frames unmapped inside
 *    the pair are freed only after start returned (in practice after end).
 *    Pairs may nest or overlap (MADV_DONTNEED and migration hold mmap_lock
 *    only for read, so several run at once).
 *  - change_pte only inside a pair covering the address.
 *  - clear_young/test_young from aging, outside any pair.
 *  - release once, from sim_mm_destroy() after the last UNMAP pair, or from
 *    sim_mmu_notifier_unregister() if the mm still lives (as Linux's
 *    mmu_notifier_unregister() calls ->release itself).
 *
 * Rules:
 *  1. Callbacks run with mmap_lock held by the caller of the host event and
 *     never under a page-table lock or any spinning lock: they may sleep (and
 *     KVM takes mmu_lock in them).  They must not call back into anything
 *     that takes mmap_lock (GUP, sim_mm_touch, mmap...).
 *  2. The list changes under notifier_lock and is walked under
 *     notifier_srcu, so a callback may sleep while unregister waits for it
 *     with synchronize_srcu().
 *  3. A registration holds a reference on the mm (mmgrab); unregister drops
 *     it, after which the notifier may be freed.
 *
 * The invalidation sequence (mmu_interval_notifier's scheme, one per mm):
 * inv_seq is odd while at least one invalidation is active, and moves to odd
 * in start before any callback and any entry change, and to even in end
 * after all of them.  A lockless reader does
 *
 *	seq = sim_mm_invalidate_read_begin(mm);	   waits while odd
 *	sim_mm_lookup(mm, addr, &info);		   entries read with acquire
 *	... take the reader's lock ...
 *	if (sim_mm_invalidate_read_retry(mm, seq)) retry;
 *
 * If the lookup saw an entry changed by an invalidation, the entry store
 * (release) came after the sequence went odd, so the retry check sees the
 * sequence changed.  If retry says no, no invalidation started since
 * read_begin: the PFN the lookup returned is still what the host maps, and
 * stays so until the next invalidation's start, which the reader's lock
 * orders against its own use of the PFN.
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

static_assert(sizeof(((struct sim_mmu_notifier *)0)->list_node) == sizeof(struct list_head),
	      "the host-private list node holds a struct list_head");

static struct list_head *sub_node(struct sim_mmu_notifier *sub)
{
	return (struct list_head *)sub->list_node;
}

/* Unlinked (or never linked) subscriptions have a NULL prev, as hlist_unhashed(). */
static bool sub_linked(struct sim_mmu_notifier *sub)
{
	return sub_node(sub)->prev != NULL;
}

static void sub_unlink(struct sim_mmu_notifier *sub)
{
	list_del_rcu(sub_node(sub));
	sub_node(sub)->prev = NULL;
}

static struct sim_mmu_notifier *sub_from_node(struct list_head *node)
{
	return container_of((void *)node, struct sim_mmu_notifier, list_node);
}

/* Walk @mm's subscriptions; the caller holds notifier_srcu. */
#define for_each_sub_srcu(sub, pos, mm)                                               \
	for (pos = srcu_dereference((mm)->notifiers.next, &(mm)->notifier_srcu);        \
	     pos != &(mm)->notifiers && ((sub) = sub_from_node(pos), true);             \
	     pos = srcu_dereference(pos->next, &(mm)->notifier_srcu))

int sim_mmu_notifier_register(struct sim_mmu_notifier *sub, struct sim_mm *mm)
{
	int r = 0;

	if (!sub || !mm || !sub->ops)
		return -EINVAL;
	/* Already registered (and not unregistered yet): relinking would corrupt the list. */
	if (READ_ONCE(sub->mm))
		return -EBUSY;
	might_sleep();
	down_write(&mm->mmap_lock);
	if (mm->dead) {
		r = -EINVAL;
		goto out;
	}
	atomic_inc(&mm->mm_count);
	sub->mm = mm;
	spin_lock(&mm->notifier_lock);
	list_add_tail_rcu(sub_node(sub), &mm->notifiers);
	spin_unlock(&mm->notifier_lock);
out:
	up_write(&mm->mmap_lock);
	return r;
}

void sim_mmu_notifier_unregister(struct sim_mmu_notifier *sub)
{
	struct sim_mm *mm;
	bool linked;
	int idx;

	if (!sub || !sub->mm)
		return;
	might_sleep();
	mm = sub->mm;
	spin_lock(&mm->notifier_lock);
	linked = sub_linked(sub);
	spin_unlock(&mm->notifier_lock);
	if (linked && sub->ops->release) {
		/* The mm still lives: the secondary MMU must drop everything now. */
		idx = srcu_read_lock(&mm->notifier_srcu);
		sub->ops->release(sub, mm);
		srcu_read_unlock(&mm->notifier_srcu, idx);
	}
	spin_lock(&mm->notifier_lock);
	if (sub_linked(sub))
		sub_unlink(sub);
	spin_unlock(&mm->notifier_lock);
	/* No callback runs, or will run, on @sub once this returns. */
	synchronize_srcu(&mm->notifier_srcu);
	sub->mm = NULL;
	sim_mm_drop(mm);
}

/* sim_mm_destroy(): ->release on every notifier, which is then unlinked. */
void sim_mn_release(struct sim_mm *mm)
{
	struct sim_mmu_notifier *sub;
	struct list_head *pos;
	int idx;

	idx = srcu_read_lock(&mm->notifier_srcu);
	for_each_sub_srcu(sub, pos, mm) {

		if (sub->ops->release)
			sub->ops->release(sub, mm);
	}
	srcu_read_unlock(&mm->notifier_srcu, idx);

	spin_lock(&mm->notifier_lock);
	while (!list_empty(&mm->notifiers))
		sub_unlink(sub_from_node(mm->notifiers.next));
	spin_unlock(&mm->notifier_lock);
	synchronize_srcu(&mm->notifier_srcu);
}

void sim_mn_range_init(struct sim_mmu_notifier_range *range, struct sim_mm *mm, hva_t start,
		       hva_t end, enum sim_mmu_notifier_event event)
{
	range->mm = mm;
	range->start = start;
	range->end = end;
	range->event = event;
}

/* Callbacks may sleep: not under a page-table lock nor any spinning lock (rule 1). */
static void mn_assert_context(struct sim_mm *mm)
{
	lockdep_assert_held(&mm->mmap_lock);
	WARN_ON_ONCE(env_spinning_locks_held());
	might_sleep();
}

/**
 * sim_mn_invalidate_range_start - announce that [start, end) will change
 *
 * Makes the invalidation sequence odd, then calls every notifier's
 * invalidate_range_start.  Must be paired with sim_mn_invalidate_range_end()
 * on the same range.
 */
void sim_mn_invalidate_range_start(const struct sim_mmu_notifier_range *range)
{
	struct sim_mmu_notifier *sub;
	struct sim_mm *mm = range->mm;
	struct list_head *pos;
	int idx;

	mn_assert_context(mm);
	WARN_ON_ONCE(range->start >= range->end);
	spin_lock(&mm->inv_lock);
	/* WRITE_ONCE: change_pte and sim_mm_invalidate_in_progress() read it locklessly. */
	WRITE_ONCE(mm->inv_active, mm->inv_active + 1);
	if (mm->inv_active == 1)
		smp_store_release(&mm->inv_seq, mm->inv_seq + 1);
	spin_unlock(&mm->inv_lock);
	/* The odd sequence is visible before any entry of the range changes. */
	smp_mb();

	idx = srcu_read_lock(&mm->notifier_srcu);
	for_each_sub_srcu(sub, pos, mm) {

		if (!sub->ops->invalidate_range_start)
			continue;
		atomic64_inc(&mm->host->cnt.notifier_invalidates);
		/* Always blockable here, so a secondary MMU may not refuse. */
		WARN_ON_ONCE(sub->ops->invalidate_range_start(sub, range));
	}
	srcu_read_unlock(&mm->notifier_srcu, idx);
}

void sim_mn_invalidate_range_end(const struct sim_mmu_notifier_range *range)
{
	struct sim_mmu_notifier *sub;
	struct sim_mm *mm = range->mm;
	struct list_head *pos;
	int idx;

	mn_assert_context(mm);
	idx = srcu_read_lock(&mm->notifier_srcu);
	for_each_sub_srcu(sub, pos, mm) {

		if (sub->ops->invalidate_range_end)
			sub->ops->invalidate_range_end(sub, range);
	}
	srcu_read_unlock(&mm->notifier_srcu, idx);

	/* Every entry change of the range is visible before the sequence moves on. */
	smp_mb();
	spin_lock(&mm->inv_lock);
	if (!WARN_ON_ONCE(mm->inv_active <= 0)) {
		WRITE_ONCE(mm->inv_active, mm->inv_active - 1);
		if (!mm->inv_active)
			smp_store_release(&mm->inv_seq, mm->inv_seq + 1);
	}
	spin_unlock(&mm->inv_lock);
}

void sim_mn_change_pte(struct sim_mm *mm, hva_t addr, kvm_pfn_t pfn, bool writable)
{
	struct sim_mmu_notifier *sub;
	struct list_head *pos;
	int idx;

	mn_assert_context(mm);
	WARN_ON_ONCE(!READ_ONCE(mm->inv_active));
	idx = srcu_read_lock(&mm->notifier_srcu);
	for_each_sub_srcu(sub, pos, mm) {

		if (!sub->ops->change_pte)
			continue;
		atomic64_inc(&mm->host->cnt.notifier_change_pte);
		sub->ops->change_pte(sub, mm, addr, pfn, writable);
	}
	srcu_read_unlock(&mm->notifier_srcu, idx);
}

static int mn_young(struct sim_mm *mm, hva_t start, hva_t end, bool clear)
{
	struct sim_mmu_notifier *sub;
	struct list_head *pos;
	int idx, young = 0;

	mn_assert_context(mm);
	idx = srcu_read_lock(&mm->notifier_srcu);
	for_each_sub_srcu(sub, pos, mm) {
		int (*fn)(struct sim_mmu_notifier *, struct sim_mm *, hva_t, hva_t);

		fn = clear ? sub->ops->clear_young : sub->ops->test_young;
		if (!fn)
			continue;
		atomic64_inc(&mm->host->cnt.notifier_young);
		young |= !!fn(sub, mm, start, end);
	}
	srcu_read_unlock(&mm->notifier_srcu, idx);
	return young;
}

int sim_mn_clear_young(struct sim_mm *mm, hva_t start, hva_t end)
{
	return mn_young(mm, start, end, true);
}

int sim_mn_test_young(struct sim_mm *mm, hva_t start, hva_t end)
{
	return mn_young(mm, start, end, false);
}

/* ======================== the mm's invalidation sequence ======================== */

unsigned long sim_mm_invalidate_read_begin(struct sim_mm *mm)
{
	unsigned long seq;

	if (!mm)
		return 0;
	might_sleep();
	for (;;) {
		seq = smp_load_acquire(&mm->inv_seq);
		if (!(seq & 1))
			return seq;
		schedule();
	}
}

bool sim_mm_invalidate_read_retry(struct sim_mm *mm, unsigned long seq)
{
	if (!mm)
		return false;
	/* The reader's loads of entries are ordered before this one. */
	smp_rmb();
	return READ_ONCE(mm->inv_seq) != seq;
}

int sim_mm_invalidate_in_progress(struct sim_mm *mm)
{
	if (!mm)
		return -EINVAL;
	return READ_ONCE(mm->inv_active);
}
