/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The legacy MMU's reverse map: for each gfn and level of a memslot, the
 * list of SPTEs that map it (arch/x86/kvm/mmu/mmu.c, "rmap").
 *
 * Encoding of a struct kvm_rmap_head (one unsigned long):
 *
 *   val == 0                    empty
 *   bit 0 (KVM_RMAP_MANY) clear the only SPTE: val is a u64 *sptep
 *   bit 0 set                   val & ~KVM_RMAP_MANY is a struct pte_list_desc
 *
 *   head --> [desc A: 3 of 14] --more--> [desc B: 14 of 14] --more--> [C: 14 of 14]
 *            tail_count = 28                tail_count = 14             tail_count = 0
 *
 * Only the head descriptor may be partly filled; every tail is full, so
 * tail_count (entries in all descriptors after this one) never changes once
 * a descriptor becomes a tail, and head->spte_count + head->tail_count is
 * the length in O(1).  Adding to a full head pushes a new head; removing
 * moves the head's last entry into the hole and frees the head when it
 * empties (KVM since 6.3).  A descriptor left with one entry stays a
 * descriptor: the encoding only goes back to 0, never to a single pointer.
 * Bit 1 is KVM_RMAP_LOCKED in KVM 6.15+ (lockless aging); not modelled: all
 * rmap users here hold mmu_lock for write.
 *
 * Per-memslot arrays: slot->arch_rmap[level - 1] holds one head per
 * level-sized page of the slot (gfn_to_index()), allocated for every slot of
 * a legacy-MMU VM when the slot is created or moved (KVM's
 * memslot_rmap_alloc() with kvm_memslots_have_rmaps() true, not the lazy
 * shadow_root_allocated path) and freed with the slot.
 *
 * Locking: every function here expects mmu_lock held for write (the memslot
 * array allocation: slots_lock), except the descriptor cache top-up, which
 * runs before mmu_lock is taken.
 */
#ifndef _MMUSIM_MMU_RMAP_H
#define _MMUSIM_MMU_RMAP_H

#include "mmusim_env.h"
#include "mmu/mmu_internal.h"

#define KVM_RMAP_MANY BIT(0)

/*
 * Fourteen entries: with the two counters and the link, a descriptor is
 * 128 bytes and its metadata shares a cache line with the first entries.
 */
#define PTE_LIST_EXT 14

struct pte_list_desc {
	struct pte_list_desc *more;
	u32 spte_count;		/* entries used in this descriptor */
	u32 tail_count;		/* entries in every descriptor after this one */
	u64 *sptes[PTE_LIST_EXT];
};
static_assert(sizeof(struct pte_list_desc) == 128, "pte_list_desc is two cache lines");

/*
 * Takes (creates with the first user) the pte_list_desc kmem_cache shared by
 * all legacy VMs (KVM: global, created at module load).  No lock held.
 */
int kvm_rmap_init(struct kvm *kvm);
void kvm_rmap_uninit(struct kvm *kvm);

/*
 * Fills @mc to KVM_PTE_LIST_DESC_CACHE_MIN objects; called without
 * mmu_lock.  Return: 0, or -ENOMEM if not even that many could be had.
 */
int mmu_topup_pte_list_desc_cache(struct kvm *kvm, struct kvm_mmu_desc_cache *mc);
void mmu_free_pte_list_desc_cache(struct kvm *kvm, struct kvm_mmu_desc_cache *mc);
void mmu_free_pte_list_desc(struct kvm *kvm, struct pte_list_desc *desc);

/*
 * Adds @spte to the list; a descriptor, if needed, comes from @cache.
 * Return: the number of entries before the add.
 */
int pte_list_add(struct kvm *kvm, struct kvm_mmu_desc_cache *cache, u64 *spte,
		 struct kvm_rmap_head *rmap_head);
/* Removes @spte, which must be on the list (else a data-corruption WARN). */
void pte_list_remove(struct kvm *kvm, u64 *spte, struct kvm_rmap_head *rmap_head);
unsigned int pte_list_count(struct kvm_rmap_head *rmap_head);

