// SPDX-License-Identifier: GPL-2.0-only
/*
 * fork() of a host address space: sim_mm_fork() is dup_mmap() with
 * copy_page_range() (kernel/fork.c, mm/memory.c, Linux 6.12), so that the
 * host can share pages copy-on-write and a write can later move the data of
 * a frame that a guest still uses (the COW break in fault.c).
 *
 * What the child gets, per VMA of the parent:
 *
 *   VMA                      leaf                       child            parent
 *   SIM_VM_DONTCOPY          -                          no VMA           as is
 *   SIM_VM_WIPEONFORK        -                          VMA, no entries  as is
 *   private (COW mapping)    anon page, THP (PMD or     same pfn, RO     RO, shared
 *                              PTE-mapped)
 *                            ... pinned (exclusive)     a copy, RW       as is
 *                            hugetlb page               a copy, RW       as is
 *                            zero page                  its zero page    as is
 *                            swap entry                 a copy of slot   as is
 *   shared anon, hugetlb     any leaf                   same pfn, clean  as is
 *   VM_PFNMAP                special PTE                same PTE         as is
 *
 * "shared" is Linux's folio_try_dup_anon_rmap_pte(): the page loses its
 * exclusivity (SIM_PG_ANON_SHARED, the inverse of PageAnonExclusive), the
 * child takes a reference (the mapping's), and both PTEs lose W; the next
 * write fault on either side copies it, or reuses it once the writer's
 * mapping holds its only reference (wp_can_reuse_anon_folio()).  "pinned"
 * is page_needs_cow_for_dma(): a page with FOLL_PIN pins keeps its frame in
 * the parent, where the pin's user (DMA, an SEV pin) expects writes to show,
 * and the child gets a copy at once (copy_present_page()).  The child's
 * VMAs lose VM_LOCKED and its locked_vm starts at 0 (dup_mmap()).
 *
 * Where the simulator differs from Linux, and why:
 *  - hugetlb pages of private mappings are copied for the child at fork
 *    (Linux shares them too, and hugetlb_wp() copies the whole page on a
 *    write); a pinned THP mapped by its PMD is copied whole, where Linux
 *    splits the PMD and copies 4K pages.  An unpinned THP is shared as in
 *    Linux: a write splits the faulting mm's PMD (the folio stays whole,
 *    PTE-mapped, while the other mm maps it) and copies the 4K page
 *    (do_huge_pmd_wp_page(), then do_wp_page()), or reuses the THP if the
 *    faulting mapping holds its only reference.
 *  - Shared anonymous memory has no page cache here (the PTEs are the shmem
 *    object), so its entries are copied with a reference, where Linux leaves
 *    them to be faulted in from shmem; a page first faulted in after the
 *    fork is not shared.
 *  - A swap entry's slot is duplicated (Linux shares it, swap_duplicate()),
 *    and a shared page leaves the swap cache: a swap slot and a swap-cache
 *    page each belong to one mm, as the rest of the host assumes.
 *
 * Locks: the parent's mmap_lock for write (no fault, GUP or host event runs
 * on it meanwhile, except GUP-fast), the child's nested inside it, and for
 * each leaf the parent's page-table lock of that leaf (split locks,
 * pgtable.c) with the child's lock of its entry nested inside.
 * The COW VMAs are copied inside a PROTECTION_PAGE invalidation of the
 * parent's range (secondary MMUs, KVM, drop their writable translations)
 * and with the parent's write_protect_seq odd: GUP-fast pins only while it
 * is even and unchanged, so a pin either came before fork's pinned check
 * (the page is copied) or is dropped again (GUP-fast falls back to GUP,
 * which waits for mmap_lock and then breaks COW).
 *
 * Allocations (child tables, copied pages, swap slots) cannot be made
 * under a page-table lock: the copy of a leaf says what it needs, the loop
 * drops the locks, allocates, and copies that leaf again.  On any failure
 * the child is destroyed, which drops every reference it took; the parent
 * keeps its pages (some write-protected, which the next write fault
 * reuses), as Linux's failed fork leaves it.
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

/* What copying a leaf needs before it can be done again. */
enum copy_need {
	COPY_DONE,
	COPY_NEED_TABLE, /* a child table down to the leaf's level */
	COPY_NEED_PAGE, /* a page of order need_order to copy into */
	COPY_NEED_SLOT, /* a swap slot */
};

