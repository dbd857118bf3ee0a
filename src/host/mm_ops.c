// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host events that change existing mappings: munmap, mprotect, madvise,
 * migration, THP split and collapse, reclaim to swap (one page, or
 * MADV_PAGEOUT of a range), and page aging.  Each one wraps its entry
 * changes in an MMU-notifier invalidation (mm.c, "Notifier protocol"):
 * start before the first entry changes, end after the last, frames
 * released after end.
 *
 * Rules:
 *  1. Every caller error is found before anything changes: bad alignment or
 *     advice (-EINVAL), holes (-ENOMEM for mprotect/madvise as Linux), and
 *     the allocations a layout change needs (VMA structs, the PTE tables of
 *     THPs split at the range's ends) are made first (-ENOMEM).  So a failed
 *     call leaves the VMAs and mappings as they were; splitting a boundary
 *     THP's mapping, which keeps every translation, is the only change that
 *     may remain.  It is also what keeps THPs from straddling VMAs: every
 *     VMA split first splits the THP mapping it would cut.
 *  2. A page is taken away from its mapping (migration, swap-out, collapse)
 *     by clearing the entry under its page-table lock, then freezing the
 *     page's refcount at the value the mapping accounts for (1, see the
 *     reference rule in pgtable.c).  GUP-fast takes its reference before
 *     rechecking the entry, so either the freeze sees that reference
 *     (-EBUSY, entry restored) or GUP-fast sees the entry gone.  A pinned
 *     page (FOLL_PIN) always holds extra references, so it never moves.
 *  3. Locks: mmap_lock for write to change VMAs (munmap, mprotect,
 *     MADV_(NO)HUGEPAGE) or to unlink tables (munmap, collapse); for read
 *     otherwise.  Notifiers are called without a page-table lock.  Entries
 *     are changed under their own page-table lock (split locks, pgtable.c),
 *     taken by sim_pt_walk_lock() or the leaf iterator.
 *
 * Unlike Linux, migration holds mmap_lock for read (it goes through the
 * mm, not the rmap) and copies under the page-table lock instead of installing
 * migration entries: a fault on the page waits on the lock meanwhile.
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

/* Split the THP mappings that straddle @start or @end (rule 1). */
static int split_boundary_thps(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_vma *vma;
	int r = 0;

	if (!IS_ALIGNED(start, SZ_2M)) {
		vma = sim_vma_lookup(mm, start);
		if (vma)
			r = sim_split_huge_pmd(mm, vma, start);
	}
	if (!r && !IS_ALIGNED(end, SZ_2M)) {
		vma = sim_vma_lookup(mm, end);
		if (vma)
			r = sim_split_huge_pmd(mm, vma, end);
	}
	return r;
}

/*
 * Make [start, end) start and end at VMA boundaries: the VMA layout part
 * of munmap, mprotect and madvise.  @pre holds two preallocated VMAs.
 */
static void split_vmas_at(struct sim_mm *mm, hva_t start, hva_t end, struct sim_vma **pre)
{
	struct sim_vma *vma = sim_vma_lookup(mm, start);

	if (vma && vma->vm_start < start)
		sim_vma_split(mm, vma, start, sim_vma_take(pre, 2));
	vma = sim_vma_lookup(mm, end);
	if (vma && vma->vm_start < end)
		sim_vma_split(mm, vma, end, sim_vma_take(pre, 2));
}

/* Checks that the VMAs met by [start, end) may be split at its ends. */
static bool split_points_ok(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_vma *vma = sim_vma_lookup(mm, start);

	if (vma && !sim_vma_split_ok(vma, start))
		return false;
	vma = sim_vma_lookup(mm, end);
	return !vma || sim_vma_split_ok(vma, end);
}

/* Preallocations and boundary splits for a layout change of [start, end). */
static int prepare_layout_change(struct sim_mm *mm, hva_t start, hva_t end, struct sim_vma **pre)
{
	int r;

	if (!split_points_ok(mm, start, end))
		return -EINVAL;
	r = sim_vma_prealloc(pre, 2);
	if (r)
		return r;
	r = split_boundary_thps(mm, start, end);
	if (r)
		sim_vma_prealloc_free(pre, 2);
	return r;
}

/* ======================== munmap ======================== */

int sim_munmap(struct sim_mm *mm, hva_t addr, u64 len)
{
	struct sim_vma *pre[2] = { NULL, NULL }, *vma, *next;
	struct sim_mmu_notifier_range range;
	struct sim_mmu_gather tlb;
	hva_t end;
	int r;

	if (!mm || !PAGE_ALIGNED(addr) || !len)
		return -EINVAL;
	if (len > SIM_TASK_SIZE)
		return -EINVAL;
	len = PAGE_ALIGN(len);
	if (addr > SIM_TASK_SIZE - len)
		return -EINVAL;
	end = addr + len;

	down_write(&mm->mmap_lock);
	vma = sim_find_vma(mm, addr);
	if (!vma || vma->vm_start >= end) {
		/* Nothing mapped there: not an error. */
		up_write(&mm->mmap_lock);
		return 0;
	}
	r = prepare_layout_change(mm, addr, end, pre);
	if (r) {
		up_write(&mm->mmap_lock);
		return r;
	}
	split_vmas_at(mm, addr, end, pre);

	sim_tlb_gather_init(&tlb, mm);
	sim_mn_range_init(&range, mm, addr, end, SIM_MMU_NOTIFY_UNMAP);
	sim_mn_invalidate_range_start(&range);
	sim_for_each_vma_in(mm, vma, addr, end)
		sim_zap_range(mm, vma, vma->vm_start, vma->vm_end, &tlb);
	sim_mn_invalidate_range_end(&range);

	for (vma = sim_find_vma(mm, addr); vma && vma->vm_start < end; vma = next) {
		next = sim_vma_next(mm, vma);
		if (vma->vm_flags & SIM_VM_LOCKED)
			WRITE_ONCE(mm->locked_vm,
				   mm->locked_vm - ((vma->vm_end - vma->vm_start) >> PAGE_SHIFT));
		sim_vma_remove(mm, vma);
	}
	sim_tlb_flush(&tlb);
	sim_free_pgtables(mm, addr, end, &tlb);
	sim_tlb_flush(&tlb);
	up_write(&mm->mmap_lock);
	sim_vma_prealloc_free(pre, 2);
	return 0;
}