/*
 * Walks the SPTEs of one list.  The list must not change during the walk
 * (SPTE values may); use kvm_zap_all_rmap_sptes() style teardown to empty it.
 */
struct rmap_iterator {
	struct pte_list_desc *desc;	/* NULL for a single-entry head */
	int pos;			/* index in desc->sptes */
};

static inline u64 *rmap_get_first(struct kvm_rmap_head *rmap_head, struct rmap_iterator *iter)
{
	unsigned long val = rmap_head->val;

	iter->pos = 0;
	if (!val)
		return NULL;
	if (!(val & KVM_RMAP_MANY)) {
		iter->desc = NULL;
		return (u64 *)val;
	}
	iter->desc = (struct pte_list_desc *)(val & ~KVM_RMAP_MANY);
	return iter->desc->sptes[0];
}

static inline u64 *rmap_get_next(struct rmap_iterator *iter)
{
	if (!iter->desc)
		return NULL;
	if (++iter->pos < (int)iter->desc->spte_count)
		return iter->desc->sptes[iter->pos];
	iter->desc = iter->desc->more;
	if (!iter->desc)
		return NULL;
	iter->pos = 0;
	return iter->desc->sptes[0];
}

#define for_each_rmap_spte(_rmap_head_, _iter_, _sptep_)                                     \
	for (_sptep_ = rmap_get_first(_rmap_head_, _iter_); _sptep_;                          \
	     _sptep_ = rmap_get_next(_iter_))

/* ---- Per-memslot arrays ------------------------------------------------------------ */

/* Allocates slot->arch_rmap[] for @npages pages; -ENOMEM leaves none allocated. */
int memslot_rmap_alloc(struct kvm_memory_slot *slot, unsigned long npages);
/* Frees slot->arch_rmap[] (accepts NULLs); every list must be empty. */
void memslot_rmap_free(struct kvm_memory_slot *slot);

/* @gfn lies in @slot; @level is PG_LEVEL_4K..KVM_MAX_HUGEPAGE_LEVEL. */
static inline struct kvm_rmap_head *gfn_to_rmap(gfn_t gfn, int level,
						const struct kvm_memory_slot *slot)
{
	struct kvm_rmap_head *rmaps = slot->arch_rmap[level - PG_LEVEL_4K];

	return &rmaps[gfn_to_index(gfn, slot->base_gfn, level)];
}

/*
 * Iterates over the rmap heads of @slot for gfns [start_gfn, end_gfn]
 * (inclusive, as KVM's) at levels start_level..end_level, lowest level
 * first, empty heads included (callers skip them, and may yield at each).
 * iter.gfn is the first gfn of the level-sized page the head stands for.
 */
struct slot_rmap_walk_iterator {
	/* input */
	const struct kvm_memory_slot *slot;
	gfn_t start_gfn;
	gfn_t end_gfn;
	int start_level;
	int end_level;
	/* output */
	gfn_t gfn;
	struct kvm_rmap_head *rmap;
	int level;
	/* private */
	struct kvm_rmap_head *end_rmap;
};

void slot_rmap_walk_init(struct slot_rmap_walk_iterator *iter,
			 const struct kvm_memory_slot *slot, int start_level, int end_level,
			 gfn_t start_gfn, gfn_t end_gfn);
void slot_rmap_walk_next(struct slot_rmap_walk_iterator *iter);

static inline bool slot_rmap_walk_okay(struct slot_rmap_walk_iterator *iter)
{
	return !!iter->rmap;
}

#define for_each_slot_rmap_range(_slot_, _start_level_, _end_level_, _start_gfn_, _end_gfn_, \
				 _iter_)                                                     \
	for (slot_rmap_walk_init(_iter_, _slot_, _start_level_, _end_level_, _start_gfn_,     \
				 _end_gfn_);                                                  \
	     slot_rmap_walk_okay(_iter_); slot_rmap_walk_next(_iter_))

#endif /* _MMUSIM_MMU_RMAP_H */
