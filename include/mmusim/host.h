/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The simulated host: physical memory, its page allocator, host address
 * spaces with their page tables, MMU notifiers and GUP.
 *
 * This is what Linux's mm is to KVM.  The simulated host knows nothing of
 * KVM; KVM code reaches it only through the GUP-like lookups and the MMU
 * notifier interface below, as in Linux.  Names carry a sim_ prefix so that
 * the same sources compile into a kernel module without clashing with the
 * real struct page, get_user_pages() and mmu_notifier.
 *
 * Every call that can fail returns 0 (or a count) or the negative errno Linux
 * returns for the same failure, and leaves no partial state behind.
 *
 * NULL and garbage arguments (tests/test_api_contract.c checks each entry
 * point): a NULL handle (host, mm, notifier) or a NULL out-parameter is
 * -EINVAL, never a crash nor a WARN; a sim_page pointer that is NULL or not
 * one of @host's descriptors (another host's, misaligned) is treated the
 * same way.  Calls returning a pointer return NULL; void calls do nothing,
 * as kfree(NULL) does; calls returning a value say what they give below
 * (sim_pfn_valid() false, sim_page_flags() 0, sim_page_to_pfn() ~0,
 * sim_mm_locked_vm() 0, sim_mm_invalidate_read_begin() 0 and _retry()
 * false).  Out-of-range PFNs, unknown prot, map, advice and FOLL bits,
 * unaligned addresses and lengths past the address space get Linux's errno
 * (-EINVAL mostly; -ENOMEM or -EFAULT where Linux says so).  Misusing a
 * valid page's references (a put on a free page, unpinning what is not
 * pinned) still WARNs, as Linux does: that is a refcounting bug, not a bad
 * argument.
 */
#ifndef _MMUSIM_HOST_H
#define _MMUSIM_HOST_H

#include <mmusim/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sim_host;
struct sim_mm;

/* ======================== Physical memory ======================== */

struct sim_host_config {
	/* Bytes of allocator-managed RAM at PFN 0; 0 means 4 GiB.  Up to 1 TiB
	 * and more: backing and metadata are reserved lazily. */
	u64 mem_bytes;
	/* Optional PFN-only memory with no struct page (the mem= + /dev/mem
	 * case): nopage_pages frames starting at nopage_base_pfn, which must lie
	 * above the RAM.  0 pages means none. */
	u64 nopage_base_pfn;
	u64 nopage_pages;
	/* RLIMIT_MEMLOCK given to each new mm, in bytes; 0 means 8 MiB
	 * (Linux's default). */
	u64 memlock_limit;
	/* The host kernel's command line, for the one KVM module parameter the
	 * simulated KVM reads from its host: kvm.allow_unsafe_mappings (bool,
	 * 0444, default off), fixed for the host's life as it is for a boot. */
	bool kvm_allow_unsafe_mappings;
	/*
	 * The SEV platform, CPUID 0x8000001F as kvm_amd's sev_hardware_setup()
	 * reads it: ECX the highest ASID (sev_max_asid, 0 means 15) and EDX the
	 * first plain-SEV one (sev_min_asid, 0 means 1).  SEV guests take
	 * ASIDs min..max, SEV-ES guests 1..min - 1, so SEV-ES exists only
	 * with sev_min_asid > 1 (the default machine has none).  A max above
	 * SIM_SEV_ASID_LIMIT or a min above max + 1 is -EINVAL.
	 */
	u32 sev_max_asid;
	u32 sev_min_asid;
};

#define SIM_SEV_ASID_LIMIT 1023

/* @cfg NULL: the defaults.  @hostp NULL or a bad config: -EINVAL. */
int sim_host_create(const struct sim_host_config *cfg, struct sim_host **hostp);
/* kvm.allow_unsafe_mappings as the host booted with it; false for a NULL host. */
bool sim_host_kvm_allow_unsafe_mappings(struct sim_host *host);
/* The host's SEV ASIDs (the defaults applied); -EINVAL for a NULL argument. */
int sim_host_sev_asids(struct sim_host *host, u32 *min_sev_asid, u32 *max_sev_asid);
/* WARNs (and leaks rather than corrupts) if pages are still allocated, mms exist
 * or memremap()s are not unmapped.
 * NULL: nothing. */
void sim_host_destroy(struct sim_host *host);

/*
 * Per-frame metadata, the simulator's struct page.  Opaque outside src/host
 * (its layout lives in src/host/page.h and is kept to 16 bytes, because a
 * 1 TiB host has 2^28 of them); everyone else uses the accessors.
 */
struct sim_page;

/*
 * Page flags, for sim_page_flags().
 */