struct fork_copy {
	struct sim_mm *src, *dst;
	struct sim_vma *src_vma, *dst_vma;
	unsigned int need_order;
	int need_level;
	struct sim_page *prealloc; /* of prealloc_order, or NULL */
	unsigned int prealloc_order;
	struct sim_swap_slot *slot;
};

/* is_cow_mapping(): private memory with struct pages (the host has no VM_MAYWRITE). */
static bool fork_is_cow(const struct sim_vma *vma)
{
	return !(vma->vm_flags & (SIM_VM_SHARED | SIM_VM_SPECIAL));
}

/* The child's entry for @e, with the PFN replaced by @pfn and Linux's pte_mkold(). */
static u64 child_entry(u64 e, kvm_pfn_t pfn)
{
	return sim_make_pte(pfn, e & ~(SIM_PTE_PFN_MASK | SIM_PTE_ACCESSED));
}

/*
 * copy_present_page(): a copy of the page mapped by @e (the whole page for a
 * huge leaf, the 4K page for a PTE), into the preallocated page, mapped
 * writable and dirty in the child if its VMA is writable.
 */
static int copy_leaf_page(struct fork_copy *fc, u64 e, int level, u64 *dst_ptep, unsigned int order)
{
	struct sim_host *host = fc->src->host;
	kvm_pfn_t pfn = sim_pte_pfn(e), new_pfn;
	struct sim_page *page = sim_pfn_to_page(host, pfn);
	u64 bits;

	if (!fc->prealloc || fc->prealloc_order != order) {
		fc->need_order = order;
		return COPY_NEED_PAGE;
	}
	/* Poison is never copied into a clean page (copy_mc_user_highpage()). */
	if (sim_page_flags(host, page) & SIM_PG_HWPOISON)
		return -EHWPOISON;
	new_pfn = sim_page_to_pfn(host, fc->prealloc);
	if (level > PG_LEVEL_4K)
		sim_copy_page_data(host, fc->prealloc, page);
	else
		memcpy(sim_pfn_to_virt(host, new_pfn), sim_pfn_to_virt(host, pfn), PAGE_SIZE);
	fc->prealloc = NULL;
	bits = (e & (SIM_PTE_PRESENT | SIM_PTE_PROTNONE | SIM_PTE_HUGE)) | SIM_PTE_DIRTY;
	if ((e & SIM_PTE_PRESENT) && (fc->dst_vma->vm_flags & SIM_VM_WRITE))
		bits |= SIM_PTE_WRITE;
	sim_set_pte(dst_ptep, sim_make_pte(new_pfn, bits));
	atomic64_inc(&host->cnt.fork_copies);
	return COPY_DONE;
}

/*
 * The child's mapping reference on @page, shared with the parent: one per
 * order-0 page; a compound page (THP, hugetlb) takes one per mm, for its
 * huge leaf or for all its PTEs in one table (pgtable.c's reference rule),
 * so a PTE-mapped THP takes it with its first PTE in the child's table.
 * Before *@dst_ptep is set.
 */
static void dup_mapping_ref_locked(struct fork_copy *fc, u64 *dst_ptep, hva_t addr, int level,
				   struct sim_page *page)
{
	struct sim_host *host = fc->src->host;
	struct sim_page *head = sim_compound_head(host, page);
	unsigned int order = sim_compound_order(host, head);

	if (level > PG_LEVEL_4K || !order ||
	    !sim_folio_mapcount_locked(fc->dst, dst_ptep, addr, sim_page_to_pfn(host, head), order))
		sim_get_page(host, head);
}

/*
 * Copy the leaf *@ptep (entry @e, at @level, mapping from @addr) into the
 * child's *@dst_ptep.  Both entries' page-table locks held.  Returns
 * COPY_DONE, a COPY_NEED_*, or a negative errno.
 */
