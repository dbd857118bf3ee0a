// SPDX-License-Identifier: GPL-2.0-only
/*
 * The legacy MMU for direct TDP mappings: KVM with tdp_mmu=N, where EPT/NPT
 * faults go through direct_page_fault() and direct_map() and every mapping
 * is tracked by shadow pages and the rmap (arch/x86/kvm/mmu/mmu.c).
 *
 * Theory of operation
 * -------------------
 * A shadow page (struct kvm_mmu_page, "sp") is one page table, identified
 * by (gfn, role): the first gfn it maps and its level/address space.  Every
 * valid sp is on kvm->active_mmu_pages (newest first) and in the
 * mmu_page_hash bucket of its gfn; the fault path finds an existing sp for
 * (gfn, role) there before allocating one, so vCPUs share roots and tables.
 * Each sp records the SPTEs that point at it (parent_ptes, a pte_list), and
 * each leaf SPTE is on the rmap of its memslot, gfn and level; every
 * MMU-wide operation (notifier zap, write protection, aging) reaches the
 * SPTEs of a gfn range through the rmaps, never by walking page tables.
 *
 * Rules:
 *  1. Everything runs with mmu_lock held for write; only the simulated CPU
 *     (A/D bits), fast_page_fault() (W and access-track restore) and the
 *     MMIO lookup touch SPTEs without it, under RCU.  SPTE stores therefore
 *     use xchg when the old value has bits those may set concurrently
 *     (spte_needs_atomic_update()), so no Dirty bit and no lockless W
 *     restore is lost, and a plain release store otherwise.
 *  2. A leaf is created only by mmu_set_spte(), which adds it to its rmap
 *     and counts it in pages_4k/2m/1g; it is removed only by
 *     mmu_spte_clear_track_bits() (uncount) plus rmap removal: drop_spte()
 *     for one SPTE, kvm_zap_all_rmap_sptes() for a whole list.  A present
 *     leaf never changes pfn in place (mmu_spte_update() WARNs).
 *  3. Zapping a shadow page (__kvm_mmu_prepare_zap_page) clears its SPTEs
 *     (leaves leave their rmaps; child tables merely lose this parent and
 *     stay in the hash, orphaned, with their leaves still mapped and
 *     rmapped, to be found again by the next fault on their gfn, as in KVM
 *     for direct pages), clears the SPTEs that point at it, marks it
 *     invalid and moves it to an invalid list.  kvm_mmu_commit_zap_page()
 *     then flushes remote TLBs and frees the tables.  A root still used by a
 *     vCPU (root_count > 0) is only unlisted and marked invalid; the vCPU is
 *     asked to drop it (KVM_REQ_MMU_FREE_OBSOLETE_ROOTS) and the last put
 *     zaps and frees it.
 *  4. Freeing: KVM frees a zapped table right after the flush, relying on
 *     the IPI to wait out lockless walkers that run with IRQs off.  Here the
 *     lockless walkers (the simulated CPU's hardware walk, fast_page_fault)
 *     run under rcu_read_lock(), and a flush skipped by the test hook
 *     (debug_skip_remote_flush) would not wait for them, so tables and their
 *     sp headers are freed with call_rcu() after the flush: flush, then RCU.
 *  5. Generations: kvm_mmu_zap_all_fast() flips kvm->mmu_valid_gen, making
 *     every existing sp obsolete (is_obsolete_sp()): hash lookups skip them,
 *     faults on an obsolete root retry, and vCPUs reload.  The obsolete
 *     pages sit at the tail of the active list and are zapped from there,
 *     yielding every BATCH_ZAP_PAGES; slots_lock serialises fast zaps, so
 *     one bit of generation suffices.
 *  6. Page-table pages come from the vCPU's mmu_page_cache and rmap
 *     descriptors from its mmu_pte_list_desc_cache, both filled before
 *     mmu_lock is taken; nothing here allocates under the lock.
 *  7. Pinned SPTEs (Sean Christopherson's RFC, kvm->pin_ops set; docs/sev.md):
 *     an MMU-notifier or gfn-range zap turns a pinned leaf into the
 *     zapped-pinned form, which stays on its rmap and in no page stat; the
 *     refault maps the same pfn back (RET_PF_UNZAPPED).  Only the drop of
 *     a leaf (rule 2: its shadow page freed, its memslot deleted, a huge
 *     leaf replaced by a table) releases the pin.  Dirty logging and
 *     collapsible zapping leave pinned leaves alone.
 *
 * Not modelled: make_mmu_pages_available() and the shadow-page limit
 * (n_max_mmu_pages, 2% of memslot pages by default, far above what direct
 * maps use), unsync pages and write tracking (no guest page tables), the
 * NX huge page recovery list, and KVM 6.15's rmap lock (aging takes
 * mmu_lock for write instead of walking rmaps locklessly).
 *
 * Who calls what: mmu.c's fault path (direct_page_fault), root load/put,
 * zap entry points and memslot hooks, and kvm_main.c's notifier handlers
 * and checker, always through the dispatch on kvm->tdp_mmu_enabled.
 */
#include "mmusim_env.h"
#include <mmusim/host.h>
#include "mmu/shadow_mmu.h"
#include "mmu/mmutrace.h"

/* Zap this many pages between yields when zapping obsolete pages. */
#define BATCH_ZAP_PAGES 10

/* ----------------------------------------------------------------------
 * Shadow page allocation, hash and accounting
 */

int kvm_mmu_init_shadow_mmu(struct kvm *kvm)
{
	int r;

	INIT_LIST_HEAD(&kvm->active_mmu_pages);
	INIT_LIST_HEAD(&kvm->zapped_obsolete_pages);
	kvm->mmu_valid_gen = 0;
	kvm->n_used_mmu_pages = 0;
	kvm->nr_rmap_sptes = 0;
	kvm->mmu_page_hash = kvcalloc(KVM_NUM_MMU_PAGES, sizeof(struct hlist_head),
				      GFP_KERNEL_ACCOUNT);
	if (!kvm->mmu_page_hash)
		return -ENOMEM;
	r = kvm_rmap_init(kvm);
	if (r) {
		kvfree(kvm->mmu_page_hash);
		kvm->mmu_page_hash = NULL;
	}
	return r;
}

void kvm_mmu_uninit_shadow_mmu(struct kvm *kvm)
{
	WARN_ON(kvm->n_used_mmu_pages);
	WARN_ON(!list_empty(&kvm->active_mmu_pages));
	WARN_ON(kvm->nr_rmap_sptes);
	/* The last zapped tables are freed by RCU callbacks. */
	rcu_barrier();
	kvm_rmap_uninit(kvm);
	kvfree(kvm->mmu_page_hash);
	kvm->mmu_page_hash = NULL;
}

static unsigned int kvm_page_table_hashfn(gfn_t gfn)
{
	/* hash_64(): multiply by the 64-bit golden ratio, keep the top bits. */
	return (unsigned int)((gfn * 0x61C8864680B583EBULL) >> (64 - KVM_MMU_HASH_SHIFT));
}

static void kvm_account_mmu_page(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	WRITE_ONCE(kvm->n_used_mmu_pages, kvm->n_used_mmu_pages + 1);
}

static void kvm_unaccount_mmu_page(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	WRITE_ONCE(kvm->n_used_mmu_pages, kvm->n_used_mmu_pages - 1);
}

/* Same layout as the TDP MMU's pages: the header, then the table page. */
static void kvm_mmu_free_shadow_page(struct kvm_mmu_page *sp)
{
	free_page((unsigned long)sp->spt);
	kfree(sp);
}

static void kvm_mmu_free_shadow_page_rcu(struct rcu_head *head)
{
	kvm_mmu_free_shadow_page(container_of(head, struct kvm_mmu_page, rcu_head));
}

#define for_each_valid_sp(_kvm, _sp, _list)                                                  \
	hlist_for_each_entry(_sp, _list, hash_link)                                          \
		if (is_obsolete_sp((_kvm), (_sp))) {                                         \
		} else

static struct kvm_mmu_page *kvm_mmu_find_shadow_page(struct kvm *kvm, gfn_t gfn,
						     union kvm_mmu_page_role role)
{
	struct hlist_head *bucket = &kvm->mmu_page_hash[kvm_page_table_hashfn(gfn)];
	struct kvm_mmu_page *sp;