/* ======================== mprotect ======================== */

/* change_protection() of @vma to @newflags, inside a PROTECTION_VMA pair. */
static void sim_change_protection(struct sim_mm *mm, struct sim_vma *vma, unsigned long newflags)
{
	bool accessible = newflags & SIM_VM_ACCESS_FLAGS;
	struct sim_pt_iter it;

	sim_pt_iter_init(&it, vma->vm_start, vma->vm_end);
	while (sim_pt_next_leaf(mm, &it)) {
		u64 e = it.entry, new;

		if (!sim_pte_maps_frame(e))
			continue; /* swap entries take the VMA's rights at swap-in */
		if (!accessible) {
			new = (e & ~(SIM_PTE_PRESENT | SIM_PTE_WRITE)) | SIM_PTE_PROTNONE;
		} else {
			new = (e & ~SIM_PTE_PROTNONE) | SIM_PTE_PRESENT;
			if (!(newflags & SIM_VM_WRITE))
				new &= ~SIM_PTE_WRITE;
			else if (newflags & SIM_VM_SHARED)
				new |= SIM_PTE_WRITE; /* no COW: writable at once */
			/* private: stays read-only until a write fault reuses it */
		}
		if (sim_page_is_zero(mm, sim_pte_pfn(e)))
			new &= ~SIM_PTE_WRITE;
		if (new != e)
			sim_set_pte(it.ptep, new);
	}
}

#define SIM_PROT_ALL (SIM_PROT_READ | SIM_PROT_WRITE | SIM_PROT_EXEC)

int sim_mprotect(struct sim_mm *mm, hva_t addr, u64 len, int prot)
{
	struct sim_vma *pre[2] = { NULL, NULL }, *vma, *first = NULL;
	unsigned long access = 0;
	hva_t end;
	int r;

	if (!mm || !PAGE_ALIGNED(addr) || (prot & ~SIM_PROT_ALL))
		return -EINVAL;
	if (!len)
		return 0;
	if (len > SIM_TASK_SIZE)
		return -ENOMEM;
	len = PAGE_ALIGN(len);
	end = addr + len;
	if (end <= addr || end > SIM_TASK_SIZE)
		return -ENOMEM;
	if (prot & SIM_PROT_READ)
		access |= SIM_VM_READ;
	if (prot & SIM_PROT_WRITE)
		access |= SIM_VM_WRITE;
	if (prot & SIM_PROT_EXEC)
		access |= SIM_VM_EXEC;

	down_write(&mm->mmap_lock);
	if (sim_range_has_hole(mm, addr, end)) {
		r = -ENOMEM;
		goto out;
	}
	r = prepare_layout_change(mm, addr, end, pre);
	if (r)
		goto out;
	split_vmas_at(mm, addr, end, pre);

	sim_for_each_vma_in(mm, vma, addr, end) {
		unsigned long newflags = (vma->vm_flags & ~SIM_VM_ACCESS_FLAGS) | access;
		struct sim_mmu_notifier_range range;

		if (!first)
			first = vma;
		if (newflags == vma->vm_flags)
			continue;
		sim_mn_range_init(&range, mm, vma->vm_start, vma->vm_end,
				  SIM_MMU_NOTIFY_PROTECTION_VMA);
		sim_mn_invalidate_range_start(&range);
		sim_change_protection(mm, vma, newflags);
		vma->vm_flags = newflags;
		sim_mn_invalidate_range_end(&range);
	}
	/* Merge what now looks alike, from the VMA before the range on. */
	vma = first ? sim_vma_prev(mm, first) : NULL;
	vma = vma ? vma : first;
	while (vma && vma->vm_start < end) {
		vma = sim_vma_merge_around(mm, vma);
		vma = sim_vma_next(mm, vma);
	}
	sim_vma_prealloc_free(pre, 2);
out:
	up_write(&mm->mmap_lock);
	return r;
}

/* ======================== madvise ======================== */

/* MADV_DONTNEED: checks every VMA first (rule 1), then zaps VMA by VMA. */
static int madvise_dontneed(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_mmu_gather tlb;
	struct sim_vma *vma;
	int r = 0;

	down_read(&mm->mmap_lock);
	if (sim_range_has_hole(mm, start, end)) {
		r = -ENOMEM;
		goto out;
	}
	sim_for_each_vma_in(mm, vma, start, end) {
		/* madvise_dontneed_free_valid_vma() */
		if (vma->vm_flags & (SIM_VM_LOCKED | SIM_VM_PFNMAP)) {
			r = -EINVAL;
			goto out;
		}
		if (sim_vma_hugetlb(vma)) {
			u64 hsize = sim_level_size(vma->hpage_level);
			hva_t s = max(start, vma->vm_start);
			hva_t e = ALIGN_DOWN(min(end, vma->vm_end), hsize);

			if (!IS_ALIGNED(s, hsize) || s >= e) {
				r = -EINVAL;
				goto out;
			}
		}
	}
	r = split_boundary_thps(mm, start, end);
	if (r)
		goto out;

	sim_tlb_gather_init(&tlb, mm);
	sim_for_each_vma_in(mm, vma, start, end) {
		struct sim_mmu_notifier_range range;
		hva_t s = max(start, vma->vm_start), e = min(end, vma->vm_end);

		if (sim_vma_hugetlb(vma))
			e = ALIGN_DOWN(e, sim_level_size(vma->hpage_level));
		sim_mn_range_init(&range, mm, s, e, SIM_MMU_NOTIFY_UNMAP);
		sim_mn_invalidate_range_start(&range);
		sim_zap_range(mm, vma, s, e, &tlb);
		sim_mn_invalidate_range_end(&range);
	}
	sim_tlb_flush(&tlb);
out:
	up_read(&mm->mmap_lock);
	return r;
}

/*
 * madvise_vma_behavior()'s checks for the fork advice: MADV_DOFORK may not
 * make VM_IO memory copyable, MADV_WIPEONFORK is for private anonymous
 * memory only (not shared, not VM_PFNMAP).
 */
