// SPDX-License-Identifier: GPL-2.0-only
/*
 * Demand faults of the host mm: what handle_mm_fault() does for anonymous,
 * THP, hugetlb and VM_PFNMAP memory, plus the CPU-access entry points
 * (sim_mm_touch, sim_mm_read, sim_mm_write) built on it.
 *
 * What a fault installs:
 *
 *   VMA                 read fault                 write fault
 *   private anon 4K     shared zero page, RO       new zeroed page, RW
 *   shared anon 4K      new zeroed page, RW if VM_WRITE
 *   THP-eligible        new zeroed 2M page (falls back to 4K if the order-9
 *                       allocation fails), RW if VM_WRITE
 *   hugetlb 2M/1G       new zeroed huge page, RW if VM_WRITE and (shared or
 *                       write fault), else RO until a write fault reuses it
 *   VM_PFNMAP           nothing: populated by sim_mmap_pfn(); -EFAULT
 *
 *   present RO leaf, write fault in a writable VMA (do_wp_page()):
 *     the zero page      -> copy-on-write: a new page replaces it inside a
 *                           CLEAR invalidation, with change_pte delivered
 *                           between start and end (as Linux did before 6.9)
 *     a page fork shared -> copy-on-write the same way (wp_page_copy(): a
 *       (ANON_SHARED)       copy of its data, a SIM_FRAME_COW event, the
 *                           mapping's reference on the old page dropped),
 *                           unless the faulting mapping holds its only
 *                           reference (the other mm exited or unmapped it):
 *                           then it is exclusive again and reused
 *                           (wp_can_reuse_anon_folio())
 *     any other page     -> reused: W and D set (it is exclusive to this
 *                           mm); it leaves the swap cache
 *   FAULT_FLAG_UNSHARE (a read-only pin) on the zero page or a page fork
 *   shared: the same copy (or reuse), mapped read-only and clean
 *   swap entry           -> swap-in: a new page gets the saved contents,
 *                           mapped writable if the VMA is; a read keeps the
 *                           swap copy (swap cache, page clean), a write
 *                           drops it (page dirty); with SIM_FAULT_NOWAIT,
 *                           SIM_VM_FAULT_RETRY instead
 *
 * THP on a private read fault allocates a THP rather than mapping a huge
 * zero page (transparent_hugepage/use_zero_page = 0).
 *
 * Rules:
 *  1. Callers hold mmap_lock (read is enough) and no page-table lock; a
 *     fault may sleep (allocation) and deliver notifier events (COW).
 *  2. A fault decides under the page-table lock of its entry (the PTE
 *     table's, or the PMD table's for a huge leaf: split locks, pgtable.c),
 *     drops it to allocate, and installs under it only if the entry is
 *     still what it decided on; otherwise it frees what it allocated and
 *     looks again.  So faults 2 MiB apart do not share a lock.
 *  3. Faults never change a present translation's PFN outside an
 *     invalidate_range_start/end pair: only none -> present (new mapping),
 *     swap -> present, and W/A/D upgrades happen outside one, which is
 *     what lets sequence-checked lookups trust a PFN they saw.
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

bool sim_page_is_zero(struct sim_mm *mm, kvm_pfn_t pfn)
{
	return mm && pfn == mm->zero_pfn;
}

/*
 * A page for @vma: anonymous memory is movable (GFP_HIGHUSER_MOVABLE);
 * hugetlb pages are not (hugepages_treat_as_movable = 0).
 */
struct sim_page *sim_alloc_user_page(struct sim_mm *mm, struct sim_vma *vma, unsigned int order,
				     bool zero)
{
	unsigned int flags = SIM_PG_ANON;
	gfp_t gfp = GFP_KERNEL;
	struct sim_page *page;

	if (order)
		gfp |= __GFP_COMP;
	if (zero)
		gfp |= __GFP_ZERO;
	if (sim_vma_hugetlb(vma))
		flags |= SIM_PG_HUGETLB;
	else
		gfp |= GFP_HIGHUSER_MOVABLE;
	if (order && !sim_vma_hugetlb(vma))
		gfp |= __GFP_NOWARN; /* a THP falls back to small pages */
	page = sim_alloc_pages(mm->host, gfp, order);
	if (page)
		__sim_page_set_mm_flags(page, flags);
	return page;
}