	for_each_valid_sp(kvm, sp, bucket) {
		if (sp->gfn == gfn && sp->role.word == role.word)
			return sp;
	}
	return NULL;
}

/*
 * A new, empty shadow page from the vCPU's cache (filled by
 * mmu_topup_memory_caches() with tables full of SHADOW_NONPRESENT_VALUE and
 * page_private already pointing at the header).
 */
static struct kvm_mmu_page *kvm_mmu_alloc_shadow_page(struct kvm_vcpu *vcpu, gfn_t gfn,
						      union kvm_mmu_page_role role)
{
	struct kvm_mmu_memory_cache *mc = &vcpu->mmu_page_cache;
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp;

	if (WARN_ON_ONCE(!mc->nobjs))
		return NULL;
	sp = mc->objects[--mc->nobjs];
	sp->tdp_mmu_page = false;
	sp->role = role;
	sp->gfn = gfn;
	sp->root_count = 0;
	sp->parent_ptes.val = 0;
	sp->ptep = NULL;
	sp->mmu_valid_gen = kvm->mmu_valid_gen;
	sp->nx_huge_page_disallowed = false;
	INIT_LIST_HEAD(&sp->possible_nx_huge_page_link);
	INIT_HLIST_NODE(&sp->hash_link);
	list_add(&sp->link, &kvm->active_mmu_pages);
	hlist_add_head(&sp->hash_link, &kvm->mmu_page_hash[kvm_page_table_hashfn(gfn)]);
	kvm_account_mmu_page(kvm, sp);
	return sp;
}

static struct kvm_mmu_page *kvm_mmu_get_shadow_page(struct kvm_vcpu *vcpu, gfn_t gfn,
						    union kvm_mmu_page_role role, bool *created)
{
	struct kvm_mmu_page *sp = kvm_mmu_find_shadow_page(vcpu->kvm, gfn, role);

	*created = !sp;
	if (!sp)
		sp = kvm_mmu_alloc_shadow_page(vcpu, gfn, role);
	if (sp)
		trace_kvm_mmu_get_page(sp, *created);
	return sp;
}

/* The gfn mapped by entry @index of the direct page @sp. */
static gfn_t kvm_mmu_page_get_gfn(struct kvm_mmu_page *sp, int index)
{
	return sp->gfn + ((gfn_t)index << ((sp->role.level - 1) * SPTE_LEVEL_BITS));
}


/* ----------------------------------------------------------------------
 * SPTE stores (mmu_lock held for write)
 */

/* Readers that hold no lock follow new tables: publish with release. */
static void __set_spte(u64 *sptep, u64 spte)
{
	smp_store_release(sptep, spte);
}

static u64 mmu_spte_get_lockless(u64 *sptep)
{
	return smp_load_acquire(sptep);
}

static int sptep_level(u64 *sptep)
{
	return sptep_to_sp(sptep)->role.level;
}

/* A non-present SPTE becomes @new_spte. */
static void mmu_spte_set(struct kvm *kvm, u64 *sptep, u64 new_spte)
{
	u64 old_spte = READ_ONCE(*sptep);

	WARN_ON_ONCE(is_shadow_present_pte(old_spte));
	spte_check_change(&kvm->masks, old_spte, new_spte, sptep_level(sptep));
	__set_spte(sptep, new_spte);
}

/*
 * A present leaf gets new state bits (same pfn).  Returns the value
 * replaced, which may carry a Dirty bit or W set since it was read.
 */
static u64 mmu_spte_update_no_track(struct kvm *kvm, u64 *sptep, u64 new_spte)
{
	u64 old_spte = READ_ONCE(*sptep);

	WARN_ON_ONCE(!is_shadow_present_pte(new_spte));
	check_spte_writable_invariants(&kvm->masks, new_spte);
	if (!is_shadow_present_pte(old_spte)) {
		mmu_spte_set(kvm, sptep, new_spte);
		return old_spte;
	}
	if (spte_needs_atomic_update(&kvm->masks, old_spte))
		old_spte = xchg(sptep, new_spte);
	else
		__set_spte(sptep, new_spte);
	WARN_ON_ONCE(spte_to_pfn(old_spte) != spte_to_pfn(new_spte));
	spte_check_change(&kvm->masks, old_spte, new_spte, sptep_level(sptep));
	return old_spte;
}

/* Returns whether the change needs a remote TLB flush. */
static bool mmu_spte_update(struct kvm *kvm, u64 *sptep, u64 new_spte)
{
	u64 old_spte = mmu_spte_update_no_track(kvm, sptep, new_spte);

	if (!is_shadow_present_pte(old_spte))
		return false;
	/* v9: the page learns what the leaf drops (nothing in the 6.13 model). */
	if (is_accessed_spte(&kvm->masks, old_spte) && !is_accessed_spte(&kvm->masks, new_spte))
		kvm_spte_set_pfn_accessed(kvm, old_spte);
	if (is_dirty_spte(&kvm->masks, old_spte) && !is_dirty_spte(&kvm->masks, new_spte))
		kvm_spte_set_pfn_dirty(kvm, old_spte);
	return leaf_spte_change_needs_tlb_flush(&kvm->masks, old_spte, new_spte);
}

static gfn_t sptep_to_gfn(u64 *sptep)
{
	return kvm_mmu_page_get_gfn(sptep_to_sp(sptep), spte_index(sptep));
}

/*
 * Clears a leaf, present or zapped-pinned, and uncounts it (a zapped-pinned
 * leaf was uncounted when it was zapped); the caller takes it off its rmap.
 * Returns the old value (patch 1/8 of the pinned-SPTE RFC).  The only place
 * a leaf goes, so the only unpin point of the RFC (its rmap_remove()).
 */
static u64 mmu_spte_clear_track_bits(struct kvm *kvm, u64 *sptep)
{
	u64 old_spte = READ_ONCE(*sptep);
	int level = sptep_level(sptep);

	if (is_shadow_present_pte(old_spte) && spte_needs_atomic_update(&kvm->masks, old_spte))
		old_spte = xchg(sptep, SHADOW_NONPRESENT_VALUE);
	else
		__set_spte(sptep, SHADOW_NONPRESENT_VALUE);
	if (is_shadow_present_pte(old_spte)) {
		kvm_update_page_stats(kvm, level, -1);
		kvm_spte_release_ad(kvm, old_spte);
	} else if (!is_zapped_pinned_spte(old_spte)) {
		return old_spte;
	}
	spte_check_change(&kvm->masks, old_spte, SHADOW_NONPRESENT_VALUE, level);
	if (unlikely(old_spte & SPTE_PINNED_MASK))
		kvm->pin_ops->drop_pinned_spte(kvm, sptep_to_gfn(sptep), level,
					       spte_to_pfn(old_spte));
	return old_spte;
}

/*
 * The RFC's kvm_zap_rmapp() for a pinned present leaf: the hardware loses
 * the mapping, the vendor keeps the pin, the rmap keeps the SPTE (which now
 * counts in no page stat) for the refault's unzap or the final drop.
 */
static void mmu_spte_zap_pinned(struct kvm *kvm, u64 *sptep)
{
	u64 old_spte = READ_ONCE(*sptep);
	u64 new_spte = make_zapped_pinned_spte(spte_to_pfn(old_spte));
	int level = sptep_level(sptep);

	if (spte_needs_atomic_update(&kvm->masks, old_spte))
		old_spte = xchg(sptep, new_spte);
	else
		__set_spte(sptep, new_spte);
	spte_check_change(&kvm->masks, old_spte, new_spte, level);
	kvm_update_page_stats(kvm, level, -1);
	kvm_spte_release_ad(kvm, old_spte);
	if (kvm->pin_ops->zap_pinned_spte)
		kvm->pin_ops->zap_pinned_spte(kvm, sptep_to_gfn(sptep), level);
}

/* Non-leaf and MMIO SPTEs: nothing concurrent can touch them. */
static void mmu_spte_clear_no_track(u64 *sptep)
{
	__set_spte(sptep, SHADOW_NONPRESENT_VALUE);
}