#define SIM_PG_RESERVED (1u << 0) /* never handed out by the allocator */
#define SIM_PG_MOVABLE (1u << 1)  /* allocated movable: may be migrated */
#define SIM_PG_HEAD (1u << 2)	  /* head of a compound page */
#define SIM_PG_TAIL (1u << 3)	  /* tail of a compound page */
#define SIM_PG_BUDDY (1u << 4)	  /* free, heading a buddy block */
#define SIM_PG_ANON (1u << 5)	  /* anonymous memory of some mm */
#define SIM_PG_HUGETLB (1u << 6)  /* part of a hugetlb page */
#define SIM_PG_DIRTY (1u << 7)	  /* PG_dirty: newer than its swap copy */
#define SIM_PG_SWAPCACHE (1u << 8) /* in the swap cache: has a swap copy */
#define SIM_PG_REFERENCED (1u << 9) /* PG_referenced: sim_mark_page_accessed() */
#define SIM_PG_HWPOISON (1u << 10) /* memory failure (SIM_MADV_HWPOISON) */
/*
 * An anonymous page of a private mapping that sim_mm_fork() shared between
 * two mms, write-protected in both: the inverse of Linux's PageAnonExclusive
 * (a new anonymous page is exclusive without every allocation site setting
 * a flag).  A write fault copies it (COW) unless the faulting mapping holds
 * its only reference (do_wp_page()'s reuse), which clears the flag.
 */
#define SIM_PG_ANON_SHARED (1u << 11)
/* 0 for a NULL host or a page not of @host. */
unsigned int sim_page_flags(struct sim_host *host, struct sim_page *page);

/*
 * What a user of GUP tells the host about a page it holds a reference on
 * (set_page_dirty() and mark_page_accessed()): it wrote the page, or used
 * it, through a mapping the host's page tables do not see (a secondary MMU,
 * a DMA).  On a compound page they act on the whole page (the folio).
 *
 * Dirty is what reclaim goes by: an anonymous page is dirty if its host PTE
 * has D or the page has SIM_PG_DIRTY; only a clean page in the swap cache
 * (swapped in, and not written since) is reclaimed without being written
 * to swap, so a write the host was not told about is lost there.  The host
 * has no LRU lists: SIM_PG_REFERENCED is recorded, not used by reclaim
 * (which goes by young PTEs for mapped anonymous memory, as Linux does).
 */
void sim_set_page_dirty(struct sim_host *host, struct sim_page *page);
void sim_mark_page_accessed(struct sim_host *host, struct sim_page *page);

/*
 * FOLL_PIN on a small page adds SIM_GUP_PIN_COUNTING_BIAS to the refcount, as in
 * Linux; a compound page counts pins in its own pin count (and adds 1 to the
 * refcount).  sim_page_maybe_dma_pinned() is Linux's page_maybe_dma_pinned().
 */
#define SIM_GUP_PIN_COUNTING_BIAS 1024

/* (kvm_pfn_t)-1, which sim_pfn_valid() rejects, for a NULL host or a page not of @host. */
kvm_pfn_t sim_page_to_pfn(struct sim_host *host, const struct sim_page *page);
/* NULL for PFNs with no struct page (nopage region), invalid PFNs and a NULL host. */
struct sim_page *sim_pfn_to_page(struct sim_host *host, kvm_pfn_t pfn);
/* RAM or nopage memory; false for a NULL host. */
bool sim_pfn_valid(struct sim_host *host, kvm_pfn_t pfn);
/* The frame's contents, for RAM and nopage memory; NULL otherwise. */
void *sim_pfn_to_virt(struct sim_host *host, kvm_pfn_t pfn);
/* NULL for a NULL host or a page not of @host. */
struct sim_page *sim_compound_head(struct sim_host *host, struct sim_page *page);

/*
 * For a NULL host or a page not of @host: sim_page_count() is -EINVAL,
 * sim_get_page_unless_zero() and sim_page_maybe_dma_pinned() false, the
 * void calls do nothing.  sim_unpin_user_pages() skips a NULL array and
 * the bad entries of one.
 */
int sim_page_count(struct sim_host *host, struct sim_page *page);
void sim_get_page(struct sim_host *host, struct sim_page *page);
/* Returns false if the refcount was zero (the page is free or being freed). */
bool sim_get_page_unless_zero(struct sim_host *host, struct sim_page *page);
/* Frees the (compound) page when the last reference goes. */
void sim_put_page(struct sim_host *host, struct sim_page *page);
bool sim_page_maybe_dma_pinned(struct sim_host *host, struct sim_page *page);
void sim_unpin_user_page(struct sim_host *host, struct sim_page *page);
void sim_unpin_user_pages(struct sim_host *host, struct sim_page **pages, unsigned long n);