/* The bits of a new leaf for @vma. */
static u64 new_leaf_bits(struct sim_vma *vma, bool write, bool writable)
{
	u64 bits = SIM_PTE_PRESENT | SIM_PTE_ACCESSED;

	if (writable && (vma->vm_flags & SIM_VM_WRITE))
		bits |= SIM_PTE_WRITE;
	if (write)
		bits |= SIM_PTE_DIRTY;
	return bits;
}

#define LEAF_NEEDS_COW 1

/*
 * wp_can_reuse_anon_folio() for a page fork shared: only an order-0 page
 * whose one reference is the faulting mapping's may become exclusive again
 * (a GUP reference, or the other mm's mapping, means someone else may still
 * read it).  Under the PTE lock, which keeps the mapping's reference.
 */
static bool sim_wp_can_reuse_locked(struct sim_mm *mm, struct sim_page *page)
{
	if (sim_compound_order(mm->host, page) || sim_page_ref_count(page) != 1)
		return false;
	sim_page_clear_flags(mm->host, page, SIM_PG_ANON_SHARED);
	return true;
}

/* The page @e maps if fork shared it (SIM_PG_ANON_SHARED), else NULL. */
static struct sim_page *shared_anon_page(struct sim_mm *mm, u64 e)
{
	struct sim_page *page;

	if ((e & SIM_PTE_SPECIAL) || !sim_pte_maps_frame(e))
		return NULL;
	page = sim_pfn_to_page(mm->host, sim_pte_pfn(e));
	return page && (sim_page_flags(mm->host, page) & SIM_PG_ANON_SHARED) ? page : NULL;
}

/*
 * A present or PROT_NONE leaf for an access the VMA allows: make it
 * accessible again (after mprotect), reuse it for a write, mark it accessed
 * and dirty as the CPU would.  Under the entry's page-table lock.  Returns
 * 0, or LEAF_NEEDS_COW for a write to the zero page or to a page fork
 * shared that cannot be reused.
 */
static int fix_leaf_locked(struct sim_mm *mm, struct sim_vma *vma, u64 *ptep, u64 e, bool write)
{
	u64 new = e;

	if (sim_pte_protnone(e)) {
		new = (e & ~SIM_PTE_PROTNONE) | SIM_PTE_PRESENT;
		if ((vma->vm_flags & SIM_VM_SHARED) && (vma->vm_flags & SIM_VM_WRITE))
			new |= SIM_PTE_WRITE;
	}
	if (write && !(new & SIM_PTE_WRITE)) {
		struct sim_page *shared = shared_anon_page(mm, e);

		if (sim_page_is_zero(mm, sim_pte_pfn(e)) ||
		    (shared && !sim_wp_can_reuse_locked(mm, shared))) {
			if (new != e)
				sim_set_pte(ptep, new);
			return LEAF_NEEDS_COW;
		}
		/*
		 * Exclusive anonymous page: reuse it (wp_page_reuse).  Its swap
		 * copy, if any, is dropped: the page is about to differ from it
		 * (wp_can_reuse_anon_folio() frees the swap cache).
		 */
		if (!(e & SIM_PTE_SPECIAL)) {
			struct sim_page *page = sim_pfn_to_page(mm->host, sim_pte_pfn(e));

			if (page)
				kfree(sim_swapcache_del(mm->host, page));
		}
		new |= SIM_PTE_WRITE;
	}
	new |= SIM_PTE_ACCESSED | (write ? SIM_PTE_DIRTY : 0);
	if (new != e)
		sim_set_pte(ptep, new);
	return 0;
}