static int madvise_fork_check(struct sim_vma *vma, int advice)
{
	if (advice == SIM_MADV_DOFORK && (vma->vm_flags & SIM_VM_IO))
		return -EINVAL;
	if (advice == SIM_MADV_WIPEONFORK && (vma->vm_flags & (SIM_VM_SHARED | SIM_VM_SPECIAL)))
		return -EINVAL;
	return 0;
}

static unsigned long madvise_new_flags(unsigned long f, int advice)
{
	switch (advice) {
	case SIM_MADV_HUGEPAGE:
		return (f & ~SIM_VM_NOHUGEPAGE) | SIM_VM_HUGEPAGE;
	case SIM_MADV_NOHUGEPAGE:
		return (f & ~SIM_VM_HUGEPAGE) | SIM_VM_NOHUGEPAGE;
	case SIM_MADV_DONTFORK:
		return f | SIM_VM_DONTCOPY;
	case SIM_MADV_DOFORK:
		return f & ~SIM_VM_DONTCOPY;
	case SIM_MADV_WIPEONFORK:
		return f | SIM_VM_WIPEONFORK;
	case SIM_MADV_KEEPONFORK:
		return f & ~SIM_VM_WIPEONFORK;
	}
	return f;
}

/*
 * The advice that only changes VMA flags: MADV_(NO)HUGEPAGE (no
 * khugepaged) and the fork advice, DONTFORK/DOFORK, WIPEONFORK/KEEPONFORK.
 */
static int madvise_vma_flags(struct sim_mm *mm, hva_t start, hva_t end, int advice)
{
	struct sim_vma *pre[2] = { NULL, NULL }, *vma, *first = NULL;
	int r;

	down_write(&mm->mmap_lock);
	if (sim_range_has_hole(mm, start, end)) {
		r = -ENOMEM;
		goto out;
	}
	sim_for_each_vma_in(mm, vma, start, end) {
		r = madvise_fork_check(vma, advice);
		if (r)
			goto out;
	}
	/* A THP never straddles VMAs: split those cut by the new boundaries. */
	r = prepare_layout_change(mm, start, end, pre);
	if (r)
		goto out;
	split_vmas_at(mm, start, end, pre);
	sim_for_each_vma_in(mm, vma, start, end) {
		if (!first)
			first = vma;
		vma->vm_flags = madvise_new_flags(vma->vm_flags, advice);
	}
	vma = first ? sim_vma_prev(mm, first) : NULL;
	vma = vma ? vma : first;
	while (vma && vma->vm_start < end) {
		vma = sim_vma_merge_around(mm, vma);
		vma = sim_vma_next(mm, vma);
	}
	sim_vma_prealloc_free(pre, 2);
out:
	up_write(&mm->mmap_lock);
	return r;
}

static int madvise_pageout(struct sim_mm *mm, hva_t start, hva_t end); /* with swap, below */

/*
 * MADV_HWPOISON: memory_failure() of each folio mapped in the range.  The
 * secondary MMUs drop it inside a CLEAR invalidation, as try_to_unmap()'s
 * would; the flag is set inside it, so once the invalidation ends no new
 * access or GUP can reach the folio.
 */
static int madvise_hwpoison(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_host *host = mm->host;
	hva_t addr = start;
	int r = 0;

	down_read(&mm->mmap_lock);
	if (sim_range_has_hole(mm, start, end)) {
		r = -ENOMEM;
		goto out;
	}
	while (addr < end) {
		struct sim_mmu_notifier_range range;
		struct sim_page *head = NULL;
		hva_t lstart, lend, fstart;
		spinlock_t *ptl;
		int level;
		u64 e;

		e = READ_ONCE(*sim_pt_walk_lock(mm, addr, &level, &ptl));
		lstart = ALIGN_DOWN(addr, sim_level_size(level));
		lend = lstart + sim_level_size(level);
		if (sim_pte_present(e) && level <= PG_LEVEL_1G && !(e & SIM_PTE_SPECIAL) &&
		    !sim_page_is_zero(mm, sim_pte_pfn(e)))
			head = sim_compound_head(host, sim_pfn_to_page(host, sim_pte_pfn(e)));
		spin_unlock(ptl);
		if (!head || (sim_page_flags(host, head) & SIM_PG_HWPOISON)) {
			addr = lend;
			continue;
		}
		/*
		 * The whole folio is poisoned, so every address mapping it must
		 * be invalidated, not just this entry: a PTE-mapped THP has 511
		 * other PTEs a secondary MMU may still map.  Anonymous folios
		 * map linearly here.
		 */
		fstart = addr - ((sim_pte_pfn(e) + ((addr - lstart) >> PAGE_SHIFT) -
				  sim_page_to_pfn(host, head)) << PAGE_SHIFT);
		addr = lend;

		sim_mn_range_init(&range, mm, fstart,
				  fstart + (PAGE_SIZE << sim_compound_order(host, head)),
				  SIM_MMU_NOTIFY_CLEAR);
		sim_mn_invalidate_range_start(&range);
		sim_page_set_flags(host, head, SIM_PG_HWPOISON);
		sim_mn_invalidate_range_end(&range);
		atomic64_add(1ULL << sim_compound_order(host, head), &host->cnt.hwpoisoned_pages);
	}
out:
	up_read(&mm->mmap_lock);
	return r;
}

int sim_zap_vma_ptes(struct sim_mm *mm, hva_t addr, u64 len)
{
	struct sim_mmu_notifier_range range;
	struct sim_mmu_gather tlb;
	struct sim_vma *vma;
	hva_t end;
	int r = 0;

	if (!mm || !PAGE_ALIGNED(addr) || !len || len > SIM_TASK_SIZE)
		return -EINVAL;
	end = addr + PAGE_ALIGN(len);
	if (end < addr || end > SIM_TASK_SIZE)
		return -EINVAL;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	if (!vma || !(vma->vm_flags & SIM_VM_PFNMAP) || end > vma->vm_end) {
		r = -EINVAL;
		goto out;
	}
	sim_tlb_gather_init(&tlb, mm);
	/* zap_page_range_single(): a CLEAR event, the VMA stays. */
	sim_mn_range_init(&range, mm, addr, end, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&range);
	sim_zap_range(mm, vma, addr, end, &tlb);
	sim_mn_invalidate_range_end(&range);
	sim_tlb_flush(&tlb);
out:
	up_read(&mm->mmap_lock);
	return r;
}

