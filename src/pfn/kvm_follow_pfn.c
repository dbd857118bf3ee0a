// SPDX-License-Identifier: GPL-2.0-only
/*
 * __kvm_follow_pfn(): the decision tree from a gfn to a host pfn, in the two
 * models of kvm_pfn.h.  Both walk the same steps; where they differ the
 * code says which:
 *
 *   1. hva: __gfn_to_hva_many(); a write to a read-only slot is
 *      KVM_PFN_ERR_RO_FAULT, no usable slot KVM_PFN_NOSLOT; a read-only
 *      slot never maps writable.
 *   2. GUP-fast for write, if the caller writes or would take a writable
 *      mapping: a refcounted, writable page (6.13 pins it if asked).
 *   3. v9 @atomic: stop there, KVM_PFN_ERR_FAULT.
 *   4. Slow GUP with FOLL_HWPOISON and the caller's flags; a read that
 *      would take a writable mapping retries GUP-fast for write (the
 *      opportunistic upgrade).  -EINTR (6.13: and -EAGAIN) is _SIGPENDING,
 *      -EHWPOISON _HWPOISON.
 *   5. Under mmap_lock, the VMA: none is _FAULT; VM_IO/VM_PFNMAP goes to
 *      follow_pte, with fixup_user_fault() and one retry on a miss; a write
 *      through a read-only PTE is _RO_FAULT.  Then the models part:
 *        v9    the pfn's struct page is referenced if it can be
 *              (get_page_unless_zero); a struct page that cannot (refcount
 *              0, a TTM tail) is refused unless
 *              allow_non_refcounted_struct_page; any unreferenced pfn is
 *              refused unless guarded_by_mmu_notifier or
 *              allow_unsafe_mappings.
 *        6.13  no reference at all; a pin request is -EINVAL (hence
 *              _FAULT) unless allow_unsafe_mappings.
 *      Any other VMA is _NEEDS_IO for FOLL_NOWAIT on a VMA that allows the
 *      access (the page is in swap), _FAULT otherwise.
 *
 * The host's GUP takes mmap_lock itself, so the slow path and the VMA
 * check run under separate acquisitions, as get_user_pages_unlocked() and
 * hva_to_pfn() do in KVM.  May sleep unless @atomic.
 */
#include "mmusim_env.h"
#include "pfn/kvm_pfn.h"

/*
 * kvm_pfn_to_refcounted_page(): RAM with a struct page that is not reserved
 * (the zero page counts as refcounted, as in KVM).  Memory with no struct
 * page (the nopage region) and reserved frames are not.
 */
struct sim_page *kvm_pfn_to_refcounted_page(struct kvm *kvm, kvm_pfn_t pfn)
{
	struct sim_page *page = sim_pfn_to_page(kvm->host, pfn);

	if (!page || (sim_page_flags(kvm->host, page) & SIM_PG_RESERVED))
		return NULL;
	return page;
}

static bool allow_unsafe_mappings(struct kvm *kvm)
{
	return sim_host_kvm_allow_unsafe_mappings(kvm->host);
}

/* A page GUP handed over: the pfn, and the page KVM now holds. */
static kvm_pfn_t follow_pfn_take_page(struct kvm_follow_pfn *foll, struct sim_page *page,
				      bool writable)
{
	foll->writable = writable;
	foll->is_refcounted_page = true;
	foll->refcounted_page = page;
	return sim_page_to_pfn(foll->kvm->host, page);
}

/* hva_to_pfn_fast(): GUP-fast, for write only. */
static bool hva_to_pfn_fast(struct kvm_follow_pfn *foll, kvm_pfn_t *pfn)
{
	unsigned int longterm = foll->longterm ? SIM_FOLL_LONGTERM : 0;
	struct sim_mm *mm = foll->kvm->mm;
	struct sim_page *page;
	long n;

	if (!(foll->flags & FOLL_WRITE) && !foll->try_map_writable)
		return false;
	if (foll->pin)
		n = sim_pin_user_pages_fast(mm, foll->hva, 1, SIM_FOLL_WRITE | longterm, &page);
	else
		n = sim_get_user_pages_fast_only(mm, foll->hva, 1, SIM_FOLL_WRITE, &page);
	if (n != 1)
		return false;
	*pfn = follow_pfn_take_page(foll, page, true);
	return true;
}

/*
 * The caller's FOLL_* flags as the simulated GUP's SIM_FOLL_*.  In the module
 * FOLL_* are the running kernel's, numbered differently on 6.1 (macros in
 * <linux/mm.h>) and 6.12 (an enum in <linux/mm_types.h>); the simulated host
 * has numbers of its own.
 */