/*
 * Copy-on-write into a new page (wp_page_copy) of the read-only page at
 * @old_pfn: the zero page (@old NULL; the copy is a zeroed page) or a page
 * fork shared (@old, on which the caller took a reference under
 * the PTE lock, so that it cannot be freed while its data is copied;
 * dropped here).  The copy is made before taking the lock, as
 * __wp_page_copy_user() does: nobody writes the page meanwhile, every
 * mapping of it being read-only.  On success the mapping's reference on
 * @old goes too (for a page of a PTE-mapped THP, with the folio's last PTE
 * in this table: pgtable.c's reference rule); the other mm keeps its own.
 * @unshare: FAULT_FLAG_UNSHARE, for a read-only pin: the copy is mapped
 * read-only and clean, as a read would have mapped it; a later write
 * reuses it (it is exclusive).
 */
static int sim_do_wp_page_copy(struct sim_mm *mm, hva_t addr, u64 *ptep, kvm_pfn_t old_pfn,
			       struct sim_page *old, bool unshare)
{
	const u64 same = SIM_PTE_PFN_MASK | SIM_PTE_PRESENT | SIM_PTE_WRITE;
	struct sim_mmu_notifier_range range;
	spinlock_t *ptl = sim_pte_lockptr(mm, ptep, PG_LEVEL_4K);
	struct sim_host *host = mm->host;
	bool done = false, drop_mapping = true;
	struct sim_page *page;
	kvm_pfn_t pfn;
	u64 e;

	page = sim_alloc_pages(host, GFP_HIGHUSER_MOVABLE | (old ? 0 : __GFP_ZERO), 0);
	if (!page) {
		if (old)
			sim_put_page(host, old);
		return -ENOMEM;
	}
	sim_page_set_flags(host, page, SIM_PG_ANON);
	pfn = sim_page_to_pfn(host, page);
	if (old)
		memcpy(sim_page_to_virt(host, page), sim_page_to_virt(host, old), PAGE_SIZE);

	sim_mn_range_init(&range, mm, addr, addr + PAGE_SIZE, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&range);
	spin_lock(ptl);
	e = READ_ONCE(*ptep);
	if ((e & same) == (sim_make_pte(old_pfn, SIM_PTE_PRESENT) & same)) {
		sim_set_pte(ptep,
			    sim_make_pte(pfn, unshare ? SIM_PTE_PRESENT | SIM_PTE_ACCESSED :
							SIM_PTE_PRESENT | SIM_PTE_WRITE |
								SIM_PTE_ACCESSED | SIM_PTE_DIRTY));
		/*
		 * The frame observer sees the data move: for the zero page the
		 * zeroing allocation made the copy; for a page fork shared, a
		 * frame holding (say) a guest's ciphertext is now another frame.
		 */
		sim_frame_event(host, SIM_FRAME_COW, old_pfn, pfn, 1, 0);
		done = true;
		if (old) {
			struct sim_page *head = sim_compound_head(host, old);
			unsigned int order = sim_compound_order(host, head);

			if (order)
				drop_mapping = !sim_folio_mapcount_locked(
					mm, ptep, addr, sim_page_to_pfn(host, head), order);
		}
	}
	spin_unlock(ptl);
	if (done) {
		sim_mn_change_pte(mm, addr, pfn, !unshare);
		atomic64_inc(&host->cnt.cow_breaks);
	}
	sim_mn_invalidate_range_end(&range);
	if (!done)
		sim_put_page(host, page);
	if (old) {
		if (done && drop_mapping)
			sim_put_page(host, old); /* the mapping's reference */
		sim_put_page(host, old);
	}
	return 0;
}

/*
 * The COW of pte_fault() for the leaf @e: take a reference on a shared
 * page under the PTE lock (the caller's), to copy it after the unlock.
 */
static struct sim_page *cow_source_locked(struct sim_mm *mm, u64 e)
{
	struct sim_page *page;

	if (sim_page_is_zero(mm, sim_pte_pfn(e)))
		return NULL;
	page = sim_pfn_to_page(mm->host, sim_pte_pfn(e));
	sim_get_page(mm->host, page);
	return page;
}