/*
 * Page allocator.  gfp takes the kernel's flags: __GFP_ZERO, __GFP_COMP
 * (compound), __GFP_DMA32 (below 4 GiB), __GFP_MOVABLE (migratable).  Orders
 * run from 0 to SIM_MAX_ORDER.  sim_alloc_pages_below() limits the block to
 * physical addresses below @limit (e.g. 2 GiB).  Both fail with NULL (no
 * memory, or allocation-failure injection through env_should_fail_alloc()),
 * and return NULL for a NULL host or an order above SIM_MAX_ORDER (without
 * Linux's WARN).
 */
#define SIM_MAX_ORDER 18 /* 1 GiB, so hugetlb-1G pages come from the same allocator */
struct sim_page *sim_alloc_pages(struct sim_host *host, unsigned int gfp, unsigned int order);
struct sim_page *sim_alloc_pages_below(struct sim_host *host, unsigned int gfp,
				       unsigned int order, u64 limit);
/* For non-compound higher-order allocations only (compound ones go through
 * sim_put_page).  Tail pages of a non-compound block are not refcounted, as
 * TTM's pool hands them out: their refcount is 0.  A NULL host, a page not
 * of @host or an order above SIM_MAX_ORDER: nothing. */
void sim_free_pages(struct sim_host *host, struct sim_page *page, unsigned int order);

struct sim_host_stats {
	u64 ram_pages;		/* allocator-managed frames */
	u64 free_pages;
	u64 nopage_pages;
	u64 alloc_calls, alloc_failures;
	u64 pinned_pages;	/* frames with FOLL_PIN pins */
	u64 migrations, migrate_busy; /* pages moved; refused because pinned */
	u64 thp_splits, thp_collapses;
	u64 swap_outs, swap_ins;	/* pages reclaimed to swap; swapped back in */
	u64 swap_writes;	/* swap_outs that wrote the page (dirty); the others
				 * dropped a clean swap-cache page, no write */
	/* Write (or unshare) faults that copied a page. */
	u64 cow_breaks;
	/* sim_mm_fork() calls that succeeded, and the pages they copied for the
	 * child at once (pinned pages; hugetlb pages of private mappings). */
	u64 forks, fork_copies;
	u64 notifier_invalidates; /* invalidate_range_start calls delivered */
	u64 notifier_young;	/* clear_young + test_young calls delivered */
	u64 notifier_change_pte;
	u64 pgtable_pages;	/* host page-table pages in use */
	u64 memremaps;		/* sim_memremap() calls that mapped a frame */
	u64 memremap_live;	/* of those, not yet unmapped */
	u64 hwpoisoned_pages;	/* SIM_MADV_HWPOISON folios (4K pages counted) */
};
/* 0, or -EINVAL for a NULL host or @stats. */
int sim_host_get_stats(struct sim_host *host, struct sim_host_stats *stats);

/*
 * The frame observer: what the host does to the data held in its frames,
 * told to one observer per host.  It is the hook of a memory controller
 * model (src/sev encrypts guest data with a key tweaked by the physical
 * address, so it must know when data changes frames), not a Linux API:
 * Linux's nearest are the mm tracepoints (mm_page_alloc, mm_page_free,
 * mm_migrate_pages).  The events:
 *
 *   ALLOC      [old_pfn, + nr) handed out by the allocator (zeroed first if
 *              @gfp asked); new_pfn is SIM_FRAME_NO_PFN
 *   FREE       [old_pfn, + nr) about to go back to the allocator
 *   MIGRATE    data copied from [old_pfn, + nr) to [new_pfn, + nr): move_pages()
 *   COMPACT    the same, by compaction (sim_compact_range())
 *   LONGTERM   the same, by a FOLL_LONGTERM GUP moving a page out of movable memory
 *   SWAP_OUT   data written from old_pfn to swap (new_pfn SIM_FRAME_NO_PFN)
 *   SWAP_IN    data read from swap into new_pfn; old_pfn is the frame it was
 *              written from
 *   COLLAPSE   a THP collapse copies old_pfn (or a swap slot written from it)
 *              into new_pfn, one call per 4K page
 *   COW        a COW break copies old_pfn into new_pfn: a write (or a
 *              read-only pin's unshare) to the zero page or to a page that
 *              sim_mm_fork() shared; the faulting mm maps new_pfn, the other
 *              mm keeps old_pfn
 *
 * A frame that moves is freed after its move event.  A THP split moves no
 * data (no event).  ->event runs on the thread doing the work, possibly
 * under the host's spinlocks: it must not sleep nor call the host, except
 * sim_pfn_to_virt().  ->release runs from sim_host_destroy(), first.
 * Setting: once per host (-EBUSY if an observer is set), -EINVAL for a NULL
 * host, @ops or ->event.  sim_host_frame_observer() returns the @priv
 * registered with @ops, NULL if another or none is.
 */