int sim_madvise(struct sim_mm *mm, hva_t addr, u64 len, int advice)
{
	u64 alen;
	hva_t end;

	if (!mm || !PAGE_ALIGNED(addr))
		return -EINVAL;
	if (advice != SIM_MADV_DONTNEED && advice != SIM_MADV_HUGEPAGE &&
	    advice != SIM_MADV_NOHUGEPAGE && advice != SIM_MADV_PAGEOUT &&
	    advice != SIM_MADV_HWPOISON && advice != SIM_MADV_DONTFORK &&
	    advice != SIM_MADV_DOFORK && advice != SIM_MADV_WIPEONFORK &&
	    advice != SIM_MADV_KEEPONFORK)
		return -EINVAL;
	if (len > SIM_TASK_SIZE)
		return -EINVAL;
	alen = PAGE_ALIGN(len);
	end = addr + alen;
	if (end < addr || end > SIM_TASK_SIZE)
		return -EINVAL;
	if (end == addr)
		return 0;
	if (advice == SIM_MADV_DONTNEED)
		return madvise_dontneed(mm, addr, end);
	if (advice == SIM_MADV_PAGEOUT)
		return madvise_pageout(mm, addr, end);
	if (advice == SIM_MADV_HWPOISON)
		return madvise_hwpoison(mm, addr, end);
	return madvise_vma_flags(mm, addr, end, advice);
}

/* ======================== migration ======================== */

/**
 * sim_migrate_one - move the page mapped at @addr to a new frame
 * @mflags: SIM_MIGRATE_LONGTERM (target unmovable memory),
 *          SIM_MIGRATE_IF_MOVABLE (leave unmovable pages alone)
 * @leaf_end: receives the end of what was looked at (the huge page's end)
 *
 * A THP or hugetlb page moves whole; a PTE-mapped THP is split first.
 * Caller holds mmap_lock for read.  Delivers a MIGRATE invalidation of the
 * leaf.  move_pages() errnos.
 *
 * Return: 0 moved, 1 skipped (IF_MOVABLE), -ENOENT nothing mapped (or
 * swapped out), -EFAULT no struct page (zero page, VM_PFNMAP), -EBUSY
 * pinned or referenced beyond its mapping, -ENOMEM.
 */
int sim_migrate_one(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, unsigned int mflags,
		    hva_t *leaf_end)
{
	struct sim_host *host = mm->host;
	struct sim_mmu_notifier_range range;
	struct sim_page *page, *head, *new;
	struct sim_swap_slot *slot;
	hva_t lstart, lend;
	int level, tries;
	spinlock_t *ptl;
	u64 *ptep, e;

	lockdep_assert_held_read(&mm->mmap_lock);
	*leaf_end = (addr & PAGE_MASK) + PAGE_SIZE;
	if (vma->vm_flags & SIM_VM_SPECIAL)
		return -EFAULT;

	for (tries = 0;; tries++) {
		u64 cur;

		ptep = sim_pt_walk_lock(mm, addr, &level, &ptl);
		e = READ_ONCE(*ptep);
		lstart = ALIGN_DOWN(addr, sim_level_size(level));
		lend = lstart + sim_level_size(level);
		*leaf_end = lend;
		if (!sim_pte_maps_frame(e) || level > PG_LEVEL_1G) {
			spin_unlock(ptl);
			return -ENOENT;
		}
		if ((e & SIM_PTE_SPECIAL) || sim_page_is_zero(mm, sim_pte_pfn(e))) {
			spin_unlock(ptl);
			return -EFAULT;
		}
		page = sim_pfn_to_page(host, sim_pte_pfn(e));
		head = sim_compound_head(host, page);
		if (level == PG_LEVEL_4K && sim_compound_order(host, head)) {
			/*
			 * A PTE-mapped THP, whichever of its pages (the head
			 * too): split the folio, then move the 4K page.
			 */
			if (sim_try_split_pte_mapped_folio(mm, ptep, addr))
				goto busy_locked;
			head = page;
		}
		if ((mflags & SIM_MIGRATE_IF_MOVABLE) &&
		    !(sim_page_flags(host, head) & SIM_PG_MOVABLE)) {
			spin_unlock(ptl);
			return 1;
		}
		/* A poisoned folio is out of service: nothing may copy it elsewhere. */
		if (sim_page_maybe_dma_pinned(host, head) || sim_page_count(host, head) != 1 ||
		    (sim_page_flags(host, head) & SIM_PG_HWPOISON))
			goto busy_locked;
		spin_unlock(ptl);

		new = sim_alloc_migration_target(host, head, GFP_KERNEL,
						 mflags & SIM_MIGRATE_LONGTERM);
		if (!new)
			return -ENOMEM;

		sim_mn_range_init(&range, mm, lstart, lend, SIM_MMU_NOTIFY_MIGRATE);
		sim_mn_invalidate_range_start(&range);
		/*
		 * The same lock as before: the leaf may have been split since
		 * (a table linked at a huge entry), which the walk then sees.
		 */
		spin_lock(ptl);
		cur = READ_ONCE(*ptep);
		if (sim_pte_pfn(cur) != sim_pte_pfn(e) || !sim_pte_maps_frame(cur) ||
		    sim_pt_walk(mm, addr, PG_LEVEL_4K, &level) != ptep) {
			/* Changed under us (zapped, split, swapped): look again. */
			spin_unlock(ptl);
			sim_mn_invalidate_range_end(&range);
			sim_put_page(host, new);
			if (tries < 3)
				continue;
			return -EBUSY;
		}
		/* Rule 2: unmap, then freeze at the mapping's one reference. */
		sim_set_pte(ptep, 0);
		smp_mb();
		if (!sim_page_ref_freeze(host, head, 1)) {
			sim_set_pte(ptep, cur);
			spin_unlock(ptl);
			sim_mn_invalidate_range_end(&range);
			sim_put_page(host, new);
			atomic64_inc(&host->cnt.migrate_busy);
			return -EBUSY;
		}
		/*
		 * folio_migrate_flags(), now that nobody else holds a reference:
		 * a reference holder may have dirtied the page until the freeze.
		 * The swap copy, if any, goes with the data.
		 */
		sim_copy_page_data(host, new, head);
		sim_frame_event(host,
				(mflags & SIM_MIGRATE_COMPACT)	? SIM_FRAME_COMPACT :
				(mflags & SIM_MIGRATE_LONGTERM) ? SIM_FRAME_LONGTERM :
								  SIM_FRAME_MIGRATE,
				sim_page_to_pfn(host, head), sim_page_to_pfn(host, new),
				1ULL << sim_compound_order(host, head), 0);
		slot = sim_swapcache_del(host, head);
		sim_page_set_flags(host, new, sim_page_flags(host, head) & SIM_PG_MM_FLAGS);
		if (slot)
			sim_swapcache_add(host, new, slot);
		sim_set_pte(ptep, (cur & ~SIM_PTE_PFN_MASK) |
				  ((u64)sim_page_to_pfn(host, new) << PAGE_SHIFT));
		spin_unlock(ptl);
		sim_mn_invalidate_range_end(&range);
		/* Frozen at zero: nobody can take a reference; free it. */
		sim_page_free_refcounted(host, head);
		atomic64_inc(&host->cnt.migrations);
		return 0;
	}

busy_locked:
	spin_unlock(ptl);
	atomic64_inc(&host->cnt.migrate_busy);
	return -EBUSY;
}