static unsigned int foll_to_sim_gup_flags(unsigned int flags)
{
	return (flags & FOLL_WRITE ? SIM_FOLL_WRITE : 0) |
	       (flags & FOLL_NOWAIT ? SIM_FOLL_NOWAIT : 0) |
	       (flags & FOLL_INTERRUPTIBLE ? SIM_FOLL_INTERRUPTIBLE : 0);
}

/* hva_to_pfn_slow(): 1 with *@pfn set, or GUP's errno (0: FOLL_NOWAIT stopped). */
static long hva_to_pfn_slow(struct kvm_follow_pfn *foll, kvm_pfn_t *pfn)
{
	unsigned int flags = SIM_FOLL_HWPOISON | foll_to_sim_gup_flags(foll->flags) |
			     (foll->pin && foll->longterm ? SIM_FOLL_LONGTERM : 0);
	struct sim_mm *mm = foll->kvm->mm;
	struct sim_page *page, *wpage;
	long n;

	if (foll->pin)
		n = sim_pin_user_pages(mm, foll->hva, 1, flags, &page);
	else
		n = sim_get_user_pages(mm, foll->hva, 1, flags, &page);
	if (n != 1)
		return n;

	/* Map a read writable if the host would let it write anyway. */
	if (!(flags & SIM_FOLL_WRITE) && foll->try_map_writable && !foll->pin &&
	    sim_get_user_pages_fast_only(mm, foll->hva, 1, SIM_FOLL_WRITE, &wpage) == 1) {
		sim_put_page(foll->kvm->host, page);
		page = wpage;
		flags |= SIM_FOLL_WRITE;
	}
	*pfn = follow_pfn_take_page(foll, page, flags & SIM_FOLL_WRITE);
	return 1;
}

/*
 * v9's policy for a pfn of a VM_IO/VM_PFNMAP mapping: reference its page
 * if there is one that can be referenced, then decide whether the caller
 * may have it without.
 */
static kvm_pfn_t remapped_pfn_v9(struct kvm_follow_pfn *foll, kvm_pfn_t pfn)
{
	struct kvm *kvm = foll->kvm;
	struct sim_page *page = kvm_pfn_to_refcounted_page(kvm, pfn);

	if (page && sim_get_page_unless_zero(kvm->host, page)) {
		foll->is_refcounted_page = true;
		foll->refcounted_page = page;
		return pfn;
	}
	/* A struct page that is not refcounted: only for callers that know. */
	if (page && !foll->allow_non_refcounted_struct_page)
		return KVM_PFN_ERR_FAULT;
	/* Nothing keeps the pfn valid but the MMU notifier. */
	if (!foll->guarded_by_mmu_notifier && !allow_unsafe_mappings(kvm))
		return KVM_PFN_ERR_FAULT;
	return pfn;
}

/*
 * hva_to_pfn_remapped(): follow_pte(), or fixup_user_fault() and again.
 * Returns 0 with *@p_pfn (possibly an error pfn), or an errno for _FAULT.
 */
static int hva_to_pfn_remapped(struct kvm_follow_pfn *foll, kvm_pfn_t *p_pfn)
{
	struct kvm *kvm = foll->kvm;
	bool write_fault = foll->flags & FOLL_WRITE;
	bool writable;
	kvm_pfn_t pfn;
	int r;

	/* 6.13: remapped memory cannot be pinned in any meaningful sense. */
	if (!kvm_pfn_model_v9(kvm) && foll->pin && !allow_unsafe_mappings(kvm))
		return -EINVAL;

	r = sim_follow_pfn(kvm->mm, foll->hva, false, &pfn, &writable);
	if (r) {
		/* Not populated yet (a driver's lazy ->fault), or zapped. */
		r = sim_fixup_user_fault(kvm->mm, foll->hva, write_fault);
		if (r)
			return r;
		r = sim_follow_pfn(kvm->mm, foll->hva, false, &pfn, &writable);
		if (r)
			return r;
	}
	if (write_fault && !writable) {
		*p_pfn = KVM_PFN_ERR_RO_FAULT;
		return 0;
	}
	/*
	 * The PTE's write bit only tells a caller that may map writable: a
	 * read-only slot clears try_map_writable (6.12 passes no @writable).
	 */
	foll->writable = writable && (write_fault || foll->try_map_writable);
	*p_pfn = kvm_pfn_model_v9(kvm) ? remapped_pfn_v9(foll, pfn) : pfn;
	return 0;
}

/* vma_is_valid(): the VMA allows the access at all. */
static bool vma_is_valid(unsigned long vm_flags, bool write_fault)
{
	if (!(vm_flags & SIM_VM_READ))
		return false;
	return !write_fault || (vm_flags & SIM_VM_WRITE);
}