/*
 * Touch of a swap entry: bring the saved contents back (do_swap_page).  The
 * page is exclusive to this mm (fork duplicates swap slots, fork.c), so it
 * is mapped writable if the VMA is, and dirty only for a write.  A read keeps the slot: the page
 * enters the swap cache, clean, and reclaim may drop it again without a
 * write until someone dirties it.  A write (or a VM_LOCKED VMA) frees the
 * slot, as should_try_to_free_swap() does.
 */
static int sim_do_swap_page(struct sim_mm *mm, struct sim_vma *vma, u64 *ptep, u64 e, bool write)
{
	struct sim_swap_slot *slot = sim_pte_swap_slot(e);
	bool keep = !write && !(vma->vm_flags & SIM_VM_LOCKED);
	spinlock_t *ptl = sim_pte_lockptr(mm, ptep, PG_LEVEL_4K);
	struct sim_page *page;

	page = sim_alloc_user_page(mm, vma, 0, false);
	if (!page)
		return -ENOMEM;
	spin_lock(ptl);
	if (READ_ONCE(*ptep) == e) {
		/* Under the lock: a racing swap-in may free the slot. */
		memcpy(sim_page_to_virt(mm->host, page), slot->data, PAGE_SIZE);
		sim_frame_event(mm->host, SIM_FRAME_SWAP_IN, slot->from_pfn,
				sim_page_to_pfn(mm->host, page), 1, 0);
		if (keep)
			sim_swapcache_add(mm->host, page, slot);
		sim_set_pte(ptep, sim_make_pte(sim_page_to_pfn(mm->host, page),
					       new_leaf_bits(vma, write, true)));
		page = NULL;
	}
	spin_unlock(ptl);
	if (page) {
		sim_put_page(mm->host, page);
		return 0;
	}
	if (!keep)
		kfree(slot);
	atomic64_inc(&mm->host->cnt.swap_ins);
	return 0;
}

/*
 * do_huge_pmd_wp_page() for a THP that fork shared, on a write or an
 * unshare (@e read-only, under the PMD lock @ptl): if the faulting mapping
 * holds the folio's only reference it is exclusive again and the caller
 * reuses it (0); otherwise the PMD is split in this mm and the fault falls
 * back to the 4K COW of the page (-EAGAIN, @ptl dropped), as
 * Linux does with VM_FAULT_FALLBACK.
 */
static int huge_wp_shared(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, u64 e,
			  spinlock_t *ptl)
{
	struct sim_page *shared = shared_anon_page(mm, e);
	int r;

	if (!shared)
		return 0;
	shared = sim_compound_head(mm->host, shared);
	if (sim_page_ref_count(shared) == 1) {
		sim_page_clear_flags(mm->host, shared, SIM_PG_ANON_SHARED);
		return 0;
	}
	spin_unlock(ptl);
	r = sim_split_huge_pmd(mm, vma, addr);
	return r ? r : -EAGAIN;
}

/*
 * The huge entry @ptep at @level (hugetlb, or THP): fix up the leaf there,
 * or, if it is none and @may_alloc, install a new huge page.  Returns
 * -EAGAIN to fall back to 4K pages (the entry is a table, or none without
 * @may_alloc, or no THP could be allocated, or a THP fork shared was split
 * for a write or an unshare: @flags SIM_FAULT_WRITE, SIM_FAULT_UNSHARE).
 */