int sim_migrate_page(struct sim_mm *mm, hva_t addr)
{
	struct sim_vma *vma;
	hva_t end;
	int r;

	if (!mm)
		return -EINVAL;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	r = vma ? sim_migrate_one(mm, vma, addr, 0, &end) : -EFAULT;
	up_read(&mm->mmap_lock);
	return r;
}

/*
 * Migrate every page of [addr, addr + len): -EFAULT (nothing moved) if part
 * of it is not mapped; pages that cannot move for lack of a page (not
 * present, zero page, VM_PFNMAP) are skipped; -EBUSY if some page was
 * pinned or referenced (the others still move), -ENOMEM stops early.
 * *moved counts the pages (a THP or hugetlb page counts once) that moved.
 */
static int migrate_range(struct sim_mm *mm, hva_t addr, u64 len, u64 *moved, unsigned int mflags)
{
	hva_t a, end;
	u64 n = 0;
	int r = 0;

	if (moved)
		*moved = 0;
	if (!mm)
		return -EINVAL;
	if (!len)
		return 0;
	if (addr >= SIM_TASK_SIZE || len > SIM_TASK_SIZE - addr)
		return -EFAULT;
	end = addr + len;
	a = addr & PAGE_MASK;
	down_read(&mm->mmap_lock);
	if (sim_range_has_hole(mm, a, end)) {
		up_read(&mm->mmap_lock);
		return -EFAULT;
	}
	while (a < end) {
		struct sim_vma *vma = sim_vma_lookup(mm, a);
		hva_t next;
		int ret;

		ret = sim_migrate_one(mm, vma, a, mflags, &next);
		if (!ret)
			n++;
		else if (ret == -EBUSY && !(mflags & SIM_MIGRATE_COMPACT))
			r = -EBUSY;
		else if (ret == -ENOMEM) {
			r = -ENOMEM;
			break;
		}
		a = max(next, a + PAGE_SIZE);
		cond_resched();
	}
	up_read(&mm->mmap_lock);
	if (moved)
		*moved = n;
	return r;
}

int sim_migrate_range(struct sim_mm *mm, hva_t addr, u64 len, u64 *moved)
{
	return migrate_range(mm, addr, len, moved, 0);
}

/* Compaction isolates movable pages only and leaves those it cannot move. */
int sim_compact_range(struct sim_mm *mm, hva_t addr, u64 len, u64 *moved)
{
	return migrate_range(mm, addr, len, moved, SIM_MIGRATE_COMPACT | SIM_MIGRATE_IF_MOVABLE);
}

/* ======================== THP split and collapse ======================== */

int sim_split_thp(struct sim_mm *mm, hva_t addr)
{
	struct sim_host *host;
	struct sim_vma *vma;
	hva_t haddr = ALIGN_DOWN(addr, SZ_2M);
	int level, r = 0;
	spinlock_t *ptl;
	u64 *ptep, e;

	if (!mm)
		return -EINVAL;
	host = mm->host;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	if (!vma) {
		r = -EFAULT;
		goto out;
	}
	if (sim_vma_hugetlb(vma) || (vma->vm_flags & SIM_VM_SPECIAL)) {
		r = -EINVAL; /* hugetlb pages are never split */
		goto out;
	}
	ptep = sim_pt_walk_lock(mm, addr, &level, &ptl);
	e = READ_ONCE(*ptep);
	if (level == PG_LEVEL_2M && (e & SIM_PTE_HUGE)) {
		struct sim_page *head = sim_pfn_to_page(host, sim_pte_pfn(e));

		/* split_huge_page() refuses a folio someone else holds. */
		if (sim_page_maybe_dma_pinned(host, head) || sim_page_count(host, head) != 1)
			r = -EBUSY;
		spin_unlock(ptl);
		if (!r)
			r = sim_split_huge_pmd(mm, vma, haddr);
	} else if (level == PG_LEVEL_4K && sim_pte_maps_frame(e) && !(e & SIM_PTE_SPECIAL) &&
		   !sim_page_is_zero(mm, sim_pte_pfn(e)) &&
		   sim_compound_order(host, sim_pfn_to_page(host, sim_pte_pfn(e)))) {
		/* Already PTE-mapped: split the folio that a pin kept whole. */
		r = sim_try_split_pte_mapped_folio(mm, ptep, addr);
		spin_unlock(ptl);
	} else {
		spin_unlock(ptl);
		r = -EINVAL; /* no THP there */
	}
out:
	up_read(&mm->mmap_lock);
	return r;
}

