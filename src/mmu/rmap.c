// SPDX-License-Identifier: GPL-2.0-only
/*
 * The legacy MMU's reverse map (rmap): lists of SPTE pointers per gfn and
 * level, and the per-memslot arrays of list heads.
 *
 * Theory of operation
 * -------------------
 * The encoding and the "tails are full" rule are described in rmap.h.  The
 * lists are plain data: nothing here reads or writes an SPTE, which keeps
 * this file testable on its own (tests/test_rmap.c drives it against a
 * reference model).  shadow_mmu.c builds rmap_add/rmap_remove and the rmap
 * handlers (zap, write-protect, age) on top.
 *
 * Rules:
 *  1. A list is only changed with mmu_lock held for write; nothing walks a
 *     list locklessly (KVM 6.15's rmap bit-lock for lockless aging is not
 *     modelled).
 *  2. Descriptors for additions come from a per-vCPU cache filled before
 *     mmu_lock is taken (mmu_topup_pte_list_desc_cache()), because an
 *     allocation that may sleep is not allowed under the rwlock.  Freed
 *     descriptors go straight back to the kmem_cache: no lockless reader can
 *     hold one.
 *  3. Corruption (removing an SPTE that is not on the list, an empty head
 *     descriptor) is KVM_BUG_ON_DATA_CORRUPTION in KVM; here a WARN, which
 *     fails any test.
 *
 * Who calls what: pte_list_add() from the fault path (vCPU context, cache
 * available); pte_list_remove() and mmu_free_pte_list_desc() from anything
 * holding mmu_lock for write; memslot_rmap_alloc()/free() from the memslot
 * hooks under slots_lock.
 */
#include "mmusim_env.h"
#include "mmu/rmap.h"

/*
 * One pte_list_desc cache for every legacy VM, as KVM's (which it creates at
 * module load): created with the first VM, destroyed with the last, so that
 * two VMs never register two caches of the same name with the slab.
 */
static DEFINE_MUTEX(pte_list_desc_cache_lock);
static struct kmem_cache *pte_list_desc_cache;
static unsigned int pte_list_desc_cache_users;

int kvm_rmap_init(struct kvm *kvm)
{
	int r = 0;

	mutex_lock(&pte_list_desc_cache_lock);
	if (!pte_list_desc_cache_users) {
		pte_list_desc_cache = kmem_cache_create("pte_list_desc",
							sizeof(struct pte_list_desc), 0,
							SLAB_ACCOUNT, NULL);
		if (!pte_list_desc_cache)
			r = -ENOMEM;
	}
	if (!r) {
		pte_list_desc_cache_users++;
		kvm->pte_list_desc_cache = pte_list_desc_cache;
	}
	mutex_unlock(&pte_list_desc_cache_lock);
	return r;
}

void kvm_rmap_uninit(struct kvm *kvm)
{
	if (!kvm->pte_list_desc_cache)
		return;
	mutex_lock(&pte_list_desc_cache_lock);
	if (!--pte_list_desc_cache_users) {
		kmem_cache_destroy(pte_list_desc_cache);
		pte_list_desc_cache = NULL;
	}
	mutex_unlock(&pte_list_desc_cache_lock);
	kvm->pte_list_desc_cache = NULL;
}

int mmu_topup_pte_list_desc_cache(struct kvm *kvm, struct kvm_mmu_desc_cache *mc)
{
	might_sleep();
	while (mc->nobjs < KVM_PTE_LIST_DESC_CACHE_MIN) {
		void *obj = kmem_cache_zalloc(kvm->pte_list_desc_cache, GFP_KERNEL_ACCOUNT);

		if (!obj)
			return -ENOMEM;
		mc->objects[mc->nobjs++] = obj;
	}
	return 0;
}

void mmu_free_pte_list_desc_cache(struct kvm *kvm, struct kvm_mmu_desc_cache *mc)
{
	while (mc->nobjs)
		kmem_cache_free(kvm->pte_list_desc_cache, mc->objects[--mc->nobjs]);
}

/*
 * The cache is sized for the worst case of one fault, so running dry is a
 * bug; KVM then falls back to an atomic allocation, and so does this.
 */
static struct pte_list_desc *mmu_alloc_pte_list_desc(struct kvm *kvm,
						      struct kvm_mmu_desc_cache *mc)
{
	struct pte_list_desc *desc;

	if (WARN_ON_ONCE(!mc->nobjs))
		desc = kmem_cache_zalloc(kvm->pte_list_desc_cache, GFP_ATOMIC | __GFP_NOFAIL);
	else
		desc = mc->objects[--mc->nobjs];
	BUG_ON(!desc);
	return desc;
}

void mmu_free_pte_list_desc(struct kvm *kvm, struct pte_list_desc *desc)
{
	kmem_cache_free(kvm->pte_list_desc_cache, desc);
}

static struct pte_list_desc *rmap_head_desc(struct kvm_rmap_head *rmap_head)
{
	return (struct pte_list_desc *)(rmap_head->val & ~KVM_RMAP_MANY);
}

int pte_list_add(struct kvm *kvm, struct kvm_mmu_desc_cache *cache, u64 *spte,
		 struct kvm_rmap_head *rmap_head)
{
	struct pte_list_desc *desc, *head;
	int count;

	WARN_ON_ONCE((unsigned long)spte & KVM_RMAP_MANY);

	/* 0 -> single. */
	if (!rmap_head->val) {
		rmap_head->val = (unsigned long)spte;
		return 0;
	}