enum sim_frame_event {
	SIM_FRAME_ALLOC,
	SIM_FRAME_FREE,
	SIM_FRAME_MIGRATE,
	SIM_FRAME_COMPACT,
	SIM_FRAME_LONGTERM,
	SIM_FRAME_SWAP_OUT,
	SIM_FRAME_SWAP_IN,
	SIM_FRAME_COLLAPSE,
	SIM_FRAME_COW,
	SIM_FRAME_NR_EVENTS
};
#define SIM_FRAME_NO_PFN ((kvm_pfn_t)-1)

struct sim_frame_observer_ops {
	void (*event)(void *priv, enum sim_frame_event ev, kvm_pfn_t old_pfn, kvm_pfn_t new_pfn,
		      u64 nr, unsigned int gfp);
	void (*release)(void *priv);
};
int sim_host_set_frame_observer(struct sim_host *host, const struct sim_frame_observer_ops *ops,
				void *priv);
void *sim_host_frame_observer(struct sim_host *host, const struct sim_frame_observer_ops *ops);
/* "alloc", "migrate", ...; "?" for a value out of range. */
const char *sim_frame_event_name(int ev);

/* ======================== Address spaces ======================== */

#define SIM_PROT_NONE 0x0
#define SIM_PROT_READ 0x1
#define SIM_PROT_WRITE 0x2
#define SIM_PROT_EXEC 0x4

/* sim_mmap() flags */
#define SIM_MAP_SHARED 0x001
#define SIM_MAP_PRIVATE 0x002
#define SIM_MAP_FIXED 0x010	/* fail with -EEXIST rather than replace (MAP_FIXED_NOREPLACE) */
#define SIM_MAP_HUGETLB_2M 0x100
#define SIM_MAP_HUGETLB_1G 0x200
#define SIM_MAP_LOCKED 0x400	/* VM_LOCKED: counts against RLIMIT_MEMLOCK, never swapped */
#define SIM_MAP_POPULATE 0x800
#define SIM_MAP_THP 0x1000	/* THP-eligible (MADV_HUGEPAGE) */

/* VMA flags as Linux names them (subset). */
#define SIM_VM_READ 0x00000001
#define SIM_VM_WRITE 0x00000002
#define SIM_VM_EXEC 0x00000004
#define SIM_VM_SHARED 0x00000008
#define SIM_VM_IO 0x00004000
#define SIM_VM_PFNMAP 0x00000400
#define SIM_VM_LOCKED 0x00002000
/* MADV_DONTFORK: not in a fork's child; MADV_WIPEONFORK: empty there. */
#define SIM_VM_DONTCOPY 0x00020000
#define SIM_VM_WIPEONFORK 0x02000000
#define SIM_VM_HUGETLB 0x00400000
#define SIM_VM_HUGEPAGE 0x20000000
#define SIM_VM_NOHUGEPAGE 0x40000000

int sim_mm_create(struct sim_host *host, struct sim_mm **mmp);
/* Unmaps everything (notifier events delivered), calls ->release, frees.  NULL: nothing. */
void sim_mm_destroy(struct sim_mm *mm);
/* NULL for a NULL mm. */
struct sim_host *sim_mm_host(struct sim_mm *mm);

/*
 * fork()'s copy of an address space (dup_mmap() and copy_page_range(),
 * Linux 6.12; src/host/fork.c says what is shared and what is copied).
 * *@childp receives a new mm on the same host with a copy of @parent's
 * VMAs (not the SIM_VM_DONTCOPY ones; SIM_VM_WIPEONFORK ones empty; none
 * VM_LOCKED), its RLIMIT_MEMLOCK and CAP_IPC_LOCK, and no notifiers.
 * Private anonymous pages and THPs become shared copy-on-write
 * (write-protected in both, after a PROTECTION_PAGE invalidation of
 * @parent's range), except pinned ones and hugetlb pages, which the child
 * gets a copy of at once; shared and VM_PFNMAP memory is shared.  The child is destroyed with
 * sim_mm_destroy().  -EINVAL for NULL arguments or a destroyed @parent;
 * -ENOMEM (nothing of the child left; @parent's memory intact, its pages
 * maybe write-protected); -EHWPOISON if a page to copy is poisoned.
 */