/*
 * The reference that entry @i of PTE table @table stands for, the first
 * time it is met: each order-0 page holds one, a PTE-mapped THP one for all
 * its entries (only one THP fits a PTE table: the one first mapped there).
 */
static struct sim_page *table_ref_at(struct sim_mm *mm, u64 *table, unsigned int i,
				     struct sim_page **thp)
{
	struct sim_host *host = mm->host;
	struct sim_page *head;
	u64 e = READ_ONCE(table[i]);

	if (!sim_pte_maps_frame(e) || sim_page_is_zero(mm, sim_pte_pfn(e)))
		return NULL;
	head = sim_compound_head(host, sim_pfn_to_page(host, sim_pte_pfn(e)));
	if (sim_compound_order(host, head)) {
		if (*thp == head)
			return NULL;
		WARN_ON_ONCE(*thp);
		*thp = head;
	}
	return head;
}

/* Freeze every reference the unlinked PTE table holds (rule 2), or none. */
static bool collapse_freeze(struct sim_mm *mm, u64 *table)
{
	struct sim_page *thp = NULL, *thp2 = NULL, *head;
	unsigned int i, j;

	for (i = 0; i < SIM_PTRS_PER_TABLE; i++) {
		head = table_ref_at(mm, table, i, &thp);
		if (!head || sim_page_ref_freeze(mm->host, head, 1))
			continue;
		for (j = 0; j < i; j++) {
			head = table_ref_at(mm, table, j, &thp2);
			if (head)
				sim_page_ref_unfreeze(mm->host, head, 1);
		}
		return false;
	}
	return true;
}

/*
 * After the collapse: the frozen pages are unreachable, free them.  A
 * PTE-mapped THP goes last: table_ref_at() recognises its later entries by
 * the compound metadata that freeing it would clear, and each of them would
 * then be freed again as an order-0 page.
 */
static void collapse_free_old(struct sim_mm *mm, u64 *table)
{
	struct sim_page *thp = NULL, *head;
	unsigned int i;

	for (i = 0; i < SIM_PTRS_PER_TABLE; i++) {
		head = table_ref_at(mm, table, i, &thp);
		if (head && head != thp) {
			kfree(sim_swapcache_del(mm->host, head));
			sim_page_free_refcounted(mm->host, head);
		} else if (!head && sim_pte_swap(table[i])) {
			kfree(sim_pte_swap_slot(table[i]));
		}
	}
	if (thp)
		sim_page_free_refcounted(mm->host, thp);
}

/*
 * MADV_COLLAPSE of the 2M around @addr: copy the PTE-mapped pages (none
 * entries read as zeroes, swapped-out ones from their slots) into a new THP
 * mapped by one PMD.  Holds mmap_lock for write: the PTE table is unlinked.
 */