/* ----------------------------------------------------------------------
 * rmap and parent_ptes bookkeeping
 */

static bool kvm_zap_all_rmap_sptes(struct kvm *kvm, struct kvm_rmap_head *rmap_head);

static void rmap_add(struct kvm_vcpu *vcpu, const struct kvm_memory_slot *slot, u64 *sptep,
		     gfn_t gfn)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp = sptep_to_sp(sptep);
	struct kvm_rmap_head *rmap_head;
	int rmap_count;

	WARN_ON_ONCE(gfn != kvm_mmu_page_get_gfn(sp, spte_index(sptep)));
	kvm_update_page_stats(kvm, sp->role.level, 1);
	kvm->nr_rmap_sptes++;

	rmap_head = gfn_to_rmap(gfn, sp->role.level, slot);
	rmap_count = pte_list_add(kvm, &vcpu->mmu_pte_list_desc_cache, sptep, rmap_head);
	if (rmap_count > atomic64_read(&kvm->stat.max_mmu_rmap_size))
		atomic64_set(&kvm->stat.max_mmu_rmap_size, rmap_count);
	/* A runaway list (aliasing gone wild) is cheaper to rebuild than to keep. */
	if (rmap_count > RMAP_RECYCLE_THRESHOLD) {
		kvm_zap_all_rmap_sptes(kvm, rmap_head);
		kvm_flush_remote_tlbs_range(kvm, gfn, KVM_PAGES_PER_HPAGE(sp->role.level));
	}
}

/*
 * The memslot is looked up again, in the address space of the page's role:
 * the caller holds SRCU or slots_lock.  A present leaf always has a slot,
 * because deleting or moving a slot zaps its SPTEs while the slot's INVALID
 * copy (same rmap arrays) is still visible.
 */
static void rmap_remove(struct kvm *kvm, u64 *sptep)
{
	struct kvm_mmu_page *sp = sptep_to_sp(sptep);
	gfn_t gfn = sptep_to_gfn(sptep);
	struct kvm_memslots *slots = kvm_memslots_as(&kvm->slots, kvm_mmu_page_as_id(sp));
	struct kvm_memory_slot *slot = __gfn_to_memslot(slots, gfn);

	if (WARN_ON_ONCE(!slot))
		return;
	pte_list_remove(kvm, sptep, gfn_to_rmap(gfn, sp->role.level, slot));
	kvm->nr_rmap_sptes--;
}

/* A zapped-pinned leaf is on its rmap too: the RFC's "rmap considered present". */
static void drop_spte(struct kvm *kvm, u64 *sptep)
{
	u64 old_spte = mmu_spte_clear_track_bits(kvm, sptep);

	if (is_shadow_present_pte(old_spte) || is_zapped_pinned_spte(old_spte))
		rmap_remove(kvm, sptep);
}

/* Clears every SPTE of the list and empties it; returns whether it had any. */
static bool kvm_zap_all_rmap_sptes(struct kvm *kvm, struct kvm_rmap_head *rmap_head)
{
	struct pte_list_desc *desc, *next;
	u32 i;

	if (!rmap_head->val)
		return false;

	if (!(rmap_head->val & KVM_RMAP_MANY)) {
		mmu_spte_clear_track_bits(kvm, (u64 *)rmap_head->val);
		kvm->nr_rmap_sptes--;
		goto out;
	}
	for (desc = (struct pte_list_desc *)(rmap_head->val & ~KVM_RMAP_MANY); desc;
	     desc = next) {
		for (i = 0; i < desc->spte_count; i++)
			mmu_spte_clear_track_bits(kvm, desc->sptes[i]);
		kvm->nr_rmap_sptes -= desc->spte_count;
		next = desc->more;
		mmu_free_pte_list_desc(kvm, desc);
	}
out:
	rmap_head->val = 0;
	return true;
}

static void mmu_page_add_parent_pte(struct kvm *kvm, struct kvm_mmu_desc_cache *cache,
				    struct kvm_mmu_page *sp, u64 *parent_pte)
{
	if (!parent_pte)
		return;
	pte_list_add(kvm, cache, parent_pte, &sp->parent_ptes);
}

static void drop_parent_pte(struct kvm *kvm, struct kvm_mmu_page *sp, u64 *parent_pte)
{
	pte_list_remove(kvm, parent_pte, &sp->parent_ptes);
	mmu_spte_clear_no_track(parent_pte);
}

/* ----------------------------------------------------------------------
 * Zapping shadow pages
 */

/* Clears one SPTE of @sp; returns the number of child pages zapped (none here). */
static int mmu_page_zap_pte(struct kvm *kvm, struct kvm_mmu_page *sp, u64 *sptep,
			    struct list_head *invalid_list)
{
	u64 pte = READ_ONCE(*sptep);

	if (is_shadow_present_pte(pte)) {
		if (is_last_spte(pte, sp->role.level))
			drop_spte(kvm, sptep);
		else
			/*
			 * A direct child is orphaned, not zapped: it keeps its
			 * leaves, which stay on their rmaps, and the next fault
			 * on its gfn finds it in the hash.  (KVM zaps parentless
			 * children only for nested TDP pages.)
			 */
			drop_parent_pte(kvm, spte_to_child_sp(pte), sptep);
	} else if (is_zapped_pinned_spte(pte)) {
		/* The shadow page goes, so does the pin it kept (RFC). */
		drop_spte(kvm, sptep);
	} else if (is_mmio_spte(&kvm->masks, pte)) {
		mmu_spte_clear_no_track(sptep);
	}
	return 0;
}

static int kvm_mmu_page_unlink_children(struct kvm *kvm, struct kvm_mmu_page *sp,
					struct list_head *invalid_list)
{
	int zapped = 0, i;

	for (i = 0; i < SPTE_ENT_PER_PAGE; i++)
		zapped += mmu_page_zap_pte(kvm, sp, sp->spt + i, invalid_list);
	return zapped;
}

static void kvm_mmu_unlink_parents(struct kvm *kvm, struct kvm_mmu_page *sp)
{
	struct rmap_iterator iter;
	u64 *sptep;

	while ((sptep = rmap_get_first(&sp->parent_ptes, &iter)))
		drop_parent_pte(kvm, sp, sptep);
}

/*
 * Unhooks @sp from the page tables and queues it on @invalid_list, or, for
 * a root in use, marks it invalid for its last user to free.  *nr_zapped
 * counts the pages queued.  Returns true if the active list may have
 * changed beyond @sp (children zapped), so list walkers must restart.
 */
static bool __kvm_mmu_prepare_zap_page(struct kvm *kvm, struct kvm_mmu_page *sp,
				       struct list_head *invalid_list, int *nr_zapped)
{
	bool list_unstable, zapped_root = false;
	union kvm_mmu_page_role role;

	lockdep_assert_held_write(&kvm->mmu_lock);
	trace_kvm_mmu_prepare_zap_page(sp);
	atomic64_inc(&kvm->stat.mmu_shadow_zapped);
	*nr_zapped = kvm_mmu_page_unlink_children(kvm, sp, invalid_list);
	if (sp->nx_huge_page_disallowed) {
		sp->nx_huge_page_disallowed = false;
		untrack_possible_nx_huge_page(kvm, sp);
	}
	kvm_mmu_unlink_parents(kvm, sp);
	list_unstable = *nr_zapped;

	if (!sp->root_count) {
		(*nr_zapped)++;
		/* An invalid root is on no list (see below). */
		if (sp->role.invalid)
			list_add(&sp->link, invalid_list);
		else
			list_move(&sp->link, invalid_list);
		kvm_unaccount_mmu_page(kvm, sp);
	} else {
		/* Freed when its last user puts it (mmu_free_root_page()). */
		list_del(&sp->link);
		zapped_root = !is_obsolete_sp(kvm, sp);
	}

	role = sp->role;
	role.invalid = 1;
	WRITE_ONCE(sp->role.word, role.word);

	/* After marking it invalid, so that the vCPUs see it as such. */
	if (zapped_root)
		kvm_make_all_cpus_request(kvm, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
	return list_unstable;
}

bool kvm_mmu_prepare_zap_page(struct kvm *kvm, struct kvm_mmu_page *sp,
			      struct list_head *invalid_list)
{
	int nr_zapped;