int sim_mm_fork(struct sim_mm *parent, struct sim_mm **childp);

/*
 * hint 0: the mm picks an address (top-down from 0x7f0000000000; a free hint
 * is honoured).  *addrp receives the start.  As Linux: a hugetlb length is
 * rounded up to the huge page size, a SIM_MAP_FIXED address must be aligned
 * to it (-EINVAL); SIM_MAP_LOCKED fails with -EAGAIN over RLIMIT_MEMLOCK
 * (-EPERM if the limit is 0) and populates; no room is -ENOMEM.
 */
int sim_mmap(struct sim_mm *mm, hva_t hint, u64 len, int prot, int flags, hva_t *addrp);
/* remap_pfn_range(): VM_IO | VM_PFNMAP mapping of [pfn, pfn + len/4K). */
int sim_mmap_pfn(struct sim_mm *mm, hva_t hint, u64 len, int prot, kvm_pfn_t pfn, hva_t *addrp);
/* Unmapped parts are fine (0); cutting a hugetlb VMA off its page size: -EINVAL. */
int sim_munmap(struct sim_mm *mm, hva_t addr, u64 len);
/* -ENOMEM if part of the range is unmapped (and nothing changes). */
int sim_mprotect(struct sim_mm *mm, hva_t addr, u64 len, int prot);
#define SIM_MADV_DONTNEED 4
#define SIM_MADV_DONTFORK 10
#define SIM_MADV_DOFORK 11
#define SIM_MADV_HUGEPAGE 14
#define SIM_MADV_NOHUGEPAGE 15
#define SIM_MADV_WIPEONFORK 18
#define SIM_MADV_KEEPONFORK 19
#define SIM_MADV_PAGEOUT 21
#define SIM_MADV_HWPOISON 100
/*
 * -ENOMEM if part of the range is unmapped (nothing done); DONTNEED on
 * VM_LOCKED/VM_PFNMAP, or off a hugetlb page boundary: -EINVAL.
 * PAGEOUT is the host's reclaim: every anonymous page of the range goes to
 * swap as sim_swap_out() sends it (THP mappings split first); pages that
 * cannot go (pinned or otherwise referenced, the zero page) stay, without
 * an error, as Linux's reclaim_pages() leaves them.  PAGEOUT on a
 * VM_LOCKED, VM_PFNMAP or hugetlb VMA: -EINVAL (can_madv_lru_vma()).
 * HWPOISON is madvise(MADV_HWPOISON): a memory failure on each mapped folio
 * of the range (the whole folio here; Linux splits a THP first).  Secondary
 * MMUs are told (a CLEAR invalidation of the folio's range), the folio gets
 * SIM_PG_HWPOISON, and from then on every access to it fails: GUP with
 * -EHWPOISON under FOLL_HWPOISON (-EFAULT without), GUP-fast stops, CPU
 * accesses (sim_mm_touch/read/write) -EHWPOISON, and migration, swap-out
 * and collapse refuse it, so the poison is never copied into a clean page.
 * The host page table still maps it (Linux installs a hwpoison swap entry
 * instead; the effect on every caller is the same).  Unmapped pages and VM_PFNMAP memory are
 * skipped.  A poisoned folio that is freed goes back to the allocator
 * clean (Linux keeps it out of service: a simplification).
 * DONTFORK/DOFORK set/clear SIM_VM_DONTCOPY (DOFORK on VM_IO: -EINVAL);
 * WIPEONFORK/KEEPONFORK set/clear SIM_VM_WIPEONFORK (WIPEONFORK on a
 * shared or VM_PFNMAP mapping: -EINVAL), splitting VMAs at the range's
 * ends, as madvise_vma_behavior() does (every VMA is checked before any
 * changes, where Linux stops at the first bad one).
 */
int sim_madvise(struct sim_mm *mm, hva_t addr, u64 len, int advice);

/* A CPU access by the owning process: demand-faults, breaks COW, swaps in. */
int sim_mm_touch(struct sim_mm *mm, hva_t addr, bool write);
/* Read/write bytes through the host mapping (faulting as needed).  @buf is
 * the caller's memory, not user memory: NULL with a length is -EINVAL. */
int sim_mm_write(struct sim_mm *mm, hva_t addr, const void *buf, u64 len);
int sim_mm_read(struct sim_mm *mm, hva_t addr, void *buf, u64 len);