static int copy_leaf_both_locked(struct fork_copy *fc, u64 *ptep, u64 e, int level, hva_t addr,
				 u64 *dst_ptep)
{
	struct sim_host *host = fc->src->host;
	struct sim_page *page, *head;
	unsigned int order;
	kvm_pfn_t pfn;

	if (WARN_ON_ONCE(READ_ONCE(*dst_ptep)))
		return -EFAULT;

	if (sim_pte_swap(e)) {
		/* copy_nonpresent_pte(): the child's swap-in reads the same data. */
		if (!fc->slot)
			return COPY_NEED_SLOT;
		memcpy(fc->slot, sim_pte_swap_slot(e), sizeof(*fc->slot));
		sim_set_pte(dst_ptep, sim_make_swap_pte(fc->slot));
		fc->slot = NULL;
		return COPY_DONE;
	}
	if (WARN_ON_ONCE(!sim_pte_maps_frame(e)))
		return -EFAULT;
	pfn = sim_pte_pfn(e);
	if (e & SIM_PTE_SPECIAL) {
		/* VM_PFNMAP: vm_normal_page() is NULL, the PTE is copied. */
		sim_set_pte(dst_ptep, child_entry(e, pfn));
		return COPY_DONE;
	}
	if (sim_page_is_zero(fc->src, pfn)) {
		/* Each mm has its own zero page (mm.c): the child maps its own. */
		sim_set_pte(dst_ptep, child_entry(e, fc->dst->zero_pfn));
		return COPY_DONE;
	}
	page = sim_pfn_to_page(host, pfn);
	if (WARN_ON_ONCE(!page))
		return -EFAULT;
	head = sim_compound_head(host, page);
	order = sim_compound_order(host, head);

	if (!fork_is_cow(fc->src_vma)) {
		/* Shared memory: clean in the child (copy_present_pte()'s pte_mkclean()). */
		dup_mapping_ref_locked(fc, dst_ptep, addr, level, page);
		sim_set_pte(dst_ptep, child_entry(e, pfn) & ~SIM_PTE_DIRTY);
		return COPY_DONE;
	}

	/* hugetlb: a copy (see the theory block: hugetlb pages are not COW-shared here). */
	if (level > PG_LEVEL_4K && sim_vma_hugetlb(fc->src_vma))
		return copy_leaf_page(fc, e, level, dst_ptep, sim_level_shift(level) - PAGE_SHIFT);
	/*
	 * folio_try_dup_anon_rmap_pte/pmd(): an exclusive folio with pins is
	 * the pin holder's; the child gets a copy (a THP mapped by its PMD:
	 * a THP copy, where Linux splits the PMD and copies 4K pages) and the
	 * parent keeps it writable.  GUP-fast cannot pin it after this check
	 * (write_protect_seq is odd).
	 */
	if (!(sim_page_flags(host, page) & SIM_PG_ANON_SHARED) &&
	    sim_page_maybe_dma_pinned(host, head))
		return copy_leaf_page(fc, e, level, dst_ptep,
				      level > PG_LEVEL_4K ? sim_level_shift(level) - PAGE_SHIFT :
							    0);

	/* A swap-cache page belongs to one mm here: its swap copy goes. */
	if (!order)
		kfree(sim_swapcache_del(host, page));
	sim_page_set_flags(host, page, SIM_PG_ANON_SHARED); /* a THP's head: the whole folio */
	dup_mapping_ref_locked(fc, dst_ptep, addr, level, page);
	if (e & SIM_PTE_WRITE) {
		e &= ~SIM_PTE_WRITE;
		sim_set_pte(ptep, e); /* ptep_set_wrprotect(), pmdp_set_wrprotect() */
	}
	sim_set_pte(dst_ptep, child_entry(e, pfn));
	return COPY_DONE;
}

/*
 * Copy the leaf *@ptep, whose page-table lock is held, into the child: the
 * child's entry is found (nobody else walks the child: its mmap_lock is
 * held for write) and its lock taken nested, as copy_pte_range() nests the
 * two PTE locks.
 */
static int copy_leaf_locked(struct fork_copy *fc, u64 *ptep, u64 e, int level, hva_t addr)
{
	spinlock_t *dst_ptl;
	u64 *dst_ptep;
	int l, r;

	dst_ptep = sim_pt_walk(fc->dst, addr, level, &l);
	if (l != level) {
		fc->need_level = level;
		return COPY_NEED_TABLE;
	}
	dst_ptl = sim_pte_lockptr(fc->dst, dst_ptep, l);
	spin_lock_nested(dst_ptl, SINGLE_DEPTH_NESTING);
	r = copy_leaf_both_locked(fc, ptep, e, level, addr, dst_ptep);
	spin_unlock(dst_ptl);
	return r;
}

