/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host address spaces: what mm.c, pgtable.c, fault.c, mm_ops.c,
 * mmu_notifier.c and gup.c share.  Nothing outside src/host (and its tests)
 * may include this header.  The locking model is described in mm.c.
 *
 * Host page-table entries (x86-64 like, 4 levels, see pgtable.c):
 *
 *   present leaf   pfn << 12 | P | [W] | [A] | [D] | [PS at 2M/1G] | [SPECIAL]
 *   table          __pa(table) | P | W | A          (levels 512G, 1G, 2M)
 *   PROT_NONE      pfn << 12 | PROTNONE | [A] | [D] | [PS] | [SPECIAL]  (P clear)
 *   swap (4K)      slot << 4 | SWAP                                    (P clear)
 *   none           0
 *
 * A non-present entry is told apart by its low bits: SWAP (bit 1) first,
 * then PROTNONE (bit 8).  PROT_NONE entries never carry W, which is bit 1.
 */
#ifndef _MMUSIM_HOST_MM_INTERNAL_H
#define _MMUSIM_HOST_MM_INTERNAL_H

#include <mmusim/host.h>
#include "host/host_internal.h"

/* ======================== geometry ======================== */

/* x86-64 with 4-level paging: TASK_SIZE_MAX, and a top-down mmap base. */
#define SIM_TASK_SIZE ((1UL << 47) - PAGE_SIZE)
#define SIM_MMAP_BASE 0x7f0000000000UL
#define SIM_MMAP_MIN_ADDR 0x10000UL /* vm.mmap_min_addr */
#define SIM_PTRS_PER_TABLE 512
#define SIM_THP_ORDER 9