	__kvm_mmu_prepare_zap_page(kvm, sp, invalid_list, &nr_zapped);
	return nr_zapped;
}

/*
 * Frees the pages queued by __kvm_mmu_prepare_zap_page().  The flush makes
 * every vCPU drop translations through them and passes an instruction
 * boundary; RCU then waits for lockless walkers (see rule 4 above).
 */
void kvm_mmu_commit_zap_page(struct kvm *kvm, struct list_head *invalid_list)
{
	struct kvm_mmu_page *sp, *nsp;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (list_empty(invalid_list))
		return;
	kvm_flush_remote_tlbs(kvm);
	list_for_each_entry_safe(sp, nsp, invalid_list, link) {
		WARN_ON_ONCE(!sp->role.invalid || sp->root_count);
		hlist_del(&sp->hash_link);
		list_del(&sp->link);
		call_rcu(&sp->rcu_head, kvm_mmu_free_shadow_page_rcu);
	}
}

/* Every shadow page: VM teardown and the notifier's ->release. */
void kvm_shadow_mmu_zap_all(struct kvm *kvm)
{
	struct kvm_mmu_page *sp, *node;
	LIST_HEAD(invalid_list);
	int ign;

	lockdep_assert_held_write(&kvm->mmu_lock);
restart:
	list_for_each_entry_safe(sp, node, &kvm->active_mmu_pages, link) {
		if (WARN_ON_ONCE(sp->role.invalid))
			continue;
		if (__kvm_mmu_prepare_zap_page(kvm, sp, &invalid_list, &ign))
			goto restart;
		if (cond_resched_rwlock_write(&kvm->mmu_lock))
			goto restart;
	}
	kvm_mmu_commit_zap_page(kvm, &invalid_list);
}

/*
 * Zaps the pages of older generations, oldest first.  New pages go to the
 * head of the list, so the obsolete ones form its tail.  No flush is needed
 * for them before freeing beyond the one in commit: every vCPU was asked to
 * load a new root (with a local flush) before this runs.
 */
static void kvm_zap_obsolete_pages(struct kvm *kvm)
{
	struct kvm_mmu_page *sp, *node;
	int nr_zapped, batch = 0;
	bool unstable;

restart:
	list_for_each_entry_safe_reverse(sp, node, &kvm->active_mmu_pages, link) {
		if (!is_obsolete_sp(kvm, sp))
			break;
		if (WARN_ON_ONCE(sp->role.invalid))
			continue;
		if (batch >= BATCH_ZAP_PAGES && cond_resched_rwlock_write(&kvm->mmu_lock)) {
			batch = 0;
			goto restart;
		}
		unstable = __kvm_mmu_prepare_zap_page(kvm, sp, &kvm->zapped_obsolete_pages,
						      &nr_zapped);
		batch += nr_zapped;
		if (unstable)
			goto restart;
	}
	kvm_mmu_commit_zap_page(kvm, &kvm->zapped_obsolete_pages);
}

/*
 * The shadow MMU's half of kvm_mmu_zap_all_fast() (slots_lock held, so fast
 * zaps never overlap and a one-bit generation is enough).
 */
void kvm_shadow_mmu_zap_all_fast(struct kvm *kvm)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	WRITE_ONCE(kvm->mmu_valid_gen, kvm->mmu_valid_gen ? 0 : 1);
	/* vCPUs drop their (now obsolete) roots and load new ones. */
	kvm_make_all_cpus_request(kvm, KVM_REQ_MMU_FREE_OBSOLETE_ROOTS);
	kvm_zap_obsolete_pages(kvm);
}

/* ----------------------------------------------------------------------
 * Roots
 */

int mmu_alloc_direct_roots(struct kvm_vcpu *vcpu, int as_id)
{
	struct kvm *kvm = vcpu->kvm;
	union kvm_mmu_page_role role = { .word = 0 };
	struct kvm_mmu_page *root;
	bool created;

	lockdep_assert_held_write(&kvm->mmu_lock);
	role.level = kvm->root_level;
	role.direct = 1;
	role.access = ACC_ALL;
	role.smm = as_id;

	root = kvm_mmu_get_shadow_page(vcpu, 0, role, &created);
	if (!root)
		return -ENOMEM;
	if (created)
		atomic64_inc(&kvm->stat.root_allocs);
	root->root_count++;
	vcpu->root[as_id] = root;
	return 0;
}

void mmu_free_root_page(struct kvm *kvm, struct kvm_mmu_page **rootp,
			struct list_head *invalid_list)
{
	struct kvm_mmu_page *sp = *rootp;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (WARN_ON_ONCE(!sp || is_tdp_mmu_page(sp) || sp->root_count <= 0))
		return;
	if (!--sp->root_count && sp->role.invalid)
		kvm_mmu_prepare_zap_page(kvm, sp, invalid_list);
	*rootp = NULL;
}

/* ----------------------------------------------------------------------
 * Shadow walks
 */

struct kvm_shadow_walk_iterator {
	u64 addr;
	u64 *table;
	u64 *sptep;
	int level;
	unsigned int index;
};

static void shadow_walk_init(struct kvm_shadow_walk_iterator *it, struct kvm_mmu_page *root,
			     u64 addr)
{
	it->addr = addr;
	it->sptep = NULL;
	it->table = root ? root->spt : NULL;
	/* A lockless walker's root may be being zapped (role.invalid set). */
	it->level = root ? kvm_mmu_page_role(root).level : 0;
}

static bool shadow_walk_okay(struct kvm_shadow_walk_iterator *it)
{
	if (it->level < PG_LEVEL_4K)
		return false;
	it->index = SPTE_INDEX(it->addr, it->level);
	it->sptep = it->table + it->index;
	return true;
}

static void __shadow_walk_next(struct kvm_shadow_walk_iterator *it, u64 spte)
{
	/* Stop at a leaf, and at a non-present SPTE: there is no table below. */
	if (!is_shadow_present_pte(spte) || is_last_spte(spte, it->level)) {
		it->level = 0;
		return;
	}
	it->table = (u64 *)__va(spte_to_pfn(spte) << PAGE_SHIFT);
	it->level--;
}

static void shadow_walk_next(struct kvm_shadow_walk_iterator *it)
{
	__shadow_walk_next(it, READ_ONCE(*it->sptep));
}

#define for_each_shadow_entry(_root, _addr, _walker)                                         \
	for (shadow_walk_init(&(_walker), _root, _addr); shadow_walk_okay(&(_walker));       \
	     shadow_walk_next(&(_walker)))

#define for_each_shadow_entry_lockless(_root, _addr, _walker, _spte)                         \
	for (shadow_walk_init(&(_walker), _root, _addr);                                     \
	     shadow_walk_okay(&(_walker)) &&                                                 \
	     ({ (_spte) = mmu_spte_get_lockless((_walker).sptep); 1; });                    \
	     __shadow_walk_next(&(_walker), _spte))

u64 *fast_pf_get_last_sptep(struct kvm_vcpu *vcpu, int as_id, gfn_t gfn, u64 *spte,
			    int *level)
{
	struct kvm_shadow_walk_iterator it;
	u64 *sptep = NULL, old_spte;

	WARN_ON_ONCE(!rcu_read_lock_held());
	for_each_shadow_entry_lockless(vcpu->root[as_id], (u64)gfn << PAGE_SHIFT, it, old_spte) {
		sptep = it.sptep;
		*spte = old_spte;
		*level = it.level;
	}
	return sptep;
}

/* ----------------------------------------------------------------------
 * The fault path
 */

static void drop_large_spte(struct kvm *kvm, u64 *sptep, bool flush)
{
	struct kvm_mmu_page *sp = sptep_to_sp(sptep);

	WARN_ON_ONCE(sp->role.level == PG_LEVEL_4K);
	drop_spte(kvm, sptep);
	atomic64_inc(&kvm->stat.huge_splits);
	if (flush)
		kvm_flush_remote_tlbs_range(kvm, kvm_mmu_page_get_gfn(sp, spte_index(sptep)),
					    KVM_PAGES_PER_HPAGE(sp->role.level));
}