	/* single -> one descriptor holding both. */
	if (!(rmap_head->val & KVM_RMAP_MANY)) {
		desc = mmu_alloc_pte_list_desc(kvm, cache);
		desc->more = NULL;
		desc->tail_count = 0;
		desc->sptes[0] = (u64 *)rmap_head->val;
		desc->sptes[1] = spte;
		desc->spte_count = 2;
		rmap_head->val = (unsigned long)desc | KVM_RMAP_MANY;
		return 1;
	}

	/* many: into the head, or a new head in front of a full one. */
	head = rmap_head_desc(rmap_head);
	count = head->spte_count + head->tail_count;
	if (head->spte_count == PTE_LIST_EXT) {
		desc = mmu_alloc_pte_list_desc(kvm, cache);
		desc->more = head;
		desc->tail_count = count;
		desc->spte_count = 0;
		rmap_head->val = (unsigned long)desc | KVM_RMAP_MANY;
		head = desc;
	}
	head->sptes[head->spte_count++] = spte;
	return count;
}

/*
 * Fills the hole at @desc->sptes[@i] with the head descriptor's last entry,
 * so that tails stay full, and frees the head if that emptied it.
 */
static void pte_list_desc_remove_entry(struct kvm *kvm, struct kvm_rmap_head *rmap_head,
				       struct pte_list_desc *desc, int i)
{
	struct pte_list_desc *head = rmap_head_desc(rmap_head);
	int last = (int)head->spte_count - 1;

	/* Heads are freed as they empty, so an empty head is corruption. */
	if (WARN_ON_ONCE(last < 0))
		return;

	desc->sptes[i] = head->sptes[last];
	head->sptes[last] = NULL;
	head->spte_count--;
	if (head->spte_count)
		return;

	rmap_head->val = head->more ? (unsigned long)head->more | KVM_RMAP_MANY : 0;
	mmu_free_pte_list_desc(kvm, head);
}

void pte_list_remove(struct kvm *kvm, u64 *spte, struct kvm_rmap_head *rmap_head)
{
	struct pte_list_desc *desc;
	u32 i;

	if (WARN_ON_ONCE(!rmap_head->val))
		return;

	if (!(rmap_head->val & KVM_RMAP_MANY)) {
		if (WARN_ON_ONCE((u64 *)rmap_head->val != spte))
			return;
		rmap_head->val = 0;
		return;
	}

	for (desc = rmap_head_desc(rmap_head); desc; desc = desc->more) {
		for (i = 0; i < desc->spte_count; i++) {
			if (desc->sptes[i] == spte) {
				pte_list_desc_remove_entry(kvm, rmap_head, desc, i);
				return;
			}
		}
	}
	WARN_ONCE(1, "mmusim: rmap: spte %p not on its list", spte);
}

unsigned int pte_list_count(struct kvm_rmap_head *rmap_head)
{
	struct pte_list_desc *desc;

	if (!rmap_head->val)
		return 0;
	if (!(rmap_head->val & KVM_RMAP_MANY))
		return 1;
	desc = rmap_head_desc(rmap_head);
	return desc->spte_count + desc->tail_count;
}

/* ---- Per-memslot arrays ------------------------------------------------------------ */

void memslot_rmap_free(struct kvm_memory_slot *slot)
{
	int i;

	for (i = 0; i < KVM_NR_PAGE_SIZES; i++) {
		kvfree(slot->arch_rmap[i]);
		slot->arch_rmap[i] = NULL;
	}
}

int memslot_rmap_alloc(struct kvm_memory_slot *slot, unsigned long npages)
{
	int level;

	for (level = PG_LEVEL_4K; level <= KVM_MAX_HUGEPAGE_LEVEL; level++) {
		unsigned long lpages = __kvm_mmu_slot_lpages(slot, npages, level);

		WARN_ON_ONCE(slot->arch_rmap[level - PG_LEVEL_4K]);
		slot->arch_rmap[level - PG_LEVEL_4K] =
			kvcalloc(lpages, sizeof(struct kvm_rmap_head), GFP_KERNEL_ACCOUNT);
		if (!slot->arch_rmap[level - PG_LEVEL_4K]) {
			memslot_rmap_free(slot);
			return -ENOMEM;
		}
	}
	return 0;
}

/* ---- Slot walks -------------------------------------------------------------------- */

static void rmap_walk_init_level(struct slot_rmap_walk_iterator *iter, int level)
{
	iter->level = level;
	iter->gfn = gfn_round_for_level(iter->start_gfn, level);
	iter->rmap = gfn_to_rmap(iter->start_gfn, level, iter->slot);
	iter->end_rmap = gfn_to_rmap(iter->end_gfn, level, iter->slot);
}

void slot_rmap_walk_init(struct slot_rmap_walk_iterator *iter,
			 const struct kvm_memory_slot *slot, int start_level, int end_level,
			 gfn_t start_gfn, gfn_t end_gfn)
{
	iter->slot = slot;
	iter->start_level = start_level;
	iter->end_level = end_level;
	iter->start_gfn = start_gfn;
	iter->end_gfn = end_gfn;
	if (WARN_ON_ONCE(start_gfn > end_gfn || start_gfn < slot->base_gfn ||
			 end_gfn >= slot->base_gfn + slot->npages)) {
		iter->rmap = NULL;
		return;
	}
	rmap_walk_init_level(iter, start_level);
}

void slot_rmap_walk_next(struct slot_rmap_walk_iterator *iter)
{
	if (++iter->rmap <= iter->end_rmap) {
		iter->gfn += KVM_PAGES_PER_HPAGE(iter->level);
		return;
	}
	if (++iter->level > iter->end_level) {
		iter->rmap = NULL;
		return;
	}
	rmap_walk_init_level(iter, iter->level);
}