static kvm_pfn_t hva_to_pfn(struct kvm_follow_pfn *foll)
{
	struct kvm *kvm = foll->kvm;
	unsigned long vm_flags;
	kvm_pfn_t pfn;
	long npages;
	int r;

	if (kvm_pfn_model_v9(kvm) && WARN_ON_ONCE(foll->atomic && (foll->flags & FOLL_NOWAIT)))
		return KVM_PFN_ERR_FAULT;

	if (hva_to_pfn_fast(foll, &pfn))
		return pfn;
	if (kvm_pfn_model_v9(kvm) && foll->atomic)
		return KVM_PFN_ERR_FAULT;

	npages = hva_to_pfn_slow(foll, &pfn);
	if (npages == 1)
		return pfn;
	if (npages == -EINTR || (!kvm_pfn_model_v9(kvm) && npages == -EAGAIN))
		return KVM_PFN_ERR_SIGPENDING;
	if (npages == -EHWPOISON)
		return KVM_PFN_ERR_HWPOISON;

	if (sim_mm_vma_flags(kvm->mm, foll->hva, &vm_flags))
		return KVM_PFN_ERR_FAULT;
	if (vm_flags & (SIM_VM_IO | SIM_VM_PFNMAP)) {
		r = hva_to_pfn_remapped(foll, &pfn);
		return r ? KVM_PFN_ERR_FAULT : pfn;
	}
	if ((foll->flags & FOLL_NOWAIT) && vma_is_valid(vm_flags, foll->flags & FOLL_WRITE))
		return KVM_PFN_ERR_NEEDS_IO;
	return KVM_PFN_ERR_FAULT;
}

kvm_pfn_t __kvm_follow_pfn(struct kvm_follow_pfn *foll)
{
	const struct kvm_memory_slot *slot = foll->slot;

	foll->writable = false;
	foll->is_refcounted_page = false;
	foll->refcounted_page = NULL;
	if (WARN_ON_ONCE(foll->flags & ~KVM_FOLL_FLAGS))
		return KVM_PFN_ERR_FAULT;
	/* 6.13: pin and map_writable are mutually exclusive. */
	if (!kvm_pfn_model_v9(foll->kvm) && WARN_ON_ONCE(foll->pin && foll->try_map_writable))
		return KVM_PFN_ERR_FAULT;

	/* __gfn_to_hva_many() */
	foll->hva = gfn_to_hva_memslot(slot, foll->gfn);
	if (kvm_is_error_hva(foll->hva) || foll->gfn - slot->base_gfn >= slot->npages)
		return KVM_PFN_NOSLOT;
	if (slot->flags & KVM_MEM_READONLY) {
		if (foll->flags & FOLL_WRITE)
			return KVM_PFN_ERR_RO_FAULT;
		foll->try_map_writable = false;
	}
	return hva_to_pfn(foll);
}

kvm_pfn_t kvm_faultin_pfn(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
			  unsigned int flags, bool allow_non_refcounted, struct kvm_follow_pfn *foll)
{
	*foll = (struct kvm_follow_pfn){
		.kvm = kvm,
		.slot = slot,
		.gfn = gfn,
		.flags = flags,
		.try_map_writable = true,
		.guarded_by_mmu_notifier = true,
		.allow_non_refcounted_struct_page = allow_non_refcounted,
	};
	/*
	 * Demand pinning (Nikunj's RFC, patch 1/9): an encrypted slot's page
	 * is looked up with FOLL_PIN | FOLL_LONGTERM, so it leaves movable
	 * memory before the guest can write ciphertext to it; no read-to-
	 * writable upgrade (6.13 forbids it with pin), a read maps read-only.
	 */
	if (slot && (slot->flags & KVM_MEMSLOT_ENCRYPTED)) {
		foll->pin = true;
		foll->longterm = true;
		foll->try_map_writable = false;
	}
	return __kvm_follow_pfn(foll);
}

int kvm_prefetch_pages(struct kvm *kvm, const struct kvm_memory_slot *slot, gfn_t gfn,
		       struct sim_page **pages, int nr)
{
	hva_t hva = gfn_to_hva_memslot(slot, gfn);
	long n;

	/*
	 * Prefetched pages would be mapped without the demand pin (the RFC's
	 * pin_pfn() hook is on the fault path only): no prefetch there.
	 */
	if (kvm_is_error_hva(hva) || (slot->flags & (KVM_MEM_READONLY | KVM_MEMSLOT_ENCRYPTED)) ||
	    gfn + nr > slot->base_gfn + slot->npages)
		return -1;
	n = sim_get_user_pages_fast_only(kvm->mm, hva, nr, SIM_FOLL_WRITE, pages);
	return n < 0 ? 0 : (int)n;
}