/* Make what copy_leaf_locked() asked for; 0 or -ENOMEM. */
static int copy_prepare(struct fork_copy *fc, int need, hva_t addr)
{
	u64 *ptep;
	int l;

	switch (need) {
	case COPY_NEED_TABLE:
		return sim_pt_alloc(fc->dst, addr, fc->need_level, &ptep, &l);
	case COPY_NEED_PAGE:
		if (fc->prealloc)
			sim_put_page(fc->src->host, fc->prealloc);
		fc->prealloc = sim_alloc_user_page(fc->dst, fc->dst_vma, fc->need_order, false);
		fc->prealloc_order = fc->need_order;
		return fc->prealloc ? 0 : -ENOMEM;
	case COPY_NEED_SLOT:
		fc->slot = kmalloc(sizeof(*fc->slot), GFP_KERNEL);
		return fc->slot ? 0 : -ENOMEM;
	}
	return -EFAULT;
}

/* copy_page_range() of one VMA; both mmap_locks held for write. */
static int sim_copy_page_range(struct fork_copy *fc)
{
	struct sim_mm *src = fc->src;
	struct sim_vma *vma = fc->src_vma;
	struct sim_mmu_notifier_range range;
	bool cow = fork_is_cow(vma);
	struct sim_pt_iter it;
	int r = 0;

	if (cow) {
		sim_mn_range_init(&range, src, vma->vm_start, vma->vm_end,
				  SIM_MMU_NOTIFY_PROTECTION_PAGE);
		sim_mn_invalidate_range_start(&range);
		/* raw_write_seqcount_begin(): odd before any pinned check below. */
		WRITE_ONCE(src->write_protect_seq, src->write_protect_seq + 1);
		smp_mb();
	}
	sim_pt_iter_init(&it, vma->vm_start, vma->vm_end);
	for (;;) {
		bool more;
		int need = COPY_DONE;

		more = sim_pt_next_leaf(src, &it);
		if (more)
			need = copy_leaf_locked(fc, it.ptep, READ_ONCE(*it.ptep), it.level,
						it.leaf_start);
		/* Allocations and cond_resched() below may sleep. */
		sim_pt_iter_unlock(&it);
		if (!more)
			break;
		if (need < 0) {
			r = need;
			break;
		}
		if (need != COPY_DONE) {
			r = copy_prepare(fc, need, it.leaf_start);
			if (r)
				break;
			it.addr = it.leaf_start; /* copy that leaf again */
		}
		cond_resched();
	}
	if (cow) {
		smp_mb();
		WRITE_ONCE(src->write_protect_seq, src->write_protect_seq + 1);
		sim_mn_invalidate_range_end(&range);
	}
	return r;
}

int sim_mm_fork(struct sim_mm *parent, struct sim_mm **childp)
{
	struct fork_copy fc = { .src = parent };
	struct sim_vma *vma;
	struct sim_mm *child;
	int r;

	might_sleep();
	if (!parent || !childp)
		return -EINVAL;
	r = sim_mm_create(parent->host, &child);
	if (r)
		return r;
	child->memlock_limit = READ_ONCE(parent->memlock_limit);
	child->cap_ipc_lock = READ_ONCE(parent->cap_ipc_lock);
	fc.dst = child;

	down_write(&parent->mmap_lock);
	down_write_nested(&child->mmap_lock, SINGLE_DEPTH_NESTING);
	if (parent->dead) {
		r = -EINVAL;
		goto out;
	}
	list_for_each_entry(vma, &parent->vmas, node) {
		struct sim_vma *new;

		if (vma->vm_flags & SIM_VM_DONTCOPY)
			continue;
		new = kmalloc(sizeof(*new), GFP_KERNEL);
		if (!new) {
			r = -ENOMEM;
			break;
		}
		*new = *vma;
		new->vm_flags &= ~SIM_VM_LOCKED; /* vm_flags_clear(tmp, VM_LOCKED_MASK) */
		/* The parent's list is sorted: the child's stays sorted. */
		list_add_tail(&new->node, &child->vmas);
		child->nr_vmas++;
		if (vma->vm_flags & SIM_VM_WIPEONFORK)
			continue;
		fc.src_vma = vma;
		fc.dst_vma = new;
		r = sim_copy_page_range(&fc);
		if (r)
			break;
	}
out:
	up_write(&child->mmap_lock);
	up_write(&parent->mmap_lock);
	if (fc.prealloc)
		sim_put_page(parent->host, fc.prealloc);
	kfree(fc.slot);
	if (r) {
		/* exit_mmap() of the partial child drops every reference it took. */
		sim_mm_destroy(child);
		return r;
	}
	atomic64_inc(&parent->host->cnt.forks);
	*childp = child;
	return 0;
}