static int huge_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, u64 *ptep, int level,
		      unsigned int flags, bool may_alloc)
{
	bool write = flags & SIM_FAULT_WRITE;
	bool hugetlb = sim_vma_hugetlb(vma);
	unsigned int order = sim_level_shift(level) - PAGE_SHIFT;
	spinlock_t *ptl = sim_pte_lockptr(mm, ptep, level);
	struct sim_page *page = NULL;
	int r;

	for (;;) {
		u64 e;

		spin_lock(ptl);
		e = READ_ONCE(*ptep);
		if (sim_pte_is_table(e, level)) {
			/* A THP region already mapped with 4K pages. */
			spin_unlock(ptl);
			r = -EAGAIN;
			break;
		}
		if (e) {
			if (!hugetlb && sim_pte_present(e) && !(e & SIM_PTE_WRITE) &&
			    (flags & (SIM_FAULT_WRITE | SIM_FAULT_UNSHARE))) {
				r = huge_wp_shared(mm, vma, addr, e, ptl);
				if (r)
					break; /* unlocked */
			}
			r = fix_leaf_locked(mm, vma, ptep, e, write);
			spin_unlock(ptl);
			if (WARN_ON_ONCE(r))
				r = -EFAULT;
			break;
		}
		if (!may_alloc) {
			spin_unlock(ptl);
			r = -EAGAIN;
			break;
		}
		if (page) {
			bool writable = !hugetlb || write || (vma->vm_flags & SIM_VM_SHARED);
			u64 bits = new_leaf_bits(vma, write, writable) | SIM_PTE_HUGE;

			/* A writable THP is mapped dirty, as do_huge_pmd_anonymous_page() does. */
			if (!hugetlb && (bits & SIM_PTE_WRITE))
				bits |= SIM_PTE_DIRTY;
			sim_set_pte(ptep, sim_make_pte(sim_page_to_pfn(mm->host, page), bits));
			page = NULL;
			spin_unlock(ptl);
			r = 0;
			break;
		}
		spin_unlock(ptl);
		page = sim_alloc_user_page(mm, vma, order, true);
		if (!page)
			return hugetlb ? -ENOMEM : -EAGAIN;
	}
	if (page)
		sim_put_page(mm->host, page);
	return r;
}

static int sim_hugetlb_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, bool write)
{
	int level = vma->hpage_level, l, r;
	u64 *ptep;

	r = sim_pt_alloc(mm, ALIGN_DOWN(addr, sim_level_size(level)), level, &ptep, &l);
	if (r)
		return r;
	if (WARN_ON_ONCE(l != level))
		return -EFAULT;
	r = huge_fault(mm, vma, addr, ptep, level, write ? SIM_FAULT_WRITE : 0, true);
	return r == -EAGAIN ? -EFAULT : r;
}

/* Returns -EAGAIN to fall back to 4K pages. */
static int thp_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, unsigned int flags)
{
	int l, r;
	u64 *pmdp;

	r = sim_pt_alloc(mm, ALIGN_DOWN(addr, SZ_2M), PG_LEVEL_2M, &pmdp, &l);
	if (r)
		return r;
	if (WARN_ON_ONCE(l != PG_LEVEL_2M))
		return -EFAULT;
	return huge_fault(mm, vma, addr, pmdp, PG_LEVEL_2M, flags, true);
}