/*
 * Points *@sptep at the table @sp.  A huge leaf in the way is dropped (and
 * flushed) first: the shadow MMU does not split, the table fills by faults.
 */
static void __link_shadow_page(struct kvm *kvm, struct kvm_mmu_desc_cache *cache, u64 *sptep,
			       struct kvm_mmu_page *sp, bool flush)
{
	u64 spte = READ_ONCE(*sptep);

	/*
	 * A zapped-pinned huge leaf in the way goes with its pin, as the RFC's
	 * drop_large_spte() did: the pages below are pinned again one by one,
	 * as they fault.
	 */
	if (is_shadow_present_pte(spte) || is_zapped_pinned_spte(spte))
		drop_large_spte(kvm, sptep, flush);
	mmu_spte_set(kvm, sptep, make_nonleaf_spte(&kvm->masks, sp->spt, !kvm->masks.ad_enabled));
	mmu_page_add_parent_pte(kvm, cache, sp, sptep);
}

static void link_shadow_page(struct kvm_vcpu *vcpu, u64 *sptep, struct kvm_mmu_page *sp)
{
	__link_shadow_page(vcpu->kvm, &vcpu->mmu_pte_list_desc_cache, sptep, sp, true);
}

static union kvm_mmu_page_role kvm_mmu_child_role(u64 *sptep)
{
	union kvm_mmu_page_role role = sptep_to_sp(sptep)->role;

	role.level--;
	role.access = ACC_ALL;
	role.direct = 1;
	role.invalid = 0;
	return role;
}

/*
 * The table for the level below *@sptep, found in the hash or new.  The
 * caller has checked that *@sptep is not already a table (where KVM
 * returns ERR_PTR(-EEXIST)).
 */
static struct kvm_mmu_page *kvm_mmu_get_child_sp(struct kvm_vcpu *vcpu, u64 *sptep, gfn_t gfn)
{
	bool created;

	return kvm_mmu_get_shadow_page(vcpu, gfn, kvm_mmu_child_role(sptep), &created);
}

/*
 * Installs the leaf for @gfn -> @pfn at *@sptep.  @fault is NULL for a
 * prefetch (always host-writable, created not-accessed).  Returns a RET_PF_*.
 */
static int mmu_set_spte(struct kvm_vcpu *vcpu, struct kvm_memory_slot *slot, u64 *sptep,
			unsigned int pte_access, gfn_t gfn, kvm_pfn_t pfn,
			struct kvm_page_fault *fault)
{
	struct kvm *kvm = vcpu->kvm;
	struct kvm_mmu_page *sp = sptep_to_sp(sptep);
	int level = sp->role.level;
	bool host_writable = !fault || fault->map_writable;
	bool prefetch = !fault || fault->prefetch;
	bool write_fault = fault && fault->write;
	bool refcounted = !fault || fault->is_refcounted_page;
	bool was_rmapped = false, unzapped = false, flush = false, wrprot;
	int ret = RET_PF_FIXED;
	u64 old_spte = READ_ONCE(*sptep), spte;

	if (unlikely(fault && fault->noslot)) {
		/*
		 * A leaf here means a memslot appeared after this fault looked
		 * for one (KVM would WARN and overwrite it): let it retry.
		 */
		if (is_shadow_present_pte(old_spte))
			return RET_PF_RETRY;
		/* A deleted memslot drops its pinned leaves first: cannot be here. */
		if (WARN_ON_ONCE(is_zapped_pinned_spte(old_spte)))
			drop_spte(kvm, sptep);
		kvm_vcpu_stat_inc(vcpu, pf_mmio_spte_created);
		spte = make_mmio_spte(&kvm->masks, gfn, pte_access,
				      kvm_memslots_generation(kvm_memslots_as(&kvm->slots,
									      fault->as_id)));
		trace_mark_mmio_spte(sptep, gfn, spte);
		mmu_spte_set(kvm, sptep, spte);
		return RET_PF_EMULATE;
	}

	if (is_shadow_present_pte(old_spte)) {
		if (prefetch && is_last_spte(old_spte, level) && pfn == spte_to_pfn(old_spte))
			return RET_PF_SPURIOUS;

		if (level > PG_LEVEL_4K && !is_large_pte(old_spte)) {
			/* A huge page replaces a table: orphan the table. */
			drop_parent_pte(kvm, spte_to_child_sp(old_spte), sptep);
			flush = true;
		} else if (pfn != spte_to_pfn(old_spte)) {
			drop_spte(kvm, sptep);
			flush = true;
		} else {
			was_rmapped = true;
		}
		old_spte = READ_ONCE(*sptep);
	} else if (unlikely(is_zapped_pinned_spte(old_spte))) {
		/*
		 * The RFC's refault of a zapped-pinned leaf: the host cannot
		 * have moved a pinned page, so the pfn is the one still pinned,
		 * and the leaf comes back on its rmap entry with its pin.
		 */
		if (WARN_ON_ONCE(pfn != spte_to_pfn(old_spte))) {
			drop_spte(kvm, sptep);
			old_spte = READ_ONCE(*sptep);
		} else {
			was_rmapped = true;
			unzapped = true;
		}
	}

	wrprot = __make_spte(&kvm->masks, level, pte_access, gfn, pfn, old_spte, prefetch, false,
			     host_writable, !kvm->masks.ad_enabled, refcounted,
			     !refcounted && kvm_is_mmio_pfn(kvm->host, pfn), &spte);

	/*
	 * A fault that looked the pfn up before a racing write fault made the
	 * host PTE writable rebuilds a writable leaf as read-only.  KVM does
	 * it in place; the SPTE rules here let a present leaf only gain
	 * Host-writable, so the leaf is dropped and mapped afresh: the same
	 * result, through non-present.
	 */
	if (was_rmapped && is_host_writable_spte(&kvm->masks, old_spte) &&
	    !is_host_writable_spte(&kvm->masks, spte)) {
		drop_spte(kvm, sptep);
		flush = true;
		was_rmapped = false;
		old_spte = READ_ONCE(*sptep);
		/* The drop released the pin the new value inherited: pin afresh. */
		spte &= ~SPTE_PINNED_MASK;
	}

	/*
	 * The RFC's set_spte(): a new leaf of a direct MMU (mmusim has no
	 * other) is offered to the vendor; a re-fault of a pinned leaf with
	 * the same pfn keeps its pin (make_spte() carried the bit over).
	 */
	if (unlikely(kvm->pin_ops) && !was_rmapped && !(spte & SPTE_PINNED_MASK) &&
	    !kvm_is_mmio_pfn(kvm->host, pfn) && kvm->pin_ops->pin_spte(vcpu, gfn, level, pfn))
		spte |= SPTE_PINNED_MASK;

	if (old_spte == spte) {
		ret = RET_PF_SPURIOUS;
	} else {
		flush |= mmu_spte_update(kvm, sptep, spte);
		trace_kvm_mmu_set_spte(&kvm->masks, level, gfn, sptep);
	}

	/* A writable SPTE in a dirty-logged slot: the page is dirty from now on. */
	if (is_writable_pte(spte) && kvm_slot_dirty_track_enabled(slot))
		kvm_vcpu_mark_page_dirty_in_slot(vcpu, slot, gfn);

	if (wrprot && write_fault)
		ret = RET_PF_WRITE_PROTECTED;
	if (flush)
		kvm_flush_remote_tlbs_range(kvm, gfn, KVM_PAGES_PER_HPAGE(level));
	if (!was_rmapped) {
		WARN_ON_ONCE(ret == RET_PF_SPURIOUS);
		rmap_add(vcpu, slot, sptep, gfn);
	} else if (unzapped) {
		/* On its rmap all along; counted again now that it maps. */
		kvm_update_page_stats(kvm, level, 1);
		if (kvm->pin_ops->unzap_pinned_spte)
			kvm->pin_ops->unzap_pinned_spte(kvm, gfn, level);
		ret = RET_PF_UNZAPPED;
	}
	return ret;
}

/*
 * Maps @nr neighbours at @start, which are not present, to the pages GUP-
 * fast finds for them (writable ones only, as KVM's prefetch asks), and
 * releases them dirty.  Returns -1 to stop prefetching.
 */