/* Levels: an entry at PG_LEVEL_4K maps 4 KiB, at PG_LEVEL_512G it is a PGD entry. */
static inline unsigned int sim_level_shift(int level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static inline u64 sim_level_size(int level)
{
	return 1ULL << sim_level_shift(level);
}

static inline unsigned int sim_level_index(hva_t addr, int level)
{
	return (addr >> sim_level_shift(level)) & (SIM_PTRS_PER_TABLE - 1);
}

/* ======================== entries ======================== */

#define SIM_PTE_PRESENT BIT_ULL(0)
#define SIM_PTE_WRITE BIT_ULL(1)
#define SIM_PTE_SWAP BIT_ULL(1) /* only with PRESENT clear */
#define SIM_PTE_ACCESSED BIT_ULL(5)
#define SIM_PTE_DIRTY BIT_ULL(6)
#define SIM_PTE_HUGE BIT_ULL(7)		/* PS: a leaf at 2M or 1G */
#define SIM_PTE_PROTNONE BIT_ULL(8)	/* _PAGE_PROTNONE: mapped but inaccessible */
#define SIM_PTE_SPECIAL BIT_ULL(9)	/* _PAGE_SPECIAL: VM_PFNMAP, no struct page */
#define SIM_PTE_PFN_MASK GENMASK_ULL(51, 12)
#define SIM_PTE_TABLE (SIM_PTE_PRESENT | SIM_PTE_WRITE | SIM_PTE_ACCESSED)
#define SIM_SWP_SHIFT 4

static_assert(SIM_PTE_PROTNONE != SIM_PTE_SWAP && !(SIM_PTE_PROTNONE & SIM_PTE_PFN_MASK),
	      "PROT_NONE marker must not collide");
static_assert(SIM_TASK_SIZE < (1UL << 47), "swap slots and tables fit the PFN field");

static inline bool sim_pte_present(u64 e)
{
	return e & SIM_PTE_PRESENT;
}

static inline bool sim_pte_swap(u64 e)
{
	return !(e & SIM_PTE_PRESENT) && (e & SIM_PTE_SWAP);
}

static inline bool sim_pte_protnone(u64 e)
{
	return !(e & (SIM_PTE_PRESENT | SIM_PTE_SWAP)) && (e & SIM_PTE_PROTNONE);
}

/* The entry maps a frame (accessible or not). */
static inline bool sim_pte_maps_frame(u64 e)
{
	return sim_pte_present(e) || sim_pte_protnone(e);
}

/* Present and not a huge leaf: above 4K, a link to the next table. */
static inline bool sim_pte_is_link(u64 e)
{
	return (e & (SIM_PTE_PRESENT | SIM_PTE_HUGE)) == SIM_PTE_PRESENT;
}

/* At a level above 4K: a link to the next table (not a huge leaf). */
static inline bool sim_pte_is_table(u64 e, int level)
{
	return level > PG_LEVEL_4K && sim_pte_is_link(e);
}

static inline kvm_pfn_t sim_pte_pfn(u64 e)
{
	return (e & SIM_PTE_PFN_MASK) >> PAGE_SHIFT;
}

static inline u64 *sim_pte_table(u64 e)
{
	return __va(e & SIM_PTE_PFN_MASK);
}

static inline u64 sim_make_pte(kvm_pfn_t pfn, u64 bits)
{
	return ((u64)pfn << PAGE_SHIFT) | bits;
}

/* A swapped-out 4K page: its contents, kmalloc'd, hang off the entry. */
struct sim_swap_slot {
	u8 data[PAGE_SIZE];
	kvm_pfn_t from_pfn; /* the frame last written here, for SIM_FRAME_SWAP_IN */
	/* In the swap cache: the page's PFN, and its link in host->swapcache. */
	kvm_pfn_t cache_pfn;
	struct hlist_node cache_node;
};

static inline struct sim_swap_slot *sim_pte_swap_slot(u64 e)
{
	return (struct sim_swap_slot *)(unsigned long)(e >> SIM_SWP_SHIFT);
}

static inline u64 sim_make_swap_pte(struct sim_swap_slot *slot)
{
	return ((u64)(unsigned long)slot << SIM_SWP_SHIFT) | SIM_PTE_SWAP;
}

/*
 * The swap cache.  A page swapped in by a read fault keeps its slot
 * (SIM_PG_SWAPCACHE, and the slot in host->swapcache, keyed by the page's
 * PFN: swap-cache pages are few, so struct sim_page has no room for the
 * pointer, unlike folio->swap): its swap copy stays current until the
 * page is dirtied, and reclaim drops a clean one without writing it.  The
 * slot is the page's until the page leaves the swap cache: reclaimed (the
 * slot goes back into the PTE), reused for a write through a read-only
 * mapping (fault.c), unmapped (sim_tlb_flush()), collapsed into a THP, or
 * migrated (the slot moves to the new page).  Only order-0 anonymous pages
 * are in it.  Changed under page_table_lock while the page is mapped, else
 * by whoever owns the page alone (refcount frozen, or last mapping gone).
 */
struct sim_swap_slot *sim_swapcache_slot(struct sim_host *host, struct sim_page *page);
void sim_swapcache_add(struct sim_host *host, struct sim_page *page, struct sim_swap_slot *slot);
/* Takes @page out of the swap cache; its slot (or NULL) is the caller's. */
struct sim_swap_slot *sim_swapcache_del(struct sim_host *host, struct sim_page *page);

/*
 * Entry stores.  Every store is a release so that a lockless walker that
 * reads a table link with an acquire load sees the table initialised, and
 * sees the invalidation sequence already odd if it sees a changed leaf.
 */
static inline void sim_set_pte(u64 *ptep, u64 e)
{
	smp_store_release(ptep, e);
}

static inline u64 sim_read_pte(u64 *ptep)
{
	return smp_load_acquire(ptep);
}

/* ======================== VMAs and the mm ======================== */

#define SIM_VM_ACCESS_FLAGS (SIM_VM_READ | SIM_VM_WRITE | SIM_VM_EXEC)
#define SIM_VM_SPECIAL (SIM_VM_IO | SIM_VM_PFNMAP)

struct sim_vma {
	struct list_head node;	/* mm->vmas, sorted by vm_start; under mmap_lock */
	hva_t vm_start, vm_end; /* [vm_start, vm_end) */
	unsigned long vm_flags; /* SIM_VM_* */
	int hpage_level;	/* hugetlb: PG_LEVEL_2M or PG_LEVEL_1G; else PG_LEVEL_4K */
	kvm_pfn_t pfn_base;	/* VM_PFNMAP: the PFN mapped at vm_start */
};

/*
 * struct sim_mm, the simulator's mm_struct.  Fields are grouped by the lock
 * that protects them.
 */
struct sim_mm {
	struct sim_host *host;
	struct list_head mm_node; /* host->mm_list, under host->mm_list_lock */
	/* Lifetime of the struct (mm_count): the owner plus one per notifier. */
	atomic_t mm_count;
	bool dead;		  /* sim_mm_destroy() ran; under mmap_lock */

	/*
	 * mmap_lock: read for faults, GUP and host events, write for layout changes.
	 * Every fault writes its count: padding keeps it off the lines of the
	 * fields GUP-fast and the walks only read (host, pgd).
	 */
	u8 _pad_mmap_lock[64];
	struct rw_semaphore mmap_lock;
	u8 _pad_mmap_lock_end[64];
	struct list_head vmas;
	unsigned long nr_vmas;
	unsigned long locked_vm; /* pages, VM_LOCKED and account_locked_vm() */
	u64 memlock_limit;	 /* RLIMIT_MEMLOCK, bytes */
	bool cap_ipc_lock; /* capable(CAP_IPC_LOCK): RLIMIT_MEMLOCK does not apply */
	int signal;		 /* SIM_SIGNAL_*: what GUP's signal checks see */

	/*
	 * page_table_lock: changes of PGD and PUD entries (table links, 1G
	 * leaves).  PMD and PTE entries have their table's own lock
	 * (sim_pte_lockptr(), "split page-table locks" in pgtable.c).
	 */
	spinlock_t page_table_lock;
	u64 *pgd;		/* never changes; freed with the struct */
	struct sim_page *zero_page; /* the shared zero page of private mappings */
	kvm_pfn_t zero_pfn;

	/* MMU notifiers: list changes under notifier_lock, walks under notifier_srcu. */
	spinlock_t notifier_lock;
	struct list_head notifiers;
	struct srcu_struct notifier_srcu;

	/*
	 * write_protect_seq: odd while sim_mm_fork() write-protects this mm's
	 * private pages, so that GUP-fast, which holds no lock, cannot pin a
	 * page that fork is about to share (it rechecks after pinning).
	 */
	unsigned int write_protect_seq;

	/* Invalidation sequence (mmu_interval_notifier style): odd while any is active. */
	spinlock_t inv_lock;
	int inv_active;
	unsigned long inv_seq;
};

/* mm.c */
struct sim_vma *sim_find_vma(struct sim_mm *mm, hva_t addr);
struct sim_vma *sim_vma_lookup(struct sim_mm *mm, hva_t addr);
struct sim_vma *sim_vma_next(struct sim_mm *mm, struct sim_vma *vma);
struct sim_vma *sim_vma_prev(struct sim_mm *mm, struct sim_vma *vma);
bool sim_range_has_hole(struct sim_mm *mm, hva_t start, hva_t end);
bool sim_vma_split_ok(struct sim_vma *vma, hva_t addr);
int sim_vma_prealloc(struct sim_vma **v, int n);
void sim_vma_prealloc_free(struct sim_vma **v, int n);
struct sim_vma *sim_vma_take(struct sim_vma **v, int n);
void sim_vma_split(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, struct sim_vma *upper);
struct sim_vma *sim_vma_merge_around(struct sim_mm *mm, struct sim_vma *vma);
void sim_vma_remove(struct sim_mm *mm, struct sim_vma *vma);
void sim_mm_drop(struct sim_mm *mm);
bool sim_vma_thp_eligible(struct sim_vma *vma, hva_t haddr);

/* Every VMA that meets [start, end), in address order; mmap_lock held. */
#define sim_for_each_vma_in(mm, vma, start, end)                                      \
	for (vma = sim_find_vma(mm, start); vma && vma->vm_start < (end);             \
	     vma = sim_vma_next(mm, vma))

static inline bool sim_vma_accessible(const struct sim_vma *vma)
{
	return vma->vm_flags & SIM_VM_ACCESS_FLAGS;
}

static inline bool sim_vma_hugetlb(const struct sim_vma *vma)
{
	return vma->vm_flags & SIM_VM_HUGETLB;
}

/* ======================== page tables (pgtable.c) ======================== */

int sim_pgtable_init(struct sim_mm *mm);
void sim_pgtable_free_pgd(struct sim_mm *mm);
u64 *sim_pt_walk(struct sim_mm *mm, hva_t addr, int level, int *levelp);
u64 *sim_pt_walk_lock(struct sim_mm *mm, hva_t addr, int *levelp, spinlock_t **ptlp);
int sim_pt_alloc(struct sim_mm *mm, hva_t addr, int level, u64 **ptepp, int *levelp);
u64 *sim_pt_alloc_table(struct sim_mm *mm, int level);
void sim_pt_free_table(struct sim_mm *mm, u64 *table);

/*
 * Split page-table locks (USE_SPLIT_PTE_PTLOCKS, USE_SPLIT_PMD_PTLOCKS):
 * the lock of a PTE or PMD table hangs off the table page's struct page
 * (->private points to it, as with ALLOC_SPLIT_PTLOCKS; ptlock_ptr()).
 */
static inline spinlock_t *sim_ptlock_ptr(u64 *table)
{
	return (spinlock_t *)page_private(virt_to_page(table));
}

/*
 * The lock that covers the entry *@ptep, an entry of a table of
 * level-@level entries: pte_lockptr() at 4K, pmd_lockptr() at 2M, and at
 * 1G and 512G mm->page_table_lock (pud_lockptr(): x86 splits no PUD lock).
 */
static inline spinlock_t *sim_pte_lockptr(struct sim_mm *mm, u64 *ptep, int level)
{
	if (level > PG_LEVEL_2M)
		return &mm->page_table_lock;
	return sim_ptlock_ptr((u64 *)((unsigned long)ptep & PAGE_MASK));
}

/*
 * mmu_gather: frames and tables unlinked under their page-table lock, released
 * after it is dropped (frames) and after an RCU grace period (tables).
 */
#define SIM_GATHER_PAGES 64
#define SIM_GATHER_TABLES 32
struct sim_mmu_gather {
	struct sim_mm *mm;
	unsigned int nr_pages, nr_tables;
	struct sim_page *pages[SIM_GATHER_PAGES];
	u64 *tables[SIM_GATHER_TABLES];
};
void sim_tlb_gather_init(struct sim_mmu_gather *tlb, struct sim_mm *mm);
bool sim_tlb_remove_page(struct sim_mmu_gather *tlb, struct sim_page *page);
bool sim_tlb_remove_table(struct sim_mmu_gather *tlb, u64 *table);
void sim_tlb_flush(struct sim_mmu_gather *tlb);

/* Leaf iteration under mmap_lock; each leaf is returned with its page-table lock held. */
struct sim_pt_iter {
	hva_t addr, end;	/* next address to look at, end of the walk */
	u64 *ptep;		/* the leaf found */
	u64 entry;
	int level;
	hva_t leaf_start, leaf_end; /* what the leaf maps (may overhang [addr, end)) */
	spinlock_t *ptl; /* the lock held (that of *ptep), or NULL */
};
void sim_pt_iter_init(struct sim_pt_iter *it, hva_t start, hva_t end);
bool sim_pt_next_leaf(struct sim_mm *mm, struct sim_pt_iter *it);
void sim_pt_iter_unlock(struct sim_pt_iter *it);

void sim_zap_range(struct sim_mm *mm, struct sim_vma *vma, hva_t start, hva_t end,
		   struct sim_mmu_gather *tlb);
void sim_free_pgtables(struct sim_mm *mm, hva_t start, hva_t end, struct sim_mmu_gather *tlb);
int sim_split_huge_pmd(struct sim_mm *mm, struct sim_vma *vma, hva_t addr);
void sim_split_huge_pmd_locked(struct sim_mm *mm, u64 *pmdp, hva_t haddr, u64 *table);
int sim_try_split_pte_mapped_folio(struct sim_mm *mm, u64 *ptep, hva_t addr);
int sim_folio_mapcount_locked(struct sim_mm *mm, u64 *ptep, hva_t addr, kvm_pfn_t head_pfn,
			      unsigned int order);

/* ======================== faults (fault.c) ======================== */

#define SIM_FAULT_WRITE 0x1
#define SIM_FAULT_NOWAIT 0x2 /* FAULT_FLAG_RETRY_NOWAIT: do not wait for swap-in */
#define SIM_VM_FAULT_RETRY 1 /* the fault needs I/O and SIM_FAULT_NOWAIT was given */
/*
 * FAULT_FLAG_UNSHARE: replace the shared zero page, or a page fork shared,
 * by an exclusive page (a copy, or the page itself if nobody else holds
 * it), mapped read-only.
 */
#define SIM_FAULT_UNSHARE 0x4

int sim_handle_mm_fault(struct sim_mm *mm, struct sim_vma *vma, hva_t addr,
			unsigned int fault_flags);

/* What sim_follow_page() found. */
struct sim_follow {
	kvm_pfn_t pfn;		/* the 4K frame at the address */
	struct sim_page *page;	/* its descriptor, NULL for VM_PFNMAP */
	int level;
	bool writable;
};
#define SIM_FOLLOW_GRAB_GET 0x1 /* take a reference on the 4K page */
#define SIM_FOLLOW_GRAB_PIN 0x2 /* take a FOLL_PIN pin */
#define SIM_FOLLOW_UNSHARE 0x4 /* gup_must_unshare(): -ENOENT for the shared zero page */
/* gup_must_unshare() of a read-only pin: -ENOENT for a page fork shared (SIM_PG_ANON_SHARED). */
#define SIM_FOLLOW_UNSHARE_ANON 0x8
int sim_follow_page(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, bool write,
		    unsigned int grab, struct sim_follow *res);

struct sim_page *sim_alloc_user_page(struct sim_mm *mm, struct sim_vma *vma, unsigned int order,
				     bool zero);

/* ======================== host events (mm_ops.c) ======================== */

#define SIM_MIGRATE_LONGTERM 0x1    /* target unmovable memory (FOLL_LONGTERM) */
#define SIM_MIGRATE_IF_MOVABLE 0x2  /* skip pages that are already unmovable */
#define SIM_MIGRATE_COMPACT 0x4 /* compaction, not move_pages() (the frame event) */
int sim_migrate_one(struct sim_mm *mm, struct sim_vma *vma, hva_t addr, unsigned int mflags,
		    hva_t *leaf_end);

/* ======================== notifiers (mmu_notifier.c) ======================== */

void sim_mn_range_init(struct sim_mmu_notifier_range *range, struct sim_mm *mm, hva_t start,
		       hva_t end, enum sim_mmu_notifier_event event);
void sim_mn_invalidate_range_start(const struct sim_mmu_notifier_range *range);
void sim_mn_invalidate_range_end(const struct sim_mmu_notifier_range *range);
void sim_mn_change_pte(struct sim_mm *mm, hva_t addr, kvm_pfn_t pfn, bool writable);
int sim_mn_clear_young(struct sim_mm *mm, hva_t start, hva_t end);
int sim_mn_test_young(struct sim_mm *mm, hva_t start, hva_t end);
void sim_mn_release(struct sim_mm *mm);

#endif /* _MMUSIM_HOST_MM_INTERNAL_H */