/* Host events.  Each delivers MMU-notifier events to registered listeners. */
int sim_migrate_page(struct sim_mm *mm, hva_t addr);	/* -EBUSY if pinned */
int sim_migrate_range(struct sim_mm *mm, hva_t addr, u64 len, u64 *moved);
/*
 * Compaction (kcompactd, /proc/sys/vm/compact_memory) of the pages mapped
 * in [addr, addr + len): every movable page moves to a new frame as
 * sim_migrate_range() moves it; unmovable pages (where FOLL_LONGTERM pins
 * put theirs) are skipped, and so are pages that cannot move now (pinned,
 * referenced): compaction just leaves them.  Linux walks physical ranges
 * through the rmap; the host has none and goes through the mm.  0, or
 * -EFAULT (part of the range unmapped: nothing moved), -ENOMEM (stops);
 * *moved as sim_migrate_range().
 */
int sim_compact_range(struct sim_mm *mm, hva_t addr, u64 len, u64 *moved);
int sim_split_thp(struct sim_mm *mm, hva_t addr);
int sim_collapse_thp(struct sim_mm *mm, hva_t addr);	/* MADV_COLLAPSE */
/*
 * Reclaim of the 4K page at @addr to swap (shrink_folio_list() on one page):
 * a dirty page (host PTE D, or SIM_PG_DIRTY) is written to its swap slot; a
 * clean page in the swap cache is dropped without a write, its swap copy
 * being current.  A page that was never swapped out is dirty.  A swap-in
 * by a read fault keeps the swap copy (the page stays in the swap cache)
 * and maps the page writable but clean (exclusive anonymous memory, as
 * Linux's do_swap_page()); a write fault, or a write that must reuse a
 * read-only mapping, drops the copy.  -EBUSY if pinned, referenced beyond
 * its mapping, or locked; -ENOENT if no anonymous page is mapped there;
 * -EINVAL for hugetlb and VM_PFNMAP memory; -EFAULT without a VMA.
 */
int sim_swap_out(struct sim_mm *mm, hva_t addr);
/* Page aging (reclaim's scan): clears host and secondary-MMU accessed bits,
 * returns the number of young 4K pages in the range. */
long sim_mm_age_range(struct sim_mm *mm, hva_t addr, u64 len);
long sim_mm_test_young_range(struct sim_mm *mm, hva_t addr, u64 len);

/*
 * zap_vma_ptes() / unmap_mapping_range() of a driver: the PTEs of a VM_PFNMAP
 * range go (notifiers told, a CLEAR invalidation) while the VMA stays; the
 * next access faults the frames back in, as a driver's ->fault handler does
 * with vmf_insert_pfn() (the VMA remembers its PFNs).  -EINVAL unless the
 * whole range is one VM_PFNMAP VMA.
 */
int sim_zap_vma_ptes(struct sim_mm *mm, hva_t addr, u64 len);

/*
 * fixup_user_fault(): resolve a fault at @addr as the CPU would (demand
 * fault, COW, swap-in, a VM_PFNMAP refault), without taking a reference.
 * -EFAULT if the VMA forbids the access or there is none; then -EINTR
 * for a fatal signal (KVM's call is killable); the fault's errno
 * otherwise (-ENOMEM).
 */
int sim_fixup_user_fault(struct sim_mm *mm, hva_t addr, bool write);

/*
 * Signals of the process owning @mm, as GUP sees them (signal_pending(),
 * fatal_signal_pending() of current): a fatal one stops any GUP with
 * -EINTR; a non-fatal one stops a GUP that must wait for I/O (swap-in) if
 * it passed FOLL_INTERRUPTIBLE.  SIM_SIGNAL_NONE clears.  0, or -EINVAL for
 * a NULL mm or an unknown value.
 */
#define SIM_SIGNAL_NONE 0
#define SIM_SIGNAL_PENDING 1
#define SIM_SIGNAL_FATAL 2
int sim_mm_set_signal(struct sim_mm *mm, int signal);
/* signal_pending(): a signal of any kind is pending; false for a NULL mm. */
bool sim_mm_signal_pending(struct sim_mm *mm);
/* is_zero_pfn(): @pfn is @mm's shared zero page; false for a NULL mm. */
bool sim_page_is_zero(struct sim_mm *mm, kvm_pfn_t pfn);

/* Host mapping of one address, without faulting: 0 and the PFN, the level
 * (PG_LEVEL_4K/2M/1G) and writability, or -EFAULT if not mapped. */
struct sim_host_pte_info {
	kvm_pfn_t pfn;
	int level;
	bool writable;
	bool young;
	bool dirty;
	bool special; /* VM_PFNMAP/VM_IO mapping: no struct page semantics */
};
int sim_mm_lookup(struct sim_mm *mm, hva_t addr, struct sim_host_pte_info *info);
/* VMA flags (SIM_VM_*) at @addr, or -EFAULT if there is no VMA. */
int sim_mm_vma_flags(struct sim_mm *mm, hva_t addr, unsigned long *vm_flags);