static int pte_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, unsigned int flags)
{
	bool write = flags & SIM_FAULT_WRITE;
	bool shared = vma->vm_flags & SIM_VM_SHARED;
	struct sim_page *page = NULL;
	spinlock_t *ptl;
	u64 *ptep;
	int l, r;

	r = sim_pt_alloc(mm, addr, PG_LEVEL_4K, &ptep, &l);
	if (r)
		return r;
	if (l != PG_LEVEL_4K) {
		/*
		 * A THP mapped before the VMA lost VM_HUGEPAGE (or a racing
		 * one): use it; if it went away meanwhile, try again with 4K.
		 */
		r = huge_fault(mm, vma, addr, ptep, l, flags, false);
		return r == -EAGAIN ? pte_fault(mm, vma, addr, flags) : r;
	}

	/*
	 * An empty entry that will need a new page: allocate it before taking
	 * the PTE lock, as do_anonymous_page() does, so the common case
	 * locks once.  The entry is only a hint here; the loop decides under
	 * the lock and frees the page if it is not needed after all.
	 */
	if ((write || shared) && !READ_ONCE(*ptep)) {
		page = sim_alloc_user_page(mm, vma, 0, true);
		if (!page)
			return -ENOMEM;
	}

	ptl = sim_pte_lockptr(mm, ptep, PG_LEVEL_4K);
	for (;;) {
		u64 e;

		spin_lock(ptl);
		e = READ_ONCE(*ptep);
		if (sim_pte_swap(e)) {
			spin_unlock(ptl);
			if (flags & SIM_FAULT_NOWAIT) {
				r = SIM_VM_FAULT_RETRY;
				break;
			}
			r = sim_do_swap_page(mm, vma, ptep, e, write);
			break;
		}
		if (e && !write && (flags & SIM_FAULT_UNSHARE) && sim_pte_present(e)) {
			struct sim_page *shared = shared_anon_page(mm, e);

			if (sim_page_is_zero(mm, sim_pte_pfn(e)) ||
			    (shared && !sim_wp_can_reuse_locked(mm, shared))) {
				struct sim_page *old = cow_source_locked(mm, e);

				spin_unlock(ptl);
				r = sim_do_wp_page_copy(mm, addr, ptep, sim_pte_pfn(e), old, true);
				break;
			}
		}
		if (e) {
			struct sim_page *old = NULL;

			r = fix_leaf_locked(mm, vma, ptep, e, write);
			if (r == LEAF_NEEDS_COW)
				old = cow_source_locked(mm, e);
			spin_unlock(ptl);
			if (r == LEAF_NEEDS_COW)
				r = sim_do_wp_page_copy(mm, addr, ptep, sim_pte_pfn(e), old, false);
			break;
		}
		if (!write && !shared) {
			/* do_anonymous_page() on a read: the zero page, read-only. */
			sim_set_pte(ptep, sim_make_pte(mm->zero_pfn,
						       SIM_PTE_PRESENT | SIM_PTE_ACCESSED));
			spin_unlock(ptl);
			r = 0;
			break;
		}
		if (page) {
			sim_set_pte(ptep, sim_make_pte(sim_page_to_pfn_raw(mm->host, page),
						       new_leaf_bits(vma, write, true)));
			page = NULL;
			spin_unlock(ptl);
			r = 0;
			break;
		}
		spin_unlock(ptl);
		page = sim_alloc_user_page(mm, vma, 0, true);
		if (!page)
			return -ENOMEM;
	}
	if (page)
		sim_put_page(mm->host, page);
	return r;
}

/*
 * VM_PFNMAP memory is populated at mmap time; a PTE that a driver zapped
 * (sim_zap_vma_ptes()) comes back as its ->fault handler would insert it,
 * vmf_insert_pfn() of the PFN the VMA maps there.
 */
static int pfnmap_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, bool write)
{
	int level, r = -EFAULT;
	spinlock_t *ptl;
	u64 *ptep, e;

	r = sim_pt_alloc(mm, addr, PG_LEVEL_4K, &ptep, &level);
	if (r)
		return r;
	ptl = sim_pte_lockptr(mm, ptep, level);
	spin_lock(ptl);
	e = READ_ONCE(*ptep);
	if (!e) {
		u64 bits = SIM_PTE_PRESENT | SIM_PTE_ACCESSED | SIM_PTE_SPECIAL;

		if (vma->vm_flags & SIM_VM_WRITE)
			bits |= SIM_PTE_WRITE;
		e = sim_make_pte(vma->pfn_base + ((addr - vma->vm_start) >> PAGE_SHIFT), bits);
		sim_set_pte(ptep, e);
	}
	r = -EFAULT;
	if (level == PG_LEVEL_4K && sim_pte_maps_frame(e)) {
		r = fix_leaf_locked(mm, vma, ptep, e, write);
		if (r)
			r = -EFAULT;
	}
	spin_unlock(ptl);
	return r;
}

/**
 * sim_handle_mm_fault - resolve a fault at @addr in @vma
 * @fault_flags: SIM_FAULT_WRITE, SIM_FAULT_NOWAIT
 *
 * Caller holds mmap_lock, no page-table lock (rule 1).
 *
 * Return: 0 when the mapping now allows the access (the caller looks
 * again: it may have changed meanwhile), -EFAULT if the VMA forbids it,
 * -ENOMEM, or SIM_VM_FAULT_RETRY when swap-in was needed with NOWAIT.
 */