static int direct_pte_prefetch_many(struct kvm_vcpu *vcpu, struct kvm_mmu_page *sp, u64 *start,
				    u64 *end)
{
	struct kvm *kvm = vcpu->kvm;
	struct sim_page *pages[PTE_PREFETCH_NUM];
	struct kvm_memory_slot *slot;
	int as_id = kvm_mmu_page_as_id(sp);
	gfn_t gfn = kvm_mmu_page_get_gfn(sp, spte_index(start));
	long nr = end - start, n, i;

	/* gfn_to_memslot_dirty_bitmap(): no prefetch where writes are logged. */
	slot = kvm_vcpu_gfn_to_memslot(&kvm->slots, &vcpu->slot_cache, as_id, gfn);
	if (!kvm_is_visible_memslot(slot) || kvm_slot_dirty_track_enabled(slot) ||
	    (slot->flags & KVM_MEM_READONLY) || gfn + nr > slot->base_gfn + slot->npages)
		return -1;

	n = kvm_prefetch_pages(kvm, slot, gfn, pages, nr);
	if (n <= 0)
		return -1;
	for (i = 0; i < n; i++) {
		mmu_set_spte(vcpu, slot, start + i, ACC_ALL, gfn + i,
			     sim_page_to_pfn(kvm->host, pages[i]), NULL);
		/*
		 * The SPTE is writable and the guest may write through it
		 * without another fault: the page is dirty from now on, as
		 * KVM 6.13+ marks prefetched pages.  v9 (6.6) only drops the
		 * reference: the SPTE's D bit reaches the page when it goes.
		 */
		if (kvm_pfn_model_v9(kvm))
			kvm_release_page_unused(kvm, pages[i]);
		else
			kvm_release_page_dirty(kvm, pages[i]);
	}
	return n == nr ? 0 : -1;
}

static void __direct_pte_prefetch(struct kvm_vcpu *vcpu, struct kvm_mmu_page *sp, u64 *sptep)
{
	u64 *spte, *start = NULL;
	int i;

	i = spte_index(sptep) & ~(PTE_PREFETCH_NUM - 1);
	spte = sp->spt + i;
	for (i = 0; i < PTE_PREFETCH_NUM; i++, spte++) {
		if (is_shadow_present_pte(READ_ONCE(*spte)) || spte == sptep) {
			if (!start)
				continue;
			if (direct_pte_prefetch_many(vcpu, sp, start, spte) < 0)
				return;
			start = NULL;
		} else if (!start) {
			start = spte;
		}
	}
	if (start)
		direct_pte_prefetch_many(vcpu, sp, start, spte);
}

/*
 * Maps the 4K neighbours of a fault in the same aligned group of
 * PTE_PREFETCH_NUM, created not-accessed.  Skipped without A/D bits (a
 * prefetched SPTE would look accessed to aging) and while any invalidation
 * is in progress: GUP could then return a page the host is about to
 * replace, and no later invalidation would zap the SPTE.  With none in
 * progress and mmu_lock held, the host cannot start one until we are done.
 */
static void direct_pte_prefetch(struct kvm_vcpu *vcpu, u64 *sptep)
{
	struct kvm_mmu_page *sp = sptep_to_sp(sptep);
	struct kvm *kvm = vcpu->kvm;

	if (!kvm->masks.ad_enabled || sp->role.level > PG_LEVEL_4K)
		return;
	if (unlikely(kvm->mmu_invalidate_in_progress))
		return;
	__direct_pte_prefetch(vcpu, sp, sptep);
}

/**
 * direct_map - install the mapping for a TDP fault in the shadow MMU
 * @vcpu: the faulting vCPU, with topped-up caches and a current root
 * @fault: the fault, with goal_level and pfn final
 *
 * Walks from the root to fault->goal_level, linking (found or new) tables
 * on the way and dropping a huge leaf that is in the way, then installs the
 * leaf and prefetches its neighbours.  mmu_lock is held for write, so
 * nothing races except the lockless A/D and W fix-ups.
 *
 * Return: a RET_PF_* value, or -EFAULT if the walk could not reach the goal.
 */
/*
 * account_nx_huge_page(): @sp was made by an exec fault where a huge page
 * could be; if nothing else keeps the huge page out, NX recovery may zap it.
 */
static void account_nx_huge_page(struct kvm *kvm, struct kvm_mmu_page *sp,
				 bool nx_huge_page_possible)
{
	sp->nx_huge_page_disallowed = true;
	if (nx_huge_page_possible)
		track_possible_nx_huge_page(kvm, sp);
}

int direct_map(struct kvm_vcpu *vcpu, struct kvm_page_fault *fault)
{
	struct kvm_shadow_walk_iterator it;
	struct kvm_mmu_page *sp;
	gfn_t base_gfn = fault->gfn;
	int ret;

	lockdep_assert_held_write(&vcpu->kvm->mmu_lock);
	trace_kvm_mmu_spte_requested(fault);
	for_each_shadow_entry(vcpu->root[fault->as_id], fault->addr, it) {
		u64 spte = READ_ONCE(*it.sptep);

		if (fault->nx_huge_page_workaround_enabled)
			disallowed_hugepage_adjust(fault, spte, it.level);
		base_gfn = gfn_round_for_level(fault->gfn, it.level);
		if (it.level == fault->goal_level)
			break;
		if (is_shadow_present_pte(spte) && !is_large_pte(spte))
			continue;

		sp = kvm_mmu_get_child_sp(vcpu, it.sptep, base_gfn);
		if (!sp)
			return RET_PF_RETRY;
		link_shadow_page(vcpu, it.sptep, sp);
		if (fault->huge_page_disallowed)
			account_nx_huge_page(vcpu->kvm, sp, fault->req_level >= it.level);
	}
	if (WARN_ON_ONCE(it.level != fault->goal_level))
		return -EFAULT;

	ret = mmu_set_spte(vcpu, fault->slot, it.sptep, ACC_ALL, base_gfn, fault->pfn, fault);
	/* An unzapped leaf is a fixed fault to everyone above (the RFC's). */
	if (ret == RET_PF_UNZAPPED)
		ret = RET_PF_FIXED;
	if (ret == RET_PF_FIXED)
		direct_pte_prefetch(vcpu, it.sptep);
	return ret;
}

/* ----------------------------------------------------------------------
 * rmap walks: zap, write-protect, age
 */

typedef bool (*slot_rmaps_handler)(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
				   const struct kvm_memory_slot *slot);

/*
 * Calls @fn for every non-empty rmap of @slot in [start_gfn, end_gfn] at
 * start_level..end_level.  With @can_yield, gives mmu_lock up when someone
 * waits, flushing first if @flush_on_yield and something was changed.
 * Returns whether a flush is still owed.
 */
static bool __walk_slot_rmaps(struct kvm *kvm, const struct kvm_memory_slot *slot,
			      slot_rmaps_handler fn, int start_level, int end_level,
			      gfn_t start_gfn, gfn_t end_gfn, bool can_yield, bool flush_on_yield,
			      bool flush)
{
	struct slot_rmap_walk_iterator iter;

	lockdep_assert_held_write(&kvm->mmu_lock);
	for_each_slot_rmap_range(slot, start_level, end_level, start_gfn, end_gfn, &iter) {
		if (iter.rmap->val)
			flush |= fn(kvm, iter.rmap, slot);
		if (!can_yield)
			continue;
		if (need_resched() || rwlock_needbreak(&kvm->mmu_lock)) {
			/* The whole range: lower levels were done before this one. */
			if (flush && flush_on_yield) {
				kvm_flush_remote_tlbs_range(kvm, start_gfn,
							    end_gfn - start_gfn + 1);
				flush = false;
			}
			cond_resched_rwlock_write(&kvm->mmu_lock);
		}
	}
	return flush;
}

static bool walk_slot_rmaps(struct kvm *kvm, const struct kvm_memory_slot *slot,
			    slot_rmaps_handler fn, int start_level, int end_level,
			    bool flush_on_yield)
{
	return __walk_slot_rmaps(kvm, slot, fn, start_level, end_level, slot->base_gfn,
				 slot->base_gfn + slot->npages - 1, true, flush_on_yield, false);
}