/* ======================== GUP ======================== */

/* GUP flags (Linux's FOLL_*, renamed to stay clear of <linux/mm.h>). */
#define SIM_FOLL_WRITE 0x01
#define SIM_FOLL_GET 0x04
#define SIM_FOLL_NOWAIT 0x20	/* do not wait for I/O (swap-in): -EAGAIN */
#define SIM_FOLL_PIN 0x40000
#define SIM_FOLL_LONGTERM 0x100	/* migrate out of movable memory first; unmovable while pinned */
#define SIM_FOLL_HWPOISON 0x100000
#define SIM_FOLL_INTERRUPTIBLE 0x200000 /* a pending signal stops a wait for I/O: -EINTR */

/*
 * Returns the number of pages taken (refcount or pin) from @addr on, or a
 * negative errno if none: -EFAULT (no VMA, PROT_NONE, VM_IO/VM_PFNMAP),
 * -EFAULT for FOLL_WRITE on a read-only mapping, -ENOMEM, -EINVAL (bad flags,
 * e.g. FOLL_LONGTERM without FOLL_PIN semantics where Linux forbids it).
 * FOLL_NOWAIT and a page that needs I/O (swapped out): the walk stops there
 * and the count so far is returned, 0 if it was the first page, exactly as
 * Linux's __get_user_pages() turns the fault's -EBUSY into 0 (KVM then
 * reports KVM_PFN_ERR_NEEDS_IO).  -EINTR for a pending signal (see
 * sim_mm_set_signal()); -EHWPOISON for a poisoned page with FOLL_HWPOISON.
 * get_* take FOLL_GET (implied), pin_* FOLL_PIN (implied); the other one is
 * -EINVAL.  Every entry point takes mmap_lock itself (Linux's _unlocked
 * variants): do not call them with it held, nor from a notifier callback.
 */
long sim_get_user_pages(struct sim_mm *mm, hva_t addr, unsigned long nr, unsigned int gup_flags,
			struct sim_page **pages);
long sim_get_user_pages_fast(struct sim_mm *mm, hva_t addr, unsigned long nr,
			     unsigned int gup_flags, struct sim_page **pages);
long sim_pin_user_pages(struct sim_mm *mm, hva_t addr, unsigned long nr, unsigned int gup_flags,
			struct sim_page **pages);
long sim_pin_user_pages_fast(struct sim_mm *mm, hva_t addr, unsigned long nr,
			     unsigned int gup_flags, struct sim_page **pages);
/* get_user_page_fast_only(): lockless only, never faults; 0..nr pages. */
long sim_get_user_pages_fast_only(struct sim_mm *mm, hva_t addr, unsigned long nr,
				  unsigned int gup_flags, struct sim_page **pages);
/*
 * pin_user_pages_fast_only() (Linux 5.x; SEV demand pinning pins under
 * mmu_lock with it): the same, taking FOLL_PIN pins; never sleeps.
 */
long sim_pin_user_pages_fast_only(struct sim_mm *mm, hva_t addr, unsigned long nr,
				  unsigned int gup_flags, struct sim_page **pages);
/*
 * follow_pte() for VM_IO/VM_PFNMAP mappings, never faulting: the PFN mapped
 * at @addr and whether the PTE is writable (@writable may be NULL).  -EFAULT
 * if no PTE is there (zapped: sim_fixup_user_fault() brings it back) or
 * @write and the PTE is read-only; -EINVAL for a mapping that is not
 * VM_IO/VM_PFNMAP.
 */
int sim_follow_pfn(struct sim_mm *mm, hva_t addr, bool write, kvm_pfn_t *pfn, bool *writable);

/*
 * memremap(MEMREMAP_WB) of one frame, for memory with no struct page (the
 * slow path of kernel mappings): a mapping record is allocated and
 * registered with the host, and *@virtp receives the frame's contents.
 * sim_memunmap() takes the address back.  -EINVAL for a NULL host or @virtp
 * or a PFN that is neither RAM nor nopage memory, -ENOMEM.  Unmapping an
 * address that is not mapped WARNs (a double memunmap), NULL does nothing.
 */
int sim_memremap(struct sim_host *host, kvm_pfn_t pfn, void **virtp);
void sim_memunmap(struct sim_host *host, void *virt);