int sim_handle_mm_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr,
			unsigned int fault_flags)
{
	bool write = fault_flags & SIM_FAULT_WRITE;
	int r;

	lockdep_assert_held(&mm->mmap_lock);
	might_sleep();
	if (!sim_vma_accessible(vma) || (write && !(vma->vm_flags & SIM_VM_WRITE)))
		return -EFAULT;
	addr &= PAGE_MASK;
	if (vma->vm_flags & SIM_VM_SPECIAL)
		return pfnmap_fault(mm, vma, addr, write);
	if (sim_vma_hugetlb(vma))
		return sim_hugetlb_fault(mm, vma, addr, write);
	if (sim_vma_thp_eligible(vma, ALIGN_DOWN(addr, SZ_2M))) {
		r = thp_fault(mm, vma, addr, fault_flags);
		if (r != -EAGAIN)
			return r;
	}
	return pte_fault(mm, vma, addr, fault_flags);
}

/**
 * sim_follow_page - look @addr up without faulting (follow_page_mask)
 * @write: the access needs a writable mapping
 * @grab: SIM_FOLLOW_GRAB_GET or SIM_FOLLOW_GRAB_PIN to take a reference or
 *        pin on the 4K page (under the page-table lock, so it cannot be unmapped
 *        and freed first), or 0
 * @res: receives what was found
 *
 * Marks the leaf accessed (and dirty for a write), as FOLL_TOUCH does.
 * Caller holds mmap_lock; the walk takes only the leaf's lock, as
 * follow_page_pte() takes the PTE lock (pte_offset_map_lock()).
 *
 * Return: 0; -ENOENT when a fault is needed (not present, or read-only for
 * a write); -EFAULT when @grab asks for a page and the mapping has none
 * (VM_PFNMAP); -EHWPOISON for a poisoned page; -ENOMEM if a pin would
 * overflow the refcount.
 */
int sim_follow_page(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, bool write,
		    unsigned int grab, struct sim_follow *res)
{
	struct sim_host *host = mm->host;
	struct sim_page *page = NULL;
	int level, r = 0;
	spinlock_t *ptl;
	kvm_pfn_t pfn;
	u64 *ptep, e;

	lockdep_assert_held(&mm->mmap_lock);
	ptep = sim_pt_walk_lock(mm, addr, &level, &ptl);
	e = READ_ONCE(*ptep);
	if (!sim_pte_present(e) || level > PG_LEVEL_1G || (write && !(e & SIM_PTE_WRITE))) {
		r = -ENOENT;
		goto out;
	}
	pfn = sim_pte_pfn(e) + ((addr & (sim_level_size(level) - 1)) >> PAGE_SHIFT);
	/* gup_must_unshare(): a read-only long-term pin may not hold the zero page. */
	if ((grab & SIM_FOLLOW_UNSHARE) && !(e & SIM_PTE_SPECIAL) && sim_page_is_zero(mm, pfn)) {
		r = -ENOENT;
		goto out;
	}
	if (!(e & SIM_PTE_SPECIAL))
		page = __sim_pfn_to_page(host, pfn);
	/* ... nor any read-only pin a page fork shared: a COW would move it away. */
	if ((grab & SIM_FOLLOW_UNSHARE_ANON) && page &&
	    (__sim_page_flags(host, page) & SIM_PG_ANON_SHARED)) {
		r = -ENOENT;
		goto out;
	}
	/* A memory failure: the CPU would take a machine check (SIGBUS). */
	if (page && (__sim_page_flags(host, page) & SIM_PG_HWPOISON)) {
		r = -EHWPOISON;
		goto out;
	}
	if (grab) {
		if (!page) {
			r = -EFAULT;
			goto out;
		}
		if (grab & SIM_FOLLOW_GRAB_PIN)
			r = sim_page_try_pin(host, page);
		else
			__sim_get_page(host, page);
		if (r)
			goto out;
	}
	fix_leaf_locked(mm, vma, ptep, e, write);
	res->pfn = pfn;
	res->page = page;
	res->level = level;
	res->writable = e & SIM_PTE_WRITE;
out:
	spin_unlock(ptl);
	return r;
}