int sim_collapse_thp(struct sim_mm *mm, hva_t addr)
{
	hva_t haddr = ALIGN_DOWN(addr, SZ_2M);
	struct sim_mmu_notifier_range range;
	struct sim_mmu_gather tlb;
	struct sim_host *host;
	struct sim_page *new = NULL;
	struct sim_vma *vma;
	unsigned int i, nr_mapped = 0;
	u64 *pmdp, *table, pmd, bits;
	spinlock_t *pmd_ptl, *pte_ptl;
	u8 *dst;
	int level, r = 0;

	if (!mm)
		return -EINVAL;
	host = mm->host;
	down_write(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	if (!vma) {
		r = -ENOMEM; /* madvise() on an unmapped range */
		goto out;
	}
	if (sim_vma_hugetlb(vma) || (vma->vm_flags & (SIM_VM_SPECIAL | SIM_VM_NOHUGEPAGE)) ||
	    haddr < vma->vm_start || haddr + SZ_2M > vma->vm_end) {
		r = -EINVAL;
		goto out;
	}
	pmdp = sim_pt_walk(mm, haddr, PG_LEVEL_2M, &level);
	pmd = READ_ONCE(*pmdp);
	if (level == PG_LEVEL_2M && (pmd & SIM_PTE_HUGE))
		goto out; /* already a THP */
	if (level != PG_LEVEL_2M || !sim_pte_is_table(pmd, level)) {
		r = -EINVAL; /* nothing mapped */
		goto out;
	}
	table = sim_pte_table(pmd);

	/* mmap_lock for write: only lockless readers race with us from here. */
	for (i = 0; i < SIM_PTRS_PER_TABLE; i++) {
		u64 e = READ_ONCE(table[i]);
		struct sim_page *head;

		if (!e)
			continue;
		nr_mapped++;
		if (!sim_pte_maps_frame(e) || sim_page_is_zero(mm, sim_pte_pfn(e)))
			continue;
		head = sim_compound_head(host, sim_pfn_to_page(host, sim_pte_pfn(e)));
		if (sim_page_maybe_dma_pinned(host, head) || sim_page_count(host, head) != 1 ||
		    (sim_page_flags(host, head) & SIM_PG_HWPOISON)) {
			r = -EAGAIN; /* SCAN_PAGE_COUNT; khugepaged skips hwpoison too */
			goto out;
		}
	}
	if (!nr_mapped) {
		r = -EINVAL;
		goto out;
	}
	new = sim_alloc_user_page(mm, vma, SIM_THP_ORDER, false);
	if (!new) {
		r = -ENOMEM; /* SCAN_ALLOC_HUGE_PAGE_FAIL */
		goto out;
	}

	sim_mn_range_init(&range, mm, haddr, haddr + SZ_2M, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&range);
	/* collapse_huge_page(): the PMD lock, then the PTE table's, nested. */
	pmd_ptl = sim_pte_lockptr(mm, pmdp, PG_LEVEL_2M);
	pte_ptl = sim_ptlock_ptr(table);
	spin_lock(pmd_ptl);
	spin_lock(pte_ptl);
	sim_set_pte(pmdp, 0);
	smp_mb();
	if (!collapse_freeze(mm, table)) {
		sim_set_pte(pmdp, pmd);
		spin_unlock(pte_ptl);
		spin_unlock(pmd_ptl);
		sim_mn_invalidate_range_end(&range);
		sim_put_page(host, new);
		r = -EAGAIN;
		goto out;
	}
	dst = sim_page_to_virt(host, new);
	for (i = 0; i < SIM_PTRS_PER_TABLE; i++, dst += PAGE_SIZE) {
		u64 e = READ_ONCE(table[i]);

		kvm_pfn_t to = sim_page_to_pfn(host, new) + i;

		if (sim_pte_swap(e)) {
			memcpy(dst, sim_pte_swap_slot(e)->data, PAGE_SIZE);
			sim_frame_event(host, SIM_FRAME_COLLAPSE, sim_pte_swap_slot(e)->from_pfn,
					to, 1, 0);
		} else if (sim_pte_maps_frame(e) && !sim_page_is_zero(mm, sim_pte_pfn(e))) {
			memcpy(dst, sim_pfn_to_virt(host, sim_pte_pfn(e)), PAGE_SIZE);
			sim_frame_event(host, SIM_FRAME_COLLAPSE, sim_pte_pfn(e), to, 1, 0);
		} else
			memset(dst, 0, PAGE_SIZE);
	}
	bits = SIM_PTE_HUGE | SIM_PTE_ACCESSED | SIM_PTE_DIRTY;
	if (!sim_vma_accessible(vma))
		bits |= SIM_PTE_PROTNONE;
	else
		bits |= SIM_PTE_PRESENT | ((vma->vm_flags & SIM_VM_WRITE) ? SIM_PTE_WRITE : 0);
	spin_unlock(pte_ptl);
	sim_set_pte(pmdp, sim_make_pte(sim_page_to_pfn(host, new), bits));
	spin_unlock(pmd_ptl);
	sim_mn_invalidate_range_end(&range);

	/* The old pages are frozen and unreachable: free them, their slots, the table. */
	collapse_free_old(mm, table);
	sim_tlb_gather_init(&tlb, mm);
	sim_tlb_remove_table(&tlb, table);
	sim_tlb_flush(&tlb);
	atomic64_inc(&host->cnt.thp_collapses);
out:
	up_write(&mm->mmap_lock);
	return r;
}

/* ======================== swap ======================== */

static struct hlist_head *swapcache_bucket(struct sim_host *host, kvm_pfn_t pfn)
{
	return &host->swapcache[hash_64(pfn, SIM_SWAPCACHE_BITS)];
}

static struct sim_swap_slot *swapcache_find(struct sim_host *host, kvm_pfn_t pfn)
{
	struct sim_swap_slot *slot;

	lockdep_assert_held(&host->swapcache_lock);
	hlist_for_each_entry(slot, swapcache_bucket(host, pfn), cache_node)
		if (slot->cache_pfn == pfn)
			return slot;
	return NULL;
}

/* The slot of @page if it is in the swap cache: no lock taken if it is not. */
struct sim_swap_slot *sim_swapcache_slot(struct sim_host *host, struct sim_page *page)
{
	struct sim_swap_slot *slot;

	if (!(__sim_page_flags(host, page) & SIM_PG_SWAPCACHE))
		return NULL;
	spin_lock(&host->swapcache_lock);
	slot = swapcache_find(host, sim_page_to_pfn_raw(host, page));
	spin_unlock(&host->swapcache_lock);
	return slot;
}

void sim_swapcache_add(struct sim_host *host, struct sim_page *page, struct sim_swap_slot *slot)
{
	kvm_pfn_t pfn = sim_page_to_pfn_raw(host, page);

	spin_lock(&host->swapcache_lock);
	WARN(swapcache_find(host, pfn), "sim_swapcache_add: pfn %llu already has a slot",
	     (unsigned long long)pfn);
	slot->cache_pfn = pfn;
	hlist_add_head(&slot->cache_node, swapcache_bucket(host, pfn));
	spin_unlock(&host->swapcache_lock);
	sim_page_set_flags(host, page, SIM_PG_SWAPCACHE);
}

struct sim_swap_slot *sim_swapcache_del(struct sim_host *host, struct sim_page *page)
{
	struct sim_swap_slot *slot;

	if (!(__sim_page_flags(host, page) & SIM_PG_SWAPCACHE))
		return NULL;
	sim_page_clear_flags(host, page, SIM_PG_SWAPCACHE);
	spin_lock(&host->swapcache_lock);
	slot = swapcache_find(host, sim_page_to_pfn_raw(host, page));
	if (!WARN(!slot, "sim_swapcache_del: no slot"))
		hlist_del(&slot->cache_node);
	spin_unlock(&host->swapcache_lock);
	return slot;
}

/*
 * Reclaim of the 4K anonymous page at @addr (shrink_folio_list() for one
 * folio): unmap it inside a CLEAR invalidation (rule 2), then, as Linux
 * does once try_to_unmap() has moved the PTE's dirty bit to the folio,
 * write it to swap if it is dirty, or drop it if it is a clean page of the
 * swap cache, whose slot already holds the same bytes.  The slot goes into
 * the swap PTE either way.  A page outside the swap cache is dirty
 * (add_to_swap() marks it so).  Caller holds mmap_lock for read and has
 * checked the VMA.
 */
static int swap_out_one(struct sim_mm *mm, struct sim_vma *vma, hva_t addr)
{
	struct sim_host *host = mm->host;
	struct sim_mmu_notifier_range range;
	struct sim_swap_slot *new_slot, *slot;
	struct sim_page *page, *freed = NULL;
	spinlock_t *ptl;
	int level, r;
	u64 *ptep, e;

	/* A THP is split before it goes to swap (no THP swap here). */
	r = sim_split_huge_pmd(mm, vma, addr);
	if (r)
		return r;
	/* Not under a page-table lock: a slot, in case the page has none. */
	new_slot = kmalloc(sizeof(*new_slot), GFP_KERNEL);
	if (!new_slot)
		return -ENOMEM;

	sim_mn_range_init(&range, mm, addr, addr + PAGE_SIZE, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&range);
	ptep = sim_pt_walk_lock(mm, addr, &level, &ptl);
	e = READ_ONCE(*ptep);
	if (level != PG_LEVEL_4K || !sim_pte_maps_frame(e) ||
	    sim_page_is_zero(mm, sim_pte_pfn(e))) {
		r = -ENOENT; /* no anonymous page there */
		goto unlock;
	}
	page = sim_pfn_to_page(host, sim_pte_pfn(e));
	/* Memory failure took it out of service: reclaim leaves it alone. */
	if (sim_page_flags(host, page) & SIM_PG_HWPOISON) {
		r = -EBUSY;
		goto unlock;
	}
	if (sim_try_split_pte_mapped_folio(mm, ptep, addr)) {
		r = -EBUSY;
		goto unlock;
	}
	sim_set_pte(ptep, 0);
	smp_mb();
	if (!sim_page_ref_freeze(host, page, 1)) {
		sim_set_pte(ptep, e);
		r = -EBUSY;
		goto unlock;
	}
	/* Frozen: nobody can dirty it any more, and every earlier mark is seen. */
	slot = sim_swapcache_del(host, page);
	if (!slot || (e & SIM_PTE_DIRTY) || (sim_page_flags(host, page) & SIM_PG_DIRTY)) {
		if (!slot) {
			slot = new_slot;
			new_slot = NULL;
		}
		memcpy(slot->data, sim_page_to_virt(host, page), PAGE_SIZE);
		slot->from_pfn = sim_page_to_pfn(host, page);
		sim_frame_event(host, SIM_FRAME_SWAP_OUT, slot->from_pfn, SIM_FRAME_NO_PFN, 1, 0);
		atomic64_inc(&host->cnt.swap_writes);
	}
	sim_set_pte(ptep, sim_make_swap_pte(slot));
	freed = page;
	r = 0;
unlock:
	spin_unlock(ptl);
	sim_mn_invalidate_range_end(&range);
	if (freed) {
		sim_page_free_refcounted(host, freed);
		atomic64_inc(&host->cnt.swap_outs);
	}
	kfree(new_slot);
	return r;
}

/* Memory reclaim never takes: mlocked (-EBUSY), hugetlb or VM_PFNMAP (-EINVAL). */
static int swap_check_vma(struct sim_vma *vma)
{
	if (vma->vm_flags & SIM_VM_LOCKED)
		return -EBUSY;
	if (sim_vma_hugetlb(vma) || (vma->vm_flags & SIM_VM_SPECIAL))
		return -EINVAL;
	return 0;
}

int sim_swap_out(struct sim_mm *mm, hva_t addr)
{
	struct sim_vma *vma;
	int r;

	if (!mm)
		return -EINVAL;
	addr &= PAGE_MASK;
	down_read(&mm->mmap_lock);
	vma = sim_vma_lookup(mm, addr);
	r = vma ? swap_check_vma(vma) : -EFAULT;
	if (!r)
		r = swap_out_one(mm, vma, addr);
	up_read(&mm->mmap_lock);
	return r;
}

/*
 * MADV_PAGEOUT: reclaim every mapped anonymous page of [start, end), as
 * reclaim_pages() does, ignoring references.  The VMAs are checked first
 * (rule 1); pages that cannot go are left, and the call still succeeds.
 */
static int madvise_pageout(struct sim_mm *mm, hva_t start, hva_t end)
{
	struct sim_vma *vma;
	int r = 0;

	down_read(&mm->mmap_lock);
	if (sim_range_has_hole(mm, start, end)) {
		r = -ENOMEM;
		goto out;
	}
	sim_for_each_vma_in(mm, vma, start, end) {
		if (swap_check_vma(vma)) {
			r = -EINVAL;
			goto out;
		}
	}
	sim_for_each_vma_in(mm, vma, start, end) {
		hva_t a = max(start, vma->vm_start), e = min(end, vma->vm_end);

		while (a < e) {
			int level;
			/* A hint only (mmap_lock keeps the tables): swap_out_one() decides. */
			u64 pte = sim_read_pte(sim_pt_walk(mm, a, PG_LEVEL_4K, &level));

			if (!sim_pte_maps_frame(pte) && level > PG_LEVEL_4K) {
				/* Nothing mapped below this entry. */
				a = min_t(hva_t, ALIGN(a + 1, sim_level_size(level)), e);
				continue;
			}
			if (sim_pte_maps_frame(pte) &&
			    (level > PG_LEVEL_4K || !sim_page_is_zero(mm, sim_pte_pfn(pte))))
				(void)swap_out_one(mm, vma, a);
			a += PAGE_SIZE;
			cond_resched();
		}
	}
out:
	up_read(&mm->mmap_lock);
	return r;
}

/* ======================== aging ======================== */

static long age_range(struct sim_mm *mm, hva_t addr, u64 len, bool clear)
{
	struct sim_pt_iter it;
	long young = 0;
	hva_t end;

	if (!mm)
		return -EINVAL;
	if (!len)
		return 0;
	if (addr >= SIM_TASK_SIZE || len > SIM_TASK_SIZE - addr)
		return -EINVAL;
	end = addr + len;
	addr &= PAGE_MASK;
	down_read(&mm->mmap_lock);
	sim_pt_iter_init(&it, addr, end);
	for (;;) {
		bool found, host_young = false;
		hva_t s, t;

		found = sim_pt_next_leaf(mm, &it);
		if (found && sim_pte_present(it.entry)) {
			host_young = it.entry & SIM_PTE_ACCESSED;
			if (clear && host_young)
				sim_set_pte(it.ptep, it.entry & ~SIM_PTE_ACCESSED);
		}
		/* The notifiers below may sleep. */
		sim_pt_iter_unlock(&it);
		if (!found)
			break;
		if (!sim_pte_present(it.entry))
			continue;
		/* ptep_clear_young_notify(): the host's A bit, or the secondary MMU's. */
		s = max(it.leaf_start, addr);
		t = min(it.leaf_end, end);
		if (clear ? sim_mn_clear_young(mm, s, t) | host_young :
			    sim_mn_test_young(mm, s, t) | host_young)
			young += (t - s) >> PAGE_SHIFT;
	}
	up_read(&mm->mmap_lock);
	return young;
}

long sim_mm_age_range(struct sim_mm *mm, hva_t addr, u64 len)
{
	return age_range(mm, addr, len, true);
}

long sim_mm_test_young_range(struct sim_mm *mm, hva_t addr, u64 len)
{
	return age_range(mm, addr, len, false);
}