/* RLIMIT_MEMLOCK accounting (account_locked_vm): -ENOMEM over the limit. */
int sim_account_locked_vm(struct sim_mm *mm, unsigned long npages, bool inc);
/* mm->locked_vm, in pages (SIM_MAP_LOCKED VMAs plus sim_account_locked_vm()); 0 for NULL. */
u64 sim_mm_locked_vm(struct sim_mm *mm);
/* setrlimit(RLIMIT_MEMLOCK): 0, or -EINVAL for a NULL mm. */
int sim_mm_set_memlock_limit(struct sim_mm *mm, u64 bytes);
/* rlimit(RLIMIT_MEMLOCK) in bytes; 0 for a NULL mm. */
u64 sim_mm_memlock_limit(struct sim_mm *mm);
/*
 * capable(CAP_IPC_LOCK) for the process owning @mm (off by default): with
 * it, RLIMIT_MEMLOCK does not apply (SIM_MAP_LOCKED, sim_account_locked_vm()
 * and KVM's SEV pinning), as in Linux.  0, or -EINVAL for a NULL mm;
 * sim_mm_capable_ipc_lock() is false for a NULL mm.
 */
int sim_mm_set_cap_ipc_lock(struct sim_mm *mm, bool cap);
bool sim_mm_capable_ipc_lock(struct sim_mm *mm);

/* ======================== MMU notifiers ======================== */

enum sim_mmu_notifier_event {
	SIM_MMU_NOTIFY_UNMAP,		/* munmap, MADV_DONTNEED, mm teardown */
	SIM_MMU_NOTIFY_CLEAR,		/* swap-out, THP split/collapse, COW break */
	SIM_MMU_NOTIFY_PROTECTION_VMA,	/* mprotect */
	SIM_MMU_NOTIFY_MIGRATE,		/* migration / compaction */
	/* fork write-protects private pages (copy_page_range()) */
	SIM_MMU_NOTIFY_PROTECTION_PAGE,
};

struct sim_mmu_notifier_range {
	struct sim_mm *mm;
	hva_t start, end; /* [start, end) */
	enum sim_mmu_notifier_event event;
};

struct sim_mmu_notifier;

struct sim_mmu_notifier_ops {
	/* Called with no host lock that the fault path takes; may sleep. */
	int (*invalidate_range_start)(struct sim_mmu_notifier *sub,
				      const struct sim_mmu_notifier_range *range);
	void (*invalidate_range_end)(struct sim_mmu_notifier *sub,
				     const struct sim_mmu_notifier_range *range);
	/* Return nonzero if any page in [start, end) was young. */
	int (*clear_young)(struct sim_mmu_notifier *sub, struct sim_mm *mm, hva_t start, hva_t end);
	int (*test_young)(struct sim_mmu_notifier *sub, struct sim_mm *mm, hva_t start, hva_t end);
	/* Inside an invalidate_range_start/end pair: @addr now maps @pfn. */
	void (*change_pte)(struct sim_mmu_notifier *sub, struct sim_mm *mm, hva_t addr,
			   kvm_pfn_t pfn, bool writable);
	/* The mm is going away: drop every mapping. */
	void (*release)(struct sim_mmu_notifier *sub, struct sim_mm *mm);
};

struct sim_mmu_notifier {
	const struct sim_mmu_notifier_ops *ops;
	struct sim_mm *mm;
	void *list_node[2]; /* host-private */
};

/*
 * Register takes mmap_lock for write and a reference on the mm (mmgrab), so
 * unregister may come after sim_mm_destroy().  Unregister calls ->release
 * itself if the mm still lives (as Linux does), then waits for running
 * callbacks (synchronize_srcu) before returning.  Register: -EINVAL for a
 * NULL @sub, @mm or @sub->ops, or a destroyed mm; -EBUSY if @sub is
 * registered already (@sub->mm set: start from a zeroed struct).
 * Unregister of NULL or of a notifier not registered: nothing.
 */
int sim_mmu_notifier_register(struct sim_mmu_notifier *sub, struct sim_mm *mm);
void sim_mmu_notifier_unregister(struct sim_mmu_notifier *sub);

/*
 * The mm's own invalidation sequence (mmu_interval_notifier style), which the
 * host tests and any secondary MMU may use: read_begin() returns a sequence
 * number, waiting while an invalidation is in progress; read_retry() is true
 * if an invalidation started since.  KVM keeps its own counters in its
 * notifier handlers, as in Linux.  A NULL mm: read_begin() 0, read_retry()
 * false (no invalidation to wait for), in_progress() -EINVAL.
 */
unsigned long sim_mm_invalidate_read_begin(struct sim_mm *mm);
bool sim_mm_invalidate_read_retry(struct sim_mm *mm, unsigned long seq);
int sim_mm_invalidate_in_progress(struct sim_mm *mm);

#ifdef __cplusplus
}
#endif

#endif /* _MMUSIM_HOST_H */