/*
 * The RFC's kvm_zap_rmapp() (MMU-notifier and gfn-range zaps): a pinned
 * leaf becomes zapped-pinned and stays on the rmap, a zapped-pinned one is
 * left alone, every other leaf goes.  Returns whether to flush.
 */
static bool kvm_zap_rmap_keep_pinned(struct kvm *kvm, struct kvm_rmap_head *rmap_head)
{
	struct rmap_iterator iter;
	bool flush = false;
	u64 *sptep;

restart:
	for_each_rmap_spte(rmap_head, &iter, sptep) {
		u64 spte = READ_ONCE(*sptep);

		if (is_zapped_pinned_spte(spte))
			continue;
		flush = true;
		if (is_pinned_spte(spte)) {
			mmu_spte_zap_pinned(kvm, sptep);
			continue;
		}
		drop_spte(kvm, sptep);
		goto restart;
	}
	return flush;
}

static bool kvm_zap_rmap(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
			 const struct kvm_memory_slot *slot)
{
	if (unlikely(kvm->pin_ops))
		return kvm_zap_rmap_keep_pinned(kvm, rmap_head);
	return kvm_zap_all_rmap_sptes(kvm, rmap_head);
}

/* Every SPTE of the list, pins and all: the memslot (and its rmaps) go. */
static bool kvm_drop_rmap(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
			  const struct kvm_memory_slot *slot)
{
	return kvm_zap_all_rmap_sptes(kvm, rmap_head);
}

/*
 * kvm_mmu_zap_memslot() for direct maps: every leaf of @slot, zapped-pinned
 * ones included, since the rmap arrays that hold them are freed with the
 * slot (the RFC's memslot-wide zap went through kvm_mmu_zap_all_fast(),
 * which frees the shadow pages and so drops their pins all the same).
 */
bool kvm_shadow_mmu_zap_memslot(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	return walk_slot_rmaps(kvm, slot, kvm_drop_rmap, PG_LEVEL_4K, KVM_MAX_HUGEPAGE_LEVEL, true);
}

/*
 * kvm_mmu_zap_collapsible_spte(): drop each leaf of @rmap_head whose shadow
 * page sits below the level its gfn could now be mapped at, so the next
 * fault maps it huge.  Every shadow page here is direct (no guest paging).
 */
static bool kvm_mmu_zap_collapsible_spte(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
					 const struct kvm_memory_slot *slot)
{
	struct rmap_iterator iter;
	bool flush = false;
	u64 *sptep;

restart:
	for_each_rmap_spte(rmap_head, &iter, sptep) {
		struct kvm_mmu_page *sp = sptep_to_sp(sptep);
		/*
		 * KVM asks about sp->gfn, which may precede the slot when the
		 * slot starts inside the huge frame; any gfn of that frame has
		 * the same lpage_info entry, so ask about one in the slot.
		 */
		gfn_t gfn = max(sp->gfn, slot->base_gfn);

		/* Collapsing would unpin: skipped (the RFC WARNed, see below). */
		if (unlikely(spte_holds_pin(READ_ONCE(*sptep)))) {
			atomic64_inc(&kvm->stat.pinned_sptes_skipped);
			continue;
		}
		if (sp->role.level < kvm_mmu_max_mapping_level(kvm, slot, gfn, KVM_MAX_HUGEPAGE_LEVEL)) {
			drop_spte(kvm, sptep);
			flush = true;
			goto restart;
		}
	}
	return flush;
}

bool kvm_shadow_mmu_zap_collapsible_sptes(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	return walk_slot_rmaps(kvm, slot, kvm_mmu_zap_collapsible_spte, PG_LEVEL_4K,
			       KVM_MAX_HUGEPAGE_LEVEL - 1, true);
}

bool __kvm_rmap_zap_gfn_range(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t start,
			      gfn_t end, bool can_yield, bool flush)
{
	start = max(start, slot->base_gfn);
	end = min(end, slot->base_gfn + slot->npages);
	if (start >= end)
		return flush;
	return __walk_slot_rmaps(kvm, slot, kvm_zap_rmap, PG_LEVEL_4K, KVM_MAX_HUGEPAGE_LEVEL,
				 start, end - 1, can_yield, true, flush);
}

bool kvm_rmap_zap_gfn_range(struct kvm *kvm, int as_id, gfn_t start, gfn_t end)
{
	struct kvm_memslot_iter iter;
	bool flush = false;
	int i;

	for (i = 0; i < KVM_MAX_NR_ADDRESS_SPACES; i++) {
		struct kvm_memslots *slots = kvm_memslots_as(&kvm->slots, i);

		if (as_id >= 0 && i != as_id)
			continue;
		kvm_for_each_memslot_in_gfn_range(&iter, slots, start, end)
			flush = __kvm_rmap_zap_gfn_range(kvm, iter.slot, start, end, true, flush);
	}
	return flush;
}

/*
 * Clears W; @pt_protect also clears MMU-writable (shadowed guest page
 * tables; never the case for direct maps).  Returns whether to flush.
 */
static bool spte_write_protect(struct kvm *kvm, u64 *sptep, bool pt_protect)
{
	u64 spte = READ_ONCE(*sptep);

	if (!is_writable_pte(spte) && !(pt_protect && is_mmu_writable_spte(&kvm->masks, spte)))
		return false;
	if (pt_protect)
		spte &= ~kvm->masks.shadow_mmu_writable_mask;
	spte &= ~PT_WRITABLE_MASK;
	return mmu_spte_update(kvm, sptep, spte);
}

/*
 * Dirty logging's write protection and D clearing skip pinned leaves: the
 * RFC did not support logging them (an SEV guest could not be migrated
 * then) and WARNed; mmusim counts them in pinned_sptes_skipped instead, so
 * a strategy comparison can run dirty logging on an SEV guest and show
 * the cost: writes through pinned leaves are never logged.
 */
static bool rmap_write_protect(struct kvm *kvm, struct kvm_rmap_head *rmap_head, bool pt_protect)
{
	struct rmap_iterator iter;
	bool flush = false;
	u64 *sptep;

	for_each_rmap_spte(rmap_head, &iter, sptep) {
		if (unlikely(spte_holds_pin(READ_ONCE(*sptep)))) {
			atomic64_inc(&kvm->stat.pinned_sptes_skipped);
			continue;
		}
		flush |= spte_write_protect(kvm, sptep, pt_protect);
	}
	return flush;
}

static bool slot_rmap_write_protect(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
				    const struct kvm_memory_slot *slot)
{
	return rmap_write_protect(kvm, rmap_head, false);
}

bool kvm_shadow_mmu_slot_remove_write_access(struct kvm *kvm, const struct kvm_memory_slot *slot,
					     int start_level)
{
	return walk_slot_rmaps(kvm, slot, slot_rmap_write_protect, start_level,
			       KVM_MAX_HUGEPAGE_LEVEL, false);
}

/*
 * __rmap_clear_dirty(): PML-mode logging clears D so the CPU logs the next
 * write; mmu_spte_update() keeps a D the CPU sets meanwhile (xchg).
 */
static bool __rmap_clear_dirty(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
			       const struct kvm_memory_slot *slot)
{
	struct rmap_iterator iter;
	bool flush = false;
	u64 *sptep;

	for_each_rmap_spte(rmap_head, &iter, sptep) {
		u64 spte = READ_ONCE(*sptep);

		if (unlikely(spte_holds_pin(spte))) {
			atomic64_inc(&kvm->stat.pinned_sptes_skipped);
			continue;
		}
		if (spte & kvm->masks.shadow_dirty_mask)
			flush |= mmu_spte_update(kvm, sptep, spte & ~kvm->masks.shadow_dirty_mask);
	}
	return flush;
}

bool kvm_shadow_mmu_slot_leaf_clear_dirty(struct kvm *kvm, const struct kvm_memory_slot *slot)
{
	return walk_slot_rmaps(kvm, slot, __rmap_clear_dirty, PG_LEVEL_4K, PG_LEVEL_4K, false);
}

