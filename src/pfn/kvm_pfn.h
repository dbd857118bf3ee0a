/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * gfn -> host pfn, and what KVM may then do with the page: the generic half
 * of virt/kvm's pfn code (kvm_main.c, kvm_mm.h), used by both x86 MMUs and
 * by kvm_vcpu_map().  Nothing here knows SPTEs; the MMUs call in, the code
 * calls out to the host's GUP, follow_pte and fixup_user_fault only.
 *
 * Two behaviours, one per VM (mmusim_vm_config.pfn_model):
 *
 *   KVM_PFN_MODEL_6_13  upstream as merged in 6.13 ("KVM: Stop grabbing
 *                       references to PFNMAP'd pages"): VM_IO/VM_PFNMAP pfns
 *                       are used without any reference; kvm_follow_pfn.pin
 *                       asks for a FOLL_PIN, refused for PFNMAP memory unless
 *                       allow_unsafe_mappings; refcounted_page says which
 *                       page KVM holds.  The default.
 *   KVM_PFN_MODEL_V9    David Stevens' "KVM: allow mapping non-refcounted
 *                       pages" v9 (2023-09, on 6.6; never merged): a PFNMAP
 *                       pfn with a refcountable struct page is referenced
 *                       like GUP's pages; a pfn that cannot be referenced is
 *                       refused unless the caller is guarded by MMU
 *                       notifiers (or allow_unsafe_mappings), and a non-
 *                       refcounted *struct page* (a TTM tail page) unless
 *                       the caller allows them.  SPTE changes propagate A/D
 *                       to refcounted pages, as 6.6 did.
 *
 * Caller contract (both): a page is released only if KVM holds it
 * (is_refcounted_page / refcounted_page != NULL); a non-refcounted pfn is
 * never turned into a page reference.  Marking a page accessed or dirty
 * WARNs unless its refcount is elevated (Sean's patch in v9): KVM may only
 * touch a page's state while someone holds it.
 *
 * Locking: __kvm_follow_pfn() may sleep (GUP, fixup_user_fault): the caller
 * holds kvm->srcu at most, never mmu_lock, unless @atomic.
 */
#ifndef _MMUSIM_PFN_KVM_PFN_H
#define _MMUSIM_PFN_KVM_PFN_H

#include "mmu/kvm_host.h"

/* Error pfns: bits 52..62 (KVM_PFN_ERR_MASK), KVM_PFN_NOSLOT bit 63. */
#define KVM_PFN_ERR_MASK (0x7ffULL << 52)
#define KVM_PFN_ERR_NOSLOT_MASK (0xfffULL << 52)
#define KVM_PFN_NOSLOT (0x1ULL << 63)

#define KVM_PFN_ERR_FAULT (KVM_PFN_ERR_MASK)
#define KVM_PFN_ERR_HWPOISON (KVM_PFN_ERR_MASK + 1)
#define KVM_PFN_ERR_RO_FAULT (KVM_PFN_ERR_MASK + 2)
#define KVM_PFN_ERR_SIGPENDING (KVM_PFN_ERR_MASK + 3)
#define KVM_PFN_ERR_NEEDS_IO (KVM_PFN_ERR_MASK + 4)

static inline bool is_error_pfn(kvm_pfn_t pfn)
{
	return !!(pfn & KVM_PFN_ERR_MASK);
}

static inline bool is_error_noslot_pfn(kvm_pfn_t pfn)
{
	return !!(pfn & KVM_PFN_ERR_NOSLOT_MASK);
}

static inline bool is_noslot_pfn(kvm_pfn_t pfn)
{
	return pfn == KVM_PFN_NOSLOT;
}

static inline bool is_sigpending_pfn(kvm_pfn_t pfn)
{
	return pfn == KVM_PFN_ERR_SIGPENDING;
}

/*
 * GUP flags a caller may pass in kvm_follow_pfn.flags: the kernel's FOLL_*
 * (from the seam), which __kvm_follow_pfn() turns into the simulated GUP's
 * SIM_FOLL_*.
 */
#define KVM_FOLL_FLAGS (FOLL_WRITE | FOLL_NOWAIT | FOLL_INTERRUPTIBLE)

/*
 * One lookup.  The inputs of both models are here; each reads its own and
 * ignores the other's (v9: atomic, try_map_writable, guarded_by_mmu_notifier,
 * allow_non_refcounted_struct_page; 6.13: pin, try_map_writable standing in
 * for its map_writable pointer being non-NULL).
 */
struct kvm_follow_pfn {
	/* In the kernel these come from current; here from the VM. */
	struct kvm *kvm;
	const struct kvm_memory_slot *slot;
	gfn_t gfn;
	unsigned int flags;		/* FOLL_WRITE, FOLL_NOWAIT, FOLL_INTERRUPTIBLE */
	bool atomic;			/* v9: GUP-fast only, never sleep */
	bool try_map_writable;		/* a read may come back writable */
	bool guarded_by_mmu_notifier;	/* v9: the caller drops the pfn on invalidation */
	bool allow_non_refcounted_struct_page; /* v9: the caller honours is_refcounted_page */
	bool pin;			/* 6.13: FOLL_PIN, for KVM's own kernel mappings
					 * (v9 callers leave it false) */
	bool longterm;			/* and FOLL_LONGTERM (Nikunj's use_pin) */

	/* Outputs. */
	hva_t hva;
	bool writable;
	bool is_refcounted_page;	/* KVM holds refcounted_page (a ref, or a pin) */
	struct sim_page *refcounted_page;
};

kvm_pfn_t __kvm_follow_pfn(struct kvm_follow_pfn *foll);

/* The page behind @pfn if it is one KVM may reference: RAM that is not reserved. */
struct sim_page *kvm_pfn_to_refcounted_page(struct kvm *kvm, kvm_pfn_t pfn);

/*
 * The fault path's lookup (arch __kvm_faultin_pfn() in either model): FOLL_
 * flags from the fault, MMU-notifier guarded, opportunistically writable,
 * non-refcounted struct pages allowed only where the SPTE can say so
 * (@allow_non_refcounted).  The error pfn or the pfn, with @foll filled.
 */
kvm_pfn_t kvm_faultin_pfn(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
			  unsigned int flags, bool allow_non_refcounted, struct kvm_follow_pfn *foll);

/*
 * gfn_to_page_many_atomic() / kvm_prefetch_pages(): GUP-fast for writable
 * refcounted pages at @gfn onwards, never sleeping.  Returns how many were
 * taken (0..@nr), or -1 if the range leaves the slot or it is read-only.
 */
int kvm_prefetch_pages(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
		       struct sim_page **pages, int nr);

/* ---------------------------------------------------------------------------
 * Page state and release.
 */

/*
 * A page KVM marks accessed or dirty must be held by someone (Sean's WARN in
 * v9): with refcount 0 it is free, or a tail KVM should never have touched.
 * Pages the host reserves are left alone.
 */
static inline bool kvm_is_ad_tracked_page(struct kvm *kvm, struct sim_page *page)
{
	if (sim_page_flags(kvm->host, page) & SIM_PG_RESERVED)
		return false;
	return !WARN_ONCE(sim_page_count(kvm->host, page) <= 0,
			  "KVM: A/D of a page whose refcount is not elevated");
}

static inline void kvm_set_page_dirty(struct kvm *kvm, struct sim_page *page)
{
	if (unlikely(READ_ONCE(kvm->debug_skip_page_dirty)))
		return;
	if (kvm_is_ad_tracked_page(kvm, page))
		sim_set_page_dirty(kvm->host, page);
}

static inline void kvm_set_page_accessed(struct kvm *kvm, struct sim_page *page)
{
	if (kvm_is_ad_tracked_page(kvm, page))
		sim_mark_page_accessed(kvm->host, page);
}

/* Release a page KVM holds a reference on; NULL (nothing held) is fine. */
static inline void kvm_release_page_clean(struct kvm *kvm, struct sim_page *page)
{
	if (!page)
		return;
	kvm_set_page_accessed(kvm, page);
	sim_put_page(kvm->host, page);
}

static inline void kvm_release_page_dirty(struct kvm *kvm, struct sim_page *page)
{
	if (!page)
		return;
	kvm_set_page_dirty(kvm, page);
	kvm_release_page_clean(kvm, page);
}

static inline void kvm_release_page_unused(struct kvm *kvm, struct sim_page *page)
{
	if (page)
		sim_put_page(kvm->host, page);
}

/*
 * kvm_release_pfn_clean() of Nikunj Dadhania's demand-pinning RFC v1 (patch
 * 1/9): a page KVM pinned (an encrypted memslot's lookup) and one it
 * referenced go back through one call, which tells them apart by
 * page_maybe_dma_pinned().  That is a heuristic: a small page with 1024
 * ordinary references reads as pinned, and the "unpin" then drops 1024
 * references (Sean's review; tests/test_sev_memslot.c reproduces it).
 */
static inline void kvm_release_pfn_clean(struct kvm *kvm, struct sim_page *page)
{
	if (!page)
		return;
	kvm_set_page_accessed(kvm, page);
	if (sim_page_maybe_dma_pinned(kvm->host, page))
		sim_unpin_user_page(kvm->host, page);
	else
		sim_put_page(kvm->host, page);
}

/*
 * 6.13's release of the page a fault looked up: @unused if no SPTE was
 * installed or reused (RET_PF_RETRY), @dirty if the host mapping was
 * writable.  Under mmu_lock unless @unused: a dirty mark outside it could
 * race with the host cleaning the page.
 */
static inline void kvm_release_faultin_page(struct kvm *kvm, struct sim_page *page, bool unused,
					    bool dirty)
{
	if (!unused)
		lockdep_assert_held(&kvm->mmu_lock);
	if (!page)
		return;
	if (unused)
		kvm_release_page_unused(kvm, page);
	else if (dirty)
		kvm_release_page_dirty(kvm, page);
	else
		kvm_release_page_clean(kvm, page);
}

static inline bool kvm_pfn_model_v9(struct kvm *kvm)
{
	return kvm->pfn_model == KVM_PFN_MODEL_V9;
}

/* ---------------------------------------------------------------------------
 * kvm_vcpu_map(): a kernel mapping of one guest page (kvm_host_map.c).
 */

/* The merged API's marker for memory with no struct page (5.2 .. 6.12). */
#define KVM_UNMAPPED_PAGE ((struct sim_page *)(unsigned long)0x500)

struct kvm_host_map {
	struct sim_page *page;		/* KVM_UNMAPPED_PAGE if the pfn has none */
	void *hva;			/* kmap() or memremap() address; NULL: unmapped */
	kvm_pfn_t pfn;
	kvm_pfn_t gfn;			/* typed kvm_pfn_t, as merged */
	bool is_refcounted_page;	/* v9: KVM holds @page */
	struct sim_page *pinned_page;	/* 6.13: the page pinned, or NULL */
	bool writable;			/* 6.13: mapped for write */
	int as_id;			/* mmusim: where @gfn was looked up (0; checker) */
};

static inline bool kvm_vcpu_mapped(struct kvm_host_map *map)
{
	return !!map->hva;
}

/*
 * Map @gfn of the vCPU's address space: -EINVAL for a NULL map, no slot or
 * an error pfn, -EFAULT when no kernel mapping can be made.  @writable is
 * 6.13's argument (kvm_vcpu_map() vs kvm_vcpu_map_readonly()); v9 always
 * maps for write.
 */
int __kvm_vcpu_map(struct kvm_vcpu *vcpu, gfn_t gfn, struct kvm_host_map *map, bool writable);
/*
 * Undo it: v9 marks the gfn dirty in the log and releases the page dirty
 * if @dirty, clean otherwise, only if refcounted; 6.13 goes by map->writable
 * and unpins.  NULL or an unmapped map: nothing.
 */
void kvm_vcpu_unmap(struct kvm_vcpu *vcpu, struct kvm_host_map *map, bool dirty);

#endif /* _MMUSIM_PFN_KVM_PFN_H */
