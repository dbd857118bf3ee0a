// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host page tables: HVA -> PFN at 4K, 2M and 1G, x86-64 style.
 *
 * Four levels of 512-entry tables (PGD, PUD, PMD, PTE), indexed by HVA bits
 * 47:39, 38:30, 29:21 and 20:12.  A PUD or PMD entry is either a link to the
 * next table or, with PS (SIM_PTE_HUGE) set, a 1G or 2M leaf.  Entry formats
 * are listed in mm_internal.h.  Table pages come from __get_free_page() and
 * are counted in host->cnt.pgtable_pages while linked.
 *
 * Split page-table locks, as Linux with USE_SPLIT_PTE_PTLOCKS and
 * USE_SPLIT_PMD_PTLOCKS (x86-64's configuration):
 *
 *   entries of a          are changed under            Linux
 *   PTE table (4K)        that table's own lock         pte_offset_map_lock()
 *   PMD table (2M)        that table's own lock         pmd_lock()
 *   PUD table, PGD        mm->page_table_lock           pud_lock(), p4d/pgd
 *
 * sim_pte_lockptr() finds the lock of an entry; a PTE or PMD table gets its
 * lock when it is allocated (pagetable_pte_ctor()/pmd_ctor()) and loses it
 * when the table page is freed, after the grace period (rule 3), so a
 * walker that reached the table may still take it.  Faults in different
 * PTE tables, 2 MiB apart, take different locks.  Code that needs one
 * entry stable walks locklessly under mmap_lock (rule 2), takes the
 * entry's lock and looks again (sim_pt_walk_lock(), sim_pt_next_leaf()):
 * a table may have been linked at a none or huge entry meanwhile.  At most
 * one page-table lock is held at a time, except in MADV_COLLAPSE: PMD lock,
 * then PTE lock (as collapse_huge_page() nests them).
 *
 * Rules:
 *  1. Every entry is written under its page-table lock, with a release
 *     store (sim_set_pte()).  A table is filled before the link to it is
 *     stored, so a walker that loads the link with acquire sees it
 *     initialised.
 *  2. Tables are linked under the lock of the entry that links them by
 *     anyone holding mmap_lock (faults hold it for read), but unlinked only
 *     with mmap_lock held for write (munmap, MADV_COLLAPSE, teardown).
 *     Hence whoever holds mmap_lock in any mode may walk without a
 *     page-table lock and keep a pointer to an entry across dropping one:
 *     the table it lies in cannot go away.
 *  3. An unlinked table is freed only after an RCU grace period (call_rcu on
 *     a batch, or synchronize_rcu() when no batch can be allocated, as
 *     Linux's tlb_remove_table() falls back to a synchronous wait).  So a
 *     lockless walker (sim_mm_lookup(), GUP-fast) inside rcu_read_lock() may
 *     read every table it reached, even one being unlinked; the entries it
 *     reads are then stale, which the invalidation sequence (mmu_notifier.c)
 *     or GUP-fast's recheck catches.
 *  4. A PMD-mapped THP becomes a PTE table of the same translations
 *     (sim_split_huge_pmd) under mmap_lock held for read, with its own
 *     CLEAR notifier pair; the reverse (collapse) needs it for write.
 *  5. Frames unlinked from the tables are gathered (struct sim_mmu_gather)
 *     and their references dropped after the page-table lock is released: the
 *     callers unlink inside an invalidate_range_start/end pair, so secondary
 *     MMUs stopped using the frames before the entries changed.
 *
 * Reference rule for frames: a mapping of an order-0 page holds one
 * reference; a compound page (THP, hugetlb) holds one reference for all its
 * mappings in the mm, whether it is mapped by one huge entry or, after the
 * mapping was split while the folio could not be, by PTEs of one PTE table
 * (a "PTE-mapped THP").  The zero page and VM_PFNMAP frames hold none.
 */
#include "mmusim_env.h"
#include "host/mm_internal.h"

/* ======================== table pages ======================== */

/*
 * A zeroed table for level-@level entries; a PTE or PMD table comes with
 * its lock (ptlock_init()).
 */
u64 *sim_pt_alloc_table(struct sim_mm *mm, int level)
{
	u64 *table = (u64 *)get_zeroed_page(GFP_KERNEL);
	spinlock_t *ptl = NULL;

	if (!table)
		return NULL;
	if (level <= PG_LEVEL_2M) {
		ptl = kmalloc(sizeof(*ptl), GFP_KERNEL);
		if (!ptl) {
			free_page((unsigned long)table);
			return NULL;
		}
		spin_lock_init(ptl);
	}
	set_page_private(virt_to_page(table), (unsigned long)ptl);
	atomic64_inc(&mm->host->cnt.pgtable_pages);
	return table;
}

/* pagetable_dtor_free(): the table page and its lock. */
static void sim_pt_dtor_free(u64 *table)
{
	struct page *page = virt_to_page(table);

	kfree((void *)page_private(page));
	set_page_private(page, 0);
	free_page((unsigned long)table);
}

/* For a table that was never linked (lost a race, or an error path). */
void sim_pt_free_table(struct sim_mm *mm, u64 *table)
{
	atomic64_dec(&mm->host->cnt.pgtable_pages);
	sim_pt_dtor_free(table);
}

int sim_pgtable_init(struct sim_mm *mm)
{
	mm->pgd = sim_pt_alloc_table(mm, PG_LEVEL_512G);
	return mm->pgd ? 0 : -ENOMEM;
}

/* Final free of the mm: nobody may walk it any more. */
void sim_pgtable_free_pgd(struct sim_mm *mm)
{
	unsigned int i;

	if (!mm->pgd)
		return;
	for (i = 0; i < SIM_PTRS_PER_TABLE; i++)
		WARN_ON_ONCE(mm->pgd[i]);
	sim_pt_free_table(mm, mm->pgd);
	mm->pgd = NULL;
}

/* ======================== walking ======================== */

/**
 * sim_pt_walk - find the entry for @addr at @level
 * @mm: the address space
 * @addr: host virtual address
 * @level: the level wanted (PG_LEVEL_4K .. PG_LEVEL_512G)
 * @levelp: receives the level of the entry returned
 *
 * Descends links from the PGD.  Stops early at an entry above @level that
 * is not a link (none, or a huge leaf) and returns that one instead.  The
 * caller holds mmap_lock (rule 2) or rcu_read_lock(); the entry may change
 * unless its lock (sim_pte_lockptr()) is held.
 *
 * Return: a pointer to the entry, never NULL (the PGD always exists).
 */
u64 *sim_pt_walk(struct sim_mm *mm, hva_t addr, int level, int *levelp)
{
	unsigned int shift = sim_level_shift(PG_LEVEL_512G);
	u64 *table = mm->pgd;
	int l;

	/* Every fault walks several times: the index shift steps by 9, not recomputed. */
	for (l = PG_LEVEL_512G; l > level; l--, shift -= 9) {
		u64 *ptep = &table[(addr >> shift) & (SIM_PTRS_PER_TABLE - 1)];
		u64 e = sim_read_pte(ptep);

		if (!sim_pte_is_link(e)) {
			*levelp = l;
			return ptep;
		}
		table = sim_pte_table(e);
	}
	*levelp = level;
	return &table[(addr >> shift) & (SIM_PTRS_PER_TABLE - 1)];
}

/**
 * sim_pt_walk_lock - the leaf entry for @addr, with its page-table lock held
 * @levelp: receives the level of the entry (4K, or a huge leaf or none above)
 * @ptlp: receives the lock taken, which the caller drops
 *
 * pte_offset_map_lock(), or pmd_lock()/pud_lock() where the walk stops
 * above 4K.  The walk is lockless (the caller holds mmap_lock, rule 2); under
 * the lock the entry is read again, and if a table was linked there since
 * (a racing fault, or a THP split), the walk goes on through it.
 */
u64 *sim_pt_walk_lock(struct sim_mm *mm, hva_t addr, int *levelp, spinlock_t **ptlp)
{
	lockdep_assert_held(&mm->mmap_lock);
	for (;;) {
		int level;
		u64 *ptep = sim_pt_walk(mm, addr, PG_LEVEL_4K, &level);
		spinlock_t *ptl = sim_pte_lockptr(mm, ptep, level);

		spin_lock(ptl);
		if (!sim_pte_is_table(READ_ONCE(*ptep), level)) {
			*levelp = level;
			*ptlp = ptl;
			return ptep;
		}
		spin_unlock(ptl);
	}
}

/**
 * sim_pt_alloc - make sure tables exist down to @level for @addr
 *
 * Allocates missing tables with GFP_KERNEL (so no page-table lock may be
 * held) and links each under the lock of its entry (pmd_install(), or
 * page_table_lock above the PMD).  Stops at a huge leaf above
 * @level, which *levelp then reports.  The caller holds mmap_lock, which
 * keeps *ptepp valid after return (rule 2).
 *
 * Return: 0 or -ENOMEM.
 */
int sim_pt_alloc(struct sim_mm *mm, hva_t addr, int level, u64 **ptepp, int *levelp)
{
	lockdep_assert_held(&mm->mmap_lock);
	for (;;) {
		int l;
		u64 *ptep = sim_pt_walk(mm, addr, level, &l);
		spinlock_t *ptl;
		u64 *table, e;

		/*
		 * If the walk stopped above @level, it was at a none entry or a
		 * huge leaf; another fault may have linked a table there since
		 * the walk read it: walk on through it, it is not a leaf.
		 */
		e = l == level ? 0 : sim_read_pte(ptep);
		if (e && sim_pte_is_table(e, l))
			continue;
		if (l == level || e) {
			*ptepp = ptep;
			*levelp = l;
			return 0;
		}
		table = sim_pt_alloc_table(mm, l - 1);
		if (!table)
			return -ENOMEM;
		ptl = sim_pte_lockptr(mm, ptep, l);
		spin_lock(ptl);
		if (!READ_ONCE(*ptep)) {
			sim_set_pte(ptep, __pa(table) | SIM_PTE_TABLE);
			table = NULL;
		}
		spin_unlock(ptl);
		if (table)
			sim_pt_free_table(mm, table);
	}
}

/*
 * sim_mm_lookup() is what KVM's host_pfn_mapping_level() and the seq-checked
 * fast paths use: no lock, only RCU to keep the tables it walks alive.
 */
int sim_mm_lookup(struct sim_mm *mm, hva_t addr, struct sim_host_pte_info *info)
{
	int level;
	u64 e;

	if (!mm || !info)
		return -EINVAL;
	if (addr >= SIM_TASK_SIZE)
		return -EFAULT;
	rcu_read_lock();
	e = sim_read_pte(sim_pt_walk(mm, addr, PG_LEVEL_4K, &level));
	rcu_read_unlock();
	if (!sim_pte_present(e) || level > PG_LEVEL_1G)
		return -EFAULT;
	info->pfn = sim_pte_pfn(e) + ((addr & (sim_level_size(level) - 1)) >> PAGE_SHIFT);
	info->level = level;
	info->writable = e & SIM_PTE_WRITE;
	info->young = e & SIM_PTE_ACCESSED;
	info->dirty = e & SIM_PTE_DIRTY;
	info->special = e & SIM_PTE_SPECIAL;
	return 0;
}

void sim_pt_iter_init(struct sim_pt_iter *it, hva_t start, hva_t end)
{
	it->addr = start;
	it->end = end;
	it->ptl = NULL;
}

/* Drop the lock the iteration holds (to sleep); the next call takes one again. */
void sim_pt_iter_unlock(struct sim_pt_iter *it)
{
	if (it->ptl) {
		spin_unlock(it->ptl);
		it->ptl = NULL;
	}
}

/**
 * sim_pt_next_leaf - the next non-none leaf at or after it->addr
 *
 * Under mmap_lock.  Returns the leaf with its page-table lock held
 * (it->ptl), which stays held while the following leaves lie in the same
 * table, as zap_pte_range() holds one PTE lock for a whole table; returns
 * false with no lock held.  A caller that stops early, or sleeps, calls
 * sim_pt_iter_unlock().  Skips whole none tables.  The leaf found may start
 * before it->addr or end after it->end (a huge leaf); it->addr moves past it.
 * Re-walks from the PGD each time, so the caller may reset it->addr to
 * revisit a leaf it split.
 */
bool sim_pt_next_leaf(struct sim_mm *mm, struct sim_pt_iter *it)
{
	lockdep_assert_held(&mm->mmap_lock);
	while (it->addr < it->end) {
		int level;
		u64 *ptep = sim_pt_walk(mm, it->addr, PG_LEVEL_4K, &level);
		spinlock_t *ptl = sim_pte_lockptr(mm, ptep, level);
		u64 e, size;
		hva_t start;

		if (ptl != it->ptl) {
			sim_pt_iter_unlock(it);
			spin_lock(ptl);
			it->ptl = ptl;
		}
		e = READ_ONCE(*ptep);
		if (sim_pte_is_table(e, level))
			continue; /* linked since the walk: walk on through it */
		size = sim_level_size(level);
		start = ALIGN_DOWN(it->addr, size);
		it->addr = start + size;
		if (!e || WARN_ON_ONCE(level > PG_LEVEL_1G))
			continue;
		it->ptep = ptep;
		it->entry = e;
		it->level = level;
		it->leaf_start = start;
		it->leaf_end = start + size;
		return true;
	}
	sim_pt_iter_unlock(it);
	return false;
}

/* ======================== mmu_gather ======================== */

struct sim_pt_batch {
	struct rcu_head rcu;
	unsigned int nr;
	u64 *tables[SIM_GATHER_TABLES];
};

static void sim_pt_batch_free(struct rcu_head *rcu)
{
	struct sim_pt_batch *b = container_of(rcu, struct sim_pt_batch, rcu);
	unsigned int i;

	for (i = 0; i < b->nr; i++)
		sim_pt_dtor_free(b->tables[i]);
	kfree(b);
}

void sim_tlb_gather_init(struct sim_mmu_gather *tlb, struct sim_mm *mm)
{
	tlb->mm = mm;
	tlb->nr_pages = 0;
	tlb->nr_tables = 0;
}

/* Under a page-table lock.  True when full: drop the lock and sim_tlb_flush(). */
bool sim_tlb_remove_page(struct sim_mmu_gather *tlb, struct sim_page *page)
{
	tlb->pages[tlb->nr_pages++] = page;
	return tlb->nr_pages == SIM_GATHER_PAGES;
}

/* An unlinked table: no longer counted, freed after a grace period. */
bool sim_tlb_remove_table(struct sim_mmu_gather *tlb, u64 *table)
{
	atomic64_dec(&tlb->mm->host->cnt.pgtable_pages);
	tlb->tables[tlb->nr_tables++] = table;
	return tlb->nr_tables == SIM_GATHER_TABLES;
}

/* Without a page-table lock; may sleep. */
void sim_tlb_flush(struct sim_mmu_gather *tlb)
{
	struct sim_host *host = tlb->mm->host;
	struct sim_pt_batch *b;
	unsigned int i;

	might_sleep();
	for (i = 0; i < tlb->nr_pages; i++) {
		/* Unmapped: its swap copy can never be read again (free_swap_cache()). */
		kfree(sim_swapcache_del(host, tlb->pages[i]));
		sim_put_page(host, tlb->pages[i]);
	}
	tlb->nr_pages = 0;
	if (!tlb->nr_tables)
		return;
	b = kmalloc(sizeof(*b), GFP_KERNEL | __GFP_NOWARN);
	if (b) {
		b->nr = tlb->nr_tables;
		memcpy(b->tables, tlb->tables, tlb->nr_tables * sizeof(tlb->tables[0]));
		call_rcu(&b->rcu, sim_pt_batch_free);
	} else {
		/* No memory for a batch: wait out the lockless walkers here. */
		synchronize_rcu();
		for (i = 0; i < tlb->nr_tables; i++)
			sim_pt_dtor_free(tlb->tables[i]);
	}
	tlb->nr_tables = 0;
}

/* ======================== PTE-mapped THPs ======================== */

/*
 * Number of entries of the PTE table holding *@ptep (for @addr) that map a
 * frame of the order-@order folio at @head_pfn.  Under that table's lock.
 */
int sim_folio_mapcount_locked(struct sim_mm *mm, u64 *ptep, hva_t addr, kvm_pfn_t head_pfn,
			      unsigned int order)
{
	u64 *table = ptep - sim_level_index(addr, PG_LEVEL_4K);
	kvm_pfn_t nr = 1ULL << order;
	unsigned int i;
	int n = 0;

	lockdep_assert_held(sim_ptlock_ptr(table));
	for (i = 0; i < SIM_PTRS_PER_TABLE; i++) {
		u64 e = READ_ONCE(table[i]);

		if (sim_pte_maps_frame(e) && sim_pte_pfn(e) - head_pfn < nr)
			n++;
	}
	return n;
}

/**
 * sim_try_split_pte_mapped_folio - split_huge_page() of a PTE-mapped THP
 *
 * *@ptep (for @addr) maps a page of a compound folio that is mapped by PTEs
 * and holds one reference for all of them.  If nobody else holds it, split
 * it into order-0 pages, one reference each, and drop the references of the
 * pages that are no longer mapped.  Under the PTE table's lock.
 *
 * Return: 0 (also when the page was not compound), -EBUSY if it is pinned
 * or referenced elsewhere.
 */
int sim_try_split_pte_mapped_folio(struct sim_mm *mm, u64 *ptep, hva_t addr)
{
	struct sim_host *host = mm->host;
	u64 *table = ptep - sim_level_index(addr, PG_LEVEL_4K);
	DECLARE_BITMAP(mapped, SIM_PTRS_PER_TABLE);
	struct sim_page *page, *head;
	unsigned int order, i;
	kvm_pfn_t head_pfn;

	lockdep_assert_held(sim_ptlock_ptr(table));
	page = sim_pfn_to_page(host, sim_pte_pfn(READ_ONCE(*ptep)));
	if (!page)
		return 0;
	head = sim_compound_head(host, page);
	order = sim_compound_order(host, head);
	if (!order)
		return 0;
	if (WARN_ON_ONCE(order > SIM_THP_ORDER) || sim_split_compound_page(host, head, 1))
		return -EBUSY;

	head_pfn = sim_page_to_pfn(host, head);
	bitmap_zero(mapped, SIM_PTRS_PER_TABLE);
	for (i = 0; i < SIM_PTRS_PER_TABLE; i++) {
		u64 e = READ_ONCE(table[i]);
		kvm_pfn_t idx = sim_pte_pfn(e) - head_pfn;

		if (sim_pte_maps_frame(e) && idx < (1ULL << order))
			__set_bit(idx, mapped);
	}
	/* Each page got the folio's one reference; unmapped pages give it back. */
	for (i = 0; i < (1U << order); i++)
		if (!test_bit(i, mapped))
			sim_put_page(host, head + i);
	return 0;
}

/**
 * sim_split_huge_pmd_locked - turn a PMD-mapped THP into a PTE table
 * @mm: the address space
 * @pmdp: the PMD entry, a THP leaf (present or PROT_NONE), its lock held
 * @haddr: the 2M-aligned address it maps
 * @table: a zeroed, unlinked PTE table (with its lock), consumed
 *
 * The 512 PTEs map the same frames with the same bits.  If the mapping holds
 * the only reference to the folio it is split too (split_huge_page()), else
 * it stays a PTE-mapped THP holding one reference (see the reference rule).
 * The caller is inside a CLEAR invalidation of [haddr, haddr + 2M).
 */
void sim_split_huge_pmd_locked(struct sim_mm *mm, u64 *pmdp, hva_t haddr, u64 *table)
{
	struct sim_host *host = mm->host;
	u64 pmd = READ_ONCE(*pmdp);
	u64 bits = pmd & ~(SIM_PTE_PFN_MASK | SIM_PTE_HUGE);
	kvm_pfn_t pfn = sim_pte_pfn(pmd);
	struct sim_page *head = sim_pfn_to_page(host, pfn);
	unsigned int i;

	lockdep_assert_held(sim_pte_lockptr(mm, pmdp, PG_LEVEL_2M));
	for (i = 0; i < SIM_PTRS_PER_TABLE; i++)
		WRITE_ONCE(table[i], sim_make_pte(pfn + i, bits));
	if (head && sim_compound_order(host, head))
		(void)sim_split_compound_page(host, head, 1);
	sim_set_pte(pmdp, __pa(table) | SIM_PTE_TABLE);
	atomic64_inc(&host->cnt.thp_splits);
}

/**
 * sim_split_huge_pmd - split the THP mapping that covers @addr, if any
 *
 * Caller holds mmap_lock (read is enough) and no page-table lock.  Delivers
 * a CLEAR invalidation of the THP's 2M around the change.
 *
 * Return: 0 (also when there is nothing to split) or -ENOMEM.
 */
int sim_split_huge_pmd(struct sim_mm *mm, struct sim_vma *vma, hva_t addr)
{
	hva_t haddr = ALIGN_DOWN(addr, SZ_2M);
	struct sim_mmu_notifier_range range;
	u64 *pmdp, *table;
	spinlock_t *ptl;
	int level;

	lockdep_assert_held(&mm->mmap_lock);
	if (sim_vma_hugetlb(vma) || (vma->vm_flags & SIM_VM_SPECIAL))
		return 0;
	pmdp = sim_pt_walk(mm, haddr, PG_LEVEL_2M, &level);
	if (level != PG_LEVEL_2M || !(sim_read_pte(pmdp) & SIM_PTE_HUGE))
		return 0;
	table = sim_pt_alloc_table(mm, PG_LEVEL_4K);
	if (!table)
		return -ENOMEM;

	sim_mn_range_init(&range, mm, haddr, haddr + SZ_2M, SIM_MMU_NOTIFY_CLEAR);
	sim_mn_invalidate_range_start(&range);
	ptl = sim_pte_lockptr(mm, pmdp, PG_LEVEL_2M);
	spin_lock(ptl);
	if (READ_ONCE(*pmdp) & SIM_PTE_HUGE) {
		sim_split_huge_pmd_locked(mm, pmdp, haddr, table);
		table = NULL;
	}
	spin_unlock(ptl);
	sim_mn_invalidate_range_end(&range);
	if (table)
		sim_pt_free_table(mm, table);
	return 0;
}

/* ======================== unmapping ======================== */

/* The reference an unmapped leaf gives back, or NULL. */
static struct sim_page *zap_leaf_page(struct sim_mm *mm, struct sim_pt_iter *it, u64 e)
{
	struct sim_host *host = mm->host;
	struct sim_page *page, *head;
	kvm_pfn_t pfn = sim_pte_pfn(e);
	unsigned int order;

	if (!sim_pte_maps_frame(e) || (e & SIM_PTE_SPECIAL) || sim_page_is_zero(mm, pfn))
		return NULL;
	page = sim_pfn_to_page(host, pfn);
	if (WARN_ON_ONCE(!page))
		return NULL;
	if (it->level > PG_LEVEL_4K)
		return page;
	head = sim_compound_head(host, page);
	order = sim_compound_order(host, head);
	if (!order)
		return page;
	/* A PTE-mapped THP: its reference goes with its last PTE. */
	if (sim_folio_mapcount_locked(mm, it->ptep, it->leaf_start, sim_page_to_pfn(host, head),
				      order))
		return NULL;
	return head;
}

/**
 * sim_zap_range - clear every entry of @vma in [start, end)
 * @tlb: receives the references of the frames unmapped
 *
 * zap_page_range(): the caller holds mmap_lock (read for MADV_DONTNEED,
 * write for munmap and teardown), is inside an invalidate_range_start/end
 * pair covering [start, end), and has split the THPs that straddle start or
 * end.  Hugetlb ranges are aligned by the callers.  Swap slots are freed.
 * Tables stay (sim_free_pgtables() frees them under mmap_lock for write).
 */
void sim_zap_range(struct sim_mm *mm, struct sim_vma *vma, hva_t start, hva_t end,
		   struct sim_mmu_gather *tlb)
{
	struct sim_pt_iter it;

	lockdep_assert_held(&mm->mmap_lock);
	sim_pt_iter_init(&it, start, end);
	while (sim_pt_next_leaf(mm, &it)) {
		struct sim_page *page;
		u64 e = it.entry;

		/*
		 * A huge leaf straddling the range was faulted in after the
		 * boundary split, by a fault racing with MADV_DONTNEED (which
		 * holds mmap_lock only for read): that fault comes after the
		 * zap, so its leaf stays.
		 */
		if (it.leaf_start < start || it.leaf_end > end) {
			WARN_ON_ONCE(sim_vma_hugetlb(vma));
			continue;
		}
		sim_set_pte(it.ptep, 0);
		if (sim_pte_swap(e)) {
			kfree(sim_pte_swap_slot(e));
			continue;
		}
		page = zap_leaf_page(mm, &it, e);
		if (page && sim_tlb_remove_page(tlb, page)) {
			sim_pt_iter_unlock(&it);
			sim_tlb_flush(tlb);
		}
	}
}

/*
 * Unlink and gather every table below @table (a table of level-@level
 * entries mapping from @base) whose span meets [start, end) and which is
 * empty.  Returns true if @table is then empty itself.  mmap_lock is held
 * for write, so nobody else changes these tables; each link is still
 * cleared under its lock (rule 1), and no lock is held across a flush.
 */
static bool free_pt_level(struct sim_mm *mm, u64 *table, int level, hva_t base, hva_t start,
			  hva_t end, struct sim_mmu_gather *tlb)
{
	u64 size = sim_level_size(level);
	bool empty = true;
	unsigned int i;

	for (i = 0; i < SIM_PTRS_PER_TABLE; i++) {
		hva_t s = base + i * size;
		u64 e = READ_ONCE(table[i]);

		if (e && s < end && s + size > start && sim_pte_is_table(e, level)) {
			u64 *child = sim_pte_table(e);

			if (free_pt_level(mm, child, level - 1, s, start, end, tlb)) {
				spinlock_t *ptl = sim_pte_lockptr(mm, &table[i], level);

				spin_lock(ptl);
				sim_set_pte(&table[i], 0);
				spin_unlock(ptl);
				e = 0;
				if (sim_tlb_remove_table(tlb, child))
					sim_tlb_flush(tlb);
			}
		}
		if (e)
			empty = false;
	}
	return empty;
}

/**
 * sim_free_pgtables - free the empty tables met by [start, end)
 *
 * free_pgtables(): after the range was zapped, with mmap_lock held for
 * write.  Empty tables are unlinked and freed after a grace period (rule 3).
 * The PGD stays.
 */
void sim_free_pgtables(struct sim_mm *mm, hva_t start, hva_t end, struct sim_mmu_gather *tlb)
{
	lockdep_assert_held_write(&mm->mmap_lock);
	free_pt_level(mm, mm->pgd, PG_LEVEL_512G, 0, start, end, tlb);
}