void kvm_mmu_clear_dirty_pt_masked(struct kvm *kvm, struct kvm_memory_slot *slot,
				   gfn_t gfn_offset, unsigned long mask)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	while (mask) {
		gfn_t gfn = slot->base_gfn + gfn_offset + __ffs(mask);

		__rmap_clear_dirty(kvm, gfn_to_rmap(gfn, PG_LEVEL_4K, slot), slot);
		mask &= mask - 1;
	}
}

void kvm_mmu_write_protect_pt_masked(struct kvm *kvm, struct kvm_memory_slot *slot,
				     gfn_t gfn_offset, unsigned long mask)
{
	lockdep_assert_held_write(&kvm->mmu_lock);
	while (mask) {
		gfn_t gfn = slot->base_gfn + gfn_offset + __ffs(mask);

		rmap_write_protect(kvm, gfn_to_rmap(gfn, PG_LEVEL_4K, slot), false);
		mask &= mask - 1;
	}
}

/*
 * The rmap half of kvm_mmu_slot_gfn_write_protect(): W and MMU-writable go
 * from every SPTE mapping @gfn at @min_level and above.  mmu_lock for write.
 */
bool kvm_shadow_mmu_gfn_write_protect(struct kvm *kvm, const struct kvm_memory_slot *slot,
				      gfn_t gfn, int min_level)
{
	bool flush = false;
	int level;

	lockdep_assert_held_write(&kvm->mmu_lock);
	for (level = min_level; level <= KVM_MAX_HUGEPAGE_LEVEL; level++)
		flush |= rmap_write_protect(kvm, gfn_to_rmap(gfn, level, slot), true);
	return flush;
}

/*
 * Under mmu_lock for write, but the CPU sets A and D and fast_page_fault()
 * restores access-tracked SPTEs concurrently: clear A atomically, and
 * access-track with a cmpxchg that may fail (the page then stays young).
 * No TLB flush: x86 elides it for aging.
 */
static bool kvm_age_rmap(struct kvm *kvm, struct kvm_rmap_head *rmap_head, bool test_only)
{
	struct rmap_iterator iter;
	bool young = false;
	u64 *sptep;

	for_each_rmap_spte(rmap_head, &iter, sptep) {
		u64 spte = READ_ONCE(*sptep);

		if (!is_shadow_present_pte(spte) || !is_accessed_spte(&kvm->masks, spte))
			continue;
		young = true;
		if (test_only)
			break;
		if (spte_ad_enabled(spte)) {
			__atomic_fetch_and(sptep, ~kvm->masks.shadow_accessed_mask,
					   __ATOMIC_SEQ_CST);
		} else {
			/* v9: access tracking drops W, and with it the dirty state. */
			if (is_writable_pte(spte))
				kvm_spte_set_pfn_dirty(kvm, spte);
			try_cmpxchg64(sptep, &spte, mark_spte_for_access_track(&kvm->masks, spte));
		}
	}
	return young;
}

bool kvm_rmap_age_gfn_range(struct kvm *kvm, struct kvm_gfn_range *range, bool test_only)
{
	const struct kvm_memory_slot *slot = range->slot;
	struct slot_rmap_walk_iterator iter;
	gfn_t start = max(range->start, slot->base_gfn);
	gfn_t end = min(range->end, slot->base_gfn + slot->npages);
	bool young = false;

	lockdep_assert_held_write(&kvm->mmu_lock);
	if (start >= end)
		return false;
	for_each_slot_rmap_range(slot, PG_LEVEL_4K, KVM_MAX_HUGEPAGE_LEVEL, start, end - 1,
				 &iter) {
		if (!iter.rmap->val)
			continue;
		young |= kvm_age_rmap(kvm, iter.rmap, test_only);
		if (young && test_only)
			break;
	}
	return young;
}

/* ----------------------------------------------------------------------
 * Checker, audit and dump
 */

int kvm_shadow_mmu_for_each_leaf(struct kvm *kvm, struct kvm_tdp_mmu_walk_cb *cb)
{
	struct kvm_mmu_page *sp;
	int i, ret;

	lockdep_assert_held(&kvm->mmu_lock);
	list_for_each_entry(sp, &kvm->active_mmu_pages, link) {
		int level = sp->role.level;

		if (level > KVM_MAX_HUGEPAGE_LEVEL)
			continue;
		for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
			u64 spte = READ_ONCE(sp->spt[i]);

			if (!is_shadow_present_pte(spte) || !is_last_spte(spte, level))
				continue;
			ret = cb->leaf(cb, kvm_mmu_page_as_id(sp), kvm_mmu_page_get_gfn(sp, i), spte,
				       level, is_obsolete_sp(kvm, sp));
			if (ret)
				return ret;
		}
	}
	return 0;
}

static bool rmap_has_spte(struct kvm_rmap_head *rmap_head, u64 *sptep)
{
	struct rmap_iterator iter;
	u64 *p;

	for_each_rmap_spte(rmap_head, &iter, p) {
		if (p == sptep)
			return true;
	}
	return false;
}

int kvm_shadow_mmu_audit_rmaps(struct kvm *kvm, u64 nr_leaves, char *msg, size_t msg_size)
{
	struct kvm_mmu_page *sp;
	u64 nr_zapped_pinned = 0;
	int i;

	lockdep_assert_held(&kvm->mmu_lock);
	list_for_each_entry(sp, &kvm->active_mmu_pages, link) {
		int level = sp->role.level;
		struct kvm_memslots *slots;

		if (level > KVM_MAX_HUGEPAGE_LEVEL)
			continue;
		slots = kvm_memslots_as(&kvm->slots, kvm_mmu_page_as_id(sp));
		for (i = 0; i < SPTE_ENT_PER_PAGE; i++) {
			u64 spte = READ_ONCE(sp->spt[i]);
			gfn_t gfn = kvm_mmu_page_get_gfn(sp, i);
			struct kvm_memory_slot *slot;

			/* Zapped-pinned leaves keep their rmap entry (RFC). */
			if (is_zapped_pinned_spte(spte))
				nr_zapped_pinned++;
			else if (!is_shadow_present_pte(spte) || !is_last_spte(spte, level))
				continue;
			slot = __gfn_to_memslot(slots, gfn);
			if (!slot || !slot->arch_rmap[level - 1] ||
			    !rmap_has_spte(gfn_to_rmap(gfn, level, slot), sp->spt + i)) {
				scnprintf(msg, msg_size,
					  "gfn %#llx level %d: %s leaf missing from its rmap",
					  (unsigned long long)gfn, level,
					  is_zapped_pinned_spte(spte) ? "zapped-pinned" :
									"present");
				return -EUCLEAN;
			}
		}
	}
	nr_leaves += nr_zapped_pinned;
	if (kvm->nr_rmap_sptes != nr_leaves) {
		scnprintf(msg, msg_size, "rmaps hold %llu SPTEs, a walk finds %llu leaves",
			  (unsigned long long)kvm->nr_rmap_sptes, (unsigned long long)nr_leaves);
		return -EUCLEAN;
	}
	return 0;
}

static const char *const level_name[] = { "?", "4K", "2M", "1G", "512G", "256T" };

/*
 * Same format as the TDP MMU's dump: each valid root, then one line per
 * present SPTE reachable from it, runs of 4K leaves folded.  The tables
 * have the TDP format, so tdp_iter walks them (under RCU).
 */
int kvm_shadow_mmu_dump(struct kvm *kvm, char *buf, size_t size)
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
	write_lock(&kvm->mmu_lock);
	DUMP("shadow pages %lu\n", kvm->n_used_mmu_pages);
	rcu_read_lock();
	list_for_each_entry(root, &kvm->active_mmu_pages, link) {
		if (root->role.level != kvm->root_level || is_obsolete_sp(kvm, root))
			continue;
		DUMP("root as_id %d level %d refs %d\n", kvm_mmu_page_as_id(root),
		     root->role.level, root->root_count);
		for_each_tdp_pte_min_level_raw(iter, root->spt, root->role.level,
					       kvm_mmu_page_as_id(root), PG_LEVEL_4K, 0,
					       kvm_mmu_max_gfn(&kvm->masks) + 1) {
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
	write_unlock(&kvm->mmu_lock);
#undef DUMP
#undef FLUSH_RUN
	return (int)n;
}