/*
 * Fault @addr in until it allows the access, then follow it (taking a
 * reference if @grab).  Caller holds mmap_lock.
 */
static int fault_in_and_follow(struct sim_mm *mm, hva_t addr, bool write, unsigned int grab,
			       struct sim_follow *res)
{
	struct sim_vma *vma = sim_vma_lookup(mm, addr);
	int r;

	if (!vma)
		return -EFAULT;
	if (!sim_vma_accessible(vma) || (write && !(vma->vm_flags & SIM_VM_WRITE)))
		return -EFAULT;
	for (;;) {
		r = sim_follow_page(mm, vma, addr, write, grab, res);
		if (r != -ENOENT)
			return r;
		r = sim_handle_mm_fault(mm, vma, addr, write ? SIM_FAULT_WRITE : 0);
		if (r)
			return r;
	}
}

int sim_fixup_user_fault(struct sim_mm *mm, hva_t addr, bool write)
{
	struct sim_vma *vma;
	int r;

	if (!mm)
		return -EINVAL;
	if (addr >= SIM_TASK_SIZE)
		return -EFAULT;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	if (!vma || !sim_vma_accessible(vma) || (write && !(vma->vm_flags & SIM_VM_WRITE)))
		r = -EFAULT;
	/* KVM passes @unlocked, which makes the fault killable (FAULT_FLAG_KILLABLE). */
	else if (READ_ONCE(mm->signal) == SIM_SIGNAL_FATAL)
		r = -EINTR;
	else
		r = sim_handle_mm_fault(mm, vma, addr, write ? SIM_FAULT_WRITE : 0);
	up_read(&mm->mmap_lock);
	return r;
}

int sim_mm_touch(struct sim_mm *mm, hva_t addr, bool write)
{
	struct sim_follow res;
	int r;

	if (!mm)
		return -EINVAL;
	if (addr >= SIM_TASK_SIZE)
		return -EFAULT;
	down_read(&mm->mmap_lock);
	r = fault_in_and_follow(mm, addr, write, 0, &res);
	up_read(&mm->mmap_lock);
	return r;
}

/*
 * Copy through the host mapping, page by page, as copy_{to,from}_user()
 * would with faults resolved.  A reference on the page is held while its
 * bytes are copied, so migration or swap-out of that page waits (-EBUSY)
 * rather than losing the copy.  Bytes before a failing page stay copied.
 */
static int access_mm(struct sim_mm *mm, hva_t addr, void *buf, u64 len, bool write)
{
	struct sim_host *host;
	int r = 0;

	if (!mm || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	if (addr >= SIM_TASK_SIZE || len > SIM_TASK_SIZE - addr)
		return -EFAULT;
	host = mm->host;
	down_read(&mm->mmap_lock);
	while (len) {
		u64 off = addr & ~PAGE_MASK, n = min_t(u64, len, PAGE_SIZE - off);
		struct sim_vma *vma = sim_vma_lookup(mm, addr);
		struct sim_follow res;
		u8 *data;

		/* VM_PFNMAP frames have no refcount; mmap_lock keeps them mapped. */
		r = fault_in_and_follow(mm, addr, write,
					vma && !(vma->vm_flags & SIM_VM_SPECIAL) ?
					SIM_FOLLOW_GRAB_GET : 0, &res);
		if (r)
			break;
		data = (u8 *)sim_pfn_to_virt(host, res.pfn) + off;
		if (write)
			memcpy(data, buf, n);
		else
			memcpy(buf, data, n);
		if (res.page && vma && !(vma->vm_flags & SIM_VM_SPECIAL))
			sim_put_page(host, res.page);
		addr += n;
		buf = (u8 *)buf + n;
		len -= n;
	}
	up_read(&mm->mmap_lock);
	return r;
}

int sim_mm_write(struct sim_mm *mm, hva_t addr, const void *buf, u64 len)
{
	return access_mm(mm, addr, (void *)buf, len, true);
}

int sim_mm_read(struct sim_mm *mm, hva_t addr, void *buf, u64 len)
{
	return access_mm(mm, addr, buf, len, false);
}
